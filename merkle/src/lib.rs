//! # plasma-merkle
//!
//! The Merkle tree that commits a child-chain block to L1: a keccak-256 tree of fixed depth
//! [`DEPTH`] = 16 (at most [`MAX_LEAVES`] = 65,536 transactions a block), byte-identical to the
//! verifier in the root contract. This crate owns the tree and nothing else: it imports no other
//! project crate.
//!
//! ## Hashing
//! Leaves and inner nodes are domain-separated so that a node can never pose as a leaf (the
//! "64-byte leaf" trap of unsalted trees):
//!
//! * `leaf = keccak256(0x00 ‖ data)` — `data` is the transaction's canonical bytes;
//! * `node = keccak256(0x01 ‖ left ‖ right)`;
//! * an empty slot is [`ZERO_HASHES`]`[0] = keccak256(0x00)`, the leaf hash of the empty byte
//!   string, and `ZERO_HASHES[i + 1] = node(ZERO_HASHES[i], ZERO_HASHES[i])`.
//!
//! A [`Proof`] is the 16 sibling hashes from the leaf level up; the leaf's index is part of what
//! is proven (the bit of the current index picks left or right at every level).
//!
//! ## Example
//! ```
//! use plasma_merkle::{MerkleTree, verify};
//!
//! let leaves: [&[u8]; 2] = [&[0xde, 0xad, 0xbe, 0xef], &[0x01]];
//! let tree = MerkleTree::from_leaves(leaves)?;
//! assert_eq!(
//!     tree.root().to_string(),
//!     "0x64518025992a96f6e978a6b817578fbe03ea698dd8b6aa83f03b6f3dca3248ac"
//! );
//! let proof = tree.proof(1)?;
//! assert!(verify(tree.root(), &[0x01], 1, &proof));
//! assert!(!verify(tree.root(), &[0x01], 0, &proof));
//! # Ok::<(), plasma_merkle::MerkleError>(())
//! ```
//!
//! Building a tree keeps every level, so [`MerkleTree::proofs`] serves all proofs of a full block
//! by copying siblings, without hashing anything again. With the default `parallel` feature,
//! leaves and wide levels are hashed on all cores.

use alloy_primitives::{B256, Keccak256, b256, keccak256};

pub mod keccak;

use keccak::{Messages, Prefixed, keccak256_each};

/// Depth of the tree: the number of siblings in a proof.
pub const DEPTH: usize = 16;

/// The most leaves (transactions) a tree can hold: `2^DEPTH`.
pub const MAX_LEAVES: usize = 1 << DEPTH;

/// Length in bytes of an encoded proof: [`DEPTH`] hashes of 32 bytes, leaf level first.
pub const PROOF_BYTES: usize = DEPTH * 32;

/// Prefix of a leaf hash pre-image.
pub const LEAF_PREFIX: u8 = 0x00;

/// Prefix of an inner node hash pre-image.
pub const NODE_PREFIX: u8 = 0x01;

/// The hash of an empty subtree at each height: `ZERO_HASHES[0]` is the empty leaf
/// (`keccak256(0x00)`), `ZERO_HASHES[16]` the root of the empty tree.
pub const ZERO_HASHES: [B256; DEPTH + 1] = [
    b256!("0xbc36789e7a1e281436464229828f817d6612f7b477d66591ff96a9e064bcc98a"),
    b256!("0x6d11012f507d5c770232575322ada02affcb999d62e89ebf2d0dd391ae60976b"),
    b256!("0x1c05d5fb1caaec828c210855c781b832064772c898eae7f2b956d86a728c2fce"),
    b256!("0x5bf859768d20425c7818862488808cfdc5fb44dd5056e9d1d2d99c6ce243689a"),
    b256!("0x36044e2ca5e24e95310eeb507e14ff37c5bf57c44a5409eaad95f3ea8936327f"),
    b256!("0xd2ce52564fa215e110fe909adc68688c290712591f0c04c9616e095b13846768"),
    b256!("0xd0363c1a6cf445d0e14a27e770f7cadc78f674a194d4a485e8ecb19a2b9d7286"),
    b256!("0x19ea80c395d2a1ec1d4c5044ae0773e25b39a60f58b2e541b8f02d26b665a9c3"),
    b256!("0xb5656f74b09534a124b7fdff64466afae5b4aa93d4a215775b575a4ecb8961b2"),
    b256!("0x945e9308a622efe742cfbb97031b276a0cdbbed7cf97a393617462494159dcdd"),
    b256!("0x52b786f0a3ae12d380a7f2d4949f044f74ccfc83df226c3a047ff62b615e7f33"),
    b256!("0x88a4516b9a7e168814c76c91144e0d3c7eb7f9614c94b0e1eef0b257483c2f68"),
    b256!("0xa041e781665d9fb3004bc8b81102385ce904456ea5752dfc4ffd99dfc2d6113e"),
    b256!("0x322b304bd7c7fc54b3e69b87746a7c1c615ff5821e4a654abfa9d9f6eabc0c26"),
    b256!("0x909ccf256bcd5bcf8a0e4b07e2f63b13cdb6ef86b580d54d04683695dba2ab2d"),
    b256!("0x337b06193cc8d1c77aabc69040506259640aab88531512e05202194f30c5e4dd"),
    b256!("0x0581a615b18bc455a945d1a8b647c25c2d3af02776cf6970a11af8114d46affe"),
];

/// The root of a tree with no leaves.
pub const EMPTY_ROOT: B256 = ZERO_HASHES[DEPTH];

/// Everything that can go wrong building a tree or reading a proof.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MerkleError {
    /// More leaves than a depth-16 tree holds.
    #[error("a block holds at most {max} transactions, got {count}", max = MAX_LEAVES)]
    TooManyLeaves {
        /// How many leaves were given.
        count: usize,
    },
    /// A proof was asked for a leaf the tree does not have.
    #[error("no leaf at index {index}: the tree has {len} leaves")]
    IndexOutOfRange {
        /// The index asked for.
        index: usize,
        /// The number of leaves in the tree.
        len: usize,
    },
    /// An encoded proof of the wrong length.
    #[error("a proof is {expected} bytes ({DEPTH} hashes), got {got}", expected = PROOF_BYTES)]
    ProofLength {
        /// The length given.
        got: usize,
    },
}

/// Result alias of this crate.
pub type Result<T, E = MerkleError> = core::result::Result<T, E>;

/// `keccak256(0x00 ‖ data)`: the hash of a leaf holding `data`.
pub fn leaf_hash(data: &[u8]) -> B256 {
    // Short leaves (every 32-byte test leaf, small transactions) hash from one stack buffer.
    const INLINE: usize = 256;
    if data.len() < INLINE {
        let mut buf = [0u8; INLINE];
        let len = data.len() + 1;
        buf[1..len].copy_from_slice(data);
        keccak256(&buf[..len])
    } else {
        let mut hasher = Keccak256::new();
        hasher.update([LEAF_PREFIX]);
        hasher.update(data);
        hasher.finalize()
    }
}

/// `keccak256(0x01 ‖ left ‖ right)`: the hash of an inner node.
pub fn node_hash(left: &B256, right: &B256) -> B256 {
    let mut buf = [0u8; 65];
    buf[0] = NODE_PREFIX;
    buf[1..33].copy_from_slice(left.as_slice());
    buf[33..].copy_from_slice(right.as_slice());
    keccak256(buf)
}

/// An inclusion proof: the [`DEPTH`] sibling hashes on the path from a leaf to the root, leaf
/// level first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Proof(pub [B256; DEPTH]);

impl Proof {
    /// The sibling hashes, leaf level first.
    pub fn siblings(&self) -> &[B256; DEPTH] {
        &self.0
    }

    /// The proof as the contract takes it: 16 × 32 bytes, leaf level first.
    pub fn to_bytes(&self) -> [u8; PROOF_BYTES] {
        let mut out = [0u8; PROOF_BYTES];
        for (chunk, sibling) in out.chunks_exact_mut(32).zip(&self.0) {
            chunk.copy_from_slice(sibling.as_slice());
        }
        out
    }

    /// Reads a proof from its 512-byte encoding.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        if bytes.len() != PROOF_BYTES {
            return Err(MerkleError::ProofLength { got: bytes.len() });
        }
        let mut siblings = [B256::ZERO; DEPTH];
        for (sibling, chunk) in siblings.iter_mut().zip(bytes.chunks_exact(32)) {
            *sibling = B256::from_slice(chunk);
        }
        Ok(Self(siblings))
    }

    /// The root this proof yields for a leaf hash at `index`, or `None` when `index` is outside
    /// the tree (≥ [`MAX_LEAVES`]).
    pub fn compute_root(&self, leaf: B256, index: u64) -> Option<B256> {
        if index >= MAX_LEAVES as u64 {
            return None;
        }
        let mut node = leaf;
        let mut index = index;
        for sibling in &self.0 {
            node = if index & 1 == 0 {
                node_hash(&node, sibling)
            } else {
                node_hash(sibling, &node)
            };
            index >>= 1;
        }
        Some(node)
    }
}

/// Whether `proof` shows that a leaf holding `data` sits at `index` in the tree with `root`.
pub fn verify(root: B256, data: &[u8], index: u64, proof: &Proof) -> bool {
    verify_leaf_hash(root, leaf_hash(data), index, proof)
}

/// Like [`verify`], for a leaf already hashed with [`leaf_hash`].
pub fn verify_leaf_hash(root: B256, leaf: B256, index: u64, proof: &Proof) -> bool {
    proof.compute_root(leaf, index) == Some(root)
}

/// The root of a tree of `leaves` without keeping the tree (no proofs).
pub fn root_of<I, L>(leaves: I) -> Result<B256>
where
    I: IntoIterator<Item = L>,
    L: AsRef<[u8]> + Sync,
{
    MerkleTree::from_leaves(leaves).map(|tree| tree.root())
}

/// A built tree: every level is kept, so any proof is a copy of 16 stored hashes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MerkleTree {
    /// `levels[0]` are the leaf hashes; `levels[h]` the nodes at height `h` that cover at least
    /// one leaf; `levels[DEPTH]` holds the root alone (empty for an empty tree).
    levels: Vec<Vec<B256>>,
}

impl MerkleTree {
    /// Builds the tree of `leaves` (raw leaf data, hashed with [`leaf_hash`]), in index order.
    pub fn from_leaves<I, L>(leaves: I) -> Result<Self>
    where
        I: IntoIterator<Item = L>,
        L: AsRef<[u8]> + Sync,
    {
        let leaves: Vec<L> = leaves.into_iter().collect();
        if leaves.len() > MAX_LEAVES {
            return Err(MerkleError::TooManyLeaves {
                count: leaves.len(),
            });
        }
        #[cfg(feature = "parallel")]
        if leaves.len() >= PARALLEL_MIN {
            return Ok(Self {
                levels: parallel::levels_of_leaves(&leaves),
            });
        }
        Self::from_leaf_hashes(leaf_hashes(&leaves))
    }

    /// Builds the tree from leaf hashes (already `keccak256(0x00 ‖ data)`), in index order.
    pub fn from_leaf_hashes(leaves: Vec<B256>) -> Result<Self> {
        if leaves.len() > MAX_LEAVES {
            return Err(MerkleError::TooManyLeaves {
                count: leaves.len(),
            });
        }
        #[cfg(feature = "parallel")]
        if leaves.len() >= PARALLEL_MIN {
            return Ok(Self {
                levels: parallel::levels_of_hashes(leaves),
            });
        }
        Ok(Self {
            levels: levels_above(vec![leaves], 0),
        })
    }

    /// The root hash.
    pub fn root(&self) -> B256 {
        self.levels[DEPTH].first().copied().unwrap_or(EMPTY_ROOT)
    }

    /// The number of leaves.
    pub fn len(&self) -> usize {
        self.levels[0].len()
    }

    /// Whether the tree has no leaves.
    pub fn is_empty(&self) -> bool {
        self.levels[0].is_empty()
    }

    /// The leaf hashes, in index order.
    pub fn leaf_hashes(&self) -> &[B256] {
        &self.levels[0]
    }

    /// The proof of the leaf at `index`.
    pub fn proof(&self, index: usize) -> Result<Proof> {
        if index >= self.len() {
            return Err(MerkleError::IndexOutOfRange {
                index,
                len: self.len(),
            });
        }
        Ok(self.proof_unchecked(index))
    }

    /// The proofs of every leaf, in index order. Costs no hashing: each proof copies 16 stored
    /// siblings.
    pub fn proofs(&self) -> Vec<Proof> {
        #[cfg(feature = "parallel")]
        {
            use rayon::prelude::*;
            if self.len() >= PARALLEL_MIN {
                return (0..self.len())
                    .into_par_iter()
                    .map(|index| self.proof_unchecked(index))
                    .collect();
            }
        }
        (0..self.len())
            .map(|index| self.proof_unchecked(index))
            .collect()
    }

    fn proof_unchecked(&self, index: usize) -> Proof {
        let mut siblings = [B256::ZERO; DEPTH];
        for (height, sibling) in siblings.iter_mut().enumerate() {
            *sibling = self.levels[height]
                .get((index >> height) ^ 1)
                .copied()
                .unwrap_or(ZERO_HASHES[height]);
        }
        Proof(siblings)
    }
}

/// Hashes one level into the next; an odd last node pairs with the empty subtree of its height.
fn hash_level(level: &[B256], zero: &B256) -> Vec<B256> {
    keccak256_each(&Pairs { level, zero })
}

/// The node pre-images of one level: `0x01 ‖ left ‖ right` for each pair of hashes, the odd last
/// one with `zero` on its right.
struct Pairs<'a> {
    level: &'a [B256],
    zero: &'a B256,
}

impl Messages for Pairs<'_> {
    fn count(&self) -> usize {
        self.level.len().div_ceil(2)
    }

    fn len_of(&self, _: usize) -> usize {
        65
    }

    fn copy(&self, index: usize, start: usize, out: &mut [u8]) {
        let left = &self.level[2 * index];
        let right = self.level.get(2 * index + 1).unwrap_or(self.zero);
        let mut buf = [0u8; 65];
        buf[0] = NODE_PREFIX;
        buf[1..33].copy_from_slice(left.as_slice());
        buf[33..].copy_from_slice(right.as_slice());
        out.copy_from_slice(&buf[start..start + out.len()]);
    }
}

/// The leaf hash of each of `leaves`, in order (see [`leaf_hash`]).
pub fn leaf_hashes<L: AsRef<[u8]>>(leaves: &[L]) -> Vec<B256> {
    keccak256_each(&Prefixed {
        prefix: LEAF_PREFIX,
        data: leaves,
    })
}

/// Completes `levels` (whose last entry is the level at `height`) up to the root.
fn levels_above(mut levels: Vec<Vec<B256>>, height: usize) -> Vec<Vec<B256>> {
    for h in height..DEPTH {
        let next = hash_level(&levels[h], &ZERO_HASHES[h]);
        levels.push(next);
    }
    levels
}

/// Below this many leaves a tree is built on one thread: spreading small trees costs more than
/// it saves.
#[cfg(feature = "parallel")]
const PARALLEL_MIN: usize = 2048;

/// Multi-core construction: the leaves are cut into aligned subtrees of 2^[`SUBTREE_HEIGHT`]
/// leaves, each hashed (leaves and its lower levels) by one task with its data in cache and no
/// synchronisation between levels; the narrow levels above are finished on one thread. The
/// result is level for level the same as the one-thread construction, because every subtree is
/// aligned and only the last one can be partial.
#[cfg(feature = "parallel")]
mod parallel {
    use rayon::prelude::*;

    use super::{B256, hash_level, leaf_hashes, levels_above};
    use crate::ZERO_HASHES;

    const SUBTREE_HEIGHT: usize = 10;
    const SUBTREE: usize = 1 << SUBTREE_HEIGHT;

    /// Levels `0..=SUBTREE_HEIGHT` of one subtree from its leaf hashes.
    fn subtree(leaves: Vec<B256>) -> Vec<Vec<B256>> {
        let mut levels = Vec::with_capacity(SUBTREE_HEIGHT + 1);
        levels.push(leaves);
        for h in 0..SUBTREE_HEIGHT {
            let next = hash_level(&levels[h], &ZERO_HASHES[h]);
            levels.push(next);
        }
        levels
    }

    /// Joins the subtrees' levels side by side and finishes the tree.
    fn join(parts: Vec<Vec<Vec<B256>>>) -> Vec<Vec<B256>> {
        let levels = (0..=SUBTREE_HEIGHT)
            .map(|h| parts.iter().flat_map(|p| p[h].iter().copied()).collect())
            .collect();
        levels_above(levels, SUBTREE_HEIGHT)
    }

    pub(super) fn levels_of_leaves<L: AsRef<[u8]> + Sync>(leaves: &[L]) -> Vec<Vec<B256>> {
        join(
            leaves
                .par_chunks(SUBTREE)
                .map(|chunk| subtree(leaf_hashes(chunk)))
                .collect(),
        )
    }

    pub(super) fn levels_of_hashes(leaves: Vec<B256>) -> Vec<Vec<B256>> {
        join(
            leaves
                .par_chunks(SUBTREE)
                .map(|chunk| subtree(chunk.to_vec()))
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_hashes_follow_the_rule() {
        assert_eq!(ZERO_HASHES[0], keccak256([LEAF_PREFIX]));
        assert_eq!(ZERO_HASHES[0], leaf_hash(&[]));
        for height in 0..DEPTH {
            assert_eq!(
                ZERO_HASHES[height + 1],
                node_hash(&ZERO_HASHES[height], &ZERO_HASHES[height]),
                "zero hash at height {}",
                height + 1
            );
        }
    }

    #[test]
    fn architecture_check_values() {
        let empty = MerkleTree::from_leaves(Vec::<Vec<u8>>::new()).unwrap();
        assert_eq!(
            empty.root(),
            b256!("0x0581a615b18bc455a945d1a8b647c25c2d3af02776cf6970a11af8114d46affe")
        );
        let two = root_of([&[0xde, 0xad, 0xbe, 0xef][..], &[0x01][..]]).unwrap();
        assert_eq!(
            two,
            b256!("0x64518025992a96f6e978a6b817578fbe03ea698dd8b6aa83f03b6f3dca3248ac")
        );
    }

    #[test]
    fn long_leaves_hash_like_short_ones() {
        // Both code paths of `leaf_hash` must agree with the definition.
        for len in [0usize, 1, 32, 255, 256, 257, 1000] {
            let data = vec![0xab; len];
            let mut pre = vec![LEAF_PREFIX];
            pre.extend_from_slice(&data);
            assert_eq!(leaf_hash(&data), keccak256(&pre), "len {len}");
        }
    }

    #[test]
    fn too_many_leaves_is_an_error() {
        let leaves = vec![[0u8; 1]; MAX_LEAVES + 1];
        assert_eq!(
            MerkleTree::from_leaves(&leaves),
            Err(MerkleError::TooManyLeaves {
                count: MAX_LEAVES + 1
            })
        );
        let hashes = vec![B256::ZERO; MAX_LEAVES + 1];
        assert!(matches!(
            MerkleTree::from_leaf_hashes(hashes),
            Err(MerkleError::TooManyLeaves { .. })
        ));
    }

    #[test]
    fn proof_out_of_range_is_an_error() {
        let tree = MerkleTree::from_leaves([[1u8], [2u8], [3u8]]).unwrap();
        assert_eq!(
            tree.proof(3),
            Err(MerkleError::IndexOutOfRange { index: 3, len: 3 })
        );
        let proof = tree.proof(0).unwrap();
        assert_eq!(proof.compute_root(leaf_hash(&[1]), MAX_LEAVES as u64), None);
    }

    #[test]
    fn proof_bytes_round_trip_and_reject_bad_lengths() {
        let tree = MerkleTree::from_leaves([[1u8], [2u8], [3u8]]).unwrap();
        let proof = tree.proof(2).unwrap();
        let bytes = proof.to_bytes();
        assert_eq!(Proof::from_bytes(&bytes), Ok(proof));
        assert_eq!(
            Proof::from_bytes(&bytes[1..]),
            Err(MerkleError::ProofLength { got: 511 })
        );
        assert_eq!(
            Proof::from_bytes(&[0u8; 544]),
            Err(MerkleError::ProofLength { got: 544 })
        );
    }

    #[test]
    fn a_node_cannot_pose_as_a_leaf() {
        // The 64-byte pre-image of a node, offered as leaf data, does not give the node's hash.
        let tree = MerkleTree::from_leaves([[1u8], [2u8]]).unwrap();
        let (l, r) = (tree.leaf_hashes()[0], tree.leaf_hashes()[1]);
        let mut forged = Vec::new();
        forged.extend_from_slice(l.as_slice());
        forged.extend_from_slice(r.as_slice());
        assert_ne!(leaf_hash(&forged), node_hash(&l, &r));
    }
}
