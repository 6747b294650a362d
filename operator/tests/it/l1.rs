//! The operator against a real L1: deposits, blocks committed on L1, exits, restarts.

use alloy::primitives::{Address, B256, U256, utils::parse_ether};
use plasma_api::{ErrorCode, SubmitResult, TxStatus};
use plasma_contracts::test_utils::TestChain;
use plasma_core::UtxoPos;

use crate::common::{
    Operator, deposit, mined, payment, poll, refusal, start_exit, submitted, utxos, wait_exiting,
    wait_included, wait_utxo,
};

/// The block numbers of every BlockSubmitted event so far.
async fn submitted_blocks(chain: &TestChain) -> Vec<u64> {
    submitted(chain).await.into_iter().map(|(b, _)| b).collect()
}

async fn wait_committed(chain: &TestChain, op: &Operator, blknum: u64) -> B256 {
    let root = op.api.block(blknum).await.unwrap().expect("the block").root;
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
        let status = op.api.status().await.unwrap();
        (status.last_committed_block >= blknum).then_some(())
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
    let listed = wait_utxo(&op.api, alice.address(), coin).await;
    assert_eq!(listed.utxo.amount, one);
    assert!(!listed.exiting);

    // Exit data of a deposit output proves against the deposit block root on L1.
    let exit = op.api.exit_data(coin).await.unwrap().expect("exit data");
    assert_eq!(exit.utxo_pos, coin);
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
    assert_eq!(
        op.api.submit(&pay).await.unwrap(),
        SubmitResult::new(pay.hash(), TxStatus::Pending)
    );
    assert_eq!(wait_included(&op.api, &pay).await, (1000, 0));
    let root = wait_committed(&chain, &op, 1000).await;
    poll("block timestamp recorded", || async {
        let block = op.api.block(1000).await.unwrap();
        block.is_some_and(|b| b.timestamp > 0).then_some(())
    })
    .await;

    // Bob exits his output on L1: the operator marks it exiting and refuses to spend it.
    let bobs = UtxoPos::new(1000, 0, 0).unwrap();
    start_exit(&chain, &op.api, &bob, bobs).await;
    let listed = wait_exiting(&op.api, bob.address(), bobs, true).await;
    assert_eq!(listed.utxo.amount, parse_ether("0.4").unwrap());
    let spend = payment(
        &domain,
        &bob,
        bobs,
        parse_ether("0.4").unwrap(),
        alice.address(),
        parse_ether("0.4").unwrap(),
        U256::ZERO,
    );
    assert_eq!(
        refusal(op.api.submit(&spend).await),
        Ok((422, ErrorCode::InputExiting))
    );

    // Restart on the same database: state preserved, nothing committed twice.
    op.stop().await;
    let op = Operator::start(config.clone()).await;
    let block = op.api.block(1000).await.unwrap().expect("block 1000");
    assert_eq!(block.root, root);
    let status = op.api.status().await.unwrap();
    assert_eq!(status.last_committed_block, 1000);
    assert_eq!(status.next_block, 2000);
    let change = UtxoPos::new(1000, 0, 1).unwrap();
    wait_utxo(&op.api, alice.address(), change).await;
    assert_eq!(
        refusal(op.api.submit(&spend).await),
        Ok((422, ErrorCode::InputExiting))
    );

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
    assert_eq!(
        op.api.submit(&pay2).await.unwrap(),
        SubmitResult::new(pay2.hash(), TxStatus::Pending)
    );
    assert_eq!(wait_included(&op.api, &pay2).await, (2000, 0));
    wait_committed(&chain, &op, 2000).await;
    assert_eq!(submitted_blocks(&chain).await, vec![1000, 2000]);
    assert_eq!(
        chain.contract().nextChildBlock().call().await.unwrap(),
        U256::from(3000)
    );
    let metrics = op.api.metrics().await.unwrap();
    assert!(
        metrics.contains("plasma_operator_last_committed_block 2000"),
        "{metrics}"
    );
    op.stop().await;

    // Once more: a restart with nothing new commits nothing.
    let op = Operator::start(config).await;
    let status = op.api.status().await.unwrap();
    assert_eq!(status.last_committed_block, 2000);
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
    wait_utxo(&op.api, alice.address(), coin).await;

    start_exit(&chain, &op.api, &alice, coin).await;
    wait_exiting(&op.api, alice.address(), coin, true).await;

    // After the exit period, processing pays out and the output leaves the UTXO set.
    chain.advance_time(10).await;
    let contract = chain.contract();
    let process = contract.processExits(Address::ZERO, U256::from(10));
    mined("processExits", process).await;
    poll("exited output removed", || async {
        utxos(&op.api, alice.address())
            .await
            .into_iter()
            .all(|u| u.utxo.utxo_pos != coin)
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
    assert_eq!(
        refusal(op.api.submit(&spend).await),
        Ok((422, ErrorCode::InputSpent))
    );

    // A challenged exit (with a signed, never included spend) makes the output spendable again.
    let coin2 = deposit(&chain, &alice, amount).await;
    wait_utxo(&op.api, alice.address(), coin2).await;
    start_exit(&chain, &op.api, &alice, coin2).await;
    wait_exiting(&op.api, alice.address(), coin2, true).await;
    let spend2 = payment(
        &chain.domain(),
        &alice,
        coin2,
        amount,
        chain.keys[3].address(),
        amount,
        U256::ZERO,
    );
    let challenge = contract
        .challengeStandardExit(
            coin2.to_u256(),
            spend2.bytes().clone(),
            U256::ZERO,
            alloy::primitives::Bytes::copy_from_slice(spend2.signatures()[0].as_bytes()),
        )
        .from(chain.keys[4].address());
    mined("challengeStandardExit", challenge).await;
    wait_exiting(&op.api, alice.address(), coin2, false).await;
    assert_eq!(
        op.api.submit(&spend2).await.unwrap(),
        SubmitResult::new(spend2.hash(), TxStatus::Pending)
    );
    op.stop().await;
}
