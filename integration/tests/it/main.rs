//! End-to-end scenarios: real anvil, the real operator binary, the real `plasma` CLI and
//! watcher, and a byzantine operator.

mod client;
mod dashboard;
mod devnet;
mod explorer;
mod fees;
mod hardening;
mod in_flight;
mod in_flight_challenges;
mod loadgen;
mod reorg;
mod storage;
mod watcher;
