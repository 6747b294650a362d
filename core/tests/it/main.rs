//! Integration tests of `plasma-core`: encoding against alloy's ABI encoder, EIP-712 against
//! alloy and against `cast`, the validity rules, and the worked example in `docs/PROTOCOL.md`.

mod common;
mod eip712;
mod encoding;
mod fee_claim;
mod interop_cast;
mod protocol_doc;
mod validation;
