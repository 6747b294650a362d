//! The decoder never panics, and whatever it accepts re-encodes to the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use plasma_core::Transaction;

fuzz_target!(|data: &[u8]| {
    if let Ok(tx) = Transaction::decode(data) {
        assert_eq!(
            &tx.encode()[..],
            data,
            "decoder accepted a non-canonical encoding"
        );
    }
});
