//! Rust and Solidity agree end to end, on a real anvil: the exit game driven with roots and
//! proofs from `plasma-merkle` and signatures from `plasma-core`; the contract's decoder and
//! EIP-712 digest against `plasma-core`'s on random transactions; gas from real receipts.

mod common;
mod differential;
mod events;
mod exit_game;
mod gas;
mod in_flight_gas;
