//! The validity rules: each rule has a failing case with the exact typed error, valid
//! transactions pass, and nothing panics on arbitrary input.

use std::collections::HashMap;

use alloy_primitives::{Address, U256};
use alloy_signer_local::PrivateKeySigner;
use std::convert::Infallible;

use plasma_core::{
    CheckError, Domain, ETH, FormError, InputError, Output, OutputError, Rules, SignatureError,
    SignedTransaction, Transaction, TxSignature, UtxoPos, UtxoState, UtxoView, Validated,
    ValidationError, fee,
};
use proptest::prelude::*;

use crate::common::{key, pos};

const TOKEN: Address = Address::repeat_byte(0x70);

fn domain() -> Domain {
    Domain::new(31337, Address::repeat_byte(0xcc))
}

fn rules(min_fee: u64) -> Rules {
    Rules {
        domain_separator: domain().separator(),
        min_fee: U256::from(min_fee),
    }
}

/// A view with every state, keyed by position.
#[derive(Default)]
struct View(HashMap<UtxoPos, UtxoState>);

impl View {
    fn with(mut self, pos: UtxoPos, state: UtxoState) -> Self {
        self.0.insert(pos, state);
        self
    }
    fn unspent(self, pos: UtxoPos, owner: &PrivateKeySigner, token: Address, amount: u64) -> Self {
        self.with(
            pos,
            UtxoState::Unspent(Output::new(owner.address(), token, U256::from(amount))),
        )
    }
}

impl UtxoView for View {
    type Error = Infallible;

    fn utxo(&self, pos: UtxoPos) -> Result<UtxoState, Infallible> {
        Ok(self.0.get(&pos).copied().unwrap_or(UtxoState::Unknown))
    }
}

/// [`plasma_core::validate`] over a view that cannot fail: its only errors are broken rules.
fn validate(
    tx: &SignedTransaction,
    view: &View,
    rules: &Rules,
) -> Result<Validated, ValidationError> {
    plasma_core::validate(tx, view, rules).map_err(CheckError::into_invalid)
}

/// A view whose disk fails on one position.
struct FailingView {
    inner: View,
    broken: UtxoPos,
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("disk read failed")]
struct DiskError;

impl UtxoView for FailingView {
    type Error = DiskError;

    fn utxo(&self, pos: UtxoPos) -> Result<UtxoState, DiskError> {
        if pos == self.broken {
            return Err(DiskError);
        }
        Ok(self.inner.utxo(pos).unwrap_or(UtxoState::Unknown))
    }
}

#[test]
fn a_view_that_fails_to_read_is_a_view_error_not_an_invalid_transaction() {
    let (alice, bob) = (key(0), key(1));
    let (a, b) = (pos(1000, 0, 0), pos(1000, 1, 0));
    let view = FailingView {
        inner: View::default()
            .unspent(a, &alice, ETH, 50)
            .unspent(b, &alice, ETH, 50),
        broken: b,
    };
    let tx = signed(
        Transaction::payment(vec![a, b], vec![out(bob.address(), ETH, 100)]),
        &alice,
    );
    let checked = plasma_core::validate(&tx, &view, &rules(0));
    assert_eq!(checked, Err(CheckError::View(DiskError)));
    // A broken rule found before the failing read is still the rule.
    let duplicate = signed(
        Transaction::payment(vec![a, a, b], vec![out(bob.address(), ETH, 100)]),
        &alice,
    );
    assert_eq!(
        plasma_core::validate(&duplicate, &view, &rules(0)),
        Err(CheckError::Invalid(ValidationError::Input {
            index: 1,
            pos: a,
            reason: InputError::Duplicate { first: 0 },
        }))
    );
}

fn out(to: Address, token: Address, amount: u64) -> Output {
    Output::new(to, token, U256::from(amount))
}

fn signed(tx: Transaction, signer: &PrivateKeySigner) -> SignedTransaction {
    SignedTransaction::sign(tx, &domain(), signer).unwrap()
}

#[test]
fn a_valid_payment_passes_with_its_fee() {
    let (alice, bob) = (key(0), key(1));
    let a = pos(1000, 0, 0);
    let view = View::default().unspent(a, &alice, ETH, 1_000);
    let tx = signed(
        Transaction::payment(
            vec![a],
            vec![out(bob.address(), ETH, 600), out(alice.address(), ETH, 390)],
        ),
        &alice,
    );
    let valid = validate(&tx, &view, &rules(10)).unwrap();
    assert_eq!(valid.fee, U256::from(10));
    assert_eq!(valid.signers, vec![alice.address()]);
    assert_eq!(valid.spent, vec![out(alice.address(), ETH, 1_000)]);
    // One wei less fee is too little.
    assert_eq!(
        validate(&tx, &view, &rules(11)),
        Err(ValidationError::FeeTooLow {
            fee: U256::from(10),
            minimum: U256::from(11)
        })
    );
}

#[test]
fn inputs_of_two_owners_need_each_owners_signature() {
    let (alice, bob) = (key(0), key(1));
    let (a, b) = (pos(1000, 0, 0), pos(1001, 0, 0));
    let view = View::default()
        .unspent(a, &alice, ETH, 50)
        .unspent(b, &bob, TOKEN, 70);
    let tx = Transaction::payment(
        vec![a, b],
        vec![out(bob.address(), ETH, 50), out(alice.address(), TOKEN, 70)],
    );
    let digest = tx.signing_hash(&domain().separator());
    let sig_a = TxSignature::sign(&alice, &digest).unwrap();
    let sig_b = TxSignature::sign(&bob, &digest).unwrap();
    let good = SignedTransaction::new(tx.clone(), vec![sig_a, sig_b]);
    let valid = validate(&good, &view, &rules(0)).unwrap();
    assert_eq!(valid.signers, vec![alice.address(), bob.address()]);
    assert_eq!(valid.fee, U256::ZERO);

    let swapped = SignedTransaction::new(tx.clone(), vec![sig_b, sig_a]);
    assert_eq!(
        validate(&swapped, &view, &rules(0)),
        Err(ValidationError::Input {
            index: 0,
            pos: a,
            reason: InputError::WrongSigner {
                owner: alice.address(),
                signer: bob.address()
            },
        })
    );
    let alice_twice = SignedTransaction::new(tx, vec![sig_a, sig_a]);
    assert_eq!(
        validate(&alice_twice, &view, &rules(0)),
        Err(ValidationError::Input {
            index: 1,
            pos: b,
            reason: InputError::WrongSigner {
                owner: bob.address(),
                signer: alice.address()
            },
        })
    );
}

#[test]
fn each_input_state_is_named() {
    let alice = key(0);
    let (a, b) = (pos(1000, 0, 0), pos(2000, 1, 1));
    let base = || View::default().unspent(a, &alice, ETH, 100);
    let tx = signed(
        Transaction::payment(vec![a, b], vec![out(alice.address(), ETH, 150)]),
        &alice,
    );
    let expect = |reason| ValidationError::Input {
        index: 1,
        pos: b,
        reason,
    };
    let owned = Output::new(alice.address(), ETH, U256::from(100));

    assert_eq!(
        validate(&tx, &base(), &rules(0)),
        Err(expect(InputError::Unknown))
    );
    let spent = base().with(b, UtxoState::Spent);
    assert_eq!(
        validate(&tx, &spent, &rules(0)),
        Err(expect(InputError::Spent))
    );
    let exiting = base().with(b, UtxoState::Exiting(owned));
    assert_eq!(
        validate(&tx, &exiting, &rules(0)),
        Err(expect(InputError::Exiting))
    );
    let fine = base().with(b, UtxoState::Unspent(owned));
    assert_eq!(validate(&tx, &fine, &rules(0)).unwrap().fee, U256::from(50));
}

#[test]
fn the_same_input_twice_is_a_duplicate() {
    let alice = key(0);
    let a = pos(1000, 0, 0);
    let view = View::default().unspent(a, &alice, ETH, 100);
    let tx = signed(
        Transaction::payment(vec![a, a], vec![out(alice.address(), ETH, 150)]),
        &alice,
    );
    assert_eq!(
        validate(&tx, &view, &rules(0)),
        Err(ValidationError::Input {
            index: 1,
            pos: a,
            reason: InputError::Duplicate { first: 0 }
        })
    );
}

#[test]
fn signatures_must_be_one_per_input_and_well_formed() {
    let alice = key(0);
    let a = pos(1000, 0, 0);
    let view = View::default().unspent(a, &alice, ETH, 100);
    let tx = Transaction::payment(vec![a], vec![out(alice.address(), ETH, 100)]);
    let good = signed(tx.clone(), &alice).signatures()[0];

    let none = SignedTransaction::new(tx.clone(), vec![]);
    assert_eq!(
        validate(&none, &view, &rules(0)),
        Err(ValidationError::SignatureCount {
            inputs: 1,
            signatures: 0
        })
    );
    let two = SignedTransaction::new(tx.clone(), vec![good, good]);
    assert_eq!(
        validate(&two, &view, &rules(0)),
        Err(ValidationError::SignatureCount {
            inputs: 1,
            signatures: 2
        })
    );
    let mut bad_v = good;
    bad_v.0[64] = 29;
    let tx_bad_v = SignedTransaction::new(tx.clone(), vec![bad_v]);
    assert_eq!(
        validate(&tx_bad_v, &view, &rules(0)),
        Err(ValidationError::Input {
            index: 0,
            pos: a,
            reason: InputError::Signature(SignatureError::V(29))
        })
    );
    let mut high_s = good;
    high_s.0[32] = 0xff;
    let tx_high_s = SignedTransaction::new(tx, vec![high_s]);
    assert!(matches!(
        validate(&tx_high_s, &view, &rules(0)),
        Err(ValidationError::Input {
            reason: InputError::Signature(SignatureError::HighS),
            ..
        })
    ));
}

#[test]
fn a_signature_for_another_domain_is_the_wrong_signer() {
    let alice = key(0);
    let a = pos(1000, 0, 0);
    let view = View::default().unspent(a, &alice, ETH, 100);
    let tx = Transaction::payment(vec![a], vec![out(alice.address(), ETH, 100)]);
    let other_chain =
        SignedTransaction::sign(tx, &Domain::new(1, domain().verifying_contract), &alice).unwrap();
    assert!(matches!(
        validate(&other_chain, &view, &rules(0)),
        Err(ValidationError::Input {
            index: 0,
            reason: InputError::WrongSigner { .. },
            ..
        })
    ));
}

/// Signers recovered ahead (in parallel, by a caller) are what validation checks: the same
/// verdicts as `validate`, and a list that does not match the signatures is refused.
#[test]
fn signers_recovered_ahead_are_checked_like_validates_own() {
    let (alice, bob) = (key(0), key(1));
    let (a, b) = (pos(1000, 0, 0), pos(1000, 1, 0));
    let view = View::default()
        .unspent(a, &alice, ETH, 60)
        .unspent(b, &alice, ETH, 40);
    let tx = signed(
        Transaction::payment(vec![a, b], vec![out(bob.address(), ETH, 100)]),
        &alice,
    );
    let rules = rules(0);
    let recovered = plasma_core::recover_signers(&tx, &rules);
    // One signature over both inputs: recovered once, the same signer twice.
    assert_eq!(recovered, vec![Ok(alice.address()), Ok(alice.address())]);
    let ahead = plasma_core::validate_recovered(&tx, &view, &rules, &recovered)
        .map_err(CheckError::into_invalid);
    assert_eq!(ahead, validate(&tx, &view, &rules));
    assert!(ahead.is_ok());
    // Signers recovered for another transaction are the wrong signers here.
    let wrong = vec![Ok(bob.address()), Ok(alice.address())];
    assert!(matches!(
        plasma_core::validate_recovered(&tx, &view, &rules, &wrong)
            .map_err(CheckError::into_invalid),
        Err(ValidationError::Input {
            index: 0,
            reason: InputError::WrongSigner { .. },
            ..
        })
    ));
    assert!(matches!(
        plasma_core::validate_recovered(&tx, &view, &rules, &recovered[..1])
            .map_err(CheckError::into_invalid),
        Err(ValidationError::SignatureCount { .. })
    ));
}

#[test]
fn amount_rules() {
    let alice = key(0);
    let (a, t) = (pos(1000, 0, 0), pos(1000, 1, 0));
    let view = View::default()
        .unspent(a, &alice, ETH, 100)
        .unspent(t, &alice, TOKEN, 40);
    let me = alice.address();
    let check = |outputs: Vec<Output>| {
        validate(
            &signed(Transaction::payment(vec![a, t], outputs), &alice),
            &view,
            &rules(0),
        )
    };

    assert_eq!(
        check(vec![out(me, ETH, 100), out(me, TOKEN, 0)]),
        Err(ValidationError::Output {
            index: 1,
            reason: OutputError::ZeroAmount
        })
    );
    assert_eq!(
        check(vec![out(me, ETH, 101), out(me, TOKEN, 40)]),
        Err(ValidationError::InsufficientInputs {
            token: ETH,
            inputs: U256::from(100),
            outputs: U256::from(101)
        })
    );
    assert_eq!(
        check(vec![out(me, ETH, 100), out(me, TOKEN, 41)]),
        Err(ValidationError::InsufficientInputs {
            token: TOKEN,
            inputs: U256::from(40),
            outputs: U256::from(41)
        })
    );
    assert_eq!(
        check(vec![out(me, ETH, 100), out(me, TOKEN, 39)]),
        Err(ValidationError::UnbalancedToken {
            token: TOKEN,
            inputs: U256::from(40),
            outputs: U256::from(39)
        })
    );
    // A token that no input carries.
    let other = Address::repeat_byte(0x71);
    assert!(matches!(
        check(vec![out(me, ETH, 100), out(me, TOKEN, 40), out(me, other, 1)]),
        Err(ValidationError::InsufficientInputs { token, .. }) if token == other
    ));
    let max = Output::new(me, TOKEN, U256::MAX);
    assert_eq!(
        check(vec![out(me, ETH, 100), max, max]),
        Err(ValidationError::Overflow { token: TOKEN })
    );
    assert_eq!(
        check(vec![out(me, ETH, 60), out(me, TOKEN, 40)])
            .unwrap()
            .fee,
        U256::from(40)
    );
}

#[test]
fn form_rules_apply_to_constructed_transactions() {
    let alice = key(0);
    let view = View::default();
    let deposit_shaped = signed(
        Transaction::payment(vec![], vec![out(alice.address(), ETH, 1)]),
        &alice,
    );
    assert_eq!(
        validate(&deposit_shaped, &view, &rules(0)),
        Err(ValidationError::NoInputs)
    );
    let five = signed(
        Transaction::payment(
            (0..5).map(|i| pos(1000, i, 0)).collect(),
            vec![out(alice.address(), ETH, 1)],
        ),
        &alice,
    );
    assert_eq!(
        validate(&five, &view, &rules(0)),
        Err(ValidationError::Form(FormError::TooManyInputs(5)))
    );
    let no_outputs = signed(Transaction::payment(vec![pos(1000, 0, 0)], vec![]), &alice);
    assert_eq!(
        validate(&no_outputs, &view, &rules(0)),
        Err(ValidationError::Form(FormError::NoOutputs))
    );
}

#[test]
fn fee_rule() {
    let me = Address::repeat_byte(1);
    assert_eq!(
        fee(&[out(me, ETH, 10), out(me, TOKEN, 5)], &[out(me, ETH, 4)]),
        Some(U256::from(6))
    );
    assert_eq!(fee(&[out(me, ETH, 1)], &[out(me, ETH, 2)]), None);
    let max = Output::new(me, ETH, U256::MAX);
    assert_eq!(fee(&[max, max], &[]), None);
}

#[test]
fn messages_name_the_input() {
    let error = ValidationError::Input {
        index: 0,
        pos: pos(1000, 2, 1),
        reason: InputError::Spent,
    };
    assert_eq!(error.to_string(), "input 0 (1000000020001): already spent");
}

fn arbitrary_state() -> impl Strategy<Value = UtxoState> {
    let output = (any::<u8>(), any::<bool>(), any::<u64>()).prop_map(|(owner, eth, amount)| {
        let owner = if owner % 2 == 0 {
            key(0).address()
        } else {
            Address::repeat_byte(owner)
        };
        Output::new(owner, if eth { ETH } else { TOKEN }, U256::from(amount))
    });
    prop_oneof![
        output.clone().prop_map(UtxoState::Unspent),
        output.prop_map(UtxoState::Exiting),
        Just(UtxoState::Spent),
        Just(UtxoState::Unknown),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Arbitrary transactions, signatures and states: always a result, never a panic.
    #[test]
    fn validate_never_panics(
        tx in crate::common::transaction(),
        raw_signatures in prop::collection::vec(any::<[u8; 32]>(), 0..6),
        states in prop::collection::vec(arbitrary_state(), 0..6),
        sign in any::<bool>(),
        min_fee in any::<u64>(),
    ) {
        let view = tx.inputs.iter().zip(states).fold(View::default(), |v, (p, s)| v.with(*p, s));
        let tx = if sign {
            signed(tx, &key(0))
        } else {
            let signatures = raw_signatures
                .iter()
                .map(|r| {
                    let mut bytes = [0u8; 65];
                    bytes[..32].copy_from_slice(r);
                    bytes[32..64].copy_from_slice(r);
                    bytes[64] = 27 + (r[0] % 3);
                    TxSignature(bytes)
                })
                .collect();
            SignedTransaction::new(tx, signatures)
        };
        let rules = rules(min_fee);
        let own = validate(&tx, &view, &rules);
        // Recovering ahead never changes the verdict.
        let recovered = plasma_core::recover_signers(&tx, &rules);
        let ahead = plasma_core::validate_recovered(&tx, &view, &rules, &recovered)
            .map_err(CheckError::into_invalid);
        prop_assert_eq!(own, ahead);
        // Nor does recovering many together (eight digests at a time, and a tail): a batch of
        // nine holding this one among others recovers it to the same signers.
        let mut batch: Vec<SignedTransaction> = (0..8)
            .map(|i| signed(Transaction::payment(vec![pos(1000, i, 0)], vec![out(key(1).address(), ETH, i + 1)]), &key(1)))
            .collect();
        batch.insert(5, tx.clone());
        let together = plasma_core::recover_signers_each(&batch, &rules);
        prop_assert_eq!(&together[5], &recovered);
        prop_assert_eq!(&together[0], &vec![Ok(key(1).address())]);
    }

    /// A spend of owned coins into any split that leaves a fee is valid, and its fee is the
    /// ETH surplus.
    #[test]
    fn honest_payments_are_valid(
        amounts in prop::collection::vec(1u64..1_000_000_000, 1..=4),
        fee_wei in 0u64..1_000,
        splits in 1usize..=4,
    ) {
        let alice = key(0);
        let inputs: Vec<UtxoPos> = (0..amounts.len() as u64).map(|i| pos(1000, i, 0)).collect();
        let view = inputs.iter().zip(&amounts).fold(View::default(), |v, (p, a)| v.unspent(*p, &alice, ETH, *a));
        let total: u64 = amounts.iter().sum();
        prop_assume!(total > fee_wei + splits as u64);
        let spend = total - fee_wei;
        let part = spend / splits as u64;
        let mut outputs: Vec<Output> = (0..splits - 1).map(|_| out(key(1).address(), ETH, part)).collect();
        outputs.push(out(alice.address(), ETH, spend - part * (splits as u64 - 1)));
        let tx = signed(Transaction::payment(inputs, outputs), &alice);
        let valid = validate(&tx, &view, &rules(fee_wei));
        prop_assert_eq!(valid.map(|v| v.fee), Ok(U256::from(fee_wei)));
    }
}
