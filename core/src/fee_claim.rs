//! The operator's fee claim: how the fees a block's payments pay become an output the operator
//! owns, and the block rule everyone checks.
//!
//! A payment's fee is its ETH surplus ([`crate::fee`]). The operator may end an operator block
//! with one **fee claim**: a transaction with no inputs and no signatures, one ETH output to an
//! address of its choice, at most the sum of the fees of the block's other transactions, and
//! the block number as metadata (like a deposit, so no two claims share bytes or a hash). Its
//! output is then an output like any other: spent on the chain, or exited on L1 with a standard
//! exit. A block whose claim breaks a rule of [`check_fee_claim`] is an invalid block: clients
//! refuse it and watchers raise `invalid_block`.
//!
//! The contract needs nothing new: a standard exit proves an output's inclusion, whatever its
//! transaction spends, and an in-flight exit of a transaction without inputs is refused. What
//! keeps the claim honest is the watchers' check, as for every other rule of a block.

#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use alloy_primitives::{Address, B256, U256};

use crate::signed::SignedTransaction;
use crate::transaction::{ETH, Output, Transaction};

/// A rule of the fee claim that a block breaks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FeeClaimError {
    /// A transaction without inputs that is not the block's last: only one claim may exist, at
    /// the end (new coins otherwise come only from L1 deposits).
    #[error(
        "transaction {index} has no inputs but is not the block's last: only the operator's fee claim, at the end of a block, may create outputs from nothing"
    )]
    NotLast {
        /// The transaction's index.
        index: usize,
    },
    /// The claim carries signatures.
    #[error("the fee claim carries {0} signatures; it must carry none")]
    Signed(usize),
    /// The claim has other than one output.
    #[error("the fee claim has {0} outputs; it must have exactly one")]
    Outputs(usize),
    /// The claim's output is not ETH.
    #[error("the fee claim pays token {0}; fees are paid and claimed in ETH only")]
    NotEth(Address),
    /// The claim's amount is zero.
    #[error("the fee claim's amount is zero")]
    Zero,
    /// The claim's metadata is not its block number.
    #[error("the fee claim's metadata is {found}; it must be its block number {blknum}")]
    Metadata {
        /// The block.
        blknum: u64,
        /// The metadata found.
        found: B256,
    },
    /// The claim takes more than the block's payments paid in fees.
    #[error("the fee claim takes {claimed} wei but the block's payments paid {fees} wei in fees")]
    TooHigh {
        /// The amount claimed.
        claimed: U256,
        /// The fees of the block's payments.
        fees: U256,
    },
}

impl FeeClaimError {
    /// A stable code for the rule broken, for APIs, logs and metrics.
    pub const fn code(&self) -> &'static str {
        match self {
            Self::NotLast { .. } => "fee_claim_not_last",
            Self::Signed(_) => "fee_claim_signed",
            Self::Outputs(_) => "fee_claim_outputs",
            Self::NotEth(_) => "fee_claim_token",
            Self::Zero => "fee_claim_zero",
            Self::Metadata { .. } => "fee_claim_metadata",
            Self::TooHigh { .. } => "fee_claim_too_high",
        }
    }
}

/// The fee claim of operator block `blknum`: `amount` wei to `owner`.
pub fn fee_claim(blknum: u64, owner: Address, amount: U256) -> Transaction {
    Transaction {
        inputs: Vec::new(),
        outputs: vec![Output::new(owner, ETH, amount)],
        metadata: B256::from(U256::from(blknum)),
    }
}

/// Whether transaction `tx` of an operator block is a fee claim (it has no inputs). Whether it
/// is a valid one is [`check_fee_claim`]'s to say.
pub fn is_fee_claim(tx: &Transaction) -> bool {
    tx.inputs.is_empty()
}

/// The fees of a block's payments, summed as each is validated.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BlockFees(U256);

impl BlockFees {
    /// Adds a payment's fee. The sum saturates (all the ETH there is fits 256 bits many times
    /// over, so it never does for a real block).
    pub fn add(&mut self, fee: U256) {
        self.0 = self.0.saturating_add(fee);
    }

    /// The fees summed so far.
    pub const fn total(&self) -> U256 {
        self.0
    }
}

/// Checks `claim`, the input-less transaction `index` of the `count` transactions of operator
/// block `blknum`, against the fees its payments paid; returns the amount claimed.
pub fn check_fee_claim(
    blknum: u64,
    index: usize,
    count: usize,
    claim: &SignedTransaction,
    fees: BlockFees,
) -> Result<U256, FeeClaimError> {
    if index.checked_add(1) != Some(count) {
        return Err(FeeClaimError::NotLast { index });
    }
    if !claim.signatures().is_empty() {
        return Err(FeeClaimError::Signed(claim.signatures().len()));
    }
    let tx = claim.tx();
    let [output] = tx.outputs.as_slice() else {
        return Err(FeeClaimError::Outputs(tx.outputs.len()));
    };
    if output.token != ETH {
        return Err(FeeClaimError::NotEth(output.token));
    }
    if output.amount.is_zero() {
        return Err(FeeClaimError::Zero);
    }
    if tx.metadata != B256::from(U256::from(blknum)) {
        return Err(FeeClaimError::Metadata {
            blknum,
            found: tx.metadata,
        });
    }
    if output.amount > fees.total() {
        return Err(FeeClaimError::TooHigh {
            claimed: output.amount,
            fees: fees.total(),
        });
    }
    Ok(output.amount)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::TxSignature;

    fn fees(wei: u64) -> BlockFees {
        let mut fees = BlockFees::default();
        fees.add(U256::from(wei));
        fees
    }

    fn signed(tx: Transaction) -> SignedTransaction {
        SignedTransaction::new(tx, vec![])
    }

    #[test]
    fn a_claim_of_at_most_the_fees_at_the_end_is_accepted() {
        let owner = Address::repeat_byte(0x0f);
        let claim = signed(fee_claim(3000, owner, U256::from(7)));
        assert_eq!(
            check_fee_claim(3000, 2, 3, &claim, fees(7)),
            Ok(U256::from(7))
        );
        assert_eq!(
            check_fee_claim(3000, 2, 3, &claim, fees(9)),
            Ok(U256::from(7))
        );
        assert_eq!(
            check_fee_claim(3000, 2, 3, &claim, fees(6)),
            Err(FeeClaimError::TooHigh {
                claimed: U256::from(7),
                fees: U256::from(6)
            })
        );
        assert_eq!(
            check_fee_claim(3000, 1, 3, &claim, fees(7)),
            Err(FeeClaimError::NotLast { index: 1 })
        );
    }

    #[test]
    fn every_form_rule_has_its_error() {
        let owner = Address::repeat_byte(0x0f);
        let ok = fee_claim(2000, owner, U256::from(5));
        let check = |tx: Transaction| check_fee_claim(2000, 0, 1, &signed(tx), fees(5));
        let mut two = ok.clone();
        two.outputs.push(Output::new(owner, ETH, U256::from(1)));
        assert_eq!(check(two), Err(FeeClaimError::Outputs(2)));
        let token = Address::repeat_byte(0x70);
        let mut tokens = ok.clone();
        tokens.outputs[0].token = token;
        assert_eq!(check(tokens), Err(FeeClaimError::NotEth(token)));
        assert_eq!(
            check(fee_claim(2000, owner, U256::ZERO)),
            Err(FeeClaimError::Zero)
        );
        let other_block = fee_claim(1000, owner, U256::from(5));
        assert!(matches!(
            check(other_block),
            Err(FeeClaimError::Metadata { blknum: 2000, .. })
        ));
        let with_signature =
            SignedTransaction::new(ok, vec![TxSignature::from_slice(&[0u8; 65]).unwrap()]);
        assert_eq!(
            check_fee_claim(2000, 0, 1, &with_signature, fees(5)),
            Err(FeeClaimError::Signed(1))
        );
    }

    #[test]
    fn the_sum_of_fees_saturates_instead_of_wrapping() {
        let mut fees = BlockFees::default();
        fees.add(U256::MAX);
        fees.add(U256::from(1));
        assert_eq!(fees.total(), U256::MAX);
    }
}
