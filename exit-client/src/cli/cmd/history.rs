//! `plasma history`: the chosen key's payments sent and received and its deposits, from the
//! verified local data (no password needed: nothing is signed).

use plasma_client::history::{EntryKind, history};
use plasma_client::tokens::Tokens;
use plasma_core::Domain;
use serde_json::json;

use crate::cli::output::emit;
use crate::cli::settings::Settings;

#[derive(clap::Args, Debug)]
pub(crate) struct Args {}

impl Args {
    pub(crate) async fn run(self, settings: &Settings) -> eyre::Result<()> {
        let owner = settings.key_address()?;
        let session = settings.session(None).await?;
        session.sync_or_local().await?;
        let separator = Domain::new(session.chain_id, session.l1.address()).separator();
        let entries = history(&session.store, owner, &separator)?;
        let mut tokens = Tokens::default();
        tokens
            .load(
                &session.l1,
                entries
                    .iter()
                    .flat_map(|e| e.amounts.iter().map(|a| a.token)),
            )
            .await;
        emit(settings, json!(entries), || {
            if entries.is_empty() {
                return format!("no payments or deposits of {owner} in the verified chain yet");
            }
            entries
                .iter()
                .map(|e| {
                    let at = match (e.blknum, e.tx_index) {
                        (Some(b), Some(t)) => format!("block {b} tx {t}"),
                        _ => "not in a verified block yet".to_owned(),
                    };
                    let amounts = e
                        .amounts
                        .iter()
                        .map(|a| tokens.known(a.token).format(a.amount))
                        .collect::<Vec<_>>()
                        .join(" + ");
                    let who = e
                        .counterparts
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(", ");
                    let what = match e.kind {
                        EntryKind::Deposit => format!("deposit   {amounts}"),
                        EntryKind::FeeClaim => format!("fees      {amounts} claimed"),
                        EntryKind::Received => format!("received  {amounts} from {who}"),
                        EntryKind::Sent => {
                            let fee = e.fee.map_or_else(String::new, |fee| {
                                format!(", fee {}", tokens.known(plasma_core::ETH).format(fee))
                            });
                            format!("sent      {amounts} to {who}{fee}")
                        }
                    };
                    format!("{at:<24}  {what}  [{}]", e.state)
                })
                .collect::<Vec<_>>()
                .join("\n")
        });
        Ok(())
    }
}
