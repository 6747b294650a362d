//! The operator against a real L1: deposits, blocks committed on L1, exits, restarts.

use alloy::primitives::{U256, utils::parse_ether};
use alloy::providers::Provider;
use alloy::rpc::types::Filter;
use alloy::sol_types::SolEvent;
use plasma_contracts::RootChain;
use plasma_contracts::test_utils::TestChain;
use plasma_core::{UtxoPos, wire::ExitData};

use crate::common::{Operator, deposit, payment, poll, start_exit};

/// The block numbers of every BlockSubmitted event so far.
async fn submitted_blocks(chain: &TestChain) -> Vec<u64> {
    let filter = Filter::new()
        .address(chain.root_chain)
        .from_block(0)
        .event_signature(RootChain::BlockSubmitted::SIGNATURE_HASH);
    chain
        .provider
        .get_logs(&filter)
        .await
        .unwrap()
        .iter()
        .map(|l| {
            l.log_decode::<RootChain::BlockSubmitted>()
                .unwrap()
                .inner
                .data
                .blknum
                .to::<u64>()
        })
        .collect()
}

async fn wait_committed(chain: &TestChain, op: &Operator, blknum: u64) -> alloy::primitives::B256 {
    let (code, block) = op.api.get(&format!("/v1/blocks/{blknum}")).await;
    assert_eq!(code, 200, "{block}");
    let root: alloy::primitives::B256 = block["root"].as_str().unwrap().parse().unwrap();
    poll("root committed on L1", || async {
        chain
            .contract()
            .isBlockRoot(U256::from(blknum), root)
            .call()
            .await
            .unwrap()
            .then_some(())
    })
    .await;
    poll("commit recorded", || async {
        let status = op.api.status().await;
        (status["lastCommittedBlock"].as_u64() >= Some(blknum)).then_some(())
    })
    .await;
    root
}

#[tokio::test(flavor = "multi_thread")]
async fn deposit_pay_commit_exit_and_restart() {
    let chain = TestChain::start(10, parse_ether("0.01").unwrap()).await;
    let dir = tempfile::tempdir().unwrap();
    let config = Operator::config(&chain, dir.path());
    let domain = chain.domain();
    let (alice, bob) = (chain.keys[1].clone(), chain.keys[2].clone());
    let op = Operator::start(config.clone()).await;

    // A deposit on L1 becomes a spendable output.
    let one = parse_ether("1").unwrap();
    let coin = deposit(&chain, &alice, one).await;
    let listed = op.api.wait_utxo(alice.address(), coin).await;
    assert_eq!(listed["amount"], one.to_string());
    assert_eq!(listed["exiting"], false);

    // Exit data of a deposit output proves against the deposit block root on L1.
    let (code, data) = op.api.get(&format!("/v1/utxos/{coin}/exit-data")).await;
    assert_eq!(code, 200, "{data}");
    let exit: ExitData = serde_json::from_value(data).unwrap();
    assert!(
        chain
            .contract()
            .isBlockRoot(U256::from(coin.blknum()), exit.root)
            .call()
            .await
            .unwrap()
    );
    let proof = plasma_merkle::Proof::from_bytes(&exit.proof).unwrap();
    assert!(plasma_merkle::verify(exit.root, &exit.tx_bytes, 0, &proof));

    // A payment is acknowledged, put in block 1000, and the root is committed on L1.
    let pay = payment(
        &domain,
        &alice,
        coin,
        one,
        bob.address(),
        parse_ether("0.4").unwrap(),
        U256::ZERO,
    );
    let (code, body) = op.api.submit(&pay).await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["status"], "pending");
    assert_eq!(op.api.wait_included(&pay).await, (1000, 0));
    let root = wait_committed(&chain, &op, 1000).await;
    poll("block timestamp recorded", || async {
        let (_, block) = op.api.get("/v1/blocks/1000").await;
        (block["timestamp"].as_u64() > Some(0)).then_some(())
    })
    .await;

    // Bob exits his output on L1: the operator marks it exiting and refuses to spend it.
    let bobs = UtxoPos::new(1000, 0, 0).unwrap();
    start_exit(&chain, &op.api, &bob, bobs).await;
    let listed = poll("output exiting", || async {
        op.api
            .utxos(bob.address())
            .await
            .into_iter()
            .find(|u| u["utxoPos"] == bobs.to_string() && u["exiting"] == true)
    })
    .await;
    assert_eq!(listed["amount"], parse_ether("0.4").unwrap().to_string());
    let spend = payment(
        &domain,
        &bob,
        bobs,
        parse_ether("0.4").unwrap(),
        alice.address(),
        parse_ether("0.4").unwrap(),
        U256::ZERO,
    );
    let (code, body) = op.api.submit(&spend).await;
    assert_eq!(code, 422, "{body}");
    assert_eq!(body["error"]["code"], "input_exiting");

    // Restart on the same database: state preserved, nothing committed twice.
    op.stop().await;
    let op = Operator::start(config.clone()).await;
    let (code, block) = op.api.get("/v1/blocks/1000").await;
    assert_eq!(code, 200);
    assert_eq!(block["root"], root.to_string());
    let status = op.api.status().await;
    assert_eq!(status["lastCommittedBlock"], 1000);
    assert_eq!(status["nextBlock"], 2000);
    let change = UtxoPos::new(1000, 0, 1).unwrap();
    op.api.wait_utxo(alice.address(), change).await;
    let (code, body) = op.api.submit(&spend).await;
    assert_eq!(code, 422, "{body}");

    // The next block after the restart is 2000, committed once.
    let pay2 = payment(
        &domain,
        &alice,
        change,
        parse_ether("0.6").unwrap(),
        bob.address(),
        parse_ether("0.1").unwrap(),
        U256::ZERO,
    );
    let (code, body) = op.api.submit(&pay2).await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(op.api.wait_included(&pay2).await, (2000, 0));
    wait_committed(&chain, &op, 2000).await;
    assert_eq!(submitted_blocks(&chain).await, vec![1000, 2000]);
    assert_eq!(
        chain.contract().nextChildBlock().call().await.unwrap(),
        U256::from(3000)
    );
    let (_, metrics) = op.api.get("/metrics").await;
    let metrics = metrics.as_str().unwrap().to_owned();
    assert!(
        metrics.contains("plasma_operator_last_committed_block 2000"),
        "{metrics}"
    );
    op.stop().await;

    // Once more: a restart with nothing new commits nothing.
    let op = Operator::start(config).await;
    let status = op.api.status().await;
    assert_eq!(status["lastCommittedBlock"], 2000);
    op.stop().await;
    assert_eq!(submitted_blocks(&chain).await, vec![1000, 2000]);
}

#[tokio::test(flavor = "multi_thread")]
async fn exit_challenged_and_finalized_on_l1() {
    let chain = TestChain::start(1, parse_ether("0.01").unwrap()).await;
    let dir = tempfile::tempdir().unwrap();
    let op = Operator::start(Operator::config(&chain, dir.path())).await;
    let alice = chain.keys[1].clone();
    let amount = parse_ether("1").unwrap();
    let coin = deposit(&chain, &alice, amount).await;
    op.api.wait_utxo(alice.address(), coin).await;

    start_exit(&chain, &op.api, &alice, coin).await;
    poll("exiting", || async {
        op.api
            .utxos(alice.address())
            .await
            .into_iter()
            .any(|u| u["utxoPos"] == coin.to_string() && u["exiting"] == true)
            .then_some(())
    })
    .await;

    // After the exit period, processing pays out and the output leaves the UTXO set.
    chain.advance_time(10).await;
    chain
        .contract()
        .processExits(alloy::primitives::Address::ZERO, U256::from(10))
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    poll("exited output removed", || async {
        op.api
            .utxos(alice.address())
            .await
            .into_iter()
            .all(|u| u["utxoPos"] != coin.to_string())
            .then_some(())
    })
    .await;
    let spend = payment(
        &chain.domain(),
        &alice,
        coin,
        amount,
        alice.address(),
        amount,
        U256::ZERO,
    );
    let (code, body) = op.api.submit(&spend).await;
    assert_eq!(code, 422, "{body}");
    assert_eq!(body["error"]["code"], "input_spent");

    // A challenged exit (with a signed, never included spend) makes the output spendable again.
    let coin2 = deposit(&chain, &alice, amount).await;
    op.api.wait_utxo(alice.address(), coin2).await;
    start_exit(&chain, &op.api, &alice, coin2).await;
    poll("exiting", || async {
        op.api
            .utxos(alice.address())
            .await
            .into_iter()
            .any(|u| u["utxoPos"] == coin2.to_string() && u["exiting"] == true)
            .then_some(())
    })
    .await;
    let spend2 = payment(
        &chain.domain(),
        &alice,
        coin2,
        amount,
        chain.keys[3].address(),
        amount,
        U256::ZERO,
    );
    chain
        .contract()
        .challengeStandardExit(
            coin2.to_u256(),
            spend2.bytes().clone(),
            U256::ZERO,
            alloy::primitives::Bytes::copy_from_slice(spend2.signatures()[0].as_bytes()),
        )
        .from(chain.keys[4].address())
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    poll("exit unmarked", || async {
        op.api
            .utxos(alice.address())
            .await
            .into_iter()
            .any(|u| u["utxoPos"] == coin2.to_string() && u["exiting"] == false)
            .then_some(())
    })
    .await;
    let (code, body) = op.api.submit(&spend2).await;
    assert_eq!(code, 200, "{body}");
    op.stop().await;
}
