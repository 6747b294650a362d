//! `plasma deposit`: move ETH or tokens from L1 into the child chain.

use alloy::primitives::Address;
use plasma_core::ETH;
use serde_json::json;

use crate::cli::Amount;
use crate::cli::output::emit;
use crate::cli::settings::Settings;

#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// Amount: `0.5eth`, `250000gwei`, `1000wei`; with --token, in token units (`12.5`).
    amount: String,
    /// ERC20 token address (default: ETH).
    #[arg(long, value_parser = crate::cli::address_arg)]
    token: Option<Address>,
}

impl Args {
    pub(crate) async fn run(self, settings: &Settings) -> eyre::Result<()> {
        let parsed = Amount::parse(self.token, &self.amount)?;
        let signer = settings.signer()?;
        let session = settings.session(Some(&signer)).await?;
        let value = parsed.value(&session).await?;
        let receipt = match self.token {
            None => session.l1.deposit_eth(signer.address(), value).await?,
            Some(token) => {
                session
                    .l1
                    .deposit_token(signer.address(), token, value)
                    .await?
            }
        };
        emit(
            settings,
            json!({"txHash": receipt.transaction_hash, "amount": value.to_string(), "token": self.token.unwrap_or(ETH)}),
            || {
                format!(
                    "deposited {} from {} (L1 transaction {}); run `plasma sync` once the operator has seen it",
                    self.amount,
                    signer.address(),
                    receipt.transaction_hash
                )
            },
        );
        Ok(())
    }
}
