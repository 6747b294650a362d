//! EIP-712 typed-data hashing of transactions, and their export as `eth_signTypedData_v4` JSON.
//!
//! Domain: `EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)`
//! with `name = "Plasma"`, `version = "1"`, the L1 chain id and the root contract's address.
//! Types: `Transaction(uint256 txType,uint256[] inputs,Output[] outputs,bytes32 metadata)` and
//! `Output(uint256 outputType,address owner,address token,uint256 amount)`.

use alloy_primitives::{Address, B256, Keccak256, U256, b256, keccak256};
use plasma_merkle::keccak::{Messages, keccak256_each};
use serde_json::{Value, json};

use crate::transaction::{OUTPUT_TYPE_PAYMENT, Output, TX_TYPE_PAYMENT, Transaction};

/// The domain's `name`.
pub const DOMAIN_NAME: &str = "Plasma";
/// The domain's `version`.
pub const DOMAIN_VERSION: &str = "1";

/// The EIP-712 domain type.
pub const DOMAIN_TYPE: &str =
    "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)";
/// The encoded type of an output.
pub const OUTPUT_TYPE: &str =
    "Output(uint256 outputType,address owner,address token,uint256 amount)";
/// The encoded type of a transaction (referenced types appended, as EIP-712 requires).
pub const TRANSACTION_TYPE: &str = "Transaction(uint256 txType,uint256[] inputs,Output[] outputs,bytes32 metadata)Output(uint256 outputType,address owner,address token,uint256 amount)";

/// `keccak256(DOMAIN_TYPE)`.
pub const DOMAIN_TYPEHASH: B256 =
    b256!("0x8b73c3c69bb8fe3d512ecc4cf759cc79239f7b179b0ffacaa9a75d522b39400f");
/// `keccak256(OUTPUT_TYPE)`.
pub const OUTPUT_TYPEHASH: B256 =
    b256!("0x904714fca0347d83838ce7a615839478b4ab8884e96ed26d405de207b4cb4809");
/// `keccak256(TRANSACTION_TYPE)`.
pub const TRANSACTION_TYPEHASH: B256 =
    b256!("0x1e447442fee3a1edf3b529a673ba27e86b4bbb8d69828f97654c633dce14ae19");

/// The signing domain: one L1 chain and one root contract. Signatures made for another chain
/// or another contract do not verify here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Domain {
    /// The L1 chain id.
    pub chain_id: u64,
    /// The root contract.
    pub verifying_contract: Address,
}

impl Domain {
    /// The domain of `verifying_contract` on chain `chain_id`.
    pub const fn new(chain_id: u64, verifying_contract: Address) -> Self {
        Self {
            chain_id,
            verifying_contract,
        }
    }

    /// The domain separator, `hashStruct(EIP712Domain)`. Compute it once and keep it: every
    /// signing hash needs it.
    pub fn separator(&self) -> B256 {
        let mut buf = [0u8; 5 * 32];
        buf[..32].copy_from_slice(DOMAIN_TYPEHASH.as_slice());
        buf[32..64].copy_from_slice(keccak256(DOMAIN_NAME).as_slice());
        buf[64..96].copy_from_slice(keccak256(DOMAIN_VERSION).as_slice());
        buf[96..128].copy_from_slice(&U256::from(self.chain_id).to_be_bytes::<32>());
        buf[140..160].copy_from_slice(self.verifying_contract.as_slice());
        keccak256(buf)
    }
}

/// `hashStruct(output)`.
pub fn output_hash(output: &Output) -> B256 {
    keccak256(output_preimage(output))
}

/// What `hashStruct(output)` hashes: its type hash and its four fields.
fn output_preimage(output: &Output) -> [u8; 5 * 32] {
    let mut buf = [0u8; 5 * 32];
    buf[..32].copy_from_slice(OUTPUT_TYPEHASH.as_slice());
    buf[32..64].copy_from_slice(&U256::from(OUTPUT_TYPE_PAYMENT).to_be_bytes::<32>());
    buf[76..96].copy_from_slice(output.owner.as_slice());
    buf[108..128].copy_from_slice(output.token.as_slice());
    buf[128..].copy_from_slice(&output.amount.to_be_bytes::<32>());
    buf
}

/// `hashStruct(transaction)`.
pub fn struct_hash(tx: &Transaction) -> B256 {
    // Stream the arrays into their hashes: no allocation on the hot path.
    let mut inputs = Keccak256::new();
    for input in &tx.inputs {
        inputs.update(input.to_u256().to_be_bytes::<32>());
    }
    let mut outputs = Keccak256::new();
    for output in &tx.outputs {
        outputs.update(output_hash(output));
    }
    keccak256(struct_preimage(
        &inputs.finalize(),
        &outputs.finalize(),
        &tx.metadata,
    ))
}

/// What `hashStruct(transaction)` hashes, from the hashes of its two arrays.
fn struct_preimage(inputs: &B256, outputs: &B256, metadata: &B256) -> [u8; 5 * 32] {
    let mut buf = [0u8; 5 * 32];
    buf[..32].copy_from_slice(TRANSACTION_TYPEHASH.as_slice());
    buf[32..64].copy_from_slice(&U256::from(TX_TYPE_PAYMENT).to_be_bytes::<32>());
    buf[64..96].copy_from_slice(inputs.as_slice());
    buf[96..128].copy_from_slice(outputs.as_slice());
    buf[128..].copy_from_slice(metadata.as_slice());
    buf
}

/// The digest each input owner signs: `keccak256(0x19 ‖ 0x01 ‖ domainSeparator ‖
/// hashStruct(tx))`.
pub fn signing_hash(tx: &Transaction, domain_separator: &B256) -> B256 {
    keccak256(digest_preimage(domain_separator, &struct_hash(tx)))
}

/// What the signing digest hashes: `0x19 ‖ 0x01 ‖ domainSeparator ‖ hashStruct(tx)`.
fn digest_preimage(domain_separator: &B256, struct_hash: &B256) -> [u8; 66] {
    let mut buf = [0u8; 66];
    buf[0] = 0x19;
    buf[1] = 0x01;
    buf[2..34].copy_from_slice(domain_separator.as_slice());
    buf[34..].copy_from_slice(struct_hash.as_slice());
    buf
}

/// [`signing_hash`] of each of `txs`, in order: the same digests, with the keccak work of all
/// of them done stage by stage (outputs, arrays, structs, digests), each stage's hashes eight
/// at a time where the CPU has AVX-512 ([`plasma_merkle::keccak`], about a fifth of the cost
/// of one by one there).
pub fn signing_hashes(txs: &[&Transaction], domain_separator: &B256) -> Vec<B256> {
    // Every output's struct hash.
    let outputs: Vec<[u8; 5 * 32]> = txs
        .iter()
        .flat_map(|tx| tx.outputs.iter().map(output_preimage))
        .collect();
    let output_hashes = keccak256_each(outputs.as_slice());
    // Each transaction's two arrays: its inputs' positions and its outputs' struct hashes.
    let inputs: Vec<B256> = txs
        .iter()
        .flat_map(|tx| tx.inputs.iter().map(|i| B256::from(i.to_u256())))
        .collect();
    let input_arrays = keccak256_each(&Arrays::new(&inputs, txs.iter().map(|tx| tx.inputs.len())));
    let output_arrays = keccak256_each(&Arrays::new(
        &output_hashes,
        txs.iter().map(|tx| tx.outputs.len()),
    ));
    let structs: Vec<[u8; 5 * 32]> = txs
        .iter()
        .zip(input_arrays.iter().zip(&output_arrays))
        .map(|(tx, (inputs, outputs))| struct_preimage(inputs, outputs, &tx.metadata))
        .collect();
    let digests: Vec<[u8; 66]> = keccak256_each(structs.as_slice())
        .iter()
        .map(|hash| digest_preimage(domain_separator, hash))
        .collect();
    keccak256_each(digests.as_slice())
}

/// Arrays of hashes cut from one list: array `i` is the next `lens[i]` hashes, as the bytes
/// EIP-712 hashes an array of 32-byte members by.
struct Arrays<'a> {
    hashes: &'a [B256],
    /// Where each array starts in `hashes`, and one past the last's end.
    starts: Vec<usize>,
}

impl<'a> Arrays<'a> {
    fn new(hashes: &'a [B256], lens: impl Iterator<Item = usize>) -> Self {
        let mut starts = vec![0];
        let mut end = 0;
        for len in lens {
            end += len;
            starts.push(end);
        }
        Self { hashes, starts }
    }
}

impl Messages for Arrays<'_> {
    fn count(&self) -> usize {
        self.starts.len() - 1
    }

    fn len_of(&self, index: usize) -> usize {
        32 * (self.starts[index + 1] - self.starts[index])
    }

    fn copy(&self, index: usize, start: usize, out: &mut [u8]) {
        let members = &self.hashes[self.starts[index]..self.starts[index + 1]];
        let mut at = start;
        let mut written = 0;
        while written < out.len() {
            let member = members[at / 32].as_slice();
            let from = at % 32;
            let take = (32 - from).min(out.len() - written);
            out[written..written + take].copy_from_slice(&member[from..from + take]);
            written += take;
            at += take;
        }
    }
}

/// The transaction as `eth_signTypedData_v4` JSON (`types`, `primaryType`, `domain`,
/// `message`), for any standard wallet to sign. Integers are decimal strings, so amounts above
/// 2^53 survive JavaScript wallets.
pub fn typed_data(tx: &Transaction, domain: &Domain) -> Value {
    let field = |name: &str, ty: &str| json!({ "name": name, "type": ty });
    json!({
        "types": {
            "EIP712Domain": [
                field("name", "string"),
                field("version", "string"),
                field("chainId", "uint256"),
                field("verifyingContract", "address"),
            ],
            "Transaction": [
                field("txType", "uint256"),
                field("inputs", "uint256[]"),
                field("outputs", "Output[]"),
                field("metadata", "bytes32"),
            ],
            "Output": [
                field("outputType", "uint256"),
                field("owner", "address"),
                field("token", "address"),
                field("amount", "uint256"),
            ],
        },
        "primaryType": "Transaction",
        "domain": {
            "name": DOMAIN_NAME,
            "version": DOMAIN_VERSION,
            "chainId": domain.chain_id,
            "verifyingContract": domain.verifying_contract.to_checksum(None),
        },
        "message": {
            "txType": TX_TYPE_PAYMENT.to_string(),
            "inputs": tx.inputs.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "outputs": tx.outputs.iter().map(|o| json!({
                "outputType": OUTPUT_TYPE_PAYMENT.to_string(),
                "owner": o.owner.to_checksum(None),
                "token": o.token.to_checksum(None),
                "amount": o.amount.to_string(),
            })).collect::<Vec<_>>(),
            "metadata": tx.metadata.to_string(),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_hashes_are_the_hashes_of_the_types() {
        assert_eq!(DOMAIN_TYPEHASH, keccak256(DOMAIN_TYPE), "domain");
        assert_eq!(OUTPUT_TYPEHASH, keccak256(OUTPUT_TYPE), "output");
        assert_eq!(
            TRANSACTION_TYPEHASH,
            keccak256(TRANSACTION_TYPE),
            "transaction"
        );
        assert!(TRANSACTION_TYPE.ends_with(OUTPUT_TYPE));
    }
}
