//! # plasma-client
//!
//! What a user needs to hold the operator to account: a wallet of encrypted keystores
//! ([`wallet`]), a typed client of the operator API ([`operator`]), the root contract on L1
//! ([`l1`]), and a local store ([`store`]) in which [`sync`] keeps the chain it verified —
//! every block's data checked against the root on L1 and every transaction re-checked with
//! `plasma-core`'s rules — and, for each of the user's coins, the exit data saved the moment the
//! coin arrived. With that store alone, a coin can exit even when the operator is gone.
//! The [`watch`]er runs the same verification continuously, checks every exit on L1, and
//! raises (and acts on) the events of a misbehaving operator or user.
//!
//! [`payment`] builds payments from the user's coins and waits until a sent one is verified;
//! [`history`] lists a key's payments from the verified data;
//! [`tokens`] shows amounts in the units people type, and [`amount`] and [`address`] read what
//! they type.
//!
//! The `plasma` binary is the command-line face of this library: one file per command in
//! `src/cli/cmd/`, with its settings and output layer beside them.

pub mod address;
pub mod amount;
pub mod history;
pub mod in_flight;
pub mod l1;
pub mod operator;
pub mod payment;
pub mod store;
pub mod sync;
pub mod tokens;
pub mod wallet;
pub mod watch;
