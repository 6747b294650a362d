//! Property tests: every proof verifies; any change of leaf, index, sibling or root fails; the
//! built root equals the naive reference.

use alloy_primitives::B256;
use plasma_merkle::{DEPTH, MAX_LEAVES, MerkleTree, Proof, leaf_hash, root_of, verify};
use proptest::prelude::*;

use crate::reference;

fn leaves_strategy(max: usize) -> impl Strategy<Value = Vec<Vec<u8>>> {
    prop::collection::vec(prop::collection::vec(any::<u8>(), 0..80), 0..max)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn root_matches_reference(leaves in leaves_strategy(40)) {
        let tree = MerkleTree::from_leaves(&leaves).unwrap();
        prop_assert_eq!(tree.root(), reference::root(&leaves));
        prop_assert_eq!(tree.len(), leaves.len());
    }

    #[test]
    fn every_proof_verifies(leaves in leaves_strategy(70)) {
        let tree = MerkleTree::from_leaves(&leaves).unwrap();
        let proofs = tree.proofs();
        prop_assert_eq!(proofs.len(), leaves.len());
        for (index, (data, proof)) in leaves.iter().zip(&proofs).enumerate() {
            prop_assert_eq!(*proof, tree.proof(index).unwrap());
            prop_assert!(verify(tree.root(), data, index as u64, proof));
        }
    }

    #[test]
    fn changed_leaf_fails(
        leaves in leaves_strategy(40).prop_filter("non-empty", |l| !l.is_empty()),
        pick in any::<prop::sample::Index>(),
        other in prop::collection::vec(any::<u8>(), 0..80),
    ) {
        let tree = MerkleTree::from_leaves(&leaves).unwrap();
        let index = pick.index(leaves.len());
        prop_assume!(other != leaves[index]);
        let proof = tree.proof(index).unwrap();
        prop_assert!(!verify(tree.root(), &other, index as u64, &proof));
    }

    #[test]
    fn changed_index_fails(
        leaves in leaves_strategy(40).prop_filter("non-empty", |l| !l.is_empty()),
        pick in any::<prop::sample::Index>(),
        other in 0u64..(MAX_LEAVES as u64 * 2),
    ) {
        let tree = MerkleTree::from_leaves(&leaves).unwrap();
        let index = pick.index(leaves.len());
        prop_assume!(other != index as u64);
        let proof = tree.proof(index).unwrap();
        prop_assert!(!verify(tree.root(), &leaves[index], other, &proof));
    }

    #[test]
    fn changed_sibling_fails(
        leaves in leaves_strategy(40).prop_filter("non-empty", |l| !l.is_empty()),
        pick in any::<prop::sample::Index>(),
        level in 0..DEPTH,
        byte in 0usize..32,
        flip in 1u8..=255,
    ) {
        let tree = MerkleTree::from_leaves(&leaves).unwrap();
        let index = pick.index(leaves.len());
        let mut proof = tree.proof(index).unwrap();
        proof.0[level].0[byte] ^= flip;
        prop_assert!(!verify(tree.root(), &leaves[index], index as u64, &proof));
    }

    #[test]
    fn changed_root_fails(
        leaves in leaves_strategy(40).prop_filter("non-empty", |l| !l.is_empty()),
        pick in any::<prop::sample::Index>(),
        other in any::<[u8; 32]>(),
    ) {
        let tree = MerkleTree::from_leaves(&leaves).unwrap();
        let index = pick.index(leaves.len());
        prop_assume!(B256::from(other) != tree.root());
        let proof = tree.proof(index).unwrap();
        prop_assert!(!verify(B256::from(other), &leaves[index], index as u64, &proof));
    }

    #[test]
    fn proof_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        match Proof::from_bytes(&bytes) {
            Ok(proof) => prop_assert_eq!(&proof.to_bytes()[..], &bytes[..]),
            Err(_) => prop_assert_ne!(bytes.len(), 512),
        }
    }
}

#[test]
fn full_tree_last_and_first_positions_verify() {
    // A full block: every position proves, including the last one (an earlier Plasma contract's
    // verifier only accepted position 0).
    let leaves: Vec<[u8; 4]> = (0..MAX_LEAVES as u32).map(u32::to_be_bytes).collect();
    let tree = MerkleTree::from_leaves(&leaves).unwrap();
    let proofs = tree.proofs();
    assert_eq!(proofs.len(), MAX_LEAVES);
    for index in [0usize, 1, 2, 12_345, 32_767, 32_768, 65_534, 65_535] {
        assert!(verify(
            tree.root(),
            &leaves[index],
            index as u64,
            &proofs[index]
        ));
        // Swapping in a neighbour's proof fails.
        let other = (index + 1) % MAX_LEAVES;
        assert!(!verify(
            tree.root(),
            &leaves[index],
            index as u64,
            &proofs[other]
        ));
    }
    // The stored leaf hashes follow the definition, and rebuilding from them gives the root.
    assert_eq!(tree.leaf_hashes()[65_535], leaf_hash(&leaves[65_535]));
    assert_eq!(root_of(&leaves).unwrap(), tree.root());
    let rebuilt = MerkleTree::from_leaf_hashes(tree.leaf_hashes().to_vec()).unwrap();
    assert_eq!(rebuilt.root(), tree.root());
}

#[test]
fn multi_core_construction_matches_the_reference() {
    // Sizes around the parallel threshold and the subtree size, including partial subtrees.
    for n in [2047usize, 2048, 2049, 3071, 4096, 5000] {
        let leaves: Vec<Vec<u8>> = (0..n as u32).map(|i| i.to_le_bytes().to_vec()).collect();
        let tree = MerkleTree::from_leaves(&leaves).unwrap();
        assert_eq!(tree.root(), reference::root(&leaves), "{n} leaves");
        let from_hashes = MerkleTree::from_leaf_hashes(tree.leaf_hashes().to_vec()).unwrap();
        assert_eq!(from_hashes, tree, "{n} leaves");
        for index in [0, 1023, 1024, n / 2, n - 1] {
            let proof = tree.proof(index).unwrap();
            assert!(verify(tree.root(), &leaves[index], index as u64, &proof));
        }
    }
}
