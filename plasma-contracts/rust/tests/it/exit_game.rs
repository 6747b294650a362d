//! The standard exit game on a real anvil, with every root, proof and signature made in Rust.

use alloy::primitives::{U256, utils::parse_ether};
use alloy::providers::Provider;
use plasma_contracts::test_utils::TestChain;
use plasma_contracts::{RootChain, deposit_from_event};
use plasma_core::{Block, UtxoPos, exit};

use crate::common::{Mined, event, exit_args, fillers, payment};

const MEP: u64 = 3600;

#[tokio::test]
async fn deposit_block_exit_challenge_process() {
    let bond = parse_ether("0.01").unwrap();
    let chain = TestChain::start(MEP, bond).await;
    let contract = chain.contract();
    let domain = chain.domain();
    let (operator, alice, bob, carol) = (
        &chain.keys[0],
        &chain.keys[1],
        &chain.keys[2],
        &chain.keys[3],
    );
    assert_eq!(
        contract.operator().call().await.unwrap(),
        operator.address()
    );
    let one_eth = parse_ether("1").unwrap();

    // Alice deposits 1 ETH: the contract's deposit block root is the one plasma-core computes.
    let receipt = contract
        .deposit()
        .value(one_eth)
        .from(alice.address())
        .mined()
        .await;
    let deposit = deposit_from_event(&event::<RootChain::DepositCreated>(&receipt)).unwrap();
    assert_eq!(deposit.blknum, 1);
    assert_eq!((deposit.owner, deposit.amount), (alice.address(), one_eth));
    assert!(
        contract
            .isBlockRoot(U256::from(1), deposit.block_root())
            .call()
            .await
            .unwrap()
    );
    let coin = deposit.utxo_pos().unwrap();

    // Alice pays Bob 0.4 ETH (0.01 fee); the operator puts it at index 3 of block 1000.
    let fee = parse_ether("0.01").unwrap();
    let pay = payment(
        &domain,
        alice,
        coin,
        one_eth,
        bob.address(),
        parse_ether("0.4").unwrap(),
        fee,
    );
    let mut transactions = fillers(&domain, 3);
    transactions.push(pay.clone());
    transactions.extend(fillers(&domain, 2));
    let block = Block::new(1000, 0, transactions).unwrap();
    let receipt = contract
        .submitBlock(block.root)
        .from(operator.address())
        .mined()
        .await;
    let submitted = event::<RootChain::BlockSubmitted>(&receipt);
    assert_eq!(
        (submitted.blknum, submitted.root),
        (U256::from(1000), block.root)
    );
    assert!(
        contract
            .isBlockRoot(U256::from(1000), block.root)
            .call()
            .await
            .unwrap()
    );
    let block_time: u64 = submitted.timestamp.to();

    // Bob exits his output with a proof from plasma-merkle; exit time and priority are the ones
    // plasma-core computes.
    let bob_output = UtxoPos::new(1000, 3, 0).unwrap();
    let (tx_bytes, proof) = exit_args(&block, 3);
    let receipt = contract
        .startStandardExit(bob_output.to_u256(), tx_bytes.clone(), proof.clone())
        .value(bond)
        .from(bob.address())
        .mined()
        .await;
    let started = event::<RootChain::ExitStarted>(&receipt);
    let now = chain
        .provider
        .get_block_by_number(receipt.block_number.unwrap().into())
        .await
        .unwrap()
        .unwrap()
        .header
        .timestamp;
    let exitable_at = exit::exitable_at(bob_output, block_time, now, MEP);
    assert_eq!(started.exitableAt, U256::from(exitable_at));
    assert_eq!(
        (started.owner, started.amount),
        (bob.address(), parse_ether("0.4").unwrap())
    );
    assert_eq!(
        contract.nextExit(plasma_core::ETH).call().await.unwrap(),
        exit::priority(exitable_at, bob_output)
    );

    // Bob may not exit his output twice, nor may anyone else exit it.
    for who in [bob.address(), carol.address()] {
        let again = contract
            .startStandardExit(bob_output.to_u256(), tx_bytes.clone(), proof.clone())
            .value(bond)
            .from(who)
            .call()
            .await;
        let err = again
            .err()
            .expect("a second exit of the same output reverts");
        assert!(err.to_string().contains("revert"), "{err}");
    }

    // Alice exits her deposit output although she spent it: Carol challenges with Alice's
    // signed spend and takes the bond.
    let (deposit_bytes, deposit_proof) = {
        let deposit_block = Block::new(
            1,
            0,
            vec![plasma_core::SignedTransaction::new(
                deposit.transaction(),
                vec![],
            )],
        )
        .unwrap();
        assert_eq!(deposit_block.root, deposit.block_root());
        exit_args(&deposit_block, 0)
    };
    contract
        .startStandardExit(coin.to_u256(), deposit_bytes, deposit_proof)
        .value(bond)
        .from(alice.address())
        .mined()
        .await;
    let carol_before = chain.provider.get_balance(carol.address()).await.unwrap();
    let receipt = contract
        .challengeStandardExit(
            coin.to_u256(),
            pay.bytes().clone(),
            U256::ZERO,
            pay.signatures()[0].0.into(),
        )
        .from(carol.address())
        .mined()
        .await;
    let challenged = event::<RootChain::ExitChallenged>(&receipt);
    assert_eq!(
        (challenged.utxoPos, challenged.challenger),
        (coin.to_u256(), carol.address())
    );
    let carol_after = chain.provider.get_balance(carol.address()).await.unwrap();
    let gas_cost = U256::from(receipt.gas_used) * U256::from(receipt.effective_gas_price);
    assert_eq!(carol_after + gas_cost - carol_before, bond);

    // Nothing is processable before its time.
    let alice_before = chain.provider.get_balance(alice.address()).await.unwrap();
    let bob_before = chain.provider.get_balance(bob.address()).await.unwrap();
    let processor = operator.address();
    contract
        .processExits(plasma_core::ETH, U256::from(10))
        .from(processor)
        .mined()
        .await;
    assert_eq!(
        chain.provider.get_balance(bob.address()).await.unwrap(),
        bob_before
    );
    assert_eq!(
        contract
            .exitQueueLength(plasma_core::ETH)
            .call()
            .await
            .unwrap(),
        U256::from(2)
    );

    // After the exit period, processing pays Bob amount + bond and Alice nothing.
    chain.advance_time(2 * MEP + 1).await;
    let receipt = contract
        .processExits(plasma_core::ETH, U256::from(10))
        .from(processor)
        .mined()
        .await;
    let finalized = event::<RootChain::ExitFinalized>(&receipt);
    assert_eq!(
        (finalized.utxoPos, finalized.paid),
        (bob_output.to_u256(), true)
    );
    assert_eq!(
        chain.provider.get_balance(bob.address()).await.unwrap(),
        bob_before + parse_ether("0.4").unwrap() + bond
    );
    assert_eq!(
        chain.provider.get_balance(alice.address()).await.unwrap(),
        alice_before
    );
    assert_eq!(
        contract
            .exitQueueLength(plasma_core::ETH)
            .call()
            .await
            .unwrap(),
        U256::ZERO
    );

    // Once, ever: Bob cannot exit the same output again after it was paid.
    let again = contract
        .startStandardExit(bob_output.to_u256(), tx_bytes, proof)
        .value(bond)
        .from(bob.address())
        .call()
        .await;
    assert!(again.is_err());
}

#[tokio::test]
async fn a_proof_for_another_position_or_block_is_rejected() {
    let chain = TestChain::start(MEP, U256::ZERO).await;
    let contract = chain.contract();
    let domain = chain.domain();
    let block = Block::new(1000, 0, fillers(&domain, 5)).unwrap();
    contract
        .submitBlock(block.root)
        .from(chain.keys[0].address())
        .mined()
        .await;
    // The fillers pay an address nobody holds in output 0 and change to a known key in
    // output 1: fund that key and exit its change output.
    let someone = alloy_signer_local::PrivateKeySigner::from_bytes(&[0x42; 32].into()).unwrap();
    assert_eq!(
        block.transactions[2].tx().outputs[1].owner,
        someone.address()
    );
    chain
        .provider
        .send_transaction(
            alloy::rpc::types::TransactionRequest::default()
                .to(someone.address())
                .value(parse_ether("1").unwrap())
                .from(chain.keys[0].address()),
        )
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    let (tx_bytes, proof) = exit_args(&block, 2);
    let with_key = alloy::providers::ProviderBuilder::new()
        .wallet(alloy::network::EthereumWallet::new(someone.clone()))
        .connect_http(chain.anvil.endpoint_url());
    let as_someone = RootChain::new(chain.root_chain, with_key);
    // Wrong position (index 1) for the proof of index 2: rejected. Right position: accepted.
    let wrong = UtxoPos::new(1000, 1, 1).unwrap();
    assert!(
        as_someone
            .startStandardExit(wrong.to_u256(), tx_bytes.clone(), proof.clone())
            .call()
            .await
            .is_err()
    );
    let wrong_block = UtxoPos::new(2000, 2, 1).unwrap();
    assert!(
        as_someone
            .startStandardExit(wrong_block.to_u256(), tx_bytes.clone(), proof.clone())
            .call()
            .await
            .is_err()
    );
    let right = UtxoPos::new(1000, 2, 1).unwrap();
    as_someone
        .startStandardExit(right.to_u256(), tx_bytes, proof)
        .mined()
        .await;
}
