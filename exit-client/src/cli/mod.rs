//! The `plasma` command line: one file per command under [`cmd`], each an `Args` struct and its
//! `run`; the settings every command resolves ([`settings`]), the output layer ([`output`])
//! and the watcher's HTML page ([`dashboard`]) beside them.

pub(crate) mod cmd;
pub(crate) mod dashboard;
pub(crate) mod output;
pub(crate) mod settings;

use alloy::primitives::{Address, U256};
use clap::{Parser, Subcommand};
use plasma_client::amount::{parse_eth, parse_token};

use settings::{Global, Session, Settings};

/// An address argument (`--token`, `--root-chain`): 0x and 40 hex digits, in one case or with a
/// valid EIP-55 checksum.
pub(crate) fn address_arg(text: &str) -> Result<Address, String> {
    plasma_client::address::parse_address(text).map_err(|e| e.to_string())
}

/// The plasma child chain, from the user's side: deposit, pay, verify, exit, challenge.
///
/// Every command that reads the chain verifies what the operator serves against the roots on
/// L1, and keeps the data each of your coins needs to exit, so you can exit even if the
/// operator disappears. Settings come from flags, PLASMA_* environment variables, or a TOML
/// file (`--config`, default `<data-dir>/config.toml`) with the keys operator, l1_rpc,
/// root_chain and from.
#[derive(Parser, Debug)]
#[command(name = "plasma", version, about, long_about)]
pub(crate) struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Manage keys: encrypted keystores compatible with geth and foundry.
    #[command(subcommand)]
    Wallet(cmd::wallet::WalletCommand),
    /// Deposit ETH (e.g. `0.5eth`, `250000gwei`) or tokens (`--token`) from L1 into the chain.
    Deposit(cmd::deposit::Args),
    /// Sync, then show the balance of each of your keys on the child chain.
    Balance(cmd::balance::Args),
    /// Sync, then list your coins with their state.
    Utxos(cmd::utxos::Args),
    /// Pay someone on the child chain (picks coins, returns change, pays the fee).
    Send(cmd::send::Args),
    /// Download and verify every new block against L1, and record your coins.
    Sync(cmd::sync::Args),
    /// Start standard exits on L1 of your coins (posts the contract's exit bond per coin).
    Exit(cmd::exit::Args),
    /// List exits of your coins and their state.
    Exits(cmd::exits::Args),
    /// Challenge an exit (id = the exiting output's position) with a spend of it this client saw.
    Challenge(cmd::challenge::Args),
    /// Pay out exits whose time has come (anyone may call this).
    ProcessExits(cmd::process_exits::Args),
    /// Consolidate a key's coins (4 into 1 per payment, repeated) down to a target count, so
    /// that a large payment fits one transaction and exiting costs fewer L1 exits.
    Merge(cmd::merge::Args),
    /// Your payments sent and received and your deposits, from the verified local data.
    History(cmd::history::Args),
    /// Pull a payout the root contract credited instead of paying (`plasma exits` lists them).
    Withdraw(cmd::withdraw::Args),
    /// Show settings, the operator's status and how far the local chain is verified.
    Status(cmd::status::Args),
    /// Watch the chain: verify every committed block, check every exit on L1, and print each
    /// event as a JSON line (invalid_block, block_withholding, invalid_exit, unchallenged_exit,
    /// operator_unreachable; see docs/WATCHER.md). Runs until Ctrl-C. Give the watcher its own
    /// --data-dir, or stop it before using other commands on the same folder.
    Watch(cmd::watch::Args),
}

impl Cli {
    /// Runs the command.
    pub(crate) async fn run(self) -> eyre::Result<()> {
        let settings = Settings::resolve(self.global)?;
        match self.command {
            Command::Wallet(command) => command.run(&settings),
            Command::Deposit(args) => args.run(&settings).await,
            Command::Balance(args) => args.run(&settings).await,
            Command::Utxos(args) => args.run(&settings).await,
            Command::Send(args) => args.run(&settings).await,
            Command::Sync(args) => args.run(&settings).await,
            Command::Exit(args) => args.run(&settings).await,
            Command::Exits(args) => args.run(&settings).await,
            Command::Challenge(args) => args.run(&settings).await,
            Command::ProcessExits(args) => args.run(&settings).await,
            Command::Withdraw(args) => args.run(&settings).await,
            Command::Merge(args) => args.run(&settings).await,
            Command::History(args) => args.run(&settings).await,
            Command::Status(args) => args.run(&settings).await,
            Command::Watch(args) => args.run(&settings).await,
        }
    }
}

/// A fee in ETH units (`0.0001eth`, `1000gwei`); zero is allowed (`0wei`, `0`).
pub(crate) fn parse_fee(text: &str) -> eyre::Result<U256> {
    match parse_eth(text) {
        Ok(fee) => Ok(fee),
        Err(plasma_client::amount::AmountError::Zero) => Ok(U256::ZERO),
        Err(e) => Err(eyre::eyre!("--fee: {e}")),
    }
}

/// An amount as typed: ETH is checked before anything connects; a token amount needs the
/// token's decimals from L1.
pub(crate) enum Amount {
    Eth(U256),
    Token(Address, String),
}

impl Amount {
    pub(crate) fn parse(token: Option<Address>, text: &str) -> eyre::Result<Self> {
        Ok(match token {
            None => Self::Eth(parse_eth(text)?),
            Some(token) => Self::Token(token, text.to_owned()),
        })
    }

    /// The amount in base units.
    pub(crate) async fn value(&self, session: &Session) -> eyre::Result<U256> {
        Ok(match self {
            Self::Eth(value) => *value,
            Self::Token(token, text) => {
                parse_token(text, session.l1.token_decimals(*token).await?)?
            }
        })
    }
}
