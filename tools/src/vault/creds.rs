//! Isolated Docker config directories: the only form in which a credential
//! leaves the vault by default. Each is a fresh `mkdtemp` directory (0700)
//! under the runtime directory ([`crate::private::runtime_dir`]: never the
//! shared temporary directory itself) holding `config.json` (0600) with one
//! registry's auth, plus an expiry marker. A server removes its directories
//! at expiry and when it exits; a server at start and any fetch sweep the
//! expired directories other processes left behind (a SIGKILLed server's).
//! The sweep touches only directories that are this user's own, mode 0700,
//! never follows a link, and removes files by unlinking them, never by
//! writing through them. Nothing ever falls back to `~/.docker/config.json`.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use zeroize::Zeroizing;

use crate::vault::VaultError;

/// Name prefix of every credential directory.
pub const PREFIX: &str = "ontoref-cred-";
/// The expiry marker inside a credential directory (unix seconds).
pub const EXPIRES_FILE: &str = ".ontoref-expires";

/// The largest expiry marker read.
const MAX_MARKER: u64 = 64;

/// A credential directory handed out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issued {
    /// The directory (use as `DOCKER_CONFIG`).
    pub dir: PathBuf,
    /// When it is removed.
    pub expires: SystemTime,
}

/// The credential directories this process made and still owns.
#[derive(Debug)]
pub struct CredentialDirs {
    /// Where they are made, or why there is no usable place.
    root: Result<PathBuf, String>,
    ttl: Duration,
    live: Arc<Mutex<HashMap<PathBuf, SystemTime>>>,
}

impl CredentialDirs {
    /// Directories under `root` that live `ttl`; an `Err` root (no usable
    /// runtime directory) refuses every issue with its reason.
    pub fn new(root: Result<PathBuf, String>, ttl: Duration) -> CredentialDirs {
        CredentialDirs {
            root,
            ttl,
            live: Arc::default(),
        }
    }

    /// How long a directory lives.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Where directories are made, when there is a usable place.
    pub fn root(&self) -> Option<&Path> {
        self.root.as_deref().ok()
    }

    /// Removes expired credential directories left in the runtime
    /// directory (by a server that was killed, or a one-shot fetch whose
    /// reaper died).
    pub fn sweep(&self) {
        if let Ok(root) = &self.root {
            sweep_expired(root);
        }
    }

    /// Writes a new directory holding `config.json` with the auth for
    /// `endpoint`. With `owned`, this process removes it at expiry (on a
    /// Tokio runtime) and when [`CredentialDirs::remove_all`] runs or it is
    /// dropped; otherwise the caller arranges its removal.
    pub fn issue(
        &self,
        endpoint: &str,
        username: &str,
        password: &str,
        owned: bool,
    ) -> Result<Issued, VaultError> {
        let root = self.root.as_ref().map_err(|why| VaultError::Io {
            what: "use the runtime directory",
            path: "(credential directories)".to_owned(),
            reason: why.clone(),
        })?;
        sweep_expired(root);
        let io = |what: &'static str, path: &Path, e: std::io::Error| VaultError::Io {
            what,
            path: path.display().to_string(),
            reason: e.to_string(),
        };
        let dir = tempfile::Builder::new()
            .prefix(PREFIX)
            .tempdir_in(root)
            .map_err(|e| io("create a credential directory in", root, e))?
            .keep();
        let expires = SystemTime::now() + self.ttl;
        let written = (|| {
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))
                    .map_err(|e| io("restrict", &dir, e))?;
            }
            let secs = expires
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0);
            write_private(&dir.join(EXPIRES_FILE), secs.to_string().as_bytes())
                .map_err(|e| io("write", &dir.join(EXPIRES_FILE), e))?;
            let config = docker_config(endpoint, username, password);
            write_private(&dir.join("config.json"), config.as_bytes())
                .map_err(|e| io("write", &dir.join("config.json"), e))
        })();
        if let Err(e) = written {
            remove(&dir);
            return Err(e);
        }
        if owned {
            if let Ok(mut live) = self.live.lock() {
                live.insert(dir.clone(), expires);
            }
            if let Ok(handle) = tokio::runtime::Handle::try_current() {
                let live = Arc::downgrade(&self.live);
                let path = dir.clone();
                let ttl = self.ttl;
                handle.spawn(async move {
                    tokio::time::sleep(ttl).await;
                    if let Some(live) = live.upgrade()
                        && let Ok(mut live) = live.lock()
                    {
                        live.remove(&path);
                    }
                    remove(&path);
                    tracing::debug!(dir = %path.display(), "credential directory expired and removed");
                });
            }
        }
        Ok(Issued { dir, expires })
    }

    /// The directories still alive.
    pub fn live(&self) -> Vec<PathBuf> {
        self.live
            .lock()
            .map(|l| l.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// Removes every directory this process owns.
    pub fn remove_all(&self) {
        let dirs: Vec<PathBuf> = self
            .live
            .lock()
            .map(|mut l| l.drain().map(|(d, _)| d).collect())
            .unwrap_or_default();
        for d in dirs {
            remove(&d);
        }
    }
}

impl Drop for CredentialDirs {
    fn drop(&mut self) {
        self.remove_all();
    }
}

/// `{"auths": {"<endpoint>": {"auth": base64("user:pass")}}}`, zeroized on drop.
fn docker_config(endpoint: &str, username: &str, password: &str) -> Zeroizing<String> {
    let pair = Zeroizing::new(format!("{username}:{password}"));
    let auth = Zeroizing::new(base64::engine::general_purpose::STANDARD.encode(pair.as_bytes()));
    let endpoint = serde_json::Value::from(endpoint).to_string();
    Zeroizing::new(format!(
        "{{\"auths\":{{{endpoint}:{{\"auth\":\"{}\"}}}}}}\n",
        auth.as_str()
    ))
}

/// Creates `path` (it must not exist) with mode 0600 and writes `bytes`.
pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    // No fsync: the directory is ephemeral, and a crash that loses it loses
    // nothing that should have outlived the process.
    options.open(path)?.write_all(bytes)
}

/// Whether `dir` is named as a credential directory.
fn is_credential_dir(dir: &Path) -> bool {
    dir.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with(PREFIX))
}

/// Whether `dir` is a credential directory this user made: the name, a
/// real directory (not a link), ours, mode 0700.
fn is_ours(dir: &Path) -> bool {
    is_credential_dir(dir) && crate::private::check(dir, crate::private::Mode::Private).is_ok()
}

/// Removes a credential directory of ours. Files are unlinked, never
/// written to: a planted link inside could otherwise aim the write at any
/// file the user owns. (The directory is normally on a tmpfs.)
pub fn remove(dir: &Path) {
    if is_ours(dir) {
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// When the directory's marker says it expires (the marker is read only
/// from a directory of ours, without following a link).
pub fn expiry_of(dir: &Path) -> Option<SystemTime> {
    if !is_ours(dir) {
        return None;
    }
    let text = crate::fsread::read_text(
        &dir.join(EXPIRES_FILE),
        MAX_MARKER,
        crate::fsread::Links::Refuse,
    )
    .ok()?;
    let secs: u64 = text.trim().parse().ok()?;
    Some(UNIX_EPOCH + Duration::from_secs(secs))
}

/// Removes the expired credential directories under `root` that are this
/// user's own; anything else (another user's, a link, a loose file) is left
/// alone.
pub fn sweep_expired(root: &Path) {
    let Ok(entries) = std::fs::read_dir(root) else {
        return;
    };
    let now = SystemTime::now();
    for e in entries.flatten() {
        let path = e.path();
        if expiry_of(&path).is_some_and(|t| t <= now) {
            remove(&path);
        }
    }
}

/// Sleeps until `dir` expires, then removes it: what the detached reaper
/// that `ontoref secrets fetch` leaves behind runs.
pub fn reap_at_expiry(dir: &Path) -> Result<(), VaultError> {
    let Some(expires) = expiry_of(dir).filter(|_| is_credential_dir(dir)) else {
        return Err(VaultError::Invalid(format!(
            "{} is not an ontoref credential directory",
            dir.display()
        )));
    };
    if let Ok(wait) = expires.duration_since(SystemTime::now()) {
        std::thread::sleep(wait);
    }
    remove(dir);
    Ok(())
}

/// An RFC 3339 UTC rendering of `t`.
pub fn rfc3339(t: SystemTime) -> String {
    chrono::DateTime::<chrono::Utc>::from(t).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_a_private_docker_config_and_removes_it() {
        let tmp = tempfile::tempdir().unwrap();
        let dirs = CredentialDirs::new(Ok(tmp.path().to_path_buf()), Duration::from_secs(60));
        let issued = dirs
            .issue("registry.example:5000", "robot", "s3cr3t\"pw", true)
            .unwrap();
        let config: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(issued.dir.join("config.json")).unwrap())
                .unwrap();
        let auth = config["auths"]["registry.example:5000"]["auth"]
            .as_str()
            .unwrap();
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(auth)
            .unwrap();
        assert_eq!(decoded, b"robot:s3cr3t\"pw");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&issued.dir), 0o700);
            assert_eq!(mode(&issued.dir.join("config.json")), 0o600);
        }
        assert_eq!(dirs.live(), std::slice::from_ref(&issued.dir));
        drop(dirs);
        assert!(!issued.dir.exists());
    }

    #[test]
    fn sweeps_only_expired_credential_dirs() {
        let tmp = tempfile::tempdir().unwrap();
        let old = CredentialDirs::new(Ok(tmp.path().to_path_buf()), Duration::ZERO);
        let stale = old.issue("r", "u", "p", false).unwrap();
        let fresh = CredentialDirs::new(Ok(tmp.path().to_path_buf()), Duration::from_secs(600))
            .issue("r", "u", "p", false)
            .unwrap();
        let unrelated = tmp.path().join("keep-me");
        std::fs::create_dir(&unrelated).unwrap();
        sweep_expired(tmp.path());
        assert!(!stale.dir.exists());
        assert!(fresh.dir.exists());
        assert!(unrelated.exists());
        assert!(reap_at_expiry(&unrelated).is_err());
    }

    #[cfg(unix)]
    #[test]
    fn the_sweep_never_writes_through_a_planted_link_nor_touches_foreign_dirs() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let victim = tmp.path().join("victim.txt");
        std::fs::write(&victim, b"precious").unwrap();
        let root = tmp.path().join("run");
        std::fs::create_dir(&root).unwrap();
        // A planted, expired "credential directory" that is not private,
        // whose config.json links to the victim.
        let planted = root.join(format!("{PREFIX}planted"));
        std::fs::create_dir(&planted).unwrap();
        std::fs::set_permissions(&planted, std::fs::Permissions::from_mode(0o777)).unwrap();
        std::fs::write(planted.join(EXPIRES_FILE), b"1").unwrap();
        std::os::unix::fs::symlink(&victim, planted.join("config.json")).unwrap();
        // A link named like a credential directory, pointing at a real one.
        let real = tmp.path().join("elsewhere");
        std::fs::create_dir(&real).unwrap();
        std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o700)).unwrap();
        std::fs::write(real.join(EXPIRES_FILE), b"1").unwrap();
        std::os::unix::fs::symlink(&real, root.join(format!("{PREFIX}link"))).unwrap();
        sweep_expired(&root);
        assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
        assert!(planted.exists() && real.exists());
        // An expired directory of ours whose config.json is a link: the
        // link is unlinked, its target untouched.
        let ours = CredentialDirs::new(Ok(root.clone()), Duration::ZERO)
            .issue("r", "u", "p", false)
            .unwrap();
        std::fs::remove_file(ours.dir.join("config.json")).unwrap();
        std::os::unix::fs::symlink(&victim, ours.dir.join("config.json")).unwrap();
        sweep_expired(&root);
        assert!(!ours.dir.exists());
        assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
    }

    #[tokio::test]
    async fn an_owned_dir_is_removed_at_expiry() {
        let tmp = tempfile::tempdir().unwrap();
        let dirs = CredentialDirs::new(Ok(tmp.path().to_path_buf()), Duration::from_millis(50));
        let issued = dirs.issue("r", "u", "p", true).unwrap();
        assert!(issued.dir.exists());
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(!issued.dir.exists());
        assert!(dirs.live().is_empty());
    }
}
