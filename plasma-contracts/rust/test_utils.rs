//! Test helpers shared by every crate that needs a real L1: the anvil binary that
//! `scripts/setup` installs, and a spawned anvil with the root contract deployed.

use std::path::PathBuf;

use alloy::network::EthereumWallet;
use alloy::node_bindings::{Anvil, AnvilInstance};
use alloy::primitives::{Address, U256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::signers::local::PrivateKeySigner;

use crate::{DeployConfig, deploy};

/// The anvil binary: `$PLASMA_ANVIL`, or the native binary `scripts/setup` installs under the
/// workspace's `node_modules`.
pub fn anvil_path() -> PathBuf {
    if let Some(path) = std::env::var_os("PLASMA_ANVIL") {
        return path.into();
    }
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil");
    assert!(
        path.exists(),
        "anvil not found at {}: run scripts/setup (or set PLASMA_ANVIL)",
        path.display()
    );
    path
}

/// A fresh anvil on a free port; killed when the handle drops.
pub fn spawn_anvil() -> AnvilInstance {
    Anvil::at(anvil_path())
        .port(0u16)
        .try_spawn()
        .expect("anvil starts")
}

/// A running anvil with the root contract deployed, and a provider that signs for all of
/// anvil's development accounts (the first is the operator).
pub struct TestChain {
    /// The anvil process.
    pub anvil: AnvilInstance,
    /// A provider whose wallet holds every development key.
    pub provider: DynProvider,
    /// The root contract.
    pub root_chain: Address,
    /// The development keys, operator first.
    pub keys: Vec<PrivateKeySigner>,
    /// The deploy-time parameters used.
    pub config: DeployConfig,
}

impl TestChain {
    /// Spawns anvil and deploys the root contract with `min_exit_period` seconds and
    /// `exit_bond` wei.
    pub async fn start(min_exit_period: u64, exit_bond: U256) -> Self {
        let anvil = spawn_anvil();
        let keys: Vec<PrivateKeySigner> = anvil.keys().iter().cloned().map(Into::into).collect();
        let mut wallet = EthereumWallet::new(keys[0].clone());
        for key in &keys[1..] {
            wallet.register_signer(key.clone());
        }
        let provider = ProviderBuilder::new()
            .wallet(wallet)
            .connect_http(anvil.endpoint_url())
            .erased();
        // Tests deposit small amounts (the load generator: 1 gwei a payment): the least deposit
        // is 1 gwei here. The in-flight bonds scale with the exit bond, as on a public network.
        let config = DeployConfig {
            exit_bond,
            min_deposit: U256::from(1_000_000_000u64),
            in_flight_exit_bond: exit_bond * U256::from(2),
            piggyback_bond: exit_bond * U256::from(3) / U256::from(2),
            ..DeployConfig::new(keys[0].address(), min_exit_period)
        };
        let root_chain = deploy(&provider, &config).await.expect("deploys");
        Self {
            anvil,
            provider,
            root_chain,
            keys,
            config,
        }
    }

    /// The root contract bound to the shared provider.
    pub fn contract(&self) -> crate::RootChain::RootChainInstance<DynProvider> {
        crate::RootChain::new(self.root_chain, self.provider.clone())
    }

    /// The EIP-712 domain of the deployed contract.
    pub fn domain(&self) -> plasma_core::Domain {
        plasma_core::Domain::new(self.anvil.chain_id(), self.root_chain)
    }

    /// Moves anvil's clock forward by `seconds` and mines a block.
    pub async fn advance_time(&self, seconds: u64) {
        let _: serde_json::Value = self
            .provider
            .raw_request("evm_increaseTime".into(), (seconds,))
            .await
            .expect("evm_increaseTime");
        self.mine(1).await;
    }

    /// Mines `blocks` empty blocks.
    pub async fn mine(&self, blocks: u64) {
        for _ in 0..blocks {
            let _: serde_json::Value = self
                .provider
                .raw_request("evm_mine".into(), ())
                .await
                .expect("evm_mine");
        }
    }

    /// Takes a snapshot of the chain (anvil's `evm_snapshot`), to [`revert`](Self::revert) to.
    pub async fn snapshot(&self) -> U256 {
        self.provider
            .raw_request("evm_snapshot".into(), ())
            .await
            .expect("evm_snapshot")
    }

    /// Drops every block after `snapshot`: the head goes back to it, and the next blocks have
    /// other hashes (an L1 reorganisation).
    pub async fn revert(&self, snapshot: U256) {
        let reverted: bool = self
            .provider
            .raw_request("evm_revert".into(), (snapshot,))
            .await
            .expect("evm_revert");
        assert!(reverted, "anvil reverted to snapshot {snapshot}");
    }
}
