//! L1 reorganisations: the journal the follower keeps of what it applied, and undoing it.
//!
//! Every range of L1 blocks the follower applies is journaled in the same atomic batch as its
//! changes: under the range's last block number, that block's hash and every key the batch
//! wrote with the value it had before (the L1 cursor among them). Before each step the follower
//! compares the newest entry's hash with L1's block of that number; when they differ, L1 has
//! reorganised, and it walks the journal back to the newest entry L1 still agrees with and
//! undoes every newer one, newest first, in one batch: each key the range wrote is set back to
//! its prior value — if it still holds what the range wrote. A key that changed since was
//! changed by a block (an output spent), and keeps its value, except one case nothing can put
//! right: a deposit's output spent in a block, when the deposit itself is gone from L1
//! ([`UndoError::DepositSpent`]). Then the range is read again from the restored cursor, so a
//! deposit or exit mined again in the new chain is applied again, once.
//!
//! Transactions dropped from the mempool because an exit claimed their input stay dropped
//! when that exit is undone (their senders post them again). Pending transactions that spend
//! an output the undo removes (a deposit that is gone) or claims again (an exit challenge that
//! is gone) are dropped.

use std::collections::HashMap;
use std::sync::atomic::Ordering;

use alloy::primitives::B256;
use plasma_core::UtxoPos;

use super::{Chain, owners};
use crate::store::records::{self, JournalEntry, UndoOp, UtxoRecord, meta};
use crate::store::{Batch, Column, Db, StoreError};

/// How many L1 blocks back the journal reaches: a reorganisation deeper than this (past the
/// configured confirmations) cannot be undone and stops the follower.
pub const JOURNAL_DEPTH: u64 = 1024;

/// Why undoing a reorganisation failed.
#[derive(Debug, thiserror::Error)]
pub enum UndoError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A deposit that L1 no longer has was spent on the child chain.
    #[error(
        "L1 reorganised away the deposit of output {pos}, which a block has spent since: the reorganisation is deeper than --l1-confirmations allows for, and the chain cannot follow it"
    )]
    DepositSpent {
        /// The deposit's output.
        pos: UtxoPos,
    },
}

/// What an undo changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Undone {
    /// Journal entries (ranges of L1 blocks) undone.
    pub ranges: usize,
    /// Keys set back.
    pub keys: usize,
    /// Deposit blocks removed.
    pub deposits: usize,
    /// Pending transactions dropped because the undo made their input unspendable.
    pub dropped: usize,
    /// The L1 cursor after it.
    pub cursor: Option<u64>,
}

impl Chain {
    /// The journal entry of `batch`, applied for the range of L1 blocks ending at `to` whose
    /// hash is `hash`: merged into the entry already kept for `to` (a block read again with no
    /// confirmations), whose prior values are the older ones. `None` when that entry has another
    /// hash: L1 reorganised since the follower's check, which the next check will find.
    pub(super) fn journal_of(
        &self,
        batch: &Batch,
        to: u64,
        hash: B256,
    ) -> Result<Option<JournalEntry>, StoreError> {
        let mut entry = match self.db.l1_journal(to)? {
            Some(entry) if entry.hash != hash => return Ok(None),
            Some(entry) => entry,
            None => JournalEntry {
                hash,
                ops: Vec::new(),
            },
        };
        let mut at: HashMap<(Column, Vec<u8>), usize> = entry
            .ops
            .iter()
            .enumerate()
            .map(|(i, op)| ((op.column, op.key.clone()), i))
            .collect();
        for op in batch.ops() {
            let (column, key) = op.target();
            let written = match op {
                crate::store::Op::Put(_, _, value) => Some(value.to_vec()),
                crate::store::Op::Delete(..) => None,
            };
            match at.get(&(column, key.to_vec())) {
                Some(&i) => entry.ops[i].written = written,
                None => {
                    at.insert((column, key.to_vec()), entry.ops.len());
                    entry.ops.push(UndoOp {
                        column,
                        key: key.to_vec(),
                        prior: self.db.raw_get(column, key)?,
                        written,
                    });
                }
            }
        }
        Ok(Some(entry))
    }

    /// Adds `entry` for `to` to `batch`, and the removal of the entries not needed to reach
    /// [`JOURNAL_DEPTH`] blocks back: an entry goes once the next one ends that far back.
    pub(super) fn put_journal(
        &self,
        batch: &mut Batch,
        to: u64,
        entry: &JournalEntry,
    ) -> Result<(), StoreError> {
        batch.put(Column::Meta, meta::l1_journal_key(to), entry.encode());
        let cutoff = to.saturating_sub(JOURNAL_DEPTH);
        for pair in self.db.l1_journal_blocks(0, 64)?.windows(2) {
            if pair[1] > cutoff {
                break;
            }
            batch.delete(Column::Meta, meta::l1_journal_key(pair[0]));
        }
        Ok(())
    }

    /// Undoes every journaled range of L1 blocks ending after L1 block `keep` (every one when
    /// `None`), newest first, in one atomic batch, and drops the pending transactions whose
    /// input the undo makes unspendable. Nothing is written when it fails.
    pub fn undo_l1_after(&self, keep: Option<u64>) -> Result<Undone, UndoError> {
        let _producer = self.producer.lock().unwrap_or_else(|e| e.into_inner());
        let mut mempool = self.lock();
        let first = keep.map_or(0, |k| k.saturating_add(1));
        let ranges = self.db.l1_journal_blocks(first, usize::MAX)?;
        let mut batch = Batch::new();
        // The values set back so far, newest range first.
        let mut overlay: HashMap<(Column, Vec<u8>), Option<Vec<u8>>> = HashMap::new();
        // The UTXO set's changes: position → its value before the undo and after.
        let mut utxos: HashMap<Vec<u8>, BeforeAfter> = HashMap::new();
        let mut undone = Undone {
            ranges: ranges.len(),
            ..Undone::default()
        };
        for &to in ranges.iter().rev() {
            let Some(entry) = self.db.l1_journal(to)? else {
                continue;
            };
            for op in entry.ops {
                let slot = (op.column, op.key.clone());
                let current = match overlay.get(&slot) {
                    Some(value) => value.clone(),
                    None => self.db.raw_get(op.column, &op.key)?,
                };
                if current != op.written {
                    // Changed since by a block: an output spent. Only a deposit's cannot be
                    // left so.
                    if op.column == Column::Utxos && op.prior.is_none() {
                        return Err(UndoError::DepositSpent {
                            pos: utxo_pos(&op.key)?,
                        });
                    }
                    continue;
                }
                match &op.prior {
                    Some(value) => batch.put(op.column, &op.key, value),
                    None => batch.delete(op.column, &op.key),
                }
                if op.column == Column::Utxos {
                    utxos
                        .entry(op.key.clone())
                        .or_insert((current, None))
                        .1
                        .clone_from(&op.prior);
                }
                if op.column == Column::Blocks && op.prior.is_none() {
                    undone.deposits += 1;
                }
                if op.column == Column::Meta && op.key == meta::L1_CURSOR {
                    undone.cursor = op
                        .prior
                        .as_deref()
                        .map(records::read_u64)
                        .transpose()
                        .map_err(|e| StoreError::Corrupt {
                            column: Column::Meta.name(),
                            what: e.0,
                        })?;
                }
                undone.keys += 1;
                overlay.insert(slot, op.prior);
            }
            batch.delete(Column::Meta, meta::l1_journal_key(to));
        }
        // Pending spends of outputs the undo removes or claims again.
        let mut owner_changes = Vec::new();
        let mut dropped = Vec::new();
        for (key, (before, after)) in &utxos {
            let pos = utxo_pos(key)?;
            let before = before.as_deref().map(decode_utxo).transpose()?;
            let after = after.as_deref().map(decode_utxo).transpose()?;
            match (before, after) {
                (Some(b), None) => owner_changes.push(owners::Change::Remove(b.output.owner, pos)),
                (None, Some(a)) => owner_changes.push(owners::Change::Insert(a.output.owner, pos)),
                _ => {}
            }
            if after.is_none_or(|a| a.exiting)
                && let Some(hash) = mempool.spends.get(&pos)
                && let Some(seq) = mempool.by_hash.get(hash)
                && !dropped.contains(seq)
            {
                Db::delete_tx(&mut batch, *seq, hash);
                dropped.push(*seq);
                tracing::warn!(target: "operator::follower", utxo_pos = %pos, tx = %hash, "pending transaction dropped: L1 reorganised its input away");
            }
        }
        self.db.write(batch)?;
        self.version.fetch_add(1, Ordering::SeqCst);
        for seq in &dropped {
            mempool.remove(*seq);
        }
        undone.dropped = dropped.len();
        let len = mempool.txs.len();
        drop(mempool);
        self.owners_mut().apply(&owner_changes);
        self.metrics.mempool_size.set(len as u64);
        self.metrics.pending_dropped.inc_by(dropped.len() as u64);
        Ok(undone)
    }
}

/// A value before a change and after it (`None`: absent).
type BeforeAfter = (Option<Vec<u8>>, Option<Vec<u8>>);

fn utxo_pos(key: &[u8]) -> Result<UtxoPos, StoreError> {
    records::read_u64(key)
        .ok()
        .and_then(|raw| UtxoPos::from_u64(raw).ok())
        .ok_or_else(|| StoreError::Corrupt {
            column: Column::Utxos.name(),
            what: "bad utxo key".into(),
        })
}

fn decode_utxo(bytes: &[u8]) -> Result<UtxoRecord, StoreError> {
    UtxoRecord::decode(bytes).map_err(|e| StoreError::Corrupt {
        column: Column::Utxos.name(),
        what: e.0,
    })
}

#[cfg(test)]
mod tests {
    use alloy::primitives::Address;
    use plasma_core::UtxoState;

    use super::*;
    use crate::chain::L1Event;
    use crate::chain::test_utils::*;

    fn hash(n: u8) -> B256 {
        B256::repeat_byte(n)
    }

    fn deposit_event(f: &Fixture, blknum: u64, amount: u64) -> (L1Event, UtxoPos) {
        let deposit = deposit_of(f, blknum, amount);
        let pos = deposit.utxo_pos().unwrap();
        (
            L1Event::Deposit {
                deposit,
                timestamp: 5,
            },
            pos,
        )
    }

    fn cursor(f: &Fixture) -> Option<u64> {
        f.chain.db().meta_u64(meta::L1_CURSOR).unwrap()
    }

    #[test]
    fn an_undone_deposit_is_gone_and_credited_once_when_mined_again() {
        let f = fixture();
        let (event, pos) = deposit_event(&f, 1, 100);
        assert!(f.chain.apply_l1_range(&[], 9, hash(9)).unwrap());
        assert!(
            f.chain
                .apply_l1_range(std::slice::from_ref(&event), 10, hash(10))
                .unwrap()
        );
        assert_eq!(f.chain.utxo_count(), 1);

        let undone = f.chain.undo_l1_after(Some(9)).unwrap();
        assert_eq!((undone.ranges, undone.deposits), (1, 1));
        assert_eq!(undone.cursor, Some(10));
        assert_eq!(cursor(&f), Some(10));
        assert_eq!(f.chain.db().block_header(1).unwrap(), None);
        assert_eq!(f.chain.db().utxo(pos).unwrap(), None);
        assert_eq!(
            f.chain.db().tx_location(&deposit_tx_hash(&event)).unwrap(),
            None
        );
        assert_eq!(f.chain.utxo_count(), 0);
        assert_eq!(f.chain.db().l1_journal(10).unwrap(), None);
        assert!(f.chain.db().l1_journal(9).unwrap().is_some());

        // Mined again in the new chain, one block later: one deposit block, one output.
        assert!(f.chain.apply_l1_range(&[event], 11, hash(11)).unwrap());
        assert_eq!(f.chain.db().block_numbers(0, 10).unwrap(), vec![1]);
        assert_eq!(f.chain.utxo_count(), 1);
        assert!(matches!(
            f.chain.db().utxo_state(pos).unwrap(),
            UtxoState::Unspent(_)
        ));
    }

    fn deposit_tx_hash(event: &L1Event) -> B256 {
        let L1Event::Deposit { deposit, .. } = event else {
            unreachable!()
        };
        deposit.transaction().hash()
    }

    #[test]
    fn an_undone_exit_makes_its_output_spendable_and_an_undone_challenge_claims_it_again() {
        let f = fixture();
        let (event, pos) = deposit_event(&f, 1, 100);
        f.chain.apply_l1_range(&[event], 10, hash(10)).unwrap();
        f.chain
            .apply_l1_range(&[L1Event::ExitStarted(pos)], 11, hash(11))
            .unwrap();
        assert!(f.chain.db().utxo(pos).unwrap().unwrap().exiting);
        f.chain.undo_l1_after(Some(10)).unwrap();
        assert!(!f.chain.db().utxo(pos).unwrap().unwrap().exiting);
        assert_eq!(cursor(&f), Some(11));

        // Started and challenged; a payment is pending; the challenge is reorganised away.
        f.chain
            .apply_l1_range(&[L1Event::ExitStarted(pos)], 11, hash(12))
            .unwrap();
        f.chain
            .apply_l1_range(&[L1Event::ExitChallenged(pos)], 12, hash(13))
            .unwrap();
        f.chain
            .submit(pay(&f, pos, 100, 10, Address::repeat_byte(1)))
            .unwrap();
        let undone = f.chain.undo_l1_after(Some(11)).unwrap();
        assert_eq!(undone.dropped, 1);
        assert!(f.chain.db().utxo(pos).unwrap().unwrap().exiting);
        assert_eq!(f.chain.mempool_len(), 0);
        assert!(pending_stored(&f).is_empty());
    }

    #[test]
    fn a_pending_spend_of_an_undone_deposit_is_dropped() {
        let f = fixture();
        let (event, pos) = deposit_event(&f, 1, 100);
        f.chain.apply_l1_range(&[event], 10, hash(10)).unwrap();
        f.chain
            .submit(pay(&f, pos, 100, 10, Address::repeat_byte(1)))
            .unwrap();
        let undone = f.chain.undo_l1_after(None).unwrap();
        assert_eq!((undone.deposits, undone.dropped), (1, 1));
        assert_eq!(undone.cursor, None);
        assert_eq!(cursor(&f), None);
        assert_eq!(f.chain.mempool_len(), 0);
        assert!(pending_stored(&f).is_empty());
        // The next block is empty: nothing spends the output that is gone.
        assert_eq!(f.chain.produce_block().unwrap(), None);
    }

    #[test]
    fn a_spent_deposit_cannot_be_undone_and_nothing_changes() {
        let f = fixture();
        let (event, pos) = deposit_event(&f, 1, 100);
        f.chain.apply_l1_range(&[event], 10, hash(10)).unwrap();
        f.chain
            .submit(pay(&f, pos, 100, 10, Address::repeat_byte(1)))
            .unwrap();
        f.chain.produce_block().unwrap().expect("block 1000");
        let err = f.chain.undo_l1_after(None).unwrap_err();
        assert!(
            matches!(err, UndoError::DepositSpent { pos: p } if p == pos),
            "{err}"
        );
        assert!(err.to_string().contains("--l1-confirmations"));
        assert!(f.chain.db().block_header(1).unwrap().is_some());
        assert!(f.chain.db().l1_journal(10).unwrap().is_some());
        assert_eq!(cursor(&f), Some(11));
    }

    #[test]
    fn an_undone_finalized_exit_puts_its_output_back() {
        let f = fixture();
        let (event, pos) = deposit_event(&f, 1, 100);
        f.chain.apply_l1_range(&[event], 10, hash(10)).unwrap();
        f.chain
            .apply_l1_range(&[L1Event::ExitStarted(pos)], 11, hash(11))
            .unwrap();
        f.chain
            .apply_l1_range(&[L1Event::ExitFinalized(pos)], 12, hash(12))
            .unwrap();
        assert_eq!(f.chain.utxo_count(), 0);
        f.chain.undo_l1_after(Some(11)).unwrap();
        assert_eq!(f.chain.utxo_count(), 1);
        assert!(f.chain.db().utxo(pos).unwrap().unwrap().exiting);
    }

    #[test]
    fn a_block_read_again_is_journaled_once_with_the_older_prior_values() {
        // With no confirmations the newest block is read again: its entry is merged.
        let f = fixture();
        let (event, pos) = deposit_event(&f, 1, 100);
        f.chain
            .apply_l1_range(std::slice::from_ref(&event), 10, hash(10))
            .unwrap();
        f.chain
            .apply_l1_range(&[event, L1Event::ExitStarted(pos)], 10, hash(10))
            .unwrap();
        let entry = f.chain.db().l1_journal(10).unwrap().unwrap();
        let utxo_ops: Vec<&UndoOp> = entry
            .ops
            .iter()
            .filter(|op| op.column == Column::Utxos)
            .collect();
        assert_eq!(utxo_ops.len(), 1);
        assert_eq!(utxo_ops[0].prior, None);
        f.chain.undo_l1_after(None).unwrap();
        assert_eq!(f.chain.db().utxo(pos).unwrap(), None);
        assert_eq!(f.chain.db().block_header(1).unwrap(), None);

        // The same block with another hash is not applied: L1 reorganised since the check.
        let (other, other_pos) = deposit_event(&f, 2, 5);
        f.chain.apply_l1_range(&[], 10, hash(10)).unwrap();
        assert!(!f.chain.apply_l1_range(&[other], 10, hash(99)).unwrap());
        assert_eq!(f.chain.db().utxo(other_pos).unwrap(), None);
    }

    #[test]
    fn entries_older_than_the_journal_depth_are_pruned() {
        let f = fixture();
        f.chain.apply_l1_range(&[], 5, hash(5)).unwrap();
        f.chain.apply_l1_range(&[], 6, hash(6)).unwrap();
        f.chain
            .apply_l1_range(&[], 6 + JOURNAL_DEPTH, hash(7))
            .unwrap();
        assert_eq!(
            f.chain.db().l1_journal_blocks(0, 10).unwrap(),
            vec![6, 6 + JOURNAL_DEPTH]
        );
    }
}
