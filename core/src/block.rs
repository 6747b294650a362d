//! Child-chain blocks: numbering, the Merkle root of a block's transactions, exit data.

use alloy_primitives::B256;
use plasma_merkle::{MerkleError, MerkleTree};

use crate::signed::SignedTransaction;

/// Operator blocks are numbered 1000, 2000, 3000, …; deposit blocks fill the gaps.
pub const CHILD_BLOCK_INTERVAL: u64 = 1000;

/// Whether `blknum` is a deposit block (not a multiple of 1000).
pub const fn is_deposit_block(blknum: u64) -> bool {
    !blknum.is_multiple_of(CHILD_BLOCK_INTERVAL)
}

/// The operator block that follows the operator block `blknum` (or that follows the deposits
/// after it).
pub const fn next_child_block(blknum: u64) -> u64 {
    (blknum / CHILD_BLOCK_INTERVAL + 1) * CHILD_BLOCK_INTERVAL
}

/// A block: its number, its transactions in index order, their root, and when L1 recorded it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    /// The block number.
    pub blknum: u64,
    /// The Merkle root of the transactions' bytes.
    pub root: B256,
    /// Unix time of the block's commitment on L1 (0 while not yet committed).
    pub timestamp: u64,
    /// The transactions, index `i` at leaf `i`.
    pub transactions: Vec<SignedTransaction>,
}

impl Block {
    /// A block of `transactions`, with its root computed. Fails on more than 65,536.
    pub fn new(
        blknum: u64,
        timestamp: u64,
        transactions: Vec<SignedTransaction>,
    ) -> Result<Self, MerkleError> {
        let root = merkle_tree(&transactions)?.root();
        Ok(Self {
            blknum,
            root,
            timestamp,
            transactions,
        })
    }

    /// The Merkle tree of the transactions, for proofs.
    pub fn merkle_tree(&self) -> Result<MerkleTree, MerkleError> {
        merkle_tree(&self.transactions)
    }

    /// Whether `root` is the root of the transactions this block carries.
    pub fn root_matches(&self) -> bool {
        matches!(merkle_tree(&self.transactions), Ok(tree) if tree.root() == self.root)
    }
}

/// The Merkle tree over the transactions' canonical bytes.
pub fn merkle_tree(transactions: &[SignedTransaction]) -> Result<MerkleTree, MerkleError> {
    MerkleTree::from_leaves(transactions.iter().map(SignedTransaction::bytes))
}
