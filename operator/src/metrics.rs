//! Prometheus metrics, kept in atomics and rendered as the text exposition format by
//! `GET /metrics`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// Upper bounds (seconds) of the commit-latency histogram buckets.
const LATENCY_BUCKETS: [f64; 10] = [1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0, 600.0];

/// The operator's counters and gauges.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Transactions accepted into the mempool.
    pub accepted: AtomicU64,
    rejected: Mutex<BTreeMap<&'static str, u64>>,
    /// Transactions waiting for a block.
    pub mempool_size: AtomicU64,
    /// The latest operator block produced.
    pub latest_block: AtomicU64,
    /// The latest operator block committed on L1.
    pub last_committed_block: AtomicU64,
    /// Operator blocks produced and not yet committed on L1.
    pub uncommitted_blocks: AtomicU64,
    /// L1 blocks the event follower is behind the L1 head.
    pub l1_follower_lag: AtomicU64,
    /// Operator blocks produced since start.
    pub blocks_produced: AtomicU64,
    /// Deposit blocks created since start.
    pub deposits: AtomicU64,
    /// Exits started on L1 that marked an output exiting, since start.
    pub exits_started: AtomicU64,
    /// Pending transactions dropped because an input started exiting.
    pub pending_dropped: AtomicU64,
    /// L1 commit transactions sent (including replacements).
    pub commit_txs_sent: AtomicU64,
    /// Errors talking to L1.
    pub l1_errors: AtomicU64,
    /// Microseconds spent making and storing operator blocks, since start.
    pub block_build_micros: AtomicU64,
    /// Microseconds the latest operator block took to make and store.
    pub last_block_build_micros: AtomicU64,
    /// API connections open now.
    pub http_connections_open: AtomicU64,
    /// API connections closed at once because `--max-connections` were open, since start.
    pub http_connections_refused: AtomicU64,
    /// API requests answered `408 request_timeout`, since start.
    pub http_request_timeouts: AtomicU64,
    /// Wei the blocks' fee claims took, since start.
    fees_claimed: Mutex<alloy::primitives::U256>,
    latency: Mutex<Histogram>,
    produced_at: Mutex<BTreeMap<u64, std::time::Instant>>,
}

#[derive(Debug, Default)]
struct Histogram {
    buckets: [u64; LATENCY_BUCKETS.len()],
    count: u64,
    sum: f64,
}

impl Metrics {
    /// Counts a rejected transaction under its error code.
    pub fn reject(&self, code: &'static str) {
        let mut rejected = self.rejected.lock().unwrap_or_else(|e| e.into_inner());
        *rejected.entry(code).or_default() += 1;
    }

    /// Records the time from producing a block to seeing it committed on L1.
    pub fn observe_commit_latency(&self, seconds: f64) {
        let mut h = self.latency.lock().unwrap_or_else(|e| e.into_inner());
        for (bucket, bound) in h.buckets.iter_mut().zip(LATENCY_BUCKETS) {
            if seconds <= bound {
                *bucket += 1;
            }
        }
        h.count += 1;
        h.sum += seconds;
    }

    /// Records how long making and storing one operator block took.
    pub fn observe_block_build(&self, seconds: f64) {
        let micros = (seconds * 1e6) as u64;
        self.block_build_micros.fetch_add(micros, Ordering::Relaxed);
        self.last_block_build_micros
            .store(micros, Ordering::Relaxed);
    }

    /// Adds what a block's fee claim took.
    pub fn fees_claimed(&self, wei: alloy::primitives::U256) {
        let mut total = self.fees_claimed.lock().unwrap_or_else(|e| e.into_inner());
        *total = total.saturating_add(wei);
    }

    /// Notes when operator block `blknum` was produced (for the commit latency).
    pub fn block_produced(&self, blknum: u64) {
        self.latest_block.store(blknum, Ordering::Relaxed);
        self.blocks_produced.fetch_add(1, Ordering::Relaxed);
        let mut produced = self.produced_at.lock().unwrap_or_else(|e| e.into_inner());
        produced.insert(blknum, std::time::Instant::now());
    }

    /// Notes that operator block `blknum` is committed on L1.
    pub fn block_committed(&self, blknum: u64) {
        self.last_committed_block.store(blknum, Ordering::Relaxed);
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

    /// The text exposition format, with the L1 readings `l1` (kept by the chain, not here).
    pub fn render(&self, l1: &crate::chain::L1Status) -> String {
        let mut out = String::new();
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let mut metric = |name: &str, kind: &str, help: &str, value: u64| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
            );
        };
        metric(
            "plasma_operator_transactions_accepted_total",
            "counter",
            "Transactions accepted into the mempool (durably stored).",
            get(&self.accepted),
        );
        metric(
            "plasma_operator_http_connections_open",
            "gauge",
            "API connections open now.",
            get(&self.http_connections_open),
        );
        metric(
            "plasma_operator_http_connections_refused_total",
            "counter",
            "API connections closed at once because --max-connections were open.",
            get(&self.http_connections_refused),
        );
        metric(
            "plasma_operator_http_request_timeouts_total",
            "counter",
            "API requests answered 408 request_timeout (not sent and answered within --http-request-timeout).",
            get(&self.http_request_timeouts),
        );
        metric(
            "plasma_operator_mempool_size",
            "gauge",
            "Transactions acknowledged and waiting for a block.",
            get(&self.mempool_size),
        );
        metric(
            "plasma_operator_latest_block",
            "gauge",
            "Number of the latest operator block produced.",
            get(&self.latest_block),
        );
        metric(
            "plasma_operator_last_committed_block",
            "gauge",
            "Number of the latest operator block whose root is committed on L1.",
            get(&self.last_committed_block),
        );
        metric(
            "plasma_operator_uncommitted_blocks",
            "gauge",
            "Operator blocks produced but not yet committed on L1 (the commit lag).",
            get(&self.uncommitted_blocks),
        );
        metric(
            "plasma_operator_l1_follower_lag_blocks",
            "gauge",
            "L1 blocks between the L1 head and the last block whose events were applied.",
            get(&self.l1_follower_lag),
        );
        metric(
            "plasma_operator_blocks_produced_total",
            "counter",
            "Operator blocks produced since start.",
            get(&self.blocks_produced),
        );
        metric(
            "plasma_operator_deposits_total",
            "counter",
            "Deposit blocks created from L1 deposits since start.",
            get(&self.deposits),
        );
        metric(
            "plasma_operator_exits_started_total",
            "counter",
            "Outputs marked exiting after an ExitStarted event, since start.",
            get(&self.exits_started),
        );
        metric(
            "plasma_operator_pending_dropped_total",
            "counter",
            "Pending transactions dropped because one of their inputs started exiting on L1.",
            get(&self.pending_dropped),
        );
        metric(
            "plasma_operator_commit_transactions_sent_total",
            "counter",
            "L1 submitBlock transactions broadcast, replacements included.",
            get(&self.commit_txs_sent),
        );
        metric(
            "plasma_operator_l1_errors_total",
            "counter",
            "Failed L1 requests (RPC errors, timeouts).",
            get(&self.l1_errors),
        );
        metric(
            "plasma_operator_l1_next_child_block",
            "gauge",
            "The root contract's nextChildBlock() as last read.",
            l1.next_child_block,
        );
        metric(
            "plasma_operator_l1_head_block",
            "gauge",
            "The L1 head block number as last read.",
            l1.head,
        );
        let seconds = |a: &AtomicU64| a.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(
            out,
            "# HELP plasma_operator_block_build_seconds_total Seconds spent making and storing operator blocks since start.\n# TYPE plasma_operator_block_build_seconds_total counter\nplasma_operator_block_build_seconds_total {}",
            seconds(&self.block_build_micros)
        );
        let _ = writeln!(
            out,
            "# HELP plasma_operator_last_block_build_seconds Seconds the latest operator block took to make and store.\n# TYPE plasma_operator_last_block_build_seconds gauge\nplasma_operator_last_block_build_seconds {}",
            seconds(&self.last_block_build_micros)
        );
        let _ = writeln!(
            out,
            "# HELP plasma_operator_transactions_rejected_total Transactions rejected, by error code.\n# TYPE plasma_operator_transactions_rejected_total counter"
        );
        for (code, count) in self
            .rejected
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
        {
            let _ = writeln!(
                out,
                "plasma_operator_transactions_rejected_total{{reason=\"{code}\"}} {count}"
            );
        }
        let h = self.latency.lock().unwrap_or_else(|e| e.into_inner());
        let name = "plasma_operator_commit_latency_seconds";
        let _ = writeln!(
            out,
            "# HELP {name} Seconds from producing an operator block to seeing its root committed on L1.\n# TYPE {name} histogram"
        );
        for (count, bound) in h.buckets.iter().zip(LATENCY_BUCKETS) {
            let _ = writeln!(out, "{name}_bucket{{le=\"{bound}\"}} {count}");
        }
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {}", h.count);
        let _ = writeln!(out, "{name}_sum {}", h.sum);
        let _ = writeln!(out, "{name}_count {}", h.count);
        // Wei exceed 64 bits: written as the decimal integer it is (Prometheus reads it as a
        // float).
        let fees = *self.fees_claimed.lock().unwrap_or_else(|e| e.into_inner());
        let _ = writeln!(
            out,
            "# HELP plasma_operator_fees_claimed_wei_total Wei claimed by the fee claims of the blocks produced since start.\n# TYPE plasma_operator_fees_claimed_wei_total counter\nplasma_operator_fees_claimed_wei_total {fees}"
        );
        out
    }
}
