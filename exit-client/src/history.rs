//! A key's payments, sent and received, from the verified local data alone: the coins the sync
//! recorded for it, the transactions that spent them, and the payments it signed that no
//! verified block holds yet. Nothing here asks the operator.

use std::collections::{BTreeMap, HashSet};

use alloy::primitives::{Address, B256, U256};
use plasma_core::{ETH, Transaction, is_deposit_block};
use serde::Serialize;

use crate::store::{ClientStore, Coin, StoreError, wire_name};

/// What a history entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    /// Money brought from L1 (a deposit block).
    Deposit,
    /// The fees of an operator block, claimed by the key (its fee claim, see
    /// [`plasma_core::fee_claim`]).
    FeeClaim,
    /// A payment from someone else.
    Received,
    /// A payment the key made.
    Sent,
}

/// An amount of one token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenAmount {
    /// The token (the zero address for ETH).
    pub token: Address,
    /// In base units (wei for ETH), as a decimal string in JSON.
    #[serde(with = "plasma_core::decimal")]
    pub amount: U256,
}

/// One payment or deposit of the key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryEntry {
    /// Deposit, fee claim, received or sent.
    pub kind: EntryKind,
    /// Its block and index there; none for a payment not yet in a verified block.
    pub blknum: Option<u64>,
    /// Its index in the block.
    pub tx_index: Option<u64>,
    /// The transaction's hash.
    pub tx_hash: B256,
    /// Who paid (received: the signers of its inputs) or who was paid (sent: the owners of
    /// its outputs other than the key).
    pub counterparts: Vec<Address>,
    /// What moved: received, the key's outputs; sent, the outputs to others (change excluded).
    pub amounts: Vec<TokenAmount>,
    /// Sent: the fee it paid (its ETH inputs less its ETH outputs), when every input was the
    /// key's.
    #[serde(with = "plasma_core::decimal::option")]
    pub fee: Option<U256>,
    /// Received or deposited: the state of the coin now (`unspent`, `spent`, `exiting`,
    /// `exited`, `in_flight`); sent: `verified`, or `in_flight` until a verified block holds it.
    pub state: String,
}

/// The history of `owner` in `store`, oldest first (payments not yet verified last). Signers
/// of received payments are recovered under `domain_separator`.
pub fn history(
    store: &ClientStore,
    owner: Address,
    domain_separator: &B256,
) -> Result<Vec<HistoryEntry>, StoreError> {
    let coins: Vec<Coin> = store
        .coins()?
        .into_iter()
        .filter(|c| c.output.owner == owner)
        .collect();
    let own: HashSet<_> = coins.iter().map(|c| c.utxo_pos).collect();
    let mut entries = Vec::new();
    // Received and deposited: a coin whose transaction spent none of the key's coins.
    for coin in &coins {
        let Ok(tx) = Transaction::decode(&coin.tx_bytes) else {
            continue;
        };
        if tx.inputs.iter().any(|input| own.contains(input)) {
            continue; // change of the key's own payment: in its sent entry
        }
        let kind = if tx.inputs.is_empty() && is_deposit_block(coin.utxo_pos.blknum()) {
            EntryKind::Deposit
        } else if tx.inputs.is_empty() {
            EntryKind::FeeClaim
        } else {
            EntryKind::Received
        };
        let mut payers = Vec::new();
        for input in &tx.inputs {
            if let Some(spend) = store.spend_of(*input)?
                && let Ok(payer) = spend.signature.recover(&tx.signing_hash(domain_separator))
                && !payers.contains(&payer)
            {
                payers.push(payer);
            }
        }
        entries.push(HistoryEntry {
            kind,
            blknum: Some(coin.utxo_pos.blknum()),
            tx_index: Some(coin.utxo_pos.tx_index()),
            tx_hash: alloy::primitives::keccak256(&coin.tx_bytes),
            counterparts: payers,
            amounts: vec![TokenAmount {
                token: coin.output.token,
                amount: coin.output.amount,
            }],
            fee: None,
            state: wire_name(coin.state),
        });
    }
    // Sent: the transactions that spent the key's coins, once each.
    let mut sent: BTreeMap<(u64, u64), Transaction> = BTreeMap::new();
    let mut hashes = BTreeMap::new();
    for coin in &coins {
        if let Some(spend) = store.spend_of(coin.utxo_pos)?
            && let Ok(tx) = Transaction::decode(&spend.tx_bytes)
        {
            hashes.insert(
                (spend.blknum, spend.tx_index),
                alloy::primitives::keccak256(&spend.tx_bytes),
            );
            sent.insert((spend.blknum, spend.tx_index), tx);
        }
    }
    for ((blknum, tx_index), tx) in sent {
        entries.push(sent_entry(
            &tx,
            hashes[&(blknum, tx_index)],
            owner,
            &coins,
            Some((blknum, tx_index)),
            "verified",
        ));
    }
    entries.sort_by_key(|e| (e.blknum, e.tx_index, e.kind == EntryKind::Sent));
    // Signed and sent, not in a verified block yet.
    for hash in store.in_flight_hashes()? {
        if let Some(payment) = store.in_flight(hash)?
            && let Ok(tx) = Transaction::decode(&payment.tx_bytes)
            && payment.inputs.iter().any(|c| c.output.owner == owner)
        {
            entries.push(sent_entry(
                &tx,
                hash,
                owner,
                &payment.inputs,
                None,
                "in_flight",
            ));
        }
    }
    Ok(entries)
}

/// What the fee claims of the wallet's keys took: the operator's fees, for an operator key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FeesCollected {
    /// The key the claims paid.
    pub owner: Address,
    /// How many blocks' fees it claimed.
    pub claims: u64,
    /// What they took in all, in wei.
    #[serde(with = "plasma_core::decimal")]
    pub total: U256,
    /// What of it is still unspent on the chain, in wei.
    #[serde(with = "plasma_core::decimal")]
    pub unspent: U256,
}

/// The fees the wallet's keys collected through fee claims in verified blocks, by key.
pub fn fees_collected(store: &ClientStore) -> Result<Vec<FeesCollected>, StoreError> {
    let mut by_owner: BTreeMap<Address, FeesCollected> = BTreeMap::new();
    for coin in store.coins()? {
        let pos = coin.utxo_pos;
        if is_deposit_block(pos.blknum())
            || !Transaction::decode(&coin.tx_bytes).is_ok_and(|tx| tx.inputs.is_empty())
        {
            continue;
        }
        let entry = by_owner
            .entry(coin.output.owner)
            .or_insert_with(|| FeesCollected {
                owner: coin.output.owner,
                claims: 0,
                total: U256::ZERO,
                unspent: U256::ZERO,
            });
        entry.claims += 1;
        entry.total = entry.total.saturating_add(coin.output.amount);
        if coin.state == crate::store::CoinState::Unspent {
            entry.unspent = entry.unspent.saturating_add(coin.output.amount);
        }
    }
    Ok(by_owner.into_values().collect())
}

/// The entry of payment `tx` sent by `owner`, whose inputs are among `inputs`.
fn sent_entry(
    tx: &Transaction,
    tx_hash: B256,
    owner: Address,
    inputs: &[Coin],
    at: Option<(u64, u64)>,
    state: &str,
) -> HistoryEntry {
    let mut counterparts = Vec::new();
    let mut amounts: Vec<TokenAmount> = Vec::new();
    for output in tx.outputs.iter().filter(|o| o.owner != owner) {
        if !counterparts.contains(&output.owner) {
            counterparts.push(output.owner);
        }
        match amounts.iter_mut().find(|a| a.token == output.token) {
            Some(sum) => sum.amount = sum.amount.saturating_add(output.amount),
            None => amounts.push(TokenAmount {
                token: output.token,
                amount: output.amount,
            }),
        }
    }
    let spent: Vec<&Coin> = tx
        .inputs
        .iter()
        .filter_map(|input| inputs.iter().find(|c| c.utxo_pos == *input))
        .collect();
    let fee = (spent.len() == tx.inputs.len()).then(|| {
        let eth = |amounts: &mut dyn Iterator<Item = U256>| {
            amounts.fold(U256::ZERO, |sum, a| sum.saturating_add(a))
        };
        let paid_in = eth(&mut spent
            .iter()
            .filter(|c| c.output.token == ETH)
            .map(|c| c.output.amount));
        let paid_out = eth(&mut tx
            .outputs
            .iter()
            .filter(|o| o.token == ETH)
            .map(|o| o.amount));
        paid_in.saturating_sub(paid_out)
    });
    HistoryEntry {
        kind: EntryKind::Sent,
        blknum: at.map(|a| a.0),
        tx_index: at.map(|a| a.1),
        tx_hash,
        counterparts,
        amounts,
        fee,
        state: state.to_owned(),
    }
}
