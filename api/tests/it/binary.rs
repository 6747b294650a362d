//! The binary page of blocks and the binary submit body: each reads back exactly what was
//! written, and any other bytes are an error, never a panic or a huge allocation.

use alloy_primitives::{Address, B256, Bytes, U256};
use plasma_api::{
    BinaryError, BlockJson, ErrorCode, MAX_BATCH, SignedTransactionJson, Submission,
    TRANSACTIONS_MEDIA_TYPE, batch_body, decode_binary_submission, decode_blocks,
    decode_submission, decode_submission_as, encode_block_jsons, encode_blocks,
    encode_transaction_jsons, encode_transactions, is_binary_submission,
};
use plasma_core::{
    Block, Domain, ETH, Output, SignedTransaction, Transaction, TxSignature, UtxoPos,
};
use proptest::prelude::*;

fn signed_json() -> impl Strategy<Value = SignedTransactionJson> {
    (
        prop::collection::vec(any::<u8>(), 0..300),
        prop::collection::vec(prop::collection::vec(any::<u8>(), 65), 0..5),
    )
        .prop_map(|(tx, sigs)| SignedTransactionJson {
            tx: Bytes::from(tx),
            signatures: sigs
                .iter()
                .map(|s| TxSignature::from_slice(s).unwrap())
                .collect(),
        })
}

fn block_json() -> impl Strategy<Value = BlockJson> {
    (
        any::<u64>(),
        any::<[u8; 32]>(),
        any::<u64>(),
        prop::collection::vec(signed_json(), 0..20),
    )
        .prop_map(|(blknum, root, timestamp, transactions)| BlockJson {
            blknum,
            root: B256::from(root),
            timestamp,
            transactions,
        })
}

proptest! {
    #[test]
    fn pages_read_back_as_written(blocks in prop::collection::vec(block_json(), 0..6)) {
        let page = encode_block_jsons(&blocks);
        prop_assert_eq!(decode_blocks(Bytes::from(page)).unwrap(), blocks);
    }

    /// Every proper prefix of a page is an error (the page ends inside a field), never a
    /// shorter page read as whole.
    #[test]
    fn a_cut_page_does_not_decode(blocks in prop::collection::vec(block_json(), 1..4), cut in any::<prop::sample::Index>()) {
        let page = encode_block_jsons(&blocks);
        let cut = cut.index(page.len());
        let truncated = decode_blocks(Bytes::copy_from_slice(&page[..cut]));
        let is_truncated = matches!(truncated, Err(BinaryError::Truncated { .. }));
        prop_assert!(is_truncated);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        let _ = decode_blocks(Bytes::from(bytes));
    }
}

#[test]
fn bytes_after_the_last_block_are_refused() {
    let mut page = encode_block_jsons(&[]);
    page.push(0);
    assert_eq!(
        decode_blocks(Bytes::from(page)),
        Err(BinaryError::Trailing { extra: 1 })
    );
}

/// A sender's counts cannot make the reader reserve memory the bytes do not back.
#[test]
fn huge_counts_in_a_short_page_are_truncation_not_allocation() {
    let page = [0xff, 0xff, 0xff, 0xff];
    assert!(matches!(
        decode_blocks(Bytes::copy_from_slice(&page)),
        Err(BinaryError::Truncated { .. })
    ));
    let mut block = 1u32.to_be_bytes().to_vec();
    block.extend_from_slice(&[0u8; 48]);
    block.extend_from_slice(&u32::MAX.to_be_bytes());
    assert!(matches!(
        decode_blocks(Bytes::from(block)),
        Err(BinaryError::Truncated { .. })
    ));
}

/// The operator's blocks and the JSON form of them write the same page.
#[test]
fn an_operator_block_writes_the_page_of_its_json_form() {
    let key = alloy_signer_local::PrivateKeySigner::random();
    let domain = Domain::new(1, Address::repeat_byte(7));
    let txs = (0..3u64)
        .map(|i| {
            SignedTransaction::sign(
                Transaction::payment(
                    vec![UtxoPos::new(1000, i, 0).unwrap()],
                    vec![Output::new(key.address(), ETH, U256::from(i + 1))],
                ),
                &domain,
                &key,
            )
            .unwrap()
        })
        .collect();
    let block = Block::new(2000, 1_700_000_000, txs).unwrap();
    let page = encode_blocks([&block]);
    assert_eq!(page, encode_block_jsons(&[BlockJson::from(&block)]));
    let read = decode_blocks(Bytes::from(page)).unwrap();
    assert_eq!(Block::try_from(read[0].clone()).unwrap(), block);
}

/// Signed payments of one input each, `count` of them, with amounts from `amounts`.
fn signed_payments(amounts: &[u64]) -> Vec<SignedTransaction> {
    let key = alloy_signer_local::PrivateKeySigner::random();
    let domain = Domain::new(1, Address::repeat_byte(7));
    amounts
        .iter()
        .enumerate()
        .map(|(i, amount)| {
            SignedTransaction::sign(
                Transaction::payment(
                    vec![UtxoPos::new(1000, i as u64, 0).unwrap()],
                    vec![Output::new(key.address(), ETH, U256::from(*amount))],
                ),
                &domain,
                &key,
            )
            .unwrap()
        })
        .collect()
}

/// The transactions of a decoded submission, each or its error code.
fn decoded(submission: Submission) -> Vec<Result<SignedTransaction, ErrorCode>> {
    let Submission::Batch(items) = submission else {
        panic!("a binary body is always a batch");
    };
    items.into_iter().map(|i| i.map_err(|e| e.code)).collect()
}

proptest! {
    /// A binary submit body reads back as the transactions it was made of, as the JSON body of
    /// the same transactions does.
    #[test]
    fn binary_submissions_read_back_as_the_json_form_does(amounts in prop::collection::vec(1u64..u64::MAX, 1..40)) {
        let txs = signed_payments(&amounts);
        let binary = decode_binary_submission(&encode_transactions(&txs)).unwrap();
        let json = decode_submission(&batch_body(&txs)).unwrap();
        let binary = decoded(binary);
        prop_assert_eq!(&binary, &decoded(json));
        prop_assert_eq!(binary, txs.into_iter().map(Ok).collect::<Vec<_>>());
    }

    /// A cut binary body is refused whole, with `malformed_binary`.
    #[test]
    fn a_cut_submission_is_malformed_binary(amounts in prop::collection::vec(1u64..1000, 1..5), cut in any::<prop::sample::Index>()) {
        let body = encode_transactions(&signed_payments(&amounts));
        let cut = cut.index(body.len());
        let refused = decode_binary_submission(&body[..cut]).unwrap_err();
        prop_assert_eq!(refused.code, ErrorCode::MalformedBinary);
    }

    #[test]
    fn arbitrary_submission_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        let _ = decode_binary_submission(&bytes);
    }
}

/// One bad transaction in a binary batch gets the code its JSON form gets, in its place; the
/// others decode.
#[test]
fn a_bad_item_of_a_binary_batch_gets_the_json_forms_code_in_its_place() {
    let txs = signed_payments(&[1, 2, 3]);
    let mut items: Vec<SignedTransactionJson> =
        txs.iter().map(SignedTransactionJson::from).collect();
    // Not a transaction's canonical bytes: one word too many.
    let mut long = items[1].tx.to_vec();
    long.extend_from_slice(&[0u8; 32]);
    items[1].tx = Bytes::from(long);
    let json = serde_json::to_vec(&items).unwrap();
    let binary = decoded(decode_binary_submission(&encode_transaction_jsons(&items)).unwrap());
    assert_eq!(binary, decoded(decode_submission(&json).unwrap()));
    assert!(binary[0].is_ok() && binary[2].is_ok(), "{binary:?}");
    assert!(binary[1].is_err(), "{binary:?}");
}

#[test]
fn binary_batch_counts_and_framing() {
    // No transactions, and more than a batch holds: invalid_batch, as for JSON.
    let code = |body: &[u8]| decode_binary_submission(body).unwrap_err().code;
    assert_eq!(code(&0u32.to_be_bytes()), ErrorCode::InvalidBatch);
    let many = signed_payments(&vec![1; MAX_BATCH + 1]);
    assert_eq!(code(&encode_transactions(&many)), ErrorCode::InvalidBatch);
    // A huge count over a short body is a framing error, not an allocation.
    assert_eq!(code(&u32::MAX.to_be_bytes()), ErrorCode::MalformedBinary);
    // Bytes after the last transaction.
    let mut body = encode_transactions(&signed_payments(&[5]));
    body.push(0);
    assert_eq!(code(&body), ErrorCode::MalformedBinary);
    assert_eq!(code(&[]), ErrorCode::MalformedBinary);
}

/// The content type chooses the decoder; JSON stays the default for any other or none.
#[test]
fn the_content_type_chooses_the_form() {
    let txs = signed_payments(&[7, 8]);
    let binary = encode_transactions(&txs);
    let json = batch_body(&txs);
    for content_type in [
        TRANSACTIONS_MEDIA_TYPE,
        "Application/Vnd.Plasma.Transactions",
        "application/vnd.plasma.transactions; charset=binary",
    ] {
        assert!(is_binary_submission(content_type), "{content_type}");
        let read = decode_submission_as(Some(content_type), &binary).unwrap();
        assert_eq!(
            decoded(read),
            txs.iter().cloned().map(Ok).collect::<Vec<_>>()
        );
    }
    for content_type in [None, Some("application/json"), Some("text/plain")] {
        let read = decode_submission_as(content_type, &json).unwrap();
        assert_eq!(
            decoded(read),
            txs.iter().cloned().map(Ok).collect::<Vec<_>>()
        );
        // And binary bytes sent as JSON are malformed JSON, not something else.
        let refused = decode_submission_as(content_type, &binary).unwrap_err();
        assert_eq!(refused.code, ErrorCode::MalformedJson, "{content_type:?}");
    }
    assert!(!is_binary_submission("application/vnd.plasma.blocks"));
}
