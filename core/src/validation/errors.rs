//! Why a transaction is invalid: one error, naming the input or output and the reason.

use alloy_primitives::{Address, U256};

use crate::signature::SignatureError;
use crate::transaction::FormError;
use crate::utxo::UtxoPos;

/// The first rule a transaction breaks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValidationError {
    /// A form rule (input or output count).
    #[error(transparent)]
    Form(FormError),
    /// No inputs: only the root contract creates outputs from nothing (deposits).
    #[error("a transaction must spend at least one input; new coins come only from L1 deposits")]
    NoInputs,
    /// Not exactly one signature per input.
    #[error("{inputs} inputs need {inputs} signatures, got {signatures}")]
    SignatureCount {
        /// Number of inputs.
        inputs: usize,
        /// Number of signatures.
        signatures: usize,
    },
    /// An input breaks a rule.
    #[error("input {index} ({pos}): {reason}")]
    Input {
        /// The input's index in the transaction.
        index: usize,
        /// Its position.
        pos: UtxoPos,
        /// What is wrong.
        reason: InputError,
    },
    /// An output breaks a rule.
    #[error("output {index}: {reason}")]
    Output {
        /// The output's index in the transaction.
        index: usize,
        /// What is wrong.
        reason: OutputError,
    },
    /// The amounts of a token overflow 256 bits when summed.
    #[error("the amounts of token {token} overflow when summed")]
    Overflow {
        /// The token.
        token: Address,
    },
    /// Outputs of a token exceed its inputs.
    #[error("token {token}: outputs total {outputs} but inputs only {inputs}")]
    InsufficientInputs {
        /// The token.
        token: Address,
        /// Sum of its inputs.
        inputs: U256,
        /// Sum of its outputs.
        outputs: U256,
    },
    /// Inputs of a token other than ETH exceed its outputs: the surplus would be locked in the
    /// root contract forever (fees are paid in ETH only).
    #[error(
        "token {token}: inputs total {inputs} but outputs only {outputs}; only ETH may leave a surplus, as the fee"
    )]
    UnbalancedToken {
        /// The token.
        token: Address,
        /// Sum of its inputs.
        inputs: U256,
        /// Sum of its outputs.
        outputs: U256,
    },
    /// The ETH surplus is below the operator's minimum fee.
    #[error("fee of {fee} wei is below the minimum of {minimum} wei")]
    FeeTooLow {
        /// The fee the transaction pays.
        fee: U256,
        /// The minimum.
        minimum: U256,
    },
}

/// What is wrong with an input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    /// No such output.
    #[error("no such output")]
    Unknown,
    /// The output was already spent.
    #[error("already spent")]
    Spent,
    /// The output has an exit in progress on L1.
    #[error("has an exit in progress on L1 and cannot be spent")]
    Exiting,
    /// The same output is spent twice in this transaction.
    #[error("spent twice in this transaction (also input {first})")]
    Duplicate {
        /// The earlier input spending it.
        first: usize,
    },
    /// The signature is malformed.
    #[error("bad signature: {0}")]
    Signature(SignatureError),
    /// The signature is valid but not by the input's owner.
    #[error("signed by {signer}, but the output belongs to {owner}")]
    WrongSigner {
        /// The output's owner.
        owner: Address,
        /// Who signed.
        signer: Address,
    },
}

/// What is wrong with an output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum OutputError {
    /// An output of nothing.
    #[error("amount is zero")]
    ZeroAmount,
}
