//! `plasma utxos`: the wallet's coins with their state, from the verified chain.

use plasma_client::store::Coin;
use plasma_client::tokens::Tokens;
use serde_json::json;

use crate::cli::output::{emit, wire_name};
use crate::cli::settings::Settings;

#[derive(clap::Args, Debug)]
pub(crate) struct Args {}

fn coin_json(coin: &Coin) -> serde_json::Value {
    json!({
        "utxoPos": coin.utxo_pos,
        "owner": coin.output.owner,
        "token": coin.output.token,
        "amount": coin.output.amount.to_string(),
        "state": coin.state,
    })
}

impl Args {
    pub(crate) async fn run(self, settings: &Settings) -> eyre::Result<()> {
        let session = settings.session(None).await?;
        session.sync_or_local().await?;
        let coins = session.store.coins()?;
        let mut tokens = Tokens::default();
        tokens
            .load(&session.l1, coins.iter().map(|c| c.output.token))
            .await;
        emit(
            settings,
            json!(coins.iter().map(coin_json).collect::<Vec<_>>()),
            || {
                if coins.is_empty() {
                    return "no coins yet".to_owned();
                }
                coins
                    .iter()
                    .map(|c| {
                        format!(
                            "{:>20}  {}  {}  {}",
                            c.utxo_pos,
                            c.output.owner,
                            tokens.known(c.output.token).format(c.output.amount),
                            wire_name(c.state)
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            },
        );
        Ok(())
    }
}
