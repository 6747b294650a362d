//! The end-to-end harness: a real anvil with the root contract deployed, the real
//! `plasma-operator` binary as a child process, and users who run the real `plasma` CLI, each
//! with their own data folder, exactly as a person would.
//!
//! The binaries are taken from the cargo target folder this test runs from
//! (`target/debug/`); `cargo nextest run --workspace` and `cargo build --workspace` build
//! them. Everything a scenario starts is stopped when its handle drops.

use std::ffi::OsString;
use std::future::Future;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use alloy::primitives::{Address, B256, U256};
use alloy::providers::Provider;
use alloy::signers::local::PrivateKeySigner;
use plasma_contracts::test_utils::TestChain;
use serde_json::Value;

pub mod byzantine;

/// How long any wait lasts before the scenario fails.
pub const TIMEOUT: Duration = Duration::from_secs(90);

/// The folder holding the workspace's binaries: the parent of `deps/`, where the running
/// test executable lives.
pub fn bin_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test executable's path");
    let deps = exe.parent().expect("the test executable is in a folder");
    let dir = if deps.ends_with("deps") {
        deps.parent().unwrap_or(deps)
    } else {
        deps
    };
    dir.to_path_buf()
}

/// The path of workspace binary `name`, with a clear message when it was not built.
pub fn bin(name: &str) -> PathBuf {
    let path = bin_dir().join(name);
    assert!(
        path.exists(),
        "{} not found: build the workspace's binaries first (`cargo build --workspace --bins`)",
        path.display()
    );
    path
}

/// Polls `f` every 100 ms until it returns `Some`, failing after [`TIMEOUT`].
pub async fn poll<T, F, Fut>(what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(value) = f().await {
            return value;
        }
        assert!(start.elapsed() < TIMEOUT, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A free local TCP port (bound, read and released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// The `plasma-operator` binary running as a child process against a [`TestChain`].
pub struct OperatorProcess {
    child: Option<Child>,
    args: Vec<OsString>,
    /// The API's base URL.
    pub url: String,
    /// The file holding the process's log (appended across restarts).
    pub log: PathBuf,
}

impl OperatorProcess {
    /// Starts the operator with the devnet settings used by every scenario: blocks every
    /// 200 ms, no L1 confirmations, 100 ms polling, no fsync. The database lives in `dir`.
    pub async fn start(chain: &TestChain, dir: &Path) -> Self {
        Self::start_with(chain, dir, &[]).await
    }

    /// [`start`](Self::start) with `extra` flags (e.g. `--min-fee`); a devnet setting that
    /// `extra` names (e.g. `--l1-confirmations 2`, `--db`) gives way to it.
    pub async fn start_with(chain: &TestChain, dir: &Path, extra: &[&str]) -> Self {
        let listen = SocketAddr::from(([127, 0, 0, 1], free_port()));
        let key = chain.keys[0].to_bytes();
        let db = dir.join("operator-db").display().to_string();
        let devnet = [
            ("--db", db.as_str()),
            ("--block-interval", "200ms"),
            ("--l1-confirmations", "0"),
            ("--l1-poll-interval", "100ms"),
        ];
        let mut args: Vec<OsString> = [
            "--l1-rpc",
            &chain.anvil.endpoint(),
            "--root-chain",
            &chain.root_chain.to_string(),
            "--private-key",
            &key.to_string(),
            "--listen",
            &listen.to_string(),
            "--no-fsync",
        ]
        .iter()
        .map(OsString::from)
        .collect();
        for (flag, value) in devnet {
            if !extra.contains(&flag) {
                args.extend([flag.into(), value.into()]);
            }
        }
        args.extend(extra.iter().map(OsString::from));
        let mut operator = Self {
            child: None,
            args,
            url: format!("http://{listen}"),
            log: dir.join("operator.log"),
        };
        operator.restart().await;
        operator
    }

    /// Starts the process again on the same database and port (after [`kill`](Self::kill)).
    pub async fn restart(&mut self) {
        assert!(self.child.is_none(), "the operator is already running");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("the operator log opens");
        let child = Command::new(bin("plasma-operator"))
            .args(&self.args)
            .env("PLASMA_LOG", "info")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("plasma-operator starts");
        self.child = Some(child);
        let api = self.api();
        let start = Instant::now();
        loop {
            if let Some(Ok(Some(exit))) = self.child.as_mut().map(Child::try_wait) {
                panic!("plasma-operator exited with {exit}:\n{}", self.log_tail());
            }
            if api.status().await.is_ok() {
                return;
            }
            assert!(
                start.elapsed() < TIMEOUT,
                "the operator's API did not answer:\n{}",
                self.log_tail()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The process id while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Kills the process at once (SIGKILL), as a crash or a vanished operator.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// A typed client of the operator's API.
    pub fn api(&self) -> plasma_api::ApiClient {
        plasma_api::ApiClient::new(&self.url)
    }

    /// The operator's `GET /v1/status`.
    pub async fn status(&self) -> plasma_api::Status {
        self.api().status().await.expect("operator reachable")
    }

    /// The value of counter `name` (without the `plasma_operator_` prefix and `_total` suffix)
    /// in the operator's `GET /metrics`.
    pub async fn counter(&self, name: &str) -> u64 {
        let metrics = self.api().metrics().await.expect("metrics");
        counter_in(&metrics, name).unwrap_or_else(|| panic!("no counter {name} in:\n{metrics}"))
    }

    /// The last lines of the operator's log, for failure messages.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }
}

impl Drop for OperatorProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The value of counter `name` (without the `plasma_operator_` prefix and `_total` suffix) in
/// an OpenMetrics exposition of the operator.
pub fn counter_in(metrics: &str, name: &str) -> Option<u64> {
    let line = format!("plasma_operator_{name}_total ");
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(line.as_str()))
        .and_then(|v| v.trim().parse().ok())
}

/// A local chain for one scenario: anvil with the contract, the operator binary, a folder.
pub struct Devnet {
    /// The L1 (anvil) and the deployed root contract.
    pub chain: TestChain,
    /// The operator process.
    pub operator: OperatorProcess,
    /// Everything on disk: operator database and log, users' data folders.
    pub dir: tempfile::TempDir,
}

impl Devnet {
    /// Starts anvil, deploys the contract with `min_exit_period` seconds and a 0.01 ETH bond,
    /// and starts the operator.
    pub async fn start(min_exit_period: u64) -> Self {
        Self::start_with(min_exit_period, &[]).await
    }

    /// [`start`](Self::start) with extra flags for the operator (e.g. `--min-fee`).
    pub async fn start_with(min_exit_period: u64, operator_flags: &[&str]) -> Self {
        let chain = TestChain::start(min_exit_period, U256::from(10u64).pow(U256::from(16))).await;
        let dir = tempfile::tempdir().expect("a temporary folder");
        let operator = OperatorProcess::start_with(&chain, dir.path(), operator_flags).await;
        Self {
            chain,
            operator,
            dir,
        }
    }

    /// A user named `name` holding anvil's development key `index` (0 is the operator), with
    /// their own data folder and the key imported into their wallet by `plasma wallet import`.
    pub fn user(&self, name: &str, index: usize) -> User {
        let key = self.chain.keys[index].clone();
        let data_dir = self.dir.path().join(name);
        std::fs::create_dir_all(&data_dir).expect("user folder");
        let key_file = data_dir.join("key.hex");
        std::fs::write(&key_file, key.to_bytes().to_string()).expect("key file");
        let user = User {
            name: name.to_owned(),
            key,
            data_dir,
            env: vec![
                ("PLASMA_OPERATOR".into(), self.operator.url.clone()),
                ("PLASMA_L1_RPC".into(), self.chain.anvil.endpoint()),
                (
                    "PLASMA_ROOT_CHAIN".into(),
                    self.chain.root_chain.to_string(),
                ),
                ("PLASMA_PASSWORD".into(), format!("{name}'s password")),
            ],
        };
        user.ok(&[
            "wallet",
            "import",
            "--name",
            name,
            "--private-key-file",
            &key_file.display().to_string(),
        ]);
        std::fs::remove_file(&key_file).expect("key file removed");
        user
    }

    /// The L1 balance of `address`, in wei.
    pub async fn l1_balance(&self, address: Address) -> U256 {
        self.chain
            .provider
            .get_balance(address)
            .await
            .expect("eth_getBalance")
    }

    /// What L1 transaction `hash` cost its sender in gas, in wei.
    pub async fn gas_cost(&self, hash: &Value) -> U256 {
        let hash: B256 = hash
            .as_str()
            .and_then(|h| h.parse().ok())
            .unwrap_or_else(|| panic!("not a transaction hash: {hash}"));
        let receipt = self
            .chain
            .provider
            .get_transaction_receipt(hash)
            .await
            .expect("eth_getTransactionReceipt")
            .expect("the transaction is mined");
        U256::from(receipt.gas_used) * U256::from(receipt.effective_gas_price)
    }

    /// The client library's L1 handle on this devnet (anvil signs for its development keys):
    /// what a test uses to act on L1 as a user's client would, or as a cheat.
    pub fn l1(&self) -> plasma_client::l1::L1 {
        plasma_client::l1::L1::new(
            &self.chain.anvil.endpoint(),
            self.chain.provider.clone(),
            self.chain.root_chain,
        )
    }

    /// The root contract's standard exit bond.
    pub async fn exit_bond(&self) -> U256 {
        self.chain
            .contract()
            .exitBond()
            .call()
            .await
            .expect("exitBond")
    }

    /// `user` starts the exit of coin `pos` straight through the contract, with the exit data
    /// their client kept (even for a coin they spent: the cheat a challenge must stop).
    /// Returns the bond posted.
    pub async fn exit_kept_coin(&self, user: &User, pos: plasma_core::UtxoPos) -> U256 {
        let kept = user
            .store(self)
            .coin(pos)
            .expect("store readable")
            .expect("the coin's data is kept");
        let bond = self.exit_bond().await;
        // The client library's call: the gas estimate plus half, and a revert is an error.
        self.l1()
            .start_exit(&kept, bond)
            .await
            .unwrap_or_else(|e| panic!("startStandardExit of {pos}: {e}"));
        bond
    }

    /// Moves L1's clock past every exit's `exitableAt` that exists now (twice the exit
    /// period plus one second covers both the block-age and the exit-period terms).
    pub async fn pass_exit_period(&self) {
        self.chain
            .advance_time(2 * self.chain.config.min_exit_period + 1)
            .await;
    }
}

/// A person using the `plasma` CLI with their own data folder and key.
pub struct User {
    /// Their name (also their key's name in the wallet).
    pub name: String,
    /// Their key.
    pub key: PrivateKeySigner,
    /// Their `--data-dir`.
    pub data_dir: PathBuf,
    env: Vec<(String, String)>,
}

impl User {
    /// Their address.
    pub fn address(&self) -> Address {
        self.key.address()
    }

    /// `plasma` with this user's data folder and settings, ready for arguments.
    pub fn command(&self) -> Command {
        let mut command = Command::new(bin("plasma"));
        command
            .arg("--data-dir")
            .arg(&self.data_dir)
            .env_remove("PLASMA_FROM")
            .env_remove("PLASMA_CONFIG")
            .env_remove("PLASMA_PASSWORD_FILE");
        for (key, value) in &self.env {
            command.env(key, value);
        }
        command
    }

    /// Runs `plasma <args>` with this user's settings.
    pub fn run(&self, args: &[&str]) -> Output {
        self.command().args(args).output().expect("plasma runs")
    }

    /// Runs `plasma --json <args>`, asserts success and returns the parsed stdout.
    pub fn ok(&self, args: &[&str]) -> Value {
        let mut full = vec!["--json"];
        full.extend_from_slice(args);
        let output = self.run(&full);
        assert!(
            output.status.success(),
            "{}: plasma {} failed ({}):\n{}",
            self.name,
            args.join(" "),
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
            panic!(
                "plasma {} printed no JSON ({e}): {}",
                args.join(" "),
                String::from_utf8_lossy(&output.stdout)
            )
        })
    }

    /// Runs `plasma <args>` expecting failure; returns stderr.
    pub fn fails(&self, args: &[&str]) -> String {
        let output = self.run(args);
        assert!(
            !output.status.success(),
            "{}: plasma {} should have failed but printed {}",
            self.name,
            args.join(" "),
            String::from_utf8_lossy(&output.stdout)
        );
        String::from_utf8_lossy(&output.stderr).into_owned()
    }

    /// This user's child-chain ETH balance, after a sync (`plasma balance`).
    pub fn balance(&self) -> U256 {
        let rows = self.ok(&["balance"]);
        rows.as_array()
            .expect("balance rows")
            .iter()
            .filter(|r| {
                r["owner"].as_str().map(str::to_lowercase)
                    == Some(self.address().to_string().to_lowercase())
                    && r["token"].as_str() == Some(&Address::ZERO.to_string())
            })
            .map(|r| {
                r["amount"]
                    .as_str()
                    .and_then(|a| a.parse::<U256>().ok())
                    .unwrap_or_default()
            })
            .fold(U256::ZERO, |a, b| a + b)
    }

    /// Waits until `plasma balance` shows `expected` wei.
    pub async fn wait_balance(&self, expected: U256) {
        let start = Instant::now();
        loop {
            let last = self.balance();
            if last == expected {
                return;
            }
            assert!(
                start.elapsed() < TIMEOUT,
                "{}'s balance stayed {last} wei, expected {expected}",
                self.name
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// This user's coins as `plasma utxos --json` lists them.
    pub fn coins(&self) -> Vec<Value> {
        self.ok(&["utxos"]).as_array().expect("coin list").clone()
    }

    /// The one coin of this user in `state` (as `plasma utxos` names states); fails unless
    /// there is exactly one.
    pub fn coin_in_state(&self, state: &str) -> plasma_core::UtxoPos {
        let coins: Vec<Value> = self
            .coins()
            .into_iter()
            .filter(|c| c["state"] == state)
            .collect();
        assert_eq!(coins.len(), 1, "{}'s {state} coins: {coins:?}", self.name);
        coins[0]["utxoPos"]
            .as_str()
            .and_then(|p| p.parse().ok())
            .expect("a utxo position")
    }

    /// The sum of this user's unspent ETH coins in their client store (only while no CLI runs).
    pub fn store_balance(&self, devnet: &Devnet) -> U256 {
        self.store(devnet)
            .coins()
            .expect("coins readable")
            .iter()
            .filter(|c| {
                c.output.owner == self.address()
                    && c.output.token == Address::ZERO
                    && c.state == plasma_client::store::CoinState::Unspent
            })
            .fold(U256::ZERO, |sum, c| sum + c.output.amount)
    }

    /// The client's verified store of this user for `devnet` (only while no CLI runs).
    pub fn store(&self, devnet: &Devnet) -> plasma_client::store::ClientStore {
        let chain_id = devnet.chain.anvil.chain_id();
        let folder = self
            .data_dir
            .join(format!("chain-{chain_id}-{}", devnet.chain.root_chain))
            .join("db");
        plasma_client::store::ClientStore::open(&folder, chain_id, devnet.chain.root_chain)
            .expect("the user's store opens")
    }
}

/// `plasma watch` running as a child process, its events (JSON lines) collected in a file.
pub struct WatcherProcess {
    child: Child,
    events: PathBuf,
    log: PathBuf,
    /// `GET /status` of the watcher.
    pub status_url: String,
}

impl WatcherProcess {
    /// Starts `plasma watch <args>` as `user` (with a 200 ms round interval and a status
    /// endpoint); output goes to files in the user's folder.
    pub fn start(user: &User, args: &[&str]) -> Self {
        let events = user.data_dir.join("watch-events.jsonl");
        let log = user.data_dir.join("watch.log");
        let port = free_port();
        let status_addr = format!("127.0.0.1:{port}");
        let mut command = user.command();
        command
            .args([
                "watch",
                "--interval",
                "200ms",
                "--status-addr",
                &status_addr,
            ])
            .args(args)
            .stdout(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&events)
                    .expect("events file"),
            )
            .stderr(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&log)
                    .expect("log file"),
            );
        let child = command.spawn().expect("plasma watch starts");
        Self {
            child,
            events,
            log,
            status_url: format!("http://{status_addr}/status"),
        }
    }

    /// Every event printed so far (across restarts on the same folder).
    pub fn events(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.events)
            .unwrap_or_default()
            .lines()
            .map(|line| {
                serde_json::from_str(line).unwrap_or_else(|e| {
                    panic!("watch printed a line that is not JSON ({e}): {line}")
                })
            })
            .collect()
    }

    /// Waits for an event of kind `kind` matching `pred`; returns it.
    pub async fn wait_event(&mut self, kind: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let start = Instant::now();
        loop {
            if let Some(event) = self
                .events()
                .into_iter()
                .find(|e| e["event"] == kind && pred(e))
            {
                return event;
            }
            if let Ok(Some(exit)) = self.child.try_wait() {
                panic!("plasma watch exited with {exit}:\n{}", self.log_text());
            }
            assert!(
                start.elapsed() < TIMEOUT,
                "no {kind} event; events so far: {:?}\nlog:\n{}",
                self.events(),
                self.log_text()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The watcher's log (stderr).
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Stops the watcher (SIGKILL), runs `plasma watch <args>` again on `user`'s folder for a
    /// few rounds, and checks that it raises nothing: every event was raised once, for good.
    pub fn restarted_raises_nothing(self, user: &User, args: &[&str]) {
        let seen = self.events().len();
        self.stop();
        let mut command = vec!["watch", "--rounds", "3", "--interval", "100ms"];
        command.extend_from_slice(args);
        let output = user.run(&command);
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert_eq!(
            String::from_utf8_lossy(&output.stdout),
            "",
            "{} raised again after a restart ({seen} events before)",
            user.name
        );
    }

    /// Stops the watcher (SIGKILL: its state must survive a crash).
    pub fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for WatcherProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `text` ETH in wei (`"0.4"` → 4·10¹⁷).
pub fn eth(text: &str) -> U256 {
    alloy::primitives::utils::parse_ether(text).expect("an ETH amount")
}
