//! # plasma-core
//!
//! The protocol of the plasma child chain, once, for every other crate: the operator, the
//! client, the watcher and the contract bindings all build on these types and rules. Pure: no
//! I/O, no async.
//!
//! ## What it owns
//! * [`UtxoPos`] — `blknum · 10^9 + txIndex · 10^4 + outputIndex`, always well formed.
//! * [`Transaction`] and [`Output`] — the payment transaction (≤ 4 inputs, ≤ 4 outputs), its
//!   canonical encoding `abi.encode(transaction)` ([`encoding`]) and hash.
//! * [`eip712`] — the typed-data domain and hash every input owner signs, and export as
//!   `eth_signTypedData_v4` JSON so any wallet can sign.
//! * [`TxSignature`] — 65-byte signatures, signed with any alloy signer, recovered with
//!   libsecp256k1 under the same rules as OpenZeppelin's `ECDSA` on L1.
//! * [`SignedTransaction`], [`Block`], [`Deposit`] — what the chain carries.
//! * [`validate`] — the validity rules as one pure function over a [`UtxoView`], returning a
//!   [`ValidationError`] that names the input or output and the reason; [`fee`] the fee rule.
//! * [`fee_claim`] — the operator's claim of a block's fees, and the block rule that bounds it.
//! * [`transition`] — what a block does to the UTXO set: the outputs it creates and the inputs
//!   it spends (deposits included), for everyone who replays blocks.
//! * [`exit`] — exit timing and priority as the contract computes them.
//! * [`decimal`] — amounts as decimal strings in JSON (they exceed 2^53).
//!
//! ## Example
//! ```
//! use std::collections::HashMap;
//!
//! use alloy_primitives::{Address, U256};
//! use alloy_signer_local::PrivateKeySigner;
//! use plasma_core::{
//!     Domain, Output, Rules, SignedTransaction, Transaction, UtxoPos, validate, ETH,
//! };
//!
//! let alice = PrivateKeySigner::random();
//! let bob = Address::repeat_byte(0xb0);
//! let domain = Domain::new(31337, Address::repeat_byte(0xcc));
//!
//! // Alice owns 1 ETH (in wei) at block 1000, tx 0, output 0.
//! let coin = UtxoPos::new(1000, 0, 0)?;
//! let utxos = HashMap::from([(coin, Output::new(alice.address(), ETH, U256::from(10u64.pow(18))))]);
//!
//! // She pays Bob 0.4 ETH, keeps 0.59 ETH as change, and pays 0.01 ETH in fees.
//! let tx = Transaction::payment(vec![coin], vec![
//!     Output::new(bob, ETH, U256::from(4 * 10u64.pow(17))),
//!     Output::new(alice.address(), ETH, U256::from(59 * 10u64.pow(16))),
//! ]);
//! let signed = SignedTransaction::sign(tx, &domain, &alice)?;
//!
//! let rules = Rules { domain_separator: domain.separator(), min_fee: U256::from(1_000) };
//! let valid = validate(&signed, &utxos, &rules)?;
//! assert_eq!(valid.fee, U256::from(10u64.pow(16)));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod block;
pub mod decimal;
pub mod deposit;
pub mod eip712;
pub mod encoding;
pub mod exit;
pub mod fee_claim;
pub mod signature;
pub mod signed;
pub mod transaction;
pub mod transition;
pub mod utxo;
pub mod validation;

pub use block::{Block, CHILD_BLOCK_INTERVAL, is_deposit_block};
pub use deposit::Deposit;
pub use eip712::Domain;
pub use encoding::DecodeError;
pub use fee_claim::{BlockFees, FeeClaimError, check_fee_claim, fee_claim, is_fee_claim};
pub use signature::{SignatureError, TxSignature};
pub use signed::SignedTransaction;
pub use transaction::{ETH, FormError, MAX_INPUTS, MAX_OUTPUTS, Output, Transaction};
pub use utxo::{UtxoPos, UtxoPosError};
pub use validation::{
    CheckError, InputError, OutputError, Rules, UtxoState, UtxoView, Validated, ValidationError,
    fee, recover_signers, recover_signers_each, validate, validate_recovered,
};
