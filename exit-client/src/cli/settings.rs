//! Settings (flags, `PLASMA_*` variables, the TOML file, defaults — in that order) and the
//! session every chain command opens: L1, the operator, and the local store of that chain.

use std::path::{Path, PathBuf};

use alloy::network::EthereumWallet;
use alloy::primitives::Address;
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::signers::local::PrivateKeySigner;
use clap::Args;
use eyre::{WrapErr, bail, eyre};
use plasma_client::l1::L1;
use plasma_client::operator::OperatorClient;
use plasma_client::store::ClientStore;
use plasma_client::sync::{Progress, SyncError, SyncReport, Syncer};
use plasma_client::wallet::Wallet;
use plasma_core::Domain;
use serde::Deserialize;

use super::output;

/// The operator's API when nothing else is set.
const DEFAULT_OPERATOR: &str = "http://127.0.0.1:7434";
/// The L1 endpoint when nothing else is set.
const DEFAULT_L1_RPC: &str = "http://127.0.0.1:8545";

/// The flags every command takes.
#[derive(Args, Debug)]
pub(crate) struct Global {
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
    #[arg(long, env = "PLASMA_ROOT_CHAIN", global = true, value_parser = crate::cli::address_arg)]
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

/// Settings from the TOML file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    operator: Option<String>,
    l1_rpc: Option<String>,
    /// Read with the same checks as `--root-chain` (EIP-55 when mixed case).
    root_chain: Option<String>,
    from: Option<String>,
}

/// The resolved settings.
pub(crate) struct Settings {
    pub(crate) data_dir: PathBuf,
    pub(crate) operator: String,
    pub(crate) l1_rpc: String,
    root_chain: Option<Address>,
    from: Option<String>,
    password_file: Option<PathBuf>,
    pub(crate) json: bool,
}

fn read_config(path: &Path) -> eyre::Result<FileConfig> {
    let text = std::fs::read_to_string(path)
        .wrap_err_with(|| format!("reading config file {}", path.display()))?;
    toml::from_str(&text).wrap_err_with(|| format!("config file {}", path.display()))
}

impl Settings {
    pub(crate) fn resolve(global: Global) -> eyre::Result<Self> {
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
        let file_root_chain = file
            .root_chain
            .as_deref()
            .map(plasma_client::address::parse_address)
            .transpose()
            .wrap_err("root_chain in the config file")?;
        Ok(Self {
            operator: global
                .operator
                .or(file.operator)
                .unwrap_or_else(|| DEFAULT_OPERATOR.to_owned()),
            l1_rpc: global
                .l1_rpc
                .or(file.l1_rpc)
                .unwrap_or_else(|| DEFAULT_L1_RPC.to_owned()),
            root_chain: global.root_chain.or(file_root_chain),
            from: global.from.or(file.from),
            password_file: global.password_file,
            json: global.json,
            data_dir,
        })
    }

    pub(crate) fn wallet(&self) -> Wallet {
        Wallet::new(self.data_dir.join("keystores"))
    }

    fn root_chain(&self) -> eyre::Result<Address> {
        self.root_chain.ok_or_else(|| {
            eyre!("no root contract given: pass --root-chain 0x… or set PLASMA_ROOT_CHAIN (scripts/devnet prints it)")
        })
    }

    pub(crate) fn password(&self) -> eyre::Result<String> {
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

    /// The address of the key to act with, read without its password.
    pub(crate) fn key_address(&self) -> eyre::Result<Address> {
        let name = self.key_name()?;
        let info = self.wallet().find(&name)?;
        info.address.ok_or_else(|| {
            eyre!("the keystore of key '{}' records no address; any command that unlocks it (e.g. `plasma balance`) works, or import it again", info.name)
        })
    }

    pub(crate) fn signer(&self) -> eyre::Result<PrivateKeySigner> {
        let name = self.key_name()?;
        Ok(self.wallet().unlock(&name, &self.password()?)?)
    }

    /// Connects to L1 (signing with `signer` when given) and opens the local store of that
    /// chain.
    pub(crate) async fn session(&self, signer: Option<&PrivateKeySigner>) -> eyre::Result<Session> {
        let root_chain = self.root_chain()?;
        let url: reqwest::Url = self
            .l1_rpc
            .parse()
            .wrap_err_with(|| format!("--l1-rpc {} is not a URL", self.l1_rpc))?;
        let provider: DynProvider = match signer {
            Some(signer) => ProviderBuilder::new()
                .wallet(EthereumWallet::new(signer.clone()))
                .connect_http(url)
                .erased(),
            None => ProviderBuilder::new().connect_http(url).erased(),
        };
        let l1 = L1::new(&self.l1_rpc, provider, root_chain);
        let chain_id = l1.chain_id().await?;
        // Before any folder is made for it: an address without the contract is a mistake.
        l1.check_contract(chain_id).await?;
        let folder = self.data_dir.join(format!("chain-{chain_id}-{root_chain}"));
        std::fs::create_dir_all(&folder)
            .wrap_err_with(|| format!("creating {}", folder.display()))?;
        let store = ClientStore::open(&folder.join("db"), chain_id, root_chain)?;
        Ok(Session {
            l1,
            store,
            operator: OperatorClient::new(&self.operator),
            chain_id,
            owned: self.wallet().addresses()?,
            quiet: self.json,
        })
    }
}

/// A connection to L1 and the operator, and the local store of that chain.
pub(crate) struct Session {
    pub(crate) l1: L1,
    pub(crate) store: ClientStore,
    pub(crate) operator: OperatorClient,
    pub(crate) chain_id: u64,
    /// The wallet's addresses: the coins the sync records.
    pub(crate) owned: Vec<Address>,
    quiet: bool,
}

impl Session {
    /// A syncer over this session's store, for the wallet's coins.
    pub(crate) fn syncer(&self) -> Syncer<'_> {
        Syncer::new(
            &self.store,
            &self.l1,
            &self.operator,
            self.owned.iter().copied(),
            self.chain_id,
        )
    }

    /// Syncs and verifies every new block, with a progress bar on long syncs.
    pub(crate) async fn sync(&self) -> Result<SyncReport, SyncError> {
        let quiet = self.quiet;
        let mut shown = output::SyncProgress::new();
        self.syncer()
            .sync(|p: Progress| {
                // Short syncs say nothing: the command's own answer follows at once.
                if !quiet && p.total >= 20 {
                    shown.report(p);
                }
            })
            .await
    }

    /// Syncs, but answers from the verified local data when the operator cannot be reached
    /// (with a warning saying so): what is verified stays true without the operator.
    pub(crate) async fn sync_or_local(&self) -> eyre::Result<()> {
        match self.sync().await {
            Ok(_) => Ok(()),
            Err(SyncError::Operator(e)) => {
                output::warn(&format!(
                    "{e}\nshowing the data verified locally, up to block {}",
                    self.store.synced_blknum()?
                ));
                Ok(())
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The signing domain of this chain.
    pub(crate) fn domain(&self) -> Domain {
        Domain::new(self.chain_id, self.l1.address())
    }
}
