//! A fake operator for tests: it serves `GET /v1/blocks/{blknum}` and pages of them
//! (`GET /v1/blocks?from=&limit=`, JSON or binary) from whatever blocks the test puts in it —
//! the honest data, other data than the committed root's, or nothing — so it can stand in for a
//! byzantine operator. Everything else answers the API's `not_found`.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use plasma_core::Block;
use warp::Filter;
use warp::Reply;
use warp::http::StatusCode;

use crate::binary::{BLOCKS_MEDIA_TYPE, encode_block_jsons};
use crate::error::ErrorCode;
use crate::types::{BlockJson, BlocksPage, ErrorBody};

/// The blocks a [`FakeOperator`] serves, by number. Clones share them.
#[derive(Debug, Clone, Default)]
pub struct FakeOperator {
    blocks: Arc<Mutex<HashMap<u64, BlockJson>>>,
    shutdown: Arc<Mutex<Option<tokio::sync::oneshot::Sender<()>>>>,
}

impl FakeOperator {
    /// A server with no blocks yet (call [`start`](Self::start) to serve).
    pub fn new() -> Self {
        Self::default()
    }

    fn blocks(&self) -> MutexGuard<'_, HashMap<u64, BlockJson>> {
        self.blocks.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Serves `block` (its own data) under its number.
    pub fn put(&self, block: &Block) {
        self.put_json(BlockJson::from(block));
    }

    /// Serves `block` as given (which may be anything, e.g. another block's data).
    pub fn put_json(&self, block: BlockJson) {
        self.blocks().insert(block.blknum, block);
    }

    /// Stops serving block `blknum` (it is withheld from now on).
    pub fn withhold(&self, blknum: u64) {
        self.blocks().remove(&blknum);
    }

    /// Starts serving on `addr` (port 0 for a free one); returns the base URL. The server stops
    /// when [`stop`](Self::stop) is called or the test's runtime ends.
    pub async fn start(&self, addr: SocketAddr) -> std::io::Result<String> {
        let blocks = self.blocks.clone();
        let route = warp::path!("v1" / "blocks" / u64).map(move |blknum: u64| {
            let block = blocks
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get(&blknum)
                .cloned();
            match block {
                Some(block) => warp::reply::with_status(warp::reply::json(&block), StatusCode::OK),
                None => warp::reply::with_status(
                    warp::reply::json(&ErrorBody::new(
                        ErrorCode::BlockNotFound,
                        format!("no block {blknum}"),
                    )),
                    StatusCode::NOT_FOUND,
                ),
            }
        });
        let blocks = self.blocks.clone();
        let page = warp::path!("v1" / "blocks")
            .and(warp::query::<HashMap<String, String>>())
            .and(warp::header::optional::<String>("accept"))
            .map(
                move |query: HashMap<String, String>, accept: Option<String>| {
                    let number = |name: &str, default: u64| {
                        query
                            .get(name)
                            .map_or(Some(default), |v| v.parse::<u64>().ok())
                    };
                    let (Some(from), Some(limit)) = (number("from", 0), number("limit", 10)) else {
                        return warp::reply::with_status(
                            warp::reply::json(&ErrorBody::new(
                                ErrorCode::InvalidQuery,
                                "from and limit must be decimal integers",
                            ))
                            .into_response(),
                            StatusCode::BAD_REQUEST,
                        );
                    };
                    let held = blocks.lock().unwrap_or_else(|e| e.into_inner());
                    let mut numbers: Vec<u64> =
                        held.keys().copied().filter(|&n| n >= from).collect();
                    numbers.sort_unstable();
                    let blocks: Vec<BlockJson> = numbers
                        .into_iter()
                        .take(usize::try_from(limit).unwrap_or(usize::MAX))
                        .filter_map(|n| held.get(&n).cloned())
                        .collect();
                    if accept.is_some_and(|a| a.contains(BLOCKS_MEDIA_TYPE)) {
                        let body = encode_block_jsons(&blocks);
                        return warp::reply::with_status(
                            warp::reply::with_header(body, "content-type", BLOCKS_MEDIA_TYPE)
                                .into_response(),
                            StatusCode::OK,
                        );
                    }
                    warp::reply::with_status(
                        warp::reply::json(&BlocksPage { blocks }).into_response(),
                        StatusCode::OK,
                    )
                },
            );
        let fallback = warp::any().map(|| {
            warp::reply::with_status(
                warp::reply::json(&ErrorBody::new(ErrorCode::NotFound, "no such route")),
                StatusCode::NOT_FOUND,
            )
        });
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let bound = listener.local_addr()?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        *self.shutdown.lock().unwrap_or_else(|e| e.into_inner()) = Some(stop);
        tokio::spawn(
            warp::serve(route.or(page).or(fallback))
                .incoming(listener)
                .graceful(async move {
                    let _ = stopped.await;
                })
                .run(),
        );
        Ok(format!("http://{bound}"))
    }

    /// Stops serving.
    pub fn stop(&self) {
        if let Some(stop) = self
            .shutdown
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
        {
            let _ = stop.send(());
        }
    }
}
