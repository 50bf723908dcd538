//! C2SP transparency log checkpoints (<https://c2sp.org/tlog-checkpoint>): a signed note whose
//! text is the log's origin, its tree size and its RFC 6962 root hash.
//!
//! ```text
//! example.com/behind-the-sofa
//! 20852163
//! CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=
//!
//! — example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=
//! ```

use super::hash::Hash;
use super::note::{check_name, check_no_controls, Note, NoteError, SignerKey, VerifierKey};

/// A checkpoint body is malformed, or its signed note is malformed or does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CheckpointError {
    /// The signed note around the body is malformed or does not verify.
    #[error(transparent)]
    Note(#[from] NoteError),
    /// Malformed: the body does not end in a newline.
    #[error("checkpoint body must end with a newline")]
    MissingFinalNewline,
    /// Malformed: fewer than the three lines origin, size and root hash.
    #[error("checkpoint body has fewer than three lines")]
    TooFewLines,
    /// Malformed: an empty line; every line, extensions included, must be non-empty.
    #[error("checkpoint line {line} is empty")]
    EmptyLine {
        /// The 1-based line number.
        line: usize,
    },
    /// Malformed: an ASCII control character other than newline.
    #[error("checkpoint body contains a control character")]
    ControlCharacter,
    /// Malformed: the size is not ASCII decimal without sign or leading zeros that fits 64 bits.
    #[error("checkpoint tree size is not a canonical decimal")]
    BadSize,
    /// Malformed: the root hash is not standard base64 of 32 bytes.
    #[error("checkpoint root hash is not base64 of 32 bytes")]
    BadRootHash,
    /// Malformed (creation only): the origin cannot serve as this log's key name (empty, or with
    /// a space, `+` or control character).
    #[error("checkpoint origin is not a valid key name")]
    BadOrigin,
    /// Does not verify: the checkpoint was signed by the key, but for another log. This project
    /// names a log's key after its origin, as the spec recommends.
    #[error("checkpoint origin {origin:?} is not the key name {key_name:?}")]
    OriginMismatch {
        /// The checkpoint's origin line.
        origin: String,
        /// The key's name.
        key_name: String,
    },
}

/// A log's tree head: origin, size and root hash, and any extension lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    origin: String,
    size: u64,
    root: Hash,
    extensions: Vec<String>,
}

impl Checkpoint {
    /// The checkpoint of the tree of `size` leaves with root `root`, without extension lines
    /// (which the spec does not recommend). The origin must be usable as a key name, since the
    /// log signs under it.
    pub fn new(origin: &str, size: u64, root: Hash) -> Result<Self, CheckpointError> {
        check_name(origin).map_err(|_| CheckpointError::BadOrigin)?;
        Ok(Self {
            origin: origin.to_owned(),
            size,
            root,
            extensions: Vec::new(),
        })
    }

    /// Parses a checkpoint body (the note text) strictly (tlog-checkpoint, "Note text").
    pub fn parse_body(text: &str) -> Result<Self, CheckpointError> {
        check_no_controls(text).map_err(|_| CheckpointError::ControlCharacter)?;
        let body = text
            .strip_suffix('\n')
            .ok_or(CheckpointError::MissingFinalNewline)?;
        let lines: Vec<&str> = body.split('\n').collect();
        if let Some(i) = lines.iter().position(|line| line.is_empty()) {
            return Err(CheckpointError::EmptyLine { line: i + 1 });
        }
        let [origin, size, root, extensions @ ..] = lines.as_slice() else {
            return Err(CheckpointError::TooFewLines);
        };
        Ok(Self {
            origin: (*origin).to_owned(),
            size: parse_size(size).ok_or(CheckpointError::BadSize)?,
            root: root.parse().map_err(|_| CheckpointError::BadRootHash)?,
            extensions: extensions.iter().map(|line| (*line).to_owned()).collect(),
        })
    }

    /// The body: origin, size and base64 root hash, then any extension lines, each ending in a
    /// newline.
    pub fn body(&self) -> String {
        let mut body = format!("{}\n{}\n{}\n", self.origin, self.size, self.root);
        for line in &self.extensions {
            body.push_str(line);
            body.push('\n');
        }
        body
    }

    /// The signed checkpoint. The key's name must be the origin.
    pub fn sign(&self, key: &SignerKey) -> Result<String, CheckpointError> {
        self.check_origin(key.name())?;
        Ok(key.sign_note(&self.body())?)
    }

    /// Parses a signed checkpoint, verifies it with `key` (see [`Note::verify`]), then parses
    /// its body. The key's name must be the origin.
    pub fn open(msg: &str, key: &VerifierKey) -> Result<Self, CheckpointError> {
        let note = Note::open(msg, key)?;
        let checkpoint = Self::parse_body(note.text())?;
        checkpoint.check_origin(key.name())?;
        Ok(checkpoint)
    }

    /// The log's identity.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The number of leaves in the tree.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The RFC 6962 root hash of the tree at that size.
    pub fn root(&self) -> &Hash {
        &self.root
    }

    /// Extension lines after the root hash, without their newlines.
    pub fn extensions(&self) -> &[String] {
        &self.extensions
    }

    fn check_origin(&self, key_name: &str) -> Result<(), CheckpointError> {
        if self.origin == key_name {
            Ok(())
        } else {
            Err(CheckpointError::OriginMismatch {
                origin: self.origin.clone(),
                key_name: key_name.to_owned(),
            })
        }
    }
}

/// "The ASCII decimal representation of the number of leaves in the tree, with no leading
/// zeroes (unless the tree is empty, in which case the tree size is `0`)".
fn parse_size(text: &str) -> Option<u64> {
    let digits = !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
    let canonical = text == "0" || !text.starts_with('0');
    if digits && canonical {
        text.parse().ok()
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tlog::merkle::EMPTY_ROOT;

    /// The example of c2sp.org/tlog-checkpoint. Its key is not published, so only the format is
    /// checked.
    const SPEC_EXAMPLE: &str = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n\u{2014} example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n";

    fn signer(name: &str) -> SignerKey {
        SignerKey::generate(name, &mut rand::rngs::OsRng).unwrap()
    }

    #[test]
    fn spec_example_parses() {
        let note = Note::parse(SPEC_EXAMPLE).unwrap();
        let checkpoint = Checkpoint::parse_body(note.text()).unwrap();
        assert_eq!(checkpoint.origin(), "example.com/behind-the-sofa");
        assert_eq!(checkpoint.size(), 20852163);
        assert_eq!(
            checkpoint.root().to_string(),
            "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I="
        );
        assert!(checkpoint.extensions().is_empty());
        assert_eq!(checkpoint.body(), note.text());
        // The signature is 4 + 64 bytes, so an Ed25519 key of that name could verify it; ours
        // cannot.
        let other = signer("example.com/behind-the-sofa").verifier();
        assert!(matches!(
            Checkpoint::open(SPEC_EXAMPLE, &other),
            Err(CheckpointError::Note(NoteError::NoKnownSignature { .. }))
        ));
    }

    #[test]
    fn sign_and_open() {
        let key = signer("kyc.example/audit");
        let checkpoint = Checkpoint::new("kyc.example/audit", 0, EMPTY_ROOT).unwrap();
        let msg = checkpoint.sign(&key).unwrap();
        assert!(msg.starts_with(
            "kyc.example/audit\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n\n\u{2014} kyc.example/audit "
        ));
        assert_eq!(Checkpoint::open(&msg, &key.verifier()).unwrap(), checkpoint);

        // Another key of the same name is not this key.
        assert!(matches!(
            Checkpoint::open(&msg, &signer("kyc.example/audit").verifier()),
            Err(CheckpointError::Note(NoteError::NoKnownSignature { .. }))
        ));
        // A bigger size under the old signature.
        let forged = msg.replacen("\n0\n", "\n1\n", 1);
        assert!(matches!(
            Checkpoint::open(&forged, &key.verifier()),
            Err(CheckpointError::Note(NoteError::BadSignature { .. }))
        ));
        // A key whose name is not the origin.
        let other = signer("other.example/log");
        assert!(matches!(
            checkpoint.sign(&other),
            Err(CheckpointError::OriginMismatch { .. })
        ));
        let foreign = other.sign_note(&checkpoint.body()).unwrap();
        assert_eq!(
            Checkpoint::open(&foreign, &other.verifier()),
            Err(CheckpointError::OriginMismatch {
                origin: "kyc.example/audit".into(),
                key_name: "other.example/log".into(),
            })
        );
    }

    #[test]
    fn body_parsing_is_strict() {
        let root = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";
        let ok =
            Checkpoint::parse_body(&format!("o\n18446744073709551615\n{root}\next\n")).unwrap();
        assert_eq!(ok.size(), u64::MAX);
        assert_eq!(ok.extensions(), ["ext"]);
        assert_eq!(ok.body(), format!("o\n18446744073709551615\n{root}\next\n"));

        let cases = [
            (
                format!("o\n1\n{root}"),
                CheckpointError::MissingFinalNewline,
            ),
            ("o\n1\n".into(), CheckpointError::TooFewLines),
            (
                format!("\n1\n{root}\n"),
                CheckpointError::EmptyLine { line: 1 },
            ),
            (
                format!("o\n1\n{root}\n\next\n"),
                CheckpointError::EmptyLine { line: 4 },
            ),
            (
                format!("o\n1\n{root}\n\n"),
                CheckpointError::EmptyLine { line: 4 },
            ),
            (
                format!("o\n1\r\n{root}\n"),
                CheckpointError::ControlCharacter,
            ),
            (format!("o\n01\n{root}\n"), CheckpointError::BadSize),
            (format!("o\n00\n{root}\n"), CheckpointError::BadSize),
            (format!("o\n+1\n{root}\n"), CheckpointError::BadSize),
            (format!("o\n-1\n{root}\n"), CheckpointError::BadSize),
            (format!("o\n 1\n{root}\n"), CheckpointError::BadSize),
            (format!("o\n1e3\n{root}\n"), CheckpointError::BadSize),
            (
                format!("o\n18446744073709551616\n{root}\n"),
                CheckpointError::BadSize,
            ),
            (format!("o\n\u{661}\n{root}\n"), CheckpointError::BadSize),
            (
                "o\n1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU\n".into(),
                CheckpointError::BadRootHash,
            ),
            ("o\n1\nV3JvbmdSb290\n".into(), CheckpointError::BadRootHash),
            (format!("o\n1\n{root} \n"), CheckpointError::BadRootHash),
        ];
        for (body, want) in cases {
            assert_eq!(Checkpoint::parse_body(&body), Err(want), "{body:?}");
        }
        assert_eq!(
            Checkpoint::parse_body(&format!("o\n0\n{root}\n"))
                .unwrap()
                .size(),
            0
        );
    }

    #[test]
    fn origin_must_be_a_key_name() {
        for bad in ["", "a b", "a+b", "a\nb"] {
            assert_eq!(
                Checkpoint::new(bad, 0, EMPTY_ROOT),
                Err(CheckpointError::BadOrigin)
            );
        }
    }
}
