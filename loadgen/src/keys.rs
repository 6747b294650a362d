//! The generator's accounts and fast signing.
//!
//! Signing runs on libsecp256k1 (the `secp256k1` crate) rather than an alloy signer: the
//! generator signs millions of payments before a run, and libsecp256k1 signs several times
//! faster than the pure-Rust k256 behind alloy's local signer. The signatures are the same
//! deterministic (RFC 6979), low-s, `v ∈ {27, 28}` signatures any wallet makes.

use alloy::primitives::{Address, B256, keccak256};
use eyre::eyre;
use plasma_core::{Domain, SignedTransaction, Transaction, TxSignature};
use secp256k1::{Message, PublicKey, SECP256K1, SecretKey};

/// One key the generator controls.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Account {
    secret: SecretKey,
    /// Its Ethereum address.
    pub(crate) address: Address,
}

impl Account {
    /// The account with this 32-byte secret.
    pub(crate) fn from_secret(bytes: B256) -> eyre::Result<Self> {
        let secret =
            SecretKey::from_byte_array(bytes.0).map_err(|e| eyre!("not a secp256k1 key: {e}"))?;
        let public = PublicKey::from_secret_key_global(&secret).serialize_uncompressed();
        let address = Address::from_slice(&keccak256(&public[1..])[12..]);
        Ok(Self { secret, address })
    }

    /// Account number `index` of the generator: a fixed key derived from the index, so every
    /// run uses the same accounts.
    pub(crate) fn numbered(index: usize) -> eyre::Result<Self> {
        Self::from_secret(keccak256(format!("plasma-loadgen account {index}")))
    }

    /// Signs every input of `tx` (all inputs must be this account's).
    pub(crate) fn sign(&self, tx: Transaction, domain_separator: &B256) -> SignedTransaction {
        let digest = tx.signing_hash(domain_separator);
        let signature = self.sign_digest(&digest);
        let signatures = vec![signature; tx.inputs.len()];
        SignedTransaction::new(tx, signatures)
    }

    fn sign_digest(&self, digest: &B256) -> TxSignature {
        let signature =
            SECP256K1.sign_ecdsa_recoverable(Message::from_digest(digest.0), &self.secret);
        let (id, rs) = signature.serialize_compact();
        let mut bytes = [0u8; 65];
        bytes[..64].copy_from_slice(&rs);
        // The recovery id is 0 or 1 for every signature libsecp256k1 makes.
        bytes[64] = 27 + u8::from(i32::from(id) == 1);
        TxSignature(bytes)
    }
}

/// The EIP-712 domain separator the operator checks signatures under.
pub(crate) fn separator(chain_id: u64, root_chain: Address) -> B256 {
    Domain::new(chain_id, root_chain).separator()
}

#[cfg(test)]
mod tests {
    use alloy::primitives::U256;
    use alloy::signers::local::PrivateKeySigner;
    use plasma_core::{ETH, Output, UtxoPos};

    use super::*;

    #[test]
    fn signatures_equal_alloys_and_recover_to_the_address() {
        let secret = keccak256(b"loadgen test key");
        let account = Account::from_secret(secret).unwrap();
        let alloy_signer = PrivateKeySigner::from_bytes(&secret).unwrap();
        assert_eq!(account.address, alloy_signer.address());

        let domain = Domain::new(31337, Address::repeat_byte(0xcc));
        let tx = Transaction::payment(
            vec![UtxoPos::new(1000, 0, 0).unwrap()],
            vec![Output::new(Address::repeat_byte(1), ETH, U256::from(5))],
        );
        let ours = account.sign(tx.clone(), &domain.separator());
        let theirs = SignedTransaction::sign(tx.clone(), &domain, &alloy_signer).unwrap();
        // RFC 6979 makes both deterministic: the same key and digest give the same bytes.
        assert_eq!(ours.signatures(), theirs.signatures());
        let digest = tx.signing_hash(&domain.separator());
        assert_eq!(ours.signatures()[0].recover(&digest), Ok(account.address));
    }
}
