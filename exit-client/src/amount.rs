//! Amounts in human units: `0.5eth`, `250000gwei`, `1000wei`, or a token amount with the
//! token's decimals (`12.5` of a 6-decimal token is 12,500,000 base units).

use alloy::primitives::U256;

/// Why a text is not an amount.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    /// Nothing given.
    #[error("empty amount")]
    Empty,
    /// Not digits with at most one decimal point.
    #[error("'{0}' is not a number (use digits and at most one '.', e.g. 0.5eth)")]
    NotANumber(String),
    /// A unit this parser does not know.
    #[error("unknown unit '{0}': use eth, gwei or wei (tokens take a plain number)")]
    UnknownUnit(String),
    /// More decimals than the unit allows.
    #[error("'{text}' has {given} decimals, but the unit allows at most {max}")]
    TooManyDecimals {
        /// The amount as given.
        text: String,
        /// Decimals given.
        given: usize,
        /// Decimals allowed.
        max: u8,
    },
    /// Larger than 2^256 − 1 base units.
    #[error("'{0}' is too large")]
    Overflow(String),
    /// Zero, where a positive amount is needed.
    #[error("the amount must be greater than zero")]
    Zero,
}

/// Parses a positive ETH amount: `0.5eth`, `0.5 ether`, `250000gwei`, `1000wei`. A bare number
/// is ether (`0.5` = 0.5 ETH).
pub fn parse_eth(text: &str) -> Result<U256, AmountError> {
    let text = text.trim();
    let split = text
        .find(|c: char| c.is_ascii_alphabetic())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let decimals = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "eth" | "ether" => 18,
        "gwei" => 9,
        "wei" => 0,
        other => return Err(AmountError::UnknownUnit(other.to_owned())),
    };
    positive(parse_units(number.trim(), decimals)?)
}

/// Parses a positive token amount given with the token's `decimals`: `12.5` with 6 decimals is
/// 12,500,000 base units.
pub fn parse_token(text: &str, decimals: u8) -> Result<U256, AmountError> {
    positive(parse_units(text.trim(), decimals)?)
}

fn positive(value: U256) -> Result<U256, AmountError> {
    if value.is_zero() {
        Err(AmountError::Zero)
    } else {
        Ok(value)
    }
}

/// Parses `number` (digits, optionally one `.`) scaled by `10^decimals`.
pub fn parse_units(number: &str, decimals: u8) -> Result<U256, AmountError> {
    if number.is_empty() {
        return Err(AmountError::Empty);
    }
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if (whole.is_empty() && fraction.is_empty()) || !digits(whole) || !digits(fraction) {
        return Err(AmountError::NotANumber(number.to_owned()));
    }
    let fraction = fraction.trim_end_matches('0');
    if fraction.len() > usize::from(decimals) {
        return Err(AmountError::TooManyDecimals {
            text: number.to_owned(),
            given: fraction.len(),
            max: decimals,
        });
    }
    let scaled = format!(
        "{whole}{fraction}{zeros}",
        zeros = "0".repeat(usize::from(decimals) - fraction.len())
    );
    let scaled = scaled.trim_start_matches('0');
    if scaled.is_empty() {
        return Ok(U256::ZERO);
    }
    U256::from_str_radix(scaled, 10).map_err(|_| AmountError::Overflow(number.to_owned()))
}

/// Formats base units with `decimals`, without trailing zeros: `format_units(1.5e18, 18)` is
/// `1.5`.
pub fn format_units(value: U256, decimals: u8) -> String {
    let digits = value.to_string();
    let decimals = usize::from(decimals);
    if decimals == 0 {
        return digits;
    }
    let padded = format!("{digits:0>width$}", width = decimals + 1);
    let (whole, fraction) = padded.split_at(padded.len() - decimals);
    let fraction = fraction.trim_end_matches('0');
    if fraction.is_empty() {
        whole.to_owned()
    } else {
        format!("{whole}.{fraction}")
    }
}

/// Formats wei as ether: `0.59 ETH`.
pub fn format_eth(wei: U256) -> String {
    format!("{} ETH", format_units(wei, 18))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eth(s: &str) -> U256 {
        parse_eth(s).unwrap()
    }

    #[test]
    fn units() {
        assert_eq!(eth("0.5eth"), U256::from(5u64 * 10u64.pow(17)));
        assert_eq!(eth("0.5 ether"), eth("0.5"));
        assert_eq!(eth("250000gwei"), U256::from(250_000u64 * 10u64.pow(9)));
        assert_eq!(eth("1000wei"), U256::from(1000));
        assert_eq!(
            eth("1.000000000000000001ETH"),
            U256::from(10u64.pow(18) + 1)
        );
        assert_eq!(eth(".5"), eth("0.5"));
        assert_eq!(eth("2."), eth("2"));
        assert_eq!(parse_token("12.5", 6).unwrap(), U256::from(12_500_000));
        assert_eq!(parse_token("12.50000", 6).unwrap(), U256::from(12_500_000));
    }

    #[test]
    fn bad_amounts() {
        assert_eq!(
            parse_eth("0.0000000000000000001eth"),
            Err(AmountError::TooManyDecimals {
                text: "0.0000000000000000001".into(),
                given: 19,
                max: 18
            })
        );
        assert!(matches!(
            parse_eth("1.5wei"),
            Err(AmountError::TooManyDecimals { .. })
        ));
        assert!(matches!(
            parse_token("0.1234567", 6),
            Err(AmountError::TooManyDecimals { .. })
        ));
        assert_eq!(
            parse_eth("5btc"),
            Err(AmountError::UnknownUnit("btc".into()))
        );
        assert_eq!(parse_eth("eth"), Err(AmountError::Empty));
        assert_eq!(
            parse_eth("-1eth"),
            Err(AmountError::NotANumber("-1".into()))
        );
        assert_eq!(
            parse_eth("1.2.3"),
            Err(AmountError::NotANumber("1.2.3".into()))
        );
        assert_eq!(parse_eth("."), Err(AmountError::NotANumber(".".into())));
        assert_eq!(parse_eth("0eth"), Err(AmountError::Zero));
        assert_eq!(
            parse_eth("0x10"),
            Err(AmountError::UnknownUnit("x10".into()))
        );
        let huge = format!("1{}", "0".repeat(80));
        assert_eq!(
            parse_units(&huge, 0),
            Err(AmountError::Overflow(huge.clone()))
        );
    }

    #[test]
    fn formatting_round_trips() {
        for (value, decimals, text) in [
            (U256::from(15u64 * 10u64.pow(17)), 18, "1.5"),
            (U256::from(1), 18, "0.000000000000000001"),
            (U256::ZERO, 18, "0"),
            (U256::from(12_500_000), 6, "12.5"),
            (U256::from(7), 0, "7"),
        ] {
            assert_eq!(format_units(value, decimals), text);
            assert_eq!(parse_units(text, decimals).unwrap(), value);
        }
        assert_eq!(format_eth(U256::from(59u64 * 10u64.pow(16))), "0.59 ETH");
    }
}
