//! The payment transaction and its outputs, and the form rules every transaction obeys.

use alloy_primitives::{Address, B256, Bytes, U256, keccak256};
use serde::{Deserialize, Serialize};

use crate::eip712::{self, Domain};
use crate::{UtxoPos, encoding};

/// `txType` of a payment transaction, the only type there is.
pub const TX_TYPE_PAYMENT: u64 = 1;
/// `outputType` of a payment output, the only type there is.
pub const OUTPUT_TYPE_PAYMENT: u64 = 1;
/// Most inputs a transaction may spend.
pub const MAX_INPUTS: usize = 4;
/// Most outputs a transaction may create.
pub const MAX_OUTPUTS: usize = 4;
/// The token address that stands for ether.
pub const ETH: Address = Address::ZERO;

/// A form rule a transaction breaks, whatever the state of the chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FormError {
    /// More than [`MAX_INPUTS`] inputs.
    #[error("a transaction spends at most {MAX_INPUTS} inputs, got {0}")]
    TooManyInputs(usize),
    /// No outputs at all.
    #[error("a transaction must create at least one output")]
    NoOutputs,
    /// More than [`MAX_OUTPUTS`] outputs.
    #[error("a transaction creates at most {MAX_OUTPUTS} outputs, got {0}")]
    TooManyOutputs(usize),
}

/// A payment output: `amount` of `token` owned by `owner`.
///
/// In Solidity: `struct Output { uint256 outputType; address owner; address token; uint256
/// amount; }` with `outputType = 1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Output {
    /// Who may spend (and exit) the output.
    pub owner: Address,
    /// The ERC20 token, or [`ETH`] (the zero address) for ether.
    pub token: Address,
    /// The amount, in the token's base unit (wei for ether).
    #[serde(with = "crate::decimal")]
    pub amount: U256,
}

impl Output {
    /// An output of `amount` of `token` for `owner`.
    pub const fn new(owner: Address, token: Address, amount: U256) -> Self {
        Self {
            owner,
            token,
            amount,
        }
    }
}

/// A payment transaction: spends up to 4 outputs, creates up to 4.
///
/// In Solidity: `struct Transaction { uint256 txType; uint256[] inputs; Output[] outputs; bytes32
/// metadata; }` with `txType = 1`; its bytes are `abi.encode(transaction)` (see
/// [`Transaction::encode`]). A deposit is a transaction with no inputs, one output, and its
/// deposit block number as metadata.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Transaction {
    /// The outputs spent, by position.
    pub inputs: Vec<UtxoPos>,
    /// The outputs created; output `i` of a transaction at `(blknum, txIndex)` gets position
    /// `UtxoPos::new(blknum, txIndex, i)`.
    pub outputs: Vec<Output>,
    /// Free 32 bytes: a deposit's block number, or anything the sender wants to commit to.
    pub metadata: B256,
}

impl Transaction {
    /// A payment spending `inputs` and creating `outputs`, with zero metadata.
    pub fn payment(inputs: Vec<UtxoPos>, outputs: Vec<Output>) -> Self {
        Self {
            inputs,
            outputs,
            metadata: B256::ZERO,
        }
    }

    /// Checks the form rules: at most 4 inputs, 1 to 4 outputs. (Positions are well formed by
    /// construction of [`UtxoPos`].) The decoder enforces the same rules.
    pub fn check_form(&self) -> Result<(), FormError> {
        if self.inputs.len() > MAX_INPUTS {
            return Err(FormError::TooManyInputs(self.inputs.len()));
        }
        if self.outputs.is_empty() {
            return Err(FormError::NoOutputs);
        }
        if self.outputs.len() > MAX_OUTPUTS {
            return Err(FormError::TooManyOutputs(self.outputs.len()));
        }
        Ok(())
    }

    /// The canonical bytes, `abi.encode(transaction)`.
    pub fn encode(&self) -> Bytes {
        encoding::encode(self).into()
    }

    /// Decodes canonical bytes; anything else — another layout, dirty padding, trailing bytes,
    /// a broken form rule — is an error. See [`encoding`] for the layout.
    pub fn decode(bytes: &[u8]) -> Result<Self, encoding::DecodeError> {
        encoding::decode(bytes)
    }

    /// `keccak256(encode())`: the transaction's identity.
    pub fn hash(&self) -> B256 {
        keccak256(self.encode())
    }

    /// Whether this has the shape of a deposit: no inputs and exactly one output.
    pub fn is_deposit(&self) -> bool {
        self.inputs.is_empty() && self.outputs.len() == 1
    }

    /// The EIP-712 digest that each input owner signs, under the domain with this separator
    /// (see [`Domain::separator`](crate::Domain::separator)).
    pub fn signing_hash(&self, domain_separator: &B256) -> B256 {
        eip712::signing_hash(self, domain_separator)
    }

    /// This transaction as `eth_signTypedData_v4` JSON for a wallet to sign.
    pub fn typed_data(&self, domain: &Domain) -> serde_json::Value {
        eip712::typed_data(self, domain)
    }
}
