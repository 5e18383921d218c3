//! Who a request runs as. A transport that authenticates each request (the
//! HTTP bearer tokens) puts the caller's [`RequestActor`] in the request's
//! extensions and tells the server how to find it
//! ([`OntorefServer::with_caller`](crate::server::OntorefServer::with_caller));
//! the server then runs the call within [`as_actor`], and
//! [`crate::Engine::actor`] reads it back through [`request_actor`]. A leaf
//! module: it knows no transport and no vault.

tokio::task_local! {
    static REQUEST_ACTOR: Option<String>;
}

/// The actor a transport authenticated for one request (by its bearer
/// token), put in the request's extensions. The server runs the request as
/// this actor; a request over an authenticating transport without one runs
/// as no actor, never as the server's own configured actor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestActor(pub String);

/// Runs `f` on behalf of `actor`: within it, [`crate::Engine::actor`]
/// returns `actor` instead of the engine's configured actor.
pub async fn as_actor<F: std::future::Future>(actor: Option<String>, f: F) -> F::Output {
    REQUEST_ACTOR.scope(actor, f).await
}

/// The actor bound to the current request, if a transport set one
/// (`Some(None)`: bound to no actor).
pub(crate) fn request_actor() -> Option<Option<String>> {
    REQUEST_ACTOR.try_with(Clone::clone).ok()
}
