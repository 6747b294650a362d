//! Addresses as people type and paste them: `0x` and 40 hex digits, in one case or with a
//! valid EIP-55 checksum. A mixed-case address whose checksum does not match was mistyped
//! somewhere (the checksum exists to catch exactly that), so it is refused, not read.

use alloy::primitives::Address;

/// Why a text is not an address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    /// Not `0x` followed by 40 hex digits.
    #[error("'{0}' is not an address: use 0x followed by 40 hex digits")]
    Malformed(String),
    /// Mixed case, but not the EIP-55 checksum of these digits.
    #[error(
        "'{0}' has upper- and lower-case letters that are not its EIP-55 checksum: a digit was probably mistyped; check it against the source (all lower case skips the check)"
    )]
    BadChecksum(String),
}

/// Reads `text` (surrounding spaces ignored) as an address. All lower or all upper case is
/// taken as it is; mixed case must be the address's EIP-55 checksum.
pub fn parse_address(text: &str) -> Result<Address, AddressError> {
    let trimmed = text.trim();
    let digits = trimmed
        .strip_prefix("0x")
        .filter(|d| d.len() == 40 && d.bytes().all(|b| b.is_ascii_hexdigit()))
        .ok_or_else(|| AddressError::Malformed(trimmed.to_owned()))?;
    let address: Address = trimmed
        .parse()
        .map_err(|_| AddressError::Malformed(trimmed.to_owned()))?;
    let lower = digits.bytes().any(|b| b.is_ascii_lowercase());
    let upper = digits.bytes().any(|b| b.is_ascii_uppercase());
    if lower && upper && address.to_checksum(None) != trimmed {
        return Err(AddressError::BadChecksum(trimmed.to_owned()));
    }
    Ok(address)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    // EIP-55's own test vectors.
    const CHECKSUMMED: [&str; 4] = [
        "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
        "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
        "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
        "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
    ];

    #[test]
    fn checksummed_and_single_case_addresses_are_read() {
        for text in CHECKSUMMED {
            let address = parse_address(text).unwrap();
            assert_eq!(address.to_checksum(None), text);
            assert_eq!(parse_address(&text.to_lowercase()), Ok(address));
            let upper = format!("0x{}", text[2..].to_uppercase());
            assert_eq!(parse_address(&upper), Ok(address));
            assert_eq!(parse_address(&format!("  {text}\n")), Ok(address));
        }
    }

    #[test]
    fn a_mistyped_checksum_is_refused() {
        // One letter's case flipped: the digits are the same, the checksum no longer is.
        let text = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD";
        assert_eq!(
            parse_address(text),
            Err(AddressError::BadChecksum(text.to_owned()))
        );
    }

    #[test]
    fn malformed_texts_are_refused() {
        for text in [
            "",
            "0x",
            "5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
            "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAe",
            "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed00",
            "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeg",
            "0X5aaeb6053f3e94c9b9a09f33669435e7ef1beaed",
        ] {
            assert!(
                matches!(parse_address(text), Err(AddressError::Malformed(_))),
                "{text:?}"
            );
        }
    }

    proptest! {
        /// Any address reads back from its checksummed, lower- and upper-case forms; flipping
        /// the case of one letter of the checksummed form is always caught (EIP-55 ties every
        /// letter's case to the hash).
        #[test]
        fn every_form_of_an_address_reads_and_a_flipped_letter_does_not(
            bytes in any::<[u8; 20]>(),
            pick in any::<usize>(),
        ) {
            let address = Address::from(bytes);
            let checksummed = address.to_checksum(None);
            prop_assert_eq!(parse_address(&checksummed), Ok(address));
            prop_assert_eq!(parse_address(&checksummed.to_lowercase()), Ok(address));
            let letters: Vec<usize> = checksummed
                .char_indices()
                .skip(2)
                .filter(|(_, c)| c.is_ascii_alphabetic())
                .map(|(i, _)| i)
                .collect();
            if let Some(&at) = letters.get(pick % letters.len().max(1)) {
                let mut flipped: Vec<u8> = checksummed.clone().into_bytes();
                flipped[at] ^= 0x20;
                let flipped = String::from_utf8(flipped).unwrap();
                let single_case = flipped[2..].bytes().all(|b| !b.is_ascii_lowercase())
                    || flipped[2..].bytes().all(|b| !b.is_ascii_uppercase());
                if !single_case {
                    prop_assert!(matches!(parse_address(&flipped), Err(AddressError::BadChecksum(_))));
                }
            }
        }
    }
}
