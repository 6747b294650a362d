//! The canonical encoding of a transaction: exactly the bytes of Solidity's
//! `abi.encode(transaction)`, and a decoder that accepts those bytes and nothing else.
//!
//! Layout (32-byte words, `n` inputs, `m` outputs, total `32 · (7 + n + 4m)` bytes):
//!
//! | word | content |
//! |---|---|
//! | 0 | `0x20`, offset of the struct (`abi.encode` of one dynamic value) |
//! | 1 | `txType` = 1 |
//! | 2 | `0x80`, offset of `inputs` from word 1 |
//! | 3 | `0xa0 + 32n`, offset of `outputs` from word 1 |
//! | 4 | `metadata` |
//! | 5 | `n`, then `n` words: the input positions |
//! | 6 + n | `m`, then `m` outputs of 4 words: `outputType` = 1, `owner`, `token`, `amount` |
//!
//! The decoder checks every word against this layout (offsets, lengths, zero padding of
//! addresses), and the form rules: `txType` 1, at most 4 inputs, 1 to 4 outputs, `outputType` 1,
//! each input a well-formed position below 2^64. The root contract's decoder accepts exactly
//! the same set of byte strings, so a transaction has one encoding and one hash.

use alloy_primitives::{Address, B256, U256};

use crate::transaction::{
    MAX_INPUTS, MAX_OUTPUTS, OUTPUT_TYPE_PAYMENT, Output, TX_TYPE_PAYMENT, Transaction,
};
use crate::utxo::{UtxoPos, UtxoPosError};

const WORD: usize = 32;
/// Words of a transaction with no inputs and no outputs.
const FIXED_WORDS: usize = 7;
/// Words of one output.
const OUTPUT_WORDS: usize = 4;

/// Why bytes are not a canonical transaction encoding.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Shorter than the smallest possible encoding, or not whole words.
    #[error("{got} bytes cannot be a transaction: an encoding is a whole number of 32-byte words, at least {min}", min = FIXED_WORDS * WORD)]
    Truncated {
        /// The length given.
        got: usize,
    },
    /// A layout word (offset) differs from the canonical layout.
    #[error("word {word} ({field}) must be {expected}, got {got}")]
    Layout {
        /// The index of the word.
        word: usize,
        /// What the word holds.
        field: &'static str,
        /// The canonical value.
        expected: u64,
        /// The value found.
        got: U256,
    },
    /// `txType` is not 1.
    #[error("unknown transaction type {0}: only payments (type 1) exist")]
    TxType(U256),
    /// More than 4 inputs.
    #[error("a transaction spends at most {MAX_INPUTS} inputs, got {0}")]
    TooManyInputs(U256),
    /// No outputs.
    #[error("a transaction must create at least one output")]
    NoOutputs,
    /// More than 4 outputs.
    #[error("a transaction creates at most {MAX_OUTPUTS} outputs, got {0}")]
    TooManyOutputs(U256),
    /// The length does not match the declared number of inputs and outputs.
    #[error("{inputs} inputs and {outputs} outputs take {expected} bytes, got {got}")]
    Length {
        /// Declared inputs.
        inputs: usize,
        /// Declared outputs.
        outputs: usize,
        /// The canonical length.
        expected: usize,
        /// The length given.
        got: usize,
    },
    /// An input is not a well-formed UTXO position.
    #[error("input {index}: {reason}")]
    Input {
        /// The input's index.
        index: usize,
        /// What is wrong with it.
        reason: UtxoPosError,
    },
    /// An output's type is not 1.
    #[error("output {index}: unknown output type {got}: only payment outputs (type 1) exist")]
    OutputType {
        /// The output's index.
        index: usize,
        /// The type found.
        got: U256,
    },
    /// An address word with non-zero high bytes.
    #[error("output {index}: {field} is not a 20-byte address (non-zero padding)")]
    DirtyAddress {
        /// The output's index.
        index: usize,
        /// `owner` or `token`.
        field: &'static str,
    },
}

/// The encoded length of a transaction with `inputs` inputs and `outputs` outputs.
pub const fn encoded_len(inputs: usize, outputs: usize) -> usize {
    (FIXED_WORDS + inputs + OUTPUT_WORDS * outputs) * WORD
}

/// `abi.encode(transaction)`.
pub fn encode(tx: &Transaction) -> Vec<u8> {
    let n = tx.inputs.len();
    let mut out = Vec::with_capacity(encoded_len(n, tx.outputs.len()));
    let mut word = |value: U256| out.extend_from_slice(&value.to_be_bytes::<32>());
    word(U256::from(0x20));
    word(U256::from(TX_TYPE_PAYMENT));
    word(U256::from(0x80));
    word(U256::from(0xa0 + WORD * n));
    word(tx.metadata.into());
    word(U256::from(n));
    for input in &tx.inputs {
        word(input.to_u256());
    }
    word(U256::from(tx.outputs.len()));
    for output in &tx.outputs {
        word(U256::from(OUTPUT_TYPE_PAYMENT));
        word(address_word(output.owner));
        word(address_word(output.token));
        word(output.amount);
    }
    out
}

fn address_word(address: Address) -> U256 {
    B256::left_padding_from(address.as_slice()).into()
}

/// Reads 32-byte words of an encoding; every access is bounds-checked.
struct Words<'a>(&'a [u8]);

impl Words<'_> {
    fn get(&self, index: usize) -> Option<&[u8; 32]> {
        let start = index.checked_mul(WORD)?;
        self.0.get(start..start.checked_add(WORD)?)?.try_into().ok()
    }

    fn uint(&self, index: usize) -> Option<U256> {
        self.get(index).map(|w| U256::from_be_bytes(*w))
    }

    fn expect(&self, index: usize, field: &'static str, expected: u64) -> Result<(), DecodeError> {
        let got = self.uint(index).unwrap_or_default();
        if got == U256::from(expected) {
            Ok(())
        } else {
            Err(DecodeError::Layout {
                word: index,
                field,
                expected,
                got,
            })
        }
    }

    fn address(
        &self,
        index: usize,
        output: usize,
        field: &'static str,
    ) -> Result<Address, DecodeError> {
        match self.get(index) {
            Some(w) if w[..12].iter().all(|b| *b == 0) => Ok(Address::from_slice(&w[12..])),
            _ => Err(DecodeError::DirtyAddress {
                index: output,
                field,
            }),
        }
    }
}

/// Decodes canonical `abi.encode(transaction)` bytes; see the module docs for what is checked.
pub fn decode(bytes: &[u8]) -> Result<Transaction, DecodeError> {
    if bytes.len() < FIXED_WORDS * WORD || !bytes.len().is_multiple_of(WORD) {
        return Err(DecodeError::Truncated { got: bytes.len() });
    }
    let words = Words(bytes);
    words.expect(0, "struct offset", 0x20)?;
    let tx_type = words.uint(1).unwrap_or_default();
    if tx_type != U256::from(TX_TYPE_PAYMENT) {
        return Err(DecodeError::TxType(tx_type));
    }
    words.expect(2, "inputs offset", 0x80)?;
    let n_inputs = words.uint(5).unwrap_or_default();
    if n_inputs > U256::from(MAX_INPUTS) {
        return Err(DecodeError::TooManyInputs(n_inputs));
    }
    let n = n_inputs.to::<usize>();
    words.expect(3, "outputs offset", (0xa0 + WORD * n) as u64)?;
    let n_outputs = words
        .uint(6 + n)
        .ok_or(DecodeError::Truncated { got: bytes.len() })?;
    if n_outputs.is_zero() {
        return Err(DecodeError::NoOutputs);
    }
    if n_outputs > U256::from(MAX_OUTPUTS) {
        return Err(DecodeError::TooManyOutputs(n_outputs));
    }
    let m = n_outputs.to::<usize>();
    let expected = encoded_len(n, m);
    if bytes.len() != expected {
        return Err(DecodeError::Length {
            inputs: n,
            outputs: m,
            expected,
            got: bytes.len(),
        });
    }

    let metadata = B256::from(*words.get(4).unwrap_or(&[0; 32]));
    let inputs = (0..n)
        .map(|index| {
            UtxoPos::from_u256(words.uint(6 + index).unwrap_or_default())
                .map_err(|reason| DecodeError::Input { index, reason })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let outputs = (0..m)
        .map(|index| {
            let base = FIXED_WORDS + n + OUTPUT_WORDS * index;
            let output_type = words.uint(base).unwrap_or_default();
            if output_type != U256::from(OUTPUT_TYPE_PAYMENT) {
                return Err(DecodeError::OutputType {
                    index,
                    got: output_type,
                });
            }
            Ok(Output {
                owner: words.address(base + 1, index, "owner")?,
                token: words.address(base + 2, index, "token")?,
                amount: words.uint(base + 3).unwrap_or_default(),
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Transaction {
        inputs,
        outputs,
        metadata,
    })
}
