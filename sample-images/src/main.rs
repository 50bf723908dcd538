//! `kyc-sample-images --out DIR [--person obama|biden|astronaut]`: what a customer's phone would
//! capture for an application with biometrics, made from the project's test photos.
//!
//! Writes into DIR:
//! - `selfie.jpg`: a photo of the person, at most ~1 MP;
//! - `document.png`: a synthetic ID card whose portrait is cut from *another* photo of the same
//!   person where the test set has one (for obama: obama2.jpg), else from the same photo;
//! - `frames/left.jpg`, `frames/centre.jpg`, `frames/right.jpg`: the selfie with the head turned,
//!   for `kyc-wallet apply --frames DIR/frames`.
//!
//! The images are built by the shared test fixtures (`kyc_testkit::images`, as the issuer's
//! biometric tests build theirs): `id_card` for the card and `turned` for the head turns (a warp
//! of the nose region that moves the yaw the issuer measures from dlib's landmarks), around the
//! face the issuer's dlib models find. The photos and models come from
//! `scripts/setup-biometrics.sh` (`KYC_TEST_IMAGES_DIR`, `KYC_MODELS_DIR` override where).
//!
//! The card prints an ICAO specimen's MRZ; the issuer's document check reads the MRZ the
//! submission carries as text (`kyc-wallet apply --mrz FILE`), not the card's picture, and
//! the face match compares the card's portrait with the selfie, never with a name.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _};
use clap::{Parser, ValueEnum};
use image::RgbImage;
use kyc_issuer::checks::biometric::local::{Face, FaceModels};
use kyc_issuer::checks::biometric::{default_models_dir, Detector};
use kyc_testkit::images::{id_card, images_dir, jpeg, load, png, resize_to_pixels, turned, Turn};

/// A selfie larger than this is scaled down to it: what a phone's front camera sends.
const SELFIE_PIXELS: u64 = 1_000_000;

#[derive(Parser)]
#[command(
    name = "kyc-sample-images",
    about = "Write a sample selfie, ID card and liveness frames from the test photos",
    after_help = "\
Example:
  kyc-sample-images --out sample/
  kyc-wallet apply ... --selfie sample/selfie.jpg --document-image sample/document.png \\
      --frames sample/frames --mrz mrz.txt

Photos from $KYC_TEST_IMAGES_DIR (default ~/.cache/kyc-credentials/test-images), models from
$KYC_MODELS_DIR (default ~/.cache/kyc-credentials/models): scripts/setup-biometrics.sh puts them
there."
)]
struct Cli {
    /// The directory to write into (created if needed; existing sample files are replaced).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Whose photos.
    #[arg(long, value_enum, default_value = "obama")]
    person: Person,
}

/// The people in the test photos.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Person {
    /// face_recognition's obama.jpg, portrait from obama2.jpg.
    Obama,
    /// face_recognition's biden.jpg (the only photo of him: the portrait comes from it too).
    Biden,
    /// scikit-image's astronaut.png (Eileen Collins; one photo).
    Astronaut,
}

impl Person {
    /// The selfie's photo and the card portrait's.
    fn photos(self) -> (&'static str, &'static str) {
        match self {
            Self::Obama => ("obama.jpg", "obama2.jpg"),
            Self::Biden => ("biden.jpg", "biden.jpg"),
            Self::Astronaut => ("astronaut.png", "astronaut.png"),
        }
    }
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let (selfie_photo, portrait_photo) = cli.person.photos();
    let photos = images_dir();
    for name in [selfie_photo, portrait_photo] {
        let path = photos.join(name);
        if !path.is_file() {
            bail!(
                "test photo {} missing: run scripts/setup-biometrics.sh (or set KYC_TEST_IMAGES_DIR)",
                path.display()
            );
        }
    }
    let models = FaceModels::open(&default_models_dir(), Detector::Hog)
        .context("loading the face models")?;

    let mut selfie = load(selfie_photo);
    if u64::from(selfie.width()) * u64::from(selfie.height()) > SELFIE_PIXELS {
        selfie = resize_to_pixels(&selfie, SELFIE_PIXELS);
    }
    let face = one_face(&models, &selfie, selfie_photo)?;
    let portrait = load(portrait_photo);
    // id_card cuts the portrait around the photo's one face.
    let portrait_face = one_face(&models, &portrait, portrait_photo)?;
    let card = id_card(&portrait, Some(portrait_face.rect));

    let frames_dir = cli.out.join("frames");
    std::fs::create_dir_all(&frames_dir)
        .with_context(|| format!("creating {}", frames_dir.display()))?;
    let mut written = vec![
        write(&cli.out.join("selfie.jpg"), &jpeg(&selfie))?,
        write(&cli.out.join("document.png"), &png(&card))?,
    ];
    for (turn, name) in [
        (Turn::Left, "left.jpg"),
        (Turn::Centre, "centre.jpg"),
        (Turn::Right, "right.jpg"),
    ] {
        let frame = turned(&selfie, &face.points, turn);
        written.push(write(&frames_dir.join(name), &jpeg(&frame))?);
    }
    println!(
        "sample captures of {:?} ({}x{} selfie from {selfie_photo}; card portrait from {portrait_photo}):",
        cli.person,
        selfie.width(),
        selfie.height()
    );
    for line in written {
        println!("  {line}");
    }
    Ok(())
}

/// The one face on `image`, or an error naming the photo.
fn one_face(models: &FaceModels, image: &RgbImage, name: &str) -> anyhow::Result<Face> {
    let mut faces = models.faces(image);
    match faces.len() {
        1 => Ok(faces.remove(0)),
        n => bail!("{name}: {n} faces found where one was expected"),
    }
}

/// Write `bytes` to `path`; the line to print about it.
fn write(path: &Path, bytes: &[u8]) -> anyhow::Result<String> {
    std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))?;
    Ok(format!("{} ({} bytes)", path.display(), bytes.len()))
}
