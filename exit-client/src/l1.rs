//! L1 access through the root contract's bindings: the events the client follows (read by
//! `plasma-contracts`' one event reader), and the exit-game actions it sends; tokens through
//! the ERC-20 interface.

use alloy::primitives::{Address, B256, Bytes, U256};
use alloy::providers::{DynProvider, Provider};
use alloy::rpc::types::TransactionReceipt;
use alloy::sol_types::SolInterface;
use plasma_contracts::events::{EventReader, ReadError, RootChainLog};
use plasma_contracts::{IERC20, RootChain};
use plasma_core::UtxoPos;

use crate::store::{Coin, SpendRecord};

/// Why an L1 call failed.
#[derive(Debug, thiserror::Error)]
pub enum L1Error {
    /// The RPC endpoint did not answer.
    #[error("L1 RPC at {url} failed: {message}; check --l1-rpc and that the node runs")]
    Rpc {
        /// The endpoint.
        url: String,
        /// What happened.
        message: String,
    },
    /// A contract call reverted or could not be sent.
    #[error("{action} failed on L1: {message}")]
    Contract {
        /// What was attempted.
        action: &'static str,
        /// The error, with the revert reason when there is one.
        message: String,
    },
    /// The transaction was mined but reverted.
    #[error("{action} reverted on L1 (transaction {tx}): {reason}")]
    Reverted {
        /// What was attempted.
        action: &'static str,
        /// The transaction hash.
        tx: B256,
        /// The contract's error, when the node can trace the transaction.
        reason: String,
    },
    /// No contract is deployed at the root contract's address on this chain.
    #[error(
        "no contract at {address} on L1 chain {chain_id} ({url}): check --root-chain (scripts/devnet prints it) and --l1-rpc"
    )]
    NoContract {
        /// The address given.
        address: Address,
        /// The chain asked.
        chain_id: u64,
        /// The endpoint.
        url: String,
    },
    /// The root contract's events could not be read (RPC failure, or a log that does not
    /// decode).
    #[error("reading the root contract's events from {url}: {source}")]
    Events {
        /// The endpoint.
        url: String,
        /// What failed.
        source: Box<ReadError>,
    },
}

/// Gas a `processExits` transaction reserves besides its exits.
const PROCESS_BASE_GAS: u64 = 100_000;

/// Gas a `processExits` transaction reserves for each exit of `token`: the payout the contract
/// requires room for (an ERC20 transfer costs more than an ETH one).
fn process_gas_per_exit(token: Address) -> u64 {
    if token == plasma_core::ETH {
        80_000
    } else {
        200_000
    }
}

/// Result alias of L1 calls.
pub type Result<T, E = L1Error> = core::result::Result<T, E>;

/// The root contract on L1.
#[derive(Clone)]
pub struct L1 {
    url: String,
    provider: DynProvider,
    contract: RootChain::RootChainInstance<DynProvider>,
    events: EventReader<DynProvider>,
}

impl L1 {
    /// The root contract at `address`, through `provider` (with a wallet to send transactions).
    pub fn new(url: &str, provider: DynProvider, address: Address) -> Self {
        let contract = RootChain::new(address, provider.clone());
        Self {
            url: url.to_owned(),
            events: EventReader::new(provider.clone(), address),
            provider,
            contract,
        }
    }

    /// The root contract's address.
    pub fn address(&self) -> Address {
        *self.contract.address()
    }

    /// The provider.
    pub fn provider(&self) -> &DynProvider {
        &self.provider
    }

    /// The root contract's bindings.
    pub(crate) fn contract(&self) -> &RootChain::RootChainInstance<DynProvider> {
        &self.contract
    }

    /// The root contract's events matching `filter`, decoded, in L1 order.
    pub(crate) async fn logs(
        &self,
        filter: &alloy::rpc::types::Filter,
    ) -> Result<Vec<plasma_contracts::RootChainLog>> {
        let logs = self
            .provider
            .get_logs(filter)
            .await
            .map_err(|e| self.rpc(e))?;
        self.events
            .decode_logs(logs)
            .await
            .map_err(|source| L1Error::Events {
                url: self.url.clone(),
                source: Box::new(source),
            })
    }

    pub(crate) fn rpc(&self, e: impl std::fmt::Display) -> L1Error {
        L1Error::Rpc {
            url: self.url.clone(),
            message: e.to_string(),
        }
    }

    /// The chain id.
    pub async fn chain_id(&self) -> Result<u64> {
        self.provider.get_chain_id().await.map_err(|e| self.rpc(e))
    }

    /// Checks that the root contract's address holds code on chain `chain_id`: an address
    /// without it (a typo, another chain, a node restarted empty) would read as a contract
    /// with no blocks, no deposits and no exits.
    pub async fn check_contract(&self, chain_id: u64) -> Result<()> {
        let code = self
            .provider
            .get_code_at(self.address())
            .await
            .map_err(|e| self.rpc(e))?;
        if code.is_empty() {
            return Err(L1Error::NoContract {
                address: self.address(),
                chain_id,
                url: self.url.clone(),
            });
        }
        Ok(())
    }

    /// The latest L1 block number.
    pub async fn latest_block(&self) -> Result<u64> {
        self.provider
            .get_block_number()
            .await
            .map_err(|e| self.rpc(e))
    }

    /// The latest L1 block: its number and timestamp.
    pub async fn head(&self) -> Result<(u64, u64)> {
        let header = self.latest_header().await?;
        Ok((header.number, header.timestamp))
    }

    /// The header of the latest L1 block.
    async fn latest_header(&self) -> Result<alloy::rpc::types::Header> {
        let block = self
            .provider
            .get_block_by_number(alloy::eips::BlockNumberOrTag::Latest)
            .await
            .map_err(|e| self.rpc(e))?
            .ok_or_else(|| self.rpc("the latest block is missing"))?;
        Ok(block.header)
    }

    /// Balance in wei of `address` on L1.
    pub async fn balance(&self, address: Address) -> Result<U256> {
        self.provider
            .get_balance(address)
            .await
            .map_err(|e| self.rpc(e))
    }

    /// The contract's exit bond and minimum exit period.
    pub async fn exit_params(&self) -> Result<(U256, u64)> {
        let bond = self
            .contract
            .exitBond()
            .call()
            .await
            .map_err(|e| self.rpc(e))?;
        let mep = self
            .contract
            .minExitPeriod()
            .call()
            .await
            .map_err(|e| self.rpc(e))?;
        Ok((bond, mep.saturating_to()))
    }

    /// Every event of the root contract in L1 blocks `from..=to`, in L1 order, each with its
    /// position and block timestamp (one `eth_getLogs`), with the hash of block `to`, the same
    /// before and after the logs were read (see [`EventReader::read_anchored`]).
    pub async fn events_anchored(&self, from: u64, to: u64) -> Result<(Vec<RootChainLog>, B256)> {
        self.events
            .read_anchored(from, to)
            .await
            .map_err(|source| L1Error::Events {
                url: self.url.clone(),
                source: Box::new(source),
            })
    }

    /// The hash of L1 block `number` (`None`: the node has no such block).
    pub async fn block_hash(&self, number: u64) -> Result<Option<B256>> {
        self.events
            .block_hash(number)
            .await
            .map_err(|source| L1Error::Events {
                url: self.url.clone(),
                source: Box::new(source),
            })
    }

    pub(crate) async fn confirm(
        &self,
        action: &'static str,
        pending: std::result::Result<
            alloy::providers::PendingTransactionBuilder<alloy::network::Ethereum>,
            alloy::contract::Error,
        >,
    ) -> Result<TransactionReceipt> {
        let pending = pending.map_err(|e| contract_error(action, &e))?;
        let receipt = pending.get_receipt().await.map_err(|e| self.rpc(e))?;
        if !receipt.status() {
            return Err(L1Error::Reverted {
                action,
                tx: receipt.transaction_hash,
                reason: self.revert_reason(receipt.transaction_hash).await,
            });
        }
        Ok(receipt)
    }

    /// Why transaction `tx` reverted: the root contract's error, from the node's
    /// `debug_traceTransaction` (anvil, geth and reth serve it; many providers do not).
    async fn revert_reason(&self, tx: B256) -> String {
        let trace: std::result::Result<serde_json::Value, _> = self
            .provider
            .raw_request(
                "debug_traceTransaction".into(),
                (tx, serde_json::json!({ "tracer": "callTracer" })),
            )
            .await;
        let Ok(trace) = trace else {
            return "the node cannot trace it; look the transaction up in a block explorer".into();
        };
        let output: Option<Bytes> = trace["output"].as_str().and_then(|o| o.parse().ok());
        match output.map(|o| RootChain::RootChainErrors::abi_decode(&o)) {
            Some(Ok(error)) => format!("{error:?}"),
            _ => format!(
                "{} (gas used {})",
                trace["error"].as_str().unwrap_or("unknown error"),
                trace["gasUsed"].as_str().unwrap_or("?")
            ),
        }
    }

    /// Deposits `amount` wei from `from`.
    pub async fn deposit_eth(&self, from: Address, amount: U256) -> Result<TransactionReceipt> {
        let call = self.contract.deposit().value(amount).from(from);
        self.confirm("deposit", call.send().await).await
    }

    /// Approves and deposits `amount` of `token` from `from`.
    pub async fn deposit_token(
        &self,
        from: Address,
        token: Address,
        amount: U256,
    ) -> Result<TransactionReceipt> {
        let erc20 = IERC20::new(token, self.provider.clone());
        let approve = erc20.approve(self.address(), amount).from(from);
        self.confirm("approve", approve.send().await).await?;
        let call = self.contract.depositToken(token, amount).from(from);
        self.confirm("depositToken", call.send().await).await
    }

    /// The decimals of an ERC20 token.
    pub async fn token_decimals(&self, token: Address) -> Result<u8> {
        IERC20::new(token, self.provider.clone())
            .decimals()
            .call()
            .await
            .map_err(|e| L1Error::Contract {
                action: "decimals",
                message: e.to_string(),
            })
    }

    /// Starts the standard exit of `coin` from its owner, posting `bond`.
    pub async fn start_exit(&self, coin: &Coin, bond: U256) -> Result<TransactionReceipt> {
        self.send_with_margin("startStandardExit", self.start_exit_call(coin, bond))
            .await
    }

    /// What starting the standard exit of `coin` costs its owner in gas at the current gas
    /// price, in wei: the gas L1 estimates for it times the price (the bond comes back; the
    /// gas does not).
    pub async fn start_exit_cost(&self, coin: &Coin, bond: U256) -> Result<U256> {
        let gas = self
            .start_exit_call(coin, bond)
            .estimate_gas()
            .await
            .map_err(|e| contract_error("startStandardExit", &e))?;
        let price = self
            .provider
            .get_gas_price()
            .await
            .map_err(|e| self.rpc(e))?;
        Ok(U256::from(gas) * U256::from(price))
    }

    fn start_exit_call(
        &self,
        coin: &Coin,
        bond: U256,
    ) -> alloy::contract::SolCallBuilder<&DynProvider, RootChain::startStandardExitCall> {
        self.contract
            .startStandardExit(
                coin.utxo_pos.to_u256(),
                coin.tx_bytes.clone(),
                coin.proof.clone(),
            )
            .value(bond)
            .from(coin.output.owner)
    }

    /// Challenges the exit of `utxo_pos` with `spend`, from `from` (who earns the bond).
    pub async fn challenge(
        &self,
        from: Address,
        utxo_pos: UtxoPos,
        spend: &SpendRecord,
    ) -> Result<TransactionReceipt> {
        let call = self
            .contract
            .challengeStandardExit(
                utxo_pos.to_u256(),
                spend.tx_bytes.clone(),
                U256::from(spend.input_index),
                Bytes::copy_from_slice(spend.signature.as_bytes()),
            )
            .from(from);
        self.confirm("challengeStandardExit", call.send().await)
            .await
    }

    /// What the contract credited `owner` in `token` instead of paying it (a receiver that
    /// refused the payout, a token that refused the transfer), waiting for a withdrawal.
    pub async fn withdrawable(&self, owner: Address, token: Address) -> Result<U256> {
        self.contract
            .withdrawable(owner, token)
            .call()
            .await
            .map_err(|e| self.rpc(e))
    }

    /// Withdraws what `from` was credited in `token`, to `from` itself or to `to`.
    pub async fn withdraw(
        &self,
        from: Address,
        token: Address,
        to: Option<Address>,
    ) -> Result<TransactionReceipt> {
        match to {
            None => {
                let call = self.contract.withdraw(token).from(from);
                self.send_with_margin("withdraw", call).await
            }
            Some(to) => {
                let call = self.contract.withdrawTo(token, to).from(from);
                self.send_with_margin("withdrawTo", call).await
            }
        }
    }

    /// The most exits of `token` one `processExits` transaction can be given: what the gas
    /// it reserves for them fits in the latest L1 block's gas limit.
    pub async fn exits_per_transaction(&self, token: Address) -> Result<u64> {
        let header = self.latest_header().await?;
        let room = header.gas_limit.saturating_sub(PROCESS_BASE_GAS);
        Ok((room / process_gas_per_exit(token)).max(1))
    }

    /// Processes up to `max` exits of `token`, from `from`.
    pub async fn process_exits(
        &self,
        from: Address,
        token: Address,
        max: u64,
    ) -> Result<TransactionReceipt> {
        let call = self
            .contract
            .processExits(token, U256::from(max))
            .from(from);
        // The estimate reflects the queue at the estimating block: an exit that becomes
        // processable in the block that mines the call is not in it (a real revert seen in the
        // end-to-end tests). Reserve each exit's payout, as the contract requires, on top.
        let floor =
            PROCESS_BASE_GAS.saturating_add(max.saturating_mul(process_gas_per_exit(token)));
        let gas = self
            .gas_with_margin("processExits", &call)
            .await?
            .max(floor);
        self.confirm("processExits", call.gas(gas).send().await)
            .await
    }

    /// The gas estimate of `call` plus half. The exit queue's cost depends on where an exit
    /// lands in it, and that depends on the timestamp of the block that mines it: an estimate
    /// made one block earlier can fall short (a real revert seen in the end-to-end tests).
    pub(crate) async fn gas_with_margin<C: alloy::sol_types::SolCall>(
        &self,
        action: &'static str,
        call: &alloy::contract::SolCallBuilder<&DynProvider, C>,
    ) -> Result<u64> {
        let estimate = call
            .estimate_gas()
            .await
            .map_err(|e| contract_error(action, &e))?;
        Ok(estimate.saturating_add(estimate / 2))
    }

    /// Sends `call` with [`Self::gas_with_margin`] and waits for its receipt (a revert is an
    /// error naming `action`).
    pub(crate) async fn send_with_margin<C: alloy::sol_types::SolCall>(
        &self,
        action: &'static str,
        call: alloy::contract::SolCallBuilder<&DynProvider, C>,
    ) -> Result<TransactionReceipt> {
        let gas = self.gas_with_margin(action, &call).await?;
        self.confirm(action, call.gas(gas).send().await).await
    }
}

/// A contract call that failed before it was mined, with the root contract's error by name
/// (`DepositTooSmall(…)`, `TooManyDeposits(…)`) when the node returned its revert data.
fn contract_error(action: &'static str, error: &alloy::contract::Error) -> L1Error {
    let message = match error.as_decoded_interface_error::<RootChain::RootChainErrors>() {
        Some(reason) => format!("the root contract refused it: {reason:?}"),
        None => error.to_string(),
    };
    L1Error::Contract { action, message }
}
