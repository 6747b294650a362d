//! The operator's API as the generator uses it (through `plasma-api`'s typed client), and the
//! process and machine readings it reports.

use std::time::{Duration, Instant};

use alloy::primitives::{Address, B256};
use eyre::{WrapErr, bail, eyre};
use plasma_api::{ApiClient, BatchResult, ErrorCode, Status, StatusName, SubmitEncoding, TxStatus};
use plasma_core::{Block, UtxoPos};

/// The value of the sample `series` (a metric name with its labels, as written) in a
/// `/metrics` exposition.
fn metric_value(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|l| {
        l.strip_prefix(series)?
            .strip_prefix(' ')?
            .trim()
            .parse()
            .ok()
    })
}

/// A client of one operator.
#[derive(Clone)]
pub(crate) struct Api {
    client: ApiClient,
    encoding: SubmitEncoding,
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
    /// A client of the operator at `base` that submits batches as `encoding`.
    pub(crate) fn new(base: &str, encoding: SubmitEncoding) -> Self {
        // No request timeout: a batch of 1,000 may wait long behind a full block's write.
        Self {
            client: ApiClient::with_http(base, reqwest::Client::new()),
            encoding,
        }
    }

    /// The form batches are sent in: what [`Api::submit`] bodies must be encoded as.
    pub(crate) fn encoding(&self) -> SubmitEncoding {
        self.encoding
    }

    pub(crate) async fn status(&self) -> eyre::Result<Status> {
        self.client.status().await.wrap_err("GET /v1/status")
    }

    /// Whether the operator lists output `pos` of `owner`.
    pub(crate) async fn has_utxo(&self, owner: Address, pos: UtxoPos) -> eyre::Result<bool> {
        let page = self
            .client
            .utxos(owner, None, None)
            .await
            .wrap_err("GET /v1/accounts/{owner}/utxos")?;
        Ok(page.utxos.iter().any(|u| u.utxo.utxo_pos == pos))
    }

    /// Sends one batch body (encoded as [`Api::encoding`]). Any refusal other than
    /// `mempool_full` is an error: the generator only sends valid payments.
    pub(crate) async fn submit(&self, body: Vec<u8>) -> eyre::Result<Submitted> {
        let answer = self
            .client
            .submit_encoded(self.encoding, body)
            .await
            .wrap_err("batch refused: POST /v1/transactions")?;
        let mut full = false;
        for result in &answer.results {
            match result {
                BatchResult::Ok(_) => {}
                BatchResult::Err(e) if e.error.code == ErrorCode::MempoolFull => full = true,
                BatchResult::Err(e) => bail!(
                    "a transaction was refused: {}: {}",
                    e.error.code,
                    e.error.message
                ),
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
        let text = self.client.metrics().await.wrap_err("GET /metrics")?;
        let value = |name: &str| metric_value(&text, name).unwrap_or(0.0);
        Ok((
            value("plasma_operator_commit_latency_seconds_sum"),
            value("plasma_operator_commit_latency_seconds_count") as u64,
        ))
    }

    /// What the operator's store holds in memory, by its `/metrics` (`None` if it cannot say).
    pub(crate) async fn store_memory(&self) -> Option<crate::soak::StoreMib> {
        let text = self.client.metrics().await.ok()?;
        let mib = |kind: &str| {
            metric_value(
                &text,
                &format!("plasma_operator_store_memory_bytes{{kind=\"{kind}\"}}"),
            )
            .map(|bytes| bytes / 1_048_576.0)
        };
        Some(crate::soak::StoreMib {
            table_readers: mib("table_readers")?,
            memtables: mib("memtables")?,
            block_cache: mib("block_cache")?,
        })
    }

    /// The highest operator block the operator reports committed on L1.
    pub(crate) async fn committed(&self) -> eyre::Result<u64> {
        Ok(self.status().await?.last_committed_block)
    }

    /// Blocks from `from` on (up to 2: a full block is ~80 MB of JSON), decoded.
    pub(crate) async fn blocks_from(&self, from: u64) -> eyre::Result<Vec<Block>> {
        let blocks = self
            .client
            .blocks(from, 2)
            .await
            .wrap_err("GET /v1/blocks")?;
        blocks
            .into_iter()
            .map(|b| Block::try_from(b).map_err(|(i, e)| eyre!("tx {i} of a block: {e}")))
            .collect()
    }

    /// The block holding transaction `hash`, once it is in one (`None` while pending).
    pub(crate) async fn tx_block(&self, hash: &B256) -> eyre::Result<Option<u64>> {
        let tx = self
            .client
            .transaction(*hash)
            .await
            .wrap_err("GET /v1/transactions/{hash}")?
            .ok_or_else(|| eyre!("the operator does not know transaction {hash}"))?;
        Ok(match (tx.result.status, tx.result.tx_status()) {
            (StatusName::Included, TxStatus::Included { blknum, .. }) => Some(blknum),
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
    // utime and stime: fields 14 and 15 of the line.
    stat_time(&format!("/proc/{pid}/stat"), 14)
}

/// CPU time (user + system) of this process's children that have exited and been waited for
/// (`cutime` and `cstime`: all their threads, up to their exit).
pub(crate) fn children_cpu_time() -> Option<Duration> {
    stat_time("/proc/self/stat", 16)
}

/// The sum of fields `field` and `field + 1` (1-based, as `man proc` numbers them) of a
/// `/proc/…/stat` file, in clock ticks, as a duration.
fn stat_time(path: &str, field: usize) -> Option<Duration> {
    let stat = std::fs::read_to_string(path).ok()?;
    // Fields after the command (field 2, which may hold spaces) start after the last ')'.
    let rest = stat.get(stat.rfind(')')? + 2..)?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // Field 3 is the first after the command.
    let at = |n: usize| fields.get(n.checked_sub(3)?)?.parse::<u64>().ok();
    let ticks = at(field)? + at(field + 1)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_of_self_and_of_waited_children() {
        assert!(cpu_time(std::process::id()).is_some());
        let before = children_cpu_time().expect("/proc/self/stat");
        // A child that spins for a tenth of a second or so of CPU.
        let status = std::process::Command::new("sh")
            .args(["-c", "i=0; while [ $i -lt 100000 ]; do i=$((i+1)); done"])
            .status()
            .expect("sh runs");
        assert!(status.success());
        let after = children_cpu_time().expect("/proc/self/stat");
        assert!(after > before, "{before:?} → {after:?}");
    }
}
