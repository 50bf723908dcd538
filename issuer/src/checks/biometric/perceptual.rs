//! Perceptual hashes of liveness frames, so that a frame set accepted once is recognised when
//! it comes back re-encoded, cropped by a few pixels, brightness-shifted, with its metadata
//! changed or bytes appended: what an exact digest of the file misses.
//!
//! The hash is a difference hash (dHash) in both directions: the frame is decoded, turned to
//! luma, shrunk by area averaging to 9 × 8 and 8 × 9 cells, and each bit says whether a cell is
//! brighter than its right (resp. lower) neighbour: 128 bits that follow the picture's coarse
//! layout of light and shade. A uniform brightness or contrast change keeps every comparison;
//! a new JPEG quality, a crop of a few pixels or a rescale moves cells' means by a little and
//! flips only the comparisons that were close. Two frames are the same capture when their
//! hashes differ in at most [`REPLAY_DISTANCE`] bits (measured: see the constant).

use image::imageops::{self, FilterType};
use image::{GrayImage, RgbImage};

/// A frame's perceptual hash: the horizontal dHash in the high 64 bits, the vertical one in the
/// low 64.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FrameHash(pub u128);

impl FrameHash {
    /// The hash of `image`.
    pub fn of(image: &RgbImage) -> Self {
        let luma: GrayImage = image::DynamicImage::ImageRgb8(image.clone()).into_luma8();
        let wide = imageops::resize(&luma, 9, 8, FilterType::Triangle);
        let tall = imageops::resize(&luma, 8, 9, FilterType::Triangle);
        let mut bits: u128 = 0;
        for y in 0..8 {
            for x in 0..8 {
                let brighter = wide.get_pixel(x, y).0[0] > wide.get_pixel(x + 1, y).0[0];
                bits = bits << 1 | u128::from(brighter);
            }
        }
        for y in 0..8 {
            for x in 0..8 {
                let brighter = tall.get_pixel(x, y).0[0] > tall.get_pixel(x, y + 1).0[0];
                bits = bits << 1 | u128::from(brighter);
            }
        }
        Self(bits)
    }

    /// Bits that differ.
    pub fn distance(self, other: Self) -> u32 {
        (self.0 ^ other.0).count_ones()
    }
}

/// The most bits two frames' hashes may differ in and still be one capture.
///
/// Measured on the test photos (`face_recognition`'s obama, obama2, obama3, biden and
/// scikit-image's astronaut, as head-turn frames): a copy re-encoded at JPEG quality 50 or 95
/// differs by 0–6 bits, cropped by 4–8 px by 0–11, brightened or darkened by 30 levels by 0–14
/// (clipping at white or black flips a few), rescaled to 90 % by 0; metadata and appended bytes
/// do not change the pixels (0). Different photos, of the same person or not, differ by 45–69
/// bits. 20 sits between, nearer the copies, so that a different capture is not taken for one.
pub const REPLAY_DISTANCE: u32 = 20;

/// Largest image a hash is computed from (it is shrunk first): the hash looks at 9 × 8 cells.
const MAX_PIXELS: u64 = 1 << 20;

/// The hashes of a frame set: each frame's, in order, and each frame's mirror image's (a
/// mirrored copy swaps left and right turns, so it can answer another challenge; it is looked
/// up, never stored).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FrameHashes {
    /// Each frame's hash, in order.
    pub frames: Vec<FrameHash>,
    /// Each frame's mirror image's hash, in order.
    pub mirrored: Vec<FrameHash>,
}

impl FrameHashes {
    /// Every hash to look up: the frames' and their mirror images'.
    pub fn lookup(&self) -> impl Iterator<Item = FrameHash> + '_ {
        self.frames.iter().chain(&self.mirrored).copied()
    }
}

/// The hashes of `frames` (JPEG or PNG bytes); `None` if one does not decode.
pub fn frame_hashes(frames: &[Vec<u8>]) -> Option<FrameHashes> {
    let mut out = FrameHashes::default();
    for (index, bytes) in frames.iter().enumerate() {
        let image =
            super::local::decode_image(bytes, super::ImageRole::Frame(index), MAX_PIXELS).ok()?;
        out.frames.push(FrameHash::of(&image));
        out.mirrored
            .push(FrameHash::of(&imageops::flip_horizontal(&image)));
    }
    Some(out)
}

/// Whether any frame of `a` is within [`REPLAY_DISTANCE`] of any frame of `b`.
pub fn any_near(a: &[FrameHash], b: &[FrameHash]) -> bool {
    a.iter()
        .any(|x| b.iter().any(|y| x.distance(*y) <= REPLAY_DISTANCE))
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Rgb;

    fn picture(shift: u32) -> RgbImage {
        RgbImage::from_fn(320, 240, |x, y| {
            let v = ((x + shift) * 7 + y * 3) % 251;
            let blob = if (x as i64 - 160).pow(2) + (y as i64 - 120).pow(2) < 3600 {
                80
            } else {
                0
            };
            Rgb([v as u8, (v / 2 + blob) as u8, (255 - v) as u8])
        })
    }

    #[test]
    fn brightness_and_crop_keep_the_hash_close_and_another_picture_does_not() {
        let a = picture(0);
        let h = FrameHash::of(&a);
        let mut brighter = a.clone();
        for p in brighter.pixels_mut() {
            for c in p.0.iter_mut() {
                *c = c.saturating_add(20);
            }
        }
        assert!(h.distance(FrameHash::of(&brighter)) <= REPLAY_DISTANCE);
        let cropped = imageops::crop_imm(&a, 3, 3, 314, 234).to_image();
        assert!(h.distance(FrameHash::of(&cropped)) <= REPLAY_DISTANCE);
        let other = RgbImage::from_fn(320, 240, |x, y| {
            Rgb([(y % 256) as u8, ((x * y) % 256) as u8, (x % 256) as u8])
        });
        assert!(h.distance(FrameHash::of(&other)) > REPLAY_DISTANCE);
        assert!(any_near(&[FrameHash(0), h], &[FrameHash::of(&cropped)]));
        assert!(!any_near(&[h], &[FrameHash::of(&other)]));
    }
}
