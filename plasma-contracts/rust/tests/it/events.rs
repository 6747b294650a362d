//! The event reader on a real anvil: events of several L1 blocks, and several in one L1 block,
//! come back in (block, log index) order with their positions and block timestamps.

use alloy::primitives::{U256, utils::parse_ether};
use alloy::providers::Provider;
use alloy::rpc::types::TransactionReceipt;
use plasma_contracts::events::{EventReader, LogPosition, ReadError, RootChainEvent};
use plasma_contracts::test_utils::TestChain;
use plasma_core::{Block, Deposit, SignedTransaction};

use crate::common::{Mined, exit_args, payment};

async fn timestamp_of(chain: &TestChain, receipt: &TransactionReceipt) -> u64 {
    let number = receipt.block_number.unwrap();
    let block = chain.provider.get_block_by_number(number.into()).await;
    block.unwrap().unwrap().header.timestamp
}

async fn set_automine(chain: &TestChain, on: bool) {
    let _: serde_json::Value = chain
        .provider
        .raw_request("evm_setAutomine".into(), (on,))
        .await
        .unwrap();
}

#[tokio::test]
async fn reads_every_event_in_l1_order_with_block_timestamps() {
    let bond = parse_ether("0.01").unwrap();
    let chain = TestChain::start(3600, bond).await;
    let contract = chain.contract();
    let domain = chain.domain();
    let (operator, alice, bob, carol) = (
        &chain.keys[0],
        &chain.keys[1],
        &chain.keys[2],
        &chain.keys[3],
    );
    let one_eth = parse_ether("1").unwrap();
    let start = chain.provider.get_block_number().await.unwrap() + 1;

    // Two L1 blocks of one deposit each.
    let first = contract
        .deposit()
        .value(one_eth)
        .from(alice.address())
        .mined()
        .await;
    chain.advance_time(10).await;
    let second = contract
        .deposit()
        .value(one_eth)
        .from(bob.address())
        .mined()
        .await;

    // One L1 block of three events: a deposit, a block commitment, and a deposit after it.
    set_automine(&chain, false).await;
    let root = Block::new(1000, 0, vec![]).unwrap().root;
    let pending = [
        contract
            .deposit()
            .value(one_eth)
            .from(carol.address())
            .send()
            .await
            .unwrap(),
        contract
            .submitBlock(root)
            .from(operator.address())
            .send()
            .await
            .unwrap(),
        contract
            .deposit()
            .value(one_eth)
            .from(alice.address())
            .send()
            .await
            .unwrap(),
    ];
    let _: serde_json::Value = chain
        .provider
        .raw_request("evm_mine".into(), ())
        .await
        .unwrap();
    set_automine(&chain, true).await;
    let mut together = Vec::new();
    for tx in pending {
        let receipt = tx.get_receipt().await.unwrap();
        assert!(receipt.status());
        together.push(receipt);
    }
    assert!(
        together
            .iter()
            .all(|r| r.block_number == together[0].block_number)
    );

    // Alice exits her first deposit, which she spent; Carol challenges it.
    let deposit = Deposit {
        blknum: 1,
        owner: alice.address(),
        token: plasma_core::ETH,
        amount: one_eth,
    };
    let coin = deposit.utxo_pos().unwrap();
    let deposit_block = Block::new(
        1,
        0,
        vec![SignedTransaction::new(deposit.transaction(), vec![])],
    )
    .unwrap();
    let (tx_bytes, proof) = exit_args(&deposit_block, 0);
    let started = contract
        .startStandardExit(coin.to_u256(), tx_bytes, proof)
        .value(bond)
        .from(alice.address())
        .mined()
        .await;
    let spend = payment(
        &domain,
        alice,
        coin,
        one_eth,
        bob.address(),
        one_eth,
        U256::ZERO,
    );
    let challenged = contract
        .challengeStandardExit(
            coin.to_u256(),
            spend.bytes().clone(),
            U256::ZERO,
            spend.signatures()[0].0.into(),
        )
        .from(carol.address())
        .mined()
        .await;

    let reader = EventReader::new(chain.provider.clone(), chain.root_chain);
    let end = chain.provider.get_block_number().await.unwrap();
    let logs = reader.read(start, end).await.unwrap();

    let deposit_of = |blknum, owner| {
        RootChainEvent::DepositCreated(Deposit {
            blknum,
            owner,
            token: plasma_core::ETH,
            amount: one_eth,
        })
    };
    let submitted_at = timestamp_of(&chain, &together[1]).await;
    let started_at = timestamp_of(&chain, &started).await;
    let expected = vec![
        (&first, 0, deposit_of(1, alice.address())),
        (&second, 0, deposit_of(2, bob.address())),
        (&together[0], 0, deposit_of(3, carol.address())),
        (
            &together[1],
            1,
            RootChainEvent::BlockSubmitted {
                blknum: 1000,
                root,
                timestamp: submitted_at,
            },
        ),
        (&together[2], 2, deposit_of(1001, alice.address())),
        (
            &started,
            0,
            RootChainEvent::ExitStarted {
                utxo_pos: coin,
                owner: alice.address(),
                token: plasma_core::ETH,
                amount: one_eth,
                exitable_at: plasma_core::exit::exitable_at(
                    coin,
                    timestamp_of(&chain, &first).await,
                    started_at,
                    3600,
                ),
            },
        ),
        (
            &challenged,
            0,
            RootChainEvent::ExitChallenged {
                utxo_pos: coin,
                challenger: carol.address(),
            },
        ),
    ];
    assert_eq!(logs.len(), expected.len(), "{logs:#?}");
    for (log, (receipt, log_index, event)) in logs.iter().zip(expected) {
        let position = LogPosition {
            block_number: receipt.block_number.unwrap(),
            log_index,
            tx_hash: receipt.transaction_hash,
        };
        assert_eq!(log.position, position);
        assert_eq!(log.timestamp, timestamp_of(&chain, receipt).await);
        assert_eq!(log.event, event);
    }
    assert!(logs[0].timestamp + 10 <= logs[1].timestamp);
    assert_eq!(logs[2].timestamp, logs[4].timestamp);

    // Logs without the node's block timestamp get theirs from the block, the same one.
    let mut raw = chain
        .provider
        .get_logs(&reader.filter(start, end))
        .await
        .unwrap();
    raw.reverse();
    for log in &mut raw {
        log.block_timestamp = None;
    }
    assert_eq!(reader.decode_logs(raw).await.unwrap(), logs);
}

#[tokio::test]
async fn a_range_without_events_reads_nothing() {
    let chain = TestChain::start(3600, parse_ether("0.01").unwrap()).await;
    chain
        .contract()
        .deposit()
        .value(chain.config.min_deposit)
        .from(chain.keys[1].address())
        .mined()
        .await;
    chain.advance_time(1).await;
    chain.advance_time(1).await;
    let head = chain.provider.get_block_number().await.unwrap();
    let reader = EventReader::new(chain.provider.clone(), chain.root_chain);
    assert_eq!(reader.read(head - 1, head).await.unwrap(), vec![]);
    assert_eq!(reader.read(0, 0).await.unwrap(), vec![]);
    assert_eq!(reader.read(0, head).await.unwrap().len(), 1);
    let other = EventReader::new(chain.provider.clone(), chain.keys[1].address());
    assert_eq!(other.read(0, head).await.unwrap(), vec![]);
    assert!(matches!(
        reader.read(head, head - 1).await,
        Err(ReadError::EmptyRange { .. })
    ));
}
