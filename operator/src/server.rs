//! The API's HTTP server: HTTP/1.1 connections served by hyper, with the limits a public
//! endpoint needs so that slow or idle clients cannot take it down.
//!
//! * **Header-read timeout**: a client must send a request's headers within
//!   [`HttpLimits::header_timeout`] of starting it, and a kept-alive connection with no new request
//!   within that time is closed too (hyper starts the timer whenever it waits for a request head).
//!   1,000 half-sent requests were all still held open after 20 s before this existed.
//! * **Request deadline**: reading a request's body and answering it must end within
//!   [`HttpLimits::request_timeout`]; else the client gets `408 request_timeout`.
//! * **Connection cap**: at most [`HttpLimits::max_connections`] open at once; beyond it a new
//!   connection is closed at once (refused quickly, not queued), counted, and warned about at most
//!   every ten seconds. Accept errors (the open-file limit reached) are warned about the same way,
//!   with a short pause, instead of once a second for as long as they last.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use plasma_api::{ErrorBody, ErrorCode};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use warp::{Filter, Reply};

use crate::metrics::Metrics;

/// How long the server's limits are; see the module's documentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpLimits {
    /// The longest a client may take to send a request's headers, or to start its next request
    /// on a kept-alive connection.
    pub header_timeout: Duration,
    /// The longest reading a request's body and answering it may take.
    pub request_timeout: Duration,
    /// The most connections open at once.
    pub max_connections: usize,
}

impl Default for HttpLimits {
    fn default() -> Self {
        Self {
            header_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            max_connections: 10_000,
        }
    }
}

/// The least time between two warnings of the same kind (refused connections, accept errors).
const WARN_EVERY: Duration = Duration::from_secs(10);

/// A warning said at most every [`WARN_EVERY`], with how many times its cause happened since.
#[derive(Debug, Default)]
struct Throttled {
    last: Option<Instant>,
    since: u64,
}

impl Throttled {
    /// Counts one occurrence; returns how many there were since the last warning when it is
    /// time to warn again.
    fn hit(&mut self) -> Option<u64> {
        self.since += 1;
        let now = Instant::now();
        if self
            .last
            .is_some_and(|last| now.duration_since(last) < WARN_EVERY)
        {
            return None;
        }
        self.last = Some(now);
        Some(std::mem::take(&mut self.since))
    }
}

/// Serves `filter` on `listener` within `limits` until `stop` turns true; then stops accepting,
/// lets open requests finish (for up to the request deadline) and returns.
pub async fn serve<F, R>(
    filter: F,
    listener: TcpListener,
    limits: HttpLimits,
    metrics: Arc<Metrics>,
    mut stop: watch::Receiver<bool>,
) where
    F: Filter<Extract = (R,), Error = Infallible> + Clone + Send + Sync + 'static,
    R: Reply,
{
    let max = limits.max_connections.clamp(1, Semaphore::MAX_PERMITS);
    let open = Arc::new(Semaphore::new(max));
    let mut refused = Throttled::default();
    let mut accept_errors = Throttled::default();
    let service = TowerToHyperService::new(warp::service(filter));
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = stopped(&mut stop) => break,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(e) => {
                // Most often EMFILE: the open-file limit is reached. Pause so as not to spin.
                if let Some(times) = accept_errors.hit() {
                    tracing::warn!(target: "operator::http", error = %e, times, "accepting a connection failed; pausing 100 ms");
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(permit) = open.clone().try_acquire_owned() else {
            drop(stream); // refused at once: closing it is the answer
            metrics.http_connections_refused.inc();
            if let Some(times) = refused.hit() {
                tracing::warn!(target: "operator::http", max_connections = max, times, "connection limit reached: new connections are closed until some end (--max-connections)");
            }
            continue;
        };
        let _ = stream.set_nodelay(true);
        let service = service.clone();
        let metrics = metrics.clone();
        let mut stop = stop.clone();
        tokio::spawn(async move {
            let _permit = permit;
            metrics.http_connections_open.inc();
            let deadline = limits.request_timeout;
            let timeouts = metrics.clone();
            let handler = hyper::service::service_fn(move |request| {
                let service = service.clone();
                let timeouts = timeouts.clone();
                async move {
                    let call = hyper::service::Service::call(&service, request);
                    match tokio::time::timeout(deadline, call).await {
                        Ok(response) => response,
                        Err(_) => {
                            timeouts.http_request_timeouts.inc();
                            Ok(request_timeout(deadline))
                        }
                    }
                }
            });
            let mut builder = http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(limits.header_timeout)
                .keep_alive(true);
            let connection = builder.serve_connection(TokioIo::new(stream), handler);
            let mut connection = std::pin::pin!(connection);
            let result = tokio::select! {
                result = connection.as_mut() => result,
                () = stopped(&mut stop) => {
                    connection.as_mut().graceful_shutdown();
                    connection.await
                }
            };
            if let Err(e) = result {
                // Timeouts and clients going away: ordinary on a public endpoint.
                tracing::debug!(target: "operator::http", error = %e, "connection ended");
            }
            metrics.http_connections_open.dec();
        });
    }
    // Open requests finish (their connections close once answered), for up to the deadline.
    let all = u32::try_from(max).unwrap_or(u32::MAX);
    let _ = tokio::time::timeout(limits.request_timeout, open.acquire_many(all)).await;
}

/// Resolves once `stop` turns true (or its sender is gone), holding no borrow of it after.
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

/// The answer to a request that took longer than `deadline`.
fn request_timeout(deadline: Duration) -> warp::reply::Response {
    let body = ErrorBody::new(
        ErrorCode::RequestTimeout,
        format!(
            "the request took longer than {} to send and answer; a transaction in it may still have been accepted: post it again to learn its status",
            humantime::format_duration(deadline)
        ),
    );
    warp::reply::with_status(
        warp::reply::json(&body),
        warp::http::StatusCode::REQUEST_TIMEOUT,
    )
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_throttled_warning_counts_what_it_did_not_say() {
        let mut t = Throttled::default();
        assert_eq!(t.hit(), Some(1));
        assert_eq!(t.hit(), None);
        assert_eq!(t.hit(), None);
        t.last = Some(Instant::now() - WARN_EVERY);
        assert_eq!(t.hit(), Some(3), "the two unsaid and this one");
    }
}
