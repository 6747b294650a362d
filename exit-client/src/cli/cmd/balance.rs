//! `plasma balance`: each key's balance per token, from the verified chain.

use std::collections::BTreeMap;

use alloy::primitives::{Address, U256};
use plasma_client::store::CoinState;
use plasma_client::tokens::Tokens;
use plasma_core::ETH;
use serde_json::json;

use crate::cli::output::emit;
use crate::cli::settings::Settings;

/// More coins than this of one token get a note: one payment cannot spend them all, and
/// exiting them takes as many L1 transactions and bonds.
const MANY_COINS: usize = plasma_core::MAX_INPUTS;

#[derive(clap::Args, Debug)]
pub(crate) struct Args {}

impl Args {
    pub(crate) async fn run(self, settings: &Settings) -> eyre::Result<()> {
        let session = settings.session(None).await?;
        session.sync_or_local().await?;
        let mut totals: BTreeMap<(Address, Address), U256> = BTreeMap::new();
        let mut counts: BTreeMap<(Address, Address), usize> = BTreeMap::new();
        for coin in session.store.coins()? {
            if coin.state == CoinState::Unspent {
                let key = (coin.output.owner, coin.output.token);
                *totals.entry(key).or_default() += coin.output.amount;
                *counts.entry(key).or_default() += 1;
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
            .map(|(key @ (owner, token), amount)| {
                let coins = counts.get(key).copied().unwrap_or(0);
                json!({"owner": owner, "token": token, "amount": amount.to_string(), "coins": coins})
            })
            .collect();
        emit(settings, json!(rows), || {
            totals
                .iter()
                .map(|(key @ (owner, token), amount)| {
                    let coins = counts.get(key).copied().unwrap_or(0);
                    let mut line = format!("{owner}  {}", tokens.known(*token).format(*amount));
                    if coins > MANY_COINS {
                        line.push_str(&format!(
                            "  (in {coins} coins: a payment spends at most {MANY_COINS} and each exit is its own L1 transaction with a bond; `plasma merge --from {owner}` consolidates them)"
                        ));
                    }
                    line
                })
                .collect::<Vec<_>>()
                .join("\n")
        });
        Ok(())
    }
}
