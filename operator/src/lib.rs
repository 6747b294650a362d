//! # plasma-operator
//!
//! The operator daemon of the plasma child chain: it accepts signed transactions over HTTP,
//! builds blocks, stores them in RocksDB, serves them to anyone, and commits each block's root
//! to the root contract on L1; it follows L1 for deposits and exits.
//!
//! ## Layout
//! * [`store`] — the [`Store`](store::Store) trait (column families, atomic batches), RocksDB and
//!   in-memory implementations, and the typed [`Db`](store::Db) layer.
//! * [`chain`] — the mempool over the UTXO set, block production and L1 event application;
//!   every change one atomic batch.
//! * [`api`] — the `/v1` HTTP API (warp), `GET /metrics`, the OpenAPI document.
//! * [`producer`] — a block every interval or when full.
//! * [`submitter`] — commits roots to L1 in order, each block number exactly once.
//! * [`follower`] — deposits and exits from L1 after N confirmations.
//! * [`metrics`] — Prometheus counters and gauges.
//! * [`config`] — the settings [`run`] takes.
//!
//! ## Example
//! ```no_run
//! use std::path::PathBuf;
//!
//! use alloy::primitives::address;
//! use alloy::signers::local::PrivateKeySigner;
//! use plasma_operator::{Config, run};
//!
//! # async fn example() -> Result<(), plasma_operator::Error> {
//! let config = Config::new(
//!     "http://127.0.0.1:8545".into(),
//!     address!("0x5FbDB2315678afecb367f032d93F642f64180aa3"),
//!     PrivateKeySigner::random(),
//!     PathBuf::from("/var/lib/plasma-operator"),
//! );
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! run(config, listener, async { let _ = tokio::signal::ctrl_c().await; }).await
//! # }
//! ```

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use alloy::providers::{Provider, ProviderBuilder};
use plasma_core::{Domain, Rules};
use tokio::net::TcpListener;
use tokio::sync::{Notify, watch};

pub mod api;
pub mod chain;
pub mod config;
pub mod explorer;
pub mod follower;
pub mod metrics;
pub mod producer;
mod retry_log;
pub mod server;
pub mod store;
pub mod submitter;

pub use config::Config;

/// Errors of the operator.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] store::StoreError),
    /// An L1 request failed (retried by the tasks).
    #[error("L1: {0}")]
    L1(String),
    /// I/O (the listener).
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// A condition that needs an operator's attention (e.g. a root on L1 differs from the
    /// stored one).
    #[error("fatal: {0}")]
    Fatal(String),
}

impl Error {
    pub(crate) fn l1(e: impl std::fmt::Display) -> Self {
        Self::L1(e.to_string())
    }
}

/// Result alias of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Opens the store at `config.db_path` and runs every task — API on `listener`, block producer,
/// L1 submitter and follower — until `shutdown` resolves; then stops them and returns.
pub async fn run(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    let path = config.db_path.clone();
    let sync = config.sync_writes;
    let rocks = tokio::task::spawn_blocking(move || store::RocksStore::open(&path, sync))
        .await
        .map_err(|e| Error::Fatal(e.to_string()))??;
    let db = store::Db::new(Arc::new(rocks));

    let url: alloy::transports::http::reqwest::Url = config
        .l1_rpc
        .parse()
        .map_err(|e| Error::Fatal(format!("bad L1 RPC URL {}: {e}", config.l1_rpc)))?;
    let provider = ProviderBuilder::new()
        .disable_recommended_fillers()
        .connect_http(url)
        .erased();
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut shutdown = Box::pin(shutdown);

    // The chain id is part of the signing domain: wait for L1 to answer.
    let mut unreachable = retry_log::RetryLog::new("reaching L1 at start");
    let chain_id = loop {
        match provider.get_chain_id().await {
            Ok(id) => {
                unreachable.succeeded();
                break id;
            }
            Err(e) => {
                unreachable.failed(&format_args!("{e} ({})", config.l1_rpc));
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                    _ = &mut shutdown => return Ok(()),
                }
            }
        }
    };
    let operator = config.signer.address();
    match plasma_contracts::RootChain::new(config.root_chain, &provider)
        .operator()
        .call()
        .await
    {
        Ok(expected) if expected != operator => {
            tracing::warn!(target: "operator", key = %operator, contract_operator = %expected, "the operator key is not the root contract's operator: commits will revert");
        }
        Ok(_) => {}
        Err(e) => {
            tracing::warn!(target: "operator", error = %e, "could not read the root contract's operator")
        }
    }
    let rules = Rules::new(&Domain::new(chain_id, config.root_chain), config.min_fee);
    let metrics = Arc::new(metrics::Metrics::default());
    let max_pending = config.max_pending;
    let chain = {
        let metrics = metrics.clone();
        let db = db.clone();
        tokio::task::spawn_blocking(move || chain::Chain::open(db, rules, max_pending, metrics))
            .await
            .map_err(|e| Error::Fatal(e.to_string()))??
    };
    let fee_address = config.fee_address.unwrap_or(operator);
    let chain = Arc::new(chain.claim_fees_to(fee_address));
    tracing::info!(
        target: "operator",
        chain_id,
        root_chain = %config.root_chain,
        %operator,
        db = %config.db_path.display(),
        listen = %listener.local_addr()?,
        next_block = db.next_block()?,
        pending = chain.mempool_len(),
        "operator starting"
    );

    let state = Arc::new(api::ApiState {
        chain: chain.clone(),
        root_chain: config.root_chain,
        chain_id,
        operator,
    });
    let routes = api::routes(state, config.max_body_bytes);
    let server = server::serve(
        routes,
        listener,
        config.http,
        metrics.clone(),
        stop_rx.clone(),
    );

    let wake = Arc::new(Notify::new());
    let producer = producer::run(
        chain.clone(),
        config.block_interval,
        wake.clone(),
        stop_rx.clone(),
    );
    let submitter = submitter::Submitter::new(
        chain.clone(),
        provider.clone(),
        config.signer.clone(),
        chain_id,
        &config,
        wake,
    )
    .run(stop_rx.clone());
    let follower = follower::Follower::new(chain.clone(), provider, &config).run(stop_rx);

    let tasks = [
        tokio::spawn(server),
        tokio::spawn(producer),
        tokio::spawn(submitter),
        tokio::spawn(follower),
    ];
    shutdown.await;
    tracing::info!(target: "operator", "shutting down");
    let _ = stop_tx.send(true);
    for task in tasks {
        let _ = task.await;
    }
    tracing::info!(target: "operator", "stopped");
    Ok(())
}
