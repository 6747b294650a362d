//! The child chain's state machine: the mempool over the stored UTXO set, block production, and
//! the application of L1 events (deposits and exits).
//!
//! Every change is one atomic store batch written while holding the mempool lock, so the
//! in-memory mempool and the store never disagree: a transaction is acknowledged only after its
//! pending record is written; a block moves its transactions from pending to the block, spends
//! their inputs and creates their outputs in one batch.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard};

use alloy::primitives::B256;
use plasma_core::{
    Block, Deposit, InputError, Rules, SignedTransaction, UtxoPos, UtxoState, UtxoView,
    ValidationError, validate,
};
use tokio::sync::Notify;

use crate::metrics::Metrics;
use crate::store::records::{UtxoRecord, meta};
use crate::store::{Batch, Column, Db, StoreError, records};

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

#[derive(Debug, Default)]
struct Mempool {
    txs: BTreeMap<u64, SignedTransaction>,
    by_hash: HashMap<B256, u64>,
    spends: HashMap<UtxoPos, B256>,
    next_seq: u64,
}

impl Mempool {
    fn insert(&mut self, seq: u64, tx: SignedTransaction) {
        let hash = tx.hash();
        for pos in &tx.tx().inputs {
            self.spends.insert(*pos, hash);
        }
        self.by_hash.insert(hash, seq);
        self.txs.insert(seq, tx);
        self.next_seq = self.next_seq.max(seq + 1);
    }

    fn remove(&mut self, seq: u64) -> Option<SignedTransaction> {
        let tx = self.txs.remove(&seq)?;
        for pos in &tx.tx().inputs {
            self.spends.remove(pos);
        }
        self.by_hash.remove(&tx.hash());
        Some(tx)
    }
}

/// The stored UTXO set as a [`UtxoView`] (a store error reads as unknown and is kept).
struct StoreView<'a> {
    db: &'a Db,
    error: RefCell<Option<StoreError>>,
}

impl UtxoView for StoreView<'_> {
    fn utxo(&self, pos: UtxoPos) -> UtxoState {
        match self.db.utxo_state(pos) {
            Ok(state) => state,
            Err(e) => {
                self.error.borrow_mut().get_or_insert(e);
                UtxoState::Unknown
            }
        }
    }
}

/// The operator's chain state: store, rules, mempool.
#[derive(Debug)]
pub struct Chain {
    db: Db,
    rules: Rules,
    max_pending: usize,
    mempool: Mutex<Mempool>,
    metrics: Arc<Metrics>,
    full: Notify,
}

impl Chain {
    /// Opens the chain on `db`, loading the pending transactions.
    pub fn open(
        db: Db,
        rules: Rules,
        max_pending: usize,
        metrics: Arc<Metrics>,
    ) -> Result<Self, StoreError> {
        let mut mempool = Mempool::default();
        for (seq, tx) in db.pending()? {
            mempool.insert(seq, tx);
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

    /// Number of pending transactions.
    pub fn mempool_len(&self) -> usize {
        self.lock().txs.len()
    }

    /// Whether the pending transactions spend `pos`.
    pub fn pending_spend(&self, pos: UtxoPos) -> Option<B256> {
        self.lock().spends.get(&pos).copied()
    }

    /// The status of a transaction by hash, with the transaction.
    pub fn transaction(
        &self,
        hash: &B256,
    ) -> Result<Option<(TxStatus, SignedTransaction)>, StoreError> {
        {
            let mempool = self.lock();
            if let Some(tx) = mempool.by_hash.get(hash).and_then(|s| mempool.txs.get(s)) {
                return Ok(Some((TxStatus::Pending, tx.clone())));
            }
        }
        let Some((blknum, index)) = self.db.tx_location(hash)? else {
            return Ok(None);
        };
        Ok(self
            .db
            .block_tx(blknum, index)?
            .map(|tx| (TxStatus::Included { blknum, index }, tx)))
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
        let mut results: Vec<Result<TxStatus, SubmitError>> = Vec::with_capacity(txs.len());
        // The expensive part (signature recovery) runs without the lock: an output's content
        // never changes, only its state, which is checked again under the lock below.
        let mut checked: Vec<Option<SignedTransaction>> = Vec::with_capacity(txs.len());
        for tx in txs {
            match self.precheck(&tx) {
                Ok(None) => {
                    results.push(Ok(TxStatus::Pending));
                    checked.push(Some(tx));
                }
                Ok(Some(known)) => {
                    results.push(Ok(known));
                    checked.push(None);
                }
                Err(e) => {
                    results.push(Err(e));
                    checked.push(None);
                }
            }
        }

        let mut mempool = self.lock();
        let mut batch = Batch::new();
        let mut admitted: Vec<(u64, SignedTransaction)> = Vec::new();
        let mut batch_spends: HashMap<UtxoPos, B256> = HashMap::new();
        let mut batch_hashes: HashSet<B256> = HashSet::new();
        for (result, tx) in results.iter_mut().zip(checked) {
            let Some(tx) = tx else { continue };
            let hash = tx.hash();
            if mempool.by_hash.contains_key(&hash) || batch_hashes.contains(&hash) {
                continue; // already pending: reported as pending
            }
            match self.admit(&mempool, &tx, &batch_spends, admitted.len()) {
                Ok(()) => {
                    let seq = mempool.next_seq + admitted.len() as u64;
                    batch.put(
                        Column::Pending,
                        records::u64_bytes(seq),
                        records::encode_signed(&tx),
                    );
                    for pos in &tx.tx().inputs {
                        batch_spends.insert(*pos, hash);
                    }
                    batch_hashes.insert(hash);
                    admitted.push((seq, tx));
                }
                Err(e) => *result = Err(e),
            }
        }
        if !admitted.is_empty()
            && let Err(e) = self.db.write(batch)
        {
            // Nothing of this batch was stored: none of it is acknowledged.
            drop(mempool);
            let error = e.to_string();
            return results
                .into_iter()
                .map(|r| match r {
                    Ok(TxStatus::Pending) => Err(SubmitError::NotStored(error.clone())),
                    other => other,
                })
                .collect();
        }
        let accepted = admitted.len();
        for (seq, tx) in admitted {
            tracing::debug!(target: "operator::mempool", hash = %tx.hash(), seq, "accepted");
            mempool.insert(seq, tx);
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

    /// The checks that need no lock: a known transaction's status, or the validity rules
    /// against the stored UTXO set (`None`: valid and new).
    fn precheck(&self, tx: &SignedTransaction) -> Result<Option<TxStatus>, SubmitError> {
        if let Some((status, _)) = self.transaction(&tx.hash())? {
            return Ok(Some(status));
        }
        let view = StoreView {
            db: &self.db,
            error: RefCell::new(None),
        };
        let checked = validate(tx, &view, &self.rules);
        if let Some(e) = view.error.into_inner() {
            return Err(e.into());
        }
        checked?;
        Ok(None)
    }

    /// The checks under the lock: inputs not spent by a pending transaction (or by an earlier
    /// one of this batch) and still unspent in the store, and room in the mempool.
    fn admit(
        &self,
        mempool: &Mempool,
        tx: &SignedTransaction,
        batch_spends: &HashMap<UtxoPos, B256>,
        batch_len: usize,
    ) -> Result<(), SubmitError> {
        for (index, pos) in tx.tx().inputs.iter().enumerate() {
            if let Some(by) = mempool.spends.get(pos).or_else(|| batch_spends.get(pos)) {
                return Err(SubmitError::DoubleSpend { pos: *pos, by: *by });
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

    /// Builds the next operator block from up to 65,536 pending transactions (oldest first)
    /// and stores it — block, transactions, spent and created outputs, removal from pending
    /// and the next block number — in one atomic batch. `None` when nothing is pending.
    pub fn produce_block(&self) -> Result<Option<Block>, StoreError> {
        let mut mempool = self.lock();
        if mempool.txs.is_empty() {
            return Ok(None);
        }
        let taken: Vec<(u64, SignedTransaction)> = mempool
            .txs
            .iter()
            .take(MAX_BLOCK_TXS)
            .map(|(s, t)| (*s, t.clone()))
            .collect();
        let blknum = self.db.next_block()?;
        let block =
            Block::new(blknum, 0, taken.iter().map(|(_, t)| t.clone()).collect()).map_err(|e| {
                StoreError::Corrupt {
                    column: "mempool",
                    what: e.to_string(),
                }
            })?;
        let mut batch = Batch::new();
        Db::put_block(&mut batch, &block);
        for ((seq, tx), index) in taken.iter().zip(0u64..) {
            for pos in &tx.tx().inputs {
                let record = self.db.utxo(*pos)?.ok_or_else(|| StoreError::Corrupt {
                    column: Column::Utxos.name(),
                    what: format!("pending transaction spends missing output {pos}"),
                })?;
                Db::delete_utxo(&mut batch, *pos, record.output.owner);
            }
            for (output, out_index) in tx.tx().outputs.iter().zip(0u64..) {
                let pos =
                    UtxoPos::new(blknum, index, out_index).map_err(|e| StoreError::Corrupt {
                        column: Column::Utxos.name(),
                        what: e.to_string(),
                    })?;
                Db::put_utxo(
                    &mut batch,
                    pos,
                    &UtxoRecord {
                        output: *output,
                        exiting: false,
                    },
                );
            }
            batch.delete(Column::Pending, records::u64_bytes(*seq));
        }
        Db::put_meta_u64(
            &mut batch,
            meta::NEXT_BLOCK,
            blknum + plasma_core::CHILD_BLOCK_INTERVAL,
        );
        self.db.write(batch)?;
        for (seq, _) in &taken {
            mempool.remove(*seq);
        }
        let remaining = mempool.txs.len();
        drop(mempool);
        self.metrics
            .mempool_size
            .store(remaining as u64, Ordering::Relaxed);
        self.metrics.block_produced(blknum);
        tracing::info!(
            target: "operator::producer",
            blknum,
            txs = block.transactions.len(),
            root = %block.root,
            remaining,
            "block produced"
        );
        if remaining >= MAX_BLOCK_TXS {
            self.full.notify_one();
        }
        Ok(Some(block))
    }

    /// Applies L1 events in order and moves the L1 cursor to `cursor`, in one atomic batch.
    /// Idempotent: a deposit whose block exists is skipped, so a replay after a crash between
    /// reading and writing applies nothing twice.
    pub fn apply_l1_events(&self, events: &[L1Event], cursor: u64) -> Result<(), StoreError> {
        let mut mempool = self.lock();
        let mut batch = Batch::new();
        // Records changed earlier in this batch.
        let mut overlay: HashMap<UtxoPos, Option<UtxoRecord>> = HashMap::new();
        let mut dropped: Vec<u64> = Vec::new();
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
                    Db::put_block(&mut batch, &block);
                    let record = UtxoRecord {
                        output: plasma_core::Output::new(
                            deposit.owner,
                            deposit.token,
                            deposit.amount,
                        ),
                        exiting: false,
                    };
                    Db::put_utxo(&mut batch, pos, &record);
                    overlay.insert(pos, Some(record));
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
                        batch.delete(Column::Pending, records::u64_bytes(*seq));
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
                        Db::delete_utxo(&mut batch, *pos, record.output.owner);
                        overlay.insert(*pos, None);
                        tracing::info!(target: "operator::follower", utxo_pos = %pos, "exit finalized: output removed");
                    }
                }
            }
        }
        Db::put_meta_u64(&mut batch, meta::L1_CURSOR, cursor);
        self.db.write(batch)?;
        for seq in &dropped {
            mempool.remove(*seq);
        }
        let len = mempool.txs.len();
        drop(mempool);
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
        if let Some(mut header) = self.db.block_header(blknum)? {
            header.timestamp = timestamp;
            Db::put_block_header(&mut batch, blknum, &header);
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
        let reopened = Chain::open(
            f.chain.db().clone(),
            *f.chain.rules(),
            100,
            Arc::new(Metrics::default()),
        )
        .unwrap();
        assert_eq!(reopened.mempool_len(), 2);
        // Resubmitting an accepted transaction is safe and reports it pending.
        assert!(matches!(f.chain.submit(first), Ok(TxStatus::Pending)));
        assert_eq!(f.chain.mempool_len(), 2);
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
        assert_eq!(f.chain.db().pending().unwrap().len(), 1);

        let block = f.chain.produce_block().unwrap().unwrap();
        assert_eq!(block.blknum, 1000);
        assert!(f.chain.produce_block().unwrap().is_none());
        assert_eq!(f.chain.db().next_block().unwrap(), 2000);
        assert!(f.chain.db().pending().unwrap().is_empty());
        assert_eq!(f.chain.mempool_len(), 0);
        assert_eq!(f.chain.db().utxo_state(pos).unwrap(), UtxoState::Spent);
        let created = UtxoPos::new(1000, 0, 0).unwrap();
        assert!(
            matches!(f.chain.db().utxo_state(created).unwrap(), UtxoState::Unspent(o) if o.owner == bob)
        );
        assert_eq!(f.chain.db().owner_utxos(bob).unwrap().len(), 1);
        assert!(
            f.chain
                .db()
                .owner_utxos(f.alice.address())
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
        assert_eq!(stored, block);
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
        assert!(f.chain.db().pending().unwrap().is_empty());
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
        let reopened = Chain::open(
            f.chain.db().clone(),
            *f.chain.rules(),
            100,
            Arc::new(Metrics::default()),
        )
        .unwrap();
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
        assert!(f.chain.db().pending().unwrap().is_empty());
        let rendered = f.chain.metrics().render();
        assert!(rendered.contains("reason=\"fee_too_low\"} 1"), "{rendered}");
    }
}
