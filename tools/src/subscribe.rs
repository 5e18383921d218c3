//! Live updates over MCP, in both protocol eras: the thin adapter between
//! the engine's change feed ([`Engine::changes`]), what a subscriber has
//! seen ([`Tracker`]), and rmcp's notification paths.
//!
//! - **2025-11-25 and earlier.** A session that finished `initialize` gets a
//!   notifier task: after every change it sends `notifications/resources/
//!   updated` for each URI the client subscribed to (`resources/subscribe`)
//!   whose content changed, and, once the client has listed the resources,
//!   `notifications/resources/list_changed` when an id appeared or
//!   vanished. The task ends with the session; it loads nothing until a
//!   file changes.
//! - **2026-07-28.** `subscriptions/listen` runs the same loop for the
//!   filter it accepted (the resource URIs of kinds served, the skills'
//!   `SKILL.md` URIs when skills are served, and the resource listing),
//!   through the subscription's sink, until it is cancelled.
//!
//! A change is acted on after [`SETTLE`], so an editor's save (several
//! events) or a burst of writes is one look; each look evaluates a changed
//! file once, through the engine's caches.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rmcp::model::{ResourceUpdatedNotificationParam, SubscriptionFilter};
use rmcp::service::{Peer, SubscriptionContext};
use rmcp::{ErrorData, RoleServer};

use crate::engine::Engine;
use crate::live::{Changes, Tracker};
use crate::resources::{self, ResourceKind};
use crate::skills::Served;

/// How long after a change the subscribers look: events of one save or a
/// burst of writes arrive together within it.
pub const SETTLE: Duration = Duration::from_millis(15);

/// How often an idle notifier checks whether its session ended.
const SESSION_POLL: Duration = Duration::from_secs(5);

/// One legacy session's subscriptions: the URIs it subscribed to, and
/// whether its notifier runs.
#[derive(Debug)]
pub struct Session {
    tracker: tokio::sync::Mutex<Tracker>,
    running: AtomicBool,
}

impl Session {
    /// A session following the listing and no URI yet (able to follow
    /// the skills of `skills`).
    pub fn new(skills: Option<Arc<Served>>) -> Session {
        Session {
            tracker: tokio::sync::Mutex::new(Tracker::new(true).with_skills(skills)),
            running: AtomicBool::new(false),
        }
    }

    /// Starts this session's notifier (once), sending through `peer`.
    /// Nothing when the engine does not watch.
    pub fn start(
        self: &Arc<Self>,
        engine: &Arc<Engine>,
        kinds: &Arc<[ResourceKind]>,
        peer: Peer<RoleServer>,
    ) {
        let Some(mut changes) = engine.changes() else {
            return;
        };
        changes.borrow_and_update();
        if self.running.swap(true, Ordering::SeqCst) {
            return;
        }
        let session = self.clone();
        let engine = engine.clone();
        let kinds = kinds.clone();
        tokio::spawn(async move {
            notify_loop(changes, &engine, &kinds, &session.tracker, &peer, None).await;
            tracing::debug!("session notifier stopped");
        });
    }

    /// The client listed the resources: from now on a change of the
    /// listing is reported.
    pub async fn listed(&self, engine: &Engine, kinds: &[ResourceKind]) {
        self.tracker.lock().await.prime(engine, kinds).await;
    }

    /// `resources/subscribe`: follows `uri`.
    pub async fn subscribe(
        &self,
        engine: &Engine,
        kinds: &[ResourceKind],
        uri: &str,
    ) -> Result<(), resources::ResourceError> {
        self.tracker.lock().await.follow(engine, kinds, uri).await
    }

    /// `resources/unsubscribe`: stops following `uri` (not following it
    /// is not an error: the result is the same).
    pub async fn unsubscribe(&self, uri: &str) {
        self.tracker.lock().await.unfollow(uri);
    }
}

/// The part of `requested` this server can honour: the resource listing,
/// and the URIs of resources of `kinds` (others are left out, as the
/// protocol allows). Tool and prompt lists never change while serving.
/// `None` when the engine does not watch (then `subscriptions/listen` is
/// not served).
pub fn accepted(
    engine: &Engine,
    kinds: &[ResourceKind],
    skills: Option<&Served>,
    requested: &SubscriptionFilter,
) -> Option<SubscriptionFilter> {
    engine.loader().watch()?;
    let mut filter = SubscriptionFilter::new();
    filter.resources_list_changed = requested.resources_list_changed.filter(|on| *on);
    filter.resource_subscriptions = requested.resource_subscriptions.as_ref().map(|uris| {
        uris.iter()
            .filter(|uri| Tracker::can_follow(uri, kinds, skills))
            .cloned()
            .collect()
    });
    Some(filter)
}

/// Runs one `subscriptions/listen` until the client cancels it.
pub async fn listen(
    engine: &Arc<Engine>,
    kinds: &[ResourceKind],
    skills: Option<Arc<Served>>,
    context: SubscriptionContext,
) -> Result<(), ErrorData> {
    let Some(mut changes) = engine.changes() else {
        return Ok(());
    };
    // The client was told the subscription stands before this runs, so
    // it may already be changing files while what it follows is first
    // looked at: a change seen meanwhile is reported for everything
    // followed (an update notice only says "read it again").
    let before = *changes.borrow_and_update();
    let accepted = context.accepted();
    let mut tracker =
        Tracker::new(accepted.resources_list_changed == Some(true)).with_skills(skills);
    for uri in accepted.resource_subscriptions.iter().flatten() {
        // Accepted URIs parse; one that fails now is simply not followed.
        let _ = tracker.follow(engine, kinds, uri).await;
    }
    tracker.prime(engine, kinds).await;
    let sink = context.sink().clone();
    let peer = &context.request_context().peer;
    if *changes.borrow() != before {
        let everything = Changes {
            updated: tracker.followed().map(str::to_owned).collect(),
            list_changed: accepted.resources_list_changed == Some(true),
        };
        changes.borrow_and_update();
        if send(peer, Some(&sink), everything).await.is_err() {
            return Ok(());
        }
    }
    let tracker = tokio::sync::Mutex::new(tracker);
    tokio::select! {
        () = context.cancelled() => {}
        () = notify_loop(changes, engine, kinds, &tracker, peer, Some(&sink)) => {}
    }
    Ok(())
}

/// After every change: look, then send what changed, through `sink` (a
/// 2026 subscription) or straight to `peer` (a legacy session). Returns
/// when the engine stops watching or the peer is gone.
async fn notify_loop(
    mut changes: tokio::sync::watch::Receiver<u64>,
    engine: &Engine,
    kinds: &[ResourceKind],
    tracker: &tokio::sync::Mutex<Tracker>,
    peer: &Peer<RoleServer>,
    sink: Option<&rmcp::service::SubscriptionSink>,
) {
    loop {
        tokio::select! {
            changed = changes.changed() => {
                if changed.is_err() {
                    return;
                }
            }
            () = tokio::time::sleep(SESSION_POLL) => {
                if peer.is_transport_closed() {
                    return;
                }
                continue;
            }
        }
        tokio::time::sleep(SETTLE).await;
        changes.borrow_and_update();
        let found = tracker.lock().await.poll(engine, kinds).await;
        if !found.is_empty() && send(peer, sink, found).await.is_err() {
            return;
        }
    }
}

/// Sends `changes`; an error when the peer is gone.
async fn send(
    peer: &Peer<RoleServer>,
    sink: Option<&rmcp::service::SubscriptionSink>,
    changes: Changes,
) -> Result<(), String> {
    for uri in changes.updated {
        tracing::debug!(uri = %crate::error::clip_to(&uri, 100), "resource updated");
        let sent = match sink {
            Some(sink) => sink
                .notify_resource_updated(uri)
                .await
                .map_err(|e| e.to_string()),
            None => peer
                .notify_resource_updated(ResourceUpdatedNotificationParam::new(uri))
                .await
                .map_err(|e| e.to_string()),
        };
        sent?;
    }
    if changes.list_changed {
        tracing::debug!("resource list changed");
        match sink {
            Some(sink) => sink
                .notify_resource_list_changed()
                .await
                .map_err(|e| e.to_string())?,
            None => peer
                .notify_resource_list_changed()
                .await
                .map_err(|e| e.to_string())?,
        }
    }
    Ok(())
}
