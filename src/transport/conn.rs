//! The HTTP connections themselves: accepting them, and closing the slow,
//! silent and idle ones.
//!
//! Connections are served one by one with hyper's HTTP/1 builder (not
//! `axum::serve`, which exposes none of this):
//!
//! - **Header timeout** (`--header-timeout`): hyper's `header_read_timeout`
//!   with a Tokio timer. What hyper 1.12 does (`proto/h1/conn.rs`,
//!   `poll_read_head` and `State::idle`): the timer is armed when the
//!   connection starts waiting for a request head, i.e. at accept and again
//!   as soon as a keep-alive connection goes idle after a response (`idle()`
//!   sets `notify_read` when a header timeout is configured); it is not
//!   reset by bytes that arrive, and is disarmed once a whole head is
//!   parsed. So a client trickling header bytes (slowloris), one that
//!   connects and says nothing, and a keep-alive connection with no next
//!   request are all closed after it. hyper answers nothing; it closes.
//! - **Body timeout** (`--body-timeout`): every request body is a
//!   [`TimedBody`] whose deadline starts when its head arrived; a body still
//!   incomplete then fails with [`BodyTimeout`], which the handlers reading
//!   bodies answer 408 `body-timeout` (with `Connection: close`).
//! - **Idle timeout** (`--idle-connection-timeout`): hyper has no keep-alive
//!   idle timeout for HTTP/1 servers beyond the header timeout above, so a
//!   watchdog per connection counts the requests in flight (a request is in
//!   flight from its head until its response body has been written, so an
//!   open event stream, however quiet, is never idle) and shuts the
//!   connection down gracefully once none has been in flight for the
//!   timeout. With both set, an idle keep-alive connection closes after the
//!   shorter of the header and idle timeouts.
//!
//! Accepted sockets set `TCP_NODELAY`: replies are small and written in
//! pieces (SSE framing), and Nagle's algorithm with the client's delayed ACK
//! would add ~40 ms to each. On `stop` the listener closes, every connection
//! is shut down gracefully (calls in flight finish; event streams end on the
//! same signal) and this returns when all have closed.

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use bytes::Bytes;
use http_body::{Body as HttpBody, Frame, SizeHint};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::sync::watch;
use tokio::time::{Instant, Sleep};
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

/// The three connection timeouts.
#[derive(Debug, Clone, Copy)]
pub struct ConnTimeouts {
    /// A whole request head must arrive within this of connecting or of the
    /// previous response.
    pub header: Duration,
    /// A whole request body must arrive within this of its head.
    pub body: Duration,
    /// A connection with no request in flight for this long is closed.
    pub idle: Duration,
}

impl Default for ConnTimeouts {
    fn default() -> Self {
        ConnTimeouts {
            header: Duration::from_secs(10),
            body: Duration::from_secs(30),
            idle: Duration::from_secs(60),
        }
    }
}

/// A request body did not arrive within the body timeout.
#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive completely within {} s", .0.as_secs_f64())]
pub struct BodyTimeout(pub Duration);

impl BodyTimeout {
    /// Whether `error` (or one of its sources) is a body timeout.
    pub fn caused<'a>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a BodyTimeout> {
        let mut current = Some(error);
        while let Some(e) = current {
            if let Some(timeout) = e.downcast_ref::<BodyTimeout>() {
                return Some(timeout);
            }
            current = e.source();
        }
        None
    }
}

/// A request body that fails with [`BodyTimeout`] once its deadline passes
/// before it has ended.
pub struct TimedBody {
    inner: Incoming,
    deadline: Pin<Box<Sleep>>,
    limit: Duration,
}

impl TimedBody {
    /// `inner`, which must be complete within `limit` from now.
    pub fn new(inner: Incoming, limit: Duration) -> TimedBody {
        TimedBody {
            inner,
            deadline: Box::pin(tokio::time::sleep(limit)),
            limit,
        }
    }
}

impl HttpBody for TimedBody {
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        match Pin::new(&mut self.inner).poll_frame(cx) {
            Poll::Ready(frame) => Poll::Ready(frame.map(|f| f.map_err(Into::into))),
            Poll::Pending => {
                if self.deadline.as_mut().poll(cx).is_ready() {
                    let limit = self.limit;
                    Poll::Ready(Some(Err(Box::new(BodyTimeout(limit)))))
                } else {
                    Poll::Pending
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Requests in flight on one connection, and since when it has had none.
#[derive(Debug, Clone, Copy)]
struct Activity {
    in_flight: usize,
    idle_since: Instant,
}

/// Holds one request in flight; dropping it (when the response body has
/// been written, or the request abandoned) ends it.
struct InFlightGuard(Arc<watch::Sender<Activity>>);

impl InFlightGuard {
    fn begin(activity: &Arc<watch::Sender<Activity>>) -> InFlightGuard {
        activity.send_modify(|a| a.in_flight += 1);
        InFlightGuard(activity.clone())
    }
}

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        self.0.send_modify(|a| {
            a.in_flight = a.in_flight.saturating_sub(1);
            if a.in_flight == 0 {
                a.idle_since = Instant::now();
            }
        });
    }
}

/// A body that holds `G` until it is done or dropped: framing and length
/// are the inner body's.
pub struct GuardedBody<G> {
    inner: Body,
    _guard: G,
}

impl<G> GuardedBody<G> {
    /// `inner`, holding `guard` until it is dropped.
    pub fn new(inner: Body, guard: G) -> GuardedBody<G> {
        GuardedBody {
            inner,
            _guard: guard,
        }
    }
}

impl<G: Unpin> HttpBody for GuardedBody<G> {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Resolves once the connection has had no request in flight for `idle`.
async fn idle_for(mut activity: watch::Receiver<Activity>, idle: Duration) {
    loop {
        let now = *activity.borrow_and_update();
        if now.in_flight > 0 {
            if activity.changed().await.is_err() {
                return std::future::pending().await;
            }
            continue;
        }
        tokio::select! {
            () = tokio::time::sleep_until(now.idle_since + idle) => return,
            changed = activity.changed() => {
                if changed.is_err() {
                    return std::future::pending().await;
                }
            }
        }
    }
}

/// Serves `app` on `listener` until `stop` is cancelled, then shuts every
/// connection down gracefully and returns when all have closed.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    timeouts: ConnTimeouts,
    stop: CancellationToken,
) {
    let mut connections = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((tcp, peer)) => {
                    if let Err(e) = tcp.set_nodelay(true) {
                        tracing::debug!(error = %e, "cannot set TCP_NODELAY");
                    }
                    tracing::trace!(%peer, "connection accepted");
                    connections.spawn(connection(tcp, app.clone(), timeouts, stop.clone()));
                }
                Err(e) => {
                    // Out of descriptors and the like: wait a little rather than spin.
                    tracing::warn!(error = %e, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            () = stop.cancelled() => break,
        }
    }
    drop(listener);
    while connections.join_next().await.is_some() {}
}

/// One connection, from accept to close.
async fn connection(
    tcp: tokio::net::TcpStream,
    app: Router,
    timeouts: ConnTimeouts,
    stop: CancellationToken,
) {
    let activity = Arc::new(watch::Sender::new(Activity {
        in_flight: 0,
        idle_since: Instant::now(),
    }));
    let idle = idle_for(activity.subscribe(), timeouts.idle);
    let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
        let in_flight = InFlightGuard::begin(&activity);
        let req = req.map(|body| Body::new(TimedBody::new(body, timeouts.body)));
        let app = app.clone();
        async move {
            let response = match app.oneshot(req).await {
                Ok(response) => response,
                Err(never) => match never {},
            };
            Ok::<_, Infallible>(response.map(|inner| Body::new(GuardedBody::new(inner, in_flight))))
        }
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(timeouts.header)
        .keep_alive(true)
        .serve_connection(TokioIo::new(tcp), service);
    tokio::pin!(conn);
    tokio::pin!(idle);
    let shut_down_because = tokio::select! {
        result = conn.as_mut() => {
            if let Err(e) = result {
                tracing::debug!(error = %e, "connection closed");
            }
            return;
        }
        () = &mut idle => "idle",
        () = stop.cancelled() => "stopping",
    };
    tracing::debug!(reason = shut_down_because, "closing connection");
    conn.as_mut().graceful_shutdown();
    if let Err(e) = conn.await {
        tracing::debug!(error = %e, "connection closed");
    }
}
