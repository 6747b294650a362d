//! Applying the root contract's events: deposits become deposit blocks, exits make outputs
//! unspendable (and drop pending spends of them), processed exits remove outputs — each range of
//! L1 blocks in one atomic write with the L1 cursor.

use std::sync::atomic::Ordering;

use alloy::primitives::B256;
use alloy::primitives::map::HashMap;
use plasma_core::{Block, Deposit, Output, SignedTransaction, UtxoPos};

use super::{Chain, owners};
use crate::store::records::{UtxoRecord, meta};
use crate::store::{Batch, Db, Location, StoreError};

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
    /// An in-flight exit started: its inputs are claimed (see [`L1Event::InFlightClaimed`]).
    InFlightStarted {
        /// The in-flight transaction's inputs.
        inputs: Vec<UtxoPos>,
    },
    /// An output of an in-flight transaction was piggybacked: if this chain included the
    /// transaction, that output is claimed.
    InFlightOutputPiggybacked {
        /// The in-flight transaction.
        tx_hash: B256,
        /// The output's index in it.
        output_index: u64,
    },
    /// An output claimed by an in-flight exit: like an exiting output, it may not be spent (an
    /// honest operator never includes a spend that could make an honest in-flight exit fail),
    /// and pending spends of it are dropped.
    InFlightClaimed(UtxoPos),
    /// A fact of L1 kept for people to look at (the explorer); the chain's rules never read it.
    Record(super::l1_view::L1Record),
}

impl Chain {
    /// Applies L1 events in order and moves the L1 cursor to `cursor`, in one atomic batch.
    /// Idempotent: a deposit whose block exists is skipped, so a replay after a crash between
    /// reading and writing applies nothing twice.
    pub fn apply_l1_events(&self, events: &[L1Event], cursor: u64) -> Result<(), StoreError> {
        self.apply(events, cursor, None).map(|_| ())
    }

    /// Applies the events of the range of L1 blocks ending at block `to`, whose hash is
    /// `hash`, like [`apply_l1_events`](Self::apply_l1_events) with the cursor at `to + 1`, and
    /// journals what it wrote in the same batch, so that a reorganisation of L1 can undo it
    /// ([`super::reorg`]). Returns `false`, applying nothing, when the journal holds block `to`
    /// with another hash: L1 reorganised since the follower last checked.
    pub fn apply_l1_range(
        &self,
        events: &[L1Event],
        to: u64,
        hash: B256,
    ) -> Result<bool, StoreError> {
        self.apply(events, to.saturating_add(1), Some((to, hash)))
    }

    fn apply(
        &self,
        events: &[L1Event],
        cursor: u64,
        anchor: Option<(u64, B256)>,
    ) -> Result<bool, StoreError> {
        let _producer = self.producer.lock().unwrap_or_else(|e| e.into_inner());
        let mut mempool = self.lock();
        let mut batch = Batch::new();
        // Records changed earlier in this batch.
        let mut overlay: HashMap<UtxoPos, Option<UtxoRecord>> = HashMap::default();
        // Pending transactions dropped, deleted after the journal is taken: undoing an exit does
        // not bring them back.
        let mut dropped: Vec<(u64, B256)> = Vec::new();
        let mut owner_changes: Vec<owners::Change> = Vec::new();
        let mut deposits = 0u64;
        let mut exits = 0u64;
        let read = |overlay: &HashMap<UtxoPos, Option<UtxoRecord>>, pos: UtxoPos| match overlay
            .get(&pos)
        {
            Some(record) => Ok(*record),
            None => self.db.utxo(pos),
        };
        let events = self.expand_in_flight(events)?;
        let mut views = HashMap::default();
        for event in &events {
            match event {
                L1Event::Record(record) => self.db.put_l1_record(&mut batch, &mut views, record)?,
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
                L1Event::ExitStarted(pos) | L1Event::InFlightClaimed(pos) => {
                    if let Some(mut record) = read(&overlay, *pos)? {
                        if !record.exiting {
                            exits += 1;
                        }
                        record.exiting = true;
                        Db::put_utxo(&mut batch, *pos, &record);
                        overlay.insert(*pos, Some(record));
                        tracing::info!(target: "operator::follower", utxo_pos = %pos, in_flight = matches!(event, L1Event::InFlightClaimed(_)), "output exiting");
                    } else if let L1Event::ExitStarted(_) = event {
                        tracing::warn!(target: "operator::follower", utxo_pos = %pos, "exit started for an output not in the UTXO set (spent or unknown): a watcher should challenge it");
                    }
                    if let Some(hash) = mempool.spends.get(pos)
                        && let Some(seq) = mempool.by_hash.get(hash)
                        && !dropped.iter().any(|(s, _)| s == seq)
                    {
                        dropped.push((*seq, *hash));
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
                // Expanded into claims above.
                L1Event::InFlightStarted { .. } | L1Event::InFlightOutputPiggybacked { .. } => {}
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
        if let Some((to, hash)) = anchor {
            let Some(entry) = self.journal_of(&batch, to, hash)? else {
                return Ok(false);
            };
            self.put_journal(&mut batch, to, &entry)?;
        }
        for (seq, hash) in &dropped {
            Db::delete_tx(&mut batch, *seq, hash);
        }
        self.db.write(batch)?;
        self.version.fetch_add(1, Ordering::SeqCst);
        for (seq, _) in &dropped {
            mempool.remove(*seq);
        }
        let len = mempool.txs.len();
        drop(mempool);
        self.owners_mut().apply(&owner_changes);
        let m = &self.metrics;
        m.mempool_size.set(len as u64);
        m.deposits.inc_by(deposits);
        m.exits_started.inc_by(exits);
        m.pending_dropped.inc_by(dropped.len() as u64);
        Ok(true)
    }

    /// The events with each in-flight event turned into the claims it makes: a started exit
    /// claims its inputs, a piggybacked output is claimed where this chain included its
    /// transaction.
    fn expand_in_flight(&self, events: &[L1Event]) -> Result<Vec<L1Event>, StoreError> {
        let mut out = Vec::with_capacity(events.len());
        for event in events {
            match event {
                L1Event::InFlightStarted { inputs } => {
                    out.extend(inputs.iter().copied().map(L1Event::InFlightClaimed));
                }
                L1Event::InFlightOutputPiggybacked {
                    tx_hash,
                    output_index,
                } => {
                    if let Some(Location::Included { blknum, index }) =
                        self.db.tx_location(tx_hash)?
                        && let Ok(pos) = UtxoPos::new(blknum, u64::from(index), *output_index)
                    {
                        out.push(L1Event::InFlightClaimed(pos));
                    }
                }
                other => out.push(other.clone()),
            }
        }
        Ok(out)
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
    use alloy::primitives::Address;
    use plasma_api::ErrorCode;
    use plasma_core::UtxoState;

    use super::*;
    use crate::chain::test_utils::*;

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
        assert_eq!(err.code(), ErrorCode::InputExiting);

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
    fn in_flight_exits_claim_their_inputs_and_piggybacked_outputs() {
        let f = fixture();
        let bob = Address::repeat_byte(0xb0);
        let a = deposit(&f, 1, 100);
        let included = pay(&f, a, 100, 10, bob);
        f.chain.submit(included.clone()).unwrap();
        f.chain.produce_block().unwrap().expect("block 1000");
        let b = deposit(&f, 1001, 100);
        f.chain.submit(pay(&f, b, 100, 10, bob)).unwrap();
        assert_eq!(f.chain.mempool_len(), 1);

        // An in-flight exit spending `b` starts: `b` is claimed, its pending spend dropped.
        f.chain
            .apply_l1_events(&[L1Event::InFlightStarted { inputs: vec![b] }], 20)
            .unwrap();
        assert_eq!(f.chain.mempool_len(), 0);
        assert!(matches!(
            f.chain.db().utxo_state(b).unwrap(),
            UtxoState::Exiting(_)
        ));
        let err = f.chain.submit(pay(&f, b, 100, 20, bob)).unwrap_err();
        assert_eq!(err.code(), ErrorCode::InputExiting);

        // An output of a transaction this chain included is piggybacked: it is claimed too.
        let bobs = UtxoPos::new(1000, 0, 0).unwrap();
        f.chain
            .apply_l1_events(
                &[L1Event::InFlightOutputPiggybacked {
                    tx_hash: included.hash(),
                    output_index: 0,
                }],
                21,
            )
            .unwrap();
        assert!(matches!(
            f.chain.db().utxo_state(bobs).unwrap(),
            UtxoState::Exiting(_)
        ));
        // A piggyback of a transaction never included here changes nothing.
        f.chain
            .apply_l1_events(
                &[L1Event::InFlightOutputPiggybacked {
                    tx_hash: alloy::primitives::B256::repeat_byte(7),
                    output_index: 0,
                }],
                22,
            )
            .unwrap();
        assert_eq!(f.chain.db().meta_u64(meta::L1_CURSOR).unwrap(), Some(22));
    }
}
