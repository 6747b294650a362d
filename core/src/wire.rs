//! JSON wire types of the operator's `/v1` API, shared by the operator and every client so both
//! sides use one definition without importing each other.
//!
//! Numbers that can exceed 2^53 (amounts, UTXO positions) are decimal strings; byte strings are
//! `0x`-prefixed hex.

use alloy_primitives::{Address, B256, Bytes, U256};
use serde::{Deserialize, Serialize};

use crate::block::Block;
use crate::encoding::DecodeError;
use crate::signature::TxSignature;
use crate::signed::SignedTransaction;
use crate::utxo::UtxoPos;

/// `{"tx": "0x<txBytes>", "signatures": ["0x<65 bytes>", ...]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedTransactionJson {
    /// The canonical transaction bytes.
    pub tx: Bytes,
    /// One signature per input, in input order.
    pub signatures: Vec<TxSignature>,
}

impl From<&SignedTransaction> for SignedTransactionJson {
    fn from(tx: &SignedTransaction) -> Self {
        Self {
            tx: tx.bytes().clone(),
            signatures: tx.signatures().to_vec(),
        }
    }
}

impl TryFrom<SignedTransactionJson> for SignedTransaction {
    type Error = DecodeError;

    fn try_from(json: SignedTransactionJson) -> Result<Self, Self::Error> {
        SignedTransaction::decode(&json.tx, json.signatures)
    }
}

/// `{"blknum": n, "root": "0x..", "timestamp": t, "transactions": [...]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockJson {
    /// The block number.
    pub blknum: u64,
    /// The Merkle root committed on L1.
    pub root: B256,
    /// Unix time of the L1 commitment.
    pub timestamp: u64,
    /// The transactions in index order.
    pub transactions: Vec<SignedTransactionJson>,
}

impl From<&Block> for BlockJson {
    fn from(block: &Block) -> Self {
        Self {
            blknum: block.blknum,
            root: block.root,
            timestamp: block.timestamp,
            transactions: block.transactions.iter().map(Into::into).collect(),
        }
    }
}

impl TryFrom<BlockJson> for Block {
    type Error = (usize, DecodeError);

    /// Decodes every transaction; the error names the index of the first bad one. The root is
    /// taken as served: check it with [`Block::root_matches`].
    fn try_from(json: BlockJson) -> Result<Self, Self::Error> {
        let transactions = json
            .transactions
            .into_iter()
            .enumerate()
            .map(|(index, tx)| SignedTransaction::try_from(tx).map_err(|e| (index, e)))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Block {
            blknum: json.blknum,
            root: json.root,
            timestamp: json.timestamp,
            transactions,
        })
    }
}

/// What a standard exit needs: `{"utxoPos", "txBytes", "proof", "root"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExitData {
    /// The output to exit.
    pub utxo_pos: UtxoPos,
    /// The bytes of the transaction that created it.
    pub tx_bytes: Bytes,
    /// Its inclusion proof: 16 × 32 bytes, leaf level first.
    pub proof: Bytes,
    /// The root of its block.
    pub root: B256,
}

/// An unspent output with its position, as `GET /v1/accounts/{address}/utxos` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UtxoJson {
    /// Where the output lives.
    pub utxo_pos: UtxoPos,
    /// Its owner.
    pub owner: Address,
    /// Its token (zero address: ether).
    pub token: Address,
    /// Its amount, in base units.
    #[serde(with = "decimal")]
    pub amount: U256,
}

/// The body of every error response: `{"error": {"code": "...", "message": "..."}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// A machine-readable code and a message for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorDetail {
    /// Stable code, e.g. `input_spent`.
    pub code: String,
    /// What went wrong, for a person.
    pub message: String,
}

/// Serde for `U256` as a decimal string (alloy's default is hex).
pub mod decimal {
    use alloy_primitives::U256;
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes `value` as a decimal string.
    pub fn serialize<S: Serializer>(value: &U256, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(value)
    }

    /// Reads a decimal string (digits only: no sign, no hex, no exponent).
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<U256, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(serde::de::Error::custom(
                "amount must be a decimal string of digits",
            ));
        }
        U256::from_str_radix(&s, 10).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transaction::{Output, Transaction};

    #[test]
    fn signed_transaction_json_shape() {
        let tx = Transaction::payment(
            vec![UtxoPos::new(1000, 0, 0).unwrap()],
            vec![Output::new(
                Address::repeat_byte(1),
                Address::ZERO,
                U256::from(5),
            )],
        );
        let signed = SignedTransaction::new(tx, vec![TxSignature([7; 65])]);
        let json = serde_json::to_value(SignedTransactionJson::from(&signed)).unwrap();
        assert_eq!(json["tx"], signed.bytes().to_string());
        assert_eq!(json["signatures"][0], format!("0x{}", "07".repeat(65)));
        let back: SignedTransactionJson = serde_json::from_value(json).unwrap();
        assert_eq!(SignedTransaction::try_from(back).unwrap(), signed);
    }

    #[test]
    fn amounts_and_positions_are_decimal_strings() {
        let utxo = UtxoJson {
            utxo_pos: UtxoPos::new(1001, 0, 0).unwrap(),
            owner: Address::repeat_byte(2),
            token: Address::ZERO,
            amount: U256::MAX,
        };
        let json = serde_json::to_value(&utxo).unwrap();
        assert_eq!(json["utxoPos"], "1001000000000");
        assert_eq!(json["amount"], U256::MAX.to_string());
        assert_eq!(serde_json::from_value::<UtxoJson>(json).unwrap(), utxo);
        for bad in ["\"0x10\"", "\"-1\"", "\"\"", "\"1e3\"", "12"] {
            let text = format!(
                r#"{{"utxoPos":"1001000000000","owner":"{}","token":"{}","amount":{bad}}}"#,
                Address::ZERO,
                Address::ZERO
            );
            assert!(serde_json::from_str::<UtxoJson>(&text).is_err(), "{bad}");
        }
    }
}
