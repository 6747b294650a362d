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

mod owners;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::Instant;

use alloy::primitives::map::{HashMap, HashSet};
use alloy::primitives::{Address, B256};
use plasma_core::{
    Block, CheckError, Deposit, InputError, Output, Rules, SignedTransaction, UtxoPos, UtxoState,
    UtxoView, ValidationError, validate,
};
use plasma_merkle::MerkleTree;
use rayon::prelude::*;
use tokio::sync::Notify;

use crate::metrics::Metrics;
use crate::store::records::{BlockHeader, UtxoRecord, meta, runs_of};
use crate::store::{Batch, Column, Db, Location, StoreError};
use owners::OwnerIndex;

/// The most transactions a block holds.
pub const MAX_BLOCK_TXS: usize = plasma_merkle::MAX_LEAVES;

/// Batches at least this long are checked on all cores.
const PARALLEL_CHECK_MIN: usize = 8;

/// The niceness of the threads that check submitted transactions: when they compete with the
/// block producer for the cores, the producer wins (a CPU share of about 3 to 1), so blocks
/// keep coming on time under any load and accepting slows down instead.
const CHECKER_NICENESS: &str = "5";

/// The pool that checks submitted transactions, one thread per core, at lower priority (`None`
/// when its threads cannot be started: checks then run on the global pool).
fn checker_pool() -> Option<rayon::ThreadPool> {
    let threads = std::thread::available_parallelism().map_or(2, usize::from);
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("tx-checker-{i}"))
        .start_handler(|_| {
            // Crossplatform priority 35 is niceness 5 on Linux (0..=99 maps onto 19..=-20).
            let lowered = thread_priority::ThreadPriorityValue::try_from(35u8)
                .map_err(|e| e.to_string())
                .and_then(|value| {
                    thread_priority::set_current_thread_priority(
                        thread_priority::ThreadPriority::Crossplatform(value),
                    )
                    .map_err(|e| e.to_string())
                });
            if let Err(e) = lowered {
                tracing::warn!(target: "operator::mempool", error = %e, niceness = CHECKER_NICENESS, "could not lower the priority of a transaction-checking thread");
            }
        })
        .build()
        .inspect_err(|e| {
            tracing::warn!(target: "operator::mempool", error = %e, "no transaction-checking pool; checking on the global one");
        })
        .ok()
}

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
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Invalid(e) => e.code(),
            Self::DoubleSpend { .. } => "double_spend",
            Self::MempoolFull(_) => "mempool_full",
            Self::Store(_) | Self::NotStored(_) => "internal",
        }
    }
}

/// Where an accepted transaction is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxStatus {
    /// Acknowledged and durably stored; waiting for a block.
    Pending,
    /// In block `blknum` at index `index`.
    Included {
        /// The block.
        blknum: u64,
        /// The index in the block.
        index: u32,
    },
}

impl From<Location> for TxStatus {
    fn from(location: Location) -> Self {
        match location {
            Location::Pending(_) => Self::Pending,
            Location::Included { blknum, index } => Self::Included { blknum, index },
        }
    }
}

/// An L1 event of the root contract, after the confirmation depth.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum L1Event {
    /// A deposit: becomes a deposit block with one spendable output.
    Deposit {
        /// The deposit.
        deposit: Deposit,
        /// Unix time of the L1 block that recorded it.
        timestamp: u64,
    },
    /// A standard exit started: the output becomes unspendable.
    ExitStarted(UtxoPos),
    /// An exit was challenged: the output is spendable again (if still unspent).
    ExitChallenged(UtxoPos),
    /// An exit was processed: the output leaves the UTXO set.
    ExitFinalized(UtxoPos),
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

/// An accepted transaction waiting for a block, with what admission worked out for the block.
#[derive(Debug)]
struct PendingTx {
    tx: SignedTransaction,
    /// Its Merkle leaf, `keccak256(0x00 ‖ txBytes)`.
    leaf: B256,
    /// The outputs it spends, in input order.
    spent: Vec<Output>,
}

impl PendingTx {
    fn new(tx: SignedTransaction, spent: Vec<Output>) -> Self {
        let leaf = plasma_merkle::leaf_hash(tx.bytes());
        Self { tx, leaf, spent }
    }
}

#[derive(Debug, Default)]
struct Mempool {
    txs: BTreeMap<u64, Arc<PendingTx>>,
    by_hash: HashMap<B256, u64>,
    spends: HashMap<UtxoPos, B256>,
    next_seq: u64,
}

impl Mempool {
    fn insert(&mut self, seq: u64, pending: Arc<PendingTx>) {
        let hash = pending.tx.hash();
        for pos in &pending.tx.tx().inputs {
            self.spends.insert(*pos, hash);
        }
        self.by_hash.insert(hash, seq);
        self.txs.insert(seq, pending);
        self.next_seq = self.next_seq.max(seq + 1);
    }

    /// Removes every transaction up to sequence number `last` (those a block just took) and
    /// returns them, for the caller to drop outside the lock.
    fn take_through(&mut self, last: u64) -> BTreeMap<u64, Arc<PendingTx>> {
        let rest = self.txs.split_off(&(last + 1));
        let taken = std::mem::replace(&mut self.txs, rest);
        for pending in taken.values() {
            self.unindex(pending);
        }
        taken
    }

    fn remove(&mut self, seq: u64) -> Option<Arc<PendingTx>> {
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

/// The stored UTXO set as a [`UtxoView`]: a store error is a store error, never an input
/// that is unknown.
struct StoreView<'a>(&'a Db);

impl UtxoView for StoreView<'_> {
    type Error = StoreError;

    fn utxo(&self, pos: UtxoPos) -> Result<UtxoState, StoreError> {
        self.0.utxo_state(pos)
    }
}

/// What the lock-free check found out about one transaction.
enum Checked {
    /// Already stored: its status.
    Known(TxStatus),
    /// Valid against the stored UTXO set.
    New(Arc<PendingTx>),
}

/// The owner-index changes of a block: its spent inputs leave, its outputs arrive.
fn owner_changes(blknum: u64, taken: &[(u64, Arc<PendingTx>)]) -> Vec<owners::Change> {
    let mut changes = Vec::with_capacity(3 * taken.len());
    for ((_, pending), index) in taken.iter().zip(0u64..) {
        let tx = pending.tx.tx();
        for (pos, output) in tx.inputs.iter().zip(&pending.spent) {
            changes.push(owners::Change::Remove(output.owner, *pos));
        }
        for (output, out_index) in tx.outputs.iter().zip(0u64..) {
            if let Ok(pos) = UtxoPos::new(blknum, index, out_index) {
                changes.push(owners::Change::Insert(output.owner, pos));
            }
        }
    }
    changes
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
        metrics
            .mempool_size
            .store(mempool.txs.len() as u64, Ordering::Relaxed);
        let next = db.next_block()?;
        metrics.latest_block.store(
            next.saturating_sub(plasma_core::CHILD_BLOCK_INTERVAL),
            Ordering::Relaxed,
        );
        metrics
            .last_committed_block
            .store(db.committed()?, Ordering::Relaxed);
        Ok(Self {
            db,
            rules,
            max_pending,
            mempool: Mutex::new(mempool),
            producer: Mutex::new(()),
            version: AtomicU64::new(0),
            owners: RwLock::new(owners),
            checkers: checker_pool(),
            metrics,
            full: Notify::new(),
        })
    }

    /// The store.
    pub fn db(&self) -> &Db {
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

    /// Validates `tx` against the stored UTXO set and the pending spends and, if valid, stores
    /// it durably as pending. A transaction already pending or included is reported as such
    /// (resubmitting is safe).
    pub fn submit(&self, tx: SignedTransaction) -> Result<TxStatus, SubmitError> {
        self.submit_batch(vec![tx])
            .pop()
            .unwrap_or(Ok(TxStatus::Pending))
    }

    /// [`submit`](Self::submit) for many transactions at once: each is accepted or refused on
    /// its own, in order (a later one may not spend what an earlier one spends), and all the
    /// accepted ones are stored in one durable write before any is acknowledged. One write per
    /// batch instead of one per transaction is what lets a batch of 1,000 cost one fsync.
    pub fn submit_batch(&self, txs: Vec<SignedTransaction>) -> Vec<Result<TxStatus, SubmitError>> {
        // The expensive part (signature recovery) runs without any lock, on all cores for a
        // long batch: an output's content never changes, only its state, which is checked
        // again under the lock when a block or an L1 event changed the store meanwhile.
        let version = self.version.load(Ordering::SeqCst);
        // Pending ones need no check at all (a client resending a batch).
        let pending: Vec<bool> = {
            let mempool = self.lock();
            txs.iter()
                .map(|tx| mempool.by_hash.contains_key(&tx.hash()))
                .collect()
        };
        let check = |(tx, pending): (SignedTransaction, bool)| {
            if pending {
                Ok(Checked::Known(TxStatus::Pending))
            } else {
                self.precheck(tx)
            }
        };
        let check_all = || -> Vec<Result<Checked, SubmitError>> {
            if txs.len() >= PARALLEL_CHECK_MIN {
                txs.into_par_iter().zip(pending).map(check).collect()
            } else {
                txs.into_iter().zip(pending).map(check).collect()
            }
        };
        let checked = match &self.checkers {
            Some(pool) => pool.install(check_all),
            None => check_all(),
        };

        let mut results: Vec<Result<TxStatus, SubmitError>> = Vec::with_capacity(checked.len());
        let mut mempool = self.lock();
        let recheck = self.version.load(Ordering::SeqCst) != version;
        let mut batch = Batch::new();
        let mut admitted: Vec<(u64, Arc<PendingTx>)> = Vec::new();
        // Which results are the admitted transactions'.
        let mut admitted_results: Vec<usize> = Vec::new();
        let mut batch_spends: HashMap<UtxoPos, B256> = HashMap::default();
        let mut batch_hashes: HashSet<B256> = HashSet::default();
        for check in checked {
            let pending = match check {
                Ok(Checked::New(pending)) => pending,
                Ok(Checked::Known(status)) => {
                    results.push(Ok(status));
                    continue;
                }
                Err(e) => {
                    results.push(Err(e));
                    continue;
                }
            };
            let hash = pending.tx.hash();
            if mempool.by_hash.contains_key(&hash) || batch_hashes.contains(&hash) {
                results.push(Ok(TxStatus::Pending)); // accepted meanwhile or earlier in the batch
                continue;
            }
            if let Err(e) = self.admit(
                &mempool,
                &pending.tx,
                &batch_spends,
                admitted.len(),
                recheck,
            ) {
                results.push(Err(e));
                continue;
            }
            let seq = mempool.next_seq + admitted.len() as u64;
            Db::put_tx(&mut batch, seq, &pending.tx);
            for pos in &pending.tx.tx().inputs {
                batch_spends.insert(*pos, hash);
            }
            batch_hashes.insert(hash);
            admitted.push((seq, pending));
            admitted_results.push(results.len());
            results.push(Ok(TxStatus::Pending));
        }
        if !admitted.is_empty()
            && let Err(e) = self.db.write(batch)
        {
            // Nothing of this batch was stored: none of it is acknowledged.
            drop(mempool);
            let error = e.to_string();
            tracing::error!(target: "operator::mempool", error = %error, "storing accepted transactions failed");
            for index in admitted_results {
                results[index] = Err(SubmitError::NotStored(error.clone()));
            }
            return results;
        }
        let accepted = admitted.len();
        for (seq, pending) in admitted {
            tracing::trace!(target: "operator::mempool", hash = %pending.tx.hash(), seq, "accepted");
            mempool.insert(seq, pending);
        }
        let len = mempool.txs.len();
        drop(mempool);
        for result in &results {
            if let Err(e) = result {
                self.metrics.reject(e.code());
            }
        }
        self.metrics
            .accepted
            .fetch_add(accepted as u64, Ordering::Relaxed);
        self.metrics
            .mempool_size
            .store(len as u64, Ordering::Relaxed);
        if len >= MAX_BLOCK_TXS {
            self.full.notify_one();
        }
        results
    }

    /// The checks that need no lock: the validity rules against the stored UTXO set. A
    /// transaction that breaks them may be one already in a block (its inputs are spent then):
    /// only then is the transaction index asked, so a new transaction costs no lookup of its
    /// hash.
    fn precheck(&self, tx: SignedTransaction) -> Result<Checked, SubmitError> {
        match validate(&tx, &StoreView(&self.db), &self.rules) {
            Ok(valid) => Ok(Checked::New(Arc::new(PendingTx::new(tx, valid.spent)))),
            Err(CheckError::View(e)) => Err(e.into()),
            Err(CheckError::Invalid(invalid)) => match self.db.tx_location(&tx.hash())? {
                Some(location) => Ok(Checked::Known(location.into())),
                None => Err(invalid.into()),
            },
        }
    }

    /// The checks under the lock: inputs not spent by a pending transaction (or by an earlier
    /// one of this batch), still unspent in the store when it changed since the lock-free
    /// check (`recheck`), and room in the mempool.
    fn admit(
        &self,
        mempool: &Mempool,
        tx: &SignedTransaction,
        batch_spends: &HashMap<UtxoPos, B256>,
        batch_len: usize,
        recheck: bool,
    ) -> Result<(), SubmitError> {
        for (index, pos) in tx.tx().inputs.iter().enumerate() {
            if let Some(by) = mempool.spends.get(pos).or_else(|| batch_spends.get(pos)) {
                return Err(SubmitError::DoubleSpend { pos: *pos, by: *by });
            }
            if !recheck {
                continue;
            }
            let reason = match self.db.utxo_state(*pos)? {
                UtxoState::Unspent(_) => continue,
                UtxoState::Exiting(_) => InputError::Exiting,
                UtxoState::Spent => InputError::Spent,
                UtxoState::Unknown => InputError::Unknown,
            };
            return Err(ValidationError::Input {
                index,
                pos: *pos,
                reason,
            }
            .into());
        }
        let pending = mempool.txs.len() + batch_len;
        if pending >= self.max_pending {
            return Err(SubmitError::MempoolFull(pending));
        }
        Ok(())
    }

    /// Makes the next operator block from up to 65,536 pending transactions (oldest first) and
    /// stores it — block record, spent and created outputs and the next block number — in one
    /// atomic batch. `None` when nothing is pending.
    pub fn produce_block(&self) -> Result<Option<Produced>, StoreError> {
        let _producer = self.producer.lock().unwrap_or_else(|e| e.into_inner());
        let start = Instant::now();
        let taken: Vec<(u64, Arc<PendingTx>)> = self
            .lock()
            .txs
            .iter()
            .take(MAX_BLOCK_TXS)
            .map(|(seq, pending)| (*seq, pending.clone()))
            .collect();
        if taken.is_empty() {
            return Ok(None);
        }
        let blknum = self.db.next_block()?;
        let corrupt = |what: String| StoreError::Corrupt {
            column: Column::Utxos.name(),
            what,
        };
        // The root on all cores while this thread lays out the writes, each column in key
        // order (the store then applies them without sorting): the spent inputs ascending, then
        // the new outputs, whose positions all follow them.
        let (root, batch) = rayon::join(
            || {
                let leaves = taken.iter().map(|(_, p)| p.leaf).collect();
                MerkleTree::from_leaf_hashes(leaves).map(|tree| tree.root())
            },
            || -> Result<Batch, StoreError> {
                let mut batch = Batch::with_capacity(3 * taken.len() + 4, 256 * taken.len());
                let mut spent: Vec<UtxoPos> = taken
                    .iter()
                    .flat_map(|(_, p)| p.tx.tx().inputs.iter().copied())
                    .collect();
                spent.sort_unstable();
                for pos in spent {
                    Db::delete_utxo(&mut batch, pos);
                }
                for ((_, pending), index) in taken.iter().zip(0u64..) {
                    for (output, out_index) in pending.tx.tx().outputs.iter().zip(0u64..) {
                        let pos = UtxoPos::new(blknum, index, out_index)
                            .map_err(|e| corrupt(e.to_string()))?;
                        let record = UtxoRecord {
                            output: *output,
                            exiting: false,
                        };
                        Db::put_utxo(&mut batch, pos, &record);
                    }
                }
                Db::put_meta_u64(
                    &mut batch,
                    meta::NEXT_BLOCK,
                    blknum + plasma_core::CHILD_BLOCK_INTERVAL,
                );
                Ok(batch)
            },
        );
        let root = root.map_err(|e| corrupt(e.to_string()))?;
        let mut batch = batch?;
        let header = BlockHeader {
            root,
            timestamp: 0,
            tx_count: u32::try_from(taken.len()).unwrap_or(u32::MAX),
        };
        Db::put_operator_block(
            &mut batch,
            blknum,
            header,
            runs_of(taken.iter().map(|(seq, _)| *seq)),
        );
        // The owner index changes while the block is written; should the write fail, they
        // are undone.
        let changes = owner_changes(blknum, &taken);
        let (written, ()) = rayon::join(
            || self.db.write(batch),
            || self.owners_mut().apply(&changes),
        );
        if let Err(e) = written {
            self.owners_mut().revert(&changes);
            return Err(e);
        }

        let (remaining, removed) = {
            let mut mempool = self.lock();
            self.version.fetch_add(1, Ordering::SeqCst);
            let last = taken.last().map_or(0, |(seq, _)| *seq);
            let removed = mempool.take_through(last);
            (mempool.txs.len(), removed)
        };
        self.metrics
            .mempool_size
            .store(remaining as u64, Ordering::Relaxed);
        self.metrics.block_produced(blknum);
        let took = start.elapsed();
        self.metrics.observe_block_build(took.as_secs_f64());
        tracing::info!(
            target: "operator::producer",
            blknum,
            txs = taken.len(),
            root = %root,
            remaining,
            took_ms = took.as_millis() as u64,
            "block produced"
        );
        if remaining >= MAX_BLOCK_TXS {
            self.full.notify_one();
        }
        let transactions = taken.len();
        // Freeing 65,536 transactions takes a while: not on the way of the next block.
        rayon::spawn(move || drop((taken, removed, changes)));
        Ok(Some(Produced {
            blknum,
            root,
            transactions,
        }))
    }

    /// Applies L1 events in order and moves the L1 cursor to `cursor`, in one atomic batch.
    /// Idempotent: a deposit whose block exists is skipped, so a replay after a crash between
    /// reading and writing applies nothing twice.
    pub fn apply_l1_events(&self, events: &[L1Event], cursor: u64) -> Result<(), StoreError> {
        let _producer = self.producer.lock().unwrap_or_else(|e| e.into_inner());
        let mut mempool = self.lock();
        let mut batch = Batch::new();
        // Records changed earlier in this batch.
        let mut overlay: HashMap<UtxoPos, Option<UtxoRecord>> = HashMap::default();
        let mut dropped: Vec<u64> = Vec::new();
        let mut owner_changes: Vec<owners::Change> = Vec::new();
        let mut deposits = 0u64;
        let mut exits = 0u64;
        let read = |overlay: &HashMap<UtxoPos, Option<UtxoRecord>>, pos: UtxoPos| match overlay
            .get(&pos)
        {
            Some(record) => Ok(*record),
            None => self.db.utxo(pos),
        };
        for event in events {
            match event {
                L1Event::Deposit { deposit, timestamp } => {
                    let Ok(pos) = deposit.utxo_pos() else {
                        tracing::warn!(target: "operator::follower", ?deposit, "deposit with a bad block number ignored");
                        continue;
                    };
                    if self.db.block_header(deposit.blknum)?.is_some() || overlay.contains_key(&pos)
                    {
                        continue;
                    }
                    let tx = SignedTransaction::new(deposit.transaction(), Vec::new());
                    let block = Block {
                        blknum: deposit.blknum,
                        root: deposit.block_root(),
                        timestamp: *timestamp,
                        transactions: vec![tx],
                    };
                    Db::put_deposit_block(&mut batch, &block);
                    let record = UtxoRecord {
                        output: Output::new(deposit.owner, deposit.token, deposit.amount),
                        exiting: false,
                    };
                    Db::put_utxo(&mut batch, pos, &record);
                    overlay.insert(pos, Some(record));
                    owner_changes.push(owners::Change::Insert(deposit.owner, pos));
                    deposits += 1;
                    tracing::info!(target: "operator::follower", blknum = deposit.blknum, owner = %deposit.owner, token = %deposit.token, amount = %deposit.amount, "deposit block created");
                }
                L1Event::ExitStarted(pos) => {
                    if let Some(mut record) = read(&overlay, *pos)? {
                        if !record.exiting {
                            exits += 1;
                        }
                        record.exiting = true;
                        Db::put_utxo(&mut batch, *pos, &record);
                        overlay.insert(*pos, Some(record));
                        tracing::info!(target: "operator::follower", utxo_pos = %pos, "output exiting");
                    } else {
                        tracing::warn!(target: "operator::follower", utxo_pos = %pos, "exit started for an output not in the UTXO set (spent or unknown): a watcher should challenge it");
                    }
                    if let Some(hash) = mempool.spends.get(pos)
                        && let Some(seq) = mempool.by_hash.get(hash)
                        && !dropped.contains(seq)
                    {
                        Db::delete_tx(&mut batch, *seq, hash);
                        dropped.push(*seq);
                        tracing::warn!(target: "operator::follower", utxo_pos = %pos, tx = %hash, "pending transaction dropped: its input is exiting");
                    }
                }
                L1Event::ExitChallenged(pos) => {
                    if let Some(mut record) = read(&overlay, *pos)?
                        && record.exiting
                    {
                        record.exiting = false;
                        Db::put_utxo(&mut batch, *pos, &record);
                        overlay.insert(*pos, Some(record));
                        tracing::info!(target: "operator::follower", utxo_pos = %pos, "exit challenged: output spendable again");
                    }
                }
                L1Event::ExitFinalized(pos) => {
                    if let Some(record) = read(&overlay, *pos)? {
                        Db::delete_utxo(&mut batch, *pos);
                        overlay.insert(*pos, None);
                        owner_changes.push(owners::Change::Remove(record.output.owner, *pos));
                        tracing::info!(target: "operator::follower", utxo_pos = %pos, "exit finalized: output removed");
                    }
                }
            }
        }
        Db::put_meta_u64(&mut batch, meta::L1_CURSOR, cursor);
        self.db.write(batch)?;
        self.version.fetch_add(1, Ordering::SeqCst);
        for seq in &dropped {
            mempool.remove(*seq);
        }
        let len = mempool.txs.len();
        drop(mempool);
        self.owners_mut().apply(&owner_changes);
        let m = &self.metrics;
        m.mempool_size.store(len as u64, Ordering::Relaxed);
        m.deposits.fetch_add(deposits, Ordering::Relaxed);
        m.exits_started.fetch_add(exits, Ordering::Relaxed);
        m.pending_dropped
            .fetch_add(dropped.len() as u64, Ordering::Relaxed);
        Ok(())
    }

    /// Records that operator block `blknum` is committed on L1 at `timestamp`.
    pub fn mark_committed(&self, blknum: u64, timestamp: u64) -> Result<(), StoreError> {
        let mut batch = Batch::new();
        if let Some(mut record) = self.db.block_record(blknum)? {
            record.header.timestamp = timestamp;
            Db::put_block_record(&mut batch, blknum, &record);
        }
        Db::put_meta_u64(&mut batch, meta::COMMITTED, blknum);
        self.db.write(batch)
    }
}

#[cfg(test)]
mod tests {
    use alloy::primitives::{Address, U256};
    use alloy::signers::local::PrivateKeySigner;
    use plasma_core::{Domain, ETH, Output, Transaction};

    use super::*;
    use crate::store::MemoryStore;

    struct Fixture {
        chain: Chain,
        domain: Domain,
        alice: PrivateKeySigner,
    }

    /// A second chain over the same store, as after a restart.
    fn reopen(chain: &Chain) -> Chain {
        Chain::open(
            chain.db().clone(),
            *chain.rules(),
            100,
            Arc::new(Metrics::default()),
        )
        .unwrap()
    }

    fn fixture() -> Fixture {
        let domain = Domain::new(31337, Address::repeat_byte(0xcc));
        let rules = Rules {
            domain_separator: domain.separator(),
            min_fee: U256::from(10),
        };
        let db = Db::new(Arc::new(MemoryStore::new()));
        let chain = Chain::open(db, rules, 100, Arc::new(Metrics::default())).unwrap();
        Fixture {
            chain,
            domain,
            alice: PrivateKeySigner::random(),
        }
    }

    /// The transactions the store holds as pending.
    fn pending_stored(f: &Fixture) -> Vec<(u64, SignedTransaction)> {
        let db = f.chain.db();
        db.txs_from(db.pending_from().unwrap()).unwrap()
    }

    fn deposit(f: &Fixture, blknum: u64, amount: u64) -> UtxoPos {
        let deposit = Deposit {
            blknum,
            owner: f.alice.address(),
            token: ETH,
            amount: U256::from(amount),
        };
        f.chain
            .apply_l1_events(
                &[L1Event::Deposit {
                    deposit,
                    timestamp: 5,
                }],
                10,
            )
            .unwrap();
        deposit.utxo_pos().unwrap()
    }

    fn pay(f: &Fixture, input: UtxoPos, amount: u64, fee: u64, to: Address) -> SignedTransaction {
        let tx = Transaction::payment(
            vec![input],
            vec![Output::new(to, ETH, U256::from(amount - fee))],
        );
        SignedTransaction::sign(tx, &f.domain, &f.alice).unwrap()
    }

    #[test]
    fn a_batch_is_judged_per_transaction_in_order_and_stored_together() {
        let f = fixture();
        let (a, b) = (deposit(&f, 1, 100), deposit(&f, 2, 100));
        let bob = Address::repeat_byte(0xb0);
        let first = pay(&f, a, 100, 10, bob);
        let double = pay(&f, a, 100, 20, bob); // spends `a` again, other bytes
        let cheap = pay(&f, b, 100, 1, bob); // fee below the minimum
        let second = pay(&f, b, 100, 10, bob);
        let results = f.chain.submit_batch(vec![
            first.clone(),
            double,
            first.clone(),
            cheap,
            second.clone(),
        ]);
        let codes: Vec<&str> = results
            .iter()
            .map(|r| r.as_ref().map_or_else(|e| e.code(), |_| "ok"))
            .collect();
        assert_eq!(codes, ["ok", "double_spend", "ok", "fee_too_low", "ok"]);
        assert_eq!(f.chain.mempool_len(), 2);
        assert_eq!(f.chain.pending_spend(a), Some(first.hash()));
        assert_eq!(f.chain.pending_spend(b), Some(second.hash()));
        // Both are in the store: a reopened chain still has them pending.
        let reopened = reopen(&f.chain);
        assert_eq!(reopened.mempool_len(), 2);
        // Resubmitting an accepted transaction is safe and reports it pending.
        assert!(matches!(f.chain.submit(first), Ok(TxStatus::Pending)));
        assert_eq!(f.chain.mempool_len(), 2);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn transactions_are_checked_at_lower_priority_than_blocks_are_made() {
        let f = fixture();
        let pos = deposit(&f, 1, 100);
        f.chain
            .submit(pay(&f, pos, 100, 10, Address::repeat_byte(1)))
            .unwrap();
        // The checking threads run at niceness 5 (field 19 of /proc/<tid>/stat), below this
        // thread, which makes blocks. (Under a niceness of 5 or more nothing can be lowered
        // without privileges: then there is nothing to check.)
        let niceness = |stat: &str| -> i64 {
            let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..].split(' ').collect();
            fields[16].parse().unwrap()
        };
        let own = niceness(&std::fs::read_to_string("/proc/thread-self/stat").unwrap());
        let wanted: i64 = CHECKER_NICENESS.parse().unwrap();
        if own >= wanted {
            return;
        }
        let mut checkers = 0;
        for task in std::fs::read_dir("/proc/self/task").unwrap() {
            let dir = task.unwrap().path();
            let name = std::fs::read_to_string(dir.join("comm")).unwrap_or_default();
            if name.starts_with("tx-checker") {
                let stat = std::fs::read_to_string(dir.join("stat")).unwrap();
                assert_eq!(niceness(&stat), wanted, "{name}");
                checkers += 1;
            }
        }
        assert!(checkers >= 1, "no tx-checker thread");
    }

    #[test]
    fn deposit_is_applied_once() {
        let f = fixture();
        let pos = deposit(&f, 1, 100);
        deposit(&f, 1, 100);
        assert_eq!(f.chain.db().block_numbers(0, 10).unwrap(), vec![1]);
        let block = f.chain.db().block(1).unwrap().unwrap();
        assert!(block.root_matches());
        assert_eq!(block.timestamp, 5);
        assert!(matches!(
            f.chain.db().utxo_state(pos).unwrap(),
            UtxoState::Unspent(_)
        ));
        assert_eq!(f.chain.db().meta_u64(meta::L1_CURSOR).unwrap(), Some(10));
    }

    #[test]
    fn accepts_builds_a_block_and_spends() {
        let f = fixture();
        let pos = deposit(&f, 1, 100);
        let bob = Address::repeat_byte(0xb0);
        let tx = pay(&f, pos, 100, 10, bob);
        assert_eq!(f.chain.submit(tx.clone()).unwrap(), TxStatus::Pending);
        // Resubmitting is idempotent.
        assert_eq!(f.chain.submit(tx.clone()).unwrap(), TxStatus::Pending);
        assert_eq!(pending_stored(&f).len(), 1);

        let produced = f.chain.produce_block().unwrap().unwrap();
        assert_eq!(produced.blknum, 1000);
        assert_eq!(produced.transactions, 1);
        assert!(f.chain.produce_block().unwrap().is_none());
        assert_eq!(f.chain.db().next_block().unwrap(), 2000);
        assert!(pending_stored(&f).is_empty());
        assert_eq!(f.chain.mempool_len(), 0);
        assert_eq!(f.chain.db().utxo_state(pos).unwrap(), UtxoState::Spent);
        let created = UtxoPos::new(1000, 0, 0).unwrap();
        assert!(
            matches!(f.chain.db().utxo_state(created).unwrap(), UtxoState::Unspent(o) if o.owner == bob)
        );
        assert_eq!(f.chain.owner_utxos(bob, 0, 10).unwrap().len(), 1);
        assert!(
            f.chain
                .owner_utxos(f.alice.address(), 0, 10)
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            f.chain.submit(tx.clone()).unwrap(),
            TxStatus::Included {
                blknum: 1000,
                index: 0
            }
        );
        let stored = f.chain.db().block(1000).unwrap().unwrap();
        assert_eq!(stored.root, produced.root);
        assert_eq!(stored.transactions, vec![tx]);
        assert!(stored.root_matches());
    }

    #[test]
    fn double_spend_against_the_mempool_is_rejected() {
        let f = fixture();
        let pos = deposit(&f, 1, 100);
        f.chain
            .submit(pay(&f, pos, 100, 10, Address::repeat_byte(1)))
            .unwrap();
        let err = f
            .chain
            .submit(pay(&f, pos, 100, 20, Address::repeat_byte(2)))
            .unwrap_err();
        assert_eq!(err.code(), "double_spend");
        assert_eq!(f.chain.mempool_len(), 1);
    }

    #[test]
    fn exiting_outputs_are_unspendable_and_drop_pending_spends() {
        let f = fixture();
        let a = deposit(&f, 1, 100);
        let b = deposit(&f, 2, 100);
        f.chain
            .submit(pay(&f, b, 100, 10, Address::repeat_byte(1)))
            .unwrap();
        f.chain
            .apply_l1_events(&[L1Event::ExitStarted(a), L1Event::ExitStarted(b)], 11)
            .unwrap();
        assert_eq!(f.chain.mempool_len(), 0);
        assert!(pending_stored(&f).is_empty());
        let err = f
            .chain
            .submit(pay(&f, a, 100, 10, Address::repeat_byte(1)))
            .unwrap_err();
        assert_eq!(err.code(), "input_exiting");

        f.chain
            .apply_l1_events(&[L1Event::ExitChallenged(a)], 12)
            .unwrap();
        f.chain
            .submit(pay(&f, a, 100, 10, Address::repeat_byte(1)))
            .unwrap();
        f.chain
            .apply_l1_events(&[L1Event::ExitFinalized(b)], 13)
            .unwrap();
        assert_eq!(f.chain.db().utxo(b).unwrap(), None);
        assert_eq!(f.chain.db().utxo_state(b).unwrap(), UtxoState::Spent);
    }

    #[test]
    fn pending_transactions_survive_reopening() {
        let f = fixture();
        let pos = deposit(&f, 1, 100);
        let tx = pay(&f, pos, 100, 10, Address::repeat_byte(1));
        f.chain.submit(tx.clone()).unwrap();
        let reopened = reopen(&f.chain);
        assert_eq!(reopened.mempool_len(), 1);
        assert_eq!(
            reopened.transaction(&tx.hash()).unwrap().map(|(s, _)| s),
            Some(TxStatus::Pending)
        );
        let err = reopened
            .submit(pay(&f, pos, 100, 20, Address::repeat_byte(2)))
            .unwrap_err();
        assert_eq!(err.code(), "double_spend");
    }

    #[test]
    fn invalid_transactions_change_nothing() {
        let f = fixture();
        let pos = deposit(&f, 1, 100);
        let low_fee = pay(&f, pos, 100, 1, Address::repeat_byte(1));
        assert_eq!(f.chain.submit(low_fee).unwrap_err().code(), "fee_too_low");
        let unknown = pay(
            &f,
            UtxoPos::new(5, 0, 0).unwrap(),
            100,
            10,
            Address::repeat_byte(1),
        );
        assert_eq!(f.chain.submit(unknown).unwrap_err().code(), "input_unknown");
        assert_eq!(f.chain.mempool_len(), 0);
        assert!(pending_stored(&f).is_empty());
        let rendered = f.chain.metrics().render();
        assert!(rendered.contains("reason=\"fee_too_low\"} 1"), "{rendered}");
    }
}
