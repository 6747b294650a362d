//! The L1 submitter: commits operator block roots to the root contract in order, each block
//! number exactly once.
//!
//! The contract numbers a submitted root itself (`nextChildBlock`), so committing the same root
//! twice would commit it under two numbers. The submitter therefore keeps at most one commitment
//! in flight and binds it to one account nonce:
//!
//! 1. It reads `nextChildBlock()` and the operator's nonce at one L1 block. Every stored
//!    operator block below `nextChildBlock` is committed; its root is checked with
//!    `isBlockRoot` and recorded.
//! 2. For block `nextChildBlock` it writes an intent — block number, nonce, fees and the signed
//!    transaction — to the store *before* broadcasting. Every later attempt for that block (a
//!    re-broadcast after a restart, a fee bump for a stuck transaction) reuses that nonce, so at
//!    most one of them is ever mined.
//! 3. If the nonce is used while `nextChildBlock` has not moved, a new commitment (with the next
//!    nonce) is made only when the attempt's receipt says it reverted; otherwise the submitter
//!    waits, since sending again could commit the root under a second number.
//!
//! After a restart the same loop reads the contract, so nothing is committed twice or skipped.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use alloy::eips::eip2718::Encodable2718;
use alloy::network::{EthereumWallet, NetworkTransactionBuilder, TransactionBuilder};
use alloy::primitives::{Address, B256, U256};
use alloy::providers::{DynProvider, Provider};
use alloy::rpc::types::TransactionRequest;
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::SolCall;
use plasma_contracts::RootChain;
use plasma_core::CHILD_BLOCK_INTERVAL;
use tokio::sync::{Notify, watch};

use crate::Error;
use crate::chain::Chain;
use crate::config::Config;
use crate::retry_log::RetryLog;
use crate::store::records::SubmitIntent;

/// Commits block roots to L1.
#[derive(Debug)]
pub struct Submitter {
    chain: Arc<Chain>,
    provider: DynProvider,
    wallet: EthereumWallet,
    operator: Address,
    root_chain: Address,
    chain_id: u64,
    poll: Duration,
    stuck_after: Duration,
    fee_bump_percent: u128,
    wake: Arc<Notify>,
    mismatches: AtomicU32,
}

/// Rounds in a row a root mismatch must be seen before the submitter stops.
const MISMATCH_ROUNDS: u32 = 5;

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

impl Submitter {
    /// A submitter signing with `signer`; `wake` is notified when a block is produced.
    pub fn new(
        chain: Arc<Chain>,
        provider: DynProvider,
        signer: PrivateKeySigner,
        chain_id: u64,
        config: &Config,
        wake: Arc<Notify>,
    ) -> Self {
        Self {
            chain,
            provider,
            operator: signer.address(),
            wallet: EthereumWallet::new(signer),
            root_chain: config.root_chain,
            chain_id,
            poll: config.l1_poll_interval,
            stuck_after: config.stuck_after,
            fee_bump_percent: u128::from(config.fee_bump_percent.max(10)),
            wake,
            mismatches: AtomicU32::new(0),
        }
    }

    /// Runs until `shutdown` turns true.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let mut failures = RetryLog::new("L1 submit step");
        loop {
            let sent = match self.step().await {
                Ok(sent) => {
                    failures.succeeded();
                    sent
                }
                Err(e) => {
                    self.chain.metrics().l1_errors.inc();
                    if let Error::Fatal(_) = e {
                        tracing::error!(target: "operator::submitter", error = %e, "submitter stopped: manual intervention needed");
                        break;
                    }
                    failures.failed(&e);
                    None
                }
            };
            tokio::select! {
                _ = tokio::time::sleep(self.poll) => {}
                _ = self.mined(sent) => {}
                _ = self.wake.notified() => {}
                _ = shutdown.changed() => {}
            }
            if *shutdown.borrow() {
                break;
            }
        }
        tracing::info!(target: "operator::submitter", "stopped");
    }

    /// Resolves once the commit transaction `sent` has a receipt, polling four times per L1 poll
    /// interval: the next round then records the commitment at once instead of a whole poll
    /// interval later. Never resolves when nothing was sent.
    async fn mined(&self, sent: Option<B256>) {
        let Some(hash) = sent else {
            return std::future::pending().await;
        };
        let every = (self.poll / 4).max(Duration::from_millis(25));
        loop {
            tokio::time::sleep(every).await;
            if let Ok(Some(_)) = self.provider.get_transaction_receipt(hash).await {
                return;
            }
        }
    }

    fn contract(&self) -> RootChain::RootChainInstance<&DynProvider> {
        RootChain::new(self.root_chain, &self.provider)
    }

    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Chain) -> Result<T, crate::store::StoreError> + Send + 'static,
    ) -> Result<T, Error> {
        let chain = self.chain.clone();
        Ok(tokio::task::spawn_blocking(move || f(&chain))
            .await
            .map_err(|e| Error::Fatal(e.to_string()))??)
    }

    /// One round: learn what is committed, then send, re-send or replace the commitment of the
    /// next block. Returns the hash of the commit transaction it broadcast, if it did.
    pub async fn step(&self) -> Result<Option<B256>, Error> {
        let head = self.provider.get_block_number().await.map_err(Error::l1)?;
        let contract = self.contract();
        let next_child: u64 = contract
            .nextChildBlock()
            .block(head.into())
            .call()
            .await
            .map_err(Error::l1)?
            .try_into()
            .map_err(|_| Error::Fatal("nextChildBlock does not fit 64 bits".into()))?;
        let metrics = self.chain.metrics().clone();
        self.chain.note_l1(|l1| l1.next_child_block = next_child);

        // 1. Record what L1 has committed since the last round, checking every root.
        let committed = self.blocking(|c| c.db().committed()).await?;
        let mut blknum = committed + CHILD_BLOCK_INTERVAL;
        while blknum < next_child {
            let header = self.blocking(move |c| c.db().block_header(blknum)).await?;
            let Some(header) = header else {
                return Err(Error::Fatal(format!(
                    "L1 has block {blknum} committed but the store does not have it: wrong database or root contract?"
                )));
            };
            let matches = contract
                .isBlockRoot(U256::from(blknum), header.root)
                .block(head.into())
                .call()
                .await
                .map_err(Error::l1)?;
            if !matches {
                // A node may answer from inconsistent state right after a block; only a
                // mismatch that persists over several rounds stops the submitter.
                let seen = self.mismatches.fetch_add(1, Ordering::Relaxed) + 1;
                let message = format!(
                    "the root committed on L1 for block {blknum} differs from the stored root {}",
                    header.root
                );
                if seen == 1 {
                    // Seen twice in 1,318 commitments of a ten-minute soak on anvil, and gone the
                    // round after: not worth a warning until it repeats.
                    tracing::debug!(target: "operator::submitter", blknum, "{message}; checking again next round");
                    return Ok(None);
                }
                return Err(if seen >= MISMATCH_ROUNDS {
                    Error::Fatal(message)
                } else {
                    Error::L1(message)
                });
            }
            self.mismatches.store(0, Ordering::Relaxed);
            let timestamp: u64 = contract
                .getBlock(U256::from(blknum))
                .block(head.into())
                .call()
                .await
                .map_err(Error::l1)?
                .timestamp
                .try_into()
                .unwrap_or_default();
            self.blocking(move |c| c.mark_committed(blknum, timestamp))
                .await?;
            metrics.block_committed(blknum);
            tracing::info!(target: "operator::submitter", blknum, root = %header.root, "block committed on L1");
            blknum += CHILD_BLOCK_INTERVAL;
        }
        let next_block = self.blocking(|c| c.db().next_block()).await?;
        metrics
            .uncommitted_blocks
            .set(next_block.saturating_sub(next_child) / CHILD_BLOCK_INTERVAL);

        // 2. The commitment in flight.
        let mut intent = self.blocking(|c| c.db().submit_intent()).await?;
        if let Some(i) = &intent
            && i.blknum < next_child
        {
            self.blocking(|c| c.db().clear_submit_intent()).await?;
            intent = None;
        }
        let target = next_child;
        let Some(header) = self.blocking(move |c| c.db().block_header(target)).await? else {
            return Ok(None); // nothing to commit yet
        };
        let nonce = self
            .provider
            .get_transaction_count(self.operator)
            .block_id(head.into())
            .await
            .map_err(Error::l1)?;
        match intent {
            Some(i) if i.blknum != target => Err(Error::Fatal(format!(
                "stored commit intent for block {} but L1 expects block {target}",
                i.blknum
            ))),
            Some(i) if nonce > i.nonce => {
                // The nonce is used but nextChildBlock did not move. Only a receipt that says
                // the commit reverted allows a new commitment (with a new nonce); anything else
                // (a node whose reads lag, an earlier attempt of this intent mined) is waited
                // out, since sending again could commit the root under a second number.
                let receipt = self
                    .provider
                    .get_transaction_receipt(i.tx_hash())
                    .await
                    .map_err(Error::l1)?;
                match receipt {
                    Some(r) if !r.status() => {
                        tracing::warn!(target: "operator::submitter", blknum = target, nonce = i.nonce, tx = %i.tx_hash(), "commit transaction reverted; sending a new one");
                        self.send(target, header.root, nonce, None).await.map(Some)
                    }
                    _ => {
                        tracing::warn!(target: "operator::submitter", blknum = target, nonce = i.nonce, tx = %i.tx_hash(), "nonce used but nextChildBlock unchanged and no failed receipt: waiting");
                        Ok(None)
                    }
                }
            }
            Some(i) => {
                let known = self
                    .provider
                    .get_transaction_by_hash(i.tx_hash())
                    .await
                    .map_err(Error::l1)?
                    .is_some();
                if now().saturating_sub(i.sent_at) >= self.stuck_after.as_secs() {
                    tracing::warn!(target: "operator::submitter", blknum = target, nonce = i.nonce, tx = %i.tx_hash(), "commit transaction stuck; replacing it with higher fees");
                    self.send(target, header.root, i.nonce, Some(&i))
                        .await
                        .map(Some)
                } else if !known {
                    tracing::info!(target: "operator::submitter", blknum = target, tx = %i.tx_hash(), "re-broadcasting commit transaction");
                    self.broadcast(&i.raw).await;
                    Ok(Some(i.tx_hash()))
                } else {
                    Ok(None)
                }
            }
            None => self.send(target, header.root, nonce, None).await.map(Some),
        }
    }

    /// Signs a commitment of `root` with `nonce`, records the intent durably, then broadcasts.
    /// Returns the transaction's hash.
    async fn send(
        &self,
        blknum: u64,
        root: B256,
        nonce: u64,
        replacing: Option<&SubmitIntent>,
    ) -> Result<B256, Error> {
        let input = RootChain::submitBlockCall { root }.abi_encode();
        let request = TransactionRequest::default()
            .with_from(self.operator)
            .with_to(self.root_chain)
            .with_input(input);
        let gas = self
            .provider
            .estimate_gas(request.clone())
            .await
            .map_err(Error::l1)?;
        let fees = self
            .provider
            .estimate_eip1559_fees()
            .await
            .map_err(Error::l1)?;
        let (mut max_fee, mut priority_fee) =
            (fees.max_fee_per_gas, fees.max_priority_fee_per_gas.max(1));
        if let Some(old) = replacing {
            // A replacement must raise both fees (geth requires +10%).
            let bump = |v: u128| v.saturating_mul(100 + self.fee_bump_percent) / 100 + 1;
            max_fee = max_fee.max(bump(old.max_fee));
            priority_fee = priority_fee.max(bump(old.priority_fee));
        }
        max_fee = max_fee.max(priority_fee);
        let envelope = request
            .with_nonce(nonce)
            .with_chain_id(self.chain_id)
            .with_gas_limit(gas.saturating_mul(5) / 4)
            .with_max_fee_per_gas(max_fee)
            .with_max_priority_fee_per_gas(priority_fee)
            .build(&self.wallet)
            .await
            .map_err(Error::l1)?;
        let intent = SubmitIntent {
            blknum,
            nonce,
            sent_at: now(),
            max_fee,
            priority_fee,
            raw: envelope.encoded_2718(),
        };
        let stored = intent.clone();
        self.blocking(move |c| c.db().put_submit_intent(&stored))
            .await?;
        tracing::info!(target: "operator::submitter", blknum, nonce, %root, tx = %intent.tx_hash(), max_fee, priority_fee, "sending commit transaction");
        self.broadcast(&intent.raw).await;
        Ok(intent.tx_hash())
    }

    async fn broadcast(&self, raw: &[u8]) {
        self.chain.metrics().commit_txs_sent.inc();
        if let Err(e) = self.provider.send_raw_transaction(raw).await {
            // "already known", "nonce too low" after a mined attempt, an unreachable node: the
            // next round reads L1 again and decides.
            tracing::warn!(target: "operator::submitter", error = %e, "broadcast failed");
        }
    }
}
