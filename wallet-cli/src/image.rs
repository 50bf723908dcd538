//! Image files as an application carries them: JPEG or PNG, within the schema's size, as
//! standard base64 (shape: schemas/application-v1.schema.json), and the schema's limits on
//! images. Read by [`crate::submission`] (document, selfie, proof of address) and
//! [`crate::liveness`] (the captures); depends on neither.

use std::path::{Path, PathBuf};

use base64::engine::general_purpose::STANDARD as B64_STANDARD;
use base64::Engine as _;

/// The schema's longest image: 4,000,000 base64 characters, i.e. 3,000,000 bytes.
pub const MAX_IMAGE_BYTES: u64 = 3_000_000;
/// The schema's most liveness frames.
pub const MAX_FRAMES: usize = 16;

/// An image, or the liveness captures, cannot be used. Messages name files, never contents.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImageError {
    /// A file or directory cannot be read.
    #[error("{path}: {source}")]
    Read {
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// An image is not JPEG or PNG, is empty, or is too large.
    #[error("{path}: {reason}")]
    Unusable {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The frames directory lacks a pose's capture or has two for one pose, or the challenge
    /// asks for more frames than can be sent.
    #[error("frames directory {path}: {reason}")]
    Frames {
        /// The directory.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

/// A JPEG or PNG file as standard base64 (the schema's `image`).
pub(crate) fn read_image(path: &Path) -> Result<String, ImageError> {
    let bytes = read_limited(path, MAX_IMAGE_BYTES)?;
    // JPEG: SOI marker FF D8 FF (ITU T.81 B.1.1.2); PNG: the 8-byte signature (RFC 2083 §3.1).
    let is_jpeg = bytes.starts_with(&[0xFF, 0xD8, 0xFF]);
    let is_png = bytes.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]);
    if !is_jpeg && !is_png {
        return Err(ImageError::Unusable {
            path: path.to_path_buf(),
            reason: "not a JPEG or PNG image".into(),
        });
    }
    Ok(B64_STANDARD.encode(bytes))
}

/// A regular file of at most `limit` bytes; a larger one is [`ImageError::Unusable`].
pub(crate) fn read_limited(path: &Path, limit: u64) -> Result<Vec<u8>, ImageError> {
    let read = |source| ImageError::Read {
        path: path.to_path_buf(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(read)?;
    if !meta.is_file() {
        return Err(read(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a regular file",
        )));
    }
    if meta.len() > limit {
        return Err(ImageError::Unusable {
            path: path.to_path_buf(),
            reason: format!("{} bytes, more than the {limit} allowed", meta.len()),
        });
    }
    std::fs::read(path).map_err(read)
}
