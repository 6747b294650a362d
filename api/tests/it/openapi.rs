//! `api/openapi.json` and the types must not drift apart: every schema of the document names
//! exactly the fields its type writes (and marks required exactly the ones always written),
//! and the document lists exactly the error codes of [`ErrorCode`].

use std::collections::BTreeSet;

use alloy_primitives::{Address, B256, Bytes, U256};
use plasma_api::{
    AccountUtxo, BatchResult, BatchResults, BlockJson, ErrorBody, ErrorCode, ExitData, Fees,
    OPENAPI, PaymentFee, SignedTransactionJson, Status, SubmitResult, TransactionJson, TxStatus,
    UtxoJson,
};
use plasma_core::{TxSignature, UtxoPos};
use serde::Serialize;
use serde_json::Value;

fn doc() -> Value {
    serde_json::from_str(OPENAPI).expect("openapi.json is JSON")
}

fn keys(value: &Value) -> BTreeSet<String> {
    value
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default()
}

/// Checks schema `name` against a value with every optional field set (`full`) and one with
/// every optional field absent (`minimal`).
fn check<T: Serialize>(name: &str, full: &T, minimal: &T) {
    let doc = doc();
    let schema = &doc["components"]["schemas"][name];
    assert!(schema.is_object(), "no schema {name} in openapi.json");
    let documented = keys(&schema["properties"]);
    let written = keys(&serde_json::to_value(full).unwrap());
    assert_eq!(
        documented, written,
        "schema {name}: documented fields (left) differ from the type's (right)"
    );
    let required: BTreeSet<String> = schema["required"]
        .as_array()
        .map(|r| {
            r.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let always = keys(&serde_json::to_value(minimal).unwrap());
    assert_eq!(
        required, always,
        "schema {name}: required fields (left) differ from the ones always written (right)"
    );
}

fn signed() -> SignedTransactionJson {
    SignedTransactionJson {
        tx: Bytes::from_static(&[1; 32]),
        signatures: vec![TxSignature([7; 65])],
    }
}

#[test]
fn every_schema_matches_its_type() {
    let hash = B256::repeat_byte(1);
    let included = SubmitResult::new(
        hash,
        TxStatus::Included {
            blknum: 1000,
            tx_index: 0,
        },
    );
    let pending = SubmitResult::new(hash, TxStatus::Pending);
    check("SubmitResult", &included, &pending);
    check("SignedTransaction", &signed(), &signed());
    let tx = |result: SubmitResult| TransactionJson {
        result,
        tx: signed().tx,
        signatures: signed().signatures,
    };
    check("Transaction", &tx(included.clone()), &tx(pending.clone()));
    let block = BlockJson {
        blknum: 1000,
        root: hash,
        timestamp: 1,
        transactions: vec![signed()],
    };
    check("Block", &block, &block);
    let pos = UtxoPos::new(1000, 0, 0).unwrap();
    let utxo = |pending_spend| AccountUtxo {
        utxo: UtxoJson {
            utxo_pos: pos,
            owner: Address::ZERO,
            token: Address::ZERO,
            amount: U256::from(1),
        },
        exiting: false,
        pending_spend,
    };
    check("AccountUtxo", &utxo(Some(hash)), &utxo(None));
    let exit = ExitData {
        utxo_pos: pos,
        tx_bytes: signed().tx,
        proof: Bytes::from_static(&[0; 512]),
        root: hash,
    };
    check("ExitData", &exit, &exit);
    let status = Status {
        chain_id: 1,
        root_chain: Address::ZERO,
        operator: Address::ZERO,
        next_block: 1000,
        latest_block: Some(1),
        last_committed_block: 0,
        l1_next_child_block: 1000,
        l1_head: 1,
        l1_cursor: 1,
        mempool_size: 0,
        min_fee: U256::ZERO,
    };
    // Status documents no `required`: every field is always written.
    let doc = doc();
    assert_eq!(
        keys(&doc["components"]["schemas"]["Status"]["properties"]),
        keys(&serde_json::to_value(&status).unwrap()),
        "schema Status"
    );
    let fees = |fee_address| Fees {
        token: Address::ZERO,
        min_fee: U256::from(10),
        payment: PaymentFee {
            inputs: 1,
            outputs: 2,
            fee: U256::from(10),
        },
        fee_address,
    };
    check("Fees", &fees(Some(Address::ZERO)), &fees(None));
    let error = ErrorBody::new(ErrorCode::DoubleSpend, "no");
    check("Error", &error, &error);
    let batch = BatchResults {
        results: vec![BatchResult::Ok(pending), BatchResult::Err(error)],
    };
    check("BatchResult", &batch, &batch);
}

#[test]
fn the_document_lists_exactly_the_error_codes() {
    let doc = doc();
    let listed: Vec<&str> =
        doc["components"]["schemas"]["Error"]["properties"]["error"]["properties"]["code"]["enum"]
            .as_array()
            .expect("the error code enum")
            .iter()
            .filter_map(Value::as_str)
            .collect();
    let known: Vec<&str> = ErrorCode::ALL.iter().map(ErrorCode::as_str).collect();
    assert_eq!(listed, known);
}
