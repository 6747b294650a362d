//! The watcher: follows L1 and the operator, verifies every committed block (through the
//! [`Syncer`]), checks every exit started on L1 against the verified chain, and raises events
//! when something is wrong. It can act on them: challenge invalid exits, and start exits of the
//! wallet's coins when the chain turns invalid or withheld.
//!
//! Each event is raised once: it is written to the client store under a key before it is
//! reported, so a restarted watcher does not raise it again. `operator_unreachable` is the one
//! event that clears (when the operator answers again), so that a later outage is raised too.
//! docs/WATCHER.md lists the events, their causes and what a user should do.

use std::time::Duration;

use alloy::primitives::{Address, B256, U256};
use plasma_core::UtxoPos;
use serde::{Deserialize, Serialize};

use crate::l1::{L1, L1Error};
use crate::operator::OperatorClient;
use crate::store::{Batch, ClientStore, CoinState, StoreError};
use crate::sync::{SyncError, Syncer};

/// What the watcher raises (or, for the last two, what it did).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "event",
    rename_all = "snake_case",
    rename_all_fields = "camelCase"
)]
pub enum WatchEvent {
    /// A committed block whose served data does not match the root on L1, does not decode, or
    /// holds a transaction that breaks a rule.
    InvalidBlock {
        /// The block.
        blknum: u64,
        /// What is wrong: the root mismatch, or which transaction breaks which rule.
        reason: String,
        /// The L1 block at which the watcher saw it.
        l1_block: u64,
    },
    /// A root committed on L1 whose block data the operator has not served for
    /// `withhold_after`.
    BlockWithholding {
        /// The block.
        blknum: u64,
        /// How long the watcher waited for the data, in seconds.
        waited_secs: u64,
        /// The L1 block at which the watcher raised it.
        l1_block: u64,
    },
    /// An exit on L1 of an output that the verified chain shows spent, or that never existed.
    InvalidExit {
        /// The exit id (the exiting output's position).
        exit_id: UtxoPos,
        /// Who started it.
        owner: Address,
        /// The amount it claims, in the token's base unit (decimal).
        #[serde(with = "plasma_core::decimal")]
        amount: U256,
        /// When it could be processed.
        exitable_at: u64,
        /// Why it is invalid.
        reason: String,
        /// Whether the watcher knows a spend to challenge it with.
        challengeable: bool,
        /// The L1 block at which the watcher saw it.
        l1_block: u64,
    },
    /// An invalid exit still unchallenged within `warn_before` of its `exitableAt`.
    UnchallengedExit {
        /// The exit id.
        exit_id: UtxoPos,
        /// When it can be processed.
        exitable_at: u64,
        /// Seconds left (by L1's clock).
        seconds_left: u64,
        /// The L1 block at which the watcher raised it.
        l1_block: u64,
    },
    /// The operator's API does not answer.
    OperatorUnreachable {
        /// The operator's URL.
        operator: String,
        /// The error.
        error: String,
        /// The L1 block at which the watcher raised it.
        l1_block: u64,
    },
    /// Action: the watcher challenged an invalid exit (with `--challenge`).
    ExitChallenged {
        /// The exit id.
        exit_id: UtxoPos,
        /// The challenge's L1 transaction.
        tx_hash: B256,
    },
    /// Action: the watcher started the exit of one of the wallet's coins (with
    /// `--exit-on-danger`).
    ExitStarted {
        /// The coin.
        utxo_pos: UtxoPos,
        /// The exit's L1 transaction.
        tx_hash: B256,
    },
    /// An in-flight exit started on L1 in which one of the wallet's keys can still claim an
    /// input or an output (piggyback): `plasma exit --in-flight <inFlightTx>` claims it.
    PiggybackAvailable {
        /// The in-flight transaction's hash.
        in_flight_tx: B256,
        /// The key that can claim.
        owner: Address,
        /// What it can claim: bit `i` input `i`, bit `4 + j` output `j`.
        claims: u64,
        /// When the exit may be processed (claims close half an exit period before).
        exitable_at: u64,
        /// The L1 block at which the watcher saw it.
        l1_block: u64,
    },
    /// Action: the watcher claimed the key's part of an in-flight exit (with
    /// `--exit-on-danger`).
    Piggybacked {
        /// The in-flight transaction's hash.
        in_flight_tx: B256,
        /// The key that claimed.
        owner: Address,
        /// The piggyback transactions on L1.
        transactions: Vec<B256>,
    },
}

impl WatchEvent {
    /// The key under which the event is stored: one event per key, ever.
    pub fn key(&self) -> String {
        match self {
            Self::InvalidBlock { blknum, .. } => format!("invalid_block/{blknum:020}"),
            Self::BlockWithholding { blknum, .. } => format!("block_withholding/{blknum:020}"),
            Self::InvalidExit { exit_id, .. } => format!("invalid_exit/{exit_id}"),
            Self::UnchallengedExit { exit_id, .. } => format!("unchallenged_exit/{exit_id}"),
            Self::OperatorUnreachable { .. } => OPERATOR_UNREACHABLE.to_owned(),
            Self::ExitChallenged { exit_id, .. } => format!("exit_challenged/{exit_id}"),
            Self::ExitStarted { utxo_pos, .. } => format!("exit_started/{utxo_pos}"),
            Self::PiggybackAvailable {
                in_flight_tx,
                owner,
                ..
            } => format!("piggyback_available/{in_flight_tx}/{owner}"),
            Self::Piggybacked {
                in_flight_tx,
                owner,
                ..
            } => format!("piggybacked/{in_flight_tx}/{owner}"),
        }
    }

    /// Whether the event means the chain can no longer be trusted: users must exit.
    pub fn is_danger(&self) -> bool {
        matches!(
            self,
            Self::InvalidBlock { .. } | Self::BlockWithholding { .. }
        )
    }
}

const OPERATOR_UNREACHABLE: &str = "operator_unreachable";

/// How the watcher behaves.
#[derive(Debug, Clone)]
pub struct WatchConfig {
    /// How long a committed block may go unserved before `block_withholding`.
    pub withhold_after: Duration,
    /// How close to its `exitableAt` an unchallenged invalid exit raises `unchallenged_exit`,
    /// in seconds.
    pub warn_before: u64,
    /// Challenge invalid exits from this (funded) address.
    pub challenge_from: Option<Address>,
    /// Start exits of this address's coins when the chain turns invalid or withheld.
    pub exit_on_danger: Option<Address>,
}

/// Why a watcher round failed (it is retried).
#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    /// L1 could not be read.
    #[error(transparent)]
    L1(#[from] L1Error),
    /// The local store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What the watcher knows now, for `GET /status`.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WatchStatus {
    /// The last block verified.
    pub synced_blknum: u64,
    /// The L1 block of the last round.
    pub l1_block: u64,
    /// Whether the operator answered in the last round.
    pub operator_reachable: bool,
    /// Whether the chain is invalid or withheld (users must exit).
    pub danger: bool,
    /// Every event raised so far.
    pub events: Vec<WatchEvent>,
}

/// The watcher over one client store.
pub struct Watcher<'a> {
    store: &'a ClientStore,
    l1: &'a L1,
    operator: &'a OperatorClient,
    owned: Vec<Address>,
    chain_id: u64,
    config: WatchConfig,
    operator_reachable: bool,
}

impl<'a> Watcher<'a> {
    /// A watcher over `store`; `owned` are the wallet's addresses (their coins are recorded).
    pub fn new(
        store: &'a ClientStore,
        l1: &'a L1,
        operator: &'a OperatorClient,
        owned: Vec<Address>,
        chain_id: u64,
        config: WatchConfig,
    ) -> Self {
        Self {
            store,
            l1,
            operator,
            owned,
            chain_id,
            config,
            operator_reachable: true,
        }
    }

    /// One round: sync and verify, check exits, act. Returns the events raised in this round
    /// (already stored).
    pub async fn round(&mut self) -> Result<Vec<WatchEvent>, WatchError> {
        let (l1_block, now) = self.l1.head().await?;
        let mut raised = Vec::new();
        self.verify_blocks(l1_block, &mut raised).await?;
        if let Some(owner) = self.config.exit_on_danger
            && self.in_danger()?
        {
            self.exit_coins(owner, &mut raised).await?;
        }
        self.check_exits(l1_block, now, &mut raised).await?;
        self.check_in_flight(l1_block, now, &mut raised).await?;
        Ok(raised)
    }

    /// Raises `piggyback_available` for every in-flight exit seen on L1 in which a key of the
    /// wallet can still claim something, and with `--exit-on-danger` claims it (an honest payee
    /// must piggyback its output within the first half of the exit period, or lose it).
    async fn check_in_flight(
        &self,
        l1_block: u64,
        now: u64,
        raised: &mut Vec<WatchEvent>,
    ) -> Result<(), WatchError> {
        for record in self.store.in_flight_exits()? {
            // Claims close before the exit is processable: nothing to do after that.
            if now >= record.exitable_at {
                continue;
            }
            let Ok(tx) = plasma_core::Transaction::decode(&record.tx_bytes) else {
                continue;
            };
            for &owner in &self.owned {
                let involved = record.input_owners.contains(&owner)
                    || tx.outputs.iter().any(|o| o.owner == owner);
                if !involved {
                    continue;
                }
                let available = format!("piggyback_available/{}/{owner}", record.tx_hash);
                let acting = self.config.exit_on_danger == Some(owner);
                let claimed = format!("piggybacked/{}/{owner}", record.tx_hash);
                if self.store.watch_raised(&available)?
                    && (!acting || self.store.watch_raised(&claimed)?)
                {
                    continue;
                }
                let Some(exit) = self.l1.in_flight_exit(record.tx_hash).await? else {
                    continue;
                };
                let claims = exit.open_for(owner);
                if claims == 0 {
                    continue;
                }
                self.raise(
                    WatchEvent::PiggybackAvailable {
                        in_flight_tx: record.tx_hash,
                        owner,
                        claims,
                        exitable_at: exit.exitable_at,
                        l1_block,
                    },
                    raised,
                )?;
                if acting {
                    match self.l1.piggyback(owner, &exit, claims).await {
                        Ok(receipts) => self.raise(
                            WatchEvent::Piggybacked {
                                in_flight_tx: record.tx_hash,
                                owner,
                                transactions: receipts.iter().map(|r| r.transaction_hash).collect(),
                            },
                            raised,
                        )?,
                        // Retried next round (until the first half ends).
                        Err(error) => {
                            tracing::warn!(target: "plasma::watch", in_flight_tx = %record.tx_hash, %error, "claiming in an in-flight exit failed")
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// The state for `GET /status`.
    pub fn status(&self, l1_block: u64) -> Result<WatchStatus, WatchError> {
        let events: Vec<WatchEvent> = self.store.watch_events()?;
        Ok(WatchStatus {
            synced_blknum: self.store.synced_blknum()?,
            l1_block,
            operator_reachable: self.operator_reachable,
            danger: events.iter().any(WatchEvent::is_danger),
            events,
        })
    }

    fn in_danger(&self) -> Result<bool, WatchError> {
        Ok(self
            .store
            .watch_events::<WatchEvent>()?
            .iter()
            .any(WatchEvent::is_danger))
    }

    /// The first block the watcher found invalid or withheld: nothing from it on is trusted.
    fn first_bad_block(&self) -> Result<Option<u64>, WatchError> {
        Ok(self
            .store
            .watch_events::<WatchEvent>()?
            .iter()
            .filter_map(|e| match e {
                WatchEvent::InvalidBlock { blknum, .. }
                | WatchEvent::BlockWithholding { blknum, .. } => Some(*blknum),
                _ => None,
            })
            .min())
    }

    /// Stores `event` and adds it to `raised`, unless it was raised before.
    fn raise(&self, event: WatchEvent, raised: &mut Vec<WatchEvent>) -> Result<(), WatchError> {
        let key = event.key();
        if self.store.watch_raised(&key)? {
            return Ok(());
        }
        let mut batch = Batch::default();
        self.store.put_watch_event(&mut batch, &key, &event);
        self.store.write(batch)?;
        raised.push(event);
        Ok(())
    }

    async fn verify_blocks(
        &mut self,
        l1_block: u64,
        raised: &mut Vec<WatchEvent>,
    ) -> Result<(), WatchError> {
        let syncer = Syncer::new(
            self.store,
            self.l1,
            self.operator,
            self.owned.iter().copied(),
            self.chain_id,
        );
        let result = syncer.sync(|_| {}).await;
        let reachable = !matches!(result, Err(SyncError::Operator(_)));
        if reachable && !self.operator_reachable {
            let mut batch = Batch::default();
            self.store
                .clear_watch_event(&mut batch, OPERATOR_UNREACHABLE);
            self.store.write(batch)?;
        }
        self.operator_reachable = reachable;
        match result {
            Ok(_) => {
                if self.store.withheld_since()?.is_some() {
                    let mut batch = Batch::default();
                    self.store.clear_withheld(&mut batch);
                    self.store.write(batch)?;
                }
                Ok(())
            }
            Err(
                ref e @ (SyncError::RootMismatch { blknum, .. }
                | SyncError::InvalidTransaction { blknum, .. }
                | SyncError::Malformed { blknum, .. }),
            ) => self.raise(
                WatchEvent::InvalidBlock {
                    blknum,
                    reason: e.to_string(),
                    l1_block,
                },
                raised,
            ),
            Err(SyncError::Unavailable { blknum }) => self.check_withheld(blknum, l1_block, raised),
            Err(SyncError::Operator(e)) => {
                self.raise(
                    WatchEvent::OperatorUnreachable {
                        operator: self.operator.url().to_owned(),
                        error: e.to_string(),
                        l1_block,
                    },
                    raised,
                )?;
                // A committed block nobody serves is withheld, reachable operator or not.
                let synced = self.store.synced_blknum()?;
                match self.store.commitments_after(synced)?.first() {
                    Some(next) if next.deposit.is_none() => {
                        self.check_withheld(next.blknum, l1_block, raised)
                    }
                    _ => Ok(()),
                }
            }
            Err(SyncError::L1(e)) => Err(e.into()),
            Err(SyncError::Store(e)) => Err(e.into()),
        }
    }

    fn check_withheld(
        &mut self,
        blknum: u64,
        l1_block: u64,
        raised: &mut Vec<WatchEvent>,
    ) -> Result<(), WatchError> {
        // Counted from when a watcher first saw the block unserved, kept in the store: a watcher
        // run in rounds (a new process each time) still sees the time pass.
        let now = unix_millis();
        let since = match self.store.withheld_since()? {
            Some((seen, since)) if seen == blknum => since,
            _ => {
                let mut batch = Batch::default();
                self.store.set_withheld_since(&mut batch, blknum, now);
                self.store.write(batch)?;
                now
            }
        };
        let waited = Duration::from_millis(now.saturating_sub(since));
        if waited >= self.config.withhold_after {
            self.raise(
                WatchEvent::BlockWithholding {
                    blknum,
                    waited_secs: waited.as_secs(),
                    l1_block,
                },
                raised,
            )?;
        }
        Ok(())
    }

    /// Starts exits of every unspent coin of `owner` not yet exiting.
    async fn exit_coins(
        &self,
        owner: Address,
        raised: &mut Vec<WatchEvent>,
    ) -> Result<(), WatchError> {
        let coins = self.store.coins()?;
        let mut bond_cache = None;
        for coin in coins
            .iter()
            .filter(|c| c.output.owner == owner && c.state == CoinState::Unspent)
        {
            let key = format!("exit_started/{}", coin.utxo_pos);
            if self.store.watch_raised(&key)? {
                continue;
            }
            let bond = match bond_cache {
                Some(bond) => bond,
                None => *bond_cache.insert(self.l1.exit_params().await?.0),
            };
            match self.l1.start_exit(coin, bond).await {
                Ok(receipt) => self.raise(
                    WatchEvent::ExitStarted {
                        utxo_pos: coin.utxo_pos,
                        tx_hash: receipt.transaction_hash,
                    },
                    raised,
                )?,
                // Retried next round.
                Err(error) => {
                    tracing::warn!(target: "plasma::watch", coin = %coin.utxo_pos, %error, "starting an exit failed")
                }
            }
        }
        Ok(())
    }

    /// Checks every exit in the queue against the verified chain.
    async fn check_exits(
        &self,
        l1_block: u64,
        now: u64,
        raised: &mut Vec<WatchEvent>,
    ) -> Result<(), WatchError> {
        let synced = self.store.synced_blknum()?;
        let first_bad = self.first_bad_block()?;
        for exit in self.store.exits()? {
            // A challenged or finalized exit is out of the queue: nothing to check or challenge.
            if !exit.status.is_active() {
                continue;
            }
            let id = exit.utxo_pos;
            let spend = self.store.spend_of(id)?;
            let reason = if let Some(spend) = &spend {
                format!("the output was spent in block {}", spend.blknum)
            } else if id.blknum() <= synced && self.store.utxo(id)?.is_none() {
                "no such output in the verified chain".to_owned()
            } else if !id.is_deposit() && first_bad.is_some_and(|bad| id.blknum() >= bad) {
                format!(
                    "the output is in block {}, at or after the first invalid or withheld block",
                    id.blknum()
                )
            } else {
                continue;
            };
            self.raise(
                WatchEvent::InvalidExit {
                    exit_id: id,
                    owner: exit.owner,
                    amount: exit.amount,
                    exitable_at: exit.exitable_at,
                    reason,
                    challengeable: spend.is_some(),
                    l1_block,
                },
                raised,
            )?;
            let challenged_key = format!("exit_challenged/{id}");
            if let (Some(from), Some(spend)) = (self.config.challenge_from, &spend)
                && !self.store.watch_raised(&challenged_key)?
            {
                match self.l1.challenge(from, id, spend).await {
                    Ok(receipt) => {
                        self.raise(
                            WatchEvent::ExitChallenged {
                                exit_id: id,
                                tx_hash: receipt.transaction_hash,
                            },
                            raised,
                        )?;
                        continue;
                    }
                    Err(error) => {
                        tracing::warn!(target: "plasma::watch", exit = %id, %error, "challenge failed; retrying next round")
                    }
                }
            }
            if self.store.watch_raised(&challenged_key)? {
                continue;
            }
            let seconds_left = exit.exitable_at.saturating_sub(now);
            if seconds_left <= self.config.warn_before {
                self.raise(
                    WatchEvent::UnchallengedExit {
                        exit_id: id,
                        exitable_at: exit.exitable_at,
                        seconds_left,
                        l1_block,
                    },
                    raised,
                )?;
            }
        }
        Ok(())
    }
}

/// Milliseconds since the Unix epoch, by the wall clock (it survives a restart, unlike
/// `Instant`).
fn unix_millis() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}
