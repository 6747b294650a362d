//! `plasma-loadgen`: drives a running operator with payments and measures what it carries.
//!
//! 1. **Fund**: one L1 deposit from `--funder-key`, fanned out on the child chain by 1-in-4-out
//!    payments into `--accounts` accounts (rounded up to a power of 4), one coin each.
//! 2. **Load**: rounds of one 1-input, 2-output payment per account (1 wei to the funder, the
//!    change back to itself), each spending the account's change from the previous round.
//!    A round is signed before it is sent (signing is not measured), then sent in batches of
//!    `--batch` over `--concurrency` connections.
//! 3. **Measure**: accepted tx/s over the time spent sending; included tx/s from the first
//!    send to the L1 commitment of the last block; latency from each transaction's send to the
//!    moment the operator reports its block committed on L1 (polled every 20 ms); the
//!    operator's peak memory (`VmHWM` of `--operator-pid`). Printed as a markdown table.
//!
//! `scripts/bench` starts anvil and a release operator and runs this at a standard size.

#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a command-line tool: the table on stdout, progress on stderr"
)]

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use alloy::network::EthereumWallet;
use alloy::primitives::{Address, B256, U256, keccak256};
use alloy::providers::ProviderBuilder;
use alloy::signers::local::PrivateKeySigner;
use clap::Parser;
use eyre::{WrapErr, bail, eyre};
use plasma_contracts::RootChain;
use plasma_core::wire::{BlockJson, SignedTransactionJson};
use plasma_core::{Block, Domain, ETH, Output, SignedTransaction, Transaction, UtxoPos};
use rayon::prelude::*;
use serde_json::Value;

/// Drive a plasma operator with payments and measure throughput, latency and memory.
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
    /// Accounts paying in parallel (rounded up to a power of 4).
    #[arg(long, default_value_t = 16_384)]
    accounts: usize,
    /// Payments to send in total (whole rounds of one payment per account).
    #[arg(long, default_value_t = 262_144)]
    txs: usize,
    /// Concurrent HTTP requests.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// Transactions per request (the operator takes up to 1,000).
    #[arg(long, default_value_t = 500)]
    batch: usize,
    /// The operator's process id, to report its peak memory.
    #[arg(long)]
    operator_pid: Option<u32>,
}

/// A coin the generator controls: its owner (an index into the accounts), where it is, and
/// how much it holds.
#[derive(Clone, Copy, Debug)]
struct Coin {
    owner: usize,
    pos: UtxoPos,
    amount: U256,
}

/// The operator's HTTP API, as far as the generator needs it.
#[derive(Clone)]
struct Api {
    base: String,
    http: reqwest::Client,
}

impl Api {
    async fn get(&self, path: &str) -> eyre::Result<Value> {
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

    /// Sends a batch; returns the number accepted, failing on the first refusal.
    async fn submit(&self, body: Vec<u8>) -> eyre::Result<usize> {
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
        if let Some(error) = results.iter().find(|r| r.get("error").is_some()) {
            bail!("a transaction was refused: {error}");
        }
        Ok(results.len())
    }

    async fn committed(&self) -> eyre::Result<u64> {
        let status = self.get("/v1/status").await?;
        Ok(status["lastCommittedBlock"].as_u64().unwrap_or(0))
    }

    /// Blocks from `from` on (up to 2: a block of 65,536 transactions is ~50 MB of JSON), decoded.
    async fn blocks_from(&self, from: u64) -> eyre::Result<Vec<Block>> {
        let page = self.get(&format!("/v1/blocks?from={from}&limit=2")).await?;
        let blocks: Vec<BlockJson> = serde_json::from_value(page["blocks"].clone())?;
        blocks
            .into_iter()
            .map(|b| Block::try_from(b).map_err(|(i, e)| eyre!("tx {i} of a block: {e}")))
            .collect()
    }
}

/// When each block was first seen committed on L1 (polled in the background).
type CommitTimes = Arc<Mutex<HashMap<u64, Instant>>>;

/// Where the generator's transactions landed: blknum and index by hash, and when each block
/// was first seen produced.
struct Inclusion {
    next_blknum: u64,
    at: HashMap<B256, (u64, u64)>,
}

impl Inclusion {
    /// Reads new blocks until every hash in `wanted` is placed.
    async fn wait_for(&mut self, api: &Api, wanted: &HashSet<B256>) -> eyre::Result<()> {
        let start = Instant::now();
        let mut missing: HashSet<B256> = wanted
            .iter()
            .filter(|h| !self.at.contains_key(*h))
            .copied()
            .collect();
        while !missing.is_empty() {
            let blocks = api.blocks_from(self.next_blknum).await?;
            if blocks.is_empty() {
                if start.elapsed() > Duration::from_secs(300) {
                    bail!(
                        "{} transactions not in any block after 300 s",
                        missing.len()
                    );
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            }
            for block in blocks {
                for (index, tx) in block.transactions.iter().enumerate() {
                    let hash = tx.hash();
                    missing.remove(&hash);
                    self.at.insert(hash, (block.blknum, index as u64));
                }
                self.next_blknum = self.next_blknum.max(block.blknum + 1);
            }
        }
        Ok(())
    }
}

fn account_key(index: usize) -> eyre::Result<PrivateKeySigner> {
    let seed = keccak256(format!("plasma-loadgen account {index}"));
    PrivateKeySigner::from_bytes(&seed).map_err(|e| eyre!("account key {index}: {e}"))
}

/// Sends `txs` in batches over `concurrency` connections. Returns the send instant of each
/// transaction (by hash) and the time the sending took.
async fn send_all(
    api: &Api,
    txs: &[SignedTransaction],
    batch: usize,
    concurrency: usize,
) -> eyre::Result<(HashMap<B256, Instant>, Duration)> {
    let bodies: Vec<(Vec<B256>, Vec<u8>)> = txs
        .chunks(batch.clamp(1, 1000))
        .map(|chunk| {
            let json: Vec<SignedTransactionJson> =
                chunk.iter().map(SignedTransactionJson::from).collect();
            (
                chunk.iter().map(SignedTransaction::hash).collect(),
                serde_json::to_vec(&json).unwrap_or_default(),
            )
        })
        .collect();
    let queue = Arc::new(Mutex::new(bodies));
    let sent = Arc::new(Mutex::new(HashMap::with_capacity(txs.len())));
    let start = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..concurrency.max(1) {
        let (api, queue, sent) = (api.clone(), queue.clone(), sent.clone());
        workers.push(tokio::spawn(async move {
            loop {
                let Some((hashes, body)) = queue.lock().ok().and_then(|mut q| q.pop()) else {
                    return Ok::<(), eyre::Report>(());
                };
                let at = Instant::now();
                api.submit(body).await?;
                if let Ok(mut sent) = sent.lock() {
                    for hash in hashes {
                        sent.insert(hash, at);
                    }
                }
            }
        }));
    }
    for worker in workers {
        worker.await??;
    }
    let elapsed = start.elapsed();
    let sent = Arc::try_unwrap(sent)
        .map_err(|_| eyre!("workers still hold the send times"))?
        .into_inner()
        .map_err(|_| eyre!("a worker panicked"))?;
    Ok((sent, elapsed))
}

/// Waits until the operator has committed `blknum` on L1.
async fn wait_committed(api: &Api, blknum: u64) -> eyre::Result<()> {
    let start = Instant::now();
    while api.committed().await? < blknum {
        if start.elapsed() > Duration::from_secs(300) {
            bail!("block {blknum} not committed on L1 after 300 s");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

/// `VmHWM` (peak resident memory) of `pid`, in MiB.
fn peak_memory_mib(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

#[tokio::main]
async fn main() -> eyre::Result<()> {
    let args = Args::parse();
    let funder: PrivateKeySigner = args
        .funder_key
        .trim()
        .parse()
        .map_err(|e| eyre!("--funder-key: {e}"))?;
    let mut accounts = 1usize;
    while accounts < args.accounts.max(4) {
        accounts *= 4;
    }
    let rounds = args.txs.div_ceil(accounts).max(1);
    let keys: Vec<PrivateKeySigner> = (0..accounts)
        .into_par_iter()
        .map(account_key)
        .collect::<eyre::Result<_>>()?;
    let api = Api {
        base: args.operator.trim_end_matches('/').to_owned(),
        http: reqwest::Client::new(),
    };

    // Fund: one deposit of 1 gwei per payment plus 1 gwei per account to spare.
    let l1 = ProviderBuilder::new()
        .wallet(EthereumWallet::new(funder.clone()))
        .connect_http(args.l1_rpc.parse().wrap_err("--l1-rpc")?);
    let contract = RootChain::new(args.root_chain, l1.clone());
    let chain_id = alloy::providers::Provider::get_chain_id(&l1).await?;
    let domain = Domain::new(chain_id, args.root_chain);
    let gwei = U256::from(1_000_000_000u64);
    let total = gwei * U256::from(accounts * (rounds + 1));
    eprintln!("loadgen: {accounts} accounts, {rounds} rounds of {accounts} payments");
    let receipt = contract
        .deposit()
        .value(total)
        .send()
        .await?
        .get_receipt()
        .await?;
    let event = receipt
        .inner
        .logs()
        .iter()
        .find_map(|l| l.log_decode::<RootChain::DepositCreated>().ok())
        .ok_or_else(|| eyre!("no DepositCreated in the deposit's receipt"))?;
    let deposit = UtxoPos::new(event.inner.data.blknum.to::<u64>(), 0, 0)?;
    let owner_path = format!("/v1/accounts/{}/utxos", funder.address());
    let start = Instant::now();
    loop {
        let listed = api.get(&owner_path).await?;
        let found = listed["utxos"]
            .as_array()
            .is_some_and(|u| u.iter().any(|u| u["utxoPos"] == deposit.to_string()));
        if found {
            break;
        }
        if start.elapsed() > Duration::from_secs(60) {
            bail!("the operator did not see deposit {deposit} within 60 s");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Fan out 1 → 4 → 16 → … → `accounts` coins. The funder signs the first payment.
    let status = api.get("/v1/status").await?;
    let mut inclusion = Inclusion {
        next_blknum: status["nextBlock"].as_u64().unwrap_or(1000),
        at: HashMap::new(),
    };
    let mut coins = vec![Coin {
        owner: usize::MAX,
        pos: deposit,
        amount: total,
    }];
    while coins.len() < accounts {
        let next_owner = |parent: usize, k: usize| parent * 4 + k;
        let txs: Vec<SignedTransaction> = coins
            .par_iter()
            .enumerate()
            .map(|(parent, coin)| {
                let quarter = coin.amount / U256::from(4);
                let outputs = (0..4)
                    .map(|k| {
                        let amount = if k == 0 {
                            coin.amount - quarter * U256::from(3)
                        } else {
                            quarter
                        };
                        Output::new(keys[next_owner(parent, k)].address(), ETH, amount)
                    })
                    .collect();
                let signer = if coin.owner == usize::MAX {
                    &funder
                } else {
                    &keys[coin.owner]
                };
                SignedTransaction::sign(
                    Transaction::payment(vec![coin.pos], outputs),
                    &domain,
                    signer,
                )
                .map_err(|e| eyre!("signing: {e}"))
            })
            .collect::<eyre::Result<_>>()?;
        send_all(&api, &txs, args.batch, args.concurrency).await?;
        let hashes: HashSet<B256> = txs.iter().map(SignedTransaction::hash).collect();
        inclusion.wait_for(&api, &hashes).await?;
        let mut next = Vec::with_capacity(coins.len() * 4);
        for (parent, tx) in txs.iter().enumerate() {
            let (blknum, index) = inclusion.at[&tx.hash()];
            for (k, output) in tx.tx().outputs.iter().enumerate() {
                next.push(Coin {
                    owner: next_owner(parent, k),
                    pos: UtxoPos::new(blknum, index, k as u64)?,
                    amount: output.amount,
                });
            }
        }
        coins = next;
        eprintln!("loadgen: funded {} coins", coins.len());
    }

    // Follow L1 commitments in the background.
    let commits: CommitTimes = Arc::new(Mutex::new(HashMap::new()));
    let follower = {
        let (api, commits) = (api.clone(), commits.clone());
        // The first operator block number the load can land in.
        let first = inclusion
            .next_blknum
            .div_ceil(plasma_core::CHILD_BLOCK_INTERVAL)
            * plasma_core::CHILD_BLOCK_INTERVAL;
        tokio::spawn(async move {
            let mut seen = first.saturating_sub(1);
            loop {
                if let Ok(committed) = api.committed().await
                    && committed > seen
                {
                    let now = Instant::now();
                    if let Ok(mut commits) = commits.lock() {
                        let mut blknum = first;
                        while blknum <= committed {
                            commits.entry(blknum).or_insert(now);
                            blknum += plasma_core::CHILD_BLOCK_INTERVAL;
                        }
                    }
                    seen = committed;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    };

    // Load.
    let sink = funder.address();
    let mut sent_at: HashMap<B256, Instant> = HashMap::new();
    let mut sending = Duration::ZERO;
    let load_start = Instant::now();
    for round in 0..rounds {
        let txs: Vec<SignedTransaction> = coins
            .par_iter()
            .map(|coin| {
                let outputs = vec![
                    Output::new(sink, ETH, U256::from(1)),
                    Output::new(keys[coin.owner].address(), ETH, coin.amount - U256::from(1)),
                ];
                SignedTransaction::sign(
                    Transaction::payment(vec![coin.pos], outputs),
                    &domain,
                    &keys[coin.owner],
                )
                .map_err(|e| eyre!("signing: {e}"))
            })
            .collect::<eyre::Result<_>>()?;
        let (sent, took) = send_all(&api, &txs, args.batch, args.concurrency).await?;
        sending += took;
        sent_at.extend(sent);
        let hashes: HashSet<B256> = txs.iter().map(SignedTransaction::hash).collect();
        inclusion.wait_for(&api, &hashes).await?;
        for (coin, tx) in coins.iter_mut().zip(&txs) {
            let (blknum, index) = inclusion.at[&tx.hash()];
            coin.pos = UtxoPos::new(blknum, index, 1)?;
            coin.amount -= U256::from(1);
        }
        eprintln!(
            "loadgen: round {}/{rounds}: {} sent in {:.2}s",
            round + 1,
            txs.len(),
            took.as_secs_f64()
        );
    }
    let last_block = sent_at
        .keys()
        .filter_map(|h| inclusion.at.get(h).map(|(b, _)| *b))
        .max()
        .unwrap_or(0);
    wait_committed(&api, last_block).await?;
    // The follower polls every 20 ms: let it record the last commitment.
    tokio::time::sleep(Duration::from_millis(100)).await;
    follower.abort();
    let commits = commits.lock().map_err(|_| eyre!("commit times"))?.clone();
    let end = commits
        .get(&last_block)
        .copied()
        .unwrap_or_else(Instant::now);
    let mut latencies: Vec<Duration> = sent_at
        .iter()
        .filter_map(|(hash, at)| {
            let (blknum, _) = inclusion.at.get(hash)?;
            Some(commits.get(blknum)?.saturating_duration_since(*at))
        })
        .collect();
    latencies.sort();
    let total_txs = sent_at.len();
    let included_span = end.saturating_duration_since(load_start);
    let blocks: HashSet<u64> = sent_at
        .keys()
        .filter_map(|h| inclusion.at.get(h).map(|(b, _)| *b))
        .collect();

    println!("| measure | value |");
    println!("|---|---|");
    println!("| payments (1 input, 2 outputs) | {total_txs} |");
    println!("| accounts paying in parallel | {accounts} |");
    println!(
        "| requests | {} concurrent, {} transactions each |",
        args.concurrency, args.batch
    );
    println!("| blocks | {} |", blocks.len());
    println!(
        "| accepted tx/s (while sending) | {:.0} |",
        total_txs as f64 / sending.as_secs_f64().max(1e-9)
    );
    println!(
        "| included tx/s (first send → last block committed on L1) | {:.0} |",
        total_txs as f64 / included_span.as_secs_f64().max(1e-9)
    );
    println!(
        "| latency send → committed on L1, p50 / p99 | {:.0} ms / {:.0} ms |",
        percentile(&latencies, 0.50).as_secs_f64() * 1e3,
        percentile(&latencies, 0.99).as_secs_f64() * 1e3
    );
    match args.operator_pid.and_then(peak_memory_mib) {
        Some(mib) => println!("| operator peak memory (VmHWM) | {mib:.0} MiB |"),
        None => println!("| operator peak memory (VmHWM) | not measured (no --operator-pid) |"),
    }
    Ok(())
}
