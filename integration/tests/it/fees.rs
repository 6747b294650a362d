//! Fees end to end: users pay the quoted fee, every block's fee claim pays the operator's key,
//! the operator spends fee outputs on the chain and exits one on L1, and what it obtained adds
//! up to the fees paid, to the wei. A byzantine block claiming one wei too much is flagged by the
//! watcher and refused by the client. Also `plasma merge`, and `send`'s and `balance`'s hints.

use alloy::primitives::U256;
use plasma_core::{ETH, Output, SignedTransaction, Transaction, UtxoPos, fee_claim};
use plasma_integration::byzantine::{Byzantine, Serve};
use plasma_integration::{Devnet, User, WatcherProcess, eth};
use serde_json::Value;

use crate::client::EXIT_PERIOD;

/// The operator's minimum fee in these tests: 0.001 ETH.
const MIN_FEE: u64 = 1_000_000_000_000_000;

fn wei(value: &Value) -> U256 {
    value
        .as_str()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("not an amount in wei: {value}"))
}

/// The unspent ETH coins of `user` whose transaction is a fee claim (`plasma history` lists
/// them as `fee_claim`), by position.
fn fee_claims(user: &User) -> Vec<(UtxoPos, U256, String)> {
    user.ok(&["history"])
        .as_array()
        .expect("history entries")
        .iter()
        .filter(|e| e["kind"] == "fee_claim")
        .map(|e| {
            let blknum = e["blknum"].as_u64().expect("a block");
            let index = e["txIndex"].as_u64().expect("an index");
            (
                UtxoPos::new(blknum, index, 0).expect("a position"),
                wei(&e["amounts"][0]["amount"]),
                e["state"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

async fn fee_devnet() -> Devnet {
    Devnet::start_with(EXIT_PERIOD, &["--min-fee", &MIN_FEE.to_string()]).await
}

#[tokio::test(flavor = "multi_thread")]
async fn fees_are_claimed_spent_and_exited_and_add_up_to_the_wei() {
    let net = fee_devnet().await;
    let (alice, bob, carol) = (
        net.user("alice", 1),
        net.user("bob", 2),
        net.user("carol", 3),
    );
    // Key 0 is the operator's: its fee address by default.
    let operator = net.user("operator", 0);
    let quote = net.operator.api().fees().await.expect("GET /v1/fees");
    assert_eq!(quote.min_fee, U256::from(MIN_FEE));
    assert_eq!(quote.payment.fee, U256::from(MIN_FEE));
    assert_eq!(quote.fee_address, Some(operator.address()));
    assert_eq!(quote.token, ETH);

    alice.ok(&["deposit", "1eth"]);
    alice.wait_balance(eth("1")).await;
    // Payments over several blocks (each send waits for its verified block): the quoted fee by
    // default, a higher one when asked.
    let mut paid = U256::ZERO;
    for amount in ["0.1eth", "0.2eth", "0.05eth"] {
        let sent = alice.ok(&["send", &bob.address().to_string(), amount]);
        assert_eq!(wei(&sent["fee"]), U256::from(MIN_FEE), "{sent}");
        paid += U256::from(MIN_FEE);
    }
    let sent = alice.ok(&[
        "send",
        &bob.address().to_string(),
        "0.01eth",
        "--fee",
        "0.002eth",
    ]);
    assert_eq!(wei(&sent["fee"]), eth("0.002"));
    paid += eth("0.002");
    // Too low a fee is the operator's `fee_too_low`, and nothing is spent.
    let refused = alice.fails(&[
        "send",
        &bob.address().to_string(),
        "0.01eth",
        "--fee",
        "1wei",
    ]);
    assert!(refused.contains("fee_too_low"), "{refused}");
    alice.wait_balance(eth("1") - eth("0.36") - paid).await;
    bob.wait_balance(eth("0.36")).await;

    // The operator's key holds one fee claim a block, together exactly the fees paid.
    let claims = fee_claims(&operator);
    assert_eq!(claims.len(), 4, "{claims:?}");
    let claimed: U256 = claims.iter().map(|(_, amount, _)| *amount).sum();
    assert_eq!(claimed, paid);
    let status = operator.ok(&["status"]);
    let collected = &status["feesCollected"][0];
    assert_eq!(
        collected["owner"],
        format!("{:#x}", operator.address()),
        "{status}"
    );
    assert_eq!(wei(&collected["total"]), paid);
    assert_eq!(collected["claims"], 4);
    assert_eq!(wei(&status["fees"]["minFee"]), U256::from(MIN_FEE));
    let text = operator.run(&["status"]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("the operator's fee address"), "{text}");
    assert_eq!(operator.balance(), paid);

    // The operator spends fee outputs on the chain like any coin: 0.0015 ETH to Carol, from the
    // 0.002 claim and a 0.001 one (largest first), paying its own fee (claimed again by itself).
    operator.ok(&["send", &carol.address().to_string(), "0.0015eth"]);
    carol.wait_balance(eth("0.0015")).await;
    let after_spend = fee_claims(&operator);
    assert_eq!(after_spend.len(), 5, "the spend's block claims its fee too");
    assert_eq!(
        after_spend.iter().filter(|c| c.2 == "spent").count(),
        2,
        "{after_spend:?}"
    );

    // It exits one unspent fee output on L1 and is paid exactly its amount (plus its bond).
    let (exited, amount, _) = *after_spend
        .iter()
        .find(|c| c.2 == "unspent")
        .expect("an unspent fee claim");
    let l1_before = net.l1_balance(operator.address()).await;
    let started = operator.ok(&["exit", &exited.to_string()]);
    let mut gas = U256::ZERO;
    for exit in started.as_array().expect("started exits") {
        gas += net.gas_cost(&exit["txHash"]).await;
    }
    net.pass_exit_period().await;
    let processed = carol.ok(&["process-exits"]);
    assert!(!processed["txHash"].is_null(), "{processed}");
    let bond = net.exit_bond().await;
    assert_eq!(
        net.l1_balance(operator.address()).await,
        l1_before - gas + amount,
        "the exit paid the fee output's amount and returned the bond of {bond}"
    );

    // What the operator obtained — paid to Carol, exited on L1, still held on the chain — is
    // what the users paid in fees, to the wei (its own fee came back to it in a claim).
    let held = operator.balance();
    assert_eq!(held + amount + eth("0.0015"), paid);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_block_claiming_one_wei_too_much_is_invalid() {
    let mut net = fee_devnet().await;
    let (alice, bob) = (net.user("alice", 1), net.user("bob", 2));
    alice.ok(&["deposit", "1eth"]);
    alice.wait_balance(eth("1")).await;
    let mut watcher = WatcherProcess::start(&net.user("dave", 4), &[]);
    // First an honest block with a fee claim of exactly its fee: the watcher syncs past it and
    // raises nothing.
    alice.ok(&["send", &bob.address().to_string(), "0.1eth"]);
    let change = eth("0.9") - U256::from(MIN_FEE);
    alice.wait_balance(change).await;
    let honest_block = net.operator.status().await.latest_block.expect("a block");
    let coin = alice.coin_in_state("unspent");
    let byzantine = Byzantine::take_over(&mut net).await;

    // A valid payment of Alice's with a fee of 0.001 ETH, then a claim of 0.001 ETH + 1 wei.
    let payment = SignedTransaction::sign(
        Transaction::payment(
            vec![coin],
            vec![Output::new(
                bob.address(),
                ETH,
                change - U256::from(MIN_FEE),
            )],
        ),
        &net.chain.domain(),
        &alice.key,
    )
    .expect("signs");
    let blknum = Byzantine::next_blknum(&net).await;
    let claim = SignedTransaction::new(
        fee_claim(blknum, byzantine.address(), U256::from(MIN_FEE + 1)),
        vec![],
    );
    let (bad, _) = byzantine
        .commit(&net, vec![payment, claim], Serve::Data)
        .await;
    assert_eq!(bad.blknum, blknum);
    let event = watcher
        .wait_event("invalid_block", |e| e["blknum"] == bad.blknum)
        .await;
    let reason = event["reason"].as_str().expect("a reason");
    assert!(
        reason.contains("fee claim") && reason.contains(&(MIN_FEE + 1).to_string()),
        "{event}"
    );
    let alarms: Vec<Value> = watcher
        .events()
        .into_iter()
        .filter(|e| e["event"] == "invalid_block")
        .collect();
    assert_eq!(alarms.len(), 1, "only the over-claiming block: {alarms:?}");
    assert!(
        bad.blknum > honest_block,
        "the bad block follows the honest one"
    );
    // Bob's client refuses the block: the sync stops at it, naming it, and records nothing of it.
    let refused = bob.fails(&["sync"]);
    assert!(
        refused.contains(&format!("INVALID BLOCK {blknum}")) && refused.contains("fee claim"),
        "{refused}"
    );
    assert_eq!(
        bob.store_balance(&net),
        eth("0.1"),
        "the honest block's coin alone, none from the bad block"
    );
    watcher.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn merge_consolidates_coins_and_send_and_balance_say_when_to() {
    let net = fee_devnet().await;
    let (alice, bob) = (net.user("alice", 1), net.user("bob", 2));
    // Nothing to merge yet: a clear error.
    let nothing = bob.fails(&["merge"]);
    assert!(nothing.contains("nothing to merge"), "{nothing}");
    // Alice gives Bob six coins of 0.01 ETH.
    alice.ok(&["deposit", "1eth"]);
    alice.wait_balance(eth("1")).await;
    for _ in 0..6 {
        alice.ok(&["send", &bob.address().to_string(), "0.01eth"]);
    }
    bob.wait_balance(eth("0.06")).await;
    let balance = bob.ok(&["balance"]);
    assert_eq!(balance[0]["coins"], 6, "{balance}");
    let text = bob.run(&["balance"]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("in 6 coins") && text.contains("plasma merge"),
        "{text}"
    );
    // Paying 0.055 ETH would take 6 coins: send says so and offers the merge.
    let too_many = bob.fails(&["send", &alice.address().to_string(), "0.055eth"]);
    assert!(
        too_many.contains("needs 6") && too_many.contains("plasma merge"),
        "{too_many}"
    );

    // Merged to one coin: 6 → 3 (a payment of 4 coins) → 1 (one of 3), each paying the fee.
    let merged = bob.ok(&["merge"]);
    assert_eq!(merged["coinsBefore"], 6, "{merged}");
    assert_eq!(merged["coinsAfter"], 1, "{merged}");
    let payments = merged["payments"].as_array().expect("payments").len() as u64;
    assert_eq!(payments, 2, "{merged}");
    assert_eq!(wei(&merged["fees"]), U256::from(MIN_FEE * payments));
    assert_eq!(bob.balance(), eth("0.06") - U256::from(MIN_FEE * payments));
    let again = bob.fails(&["merge"]);
    assert!(
        again.contains("nothing to merge") && again.contains("1 unspent ETH coin,"),
        "{again}"
    );
    // Now the payment fits one transaction.
    bob.ok(&["send", &alice.address().to_string(), "0.055eth"]);
    assert_eq!(
        bob.balance(),
        eth("0.06") - eth("0.055") - U256::from(MIN_FEE * (payments + 1))
    );
}
