//! What one subscriber has seen of the resources it follows, and what has
//! changed since: the domain half of live updates, knowing nothing of MCP.
//!
//! A [`Tracker`] keeps, for every followed URI (a resource's, or a skill's
//! `SKILL.md`), the digest of the Markdown it last rendered (or that the record was absent), and a digest of the
//! whole listing (every URI of the kinds served). [`Tracker::poll`], run
//! after the engine's watch reports a change, renders them again through
//! the engine's caches and says which URIs changed and whether the listing
//! did. A change is a change of what a client would read: a write that
//! leaves a record's rendering as it was is not reported for it. A project
//! that fails to load keeps the last digests, so nothing is reported until
//! it loads again (and then only what differs).

use std::collections::BTreeMap;
use std::sync::Arc;

use sha2::{Digest, Sha256};

use crate::engine::Engine;
use crate::resources::{self, ResourceError, ResourceKind};
use crate::skills::{self, Served};

/// What a followed URI was when last looked at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Seen {
    /// No record has that id.
    Absent,
    /// The digest of its Markdown.
    Content([u8; 32]),
}

/// What changed since the last poll.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Changes {
    /// Followed URIs whose content changed, appeared or vanished.
    pub updated: Vec<String>,
    /// Whether the set of resources changed (an id appeared or vanished).
    pub list_changed: bool,
}

impl Changes {
    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        self.updated.is_empty() && !self.list_changed
    }
}

/// The URIs one subscriber follows and what it has seen of them.
#[derive(Debug, Default)]
pub struct Tracker {
    followed: BTreeMap<String, Option<Seen>>,
    listing: Option<[u8; 32]>,
    follow_listing: bool,
    skills: Option<Arc<Served>>,
}

impl Tracker {
    /// A tracker following no URI; `listing`: whether it follows the set
    /// of resources.
    pub fn new(listing: bool) -> Tracker {
        Tracker {
            follow_listing: listing,
            ..Tracker::default()
        }
    }

    /// This tracker, able to follow the `skill://` URIs of `skills` too
    /// (a mode's skill changes with its mode files).
    pub fn with_skills(self, skills: Option<Arc<Served>>) -> Tracker {
        Tracker { skills, ..self }
    }

    /// Whether `uri` can be followed: it names a resource of `kinds` or,
    /// when skills are served, a skill (the record or skill need not exist
    /// yet: its appearance is a change).
    pub fn can_follow(uri: &str, kinds: &[ResourceKind], skills: Option<&Served>) -> bool {
        (skills.is_some() && skills::is_skill_uri(uri)) || resources::parse_uri(uri, kinds).is_ok()
    }

    /// Follows `uri` (see [`Tracker::can_follow`]; anything else is the
    /// resource error naming the templates), recording what it is now.
    /// Following a URI twice is a no-op. The URI is kept as given, since
    /// notifications must name what the client subscribed to.
    pub async fn follow(
        &mut self,
        engine: &Engine,
        kinds: &[ResourceKind],
        uri: &str,
    ) -> Result<(), ResourceError> {
        if !Tracker::can_follow(uri, kinds, self.skills.as_deref()) {
            resources::parse_uri(uri, kinds)?;
        }
        if !self.followed.contains_key(uri) {
            let seen = look(engine, kinds, self.skills.as_deref(), uri).await;
            self.followed.insert(uri.to_owned(), seen);
        }
        Ok(())
    }

    /// Stops following `uri`; whether it was followed.
    pub fn unfollow(&mut self, uri: &str) -> bool {
        self.followed.remove(uri).is_some()
    }

    /// The URIs followed.
    pub fn followed(&self) -> impl Iterator<Item = &str> {
        self.followed.keys().map(String::as_str)
    }

    /// Records the listing as it is now, when the tracker follows it and
    /// has not yet: from then on, polls report when it changes. (Nothing
    /// is loaded for the listing before a client looks at it.)
    pub async fn prime(&mut self, engine: &Engine, kinds: &[ResourceKind]) {
        if self.follow_listing && self.listing.is_none() {
            self.listing = listing(engine, kinds).await;
        }
    }

    /// What changed since the last look, recorded as seen.
    pub async fn poll(&mut self, engine: &Engine, kinds: &[ResourceKind]) -> Changes {
        let mut changes = Changes::default();
        for (uri, seen) in self.followed.iter_mut() {
            let now = look(engine, kinds, self.skills.as_deref(), uri).await;
            if now.is_some() && now != *seen {
                // A URI whose first look failed (the project did not load)
                // is reported once it can be read.
                changes.updated.push(uri.clone());
                *seen = now;
            }
        }
        // The listing is compared from the moment it was primed (a client
        // that never listed has no list to invalidate).
        if self.follow_listing
            && let Some(before) = self.listing
            && let Some(now) = listing(engine, kinds).await
        {
            changes.list_changed = before != now;
            self.listing = Some(now);
        }
        changes
    }
}

/// What `uri` reads as now; `None` when it cannot be told (the project
/// failed to load).
async fn look(
    engine: &Engine,
    kinds: &[ResourceKind],
    skills: Option<&Served>,
    uri: &str,
) -> Option<Seen> {
    if let Some(served) = skills.filter(|_| skills::is_skill_uri(uri)) {
        return match skills::get(engine, served, uri).await {
            Ok(skill) => Some(Seen::Content(
                Sha256::digest(skill.markdown.as_bytes()).into(),
            )),
            Err(e) if e.is_not_found() => Some(Seen::Absent),
            Err(_) => None,
        };
    }
    match resources::read(engine, kinds, uri).await {
        Ok(resource) => Some(Seen::Content(
            Sha256::digest(resource.markdown.as_bytes()).into(),
        )),
        Err(e) if e.is_not_found() => Some(Seen::Absent),
        Err(_) => None,
    }
}

/// The digest of every resource URI of `kinds`; `None` when a kind failed
/// to load.
async fn listing(engine: &Engine, kinds: &[ResourceKind]) -> Option<[u8; 32]> {
    let mut hash = Sha256::new();
    for kind in kinds {
        for id in resources::ids(engine, *kind).await.ok()? {
            hash.update(kind.uri(&id).as_bytes());
            hash.update([0]);
        }
    }
    Some(hash.finalize().into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::EngineConfig;

    const QA: &str = r#"let s = import "schemas/qa.ncl" in
{
  entries = [
    { id = "one", question = "Q1?", answer = "A1.", actor = "agent", created_at = "2026-01-01", tags = [], related = [], verified = false },
    { id = "two", question = "Q2?", answer = "A2.", actor = "agent", created_at = "2026-01-01", tags = [], related = [], verified = false },
  ],
} | s.QaStore
"#;

    fn project() -> (tempfile::TempDir, Engine) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("reflection")).unwrap();
        std::fs::write(dir.path().join("reflection/qa.ncl"), QA).unwrap();
        let engine = Engine::new(EngineConfig {
            project: Some(dir.path().to_path_buf()),
            disk_cache: false,
            ..EngineConfig::default()
        })
        .unwrap();
        (dir, engine)
    }

    fn edit(dir: &tempfile::TempDir, from: &str, to: &str) {
        let path = dir.path().join("reflection/qa.ncl");
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains(from), "{from} not in the file");
        std::fs::write(&path, text.replace(from, to)).unwrap();
    }

    #[tokio::test]
    async fn an_edit_reports_the_entry_it_touched_and_a_new_id_the_listing() {
        let (dir, engine) = project();
        let kinds = [ResourceKind::Qa];
        let mut tracker = Tracker::new(true);
        tracker
            .follow(&engine, &kinds, "ontoref://qa/one")
            .await
            .unwrap();
        tracker
            .follow(&engine, &kinds, "ontoref://qa/two")
            .await
            .unwrap();
        tracker
            .follow(&engine, &kinds, "ontoref://qa/three")
            .await
            .unwrap();
        tracker.prime(&engine, &kinds).await;
        assert_eq!(tracker.poll(&engine, &kinds).await, Changes::default());

        edit(&dir, "A1.", "A1, revised.");
        let changes = tracker.poll(&engine, &kinds).await;
        assert_eq!(changes.updated, ["ontoref://qa/one"]);
        assert!(!changes.list_changed);

        edit(&dir, r#"{ id = "two""#, r#"{ id = "three""#);
        let changes = tracker.poll(&engine, &kinds).await;
        assert_eq!(changes.updated, ["ontoref://qa/three", "ontoref://qa/two"]);
        assert!(changes.list_changed);
        assert!(tracker.poll(&engine, &kinds).await.is_empty());
    }

    #[tokio::test]
    async fn a_broken_file_reports_nothing_until_it_loads_again() {
        let (dir, engine) = project();
        let kinds = [ResourceKind::Qa];
        let mut tracker = Tracker::new(true);
        tracker
            .follow(&engine, &kinds, "ontoref://qa/one")
            .await
            .unwrap();
        tracker.prime(&engine, &kinds).await;
        edit(&dir, "entries = [", "entries = [ 1,");
        assert!(tracker.poll(&engine, &kinds).await.is_empty());
        edit(&dir, "entries = [ 1,", "entries = [");
        assert!(tracker.poll(&engine, &kinds).await.is_empty());
        edit(&dir, "A1.", "A1 again.");
        assert_eq!(
            tracker.poll(&engine, &kinds).await.updated,
            ["ontoref://qa/one"]
        );
    }

    #[tokio::test]
    async fn only_uris_of_served_kinds_can_be_followed() {
        let (_dir, engine) = project();
        let mut tracker = Tracker::new(false);
        let e = tracker
            .follow(&engine, &[ResourceKind::Qa], "ontoref://adr/adr-001")
            .await
            .unwrap_err();
        assert!(matches!(e, ResourceError::UnknownUri { .. }), "{e:?}");
        assert!(tracker.followed().next().is_none());
        tracker
            .follow(&engine, &[ResourceKind::Qa], "ontoref://qa/one")
            .await
            .unwrap();
        assert!(tracker.unfollow("ontoref://qa/one"));
        assert!(!tracker.unfollow("ontoref://qa/one"));
    }
}
