//! Images for the biometric check: the test photos fetched by `scripts/setup-biometrics.sh`, a
//! synthetic ID card built from a photo, and liveness frames made from a selfie by a geometric
//! warp that simulates a head turn.
//!
//! The photos come from registry packages (never committed): `face_recognition` 1.3.0's
//! `tests/test_images/` (obama.jpg, obama2.jpg, obama3.jpg, biden.jpg) and scikit-image 0.22.0's
//! `skimage/data/astronaut.png` (public domain).
//!
//! Where a face is on a photo is the caller's to say (a box for [`id_card`], five landmarks for
//! [`turned`]): finding it takes the issuer's dlib face models, and this crate does not link
//! them.

use std::io::Cursor;
use std::path::PathBuf;

use image::{imageops, DynamicImage, Rgb, RgbImage};

/// Where the test images are: `$KYC_TEST_IMAGES_DIR`, else
/// `$HOME/.cache/kyc-credentials/test-images`.
pub fn images_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("KYC_TEST_IMAGES_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    PathBuf::from(std::env::var_os("HOME").unwrap_or_else(|| ".".into()))
        .join(".cache/kyc-credentials/test-images")
}

/// A test image, decoded.
pub fn load(name: &str) -> RgbImage {
    let path = images_dir().join(name);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "test image {} unreadable ({e}): run scripts/setup-biometrics.sh",
            path.display()
        )
    });
    image::load_from_memory(&bytes)
        .unwrap_or_else(|e| panic!("test image {} does not decode: {e}", path.display()))
        .into_rgb8()
}

/// JPEG bytes (quality 90).
pub fn jpeg(image: &RgbImage) -> Vec<u8> {
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90)
        .encode_image(image)
        .expect("encoding an in-memory image as JPEG");
    out
}

/// PNG bytes.
pub fn png(image: &RgbImage) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    image
        .write_to(&mut out, image::ImageOutputFormat::Png)
        .expect("encoding an in-memory image as PNG");
    out.into_inner()
}

/// `image` resized to `width` (aspect kept).
pub fn resize_to_width(image: &RgbImage, width: u32) -> RgbImage {
    let height = (u64::from(image.height()) * u64::from(width) / u64::from(image.width())) as u32;
    imageops::resize(image, width, height, imageops::FilterType::Triangle)
}

/// `image` scaled to about `pixels` pixels (aspect kept), e.g. a 1 MP selfie.
pub fn resize_to_pixels(image: &RgbImage, pixels: u64) -> RgbImage {
    let scale = (pixels as f64 / (f64::from(image.width()) * f64::from(image.height()))).sqrt();
    let w = (f64::from(image.width()) * scale).round() as u32;
    let h = (f64::from(image.height()) * scale).round() as u32;
    imageops::resize(image, w, h, imageops::FilterType::Triangle)
}

/// Two images side by side on a grey canvas (the second scaled to the first's height).
pub fn side_by_side(a: &RgbImage, b: &RgbImage) -> RgbImage {
    let b_w = (u64::from(b.width()) * u64::from(a.height()) / u64::from(b.height())) as u32;
    let b = imageops::resize(b, b_w, a.height(), imageops::FilterType::Triangle);
    let mut out = RgbImage::from_pixel(a.width() + b.width(), a.height(), Rgb([128, 128, 128]));
    imageops::replace(&mut out, a, 0, 0);
    imageops::replace(&mut out, &b, i64::from(a.width()), 0);
    out
}

/// A picture with no face: a smooth colour gradient with a few bars.
pub fn no_face_image(width: u32, height: u32) -> RgbImage {
    RgbImage::from_fn(width, height, |x, y| {
        let bar = if (x / 40) % 5 == 0 { 60 } else { 0 };
        Rgb([
            (x * 255 / width) as u8,
            (y * 255 / height) as u8,
            (128 + bar) as u8,
        ])
    })
}

/// Card size (px) and where the portrait goes.
pub const CARD: (u32, u32) = (600, 380);
const PORTRAIT: (u32, u32) = (96, 128);
const PORTRAIT_AT: (i64, i64) = (30, 60);

/// A TD1 machine readable zone (ICAO 9303 Part 5), a specimen's.
pub const SPECIMEN_MRZ: [&str; 3] = [
    "I<UTOD231458907<<<<<<<<<<<<<<<",
    "7408122F1204159UTO<<<<<<<<<<<6",
    "ERIKSSON<<ANNA<MARIA<<<<<<<<<<",
];

/// A synthetic ID card (TD1 size ratio): light canvas, a header band, the portrait cut from
/// `photo` around its face (head and shoulders, 3:4), greyscaled and downscaled to 96 × 128 px
/// (the face ends up ~45 px wide, under what dlib's HOG detector finds without upscaling),
/// and the MRZ rendered in a 5 × 7 bitmap font. `face` is the face's box on `photo` (left, top,
/// right, bottom: what the issuer's face models report); `None` leaves the photo out.
pub fn id_card(photo: &RgbImage, face: Option<(i64, i64, i64, i64)>) -> RgbImage {
    let (w, h) = CARD;
    let mut card = RgbImage::from_pixel(w, h, Rgb([232, 236, 240]));
    for y in 0..36 {
        for x in 0..w {
            card.put_pixel(x, y, Rgb([40, 70, 120]));
        }
    }
    for (i, line) in ["IDENTITY CARD", "UTOPIA"].iter().enumerate() {
        draw_text(
            &mut card,
            line,
            170,
            60 + 26 * i as u32,
            2,
            Rgb([30, 30, 30]),
        );
    }
    if let Some((l, t, r, b)) = face {
        let face_w = (r - l) as f64;
        let crop_w = (face_w * 2.2).min(f64::from(photo.width()));
        let crop_h = (crop_w * 4.0 / 3.0).min(f64::from(photo.height()));
        let cx = (l + r) as f64 / 2.0;
        let cy = (t + b) as f64 / 2.0 + 0.1 * crop_h;
        let x0 = (cx - crop_w / 2.0).clamp(0.0, f64::from(photo.width()) - crop_w) as u32;
        let y0 = (cy - crop_h / 2.0).clamp(0.0, f64::from(photo.height()) - crop_h) as u32;
        let crop = imageops::crop_imm(photo, x0, y0, crop_w as u32, crop_h as u32).to_image();
        let grey = DynamicImage::ImageRgb8(crop).grayscale().into_rgb8();
        let small = imageops::resize(
            &grey,
            PORTRAIT.0,
            PORTRAIT.1,
            imageops::FilterType::Triangle,
        );
        imageops::replace(&mut card, &small, PORTRAIT_AT.0, PORTRAIT_AT.1);
    }
    for (i, line) in SPECIMEN_MRZ.iter().enumerate() {
        draw_text(&mut card, line, 30, 272 + 30 * i as u32, 3, Rgb([0, 0, 0]));
    }
    card
}

/// Draw `text` at (x, y), each font pixel `scale` × `scale`.
fn draw_text(image: &mut RgbImage, text: &str, x: u32, y: u32, scale: u32, colour: Rgb<u8>) {
    for (i, c) in text.chars().enumerate() {
        let Some(columns) = glyph(c) else { continue };
        let gx = x + i as u32 * 6 * scale;
        for (cx, column) in columns.iter().enumerate() {
            for row in 0..7u32 {
                if column >> row & 1 == 1 {
                    for dy in 0..scale {
                        for dx in 0..scale {
                            let px = gx + cx as u32 * scale + dx;
                            let py = y + row * scale + dy;
                            if px < image.width() && py < image.height() {
                                image.put_pixel(px, py, colour);
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The classic 5 × 7 LCD font: five columns, bit 0 the top row. Digits, A–Z and `<`.
fn glyph(c: char) -> Option<[u8; 5]> {
    const DIGITS: [[u8; 5]; 10] = [
        [0x3E, 0x51, 0x49, 0x45, 0x3E],
        [0x00, 0x42, 0x7F, 0x40, 0x00],
        [0x42, 0x61, 0x51, 0x49, 0x46],
        [0x21, 0x41, 0x45, 0x4B, 0x31],
        [0x18, 0x14, 0x12, 0x7F, 0x10],
        [0x27, 0x45, 0x45, 0x45, 0x39],
        [0x3C, 0x4A, 0x49, 0x49, 0x30],
        [0x01, 0x71, 0x09, 0x05, 0x03],
        [0x36, 0x49, 0x49, 0x49, 0x36],
        [0x06, 0x49, 0x49, 0x29, 0x1E],
    ];
    const LETTERS: [[u8; 5]; 26] = [
        [0x7E, 0x11, 0x11, 0x11, 0x7E],
        [0x7F, 0x49, 0x49, 0x49, 0x36],
        [0x3E, 0x41, 0x41, 0x41, 0x22],
        [0x7F, 0x41, 0x41, 0x22, 0x1C],
        [0x7F, 0x49, 0x49, 0x49, 0x41],
        [0x7F, 0x09, 0x09, 0x09, 0x01],
        [0x3E, 0x41, 0x49, 0x49, 0x7A],
        [0x7F, 0x08, 0x08, 0x08, 0x7F],
        [0x00, 0x41, 0x7F, 0x41, 0x00],
        [0x20, 0x40, 0x41, 0x3F, 0x01],
        [0x7F, 0x08, 0x14, 0x22, 0x41],
        [0x7F, 0x40, 0x40, 0x40, 0x40],
        [0x7F, 0x02, 0x0C, 0x02, 0x7F],
        [0x7F, 0x04, 0x08, 0x10, 0x7F],
        [0x3E, 0x41, 0x41, 0x41, 0x3E],
        [0x7F, 0x09, 0x09, 0x09, 0x06],
        [0x3E, 0x41, 0x51, 0x21, 0x5E],
        [0x7F, 0x09, 0x19, 0x29, 0x46],
        [0x46, 0x49, 0x49, 0x49, 0x31],
        [0x01, 0x01, 0x7F, 0x01, 0x01],
        [0x3F, 0x40, 0x40, 0x40, 0x3F],
        [0x1F, 0x20, 0x40, 0x20, 0x1F],
        [0x3F, 0x40, 0x38, 0x40, 0x3F],
        [0x63, 0x14, 0x08, 0x14, 0x63],
        [0x07, 0x08, 0x70, 0x08, 0x07],
        [0x61, 0x51, 0x49, 0x45, 0x43],
    ];
    match c {
        '0'..='9' => Some(DIGITS[c as usize - '0' as usize]),
        'A'..='Z' => Some(LETTERS[c as usize - 'A' as usize]),
        '<' => Some([0x08, 0x14, 0x22, 0x41, 0x00]),
        _ => None,
    }
}

/// The head poses a frame can simulate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Turn {
    /// The person's left: the nose moves to the image's right.
    Left,
    /// Facing the camera (the selfie, re-encoded).
    Centre,
    /// The person's right: the nose moves to the image's left.
    Right,
}

/// A liveness frame from `selfie` showing `turn`, where `points` are dlib's five landmarks of
/// its face (two corners of each eye, then the base of the nose).
///
/// The warp: turning the head by φ moves a point at depth z (towards the camera) sideways by
/// z·sin φ relative to the face plane. Only the nose stands out much, so the depth is modelled
/// as a Gaussian bump on the nose (σ = 0.45 eye distances, peak shift 0.3 eye distances): the
/// nose region slides sideways while the eyes, ~2σ away, stay nearly put. That is what
/// the issuer's liveness check (`checks::biometric::liveness::yaw`) measures, so a `Left` frame must give a
/// clearly positive yaw and a `Right` one a clearly negative yaw. Pixels are resampled
/// bilinearly (the inverse map x − dx(x, y), valid for a smooth displacement this small).
pub fn turned(selfie: &RgbImage, points: &[(f64, f64); 5], turn: Turn) -> RgbImage {
    let sign = match turn {
        Turn::Left => 1.0,
        Turn::Right => -1.0,
        Turn::Centre => return selfie.clone(),
    };
    let p = points;
    let eye_a = ((p[0].0 + p[1].0) / 2.0, (p[0].1 + p[1].1) / 2.0);
    let eye_b = ((p[2].0 + p[3].0) / 2.0, (p[2].1 + p[3].1) / 2.0);
    let eye_distance = ((eye_a.0 - eye_b.0).powi(2) + (eye_a.1 - eye_b.1).powi(2)).sqrt();
    // Centre of the bump: between the eye line and the base of the nose, nearer the nose.
    let centre = (p[4].0, p[4].1 - 0.25 * (p[4].1 - (eye_a.1 + eye_b.1) / 2.0));
    let sigma = 0.45 * eye_distance;
    let shift = sign * 0.3 * eye_distance;
    RgbImage::from_fn(selfie.width(), selfie.height(), |x, y| {
        let (fx, fy) = (f64::from(x), f64::from(y));
        let r2 = (fx - centre.0).powi(2) + (fy - centre.1).powi(2);
        let dx = shift * (-r2 / (2.0 * sigma * sigma)).exp();
        sample(selfie, fx - dx, fy)
    })
}

fn sample(image: &RgbImage, x: f64, y: f64) -> Rgb<u8> {
    let max_x = f64::from(image.width() - 1);
    let max_y = f64::from(image.height() - 1);
    let (x, y) = (x.clamp(0.0, max_x), y.clamp(0.0, max_y));
    let (x0, y0) = (x.floor(), y.floor());
    let (tx, ty) = (x - x0, y - y0);
    let (x0, y0) = (x0 as u32, y0 as u32);
    let (x1, y1) = (
        (x0 + 1).min(image.width() - 1),
        (y0 + 1).min(image.height() - 1),
    );
    let px = |x, y| image.get_pixel(x, y).0.map(f64::from);
    let (a, b, c, d) = (px(x0, y0), px(x1, y0), px(x0, y1), px(x1, y1));
    Rgb(std::array::from_fn(|i| {
        let top = a[i] * (1.0 - tx) + b[i] * tx;
        let bottom = c[i] * (1.0 - tx) + d[i] * tx;
        (top * (1.0 - ty) + bottom * ty).round().clamp(0.0, 255.0) as u8
    }))
}
