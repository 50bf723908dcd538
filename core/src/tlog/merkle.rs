//! The RFC 6962 Merkle tree, as restated by RFC 9162 §2.1: hashes, roots, and inclusion and
//! consistency proofs, generated and verified.
//!
//! Everything here works on leaf hashes ([`leaf_hash`] of an entry's bytes), never on the entries
//! themselves. Sizes and indices are `u64`, as on the wire. Verification follows the RFC's
//! algorithms step by step (§2.1.3.2, §2.1.4.2); generation follows its recursive definitions
//! (§2.1.3.1, §2.1.4.1) over the stored leaf hashes, in O(n).

use sha2::{Digest, Sha256};

pub use super::hash::Hash;

/// The root of the empty tree, `MTH({}) = SHA-256()` (RFC 9162 §2.1.1).
pub const EMPTY_ROOT: Hash = Hash([
    0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
    0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
]);

/// A proof cannot be generated or does not verify.
///
/// The first group of variants says the request or the proof is malformed (impossible sizes, the
/// wrong number of hashes); the last two say the proof is well formed but does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProofError {
    /// Malformed: the leaf index is not below the tree size (RFC 9162 §2.1.3.2, step 1).
    #[error("leaf index {index} is not below tree size {size}")]
    IndexOutOfRange {
        /// The leaf index asked about.
        index: u64,
        /// The tree size it was asked about in.
        size: u64,
    },
    /// Malformed: the second tree is smaller than the first.
    #[error("tree size {second} is smaller than the earlier size {first}")]
    SizesOutOfOrder {
        /// The earlier tree size.
        first: u64,
        /// The later tree size.
        second: u64,
    },
    /// Malformed: a consistency proof from the empty tree to a non-empty one. RFC 9162 §2.1.4.1
    /// defines them only for `0 < first`; every tree extends the empty one, so there is nothing
    /// to prove, and a caller holding a size-0 tree head has nothing to check.
    #[error("no consistency proof exists from the empty tree")]
    FromEmptyTree,
    /// Malformed (generation only): the tree size is larger than the number of leaves held.
    #[error("tree size {size} exceeds the {leaves} leaves held")]
    SizeExceedsLeaves {
        /// The tree size asked for.
        size: u64,
        /// How many leaf hashes were supplied.
        leaves: u64,
    },
    /// Malformed: the proof has more hashes than the sizes call for (RFC 9162 §2.1.3.2 step 4a,
    /// §2.1.4.2 step 6a), or any hash where none is due (equal sizes).
    #[error("proof has too many hashes")]
    ProofTooLong,
    /// Malformed: the proof has fewer hashes than the sizes call for (RFC 9162 §2.1.3.2 step 5,
    /// §2.1.4.2 steps 1 and 7).
    #[error("proof has too few hashes")]
    ProofTooShort,
    /// Does not verify: the root computed from the proof is not the given root. For a
    /// consistency proof, it is the second (later) root that differs.
    #[error("computed root does not match the tree head")]
    RootMismatch,
    /// Does not verify: the earlier root computed from a consistency proof is not the given
    /// earlier root (RFC 9162 §2.1.4.2, step 7), or a size-0 root is not [`EMPTY_ROOT`].
    #[error("computed earlier root does not match the earlier tree head")]
    FirstRootMismatch,
}

/// `SHA-256(0x00 || data)`: the hash of one leaf (RFC 9162 §2.1.1, `MTH({d(0)})`).
pub fn leaf_hash(data: &[u8]) -> Hash {
    Hash(
        Sha256::new()
            .chain_update([0x00])
            .chain_update(data)
            .finalize()
            .into(),
    )
}

/// `SHA-256(0x01 || left || right)`: the hash of an interior node (RFC 9162 §2.1.1).
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    Hash(
        Sha256::new()
            .chain_update([0x01])
            .chain_update(left)
            .chain_update(right)
            .finalize()
            .into(),
    )
}

/// The Merkle Tree Hash of a list of leaf hashes, `MTH(D[n])` (RFC 9162 §2.1.1); O(n).
pub fn root(leaves: &[Hash]) -> Hash {
    match leaves {
        [] => EMPTY_ROOT,
        [leaf] => *leaf,
        _ => {
            let (left, right) = leaves.split_at(split_point(leaves.len()));
            node_hash(&root(left), &root(right))
        }
    }
}

/// The inclusion proof `PATH(index, D[size])` (RFC 9162 §2.1.3.1) over the first `size` of
/// `leaves`, ordered from the leaf's sibling up to the root's child.
pub fn inclusion_proof(leaves: &[Hash], index: u64, size: u64) -> Result<Vec<Hash>, ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let tree = prefix(leaves, size)?;
    let mut proof = Vec::new();
    // index < size <= tree.len(), so it fits a usize.
    path(index as usize, tree, &mut proof);
    Ok(proof)
}

/// Checks that `leaf` is the leaf hash at `index` in the tree of `size` leaves whose root is
/// `root`, following RFC 9162 §2.1.3.2 step by step.
pub fn verify_inclusion(
    leaf: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), ProofError> {
    // Step 1.
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    // Steps 2 and 3.
    let (mut fnode, mut snode) = (index, size - 1);
    let mut r = *leaf;
    // Step 4.
    for p in proof {
        // 4a.
        if snode == 0 {
            return Err(ProofError::ProofTooLong);
        }
        // 4b.
        if fnode & 1 == 1 || fnode == snode {
            r = node_hash(p, &r);
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        // 4c.
        fnode >>= 1;
        snode >>= 1;
    }
    // Step 5.
    if snode != 0 {
        return Err(ProofError::ProofTooShort);
    }
    if r != *root {
        return Err(ProofError::RootMismatch);
    }
    Ok(())
}

/// The consistency proof `PROOF(first, D[second])` (RFC 9162 §2.1.4.1) over the first `second`
/// of `leaves`. Empty when the sizes are equal.
pub fn consistency_proof(
    leaves: &[Hash],
    first: u64,
    second: u64,
) -> Result<Vec<Hash>, ProofError> {
    if first > second {
        return Err(ProofError::SizesOutOfOrder { first, second });
    }
    let tree = prefix(leaves, second)?;
    let mut proof = Vec::new();
    if first == second {
        return Ok(proof);
    }
    if first == 0 {
        return Err(ProofError::FromEmptyTree);
    }
    // first < second <= tree.len(), so it fits a usize.
    subproof(first as usize, tree, true, &mut proof);
    Ok(proof)
}

/// Checks that the tree of `second` leaves with root `second_root` extends the tree of `first`
/// leaves with root `first_root`, following RFC 9162 §2.1.4.2 step by step.
///
/// Equal sizes need an empty proof and equal roots. Size 0 has one root, [`EMPTY_ROOT`], and no
/// proof from it exists ([`ProofError::FromEmptyTree`]).
pub fn verify_consistency(
    first: u64,
    second: u64,
    proof: &[Hash],
    first_root: &Hash,
    second_root: &Hash,
) -> Result<(), ProofError> {
    if first > second {
        return Err(ProofError::SizesOutOfOrder { first, second });
    }
    if first == second {
        if !proof.is_empty() {
            return Err(ProofError::ProofTooLong);
        }
        if first == 0 && *first_root != EMPTY_ROOT {
            return Err(ProofError::FirstRootMismatch);
        }
        if first_root != second_root {
            return Err(ProofError::RootMismatch);
        }
        return Ok(());
    }
    if first == 0 {
        return Err(ProofError::FromEmptyTree);
    }
    // Step 1.
    if proof.is_empty() {
        return Err(ProofError::ProofTooShort);
    }
    // Step 2: a power-of-two first tree is a complete subtree, so the proof omits its root.
    let (seed, rest) = if first.is_power_of_two() {
        (first_root, proof)
    } else {
        (&proof[0], &proof[1..])
    };
    // Step 3.
    let (mut fnode, mut snode) = (first - 1, second - 1);
    // Step 4.
    while fnode & 1 == 1 {
        fnode >>= 1;
        snode >>= 1;
    }
    // Step 5.
    let (mut fr, mut sr) = (*seed, *seed);
    // Step 6.
    for c in rest {
        // 6a.
        if snode == 0 {
            return Err(ProofError::ProofTooLong);
        }
        // 6b.
        if fnode & 1 == 1 || fnode == snode {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        // 6c.
        fnode >>= 1;
        snode >>= 1;
    }
    // Step 7.
    if snode != 0 {
        return Err(ProofError::ProofTooShort);
    }
    if fr != *first_root {
        return Err(ProofError::FirstRootMismatch);
    }
    if sr != *second_root {
        return Err(ProofError::RootMismatch);
    }
    Ok(())
}

/// The right edge of a growing tree: the roots of its maximal complete subtrees, largest first.
///
/// This is all an append-only log needs to know its current root: appending is amortised O(1)
/// and at most O(log n), the root is O(log n), and it holds O(log n) hashes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    // One root per set bit of `size`, from the highest bit down.
    subtrees: Vec<Hash>,
}

impl Frontier {
    /// The frontier of the empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends one leaf hash.
    pub fn push(&mut self, leaf: Hash) {
        let mut node = leaf;
        // Each trailing one bit of the old size is a complete subtree of the new leaf's height
        // that now has a right sibling: merge them (RFC 9162 §2.1.1 splits at powers of two, so
        // complete subtrees are never split again).
        let mut size = self.size;
        while size & 1 == 1 {
            let Some(left) = self.subtrees.pop() else {
                break;
            };
            node = node_hash(&left, &node);
            size >>= 1;
        }
        self.subtrees.push(node);
        self.size += 1;
    }

    /// How many leaves have been appended.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The Merkle Tree Hash of the leaves appended so far (RFC 9162 §2.1.1).
    ///
    /// `MTH` splits at the largest power of two below n, which is the leftmost complete subtree,
    /// so the root folds the subtrees from the right: `H(s0, H(s1, … H(sk-1, sk)))`.
    pub fn root(&self) -> Hash {
        let mut subtrees = self.subtrees.iter().rev();
        match subtrees.next() {
            None => EMPTY_ROOT,
            Some(last) => subtrees.fold(*last, |right, left| node_hash(left, &right)),
        }
    }
}

/// An append-only Merkle tree held in memory: every leaf hash, plus the [`Frontier`] for its
/// current root.
///
/// Proofs and roots of earlier sizes are computed from the stored leaves in O(n).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tree {
    leaves: Vec<Hash>,
    frontier: Frontier,
}

impl Tree {
    /// The empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// A tree of these leaf hashes, in order.
    pub fn from_leaves(leaves: Vec<Hash>) -> Self {
        let mut frontier = Frontier::new();
        for leaf in &leaves {
            frontier.push(*leaf);
        }
        Self { leaves, frontier }
    }

    /// Appends one leaf hash and returns its index.
    pub fn push(&mut self, leaf: Hash) -> u64 {
        let index = self.frontier.size();
        self.leaves.push(leaf);
        self.frontier.push(leaf);
        index
    }

    /// How many leaves the tree holds.
    pub fn size(&self) -> u64 {
        self.frontier.size()
    }

    /// The leaf hashes, in order.
    pub fn leaves(&self) -> &[Hash] {
        &self.leaves
    }

    /// The current root, in O(log n).
    pub fn root(&self) -> Hash {
        self.frontier.root()
    }

    /// The root the tree had when it held `size` leaves.
    pub fn root_at(&self, size: u64) -> Result<Hash, ProofError> {
        Ok(root(prefix(&self.leaves, size)?))
    }

    /// See [`inclusion_proof`].
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>, ProofError> {
        inclusion_proof(&self.leaves, index, size)
    }

    /// See [`consistency_proof`].
    pub fn consistency_proof(&self, first: u64, second: u64) -> Result<Vec<Hash>, ProofError> {
        consistency_proof(&self.leaves, first, second)
    }
}

/// The first `size` leaves, or an error if there are not that many.
fn prefix(leaves: &[Hash], size: u64) -> Result<&[Hash], ProofError> {
    usize::try_from(size)
        .ok()
        .and_then(|n| leaves.get(..n))
        .ok_or(ProofError::SizeExceedsLeaves {
            size,
            leaves: leaves.len() as u64,
        })
}

/// The largest power of two smaller than `n`, for `n >= 2` (RFC 9162 §2.1.1's `k`).
fn split_point(n: usize) -> usize {
    1 << (usize::BITS - 1 - (n - 1).leading_zeros())
}

/// `PATH(m, D[n])`, RFC 9162 §2.1.3.1, appended to `out`.
fn path(m: usize, leaves: &[Hash], out: &mut Vec<Hash>) {
    if leaves.len() <= 1 {
        return;
    }
    let k = split_point(leaves.len());
    let (left, right) = leaves.split_at(k);
    if m < k {
        // PATH(m, D[0:k]) : MTH(D[k:n])
        path(m, left, out);
        out.push(root(right));
    } else {
        // PATH(m - k, D[k:n]) : MTH(D[0:k])
        path(m - k, right, out);
        out.push(root(left));
    }
}

/// `SUBPROOF(m, D[n], b)`, RFC 9162 §2.1.4.1, appended to `out`; requires `0 < m <= n`.
fn subproof(m: usize, leaves: &[Hash], whole: bool, out: &mut Vec<Hash>) {
    if m == leaves.len() {
        // SUBPROOF(m, D[m], true) = {}; SUBPROOF(m, D[m], false) = {MTH(D[m])}
        if !whole {
            out.push(root(leaves));
        }
        return;
    }
    let k = split_point(leaves.len());
    let (left, right) = leaves.split_at(k);
    if m <= k {
        // SUBPROOF(m, D[0:k], b) : MTH(D[k:n])
        subproof(m, left, whole, out);
        out.push(root(right));
    } else {
        // SUBPROOF(m - k, D[k:n], false) : MTH(D[0:k])
        subproof(m - k, right, false, out);
        out.push(root(left));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Hash {
        let bytes: Vec<u8> = (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect();
        bytes.as_slice().try_into().unwrap()
    }

    /// The leaves of the RFC 6962 reference tree (certificate-transparency and
    /// transparency-dev/merkle test data), in hex.
    const REFERENCE_LEAVES: [&str; 8] = [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ];

    /// Roots of the reference tree at sizes 0..=8, as in transparency-dev/merkle's `roots`
    /// test table; recomputed independently with Python's hashlib from the RFC 6962 §2.1
    /// definitions.
    const REFERENCE_ROOTS: [&str; 9] = [
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ];

    fn reference_leaves() -> Vec<Hash> {
        REFERENCE_LEAVES
            .iter()
            .map(|h| {
                let data: Vec<u8> = (0..h.len())
                    .step_by(2)
                    .map(|i| u8::from_str_radix(&h[i..i + 2], 16).unwrap())
                    .collect();
                leaf_hash(&data)
            })
            .collect()
    }

    /// `n` distinct leaf hashes.
    fn leaves(n: u64) -> Vec<Hash> {
        (0..n).map(|i| leaf_hash(&i.to_be_bytes())).collect()
    }

    #[test]
    fn empty_root_is_sha256_of_nothing() {
        assert_eq!(EMPTY_ROOT, Hash(Sha256::digest(b"").into()));
        assert_eq!(root(&[]), EMPTY_ROOT);
    }

    #[test]
    fn reference_tree_roots() {
        let leaves = reference_leaves();
        let mut tree = Tree::new();
        assert_eq!(tree.root(), hex(REFERENCE_ROOTS[0]));
        for (n, want) in REFERENCE_ROOTS.iter().enumerate() {
            let want = hex(want);
            assert_eq!(root(&leaves[..n]), want, "MTH at size {n}");
            if n > 0 {
                assert_eq!(tree.push(leaves[n - 1]), n as u64 - 1);
            }
            assert_eq!(tree.root(), want, "frontier root at size {n}");
        }
        for (n, want) in REFERENCE_ROOTS.iter().enumerate() {
            assert_eq!(tree.root_at(n as u64).unwrap(), hex(want));
        }
    }

    #[test]
    fn frontier_matches_recursive_root() {
        let all = leaves(300);
        let mut frontier = Frontier::new();
        for n in 0..=all.len() {
            assert_eq!(frontier.size(), n as u64);
            assert_eq!(frontier.root(), root(&all[..n]), "size {n}");
            assert_eq!(frontier.subtrees.len(), (n as u64).count_ones() as usize);
            if let Some(leaf) = all.get(n) {
                frontier.push(*leaf);
            }
        }
        assert_eq!(Tree::from_leaves(all.clone()).root(), root(&all));
    }

    #[test]
    fn inclusion_round_trip_and_tampering() {
        let all = leaves(33);
        for size in 1..=all.len() as u64 {
            let r = root(&all[..size as usize]);
            for index in 0..size {
                let leaf = all[index as usize];
                let proof = inclusion_proof(&all, index, size).unwrap();
                assert_eq!(verify_inclusion(&leaf, index, size, &proof, &r), Ok(()));

                let mut longer = proof.clone();
                longer.push(leaf);
                assert_eq!(
                    verify_inclusion(&leaf, index, size, &longer, &r),
                    Err(ProofError::ProofTooLong)
                );
                if let Some((_, shorter)) = proof.split_last() {
                    assert_eq!(
                        verify_inclusion(&leaf, index, size, shorter, &r),
                        Err(ProofError::ProofTooShort)
                    );
                    let mut flipped = proof.clone();
                    flipped[0].0[0] ^= 1;
                    assert_eq!(
                        verify_inclusion(&leaf, index, size, &flipped, &r),
                        Err(ProofError::RootMismatch)
                    );
                }
                let other = leaf_hash(b"not in the tree");
                assert_eq!(
                    verify_inclusion(&other, index, size, &proof, &r),
                    Err(ProofError::RootMismatch)
                );
            }
        }
    }

    #[test]
    fn inclusion_rejects_impossible_requests() {
        let all = leaves(4);
        let r = root(&all);
        assert_eq!(
            verify_inclusion(&all[0], 4, 4, &[], &r),
            Err(ProofError::IndexOutOfRange { index: 4, size: 4 })
        );
        assert_eq!(
            verify_inclusion(&all[0], 0, 0, &[], &EMPTY_ROOT),
            Err(ProofError::IndexOutOfRange { index: 0, size: 0 })
        );
        assert_eq!(
            inclusion_proof(&all, 0, 5),
            Err(ProofError::SizeExceedsLeaves { size: 5, leaves: 4 })
        );
        assert_eq!(
            inclusion_proof(&all, 2, 2),
            Err(ProofError::IndexOutOfRange { index: 2, size: 2 })
        );
        // A one-leaf tree: the root is the leaf hash and the proof is empty.
        assert_eq!(inclusion_proof(&all, 0, 1), Ok(vec![]));
        assert_eq!(verify_inclusion(&all[0], 0, 1, &[], &all[0]), Ok(()));
    }

    #[test]
    fn consistency_round_trip_and_tampering() {
        let all = leaves(33);
        let tree = Tree::from_leaves(all.clone());
        for second in 1..=all.len() as u64 {
            let r2 = tree.root_at(second).unwrap();
            for first in 1..=second {
                let r1 = tree.root_at(first).unwrap();
                let proof = tree.consistency_proof(first, second).unwrap();
                assert_eq!(verify_consistency(first, second, &proof, &r1, &r2), Ok(()));
                if first == second {
                    assert!(proof.is_empty());
                    continue;
                }
                let mut longer = proof.clone();
                longer.push(r1);
                assert_eq!(
                    verify_consistency(first, second, &longer, &r1, &r2),
                    Err(ProofError::ProofTooLong)
                );
                assert_eq!(
                    verify_consistency(first, second, &proof[..proof.len() - 1], &r1, &r2),
                    Err(ProofError::ProofTooShort)
                );
                let wrong = leaf_hash(b"wrong root");
                let err = verify_consistency(first, second, &proof, &wrong, &r2);
                assert!(
                    matches!(
                        err,
                        Err(ProofError::FirstRootMismatch | ProofError::RootMismatch)
                    ),
                    "{first}->{second}: {err:?}"
                );
                assert_eq!(
                    verify_consistency(first, second, &proof, &r1, &wrong),
                    Err(ProofError::RootMismatch)
                );
                for i in 0..proof.len() {
                    let mut flipped = proof.clone();
                    flipped[i].0[0] ^= 1;
                    assert!(verify_consistency(first, second, &flipped, &r1, &r2).is_err());
                }
            }
        }
    }

    #[test]
    fn consistency_edge_cases() {
        let all = leaves(5);
        let (r1, r5) = (root(&all[..1]), root(&all));
        assert_eq!(consistency_proof(&all, 0, 0), Ok(vec![]));
        assert_eq!(
            consistency_proof(&all, 0, 3),
            Err(ProofError::FromEmptyTree)
        );
        assert_eq!(
            consistency_proof(&all, 3, 2),
            Err(ProofError::SizesOutOfOrder {
                first: 3,
                second: 2
            })
        );
        assert_eq!(
            consistency_proof(&all, 3, 6),
            Err(ProofError::SizeExceedsLeaves { size: 6, leaves: 5 })
        );
        assert_eq!(
            verify_consistency(0, 0, &[], &EMPTY_ROOT, &EMPTY_ROOT),
            Ok(())
        );
        assert_eq!(
            verify_consistency(0, 0, &[], &r1, &r1),
            Err(ProofError::FirstRootMismatch)
        );
        assert_eq!(
            verify_consistency(0, 0, &[EMPTY_ROOT], &EMPTY_ROOT, &EMPTY_ROOT),
            Err(ProofError::ProofTooLong)
        );
        assert_eq!(
            verify_consistency(0, 5, &[], &EMPTY_ROOT, &r5),
            Err(ProofError::FromEmptyTree)
        );
        assert_eq!(verify_consistency(1, 1, &[], &r1, &r1), Ok(()));
        assert_eq!(
            verify_consistency(1, 1, &[], &r1, &r5),
            Err(ProofError::RootMismatch)
        );
        assert_eq!(
            verify_consistency(2, 1, &[], &r1, &r1),
            Err(ProofError::SizesOutOfOrder {
                first: 2,
                second: 1
            })
        );
        assert_eq!(
            verify_consistency(1, 5, &[], &r1, &r5),
            Err(ProofError::ProofTooShort)
        );
    }
}
