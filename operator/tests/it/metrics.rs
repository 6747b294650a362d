//! `GET /metrics` read by a real OpenMetrics parser (openmetrics-parser, which passes the
//! OpenMetrics project's own test cases) after a deposit, a payment committed on L1, a rejected
//! transaction and a request for a made-up path.

use std::collections::HashMap;

use alloy::primitives::{U256, utils::parse_ether};
use openmetrics_parser::{MetricFamily, OpenMetricsType, OpenMetricsValue};
use plasma_contracts::test_utils::TestChain;

use plasma_api::ErrorCode;

use crate::common::{Operator, Raw, deposit, payment, poll, refusal, wait_included, wait_utxo};

type Family = MetricFamily<OpenMetricsType, OpenMetricsValue>;

/// The value of a counter or gauge family's one sample.
fn single(families: &HashMap<String, Family>, name: &str) -> f64 {
    let family = families
        .get(name)
        .unwrap_or_else(|| panic!("no family {name}"));
    let samples: Vec<_> = family.iter_samples().collect();
    assert_eq!(samples.len(), 1, "{name}");
    match &samples[0].value {
        OpenMetricsValue::Counter(c) => c.value.as_f64(),
        OpenMetricsValue::Gauge(g) => g.as_f64(),
        other => panic!("{name}: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_parse_and_resolve_what_they_measure() {
    let chain = TestChain::start(10, parse_ether("0.01").unwrap()).await;
    let dir = tempfile::tempdir().unwrap();
    let op = Operator::start(Operator::config(&chain, dir.path())).await;
    let domain = chain.domain();
    let (alice, bob) = (chain.keys[1].clone(), chain.keys[2].clone());

    let one = parse_ether("1").unwrap();
    let coin = deposit(&chain, &alice, one).await;
    wait_utxo(&op.api, alice.address(), coin).await;
    let pay = payment(
        &domain,
        &alice,
        coin,
        one,
        bob.address(),
        one / U256::from(4),
        U256::ZERO,
    );
    op.api.submit(&pay).await.unwrap();
    // Signed by the wrong key: rejected.
    let forged = payment(&domain, &bob, coin, one, bob.address(), one, U256::ZERO);
    let (forged_status, code) = refusal(op.api.submit(&forged).await).unwrap();
    assert_eq!(code, ErrorCode::WrongSigner);
    assert_eq!(wait_included(&op.api, &pay).await, (1000, 0));
    poll("block 1000 committed", || async {
        (op.api.status().await.unwrap().last_committed_block >= 1000).then_some(())
    })
    .await;
    for n in 0..3 {
        let (status, _) = Raw::Get(format!("/no/such/path/{n}"))
            .send(op.api.url())
            .await;
        assert_eq!(status, 404);
    }

    let text = op.api.metrics().await.unwrap();
    let exposition = openmetrics_parser::openmetrics::parse_openmetrics(&text)
        .unwrap_or_else(|e| panic!("not valid OpenMetrics: {e:?}\n{text}"));
    let families = exposition.families;

    assert_eq!(
        single(&families, "plasma_operator_transactions_accepted"),
        1.0
    );
    assert_eq!(
        single(&families, "plasma_operator_last_committed_block"),
        1000.0
    );
    assert_eq!(single(&families, "plasma_operator_latest_block"), 1000.0);
    assert_eq!(single(&families, "plasma_operator_deposits"), 1.0);
    let rejected = &families["plasma_operator_transactions_rejected"];
    let wrong_signer = rejected
        .iter_samples()
        .find(|s| {
            s.get_labelset()
                .is_ok_and(|l| l.get_label_value("reason") == Some("wrong_signer"))
        })
        .unwrap_or_else(|| panic!("no wrong_signer sample\n{text}"));
    assert!(matches!(&wrong_signer.value, OpenMetricsValue::Counter(c) if c.value.as_f64() == 1.0));

    // The commit latency: one observation, in buckets fine enough below a second to tell a
    // 0.14 s commit from a 0.5 s one (the old buckets started at 1 s).
    let histogram = |name: &str| {
        let family = families
            .get(name)
            .unwrap_or_else(|| panic!("no family {name}\n{text}"));
        assert_eq!(family.family_type, OpenMetricsType::Histogram, "{name}");
        family
    };
    let only = |family: &Family| match &family.iter_samples().next().unwrap().value {
        OpenMetricsValue::Histogram(h) => h.clone(),
        other => panic!("{other:?}"),
    };
    let commit = only(histogram("plasma_operator_commit_latency_seconds"));
    assert_eq!(commit.count, Some(1));
    let below_a_second = commit
        .buckets
        .iter()
        .filter(|b| b.upper_bound < 1.0)
        .count();
    assert!(below_a_second >= 8, "{commit:?}");
    let seconds = commit.sum.as_ref().unwrap().as_f64();
    assert!(seconds > 0.0, "{commit:?}");
    // The observation is counted in the first bucket at or above it, and not below.
    for bucket in &commit.buckets {
        let expected = if seconds <= bucket.upper_bound {
            1.0
        } else {
            0.0
        };
        assert_eq!(bucket.count.as_f64(), expected, "{commit:?}");
    }

    // Block builds: the deposit block is not built by the operator; block 1000 is.
    let build = only(histogram("plasma_operator_block_build_seconds"));
    assert_eq!(build.count, Some(1));
    assert!(
        build
            .buckets
            .iter()
            .filter(|b| b.upper_bound <= 0.01)
            .count()
            >= 4
    );

    // Requests, by route and status: made-up paths share one label.
    let requests = histogram("plasma_operator_http_request_duration_seconds");
    let count_of = |route: &str, status: &str| -> u64 {
        requests
            .iter_samples()
            .filter(|s| {
                s.get_labelset().is_ok_and(|l| {
                    l.get_label_value("route") == Some(route)
                        && l.get_label_value("status") == Some(status)
                })
            })
            .map(|s| match &s.value {
                OpenMetricsValue::Histogram(h) => h.count.unwrap_or(0),
                other => panic!("{other:?}"),
            })
            .sum()
    };
    assert_eq!(count_of("POST /v1/transactions", "200"), 1, "{text}");
    assert_eq!(
        count_of("POST /v1/transactions", &forged_status.to_string()),
        1,
        "{text}"
    );
    assert_eq!(count_of("other", "404"), 3, "{text}");
    assert!(count_of("GET /v1/status", "200") >= 1, "{text}");

    // The store's memory, by kind: the memtables hold what was written since the start.
    let memory = &families["plasma_operator_store_memory_bytes"];
    let bytes = |kind: &str| -> f64 {
        memory
            .iter_samples()
            .find(|s| {
                s.get_labelset()
                    .is_ok_and(|l| l.get_label_value("kind") == Some(kind))
            })
            .map(|s| match &s.value {
                OpenMetricsValue::Gauge(g) => g.as_f64(),
                other => panic!("{other:?}"),
            })
            .unwrap_or_else(|| panic!("no store memory of kind {kind}\n{text}"))
    };
    assert!(bytes("memtables") > 0.0, "{text}");
    // Nothing is flushed yet, so there may be no table files: the kind is there all the same.
    bytes("table_readers");
    assert!(
        bytes("block_cache_pinned") <= bytes("block_cache"),
        "{text}"
    );
    op.stop().await;
}
