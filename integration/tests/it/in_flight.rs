//! In-flight exits with the `plasma` CLI: a payment that never reaches a verified block — never
//! included, or included in a block the operator withholds — is recovered by its payer and its
//! payee, one command each, with no help from the operator. Each ends with L1 balances checked
//! to the wei, gas accounted from the receipts.

use alloy::primitives::U256;
use plasma_core::{ETH, Output, SignedTransaction, Transaction, UtxoPos};
use plasma_integration::byzantine::{Byzantine, Serve};
use plasma_integration::{Devnet, User, WatcherProcess, eth};
use serde_json::Value;

use crate::client::EXIT_PERIOD;
use crate::in_flight_challenges::{mined, raised_within_a_block};

/// The gas, in wei, of every L1 transaction a command's JSON lists under `transactions`.
async fn gas_of(net: &Devnet, result: &Value) -> U256 {
    let mut total = U256::ZERO;
    for hash in result["transactions"].as_array().expect("transactions") {
        total += net.gas_cost(hash).await;
    }
    total
}

/// `alice` deposits 1 ETH; returns the coin once her client has verified it.
pub(crate) async fn deposits_one_eth(alice: &User) -> UtxoPos {
    alice.ok(&["deposit", "1eth"]);
    alice.wait_balance(eth("1")).await;
    alice.coin_in_state("unspent")
}

/// The payment of these scenarios: `coin` (1 ETH) pays Bob 0.6 and 0.4 back to Alice.
pub(crate) fn pays_bob_six_tenths(alice: &User, bob: &User, coin: UtxoPos) -> Transaction {
    Transaction::payment(
        vec![coin],
        vec![
            Output::new(bob.address(), ETH, eth("0.6")),
            Output::new(alice.address(), ETH, eth("0.4")),
        ],
    )
}

/// Alice deposits 1 ETH and signs 0.6 to Bob, 0.4 back to her. Her client records the payment
/// in flight, as `send` does before it sends; returns the payment and her deposit coin.
async fn alice_signs_a_payment(
    net: &Devnet,
    alice: &User,
    bob: &User,
) -> (SignedTransaction, UtxoPos) {
    let deposit = deposits_one_eth(alice).await;
    let tx = pays_bob_six_tenths(alice, bob, deposit);
    let store = alice.store(net);
    let signed =
        plasma_client::payment::sign_in_flight(&store, tx, &net.chain.domain(), &alice.key)
            .expect("signed and recorded");
    (signed, deposit)
}

/// One command each recovers the payment: Alice starts the in-flight exit and claims her input
/// and change, Bob's client finds it on L1 and claims his output; after the exit period Bob
/// processes. Checks both L1 balances to the wei.
async fn recover_with_one_command_each(net: &Devnet, alice: &User, bob: &User, hash: &str) {
    let alice_before = net.l1_balance(alice.address()).await;
    let started = alice.ok(&["exit", "--in-flight", hash]);
    assert_eq!(started["started"], true, "{started}");
    let alice_gas = gas_of(net, &started).await;
    let bob_before = net.l1_balance(bob.address()).await;
    let joined = bob.ok(&["exit", "--in-flight", hash]);
    assert_eq!(joined["started"], false, "{joined}");
    let mut bob_gas = gas_of(net, &joined).await;
    assert!(
        bob.fails(&["exit", "--in-flight", hash])
            .contains("nothing more"),
        "a second claim is refused"
    );

    // No competitor was shown: the payment is canonical, its outputs are paid, and every bond
    // goes back to its owner.
    net.pass_exit_period().await;
    let processed = bob.ok(&["process-exits"]);
    assert_eq!(
        processed["inFlight"],
        serde_json::json!([hash]),
        "{processed}"
    );
    bob_gas += gas_of(net, &processed).await;
    assert_eq!(
        net.l1_balance(alice.address()).await,
        alice_before - alice_gas + eth("0.4")
    );
    assert_eq!(
        net.l1_balance(bob.address()).await,
        bob_before - bob_gas + eth("0.6")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_payment_never_included_is_recovered_by_payer_and_payee_with_one_command_each() {
    let net = Devnet::start(EXIT_PERIOD).await;
    let (alice, bob) = (net.user("alice", 1), net.user("bob", 2));
    let (signed, deposit) = alice_signs_a_payment(&net, &alice, &bob).await;
    // The operator never sees it. Alice's coin is in flight, and never exited by a standard
    // exit.
    assert_eq!(alice.coin_in_state("in_flight"), deposit);
    let refused = alice.fails(&["exit", "--all"]);
    assert!(refused.contains("no unspent coins"), "{refused}");
    recover_with_one_command_each(&net, &alice, &bob, &signed.hash().to_string()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_payment_in_a_withheld_block_is_recovered_and_its_output_is_paid_once() {
    let mut net = Devnet::start(EXIT_PERIOD).await;
    let (alice, bob) = (net.user("alice", 1), net.user("bob", 2));
    let (signed, _) = alice_signs_a_payment(&net, &alice, &bob).await;
    let hash = signed.hash().to_string();
    // Bob's watcher guards his key and acts for it (its withholding alarm is set past the
    // test's length: what it does here, it does for the in-flight exit alone).
    let bob_watch = ["--exit-on-danger", "--withhold-after", "1h"];
    let mut watcher = WatcherProcess::start(&bob, &bob_watch);
    // The operator turns bad: it puts the payment in a block, commits the root, withholds the
    // data, and then stops.
    let byzantine = Byzantine::take_over(&mut net).await;
    let (block, _) = byzantine
        .commit(&net, vec![signed.clone()], Serve::Nothing)
        .await;
    drop(byzantine);

    // Alice recovers with one command; Bob's watcher sees the in-flight exit of a payment to
    // him and claims his output.
    let alice_before = net.l1_balance(alice.address()).await;
    let bob_before = net.l1_balance(bob.address()).await;
    let started = alice.ok(&["exit", "--in-flight", &hash]);
    let alice_gas = gas_of(&net, &started).await;
    let (cause, _) = mined(&net, &started["transactions"][0]).await;
    let available =
        raised_within_a_block(&mut watcher, "piggyback_available", &hash, cause, |_| true).await;
    assert_eq!(available["claims"], 1 << 4, "Bob's output 0: {available}");
    let claimed = watcher
        .wait_event("piggybacked", |e| e["inFlightTx"] == hash.as_str())
        .await;
    let mut bob_gas = gas_of(&net, &claimed).await;
    watcher.restarted_raises_nothing(&bob, &bob_watch);

    net.pass_exit_period().await;
    let processed = bob.ok(&["process-exits"]);
    assert_eq!(
        processed["inFlight"],
        serde_json::json!([hash]),
        "{processed}"
    );
    bob_gas += gas_of(&net, &processed).await;
    assert_eq!(
        net.l1_balance(alice.address()).await,
        alice_before - alice_gas + eth("0.4")
    );
    assert_eq!(
        net.l1_balance(bob.address()).await,
        bob_before - bob_gas + eth("0.6")
    );

    // Bob's output was paid by the in-flight exit: even with the block's proof (the operator
    // has it), a standard exit of it is refused.
    let proof = block.merkle_tree().unwrap().proof(0).unwrap();
    let bond = net.exit_bond().await;
    let again = net
        .chain
        .contract()
        .startStandardExit(
            UtxoPos::new(block.blknum, 0, 0).unwrap().to_u256(),
            signed.bytes().clone(),
            alloy::primitives::Bytes::copy_from_slice(&proof.to_bytes()),
        )
        .value(bond)
        .from(bob.address())
        .call()
        .await;
    let refused = again
        .err()
        .expect("a second exit of Bob's output is refused")
        .as_decoded_interface_error::<plasma_contracts::RootChain::RootChainErrors>();
    assert!(
        matches!(
            refused,
            Some(plasma_contracts::RootChain::RootChainErrors::OutputAlreadyExited(_))
        ),
        "{refused:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_watcher_on_danger_starts_the_in_flight_exit_of_its_users_withheld_payment() {
    let mut net = Devnet::start(EXIT_PERIOD).await;
    let (alice, bob) = (net.user("alice", 1), net.user("bob", 2));
    let (signed, _) = alice_signs_a_payment(&net, &alice, &bob).await;
    let hash = signed.hash().to_string();
    // Alice's watcher runs on her own folder: it holds what her payment's exit needs.
    let mut watcher =
        WatcherProcess::start(&alice, &["--exit-on-danger", "--withhold-after", "1s"]);
    let alice_before = net.l1_balance(alice.address()).await;
    // The operator puts the payment in a block, commits it, withholds it, and stops.
    let byzantine = Byzantine::take_over(&mut net).await;
    let (block, _) = byzantine
        .commit(&net, vec![signed.clone()], Serve::Nothing)
        .await;
    drop(byzantine);

    let withheld = watcher
        .wait_event("block_withholding", |e| e["blknum"] == block.blknum)
        .await;
    let started = watcher
        .wait_event("in_flight_exit_started", |e| {
            e["inFlightTx"] == hash.as_str()
        })
        .await;
    assert!(started["txHash"].is_string(), "after {withheld}: {started}");
    let alice_gas = net.gas_cost(&started["txHash"]).await;
    // Her coin is in flight: the watcher started no standard exit of it, and claimed her input
    // and change in the start itself (nothing is claimed twice).
    let events = watcher.events();
    assert!(
        events
            .iter()
            .all(|e| e["event"] != "exit_started" && e["event"] != "piggybacked"),
        "{events:?}"
    );
    watcher.stop();

    let bob_before = net.l1_balance(bob.address()).await;
    let joined = bob.ok(&["exit", "--in-flight", &hash]);
    let mut bob_gas = gas_of(&net, &joined).await;
    net.pass_exit_period().await;
    let processed = bob.ok(&["process-exits"]);
    bob_gas += gas_of(&net, &processed).await;
    assert_eq!(
        net.l1_balance(alice.address()).await,
        alice_before - alice_gas + eth("0.4")
    );
    assert_eq!(
        net.l1_balance(bob.address()).await,
        bob_before - bob_gas + eth("0.6")
    );
}
