//! `plasma wallet new | import | list`: the keys, as encrypted keystores compatible with geth
//! and foundry.

use std::path::PathBuf;

use clap::Subcommand;
use eyre::{WrapErr, bail};

use crate::cli::output::emit;
use crate::cli::settings::Settings;

#[derive(Subcommand, Debug)]
pub(crate) enum WalletCommand {
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

impl WalletCommand {
    pub(crate) fn run(self, settings: &Settings) -> eyre::Result<()> {
        let wallet = settings.wallet();
        let (verb, key) = match self {
            Self::New { name } => ("created", wallet.create(&name, &settings.password()?)?),
            Self::Import {
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
                    (None, Some(keystore)) => {
                        wallet.import_keystore(&name, &keystore, &password)?
                    }
                    (None, None) => bail!("give --private-key-file or --keystore"),
                };
                ("imported", key)
            }
            Self::List => {
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
                return Ok(());
            }
        };
        emit(settings, serde_json::to_value(&key)?, || {
            format!(
                "{verb} key '{}' with address {}",
                key.name,
                key.address.unwrap_or_default()
            )
        });
        Ok(())
    }
}
