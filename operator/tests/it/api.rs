//! Every bad input of the list over the real HTTP API: each is a 4xx JSON error with a
//! code and changes no state.
//!
//! A bad input that the typed client can send (a transaction that breaks a rule, an empty
//! batch, a missing block) goes through [`ApiClient`]; bytes it cannot produce (malformed JSON
//! or hex, non-canonical transaction bytes, malformed path parameters, unknown routes, a huge
//! declared body) go through the raw helper [`Raw`].

use alloy::primitives::{Address, B256, Bytes, U256, utils::parse_ether};
use alloy::signers::local::PrivateKeySigner;
use plasma_api::{
    AccountUtxo, ApiClient, BatchResult, BlockJson, ClientError, ErrorBody, ErrorCode,
    SignedTransactionJson, SubmitResult, TxStatus,
};
use plasma_contracts::test_utils::TestChain;
use plasma_core::{Domain, ETH, Output, SignedTransaction, Transaction, TxSignature, UtxoPos};
use serde_json::{Value, json};

use crate::common::{
    Operator, Raw, deposit, payment, poll, refusal, start_exit, utxos, wait_exiting, wait_included,
    wait_utxo,
};

/// What a rejected request must leave unchanged: the mempool size, the next and the latest
/// block, the owner's outputs and the stored blocks.
type Snapshot = ((usize, u64, Option<u64>), Vec<AccountUtxo>, Vec<BlockJson>);

async fn snapshot(api: &ApiClient, owner: Address) -> Snapshot {
    let status = api.status().await.unwrap();
    (
        (status.mempool_size, status.next_block, status.latest_block),
        utxos(api, owner).await,
        api.blocks(0, 100).await.unwrap(),
    )
}

/// A request of the table: through the typed client, or raw.
enum Request {
    /// `POST /v1/transactions` of one signed transaction.
    Submit(SignedTransaction),
    /// `POST /v1/transactions` of a batch.
    Batch(Vec<SignedTransaction>),
    /// `GET /v1/blocks/{blknum}`.
    Block(u64),
    /// `GET /v1/blocks?from=&limit=`.
    Blocks(u64, usize),
    /// `GET /v1/transactions/{hash}`.
    Transaction(B256),
    /// `GET /v1/accounts/{owner}/utxos?from=&limit=` of the test's owner.
    Utxos(Option<UtxoPos>, Option<usize>),
    /// `GET /v1/utxos/{utxoPos}/exit-data`.
    ExitData(UtxoPos),
    /// Bytes the typed client cannot produce.
    Raw(Raw),
}

/// The status and error code of the refusal `request` got, or what came instead.
async fn send(
    api: &ApiClient,
    owner: Address,
    request: Request,
) -> Result<(u16, ErrorCode), String> {
    // The typed client reads a 404 with the endpoint's not-found code as `None`.
    fn found<T: std::fmt::Debug>(
        result: Result<Option<T>, ClientError>,
        code: ErrorCode,
    ) -> Result<(u16, ErrorCode), String> {
        match result {
            Ok(None) => Ok((404, code)),
            other => refusal(other),
        }
    }
    match request {
        Request::Submit(tx) => refusal(api.submit(&tx).await),
        Request::Batch(txs) => refusal(api.submit_batch(&txs).await),
        Request::Block(blknum) => found(api.block(blknum).await, ErrorCode::BlockNotFound),
        Request::Blocks(from, limit) => refusal(api.blocks(from, limit).await),
        Request::Transaction(hash) => found(api.transaction(hash).await, ErrorCode::TxNotFound),
        Request::Utxos(from, limit) => refusal(api.utxos(owner, from, limit).await),
        Request::ExitData(pos) => found(api.exit_data(pos).await, ErrorCode::UtxoNotFound),
        Request::Raw(raw) => {
            let (status, body) = raw.send(api.url()).await;
            // The error body has a code and a message for people.
            match serde_json::from_str::<ErrorBody>(&body) {
                Ok(error) => Ok((status, error.error.code)),
                Err(e) => Err(format!("{status} without an error body ({e}): {body}")),
            }
        }
    }
}

async fn expect_error(
    api: &ApiClient,
    owner: Address,
    what: &str,
    status: u16,
    code: ErrorCode,
    request: Request,
) {
    let before = snapshot(api, owner).await;
    let got = send(api, owner, request).await;
    assert_eq!(got, Ok((status, code)), "{what}");
    assert_eq!(snapshot(api, owner).await, before, "{what} changed state");
}

/// A raw `POST /v1/transactions` of `body`.
fn post(body: Value) -> Request {
    Request::Raw(Raw::Post(serde_json::to_vec(&body).unwrap()))
}

/// A raw `POST /v1/transactions` of transaction bytes the typed client cannot hold (they are
/// not the canonical encoding of any transaction).
fn post_bytes(tx: Vec<u8>, signatures: &[TxSignature]) -> Request {
    let json = SignedTransactionJson {
        tx: tx.into(),
        signatures: signatures.to_vec(),
    };
    Request::Raw(Raw::Post(serde_json::to_vec(&json).unwrap()))
}

fn get(path: impl Into<String>) -> Request {
    Request::Raw(Raw::Get(path.into()))
}

fn sign(domain: &Domain, key: &PrivateKeySigner, tx: Transaction) -> Request {
    Request::Submit(SignedTransaction::sign(tx, domain, key).unwrap())
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_inputs_are_rejected_with_codes_and_change_nothing() {
    let chain = TestChain::start(100, parse_ether("0.01").unwrap()).await;
    let dir = tempfile::tempdir().unwrap();
    let mut config = Operator::config(&chain, dir.path());
    config.min_fee = U256::from(1000);
    // No block in this phase: a transaction stays pending, to test double spends against it.
    config.block_interval = std::time::Duration::from_secs(3600);
    let op = Operator::start(config.clone()).await;
    let api = &op.api;
    let domain = chain.domain();
    let alice = chain.keys[1].clone();
    let me = alice.address();
    let bob = Address::repeat_byte(0xb0);
    let amount = parse_ether("1").unwrap();
    let fee = U256::from(1000);
    // A payment of one of alice's coins: `out` to bob, the rest minus `fee` back.
    let pay = |input: UtxoPos, out: U256, fee: U256| {
        payment(&domain, &alice, input, amount, bob, out, fee)
    };

    let spent = deposit(&chain, &alice, amount).await;
    let coin = deposit(&chain, &alice, amount).await;
    let exiting = deposit(&chain, &alice, amount).await;
    wait_utxo(api, me, exiting).await;
    start_exit(&chain, api, &alice, exiting).await;
    wait_exiting(api, me, exiting, true).await;

    // An account's outputs come in pages, ascending, from a position on.
    let all = utxos(api, me).await;
    assert_eq!(all.len(), 3, "{all:?}");
    let page = api.utxos(me, None, Some(2)).await.unwrap().utxos;
    assert_eq!(page, all[..2]);
    let next = all[2].utxo.utxo_pos;
    let page = api.utxos(me, Some(next), Some(2)).await.unwrap().utxos;
    assert_eq!(page, all[2..]);

    // One valid pending spend.
    let first = pay(spent, parse_ether("0.5").unwrap(), fee);
    assert_eq!(
        api.submit(&first).await.unwrap(),
        SubmitResult::new(first.hash(), TxStatus::Pending)
    );

    let good = pay(coin, parse_ether("0.5").unwrap(), fee);
    let good_sig = good.signatures()[0];
    let with_signatures =
        |signatures: Vec<TxSignature>| SignedTransaction::new(good.tx().clone(), signatures);
    let mut cases: Vec<(&str, u16, ErrorCode, Request)> = vec![
        (
            "malformed JSON",
            400,
            ErrorCode::MalformedJson,
            Request::Raw(Raw::Post(b"{\"tx\": ".to_vec())),
        ),
        (
            "not JSON at all",
            400,
            ErrorCode::MalformedJson,
            Request::Raw(Raw::Post(b"hello".to_vec())),
        ),
        (
            "wrong shape",
            400,
            ErrorCode::InvalidRequest,
            post(json!({"transaction": "0x00"})),
        ),
        (
            "malformed hex",
            400,
            ErrorCode::MalformedHex,
            post(json!({"tx": "0xzz", "signatures": []})),
        ),
        (
            "hex without 0x",
            400,
            ErrorCode::MalformedHex,
            post(json!({"tx": "00", "signatures": []})),
        ),
        (
            "malformed signature hex",
            400,
            ErrorCode::MalformedHex,
            post(json!({"tx": good.bytes().to_string(), "signatures": ["0x1g"]})),
        ),
        (
            "short signature",
            400,
            ErrorCode::BadSignature,
            post(
                json!({"tx": good.bytes().to_string(), "signatures": [format!("0x{}", "11".repeat(64))]}),
            ),
        ),
    ];
    // Non-canonical encodings: a trailing word, a dirty address padding.
    let mut long = good.bytes().to_vec();
    long.extend_from_slice(&[0; 32]);
    cases.push((
        "trailing bytes",
        400,
        ErrorCode::NonCanonicalEncoding,
        post_bytes(long, &[good_sig]),
    ));
    let mut short = good.bytes().to_vec();
    short.truncate(short.len() - 1);
    cases.push((
        "truncated",
        400,
        ErrorCode::NonCanonicalEncoding,
        post_bytes(short, &[good_sig]),
    ));
    // Too many inputs / outputs.
    let five_inputs = Transaction::payment(
        (0..5).map(|i| UtxoPos::new(1, i, 0).unwrap()).collect(),
        vec![Output::new(bob, ETH, U256::from(1))],
    );
    cases.push((
        "five inputs",
        400,
        ErrorCode::TooManyInputs,
        Request::Submit(SignedTransaction::new(five_inputs, vec![good_sig; 5])),
    ));
    let five_outputs =
        Transaction::payment(vec![coin], vec![Output::new(bob, ETH, U256::from(1)); 5]);
    cases.push((
        "five outputs",
        400,
        ErrorCode::TooManyOutputs,
        Request::Submit(SignedTransaction::new(five_outputs, vec![good_sig])),
    ));
    // Signatures.
    cases.push((
        "missing signature",
        422,
        ErrorCode::SignatureCount,
        Request::Submit(with_signatures(vec![])),
    ));
    let mut garbage = [0u8; 65];
    garbage[64] = 27;
    cases.push((
        "unrecoverable signature",
        422,
        ErrorCode::BadSignature,
        Request::Submit(with_signatures(vec![TxSignature(garbage)])),
    ));
    let mut bad_v = good_sig;
    bad_v.0[64] = 5;
    cases.push((
        "bad v",
        422,
        ErrorCode::BadSignature,
        Request::Submit(with_signatures(vec![bad_v])),
    ));
    let stranger = PrivateKeySigner::random();
    let other_chain = Domain::new(1, chain.root_chain);
    let other_contract = Domain::new(chain.anvil.chain_id(), Address::repeat_byte(0xee));
    for (what, domain, key) in [
        ("signed by a stranger", &domain, &stranger),
        ("signed for another chain id", &other_chain, &alice),
        ("signed for another contract", &other_contract, &alice),
    ] {
        cases.push((
            what,
            422,
            ErrorCode::WrongSigner,
            sign(domain, key, good.tx().clone()),
        ));
    }
    // Inputs.
    let unknown = UtxoPos::new(999, 0, 0).unwrap();
    cases.push((
        "unknown input",
        422,
        ErrorCode::InputUnknown,
        Request::Submit(pay(unknown, U256::from(5), fee)),
    ));
    cases.push((
        "exiting input",
        422,
        ErrorCode::InputExiting,
        Request::Submit(pay(exiting, U256::from(5), fee)),
    ));
    let twice = Transaction::payment(vec![coin, coin], vec![Output::new(bob, ETH, U256::from(5))]);
    cases.push((
        "same input twice",
        422,
        ErrorCode::InputDuplicate,
        sign(&domain, &alice, twice),
    ));
    cases.push((
        "double spend against the mempool",
        409,
        ErrorCode::DoubleSpend,
        Request::Submit(pay(spent, U256::from(7), fee)),
    ));
    // Amounts.
    let too_much = Transaction::payment(
        vec![coin],
        vec![Output::new(bob, ETH, amount + U256::from(1))],
    );
    cases.push((
        "outputs exceed inputs",
        422,
        ErrorCode::InsufficientInputs,
        sign(&domain, &alice, too_much),
    ));
    let zero = Transaction::payment(vec![coin], vec![Output::new(bob, ETH, U256::ZERO)]);
    cases.push((
        "zero amount",
        422,
        ErrorCode::ZeroAmount,
        sign(&domain, &alice, zero),
    ));
    let overflow = Transaction::payment(
        vec![coin],
        vec![
            Output::new(bob, ETH, U256::MAX),
            Output::new(bob, ETH, U256::MAX),
        ],
    );
    cases.push((
        "overflowing amounts",
        422,
        ErrorCode::AmountOverflow,
        sign(&domain, &alice, overflow),
    ));
    cases.push((
        "fee below the minimum",
        422,
        ErrorCode::FeeTooLow,
        Request::Submit(pay(coin, U256::from(5), U256::from(999))),
    ));
    // Size and routes.
    cases.push((
        "oversized body",
        413,
        ErrorCode::BodyTooLarge,
        Request::Raw(Raw::Declared(config.max_body_bytes + 1)),
    ));
    cases.push((
        "a body of 4 GiB",
        413,
        ErrorCode::BodyTooLarge,
        Request::Raw(Raw::Declared(4 << 30)),
    ));
    cases.push((
        "empty batch (binary)",
        400,
        ErrorCode::InvalidBatch,
        Request::Batch(vec![]),
    ));
    cases.push((
        "empty batch (JSON)",
        400,
        ErrorCode::InvalidBatch,
        post(json!([])),
    ));
    // A binary body that does not frame is refused whole, whatever it would have held.
    let framed = plasma_api::encode_transactions(&[pay(coin, U256::from(4), fee)]);
    cases.push((
        "binary body cut inside a signature",
        400,
        ErrorCode::MalformedBinary,
        Request::Raw(Raw::PostBinary(framed[..framed.len() - 1].to_vec())),
    ));
    cases.push((
        "binary body with a byte after its last transaction",
        400,
        ErrorCode::MalformedBinary,
        Request::Raw(Raw::PostBinary([&framed[..], &[0]].concat())),
    ));
    cases.push((
        "JSON sent as the binary form",
        400,
        ErrorCode::MalformedBinary,
        Request::Raw(Raw::PostBinary(plasma_api::batch_body(&[pay(
            coin,
            U256::from(4),
            fee,
        )]))),
    ));
    cases.push((
        "unknown route",
        404,
        ErrorCode::NotFound,
        get("/v1/nothing-here"),
    ));
    // `/` is the explorer (HTML); any other unknown path outside it is a JSON 404.
    cases.push((
        "unknown root route",
        404,
        ErrorCode::NotFound,
        get("/no-such-thing"),
    ));
    cases.push((
        "bad block number",
        400,
        ErrorCode::InvalidBlknum,
        get("/v1/blocks/abc"),
    ));
    cases.push((
        "missing block",
        404,
        ErrorCode::BlockNotFound,
        Request::Block(5000),
    ));
    cases.push((
        "bad page limit",
        400,
        ErrorCode::InvalidQuery,
        Request::Blocks(0, 1000),
    ));
    cases.push((
        "bad hash",
        400,
        ErrorCode::InvalidHash,
        get("/v1/transactions/0x12"),
    ));
    cases.push((
        "unknown hash",
        404,
        ErrorCode::TxNotFound,
        Request::Transaction(B256::repeat_byte(1)),
    ));
    for (what, limit) in [("utxo page of none", 0), ("utxo page too long", 10001)] {
        cases.push((
            what,
            400,
            ErrorCode::InvalidQuery,
            Request::Utxos(None, Some(limit)),
        ));
    }
    cases.push((
        "utxo page from a non-position",
        400,
        ErrorCode::InvalidQuery,
        get(format!("/v1/accounts/{me}/utxos?from=abc")),
    ));
    cases.push((
        "bad address",
        400,
        ErrorCode::InvalidAddress,
        get("/v1/accounts/0x12/utxos"),
    ));
    cases.push((
        "bad utxo position",
        400,
        ErrorCode::InvalidUtxoPos,
        get("/v1/utxos/123/exit-data"),
    ));
    cases.push((
        "unknown utxo position",
        404,
        ErrorCode::UtxoNotFound,
        Request::ExitData(unknown),
    ));

    for (what, status, code, request) in cases {
        expect_error(api, me, what, status, code, request).await;
    }

    // A batch reports each item; only the valid one changes state.
    let second = pay(coin, U256::from(5), fee);
    let not_canonical = SignedTransactionJson {
        tx: Bytes::from_static(&[0]),
        signatures: vec![],
    };
    let batch = [
        SignedTransactionJson::from(&second),
        not_canonical,
        SignedTransactionJson::from(&pay(coin, U256::from(6), fee)),
    ];
    let results = api
        .submit_batch_body(serde_json::to_vec(&batch).unwrap())
        .await
        .unwrap()
        .results;
    let [
        BatchResult::Ok(accepted),
        BatchResult::Err(malformed),
        BatchResult::Err(double),
    ] = &results[..]
    else {
        panic!("{results:?}")
    };
    assert_eq!(
        *accepted,
        SubmitResult::new(second.hash(), TxStatus::Pending)
    );
    assert_eq!(malformed.error.code, ErrorCode::NonCanonicalEncoding);
    assert_eq!(double.error.code, ErrorCode::DoubleSpend);
    assert_eq!(api.status().await.unwrap().mempool_size, 2);

    // Rejections are counted by reason.
    let metrics = api.metrics().await.unwrap();
    assert!(
        metrics.contains("plasma_operator_transactions_rejected_total{reason=\"wrong_signer\"} 3"),
        "{metrics}"
    );
    assert!(
        metrics.contains("plasma_operator_transactions_accepted_total 2"),
        "{metrics}"
    );
    assert!(
        metrics.contains("plasma_operator_mempool_size 2"),
        "{metrics}"
    );

    // The same items as the binary form get the same answers, item by item (the accepted one
    // is known now, and still pending).
    let again = api
        .submit_encoded(
            plasma_api::SubmitEncoding::Binary,
            plasma_api::encode_transaction_jsons(&batch),
        )
        .await
        .unwrap()
        .results;
    assert_eq!(again, results);
    assert_eq!(api.status().await.unwrap().mempool_size, 2);

    // The OpenAPI document is served and is the one in the repository.
    let doc = api.openapi().await.unwrap();
    assert_eq!(doc["openapi"], "3.0.3");
    assert!(doc["paths"]["/v1/utxos/{utxoPos}/exit-data"].is_object());
    assert_eq!(
        doc,
        serde_json::from_str::<Value>(plasma_api::OPENAPI).unwrap()
    );

    // Restart with blocks on: the pending transactions survive and are included; their inputs
    // are then spent.
    op.stop().await;
    config.block_interval = std::time::Duration::from_millis(100);
    let op = Operator::start(config).await;
    assert_eq!(wait_included(&op.api, &first).await.0, 1000);
    wait_included(&op.api, &second).await;
    // Let the commit land first: it sets the block's timestamp, a change of its own.
    poll("blocks committed", || async {
        let status = op.api.status().await.unwrap();
        (status.last_committed_block + 1000 == status.next_block).then_some(())
    })
    .await;
    expect_error(
        &op.api,
        me,
        "spent input",
        422,
        ErrorCode::InputSpent,
        Request::Submit(pay(spent, U256::from(9), fee)),
    )
    .await;
    op.stop().await;
}

/// A page of blocks asked for in the binary form holds the same blocks as the JSON page, and
/// comes with its media type; a request that does not ask for it gets JSON.
#[tokio::test(flavor = "multi_thread")]
async fn a_binary_page_of_blocks_holds_what_the_json_page_holds() {
    let chain = TestChain::start(100, parse_ether("0.01").unwrap()).await;
    let dir = tempfile::tempdir().unwrap();
    let op = Operator::start(Operator::config(&chain, dir.path())).await;
    let api = &op.api;
    let alice = chain.keys[1].clone();
    let amount = parse_ether("1").unwrap();
    let coin = deposit(&chain, &alice, amount).await;
    wait_utxo(api, alice.address(), coin).await;
    let pay = payment(
        &chain.domain(),
        &alice,
        coin,
        amount,
        Address::repeat_byte(0xb0),
        parse_ether("0.25").unwrap(),
        U256::ZERO,
    );
    api.submit(&pay).await.unwrap();
    let (blknum, _) = wait_included(api, &pay).await;

    let http = reqwest::Client::new();
    let page = |accept: &'static str| {
        let http = http.clone();
        let url = format!("{}/v1/blocks?from=0&limit=100", api.url());
        async move {
            let response = http.get(url).header("accept", accept).send().await.unwrap();
            assert_eq!(response.status(), 200);
            let media = response.headers()["content-type"]
                .to_str()
                .unwrap()
                .to_owned();
            (media, response.bytes().await.unwrap())
        }
    };
    let (media, json) = page("application/json").await;
    assert!(media.starts_with("application/json"), "{media}");
    let json: plasma_api::BlocksPage = serde_json::from_slice(&json).unwrap();
    let (media, binary) = page(plasma_api::BLOCKS_MEDIA_TYPE).await;
    assert_eq!(media, plasma_api::BLOCKS_MEDIA_TYPE);
    let binary = plasma_api::decode_blocks(binary.into()).unwrap();
    assert_eq!(binary, json.blocks);
    assert!(
        binary
            .iter()
            .any(|b| b.blknum == blknum && b.transactions.len() == 1)
    );
    // The typed client asks for the binary form and reads the same blocks.
    assert_eq!(api.blocks(0, 100).await.unwrap(), json.blocks);
}
