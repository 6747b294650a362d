//! Storage: a key-value [`Store`] trait with column families and atomic batch writes, a RocksDB
//! implementation ([`RocksStore`]) and an in-memory one for tests ([`MemoryStore`]), and the
//! typed layer the operator uses on top ([`Db`], [`records`]).
//!
//! Protocol data is stored as its canonical ABI bytes (transaction bytes plus 65-byte
//! signatures); internal records use the small fixed binary layouts in [`records`]. Every state
//! change the operator makes — a pending transaction, a block with its UTXO changes, a deposit
//! with the L1 cursor — is one [`Batch`], written atomically.

mod db;
mod memory;
pub mod records;
mod rocks;

pub use db::Db;
pub use memory::MemoryStore;
pub use rocks::RocksStore;

/// A column family: one keyspace of the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Column {
    /// `blknum (u64 BE)` → block header ([`records::BlockHeader`]).
    Blocks,
    /// `blknum (u64 BE) ‖ txIndex (u32 BE)` → signed transaction ([`records::encode_signed`]).
    BlockTxs,
    /// `txHash (32)` → `blknum (u64 BE) ‖ txIndex (u32 BE)`.
    TxIndex,
    /// `utxoPos (u64 BE)` → unspent or exiting output ([`records::UtxoRecord`]).
    Utxos,
    /// `owner (20) ‖ utxoPos (u64 BE)` → empty: the outputs of each owner.
    OwnerUtxos,
    /// `seq (u64 BE)` → signed transaction acknowledged but not yet in a block.
    Pending,
    /// Named metadata and cursors (see [`records::meta`]).
    Meta,
}

impl Column {
    /// Every column, in a fixed order.
    pub const ALL: [Column; 7] = [
        Column::Blocks,
        Column::BlockTxs,
        Column::TxIndex,
        Column::Utxos,
        Column::OwnerUtxos,
        Column::Pending,
        Column::Meta,
    ];

    /// The column family's name in RocksDB.
    pub const fn name(self) -> &'static str {
        match self {
            Column::Blocks => "blocks",
            Column::BlockTxs => "block_txs",
            Column::TxIndex => "tx_index",
            Column::Utxos => "utxos",
            Column::OwnerUtxos => "owner_utxos",
            Column::Pending => "pending",
            Column::Meta => "meta",
        }
    }
}

/// One write of a [`Batch`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// Set `key` to `value`.
    Put(Column, Vec<u8>, Vec<u8>),
    /// Remove `key`.
    Delete(Column, Vec<u8>),
}

/// Writes applied together or not at all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Batch {
    ops: Vec<Op>,
}

impl Batch {
    /// An empty batch.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a put.
    pub fn put(&mut self, column: Column, key: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) {
        self.ops.push(Op::Put(column, key.into(), value.into()));
    }

    /// Adds a delete.
    pub fn delete(&mut self, column: Column, key: impl Into<Vec<u8>>) {
        self.ops.push(Op::Delete(column, key.into()));
    }

    /// The writes, in order (a later write to the same key wins).
    pub fn ops(&self) -> &[Op] {
        &self.ops
    }

    /// Whether the batch writes nothing.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }
}

/// Errors of the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// RocksDB failed.
    #[error("rocksdb: {0}")]
    Rocks(#[from] rocksdb::Error),
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
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exercise(store: &dyn Store) {
        let mut batch = Batch::new();
        batch.put(Column::Meta, b"a".to_vec(), b"1".to_vec());
        batch.put(Column::Meta, b"b1".to_vec(), b"2".to_vec());
        batch.put(Column::Meta, b"b2".to_vec(), b"3".to_vec());
        batch.put(Column::Meta, b"c".to_vec(), b"4".to_vec());
        batch.put(Column::Blocks, b"a".to_vec(), b"other".to_vec());
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

        let mut batch = Batch::new();
        batch.delete(Column::Meta, b"a".to_vec());
        batch.put(Column::Meta, b"c".to_vec(), b"5".to_vec());
        store.write(batch).unwrap();
        assert_eq!(store.get(Column::Meta, b"a").unwrap(), None);
        assert_eq!(store.get(Column::Meta, b"c").unwrap(), Some(b"5".to_vec()));
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
    }
}
