//! The reasons a check gives for its outcome: codes, never values.
//!
//! Each reason is a variant with a pinned wire name: what the audit log's `check_completed`
//! events, the API's check records and the stored applications carry. The names are part of
//! the log's format (the auditor's replay and every log written before reads them), so a
//! variant's name never changes; the test at the bottom pins each one. The risk engine scores a
//! reason by its variant, so a typo cannot turn into a finding.
//!
//! Three reasons carry a name from a jurisdiction's policy: a required field that is missing
//! (`national_id_missing`), an ID number that does not follow its scheme
//! (`national_id_check_digit_invalid`), and a check the policy reserves for a provider that is
//! not configured (`cn_mobile_verification_no_provider`).

use std::fmt;
use std::str::FromStr;

/// What is wrong with an ID number, by its scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IdNumberProblem {
    /// Wrong length or characters.
    Format,
    /// The check digit does not match.
    CheckDigit,
    /// The number embeds a birth date other than the submitted one.
    BirthDate,
    /// A number the scheme never issues.
    NeverIssued,
}

impl IdNumberProblem {
    /// Every problem.
    pub const ALL: [Self; 4] = [
        Self::Format,
        Self::CheckDigit,
        Self::BirthDate,
        Self::NeverIssued,
    ];

    /// The reason code's suffix.
    pub fn code(self) -> &'static str {
        match self {
            Self::Format => "format_invalid",
            Self::CheckDigit => "check_digit_invalid",
            Self::BirthDate => "birth_date_mismatch",
            Self::NeverIssued => "never_issued",
        }
    }
}

/// Declares [`Reason`] with its fixed variants and their wire names, and the table both ways.
macro_rules! reasons {
    ($( $(#[$doc:meta])* $variant:ident = $wire:literal, )*) => {
        /// A reason a check gives for its outcome.
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum Reason {
            $( $(#[$doc])* $variant, )*
            /// A field the jurisdiction requires is missing (`<field>_missing`, the field's
            /// name in snake case).
            Missing(String),
            /// An ID number does not follow its scheme (`<field>_<problem>`).
            IdNumber(String, IdNumberProblem),
            /// A check the jurisdiction reserves for an external provider, with none configured
            /// (`<check>_no_provider`).
            NoProvider(String),
        }

        impl Reason {
            /// The fixed reasons with their wire names.
            const FIXED: &'static [(Reason, &'static str)] = &[$( (Reason::$variant, $wire), )*];

            /// The wire name of a fixed reason.
            fn fixed_name(&self) -> Option<&'static str> {
                match self {
                    $( Reason::$variant => Some($wire), )*
                    _ => None,
                }
            }
        }
    };
}

reasons! {
    // ---- shared ----
    /// No provider runs this check.
    NoProviderConfigured = "no_provider_configured",
    /// The birth date lies in the future (identity data, or as the document gives it).
    BirthDateInFuture = "birth_date_in_future",

    // ---- identity ----
    /// Every field the policy requires is present and plausible.
    IdentityDataComplete = "identity_data_complete",
    /// Every ID number follows its scheme.
    IdNumbersValid = "id_numbers_valid",
    /// The birth date is more than 130 years ago.
    BirthDateImplausible = "birth_date_implausible",
    /// Younger than the jurisdiction's minimum age.
    UnderMinimumAge = "under_minimum_age",

    // ---- document ----
    /// No MRZ was submitted.
    NoMrz = "no_mrz",
    /// The document type contradicts the MRZ's document code.
    DocumentTypeMismatch = "document_type_mismatch",
    /// The jurisdiction does not accept this type of document.
    DocumentTypeNotAccepted = "document_type_not_accepted",
    /// The MRZ does not parse.
    MrzMalformed = "mrz_malformed",
    /// The document number's check digit is wrong.
    MrzCheckDigitDocumentNumber = "mrz_check_digit_document_number",
    /// The birth date's check digit is wrong.
    MrzCheckDigitBirthDate = "mrz_check_digit_birth_date",
    /// The expiry date's check digit is wrong.
    MrzCheckDigitExpiryDate = "mrz_check_digit_expiry_date",
    /// The optional data's check digit is wrong.
    MrzCheckDigitOptionalData = "mrz_check_digit_optional_data",
    /// The composite check digit is wrong.
    MrzCheckDigitComposite = "mrz_check_digit_composite",
    /// The document has expired.
    DocumentExpired = "document_expired",
    /// The MRZ's birth date is not the submitted one.
    BirthDateMismatch = "birth_date_mismatch",
    /// The MRZ leaves the birth date (or part of it) unknown.
    BirthDateUnknownInMrz = "birth_date_unknown_in_mrz",
    /// The names agree only in part.
    NamePartialMatch = "name_partial_match",
    /// The names do not agree.
    NameMismatch = "name_mismatch",
    /// The submitted document number is not the MRZ's.
    DocumentNumberMismatch = "document_number_mismatch",
    /// The MRZ's nationality is not the submitted one.
    NationalityMismatch = "nationality_mismatch",
    /// The submitted nationality has no ICAO code here.
    NationalityNotMapped = "nationality_not_mapped",
    /// An ICAO 9303 TD1 MRZ (identity card).
    MrzTd1 = "mrz_td1",
    /// An ICAO 9303 TD2 MRZ.
    MrzTd2 = "mrz_td2",
    /// An ICAO 9303 TD3 MRZ (passport).
    MrzTd3 = "mrz_td3",
    /// A machine-readable visa, format A.
    MrzMrvA = "mrz_mrv_a",
    /// A machine-readable visa, format B.
    MrzMrvB = "mrz_mrv_b",
    /// Another MRZ format.
    MrzOther = "mrz_other",
    /// Every check digit is valid.
    MrzCheckDigitsValid = "mrz_check_digits_valid",
    /// The document is in date.
    DocumentInDate = "document_in_date",
    /// The MRZ agrees with the submitted identity.
    MrzMatchesIdentity = "mrz_matches_identity",

    // ---- screening ----
    /// No screening list is configured.
    NoListsConfigured = "no_lists_configured",
    /// The name has nothing to screen.
    NameNotScreenable = "name_not_screenable",
    /// No list entry matches.
    ScreeningClear = "screening_clear",
    /// Every entry that matched was cleared by a reviewer for this subject.
    ScreeningHitCleared = "screening_hit_cleared",
    /// A sanctions entry matches by a strong name and the exact birth date.
    SanctionsMatchConfirmed = "sanctions_match_confirmed",
    /// A sanctions entry may match.
    SanctionsMatch = "sanctions_match",
    /// A politically exposed person's entry matches.
    PepMatch = "pep_match",

    // ---- biometric ----
    /// A vendor answers later, on its webhook.
    BiometricPending = "biometric_pending",
    /// The vendor failed.
    BiometricProviderFailed = "biometric_provider_failed",
    /// No selfie was submitted.
    NoSelfie = "no_selfie",
    /// No document image was submitted.
    NoDocumentImage = "no_document_image",
    /// No liveness frames were submitted.
    NoLivenessFrames = "no_liveness_frames",
    /// More liveness frames than allowed.
    TooManyLivenessFrames = "too_many_liveness_frames",
    /// The document image does not decode.
    DocumentImageUnreadable = "document_image_unreadable",
    /// The selfie does not decode.
    SelfieUnreadable = "selfie_unreadable",
    /// A liveness frame does not decode.
    LivenessFrameUnreadable = "liveness_frame_unreadable",
    /// The faces match.
    FaceMatch = "face_match",
    /// The faces match, with doubt.
    FaceMatchUncertain = "face_match_uncertain",
    /// The faces are different people.
    FaceNoMatch = "face_no_match",
    /// No face on the document image.
    NoFaceOnDocument = "no_face_on_document",
    /// No face on the selfie.
    NoFaceOnSelfie = "no_face_on_selfie",
    /// More than one face on the document image.
    SeveralFacesOnDocument = "several_faces_on_document",
    /// More than one face on the selfie.
    SeveralFacesOnSelfie = "several_faces_on_selfie",
    /// A presentation attack was detected.
    SpoofDetected = "spoof_detected",
    /// The frames show the challenge's poses in order.
    LivenessPassed = "liveness_passed",
    /// The poses are not the challenge's, or not in order.
    LivenessWrongOrder = "liveness_wrong_order",
    /// A frame's face is not the selfie's.
    LivenessFaceMismatch = "liveness_face_mismatch",
    /// A frame shows no face.
    LivenessNoFaceInFrame = "liveness_no_face_in_frame",
    /// A frame shows more than one face.
    LivenessSeveralFacesInFrame = "liveness_several_faces_in_frame",
    /// The liveness could not be judged.
    LivenessUnknown = "liveness_unknown",
    /// The challenge is unknown here.
    LivenessChallengeUnknown = "liveness_challenge_unknown",
    /// The challenge expired.
    LivenessChallengeExpired = "liveness_challenge_expired",
    /// The challenge or the frame set was already used.
    LivenessChallengeReplayed = "liveness_challenge_replayed",

    // ---- risk ----
    /// The nationality is on the FATF call-for-action list.
    FatfCallForActionNationality = "fatf_call_for_action_nationality",
    /// The residence is on the FATF call-for-action list.
    FatfCallForActionResidence = "fatf_call_for_action_residence",
    /// The nationality is under FATF increased monitoring.
    FatfIncreasedMonitoringNationality = "fatf_increased_monitoring_nationality",
    /// The residence is under FATF increased monitoring.
    FatfIncreasedMonitoringResidence = "fatf_increased_monitoring_residence",
    /// Another holder used the same document number.
    AssociationSharedDocumentNumber = "association_shared_document_number",
    /// Another holder used the same phone number.
    AssociationSharedPhone = "association_shared_phone",
    /// Another holder used the same address.
    AssociationSharedAddress = "association_shared_address",
    /// No country of the customer is on a FATF list.
    CountryRiskLow = "country_risk_low",
    /// No identity value is shared with another holder.
    NoAssociationSignal = "no_association_signal",
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(name) = self.fixed_name() {
            return f.write_str(name);
        }
        match self {
            Self::Missing(field) => write!(f, "{field}_missing"),
            Self::IdNumber(field, problem) => write!(f, "{field}_{}", problem.code()),
            Self::NoProvider(check) => write!(f, "{check}_no_provider"),
            _ => Ok(()),
        }
    }
}

/// A reason code that names no reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown reason code")]
pub struct UnknownReason;

/// Whether `name` may be a policy's field or check name inside a reason (`national_id`).
fn is_code(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

impl FromStr for Reason {
    type Err = UnknownReason;

    fn from_str(text: &str) -> Result<Self, UnknownReason> {
        if let Some((reason, _)) = Self::FIXED.iter().find(|(_, wire)| *wire == text) {
            return Ok(reason.clone());
        }
        let named = |suffix: &str| {
            text.strip_suffix(suffix)
                .and_then(|s| s.strip_suffix('_'))
                .filter(|s| is_code(s))
                .map(str::to_owned)
        };
        if let Some(check) = named("no_provider") {
            return Ok(Self::NoProvider(check));
        }
        if let Some(field) = named("missing") {
            return Ok(Self::Missing(field));
        }
        IdNumberProblem::ALL
            .iter()
            .find_map(|p| named(p.code()).map(|field| Self::IdNumber(field, *p)))
            .ok_or(UnknownReason)
    }
}

impl serde::Serialize for Reason {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Reason {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = std::borrow::Cow::<str>::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// A reason equals the wire name it has (for comparing with codes as the API shows them).
impl PartialEq<&str> for Reason {
    fn eq(&self, other: &&str) -> bool {
        match self.fixed_name() {
            Some(name) => name == *other,
            None => other.parse::<Reason>().is_ok_and(|r| r == *self),
        }
    }
}

impl PartialEq<String> for Reason {
    fn eq(&self, other: &String) -> bool {
        *self == other.as_str()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every wire name as the log and the API have carried it since the first wave: the audit
    /// log's `check_completed` reasons and the auditor's replay depend on these exact strings.
    const PINNED: &[&str] = &[
        "no_provider_configured",
        "birth_date_in_future",
        "identity_data_complete",
        "id_numbers_valid",
        "birth_date_implausible",
        "under_minimum_age",
        "no_mrz",
        "document_type_mismatch",
        "document_type_not_accepted",
        "mrz_malformed",
        "mrz_check_digit_document_number",
        "mrz_check_digit_birth_date",
        "mrz_check_digit_expiry_date",
        "mrz_check_digit_optional_data",
        "mrz_check_digit_composite",
        "document_expired",
        "birth_date_mismatch",
        "birth_date_unknown_in_mrz",
        "name_partial_match",
        "name_mismatch",
        "document_number_mismatch",
        "nationality_mismatch",
        "nationality_not_mapped",
        "mrz_td1",
        "mrz_td2",
        "mrz_td3",
        "mrz_mrv_a",
        "mrz_mrv_b",
        "mrz_other",
        "mrz_check_digits_valid",
        "document_in_date",
        "mrz_matches_identity",
        "no_lists_configured",
        "name_not_screenable",
        "screening_clear",
        "screening_hit_cleared",
        "sanctions_match_confirmed",
        "sanctions_match",
        "pep_match",
        "biometric_pending",
        "biometric_provider_failed",
        "no_selfie",
        "no_document_image",
        "no_liveness_frames",
        "too_many_liveness_frames",
        "document_image_unreadable",
        "selfie_unreadable",
        "liveness_frame_unreadable",
        "face_match",
        "face_match_uncertain",
        "face_no_match",
        "no_face_on_document",
        "no_face_on_selfie",
        "several_faces_on_document",
        "several_faces_on_selfie",
        "spoof_detected",
        "liveness_passed",
        "liveness_wrong_order",
        "liveness_face_mismatch",
        "liveness_no_face_in_frame",
        "liveness_several_faces_in_frame",
        "liveness_unknown",
        "liveness_challenge_unknown",
        "liveness_challenge_expired",
        "liveness_challenge_replayed",
        "fatf_call_for_action_nationality",
        "fatf_call_for_action_residence",
        "fatf_increased_monitoring_nationality",
        "fatf_increased_monitoring_residence",
        "association_shared_document_number",
        "association_shared_phone",
        "association_shared_address",
        "country_risk_low",
        "no_association_signal",
    ];

    #[test]
    fn wire_names_are_pinned() {
        let fixed: Vec<&str> = Reason::FIXED.iter().map(|(_, w)| *w).collect();
        assert_eq!(fixed, PINNED);
        for name in PINNED {
            let reason: Reason = name.parse().unwrap();
            assert_eq!(reason.to_string(), *name);
            assert_eq!(serde_json::to_value(&reason).unwrap(), *name);
        }
    }

    #[test]
    fn named_reasons_round_trip() {
        for (name, reason) in [
            ("national_id_missing", Reason::Missing("national_id".into())),
            ("phone_missing", Reason::Missing("phone".into())),
            (
                "national_id_check_digit_invalid",
                Reason::IdNumber("national_id".into(), IdNumberProblem::CheckDigit),
            ),
            (
                "national_id_birth_date_mismatch",
                Reason::IdNumber("national_id".into(), IdNumberProblem::BirthDate),
            ),
            (
                "tax_id_never_issued",
                Reason::IdNumber("tax_id".into(), IdNumberProblem::NeverIssued),
            ),
            (
                "tax_id_format_invalid",
                Reason::IdNumber("tax_id".into(), IdNumberProblem::Format),
            ),
            (
                "cn_mobile_verification_no_provider",
                Reason::NoProvider("cn_mobile_verification".into()),
            ),
        ] {
            assert_eq!(name.parse::<Reason>(), Ok(reason.clone()), "{name}");
            assert_eq!(reason.to_string(), name);
        }
        // The fixed name wins over a pattern it also fits.
        assert_eq!("birth_date_mismatch".parse(), Ok(Reason::BirthDateMismatch));
    }

    #[test]
    fn unknown_codes_are_refused() {
        for bad in [
            "",
            "face_matched",
            "_missing",
            "Phone_missing",
            "x y_missing",
            "match:a/b",
        ] {
            assert_eq!(bad.parse::<Reason>(), Err(UnknownReason), "{bad}");
        }
        assert!(serde_json::from_str::<Reason>("\"typo_reason\"").is_err());
    }
}
