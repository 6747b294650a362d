//! The API contract's own tests: the OpenAPI document against the types, and the typed client
//! against the fake operator.

mod binary;
mod client;
mod codes;
mod openapi;
