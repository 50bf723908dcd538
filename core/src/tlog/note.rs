//! C2SP signed notes (<https://c2sp.org/signed-note>) with Ed25519 signatures, as in Go's
//! `golang.org/x/mod/sumdb/note`.
//!
//! A signed note is a text ending in a newline, a blank line, then one or more signature lines
//! `— <key name> <base64(key ID || signature)>`. The key ID of an Ed25519 key is the first four
//! bytes of `SHA-256(key name || 0x0A || 0x01 || public key)`. Keys travel as text:
//! `<name>+<hex key ID>+<base64(0x01 || public key)>` for verifiers and
//! `PRIVATE+KEY+<name>+<hex key ID>+<base64(0x01 || seed)>` for signers.

use std::fmt;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use rand::{CryptoRng, RngCore};
use sha2::{Digest, Sha256};

/// The signature type byte of Ed25519 (signed-note, "Signature types").
const ED25519: u8 = 0x01;

/// Em dash (U+2014) and space: the start of every signature line (signed-note, "Format").
const SIGNATURE_PREFIX: &str = "\u{2014} ";

/// The prefix of a signer key's text form.
const PRIVATE_KEY_PREFIX: &str = "PRIVATE+KEY+";

/// The most signature lines a note may carry. The spec asks verifiers to set a limit and to
/// accept at least 16 (signed-note, "Format"); Go's `note.Open` stops at 100.
pub const MAX_SIGNATURES: usize = 100;

/// The largest signed note accepted, in bytes, checked before any parsing.
pub const MAX_NOTE_LEN: usize = 64 * 1024;

/// A note, key or signature is malformed, or a note does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NoteError {
    /// Malformed: larger than [`MAX_NOTE_LEN`]; refused before parsing.
    #[error("note of {0} bytes exceeds the limit of {MAX_NOTE_LEN} bytes")]
    TooLarge(usize),
    /// Malformed: an ASCII control character other than newline (signed-note, "Format").
    #[error("note contains a control character")]
    ControlCharacter,
    /// Malformed: the text to sign is empty or does not end in a newline.
    #[error("note text must end with a newline")]
    UnterminatedText,
    /// Malformed: no blank line followed by signature lines, each ending in a newline.
    #[error("note has no signature block")]
    NoSignatureBlock,
    /// Malformed: a line of the signature block is not `— <name> <base64>` with a valid key name
    /// and at least one signature byte after the key ID.
    #[error("malformed signature line")]
    BadSignatureLine,
    /// Malformed: more than [`MAX_SIGNATURES`] signature lines.
    #[error("note has more than {MAX_SIGNATURES} signatures")]
    TooManySignatures,
    /// Malformed: a key name is empty or holds a space, a plus sign or a control character
    /// (signed-note, "Format").
    #[error("invalid key name")]
    InvalidKeyName,
    /// Malformed: a key's text form is not `[PRIVATE+KEY+]<name>+<8 lowercase hex>+<base64>`,
    /// or its key bytes are not an Ed25519 key.
    #[error("malformed key: {0}")]
    MalformedKey(&'static str),
    /// Malformed: a key of a signature type other than Ed25519 (0x01).
    #[error("unsupported signature type 0x{0:02x}")]
    UnknownAlgorithm(u8),
    /// Malformed: the key ID in a key's text form is not the one its name and key give.
    #[error("key ID does not match the key name and key")]
    KeyIdMismatch,
    /// Does not verify: no signature line carries the verifier's name and key ID. Signatures
    /// from other keys are ignored, as the spec requires, but one from this key must be there.
    #[error("note has no signature from key {name}+{key_id:08x}")]
    NoKnownSignature {
        /// The verifier's key name.
        name: String,
        /// The verifier's key ID.
        key_id: u32,
    },
    /// Does not verify: a signature line carries the verifier's name and key ID, but the
    /// signature does not verify (the spec says to reject the whole note).
    #[error("invalid signature from key {name}+{key_id:08x}")]
    BadSignature {
        /// The verifier's key name.
        name: String,
        /// The verifier's key ID.
        key_id: u32,
    },
}

/// The key ID of an Ed25519 key (signed-note, "Ed25519 signatures"):
/// `SHA-256(key name || 0x0A || 0x01 || 32-byte public key)[:4]`, big-endian.
pub fn key_id(name: &str, key: &VerifyingKey) -> u32 {
    let digest = Sha256::new()
        .chain_update(name.as_bytes())
        .chain_update([b'\n', ED25519])
        .chain_update(key.as_bytes())
        .finalize();
    u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]])
}

/// A key that checks Ed25519 note signatures: a name, its key ID and the public key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifierKey {
    name: String,
    id: u32,
    key: VerifyingKey,
}

impl VerifierKey {
    /// The verifier for `key` under `name`.
    pub fn new(name: &str, key: VerifyingKey) -> Result<Self, NoteError> {
        check_name(name)?;
        Ok(Self {
            name: name.to_owned(),
            id: key_id(name, &key),
            key,
        })
    }

    /// Parses the text form `<name>+<hex key ID>+<base64(0x01 || public key)>`.
    pub fn parse(text: &str) -> Result<Self, NoteError> {
        let (name, id, key) = split_key(text)?;
        let key: [u8; 32] = key
            .try_into()
            .map_err(|_| NoteError::MalformedKey("an Ed25519 public key is 32 bytes"))?;
        let key = VerifyingKey::from_bytes(&key)
            .map_err(|_| NoteError::MalformedKey("not an Ed25519 public key"))?;
        let verifier = Self::new(name, key)?;
        if verifier.id != id {
            return Err(NoteError::KeyIdMismatch);
        }
        Ok(verifier)
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key ID.
    pub fn key_id(&self) -> u32 {
        self.id
    }

    /// The Ed25519 public key.
    pub fn verifying_key(&self) -> &VerifyingKey {
        &self.key
    }
}

/// The text form `<name>+<hex key ID>+<base64(0x01 || public key)>`.
impl fmt::Display for VerifierKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut key = vec![ED25519];
        key.extend_from_slice(self.key.as_bytes());
        write!(f, "{}+{:08x}+{}", self.name, self.id, B64.encode(key))
    }
}

/// A key that signs notes with Ed25519. Its `Debug` form shows the name and key ID only.
#[derive(Clone)]
pub struct SignerKey {
    name: String,
    id: u32,
    key: SigningKey,
}

impl SignerKey {
    /// The signer for `key` under `name`.
    pub fn new(name: &str, key: SigningKey) -> Result<Self, NoteError> {
        check_name(name)?;
        Ok(Self {
            name: name.to_owned(),
            id: key_id(name, &key.verifying_key()),
            key,
        })
    }

    /// A fresh key under `name`.
    pub fn generate<R: CryptoRng + RngCore>(name: &str, rng: &mut R) -> Result<Self, NoteError> {
        Self::new(name, SigningKey::generate(rng))
    }

    /// Parses the text form `PRIVATE+KEY+<name>+<hex key ID>+<base64(0x01 || seed)>`.
    pub fn parse(text: &str) -> Result<Self, NoteError> {
        let rest = text
            .strip_prefix(PRIVATE_KEY_PREFIX)
            .ok_or(NoteError::MalformedKey(
                "a signer key starts with PRIVATE+KEY+",
            ))?;
        let (name, id, seed) = split_key(rest)?;
        let seed: [u8; 32] = seed
            .try_into()
            .map_err(|_| NoteError::MalformedKey("an Ed25519 seed is 32 bytes"))?;
        let signer = Self::new(name, SigningKey::from_bytes(&seed))?;
        // The key ID hashes the public key, so it can only be checked once that is derived.
        if signer.id != id {
            return Err(NoteError::KeyIdMismatch);
        }
        Ok(signer)
    }

    /// The text form `PRIVATE+KEY+<name>+<hex key ID>+<base64(0x01 || seed)>`. It holds the
    /// secret key.
    pub fn to_private_text(&self) -> String {
        let mut seed = vec![ED25519];
        seed.extend_from_slice(self.key.as_bytes());
        format!(
            "{PRIVATE_KEY_PREFIX}{}+{:08x}+{}",
            self.name,
            self.id,
            B64.encode(seed)
        )
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key ID.
    pub fn key_id(&self) -> u32 {
        self.id
    }

    /// The matching verifier key.
    pub fn verifier(&self) -> VerifierKey {
        VerifierKey {
            name: self.name.clone(),
            id: self.id,
            key: self.key.verifying_key(),
        }
    }

    /// Signs `text` and returns the signed note: the text, a blank line and one signature line.
    pub fn sign_note(&self, text: &str) -> Result<String, NoteError> {
        if !text.ends_with('\n') {
            return Err(NoteError::UnterminatedText);
        }
        check_no_controls(text)?;
        // Ed25519 over the note text, final newline included (signed-note, "Ed25519 signatures").
        let signature = self.key.sign(text.as_bytes());
        let mut raw = self.id.to_be_bytes().to_vec();
        raw.extend_from_slice(&signature.to_bytes());
        Ok(format!(
            "{text}\n{SIGNATURE_PREFIX}{} {}\n",
            self.name,
            B64.encode(raw)
        ))
    }
}

impl fmt::Debug for SignerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignerKey")
            .field("name", &self.name)
            .field("key_id", &format_args!("{:08x}", self.id))
            .finish_non_exhaustive()
    }
}

/// One signature line of a note, not yet checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteSignature {
    /// The key name.
    pub name: String,
    /// The key ID: the first four bytes of the decoded signature, big-endian.
    pub key_id: u32,
    /// The signature bytes after the key ID.
    pub signature: Vec<u8>,
}

/// A signed note, parsed but not verified: its text must be ignored until
/// [`Note::verify`] succeeds (signed-note).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    text: String,
    signatures: Vec<NoteSignature>,
}

impl Note {
    /// Parses a signed note strictly: size limit, no control characters but newline, text
    /// ending in a newline, a blank line, then 1 to [`MAX_SIGNATURES`] well-formed signature
    /// lines each ending in a newline. The last blank line separates text from signatures.
    pub fn parse(msg: &str) -> Result<Self, NoteError> {
        if msg.len() > MAX_NOTE_LEN {
            return Err(NoteError::TooLarge(msg.len()));
        }
        check_no_controls(msg)?;
        let split = msg.rfind("\n\n").ok_or(NoteError::NoSignatureBlock)?;
        let (text, block) = (&msg[..=split], &msg[split + 2..]);
        let block = block
            .strip_suffix('\n')
            .ok_or(NoteError::NoSignatureBlock)?;
        let mut signatures = Vec::new();
        for line in block.split('\n') {
            if signatures.len() == MAX_SIGNATURES {
                return Err(NoteError::TooManySignatures);
            }
            signatures.push(parse_signature_line(line)?);
        }
        Ok(Self {
            text: text.to_owned(),
            signatures,
        })
    }

    /// Parses `msg` and verifies it with `key`; see [`Note::parse`] and [`Note::verify`].
    pub fn open(msg: &str, key: &VerifierKey) -> Result<Self, NoteError> {
        let note = Self::parse(msg)?;
        note.verify(key)?;
        Ok(note)
    }

    /// Checks every signature line with `key`'s name and key ID; other lines are ignored
    /// (signed-note, "Signatures"). At least one must be there, and all must verify.
    pub fn verify(&self, key: &VerifierKey) -> Result<(), NoteError> {
        let mut found = false;
        for sig in &self.signatures {
            if sig.name != key.name || sig.key_id != key.id {
                continue;
            }
            let verified = Signature::from_slice(&sig.signature)
                .is_ok_and(|s| key.key.verify_strict(self.text.as_bytes(), &s).is_ok());
            if !verified {
                return Err(NoteError::BadSignature {
                    name: key.name.clone(),
                    key_id: key.id,
                });
            }
            found = true;
        }
        if found {
            Ok(())
        } else {
            Err(NoteError::NoKnownSignature {
                name: key.name.clone(),
                key_id: key.id,
            })
        }
    }

    /// The note text, final newline included.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The signature lines, in order.
    pub fn signatures(&self) -> &[NoteSignature] {
        &self.signatures
    }
}

/// `— <name> <base64(key ID || signature)>`, without its newline.
fn parse_signature_line(line: &str) -> Result<NoteSignature, NoteError> {
    let rest = line
        .strip_prefix(SIGNATURE_PREFIX)
        .ok_or(NoteError::BadSignatureLine)?;
    let (name, encoded) = rest.split_once(' ').ok_or(NoteError::BadSignatureLine)?;
    check_name(name).map_err(|_| NoteError::BadSignatureLine)?;
    let raw = B64
        .decode(encoded)
        .map_err(|_| NoteError::BadSignatureLine)?;
    match raw.split_first_chunk::<4>() {
        Some((id, signature)) if !signature.is_empty() => Ok(NoteSignature {
            name: name.to_owned(),
            key_id: u32::from_be_bytes(*id),
            signature: signature.to_vec(),
        }),
        _ => Err(NoteError::BadSignatureLine),
    }
}

/// Splits `<name>+<hex key ID>+<base64(type || key)>`, checking the name, the ID's form and the
/// type byte; returns the key bytes after the type byte.
fn split_key(text: &str) -> Result<(&str, u32, Vec<u8>), NoteError> {
    // Base64 may contain '+', so the key is everything after the second one.
    let mut parts = text.splitn(3, '+');
    let (Some(name), Some(id), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(NoteError::MalformedKey("expected <name>+<key ID>+<key>"));
    };
    check_name(name)?;
    if id.len() != 8 || !id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return Err(NoteError::MalformedKey(
            "a key ID is 8 lowercase hex digits",
        ));
    }
    let id = u32::from_str_radix(id, 16)
        .map_err(|_| NoteError::MalformedKey("a key ID is 8 lowercase hex digits"))?;
    let key = B64
        .decode(key)
        .map_err(|_| NoteError::MalformedKey("key is not standard base64"))?;
    match key.split_first() {
        Some((&ED25519, key)) => Ok((name, id, key.to_vec())),
        Some((&other, _)) => Err(NoteError::UnknownAlgorithm(other)),
        None => Err(NoteError::MalformedKey("empty key")),
    }
}

/// Key names are non-empty with no Unicode space, no `+` (signed-note, "Format") and, since
/// they appear in notes, no control character.
pub(crate) fn check_name(name: &str) -> Result<(), NoteError> {
    let valid = !name.is_empty()
        && !name
            .chars()
            .any(|c| c.is_whitespace() || c == '+' || c < ' ');
    if valid {
        Ok(())
    } else {
        Err(NoteError::InvalidKeyName)
    }
}

/// Signed notes "MUST NOT contain any ASCII control characters (those below U+0020) other than
/// newline" (signed-note, "Format").
pub(crate) fn check_no_controls(text: &str) -> Result<(), NoteError> {
    if text.bytes().any(|b| b < b' ' && b != b'\n') {
        Err(NoteError::ControlCharacter)
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Known answers from Go's golang.org/x/mod/sumdb/note, note_test.go (TestNewVerifier,
    // TestNewSigner, TestSign, TestOpen), BSD-3-Clause, The Go Authors.
    const PETER_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
    const PETER_SKEY: &str =
        "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
    const ENOCH_VKEY: &str = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop";
    const TEXT: &str = "If you think cryptography is the answer to your problem,\n\
                        then you don't know what your problem is.\n";
    const PETER_SIG: &str = "\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
    const ENOCH_SIG: &str = "\u{2014} EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n";

    fn peter() -> VerifierKey {
        VerifierKey::parse(PETER_VKEY).unwrap()
    }

    fn enoch() -> VerifierKey {
        VerifierKey::parse(ENOCH_VKEY).unwrap()
    }

    #[test]
    fn go_keys_parse_and_round_trip() {
        let v = peter();
        assert_eq!(v.name(), "PeterNeumann");
        assert_eq!(v.key_id(), 0xc74f20a3);
        assert_eq!(v.to_string(), PETER_VKEY);
        let s = SignerKey::parse(PETER_SKEY).unwrap();
        assert_eq!(s.key_id(), 0xc74f20a3);
        assert_eq!(s.verifier(), v);
        assert_eq!(s.to_private_text(), PETER_SKEY);
        assert_eq!(enoch().key_id(), 0xaf0cfe78);
        assert!(!format!("{s:?}").contains("AYEK"));
    }

    #[test]
    fn go_sign_known_answer() {
        let signer = SignerKey::parse(PETER_SKEY).unwrap();
        let msg = signer.sign_note(TEXT).unwrap();
        assert_eq!(msg, format!("{TEXT}\n{PETER_SIG}"));
        assert_eq!(signer.sign_note("abc"), Err(NoteError::UnterminatedText));
        assert_eq!(signer.sign_note(""), Err(NoteError::UnterminatedText));
        assert_eq!(signer.sign_note("a\tb\n"), Err(NoteError::ControlCharacter));
    }

    #[test]
    fn go_open_known_answers() {
        let both = format!("{TEXT}\n{PETER_SIG}{ENOCH_SIG}");
        let note = Note::open(&both, &peter()).unwrap();
        assert_eq!(note.text(), TEXT);
        assert_eq!(note.signatures().len(), 2);
        assert_eq!(note.signatures()[1].name, "EnochRoot");
        assert_eq!(note.signatures()[1].key_id, 0xaf0cfe78);
        assert_eq!(note.verify(&enoch()), Ok(()));

        // Only Enoch signed: Peter's key finds nothing it knows.
        let only_enoch = format!("{TEXT}\n{ENOCH_SIG}");
        assert_eq!(
            Note::open(&only_enoch, &peter()),
            Err(NoteError::NoKnownSignature {
                name: "PeterNeumann".into(),
                key_id: 0xc74f20a3
            })
        );

        // A known key's corrupted signature rejects the note.
        let corrupt = format!("{TEXT}\n{}ABCD{}", &PETER_SIG[..60], &PETER_SIG[60..]);
        assert_eq!(
            Note::open(&corrupt, &peter()),
            Err(NoteError::BadSignature {
                name: "PeterNeumann".into(),
                key_id: 0xc74f20a3
            })
        );

        // Repeated signatures and a corrupted unknown one are fine.
        let enoch_abcd = format!("{}ABCD{}", &ENOCH_SIG[..60], &ENOCH_SIG[60..]);
        let mixed = format!("{TEXT}\n{PETER_SIG}{PETER_SIG}{ENOCH_SIG}{ENOCH_SIG}{enoch_abcd}");
        assert!(Note::open(&mixed, &peter()).is_ok());

        // Same name, other key ID (and the other way round): ignored, so nothing known.
        let wrong_id = format!("{TEXT}\n{}", PETER_SIG.replace("x08g", "xxxx"));
        assert!(matches!(
            Note::open(&wrong_id, &peter()),
            Err(NoteError::NoKnownSignature { .. })
        ));
        let renamed = format!(
            "{TEXT}\n{}",
            PETER_SIG.replace("PeterNeumann", "CarmenSandiego")
        );
        assert!(matches!(
            Note::open(&renamed, &peter()),
            Err(NoteError::NoKnownSignature { .. })
        ));

        // Tampered text.
        let tampered = format!("{}\n{PETER_SIG}", TEXT.replace("problem", "question"));
        assert!(matches!(
            Note::open(&tampered, &peter()),
            Err(NoteError::BadSignature { .. })
        ));
    }

    #[test]
    fn go_open_rejects_malformed() {
        let too_many = format!("{TEXT}\n{}", PETER_SIG.repeat(MAX_SIGNATURES + 1));
        assert_eq!(Note::parse(&too_many), Err(NoteError::TooManySignatures));
        assert!(Note::parse(&format!("{TEXT}\n{}", PETER_SIG.repeat(MAX_SIGNATURES))).is_ok());

        let cases: [(String, NoteError); 9] = [
            (TEXT.to_owned(), NoteError::NoSignatureBlock),
            (format!("{TEXT}\n"), NoteError::NoSignatureBlock),
            (format!("{TEXT}\n{}", PETER_SIG.trim_end_matches('\n')), NoteError::NoSignatureBlock),
            (format!("\x01{TEXT}\n{PETER_SIG}"), NoteError::ControlCharacter),
            (format!("{TEXT}\r\n{PETER_SIG}"), NoteError::ControlCharacter),
            (
                format!("{TEXT}\n\u{2014} Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"),
                NoteError::BadSignatureLine,
            ),
            (format!("{TEXT}\n{PETER_SIG}Unexpected line.\n"), NoteError::BadSignatureLine),
            (format!("{TEXT}\n- PeterNeumann AAAAAAAA\n"), NoteError::BadSignatureLine),
            // Four bytes of key ID and no signature.
            (format!("{TEXT}\n\u{2014} PeterNeumann x08gow==\n"), NoteError::BadSignatureLine),
        ];
        for (msg, want) in cases {
            assert_eq!(Note::parse(&msg), Err(want), "{msg:?}");
        }
        let big = format!("{}\n\n{PETER_SIG}", "a".repeat(MAX_NOTE_LEN));
        assert_eq!(Note::parse(&big), Err(NoteError::TooLarge(big.len())));
    }

    #[test]
    fn spec_example_note_parses() {
        // The example of c2sp.org/signed-note; the spec does not publish its key, so only the
        // format is checked. The text has a blank line of its own: the last one separates.
        let msg = "Ognuno sta solo sul cuor della terra\ntrafitto da un raggio di sole:\n\ned \u{e8} subito sera.\n\n\u{2014} quasimodo.example/salvatore NnugSzTjtVAewIS+Z/iJhUPeFDkO/5QQ2i5ddnGITLlC+EhfLW9oJKONrMouFSQU0xMcXxj99ihAQwaqP3ZekRwNtIc=\n";
        let note = Note::parse(msg).unwrap();
        assert!(note.text().ends_with("\n\ned \u{e8} subito sera.\n"));
        assert_eq!(note.signatures().len(), 1);
        assert_eq!(note.signatures()[0].name, "quasimodo.example/salvatore");
        assert_eq!(note.signatures()[0].signature.len(), 64);
    }

    /// Every proper substring and every single-byte increment of a valid key must be refused,
    /// as in Go's TestNewVerifier and TestNewSigner.
    #[test]
    fn go_mangled_keys_are_rejected() {
        for (key, parse) in [
            (
                PETER_VKEY,
                (|t: &str| VerifierKey::parse(t).err()) as fn(&str) -> Option<NoteError>,
            ),
            (PETER_SKEY, |t: &str| SignerKey::parse(t).err()),
        ] {
            let b = key.as_bytes();
            for i in 0..=b.len() {
                for j in i + 1..=b.len() {
                    if i == 0 && j == b.len() {
                        continue;
                    }
                    let sub = std::str::from_utf8(&b[i..j]).unwrap();
                    assert!(parse(sub).is_some(), "accepted {sub:?}");
                }
            }
            for i in 0..b.len() {
                let mut m = b.to_vec();
                m[i] += 1;
                let m = String::from_utf8(m).unwrap();
                assert!(parse(&m).is_some(), "accepted {m:?}");
            }
        }
        // Wrong length key with adjusted key ID; unknown algorithm with adjusted key ID. Go's
        // lenient decoder reads "BADKEY==" despite its non-zero trailing bits; ours refuses it
        // as base64 already.
        assert_eq!(
            VerifierKey::parse(
                "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY=="
            ),
            Err(NoteError::MalformedKey("key is not standard base64"))
        );
        assert_eq!(
            VerifierKey::parse(
                "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEYAA"
            ),
            Err(NoteError::MalformedKey("an Ed25519 public key is 32 bytes"))
        );
        assert_eq!(
            VerifierKey::parse(
                "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
            ),
            Err(NoteError::UnknownAlgorithm(0x65))
        );
        assert_eq!(
            VerifierKey::parse(
                "PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
            ),
            Err(NoteError::MalformedKey(
                "a key ID is 8 lowercase hex digits"
            ))
        );
        assert_eq!(
            VerifierKey::parse(
                "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
            ),
            Err(NoteError::KeyIdMismatch)
        );
    }

    #[test]
    fn generated_keys_sign_and_verify() {
        let signer = SignerKey::generate("example.com/log", &mut rand::rngs::OsRng).unwrap();
        let again = SignerKey::parse(&signer.to_private_text()).unwrap();
        let verifier = VerifierKey::parse(&again.verifier().to_string()).unwrap();
        let msg = signer.sign_note("hello\n").unwrap();
        assert_eq!(Note::open(&msg, &verifier).unwrap().text(), "hello\n");
        for bad in ["", "a b", "a+b", "a\u{a0}b", "a\u{1}b"] {
            assert_eq!(
                SignerKey::generate(bad, &mut rand::rngs::OsRng).err(),
                Some(NoteError::InvalidKeyName),
                "{bad:?}"
            );
        }
    }
}
