//! The daemon's settings, as the library takes them (the binary builds them from flags,
//! environment variables and a TOML file).

use std::path::PathBuf;
use std::time::Duration;

use alloy::primitives::{Address, U256};
use alloy::signers::local::PrivateKeySigner;

/// Everything [`run`](crate::run) needs.
#[derive(Debug, Clone)]
pub struct Config {
    /// L1 JSON-RPC endpoint (http or https).
    pub l1_rpc: String,
    /// The root contract.
    pub root_chain: Address,
    /// The operator key: the only account allowed to submit blocks.
    pub signer: PrivateKeySigner,
    /// The RocksDB directory.
    pub db_path: PathBuf,
    /// Time between blocks (a block is also made as soon as 65,536 transactions are pending).
    pub block_interval: Duration,
    /// The least fee, in wei, a transaction must pay.
    pub min_fee: U256,
    /// Who each block's fee claim pays (`None`: the operator key's address).
    pub fee_address: Option<Address>,
    /// Confirmations an L1 event needs before the follower applies it.
    pub l1_confirmations: u64,
    /// How often L1 is polled.
    pub l1_poll_interval: Duration,
    /// The first L1 block to read events from on a fresh database (the contract's deployment
    /// block).
    pub l1_start_block: u64,
    /// The most L1 blocks one `eth_getLogs` request spans.
    pub l1_max_log_range: u64,
    /// After this long unmined, a commit transaction is replaced with higher fees.
    pub stuck_after: Duration,
    /// How much a replacement raises the fees, in percent (at least 10).
    pub fee_bump_percent: u64,
    /// The largest request body the API accepts, in bytes.
    pub max_body_bytes: u64,
    /// The most pending transactions; more are refused with `mempool_full`.
    pub max_pending: usize,
    /// The API server's timeouts and connection cap.
    pub http: crate::server::HttpLimits,
    /// Whether every store write is fsynced before it is acknowledged (survives power loss,
    /// not only a crash of the process).
    pub sync_writes: bool,
}

impl Config {
    /// Defaults for everything but the L1 endpoint, contract, key and database.
    pub fn new(
        l1_rpc: String,
        root_chain: Address,
        signer: PrivateKeySigner,
        db_path: PathBuf,
    ) -> Self {
        Self {
            l1_rpc,
            root_chain,
            signer,
            db_path,
            block_interval: Duration::from_secs(1),
            min_fee: U256::ZERO,
            fee_address: None,
            l1_confirmations: 12,
            l1_poll_interval: Duration::from_secs(2),
            l1_start_block: 0,
            l1_max_log_range: 2000,
            stuck_after: Duration::from_secs(120),
            fee_bump_percent: 25,
            max_body_bytes: 4 * 1024 * 1024,
            max_pending: 4 * plasma_merkle::MAX_LEAVES,
            http: crate::server::HttpLimits::default(),
            sync_writes: true,
        }
    }

    /// Settings for tests against a local anvil: fast blocks and polling, no confirmations.
    pub fn for_tests(
        l1_rpc: String,
        root_chain: Address,
        signer: PrivateKeySigner,
        db_path: PathBuf,
    ) -> Self {
        Self {
            block_interval: Duration::from_millis(200),
            l1_confirmations: 0,
            l1_poll_interval: Duration::from_millis(100),
            stuck_after: Duration::from_secs(30),
            max_body_bytes: 256 * 1024,
            sync_writes: false,
            ..Self::new(l1_rpc, root_chain, signer, db_path)
        }
    }
}
