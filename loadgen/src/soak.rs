//! The soak: chained payments at a steady rate for minutes, then checks that nothing was lost
//! or committed twice and that the operator's memory stayed within a band, with its trend.
//!
//! Unlike the wave, payments cannot be signed before the clock starts: each coin pays from the
//! change of its previous payment, whose position is known only once the operator has put that
//! payment in a block. So the generator runs three loops at once:
//!
//! - the **dispatcher** takes coins whose position is known, signs one payment per coin, and
//!   hands bodies of `--batch` transactions to the senders, no faster than the target rate. With
//!   `--soak-outputs two` (the default) a payment has 1 input and 2 outputs: a small amount to
//!   the next account and the change back to the payer, who pays on from the change, so the
//!   operator's set of unspent outputs grows by one per payment, as on a chain in use. With
//!   `one` the whole coin goes to the next account, who pays it on: the set stays the same size,
//!   and memory that grows is not the state's;
//! - the **senders** (`--concurrency` connections) post each body until it is accepted, waiting
//!   25 ms after a `mempool_full`; any other refusal ends the run;
//! - the **follower** reads every new block (the binary `/v1/blocks?from=` page), checks that
//!   its served root is the root of its transactions, and gives each paying coin back to the
//!   dispatcher at its new position.
//!
//! A sampler reads the operator's resident memory (`VmRSS`) every `--rss-every`.
//!
//! **The rate.** Without `--soak-rate` the run first calibrates: the same chained payments as
//! fast as the operator takes them for `--calibrate`, and the rate it included over the last
//! three quarters of that time is the operator's measured rate for this workload (the first
//! quarter fills the pipeline). The soak then sends at `--rate-fraction` of it.
//!
//! **The checks**, once the soak has ended and every block it made is committed on L1:
//! - every accepted payment is in a block the follower read (none is left in flight);
//! - no block holds a transaction that was not in flight: a payment included twice (or one
//!   nobody sent) would be one, as the generator never signs two payments of one coin;
//! - block numbers only increase, each block's served root is the root of its transactions, and
//!   the root contract holds that root for that block number (`isBlockRoot`);
//! - the included rate over the soak is at least 90 % of the measured rate (a failure names
//!   the machine's drift when one recovery cost more than 10 % more or less at the end than
//!   before the run: the measured rate is minutes old by then);
//! - every `VmRSS` sample of the soak's last five minutes is within ±10 % of their mean.
//!
//! A failed check is reported in the table and makes the run fail.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use alloy::primitives::{B256, U256};
use alloy::providers::Provider;
use eyre::{WrapErr, bail, eyre};
use plasma_contracts::RootChain::RootChainInstance;
use plasma_core::{CHILD_BLOCK_INTERVAL, ETH, Output, SignedTransaction, Transaction, UtxoPos};
use rayon::prelude::*;
use tokio::sync::Notify;

use crate::api::{Api, cpu_time, memory_mib};
use crate::fund::Coin;
use crate::keys::Account;
use crate::wave;

/// What each payment sends its recipient (the rest is change back to the payer).
const PAYMENT: u64 = 1_000;

/// The share of the measured rate the soak must include at least.
const LEAST_SHARE: f64 = 0.90;

/// How far each memory sample of the last five minutes may be from their mean.
const RSS_TOLERANCE: f64 = 0.10;

/// A change of the machine's unit cost during the run, as a share, worth naming beside a
/// failed rate check.
const DRIFT_WORTH_SAYING: f64 = 0.10;

/// Below this share of the target sent, a failed rate check names the generator's shortfall.
const SENT_SHORT: f64 = 0.98;

/// The stretch at the end of the soak whose memory must be flat.
const FLAT_SPAN: Duration = Duration::from_secs(300);

/// The outputs of each soak payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Outputs {
    /// The whole coin to the next account, who pays it on: the set of unspent outputs stays
    /// the size it was, so memory that grows is not the state's.
    One,
    /// A small amount to the next account and the change back to the payer, who pays on from
    /// the change: one more unspent output per payment, as on a chain in use.
    Two,
}

/// One reading of a memory sample, in MiB (`None` where the sample lacks it).
type Reading = fn(&Sample) -> Option<f64>;

/// How the soak runs.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    /// The outputs of each payment.
    pub(crate) outputs: Outputs,
    /// How long the soak (after the calibration) sends.
    pub(crate) duration: Duration,
    /// A fixed target rate (tx/s); `None` calibrates first.
    pub(crate) rate: Option<f64>,
    /// How long the calibration sends as fast as the operator takes payments.
    pub(crate) calibrate: Duration,
    /// The share of the calibrated rate the soak sends at.
    pub(crate) fraction: f64,
    /// Transactions per request.
    pub(crate) batch: usize,
    /// The form of each request body.
    pub(crate) encoding: plasma_api::SubmitEncoding,
    /// Concurrent requests.
    pub(crate) concurrency: usize,
    /// How often the operator's memory is read.
    pub(crate) sample_every: Duration,
    /// The operator's process id.
    pub(crate) operator_pid: Option<u32>,
}

/// A payment sent and not yet seen in a block.
struct InFlight {
    /// Who owns the output the coin goes on from, and its amount and index.
    owner: usize,
    change: U256,
    output_index: u64,
    /// When it was signed and queued for a sender (the latency is measured from here).
    sent: Instant,
}

/// A block as the follower read it.
struct SeenBlock {
    blknum: u64,
    root: B256,
    /// Whether the served root is the root of the served transactions.
    root_matches: bool,
    payments: usize,
    /// Of them, payments sent during the soak proper (after the calibration).
    soak_payments: usize,
    at: Instant,
}

/// One reading of the operator's memory.
#[derive(Debug, Clone, Copy)]
struct Sample {
    /// Since the soak (not the calibration) started; negative during the calibration.
    at: f64,
    when: Instant,
    rss_mib: f64,
    /// The store's own estimates from `/metrics`, if it gave them.
    store: Option<StoreMib>,
    included: u64,
}

impl Sample {
    /// How the report names the sample's time: `cal. ` during the calibration, else seconds
    /// into the soak.
    fn label(&self) -> String {
        if self.at < 0.0 {
            "cal. ".to_owned()
        } else {
            format!("{:.0} s: ", self.at)
        }
    }
}

/// What the operator's store holds in memory (MiB), by RocksDB's estimates.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct StoreMib {
    /// Index and filter blocks of the open table files, outside the block cache.
    pub(crate) table_readers: f64,
    /// Memtables.
    pub(crate) memtables: f64,
    /// The block cache (index and filter blocks too, where they are kept there).
    pub(crate) block_cache: f64,
}

/// Send → seen in a block, in whole milliseconds up to a minute (the last bucket holds more).
struct Latencies(Vec<u64>);

impl Latencies {
    const BUCKETS: usize = 60_001;

    fn new() -> Self {
        Self(vec![0; Self::BUCKETS])
    }

    fn record(&mut self, latency: Duration) {
        let ms = usize::try_from(latency.as_millis()).unwrap_or(usize::MAX);
        self.0[ms.min(Self::BUCKETS - 1)] += 1;
    }

    /// The `p` quantile in milliseconds (`None` when empty).
    fn quantile(&self, p: f64) -> Option<usize> {
        let total: u64 = self.0.iter().sum();
        if total == 0 {
            return None;
        }
        let rank = ((total - 1) as f64 * p).round() as u64;
        let mut seen = 0;
        self.0.iter().position(|&n| {
            seen += n;
            seen > rank
        })
    }
}

/// State the loops share.
struct Shared {
    accounts: Vec<Account>,
    outputs: Outputs,
    separator: B256,
    ready: Mutex<VecDeque<Coin>>,
    coin_back: Notify,
    in_flight: Mutex<HashMap<B256, InFlight>>,
    /// Transactions in blocks that were not in flight.
    unexpected: AtomicU64,
    /// Payments included so far (since the first block the run made).
    included: AtomicU64,
    accepted: AtomicU64,
    refusals: AtomicU64,
    blocks: Mutex<Vec<SeenBlock>>,
    /// Latencies of payments sent during the soak proper.
    latencies: Mutex<Latencies>,
    /// When the soak proper started (`None` while calibrating).
    soak_start: Mutex<Option<Instant>>,
    /// Coins retired because their change no longer covers a payment.
    spent_out: AtomicU64,
    /// The dispatcher has stopped: the follower ends once nothing is in flight.
    stopping: AtomicBool,
}

fn lock<T>(m: &Mutex<T>) -> eyre::Result<std::sync::MutexGuard<'_, T>> {
    m.lock().map_err(|_| eyre!("a soak loop panicked"))
}

/// The figures and verdicts of a soak.
pub(crate) struct Report {
    rows: Vec<(String, String)>,
    failures: Vec<String>,
}

impl Report {
    /// Prints the table on stdout and fails when a check failed.
    pub(crate) fn finish(self) -> eyre::Result<()> {
        println!("| measure | value |");
        println!("|---|---|");
        for (name, value) in &self.rows {
            println!("| {name} | {value} |");
        }
        if self.failures.is_empty() {
            Ok(())
        } else {
            bail!("the soak failed: {}", self.failures.join("; "))
        }
    }
}

/// Runs the calibration (unless a rate is set) and the soak over `coins`, then checks.
pub(crate) async fn run<P: Provider>(
    api: &Api,
    contract: &RootChainInstance<P>,
    accounts: Vec<Account>,
    separator: B256,
    coins: Vec<Coin>,
    settings: &Settings,
) -> eyre::Result<Report> {
    let coin_count = coins.len();
    let first_block = api
        .status()
        .await?
        .next_block
        .div_ceil(CHILD_BLOCK_INTERVAL)
        * CHILD_BLOCK_INTERVAL;
    let shared = Arc::new(Shared {
        accounts,
        outputs: settings.outputs,
        separator,
        ready: Mutex::new(coins.into()),
        coin_back: Notify::new(),
        in_flight: Mutex::new(HashMap::new()),
        unexpected: AtomicU64::new(0),
        included: AtomicU64::new(0),
        accepted: AtomicU64::new(0),
        refusals: AtomicU64::new(0),
        blocks: Mutex::new(Vec::new()),
        latencies: Mutex::new(Latencies::new()),
        soak_start: Mutex::new(None),
        spent_out: AtomicU64::new(0),
        stopping: AtomicBool::new(false),
    });

    // The machine's unit cost before any load, from payments signed for it and never sent: a
    // VM's speed drifts within minutes, and the rate checks are read against it.
    let unit_at_start = {
        let coins: Vec<Coin> = lock(&shared.ready)?
            .iter()
            .take(settings.batch.max(1))
            .copied()
            .collect();
        let sample: Vec<SignedTransaction> = sign(&shared, &coins)?
            .into_iter()
            .map(|(tx, _)| tx)
            .collect();
        wave::median_recovery_cost(&sample, &shared.separator)
    };

    let start = Instant::now();
    let follower = tokio::spawn(follow(api.clone(), shared.clone(), first_block));
    let samples: Arc<Mutex<Vec<Sample>>> = Arc::default();
    let sampler = settings.operator_pid.map(|pid| {
        tokio::spawn(sample(
            api.clone(),
            pid,
            settings.sample_every,
            shared.clone(),
            samples.clone(),
            start,
        ))
    });

    let (body_tx, body_rx) = tokio::sync::mpsc::channel::<(Vec<u8>, usize)>(settings.concurrency);
    let body_rx = Arc::new(tokio::sync::Mutex::new(body_rx));
    let mut senders = Vec::new();
    for _ in 0..settings.concurrency.max(1) {
        let (api, rx, shared) = (api.clone(), body_rx.clone(), shared.clone());
        senders.push(tokio::spawn(async move {
            loop {
                let next = rx.lock().await.recv().await;
                let Some((body, len)) = next else {
                    return Ok::<_, eyre::Report>(());
                };
                let refusals = api.submit_until_accepted(&body).await?;
                shared.accepted.fetch_add(len as u64, Ordering::Relaxed);
                shared
                    .refusals
                    .fetch_add(u64::from(refusals), Ordering::Relaxed);
            }
        }));
    }

    let dispatched = dispatch(&shared, settings, start, body_tx).await;
    for sender in senders {
        sender.await.wrap_err("a sender")??;
    }
    let dispatched = dispatched?;
    let sending_ended = Instant::now();
    let cpu_at_end = cpu_now(settings.operator_pid);
    shared.stopping.store(true, Ordering::Relaxed);
    shared.coin_back.notify_waiters();
    eprintln!(
        "loadgen: soak: sending stopped; waiting for the {} payments in flight",
        lock(&shared.in_flight)?.len()
    );
    match tokio::time::timeout(Duration::from_secs(300), follower).await {
        Ok(joined) => joined.wrap_err("the follower")??,
        Err(_) => eprintln!("loadgen: soak: payments still in flight after 300 s"),
    }
    let last_block = lock(&shared.blocks)?.last().map(|b| b.blknum);
    if let Some(last) = last_block {
        let wait = Instant::now();
        while api.committed().await? < last {
            if wait.elapsed() > Duration::from_secs(300) {
                bail!("block {last} not committed on L1 after 300 s");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    if let Some(sampler) = sampler {
        sampler.abort();
    }
    // One more reading, once everything is committed.
    if let Some(pid) = settings.operator_pid {
        record_sample(api, pid, &shared, &samples, start).await?;
    }
    let committed_check = Instant::now();
    let blocks = std::mem::take(&mut *lock(&shared.blocks)?);
    let mut not_on_l1 = Vec::new();
    for block in &blocks {
        let on_l1 = contract
            .isBlockRoot(U256::from(block.blknum), block.root)
            .call()
            .await
            .wrap_err_with(|| format!("isBlockRoot({})", block.blknum))?;
        if !on_l1 {
            not_on_l1.push(block.blknum);
        }
    }
    let committed_check = committed_check.elapsed();

    let samples = std::mem::take(&mut *lock(&samples)?);
    let latencies = std::mem::replace(&mut *lock(&shared.latencies)?, Latencies::new());
    let in_flight = lock(&shared.in_flight)?.len();
    let unit = wave::median_recovery_cost(&dispatched.sample, &shared.separator);
    Ok(report(ReportInput {
        settings,
        coin_count,
        dispatched,
        sending_ended,
        blocks: &blocks,
        not_on_l1: &not_on_l1,
        committed_check,
        samples: &samples,
        latencies: &latencies,
        in_flight,
        unexpected: shared.unexpected.load(Ordering::Relaxed),
        accepted: shared.accepted.load(Ordering::Relaxed),
        refusals: shared.refusals.load(Ordering::Relaxed),
        spent_out: shared.spent_out.load(Ordering::Relaxed),
        accounts: shared.accounts.len(),
        unit: (unit_at_start, unit),
        cpu_at_end,
    }))
}

/// What the dispatcher did.
struct Dispatched {
    /// The calibration's included rate (`None` with a fixed rate).
    measured: Option<f64>,
    /// The rate the soak sent at.
    target: f64,
    soak_start: Instant,
    /// Payments handed to the senders during the soak proper.
    sent: u64,
    /// How long the dispatcher waited for coins to come back (not for the rate).
    starved: Duration,
    /// One batch of payments, to measure the machine's recovery cost with.
    sample: Vec<SignedTransaction>,
    /// CPU time of the operator and of this process when the soak proper started.
    cpu_at_start: (Option<Duration>, Option<Duration>),
}

/// CPU time so far of the operator (`pid`) and of this process.
fn cpu_now(pid: Option<u32>) -> (Option<Duration>, Option<Duration>) {
    (pid.and_then(cpu_time), cpu_time(std::process::id()))
}

/// Signs and hands out payments until the soak's end; the calibration first when no rate is set.
async fn dispatch(
    shared: &Arc<Shared>,
    settings: &Settings,
    start: Instant,
    bodies: tokio::sync::mpsc::Sender<(Vec<u8>, usize)>,
) -> eyre::Result<Dispatched> {
    let calibrate_end = match settings.rate {
        Some(_) => start,
        None => start + settings.calibrate,
    };
    let mut rate = settings.rate;
    let mut measured = None;
    let mut soak_start = start;
    if settings.rate.is_some() {
        *lock(&shared.soak_start)? = Some(start);
    } else {
        eprintln!(
            "loadgen: soak: calibrating for {} (as fast as the operator takes payments)",
            humantime::format_duration(settings.calibrate)
        );
    }
    let mut end = calibrate_end + settings.duration;
    let mut sent = 0u64;
    let mut starved = Duration::ZERO;
    let mut sample = Vec::new();
    let mut cpu_at_start = cpu_now(settings.operator_pid);
    loop {
        let now = Instant::now();
        if now >= end {
            break;
        }
        if rate.is_none() && now >= calibrate_end {
            let rate_now = calibrated_rate(shared, start, now)?;
            let target = rate_now * settings.fraction;
            eprintln!(
                "loadgen: soak: the operator included {rate_now:.0} tx/s while calibrating; soaking at {target:.0} tx/s for {}",
                humantime::format_duration(settings.duration)
            );
            measured = Some(rate_now);
            rate = Some(target);
            soak_start = now;
            cpu_at_start = cpu_now(settings.operator_pid);
            end = now + settings.duration;
            *lock(&shared.soak_start)? = Some(now);
        }
        if let Some(rate) = rate {
            let due = soak_start + Duration::from_secs_f64(sent as f64 / rate.max(1e-9));
            if due > now {
                tokio::time::sleep_until(due.min(end).into()).await;
                continue;
            }
        }
        let coins: Vec<Coin> = {
            let mut ready = lock(&shared.ready)?;
            let n = ready.len().min(settings.batch);
            ready.drain(..n).collect()
        };
        if coins.is_empty() {
            let waited = Instant::now();
            tokio::select! {
                () = shared.coin_back.notified() => {}
                () = tokio::time::sleep(Duration::from_millis(10)) => {}
            }
            if rate.is_some() && soak_start <= waited {
                starved += waited.elapsed();
            }
            continue;
        }
        let signer = shared.clone();
        let signed = tokio::task::spawn_blocking(move || sign(&signer, &coins))
            .await
            .wrap_err("the signing thread")??;
        if sample.is_empty() {
            sample = signed.iter().map(|(tx, _)| tx.clone()).collect();
        }
        let txs: Vec<SignedTransaction> = {
            let mut in_flight = lock(&shared.in_flight)?;
            signed
                .into_iter()
                .map(|(tx, flight)| {
                    in_flight.insert(tx.hash(), flight);
                    tx
                })
                .collect()
        };
        let len = txs.len();
        if rate.is_some() && soak_start <= now {
            sent += len as u64;
        }
        if bodies
            .send((settings.encoding.encode(&txs), len))
            .await
            .is_err()
        {
            // A sender failed; its error is reported when it is joined.
            break;
        }
    }
    Ok(Dispatched {
        measured,
        target: rate.unwrap_or(0.0),
        soak_start,
        sent,
        starved,
        sample,
        cpu_at_start,
    })
}

/// Payments per second included in blocks seen over the calibration's last three quarters.
fn calibrated_rate(shared: &Shared, start: Instant, now: Instant) -> eyre::Result<f64> {
    let from = start + (now - start) / 4;
    let included: usize = lock(&shared.blocks)?
        .iter()
        .filter(|b| b.at >= from)
        .map(|b| b.payments)
        .sum();
    let secs = (now - from).as_secs_f64();
    if included == 0 || secs <= 0.0 {
        bail!("the operator included nothing while calibrating");
    }
    Ok(included as f64 / secs)
}

/// One payment per coin: `PAYMENT` to the next account, the change back to the payer.
fn sign(shared: &Shared, coins: &[Coin]) -> eyre::Result<Vec<(SignedTransaction, InFlight)>> {
    let now = Instant::now();
    coins
        .par_iter()
        .map(|coin| {
            let owner = coin
                .owner
                .ok_or_else(|| eyre!("the soak spends only accounts' coins"))?;
            let accounts = &shared.accounts;
            let next = (owner + 1) % accounts.len();
            let (outputs, flight) = match shared.outputs {
                // The whole coin to the next account, who pays it on.
                Outputs::One => (
                    vec![Output::new(accounts[next].address, ETH, coin.amount)],
                    InFlight {
                        owner: next,
                        change: coin.amount,
                        output_index: 0,
                        sent: now,
                    },
                ),
                Outputs::Two => {
                    let change = coin.amount - U256::from(PAYMENT);
                    (
                        vec![
                            Output::new(accounts[next].address, ETH, U256::from(PAYMENT)),
                            Output::new(accounts[owner].address, ETH, change),
                        ],
                        InFlight {
                            owner,
                            change,
                            output_index: 1,
                            sent: now,
                        },
                    )
                }
            };
            let tx = accounts[owner].sign(
                Transaction::payment(vec![coin.pos], outputs),
                &shared.separator,
            );
            Ok((tx, flight))
        })
        .collect()
}

/// Reads every block from `first` on and gives each included payment's change back.
async fn follow(api: Api, shared: Arc<Shared>, first: u64) -> eyre::Result<()> {
    let mut next = first;
    loop {
        if shared.stopping.load(Ordering::Relaxed) && lock(&shared.in_flight)?.is_empty() {
            return Ok(());
        }
        let blocks = api.blocks_from(next).await?;
        if blocks.is_empty() {
            tokio::time::sleep(Duration::from_millis(20)).await;
            continue;
        }
        for block in blocks {
            if block.blknum < next {
                bail!(
                    "the operator served block {} after block {}",
                    block.blknum,
                    next - 1
                );
            }
            let at = Instant::now();
            let root_matches = block.root_matches();
            let soak_start = *lock(&shared.soak_start)?;
            let mut back = Vec::with_capacity(block.transactions.len());
            let mut latencies = Vec::new();
            let mut unexpected = 0u64;
            let mut soak_payments = 0usize;
            {
                let mut in_flight = lock(&shared.in_flight)?;
                for (index, tx) in block.transactions.iter().enumerate() {
                    let Some(flight) = in_flight.remove(&tx.hash()) else {
                        unexpected += 1;
                        continue;
                    };
                    if soak_start.is_some_and(|s| flight.sent >= s) {
                        latencies.push(at.saturating_duration_since(flight.sent));
                        soak_payments += 1;
                    }
                    if flight.change > U256::from(PAYMENT) {
                        back.push(Coin {
                            owner: Some(flight.owner),
                            pos: UtxoPos::new(block.blknum, index as u64, flight.output_index)?,
                            amount: flight.change,
                        });
                    } else {
                        shared.spent_out.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            let payments = block.transactions.len() - unexpected as usize;
            lock(&shared.ready)?.extend(back);
            shared.coin_back.notify_waiters();
            {
                let mut histogram = lock(&shared.latencies)?;
                for latency in latencies {
                    histogram.record(latency);
                }
            }
            shared.unexpected.fetch_add(unexpected, Ordering::Relaxed);
            shared
                .included
                .fetch_add(payments as u64, Ordering::Relaxed);
            lock(&shared.blocks)?.push(SeenBlock {
                blknum: block.blknum,
                root: block.root,
                root_matches,
                payments,
                soak_payments,
                at,
            });
            next = block.blknum + 1;
        }
    }
}

/// Reads the operator's memory every `every` from `start` on, with a progress line each time.
async fn sample(
    api: Api,
    pid: u32,
    every: Duration,
    shared: Arc<Shared>,
    samples: Arc<Mutex<Vec<Sample>>>,
    start: Instant,
) -> eyre::Result<()> {
    let mut ticks = tokio::time::interval_at((start + every).into(), every);
    loop {
        ticks.tick().await;
        record_sample(&api, pid, &shared, &samples, start).await?;
    }
}

async fn record_sample(
    api: &Api,
    pid: u32,
    shared: &Shared,
    samples: &Mutex<Vec<Sample>>,
    start: Instant,
) -> eyre::Result<()> {
    let store = api.store_memory().await;
    let Some((_, rss_mib)) = memory_mib(pid) else {
        return Ok(());
    };
    let now = Instant::now();
    let soak_start = *lock(&shared.soak_start)?;
    let at = match soak_start {
        Some(s) if now >= s => (now - s).as_secs_f64(),
        Some(s) => -(s - now).as_secs_f64(),
        None => -(now - start).as_secs_f64().max(1e-3),
    };
    let included = shared.included.load(Ordering::Relaxed);
    let mut samples = lock(samples)?;
    let rate = samples
        .last()
        .map(|last| (included - last.included) as f64 / (now - last.when).as_secs_f64().max(1e-9));
    eprintln!(
        "loadgen: soak {}: operator RSS {rss_mib:.0} MiB{}, {included} payments included{}, {} in flight",
        if at < 0.0 {
            "calibration".to_owned()
        } else {
            format!("{:.0} s", at)
        },
        store.map_or(String::new(), |m| format!(
            " (store: table readers {:.0}, memtables {:.0}, block cache {:.0})",
            m.table_readers, m.memtables, m.block_cache
        )),
        rate.map_or(String::new(), |r| format!(
            " ({r:.0}/s since the last reading)"
        )),
        lock(&shared.in_flight)?.len(),
    );
    samples.push(Sample {
        at,
        when: now,
        rss_mib,
        store,
        included,
    });
    Ok(())
}

struct ReportInput<'a> {
    settings: &'a Settings,
    coin_count: usize,
    dispatched: Dispatched,
    sending_ended: Instant,
    blocks: &'a [SeenBlock],
    not_on_l1: &'a [u64],
    committed_check: Duration,
    samples: &'a [Sample],
    latencies: &'a Latencies,
    in_flight: usize,
    unexpected: u64,
    accepted: u64,
    refusals: u64,
    spent_out: u64,
    accounts: usize,
    /// The unit cost (one recovery on one core) before the run and after it.
    unit: (Option<Duration>, Option<Duration>),
    cpu_at_end: (Option<Duration>, Option<Duration>),
}

fn report(input: ReportInput<'_>) -> Report {
    let ReportInput {
        settings,
        coin_count,
        dispatched: d,
        sending_ended,
        blocks,
        not_on_l1,
        committed_check,
        samples,
        latencies,
        in_flight,
        unexpected,
        accepted,
        refusals,
        spent_out,
        accounts,
        unit,
        cpu_at_end,
    } = input;
    let (unit_at_start, unit) = unit;
    // How much slower (> 1) or faster the machine recovered at the end than at the start.
    let drift = match (unit_at_start, unit) {
        (Some(a), Some(b)) if !a.is_zero() => Some(b.as_secs_f64() / a.as_secs_f64()),
        _ => None,
    };
    let mut rows = Vec::new();
    let mut failures = Vec::new();
    let mut row = |name: &str, value: String| rows.push((name.to_owned(), value));
    let soak = sending_ended.saturating_duration_since(d.soak_start);
    let secs = soak.as_secs_f64().max(1e-9);
    // Payments sent during the soak, over the time from its start until the last of them was
    // seen in a block: a backlog the operator could not carry stretches the time.
    let in_soak: usize = blocks.iter().map(|b| b.soak_payments).sum();
    let carried = blocks
        .iter()
        .filter(|b| b.soak_payments > 0)
        .map(|b| b.at.saturating_duration_since(d.soak_start))
        .max()
        .unwrap_or(soak)
        .max(soak);
    let included: usize = blocks.iter().map(|b| b.payments).sum();
    let included_rate = in_soak as f64 / carried.as_secs_f64().max(1e-9);

    row(
        "workload",
        match settings.outputs {
            Outputs::Two => format!(
                "chained 1-input, 2-output payments: {coin_count} coins over {accounts} accounts, each paying from the change of its last payment once that is in a block (one more unspent output per payment)"
            ),
            Outputs::One => format!(
                "chained 1-input, 1-output payments: {coin_count} coins over {accounts} accounts, each passed whole to the next account once its last payment is in a block (the unspent outputs stay {coin_count})"
            ),
        },
    );
    row(
        "soak (after the calibration)",
        format!(
            "{:.0} s, {} per request, {} concurrent",
            secs, settings.batch, settings.concurrency
        ),
    );
    match d.measured {
        Some(measured) => row(
            "measured rate: included tx/s while calibrating (last ¾ of the calibration)",
            format!(
                "{measured:.0} ({} calibration)",
                humantime::format_duration(settings.calibrate)
            ),
        ),
        None => row("measured rate", "not calibrated (--soak-rate given)".into()),
    }
    row(
        "target rate (sent during the soak)",
        format!(
            "{:.0} tx/s{}; sent {:.0} tx/s",
            d.target,
            d.measured.map_or(String::new(), |m| format!(
                " = {:.2} of the measured rate",
                d.target / m
            )),
            d.sent as f64 / secs
        ),
    );
    row(
        "included tx/s: payments sent during the soak ÷ soak start → the last of them in a block",
        format!(
            "{included_rate:.0} ({in_soak} payments in {:.1} s) = {:.2} of the target{}",
            carried.as_secs_f64(),
            included_rate / d.target.max(1e-9),
            d.measured.map_or(String::new(), |m| format!(
                ", {:.2} of the measured rate",
                included_rate / m
            ))
        ),
    );
    let windows = window_rates(blocks, d.soak_start, sending_ended, settings.sample_every);
    if let Some((least, most)) = windows {
        row(
            &format!(
                "included tx/s per {} window of the soak, least / most",
                humantime::format_duration(settings.sample_every)
            ),
            format!("{least:.0} / {most:.0}"),
        );
    }
    let cpu_row = |row: &mut dyn FnMut(&str, String),
                   name: &str,
                   from: Option<Duration>,
                   to: Option<Duration>| {
        let value = match (from, to) {
            (Some(from), Some(to)) => {
                let cpu = to.saturating_sub(from).as_secs_f64();
                format!(
                    "{cpu:.1} core-s = {:.2} cores, {:.1} µs per payment sent",
                    cpu / secs,
                    cpu * 1e6 / (d.sent.max(1) as f64)
                )
            }
            _ => "not measured".to_owned(),
        };
        row(&format!("{name} CPU during the soak"), value);
    };
    cpu_row(&mut row, "operator", d.cpu_at_start.0, cpu_at_end.0);
    cpu_row(
        &mut row,
        "loadgen (signing, sending, reading blocks)",
        d.cpu_at_start.1,
        cpu_at_end.1,
    );
    row(
        "waiting for coins to come back (the generator's limit, not the operator's)",
        format!("{:.1} s of the soak", d.starved.as_secs_f64()),
    );
    match (latencies.quantile(0.5), latencies.quantile(0.99)) {
        (Some(p50), Some(p99)) => row(
            "latency send → seen in a served block, p50 / p99",
            format!("{p50} ms / {p99} ms"),
        ),
        _ => row(
            "latency send → seen in a served block",
            "none measured".into(),
        ),
    }
    row(
        "payments accepted / included, whole run",
        format!("{accepted} / {included}; {refusals} refusals for a full mempool (sent again)"),
    );
    row(
        "blocks made by the run (all committed on L1 and checked with isBlockRoot)",
        format!(
            "{} (largest {} payments); roots checked in {:.1} s",
            blocks.len(),
            blocks.iter().map(|b| b.payments).max().unwrap_or(0),
            committed_check.as_secs_f64()
        ),
    );

    // The checks.
    let check = |failures: &mut Vec<String>, ok: bool, what: String| {
        if !ok {
            failures.push(what.clone());
        }
        (if ok { "yes" } else { "**NO**" }).to_owned()
            + &if ok {
                String::new()
            } else {
                format!(": {what}")
            }
    };
    let v = check(
        &mut failures,
        in_flight == 0,
        format!("{in_flight} accepted payments in no block"),
    );
    row("check: every accepted payment is in a block", v);
    let v = check(
        &mut failures,
        included_rate >= LEAST_SHARE * d.target,
        format!(
            "included {included_rate:.0} tx/s, under {:.0} % of the target {:.0}",
            LEAST_SHARE * 100.0,
            d.target
        ),
    );
    row(
        &format!(
            "check: the operator carried the target (included ≥ {:.0} % of it)",
            LEAST_SHARE * 100.0
        ),
        v,
    );
    if let Some(m) = d.measured {
        let name = format!(
            "check: included ≥ {:.0} % of the measured rate",
            LEAST_SHARE * 100.0
        );
        if settings.fraction >= LEAST_SHARE {
            let v = check(
                &mut failures,
                included_rate >= LEAST_SHARE * m,
                format!(
                    "included {included_rate:.0} tx/s, under {:.0} % of the measured {m:.0}{}{}",
                    LEAST_SHARE * 100.0,
                    drift
                        .filter(|d| (d - 1.0).abs() > DRIFT_WORTH_SAYING)
                        .map_or(String::new(), |d| format!(
                            "; the machine's unit cost moved ×{d:.2} during the run (see its row)"
                        )),
                    // The generator shares the cores: when it cannot send the target, the
                    // operator cannot include it.
                    Some(d.sent as f64 / secs / d.target.max(1e-9))
                        .filter(|share| *share < SENT_SHORT)
                        .map_or(String::new(), |share| format!(
                            "; the generator sent only {share:.2} of the target"
                        ))
                ),
            );
            row(&name, v);
        } else {
            row(
                &name,
                format!(
                    "not checked: --rate-fraction {} is below {LEAST_SHARE}",
                    settings.fraction
                ),
            );
        }
    }
    let v = check(
        &mut failures,
        unexpected == 0,
        format!("{unexpected} transactions in blocks that were not in flight"),
    );
    row(
        "check: nothing included twice (no transaction in a block that was not in flight)",
        v,
    );
    let bad_roots: Vec<u64> = blocks
        .iter()
        .filter(|b| !b.root_matches)
        .map(|b| b.blknum)
        .collect();
    let v = check(
        &mut failures,
        bad_roots.is_empty(),
        format!("served roots that are not their transactions' root: blocks {bad_roots:?}"),
    );
    row("check: every served root is its transactions' root", v);
    let v = check(
        &mut failures,
        not_on_l1.is_empty() && !blocks.is_empty(),
        format!("blocks whose root the root contract does not hold: {not_on_l1:?}"),
    );
    row("check: every block is committed on L1 with that root", v);
    if spent_out > 0 {
        row(
            "coins retired (change below one payment)",
            spent_out.to_string(),
        );
    }

    // Memory.
    let soak_samples: Vec<&Sample> = samples.iter().filter(|s| s.at >= 0.0).collect();
    let series = samples
        .iter()
        .map(|s| format!("{}{:.0}", s.label(), s.rss_mib))
        .collect::<Vec<_>>()
        .join(", ");
    if !samples.is_empty() {
        row(
            &format!(
                "operator VmRSS every {} (MiB)",
                humantime::format_duration(settings.sample_every)
            ),
            series,
        );
    }
    let store_series = samples
        .iter()
        .filter_map(|s| {
            let m = s.store?;
            Some(format!(
                "{}{:.0}/{:.0}/{:.0}",
                s.label(),
                m.table_readers,
                m.memtables,
                m.block_cache
            ))
        })
        .collect::<Vec<_>>();
    if !store_series.is_empty() {
        row(
            "store memory by RocksDB's estimates: table readers / memtables / block cache (MiB)",
            store_series.join(", "),
        );
    }
    let flat_from = secs - FLAT_SPAN.as_secs_f64();
    let last_samples: Vec<&Sample> = soak_samples
        .iter()
        .copied()
        .filter(|s| s.at >= flat_from && s.at <= secs + 1.0)
        .collect();
    let last: Vec<f64> = last_samples.iter().map(|s| s.rss_mib).collect();
    if settings.operator_pid.is_none() {
        row(
            "check: memory flat over the last 5 minutes",
            "not measured (no --operator-pid)".into(),
        );
    } else if flat_from < 0.0 || last.len() < 2 {
        row(
            "check: memory flat over the last 5 minutes",
            "not checked: the soak is shorter than 5 minutes".into(),
        );
    } else {
        let mean = last.iter().sum::<f64>() / last.len() as f64;
        let worst = last
            .iter()
            .map(|r| (r - mean).abs() / mean)
            .fold(0.0, f64::max);
        let (least, most) = last
            .iter()
            .fold((f64::INFINITY, 0.0f64), |(l, m), r| (l.min(*r), m.max(*r)));
        let v = check(
            &mut failures,
            worst <= RSS_TOLERANCE,
            format!(
                "a sample is {:.1} % from the mean (more than {:.0} %)",
                worst * 100.0,
                RSS_TOLERANCE * 100.0
            ),
        );
        row(
            &format!(
                "check: every VmRSS sample of the last 5 minutes within ±{:.0} % of their mean",
                RSS_TOLERANCE * 100.0
            ),
            format!(
                "{v} ({} samples, {least:.0}–{most:.0} MiB, mean {mean:.0}, farthest {:.1} %)",
                last.len(),
                worst * 100.0
            ),
        );
        // Within the band memory may still creep: the trend, and what it is per payment.
        if let (Some(first), Some(end)) = (last_samples.first(), last_samples.last()) {
            let payments = end.included.saturating_sub(first.included).max(1) as f64;
            let span = (end.at - first.at).max(1e-9);
            let per_payment = |slope: f64| {
                format!(
                    "{:+.1} MiB a minute = {:+.0} bytes per payment included",
                    slope * 60.0,
                    slope * span * 1_048_576.0 / payments
                )
            };
            let points = |value: Reading| -> Vec<(f64, f64)> {
                last_samples
                    .iter()
                    .filter_map(|s| Some((s.at, value(s)?)))
                    .collect()
            };
            if let Some(slope) = trend(&points(|s| Some(s.rss_mib))) {
                row(
                    "VmRSS trend over the last 5 minutes (least squares)",
                    per_payment(slope),
                );
            }
            let store_kinds: [(&str, Reading); 3] = [
                ("table readers (index and filters outside the cache)", |s| {
                    Some(s.store?.table_readers)
                }),
                ("memtables", |s| Some(s.store?.memtables)),
                ("block cache", |s| Some(s.store?.block_cache)),
            ];
            for (kind, value) in store_kinds {
                if let Some(slope) = trend(&points(value)) {
                    row(
                        &format!("store {kind}: trend over the last 5 minutes"),
                        per_payment(slope),
                    );
                }
            }
        }
    }
    if let Some(pid) = settings.operator_pid
        && let Some((peak, now)) = memory_mib(pid)
    {
        row(
            "operator memory at the end: peak (VmHWM) / now (VmRSS)",
            format!("{peak:.0} MiB / {now:.0} MiB"),
        );
    }
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let micros = |d: Option<Duration>| {
        d.map_or("not measured".to_owned(), |d| {
            format!("{:.1} µs", d.as_secs_f64() * 1e6)
        })
    };
    row(
        "unit cost before the run / at the end: one signer recovery (libsecp256k1, 1 core; median of 5 passes)",
        format!(
            "{} / {}{}",
            micros(unit_at_start),
            micros(unit),
            drift.map_or(String::new(), |d| format!(
                " (×{d:.2}: a rate measured minutes apart carries the machine's drift)"
            ))
        ),
    );
    if let Some(unit) = unit {
        let ceiling = cores as f64 / unit.as_secs_f64().max(1e-12);
        row(
            "recovery ceiling at the end",
            format!(
                "{cores} cores: at most {ceiling:.0} recoveries/s; the soak included {:.2} of that",
                included_rate / ceiling
            ),
        );
    }
    Report { rows, failures }
}

/// The least-squares slope of `(seconds, MiB)` points, in MiB a second (`None` for fewer than
/// two points or points all at one instant).
fn trend(points: &[(f64, f64)]) -> Option<f64> {
    if points.len() < 2 {
        return None;
    }
    let n = points.len() as f64;
    let mean_t = points.iter().map(|p| p.0).sum::<f64>() / n;
    let mean_m = points.iter().map(|p| p.1).sum::<f64>() / n;
    let (num, den) = points.iter().fold((0.0, 0.0), |(num, den), &(t, m)| {
        let dt = t - mean_t;
        (num + dt * (m - mean_m), den + dt * dt)
    });
    (den > 0.0).then(|| num / den)
}

/// Payments included per second in each whole `window` of the soak (blocks seen from `from` to
/// `to`, the last partial window left out): the least and the most. `None` for a soak shorter
/// than one window.
fn window_rates(
    blocks: &[SeenBlock],
    from: Instant,
    to: Instant,
    window: Duration,
) -> Option<(f64, f64)> {
    let span = to.checked_duration_since(from)?;
    let committed: Vec<(Duration, usize)> = blocks
        .iter()
        .filter_map(|b| Some((b.at.checked_duration_since(from)?, b.payments)))
        .collect();
    wave::least_and_most_per_window(&committed, span, window, 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_quantiles() {
        let mut latencies = Latencies::new();
        assert_eq!(latencies.quantile(0.5), None);
        for ms in 1..=100 {
            latencies.record(Duration::from_millis(ms));
        }
        assert_eq!(latencies.quantile(0.5), Some(51));
        assert_eq!(latencies.quantile(0.99), Some(99));
        // Beyond a minute lands in the last bucket rather than out of range.
        latencies.record(Duration::from_secs(3_600));
        assert_eq!(latencies.quantile(1.0), Some(Latencies::BUCKETS - 1));
    }

    #[test]
    fn memory_trend() {
        let rising = [(0.0, 100.0), (30.0, 130.0), (60.0, 160.0)];
        let slope = trend(&rising).unwrap();
        assert!((slope - 1.0).abs() < 1e-9, "{slope}");
        let saw = [(0.0, 100.0), (30.0, 120.0), (60.0, 100.0)];
        assert_eq!(trend(&saw), Some(0.0));
        assert_eq!(trend(&rising[..1]), None);
        assert_eq!(trend(&[(5.0, 1.0), (5.0, 2.0)]), None);
    }

    #[test]
    fn windows_of_the_soak() {
        let from = Instant::now();
        let block = |secs: u64, payments: usize| SeenBlock {
            blknum: 0,
            root: B256::ZERO,
            root_matches: true,
            payments,
            soak_payments: payments,
            at: from + Duration::from_secs(secs),
        };
        // 30 s windows: [0, 30) holds 300, [30, 60) holds 900, [60, 70) is partial.
        let blocks = [block(5, 100), block(29, 200), block(31, 900), block(65, 5)];
        let s = Duration::from_secs;
        assert_eq!(
            window_rates(&blocks, from, from + s(70), s(30)),
            Some((10.0, 30.0))
        );
        assert_eq!(window_rates(&blocks, from, from + s(20), s(30)), None);
    }
}
