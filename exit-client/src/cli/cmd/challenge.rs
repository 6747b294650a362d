//! `plasma challenge`: close an exit of a spent output with the spend this client saw, and earn
//! the exit's bond.

use eyre::eyre;
use plasma_core::UtxoPos;
use serde_json::json;

use crate::cli::output::emit;
use crate::cli::settings::Settings;

#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// The exit id.
    exit_id: UtxoPos,
}

impl Args {
    pub(crate) async fn run(self, settings: &Settings) -> eyre::Result<()> {
        let exit_id = self.exit_id;
        let signer = settings.signer()?;
        let session = settings.session(Some(&signer)).await?;
        session.sync().await?;
        let spend = session.store.spend_of(exit_id)?.ok_or_else(|| {
            eyre!("this client has seen no spend of {exit_id}: it cannot challenge that exit (sync first, or the exit may be valid)")
        })?;
        let receipt = session
            .l1
            .challenge(signer.address(), exit_id, &spend)
            .await?;
        emit(
            settings,
            json!({"exitId": exit_id, "txHash": receipt.transaction_hash}),
            || {
                format!(
                    "exit {exit_id} challenged with its spend in block {}; the bond goes to {}",
                    spend.blknum,
                    signer.address()
                )
            },
        );
        Ok(())
    }
}
