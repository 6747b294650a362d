//! The operator's `POST /v1/transactions` body parser on arbitrary bytes: it never panics;
//! every transaction it accepts (alone or in a batch) holds canonical bytes that decode back to
//! the same transaction and survive the client's JSON encoding; a batch holds 1 to
//! `MAX_BATCH` items; and `malformed_json` is answered exactly for bodies that are not JSON.
//! The same bytes go to the binary batch decoder too: it never panics, refuses a whole body
//! only as `malformed_binary` or `invalid_batch`, and what it accepts holds the same of each
//! transaction and survives the binary encoding.
#![no_main]

use libfuzzer_sys::fuzz_target;
use plasma_api::{
    ErrorCode, MAX_BATCH, RequestError, SignedTransactionJson, Submission, batch_body,
    decode_binary_submission, decode_signed, decode_submission, encode_transactions,
};
use plasma_core::{SignedTransaction, Transaction};

/// What must hold of every transaction the parser hands to the operator.
fn check_accepted(tx: &SignedTransaction) {
    let canonical = tx.tx().encode();
    assert_eq!(
        tx.bytes(),
        &canonical,
        "accepted bytes are not the canonical encoding of the decoded transaction"
    );
    assert_eq!(
        Transaction::decode(&canonical).as_ref(),
        Ok(tx.tx()),
        "the canonical encoding does not decode back to the same transaction"
    );
    // What the client would send for it decodes to the same signed transaction.
    let json = serde_json::to_string(&SignedTransactionJson::from(tx)).expect("plain data");
    assert_eq!(
        decode_signed(&json).as_ref(),
        Ok(tx),
        "the client's encoding of an accepted transaction is refused or differs"
    );
}

/// Syntactically JSON (serde_json's own notion, as lax about escapes as the parser is).
fn is_json(body: &[u8]) -> bool {
    serde_json::from_slice::<serde::de::IgnoredAny>(body).is_ok()
}

/// What must hold of a decoded batch of either form (`form` names it in failures): 1 to
/// `MAX_BATCH` items; each refused item passes `check_refusal`; each accepted transaction
/// passes [`check_accepted`]; and the accepted ones, encoded again by the client's encoder of
/// that form and decoded by `decode`, are the same transactions.
fn check_batch(
    form: &str,
    items: Vec<Result<SignedTransaction, RequestError>>,
    check_refusal: impl Fn(&RequestError),
    encode: impl Fn(&[SignedTransaction]) -> Vec<u8>,
    decode: impl Fn(&[u8]) -> Result<Submission, RequestError>,
) {
    assert!(
        (1..=MAX_BATCH).contains(&items.len()),
        "a {form} batch of {} items was accepted",
        items.len()
    );
    let accepted: Vec<SignedTransaction> = items
        .into_iter()
        .filter_map(|item| item.inspect_err(&check_refusal).ok())
        .collect();
    accepted.iter().for_each(check_accepted);
    if !accepted.is_empty() {
        // The accepted items, as the client encodes a batch, decode to themselves.
        let Ok(Submission::Batch(again)) = decode(&encode(&accepted)) else {
            panic!("the client's {form} batch body of accepted transactions is refused");
        };
        let again: Vec<_> = again.into_iter().map(Result::ok).collect();
        assert_eq!(
            again,
            accepted.into_iter().map(Some).collect::<Vec<_>>(),
            "the client's {form} batch body decodes to other transactions"
        );
    }
}

/// The binary decoder on `data`.
fn check_binary(data: &[u8]) {
    match decode_binary_submission(data) {
        Ok(Submission::One(_)) => panic!("a binary body decoded as one transaction"),
        Ok(Submission::Batch(items)) => check_batch(
            "binary",
            items,
            // Framing is checked for the whole body before any item is decoded.
            |e| {
                assert!(
                    !matches!(e.code, ErrorCode::MalformedBinary | ErrorCode::InvalidBatch),
                    "item: {e}"
                )
            },
            encode_transactions,
            decode_binary_submission,
        ),
        Err(e) => assert!(
            matches!(e.code, ErrorCode::MalformedBinary | ErrorCode::InvalidBatch),
            "a binary body refused whole with {e}"
        ),
    }
}

fuzz_target!(|data: &[u8]| {
    check_binary(data);
    let text = std::str::from_utf8(data).ok();
    let is_batch_body = text.is_some_and(|t| t.trim_start().starts_with('['));

    let submission = decode_submission(data);
    // The single-transaction decoder on its own (the batch path calls it per item); an object
    // body is exactly `decode_signed` of it.
    if let Some(text) = text {
        let single = decode_signed(text);
        if let Ok(tx) = &single {
            check_accepted(tx);
        }
        if !is_batch_body {
            match (&submission, &single) {
                (Ok(Submission::One(a)), Ok(b)) => assert_eq!(a, b),
                (Err(a), Err(b)) => assert_eq!(a, b),
                (a, b) => panic!("decode_submission {a:?} but decode_signed {b:?}"),
            }
        }
    }

    match submission {
        Ok(Submission::One(tx)) => {
            assert!(!is_batch_body, "an array body decoded as one transaction");
            check_accepted(&tx);
        }
        Ok(Submission::Batch(items)) => {
            assert!(is_batch_body, "a non-array body decoded as a batch");
            check_batch(
                "JSON",
                items,
                // Each item is a JSON value the batch parser already cut out.
                |e| assert_ne!(e.code, ErrorCode::MalformedJson, "item: {e}"),
                batch_body,
                decode_submission,
            );
        }
        Err(e) => {
            let not_json = text.is_none() || !is_json(data);
            assert_eq!(
                e.code == ErrorCode::MalformedJson,
                not_json,
                "malformed_json must be answered exactly for bodies that are not JSON: {e}"
            );
        }
    }
});
