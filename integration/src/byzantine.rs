//! A byzantine operator, for tests only: it holds the operator key and uses it through the
//! contract bindings to commit roots of blocks that break the rules, and serves (or withholds)
//! block data on the operator's address. It lives in this test crate, never in the operator's
//! binary.

use std::net::SocketAddr;

use alloy::network::EthereumWallet;
use alloy::primitives::{Address, U256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::signers::local::PrivateKeySigner;
use plasma_api::test_utils::FakeOperator;
use plasma_api::{ApiClient, BlockJson};
use plasma_contracts::RootChain;
use plasma_core::{Block, ETH, Output, SignedTransaction, Transaction, UtxoPos};

use crate::Devnet;

/// What the byzantine operator serves for a block it commits.
pub enum Serve {
    /// The block's own data (whose root is the one committed).
    Data,
    /// Nothing: the data is withheld.
    Nothing,
    /// Other data than the committed root's.
    Other(Block),
}

/// The operator turned bad: it took over the honest operator's address and key.
pub struct Byzantine {
    served: FakeOperator,
    key: PrivateKeySigner,
    /// The root contract through a provider of its own: it reads the operator key's nonce
    /// fresh (the shared test provider caches nonces, and the operator process used the key).
    contract: RootChain::RootChainInstance<DynProvider>,
}

impl Byzantine {
    /// Copies every block the honest operator serves, kills it, and serves those blocks on
    /// its address from now on.
    pub async fn take_over(net: &mut Devnet) -> Self {
        let served = FakeOperator::new();
        let honest = ApiClient::new(&net.operator.url);
        let mut from = 0;
        loop {
            let page = honest.blocks(from, 100).await.expect("a page of blocks");
            let Some(last) = page.last().map(|b| b.blknum) else {
                break;
            };
            for block in page {
                served.put_json(block);
            }
            from = last + 1;
        }
        net.operator.kill();
        let addr: SocketAddr = net
            .operator
            .url
            .trim_start_matches("http://")
            .parse()
            .expect("the operator's address");
        served
            .start(addr)
            .await
            .expect("the operator's address is free again");
        let key = net.chain.keys[0].clone();
        let provider = ProviderBuilder::new()
            .wallet(EthereumWallet::new(key.clone()))
            .connect_http(net.chain.anvil.endpoint_url())
            .erased();
        Self {
            served,
            contract: RootChain::new(net.chain.root_chain, provider),
            key,
        }
    }

    /// The operator's address.
    pub fn address(&self) -> Address {
        self.key.address()
    }

    /// The number the contract gives the next committed block.
    pub async fn next_blknum(net: &Devnet) -> u64 {
        net.chain
            .contract()
            .nextChildBlock()
            .call()
            .await
            .expect("nextChildBlock")
            .to::<u64>()
    }

    /// Commits `transactions` as the next block with the operator key and serves per `serve`.
    /// Returns the block and the L1 block number of the commitment.
    pub async fn commit(
        &self,
        net: &Devnet,
        transactions: Vec<SignedTransaction>,
        serve: Serve,
    ) -> (Block, u64) {
        let blknum = Self::next_blknum(net).await;
        let block = Block::new(blknum, 0, transactions).expect("a block");
        let receipt = self
            .contract
            .submitBlock(block.root)
            .from(self.key.address())
            .send()
            .await
            .expect("submitBlock sent")
            .get_receipt()
            .await
            .expect("submitBlock mined");
        assert!(receipt.status(), "submitBlock succeeded");
        match serve {
            Serve::Data => self.served.put(&block),
            Serve::Nothing => {}
            Serve::Other(other) => self.served.put_json(BlockJson {
                blknum,
                ..BlockJson::from(&other)
            }),
        }
        (block, receipt.block_number.expect("mined in a block"))
    }

    /// Starts the standard exit of output `index` of transaction `tx_index` in `block` (a
    /// block this operator committed), claiming it with the operator's key.
    pub async fn exit_output(&self, block: &Block, tx_index: usize) -> UtxoPos {
        let tree = block.merkle_tree().expect("tree");
        let proof = tree.proof(tx_index).expect("proof");
        let pos = UtxoPos::new(block.blknum, tx_index as u64, 0).expect("position");
        let bond = self.contract.exitBond().call().await.expect("exitBond");
        self.contract
            .startStandardExit(
                pos.to_u256(),
                block.transactions[tx_index].bytes().clone(),
                alloy::primitives::Bytes::copy_from_slice(&proof.to_bytes()),
            )
            .value(bond)
            .from(self.key.address())
            .send()
            .await
            .expect("startStandardExit sent")
            .get_receipt()
            .await
            .expect("startStandardExit mined");
        pos
    }

    /// A payment of `input` (worth `amount` ETH) entirely to the operator, signed by `signer`
    /// (the owner, for a double spend; anyone else, for a forged spend).
    pub fn steal(
        &self,
        net: &Devnet,
        signer: &PrivateKeySigner,
        input: UtxoPos,
        amount: U256,
    ) -> SignedTransaction {
        SignedTransaction::sign(
            Transaction::payment(vec![input], vec![Output::new(self.address(), ETH, amount)]),
            &net.chain.domain(),
            signer,
        )
        .expect("signs")
    }
}

impl Drop for Byzantine {
    fn drop(&mut self) {
        self.served.stop();
    }
}
