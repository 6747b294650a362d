//! Making a block: the oldest pending transactions, their root, and one atomic write of the
//! block record, its UTXO changes and the next block number.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use alloy::primitives::U256;
use plasma_core::{BlockFees, SignedTransaction, UtxoPos, fee_claim, transition};
use plasma_merkle::MerkleTree;

use super::mempool::PendingTx;
use super::{Chain, Produced, owners};
use crate::store::records::{BlockHeader, UtxoRecord, meta, runs_of};
use crate::store::{Batch, Column, Db, StoreError};

/// The owner-index changes of a block: its spent inputs leave, its outputs (the fee claim's
/// too) arrive.
fn owner_changes(
    blknum: u64,
    taken: &[(u64, Arc<PendingTx>)],
    claim: Option<&SignedTransaction>,
) -> Vec<owners::Change> {
    let txs = || {
        taken
            .iter()
            .map(|(_, pending)| pending.tx.tx())
            .chain(claim.map(SignedTransaction::tx))
    };
    let mut changes = Vec::with_capacity(3 * taken.len());
    // The owner of a spent input is known from admission: `spent` is in input order.
    let spent_outputs = taken.iter().flat_map(|(_, pending)| &pending.spent);
    for (spent, output) in transition::spent(txs()).zip(spent_outputs) {
        changes.push(owners::Change::Remove(output.owner, spent.pos));
    }
    for created in transition::created(blknum, txs()).flatten() {
        changes.push(owners::Change::Insert(created.output.owner, created.pos));
    }
    changes
}

/// Deposits after the last committed operator block at which the producer makes a block even
/// with nothing pending: the root contract numbers at most 999 deposits between two operator
/// blocks (`TooManyDeposits` after that), and committing a block frees the slots. The margin
/// covers the deposits still below the confirmation depth.
pub const DEPOSIT_SLOTS_LOW: u64 = 900;

impl Chain {
    /// The fee claim that ends block `blknum` of the payments `taken`: all their fees to the
    /// fee address. None when blocks claim no fees or these payments pay none.
    fn fee_claim(&self, blknum: u64, taken: &[(u64, Arc<PendingTx>)]) -> Option<SignedTransaction> {
        let address = self.fee_address?;
        let mut fees = BlockFees::default();
        for (_, pending) in taken {
            fees.add(pending.fee);
        }
        (!fees.total().is_zero())
            .then(|| SignedTransaction::new(fee_claim(blknum, address, fees.total()), Vec::new()))
    }

    /// Whether the deposit slots after the last committed operator block run low (at least
    /// [`DEPOSIT_SLOTS_LOW`] used) while no produced block waits for its commitment: then an
    /// (empty) block is worth committing.
    fn deposit_slots_low(&self) -> Result<bool, StoreError> {
        let committed = self.db.committed()?;
        if self.db.next_block()? != committed + plasma_core::CHILD_BLOCK_INTERVAL {
            return Ok(false); // a produced block is on its way to L1: it frees the slots
        }
        let latest = self.db.latest_block()?.unwrap_or(0);
        Ok(latest.saturating_sub(committed) >= DEPOSIT_SLOTS_LOW)
    }

    /// Makes the next operator block from up to 65,536 pending transactions (oldest first) and
    /// stores it — block record, spent and created outputs and the next block number — in one
    /// atomic batch. `None` when nothing is pending, unless the deposit slots run low: then the
    /// block is empty, so that deposits stay possible.
    pub fn produce_block(&self) -> Result<Option<Produced>, StoreError> {
        let _producer = self.producer.lock().unwrap_or_else(|e| e.into_inner());
        let start = Instant::now();
        let taken: Vec<(u64, Arc<PendingTx>)> = self
            .lock()
            .txs
            .iter()
            .take(self.block_capacity())
            .map(|(seq, pending)| (*seq, pending.clone()))
            .collect();
        if taken.is_empty() && !self.deposit_slots_low()? {
            return Ok(None);
        }
        let blknum = self.db.next_block()?;
        let claim = self.fee_claim(blknum, &taken);
        let corrupt = |what: String| StoreError::Corrupt {
            column: Column::Utxos.name(),
            what,
        };
        // The root on all cores while this thread lays out the writes, each column in key
        // order (the store then applies them without sorting): the spent inputs ascending, then
        // the new outputs, whose positions all follow them.
        let (root, batch) = rayon::join(
            || {
                let mut leaves = Vec::with_capacity(taken.len() + 1);
                leaves.extend(taken.iter().map(|(_, p)| p.leaf));
                leaves.extend(claim.as_ref().map(|c| plasma_merkle::leaf_hash(c.bytes())));
                MerkleTree::from_leaf_hashes(leaves).map(|tree| tree.root())
            },
            || -> Result<Batch, StoreError> {
                let mut batch = Batch::with_capacity(3 * taken.len() + 6, 256 * taken.len() + 512);
                let txs = || {
                    taken
                        .iter()
                        .map(|(_, p)| p.tx.tx())
                        .chain(claim.as_ref().map(SignedTransaction::tx))
                };
                let mut spent: Vec<UtxoPos> = transition::spent(txs()).map(|s| s.pos).collect();
                spent.sort_unstable();
                for pos in spent {
                    Db::delete_utxo(&mut batch, pos);
                }
                for created in transition::created(blknum, txs()) {
                    let created = created.map_err(|e| corrupt(e.to_string()))?;
                    let record = UtxoRecord {
                        output: *created.output,
                        exiting: false,
                    };
                    Db::put_utxo(&mut batch, created.pos, &record);
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
        let transactions = taken.len() + usize::from(claim.is_some());
        let header = BlockHeader {
            root,
            timestamp: 0,
            tx_count: u32::try_from(transactions).unwrap_or(u32::MAX),
        };
        Db::put_operator_block(
            &mut batch,
            blknum,
            header,
            runs_of(taken.iter().map(|(seq, _)| *seq)),
            claim.as_ref(),
        );
        // The owner index changes while the block is written; should the write fail, they
        // are undone.
        let changes = owner_changes(blknum, &taken, claim.as_ref());
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
            // An empty block takes nothing (a transaction accepted meanwhile stays pending).
            let removed = match taken.last() {
                Some((last, _)) => mempool.take_through(*last),
                None => Default::default(),
            };
            (mempool.txs.len(), removed)
        };
        self.metrics.mempool_size.set(remaining as u64);
        self.metrics.block_produced(blknum);
        let took = start.elapsed();
        self.metrics.observe_block_build(took.as_secs_f64());
        let claimed = claim
            .as_ref()
            .and_then(|c| c.tx().outputs.first())
            .map_or(U256::ZERO, |o| o.amount);
        if !claimed.is_zero() {
            self.metrics.fees_claimed(claimed);
        }
        tracing::info!(
            target: "operator::producer",
            blknum,
            txs = transactions,
            fees_claimed_wei = %claimed,
            root = %root,
            remaining,
            took_ms = took.as_millis() as u64,
            "block produced"
        );
        if remaining >= self.block_capacity() {
            self.full.notify_one();
        }
        // Freeing 65,536 transactions takes a while: not on the way of the next block.
        rayon::spawn(move || drop((taken, removed, changes)));
        Ok(Some(Produced {
            blknum,
            root,
            transactions,
        }))
    }
}

#[cfg(test)]
mod tests {
    use alloy::primitives::Address;
    use plasma_core::{Rules, UtxoState};

    use crate::chain::{L1Event, TxStatus};

    use super::*;
    use crate::chain::test_utils::*;

    #[test]
    fn low_deposit_slots_make_an_empty_block_once() {
        let f = fixture();
        let deposits = |from: u64, to: u64| -> Vec<L1Event> {
            (from..=to)
                .map(|blknum| L1Event::Deposit {
                    deposit: plasma_core::Deposit {
                        blknum,
                        owner: f.alice.address(),
                        token: plasma_core::ETH,
                        amount: alloy::primitives::U256::from(1),
                    },
                    timestamp: 1,
                })
                .collect()
        };
        f.chain
            .apply_l1_events(&deposits(1, DEPOSIT_SLOTS_LOW - 1), 2)
            .unwrap();
        assert!(f.chain.produce_block().unwrap().is_none(), "slots left");
        f.chain
            .apply_l1_events(&deposits(DEPOSIT_SLOTS_LOW, DEPOSIT_SLOTS_LOW), 3)
            .unwrap();
        let empty = f
            .chain
            .produce_block()
            .unwrap()
            .expect("a block to free the slots");
        assert_eq!((empty.blknum, empty.transactions), (1000, 0));
        let stored = f.chain.block(1000).unwrap().unwrap();
        assert!(stored.transactions.is_empty() && stored.root_matches());
        // Until it is committed, another empty block would not help.
        assert!(f.chain.produce_block().unwrap().is_none());
        f.chain.mark_committed(1000, 7).unwrap();
        assert!(
            f.chain.produce_block().unwrap().is_none(),
            "the slots are free again"
        );
    }

    #[test]
    fn a_block_ends_with_the_claim_of_its_payments_fees() {
        let mut f = fixture();
        let operator = Address::repeat_byte(0x0e);
        f.chain = reopen(&f.chain).claim_fees_to(operator);
        let bob = Address::repeat_byte(0xb0);
        let a = deposit(&f, 1, 100);
        let b = deposit(&f, 2, 50);
        f.chain.submit(pay(&f, a, 100, 10, bob)).unwrap();
        f.chain.submit(pay(&f, b, 50, 15, bob)).unwrap();
        let produced = f.chain.produce_block().unwrap().unwrap();
        assert_eq!(produced.transactions, 3, "two payments and the claim");

        let block = f.chain.block(1000).unwrap().unwrap();
        assert!(block.root_matches());
        let claim = &block.transactions[2];
        assert_eq!(
            claim.tx(),
            &plasma_core::fee_claim(1000, operator, U256::from(25))
        );
        let mut fees = BlockFees::default();
        fees.add(U256::from(25));
        assert_eq!(
            plasma_core::check_fee_claim(1000, 2, 3, claim, fees),
            Ok(U256::from(25))
        );
        // Its output is an output like any other: unspent, the operator's, and found by hash.
        let pos = UtxoPos::new(1000, 2, 0).unwrap();
        assert!(matches!(
            f.chain.db().utxo_state(pos).unwrap(),
            UtxoState::Unspent(o) if o.owner == operator && o.amount == U256::from(25)
        ));
        assert_eq!(f.chain.owner_utxos(operator, 0, 10).unwrap().len(), 1);
        assert_eq!(
            f.chain.submit(claim.clone()).unwrap(),
            TxStatus::Included {
                blknum: 1000,
                tx_index: 2
            },
            "the claim is found by its hash"
        );
        assert_eq!(
            f.chain.db().block_tx(1000, 2).unwrap().as_ref(),
            Some(claim)
        );
        // After a restart the block reads the same.
        let reopened = reopen(&f.chain);
        assert_eq!(reopened.block(1000).unwrap().unwrap(), block);

        // The next block claims its own fees, with its own block number as metadata.
        let c = deposit(&f, 1001, 40);
        f.chain.submit(pay(&f, c, 40, 12, bob)).unwrap();
        assert_eq!(f.chain.produce_block().unwrap().unwrap().transactions, 2);
        let next = f.chain.block(2000).unwrap().unwrap();
        assert_eq!(
            next.transactions[1].tx(),
            &plasma_core::fee_claim(2000, operator, U256::from(12))
        );
        assert_ne!(next.transactions[1].hash(), claim.hash());
    }

    #[test]
    fn without_fees_a_block_has_no_claim() {
        let mut f = fixture();
        let zero_fee = {
            let domain = f.domain;
            let rules = Rules {
                domain_separator: domain.separator(),
                min_fee: U256::ZERO,
            };
            Chain::open(f.chain.db().clone(), rules, 100, Default::default())
                .unwrap()
                .claim_fees_to(Address::repeat_byte(0x0e))
        };
        f.chain = zero_fee;
        let a = deposit(&f, 1, 100);
        f.chain
            .submit(pay(&f, a, 100, 0, Address::repeat_byte(0xb0)))
            .unwrap();
        let produced = f.chain.produce_block().unwrap().unwrap();
        assert_eq!(produced.transactions, 1);
        assert!(
            f.chain
                .owner_utxos(Address::repeat_byte(0x0e), 0, 10)
                .unwrap()
                .is_empty()
        );
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
                tx_index: 0
            }
        );
        let stored = f.chain.db().block(1000).unwrap().unwrap();
        assert_eq!(stored.root, produced.root);
        assert_eq!(stored.transactions, vec![tx]);
        assert!(stored.root_matches());
    }
}
