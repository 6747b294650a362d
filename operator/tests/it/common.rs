//! Helpers: an operator running in-process on a TestChain, the typed API client and waits on
//! it, L1 actions, polling, and the raw requests of the bad-input tests.

use std::future::Future;
use std::path::Path;
use std::time::{Duration, Instant};

use alloy::contract::{CallBuilder, CallDecoder};
use alloy::primitives::{Address, B256, U256};
use alloy::providers::Provider;
use alloy::rpc::types::{Filter, TransactionReceipt};
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::SolEvent;
use plasma_api::{AccountUtxo, ApiClient, ClientError, ErrorCode, StatusName};
use plasma_contracts::RootChain;
use plasma_contracts::test_utils::TestChain;
use plasma_core::{Domain, ETH, Output, SignedTransaction, Transaction, UtxoPos};
use plasma_operator::Config;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// How long any poll waits before failing the test.
pub(crate) const TIMEOUT: Duration = Duration::from_secs(60);

/// Polls `f` until it returns `Some`, failing after [`TIMEOUT`].
pub(crate) async fn poll<T, F, Fut>(what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(value) = f().await {
            return value;
        }
        assert!(start.elapsed() < TIMEOUT, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The HTTP client under every request of the tests, typed or raw.
fn http() -> reqwest::Client {
    reqwest::Client::builder()
        // No pooled connections: the server closes a connection whose body it refused (413),
        // and a pooled one would fail the next request.
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(30))
        .connect_timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

/// The typed client of the operator at `base`; returns once the operator answers its status.
pub(crate) async fn connect(what: &str, base: &str) -> ApiClient {
    let api = ApiClient::with_http(base, http());
    poll(what, || async { api.status().await.ok() }).await;
    api
}

/// The outputs `GET /v1/accounts/{owner}/utxos` lists (its first page).
pub(crate) async fn utxos(api: &ApiClient, owner: Address) -> Vec<AccountUtxo> {
    api.utxos(owner, None, None).await.unwrap().utxos
}

/// Waits until `pos` is listed for `owner` and returns its entry.
pub(crate) async fn wait_utxo(api: &ApiClient, owner: Address, pos: UtxoPos) -> AccountUtxo {
    wait_listed(api, owner, pos, "utxo listed", |_| true).await
}

/// Waits until `pos` is listed for `owner` with `exiting` as given and returns its entry.
pub(crate) async fn wait_exiting(
    api: &ApiClient,
    owner: Address,
    pos: UtxoPos,
    exiting: bool,
) -> AccountUtxo {
    let what = if exiting { "exiting" } else { "exit unmarked" };
    wait_listed(api, owner, pos, what, |u| u.exiting == exiting).await
}

async fn wait_listed(
    api: &ApiClient,
    owner: Address,
    pos: UtxoPos,
    what: &str,
    pred: impl Fn(&AccountUtxo) -> bool,
) -> AccountUtxo {
    poll(what, || async {
        utxos(api, owner)
            .await
            .into_iter()
            .find(|u| u.utxo.utxo_pos == pos && pred(u))
    })
    .await
}

/// Waits until `tx` is in a block; returns `(blknum, txIndex)`.
pub(crate) async fn wait_included(api: &ApiClient, tx: &SignedTransaction) -> (u64, u32) {
    poll("transaction included", || async {
        let found = api.transaction(tx.hash()).await.unwrap()?;
        assert_eq!(found.tx, *tx.bytes());
        let result = found.result;
        (result.status == StatusName::Included).then(|| {
            (
                result.blknum.expect("blknum of an included transaction"),
                result.tx_index.expect("txIndex of an included transaction"),
            )
        })
    })
    .await
}

/// The status and code of a refused request, or what came instead.
pub(crate) fn refusal<T: std::fmt::Debug>(
    result: Result<T, ClientError>,
) -> Result<(u16, ErrorCode), String> {
    match result {
        Err(ClientError::Api { status, code, .. }) => Ok((status, code)),
        other => Err(format!("not a refusal with an error code: {other:?}")),
    }
}

/// Raw requests, for the bad-input tests only: bytes the typed client cannot produce (malformed
/// JSON or hex, non-canonical transaction bytes, paths with malformed parameters, unknown
/// routes, a declared body that is never sent). Every well-formed request goes through
/// [`ApiClient`].
#[derive(Debug)]
pub(crate) enum Raw {
    /// `GET` of this path (with its query).
    Get(String),
    /// `POST /v1/transactions` with this body.
    Post(Vec<u8>),
    /// `POST /v1/transactions` with this body, declared the binary form.
    PostBinary(Vec<u8>),
    /// A `POST /v1/transactions` over a raw connection whose headers declare a body of this
    /// many bytes, none of which is sent: the server must answer from the headers alone.
    /// (Sending the body would race the server's early answer and close: the client may see a
    /// broken pipe instead of the response.)
    Declared(u64),
}

impl Raw {
    /// Sends the request to the operator at `base`; returns the status and the body.
    pub(crate) async fn send(self, base: &str) -> (u16, String) {
        let request = match self {
            Self::Get(path) => http().get(format!("{base}{path}")),
            Self::Post(body) => http()
                .post(format!("{base}/v1/transactions"))
                .header("content-type", "application/json")
                .body(body),
            Self::PostBinary(body) => http()
                .post(format!("{base}/v1/transactions"))
                .header("content-type", plasma_api::TRANSACTIONS_MEDIA_TYPE)
                .body(body),
            Self::Declared(length) => return post_declaring_length(base, length).await,
        };
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.text().await.unwrap())
    }
}

async fn post_declaring_length(base: &str, length: u64) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let authority = base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(authority).await.unwrap();
    let head = format!(
        "POST /v1/transactions HTTP/1.1\r\nhost: {authority}\r\ncontent-type: application/json\r\ncontent-length: {length}\r\nconnection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer))
        .await
        .expect("the server answers without the body")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer);
    let status = answer
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = answer.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    // The body may be chunked: the JSON object is what lies between the outer braces.
    let json = match (body.find('{'), body.rfind('}')) {
        (Some(start), Some(end)) => &body[start..=end],
        _ => body,
    };
    (status, json.to_owned())
}

/// An operator running in this process.
pub(crate) struct Operator {
    pub(crate) api: ApiClient,
    stop: Option<oneshot::Sender<()>>,
    handle: Option<JoinHandle<plasma_operator::Result<()>>>,
}

impl Operator {
    /// The test configuration for `chain` with the database at `db`.
    pub(crate) fn config(chain: &TestChain, db: &Path) -> Config {
        Config::for_tests(
            chain.anvil.endpoint(),
            chain.root_chain,
            chain.keys[0].clone(),
            db.to_path_buf(),
        )
    }

    pub(crate) async fn start(config: Config) -> Self {
        let _ = tracing_subscriber::fmt()
            .with_test_writer()
            .with_env_filter(
                tracing_subscriber::EnvFilter::try_from_env("PLASMA_LOG")
                    .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
            )
            .try_init();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let handle = tokio::spawn(plasma_operator::run(config, listener, async move {
            let _ = stopped.await;
        }));
        let api = connect("operator up", &format!("http://{addr}")).await;
        Self {
            api,
            stop: Some(stop),
            handle: Some(handle),
        }
    }

    /// Graceful shutdown; waits until the database is closed.
    pub(crate) async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(handle) = self.handle.take() {
            handle.await.unwrap().unwrap();
        }
    }
}

/// Sends the L1 transaction `call` (`what`) and returns its receipt once mined, which must show
/// success.
pub(crate) async fn mined<P: Provider, D: CallDecoder>(
    what: &str,
    call: CallBuilder<P, D>,
) -> TransactionReceipt {
    let receipt = call.send().await.unwrap().get_receipt().await.unwrap();
    assert!(receipt.status(), "{what} reverted: {receipt:?}");
    receipt
}

/// Deposits `amount` wei from `from` on L1; returns the deposit output's position.
pub(crate) async fn deposit(chain: &TestChain, from: &PrivateKeySigner, amount: U256) -> UtxoPos {
    let contract = chain.contract();
    let call = contract.deposit().value(amount).from(from.address());
    let receipt = mined("deposit", call).await;
    let event = receipt
        .inner
        .logs()
        .iter()
        .find_map(|l| l.log_decode::<RootChain::DepositCreated>().ok())
        .expect("DepositCreated")
        .inner
        .data;
    UtxoPos::new(event.blknum.to::<u64>(), 0, 0).unwrap()
}

/// `(blknum, root)` of every BlockSubmitted event so far, in order.
pub(crate) async fn submitted(chain: &TestChain) -> Vec<(u64, B256)> {
    let filter = Filter::new()
        .address(chain.root_chain)
        .from_block(0)
        .event_signature(RootChain::BlockSubmitted::SIGNATURE_HASH);
    chain
        .provider
        .get_logs(&filter)
        .await
        .unwrap()
        .iter()
        .map(|l| {
            let e = l
                .log_decode::<RootChain::BlockSubmitted>()
                .unwrap()
                .inner
                .data;
            (e.blknum.to::<u64>(), e.root)
        })
        .collect()
}

/// Starts a standard exit of `pos` by `owner` with exit data from the operator.
pub(crate) async fn start_exit(
    chain: &TestChain,
    api: &ApiClient,
    owner: &PrivateKeySigner,
    pos: UtxoPos,
) {
    let data = api
        .exit_data(pos)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("no exit data for {pos}"));
    assert_eq!(data.utxo_pos, pos);
    let contract = chain.contract();
    let bond = contract.exitBond().call().await.unwrap();
    let call = contract
        .startStandardExit(pos.to_u256(), data.tx_bytes, data.proof)
        .value(bond)
        .from(owner.address());
    // The exit's gas depends on the timestamp of the block that mines it (its priority decides
    // the heap's sift): an estimate made against the previous block can fall short. Half again
    // on top, as the client sends.
    let gas = call.estimate_gas().await.unwrap();
    mined(
        &format!("startStandardExit of {pos}"),
        call.gas(gas * 3 / 2),
    )
    .await;
}

/// A payment of `input` (worth `input_amount`) from `from`: `amount` to `to`, the rest minus
/// `fee` back to `from`.
pub(crate) fn payment(
    domain: &Domain,
    from: &PrivateKeySigner,
    input: UtxoPos,
    input_amount: U256,
    to: Address,
    amount: U256,
    fee: U256,
) -> SignedTransaction {
    let mut outputs = vec![Output::new(to, ETH, amount)];
    let change = input_amount - amount - fee;
    if !change.is_zero() {
        outputs.push(Output::new(from.address(), ETH, change));
    }
    SignedTransaction::sign(Transaction::payment(vec![input], outputs), domain, from).unwrap()
}
