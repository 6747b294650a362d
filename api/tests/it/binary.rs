//! The binary page of blocks: it reads back exactly what was written, and any other bytes are
//! an error, never a panic or a huge allocation.

use alloy_primitives::{Address, B256, Bytes, U256};
use plasma_api::{
    BinaryError, BlockJson, SignedTransactionJson, decode_blocks, encode_block_jsons, encode_blocks,
};
use plasma_core::{
    Block, Domain, ETH, Output, SignedTransaction, Transaction, TxSignature, UtxoPos,
};
use proptest::prelude::*;

fn signed_json() -> impl Strategy<Value = SignedTransactionJson> {
    (
        prop::collection::vec(any::<u8>(), 0..300),
        prop::collection::vec(prop::collection::vec(any::<u8>(), 65), 0..5),
    )
        .prop_map(|(tx, sigs)| SignedTransactionJson {
            tx: Bytes::from(tx),
            signatures: sigs
                .iter()
                .map(|s| TxSignature::from_slice(s).unwrap())
                .collect(),
        })
}

fn block_json() -> impl Strategy<Value = BlockJson> {
    (
        any::<u64>(),
        any::<[u8; 32]>(),
        any::<u64>(),
        prop::collection::vec(signed_json(), 0..20),
    )
        .prop_map(|(blknum, root, timestamp, transactions)| BlockJson {
            blknum,
            root: B256::from(root),
            timestamp,
            transactions,
        })
}

proptest! {
    #[test]
    fn pages_read_back_as_written(blocks in prop::collection::vec(block_json(), 0..6)) {
        let page = encode_block_jsons(&blocks);
        prop_assert_eq!(decode_blocks(Bytes::from(page)).unwrap(), blocks);
    }

    /// Every proper prefix of a page is an error (the page ends inside a field), never a
    /// shorter page read as whole.
    #[test]
    fn a_cut_page_does_not_decode(blocks in prop::collection::vec(block_json(), 1..4), cut in any::<prop::sample::Index>()) {
        let page = encode_block_jsons(&blocks);
        let cut = cut.index(page.len());
        let truncated = decode_blocks(Bytes::copy_from_slice(&page[..cut]));
        let is_truncated = matches!(truncated, Err(BinaryError::Truncated { .. }));
        prop_assert!(is_truncated);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        let _ = decode_blocks(Bytes::from(bytes));
    }
}

#[test]
fn bytes_after_the_last_block_are_refused() {
    let mut page = encode_block_jsons(&[]);
    page.push(0);
    assert_eq!(
        decode_blocks(Bytes::from(page)),
        Err(BinaryError::Trailing { extra: 1 })
    );
}

/// A sender's counts cannot make the reader reserve memory the bytes do not back.
#[test]
fn huge_counts_in_a_short_page_are_truncation_not_allocation() {
    let page = [0xff, 0xff, 0xff, 0xff];
    assert!(matches!(
        decode_blocks(Bytes::copy_from_slice(&page)),
        Err(BinaryError::Truncated { .. })
    ));
    let mut block = 1u32.to_be_bytes().to_vec();
    block.extend_from_slice(&[0u8; 48]);
    block.extend_from_slice(&u32::MAX.to_be_bytes());
    assert!(matches!(
        decode_blocks(Bytes::from(block)),
        Err(BinaryError::Truncated { .. })
    ));
}

/// The operator's blocks and the JSON form of them write the same page.
#[test]
fn an_operator_block_writes_the_page_of_its_json_form() {
    let key = alloy_signer_local::PrivateKeySigner::random();
    let domain = Domain::new(1, Address::repeat_byte(7));
    let txs = (0..3u64)
        .map(|i| {
            SignedTransaction::sign(
                Transaction::payment(
                    vec![UtxoPos::new(1000, i, 0).unwrap()],
                    vec![Output::new(key.address(), ETH, U256::from(i + 1))],
                ),
                &domain,
                &key,
            )
            .unwrap()
        })
        .collect();
    let block = Block::new(2000, 1_700_000_000, txs).unwrap();
    let page = encode_blocks([&block]);
    assert_eq!(page, encode_block_jsons(&[BlockJson::from(&block)]));
    let read = decode_blocks(Bytes::from(page)).unwrap();
    assert_eq!(Block::try_from(read[0].clone()).unwrap(), block);
}
