//! Every rule of the protocol reaches the wire with a code of its own.

use std::collections::HashSet;

use alloy_primitives::{Address, U256};
use plasma_api::ErrorCode;
use plasma_core::{
    ETH, FormError, InputError, OutputError, SignatureError, UtxoPos, ValidationError,
};

#[test]
fn every_validation_error_has_its_own_code() {
    let pos = UtxoPos::new(1000, 2, 1).unwrap();
    let errors = [
        ValidationError::NoInputs,
        ValidationError::SignatureCount {
            inputs: 1,
            signatures: 0,
        },
        ValidationError::Input {
            index: 0,
            pos,
            reason: InputError::Unknown,
        },
        ValidationError::Input {
            index: 0,
            pos,
            reason: InputError::Spent,
        },
        ValidationError::Input {
            index: 0,
            pos,
            reason: InputError::Exiting,
        },
        ValidationError::Input {
            index: 0,
            pos,
            reason: InputError::Duplicate { first: 0 },
        },
        ValidationError::Input {
            index: 0,
            pos,
            reason: InputError::Signature(SignatureError::HighS),
        },
        ValidationError::Input {
            index: 0,
            pos,
            reason: InputError::WrongSigner {
                owner: Address::ZERO,
                signer: Address::ZERO,
            },
        },
        ValidationError::Output {
            index: 0,
            reason: OutputError::ZeroAmount,
        },
        ValidationError::Overflow { token: ETH },
        ValidationError::InsufficientInputs {
            token: ETH,
            inputs: U256::ZERO,
            outputs: U256::ZERO,
        },
        ValidationError::UnbalancedToken {
            token: ETH,
            inputs: U256::ZERO,
            outputs: U256::ZERO,
        },
        ValidationError::FeeTooLow {
            fee: U256::ZERO,
            minimum: U256::ZERO,
        },
        ValidationError::Form(FormError::TooManyInputs(5)),
        ValidationError::Form(FormError::NoOutputs),
        ValidationError::Form(FormError::TooManyOutputs(5)),
    ];
    let codes: HashSet<ErrorCode> = errors.iter().map(ErrorCode::from).collect();
    assert_eq!(codes.len(), errors.len());
    assert!(!codes.iter().any(|c| matches!(c, ErrorCode::Other(_))));
}
