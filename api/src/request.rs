//! The decoder of `POST /v1/transactions`: the one place that turns request bytes into signed
//! transactions, with the error code each kind of bad input gets.
//!
//! A body is one [`SignedTransactionJson`](crate::SignedTransactionJson) object or a JSON
//! array of 1 to [`MAX_BATCH`] of them, or — sent as
//! [`TRANSACTIONS_MEDIA_TYPE`](crate::binary::TRANSACTIONS_MEDIA_TYPE) — a binary batch
//! ([`crate::binary`]). Each item of a batch is decoded on its own, so one bad item is reported
//! in its place and the others still count; both forms give each bad item the same code.

use std::borrow::Cow;

use plasma_core::{SignedTransaction, TxSignature};
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::error::ErrorCode;

/// Most transactions in one batch submit.
pub const MAX_BATCH: usize = 1000;

/// Why (part of) a request is refused: the code and a message for people.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct RequestError {
    /// The code.
    pub code: ErrorCode,
    /// What is wrong.
    pub message: String,
}

impl RequestError {
    fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

/// A decoded submission.
#[derive(Debug)]
pub enum Submission {
    /// One transaction (an object body).
    One(SignedTransaction),
    /// A batch (an array body): each item decoded, or why not.
    Batch(Vec<Result<SignedTransaction, RequestError>>),
}

/// The wire shape of a signed transaction with its strings borrowed from the body (the same
/// fields as [`SignedTransactionJson`](crate::SignedTransactionJson), read without copying).
#[derive(Deserialize)]
struct Borrowed<'a> {
    #[serde(borrow)]
    tx: Cow<'a, str>,
    #[serde(borrow)]
    signatures: Vec<Cow<'a, str>>,
}

fn parse_hex(field: &str, s: &str) -> Result<Vec<u8>, RequestError> {
    let digits = s.strip_prefix("0x").ok_or_else(|| {
        RequestError::new(
            ErrorCode::MalformedHex,
            format!("{field} must start with 0x"),
        )
    })?;
    alloy_primitives::hex::decode(digits)
        .map_err(|e| RequestError::new(ErrorCode::MalformedHex, format!("{field}: {e}")))
}

/// One signed transaction from its JSON text.
pub fn decode_signed(json: &str) -> Result<SignedTransaction, RequestError> {
    let raw: Borrowed<'_> = serde_json::from_str(json).map_err(|e| {
        // Text that is not JSON at all is malformed, not merely of the wrong shape.
        match serde_json::from_str::<serde::de::IgnoredAny>(json) {
            Err(syntax) => RequestError::new(ErrorCode::MalformedJson, syntax.to_string()),
            Ok(_) => RequestError::new(
                ErrorCode::InvalidRequest,
                format!("expected {{\"tx\": \"0x..\", \"signatures\": [\"0x..\"]}}: {e}"),
            ),
        }
    })?;
    let bytes = parse_hex("tx", &raw.tx)?;
    let signatures = raw
        .signatures
        .iter()
        .enumerate()
        .map(|(i, s)| {
            TxSignature::from_slice(&parse_hex("signature", s)?).map_err(|e| {
                RequestError::new(ErrorCode::BadSignature, format!("signature {i}: {e}"))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    SignedTransaction::decode(&bytes, signatures)
        .map_err(|e| RequestError::new(ErrorCode::from(&e), e.to_string()))
}

/// Decodes a `POST /v1/transactions` body by its `Content-Type`: the binary batch when it names
/// [`TRANSACTIONS_MEDIA_TYPE`](crate::binary::TRANSACTIONS_MEDIA_TYPE), JSON otherwise (with or
/// without a content type, as before the binary form existed).
pub fn decode_submission_as(
    content_type: Option<&str>,
    body: &[u8],
) -> Result<Submission, RequestError> {
    if content_type.is_some_and(is_binary_submission) {
        decode_binary_submission(body)
    } else {
        decode_submission(body)
    }
}

/// Whether a `Content-Type` names the binary submit form (parameters and case aside).
pub fn is_binary_submission(content_type: &str) -> bool {
    content_type.split(';').next().is_some_and(|t| {
        t.trim()
            .eq_ignore_ascii_case(crate::binary::TRANSACTIONS_MEDIA_TYPE)
    })
}

/// Decodes a binary `POST /v1/transactions` body ([`crate::binary`]): always a batch. A body
/// that does not frame is refused whole (`malformed_binary`); each framed transaction is then
/// decoded on its own, with the codes of the JSON form.
pub fn decode_binary_submission(body: &[u8]) -> Result<Submission, RequestError> {
    let (count, framed) = crate::binary::decode_transactions(body)
        .map_err(|e| RequestError::new(ErrorCode::MalformedBinary, e.to_string()))?;
    if count == 0 || count as usize > MAX_BATCH {
        return Err(RequestError::new(
            ErrorCode::InvalidBatch,
            format!("a batch holds 1 to {MAX_BATCH} transactions, not {count}"),
        ));
    }
    Ok(Submission::Batch(
        framed
            .into_iter()
            .map(|(bytes, signatures)| {
                SignedTransaction::decode(bytes, signatures)
                    .map_err(|e| RequestError::new(ErrorCode::from(&e), e.to_string()))
            })
            .collect(),
    ))
}

/// Decodes a JSON `POST /v1/transactions` body.
pub fn decode_submission(body: &[u8]) -> Result<Submission, RequestError> {
    let text = std::str::from_utf8(body).map_err(|e| {
        RequestError::new(
            ErrorCode::MalformedJson,
            format!("the body is not UTF-8: {e}"),
        )
    })?;
    if !text.trim_start().starts_with('[') {
        return decode_signed(text).map(Submission::One);
    }
    let items: Vec<&RawValue> = serde_json::from_str(text)
        .map_err(|e| RequestError::new(ErrorCode::MalformedJson, e.to_string()))?;
    if items.is_empty() || items.len() > MAX_BATCH {
        return Err(RequestError::new(
            ErrorCode::InvalidBatch,
            format!("a batch holds 1 to {MAX_BATCH} transactions"),
        ));
    }
    Ok(Submission::Batch(
        items.iter().map(|item| decode_signed(item.get())).collect(),
    ))
}

/// The two forms of a `POST /v1/transactions` batch body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SubmitEncoding {
    /// A JSON array of `{"tx", "signatures"}` objects, hex strings ([`batch_body`]).
    Json,
    /// The binary batch ([`crate::binary::encode_transactions`]): no JSON, no hex.
    #[default]
    Binary,
}

impl SubmitEncoding {
    /// The batch body of `txs` in this form.
    pub fn encode(self, txs: &[SignedTransaction]) -> Vec<u8> {
        match self {
            Self::Json => batch_body(txs),
            Self::Binary => crate::binary::encode_transactions(txs),
        }
    }

    /// The `Content-Type` of a body in this form.
    pub fn media_type(self) -> &'static str {
        match self {
            Self::Json => "application/json",
            Self::Binary => crate::binary::TRANSACTIONS_MEDIA_TYPE,
        }
    }
}

/// The body of a batch submit of `txs`: what [`decode_submission`] reads back as a
/// [`Submission::Batch`] of them.
pub fn batch_body(txs: &[SignedTransaction]) -> Vec<u8> {
    let json: Vec<crate::SignedTransactionJson> =
        txs.iter().map(crate::SignedTransactionJson::from).collect();
    // Plain data: serializing it cannot fail.
    serde_json::to_vec(&json).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use alloy_primitives::{Address, U256};
    use plasma_core::{Output, Transaction, UtxoPos};

    use super::*;
    use crate::SignedTransactionJson;

    fn signed() -> SignedTransaction {
        let tx = Transaction::payment(
            vec![UtxoPos::new(1000, 0, 0).unwrap()],
            vec![Output::new(
                Address::repeat_byte(1),
                Address::ZERO,
                U256::from(5),
            )],
        );
        SignedTransaction::new(tx, vec![TxSignature([7; 65])])
    }

    fn code(body: &str) -> ErrorCode {
        match decode_submission(body.as_bytes()) {
            Err(e) => e.code,
            Ok(Submission::One(_)) => panic!("{body} decoded"),
            Ok(Submission::Batch(items)) => items.into_iter().find_map(Result::err).unwrap().code,
        }
    }

    #[test]
    fn what_the_client_encodes_the_server_decodes() {
        let tx = signed();
        let body = serde_json::to_vec(&SignedTransactionJson::from(&tx)).unwrap();
        assert!(matches!(decode_submission(&body), Ok(Submission::One(got)) if got == tx));
        let batch = serde_json::to_vec(&vec![SignedTransactionJson::from(&tx); 2]).unwrap();
        let Ok(Submission::Batch(items)) = decode_submission(&batch) else {
            panic!("a batch")
        };
        assert_eq!(items, vec![Ok(tx.clone()), Ok(tx)]);
    }

    #[test]
    fn each_bad_input_gets_its_code() {
        let good = serde_json::to_string(&SignedTransactionJson::from(&signed())).unwrap();
        assert_eq!(code("{not json"), ErrorCode::MalformedJson);
        assert_eq!(code(r#"{"tx": 5}"#), ErrorCode::InvalidRequest);
        assert_eq!(
            code(r#"{"tx": "00", "signatures": []}"#),
            ErrorCode::MalformedHex
        );
        assert_eq!(
            code(r#"{"tx": "0x00", "signatures": []}"#),
            ErrorCode::NonCanonicalEncoding
        );
        let short_sig = good.replace(&"07".repeat(65), "0707");
        assert_eq!(code(&short_sig), ErrorCode::BadSignature);
        assert_eq!(code("[]"), ErrorCode::InvalidBatch);
        assert_eq!(code(&format!("[{good}, {{}}]")), ErrorCode::InvalidRequest);
        assert_eq!(
            decode_submission(&[0xff, 0xfe]).unwrap_err().code,
            ErrorCode::MalformedJson
        );
    }
}
