//! The L1 follower: reads the root contract's deposit and exit events once they have the
//! configured number of confirmations and applies them to the chain, with the L1 cursor, in one
//! atomic batch per range of L1 blocks — so each deposit becomes exactly one deposit block.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use alloy::eips::BlockNumberOrTag;
use alloy::primitives::Address;
use alloy::providers::{DynProvider, Provider};
use alloy::rpc::types::{Filter, Log};
use alloy::sol_types::SolEvent;
use plasma_contracts::RootChain;
use plasma_core::UtxoPos;
use tokio::sync::watch;

use crate::Error;
use crate::chain::{Chain, L1Event};
use crate::config::Config;
use crate::store::records::meta;

/// Follows the root contract's events until shutdown.
#[derive(Debug)]
pub struct Follower {
    chain: Arc<Chain>,
    provider: DynProvider,
    root_chain: Address,
    confirmations: u64,
    start_block: u64,
    max_range: u64,
    poll: std::time::Duration,
}

impl Follower {
    /// A follower for `chain`.
    pub fn new(chain: Arc<Chain>, provider: DynProvider, config: &Config) -> Self {
        Self {
            chain,
            provider,
            root_chain: config.root_chain,
            confirmations: config.l1_confirmations,
            start_block: config.l1_start_block,
            max_range: config.l1_max_log_range.max(1),
            poll: config.l1_poll_interval,
        }
    }

    /// Runs until `shutdown` turns true.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        loop {
            let caught_up = match self.step().await {
                Ok(caught_up) => caught_up,
                Err(e) => {
                    self.chain
                        .metrics()
                        .l1_errors
                        .fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(target: "operator::follower", error = %e, "L1 follower step failed; retrying");
                    true
                }
            };
            if caught_up {
                tokio::select! {
                    _ = tokio::time::sleep(self.poll) => {}
                    _ = shutdown.changed() => {}
                }
            }
            if *shutdown.borrow() {
                break;
            }
        }
        tracing::info!(target: "operator::follower", "stopped");
    }

    /// Applies the next range of confirmed events. Returns whether it is caught up.
    async fn step(&self) -> Result<bool, Error> {
        let head = self.provider.get_block_number().await.map_err(Error::l1)?;
        let metrics = self.chain.metrics();
        metrics.l1_head.store(head, Ordering::Relaxed);
        let cursor = self
            .chain
            .db()
            .meta_u64(meta::L1_CURSOR)?
            .unwrap_or(self.start_block);
        metrics.l1_cursor.store(cursor, Ordering::Relaxed);
        let Some(safe) = head.checked_sub(self.confirmations) else {
            return Ok(true);
        };
        metrics.l1_follower_lag.store(
            head.saturating_sub(cursor.saturating_sub(1)),
            Ordering::Relaxed,
        );
        // With no confirmations, the newest block is read again next round: a node may serve a
        // block's number before its logs. Re-applying a block's events is idempotent.
        let from = if self.confirmations == 0 {
            cursor.saturating_sub(1).max(self.start_block)
        } else {
            cursor
        };
        if from > safe {
            return Ok(true);
        }
        let to = safe.min(from + self.max_range - 1);
        let filter = Filter::new()
            .address(self.root_chain)
            .from_block(from)
            .to_block(to)
            .event_signature(vec![
                RootChain::DepositCreated::SIGNATURE_HASH,
                RootChain::ExitStarted::SIGNATURE_HASH,
                RootChain::ExitChallenged::SIGNATURE_HASH,
                RootChain::ExitFinalized::SIGNATURE_HASH,
            ]);
        let mut logs = self.provider.get_logs(&filter).await.map_err(Error::l1)?;
        logs.sort_by_key(|l| (l.block_number, l.log_index));
        let mut events = Vec::with_capacity(logs.len());
        let mut timestamps: HashMap<u64, u64> = HashMap::new();
        for log in &logs {
            if let Some(event) = self.decode(log, &mut timestamps).await? {
                events.push(event);
            }
        }
        let chain = self.chain.clone();
        let next = (to + 1).max(cursor);
        tokio::task::spawn_blocking(move || chain.apply_l1_events(&events, next))
            .await
            .map_err(|e| Error::Fatal(e.to_string()))??;
        metrics.l1_cursor.store(next, Ordering::Relaxed);
        metrics
            .l1_follower_lag
            .store(head.saturating_sub(to), Ordering::Relaxed);
        if !logs.is_empty() {
            tracing::debug!(target: "operator::follower", from, to, events = logs.len(), "applied L1 events");
        }
        Ok(to >= safe)
    }

    async fn decode(
        &self,
        log: &Log,
        timestamps: &mut HashMap<u64, u64>,
    ) -> Result<Option<L1Event>, Error> {
        let Some(topic) = log.topic0() else {
            return Ok(None);
        };
        let pos = |value: alloy::primitives::U256| {
            UtxoPos::from_u256(value)
                .map_err(|e| Error::Fatal(format!("bad utxoPos in event: {e}")))
        };
        let event = match *topic {
            RootChain::DepositCreated::SIGNATURE_HASH => {
                let event = log
                    .log_decode::<RootChain::DepositCreated>()
                    .map_err(Error::l1)?;
                let deposit =
                    plasma_contracts::deposit_from_event(&event.inner.data).map_err(Error::l1)?;
                let timestamp = match log.block_timestamp {
                    Some(t) => t,
                    None => self.block_timestamp(log, timestamps).await?,
                };
                L1Event::Deposit { deposit, timestamp }
            }
            RootChain::ExitStarted::SIGNATURE_HASH => {
                let event = log
                    .log_decode::<RootChain::ExitStarted>()
                    .map_err(Error::l1)?;
                L1Event::ExitStarted(pos(event.inner.data.utxoPos)?)
            }
            RootChain::ExitChallenged::SIGNATURE_HASH => {
                let event = log
                    .log_decode::<RootChain::ExitChallenged>()
                    .map_err(Error::l1)?;
                L1Event::ExitChallenged(pos(event.inner.data.utxoPos)?)
            }
            RootChain::ExitFinalized::SIGNATURE_HASH => {
                let event = log
                    .log_decode::<RootChain::ExitFinalized>()
                    .map_err(Error::l1)?;
                L1Event::ExitFinalized(pos(event.inner.data.utxoPos)?)
            }
            _ => return Ok(None),
        };
        Ok(Some(event))
    }

    async fn block_timestamp(
        &self,
        log: &Log,
        cache: &mut HashMap<u64, u64>,
    ) -> Result<u64, Error> {
        let number = log
            .block_number
            .ok_or_else(|| Error::L1("log without a block number".into()))?;
        if let Some(t) = cache.get(&number) {
            return Ok(*t);
        }
        let block = self
            .provider
            .get_block_by_number(BlockNumberOrTag::Number(number))
            .await
            .map_err(Error::l1)?
            .ok_or_else(|| Error::L1(format!("L1 block {number} not found")))?;
        let t = block.header.timestamp;
        cache.insert(number, t);
        Ok(t)
    }
}
