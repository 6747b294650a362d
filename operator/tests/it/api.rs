//! Every bad input of the list over the real HTTP API: each is a 4xx JSON error with a
//! code and changes no state.

use alloy::primitives::{Address, U256, utils::parse_ether};
use plasma_contracts::test_utils::TestChain;
use plasma_core::{Domain, ETH, Output, SignedTransaction, Transaction, TxSignature, UtxoPos};
use serde_json::{Value, json};

use crate::common::{Api, Operator, deposit, payment, signed_json, start_exit};

/// What a rejected request must leave unchanged.
async fn snapshot(api: &Api, owner: Address) -> (Value, Vec<Value>, Value) {
    let status = api.status().await;
    let (_, blocks) = api.get("/v1/blocks?from=0&limit=100").await;
    (
        json!([
            status["mempoolSize"],
            status["nextBlock"],
            status["latestBlock"]
        ]),
        api.utxos(owner).await,
        blocks,
    )
}

async fn expect_error(
    api: &Api,
    owner: Address,
    what: &str,
    status: u16,
    code: &str,
    request: Request,
) {
    let before = snapshot(api, owner).await;
    let (got, body) = match request {
        Request::Json(value) => api.post("/v1/transactions", &value).await,
        Request::Raw(bytes) => api.post_bytes("/v1/transactions", bytes).await,
        Request::Get(path) => api.get(&path).await,
        Request::Declared(length) => api.post_declaring_length("/v1/transactions", length).await,
    };
    assert_eq!(got, status, "{what}: {body}");
    assert_eq!(body["error"]["code"], code, "{what}: {body}");
    assert!(body["error"]["message"].is_string(), "{what}: {body}");
    assert_eq!(snapshot(api, owner).await, before, "{what} changed state");
}

enum Request {
    Json(Value),
    Raw(Vec<u8>),
    Get(String),
    /// A POST whose headers declare a body of this many bytes, none of which is sent: the
    /// server must answer from the headers alone. (Sending the body would race the server's
    /// early answer and close: the client may see a broken pipe instead of the response.)
    Declared(u64),
}

fn tx_json(bytes: &[u8], signatures: &[TxSignature]) -> Value {
    json!({
        "tx": alloy::primitives::hex::encode_prefixed(bytes),
        "signatures": signatures.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
    })
}

fn sign(
    domain: &Domain,
    key: &alloy::signers::local::PrivateKeySigner,
    tx: Transaction,
) -> SignedTransaction {
    SignedTransaction::sign(tx, domain, key).unwrap()
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

    let spent = deposit(&chain, &alice, amount).await;
    let coin = deposit(&chain, &alice, amount).await;
    let exiting = deposit(&chain, &alice, amount).await;
    api.wait_utxo(me, exiting).await;
    start_exit(&chain, api, &alice, exiting).await;
    crate::common::poll("exiting", || async {
        api.utxos(me)
            .await
            .into_iter()
            .any(|u| u["utxoPos"] == exiting.to_string() && u["exiting"] == true)
            .then_some(())
    })
    .await;

    // An account's outputs come in pages, ascending, from a position on.
    let all = api.utxos(me).await;
    assert_eq!(all.len(), 3, "{all:?}");
    let (code, page) = api.get(&format!("/v1/accounts/{me}/utxos?limit=2")).await;
    assert_eq!(code, 200, "{page}");
    assert_eq!(page["utxos"].as_array().unwrap()[..], all[..2]);
    let next = all[2]["utxoPos"].as_str().unwrap();
    let (code, page) = api
        .get(&format!("/v1/accounts/{me}/utxos?from={next}&limit=2"))
        .await;
    assert_eq!(code, 200, "{page}");
    assert_eq!(page["utxos"].as_array().unwrap()[..], all[2..]);

    // One valid pending spend.
    let first = payment(
        &domain,
        &alice,
        spent,
        amount,
        bob,
        parse_ether("0.5").unwrap(),
        fee,
    );
    let (code, body) = api.submit(&first).await;
    assert_eq!(code, 200, "{body}");

    let good = payment(
        &domain,
        &alice,
        coin,
        amount,
        bob,
        parse_ether("0.5").unwrap(),
        fee,
    );
    let good_sig = good.signatures()[0];
    let mut cases: Vec<(&str, u16, &str, Request)> = vec![
        (
            "malformed JSON",
            400,
            "malformed_json",
            Request::Raw(b"{\"tx\": ".to_vec()),
        ),
        (
            "not JSON at all",
            400,
            "malformed_json",
            Request::Raw(b"hello".to_vec()),
        ),
        (
            "wrong shape",
            400,
            "invalid_request",
            Request::Json(json!({"transaction": "0x00"})),
        ),
        (
            "malformed hex",
            400,
            "malformed_hex",
            Request::Json(json!({"tx": "0xzz", "signatures": []})),
        ),
        (
            "hex without 0x",
            400,
            "malformed_hex",
            Request::Json(json!({"tx": "00", "signatures": []})),
        ),
        (
            "malformed signature hex",
            400,
            "malformed_hex",
            Request::Json(json!({"tx": good.bytes().to_string(), "signatures": ["0x1g"]})),
        ),
        (
            "short signature",
            400,
            "bad_signature",
            Request::Json(
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
        "non_canonical_encoding",
        Request::Json(tx_json(&long, &[good_sig])),
    ));
    let mut short = good.bytes().to_vec();
    short.truncate(short.len() - 1);
    cases.push((
        "truncated",
        400,
        "non_canonical_encoding",
        Request::Json(tx_json(&short, &[good_sig])),
    ));
    // Too many inputs / outputs.
    let five_inputs = Transaction::payment(
        (0..5).map(|i| UtxoPos::new(1, i, 0).unwrap()).collect(),
        vec![Output::new(bob, ETH, U256::from(1))],
    );
    cases.push((
        "five inputs",
        400,
        "too_many_inputs",
        Request::Json(tx_json(&five_inputs.encode(), &[good_sig; 5])),
    ));
    let five_outputs =
        Transaction::payment(vec![coin], vec![Output::new(bob, ETH, U256::from(1)); 5]);
    cases.push((
        "five outputs",
        400,
        "too_many_outputs",
        Request::Json(tx_json(&five_outputs.encode(), &[good_sig])),
    ));
    // Signatures.
    cases.push((
        "missing signature",
        422,
        "signature_count",
        Request::Json(tx_json(good.bytes(), &[])),
    ));
    let mut garbage = [0u8; 65];
    garbage[64] = 27;
    cases.push((
        "unrecoverable signature",
        422,
        "bad_signature",
        Request::Json(tx_json(good.bytes(), &[TxSignature(garbage)])),
    ));
    let mut bad_v = good_sig;
    bad_v.0[64] = 5;
    cases.push((
        "bad v",
        422,
        "bad_signature",
        Request::Json(tx_json(good.bytes(), &[bad_v])),
    ));
    let stranger = alloy::signers::local::PrivateKeySigner::random();
    cases.push((
        "signed by a stranger",
        422,
        "wrong_signer",
        Request::Json(signed_json(&sign(&domain, &stranger, good.tx().clone()))),
    ));
    let other_chain = Domain::new(1, chain.root_chain);
    cases.push((
        "signed for another chain id",
        422,
        "wrong_signer",
        Request::Json(signed_json(&sign(&other_chain, &alice, good.tx().clone()))),
    ));
    let other_contract = Domain::new(chain.anvil.chain_id(), Address::repeat_byte(0xee));
    cases.push((
        "signed for another contract",
        422,
        "wrong_signer",
        Request::Json(signed_json(&sign(
            &other_contract,
            &alice,
            good.tx().clone(),
        ))),
    ));
    // Inputs.
    let unknown = UtxoPos::new(999, 0, 0).unwrap();
    cases.push((
        "unknown input",
        422,
        "input_unknown",
        Request::Json(signed_json(&payment(
            &domain,
            &alice,
            unknown,
            amount,
            bob,
            U256::from(5),
            fee,
        ))),
    ));
    cases.push((
        "exiting input",
        422,
        "input_exiting",
        Request::Json(signed_json(&payment(
            &domain,
            &alice,
            exiting,
            amount,
            bob,
            U256::from(5),
            fee,
        ))),
    ));
    let twice = Transaction::payment(vec![coin, coin], vec![Output::new(bob, ETH, U256::from(5))]);
    cases.push((
        "same input twice",
        422,
        "input_duplicate",
        Request::Json(signed_json(&sign(&domain, &alice, twice))),
    ));
    cases.push((
        "double spend against the mempool",
        409,
        "double_spend",
        Request::Json(signed_json(&payment(
            &domain,
            &alice,
            spent,
            amount,
            bob,
            U256::from(7),
            fee,
        ))),
    ));
    // Amounts.
    let too_much = Transaction::payment(
        vec![coin],
        vec![Output::new(bob, ETH, amount + U256::from(1))],
    );
    cases.push((
        "outputs exceed inputs",
        422,
        "insufficient_inputs",
        Request::Json(signed_json(&sign(&domain, &alice, too_much))),
    ));
    let zero = Transaction::payment(vec![coin], vec![Output::new(bob, ETH, U256::ZERO)]);
    cases.push((
        "zero amount",
        422,
        "zero_amount",
        Request::Json(signed_json(&sign(&domain, &alice, zero))),
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
        "amount_overflow",
        Request::Json(signed_json(&sign(&domain, &alice, overflow))),
    ));
    cases.push((
        "fee below the minimum",
        422,
        "fee_too_low",
        Request::Json(signed_json(&payment(
            &domain,
            &alice,
            coin,
            amount,
            bob,
            U256::from(5),
            U256::from(999),
        ))),
    ));
    // Size and routes.
    cases.push((
        "oversized body",
        413,
        "body_too_large",
        Request::Declared(config.max_body_bytes + 1),
    ));
    cases.push((
        "a body of 4 GiB",
        413,
        "body_too_large",
        Request::Declared(4 << 30),
    ));
    cases.push((
        "empty batch",
        400,
        "invalid_batch",
        Request::Json(json!([])),
    ));
    cases.push((
        "unknown route",
        404,
        "not_found",
        Request::Get("/v1/nothing-here".into()),
    ));
    cases.push((
        "unknown root route",
        404,
        "not_found",
        Request::Get("/".into()),
    ));
    cases.push((
        "bad block number",
        400,
        "invalid_blknum",
        Request::Get("/v1/blocks/abc".into()),
    ));
    cases.push((
        "missing block",
        404,
        "block_not_found",
        Request::Get("/v1/blocks/5000".into()),
    ));
    cases.push((
        "bad page limit",
        400,
        "invalid_query",
        Request::Get("/v1/blocks?limit=1000".into()),
    ));
    cases.push((
        "bad hash",
        400,
        "invalid_hash",
        Request::Get("/v1/transactions/0x12".into()),
    ));
    cases.push((
        "unknown hash",
        404,
        "tx_not_found",
        Request::Get(format!(
            "/v1/transactions/{}",
            alloy::primitives::B256::repeat_byte(1)
        )),
    ));
    for (what, query) in [
        ("utxo page of none", "limit=0"),
        ("utxo page too long", "limit=10001"),
        ("utxo page from a non-position", "from=abc"),
    ] {
        cases.push((
            what,
            400,
            "invalid_query",
            Request::Get(format!("/v1/accounts/{me}/utxos?{query}")),
        ));
    }
    cases.push((
        "bad address",
        400,
        "invalid_address",
        Request::Get("/v1/accounts/0x12/utxos".into()),
    ));
    cases.push((
        "bad utxo position",
        400,
        "invalid_utxo_pos",
        Request::Get("/v1/utxos/123/exit-data".into()),
    ));
    cases.push((
        "unknown utxo position",
        404,
        "utxo_not_found",
        Request::Get(format!("/v1/utxos/{unknown}/exit-data")),
    ));

    for (what, status, code, request) in cases {
        expect_error(api, me, what, status, code, request).await;
    }

    // A batch reports each item; only the valid one changes state.
    let second = payment(&domain, &alice, coin, amount, bob, U256::from(5), fee);
    let (code, body) = api
        .post("/v1/transactions", &json!([signed_json(&second), {"tx": "0x00", "signatures": []}, signed_json(&payment(&domain, &alice, coin, amount, bob, U256::from(6), fee))]))
        .await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["results"][0]["status"], "pending", "{body}");
    assert_eq!(
        body["results"][1]["error"]["code"], "non_canonical_encoding",
        "{body}"
    );
    assert_eq!(
        body["results"][2]["error"]["code"], "double_spend",
        "{body}"
    );
    assert_eq!(api.status().await["mempoolSize"], 2);

    // Rejections are counted by reason.
    let (_, metrics) = api.get("/metrics").await;
    let metrics = metrics.as_str().unwrap().to_owned();
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

    // The OpenAPI document is served and is the one in the repository.
    let (code, doc) = api.get("/v1/openapi.json").await;
    assert_eq!(code, 200);
    assert_eq!(doc["openapi"], "3.0.3");
    assert!(doc["paths"]["/v1/utxos/{utxoPos}/exit-data"].is_object());

    // Restart with blocks on: the pending transactions survive and are included; their inputs
    // are then spent.
    op.stop().await;
    config.block_interval = std::time::Duration::from_millis(100);
    let op = Operator::start(config).await;
    assert_eq!(op.api.wait_included(&first).await.0, 1000);
    op.api.wait_included(&second).await;
    // Let the commit land first: it sets the block's timestamp, a change of its own.
    crate::common::poll("blocks committed", || async {
        let status = op.api.status().await;
        (status["lastCommittedBlock"].as_u64().map(|b| b + 1000) == status["nextBlock"].as_u64())
            .then_some(())
    })
    .await;
    expect_error(
        &op.api,
        me,
        "spent input",
        422,
        "input_spent",
        Request::Json(signed_json(&payment(
            &domain,
            &alice,
            spent,
            amount,
            bob,
            U256::from(9),
            fee,
        ))),
    )
    .await;
    op.stop().await;
}
