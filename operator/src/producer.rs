//! The block producer: a block every interval, or as soon as a full block is pending.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Notify, watch};

use crate::chain::Chain;

/// Produces blocks until `shutdown` turns true, waking `submitter` after each one.
pub async fn run(
    chain: Arc<Chain>,
    interval: Duration,
    submitter: Arc<Notify>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = chain.full_notify().notified() => {}
            _ = shutdown.changed() => {}
        }
        if *shutdown.borrow() {
            break;
        }
        let c = chain.clone();
        match tokio::task::spawn_blocking(move || c.produce_block()).await {
            Ok(Ok(Some(_))) => submitter.notify_one(),
            Ok(Ok(None)) => {}
            Ok(Err(e)) => {
                tracing::error!(target: "operator::producer", error = %e, "block production failed")
            }
            Err(e) => {
                tracing::error!(target: "operator::producer", error = %e, "producer task failed")
            }
        }
    }
    tracing::info!(target: "operator::producer", "stopped");
}
