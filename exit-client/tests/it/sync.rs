//! Sync on a real anvil: blocks verified against L1 roots, coins recorded with exit data that
//! the contract accepts, invalid and withheld blocks refused without recording anything.

use alloy::primitives::utils::parse_ether;
use plasma_api::BlockJson;
use plasma_api::test_utils::FakeOperator;
use plasma_client::l1::L1;
use plasma_client::operator::OperatorClient;
use plasma_client::store::{ClientStore, CoinState};
use plasma_client::sync::{SyncError, Syncer};
use plasma_contracts::test_utils::TestChain;
use plasma_core::{Block, ETH, Output, SignedTransaction, Transaction, UtxoPos};

pub(crate) const MEP: u64 = 600;

pub(crate) struct Setup {
    pub(crate) chain: TestChain,
    pub(crate) l1: L1,
    pub(crate) served: FakeOperator,
    pub(crate) operator: OperatorClient,
    pub(crate) dir: tempfile::TempDir,
}

pub(crate) async fn setup() -> Setup {
    let chain = TestChain::start(MEP, parse_ether("0.01").unwrap()).await;
    let l1 = L1::new("anvil", chain.provider.clone(), chain.root_chain);
    let served = FakeOperator::new();
    let operator =
        OperatorClient::new(&served.start("127.0.0.1:0".parse().unwrap()).await.unwrap());
    Setup {
        chain,
        l1,
        served,
        operator,
        dir: tempfile::tempdir().unwrap(),
    }
}

impl Setup {
    pub(crate) fn store(&self, name: &str) -> ClientStore {
        ClientStore::open(
            &self.dir.path().join(name),
            self.chain.anvil.chain_id(),
            self.chain.root_chain,
        )
        .unwrap()
    }

    pub(crate) fn syncer<'a>(
        &'a self,
        store: &'a ClientStore,
        owned: &[alloy::primitives::Address],
    ) -> Syncer<'a> {
        self.syncer_with(&self.operator, store, owned)
    }

    fn syncer_with<'a>(
        &'a self,
        operator: &'a OperatorClient,
        store: &'a ClientStore,
        owned: &[alloy::primitives::Address],
    ) -> Syncer<'a> {
        Syncer::new(
            store,
            &self.l1,
            operator,
            owned.iter().copied(),
            self.chain.anvil.chain_id(),
        )
    }

    /// Alice deposits 1 ETH (deposit block 1) and pays Bob 0.4 ETH in block 1000, which is
    /// committed on L1. Returns block 1000.
    pub(crate) async fn deposit_and_pay(&self) -> Block {
        let (alice, bob) = (&self.chain.keys[1], &self.chain.keys[2]);
        self.l1
            .deposit_eth(alice.address(), parse_ether("1").unwrap())
            .await
            .unwrap();
        let tx = Transaction::payment(
            vec![UtxoPos::new(1, 0, 0).unwrap()],
            vec![
                Output::new(bob.address(), ETH, parse_ether("0.4").unwrap()),
                Output::new(alice.address(), ETH, parse_ether("0.6").unwrap()),
            ],
        );
        let signed = SignedTransaction::sign(tx, &self.chain.domain(), alice).unwrap();
        let block = Block::new(1000, 0, vec![signed]).unwrap();
        self.commit(&block).await;
        block
    }

    /// Commits `block`'s root on L1 with the operator's key (serving it is the test's choice).
    pub(crate) async fn commit(&self, block: &Block) {
        self.chain
            .contract()
            .submitBlock(block.root)
            .from(self.chain.keys[0].address())
            .send()
            .await
            .unwrap()
            .get_receipt()
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn honest_blocks_are_verified_and_coins_keep_their_exit_data() {
    let s = setup().await;
    let block = s.deposit_and_pay().await;
    s.served.put(&block);
    let (alice, bob) = (s.chain.keys[1].address(), s.chain.keys[2].address());

    let store = s.store("bob");
    let report = s.syncer(&store, &[alice, bob]).sync(|_| {}).await.unwrap();
    assert_eq!(
        (report.blocks, report.transactions, report.synced_blknum),
        (2, 2, 1000)
    );
    // Alice's deposit (spent), Bob's 0.4 and Alice's change.
    let coins = store.coins().unwrap();
    assert_eq!(coins.len(), 3);
    assert_eq!(coins[0].state, CoinState::Spent);
    let bob_coin = coins
        .iter()
        .find(|c| c.output.owner == bob)
        .unwrap()
        .clone();
    assert_eq!(bob_coin.utxo_pos, UtxoPos::new(1000, 0, 0).unwrap());
    assert_eq!(bob_coin.state, CoinState::Unspent);
    // The challenge data for Alice's deposit output is known.
    let spend = store
        .spend_of(UtxoPos::new(1, 0, 0).unwrap())
        .unwrap()
        .unwrap();
    assert_eq!((spend.blknum, spend.input_index), (1000, 0));

    // A second sync has nothing new.
    let again = s.syncer(&store, &[alice, bob]).sync(|_| {}).await.unwrap();
    assert_eq!(again.blocks, 0);

    // The operator vanishes (nothing listens at its address any more): Bob exits from the
    // local store alone, and the contract accepts the stored exit data. Following L1 needs no
    // operator while no new block is committed.
    let gone = OperatorClient::new("http://127.0.0.1:9");
    let (bond, _) = s.l1.exit_params().await.unwrap();
    let receipt = s.l1.start_exit(&bob_coin, bond).await.unwrap();
    assert!(receipt.status());
    let synced = s
        .syncer_with(&gone, &store, &[alice, bob])
        .sync(|_| {})
        .await
        .unwrap();
    assert_eq!(synced.blocks, 0);
    assert_eq!(
        store.coin(bob_coin.utxo_pos).unwrap().unwrap().state,
        CoinState::Exiting
    );
    let exits = store.exits().unwrap();
    assert_eq!(exits.len(), 1);
    assert_eq!(
        (exits[0].owner, exits[0].amount),
        (bob, parse_ether("0.4").unwrap())
    );

    // After the exit period anyone processes; Bob is paid amount + bond, and his coin is exited.
    let before = s.l1.balance(bob).await.unwrap();
    s.chain.advance_time(2 * MEP + 1).await;
    s.l1.process_exits(alice, ETH, 10).await.unwrap();
    assert_eq!(
        s.l1.balance(bob).await.unwrap(),
        before + parse_ether("0.4").unwrap() + bond
    );
    s.syncer_with(&gone, &store, &[alice, bob])
        .sync(|_| {})
        .await
        .unwrap();
    assert_eq!(
        store.coin(bob_coin.utxo_pos).unwrap().unwrap().state,
        CoinState::Exited
    );
}

#[tokio::test]
async fn a_block_whose_data_does_not_match_l1_is_refused_and_nothing_is_recorded() {
    let s = setup().await;
    let block = s.deposit_and_pay().await;
    // The operator serves other data under block 1000: the same transaction paying Carol.
    let (alice, bob, carol) = (
        &s.chain.keys[1],
        s.chain.keys[2].address(),
        s.chain.keys[3].address(),
    );
    let lie = Transaction::payment(
        vec![UtxoPos::new(1, 0, 0).unwrap()],
        vec![Output::new(carol, ETH, parse_ether("1").unwrap())],
    );
    let lie = SignedTransaction::sign(lie, &s.chain.domain(), alice).unwrap();
    let mut served = BlockJson::from(&Block::new(1000, 0, vec![lie]).unwrap());
    served.root = block.root; // it even claims the committed root
    s.served.put_json(served);

    let store = s.store("carol");
    let err = s
        .syncer(&store, &[carol, bob])
        .sync(|_| {})
        .await
        .unwrap_err();
    match &err {
        SyncError::RootMismatch {
            blknum, committed, ..
        } => {
            assert_eq!((*blknum, *committed), (1000, block.root));
        }
        other => panic!("expected a root mismatch, got {other}"),
    }
    assert!(err.to_string().contains("INVALID BLOCK 1000"), "{err}");
    // Nothing of block 1000 is recorded: Carol has no coin, the sync stopped at the deposit.
    assert!(
        store
            .coins()
            .unwrap()
            .iter()
            .all(|c| c.output.owner != carol)
    );
    assert_eq!(store.synced_blknum().unwrap(), 1);
    assert!(
        store
            .spend_of(UtxoPos::new(1, 0, 0).unwrap())
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn a_committed_block_with_an_invalid_transaction_is_refused() {
    let s = setup().await;
    let (alice, bob) = (&s.chain.keys[1], s.chain.keys[2].address());
    s.l1.deposit_eth(alice.address(), parse_ether("1").unwrap())
        .await
        .unwrap();
    // The operator commits (and serves) a block creating money: 1 ETH in, 2 ETH out.
    let tx = Transaction::payment(
        vec![UtxoPos::new(1, 0, 0).unwrap()],
        vec![Output::new(bob, ETH, parse_ether("2").unwrap())],
    );
    let block = Block::new(
        1000,
        0,
        vec![SignedTransaction::sign(tx, &s.chain.domain(), alice).unwrap()],
    )
    .unwrap();
    s.commit(&block).await;
    s.served.put(&block);

    let store = s.store("bob");
    let err = s.syncer(&store, &[bob]).sync(|_| {}).await.unwrap_err();
    assert!(
        matches!(
            err,
            SyncError::InvalidTransaction {
                blknum: 1000,
                index: 0,
                ..
            }
        ),
        "{err}"
    );
    assert!(store.coins().unwrap().is_empty());
    assert_eq!(store.synced_blknum().unwrap(), 1);
}

#[tokio::test]
async fn a_withheld_block_stops_the_sync_and_resumes_when_served() {
    let s = setup().await;
    let block = s.deposit_and_pay().await;
    let bob = s.chain.keys[2].address();
    let store = s.store("bob");
    let err = s.syncer(&store, &[bob]).sync(|_| {}).await.unwrap_err();
    assert!(
        matches!(err, SyncError::Unavailable { blknum: 1000 }),
        "{err}"
    );
    assert_eq!(store.synced_blknum().unwrap(), 1);
    // Served later: the sync resumes where it stopped.
    s.served.put(&block);
    let report = s.syncer(&store, &[bob]).sync(|_| {}).await.unwrap();
    assert_eq!((report.blocks, report.synced_blknum), (1, 1000));
    assert_eq!(store.coins().unwrap().len(), 1);
}

#[tokio::test]
async fn a_key_added_to_a_synced_store_gets_its_coins_with_exit_data() {
    let s = setup().await;
    let block = s.deposit_and_pay().await;
    s.served.put(&block);
    let (alice, bob) = (s.chain.keys[1].address(), s.chain.keys[2].address());

    // The store is synced for Alice alone; then Bob's key is imported into it.
    let store = s.store("shared");
    s.syncer(&store, &[alice]).sync(|_| {}).await.unwrap();
    assert!(
        store
            .coins()
            .unwrap()
            .iter()
            .all(|c| c.output.owner == alice)
    );
    let report = s.syncer(&store, &[alice, bob]).sync(|_| {}).await.unwrap();
    assert_eq!(report.new_coins, 1, "{report:?}");
    let bob_coin = store
        .coins()
        .unwrap()
        .into_iter()
        .find(|c| c.output.owner == bob)
        .expect("Bob's coin is recorded");
    assert_eq!(bob_coin.utxo_pos, UtxoPos::new(1000, 0, 0).unwrap());
    assert_eq!(bob_coin.state, CoinState::Unspent);
    assert_eq!(bob_coin.root, block.root);
    // Its exit data is what the contract accepts.
    let bond = s.chain.contract().exitBond().call().await.unwrap();
    let receipt = s
        .chain
        .contract()
        .startStandardExit(
            bob_coin.utxo_pos.to_u256(),
            bob_coin.tx_bytes.clone(),
            bob_coin.proof.clone(),
        )
        .value(bond)
        .from(bob)
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    assert!(receipt.status(), "the imported coin's exit data is valid");
    // Once found, nothing is looked up again.
    let again = s.syncer(&store, &[alice, bob]).sync(|_| {}).await.unwrap();
    assert_eq!(again.new_coins, 0);
}

#[tokio::test]
async fn a_sent_payment_is_waited_for_until_its_block_is_verified() {
    use std::time::Duration;

    use plasma_api::{SubmitResult, TxStatus};
    use plasma_client::payment::{WaitError, wait_verified};

    let s = setup().await;
    let block = s.deposit_and_pay().await;
    s.served.put(&block);
    let alice = s.chain.keys[1].address();
    let store = s.store("alice");
    let syncer = s.syncer(&store, &[alice]);
    let hash = block.transactions[0].hash();
    let included = |blknum| {
        SubmitResult::new(
            hash,
            TxStatus::Included {
                blknum,
                tx_index: 0,
            },
        )
    };
    // Block 1000 is committed: the wait syncs it and returns.
    let done = wait_verified(
        &syncer,
        &store,
        &s.operator,
        included(1000),
        Duration::from_secs(5),
    )
    .await
    .unwrap();
    assert_eq!(done, included(1000));
    assert_eq!(store.synced_blknum().unwrap(), 1000);
    // A block never committed: the wait gives up after its patience, saying where it stands.
    let err = wait_verified(
        &syncer,
        &store,
        &s.operator,
        included(2000),
        Duration::from_millis(600),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&err, WaitError::NotVerified { tx, .. } if *tx == hash),
        "{err}"
    );
    assert!(
        err.to_string().contains("in block 2000, not yet committed"),
        "{err}"
    );
}

#[tokio::test]
async fn a_signed_payment_keeps_its_coins_in_flight_until_a_verified_block_has_it() {
    use plasma_client::payment::{build_payment, forget_unsent, sign_in_flight};

    let s = setup().await;
    let block = s.deposit_and_pay().await; // block 1000 committed, not served yet
    let (alice_key, bob) = (&s.chain.keys[1], s.chain.keys[2].address());
    let alice = alice_key.address();
    let store = s.store("alice");
    let unserved = s.syncer(&store, &[alice]).sync(|_| {}).await;
    assert!(matches!(
        unserved,
        Err(SyncError::Unavailable { blknum: 1000 })
    ));
    let deposit = UtxoPos::new(1, 0, 0).unwrap();
    assert_eq!(
        store.coin(deposit).unwrap().unwrap().state,
        CoinState::Unspent
    );

    // Alice signs the payment of block 1000 herself: from then on her coin is in flight, with
    // what an in-flight exit needs recorded.
    let tx = block.transactions[0].tx().clone();
    let signed = sign_in_flight(&store, tx.clone(), &s.chain.domain(), alice_key).unwrap();
    assert_eq!(signed, block.transactions[0]);
    assert_eq!(
        store.coin(deposit).unwrap().unwrap().state,
        CoinState::InFlight
    );
    let recorded = store.in_flight(signed.hash()).unwrap().expect("recorded");
    assert_eq!(recorded.tx_bytes, *signed.bytes());
    assert_eq!(recorded.inputs[0].utxo_pos, deposit);
    assert!(!recorded.inputs[0].proof.is_empty());
    // Not spendable again.
    let again = build_payment(
        &store.coins().unwrap(),
        alice,
        bob,
        ETH,
        parse_ether("0.1").unwrap(),
        alloy::primitives::U256::ZERO,
    );
    assert!(again.is_err(), "{again:?}");

    // A payment that never reached the operator gives its coin back.
    forget_unsent(&store, &signed).unwrap();
    assert_eq!(
        store.coin(deposit).unwrap().unwrap().state,
        CoinState::Unspent
    );
    assert!(store.in_flight(signed.hash()).unwrap().is_none());

    // Signed again and then seen in a verified block: spent, and no longer in flight.
    sign_in_flight(&store, tx, &s.chain.domain(), alice_key).unwrap();
    s.served.put(&block);
    s.syncer(&store, &[alice]).sync(|_| {}).await.unwrap();
    assert_eq!(
        store.coin(deposit).unwrap().unwrap().state,
        CoinState::Spent
    );
    assert!(store.in_flight(signed.hash()).unwrap().is_none());
    assert!(store.in_flight_hashes().unwrap().is_empty());
}

#[tokio::test]
async fn in_flight_exits_follow_their_l1_events_and_verified_blocks_prove_inclusion() {
    use plasma_client::in_flight::{InFlightExit, Spend, output_bit};
    use plasma_client::store::InFlightPayment;

    let s = setup().await;
    let block = s.deposit_and_pay().await;
    s.served.put(&block);
    let (alice_key, bob) = (&s.chain.keys[1], s.chain.keys[2].address());
    let alice = alice_key.address();
    let store = s.store("alice");
    let sync = || async { s.syncer(&store, &[alice]).sync(|_| {}).await.unwrap() };
    sync().await;

    // The spend of the deposit records where block 1000 holds it, and the block's leaves give
    // an inclusion proof against the root on L1.
    let deposit = UtxoPos::new(1, 0, 0).unwrap();
    let spend = store
        .spend_of(deposit)
        .unwrap()
        .expect("spent in block 1000");
    assert_eq!((spend.blknum, spend.tx_index), (1000, 0));
    assert_eq!(spend.position(), UtxoPos::new(1000, 0, 0).unwrap().as_u64());
    let proof = store
        .inclusion_proof(1000, 0)
        .unwrap()
        .expect("leaves kept");
    let proof = plasma_merkle::Proof::from_bytes(&proof).unwrap();
    assert!(plasma_merkle::verify(
        block.root,
        block.transactions[0].bytes(),
        0,
        &proof
    ));
    assert!(store.inclusion_proof(1000, 1).unwrap().is_none());
    assert!(store.inclusion_proof(2000, 0).unwrap().is_none());

    // Alice starts the in-flight exit of the payment; Bob claims his output.
    let payment = &block.transactions[0];
    let data = InFlightPayment {
        tx_bytes: payment.bytes().clone(),
        signatures: payment.signatures().to_vec(),
        inputs: vec![store.coin(deposit).unwrap().unwrap()],
    };
    s.l1.start_in_flight_exit(alice, &data, 0).await.unwrap();
    sync().await;
    let record = store.in_flight_exit(payment.hash()).unwrap().expect("seen");
    assert_eq!(
        (record.bond_owner, record.piggybacks, record.canonical),
        (alice, 0, true)
    );
    assert_eq!(record.inputs[0].owner, alice);
    assert_eq!(record.signatures, payment.signatures());
    let exit = InFlightExit::from_record(&record).unwrap();
    s.l1.piggyback(bob, &exit, output_bit(0)).await.unwrap();

    // Bob challenges with another spend Alice signed (unincluded): the record follows.
    let other = SignedTransaction::sign(
        Transaction::payment(
            vec![deposit],
            vec![Output::new(bob, ETH, parse_ether("1").unwrap())],
        ),
        &s.chain.domain(),
        alice_key,
    )
    .unwrap();
    let competitor = Spend {
        tx_bytes: other.bytes().clone(),
        input_index: 0,
        signature: other.signatures()[0],
    };
    s.l1.challenge_in_flight_not_canonical(bob, &exit, 0, &competitor, None)
        .await
        .unwrap();
    sync().await;
    let record = store.in_flight_exit(payment.hash()).unwrap().unwrap();
    assert_eq!(record.piggybacks, output_bit(0));
    assert!(!record.canonical);
    assert_eq!(
        (record.bond_owner, record.competitor_position),
        (bob, u64::MAX)
    );

    // Alice answers with the inclusion proof from her store: the contract accepts it.
    let exit = InFlightExit::from_record(&record).unwrap();
    let inclusion = plasma_client::in_flight::Inclusion {
        position: spend.position(),
        proof: store.inclusion_proof(1000, 0).unwrap().unwrap(),
    };
    s.l1.respond_to_non_canonical_challenge(alice, &exit, &inclusion)
        .await
        .unwrap();
    sync().await;
    let record = store.in_flight_exit(payment.hash()).unwrap().unwrap();
    assert!(record.canonical);
    assert_eq!(
        (record.bond_owner, record.competitor_position),
        (alice, spend.position())
    );
    assert!(!record.closed);
}
