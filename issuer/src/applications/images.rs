//! The images of a submission checked at intake, before anything is stored: each must be a
//! JPEG or PNG (by its content) that decodes in full, at most [`MAX_SIDE`] pixels a side and
//! [`MAX_PIXELS`] in all. The schema bounds each image's text to 4 MB; without this check any
//! 4 MB blob would be sealed and kept for the retention period.
//!
//! The dimensions are read from the header before any pixel is decoded, so a small file that
//! claims an enormous picture (a decompression bomb) is refused without the memory it asks for;
//! the decoder's own allocation limit backs that up.

use std::io::Cursor;

use image::io::{Limits, Reader};
use image::{ImageError, ImageFormat};

use super::error::ApplicationError;
use crate::checks::biometric::decode_b64;
use crate::model::Submission;

/// The longest side accepted, in pixels.
pub const MAX_SIDE: u32 = 8192;

/// The most pixels accepted in one image (24 MP: a 6000 × 4000 photo).
pub const MAX_PIXELS: u64 = 24_000_000;

/// The most memory one decode may allocate (24 MP at 8 bytes a pixel, 16-bit RGBA, fits).
const MAX_DECODE_BYTES: u64 = 200 << 20;

/// What is wrong with one image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    /// Not base64, not a JPEG or PNG, or it does not decode.
    NotAnImage,
    /// Over [`MAX_SIDE`] or [`MAX_PIXELS`].
    TooLarge,
}

/// Check every image of `submission` (the document's, the selfie, each liveness frame, the
/// proof of address). The error names the first bad one by its place in the submission
/// (`/selfie`, `/livenessFrames/2`), never its content. CPU-bound: call it off the async
/// runtime's workers.
pub fn check_images(submission: &Submission) -> Result<(), ApplicationError> {
    let document = submission.document.get("image").and_then(|v| v.as_str());
    let named = [
        ("/document/image".to_owned(), document),
        ("/selfie".to_owned(), submission.selfie.as_deref()),
        (
            "/proofOfAddress".to_owned(),
            submission.proof_of_address.as_deref(),
        ),
    ];
    let frames = submission
        .liveness_frames
        .iter()
        .enumerate()
        .map(|(i, f)| (format!("/livenessFrames/{i}"), Some(f.as_str())));
    for (place, text) in named.into_iter().chain(frames) {
        let Some(text) = text else { continue };
        let fault = match decode_b64(text) {
            Some(bytes) => check_image(&bytes),
            None => Err(Fault::NotAnImage),
        };
        match fault {
            Ok(()) => {}
            Err(Fault::NotAnImage) => {
                return Err(ApplicationError::BadRequest(format!(
                    "{place} is not a JPEG or PNG image"
                )))
            }
            Err(Fault::TooLarge) => {
                return Err(ApplicationError::BadRequest(format!(
                    "{place} is larger than {MAX_SIDE} pixels a side or {MAX_PIXELS} pixels"
                )))
            }
        }
    }
    Ok(())
}

/// One image's bytes: a JPEG or PNG within the limits that decodes in full.
fn check_image(bytes: &[u8]) -> Result<(), Fault> {
    let format = image::guess_format(bytes).map_err(|_| Fault::NotAnImage)?;
    if !matches!(format, ImageFormat::Jpeg | ImageFormat::Png) {
        return Err(Fault::NotAnImage);
    }
    let reader = |sides: Option<u32>| {
        let mut reader = Reader::with_format(Cursor::new(bytes), format);
        let mut limits = Limits::default();
        limits.max_image_width = sides;
        limits.max_image_height = sides;
        limits.max_alloc = Some(MAX_DECODE_BYTES);
        reader.limits(limits);
        reader
    };
    let fault = |e: ImageError| match e {
        ImageError::Limits(_) => Fault::TooLarge,
        _ => Fault::NotAnImage,
    };
    // The header alone (no pixel buffer). A PNG's sides are at fixed places (IHDR is the first
    // chunk, PNG §11.2.2) and read there, because the decoder refuses huge ones as malformed;
    // a JPEG's come from its decoder (at most 65535 a side anyway).
    let (width, height) = match (format, bytes.get(12..24)) {
        (ImageFormat::Png, Some(ihdr)) if ihdr.starts_with(b"IHDR") => {
            let side = |at: usize| {
                u32::from_be_bytes([ihdr[at], ihdr[at + 1], ihdr[at + 2], ihdr[at + 3]])
            };
            (side(4), side(8))
        }
        _ => reader(None).into_dimensions().map_err(fault)?,
    };
    if width == 0 || height == 0 {
        return Err(Fault::NotAnImage);
    }
    if width > MAX_SIDE || height > MAX_SIDE || u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(Fault::TooLarge);
    }
    reader(Some(MAX_SIDE)).decode().map_err(fault)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{Rgb, RgbImage};

    fn encoded(format: image::ImageOutputFormat, w: u32, h: u32) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        image::DynamicImage::ImageRgb8(RgbImage::from_pixel(w, h, Rgb([90, 120, 150])))
            .write_to(&mut out, format)
            .unwrap();
        out.into_inner()
    }

    /// A PNG whose header (IHDR, with its CRC) claims `w` × `h` pixels, with no pixel data.
    fn png_header_only(w: u32, h: u32) -> Vec<u8> {
        let mut ihdr = b"IHDR".to_vec();
        ihdr.extend(w.to_be_bytes());
        ihdr.extend(h.to_be_bytes());
        ihdr.extend([8, 2, 0, 0, 0]);
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        png.extend(13u32.to_be_bytes());
        png.extend(&ihdr);
        png.extend(crc32(&ihdr).to_be_bytes());
        png
    }

    /// CRC-32 (ISO-HDLC, PNG's, RFC 2083 §15).
    fn crc32(data: &[u8]) -> u32 {
        let mut crc = !0u32;
        for byte in data {
            crc ^= u32::from(*byte);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }

    #[test]
    fn jpeg_and_png_within_limits_pass() {
        assert_eq!(
            check_image(&encoded(image::ImageOutputFormat::Png, 40, 30)),
            Ok(())
        );
        assert_eq!(
            check_image(&encoded(image::ImageOutputFormat::Jpeg(80), 40, 30)),
            Ok(())
        );
    }

    #[test]
    fn anything_else_is_refused() {
        assert_eq!(check_image(b"document image"), Err(Fault::NotAnImage));
        assert_eq!(check_image(&[0u8; 4096]), Err(Fault::NotAnImage));
        // A GIF's magic: an image, not one accepted here.
        assert_eq!(
            check_image(b"GIF89a\x01\x00\x01\x00"),
            Err(Fault::NotAnImage)
        );
        // A JPEG's first bytes and nothing after.
        let jpeg = encoded(image::ImageOutputFormat::Jpeg(80), 40, 30);
        assert_eq!(check_image(&jpeg[..20]), Err(Fault::NotAnImage));
        // A valid header with no image data.
        assert_eq!(
            check_image(&png_header_only(40, 30)),
            Err(Fault::NotAnImage)
        );
    }

    #[test]
    fn a_huge_picture_is_refused_from_its_header() {
        assert_eq!(
            check_image(&png_header_only(100_000, 100_000)),
            Err(Fault::TooLarge)
        );
        assert_eq!(
            check_image(&png_header_only(8000, 8000)),
            Err(Fault::TooLarge)
        );
    }
}
