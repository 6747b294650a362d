//! `plasma status`: the settings, the operator's status and how far the local chain is
//! verified.

use serde_json::json;

use crate::cli::output::emit;
use crate::cli::settings::Settings;

#[derive(clap::Args, Debug)]
pub(crate) struct Args {}

impl Args {
    pub(crate) async fn run(self, settings: &Settings) -> eyre::Result<()> {
        let session = settings.session(None).await?;
        let operator = session.operator.status().await.map_err(|e| e.to_string());
        let synced = session.store.synced_blknum()?;
        let value = json!({
            "operator": settings.operator,
            "l1Rpc": settings.l1_rpc,
            "rootChain": session.l1.address(),
            "chainId": session.chain_id,
            "syncedBlknum": synced,
            "operatorStatus": match &operator { Ok(v) => serde_json::to_value(v)?, Err(e) => json!({"error": e}) },
        });
        emit(settings, value, || {
            format!(
                "operator {} ({})\nL1 {} chain {} root contract {}\nverified up to block {synced}",
                settings.operator,
                match &operator {
                    Ok(_) => "reachable".to_owned(),
                    Err(e) => e.clone(),
                },
                settings.l1_rpc,
                session.chain_id,
                session.l1.address()
            )
        });
        Ok(())
    }
}
