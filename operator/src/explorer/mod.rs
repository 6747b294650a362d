//! The block explorer, served by the operator at `/` and `/explorer/...` from the same HTTP
//! server as `/v1`: pages rendered on the server ([`pages`], maud) from the operator's store,
//! with a chart of the latest blocks ([`chart`], plotters' SVG backend). No JavaScript to build,
//! no external resources. Every page is bounded whatever its input: blocks page their
//! transactions, lists stop at fixed sizes, and bad parameters answer a 4xx page.

pub mod chart;
pub mod pages;

use std::collections::HashMap;
use std::sync::Arc;

use alloy::primitives::{Address, B256, U256};
use maud::Markup;
use plasma_core::{ETH, Output, UtxoPos, UtxoState};
use warp::http::StatusCode;
use warp::reply::Response;
use warp::{Filter, Reply};

use crate::api::ApiState;
use crate::chain::Chain;
use crate::chain::l1_view::{Commitment, ExitView, InFlightView};
use crate::store::StoreError;

/// Transactions per block page.
pub const PAGE_TXS: u64 = 100;
/// Blocks on the home page's table.
pub const HOME_BLOCKS: usize = 20;
/// Operator blocks on the chart.
pub const CHART_BLOCKS: u64 = 300;
/// Coins listed on an address page.
pub const ADDRESS_COINS: usize = 200;
/// Transactions an address page looks through for the address's recent ones.
pub const ADDRESS_SCAN: u64 = 2_000;
/// Exits listed per kind.
pub const EXITS_LISTED: usize = 500;

/// Why a page cannot be shown.
#[derive(Debug)]
pub enum PageError {
    /// Bad input (400) or nothing there (404).
    Client(StatusCode, String),
    /// The store failed (500).
    Store(StoreError),
}

impl From<StoreError> for PageError {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
    }
}

fn bad(message: impl Into<String>) -> PageError {
    PageError::Client(StatusCode::BAD_REQUEST, message.into())
}

fn missing(message: impl Into<String>) -> PageError {
    PageError::Client(StatusCode::NOT_FOUND, message.into())
}

type PageResult = Result<Markup, PageError>;

fn html_response(status: StatusCode, markup: Markup) -> Response {
    let mut response = warp::reply::html(markup.into_string()).into_response();
    *response.status_mut() = status;
    response
}

fn respond(result: PageResult) -> Response {
    match result {
        Ok(markup) => html_response(StatusCode::OK, markup),
        Err(PageError::Client(status, message)) => {
            html_response(status, pages::error(status.as_u16(), &message))
        }
        Err(PageError::Store(e)) => {
            tracing::error!(target: "operator::explorer", error = %e, "page failed");
            html_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                pages::error(500, "the operator's store failed; see its log"),
            )
        }
    }
}

async fn blocking(f: impl FnOnce() -> PageResult + Send + 'static) -> Response {
    match tokio::task::spawn_blocking(f).await {
        Ok(result) => respond(result),
        Err(e) => respond(Err(PageError::Client(
            StatusCode::INTERNAL_SERVER_ERROR,
            e.to_string(),
        ))),
    }
}

/// One row of the home page's block table.
#[derive(Debug, Clone)]
pub struct BlockRow {
    /// The block.
    pub blknum: u64,
    /// Its transactions.
    pub txs: u64,
    /// When L1 committed it (0: not yet).
    pub timestamp: u64,
    /// Its root.
    pub root: B256,
}

/// The home page's data.
#[derive(Debug, Clone)]
pub struct HomePage {
    /// The highest stored block.
    pub latest_block: Option<u64>,
    /// The highest operator block committed on L1.
    pub last_committed: u64,
    /// The L1 transaction that committed it, if the follower saw it.
    pub last_commit_tx: Option<B256>,
    /// Operator blocks produced and not yet committed.
    pub commit_lag: u64,
    /// Pending transactions.
    pub mempool_size: usize,
    /// The least fee accepted, in wei.
    pub min_fee: U256,
    /// L1's head as last read.
    pub l1_head: u64,
    /// The latest blocks, newest first.
    pub blocks: Vec<BlockRow>,
    /// Operator blocks on the chart.
    pub chart_blocks: u64,
    /// The chart, as SVG.
    pub chart: Option<String>,
}

/// A transaction's summary on a block page.
#[derive(Debug, Clone)]
pub struct TxRow {
    /// Its hash.
    pub hash: B256,
    /// Inputs.
    pub inputs: usize,
    /// Outputs.
    pub outputs: usize,
    /// Its ETH outputs' sum, in wei.
    pub eth_out: U256,
}

/// A block page's data.
#[derive(Debug, Clone)]
pub struct BlockPage {
    /// The block.
    pub blknum: u64,
    /// Its root.
    pub root: B256,
    /// Whether it is a deposit block.
    pub deposit: bool,
    /// What L1 holds for it.
    pub l1: Option<Commitment>,
    /// When L1 committed it.
    pub timestamp: u64,
    /// Its transactions.
    pub tx_count: u64,
    /// This page (from 0) and the number of pages.
    pub page: u64,
    /// Pages.
    pub pages: u64,
    /// The index of the first transaction shown.
    pub first: u64,
    /// The transactions shown.
    pub txs: Vec<TxRow>,
}

/// An input on a transaction page.
#[derive(Debug, Clone)]
pub struct InputRow {
    /// The output it spends.
    pub pos: UtxoPos,
    /// That output, if the chain knows it.
    pub output: Option<Output>,
}

/// A transaction page's data.
#[derive(Debug, Clone)]
pub struct TxPage {
    /// Its hash.
    pub hash: B256,
    /// `(block, index)` once included.
    pub included: Option<(u64, u32)>,
    /// ETH in minus ETH out, when every input is known.
    pub fee: Option<U256>,
    /// Who signed, recovered from the signatures.
    pub signers: Vec<Address>,
    /// The canonical bytes, hex.
    pub bytes: String,
    /// Its inputs.
    pub inputs: Vec<InputRow>,
    /// Its outputs.
    pub outputs: Vec<Output>,
}

impl TxPage {
    /// Output `j`'s position, once included.
    pub fn output_pos(&self, j: usize) -> Option<UtxoPos> {
        let (blknum, index) = self.included?;
        UtxoPos::new(blknum, u64::from(index), j as u64).ok()
    }
}

/// An output page's data.
#[derive(Debug, Clone)]
pub struct UtxoPage {
    /// Its position.
    pub pos: UtxoPos,
    /// The output.
    pub output: Output,
    /// The transaction that created it.
    pub created_by: Option<B256>,
    /// `unspent`, `exiting` or `spent`.
    pub state: &'static str,
}

/// A coin on an address page.
#[derive(Debug, Clone)]
pub struct CoinRow {
    /// Its position.
    pub pos: UtxoPos,
    /// The output.
    pub output: Output,
    /// Whether an exit of it is in progress.
    pub exiting: bool,
}

/// An address page's data.
#[derive(Debug, Clone)]
pub struct AddressPage {
    /// The address.
    pub address: Address,
    /// Its coins (the first [`ADDRESS_COINS`]).
    pub coins: Vec<CoinRow>,
    /// Whether it has more.
    pub more_coins: bool,
    /// Transactions looked through for `recent`.
    pub scanned: u64,
    /// Its recent transactions, newest first: `(block, hash)`.
    pub recent: Vec<(u64, B256)>,
}

/// The exits page's data.
#[derive(Debug, Clone)]
pub struct ExitsPage {
    /// Standard exits, by position.
    pub standard: Vec<ExitView>,
    /// In-flight exits.
    pub in_flight: Vec<InFlightView>,
}

fn home(state: &ApiState) -> PageResult {
    let chain = &state.chain;
    let db = chain.db();
    let latest_block = chain.latest_block()?;
    let last_committed = chain.last_committed()?;
    let next = chain.next_block()?;
    let latest_operator = next.saturating_sub(plasma_core::CHILD_BLOCK_INTERVAL);
    let mut blocks = Vec::new();
    let mut points = Vec::new();
    let mut previous_time: Option<u64> = None;
    let mut blknum = latest_operator;
    let mut seen = 0;
    // Operator blocks, newest first, from their headers alone.
    let mut headers = Vec::new();
    while blknum >= plasma_core::CHILD_BLOCK_INTERVAL && seen < CHART_BLOCKS {
        if let Some(header) = db.block_header(blknum)? {
            headers.push((blknum, header));
        }
        seen += 1;
        blknum -= plasma_core::CHILD_BLOCK_INTERVAL;
    }
    for (blknum, header) in headers.iter().take(HOME_BLOCKS) {
        blocks.push(BlockRow {
            blknum: *blknum,
            txs: u64::from(header.tx_count),
            timestamp: header.timestamp,
            root: header.root,
        });
    }
    for (blknum, header) in headers.iter().rev() {
        let rate = match previous_time {
            Some(before) if header.timestamp > before => {
                f64::from(header.tx_count) / (header.timestamp - before) as f64
            }
            _ => 0.0,
        };
        if header.timestamp != 0 {
            previous_time = Some(header.timestamp);
        }
        points.push(chart::Point {
            blknum: *blknum,
            txs: u64::from(header.tx_count),
            tx_per_sec: rate,
        });
    }
    let last_commit_tx = db.l1_commitment(last_committed)?.map(|c| c.l1_tx);
    let commit_lag =
        latest_operator.saturating_sub(last_committed) / plasma_core::CHILD_BLOCK_INTERVAL;
    Ok(pages::home(&HomePage {
        latest_block,
        last_committed,
        last_commit_tx,
        commit_lag,
        mempool_size: chain.mempool_len(),
        min_fee: chain.rules().min_fee,
        l1_head: chain.l1_status().head,
        blocks,
        chart_blocks: points.len() as u64,
        chart: chart::svg(&points, 720, 260),
    }))
}

fn number(text: &str, what: &str) -> Result<u64, PageError> {
    text.trim()
        .parse()
        .map_err(|_| bad(format!("{what} must be a whole number, not {text:?}")))
}

fn block(chain: &Chain, blknum: &str, query: &HashMap<String, String>) -> PageResult {
    let blknum = number(blknum, "a block number")?;
    let page = match query.get("page") {
        Some(p) => number(p, "page")?,
        None => 0,
    };
    let db = chain.db();
    let header = db
        .block_header(blknum)?
        .ok_or_else(|| missing(format!("no block {blknum}")))?;
    let tx_count = u64::from(header.tx_count);
    let pages = tx_count.div_ceil(PAGE_TXS).max(1);
    if page >= pages {
        return Err(missing(format!(
            "block {blknum} has {pages} page(s) of transactions; there is no page {page}"
        )));
    }
    let first = page * PAGE_TXS;
    let mut txs = Vec::new();
    for index in first..(first + PAGE_TXS).min(tx_count) {
        let Some(tx) = db.block_tx(blknum, index as u32)? else {
            continue;
        };
        txs.push(TxRow {
            hash: tx.hash(),
            inputs: tx.tx().inputs.len(),
            outputs: tx.tx().outputs.len(),
            eth_out: eth_sum(tx.tx().outputs.iter()),
        });
    }
    Ok(pages::block(&BlockPage {
        blknum,
        root: header.root,
        deposit: !blknum.is_multiple_of(plasma_core::CHILD_BLOCK_INTERVAL),
        l1: db.l1_commitment(blknum)?,
        timestamp: header.timestamp,
        tx_count,
        page,
        pages,
        first,
        txs,
    }))
}

fn eth_sum<'a>(outputs: impl Iterator<Item = &'a Output>) -> U256 {
    outputs
        .filter(|o| o.token == ETH)
        .fold(U256::ZERO, |sum, o| sum.saturating_add(o.amount))
}

fn transaction(chain: &Chain, hash: &str) -> PageResult {
    let hash: B256 = hash.parse().map_err(|_| {
        bad(format!(
            "{hash:?} is not a transaction hash (0x and 64 hex digits)"
        ))
    })?;
    let (status, tx) = chain
        .transaction(&hash)?
        .ok_or_else(|| missing(format!("no transaction {hash}")))?;
    let included = match status {
        plasma_api::TxStatus::Included { blknum, tx_index } => Some((blknum, tx_index)),
        plasma_api::TxStatus::Pending => None,
    };
    let db = chain.db();
    let mut inputs = Vec::new();
    for &pos in &tx.tx().inputs {
        inputs.push(InputRow {
            pos,
            output: db.created_output(pos)?,
        });
    }
    let fee = inputs
        .iter()
        .map(|i| i.output)
        .collect::<Option<Vec<Output>>>()
        .and_then(|known| plasma_core::fee(&known, &tx.tx().outputs));
    let digest = tx.tx().signing_hash(&chain.rules().domain_separator);
    let signers = tx
        .signatures()
        .iter()
        .filter_map(|s| s.recover(&digest).ok())
        .collect();
    Ok(pages::transaction(&TxPage {
        hash,
        included,
        fee,
        signers,
        bytes: alloy::primitives::hex::encode_prefixed(tx.bytes()),
        inputs,
        outputs: tx.tx().outputs.clone(),
    }))
}

fn utxo(chain: &Chain, pos: &str) -> PageResult {
    let pos: UtxoPos = pos
        .parse()
        .map_err(|e| bad(format!("{pos:?} is not a utxo position: {e}")))?;
    let db = chain.db();
    let output = db
        .created_output(pos)?
        .ok_or_else(|| missing(format!("no output at {pos}")))?;
    let created_by = db
        .block_tx(
            pos.blknum(),
            u32::try_from(pos.tx_index()).unwrap_or(u32::MAX),
        )?
        .map(|tx| tx.hash());
    let state = match db.utxo_state(pos)? {
        UtxoState::Unspent(_) => "unspent",
        UtxoState::Exiting(_) => "exiting",
        UtxoState::Spent | UtxoState::Unknown => "spent or exited",
    };
    Ok(pages::utxo(&UtxoPage {
        pos,
        output,
        created_by,
        state,
    }))
}

fn address(chain: &Chain, address: &str) -> PageResult {
    let address: Address = address.parse().map_err(|_| {
        bad(format!(
            "{address:?} is not an address (0x and 40 hex digits)"
        ))
    })?;
    let mut coins: Vec<CoinRow> = chain
        .owner_utxos(address, 0, ADDRESS_COINS + 1)?
        .into_iter()
        .map(|(pos, record)| CoinRow {
            pos,
            output: record.output,
            exiting: record.exiting,
        })
        .collect();
    let more_coins = coins.len() > ADDRESS_COINS;
    coins.truncate(ADDRESS_COINS);
    // The latest transactions, newest first, within a fixed budget.
    let db = chain.db();
    let mut recent = Vec::new();
    let mut scanned = 0u64;
    let mut blknum = chain
        .next_block()?
        .saturating_sub(plasma_core::CHILD_BLOCK_INTERVAL);
    'blocks: while blknum >= plasma_core::CHILD_BLOCK_INTERVAL && scanned < ADDRESS_SCAN {
        if let Some(header) = db.block_header(blknum)? {
            for index in (0..header.tx_count).rev() {
                if scanned >= ADDRESS_SCAN {
                    break 'blocks;
                }
                scanned += 1;
                let Some(tx) = db.block_tx(blknum, index)? else {
                    continue;
                };
                let mut involved = tx.tx().outputs.iter().any(|o| o.owner == address);
                for &input in &tx.tx().inputs {
                    if involved {
                        break;
                    }
                    involved = db
                        .created_output(input)?
                        .is_some_and(|o| o.owner == address);
                }
                if involved {
                    recent.push((blknum, tx.hash()));
                }
            }
        }
        blknum -= plasma_core::CHILD_BLOCK_INTERVAL;
    }
    Ok(pages::address(&AddressPage {
        address,
        coins,
        more_coins,
        scanned,
        recent,
    }))
}

fn exits(chain: &Chain) -> PageResult {
    let db = chain.db();
    Ok(pages::exits(&ExitsPage {
        standard: db.exit_views(EXITS_LISTED)?,
        in_flight: db.in_flight_views(EXITS_LISTED)?,
    }))
}

/// Where a search goes: a block number, a transaction hash, an address or a UTXO position.
fn search_target(chain: &Chain, query: &str) -> Result<String, PageError> {
    let q = query.trim();
    if q.is_empty() {
        return Err(bad(
            "type a block number, a transaction hash, an address or a utxo position",
        ));
    }
    if let Ok(n) = q.parse::<u64>() {
        // A number is a block if one has it, else a UTXO position.
        if chain.db().block_header(n)?.is_some() {
            return Ok(format!("/explorer/blocks/{n}"));
        }
        if let Ok(pos) = UtxoPos::from_u64(n)
            && n >= plasma_core::utxo::BLOCK_OFFSET
        {
            return Ok(format!("/explorer/utxo/{pos}"));
        }
        return Err(missing(format!("no block {n}")));
    }
    if q.parse::<B256>().is_ok() {
        return Ok(format!("/explorer/tx/{q}"));
    }
    if q.parse::<Address>().is_ok() {
        return Ok(format!("/explorer/address/{q}"));
    }
    Err(bad(format!(
        "{q:?} is not a block number, a transaction hash, an address or a utxo position"
    )))
}

fn search(chain: &Chain, query: &HashMap<String, String>) -> Response {
    let q = query.get("q").map(String::as_str).unwrap_or_default();
    match search_target(chain, q) {
        Ok(target) => match warp::http::Uri::try_from(target) {
            Ok(uri) => warp::redirect::see_other(uri).into_response(),
            Err(e) => respond(Err(bad(e.to_string()))),
        },
        Err(e) => respond(Err(e)),
    }
}

/// The explorer's routes: `/`, `/explorer`, `/explorer/blocks/{n}?page=`, `/explorer/tx/{hash}`,
/// `/explorer/utxo/{pos}`, `/explorer/address/{addr}`, `/explorer/exits`,
/// `/explorer/search?q=`. Unknown paths fall through to the API's JSON 404.
pub fn routes(
    state: Arc<ApiState>,
) -> impl Filter<Extract = (Response,), Error = warp::Rejection> + Clone {
    let with = move || {
        let state = state.clone();
        warp::any().map(move || state.clone())
    };
    let query = || {
        warp::query::<HashMap<String, String>>()
            .or(warp::any().map(HashMap::new))
            .unify()
    };
    let home_page = warp::path::end()
        .or(warp::path!("explorer"))
        .unify()
        .and(warp::get())
        .and(with())
        .then(|s: Arc<ApiState>| blocking(move || home(&s)));
    let block_page = warp::path!("explorer" / "blocks" / String)
        .and(warp::get())
        .and(query())
        .and(with())
        .then(|n: String, q: HashMap<String, String>, s: Arc<ApiState>| {
            blocking(move || block(&s.chain, &n, &q))
        });
    let tx_page = warp::path!("explorer" / "tx" / String)
        .and(warp::get())
        .and(with())
        .then(|h: String, s: Arc<ApiState>| blocking(move || transaction(&s.chain, &h)));
    let utxo_page = warp::path!("explorer" / "utxo" / String)
        .and(warp::get())
        .and(with())
        .then(|p: String, s: Arc<ApiState>| blocking(move || utxo(&s.chain, &p)));
    let address_page = warp::path!("explorer" / "address" / String)
        .and(warp::get())
        .and(with())
        .then(|a: String, s: Arc<ApiState>| blocking(move || address(&s.chain, &a)));
    let exits_page = warp::path!("explorer" / "exits")
        .and(warp::get())
        .and(with())
        .then(|s: Arc<ApiState>| blocking(move || exits(&s.chain)));
    let search_page = warp::path!("explorer" / "search")
        .and(warp::get())
        .and(query())
        .and(with())
        .then(|q: HashMap<String, String>, s: Arc<ApiState>| async move {
            tokio::task::spawn_blocking(move || search(&s.chain, &q))
                .await
                .unwrap_or_else(|e| {
                    respond(Err(PageError::Client(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        e.to_string(),
                    )))
                })
        });
    let not_found = warp::path("explorer")
        .and(warp::get())
        .map(|| respond(Err(missing("no such page"))));
    home_page
        .or(block_page)
        .unify()
        .or(tx_page)
        .unify()
        .or(utxo_page)
        .unify()
        .or(address_page)
        .unify()
        .or(exits_page)
        .unify()
        .or(search_page)
        .unify()
        .or(not_found)
        .unify()
}

#[cfg(test)]
mod tests {
    use alloy::primitives::U256;
    use plasma_core::{Output, SignedTransaction, Transaction};

    use super::*;
    use crate::store::records::{BlockHeader, SeqRun};
    use crate::store::{Batch, Db, MemoryStore};

    /// A chain whose block 1000 holds `count` transactions (stored, not validated: paging only
    /// reads them).
    fn chain_with_a_block_of(count: u32) -> Chain {
        let db = Db::new(Arc::new(MemoryStore::new()));
        let mut batch = Batch::new();
        for seq in 0..u64::from(count) {
            let tx = Transaction::payment(
                vec![UtxoPos::new(1, 0, 0).unwrap()],
                vec![Output::new(
                    Address::repeat_byte(7),
                    ETH,
                    U256::from(seq + 1),
                )],
            );
            Db::put_tx(&mut batch, seq, &SignedTransaction::new(tx, vec![]));
        }
        let header = BlockHeader {
            root: B256::repeat_byte(1),
            timestamp: 0,
            tx_count: count,
        };
        Db::put_operator_block(
            &mut batch,
            1000,
            header,
            vec![SeqRun {
                first: 0,
                len: count,
            }],
            None,
        );
        db.write(batch).unwrap();
        let rules = plasma_core::Rules {
            domain_separator: B256::ZERO,
            min_fee: U256::ZERO,
        };
        Chain::open(db, rules, 10, Default::default()).unwrap()
    }

    fn page(chain: &Chain, query: &[(&str, &str)]) -> Result<String, PageError> {
        let query = query
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        block(chain, "1000", &query).map(Markup::into_string)
    }

    #[test]
    fn a_big_block_is_shown_a_page_at_a_time() {
        let chain = chain_with_a_block_of(250);
        let first = page(&chain, &[]).unwrap();
        assert_eq!(first.matches("href=\"/explorer/tx/").count(), 100);
        assert!(first.contains("Transactions 1–100 of 250"), "{first}");
        assert!(first.contains("page 1 of 3") && first.contains("?page=1"));
        let last = page(&chain, &[("page", "2")]).unwrap();
        assert_eq!(last.matches("href=\"/explorer/tx/").count(), 50);
        assert!(last.contains("Transactions 201–250 of 250"), "{last}");
        assert!(last.contains("?page=1") && !last.contains("?page=3"));
        assert!(matches!(
            page(&chain, &[("page", "3")]),
            Err(PageError::Client(StatusCode::NOT_FOUND, _))
        ));
        assert!(matches!(
            page(&chain, &[("page", "1e9")]),
            Err(PageError::Client(StatusCode::BAD_REQUEST, _))
        ));
    }

    #[test]
    fn search_sends_each_kind_of_query_to_its_page() {
        let chain = chain_with_a_block_of(1);
        let hash = B256::repeat_byte(2);
        let address = Address::repeat_byte(3);
        for (query, target) in [
            ("1000", "/explorer/blocks/1000".to_owned()),
            (" 1000 ", "/explorer/blocks/1000".to_owned()),
            ("1000000000001", "/explorer/utxo/1000000000001".to_owned()),
            (&hash.to_string(), format!("/explorer/tx/{hash}")),
            (&address.to_string(), format!("/explorer/address/{address}")),
        ] {
            assert_eq!(search_target(&chain, query).unwrap(), target, "{query}");
        }
        for query in ["", "2000", "0xabc", "hello"] {
            assert!(search_target(&chain, query).is_err(), "{query}");
        }
    }
}
