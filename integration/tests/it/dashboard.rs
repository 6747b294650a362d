//! The watcher's dashboard (`GET /` beside `GET /status`), end to end: a byzantine operator
//! commits a double spend, and the page a user opens says so, with the advice of
//! docs/WATCHER.md and the numbers `GET /status` gives.

use plasma_integration::byzantine::{Byzantine, Serve};
use plasma_integration::{Devnet, WatcherProcess, eth};
use serde_json::Value;

use crate::client::EXIT_PERIOD;

/// The doc the page takes its advice from.
const WATCHER_MD: &str = include_str!("../../../docs/WATCHER.md");

async fn get_status(watcher: &WatcherProcess) -> Option<Value> {
    reqwest::get(&watcher.status_url)
        .await
        .ok()?
        .json()
        .await
        .ok()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_dashboard_shows_an_invalid_block_the_danger_and_what_to_do() {
    let mut net = Devnet::start(EXIT_PERIOD).await;
    let (alice, bob) = (net.user("alice", 1), net.user("bob", 2));
    alice.ok(&["deposit", "1eth"]);
    alice.wait_balance(eth("1")).await;
    let coin = alice.coin_in_state("unspent");
    alice.ok(&["send", &bob.address().to_string(), "1eth"]);
    bob.wait_balance(eth("1")).await;
    let mut watcher = WatcherProcess::start(&net.user("dave", 4), &[]);
    let base = watcher
        .status_url
        .strip_suffix("/status")
        .expect("the status URL ends in /status")
        .to_owned();

    // Before anything goes wrong, the page is calm.
    let last = Byzantine::next_blknum(&net).await - 1000;
    plasma_integration::poll("the watcher verified the chain", || async {
        let status = get_status(&watcher).await?;
        (status["syncedBlknum"].as_u64() >= Some(last)).then_some(())
    })
    .await;
    let calm = reqwest::get(format!("{base}/")).await.unwrap();
    assert_eq!(calm.status(), 200);
    let calm = calm.text().await.unwrap();
    assert!(!calm.contains("DANGER"), "{calm}");
    assert!(!calm.contains("invalid_block"), "{calm}");

    // Alice signs a second spend of her coin; the operator, turned bad, includes it.
    let byzantine = Byzantine::take_over(&mut net).await;
    let double = byzantine.steal(&net, &alice.key, coin, eth("1"));
    let (bad, _) = byzantine.commit(&net, vec![double], Serve::Data).await;
    watcher
        .wait_event("invalid_block", |e| e["blknum"] == bad.blknum)
        .await;
    // The page is rendered from the state of the last round, which the event precedes.
    plasma_integration::poll("GET /status shows the danger", || async {
        get_status(&watcher).await?["danger"]
            .as_bool()?
            .then_some(())
    })
    .await;

    let response = reqwest::get(format!("{base}/")).await.unwrap();
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(content_type.starts_with("text/html"), "{content_type}");
    let page = response.text().await.unwrap();
    let status = get_status(&watcher).await.expect("GET /status answers");

    assert!(page.contains("<code>invalid_block</code>"), "{page}");
    assert!(
        page.contains(&format!("<dt>blknum</dt><dd>{}</dd>", bad.blknum)),
        "the page names block {}: {page}",
        bad.blknum
    );
    assert!(
        page.contains("the chain is invalid or withheld: exit your coins now"),
        "{page}"
    );
    assert!(page.contains("<code>plasma exit --all</code>"), "{page}");
    // The advice is docs/WATCHER.md's, for invalid_block.
    let row = WATCHER_MD
        .lines()
        .find(|line| line.starts_with("| `invalid_block` |"))
        .expect("WATCHER.md has an invalid_block row");
    for phrase in ["Exit every coin now", "Do not accept payments any more."] {
        assert!(row.contains(phrase), "WATCHER.md changed: {row}");
        assert!(page.contains(phrase), "{phrase:?} not on the page: {page}");
    }
    assert!(
        page.contains(r#"<meta http-equiv="refresh" content="2">"#),
        "{page}"
    );

    // The numbers are those of GET /status (the L1 head may have moved on since).
    let shown = |id: &str| -> u64 {
        let start = format!(r#"<dd id="{id}">"#);
        let from = page
            .find(&start)
            .unwrap_or_else(|| panic!("no {id}: {page}"))
            + start.len();
        let rest = page.get(from..).unwrap();
        rest[..rest.find('<').unwrap()].parse().unwrap()
    };
    assert_eq!(
        Some(shown("synced-blknum")),
        status["syncedBlknum"].as_u64(),
        "{status}"
    );
    let l1_block = status["l1Block"].as_u64().unwrap();
    let on_page = shown("l1-block");
    assert!(
        on_page <= l1_block && l1_block <= on_page + 2,
        "page {on_page}, status {l1_block}"
    );

    // GET /status is unchanged: JSON, and the event in it.
    assert!(
        status["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["event"] == "invalid_block" && e["blknum"] == bad.blknum),
        "{status}"
    );
    let unknown = reqwest::get(format!("{base}/nothing-here")).await.unwrap();
    assert_eq!(unknown.status(), 404);
}
