//! `plasma exit`: start standard exits on L1 of the chosen key's coins, from the exit data kept
//! locally (the operator is not needed).

use alloy::primitives::{Address, B256, U256};
use eyre::{bail, eyre};
use plasma_client::amount::format_eth;
use plasma_client::in_flight::{
    InFlightExit, in_flight_claim_on, own_piggybacks, without_standard_exits,
};
use plasma_client::store::{Coin, CoinState};
use plasma_core::{ETH, Transaction, UtxoPos};
use serde_json::json;

use crate::cli::output::{emit, note, warn};
use crate::cli::settings::{Session, Settings};

#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// The coin's position (`plasma utxos` lists them).
    utxo_pos: Option<UtxoPos>,
    /// Exit every unspent coin of the chosen key, except ETH coins worth less than the gas
    /// their exit costs at the current L1 gas price (see --include-dust).
    #[arg(long, conflicts_with = "utxo_pos")]
    all: bool,
    /// With --all, exit dust coins too (their exit costs more gas than they hold).
    #[arg(long, requires = "all")]
    include_dust: bool,
    /// Recover the money of a payment that may never show up in a verified block (withheld, or
    /// never included): start its in-flight exit from the data this client kept when it signed
    /// it, or, if it was started already (by the payer, or anyone), claim what the chosen key
    /// owns in it. Posts the in-flight exit bond and a bond per claim.
    #[arg(long, value_name = "TXHASH", conflicts_with_all = ["utxo_pos", "all"])]
    in_flight: Option<B256>,
}

impl Args {
    pub(crate) async fn run(self, settings: &Settings) -> eyre::Result<()> {
        let signer = settings.signer()?;
        let session = settings.session(Some(&signer)).await?;
        // Sync if the operator answers; exit from the local store alone if it does not.
        if let Err(e) = session.sync().await {
            warn(&format!(
                "sync failed ({e}); exiting from the data stored locally"
            ));
        }
        if let Some(hash) = self.in_flight {
            return in_flight(settings, &session, signer.address(), hash).await;
        }
        let mut coins: Vec<Coin> = Vec::new();
        let mut claimed = 0;
        for coin in session
            .store
            .coins()?
            .into_iter()
            .filter(|c| c.output.owner == signer.address() && c.state == CoinState::Unspent)
            .filter(|c| self.all || Some(c.utxo_pos) == self.utxo_pos)
        {
            // Its value is claimed by an in-flight exit: a standard exit of it would be
            // challenged (or refused) and its bond lost.
            if let Some(hash) = in_flight_claim_on(&session.store, coin.utxo_pos)? {
                if !self.all {
                    bail!(
                        "coin {} is claimed by the in-flight exit of {hash}: it is paid there (`plasma exits` shows it), not by a standard exit",
                        coin.utxo_pos
                    );
                }
                warn(&format!(
                    "coin {} is claimed by the in-flight exit of {hash}; not exiting it again",
                    coin.utxo_pos
                ));
                claimed += 1;
                continue;
            }
            coins.push(coin);
        }
        if coins.is_empty() {
            match self.utxo_pos {
                Some(pos) => bail!(
                    "no unspent coin of {} at {pos}: see `plasma utxos`",
                    signer.address()
                ),
                None if self.all && claimed > 0 => bail!(
                    "{} has no unspent coins to exit: {claimed} are claimed by in-flight exits (`plasma exits` shows them)",
                    signer.address()
                ),
                None if self.all => bail!("{} has no unspent coins to exit", signer.address()),
                None => bail!("give a utxo position or --all"),
            }
        }
        let (bond, _) = session.l1.exit_params().await?;
        if self.all && !self.include_dust {
            let found = coins.len();
            coins = without_dust(&session, coins, bond).await?;
            if coins.is_empty() {
                bail!(
                    "all {found} unspent coin(s) of {} are worth less than the gas their exits cost now: nothing started (--include-dust exits them anyway)",
                    signer.address()
                );
            }
        }
        let mut started = Vec::new();
        for coin in coins {
            let receipt = session.l1.start_exit(&coin, bond).await?;
            started.push(json!({"utxoPos": coin.utxo_pos, "txHash": receipt.transaction_hash}));
            if !settings.json {
                note(&format!(
                    "exit of {} started (L1 transaction {})",
                    coin.utxo_pos, receipt.transaction_hash
                ));
            }
        }
        emit(settings, json!(started), || {
            format!(
                "{} exit(s) started; each posted a bond of {bond} wei",
                started.len()
            )
        });
        Ok(())
    }
}

/// `coins` without the ETH coins worth no more than the gas of their exit at the current price,
/// saying which were left. A token coin is always kept: its worth in ETH is not known here.
async fn without_dust(session: &Session, coins: Vec<Coin>, bond: U256) -> eyre::Result<Vec<Coin>> {
    let mut kept = Vec::with_capacity(coins.len());
    for coin in coins {
        if coin.output.token == ETH {
            let cost = session.l1.start_exit_cost(&coin, bond).await?;
            if coin.output.amount <= cost {
                warn(&format!(
                    "coin {} holds {} ETH, no more than the {} ETH of gas its exit costs now: not exited (--include-dust exits it anyway)",
                    coin.utxo_pos,
                    format_eth(coin.output.amount),
                    format_eth(cost)
                ));
                continue;
            }
        }
        kept.push(coin);
    }
    Ok(kept)
}

/// `bits` without the claims whose output a standard exit already owns (the contract would
/// refuse them), saying which were dropped.
fn claimable(session: &Session, hash: B256, tx: &Transaction, bits: u64) -> eyre::Result<u64> {
    let (kept, dropped) = without_standard_exits(&session.store, hash, tx, bits)?;
    for pos in dropped {
        warn(&format!(
            "{pos} has a standard exit on L1 already: it is paid there, not claimed in the in-flight exit"
        ));
    }
    Ok(kept)
}

/// `exit --in-flight`: start the in-flight exit of a payment this client signed, piggybacking
/// what `me` owns in it; or, when it is started already, piggyback what `me` still can.
async fn in_flight(
    settings: &Settings,
    session: &Session,
    me: Address,
    hash: B256,
) -> eyre::Result<()> {
    let l1 = &session.l1;
    // The sync above read L1's events into the store: the exit's data and state are there.
    let recorded = session.store.in_flight_exit(hash)?;
    let (receipts, started) = match recorded.as_ref().and_then(InFlightExit::from_record) {
        None => {
            let payment = session.store.in_flight(hash)?.ok_or_else(|| {
                eyre!("no in-flight exit of {hash} was started on L1, and this client did not sign that payment: the payer (or anyone holding it) must start it first")
            })?;
            let tx = Transaction::decode(&payment.tx_bytes)?;
            let bits = claimable(session, hash, &tx, own_piggybacks(&payment, &tx, me))?;
            let receipt = l1.start_in_flight_exit(me, &payment, bits).await?;
            (vec![receipt], true)
        }
        Some(exit) => {
            let bits = claimable(session, hash, &exit.tx, exit.open_for(me))?;
            if bits == 0 {
                bail!(
                    "the in-flight exit of {hash} holds nothing more of {me} to claim (already claimed, or none of its inputs and outputs is {me}'s)"
                );
            }
            (l1.piggyback(me, &exit, bits).await?, false)
        }
    };
    let hashes: Vec<B256> = receipts.iter().map(|r| r.transaction_hash).collect();
    emit(
        settings,
        json!({"inFlightExit": hash, "started": started, "transactions": hashes}),
        || {
            format!(
                "{} the in-flight exit of {hash} and claimed {me}'s part (L1 transactions {}); `plasma process-exits` pays it after the exit period",
                if started { "started" } else { "joined" },
                hashes
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        },
    );
    Ok(())
}
