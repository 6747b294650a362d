//! The client's own store, on disk (RocksDB): the chain it has verified, the UTXO set it
//! replayed, and for each of the user's coins the data its exit needs, saved the moment the
//! coin arrives. Everything one block changes is written in one atomic batch.
//!
//! The records kept once per output and per transaction of the chain (the UTXO set with every
//! spend, the transactions' bytes) are binary ([`records`]); the few kept per coin, exit or
//! event are JSON.

mod records;

use std::collections::{HashMap, HashSet};
use std::path::Path;

use alloy::primitives::{Address, B256, Bytes, U256};
use plasma_core::{Output, TxSignature, UtxoPos, UtxoState, UtxoView};
use rocksdb::{ColumnFamilyDescriptor, DB, IteratorMode, Options, WriteBatch};
use serde::{Deserialize, Serialize, de::DeserializeOwned};

use records::{OutputRecord, SpentBy, position_key, utxo_pos_of_key};

/// Column families.
const META: &str = "meta";
const BLOCKS: &str = "blocks";
/// Every output of the verified chain, unspent or spent (and how), by position: binary
/// ([`records`]).
const OUTPUTS: &str = "outputs";
/// Every verified transaction's canonical bytes, by position: binary ([`records`]).
const TRANSACTIONS: &str = "transactions";
/// The JSON columns of stores written before the binary records (`utxos`: unspent outputs,
/// `spent`: spends with the spending transaction's bytes); migrated on open, then dropped.
const LEGACY_UTXOS: &str = "utxos";
const LEGACY_SPENT: &str = "spent";
const COINS: &str = "coins";
const EXITS: &str = "exits";
const COMMITMENTS: &str = "commitments";
/// Events the watcher raised, by key, so each is raised once across restarts.
const WATCH: &str = "watch";
/// Payments this client signed and has not yet seen in a verified block, by hash.
const IN_FLIGHT: &str = "in_flight";
/// In-flight exits started on L1, by the transaction's hash.
const IN_FLIGHT_EXITS: &str = "in_flight_exits";
/// Each verified block's Merkle leaves (32-byte transaction hashes, concatenated), by block
/// number: the inclusion proof of any of its transactions, for challenges and responses.
const BLOCK_LEAVES: &str = "block_leaves";
/// Outputs whose value left the chain on L1 (a standard exit paid, an input paid by an
/// in-flight exit), by position: where on L1 (block, log index).
const EXITED: &str = "exited";
const COLUMNS: [&str; 12] = [
    META,
    BLOCKS,
    OUTPUTS,
    TRANSACTIONS,
    COINS,
    EXITS,
    COMMITMENTS,
    WATCH,
    IN_FLIGHT,
    IN_FLIGHT_EXITS,
    BLOCK_LEAVES,
    EXITED,
];

/// Meta keys.
const SYNCED: &[u8] = b"synced_blknum";
const L1_CURSOR: &[u8] = b"l1_cursor";
const CHAIN: &[u8] = b"chain";
/// The first committed block the watcher found unserved, and since when (unix milliseconds).
const WITHHELD: &[u8] = b"withheld_since";
/// The owners whose coins the store records (the wallet's keys when it last synced).
const TRACKED: &[u8] = b"tracked_owners";
/// Prefix of the L1 journal's entries: `l1_journal/ ‖ L1 block (u64 BE)` → [`L1JournalEntry`].
const L1_JOURNAL: &[u8] = b"l1_journal/";

fn l1_journal_key(to: u64) -> Vec<u8> {
    let mut key = L1_JOURNAL.to_vec();
    key.extend_from_slice(&to.to_be_bytes());
    key
}

/// Why the store failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// RocksDB failed.
    #[error("client store: {0}")]
    Db(#[from] rocksdb::Error),
    /// A record did not parse (the store is damaged or from another version).
    #[error("client store record {key}: {source}")]
    Corrupt {
        /// The key.
        key: String,
        /// The parse error.
        source: serde_json::Error,
    },
    /// Another process holds the store open.
    #[error(
        "the data folder {path} is in use by another plasma process (a running `plasma watch`?): stop it, or give this command its own --data-dir"
    )]
    InUse {
        /// The store's folder.
        path: String,
    },
    /// The store belongs to another chain.
    #[error(
        "this data folder belongs to root contract {stored} on chain {stored_chain}, not {given} on chain {given_chain}; use another --data-dir"
    )]
    OtherChain {
        /// The stored contract.
        stored: Address,
        /// The stored chain id.
        stored_chain: u64,
        /// The configured contract.
        given: Address,
        /// The configured chain id.
        given_chain: u64,
    },
    /// A binary record does not decode (the store is damaged).
    #[error("client store record {key} is damaged: {reason}")]
    CorruptRecord {
        /// The record's column and key.
        key: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// A block's recorded Merkle leaves are not a list of 32-byte hashes.
    #[error("client store: the recorded transaction hashes of block {blknum} are damaged")]
    CorruptLeaves {
        /// The block.
        blknum: u64,
    },
}

/// Result alias of the store.
pub type Result<T, E = StoreError> = core::result::Result<T, E>;

/// A block the client verified against L1 and applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockRecord {
    /// The block number.
    pub blknum: u64,
    /// Its root, as committed on L1.
    pub root: B256,
    /// Its L1 timestamp.
    pub timestamp: u64,
    /// Number of transactions.
    pub transactions: u64,
}

/// A block commitment read from L1, waiting to be verified and applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Commitment {
    /// The block number.
    pub blknum: u64,
    /// Its root on L1 (for a deposit, the root the contract computed).
    pub root: B256,
    /// Its L1 timestamp.
    pub timestamp: u64,
    /// For a deposit block, the deposit.
    pub deposit: Option<DepositRecord>,
    /// Where L1 committed it: (L1 block, log index). An output whose value left the chain
    /// before this point (its exit paid) cannot be spent in this block. (0, 0) in records of
    /// older stores: before everything.
    #[serde(default)]
    pub l1_position: (u64, u64),
}

/// A deposit as `DepositCreated` records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DepositRecord {
    /// The depositor.
    pub owner: Address,
    /// The token.
    pub token: Address,
    /// The amount.
    #[serde(with = "plasma_core::decimal")]
    pub amount: U256,
}

impl DepositRecord {
    /// The deposit of block `blknum`.
    pub fn deposit(&self, blknum: u64) -> plasma_core::Deposit {
        plasma_core::Deposit {
            blknum,
            owner: self.owner,
            token: self.token,
            amount: self.amount,
        }
    }
}

impl From<&plasma_core::Deposit> for DepositRecord {
    fn from(deposit: &plasma_core::Deposit) -> Self {
        Self {
            owner: deposit.owner,
            token: deposit.token,
            amount: deposit.amount,
        }
    }
}

/// How a spent output was spent: enough to challenge an exit of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SpendRecord {
    /// The spending transaction's bytes.
    pub tx_bytes: Bytes,
    /// Which of its inputs spends the output.
    pub input_index: u64,
    /// That input's signature.
    pub signature: TxSignature,
    /// The block that included the spend.
    pub blknum: u64,
    /// The spend's index in that block.
    pub tx_index: u64,
}

impl SpendRecord {
    /// The spend's position (`blknum * 1e9 + tx_index * 1e4`), as the contract's inclusion
    /// checks take it.
    pub fn position(&self) -> u64 {
        self.blknum * plasma_core::utxo::BLOCK_OFFSET + self.tx_index * plasma_core::utxo::TX_OFFSET
    }
}

/// How a state is named in JSON (`unspent`, `started`, …): its serde name, for text that says
/// the same as the JSON.
pub fn wire_name(value: impl Serialize) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// What the client knows of one of its coins' life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CoinState {
    /// Spendable.
    Unspent,
    /// Spent on the child chain.
    Spent,
    /// An exit is in progress on L1.
    Exiting,
    /// Exited: paid on L1.
    Exited,
    /// Signed away in a payment this client sent, not yet seen in a verified block: not
    /// spendable, and never exited with a standard exit (anyone holding the signature could
    /// challenge it); its way out, should the payment never show up, is an in-flight exit.
    InFlight,
}

impl CoinState {
    /// The state after an exit of the coin reached `status` on L1. An exit started for a coin
    /// already spent (or exited) is an invalid exit: the coin stays what it is. A challenge
    /// proves a spend; a finalized exit paid the coin.
    pub fn after_exit(self, status: ExitStatus) -> Self {
        match status {
            ExitStatus::Started => match self {
                Self::Unspent | Self::Exiting | Self::InFlight => Self::Exiting,
                Self::Spent | Self::Exited => self,
            },
            ExitStatus::Challenged => Self::Spent,
            ExitStatus::Finalized | ExitStatus::Unfunded => Self::Exited,
        }
    }
}

/// One of the user's coins with everything its exit needs, kept from the moment it arrived.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Coin {
    /// Where it lives.
    pub utxo_pos: UtxoPos,
    /// Owner, token, amount.
    pub output: Output,
    /// The bytes of the transaction that created it.
    pub tx_bytes: Bytes,
    /// Its inclusion proof (16 × 32 bytes).
    pub proof: Bytes,
    /// The root of its block (as on L1).
    pub root: B256,
    /// The L1 timestamp of its block.
    pub block_timestamp: u64,
    /// Its state.
    pub state: CoinState,
}

/// A payment this client signed, with everything an in-flight exit of it needs, kept from
/// before it was sent until it is seen in a verified block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InFlightPayment {
    /// The payment's canonical bytes.
    pub tx_bytes: Bytes,
    /// Its signatures, one per input.
    pub signatures: Vec<TxSignature>,
    /// Each input, as the coin it spends (with that coin's creating transaction and proof).
    pub inputs: Vec<Coin>,
}

/// An in-flight exit seen started on L1 (`InFlightExitStarted`), kept up to date by its later
/// events: what every call on it passes back, and where its game stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InFlightExitRecord {
    /// The in-flight transaction's hash.
    pub tx_hash: B256,
    /// Its canonical bytes.
    pub tx_bytes: Bytes,
    /// Its inputs as the start proved them, in order.
    pub inputs: Vec<InFlightInputRecord>,
    /// Its signatures, one per input (from the start event): with them the transaction is a
    /// competitor of any other spend of its inputs.
    pub signatures: Vec<TxSignature>,
    /// When it may be processed.
    pub exitable_at: u64,
    /// Who holds the in-flight exit bond now (the starter, the last challenger or responder).
    pub bond_owner: Address,
    /// The piggybacks now: bit `i` input `i`, bit `4 + j` output `j`.
    pub piggybacks: u64,
    /// False while a competitor on record is unanswered.
    pub canonical: bool,
    /// The competitor on record (`u64::MAX` if unincluded), or the transaction's own position
    /// after a response; 0 if none.
    pub competitor_position: u64,
    /// Processed (its canonicity is final) or deleted: nothing can be challenged any more.
    pub closed: bool,
}

/// One input of an in-flight exit, as `startInFlightExit` proved it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InFlightInputRecord {
    /// The hash of the transaction that created the input.
    pub tx_hash: B256,
    /// Its owner (who signed the in-flight transaction).
    pub owner: Address,
    /// Its token.
    pub token: Address,
    /// Its amount, in the token's base unit (decimal).
    #[serde(with = "plasma_core::decimal")]
    pub amount: U256,
}

/// An exit seen on L1.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExitRecord {
    /// The exit id: the exiting output's position.
    pub utxo_pos: UtxoPos,
    /// Who exits.
    pub owner: Address,
    /// The token.
    pub token: Address,
    /// The amount.
    #[serde(with = "plasma_core::decimal")]
    pub amount: U256,
    /// When it may be processed.
    pub exitable_at: u64,
    /// Where it stands.
    pub status: ExitStatus,
}

/// The state of an exit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExitStatus {
    /// In the queue.
    Started,
    /// Deleted by a challenge.
    Challenged,
    /// Paid (or credited) on L1.
    Finalized,
    /// Closed unpaid at its turn: the contract could not fund it (forged outputs had drained the
    /// token). The output can never exit again.
    Unfunded,
}

impl ExitStatus {
    /// Whether the exit is still in the queue and may be challenged (a challenged or finalized
    /// exit is not).
    pub fn is_active(self) -> bool {
        self == Self::Started
    }
}

/// The client store.
pub struct ClientStore {
    db: DB,
}

/// Closing writes the memtables out as tables, so the next open has no log to replay (a
/// replay of what a large sync left in memory took 6.9 s), and does not wait for background
/// compactions to finish: a command (or a restarted watcher) ends in moments, not after the
/// compaction a large sync left behind. Every batch is already durable (written with fsync,
/// replayed from the log after a crash); an interrupted compaction is redone by a later open.
impl Drop for ClientStore {
    fn drop(&mut self) {
        let columns: Vec<&rocksdb::ColumnFamily> = COLUMNS
            .iter()
            .filter_map(|name| self.db.cf_handle(name))
            .collect();
        if let Err(error) = self
            .db
            .flush_cfs_opt(&columns, &rocksdb::FlushOptions::default())
        {
            tracing::warn!(target: "plasma::store", %error, "flushing the store on close failed; the next open replays its log");
        }
        self.db.cancel_all_background_work(true);
    }
}

/// A set of changes written at once.
#[derive(Default)]
pub struct Batch(WriteBatch, Option<Vec<JournalOp>>);

impl Batch {
    /// An empty batch with room for about `bytes` of keys and values: a batch that grows by
    /// doubling copies itself over and over, into pages the kernel zeroes first each time (a
    /// full block's is about 30 MB).
    pub fn with_capacity(bytes: usize) -> Self {
        Self(WriteBatch::with_capacity_bytes(bytes), None)
    }

    /// An empty batch that notes every record it writes, for the L1 journal
    /// ([`ClientStore::journal_l1`]).
    pub fn journaled() -> Self {
        Self(WriteBatch::default(), Some(Vec::new()))
    }
}

/// One record a journaled batch wrote: its value before and the value written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JournalOp {
    /// The column.
    pub cf: String,
    /// The key.
    pub key: Bytes,
    /// The value before (`None`: absent).
    pub prior: Option<Bytes>,
    /// The value written.
    pub written: Option<Bytes>,
}

/// What sync applied of a range of L1 blocks, kept so that an L1 reorganisation can be undone:
/// the hash of the range's last block and every record written, with its value before.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct L1JournalEntry {
    /// The hash of the range's last L1 block, when the range was read.
    pub hash: B256,
    /// The records written, each once.
    pub ops: Vec<JournalOp>,
}

/// What undoing L1 ranges changed ([`ClientStore::undo_l1_after`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct L1Undone {
    /// Ranges undone.
    pub ranges: usize,
    /// Records set back.
    pub records: usize,
    /// The L1 cursor after the undo.
    pub cursor: u64,
    /// Commitments of blocks this store had already verified that the undo removed or
    /// changed: block number and the root verified.
    pub verified_commitments: Vec<(u64, B256)>,
}

/// How many L1 blocks back the L1 journal reaches at least.
pub const L1_JOURNAL_DEPTH: u64 = 1024;

fn decode<T: DeserializeOwned>(cf: &str, key: &[u8], value: &[u8]) -> Result<T> {
    serde_json::from_slice(value).map_err(|source| StoreError::Corrupt {
        key: format!("{cf}/{}", alloy::primitives::hex::encode(key)),
        source,
    })
}

fn key(pos: UtxoPos) -> [u8; 8] {
    position_key(pos.as_u64())
}

/// The binary record of the output under `key`.
fn output_record(key: &[u8], value: &[u8]) -> Result<OutputRecord> {
    OutputRecord::decode(value).ok_or_else(|| StoreError::CorruptRecord {
        key: format!("{OUTPUTS}/{}", alloy::primitives::hex::encode(key)),
        reason: "not an output record",
    })
}

/// The most write-ahead log kept before the memtables it covers are written out as tables.
const MAX_LOG_BYTES: u64 = 128 << 20;

/// The block cache shared by every column: the hot part of the outputs (the newest, which the
/// next blocks spend) stays in memory.
const BLOCK_CACHE_BYTES: usize = 128 << 20;

/// The options of column `name`. The outputs are read once per input of every block: a bloom
/// filter answers most lookups of an output not in a table without reading it.
fn column_options(name: &str, cache: &rocksdb::Cache) -> Options {
    let mut table = rocksdb::BlockBasedOptions::default();
    table.set_block_cache(cache);
    let mut options = Options::default();
    if name == OUTPUTS {
        table.set_bloom_filter(10.0, false);
        table.set_whole_key_filtering(true);
    }
    options.set_block_based_table_factory(&table);
    options.set_compression_type(rocksdb::DBCompressionType::Lz4);
    options
}

/// Rewrites the JSON records of a store written before the binary ones (`utxos`: an `Output`
/// per unspent position; `spent`: a [`SpendRecord`] per spent position) into `outputs` and
/// `transactions`. Running it again after a crash rewrites the same records.
fn migrate_legacy(db: &DB) -> Result<()> {
    let cf = |name: &str| db.cf_handle(name).expect("column family exists");
    let mut batch = WriteBatch::default();
    let flush = |batch: &mut WriteBatch, force: bool| -> Result<()> {
        if force || batch.len() >= 100_000 {
            let mut options = rocksdb::WriteOptions::default();
            options.set_sync(true);
            db.write_opt(std::mem::take(batch), &options)?;
        }
        Ok(())
    };
    if let Some(utxos) = db.cf_handle(LEGACY_UTXOS) {
        for item in db.iterator_cf(utxos, IteratorMode::Start) {
            let (key, value) = item?;
            let output: Output = decode(LEGACY_UTXOS, &key, &value)?;
            batch.put_cf(cf(OUTPUTS), &key, OutputRecord::Unspent(output).encode());
            flush(&mut batch, false)?;
        }
    }
    if let Some(spent) = db.cf_handle(LEGACY_SPENT) {
        for item in db.iterator_cf(spent, IteratorMode::Start) {
            let (key, value) = item?;
            let spend: SpendRecord = decode(LEGACY_SPENT, &key, &value)?;
            let record = OutputRecord::Spent(SpentBy {
                position: spend.position(),
                input_index: u8::try_from(spend.input_index).unwrap_or(u8::MAX),
                signature: spend.signature,
            });
            batch.put_cf(cf(OUTPUTS), &key, record.encode());
            batch.put_cf(
                cf(TRANSACTIONS),
                position_key(spend.position()),
                &spend.tx_bytes,
            );
            flush(&mut batch, false)?;
        }
    }
    flush(&mut batch, true)
}

impl ClientStore {
    /// Opens (or creates) the store in `path`, for root contract `contract` on `chain_id`. A
    /// store written before the binary records is migrated to them first (its JSON columns are
    /// rewritten, then dropped).
    pub fn open(path: &Path, chain_id: u64, contract: Address) -> Result<Self> {
        let mut options = Options::default();
        options.create_if_missing(true);
        options.create_missing_column_families(true);
        options.set_max_background_jobs(2);
        // Written in the background as the batches come, not all at the next fsync.
        options.set_bytes_per_sync(1 << 20);
        // The log a crashed process leaves is replayed on the next open: bounded, so a watcher
        // restarted after a kill is back in seconds (memtables are written out past it).
        options.set_max_total_wal_size(MAX_LOG_BYTES);
        let existing = DB::list_cf(&options, path).unwrap_or_default();
        let legacy: Vec<&str> = [LEGACY_UTXOS, LEGACY_SPENT]
            .into_iter()
            .filter(|name| existing.iter().any(|e| e == name))
            .collect();
        let cache = rocksdb::Cache::new_lru_cache(BLOCK_CACHE_BYTES);
        let columns = COLUMNS
            .iter()
            .chain(&legacy)
            .map(|name| ColumnFamilyDescriptor::new(*name, column_options(name, &cache)));
        let mut db = DB::open_cf_descriptors(&options, path, columns).map_err(|e| {
            // RocksDB reports its LOCK file held by another process as an I/O error.
            if e.to_string().contains("LOCK") {
                StoreError::InUse {
                    path: path.display().to_string(),
                }
            } else {
                StoreError::Db(e)
            }
        })?;
        if !legacy.is_empty() {
            migrate_legacy(&db)?;
            for name in legacy {
                db.drop_cf(name)?;
            }
        }
        let store = Self { db };
        let identity = (chain_id, contract);
        match store.get::<(u64, Address)>(META, CHAIN)? {
            Some(stored) if stored != identity => {
                return Err(StoreError::OtherChain {
                    stored: stored.1,
                    stored_chain: stored.0,
                    given: contract,
                    given_chain: chain_id,
                });
            }
            Some(_) => {}
            None => {
                let mut batch = Batch::default();
                store.put(&mut batch, META, CHAIN, &identity);
                store.write(batch)?;
            }
        }
        Ok(store)
    }

    fn cf(&self, name: &str) -> &rocksdb::ColumnFamily {
        // Every column family is created on open.
        self.db.cf_handle(name).expect("column family exists")
    }

    fn get<T: DeserializeOwned>(&self, cf: &str, key: &[u8]) -> Result<Option<T>> {
        match self.db.get_cf(self.cf(cf), key)? {
            None => Ok(None),
            Some(bytes) => decode(cf, key, &bytes).map(Some),
        }
    }

    /// The records of `cf` from `mode` on, in key order.
    fn scan<T: DeserializeOwned>(&self, cf: &str, mode: IteratorMode<'_>) -> Result<Vec<T>> {
        let mut out = Vec::new();
        for item in self.db.iterator_cf(self.cf(cf), mode) {
            let (key, value) = item?;
            out.push(decode(cf, &key, &value)?);
        }
        Ok(out)
    }

    fn put<T: Serialize>(&self, batch: &mut Batch, cf: &str, key: &[u8], value: &T) {
        // Serializing these plain records cannot fail.
        let bytes = serde_json::to_vec(value).expect("records serialize");
        if let Some(journal) = &mut batch.1 {
            journal.push(JournalOp {
                cf: cf.to_owned(),
                key: Bytes::copy_from_slice(key),
                prior: None,
                written: Some(Bytes::copy_from_slice(&bytes)),
            });
        }
        batch.0.put_cf(self.cf(cf), key, bytes);
    }

    /// Journals what the journaled `batch` wrote (see [`Batch::journaled`]) as the range of L1
    /// blocks ending at `to`, whose hash is `hash`, merged into an entry already kept for `to`
    /// (its prior values are the older ones); and removes entries no longer needed to reach
    /// [`L1_JOURNAL_DEPTH`] blocks back. Returns `false`, writing no entry, when the kept entry
    /// for `to` has another hash: L1 reorganised since it was checked.
    pub fn journal_l1(&self, batch: &mut Batch, to: u64, hash: B256) -> Result<bool> {
        let written = batch.1.take().unwrap_or_default();
        let mut entry = match self.l1_journal(to)? {
            Some(entry) if entry.hash != hash => return Ok(false),
            Some(entry) => entry,
            None => L1JournalEntry {
                hash,
                ops: Vec::new(),
            },
        };
        let mut at: HashMap<(String, Bytes), usize> = entry
            .ops
            .iter()
            .enumerate()
            .map(|(i, op)| ((op.cf.clone(), op.key.clone()), i))
            .collect();
        for op in written {
            match at.get(&(op.cf.clone(), op.key.clone())) {
                Some(&i) => entry.ops[i].written = op.written,
                None => {
                    at.insert((op.cf.clone(), op.key.clone()), entry.ops.len());
                    let prior = self.db.get_cf(self.cf(&op.cf), &op.key)?.map(Bytes::from);
                    entry.ops.push(JournalOp { prior, ..op });
                }
            }
        }
        self.put(batch, META, &l1_journal_key(to), &entry);
        let cutoff = to.saturating_sub(L1_JOURNAL_DEPTH);
        let kept = self.l1_journal_blocks()?;
        for pair in kept.windows(2) {
            if pair[1] <= cutoff {
                batch.0.delete_cf(self.cf(META), l1_journal_key(pair[0]));
            }
        }
        Ok(true)
    }

    /// The L1 journal's entry for the range ending at L1 block `to`.
    pub fn l1_journal(&self, to: u64) -> Result<Option<L1JournalEntry>> {
        self.get(META, &l1_journal_key(to))
    }

    /// The end blocks of the L1 journal's entries, oldest first.
    pub fn l1_journal_blocks(&self) -> Result<Vec<u64>> {
        let mut out = Vec::new();
        let mode = IteratorMode::From(L1_JOURNAL, rocksdb::Direction::Forward);
        for item in self.db.iterator_cf(self.cf(META), mode) {
            let (key, _) = item?;
            let Some(block) = key.strip_prefix(L1_JOURNAL) else {
                break;
            };
            let block = <[u8; 8]>::try_from(block).map_err(|_| StoreError::CorruptRecord {
                key: format!("{META}/{}", alloy::primitives::hex::encode(&key)),
                reason: "not an L1 journal key",
            })?;
            out.push(u64::from_be_bytes(block));
        }
        Ok(out)
    }

    /// Whether the oldest entry of the L1 journal is the first range this store ever read (no
    /// older one was pruned), so undoing every entry undoes everything read of L1.
    pub fn l1_journal_reaches_start(&self) -> Result<bool> {
        let Some(&oldest) = self.l1_journal_blocks()?.first() else {
            return Ok(true);
        };
        Ok(self.l1_journal(oldest)?.is_some_and(|entry| {
            entry
                .ops
                .iter()
                .any(|op| op.cf == META && op.key.as_ref() == L1_CURSOR && op.prior.is_none())
        }))
    }

    /// Undoes every journaled L1 range ending after L1 block `keep` (every one when `None`),
    /// newest first, in one atomic write: each record a range wrote is set back to its value
    /// before — if it still holds what the range wrote; a record changed since (a coin spent in
    /// a verified block) keeps its value.
    pub fn undo_l1_after(&self, keep: Option<u64>) -> Result<L1Undone> {
        let synced = self.synced_blknum()?;
        let ranges: Vec<u64> = self
            .l1_journal_blocks()?
            .into_iter()
            .filter(|&to| keep.is_none_or(|k| to > k))
            .collect();
        let mut batch = Batch::default();
        let mut overlay: HashMap<(String, Bytes), Option<Bytes>> = HashMap::new();
        let mut undone = L1Undone {
            ranges: ranges.len(),
            cursor: self.l1_cursor()?,
            ..L1Undone::default()
        };
        for &to in ranges.iter().rev() {
            let Some(entry) = self.l1_journal(to)? else {
                continue;
            };
            for op in entry.ops {
                let slot = (op.cf.clone(), op.key.clone());
                let current = match overlay.get(&slot) {
                    Some(value) => value.clone(),
                    None => self.db.get_cf(self.cf(&op.cf), &op.key)?.map(Bytes::from),
                };
                if current != op.written {
                    continue;
                }
                if op.cf == COMMITMENTS
                    && let Some(written) = &op.written
                {
                    let commitment: Commitment = decode(COMMITMENTS, &op.key, written)?;
                    if commitment.blknum <= synced {
                        undone
                            .verified_commitments
                            .push((commitment.blknum, commitment.root));
                    }
                }
                if op.cf == META && op.key.as_ref() == L1_CURSOR {
                    undone.cursor = match &op.prior {
                        Some(prior) => decode(META, &op.key, prior)?,
                        None => 0,
                    };
                }
                match &op.prior {
                    Some(value) => batch.0.put_cf(self.cf(&op.cf), &op.key, value),
                    None => batch.0.delete_cf(self.cf(&op.cf), &op.key),
                }
                undone.records += 1;
                overlay.insert(slot, op.prior);
            }
            batch.0.delete_cf(self.cf(META), l1_journal_key(to));
        }
        self.write(batch)?;
        Ok(undone)
    }

    /// Writes `batch` atomically (and durably).
    pub fn write(&self, batch: Batch) -> Result<()> {
        let mut options = rocksdb::WriteOptions::default();
        options.set_sync(true);
        self.db.write_opt(batch.0, &options)?;
        Ok(())
    }

    /// The last block applied (0 before the first).
    pub fn synced_blknum(&self) -> Result<u64> {
        Ok(self.get(META, SYNCED)?.unwrap_or(0))
    }

    /// Records that blocks up to `blknum` are applied.
    pub fn set_synced_blknum(&self, batch: &mut Batch, blknum: u64) {
        self.put(batch, META, SYNCED, &blknum);
    }

    /// The next L1 block to scan for events.
    pub fn l1_cursor(&self) -> Result<u64> {
        Ok(self.get(META, L1_CURSOR)?.unwrap_or(0))
    }

    /// Records the next L1 block to scan.
    pub fn set_l1_cursor(&self, batch: &mut Batch, l1_block: u64) {
        self.put(batch, META, L1_CURSOR, &l1_block);
    }

    /// Records a commitment read from L1.
    pub fn put_commitment(&self, batch: &mut Batch, commitment: &Commitment) {
        self.put(
            batch,
            COMMITMENTS,
            &commitment.blknum.to_be_bytes(),
            commitment,
        );
    }

    /// The commitment of block `blknum` read from L1.
    pub fn commitment(&self, blknum: u64) -> Result<Option<Commitment>> {
        self.get(COMMITMENTS, &blknum.to_be_bytes())
    }

    /// The committed block the watcher found unserved, and since when (unix milliseconds).
    pub fn withheld_since(&self) -> Result<Option<(u64, u64)>> {
        self.get(META, WITHHELD)
    }

    /// Records that block `blknum` has been unserved since `since` (unix milliseconds).
    pub fn set_withheld_since(&self, batch: &mut Batch, blknum: u64, since: u64) {
        self.put(batch, META, WITHHELD, &(blknum, since));
    }

    /// Forgets the unserved block (it was served).
    pub fn clear_withheld(&self, batch: &mut Batch) {
        batch.0.delete_cf(self.cf(META), WITHHELD);
    }

    /// The owners whose coins this store records (`None` before the first sync that wrote it).
    pub fn tracked_owners(&self) -> Result<Option<Vec<Address>>> {
        self.get(META, TRACKED)
    }

    /// Records the owners whose coins this store records.
    pub fn set_tracked_owners(&self, batch: &mut Batch, owners: &[Address]) {
        self.put(batch, META, TRACKED, &owners);
    }

    /// The unspent outputs of the replayed UTXO set that `owners` own, by position.
    pub fn utxos_of(&self, owners: &HashSet<Address>) -> Result<Vec<(UtxoPos, Output)>> {
        let mut out = Vec::new();
        for item in self.db.iterator_cf(self.cf(OUTPUTS), IteratorMode::Start) {
            let (key, value) = item?;
            if let OutputRecord::Unspent(output) = output_record(&key, &value)?
                && owners.contains(&output.owner)
                && let Some(pos) = utxo_pos_of_key(&key)
            {
                out.push((pos, output));
            }
        }
        Ok(out)
    }

    /// The commitments of blocks after `blknum`, in block order.
    pub fn commitments_after(&self, blknum: u64) -> Result<Vec<Commitment>> {
        let start = blknum.saturating_add(1).to_be_bytes();
        self.scan(
            COMMITMENTS,
            IteratorMode::From(&start, rocksdb::Direction::Forward),
        )
    }

    /// A verified block.
    pub fn block(&self, blknum: u64) -> Result<Option<BlockRecord>> {
        self.get(BLOCKS, &blknum.to_be_bytes())
    }

    /// Records a verified block.
    pub fn put_block(&self, batch: &mut Batch, block: &BlockRecord) {
        self.put(batch, BLOCKS, &block.blknum.to_be_bytes(), block);
    }

    /// The record of output `pos`, if the verified chain has it.
    fn output(&self, pos: UtxoPos) -> Result<Option<OutputRecord>> {
        let key = key(pos);
        match self.db.get_pinned_cf(self.cf(OUTPUTS), key)? {
            None => Ok(None),
            Some(bytes) => output_record(&key, &bytes).map(Some),
        }
    }

    /// An unspent output of the chain.
    pub fn utxo(&self, pos: UtxoPos) -> Result<Option<Output>> {
        Ok(match self.output(pos)? {
            Some(OutputRecord::Unspent(output)) => Some(output),
            _ => None,
        })
    }

    /// The states of outputs `positions` (in ascending order), read in one batch.
    pub fn utxo_states(&self, positions: &[UtxoPos]) -> Result<Vec<UtxoState>> {
        let keys: Vec<[u8; 8]> = positions.iter().map(|&pos| key(pos)).collect();
        let sorted = keys.windows(2).all(|w| w[0] <= w[1]);
        self.db
            .batched_multi_get_cf(self.cf(OUTPUTS), &keys, sorted)
            .into_iter()
            .zip(&keys)
            .map(|(value, key)| {
                Ok(match value? {
                    None => UtxoState::Unknown,
                    Some(bytes) => output_record(key, &bytes)?.state(),
                })
            })
            .collect()
    }

    /// How `pos` was spent, if it was.
    pub fn spend_of(&self, pos: UtxoPos) -> Result<Option<SpendRecord>> {
        let Some(OutputRecord::Spent(spent)) = self.output(pos)? else {
            return Ok(None);
        };
        let tx_key = position_key(spent.position);
        let Some(tx_bytes) = self.db.get_cf(self.cf(TRANSACTIONS), tx_key)? else {
            return Err(StoreError::CorruptRecord {
                key: format!("{OUTPUTS}/{pos}"),
                reason: "its spending transaction is not recorded",
            });
        };
        Ok(Some(SpendRecord {
            tx_bytes: Bytes::from(tx_bytes),
            input_index: u64::from(spent.input_index),
            signature: spent.signature,
            blknum: spent.blknum(),
            tx_index: spent.tx_index(),
        }))
    }

    /// One of the user's coins.
    pub fn coin(&self, pos: UtxoPos) -> Result<Option<Coin>> {
        self.get(COINS, &key(pos))
    }

    /// The positions of all the user's coins.
    pub fn coin_positions(&self) -> Result<HashSet<UtxoPos>> {
        let mut out = HashSet::new();
        for item in self.db.iterator_cf(self.cf(COINS), IteratorMode::Start) {
            let (key, _) = item?;
            out.extend(utxo_pos_of_key(&key));
        }
        Ok(out)
    }

    /// All the user's coins, by position.
    pub fn coins(&self) -> Result<Vec<Coin>> {
        self.scan(COINS, IteratorMode::Start)
    }

    /// Records (or updates) a coin.
    pub fn put_coin(&self, batch: &mut Batch, coin: &Coin) {
        self.put(batch, COINS, &key(coin.utxo_pos), coin);
    }

    /// An exit seen on L1.
    pub fn exit(&self, pos: UtxoPos) -> Result<Option<ExitRecord>> {
        self.get(EXITS, &key(pos))
    }

    /// Every exit seen on L1.
    pub fn exits(&self) -> Result<Vec<ExitRecord>> {
        self.scan(EXITS, IteratorMode::Start)
    }

    /// Records (or updates) an exit.
    pub fn put_exit(&self, batch: &mut Batch, exit: &ExitRecord) {
        self.put(batch, EXITS, &key(exit.utxo_pos), exit);
    }

    /// Whether the watcher raised the event with `key`.
    pub fn watch_raised(&self, key: &str) -> Result<bool> {
        Ok(self.db.get_cf(self.cf(WATCH), key.as_bytes())?.is_some())
    }

    /// Records a raised watcher event under `key`.
    pub fn put_watch_event<T: Serialize>(&self, batch: &mut Batch, key: &str, event: &T) {
        self.put(batch, WATCH, key.as_bytes(), event);
    }

    /// Forgets the watcher event `key`, so that it can be raised again (a recovered outage).
    pub fn clear_watch_event(&self, batch: &mut Batch, key: &str) {
        batch.0.delete_cf(self.cf(WATCH), key.as_bytes());
    }

    /// Every event the watcher raised, by key.
    pub fn watch_events<T: DeserializeOwned>(&self) -> Result<Vec<T>> {
        self.scan(WATCH, IteratorMode::Start)
    }

    /// Records payment `hash` as in flight.
    pub fn put_in_flight(&self, batch: &mut Batch, hash: B256, payment: &InFlightPayment) {
        self.put(batch, IN_FLIGHT, hash.as_slice(), payment);
    }

    /// The in-flight payment `hash`, if this client signed it and has not seen it included.
    pub fn in_flight(&self, hash: B256) -> Result<Option<InFlightPayment>> {
        self.get(IN_FLIGHT, hash.as_slice())
    }

    /// The hashes of every in-flight payment.
    pub fn in_flight_hashes(&self) -> Result<HashSet<B256>> {
        let mut out = HashSet::new();
        for item in self.db.iterator_cf(self.cf(IN_FLIGHT), IteratorMode::Start) {
            let (key, _) = item?;
            if let Ok(hash) = B256::try_from(&key[..]) {
                out.insert(hash);
            }
        }
        Ok(out)
    }

    /// Records an in-flight exit seen started on L1.
    pub fn put_in_flight_exit(&self, batch: &mut Batch, exit: &InFlightExitRecord) {
        self.put(batch, IN_FLIGHT_EXITS, exit.tx_hash.as_slice(), exit);
    }

    /// Every in-flight exit seen started on L1.
    pub fn in_flight_exits(&self) -> Result<Vec<InFlightExitRecord>> {
        self.scan(IN_FLIGHT_EXITS, IteratorMode::Start)
    }

    /// The in-flight exit of `hash`, if one was seen started.
    pub fn in_flight_exit(&self, hash: B256) -> Result<Option<InFlightExitRecord>> {
        self.get(IN_FLIGHT_EXITS, hash.as_slice())
    }

    /// Records that the value of output `pos` left the chain at L1 position `at` (block, log
    /// index).
    pub fn put_exited(&self, batch: &mut Batch, pos: UtxoPos, at: (u64, u64)) {
        self.put(batch, EXITED, &key(pos), &at);
    }

    /// Every output whose value left the chain on L1, with where (block, log index).
    pub fn exited(&self) -> Result<HashMap<UtxoPos, (u64, u64)>> {
        let mut out = HashMap::new();
        for item in self.db.iterator_cf(self.cf(EXITED), IteratorMode::Start) {
            let (key, value) = item?;
            let at: (u64, u64) = decode(EXITED, &key, &value)?;
            if let Some(pos) = utxo_pos_of_key(&key) {
                out.insert(pos, at);
            }
        }
        Ok(out)
    }

    /// Records the Merkle leaves (transaction hashes) of verified block `blknum`.
    pub fn put_block_leaves(&self, batch: &mut Batch, blknum: u64, leaves: &[B256]) {
        let bytes: Vec<u8> = leaves.iter().flat_map(|l| l.0).collect();
        batch
            .0
            .put_cf(self.cf(BLOCK_LEAVES), blknum.to_be_bytes(), bytes);
    }

    /// The inclusion proof of transaction `tx_index` of verified block `blknum` (`None` if the
    /// block's leaves were not recorded or it has no such transaction).
    pub fn inclusion_proof(&self, blknum: u64, tx_index: u64) -> Result<Option<Bytes>> {
        let Some(bytes) = self
            .db
            .get_cf(self.cf(BLOCK_LEAVES), blknum.to_be_bytes())?
        else {
            return Ok(None);
        };
        if bytes.len() % 32 != 0 {
            return Err(StoreError::CorruptLeaves { blknum });
        }
        let leaves: Vec<B256> = bytes.chunks_exact(32).map(B256::from_slice).collect();
        let Ok(tree) = plasma_merkle::MerkleTree::from_leaf_hashes(leaves) else {
            return Err(StoreError::CorruptLeaves { blknum });
        };
        let Ok(index) = usize::try_from(tx_index) else {
            return Ok(None);
        };
        Ok(tree
            .proof(index)
            .ok()
            .map(|p| Bytes::copy_from_slice(&p.to_bytes())))
    }

    /// Forgets payment `hash` (seen in a verified block, or never sent).
    pub fn delete_in_flight(&self, batch: &mut Batch, hash: B256) {
        batch.0.delete_cf(self.cf(IN_FLIGHT), hash.as_slice());
    }
}

/// The replayed UTXO set as plasma-core's validation sees it: a record that cannot be read is
/// a store error, never an unknown input.
impl UtxoView for ClientStore {
    type Error = StoreError;

    fn utxo(&self, pos: UtxoPos) -> Result<UtxoState> {
        Ok(self
            .output(pos)?
            .map_or(UtxoState::Unknown, |record| record.state()))
    }
}

/// A batch being built whose records read back before it is written: a read sees what the
/// batch already holds, then the store. Applying one L1 range or one block goes through it, so
/// each event or transaction sees the ones before it.
pub struct Staged<'a> {
    store: &'a ClientStore,
    batch: Batch,
    /// Outputs added (`Some`) or spent (`None`) in this batch.
    utxos: FastMap<UtxoPos, Option<Output>>,
    /// The output records and transactions written, in the order written; put into the batch
    /// in key order by [`write`](Self::write).
    chain: ChainWrites,
    /// Outputs read ahead from the store ([`prefetch`](Self::prefetch)), as they stood before
    /// this batch.
    prefetched: FastMap<UtxoPos, UtxoState>,
    coins: HashMap<UtxoPos, Coin>,
    exits: HashMap<UtxoPos, ExitRecord>,
    in_flight_exits: HashMap<B256, InFlightExitRecord>,
}

impl<'a> Staged<'a> {
    /// An empty batch over `store`.
    pub fn new(store: &'a ClientStore) -> Self {
        Self::with_batch(store, Batch::default())
    }

    /// An empty batch over `store`, with room for about `bytes` (see [`Batch::with_capacity`]).
    pub fn with_capacity(store: &'a ClientStore, bytes: usize) -> Self {
        Self::with_batch(store, Batch::with_capacity(bytes))
    }

    /// An empty batch over `store` that journals what it writes (for one L1 range).
    pub fn journaled(store: &'a ClientStore) -> Self {
        Self::with_batch(store, Batch::journaled())
    }

    fn with_batch(store: &'a ClientStore, batch: Batch) -> Self {
        Self {
            store,
            batch,
            utxos: FastMap::default(),
            chain: ChainWrites::default(),
            prefetched: FastMap::default(),
            coins: HashMap::new(),
            exits: HashMap::new(),
            in_flight_exits: HashMap::new(),
        }
    }

    /// The store under the batch.
    pub fn store(&self) -> &'a ClientStore {
        self.store
    }

    /// The batch, for writes nothing in it reads back (commitments, cursors, blocks).
    pub fn batch(&mut self) -> &mut Batch {
        &mut self.batch
    }

    /// One of the user's coins, as the batch leaves it.
    pub fn coin(&self, pos: UtxoPos) -> Result<Option<Coin>> {
        match self.coins.get(&pos) {
            Some(coin) => Ok(Some(coin.clone())),
            None => self.store.coin(pos),
        }
    }

    /// Records (or updates) a coin.
    pub fn put_coin(&mut self, coin: Coin) {
        self.store.put_coin(&mut self.batch, &coin);
        self.coins.insert(coin.utxo_pos, coin);
    }

    /// An exit, as the batch leaves it.
    pub fn exit(&self, pos: UtxoPos) -> Result<Option<ExitRecord>> {
        match self.exits.get(&pos) {
            Some(exit) => Ok(Some(exit.clone())),
            None => self.store.exit(pos),
        }
    }

    /// Records (or updates) an exit.
    pub fn put_exit(&mut self, exit: ExitRecord) {
        self.store.put_exit(&mut self.batch, &exit);
        self.exits.insert(exit.utxo_pos, exit);
    }

    /// An in-flight exit, as the batch leaves it.
    pub fn in_flight_exit(&self, hash: B256) -> Result<Option<InFlightExitRecord>> {
        match self.in_flight_exits.get(&hash) {
            Some(exit) => Ok(Some(exit.clone())),
            None => self.store.in_flight_exit(hash),
        }
    }

    /// Records (or updates) an in-flight exit.
    pub fn put_in_flight_exit(&mut self, exit: InFlightExitRecord) {
        self.store.put_in_flight_exit(&mut self.batch, &exit);
        self.in_flight_exits.insert(exit.tx_hash, exit);
    }

    /// Adds an unspent output.
    pub fn put_utxo(&mut self, pos: UtxoPos, output: Output) {
        self.chain
            .outputs
            .push((pos.as_u64(), OutputRecord::Unspent(output)));
        self.utxos.insert(pos, Some(output));
    }

    /// Reads the outputs `positions` from the store in one batch, ahead of the lookups that
    /// follow (a block's inputs before its transactions are checked). Outputs this batch
    /// already changed are not read.
    pub fn prefetch(&mut self, positions: impl IntoIterator<Item = UtxoPos>) -> Result<()> {
        let mut wanted: Vec<UtxoPos> = positions
            .into_iter()
            .filter(|pos| !self.utxos.contains_key(pos) && !self.prefetched.contains_key(pos))
            .collect();
        wanted.sort_unstable();
        wanted.dedup();
        let states = self.store.utxo_states(&wanted)?;
        self.prefetched.reserve(wanted.len());
        self.prefetched.extend(wanted.into_iter().zip(states));
        Ok(())
    }

    /// Records verified transaction `bytes` at `position` (`blknum · 10⁹ + tx_index · 10⁴`):
    /// the spends of its inputs name it.
    pub fn put_transaction(&mut self, position: u64, bytes: Bytes) {
        self.chain.transactions.push((position, bytes));
    }

    /// Marks output `pos` spent by input `input_index` of the transaction at `position`
    /// (recorded with [`put_transaction`](Self::put_transaction)), with that input's signature.
    pub fn spend(&mut self, pos: UtxoPos, position: u64, input_index: u8, signature: TxSignature) {
        let record = OutputRecord::Spent(SpentBy {
            position,
            input_index,
            signature,
        });
        self.chain.outputs.push((pos.as_u64(), record));
        self.utxos.insert(pos, None);
    }

    /// Writes the batch atomically (and durably). The output records and transactions go in
    /// in key order (a stable sort: of two writes to one output the later still wins), which
    /// RocksDB's memtable inserts several times faster than keys in random order.
    pub fn write(self) -> Result<()> {
        let Self {
            store,
            mut batch,
            mut chain,
            ..
        } = self;
        chain.outputs.sort_by_key(|(key, _)| *key);
        chain.transactions.sort_by_key(|(key, _)| *key);
        let outputs = store.cf(OUTPUTS);
        for (key, record) in &chain.outputs {
            batch.0.put_cf(outputs, position_key(*key), record.encode());
        }
        let transactions = store.cf(TRANSACTIONS);
        for (key, bytes) in &chain.transactions {
            batch.0.put_cf(transactions, position_key(*key), bytes);
        }
        store.write(batch)
    }
}

/// A map keyed by position with a fast hash (foldhash, seeded per process): a block's replay
/// looks up and inserts each of its outputs several times.
type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// The chain's records a [`Staged`] batch writes: output records and transactions, by position.
#[derive(Default)]
struct ChainWrites {
    outputs: Vec<(u64, OutputRecord)>,
    transactions: Vec<(u64, Bytes)>,
}

/// The store with the batch's outputs over it.
impl UtxoView for Staged<'_> {
    type Error = StoreError;

    fn utxo(&self, pos: UtxoPos) -> Result<UtxoState> {
        match self.utxos.get(&pos) {
            Some(Some(output)) => Ok(UtxoState::Unspent(*output)),
            Some(None) => Ok(UtxoState::Spent),
            None => match self.prefetched.get(&pos) {
                Some(state) => Ok(*state),
                None => UtxoView::utxo(self.store, pos),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use plasma_core::ETH;

    fn signature(byte: u8) -> TxSignature {
        TxSignature::from_slice(&[byte; 65]).unwrap()
    }

    /// A store written before the binary records (JSON `utxos` and `spent` columns) opens with
    /// every unspent output and every spend as it was, and without the old columns.
    #[test]
    fn a_store_of_json_records_is_migrated_on_open() {
        let dir = tempfile::tempdir().unwrap();
        let contract = Address::repeat_byte(9);
        let unspent_pos = UtxoPos::new(2000, 3, 1).unwrap();
        let unspent = Output::new(Address::repeat_byte(1), ETH, U256::from(123_456u64));
        let spent_pos = UtxoPos::new(1000, 0, 0).unwrap();
        let spend = SpendRecord {
            tx_bytes: Bytes::from(vec![0xf8, 1, 2, 3]),
            input_index: 2,
            signature: signature(7),
            blknum: 2000,
            tx_index: 3,
        };
        {
            let mut options = Options::default();
            options.create_if_missing(true);
            options.create_missing_column_families(true);
            let db = DB::open_cf(&options, dir.path(), [META, LEGACY_UTXOS, LEGACY_SPENT]).unwrap();
            let put = |cf: &str, key: &[u8], value: Vec<u8>| {
                db.put_cf(db.cf_handle(cf).unwrap(), key, value).unwrap()
            };
            put(
                META,
                CHAIN,
                serde_json::to_vec(&(31337u64, contract)).unwrap(),
            );
            put(
                LEGACY_UTXOS,
                &key(unspent_pos),
                serde_json::to_vec(&unspent).unwrap(),
            );
            put(
                LEGACY_SPENT,
                &key(spent_pos),
                serde_json::to_vec(&spend).unwrap(),
            );
        }
        let store = ClientStore::open(dir.path(), 31337, contract).unwrap();
        assert_eq!(store.utxo(unspent_pos).unwrap(), Some(unspent));
        assert_eq!(store.spend_of(spent_pos).unwrap(), Some(spend));
        assert_eq!(UtxoView::utxo(&store, spent_pos).unwrap(), UtxoState::Spent);
        drop(store);
        let columns = DB::list_cf(&Options::default(), dir.path()).unwrap();
        assert!(
            !columns
                .iter()
                .any(|c| c == LEGACY_UTXOS || c == LEGACY_SPENT)
        );
        // Opening again finds nothing to migrate and the same records.
        let store = ClientStore::open(dir.path(), 31337, contract).unwrap();
        assert_eq!(store.utxo(unspent_pos).unwrap(), Some(unspent));
    }

    /// A batch's reads see the outputs it read ahead, then its own changes over them.
    #[test]
    fn prefetched_outputs_read_as_the_store_held_them_under_the_batch() {
        let dir = tempfile::tempdir().unwrap();
        let store = ClientStore::open(dir.path(), 1, Address::ZERO).unwrap();
        let a = UtxoPos::new(1000, 0, 0).unwrap();
        let b = UtxoPos::new(1000, 1, 0).unwrap();
        let unknown = UtxoPos::new(3000, 0, 0).unwrap();
        let output = Output::new(Address::repeat_byte(1), ETH, U256::from(5u64));
        let mut written = Staged::new(&store);
        written.put_utxo(a, output);
        written.put_utxo(b, output);
        written.write().unwrap();

        let mut staged = Staged::new(&store);
        staged.prefetch([b, unknown, a, a]).unwrap();
        assert_eq!(staged.utxo(a).unwrap(), UtxoState::Unspent(output));
        assert_eq!(staged.utxo(unknown).unwrap(), UtxoState::Unknown);
        staged.put_transaction(2_000_000_000_000, Bytes::from_static(&[1, 2]));
        staged.spend(a, 2_000_000_000_000, 0, signature(1));
        assert_eq!(staged.utxo(a).unwrap(), UtxoState::Spent);
        assert_eq!(staged.utxo(b).unwrap(), UtxoState::Unspent(output));
        staged.write().unwrap();
        let spend = store.spend_of(a).unwrap().unwrap();
        assert_eq!((spend.blknum, spend.tx_index), (2000, 0));
        assert_eq!(spend.tx_bytes, Bytes::from(vec![1, 2]));
        assert_eq!(
            store.utxo_states(&[a, b, unknown]).unwrap(),
            vec![
                UtxoState::Spent,
                UtxoState::Unspent(output),
                UtxoState::Unknown
            ]
        );
    }

    fn coin(pos: UtxoPos, state: CoinState) -> Coin {
        Coin {
            utxo_pos: pos,
            output: Output::new(Address::repeat_byte(1), ETH, U256::from(5u64)),
            tx_bytes: Bytes::from(vec![1, 2]),
            proof: Bytes::new(),
            root: B256::repeat_byte(3),
            block_timestamp: 7,
            state,
        }
    }

    fn exit_of(pos: UtxoPos) -> ExitRecord {
        ExitRecord {
            utxo_pos: pos,
            owner: Address::repeat_byte(1),
            token: ETH,
            amount: U256::from(5u64),
            exitable_at: 99,
            status: ExitStatus::Started,
        }
    }

    /// Applies what an L1 range would: an exit of `pos` (its coin exiting), the commitment
    /// of `blknum`, the cursor; journaled under `to`.
    fn journaled_range(store: &ClientStore, to: u64, hash: B256, pos: UtxoPos, blknum: u64) {
        let mut staged = Staged::journaled(store);
        let mut c = staged.coin(pos).unwrap().unwrap();
        c.state = c.state.after_exit(ExitStatus::Started);
        staged.put_coin(c);
        staged.put_exit(exit_of(pos));
        store.put_commitment(
            staged.batch(),
            &Commitment {
                blknum,
                root: B256::repeat_byte(blknum as u8),
                timestamp: 1,
                deposit: None,
                l1_position: (to, 0),
            },
        );
        store.set_l1_cursor(staged.batch(), to + 1);
        assert!(store.journal_l1(staged.batch(), to, hash).unwrap());
        staged.write().unwrap();
    }

    #[test]
    fn undoing_l1_ranges_sets_back_what_they_wrote_unless_a_block_changed_it_since() {
        let dir = tempfile::tempdir().unwrap();
        let store = ClientStore::open(dir.path(), 1, Address::repeat_byte(9)).unwrap();
        let a = UtxoPos::new(1000, 0, 0).unwrap();
        let b = UtxoPos::new(1000, 1, 0).unwrap();
        let mut batch = Batch::default();
        store.put_coin(&mut batch, &coin(a, CoinState::Unspent));
        store.put_coin(&mut batch, &coin(b, CoinState::Unspent));
        store.set_synced_blknum(&mut batch, 2000);
        store.write(batch).unwrap();

        journaled_range(&store, 10, B256::repeat_byte(10), a, 2000);
        journaled_range(&store, 11, B256::repeat_byte(11), b, 3000);
        assert_eq!(store.l1_journal_blocks().unwrap(), vec![10, 11]);
        assert_eq!(store.coin(b).unwrap().unwrap().state, CoinState::Exiting);
        // A verified block spends coin b after its exit was read.
        let mut batch = Batch::default();
        store.put_coin(&mut batch, &coin(b, CoinState::Spent));
        store.write(batch).unwrap();

        // Block 11 is reorganised away: b's exit is gone, b stays spent, a still exits.
        let undone = store.undo_l1_after(Some(10)).unwrap();
        assert_eq!((undone.ranges, undone.cursor), (1, 11));
        assert_eq!(store.l1_cursor().unwrap(), 11);
        assert_eq!(store.exit(b).unwrap(), None);
        assert_eq!(store.coin(b).unwrap().unwrap().state, CoinState::Spent);
        assert_eq!(store.commitment(3000).unwrap(), None);
        assert!(
            undone.verified_commitments.is_empty(),
            "3000 was not verified"
        );
        assert_eq!(store.coin(a).unwrap().unwrap().state, CoinState::Exiting);

        // Everything is reorganised away: a is spendable again, and the commitment of block
        // 2000, already verified, is reported.
        assert!(store.l1_journal_reaches_start().unwrap());
        let undone = store.undo_l1_after(None).unwrap();
        assert_eq!(undone.cursor, 0);
        assert_eq!(store.coin(a).unwrap().unwrap().state, CoinState::Unspent);
        assert_eq!(store.exit(a).unwrap(), None);
        assert_eq!(
            undone.verified_commitments,
            vec![(2000, B256::repeat_byte(2000u64 as u8))]
        );
        assert!(store.l1_journal_blocks().unwrap().is_empty());
    }

    #[test]
    fn the_l1_journal_keeps_one_entry_at_least_its_depth_back_and_refuses_a_changed_block() {
        let dir = tempfile::tempdir().unwrap();
        let store = ClientStore::open(dir.path(), 1, Address::repeat_byte(9)).unwrap();
        for to in [5, 6, 6 + L1_JOURNAL_DEPTH] {
            let mut batch = Batch::journaled();
            store.set_l1_cursor(&mut batch, to + 1);
            assert!(
                store
                    .journal_l1(&mut batch, to, B256::repeat_byte(1))
                    .unwrap()
            );
            store.write(batch).unwrap();
        }
        assert_eq!(
            store.l1_journal_blocks().unwrap(),
            vec![6, 6 + L1_JOURNAL_DEPTH]
        );
        assert!(!store.l1_journal_reaches_start().unwrap());
        let mut batch = Batch::journaled();
        assert!(
            !store
                .journal_l1(&mut batch, 6, B256::repeat_byte(2))
                .unwrap()
        );
    }
}
