//! Tokens as people know them: a symbol and decimals, read from the token's ERC-20 metadata on
//! L1, so amounts are shown in the units they are typed in (`12.5 TKN`, not
//! `12500000000000000000 0x700b…`).

use std::collections::HashMap;

use alloy::primitives::{Address, U256};
use plasma_contracts::IERC20;
use plasma_core::ETH;

use crate::amount::format_units;
use crate::l1::{L1, L1Error};

/// A token's display metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// Its address (the zero address for ether).
    pub address: Address,
    /// Its symbol (`ETH` for ether).
    pub symbol: String,
    /// Its decimals (18 for ether).
    pub decimals: u8,
}

impl Token {
    /// Ether.
    pub fn eth() -> Self {
        Self {
            address: ETH,
            symbol: "ETH".to_owned(),
            decimals: 18,
        }
    }

    /// A token whose metadata could not be read: amounts in base units, named by address.
    pub fn unknown(address: Address) -> Self {
        Self {
            address,
            symbol: address.to_string(),
            decimals: 0,
        }
    }

    /// Reads `address`'s `symbol()` and `decimals()` on L1.
    pub async fn read(l1: &L1, address: Address) -> Result<Self, L1Error> {
        if address == ETH {
            return Ok(Self::eth());
        }
        let token = IERC20::new(address, l1.provider());
        let failed = |action: &'static str| {
            move |e: alloy::contract::Error| L1Error::Contract {
                action,
                message: e.to_string(),
            }
        };
        let decimals = token.decimals().call().await.map_err(failed("decimals"))?;
        let symbol = token.symbol().call().await.map_err(failed("symbol"))?;
        Ok(Self {
            address,
            symbol,
            decimals,
        })
    }

    /// `amount` base units in this token's units with its symbol: `12.5 TKN`.
    pub fn format(&self, amount: U256) -> String {
        format!("{} {}", format_units(amount, self.decimals), self.symbol)
    }
}

/// Token metadata read once per token.
#[derive(Debug, Default)]
pub struct Tokens {
    known: HashMap<Address, Token>,
}

impl Tokens {
    /// Reads the metadata of every token of `addresses` not read yet (ether needs no call; a
    /// token whose metadata cannot be read shows base units and its address).
    pub async fn load(&mut self, l1: &L1, addresses: impl IntoIterator<Item = Address>) {
        for address in addresses {
            if let std::collections::hash_map::Entry::Vacant(entry) = self.known.entry(address) {
                let token = match Token::read(l1, address).await {
                    Ok(token) => token,
                    Err(error) => {
                        tracing::warn!(target: "plasma::tokens", %address, %error, "cannot read the token's symbol and decimals; showing base units");
                        Token::unknown(address)
                    }
                };
                entry.insert(token);
            }
        }
    }

    /// The metadata of a token already loaded, else the base-unit fallback.
    pub fn known(&self, address: Address) -> Token {
        self.known.get(&address).cloned().unwrap_or_else(|| {
            if address == ETH {
                Token::eth()
            } else {
                Token::unknown(address)
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_show_in_token_units() {
        assert_eq!(
            Token::eth().format(U256::from(15) * U256::from(10).pow(U256::from(17))),
            "1.5 ETH"
        );
        let token = Token {
            address: Address::repeat_byte(0x70),
            symbol: "TKN".to_owned(),
            decimals: 18,
        };
        assert_eq!(
            token.format(U256::from(125) * U256::from(10).pow(U256::from(17))),
            "12.5 TKN"
        );
        let unknown = Token::unknown(Address::repeat_byte(0x70));
        assert_eq!(
            unknown.format(U256::from(7)),
            format!("7 {}", Address::repeat_byte(0x70))
        );
    }
}
