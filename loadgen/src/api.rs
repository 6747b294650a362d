//! The operator's HTTP API, as far as the generator needs it.

use std::time::{Duration, Instant};

use alloy::primitives::B256;
use eyre::{WrapErr, bail, eyre};
use plasma_core::Block;
use plasma_core::wire::BlockJson;
use serde_json::Value;

/// A client of one operator.
#[derive(Clone)]
pub(crate) struct Api {
    base: String,
    http: reqwest::Client,
}

/// How a batch fared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Submitted {
    /// Every transaction is accepted (pending or already included).
    Accepted,
    /// Some transactions were refused with `mempool_full`: send the batch again later.
    MempoolFull,
}

impl Api {
    pub(crate) fn new(base: &str) -> Self {
        Self {
            base: base.trim_end_matches('/').to_owned(),
            http: reqwest::Client::new(),
        }
    }

    pub(crate) async fn get(&self, path: &str) -> eyre::Result<Value> {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .wrap_err_with(|| format!("GET {path}"))?;
        let status = response.status();
        let body: Value = response
            .json()
            .await
            .wrap_err_with(|| format!("GET {path}"))?;
        if !status.is_success() {
            bail!("GET {path}: {status} {body}");
        }
        Ok(body)
    }

    /// Sends one batch body (a JSON array of signed transactions). Any refusal other than
    /// `mempool_full` is an error: the generator only sends valid payments.
    pub(crate) async fn submit(&self, body: Vec<u8>) -> eyre::Result<Submitted> {
        let response = self
            .http
            .post(format!("{}/v1/transactions", self.base))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .wrap_err("POST /v1/transactions")?;
        let status = response.status();
        let body: Value = response.json().await.wrap_err("POST /v1/transactions")?;
        if !status.is_success() {
            bail!("batch refused: {status} {body}");
        }
        let results = body["results"]
            .as_array()
            .ok_or_else(|| eyre!("no results in {body}"))?;
        let mut full = false;
        for result in results {
            match result["error"]["code"].as_str() {
                None => {}
                Some("mempool_full") => full = true,
                Some(_) => bail!("a transaction was refused: {result}"),
            }
        }
        Ok(if full {
            Submitted::MempoolFull
        } else {
            Submitted::Accepted
        })
    }

    /// Sends a batch until all of it is accepted, waiting while the mempool is full. Returns
    /// how many times it was refused for a full mempool.
    pub(crate) async fn submit_until_accepted(&self, body: &[u8]) -> eyre::Result<u32> {
        let mut refusals = 0;
        let start = Instant::now();
        // Resending is safe: a transaction already accepted is reported as such and not
        // stored twice.
        while self.submit(body.to_vec()).await? == Submitted::MempoolFull {
            refusals += 1;
            if start.elapsed() > Duration::from_secs(300) {
                bail!("the operator's mempool stayed full for 300 s");
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        Ok(refusals)
    }

    /// The operator's commit-latency histogram so far: (sum of seconds, count) of "block made →
    /// seen committed on L1".
    pub(crate) async fn commit_latency(&self) -> eyre::Result<(f64, u64)> {
        let text = self
            .http
            .get(format!("{}/metrics", self.base))
            .send()
            .await
            .wrap_err("GET /metrics")?
            .text()
            .await
            .wrap_err("GET /metrics")?;
        let value = |name: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse::<f64>().ok())
                .unwrap_or(0.0)
        };
        Ok((
            value("plasma_operator_commit_latency_seconds_sum"),
            value("plasma_operator_commit_latency_seconds_count") as u64,
        ))
    }

    /// The highest operator block the operator reports committed on L1.
    pub(crate) async fn committed(&self) -> eyre::Result<u64> {
        let status = self.get("/v1/status").await?;
        Ok(status["lastCommittedBlock"].as_u64().unwrap_or(0))
    }

    /// Blocks from `from` on (up to 2: a full block is ~80 MB of JSON), decoded.
    pub(crate) async fn blocks_from(&self, from: u64) -> eyre::Result<Vec<Block>> {
        let page = self.get(&format!("/v1/blocks?from={from}&limit=2")).await?;
        let blocks: Vec<BlockJson> = serde_json::from_value(page["blocks"].clone())?;
        blocks
            .into_iter()
            .map(|b| Block::try_from(b).map_err(|(i, e)| eyre!("tx {i} of a block: {e}")))
            .collect()
    }

    /// The block holding transaction `hash`, once it is in one (`None` while pending).
    pub(crate) async fn tx_block(&self, hash: &B256) -> eyre::Result<Option<u64>> {
        let tx = self.get(&format!("/v1/transactions/{hash}")).await?;
        Ok(match tx["status"].as_str() {
            Some("included") => tx["blknum"].as_u64(),
            _ => None,
        })
    }
}

/// `VmHWM` (peak resident memory) and `VmRSS` of `pid`, in MiB.
pub(crate) fn memory_mib(pid: u32) -> Option<(f64, f64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| -> Option<f64> {
        let line = status.lines().find(|l| l.starts_with(name))?;
        let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kib / 1024.0)
    };
    Some((field("VmHWM:")?, field("VmRSS:")?))
}

/// Resets the peak resident size (`VmHWM`) of `pid` to its current size, so a later reading is
/// the peak since now. Needs the right to write `/proc/<pid>/clear_refs` (same user).
pub(crate) fn reset_peak_memory(pid: u32) -> bool {
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5").is_ok()
}

/// CPU time (user + system) `pid` has used so far.
pub(crate) fn cpu_time(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command (which may hold spaces) start after the last ')'.
    let rest = stat.get(stat.rfind(')')? + 2..)?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line: 11 and 12 after the command.
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // Linux reports them in USER_HZ, 100 on every mainstream configuration.
    Some(Duration::from_millis(ticks * 10))
}

/// The machine's CPU time by kind so far (`/proc/stat`, all CPUs): busy, idle (with I/O wait),
/// and stolen by the hypervisor.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct MachineCpu {
    pub(crate) busy: u64,
    pub(crate) idle: u64,
    pub(crate) steal: u64,
}

impl MachineCpu {
    pub(crate) fn now() -> Option<Self> {
        let stat = std::fs::read_to_string("/proc/stat").ok()?;
        let line = stat.lines().find(|l| l.starts_with("cpu "))?;
        let v: Vec<u64> = line
            .split_whitespace()
            .skip(1)
            .filter_map(|f| f.parse().ok())
            .collect();
        // user nice system idle iowait irq softirq steal
        let at = |i: usize| v.get(i).copied().unwrap_or(0);
        Some(Self {
            busy: at(0) + at(1) + at(2) + at(5) + at(6),
            idle: at(3) + at(4),
            steal: at(7),
        })
    }

    /// Shares of the time between `self` and `later`: (busy, idle, stolen), in percent.
    pub(crate) fn shares(&self, later: &Self) -> (f64, f64, f64) {
        let busy = later.busy.saturating_sub(self.busy) as f64;
        let idle = later.idle.saturating_sub(self.idle) as f64;
        let steal = later.steal.saturating_sub(self.steal) as f64;
        let all = (busy + idle + steal).max(1.0);
        (100.0 * busy / all, 100.0 * idle / all, 100.0 * steal / all)
    }
}
