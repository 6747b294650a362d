//! `plasma withdraw`: pull a payout the root contract credited instead of paying it (the
//! receiver refused ETH, or the token refused the transfer, e.g. a frozen account).

use alloy::primitives::Address;
use eyre::{WrapErr, bail};
use plasma_client::tokens::Token;
use plasma_core::ETH;
use serde_json::json;

use crate::cli::output::emit;
use crate::cli::settings::Settings;

#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// The token credited (default: ETH); `plasma exits` lists the credits.
    #[arg(long, value_parser = crate::cli::address_arg)]
    token: Option<Address>,
    /// Send it to this address instead of the chosen key's (when the key's own address is
    /// the one that refuses it).
    #[arg(long, value_parser = crate::cli::address_arg)]
    to: Option<Address>,
}

impl Args {
    pub(crate) async fn run(self, settings: &Settings) -> eyre::Result<()> {
        if self.to == Some(Address::ZERO) {
            bail!("--to: the zero address is no one's; give the address to send the credit to");
        }
        let signer = settings.signer()?;
        let session = settings.session(Some(&signer)).await?;
        let me = signer.address();
        let token = self.token.unwrap_or(ETH);
        let known = Token::read(&session.l1, token)
            .await
            .unwrap_or_else(|_| Token::unknown(token));
        let amount = session.l1.withdrawable(me, token).await?;
        if amount.is_zero() {
            bail!(
                "nothing to withdraw: the root contract holds no credit of {} for {me} (`plasma exits` lists credits)",
                known.symbol
            );
        }
        let to = self.to.unwrap_or(me);
        let receipt = session
            .l1
            .withdraw(me, token, self.to)
            .await
            .wrap_err_with(|| {
                format!(
                    "withdrawing {} to {to} failed: the credit stays in the root contract; if {to} cannot receive it (a frozen account, a contract that refuses ETH), give --to another address",
                    known.format(amount)
                )
            })?;
        emit(
            settings,
            json!({"txHash": receipt.transaction_hash, "token": token, "amount": amount.to_string(), "to": to}),
            || {
                format!(
                    "withdrew {} to {to} (L1 transaction {})",
                    known.format(amount),
                    receipt.transaction_hash
                )
            },
        );
        Ok(())
    }
}
