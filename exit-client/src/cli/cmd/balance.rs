//! `plasma balance`: each key's balance per token, from the verified chain.

use std::collections::BTreeMap;

use alloy::primitives::{Address, U256};
use plasma_client::store::CoinState;
use plasma_client::tokens::Tokens;
use plasma_core::ETH;
use serde_json::json;

use crate::cli::output::emit;
use crate::cli::settings::Settings;

#[derive(clap::Args, Debug)]
pub(crate) struct Args {}

impl Args {
    pub(crate) async fn run(self, settings: &Settings) -> eyre::Result<()> {
        let session = settings.session(None).await?;
        session.sync_or_local().await?;
        let mut totals: BTreeMap<(Address, Address), U256> = BTreeMap::new();
        for coin in session.store.coins()? {
            if coin.state == CoinState::Unspent {
                *totals
                    .entry((coin.output.owner, coin.output.token))
                    .or_default() += coin.output.amount;
            }
        }
        for address in &session.owned {
            totals.entry((*address, ETH)).or_default();
        }
        let mut tokens = Tokens::default();
        tokens
            .load(&session.l1, totals.keys().map(|(_, token)| *token))
            .await;
        let rows: Vec<_> = totals
            .iter()
            .map(|((owner, token), amount)| json!({"owner": owner, "token": token, "amount": amount.to_string()}))
            .collect();
        emit(settings, json!(rows), || {
            totals
                .iter()
                .map(|((owner, token), amount)| {
                    format!("{owner}  {}", tokens.known(*token).format(*amount))
                })
                .collect::<Vec<_>>()
                .join("\n")
        });
        Ok(())
    }
}
