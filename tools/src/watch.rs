//! The file watcher behind live knowledge: a change generation that moves
//! whenever a watched directory's contents change.
//!
//! A server watches the directories its knowledge files (and their imports)
//! live in, each non-recursively, so a big repository's build output is
//! never walked. Every event that may change a file (creation, removal,
//! modification, attributes, rename; not mere reads) bumps the generation,
//! and so does an in-process write ([`Watch::bump`]). Caches record the
//! generation at which they last validated their files: while it has not
//! moved (and every directory they depend on is watched) they answer without
//! a single `stat`; once it moves they revalidate with their stat stamps, so
//! only what a change touched (and what imports it) is evaluated again.
//! Subscribers ([`Watch::changes`]) learn of every bump.
//!
//! Reads see every finished write. The kernel queues an inotify event
//! inside the writer's system call, so [`Watch::generation`] first drains
//! the queue without blocking (one `read` that usually finds nothing): a
//! file written by another process before a request arrived is never
//! answered from its previous content, however late the watcher thread is
//! scheduled. The thread only exists to wake subscribers. This is why the
//! watcher talks to inotify itself rather than through a portable crate
//! such as `notify`, whose events reach the program only through its own
//! thread; on other systems [`Watch::start`] refuses and every call checks
//! its files' stamps instead.
//!
//! A directory that is removed or replaced is dropped from the watched set
//! (the kernel drops its watch) and watched again the next time a cache
//! depends on it; an event queue overflow bumps the generation, which only
//! costs every cache one revalidation.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

/// Locks `mutex`, taking the data of a holder that panicked (the sets stay
/// consistent: every update is a single insert or remove).
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// What the watcher thread and the caches share.
struct Shared {
    generation: AtomicU64,
    changes: tokio::sync::watch::Sender<u64>,
    kernel: Mutex<kernel::Queue>,
    stop: AtomicBool,
}

impl Shared {
    fn bump(&self) {
        let generation = self.generation.fetch_add(1, Ordering::SeqCst) + 1;
        self.changes.send_replace(generation);
    }

    /// Takes every event the kernel has queued (without waiting) and bumps
    /// the generation once if any may have changed a file.
    fn drain(&self) {
        if lock(&self.kernel).drain() {
            self.bump();
        }
    }
}

/// A running watcher over the directories caches depend on.
pub struct Watch {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Watch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watch")
            .field("generation", &self.shared.generation.load(Ordering::SeqCst))
            .finish()
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        // The thread sees this within one poll timeout and ends.
        self.shared.stop.store(true, Ordering::SeqCst);
    }
}

impl Watch {
    /// Starts a watcher (and its thread); the error says why the platform
    /// refused one (for instance the inotify instance limit).
    pub fn start() -> Result<Watch, String> {
        let (queue, wake) = kernel::Queue::open()?;
        let (changes, _) = tokio::sync::watch::channel(0);
        let shared = Arc::new(Shared {
            generation: AtomicU64::new(0),
            changes,
            kernel: Mutex::new(queue),
            stop: AtomicBool::new(false),
        });
        let thread = shared.clone();
        std::thread::Builder::new()
            .name("ontoref-watch".into())
            .spawn(move || {
                while !thread.stop.load(Ordering::SeqCst) {
                    if kernel::wait(&wake) {
                        thread.drain();
                    }
                }
            })
            .map_err(|e| format!("cannot start the watcher thread: {e}"))?;
        Ok(Watch { shared })
    }

    /// The current generation, after every change the kernel has already
    /// queued: unchanged means no watched directory changed.
    pub fn generation(&self) -> u64 {
        self.shared.drain();
        self.shared.generation.load(Ordering::SeqCst)
    }

    /// Marks a change made by this process (a write), so caches revalidate
    /// and subscribers hear of it at once.
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
        // A removal still queued must not leave a dead watch counted.
        self.shared.drain();
        match lock(&self.shared.kernel).add(dir) {
            Ok(()) => true,
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

#[cfg(target_os = "linux")]
mod kernel {
    //! The inotify instance: its watches by directory and the event queue.

    use super::*;
    use inotify::{EventMask, Inotify, WatchDescriptor, WatchMask};
    use std::os::fd::{AsFd, OwnedFd};

    /// Events that may change what a file reads as (not opens or reads).
    fn mask() -> WatchMask {
        WatchMask::MODIFY
            | WatchMask::ATTRIB
            | WatchMask::CLOSE_WRITE
            | WatchMask::CREATE
            | WatchMask::DELETE
            | WatchMask::MOVED_FROM
            | WatchMask::MOVED_TO
            | WatchMask::DELETE_SELF
            | WatchMask::MOVE_SELF
    }

    /// The instance with the watches it holds.
    pub(super) struct Queue {
        inotify: Inotify,
        dirs: HashMap<PathBuf, WatchDescriptor>,
        paths: HashMap<WatchDescriptor, PathBuf>,
        buffer: Vec<u8>,
    }

    impl Queue {
        /// A new instance and a second handle on it for the thread to wait on.
        pub(super) fn open() -> Result<(Queue, OwnedFd), String> {
            let inotify = Inotify::init().map_err(|e| format!("inotify refused: {e}"))?;
            let wake = inotify
                .as_fd()
                .try_clone_to_owned()
                .map_err(|e| format!("inotify handle not duplicated: {e}"))?;
            let queue = Queue {
                inotify,
                dirs: HashMap::new(),
                paths: HashMap::new(),
                buffer: vec![0; 16 * 1024],
            };
            Ok((queue, wake))
        }

        pub(super) fn add(&mut self, dir: &Path) -> std::io::Result<()> {
            if self.dirs.contains_key(dir) {
                return Ok(());
            }
            let wd = self
                .inotify
                .watches()
                .add(dir, mask() | WatchMask::ONLYDIR)?;
            self.dirs.insert(dir.to_path_buf(), wd.clone());
            self.paths.insert(wd, dir.to_path_buf());
            Ok(())
        }

        /// Forgets the watch `wd` (its directory went away or moved).
        fn forget(&mut self, wd: &WatchDescriptor) -> bool {
            let Some(path) = self.paths.remove(wd) else {
                return false;
            };
            if self.dirs.get(&path) == Some(wd) {
                self.dirs.remove(&path);
            }
            true
        }

        /// Reads every queued event without waiting; whether any may have
        /// changed a file.
        pub(super) fn drain(&mut self) -> bool {
            let mut changed = false;
            loop {
                let mut gone = Vec::new();
                let mut any = false;
                match self.inotify.read_events(&mut self.buffer) {
                    Ok(events) => {
                        for event in events {
                            any = true;
                            if event.mask.intersects(
                                EventMask::IGNORED | EventMask::DELETE_SELF | EventMask::MOVE_SELF,
                            ) {
                                gone.push((
                                    event.wd.clone(),
                                    event.mask.contains(EventMask::MOVE_SELF),
                                ));
                            }
                        }
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return changed,
                    Err(e) => {
                        tracing::debug!("file watcher error: {e}; every cache revalidates");
                        return true;
                    }
                }
                for (wd, moved) in gone {
                    // A moved directory keeps its watch in the kernel: drop
                    // it, or its new home would still bump the generation.
                    if self.forget(&wd) && moved {
                        let _ = self.inotify.watches().remove(wd);
                    }
                }
                changed |= any;
                if !any {
                    return changed;
                }
            }
        }
    }

    /// Waits (at most a quarter second, so a dropped [`Watch`] ends its
    /// thread) for events; whether some are queued.
    pub(super) fn wait(fd: &OwnedFd) -> bool {
        use rustix::event::{PollFd, PollFlags, Timespec, poll};
        let mut fds = [PollFd::new(fd, PollFlags::IN)];
        let timeout = Timespec {
            tv_sec: 0,
            tv_nsec: 250_000_000,
        };
        matches!(poll(&mut fds, Some(&timeout)), Ok(n) if n > 0)
    }
}

#[cfg(not(target_os = "linux"))]
mod kernel {
    //! No watcher off Linux: every call checks its files' stamps instead.

    use super::*;

    pub(super) struct Queue;
    pub(super) struct Wake;

    impl Queue {
        pub(super) fn open() -> Result<(Queue, Wake), String> {
            Err("live updates need Linux inotify; every call checks its files instead".into())
        }
        pub(super) fn add(&mut self, _: &Path) -> std::io::Result<()> {
            Err(std::io::ErrorKind::Unsupported.into())
        }
        pub(super) fn drain(&mut self) -> bool {
            false
        }
    }

    pub(super) fn wait(_: &Wake) -> bool {
        false
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
    fn a_finished_write_is_seen_by_the_very_next_look() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("qa.ncl");
        std::fs::write(&file, "{}").unwrap();
        let watch = Watch::start().unwrap();
        assert!(watch.track(dir.path()));
        // No waiting: the event is queued by the write itself, so a look
        // after it returns must see it, however late the thread runs.
        for i in 0..200 {
            let before = watch.generation();
            std::fs::write(&file, format!("{{ a = {i} }}")).unwrap();
            assert!(watch.generation() > before, "write {i} not seen at once");
        }
        let before = watch.generation();
        assert_eq!(watch.generation(), before, "no change, no move");
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
