//! Serde for `U256` as a decimal string (alloy's default is hex): how every amount of the
//! protocol is written in JSON, since amounts exceed 2^53, where JSON numbers lose precision.
//! [`UtxoPos`](crate::UtxoPos) serializes the same way.
//!
//! Use it as `#[serde(with = "plasma_core::decimal")]` on a `U256` field.

use alloy_primitives::U256;
use serde::{Deserialize, Deserializer, Serializer};

/// Writes `value` as a decimal string.
pub fn serialize<S: Serializer>(value: &U256, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(value)
}

/// Reads a decimal string (digits only: no sign, no hex, no exponent).
pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<U256, D::Error> {
    let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
    parse(&s)
}

fn parse<E: serde::de::Error>(s: &str) -> Result<U256, E> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(E::custom("amount must be a decimal string of digits"));
    }
    U256::from_str_radix(s, 10).map_err(E::custom)
}

/// The same for an `Option<U256>`, absent as `null`: `#[serde(with =
/// "plasma_core::decimal::option")]`.
pub mod option {
    use alloy_primitives::U256;
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes `value` as a decimal string, or `null`.
    pub fn serialize<S: Serializer>(
        value: &Option<U256>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match value {
            Some(value) => super::serialize(value, serializer),
            None => serializer.serialize_none(),
        }
    }

    /// Reads a decimal string, or `null`.
    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<U256>, D::Error> {
        <Option<std::borrow::Cow<'de, str>>>::deserialize(deserializer)?
            .map(|s| super::parse(&s))
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use alloy_primitives::{Address, U256};
    use serde::{Deserialize, Serialize};

    use crate::Output;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Maybe(#[serde(with = "super::option")] Option<U256>);

    #[test]
    fn optional_amounts_are_decimal_strings_or_null() {
        for value in [None, Some(U256::ZERO), Some(U256::MAX)] {
            let json = serde_json::to_value(Maybe(value)).unwrap();
            match value {
                Some(v) => assert_eq!(json, v.to_string()),
                None => assert!(json.is_null()),
            }
            assert_eq!(serde_json::from_value::<Maybe>(json).unwrap(), Maybe(value));
        }
        for bad in ["\"0x10\"", "\"\"", "12"] {
            assert!(serde_json::from_str::<Maybe>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn amounts_are_decimal_strings() {
        let output = Output::new(Address::repeat_byte(2), Address::ZERO, U256::MAX);
        let json = serde_json::to_value(output).unwrap();
        assert_eq!(json["amount"], U256::MAX.to_string());
        assert_eq!(serde_json::from_value::<Output>(json).unwrap(), output);
        for bad in ["\"0x10\"", "\"-1\"", "\"\"", "\"1e3\"", "12"] {
            let text = format!(
                r#"{{"owner":"{}","token":"{}","amount":{bad}}}"#,
                Address::ZERO,
                Address::ZERO
            );
            assert!(serde_json::from_str::<Output>(&text).is_err(), "{bad}");
        }
    }
}
