//! `plasma merge`: consolidate the chosen key's coins of one token into fewer, larger ones:
//! rounds of payments to itself, each spending up to 4 coins into 1, every round waiting for its
//! verified block before the next spends what it made.

use std::time::Duration;

use alloy::primitives::{Address, U256};
use eyre::eyre;
use plasma_client::payment::{
    MergeError, forget_unsent, plan_merge, quoted_fee, sign_in_flight, wait_verified,
};
use plasma_client::store::CoinState;
use plasma_client::tokens::Token;
use plasma_core::ETH;
use serde_json::json;

use crate::cli::output::emit;
use crate::cli::parse_fee;
use crate::cli::settings::Settings;

/// How long one round waits for its verified block.
const PATIENCE: Duration = Duration::from_secs(120);

#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// The token whose coins to merge (default: ETH).
    #[arg(long, value_parser = crate::cli::address_arg)]
    token: Option<Address>,
    /// How many coins of it to end with.
    #[arg(long, default_value_t = 1)]
    target: usize,
    /// Fee of each merge payment, in ETH units [default: the fee the operator quotes].
    #[arg(long)]
    fee: Option<String>,
}

impl Args {
    pub(crate) async fn run(self, settings: &Settings) -> eyre::Result<()> {
        let fee = self.fee.as_deref().map(parse_fee).transpose()?;
        let signer = settings.signer()?;
        let me = signer.address();
        let session = settings.session(Some(&signer)).await?;
        let fee = match fee {
            Some(fee) => fee,
            None => quoted_fee(&session.operator).await?,
        };
        let token = self.token.unwrap_or(ETH);
        let known = Token::read(&session.l1, token)
            .await
            .unwrap_or_else(|_| Token::unknown(token));
        session.sync().await?;
        let count = |coins: &[plasma_client::store::Coin]| {
            coins
                .iter()
                .filter(|c| {
                    c.output.owner == me && c.output.token == token && c.state == CoinState::Unspent
                })
                .count()
        };
        let before = count(&session.store.coins()?);
        let mut payments = Vec::new();
        let mut fees = U256::ZERO;
        loop {
            let coins = session.store.coins()?;
            let round = match plan_merge(&coins, me, token, self.target, fee) {
                Ok(round) => round,
                // Done: the target is reached (or was from the start, which is an error).
                Err(MergeError::NothingToMerge { .. }) if !payments.is_empty() => break,
                Err(MergeError::NothingToMerge { coins, target, .. }) => {
                    return Err(eyre!(
                        "nothing to merge: {me} holds {coins} unspent {} coin{}, and the target is {target} (--target sets it)",
                        known.symbol,
                        if coins == 1 { "" } else { "s" },
                    ));
                }
                Err(e) if !payments.is_empty() => {
                    tracing::warn!(error = %e, "merging stopped early");
                    break;
                }
                Err(e) => return Err(e.into()),
            };
            let mut submitted = Vec::with_capacity(round.len());
            for tx in round {
                let signed = sign_in_flight(&session.store, tx, &session.domain(), &signer)?;
                match session.operator.submit(&signed).await {
                    Ok(result) => submitted.push(result),
                    Err(e) if e.never_delivered() => {
                        forget_unsent(&session.store, &signed)?;
                        return Err(eyre!(
                            "{e}\nthe operator refused a merge payment; {} merge payments of this run were accepted",
                            payments.len() + submitted.len()
                        ));
                    }
                    Err(e) => {
                        return Err(eyre!(
                            "{e}\nthe merge payment {} may have reached the operator: its coins stay in flight (see `plasma utxos`)",
                            signed.hash()
                        ));
                    }
                }
            }
            for result in submitted {
                let done = wait_verified(
                    &session.syncer(),
                    &session.store,
                    &session.operator,
                    result,
                    PATIENCE,
                )
                .await?;
                fees += fee;
                payments.push(done.tx_hash);
            }
            tracing::info!(payments = payments.len(), "merge round verified");
        }
        let after = count(&session.store.coins()?);
        emit(
            settings,
            json!({
                "owner": me,
                "token": token,
                "coinsBefore": before,
                "coinsAfter": after,
                "payments": payments,
                "fees": fees.to_string(),
            }),
            || {
                format!(
                    "merged {me}'s {} coins from {before} to {after} in {} payments (fees {})",
                    known.symbol,
                    payments.len(),
                    Token::eth().format(fees)
                )
            },
        );
        Ok(())
    }
}
