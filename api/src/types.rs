//! Every request and response body of `/v1`, as the operator serializes them and clients read
//! them.
//!
//! Numbers that can exceed 2^53 (amounts, UTXO positions) are decimal strings; byte strings are
//! `0x`-prefixed hex; field names are camelCase.

use alloy_primitives::{Address, B256, Bytes, U256};
use plasma_core::{Block, DecodeError, SignedTransaction, TxSignature, UtxoPos};
use serde::{Deserialize, Serialize};

use crate::error::ErrorCode;

/// A signed transaction: `{"tx": "0x<txBytes>", "signatures": ["0x<65 bytes>", ...]}`. The body
/// of `POST /v1/transactions` (or an array of them, a batch), and each transaction of a block.
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
        SignedTransaction::decode_bytes(json.tx, json.signatures)
    }
}

/// A block: `{"blknum": n, "root": "0x..", "timestamp": t, "transactions": [...]}`
/// (`GET /v1/blocks/{blknum}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockJson {
    /// The block number.
    pub blknum: u64,
    /// The Merkle root committed on L1.
    pub root: B256,
    /// Unix time of the L1 commitment (0 while not yet committed).
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

/// A page of blocks (`GET /v1/blocks?from=&limit=`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlocksPage {
    /// Blocks in ascending order; the next page starts after the last.
    pub blocks: Vec<BlockJson>,
}

/// Where a transaction stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxStatus {
    /// Durably stored by the operator; waiting for a block.
    Pending,
    /// In block `blknum` at index `tx_index`.
    Included {
        /// The block.
        blknum: u64,
        /// The transaction's index in it.
        tx_index: u32,
    },
}

/// The answer to an accepted transaction (`POST /v1/transactions`), and each successful entry of
/// a batch's results: `{"txHash", "status": "pending" | "included", "blknum"?, "txIndex"?}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubmitResult {
    /// The transaction's hash.
    pub tx_hash: B256,
    /// `pending` or `included`.
    pub status: StatusName,
    /// The block, once included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blknum: Option<u64>,
    /// The index in the block, once included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tx_index: Option<u32>,
}

/// The `status` of a transaction on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StatusName {
    /// Stored, waiting for a block.
    Pending,
    /// In a block.
    Included,
}

impl SubmitResult {
    /// The result for transaction `tx_hash` in `status`.
    pub fn new(tx_hash: B256, status: TxStatus) -> Self {
        match status {
            TxStatus::Pending => Self {
                tx_hash,
                status: StatusName::Pending,
                blknum: None,
                tx_index: None,
            },
            TxStatus::Included { blknum, tx_index } => Self {
                tx_hash,
                status: StatusName::Included,
                blknum: Some(blknum),
                tx_index: Some(tx_index),
            },
        }
    }

    /// The status as a typed value (`Pending` when the fields of an inclusion are missing).
    pub fn tx_status(&self) -> TxStatus {
        match (self.status, self.blknum) {
            (StatusName::Included, Some(blknum)) => TxStatus::Included {
                blknum,
                tx_index: self.tx_index.unwrap_or_default(),
            },
            _ => TxStatus::Pending,
        }
    }
}

/// The answer to a batch: one result per transaction, in the batch's order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchResults {
    /// The results.
    pub results: Vec<BatchResult>,
}

/// One entry of a batch's `results`: the outcome, or the error body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum BatchResult {
    /// Accepted (or already known).
    Ok(SubmitResult),
    /// Refused; nothing of it was stored.
    Err(ErrorBody),
}

/// A transaction by hash (`GET /v1/transactions/{hash}`): where it is, and its data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TransactionJson {
    /// Where it stands.
    #[serde(flatten)]
    pub result: SubmitResult,
    /// Its canonical bytes.
    pub tx: Bytes,
    /// Its signatures.
    pub signatures: Vec<TxSignature>,
}

/// What a standard exit needs: `{"utxoPos", "txBytes", "proof", "root"}`
/// (`GET /v1/utxos/{utxoPos}/exit-data`).
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

/// An unspent output with its position.
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
    #[serde(with = "plasma_core::decimal")]
    pub amount: U256,
}

/// One output of an account (`GET /v1/accounts/{address}/utxos`), with its state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountUtxo {
    /// The output.
    #[serde(flatten)]
    pub utxo: UtxoJson,
    /// Whether a standard exit of it is in progress on L1.
    pub exiting: bool,
    /// The pending transaction spending it, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_spend: Option<B256>,
}

/// A page of an account's outputs, by ascending position.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountUtxos {
    /// The outputs.
    pub utxos: Vec<AccountUtxo>,
}

/// The operator's state (`GET /v1/status`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    /// The L1 chain id.
    pub chain_id: u64,
    /// The root contract.
    pub root_chain: Address,
    /// The operator's L1 address.
    pub operator: Address,
    /// The number the next operator block gets.
    pub next_block: u64,
    /// The highest stored block (operator or deposit).
    pub latest_block: Option<u64>,
    /// The highest operator block known committed on L1.
    pub last_committed_block: u64,
    /// `nextChildBlock()` of the root contract, as last read.
    pub l1_next_child_block: u64,
    /// The L1 head, as last read.
    pub l1_head: u64,
    /// The next L1 block the follower reads.
    pub l1_cursor: u64,
    /// Pending transactions.
    pub mempool_size: usize,
    /// The least fee accepted, in wei.
    #[serde(with = "plasma_core::decimal")]
    pub min_fee: U256,
}

/// The operator's fee schedule (`GET /v1/fees`). Fees are paid in ETH only: a payment's fee is
/// its ETH inputs less its ETH outputs, and the operator accepts any payment whose fee is at
/// least `minFee`, whatever its size.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Fees {
    /// The token fees are paid in: the zero address, ether.
    pub token: Address,
    /// The least fee accepted, in wei.
    #[serde(with = "plasma_core::decimal")]
    pub min_fee: U256,
    /// What a typical payment (one input, two outputs: the payee's and the change) costs.
    pub payment: PaymentFee,
    /// Who the blocks' fee claims pay (none when the operator claims no fees).
    pub fee_address: Option<Address>,
}

/// What a payment of a given shape costs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentFee {
    /// Its inputs.
    pub inputs: u8,
    /// Its outputs.
    pub outputs: u8,
    /// Its fee, in wei.
    #[serde(with = "plasma_core::decimal")]
    pub fee: U256,
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
    pub code: ErrorCode,
    /// What went wrong, for a person.
    pub message: String,
}

impl ErrorBody {
    /// The body for `code` with `message`.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            error: ErrorDetail {
                code,
                message: message.into(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use plasma_core::{Output, Transaction};

    use super::*;

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

    #[test]
    fn submit_results_carry_the_inclusion_only_when_included() {
        let hash = B256::repeat_byte(9);
        let pending = serde_json::to_value(SubmitResult::new(hash, TxStatus::Pending)).unwrap();
        assert_eq!(
            pending,
            serde_json::json!({"txHash": hash, "status": "pending"})
        );
        let included = SubmitResult::new(
            hash,
            TxStatus::Included {
                blknum: 2000,
                tx_index: 3,
            },
        );
        let json = serde_json::to_value(&included).unwrap();
        assert_eq!(json["blknum"], 2000);
        assert_eq!(json["txIndex"], 3);
        let back: SubmitResult = serde_json::from_value(json).unwrap();
        assert_eq!(back.tx_status(), included.tx_status());
        // A batch entry is either shape; an error keeps its code.
        let entry: BatchResult = serde_json::from_value(serde_json::json!(
            {"error": {"code": "double_spend", "message": "no"}}
        ))
        .unwrap();
        assert!(
            matches!(entry, BatchResult::Err(ErrorBody { error }) if error.code == ErrorCode::DoubleSpend)
        );
    }
}
