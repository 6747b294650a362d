//! `plasma`: the user's command line for the plasma child chain. Results go to stdout (as JSON
//! with `--json`), everything else to stderr.

#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "this binary is the output layer: results on stdout, progress and errors on stderr"
)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use alloy::network::EthereumWallet;
use alloy::primitives::{Address, U256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::signers::local::PrivateKeySigner;
use clap::{Args, Parser, Subcommand};
use eyre::{WrapErr, bail, eyre};
use plasma_client::amount::{format_units, parse_eth, parse_token};
use plasma_client::l1::L1;
use plasma_client::operator::OperatorClient;
use plasma_client::store::{ClientStore, Coin, CoinState};
use plasma_client::sync::{Progress, Syncer};
use plasma_client::wallet::Wallet;
use plasma_client::watch::{WatchConfig, Watcher};
use plasma_core::{Domain, ETH, Output, SignedTransaction, Transaction, UtxoPos};
use serde::Deserialize;
use serde_json::json;
use warp::Filter;

/// The plasma child chain, from the user's side: deposit, pay, verify, exit, challenge.
///
/// Every command that reads the chain verifies what the operator serves against the roots on
/// L1, and keeps the data each of your coins needs to exit, so you can exit even if the
/// operator disappears. Settings come from flags, PLASMA_* environment variables, or a TOML
/// file (`--config`, default `<data-dir>/config.toml`) with the keys operator, l1_rpc,
/// root_chain and from.
#[derive(Parser, Debug)]
#[command(name = "plasma", version, about, long_about)]
struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Debug)]
struct Global {
    /// Folder for keystores and the verified chain data [default: ~/.plasma].
    #[arg(long, env = "PLASMA_DATA_DIR", global = true)]
    data_dir: Option<PathBuf>,
    /// TOML settings file [default: <data-dir>/config.toml when it exists].
    #[arg(long, env = "PLASMA_CONFIG", global = true)]
    config: Option<PathBuf>,
    /// The operator's API [default: http://127.0.0.1:7434].
    #[arg(long, env = "PLASMA_OPERATOR", global = true)]
    operator: Option<String>,
    /// An Ethereum JSON-RPC endpoint of the L1 [default: http://127.0.0.1:8545].
    #[arg(long, env = "PLASMA_L1_RPC", global = true)]
    l1_rpc: Option<String>,
    /// The root contract's address on L1.
    #[arg(long, env = "PLASMA_ROOT_CHAIN", global = true)]
    root_chain: Option<Address>,
    /// Which key to use: a key name or address from `plasma wallet list` [default: the only key].
    #[arg(long, env = "PLASMA_FROM", global = true)]
    from: Option<String>,
    /// File holding the keystore password (else $PLASMA_PASSWORD is used).
    #[arg(long, env = "PLASMA_PASSWORD_FILE", global = true)]
    password_file: Option<PathBuf>,
    /// Print results as JSON.
    #[arg(long, global = true)]
    json: bool,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Manage keys: encrypted keystores compatible with geth and foundry.
    #[command(subcommand)]
    Wallet(WalletCommand),
    /// Deposit ETH (e.g. `0.5eth`, `250000gwei`) or tokens (`--token`) from L1 into the chain.
    Deposit {
        /// Amount: `0.5eth`, `250000gwei`, `1000wei`; with --token, in token units (`12.5`).
        amount: String,
        /// ERC20 token address (default: ETH).
        #[arg(long)]
        token: Option<Address>,
    },
    /// Sync, then show the balance of each of your keys on the child chain.
    Balance,
    /// Sync, then list your coins with their state.
    Utxos,
    /// Pay someone on the child chain (picks coins, returns change, pays the fee).
    Send {
        /// Recipient address (0x + 40 hex digits).
        to: String,
        /// Amount: `0.5eth` etc.; with --token, in token units.
        amount: String,
        /// ERC20 token address (default: ETH).
        #[arg(long)]
        token: Option<Address>,
        /// Fee paid to the operator, in ETH units [default: 0].
        #[arg(long, default_value = "0wei")]
        fee: String,
        /// Return once the operator has accepted the payment, without waiting until its block
        /// is committed on L1 and verified.
        #[arg(long)]
        no_wait: bool,
    },
    /// Download and verify every new block against L1, and record your coins.
    Sync,
    /// Start standard exits on L1 of your coins (posts the contract's exit bond per coin).
    Exit {
        /// The coin's position (`plasma utxos` lists them).
        utxo_pos: Option<UtxoPos>,
        /// Exit every unspent coin of the chosen key.
        #[arg(long, conflicts_with = "utxo_pos")]
        all: bool,
    },
    /// List exits of your coins and their state.
    Exits,
    /// Challenge an exit (id = the exiting output's position) with a spend of it this client saw.
    Challenge {
        /// The exit id.
        exit_id: UtxoPos,
    },
    /// Pay out exits whose time has come (anyone may call this).
    ProcessExits {
        /// Token queue to process (default: ETH).
        #[arg(long)]
        token: Option<Address>,
        /// Most exits to process in one transaction.
        #[arg(long, default_value_t = 20)]
        max: u64,
    },
    /// Show settings, the operator's status and how far the local chain is verified.
    Status,
    /// Watch the chain: verify every committed block, check every exit on L1, and print each
    /// event as a JSON line (invalid_block, block_withholding, invalid_exit, unchallenged_exit,
    /// operator_unreachable; see docs/WATCHER.md). Runs until Ctrl-C. Give the watcher its own
    /// --data-dir, or stop it before using other commands on the same folder.
    Watch(WatchArgs),
}

#[derive(Args, Debug)]
struct WatchArgs {
    /// Challenge invalid exits with the chosen key (it pays the gas and earns the bonds).
    #[arg(long)]
    challenge: bool,
    /// Start exits of all the chosen key's coins as soon as a block is invalid or withheld.
    #[arg(long)]
    exit_on_danger: bool,
    /// Time between rounds (500ms, 2s, 1m, …).
    #[arg(long, default_value = "1s", value_parser = duration)]
    interval: Duration,
    /// Raise block_withholding when a committed block's data is not served for this long.
    #[arg(long, default_value = "30s", value_parser = duration)]
    withhold_after: Duration,
    /// Raise unchallenged_exit when an invalid exit is this close to being processable.
    #[arg(long, default_value = "24h", value_parser = duration)]
    warn_before: Duration,
    /// Serve the watcher's state as JSON on `GET /status` at this address (e.g. 127.0.0.1:7435).
    #[arg(long, value_name = "ADDR")]
    status_addr: Option<SocketAddr>,
    /// Stop after this many rounds [default: run until Ctrl-C].
    #[arg(long)]
    rounds: Option<u64>,
}

fn duration(text: &str) -> Result<Duration, String> {
    plasma_core::duration::parse_duration(text).map_err(|e| e.to_string())
}

#[derive(Subcommand, Debug)]
enum WalletCommand {
    /// Create a new random key.
    New {
        /// Name of the key [default: "default"].
        #[arg(long, default_value = "default")]
        name: String,
    },
    /// Import a private key (from a file) or an existing keystore file.
    Import {
        /// Name of the key.
        #[arg(long, default_value = "default")]
        name: String,
        /// File holding a hex private key.
        #[arg(
            long,
            conflicts_with = "keystore",
            required_unless_present = "keystore"
        )]
        private_key_file: Option<PathBuf>,
        /// A keystore file (geth, foundry `cast wallet`, …) to copy in.
        #[arg(long)]
        keystore: Option<PathBuf>,
    },
    /// List keys and addresses.
    List,
}

/// Settings from the TOML file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    operator: Option<String>,
    l1_rpc: Option<String>,
    root_chain: Option<Address>,
    from: Option<String>,
}

/// The resolved settings.
struct Settings {
    data_dir: PathBuf,
    operator: String,
    l1_rpc: String,
    root_chain: Option<Address>,
    from: Option<String>,
    password_file: Option<PathBuf>,
    json: bool,
}

impl Settings {
    fn resolve(global: Global) -> eyre::Result<Self> {
        let data_dir = match global.data_dir {
            Some(dir) => dir,
            None => std::env::var_os("HOME")
                .map(|home| PathBuf::from(home).join(".plasma"))
                .ok_or_else(|| eyre!("no --data-dir and no $HOME"))?,
        };
        let file = match &global.config {
            Some(path) => Some(read_config(path)?),
            None => {
                let default = data_dir.join("config.toml");
                if default.exists() {
                    Some(read_config(&default)?)
                } else {
                    None
                }
            }
        }
        .unwrap_or_default();
        Ok(Self {
            operator: global
                .operator
                .or(file.operator)
                .unwrap_or_else(|| "http://127.0.0.1:7434".to_owned()),
            l1_rpc: global
                .l1_rpc
                .or(file.l1_rpc)
                .unwrap_or_else(|| "http://127.0.0.1:8545".to_owned()),
            root_chain: global.root_chain.or(file.root_chain),
            from: global.from.or(file.from),
            password_file: global.password_file,
            json: global.json,
            data_dir,
        })
    }

    fn wallet(&self) -> Wallet {
        Wallet::new(self.data_dir.join("keystores"))
    }

    fn root_chain(&self) -> eyre::Result<Address> {
        self.root_chain.ok_or_else(|| {
            eyre!("no root contract given: pass --root-chain 0x… or set PLASMA_ROOT_CHAIN (scripts/devnet prints it)")
        })
    }

    fn password(&self) -> eyre::Result<String> {
        if let Some(path) = &self.password_file {
            let text = std::fs::read_to_string(path)
                .wrap_err_with(|| format!("reading password file {}", path.display()))?;
            return Ok(text.trim_end_matches(['\r', '\n']).to_owned());
        }
        if let Ok(password) = std::env::var("PLASMA_PASSWORD") {
            return Ok(password);
        }
        bail!("no password: set PLASMA_PASSWORD or pass --password-file")
    }

    /// The key to act with: `--from`, or the only key in the wallet.
    fn key_name(&self) -> eyre::Result<String> {
        if let Some(from) = &self.from {
            return Ok(from.clone());
        }
        let keys = self.wallet().list()?;
        match keys.as_slice() {
            [only] => Ok(only.name.clone()),
            [] => bail!("the wallet is empty: create a key with `plasma wallet new`"),
            _ => bail!(
                "the wallet has several keys: choose one with --from (see `plasma wallet list`)"
            ),
        }
    }

    fn signer(&self) -> eyre::Result<PrivateKeySigner> {
        let name = self.key_name()?;
        Ok(self.wallet().unlock(&name, &self.password()?)?)
    }
}

fn read_config(path: &Path) -> eyre::Result<FileConfig> {
    let text = std::fs::read_to_string(path)
        .wrap_err_with(|| format!("reading config file {}", path.display()))?;
    toml::from_str(&text).wrap_err_with(|| format!("config file {}", path.display()))
}

/// A connection to L1 (signing with `signer` when given) and the local store of that chain.
struct Session {
    l1: L1,
    store: ClientStore,
    operator: OperatorClient,
    chain_id: u64,
}

async fn session(settings: &Settings, signer: Option<&PrivateKeySigner>) -> eyre::Result<Session> {
    let root_chain = settings.root_chain()?;
    let url: reqwest::Url = settings
        .l1_rpc
        .parse()
        .wrap_err_with(|| format!("--l1-rpc {} is not a URL", settings.l1_rpc))?;
    let provider: DynProvider = match signer {
        Some(signer) => ProviderBuilder::new()
            .wallet(EthereumWallet::new(signer.clone()))
            .connect_http(url)
            .erased(),
        None => ProviderBuilder::new().connect_http(url).erased(),
    };
    let l1 = L1::new(&settings.l1_rpc, provider, root_chain);
    let chain_id = l1.chain_id().await?;
    let folder = settings
        .data_dir
        .join(format!("chain-{chain_id}-{root_chain}"));
    std::fs::create_dir_all(&folder).wrap_err_with(|| format!("creating {}", folder.display()))?;
    let store = ClientStore::open(&folder.join("db"), chain_id, root_chain)?;
    Ok(Session {
        l1,
        store,
        operator: OperatorClient::new(&settings.operator),
        chain_id,
    })
}

impl Session {
    async fn sync(&self, settings: &Settings) -> eyre::Result<plasma_client::sync::SyncReport> {
        let owned = settings.wallet().addresses()?;
        let syncer = Syncer::new(&self.store, &self.l1, &self.operator, owned, self.chain_id);
        let quiet = settings.json;
        let report = syncer
            .sync(|p: Progress| {
                if !quiet && p.total >= 20 {
                    draw_progress(p);
                }
            })
            .await?;
        Ok(report)
    }

    fn domain(&self) -> Domain {
        Domain::new(self.chain_id, self.l1.address())
    }
}

fn draw_progress(p: Progress) {
    const WIDTH: u64 = 30;
    let filled = (p.done * WIDTH).checked_div(p.total).unwrap_or(WIDTH);
    eprint!(
        "\rsyncing [{}{}] {}/{} blocks",
        "#".repeat(filled as usize),
        " ".repeat((WIDTH - filled) as usize),
        p.done,
        p.total
    );
    if p.done == p.total {
        eprintln!();
    }
}

/// Prints a result: JSON with `--json`, else the human text.
fn emit(settings: &Settings, value: serde_json::Value, human: impl FnOnce() -> String) {
    if settings.json {
        println!("{value}");
    } else {
        println!("{}", human());
    }
}

/// A fee in ETH units; zero is allowed (`0wei`, `0`).
fn parse_fee(text: &str) -> eyre::Result<U256> {
    match parse_eth(text) {
        Ok(fee) => Ok(fee),
        Err(plasma_client::amount::AmountError::Zero) => Ok(U256::ZERO),
        Err(e) => Err(eyre!("--fee: {e}")),
    }
}

/// How a state is named in the JSON output (`unspent`, `started`, …), for the human output.
fn wire_name(value: impl serde::Serialize) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn token_name(token: Address) -> String {
    if token == ETH {
        "ETH".to_owned()
    } else {
        token.to_string()
    }
}

/// An ETH amount is checked before anything connects; a token amount needs the token's
/// decimals from L1.
enum Amount {
    Eth(U256),
    Token(Address, String),
}

impl Amount {
    fn parse(token: Option<Address>, text: &str) -> eyre::Result<Self> {
        Ok(match token {
            None => Self::Eth(parse_eth(text)?),
            Some(token) => Self::Token(token, text.to_owned()),
        })
    }

    async fn value(&self, session: &Session) -> eyre::Result<U256> {
        Ok(match self {
            Self::Eth(value) => *value,
            Self::Token(token, text) => {
                parse_token(text, session.l1.token_decimals(*token).await?)?
            }
        })
    }
}

fn coin_json(coin: &Coin) -> serde_json::Value {
    json!({
        "utxoPos": coin.utxo_pos,
        "owner": coin.output.owner,
        "token": coin.output.token,
        "amount": coin.output.amount.to_string(),
        "state": coin.state,
    })
}

async fn run(cli: Cli) -> eyre::Result<()> {
    let settings = Settings::resolve(cli.global)?;
    match cli.command {
        Command::Wallet(command) => wallet_command(&settings, command),
        Command::Deposit { amount, token } => {
            let parsed = Amount::parse(token, &amount)?;
            let signer = settings.signer()?;
            let session = session(&settings, Some(&signer)).await?;
            let value = parsed.value(&session).await?;
            let receipt = match token {
                None => session.l1.deposit_eth(signer.address(), value).await?,
                Some(token) => {
                    session
                        .l1
                        .deposit_token(signer.address(), token, value)
                        .await?
                }
            };
            emit(
                &settings,
                json!({"txHash": receipt.transaction_hash, "amount": value.to_string(), "token": token.unwrap_or(ETH)}),
                || {
                    format!(
                        "deposited {amount} from {} (L1 transaction {}); run `plasma sync` once the operator has seen it",
                        signer.address(),
                        receipt.transaction_hash
                    )
                },
            );
            Ok(())
        }
        Command::Sync => {
            let session = session(&settings, None).await?;
            let report = session.sync(&settings).await?;
            emit(&settings, serde_json::to_value(&report)?, || {
                format!(
                    "verified {} blocks ({} transactions) against L1; {} new coins; synced to block {}",
                    report.blocks, report.transactions, report.new_coins, report.synced_blknum
                )
            });
            Ok(())
        }
        Command::Balance => {
            let session = session(&settings, None).await?;
            session.sync(&settings).await?;
            let mut totals: BTreeMap<(Address, Address), U256> = BTreeMap::new();
            for coin in session.store.coins()? {
                if coin.state == CoinState::Unspent {
                    *totals
                        .entry((coin.output.owner, coin.output.token))
                        .or_default() += coin.output.amount;
                }
            }
            for address in settings.wallet().addresses()? {
                totals.entry((address, ETH)).or_default();
            }
            let rows: Vec<_> = totals
                .iter()
                .map(|((owner, token), amount)| json!({"owner": owner, "token": token, "amount": amount.to_string()}))
                .collect();
            emit(&settings, json!(rows), || {
                totals
                    .iter()
                    .map(|((owner, token), amount)| {
                        let shown = if *token == ETH {
                            format_units(*amount, 18)
                        } else {
                            amount.to_string()
                        };
                        format!("{owner}  {shown} {}", token_name(*token))
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            });
            Ok(())
        }
        Command::Utxos => {
            let session = session(&settings, None).await?;
            session.sync(&settings).await?;
            let coins = session.store.coins()?;
            emit(
                &settings,
                json!(coins.iter().map(coin_json).collect::<Vec<_>>()),
                || {
                    if coins.is_empty() {
                        return "no coins yet".to_owned();
                    }
                    coins
                        .iter()
                        .map(|c| {
                            format!(
                                "{:>20}  {}  {} {}  {}",
                                c.utxo_pos,
                                c.output.owner,
                                format_units(
                                    c.output.amount,
                                    if c.output.token == ETH { 18 } else { 0 }
                                ),
                                token_name(c.output.token),
                                wire_name(c.state)
                            )
                        })
                        .collect::<Vec<_>>()
                        .join("\n")
                },
            );
            Ok(())
        }
        Command::Send {
            to,
            amount,
            token,
            fee,
            no_wait,
        } => {
            let to: Address = to
                .parse()
                .map_err(|_| eyre!("'{to}' is not an address: use 0x followed by 40 hex digits"))?;
            let parsed = Amount::parse(token, &amount)?;
            let fee = parse_fee(&fee)?;
            let signer = settings.signer()?;
            let session = session(&settings, Some(&signer)).await?;
            session.sync(&settings).await?;
            let value = parsed.value(&session).await?;
            let tx = build_payment(
                &session.store.coins()?,
                signer.address(),
                to,
                token.unwrap_or(ETH),
                value,
                fee,
            )?;
            let signed = SignedTransaction::sign(tx, &session.domain(), &signer)?;
            let mut submitted = session.operator.submit(&signed).await?;
            if !no_wait {
                submitted = wait_verified(&session, &settings, submitted).await?;
            }
            emit(
                &settings,
                serde_json::to_value(&submitted)?,
                || match submitted.blknum {
                    Some(blknum) => format!(
                        "sent {amount} to {to}: transaction {} is in block {blknum}, committed on L1 and verified",
                        submitted.tx_hash
                    ),
                    None => format!(
                        "sent {amount} to {to}: transaction {} is {} (the operator stored it; `plasma utxos` shows it once its block is committed)",
                        submitted.tx_hash, submitted.status
                    ),
                },
            );
            Ok(())
        }
        Command::Exit { utxo_pos, all } => {
            let signer = settings.signer()?;
            let session = session(&settings, Some(&signer)).await?;
            // Sync if the operator answers; exit from the local store alone if it does not.
            if let Err(e) = session.sync(&settings).await {
                eprintln!("warning: sync failed ({e}); exiting from the data stored locally");
            }
            let coins: Vec<Coin> = session
                .store
                .coins()?
                .into_iter()
                .filter(|c| c.output.owner == signer.address() && c.state == CoinState::Unspent)
                .filter(|c| all || Some(c.utxo_pos) == utxo_pos)
                .collect();
            if coins.is_empty() {
                match utxo_pos {
                    Some(pos) => bail!(
                        "no unspent coin of {} at {pos}: see `plasma utxos`",
                        signer.address()
                    ),
                    None if all => bail!("{} has no unspent coins to exit", signer.address()),
                    None => bail!("give a utxo position or --all"),
                }
            }
            let (bond, _) = session.l1.exit_params().await?;
            let mut started = Vec::new();
            for coin in coins {
                let receipt = session.l1.start_exit(&coin, bond).await?;
                started.push(json!({"utxoPos": coin.utxo_pos, "txHash": receipt.transaction_hash}));
                if !settings.json {
                    eprintln!(
                        "exit of {} started (L1 transaction {})",
                        coin.utxo_pos, receipt.transaction_hash
                    );
                }
            }
            emit(&settings, json!(started), || {
                format!(
                    "{} exit(s) started; each posted a bond of {bond} wei",
                    started.len()
                )
            });
            Ok(())
        }
        Command::Exits => {
            let session = session(&settings, None).await?;
            if let Err(e) = session.sync(&settings).await {
                eprintln!("warning: sync failed ({e}); showing exits known locally");
            }
            let mine = settings.wallet().addresses()?;
            let exits: Vec<_> = session
                .store
                .exits()?
                .into_iter()
                .filter(|e| mine.contains(&e.owner))
                .collect();
            emit(&settings, serde_json::to_value(&exits)?, || {
                if exits.is_empty() {
                    return "no exits".to_owned();
                }
                exits
                    .iter()
                    .map(|e| {
                        format!(
                            "{:>20}  {} {}  exitable at {} (unix time)  {}",
                            e.utxo_pos,
                            format_units(e.amount, if e.token == ETH { 18 } else { 0 }),
                            token_name(e.token),
                            e.exitable_at,
                            wire_name(e.status)
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            });
            Ok(())
        }
        Command::Challenge { exit_id } => {
            let signer = settings.signer()?;
            let session = session(&settings, Some(&signer)).await?;
            session.sync(&settings).await?;
            let spend = session.store.spend_of(exit_id)?.ok_or_else(|| {
                eyre!("this client has seen no spend of {exit_id}: it cannot challenge that exit (sync first, or the exit may be valid)")
            })?;
            let receipt = session
                .l1
                .challenge(signer.address(), exit_id, &spend)
                .await?;
            emit(
                &settings,
                json!({"exitId": exit_id, "txHash": receipt.transaction_hash}),
                || {
                    format!(
                        "exit {exit_id} challenged with its spend in block {}; the bond goes to {}",
                        spend.blknum,
                        signer.address()
                    )
                },
            );
            Ok(())
        }
        Command::ProcessExits { token, max } => {
            let signer = settings.signer()?;
            let session = session(&settings, Some(&signer)).await?;
            let receipt = session
                .l1
                .process_exits(signer.address(), token.unwrap_or(ETH), max)
                .await?;
            let paid: Vec<String> = receipt
                .inner
                .logs()
                .iter()
                .filter_map(|log| {
                    log.log_decode::<plasma_contracts::RootChain::ExitFinalized>()
                        .ok()
                })
                .map(|event| event.inner.data.utxoPos.to_string())
                .collect();
            emit(
                &settings,
                json!({"txHash": receipt.transaction_hash, "gasUsed": receipt.gas_used, "paid": paid}),
                || {
                    if paid.is_empty() {
                        format!(
                            "no exit of {} was ready to pay (see `plasma exits` for when yours is); L1 transaction {}",
                            token_name(token.unwrap_or(ETH)),
                            receipt.transaction_hash
                        )
                    } else {
                        format!(
                            "paid {} exit(s) of {}: {} (L1 transaction {})",
                            paid.len(),
                            token_name(token.unwrap_or(ETH)),
                            paid.join(", "),
                            receipt.transaction_hash
                        )
                    }
                },
            );
            Ok(())
        }
        Command::Status => {
            let session = session(&settings, None).await?;
            let operator = session.operator.status().await.map_err(|e| e.to_string());
            let synced = session.store.synced_blknum()?;
            let value = json!({
                "operator": settings.operator,
                "l1Rpc": settings.l1_rpc,
                "rootChain": session.l1.address(),
                "chainId": session.chain_id,
                "syncedBlknum": synced,
                "operatorStatus": match &operator { Ok(v) => v.clone(), Err(e) => json!({"error": e}) },
            });
            emit(&settings, value, || {
                format!(
                    "operator {} ({})\nL1 {} chain {} root contract {}\nverified up to block {synced}",
                    settings.operator,
                    match &operator {
                        Ok(_) => "reachable".to_owned(),
                        Err(e) => e.clone(),
                    },
                    settings.l1_rpc,
                    session.chain_id,
                    session.l1.address()
                )
            });
            Ok(())
        }
        Command::Watch(args) => watch(&settings, args).await,
    }
}

/// Waits until `submitted` is in a block that is committed on L1 and verified by a sync.
async fn wait_verified(
    session: &Session,
    settings: &Settings,
    mut submitted: plasma_client::operator::Submitted,
) -> eyre::Result<plasma_client::operator::Submitted> {
    const PATIENCE: Duration = Duration::from_secs(120);
    let start = std::time::Instant::now();
    loop {
        if submitted.blknum.is_none() {
            submitted = session.operator.transaction(submitted.tx_hash).await?;
        }
        if let Some(blknum) = submitted.blknum {
            session.sync(settings).await?;
            if session.store.synced_blknum()? >= blknum {
                return Ok(submitted);
            }
        }
        if start.elapsed() > PATIENCE {
            bail!(
                "transaction {} was accepted but is not in a block committed on L1 after {}s ({}); it stays with the operator: check later with `plasma utxos`",
                submitted.tx_hash,
                PATIENCE.as_secs(),
                submitted
                    .blknum
                    .map_or("still pending".to_owned(), |b| format!(
                        "in block {b}, not yet committed"
                    ))
            );
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// `plasma watch`: rounds until Ctrl-C (or `--rounds`), events as JSON lines on stdout.
async fn watch(settings: &Settings, args: WatchArgs) -> eyre::Result<()> {
    let signer = if args.challenge || args.exit_on_danger {
        Some(settings.signer()?)
    } else {
        None
    };
    let session = session(settings, signer.as_ref()).await?;
    let config = WatchConfig {
        withhold_after: args.withhold_after,
        warn_before: args.warn_before.as_secs(),
        challenge_from: signer
            .as_ref()
            .filter(|_| args.challenge)
            .map(|s| s.address()),
        exit_on_danger: signer
            .as_ref()
            .filter(|_| args.exit_on_danger)
            .map(|s| s.address()),
    };
    let mut watcher = Watcher::new(
        &session.store,
        &session.l1,
        &session.operator,
        settings.wallet().addresses()?,
        session.chain_id,
        config,
    );
    let shared = Arc::new(Mutex::new(watcher.status(0)?));
    if let Some(addr) = args.status_addr {
        let state = shared.clone();
        let route = warp::path!("status").and(warp::get()).map(move || {
            let status = state.lock().map(|s| s.clone()).unwrap_or_default();
            warp::reply::json(&status)
        });
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .wrap_err_with(|| format!("--status-addr {addr}: cannot listen"))?;
        tracing::info!(target: "plasma::watch", %addr, "serving GET /status");
        tokio::spawn(warp::serve(route).incoming(listener).run());
    }
    tracing::info!(
        target: "plasma::watch",
        operator = %settings.operator,
        l1 = %settings.l1_rpc,
        root_chain = %session.l1.address(),
        "watching"
    );
    let mut rounds = 0u64;
    let mut ctrl_c = std::pin::pin!(tokio::signal::ctrl_c());
    loop {
        match watcher.round().await {
            Ok(events) => {
                for event in &events {
                    println!("{}", serde_json::to_string(event)?);
                    tracing::warn!(target: "plasma::watch", key = %event.key(), "{event:?}");
                }
            }
            Err(error) => tracing::warn!(target: "plasma::watch", %error, "round failed; retrying"),
        }
        let l1_block = session.l1.latest_block().await.unwrap_or_default();
        match watcher.status(l1_block) {
            Ok(status) => {
                if let Ok(mut shared) = shared.lock() {
                    *shared = status;
                }
            }
            Err(error) => {
                tracing::warn!(target: "plasma::watch", %error, "reading the state failed")
            }
        }
        rounds += 1;
        if args.rounds.is_some_and(|max| rounds >= max) {
            return Ok(());
        }
        tokio::select! {
            _ = tokio::time::sleep(args.interval) => {}
            _ = &mut ctrl_c => {
                tracing::info!(target: "plasma::watch", "stopped");
                return Ok(());
            }
        }
    }
}

fn wallet_command(settings: &Settings, command: WalletCommand) -> eyre::Result<()> {
    let wallet = settings.wallet();
    match command {
        WalletCommand::New { name } => {
            let key = wallet.create(&name, &settings.password()?)?;
            emit(settings, serde_json::to_value(&key)?, || {
                format!(
                    "created key '{}' with address {}",
                    key.name,
                    key.address.unwrap_or_default()
                )
            });
        }
        WalletCommand::Import {
            name,
            private_key_file,
            keystore,
        } => {
            let password = settings.password()?;
            let key = match (private_key_file, keystore) {
                (Some(file), _) => {
                    let text = std::fs::read_to_string(&file)
                        .wrap_err_with(|| format!("reading {}", file.display()))?;
                    wallet.import_private_key(&name, &text, &password)?
                }
                (None, Some(keystore)) => wallet.import_keystore(&name, &keystore, &password)?,
                (None, None) => bail!("give --private-key-file or --keystore"),
            };
            emit(settings, serde_json::to_value(&key)?, || {
                format!(
                    "imported key '{}' with address {}",
                    key.name,
                    key.address.unwrap_or_default()
                )
            });
        }
        WalletCommand::List => {
            let keys = wallet.list()?;
            emit(settings, serde_json::to_value(&keys)?, || {
                if keys.is_empty() {
                    return format!("no keys in {}", wallet.dir().display());
                }
                keys.iter()
                    .map(|k| {
                        format!(
                            "{}  {}",
                            k.name,
                            k.address
                                .map_or("(address not recorded)".to_owned(), |a| a.to_string())
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            });
        }
    }
    Ok(())
}

/// Picks coins of `owner` (largest first, at most 4) to pay `value` of `token` to `to` plus
/// `fee` in ETH, with change back to `owner`.
fn build_payment(
    coins: &[Coin],
    owner: Address,
    to: Address,
    token: Address,
    value: U256,
    fee: U256,
) -> eyre::Result<Transaction> {
    let mut need: BTreeMap<Address, U256> = BTreeMap::new();
    *need.entry(token).or_default() += value;
    if !fee.is_zero() {
        *need.entry(ETH).or_default() += fee;
    }
    let mut inputs = Vec::new();
    let mut have: BTreeMap<Address, U256> = BTreeMap::new();
    for (&token, &wanted) in &need {
        let mut candidates: Vec<&Coin> = coins
            .iter()
            .filter(|c| {
                c.output.owner == owner && c.output.token == token && c.state == CoinState::Unspent
            })
            .collect();
        candidates.sort_by_key(|c| std::cmp::Reverse(c.output.amount));
        let mut sum = U256::ZERO;
        for coin in candidates {
            if sum >= wanted {
                break;
            }
            sum += coin.output.amount;
            inputs.push(coin.utxo_pos);
        }
        if sum < wanted {
            bail!(
                "insufficient funds: {} has {sum} of {} but needs {wanted}",
                owner,
                token_name(token)
            );
        }
        have.insert(token, sum);
    }
    if inputs.len() > plasma_core::MAX_INPUTS {
        bail!(
            "this payment needs {} coins but a transaction spends at most 4: send a smaller amount first to merge coins",
            inputs.len()
        );
    }
    let mut outputs = vec![Output::new(to, token, value)];
    for (&token, &sum) in &have {
        let change = sum - need[&token];
        if !change.is_zero() {
            outputs.push(Output::new(owner, token, change));
        }
    }
    Ok(Transaction::payment(inputs, outputs))
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("PLASMA_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,plasma=info")),
        )
        .init();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
