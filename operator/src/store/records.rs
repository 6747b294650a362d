//! The fixed binary layouts of stored records and keys. Integers are big-endian so keys sort in
//! numeric order; protocol data keeps its canonical ABI bytes.

use alloy::primitives::{Address, B256, U256};
use plasma_core::signature::SIGNATURE_LEN;
use plasma_core::{Output, SignedTransaction, TxSignature, UtxoPos};

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

/// The key of transaction `index` of block `blknum`.
pub fn block_tx_key(blknum: u64, index: u32) -> Vec<u8> {
    let mut key = Vec::with_capacity(12);
    key.extend_from_slice(&blknum.to_be_bytes());
    key.extend_from_slice(&index.to_be_bytes());
    key
}

/// Reads a [`block_tx_key`] (also the value of the tx-index column).
pub fn read_block_tx_key(bytes: &[u8]) -> Result<(u64, u32), RecordError> {
    if bytes.len() != 12 {
        return Err(err("a transaction location is 12 bytes"));
    }
    let index = bytes
        .get(8..12)
        .and_then(|b| <[u8; 4]>::try_from(b).ok())
        .map(u32::from_be_bytes)
        .ok_or_else(|| err("truncated index"))?;
    Ok((u64_at(bytes, 0)?, index))
}

/// The key of `pos` in the owner index.
pub fn owner_key(owner: Address, pos: UtxoPos) -> Vec<u8> {
    let mut key = Vec::with_capacity(28);
    key.extend_from_slice(owner.as_slice());
    key.extend_from_slice(&pos.as_u64().to_be_bytes());
    key
}

/// Reads the position out of an [`owner_key`].
pub fn read_owner_key(bytes: &[u8]) -> Result<UtxoPos, RecordError> {
    if bytes.len() != 28 {
        return Err(err("an owner key is 28 bytes"));
    }
    UtxoPos::from_u64(u64_at(bytes, 20)?).map_err(|e| err(e.to_string()))
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
        let tx_count = bytes
            .get(40..44)
            .and_then(|b| <[u8; 4]>::try_from(b).ok())
            .map(u32::from_be_bytes)
            .ok_or_else(|| err("truncated count"))?;
        Ok(Self {
            root: B256::from_slice(&bytes[..32]),
            timestamp: u64_at(bytes, 32)?,
            tx_count,
        })
    }
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
    let (&count, rest) = bytes
        .split_first()
        .ok_or_else(|| err("empty transaction"))?;
    let sig_len = usize::from(count) * SIGNATURE_LEN;
    if rest.len() < sig_len {
        return Err(err("truncated signatures"));
    }
    let (sig_bytes, tx_bytes) = rest.split_at(sig_len);
    let signatures = sig_bytes
        .chunks_exact(SIGNATURE_LEN)
        .map(TxSignature::from_slice)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| err(e.to_string()))?;
    SignedTransaction::decode(tx_bytes, signatures).map_err(|e| err(e.to_string()))
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
    use plasma_core::Transaction;

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
        assert_eq!(decode_signed(&encode_signed(&signed)), Ok(signed));

        let intent = SubmitIntent {
            blknum: 2000,
            nonce: 7,
            sent_at: 99,
            max_fee: 1 << 100,
            priority_fee: 3,
            raw: vec![1, 2, 3],
        };
        assert_eq!(SubmitIntent::decode(&intent.encode()), Ok(intent));

        let pos = UtxoPos::new(1000, 3, 1).unwrap();
        assert_eq!(
            read_owner_key(&owner_key(Address::repeat_byte(4), pos)),
            Ok(pos)
        );
        assert_eq!(read_block_tx_key(&block_tx_key(5, 6)), Ok((5, 6)));
    }
}
