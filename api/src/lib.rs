//! # plasma-api
//!
//! The operator's `/v1` HTTP contract, once, for both sides: the operator serializes these
//! types and the client, the watcher, the load generator and the tests read them through the
//! typed [`ApiClient`]. Neither side imports the other; they meet here.
//!
//! ## What it owns
//! * [`types`] — every request and response body, with the wire's field names (camelCase),
//!   decimal strings for numbers above 2^53 and `0x` hex for bytes.
//! * [`ErrorCode`] — every error code the operator emits, one enum that clients match on.
//! * [`request`] — the decoder of `POST /v1/transactions` bodies, with the code of each kind of
//!   bad input.
//! * [`binary`] — the binary form of a page of blocks ([`BLOCKS_MEDIA_TYPE`]), which the
//!   client asks for and the operator serves beside the JSON form.
//! * [`ApiClient`] (feature `client`, on by default) — the typed async client of every
//!   endpoint.
//! * [`OPENAPI`] — the OpenAPI document of the API, checked against these types by the tests.
//! * `test_utils` (feature `test-utils`) — a fake operator that serves whatever blocks a test
//!   gives it, honest or not.
//!
//! ## Example
//! ```no_run
//! use plasma_api::ApiClient;
//!
//! # async fn example() -> Result<(), plasma_api::ClientError> {
//! let operator = ApiClient::new("http://127.0.0.1:7434");
//! let status = operator.status().await?;
//! if let Some(block) = operator.block(status.next_block - 1000).await? {
//!     println!("block {} has {} transactions", block.blknum, block.transactions.len());
//! }
//! # Ok(())
//! # }
//! ```

pub mod binary;
#[cfg(feature = "client")]
pub mod client;
pub mod error;
pub mod request;
#[cfg(feature = "test-utils")]
pub mod test_utils;
pub mod types;

pub use binary::{
    BLOCKS_MEDIA_TYPE, BinaryError, FramedTransaction, RawBlock, TRANSACTIONS_MEDIA_TYPE,
    decode_blocks, decode_transactions, encode_block_jsons, encode_blocks, encode_raw_blocks,
    encode_transaction_jsons, encode_transactions,
};
#[cfg(feature = "client")]
pub use client::{ApiClient, ClientError};
pub use error::ErrorCode;
pub use request::{
    MAX_BATCH, RequestError, Submission, SubmitEncoding, batch_body, decode_binary_submission,
    decode_signed, decode_submission, decode_submission_as, is_binary_submission,
};
pub use types::*;

/// The OpenAPI document of `/v1`, served by the operator at `GET /v1/openapi.json`.
pub const OPENAPI: &str = include_str!("../openapi.json");
