//! The HTTP API (warp): the `/v1` interface, `GET /metrics` and the OpenAPI document.
//!
//! Every error is `{"error": {"code", "message"}}` with a 4xx status (5xx only for internal
//! failures), and a rejected request changes no state. A `200` for a submitted transaction means
//! it is durably stored: after any crash and restart it is still pending or in a block (unless
//! one of its inputs starts exiting on L1 first, which drops it).

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use alloy::primitives::{Address, B256, Bytes};
use plasma_core::wire::{BlockJson, ErrorBody, ErrorDetail, ExitData, UtxoJson};
use plasma_core::{Block, SignedTransaction, TxSignature, UtxoPos};
use serde::{Deserialize, Serialize};
use warp::http::StatusCode;
use warp::hyper::body::Bytes as BodyBytes;
use warp::reply::Response;
use warp::{Filter, Rejection, Reply};

use crate::chain::{Chain, SubmitError, TxStatus};
use crate::store::{Db, StoreError};

/// The OpenAPI document of this API.
pub const OPENAPI: &str = include_str!("../openapi.json");

/// Most transactions in one batch submit.
pub const MAX_BATCH: usize = 1000;
/// Most blocks in one `GET /v1/blocks` page.
pub const MAX_BLOCKS_PAGE: usize = 100;
/// A `GET /v1/blocks` page stops adding blocks once it holds this many transactions (one full
/// block: about 80 MB of JSON); it always holds at least one block.
pub const MAX_PAGE_TXS: usize = plasma_merkle::MAX_LEAVES;
/// Most outputs in one `GET /v1/accounts/{address}/utxos` page.
pub const MAX_UTXOS_PAGE: usize = 10_000;

/// What the API serves from.
#[derive(Debug)]
pub struct ApiState {
    /// The chain.
    pub chain: Arc<Chain>,
    /// The root contract.
    pub root_chain: Address,
    /// The L1 chain id.
    pub chain_id: u64,
    /// The operator's L1 address.
    pub operator: Address,
}

/// An API error: status, code, message.
#[derive(Debug)]
struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    fn bad(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    fn not_found(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, code, message)
    }

    fn internal(e: impl std::fmt::Display) -> Self {
        tracing::error!(target: "operator::api", error = %e, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error",
        )
    }

    fn body(&self) -> ErrorBody {
        ErrorBody {
            error: ErrorDetail {
                code: self.code.to_owned(),
                message: self.message.clone(),
            },
        }
    }

    fn into_response(self) -> Response {
        let status = self.status;
        warp::reply::with_status(warp::reply::json(&self.body()), status).into_response()
    }
}

impl From<SubmitError> for ApiError {
    fn from(e: SubmitError) -> Self {
        let status = match &e {
            SubmitError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            SubmitError::DoubleSpend { .. } => StatusCode::CONFLICT,
            SubmitError::MempoolFull(_) => StatusCode::SERVICE_UNAVAILABLE,
            SubmitError::Store(_) | SubmitError::NotStored(_) => return Self::internal(e),
        };
        Self::new(status, e.code(), e.to_string())
    }
}

type ApiResult = Result<Response, ApiError>;

fn ok_json<T: Serialize>(value: &T) -> ApiResult {
    Ok(warp::reply::json(value).into_response())
}

/// Runs blocking store work off the async workers.
async fn blocking<F>(f: F) -> Response
where
    F: FnOnce() -> ApiResult + Send + 'static,
{
    match tokio::task::spawn_blocking(f).await {
        Ok(Ok(response)) => response,
        Ok(Err(e)) => e.into_response(),
        Err(e) => ApiError::internal(e).into_response(),
    }
}

/// The response to one accepted transaction.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct SubmitResult {
    tx_hash: B256,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    blknum: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tx_index: Option<u32>,
}

impl SubmitResult {
    fn new(tx_hash: B256, status: TxStatus) -> Self {
        match status {
            TxStatus::Pending => Self {
                tx_hash,
                status: "pending",
                blknum: None,
                tx_index: None,
            },
            TxStatus::Included { blknum, index } => Self {
                tx_hash,
                status: "included",
                blknum: Some(blknum),
                tx_index: Some(index),
            },
        }
    }
}

/// A signed transaction as sent: strings borrowed from the request body.
#[derive(Debug, Deserialize)]
struct RawSigned<'a> {
    #[serde(borrow)]
    tx: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    signatures: Vec<std::borrow::Cow<'a, str>>,
}

fn parse_hex(field: &str, s: &str) -> Result<Vec<u8>, ApiError> {
    let digits = s
        .strip_prefix("0x")
        .ok_or_else(|| ApiError::bad("malformed_hex", format!("{field} must start with 0x")))?;
    alloy::primitives::hex::decode(digits)
        .map_err(|e| ApiError::bad("malformed_hex", format!("{field}: {e}")))
}

/// A signed transaction from its JSON text.
fn parse_signed(json: &str) -> Result<SignedTransaction, ApiError> {
    let raw: RawSigned<'_> = serde_json::from_str(json).map_err(|e| {
        ApiError::bad(
            "invalid_request",
            format!("expected {{\"tx\": \"0x..\", \"signatures\": [\"0x..\"]}}: {e}"),
        )
    })?;
    let bytes = parse_hex("tx", &raw.tx)?;
    let signatures = raw
        .signatures
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let bytes = parse_hex("signature", s)?;
            TxSignature::from_slice(&bytes)
                .map_err(|e| ApiError::bad("bad_signature", format!("signature {i}: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    SignedTransaction::decode(&bytes, signatures)
        .map_err(|e| ApiError::bad(e.code(), e.to_string()))
}

/// The reply to a batch: one result per transaction, in the batch's order.
#[derive(Debug, Serialize)]
struct BatchResults {
    results: Vec<BatchResult>,
}

/// One entry of a batch's `results`: the outcome or the error body.
#[derive(Debug, Serialize)]
#[serde(untagged)]
enum BatchResult {
    Ok(SubmitResult),
    Err(ErrorBody),
}

fn submit(chain: &Chain, body: &[u8]) -> ApiResult {
    let malformed = |e: serde_json::Error| {
        chain.metrics().reject("malformed_json");
        ApiError::bad("malformed_json", e.to_string())
    };
    let text = std::str::from_utf8(body).map_err(|e| {
        chain.metrics().reject("malformed_json");
        ApiError::bad("malformed_json", format!("the body is not UTF-8: {e}"))
    })?;
    // A batch is a JSON array; anything else is one transaction. Each item is parsed on its
    // own, so one malformed item is reported in its place and the others still count.
    if text.trim_start().starts_with('[') {
        let items: Vec<&serde_json::value::RawValue> =
            serde_json::from_str(text).map_err(malformed)?;
        if items.is_empty() || items.len() > MAX_BATCH {
            return Err(ApiError::bad(
                "invalid_batch",
                format!("a batch holds 1 to {MAX_BATCH} transactions"),
            ));
        }
        let parsed: Vec<Result<SignedTransaction, ApiError>> = items
            .iter()
            .map(|item| parse_signed(item.get()).inspect_err(|e| chain.metrics().reject(e.code)))
            .collect();
        let hashes: Vec<B256> = parsed
            .iter()
            .flatten()
            .map(SignedTransaction::hash)
            .collect();
        let mut parsed_ok = Vec::with_capacity(hashes.len());
        let mut slots = Vec::with_capacity(parsed.len());
        for p in parsed {
            match p {
                Ok(tx) => {
                    parsed_ok.push(tx);
                    slots.push(None);
                }
                Err(e) => slots.push(Some(e)),
            }
        }
        let mut submitted = chain.submit_batch(parsed_ok).into_iter().zip(hashes);
        let results: Vec<BatchResult> = slots
            .into_iter()
            .map(|slot| {
                let outcome = match slot {
                    Some(e) => Err(e),
                    None => match submitted.next() {
                        Some((Ok(status), hash)) => Ok(SubmitResult::new(hash, status)),
                        Some((Err(e), hash)) => {
                            tracing::debug!(target: "operator::api", %hash, code = e.code(), error = %e, "transaction rejected");
                            Err(ApiError::from(e))
                        }
                        None => Err(ApiError::internal("batch result missing")),
                    },
                };
                match outcome {
                    Ok(result) => BatchResult::Ok(result),
                    Err(e) => BatchResult::Err(e.body()),
                }
            })
            .collect();
        return ok_json(&BatchResults { results });
    }
    let tx = parse_signed(text).map_err(|e| {
        // Text that is not JSON at all is malformed, not merely of the wrong shape.
        let e = match serde_json::from_str::<serde::de::IgnoredAny>(text) {
            Err(json) if e.code == "invalid_request" => malformed(json),
            _ => e,
        };
        if e.code != "malformed_json" {
            chain.metrics().reject(e.code);
        }
        e
    })?;
    let hash = tx.hash();
    let status = chain.submit(tx).map_err(|e| {
        tracing::debug!(target: "operator::api", %hash, code = e.code(), error = %e, "transaction rejected");
        ApiError::from(e)
    })?;
    ok_json(&SubmitResult::new(hash, status))
}

fn get_block(chain: &Chain, blknum: &str) -> ApiResult {
    let blknum: u64 = blknum
        .parse()
        .map_err(|_| ApiError::bad("invalid_blknum", "block number must be a decimal integer"))?;
    let block = chain
        .db()
        .block(blknum)
        .map_err(ApiError::internal)?
        .ok_or_else(|| ApiError::not_found("block_not_found", format!("no block {blknum}")))?;
    ok_json(&BlockJson::from(&block))
}

fn list_blocks(chain: &Chain, query: &str) -> ApiResult {
    let params: HashMap<String, String> = serde_urlencoded_pairs(query);
    let from = match params.get("from") {
        Some(v) => v
            .parse::<u64>()
            .map_err(|_| ApiError::bad("invalid_query", "from must be a decimal integer"))?,
        None => 0,
    };
    let limit = page_limit(&params, 10, MAX_BLOCKS_PAGE)?;
    let blocks: Vec<BlockJson> = blocks_page(chain.db(), from, limit, MAX_PAGE_TXS)
        .map_err(ApiError::internal)?
        .iter()
        .map(BlockJson::from)
        .collect();
    ok_json(&serde_json::json!({ "blocks": blocks }))
}

/// The `limit` query parameter of a paged list: `default` when absent, else 1 to `max`.
fn page_limit(
    params: &HashMap<String, String>,
    default: usize,
    max: usize,
) -> Result<usize, ApiError> {
    match params.get("limit") {
        None => Ok(default),
        Some(v) => v
            .parse::<usize>()
            .ok()
            .filter(|l| (1..=max).contains(l))
            .ok_or_else(|| ApiError::bad("invalid_query", format!("limit must be 1 to {max}"))),
    }
}

/// Up to `limit` blocks from `from` on, stopping before the block that would take the page past
/// `max_txs` transactions; at least one block when there is one.
fn blocks_page(db: &Db, from: u64, limit: usize, max_txs: usize) -> Result<Vec<Block>, StoreError> {
    let mut blocks = Vec::new();
    let mut txs = 0usize;
    for blknum in db.block_numbers(from, limit)? {
        if !blocks.is_empty()
            && let Some(header) = db.block_header(blknum)?
            && txs + header.tx_count as usize > max_txs
        {
            break; // the next page starts here
        }
        if let Some(block) = db.block(blknum)? {
            txs += block.transactions.len();
            blocks.push(block);
        }
    }
    Ok(blocks)
}

/// `a=1&b=2` into a map (no percent-decoding needed for the integers this API takes).
fn serde_urlencoded_pairs(query: &str) -> HashMap<String, String> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (k.to_owned(), v.to_owned()),
            None => (p.to_owned(), String::new()),
        })
        .collect()
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct TransactionJson {
    tx_hash: B256,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    blknum: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tx_index: Option<u32>,
    tx: Bytes,
    signatures: Vec<TxSignature>,
}

fn get_transaction(chain: &Chain, hash: &str) -> ApiResult {
    let hash: B256 = hash
        .parse()
        .map_err(|_| ApiError::bad("invalid_hash", "hash must be 0x and 64 hex digits"))?;
    let (status, tx) = chain
        .transaction(&hash)
        .map_err(ApiError::internal)?
        .ok_or_else(|| ApiError::not_found("tx_not_found", format!("no transaction {hash}")))?;
    let result = SubmitResult::new(hash, status);
    ok_json(&TransactionJson {
        tx_hash: hash,
        status: result.status,
        blknum: result.blknum,
        tx_index: result.tx_index,
        tx: tx.bytes().clone(),
        signatures: tx.signatures().to_vec(),
    })
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct AccountUtxo {
    #[serde(flatten)]
    utxo: UtxoJson,
    exiting: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pending_spend: Option<B256>,
}

fn get_utxos(chain: &Chain, address: &str, query: &str) -> ApiResult {
    let owner: Address = address
        .parse()
        .map_err(|_| ApiError::bad("invalid_address", "address must be 0x and 40 hex digits"))?;
    let params = serde_urlencoded_pairs(query);
    let from = match params.get("from") {
        Some(v) => v
            .parse::<UtxoPos>()
            .map_err(|e| ApiError::bad("invalid_query", format!("from: {e}")))?
            .as_u64(),
        None => 0,
    };
    let limit = page_limit(&params, MAX_UTXOS_PAGE, MAX_UTXOS_PAGE)?;
    let utxos: Vec<AccountUtxo> = chain
        .owner_utxos(owner, from, limit)
        .map_err(ApiError::internal)?
        .into_iter()
        .map(|(pos, record)| AccountUtxo {
            utxo: UtxoJson {
                utxo_pos: pos,
                owner: record.output.owner,
                token: record.output.token,
                amount: record.output.amount,
            },
            exiting: record.exiting,
            pending_spend: chain.pending_spend(pos),
        })
        .collect();
    ok_json(&serde_json::json!({ "utxos": utxos }))
}

fn get_exit_data(chain: &Chain, pos: &str) -> ApiResult {
    let pos: UtxoPos = pos
        .parse()
        .map_err(|e| ApiError::bad("invalid_utxo_pos", format!("{e}")))?;
    let not_found = || ApiError::not_found("utxo_not_found", format!("no output at {pos}"));
    let block = chain
        .db()
        .block(pos.blknum())
        .map_err(ApiError::internal)?
        .ok_or_else(not_found)?;
    let index = usize::try_from(pos.tx_index()).map_err(|_| not_found())?;
    let tx = block.transactions.get(index).ok_or_else(not_found)?;
    let output_index = usize::try_from(pos.output_index()).map_err(|_| not_found())?;
    if tx.tx().outputs.get(output_index).is_none() {
        return Err(not_found());
    }
    let tree = block.merkle_tree().map_err(ApiError::internal)?;
    let proof = tree.proof(index).map_err(ApiError::internal)?;
    ok_json(&ExitData {
        utxo_pos: pos,
        tx_bytes: tx.bytes().clone(),
        proof: Bytes::copy_from_slice(&proof.to_bytes()),
        root: block.root,
    })
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Status {
    chain_id: u64,
    root_chain: Address,
    operator: Address,
    next_block: u64,
    latest_block: Option<u64>,
    last_committed_block: u64,
    l1_next_child_block: u64,
    l1_head: u64,
    l1_cursor: u64,
    mempool_size: usize,
    #[serde(with = "plasma_core::wire::decimal")]
    min_fee: alloy::primitives::U256,
}

fn status(state: &ApiState) -> ApiResult {
    let chain = &state.chain;
    let db = chain.db();
    let m = chain.metrics();
    ok_json(&Status {
        chain_id: state.chain_id,
        root_chain: state.root_chain,
        operator: state.operator,
        next_block: db.next_block().map_err(ApiError::internal)?,
        latest_block: db.latest_block().map_err(ApiError::internal)?,
        last_committed_block: db.committed().map_err(ApiError::internal)?,
        l1_next_child_block: m.l1_next_child_block.load(Ordering::Relaxed),
        l1_head: m.l1_head.load(Ordering::Relaxed),
        l1_cursor: m.l1_cursor.load(Ordering::Relaxed),
        mempool_size: chain.mempool_len(),
        min_fee: chain.rules().min_fee,
    })
}

async fn handle_rejection(rejection: Rejection) -> Result<Response, Infallible> {
    let error = if rejection.is_not_found() {
        ApiError::not_found("not_found", "no such route")
    } else if rejection.find::<warp::reject::PayloadTooLarge>().is_some() {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            "request body exceeds the limit",
        )
    } else if rejection.find::<warp::reject::LengthRequired>().is_some() {
        ApiError::new(
            StatusCode::LENGTH_REQUIRED,
            "length_required",
            "a Content-Length header is required",
        )
    } else if rejection.find::<warp::reject::MethodNotAllowed>().is_some() {
        ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "method not allowed on this route",
        )
    } else {
        ApiError::bad("bad_request", format!("{rejection:?}"))
    };
    Ok(error.into_response())
}

/// The API's routes, with JSON errors for every rejection.
pub fn routes(
    state: Arc<ApiState>,
    max_body: u64,
) -> impl Filter<Extract = (impl Reply,), Error = Infallible> + Clone {
    let with = move || {
        let state = state.clone();
        warp::any().map(move || state.clone())
    };

    let submit = warp::path!("v1" / "transactions")
        .and(warp::post())
        .and(warp::body::content_length_limit(max_body))
        .and(warp::body::bytes())
        .and(with())
        .then(|body: BodyBytes, s: Arc<ApiState>| blocking(move || submit(&s.chain, &body)));
    let block = warp::path!("v1" / "blocks" / String)
        .and(warp::get())
        .and(with())
        .then(|n: String, s: Arc<ApiState>| blocking(move || get_block(&s.chain, &n)));
    let blocks = warp::path!("v1" / "blocks")
        .and(warp::get())
        .and(warp::query::raw().or(warp::any().map(String::new)).unify())
        .and(with())
        .then(|q: String, s: Arc<ApiState>| blocking(move || list_blocks(&s.chain, &q)));
    let transaction = warp::path!("v1" / "transactions" / String)
        .and(warp::get())
        .and(with())
        .then(|h: String, s: Arc<ApiState>| blocking(move || get_transaction(&s.chain, &h)));
    let utxos = warp::path!("v1" / "accounts" / String / "utxos")
        .and(warp::get())
        .and(warp::query::raw().or(warp::any().map(String::new)).unify())
        .and(with())
        .then(|a: String, q: String, s: Arc<ApiState>| {
            blocking(move || get_utxos(&s.chain, &a, &q))
        });
    let exit_data = warp::path!("v1" / "utxos" / String / "exit-data")
        .and(warp::get())
        .and(with())
        .then(|p: String, s: Arc<ApiState>| blocking(move || get_exit_data(&s.chain, &p)));
    let status = warp::path!("v1" / "status")
        .and(warp::get())
        .and(with())
        .then(|s: Arc<ApiState>| blocking(move || status(&s)));
    let metrics = warp::path!("metrics")
        .and(warp::get())
        .and(with())
        .map(|s: Arc<ApiState>| {
            warp::reply::with_header(
                s.chain.metrics().render(),
                "content-type",
                "text/plain; version=0.0.4",
            )
            .into_response()
        });
    let openapi = warp::path!("v1" / "openapi.json").and(warp::get()).map(|| {
        warp::reply::with_header(OPENAPI, "content-type", "application/json").into_response()
    });

    submit
        .or(block)
        .unify()
        .or(blocks)
        .unify()
        .or(transaction)
        .unify()
        .or(utxos)
        .unify()
        .or(exit_data)
        .unify()
        .or(status)
        .unify()
        .or(metrics)
        .unify()
        .or(openapi)
        .unify()
        .recover(handle_rejection)
        .unify()
        .with(warp::trace::request())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use alloy::primitives::U256;
    use plasma_core::{Deposit, ETH};

    use super::*;
    use crate::chain::L1Event;
    use crate::store::MemoryStore;

    #[test]
    fn a_block_page_stops_at_its_transaction_budget() {
        let db = Db::new(Arc::new(MemoryStore::new()));
        let rules = plasma_core::Rules {
            domain_separator: alloy::primitives::B256::ZERO,
            min_fee: U256::ZERO,
        };
        let chain = Chain::open(db.clone(), rules, 10, Default::default()).unwrap();
        let events: Vec<L1Event> = (1..=5)
            .map(|blknum| L1Event::Deposit {
                deposit: Deposit {
                    blknum,
                    owner: Address::repeat_byte(1),
                    token: ETH,
                    amount: U256::from(blknum),
                },
                timestamp: 1,
            })
            .collect();
        chain.apply_l1_events(&events, 1).unwrap();
        let numbers = |page: Vec<Block>| page.iter().map(|b| b.blknum).collect::<Vec<_>>();
        assert_eq!(
            numbers(blocks_page(&db, 0, 10, 100).unwrap()),
            [1, 2, 3, 4, 5]
        );
        assert_eq!(numbers(blocks_page(&db, 0, 3, 100).unwrap()), [1, 2, 3]);
        // One transaction each: a budget of 2 holds two blocks, the next page starts at 3.
        assert_eq!(numbers(blocks_page(&db, 0, 10, 2).unwrap()), [1, 2]);
        assert_eq!(numbers(blocks_page(&db, 3, 10, 2).unwrap()), [3, 4]);
        // A block larger than the budget still makes a page on its own.
        assert_eq!(numbers(blocks_page(&db, 2, 10, 0).unwrap()), [2]);
        assert_eq!(
            numbers(blocks_page(&db, 6, 10, 2).unwrap()),
            Vec::<u64>::new()
        );
    }
}
