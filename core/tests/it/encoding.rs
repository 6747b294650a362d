//! The canonical encoding: equal to alloy's `abi.encode`, and the decoder accepts nothing else.

use alloy_primitives::{U256, keccak256};
use alloy_sol_types::SolValue;
use plasma_core::encoding::{DecodeError, encoded_len};
use plasma_core::{Output, SignedTransaction, Transaction, TxSignature, UtxoPosError};
use proptest::prelude::*;

use crate::common::{pos, to_sol, transaction};

fn sample() -> Transaction {
    Transaction::payment(
        vec![pos(1000, 3, 1), pos(1001, 0, 0)],
        vec![
            Output::new([1; 20].into(), [0; 20].into(), U256::from(7)),
            Output::new([2; 20].into(), [9; 20].into(), U256::MAX),
        ],
    )
}

/// Writes `value` into word `index` of `bytes`.
fn set_word(bytes: &mut [u8], index: usize, value: U256) {
    bytes[index * 32..index * 32 + 32].copy_from_slice(&value.to_be_bytes::<32>());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn a_signed_transaction_is_the_same_decoded_copied_or_shared_and_hashed_or_not(
        tx in transaction(),
        sig in any::<[u8; 32]>(),
    ) {
        let mut signature = [0u8; 65];
        signature[..32].copy_from_slice(&sig);
        let signatures = vec![TxSignature(signature); tx.inputs.len()];
        let made = SignedTransaction::new(tx.clone(), signatures.clone());
        let bytes = made.bytes().clone();
        let copied = SignedTransaction::decode(&bytes, signatures.clone()).unwrap();
        let shared = SignedTransaction::decode_bytes(bytes.clone(), signatures.clone()).unwrap();
        // One hashed, one not: equality is of the contents, and the hash is of the bytes.
        prop_assert_eq!(made.hash(), keccak256(&bytes));
        prop_assert_eq!(&made, &copied);
        prop_assert_eq!(&copied, &shared);
        prop_assert_eq!(shared.hash(), made.hash());
        prop_assert_eq!(shared.tx(), &tx);
        // Other signatures make another signed transaction with the same hash.
        let other = SignedTransaction::new(tx, vec![TxSignature([7; 65]); signatures.len()]);
        prop_assert_eq!(other.hash(), made.hash());
        if !signatures.is_empty() {
            prop_assert_ne!(&other, &made);
        }
    }

    #[test]
    fn encoding_equals_abi_encode(tx in transaction()) {
        let ours = tx.encode();
        let alloy = (to_sol(&tx),).abi_encode_params();
        prop_assert_eq!(&ours[..], &alloy[..]);
        prop_assert_eq!(ours.len(), encoded_len(tx.inputs.len(), tx.outputs.len()));
    }

    #[test]
    fn decode_round_trips(tx in transaction()) {
        prop_assert_eq!(Transaction::decode(&tx.encode()), Ok(tx));
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_only_canonical_bytes_decode(
        bytes in prop::collection::vec(any::<u8>(), 0..800)
    ) {
        if let Ok(tx) = Transaction::decode(&bytes) {
            prop_assert_eq!(&tx.encode()[..], &bytes[..]);
        }
    }

    #[test]
    fn mutated_encodings_are_rejected_or_canonical(
        tx in transaction(),
        at in any::<prop::sample::Index>(),
        flip in 1u8..=255,
    ) {
        let mut bytes = tx.encode().to_vec();
        let at = at.index(bytes.len());
        bytes[at] ^= flip;
        // A flipped byte either breaks the encoding or yields another transaction whose
        // canonical bytes are exactly the mutated ones (e.g. a changed amount).
        if let Ok(other) = Transaction::decode(&bytes) {
            prop_assert_ne!(&other, &tx);
            prop_assert_eq!(&other.encode()[..], &bytes[..]);
        }
    }

    #[test]
    fn truncated_or_extended_encodings_are_rejected(
        tx in transaction(),
        cut in 1usize..64,
        extra in prop::collection::vec(any::<u8>(), 1..64),
    ) {
        let bytes = tx.encode();
        let cut = cut.min(bytes.len());
        prop_assert!(Transaction::decode(&bytes[..bytes.len() - cut]).is_err());
        let mut longer = bytes.to_vec();
        longer.extend_from_slice(&extra);
        prop_assert!(Transaction::decode(&longer).is_err());
    }

    #[test]
    fn alloy_decoding_of_our_bytes_agrees(tx in transaction()) {
        let decoded = <(crate::common::sol::Transaction,)>::abi_decode_params(&tx.encode()).unwrap();
        prop_assert_eq!(decoded.0, to_sol(&tx));
    }
}

#[test]
fn every_layout_word_is_checked() {
    let canonical = sample().encode().to_vec();
    let cases: [(usize, U256); 4] = [
        (0, U256::from(0x40)),  // struct offset
        (2, U256::from(0xa0)),  // inputs offset
        (3, U256::from(0x100)), // outputs offset
        (0, U256::ZERO),
    ];
    for (word, value) in cases {
        let mut bytes = canonical.clone();
        set_word(&mut bytes, word, value);
        assert!(
            matches!(Transaction::decode(&bytes), Err(DecodeError::Layout { word: w, .. }) if w == word),
            "word {word} = {value}: {:?}",
            Transaction::decode(&bytes)
        );
    }
}

#[test]
fn form_rules_are_decoder_rules() {
    let canonical = sample().encode().to_vec();
    // Layout of `sample()`: 2 inputs at words 6, 7; outputs count at word 8; output 0 at
    // words 9..13, output 1 at 13..17.
    let mut bytes = canonical.clone();
    set_word(&mut bytes, 1, U256::from(2));
    assert_eq!(
        Transaction::decode(&bytes),
        Err(DecodeError::TxType(U256::from(2)))
    );

    let mut bytes = canonical.clone();
    set_word(&mut bytes, 9, U256::ZERO);
    assert_eq!(
        Transaction::decode(&bytes),
        Err(DecodeError::OutputType {
            index: 0,
            got: U256::ZERO
        })
    );

    let mut bytes = canonical.clone();
    bytes[13 * 32 + 32] = 1; // high byte of output 1's owner word
    assert_eq!(
        Transaction::decode(&bytes),
        Err(DecodeError::DirtyAddress {
            index: 1,
            field: "owner"
        })
    );
    let mut bytes = canonical.clone();
    bytes[9 * 32 + 64 + 11] = 1; // last padding byte of output 0's token word
    assert_eq!(
        Transaction::decode(&bytes),
        Err(DecodeError::DirtyAddress {
            index: 0,
            field: "token"
        })
    );

    let mut bytes = canonical.clone();
    set_word(&mut bytes, 7, U256::from(1_000_000_004u64));
    assert_eq!(
        Transaction::decode(&bytes),
        Err(DecodeError::Input {
            index: 1,
            reason: UtxoPosError::OutputIndex(4)
        })
    );
    let mut bytes = canonical.clone();
    set_word(&mut bytes, 6, U256::from(1u128 << 64));
    assert_eq!(
        Transaction::decode(&bytes),
        Err(DecodeError::Input {
            index: 0,
            reason: UtxoPosError::TooLarge
        })
    );
    let mut bytes = canonical.clone();
    set_word(&mut bytes, 6, U256::from(42));
    assert_eq!(
        Transaction::decode(&bytes),
        Err(DecodeError::Input {
            index: 0,
            reason: UtxoPosError::ZeroBlock
        })
    );
}

#[test]
fn counts_are_bounded() {
    let five_inputs = Transaction::payment(
        (0..5).map(|i| pos(1000, i, 0)).collect(),
        vec![Output::new([1; 20].into(), [0; 20].into(), U256::from(1))],
    );
    // The encoder writes what it is given; the decoder refuses it.
    assert_eq!(
        Transaction::decode(&five_inputs.encode()),
        Err(DecodeError::TooManyInputs(U256::from(5)))
    );
    let five_outputs = Transaction::payment(
        vec![pos(1000, 0, 0)],
        vec![Output::new([1; 20].into(), [0; 20].into(), U256::from(1)); 5],
    );
    assert_eq!(
        Transaction::decode(&five_outputs.encode()),
        Err(DecodeError::TooManyOutputs(U256::from(5)))
    );
    let no_outputs = Transaction::payment(vec![pos(1000, 0, 0)], vec![]);
    assert_eq!(
        Transaction::decode(&no_outputs.encode()),
        Err(DecodeError::NoOutputs)
    );

    // A huge declared count is an error, not an allocation.
    let mut bytes = sample().encode().to_vec();
    set_word(&mut bytes, 5, U256::MAX);
    assert_eq!(
        Transaction::decode(&bytes),
        Err(DecodeError::TooManyInputs(U256::MAX))
    );
    let mut bytes = sample().encode().to_vec();
    set_word(&mut bytes, 8, U256::MAX);
    assert_eq!(
        Transaction::decode(&bytes),
        Err(DecodeError::TooManyOutputs(U256::MAX))
    );
}

#[test]
fn lengths_are_exact() {
    let bytes = sample().encode();
    assert_eq!(
        Transaction::decode(&[]),
        Err(DecodeError::Truncated { got: 0 })
    );
    assert_eq!(
        Transaction::decode(&bytes[..bytes.len() - 1]),
        Err(DecodeError::Truncated {
            got: bytes.len() - 1
        })
    );
    let mut longer = bytes.to_vec();
    longer.extend_from_slice(&[0; 32]);
    assert_eq!(
        Transaction::decode(&longer),
        Err(DecodeError::Length {
            inputs: 2,
            outputs: 2,
            expected: bytes.len(),
            got: bytes.len() + 32
        })
    );
}
