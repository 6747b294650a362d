//! The typed view of the store the operator works with.

use std::sync::Arc;

use alloy::primitives::{Address, B256};
use plasma_core::{Block, Output, SignedTransaction, UtxoPos, UtxoState};

use super::records::{self, BlockHeader, SubmitIntent, UtxoRecord, meta};
use super::{Batch, Column, Store, StoreError, StoreResult};

/// Typed reads of the store, and the writes that belong together as batch helpers.
#[derive(Clone)]
pub struct Db {
    store: Arc<dyn Store>,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db").finish_non_exhaustive()
    }
}

fn corrupt(column: Column) -> impl FnOnce(records::RecordError) -> StoreError {
    move |e| StoreError::Corrupt {
        column: column.name(),
        what: e.0,
    }
}

impl Db {
    /// Wraps a store.
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self { store }
    }

    /// Writes a batch atomically.
    pub fn write(&self, batch: Batch) -> StoreResult<()> {
        self.store.write(batch)
    }

    /// A `u64` metadata entry.
    pub fn meta_u64(&self, key: &[u8]) -> StoreResult<Option<u64>> {
        self.store
            .get(Column::Meta, key)?
            .map(|v| records::read_u64(&v).map_err(corrupt(Column::Meta)))
            .transpose()
    }

    /// The number the next operator block gets.
    pub fn next_block(&self) -> StoreResult<u64> {
        Ok(self
            .meta_u64(meta::NEXT_BLOCK)?
            .unwrap_or(plasma_core::CHILD_BLOCK_INTERVAL))
    }

    /// The highest operator block known committed on L1 (0: none).
    pub fn committed(&self) -> StoreResult<u64> {
        Ok(self.meta_u64(meta::COMMITTED)?.unwrap_or(0))
    }

    /// The submitter's in-flight commitment.
    pub fn submit_intent(&self) -> StoreResult<Option<SubmitIntent>> {
        self.store
            .get(Column::Meta, meta::SUBMIT_INTENT)?
            .map(|v| SubmitIntent::decode(&v).map_err(corrupt(Column::Meta)))
            .transpose()
    }

    /// A block's header.
    pub fn block_header(&self, blknum: u64) -> StoreResult<Option<BlockHeader>> {
        self.store
            .get(Column::Blocks, &records::u64_bytes(blknum))?
            .map(|v| BlockHeader::decode(&v).map_err(corrupt(Column::Blocks)))
            .transpose()
    }

    /// Up to `limit` block numbers from `from` on, ascending.
    pub fn block_numbers(&self, from: u64, limit: usize) -> StoreResult<Vec<u64>> {
        self.store
            .scan(Column::Blocks, &[], &records::u64_bytes(from), limit)?
            .into_iter()
            .map(|(k, _)| records::read_u64(&k).map_err(corrupt(Column::Blocks)))
            .collect()
    }

    /// The highest stored block number (operator or deposit).
    pub fn latest_block(&self) -> StoreResult<Option<u64>> {
        self.store
            .last(Column::Blocks, &[])?
            .map(|(k, _)| records::read_u64(&k).map_err(corrupt(Column::Blocks)))
            .transpose()
    }

    /// A whole block.
    pub fn block(&self, blknum: u64) -> StoreResult<Option<Block>> {
        let Some(header) = self.block_header(blknum)? else {
            return Ok(None);
        };
        let prefix = records::u64_bytes(blknum);
        let transactions = self
            .store
            .scan(Column::BlockTxs, &prefix, &prefix, usize::MAX)?
            .into_iter()
            .map(|(_, v)| records::decode_signed(&v).map_err(corrupt(Column::BlockTxs)))
            .collect::<StoreResult<Vec<_>>>()?;
        if transactions.len() != header.tx_count as usize {
            return Err(StoreError::Corrupt {
                column: Column::BlockTxs.name(),
                what: format!(
                    "block {blknum} has {} transactions, header says {}",
                    transactions.len(),
                    header.tx_count
                ),
            });
        }
        Ok(Some(Block {
            blknum,
            root: header.root,
            timestamp: header.timestamp,
            transactions,
        }))
    }

    /// Transaction `index` of block `blknum`.
    pub fn block_tx(&self, blknum: u64, index: u32) -> StoreResult<Option<SignedTransaction>> {
        self.store
            .get(Column::BlockTxs, &records::block_tx_key(blknum, index))?
            .map(|v| records::decode_signed(&v).map_err(corrupt(Column::BlockTxs)))
            .transpose()
    }

    /// Where a transaction was included: `(blknum, txIndex)`.
    pub fn tx_location(&self, hash: &B256) -> StoreResult<Option<(u64, u32)>> {
        self.store
            .get(Column::TxIndex, hash.as_slice())?
            .map(|v| records::read_block_tx_key(&v).map_err(corrupt(Column::TxIndex)))
            .transpose()
    }

    /// An output of the UTXO set.
    pub fn utxo(&self, pos: UtxoPos) -> StoreResult<Option<UtxoRecord>> {
        self.store
            .get(Column::Utxos, &records::u64_bytes(pos.as_u64()))?
            .map(|v| UtxoRecord::decode(&v).map_err(corrupt(Column::Utxos)))
            .transpose()
    }

    /// The output created at `pos` by a stored block, whether spent or not.
    pub fn created_output(&self, pos: UtxoPos) -> StoreResult<Option<Output>> {
        let Ok(index) = u32::try_from(pos.tx_index()) else {
            return Ok(None);
        };
        Ok(self.block_tx(pos.blknum(), index)?.and_then(|tx| {
            usize::try_from(pos.output_index())
                .ok()
                .and_then(|i| tx.tx().outputs.get(i).copied())
        }))
    }

    /// The state of `pos` in the stored UTXO set (pending spends not included): an output
    /// created by a stored block that is no longer in the set is spent (or exited).
    pub fn utxo_state(&self, pos: UtxoPos) -> StoreResult<UtxoState> {
        if let Some(record) = self.utxo(pos)? {
            return Ok(if record.exiting {
                UtxoState::Exiting(record.output)
            } else {
                UtxoState::Unspent(record.output)
            });
        }
        Ok(match self.created_output(pos)? {
            Some(_) => UtxoState::Spent,
            None => UtxoState::Unknown,
        })
    }

    /// Every output of `owner` in the UTXO set, ascending by position.
    pub fn owner_utxos(&self, owner: Address) -> StoreResult<Vec<(UtxoPos, UtxoRecord)>> {
        let mut out = Vec::new();
        for (key, _) in self
            .store
            .scan(Column::OwnerUtxos, owner.as_slice(), &[], usize::MAX)?
        {
            let pos = records::read_owner_key(&key).map_err(corrupt(Column::OwnerUtxos))?;
            if let Some(record) = self.utxo(pos)? {
                out.push((pos, record));
            }
        }
        Ok(out)
    }

    /// The whole UTXO set, ascending by position (for checks and tests).
    pub fn all_utxos(&self) -> StoreResult<Vec<(UtxoPos, UtxoRecord)>> {
        self.store
            .scan(Column::Utxos, &[], &[], usize::MAX)?
            .into_iter()
            .map(|(k, v)| {
                let pos = records::read_u64(&k)
                    .ok()
                    .and_then(|p| UtxoPos::from_u64(p).ok())
                    .ok_or_else(|| StoreError::Corrupt {
                        column: Column::Utxos.name(),
                        what: "bad key".into(),
                    })?;
                Ok((pos, UtxoRecord::decode(&v).map_err(corrupt(Column::Utxos))?))
            })
            .collect()
    }

    /// The pending transactions, in arrival order, with their sequence numbers.
    pub fn pending(&self) -> StoreResult<Vec<(u64, SignedTransaction)>> {
        self.store
            .scan(Column::Pending, &[], &[], usize::MAX)?
            .into_iter()
            .map(|(k, v)| {
                let seq = records::read_u64(&k).map_err(corrupt(Column::Pending))?;
                let tx = records::decode_signed(&v).map_err(corrupt(Column::Pending))?;
                Ok((seq, tx))
            })
            .collect()
    }

    // ---- batch helpers -------------------------------------------------------------------

    /// Adds a block (header, transactions, index) to `batch`. The UTXO changes are separate.
    pub fn put_block(batch: &mut Batch, block: &Block) {
        let header = BlockHeader {
            root: block.root,
            timestamp: block.timestamp,
            tx_count: u32::try_from(block.transactions.len()).unwrap_or(u32::MAX),
        };
        batch.put(
            Column::Blocks,
            records::u64_bytes(block.blknum),
            header.encode(),
        );
        for (index, tx) in (0u32..).zip(&block.transactions) {
            let key = records::block_tx_key(block.blknum, index);
            batch.put(Column::BlockTxs, key.clone(), records::encode_signed(tx));
            batch.put(Column::TxIndex, tx.hash().as_slice().to_vec(), key);
        }
    }

    /// Updates a stored block's header (its L1 timestamp) in `batch`.
    pub fn put_block_header(batch: &mut Batch, blknum: u64, header: &BlockHeader) {
        batch.put(Column::Blocks, records::u64_bytes(blknum), header.encode());
    }

    /// Adds an output to the UTXO set in `batch`.
    pub fn put_utxo(batch: &mut Batch, pos: UtxoPos, record: &UtxoRecord) {
        batch.put(
            Column::Utxos,
            records::u64_bytes(pos.as_u64()),
            record.encode(),
        );
        batch.put(
            Column::OwnerUtxos,
            records::owner_key(record.output.owner, pos),
            Vec::new(),
        );
    }

    /// Removes an output from the UTXO set in `batch`.
    pub fn delete_utxo(batch: &mut Batch, pos: UtxoPos, owner: Address) {
        batch.delete(Column::Utxos, records::u64_bytes(pos.as_u64()));
        batch.delete(Column::OwnerUtxos, records::owner_key(owner, pos));
    }

    /// Sets a `u64` metadata entry in `batch`.
    pub fn put_meta_u64(batch: &mut Batch, key: &[u8], value: u64) {
        batch.put(Column::Meta, key.to_vec(), records::u64_bytes(value));
    }
}
