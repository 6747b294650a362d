//! The one reader of the root contract's events: [`RootChainEvent`] is every event of the
//! contract, decoded into child-chain types, and [`EventReader`] reads a bounded range of L1
//! blocks with one `eth_getLogs` (the contract's address and every event signature), returning
//! the events in L1 order, each with its L1 position and the timestamp of its L1 block.
//!
//! The decoder matches on the `sol!`-generated `RootChainEvents` enum, so a new event in the
//! committed ABI does not compile until it has its variant here; the log filter takes the
//! signatures from the same enum, so it covers every event without a list to keep in step.
//!
//! ```no_run
//! use alloy::providers::ProviderBuilder;
//! use plasma_contracts::events::{EventReader, RootChainEvent};
//!
//! # async fn run(root_chain: alloy::primitives::Address) -> Result<(), Box<dyn std::error::Error>> {
//! let provider = ProviderBuilder::new().connect("http://127.0.0.1:8545").await?;
//! let reader = EventReader::new(provider, root_chain);
//! for log in reader.read(0, 4_999).await? {
//!     if let RootChainEvent::DepositCreated(deposit) = log.event {
//!         println!("deposit block {} at {}", deposit.blknum, log.timestamp);
//!     }
//! }
//! # Ok(()) }
//! ```

use std::collections::HashMap;

use alloy::eips::BlockNumberOrTag;
use alloy::primitives::{Address, B256, Bytes, U256};
use alloy::providers::Provider;
use alloy::rpc::types::{Filter, Log};
use alloy::sol_types::SolEventInterface;
use alloy::transports::TransportError;
use plasma_core::{Deposit, TxSignature, UtxoPos};

use crate::RootChain::{self, RootChainEvents};

/// One event of the root contract, in child-chain types.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RootChainEvent {
    /// `DepositCreated`: a deposit made the one-transaction deposit block `deposit.blknum`.
    DepositCreated(Deposit),
    /// `BlockSubmitted`: the operator committed block `blknum`.
    BlockSubmitted {
        /// The block number (a multiple of 1000).
        blknum: u64,
        /// The block's full Merkle root.
        root: B256,
        /// The L1 timestamp the contract recorded for it.
        timestamp: u64,
    },
    /// `ExitStarted`: a standard exit entered the queue of `token`.
    ExitStarted {
        /// The exiting output, also the exit id.
        utxo_pos: UtxoPos,
        /// The output's owner, who posted the bond.
        owner: Address,
        /// The output's token.
        token: Address,
        /// The output's amount.
        amount: U256,
        /// When `processExits` may pay it.
        exitable_at: u64,
    },
    /// `ExitChallenged`: the exit was deleted by a signed spend of its output.
    ExitChallenged {
        /// The exit id.
        utxo_pos: UtxoPos,
        /// Who challenged (and got the bond).
        challenger: Address,
    },
    /// `ExitFinalized`: `processExits` paid (or credited) the exit.
    ExitFinalized {
        /// The exit id.
        utxo_pos: UtxoPos,
        /// The output's owner.
        owner: Address,
        /// The output's token.
        token: Address,
        /// The output's amount.
        amount: U256,
        /// Whether the amount was transferred (`false`: credited, see `WithdrawalCredited`).
        paid: bool,
    },
    /// `ExitUnfunded`: a standard exit reached its turn but the contract could not fund it
    /// (forged outputs drained the token): it is closed unpaid, its bond returned.
    ExitUnfunded {
        /// The exit id.
        utxo_pos: UtxoPos,
        /// The output's owner.
        owner: Address,
        /// The output's token.
        token: Address,
        /// The amount claimed.
        amount: U256,
    },
    /// An event of the in-flight exit game.
    InFlight(InFlightEvent),
    /// `WithdrawalCredited`: a failed payout was credited to `owner`'s withdrawable balance.
    WithdrawalCredited {
        /// Whose balance.
        owner: Address,
        /// The token.
        token: Address,
        /// The amount credited.
        amount: U256,
    },
    /// `Withdrawn`: `owner` pulled its withdrawable balance of `token`.
    Withdrawn {
        /// Who withdrew.
        owner: Address,
        /// The token.
        token: Address,
        /// The amount.
        amount: U256,
    },
    /// `EIP712DomainChanged` (ERC-5267): the signing domain changed. The root contract's domain
    /// is fixed at deployment, so nothing follows from it.
    Eip712DomainChanged,
}

/// An event of the in-flight exit game (MoreVP): every step of an in-flight exit of the
/// transaction `tx_hash`, each carrying what a watcher needs to act on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InFlightEvent {
    /// `InFlightExitStarted`: an in-flight exit of the transaction `tx_hash` started. It carries
    /// everything a watcher or a piggybacker needs, with no second source.
    Started {
        /// The in-flight transaction's hash (the exit's id).
        tx_hash: B256,
        /// Who started it (and posted the in-flight exit bond).
        starter: Address,
        /// The in-flight transaction's canonical bytes.
        tx_bytes: Bytes,
        /// Its inputs as the start proved them.
        inputs: Vec<InFlightInput>,
        /// Its signatures, one per input (the event carries them as 65-byte `r ‖ s ‖ v` each).
        signatures: Vec<TxSignature>,
        /// When its first queue entry may be processed.
        exitable_at: u64,
    },
    /// `InFlightExitInputPiggybacked`: the owner of input `input_index` piggybacked it.
    InputPiggybacked {
        /// The exit.
        tx_hash: B256,
        /// The input's owner.
        owner: Address,
        /// The input's index in the in-flight transaction.
        input_index: u64,
    },
    /// `InFlightExitOutputPiggybacked`: the owner of output `output_index` piggybacked it.
    OutputPiggybacked {
        /// The exit.
        tx_hash: B256,
        /// The output's owner.
        owner: Address,
        /// The output's index in the in-flight transaction.
        output_index: u64,
    },
    /// `InFlightExitChallenged`: a competitor spending input `input_index` made the exit
    /// non-canonical.
    Challenged {
        /// The exit.
        tx_hash: B256,
        /// Who challenged (and holds the exit bond now).
        challenger: Address,
        /// The shared input's index in the in-flight transaction.
        input_index: u64,
        /// The competitor's hash.
        competitor_hash: B256,
        /// The competitor's position `blknum·10^9 + txIndex·10^4`, or 0 when shown unincluded.
        competitor_position: U256,
    },
    /// `InFlightExitChallengeResponded`: the in-flight transaction was shown included before
    /// the competitor: canonical again.
    ChallengeResponded {
        /// The exit.
        tx_hash: B256,
        /// Who responded (and holds the exit bond now).
        responder: Address,
        /// The in-flight transaction's position `blknum·10^9 + txIndex·10^4`.
        tx_position: U256,
    },
    /// `InFlightExitInputBlocked`: a piggybacked input was shown spent elsewhere.
    InputBlocked {
        /// The exit.
        tx_hash: B256,
        /// Who challenged (and got the piggyback bond).
        challenger: Address,
        /// The input's index.
        input_index: u64,
    },
    /// `InFlightExitOutputBlocked`: a piggybacked output was shown spent.
    OutputBlocked {
        /// The exit.
        tx_hash: B256,
        /// Who challenged (and got the piggyback bond).
        challenger: Address,
        /// The output's index.
        output_index: u64,
    },
    /// `InFlightExitDeleted`: an exit with nothing piggybacked was deleted after its first
    /// half, its bond returned.
    Deleted {
        /// The exit.
        tx_hash: B256,
        /// Who got the bond back.
        bond_owner: Address,
    },
    /// `InFlightExitInputWithdrawn`: processing settled a piggybacked input.
    InputWithdrawn {
        /// The exit.
        tx_hash: B256,
        /// The input's index.
        input_index: u64,
        /// Its owner.
        owner: Address,
        /// Its token.
        token: Address,
        /// Its amount.
        amount: U256,
        /// What processing did with it.
        outcome: PiggybackOutcome,
    },
    /// `InFlightExitOutputWithdrawn`: processing settled a piggybacked output.
    OutputWithdrawn {
        /// The exit.
        tx_hash: B256,
        /// The output's index.
        output_index: u64,
        /// Its owner.
        owner: Address,
        /// Its token.
        token: Address,
        /// Its amount.
        amount: U256,
        /// What processing did with it.
        outcome: PiggybackOutcome,
    },
    /// `InFlightExitProcessed`: the exit's entry in the queue of `token` was processed.
    Processed {
        /// The exit.
        tx_hash: B256,
        /// The queue.
        token: Address,
        /// Whether the exit was canonical (outputs paid) or not (inputs paid).
        canonical: bool,
        /// Whether every entry of the exit is processed.
        finished: bool,
    },
}

impl InFlightEvent {
    /// The in-flight transaction's hash: the exit the event is about.
    pub fn tx_hash(&self) -> B256 {
        match self {
            Self::Started { tx_hash, .. }
            | Self::InputPiggybacked { tx_hash, .. }
            | Self::OutputPiggybacked { tx_hash, .. }
            | Self::Challenged { tx_hash, .. }
            | Self::ChallengeResponded { tx_hash, .. }
            | Self::InputBlocked { tx_hash, .. }
            | Self::OutputBlocked { tx_hash, .. }
            | Self::Deleted { tx_hash, .. }
            | Self::InputWithdrawn { tx_hash, .. }
            | Self::OutputWithdrawn { tx_hash, .. }
            | Self::Processed { tx_hash, .. } => *tx_hash,
        }
    }
}

/// One input of an in-flight transaction, as `startInFlightExit` proved it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InFlightInput {
    /// The hash of the transaction that created the input.
    pub tx_hash: B256,
    /// The input's owner (a signer of the in-flight transaction).
    pub owner: Address,
    /// The input's token.
    pub token: Address,
    /// The input's amount.
    pub amount: U256,
}

/// What processing did with one piggyback (`IRootChain.PiggybackOutcome`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PiggybackOutcome {
    /// Amount and piggyback bond were transferred to the owner.
    Paid,
    /// The transfer failed at the receiver: credited to its withdrawable balance.
    Credited,
    /// The contract could not fund the amount; the bond was returned.
    Unfunded,
    /// The output was already exited by another exit; the bond was returned.
    AlreadyExited,
    /// On the side that is not paid; the bond was returned.
    NotPaid,
}

impl PiggybackOutcome {
    fn from_index(value: u8) -> Result<Self, DecodeError> {
        Ok(match value {
            0 => Self::Paid,
            1 => Self::Credited,
            2 => Self::Unfunded,
            3 => Self::AlreadyExited,
            4 => Self::NotPaid,
            other => {
                return Err(DecodeError::OutOfRange {
                    event: "InFlightExit*Withdrawn",
                    field: "outcome",
                    value: U256::from(other),
                });
            }
        })
    }
}

/// Why a log of the root contract does not decode.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// The topics or data do not decode as the event its signature names.
    #[error("root-chain event log does not decode: {0}")]
    Abi(#[from] alloy::sol_types::Error),
    /// A field does not fit the child chain's types.
    #[error("{event}.{field} out of range: {value}")]
    OutOfRange {
        /// The event.
        event: &'static str,
        /// The field.
        field: &'static str,
        /// Its value.
        value: U256,
    },
}

/// Why reading a range of events failed.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The L1 node did not answer (or answered with an error).
    #[error("L1 RPC failed: {0}")]
    Rpc(#[from] TransportError),
    /// A log of the root contract does not decode.
    #[error("malformed root-chain log at L1 block {block_number}, log {log_index}: {source}")]
    Malformed {
        /// The L1 block of the log.
        block_number: u64,
        /// Its index in that block.
        log_index: u64,
        /// What is wrong.
        source: DecodeError,
    },
    /// The node served a log without its place in the chain (a pending log).
    #[error("L1 node served a log without its {0}")]
    Incomplete(&'static str),
    /// The node does not know a block it served logs of.
    #[error("L1 block {0} not found")]
    BlockNotFound(u64),
    /// L1 block `block` changed while its range was read: a reorganisation, read again.
    #[error("L1 block {block} changed while its range was read (L1 reorganised); read it again")]
    Reorganized {
        /// The range's last block.
        block: u64,
    },
    /// `from > to`.
    #[error("empty L1 block range {from}..={to}")]
    EmptyRange {
        /// The first block asked for.
        from: u64,
        /// The last block asked for.
        to: u64,
    },
}

/// Where an event happened on L1. Orders by block, then log index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LogPosition {
    /// The L1 block number.
    pub block_number: u64,
    /// The log's index in its block.
    pub log_index: u64,
    /// The transaction that emitted it.
    pub tx_hash: B256,
}

/// An event with its L1 position and the timestamp of its L1 block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RootChainLog {
    /// Where it happened.
    pub position: LogPosition,
    /// Unix time of its L1 block.
    pub timestamp: u64,
    /// What happened.
    pub event: RootChainEvent,
}

fn to_u64(event: &'static str, field: &'static str, value: U256) -> Result<u64, DecodeError> {
    u64::try_from(value).map_err(|_| DecodeError::OutOfRange {
        event,
        field,
        value,
    })
}

fn to_pos(event: &'static str, value: U256) -> Result<UtxoPos, DecodeError> {
    UtxoPos::from_u256(value).map_err(|_| DecodeError::OutOfRange {
        event,
        field: "utxoPos",
        value,
    })
}

impl RootChainEvent {
    /// Every event signature (topic 0) of the root contract.
    pub fn signatures() -> Vec<B256> {
        RootChainEvents::SELECTORS
            .iter()
            .copied()
            .map(B256::from)
            .collect()
    }

    /// Decodes a log of the root contract: `Ok(None)` when its first topic is no event of the
    /// contract (not ours: skip it), an error when it is one but does not decode.
    pub fn decode(log: &alloy::primitives::Log) -> Result<Option<Self>, DecodeError> {
        let Some(topic) = log.topics().first() else {
            return Ok(None);
        };
        if RootChainEvents::SELECTORS.binary_search(&topic.0).is_err() {
            return Ok(None);
        }
        let decoded = RootChainEvents::decode_raw_log(log.topics(), &log.data.data)?;
        Self::from_binding(decoded).map(Some)
    }

    fn from_binding(event: RootChainEvents) -> Result<Self, DecodeError> {
        Ok(match event {
            RootChainEvents::DepositCreated(e) => Self::DepositCreated(deposit_of(&e)?),
            RootChainEvents::BlockSubmitted(e) => Self::BlockSubmitted {
                blknum: to_u64("BlockSubmitted", "blknum", e.blknum)?,
                root: e.root,
                timestamp: to_u64("BlockSubmitted", "timestamp", e.timestamp)?,
            },
            RootChainEvents::ExitStarted(e) => Self::ExitStarted {
                utxo_pos: to_pos("ExitStarted", e.utxoPos)?,
                owner: e.owner,
                token: e.token,
                amount: e.amount,
                exitable_at: to_u64("ExitStarted", "exitableAt", e.exitableAt)?,
            },
            RootChainEvents::ExitChallenged(e) => Self::ExitChallenged {
                utxo_pos: to_pos("ExitChallenged", e.utxoPos)?,
                challenger: e.challenger,
            },
            RootChainEvents::ExitFinalized(e) => Self::ExitFinalized {
                utxo_pos: to_pos("ExitFinalized", e.utxoPos)?,
                owner: e.owner,
                token: e.token,
                amount: e.amount,
                paid: e.paid,
            },
            RootChainEvents::ExitUnfunded(e) => Self::ExitUnfunded {
                utxo_pos: to_pos("ExitUnfunded", e.utxoPos)?,
                owner: e.owner,
                token: e.token,
                amount: e.amount,
            },
            RootChainEvents::InFlightExitStarted(e) => Self::InFlight(InFlightEvent::Started {
                tx_hash: e.txHash,
                starter: e.starter,
                tx_bytes: e.txBytes,
                inputs: e
                    .inputs
                    .iter()
                    .map(|i| InFlightInput {
                        tx_hash: i.txHash,
                        owner: i.owner,
                        token: i.token,
                        amount: i.amount,
                    })
                    .collect(),
                signatures: signatures_of(&e.signatures)?,
                exitable_at: to_u64("InFlightExitStarted", "exitableAt", e.exitableAt)?,
            }),
            RootChainEvents::InFlightExitInputPiggybacked(e) => {
                Self::InFlight(InFlightEvent::InputPiggybacked {
                    tx_hash: e.txHash,
                    owner: e.owner,
                    input_index: to_u64(
                        "InFlightExitInputPiggybacked",
                        "inputIndex",
                        e.inputIndex,
                    )?,
                })
            }
            RootChainEvents::InFlightExitOutputPiggybacked(e) => {
                Self::InFlight(InFlightEvent::OutputPiggybacked {
                    tx_hash: e.txHash,
                    owner: e.owner,
                    output_index: to_u64(
                        "InFlightExitOutputPiggybacked",
                        "outputIndex",
                        e.outputIndex,
                    )?,
                })
            }
            RootChainEvents::InFlightExitChallenged(e) => {
                Self::InFlight(InFlightEvent::Challenged {
                    tx_hash: e.txHash,
                    challenger: e.challenger,
                    input_index: to_u64("InFlightExitChallenged", "inputIndex", e.inputIndex)?,
                    competitor_hash: e.competitorHash,
                    competitor_position: e.competitorPosition,
                })
            }
            RootChainEvents::InFlightExitChallengeResponded(e) => {
                Self::InFlight(InFlightEvent::ChallengeResponded {
                    tx_hash: e.txHash,
                    responder: e.responder,
                    tx_position: e.txPosition,
                })
            }
            RootChainEvents::InFlightExitInputBlocked(e) => {
                Self::InFlight(InFlightEvent::InputBlocked {
                    tx_hash: e.txHash,
                    challenger: e.challenger,
                    input_index: to_u64("InFlightExitInputBlocked", "inputIndex", e.inputIndex)?,
                })
            }
            RootChainEvents::InFlightExitOutputBlocked(e) => {
                Self::InFlight(InFlightEvent::OutputBlocked {
                    tx_hash: e.txHash,
                    challenger: e.challenger,
                    output_index: to_u64(
                        "InFlightExitOutputBlocked",
                        "outputIndex",
                        e.outputIndex,
                    )?,
                })
            }
            RootChainEvents::InFlightExitDeleted(e) => Self::InFlight(InFlightEvent::Deleted {
                tx_hash: e.txHash,
                bond_owner: e.bondOwner,
            }),
            RootChainEvents::InFlightExitInputWithdrawn(e) => {
                Self::InFlight(InFlightEvent::InputWithdrawn {
                    tx_hash: e.txHash,
                    input_index: to_u64("InFlightExitInputWithdrawn", "inputIndex", e.inputIndex)?,
                    owner: e.owner,
                    token: e.token,
                    amount: e.amount,
                    outcome: PiggybackOutcome::from_index(e.outcome)?,
                })
            }
            RootChainEvents::InFlightExitOutputWithdrawn(e) => {
                Self::InFlight(InFlightEvent::OutputWithdrawn {
                    tx_hash: e.txHash,
                    output_index: to_u64(
                        "InFlightExitOutputWithdrawn",
                        "outputIndex",
                        e.outputIndex,
                    )?,
                    owner: e.owner,
                    token: e.token,
                    amount: e.amount,
                    outcome: PiggybackOutcome::from_index(e.outcome)?,
                })
            }
            RootChainEvents::InFlightExitProcessed(e) => Self::InFlight(InFlightEvent::Processed {
                tx_hash: e.txHash,
                token: e.token,
                canonical: e.canonical,
                finished: e.finished,
            }),
            RootChainEvents::WithdrawalCredited(e) => Self::WithdrawalCredited {
                owner: e.owner,
                token: e.token,
                amount: e.amount,
            },
            RootChainEvents::Withdrawn(e) => Self::Withdrawn {
                owner: e.owner,
                token: e.token,
                amount: e.amount,
            },
            RootChainEvents::EIP712DomainChanged(_) => Self::Eip712DomainChanged,
        })
    }
}

/// Splits concatenated 65-byte signatures (`InFlightExitStarted.signatures`).
fn signatures_of(bytes: &[u8]) -> Result<Vec<TxSignature>, DecodeError> {
    let malformed = || DecodeError::OutOfRange {
        event: "InFlightExitStarted",
        field: "signatures",
        value: U256::from(bytes.len()),
    };
    if !bytes
        .len()
        .is_multiple_of(plasma_core::signature::SIGNATURE_LEN)
    {
        return Err(malformed());
    }
    bytes
        .chunks(plasma_core::signature::SIGNATURE_LEN)
        .map(|chunk| TxSignature::from_slice(chunk).map_err(|_| malformed()))
        .collect()
}

/// The deposit a `DepositCreated` event records.
pub(crate) fn deposit_of(event: &RootChain::DepositCreated) -> Result<Deposit, DecodeError> {
    Ok(Deposit {
        blknum: to_u64("DepositCreated", "blknum", event.blknum)?,
        owner: event.owner,
        token: event.token,
        amount: event.amount,
    })
}

/// Reads the root contract's events from L1 through any provider.
#[derive(Debug, Clone)]
pub struct EventReader<P> {
    provider: P,
    address: Address,
}

impl<P: Provider> EventReader<P> {
    /// A reader of the root contract at `address`.
    pub fn new(provider: P, address: Address) -> Self {
        Self { provider, address }
    }

    /// The root contract's address.
    pub fn address(&self) -> Address {
        self.address
    }

    /// The `eth_getLogs` filter of L1 blocks `from..=to`: the contract and every event
    /// signature.
    pub fn filter(&self, from: u64, to: u64) -> Filter {
        Filter::new()
            .address(self.address)
            .from_block(from)
            .to_block(to)
            .event_signature(RootChainEvent::signatures())
    }

    /// Every event of L1 blocks `from..=to`, in L1 order (block, then log index), with one
    /// `eth_getLogs`. The caller bounds the range (providers cap it, commonly at a few thousand
    /// blocks).
    pub async fn read(&self, from: u64, to: u64) -> Result<Vec<RootChainLog>, ReadError> {
        if from > to {
            return Err(ReadError::EmptyRange { from, to });
        }
        let logs = self.provider.get_logs(&self.filter(from, to)).await?;
        self.decode_logs(logs).await
    }

    /// Like [`read`](Self::read), with the hash of block `to`: the same before and after the
    /// logs were read, so the logs are those of the chain that block is in (an L1 reorganisation
    /// in between is [`ReadError::Reorganized`]). A follower keeps the hash to tell later whether
    /// L1 still has that block.
    pub async fn read_anchored(
        &self,
        from: u64,
        to: u64,
    ) -> Result<(Vec<RootChainLog>, B256), ReadError> {
        let before = self
            .block_hash(to)
            .await?
            .ok_or(ReadError::BlockNotFound(to))?;
        let logs = self.read(from, to).await?;
        if self.block_hash(to).await? != Some(before) {
            return Err(ReadError::Reorganized { block: to });
        }
        Ok((logs, before))
    }

    /// The hash of L1 block `number`, or `None` when the node has no block of that number
    /// (yet, or any more).
    pub async fn block_hash(&self, number: u64) -> Result<Option<B256>, ReadError> {
        Ok(self
            .provider
            .get_block_by_number(BlockNumberOrTag::Number(number))
            .await?
            .map(|block| block.header.hash))
    }

    /// Decodes logs already fetched (by [`read`](Self::read), or from receipts), in L1 order:
    /// logs of other contracts or events are skipped; a block timestamp the node did not put in
    /// a log is fetched with `eth_getBlockByNumber`, once per block.
    pub async fn decode_logs(&self, logs: Vec<Log>) -> Result<Vec<RootChainLog>, ReadError> {
        let mut events = Vec::with_capacity(logs.len());
        let mut timestamps: HashMap<u64, u64> = HashMap::new();
        for log in &logs {
            if log.address() != self.address {
                continue;
            }
            let position = LogPosition {
                block_number: log
                    .block_number
                    .ok_or(ReadError::Incomplete("block number"))?,
                log_index: log.log_index.ok_or(ReadError::Incomplete("log index"))?,
                tx_hash: log
                    .transaction_hash
                    .ok_or(ReadError::Incomplete("transaction hash"))?,
            };
            let event =
                RootChainEvent::decode(&log.inner).map_err(|source| ReadError::Malformed {
                    block_number: position.block_number,
                    log_index: position.log_index,
                    source,
                })?;
            let Some(event) = event else { continue };
            let timestamp = match log.block_timestamp {
                Some(timestamp) => timestamp,
                None => {
                    self.timestamp(position.block_number, &mut timestamps)
                        .await?
                }
            };
            events.push(RootChainLog {
                position,
                timestamp,
                event,
            });
        }
        events.sort_by_key(|log| log.position);
        Ok(events)
    }

    async fn timestamp(
        &self,
        number: u64,
        cache: &mut HashMap<u64, u64>,
    ) -> Result<u64, ReadError> {
        if let Some(timestamp) = cache.get(&number) {
            return Ok(*timestamp);
        }
        let block = self
            .provider
            .get_block_by_number(BlockNumberOrTag::Number(number))
            .await?
            .ok_or(ReadError::BlockNotFound(number))?;
        cache.insert(number, block.header.timestamp);
        Ok(block.header.timestamp)
    }
}

#[cfg(test)]
mod tests {
    use alloy::primitives::{Bytes, LogData};
    use alloy::sol_types::SolEvent;

    use super::*;

    fn log(topics: Vec<B256>, data: Vec<u8>) -> alloy::primitives::Log {
        alloy::primitives::Log {
            address: Address::repeat_byte(1),
            data: LogData::new_unchecked(topics, Bytes::from(data)),
        }
    }

    #[test]
    fn every_signature_of_the_abi_is_followed() {
        let signatures = RootChainEvent::signatures();
        // 7 of the plasma chain and the standard exit game, ExitUnfunded, 11 of the in-flight
        // exit game, and OpenZeppelin's EIP712DomainChanged.
        assert_eq!(signatures.len(), 20);
        assert!(signatures.contains(&RootChain::ExitFinalized::SIGNATURE_HASH));
        assert!(signatures.contains(&RootChain::InFlightExitStarted::SIGNATURE_HASH));
        assert!(signatures.contains(&RootChain::InFlightExitProcessed::SIGNATURE_HASH));
        assert!(signatures.contains(&RootChain::Withdrawn::SIGNATURE_HASH));
    }

    #[test]
    fn a_log_of_another_event_is_not_ours() {
        assert_eq!(RootChainEvent::decode(&log(vec![], vec![])).unwrap(), None);
        let transfer = B256::repeat_byte(0xdd);
        assert_eq!(
            RootChainEvent::decode(&log(vec![transfer], vec![0; 32])).unwrap(),
            None
        );
    }

    #[test]
    fn a_log_of_ours_that_does_not_decode_is_an_error() {
        let topics = vec![RootChain::DepositCreated::SIGNATURE_HASH];
        assert!(matches!(
            RootChainEvent::decode(&log(topics, vec![1, 2, 3])),
            Err(DecodeError::Abi(_))
        ));
    }

    #[test]
    fn a_field_out_of_range_is_an_error() {
        let event = RootChain::BlockSubmitted {
            blknum: U256::MAX,
            root: B256::ZERO,
            timestamp: U256::from(1),
        };
        let encoded = event.encode_log_data();
        let log = alloy::primitives::Log {
            address: Address::ZERO,
            data: encoded,
        };
        assert!(matches!(
            RootChainEvent::decode(&log),
            Err(DecodeError::OutOfRange {
                event: "BlockSubmitted",
                field: "blknum",
                ..
            })
        ));
    }

    #[test]
    fn an_exit_decodes_into_child_chain_types() {
        let utxo_pos = UtxoPos::new(2000, 3, 1).unwrap();
        let event = RootChain::ExitChallenged {
            utxoPos: utxo_pos.to_u256(),
            challenger: Address::repeat_byte(7),
        };
        let log = alloy::primitives::Log {
            address: Address::ZERO,
            data: event.encode_log_data(),
        };
        assert_eq!(
            RootChainEvent::decode(&log).unwrap(),
            Some(RootChainEvent::ExitChallenged {
                utxo_pos,
                challenger: Address::repeat_byte(7),
            })
        );
    }
}
