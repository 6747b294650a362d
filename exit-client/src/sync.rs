//! Sync and verification: follow L1, download each committed block from the operator, check
//! its data against the root on L1, re-check every transaction with `plasma-core`'s rules, and
//! only then apply it — recording the user's new coins with their exit data — in one atomic
//! write. A block that fails any check stops the sync with an error naming it, and nothing of it
//! is recorded.

use std::collections::{HashMap, HashSet};

use alloy::primitives::{Address, B256, Bytes, U256};
use plasma_core::{
    Block, Output, Rules, UtxoPos, UtxoState, UtxoView, ValidationError, validate, wire::BlockJson,
};

use crate::l1::{Commitment, ExitEvent, L1, L1Error};
use crate::operator::{OperatorClient, OperatorError};
use crate::store::{
    Batch, BlockRecord, ClientStore, Coin, CoinState, Commitment as StoredCommitment,
    DepositRecord, ExitRecord, ExitStatus, SpendRecord, StoreError,
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
}

/// Syncs the store with L1 and the operator, tracking coins of `owned`.
pub struct Syncer<'a> {
    store: &'a ClientStore,
    l1: &'a L1,
    operator: &'a OperatorClient,
    owned: HashSet<Address>,
    domain_separator: B256,
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
            domain_separator: plasma_core::Domain::new(chain_id, l1.address()).separator(),
        }
    }

    /// Follows L1 up to its latest block, then applies every committed block not yet applied.
    pub async fn sync(&self, mut progress: impl FnMut(Progress)) -> Result<SyncReport, SyncError> {
        self.follow_l1().await?;
        let pending = self.pending_commitments()?;
        let total = pending.len() as u64;
        let mut report = SyncReport {
            synced_blknum: self.store.synced_blknum()?,
            ..SyncReport::default()
        };
        for (done, record) in pending.into_iter().enumerate() {
            progress(Progress {
                done: done as u64,
                total,
            });
            let (transactions, new_coins) = self.apply(&record).await?;
            report.blocks += 1;
            report.transactions += transactions;
            report.new_coins += new_coins;
            report.synced_blknum = record.blknum;
        }
        progress(Progress { done: total, total });
        Ok(report)
    }

    /// Reads new L1 events into the store: block commitments and exits.
    async fn follow_l1(&self) -> Result<(), SyncError> {
        let latest = self.l1.latest_block().await?;
        let mut from = self.store.l1_cursor()?;
        while from <= latest {
            let to = latest.min(from + LOG_RANGE - 1);
            let events = self.l1.events(from, to).await?;
            let mut batch = Batch::default();
            for commitment in &events.commitments {
                let record = match commitment {
                    Commitment::Block {
                        blknum,
                        root,
                        timestamp,
                    } => StoredCommitment {
                        blknum: *blknum,
                        root: *root,
                        timestamp: *timestamp,
                        deposit: None,
                    },
                    Commitment::Deposit { deposit, timestamp } => StoredCommitment {
                        blknum: deposit.blknum,
                        root: deposit.block_root(),
                        timestamp: *timestamp,
                        deposit: Some(DepositRecord::from(deposit)),
                    },
                };
                self.store.put_commitment(&mut batch, &record);
            }
            for exit in &events.exits {
                self.apply_exit(&mut batch, exit)?;
            }
            self.store.set_l1_cursor(&mut batch, to + 1);
            self.store.write(batch)?;
            from = to + 1;
        }
        Ok(())
    }

    fn pending_commitments(&self) -> Result<Vec<StoredCommitment>, SyncError> {
        let synced = self.store.synced_blknum()?;
        Ok(self.store.commitments_after(synced)?)
    }

    fn apply_exit(&self, batch: &mut Batch, exit: &ExitEvent) -> Result<(), SyncError> {
        let (pos, record) = match *exit {
            ExitEvent::Started {
                utxo_pos,
                owner,
                token,
                amount,
                exitable_at,
            } => (
                utxo_pos,
                ExitRecord {
                    utxo_pos,
                    owner,
                    token,
                    amount,
                    exitable_at,
                    status: ExitStatus::Started,
                },
            ),
            ExitEvent::Challenged { utxo_pos } | ExitEvent::Finalized { utxo_pos } => {
                let Some(mut record) = self.store.exit(utxo_pos)? else {
                    return Ok(());
                };
                record.status = if matches!(exit, ExitEvent::Challenged { .. }) {
                    ExitStatus::Challenged
                } else {
                    ExitStatus::Finalized
                };
                (utxo_pos, record)
            }
        };
        if let Some(mut coin) = self.store.coin(pos)? {
            coin.state = match record.status {
                ExitStatus::Started => CoinState::Exiting,
                ExitStatus::Finalized => CoinState::Exited,
                // A challenged exit proves the coin was spent.
                ExitStatus::Challenged => CoinState::Spent,
            };
            self.store.put_coin(batch, &coin);
        }
        self.store.put_exit(batch, &record);
        Ok(())
    }

    /// Verifies and applies one committed block; returns (transactions, new coins).
    async fn apply(&self, commitment: &StoredCommitment) -> Result<(u64, u64), SyncError> {
        let blknum = commitment.blknum;
        let block = match &commitment.deposit {
            Some(deposit) => Block::new(
                blknum,
                commitment.timestamp,
                vec![plasma_core::SignedTransaction::new(
                    deposit.deposit(blknum).transaction(),
                    vec![],
                )],
            )
            .map_err(|e| SyncError::Malformed {
                blknum,
                reason: e.to_string(),
            })?,
            None => self.download(blknum, commitment).await?,
        };
        let tree = block.merkle_tree().map_err(|e| SyncError::Malformed {
            blknum,
            reason: e.to_string(),
        })?;
        if tree.root() != commitment.root {
            return Err(SyncError::RootMismatch {
                blknum,
                served: tree.root(),
                committed: commitment.root,
            });
        }
        let mut overlay = Overlay::new(self.store);
        let mut batch = Batch::default();
        let mut new_coins = 0;
        let rules = Rules {
            domain_separator: self.domain_separator,
            min_fee: U256::ZERO,
        };
        for (index, tx) in block.transactions.iter().enumerate() {
            if commitment.deposit.is_none() {
                validate(tx, &overlay, &rules).map_err(|error| SyncError::InvalidTransaction {
                    blknum,
                    index,
                    error,
                })?;
            }
            for (input_index, (&input, signature)) in
                tx.tx().inputs.iter().zip(tx.signatures()).enumerate()
            {
                overlay.spent.insert(input);
                let spend = SpendRecord {
                    tx_bytes: tx.bytes().clone(),
                    input_index: input_index as u64,
                    signature: *signature,
                    blknum,
                };
                self.store.spend(&mut batch, input, &spend);
                if let Some(mut coin) = self.store.coin(input)? {
                    coin.state = CoinState::Spent;
                    self.store.put_coin(&mut batch, &coin);
                }
            }
            for (output_index, output) in tx.tx().outputs.iter().enumerate() {
                let pos = UtxoPos::new(blknum, index as u64, output_index as u64).map_err(|e| {
                    SyncError::Malformed {
                        blknum,
                        reason: e.to_string(),
                    }
                })?;
                overlay.added.insert(pos, *output);
                self.store.put_utxo(&mut batch, pos, output);
                if self.owned.contains(&output.owner) {
                    let proof = tree.proof(index).map_err(|e| SyncError::Malformed {
                        blknum,
                        reason: e.to_string(),
                    })?;
                    self.store.put_coin(
                        &mut batch,
                        &Coin {
                            utxo_pos: pos,
                            output: *output,
                            tx_bytes: tx.bytes().clone(),
                            proof: Bytes::copy_from_slice(&proof.to_bytes()),
                            root: commitment.root,
                            block_timestamp: commitment.timestamp,
                            state: CoinState::Unspent,
                        },
                    );
                    new_coins += 1;
                }
            }
        }
        self.store.put_block(
            &mut batch,
            &BlockRecord {
                blknum,
                root: commitment.root,
                timestamp: commitment.timestamp,
                transactions: block.transactions.len() as u64,
            },
        );
        self.store.set_synced_blknum(&mut batch, blknum);
        self.store.write(batch)?;
        Ok((block.transactions.len() as u64, new_coins))
    }

    async fn download(
        &self,
        blknum: u64,
        commitment: &StoredCommitment,
    ) -> Result<Block, SyncError> {
        let json: BlockJson = self
            .operator
            .block(blknum)
            .await?
            .ok_or(SyncError::Unavailable { blknum })?;
        if json.blknum != blknum {
            return Err(SyncError::Malformed {
                blknum,
                reason: format!("asked for block {blknum}, got block {}", json.blknum),
            });
        }
        let mut block = Block::try_from(json).map_err(|(index, e)| SyncError::Malformed {
            blknum,
            reason: format!("transaction {index} does not decode: {e}"),
        })?;
        // The operator's word on time is not needed: L1's is the one exits use.
        block.timestamp = commitment.timestamp;
        Ok(block)
    }
}

/// The store plus the changes of the block being checked.
struct Overlay<'a> {
    store: &'a ClientStore,
    added: HashMap<UtxoPos, Output>,
    spent: HashSet<UtxoPos>,
}

impl<'a> Overlay<'a> {
    fn new(store: &'a ClientStore) -> Self {
        Self {
            store,
            added: HashMap::new(),
            spent: HashSet::new(),
        }
    }
}

impl UtxoView for Overlay<'_> {
    fn utxo(&self, pos: UtxoPos) -> UtxoState {
        if self.spent.contains(&pos) {
            return UtxoState::Spent;
        }
        match self.added.get(&pos) {
            Some(output) => UtxoState::Unspent(*output),
            None => UtxoView::utxo(self.store, pos),
        }
    }
}
