//! `validate` never panics on arbitrary transaction bytes, signatures and UTXO states.
#![no_main]

use std::collections::HashMap;

use alloy_primitives::{Address, B256, U256};
use libfuzzer_sys::fuzz_target;
use plasma_core::{
    Output, Rules, SignedTransaction, TxSignature, UtxoPos, UtxoState, UtxoView, validate,
};

struct View(HashMap<UtxoPos, UtxoState>);

impl UtxoView for View {
    type Error = std::convert::Infallible;

    fn utxo(&self, pos: UtxoPos) -> Result<UtxoState, Self::Error> {
        Ok(self.0.get(&pos).copied().unwrap_or(UtxoState::Unknown))
    }
}

fuzz_target!(|data: &[u8]| {
    // Layout of the input: [n signatures][n × 65 bytes][state seed bytes…][tx bytes…]
    let Some((&n, rest)) = data.split_first() else {
        return;
    };
    let n = usize::from(n % 6);
    if rest.len() < n * 65 + 4 {
        return;
    }
    let (sigs, rest) = rest.split_at(n * 65);
    let (seeds, tx_bytes) = rest.split_at(4);
    let signatures = sigs
        .chunks_exact(65)
        .map(|c| TxSignature::from_slice(c).expect("65 bytes"))
        .collect();
    let Ok(tx) = SignedTransaction::decode(tx_bytes, signatures) else {
        return;
    };
    let view = View(
        tx.tx()
            .inputs
            .iter()
            .zip(seeds)
            .map(|(pos, seed)| {
                let output = Output::new(
                    Address::repeat_byte(*seed),
                    if seed & 1 == 0 {
                        Address::ZERO
                    } else {
                        Address::repeat_byte(1)
                    },
                    U256::from(*seed) << (seed % 255),
                );
                let state = match seed % 4 {
                    0 => UtxoState::Unspent(output),
                    1 => UtxoState::Exiting(output),
                    2 => UtxoState::Spent,
                    _ => UtxoState::Unknown,
                };
                (*pos, state)
            })
            .collect(),
    );
    let rules = Rules {
        domain_separator: B256::repeat_byte(7),
        min_fee: U256::from(seeds[3]),
    };
    let _ = validate(&tx, &view, &rules);
});
