//! Crash safety: the real binary killed with SIGKILL at several points — while accepting a
//! stream of transactions, while building blocks, right after sending a commit to L1 and before
//! it is mined — and restarted on the same database each time. After each restart: every
//! acknowledged transaction is pending or in a block; no block number is committed twice or
//! skipped; every root on L1 equals the stored root; the UTXO set equals a replay of all stored
//! blocks.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use alloy::primitives::{Address, B256, U256, utils::parse_ether};
use alloy::providers::Provider;
use alloy::signers::local::PrivateKeySigner;
use plasma_api::{ApiClient, ClientError};
use plasma_contracts::test_utils::TestChain;
use plasma_core::{Block, Output, SignedTransaction, UtxoPos};
use tokio::sync::Mutex;

use crate::common::{connect, deposit, payment, poll, submitted, utxos};

/// The real binary, on a free port.
struct Daemon {
    child: Child,
    api: ApiClient,
}

impl Daemon {
    async fn start(chain: &TestChain, db: &Path, log: &Path) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .unwrap();
        let key = B256::from(chain.keys[0].to_bytes());
        let child = Command::new(env!("CARGO_BIN_EXE_plasma-operator"))
            .args(["--l1-rpc", &chain.anvil.endpoint()])
            .args(["--root-chain", &chain.root_chain.to_string()])
            .args(["--db", db.to_str().unwrap()])
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .args(["--block-interval", "100ms"])
            .args(["--l1-confirmations", "0"])
            .args(["--l1-poll-interval", "100ms"])
            .env("PLASMA_PRIVATE_KEY", key.to_string())
            .env("PLASMA_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        let api = connect("daemon up", &format!("http://127.0.0.1:{port}")).await;
        Self { child, api }
    }

    fn kill(mut self) {
        self.child.kill().unwrap(); // SIGKILL
        self.child.wait().unwrap();
    }
}

/// Every stored block.
async fn all_blocks(api: &ApiClient) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut from = 0u64;
    loop {
        let page = api.blocks(from, 100).await.unwrap();
        let Some(last) = page.last() else { break };
        from = last.blknum + 1;
        blocks.extend(page.into_iter().map(|b| Block::try_from(b).unwrap()));
    }
    blocks
}

/// Checks the invariants once the daemon has caught up with L1.
async fn check_invariants(
    chain: &TestChain,
    api: &ApiClient,
    acked: &[SignedTransaction],
    owners: &[Address],
) {
    // Acknowledged transactions are pending or in a block.
    for tx in acked {
        let found = api.transaction(tx.hash()).await.unwrap();
        let found = found.unwrap_or_else(|| panic!("acknowledged transaction {} lost", tx.hash()));
        assert_eq!(found.tx, *tx.bytes(), "transaction {} altered", tx.hash());
    }
    // Wait until every produced block is committed (no pending, nothing in flight).
    poll("all blocks committed", || async {
        let status = api.status().await.unwrap();
        (status.mempool_size == 0 && status.last_committed_block == status.next_block - 1000)
            .then_some(())
    })
    .await;
    // Block numbers committed once each, in order, none skipped; roots equal the stored ones.
    let blocks = all_blocks(api).await;
    let stored: BTreeMap<u64, B256> = blocks.iter().map(|b| (b.blknum, b.root)).collect();
    let events = submitted(chain).await;
    for (i, (blknum, root)) in events.iter().enumerate() {
        assert_eq!(
            *blknum,
            (i as u64 + 1) * 1000,
            "committed out of order or twice: {events:?}"
        );
        assert_eq!(
            stored.get(blknum),
            Some(root),
            "root of block {blknum} differs"
        );
        assert!(
            blocks
                .iter()
                .find(|b| b.blknum == *blknum)
                .unwrap()
                .root_matches()
        );
    }
    let operator_blocks = blocks.iter().filter(|b| b.blknum % 1000 == 0).count();
    assert_eq!(
        events.len(),
        operator_blocks,
        "stored blocks not all committed"
    );
    // The UTXO set equals a replay of the stored blocks.
    let mut replay: BTreeMap<UtxoPos, Output> = BTreeMap::new();
    for block in &blocks {
        for (index, tx) in block.transactions.iter().enumerate() {
            for input in &tx.tx().inputs {
                assert!(
                    replay.remove(input).is_some(),
                    "block {} spends a missing output",
                    block.blknum
                );
            }
            for (o, output) in tx.tx().outputs.iter().enumerate() {
                replay.insert(
                    UtxoPos::new(block.blknum, index as u64, o as u64).unwrap(),
                    *output,
                );
            }
        }
    }
    let mut served: BTreeMap<UtxoPos, Output> = BTreeMap::new();
    for owner in owners {
        for utxo in utxos(api, *owner).await.into_iter().map(|u| u.utxo) {
            served.insert(
                utxo.utxo_pos,
                Output::new(utxo.owner, utxo.token, utxo.amount),
            );
        }
    }
    assert_eq!(
        served, replay,
        "UTXO set differs from the replay of the stored blocks"
    );
}

/// Submits `txs` one per request from 4 concurrent clients; pushes the acknowledged ones to
/// `acked` (a request cut by a kill is not acknowledged).
async fn stream(
    api: &ApiClient,
    txs: Vec<SignedTransaction>,
    acked: Arc<Mutex<Vec<SignedTransaction>>>,
    count: Arc<AtomicUsize>,
) {
    let queue = Arc::new(Mutex::new(txs));
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let (api, queue, acked, count) = (api.clone(), queue.clone(), acked.clone(), count.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let Some(tx) = queue.lock().await.pop() else {
                    break;
                };
                match api.submit(&tx).await {
                    // A success status is the acknowledgement (even with a body that does not
                    // read as a result).
                    Ok(_) | Err(ClientError::Decode { .. }) => {
                        acked.lock().await.push(tx);
                        count.fetch_add(1, Ordering::SeqCst);
                    }
                    // No answer: the daemon is gone, this client stops.
                    Err(ClientError::Unreachable { .. }) => break,
                    // Refused: not acknowledged.
                    Err(ClientError::Api { .. } | ClientError::Http { .. }) => {}
                }
            }
        }));
    }
    for task in tasks {
        let _ = task.await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn sigkill_at_several_points_loses_nothing_and_commits_once() {
    let chain = TestChain::start(100, parse_ether("0.01").unwrap()).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    let log = dir.path().join("operator.log");
    let domain = chain.domain();
    let users: Vec<PrivateKeySigner> = chain.keys[1..].to_vec();
    let owners: Vec<Address> = users.iter().map(|k| k.address()).collect();
    let amount = parse_ether("1").unwrap();

    // Coins for three rounds.
    let mut coins: Vec<(UtxoPos, PrivateKeySigner)> = Vec::new();
    for i in 0..90 {
        let user = &users[i % users.len()];
        coins.push((deposit(&chain, user, amount).await, user.clone()));
    }
    let spend = |(pos, key): &(UtxoPos, PrivateKeySigner)| {
        let to =
            owners[(owners.iter().position(|o| *o == key.address()).unwrap() + 1) % owners.len()];
        payment(&domain, key, *pos, amount, to, amount, U256::ZERO)
    };
    let acked = Arc::new(Mutex::new(Vec::new()));
    // The payments of the next round of 30 coins.
    let mut rounds = coins.chunks(30);
    let mut round =
        || -> Vec<SignedTransaction> { rounds.next().unwrap().iter().map(spend).collect() };

    // 1. Killed while accepting a stream of transactions.
    let daemon = Daemon::start(&chain, &db, &log).await;
    let count = Arc::new(AtomicUsize::new(0));
    let txs = round();
    let streaming = tokio::spawn({
        let (api, acked, count) = (daemon.api.clone(), acked.clone(), count.clone());
        async move { stream(&api, txs, acked, count).await }
    });
    poll("some acknowledgements", || async {
        (count.load(Ordering::SeqCst) >= 10).then_some(())
    })
    .await;
    daemon.kill();
    let _ = streaming.await;
    let daemon = Daemon::start(&chain, &db, &log).await;
    check_invariants(&chain, &daemon.api, &acked.lock().await, &owners).await;

    // 2. Killed while building blocks: a burst, then a kill as blocks are being made.
    stream(&daemon.api, round(), acked.clone(), Arc::default()).await;
    daemon.kill();
    let daemon = Daemon::start(&chain, &db, &log).await;
    check_invariants(&chain, &daemon.api, &acked.lock().await, &owners).await;

    // 3. Killed right after sending a commit, before it is mined (automine off).
    let _: serde_json::Value = chain
        .provider
        .raw_request("evm_setAutomine".into(), (false,))
        .await
        .unwrap();
    stream(&daemon.api, round(), acked.clone(), Arc::default()).await;
    let operator = chain.keys[0].address();
    poll("commit sent, not mined", || async {
        let pending = chain
            .provider
            .get_transaction_count(operator)
            .pending()
            .await
            .unwrap();
        let latest = chain
            .provider
            .get_transaction_count(operator)
            .await
            .unwrap();
        (pending > latest).then_some(())
    })
    .await;
    daemon.kill();
    let _: serde_json::Value = chain
        .provider
        .raw_request("evm_mine".into(), ())
        .await
        .unwrap();
    let _: serde_json::Value = chain
        .provider
        .raw_request("evm_setAutomine".into(), (true,))
        .await
        .unwrap();
    let daemon = Daemon::start(&chain, &db, &log).await;
    check_invariants(&chain, &daemon.api, &acked.lock().await, &owners).await;
    assert!(!acked.lock().await.is_empty());
    let committed: HashSet<u64> = submitted(&chain)
        .await
        .into_iter()
        .map(|(b, _)| b)
        .collect();
    assert!(committed.len() >= 2, "{committed:?}");
    daemon.kill();
}
