//! One module per command: its arguments and what it does.

pub(crate) mod balance;
pub(crate) mod challenge;
pub(crate) mod deposit;
pub(crate) mod exit;
pub(crate) mod exits;
pub(crate) mod history;
pub(crate) mod merge;
pub(crate) mod process_exits;
pub(crate) mod send;
pub(crate) mod status;
pub(crate) mod sync;
pub(crate) mod utxos;
pub(crate) mod wallet;
pub(crate) mod watch;
pub(crate) mod withdraw;
