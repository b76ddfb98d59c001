//! The client's gRPC deadline (`grpc-timeout`), carried from the request to
//! the database. Tonic drops a handler's future when the deadline passes,
//! but PostgreSQL keeps running (or waiting for a lock in) the statement it
//! was sent, and sqlx hands the connection back to the pool only once that
//! statement has ended; so a call past its deadline would still hold its
//! connection. [`DeadlineLayer`] records the deadline for the call's task,
//! and every transaction the call begins (`db::begin`) limits its statements
//! and lock waits to the time left, a little before the client gives up.

use futures::future::BoxFuture;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::time::Instant;

tokio::task_local! {
    static DEADLINE: Instant;
}

/// Time left to the current call's deadline; `None` outside a call or for a
/// call without one.
pub fn remaining() -> Option<Duration> {
    DEADLINE.try_with(|d| d.saturating_duration_since(Instant::now())).ok()
}

/// The limit for the database: the time left less a margin, so that the
/// database's error (a retryable code with its reason) reaches the client
/// before the client's own timer fires. Never 0, which PostgreSQL reads as
/// "no limit".
pub fn database_limit_ms(remaining: Duration) -> u64 {
    let margin = (remaining / 10).min(Duration::from_millis(250));
    (remaining.saturating_sub(margin).as_millis() as u64).max(1)
}

/// Runs `future` as a call with a deadline `timeout` from now.
pub async fn within<F: Future>(timeout: Option<Duration>, future: F) -> F::Output {
    match timeout {
        Some(t) => DEADLINE.scope(Instant::now() + t, future).await,
        None => future.await,
    }
}

/// `grpc-timeout` as the gRPC over HTTP/2 spec writes it: at most 8 digits
/// and a unit (H, M, S, m, u, n).
pub fn parse_grpc_timeout(value: &str) -> Option<Duration> {
    if value.len() < 2 || value.len() > 9 || !value.is_ascii() {
        return None;
    }
    let (digits, unit) = value.split_at(value.len() - 1);
    let n: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(n * 3600),
        "M" => Duration::from_secs(n * 60),
        "S" => Duration::from_secs(n),
        "m" => Duration::from_millis(n),
        "u" => Duration::from_micros(n),
        "n" => Duration::from_nanos(n),
        _ => return None,
    })
}

/// Tower layer that makes each RPC's `grpc-timeout` its task's deadline.
#[derive(Clone, Default)]
pub struct DeadlineLayer;

impl<S> tower::Layer<S> for DeadlineLayer {
    type Service = DeadlineService<S>;
    fn layer(&self, inner: S) -> Self::Service {
        DeadlineService { inner }
    }
}

#[derive(Clone)]
pub struct DeadlineService<S> {
    inner: S,
}

impl<S, B> tower::Service<http::Request<B>> for DeadlineService<S>
where
    S: tower::Service<http::Request<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let timeout = request
            .headers()
            .get("grpc-timeout")
            .and_then(|v| v.to_str().ok())
            .and_then(parse_grpc_timeout);
        Box::pin(within(timeout, self.inner.call(request)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_timeouts_as_the_spec_writes_them() {
        assert_eq!(parse_grpc_timeout("1500m"), Some(Duration::from_millis(1500)));
        assert_eq!(parse_grpc_timeout("2S"), Some(Duration::from_secs(2)));
        assert_eq!(parse_grpc_timeout("1H"), Some(Duration::from_secs(3600)));
        assert_eq!(parse_grpc_timeout("99999999n"), Some(Duration::from_nanos(99_999_999)));
        assert_eq!(parse_grpc_timeout("123456789S"), None);
        assert_eq!(parse_grpc_timeout("S"), None);
        assert_eq!(parse_grpc_timeout("10x"), None);
        assert_eq!(parse_grpc_timeout("-1S"), None);
    }

    #[test]
    fn the_database_gives_up_before_the_client() {
        assert_eq!(database_limit_ms(Duration::from_secs(1)), 900);
        assert_eq!(database_limit_ms(Duration::from_secs(10)), 9750);
        assert_eq!(database_limit_ms(Duration::ZERO), 1);
    }
}
