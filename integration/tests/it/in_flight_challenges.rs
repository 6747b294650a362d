//! The in-flight exit game's cheats, each met by `plasma watch --challenge` from its own verified
//! data: a double-signed in-flight exit, a false canonicity challenge, and a piggyback of a
//! spent output. Each event is raised within one L1 block of its cause, once (a restarted
//! watcher raises nothing again), and each scenario ends with L1 balances checked to the wei,
//! gas accounted from the receipts.

use alloy::primitives::U256;
use plasma_client::in_flight::{input_bit, output_bit};
use plasma_client::store::InFlightPayment;
use plasma_core::{ETH, Output, SignedTransaction, Transaction, UtxoPos};
use plasma_integration::{Devnet, User, WatcherProcess, eth};
use serde_json::Value;

use crate::client::EXIT_PERIOD;
use crate::in_flight::{deposits_one_eth, pays_bob_six_tenths};

/// `user` signs `tx`, which spends coins their client kept the data of; returns it with what
/// an in-flight exit of it takes. Nothing is recorded: the test decides who sees it.
fn sign(net: &Devnet, user: &User, tx: Transaction) -> (SignedTransaction, InFlightPayment) {
    let store = user.store(net);
    let inputs = tx
        .inputs
        .iter()
        .map(|pos| {
            store
                .coin(*pos)
                .expect("store readable")
                .expect("the coin's data is kept")
        })
        .collect();
    let signed = SignedTransaction::sign(tx, &net.chain.domain(), &user.key).expect("signed");
    let payment = InFlightPayment {
        tx_bytes: signed.bytes().clone(),
        signatures: signed.signatures().to_vec(),
        inputs,
    };
    (signed, payment)
}

/// The L1 block that mined transaction `hash`, and its gas in wei.
pub(crate) async fn mined(net: &Devnet, hash: &Value) -> (u64, U256) {
    let cost = net.gas_cost(hash).await;
    let receipt = alloy::providers::Provider::get_transaction_receipt(
        &net.chain.provider,
        hash.as_str().unwrap().parse().unwrap(),
    )
    .await
    .unwrap()
    .unwrap();
    (receipt.block_number.unwrap(), cost)
}

/// Waits for the watcher's event `kind` about in-flight transaction `hash` (and matching
/// `pred`), and checks it was raised within one L1 block of `cause` (the block of what caused
/// it).
pub(crate) async fn raised_within_a_block(
    watcher: &mut WatcherProcess,
    kind: &str,
    hash: &str,
    cause: u64,
    pred: impl Fn(&Value) -> bool,
) -> Value {
    let event = watcher
        .wait_event(kind, |e| e["inFlightTx"] == hash && pred(e))
        .await;
    if let Some(seen) = event["l1Block"].as_u64() {
        assert!(
            seen <= cause + 1,
            "{kind} raised at L1 block {seen}, its cause is in block {cause}: {event}"
        );
    }
    event
}

/// The hash of an L1 transaction in an event or a command's output, as the helpers take it.
fn tx(event: &Value) -> &Value {
    &event["txHash"]
}

#[tokio::test(flavor = "multi_thread")]
async fn a_double_signed_in_flight_exit_is_challenged_and_its_outputs_are_not_paid() {
    let net = Devnet::start(EXIT_PERIOD).await;
    let (mallory, bob) = (net.user("mallory", 3), net.user("bob", 2));
    let coin = deposits_one_eth(&mallory).await;

    // Mallory signs two spends of one coin: she pays Bob with one (included), and keeps the
    // other, back to herself, for an in-flight exit.
    let one_output = |to| Transaction::payment(vec![coin], vec![Output::new(to, ETH, eth("1"))]);
    let (to_bob, _) = sign(&net, &mallory, one_output(bob.address()));
    let (to_self, kept) = sign(&net, &mallory, one_output(mallory.address()));
    net.operator
        .api()
        .submit(&to_bob)
        .await
        .expect("the operator accepts the payment to Bob");
    bob.wait_balance(eth("1")).await;

    // A report-only watcher (Carol's) warns of deadlines an hour ahead: with a 60 s exit
    // period, every open cheat is close to its deadline.
    let carol = net.user("carol-watch", 4);
    let mut reporter = WatcherProcess::start(&carol, &["--warn-before", "1h"]);
    let l1 = net.l1();
    let (ife_bond, piggyback_bond) = l1.in_flight_bonds().await.unwrap();
    let (mallory_before, bob_before) = (
        net.l1_balance(mallory.address()).await,
        net.l1_balance(bob.address()).await,
    );

    // She starts the in-flight exit of the other spend, claiming its input and its output.
    let started = l1
        .start_in_flight_exit(mallory.address(), &kept, input_bit(0) | output_bit(0))
        .await
        .expect("the contract accepts the start: it cannot know of the included spend");
    let (cause, mallory_gas) = mined(&net, &started.transaction_hash.to_string().into()).await;
    let hash = to_self.hash().to_string();

    // Nobody challenges yet: the reporter raises each cheat and that it is unchallenged.
    for kind in ["non_canonical_ife", "unchallenged_non_canonical_ife"] {
        raised_within_a_block(&mut reporter, kind, &hash, cause, |_| true).await;
    }
    for kind in ["invalid_piggyback", "unchallenged_piggyback"] {
        raised_within_a_block(&mut reporter, kind, &hash, cause, |e| {
            e["side"] == "input" && e["index"] == 0
        })
        .await;
    }

    // Then Bob's watcher, guarding the chain with his key (its own folder), acts.
    let guard = net.user("bob-watch", 2);
    let mut watcher = WatcherProcess::start(&guard, &["--challenge"]);

    // The watcher knows the included spend: the exit is not canonical, and the claim on the
    // input is invalid (the input was spent in block 1000).
    let raised =
        raised_within_a_block(&mut watcher, "non_canonical_ife", &hash, cause, |_| true).await;
    assert_eq!(raised["competitor"], to_bob.hash().to_string(), "{raised}");
    let included_at = UtxoPos::new(1000, 0, 0).unwrap().as_u64();
    assert_eq!(raised["competitorPosition"], included_at, "{raised}");
    let challenged =
        raised_within_a_block(&mut watcher, "ife_challenged", &hash, cause, |_| true).await;
    raised_within_a_block(&mut watcher, "invalid_piggyback", &hash, cause, |e| {
        e["side"] == "input" && e["index"] == 0
    })
    .await;
    let removed = raised_within_a_block(&mut watcher, "piggyback_challenged", &hash, cause, |e| {
        e["side"] == "input"
    })
    .await;
    let mut bob_gas = net.gas_cost(tx(&challenged)).await + net.gas_cost(tx(&removed)).await;
    // Her output's claim is not challengeable (the transaction is in no block), and is not
    // paid: the exit is non-canonical.
    assert!(
        watcher
            .events()
            .iter()
            .all(|e| !(e["event"] == "invalid_piggyback" && e["side"] == "output")),
        "{:?}",
        watcher.events()
    );
    watcher.restarted_raises_nothing(&guard, &["--challenge"]);
    // The reporter saw the challenges: it raised nothing more than the four events.
    assert_eq!(reporter.events().len(), 4, "{:?}", reporter.events());
    reporter.restarted_raises_nothing(&carol, &["--warn-before", "1h"]);

    // `plasma exits` shows Mallory where her exit stands: non-canonical, the challenger holds
    // the bond, and only her output's claim is left.
    let listed = mallory.ok(&["exits"]);
    assert_eq!(listed["inFlight"].as_array().unwrap().len(), 1, "{listed}");
    let flight = &listed["inFlight"][0];
    assert_eq!(flight["txHash"], hash.as_str(), "{listed}");
    assert_eq!(flight["state"], "non_canonical", "{listed}");
    assert_eq!(
        flight["bondOwner"],
        serde_json::json!(bob.address()),
        "{listed}"
    );
    assert_eq!(
        flight["claims"],
        serde_json::json!([{
            "side": "output",
            "index": 0,
            "owner": mallory.address(),
            "token": ETH,
            "amount": eth("1").to_string(),
        }]),
        "{listed}"
    );

    // After the exit period the exit is processed as non-canonical: her output is not paid (its
    // bond comes back), the exit bond goes to the challenger, the input's bond went to him too.
    net.pass_exit_period().await;
    let processed = bob.ok(&["process-exits"]);
    assert_eq!(
        processed["inFlight"],
        serde_json::json!([hash]),
        "{processed}"
    );
    for hash in processed["transactions"].as_array().unwrap() {
        bob_gas += net.gas_cost(hash).await;
    }
    assert_eq!(
        net.l1_balance(mallory.address()).await,
        mallory_before - mallory_gas - ife_bond - piggyback_bond,
        "Mallory loses the exit bond and the input's piggyback bond, and is paid nothing"
    );
    assert_eq!(
        net.l1_balance(bob.address()).await,
        bob_before - bob_gas + ife_bond + piggyback_bond,
        "the challenger takes both bonds"
    );
    assert_eq!(mallory.ok(&["exits"])["inFlight"][0]["state"], "processed");
    // Bob's coin is still his to exit: the in-flight exit took nothing of it.
    assert_eq!(bob.balance(), eth("1"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_false_canonicity_challenge_is_answered_and_the_exit_is_paid() {
    let net = Devnet::start(EXIT_PERIOD).await;
    let (alice, bob, mallory) = (
        net.user("alice", 1),
        net.user("bob", 2),
        net.user("mallory", 3),
    );
    let coin = deposits_one_eth(&alice).await;

    // Alice pays Bob 0.6 (change 0.4); the payment is included and verified. She had also
    // signed, and given away, another spend of the coin that never went anywhere.
    let (payment, data) = sign(&net, &alice, pays_bob_six_tenths(&alice, &bob, coin));
    let (other, _) = sign(
        &net,
        &alice,
        Transaction::payment(
            vec![coin],
            vec![Output::new(mallory.address(), ETH, eth("1"))],
        ),
    );
    net.operator.api().submit(&payment).await.expect("accepted");
    alice.wait_balance(eth("0.4")).await;

    // Alice's watcher guards her key; she starts the in-flight exit of the included payment,
    // claiming her change.
    let guard = net.user("alice-watch", 1);
    let mut watcher = WatcherProcess::start(&guard, &["--challenge"]);
    let l1 = net.l1();
    let (mallory_before, alice_before) = (
        net.l1_balance(mallory.address()).await,
        net.l1_balance(alice.address()).await,
    );
    let started = l1
        .start_in_flight_exit(alice.address(), &data, output_bit(1))
        .await
        .expect("started");
    let (_, start_gas) = mined(&net, &started.transaction_hash.to_string().into()).await;

    // Mallory challenges it with the other spend, shown as unincluded (the youngest).
    let hash = payment.hash().to_string();
    let exit = l1
        .in_flight_exit(payment.hash())
        .await
        .unwrap()
        .expect("started");
    let challenge = l1
        .challenge_in_flight_not_canonical(
            mallory.address(),
            &exit,
            0,
            &plasma_client::in_flight::Spend {
                tx_bytes: other.bytes().clone(),
                input_index: 0,
                signature: other.signatures()[0],
            },
            None,
        )
        .await
        .expect("the contract takes the challenge: it cannot know of the inclusion");
    let (cause, mallory_gas) = mined(&net, &challenge.transaction_hash.to_string().into()).await;

    // The watcher saw the payment included in block 1000, before any unincluded competitor.
    let raised = raised_within_a_block(&mut watcher, "invalid_ife_challenge", &hash, cause, |_| {
        true
    })
    .await;
    assert_eq!(
        raised["txPosition"],
        UtxoPos::new(1000, 0, 0).unwrap().as_u64(),
        "{raised}"
    );
    assert_eq!(raised["competitorPosition"], u64::MAX, "{raised}");
    let responded = raised_within_a_block(
        &mut watcher,
        "ife_challenge_responded",
        &hash,
        cause,
        |_| true,
    )
    .await;
    let respond_gas = net.gas_cost(tx(&responded)).await;
    // An included, canonical exit raises nothing else: no claim, no invalid piggyback.
    let kinds: Vec<String> = watcher
        .events()
        .iter()
        .map(|e| e["event"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(
        kinds,
        ["invalid_ife_challenge", "ife_challenge_responded"],
        "{:?}",
        watcher.events()
    );
    watcher.restarted_raises_nothing(&guard, &["--challenge"]);

    // One output, one exit: Alice's claimed change is refused a standard exit, and Bob, whose
    // output has a standard exit, has nothing to claim in the in-flight exit.
    let refused = alice.fails(&["exit", &UtxoPos::new(1000, 0, 1).unwrap().to_string()]);
    assert!(
        refused.contains("claimed by the in-flight exit"),
        "{refused}"
    );
    bob.ok(&["exit", &UtxoPos::new(1000, 0, 0).unwrap().to_string()]);
    let refused = bob.fails(&["exit", "--in-flight", &hash]);
    assert!(
        refused.contains("standard exit") && refused.contains("nothing more"),
        "{refused}"
    );

    // The exit is canonical: Alice's change is paid, and the exit bond is the responder's
    // (hers). Mallory only spent gas.
    net.pass_exit_period().await;
    let processed = bob.ok(&["process-exits"]);
    assert_eq!(
        processed["inFlight"],
        serde_json::json!([hash]),
        "{processed}"
    );
    assert_eq!(
        net.l1_balance(alice.address()).await,
        alice_before - start_gas - respond_gas + eth("0.4")
    );
    assert_eq!(
        net.l1_balance(mallory.address()).await,
        mallory_before - mallory_gas
    );
    // Bob's standard exit of his output is paid behind it, in the same queue.
    assert_eq!(
        bob.ok(&["exits"])["standard"][0]["status"],
        "finalized",
        "{processed}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_piggyback_of_a_spent_output_is_challenged_and_the_spenders_coin_is_paid() {
    let net = Devnet::start(EXIT_PERIOD).await;
    let (alice, bob, carol) = (
        net.user("alice", 1),
        net.user("bob", 2),
        net.user("carol", 3),
    );
    let coin = deposits_one_eth(&alice).await;
    let (payment, data) = sign(&net, &alice, pays_bob_six_tenths(&alice, &bob, coin));
    net.operator.api().submit(&payment).await.expect("accepted");
    bob.wait_balance(eth("0.6")).await;
    // Bob spends the output: he pays Carol 0.5, keeps 0.1.
    bob.ok(&["send", &carol.address().to_string(), "0.5eth"]);
    carol.wait_balance(eth("0.5")).await;
    bob.wait_balance(eth("0.1")).await;

    // Carol's watcher guards her key. Alice starts the in-flight exit of the payment (with no
    // claim), and Bob claims the output he spent.
    let guard = net.user("carol-watch", 3);
    let mut watcher = WatcherProcess::start(&guard, &["--challenge"]);
    let l1 = net.l1();
    let (_, piggyback_bond) = l1.in_flight_bonds().await.unwrap();
    let (bob_before, carol_before) = (
        net.l1_balance(bob.address()).await,
        net.l1_balance(carol.address()).await,
    );
    l1.start_in_flight_exit(alice.address(), &data, 0)
        .await
        .expect("started");
    let exit = l1
        .in_flight_exit(payment.hash())
        .await
        .unwrap()
        .expect("started");
    let claims = l1
        .piggyback(bob.address(), &exit, output_bit(0))
        .await
        .expect("the contract takes the claim: it cannot know of the spend");
    let (cause, bob_gas) = mined(&net, &claims[0].transaction_hash.to_string().into()).await;

    let hash = payment.hash().to_string();
    let raised = raised_within_a_block(&mut watcher, "invalid_piggyback", &hash, cause, |e| {
        e["side"] == "output" && e["index"] == 0
    })
    .await;
    assert!(
        raised["reason"]
            .as_str()
            .unwrap()
            .contains("spent in block 2000"),
        "{raised}"
    );
    let removed =
        raised_within_a_block(&mut watcher, "piggyback_challenged", &hash, cause, |_| true).await;
    let mut carol_gas = net.gas_cost(tx(&removed)).await;
    watcher.restarted_raises_nothing(&guard, &["--challenge"]);

    // Carol exits the coin Bob paid her; after the exit period she is paid it, and the
    // in-flight exit (canonical, with no claim left) pays nothing of Bob's spent output.
    let exits = carol.ok(&["exit", "--all"]);
    for started in exits.as_array().unwrap() {
        carol_gas += net.gas_cost(tx(started)).await;
    }
    net.pass_exit_period().await;
    let processed = carol.ok(&["process-exits"]);
    for hash in processed["transactions"].as_array().unwrap() {
        carol_gas += net.gas_cost(hash).await;
    }
    assert_eq!(
        net.l1_balance(carol.address()).await,
        carol_before - carol_gas + piggyback_bond + eth("0.5"),
        "Carol is paid her coin, and the bond of the invalid claim"
    );
    assert_eq!(
        net.l1_balance(bob.address()).await,
        bob_before - bob_gas - piggyback_bond,
        "Bob loses the claim's bond and is paid nothing"
    );
}
