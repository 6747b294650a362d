//! The L1 follower: reads the root contract's deposit and exit events once they have the
//! configured number of confirmations and applies them to the chain, with the L1 cursor, in one
//! atomic batch per range of L1 blocks — so each deposit becomes exactly one deposit block.
//!
//! Each range is journaled with its last block's hash; before each step the follower checks
//! that L1 still has that block, and when it does not (L1 reorganised), it undoes the ranges
//! L1 no longer agrees with and reads them again ([`crate::chain::reorg`]).

use std::sync::Arc;

use alloy::providers::{DynProvider, Provider};
use plasma_contracts::events::{
    EventReader, InFlightEvent, ReadError, RootChainEvent, RootChainLog,
};
use tokio::sync::watch;

use crate::Error;
use crate::chain::l1_view::{
    Commitment, ExitState, ExitView, InFlightChange, InFlightView, L1Record,
};
use crate::chain::reorg::UndoError;
use crate::chain::{Chain, L1Event};
use crate::config::Config;
use crate::retry_log::RetryLog;
use crate::store::Column;
use crate::store::records::{self, meta};

/// Follows the root contract's events until shutdown.
#[derive(Debug)]
pub struct Follower {
    chain: Arc<Chain>,
    provider: DynProvider,
    events: EventReader<DynProvider>,
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
            events: EventReader::new(provider.clone(), config.root_chain),
            provider,
            confirmations: config.l1_confirmations,
            start_block: config.l1_start_block,
            max_range: config.l1_max_log_range.max(1),
            poll: config.l1_poll_interval,
        }
    }

    /// Runs until `shutdown` turns true.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let mut failures = RetryLog::new("L1 follower step");
        loop {
            let caught_up = match self.step().await {
                Ok(caught_up) => {
                    failures.succeeded();
                    caught_up
                }
                Err(e) => {
                    self.chain.metrics().l1_errors.inc();
                    failures.failed(&e);
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
        if self.undo_reorganised().await? {
            return Ok(false);
        }
        let head = self.provider.get_block_number().await.map_err(Error::l1)?;
        let metrics = self.chain.metrics();
        let cursor = self
            .chain
            .db()
            .meta_u64(meta::L1_CURSOR)?
            .unwrap_or(self.start_block);
        self.chain.note_l1(|l1| {
            l1.head = head;
            l1.cursor = cursor;
        });
        let Some(safe) = head.checked_sub(self.confirmations) else {
            return Ok(true);
        };
        metrics
            .l1_follower_lag
            .set(head.saturating_sub(cursor.saturating_sub(1)));
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
        let (logs, hash) = self
            .events
            .read_anchored(from, to)
            .await
            .map_err(|e| match e {
                ReadError::Malformed { .. } => Error::Fatal(e.to_string()),
                e => Error::l1(e),
            })?;
        let events: Vec<L1Event> = logs.into_iter().flat_map(applied).collect();
        let applied_count = events.len();
        let chain = self.chain.clone();
        let next = to + 1;
        let applied = tokio::task::spawn_blocking(move || chain.apply_l1_range(&events, to, hash))
            .await
            .map_err(|e| Error::Fatal(e.to_string()))??;
        if !applied {
            // Block `to` is journaled with another hash: the next step undoes it.
            return Ok(false);
        }
        self.chain.note_l1(|l1| l1.cursor = next);
        metrics.l1_follower_lag.set(head.saturating_sub(to));
        if applied_count > 0 {
            tracing::debug!(target: "operator::follower", from, to, events = applied_count, "applied L1 events");
        }
        Ok(to >= safe)
    }
}

impl Follower {
    /// Checks that L1 still has the newest journaled block; when it does not, undoes every
    /// range L1 no longer agrees with. Returns whether it undid anything.
    async fn undo_reorganised(&self) -> Result<bool, Error> {
        let db = self.chain.db();
        let Some((newest, entry)) = db.l1_journal_before(None)? else {
            return Ok(false);
        };
        if self.hash(newest).await? == Some(entry.hash) {
            return Ok(false);
        }
        // Walk back to the newest range whose last block L1 still has.
        let mut keep = None;
        let mut below = newest;
        let mut oldest_undone = (newest, entry);
        while let Some((to, entry)) = db.l1_journal_before(Some(below))? {
            if self.hash(to).await? == Some(entry.hash) {
                keep = Some(to);
                break;
            }
            below = to;
            oldest_undone = (to, entry);
        }
        if keep.is_none() {
            // L1 disagrees with every journaled range: fine if the journal goes back to the
            // follower's start, not if older ranges were pruned from it.
            let prior = oldest_undone
                .1
                .ops
                .iter()
                .find(|op| op.column == Column::Meta && op.key == meta::L1_CURSOR)
                .and_then(|op| op.prior.clone());
            if let Some(prior) = prior
                && records::read_u64(&prior).is_ok_and(|c| c > self.start_block)
            {
                return Err(Error::Fatal(format!(
                    "L1 reorganised deeper than the follower's journal (back to L1 block {}): the operator cannot undo it",
                    oldest_undone.0
                )));
            }
        }
        let chain = self.chain.clone();
        let undone = tokio::task::spawn_blocking(move || chain.undo_l1_after(keep))
            .await
            .map_err(|e| Error::Fatal(e.to_string()))?
            .map_err(|e| match e {
                UndoError::Store(e) => Error::Store(e),
                e => Error::Fatal(e.to_string()),
            })?;
        let cursor = undone.cursor.unwrap_or(self.start_block);
        self.chain.note_l1(|l1| l1.cursor = cursor);
        self.chain.metrics().l1_reorgs.inc();
        tracing::warn!(
            target: "operator::follower",
            newest_undone = newest,
            kept_up_to = ?keep,
            ranges = undone.ranges,
            keys = undone.keys,
            deposits_removed = undone.deposits,
            pending_dropped = undone.dropped,
            cursor,
            "L1 reorganised: undid what was applied of the blocks it replaced; reading them again"
        );
        Ok(true)
    }

    async fn hash(&self, block: u64) -> Result<Option<alloy::primitives::B256>, Error> {
        self.events.block_hash(block).await.map_err(Error::l1)
    }
}

/// What the chain applies of an event of the root contract: deposits and exits change the
/// chain; commitments and the exit game's steps are also recorded for the explorer
/// ([`L1Record`]). Credits and withdrawals move L1 balances only.
fn applied(log: RootChainLog) -> Vec<L1Event> {
    let record = |r| L1Event::Record(r);
    let changed = |tx_hash, change| record(L1Record::InFlightChanged { tx_hash, change });
    match log.event {
        RootChainEvent::DepositCreated(deposit) => vec![L1Event::Deposit {
            deposit,
            timestamp: log.timestamp,
        }],
        RootChainEvent::BlockSubmitted { blknum, root, .. } => vec![record(L1Record::Committed {
            blknum,
            commitment: Commitment {
                root,
                l1_tx: log.position.tx_hash,
            },
        })],
        RootChainEvent::ExitStarted {
            utxo_pos,
            owner,
            token,
            amount,
            exitable_at,
        } => vec![
            L1Event::ExitStarted(utxo_pos),
            record(L1Record::ExitStarted(ExitView {
                utxo_pos,
                owner,
                token,
                amount,
                exitable_at,
                state: ExitState::Started,
            })),
        ],
        RootChainEvent::ExitChallenged { utxo_pos, .. } => vec![
            L1Event::ExitChallenged(utxo_pos),
            record(L1Record::ExitEnded {
                utxo_pos,
                state: ExitState::Challenged,
            }),
        ],
        // Paid or closed unfunded: either way the output leaves the UTXO set for good.
        RootChainEvent::ExitFinalized { utxo_pos, .. } => vec![
            L1Event::ExitFinalized(utxo_pos),
            record(L1Record::ExitEnded {
                utxo_pos,
                state: ExitState::Finalized,
            }),
        ],
        RootChainEvent::ExitUnfunded { utxo_pos, .. } => vec![
            L1Event::ExitFinalized(utxo_pos),
            record(L1Record::ExitEnded {
                utxo_pos,
                state: ExitState::Unfunded,
            }),
        ],
        // In-flight exits claim their inputs, and their piggybacked outputs where this chain
        // included the transaction: those may not be spent.
        RootChainEvent::InFlight(InFlightEvent::Started {
            tx_hash,
            tx_bytes,
            exitable_at,
            ..
        }) => {
            let Ok(tx) = plasma_core::Transaction::decode(&tx_bytes) else {
                return Vec::new(); // the contract accepts only canonical bytes
            };
            vec![
                record(L1Record::InFlightStarted(InFlightView {
                    tx_hash,
                    inputs: tx.inputs.clone(),
                    exitable_at,
                    claims: 0,
                    challenged: false,
                    closed: false,
                })),
                L1Event::InFlightStarted { inputs: tx.inputs },
            ]
        }
        RootChainEvent::InFlight(InFlightEvent::OutputPiggybacked {
            tx_hash,
            output_index,
            ..
        }) => vec![
            L1Event::InFlightOutputPiggybacked {
                tx_hash,
                output_index,
            },
            changed(tx_hash, InFlightChange::Claimed),
        ],
        RootChainEvent::InFlight(event) => {
            let change = match &event {
                InFlightEvent::InputPiggybacked { .. } => InFlightChange::Claimed,
                InFlightEvent::InputBlocked { .. } | InFlightEvent::OutputBlocked { .. } => {
                    InFlightChange::ClaimRemoved
                }
                InFlightEvent::Challenged { .. } => InFlightChange::Challenged,
                InFlightEvent::ChallengeResponded { .. } => InFlightChange::Responded,
                InFlightEvent::Deleted { .. } | InFlightEvent::Processed { .. } => {
                    InFlightChange::Closed
                }
                _ => return Vec::new(),
            };
            vec![changed(event.tx_hash(), change)]
        }
        RootChainEvent::WithdrawalCredited { .. }
        | RootChainEvent::Withdrawn { .. }
        | RootChainEvent::Eip712DomainChanged => Vec::new(),
    }
}
