//! Gas of the six operations of the gas table, from real anvil receipts (not a model): the
//! figures recorded in docs/PERFORMANCE.md, each held to its target.

use alloy::primitives::{U256, utils::parse_ether};
use alloy::rpc::types::TransactionReceipt;
use alloy::signers::local::PrivateKeySigner;
use plasma_contracts::test_utils::TestChain;
use plasma_core::{Block, ETH, UtxoPos};

use crate::common::{Mined, exit_args, fillers, payment};

const MEP: u64 = 60;

/// A chain with `count` ETH deposits, a block 1000 in which deposit `i` pays 0.1 ETH to the
/// operator with change to its owner (tx `i + 1`, after one filler), and exits of the first
/// `exits` change outputs. Returns the chain, the block, the payers, and the receipts of the
/// first deposit, of `submitBlock`, and of each exit start.
struct Scenario {
    chain: TestChain,
    block: Block,
    payers: Vec<PrivateKeySigner>,
    deposit: TransactionReceipt,
    submit: TransactionReceipt,
    exits: Vec<TransactionReceipt>,
}

async fn scenario(count: usize, exits: usize) -> Scenario {
    let bond = parse_ether("0.01").unwrap();
    let chain = TestChain::start(MEP, bond).await;
    let contract = chain.contract();
    let domain = chain.domain();
    let operator = chain.keys[0].address();
    let payers: Vec<PrivateKeySigner> = chain.keys[1..]
        .iter()
        .cycle()
        .take(count)
        .cloned()
        .collect();
    let amount = parse_ether("1").unwrap();
    let mut deposit = None;
    for payer in &payers {
        let receipt = contract
            .deposit()
            .value(amount)
            .from(payer.address())
            .mined()
            .await;
        deposit.get_or_insert(receipt);
    }
    let mut transactions = fillers(&domain, 1);
    for (i, payer) in payers.iter().enumerate() {
        let coin = UtxoPos::new(i as u64 + 1, 0, 0).unwrap();
        transactions.push(payment(
            &domain,
            payer,
            coin,
            amount,
            operator,
            parse_ether("0.1").unwrap(),
            U256::ZERO,
        ));
    }
    let block = Block::new(1000, 0, transactions).unwrap();
    let submit = contract
        .submitBlock(block.root)
        .from(operator)
        .mined()
        .await;
    let mut receipts = Vec::new();
    for (i, payer) in payers.iter().take(exits).enumerate() {
        let pos = change_output(i);
        let (tx_bytes, proof) = exit_args(&block, i + 1);
        receipts.push(
            contract
                .startStandardExit(pos.to_u256(), tx_bytes, proof)
                .value(bond)
                .from(payer.address())
                .mined()
                .await,
        );
    }
    Scenario {
        chain,
        block,
        payers,
        deposit: deposit.unwrap(),
        submit,
        exits: receipts,
    }
}

/// The change output of payer `i` in block 1000.
fn change_output(i: usize) -> UtxoPos {
    UtxoPos::new(1000, i as u64 + 1, 1).unwrap()
}

#[tokio::test]
#[allow(
    clippy::print_stdout,
    reason = "prints the measured figures for docs/PERFORMANCE.md"
)]
async fn receipts_meet_the_gas_targets() {
    let mut figures: Vec<(&str, u64, Option<u64>)> = Vec::new();

    // A queue of one exit, processed alone.
    let one = scenario(1, 1).await;
    figures.push(("ETH deposit", one.deposit.gas_used, Some(70_000)));
    figures.push((
        "submitBlock (after a deposit)",
        one.submit.gas_used,
        Some(55_000),
    ));
    figures.push((
        "startStandardExit 1-in/2-out, first exit of a token",
        one.exits[0].gas_used,
        Some(120_000),
    ));
    one.chain.advance_time(3 * MEP).await;
    let contract = one.chain.contract();
    let operator = one.chain.keys[0].address();
    let receipt = contract
        .processExits(ETH, U256::from(1))
        .from(operator)
        .mined()
        .await;
    figures.push((
        "processExits, 1 exit (queue of one)",
        receipt.gas_used,
        Some(45_000),
    ));

    // Twelve exits: the last is challenged, then one is processed alone and ten together.
    let many = scenario(12, 12).await;
    figures.push((
        "startStandardExit 1-in/2-out",
        many.exits[1].gas_used,
        Some(120_000),
    ));
    let contract = many.chain.contract();
    let contract = &contract;
    let operator = many.chain.keys[0].address();
    let last = change_output(11);
    let spend = payment(
        &many.chain.domain(),
        &many.payers[11],
        last,
        many.block.transactions[12].tx().outputs[1].amount,
        operator,
        parse_ether("0.1").unwrap(),
        U256::ZERO,
    );
    let receipt = contract
        .challengeStandardExit(
            last.to_u256(),
            spend.bytes().clone(),
            U256::ZERO,
            spend.signatures()[0].0.into(),
        )
        .from(operator)
        .mined()
        .await;
    figures.push(("challengeStandardExit", receipt.gas_used, Some(60_000)));
    many.chain.advance_time(3 * MEP).await;
    let receipt = contract
        .processExits(ETH, U256::from(1))
        .from(operator)
        .mined()
        .await;
    figures.push((
        "processExits, 1 exit from a queue of 12",
        receipt.gas_used,
        None,
    ));
    let receipt = contract
        .processExits(ETH, U256::from(10))
        .from(operator)
        .mined()
        .await;
    assert_eq!(
        contract.exitQueueLength(ETH).call().await.unwrap(),
        U256::from(1),
        "ten exits paid, the challenged one left"
    );
    figures.push((
        "processExits, 10 exits in one call, per exit",
        receipt.gas_used / 10,
        Some(25_000),
    ));

    println!("| operation | receipt gas | target |");
    for (name, gas, target) in &figures {
        let target = target.map_or("—".to_owned(), |t| t.to_string());
        println!("| {name} | {gas} | {target} |");
    }
    for (name, gas, target) in figures {
        if let Some(target) = target {
            assert!(gas <= target, "{name}: {gas} gas, target {target}");
        }
    }
}
