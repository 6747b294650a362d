//! The error codes of the API: every `{"error": {"code": ...}}` the operator emits, as one
//! enum that the server writes and clients match on.
//!
//! The codes of the protocol's own errors (a transaction that does not decode or breaks a rule)
//! are derived from `plasma-core`'s error types by exhaustive matches, so a new rule cannot
//! reach the wire without a code.

use core::fmt;
use core::str::FromStr;

use plasma_core::{DecodeError, FormError, InputError, ValidationError};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

macro_rules! error_codes {
    ($($(#[doc = $doc:literal])* $variant:ident = $code:literal,)+) => {
        /// A stable machine-readable error code, written on the wire as its snake-case name.
        ///
        /// Codes this version does not know (from a newer operator, or a proxy) read as
        /// [`ErrorCode::Other`] with the text kept.
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum ErrorCode {
            $($(#[doc = $doc])* $variant,)+
            /// A code this version does not know.
            Other(String),
        }

        impl ErrorCode {
            /// Every code this version knows, in the order of the OpenAPI document.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)+];

            /// The code as written on the wire.
            pub fn as_str(&self) -> &str {
                match self {
                    Self::Other(code) => code,
                    known => known.label(),
                }
            }

            /// The code as a label from a fixed set (for metrics): `other` for an unknown code.
            pub fn label(&self) -> &'static str {
                match self {
                    $(Self::$variant => $code,)+
                    Self::Other(_) => "other",
                }
            }
        }

        impl FromStr for ErrorCode {
            type Err = core::convert::Infallible;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Ok(match s {
                    $($code => Self::$variant,)+
                    other => Self::Other(other.to_owned()),
                })
            }
        }
    };
}

error_codes! {
    /// The body is not JSON (or not UTF-8).
    MalformedJson = "malformed_json",
    /// JSON of the wrong shape for the request.
    InvalidRequest = "invalid_request",
    /// A byte string that is not `0x`-prefixed hex.
    MalformedHex = "malformed_hex",
    /// A batch that is empty or longer than the limit.
    InvalidBatch = "invalid_batch",
    /// A binary body that does not frame: it ends inside a field, or bytes follow its end.
    MalformedBinary = "malformed_binary",
    /// Transaction bytes that are not the one canonical encoding.
    NonCanonicalEncoding = "non_canonical_encoding",
    /// An unknown transaction or output type.
    UnknownType = "unknown_type",
    /// An input that is not a well-formed UTXO position.
    MalformedUtxoPos = "malformed_utxo_pos",
    /// More than 4 inputs.
    TooManyInputs = "too_many_inputs",
    /// No outputs.
    NoOutputs = "no_outputs",
    /// More than 4 outputs.
    TooManyOutputs = "too_many_outputs",
    /// A malformed signature, or one that recovers to no key.
    BadSignature = "bad_signature",
    /// A transaction without inputs (only deposits create coins).
    NoInputs = "no_inputs",
    /// Not one signature per input.
    SignatureCount = "signature_count",
    /// An input that does not exist.
    InputUnknown = "input_unknown",
    /// An input already spent.
    InputSpent = "input_spent",
    /// An input with an exit in progress on L1.
    InputExiting = "input_exiting",
    /// An input spent twice in one transaction.
    InputDuplicate = "input_duplicate",
    /// A valid signature, but not by the input's owner.
    WrongSigner = "wrong_signer",
    /// An output of amount zero.
    ZeroAmount = "zero_amount",
    /// Amounts of a token that overflow when summed.
    AmountOverflow = "amount_overflow",
    /// Outputs of a token exceeding its inputs.
    InsufficientInputs = "insufficient_inputs",
    /// A token other than ETH whose inputs exceed its outputs.
    UnbalancedToken = "unbalanced_token",
    /// A fee below the operator's minimum.
    FeeTooLow = "fee_too_low",
    /// An input already spent by a pending transaction.
    DoubleSpend = "double_spend",
    /// A transaction already pending or included, re-posted with other signatures.
    KnownWithOtherSignatures = "known_with_other_signatures",
    /// The mempool is full: retry later.
    MempoolFull = "mempool_full",
    /// The operator's store cannot write now (e.g. its disk is full): nothing was accepted;
    /// retry later.
    StoreUnavailable = "store_unavailable",
    /// Sending and answering the request took longer than the operator allows.
    RequestTimeout = "request_timeout",
    /// A block number that is not a decimal integer.
    InvalidBlknum = "invalid_blknum",
    /// A hash that is not 0x and 64 hex digits.
    InvalidHash = "invalid_hash",
    /// An address that is not 0x and 40 hex digits.
    InvalidAddress = "invalid_address",
    /// A UTXO position that is not well formed.
    InvalidUtxoPos = "invalid_utxo_pos",
    /// A bad query parameter.
    InvalidQuery = "invalid_query",
    /// No such block.
    BlockNotFound = "block_not_found",
    /// No such transaction.
    TxNotFound = "tx_not_found",
    /// No such output.
    UtxoNotFound = "utxo_not_found",
    /// No such route.
    NotFound = "not_found",
    /// The method is not allowed on this route.
    MethodNotAllowed = "method_not_allowed",
    /// A request without a Content-Length.
    LengthRequired = "length_required",
    /// A body above the limit.
    BodyTooLarge = "body_too_large",
    /// Another malformed request.
    BadRequest = "bad_request",
    /// The operator failed (its store); nothing was changed.
    Internal = "internal",
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ErrorCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ErrorCode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        let Ok(code) = s.parse();
        Ok(code)
    }
}

impl From<&FormError> for ErrorCode {
    fn from(e: &FormError) -> Self {
        match e {
            FormError::TooManyInputs(_) => Self::TooManyInputs,
            FormError::NoOutputs => Self::NoOutputs,
            FormError::TooManyOutputs(_) => Self::TooManyOutputs,
        }
    }
}

impl From<&DecodeError> for ErrorCode {
    fn from(e: &DecodeError) -> Self {
        match e {
            DecodeError::TooManyInputs(_) => Self::TooManyInputs,
            DecodeError::NoOutputs => Self::NoOutputs,
            DecodeError::TooManyOutputs(_) => Self::TooManyOutputs,
            DecodeError::TxType(_) | DecodeError::OutputType { .. } => Self::UnknownType,
            DecodeError::Input { .. } => Self::MalformedUtxoPos,
            DecodeError::Truncated { .. }
            | DecodeError::Layout { .. }
            | DecodeError::Length { .. }
            | DecodeError::DirtyAddress { .. } => Self::NonCanonicalEncoding,
        }
    }
}

impl From<&ValidationError> for ErrorCode {
    fn from(e: &ValidationError) -> Self {
        match e {
            ValidationError::Form(form) => form.into(),
            ValidationError::NoInputs => Self::NoInputs,
            ValidationError::SignatureCount { .. } => Self::SignatureCount,
            ValidationError::Input { reason, .. } => match reason {
                InputError::Unknown => Self::InputUnknown,
                InputError::Spent => Self::InputSpent,
                InputError::Exiting => Self::InputExiting,
                InputError::Duplicate { .. } => Self::InputDuplicate,
                InputError::Signature(_) => Self::BadSignature,
                InputError::WrongSigner { .. } => Self::WrongSigner,
            },
            ValidationError::Output { .. } => Self::ZeroAmount,
            ValidationError::Overflow { .. } => Self::AmountOverflow,
            ValidationError::InsufficientInputs { .. } => Self::InsufficientInputs,
            ValidationError::UnbalancedToken { .. } => Self::UnbalancedToken,
            ValidationError::FeeTooLow { .. } => Self::FeeTooLow,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_unknown_ones_are_kept() {
        for code in ErrorCode::ALL {
            let json = serde_json::to_string(code).unwrap();
            assert_eq!(&serde_json::from_str::<ErrorCode>(&json).unwrap(), code);
        }
        let unknown: ErrorCode = serde_json::from_str("\"rate_limited\"").unwrap();
        assert_eq!(unknown, ErrorCode::Other("rate_limited".into()));
        assert_eq!(unknown.as_str(), "rate_limited");
        // Every way bytes can be non-canonical has the one code (moved from core's tests).
        let longer = DecodeError::Length {
            inputs: 2,
            outputs: 2,
            expected: 448,
            got: 480,
        };
        assert_eq!(ErrorCode::from(&longer), ErrorCode::NonCanonicalEncoding);
        let mut names: Vec<&str> = ErrorCode::ALL.iter().map(ErrorCode::as_str).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), ErrorCode::ALL.len(), "a code is listed twice");
    }
}
