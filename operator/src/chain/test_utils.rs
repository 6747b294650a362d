//! The fixture of the chain's unit tests: a chain on the in-memory store, a signer, deposits
//! and payments.

use std::sync::Arc;

use alloy::primitives::{Address, U256};
use alloy::signers::local::PrivateKeySigner;
use plasma_core::{Deposit, Domain, ETH, Output, Rules, SignedTransaction, Transaction, UtxoPos};

use super::{Chain, L1Event};
use crate::metrics::Metrics;
use crate::store::{Db, MemoryStore};

pub(super) struct Fixture {
    pub(super) chain: Chain,
    pub(super) domain: Domain,
    pub(super) alice: PrivateKeySigner,
}

/// A second chain over the same store, as after a restart.
pub(super) fn reopen(chain: &Chain) -> Chain {
    Chain::open(
        chain.db().clone(),
        *chain.rules(),
        100,
        Arc::new(Metrics::default()),
    )
    .unwrap()
}

pub(super) fn fixture() -> Fixture {
    let domain = Domain::new(31337, Address::repeat_byte(0xcc));
    let rules = Rules {
        domain_separator: domain.separator(),
        min_fee: U256::from(10),
    };
    let db = Db::new(Arc::new(MemoryStore::new()));
    let chain = Chain::open(db, rules, 100, Arc::new(Metrics::default())).unwrap();
    Fixture {
        chain,
        domain,
        alice: PrivateKeySigner::random(),
    }
}

/// The transactions the store holds as pending.
pub(super) fn pending_stored(f: &Fixture) -> Vec<(u64, SignedTransaction)> {
    let db = f.chain.db();
    db.txs_from(db.pending_from().unwrap()).unwrap()
}

/// A deposit of `amount` wei to Alice, as deposit block `blknum`.
pub(super) fn deposit_of(f: &Fixture, blknum: u64, amount: u64) -> Deposit {
    Deposit {
        blknum,
        owner: f.alice.address(),
        token: ETH,
        amount: U256::from(amount),
    }
}

pub(super) fn deposit(f: &Fixture, blknum: u64, amount: u64) -> UtxoPos {
    let deposit = deposit_of(f, blknum, amount);
    f.chain
        .apply_l1_events(
            &[L1Event::Deposit {
                deposit,
                timestamp: 5,
            }],
            10,
        )
        .unwrap();
    deposit.utxo_pos().unwrap()
}

pub(super) fn pay(
    f: &Fixture,
    input: UtxoPos,
    amount: u64,
    fee: u64,
    to: Address,
) -> SignedTransaction {
    let tx = Transaction::payment(
        vec![input],
        vec![Output::new(to, ETH, U256::from(amount - fee))],
    );
    SignedTransaction::sign(tx, &f.domain, &f.alice).unwrap()
}
