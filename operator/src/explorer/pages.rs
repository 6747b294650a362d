//! The explorer's HTML, rendered on the server with maud (every value escaped). One layout, one
//! function per page; the data comes from [`super`].

use alloy::primitives::{Address, B256, U256};
use maud::{DOCTYPE, Markup, PreEscaped, html};
use plasma_core::{ETH, UtxoPos};

use super::{AddressPage, BlockPage, ExitsPage, HomePage, TxPage, UtxoPage};

/// Inline style: readable on a phone (nothing wider than the screen; long hashes wrap).
const STYLE: &str = "
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1b1f24;background:#f6f8fa;line-height:1.4}
header{background:#24292f;color:#fff;padding:.6rem 1rem;display:flex;flex-wrap:wrap;gap:.6rem;align-items:center}
header a{color:#fff;text-decoration:none;font-weight:600}
header form{display:flex;flex:1 1 16rem;gap:.3rem;min-width:0}
header input{flex:1;min-width:0;padding:.35rem;border-radius:4px;border:0}
main{padding:1rem;max-width:72rem;margin:0 auto}
h1{font-size:1.3rem;margin:.2rem 0 1rem}
h2{font-size:1.05rem;margin:1.4rem 0 .5rem}
table{border-collapse:collapse;width:100%;background:#fff;table-layout:fixed}
td,th{border-bottom:1px solid #d0d7de;padding:.35rem .5rem;text-align:left;vertical-align:top;overflow-wrap:anywhere}
th{background:#eaeef2;font-weight:600}
dl{display:grid;grid-template-columns:minmax(6rem,12rem) 1fr;gap:.2rem .8rem;background:#fff;padding:.6rem;margin:0}
dt{font-weight:600}dd{margin:0;overflow-wrap:anywhere}
code,.hash{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:.85em;overflow-wrap:anywhere;word-break:break-all}
.ok{color:#1a7f37}.bad{color:#cf222e;font-weight:600}.muted{color:#57606a}
.chart svg{width:100%;height:auto;background:#fff}
nav.pages{margin:.6rem 0;display:flex;gap:1rem}
@media (max-width:40rem){dl{grid-template-columns:1fr}dt{margin-top:.4rem}}
";

/// Every page: head, the search box, the body.
pub fn layout(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Plasma explorer" }
                style { (PreEscaped(STYLE)) }
            }
            body {
                header {
                    a href="/" { "Plasma explorer" }
                    a href="/explorer/exits" { "Exits" }
                    form action="/explorer/search" method="get" role="search" {
                        input type="search" name="q" aria-label="search"
                            placeholder="block, tx hash, address or utxo position";
                        button type="submit" { "Search" }
                    }
                }
                main { (body) }
                // The browser test reads this: whether the page is wider than the screen.
                script { (PreEscaped("document.documentElement.dataset.overflow=String(document.documentElement.scrollWidth>window.innerWidth)")) }
            }
        }
    }
}

/// An amount: ETH in ether (the unit people type), other tokens in base units with the token.
pub fn amount(token: Address, value: U256) -> Markup {
    if token == ETH {
        let text = alloy::primitives::utils::format_ether(value);
        let text = text.trim_end_matches('0').trim_end_matches('.');
        html! { (text) " ETH" }
    } else {
        html! { (value) " of " a.hash href={"/explorer/address/" (token)} { (token) } }
    }
}

/// A Unix time as UTC (RFC 3339), or a dash for 0 (not yet known).
pub fn time(unix: u64) -> Markup {
    if unix == 0 {
        return html! { span.muted { "not yet committed" } };
    }
    let at = std::time::UNIX_EPOCH + std::time::Duration::from_secs(unix);
    html! { (humantime::format_rfc3339_seconds(at)) }
}

fn block_link(blknum: u64) -> Markup {
    html! { a href={"/explorer/blocks/" (blknum)} { (blknum) } }
}

fn tx_link(hash: B256) -> Markup {
    html! { a.hash href={"/explorer/tx/" (hash)} { (hash) } }
}

fn address_link(address: Address) -> Markup {
    html! { a.hash href={"/explorer/address/" (address)} { (address) } }
}

fn utxo_link(pos: UtxoPos) -> Markup {
    html! { a href={"/explorer/utxo/" (pos)} { (pos) } }
}

/// The home page.
pub fn home(page: &HomePage) -> Markup {
    let body = html! {
        h1 { "Chain status" }
        dl #status {
            dt { "Latest block" } dd #latest-block { (page.latest_block.map_or_else(|| "none".to_owned(), |b| b.to_string())) }
            dt { "Last committed on L1" } dd #last-committed {
                (page.last_committed)
                @if let Some(tx) = page.last_commit_tx { " in L1 transaction " code { (tx) } }
            }
            dt { "Commit lag" } dd #commit-lag { (page.commit_lag) " block(s) produced, not yet committed" }
            dt { "Mempool" } dd #mempool-size { (page.mempool_size) " pending transaction(s)" }
            dt { "Minimum fee" } dd #min-fee { (amount(ETH, page.min_fee)) }
            dt { "L1 head" } dd #l1-head { (page.l1_head) }
        }
        h2 { "Transactions per block and tx/s, last " (page.chart_blocks) " blocks" }
        div.chart #chart {
            @match &page.chart {
                Some(svg) => (PreEscaped(svg)),
                None => p.muted { "no operator blocks yet" },
            }
        }
        h2 { "Latest blocks" }
        table #blocks {
            thead { tr { th { "Block" } th { "Transactions" } th { "Committed" } th { "Root" } } }
            tbody {
                @for b in &page.blocks {
                    tr {
                        td { (block_link(b.blknum)) }
                        td.txs { (b.txs) }
                        td { (time(b.timestamp)) }
                        td.hash { (b.root) }
                    }
                }
            }
        }
    };
    layout("Home", body)
}

/// A block.
pub fn block(page: &BlockPage) -> Markup {
    let body = html! {
        h1 { "Block " (page.blknum) }
        dl {
            dt { "Root" } dd.hash #root { (page.root) }
            dt { "On L1" } dd #l1-root {
                @match &page.l1 {
                    Some(c) if c.root == page.root => { span.ok { "committed, root matches" } " (L1 transaction " code { (c.l1_tx) } ")" },
                    Some(c) => span.bad { "L1 holds another root: " code { (c.root) } },
                    None if page.deposit => span.muted { "a deposit block: its root is the deposit's" },
                    None => span.muted { "not seen committed yet" },
                }
            }
            dt { "Time" } dd { (time(page.timestamp)) }
            dt { "Transactions" } dd #tx-count { (page.tx_count) }
        }
        h2 { "Transactions " (page.first + 1) "–" (page.first + page.txs.len() as u64) " of " (page.tx_count) }
        (pager(&format!("/explorer/blocks/{}", page.blknum), page.page, page.pages))
        table #txs {
            thead { tr { th { "#" } th { "Hash" } th { "Inputs" } th { "Outputs" } th { "Amount out" } } }
            tbody {
                @for (i, tx) in page.txs.iter().enumerate() {
                    tr {
                        td { (page.first + i as u64) }
                        td { (tx_link(tx.hash)) }
                        td { (tx.inputs) }
                        td { (tx.outputs) }
                        td { (amount(ETH, tx.eth_out)) }
                    }
                }
            }
        }
    };
    layout(&format!("Block {}", page.blknum), body)
}

fn pager(base: &str, page: u64, pages: u64) -> Markup {
    html! {
        @if pages > 1 {
            nav.pages {
                @if page > 0 { a href={(base) "?page=" (page - 1)} { "← previous" } }
                span { "page " (page + 1) " of " (pages) }
                @if page + 1 < pages { a href={(base) "?page=" (page + 1)} { "next →" } }
            }
        }
    }
}

/// A transaction.
pub fn transaction(page: &TxPage) -> Markup {
    let body = html! {
        h1 { "Transaction" }
        dl {
            dt { "Hash" } dd.hash #tx-hash { (page.hash) }
            dt { "Status" } dd #tx-status {
                @match page.included {
                    Some((blknum, index)) => { "in block " (block_link(blknum)) " at index " (index) },
                    None => "pending: waiting for a block",
                }
            }
            @if let Some((blknum, _)) = page.included.filter(|_| page.inputs.is_empty()) {
                @if blknum.is_multiple_of(plasma_core::CHILD_BLOCK_INTERVAL) {
                    dt { "Fee" } dd #fee { "none: this is the operator's fee claim, the fees of block " (block_link(blknum)) "'s payments" }
                } @else {
                    dt { "Fee" } dd #fee { "none: a deposit" }
                }
            } @else {
                dt { "Fee" } dd #fee { @match page.fee { Some(fee) => (amount(ETH, fee)), None => span.muted { "unknown (an input is unknown to this operator)" } } }
            }
            dt { "Signers" } dd { @for s in &page.signers { (address_link(*s)) " " } }
        }
        h2 { "Inputs" }
        table #inputs {
            thead { tr { th { "Spends" } th { "Owner" } th { "Amount" } } }
            tbody {
                @for input in &page.inputs {
                    tr {
                        td { (utxo_link(input.pos)) }
                        @match &input.output {
                            Some(o) => { td { (address_link(o.owner)) } td { (amount(o.token, o.amount)) } }
                            None => { td.muted colspan="2" { "unknown output" } }
                        }
                    }
                }
            }
        }
        h2 { "Outputs" }
        table #outputs {
            thead { tr { th { "Position" } th { "Owner" } th { "Amount" } th { "Exit data" } } }
            tbody {
                @for (j, output) in page.outputs.iter().enumerate() {
                    tr {
                        td { @match page.output_pos(j) { Some(pos) => (utxo_link(pos)), None => span.muted { "pending" } } }
                        td { (address_link(output.owner)) }
                        td { (amount(output.token, output.amount)) }
                        td { @if let Some(pos) = page.output_pos(j) { a href={"/v1/utxos/" (pos) "/exit-data"} { "exit data (JSON)" } } }
                    }
                }
            }
        }
        details #bytes {
            summary { "Canonical bytes (what the signatures sign, and what an exit proves)" }
            code { (page.bytes) }
        }
    };
    layout("Transaction", body)
}

/// An output.
pub fn utxo(page: &UtxoPage) -> Markup {
    let body = html! {
        h1 { "Output " (page.pos) }
        dl {
            dt { "Created by" } dd { @match page.created_by { Some(h) => (tx_link(h)), None => span.muted { "unknown" } } }
            dt { "Block" } dd { (block_link(page.pos.blknum())) }
            dt { "Owner" } dd { (address_link(page.output.owner)) }
            dt { "Amount" } dd #utxo-amount { (amount(page.output.token, page.output.amount)) }
            dt { "State" } dd #utxo-state { (page.state) }
            dt { "Exit data" } dd { a href={"/v1/utxos/" (page.pos) "/exit-data"} { "JSON for startStandardExit" } }
        }
    };
    layout(&format!("Output {}", page.pos), body)
}

/// An address.
pub fn address(page: &AddressPage) -> Markup {
    let body = html! {
        h1 { "Address" }
        p.hash #address { (page.address) }
        h2 { "Coins (" (page.coins.len()) @if page.more_coins { "+" } ")" }
        table #coins {
            thead { tr { th { "Position" } th { "Amount" } th { "State" } } }
            tbody {
                @for coin in &page.coins {
                    tr {
                        td { (utxo_link(coin.pos)) }
                        td { (amount(coin.output.token, coin.output.amount)) }
                        td { @if coin.exiting { "exiting" } @else { "unspent" } }
                    }
                }
            }
        }
        @if page.more_coins { p.muted { "only the first " (page.coins.len()) " coins are shown" } }
        h2 { "Recent transactions" }
        p.muted { "among the latest " (page.scanned) " transactions" }
        table #recent {
            thead { tr { th { "Block" } th { "Hash" } } }
            tbody {
                @for (blknum, hash) in &page.recent {
                    tr { td { (block_link(*blknum)) } td { (tx_link(*hash)) } }
                }
            }
        }
    };
    layout("Address", body)
}

/// The exits the operator follows from L1.
pub fn exits(page: &ExitsPage) -> Markup {
    let body = html! {
        h1 { "Exits" }
        p.muted { "as the operator read them from L1; processable from the time shown" }
        h2 { "Standard exits" }
        table #standard-exits {
            thead { tr { th { "Output" } th { "Owner" } th { "Amount" } th { "State" } th { "Processable from" } } }
            tbody {
                @for exit in &page.standard {
                    tr {
                        td { (utxo_link(exit.utxo_pos)) }
                        td { (address_link(exit.owner)) }
                        td { (amount(exit.token, exit.amount)) }
                        td.state { (serde_json::to_value(exit.state).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()) }
                        td { (time(exit.exitable_at)) }
                    }
                }
            }
        }
        h2 { "In-flight exits" }
        table #in-flight-exits {
            thead { tr { th { "Transaction" } th { "Inputs" } th { "Claims" } th { "State" } th { "Processable from" } } }
            tbody {
                @for exit in &page.in_flight {
                    tr {
                        td { (tx_link(exit.tx_hash)) }
                        td { @for pos in &exit.inputs { (utxo_link(*pos)) " " } }
                        td { (exit.claims) }
                        td.state { @if exit.closed { "processed" } @else if exit.challenged { "non-canonical (challenged)" } @else { "canonical" } }
                        td { (time(exit.exitable_at)) }
                    }
                }
            }
        }
    };
    layout("Exits", body)
}

/// An error page (4xx for bad input, 5xx for a failure of the operator).
pub fn error(status: u16, message: &str) -> Markup {
    let body = html! {
        h1 { "Error " (status) }
        p #error { (message) }
        p { a href="/" { "Back to the chain" } }
    };
    layout("Error", body)
}
