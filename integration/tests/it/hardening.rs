//! The operator under connection abuse: slow and idle connections, more connections than it
//! allows, and a log that must not grow with the traffic (issue 20).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use plasma_integration::{Devnet, counter_in, eth};

use crate::client::EXIT_PERIOD;

/// The operator's address, `host:port`.
fn addr(net: &Devnet) -> String {
    net.operator
        .url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned()
}

/// Raises this test process's open-file limit: it holds a thousand connections.
fn enough_files() {
    if let Ok((soft, hard)) = rlimit::getrlimit(rlimit::Resource::NOFILE)
        && soft < 4096
    {
        let _ = rlimit::increase_nofile_limit(hard);
    }
}

/// Whether the operator closed `stream` within `within`: a read returns end-of-file or an error
/// (reset) instead of blocking.
fn closed_within(stream: &mut TcpStream, within: Duration) -> bool {
    let mut buf = [0u8; 512];
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || stream.set_read_timeout(Some(left)).is_err() {
            return false;
        }
        match stream.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue, // an answer (a 408) before the close
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return false;
            }
            Err(_) => return true, // reset
        }
    }
}

/// `GET /v1/status` with a one-second deadline for the whole exchange.
async fn status_within_a_second(net: &Devnet) -> Result<serde_json::Value, String> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(1))
        .build()
        .expect("client");
    let response = client
        .get(format!("{}/v1/status", net.operator.url))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    response.json().await.map_err(|e| e.to_string())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_thousand_slow_connections_do_not_take_the_api_down() {
    enough_files();
    let net = Devnet::start_with(EXIT_PERIOD, &["--http-header-timeout", "3s"]).await;
    let (alice, bob) = (net.user("alice", 1), net.user("bob", 2));
    alice.ok(&["deposit", "1eth"]);
    alice.wait_balance(eth("1")).await;

    // 500 half-sent requests and 500 connections that send nothing.
    let mut slow = Vec::new();
    for i in 0..1000 {
        let mut stream = TcpStream::connect(addr(&net)).expect("connects");
        if i % 2 == 0 {
            stream
                .write_all(b"POST /v1/transactions HTTP/1.1\r\nHost: operator\r\nContent-")
                .expect("writes");
        }
        slow.push(stream);
    }
    let opened = Instant::now();

    // The API still answers, and a payment is still accepted and included.
    let status = status_within_a_second(&net).await.expect("status answers");
    assert!(status["latestBlock"].is_number(), "{status}");
    alice.ok(&["send", &bob.address().to_string(), "0.25eth"]);
    bob.wait_balance(eth("0.25")).await;
    let metrics = net.operator.api().metrics().await.expect("metrics");
    assert!(
        metrics.contains("plasma_operator_http_connections_open"),
        "{metrics}"
    );

    // Every slow connection is closed by the header timeout (3 s), not held for ever.
    let mut still_open = 0;
    for stream in &mut slow {
        let left = Duration::from_secs(10).saturating_sub(opened.elapsed());
        if !closed_within(stream, left.max(Duration::from_millis(1))) {
            still_open += 1;
        }
    }
    assert_eq!(still_open, 0, "connections the operator still held");
    status_within_a_second(&net).await.expect("status answers");
}

#[tokio::test(flavor = "multi_thread")]
async fn beyond_the_connection_cap_new_connections_are_closed_at_once() {
    let net = Devnet::start_with(EXIT_PERIOD, &["--max-connections", "20"]).await;
    // 30 connections to an operator allowing 20 (one of them may be a connection of the
    // start-up probe, still open): at most 20 stay open, and the others are closed at once, not
    // queued until the header timeout (10 s) frees a place.
    let mut held: Vec<TcpStream> = (0..30)
        .map(|_| TcpStream::connect(addr(&net)).expect("accepted by the kernel"))
        .collect();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let closed = held
        .iter_mut()
        .map(|stream| closed_within(stream, Duration::from_millis(100)))
        .filter(|closed| *closed)
        .count();
    assert!(
        (10..30).contains(&closed),
        "{closed} of 30 connections closed at once: at most 20 may stay open, and some must"
    );
    // Once the holders let go, the API answers again, and counts what it refused.
    drop(held);
    let metrics = loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if let Ok(metrics) = net.operator.api().metrics().await {
            break metrics;
        }
    };
    let refused =
        counter_in(&metrics, "http_connections_refused").expect("the refused-connections counter");
    assert!(refused >= 1, "{metrics}");
    let log = std::fs::read_to_string(&net.operator.log).expect("log");
    assert!(log.contains("connection limit reached"), "{log}");
    assert_eq!(
        log.matches("connection limit reached").count(),
        1,
        "warned once, not per connection"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_log_does_not_grow_with_requests_and_has_no_colour_codes() {
    let net = Devnet::start(EXIT_PERIOD).await;
    let api = net.operator.api();
    api.status().await.expect("status");
    let before = std::fs::read_to_string(&net.operator.log).expect("log");
    for _ in 0..300 {
        api.status().await.expect("status");
    }
    let _ = reqwest::get(format!("{}/v1/blocks/notanumber", net.operator.url)).await;
    let after = std::fs::read_to_string(&net.operator.log).expect("log");
    let grown = after.lines().count() - before.lines().count();
    assert!(
        grown < 10,
        "301 requests wrote {grown} log lines:\n{}",
        &after[before.len()..]
    );
    assert!(!after.contains('\u{1b}'), "colour codes in the log file");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_request_whose_body_never_ends_is_answered_408_and_changes_nothing() {
    let net = Devnet::start_with(EXIT_PERIOD, &["--http-request-timeout", "1s"]).await;
    let mut stream = TcpStream::connect(addr(&net)).expect("connects");
    // Headers in full, then 10 of the 100 body bytes promised.
    stream
        .write_all(b"POST /v1/transactions HTTP/1.1\r\nHost: operator\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"tx\":\"0x")
        .expect("writes");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("request_timeout"), "{answer}");
    let status = net.operator.status().await;
    assert_eq!(status.mempool_size, 0);
    let metrics = net.operator.api().metrics().await.expect("metrics");
    assert!(
        metrics.contains("plasma_operator_http_request_timeouts_total 1"),
        "{metrics}"
    );
}
