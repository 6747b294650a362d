//! A typed HTTP client for the operator's `/v1` API. The operator is not trusted: whatever it
//! serves is checked against L1 by [`crate::sync`].

use std::time::Duration;

use alloy::primitives::B256;
use plasma_core::SignedTransaction;
use plasma_core::wire::{BlockJson, ErrorBody, SignedTransactionJson};
use serde::Deserialize;
use serde::de::DeserializeOwned;

/// Why a call to the operator failed.
#[derive(Debug, thiserror::Error)]
pub enum OperatorError {
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
        code: String,
        /// The operator's message.
        message: String,
    },
    /// The answer did not parse.
    #[error("operator sent an unreadable answer: {0}")]
    Decode(String),
}

/// Result alias for operator calls.
pub type Result<T, E = OperatorError> = core::result::Result<T, E>;

/// The operator's answer to a submitted transaction.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Submitted {
    /// The transaction's hash.
    pub tx_hash: B256,
    /// `pending` or `included`.
    pub status: String,
    /// The block, once included.
    #[serde(default)]
    pub blknum: Option<u64>,
}

/// The operator API client.
#[derive(Debug, Clone)]
pub struct OperatorClient {
    base: String,
    http: reqwest::Client,
}

impl OperatorClient {
    /// A client for the operator at `base` (e.g. `http://127.0.0.1:7434`).
    pub fn new(base: &str) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .connect_timeout(Duration::from_secs(5))
            .build()
            .unwrap_or_default();
        Self {
            base: base.trim_end_matches('/').to_owned(),
            http,
        }
    }

    /// The base URL.
    pub fn url(&self) -> &str {
        &self.base
    }

    fn unreachable(&self, source: reqwest::Error) -> OperatorError {
        OperatorError::Unreachable {
            url: self.base.clone(),
            source,
        }
    }

    async fn read<T: DeserializeOwned>(&self, response: reqwest::Response) -> Result<T> {
        let status = response.status();
        let body = response.bytes().await.map_err(|e| self.unreachable(e))?;
        if status.is_success() {
            return serde_json::from_slice(&body).map_err(|e| OperatorError::Decode(e.to_string()));
        }
        match serde_json::from_slice::<ErrorBody>(&body) {
            Ok(error) => Err(OperatorError::Api {
                status: status.as_u16(),
                code: error.error.code,
                message: error.error.message,
            }),
            Err(_) => Err(OperatorError::Api {
                status: status.as_u16(),
                code: "http_error".to_owned(),
                message: String::from_utf8_lossy(&body).chars().take(200).collect(),
            }),
        }
    }

    async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .map_err(|e| self.unreachable(e))?;
        self.read(response).await
    }

    /// Submits a signed transaction. A success means the operator stored it durably.
    pub async fn submit(&self, tx: &SignedTransaction) -> Result<Submitted> {
        let response = self
            .http
            .post(format!("{}/v1/transactions", self.base))
            .json(&SignedTransactionJson::from(tx))
            .send()
            .await
            .map_err(|e| self.unreachable(e))?;
        self.read(response).await
    }

    /// Where transaction `hash` stands (`pending`, or `included` with its block).
    pub async fn transaction(&self, hash: B256) -> Result<Submitted> {
        self.get(&format!("/v1/transactions/{hash}")).await
    }

    /// Block `blknum`, or `None` when the operator says it has no such block.
    pub async fn block(&self, blknum: u64) -> Result<Option<BlockJson>> {
        match self.get(&format!("/v1/blocks/{blknum}")).await {
            Ok(block) => Ok(Some(block)),
            Err(OperatorError::Api { status: 404, .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The operator's status document.
    pub async fn status(&self) -> Result<serde_json::Value> {
        self.get("/v1/status").await
    }
}
