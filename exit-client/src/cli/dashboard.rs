//! The watcher's dashboard, `GET /` beside `GET /status`: one server-rendered HTML page with
//! the watcher's state, a danger banner, and every event raised, newest first, each with what
//! to do about it.
//!
//! The advice is not written here: it is the "what you should do" column of the events table
//! in `docs/WATCHER.md` (for the actions the watcher took, that table's "when" column), read at
//! compile time, so the page and the doc cannot disagree. A test fails if an event kind has no
//! row there. The page refreshes itself every 2 s, fits a phone, and uses no JavaScript and no
//! external resources; maud escapes every value.

use std::cmp::Reverse;
use std::collections::HashMap;
use std::sync::LazyLock;

use maud::{DOCTYPE, Markup, html};
use plasma_client::watch::{WatchEvent, WatchStatus};
use serde_json::{Map, Value};

/// `docs/WATCHER.md`, the one source of the advice on the page.
const WATCHER_MD: &str = include_str!("../../../docs/WATCHER.md");

/// The header cells of the doc's tables that hold the advice, in order of preference.
const ADVICE_COLUMNS: [&str; 2] = ["what you should do", "when"];

/// The advice for each event kind (`invalid_block`, …), from [`WATCHER_MD`].
static ADVICE: LazyLock<HashMap<&'static str, Advice>> = LazyLock::new(|| advice_table(WATCHER_MD));

/// What the doc says about one event kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Advice {
    /// The cell, as inline markdown.
    text: &'static str,
    /// From the actions table ("when" the watcher did it), not "what you should do".
    action: bool,
}

/// The cells of a markdown table row, trimmed (`None` if the line is not a row).
fn cells(line: &str) -> Option<Vec<&str>> {
    let row = line.trim().strip_prefix('|')?;
    let row = row.strip_suffix('|').unwrap_or(row);
    Some(row.split('|').map(str::trim).collect())
}

/// Reads every table of `markdown` whose header starts with `event`: for each row whose first
/// cell is a backquoted event name, the cell under the advice column.
fn advice_table(markdown: &'static str) -> HashMap<&'static str, Advice> {
    let mut out = HashMap::new();
    // The advice column of the table being read, if it has one.
    let mut column = None;
    for line in markdown.lines() {
        let Some(row) = cells(line) else {
            column = None;
            continue;
        };
        if row.first() == Some(&"event") {
            column = ADVICE_COLUMNS.iter().enumerate().find_map(|(rank, name)| {
                let at = row.iter().position(|cell| cell == name)?;
                Some((at, rank > 0))
            });
            continue;
        }
        let name = row
            .first()
            .and_then(|cell| cell.strip_prefix('`'))
            .and_then(|cell| cell.strip_suffix('`'));
        let cell = column.and_then(|(at, action)| Some((*row.get(at)?, action)));
        if let (Some(name), Some((text, action))) = (name, cell) {
            out.insert(name, Advice { text, action });
        }
    }
    out
}

/// A run of text with one style, from the doc's inline markdown.
#[derive(Debug, PartialEq, Eq)]
struct Span<'a> {
    text: &'a str,
    /// Inside backquotes.
    code: bool,
    /// Inside `**`.
    strong: bool,
}

/// Splits inline markdown into spans: backquotes make code, `**` (outside code) makes strong;
/// everything else is plain text.
fn spans(markdown: &str) -> Vec<Span<'_>> {
    let mut out = Vec::new();
    let (mut code, mut strong) = (false, false);
    let mut rest = markdown;
    loop {
        let tick = rest.find('`').map(|at| (at, 1));
        let stars = if code {
            None
        } else {
            rest.find("**").map(|at| (at, 2))
        };
        let next = match (tick, stars) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let Some((at, len)) = next else {
            if !rest.is_empty() {
                out.push(Span {
                    text: rest,
                    code,
                    strong,
                });
            }
            return out;
        };
        let (text, after) = rest.split_at(at);
        if !text.is_empty() {
            out.push(Span { text, code, strong });
        }
        if len == 1 {
            code = !code;
        } else {
            strong = !strong;
        }
        rest = after.get(len..).unwrap_or_default();
    }
}

/// Inline markdown as HTML: `code` and **strong**, the rest as escaped text.
fn inline(markdown: &str) -> Markup {
    html! {
        @for span in spans(markdown) {
            @if span.strong {
                strong { (styled(&span)) }
            } @else {
                (styled(&span))
            }
        }
    }
}

/// One span: in `<code>` if it is code.
fn styled(span: &Span<'_>) -> Markup {
    html! {
        @if span.code { code { (span.text) } } @else { (span.text) }
    }
}

/// What to do about events of `kind` (or, for an action, when the watcher takes it), as
/// written in docs/WATCHER.md.
fn advice(kind: &str) -> Option<Advice> {
    ADVICE.get(kind).copied()
}

/// One event as the page shows it.
struct Entry {
    /// Its serde tag (`invalid_block`, …).
    kind: String,
    /// Its other fields, by their JSON names.
    fields: Map<String, Value>,
    /// The L1 block it was raised at, if it says.
    l1_block: Option<u64>,
    /// Its store key without the kind: what it is about (`invalid_exit/X` and
    /// `exit_challenged/X` are about the same exit).
    subject: String,
    danger: bool,
}

impl Entry {
    fn new(event: &WatchEvent) -> Self {
        let mut fields = match serde_json::to_value(event) {
            Ok(Value::Object(map)) => map,
            _ => Map::new(),
        };
        let kind = match fields.remove("event") {
            Some(Value::String(kind)) => kind,
            _ => String::new(),
        };
        let key = event.key();
        Self {
            l1_block: fields.get("l1Block").and_then(Value::as_u64),
            subject: key
                .split_once('/')
                .map(|(_, s)| s.to_owned())
                .unwrap_or_default(),
            danger: event.is_danger(),
            kind,
            fields,
        }
    }
}

/// The events newest first. An event carries the L1 block it was raised at; an action the
/// watcher took (which carries none) counts as just after the newest event about the same
/// thing (`exit_challenged` after its `invalid_exit`), or, failing one, after the first danger
/// (the exits started on danger). Anything else unplaced comes first; ties keep their order.
fn newest_first(events: &[WatchEvent]) -> Vec<Entry> {
    let entries: Vec<Entry> = events.iter().map(Entry::new).collect();
    let first_danger = entries
        .iter()
        .filter(|e| e.danger)
        .filter_map(|e| e.l1_block)
        .min();
    let ranks: Vec<(u64, bool)> = entries
        .iter()
        .map(|entry| match entry.l1_block {
            Some(block) => (block, false),
            None => {
                let cause = entries
                    .iter()
                    .filter(|e| !entry.subject.is_empty() && e.subject == entry.subject)
                    .filter_map(|e| e.l1_block)
                    .max();
                (cause.or(first_danger).unwrap_or(u64::MAX), true)
            }
        })
        .collect();
    let mut ranked: Vec<((u64, bool), Entry)> = ranks.into_iter().zip(entries).collect();
    ranked.sort_by_key(|(rank, _)| Reverse(*rank));
    ranked.into_iter().map(|(_, entry)| entry).collect()
}

/// A field's value as text.
fn value_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Null => "none".to_owned(),
        Value::Array(items) => items.iter().map(value_text).collect::<Vec<_>>().join(", "),
        other => other.to_string(),
    }
}

const STYLE: &str = "\
body{font-family:system-ui,sans-serif;margin:0 auto;padding:1rem;max-width:60rem;\
line-height:1.4;color:#111;background:#fafafa;overflow-wrap:anywhere}\
h1{font-size:1.4rem;margin:0 0 .8rem}h2{font-size:1.15rem;margin:1.4rem 0 .6rem}\
.state{display:flex;flex-wrap:wrap;gap:.6rem;margin:0}\
.state div{flex:1 1 10rem;background:#fff;border:1px solid #ddd;border-radius:.4rem;padding:.5rem .7rem}\
.state dt{font-size:.8rem;color:#555}.state dd{margin:0;font-size:1.2rem;font-weight:600}\
.danger{background:#b00020;color:#fff;padding:1rem;border-radius:.4rem;margin:1rem 0}\
.danger p{margin:.3rem 0}.danger code{background:#fff;color:#b00020}\
.ok{background:#e6f4ea;padding:.7rem 1rem;border-radius:.4rem;margin:1rem 0}\
.event{background:#fff;border:1px solid #ddd;border-left:.4rem solid #999;border-radius:.4rem;\
padding:.6rem .8rem;margin:.6rem 0}\
.event.bad{border-left-color:#b00020}.event h3{margin:0 0 .4rem;font-size:1rem}\
.event dl{display:grid;grid-template-columns:max-content 1fr;gap:.1rem .8rem;margin:.3rem 0}\
.event dt{color:#555}.event dd{margin:0}\
.todo{background:#fff8e1;padding:.4rem .6rem;border-radius:.3rem;margin:.4rem 0 0}\
code{font-family:ui-monospace,monospace;font-size:.9em;background:#eee;padding:0 .2em;\
border-radius:.2em;overflow-wrap:anywhere}";

/// The dashboard for `status`.
pub(crate) fn page(status: &WatchStatus) -> Markup {
    let entries = newest_first(&status.events);
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta http-equiv="refresh" content="2";
                title { @if status.danger { "DANGER · " } "plasma watch" }
                style { (STYLE) }
            }
            body {
                h1 { "plasma watch" }
                @if status.danger {
                    div.danger role="alert" {
                        p { strong { "DANGER: the chain is invalid or withheld: exit your coins now." } }
                        p { "Run " code { "plasma exit --all" } " with your own data folder." }
                    }
                } @else {
                    p.ok { "No invalid or withheld block seen." }
                }
                dl.state {
                    div { dt { "Verified up to block" } dd #synced-blknum { (status.synced_blknum) } }
                    div { dt { "L1 head" } dd #l1-block { (status.l1_block) } }
                    div {
                        dt { "Operator" }
                        dd #operator {
                            @if status.operator_reachable { "answers" } @else { "does not answer" }
                        }
                    }
                }
                h2 { "Events (" (entries.len()) ")" }
                @if entries.is_empty() {
                    p { "None raised." }
                }
                @for entry in &entries {
                    section.event.bad[entry.danger] {
                        h3 { code { (entry.kind) } }
                        dl {
                            @for (name, value) in &entry.fields {
                                dt { (name) } dd { (value_text(value)) }
                            }
                        }
                        @match advice(&entry.kind) {
                            Some(Advice { text, action: false }) => {
                                p.todo { strong { "What to do: " } (inline(text)) }
                            }
                            Some(Advice { text, action: true }) => {
                                p.todo { strong { "What the watcher did: " } (inline(text)) }
                            }
                            None => p.todo { "See docs/WATCHER.md." },
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use alloy::primitives::{Address, B256, U256};
    use plasma_client::watch::Side;
    use plasma_core::UtxoPos;

    use super::*;

    fn pos() -> UtxoPos {
        UtxoPos::new(1000, 0, 0).unwrap()
    }

    /// One event of every kind; `variant` below proves none is missing.
    fn one_of_each() -> Vec<WatchEvent> {
        let (tx, owner) = (B256::repeat_byte(1), Address::repeat_byte(2));
        vec![
            WatchEvent::InvalidBlock {
                blknum: 2000,
                reason: "r".into(),
                l1_block: 5,
            },
            WatchEvent::BlockWithholding {
                blknum: 3000,
                waited_secs: 31,
                l1_block: 6,
            },
            WatchEvent::InvalidExit {
                exit_id: pos(),
                owner,
                amount: U256::from(7),
                exitable_at: 9,
                reason: "spent".into(),
                challengeable: true,
                l1_block: 3,
            },
            WatchEvent::UnchallengedExit {
                exit_id: pos(),
                exitable_at: 9,
                seconds_left: 1,
                l1_block: 4,
            },
            WatchEvent::OperatorUnreachable {
                operator: "http://x".into(),
                error: "refused".into(),
                l1_block: 8,
            },
            WatchEvent::ExitChallenged {
                exit_id: pos(),
                tx_hash: tx,
            },
            WatchEvent::ExitStarted {
                utxo_pos: pos(),
                tx_hash: tx,
            },
            WatchEvent::PiggybackAvailable {
                in_flight_tx: tx,
                owner,
                claims: 1,
                exitable_at: 9,
                l1_block: 2,
            },
            WatchEvent::Piggybacked {
                in_flight_tx: tx,
                owner,
                transactions: vec![tx, tx],
            },
            WatchEvent::NonCanonicalIfe {
                in_flight_tx: tx,
                competitor: tx,
                competitor_position: None,
                challenge_until: 9,
                l1_block: 2,
            },
            WatchEvent::InvalidIfeChallenge {
                in_flight_tx: tx,
                tx_position: 1,
                competitor_position: u64::MAX,
                l1_block: 2,
            },
            WatchEvent::InvalidPiggyback {
                in_flight_tx: tx,
                side: Side::Input,
                index: 0,
                reason: "spent".into(),
                l1_block: 2,
            },
            WatchEvent::UnchallengedNonCanonicalIfe {
                in_flight_tx: tx,
                challenge_until: 9,
                seconds_left: 1,
                l1_block: 2,
            },
            WatchEvent::UnchallengedPiggyback {
                in_flight_tx: tx,
                side: Side::Output,
                index: 0,
                exitable_at: 9,
                seconds_left: 1,
                l1_block: 2,
            },
            WatchEvent::IfeChallenged {
                in_flight_tx: tx,
                competitor: tx,
                tx_hash: tx,
            },
            WatchEvent::IfeChallengeResponded {
                in_flight_tx: tx,
                tx_hash: tx,
            },
            WatchEvent::PiggybackChallenged {
                in_flight_tx: tx,
                side: Side::Input,
                index: 0,
                tx_hash: tx,
            },
            WatchEvent::InFlightExitStarted {
                in_flight_tx: tx,
                owner,
                tx_hash: tx,
            },
        ]
    }

    /// The variant's index: exhaustive, so a new variant does not compile until it is sampled
    /// in `one_of_each` (whose indices the test checks).
    fn variant(event: &WatchEvent) -> usize {
        match event {
            WatchEvent::InvalidBlock { .. } => 0,
            WatchEvent::BlockWithholding { .. } => 1,
            WatchEvent::InvalidExit { .. } => 2,
            WatchEvent::UnchallengedExit { .. } => 3,
            WatchEvent::OperatorUnreachable { .. } => 4,
            WatchEvent::ExitChallenged { .. } => 5,
            WatchEvent::ExitStarted { .. } => 6,
            WatchEvent::PiggybackAvailable { .. } => 7,
            WatchEvent::Piggybacked { .. } => 8,
            WatchEvent::NonCanonicalIfe { .. } => 9,
            WatchEvent::InvalidIfeChallenge { .. } => 10,
            WatchEvent::InvalidPiggyback { .. } => 11,
            WatchEvent::UnchallengedNonCanonicalIfe { .. } => 12,
            WatchEvent::UnchallengedPiggyback { .. } => 13,
            WatchEvent::IfeChallenged { .. } => 14,
            WatchEvent::IfeChallengeResponded { .. } => 15,
            WatchEvent::PiggybackChallenged { .. } => 16,
            WatchEvent::InFlightExitStarted { .. } => 17,
        }
    }

    #[test]
    fn every_event_kind_has_advice_in_watcher_md() {
        let events = one_of_each();
        let indices: Vec<usize> = events.iter().map(variant).collect();
        assert_eq!(
            indices,
            (0..18).collect::<Vec<_>>(),
            "one sample per variant"
        );
        for event in &events {
            let json = serde_json::to_value(event).unwrap();
            let kind = json["event"].as_str().unwrap();
            let advice =
                advice(kind).unwrap_or_else(|| panic!("docs/WATCHER.md has no row for `{kind}`"));
            assert!(advice.text.len() > 10, "`{kind}`: {advice:?}");
            // Actions are the events that carry no L1 block; they come from the second table.
            assert_eq!(
                advice.action,
                json.get("l1Block").is_none(),
                "`{kind}`: {advice:?}"
            );
        }
    }

    #[test]
    fn the_advice_is_the_right_column_of_each_table() {
        // The events table's last column, not its "raised when" column.
        let invalid_block = advice("invalid_block").unwrap().text;
        assert!(
            invalid_block.starts_with("**Exit every coin now**"),
            "{invalid_block}"
        );
        // The actions table has no such column: its "when" column.
        let challenged = advice("exit_challenged").unwrap().text;
        assert!(challenged.starts_with("With `--challenge`"), "{challenged}");
        // Rows of other tables (the settings) are not events.
        assert_eq!(advice("--interval"), None);
        assert_eq!(advice("interval"), None);
    }

    #[test]
    fn inline_markdown_becomes_code_and_strong_and_is_escaped() {
        let html =
            inline("**Challenge it before `challengeUntil`**: run `a <b>` & go").into_string();
        assert_eq!(
            html,
            "<strong>Challenge it before </strong><strong><code>challengeUntil</code></strong>\
             : run <code>a &lt;b&gt;</code> &amp; go"
        );
        let advice = inline(advice("invalid_block").unwrap().text).into_string();
        assert!(
            advice.contains("<strong>Exit every coin now</strong>"),
            "{advice}"
        );
        assert!(
            advice.contains("<code>plasma exit --all</code>"),
            "{advice}"
        );
        assert!(!advice.contains('`') && !advice.contains("**"), "{advice}");
    }

    #[test]
    fn the_page_shows_the_state_the_danger_and_each_event_with_its_advice() {
        let status = WatchStatus {
            synced_blknum: 4000,
            l1_block: 77,
            operator_reachable: false,
            danger: true,
            events: vec![
                WatchEvent::ExitStarted {
                    utxo_pos: pos(),
                    tx_hash: B256::repeat_byte(0xab),
                },
                WatchEvent::InvalidBlock {
                    blknum: 5000,
                    reason: "transaction 0: <script>alert(1)</script>".into(),
                    l1_block: 70,
                },
            ],
        };
        let html = page(&status).into_string();
        assert!(
            html.contains(r#"<meta http-equiv="refresh" content="2">"#),
            "{html}"
        );
        assert!(html.contains(r#"name="viewport""#));
        assert!(html.contains("overflow-wrap:anywhere"));
        assert!(!html.contains("<script") && !html.contains("src=") && !html.contains("href="));
        assert!(html.contains("exit your coins now"));
        assert!(html.contains("<code>plasma exit --all</code>"));
        assert!(
            html.contains(r#"<dd id="synced-blknum">4000</dd>"#),
            "{html}"
        );
        assert!(html.contains(r#"<dd id="l1-block">77</dd>"#), "{html}");
        assert!(html.contains("does not answer"));
        assert!(html.contains("<code>invalid_block</code>"));
        assert!(html.contains("<dt>blknum</dt><dd>5000</dd>"), "{html}");
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(html.contains("<strong>What to do: </strong><strong>Exit every coin now"));
        assert!(html.contains("Do not accept payments any more."));
        // The action: what the watcher did, not advice; and above the danger it answered.
        let action = html
            .find("<code>exit_started</code>")
            .expect("the action is shown");
        assert!(action < html.find("<code>invalid_block</code>").unwrap());
        assert!(
            html.contains(
                "<strong>What the watcher did: </strong>With <code>--exit-on-danger</code>"
            )
        );
        assert!(
            html.contains(&format!("<dd>{}</dd>", B256::repeat_byte(0xab))),
            "{html}"
        );

        let calm = page(&WatchStatus {
            operator_reachable: true,
            ..WatchStatus::default()
        });
        let calm = calm.into_string();
        assert!(
            !calm.contains("DANGER") && !calm.contains("exit your coins now"),
            "{calm}"
        );
        assert!(calm.contains("answers") && calm.contains("None raised."));
    }

    #[test]
    fn events_come_newest_first_and_actions_just_after_their_cause() {
        let (tx, owner) = (B256::repeat_byte(1), Address::repeat_byte(2));
        // The store's order: by key, so by kind.
        let events = vec![
            WatchEvent::ExitChallenged {
                exit_id: pos(),
                tx_hash: tx,
            },
            WatchEvent::ExitStarted {
                utxo_pos: UtxoPos::new(1000, 1, 0).unwrap(),
                tx_hash: tx,
            },
            WatchEvent::InvalidBlock {
                blknum: 2000,
                reason: "r".into(),
                l1_block: 20,
            },
            WatchEvent::InvalidExit {
                exit_id: pos(),
                owner,
                amount: U256::from(1),
                exitable_at: 9,
                reason: "spent".into(),
                challengeable: true,
                l1_block: 10,
            },
            WatchEvent::OperatorUnreachable {
                operator: "o".into(),
                error: "e".into(),
                l1_block: 30,
            },
        ];
        let kinds: Vec<String> = newest_first(&events).into_iter().map(|e| e.kind).collect();
        assert_eq!(
            kinds,
            [
                "operator_unreachable",
                "exit_started",
                "invalid_block",
                "exit_challenged",
                "invalid_exit"
            ]
        );
        // Ties keep their order.
        let tied = [events[2].clone(), events[3].clone()].map(|mut e| {
            if let WatchEvent::InvalidExit { l1_block, .. } = &mut e {
                *l1_block = 20;
            }
            e
        });
        let kinds: Vec<String> = newest_first(&tied).into_iter().map(|e| e.kind).collect();
        assert_eq!(kinds, ["invalid_block", "invalid_exit"]);
    }
}
