//! The child chain's state machine: the mempool over the stored UTXO set, block production, and
//! the application of L1 events (deposits and exits).
//!
//! * **Accepting** a batch checks every transaction against the stored UTXO set without any
//!   lock (signature recovery spread over the cores), then, under the mempool lock, against the
//!   pending spends; the accepted ones are written in one durable batch — body, under a fresh
//!   sequence number, and hash index — before any is acknowledged. A transaction's body is never
//!   written again.
//! * **A block** takes the oldest pending transactions. Their Merkle leaves and spent outputs
//!   were worked out at admission, so making the block reads nothing: it computes the root and
//!   writes, in one atomic batch, the block record (root and the runs of sequence numbers it
//!   holds), its UTXO changes and the next block number. The mempool lock is held only to take
//!   the transactions and, after the write, to remove them, so accepting goes on meanwhile.
//! * **L1 events** are applied in one batch each, with the L1 cursor.
//!
//! Block production and L1 events exclude each other (one producer lock); both change the
//! stored UTXO set only by a write followed, under the mempool lock, by a bump of
//! `Chain::version`. An admission that finds the version unchanged since its lock-free check
//! knows that check still holds; otherwise it reads the inputs again.
//!
//! Layout: [`admission`] (checking and storing submitted transactions), `mempool` (the pending
//! transactions and their spends), `checkers` (the lower-priority pool that checks signatures),
//! [`production`] (making a block), [`l1_events`] (applying deposits and exits), [`reorg`] (the journal of what was applied, and
//! undoing it when L1 reorganises), `owners` (the
//! owner index of the UTXO set). The reads the API serves are methods of [`Chain`].

pub mod admission;
mod checkers;
pub mod l1_events;
pub mod l1_view;
mod mempool;
mod owners;
pub mod production;
pub mod reorg;
#[cfg(test)]
mod test_utils;

use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use alloy::primitives::{Address, B256};
use plasma_api::ErrorCode;
use plasma_core::{Block, Rules, SignedTransaction, UtxoPos, ValidationError};
use tokio::sync::Notify;

pub use l1_events::L1Event;

use crate::metrics::Metrics;
use crate::store::records::{RawBlock, UtxoRecord};
use crate::store::{Column, Db, Location, StoreError};
use mempool::{Mempool, PendingTx};
use owners::OwnerIndex;

/// The most transactions a block holds.
pub const MAX_BLOCK_TXS: usize = plasma_merkle::MAX_LEAVES;

/// Why a transaction is not accepted.
#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    /// It breaks a validity rule.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// An input is already spent by a pending transaction.
    #[error("input {pos} is already spent by pending transaction {by}")]
    DoubleSpend {
        /// The input.
        pos: UtxoPos,
        /// The pending transaction spending it.
        by: B256,
    },
    /// The transaction is already pending or in a block with other signatures: a re-post
    /// must carry the signatures stored (the stored ones stay).
    #[error(
        "transaction {0} is already known with other signatures: a re-post must carry the same signatures"
    )]
    OtherSignatures(B256),
    /// The mempool is full; retry later.
    #[error("the mempool is full ({0} transactions); retry later")]
    MempoolFull(usize),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The write of the batch this transaction was in failed: it is not stored.
    #[error("storing the transaction failed: {0}")]
    NotStored(String),
}

impl SubmitError {
    /// The API's error code for it.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Invalid(e) => e.into(),
            Self::DoubleSpend { .. } => ErrorCode::DoubleSpend,
            Self::OtherSignatures(_) => ErrorCode::KnownWithOtherSignatures,
            Self::MempoolFull(_) => ErrorCode::MempoolFull,
            Self::Store(StoreError::Unavailable(_)) => ErrorCode::StoreUnavailable,
            Self::Store(_) | Self::NotStored(_) => ErrorCode::Internal,
        }
    }
}

/// Where an accepted transaction is: the API's status, one definition for both sides.
pub use plasma_api::TxStatus;

impl From<Location> for TxStatus {
    fn from(location: Location) -> Self {
        match location {
            Location::Pending(_) => Self::Pending,
            Location::Included { blknum, index } => Self::Included {
                blknum,
                tx_index: index,
            },
        }
    }
}

/// A block just made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Produced {
    /// Its number.
    pub blknum: u64,
    /// Its Merkle root.
    pub root: B256,
    /// How many transactions it holds.
    pub transactions: usize,
}

/// The operator's chain state: store, rules, mempool, owner index.
#[derive(Debug)]
pub struct Chain {
    db: Db,
    rules: Rules,
    max_pending: usize,
    mempool: Mutex<Mempool>,
    /// Held while a block is made or L1 events are applied.
    producer: Mutex<()>,
    /// Bumped (under the mempool lock) after every write that spends outputs or changes their
    /// state.
    version: AtomicU64,
    owners: RwLock<OwnerIndex>,
    /// Where submitted transactions are checked (see [`checker_pool`]).
    checkers: Option<rayon::ThreadPool>,
    metrics: Arc<Metrics>,
    full: Notify,
    /// What was last read of L1.
    l1: Mutex<L1Status>,
    /// Who the fee claim that ends each block pays (none: blocks claim no fees).
    fee_address: Option<Address>,
}

impl Chain {
    /// Opens the chain on `db`: loads the pending transactions (working out again what a block
    /// needs of them) and builds the owner index from the stored UTXO set.
    pub fn open(
        db: Db,
        rules: Rules,
        max_pending: usize,
        metrics: Arc<Metrics>,
    ) -> Result<Self, StoreError> {
        let mut owners = OwnerIndex::default();
        for (pos, record) in db.all_utxos()? {
            owners.insert(record.output.owner, pos);
        }
        let mut mempool = Mempool::default();
        let pending_from = db.pending_from()?;
        mempool.next_seq = pending_from;
        for (seq, tx) in db.txs_from(pending_from)? {
            let mut spent = Vec::with_capacity(tx.tx().inputs.len());
            for pos in &tx.tx().inputs {
                let record = db.utxo(*pos)?.ok_or_else(|| StoreError::Corrupt {
                    column: Column::Utxos.name(),
                    what: format!(
                        "pending transaction {} spends missing output {pos}",
                        tx.hash()
                    ),
                })?;
                spent.push(record.output);
            }
            mempool.insert(seq, Arc::new(PendingTx::new(tx, spent)));
        }
        metrics.mempool_size.set(mempool.txs.len() as u64);
        let next = db.next_block()?;
        metrics
            .latest_block
            .set(next.saturating_sub(plasma_core::CHILD_BLOCK_INTERVAL));
        metrics.last_committed_block.set(db.committed()?);
        Ok(Self {
            db,
            rules,
            max_pending,
            mempool: Mutex::new(mempool),
            producer: Mutex::new(()),
            version: AtomicU64::new(0),
            owners: RwLock::new(owners),
            checkers: checkers::checker_pool(),
            metrics,
            full: Notify::new(),
            l1: Mutex::new(L1Status::default()),
            fee_address: None,
        })
    }

    /// Ends every block whose payments pay fees with a fee claim of all of them to `address`
    /// (see [`plasma_core::fee_claim`]).
    pub fn claim_fees_to(mut self, address: Address) -> Self {
        self.fee_address = Some(address);
        self
    }

    /// Who the fee claims pay, if blocks claim their fees.
    pub fn fee_address(&self) -> Option<Address> {
        self.fee_address
    }

    /// The most payments a block takes: one slot is kept for the fee claim when there is one.
    pub fn block_capacity(&self) -> usize {
        match self.fee_address {
            Some(_) => MAX_BLOCK_TXS - 1,
            None => MAX_BLOCK_TXS,
        }
    }

    /// The store (for this crate's tasks; readers outside use the methods below).
    pub(crate) fn db(&self) -> &Db {
        &self.db
    }

    /// The validity rules in force.
    pub fn rules(&self) -> &Rules {
        &self.rules
    }

    /// The metrics.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// Woken when the mempool holds a full block.
    pub fn full_notify(&self) -> &Notify {
        &self.full
    }

    fn lock(&self) -> MutexGuard<'_, Mempool> {
        self.mempool.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn owners_mut(&self) -> std::sync::RwLockWriteGuard<'_, OwnerIndex> {
        self.owners.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Number of pending transactions.
    pub fn mempool_len(&self) -> usize {
        self.lock().txs.len()
    }

    /// Whether the pending transactions spend `pos`.
    pub fn pending_spend(&self, pos: UtxoPos) -> Option<B256> {
        self.lock().spends.get(&pos).copied()
    }

    /// Up to `limit` outputs of `owner` in the UTXO set from position `from` on, ascending.
    pub fn owner_utxos(
        &self,
        owner: Address,
        from: u64,
        limit: usize,
    ) -> Result<Vec<(UtxoPos, UtxoRecord)>, StoreError> {
        let positions = self
            .owners
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .of(owner, from, limit);
        let mut out = Vec::with_capacity(positions.len());
        for pos in positions {
            // A block may have spent it since the index was read.
            if let Some(record) = self.db.utxo(pos)? {
                out.push((pos, record));
            }
        }
        Ok(out)
    }

    /// Outputs in the owner index (the size of the UTXO set).
    pub fn utxo_count(&self) -> usize {
        self.owners.read().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// The status of a transaction by hash, with the transaction.
    pub fn transaction(
        &self,
        hash: &B256,
    ) -> Result<Option<(TxStatus, SignedTransaction)>, StoreError> {
        {
            let mempool = self.lock();
            if let Some(pending) = mempool.by_hash.get(hash).and_then(|s| mempool.txs.get(s)) {
                return Ok(Some((TxStatus::Pending, pending.tx.clone())));
            }
        }
        Ok(self
            .db
            .transaction(hash)?
            .map(|(location, tx)| (location.into(), tx)))
    }

    /// Block `blknum` with its transactions.
    pub fn block(&self, blknum: u64) -> Result<Option<Block>, StoreError> {
        self.db.block(blknum)
    }

    /// Up to `limit` blocks from `from` on, stopping before the block that would take the page
    /// past `max_txs` transactions; at least one block when there is one.
    pub fn blocks_page(
        &self,
        from: u64,
        limit: usize,
        max_txs: usize,
    ) -> Result<Vec<Block>, StoreError> {
        self.raw_blocks_page(from, limit, max_txs)?
            .into_iter()
            .map(Db::decode_block)
            .collect()
    }

    /// [`Chain::blocks_page`] with the transactions as stored, not decoded: the binary page
    /// copies them out as they are.
    pub fn raw_blocks_page(
        &self,
        from: u64,
        limit: usize,
        max_txs: usize,
    ) -> Result<Vec<RawBlock>, StoreError> {
        let mut blocks = Vec::new();
        let mut txs = 0usize;
        for blknum in self.db.block_numbers(from, limit)? {
            let Some(record) = self.db.block_record(blknum)? else {
                continue;
            };
            if !blocks.is_empty() && txs + record.header.tx_count as usize > max_txs {
                break; // the next page starts here
            }
            let block = self.db.raw_block_of(blknum, record)?;
            txs += block.transactions.len();
            blocks.push(block);
        }
        Ok(blocks)
    }

    /// The number the next operator block gets.
    pub fn next_block(&self) -> Result<u64, StoreError> {
        self.db.next_block()
    }

    /// The highest stored block (operator or deposit).
    pub fn latest_block(&self) -> Result<Option<u64>, StoreError> {
        self.db.latest_block()
    }

    /// The highest operator block known committed on L1.
    pub fn last_committed(&self) -> Result<u64, StoreError> {
        self.db.committed()
    }

    /// What the operator last read of L1.
    pub fn l1_status(&self) -> L1Status {
        *self.l1.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records what the follower or the submitter read of L1.
    pub fn note_l1(&self, update: impl FnOnce(&mut L1Status)) {
        update(&mut self.l1.lock().unwrap_or_else(|e| e.into_inner()));
    }

    /// The Prometheus exposition of the metrics, with the L1 readings.
    pub fn render_metrics(&self) -> String {
        self.metrics.store_write_failures(self.db.write_failures());
        if let Some(memory) = self.db.memory() {
            self.metrics.store_memory(&memory);
        }
        self.metrics.render(&self.l1_status())
    }
}

/// What the operator last read of L1 (for `GET /v1/status` and the metrics).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct L1Status {
    /// The L1 head block number.
    pub head: u64,
    /// The next L1 block whose events the follower will apply.
    pub cursor: u64,
    /// The root contract's `nextChildBlock()`.
    pub next_child_block: u64,
}

#[cfg(test)]
mod tests {
    use alloy::primitives::U256;
    use plasma_core::{Deposit, ETH};

    use super::*;
    use crate::store::MemoryStore;

    #[test]
    fn a_block_page_stops_at_its_transaction_budget() {
        let db = Db::new(Arc::new(MemoryStore::new()));
        let rules = plasma_core::Rules {
            domain_separator: alloy::primitives::B256::ZERO,
            min_fee: U256::ZERO,
        };
        let chain = Chain::open(db, rules, 10, Default::default()).unwrap();
        let events: Vec<L1Event> = (1..=5)
            .map(|blknum| L1Event::Deposit {
                deposit: Deposit {
                    blknum,
                    owner: Address::repeat_byte(1),
                    token: ETH,
                    amount: U256::from(blknum),
                },
                timestamp: 1,
            })
            .collect();
        chain.apply_l1_events(&events, 1).unwrap();
        let numbers = |page: Vec<Block>| page.iter().map(|b| b.blknum).collect::<Vec<_>>();
        let page = |from, limit, budget| numbers(chain.blocks_page(from, limit, budget).unwrap());
        assert_eq!(page(0, 10, 100), [1, 2, 3, 4, 5]);
        assert_eq!(page(0, 3, 100), [1, 2, 3]);
        // One transaction each: a budget of 2 holds two blocks, the next page starts at 3.
        assert_eq!(page(0, 10, 2), [1, 2]);
        assert_eq!(page(3, 10, 2), [3, 4]);
        // A block larger than the budget still makes a page on its own.
        assert_eq!(page(2, 10, 0), [2]);
        assert_eq!(page(6, 10, 2), Vec::<u64>::new());
    }
}
