//! The operator's Prometheus metrics, kept in `prometheus-client` (the Prometheus project's
//! own Rust client library) and served by `GET /metrics` in the OpenMetrics text format.
//!
//! The histograms' buckets are chosen to resolve what is actually measured (see
//! `docs/OPERATOR.md`): an L1 commit takes about 0.14 s on a local anvil and seconds to minutes
//! on a real chain; a block is made and stored in 1 ms (a few transactions) to 230 ms (65,536);
//! an API request is answered in tens of microseconds to a few milliseconds. Histograms name
//! their unit (`_seconds`) rather than declaring an OpenMetrics `# UNIT`, which some parsers
//! refuse on histograms.

use std::sync::Mutex;
use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Metric, Registry};

/// The `content-type` of the exposition.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Upper bounds (seconds) of the commit-latency buckets: from producing a block to seeing its
/// root committed on L1 (about 0.14 s on anvil, one or more L1 blocks on a real chain).
pub const COMMIT_LATENCY_BUCKETS: [f64; 19] = [
    0.025, 0.05, 0.075, 0.1, 0.125, 0.15, 0.2, 0.3, 0.5, 0.75, 1.0, 2.0, 5.0, 10.0, 20.0, 30.0,
    60.0, 120.0, 300.0,
];

/// Upper bounds (seconds) of the block-build buckets: making and storing one operator block.
pub const BLOCK_BUILD_BUCKETS: [f64; 15] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.25, 0.35, 0.5, 1.0,
];

/// Upper bounds (seconds) of the API request buckets, per route.
pub const REQUEST_BUCKETS: [f64; 16] = [
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
    5.0, 30.0,
];

/// A gauge of a non-negative count.
type Count = Gauge<u64, AtomicU64>;

/// Labels of a rejected transaction: its error code.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RejectLabels {
    reason: &'static str,
}

/// Labels of an API request: the route it matched (a fixed set, so an attacker's made-up
/// paths cannot grow the exposition) and the status it was answered with.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: &'static str,
    status: u16,
}

/// Labels of the store's memory: what the bytes are for.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct MemoryLabels {
    kind: &'static str,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

/// The operator's metrics. Cheap to update from any thread.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    /// Transactions accepted into the mempool.
    pub accepted: Counter,
    rejected: Family<RejectLabels, Counter>,
    /// Transactions waiting for a block.
    pub mempool_size: Count,
    /// The latest operator block produced.
    pub latest_block: Count,
    /// The latest operator block committed on L1.
    pub last_committed_block: Count,
    /// Operator blocks produced and not yet committed on L1.
    pub uncommitted_blocks: Count,
    /// L1 blocks the event follower is behind the L1 head.
    pub l1_follower_lag: Count,
    /// Operator blocks produced since start.
    pub blocks_produced: Counter,
    /// Deposit blocks created since start.
    pub deposits: Counter,
    /// Exits started on L1 that marked an output exiting, since start.
    pub exits_started: Counter,
    /// Pending transactions dropped because an input started exiting.
    pub pending_dropped: Counter,
    /// L1 commit transactions sent (including replacements).
    pub commit_txs_sent: Counter,
    /// Errors talking to L1.
    pub l1_errors: Counter,
    /// L1 reorganisations the follower undid.
    pub l1_reorgs: Counter,
    /// Writes the store refused (a full disk, say).
    pub store_write_errors: Counter,
    /// API connections open now.
    pub http_connections_open: Count,
    /// API connections closed at once because `--max-connections` were open, since start.
    pub http_connections_refused: Counter,
    /// API requests answered `408 request_timeout`, since start.
    pub http_request_timeouts: Counter,
    l1_next_child_block: Count,
    l1_head: Count,
    store_memory: Family<MemoryLabels, Count>,
    fees_claimed: Counter<f64, AtomicU64>,
    commit_latency: Histogram,
    block_build: Histogram,
    requests: HistogramFamily<RequestLabels>,
    produced_at: Mutex<std::collections::BTreeMap<u64, std::time::Instant>>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Every metric at zero, registered under its name.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("plasma_operator");
        let accepted = registered(
            &mut registry,
            Counter::default(),
            "transactions_accepted",
            "Transactions accepted into the mempool (durably stored)",
        );
        let rejected = registered(
            &mut registry,
            Family::<RejectLabels, Counter>::default(),
            "transactions_rejected",
            "Transactions rejected, by error code",
        );
        let mempool_size = registered(
            &mut registry,
            Count::default(),
            "mempool_size",
            "Transactions acknowledged and waiting for a block",
        );
        let latest_block = registered(
            &mut registry,
            Count::default(),
            "latest_block",
            "Number of the latest operator block produced",
        );
        let last_committed_block = registered(
            &mut registry,
            Count::default(),
            "last_committed_block",
            "Number of the latest operator block whose root is committed on L1",
        );
        let uncommitted_blocks = registered(
            &mut registry,
            Count::default(),
            "uncommitted_blocks",
            "Operator blocks produced but not yet committed on L1 (the commit lag)",
        );
        let l1_follower_lag = registered(
            &mut registry,
            Count::default(),
            "l1_follower_lag_blocks",
            "L1 blocks between the L1 head and the last block whose events were applied",
        );
        let http_connections_open = registered(
            &mut registry,
            Count::default(),
            "http_connections_open",
            "API connections open now",
        );
        let l1_next_child_block = registered(
            &mut registry,
            Count::default(),
            "l1_next_child_block",
            "The root contract's nextChildBlock() as last read",
        );
        let l1_head = registered(
            &mut registry,
            Count::default(),
            "l1_head_block",
            "The L1 head block number as last read",
        );
        let blocks_produced = registered(
            &mut registry,
            Counter::default(),
            "blocks_produced",
            "Operator blocks produced since start",
        );
        let deposits = registered(
            &mut registry,
            Counter::default(),
            "deposits",
            "Deposit blocks created from L1 deposits since start",
        );
        let exits_started = registered(
            &mut registry,
            Counter::default(),
            "exits_started",
            "Outputs marked exiting after an ExitStarted event, since start",
        );
        let pending_dropped = registered(
            &mut registry,
            Counter::default(),
            "pending_dropped",
            "Pending transactions dropped because one of their inputs started exiting on L1",
        );
        let commit_txs_sent = registered(
            &mut registry,
            Counter::default(),
            "commit_transactions_sent",
            "L1 submitBlock transactions broadcast, replacements included",
        );
        let l1_errors = registered(
            &mut registry,
            Counter::default(),
            "l1_errors",
            "Failed L1 requests (RPC errors, timeouts)",
        );
        let store_write_errors = registered(
            &mut registry,
            Counter::default(),
            "store_write_errors",
            "Writes the store refused (a full disk, say): transactions are refused with 503 store_unavailable meanwhile",
        );
        let l1_reorgs = registered(
            &mut registry,
            Counter::default(),
            "l1_reorgs",
            "L1 reorganisations that replaced applied L1 blocks, undone by the follower",
        );
        let http_connections_refused = registered(
            &mut registry,
            Counter::default(),
            "http_connections_refused",
            "API connections closed at once because --max-connections were open",
        );
        let http_request_timeouts = registered(
            &mut registry,
            Counter::default(),
            "http_request_timeouts",
            "API requests answered 408 request_timeout (not sent and answered within --http-request-timeout)",
        );
        let fees_claimed = registered(
            &mut registry,
            Counter::<f64, AtomicU64>::default(),
            "fees_claimed_wei",
            "Wei claimed by the fee claims of the blocks produced since start",
        );
        let store_memory = registered(
            &mut registry,
            Family::<MemoryLabels, Count>::default(),
            "store_memory_bytes",
            "Bytes the store holds in memory, by kind: table_readers (index and filter blocks \
             outside the block cache), memtables, block_cache, block_cache_pinned (part of \
             block_cache)",
        );
        let commit_latency = registered(
            &mut registry,
            Histogram::new(COMMIT_LATENCY_BUCKETS),
            "commit_latency_seconds",
            "Time from producing an operator block to seeing its root committed on L1",
        );
        let block_build = registered(
            &mut registry,
            Histogram::new(BLOCK_BUILD_BUCKETS),
            "block_build_seconds",
            "Time to make and durably store one operator block",
        );
        let requests: HistogramFamily<RequestLabels> = registered(
            &mut registry,
            Family::new_with_constructor(|| Histogram::new(REQUEST_BUCKETS)),
            "http_request_duration_seconds",
            "Time to answer an API request, by route and status",
        );
        Self {
            registry,
            accepted,
            rejected,
            mempool_size,
            latest_block,
            last_committed_block,
            uncommitted_blocks,
            l1_follower_lag,
            blocks_produced,
            deposits,
            exits_started,
            pending_dropped,
            commit_txs_sent,
            l1_errors,
            l1_reorgs,
            store_write_errors,
            http_connections_open,
            http_connections_refused,
            http_request_timeouts,
            l1_next_child_block,
            l1_head,
            store_memory,
            fees_claimed,
            commit_latency,
            block_build,
            requests,
            produced_at: Mutex::default(),
        }
    }

    /// Counts a rejected transaction under its error code.
    pub fn reject(&self, code: &'static str) {
        self.rejected
            .get_or_create(&RejectLabels { reason: code })
            .inc();
    }

    /// Records the time from producing a block to seeing it committed on L1.
    pub fn observe_commit_latency(&self, seconds: f64) {
        self.commit_latency.observe(seconds);
    }

    /// Records how long making and storing one operator block took.
    pub fn observe_block_build(&self, seconds: f64) {
        self.block_build.observe(seconds);
    }

    /// Records how long an API request took, under the route its method and path match.
    pub fn observe_request(&self, method: &str, path: &str, status: u16, seconds: f64) {
        self.requests
            .get_or_create(&RequestLabels {
                route: route(method, path),
                status,
            })
            .observe(seconds);
    }

    /// Adds what a block's fee claim took.
    pub fn fees_claimed(&self, wei: alloy::primitives::U256) {
        // Prometheus values are floats: wei beyond 2^53 lose their last digits, as they would in
        // any Prometheus query.
        self.fees_claimed.inc_by(f64::from(wei));
    }

    /// Notes when operator block `blknum` was produced (for the commit latency).
    pub fn block_produced(&self, blknum: u64) {
        self.latest_block.set(blknum);
        self.blocks_produced.inc();
        let mut produced = self.produced_at.lock().unwrap_or_else(|e| e.into_inner());
        produced.insert(blknum, std::time::Instant::now());
    }

    /// Notes that operator block `blknum` is committed on L1.
    pub fn block_committed(&self, blknum: u64) {
        self.last_committed_block.set(blknum);
        let started = {
            let mut produced = self.produced_at.lock().unwrap_or_else(|e| e.into_inner());
            let started = produced.remove(&blknum);
            produced.retain(|b, _| *b > blknum);
            started
        };
        if let Some(started) = started {
            self.observe_commit_latency(started.elapsed().as_secs_f64());
        }
    }

    /// Brings the store's write-failure counter up to `total` (the store counts them).
    pub fn store_write_failures(&self, total: u64) {
        let seen = self.store_write_errors.get();
        if total > seen {
            self.store_write_errors.inc_by(total - seen);
        }
    }

    /// Records what the store holds in memory now.
    pub fn store_memory(&self, memory: &crate::store::StoreMemory) {
        for (kind, bytes) in [
            ("table_readers", memory.table_readers),
            ("memtables", memory.memtables),
            ("block_cache", memory.block_cache),
            ("block_cache_pinned", memory.block_cache_pinned),
        ] {
            self.store_memory
                .get_or_create(&MemoryLabels { kind })
                .set(bytes);
        }
    }

    /// The OpenMetrics text exposition, with the L1 readings `l1` (kept by the chain, not here).
    pub fn render(&self, l1: &crate::chain::L1Status) -> String {
        self.l1_next_child_block.set(l1.next_child_block);
        self.l1_head.set(l1.head);
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

/// `metric`, registered in `registry` under `name` with `help`.
fn registered<M: Metric + Clone>(registry: &mut Registry, metric: M, name: &str, help: &str) -> M {
    registry.register(name, help, metric.clone());
    metric
}

/// The route template `path` matches, for the request histogram's label: a fixed set, so that
/// requests for made-up paths are all counted under `other`.
pub fn route(method: &str, path: &str) -> &'static str {
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    match (method, parts.as_slice()) {
        ("POST", ["v1", "transactions"]) => "POST /v1/transactions",
        ("GET", ["v1", "transactions", _]) => "GET /v1/transactions/{hash}",
        ("GET", ["v1", "blocks"]) => "GET /v1/blocks",
        ("GET", ["v1", "blocks", _]) => "GET /v1/blocks/{blknum}",
        ("GET", ["v1", "accounts", _, "utxos"]) => "GET /v1/accounts/{address}/utxos",
        ("GET", ["v1", "utxos", _, "exit-data"]) => "GET /v1/utxos/{utxoPos}/exit-data",
        ("GET", ["v1", "status"]) => "GET /v1/status",
        ("GET", ["v1", "fees"]) => "GET /v1/fees",
        ("GET", ["v1", "openapi.json"]) => "GET /v1/openapi.json",
        ("GET", ["metrics"]) => "GET /metrics",
        ("GET", [""] | ["explorer", ..]) => "GET /explorer",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn made_up_paths_share_one_route() {
        assert_eq!(route("GET", "/v1/blocks/1000"), "GET /v1/blocks/{blknum}");
        assert_eq!(route("GET", "/v1/blocks"), "GET /v1/blocks");
        assert_eq!(route("POST", "/v1/transactions"), "POST /v1/transactions");
        assert_eq!(route("GET", "/v1/transactions"), "other");
        assert_eq!(route("GET", "/no/such/path/x1"), "other");
        assert_eq!(route("DELETE", "/v1/status"), "other");
    }
}
