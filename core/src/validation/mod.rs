//! The validity rules of a transaction, as one pure function: [`validate`].
//!
//! Used by the operator (before accepting), the client (re-checking every synced block) and the
//! watcher (flagging invalid blocks). A transaction is valid against a UTXO set when:
//!
//! 1. its form holds (≤ 4 inputs, 1–4 outputs) and it spends at least one input (outputs
//!    without inputs come only from L1 deposits);
//! 2. it carries exactly one signature per input;
//! 3. every input exists, is unspent, is not exiting, and appears once ([`inputs`]);
//! 4. each input's signature recovers, over the EIP-712 signing hash, to that input's owner;
//! 5. every output amount is non-zero; per token, the sums do not overflow and inputs cover
//!    outputs; tokens other than ETH balance exactly; the ETH surplus is the fee and meets the
//!    operator's minimum ([`amounts`]).
//!
//! Checks run in that order and the first failure is returned, naming the input or output and
//! the reason. This module cannot panic: unwrap, expect, panic, slice indexing and unchecked
//! arithmetic are denied by lint.

#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::unreachable,
    clippy::todo,
    clippy::unimplemented
)]

mod amounts;
mod errors;
mod inputs;

use std::collections::HashMap;
use std::convert::Infallible;

use alloy_primitives::{Address, B256, U256};

pub use amounts::fee;
pub use errors::{InputError, OutputError, ValidationError};

use crate::signature::SignatureError;
use crate::signed::SignedTransaction;
use crate::transaction::Output;
use crate::utxo::UtxoPos;

/// What a UTXO set knows about one position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UtxoState {
    /// An unspent output that may be spent.
    Unspent(Output),
    /// An unspent output with a standard exit in progress on L1: it may not be spent.
    Exiting(Output),
    /// An output that existed and was spent.
    Spent,
    /// No output at this position (or the view does not know it).
    Unknown,
}

/// Read access to a UTXO set: the operator's store plus its pending spends, a client's synced
/// chain, a watcher's replay. A read may fail (a disk error): [`validate`] then reports
/// [`CheckError::View`], never an invalid transaction.
pub trait UtxoView {
    /// Why a read failed ([`std::convert::Infallible`] for views in memory).
    type Error;

    /// The state of the output at `pos`.
    fn utxo(&self, pos: UtxoPos) -> Result<UtxoState, Self::Error>;
}

/// A plain map of unspent outputs (every other position is unknown).
impl<S: std::hash::BuildHasher> UtxoView for HashMap<UtxoPos, Output, S> {
    type Error = Infallible;

    fn utxo(&self, pos: UtxoPos) -> Result<UtxoState, Infallible> {
        Ok(self
            .get(&pos)
            .map_or(UtxoState::Unknown, |output| UtxoState::Unspent(*output)))
    }
}

impl<V: UtxoView + ?Sized> UtxoView for &V {
    type Error = V::Error;

    fn utxo(&self, pos: UtxoPos) -> Result<UtxoState, V::Error> {
        (**self).utxo(pos)
    }
}

/// Why [`validate`] did not accept a transaction: it breaks a rule, or the view could not say.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckError<E> {
    /// The transaction breaks a rule.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// The UTXO view failed to read an input: nothing is known about the transaction.
    #[error("the UTXO set could not be read: {0}")]
    View(#[source] E),
}

impl CheckError<Infallible> {
    /// The rule broken (a view that cannot fail leaves no other reason).
    pub fn into_invalid(self) -> ValidationError {
        match self {
            Self::Invalid(invalid) => invalid,
            Self::View(never) => match never {},
        }
    }
}

impl From<CheckError<Infallible>> for ValidationError {
    fn from(error: CheckError<Infallible>) -> Self {
        error.into_invalid()
    }
}

/// The chain-wide parameters validation depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rules {
    /// The EIP-712 domain separator of the root contract (see
    /// [`Domain::separator`](crate::Domain::separator)).
    pub domain_separator: B256,
    /// The least fee, in wei, the operator accepts.
    pub min_fee: U256,
}

impl Rules {
    /// The rules of the chain whose signing domain is `domain`, with the operator's least fee.
    pub fn new(domain: &crate::Domain, min_fee: U256) -> Self {
        Self {
            domain_separator: domain.separator(),
            min_fee,
        }
    }
}

/// What a valid transaction spends and pays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Validated {
    /// The outputs spent, in input order.
    pub spent: Vec<Output>,
    /// The fee in wei (ETH inputs minus ETH outputs).
    pub fee: U256,
    /// The signer of each input, in input order (each equals the input's owner).
    pub signers: Vec<Address>,
}

/// Checks `tx` against the outputs in `view` under `rules`. Pure: reads the view, changes
/// nothing; the caller applies the spend. A failed read of the view is
/// [`CheckError::View`], a broken rule [`CheckError::Invalid`].
pub fn validate<V: UtxoView + ?Sized>(
    tx: &SignedTransaction,
    view: &V,
    rules: &Rules,
) -> Result<Validated, CheckError<V::Error>> {
    validate_recovered(tx, view, rules, &recover_signers(tx, rules))
}

/// The signer each signature of `tx` recovers to over its signing hash, in input order (a
/// signature repeated for several inputs is recovered once). This is the expensive part of
/// validation and needs no UTXO state: a block's transactions can be recovered in parallel,
/// then checked in order with [`validate_recovered`].
pub fn recover_signers(
    tx: &SignedTransaction,
    rules: &Rules,
) -> Vec<Result<Address, SignatureError>> {
    signers_over(tx, &tx.tx().signing_hash(&rules.domain_separator))
}

/// [`recover_signers`] of each of `txs` under `rules`, in order. The signing digests are hashed
/// together ([`eip712::signing_hashes`](crate::eip712::signing_hashes)), which is cheaper than
/// one by one; give it a few hundred transactions at a time.
pub fn recover_signers_each(
    txs: &[SignedTransaction],
    rules: &Rules,
) -> Vec<Vec<Result<Address, SignatureError>>> {
    let unsigned: Vec<&crate::Transaction> = txs.iter().map(SignedTransaction::tx).collect();
    let digests = crate::eip712::signing_hashes(&unsigned, &rules.domain_separator);
    txs.iter()
        .zip(&digests)
        .map(|(tx, digest)| signers_over(tx, digest))
        .collect()
}

/// The signer each signature of `tx` recovers to over `digest` (its signing hash).
fn signers_over(tx: &SignedTransaction, digest: &B256) -> Vec<Result<Address, SignatureError>> {
    let signatures = tx.signatures();
    let mut out: Vec<Result<Address, SignatureError>> = Vec::with_capacity(signatures.len());
    for (index, signature) in signatures.iter().enumerate() {
        let earlier = signatures.iter().take(index).position(|s| s == signature);
        let signer = match earlier.and_then(|i| out.get(i)) {
            Some(signer) => *signer,
            None => signature.recover(digest),
        };
        out.push(signer);
    }
    out
}

/// [`validate`] with the signers already recovered by [`recover_signers`] (over the same
/// transaction and rules): the same checks in the same order, the same errors.
pub fn validate_recovered<V: UtxoView + ?Sized>(
    tx: &SignedTransaction,
    view: &V,
    rules: &Rules,
    recovered: &[Result<Address, SignatureError>],
) -> Result<Validated, CheckError<V::Error>> {
    let transaction = tx.tx();
    transaction
        .check_form()
        .map_err(|e| CheckError::Invalid(ValidationError::Form(e)))?;
    if transaction.inputs.is_empty() {
        return Err(ValidationError::NoInputs.into());
    }
    if tx.signatures().len() != transaction.inputs.len() || recovered.len() != tx.signatures().len()
    {
        return Err(ValidationError::SignatureCount {
            inputs: transaction.inputs.len(),
            signatures: tx.signatures().len(),
        }
        .into());
    }
    let spent = inputs::spendable_inputs(&transaction.inputs, view)?;
    let signers = inputs::check_signers(&transaction.inputs, &spent, recovered)?;
    let fee = amounts::check_amounts(&spent, &transaction.outputs, rules.min_fee)?;
    Ok(Validated {
        spent,
        fee,
        signers,
    })
}
