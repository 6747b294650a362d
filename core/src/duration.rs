//! Human durations in settings (`500ms`, `2s`, `5m`, `1h`), shared by the operator's and the
//! client's command lines and config files.

use std::time::Duration;

/// Why a duration did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    /// No leading number.
    #[error("`{0}` is not a duration like 500ms, 2s, 5m or 1h")]
    NotANumber(String),
    /// A unit other than ms, s, m, h.
    #[error("unknown duration unit `{0}` (use ms, s, m or h)")]
    Unit(String),
    /// Zero, or too large to represent.
    #[error("`{0}` is not a positive duration of sensible size")]
    OutOfRange(String),
}

/// Parses `500ms`, `2s`, `5m`, `1h`, or a bare number of seconds. Zero is refused.
pub fn parse_duration(text: &str) -> Result<Duration, DurationError> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let n: u64 = digits
        .parse()
        .map_err(|_| DurationError::NotANumber(text.to_owned()))?;
    let seconds_per = match unit.trim() {
        "ms" => return positive(Duration::from_millis(n), text),
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        other => return Err(DurationError::Unit(other.to_owned())),
    };
    let seconds = n
        .checked_mul(seconds_per)
        .ok_or_else(|| DurationError::OutOfRange(text.to_owned()))?;
    positive(Duration::from_secs(seconds), text)
}

fn positive(duration: Duration, text: &str) -> Result<Duration, DurationError> {
    if duration.is_zero() {
        Err(DurationError::OutOfRange(text.to_owned()))
    } else {
        Ok(duration)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_and_errors() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration(" 2s "), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("7"), Ok(Duration::from_secs(7)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert!(matches!(
            parse_duration("0s"),
            Err(DurationError::OutOfRange(_))
        ));
        assert!(matches!(parse_duration("2d"), Err(DurationError::Unit(_))));
        assert!(matches!(
            parse_duration("s"),
            Err(DurationError::NotANumber(_))
        ));
        assert!(matches!(
            parse_duration(&format!("{}h", u64::MAX)),
            Err(DurationError::OutOfRange(_))
        ));
    }
}
