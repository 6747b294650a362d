//! `plasma status`: the settings, the operator's status and how far the local chain is
//! verified.

use plasma_client::tokens::Token;
use serde_json::json;

use crate::cli::output::emit;
use crate::cli::settings::Settings;

#[derive(clap::Args, Debug)]
pub(crate) struct Args {}

impl Args {
    pub(crate) async fn run(self, settings: &Settings) -> eyre::Result<()> {
        let session = settings.session(None).await?;
        let operator = session.operator.status().await.map_err(|e| e.to_string());
        let fees = session.operator.fees().await.map_err(|e| e.to_string());
        let synced = session.store.synced_blknum()?;
        let collected = plasma_client::history::fees_collected(&session.store)?;
        let eth = Token::eth();
        let value = json!({
            "operator": settings.operator,
            "l1Rpc": settings.l1_rpc,
            "rootChain": session.l1.address(),
            "chainId": session.chain_id,
            "syncedBlknum": synced,
            "operatorStatus": match &operator { Ok(v) => serde_json::to_value(v)?, Err(e) => json!({"error": e}) },
            "fees": match &fees { Ok(v) => serde_json::to_value(v)?, Err(e) => json!({"error": e}) },
            "feesCollected": collected,
        });
        emit(settings, value, || {
            let mut text = format!(
                "operator {} ({})\nL1 {} chain {} root contract {}\nverified up to block {synced}",
                settings.operator,
                match &operator {
                    Ok(_) => "reachable".to_owned(),
                    Err(e) => e.clone(),
                },
                settings.l1_rpc,
                session.chain_id,
                session.l1.address()
            );
            if let Ok(fees) = &fees {
                text.push_str(&format!(
                    "\nfee: {} a payment (the operator's minimum; `plasma send` pays it unless --fee says otherwise)",
                    eth.format(fees.payment.fee.max(fees.min_fee))
                ));
            }
            for c in &collected {
                let operator_key = match &fees {
                    Ok(fees) if fees.fee_address == Some(c.owner) => {
                        " (the operator's fee address)"
                    }
                    _ => "",
                };
                text.push_str(&format!(
                    "\nfees collected by {}{operator_key}: {} in {} block claims, {} of it unspent",
                    c.owner,
                    eth.format(c.total),
                    c.claims,
                    eth.format(c.unspent)
                ));
            }
            text
        });
        Ok(())
    }
}
