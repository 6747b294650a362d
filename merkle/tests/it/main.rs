//! Integration tests of `plasma-merkle`: properties against a naive reference, and the shared
//! test-vector file that the Solidity tests load too.

mod properties;
mod reference;
mod vectors;
