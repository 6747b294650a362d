//! The binary form of a page of blocks: `GET /v1/blocks?from=&limit=` answered as
//! [`BLOCKS_MEDIA_TYPE`] when the request accepts it. The same blocks as the JSON page, in a
//! fraction of the bytes and of the parsing: a watcher syncing a chain of millions of
//! transactions reads every one of them.
//!
//! Every integer is big-endian:
//!
//! ```text
//! page        = block_count:u32 block*
//! block       = blknum:u64 root:32 timestamp:u64 tx_count:u32 transaction*
//! transaction = tx_len:u32 tx_bytes sig_count:u8 signature:65*
//! ```
//!
//! `tx_bytes` are the canonical transaction bytes; the signatures are one per input, in input
//! order, as in the JSON form. Nothing follows the last block.
//!
//! A `POST /v1/transactions` body sent as [`TRANSACTIONS_MEDIA_TYPE`] is a batch in the same
//! framing, answered as the JSON batch is (one result per transaction, in order):
//!
//! ```text
//! submission  = tx_count:u32 transaction*
//! ```
//!
//! No JSON and no hex: the operator reads the bytes it stores and the signatures it recovers.

use alloy_primitives::{B256, Bytes};
use plasma_core::signature::SIGNATURE_LEN;
use plasma_core::{Block, SignedTransaction, TxSignature};

use crate::types::{BlockJson, SignedTransactionJson};

/// The media type of a binary page of blocks.
pub const BLOCKS_MEDIA_TYPE: &str = "application/vnd.plasma.blocks";

/// The media type of a binary `POST /v1/transactions` body (a batch).
pub const TRANSACTIONS_MEDIA_TYPE: &str = "application/vnd.plasma.transactions";

/// Why a binary page did not decode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BinaryError {
    /// The page ends inside a field.
    #[error("the page ends inside {field} (at byte {offset})")]
    Truncated {
        /// The field being read.
        field: &'static str,
        /// Where the page ended.
        offset: usize,
    },
    /// Bytes follow the last block.
    #[error("{extra} bytes follow the last block")]
    Trailing {
        /// How many.
        extra: usize,
    },
}

/// The shortest encoded transaction (an empty body and no signature).
const MIN_TX_LEN: usize = 4 + 1;
/// The shortest encoded block (no transactions).
const MIN_BLOCK_LEN: usize = 8 + 32 + 8 + 4;

/// The binary page of `blocks` (the operator's).
pub fn encode_blocks<'a>(blocks: impl IntoIterator<Item = &'a Block>) -> Vec<u8> {
    let blocks: Vec<&Block> = blocks.into_iter().collect();
    encode(blocks.iter().map(|b| {
        (
            (b.blknum, b.root, b.timestamp),
            b.transactions
                .iter()
                .map(|tx| (tx.bytes().as_ref(), Signatures::Parsed(tx.signatures()))),
        )
    }))
}

/// A block as a store keeps it, for [`encode_raw_blocks`]: its transactions not decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawBlock<'a> {
    /// The block number.
    pub blknum: u64,
    /// The Merkle root.
    pub root: B256,
    /// Unix time of the L1 commitment.
    pub timestamp: u64,
    /// Each transaction's canonical bytes and its signatures (65 bytes each, in input order).
    pub transactions: Vec<(&'a [u8], &'a [[u8; SIGNATURE_LEN]])>,
}

/// The binary page of `blocks` whose transactions are bytes as stored: an operator serves a
/// page without decoding the transactions in it.
pub fn encode_raw_blocks(blocks: &[RawBlock<'_>]) -> Vec<u8> {
    encode(blocks.iter().map(|b| {
        (
            (b.blknum, b.root, b.timestamp),
            b.transactions
                .iter()
                .map(|(bytes, sigs)| (*bytes, Signatures::Raw(sigs))),
        )
    }))
}

/// The binary page of `blocks` as JSON bodies hold them (which need not decode: a test's
/// byzantine operator serves anything).
pub fn encode_block_jsons<'a>(blocks: impl IntoIterator<Item = &'a BlockJson>) -> Vec<u8> {
    let blocks: Vec<&BlockJson> = blocks.into_iter().collect();
    encode(blocks.iter().map(|b| {
        (
            (b.blknum, b.root, b.timestamp),
            b.transactions
                .iter()
                .map(|tx| (tx.tx.as_ref(), Signatures::Parsed(&tx.signatures))),
        )
    }))
}

/// The binary submit body of `txs` ([`TRANSACTIONS_MEDIA_TYPE`]).
pub fn encode_transactions(txs: &[SignedTransaction]) -> Vec<u8> {
    encode_submission(
        txs.iter()
            .map(|tx| (tx.bytes().as_ref(), Signatures::Parsed(tx.signatures()))),
    )
}

/// The binary submit body of transactions as JSON bodies hold them (which need not decode: a
/// test sends what no signer would).
pub fn encode_transaction_jsons(txs: &[SignedTransactionJson]) -> Vec<u8> {
    encode_submission(
        txs.iter()
            .map(|tx| (tx.tx.as_ref(), Signatures::Parsed(&tx.signatures))),
    )
}

fn encode_submission<'a>(
    txs: impl ExactSizeIterator<Item = (&'a [u8], Signatures<'a>)> + Clone,
) -> Vec<u8> {
    let size: usize = txs
        .clone()
        .map(|(bytes, sigs)| MIN_TX_LEN + bytes.len() + SIGNATURE_LEN * sigs.count())
        .sum();
    let mut out = Vec::with_capacity(4 + size);
    out.extend_from_slice(&len_u32(txs.len()).to_be_bytes());
    for (bytes, signatures) in txs {
        put_transaction(&mut out, bytes, signatures);
    }
    out
}

/// One transaction of a submit body, framed but not decoded: its bytes (a slice of the body)
/// and its signatures.
pub type FramedTransaction<'a> = (&'a [u8], Vec<TxSignature>);

/// Reads the framing of a binary submit body: each transaction's bytes and signatures, not
/// decoded (the request layer decodes each on its own, so one bad transaction is reported in
/// its place). The count is returned as written, whatever it is; at most as many transactions
/// are read as the body holds.
pub fn decode_transactions(body: &[u8]) -> Result<(u32, Vec<FramedTransaction<'_>>), BinaryError> {
    let mut reader = Reader {
        page: body,
        offset: 0,
    };
    let count = reader.u32("the transaction count")?;
    let mut transactions = Vec::with_capacity((count as usize).min(reader.left() / MIN_TX_LEN));
    for _ in 0..count {
        transactions.push(reader.transaction()?);
    }
    match reader.left() {
        0 => Ok((count, transactions)),
        extra => Err(BinaryError::Trailing { extra }),
    }
}

/// The page of blocks given as (header, transactions as (bytes, signatures)).
fn encode<'a, B, T>(blocks: B) -> Vec<u8>
where
    B: ExactSizeIterator<Item = ((u64, B256, u64), T)> + Clone,
    T: ExactSizeIterator<Item = (&'a [u8], Signatures<'a>)>,
{
    let size: usize = blocks
        .clone()
        .map(|(_, txs)| {
            MIN_BLOCK_LEN
                + txs
                    .map(|(bytes, sigs)| MIN_TX_LEN + bytes.len() + SIGNATURE_LEN * sigs.count())
                    .sum::<usize>()
        })
        .sum();
    let mut out = Vec::with_capacity(4 + size);
    out.extend_from_slice(&len_u32(blocks.len()).to_be_bytes());
    for ((blknum, root, timestamp), txs) in blocks {
        out.extend_from_slice(&blknum.to_be_bytes());
        out.extend_from_slice(root.as_slice());
        out.extend_from_slice(&timestamp.to_be_bytes());
        out.extend_from_slice(&len_u32(txs.len()).to_be_bytes());
        for (bytes, signatures) in txs {
            put_transaction(&mut out, bytes, signatures);
        }
    }
    out
}

/// Appends one framed transaction: its length, its bytes, its signatures with their count.
fn put_transaction(out: &mut Vec<u8>, bytes: &[u8], signatures: Signatures<'_>) {
    out.extend_from_slice(&len_u32(bytes.len()).to_be_bytes());
    out.extend_from_slice(bytes);
    // A valid transaction has at most 4 inputs, so at most 4 signatures.
    out.push(u8::try_from(signatures.count()).unwrap_or(u8::MAX));
    match signatures {
        Signatures::Parsed(sigs) => {
            for signature in sigs {
                out.extend_from_slice(signature.as_bytes());
            }
        }
        Signatures::Raw(sigs) => out.extend_from_slice(sigs.as_flattened()),
    }
}

/// A transaction's signatures, parsed or as stored.
#[derive(Clone, Copy)]
enum Signatures<'a> {
    Parsed(&'a [TxSignature]),
    Raw(&'a [[u8; SIGNATURE_LEN]]),
}

impl Signatures<'_> {
    fn count(&self) -> usize {
        match self {
            Self::Parsed(sigs) => sigs.len(),
            Self::Raw(sigs) => sigs.len(),
        }
    }
}

/// A length as the format writes it (every length of a block fits: at most 65,536
/// transactions of bounded size).
fn len_u32(len: usize) -> u32 {
    u32::try_from(len).unwrap_or(u32::MAX)
}

/// Reads a binary page. The transactions' bytes are slices of `page`, not copies; they are
/// not decoded here (the reader checks them as it checks the JSON form's).
pub fn decode_blocks(page: Bytes) -> Result<Vec<BlockJson>, BinaryError> {
    let mut reader = Reader {
        page: &page,
        offset: 0,
    };
    let count = reader.u32("the block count")? as usize;
    // Lengths come from the sender: never reserve more than the bytes left could hold.
    let mut blocks = Vec::with_capacity(count.min(reader.left() / MIN_BLOCK_LEN));
    for _ in 0..count {
        let blknum = reader.u64("a block number")?;
        let root = B256::from_slice(reader.take(32, "a block root")?);
        let timestamp = reader.u64("a block timestamp")?;
        let tx_count = reader.u32("a transaction count")? as usize;
        let mut transactions = Vec::with_capacity(tx_count.min(reader.left() / MIN_TX_LEN));
        for _ in 0..tx_count {
            let (bytes, signatures) = reader.transaction()?;
            transactions.push(SignedTransactionJson {
                tx: Bytes::from(page.0.slice_ref(bytes)),
                signatures,
            });
        }
        blocks.push(BlockJson {
            blknum,
            root,
            timestamp,
            transactions,
        });
    }
    match reader.left() {
        0 => Ok(blocks),
        extra => Err(BinaryError::Trailing { extra }),
    }
}

struct Reader<'a> {
    page: &'a [u8],
    offset: usize,
}

impl<'a> Reader<'a> {
    fn left(&self) -> usize {
        self.page.len() - self.offset
    }

    fn take(&mut self, len: usize, field: &'static str) -> Result<&'a [u8], BinaryError> {
        if len > self.left() {
            return Err(BinaryError::Truncated {
                field,
                offset: self.page.len(),
            });
        }
        let bytes = &self.page[self.offset..self.offset + len];
        self.offset += len;
        Ok(bytes)
    }

    /// One framed transaction: its bytes (a slice of the page) and its signatures.
    fn transaction(&mut self) -> Result<FramedTransaction<'a>, BinaryError> {
        let len = self.u32("a transaction length")? as usize;
        let bytes = self.take(len, "a transaction")?;
        let sig_count = usize::from(self.take(1, "a signature count")?[0]);
        let sigs = self.take(sig_count * SIGNATURE_LEN, "a signature")?;
        let signatures = sigs
            .chunks_exact(SIGNATURE_LEN)
            .map(|chunk| {
                let mut signature = [0u8; SIGNATURE_LEN];
                signature.copy_from_slice(chunk);
                TxSignature(signature)
            })
            .collect();
        Ok((bytes, signatures))
    }

    fn u32(&mut self, field: &'static str) -> Result<u32, BinaryError> {
        let bytes = self.take(4, field)?;
        Ok(u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
    }

    fn u64(&mut self, field: &'static str) -> Result<u64, BinaryError> {
        let mut out = [0u8; 8];
        out.copy_from_slice(self.take(8, field)?);
        Ok(u64::from_be_bytes(out))
    }
}
