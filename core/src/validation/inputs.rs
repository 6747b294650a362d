//! Input rules: existence, spendability, uniqueness, and the owner's signature.

use alloy_primitives::Address;

use super::errors::{InputError, ValidationError};
use super::{CheckError, UtxoState, UtxoView};
use crate::signature::SignatureError;
use crate::transaction::Output;
use crate::utxo::UtxoPos;

/// The outputs the inputs spend, if every input is distinct, exists, is unspent and is not
/// exiting (and the view can read them).
pub(super) fn spendable_inputs<V: UtxoView + ?Sized>(
    inputs: &[UtxoPos],
    view: &V,
) -> Result<Vec<Output>, CheckError<V::Error>> {
    let mut spent = Vec::with_capacity(inputs.len());
    for (index, &pos) in inputs.iter().enumerate() {
        let fail = |reason| CheckError::Invalid(ValidationError::Input { index, pos, reason });
        if let Some(first) = inputs.iter().take(index).position(|p| *p == pos) {
            return Err(fail(InputError::Duplicate { first }));
        }
        match view.utxo(pos).map_err(CheckError::View)? {
            UtxoState::Unspent(output) => spent.push(output),
            UtxoState::Exiting(_) => return Err(fail(InputError::Exiting)),
            UtxoState::Spent => return Err(fail(InputError::Spent)),
            UtxoState::Unknown => return Err(fail(InputError::Unknown)),
        }
    }
    Ok(spent)
}

/// The signer of each input, if each recovered signer is its input's owner.
pub(super) fn check_signers(
    inputs: &[UtxoPos],
    spent: &[Output],
    recovered: &[Result<Address, SignatureError>],
) -> Result<Vec<Address>, ValidationError> {
    let mut signers: Vec<Address> = Vec::with_capacity(inputs.len());
    let checks = inputs.iter().zip(spent).zip(recovered);
    for (index, ((&pos, output), signer)) in checks.enumerate() {
        let fail = |reason| ValidationError::Input { index, pos, reason };
        let signer = (*signer).map_err(|e| fail(InputError::Signature(e)))?;
        if signer != output.owner {
            return Err(fail(InputError::WrongSigner {
                owner: output.owner,
                signer,
            }));
        }
        signers.push(signer);
    }
    Ok(signers)
}
