//! The liveness step from the holder's side: one capture per head pose, and the frames that
//! answer the issuer's challenge (issuer/src/checks/biometric/mod.rs explains the check).
//!
//! The issuer hands out a challenge (`POST /v1/liveness-challenges`): a random sequence of
//! poses such as *left, centre, right*. A phone wallet would show the sequence and film the
//! person turning as asked; this command-line wallet takes *prepared captures* instead, one
//! image per pose in a directory:
//!
//! ```text
//! frames/left.jpg     the head turned to the person's left
//! frames/centre.jpg   facing the camera (center.jpg is accepted too)
//! frames/right.jpg    turned to the person's right
//! ```
//!
//! (`.jpg`, `.jpeg` or `.png`; the name's case does not matter). All three are read and checked
//! before anything is sent, whatever the challenge asks, so a missing or unusable capture is
//! reported without a round trip. The submission then carries one frame per turn, in the
//! challenge's order (a pose asked twice is sent twice), and the challenge's id.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::image::{read_image, ImageError, MAX_FRAMES};

/// A head pose the issuer may ask for (its `HeadTurn`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Pose {
    /// Turned to the person's left.
    Left,
    /// Facing the camera.
    #[serde(alias = "center")]
    Centre,
    /// Turned to the person's right.
    Right,
}

impl Pose {
    /// Every pose, in the order captures are looked for.
    pub const ALL: [Self; 3] = [Self::Left, Self::Centre, Self::Right];

    /// The name on the wire and of the capture file.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Left => "left",
            Self::Centre => "centre",
            Self::Right => "right",
        }
    }

    /// File stems a capture of this pose may have.
    fn stems(self) -> &'static [&'static str] {
        match self {
            Self::Left => &["left"],
            Self::Centre => &["centre", "center"],
            Self::Right => &["right"],
        }
    }
}

impl std::fmt::Display for Pose {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Extensions a capture may have.
const EXTENSIONS: [&str; 3] = ["jpg", "jpeg", "png"];

/// A challenge as the issuer hands it out (`LivenessChallenge` in the issuer's OpenAPI).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Challenge {
    /// Its id, named by the submission's `livenessChallenge`.
    pub id: String,
    /// The poses to show, in order.
    pub turns: Vec<Pose>,
    /// When it was issued.
    pub issued_at: chrono::DateTime<chrono::Utc>,
    /// After this the issuer refuses it.
    pub expires_at: chrono::DateTime<chrono::Utc>,
}

impl Challenge {
    /// What the person is asked to do: `turn your head: left, centre, right`.
    pub fn instruction(&self) -> String {
        let turns: Vec<&str> = self.turns.iter().map(|t| t.as_str()).collect();
        format!("turn your head: {}", turns.join(", "))
    }
}

/// One capture per pose, read and checked (JPEG or PNG within the schema's size), as the
/// schema's base64 `image`.
#[derive(Clone)]
pub struct Captures {
    dir: PathBuf,
    /// Indexed like [`Pose::ALL`].
    images: [String; 3],
}

impl std::fmt::Debug for Captures {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Captures")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

impl Captures {
    /// Read `dir`'s capture of every pose. A pose without a capture, a pose with two (say
    /// `left.jpg` and `left.png`), or an unusable image is an [`ImageError`].
    pub fn read(dir: &Path) -> Result<Self, ImageError> {
        let files = find(dir)?;
        let mut images: [String; 3] = Default::default();
        for (image, file) in images.iter_mut().zip(&files) {
            *image = read_image(file)?;
        }
        Ok(Self {
            dir: dir.to_path_buf(),
            images,
        })
    }

    /// The directory the captures came from.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The `livenessFrames` answering `turns`: one frame per turn, in order.
    pub fn frames_for(&self, turns: &[Pose]) -> Result<Vec<String>, ImageError> {
        if turns.is_empty() || turns.len() > MAX_FRAMES {
            return Err(ImageError::Frames {
                path: self.dir.clone(),
                reason: format!(
                    "the issuer's challenge asks for {} poses; 1 to {} can be sent",
                    turns.len(),
                    MAX_FRAMES
                ),
            });
        }
        Ok(turns
            .iter()
            .map(|turn| self.images[index(*turn)].clone())
            .collect())
    }
}

fn index(pose: Pose) -> usize {
    match pose {
        Pose::Left => 0,
        Pose::Centre => 1,
        Pose::Right => 2,
    }
}

/// The capture file of each pose in `dir`, indexed like [`Pose::ALL`].
pub fn find(dir: &Path) -> Result<[PathBuf; 3], ImageError> {
    let bad = |reason: String| ImageError::Frames {
        path: dir.to_path_buf(),
        reason,
    };
    let read = |source| ImageError::Read {
        path: dir.to_path_buf(),
        source,
    };
    let mut found: [Vec<PathBuf>; 3] = Default::default();
    for entry in std::fs::read_dir(dir).map_err(read)? {
        let entry = entry.map_err(read)?;
        let path = entry.path();
        let Some(pose) = pose_of(&path) else { continue };
        // Follows symbolic links: a link to an image is a capture.
        if path.is_file() {
            found[index(pose)].push(path);
        }
    }
    let mut out: [PathBuf; 3] = Default::default();
    for (pose, (files, slot)) in Pose::ALL.iter().zip(found.iter_mut().zip(&mut out)) {
        files.sort();
        match files.as_slice() {
            [one] => *slot = one.clone(),
            [] => {
                return Err(bad(format!(
                    "no capture of the pose '{pose}': expected {} (one image per pose: left, centre, right; .jpg, .jpeg or .png)",
                    names(*pose)
                )))
            }
            several => {
                let listed: Vec<String> = several
                    .iter()
                    .filter_map(|p| p.file_name())
                    .map(|n| n.to_string_lossy().into_owned())
                    .collect();
                return Err(bad(format!(
                    "several captures of the pose '{pose}' ({}): keep one",
                    listed.join(", ")
                )));
            }
        }
    }
    Ok(out)
}

/// The pose a file name stands for: `left.jpg`, `Centre.PNG`, `center.jpeg`, …
fn pose_of(path: &Path) -> Option<Pose> {
    let stem = path.file_stem()?.to_str()?.to_ascii_lowercase();
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    if !EXTENSIONS.contains(&ext.as_str()) {
        return None;
    }
    Pose::ALL
        .into_iter()
        .find(|p| p.stems().contains(&stem.as_str()))
}

/// `left.jpg, left.jpeg or left.png`.
fn names(pose: Pose) -> String {
    let stem = pose.stems()[0];
    let all: Vec<String> = EXTENSIONS.iter().map(|e| format!("{stem}.{e}")).collect();
    format!("{}, {} or {}", all[0], all[1], all[2])
}

#[cfg(test)]
mod tests {
    use super::*;

    const PNG: &[u8] = &[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 1];
    const JPEG: &[u8] = &[0xFF, 0xD8, 0xFF, 2];

    fn b64(bytes: &[u8]) -> String {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }

    #[test]
    fn frames_follow_the_challenge_order() {
        let tmp = tempfile::tempdir().unwrap();
        let (left, centre, right) = (b"L" as &[u8], b"C" as &[u8], b"R" as &[u8]);
        std::fs::write(tmp.path().join("left.png"), [PNG, left].concat()).unwrap();
        std::fs::write(tmp.path().join("Center.JPG"), [JPEG, centre].concat()).unwrap();
        std::fs::write(tmp.path().join("right.jpeg"), [JPEG, right].concat()).unwrap();
        // Not captures: other names, other extensions, a directory named like one.
        std::fs::write(tmp.path().join("notes.txt"), "x").unwrap();
        std::fs::write(tmp.path().join("left.gif"), "GIF89a").unwrap();
        std::fs::create_dir(tmp.path().join("up.png")).unwrap();
        let captures = Captures::read(tmp.path()).unwrap();
        let l = b64(&[PNG, left].concat());
        let c = b64(&[JPEG, centre].concat());
        let r = b64(&[JPEG, right].concat());
        use Pose::*;
        assert_eq!(
            captures.frames_for(&[Right, Centre, Left]).unwrap(),
            [r.as_str(), &c, &l]
        );
        assert_eq!(
            captures.frames_for(&[Left, Right, Left]).unwrap(),
            [l.as_str(), &r, &l]
        );
        assert!(matches!(
            captures.frames_for(&[]),
            Err(ImageError::Frames { .. })
        ));
        assert!(matches!(
            captures.frames_for(&[Left; 17]),
            Err(ImageError::Frames { .. })
        ));
    }

    #[test]
    fn a_missing_or_doubled_pose_is_named() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("left.jpg"), JPEG).unwrap();
        std::fs::write(tmp.path().join("right.jpg"), JPEG).unwrap();
        std::fs::write(tmp.path().join("1.jpg"), JPEG).unwrap();
        let err = Captures::read(tmp.path()).unwrap_err();
        assert!(matches!(err, ImageError::Frames { .. }), "{err}");
        let text = err.to_string();
        assert!(text.contains("no capture of the pose 'centre'"), "{text}");
        assert!(
            text.contains("centre.jpg, centre.jpeg or centre.png"),
            "{text}"
        );

        std::fs::write(tmp.path().join("centre.png"), PNG).unwrap();
        std::fs::write(tmp.path().join("center.jpg"), JPEG).unwrap();
        let text = Captures::read(tmp.path()).unwrap_err().to_string();
        assert!(
            text.contains("several captures of the pose 'centre' (center.jpg, centre.png)"),
            "{text}"
        );

        std::fs::remove_file(tmp.path().join("center.jpg")).unwrap();
        std::fs::write(tmp.path().join("right.jpg"), b"not an image").unwrap();
        assert!(matches!(
            Captures::read(tmp.path()),
            Err(ImageError::Unusable { .. })
        ));
        std::fs::write(tmp.path().join("right.jpg"), JPEG).unwrap();
        assert!(Captures::read(tmp.path()).is_ok());

        assert!(matches!(
            Captures::read(&tmp.path().join("absent")),
            Err(ImageError::Read { .. })
        ));
    }

    #[test]
    fn challenges_read_the_issuer_wire_form() {
        let c: Challenge = serde_json::from_str(
            r#"{"id":"5b1c6e0e-8f7a-4d1b-9a57-0b4f3f0a9c11","turns":["left","centre","right"],
                "issuedAt":"2026-11-26T12:00:00Z","expiresAt":"2026-11-26T12:05:00Z"}"#,
        )
        .unwrap();
        assert_eq!(c.turns, [Pose::Left, Pose::Centre, Pose::Right]);
        assert_eq!(c.instruction(), "turn your head: left, centre, right");
        let unknown = r#"{"id":"x","turns":["up"],"issuedAt":"2026-11-26T12:00:00Z","expiresAt":"2026-11-26T12:05:00Z"}"#;
        assert!(serde_json::from_str::<Challenge>(unknown).is_err());
    }
}
