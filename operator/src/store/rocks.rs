//! The RocksDB [`Store`].

use std::path::Path;

use rocksdb::{
    ColumnFamilyDescriptor, DB, Direction, IteratorMode, Options, ReadOptions, WriteBatch,
    WriteOptions,
};

use super::{Batch, Column, Op, Store, StoreError, StoreResult};

/// A [`Store`] in RocksDB, one column family per [`Column`].
///
/// Every batch goes through the write-ahead log; with `sync` (the default of the daemon) the log
/// is fsynced before [`Store::write`] returns, so a written batch survives a power loss, not only
/// a process crash.
pub struct RocksStore {
    db: DB,
    sync: bool,
}

impl std::fmt::Debug for RocksStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RocksStore")
            .field("path", &self.db.path())
            .field("sync", &self.sync)
            .finish()
    }
}

impl RocksStore {
    /// Opens (or creates) the database at `path`.
    pub fn open(path: &Path, sync: bool) -> StoreResult<Self> {
        let mut options = Options::default();
        options.create_if_missing(true);
        options.create_missing_column_families(true);
        options.set_compression_type(rocksdb::DBCompressionType::Lz4);
        let families = Column::ALL
            .iter()
            .map(|c| {
                let mut cf = Options::default();
                cf.set_compression_type(rocksdb::DBCompressionType::Lz4);
                ColumnFamilyDescriptor::new(c.name(), cf)
            })
            .collect::<Vec<_>>();
        let db = DB::open_cf_descriptors(&options, path, families)?;
        Ok(Self { db, sync })
    }

    fn cf(&self, column: Column) -> StoreResult<&rocksdb::ColumnFamily> {
        self.db.cf_handle(column.name()).ok_or(StoreError::Corrupt {
            column: column.name(),
            what: "column family missing".into(),
        })
    }
}

impl Store for RocksStore {
    fn get(&self, column: Column, key: &[u8]) -> StoreResult<Option<Vec<u8>>> {
        Ok(self.db.get_cf(self.cf(column)?, key)?)
    }

    fn write(&self, batch: Batch) -> StoreResult<()> {
        let mut write = WriteBatch::default();
        for op in batch.ops {
            match op {
                Op::Put(column, key, value) => write.put_cf(self.cf(column)?, key, value),
                Op::Delete(column, key) => write.delete_cf(self.cf(column)?, key),
            }
        }
        let mut options = WriteOptions::default();
        options.set_sync(self.sync);
        self.db.write_opt(write, &options)?;
        Ok(())
    }

    fn scan(
        &self,
        column: Column,
        prefix: &[u8],
        from: &[u8],
        limit: usize,
    ) -> StoreResult<Vec<(Vec<u8>, Vec<u8>)>> {
        let start = if from > prefix { from } else { prefix };
        let iter = self.db.iterator_cf(
            self.cf(column)?,
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
        let cf = self.cf(column)?;
        let mut read = ReadOptions::default();
        let upper = prefix_upper_bound(prefix);
        let mut iter = match upper {
            Some(upper) => {
                read.set_iterate_upper_bound(upper);
                self.db.raw_iterator_cf_opt(cf, read)
            }
            None => self.db.raw_iterator_cf_opt(cf, read),
        };
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
