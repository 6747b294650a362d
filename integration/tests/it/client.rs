//! Users with the `plasma` CLI against the operator binary: payments, exits, challenges, and
//! exits with the operator gone.

use alloy::primitives::U256;
use plasma_client::store::CoinState;
use plasma_contracts::exit_status;
use plasma_integration::{Devnet, eth};
use serde_json::Value;

/// The contract's exit period in these scenarios, in seconds (anvil's clock is advanced).
pub(crate) const EXIT_PERIOD: u64 = 60;

#[tokio::test(flavor = "multi_thread")]
async fn alice_pays_bob_pays_carol_carol_exits_and_a_cheat_is_challenged() {
    let net = Devnet::start(EXIT_PERIOD).await;
    let (alice, bob, carol) = (
        net.user("alice", 1),
        net.user("bob", 2),
        net.user("carol", 3),
    );

    // A deposit below the contract's least deposit is refused by name, before it is sent.
    let refused = alice.fails(&["deposit", "1wei"]);
    assert!(
        refused.contains("DepositTooSmall") && refused.contains("minDeposit"),
        "{refused}"
    );

    // Alice deposits on L1 and pays Bob; Bob pays Carol. Every side's verified balance is right.
    alice.ok(&["deposit", "1eth"]);
    alice.wait_balance(eth("1")).await;
    let deposit_coin = alice.coin_in_state("unspent");
    alice.ok(&["send", &bob.address().to_string(), "0.4eth"]);
    bob.wait_balance(eth("0.4")).await;
    alice.wait_balance(eth("0.6")).await;
    bob.ok(&["send", &carol.address().to_string(), "0.1eth"]);
    carol.wait_balance(eth("0.1")).await;
    bob.wait_balance(eth("0.3")).await;
    alice.wait_balance(eth("0.6")).await;
    assert_eq!(
        alice.coin_in_state("spent"),
        deposit_coin,
        "Alice's client records the deposit coin as spent"
    );

    // Carol exits her coin.
    let carol_before = net.l1_balance(carol.address()).await;
    let started = carol.ok(&["exit", "--all"]);
    let started = started.as_array().expect("started exits");
    assert_eq!(started.len(), 1, "{started:?}");
    let carol_gas = net.gas_cost(&started[0]["txHash"]).await;
    let carols = carol.coin_in_state("exiting");
    let exits = carol.ok(&["exits"]);
    assert_eq!(
        exits["standard"][0]["utxoPos"],
        carols.to_string(),
        "{exits}"
    );
    assert_eq!(exits["standard"][0]["status"], "started", "{exits}");
    assert_eq!(exits["inFlight"], serde_json::json!([]), "{exits}");

    // Alice cheats: with the data her client kept, she starts an exit of the coin she spent.
    let kept = alice
        .store(&net)
        .coin(deposit_coin)
        .expect("store readable")
        .expect("the spent coin's data is kept");
    assert_eq!(kept.state, CoinState::Spent);
    let contract = net.chain.contract();
    let bond = net.exit_kept_coin(&alice, deposit_coin).await;

    // Bob saw Alice's spend in a verified block: his challenge deletes the exit and earns the bond.
    let bob_before = net.l1_balance(bob.address()).await;
    let challenged = bob.ok(&["challenge", &deposit_coin.to_string()]);
    let bob_gas = net.gas_cost(&challenged["txHash"]).await;
    assert_eq!(
        net.l1_balance(bob.address()).await,
        bob_before + bond - bob_gas,
        "Bob earns the bond"
    );
    let exit = contract
        .getExit(deposit_coin.to_u256())
        .call()
        .await
        .unwrap();
    assert_eq!(exit.status, exit_status::CLOSED);
    // A second challenge of the same exit is refused with a clear error.
    let again = bob.fails(&["challenge", &deposit_coin.to_string()]);
    assert!(again.contains("error"), "{again}");

    // Before the exit period nothing is ready: processing sends nothing and costs no gas.
    let alice_before = net.l1_balance(alice.address()).await;
    let early = alice.ok(&["process-exits"]);
    assert_eq!(early["txHash"], serde_json::Value::Null, "{early}");
    assert!(early["nextExitableAt"].as_u64().is_some(), "{early}");
    assert_eq!(net.l1_balance(alice.address()).await, alice_before);
    let said = alice.run(&["process-exits"]);
    assert!(
        String::from_utf8_lossy(&said.stdout).contains("no exit of ETH is ready"),
        "{said:?}"
    );

    // After the exit period, processing pays Carol her coin and her bond back; Alice gets nothing.
    // A --max beyond what one L1 block holds is capped, with a line saying so.
    net.pass_exit_period().await;
    let alice_before = net.l1_balance(alice.address()).await;
    let output = alice.run(&["--json", "process-exits", "--max", "1000000"]);
    assert!(output.status.success(), "{output:?}");
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("does not fit in one L1 block"),
        "{output:?}"
    );
    let processed: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let alice_gas = net.gas_cost(&processed["txHash"]).await;
    assert_eq!(
        net.l1_balance(carol.address()).await,
        carol_before - carol_gas + eth("0.1"),
        "Carol holds her 0.1 ETH on L1"
    );
    assert_eq!(
        net.l1_balance(alice.address()).await,
        alice_before - alice_gas,
        "the challenged exit pays Alice nothing"
    );
    let exits = carol.ok(&["exits"]);
    assert_eq!(exits["standard"][0]["status"], "finalized", "{exits}");
    assert_eq!(carol.coin_in_state("exited"), carols);
    carol.wait_balance(U256::ZERO).await;

    // The queue is empty now: nothing is sent.
    let carol_before = net.l1_balance(carol.address()).await;
    let empty = carol.ok(&["process-exits"]);
    assert_eq!(empty["txHash"], serde_json::Value::Null, "{empty}");
    assert_eq!(empty["nextExitableAt"], serde_json::Value::Null, "{empty}");
    assert_eq!(net.l1_balance(carol.address()).await, carol_before);
}

#[tokio::test(flavor = "multi_thread")]
async fn with_the_operator_gone_users_exit_from_their_local_data() {
    let mut net = Devnet::start(EXIT_PERIOD).await;
    let (alice, bob) = (net.user("alice", 1), net.user("bob", 2));
    alice.ok(&["deposit", "1eth"]);
    alice.wait_balance(eth("1")).await;
    alice.ok(&["send", &bob.address().to_string(), "0.25eth"]);
    bob.wait_balance(eth("0.25")).await;
    alice.wait_balance(eth("0.75")).await;
    // One more block, committed and verified by Alice (she pays someone else) but not yet
    // synced by Bob.
    alice.ok(&["send", &net.chain.keys[3].address().to_string(), "0.05eth"]);
    alice.wait_balance(eth("0.7")).await;

    // The operator vanishes.
    net.operator.kill();
    let refused = bob.fails(&["send", &alice.address().to_string(), "0.1eth"]);
    assert!(refused.contains(&net.operator.url), "{refused}");
    // What the client verified is still true: balance and coins answer from it (Bob cannot
    // download the newer block), and say that the operator is unreachable.
    let shown = bob.run(&["balance"]);
    assert!(shown.status.success(), "{shown:?}");
    let stderr = String::from_utf8_lossy(&shown.stderr);
    assert!(
        stderr.contains("unreachable") && stderr.contains("verified locally"),
        "{stderr}"
    );
    assert!(
        String::from_utf8_lossy(&shown.stdout).contains("0.25 ETH"),
        "{shown:?}"
    );
    assert_eq!(bob.balance(), eth("0.25"));
    assert_eq!(bob.coins().len(), 1);

    // Each still exits every coin from the data their client kept.
    let mut before = Vec::new();
    for user in [&alice, &bob] {
        let balance = net.l1_balance(user.address()).await;
        let output = user.run(&["--json", "exit", "--all"]);
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let started: Value = serde_json::from_slice(&output.stdout).unwrap();
        assert_eq!(started.as_array().map(Vec::len), Some(1), "{started}");
        let gas = net.gas_cost(&started[0]["txHash"]).await;
        before.push(balance - gas);
    }

    net.pass_exit_period().await;
    let processed = bob.ok(&["process-exits"]);
    let process_gas = net.gas_cost(&processed["txHash"]).await;
    assert_eq!(
        net.l1_balance(alice.address()).await,
        before[0] + eth("0.7")
    );
    assert_eq!(
        net.l1_balance(bob.address()).await,
        before[1] + eth("0.25") - process_gas
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn token_amounts_are_shown_in_token_units_with_the_symbol() {
    let net = Devnet::start(EXIT_PERIOD).await;
    let (alice, bob) = (net.user("alice", 1), net.user("bob", 2));
    let token = plasma_contracts::MockERC20::deploy(
        net.chain.provider.clone(),
        "Test Token".to_owned(),
        "TKN".to_owned(),
    )
    .await
    .expect("the token deploys");
    token
        .mint(alice.address(), eth("100"))
        .send()
        .await
        .expect("mint sent")
        .get_receipt()
        .await
        .expect("mint mined");
    let address = token.address().to_string();

    // Deposited as it is typed, through the token's ERC-20 interface.
    alice.ok(&["deposit", "12.5", "--token", &address]);
    let held = |user: &plasma_integration::User| -> U256 {
        user.ok(&["balance"])
            .as_array()
            .expect("balance rows")
            .iter()
            .filter(|r| r["token"].as_str().map(str::to_lowercase) == Some(address.to_lowercase()))
            .map(|r| r["amount"].as_str().unwrap().parse::<U256>().unwrap())
            .sum()
    };
    plasma_integration::poll("the token deposit", || async {
        (held(&alice) == eth("12.5")).then_some(())
    })
    .await;
    alice.ok(&[
        "send",
        &bob.address().to_string(),
        "2.5",
        "--token",
        &address,
    ]);
    assert_eq!(held(&bob), eth("2.5"), "the JSON keeps base units");

    // People read token units and the symbol, not base units and an address.
    for (user, shown) in [(&alice, "10 TKN"), (&bob, "2.5 TKN")] {
        for command in ["balance", "utxos"] {
            let output = user.run(&[command]);
            let text = String::from_utf8_lossy(&output.stdout);
            assert!(output.status.success(), "{output:?}");
            assert!(text.contains(shown), "{} {command}: {text}", user.name);
            assert!(!text.contains(&address), "{} {command}: {text}", user.name);
        }
    }
}

/// A long sync into a pipe (a log file, a CI run) reports in plain lines, never a `\r` bar.
#[tokio::test(flavor = "multi_thread")]
async fn a_long_sync_into_a_log_reports_plain_lines() {
    let net = Devnet::start(EXIT_PERIOD).await;
    let alice = net.user("alice", 1);
    let l1 = net.l1();
    // 25 deposits: 25 blocks to verify.
    for _ in 0..25 {
        l1.deposit_eth(alice.address(), eth("0.01")).await.unwrap();
    }
    let output = alice.run(&["sync"]);
    assert!(output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains('\r'), "{stderr:?}");
    assert!(
        stderr.contains("syncing: 25/25 blocks, 25 transactions verified"),
        "{stderr}"
    );
    assert_eq!(alice.balance(), eth("0.25"));
}

/// `exit --all` leaves the ETH coins whose exit costs more gas than they hold (saying so), and
/// `--include-dust` exits them too; a key holding only dust is told so and nothing is sent.
#[tokio::test(flavor = "multi_thread")]
async fn exit_all_leaves_dust_coins_unless_asked() {
    let net = Devnet::start(EXIT_PERIOD).await;
    let (alice, bob, carol) = (
        net.user("alice", 1),
        net.user("bob", 2),
        net.user("carol", 3),
    );
    alice.ok(&["deposit", "1eth"]);
    alice.wait_balance(eth("1")).await;
    alice.ok(&["send", &bob.address().to_string(), "1wei"]);
    alice.ok(&["send", &bob.address().to_string(), "0.25eth"]);
    alice.ok(&["send", &carol.address().to_string(), "1wei"]);
    bob.wait_balance(eth("0.25") + U256::from(1)).await;
    carol.wait_balance(U256::from(1)).await;

    // Carol holds only dust: nothing is started, and she is told why.
    let carol_before = net.l1_balance(carol.address()).await;
    let refused = carol.fails(&["exit", "--all"]);
    assert!(refused.contains("worth less than the gas"), "{refused}");
    assert!(refused.contains("--include-dust"), "{refused}");
    assert_eq!(net.l1_balance(carol.address()).await, carol_before);

    // Bob's 0.25 ETH coin exits; his 1-wei coin is left, with a line saying so.
    let output = bob.run(&["--json", "exit", "--all"]);
    assert!(output.status.success(), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("not exited (--include-dust"), "{stderr}");
    let started: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(started.as_array().map(Vec::len), Some(1), "{started}");
    let coins = bob.coins();
    let amount_of = |state: &str| {
        coins
            .iter()
            .filter(|c| c["state"] == state)
            .map(|c| c["amount"].as_str().unwrap_or_default().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(amount_of("exiting").len(), 1, "{coins:?}");
    assert_eq!(amount_of("unspent").len(), 1, "{coins:?}");

    // Asked to, he exits the dust coin too.
    let dust = bob.ok(&["exit", "--all", "--include-dust"]);
    assert_eq!(dust.as_array().map(Vec::len), Some(1), "{dust}");
    assert!(
        bob.coins().iter().all(|c| c["state"] == "exiting"),
        "{:?}",
        bob.coins()
    );
}

/// A token that refuses the payout of an exit (its owner's account frozen) leaves the payout
/// credited in the root contract: `plasma exits` lists the credit, `plasma withdraw` pulls it —
/// to another address while the owner's own is still frozen — and nothing is left after.
#[tokio::test(flavor = "multi_thread")]
async fn a_payout_the_token_refuses_is_credited_and_withdrawn() {
    let net = Devnet::start(EXIT_PERIOD).await;
    let (alice, bob, carol) = (
        net.user("alice", 1),
        net.user("bob", 2),
        net.user("carol", 3),
    );
    let token = plasma_contracts::BlacklistToken::deploy(net.chain.provider.clone())
        .await
        .expect("the token deploys");
    token
        .mint(alice.address(), eth("10"))
        .send()
        .await
        .expect("mint sent")
        .get_receipt()
        .await
        .expect("mint mined");
    let address = token.address().to_string();
    alice.ok(&["deposit", "5", "--token", &address]);
    plasma_integration::poll("the token deposit", || async {
        alice
            .ok(&["utxos"])
            .as_array()
            .is_some_and(|coins| !coins.is_empty())
            .then_some(())
    })
    .await;

    // Nothing credited yet: a clear refusal, nothing sent.
    let none = alice.fails(&["withdraw", "--token", &address]);
    assert!(none.contains("nothing to withdraw"), "{none}");

    // Alice exits her token coin; the token then freezes her account.
    let started = alice.ok(&["exit", "--all"]);
    assert_eq!(started.as_array().map(Vec::len), Some(1), "{started}");
    token
        .setBlacklisted(alice.address(), true)
        .send()
        .await
        .expect("blacklist sent")
        .get_receipt()
        .await
        .expect("blacklist mined");
    net.pass_exit_period().await;
    bob.ok(&["process-exits", "--token", &address]);
    let balance_of = |who: alloy::primitives::Address| {
        let token = token.clone();
        async move { token.balanceOf(who).call().await.expect("balanceOf") }
    };
    assert_eq!(
        balance_of(alice.address()).await,
        eth("5"),
        "the payout was not paid"
    );

    // The credit is listed, in JSON and for people.
    let exits = alice.ok(&["exits"]);
    let credits = exits["credits"].as_array().expect("credits").clone();
    assert_eq!(credits.len(), 1, "{exits}");
    assert_eq!(credits[0]["amount"], eth("5").to_string(), "{exits}");
    let shown = alice.run(&["exits"]);
    let text = String::from_utf8_lossy(&shown.stdout);
    assert!(
        text.contains("5 BLK") && text.contains("withdraw --token"),
        "{text}"
    );

    // Withdrawing to her own frozen account fails and keeps the credit; to Carol's it arrives.
    let frozen = alice.fails(&["withdraw", "--token", &address]);
    assert!(
        frozen.contains("the credit stays") && frozen.contains("--to"),
        "{frozen}"
    );
    let pulled = alice.ok(&[
        "withdraw",
        "--token",
        &address,
        "--to",
        &carol.address().to_string(),
    ]);
    assert_eq!(pulled["amount"], eth("5").to_string(), "{pulled}");
    assert_eq!(balance_of(carol.address()).await, eth("5"));
    let again = alice.fails(&["withdraw", "--token", &address]);
    assert!(again.contains("nothing to withdraw"), "{again}");
    assert_eq!(alice.ok(&["exits"])["credits"], serde_json::json!([]));
}

/// `plasma history` lists each key's deposits and payments from its verified data: counterparts,
/// amounts without the change, the fee, and each coin's state; an unknown key is an error.
#[tokio::test(flavor = "multi_thread")]
async fn history_lists_deposits_and_payments_with_counterparts_and_fees() {
    let net = Devnet::start(EXIT_PERIOD).await;
    let (alice, bob, carol) = (
        net.user("alice", 1),
        net.user("bob", 2),
        net.user("carol", 3),
    );
    alice.ok(&["deposit", "1eth"]);
    alice.wait_balance(eth("1")).await;
    alice.ok(&[
        "send",
        &bob.address().to_string(),
        "0.25eth",
        "--fee",
        "0.001eth",
    ]);
    bob.wait_balance(eth("0.25")).await;
    bob.ok(&["send", &carol.address().to_string(), "0.1eth"]);
    carol.wait_balance(eth("0.1")).await;
    alice.wait_balance(eth("0.749")).await;

    let entries = |user: &plasma_integration::User| -> Vec<Value> {
        user.ok(&["history"]).as_array().expect("entries").clone()
    };
    let lower = |address: alloy::primitives::Address| address.to_string().to_lowercase();
    let who = |entry: &Value| -> Vec<String> {
        entry["counterparts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap().to_lowercase())
            .collect()
    };

    let a = entries(&alice);
    assert_eq!(a.len(), 2, "{a:?}");
    assert_eq!(a[0]["kind"], "deposit", "{a:?}");
    assert_eq!(a[0]["amounts"][0]["amount"], eth("1").to_string());
    assert_eq!(a[0]["state"], "spent");
    assert_eq!(a[1]["kind"], "sent");
    assert_eq!(who(&a[1]), vec![lower(bob.address())]);
    assert_eq!(
        a[1]["amounts"][0]["amount"],
        eth("0.25").to_string(),
        "change excluded"
    );
    assert_eq!(a[1]["fee"], eth("0.001").to_string());
    assert_eq!(a[1]["state"], "verified");

    let b = entries(&bob);
    assert_eq!(b.len(), 2, "{b:?}");
    assert_eq!(b[0]["kind"], "received");
    assert_eq!(
        who(&b[0]),
        vec![lower(alice.address())],
        "the payer recovered"
    );
    assert_eq!(b[0]["state"], "spent");
    assert_eq!(b[1]["kind"], "sent");
    assert_eq!(who(&b[1]), vec![lower(carol.address())]);
    assert_eq!(b[1]["fee"], "0");

    let c = entries(&carol);
    assert_eq!(c.len(), 1, "{c:?}");
    assert_eq!(c[0]["kind"], "received");
    assert_eq!(who(&c[0]), vec![lower(bob.address())]);
    assert_eq!(c[0]["state"], "unspent");
    let text = String::from_utf8_lossy(&carol.run(&["history"]).stdout).into_owned();
    assert!(text.contains("received  0.1 ETH from"), "{text}");

    let unknown = carol.fails(&["--from", "nosuch", "history"]);
    assert!(
        unknown.contains("no key named or addressed 'nosuch'"),
        "{unknown}"
    );
}
