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
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(serde::de::Error::custom(
            "amount must be a decimal string of digits",
        ));
    }
    U256::from_str_radix(&s, 10).map_err(serde::de::Error::custom)
}

#[cfg(test)]
mod tests {
    use alloy_primitives::{Address, U256};

    use crate::Output;

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
