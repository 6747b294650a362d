//! Exit tracking on a real anvil: exits that start and end within one L1 range of a sync, a
//! fresh watcher over exits already challenged, exits of coins known spent, a coin created and
//! spent in one block, and a store that fails a read during sync.

use std::time::Duration;

use alloy::primitives::Address;
use alloy::primitives::utils::parse_ether;
use plasma_client::store::{ClientStore, Coin, CoinState, ExitStatus, SpendRecord};
use plasma_client::sync::SyncError;
use plasma_client::watch::{WatchConfig, WatchError, WatchEvent, Watcher};
use plasma_core::{ETH, Output, SignedTransaction, Transaction, UtxoPos};

use crate::sync::{MEP, Setup, setup};

impl Setup {
    /// The coin at `pos` as the store `name` recorded it (after a sync for `owner`).
    async fn synced_coin(
        &self,
        name: &str,
        owner: alloy::primitives::Address,
        pos: UtxoPos,
    ) -> Coin {
        let store = self.store(name);
        self.syncer(&store, &[owner]).sync(|_| {}).await.unwrap();
        store.coin(pos).unwrap().expect("coin recorded")
    }

    /// The watcher settings of these tests: it challenges from Carol's address.
    fn config(&self) -> WatchConfig {
        WatchConfig {
            withhold_after: Duration::from_secs(3600),
            warn_before: MEP,
            challenge_from: Some(self.chain.keys[3].address()),
            exit_on_danger: None,
        }
    }

    /// A watcher over `store` for `owned`, with `config`.
    fn watcher_with<'a>(
        &'a self,
        store: &'a ClientStore,
        owned: Vec<Address>,
        config: WatchConfig,
    ) -> Watcher<'a> {
        let chain_id = self.chain.anvil.chain_id();
        Watcher::new(store, &self.l1, &self.operator, owned, chain_id, config)
    }

    /// A watcher over `store` that challenges from Carol's address.
    fn watcher<'a>(&'a self, store: &'a ClientStore, owned: Vec<Address>) -> Watcher<'a> {
        self.watcher_with(store, owned, self.config())
    }
}

/// Bug 1: both exits' ends are read in the same L1 range as their starts.
#[tokio::test]
async fn exits_started_and_ended_within_one_l1_range_end_in_the_store() {
    let s = setup().await;
    let (alice, bob) = (&s.chain.keys[1], s.chain.keys[2].address());
    let one_eth = parse_ether("1").unwrap();
    for _ in 0..2 {
        s.l1.deposit_eth(alice.address(), one_eth).await.unwrap();
    }
    let (paid, challenged) = (
        UtxoPos::new(1, 0, 0).unwrap(),
        UtxoPos::new(2, 0, 0).unwrap(),
    );
    let store = s.store("alice");
    s.syncer(&store, &[alice.address()])
        .sync(|_| {})
        .await
        .unwrap();
    let (bond, _) = s.l1.exit_params().await.unwrap();
    for pos in [paid, challenged] {
        let coin = store.coin(pos).unwrap().unwrap();
        assert!(s.l1.start_exit(&coin, bond).await.unwrap().status());
    }
    // Alice signed a spend of her second coin (never included): Bob challenges with it.
    let spend = SignedTransaction::sign(
        Transaction::payment(vec![challenged], vec![Output::new(bob, ETH, one_eth)]),
        &s.chain.domain(),
        alice,
    )
    .unwrap();
    let record = SpendRecord {
        tx_bytes: spend.bytes().clone(),
        input_index: 0,
        signature: spend.signatures()[0],
        blknum: 0,
        tx_index: 0,
    };
    s.l1.challenge(bob, challenged, &record).await.unwrap();
    s.chain.advance_time(2 * MEP + 1).await;
    s.l1.process_exits(bob, ETH, 10).await.unwrap();

    // A store that saw the deposits earlier, and a fresh one that reads everything at once.
    let fresh = s.store("fresh");
    for store in [&store, &fresh] {
        s.syncer(store, &[alice.address()])
            .sync(|_| {})
            .await
            .unwrap();
        let exits: Vec<(UtxoPos, ExitStatus)> = store
            .exits()
            .unwrap()
            .iter()
            .map(|e| (e.utxo_pos, e.status))
            .collect();
        assert_eq!(
            exits,
            vec![
                (paid, ExitStatus::Finalized),
                (challenged, ExitStatus::Challenged)
            ]
        );
        let coins: Vec<(UtxoPos, CoinState)> = store
            .coins()
            .unwrap()
            .iter()
            .map(|c| (c.utxo_pos, c.state))
            .collect();
        assert_eq!(
            coins,
            vec![(paid, CoinState::Exited), (challenged, CoinState::Spent)]
        );
    }
}

/// Bug 2: an exit started for a coin the client knows spent leaves it spent.
#[tokio::test]
async fn an_exit_of_a_coin_known_spent_leaves_it_spent() {
    let s = setup().await;
    let block = s.deposit_and_pay().await;
    s.served.put(&block);
    let alice = s.chain.keys[1].address();
    let deposit = UtxoPos::new(1, 0, 0).unwrap();
    let store = s.store("alice");
    s.syncer(&store, &[alice]).sync(|_| {}).await.unwrap();
    let coin = store.coin(deposit).unwrap().unwrap();
    assert_eq!(coin.state, CoinState::Spent);

    // Alice exits her spent deposit anyway (the contract only checks inclusion).
    let (bond, _) = s.l1.exit_params().await.unwrap();
    assert!(s.l1.start_exit(&coin, bond).await.unwrap().status());
    s.syncer(&store, &[alice]).sync(|_| {}).await.unwrap();
    assert_eq!(store.exits().unwrap()[0].status, ExitStatus::Started);
    assert_eq!(
        store.coin(deposit).unwrap().unwrap().state,
        CoinState::Spent
    );
}

/// Bug 2: a watcher started after an invalid exit was challenged and its time passed raises
/// nothing and does not try to challenge it again.
#[tokio::test]
async fn a_fresh_watcher_is_quiet_about_an_exit_already_challenged() {
    let s = setup().await;
    let block = s.deposit_and_pay().await;
    s.served.put(&block);
    let (alice, carol) = (s.chain.keys[1].address(), s.chain.keys[3].address());
    let deposit = UtxoPos::new(1, 0, 0).unwrap();
    let coin = s.synced_coin("alice", alice, deposit).await;
    let (bond, _) = s.l1.exit_params().await.unwrap();
    assert!(s.l1.start_exit(&coin, bond).await.unwrap().status());
    let spend = {
        let store = s.store("alice");
        store.spend_of(deposit).unwrap().expect("spend recorded")
    };
    s.l1.challenge(carol, deposit, &spend).await.unwrap();
    s.chain.advance_time(2 * MEP + 1).await;

    let store = s.store("watcher");
    let mut watcher = s.watcher(&store, vec![]);
    for _ in 0..2 {
        assert_eq!(watcher.round().await.unwrap(), vec![]);
    }
    assert_eq!(store.watch_events::<WatchEvent>().unwrap(), vec![]);
    assert_eq!(store.exits().unwrap()[0].status, ExitStatus::Challenged);
}

/// Issue item 5: a record the store cannot read is a store error, not an invalid block.
#[tokio::test]
async fn a_store_that_fails_a_read_during_sync_is_a_store_error_and_no_invalid_block() {
    let s = setup().await;
    let block = s.deposit_and_pay().await;
    let bob = s.chain.keys[2].address();
    let deposit = UtxoPos::new(1, 0, 0).unwrap();
    {
        // Block 1000 is not served yet: the sync stops after the deposit block.
        let store = s.store("watcher");
        let err = s.syncer(&store, &[bob]).sync(|_| {}).await.unwrap_err();
        assert!(
            matches!(err, SyncError::Unavailable { blknum: 1000 }),
            "{err}"
        );
        assert!(store.utxo(deposit).unwrap().is_some());
    }
    // The deposit's record gets damaged on disk.
    let path = s.dir.path().join("watcher");
    {
        let options = rocksdb::Options::default();
        let columns = rocksdb::DB::list_cf(&options, &path).unwrap();
        let db = rocksdb::DB::open_cf(&options, &path, columns).unwrap();
        let outputs = db.cf_handle("outputs").unwrap();
        db.put_cf(outputs, deposit.as_u64().to_be_bytes(), b"\xffdamaged")
            .unwrap();
    }
    s.served.put(&block);

    let store = s.store("watcher");
    let err = s.syncer(&store, &[bob]).sync(|_| {}).await.unwrap_err();
    assert!(matches!(err, SyncError::Store(_)), "{err}");
    assert!(!err.to_string().contains("INVALID BLOCK"), "{err}");

    let mut watcher = s.watcher(&store, vec![bob]);
    let round = watcher.round().await;
    assert!(matches!(round, Err(WatchError::Store(_))), "{round:?}");
    assert_eq!(store.watch_events::<WatchEvent>().unwrap(), vec![]);
    assert_eq!(store.synced_blknum().unwrap(), 1);
}

/// A coin created and spent within one block is recorded spent: the spend reads the coin the
/// same block's batch just wrote.
#[tokio::test]
async fn a_coin_created_and_spent_in_one_block_is_spent() {
    let s = setup().await;
    let (alice, bob, carol) = (
        &s.chain.keys[1],
        &s.chain.keys[2],
        s.chain.keys[3].address(),
    );
    let one_eth = parse_ether("1").unwrap();
    s.l1.deposit_eth(alice.address(), one_eth).await.unwrap();
    let domain = s.chain.domain();
    let to_bob = SignedTransaction::sign(
        Transaction::payment(
            vec![UtxoPos::new(1, 0, 0).unwrap()],
            vec![Output::new(bob.address(), ETH, one_eth)],
        ),
        &domain,
        alice,
    )
    .unwrap();
    let bobs = UtxoPos::new(1000, 0, 0).unwrap();
    let to_carol = SignedTransaction::sign(
        Transaction::payment(vec![bobs], vec![Output::new(carol, ETH, one_eth)]),
        &domain,
        bob,
    )
    .unwrap();
    let block = plasma_core::Block::new(1000, 0, vec![to_bob, to_carol]).unwrap();
    s.commit(&block).await;
    s.served.put(&block);

    let store = s.store("bob");
    s.syncer(&store, &[bob.address(), carol])
        .sync(|_| {})
        .await
        .unwrap();
    assert_eq!(store.coin(bobs).unwrap().unwrap().state, CoinState::Spent);
    let carols = UtxoPos::new(1000, 1, 0).unwrap();
    assert_eq!(
        store.coin(carols).unwrap().unwrap().state,
        CoinState::Unspent
    );
    assert_eq!(store.spend_of(bobs).unwrap().unwrap().blknum, 1000);
}

/// A watcher run in rounds (a new process each time, as from cron) still raises
/// `block_withholding`: the time a root has gone unserved counts from when it was first seen,
/// kept in the store.
#[tokio::test]
async fn a_withheld_block_is_raised_by_a_watcher_run_in_rounds() {
    let s = setup().await;
    let _withheld = s.deposit_and_pay().await; // committed on L1, never served
    let store = s.store("cron");
    let round = || async {
        let config = WatchConfig {
            withhold_after: Duration::from_millis(1500),
            challenge_from: None,
            ..s.config()
        };
        s.watcher_with(&store, vec![], config)
            .round()
            .await
            .unwrap()
    };
    assert!(round().await.is_empty(), "not yet: just seen");
    tokio::time::sleep(Duration::from_millis(1700)).await;
    let raised = round().await;
    assert!(
        matches!(raised.as_slice(), [WatchEvent::BlockWithholding { blknum: 1000, waited_secs, .. }] if *waited_secs >= 1),
        "{raised:?}"
    );
}

/// A payee's watcher sees an in-flight exit of a payment to its key (from the start event on
/// L1), raises `piggyback_available` once, and with `--exit-on-danger` claims the output.
#[tokio::test]
async fn a_payees_watcher_claims_its_output_in_an_in_flight_exit() {
    use plasma_client::in_flight::{output_bit, own_piggybacks};
    use plasma_client::payment::sign_in_flight;

    let s = setup().await;
    let (alice, bob) = (&s.chain.keys[1], s.chain.keys[2].address());
    s.l1.deposit_eth(alice.address(), parse_ether("1").unwrap())
        .await
        .unwrap();
    let alice_store = s.store("alice");
    s.syncer(&alice_store, &[alice.address()])
        .sync(|_| {})
        .await
        .unwrap();
    let tx = Transaction::payment(
        vec![UtxoPos::new(1, 0, 0).unwrap()],
        vec![
            Output::new(bob, ETH, parse_ether("0.6").unwrap()),
            Output::new(alice.address(), ETH, parse_ether("0.4").unwrap()),
        ],
    );
    let signed = sign_in_flight(&alice_store, tx.clone(), &s.chain.domain(), alice).unwrap();
    let payment = alice_store.in_flight(signed.hash()).unwrap().unwrap();
    let alices = own_piggybacks(&payment, &tx, alice.address());
    s.l1.start_in_flight_exit(alice.address(), &payment, alices)
        .await
        .unwrap();

    let bob_store = s.store("bob");
    let config = WatchConfig {
        challenge_from: None,
        exit_on_danger: Some(bob),
        ..s.config()
    };
    let mut watcher = s.watcher_with(&bob_store, vec![bob], config);
    let raised = watcher.round().await.unwrap();
    assert!(
        matches!(raised.as_slice(), [
            WatchEvent::PiggybackAvailable { in_flight_tx, owner, claims, .. },
            WatchEvent::Piggybacked { owner: claimer, transactions, .. },
        ] if *in_flight_tx == signed.hash() && *owner == bob && *claims == output_bit(0)
            && *claimer == bob && transactions.len() == 1),
        "{raised:?}"
    );
    let exit = s.l1.in_flight_exit(signed.hash()).await.unwrap().unwrap();
    assert_eq!(exit.piggybacks, alices | output_bit(0));
    // Raised once: the next round (and a restarted watcher) says nothing more.
    assert!(watcher.round().await.unwrap().is_empty());
}

/// Replay takes L1 exits into account: an output whose exit was paid before a block was
/// committed cannot be spent in that block (its value left the chain), while a block committed
/// before the payout may spend it (the exit was then the cheat, open to a challenge).
#[tokio::test]
async fn a_block_spending_an_output_after_its_exit_was_paid_is_invalid() {
    use plasma_core::{Block, InputError, ValidationError};

    let s = setup().await;
    let (alice, bob) = (&s.chain.keys[1], s.chain.keys[2].address());
    let one_eth = parse_ether("1").unwrap();
    for _ in 0..2 {
        s.l1.deposit_eth(alice.address(), one_eth).await.unwrap();
    }
    let (early, late) = (
        UtxoPos::new(1, 0, 0).unwrap(),
        UtxoPos::new(2, 0, 0).unwrap(),
    );
    let store = s.store("alice");
    let sync = || async { s.syncer(&store, &[alice.address()]).sync(|_| {}).await };
    sync().await.unwrap();
    let (bond, _) = s.l1.exit_params().await.unwrap();
    for pos in [early, late] {
        let coin = store.coin(pos).unwrap().unwrap();
        assert!(s.l1.start_exit(&coin, bond).await.unwrap().status());
    }
    let pay = |pos, blknum| {
        let tx = Transaction::payment(vec![pos], vec![Output::new(bob, ETH, one_eth)]);
        let signed = SignedTransaction::sign(tx, &s.chain.domain(), alice).unwrap();
        Block::new(blknum, 0, vec![signed]).unwrap()
    };
    // Block 1000 spends the first coin while its exit is still open: a valid block.
    let before = pay(early, 1000);
    s.served.put(&before);
    s.commit(&before).await;
    // Both exits are paid; then block 2000 spends the second coin.
    s.chain.advance_time(2 * MEP + 1).await;
    s.l1.process_exits(bob, ETH, 10).await.unwrap();
    let after = pay(late, 2000);
    s.served.put(&after);
    s.commit(&after).await;

    let refused = sync().await;
    assert!(
        matches!(
            refused,
            Err(SyncError::InvalidTransaction {
                blknum: 2000,
                index: 0,
                error: ValidationError::Input {
                    index: 0,
                    reason: InputError::Exiting,
                    ..
                },
            })
        ),
        "{refused:?}"
    );
    assert_eq!(
        store.synced_blknum().unwrap(),
        1000,
        "block 1000 was applied"
    );
    assert!(store.spend_of(early).unwrap().is_some());
    assert!(store.spend_of(late).unwrap().is_none());
}
