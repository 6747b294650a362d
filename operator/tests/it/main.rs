//! Integration tests of the operator on a real anvil with the real HTTP API and a real RocksDB
//! in a temporary directory.

mod api;
mod common;
mod crash;
mod l1;
mod metrics;
