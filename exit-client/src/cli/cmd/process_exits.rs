//! `plasma process-exits`: pay out the exits of a token's queue whose time has come.

use alloy::primitives::Address;
use eyre::eyre;
use plasma_client::tokens::Token;
use plasma_core::ETH;
use serde_json::json;

use crate::cli::output::{emit, note};
use crate::cli::settings::Settings;

#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// Token queue to process (default: ETH).
    #[arg(long, value_parser = crate::cli::address_arg)]
    token: Option<Address>,
    /// Most exits to process in one transaction (capped to what fits in an L1 block).
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..))]
    max: u64,
}

impl Args {
    pub(crate) async fn run(self, settings: &Settings) -> eyre::Result<()> {
        let signer = settings.signer()?;
        let session = settings.session(Some(&signer)).await?;
        let token = self.token.unwrap_or(ETH);
        let me = signer.address();
        let name = Token::read(&session.l1, token)
            .await
            .map_or_else(|_| token.to_string(), |t| t.symbol);
        // Nothing is sent when nothing is ready: the call would only burn gas.
        let now = next_block_time(&session).await?;
        let waiting = match session.l1.queue_top(token).await? {
            None => Some((
                None,
                format!("the exit queue of {name} is empty: nothing to pay, nothing sent"),
            )),
            Some((exitable_at, _, _)) if exitable_at > now => Some((
                Some(exitable_at),
                format!(
                    "no exit of {name} is ready: the next one can be paid in {} (at L1 time {exitable_at}); nothing sent",
                    humantime::format_duration(std::time::Duration::from_secs(exitable_at - now))
                ),
            )),
            Some(_) => None,
        };
        if let Some((next, text)) = waiting {
            emit(
                settings,
                json!({"txHash": null, "paid": [], "inFlight": [], "transactions": [], "nextExitableAt": next}),
                || text,
            );
            return Ok(());
        }
        let fits = session.l1.exits_per_transaction(token).await?;
        let max = if self.max > fits {
            note(&format!(
                "--max {} does not fit in one L1 block (its gas limit leaves room for {fits} exits of {name}): processing {fits}",
                self.max
            ));
            fits
        } else {
            self.max
        };
        let receipt = session.l1.process_exits(me, token, max).await?;
        let mut paid = finalized(&receipt);
        // `processExits` stops at an in-flight exit at the top of the queue: process those
        // that are ready (with their data from L1's events), then the standard exits behind.
        let mut in_flight = Vec::new();
        let mut transactions = vec![receipt.transaction_hash];
        while (in_flight.len() as u64) < max {
            let Some((exitable_at, youngest, true)) = session.l1.queue_top(token).await? else {
                break;
            };
            let now = next_block_time(&session).await?;
            if exitable_at > now {
                break;
            }
            let exit = session
                .l1
                .in_flight_exit_at(exitable_at, youngest)
                .await?
                .ok_or_else(|| eyre!("the in-flight exit at the top of the queue of {token} has no start event on L1"))?;
            let done = session.l1.process_in_flight_exit(me, token, &exit).await?;
            transactions.push(done.transaction_hash);
            in_flight.push(exit.tx_hash);
            let more = session.l1.process_exits(me, token, max).await?;
            transactions.push(more.transaction_hash);
            paid.extend(finalized(&more));
        }
        emit(
            settings,
            json!({"txHash": receipt.transaction_hash, "gasUsed": receipt.gas_used, "paid": paid, "inFlight": in_flight, "transactions": transactions}),
            || {
                if paid.is_empty() && in_flight.is_empty() {
                    format!(
                        "no exit of {name} was ready to pay (see `plasma exits` for when yours is); L1 transaction {}",
                        receipt.transaction_hash
                    )
                } else {
                    let flights = if in_flight.is_empty() {
                        String::new()
                    } else {
                        format!(
                            " and {} in-flight exit(s): {}",
                            in_flight.len(),
                            in_flight
                                .iter()
                                .map(ToString::to_string)
                                .collect::<Vec<_>>()
                                .join(", ")
                        )
                    };
                    format!(
                        "paid {} exit(s) of {name}: {}{flights} (L1 transaction {})",
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

/// The earliest time the block mining our transaction can carry: never before the latest
/// block's, and about the clock's on a live chain. The latest block's alone lags on a chain
/// that mines only when sent something (a devnet idle for minutes), where the next block takes
/// the clock's time; a clock that runs ahead only costs a transaction that pays nothing.
async fn next_block_time(session: &crate::cli::settings::Session) -> eyre::Result<u64> {
    let (_, head) = session.l1.head().await?;
    let clock = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    Ok(head.max(clock))
}

/// The standard exits a `processExits` receipt paid (their positions).
fn finalized(receipt: &alloy::rpc::types::TransactionReceipt) -> Vec<String> {
    receipt
        .inner
        .logs()
        .iter()
        .filter_map(|log| {
            log.log_decode::<plasma_contracts::RootChain::ExitFinalized>()
                .ok()
        })
        .map(|event| event.inner.data.utxoPos.to_string())
        .collect()
}
