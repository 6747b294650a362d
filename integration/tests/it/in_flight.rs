//! In-flight exits with the `plasma` CLI: a payment that never reaches a verified block is
//! recovered by its payer and its payee, one command each, with no help from the operator.

use alloy::primitives::U256;
use plasma_core::{ETH, Output, Transaction};
use plasma_integration::{Devnet, User, eth};
use serde_json::Value;

use crate::client::EXIT_PERIOD;

/// The gas, in wei, of every L1 transaction a command's JSON lists under `transactions`.
async fn gas_of(net: &Devnet, result: &Value) -> U256 {
    let mut total = U256::ZERO;
    for hash in result["transactions"].as_array().expect("transactions") {
        total += net.gas_cost(hash).await;
    }
    total
}

#[tokio::test(flavor = "multi_thread")]
async fn a_payment_never_included_is_recovered_by_payer_and_payee_with_one_command_each() {
    let net = Devnet::start(EXIT_PERIOD).await;
    let (alice, bob): (User, User) = (net.user("alice", 1), net.user("bob", 2));
    alice.ok(&["deposit", "1eth"]);
    alice.wait_balance(eth("1")).await;
    let deposit = alice.coin_in_state("unspent");

    // Alice signs 0.6 ETH to Bob, 0.4 back to her; her client records the payment in flight
    // before it would be sent. It never reaches a block (the operator never sees it).
    let tx = Transaction::payment(
        vec![deposit],
        vec![
            Output::new(bob.address(), ETH, eth("0.6")),
            Output::new(alice.address(), ETH, eth("0.4")),
        ],
    );
    let signed = {
        let store = alice.store(&net);
        plasma_client::payment::sign_in_flight(&store, tx, &net.chain.domain(), &alice.key)
            .expect("signed and recorded")
    };
    let hash = signed.hash().to_string();
    assert_eq!(alice.coin_in_state("in_flight"), deposit);
    // A coin in flight is never exited with a standard exit.
    let refused = alice.fails(&["exit", "--all"]);
    assert!(refused.contains("no unspent coins"), "{refused}");

    // One command each: Alice starts the in-flight exit and claims her input and change; Bob's
    // client learns the payment from L1 and claims his output.
    let alice_before = net.l1_balance(alice.address()).await;
    let started = alice.ok(&["exit", "--in-flight", &hash]);
    assert_eq!(started["started"], true, "{started}");
    let alice_gas = gas_of(&net, &started).await;
    let bob_before = net.l1_balance(bob.address()).await;
    let joined = bob.ok(&["exit", "--in-flight", &hash]);
    assert_eq!(joined["started"], false, "{joined}");
    let mut bob_gas = gas_of(&net, &joined).await;
    assert!(
        bob.fails(&["exit", "--in-flight", &hash])
            .contains("nothing more"),
        "a second claim is refused"
    );

    // After the exit period anyone processes: the exit is canonical (no competitor), so its
    // outputs are paid, with every bond back to its owner.
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
}
