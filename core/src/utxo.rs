//! The UTXO position: where an output lives on the child chain, as one number.

use core::fmt;
use core::str::FromStr;

use alloy_primitives::U256;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::block::is_deposit_block;

/// Weight of the block number in a UTXO position.
pub const BLOCK_OFFSET: u64 = 1_000_000_000;
/// Weight of the transaction index in a UTXO position.
pub const TX_OFFSET: u64 = 10_000;
/// Exclusive bound of a transaction index: a block holds at most 65,536 transactions.
pub const MAX_TX_INDEX: u64 = plasma_merkle::MAX_LEAVES as u64;
/// Exclusive bound of an output index: a transaction has at most 4 outputs.
pub const MAX_OUTPUT_INDEX: u64 = crate::transaction::MAX_OUTPUTS as u64;

/// Why a number is not a UTXO position.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum UtxoPosError {
    /// Block numbers start at 1.
    #[error("block number 0 does not exist")]
    ZeroBlock,
    /// The transaction index is past the end of any block.
    #[error("transaction index {0} is past the last index of a block (65535)")]
    TxIndex(u64),
    /// The output index is past the last output of any transaction.
    #[error("output index {0} is past the last output of a transaction (3)")]
    OutputIndex(u64),
    /// The position does not fit in 64 bits.
    #[error("utxo position does not fit in 64 bits")]
    TooLarge,
    /// Not a decimal number.
    #[error("utxo position must be a decimal number")]
    NotANumber,
}

/// `utxoPos = blknum · 1,000,000,000 + txIndex · 10,000 + outputIndex`.
///
/// Every value of this type is well formed: block ≥ 1, tx index < 65,536, output index < 4,
/// and the whole fits in 64 bits. The contract checks the same bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UtxoPos(u64);

impl UtxoPos {
    /// The position of output `output_index` of transaction `tx_index` in block `blknum`.
    pub fn new(blknum: u64, tx_index: u64, output_index: u64) -> Result<Self, UtxoPosError> {
        if blknum == 0 {
            return Err(UtxoPosError::ZeroBlock);
        }
        if tx_index >= MAX_TX_INDEX {
            return Err(UtxoPosError::TxIndex(tx_index));
        }
        if output_index >= MAX_OUTPUT_INDEX {
            return Err(UtxoPosError::OutputIndex(output_index));
        }
        blknum
            .checked_mul(BLOCK_OFFSET)
            .and_then(|b| b.checked_add(tx_index * TX_OFFSET + output_index))
            .map(Self)
            .ok_or(UtxoPosError::TooLarge)
    }

    /// Reads and checks an encoded position.
    pub fn from_u64(pos: u64) -> Result<Self, UtxoPosError> {
        Self::new(
            pos / BLOCK_OFFSET,
            (pos % BLOCK_OFFSET) / TX_OFFSET,
            pos % TX_OFFSET,
        )
    }

    /// Reads and checks a position given as a 256-bit word (as in a transaction's inputs).
    pub fn from_u256(pos: U256) -> Result<Self, UtxoPosError> {
        let pos: u64 = pos.try_into().map_err(|_| UtxoPosError::TooLarge)?;
        Self::from_u64(pos)
    }

    /// The encoded position.
    pub const fn as_u64(self) -> u64 {
        self.0
    }

    /// The encoded position as a 256-bit word.
    pub fn to_u256(self) -> U256 {
        U256::from(self.0)
    }

    /// The block holding the output.
    pub const fn blknum(self) -> u64 {
        self.0 / BLOCK_OFFSET
    }

    /// The index of the transaction in its block (the Merkle leaf index).
    pub const fn tx_index(self) -> u64 {
        (self.0 % BLOCK_OFFSET) / TX_OFFSET
    }

    /// The index of the output in its transaction.
    pub const fn output_index(self) -> u64 {
        self.0 % TX_OFFSET
    }

    /// Whether the output was created by an L1 deposit (it lives in a deposit block).
    pub const fn is_deposit(self) -> bool {
        is_deposit_block(self.blknum())
    }
}

impl fmt::Display for UtxoPos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl FromStr for UtxoPos {
    type Err = UtxoPosError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(UtxoPosError::NotANumber);
        }
        let pos: u64 = s.parse().map_err(|_| UtxoPosError::TooLarge)?;
        Self::from_u64(pos)
    }
}

impl From<UtxoPos> for u64 {
    fn from(pos: UtxoPos) -> Self {
        pos.0
    }
}

/// Serialized as a decimal string: positions exceed 2^53, where JSON numbers lose precision.
impl Serialize for UtxoPos {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for UtxoPos {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_round_trip() {
        let pos = UtxoPos::new(2000, 65_535, 3).unwrap();
        assert_eq!(pos.as_u64(), 2_000_655_350_003);
        assert_eq!(
            (pos.blknum(), pos.tx_index(), pos.output_index()),
            (2000, 65_535, 3)
        );
        assert!(!pos.is_deposit());
        assert!(UtxoPos::new(1001, 0, 0).unwrap().is_deposit());
        assert_eq!(UtxoPos::from_u64(pos.as_u64()), Ok(pos));
        assert_eq!(UtxoPos::from_u256(pos.to_u256()), Ok(pos));
    }

    #[test]
    fn malformed_positions_are_rejected() {
        assert_eq!(UtxoPos::new(0, 0, 0), Err(UtxoPosError::ZeroBlock));
        assert_eq!(
            UtxoPos::new(1, 65_536, 0),
            Err(UtxoPosError::TxIndex(65_536))
        );
        assert_eq!(UtxoPos::new(1, 0, 4), Err(UtxoPosError::OutputIndex(4)));
        assert_eq!(UtxoPos::new(u64::MAX, 0, 0), Err(UtxoPosError::TooLarge));
        assert_eq!(UtxoPos::from_u64(999_999_999), Err(UtxoPosError::ZeroBlock));
        assert_eq!(
            UtxoPos::from_u64(1_000_000_004),
            Err(UtxoPosError::OutputIndex(4))
        );
        assert_eq!(
            UtxoPos::from_u256(U256::from(u64::MAX) + U256::from(1)),
            Err(UtxoPosError::TooLarge)
        );
        assert_eq!("".parse::<UtxoPos>(), Err(UtxoPosError::NotANumber));
        assert_eq!("-1".parse::<UtxoPos>(), Err(UtxoPosError::NotANumber));
        assert_eq!("1e9".parse::<UtxoPos>(), Err(UtxoPosError::NotANumber));
        assert_eq!(
            "99999999999999999999999".parse::<UtxoPos>(),
            Err(UtxoPosError::TooLarge)
        );
    }

    #[test]
    fn the_largest_position_fits() {
        let max_blknum = (u64::MAX - (MAX_TX_INDEX - 1) * TX_OFFSET - 3) / BLOCK_OFFSET;
        let pos = UtxoPos::new(max_blknum, MAX_TX_INDEX - 1, 3).unwrap();
        assert_eq!(pos.blknum(), max_blknum);
        assert_eq!(
            UtxoPos::new(max_blknum + 1, 0, 0),
            Err(UtxoPosError::TooLarge)
        );
    }

    #[test]
    fn serde_uses_decimal_strings() {
        let pos = UtxoPos::new(1000, 1, 2).unwrap();
        let json = serde_json::to_string(&pos).unwrap();
        assert_eq!(json, "\"1000000010002\"");
        assert_eq!(serde_json::from_str::<UtxoPos>(&json).unwrap(), pos);
        assert!(serde_json::from_str::<UtxoPos>("1000000010002").is_err());
        assert!(serde_json::from_str::<UtxoPos>("\"1000000010004\"").is_err());
    }
}
