//! The typed view of the store the operator works with.

use std::sync::Arc;

use alloy::primitives::B256;
use plasma_core::{Block, Output, SignedTransaction, UtxoPos, UtxoState};

use super::records::{
    self, BlockBody, BlockHeader, BlockRecord, IndexEntry, JournalEntry, RawBlock, SeqRun,
    SubmitIntent, UtxoRecord, meta,
};
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

/// Where a stored transaction is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Location {
    /// Stored with this sequence number and in no block yet.
    Pending(u64),
    /// In block `blknum` at `index`.
    Included {
        /// The block.
        blknum: u64,
        /// The index in the block.
        index: u32,
    },
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

    /// Writes the store refused since it opened.
    pub fn write_failures(&self) -> u64 {
        self.store.write_failures()
    }

    /// What the store holds in memory now, where it can say.
    pub fn memory(&self) -> Option<super::StoreMemory> {
        self.store.memory()
    }

    /// The raw value at `key` of `column` (for records other modules own).
    pub(crate) fn raw_get(&self, column: Column, key: &[u8]) -> StoreResult<Option<Vec<u8>>> {
        self.store.get(column, key)
    }

    /// Up to `limit` raw entries of `column` under `prefix`, from `from` on.
    pub(crate) fn raw_scan(
        &self,
        column: Column,
        prefix: &[u8],
        from: &[u8],
        limit: usize,
    ) -> StoreResult<Vec<(Vec<u8>, Vec<u8>)>> {
        self.store.scan(column, prefix, from, limit)
    }

    /// The L1 journal's entry for the range ending at L1 block `to`.
    pub fn l1_journal(&self, to: u64) -> StoreResult<Option<JournalEntry>> {
        self.store
            .get(Column::Meta, &meta::l1_journal_key(to))?
            .map(|v| JournalEntry::decode(&v).map_err(corrupt(Column::Meta)))
            .transpose()
    }

    /// The newest entry of the L1 journal with an end block below `below` (any when `None`),
    /// with that block's number.
    pub fn l1_journal_before(
        &self,
        below: Option<u64>,
    ) -> StoreResult<Option<(u64, JournalEntry)>> {
        let found = match below {
            None => self.store.last(Column::Meta, meta::L1_JOURNAL)?,
            Some(0) => None,
            Some(n) => self
                .store
                .floor(Column::Meta, &meta::l1_journal_key(n - 1))?
                .filter(|(k, _)| k.starts_with(meta::L1_JOURNAL)),
        };
        found
            .map(|(k, v)| {
                let to = records::read_u64(&k[meta::L1_JOURNAL.len()..]);
                let entry = JournalEntry::decode(&v);
                to.and_then(|to| entry.map(|e| (to, e)))
                    .map_err(corrupt(Column::Meta))
            })
            .transpose()
    }

    /// The end blocks of the L1 journal's entries from `from` on, oldest first, at most
    /// `limit`.
    pub fn l1_journal_blocks(&self, from: u64, limit: usize) -> StoreResult<Vec<u64>> {
        self.store
            .scan(
                Column::Meta,
                meta::L1_JOURNAL,
                &meta::l1_journal_key(from),
                limit,
            )?
            .into_iter()
            .map(|(k, _)| {
                records::read_u64(&k[meta::L1_JOURNAL.len()..]).map_err(corrupt(Column::Meta))
            })
            .collect()
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

    /// The first sequence number not in any block.
    pub fn pending_from(&self) -> StoreResult<u64> {
        Ok(self.meta_u64(meta::PENDING_FROM)?.unwrap_or(0))
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

    /// Records the commitment in flight, durably, before it is broadcast.
    pub fn put_submit_intent(&self, intent: &SubmitIntent) -> StoreResult<()> {
        let mut batch = Batch::new();
        batch.put(Column::Meta, meta::SUBMIT_INTENT, intent.encode());
        self.write(batch)
    }

    /// Forgets the commitment in flight (its block is committed).
    pub fn clear_submit_intent(&self) -> StoreResult<()> {
        let mut batch = Batch::new();
        batch.delete(Column::Meta, meta::SUBMIT_INTENT);
        self.write(batch)
    }

    /// A block's record: header and where its transactions are.
    pub fn block_record(&self, blknum: u64) -> StoreResult<Option<BlockRecord>> {
        self.store
            .get(Column::Blocks, &records::u64_bytes(blknum))?
            .map(|v| BlockRecord::decode(&v).map_err(corrupt(Column::Blocks)))
            .transpose()
    }

    /// A block's header.
    pub fn block_header(&self, blknum: u64) -> StoreResult<Option<BlockHeader>> {
        Ok(self.block_record(blknum)?.map(|r| r.header))
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
        self.raw_block(blknum)?.map(Self::decode_block).transpose()
    }

    /// A block read with [`Db::raw_block`], its transactions decoded.
    pub fn decode_block(raw: RawBlock) -> StoreResult<Block> {
        let column = if raw.is_deposit {
            Column::Blocks
        } else {
            Column::Txs
        };
        let transactions = raw
            .transactions
            .iter()
            .map(|tx| records::decode_signed(tx).map_err(corrupt(column)))
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(Block {
            blknum: raw.blknum,
            root: raw.header.root,
            timestamp: raw.header.timestamp,
            transactions,
        })
    }

    /// A whole block with its transactions as stored ([`records::encode_signed`] bytes), not
    /// decoded: what a page of blocks copies out as it is.
    pub fn raw_block(&self, blknum: u64) -> StoreResult<Option<RawBlock>> {
        self.block_record(blknum)?
            .map(|record| self.raw_block_of(blknum, record))
            .transpose()
    }

    /// [`Db::raw_block`] of block `blknum` whose record is already read.
    pub fn raw_block_of(&self, blknum: u64, record: BlockRecord) -> StoreResult<RawBlock> {
        let (transactions, is_deposit) = match record.body {
            BlockBody::Deposit(tx) => (vec![tx], true),
            BlockBody::Runs(runs) => (self.run_txs(blknum, &runs, record.header.tx_count)?, false),
            BlockBody::RunsAndClaim(runs, claim) => {
                let mut transactions = self.run_txs(blknum, &runs, record.header.tx_count)?;
                transactions.push(claim);
                (transactions, false)
            }
        };
        Ok(RawBlock {
            blknum,
            header: record.header,
            is_deposit,
            transactions,
        })
    }

    /// The stored bytes of the transactions in `runs` of block `blknum`, in order (room for
    /// `tx_count`).
    fn run_txs(&self, blknum: u64, runs: &[SeqRun], tx_count: u32) -> StoreResult<Vec<Vec<u8>>> {
        let mut transactions = Vec::with_capacity(tx_count as usize);
        for run in runs {
            let rows = self.store.scan(
                Column::Txs,
                &[],
                &records::u64_bytes(run.first),
                run.len as usize,
            )?;
            let found = rows.len();
            for (expected, (key, value)) in (run.first..).zip(rows) {
                if records::read_u64(&key).ok() != Some(expected) {
                    return Err(StoreError::Corrupt {
                        column: Column::Txs.name(),
                        what: format!("block {blknum} lacks transaction seq {expected}"),
                    });
                }
                transactions.push(value);
            }
            if found != run.len as usize {
                return Err(StoreError::Corrupt {
                    column: Column::Txs.name(),
                    what: format!("block {blknum} lacks transactions of its last run"),
                });
            }
        }
        Ok(transactions)
    }

    /// The transaction with sequence number `seq`.
    pub fn tx_by_seq(&self, seq: u64) -> StoreResult<Option<SignedTransaction>> {
        self.store
            .get(Column::Txs, &records::u64_bytes(seq))?
            .map(|v| records::decode_signed(&v).map_err(corrupt(Column::Txs)))
            .transpose()
    }

    /// Transaction `index` of block `blknum`.
    pub fn block_tx(&self, blknum: u64, index: u32) -> StoreResult<Option<SignedTransaction>> {
        let Some(record) = self.block_record(blknum)? else {
            return Ok(None);
        };
        match &record.body {
            BlockBody::Deposit(tx) if index == 0 => Ok(Some(
                records::decode_signed(tx).map_err(corrupt(Column::Blocks))?,
            )),
            BlockBody::Deposit(_) => Ok(None),
            BlockBody::RunsAndClaim(_, claim)
                if index.checked_add(1) == Some(record.header.tx_count) =>
            {
                Ok(Some(
                    records::decode_signed(claim).map_err(corrupt(Column::Blocks))?,
                ))
            }
            BlockBody::Runs(_) | BlockBody::RunsAndClaim(..) => match record.seq_of(index) {
                Some(seq) => self.tx_by_seq(seq),
                None => Ok(None),
            },
        }
    }

    /// The operator block holding sequence number `seq`, and its index there.
    pub fn locate_seq(&self, seq: u64) -> StoreResult<Option<(u64, u32)>> {
        let Some((_, value)) = self
            .store
            .floor(Column::SeqBlocks, &records::u64_bytes(seq))?
        else {
            return Ok(None);
        };
        let blknum = records::read_u64(&value).map_err(corrupt(Column::SeqBlocks))?;
        let Some(record) = self.block_record(blknum)? else {
            return Err(StoreError::Corrupt {
                column: Column::SeqBlocks.name(),
                what: format!("names block {blknum}, which is not stored"),
            });
        };
        Ok(record.index_of(seq).map(|index| (blknum, index)))
    }

    /// Where the transaction `hash` is, if it is stored.
    pub fn tx_location(&self, hash: &B256) -> StoreResult<Option<Location>> {
        let Some(entry) = self
            .store
            .get(Column::TxIndex, hash.as_slice())?
            .map(|v| IndexEntry::decode(&v).map_err(corrupt(Column::TxIndex)))
            .transpose()?
        else {
            return Ok(None);
        };
        Ok(Some(match entry {
            IndexEntry::At { blknum, index } => Location::Included { blknum, index },
            IndexEntry::Seq(seq) if seq >= self.pending_from()? => Location::Pending(seq),
            IndexEntry::Seq(seq) => match self.locate_seq(seq)? {
                Some((blknum, index)) => Location::Included { blknum, index },
                None => {
                    return Err(StoreError::Corrupt {
                        column: Column::TxIndex.name(),
                        what: format!("transaction {hash} (seq {seq}) is in no block"),
                    });
                }
            },
        }))
    }

    /// The transaction `hash` with where it is.
    pub fn transaction(&self, hash: &B256) -> StoreResult<Option<(Location, SignedTransaction)>> {
        let Some(location) = self.tx_location(hash)? else {
            return Ok(None);
        };
        let tx = match location {
            Location::Pending(seq) => self.tx_by_seq(seq)?,
            Location::Included { blknum, index } => self.block_tx(blknum, index)?,
        };
        Ok(tx.map(|tx| (location, tx)))
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

    /// The whole UTXO set, ascending by position.
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

    /// The stored transactions from sequence number `from` on, ascending.
    pub fn txs_from(&self, from: u64) -> StoreResult<Vec<(u64, SignedTransaction)>> {
        self.store
            .scan(Column::Txs, &[], &records::u64_bytes(from), usize::MAX)?
            .into_iter()
            .map(|(k, v)| {
                let seq = records::read_u64(&k).map_err(corrupt(Column::Txs))?;
                let tx = records::decode_signed(&v).map_err(corrupt(Column::Txs))?;
                Ok((seq, tx))
            })
            .collect()
    }

    // ---- batch helpers -------------------------------------------------------------------

    /// Adds an accepted transaction, and its index entry, to `batch`.
    pub fn put_tx(batch: &mut Batch, seq: u64, tx: &SignedTransaction) {
        batch.put(
            Column::Txs,
            records::u64_bytes(seq),
            records::encode_signed(tx),
        );
        batch.put(
            Column::TxIndex,
            tx.hash().as_slice(),
            IndexEntry::Seq(seq).encode(),
        );
    }

    /// Removes a pending transaction (never one in a block) in `batch`.
    pub fn delete_tx(batch: &mut Batch, seq: u64, hash: &B256) {
        batch.delete(Column::Txs, records::u64_bytes(seq));
        batch.delete(Column::TxIndex, hash.as_slice());
    }

    /// Adds an operator block whose transactions are the stored ones with the sequence numbers
    /// in `runs`, then `fee_claim` if there is one (with its index entry), to `batch`, and
    /// moves the start of the pending transactions past them. The UTXO changes are separate.
    pub fn put_operator_block(
        batch: &mut Batch,
        blknum: u64,
        header: BlockHeader,
        runs: Vec<SeqRun>,
        fee_claim: Option<&SignedTransaction>,
    ) {
        if let (Some(first), Some(last)) = (runs.first(), runs.last()) {
            batch.put(
                Column::SeqBlocks,
                records::u64_bytes(first.first),
                records::u64_bytes(blknum),
            );
            Self::put_meta_u64(batch, meta::PENDING_FROM, last.first + u64::from(last.len));
        }
        let body = match fee_claim {
            Some(claim) => {
                batch.put(
                    Column::TxIndex,
                    claim.hash().as_slice(),
                    IndexEntry::At {
                        blknum,
                        index: header.tx_count.saturating_sub(1),
                    }
                    .encode(),
                );
                BlockBody::RunsAndClaim(runs, records::encode_signed(claim))
            }
            None => BlockBody::Runs(runs),
        };
        let record = BlockRecord { header, body };
        batch.put(Column::Blocks, records::u64_bytes(blknum), record.encode());
    }

    /// Adds a deposit block (its one transaction inside its record) and its index entry to
    /// `batch`. The UTXO change is separate.
    pub fn put_deposit_block(batch: &mut Batch, block: &Block) {
        let Some(tx) = block.transactions.first() else {
            return;
        };
        let record = BlockRecord {
            header: BlockHeader {
                root: block.root,
                timestamp: block.timestamp,
                tx_count: 1,
            },
            body: BlockBody::Deposit(records::encode_signed(tx)),
        };
        batch.put(
            Column::Blocks,
            records::u64_bytes(block.blknum),
            record.encode(),
        );
        batch.put(
            Column::TxIndex,
            tx.hash().as_slice(),
            IndexEntry::At {
                blknum: block.blknum,
                index: 0,
            }
            .encode(),
        );
    }

    /// Rewrites a stored block's record (e.g. its L1 timestamp) in `batch`.
    pub fn put_block_record(batch: &mut Batch, blknum: u64, record: &BlockRecord) {
        batch.put(Column::Blocks, records::u64_bytes(blknum), record.encode());
    }

    /// Adds an output to the UTXO set in `batch`.
    pub fn put_utxo(batch: &mut Batch, pos: UtxoPos, record: &UtxoRecord) {
        batch.put(
            Column::Utxos,
            records::u64_bytes(pos.as_u64()),
            record.encode(),
        );
    }

    /// Removes an output from the UTXO set in `batch`.
    pub fn delete_utxo(batch: &mut Batch, pos: UtxoPos) {
        batch.delete(Column::Utxos, records::u64_bytes(pos.as_u64()));
    }

    /// Sets a `u64` metadata entry in `batch`.
    pub fn put_meta_u64(batch: &mut Batch, key: &[u8], value: u64) {
        batch.put(Column::Meta, key, records::u64_bytes(value));
    }
}
