//! L1 reorganisations under a deposit and an exit, made with anvil's own `evm_snapshot` and
//! `evm_revert` (the blocks after the snapshot are dropped; the next ones have other hashes),
//! against the operator binary — with no confirmations, where it applied the events and must
//! undo them, and with confirmations, where it must never apply them — and the `plasma` CLI,
//! which follows L1 with no confirmations.

use alloy::primitives::{Address, B256, Bytes, U256};
use alloy::providers::Provider;
use plasma_core::UtxoPos;
use plasma_integration::{Devnet, User, eth, poll};

use crate::client::EXIT_PERIOD;

/// `user` deposits `amount` with the CLI; returns the signed L1 transaction, to mine it again
/// after a reorganisation dropped it.
async fn deposit(net: &Devnet, user: &User, amount: &str) -> Bytes {
    let sent = user.ok(&["deposit", amount]);
    let hash: B256 = sent["txHash"]
        .as_str()
        .and_then(|h| h.parse().ok())
        .expect("the deposit's L1 transaction hash");
    net.chain
        .provider
        .raw_request("eth_getRawTransactionByHash".into(), (hash,))
        .await
        .expect("eth_getRawTransactionByHash")
}

async fn send_raw(net: &Devnet, raw: &Bytes) {
    let _: B256 = net
        .chain
        .provider
        .raw_request("eth_sendRawTransaction".into(), (raw,))
        .await
        .expect("the same signed deposit is valid again after the reorganisation");
}

/// The operator's outputs of `owner`: (position, amount, exiting).
async fn operator_utxos(net: &Devnet, owner: Address) -> Vec<(UtxoPos, U256, bool)> {
    net.operator
        .api()
        .utxos(owner, None, None)
        .await
        .expect("account utxos")
        .utxos
        .into_iter()
        .map(|u| (u.utxo.utxo_pos, u.utxo.amount, u.exiting))
        .collect()
}

/// Waits until the operator has followed L1 up to its head.
async fn operator_caught_up(net: &Devnet) {
    let head = net
        .chain
        .provider
        .get_block_number()
        .await
        .expect("eth_blockNumber");
    poll("the operator to follow L1 to its head", || async {
        let status = net.operator.status().await;
        (status.l1_cursor > head).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn with_no_confirmations_a_reorganised_deposit_and_exit_are_undone_and_mined_again_once() {
    let net = Devnet::start(EXIT_PERIOD).await;
    let (alice, bob) = (net.user("alice", 1), net.user("bob", 2));
    alice.ok(&["deposit", "1eth"]);
    alice.wait_balance(eth("1")).await;
    let kept = alice.coin_in_state("unspent");

    // A deposit the operator applies at once, then L1 reorganises it away.
    let before = net.chain.snapshot().await;
    let raw = deposit(&net, &alice, "0.5eth").await;
    alice.wait_balance(eth("1.5")).await;
    poll("the operator to apply the deposit", || async {
        (operator_utxos(&net, alice.address()).await.len() == 2).then_some(())
    })
    .await;
    net.chain.revert(before).await;
    net.chain.mine(1).await;
    poll("the operator to undo the deposit", || async {
        (operator_utxos(&net, alice.address()).await.len() == 1).then_some(())
    })
    .await;
    assert_eq!(
        net.operator
            .api()
            .block(1)
            .await
            .expect("block 1")
            .map(|b| b.blknum),
        Some(kept.blknum()),
        "the deposit block kept"
    );
    assert_eq!(
        net.operator.api().block(2).await.expect("block 2"),
        None,
        "the reorganised deposit's block is gone"
    );
    assert!(net.operator.counter("l1_reorgs").await >= 1);
    // Alice's client reads the new chain too (its journal undoes the range).
    alice.ok(&["sync"]);

    // The same signed deposit is mined again: credited once, by the operator and the client.
    send_raw(&net, &raw).await;
    net.chain.mine(2).await;
    operator_caught_up(&net).await;
    let utxos = operator_utxos(&net, alice.address()).await;
    assert_eq!(
        utxos.iter().map(|u| u.1).collect::<Vec<_>>(),
        vec![eth("1"), eth("0.5")],
        "{utxos:?}"
    );
    alice.wait_balance(eth("1.5")).await;
    assert_eq!(alice.coins().len(), 2, "{:?}", alice.coins());

    // An exit the operator and the client apply, then L1 reorganises away.
    let before = net.chain.snapshot().await;
    alice.ok(&["exit", &kept.to_string()]);
    poll("the operator to see the exit", || async {
        operator_utxos(&net, alice.address())
            .await
            .iter()
            .any(|u| u.0 == kept && u.2)
            .then_some(())
    })
    .await;
    assert_eq!(alice.coin_in_state("exiting"), kept);
    let exits = alice.ok(&["exits"]);
    assert_eq!(
        exits["standard"].as_array().map(Vec::len),
        Some(1),
        "{exits}"
    );
    net.chain.revert(before).await;
    net.chain.mine(1).await;
    poll("the operator to undo the exit", || async {
        operator_utxos(&net, alice.address())
            .await
            .iter()
            .any(|u| u.0 == kept && !u.2)
            .then_some(())
    })
    .await;
    let coins = alice.coins();
    assert!(
        coins.iter().all(|c| c["state"] == "unspent"),
        "the exit is gone from Alice's client: {coins:?}"
    );
    let exits = alice.ok(&["exits"]);
    assert_eq!(exits["standard"], serde_json::json!([]), "{exits}");

    // The coin is Alice's to spend again.
    alice.ok(&["send", &bob.address().to_string(), "1.2eth"]);
    bob.wait_balance(eth("1.2")).await;
    let log = std::fs::read_to_string(&net.operator.log).expect("operator log");
    assert!(
        log.contains("L1 reorganised"),
        "the operator says so in its log"
    );

    // A deposit Alice's client verified, whose block number the new chain gives to Bob's
    // deposit: her store no longer matches L1, and sync says so rather than going on.
    let before = net.chain.snapshot().await;
    deposit(&net, &alice, "0.1eth").await;
    alice.ok(&["sync"]);
    net.chain.revert(before).await;
    deposit(&net, &bob, "0.2eth").await;
    let refused = alice.fails(&["sync"]);
    assert!(
        refused.contains("L1 reorganised the commitment of block")
            && refused.contains("sync a fresh store"),
        "{refused}"
    );
    // The operator follows the new chain: Bob's deposit, not Alice's.
    poll("the operator to apply Bob's deposit", || async {
        operator_utxos(&net, bob.address())
            .await
            .iter()
            .any(|u| u.1 == eth("0.2"))
            .then_some(())
    })
    .await;
    assert!(
        operator_utxos(&net, alice.address())
            .await
            .iter()
            .all(|u| u.1 != eth("0.1")),
        "Alice's reorganised deposit is not credited"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn with_confirmations_a_deposit_reorganised_away_is_never_credited_and_once_when_mined_again()
{
    let net = Devnet::start_with(EXIT_PERIOD, &["--l1-confirmations", "2"]).await;
    let alice = net.user("alice", 1);
    let before = net.chain.snapshot().await;
    let raw = deposit(&net, &alice, "0.5eth").await;
    // One block deep: not applied yet.
    net.chain.mine(1).await;
    net.chain.revert(before).await;
    net.chain.mine(4).await;
    operator_caught_up_to_safe(&net, 2).await;
    assert_eq!(operator_utxos(&net, alice.address()).await, vec![]);
    assert_eq!(net.operator.api().block(1).await.expect("block 1"), None);
    assert_eq!(
        net.operator.counter("l1_reorgs").await,
        0,
        "nothing applied was reorganised"
    );

    send_raw(&net, &raw).await;
    net.chain.mine(2).await;
    poll("the operator to apply the confirmed deposit", || async {
        (!operator_utxos(&net, alice.address()).await.is_empty()).then_some(())
    })
    .await;
    net.chain.mine(4).await;
    operator_caught_up_to_safe(&net, 2).await;
    let utxos = operator_utxos(&net, alice.address()).await;
    assert_eq!(utxos.len(), 1, "credited once: {utxos:?}");
    assert_eq!(utxos[0].1, eth("0.5"));
    alice.wait_balance(eth("0.5")).await;
}

/// Waits until the operator has applied L1 up to `confirmations` below its head.
async fn operator_caught_up_to_safe(net: &Devnet, confirmations: u64) {
    let head = net
        .chain
        .provider
        .get_block_number()
        .await
        .expect("eth_blockNumber");
    poll(
        "the operator to follow L1 to its confirmed head",
        || async {
            let status = net.operator.status().await;
            (status.l1_cursor > head - confirmations).then_some(())
        },
    )
    .await;
}
