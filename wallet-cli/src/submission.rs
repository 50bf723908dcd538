//! An application as sent to `POST /v1/applications`, built from the customer's files
//! (shape: schemas/application-v1.schema.json).
//!
//! The wallet checks what it can say clearly before anything leaves the machine: the identity
//! file is a JSON object with the four required fields, the MRZ uses the MRZ alphabet, images
//! are JPEG or PNG within the schema's size, the liveness captures hold one image per pose. The
//! issuer validates the rest against the schema and its jurisdiction policy. Messages name files
//! and fields, never their contents.
//!
//! [`build`] and [`uploads`] give a [`Draft`]: everything read and checked. With liveness
//! captures, the draft is finished with the issuer's challenge ([`crate::liveness`]), which
//! fixes the order of the frames.

use std::path::{Path, PathBuf};

use kyc_core::DidKey;
use serde_json::{Map, Value};

use crate::image::{read_image, read_limited, ImageError};
use crate::liveness::{Captures, Challenge};

/// The schema's longest MRZ.
pub const MAX_MRZ_LEN: usize = 300;
/// An identity file is a few hundred bytes.
const MAX_IDENTITY_BYTES: u64 = 64 * 1024;
/// Fields the schema requires in `identity`.
const REQUIRED_IDENTITY: [&str; 4] = ["givenName", "familyName", "birthDate", "nationality"];

/// The identity document's type (the schema's `document.type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
#[value(rename_all = "snake_case")]
pub enum DocumentType {
    /// A passport.
    Passport,
    /// A national identity card.
    IdCard,
    /// A residence permit.
    ResidencePermit,
    /// A visa.
    Visa,
    /// A driving licence.
    DrivingLicence,
}

impl DocumentType {
    /// The name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Passport => "passport",
            Self::IdCard => "id_card",
            Self::ResidencePermit => "residence_permit",
            Self::Visa => "visa",
            Self::DrivingLicence => "driving_licence",
        }
    }
}

/// The document and biometric files of an application, or of an upload the reviewer asked for.
#[derive(Debug, Clone, Default)]
pub struct DocumentFiles {
    /// The document's type; needed with `mrz` or `document_image`.
    pub document_type: Option<DocumentType>,
    /// The document's machine-readable zone, as text.
    pub mrz: Option<PathBuf>,
    /// A photo or scan of the document.
    pub document_image: Option<PathBuf>,
    /// A selfie.
    pub selfie: Option<PathBuf>,
    /// A directory of liveness captures, one per pose (`left.*`, `centre.*`, `right.*`;
    /// [`crate::liveness`]), sent in the order the issuer's challenge asks for.
    pub frames: Option<PathBuf>,
    /// A proof of address (tier 3).
    pub proof_of_address: Option<PathBuf>,
}

/// Why the files do not make an application.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SubmissionError {
    /// The identity or MRZ file cannot be read.
    #[error("{path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The identity file is not a usable identity object.
    #[error("identity file {path}: {reason}")]
    Identity {
        /// The file.
        path: PathBuf,
        /// What is wrong (field names only).
        reason: String,
    },
    /// The MRZ file breaks the MRZ alphabet or length.
    #[error("MRZ file {path}: {reason}")]
    Mrz {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: &'static str,
    },
    /// An application without its document: the type and an MRZ or an image are needed.
    #[error("give the document's type (--document-type) and its MRZ (--mrz) or an image of it (--document-image), or both")]
    NoDocument,
    /// An MRZ or document image without the document's type.
    #[error("--document-type is needed with --mrz or --document-image")]
    NoDocumentType,
    /// An upload with nothing in it.
    #[error("nothing to upload: give a document, --selfie, --frames or --proof-of-address")]
    NothingToUpload,
    /// An upload of liveness captures only, to an issuer without a liveness step.
    #[error("the issuer has no liveness step, and the frames were all there was to upload")]
    OnlyLiveness,
    /// An image cannot be read or used, or the liveness captures are incomplete.
    #[error(transparent)]
    Image(#[from] ImageError),
    /// The jurisdiction code is not 2 to 16 letters.
    #[error("the jurisdiction must be 2 to 16 letters (e.g. EU, US, JP, default)")]
    Jurisdiction,
}

/// The submission JSON for `holder`: `identity` is the identity JSON file (the schema's
/// `identity` object), `jurisdiction` the policy to apply under (`EU`, `US`, `CN`, `JP`,
/// `default`).
pub fn build(
    jurisdiction: &str,
    identity: &Path,
    files: &DocumentFiles,
    holder: &DidKey,
) -> Result<Draft, SubmissionError> {
    let j = jurisdiction;
    if !(2..=16).contains(&j.len()) || !j.bytes().all(|b| b.is_ascii_alphabetic()) {
        return Err(SubmissionError::Jurisdiction);
    }
    let documents = read_documents(files)?;
    if !documents.contains_key("document") {
        return Err(SubmissionError::NoDocument);
    }
    let mut body = Map::new();
    body.insert("jurisdiction".into(), j.into());
    body.insert("holder".into(), holder.as_str().into());
    body.insert("identity".into(), read_identity(identity)?);
    body.extend(documents);
    Ok(Draft {
        body,
        captures: read_captures(files)?,
    })
}

/// The body of `POST /v1/applications/{id}/documents`: what a reviewer asked for. The issuer
/// replaces the submitted items with these; identity data cannot be changed this way.
pub fn uploads(files: &DocumentFiles) -> Result<Draft, SubmissionError> {
    let body = read_documents(files)?;
    let captures = read_captures(files)?;
    if body.is_empty() && captures.is_none() {
        return Err(SubmissionError::NothingToUpload);
    }
    Ok(Draft { body, captures })
}

/// An application or an upload, read and checked, waiting only for the liveness challenge its
/// captures answer, if it has any.
#[derive(Debug, Clone)]
pub struct Draft {
    body: Map<String, Value>,
    captures: Option<Captures>,
}

impl Draft {
    /// The liveness captures (`--frames`): when there are some, ask the issuer for a challenge
    /// and [`finish`](Self::finish) with it.
    pub fn captures(&self) -> Option<&Captures> {
        self.captures.as_ref()
    }

    /// The JSON to send. With a `challenge`, the captures become `livenessFrames`, one per turn
    /// in the challenge's order, and `livenessChallenge` names it. Without one (the issuer has
    /// no liveness step), nothing of the liveness step is sent. An upload whose only content
    /// was the captures is then [`SubmissionError::OnlyLiveness`].
    pub fn finish(self, challenge: Option<&Challenge>) -> Result<Value, SubmissionError> {
        let mut body = self.body;
        if let (Some(captures), Some(challenge)) = (&self.captures, challenge) {
            body.insert(
                "livenessFrames".into(),
                captures.frames_for(&challenge.turns)?.into(),
            );
            body.insert("livenessChallenge".into(), challenge.id.clone().into());
        }
        if body.is_empty() {
            return Err(SubmissionError::OnlyLiveness);
        }
        Ok(Value::Object(body))
    }
}

fn read_captures(files: &DocumentFiles) -> Result<Option<Captures>, SubmissionError> {
    Ok(files.frames.as_deref().map(Captures::read).transpose()?)
}

/// `document`, `selfie`, `proofOfAddress`, for those given (the liveness frames wait for the
/// challenge: [`Draft`]).
fn read_documents(files: &DocumentFiles) -> Result<Map<String, Value>, SubmissionError> {
    let mut out = Map::new();
    match (files.document_type, &files.mrz, &files.document_image) {
        (None, None, None) => {}
        (None, _, _) => return Err(SubmissionError::NoDocumentType),
        (Some(_), None, None) => return Err(SubmissionError::NoDocument),
        (Some(kind), mrz, image) => {
            let mut document = Map::new();
            document.insert("type".into(), kind.as_str().into());
            if let Some(path) = mrz {
                document.insert("mrz".into(), read_mrz(path)?.into());
            }
            if let Some(path) = image {
                document.insert("image".into(), read_image(path)?.into());
            }
            out.insert("document".into(), Value::Object(document));
        }
    }
    if let Some(path) = &files.selfie {
        out.insert("selfie".into(), read_image(path)?.into());
    }
    if let Some(path) = &files.proof_of_address {
        out.insert("proofOfAddress".into(), read_image(path)?.into());
    }
    Ok(out)
}

/// `path`, up to `limit` bytes, for a file that is not an image: a read failure is
/// [`SubmissionError::Read`], a file too large is what `too_large` makes of the reason.
fn read_small(
    path: &Path,
    limit: u64,
    too_large: impl FnOnce(String) -> SubmissionError,
) -> Result<Vec<u8>, SubmissionError> {
    read_limited(path, limit).map_err(|e| match e {
        ImageError::Read { path, source } => SubmissionError::Read { path, source },
        ImageError::Unusable { reason, .. } => too_large(reason),
        other => other.into(),
    })
}

fn read_identity(path: &Path) -> Result<Value, SubmissionError> {
    let bad = |reason: String| SubmissionError::Identity {
        path: path.to_path_buf(),
        reason,
    };
    let bytes = read_small(path, MAX_IDENTITY_BYTES, bad)?;
    let value: Value = serde_json::from_slice(&bytes)
        .map_err(|e| bad(kyc_core::MalformedError::json("identity", &e).to_string()))?;
    let Value::Object(identity) = &value else {
        return Err(bad("must be a JSON object".into()));
    };
    let missing: Vec<&str> = REQUIRED_IDENTITY
        .into_iter()
        .filter(|f| !identity.get(*f).is_some_and(Value::is_string))
        .collect();
    if !missing.is_empty() {
        return Err(bad(format!("missing text fields: {}", missing.join(", "))));
    }
    Ok(value)
}

fn read_mrz(path: &Path) -> Result<String, SubmissionError> {
    let bad = |reason| SubmissionError::Mrz {
        path: path.to_path_buf(),
        reason,
    };
    let bytes = read_small(path, 4096, |_| bad("longer than any MRZ"))?;
    let text = String::from_utf8(bytes).map_err(|_| bad("not text"))?;
    // Lines as typed or scanned: CRLF or LF, a trailing newline, surrounding blanks.
    let mrz = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("\n");
    if mrz.is_empty() {
        return Err(bad("empty"));
    }
    if mrz.len() > MAX_MRZ_LEN {
        return Err(bad("longer than 300 characters"));
    }
    if !mrz
        .bytes()
        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'<' || b == b'\n')
    {
        return Err(bad("only A-Z, 0-9, '<' and line breaks may appear"));
    }
    Ok(mrz)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::liveness::Pose;
    use base64::engine::general_purpose::STANDARD as B64_STANDARD;
    use base64::Engine as _;

    const PNG: &[u8] = &[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0];

    fn files(dir: &Path) -> DocumentFiles {
        std::fs::write(
            dir.join("identity.json"),
            r#"{"givenName":"Erika","familyName":"Mustermann","birthDate":"1990-01-31","nationality":"DE"}"#,
        )
        .unwrap();
        std::fs::write(dir.join("mrz.txt"), "IDD<<C01X00T478<<<<<<<<<<<<<<<\r\n").unwrap();
        DocumentFiles {
            document_type: Some(DocumentType::IdCard),
            mrz: Some(dir.join("mrz.txt")),
            ..DocumentFiles::default()
        }
    }

    fn build_in(dir: &Path, f: &DocumentFiles, holder: &DidKey) -> Result<Draft, SubmissionError> {
        build("EU", &dir.join("identity.json"), f, holder)
    }

    fn challenge(turns: &[Pose]) -> Challenge {
        Challenge {
            id: "5b1c6e0e-8f7a-4d1b-9a57-0b4f3f0a9c11".into(),
            turns: turns.to_vec(),
            issued_at: chrono::Utc::now(),
            expires_at: chrono::Utc::now(),
        }
    }

    #[test]
    fn builds_the_schema_shape() {
        let tmp = tempfile::tempdir().unwrap();
        let (_, holder) = DidKey::generate();
        let mut f = files(tmp.path());
        let frames = tmp.path().join("frames");
        std::fs::create_dir(&frames).unwrap();
        for (name, tag) in [("left.png", 1), ("centre.png", 2), ("right.png", 3)] {
            std::fs::write(frames.join(name), [PNG, &[tag]].concat()).unwrap();
        }
        std::fs::write(tmp.path().join("selfie.png"), PNG).unwrap();
        f.selfie = Some(tmp.path().join("selfie.png"));
        f.frames = Some(frames);
        let draft = build_in(tmp.path(), &f, &holder).unwrap();
        assert!(draft.captures().is_some());
        let c = challenge(&[Pose::Right, Pose::Left, Pose::Centre]);
        let s = draft.clone().finish(Some(&c)).unwrap();
        assert_eq!(s["holder"], holder.as_str());
        assert_eq!(s["document"]["type"], "id_card");
        assert_eq!(s["document"]["mrz"], "IDD<<C01X00T478<<<<<<<<<<<<<<<");
        let sent: Vec<String> = s["livenessFrames"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f.as_str().unwrap().to_owned())
            .collect();
        let tagged = |tag: u8| B64_STANDARD.encode([PNG, &[tag]].concat());
        assert_eq!(sent, [tagged(3), tagged(1), tagged(2)]);
        assert_eq!(s["livenessChallenge"], c.id.as_str());
        assert_eq!(s["selfie"], B64_STANDARD.encode(PNG));
        let schema: Value =
            serde_json::from_str(include_str!("../../schemas/application-v1.schema.json")).unwrap();
        let allowed: Vec<&String> = schema["properties"].as_object().unwrap().keys().collect();
        for key in s.as_object().unwrap().keys() {
            assert!(allowed.contains(&key), "{key} is not in the schema");
        }
        // No liveness step at the issuer: nothing of it is sent.
        let s = draft.finish(None).unwrap();
        assert!(s.get("livenessFrames").is_none() && s.get("livenessChallenge").is_none());
        assert_eq!(s["selfie"], B64_STANDARD.encode(PNG));
    }

    #[test]
    fn a_missing_pose_stops_the_application() {
        let tmp = tempfile::tempdir().unwrap();
        let (_, holder) = DidKey::generate();
        let mut f = files(tmp.path());
        let frames = tmp.path().join("frames");
        std::fs::create_dir(&frames).unwrap();
        for name in ["left.png", "right.png", "0.png"] {
            std::fs::write(frames.join(name), PNG).unwrap();
        }
        f.frames = Some(frames);
        let err = build_in(tmp.path(), &f, &holder).unwrap_err();
        assert!(
            matches!(err, SubmissionError::Image(ImageError::Frames { .. })),
            "{err}"
        );
        assert!(matches!(
            uploads(&f),
            Err(SubmissionError::Image(ImageError::Frames { .. }))
        ));
    }

    #[test]
    fn refusals_name_no_contents() {
        let tmp = tempfile::tempdir().unwrap();
        let (_, holder) = DidKey::generate();
        let f = files(tmp.path());
        let identity = tmp.path().join("identity.json");
        std::fs::write(&identity, r#"{"givenName":"Erika","familyName":7}"#).unwrap();
        let err = build_in(tmp.path(), &f, &holder).unwrap_err().to_string();
        assert!(err.contains("familyName, birthDate, nationality"), "{err}");
        std::fs::write(&identity, r#"{"givenName": Erika}"#).unwrap();
        let err = build_in(tmp.path(), &f, &holder).unwrap_err().to_string();
        assert!(!err.contains("Erika"), "{err}");

        let f = files(tmp.path());
        std::fs::write(f.mrz.as_ref().unwrap(), "idd<<erika").unwrap();
        assert!(matches!(
            build_in(tmp.path(), &f, &holder),
            Err(SubmissionError::Mrz { .. })
        ));

        let mut f = files(tmp.path());
        std::fs::write(tmp.path().join("selfie.gif"), b"GIF89a").unwrap();
        f.selfie = Some(tmp.path().join("selfie.gif"));
        assert!(matches!(
            build_in(tmp.path(), &f, &holder),
            Err(SubmissionError::Image(ImageError::Unusable { .. }))
        ));

        let mut f = files(tmp.path());
        f.mrz = None;
        assert!(matches!(
            build_in(tmp.path(), &f, &holder),
            Err(SubmissionError::NoDocument)
        ));
        let f = files(tmp.path());
        assert!(matches!(
            build("E1", &tmp.path().join("identity.json"), &f, &holder),
            Err(SubmissionError::Jurisdiction)
        ));
    }

    #[test]
    fn uploads_carry_only_documents() {
        let tmp = tempfile::tempdir().unwrap();
        let mut f = files(tmp.path());
        std::fs::write(tmp.path().join("selfie.png"), PNG).unwrap();
        f.selfie = Some(tmp.path().join("selfie.png"));
        let u = uploads(&f).unwrap().finish(None).unwrap();
        let keys: Vec<&String> = u.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["document", "selfie"]);
        // Captures alone make an upload, but not to an issuer without a liveness step.
        let frames = tmp.path().join("frames");
        std::fs::create_dir(&frames).unwrap();
        for name in ["left.png", "centre.png", "right.png"] {
            std::fs::write(frames.join(name), PNG).unwrap();
        }
        let only = DocumentFiles {
            frames: Some(frames),
            ..DocumentFiles::default()
        };
        let draft = uploads(&only).unwrap();
        let u = draft
            .clone()
            .finish(Some(&challenge(&[Pose::Left, Pose::Right])))
            .unwrap();
        assert_eq!(u["livenessFrames"].as_array().unwrap().len(), 2);
        assert!(matches!(
            draft.finish(None),
            Err(SubmissionError::OnlyLiveness)
        ));
        f.document_type = None;
        assert!(matches!(uploads(&f), Err(SubmissionError::NoDocumentType)));
        assert!(matches!(
            uploads(&DocumentFiles::default()),
            Err(SubmissionError::NothingToUpload)
        ));
    }
}
