//! The watcher and the byzantine operator, end to end: every scenario ends by checking what
//! each honest user holds on L1.

use alloy::primitives::U256;
use plasma_integration::byzantine::{Byzantine, Serve};
use plasma_integration::{Devnet, User, WatcherProcess, eth};
use serde_json::Value;

use crate::client::EXIT_PERIOD;

/// A user's L1 balance before exiting, less the gas of the exits they start.
struct Before {
    balance: U256,
    held: U256,
}

/// Each user starts `plasma exit --all` (syncing if it can, from local data if not); returns
/// for each the L1 balance to expect after processing, less the child-chain holding.
async fn exit_all(net: &Devnet, users: &[&User]) -> Vec<Before> {
    let mut out = Vec::new();
    for user in users {
        let held = user.store_balance(net);
        let balance = net.l1_balance(user.address()).await;
        let output = user.run(&["--json", "exit", "--all"]);
        assert!(
            output.status.success(),
            "{} exit --all: {}",
            user.name,
            String::from_utf8_lossy(&output.stderr)
        );
        let started: Value = serde_json::from_slice(&output.stdout).unwrap();
        let mut gas = U256::ZERO;
        for exit in started.as_array().unwrap() {
            gas += net.gas_cost(&exit["txHash"]).await;
        }
        out.push(Before {
            balance: balance - gas,
            held,
        });
    }
    out
}

/// Processes `max` exits from an account outside the scenario (its gas is nobody's concern).
async fn process(net: &Devnet, max: u64) {
    net.chain
        .contract()
        .processExits(alloy::primitives::Address::ZERO, U256::from(max))
        .from(net.chain.keys[9].address())
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
}

/// Alice deposits 1 ETH and pays Bob 0.4; Bob pays Carol 0.1. Returns Alice's deposit coin.
async fn pay_around(alice: &User, bob: &User, carol: &User) -> plasma_core::UtxoPos {
    alice.ok(&["deposit", "1eth"]);
    alice.wait_balance(eth("1")).await;
    let deposit = alice.coin_in_state("unspent");
    alice.ok(&["send", &bob.address().to_string(), "0.4eth"]);
    bob.wait_balance(eth("0.4")).await;
    bob.ok(&["send", &carol.address().to_string(), "0.1eth"]);
    carol.wait_balance(eth("0.1")).await;
    bob.wait_balance(eth("0.3")).await;
    alice.wait_balance(eth("0.6")).await;
    deposit
}

#[tokio::test(flavor = "multi_thread")]
async fn honest_chain_many_payments_everyone_exits_and_the_watcher_stays_quiet() {
    let net = Devnet::start(EXIT_PERIOD).await;
    let users = [
        net.user("alice", 1),
        net.user("bob", 2),
        net.user("carol", 3),
    ];
    let watcher = WatcherProcess::start(&net.user("dave", 4), &[]);
    for user in &users {
        user.ok(&["deposit", "1eth"]);
    }
    for user in &users {
        user.wait_balance(eth("1")).await;
    }
    // Twelve payments around the ring: each user pays the next one 0.01·k ETH in round k.
    let mut expected = [eth("1"); 3];
    for round in 1..=4u64 {
        for i in 0..3 {
            let amount = U256::from(round) * eth("0.01");
            let to = users[(i + 1) % 3].address().to_string();
            users[i].ok(&["send", &to, &format!("0.0{round}eth")]);
            expected[i] -= amount;
            expected[(i + 1) % 3] += amount;
            users[i].wait_balance(expected[i]).await;
        }
    }
    for (user, expected) in users.iter().zip(expected) {
        user.wait_balance(expected).await;
    }
    let refs: Vec<&User> = users.iter().collect();
    let before = exit_all(&net, &refs).await;
    net.pass_exit_period().await;
    process(&net, 50).await;
    for ((user, before), expected) in users.iter().zip(&before).zip(expected) {
        assert_eq!(before.held, expected);
        assert_eq!(
            net.l1_balance(user.address()).await,
            before.balance + expected,
            "{} holds on L1 what they held on the child chain",
            user.name
        );
    }
    let status: Value = reqwest::get(&watcher.status_url)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(status["danger"], false, "{status}");
    assert!(status["syncedBlknum"].as_u64() >= Some(1000), "{status}");
    assert_eq!(
        watcher.events(),
        Vec::<Value>::new(),
        "an honest chain raises nothing"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_watcher_challenges_an_invalid_exit_and_earns_the_bond() {
    let net = Devnet::start(EXIT_PERIOD).await;
    let (alice, bob, carol) = (
        net.user("alice", 1),
        net.user("bob", 2),
        net.user("carol", 3),
    );
    let spent = pay_around(&alice, &bob, &carol).await;

    // Erin only watches; Dave watches and challenges.
    let erin = net.user("erin", 5);
    let mut quiet = WatcherProcess::start(&erin, &[]);

    // Alice exits the coin she spent, from the data her client kept.
    let bond = net.exit_kept_coin(&alice, spent).await;
    let contract = net.chain.contract();
    let id = spent.to_string();
    let invalid = quiet
        .wait_event("invalid_exit", |e| e["exitId"] == id)
        .await;
    assert_eq!(invalid["challengeable"], true, "{invalid}");
    assert_eq!(
        invalid["owner"].as_str().map(str::to_lowercase),
        Some(alice.address().to_string().to_lowercase())
    );
    quiet
        .wait_event("unchallenged_exit", |e| e["exitId"] == id)
        .await;

    let dave = net.user("dave", 4);
    let dave_before = net.l1_balance(dave.address()).await;
    let mut challenger = WatcherProcess::start(&dave, &["--from", "dave", "--challenge"]);
    let challenged = challenger
        .wait_event("exit_challenged", |e| e["exitId"] == id)
        .await;
    let gas = net.gas_cost(&challenged["txHash"]).await;
    assert_eq!(
        net.l1_balance(dave.address()).await,
        dave_before + bond - gas
    );
    assert_eq!(
        contract
            .getExit(spent.to_u256())
            .call()
            .await
            .unwrap()
            .status,
        plasma_contracts::exit_status::CLOSED
    );

    // Restarted on the same folder, neither watcher raises anything again.
    challenger.restarted_raises_nothing(&dave, &[]);
    quiet.restarted_raises_nothing(&erin, &[]);
}

/// Waits until the watcher has verified every block committed so far.
async fn wait_verified(net: &Devnet, watcher: &WatcherProcess) {
    let last = Byzantine::next_blknum(net).await - 1000;
    plasma_integration::poll("the watcher verified the chain", || async {
        let status: Value = reqwest::get(&watcher.status_url)
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        (status["syncedBlknum"].as_u64() >= Some(last)).then_some(())
    })
    .await;
}

/// After the exit period, exactly `count` exits (the honest ones) are processed: they come
/// first in the queue, so each user holds on L1 what they held before the bad block.
async fn honest_users_paid_first(net: &Devnet, count: u64, honest: &[&User], before: &[Before]) {
    net.pass_exit_period().await;
    process(net, count).await;
    for (user, before) in honest.iter().zip(before) {
        assert_eq!(
            net.l1_balance(user.address()).await,
            before.balance + before.held,
            "{} got back exactly what they held",
            user.name
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_invalid_block_is_flagged_and_every_honest_user_exits_in_full() {
    let mut net = Devnet::start(EXIT_PERIOD).await;
    let (alice, bob, carol) = (
        net.user("alice", 1),
        net.user("bob", 2),
        net.user("carol", 3),
    );
    pay_around(&alice, &bob, &carol).await;
    let mut watcher = WatcherProcess::start(&net.user("dave", 4), &[]);
    wait_verified(&net, &watcher).await;

    // The operator turns bad: a block spending Bob's coin with a signature Bob never made.
    let bob_coin = bob.coin_in_state("unspent");
    let byzantine = Byzantine::take_over(&mut net).await;
    let forged = byzantine.steal(&net, &net.chain.keys[0], bob_coin, eth("0.3"));
    let (bad, committed_at) = byzantine.commit(&net, vec![forged], Serve::Data).await;
    let event = watcher
        .wait_event("invalid_block", |e| e["blknum"] == bad.blknum)
        .await;
    assert!(
        event["l1Block"].as_u64() <= Some(committed_at + 1),
        "raised within one L1 block of the commitment: {event}"
    );
    assert!(
        event["reason"].as_str().unwrap().contains("transaction 0"),
        "{event}"
    );

    // It exits its stolen output; the watcher flags the exit.
    let stolen = byzantine.exit_output(&bad, 0).await;
    let flagged = watcher
        .wait_event("invalid_exit", |e| e["exitId"] == stolen.to_string())
        .await;
    assert_eq!(flagged["challengeable"], false, "{flagged}");

    // Every honest user exits every coin they held before the bad block, and gets it all.
    let honest = [&alice, &bob, &carol];
    let before = exit_all(&net, &honest).await;
    let held: Vec<U256> = before.iter().map(|b| b.held).collect();
    assert_eq!(held, vec![eth("0.6"), eth("0.3"), eth("0.1")]);
    honest_users_paid_first(&net, 3, &honest, &before).await;
    assert_eq!(
        net.chain
            .contract()
            .getExit(stolen.to_u256())
            .call()
            .await
            .unwrap()
            .status,
        plasma_contracts::exit_status::ACTIVE,
        "the stolen output's exit waits behind every honest exit"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_withheld_block_is_flagged_the_watcher_exits_for_its_user_and_all_exit_in_full() {
    let mut net = Devnet::start(EXIT_PERIOD).await;
    let (alice, bob, carol) = (
        net.user("alice", 1),
        net.user("bob", 2),
        net.user("carol", 3),
    );
    pay_around(&alice, &bob, &carol).await;
    let carol_held = carol.store_balance(&net);
    let carol_before = net.l1_balance(carol.address()).await;
    // Carol leaves it to her watcher: it exits her coins when the chain turns bad.
    let mut carols = WatcherProcess::start(&carol, &["--exit-on-danger", "--withhold-after", "1s"]);
    wait_verified(&net, &carols).await;

    // The operator commits a root and never serves its data; then it stops entirely.
    let byzantine = Byzantine::take_over(&mut net).await;
    let (hidden, committed_at) = byzantine.commit(&net, vec![], Serve::Nothing).await;
    let event = carols
        .wait_event("block_withholding", |e| e["blknum"] == hidden.blknum)
        .await;
    assert!(
        event["l1Block"].as_u64() <= Some(committed_at + 1),
        "{event}"
    );
    let started = carols.wait_event("exit_started", |_| true).await;
    let carol_gas = net.gas_cost(&started["txHash"]).await;
    // Then the operator is gone altogether: the watcher says so.
    drop(byzantine);
    carols.wait_event("operator_unreachable", |_| true).await;
    carols.stop();

    let honest = [&alice, &bob];
    let before = exit_all(&net, &honest).await;
    honest_users_paid_first(&net, 3, &honest, &before).await;
    // Carol's exit was queued first of all and is paid by the same processing.
    assert_eq!(
        net.l1_balance(carol.address()).await,
        carol_before - carol_gas + carol_held
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn double_spends_and_root_mismatches_are_flagged_within_one_block() {
    for mismatch in [false, true] {
        let mut net = Devnet::start(EXIT_PERIOD).await;
        let (alice, bob) = (net.user("alice", 1), net.user("bob", 2));
        alice.ok(&["deposit", "1eth"]);
        alice.wait_balance(eth("1")).await;
        let coin = alice.coin_in_state("unspent");
        alice.ok(&["send", &bob.address().to_string(), "1eth"]);
        bob.wait_balance(eth("1")).await;
        let mut watcher = WatcherProcess::start(&net.user("dave", 4), &[]);
        wait_verified(&net, &watcher).await;

        let byzantine = Byzantine::take_over(&mut net).await;
        // Alice signs a second spend of her coin (she colludes); the operator includes it.
        let double = byzantine.steal(&net, &alice.key, coin, eth("1"));
        let serve = if mismatch {
            // Or: it commits the double spend but serves a harmless block under that number.
            let blknum = Byzantine::next_blknum(&net).await;
            Serve::Other(plasma_core::Block::new(blknum, 0, vec![]).unwrap())
        } else {
            Serve::Data
        };
        let (bad, committed_at) = byzantine.commit(&net, vec![double], serve).await;
        let event = watcher
            .wait_event("invalid_block", |e| e["blknum"] == bad.blknum)
            .await;
        assert!(
            event["l1Block"].as_u64() <= Some(committed_at + 1),
            "{event}"
        );
        let reason = event["reason"].as_str().unwrap();
        if mismatch {
            assert!(reason.contains("but L1 commits"), "{reason}");
        } else {
            assert!(reason.contains("transaction 0"), "{reason}");
        }
        // Bob's client refuses the block too, and keeps his coin exitable.
        let output = bob.run(&["sync"]);
        assert!(!output.status.success());
        assert!(
            String::from_utf8_lossy(&output.stderr)
                .contains(&format!("INVALID BLOCK {}", bad.blknum)),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert_eq!(bob.store_balance(&net), eth("1"));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_operator_killed_mid_stream_restarts_and_nothing_is_lost() {
    let mut net = Devnet::start(EXIT_PERIOD).await;
    let (alice, bob) = (net.user("alice", 1), net.user("bob", 2));
    let watcher = WatcherProcess::start(&net.user("dave", 4), &[]);
    alice.ok(&["deposit", "1eth"]);
    alice.wait_balance(eth("1")).await;
    let mut paid = U256::ZERO;
    let to = bob.address().to_string();
    for i in 0..6 {
        // The third payment returns at acknowledgement; the operator is killed right then.
        let mut args = vec!["send", to.as_str(), "0.05eth"];
        if i == 2 {
            args.push("--no-wait");
        }
        let sent = alice.ok(&args);
        paid += eth("0.05");
        if i == 2 {
            assert_eq!(sent["status"], "pending", "{sent}");
            net.operator.kill();
            net.operator.restart().await;
        } else {
            assert_eq!(sent["status"], "included", "{sent}");
        }
        alice.wait_balance(eth("1") - paid).await;
    }
    bob.wait_balance(paid).await;
    let status = net.operator.status().await;
    assert!(status.last_committed_block >= 6000, "{status:?}");
    let bad: Vec<Value> = watcher
        .events()
        .into_iter()
        .filter(|e| e["event"] != "operator_unreachable")
        .collect();
    assert!(bad.is_empty(), "only an outage may be raised: {bad:?}");
}
