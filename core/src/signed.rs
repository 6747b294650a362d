//! A transaction with its canonical bytes, hash and input signatures, as the operator accepts
//! it and a block carries it.

use std::sync::OnceLock;

use alloy_primitives::{B256, Bytes, keccak256};
use alloy_signer::SignerSync;

use crate::eip712::Domain;
use crate::encoding::DecodeError;
use crate::signature::TxSignature;
use crate::transaction::Transaction;

/// A transaction, its canonical bytes and hash (computed once, when first asked for), and one
/// signature per input.
///
/// Holding a `SignedTransaction` says nothing about validity: [`crate::validate`] decides that.
#[derive(Debug, Clone)]
pub struct SignedTransaction {
    tx: Transaction,
    bytes: Bytes,
    /// `keccak256(bytes)`, once computed: a verifier that never needs a transaction's hash
    /// (a watcher replaying blocks) does not pay for it.
    hash: OnceLock<B256>,
    signatures: Vec<TxSignature>,
}

impl PartialEq for SignedTransaction {
    fn eq(&self, other: &Self) -> bool {
        // The hash follows from the bytes, computed or not.
        self.bytes == other.bytes && self.signatures == other.signatures && self.tx == other.tx
    }
}

impl Eq for SignedTransaction {}

impl SignedTransaction {
    /// Pairs a transaction with its signatures (one per input, in input order).
    pub fn new(tx: Transaction, signatures: Vec<TxSignature>) -> Self {
        let bytes = tx.encode();
        Self {
            tx,
            bytes,
            hash: OnceLock::new(),
            signatures,
        }
    }

    /// Decodes canonical transaction bytes and pairs them with `signatures`.
    pub fn decode(bytes: &[u8], signatures: Vec<TxSignature>) -> Result<Self, DecodeError> {
        let tx = Transaction::decode(bytes)?;
        Ok(Self {
            tx,
            bytes: Bytes::copy_from_slice(bytes),
            hash: OnceLock::new(),
            signatures,
        })
    }

    /// [`SignedTransaction::decode`] keeping `bytes` as they are, not copied (a slice of a
    /// downloaded page stays one allocation).
    pub fn decode_bytes(bytes: Bytes, signatures: Vec<TxSignature>) -> Result<Self, DecodeError> {
        let tx = Transaction::decode(&bytes)?;
        Ok(Self {
            tx,
            bytes,
            hash: OnceLock::new(),
            signatures,
        })
    }

    /// Signs every input of `tx` with `signer` (a transaction whose inputs all belong to one
    /// owner). For inputs of several owners, collect signatures with [`TxSignature::sign`] over
    /// [`Transaction::signing_hash`] and use [`SignedTransaction::new`].
    pub fn sign<S>(tx: Transaction, domain: &Domain, signer: &S) -> alloy_signer::Result<Self>
    where
        S: SignerSync + ?Sized,
    {
        let digest = tx.signing_hash(&domain.separator());
        let signature = TxSignature::sign(signer, &digest)?;
        let signatures = vec![signature; tx.inputs.len()];
        Ok(Self::new(tx, signatures))
    }

    /// The transaction.
    pub fn tx(&self) -> &Transaction {
        &self.tx
    }

    /// Its canonical bytes (the Merkle leaf data).
    pub fn bytes(&self) -> &Bytes {
        &self.bytes
    }

    /// `keccak256(bytes)`.
    pub fn hash(&self) -> B256 {
        *self.hash.get_or_init(|| keccak256(&self.bytes))
    }

    /// The input signatures, in input order.
    pub fn signatures(&self) -> &[TxSignature] {
        &self.signatures
    }

    /// Splits into the transaction and its signatures.
    pub fn into_parts(self) -> (Transaction, Vec<TxSignature>) {
        (self.tx, self.signatures)
    }
}
