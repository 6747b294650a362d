//! The measured wave: one pre-signed 1-input, 2-output payment per funded coin, sent as fast
//! as the operator takes them, then followed until the last block is committed on L1.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use alloy::primitives::{B256, U256};
use eyre::{bail, eyre};
use plasma_core::{CHILD_BLOCK_INTERVAL, ETH, Output, SignedTransaction, Transaction};
use rayon::prelude::*;

use crate::api::Api;
use crate::fund::{Coin, Delivery, bodies, send_all};
use crate::keys::Account;

/// What each payment sends its recipient (the rest is change back to the payer).
const PAYMENT: u64 = 1_000;

/// One request of the wave, ready to send.
pub(crate) struct Request {
    body: Vec<u8>,
    /// The transactions it carries.
    pub(crate) len: usize,
    /// Its last transaction: a batch is admitted at once and stored in arrival order, so its
    /// last transaction is in the last block any of it is in.
    last: B256,
}

/// How long one signer recovery (libsecp256k1, one core) takes on this machine now: the unit
/// cost every figure of a run should be read against, since a shared machine's speed drifts.
pub(crate) fn recovery_cost(txs: &[SignedTransaction], separator: &B256) -> Option<Duration> {
    let digests: Vec<B256> = txs.iter().map(|t| t.tx().signing_hash(separator)).collect();
    let start = Instant::now();
    let mut recovered = 0u32;
    for (tx, digest) in txs.iter().zip(&digests) {
        if tx.signatures().first()?.recover(digest).is_ok() {
            recovered += 1;
        }
    }
    (recovered > 0).then(|| start.elapsed() / recovered)
}

/// The median of five [`recovery_cost`] passes over `txs`: a steadier unit cost on a machine
/// whose speed drifts.
pub(crate) fn median_recovery_cost(
    txs: &[SignedTransaction],
    separator: &B256,
) -> Option<Duration> {
    let mut passes: Vec<Duration> = (0..5)
        .filter_map(|_| recovery_cost(txs, separator))
        .collect();
    passes.sort_unstable();
    passes.get(passes.len() / 2).copied()
}

/// Recoveries per second with every core of the machine recovering at once (rayon's pool):
/// the sample's signatures over precomputed digests, as in [`recovery_cost`], four times over
/// per measurement. The ceiling as the cores deliver it: two cores of a VM need not do twice
/// what one does (shared physical cores, a shared cache, a clock that drops with the load).
pub(crate) fn recovery_rate_all_cores(txs: &[SignedTransaction], separator: &B256) -> Option<f64> {
    const ROUNDS: usize = 4;
    let digests: Vec<B256> = txs.iter().map(|t| t.tx().signing_hash(separator)).collect();
    let start = Instant::now();
    let recovered: usize = (0..ROUNDS)
        .map(|_| {
            txs.par_iter()
                .zip(&digests)
                .filter(|(tx, digest)| {
                    tx.signatures()
                        .first()
                        .is_some_and(|s| s.recover(digest).is_ok())
                })
                .count()
        })
        .sum();
    let elapsed = start.elapsed().as_secs_f64();
    (recovered > 0).then(|| recovered as f64 / elapsed.max(1e-9))
}

/// The median of `passes` measurements of [`recovery_rate_all_cores`] (`None` when no signer
/// of the sample recovers).
pub(crate) fn median_recovery_rate_all_cores(
    txs: &[SignedTransaction],
    separator: &B256,
    passes: usize,
) -> Option<f64> {
    let mut rates: Vec<f64> = (0..passes)
        .filter_map(|_| recovery_rate_all_cores(txs, separator))
        .collect();
    rates.sort_unstable_by(f64::total_cmp);
    rates.get(rates.len() / 2).copied()
}

/// Signs one payment per coin (payer: the coin's owner; recipient: the next account) and cuts
/// them into request bodies of `batch` transactions. Also returns a few of the payments, to
/// measure the machine with.
pub(crate) fn presign(
    coins: &[Coin],
    accounts: &[Account],
    separator: &B256,
    batch: usize,
    encoding: plasma_api::SubmitEncoding,
) -> eyre::Result<(Vec<Request>, Vec<SignedTransaction>)> {
    let txs: Vec<SignedTransaction> = coins
        .par_iter()
        .map(|coin| {
            let owner = coin
                .owner
                .ok_or_else(|| eyre!("the wave spends only accounts' coins"))?;
            let recipient = accounts[(owner + 1) % accounts.len()].address;
            let outputs = vec![
                Output::new(recipient, ETH, U256::from(PAYMENT)),
                Output::new(
                    accounts[owner].address,
                    ETH,
                    coin.amount - U256::from(PAYMENT),
                ),
            ];
            Ok(accounts[owner].sign(Transaction::payment(vec![coin.pos], outputs), separator))
        })
        .collect::<eyre::Result<_>>()?;
    let batch = batch.clamp(1, 1000);
    let lasts: Vec<(usize, B256)> = txs
        .chunks(batch)
        .map(|chunk| (chunk.len(), chunk[chunk.len() - 1].hash()))
        .collect();
    let sample = txs.iter().take(2_000).cloned().collect();
    let requests = bodies(&txs, batch, encoding)
        .into_iter()
        .zip(lasts)
        .map(|(body, (len, last))| Request { body, len, last })
        .collect();
    Ok((requests, sample))
}

/// When each operator block was first seen committed on L1 (the operator's status, polled
/// every 20 ms).
#[derive(Clone, Default)]
struct Commits(Arc<Mutex<BTreeMap<u64, Instant>>>);

impl Commits {
    fn follow(&self, api: Api, first: u64) -> tokio::task::JoinHandle<()> {
        let commits = self.clone();
        tokio::spawn(async move {
            let mut seen = first.saturating_sub(1);
            loop {
                if let Ok(committed) = api.committed().await
                    && committed > seen
                {
                    let now = Instant::now();
                    if let Ok(mut map) = commits.0.lock() {
                        let mut blknum = first;
                        while blknum <= committed {
                            map.entry(blknum).or_insert(now);
                            blknum += CHILD_BLOCK_INTERVAL;
                        }
                    }
                    seen = committed;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    }

    fn at(&self, blknum: u64) -> Option<Instant> {
        self.0.lock().ok()?.get(&blknum).copied()
    }
}

/// A request after the run: when it was first sent, how often the mempool was full, and the
/// block that holds (the last of) it.
struct Sent {
    at: Instant,
    refusals: u32,
    len: usize,
    blknum: u64,
}

/// The figures of one wave.
pub(crate) struct Measured {
    pub(crate) payments: usize,
    pub(crate) requests: usize,
    pub(crate) refusals: u32,
    /// From the first send to the last acceptance.
    pub(crate) sending: Duration,
    /// From the first send to the L1 commitment of the last block.
    pub(crate) span: Duration,
    /// Operator blocks holding the wave, and the most payments in one of them.
    pub(crate) blocks: usize,
    pub(crate) largest_block: usize,
    /// Send → committed on L1, p50 and p99.
    pub(crate) latency: (Duration, Duration),
    /// Payments committed per second over whole 10-second windows of the run: least and most.
    pub(crate) window_rates: Option<(f64, f64)>,
}

/// Sends every request over `concurrency` connections as fast as the operator accepts them,
/// waits until the last block is committed on L1, and measures.
pub(crate) async fn run(
    api: &Api,
    requests: Vec<Request>,
    concurrency: usize,
) -> eyre::Result<Measured> {
    let first_block = api
        .status()
        .await?
        .next_block
        .div_ceil(CHILD_BLOCK_INTERVAL)
        * CHILD_BLOCK_INTERVAL;
    let commits = Commits::default();
    let follower = commits.follow(api.clone(), first_block);

    let payments: usize = requests.iter().map(|r| r.len).sum();
    let count = requests.len();
    let (bodies, sizes): (Vec<Vec<u8>>, Vec<(usize, B256)>) = requests
        .into_iter()
        .map(|r| (r.body, (r.len, r.last)))
        .unzip();
    let start = Instant::now();
    let delivered = send_all(api, bodies, concurrency).await?;
    let sending = start.elapsed();
    eprintln!(
        "loadgen: {payments} payments accepted in {:.1} s; waiting for their blocks",
        sending.as_secs_f64()
    );

    // Where each request landed (the block of its last transaction).
    let mut sent = Vec::with_capacity(delivered.len());
    for (Delivery { at, refusals }, (len, last)) in delivered.into_iter().zip(sizes) {
        let wait = Instant::now();
        let blknum = loop {
            if let Some(blknum) = api.tx_block(&last).await? {
                break blknum;
            }
            if wait.elapsed() > Duration::from_secs(300) {
                bail!("transaction {last} not in a block after 300 s");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        sent.push(Sent {
            at,
            refusals,
            len,
            blknum,
        });
    }
    let last_block = sent.iter().map(|s| s.blknum).max().unwrap_or(first_block);
    let wait = Instant::now();
    while commits.at(last_block).is_none() {
        if wait.elapsed() > Duration::from_secs(300) {
            bail!("block {last_block} not committed on L1 after 300 s");
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    follower.abort();

    let end = commits.at(last_block).unwrap_or_else(Instant::now);
    let mut per_block: HashMap<u64, usize> = HashMap::new();
    let mut latencies = Vec::with_capacity(payments);
    let mut committed_at = Vec::with_capacity(sent.len());
    for s in &sent {
        *per_block.entry(s.blknum).or_default() += s.len;
        let commit = commits.at(s.blknum).unwrap_or(end);
        let latency = commit.saturating_duration_since(s.at);
        latencies.extend(std::iter::repeat_n(latency, s.len));
        committed_at.push((commit.saturating_duration_since(start), s.len));
    }
    latencies.sort();
    Ok(Measured {
        payments,
        requests: count,
        refusals: sent.iter().map(|s| s.refusals).sum(),
        sending,
        span: end.saturating_duration_since(start),
        blocks: per_block.len(),
        largest_block: per_block.values().copied().max().unwrap_or(0),
        latency: (percentile(&latencies, 0.50), percentile(&latencies, 0.99)),
        window_rates: window_rates(&committed_at, Duration::from_secs(10)),
    })
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

/// Payments committed per second in each whole `window` from the start (the last, partial
/// window left out): the least and the most. `None` for a run shorter than two windows.
fn window_rates(committed: &[(Duration, usize)], window: Duration) -> Option<(f64, f64)> {
    let end = committed.iter().map(|(at, _)| *at).max()?;
    // The first window includes the time to the first block; it counts like the others.
    least_and_most_per_window(committed, end, window, 2)
}

/// Payments per second in each whole `window` of `span` (`committed`: when, since the span's
/// start, and how many; the last, partial window left out): the least and the most. `None`
/// when the span holds fewer than `least_windows` whole windows.
pub(crate) fn least_and_most_per_window(
    committed: &[(Duration, usize)],
    span: Duration,
    window: Duration,
    least_windows: usize,
) -> Option<(f64, f64)> {
    let whole = (span.as_secs_f64() / window.as_secs_f64()).floor() as usize;
    if whole == 0 || whole < least_windows {
        return None;
    }
    let mut counts = vec![0usize; whole];
    for (at, len) in committed {
        let w = (at.as_secs_f64() / window.as_secs_f64()).floor() as usize;
        if let Some(c) = counts.get_mut(w) {
            *c += len;
        }
    }
    let rates = counts.iter().map(|c| *c as f64 / window.as_secs_f64());
    let least = rates.clone().fold(f64::INFINITY, f64::min);
    let most = rates.fold(0.0, f64::max);
    Some((least, most))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_and_windows() {
        let sorted: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile(&sorted, 0.5), Duration::from_millis(51));
        assert_eq!(percentile(&sorted, 0.99), Duration::from_millis(99));
        assert_eq!(percentile(&[], 0.5), Duration::ZERO);

        let s = Duration::from_secs;
        // 10 s windows: [0, 10) holds 100, [10, 20) holds 300, [20, 25) is partial.
        let committed = [(s(3), 100), (s(12), 200), (s(19), 100), (s(25), 999)];
        assert_eq!(window_rates(&committed, s(10)), Some((10.0, 30.0)));
        assert_eq!(window_rates(&[(s(15), 5)], s(10)), None);
    }
}
