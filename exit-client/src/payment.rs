//! Paying: choosing the coins of a payment, and waiting until a sent payment is in a block that
//! is committed on L1 and verified by this client.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use alloy::primitives::{Address, U256};
use plasma_api::{SubmitResult, TxStatus};
use plasma_core::{Domain, ETH, MAX_INPUTS, Output, SignedTransaction, Transaction, UtxoPos};

use crate::operator::{OperatorClient, OperatorError};
use crate::store::{Batch, ClientStore, Coin, CoinState, InFlightPayment, StoreError};
use crate::sync::{SyncError, Syncer};

/// Why a payment cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PaymentError {
    /// The key's unspent coins of a token do not cover what the payment needs of it.
    #[error("insufficient funds: {owner} has {have} (base units) of {token} but needs {need}")]
    InsufficientFunds {
        /// The payer.
        owner: Address,
        /// The token (zero address: ETH).
        token: Address,
        /// What the payer's unspent coins of it hold.
        have: U256,
        /// What the payment needs of it (amount, plus the fee for ETH).
        need: U256,
    },
    /// More coins than one transaction can spend.
    #[error(
        "this payment needs {needed} coins but a transaction spends at most {MAX_INPUTS}: merge the coins first"
    )]
    TooManyCoins {
        /// Coins the payment would spend.
        needed: usize,
    },
}

/// Picks unspent coins of `owner` (largest first, at most 4) to pay `value` of `token` to `to`
/// plus `fee` in ETH, with the change back to `owner`.
pub fn build_payment(
    coins: &[Coin],
    owner: Address,
    to: Address,
    token: Address,
    value: U256,
    fee: U256,
) -> Result<Transaction, PaymentError> {
    let mut need: BTreeMap<Address, U256> = BTreeMap::new();
    *need.entry(token).or_default() += value;
    if !fee.is_zero() {
        *need.entry(ETH).or_default() += fee;
    }
    let mut inputs = Vec::new();
    let mut change = Vec::new();
    for (&token, &wanted) in &need {
        let mut candidates: Vec<&Coin> = coins
            .iter()
            .filter(|c| {
                c.output.owner == owner && c.output.token == token && c.state == CoinState::Unspent
            })
            .collect();
        candidates.sort_by_key(|c| std::cmp::Reverse(c.output.amount));
        let mut sum = U256::ZERO;
        for coin in candidates {
            if sum >= wanted {
                break;
            }
            sum += coin.output.amount;
            inputs.push(coin.utxo_pos);
        }
        if sum < wanted {
            return Err(PaymentError::InsufficientFunds {
                owner,
                token,
                have: sum,
                need: wanted,
            });
        }
        if sum > wanted {
            change.push(Output::new(owner, token, sum - wanted));
        }
    }
    if inputs.len() > MAX_INPUTS {
        return Err(PaymentError::TooManyCoins {
            needed: inputs.len(),
        });
    }
    let mut outputs = vec![Output::new(to, token, value)];
    outputs.extend(change);
    Ok(Transaction::payment(inputs, outputs))
}

/// Why no merge can be planned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MergeError {
    /// The key already holds no more coins of the token than asked.
    #[error(
        "nothing to merge: {owner} holds {coins} unspent coins of the token, the target is {target}"
    )]
    NothingToMerge {
        /// The key.
        owner: Address,
        /// Its unspent coins of the token.
        coins: usize,
        /// The count asked for.
        target: usize,
    },
    /// The target count is zero: merging leaves at least one coin.
    #[error("a merge leaves at least one coin: the target must be 1 or more")]
    ZeroTarget,
    /// The coins are too small to pay the fee of a merge payment.
    #[error(
        "the smallest coins hold {value} wei together, not more than the fee of {fee} wei: merging them would lose them"
    )]
    FeeExceedsCoins {
        /// What the coins of one merge hold.
        value: U256,
        /// The fee.
        fee: U256,
    },
    /// A token merge pays its fee in ETH, and the key has no free ETH coin that covers it.
    #[error(
        "merging token coins pays the fee of {fee} wei in ETH, and {owner} has no ETH coin left that covers it"
    )]
    NoEthForFee {
        /// The key.
        owner: Address,
        /// The fee.
        fee: U256,
    },
}

/// One round of merging the unspent coins of `token` that `owner` holds towards `target` coins:
/// payments with disjoint inputs, each spending its smallest coins (4 at a time) into one coin
/// of `owner`, that can go in one block. A token merge spends 3 token coins and one ETH coin for
/// the fee (its change back to `owner`) when `fee` is not zero. Run it again once the round's
/// payments are in a verified block, until it reports [`MergeError::NothingToMerge`].
pub fn plan_merge(
    coins: &[Coin],
    owner: Address,
    token: Address,
    target: usize,
    fee: U256,
) -> Result<Vec<Transaction>, MergeError> {
    if target == 0 {
        return Err(MergeError::ZeroTarget);
    }
    let unspent = |t: Address| {
        let mut of: Vec<&Coin> = coins
            .iter()
            .filter(|c| {
                c.output.owner == owner && c.output.token == t && c.state == CoinState::Unspent
            })
            .collect();
        of.sort_by_key(|c| (c.output.amount, c.utxo_pos));
        of
    };
    let mut left = unspent(token);
    if left.len() <= target {
        return Err(MergeError::NothingToMerge {
            owner,
            coins: left.len(),
            target,
        });
    }
    // ETH coins for the fees of a token merge, largest last (popped first).
    let mut fee_coins = if token != ETH && !fee.is_zero() {
        unspent(ETH)
    } else {
        Vec::new()
    };
    let per_tx = if token != ETH && !fee.is_zero() {
        MAX_INPUTS - 1
    } else {
        MAX_INPUTS
    };
    let mut reduce = left.len() - target;
    let mut txs = Vec::new();
    left.reverse(); // smallest popped first
    while reduce > 0 && left.len() >= 2 {
        let take = per_tx.min(reduce + 1).min(left.len());
        // Fewest payments (and fees): every payment spends `per_tx` coins but the one that
        // reaches the target. A smaller group waits for the next round, where the outputs of
        // this one join it, unless it is all this round can do.
        if take < per_tx && !txs.is_empty() {
            break;
        }
        let group: Vec<&Coin> = (0..take).filter_map(|_| left.pop()).collect();
        let value = group
            .iter()
            .fold(U256::ZERO, |sum, c| sum.saturating_add(c.output.amount));
        let mut inputs: Vec<UtxoPos> = group.iter().map(|c| c.utxo_pos).collect();
        let mut outputs = Vec::new();
        if token == ETH {
            if value <= fee {
                if txs.is_empty() {
                    return Err(MergeError::FeeExceedsCoins { value, fee });
                }
                break; // the rest are too small too: the round so far is what can be done
            }
            outputs.push(Output::new(owner, ETH, value - fee));
        } else {
            outputs.push(Output::new(owner, token, value));
            if !fee.is_zero() {
                let Some(eth) = fee_coins.pop().filter(|c| c.output.amount >= fee) else {
                    if txs.is_empty() {
                        return Err(MergeError::NoEthForFee { owner, fee });
                    }
                    break;
                };
                inputs.push(eth.utxo_pos);
                if eth.output.amount > fee {
                    outputs.push(Output::new(owner, ETH, eth.output.amount - fee));
                }
            }
        }
        reduce -= take - 1;
        txs.push(Transaction::payment(inputs, outputs));
    }
    Ok(txs)
}

/// The fee the operator asks of a payment (`GET /v1/fees`), or its minimum from its status if
/// it serves no fee schedule (an older operator).
pub async fn quoted_fee(operator: &OperatorClient) -> Result<U256, OperatorError> {
    match operator.fees().await {
        Ok(fees) => Ok(fees.payment.fee.max(fees.min_fee)),
        Err(e) if e.code() == Some(&plasma_api::ErrorCode::NotFound) => {
            Ok(operator.status().await?.min_fee)
        }
        Err(e) => Err(e),
    }
}

/// Signs `tx` with `signer` and records it as in flight — the payment, its signatures and the
/// coins it spends with their exit data, the coins marked [`CoinState::InFlight`] — in one
/// durable write, before the payment leaves this machine: from then on the coins are neither
/// spent again nor exited with a standard exit, and an in-flight exit has all it needs.
pub fn sign_in_flight<S: alloy::signers::SignerSync>(
    store: &ClientStore,
    tx: Transaction,
    domain: &Domain,
    signer: &S,
) -> Result<SignedTransaction, SignError> {
    let signed = SignedTransaction::sign(tx, domain, signer)?;
    let mut inputs = Vec::with_capacity(signed.tx().inputs.len());
    for pos in &signed.tx().inputs {
        let coin = store.coin(*pos)?.ok_or(SignError::NotACoin(*pos))?;
        inputs.push(coin);
    }
    let mut batch = Batch::default();
    for coin in &inputs {
        store.put_coin(
            &mut batch,
            &Coin {
                state: CoinState::InFlight,
                ..coin.clone()
            },
        );
    }
    let payment = InFlightPayment {
        tx_bytes: signed.bytes().clone(),
        signatures: signed.signatures().to_vec(),
        inputs,
    };
    store.put_in_flight(&mut batch, signed.hash(), &payment);
    store.write(batch)?;
    Ok(signed)
}

/// Undoes [`sign_in_flight`] for a payment that never reached the operator (it refused it, or
/// could not be reached): its coins are spendable again.
pub fn forget_unsent(store: &ClientStore, signed: &SignedTransaction) -> Result<(), StoreError> {
    let Some(payment) = store.in_flight(signed.hash())? else {
        return Ok(());
    };
    let mut batch = Batch::default();
    for coin in payment.inputs {
        store.put_coin(&mut batch, &coin);
    }
    store.delete_in_flight(&mut batch, signed.hash());
    store.write(batch)
}

/// Why a payment could not be signed and recorded.
#[derive(Debug, thiserror::Error)]
pub enum SignError {
    /// The signer failed.
    #[error("signing: {0}")]
    Sign(#[from] alloy::signers::Error),
    /// An input is not a coin of this client's store.
    #[error("input {0} is not one of this client's coins")]
    NotACoin(UtxoPos),
    /// The local store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why waiting for a payment's verified block ended without it.
#[derive(Debug, thiserror::Error)]
pub enum WaitError {
    /// Not in a block committed on L1 and verified within the patience given.
    #[error(
        "transaction {tx} was accepted but is not in a block committed on L1 after {waited}s ({where_}); its coins stay in flight: check later with `plasma utxos`, and if it never shows up (a withheld block, an operator gone), recover its money with `plasma exit --in-flight {tx}`"
    )]
    NotVerified {
        /// The transaction.
        tx: alloy::primitives::B256,
        /// Seconds waited.
        waited: u64,
        /// Where it was last seen.
        where_: String,
    },
    /// The operator no longer knows the transaction.
    #[error(
        "the operator no longer knows transaction {0}: it was dropped (did one of its inputs start exiting?)"
    )]
    Dropped(alloy::primitives::B256),
    /// The operator could not be asked.
    #[error(transparent)]
    Operator(#[from] OperatorError),
    /// Syncing failed (an invalid or withheld block, L1 or the store).
    #[error(transparent)]
    Sync(#[from] SyncError),
    /// The local store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Waits, polling every 250 ms for up to `patience`, until `submitted` is in a block that is
/// committed on L1 and verified by `syncer` into `store`. Returns where it is.
pub async fn wait_verified(
    syncer: &Syncer<'_>,
    store: &ClientStore,
    operator: &OperatorClient,
    mut submitted: SubmitResult,
    patience: Duration,
) -> Result<SubmitResult, WaitError> {
    let start = Instant::now();
    loop {
        if let TxStatus::Pending = submitted.tx_status() {
            let hash = submitted.tx_hash;
            submitted = operator
                .transaction(hash)
                .await?
                .ok_or(WaitError::Dropped(hash))?
                .result;
        }
        if let TxStatus::Included { blknum, .. } = submitted.tx_status() {
            syncer.sync(|_| {}).await?;
            if store.synced_blknum()? >= blknum {
                return Ok(submitted);
            }
        }
        if start.elapsed() > patience {
            return Err(WaitError::NotVerified {
                tx: submitted.tx_hash,
                waited: patience.as_secs(),
                where_: match submitted.tx_status() {
                    TxStatus::Pending => "still pending".to_owned(),
                    TxStatus::Included { blknum, .. } => {
                        format!("in block {blknum}, not yet committed")
                    }
                },
            });
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[cfg(test)]
mod tests {
    use alloy::primitives::{B256, Bytes};
    use plasma_core::UtxoPos;

    use super::*;

    fn merge_coins(amounts: &[(Address, u64)]) -> Vec<Coin> {
        amounts
            .iter()
            .enumerate()
            .map(|(i, &(token, amount))| coin(i as u64 + 1, token, amount, CoinState::Unspent))
            .collect()
    }

    /// Runs merge rounds to the end, each round's outputs becoming coins of the next, and
    /// returns the coins left and the payments made.
    fn merge_to_the_end(mut coins: Vec<Coin>, target: usize, fee: u64) -> (Vec<Coin>, usize) {
        let mut payments = 0;
        let mut next = 1_000;
        loop {
            let round = match plan_merge(&coins, ALICE, ETH, target, U256::from(fee)) {
                Ok(round) => round,
                Err(MergeError::NothingToMerge { .. }) => return (coins, payments),
                Err(e) => panic!("{e}"),
            };
            assert!(!round.is_empty(), "a round makes progress");
            for tx in round {
                payments += 1;
                coins.retain(|c| !tx.inputs.contains(&c.utxo_pos));
                for output in &tx.outputs {
                    next += 1;
                    coins.push(coin(
                        next,
                        output.token,
                        output.amount.to(),
                        CoinState::Unspent,
                    ));
                }
            }
        }
    }

    proptest::proptest! {
        /// Merging n coins down to t takes ⌈(n − t) / 3⌉ payments, the fewest 4-input payments
        /// can do, ends at exactly t coins, and loses nothing but the fees.
        #[test]
        fn a_merge_reaches_the_target_in_the_fewest_payments(
            amounts in proptest::collection::vec(1_000u64..1_000_000, 1..40),
            target in 1usize..8,
            fee in 0u64..10,
        ) {
            let n = amounts.len();
            let coins = merge_coins(&amounts.iter().map(|&a| (ETH, a)).collect::<Vec<_>>());
            let (left, payments) = merge_to_the_end(coins, target, fee);
            proptest::prop_assert_eq!(left.len(), n.min(target));
            proptest::prop_assert_eq!(payments, n.saturating_sub(target).div_ceil(3));
            let total: u64 = amounts.iter().sum();
            let after: U256 = left.iter().map(|c| c.output.amount).sum();
            proptest::prop_assert_eq!(after, U256::from(total - fee * payments as u64));
        }
    }

    #[test]
    fn a_merge_round_spends_the_smallest_coins_four_at_a_time_down_to_the_target() {
        let coins = merge_coins(&[
            (ETH, 100),
            (ETH, 5),
            (ETH, 7),
            (ETH, 9),
            (ETH, 11),
            (ETH, 50),
            (ETH, 60),
        ]);
        // 7 coins to 1: a round of one payment (4 → 1) leaves 4 coins, which the next round
        // merges in one payment: 2 payments in all, not 3 (4 → 1 and 3 → 1, then 2 → 1).
        let round = plan_merge(&coins, ALICE, ETH, 1, U256::from(1)).unwrap();
        assert_eq!(round.len(), 1);
        assert_eq!(round[0].inputs.len(), 4);
        assert_eq!(
            round[0].outputs,
            vec![Output::new(ALICE, ETH, U256::from(5 + 7 + 9 + 11 - 1))]
        );
        // To 5: one payment of 3 coins.
        let round = plan_merge(&coins, ALICE, ETH, 5, U256::ZERO).unwrap();
        assert_eq!(round.len(), 1);
        assert_eq!(round[0].inputs.len(), 3);
        assert_eq!(
            plan_merge(&coins, ALICE, ETH, 7, U256::ZERO),
            Err(MergeError::NothingToMerge {
                owner: ALICE,
                coins: 7,
                target: 7
            })
        );
        assert_eq!(
            plan_merge(&coins, ALICE, ETH, 0, U256::ZERO),
            Err(MergeError::ZeroTarget)
        );
        assert_eq!(
            plan_merge(&coins, BOB, ETH, 1, U256::ZERO),
            Err(MergeError::NothingToMerge {
                owner: BOB,
                coins: 0,
                target: 1
            })
        );
        // Coins too small for the fee are not merged away.
        assert_eq!(
            plan_merge(&coins, ALICE, ETH, 1, U256::from(32)),
            Err(MergeError::FeeExceedsCoins {
                value: U256::from(32),
                fee: U256::from(32)
            })
        );
    }

    #[test]
    fn a_token_merge_pays_its_fee_from_an_eth_coin() {
        let coins = merge_coins(&[(TOKEN, 1), (TOKEN, 2), (TOKEN, 3), (TOKEN, 4), (ETH, 10)]);
        let round = plan_merge(&coins, ALICE, TOKEN, 1, U256::from(4)).unwrap();
        assert_eq!(round.len(), 1, "3 token coins, then the 4th is alone");
        assert_eq!(round[0].inputs.len(), 4);
        assert_eq!(
            round[0].outputs,
            vec![
                Output::new(ALICE, TOKEN, U256::from(6)),
                Output::new(ALICE, ETH, U256::from(6))
            ]
        );
        let no_eth = merge_coins(&[(TOKEN, 1), (TOKEN, 2)]);
        assert_eq!(
            plan_merge(&no_eth, ALICE, TOKEN, 1, U256::from(4)),
            Err(MergeError::NoEthForFee {
                owner: ALICE,
                fee: U256::from(4)
            })
        );
        let free = plan_merge(&no_eth, ALICE, TOKEN, 1, U256::ZERO).unwrap();
        assert_eq!(
            free[0].outputs,
            vec![Output::new(ALICE, TOKEN, U256::from(3))]
        );
    }

    const ALICE: Address = Address::repeat_byte(0xa1);
    const BOB: Address = Address::repeat_byte(0xb0);
    const TOKEN: Address = Address::repeat_byte(0x70);

    fn coin(n: u64, token: Address, amount: u64, state: CoinState) -> Coin {
        Coin {
            utxo_pos: UtxoPos::new(n, 0, 0).unwrap(),
            output: Output::new(ALICE, token, U256::from(amount)),
            tx_bytes: Bytes::new(),
            proof: Bytes::new(),
            root: B256::ZERO,
            block_timestamp: 0,
            state,
        }
    }

    #[test]
    fn takes_the_largest_coins_and_returns_change() {
        let coins = [
            coin(1, ETH, 10, CoinState::Unspent),
            coin(2, ETH, 50, CoinState::Unspent),
            coin(3, ETH, 100, CoinState::Spent),
            coin(4, ETH, 30, CoinState::Unspent),
        ];
        let tx = build_payment(&coins, ALICE, BOB, ETH, U256::from(60), U256::from(5)).unwrap();
        // 65 needed: 50 then 30 (the spent 100 is never taken).
        assert_eq!(tx.inputs, vec![coins[1].utxo_pos, coins[3].utxo_pos]);
        assert_eq!(
            tx.outputs,
            vec![
                Output::new(BOB, ETH, U256::from(60)),
                Output::new(ALICE, ETH, U256::from(15))
            ]
        );
    }

    #[test]
    fn a_token_payment_pays_its_fee_in_eth() {
        let coins = [
            coin(1, TOKEN, 7, CoinState::Unspent),
            coin(2, ETH, 3, CoinState::Unspent),
        ];
        let tx = build_payment(&coins, ALICE, BOB, TOKEN, U256::from(7), U256::from(1)).unwrap();
        assert_eq!(tx.inputs.len(), 2);
        assert_eq!(
            tx.outputs,
            vec![
                Output::new(BOB, TOKEN, U256::from(7)),
                Output::new(ALICE, ETH, U256::from(2))
            ]
        );
    }

    #[test]
    fn refuses_what_the_coins_cannot_pay() {
        let coins: Vec<Coin> = (1..=5)
            .map(|n| coin(n, ETH, 10, CoinState::Unspent))
            .collect();
        assert_eq!(
            build_payment(&coins, ALICE, BOB, ETH, U256::from(51), U256::ZERO),
            Err(PaymentError::InsufficientFunds {
                owner: ALICE,
                token: ETH,
                have: U256::from(50),
                need: U256::from(51)
            })
        );
        assert_eq!(
            build_payment(&coins, ALICE, BOB, ETH, U256::from(45), U256::ZERO),
            Err(PaymentError::TooManyCoins { needed: 5 })
        );
        assert!(matches!(
            build_payment(&coins, BOB, ALICE, ETH, U256::from(1), U256::ZERO),
            Err(PaymentError::InsufficientFunds { .. })
        ));
    }
}
