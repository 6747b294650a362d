//! `plasma exits`: the exits of the wallet's coins seen on L1 — standard exits and the
//! in-flight exits in which a wallet key owns an input or an output — and their state.

use alloy::primitives::Address;
use plasma_client::in_flight::{InFlightView, involves};
use plasma_client::tokens::Tokens;
use plasma_core::ETH;
use serde_json::json;

use crate::cli::output::{emit, warn, wire_name};
use crate::cli::settings::Settings;

#[derive(clap::Args, Debug)]
pub(crate) struct Args {}

impl Args {
    pub(crate) async fn run(self, settings: &Settings) -> eyre::Result<()> {
        let session = settings.session(None).await?;
        if let Err(e) = session.sync().await {
            warn(&format!("sync failed ({e}); showing exits known locally"));
        }
        let exits: Vec<_> = session
            .store
            .exits()?
            .into_iter()
            .filter(|e| session.owned.contains(&e.owner))
            .collect();
        let records: Vec<_> = session
            .store
            .in_flight_exits()?
            .into_iter()
            .filter(|r| session.owned.iter().any(|&o| involves(r, o)))
            .collect();
        let period = if records.is_empty() {
            0
        } else {
            session.l1.exit_params().await?.1
        };
        let in_flight: Vec<InFlightView> = records
            .iter()
            .filter_map(|r| InFlightView::of(r, period))
            .collect();
        let mut tokens = Tokens::default();
        tokens
            .load(
                &session.l1,
                exits.iter().map(|e| e.token).chain(
                    in_flight
                        .iter()
                        .flat_map(|v| v.claims.iter().map(|c| c.token)),
                ),
            )
            .await;
        // Payouts credited instead of paid, in ETH and every token these exits touch.
        let mut credited_tokens: Vec<Address> = std::iter::once(ETH)
            .chain(exits.iter().map(|e| e.token))
            .chain(
                in_flight
                    .iter()
                    .flat_map(|v| v.claims.iter().map(|c| c.token)),
            )
            .collect();
        credited_tokens.sort_unstable();
        credited_tokens.dedup();
        let mut credits = Vec::new();
        for &owner in &session.owned {
            for &token in &credited_tokens {
                let amount = session.l1.withdrawable(owner, token).await?;
                if !amount.is_zero() {
                    credits.push((owner, token, amount));
                }
            }
        }
        let credits_json: Vec<_> = credits
            .iter()
            .map(|(owner, token, amount)| {
                json!({"owner": owner, "token": token, "amount": amount.to_string()})
            })
            .collect();
        emit(
            settings,
            json!({"standard": exits, "inFlight": in_flight, "credits": credits_json}),
            || {
                if exits.is_empty() && in_flight.is_empty() && credits.is_empty() {
                    return "no exits".to_owned();
                }
                let credit_lines = credits.iter().map(|(owner, token, amount)| {
                    let flag = if *token == ETH {
                        String::new()
                    } else {
                        format!(" --token {token}")
                    };
                    format!(
                        "credited to {owner}: {} (the payout was refused; `plasma --from {owner} withdraw{flag}` pulls it)",
                        tokens.known(*token).format(*amount)
                    )
                });
                let standard = exits.iter().map(|e| {
                    format!(
                        "{:>20}  {}  exitable at {} (unix time)  {}",
                        e.utxo_pos,
                        tokens.known(e.token).format(e.amount),
                        e.exitable_at,
                        wire_name(e.status)
                    )
                });
                let flights = in_flight.iter().map(|v| {
                    let claims = if v.claims.is_empty() {
                        "nothing claimed".to_owned()
                    } else {
                        v.claims
                            .iter()
                            .map(|c| {
                                format!(
                                    "{} {} ({} to {})",
                                    c.side,
                                    c.index,
                                    tokens.known(c.token).format(c.amount),
                                    c.owner
                                )
                            })
                            .collect::<Vec<_>>()
                            .join(", ")
                    };
                    format!(
                        "in flight {}  {}  claims: {claims}; claims close at {}, exitable at {} (unix time)",
                        v.tx_hash,
                        v.state.replace('_', "-"),
                        v.claims_close_at,
                        v.exitable_at
                    )
                });
                standard
                    .chain(flights)
                    .chain(credit_lines)
                    .collect::<Vec<_>>()
                    .join("\n")
            },
        );
        Ok(())
    }
}
