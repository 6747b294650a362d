//! The binary records of the chain's outputs and transactions: what the store holds once per
//! output and per transaction of the whole chain, so they are fixed-width fields and canonical
//! bytes, not JSON (a watcher of a chain of millions of transactions keeps millions of them).
//!
//! - `outputs`, by position (8 bytes, big-endian): `0x00 ‖ owner (20) ‖ token (20) ‖ amount`
//!   while unspent (the amount big-endian without leading zero bytes, its length the rest of
//!   the record), or `0x01 ‖ spender (8) ‖ input index (1) ‖ signature (65)` once spent: the
//!   spending transaction's position (`blknum · 10⁹ + tx_index · 10⁴`, big-endian) and the
//!   signature of the input that spends it — what a challenge of an exit of the output needs.
//! - `transactions`, by position (8 bytes, big-endian): the transaction's canonical bytes.

use alloy::primitives::{Address, U256};
use plasma_core::{Output, TxSignature, UtxoPos, UtxoState};

const UNSPENT: u8 = 0;
const SPENT: u8 = 1;
const ADDRESS_LEN: usize = 20;
const SIGNATURE_LEN: usize = 65;
const SPENT_LEN: usize = 1 + 8 + 1 + SIGNATURE_LEN;

/// One output of the chain as the store holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OutputRecord {
    /// Not spent in any verified block.
    Unspent(Output),
    /// Spent in a verified block.
    Spent(SpentBy),
}

/// Where and how an output was spent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SpentBy {
    /// The spending transaction's position (`blknum · 10⁹ + tx_index · 10⁴`).
    pub(crate) position: u64,
    /// Which of its inputs spends the output.
    pub(crate) input_index: u8,
    /// That input's signature.
    pub(crate) signature: TxSignature,
}

impl SpentBy {
    /// The spending transaction's block.
    pub(crate) fn blknum(&self) -> u64 {
        self.position / plasma_core::utxo::BLOCK_OFFSET
    }

    /// The spending transaction's index in its block.
    pub(crate) fn tx_index(&self) -> u64 {
        (self.position % plasma_core::utxo::BLOCK_OFFSET) / plasma_core::utxo::TX_OFFSET
    }
}

/// The key of the output at `pos` (also of the transaction at a position).
pub(crate) fn position_key(position: u64) -> [u8; 8] {
    position.to_be_bytes()
}

/// The position a key names, if it is one.
pub(crate) fn utxo_pos_of_key(key: &[u8]) -> Option<UtxoPos> {
    let bytes = <[u8; 8]>::try_from(key).ok()?;
    UtxoPos::from_u64(u64::from_be_bytes(bytes)).ok()
}

impl OutputRecord {
    /// The record's bytes.
    pub(crate) fn encode(&self) -> Vec<u8> {
        match self {
            Self::Unspent(output) => {
                let amount = output.amount.to_be_bytes::<32>();
                let significant = amount.iter().position(|&b| b != 0).unwrap_or(32);
                let mut out = Vec::with_capacity(1 + 2 * ADDRESS_LEN + 32 - significant);
                out.push(UNSPENT);
                out.extend_from_slice(output.owner.as_slice());
                out.extend_from_slice(output.token.as_slice());
                out.extend_from_slice(&amount[significant..]);
                out
            }
            Self::Spent(spent) => {
                let mut out = Vec::with_capacity(SPENT_LEN);
                out.push(SPENT);
                out.extend_from_slice(&spent.position.to_be_bytes());
                out.push(spent.input_index);
                out.extend_from_slice(spent.signature.as_bytes());
                out
            }
        }
    }

    /// The output's state as validation sees it.
    pub(crate) fn state(&self) -> UtxoState {
        match self {
            Self::Unspent(output) => UtxoState::Unspent(*output),
            Self::Spent(_) => UtxoState::Spent,
        }
    }

    /// Reads a record; `None` if the bytes are not one.
    pub(crate) fn decode(bytes: &[u8]) -> Option<Self> {
        let (&tag, rest) = bytes.split_first()?;
        match tag {
            UNSPENT => {
                if rest.len() < 2 * ADDRESS_LEN || rest.len() > 2 * ADDRESS_LEN + 32 {
                    return None;
                }
                let (owner, rest) = rest.split_at(ADDRESS_LEN);
                let (token, amount) = rest.split_at(ADDRESS_LEN);
                Some(Self::Unspent(Output::new(
                    Address::from_slice(owner),
                    Address::from_slice(token),
                    U256::from_be_slice(amount),
                )))
            }
            SPENT if bytes.len() == SPENT_LEN => {
                let position = u64::from_be_bytes(rest[..8].try_into().ok()?);
                let input_index = rest[8];
                let signature = TxSignature::from_slice(&rest[9..]).ok()?;
                Some(Self::Spent(SpentBy {
                    position,
                    input_index,
                    signature,
                }))
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn output() -> impl Strategy<Value = Output> {
        (any::<[u8; 20]>(), any::<[u8; 20]>(), any::<[u8; 32]>()).prop_map(|(o, t, a)| {
            Output::new(Address::from(o), Address::from(t), U256::from_be_bytes(a))
        })
    }

    fn spent() -> impl Strategy<Value = SpentBy> {
        (
            any::<u64>(),
            any::<u8>(),
            prop::collection::vec(any::<u8>(), 65),
        )
            .prop_map(|(position, input_index, sig)| SpentBy {
                position,
                input_index,
                signature: TxSignature::from_slice(&sig).unwrap(),
            })
    }

    proptest! {
        #[test]
        fn unspent_records_round_trip(output in output()) {
            let record = OutputRecord::Unspent(output);
            prop_assert_eq!(OutputRecord::decode(&record.encode()), Some(record));
        }

        #[test]
        fn spent_records_round_trip(spent in spent()) {
            let record = OutputRecord::Spent(spent);
            prop_assert_eq!(OutputRecord::decode(&record.encode()), Some(record));
        }

        /// Any bytes decode to a record or to nothing, never a panic; a record that decodes
        /// encodes back to the same bytes (one encoding per record).
        #[test]
        fn arbitrary_bytes_decode_canonically_or_not_at_all(bytes in prop::collection::vec(any::<u8>(), 0..100)) {
            if let Some(record) = OutputRecord::decode(&bytes) {
                let canonical = record.encode();
                if let OutputRecord::Unspent(_) = record {
                    // A leading zero byte of the amount is the one non-canonical form accepted.
                    prop_assert_eq!(OutputRecord::decode(&canonical), Some(record));
                } else {
                    prop_assert_eq!(canonical, bytes);
                }
            }
        }
    }

    #[test]
    fn small_amounts_take_few_bytes() {
        let output = Output::new(Address::repeat_byte(1), Address::ZERO, U256::from(1_000u64));
        let bytes = OutputRecord::Unspent(output).encode();
        assert_eq!(bytes.len(), 1 + 40 + 2);
        let zero = Output::new(Address::repeat_byte(1), Address::ZERO, U256::ZERO);
        assert_eq!(OutputRecord::Unspent(zero).encode().len(), 41);
        assert_eq!(
            OutputRecord::decode(&OutputRecord::Unspent(zero).encode()),
            Some(OutputRecord::Unspent(zero))
        );
    }

    #[test]
    fn truncated_or_unknown_records_do_not_decode() {
        let spent = OutputRecord::Spent(SpentBy {
            position: 1_000_000_000_000,
            input_index: 3,
            signature: TxSignature::from_slice(&[7u8; 65]).unwrap(),
        })
        .encode();
        assert!(OutputRecord::decode(&spent[..spent.len() - 1]).is_none());
        assert!(OutputRecord::decode(&[2, 0, 0]).is_none());
        assert!(OutputRecord::decode(&[]).is_none());
        assert!(OutputRecord::decode(&[UNSPENT; 40]).is_none());
    }
}
