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

use alloy::primitives::{Address, B256, U256, keccak256};
use alloy::rpc::types::TransactionReceipt;
use plasma_core::{Transaction, UtxoPos};
use serde::{Deserialize, Serialize};

use crate::in_flight::{
    InFlightExit, Inclusion, Spend, included_at, input_bit, output_bit, own_piggybacks,
};
use crate::l1::{L1, L1Error};
use crate::operator::OperatorClient;
use crate::store::{Batch, ClientStore, CoinState, InFlightExitRecord, SpendRecord, StoreError};
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
    /// An in-flight exit that L1 holds canonical, of a transaction the verified chain does not
    /// include, while the watcher knows a competitor (another signed spend of one of its
    /// inputs): unchallenged, its outputs are paid from inputs already spent. `--challenge`
    /// shows the oldest competitor known.
    NonCanonicalIfe {
        /// The in-flight transaction's hash.
        in_flight_tx: B256,
        /// The competitor's hash.
        competitor: B256,
        /// The competitor's position, if the verified chain includes it.
        competitor_position: Option<u64>,
        /// Until when (L1 time) it can be challenged: the end of the first half.
        challenge_until: u64,
        /// The L1 block at which the watcher saw it.
        l1_block: u64,
    },
    /// An in-flight exit marked non-canonical whose transaction the verified chain includes
    /// before the competitor on record: the challenge is false. `--challenge` answers it with
    /// the inclusion proof.
    InvalidIfeChallenge {
        /// The in-flight transaction's hash.
        in_flight_tx: B256,
        /// Where the verified chain includes it.
        tx_position: u64,
        /// The competitor on record (`u64::MAX`: unincluded).
        competitor_position: u64,
        /// The L1 block at which the watcher saw it.
        l1_block: u64,
    },
    /// A piggyback on an input spent elsewhere in the verified chain, or on an output of an
    /// included transaction that a later transaction spent: it would pay money that is not the
    /// claimant's. `--challenge` removes it (and takes its bond).
    InvalidPiggyback {
        /// The in-flight transaction's hash.
        in_flight_tx: B256,
        /// Which side was piggybacked.
        side: Side,
        /// The input's or output's index.
        index: u64,
        /// Why it is invalid.
        reason: String,
        /// The L1 block at which the watcher saw it.
        l1_block: u64,
    },
    /// A `non_canonical_ife` still unchallenged within `warn_before` of the end of its first
    /// half (after which nobody can challenge it).
    UnchallengedNonCanonicalIfe {
        /// The in-flight transaction's hash.
        in_flight_tx: B256,
        /// The end of the first half.
        challenge_until: u64,
        /// Seconds left (by L1's clock).
        seconds_left: u64,
        /// The L1 block at which the watcher raised it.
        l1_block: u64,
    },
    /// An `invalid_piggyback` still unchallenged within `warn_before` of the exit's
    /// `exitableAt`.
    UnchallengedPiggyback {
        /// The in-flight transaction's hash.
        in_flight_tx: B256,
        /// Which side was piggybacked.
        side: Side,
        /// The input's or output's index.
        index: u64,
        /// When the exit can be processed.
        exitable_at: u64,
        /// Seconds left (by L1's clock).
        seconds_left: u64,
        /// The L1 block at which the watcher raised it.
        l1_block: u64,
    },
    /// Action: the watcher showed a competitor of a non-canonical in-flight exit (with
    /// `--challenge`); it now holds the exit's bond.
    IfeChallenged {
        /// The in-flight transaction's hash.
        in_flight_tx: B256,
        /// The competitor shown.
        competitor: B256,
        /// The challenge's L1 transaction.
        tx_hash: B256,
    },
    /// Action: the watcher answered a false non-canonical challenge (with `--challenge`); it
    /// now holds the exit's bond.
    IfeChallengeResponded {
        /// The in-flight transaction's hash.
        in_flight_tx: B256,
        /// The response's L1 transaction.
        tx_hash: B256,
    },
    /// Action: the watcher removed an invalid piggyback (with `--challenge`) and took its bond.
    PiggybackChallenged {
        /// The in-flight transaction's hash.
        in_flight_tx: B256,
        /// Which side.
        side: Side,
        /// The input's or output's index.
        index: u64,
        /// The challenge's L1 transaction.
        tx_hash: B256,
    },
    /// Action: the chain turned invalid or withheld, and the watcher started the in-flight exit
    /// of a payment the wallet signed that no verified block includes (with
    /// `--exit-on-danger`), claiming the key's inputs and outputs in it.
    InFlightExitStarted {
        /// The payment's hash.
        in_flight_tx: B256,
        /// The key that started it.
        owner: Address,
        /// The start's L1 transaction.
        tx_hash: B256,
    },
}

/// A side of an in-flight transaction: its inputs or its outputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    /// An input.
    Input,
    /// An output.
    Output,
}

impl std::fmt::Display for Side {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Input => "input",
            Self::Output => "output",
        })
    }
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
            Self::NonCanonicalIfe { in_flight_tx, .. } => {
                format!("non_canonical_ife/{in_flight_tx}")
            }
            Self::InvalidIfeChallenge { in_flight_tx, .. } => {
                format!("invalid_ife_challenge/{in_flight_tx}")
            }
            Self::InvalidPiggyback {
                in_flight_tx,
                side,
                index,
                ..
            } => format!("invalid_piggyback/{in_flight_tx}/{side}{index}"),
            Self::UnchallengedNonCanonicalIfe { in_flight_tx, .. } => {
                format!("unchallenged_non_canonical_ife/{in_flight_tx}")
            }
            Self::UnchallengedPiggyback {
                in_flight_tx,
                side,
                index,
                ..
            } => format!("unchallenged_piggyback/{in_flight_tx}/{side}{index}"),
            Self::IfeChallenged { in_flight_tx, .. } => format!("ife_challenged/{in_flight_tx}"),
            Self::IfeChallengeResponded { in_flight_tx, .. } => {
                format!("ife_challenge_responded/{in_flight_tx}")
            }
            Self::PiggybackChallenged {
                in_flight_tx,
                side,
                index,
                ..
            } => format!("piggyback_challenged/{in_flight_tx}/{side}{index}"),
            Self::InFlightExitStarted { in_flight_tx, .. } => {
                format!("in_flight_exit_started/{in_flight_tx}")
            }
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
    /// L1 reorganised in a way the store cannot follow
    /// ([`SyncError::ReorganisedVerified`], [`SyncError::ReorganisedTooDeep`]).
    #[error(transparent)]
    Reorganised(Box<SyncError>),
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
    min_exit_period: Option<u64>,
}

/// One open in-flight exit as the watcher sees it in a round.
struct Game<'r> {
    exit: InFlightExit,
    record: &'r InFlightExitRecord,
    /// Where the verified chain includes its transaction.
    included: Option<Inclusion>,
}

/// A competitor of an in-flight transaction: another signed spend of one of its inputs.
struct Competitor {
    /// Which input of the in-flight transaction it spends.
    input_index: usize,
    /// Its hash.
    hash: B256,
    /// The spend, as the challenge takes it.
    spend: Spend,
    /// Where the verified chain includes it (`None`: in no block, the youngest).
    inclusion: Option<Inclusion>,
}

impl Competitor {
    /// Its position as the contract compares them (an unincluded one is the youngest).
    fn position(&self) -> u64 {
        self.inclusion.as_ref().map_or(u64::MAX, |i| i.position)
    }
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
            min_exit_period: None,
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

    /// Plays the in-flight exit game for every open in-flight exit seen on L1 (from the
    /// store's record of its events): what the wallet's keys can still claim, whether it is
    /// canonical as L1 holds it, and whether each piggyback is valid — each checked against
    /// the verified chain and acted on with `--challenge` / `--exit-on-danger`.
    async fn check_in_flight(
        &mut self,
        l1_block: u64,
        now: u64,
        raised: &mut Vec<WatchEvent>,
    ) -> Result<(), WatchError> {
        let records = self.store.in_flight_exits()?;
        let half = if records.iter().any(|r| !r.closed) {
            self.min_exit_period().await? / 2
        } else {
            0
        };
        for record in &records {
            // Processed or deleted: nothing left to claim or challenge. (A false challenge can
            // be answered, and a claim challenged, until the exit is processed, even after its
            // `exitableAt`.)
            if record.closed {
                continue;
            }
            let Some(exit) = InFlightExit::from_record(record) else {
                continue;
            };
            let mut game = Game {
                included: self.inclusion_of(&exit)?,
                exit,
                record,
            };
            // Claims close with the first half.
            if now < record.exitable_at.saturating_sub(half) {
                self.check_claims(&game, l1_block, raised).await?;
            }
            if let Some(bond_owner) = self
                .check_canonicity(&game, &records, (l1_block, now, half), raised)
                .await?
            {
                // The calls that follow in this round pass the exit's data back: with the
                // bond's new owner, as the contract now hashes it.
                game.exit.bond_owner = bond_owner;
            }
            self.check_piggybacks(&game, l1_block, now, raised).await?;
        }
        Ok(())
    }

    /// Where the verified chain includes the in-flight transaction, with the inclusion proof.
    fn inclusion_of(&self, exit: &InFlightExit) -> Result<Option<Inclusion>, WatchError> {
        let Some(spend) = included_at(self.store, exit.tx_hash, &exit.tx)? else {
            return Ok(None);
        };
        Ok(self
            .store
            .inclusion_proof(spend.blknum, spend.tx_index)?
            .map(|proof| Inclusion {
                position: spend.position(),
                proof,
            }))
    }

    /// The spend of input `index` of `exit` in the verified chain by another transaction.
    fn spent_elsewhere(
        &self,
        exit: &InFlightExit,
        index: usize,
    ) -> Result<Option<SpendRecord>, WatchError> {
        let Some(&pos) = exit.tx.inputs.get(index) else {
            return Ok(None);
        };
        Ok(self
            .store
            .spend_of(pos)?
            .filter(|spend| keccak256(&spend.tx_bytes) != exit.tx_hash))
    }

    /// Raises `piggyback_available` for an in-flight exit of a transaction the verified chain
    /// does not include, in which a key of the wallet can still claim an input (not spent
    /// elsewhere) or an output, and with `--exit-on-danger` claims it: an honest payee must
    /// piggyback its output within the first half of the exit period, or lose it.
    async fn check_claims(
        &self,
        game: &Game<'_>,
        l1_block: u64,
        raised: &mut Vec<WatchEvent>,
    ) -> Result<(), WatchError> {
        // An included transaction's outputs exit by standard exits, and its inputs are spent.
        if game.included.is_some() {
            return Ok(());
        }
        let exit = &game.exit;
        let mut spent_inputs = 0;
        for index in 0..exit.tx.inputs.len() {
            if self.spent_elsewhere(exit, index)?.is_some() {
                spent_inputs |= input_bit(index);
            }
        }
        for &owner in &self.owned {
            let claims = exit.open_for(owner) & !spent_inputs;
            if claims == 0 {
                continue;
            }
            let acting = self.config.exit_on_danger == Some(owner);
            let claimed = format!("piggybacked/{}/{owner}", exit.tx_hash);
            self.raise(
                WatchEvent::PiggybackAvailable {
                    in_flight_tx: exit.tx_hash,
                    owner,
                    claims,
                    exitable_at: exit.exitable_at,
                    l1_block,
                },
                raised,
            )?;
            if !acting || self.store.watch_raised(&claimed)? {
                continue;
            }
            match self.l1.piggyback(owner, exit, claims).await {
                Ok(receipts) => self.raise(
                    WatchEvent::Piggybacked {
                        in_flight_tx: exit.tx_hash,
                        owner,
                        transactions: receipts.iter().map(|r| r.transaction_hash).collect(),
                    },
                    raised,
                )?,
                // Retried next round (until the first half ends).
                Err(error) => {
                    tracing::warn!(target: "plasma::watch", in_flight_tx = %exit.tx_hash, %error, "claiming in an in-flight exit failed")
                }
            }
        }
        Ok(())
    }

    /// The oldest competitor of `exit` the watcher knows: another spend of one of its inputs,
    /// included in the verified chain (the oldest such), or else the transaction of another
    /// in-flight exit started on L1 (with its signatures from the start event).
    fn oldest_competitor(
        &self,
        exit: &InFlightExit,
        records: &[InFlightExitRecord],
    ) -> Result<Option<Competitor>, WatchError> {
        let mut best: Option<Competitor> = None;
        for index in 0..exit.tx.inputs.len() {
            let Some(spend) = self.spent_elsewhere(exit, index)? else {
                continue;
            };
            if best
                .as_ref()
                .is_some_and(|b| b.position() <= spend.position())
            {
                continue;
            }
            let Some(proof) = self.store.inclusion_proof(spend.blknum, spend.tx_index)? else {
                continue;
            };
            best = Some(Competitor {
                input_index: index,
                hash: keccak256(&spend.tx_bytes),
                inclusion: Some(Inclusion {
                    position: spend.position(),
                    proof,
                }),
                spend: Spend {
                    tx_bytes: spend.tx_bytes,
                    input_index: spend.input_index,
                    signature: spend.signature,
                },
            });
        }
        if best.is_some() {
            return Ok(best);
        }
        for other in records.iter().filter(|r| r.tx_hash != exit.tx_hash) {
            let Ok(tx) = Transaction::decode(&other.tx_bytes) else {
                continue;
            };
            for (k, input) in tx.inputs.iter().enumerate() {
                let Some(index) = exit.tx.inputs.iter().position(|p| p == input) else {
                    continue;
                };
                let Some(&signature) = other.signatures.get(k) else {
                    continue;
                };
                return Ok(Some(Competitor {
                    input_index: index,
                    hash: other.tx_hash,
                    inclusion: None,
                    spend: Spend {
                        tx_bytes: other.tx_bytes.clone(),
                        input_index: k as u64,
                        signature,
                    },
                }));
            }
        }
        Ok(None)
    }

    /// `non_canonical_ife` for an exit L1 holds canonical while the watcher knows an older
    /// competitor, and `invalid_ife_challenge` for one marked non-canonical whose transaction
    /// the verified chain includes before the competitor on record; with `--challenge`, the
    /// challenge or the response. Returns the exit bond's new owner when the watcher took it.
    /// `half` is half the contract's minimum exit period: the first half ends that long before
    /// `exitableAt`.
    async fn check_canonicity(
        &self,
        game: &Game<'_>,
        records: &[InFlightExitRecord],
        (l1_block, now, half): (u64, u64, u64),
        raised: &mut Vec<WatchEvent>,
    ) -> Result<Option<Address>, WatchError> {
        let (exit, record) = (&game.exit, game.record);
        if let Some(included) = &game.included {
            if !record.canonical && included.position < record.competitor_position {
                self.raise(
                    WatchEvent::InvalidIfeChallenge {
                        in_flight_tx: exit.tx_hash,
                        tx_position: included.position,
                        competitor_position: record.competitor_position,
                        l1_block,
                    },
                    raised,
                )?;
                let key = format!("ife_challenge_responded/{}", exit.tx_hash);
                if let Some(from) = self.config.challenge_from
                    && !self.store.watch_raised(&key)?
                {
                    match self
                        .l1
                        .respond_to_non_canonical_challenge(from, exit, included)
                        .await
                    {
                        Ok(receipt) => {
                            self.raise(
                                WatchEvent::IfeChallengeResponded {
                                    in_flight_tx: exit.tx_hash,
                                    tx_hash: receipt.transaction_hash,
                                },
                                raised,
                            )?;
                            return Ok(Some(from));
                        }
                        Err(error) => {
                            tracing::warn!(target: "plasma::watch", in_flight_tx = %exit.tx_hash, %error, "answering a non-canonical challenge failed; retrying next round")
                        }
                    }
                }
            }
            return Ok(None);
        }
        // Not included: canonical only if nobody knows a competitor.
        if !record.canonical {
            return Ok(None);
        }
        let Some(competitor) = self.oldest_competitor(exit, records)? else {
            return Ok(None);
        };
        let challenge_until = exit.exitable_at.saturating_sub(half);
        if now >= challenge_until {
            return Ok(None);
        }
        // After a response the record holds the transaction's own position: only an older
        // competitor beats it.
        if record.competitor_position != 0 && competitor.position() >= record.competitor_position {
            return Ok(None);
        }
        self.raise(
            WatchEvent::NonCanonicalIfe {
                in_flight_tx: exit.tx_hash,
                competitor: competitor.hash,
                competitor_position: competitor.inclusion.as_ref().map(|i| i.position),
                challenge_until,
                l1_block,
            },
            raised,
        )?;
        let key = format!("ife_challenged/{}", exit.tx_hash);
        if self.store.watch_raised(&key)? {
            return Ok(None);
        }
        if let Some(from) = self.config.challenge_from {
            match self
                .l1
                .challenge_in_flight_not_canonical(
                    from,
                    exit,
                    competitor.input_index,
                    &competitor.spend,
                    competitor.inclusion.as_ref(),
                )
                .await
            {
                Ok(receipt) => {
                    self.raise(
                        WatchEvent::IfeChallenged {
                            in_flight_tx: exit.tx_hash,
                            competitor: competitor.hash,
                            tx_hash: receipt.transaction_hash,
                        },
                        raised,
                    )?;
                    return Ok(Some(from));
                }
                Err(error) => {
                    tracing::warn!(target: "plasma::watch", in_flight_tx = %exit.tx_hash, %error, "challenging a non-canonical in-flight exit failed; retrying next round")
                }
            }
        }
        let seconds_left = challenge_until.saturating_sub(now);
        if seconds_left <= self.config.warn_before {
            self.raise(
                WatchEvent::UnchallengedNonCanonicalIfe {
                    in_flight_tx: exit.tx_hash,
                    challenge_until,
                    seconds_left,
                    l1_block,
                },
                raised,
            )?;
        }
        Ok(None)
    }

    /// `invalid_piggyback` for a piggybacked input spent elsewhere in the verified chain, or a
    /// piggybacked output (of an included transaction) spent; with `--challenge`, the challenge.
    async fn check_piggybacks(
        &self,
        game: &Game<'_>,
        l1_block: u64,
        now: u64,
        raised: &mut Vec<WatchEvent>,
    ) -> Result<(), WatchError> {
        let exit = &game.exit;
        for index in 0..exit.tx.inputs.len() {
            if exit.piggybacks & input_bit(index) == 0 {
                continue;
            }
            let Some(spend) = self.spent_elsewhere(exit, index)? else {
                continue;
            };
            let reason = format!(
                "input {index} ({}) was spent in block {} by another transaction",
                exit.tx.inputs[index], spend.blknum
            );
            let challenge = async |from| {
                self.l1
                    .challenge_in_flight_input_spent(from, exit, index, &Spend::from(&spend))
                    .await
            };
            self.invalid_piggyback(
                exit,
                (Side::Input, index),
                reason,
                challenge,
                (l1_block, now),
                raised,
            )
            .await?;
        }
        let Some(included) = &game.included else {
            return Ok(()); // outputs of a transaction in no block are spent nowhere
        };
        for index in 0..exit.tx.outputs.len() {
            if exit.piggybacks & output_bit(index) == 0 {
                continue;
            }
            let Ok(pos) = UtxoPos::from_u64(included.position + index as u64) else {
                continue;
            };
            let Some(spend) = self.store.spend_of(pos)? else {
                continue;
            };
            let reason = format!("output {index} ({pos}) was spent in block {}", spend.blknum);
            let challenge = async |from| {
                self.l1
                    .challenge_in_flight_output_spent(
                        from,
                        exit,
                        included,
                        index,
                        &Spend::from(&spend),
                    )
                    .await
            };
            self.invalid_piggyback(
                exit,
                (Side::Output, index),
                reason,
                challenge,
                (l1_block, now),
                raised,
            )
            .await?;
        }
        Ok(())
    }

    /// Raises one `invalid_piggyback`, challenges it with `--challenge`, and warns when it is
    /// still unchallenged near the exit's `exitableAt`.
    async fn invalid_piggyback(
        &self,
        exit: &InFlightExit,
        (side, index): (Side, usize),
        reason: String,
        challenge: impl AsyncFnOnce(Address) -> Result<TransactionReceipt, L1Error>,
        (l1_block, now): (u64, u64),
        raised: &mut Vec<WatchEvent>,
    ) -> Result<(), WatchError> {
        let index = index as u64;
        self.raise(
            WatchEvent::InvalidPiggyback {
                in_flight_tx: exit.tx_hash,
                side,
                index,
                reason,
                l1_block,
            },
            raised,
        )?;
        let key = format!("piggyback_challenged/{}/{side}{index}", exit.tx_hash);
        if self.store.watch_raised(&key)? {
            return Ok(());
        }
        if let Some(from) = self.config.challenge_from {
            match challenge(from).await {
                Ok(receipt) => {
                    return self.raise(
                        WatchEvent::PiggybackChallenged {
                            in_flight_tx: exit.tx_hash,
                            side,
                            index,
                            tx_hash: receipt.transaction_hash,
                        },
                        raised,
                    );
                }
                Err(error) => {
                    tracing::warn!(target: "plasma::watch", in_flight_tx = %exit.tx_hash, %side, index, %error, "challenging a piggyback failed; retrying next round")
                }
            }
        }
        let seconds_left = exit.exitable_at.saturating_sub(now);
        if seconds_left <= self.config.warn_before {
            self.raise(
                WatchEvent::UnchallengedPiggyback {
                    in_flight_tx: exit.tx_hash,
                    side,
                    index,
                    exitable_at: exit.exitable_at,
                    seconds_left,
                    l1_block,
                },
                raised,
            )?;
        }
        Ok(())
    }

    /// The contract's minimum exit period (read once).
    async fn min_exit_period(&mut self) -> Result<u64, WatchError> {
        if let Some(period) = self.min_exit_period {
            return Ok(period);
        }
        let period = self.l1.exit_params().await?.1;
        self.min_exit_period = Some(period);
        Ok(period)
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
                | SyncError::InvalidFeeClaim { blknum, .. }
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
            Err(
                e @ (SyncError::ReorganisedVerified { .. } | SyncError::ReorganisedTooDeep { .. }),
            ) => Err(WatchError::Reorganised(Box::new(e))),
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
        self.exit_payments(owner, raised).await
    }

    /// Starts the in-flight exits of `owner`'s payments that no verified block includes (the
    /// coins they spend are in flight: no standard exit can take them back), claiming
    /// `owner`'s inputs and outputs in each.
    async fn exit_payments(
        &self,
        owner: Address,
        raised: &mut Vec<WatchEvent>,
    ) -> Result<(), WatchError> {
        for hash in self.store.in_flight_hashes()? {
            let key = format!("in_flight_exit_started/{hash}");
            if self.store.watch_raised(&key)? || self.store.in_flight_exit(hash)?.is_some() {
                continue;
            }
            let Some(payment) = self.store.in_flight(hash)? else {
                continue;
            };
            let Ok(tx) = Transaction::decode(&payment.tx_bytes) else {
                continue;
            };
            let claims = own_piggybacks(&payment, &tx, owner);
            if payment.inputs.iter().all(|c| c.output.owner != owner) {
                continue;
            }
            match self.l1.start_in_flight_exit(owner, &payment, claims).await {
                Ok(receipt) => self.raise(
                    WatchEvent::InFlightExitStarted {
                        in_flight_tx: hash,
                        owner,
                        tx_hash: receipt.transaction_hash,
                    },
                    raised,
                )?,
                // Retried next round.
                Err(error) => {
                    tracing::warn!(target: "plasma::watch", in_flight_tx = %hash, %error, "starting an in-flight exit failed")
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
