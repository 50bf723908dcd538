//! QR codes for what crosses the counter: a presentation request (shop to wallet) and a
//! presentation (wallet to shop), as unicode half-blocks for a terminal or as a PNG.
//!
//! **Error correction.** A key-bound SD-JWT presentation runs to one or two kilobytes, near a
//! QR code's capacity (ISO/IEC 18004:2015 Table 7: version 40 holds 2,953 bytes at level L,
//! 2,331 at M). The code is made at level M (15 % of the symbol recoverable: a scuffed screen or
//! a glare still scans) when the text fits, else at level L; text that fits neither is refused
//! with [`QrError::TooLong`], never truncated.

use qrcode::render::unicode::Dense1x2;
use qrcode::{Color, EcLevel, QrCode};

/// The most bytes a QR code can carry (version 40, level L, byte mode).
pub const MAX_BYTES: usize = 2953;
/// Pixels per module in a PNG.
const PNG_SCALE: usize = 8;
/// The quiet zone around the symbol, in modules (ISO/IEC 18004 §6.3.8 asks for 4).
const QUIET_ZONE: usize = 4;

/// Why no QR code could be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum QrError {
    /// The text does not fit in a QR code.
    #[error(
        "{len} bytes do not fit in a QR code (at most {MAX_BYTES}); pass it as a file instead"
    )]
    TooLong {
        /// The text's length.
        len: usize,
    },
    /// Encoding the PNG failed.
    #[error("writing the PNG: {0}")]
    Png(String),
}

/// The QR code of `text`, at level M if it fits, else L.
pub fn encode(text: &str) -> Result<QrCode, QrError> {
    QrCode::with_error_correction_level(text, EcLevel::M)
        .or_else(|_| QrCode::with_error_correction_level(text, EcLevel::L))
        .map_err(|_| QrError::TooLong { len: text.len() })
}

/// `text` as a QR code drawn with unicode half-blocks (two modules a character row), dark on
/// light, with its quiet zone: for a terminal.
pub fn terminal(text: &str) -> Result<String, QrError> {
    let code = encode(text)?;
    Ok(code
        .render::<Dense1x2>()
        .dark_color(Dense1x2::Light)
        .light_color(Dense1x2::Dark)
        .quiet_zone(true)
        .build())
}

/// `text` as a QR code in a greyscale PNG, 8 pixels a module, with its quiet zone.
pub fn png(text: &str) -> Result<Vec<u8>, QrError> {
    let code = encode(text)?;
    let width = code.width();
    let colors = code.to_colors();
    let side = (width + 2 * QUIET_ZONE) * PNG_SCALE;
    let mut pixels = vec![0xffu8; side * side];
    for (i, color) in colors.iter().enumerate() {
        if *color != Color::Dark {
            continue;
        }
        let (x, y) = (i % width + QUIET_ZONE, i / width + QUIET_ZONE);
        for row in y * PNG_SCALE..(y + 1) * PNG_SCALE {
            pixels[row * side + x * PNG_SCALE..row * side + (x + 1) * PNG_SCALE].fill(0);
        }
    }
    let side = u32::try_from(side).map_err(|e| QrError::Png(e.to_string()))?;
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, side, side);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::Eight);
    let fail = |e: png::EncodingError| QrError::Png(e.to_string());
    let mut writer = encoder.write_header().map_err(fail)?;
    writer.write_image_data(&pixels).map_err(fail)?;
    writer.finish().map_err(fail)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_and_limits() {
        assert_eq!(
            encode("short").unwrap().error_correction_level(),
            EcLevel::M
        );
        // Past level M's capacity, level L still carries it.
        let long = "a".repeat(2500);
        assert_eq!(encode(&long).unwrap().error_correction_level(), EcLevel::L);
        assert!(matches!(
            encode(&"a".repeat(MAX_BYTES + 1)),
            Err(QrError::TooLong { len }) if len == MAX_BYTES + 1
        ));
        let text = terminal("hello").unwrap();
        assert!(text.contains('█') || text.contains('▀') || text.contains('▄'));
        let image = png("hello").unwrap();
        assert_eq!(&image[..8], b"\x89PNG\r\n\x1a\n");
    }
}
