//! The pending transactions: by arrival number, by hash, and the outputs they spend.

use std::collections::BTreeMap;
use std::sync::Arc;

use alloy::primitives::map::HashMap;
use alloy::primitives::{B256, U256};
use plasma_core::{Output, SignedTransaction, UtxoPos};

/// An accepted transaction waiting for a block, with what admission worked out for the block.
#[derive(Debug)]
pub(super) struct PendingTx {
    pub(super) tx: SignedTransaction,
    /// Its Merkle leaf, `keccak256(0x00 ‖ txBytes)`.
    pub(super) leaf: B256,
    /// The outputs it spends, in input order.
    pub(super) spent: Vec<Output>,
    /// The fee it pays, in wei (ETH spent less ETH created), for the block's fee claim.
    pub(super) fee: U256,
}

impl PendingTx {
    pub(super) fn new(tx: SignedTransaction, spent: Vec<Output>) -> Self {
        let leaf = plasma_merkle::leaf_hash(tx.bytes());
        // Admission checked the amounts: a valid transaction's fee is defined.
        let fee = plasma_core::fee(&spent, &tx.tx().outputs).unwrap_or_default();
        Self {
            tx,
            leaf,
            spent,
            fee,
        }
    }
}

#[derive(Debug, Default)]
pub(super) struct Mempool {
    pub(super) txs: BTreeMap<u64, Arc<PendingTx>>,
    pub(super) by_hash: HashMap<B256, u64>,
    pub(super) spends: HashMap<UtxoPos, B256>,
    pub(super) next_seq: u64,
}

impl Mempool {
    pub(super) fn insert(&mut self, seq: u64, pending: Arc<PendingTx>) {
        let hash = pending.tx.hash();
        for pos in &pending.tx.tx().inputs {
            self.spends.insert(*pos, hash);
        }
        self.by_hash.insert(hash, seq);
        self.txs.insert(seq, pending);
        self.next_seq = self.next_seq.max(seq + 1);
    }

    /// Whether a pending transaction of `tx`'s hash carries `tx`'s signatures; `None` when
    /// none is pending.
    pub(super) fn same_signatures(&self, tx: &SignedTransaction) -> Option<bool> {
        let seq = self.by_hash.get(&tx.hash())?;
        let pending = self.txs.get(seq)?;
        Some(pending.tx.signatures() == tx.signatures())
    }

    /// Removes every transaction up to sequence number `last` (those a block just took) and
    /// returns them, for the caller to drop outside the lock.
    pub(super) fn take_through(&mut self, last: u64) -> BTreeMap<u64, Arc<PendingTx>> {
        let rest = self.txs.split_off(&(last + 1));
        let taken = std::mem::replace(&mut self.txs, rest);
        for pending in taken.values() {
            self.unindex(pending);
        }
        taken
    }

    pub(super) fn remove(&mut self, seq: u64) -> Option<Arc<PendingTx>> {
        let pending = self.txs.remove(&seq)?;
        self.unindex(&pending);
        Some(pending)
    }

    /// Forgets the spends and the hash of a transaction taken out of `txs`.
    fn unindex(&mut self, pending: &PendingTx) {
        for pos in &pending.tx.tx().inputs {
            self.spends.remove(pos);
        }
        self.by_hash.remove(&pending.tx.hash());
    }
}
