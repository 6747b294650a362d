//! The fixed binary layouts of stored records and keys. Integers are big-endian so keys sort in
//! numeric order; protocol data keeps its canonical ABI bytes.

use alloy::primitives::{Address, B256, U256};
use plasma_core::signature::SIGNATURE_LEN;
use plasma_core::{Output, SignedTransaction, TxSignature};

use super::Column;

/// Names of the metadata entries.
pub mod meta {
    /// The number the next operator block will get (1000, 2000, …).
    pub const NEXT_BLOCK: &[u8] = b"next_block";
    /// The next L1 block whose root-contract events the follower has not yet applied.
    pub const L1_CURSOR: &[u8] = b"l1_cursor";
    /// The highest operator block known to be committed on L1 with the stored root.
    pub const COMMITTED: &[u8] = b"committed";
    /// The submitter's in-flight commitment ([`super::SubmitIntent`]).
    pub const SUBMIT_INTENT: &[u8] = b"submit_intent";
    /// The first sequence number not in any block: every stored transaction from here on is
    /// pending.
    pub const PENDING_FROM: &[u8] = b"pending_from";
    /// Prefix of the L1 journal: `l1_journal/ ‖ L1 block number (u64)` →
    /// [`super::JournalEntry`], what the follower applied of the range of L1 blocks ending at
    /// that block, kept so that a reorganisation of L1 can be undone.
    pub const L1_JOURNAL: &[u8] = b"l1_journal/";

    /// The key of the L1 journal's entry for the range ending at L1 block `to`.
    pub fn l1_journal_key(to: u64) -> Vec<u8> {
        let mut key = L1_JOURNAL.to_vec();
        key.extend_from_slice(&to.to_be_bytes());
        key
    }
}

/// Why a record does not decode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct RecordError(pub String);

fn err(what: impl Into<String>) -> RecordError {
    RecordError(what.into())
}

fn u64_at(bytes: &[u8], at: usize) -> Result<u64, RecordError> {
    bytes
        .get(at..at + 8)
        .and_then(|b| <[u8; 8]>::try_from(b).ok())
        .map(u64::from_be_bytes)
        .ok_or_else(|| err("truncated u64"))
}

/// A `u64` as a key or value.
pub fn u64_bytes(value: u64) -> Vec<u8> {
    value.to_be_bytes().to_vec()
}

/// Reads a `u64` value.
pub fn read_u64(bytes: &[u8]) -> Result<u64, RecordError> {
    if bytes.len() != 8 {
        return Err(err("a u64 record is 8 bytes"));
    }
    u64_at(bytes, 0)
}

/// Where the tx-index column says a transaction is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexEntry {
    /// An operator-block transaction, by its sequence number (pending or in a block): 8 bytes.
    Seq(u64),
    /// A deposit block's transaction: `blknum (u64) ‖ txIndex (u32)`, 12 bytes.
    At {
        /// The block.
        blknum: u64,
        /// The index in it.
        index: u32,
    },
}

impl IndexEntry {
    /// The stored bytes.
    pub fn encode(&self) -> Vec<u8> {
        match self {
            Self::Seq(seq) => u64_bytes(*seq),
            Self::At { blknum, index } => {
                let mut out = Vec::with_capacity(12);
                out.extend_from_slice(&blknum.to_be_bytes());
                out.extend_from_slice(&index.to_be_bytes());
                out
            }
        }
    }

    /// Reads stored bytes.
    pub fn decode(bytes: &[u8]) -> Result<Self, RecordError> {
        match bytes.len() {
            8 => Ok(Self::Seq(u64_at(bytes, 0)?)),
            12 => Ok(Self::At {
                blknum: u64_at(bytes, 0)?,
                index: u32_at(bytes, 8)?,
            }),
            n => Err(err(format!("a tx-index entry is 8 or 12 bytes, not {n}"))),
        }
    }
}

fn u32_at(bytes: &[u8], at: usize) -> Result<u32, RecordError> {
    bytes
        .get(at..at + 4)
        .and_then(|b| <[u8; 4]>::try_from(b).ok())
        .map(u32::from_be_bytes)
        .ok_or_else(|| err("truncated u32"))
}

/// A block without its transactions: `root (32) ‖ timestamp (u64) ‖ txCount (u32)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockHeader {
    /// The Merkle root.
    pub root: B256,
    /// Unix time of the L1 commitment; 0 while an operator block is not yet committed.
    pub timestamp: u64,
    /// Number of transactions.
    pub tx_count: u32,
}

impl BlockHeader {
    /// The stored bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(44);
        out.extend_from_slice(self.root.as_slice());
        out.extend_from_slice(&self.timestamp.to_be_bytes());
        out.extend_from_slice(&self.tx_count.to_be_bytes());
        out
    }

    /// Reads stored bytes.
    pub fn decode(bytes: &[u8]) -> Result<Self, RecordError> {
        if bytes.len() != 44 {
            return Err(err("a block header is 44 bytes"));
        }
        Ok(Self {
            root: B256::from_slice(&bytes[..32]),
            timestamp: u64_at(bytes, 32)?,
            tx_count: u32_at(bytes, 40)?,
        })
    }
}

/// `len` transactions with consecutive sequence numbers from `first`, in a block in that order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeqRun {
    /// The first sequence number.
    pub first: u64,
    /// How many.
    pub len: u32,
}

/// Where a block's transactions are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlockBody {
    /// An operator block: its transactions are in [`Column::Txs`](super::Column::Txs), these
    /// runs of sequence numbers in index order (a gap is a transaction dropped before the
    /// block was made).
    Runs(Vec<SeqRun>),
    /// An operator block that ends with the operator's fee claim: the runs of its payments, then
    /// the claim ([`encode_signed`] bytes), which has no sequence number.
    RunsAndClaim(Vec<SeqRun>, Vec<u8>),
    /// A deposit block: its one transaction ([`encode_signed`] bytes).
    Deposit(Vec<u8>),
}

/// A stored block: `header (44) ‖ kind (u8) ‖ body`, where the body of kind 0 is
/// `(first seq (u64) ‖ len (u32))*`, of kind 1 the deposit transaction, and of kind 2
/// `run count (u32) ‖ runs ‖ fee claim`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockRecord {
    /// Root, L1 timestamp, transaction count.
    pub header: BlockHeader,
    /// Where the transactions are.
    pub body: BlockBody,
}

impl BlockRecord {
    /// The stored bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = self.header.encode();
        match &self.body {
            BlockBody::Runs(runs) => {
                out.reserve(1 + runs.len() * 12);
                out.push(0);
                for run in runs {
                    out.extend_from_slice(&run.first.to_be_bytes());
                    out.extend_from_slice(&run.len.to_be_bytes());
                }
            }
            BlockBody::Deposit(tx) => {
                out.push(1);
                out.extend_from_slice(tx);
            }
            BlockBody::RunsAndClaim(runs, claim) => {
                out.reserve(1 + 4 + runs.len() * 12 + claim.len());
                out.push(2);
                out.extend_from_slice(&u32::try_from(runs.len()).unwrap_or(u32::MAX).to_be_bytes());
                for run in runs {
                    out.extend_from_slice(&run.first.to_be_bytes());
                    out.extend_from_slice(&run.len.to_be_bytes());
                }
                out.extend_from_slice(claim);
            }
        }
        out
    }

    /// Reads stored bytes.
    pub fn decode(bytes: &[u8]) -> Result<Self, RecordError> {
        let header = BlockHeader::decode(bytes.get(..44).ok_or_else(|| err("truncated block"))?)?;
        let body = match bytes.get(44) {
            Some(0) => {
                let runs = decode_runs(bytes.get(45..).unwrap_or_default())?;
                check_count(&runs, 0, header.tx_count)?;
                BlockBody::Runs(runs)
            }
            Some(1) => BlockBody::Deposit(bytes.get(45..).unwrap_or_default().to_vec()),
            Some(2) => {
                let count = bytes
                    .get(45..49)
                    .ok_or_else(|| err("truncated count of runs"))
                    .and_then(|b| u32_at(b, 0))?;
                let end = usize::try_from(count)
                    .ok()
                    .and_then(|n| n.checked_mul(12))
                    .and_then(|n| n.checked_add(49))
                    .ok_or_else(|| err("too many runs"))?;
                let runs = decode_runs(bytes.get(49..end).ok_or_else(|| err("truncated runs"))?)?;
                check_count(&runs, 1, header.tx_count)?;
                let claim = bytes.get(end..).unwrap_or_default();
                if claim.is_empty() {
                    return Err(err("a block of kind 2 lacks its fee claim"));
                }
                BlockBody::RunsAndClaim(runs, claim.to_vec())
            }
            Some(other) => return Err(err(format!("bad block kind {other}"))),
            None => return Err(err("block record without a body")),
        };
        Ok(Self { header, body })
    }

    /// The runs of sequence numbers of an operator block's payments (none for a deposit block).
    pub fn runs(&self) -> &[SeqRun] {
        match &self.body {
            BlockBody::Runs(runs) | BlockBody::RunsAndClaim(runs, _) => runs,
            BlockBody::Deposit(_) => &[],
        }
    }

    /// The sequence number of transaction `index` of an operator block (none for its fee
    /// claim, which has none).
    pub fn seq_of(&self, index: u32) -> Option<u64> {
        let runs = self.runs();
        let mut rest = index;
        for run in runs {
            if rest < run.len {
                return Some(run.first + u64::from(rest));
            }
            rest -= run.len;
        }
        None
    }

    /// The index in an operator block of the transaction with sequence number `seq`.
    pub fn index_of(&self, seq: u64) -> Option<u32> {
        let runs = self.runs();
        let mut before = 0u32;
        for run in runs {
            if seq >= run.first && seq - run.first < u64::from(run.len) {
                return u32::try_from(seq - run.first).ok().map(|i| before + i);
            }
            before += run.len;
        }
        None
    }
}

/// Runs of sequence numbers from their stored bytes, 12 each.
fn decode_runs(bytes: &[u8]) -> Result<Vec<SeqRun>, RecordError> {
    if !bytes.len().is_multiple_of(12) {
        return Err(err("truncated run of sequence numbers"));
    }
    bytes
        .chunks_exact(12)
        .map(|r| {
            Ok(SeqRun {
                first: u64_at(r, 0)?,
                len: u32_at(r, 8)?,
            })
        })
        .collect()
}

/// Checks that `runs` and `extra` more transactions make the header's `tx_count`.
fn check_count(runs: &[SeqRun], extra: u64, tx_count: u32) -> Result<(), RecordError> {
    let total: u64 = runs.iter().map(|r| u64::from(r.len)).sum::<u64>() + extra;
    if total != u64::from(tx_count) {
        return Err(err(format!(
            "the block holds {total} transactions, the header says {tx_count}"
        )));
    }
    Ok(())
}

/// The runs of consecutive numbers in ascending `seqs`.
pub fn runs_of(seqs: impl IntoIterator<Item = u64>) -> Vec<SeqRun> {
    let mut runs: Vec<SeqRun> = Vec::new();
    for seq in seqs {
        match runs.last_mut() {
            Some(run) if run.first + u64::from(run.len) == seq && run.len < u32::MAX => {
                run.len += 1
            }
            _ => runs.push(SeqRun { first: seq, len: 1 }),
        }
    }
    runs
}

/// A signed transaction: `signatureCount (u8) ‖ signatures (65 each) ‖ txBytes`.
pub fn encode_signed(tx: &SignedTransaction) -> Vec<u8> {
    let sigs = tx.signatures();
    let mut out = Vec::with_capacity(1 + sigs.len() * SIGNATURE_LEN + tx.bytes().len());
    // At most 4 inputs, hence signatures, in any decodable transaction.
    out.push(u8::try_from(sigs.len()).unwrap_or(u8::MAX));
    for sig in sigs {
        out.extend_from_slice(sig.as_bytes());
    }
    out.extend_from_slice(tx.bytes());
    out
}

/// Reads an [`encode_signed`] record.
pub fn decode_signed(bytes: &[u8]) -> Result<SignedTransaction, RecordError> {
    let (tx_bytes, sig_bytes) = split_signed(bytes)?;
    let signatures = sig_bytes.iter().map(|sig| TxSignature(*sig)).collect();
    SignedTransaction::decode(tx_bytes, signatures).map_err(|e| err(e.to_string()))
}

/// Splits an [`encode_signed`] record into the transaction's bytes and its signatures, without
/// decoding either.
pub fn split_signed(bytes: &[u8]) -> Result<(&[u8], &[[u8; SIGNATURE_LEN]]), RecordError> {
    let (&count, rest) = bytes
        .split_first()
        .ok_or_else(|| err("empty transaction"))?;
    let sig_len = usize::from(count) * SIGNATURE_LEN;
    if rest.len() < sig_len {
        return Err(err("truncated signatures"));
    }
    let (sig_bytes, tx_bytes) = rest.split_at(sig_len);
    let (signatures, _) = sig_bytes.as_chunks::<SIGNATURE_LEN>();
    Ok((tx_bytes, signatures))
}

/// A stored block with its transactions as stored ([`encode_signed`] bytes), not decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawBlock {
    /// The block number.
    pub blknum: u64,
    /// Root, L1 timestamp, transaction count.
    pub header: BlockHeader,
    /// Whether it is a deposit block.
    pub is_deposit: bool,
    /// The transactions, in index order.
    pub transactions: Vec<Vec<u8>>,
}

/// An output in the UTXO set: `exiting (u8) ‖ owner (20) ‖ token (20) ‖ amount (32)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UtxoRecord {
    /// The output.
    pub output: Output,
    /// Whether a standard exit of it is in progress on L1.
    pub exiting: bool,
}

impl UtxoRecord {
    /// The stored bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(73);
        out.push(u8::from(self.exiting));
        out.extend_from_slice(self.output.owner.as_slice());
        out.extend_from_slice(self.output.token.as_slice());
        out.extend_from_slice(&self.output.amount.to_be_bytes::<32>());
        out
    }

    /// Reads stored bytes.
    pub fn decode(bytes: &[u8]) -> Result<Self, RecordError> {
        if bytes.len() != 73 {
            return Err(err("a utxo record is 73 bytes"));
        }
        let exiting = match bytes[0] {
            0 => false,
            1 => true,
            other => return Err(err(format!("bad utxo state {other}"))),
        };
        Ok(Self {
            exiting,
            output: Output::new(
                Address::from_slice(&bytes[1..21]),
                Address::from_slice(&bytes[21..41]),
                U256::from_be_slice(&bytes[41..73]),
            ),
        })
    }
}

/// One key a journaled batch wrote: its value before the batch and the value the batch left.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UndoOp {
    /// The column.
    pub column: Column,
    /// The key.
    pub key: Vec<u8>,
    /// The value before (`None`: absent).
    pub prior: Option<Vec<u8>>,
    /// The value written (`None`: deleted).
    pub written: Option<Vec<u8>>,
}

/// What the L1 follower applied of a range of L1 blocks: the hash of the range's last L1 block
/// (the entry's key), and every key it wrote with the value before, so that an L1
/// reorganisation can be undone.
///
/// Layout: `hash (32) ‖ count (u32) ‖ op*`, each op `column (u8) ‖ keyLen (u32) ‖ key ‖ prior ‖
/// written`, a value being `0` (absent) or `1 ‖ len (u32) ‖ bytes`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalEntry {
    /// The hash of the range's last L1 block, as it was when the range was read.
    pub hash: B256,
    /// The keys written, each once.
    pub ops: Vec<UndoOp>,
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&len_u32(bytes).to_be_bytes());
    out.extend_from_slice(bytes);
}

fn len_u32(bytes: &[u8]) -> u32 {
    // Keys and values are records of this crate: far below 4 GiB each.
    u32::try_from(bytes.len()).unwrap_or(u32::MAX)
}

fn put_value(out: &mut Vec<u8>, value: Option<&[u8]>) {
    match value {
        None => out.push(0),
        Some(bytes) => {
            out.push(1);
            put_bytes(out, bytes);
        }
    }
}

/// A reader over a record's bytes.
struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], RecordError> {
        let out = self
            .bytes
            .get(self.at..self.at.saturating_add(n))
            .ok_or_else(|| err("truncated journal entry"))?;
        self.at += n;
        Ok(out)
    }

    fn u8(&mut self) -> Result<u8, RecordError> {
        Ok(self.take(1)?[0])
    }

    fn u32(&mut self) -> Result<u32, RecordError> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn bytes(&mut self) -> Result<Vec<u8>, RecordError> {
        let len = self.u32()? as usize;
        Ok(self.take(len)?.to_vec())
    }

    fn value(&mut self) -> Result<Option<Vec<u8>>, RecordError> {
        match self.u8()? {
            0 => Ok(None),
            1 => Ok(Some(self.bytes()?)),
            other => Err(err(format!("bad journal value tag {other}"))),
        }
    }
}

impl JournalEntry {
    /// The stored bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(36 + self.ops.len() * 96);
        out.extend_from_slice(self.hash.as_slice());
        out.extend_from_slice(
            &u32::try_from(self.ops.len())
                .unwrap_or(u32::MAX)
                .to_be_bytes(),
        );
        for op in &self.ops {
            out.push(op.column.index() as u8);
            put_bytes(&mut out, &op.key);
            put_value(&mut out, op.prior.as_deref());
            put_value(&mut out, op.written.as_deref());
        }
        out
    }

    /// Reads stored bytes.
    pub fn decode(bytes: &[u8]) -> Result<Self, RecordError> {
        let mut c = Cursor { bytes, at: 0 };
        let hash = B256::from_slice(c.take(32)?);
        let count = c.u32()?;
        let mut ops = Vec::new();
        for _ in 0..count {
            let index = c.u8()?;
            let column = *Column::ALL
                .get(usize::from(index))
                .ok_or_else(|| err(format!("bad journal column {index}")))?;
            ops.push(UndoOp {
                column,
                key: c.bytes()?,
                prior: c.value()?,
                written: c.value()?,
            });
        }
        if c.at != bytes.len() {
            return Err(err("trailing bytes after a journal entry"));
        }
        Ok(Self { hash, ops })
    }
}

/// The submitter's record of the one L1 transaction in flight: which block it commits, with
/// which nonce and fees, and the signed transaction itself so it can be re-broadcast after a
/// restart. Written before the transaction is sent.
///
/// Layout: `blknum ‖ nonce ‖ sentAt (u64 each) ‖ maxFee ‖ priorityFee (u128 each) ‖ raw tx`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubmitIntent {
    /// The operator block being committed.
    pub blknum: u64,
    /// The nonce every attempt for this block uses (so at most one of them is mined).
    pub nonce: u64,
    /// Unix time of the latest broadcast.
    pub sent_at: u64,
    /// `maxFeePerGas` of the latest attempt.
    pub max_fee: u128,
    /// `maxPriorityFeePerGas` of the latest attempt.
    pub priority_fee: u128,
    /// The EIP-2718 encoding of the latest attempt.
    pub raw: Vec<u8>,
}

impl SubmitIntent {
    /// The stored bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(56 + self.raw.len());
        out.extend_from_slice(&self.blknum.to_be_bytes());
        out.extend_from_slice(&self.nonce.to_be_bytes());
        out.extend_from_slice(&self.sent_at.to_be_bytes());
        out.extend_from_slice(&self.max_fee.to_be_bytes());
        out.extend_from_slice(&self.priority_fee.to_be_bytes());
        out.extend_from_slice(&self.raw);
        out
    }

    /// Reads stored bytes.
    pub fn decode(bytes: &[u8]) -> Result<Self, RecordError> {
        if bytes.len() < 56 {
            return Err(err("a submit intent is at least 56 bytes"));
        }
        let u128_at = |at: usize| {
            <[u8; 16]>::try_from(&bytes[at..at + 16])
                .map(u128::from_be_bytes)
                .map_err(|_| err("truncated u128"))
        };
        Ok(Self {
            blknum: u64_at(bytes, 0)?,
            nonce: u64_at(bytes, 8)?,
            sent_at: u64_at(bytes, 16)?,
            max_fee: u128_at(24)?,
            priority_fee: u128_at(40)?,
            raw: bytes[56..].to_vec(),
        })
    }

    /// The hash of the latest attempt.
    pub fn tx_hash(&self) -> B256 {
        alloy::primitives::keccak256(&self.raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use plasma_core::{Transaction, UtxoPos};

    #[test]
    fn records_round_trip() {
        let header = BlockHeader {
            root: B256::repeat_byte(7),
            timestamp: 123,
            tx_count: 65_536,
        };
        assert_eq!(BlockHeader::decode(&header.encode()), Ok(header));

        let utxo = UtxoRecord {
            output: Output::new(Address::repeat_byte(1), Address::repeat_byte(2), U256::MAX),
            exiting: true,
        };
        assert_eq!(UtxoRecord::decode(&utxo.encode()), Ok(utxo));

        let tx = Transaction::payment(
            vec![UtxoPos::new(1000, 1, 2).unwrap()],
            vec![Output::new(
                Address::repeat_byte(3),
                Address::ZERO,
                U256::from(5),
            )],
        );
        let signed = SignedTransaction::new(tx, vec![TxSignature([9; 65])]);
        assert_eq!(decode_signed(&encode_signed(&signed)), Ok(signed.clone()));

        let intent = SubmitIntent {
            blknum: 2000,
            nonce: 7,
            sent_at: 99,
            max_fee: 1 << 100,
            priority_fee: 3,
            raw: vec![1, 2, 3],
        };
        assert_eq!(SubmitIntent::decode(&intent.encode()), Ok(intent));

        for entry in [
            IndexEntry::Seq(7),
            IndexEntry::At {
                blknum: 5,
                index: 6,
            },
        ] {
            assert_eq!(IndexEntry::decode(&entry.encode()), Ok(entry));
        }
        assert!(IndexEntry::decode(&[0; 9]).is_err());

        let runs = runs_of([3, 4, 5, 9, 10, 12]);
        assert_eq!(
            runs,
            [
                SeqRun { first: 3, len: 3 },
                SeqRun { first: 9, len: 2 },
                SeqRun { first: 12, len: 1 }
            ]
        );
        let block = BlockRecord {
            header: BlockHeader {
                root: B256::repeat_byte(1),
                timestamp: 0,
                tx_count: 6,
            },
            body: BlockBody::Runs(runs),
        };
        assert_eq!(BlockRecord::decode(&block.encode()), Ok(block.clone()));
        let seqs: Vec<Option<u64>> = (0..7).map(|i| block.seq_of(i)).collect();
        assert_eq!(
            seqs,
            [Some(3), Some(4), Some(5), Some(9), Some(10), Some(12), None]
        );
        for (index, seq) in [3, 4, 5, 9, 10, 12].into_iter().enumerate() {
            assert_eq!(block.index_of(seq), Some(index as u32));
        }
        assert_eq!(block.index_of(6), None);
        assert_eq!(block.index_of(2), None);
        // A header that disagrees with its runs is refused.
        let mut wrong = block.clone();
        wrong.header.tx_count = 5;
        assert!(BlockRecord::decode(&wrong.encode()).is_err());

        let deposit = BlockRecord {
            header: BlockHeader {
                root: B256::repeat_byte(2),
                timestamp: 9,
                tx_count: 1,
            },
            body: BlockBody::Deposit(encode_signed(&signed)),
        };
        assert_eq!(BlockRecord::decode(&deposit.encode()), Ok(deposit.clone()));
        assert_eq!(deposit.seq_of(0), None);

        // A block that ends with a fee claim: its payments by sequence number, the claim last.
        let claimed = BlockRecord {
            header: BlockHeader {
                root: B256::repeat_byte(3),
                timestamp: 0,
                tx_count: 7,
            },
            body: BlockBody::RunsAndClaim(block.runs().to_vec(), encode_signed(&signed)),
        };
        assert_eq!(BlockRecord::decode(&claimed.encode()), Ok(claimed.clone()));
        assert_eq!(claimed.seq_of(5), Some(12));
        assert_eq!(claimed.seq_of(6), None, "the claim has no sequence number");
        assert_eq!(claimed.index_of(12), Some(5));
        let mut miscounted = claimed.clone();
        miscounted.header.tx_count = 6;
        assert!(BlockRecord::decode(&miscounted.encode()).is_err());
        let encoded = claimed.encode();
        let without_claim = &encoded[..encoded.len() - encode_signed(&signed).len()];
        assert!(BlockRecord::decode(without_claim).is_err());
        assert!(
            BlockRecord::decode(&encoded[..47]).is_err(),
            "truncated count"
        );
    }

    fn value() -> impl proptest::strategy::Strategy<Value = Option<Vec<u8>>> {
        proptest::option::of(proptest::collection::vec(proptest::num::u8::ANY, 0..80))
    }

    proptest::proptest! {
        #[test]
        fn journal_entries_round_trip_and_truncations_are_errors(
            hash in proptest::array::uniform32(proptest::num::u8::ANY),
            ops in proptest::collection::vec(
                (0..Column::ALL.len(), proptest::collection::vec(proptest::num::u8::ANY, 0..40), value(), value()),
                0..6,
            ),
            cut in proptest::num::usize::ANY,
        ) {
            let entry = JournalEntry {
                hash: B256::from(hash),
                ops: ops
                    .into_iter()
                    .map(|(c, key, prior, written)| UndoOp { column: Column::ALL[c], key, prior, written })
                    .collect(),
            };
            let bytes = entry.encode();
            proptest::prop_assert_eq!(JournalEntry::decode(&bytes), Ok(entry));
            let cut = cut % bytes.len();
            proptest::prop_assert!(JournalEntry::decode(&bytes[..cut]).is_err());
            let mut longer = bytes.clone();
            longer.push(0);
            proptest::prop_assert!(JournalEntry::decode(&longer).is_err());
        }
    }
}
