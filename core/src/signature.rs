//! Transaction signatures: 65 bytes `r ‖ s ‖ v` over the EIP-712 signing hash, one per input.
//!
//! Accepted exactly as OpenZeppelin's `ECDSA.recover` accepts them on L1: `v` is 27 or 28, `s` is
//! in the lower half of the curve order (no malleable twin), and the signature recovers to a
//! key. Recovery runs on libsecp256k1, about five times faster than the pure-Rust `k256`.

use core::fmt;
use core::str::FromStr;

use alloy_primitives::{Address, B256, U256, hex, keccak256};
use alloy_signer::SignerSync;
use secp256k1::SECP256K1;
use secp256k1::ecdsa::{RecoverableSignature, RecoveryId};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Length of a signature in bytes.
pub const SIGNATURE_LEN: usize = 65;

/// Half the secp256k1 curve order: the largest `s` a signature may carry.
const HALF_ORDER: U256 = U256::from_be_bytes([
    0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0x5d, 0x57, 0x6e, 0x73, 0x57, 0xa4, 0x50, 0x1d, 0xdf, 0xe9, 0x2f, 0x46, 0x68, 0x1b, 0x20, 0xa0,
]);

/// Why a signature cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// Not 65 bytes.
    #[error("a signature is 65 bytes (r, s, v), got {0}")]
    Length(usize),
    /// `v` is not 27 or 28.
    #[error("signature v must be 27 or 28, got {0}")]
    V(u8),
    /// `s` in the upper half of the curve order: the malleable twin of a valid signature.
    #[error("signature s is in the upper half of the curve order (malleable); use the low-s form")]
    HighS,
    /// No public key recovers from it.
    #[error("signature does not recover to any key")]
    Unrecoverable,
    /// Not hex.
    #[error("signature is not 0x-prefixed hex")]
    Hex,
}

/// A 65-byte transaction signature, `r ‖ s ‖ v`.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TxSignature(pub [u8; SIGNATURE_LEN]);

impl TxSignature {
    /// Reads a signature of exactly 65 bytes. Its validity is checked on [`recover`](Self::recover).
    pub fn from_slice(bytes: &[u8]) -> Result<Self, SignatureError> {
        bytes
            .try_into()
            .map(Self)
            .map_err(|_| SignatureError::Length(bytes.len()))
    }

    /// Signs `digest` with `signer` (any alloy signer: a local key, a keystore, a hardware
    /// wallet). The result is in the canonical form [`recover`](Self::recover) accepts.
    pub fn sign<S>(signer: &S, digest: &B256) -> alloy_signer::Result<Self>
    where
        S: SignerSync + ?Sized,
    {
        let signature = signer.sign_hash_sync(digest)?;
        Ok(Self(signature.as_bytes()))
    }

    /// The bytes.
    pub fn as_bytes(&self) -> &[u8; SIGNATURE_LEN] {
        &self.0
    }

    /// The address whose key made this signature over `digest`.
    pub fn recover(&self, digest: &B256) -> Result<Address, SignatureError> {
        let (rs, v) = self.0.split_at(64);
        let v = v.first().copied().unwrap_or_default();
        let id = match v {
            27 => RecoveryId::Zero,
            28 => RecoveryId::One,
            other => return Err(SignatureError::V(other)),
        };
        let s = U256::from_be_slice(rs.get(32..).unwrap_or_default());
        if s > HALF_ORDER {
            return Err(SignatureError::HighS);
        }
        let signature = RecoverableSignature::from_compact(rs, id)
            .map_err(|_| SignatureError::Unrecoverable)?;
        let message = secp256k1::Message::from_digest(digest.0);
        let key = SECP256K1
            .recover_ecdsa(message, &signature)
            .map_err(|_| SignatureError::Unrecoverable)?;
        let uncompressed = key.serialize_uncompressed();
        let hash = keccak256(uncompressed.get(1..).unwrap_or_default());
        Ok(Address::from_slice(hash.get(12..).unwrap_or_default()))
    }
}

impl fmt::Debug for TxSignature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TxSignature({self})")
    }
}

impl fmt::Display for TxSignature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode_prefixed(self.0))
    }
}

impl FromStr for TxSignature {
    type Err = SignatureError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let digits = s.strip_prefix("0x").ok_or(SignatureError::Hex)?;
        let bytes = hex::decode(digits).map_err(|_| SignatureError::Hex)?;
        Self::from_slice(&bytes)
    }
}

impl Serialize for TxSignature {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for TxSignature {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use alloy_signer_local::PrivateKeySigner;

    use super::*;

    fn signer() -> PrivateKeySigner {
        // anvil's first development key.
        "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
            .parse()
            .unwrap()
    }

    #[test]
    fn sign_then_recover() {
        let signer = signer();
        let digest = keccak256(b"plasma");
        let sig = TxSignature::sign(&signer, &digest).unwrap();
        assert!(matches!(sig.0[64], 27 | 28));
        assert_eq!(sig.recover(&digest), Ok(signer.address()));
        assert_ne!(sig.recover(&keccak256(b"other")), Ok(signer.address()));
    }

    #[test]
    fn malleable_and_malformed_signatures_are_rejected() {
        let digest = keccak256(b"plasma");
        let sig = TxSignature::sign(&signer(), &digest).unwrap();

        // The high-s twin: s' = n - s, v flipped. It is a valid ECDSA signature, but not ours.
        let order = HALF_ORDER * U256::from(2) + U256::from(1);
        let s = U256::from_be_slice(&sig.0[32..64]);
        let mut twin = sig;
        twin.0[32..64].copy_from_slice(&(order - s).to_be_bytes::<32>());
        twin.0[64] = if sig.0[64] == 27 { 28 } else { 27 };
        assert_eq!(twin.recover(&digest), Err(SignatureError::HighS));

        let mut bad_v = sig;
        bad_v.0[64] = 1;
        assert_eq!(bad_v.recover(&digest), Err(SignatureError::V(1)));

        let zero = TxSignature([0; 65]);
        let mut zero_v = zero;
        zero_v.0[64] = 27;
        assert_eq!(zero_v.recover(&digest), Err(SignatureError::Unrecoverable));

        let mut r_overflow = sig;
        r_overflow.0[..32].copy_from_slice(&[0xff; 32]);
        assert_eq!(
            r_overflow.recover(&digest),
            Err(SignatureError::Unrecoverable)
        );

        assert_eq!(
            TxSignature::from_slice(&[0; 64]),
            Err(SignatureError::Length(64))
        );
    }

    #[test]
    fn hex_round_trip() {
        let sig = TxSignature::sign(&signer(), &keccak256(b"x")).unwrap();
        let text = sig.to_string();
        assert_eq!(text.len(), 2 + 130);
        assert_eq!(text.parse::<TxSignature>(), Ok(sig));
        assert_eq!(text[2..].parse::<TxSignature>(), Err(SignatureError::Hex));
        assert_eq!("0xzz".parse::<TxSignature>(), Err(SignatureError::Hex));
        assert_eq!(
            "0x00".parse::<TxSignature>(),
            Err(SignatureError::Length(1))
        );
        let json = serde_json::to_string(&sig).unwrap();
        assert_eq!(serde_json::from_str::<TxSignature>(&json).unwrap(), sig);
    }
}
