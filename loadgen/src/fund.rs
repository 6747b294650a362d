//! Funding: one L1 deposit, fanned out on the child chain into one coin per payment of the
//! measured wave.
//!
//! The fan-out is a tree of 1-input, 4-output payments: each level spends coins of the level
//! before, so it waits for their block. The last level splits only as many coins as the wave
//! still lacks. New coins go to the accounts in turn.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use alloy::primitives::{B256, U256};
use eyre::{bail, eyre};
use plasma_core::{ETH, Output, SignedTransaction, Transaction, UtxoPos, transition};
use rayon::prelude::*;

use crate::api::Api;
use crate::keys::Account;

/// A coin the generator controls: who owns it (an index into the accounts; `None` for the
/// funder), where it is, and how much it holds.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Coin {
    pub(crate) owner: Option<usize>,
    pub(crate) pos: UtxoPos,
    pub(crate) amount: U256,
}

/// Where transactions landed: `(blknum, txIndex)` by hash, read from the operator's blocks.
pub(crate) struct Inclusion {
    next_blknum: u64,
    at: HashMap<B256, (u64, usize)>,
}

impl Inclusion {
    /// Starts reading blocks at `next_blknum`.
    pub(crate) fn new(next_blknum: u64) -> Self {
        Self {
            next_blknum,
            at: HashMap::new(),
        }
    }

    /// Reads new blocks until every hash in `wanted` is placed; returns their places.
    async fn wait_for(
        &mut self,
        api: &Api,
        wanted: &[B256],
    ) -> eyre::Result<HashMap<B256, (u64, usize)>> {
        let start = Instant::now();
        let mut missing: HashSet<B256> = wanted
            .iter()
            .filter(|h| !self.at.contains_key(*h))
            .copied()
            .collect();
        while !missing.is_empty() {
            let blocks = api.blocks_from(self.next_blknum).await?;
            if blocks.is_empty() {
                if start.elapsed() > Duration::from_secs(300) {
                    bail!(
                        "{} transactions not in any block after 300 s",
                        missing.len()
                    );
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            }
            for block in blocks {
                for (index, tx) in block.transactions.iter().enumerate() {
                    let hash = tx.hash();
                    if missing.remove(&hash) {
                        self.at.insert(hash, (block.blknum, index));
                    }
                }
                self.next_blknum = self.next_blknum.max(block.blknum + 1);
            }
        }
        Ok(wanted
            .iter()
            .filter_map(|h| self.at.remove(h).map(|at| (*h, at)))
            .collect())
    }
}

/// Pre-serialized request bodies of `txs`, `batch` transactions each, in `encoding`.
pub(crate) fn bodies(
    txs: &[SignedTransaction],
    batch: usize,
    encoding: plasma_api::SubmitEncoding,
) -> Vec<Vec<u8>> {
    txs.par_chunks(batch.clamp(1, plasma_api::MAX_BATCH))
        .map(|chunk| encoding.encode(chunk))
        .collect()
}

/// How one request body fared: when it was first sent, and how often it was refused for a full
/// mempool before it was accepted.
pub(crate) struct Delivery {
    pub(crate) at: Instant,
    pub(crate) refusals: u32,
}

/// Sends `bodies` over `concurrency` connections, taken in order, each until accepted. Returns
/// how each fared, in the order of `bodies`.
pub(crate) async fn send_all(
    api: &Api,
    bodies: Vec<Vec<u8>>,
    concurrency: usize,
) -> eyre::Result<Vec<Delivery>> {
    let count = bodies.len();
    // Workers pop from the back: the first body goes first.
    let queue = Arc::new(Mutex::new(
        bodies.into_iter().enumerate().rev().collect::<Vec<_>>(),
    ));
    let mut workers = Vec::new();
    for _ in 0..concurrency.max(1) {
        let (api, queue) = (api.clone(), queue.clone());
        workers.push(tokio::spawn(async move {
            let mut delivered = Vec::new();
            loop {
                let next = queue.lock().map_err(|_| eyre!("queue poisoned"))?.pop();
                let Some((index, body)) = next else {
                    return Ok::<_, eyre::Report>(delivered);
                };
                let at = Instant::now();
                let refusals = api.submit_until_accepted(&body).await?;
                delivered.push((index, Delivery { at, refusals }));
            }
        }));
    }
    let mut delivered = Vec::with_capacity(count);
    for worker in workers {
        delivered.extend(worker.await??);
    }
    delivered.sort_by_key(|(index, _)| *index);
    Ok(delivered.into_iter().map(|(_, d)| d).collect())
}

/// What funding made.
pub(crate) struct Funded {
    /// At least the number of coins asked for.
    pub(crate) coins: Vec<Coin>,
    /// Fan-out transactions sent.
    pub(crate) transactions: usize,
    /// Fan-out levels.
    pub(crate) levels: usize,
    /// How long it took.
    pub(crate) took: Duration,
}

/// Splits `deposit` into at least `wanted` coins spread over `accounts`.
#[allow(
    clippy::too_many_arguments,
    reason = "one call site; the settings are the generator's flags"
)]
pub(crate) async fn fan_out(
    api: &Api,
    separator: &B256,
    funder: &Account,
    accounts: &[Account],
    deposit: Coin,
    wanted: usize,
    batch: usize,
    concurrency: usize,
) -> eyre::Result<Funded> {
    let start = Instant::now();
    let mut inclusion = Inclusion::new(api.status().await?.next_block);
    let mut coins = vec![deposit];
    let mut next_owner = 0usize;
    let (mut transactions, mut levels) = (0usize, 0usize);
    while coins.len() < wanted {
        // Each split turns one coin into four: split only what the wave still lacks.
        let splits = coins.len().min((wanted - coins.len()).div_ceil(3));
        let kept = coins.split_off(splits);
        let owners: Vec<[usize; 4]> = (0..splits)
            .map(|_| {
                let owners = [0, 1, 2, 3].map(|k| (next_owner + k) % accounts.len());
                next_owner = (next_owner + 4) % accounts.len();
                owners
            })
            .collect();
        let txs: Vec<SignedTransaction> = coins
            .par_iter()
            .zip(&owners)
            .map(|(coin, owners)| {
                let quarter = coin.amount / U256::from(4);
                let outputs = owners
                    .iter()
                    .enumerate()
                    .map(|(k, owner)| {
                        let amount = if k == 0 {
                            coin.amount - quarter * U256::from(3)
                        } else {
                            quarter
                        };
                        Output::new(accounts[*owner].address, ETH, amount)
                    })
                    .collect();
                let signer = coin.owner.map_or(funder, |o| &accounts[o]);
                signer.sign(Transaction::payment(vec![coin.pos], outputs), separator)
            })
            .collect();
        send_all(api, bodies(&txs, batch, api.encoding()), concurrency).await?;
        let hashes: Vec<B256> = txs.iter().map(SignedTransaction::hash).collect();
        let at = inclusion.wait_for(api, &hashes).await?;
        let mut next = Vec::with_capacity(splits * 4 + kept.len());
        for ((tx, hash), owners) in txs.iter().zip(&hashes).zip(&owners) {
            let (blknum, index) = at[hash];
            for (created, owner) in transition::outputs_at(blknum, index, tx.tx()).zip(owners) {
                let created = created?;
                next.push(Coin {
                    owner: Some(*owner),
                    pos: created.pos,
                    amount: created.output.amount,
                });
            }
        }
        next.extend(kept);
        coins = next;
        transactions += txs.len();
        levels += 1;
        eprintln!(
            "loadgen: fan-out level {levels}: {} coins ({:.0} s)",
            coins.len(),
            start.elapsed().as_secs_f64()
        );
    }
    Ok(Funded {
        coins,
        transactions,
        levels,
        took: start.elapsed(),
    })
}
