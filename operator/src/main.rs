//! `plasma-operator`: the operator daemon. Settings come from flags, `PLASMA_*` environment
//! variables and an optional TOML file (in that order of precedence); see `--help` and
//! `docs/OPERATOR.md`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use alloy::primitives::{Address, U256};
use alloy::signers::local::PrivateKeySigner;
use clap::{Args, CommandFactory, FromArgMatches, Parser};
use eyre::{WrapErr, bail, eyre};
use plasma_operator::Config;
use serde::{Deserialize, Serialize};

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

/// A positive duration such as `500ms`, `2s`, `5m` or `1h` (humantime's units).
#[derive(Debug, Clone, Copy)]
struct Interval(Duration);

impl FromStr for Interval {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match humantime::parse_duration(s.trim()) {
            Ok(d) if d.is_zero() => Err(format!("`{s}`: a duration must be positive")),
            Ok(d) => Ok(Self(d)),
            Err(e) => Err(format!(
                "`{s}` is not a duration like 500ms, 2s, 5m or 1h: {e}"
            )),
        }
    }
}

impl<'de> Deserialize<'de> for Interval {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl Serialize for Interval {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&humantime::format_duration(self.0))
    }
}

/// Every setting, once: its flag, environment variable, TOML key (the flag's name) and default.
/// A flag or variable given beats the file; the file beats the default.
#[derive(Debug, Args, Deserialize, Serialize)]
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

    /// RocksDB directory (created if missing).
    #[arg(
        long,
        env = "PLASMA_DB",
        value_name = "DIR",
        default_value = "plasma-operator-db"
    )]
    db: PathBuf,

    /// Address the HTTP API listens on.
    #[arg(
        long,
        env = "PLASMA_LISTEN",
        value_name = "ADDR",
        default_value = "127.0.0.1:7434"
    )]
    listen: SocketAddr,

    /// Time between blocks; a block is also made as soon as 65,536 transactions are pending.
    #[arg(
        long,
        env = "PLASMA_BLOCK_INTERVAL",
        value_name = "DURATION",
        default_value = "1s"
    )]
    block_interval: Interval,

    /// Least fee, in wei, a transaction must pay (ETH inputs minus ETH outputs).
    #[arg(long, env = "PLASMA_MIN_FEE", value_name = "WEI", default_value = "0")]
    min_fee: String,

    /// Who each block's fee claim pays: the fees of a block's payments become one output of
    /// this address at the end of the block [default: the operator key's address].
    #[arg(long, env = "PLASMA_FEE_ADDRESS", value_name = "ADDRESS")]
    fee_address: Option<Address>,

    /// Confirmations an L1 deposit or exit event needs before it is applied.
    #[arg(
        long,
        env = "PLASMA_L1_CONFIRMATIONS",
        value_name = "N",
        default_value_t = 12
    )]
    l1_confirmations: u64,

    /// How often L1 is polled.
    #[arg(
        long,
        env = "PLASMA_L1_POLL_INTERVAL",
        value_name = "DURATION",
        default_value = "2s"
    )]
    l1_poll_interval: Interval,

    /// First L1 block to read events from on a fresh database: the root contract's deployment
    /// block.
    #[arg(
        long,
        env = "PLASMA_L1_START_BLOCK",
        value_name = "BLOCK",
        default_value_t = 0
    )]
    l1_start_block: u64,

    /// Most L1 blocks one eth_getLogs request spans (lower it for providers with tight
    /// limits).
    #[arg(
        long,
        env = "PLASMA_L1_MAX_LOG_RANGE",
        value_name = "BLOCKS",
        default_value_t = 2000
    )]
    l1_max_log_range: u64,

    /// A commit transaction unmined for this long is replaced with higher fees.
    #[arg(
        long,
        env = "PLASMA_STUCK_AFTER",
        value_name = "DURATION",
        default_value = "2m"
    )]
    stuck_after: Interval,

    /// Percentage by which a replacement raises the fees (at least 10).
    #[arg(
        long,
        env = "PLASMA_FEE_BUMP_PERCENT",
        value_name = "PERCENT",
        default_value_t = 25
    )]
    fee_bump_percent: u64,

    /// Largest request body the API accepts, in bytes.
    #[arg(long, env = "PLASMA_MAX_BODY_BYTES", value_name = "BYTES", default_value_t = 4 * 1024 * 1024)]
    max_body_bytes: u64,

    /// Longest a client may take to send a request's headers, or to start its next request on
    /// a kept-alive connection; then the connection is closed.
    #[arg(
        long,
        env = "PLASMA_HTTP_HEADER_TIMEOUT",
        value_name = "DURATION",
        default_value = "10s"
    )]
    http_header_timeout: Interval,

    /// Longest sending a request's body and answering it may take; then the answer is
    /// `408 request_timeout`.
    #[arg(
        long,
        env = "PLASMA_HTTP_REQUEST_TIMEOUT",
        value_name = "DURATION",
        default_value = "30s"
    )]
    http_request_timeout: Interval,

    /// Most API connections open at once; beyond it new ones are closed at once. Lowered to
    /// what the open-file limit leaves room for (the limit is raised to its maximum at start).
    #[arg(
        long,
        env = "PLASMA_MAX_CONNECTIONS",
        value_name = "N",
        default_value_t = 10_000
    )]
    max_connections: usize,

    /// Most pending transactions; more are refused with `mempool_full`.
    #[arg(long, env = "PLASMA_MAX_PENDING", value_name = "N", default_value_t = 4 * 65_536)]
    max_pending: usize,

    /// Do not fsync each write: an acknowledged transaction then survives a crash of the
    /// process but not a power loss. [default: fsync]
    #[arg(long, env = "PLASMA_NO_FSYNC")]
    #[serde(default)]
    no_fsync: bool,
}

/// The settings of the command line over those of `file`: a setting given as a flag or an
/// environment variable (anything but clap's default) wins; else the file's; else the default.
fn merge(
    matches: &clap::ArgMatches,
    cli: &Settings,
    file: serde_json::Value,
) -> eyre::Result<Settings> {
    let mut merged = serde_json::to_value(cli).wrap_err("settings")?;
    let (Some(merged_map), serde_json::Value::Object(file)) = (merged.as_object_mut(), file) else {
        bail!("the config file must be a table of settings");
    };
    for (key, value) in file {
        let id = key.replace('-', "_");
        let given = matches
            .value_source(&id)
            .is_some_and(|source| source != clap::parser::ValueSource::DefaultValue);
        if !given {
            merged_map.insert(key, value);
        }
    }
    serde_json::from_value(merged).wrap_err("settings")
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

/// The config file's settings, checked (unknown keys and bad values are errors naming the file),
/// as a table to merge.
fn load_file(path: &Path) -> eyre::Result<serde_json::Value> {
    let text = std::fs::read_to_string(path)
        .wrap_err_with(|| format!("reading the config file {}", path.display()))?;
    let table: serde_json::Value = toml::from_str(&text)
        .wrap_err_with(|| format!("parsing the config file {}", path.display()))?;
    // Every key must be a setting with a valid value; defaults fill the rest for the check.
    let mut probe = serde_json::to_value(Cli::try_parse_from(["plasma-operator"])?.settings)?;
    if let (Some(probe), Some(file)) = (probe.as_object_mut(), table.as_object()) {
        probe.extend(file.clone());
    }
    serde_json::from_value::<Settings>(probe)
        .wrap_err_with(|| format!("the config file {}", path.display()))?;
    Ok(table)
}

fn config(matches: &clap::ArgMatches, cli: Cli) -> eyre::Result<(Config, SocketAddr)> {
    let s = match &cli.config {
        Some(path) => merge(matches, &cli.settings, load_file(path)?)?,
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
    let config = Config {
        block_interval: s.block_interval.0,
        min_fee: U256::from_str_radix(&s.min_fee, 10)
            .map_err(|e| eyre!("--min-fee must be a decimal number of wei: {e}"))?,
        fee_address: s.fee_address,
        l1_confirmations: s.l1_confirmations,
        l1_poll_interval: s.l1_poll_interval.0,
        l1_start_block: s.l1_start_block,
        l1_max_log_range: s.l1_max_log_range.max(1),
        stuck_after: s.stuck_after.0,
        fee_bump_percent: s.fee_bump_percent.max(10),
        max_body_bytes: s.max_body_bytes,
        max_pending: s.max_pending,
        http: plasma_operator::server::HttpLimits {
            header_timeout: s.http_header_timeout.0,
            request_timeout: s.http_request_timeout.0,
            max_connections: connection_cap(s.max_connections),
        },
        sync_writes: !s.no_fsync,
        ..Config::new(l1_rpc, root_chain, signer, s.db.clone())
    };
    Ok((config, s.listen))
}

/// File descriptors kept for the store (RocksDB's files), L1 connections and logs, out of the
/// open-file limit, when capping the API's connections.
const RESERVED_FILES: u64 = 1024;

/// Raises the open-file limit to its maximum and returns `wanted` connections, lowered to what
/// the limit leaves room for; both said in the log.
fn connection_cap(wanted: usize) -> usize {
    let limit = match rlimit::getrlimit(rlimit::Resource::NOFILE) {
        Ok((soft, hard)) => match rlimit::increase_nofile_limit(hard) {
            Ok(raised) => {
                if raised > soft {
                    tracing::info!(target: "operator", from = soft, to = raised, "raised the open-file limit");
                }
                raised
            }
            Err(e) => {
                tracing::warn!(target: "operator", error = %e, limit = soft, "could not raise the open-file limit");
                soft
            }
        },
        Err(e) => {
            tracing::warn!(target: "operator", error = %e, "could not read the open-file limit; not capping connections by it");
            return wanted;
        }
    };
    let room = usize::try_from(limit.saturating_sub(RESERVED_FILES).max(64)).unwrap_or(usize::MAX);
    let cap = wanted.min(room);
    if cap < wanted {
        tracing::warn!(target: "operator", open_file_limit = limit, max_connections = cap, asked = wanted, "the open-file limit leaves room for fewer API connections than asked");
    } else {
        tracing::info!(target: "operator", open_file_limit = limit, max_connections = cap, "API connection cap");
    }
    cap
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
    let matches = Cli::command().get_matches();
    let cli = Cli::from_arg_matches(&matches)?;
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        // Colour codes only on a terminal: a log file gets plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("PLASMA_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let (config, listen) = config(&matches, cli)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(args: &[&str], file: &str) -> Settings {
        let matches = Cli::command().try_get_matches_from(args).unwrap();
        let cli = Cli::from_arg_matches(&matches).unwrap();
        merge(&matches, &cli.settings, toml::from_str(file).unwrap()).unwrap()
    }

    #[test]
    fn a_flag_beats_the_file_and_the_file_beats_the_default() {
        let s = settings(
            &["plasma-operator", "--block-interval", "3s", "--no-fsync"],
            "block-interval = \"5s\"\nl1-confirmations = 4\nl1-rpc = \"http://node:8545\"\n",
        );
        assert_eq!(s.block_interval.0, Duration::from_secs(3));
        assert_eq!(s.l1_confirmations, 4);
        assert_eq!(s.l1_rpc.as_deref(), Some("http://node:8545"));
        assert!(s.no_fsync);
        // Untouched: the defaults.
        assert_eq!(s.l1_poll_interval.0, Duration::from_secs(2));
        assert_eq!(s.listen, SocketAddr::from(([127, 0, 0, 1], 7434)));
        assert_eq!(s.max_pending, 4 * plasma_merkle::MAX_LEAVES);
    }

    #[test]
    fn durations_are_positive_and_have_units() {
        assert_eq!(
            "500ms".parse::<Interval>().unwrap().0,
            Duration::from_millis(500)
        );
        assert_eq!(
            "5m".parse::<Interval>().unwrap().0,
            Duration::from_secs(300)
        );
        assert!("0s".parse::<Interval>().is_err());
        assert!("2 days later".parse::<Interval>().is_err());
    }

    #[test]
    fn the_file_is_checked_key_by_key() {
        let dir = tempfile::tempdir().unwrap();
        let file = |text: &str| {
            let path = dir.path().join("operator.toml");
            std::fs::write(&path, text).unwrap();
            load_file(&path).map_err(|e| format!("{e:#}"))
        };
        assert!(file("block-interval = \"5s\"\n").is_ok());
        let bad = file("block-interval = \"soon\"\n").unwrap_err();
        assert!(
            bad.contains("operator.toml") && bad.contains("soon"),
            "{bad}"
        );
        let unknown = file("block-intervall = \"5s\"\n").unwrap_err();
        assert!(unknown.contains("block-intervall"), "{unknown}");
    }
}
