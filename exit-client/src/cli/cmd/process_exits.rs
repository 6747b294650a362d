//! `plasma process-exits`: pay out the exits of a token's queue whose time has come.

use alloy::primitives::Address;
use plasma_client::tokens::Token;
use plasma_core::ETH;
use serde_json::json;

use crate::cli::output::emit;
use crate::cli::settings::Settings;

#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// Token queue to process (default: ETH).
    #[arg(long)]
    token: Option<Address>,
    /// Most exits to process in one transaction.
    #[arg(long, default_value_t = 20)]
    max: u64,
}

impl Args {
    pub(crate) async fn run(self, settings: &Settings) -> eyre::Result<()> {
        let signer = settings.signer()?;
        let session = settings.session(Some(&signer)).await?;
        let token = self.token.unwrap_or(ETH);
        let receipt = session
            .l1
            .process_exits(signer.address(), token, self.max)
            .await?;
        let paid: Vec<String> = receipt
            .inner
            .logs()
            .iter()
            .filter_map(|log| {
                log.log_decode::<plasma_contracts::RootChain::ExitFinalized>()
                    .ok()
            })
            .map(|event| event.inner.data.utxoPos.to_string())
            .collect();
        let name = Token::read(&session.l1, token)
            .await
            .map_or_else(|_| token.to_string(), |t| t.symbol);
        emit(
            settings,
            json!({"txHash": receipt.transaction_hash, "gasUsed": receipt.gas_used, "paid": paid}),
            || {
                if paid.is_empty() {
                    format!(
                        "no exit of {name} was ready to pay (see `plasma exits` for when yours is); L1 transaction {}",
                        receipt.transaction_hash
                    )
                } else {
                    format!(
                        "paid {} exit(s) of {name}: {} (L1 transaction {})",
                        paid.len(),
                        paid.join(", "),
                        receipt.transaction_hash
                    )
                }
            },
        );
        Ok(())
    }
}
