//! `plasma exit`: start standard exits on L1 of the chosen key's coins, from the exit data kept
//! locally (the operator is not needed).

use eyre::bail;
use plasma_client::store::{Coin, CoinState};
use plasma_core::UtxoPos;
use serde_json::json;

use crate::cli::output::{emit, note, warn};
use crate::cli::settings::Settings;

#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// The coin's position (`plasma utxos` lists them).
    utxo_pos: Option<UtxoPos>,
    /// Exit every unspent coin of the chosen key.
    #[arg(long, conflicts_with = "utxo_pos")]
    all: bool,
}

impl Args {
    pub(crate) async fn run(self, settings: &Settings) -> eyre::Result<()> {
        let signer = settings.signer()?;
        let session = settings.session(Some(&signer)).await?;
        // Sync if the operator answers; exit from the local store alone if it does not.
        if let Err(e) = session.sync().await {
            warn(&format!(
                "sync failed ({e}); exiting from the data stored locally"
            ));
        }
        let coins: Vec<Coin> = session
            .store
            .coins()?
            .into_iter()
            .filter(|c| c.output.owner == signer.address() && c.state == CoinState::Unspent)
            .filter(|c| self.all || Some(c.utxo_pos) == self.utxo_pos)
            .collect();
        if coins.is_empty() {
            match self.utxo_pos {
                Some(pos) => bail!(
                    "no unspent coin of {} at {pos}: see `plasma utxos`",
                    signer.address()
                ),
                None if self.all => bail!("{} has no unspent coins to exit", signer.address()),
                None => bail!("give a utxo position or --all"),
            }
        }
        let (bond, _) = session.l1.exit_params().await?;
        let mut started = Vec::new();
        for coin in coins {
            let receipt = session.l1.start_exit(&coin, bond).await?;
            started.push(json!({"utxoPos": coin.utxo_pos, "txHash": receipt.transaction_hash}));
            if !settings.json {
                note(&format!(
                    "exit of {} started (L1 transaction {})",
                    coin.utxo_pos, receipt.transaction_hash
                ));
            }
        }
        emit(settings, json!(started), || {
            format!(
                "{} exit(s) started; each posted a bond of {bond} wei",
                started.len()
            )
        });
        Ok(())
    }
}
