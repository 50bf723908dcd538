//! Active liveness: the challenge (a random sequence of head turns), the registry that hands
//! challenges out and refuses their reuse, the yaw estimate from dlib's five landmarks, and the
//! rule that the observed head poses follow the challenge in order.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};
use rand::rngs::OsRng;
use rand::Rng as _;
use sha2::{Digest as _, Sha256};
use uuid::Uuid;

pub use crate::model::{HeadTurn, LivenessChallenge};

/// A random challenge of `turns` poses (at least 2) from the OS CSPRNG: no pose twice in a row
/// (a repeat could not be told apart in the frames), and both a left and a right turn, so the
/// head has to move both ways.
pub fn random_turns(turns: usize) -> Vec<HeadTurn> {
    const POSES: [HeadTurn; 3] = [HeadTurn::Left, HeadTurn::Centre, HeadTurn::Right];
    let turns = turns.max(2);
    loop {
        let mut out: Vec<HeadTurn> = Vec::with_capacity(turns);
        while out.len() < turns {
            let pose = POSES[OsRng.gen_range(0..POSES.len())];
            if out.last() != Some(&pose) {
                out.push(pose);
            }
        }
        if out.contains(&HeadTurn::Left) && out.contains(&HeadTurn::Right) {
            return out;
        }
    }
}

/// Why a challenge cannot be consumed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ChallengeError {
    /// No such challenge was issued here (or it was forgotten after expiring).
    #[error("unknown liveness challenge")]
    Unknown,
    /// The challenge is past its expiry.
    #[error("liveness challenge expired")]
    Expired,
    /// The challenge was already answered, or this very frame set was already submitted.
    #[error("liveness challenge or frames already used")]
    Replayed,
    /// This holder has as many challenges outstanding as one holder may; answer one or let
    /// it expire.
    #[error("too many outstanding liveness challenges for this holder")]
    HolderFull,
    /// Too many challenges are outstanding; try again later.
    #[error("too many outstanding liveness challenges")]
    Full,
}

/// SHA-256 over the frames, each prefixed by its length as 8 bytes big-endian, so that no
/// two different frame sets share an encoding.
pub fn frames_digest(frames: &[Vec<u8>]) -> [u8; 32] {
    let mut hash = Sha256::new();
    for frame in frames {
        hash.update((frame.len() as u64).to_be_bytes());
        hash.update(frame);
    }
    hash.finalize().into()
}

#[derive(Debug)]
struct Issued {
    challenge: LivenessChallenge,
    /// The holder (did:key) it was issued to: only a submission for that holder answers it.
    holder: String,
    used: bool,
}

#[derive(Debug, Default)]
struct Registry {
    challenges: HashMap<Uuid, Issued>,
    /// The challenges issued to each holder that may still be outstanding.
    by_holder: HashMap<String, Vec<Uuid>>,
    /// Frame-set digests already accepted, with when each may be forgotten, oldest first.
    seen: HashMap<[u8; 32], DateTime<Utc>>,
    seen_order: VecDeque<([u8; 32], DateTime<Utc>)>,
}

/// The outstanding liveness challenges, in memory: bounded, with a time to live.
///
/// A challenge is issued to a holder (who proved its key with a holder token) and answers only
/// a submission for that holder; a holder may have `per_holder` outstanding (unanswered,
/// unexpired) at once, so that one caller cannot fill the registry for everyone (`capacity`
/// bounds the memory of all of them together). A challenge is consumed once; a frame set (by digest) is accepted once, whatever challenge it
/// claims to answer, for as long as digests are remembered (`frames_ttl`, at most `capacity` of
/// them; the oldest go first). The state is per process: a restart forgets it, which costs
/// nothing but the challenges outstanding (they become unknown), and several issuer nodes need
/// a shared store for it.
#[derive(Debug)]
pub struct ChallengeRegistry {
    turns: usize,
    ttl: Duration,
    frames_ttl: Duration,
    capacity: usize,
    per_holder: usize,
    state: Mutex<Registry>,
}

impl ChallengeRegistry {
    /// A registry handing out challenges of `turns` poses that live `ttl`, holding at most
    /// `capacity` challenges (`per_holder` for one holder) and as many frame digests, each
    /// digest kept `frames_ttl`.
    pub fn new(
        turns: usize,
        ttl: Duration,
        frames_ttl: Duration,
        capacity: usize,
        per_holder: usize,
    ) -> Self {
        Self {
            turns,
            ttl,
            frames_ttl,
            capacity: capacity.max(1),
            per_holder: per_holder.max(1),
            state: Mutex::new(Registry::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Registry> {
        // A panic while holding the lock leaves the maps consistent (every update is a single
        // insert or remove), so a poisoned lock is still usable.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Issue a fresh challenge to `holder` (a did:key the caller proved it holds) at `now`.
    pub fn issue(
        &self,
        holder: &str,
        now: DateTime<Utc>,
    ) -> Result<LivenessChallenge, ChallengeError> {
        let mut guard = self.lock();
        let state = &mut *guard;
        let challenges = &state.challenges;
        let outstanding = |id: &Uuid| {
            challenges
                .get(id)
                .is_some_and(|c| !c.used && c.challenge.expires_at > now)
        };
        if let Some(ids) = state.by_holder.get_mut(holder) {
            ids.retain(outstanding);
            if ids.len() >= self.per_holder {
                return Err(ChallengeError::HolderFull);
            }
        }
        if state.challenges.len() >= self.capacity {
            state.challenges.retain(|_, c| c.challenge.expires_at > now);
            let challenges = &state.challenges;
            state.by_holder.retain(|_, ids| {
                ids.retain(|id| challenges.contains_key(id));
                !ids.is_empty()
            });
            if state.challenges.len() >= self.capacity {
                return Err(ChallengeError::Full);
            }
        }
        let challenge = LivenessChallenge {
            id: Uuid::new_v4(),
            turns: random_turns(self.turns),
            issued_at: now,
            expires_at: now + self.ttl,
        };
        state.challenges.insert(
            challenge.id,
            Issued {
                challenge: challenge.clone(),
                holder: holder.to_owned(),
                used: false,
            },
        );
        state
            .by_holder
            .entry(holder.to_owned())
            .or_default()
            .push(challenge.id);
        Ok(challenge)
    }

    /// Mark challenge `id` answered for `holder` by the frames with digest `frames`
    /// ([`frames_digest`]) at `now`, and return it. Refuses an unknown or expired challenge, one
    /// issued to another holder (as unknown), one already answered, and a frame set already
    /// seen (a replay, even under another challenge).
    pub fn consume(
        &self,
        id: Uuid,
        holder: &str,
        frames: [u8; 32],
        now: DateTime<Utc>,
    ) -> Result<LivenessChallenge, ChallengeError> {
        let mut state = self.lock();
        while let Some((digest, until)) = state.seen_order.front().copied() {
            if until > now && state.seen_order.len() <= self.capacity {
                break;
            }
            state.seen_order.pop_front();
            if state.seen.get(&digest) == Some(&until) {
                state.seen.remove(&digest);
            }
        }
        if state.seen.contains_key(&frames) {
            return Err(ChallengeError::Replayed);
        }
        let issued = state
            .challenges
            .get_mut(&id)
            .filter(|issued| issued.holder == holder)
            .ok_or(ChallengeError::Unknown)?;
        if issued.used {
            return Err(ChallengeError::Replayed);
        }
        if issued.challenge.expires_at <= now {
            state.challenges.remove(&id);
            return Err(ChallengeError::Expired);
        }
        issued.used = true;
        let challenge = issued.challenge.clone();
        let until = now + self.frames_ttl;
        state.seen.insert(frames, until);
        state.seen_order.push_back((frames, until));
        Ok(challenge)
    }

    /// Undo [`consume`](Self::consume) of challenge `id` with frame digest `frames`, when no
    /// verdict could be reached (the provider failed): the same answer may then be submitted
    /// again without counting as a replay.
    pub fn release(&self, id: Uuid, frames: [u8; 32]) {
        let mut state = self.lock();
        if let Some(issued) = state.challenges.get_mut(&id) {
            issued.used = false;
        }
        state.seen.remove(&frames);
    }

    /// The challenge `id` if it is outstanding (issued, unused, unexpired) at `now`.
    pub fn get(&self, id: Uuid, now: DateTime<Utc>) -> Option<LivenessChallenge> {
        let state = self.lock();
        state
            .challenges
            .get(&id)
            .filter(|c| !c.used && c.challenge.expires_at > now)
            .map(|c| c.challenge.clone())
    }
}

/// Head yaw from dlib's five landmarks (`shape_predictor_5_face_landmarks`: two corners of each
/// eye, points 0–3, and the base of the nose, point 4): the nose projected on the line through
/// the eye centres, as a signed offset from the centres' midpoint, in eye distances. Positive
/// when the nose is towards the right of the image, i.e. a turn to the person's left in an
/// unmirrored photo. Roll does not change it (the projection follows the eye line). About 0
/// facing the camera; around ±0.2–0.3 for a clear turn.
pub fn yaw(points: &[(f64, f64); 5]) -> f64 {
    let a = midpoint(points[0], points[1]);
    let b = midpoint(points[2], points[3]);
    // Order the eyes left to right in the image, so the sign does not depend on point order.
    let (left, right) = if a.0 <= b.0 { (a, b) } else { (b, a) };
    let axis = (right.0 - left.0, right.1 - left.1);
    let length2 = axis.0 * axis.0 + axis.1 * axis.1;
    if length2 <= f64::EPSILON {
        return 0.0;
    }
    let centre = midpoint(left, right);
    let nose = (points[4].0 - centre.0, points[4].1 - centre.1);
    (nose.0 * axis.0 + nose.1 * axis.1) / length2
}

fn midpoint(a: (f64, f64), b: (f64, f64)) -> (f64, f64) {
    ((a.0 + b.0) / 2.0, (a.1 + b.1) / 2.0)
}

/// The pose a yaw shows: a turn at or past `threshold`, centre within half of it, and nothing
/// (`None`) in between, where the head is on its way.
pub fn pose(yaw: f64, threshold: f64) -> Option<HeadTurn> {
    if yaw >= threshold {
        Some(HeadTurn::Left)
    } else if yaw <= -threshold {
        Some(HeadTurn::Right)
    } else if yaw.abs() < threshold / 2.0 {
        Some(HeadTurn::Centre)
    } else {
        None
    }
}

/// Whether the frames' poses, in frame order, show `turns` in order: runs of one pose count
/// once, a frame between poses (`None`) is skipped, and a centre pose that was not asked for
/// is allowed between turns (the head passes through it); any other pose out of turn fails.
pub fn follows(turns: &[HeadTurn], observed: &[Option<HeadTurn>]) -> bool {
    let mut next = 0;
    let mut last: Option<HeadTurn> = None;
    for pose in observed.iter().flatten().copied() {
        if last == Some(pose) {
            continue;
        }
        last = Some(pose);
        if turns.get(next) == Some(&pose) {
            next += 1;
        } else if pose != HeadTurn::Centre {
            return false;
        }
    }
    next == turns.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use HeadTurn::{Centre as C, Left as L, Right as R};

    #[test]
    fn random_turns_have_no_repeats_and_both_directions() {
        for n in [2, 3, 5] {
            for _ in 0..200 {
                let t = random_turns(n);
                assert_eq!(t.len(), n);
                assert!(t.windows(2).all(|w| w[0] != w[1]));
                assert!(t.contains(&L) && t.contains(&R));
            }
        }
    }

    #[test]
    fn sequence_rule() {
        let s = |v: &[HeadTurn]| v.iter().map(|p| Some(*p)).collect::<Vec<_>>();
        assert!(follows(&[L, C, R], &s(&[L, L, C, R, R])));
        assert!(follows(
            &[L, C, R],
            &[Some(C), Some(L), None, Some(C), Some(R)]
        ));
        assert!(follows(&[L, R], &s(&[C, L, C, R, C])));
        assert!(!follows(&[L, C, R], &s(&[R, C, L])));
        assert!(!follows(&[L, C, R], &s(&[L, R])));
        assert!(!follows(&[L, C, R], &s(&[L, C])));
        // Showing every order at once is not an answer.
        assert!(!follows(&[L, R], &s(&[L, R, L, R])));
        assert!(!follows(&[L, R], &[]));
    }

    #[test]
    fn yaw_sign_and_roll() {
        // Eyes at y = 0, x = ±10; nose below the centre.
        let frontal = [
            (-12.0, 0.0),
            (-8.0, 0.0),
            (8.0, 0.0),
            (12.0, 0.0),
            (0.0, 10.0),
        ];
        assert!(yaw(&frontal).abs() < 1e-9);
        let mut turned = frontal;
        turned[4].0 = 5.0;
        assert!((yaw(&turned) - 0.25).abs() < 1e-9);
        assert_eq!(pose(yaw(&turned), 0.15), Some(L));
        // Same face rolled by 90°: (x, y) -> (-y, x). The eye order flips, the sign does not.
        let rolled = turned.map(|(x, y)| (-y, x));
        assert!((yaw(&rolled).abs() - 0.25).abs() < 1e-9);
        assert_eq!(pose(-0.2, 0.15), Some(R));
        assert_eq!(pose(0.1, 0.15), None);
        assert_eq!(pose(0.05, 0.15), Some(C));
    }

    const HOLDER: &str = "did:key:z6MkholderA";

    #[test]
    fn registry_refuses_reuse_replay_unknown_expired_and_overflow() {
        let now = Utc::now();
        let reg = ChallengeRegistry::new(3, Duration::seconds(60), Duration::hours(1), 2, 5);
        let a = reg.issue(HOLDER, now).unwrap();
        let b = reg.issue(HOLDER, now).unwrap();
        assert_eq!(reg.issue(HOLDER, now), Err(ChallengeError::Full));
        let frames = frames_digest(&[vec![1, 2], vec![3]]);
        assert_eq!(reg.consume(a.id, HOLDER, frames, now), Ok(a.clone()));
        assert_eq!(
            reg.consume(a.id, HOLDER, frames, now),
            Err(ChallengeError::Replayed)
        );
        assert_eq!(
            reg.consume(a.id, HOLDER, frames_digest(&[vec![9]]), now),
            Err(ChallengeError::Replayed)
        );
        // The same frames under another challenge.
        assert_eq!(
            reg.consume(b.id, HOLDER, frames, now),
            Err(ChallengeError::Replayed)
        );
        assert_eq!(
            reg.consume(Uuid::new_v4(), HOLDER, frames_digest(&[]), now),
            Err(ChallengeError::Unknown)
        );
        let later = now + Duration::seconds(61);
        assert_eq!(
            reg.consume(b.id, HOLDER, frames_digest(&[vec![7]]), later),
            Err(ChallengeError::Expired)
        );
        // Expired ones make room.
        assert!(reg.issue(HOLDER, later).is_ok());
        // Length prefixes keep [ab] apart from [a, b].
        assert_ne!(
            frames_digest(&[vec![1, 2]]),
            frames_digest(&[vec![1], vec![2]])
        );
    }

    #[test]
    fn a_challenge_is_its_holders_and_a_holder_has_few() {
        let now = Utc::now();
        let other = "did:key:z6MkholderB";
        let reg = ChallengeRegistry::new(3, Duration::seconds(60), Duration::hours(1), 100, 2);
        let a = reg.issue(HOLDER, now).unwrap();
        reg.issue(HOLDER, now).unwrap();
        assert_eq!(reg.issue(HOLDER, now), Err(ChallengeError::HolderFull));
        // Another holder is not affected.
        let b = reg.issue(other, now).unwrap();
        // Answered for another holder: unknown to it, and still open for its own.
        let frames = frames_digest(&[vec![4]]);
        assert_eq!(
            reg.consume(a.id, other, frames, now),
            Err(ChallengeError::Unknown)
        );
        assert_eq!(reg.consume(a.id, HOLDER, frames, now), Ok(a));
        // An answered challenge no longer counts: the holder may ask again.
        reg.issue(HOLDER, now).unwrap();
        assert_eq!(reg.issue(HOLDER, now), Err(ChallengeError::HolderFull));
        // Expired ones neither.
        let later = now + Duration::seconds(61);
        reg.issue(HOLDER, later).unwrap();
        assert!(reg.get(b.id, now).is_some());
    }

    #[test]
    fn a_released_challenge_can_be_answered_again_once() {
        let now = Utc::now();
        let reg = ChallengeRegistry::new(3, Duration::seconds(60), Duration::hours(1), 10, 3);
        let a = reg.issue(HOLDER, now).unwrap();
        let frames = frames_digest(&[vec![1]]);
        reg.consume(a.id, HOLDER, frames, now).unwrap();
        reg.release(a.id, frames);
        assert_eq!(reg.get(a.id, now), Some(a.clone()));
        assert_eq!(reg.consume(a.id, HOLDER, frames, now), Ok(a.clone()));
        assert_eq!(
            reg.consume(a.id, HOLDER, frames, now),
            Err(ChallengeError::Replayed)
        );
    }
}
