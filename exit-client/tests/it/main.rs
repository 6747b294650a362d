//! Integration tests of `plasma-client` on a real anvil: sync and verification against L1
//! (with a byzantine block server where the operator must lie), exits from the local store
//! alone, and the `plasma` binary's handling of bad input.

mod cli;
mod exits;
mod sync;
