//! Sync and verification: follow L1, download each committed block from the operator, check
//! its data against the root on L1, re-check every transaction with `plasma-core`'s rules, and
//! only then apply it — recording the user's new coins with their exit data — in one atomic
//! write. A block that fails any check stops the sync with an error naming it, and nothing of it
//! is recorded.

use std::collections::{BTreeMap, HashMap, HashSet};

use alloy::primitives::{Address, B256, Bytes, U256};
use plasma_contracts::events::{InFlightEvent, PiggybackOutcome, RootChainEvent, RootChainLog};
use plasma_core::transition::{self, Created};
use plasma_core::{
    Block, BlockFees, CheckError, Domain, FeeClaimError, Rules, SignatureError, SignedTransaction,
    UtxoPos, UtxoState, UtxoView, ValidationError, check_fee_claim, is_fee_claim,
    recover_signers_each, validate_recovered,
};
use plasma_merkle::MerkleTree;
use rayon::prelude::*;

use crate::l1::{L1, L1Error};
use plasma_api::BlockJson;

use crate::operator::{OperatorClient, OperatorError};
use crate::store::{
    BlockRecord, ClientStore, Coin, CoinState, Commitment as StoredCommitment, DepositRecord,
    ExitRecord, ExitStatus, InFlightExitRecord, InFlightInputRecord, Staged, StoreError,
};

/// L1 blocks scanned per log query (providers cap the range of `eth_getLogs`).
const LOG_RANGE: u64 = 5_000;

/// Why a sync stopped.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// The operator served block data that does not match the root committed on L1.
    #[error(
        "INVALID BLOCK {blknum}: the operator's data has root {served}, but L1 commits {committed}; do not accept coins from it, and exit your coins"
    )]
    RootMismatch {
        /// The block.
        blknum: u64,
        /// The root of the data served.
        served: B256,
        /// The root on L1.
        committed: B256,
    },
    /// A transaction in a committed block breaks the rules.
    #[error(
        "INVALID BLOCK {blknum}: transaction {index} breaks the rules: {error}; exit your coins"
    )]
    InvalidTransaction {
        /// The block.
        blknum: u64,
        /// The transaction's index.
        index: usize,
        /// The rule broken.
        error: ValidationError,
    },
    /// The block's fee claim breaks a rule: it is not last, or claims more than the block's
    /// payments paid in fees.
    #[error(
        "INVALID BLOCK {blknum}: transaction {index}, the operator's fee claim, breaks the rules: {error}; exit your coins"
    )]
    InvalidFeeClaim {
        /// The block.
        blknum: u64,
        /// The claim's index.
        index: usize,
        /// The rule broken.
        error: FeeClaimError,
    },
    /// An L1 reorganisation changed the commitment of a block this store already verified.
    #[error(
        "L1 reorganised the commitment of block {blknum}, which this store verified with root {verified}; L1 now commits {now}. The store no longer matches L1: sync a fresh store"
    )]
    ReorganisedVerified {
        /// The block.
        blknum: u64,
        /// The root verified.
        verified: B256,
        /// The root L1 commits now.
        now: B256,
    },
    /// L1 reorganised further back than the store's L1 journal reaches.
    #[error(
        "L1 reorganised further back than L1 block {oldest}, the oldest this store can undo; sync a fresh store"
    )]
    ReorganisedTooDeep {
        /// The oldest journaled L1 block.
        oldest: u64,
    },
    /// The served block does not decode, or is not the block asked for.
    #[error("INVALID BLOCK {blknum}: {reason}")]
    Malformed {
        /// The block.
        blknum: u64,
        /// What is wrong.
        reason: String,
    },
    /// A block committed on L1 that the operator does not serve.
    #[error("block {blknum} is committed on L1 but the operator does not serve it (withheld?)")]
    Unavailable {
        /// The block.
        blknum: u64,
    },
    /// The operator could not be reached.
    #[error(transparent)]
    Operator(#[from] OperatorError),
    /// L1 could not be reached.
    #[error(transparent)]
    L1(#[from] L1Error),
    /// The local store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What one sync did.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncReport {
    /// Blocks applied.
    pub blocks: u64,
    /// Transactions checked.
    pub transactions: u64,
    /// New coins of the wallet.
    pub new_coins: u64,
    /// The last block applied.
    pub synced_blknum: u64,
}

/// Progress of a sync, for a progress bar.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    /// Blocks applied so far in this sync.
    pub done: u64,
    /// Blocks to apply in this sync.
    pub total: u64,
    /// Transactions verified so far in this sync.
    pub transactions: u64,
}

/// Syncs the store with L1 and the operator, tracking coins of `owned`.
pub struct Syncer<'a> {
    store: &'a ClientStore,
    l1: &'a L1,
    operator: &'a OperatorClient,
    owned: HashSet<Address>,
    /// The chain's rules, without a fee minimum (a block's fees are the operator's business).
    rules: Rules,
}

impl<'a> Syncer<'a> {
    /// A syncer over `store`, for coins of `owned`.
    pub fn new(
        store: &'a ClientStore,
        l1: &'a L1,
        operator: &'a OperatorClient,
        owned: impl IntoIterator<Item = Address>,
        chain_id: u64,
    ) -> Self {
        Self {
            store,
            l1,
            operator,
            owned: owned.into_iter().collect(),
            rules: Rules::new(&Domain::new(chain_id, l1.address()), U256::ZERO),
        }
    }

    /// Follows L1 up to its latest block, then applies every committed block not yet applied.
    ///
    /// The work a block needs no UTXO state for — download, decode, Merkle root against L1,
    /// signer recovery on every core — runs ahead in a task of its own, up to
    /// [`PREPARED_AHEAD`] blocks before the one being applied; the state checks and the write
    /// of each block follow in block order, one atomic write per block.
    pub async fn sync(&self, mut progress: impl FnMut(Progress)) -> Result<SyncReport, SyncError> {
        self.follow_l1().await?;
        let found = self.track_new_owners().await?;
        let pending = self.pending_commitments()?;
        let total = pending.len() as u64;
        let mut report = SyncReport {
            synced_blknum: self.store.synced_blknum()?,
            new_coins: found,
            ..SyncReport::default()
        };
        if pending.is_empty() {
            progress(Progress {
                done: 0,
                total,
                transactions: 0,
            });
            return Ok(report);
        }
        let mut replay = ReplayState {
            // Few outputs ever exit: held in memory for the whole replay.
            exited: self.store.exited()?,
            coins: self.store.coin_positions()?,
            in_flight: self.store.in_flight_hashes()?,
        };
        let (sender, mut prepared) = tokio::sync::mpsc::channel(PREPARED_AHEAD);
        let fetcher = Fetcher {
            operator: self.operator.clone(),
            rules: self.rules,
        };
        let ahead = AbortOnDrop(tokio::spawn(fetcher.run(pending, sender)));
        let mut done = 0;
        while let Some(block) = prepared.recv().await {
            progress(Progress {
                done,
                total,
                transactions: report.transactions,
            });
            let block = block?;
            let synced = block.checked.commitment.blknum;
            let (transactions, new_coins) = self.apply(block, &mut replay)?;
            done += 1;
            report.blocks += 1;
            report.transactions += transactions;
            report.new_coins += new_coins;
            report.synced_blknum = synced;
        }
        drop(ahead);
        progress(Progress {
            done,
            total,
            transactions: report.transactions,
        });
        Ok(report)
    }

    /// Reads new L1 events into the store: block commitments and exits. Each range of L1
    /// blocks is applied in L1 order in one batch, every event seeing what the ones before it
    /// wrote (an exit started and finalized within one range ends finalized).
    ///
    /// Each range is journaled with its last block's hash. When L1 no longer has the newest
    /// journaled block (L1 reorganised), the ranges it replaced are undone first and read
    /// again: an exit or deposit that is gone is gone from the store too.
    async fn follow_l1(&self) -> Result<(), SyncError> {
        let reorganised = self.undo_reorganised().await?;
        let latest = self.l1.latest_block().await?;
        let synced = self.store.synced_blknum()?;
        let mut from = self.store.l1_cursor()?;
        while from <= latest {
            let to = latest.min(from + LOG_RANGE - 1);
            let (logs, hash) = self.l1.events_anchored(from, to).await?;
            let mut staged = Staged::journaled(self.store);
            for log in logs {
                self.check_verified_commitment(&log, synced)?;
                apply_event(&mut staged, &log)?;
            }
            self.store.set_l1_cursor(staged.batch(), to + 1);
            if !self.store.journal_l1(staged.batch(), to, hash)? {
                // Block `to` is journaled with another hash: the next sync undoes it.
                break;
            }
            staged.write()?;
            from = to + 1;
        }
        // A commitment of a verified block that the new chain does not have (yet).
        for (blknum, _) in reorganised {
            if self.store.commitment(blknum)?.is_none() {
                tracing::warn!(target: "plasma::sync", blknum, "L1 reorganised away the commitment of a verified block; it is not on L1 again yet, and its coins stay counted");
            }
        }
        Ok(())
    }

    /// A commitment read again (after a reorganisation) of a block this store has verified
    /// must commit the root verified.
    fn check_verified_commitment(&self, log: &RootChainLog, synced: u64) -> Result<(), SyncError> {
        let (blknum, root) = match &log.event {
            RootChainEvent::BlockSubmitted { blknum, root, .. } => (*blknum, *root),
            RootChainEvent::DepositCreated(deposit) => (deposit.blknum, deposit.block_root()),
            _ => return Ok(()),
        };
        if blknum > synced {
            return Ok(());
        }
        match self.store.block(blknum)? {
            Some(block) if block.root != root => Err(SyncError::ReorganisedVerified {
                blknum,
                verified: block.root,
                now: root,
            }),
            _ => Ok(()),
        }
    }

    /// Checks that L1 still has the newest journaled block; when it does not, undoes every
    /// range L1 no longer agrees with. Returns the verified blocks whose commitments it undid.
    async fn undo_reorganised(&self) -> Result<Vec<(u64, B256)>, SyncError> {
        let journaled = self.store.l1_journal_blocks()?;
        let Some(&newest) = journaled.last() else {
            return Ok(Vec::new());
        };
        let hash_of = |to: u64| -> Result<B256, SyncError> {
            Ok(self
                .store
                .l1_journal(to)?
                .map(|e| e.hash)
                .unwrap_or_default())
        };
        if self.l1.block_hash(newest).await? == Some(hash_of(newest)?) {
            return Ok(Vec::new());
        }
        let mut keep = None;
        for &to in journaled.iter().rev().skip(1) {
            if self.l1.block_hash(to).await? == Some(hash_of(to)?) {
                keep = Some(to);
                break;
            }
        }
        if keep.is_none() && !self.store.l1_journal_reaches_start()? {
            // Every range kept disagrees, and older ones were pruned: the reorganisation goes
            // back further than the journal (more than L1_JOURNAL_DEPTH blocks).
            return Err(SyncError::ReorganisedTooDeep {
                oldest: journaled[0],
            });
        }
        let undone = self.store.undo_l1_after(keep)?;
        tracing::warn!(
            target: "plasma::sync",
            newest_undone = newest,
            kept_up_to = ?keep,
            ranges = undone.ranges,
            records = undone.records,
            cursor = undone.cursor,
            "L1 reorganised: undid what was read of the blocks it replaced; reading them again"
        );
        Ok(undone.verified_commitments)
    }

    fn pending_commitments(&self) -> Result<Vec<StoredCommitment>, SyncError> {
        let synced = self.store.synced_blknum()?;
        Ok(self.store.commitments_after(synced)?)
    }

    /// Records the coins of owners this store has not recorded before (a key imported into an
    /// already synced store): their outputs in the verified UTXO set, with the exit data of
    /// their blocks, downloaded again and checked against the roots on L1. Returns how many.
    async fn track_new_owners(&self) -> Result<u64, SyncError> {
        let tracked: HashSet<Address> =
            self.store.tracked_owners()?.into_iter().flatten().collect();
        let new: HashSet<Address> = self.owned.difference(&tracked).copied().collect();
        if new.is_empty() {
            return Ok(0);
        }
        let mut by_block: BTreeMap<u64, Vec<UtxoPos>> = BTreeMap::new();
        for (pos, _) in self.store.utxos_of(&new)? {
            if self.store.coin(pos)?.is_none() {
                by_block.entry(pos.blknum()).or_default().push(pos);
            }
        }
        let mut staged = Staged::new(self.store);
        let mut found = 0;
        for (blknum, positions) in by_block {
            let Some(commitment) = self.store.commitment(blknum)? else {
                tracing::warn!(target: "plasma::sync", blknum, "no commitment recorded for a verified block; its outputs get no exit data");
                continue;
            };
            let (block, tree) = self.verified_block(&commitment).await?;
            for pos in positions {
                let created = block
                    .transactions
                    .get(pos.tx_index() as usize)
                    .and_then(|tx| {
                        let index = pos.tx_index() as usize;
                        transition::outputs_at(blknum, index, tx.tx())
                            .flatten()
                            .find(|c| c.pos == pos)
                            .map(|c| (tx, c))
                    });
                let Some((tx, created)) = created else {
                    return Err(SyncError::Malformed {
                        blknum,
                        reason: format!("the verified block has no output {pos}"),
                    });
                };
                let coin = coin(&staged, &tree, &commitment, tx, &created)?;
                staged.put_coin(coin);
                found += 1;
            }
        }
        let mut owners: Vec<Address> = tracked.union(&self.owned).copied().collect();
        owners.sort_unstable();
        self.store.set_tracked_owners(staged.batch(), &owners);
        staged.write()?;
        Ok(found)
    }

    /// Block `commitment.blknum` with its Merkle tree, its root checked against L1's: a deposit
    /// block is rebuilt from its event, an operator block downloaded.
    async fn verified_block(
        &self,
        commitment: &StoredCommitment,
    ) -> Result<(Block, MerkleTree), SyncError> {
        let served = match &commitment.deposit {
            Some(_) => None,
            None => Some(fetch_block(self.operator, commitment.blknum).await?),
        };
        let commitment = commitment.clone();
        let (checked, _) =
            on_blocking_pool(move || checked_block(&commitment, served, None)).await?;
        Ok((checked.block, checked.tree))
    }

    /// Checks the UTXO state of one prepared block's transactions in order and applies them in
    /// one atomic write; returns (transactions, new coins). An input whose value left the chain
    /// on L1 (in `replay.exited`) before the block was committed is not spendable in it.
    fn apply(&self, prepared: Prepared, replay: &mut ReplayState) -> Result<(u64, u64), SyncError> {
        let Prepared {
            checked:
                CheckedBlock {
                    commitment,
                    block,
                    tree,
                },
            recovered,
        } = prepared;
        let blknum = commitment.blknum;
        let is_deposit = commitment.deposit.is_some();
        let mut staged = Staged::with_capacity(self.store, batch_bytes(&block));
        if !is_deposit {
            // Every input read in one batch, not one lookup per transaction.
            staged.prefetch(
                block
                    .transactions
                    .iter()
                    .flat_map(|tx| tx.tx().inputs.iter().copied()),
            )?;
        }
        let mut new_coins = 0;
        let mut fees = BlockFees::default();
        let count = block.transactions.len();
        for (index, tx) in block.transactions.iter().enumerate() {
            if !is_deposit && is_fee_claim(tx.tx()) {
                check_fee_claim(blknum, index, count, tx, fees).map_err(|error| {
                    SyncError::InvalidFeeClaim {
                        blknum,
                        index,
                        error,
                    }
                })?;
            } else if !is_deposit {
                let view = Replay {
                    staged: &staged,
                    exited: &replay.exited,
                    committed_at: commitment.l1_position,
                };
                let signers = recovered.get(index).map_or(&[][..], Vec::as_slice);
                let valid = validate_recovered(tx, &view, &self.rules, signers).map_err(
                    |error| match error {
                        // A store that cannot be read says nothing about the block.
                        CheckError::View(e) => SyncError::Store(e),
                        CheckError::Invalid(error) => SyncError::InvalidTransaction {
                            blknum,
                            index,
                            error,
                        },
                    },
                )?;
                fees.add(valid.fee);
            }
            // Payments this client signed: once in a verified block they are no longer in flight.
            // (A watcher has none: its transactions' hashes are never computed.)
            if !replay.in_flight.is_empty() && replay.in_flight.remove(&tx.hash()) {
                self.store.delete_in_flight(staged.batch(), tx.hash());
            }
            if !tx.tx().inputs.is_empty() {
                let position = UtxoPos::new(blknum, index as u64, 0)
                    .map_err(|e| SyncError::Malformed {
                        blknum,
                        reason: e.to_string(),
                    })?
                    .as_u64();
                staged.put_transaction(position, tx.bytes().clone());
                for (input_index, (&input, signature)) in
                    tx.tx().inputs.iter().zip(tx.signatures()).enumerate()
                {
                    let input_index = u8::try_from(input_index).unwrap_or(u8::MAX);
                    staged.spend(input, position, input_index, *signature);
                    if replay.coins.contains(&input)
                        && let Some(mut coin) = staged.coin(input)?
                    {
                        coin.state = CoinState::Spent;
                        staged.put_coin(coin);
                    }
                }
            }
            for created in transition::outputs_at(blknum, index, tx.tx()) {
                let created = created.map_err(|e| SyncError::Malformed {
                    blknum,
                    reason: e.to_string(),
                })?;
                staged.put_utxo(created.pos, *created.output);
                if self.owned.contains(&created.output.owner) {
                    let coin = coin(&staged, &tree, &commitment, tx, &created)?;
                    replay.coins.insert(coin.utxo_pos);
                    staged.put_coin(coin);
                    new_coins += 1;
                }
            }
        }
        self.store
            .put_block_leaves(staged.batch(), blknum, tree.leaf_hashes());
        self.store.put_block(
            staged.batch(),
            &BlockRecord {
                blknum,
                root: commitment.root,
                timestamp: commitment.timestamp,
                transactions: block.transactions.len() as u64,
            },
        );
        self.store.set_synced_blknum(staged.batch(), blknum);
        staged.write()?;
        Ok((block.transactions.len() as u64, new_coins))
    }
}

/// About how many bytes the write of `block` takes: each transaction's bytes, a record per
/// input and output, its leaf, and the keys and framing of each (a slight overestimate).
fn batch_bytes(block: &Block) -> usize {
    /// A key, a record's length prefixes and tag, a column id.
    const FRAMING: usize = 8 + 4 + 2;
    /// The longest output record: a spend (position, input index, signature).
    const RECORD: usize = 1 + 8 + 1 + 65;
    let records: usize = block
        .transactions
        .iter()
        .map(|tx| {
            tx.bytes().len()
                + FRAMING
                + 32
                + (tx.tx().inputs.len() + tx.tx().outputs.len()) * (RECORD + FRAMING)
        })
        .sum();
    records + 4096
}

/// Transactions whose leaves and signing digests are hashed together (eight at a time where
/// the CPU can), then recovered: one task of the parallel pass.
const HASHED_TOGETHER: usize = 256;

/// Blocks prepared ahead of the one being applied: enough to keep every core busy while one
/// block's state is checked and written, few enough to bound memory (a full block of 65,536
/// transactions, decoded, is about 60 MB).
const PREPARED_AHEAD: usize = 2;

/// Blocks downloaded ahead of the one being prepared: a page's worth of small blocks, or a few
/// full ones.
const DOWNLOADED_AHEAD: usize = 4;

/// Most blocks asked for in one `GET /v1/blocks` page (the operator also ends a page at one
/// full block's transactions).
const PAGE_BLOCKS: usize = 100;

/// What the replay of one sync keeps in memory across its blocks.
struct ReplayState {
    /// Outputs whose value left the chain on L1, and where.
    exited: HashMap<UtxoPos, (u64, u64)>,
    /// The positions of the user's coins (spends of other outputs need no coin lookup).
    coins: HashSet<UtxoPos>,
    /// The payments this client signed and has not seen included yet.
    in_flight: HashSet<B256>,
}

/// A committed block whose data matches its root on L1.
struct CheckedBlock {
    commitment: StoredCommitment,
    block: Block,
    tree: MerkleTree,
}

/// A checked block with its signers recovered: all the work that needs no UTXO state.
struct Prepared {
    checked: CheckedBlock,
    /// Each transaction's recovered signers (none for a deposit block).
    recovered: Recovered,
}

/// Each transaction's recovered signers, in index order.
type Recovered = Vec<Vec<Result<Address, SignatureError>>>;

/// Prepares committed blocks in order, ahead of the replay: downloads them (pages of
/// consecutive blocks, or one block when a page lacks it), and on the blocking pool decodes
/// them, checks their roots and recovers their signers on every core.
struct Fetcher {
    operator: OperatorClient,
    rules: Rules,
}

impl Fetcher {
    /// Sends each of `pending`'s blocks prepared, in order, until one fails (its error is sent
    /// last) or the receiver is gone. The downloads run in a task of their own, up to
    /// [`DOWNLOADED_AHEAD`] blocks ahead of the one being prepared, so the cores never wait for
    /// the operator's next page.
    async fn run(
        self,
        pending: Vec<StoredCommitment>,
        out: tokio::sync::mpsc::Sender<Result<Prepared, SyncError>>,
    ) {
        let (sender, mut downloaded) = tokio::sync::mpsc::channel(DOWNLOADED_AHEAD);
        let _downloads = AbortOnDrop(tokio::spawn(Self::download(self.operator, pending, sender)));
        while let Some(block) = downloaded.recv().await {
            let result = match block {
                Ok((commitment, json)) => prepare(commitment, json, self.rules).await,
                Err(error) => Err(error),
            };
            let failed = result.is_err();
            if out.send(result).await.is_err() || failed {
                return;
            }
        }
    }

    /// Sends each of `pending`'s blocks as served (an operator block's data; nothing for a
    /// deposit block, which is rebuilt from L1), in order, until one cannot be had.
    async fn download(
        operator: OperatorClient,
        pending: Vec<StoredCommitment>,
        out: tokio::sync::mpsc::Sender<Result<(StoredCommitment, Option<BlockJson>), SyncError>>,
    ) {
        let wanted: HashSet<u64> = pending
            .iter()
            .filter(|c| c.deposit.is_none())
            .map(|c| c.blknum)
            .collect();
        let mut served: BTreeMap<u64, BlockJson> = BTreeMap::new();
        for commitment in pending {
            let result = match commitment.deposit {
                Some(_) => Ok((commitment, None)),
                None => Self::served(&operator, commitment.blknum, &wanted, &mut served)
                    .await
                    .map(|json| (commitment, Some(json))),
            };
            let failed = result.is_err();
            if out.send(result).await.is_err() || failed {
                return;
            }
        }
    }

    /// Operator block `blknum` as served: from the last page if it held it, else from a new
    /// page starting at it (whose other blocks the next calls take), else asked for alone.
    async fn served(
        operator: &OperatorClient,
        blknum: u64,
        wanted: &HashSet<u64>,
        served: &mut BTreeMap<u64, BlockJson>,
    ) -> Result<BlockJson, SyncError> {
        if let Some(json) = served.remove(&blknum) {
            return Ok(json);
        }
        match operator.blocks(blknum, PAGE_BLOCKS).await {
            Ok(page) => {
                served.clear();
                served.extend(
                    page.into_iter()
                        .filter(|b| b.blknum >= blknum && wanted.contains(&b.blknum))
                        .map(|b| (b.blknum, b)),
                );
                if let Some(json) = served.remove(&blknum) {
                    return Ok(json);
                }
            }
            // An operator without pages still serves blocks one by one.
            Err(error) => {
                tracing::debug!(target: "plasma::sync", blknum, %error, "no page of blocks; asking for the block alone")
            }
        }
        fetch_block(operator, blknum).await
    }
}

/// Checks block `commitment` against L1 from the data served (`json`) and recovers its signers
/// under `rules`, on the blocking pool and every core.
async fn prepare(
    commitment: StoredCommitment,
    json: Option<BlockJson>,
    rules: Rules,
) -> Result<Prepared, SyncError> {
    on_blocking_pool(move || {
        let (checked, recovered) = checked_block(&commitment, json, Some(&rules))?;
        Ok(Prepared { checked, recovered })
    })
    .await
}

/// Runs CPU-heavy `work` on the blocking pool (off the async workers), passing on its panic.
async fn on_blocking_pool<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(work)
        .await
        .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
}

/// Aborts a spawned task when dropped (a sync that stops early stops its fetcher).
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Operator block `blknum`, asked for alone.
async fn fetch_block(operator: &OperatorClient, blknum: u64) -> Result<BlockJson, SyncError> {
    operator
        .block(blknum)
        .await?
        .ok_or(SyncError::Unavailable { blknum })
}

/// The block `commitment` commits, with its Merkle tree, checked against the root on L1: a
/// deposit block rebuilt from its event, an operator block from the data `served`. The block's
/// time is L1's, which exits use, not the operator's word.
///
/// With `recover`, also each transaction's signers under those rules (none for a deposit
/// block). Each transaction is decoded, hashed into its leaf and recovered in one pass on every
/// core: its bytes are read once, while in cache. A block that fails its root costs its
/// recoveries too, which only a lying operator makes anyone pay.
fn checked_block(
    commitment: &StoredCommitment,
    served: Option<BlockJson>,
    recover: Option<&Rules>,
) -> Result<(CheckedBlock, Recovered), SyncError> {
    let blknum = commitment.blknum;
    let malformed = |reason: String| SyncError::Malformed { blknum, reason };
    let (transactions, tree, recovered) = match (&commitment.deposit, served) {
        (Some(deposit), _) => {
            let transactions = vec![SignedTransaction::new(
                deposit.deposit(blknum).transaction(),
                vec![],
            )];
            let tree = plasma_core::block::merkle_tree(&transactions)
                .map_err(|e| malformed(e.to_string()))?;
            (transactions, tree, Vec::new())
        }
        (None, None) => return Err(SyncError::Unavailable { blknum }),
        (None, Some(json)) => {
            if json.blknum != blknum {
                return Err(malformed(format!(
                    "asked for block {blknum}, got block {}",
                    json.blknum
                )));
            }
            // Refused before any work: a lying operator's huge block costs no recoveries.
            if json.transactions.len() > plasma_merkle::MAX_LEAVES {
                let count = json.transactions.len();
                return Err(malformed(
                    plasma_merkle::MerkleError::TooManyLeaves { count }.to_string(),
                ));
            }
            let decoded: Vec<_> = json
                .transactions
                .into_par_iter()
                .map(SignedTransaction::try_from)
                .collect();
            let mut transactions = Vec::with_capacity(decoded.len());
            for (index, tx) in decoded.into_iter().enumerate() {
                transactions.push(
                    tx.map_err(|e| malformed(format!("transaction {index} does not decode: {e}")))?,
                );
            }
            // Leaves and signing digests hashed many at a time, then the recoveries, in chunks
            // whose bytes stay in cache.
            let chunks: Vec<(Vec<B256>, Recovered)> = transactions
                .par_chunks(HASHED_TOGETHER)
                .map(|chunk| {
                    let bytes: Vec<&[u8]> = chunk.iter().map(|tx| tx.bytes().as_ref()).collect();
                    let leaves = plasma_merkle::leaf_hashes(&bytes);
                    let signers = recover
                        .map(|rules| recover_signers_each(chunk, rules))
                        .unwrap_or_default();
                    (leaves, signers)
                })
                .collect();
            let mut leaves = Vec::with_capacity(transactions.len());
            let mut recovered = Vec::with_capacity(if recover.is_some() {
                transactions.len()
            } else {
                0
            });
            for (chunk_leaves, chunk_signers) in chunks {
                leaves.extend(chunk_leaves);
                recovered.extend(chunk_signers);
            }
            let tree =
                MerkleTree::from_leaf_hashes(leaves).map_err(|e| malformed(e.to_string()))?;
            (transactions, tree, recovered)
        }
    };
    if tree.root() != commitment.root {
        return Err(SyncError::RootMismatch {
            blknum,
            served: tree.root(),
            committed: commitment.root,
        });
    }
    let block = Block {
        blknum,
        root: tree.root(),
        timestamp: commitment.timestamp,
        transactions,
    };
    let checked = CheckedBlock {
        commitment: commitment.clone(),
        block,
        tree,
    };
    Ok((checked, recovered))
}

/// The replayed UTXO set as a block committed at `committed_at` sees it: an output whose exit
/// was paid on L1 before then is exiting (its value left the chain), not spendable.
struct Replay<'s, 'a> {
    staged: &'s Staged<'a>,
    exited: &'s HashMap<UtxoPos, (u64, u64)>,
    committed_at: (u64, u64),
}

impl UtxoView for Replay<'_, '_> {
    type Error = StoreError;

    fn utxo(&self, pos: UtxoPos) -> Result<UtxoState, StoreError> {
        let state = self.staged.utxo(pos)?;
        Ok(match state {
            UtxoState::Unspent(output)
                if self
                    .exited
                    .get(&pos)
                    .is_some_and(|&at| at < self.committed_at) =>
            {
                UtxoState::Exiting(output)
            }
            state => state,
        })
    }
}

/// The coin `created` of the wallet, with its exit data: the creating transaction's bytes and
/// its inclusion proof in `tree`, the block's root and time; its state follows any exit of it
/// already seen on L1 (events are read before blocks are applied).
fn coin(
    staged: &Staged<'_>,
    tree: &MerkleTree,
    commitment: &StoredCommitment,
    tx: &SignedTransaction,
    created: &Created<'_>,
) -> Result<Coin, SyncError> {
    let proof = tree
        .proof(created.tx_index)
        .map_err(|e| SyncError::Malformed {
            blknum: commitment.blknum,
            reason: e.to_string(),
        })?;
    let state = match staged.exit(created.pos)? {
        Some(exit) => CoinState::Unspent.after_exit(exit.status),
        None => CoinState::Unspent,
    };
    Ok(Coin {
        utxo_pos: created.pos,
        output: *created.output,
        tx_bytes: tx.bytes().clone(),
        proof: Bytes::copy_from_slice(&proof.to_bytes()),
        root: commitment.root,
        block_timestamp: commitment.timestamp,
        state,
    })
}

/// Applies one event of the root contract to the batch of its L1 range.
fn apply_event(staged: &mut Staged<'_>, log: &RootChainLog) -> Result<(), StoreError> {
    let store = staged.store();
    match &log.event {
        RootChainEvent::BlockSubmitted {
            blknum,
            root,
            timestamp,
        } => store.put_commitment(
            staged.batch(),
            &StoredCommitment {
                blknum: *blknum,
                root: *root,
                timestamp: *timestamp,
                deposit: None,
                l1_position: at(log),
            },
        ),
        RootChainEvent::DepositCreated(deposit) => store.put_commitment(
            staged.batch(),
            &StoredCommitment {
                blknum: deposit.blknum,
                root: deposit.block_root(),
                timestamp: log.timestamp,
                deposit: Some(DepositRecord::from(deposit)),
                l1_position: at(log),
            },
        ),
        RootChainEvent::ExitStarted {
            utxo_pos,
            owner,
            token,
            amount,
            exitable_at,
        } => record_exit(
            staged,
            ExitRecord {
                utxo_pos: *utxo_pos,
                owner: *owner,
                token: *token,
                amount: *amount,
                exitable_at: *exitable_at,
                status: ExitStatus::Started,
            },
        )?,
        RootChainEvent::ExitChallenged { utxo_pos, .. } => {
            close_exit(staged, *utxo_pos, ExitStatus::Challenged)?;
        }
        RootChainEvent::ExitFinalized { utxo_pos, .. } => {
            close_exit(staged, *utxo_pos, ExitStatus::Finalized)?;
            store.put_exited(staged.batch(), *utxo_pos, at(log));
        }
        RootChainEvent::ExitUnfunded { utxo_pos, .. } => {
            close_exit(staged, *utxo_pos, ExitStatus::Unfunded)?;
        }
        RootChainEvent::InFlight(event) => apply_in_flight(staged, event, at(log))?,
        // Credits and withdrawals move L1 balances only; the domain never changes.
        RootChainEvent::WithdrawalCredited { .. }
        | RootChainEvent::Withdrawn { .. }
        | RootChainEvent::Eip712DomainChanged => {}
    }
    Ok(())
}

/// Applies one in-flight exit event to the exit's record: the watcher plays the game from it
/// (what can be claimed, challenged or answered), with no log scan of its own.
fn apply_in_flight(
    staged: &mut Staged<'_>,
    event: &InFlightEvent,
    at: (u64, u64),
) -> Result<(), StoreError> {
    if let InFlightEvent::Started {
        tx_hash,
        starter,
        tx_bytes,
        inputs,
        signatures,
        exitable_at,
    } = event
    {
        let record = InFlightExitRecord {
            tx_hash: *tx_hash,
            tx_bytes: tx_bytes.clone(),
            inputs: inputs
                .iter()
                .map(|i| InFlightInputRecord {
                    tx_hash: i.tx_hash,
                    owner: i.owner,
                    token: i.token,
                    amount: i.amount,
                })
                .collect(),
            signatures: signatures.clone(),
            exitable_at: *exitable_at,
            bond_owner: *starter,
            piggybacks: 0,
            canonical: true,
            competitor_position: 0,
            closed: false,
        };
        staged.put_in_flight_exit(record);
        return Ok(());
    }
    let Some(mut record) = staged.in_flight_exit(event.tx_hash())? else {
        return Ok(()); // its start is before this store's history
    };
    let bit = |index: u64| 1u64.checked_shl(u32::try_from(index).unwrap_or(u32::MAX));
    match event {
        InFlightEvent::Started { .. } => {}
        InFlightEvent::InputPiggybacked { input_index, .. } => {
            record.piggybacks |= bit(*input_index).unwrap_or(0);
        }
        InFlightEvent::OutputPiggybacked { output_index, .. } => {
            record.piggybacks |= bit(output_index + 4).unwrap_or(0);
        }
        InFlightEvent::InputBlocked { input_index, .. } => {
            record.piggybacks &= !bit(*input_index).unwrap_or(0);
        }
        InFlightEvent::OutputBlocked { output_index, .. } => {
            record.piggybacks &= !bit(output_index + 4).unwrap_or(0);
        }
        InFlightEvent::Challenged {
            challenger,
            competitor_position,
            ..
        } => {
            record.canonical = false;
            record.bond_owner = *challenger;
            // The contract records an unincluded competitor (position 0) as the youngest.
            record.competitor_position = match competitor_position.saturating_to::<u64>() {
                0 => u64::MAX,
                position => position,
            };
        }
        InFlightEvent::ChallengeResponded {
            responder,
            tx_position,
            ..
        } => {
            record.canonical = true;
            record.bond_owner = *responder;
            record.competitor_position = tx_position.saturating_to();
        }
        InFlightEvent::Deleted { .. } | InFlightEvent::Processed { .. } => record.closed = true,
        InFlightEvent::InputWithdrawn {
            input_index,
            outcome,
            ..
        } => {
            record.piggybacks &= !bit(*input_index).unwrap_or(0);
            // The input's value left the chain: no later block may spend it.
            if matches!(outcome, PiggybackOutcome::Paid | PiggybackOutcome::Credited)
                && let Ok(tx) = plasma_core::Transaction::decode(&record.tx_bytes)
                && let Some(&pos) = usize::try_from(*input_index)
                    .ok()
                    .and_then(|i| tx.inputs.get(i))
            {
                staged.store().put_exited(staged.batch(), pos, at);
            }
        }
        InFlightEvent::OutputWithdrawn { output_index, .. } => {
            record.piggybacks &= !bit(output_index + 4).unwrap_or(0);
        }
    }
    staged.put_in_flight_exit(record);
    Ok(())
}

/// Where on L1 `log` happened: (block, log index).
fn at(log: &RootChainLog) -> (u64, u64) {
    (log.position.block_number, log.position.log_index)
}

/// Ends the exit `pos` with `status`, if its start was seen.
fn close_exit(staged: &mut Staged<'_>, pos: UtxoPos, status: ExitStatus) -> Result<(), StoreError> {
    match staged.exit(pos)? {
        Some(record) => record_exit(staged, ExitRecord { status, ..record }),
        None => Ok(()),
    }
}

/// Records an exit and moves the user's coin, if it is one, along with it.
fn record_exit(staged: &mut Staged<'_>, record: ExitRecord) -> Result<(), StoreError> {
    if let Some(mut coin) = staged.coin(record.utxo_pos)? {
        coin.state = coin.state.after_exit(record.status);
        staged.put_coin(coin);
    }
    staged.put_exit(record);
    Ok(())
}
