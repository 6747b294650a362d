//! The RocksDB [`Store`].

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, RwLock, RwLockReadGuard};
use std::time::{Duration, Instant};

use rocksdb::{
    BlockBasedIndexType, BlockBasedOptions, Cache, ColumnFamily, ColumnFamilyDescriptor, DB,
    Direction, IteratorMode, MemtableFactory, Options, ReadOptions, SliceTransform, WriteBatch,
    WriteOptions,
};

use super::{Batch, Column, Op, Store, StoreError, StoreMemory, StoreResult};

/// Memory for cached data blocks, shared by every column.
const BLOCK_CACHE_BYTES: usize = 128 << 20;
/// The most memory all memtables together may take before RocksDB flushes.
const WRITE_BUFFERS_BYTES: usize = 256 << 20;
/// The most log-file bytes kept before the columns holding the oldest are flushed.
const MAX_WAL_BYTES: u64 = 512 << 20;
/// Size of each partition of the index and filter blocks.
const METADATA_BLOCK_BYTES: usize = 4096;
/// Buckets of each hash-table memtable (8 bytes each).
const MEMTABLE_BUCKETS: usize = 1 << 20;

/// A [`Store`] in RocksDB, one column family per [`Column`].
///
/// Every batch goes through the write-ahead log; with `sync` (the default of the daemon) the log
/// is fsynced before [`Store::write`] returns, so a written batch survives a power loss, not only
/// a process crash.
///
/// A batch is applied in key order within each column (a stable sort, so the later of two writes
/// to one key still wins): RocksDB's memtable inserts keys that follow the previous insert
/// without a search from the top, which makes a block's writes several times cheaper than in
/// arrival order. The two columns read by point lookup carry bloom filters: the UTXO set (one
/// lookup per input of every submitted transaction) and the transaction index (by hash: a
/// status query, or a transaction that fails its checks). The transaction index, whose keys
/// arrive in random order, also keeps its memtable as a hash table of skip lists bucketed by
/// the first 8 key bytes, so a lookup costs about a microsecond, not a walk down a large skip
/// list. Scans read it in key order all the same (`total_order_seek`).
///
/// A write that fails (a full disk: RocksDB then refuses every later write, and has no way to
/// resume through its C API) leaves the store *unavailable*: writes are refused with
/// [`StoreError::Unavailable`] while reads go on. At most once every [`REOPEN_EVERY`], the next
/// write first closes the database and opens it again, which recovers every batch written
/// before the failure from the log — the failed one was never applied — and works again as
/// soon as there is space. Until it can write, it is opened read-only, for the reads.
pub struct RocksStore {
    /// The database; writes take the read side too (RocksDB is thread-safe), only a reopen
    /// the write side.
    db: RwLock<Option<DB>>,
    /// Why writes are refused, and since when: `None` while the store writes.
    failed: Mutex<Option<(String, Instant)>>,
    path: PathBuf,
    sync: bool,
    /// Writes refused since the store opened.
    write_failures: AtomicU64,
}

/// How often an unavailable store tries to open for writing again.
const REOPEN_EVERY: Duration = Duration::from_secs(1);

impl std::fmt::Debug for RocksStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RocksStore")
            .field("path", &self.path)
            .field("sync", &self.sync)
            .finish()
    }
}

/// Column families written by earlier layouts of the store: a database holding them was made by
/// an older operator and cannot be read by this one.
const RETIRED_FAMILIES: [&str; 3] = ["block_txs", "pending", "owner_utxos"];

impl RocksStore {
    /// Opens (or creates) the database at `path`.
    pub fn open(path: &Path, sync: bool) -> StoreResult<Self> {
        let db = Self::open_db(path, false)?;
        Ok(Self {
            db: RwLock::new(Some(db)),
            failed: Mutex::new(None),
            path: path.to_path_buf(),
            sync,
            write_failures: AtomicU64::new(0),
        })
    }

    /// Writes refused since the store opened.
    pub fn write_failures(&self) -> u64 {
        self.write_failures.load(Ordering::Relaxed)
    }

    fn open_db(path: &Path, read_only: bool) -> StoreResult<DB> {
        if let Ok(existing) = DB::list_cf(&Options::default(), path)
            && let Some(old) = existing
                .iter()
                .find(|name| RETIRED_FAMILIES.contains(&name.as_str()))
        {
            return Err(StoreError::Incompatible(format!(
                "{} was written by an older plasma-operator (it has the column family {old:?}); \
                 this version needs a new database: move the old one away and resync",
                path.display()
            )));
        }
        let mut options = Options::default();
        options.create_if_missing(true);
        options.create_missing_column_families(true);
        options.set_max_background_jobs(2);
        options.set_db_write_buffer_size(WRITE_BUFFERS_BYTES);
        // Rarely written columns (meta, blocks) would otherwise keep every log file alive.
        options.set_max_total_wal_size(MAX_WAL_BYTES);
        // Write table files back in steps, so the log's fsync never waits behind a large
        // write-back of compaction output.
        options.set_bytes_per_sync(1 << 20);
        // Hash-table memtables take one writer at a time; the operator writes under its
        // mempool lock anyway.
        options.set_allow_concurrent_memtable_write(false);
        options.set_compression_type(rocksdb::DBCompressionType::Lz4);
        let cache = Cache::new_lru_cache(BLOCK_CACHE_BYTES);
        let families = Column::ALL
            .iter()
            .map(|c| {
                // Index and filter blocks: the UTXO set's stay with each open table, outside
                // the cache. Every input of every submitted transaction is looked up there, and
                // with them in the cache (partitioned or not) a payment cost 12 % more CPU; their
                // size follows the set of unspent outputs, which is state the operator holds
                // anyway. Every other column's live in the block cache, so the memory they take
                // is bounded by the cache however much is stored: kept with the tables, they grew
                // by about 6 bytes per payment stored, without end. They are partitioned into
                // 4 KiB pieces behind a small pinned top level (a lookup, rare in these columns,
                // reads one piece, not a whole filter), take the cache's high-priority half
                // ahead of data blocks, and level 0's stay pinned.
                let mut table = BlockBasedOptions::default();
                table.set_block_cache(&cache);
                if *c != Column::Utxos {
                    table.set_index_type(BlockBasedIndexType::TwoLevelIndexSearch);
                    table.set_partition_filters(true);
                    table.set_metadata_block_size(METADATA_BLOCK_BYTES);
                    table.set_cache_index_and_filter_blocks(true);
                    table.set_cache_index_and_filter_blocks_with_high_priority(true);
                    table.set_pin_top_level_index_and_filter(true);
                    table.set_pin_l0_filter_and_index_blocks_in_cache(true);
                }
                let mut cf = Options::default();
                cf.set_compression_type(rocksdb::DBCompressionType::Lz4);
                match c {
                    Column::TxIndex => {
                        table.set_bloom_filter(10.0, false);
                        cf.set_prefix_extractor(SliceTransform::create_fixed_prefix(8));
                        cf.set_memtable_factory(MemtableFactory::HashSkipList {
                            bucket_count: MEMTABLE_BUCKETS,
                            height: 4,
                            branching_factor: 4,
                        });
                    }
                    Column::Utxos => table.set_bloom_filter(10.0, false),
                    _ => {}
                }
                cf.set_block_based_table_factory(&table);
                ColumnFamilyDescriptor::new(c.name(), cf)
            })
            .collect::<Vec<_>>();
        Ok(if read_only {
            DB::open_cf_descriptors_read_only(&options, path, families, false)?
        } else {
            DB::open_cf_descriptors(&options, path, families)?
        })
    }

    /// The database, for reading and writing.
    fn read(&self) -> RwLockReadGuard<'_, Option<DB>> {
        self.db.read().unwrap_or_else(|e| e.into_inner())
    }

    fn failed(&self) -> MutexGuard<'_, Option<(String, Instant)>> {
        self.failed.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// After a failed write, at most once per [`REOPEN_EVERY`]: closes the database and opens
    /// it for writing again (read-only when that fails). Returns why writes are still refused.
    fn reopen_if_failed(&self) -> Option<String> {
        // One writer at a time gets here while the store is failed: the lock is held through
        // the reopen.
        let mut failed = self.failed();
        let (why, at) = failed.clone()?;
        if at.elapsed() < REOPEN_EVERY {
            return Some(why);
        }
        let mut db = self.db.write().unwrap_or_else(|e| e.into_inner());
        // The one handle on the path must be closed before it is opened again.
        *db = None;
        match Self::open_db(&self.path, false) {
            Ok(opened) => {
                tracing::warn!(target: "operator::store", path = %self.path.display(), "store writable again: reopened after a failed write");
                *db = Some(opened);
                *failed = None;
                None
            }
            Err(e) => {
                *db = Self::open_db(&self.path, true).ok();
                *failed = Some((why.clone(), Instant::now()));
                Some(format!("{why} (reopening for writes failed: {e})"))
            }
        }
    }
}

/// The handle of `column` in `db`.
fn cf(db: &DB, column: Column) -> StoreResult<&ColumnFamily> {
    db.cf_handle(column.name()).ok_or(StoreError::Corrupt {
        column: column.name(),
        what: "column family missing".into(),
    })
}

/// The open database in `guard`.
fn opened(guard: &Option<DB>) -> StoreResult<&DB> {
    guard.as_ref().ok_or_else(|| {
        StoreError::Unavailable(
            "the database is closed after a failed write and could not be opened again".into(),
        )
    })
}

impl Store for RocksStore {
    fn get(&self, column: Column, key: &[u8]) -> StoreResult<Option<Vec<u8>>> {
        let guard = self.read();
        let db = opened(&guard)?;
        Ok(db.get_cf(cf(db, column)?, key)?)
    }

    fn write(&self, batch: Batch) -> StoreResult<()> {
        if let Some(why) = self.reopen_if_failed() {
            self.write_failures.fetch_add(1, Ordering::Relaxed);
            return Err(StoreError::Unavailable(why));
        }
        // The read side is let go before `failed` is taken: a reopen takes them the other way.
        let result = {
            let guard = self.read();
            Self::write_to(opened(&guard)?, batch, self.sync)
        };
        if let Err(e) = &result {
            self.write_failures.fetch_add(1, Ordering::Relaxed);
            let mut failed = self.failed();
            if failed.is_none() {
                tracing::error!(target: "operator::store", error = %e, "store write failed: writes are refused until the store can write again (tried every second)");
                *failed = Some((e.to_string(), Instant::now()));
            }
            return Err(StoreError::Unavailable(e.to_string()));
        }
        result
    }

    fn scan(
        &self,
        column: Column,
        prefix: &[u8],
        from: &[u8],
        limit: usize,
    ) -> StoreResult<Vec<(Vec<u8>, Vec<u8>)>> {
        let guard = self.read();
        let db = opened(&guard)?;
        let start = if from > prefix { from } else { prefix };
        let iter = db.iterator_cf_opt(
            cf(db, column)?,
            total_order(),
            IteratorMode::From(start, Direction::Forward),
        );
        let mut out = Vec::new();
        for item in iter {
            if out.len() >= limit {
                break;
            }
            let (key, value) = item?;
            if !key.starts_with(prefix) {
                break;
            }
            out.push((key.into_vec(), value.into_vec()));
        }
        Ok(out)
    }

    fn last(&self, column: Column, prefix: &[u8]) -> StoreResult<Option<(Vec<u8>, Vec<u8>)>> {
        let guard = self.read();
        let db = opened(&guard)?;
        let mut read = total_order();
        if let Some(upper) = prefix_upper_bound(prefix) {
            read.set_iterate_upper_bound(upper);
        }
        let mut iter = db.raw_iterator_cf_opt(cf(db, column)?, read);
        iter.seek_to_last();
        if iter.valid()
            && let (Some(key), Some(value)) = (iter.key(), iter.value())
            && key.starts_with(prefix)
        {
            return Ok(Some((key.to_vec(), value.to_vec())));
        }
        iter.status()?;
        Ok(None)
    }

    fn floor(&self, column: Column, key: &[u8]) -> StoreResult<Option<(Vec<u8>, Vec<u8>)>> {
        let guard = self.read();
        let db = opened(&guard)?;
        let mut iter = db.raw_iterator_cf_opt(cf(db, column)?, total_order());
        iter.seek_for_prev(key);
        if iter.valid()
            && let (Some(found), Some(value)) = (iter.key(), iter.value())
        {
            return Ok(Some((found.to_vec(), value.to_vec())));
        }
        iter.status()?;
        Ok(None)
    }

    fn write_failures(&self) -> u64 {
        RocksStore::write_failures(self)
    }

    fn memory(&self) -> Option<StoreMemory> {
        let guard = self.read();
        let db = guard.as_ref()?;
        let property = |column: Column, name: &str| {
            cf(db, column)
                .ok()
                .and_then(|handle| db.property_int_value_cf(handle, name).ok().flatten())
                .unwrap_or(0)
        };
        let summed = |name: &str| Column::ALL.iter().map(|&c| property(c, name)).sum();
        // One cache is shared by every column: any column reports all of it.
        Some(StoreMemory {
            table_readers: summed("rocksdb.estimate-table-readers-mem"),
            memtables: summed("rocksdb.cur-size-all-mem-tables"),
            block_cache: property(Column::ALL[0], "rocksdb.block-cache-usage"),
            block_cache_pinned: property(Column::ALL[0], "rocksdb.block-cache-pinned-usage"),
        })
    }
}

impl RocksStore {
    fn write_to(db: &DB, batch: Batch, sync: bool) -> StoreResult<()> {
        let mut handles = Vec::with_capacity(Column::ALL.len());
        for column in Column::ALL {
            handles.push(cf(db, column)?);
        }
        let mut write = WriteBatch::default();
        for op in batch.sorted_ops() {
            match op {
                Op::Put(column, key, value) => write.put_cf(handles[column.index()], key, value),
                Op::Delete(column, key) => write.delete_cf(handles[column.index()], key),
            }
        }
        let mut options = WriteOptions::default();
        options.set_sync(sync);
        db.write_opt(write, &options)?;
        Ok(())
    }
}

/// Read options for iterators that must see every key in order, whatever the column's prefix
/// extractor.
fn total_order() -> ReadOptions {
    let mut read = ReadOptions::default();
    read.set_total_order_seek(true);
    read
}

/// The least key greater than every key starting with `prefix` (`None`: no bound).
fn prefix_upper_bound(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut upper = prefix.to_vec();
    while let Some(last) = upper.pop() {
        if last < u8::MAX {
            upper.push(last + 1);
            return Some(upper);
        }
    }
    None
}
