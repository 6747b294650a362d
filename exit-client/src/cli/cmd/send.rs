//! `plasma send`: pay someone on the child chain, and (by default) wait until the payment is in
//! a block committed on L1 and verified.

use std::time::Duration;

use alloy::primitives::Address;
use eyre::{bail, eyre};
use plasma_api::TxStatus;
use plasma_client::payment::{
    PaymentError, WaitError, build_payment, forget_unsent, quoted_fee, sign_in_flight,
    wait_verified,
};
use plasma_client::sync::SyncError;
use plasma_client::tokens::Token;
use plasma_core::ETH;

use crate::cli::output::{emit, wire_name};
use crate::cli::settings::Settings;
use crate::cli::{Amount, parse_fee};

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
    /// Fee paid to the operator, in ETH units (`0.0001eth`, `1000gwei`) [default: the fee the
    /// operator quotes at `GET /v1/fees`].
    #[arg(long)]
    fee: Option<String>,
    /// Return once the operator has accepted the payment, without waiting until its block
    /// is committed on L1 and verified.
    #[arg(long)]
    no_wait: bool,
}

impl Args {
    pub(crate) async fn run(self, settings: &Settings) -> eyre::Result<()> {
        let to = plasma_client::address::parse_address(&self.to)?;
        if to == Address::ZERO {
            bail!("the zero address is no one's: a payment to it could never be spent or exited");
        }
        let parsed = Amount::parse(self.token, &self.amount)?;
        let fee = self.fee.as_deref().map(parse_fee).transpose()?;
        let signer = settings.signer()?;
        let session = settings.session(Some(&signer)).await?;
        let fee = match fee {
            Some(fee) => fee,
            None => quoted_fee(&session.operator).await?,
        };
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
            Err(PaymentError::TooManyCoins { needed }) => {
                return Err(eyre!(
                    "this payment needs {needed} of {}'s coins but a transaction spends at most {}: merge them first with `plasma merge --from {}` (each merge payment spends 4 coins into 1), then send again",
                    signer.address(),
                    plasma_core::MAX_INPUTS,
                    signer.address()
                ));
            }
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
                    | SyncError::InvalidFeeClaim { .. }
                    | SyncError::Malformed { .. }),
                )) => {
                    return Err(eyre!(
                        "{e}\nyour payment {hash} may be in that block: recover its money with `plasma exit --in-flight {hash}` (and tell the payee to run the same)"
                    ));
                }
                Err(e) => return Err(e.into()),
            };
        }
        let mut value = serde_json::to_value(&submitted)?;
        value["fee"] = serde_json::Value::String(fee.to_string());
        let fee_text = Token::eth().format(fee);
        emit(settings, value, || match submitted.tx_status() {
            TxStatus::Included { blknum, .. } => format!(
                "sent {} to {to} (fee {fee_text}): transaction {} is in block {blknum}, committed on L1 and verified",
                self.amount, submitted.tx_hash
            ),
            TxStatus::Pending => format!(
                "sent {} to {to} (fee {fee_text}): transaction {} is {} (the operator stored it; `plasma utxos` shows it once its block is committed)",
                self.amount,
                submitted.tx_hash,
                wire_name(submitted.status)
            ),
        });
        Ok(())
    }
}
