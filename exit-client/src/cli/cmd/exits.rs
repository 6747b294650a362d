//! `plasma exits`: the exits of the wallet's coins seen on L1, and their state.

use plasma_client::tokens::Tokens;

use crate::cli::output::{emit, warn, wire_name};
use crate::cli::settings::Settings;

#[derive(clap::Args, Debug)]
pub(crate) struct Args {}

impl Args {
    pub(crate) async fn run(self, settings: &Settings) -> eyre::Result<()> {
        let session = settings.session(None).await?;
        if let Err(e) = session.sync().await {
            warn(&format!("sync failed ({e}); showing exits known locally"));
        }
        let exits: Vec<_> = session
            .store
            .exits()?
            .into_iter()
            .filter(|e| session.owned.contains(&e.owner))
            .collect();
        let mut tokens = Tokens::default();
        tokens
            .load(&session.l1, exits.iter().map(|e| e.token))
            .await;
        emit(settings, serde_json::to_value(&exits)?, || {
            if exits.is_empty() {
                return "no exits".to_owned();
            }
            exits
                .iter()
                .map(|e| {
                    format!(
                        "{:>20}  {}  exitable at {} (unix time)  {}",
                        e.utxo_pos,
                        tokens.known(e.token).format(e.amount),
                        e.exitable_at,
                        wire_name(e.status)
                    )
                })
                .collect::<Vec<_>>()
                .join("\n")
        });
        Ok(())
    }
}
