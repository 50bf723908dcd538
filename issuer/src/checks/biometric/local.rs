//! The local provider: dlib's face detector, 5-point landmarks and ResNet face embedding
//! (through `dlib-face-recognition`), on this machine, offline.
//!
//! dlib's detectors are `Send` but not `Sync`, so each worker owns a full set of models
//! ([`FaceModels`]) and a call checks one set out of a pool for its whole duration; at most
//! `workers` calls run at once, the others wait. Calls block: run them off the async runtime.

use std::io::Cursor;
use std::os::raw::c_long;
use std::path::Path;
use std::sync::{Condvar, Mutex, MutexGuard};

use dlib_face_recognition::{
    FaceDetector, FaceDetectorCnn, FaceDetectorTrait as _, FaceEncoderNetwork,
    FaceEncoderTrait as _, FaceLandmarks, ImageMatrix, LandmarkPredictor,
    LandmarkPredictorTrait as _, Rectangle,
};
use image::RgbImage;

use super::config::{BiometricConfig, Detector};
use super::liveness::{follows, pose, yaw};
use super::provider::{
    Assessment, BiometricError, BiometricProvider, BiometricRequest, FaceMatch, ImageRole,
    Liveness, Score,
};

/// dlib's 5-point landmark model (`shape_predictor_5_face_landmarks.dat`).
pub const LANDMARKS_MODEL: &str = "shape_predictor_5_face_landmarks.dat";
/// dlib's ResNet face embedding (`dlib_face_recognition_resnet_model_v1.dat`).
pub const EMBEDDING_MODEL: &str = "dlib_face_recognition_resnet_model_v1.dat";
/// dlib's MMOD CNN face detector (`mmod_human_face_detector.dat`), for [`Detector::Cnn`].
pub const CNN_DETECTOR_MODEL: &str = "mmod_human_face_detector.dat";

/// Largest image decoded, per side, and the most memory a decode may take.
const MAX_SIDE: u32 = 8192;
const MAX_DECODE_BYTES: u64 = 512 << 20;
/// Images are upscaled 2× (at most twice) while no face is found, up to this many pixels: the
/// HOG detector's window is 80 × 80 and it misses faces smaller than about 70 px, as on a
/// document's portrait.
const MAX_UPSCALED_PIXELS: usize = 4_000_000;
const MAX_UPSCALES: u32 = 2;

/// A 128-dimensional face embedding (dlib's ResNet, unit scale: the same person is usually
/// within 0.6 in Euclidean distance). Its `Debug` shows no values.
#[derive(Clone, PartialEq)]
pub struct FaceEmbedding(Vec<f64>);

impl FaceEmbedding {
    /// Euclidean distance to `other`.
    pub fn distance(&self, other: &FaceEmbedding) -> f64 {
        self.0
            .iter()
            .zip(&other.0)
            .map(|(a, b)| (a - b) * (a - b))
            .sum::<f64>()
            .sqrt()
    }
}

impl std::fmt::Debug for FaceEmbedding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "FaceEmbedding({} dimensions)", self.0.len())
    }
}

/// One face found on an image: where, its five landmarks and its embedding.
#[derive(Debug, Clone)]
pub struct Face {
    /// Bounding box (left, top, right, bottom) in the pixels of the analysed image (after
    /// any upscaling).
    pub rect: (c_long, c_long, c_long, c_long),
    /// dlib's five landmarks: two corners of each eye, then the base of the nose.
    pub points: [(f64, f64); 5],
    /// The face's embedding.
    pub embedding: FaceEmbedding,
}

impl Face {
    /// Head yaw ([`super::liveness::yaw`]).
    pub fn yaw(&self) -> f64 {
        yaw(&self.points)
    }
}

/// One worker's dlib models. Not `Sync`: one thread uses it at a time.
pub struct FaceModels {
    hog: FaceDetector,
    cnn: Option<FaceDetectorCnn>,
    landmarks: LandmarkPredictor,
    encoder: FaceEncoderNetwork,
}

impl std::fmt::Debug for FaceModels {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FaceModels")
            .field("cnn", &self.cnn.is_some())
            .finish_non_exhaustive()
    }
}

impl Clone for FaceModels {
    fn clone(&self) -> Self {
        Self {
            hog: FaceDetector::new(),
            cnn: self.cnn.clone(),
            landmarks: self.landmarks.clone(),
            encoder: self.encoder.clone(),
        }
    }
}

fn model_path(dir: &Path, name: &str) -> Result<String, BiometricError> {
    let path = dir.join(name);
    if !path.is_file() {
        return Err(BiometricError::ModelMissing { path });
    }
    // The crate passes the path to C++ as UTF-8 and panics on anything else.
    path.to_str()
        .map(str::to_owned)
        .ok_or(BiometricError::ModelUnreadable { path: path.clone() })
}

impl FaceModels {
    /// Load the models from `dir` for `detector`. Fails naming the first missing or unreadable
    /// file.
    pub fn open(dir: &Path, detector: Detector) -> Result<Self, BiometricError> {
        let unreadable = |name: &str| BiometricError::ModelUnreadable {
            path: dir.join(name),
        };
        let landmarks = LandmarkPredictor::open(model_path(dir, LANDMARKS_MODEL)?)
            .map_err(|_| unreadable(LANDMARKS_MODEL))?;
        let encoder = FaceEncoderNetwork::open(model_path(dir, EMBEDDING_MODEL)?)
            .map_err(|_| unreadable(EMBEDDING_MODEL))?;
        let cnn = match detector {
            Detector::Hog => None,
            Detector::Cnn => Some(
                FaceDetectorCnn::open(model_path(dir, CNN_DETECTOR_MODEL)?)
                    .map_err(|_| unreadable(CNN_DETECTOR_MODEL))?,
            ),
        };
        Ok(Self {
            hog: FaceDetector::new(),
            cnn,
            landmarks,
            encoder,
        })
    }

    /// Step 1: face boxes on `image`.
    pub fn detect(&self, image: &ImageMatrix) -> Vec<Rectangle> {
        match &self.cnn {
            Some(cnn) => cnn.face_locations(image).to_vec(),
            None => self.hog.face_locations(image).to_vec(),
        }
    }

    /// Step 2: the five landmarks of the face in `face`.
    pub fn landmarks(&self, image: &ImageMatrix, face: &Rectangle) -> FaceLandmarks {
        self.landmarks.face_landmarks(image, face)
    }

    /// Step 3: the embedding of the face with `landmarks`: dlib aligns it to a 150 × 150 chip
    /// (padding 0.25) from the landmarks, then runs the ResNet. `None` if dlib returns none.
    pub fn embed(&self, image: &ImageMatrix, landmarks: &FaceLandmarks) -> Option<FaceEmbedding> {
        let encodings = self
            .encoder
            .get_face_encodings(image, std::slice::from_ref(landmarks), 0);
        encodings
            .first()
            .map(|e| FaceEmbedding(e.as_ref().to_vec()))
    }

    /// Every face on `image`: detection (upscaling 2× at most twice while none is found),
    /// landmarks, embedding.
    pub fn faces(&self, image: &RgbImage) -> Vec<Face> {
        let mut matrix = ImageMatrix::from_image(image);
        let (mut width, mut height) = (image.width() as usize, image.height() as usize);
        let mut rects = self.detect(&matrix);
        let mut upscales = 0;
        while rects.is_empty()
            && upscales < MAX_UPSCALES
            && width * height * 4 <= MAX_UPSCALED_PIXELS
        {
            width *= 2;
            height *= 2;
            matrix = matrix.resize(width, height);
            rects = self.detect(&matrix);
            upscales += 1;
        }
        rects
            .iter()
            .filter_map(|rect| {
                let landmarks = self.landmarks(&matrix, rect);
                let points: [(f64, f64); 5] = landmarks
                    .iter()
                    .map(|p| (p.x() as f64, p.y() as f64))
                    .collect::<Vec<_>>()
                    .try_into()
                    .ok()?;
                let embedding = self.embed(&matrix, &landmarks)?;
                Some(Face {
                    rect: (rect.left, rect.top, rect.right, rect.bottom),
                    points,
                    embedding,
                })
            })
            .collect()
    }
}

/// Decode an uploaded image (JPEG or PNG, by content) to RGB, refusing anything larger than
/// 8192 px a side, then shrink it to at most `max_pixels` (aspect kept): detection time grows
/// with the pixel count, and a face in a selfie is large.
pub fn decode_image(
    bytes: &[u8],
    role: ImageRole,
    max_pixels: u64,
) -> Result<RgbImage, BiometricError> {
    let unreadable = || BiometricError::ImageUnreadable(role);
    let mut reader = image::io::Reader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|_| unreadable())?;
    let mut limits = image::io::Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_DECODE_BYTES);
    reader.limits(limits);
    let image = reader.decode().map_err(|_| unreadable())?.into_rgb8();
    let pixels = u64::from(image.width()) * u64::from(image.height());
    if pixels <= max_pixels || pixels == 0 {
        return Ok(image);
    }
    let scale = (max_pixels as f64 / pixels as f64).sqrt();
    let w = ((f64::from(image.width()) * scale) as u32).max(1);
    let h = ((f64::from(image.height()) * scale) as u32).max(1);
    Ok(image::imageops::thumbnail(&image, w, h))
}

/// Thresholds and limits of the local provider, from [`BiometricConfig`].
#[derive(Debug, Clone, Copy)]
struct Settings {
    match_threshold: f64,
    consider_threshold: f64,
    yaw_threshold: f64,
    max_pixels: u64,
}

/// The local provider: a pool of [`FaceModels`], one per worker.
pub struct LocalBiometrics {
    pool: Mutex<Vec<FaceModels>>,
    returned: Condvar,
    workers: usize,
    settings: Settings,
}

impl std::fmt::Debug for LocalBiometrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalBiometrics")
            .field("workers", &self.workers)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// A set of models checked out of the pool; goes back on drop (a panic included).
struct Lease<'a> {
    owner: &'a LocalBiometrics,
    models: Option<FaceModels>,
}

impl std::ops::Deref for Lease<'_> {
    type Target = FaceModels;
    fn deref(&self) -> &FaceModels {
        // Always Some until drop.
        self.models.as_ref().unwrap_or_else(|| unreachable!())
    }
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        if let Some(models) = self.models.take() {
            self.owner.lock().push(models);
            self.owner.returned.notify_one();
        }
    }
}

impl LocalBiometrics {
    /// Load `config.workers` sets of models from `config.models_dir` (the first from disk, the
    /// others copied from it). Fails naming the missing or unreadable file.
    pub fn open(config: &BiometricConfig) -> Result<Self, BiometricError> {
        config.validate()?;
        let first = FaceModels::open(&config.models_dir, config.detector)?;
        let workers = config.workers();
        let mut pool = Vec::with_capacity(workers);
        for _ in 1..workers {
            pool.push(first.clone());
        }
        pool.push(first);
        Ok(Self {
            pool: Mutex::new(pool),
            returned: Condvar::new(),
            workers,
            settings: Settings {
                match_threshold: config.match_threshold,
                consider_threshold: config.consider_threshold,
                yaw_threshold: config.liveness.yaw_threshold,
                max_pixels: config.max_image_pixels,
            },
        })
    }

    /// How many calls can run at once.
    pub fn workers(&self) -> usize {
        self.workers
    }

    fn lock(&self) -> MutexGuard<'_, Vec<FaceModels>> {
        // The pool is a plain stack: a panic elsewhere leaves it consistent.
        self.pool.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn lease(&self) -> Lease<'_> {
        let mut pool = self.lock();
        loop {
            if let Some(models) = pool.pop() {
                return Lease {
                    owner: self,
                    models: Some(models),
                };
            }
            pool = self.returned.wait(pool).unwrap_or_else(|e| e.into_inner());
        }
    }

    /// The one face on an image, or why there is not exactly one.
    fn one_face(
        &self,
        models: &FaceModels,
        bytes: &[u8],
        role: ImageRole,
    ) -> Result<Result<Face, FaceCount>, BiometricError> {
        let image = decode_image(bytes, role, self.settings.max_pixels)?;
        let mut faces = models.faces(&image);
        Ok(match faces.len() {
            0 => Err(FaceCount::None),
            1 => Ok(faces.remove(0)),
            _ => Err(FaceCount::Several),
        })
    }

    fn verdict(&self, distance: f64) -> FaceMatch {
        let score = Score::Distance(distance);
        if distance <= self.settings.consider_threshold {
            FaceMatch::Match(score)
        } else if distance <= self.settings.match_threshold {
            FaceMatch::Uncertain(score)
        } else {
            FaceMatch::NoMatch(score)
        }
    }

    /// Compare the face on `document` with the face on `selfie`.
    pub fn face_match(&self, document: &[u8], selfie: &[u8]) -> Result<FaceMatch, BiometricError> {
        let models = self.lease();
        let selfie = match self.one_face(&models, selfie, ImageRole::Selfie)? {
            Ok(face) => face,
            Err(count) => return Ok(count.face_match(ImageRole::Selfie)),
        };
        self.match_document(&models, document, &selfie)
    }

    fn match_document(
        &self,
        models: &FaceModels,
        document: &[u8],
        selfie: &Face,
    ) -> Result<FaceMatch, BiometricError> {
        Ok(
            match self.one_face(models, document, ImageRole::Document)? {
                Ok(face) => self.verdict(face.embedding.distance(&selfie.embedding)),
                Err(count) => count.face_match(ImageRole::Document),
            },
        )
    }

    fn liveness(
        &self,
        models: &FaceModels,
        selfie: &Face,
        turns: &[crate::model::HeadTurn],
        frames: &[Vec<u8>],
    ) -> Result<Liveness, BiometricError> {
        let mut poses = Vec::with_capacity(frames.len());
        for (index, frame) in frames.iter().enumerate() {
            let face = match self.one_face(models, frame, ImageRole::Frame(index))? {
                Ok(face) => face,
                Err(FaceCount::None) => return Ok(Liveness::NoFace { frame: index }),
                Err(FaceCount::Several) => return Ok(Liveness::SeveralFaces { frame: index }),
            };
            if face.embedding.distance(&selfie.embedding) > self.settings.match_threshold {
                return Ok(Liveness::FaceMismatch { frame: index });
            }
            poses.push(pose(face.yaw(), self.settings.yaw_threshold));
        }
        Ok(if follows(turns, &poses) {
            Liveness::Passed
        } else {
            Liveness::WrongOrder
        })
    }
}

#[derive(Debug, Clone, Copy)]
enum FaceCount {
    None,
    Several,
}

impl FaceCount {
    fn face_match(self, role: ImageRole) -> FaceMatch {
        match self {
            FaceCount::None => FaceMatch::NoFace(role),
            FaceCount::Several => FaceMatch::SeveralFaces(role),
        }
    }
}

impl BiometricProvider for LocalBiometrics {
    fn assess(&self, request: &BiometricRequest<'_>) -> Result<Assessment, BiometricError> {
        let models = self.lease();
        let selfie = match self.one_face(&models, request.selfie, ImageRole::Selfie)? {
            Ok(face) => face,
            Err(count) => {
                return Ok(Assessment {
                    face: count.face_match(ImageRole::Selfie),
                    liveness: None,
                })
            }
        };
        let face = self.match_document(&models, request.document, &selfie)?;
        let liveness = match &request.liveness {
            Some(l) => Some(self.liveness(&models, &selfie, &l.challenge.turns, l.frames)?),
            None => None,
        };
        Ok(Assessment { face, liveness })
    }
}
