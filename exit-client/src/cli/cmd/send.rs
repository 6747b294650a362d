//! `plasma send`: pay someone on the child chain, and (by default) wait until the payment is in
//! a block committed on L1 and verified.

use std::time::Duration;

use alloy::primitives::{Address, U256};
use eyre::{bail, eyre};
use plasma_api::TxStatus;
use plasma_client::amount::{AmountError, parse_eth};
use plasma_client::payment::{
    PaymentError, WaitError, build_payment, forget_unsent, sign_in_flight, wait_verified,
};
use plasma_client::sync::SyncError;
use plasma_client::tokens::Token;
use plasma_core::ETH;

use crate::cli::Amount;
use crate::cli::output::{emit, wire_name};
use crate::cli::settings::Settings;

/// How long `send` waits for its payment's verified block.
const PATIENCE: Duration = Duration::from_secs(120);

#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// Recipient address (0x + 40 hex digits).
    to: String,
    /// Amount: `0.5eth` etc.; with --token, in token units.
    amount: String,
    /// ERC20 token address (default: ETH).
    #[arg(long, value_parser = crate::cli::address_arg)]
    token: Option<Address>,
    /// Fee paid to the operator, in ETH units (`0.0001eth`, `1000gwei`).
    #[arg(long, default_value = "0wei")]
    fee: String,
    /// Return once the operator has accepted the payment, without waiting until its block
    /// is committed on L1 and verified.
    #[arg(long)]
    no_wait: bool,
}

/// A fee in ETH units; zero is allowed (`0wei`, `0`).
fn parse_fee(text: &str) -> eyre::Result<U256> {
    match parse_eth(text) {
        Ok(fee) => Ok(fee),
        Err(AmountError::Zero) => Ok(U256::ZERO),
        Err(e) => Err(eyre!("--fee: {e}")),
    }
}

impl Args {
    pub(crate) async fn run(self, settings: &Settings) -> eyre::Result<()> {
        let to = plasma_client::address::parse_address(&self.to)?;
        if to == Address::ZERO {
            bail!("the zero address is no one's: a payment to it could never be spent or exited");
        }
        let parsed = Amount::parse(self.token, &self.amount)?;
        let fee = parse_fee(&self.fee)?;
        let signer = settings.signer()?;
        let session = settings.session(Some(&signer)).await?;
        session.sync().await?;
        let value = parsed.value(&session).await?;
        let token = self.token.unwrap_or(ETH);
        let tx = match build_payment(
            &session.store.coins()?,
            signer.address(),
            to,
            token,
            value,
            fee,
        ) {
            Ok(tx) => tx,
            Err(PaymentError::InsufficientFunds {
                owner,
                token,
                have,
                need,
            }) => {
                let shown = Token::read(&session.l1, token)
                    .await
                    .unwrap_or_else(|_| Token::unknown(token));
                return Err(eyre!(
                    "insufficient funds: {owner} has {} but the payment needs {}",
                    shown.format(have),
                    shown.format(need)
                ));
            }
            Err(e) => return Err(e.into()),
        };
        // Recorded as in flight before it leaves: its coins are not spent or exited twice.
        let signed = sign_in_flight(&session.store, tx, &session.domain(), &signer)?;
        let mut submitted = match session.operator.submit(&signed).await {
            Ok(submitted) => submitted,
            Err(e) if e.never_delivered() => {
                // Refused, or no connection at all: nothing was stored, the coins are the
                // user's to spend again.
                forget_unsent(&session.store, &signed)?;
                return Err(e.into());
            }
            Err(e) => {
                // It may have arrived: its coins stay in flight until a verified block says.
                return Err(eyre!(
                    "{e}\nthe payment {} may have reached the operator: its coins stay in flight (see `plasma utxos`)",
                    signed.hash()
                ));
            }
        };
        if !self.no_wait {
            let hash = submitted.tx_hash;
            submitted = match wait_verified(
                &session.syncer(),
                &session.store,
                &session.operator,
                submitted,
                PATIENCE,
            )
            .await
            {
                Ok(done) => done,
                // A withheld or invalid block: the payment may be in it, and nobody can prove
                // what it holds. The in-flight exit recovers the money either way.
                Err(WaitError::Sync(
                    e @ (SyncError::Unavailable { .. }
                    | SyncError::RootMismatch { .. }
                    | SyncError::InvalidTransaction { .. }
                    | SyncError::Malformed { .. }),
                )) => {
                    return Err(eyre!(
                        "{e}\nyour payment {hash} may be in that block: recover its money with `plasma exit --in-flight {hash}` (and tell the payee to run the same)"
                    ));
                }
                Err(e) => return Err(e.into()),
            };
        }
        emit(
            settings,
            serde_json::to_value(&submitted)?,
            || match submitted.tx_status() {
                TxStatus::Included { blknum, .. } => format!(
                    "sent {} to {to}: transaction {} is in block {blknum}, committed on L1 and verified",
                    self.amount, submitted.tx_hash
                ),
                TxStatus::Pending => format!(
                    "sent {} to {to}: transaction {} is {} (the operator stored it; `plasma utxos` shows it once its block is committed)",
                    self.amount,
                    submitted.tx_hash,
                    wire_name(submitted.status)
                ),
            },
        );
        Ok(())
    }
}
