//! A block server speaking the operator's `GET /v1/blocks/{blknum}`, serving whatever the test
//! puts in it: the honest block, or a lie. It stands in for a byzantine operator.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use plasma_core::Block;
use plasma_core::wire::BlockJson;
use warp::Filter;

/// The blocks served, by number.
#[derive(Clone, Default)]
pub(crate) struct Served(Arc<Mutex<HashMap<u64, BlockJson>>>);

impl Served {
    pub(crate) fn put(&self, block: &Block) {
        self.0
            .lock()
            .unwrap()
            .insert(block.blknum, BlockJson::from(block));
    }

    pub(crate) fn put_json(&self, block: BlockJson) {
        self.0.lock().unwrap().insert(block.blknum, block);
    }

    /// Starts serving on a free port; returns the base URL.
    pub(crate) async fn start(&self) -> String {
        let blocks = self.0.clone();
        let route = warp::path!("v1" / "blocks" / u64).map(move |blknum: u64| {
            match blocks.lock().unwrap().get(&blknum) {
                Some(block) => {
                    warp::reply::with_status(warp::reply::json(block), warp::http::StatusCode::OK)
                }
                None => warp::reply::with_status(
                    warp::reply::json(&serde_json::json!({
                        "error": {"code": "block_not_found", "message": "no such block"}
                    })),
                    warp::http::StatusCode::NOT_FOUND,
                ),
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr: SocketAddr = listener.local_addr().unwrap();
        tokio::spawn(warp::serve(route).incoming(listener).run());
        format!("http://{addr}")
    }
}
