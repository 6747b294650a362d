//! Amount rules and the fee rule.

use alloy_primitives::{Address, U256};

use super::errors::{OutputError, ValidationError};
use crate::transaction::{ETH, Output};

/// The sum of the amounts of `token` among `outputs`, or `None` on overflow.
fn sum_of(outputs: &[Output], token: Address) -> Option<U256> {
    outputs
        .iter()
        .filter(|o| o.token == token)
        .try_fold(U256::ZERO, |acc, o| acc.checked_add(o.amount))
}

/// The fee a transaction pays: the ETH it spends minus the ETH it creates, or `None` when it
/// creates more than it spends or a sum overflows.
pub fn fee(spent: &[Output], outputs: &[Output]) -> Option<U256> {
    sum_of(spent, ETH)?.checked_sub(sum_of(outputs, ETH)?)
}

/// Checks amounts and the fee rule; returns the fee.
pub(super) fn check_amounts(
    spent: &[Output],
    outputs: &[Output],
    min_fee: U256,
) -> Result<U256, ValidationError> {
    if let Some(index) = outputs.iter().position(|o| o.amount.is_zero()) {
        return Err(ValidationError::Output {
            index,
            reason: OutputError::ZeroAmount,
        });
    }
    // At most 8 distinct tokens (4 inputs, 4 outputs): a vector beats a map.
    let mut tokens: Vec<Address> = Vec::with_capacity(8);
    for output in spent.iter().chain(outputs) {
        if !tokens.contains(&output.token) {
            tokens.push(output.token);
        }
    }
    let mut fee = U256::ZERO;
    for token in tokens {
        let overflow = ValidationError::Overflow { token };
        let inputs = sum_of(spent, token).ok_or(overflow.clone())?;
        let outputs = sum_of(outputs, token).ok_or(overflow)?;
        let surplus = inputs
            .checked_sub(outputs)
            .ok_or(ValidationError::InsufficientInputs {
                token,
                inputs,
                outputs,
            })?;
        if token == ETH {
            fee = surplus;
        } else if !surplus.is_zero() {
            return Err(ValidationError::UnbalancedToken {
                token,
                inputs,
                outputs,
            });
        }
    }
    if fee < min_fee {
        return Err(ValidationError::FeeTooLow {
            fee,
            minimum: min_fee,
        });
    }
    Ok(fee)
}
