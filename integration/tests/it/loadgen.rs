//! `plasma-loadgen` (what `scripts/bench` runs) against the real operator, at a small size: it
//! funds its accounts, sends its pre-signed wave, waits for every block to be committed and
//! prints its table; afterwards every wei of the deposit is in the accounts' outputs.

use std::collections::HashMap;
use std::process::Command;

use alloy::primitives::{U256, keccak256};
use alloy::signers::local::PrivateKeySigner;
use plasma_integration::{Devnet, bin};

/// The rows of a two-column markdown table, by their first cell.
fn table(stdout: &str) -> HashMap<String, String> {
    stdout
        .lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line.trim().trim_matches('|').split('|').collect();
            match cells.as_slice() {
                [name, value] => Some((name.trim().to_owned(), value.trim().to_owned())),
                _ => None,
            }
        })
        .collect()
}

/// The first number in `text` (`"24012"`, `"1038 ms / 1482 ms"`).
fn number(text: &str) -> f64 {
    text.split(|c: char| !(c.is_ascii_digit() || c == '.'))
        .find(|t| !t.is_empty())
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| panic!("no number in {text:?}"))
}

/// The value of the row whose name starts with `prefix` (the table printed as `stdout`).
fn row<'a>(rows: &'a HashMap<String, String>, prefix: &str, stdout: &str) -> &'a str {
    rows.iter()
        .find(|(name, _)| name.starts_with(prefix))
        .map(|(_, value)| value.as_str())
        .unwrap_or_else(|| panic!("no row {prefix:?} in\n{stdout}"))
}

/// Runs `plasma-loadgen` with `args`, fails the test (with its output and the operator's log)
/// unless it succeeds, and returns what it printed on stdout.
async fn run_loadgen(devnet: &Devnet, args: Vec<String>) -> String {
    let output = tokio::task::spawn_blocking(move || {
        Command::new(bin("plasma-loadgen"))
            .args(&args)
            .output()
            .expect("plasma-loadgen starts")
    })
    .await
    .expect("plasma-loadgen ran");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "plasma-loadgen failed:\n{stdout}\n{stderr}\n{}",
        devnet.operator.log_tail()
    );
    stdout
}

/// What the generator's first `accounts` accounts hold on the child chain: the sum and the count
/// of their unspent outputs.
async fn held(devnet: &Devnet, accounts: usize) -> (U256, usize) {
    let (mut amount, mut outputs) = (U256::ZERO, 0usize);
    for index in 0..accounts {
        let key =
            PrivateKeySigner::from_bytes(&keccak256(format!("plasma-loadgen account {index}")))
                .expect("the generator's key");
        let listed = devnet
            .operator
            .api()
            .utxos(key.address(), None, None)
            .await
            .expect("operator reachable");
        outputs += listed.utxos.len();
        for utxo in listed.utxos {
            amount += utxo.utxo.amount;
        }
    }
    (amount, outputs)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_load_generator_runs_a_wave_and_reports_it() {
    let devnet = Devnet::start(60).await;
    let funder = devnet.chain.keys[5].clone();
    let (payments, accounts) = (600usize, 7usize);
    let args: Vec<String> = vec![
        "--l1-rpc".into(),
        devnet.chain.anvil.endpoint(),
        "--root-chain".into(),
        devnet.chain.root_chain.to_string(),
        "--operator".into(),
        devnet.operator.url.clone(),
        "--funder-key".into(),
        funder.to_bytes().to_string(),
        "--txs".into(),
        payments.to_string(),
        "--accounts".into(),
        accounts.to_string(),
        "--batch".into(),
        "100".into(),
        "--concurrency".into(),
        "3".into(),
        "--operator-pid".into(),
        devnet
            .operator
            .pid()
            .expect("the operator runs")
            .to_string(),
    ];
    let stdout = run_loadgen(&devnet, args).await;
    let rows = table(&stdout);
    let row = |prefix: &str| row(&rows, prefix, &stdout);
    assert_eq!(number(row("payments in the wave")) as usize, payments);
    assert!(number(row("accepted tx/s")) > 0.0, "{stdout}");
    assert!(number(row("included tx/s")) > 0.0, "{stdout}");
    assert!(number(row("blocks")) >= 1.0, "{stdout}");
    assert!(row("latency send → committed").ends_with("ms"), "{stdout}");
    assert!(row("operator CPU").contains("µs per payment"), "{stdout}");
    assert!(row("operator memory").ends_with("MiB"), "{stdout}");
    assert!(number(row("unit cost now")) > 0.0, "{stdout}");
    // The ratio that survives the machine's drift, and the form the batches were sent in.
    let ratio = number(row("ratio: included tx/s ÷ that"));
    assert!(ratio > 0.0 && ratio < 2.0, "{stdout}");
    // And against what the cores deliver together, measured on them at once.
    let delivered = number(row("ratio: included tx/s ÷ the recovery rate of all"));
    assert!(delivered > 0.0 && delivered < 2.0, "{stdout}");
    assert!(
        row("requests").contains("application/vnd.plasma.transactions"),
        "{stdout}"
    );

    // Everything it sent is in committed blocks, and nothing was created or lost: the deposit
    // (1 gwei per payment, no fees) is spread over the accounts' outputs.
    let status = devnet.operator.status().await;
    assert_eq!(status.mempool_size, 0, "{status:?}");
    assert_eq!(
        status.last_committed_block,
        status.next_block - 1000,
        "{status:?}"
    );
    let (held, _) = held(&devnet, accounts).await;
    assert_eq!(
        held,
        U256::from(payments) * U256::from(1_000_000_000u64),
        "{stdout}"
    );
}

/// The soak mode (what `scripts/soak` runs for ten minutes), for a few seconds each way: it
/// calibrates, sends chained payments at a share of the calibrated rate, and its checks pass
/// against the honest operator. Afterwards every wei of its coins is still in the accounts'
/// outputs, and with one output per payment the set of unspent outputs kept its size.
#[tokio::test(flavor = "multi_thread")]
async fn the_load_generator_soaks_with_chained_payments_and_checks_them() {
    let devnet = Devnet::start(60).await;
    let (coins, accounts) = (200usize, 5usize);
    let gwei = U256::from(1_000_000_000u64);

    // The coins the fan-out made (up to two more than asked) and the payments of a soak.
    let made = |stdout: &str| {
        let rows = table(stdout);
        let coins = row(&rows, "workload", stdout)
            .split_once(": ")
            .map(|(_, rest)| number(rest) as usize)
            .expect("the coins in the workload row");
        let payments = number(row(&rows, "payments accepted / included", stdout)) as usize;
        (coins, payments)
    };

    let stdout = soak(&devnet, 6, coins, accounts, "one").await;
    let (first_coins, _) = made(&stdout);
    assert!((coins..coins + 3).contains(&first_coins), "{stdout}");
    // Paid on whole: as many unspent outputs as coins, holding the deposit to the wei.
    assert_eq!(
        held(&devnet, accounts).await,
        (U256::from(coins) * gwei, first_coins),
        "{stdout}"
    );

    let stdout = soak(&devnet, 7, coins, accounts, "two").await;
    let (second_coins, accepted) = made(&stdout);
    let (amount, outputs) = held(&devnet, accounts).await;
    assert_eq!(amount, U256::from(2 * coins) * gwei, "{stdout}");
    // With change: one more unspent output per payment of the second soak.
    assert_eq!(outputs, first_coins + second_coins + accepted, "{stdout}");
}

/// Runs a short soak from funder key `key` with `--soak-outputs outputs`, checks its table, and
/// returns it.
async fn soak(devnet: &Devnet, key: usize, coins: usize, accounts: usize, outputs: &str) -> String {
    let funder = devnet.chain.keys[key].clone();
    let args: Vec<String> = [
        "--l1-rpc",
        &devnet.chain.anvil.endpoint(),
        "--root-chain",
        &devnet.chain.root_chain.to_string(),
        "--operator",
        &devnet.operator.url,
        "--funder-key",
        &funder.to_bytes().to_string(),
        "--coins",
        &coins.to_string(),
        "--accounts",
        &accounts.to_string(),
        "--batch",
        "20",
        "--concurrency",
        "2",
        "--operator-pid",
        &devnet
            .operator
            .pid()
            .expect("the operator runs")
            .to_string(),
        "--soak",
        "6s",
        "--calibrate",
        "4s",
        // Well below what the operator took while calibrating: a short soak on a shared CI
        // machine must not depend on its speed staying the same.
        "--rate-fraction",
        "0.5",
        "--rss-every",
        "2s",
        "--soak-outputs",
        outputs,
    ]
    .map(String::from)
    .to_vec();
    let stdout = run_loadgen(devnet, args).await;
    let rows = table(&stdout);
    let row = |prefix: &str| row(&rows, prefix, &stdout);
    assert!(number(row("measured rate")) > 0.0, "{stdout}");
    // Chained: more payments than coins, so coins paid again from where the last payment left
    // them.
    assert!(
        number(row("payments accepted / included")) > coins as f64,
        "{stdout}"
    );
    for check in [
        "check: every accepted payment is in a block",
        "check: the operator carried the target",
        "check: nothing included twice",
        "check: every served root",
        "check: every block is committed on L1",
    ] {
        assert!(row(check).starts_with("yes"), "{check}: {stdout}");
    }
    assert!(
        row("check: included ≥ 90 % of the measured rate").starts_with("not checked"),
        "{stdout}"
    );
    assert!(
        row("check: memory flat").starts_with("not checked"),
        "{stdout}"
    );
    // Memory read during the calibration and during the soak.
    let rss = row("operator VmRSS every 2s");
    assert!(rss.contains("cal. ") && rss.contains(" s: "), "{stdout}");
    // And the store's share of it, by kind, from the operator's /metrics.
    let store = row("store memory by RocksDB's estimates");
    assert!(
        store.contains("cal. ") && store.contains(" s: "),
        "{stdout}"
    );
    assert!(
        store.split(", ").all(|s| s.matches('/').count() == 2),
        "{stdout}"
    );
    // The machine's unit cost, measured before the run and after it.
    let unit = row("unit cost before the run / at the end");
    assert_eq!(unit.matches(" µs").count(), 2, "{stdout}");
    let status = devnet.operator.status().await;
    assert_eq!(status.mempool_size, 0, "{status:?}");
    stdout
}
