//! The session limits both HTTP MCP transports share (Streamable HTTP at
//! `/mcp` and the legacy SSE transport at `/sse` + `/message`): the
//! [`Limits`] they are served with, and [`Sessions`], the admission of a new
//! session against `--max-sessions` counting the open sessions of both.
//!
//! It names Streamable HTTP's [`BoundSessions`] but not the SSE hub, which
//! it counts through [`SessionCount`]: `sse.rs` imports this module, and
//! `http.rs` imports both without either importing the other.

use std::sync::Arc;
use std::time::Duration;

use super::conn::ConnTimeouts;
use super::mcp::BoundSessions;
use super::refusal::Refusal;

/// Session limits, shared by both transports (`--max-sessions`,
/// `--session-idle-timeout`, the keep-alive interval, connection timeouts).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Open MCP sessions (Streamable HTTP + SSE) at most; more get 503.
    pub max_sessions: usize,
    /// A session with no request for this long is closed.
    pub idle_timeout: Duration,
    /// Interval of keep-alive comments on event streams.
    pub keep_alive: Duration,
    /// Header, body and idle-connection timeouts.
    pub connections: ConnTimeouts,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_sessions: 128,
            idle_timeout: Duration::from_secs(300),
            keep_alive: Duration::from_secs(15),
            connections: ConnTimeouts::default(),
        }
    }
}

/// A transport's table of open sessions, as admission counts it.
pub trait SessionCount: std::fmt::Debug + Send + Sync {
    /// Sessions open now.
    fn open(&self) -> usize;
}

/// Admission of new sessions against [`Limits::max_sessions`], counting
/// both transports.
#[derive(Debug, Clone)]
pub struct Sessions {
    mcp: Arc<BoundSessions>,
    sse: Arc<dyn SessionCount>,
    limits: Limits,
    admit: Arc<tokio::sync::Mutex<()>>,
}

impl Sessions {
    /// Admission over Streamable HTTP's sessions `mcp` and the SSE
    /// sessions `sse`, with `limits`.
    pub fn new(mcp: Arc<BoundSessions>, sse: Arc<dyn SessionCount>, limits: Limits) -> Sessions {
        Sessions {
            mcp,
            sse,
            limits,
            admit: Arc::new(tokio::sync::Mutex::new(())),
        }
    }

    /// The limits sessions are served with.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Open sessions over both transports.
    pub async fn open(&self) -> usize {
        self.mcp.open().await + self.sse.open()
    }

    /// Admits one more session, or refuses it (503 `too-many-sessions`).
    /// Keep the guard until the session is registered: admissions are
    /// serialised so that concurrent ones cannot overshoot the limit.
    pub async fn admit(&self) -> Result<tokio::sync::MutexGuard<'_, ()>, Refusal> {
        let guard = self.admit.lock().await;
        let open = self.open().await;
        if open >= self.limits.max_sessions {
            tracing::warn!(
                open,
                max = self.limits.max_sessions,
                "refused: too many sessions"
            );
            return Err(Refusal::TooManySessions {
                open,
                max: self.limits.max_sessions,
                idle_timeout: self.limits.idle_timeout,
            });
        }
        Ok(guard)
    }
}
