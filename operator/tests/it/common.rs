//! Helpers: an operator running in-process on a TestChain, HTTP calls, L1 actions, polling.

use std::future::Future;
use std::path::Path;
use std::time::{Duration, Instant};

use alloy::primitives::{Address, Bytes, U256};
use alloy::signers::local::PrivateKeySigner;
use plasma_contracts::RootChain;
use plasma_contracts::test_utils::TestChain;
use plasma_core::{Domain, ETH, Output, SignedTransaction, Transaction, UtxoPos};
use plasma_operator::Config;
use serde_json::Value;
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

/// An HTTP client of the operator API.
#[derive(Clone)]
pub(crate) struct Api {
    pub(crate) base: String,
    pub(crate) http: reqwest::Client,
}

impl Api {
    pub(crate) fn new(base: String) -> Self {
        Self {
            base,
            // No pooled connections: the server closes a connection whose body it refused
            // (413), and a pooled one would fail the next request.
            http: reqwest::Client::builder()
                .pool_max_idle_per_host(0)
                .build()
                .unwrap(),
        }
    }

    pub(crate) async fn get(&self, path: &str) -> (u16, Value) {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    pub(crate) async fn post_bytes(&self, path: &str, body: Vec<u8>) -> (u16, Value) {
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// A POST over a raw connection whose headers declare `length` body bytes that are never
    /// sent; returns the status and the JSON body of the answer.
    pub(crate) async fn post_declaring_length(&self, path: &str, length: u64) -> (u16, Value) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let authority = self.base.trim_start_matches("http://");
        let mut stream = tokio::net::TcpStream::connect(authority).await.unwrap();
        let head = format!(
            "POST {path} HTTP/1.1\r\nhost: {authority}\r\ncontent-type: application/json\r\ncontent-length: {length}\r\nconnection: close\r\n\r\n"
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
        (
            status,
            serde_json::from_str(json).unwrap_or(Value::String(body.to_owned())),
        )
    }

    pub(crate) async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        self.post_bytes(path, serde_json::to_vec(body).unwrap())
            .await
    }

    pub(crate) async fn submit(&self, tx: &SignedTransaction) -> (u16, Value) {
        self.post("/v1/transactions", &signed_json(tx)).await
    }

    pub(crate) async fn status(&self) -> Value {
        let (code, body) = self.get("/v1/status").await;
        assert_eq!(code, 200, "{body}");
        body
    }

    pub(crate) async fn utxos(&self, owner: Address) -> Vec<Value> {
        let (code, body) = self.get(&format!("/v1/accounts/{owner}/utxos")).await;
        assert_eq!(code, 200, "{body}");
        body["utxos"].as_array().unwrap().clone()
    }

    /// Waits until `pos` is listed for `owner` and returns its entry.
    pub(crate) async fn wait_utxo(&self, owner: Address, pos: UtxoPos) -> Value {
        poll("utxo listed", || async {
            self.utxos(owner)
                .await
                .into_iter()
                .find(|u| u["utxoPos"] == pos.to_string())
        })
        .await
    }

    /// Waits until transaction `hash` is in a block; returns `(blknum, txIndex)`.
    pub(crate) async fn wait_included(&self, tx: &SignedTransaction) -> (u64, u64) {
        poll("transaction included", || async {
            let (code, body) = self.get(&format!("/v1/transactions/{}", tx.hash())).await;
            (code == 200 && body["status"] == "included").then(|| {
                (
                    body["blknum"].as_u64().unwrap(),
                    body["txIndex"].as_u64().unwrap(),
                )
            })
        })
        .await
    }
}

/// The wire JSON of a signed transaction.
pub(crate) fn signed_json(tx: &SignedTransaction) -> Value {
    serde_json::to_value(plasma_core::wire::SignedTransactionJson::from(tx)).unwrap()
}

/// An operator running in this process.
pub(crate) struct Operator {
    pub(crate) api: Api,
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
        let api = Api::new(format!("http://{addr}"));
        poll("operator up", || async {
            api.http
                .get(format!("{}/v1/status", api.base))
                .send()
                .await
                .ok()
                .filter(|r| r.status().is_success())
        })
        .await;
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

/// Deposits `amount` wei from `from` on L1; returns the deposit output's position.
pub(crate) async fn deposit(chain: &TestChain, from: &PrivateKeySigner, amount: U256) -> UtxoPos {
    let receipt = chain
        .contract()
        .deposit()
        .value(amount)
        .from(from.address())
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
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

/// Starts a standard exit of `pos` by `owner` with exit data from the operator.
pub(crate) async fn start_exit(
    chain: &TestChain,
    api: &Api,
    owner: &PrivateKeySigner,
    pos: UtxoPos,
) {
    let (code, data) = api.get(&format!("/v1/utxos/{pos}/exit-data")).await;
    assert_eq!(code, 200, "{data}");
    let tx_bytes: Bytes = data["txBytes"].as_str().unwrap().parse().unwrap();
    let proof: Bytes = data["proof"].as_str().unwrap().parse().unwrap();
    let contract = chain.contract();
    let bond = contract.exitBond().call().await.unwrap();
    let call = contract
        .startStandardExit(pos.to_u256(), tx_bytes, proof)
        .value(bond)
        .from(owner.address());
    // The exit's gas depends on the timestamp of the block that mines it (its priority decides
    // the heap's sift): an estimate made against the previous block can fall short. Half again
    // on top, as the client sends.
    let gas = call.estimate_gas().await.unwrap();
    let receipt = call
        .gas(gas * 3 / 2)
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    assert!(
        receipt.status(),
        "startStandardExit of {pos} reverted: {receipt:?}"
    );
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
