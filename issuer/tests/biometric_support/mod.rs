//! The biometric fixtures of `kyc-testkit::images` (test photos, a synthetic ID card, head-turn
//! frames) joined to the issuer's dlib face models, which say where the face on a photo is.
//! The end-to-end tests' `kyc-sample-images` (sample-images/) does the same for its captures.
// Each test binary uses its own part.
#![allow(dead_code, unused_imports, unreachable_pub, clippy::unwrap_used)]

use image::RgbImage;
use kyc_issuer::checks::biometric::local::{Face, FaceModels};
use kyc_issuer::checks::biometric::HeadTurn;
use kyc_testkit::images;

pub use kyc_testkit::images::{
    jpeg, load, no_face_image, png, resize_to_width, side_by_side, Turn,
};

/// The one face on `image` (the fixtures are built around it).
pub fn the_face(models: &FaceModels, image: &RgbImage) -> Face {
    let mut faces = models.faces(image);
    assert_eq!(faces.len(), 1, "fixture image should show one face");
    faces.remove(0)
}

/// [`images::id_card`] with the portrait cut around the one face on `photo`; `portrait = false`
/// leaves the photo out.
pub fn id_card(models: &FaceModels, photo: &RgbImage, portrait: bool) -> RgbImage {
    images::id_card(photo, portrait.then(|| the_face(models, photo).rect))
}

/// [`images::turned`] for `selfie`, whose face is `face`.
pub fn turned(selfie: &RgbImage, face: &Face, turn: Turn) -> RgbImage {
    images::turned(selfie, &face.points, turn)
}

/// Liveness frames answering `turns`, in order, from `selfie`: each pose `copies` times (as a
/// short video would show it), JPEG-encoded.
pub fn liveness_frames(
    models: &FaceModels,
    selfie: &RgbImage,
    turns: &[HeadTurn],
    copies: usize,
) -> Vec<Vec<u8>> {
    let face = the_face(models, selfie);
    turns
        .iter()
        .flat_map(|t| {
            let turn = match t {
                HeadTurn::Left => Turn::Left,
                HeadTurn::Centre => Turn::Centre,
                HeadTurn::Right => Turn::Right,
            };
            std::iter::repeat_n(jpeg(&turned(selfie, &face, turn)), copies)
        })
        .collect()
}
