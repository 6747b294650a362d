//! Storage: a key-value [`Store`] trait with column families and atomic batch writes, a RocksDB
//! implementation ([`RocksStore`]) and an in-memory one for tests ([`MemoryStore`]), and the
//! typed layer the operator uses on top ([`Db`], [`records`]).
//!
//! Protocol data is stored as its canonical ABI bytes (transaction bytes plus 65-byte
//! signatures); internal records use the small fixed binary layouts in [`records`]. Every state
//! change the operator makes — accepted transactions, a block with its UTXO changes, L1 events
//! with the L1 cursor — is one [`Batch`], written atomically.

mod db;
mod memory;
pub mod records;
mod rocks;

pub use db::{Db, Location};
pub use memory::MemoryStore;
pub use rocks::RocksStore;

/// A column family: one keyspace of the store.
///
/// A transaction's body is written once, when it is accepted: it keeps its arrival number
/// (`seq`) for good, and a block names the runs of sequence numbers it holds instead of copying
/// its transactions. The owner index of the UTXO set is kept in memory (rebuilt from
/// [`Column::Utxos`] at start), so a block writes only its own record and its UTXO changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Column {
    /// `blknum (u64 BE)` → block record ([`records::BlockRecord`]): header, and the runs of
    /// sequence numbers of its transactions (an operator block) or its one transaction (a
    /// deposit block).
    Blocks,
    /// `seq (u64 BE)` → signed transaction ([`records::encode_signed`]), pending or in a block.
    Txs,
    /// `txHash (32)` → where the transaction is ([`records::IndexEntry`]).
    TxIndex,
    /// `first seq of an operator block (u64 BE)` → `blknum (u64 BE)`: which block a sequence
    /// number is in.
    SeqBlocks,
    /// `utxoPos (u64 BE)` → unspent or exiting output ([`records::UtxoRecord`]).
    Utxos,
    /// Named metadata and cursors (see [`records::meta`]).
    Meta,
}

impl Column {
    /// Every column, in a fixed order.
    pub const ALL: [Column; 6] = [
        Column::Blocks,
        Column::Txs,
        Column::TxIndex,
        Column::SeqBlocks,
        Column::Utxos,
        Column::Meta,
    ];

    /// The column family's name in RocksDB.
    pub const fn name(self) -> &'static str {
        match self {
            Column::Blocks => "blocks",
            Column::Txs => "txs",
            Column::TxIndex => "tx_index",
            Column::SeqBlocks => "seq_blocks",
            Column::Utxos => "utxos",
            Column::Meta => "meta",
        }
    }

    /// The position of this column in [`Column::ALL`].
    pub const fn index(self) -> usize {
        self as usize
    }
}

/// One write of a [`Batch`], as the store reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op<'a> {
    /// Set `key` to `value`.
    Put(Column, &'a [u8], &'a [u8]),
    /// Remove `key`.
    Delete(Column, &'a [u8]),
}

impl<'a> Op<'a> {
    /// The column and key it writes.
    pub fn target(&self) -> (Column, &'a [u8]) {
        match *self {
            Op::Put(column, key, _) | Op::Delete(column, key) => (column, key),
        }
    }
}

/// Where one write's key and value are in the batch's buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Entry {
    column: Column,
    /// `None` for a delete.
    value_len: Option<u32>,
    key_len: u32,
    /// Offset of the key; the value follows it.
    at: usize,
}

/// Writes applied together or not at all.
///
/// Keys and values are copied into one growing buffer, so a block's hundreds of thousands of
/// writes cost a few allocations, not two each.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Batch {
    data: Vec<u8>,
    entries: Vec<Entry>,
}

fn len32(bytes: &[u8]) -> u32 {
    // Keys and values are records of this crate: far below 4 GiB each.
    u32::try_from(bytes.len()).unwrap_or(u32::MAX)
}

impl Batch {
    /// An empty batch.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty batch with room for `ops` writes of about `bytes` bytes of keys and values.
    pub fn with_capacity(ops: usize, bytes: usize) -> Self {
        Self {
            data: Vec::with_capacity(bytes),
            entries: Vec::with_capacity(ops),
        }
    }

    /// Adds a put.
    pub fn put(&mut self, column: Column, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) {
        let (key, value) = (key.as_ref(), value.as_ref());
        self.entries.push(Entry {
            column,
            value_len: Some(len32(value)),
            key_len: len32(key),
            at: self.data.len(),
        });
        self.data.extend_from_slice(key);
        self.data.extend_from_slice(value);
    }

    /// Adds a delete.
    pub fn delete(&mut self, column: Column, key: impl AsRef<[u8]>) {
        let key = key.as_ref();
        self.entries.push(Entry {
            column,
            value_len: None,
            key_len: len32(key),
            at: self.data.len(),
        });
        self.data.extend_from_slice(key);
    }

    fn op(&self, entry: &Entry) -> Op<'_> {
        let key_end = entry.at + entry.key_len as usize;
        let key = self.data.get(entry.at..key_end).unwrap_or_default();
        match entry.value_len {
            Some(len) => Op::Put(
                entry.column,
                key,
                self.data
                    .get(key_end..key_end + len as usize)
                    .unwrap_or_default(),
            ),
            None => Op::Delete(entry.column, key),
        }
    }

    /// The writes, in the order they were added (a later write to the same key wins).
    pub fn ops(&self) -> impl Iterator<Item = Op<'_>> {
        self.entries.iter().map(|e| self.op(e))
    }

    /// The writes ordered by column, then key; writes to one key keep their order (the later
    /// still wins). Cheap when the writes were added in that order already.
    pub fn sorted_ops(&self) -> Vec<Op<'_>> {
        let mut ops: Vec<Op<'_>> = self.ops().collect();
        ops.sort_by(|a, b| {
            let (ca, ka) = a.target();
            let (cb, kb) = b.target();
            ca.cmp(&cb).then_with(|| ka.cmp(kb))
        });
        ops
    }

    /// Number of writes.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the batch writes nothing.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// Errors of the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// RocksDB failed.
    #[error("rocksdb: {0}")]
    Rocks(#[from] rocksdb::Error),
    /// The database was written by another version of the operator.
    #[error("incompatible database: {0}")]
    Incompatible(String),
    /// The store cannot write now (e.g. its disk is full); nothing of the batch was written.
    #[error("the store cannot write: {0}")]
    Unavailable(String),
    /// A stored record does not decode: the database is corrupt or from another version.
    #[error("corrupt record in column {column}: {what}")]
    Corrupt {
        /// The column.
        column: &'static str,
        /// What is wrong.
        what: String,
    },
}

/// Result alias of the store.
pub type StoreResult<T> = Result<T, StoreError>;

/// A key-value store with column families and atomic batches.
pub trait Store: Send + Sync + 'static {
    /// The value at `key`.
    fn get(&self, column: Column, key: &[u8]) -> StoreResult<Option<Vec<u8>>>;

    /// Applies every write of `batch` atomically and durably (see the implementation for what
    /// durable means).
    fn write(&self, batch: Batch) -> StoreResult<()>;

    /// Up to `limit` entries whose key starts with `prefix` and is at least `from`, in key
    /// order.
    fn scan(
        &self,
        column: Column,
        prefix: &[u8],
        from: &[u8],
        limit: usize,
    ) -> StoreResult<Vec<(Vec<u8>, Vec<u8>)>>;

    /// The entry with the greatest key in `column` starting with `prefix`.
    fn last(&self, column: Column, prefix: &[u8]) -> StoreResult<Option<(Vec<u8>, Vec<u8>)>>;

    /// The entry with the greatest key in `column` that is at most `key`.
    fn floor(&self, column: Column, key: &[u8]) -> StoreResult<Option<(Vec<u8>, Vec<u8>)>>;

    /// Writes refused since the store opened (a full disk, say).
    fn write_failures(&self) -> u64 {
        0
    }

    /// What the store holds in memory now, where it can say.
    fn memory(&self) -> Option<StoreMemory> {
        None
    }
}

/// Bytes the store holds in memory, by what for (RocksDB's own estimates, summed over the
/// columns).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StoreMemory {
    /// Index and filter blocks held by the open table files outside the block cache.
    pub table_readers: u64,
    /// Memtables: written and not yet flushed, or flushed and still read.
    pub memtables: u64,
    /// The block cache (shared by every column), of which `block_cache_pinned` cannot be evicted.
    pub block_cache: u64,
    /// Entries of the block cache pinned in place (in use, or pinned by configuration).
    pub block_cache_pinned: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exercise(store: &dyn Store) {
        let mut batch = Batch::new();
        batch.put(Column::Meta, b"a", b"1");
        batch.put(Column::Meta, b"b1", b"2");
        batch.put(Column::Meta, b"b2", b"3");
        batch.put(Column::Meta, b"c", b"4");
        batch.put(Column::Blocks, b"a", b"other");
        store.write(batch).unwrap();
        assert_eq!(store.get(Column::Meta, b"a").unwrap(), Some(b"1".to_vec()));
        assert_eq!(
            store.get(Column::Blocks, b"a").unwrap(),
            Some(b"other".to_vec())
        );
        assert_eq!(store.get(Column::Utxos, b"a").unwrap(), None);
        let scanned = store.scan(Column::Meta, b"b", b"", 10).unwrap();
        assert_eq!(
            scanned,
            vec![
                (b"b1".to_vec(), b"2".to_vec()),
                (b"b2".to_vec(), b"3".to_vec())
            ]
        );
        let scanned = store.scan(Column::Meta, b"", b"b2", 2).unwrap();
        assert_eq!(scanned.len(), 2);
        assert_eq!(scanned[0].0, b"b2".to_vec());
        assert_eq!(
            store.last(Column::Meta, b"b").unwrap(),
            Some((b"b2".to_vec(), b"3".to_vec()))
        );
        assert_eq!(store.last(Column::Meta, b"z").unwrap(), None);
        assert_eq!(
            store.last(Column::Meta, b"").unwrap().unwrap().0,
            b"c".to_vec()
        );
        assert_eq!(store.floor(Column::Meta, b"b1").unwrap().unwrap().0, b"b1");
        assert_eq!(store.floor(Column::Meta, b"b15").unwrap().unwrap().0, b"b1");
        assert_eq!(store.floor(Column::Meta, b"zz").unwrap().unwrap().0, b"c");
        assert_eq!(store.floor(Column::Meta, b"0").unwrap(), None);
        assert_eq!(store.floor(Column::Utxos, b"a").unwrap(), None);

        let mut batch = Batch::new();
        batch.delete(Column::Meta, b"a");
        batch.put(Column::Meta, b"c", b"5");
        store.write(batch).unwrap();
        assert_eq!(store.get(Column::Meta, b"a").unwrap(), None);
        assert_eq!(store.get(Column::Meta, b"c").unwrap(), Some(b"5".to_vec()));

        // Within one batch the later write to a key wins, whatever order the store applies
        // the keys in.
        let mut batch = Batch::new();
        batch.put(Column::Meta, b"k", b"1");
        batch.put(Column::Txs, b"k", b"t");
        batch.delete(Column::Meta, b"k");
        batch.put(Column::Meta, b"j", b"x");
        batch.put(Column::Meta, b"k", b"2");
        batch.delete(Column::Meta, b"j");
        store.write(batch).unwrap();
        assert_eq!(store.get(Column::Meta, b"k").unwrap(), Some(b"2".to_vec()));
        assert_eq!(store.get(Column::Meta, b"j").unwrap(), None);
        assert_eq!(store.get(Column::Txs, b"k").unwrap(), Some(b"t".to_vec()));

        // The hash-table columns still scan in key order (keys of 8 bytes and longer).
        let mut batch = Batch::new();
        for key in [7u64, 1 << 40, 3, 1 << 63, 5] {
            batch.put(Column::Utxos, key.to_be_bytes(), [1]);
            let mut long = key.to_be_bytes().to_vec();
            long.extend_from_slice(&[9; 24]);
            batch.put(Column::TxIndex, long, [2]);
        }
        store.write(batch).unwrap();
        let keys: Vec<u64> = store
            .scan(Column::Utxos, &[], &[], usize::MAX)
            .unwrap()
            .into_iter()
            .map(|(k, _)| u64::from_be_bytes(k.try_into().unwrap()))
            .collect();
        assert_eq!(keys, [3, 5, 7, 1 << 40, 1 << 63]);
        let from_six: Vec<Vec<u8>> = store
            .scan(Column::Utxos, &[], &6u64.to_be_bytes(), 2)
            .unwrap()
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        assert_eq!(from_six, [7u64.to_be_bytes(), (1u64 << 40).to_be_bytes()]);
        assert_eq!(
            store
                .floor(Column::Utxos, &(1u64 << 41).to_be_bytes())
                .unwrap()
                .unwrap()
                .0,
            (1u64 << 40).to_be_bytes()
        );
        assert_eq!(store.scan(Column::TxIndex, &[], &[], 10).unwrap().len(), 5);
        assert!(
            store
                .get(Column::Utxos, &4u64.to_be_bytes())
                .unwrap()
                .is_none()
        );
        assert_eq!(
            store.get(Column::Utxos, &5u64.to_be_bytes()).unwrap(),
            Some(vec![1])
        );
    }

    #[test]
    fn memory_store_behaves() {
        exercise(&MemoryStore::new());
    }

    #[test]
    fn rocks_store_behaves_and_persists() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = RocksStore::open(dir.path(), true).unwrap();
            exercise(&store);
        }
        let store = RocksStore::open(dir.path(), true).unwrap();
        assert_eq!(store.get(Column::Meta, b"c").unwrap(), Some(b"5".to_vec()));
        assert_eq!(store.scan(Column::Utxos, &[], &[], 10).unwrap().len(), 5);
    }
}
