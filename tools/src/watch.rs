//! The file watcher behind live knowledge: a change generation that moves
//! whenever a watched directory's contents change.
//!
//! A server watches the directories its knowledge files (and their imports)
//! live in, each non-recursively, so a big repository's build output is
//! never walked. Every event that may change a file (creation, removal,
//! modification, rename; not mere reads) bumps the generation, and so does
//! an in-process write ([`Watch::bump`]). Caches record the generation at
//! which they last validated their files: while it has not moved (and every
//! directory they depend on is watched) they answer without a single `stat`;
//! once it moves they revalidate with their stat stamps, so only what a
//! change touched (and what imports it) is evaluated again. Subscribers
//! ([`Watch::changes`]) learn of every bump.
//!
//! A directory that is removed or replaced is dropped from the watched set
//! (the kernel drops its watch) and watched again the next time a cache
//! depends on it; an event queue overflow bumps the generation, which only
//! costs every cache one revalidation. The window between a write and the
//! kernel's event reaching the watcher thread (microseconds) is the only
//! time a cache may still answer from the previous content.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use notify::{EventKind, RecommendedWatcher, RecursiveMode, Watcher};

/// What the watcher thread and the caches share.
#[derive(Debug)]
struct Shared {
    generation: AtomicU64,
    watched: Mutex<HashSet<PathBuf>>,
    changes: tokio::sync::watch::Sender<u64>,
}

impl Shared {
    fn bump(&self) {
        let generation = self.generation.fetch_add(1, Ordering::SeqCst) + 1;
        self.changes.send_replace(generation);
    }

    fn on_event(&self, result: notify::Result<notify::Event>) {
        match result {
            Ok(event) => {
                if matches!(event.kind, EventKind::Access(_)) && !event.need_rescan() {
                    return;
                }
                let mut watched = self.watched.lock().unwrap_or_else(|e| e.into_inner());
                // An event about a watched directory itself (removed, moved,
                // replaced): watch it afresh when next needed.
                for path in &event.paths {
                    watched.remove(path);
                }
                drop(watched);
                self.bump();
            }
            Err(e) => {
                tracing::debug!("file watcher error: {e}; every cache revalidates");
                self.bump();
            }
        }
    }
}

/// A running watcher over the directories caches depend on.
pub struct Watch {
    shared: Arc<Shared>,
    watcher: Mutex<RecommendedWatcher>,
}

impl std::fmt::Debug for Watch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watch")
            .field("generation", &self.generation())
            .finish()
    }
}

impl Watch {
    /// Starts a watcher (its own thread); the error says why the platform
    /// refused one (for instance the inotify instance limit).
    pub fn start() -> Result<Watch, String> {
        let (changes, _) = tokio::sync::watch::channel(0);
        let shared = Arc::new(Shared {
            generation: AtomicU64::new(0),
            watched: Mutex::default(),
            changes,
        });
        let handler = shared.clone();
        let watcher = notify::recommended_watcher(move |result| handler.on_event(result))
            .map_err(|e| e.to_string())?;
        Ok(Watch {
            shared,
            watcher: Mutex::new(watcher),
        })
    }

    /// The current generation: unchanged means no watched directory changed.
    pub fn generation(&self) -> u64 {
        self.shared.generation.load(Ordering::SeqCst)
    }

    /// Marks a change made by this process (a write), so caches revalidate
    /// and subscribers hear of it without waiting for the kernel's event.
    pub fn bump(&self) {
        self.shared.bump();
    }

    /// Every generation from now on; the value is the newest generation.
    pub fn changes(&self) -> tokio::sync::watch::Receiver<u64> {
        self.shared.changes.subscribe()
    }

    /// Watches `dir` (its direct entries) if it is not already watched;
    /// whether it is watched now. A directory that does not exist is not.
    pub fn track(&self, dir: &Path) -> bool {
        {
            let watched = self
                .shared
                .watched
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            if watched.contains(dir) {
                return true;
            }
        }
        let mut watcher = self.watcher.lock().unwrap_or_else(|e| e.into_inner());
        match watcher.watch(dir, RecursiveMode::NonRecursive) {
            Ok(()) => {
                self.shared
                    .watched
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(dir.to_path_buf());
                true
            }
            Err(e) => {
                tracing::trace!(dir = %dir.display(), "not watched: {e}");
                false
            }
        }
    }

    /// Watches the directory of every file in `files`; whether all are
    /// watched (files with no directory count as watched).
    pub fn track_files<'a>(&self, files: impl IntoIterator<Item = &'a Path>) -> bool {
        let mut all = true;
        let mut seen: HashSet<&Path> = HashSet::new();
        for file in files {
            if let Some(dir) = file.parent()
                && seen.insert(dir)
            {
                all &= self.track(dir);
            }
        }
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    fn wait_past(watch: &Watch, generation: u64) -> bool {
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if watch.generation() > generation {
                return true;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        false
    }

    #[test]
    fn a_write_in_a_watched_directory_moves_the_generation_and_a_read_does_not() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("qa.ncl");
        std::fs::write(&file, "{}").unwrap();
        let watch = Watch::start().unwrap();
        assert!(watch.track(dir.path()));
        assert!(watch.track(dir.path()), "tracking twice is a no-op");
        // Reading the file is not a change.
        let before = watch.generation();
        let _ = std::fs::read(&file).unwrap();
        std::thread::sleep(Duration::from_millis(100));
        assert_eq!(watch.generation(), before);
        std::fs::write(&file, "{ a = 1 }").unwrap();
        assert!(wait_past(&watch, before), "no event for a write");
    }

    #[test]
    fn a_replaced_directory_is_watched_again_when_tracked() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("reflection");
        std::fs::create_dir(&dir).unwrap();
        let watch = Watch::start().unwrap();
        assert!(watch.track(root.path()));
        assert!(watch.track(&dir));
        let before = watch.generation();
        std::fs::remove_dir(&dir).unwrap();
        assert!(wait_past(&watch, before));
        std::fs::create_dir(&dir).unwrap();
        // Let the removal's events settle, then watch the new directory.
        std::thread::sleep(Duration::from_millis(100));
        assert!(watch.track(&dir));
        let before = watch.generation();
        std::fs::write(dir.join("qa.ncl"), "{}").unwrap();
        assert!(
            wait_past(&watch, before),
            "the new directory is not watched"
        );
    }

    #[test]
    fn a_missing_directory_is_not_watched_and_subscribers_see_bumps() {
        let root = tempfile::tempdir().unwrap();
        let watch = Watch::start().unwrap();
        assert!(!watch.track(&root.path().join("absent")));
        assert!(!watch.track_files([root.path().join("absent/qa.ncl").as_path()]));
        let mut changes = watch.changes();
        let before = *changes.borrow_and_update();
        watch.bump();
        assert!(changes.has_changed().unwrap());
        assert_eq!(*changes.borrow_and_update(), before + 1);
    }
}
