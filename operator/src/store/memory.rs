//! An in-memory [`Store`] for unit tests.

use std::collections::BTreeMap;
use std::sync::RwLock;

use super::{Batch, Column, Op, Store, StoreResult};

type Table = BTreeMap<Vec<u8>, Vec<u8>>;

/// A [`Store`] in memory: one ordered map per column behind a lock, so a batch is atomic.
#[derive(Debug, Default)]
pub struct MemoryStore {
    tables: RwLock<BTreeMap<Column, Table>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Store for MemoryStore {
    fn get(&self, column: Column, key: &[u8]) -> StoreResult<Option<Vec<u8>>> {
        let tables = self.tables.read().unwrap_or_else(|e| e.into_inner());
        Ok(tables.get(&column).and_then(|t| t.get(key)).cloned())
    }

    fn write(&self, batch: Batch) -> StoreResult<()> {
        let mut tables = self.tables.write().unwrap_or_else(|e| e.into_inner());
        for op in batch.ops() {
            match op {
                Op::Put(column, key, value) => {
                    tables
                        .entry(column)
                        .or_default()
                        .insert(key.to_vec(), value.to_vec());
                }
                Op::Delete(column, key) => {
                    tables.entry(column).or_default().remove(key);
                }
            }
        }
        Ok(())
    }

    fn scan(
        &self,
        column: Column,
        prefix: &[u8],
        from: &[u8],
        limit: usize,
    ) -> StoreResult<Vec<(Vec<u8>, Vec<u8>)>> {
        let tables = self.tables.read().unwrap_or_else(|e| e.into_inner());
        let Some(table) = tables.get(&column) else {
            return Ok(Vec::new());
        };
        let start = if from > prefix { from } else { prefix };
        Ok(table
            .range(start.to_vec()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .take(limit)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }

    fn last(&self, column: Column, prefix: &[u8]) -> StoreResult<Option<(Vec<u8>, Vec<u8>)>> {
        let tables = self.tables.read().unwrap_or_else(|e| e.into_inner());
        Ok(tables.get(&column).and_then(|table| {
            table
                .range(prefix.to_vec()..)
                .take_while(|(k, _)| k.starts_with(prefix))
                .last()
                .map(|(k, v)| (k.clone(), v.clone()))
        }))
    }

    fn floor(&self, column: Column, key: &[u8]) -> StoreResult<Option<(Vec<u8>, Vec<u8>)>> {
        let tables = self.tables.read().unwrap_or_else(|e| e.into_inner());
        Ok(tables.get(&column).and_then(|table| {
            table
                .range(..=key.to_vec())
                .next_back()
                .map(|(k, v)| (k.clone(), v.clone()))
        }))
    }
}
