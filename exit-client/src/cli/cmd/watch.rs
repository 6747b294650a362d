//! `plasma watch`: rounds until Ctrl-C (or `--rounds`), each event as a JSON line on stdout,
//! and the watcher's state on `GET /status` (JSON) and `GET /` (an HTML page).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use eyre::WrapErr;
use plasma_client::watch::{WatchConfig, Watcher};
use warp::Filter;

use crate::cli::dashboard;
use crate::cli::output::line;
use crate::cli::settings::Settings;

/// A positive duration such as `500ms`, `2s`, `1m` (humantime's units).
fn duration(text: &str) -> Result<Duration, String> {
    match humantime::parse_duration(text.trim()) {
        Ok(d) if !d.is_zero() => Ok(d),
        Ok(_) => Err("a duration must be positive".to_owned()),
        Err(e) => Err(format!("not a duration like 500ms, 2s or 1m: {e}")),
    }
}

#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// Act against cheats with the chosen key (it pays the gas and earns the bonds): challenge
    /// invalid exits, show competitors of non-canonical in-flight exits, answer false
    /// non-canonical challenges, and challenge invalid piggybacks.
    #[arg(long)]
    challenge: bool,
    /// Protect the chosen key's money: as soon as a block is invalid or withheld, start exits
    /// of its coins and in-flight exits of its payments no verified block includes; and claim
    /// its inputs and outputs in any in-flight exit started on L1.
    #[arg(long)]
    exit_on_danger: bool,
    /// Time between rounds (500ms, 2s, 1m, …).
    #[arg(long, default_value = "1s", value_parser = duration)]
    interval: Duration,
    /// Raise block_withholding when a committed block's data is not served for this long.
    #[arg(long, default_value = "30s", value_parser = duration)]
    withhold_after: Duration,
    /// Raise unchallenged_exit (and unchallenged_non_canonical_ife, unchallenged_piggyback) when
    /// an invalid exit is this close to its deadline.
    #[arg(long, default_value = "24h", value_parser = duration)]
    warn_before: Duration,
    /// Serve the watcher's state at this address (e.g. 127.0.0.1:7435): as JSON on
    /// `GET /status`, and as a page for people on `GET /` (state, danger banner, every event
    /// with what to do about it; it refreshes itself).
    #[arg(long, value_name = "ADDR")]
    status_addr: Option<SocketAddr>,
    /// Stop after this many rounds [default: run until Ctrl-C].
    #[arg(long)]
    rounds: Option<u64>,
}

impl Args {
    pub(crate) async fn run(self, settings: &Settings) -> eyre::Result<()> {
        let signer = if self.challenge || self.exit_on_danger {
            Some(settings.signer()?)
        } else {
            None
        };
        let session = settings.session(signer.as_ref()).await?;
        let acting = |wanted: bool| signer.as_ref().filter(|_| wanted).map(|s| s.address());
        let config = WatchConfig {
            withhold_after: self.withhold_after,
            warn_before: self.warn_before.as_secs(),
            challenge_from: acting(self.challenge),
            exit_on_danger: acting(self.exit_on_danger),
        };
        let mut watcher = Watcher::new(
            &session.store,
            &session.l1,
            &session.operator,
            session.owned.clone(),
            session.chain_id,
            config,
        );
        let shared = Arc::new(Mutex::new(watcher.status(0)?));
        if let Some(addr) = self.status_addr {
            let state = shared.clone();
            let snapshot = move || state.lock().map(|s| s.clone()).unwrap_or_default();
            let json = snapshot.clone();
            let status = warp::path!("status")
                .and(warp::get())
                .map(move || warp::reply::json(&json()));
            let page = warp::path::end()
                .and(warp::get())
                .map(move || warp::reply::html(dashboard::page(&snapshot()).into_string()));
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .wrap_err_with(|| format!("--status-addr {addr}: cannot listen"))?;
            tracing::info!(target: "plasma::watch", %addr, "serving GET /status and GET /");
            tokio::spawn(warp::serve(status.or(page)).incoming(listener).run());
        }
        tracing::info!(
            target: "plasma::watch",
            operator = %settings.operator,
            l1 = %settings.l1_rpc,
            root_chain = %session.l1.address(),
            "watching"
        );
        let mut rounds = 0u64;
        let mut ctrl_c = std::pin::pin!(tokio::signal::ctrl_c());
        loop {
            match watcher.round().await {
                Ok(events) => {
                    for event in &events {
                        line(&serde_json::to_string(event)?);
                        tracing::warn!(target: "plasma::watch", key = %event.key(), "{event:?}");
                    }
                }
                Err(error) => {
                    tracing::warn!(target: "plasma::watch", %error, "round failed; retrying")
                }
            }
            let l1_block = session.l1.latest_block().await.unwrap_or_default();
            match watcher.status(l1_block) {
                Ok(status) => {
                    if let Ok(mut shared) = shared.lock() {
                        *shared = status;
                    }
                }
                Err(error) => {
                    tracing::warn!(target: "plasma::watch", %error, "reading the state failed")
                }
            }
            rounds += 1;
            if rounds == 1 {
                tracing::info!(
                    target: "plasma::watch",
                    synced_blknum = session.store.synced_blknum().unwrap_or_default(),
                    "first round done"
                );
            }
            if self.rounds.is_some_and(|max| rounds >= max) {
                return Ok(());
            }
            tokio::select! {
                _ = tokio::time::sleep(self.interval) => {}
                _ = &mut ctrl_c => {
                    tracing::info!(target: "plasma::watch", "stopped");
                    return Ok(());
                }
            }
        }
    }
}
