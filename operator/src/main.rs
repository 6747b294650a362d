//! `plasma-operator`: the operator daemon. Settings come from flags, `PLASMA_*` environment
//! variables and an optional TOML file (in that order of precedence); see `--help` and
//! `docs/OPERATOR.md`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use alloy::primitives::{Address, U256};
use alloy::signers::local::PrivateKeySigner;
use clap::{Args, Parser};
use eyre::{WrapErr, bail, eyre};
use plasma_operator::Config;
use serde::Deserialize;

/// mimalloc instead of glibc's allocator: the daemon frees on other threads what it allocated
/// (request bodies on the API's threads, blocks on the producer's), and glibc's per-thread
/// arenas kept that memory: at 533,333 stored transactions the resident size under load was
/// 700 MiB with glibc and 480 MiB with mimalloc (jemalloc: 450 MiB, with a slower build).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The plasma child-chain operator: accepts signed transactions over HTTP, builds blocks, stores
/// them in RocksDB, commits their roots to the root contract on L1, and follows L1 deposits and
/// exits.
#[derive(Debug, Parser)]
#[command(name = "plasma-operator", version, about, long_about = None)]
struct Cli {
    /// A TOML file of settings. Keys are the long flag names (e.g. `l1-rpc = "https://…"`,
    /// `block-interval = "2s"`); flags and environment variables override the file.
    #[arg(long, env = "PLASMA_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,

    #[command(flatten)]
    settings: Settings,
}

/// A duration such as `500ms`, `2s`, `5m` or `1h` (a bare number is seconds).
#[derive(Debug, Clone, Copy)]
struct Interval(Duration);

impl FromStr for Interval {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        plasma_core::duration::parse_duration(s)
            .map(Self)
            .map_err(|e| e.to_string())
    }
}

impl<'de> Deserialize<'de> for Interval {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Every setting; each may come from a flag, an environment variable or the TOML file.
#[derive(Debug, Default, Args, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct Settings {
    /// L1 JSON-RPC endpoint (http or https), e.g. a geth/reth node or a provider.
    #[arg(long, env = "PLASMA_L1_RPC", value_name = "URL")]
    l1_rpc: Option<String>,

    /// Address of the root contract on L1.
    #[arg(long, env = "PLASMA_ROOT_CHAIN", value_name = "ADDRESS")]
    root_chain: Option<Address>,

    /// Operator key as an encrypted JSON keystore (Web3 Secret Storage). The password comes
    /// from PLASMA_KEYSTORE_PASSWORD or --keystore-password-file.
    #[arg(long, env = "PLASMA_KEYSTORE", value_name = "FILE")]
    keystore: Option<PathBuf>,

    /// File holding the keystore password (first line; trailing newline ignored).
    #[arg(long, env = "PLASMA_KEYSTORE_PASSWORD_FILE", value_name = "FILE")]
    keystore_password_file: Option<PathBuf>,

    /// Operator private key as hex. Only for devnets: on a real network use --keystore.
    #[arg(
        long,
        env = "PLASMA_PRIVATE_KEY",
        hide_env_values = true,
        value_name = "HEX",
        conflicts_with = "keystore"
    )]
    private_key: Option<String>,

    /// RocksDB directory (created if missing). [default: ./plasma-operator-db]
    #[arg(long, env = "PLASMA_DB", value_name = "DIR")]
    db: Option<PathBuf>,

    /// Address the HTTP API listens on. [default: 127.0.0.1:7434]
    #[arg(long, env = "PLASMA_LISTEN", value_name = "ADDR")]
    listen: Option<SocketAddr>,

    /// Time between blocks; a block is also made as soon as 65,536 transactions are pending.
    /// [default: 1s]
    #[arg(long, env = "PLASMA_BLOCK_INTERVAL", value_name = "DURATION")]
    block_interval: Option<Interval>,

    /// Least fee, in wei, a transaction must pay (ETH inputs minus ETH outputs). [default: 0]
    #[arg(long, env = "PLASMA_MIN_FEE", value_name = "WEI")]
    min_fee: Option<String>,

    /// Confirmations an L1 deposit or exit event needs before it is applied. [default: 12]
    #[arg(long, env = "PLASMA_L1_CONFIRMATIONS", value_name = "N")]
    l1_confirmations: Option<u64>,

    /// How often L1 is polled. [default: 2s]
    #[arg(long, env = "PLASMA_L1_POLL_INTERVAL", value_name = "DURATION")]
    l1_poll_interval: Option<Interval>,

    /// First L1 block to read events from on a fresh database: the root contract's deployment
    /// block. [default: 0]
    #[arg(long, env = "PLASMA_L1_START_BLOCK", value_name = "BLOCK")]
    l1_start_block: Option<u64>,

    /// Most L1 blocks one eth_getLogs request spans (lower it for providers with tight
    /// limits). [default: 2000]
    #[arg(long, env = "PLASMA_L1_MAX_LOG_RANGE", value_name = "BLOCKS")]
    l1_max_log_range: Option<u64>,

    /// A commit transaction unmined for this long is replaced with higher fees. [default: 2m]
    #[arg(long, env = "PLASMA_STUCK_AFTER", value_name = "DURATION")]
    stuck_after: Option<Interval>,

    /// Percentage by which a replacement raises the fees (at least 10). [default: 25]
    #[arg(long, env = "PLASMA_FEE_BUMP_PERCENT", value_name = "PERCENT")]
    fee_bump_percent: Option<u64>,

    /// Largest request body the API accepts, in bytes. [default: 4194304]
    #[arg(long, env = "PLASMA_MAX_BODY_BYTES", value_name = "BYTES")]
    max_body_bytes: Option<u64>,

    /// Most pending transactions; more are refused with `mempool_full`. [default: 262144]
    #[arg(long, env = "PLASMA_MAX_PENDING", value_name = "N")]
    max_pending: Option<usize>,

    /// Do not fsync each write: an acknowledged transaction then survives a crash of the
    /// process but not a power loss. [default: fsync]
    #[arg(long, env = "PLASMA_NO_FSYNC")]
    #[serde(default)]
    no_fsync: bool,
}

impl Settings {
    /// `self`, with unset fields taken from `file`.
    fn or(self, file: Settings) -> Settings {
        Settings {
            l1_rpc: self.l1_rpc.or(file.l1_rpc),
            root_chain: self.root_chain.or(file.root_chain),
            keystore: self.keystore.or(file.keystore),
            keystore_password_file: self.keystore_password_file.or(file.keystore_password_file),
            private_key: self.private_key.or(file.private_key),
            db: self.db.or(file.db),
            listen: self.listen.or(file.listen),
            block_interval: self.block_interval.or(file.block_interval),
            min_fee: self.min_fee.or(file.min_fee),
            l1_confirmations: self.l1_confirmations.or(file.l1_confirmations),
            l1_poll_interval: self.l1_poll_interval.or(file.l1_poll_interval),
            l1_start_block: self.l1_start_block.or(file.l1_start_block),
            l1_max_log_range: self.l1_max_log_range.or(file.l1_max_log_range),
            stuck_after: self.stuck_after.or(file.stuck_after),
            fee_bump_percent: self.fee_bump_percent.or(file.fee_bump_percent),
            max_body_bytes: self.max_body_bytes.or(file.max_body_bytes),
            max_pending: self.max_pending.or(file.max_pending),
            no_fsync: self.no_fsync || file.no_fsync,
        }
    }
}

fn signer(s: &Settings) -> eyre::Result<PrivateKeySigner> {
    if let Some(key) = &s.private_key {
        tracing::warn!(target: "operator", "using a raw private key: for devnets only, use --keystore on a real network");
        return key
            .trim()
            .parse::<PrivateKeySigner>()
            .map_err(|e| eyre!("--private-key is not a hex private key: {e}"));
    }
    let Some(path) = &s.keystore else {
        bail!("no operator key: give --keystore (or --private-key on a devnet)");
    };
    let password = match (
        &s.keystore_password_file,
        std::env::var("PLASMA_KEYSTORE_PASSWORD"),
    ) {
        (Some(file), _) => std::fs::read_to_string(file)
            .wrap_err_with(|| format!("reading the keystore password file {}", file.display()))?
            .lines()
            .next()
            .unwrap_or_default()
            .to_owned(),
        (None, Ok(password)) => password,
        (None, Err(_)) => bail!(
            "the keystore needs a password: set PLASMA_KEYSTORE_PASSWORD or --keystore-password-file"
        ),
    };
    PrivateKeySigner::decrypt_keystore(path, password)
        .wrap_err_with(|| format!("decrypting the keystore {}", path.display()))
}

fn load_file(path: &Path) -> eyre::Result<Settings> {
    let text = std::fs::read_to_string(path)
        .wrap_err_with(|| format!("reading the config file {}", path.display()))?;
    toml::from_str(&text).wrap_err_with(|| format!("parsing the config file {}", path.display()))
}

fn config(cli: Cli) -> eyre::Result<(Config, SocketAddr)> {
    let s = match &cli.config {
        Some(path) => cli.settings.or(load_file(path)?),
        None => cli.settings,
    };
    let l1_rpc = s
        .l1_rpc
        .clone()
        .ok_or_else(|| eyre!("--l1-rpc (PLASMA_L1_RPC) is required"))?;
    let root_chain = s
        .root_chain
        .ok_or_else(|| eyre!("--root-chain (PLASMA_ROOT_CHAIN) is required"))?;
    let signer = signer(&s)?;
    let db =
        s.db.clone()
            .unwrap_or_else(|| PathBuf::from("plasma-operator-db"));
    let mut config = Config::new(l1_rpc, root_chain, signer, db);
    if let Some(v) = s.block_interval {
        config.block_interval = v.0;
    }
    if let Some(v) = &s.min_fee {
        config.min_fee = U256::from_str_radix(v, 10)
            .map_err(|e| eyre!("--min-fee must be a decimal number of wei: {e}"))?;
    }
    if let Some(v) = s.l1_confirmations {
        config.l1_confirmations = v;
    }
    if let Some(v) = s.l1_poll_interval {
        config.l1_poll_interval = v.0;
    }
    if let Some(v) = s.l1_start_block {
        config.l1_start_block = v;
    }
    if let Some(v) = s.l1_max_log_range {
        config.l1_max_log_range = v.max(1);
    }
    if let Some(v) = s.stuck_after {
        config.stuck_after = v.0;
    }
    if let Some(v) = s.fee_bump_percent {
        config.fee_bump_percent = v.max(10);
    }
    if let Some(v) = s.max_body_bytes {
        config.max_body_bytes = v;
    }
    if let Some(v) = s.max_pending {
        config.max_pending = v;
    }
    config.sync_writes = !s.no_fsync;
    let listen = s
        .listen
        .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 7434)));
    Ok((config, listen))
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

fn main() -> eyre::Result<()> {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("PLASMA_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let (config, listen) = config(cli)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .wrap_err("starting the tokio runtime")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .wrap_err_with(|| format!("binding the API to {listen}"))?;
        tracing::info!(target: "operator::api", addr = %listener.local_addr()?, "listening");
        plasma_operator::run(config, listener, shutdown_signal())
            .await
            .wrap_err("operator failed")
    })
}
