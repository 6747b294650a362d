//! The typed async client of `/v1`. The operator is not trusted: a client checks what it is
//! served (the user's client verifies every block against L1).

use std::time::Duration;

use alloy_primitives::{Address, B256};
use plasma_core::{SignedTransaction, UtxoPos};
use serde::de::DeserializeOwned;

use crate::binary::{BLOCKS_MEDIA_TYPE, decode_blocks};
use crate::error::ErrorCode;
use crate::request::SubmitEncoding;
use crate::types::{
    AccountUtxos, BatchResults, BlockJson, BlocksPage, ErrorBody, ExitData, Fees,
    SignedTransactionJson, Status, SubmitResult, TransactionJson,
};

/// Why a call to the operator failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// No answer (connection refused, timeout, DNS).
    #[error(
        "operator at {url} is unreachable ({source}); check --operator and that the operator runs"
    )]
    Unreachable {
        /// The operator's URL.
        url: String,
        /// The transport error.
        source: reqwest::Error,
    },
    /// The operator refused the request.
    #[error("operator refused ({status}): {code}: {message}")]
    Api {
        /// HTTP status.
        status: u16,
        /// The error code.
        code: ErrorCode,
        /// The operator's message.
        message: String,
    },
    /// An error answer that is not the API's error body (a proxy, another server).
    #[error("operator answered {status} without an API error: {body}")]
    Http {
        /// HTTP status.
        status: u16,
        /// The start of the body.
        body: String,
    },
    /// The answer did not parse.
    #[error("operator sent an unreadable answer to {path}: {message}")]
    Decode {
        /// The request path.
        path: String,
        /// The parse error.
        message: String,
    },
}

impl ClientError {
    /// Whether the request certainly did not change the operator's state: it refused it with
    /// an error code, or no connection was made. (A timeout or a broken answer may come after
    /// the operator acted.)
    pub fn never_delivered(&self) -> bool {
        match self {
            Self::Api { .. } => true,
            Self::Unreachable { source, .. } => source.is_connect(),
            Self::Http { .. } | Self::Decode { .. } => false,
        }
    }

    /// The API's error code, when the operator answered with one.
    pub fn code(&self) -> Option<&ErrorCode> {
        match self {
            Self::Api { code, .. } => Some(code),
            _ => None,
        }
    }
}

/// Result alias of the client.
pub type Result<T, E = ClientError> = core::result::Result<T, E>;

/// A client of one operator's `/v1` API.
#[derive(Debug, Clone)]
pub struct ApiClient {
    base: String,
    http: reqwest::Client,
}

impl ApiClient {
    /// A client for the operator at `base` (e.g. `http://127.0.0.1:7434`), with a 30 s request
    /// timeout and a 5 s connect timeout.
    pub fn new(base: &str) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .connect_timeout(Duration::from_secs(5))
            .build()
            .unwrap_or_default();
        Self::with_http(base, http)
    }

    /// A client using `http` (for other timeouts or pool settings).
    pub fn with_http(base: &str, http: reqwest::Client) -> Self {
        Self {
            base: base.trim_end_matches('/').to_owned(),
            http,
        }
    }

    /// The base URL.
    pub fn url(&self) -> &str {
        &self.base
    }

    fn unreachable(&self, source: reqwest::Error) -> ClientError {
        ClientError::Unreachable {
            url: self.base.clone(),
            source,
        }
    }

    async fn read<T: DeserializeOwned>(
        &self,
        path: &str,
        response: reqwest::Response,
    ) -> Result<T> {
        let status = response.status();
        let body = response.bytes().await.map_err(|e| self.unreachable(e))?;
        if status.is_success() {
            return serde_json::from_slice(&body).map_err(|e| ClientError::Decode {
                path: path.to_owned(),
                message: e.to_string(),
            });
        }
        match serde_json::from_slice::<ErrorBody>(&body) {
            Ok(error) => Err(ClientError::Api {
                status: status.as_u16(),
                code: error.error.code,
                message: error.error.message,
            }),
            Err(_) => Err(ClientError::Http {
                status: status.as_u16(),
                body: String::from_utf8_lossy(&body).chars().take(200).collect(),
            }),
        }
    }

    /// Sends `GET path`.
    async fn send_get(&self, path: &str) -> Result<reqwest::Response> {
        self.send_get_accepting(path, None).await
    }

    /// `GET path`, with the `Accept` header `accept` if one is given.
    async fn send_get_accepting(
        &self,
        path: &str,
        accept: Option<&str>,
    ) -> Result<reqwest::Response> {
        let mut request = self.http.get(format!("{}{path}", self.base));
        if let Some(accept) = accept {
            request = request.header(reqwest::header::ACCEPT, accept);
        }
        request.send().await.map_err(|e| self.unreachable(e))
    }

    async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        let response = self.send_get(path).await?;
        self.read(path, response).await
    }

    /// `GET path`, `None` on a 404 with `code` (a thing the operator does not have).
    async fn get_found<T: DeserializeOwned>(
        &self,
        path: &str,
        code: ErrorCode,
    ) -> Result<Option<T>> {
        match self.get(path).await {
            Ok(value) => Ok(Some(value)),
            Err(ClientError::Api {
                status: 404,
                code: got,
                ..
            }) if got == code => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Posts a raw body of `encoding` to `POST /v1/transactions` and reads the answer as `T`.
    async fn post_transactions<T: DeserializeOwned>(
        &self,
        encoding: SubmitEncoding,
        body: Vec<u8>,
    ) -> Result<T> {
        const PATH: &str = "/v1/transactions";
        let response = self
            .http
            .post(format!("{}{PATH}", self.base))
            .header("content-type", encoding.media_type())
            .body(body)
            .send()
            .await
            .map_err(|e| self.unreachable(e))?;
        self.read(PATH, response).await
    }

    /// Submits a signed transaction. A success means the operator stored it durably (or had it
    /// already).
    pub async fn submit(&self, tx: &SignedTransaction) -> Result<SubmitResult> {
        self.post_transactions(
            SubmitEncoding::Json,
            encode_body(&SignedTransactionJson::from(tx)),
        )
        .await
    }

    /// Submits a batch (in the binary form); one result per transaction, in order.
    pub async fn submit_batch(&self, txs: &[SignedTransaction]) -> Result<BatchResults> {
        self.submit_encoded(SubmitEncoding::Binary, SubmitEncoding::Binary.encode(txs))
            .await
    }

    /// Submits a JSON batch body as it is (a test sends what no encoder would write).
    pub async fn submit_batch_body(&self, body: Vec<u8>) -> Result<BatchResults> {
        self.submit_encoded(SubmitEncoding::Json, body).await
    }

    /// Submits a batch already encoded with [`SubmitEncoding::encode`] (load generators encode
    /// ahead).
    pub async fn submit_encoded(
        &self,
        encoding: SubmitEncoding,
        body: Vec<u8>,
    ) -> Result<BatchResults> {
        self.post_transactions(encoding, body).await
    }

    /// Transaction `hash` with where it stands, or `None` when the operator does not know it.
    pub async fn transaction(&self, hash: B256) -> Result<Option<TransactionJson>> {
        self.get_found(&format!("/v1/transactions/{hash}"), ErrorCode::TxNotFound)
            .await
    }

    /// Block `blknum`, or `None` when the operator has no such block.
    pub async fn block(&self, blknum: u64) -> Result<Option<BlockJson>> {
        self.get_found(&format!("/v1/blocks/{blknum}"), ErrorCode::BlockNotFound)
            .await
    }

    /// Up to `limit` blocks from `from` on (the operator also stops a page at one full block's
    /// worth of transactions). Asks for the binary page ([`crate::binary`]) and reads the JSON
    /// one from an operator that answers with it.
    pub async fn blocks(&self, from: u64, limit: usize) -> Result<Vec<BlockJson>> {
        let path = format!("/v1/blocks?from={from}&limit={limit}");
        let response = self
            .send_get_accepting(
                &path,
                Some(&format!("{BLOCKS_MEDIA_TYPE}, application/json;q=0.5")),
            )
            .await?;
        let binary = response.status().is_success()
            && response
                .headers()
                .get(reqwest::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.starts_with(BLOCKS_MEDIA_TYPE));
        if !binary {
            let page: BlocksPage = self.read(&path, response).await?;
            return Ok(page.blocks);
        }
        let body = response.bytes().await.map_err(|e| self.unreachable(e))?;
        decode_blocks(body.into()).map_err(|e| ClientError::Decode {
            path,
            message: e.to_string(),
        })
    }

    /// Up to `limit` outputs of `owner` from position `from` on, ascending.
    pub async fn utxos(
        &self,
        owner: Address,
        from: Option<UtxoPos>,
        limit: Option<usize>,
    ) -> Result<AccountUtxos> {
        let mut path = format!("/v1/accounts/{owner}/utxos");
        let mut sep = '?';
        if let Some(from) = from {
            path.push_str(&format!("{sep}from={from}"));
            sep = '&';
        }
        if let Some(limit) = limit {
            path.push_str(&format!("{sep}limit={limit}"));
        }
        self.get(&path).await
    }

    /// The exit data of output `pos`, or `None` when the operator knows no such output.
    pub async fn exit_data(&self, pos: UtxoPos) -> Result<Option<ExitData>> {
        self.get_found(
            &format!("/v1/utxos/{pos}/exit-data"),
            ErrorCode::UtxoNotFound,
        )
        .await
    }

    /// The operator's status.
    pub async fn status(&self) -> Result<Status> {
        self.get("/v1/status").await
    }

    /// The operator's fee schedule.
    pub async fn fees(&self) -> Result<Fees> {
        self.get("/v1/fees").await
    }

    /// The OpenAPI document the operator serves.
    pub async fn openapi(&self) -> Result<serde_json::Value> {
        self.get("/v1/openapi.json").await
    }

    /// The Prometheus exposition of `GET /metrics`.
    pub async fn metrics(&self) -> Result<String> {
        let response = self.send_get("/metrics").await?;
        let status = response.status();
        let text = response.text().await.map_err(|e| self.unreachable(e))?;
        if !status.is_success() {
            return Err(ClientError::Http {
                status: status.as_u16(),
                body: text.chars().take(200).collect(),
            });
        }
        Ok(text)
    }
}

fn encode_body<T: serde::Serialize + ?Sized>(value: &T) -> Vec<u8> {
    // The wire types are plain data: serializing them cannot fail.
    serde_json::to_vec(value).unwrap_or_default()
}
