//! The fee-claim block rule against its definition, for arbitrary blocks: a block of valid
//! payments followed by a claim is accepted exactly when the claim is last, ETH, non-zero, of
//! its block, and at most the sum of the payments' fees; and the claim encodes canonically.

use alloy_primitives::{Address, B256, U256};
use plasma_core::{
    BlockFees, ETH, FeeClaimError, Output, SignedTransaction, Transaction, check_fee_claim, fee,
    fee_claim, is_fee_claim,
};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn a_claim_is_accepted_exactly_up_to_the_fees(
        blknum in 1u64..18_000_000u64,
        payments in prop::collection::vec((1u64..u64::MAX / 2, 0u64..1_000_000u64), 0..20),
        claim_amount in 0u64..40_000_000u64,
        owner in any::<[u8; 20]>(),
    ) {
        let blknum = blknum * 1000;
        let owner = Address::from(owner);
        let mut fees = BlockFees::default();
        let mut expected = U256::ZERO;
        for &(value, fee_paid) in &payments {
            let spent = [Output::new(owner, ETH, U256::from(value) + U256::from(fee_paid))];
            let outputs = [Output::new(owner, ETH, U256::from(value))];
            let paid = fee(&spent, &outputs).unwrap();
            prop_assert_eq!(paid, U256::from(fee_paid));
            fees.add(paid);
            expected += paid;
        }
        prop_assert_eq!(fees.total(), expected);
        let tx = fee_claim(blknum, owner, U256::from(claim_amount));
        prop_assert!(is_fee_claim(&tx));
        // Canonical bytes: decoding them gives the claim back.
        prop_assert_eq!(&Transaction::decode(&tx.encode()).unwrap(), &tx);
        let claim = SignedTransaction::new(tx, vec![]);
        let count = payments.len() + 1;
        let result = check_fee_claim(blknum, payments.len(), count, &claim, fees);
        let amount = U256::from(claim_amount);
        if amount.is_zero() {
            prop_assert_eq!(result, Err(FeeClaimError::Zero));
        } else if amount > expected {
            prop_assert_eq!(result, Err(FeeClaimError::TooHigh { claimed: amount, fees: expected }));
        } else {
            prop_assert_eq!(result, Ok(amount));
        }
        // Anywhere but last, it is refused whatever it claims.
        if !payments.is_empty() {
            prop_assert_eq!(
                check_fee_claim(blknum, 0, count, &claim, fees),
                Err(FeeClaimError::NotLast { index: 0 })
            );
        }
        // The claim of another block, reused, is refused.
        let elsewhere = check_fee_claim(blknum + 1000, payments.len(), count, &claim, fees);
        let refused = matches!(elsewhere, Err(FeeClaimError::Zero | FeeClaimError::Metadata { .. }));
        prop_assert!(refused, "{:?}", elsewhere);
        prop_assert_ne!(claim.tx().metadata, B256::ZERO);
    }
}
