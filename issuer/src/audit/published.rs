//! What the writer publishes to readers once a batch is durable: the tree of durable entries,
//! the latest checkpoint, and the counters.

use std::sync::atomic::AtomicU64;
use std::sync::{PoisonError, RwLock};

use kyc_core::tlog::{Hash, Tree};

/// What the writer publishes to readers once a batch is durable.
pub(crate) struct Shared {
    pub(super) published: RwLock<Published>,
    pub(super) stats: Counters,
}

pub(super) struct Published {
    /// Leaf hashes of the durable entries.
    pub(super) tree: Tree,
    pub(super) latest_checkpoint: Option<String>,
}

#[derive(Default)]
pub(super) struct Counters {
    pub(super) entries: AtomicU64,
    pub(super) commits: AtomicU64,
    pub(super) checkpoints: AtomicU64,
}

impl Shared {
    pub(crate) fn publish(&self, leaves: Vec<Hash>, checkpoint: Option<String>) {
        let mut published = self.write();
        for leaf in leaves {
            published.tree.push(leaf);
        }
        if checkpoint.is_some() {
            published.latest_checkpoint = checkpoint;
        }
    }

    // The lock guards data that is only ever appended to, so a panic while holding it cannot
    // leave it inconsistent: poisoning is ignored.
    pub(super) fn read(&self) -> std::sync::RwLockReadGuard<'_, Published> {
        self.published
            .read()
            .unwrap_or_else(PoisonError::into_inner)
    }

    pub(super) fn write(&self) -> std::sync::RwLockWriteGuard<'_, Published> {
        self.published
            .write()
            .unwrap_or_else(PoisonError::into_inner)
    }
}
