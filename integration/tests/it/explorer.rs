//! The block explorer the operator serves: every page against a real operator on anvil, its
//! numbers equal to the API's, its links resolving, bad input answered 4xx; and the pages
//! rendered by a real headless Chromium at phone width, with screenshots.

use std::path::PathBuf;
use std::process::Command;

use plasma_integration::{Devnet, User, eth};

use crate::client::EXIT_PERIOD;

/// A devnet with a deposit, a payment (block 1000) and a standard exit of the payee's coin, as
/// the operator's follower saw it. Returns the payment's hash.
async fn a_small_chain(net: &Devnet, alice: &User, bob: &User) -> String {
    alice.ok(&["deposit", "1eth"]);
    alice.wait_balance(eth("1")).await;
    let sent = alice.ok(&["send", &bob.address().to_string(), "0.4eth"]);
    bob.wait_balance(eth("0.4")).await;
    bob.ok(&["exit", "--all"]);
    let base = net.operator.url.clone();
    plasma_integration::poll("the explorer lists Bob's exit", || async {
        let page = reqwest::get(format!("{base}/explorer/exits"))
            .await
            .ok()?
            .text()
            .await
            .ok()?;
        page.contains("1000000000000").then_some(())
    })
    .await;
    sent["txHash"]
        .as_str()
        .expect("send reports its hash")
        .to_owned()
}

/// GETs `path` and returns (status, content type, body).
async fn get(base: &str, path: &str) -> (u16, String, String) {
    let response = reqwest::get(format!("{base}{path}"))
        .await
        .unwrap_or_else(|e| panic!("GET {path}: {e}"));
    let status = response.status().as_u16();
    let kind = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (status, kind, response.text().await.unwrap_or_default())
}

/// Every `href="/…"` of a page (the site's own links).
fn links(page: &str) -> Vec<String> {
    page.split("href=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .filter(|href| href.starts_with('/'))
        .map(|href| href.replace("&amp;", "&"))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn every_page_shows_what_the_api_says_links_resolve_and_bad_input_is_a_4xx() {
    let net = Devnet::start(EXIT_PERIOD).await;
    let (alice, bob) = (net.user("alice", 1), net.user("bob", 2));
    let hash = a_small_chain(&net, &alice, &bob).await;
    let base = net.operator.url.clone();
    let api = net.operator.api();
    let status = api.status().await.unwrap();

    // Home: the chain's status as /v1/status has it, the latest blocks, the chart.
    let (code, kind, home) = get(&base, "/").await;
    assert_eq!(code, 200);
    assert!(kind.starts_with("text/html"), "{kind}");
    let latest = status.latest_block.unwrap().to_string();
    assert!(
        home.contains(&format!("<dd id=\"latest-block\">{latest}</dd>")),
        "{home}"
    );
    assert!(home.contains(&format!(
        "<dd id=\"mempool-size\">{} pending",
        status.mempool_size
    )));
    assert!(
        home.contains("<svg") && home.contains("<polyline"),
        "the chart is drawn"
    );
    assert!(home.contains("href=\"/explorer/blocks/1000\""));

    // Block 1000: the API's transactions, the root L1 holds.
    let block = api.block(1000).await.unwrap().expect("block 1000");
    let (code, _, page) = get(&base, "/explorer/blocks/1000").await;
    assert_eq!(code, 200);
    assert!(
        page.contains(&format!(
            "<dd id=\"tx-count\">{}</dd>",
            block.transactions.len()
        )),
        "{page}"
    );
    assert!(page.contains("root matches"), "{page}");
    assert!(page.contains(&hash));

    // The payment: inputs, outputs in ETH, the fee, the signer, its exit data.
    let (code, _, tx) = get(&base, &format!("/explorer/tx/{hash}")).await;
    assert_eq!(code, 200);
    assert!(tx.contains("in block <a href=\"/explorer/blocks/1000\">1000</a> at index 0"));
    assert!(tx.contains("0.4 ETH") && tx.contains("0.6 ETH"), "{tx}");
    assert!(tx.contains("<dd id=\"fee\">0 ETH</dd>"), "{tx}");
    assert!(
        tx.contains(&alice.address().to_string()),
        "the signer: {tx}"
    );
    assert!(tx.contains("/v1/utxos/1000000000000/exit-data"));

    // Bob's address: his coin, exiting; the payment among his recent transactions.
    let (code, _, page) = get(&base, &format!("/explorer/address/{}", bob.address())).await;
    assert_eq!(code, 200);
    assert!(page.contains("/explorer/utxo/1000000000000") && page.contains("exiting"));
    assert!(page.contains(&hash));

    // Exits: Bob's, started, with when it is processable.
    let (_, _, page) = get(&base, "/explorer/exits").await;
    assert!(page.contains("<td class=\"state\">started</td>"), "{page}");

    // Every link of these pages resolves.
    let mut checked = 0;
    for page in [&home, &tx] {
        for link in links(page) {
            let (code, _, _) = get(&base, &link).await;
            assert_eq!(code, 200, "{link}");
            checked += 1;
        }
    }
    assert!(checked > 10, "{checked} links");

    // Search goes to the right page.
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for (query, target) in [
        ("1000", "/explorer/blocks/1000".to_owned()),
        ("1000000000000", "/explorer/blocks/1000000000000".to_owned()),
        (hash.as_str(), format!("/explorer/tx/{hash}")),
        (
            &bob.address().to_string(),
            format!("/explorer/address/{}", bob.address()),
        ),
    ] {
        let response = no_redirects
            .get(format!("{base}/explorer/search?q={query}"))
            .send()
            .await
            .unwrap();
        if query == "1000000000000" {
            // Not a block: a UTXO position.
            assert_eq!(
                response.headers()["location"],
                "/explorer/utxo/1000000000000"
            );
            continue;
        }
        assert_eq!(response.status().as_u16(), 303, "{query}");
        assert_eq!(response.headers()["location"], target.as_str(), "{query}");
    }

    // Bad input: a clear 4xx page, never a panic or an unbounded answer.
    for (path, expected) in [
        ("/explorer/blocks/abc", 400),
        ("/explorer/blocks/999999000", 404),
        ("/explorer/blocks/1000?page=7", 404),
        ("/explorer/blocks/1000?page=-1", 400),
        ("/explorer/tx/0x12", 400),
        (
            "/explorer/tx/0x1111111111111111111111111111111111111111111111111111111111111111",
            404,
        ),
        ("/explorer/address/not-an-address", 400),
        ("/explorer/utxo/xyz", 400),
        ("/explorer/utxo/5000000000000", 404),
        ("/explorer/search?q=what", 400),
        ("/explorer/search", 400),
        ("/explorer/no-such-page", 404),
    ] {
        let (code, kind, body) = get(&base, path).await;
        assert_eq!(code, expected, "{path}: {body}");
        assert!(kind.starts_with("text/html"), "{path}: {kind}");
        assert!(body.contains("<p id=\"error\">"), "{path}: {body}");
    }
    // The API keeps its JSON errors.
    let (code, kind, _) = get(&base, "/v1/nothing").await;
    assert_eq!((code, kind.as_str()), (404, "application/json"));
}

/// Chromium, if this machine has it (scripts/setup installs Debian's).
fn chromium() -> Option<PathBuf> {
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .find_map(|name| {
            let out = Command::new("which").arg(name).output().ok()?;
            out.status
                .success()
                .then(|| PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
        })
}

/// Runs headless Chromium on `url` at `width` × 900 with `args`; returns its stdout.
fn headless(chromium: &PathBuf, url: &str, width: u32, args: &[&str]) -> String {
    let profile = tempfile::tempdir().unwrap();
    let output = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--hide-scrollbars",
            &format!("--user-data-dir={}", profile.path().display()),
            &format!("--window-size={width},900"),
            "--virtual-time-budget=3000",
        ])
        .args(args)
        .arg(url)
        .output()
        .expect("chromium runs");
    assert!(
        output.status.success(),
        "chromium failed on {url}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread")]
#[allow(
    clippy::print_stderr,
    reason = "the test says where its screenshots are, or why it was skipped"
)]
async fn the_pages_render_in_headless_chromium_at_phone_width() {
    let Some(chromium) = chromium() else {
        eprintln!(
            "SKIPPED: no Chromium on this machine (scripts/setup installs Debian's `chromium`; it could not here)"
        );
        return;
    };
    let net = Devnet::start(EXIT_PERIOD).await;
    let (alice, bob) = (net.user("alice", 1), net.user("bob", 2));
    let hash = a_small_chain(&net, &alice, &bob).await;
    // A few more blocks, so that the chart has a line to draw.
    for (i, amount) in ["0.1eth", "0.05eth", "0.15eth"].into_iter().enumerate() {
        alice.ok(&["send", &bob.address().to_string(), amount]);
        // `send` returns once its block is committed and verified.
        alice.wait_balance(eth(["0.5", "0.45", "0.3"][i])).await;
    }
    let base = net.operator.url.clone();
    let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("explorer-screenshots");
    std::fs::create_dir_all(&shots).unwrap();

    let pages = [
        ("home", "/".to_owned(), "id=\"latest-block\""),
        ("block", "/explorer/blocks/1000".to_owned(), "id=\"txs\""),
        ("tx", format!("/explorer/tx/{hash}"), "id=\"outputs\""),
        (
            "address",
            format!("/explorer/address/{}", bob.address()),
            "id=\"coins\"",
        ),
        (
            "exits",
            "/explorer/exits".to_owned(),
            "id=\"standard-exits\"",
        ),
    ];
    for (name, path, marker) in &pages {
        let url = format!("{base}{path}");
        // The DOM as the browser built it: the content, and no horizontal scroll at 390 px.
        let dom = headless(&chromium, &url, 390, &["--dump-dom"]);
        assert!(dom.contains(marker), "{name}: {dom}");
        assert!(
            dom.contains("data-overflow=\"false\""),
            "{name} is wider than a 390 px phone screen: {}",
            &dom[..dom.len().min(400)]
        );
        if *name == "home" {
            assert!(dom.contains("<svg") && dom.contains("<polyline"), "{dom}");
        }
        for width in [390, 1280] {
            let file = shots.join(format!("{name}-{width}.png"));
            headless(
                &chromium,
                &url,
                width,
                &[&format!("--screenshot={}", file.display())],
            );
            let size = std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0);
            assert!(size > 1_000, "{} is {size} bytes", file.display());
        }
    }
    eprintln!("screenshots in {}", shots.display());
}
