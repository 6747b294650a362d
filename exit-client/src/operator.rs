//! The operator's `/v1` API, through `plasma-api`'s typed client. The operator is not trusted:
//! whatever it serves is checked against L1 by [`crate::sync`].

pub use plasma_api::{
    ApiClient as OperatorClient, ClientError as OperatorError, SubmitResult as Submitted,
};
