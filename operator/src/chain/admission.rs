//! Admission: a submitted batch is checked against the stored UTXO set without any lock (on the
//! checker pool), then against the pending spends under the mempool lock, and the accepted
//! transactions are written in one durable batch before any is acknowledged.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use alloy::primitives::B256;
use alloy::primitives::map::HashMap;
use plasma_core::{
    CheckError, InputError, SignedTransaction, TxSignature, UtxoPos, UtxoState, UtxoView,
    ValidationError, validate,
};
use rayon::prelude::*;

use super::checkers::PARALLEL_CHECK_MIN;
use super::mempool::{Mempool, PendingTx};
use super::{Chain, SubmitError, TxStatus};
use crate::store::{Batch, Db, Location, StoreError};

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

impl Chain {
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
        // Pending ones need no check but of their signatures (a client resending a batch).
        let pending: Vec<Option<bool>> = {
            let mempool = self.lock();
            txs.iter().map(|tx| mempool.same_signatures(tx)).collect()
        };
        let check = |(tx, pending): (SignedTransaction, Option<bool>)| match pending {
            Some(true) => Ok(Checked::Known(TxStatus::Pending)),
            Some(false) => Err(SubmitError::OtherSignatures(tx.hash())),
            None => self.precheck(tx),
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
        // The signatures of each transaction admitted so far in this batch, by hash.
        let mut batch_hashes: HashMap<B256, Vec<TxSignature>> = HashMap::default();
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
            // Accepted meanwhile or earlier in the batch.
            let known = mempool.same_signatures(&pending.tx).or_else(|| {
                batch_hashes
                    .get(&hash)
                    .map(|signatures| signatures.as_slice() == pending.tx.signatures())
            });
            match known {
                Some(true) => {
                    results.push(Ok(TxStatus::Pending));
                    continue;
                }
                Some(false) => {
                    results.push(Err(SubmitError::OtherSignatures(hash)));
                    continue;
                }
                None => {}
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
            batch_hashes.insert(hash, pending.tx.signatures().to_vec());
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
                results[index] = Err(match &e {
                    StoreError::Unavailable(why) => {
                        SubmitError::Store(StoreError::Unavailable(why.clone()))
                    }
                    _ => SubmitError::NotStored(error.clone()),
                });
            }
            for result in &results {
                if let Err(e) = result {
                    self.metrics.reject(e.code().label());
                }
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
                self.metrics.reject(e.code().label());
            }
        }
        self.metrics.accepted.inc_by(accepted as u64);
        self.metrics.mempool_size.set(len as u64);
        if len >= self.block_capacity() {
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
                Some(location) => {
                    let same = match location {
                        Location::Included { blknum, index } => self
                            .db
                            .block_tx(blknum, index)?
                            .map(|stored| stored.signatures() == tx.signatures()),
                        // Pending in the store: in the mempool, or taken by a block just now.
                        Location::Pending(_) => self.lock().same_signatures(&tx),
                    };
                    match same {
                        Some(false) => Err(SubmitError::OtherSignatures(tx.hash())),
                        _ => Ok(Checked::Known(location.into())),
                    }
                }
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
}

#[cfg(test)]
mod tests {
    use alloy::primitives::Address;
    use plasma_api::ErrorCode;

    use super::*;
    use crate::chain::test_utils::*;

    /// Each result's error code, or "ok".
    fn codes(results: &[Result<TxStatus, SubmitError>]) -> Vec<String> {
        results
            .iter()
            .map(|r| {
                r.as_ref()
                    .map_or_else(|e| e.code().to_string(), |_| "ok".into())
            })
            .collect()
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
        assert_eq!(
            codes(&results),
            ["ok", "double_spend", "ok", "fee_too_low", "ok"]
        );
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
        assert_eq!(err.code(), ErrorCode::DoubleSpend);
        assert_eq!(f.chain.mempool_len(), 1);
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
        assert_eq!(err.code(), ErrorCode::DoubleSpend);
    }

    #[test]
    fn invalid_transactions_change_nothing() {
        let f = fixture();
        let pos = deposit(&f, 1, 100);
        let low_fee = pay(&f, pos, 100, 1, Address::repeat_byte(1));
        assert_eq!(
            f.chain.submit(low_fee).unwrap_err().code(),
            ErrorCode::FeeTooLow
        );
        let unknown = pay(
            &f,
            UtxoPos::new(5, 0, 0).unwrap(),
            100,
            10,
            Address::repeat_byte(1),
        );
        assert_eq!(
            f.chain.submit(unknown).unwrap_err().code(),
            ErrorCode::InputUnknown
        );
        assert_eq!(f.chain.mempool_len(), 0);
        assert!(pending_stored(&f).is_empty());
        let rendered = f.chain.render_metrics();
        assert!(rendered.contains("reason=\"fee_too_low\"} 1"), "{rendered}");
    }

    /// A re-post of a known transaction with no signatures or a wrong one is refused, while
    /// pending and once in a block, and the stored signatures stay; the same re-post is fine.
    #[test]
    fn a_repost_with_other_signatures_is_refused() {
        let f = fixture();
        let (a, b) = (deposit(&f, 1, 100), deposit(&f, 2, 100));
        let bob = Address::repeat_byte(0xb0);
        let tx = pay(&f, a, 100, 10, bob);
        let other = pay(&f, b, 100, 10, bob);
        let unsigned = SignedTransaction::new(tx.tx().clone(), vec![]);
        // Signed by the owner of the other coin: well formed, but not the stored signature.
        let wrong = SignedTransaction::new(tx.tx().clone(), other.signatures().to_vec());
        assert!(matches!(f.chain.submit(tx.clone()), Ok(TxStatus::Pending)));
        for repost in [&unsigned, &wrong] {
            let err = f.chain.submit(repost.clone()).unwrap_err();
            assert_eq!(err.code(), ErrorCode::KnownWithOtherSignatures, "{err}");
            assert!(err.to_string().contains(&tx.hash().to_string()), "{err}");
        }
        // In one batch with the original; a new transaction's bad re-post in the same batch is
        // judged by the rules (it is not known yet).
        let second = pay(&f, b, 100, 11, bob);
        let wrong_second = SignedTransaction::new(second.tx().clone(), vec![]);
        assert_eq!(
            codes(&f.chain.submit_batch(vec![
                tx.clone(),
                wrong.clone(),
                second.clone(),
                wrong_second
            ])),
            ["ok", "known_with_other_signatures", "ok", "signature_count"]
        );
        assert_eq!(f.chain.mempool_len(), 2);
        // Stored with the original signatures.
        assert!(
            pending_stored(&f)
                .iter()
                .all(|(_, stored)| stored.signatures() == tx.signatures()
                    || stored.signatures() == second.signatures())
        );

        // Once in a block: still refused, and the original re-post reports where it is.
        f.chain.produce_block().unwrap().expect("a block");
        assert_eq!(f.chain.mempool_len(), 0);
        let err = f.chain.submit(unsigned).unwrap_err();
        assert_eq!(err.code(), ErrorCode::KnownWithOtherSignatures, "{err}");
        assert!(matches!(f.chain.submit(tx), Ok(TxStatus::Included { .. })));
    }
}
