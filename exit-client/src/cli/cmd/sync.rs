//! `plasma sync`: verify every new block against L1 and record the wallet's coins.

use crate::cli::output::emit;
use crate::cli::settings::Settings;

#[derive(clap::Args, Debug)]
pub(crate) struct Args {}

impl Args {
    pub(crate) async fn run(self, settings: &Settings) -> eyre::Result<()> {
        let session = settings.session(None).await?;
        let report = session.sync().await?;
        emit(settings, serde_json::to_value(&report)?, || {
            format!(
                "verified {} blocks ({} transactions) against L1; {} new coins; synced to block {}",
                report.blocks, report.transactions, report.new_coins, report.synced_blknum
            )
        });
        Ok(())
    }
}
