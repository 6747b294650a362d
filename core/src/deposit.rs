//! Deposits: an L1 deposit becomes a one-transaction deposit block whose transaction the
//! contract builds itself.

use alloy_primitives::{Address, B256, U256};
use plasma_merkle::{MerkleTree, leaf_hash};

use crate::transaction::{Output, Transaction};
use crate::utxo::{UtxoPos, UtxoPosError};

/// A deposit as the root contract records it (`DepositCreated`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Deposit {
    /// The deposit block number.
    pub blknum: u64,
    /// Who deposited, and owns the new output.
    pub owner: Address,
    /// The token, or the zero address for ether.
    pub token: Address,
    /// The amount deposited.
    pub amount: U256,
}

impl Deposit {
    /// The deposit transaction: no inputs, one output, the block number as metadata.
    pub fn transaction(&self) -> Transaction {
        Transaction {
            inputs: Vec::new(),
            outputs: vec![Output::new(self.owner, self.token, self.amount)],
            metadata: B256::from(U256::from(self.blknum)),
        }
    }

    /// The position of the deposited output: transaction 0, output 0 of the deposit block.
    pub fn utxo_pos(&self) -> Result<UtxoPos, UtxoPosError> {
        UtxoPos::new(self.blknum, 0, 0)
    }

    /// The root of the deposit block, as the contract computes it.
    pub fn block_root(&self) -> B256 {
        let leaf = leaf_hash(&self.transaction().encode());
        // One leaf never exceeds the tree.
        MerkleTree::from_leaf_hashes(vec![leaf])
            .map(|tree| tree.root())
            .unwrap_or_default()
    }
}
