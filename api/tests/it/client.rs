//! The typed client against the fake operator: blocks served, withheld and lied about, and the
//! error of an unreachable operator.

use alloy_primitives::{Address, B256, U256};
use alloy_signer_local::PrivateKeySigner;
use plasma_api::test_utils::FakeOperator;
use plasma_api::{ApiClient, ClientError, ErrorCode};
use plasma_core::{Block, Domain, ETH, Output, SignedTransaction, Transaction, UtxoPos};

fn block(blknum: u64) -> Block {
    let alice = PrivateKeySigner::random();
    let tx = Transaction::payment(
        vec![UtxoPos::new(1, 0, 0).unwrap()],
        vec![Output::new(Address::repeat_byte(2), ETH, U256::from(5))],
    );
    let domain = Domain::new(1, Address::repeat_byte(3));
    let signed = SignedTransaction::sign(tx, &domain, &alice).unwrap();
    Block::new(blknum, 7, vec![signed]).unwrap()
}

#[tokio::test]
async fn serves_puts_and_withholds_blocks() {
    let fake = FakeOperator::new();
    let url = fake.start("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let client = ApiClient::new(&url);
    assert_eq!(client.block(1000).await.unwrap(), None);
    let honest = block(1000);
    fake.put(&honest);
    let served = client.block(1000).await.unwrap().expect("served");
    assert_eq!(Block::try_from(served).unwrap(), honest);
    // A lie: other data under the same number.
    let mut other = plasma_api::BlockJson::from(&block(1000));
    other.root = B256::repeat_byte(9);
    fake.put_json(other.clone());
    assert_eq!(client.block(1000).await.unwrap(), Some(other));
    fake.withhold(1000);
    assert_eq!(client.block(1000).await.unwrap(), None);
    // Other routes answer the API's not_found, which is not "no such block".
    let err = client.status().await.unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::NotFound), "{err}");
    fake.stop();
}

#[tokio::test]
async fn an_unreachable_operator_is_named() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let client = ApiClient::new(&format!("http://{addr}"));
    let err = client.block(1000).await.unwrap_err();
    assert!(matches!(err, ClientError::Unreachable { .. }), "{err}");
    assert!(err.to_string().contains(&addr.to_string()), "{err}");
}
