//! The HTTP API (warp): the `/v1` interface, `GET /metrics` and the OpenAPI document.
//!
//! Every error is `{"error": {"code", "message"}}` with a 4xx status (5xx only for internal
//! failures), and a rejected request changes no state. A `200` for a submitted transaction means
//! it is durably stored: after any crash and restart it is still pending or in a block (unless
//! one of its inputs starts exiting on L1 first, which drops it).

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;

use alloy::primitives::{Address, B256, Bytes};
use plasma_api::{
    AccountUtxo, AccountUtxos, BatchResult, BatchResults, BlockJson, BlocksPage, ErrorBody,
    ErrorCode, ExitData, Fees, PaymentFee, RequestError, Status, Submission, SubmitResult,
    TransactionJson, UtxoJson,
};
use plasma_core::UtxoPos;
use serde::Serialize;
use warp::http::StatusCode;
use warp::hyper::body::Bytes as BodyBytes;
use warp::reply::Response;
use warp::{Filter, Rejection, Reply};

use crate::chain::{Chain, SubmitError};
use crate::store::{StoreError, records};

/// The OpenAPI document of this API.
pub use plasma_api::OPENAPI;

/// Most transactions in one batch submit.
pub use plasma_api::MAX_BATCH;
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
    code: ErrorCode,
    message: String,
}

impl ApiError {
    fn new(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    fn bad(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    fn not_found(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, code, message)
    }

    fn internal(e: impl std::fmt::Display) -> Self {
        tracing::error!(target: "operator::api", error = %e, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::Internal,
            "internal error",
        )
    }

    fn body(&self) -> ErrorBody {
        ErrorBody::new(self.code.clone(), self.message.clone())
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
            SubmitError::DoubleSpend { .. } | SubmitError::OtherSignatures(_) => {
                StatusCode::CONFLICT
            }
            SubmitError::MempoolFull(_) => StatusCode::SERVICE_UNAVAILABLE,
            SubmitError::Store(StoreError::Unavailable(why)) => {
                return Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    ErrorCode::StoreUnavailable,
                    format!(
                        "the operator's store cannot write now ({why}); nothing was accepted: retry later"
                    ),
                );
            }
            SubmitError::Store(_) | SubmitError::NotStored(_) => return Self::internal(e),
        };
        Self::new(status, e.code(), e.to_string())
    }
}

impl From<RequestError> for ApiError {
    fn from(e: RequestError) -> Self {
        Self::bad(e.code, e.message)
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

fn rejected(hash: B256, e: SubmitError) -> ApiError {
    tracing::debug!(target: "operator::api", %hash, code = %e.code(), error = %e, "transaction rejected");
    ApiError::from(e)
}

/// `POST /v1/transactions`: JSON, or the binary batch when `content_type` names it.
fn submit(chain: &Chain, content_type: Option<&str>, body: &[u8]) -> ApiResult {
    let refused = |e: RequestError| {
        chain.metrics().reject(e.code.label());
        e
    };
    let items = match plasma_api::decode_submission_as(content_type, body).map_err(refused)? {
        Submission::One(tx) => {
            let hash = tx.hash();
            let status = chain.submit(tx).map_err(|e| rejected(hash, e))?;
            return ok_json(&SubmitResult::new(hash, status));
        }
        Submission::Batch(items) => items,
    };
    // One malformed item is reported in its place; the others are judged together.
    let mut decoded = Vec::with_capacity(items.len());
    let mut slots = Vec::with_capacity(items.len());
    for item in items {
        match item {
            Ok(tx) => {
                slots.push(Ok(tx.hash()));
                decoded.push(tx);
            }
            Err(e) => slots.push(Err(refused(e))),
        }
    }
    let mut submitted = chain.submit_batch(decoded).into_iter();
    let results = slots
        .into_iter()
        .map(|slot| {
            let outcome = match slot {
                Err(e) => Err(ApiError::from(e)),
                Ok(hash) => match submitted.next() {
                    Some(Ok(status)) => Ok(SubmitResult::new(hash, status)),
                    Some(Err(e)) => Err(rejected(hash, e)),
                    None => Err(ApiError::internal("batch result missing")),
                },
            };
            match outcome {
                Ok(result) => BatchResult::Ok(result),
                Err(e) => BatchResult::Err(e.body()),
            }
        })
        .collect();
    ok_json(&BatchResults { results })
}

fn get_block(chain: &Chain, blknum: &str) -> ApiResult {
    let blknum: u64 = blknum.parse().map_err(|_| {
        ApiError::bad(
            ErrorCode::InvalidBlknum,
            "block number must be a decimal integer",
        )
    })?;
    let block = chain
        .block(blknum)
        .map_err(ApiError::internal)?
        .ok_or_else(|| {
            ApiError::not_found(ErrorCode::BlockNotFound, format!("no block {blknum}"))
        })?;
    ok_json(&BlockJson::from(&block))
}

/// A page of blocks, binary ([`plasma_api::binary`]) when `accept` names its media type, else
/// JSON.
fn list_blocks(chain: &Chain, query: &str, accept: Option<&str>) -> ApiResult {
    let params: HashMap<String, String> = serde_urlencoded_pairs(query);
    let from = match params.get("from") {
        Some(v) => v.parse::<u64>().map_err(|_| {
            ApiError::bad(ErrorCode::InvalidQuery, "from must be a decimal integer")
        })?,
        None => 0,
    };
    let limit = page_limit(&params, 10, MAX_BLOCKS_PAGE)?;
    if accept.is_some_and(|a| a.contains(plasma_api::BLOCKS_MEDIA_TYPE)) {
        // The transactions go out as stored, never decoded: serving a page is a copy.
        let stored = chain
            .raw_blocks_page(from, limit, MAX_PAGE_TXS)
            .map_err(ApiError::internal)?;
        let blocks = stored
            .iter()
            .map(|block| {
                let transactions = block
                    .transactions
                    .iter()
                    .map(|tx| records::split_signed(tx))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(ApiError::internal)?;
                Ok(plasma_api::RawBlock {
                    blknum: block.blknum,
                    root: block.header.root,
                    timestamp: block.header.timestamp,
                    transactions,
                })
            })
            .collect::<Result<Vec<_>, ApiError>>()?;
        let body = plasma_api::encode_raw_blocks(&blocks);
        return Ok(
            warp::reply::with_header(body, "content-type", plasma_api::BLOCKS_MEDIA_TYPE)
                .into_response(),
        );
    }
    let blocks = chain
        .blocks_page(from, limit, MAX_PAGE_TXS)
        .map_err(ApiError::internal)?;
    let blocks: Vec<BlockJson> = blocks.iter().map(BlockJson::from).collect();
    ok_json(&BlocksPage { blocks })
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
            .ok_or_else(|| {
                ApiError::bad(ErrorCode::InvalidQuery, format!("limit must be 1 to {max}"))
            }),
    }
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

fn get_transaction(chain: &Chain, hash: &str) -> ApiResult {
    let hash: B256 = hash
        .parse()
        .map_err(|_| ApiError::bad(ErrorCode::InvalidHash, "hash must be 0x and 64 hex digits"))?;
    let (status, tx) = chain
        .transaction(&hash)
        .map_err(ApiError::internal)?
        .ok_or_else(|| {
            ApiError::not_found(ErrorCode::TxNotFound, format!("no transaction {hash}"))
        })?;
    ok_json(&TransactionJson {
        result: SubmitResult::new(hash, status),
        tx: tx.bytes().clone(),
        signatures: tx.signatures().to_vec(),
    })
}

fn get_utxos(chain: &Chain, address: &str, query: &str) -> ApiResult {
    let owner: Address = address.parse().map_err(|_| {
        ApiError::bad(
            ErrorCode::InvalidAddress,
            "address must be 0x and 40 hex digits",
        )
    })?;
    let params = serde_urlencoded_pairs(query);
    let from = match params.get("from") {
        Some(v) => v
            .parse::<UtxoPos>()
            .map_err(|e| ApiError::bad(ErrorCode::InvalidQuery, format!("from: {e}")))?
            .as_u64(),
        None => 0,
    };
    let limit = page_limit(&params, MAX_UTXOS_PAGE, MAX_UTXOS_PAGE)?;
    let utxos = chain
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
    ok_json(&AccountUtxos { utxos })
}

fn get_exit_data(chain: &Chain, pos: &str) -> ApiResult {
    let pos: UtxoPos = pos
        .parse()
        .map_err(|e| ApiError::bad(ErrorCode::InvalidUtxoPos, format!("{e}")))?;
    let not_found = || ApiError::not_found(ErrorCode::UtxoNotFound, format!("no output at {pos}"));
    let block = chain
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

fn status(state: &ApiState) -> ApiResult {
    let chain = &state.chain;
    let l1 = chain.l1_status();
    ok_json(&Status {
        chain_id: state.chain_id,
        root_chain: state.root_chain,
        operator: state.operator,
        next_block: chain.next_block().map_err(ApiError::internal)?,
        latest_block: chain.latest_block().map_err(ApiError::internal)?,
        last_committed_block: chain.last_committed().map_err(ApiError::internal)?,
        l1_next_child_block: l1.next_child_block,
        l1_head: l1.head,
        l1_cursor: l1.cursor,
        mempool_size: chain.mempool_len(),
        min_fee: chain.rules().min_fee,
    })
}

fn fees(state: &ApiState) -> ApiResult {
    let min_fee = state.chain.rules().min_fee;
    ok_json(&Fees {
        token: plasma_core::ETH,
        min_fee,
        // One rule for every payment: the fee does not depend on its size.
        payment: PaymentFee {
            inputs: 1,
            outputs: 2,
            fee: min_fee,
        },
        fee_address: state.chain.fee_address(),
    })
}

async fn handle_rejection(rejection: Rejection) -> Result<Response, Infallible> {
    let error = if rejection.is_not_found() {
        ApiError::not_found(ErrorCode::NotFound, "no such route")
    } else if rejection.find::<warp::reject::PayloadTooLarge>().is_some() {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::BodyTooLarge,
            "request body exceeds the limit",
        )
    } else if rejection.find::<warp::reject::LengthRequired>().is_some() {
        ApiError::new(
            StatusCode::LENGTH_REQUIRED,
            ErrorCode::LengthRequired,
            "a Content-Length header is required",
        )
    } else if rejection.find::<warp::reject::MethodNotAllowed>().is_some() {
        ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            ErrorCode::MethodNotAllowed,
            "method not allowed on this route",
        )
    } else {
        ApiError::bad(ErrorCode::BadRequest, format!("{rejection:?}"))
    };
    Ok(error.into_response())
}

/// The API's routes, with JSON errors for every rejection.
pub fn routes(
    state: Arc<ApiState>,
    max_body: u64,
) -> impl Filter<Extract = (impl Reply,), Error = Infallible> + Clone {
    let explorer = crate::explorer::routes(state.clone());
    let metrics_of_requests = state.chain.metrics().clone();
    let with = move || {
        let state = state.clone();
        warp::any().map(move || state.clone())
    };

    let submit = warp::path!("v1" / "transactions")
        .and(warp::post())
        .and(warp::body::content_length_limit(max_body))
        .and(warp::header::optional::<String>("content-type"))
        .and(warp::body::bytes())
        .and(with())
        .then(
            |content_type: Option<String>, body: BodyBytes, s: Arc<ApiState>| {
                blocking(move || submit(&s.chain, content_type.as_deref(), &body))
            },
        )
        .boxed();
    let block = warp::path!("v1" / "blocks" / String)
        .and(warp::get())
        .and(with())
        .then(|n: String, s: Arc<ApiState>| blocking(move || get_block(&s.chain, &n)));
    let blocks = warp::path!("v1" / "blocks")
        .and(warp::get())
        .and(warp::query::raw().or(warp::any().map(String::new)).unify())
        .and(warp::header::optional::<String>("accept"))
        .and(with())
        .then(|q: String, accept: Option<String>, s: Arc<ApiState>| {
            blocking(move || list_blocks(&s.chain, &q, accept.as_deref()))
        })
        // Boxed: the whole router's type is otherwise too deep for the compiler's limit.
        .boxed();
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
    let fees = warp::path!("v1" / "fees")
        .and(warp::get())
        .and(with())
        .then(|s: Arc<ApiState>| blocking(move || fees(&s)));
    let metrics = warp::path!("metrics")
        .and(warp::get())
        .and(with())
        .map(|s: Arc<ApiState>| {
            warp::reply::with_header(
                s.chain.render_metrics(),
                "content-type",
                crate::metrics::CONTENT_TYPE,
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
        .or(fees)
        .unify()
        .or(metrics)
        .unify()
        .or(openapi)
        .unify()
        .or(explorer)
        .unify()
        .recover(handle_rejection)
        .unify()
        .with(warp::log::custom(move |info| {
            metrics_of_requests.observe_request(
                info.method().as_str(),
                info.path(),
                info.status().as_u16(),
                info.elapsed().as_secs_f64(),
            );
            // One line a request, at debug level: at info, logs would grow with the traffic.
            tracing::debug!(
                target: "operator::http",
                method = %info.method(),
                path = info.path(),
                status = info.status().as_u16(),
                elapsed_us = info.elapsed().as_micros() as u64,
                "request"
            );
        }))
}
