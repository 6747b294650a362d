//! `plasma-loadgen`: drives a running operator with payments and measures what it carries.
//!
//! 1. **Fund**: one L1 deposit from `--funder-key`, fanned out on the child chain by 1-input,
//!    4-output payments into one coin per payment of the wave, owned by `--accounts` accounts
//!    in turn. Each fan-out level spends the level before, so it waits for its blocks.
//! 2. **Pre-sign**: one 1-input, 2-output payment per coin (a small amount to the next account,
//!    the change back to the payer), signed and serialized into request bodies of `--batch`
//!    transactions before the clock starts. Signing is not measured, and the wave does not
//!    wait for any block: the operator is driven as fast as it accepts.
//! 3. **Measure**: the bodies are sent over `--concurrency` connections; a batch refused with
//!    `mempool_full` is sent again 25 ms later. Accepted tx/s is over the time spent sending;
//!    included tx/s from the first send to the L1 commitment of the last block; latency from
//!    each request's first send to the moment the operator reports its block committed on L1
//!    (polled every 20 ms); the committed rate over each 10-second window shows whether it is
//!    sustained. CPU and peak memory come from `/proc` of `--operator-pid` (and `--anvil-pid`).
//!    Printed as a markdown table on stdout.
//!
//! 4. **Watcher** (with `--watcher-bin` and `--watcher-dir`): once the wave is committed on L1,
//!    the `plasma` command line syncs a fresh store over the whole chain (fan-out and wave),
//!    timed as a child process beside the recovery ceiling measured around it (before the sync
//!    and after the restart), both as the cores' count over one core's unit cost and as the
//!    rate of every core recovering at once; then the restart (one `plasma watch` round, a sync with nothing
//!    new). See [`watcher`].
//!
//! 5. **Soak** (with `--soak DURATION`, instead of steps 2 to 4): chained payments at a steady
//!    share of a rate the run measures first, then checks that nothing was lost or included twice
//!    and how the operator's memory moved. See [`soak`].
//!
//! `scripts/bench` starts anvil and a release operator and runs this at a standard size
//! (`scripts/bench --watcher` adds step 4); `scripts/soak` runs step 5 for ten minutes.

#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a command-line tool: the table on stdout, progress on stderr"
)]

mod api;
mod fund;
mod keys;
mod soak;
mod watcher;
mod wave;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use alloy::network::EthereumWallet;
use alloy::primitives::{Address, B256, U256};
use alloy::providers::{Provider, ProviderBuilder};
use alloy::signers::local::PrivateKeySigner;
use clap::Parser;
use eyre::{WrapErr, bail, eyre};
use plasma_contracts::RootChain;
use plasma_core::UtxoPos;
use rayon::prelude::*;

use crate::api::{Api, cpu_time, memory_mib};
use crate::fund::Coin;
use crate::keys::Account;

/// The form of a submit body (`--submit-encoding`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Encoding {
    /// application/vnd.plasma.transactions
    Binary,
    /// application/json
    Json,
}

impl From<Encoding> for plasma_api::SubmitEncoding {
    fn from(e: Encoding) -> Self {
        match e {
            Encoding::Binary => Self::Binary,
            Encoding::Json => Self::Json,
        }
    }
}

/// Drive a plasma operator with pre-signed payments and measure throughput, latency, CPU and
/// memory.
#[derive(Parser, Debug)]
#[command(name = "plasma-loadgen", version, about, long_about = None)]
struct Args {
    /// L1 JSON-RPC endpoint.
    #[arg(long, env = "PLASMA_L1_RPC", default_value = "http://127.0.0.1:8545")]
    l1_rpc: String,
    /// The root contract.
    #[arg(long, env = "PLASMA_ROOT_CHAIN")]
    root_chain: Address,
    /// The operator's API.
    #[arg(long, env = "PLASMA_OPERATOR", default_value = "http://127.0.0.1:7434")]
    operator: String,
    /// Hex private key of a funded L1 account that makes the deposit.
    #[arg(long, env = "PLASMA_LOADGEN_KEY", hide_env_values = true)]
    funder_key: String,
    /// Payments in the measured wave (each spends its own pre-funded coin).
    #[arg(long, default_value_t = 1_600_000)]
    txs: usize,
    /// Accounts owning the coins and paying each other.
    #[arg(long, default_value_t = 16_384)]
    accounts: usize,
    /// Concurrent HTTP requests.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// Transactions per request (the operator takes up to 1,000).
    #[arg(long, default_value_t = 500)]
    batch: usize,
    /// The form of each request body: `binary` (application/vnd.plasma.transactions: the
    /// canonical bytes and the signatures, no JSON and no hex) or `json` (what other clients
    /// send), to measure what the operator spends on each.
    #[arg(long, value_enum, default_value_t = Encoding::Binary)]
    submit_encoding: Encoding,
    /// The operator's process id, to report its CPU time and memory.
    #[arg(long)]
    operator_pid: Option<u32>,
    /// anvil's process id, to report its CPU time.
    #[arg(long)]
    anvil_pid: Option<u32>,
    /// The `plasma` binary: after the wave, sync a fresh watcher store over the whole chain
    /// with it and report the sync and the restart.
    #[arg(long, value_name = "PATH", requires = "watcher_dir")]
    watcher_bin: Option<PathBuf>,
    /// The fresh (absent or empty) data folder of that watcher.
    #[arg(long, value_name = "DIR", requires = "watcher_bin")]
    watcher_dir: Option<PathBuf>,
    /// Instead of one wave, a soak of this length (e.g. `10m`): chained payments (each coin pays
    /// from the change of its last payment) at a steady rate, then checks that every accepted
    /// payment is in a block committed on L1, that none was included twice, and that the
    /// operator's memory over the last five minutes stayed within ±10 % (its trend is printed
    /// beside it). `scripts/soak` runs it.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, conflicts_with = "watcher_bin")]
    soak: Option<Duration>,
    /// The soak's rate in tx/s. Without it the soak first calibrates: the same payments as fast
    /// as the operator takes them for --calibrate, then the soak at --rate-fraction of the rate
    /// it included.
    #[arg(long, value_name = "TX/S", requires = "soak")]
    soak_rate: Option<f64>,
    /// How long the soak's calibration runs.
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = parse_duration)]
    calibrate: Duration,
    /// The share of the calibrated rate the soak sends at (0 to 1).
    #[arg(long, value_name = "SHARE", default_value_t = 0.92)]
    rate_fraction: f64,
    /// The outputs of each soak payment: `two` (a small amount to the next account, the change
    /// back; the set of unspent outputs grows by one per payment) or `one` (the whole coin to
    /// the next account; the set stays the same size).
    #[arg(long, value_enum, default_value = "two")]
    soak_outputs: soak::Outputs,
    /// Coins the soak's payments chain from (each pays at most once a block).
    #[arg(long, default_value_t = 131_072)]
    coins: usize,
    /// How often the soak reads the operator's resident memory (needs --operator-pid).
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse_duration)]
    rss_every: Duration,
}

/// A positive duration such as `60s`, `10m` or `500ms` (humantime's units).
fn parse_duration(text: &str) -> Result<Duration, String> {
    match humantime::parse_duration(text.trim()) {
        Ok(d) if !d.is_zero() => Ok(d),
        Ok(_) => Err("must be more than zero".into()),
        Err(e) => Err(format!("{e} (e.g. 60s, 10m, 500ms)")),
    }
}

/// Process CPU times at one instant.
struct CpuSnapshot {
    operator: Option<Duration>,
    anvil: Option<Duration>,
    loadgen: Option<Duration>,
    machine: Option<api::MachineCpu>,
}

impl CpuSnapshot {
    fn take(args: &Args) -> Self {
        Self {
            operator: args.operator_pid.and_then(cpu_time),
            anvil: args.anvil_pid.and_then(cpu_time),
            loadgen: cpu_time(std::process::id()),
            machine: api::MachineCpu::now(),
        }
    }
}

fn used(before: Option<Duration>, after: Option<Duration>) -> Option<Duration> {
    Some(after?.saturating_sub(before?))
}

#[tokio::main]
async fn main() -> eyre::Result<()> {
    let args = Args::parse();
    if args.txs == 0 || args.accounts == 0 {
        bail!("--txs and --accounts must be at least 1");
    }
    if args.soak.is_some() {
        if args.coins < 2 {
            bail!("--coins must be at least 2");
        }
        if !(args.rate_fraction > 0.0 && args.rate_fraction <= 1.0) {
            bail!("--rate-fraction must be above 0 and at most 1");
        }
        if args.soak_rate.is_some_and(|r| !(r.is_finite() && r > 0.0)) {
            bail!("--soak-rate must be a positive number of transactions per second");
        }
    }
    let funder_secret: B256 = args
        .funder_key
        .trim()
        .parse()
        .map_err(|e| eyre!("--funder-key: not a 32-byte hex key: {e}"))?;
    let funder = Account::from_secret(funder_secret).wrap_err("--funder-key")?;
    let accounts: Vec<Account> = (0..args.accounts)
        .into_par_iter()
        .map(Account::numbered)
        .collect::<eyre::Result<_>>()?;
    let api = Api::new(&args.operator, args.submit_encoding.into());
    // Checked before anything is sent: a wrong path should not cost a whole run.
    let watcher = match (&args.watcher_bin, &args.watcher_dir) {
        (Some(bin), Some(dir)) => Some(
            watcher::Watcher::new(
                bin.clone(),
                dir.clone(),
                &args.operator,
                &args.l1_rpc,
                &args.root_chain.to_string(),
            )
            .wrap_err("--watcher-bin / --watcher-dir")?,
        ),
        _ => None,
    };

    // Fund: one deposit of 1 gwei per payment (the fan-out splits it).
    let wallet = EthereumWallet::new(
        PrivateKeySigner::from_bytes(&funder_secret).map_err(|e| eyre!("--funder-key: {e}"))?,
    );
    let l1 = ProviderBuilder::new()
        .wallet(wallet)
        .connect_http(args.l1_rpc.parse().wrap_err("--l1-rpc")?);
    let chain_id = l1.get_chain_id().await.wrap_err("L1 unreachable")?;
    let separator = keys::separator(chain_id, args.root_chain);
    let contract = RootChain::new(args.root_chain, l1.clone());
    // The wave spends each coin once; the soak spends each again and again from its change.
    let wanted = if args.soak.is_some() {
        args.coins
    } else {
        args.txs
    };
    let total = U256::from(1_000_000_000u64) * U256::from(wanted);
    eprintln!(
        "loadgen: funding {wanted} {} over {} accounts",
        if args.soak.is_some() {
            "coins"
        } else {
            "payments"
        },
        args.accounts
    );
    let receipt = contract
        .deposit()
        .value(total)
        .send()
        .await
        .wrap_err("deposit")?
        .get_receipt()
        .await
        .wrap_err("deposit receipt")?;
    let event = receipt
        .inner
        .logs()
        .iter()
        .find_map(|l| l.log_decode::<RootChain::DepositCreated>().ok())
        .ok_or_else(|| eyre!("no DepositCreated in the deposit's receipt"))?;
    let deposit = UtxoPos::new(event.inner.data.blknum.to::<u64>(), 0, 0)?;
    let start = Instant::now();
    loop {
        if api.has_utxo(funder.address, deposit).await? {
            break;
        }
        if start.elapsed() > Duration::from_secs(60) {
            bail!("the operator did not see deposit {deposit} within 60 s");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let funded = fund::fan_out(
        &api,
        &separator,
        &funder,
        &accounts,
        Coin {
            owner: None,
            pos: deposit,
            amount: total,
        },
        wanted,
        args.batch,
        args.concurrency,
    )
    .await?;

    if let Some(duration) = args.soak {
        let settings = soak::Settings {
            outputs: args.soak_outputs,
            duration,
            rate: args.soak_rate,
            calibrate: args.calibrate,
            fraction: args.rate_fraction,
            batch: args.batch.clamp(1, plasma_api::MAX_BATCH),
            encoding: api.encoding(),
            concurrency: args.concurrency.max(1),
            sample_every: args.rss_every,
            operator_pid: args.operator_pid,
        };
        // Every coin the fan-out made (its last level may make two more than asked): none is
        // left idle, so with one output per payment the set of unspent outputs stays as it is.
        let report = soak::run(
            &api,
            &contract,
            accounts,
            separator,
            funded.coins,
            &settings,
        )
        .await?;
        return report.finish();
    }

    let signing = Instant::now();
    let (requests, sample) = wave::presign(
        &funded.coins[..args.txs],
        &accounts,
        &separator,
        args.batch,
        api.encoding(),
    )?;
    eprintln!(
        "loadgen: {} payments signed in {:.1} s; sending",
        args.txs,
        signing.elapsed().as_secs_f64()
    );

    let recovery = wave::recovery_cost(&sample, &separator);
    // The cores together deliver less than their count times one (shared physical cores and
    // caches, a clock that drops with the load): the ceiling as they deliver it, beside.
    let all_cores = wave::median_recovery_rate_all_cores(&sample, &separator, 3);
    // The peak from here on is the wave's (the fan-out reads whole blocks back, which costs
    // the operator memory the wave does not need).
    let peak_reset = args.operator_pid.is_some_and(api::reset_peak_memory);
    let before = CpuSnapshot::take(&args);
    let commits_before = api.commit_latency().await?;
    let measured = wave::run(&api, requests, args.concurrency).await?;
    let commits_after = api.commit_latency().await?;
    let after = CpuSnapshot::take(&args);
    let stored = funded.transactions + measured.payments;

    let secs = |d: Duration| d.as_secs_f64();
    let rate = |n: usize, d: Duration| n as f64 / secs(d).max(1e-9);
    println!("| measure | value |");
    println!("|---|---|");
    println!(
        "| payments in the wave (1 input, 2 outputs, pre-signed) | {} |",
        measured.payments
    );
    println!(
        "| set-up | {} accounts; fan-out of {} transactions in {} levels ({:.0} s) |",
        args.accounts,
        funded.transactions,
        funded.levels,
        secs(funded.took)
    );
    println!(
        "| requests | {} of up to {} transactions ({}), {} concurrent; {} refusals for a full mempool |",
        measured.requests,
        args.batch,
        api.encoding().media_type(),
        args.concurrency,
        measured.refusals
    );
    println!(
        "| blocks | {} (largest: {} payments) |",
        measured.blocks, measured.largest_block
    );
    println!(
        "| accepted tx/s (first send → last acceptance, {:.1} s) | {:.0} |",
        secs(measured.sending),
        rate(measured.payments, measured.sending)
    );
    println!(
        "| included tx/s (first send → last block committed on L1, {:.1} s) | {:.0} |",
        secs(measured.span),
        rate(measured.payments, measured.span)
    );
    match measured.window_rates {
        Some((least, most)) => {
            println!("| committed tx/s per 10 s window, least / most | {least:.0} / {most:.0} |")
        }
        None => println!("| committed tx/s per 10 s window | run shorter than 20 s |"),
    }
    println!(
        "| latency send → committed on L1, p50 / p99 | {:.0} ms / {:.0} ms |",
        secs(measured.latency.0) * 1e3,
        secs(measured.latency.1) * 1e3
    );
    let (sum, count) = (
        commits_after.0 - commits_before.0,
        commits_after.1.saturating_sub(commits_before.1),
    );
    if count > 0 {
        println!(
            "| L1 commitment: block made → seen committed on L1, mean over {count} blocks | {:.0} ms |",
            sum / count as f64 * 1e3
        );
    }
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    match recovery {
        Some(unit) => {
            let ceiling = cores as f64 / secs(unit).max(1e-12);
            println!(
                "| unit cost now: one signer recovery (libsecp256k1, 1 core) | {:.1} µs ({cores} cores: at most {ceiling:.0} recoveries/s) |",
                secs(unit) * 1e6,
            );
            // The figure that survives the VM's drift: absolute rates move with the machine.
            println!(
                "| ratio: included tx/s ÷ that {cores}-core recovery ceiling | {:.2} |",
                rate(measured.payments, measured.span) / ceiling
            );
            if let Some(all) = all_cores {
                println!(
                    "| ratio: included tx/s ÷ the recovery rate of all {cores} cores at once ({all:.0}/s = {:.2}× one core) | {:.2} |",
                    all * secs(unit),
                    rate(measured.payments, measured.span) / all.max(1e-9)
                );
            }
        }
        None => println!("| unit cost now: one signer recovery | not measured |"),
    }
    let cpu_row = |name: &str, cpu: Option<Duration>| match cpu {
        Some(cpu) => println!(
            "| {name} CPU during the wave | {:.1} core-s = {:.2} cores, {:.1} µs per payment |",
            secs(cpu),
            secs(cpu) / secs(measured.span).max(1e-9),
            secs(cpu) * 1e6 / measured.payments as f64
        ),
        None => println!("| {name} CPU during the wave | not measured (no pid) |"),
    };
    cpu_row("operator", used(before.operator, after.operator));
    cpu_row("anvil", used(before.anvil, after.anvil));
    cpu_row("loadgen", used(before.loadgen, after.loadgen));
    let peak_of = if peak_reset {
        "during the wave"
    } else {
        "since start"
    };
    if let (Some(from), Some(to)) = (before.machine, after.machine) {
        let (busy, idle, steal) = from.shares(&to);
        println!(
            "| machine CPU during the wave: busy / idle / stolen by the hypervisor | {busy:.0} % / {idle:.0} % / {steal:.1} % |"
        );
    }
    match args.operator_pid.and_then(memory_mib) {
        Some((peak, now)) => println!(
            "| operator memory: peak {peak_of} (VmHWM) / at the end (VmRSS), {stored} transactions stored | {peak:.0} MiB / {now:.0} MiB |"
        ),
        None => println!("| operator memory | not measured (no --operator-pid) |"),
    }
    if let Some(watcher) = watcher {
        let included = rate(measured.payments, measured.span);
        bench_watcher(&args, &api, watcher, &sample, &separator, stored, included).await?;
    }
    Ok(())
}

/// Step 4: syncs a fresh watcher over the chain the run made and prints its rows of the table.
/// `stored` is how many transactions the run sent, `included` the wave's included tx/s.
async fn bench_watcher(
    args: &Args,
    api: &Api,
    watcher: watcher::Watcher,
    sample: &[plasma_core::SignedTransaction],
    separator: &B256,
    stored: usize,
    included: f64,
) -> eyre::Result<()> {
    let secs = |d: Duration| d.as_secs_f64();
    let status = api.status().await?;
    // The wave waited for its last block's commitment; nothing should be left uncommitted.
    if status.last_committed_block + plasma_core::CHILD_BLOCK_INTERVAL < status.next_block {
        bail!(
            "the operator has blocks not committed on L1 (last committed {}, next {})",
            status.last_committed_block,
            status.next_block
        );
    }
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    // The machine's speed drifts (by half within minutes on a shared VM): the unit cost is
    // measured right before the sync and again right after the restart, each the median of
    // five passes over the sample, and the ceiling read against their mean.
    let unit_cost = || {
        wave::median_recovery_cost(sample, separator)
            .ok_or_else(|| eyre!("no signer recovered in the sample"))
    };
    let all_cores = || {
        wave::median_recovery_rate_all_cores(sample, separator, 5)
            .ok_or_else(|| eyre!("no signer recovered in the sample"))
    };
    let parallel_before = all_cores()?;
    let unit_before = unit_cost()?;
    let ceiling_before = cores as f64 / secs(unit_before).max(1e-12);
    eprintln!(
        "loadgen: syncing a fresh watcher over the chain ({stored} transactions sent; recovery ceiling now {ceiling_before:.0}/s)"
    );
    let before = CpuSnapshot::take(args);
    let figures = tokio::task::spawn_blocking(move || watcher.bench())
        .await
        .wrap_err("the watcher benchmark's thread")?
        .wrap_err("watcher benchmark")?;
    let after = CpuSnapshot::take(args);
    let unit_after = unit_cost()?;
    let parallel_after = all_cores()?;
    let parallel = (parallel_before + parallel_after) / 2.0;
    let unit = (unit_before + unit_after) / 2;
    let ceiling = cores as f64 / secs(unit).max(1e-12);
    let sync = &figures.sync;
    let txs = figures.synced.transactions;
    let verified = txs as f64 / secs(sync.wall).max(1e-9);
    println!(
        "| watcher: chain synced by a fresh `plasma sync` (the run made a deposit and {stored} transactions) | {} blocks, {txs} transactions |",
        figures.synced.blocks
    );
    println!(
        "| watcher: verified tx/s (transactions ÷ wall time of `plasma sync`, {:.1} s) | {verified:.0} |",
        secs(sync.wall)
    );
    println!(
        "| watcher: ratio to the {cores}-core recovery ceiling measured around it ({:.1} µs a recovery before, {:.1} µs after; at their mean {ceiling:.0}/s) | {:.2} |",
        secs(unit_before) * 1e6,
        secs(unit_after) * 1e6,
        verified / ceiling
    );
    println!(
        "| watcher: ratio to the recovery ceiling measured on all {cores} cores at once ({parallel_before:.0} recoveries/s before, {parallel_after:.0} after; their mean {parallel:.0}/s = {:.2}× one core) | {:.2} |",
        parallel * secs(unit),
        verified / parallel.max(1e-9)
    );
    println!(
        "| watcher: ratio to the wave's included tx/s ({included:.0}) | {:.2} |",
        verified / included.max(1e-9)
    );
    match sync.cpu {
        Some(cpu) => println!(
            "| watcher: `plasma sync` CPU | {:.1} core-s = {:.2} cores, {:.1} µs per transaction |",
            secs(cpu),
            secs(cpu) / secs(sync.wall).max(1e-9),
            secs(cpu) * 1e6 / txs.max(1) as f64
        ),
        None => println!("| watcher: `plasma sync` CPU | not measured |"),
    }
    let during = |name: &str, cpu: Option<Duration>| match cpu {
        Some(cpu) => format!("{name} {:.1} core-s", secs(cpu)),
        None => format!("{name} not measured"),
    };
    println!(
        "| watcher: CPU of the others during the sync | {}; {} |",
        during("operator", used(before.operator, after.operator)),
        during("anvil", used(before.anvil, after.anvil))
    );
    match sync.peak_mib {
        Some(peak) => println!(
            "| watcher: `plasma sync` peak memory (VmHWM, read every 100 ms) | {peak:.0} MiB |"
        ),
        None => println!("| watcher: `plasma sync` peak memory | not measured (too short) |"),
    }
    println!(
        "| watcher: store on disk right after the sync | {} bytes ({:.1} MiB), {:.0} bytes per transaction |",
        figures.store_bytes,
        figures.store_bytes as f64 / 1_048_576.0,
        figures.store_bytes as f64 / txs.max(1) as f64
    );
    let events = match figures.watch_events.len() {
        0 => "no events".to_owned(),
        n => format!("{n} events!"),
    };
    match figures.watch.first_round {
        Some(first) => println!(
            "| watcher restart: `plasma watch --rounds 1` on the synced store, start → its first round done ({events}) | {:.2} s |",
            secs(first)
        ),
        None => println!(
            "| watcher restart: `plasma watch --rounds 1`, start → its first round done | not seen in its log |"
        ),
    }
    println!(
        "| watcher restart: the same, start → exit (the store closed) | {:.2} s |",
        secs(figures.watch.wall)
    );
    println!(
        "| watcher restart: a second `plasma sync` (verified {} blocks) | {:.2} s |",
        figures.resynced.blocks,
        secs(figures.resync.wall)
    );
    for event in &figures.watch_events {
        eprintln!("loadgen: the watcher's round raised: {event}");
    }
    Ok(())
}
