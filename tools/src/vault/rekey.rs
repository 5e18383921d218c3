//! `ontoref secrets rekey`: every credential file of the vault rewrapped for
//! exactly the recipients its `recipient_rules` entry routes it to (ADR-019),
//! as `sops updatekeys` does.
//!
//! For each `*.sops.yaml` of the vault ([`VaultPaths::sops_files`]) the first
//! matching rule ([`first_rule`]) names groups; their keys are the file's new
//! recipients. A file whose recipients already are that set is left as it
//! is (not even decrypted); a file no rule matches is left as it is and
//! reported with no rule. Every other file is rewrapped by
//! [`SopsFile::rewrap`]: its data key is opened with the master key (which
//! must therefore be one of its current recipients, else
//! [`VaultError::RekeyNotRecipient`]), the whole file is decrypted and its MAC
//! checked, and the same data key is wrapped for each new recipient. The
//! values, `mac` and `lastmodified` are written back unchanged; nothing
//! decrypted leaves this module.
//!
//! All-or-nothing: every file is read and rewrapped in memory first; only
//! when all succeed are they written, each to a private (0600) temporary
//! file beside it, fsync'd and renamed over it. A failure before the renames
//! leaves every file byte-for-byte as it was; one during them (or while
//! regenerating `.sops.yaml`, or recording the audit line) puts back the
//! files already replaced. Then `.sops.yaml` is regenerated from the rules
//! ([`write_sops_config`]), and the attempt, done or refused, is one line of
//! the vault's audit log (op `rekey`, outcome `ok` or the error's code),
//! keyed with the master key's audit key.

use std::collections::BTreeSet;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::Serialize;

use crate::engine::Engine;
use crate::error::ToolError;
use crate::fsread::{self, Links};
use crate::vault::VaultError;
use crate::vault::audit::{self, AuditKey, Record};
use crate::vault::fetch::MAX_SOPS_FILE;
use crate::vault::gate;
use crate::vault::inspect::{first_rule, locate, sops_config, write_sops_config};
use crate::vault::key::Identities;
use crate::vault::settings::{RecipientRule, SopsSettings, VaultPaths};
use crate::vault::sops::SopsFile;

/// The op of a rekey's audit record.
pub const OP: &str = "rekey";

/// One credential file in a rekey. Only public keys and paths: never a
/// secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct RekeyedFile {
    /// Path relative to the vault directory.
    pub path: String,
    /// The `recipient_rules` path regex that routes it; `null` when no rule
    /// matches (the file is then left unchanged).
    pub rule: Option<String>,
    /// Its age recipients before, in file order.
    pub recipients_before: Vec<String>,
    /// Its age recipients after, in file order.
    pub recipients_after: Vec<String>,
    /// Recipients it gained.
    pub added: Vec<String>,
    /// Recipients it lost.
    pub removed: Vec<String>,
    /// Whether the file was rewritten.
    pub changed: bool,
}

/// What `secrets rekey` did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct RekeyReport {
    /// The vault.
    pub vault_id: String,
    /// Every credential file, sorted by path.
    pub files: Vec<RekeyedFile>,
    /// How many files were rewritten.
    pub changed: usize,
    /// How many files no rule matches (left unchanged).
    pub unrouted: usize,
    /// The regenerated `.sops.yaml`.
    pub sops_config: String,
}

/// Rekeys the engine's project's vault with its master key and records the
/// attempt in the vault's audit log (unkeyed when the master key cannot be
/// read). Refuses a project without a `sops` record or without
/// `recipient_rules`.
pub async fn rekey(engine: &Engine) -> Result<RekeyReport, ToolError> {
    let (sops, vault) = locate(engine).await?;
    let sops = sops.ok_or_else(|| {
        VaultError::Invalid(
            ".ontoref/project.ncl has no `sops` record, so there are no recipient rules to rekey to"
                .to_owned(),
        )
    })?;
    let actor = engine.actor();
    let role = actor.as_ref().and_then(|a| {
        sops.actor_key_bindings
            .as_ref()
            .and_then(|b| b.get(a).cloned())
    });
    let record = Record {
        ts: audit::now(),
        actor,
        role,
        op: OP.to_owned(),
        target: vault.id.clone(),
        registry_id: None,
        outcome: String::new(),
        reveal: false,
        digest: None,
        target_sha256: None,
        cut: Vec::new(),
        prev: String::new(),
        mac: None,
    };
    let identities = match gate::master_key(engine, Some(&sops)).await {
        Ok(ids) => ids,
        Err(e) => {
            let record = Record {
                outcome: e.code().to_owned(),
                ..record
            };
            let log = vault.audit_log();
            let appended = tokio::task::spawn_blocking(move || audit::append(&log, record, None))
                .await
                .map_err(|j| {
                    ToolError::Internal(format!("the audit append did not finish: {j}"))
                })?;
            if let Err(a) = appended {
                tracing::warn!(code = a.code(), "the refused rekey could not be recorded");
            }
            return Err(e);
        }
    };
    tokio::task::spawn_blocking(move || {
        let key = AuditKey::derive(&identities, &vault.id)
            .map_err(|reason| {
                tracing::info!(%reason, "no audit key: this rekey is recorded unkeyed");
            })
            .ok();
        rekey_and_record(&sops, &vault, &identities, record, key.as_ref())
    })
    .await
    .map_err(|e| ToolError::Internal(format!("the rekey did not finish: {e}")))?
    .map_err(ToolError::from)
}

/// The rekey (see the module documentation), then `record` appended to the vault's audit log with
/// its outcome. A rekey that cannot be recorded is undone (no unaudited
/// rekey); a refusal that cannot be recorded is still the refusal.
pub fn rekey_and_record(
    sops: &SopsSettings,
    vault: &VaultPaths,
    identities: &Identities,
    mut record: Record,
    key: Option<&AuditKey>,
) -> Result<RekeyReport, VaultError> {
    let outcome = plan(sops, vault, identities).and_then(|p| p.commit(sops, vault));
    match &outcome {
        Ok(done) => {
            record.outcome = "ok".to_owned();
            let changed: Vec<&str> = done
                .report
                .files
                .iter()
                .filter(|f| f.changed)
                .map(|f| f.path.as_str())
                .collect();
            if !changed.is_empty() {
                record.target = format!("{}: {}", vault.id, changed.join(", "));
            }
        }
        Err(e) => record.outcome = e.code().to_owned(),
    }
    let appended = audit::append(&vault.audit_log(), record, key);
    match (outcome, appended) {
        (Ok(done), Ok(_)) => Ok(done.finish()),
        (Ok(done), Err(e)) => {
            done.undo();
            Err(e)
        }
        (Err(e), Ok(_)) => Err(e),
        (Err(e), Err(a)) => {
            tracing::warn!(code = a.code(), "the refused rekey could not be recorded");
            Err(e)
        }
    }
}

/// One file to rewrite.
struct Change {
    /// The file.
    path: PathBuf,
    /// Its text as read.
    original: String,
    /// Its rewrapped text.
    new: String,
}

/// Everything computed, nothing written.
struct Plan {
    report: RekeyReport,
    changes: Vec<Change>,
}

/// Reads every credential file and rewraps those whose recipients differ
/// from their rule's; writes nothing.
fn plan(
    sops: &SopsSettings,
    vault: &VaultPaths,
    identities: &Identities,
) -> Result<Plan, VaultError> {
    // Checks every rule's regex and groups before any file is looked at.
    sops_config(sops)?;
    let mut files = Vec::new();
    let mut changes = Vec::new();
    for rel in vault.sops_files() {
        let path = vault.dir.join(&rel);
        let shown = path.display().to_string();
        let original =
            fsread::read_text(&path, MAX_SOPS_FILE, Links::Refuse).map_err(|e| VaultError::Io {
                what: "read",
                path: shown.clone(),
                reason: e.to_string(),
            })?;
        let failed = |source| VaultError::SopsDecryptFailed {
            file: shown.clone(),
            source,
        };
        let file = SopsFile::parse(&original).map_err(failed)?;
        let before = file.recipients();
        let Some(rule) = first_rule(&sops.recipient_rules, &rel) else {
            files.push(RekeyedFile {
                path: rel,
                rule: None,
                recipients_after: before.clone(),
                recipients_before: before,
                added: Vec::new(),
                removed: Vec::new(),
                changed: false,
            });
            continue;
        };
        let recipients = rule_recipients(sops, rule, &rel)?;
        let after: Vec<String> = recipients.iter().map(ToString::to_string).collect();
        let (added, removed) = difference(&before, &after);
        let changed = !(added.is_empty() && removed.is_empty());
        if changed {
            let new = file
                .rewrap(identities.as_slice(), &recipients)
                .map_err(|source| {
                    if source.is_not_recipient() {
                        VaultError::RekeyNotRecipient {
                            file: shown.clone(),
                            recipients: before.clone(),
                            master: identities.recipients.clone(),
                        }
                    } else {
                        failed(source)
                    }
                })?;
            changes.push(Change {
                path: path.clone(),
                original,
                new,
            });
        }
        files.push(RekeyedFile {
            path: rel,
            rule: Some(rule.path.clone()),
            recipients_after: if changed { after } else { before.clone() },
            recipients_before: before,
            added,
            removed,
            changed,
        });
    }
    let report = RekeyReport {
        vault_id: vault.id.clone(),
        changed: files.iter().filter(|f| f.changed).count(),
        unrouted: files.iter().filter(|f| f.rule.is_none()).count(),
        files,
        sops_config: String::new(),
    };
    Ok(Plan { report, changes })
}

/// The X25519 recipients of `rule`'s groups, in rule and group order,
/// without duplicates.
fn rule_recipients(
    sops: &SopsSettings,
    rule: &RecipientRule,
    file: &str,
) -> Result<Vec<age::x25519::Recipient>, VaultError> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for group in &rule.groups {
        let members = sops.recipient_groups.get(group).ok_or_else(|| {
            VaultError::Invalid(format!(
                "recipient rule `{}` (for {file}) names undeclared group `{group}`",
                rule.path
            ))
        })?;
        for k in members {
            let r: age::x25519::Recipient = k.parse().map_err(|_| {
                VaultError::Invalid(format!(
                    "group `{group}` (rule `{}`, for {file}) holds `{k}`, not an X25519 age recipient",
                    rule.path
                ))
            })?;
            if seen.insert(r.to_string()) {
                out.push(r);
            }
        }
    }
    if out.is_empty() {
        return Err(VaultError::Invalid(format!(
            "recipient rule `{}` routes {file} to groups with no keys ({}); a file needs a recipient",
            rule.path,
            rule.groups.join(", ")
        )));
    }
    Ok(out)
}

/// What `after` adds to `before`, and what it drops, each in its list's
/// order without duplicates.
fn difference(before: &[String], after: &[String]) -> (Vec<String>, Vec<String>) {
    let only = |from: &[String], not_in: &[String]| {
        let mut out: Vec<String> = Vec::new();
        for k in from {
            if !not_in.contains(k) && !out.contains(k) {
                out.push(k.clone());
            }
        }
        out
    };
    (only(after, before), only(before, after))
}

impl Plan {
    /// Writes every change (all staged first, then renamed), then
    /// regenerates `.sops.yaml`. Any failure puts back what was replaced.
    fn commit(mut self, sops: &SopsSettings, vault: &VaultPaths) -> Result<Committed, VaultError> {
        // A file edited since it was read is not overwritten.
        for c in &self.changes {
            let now = fsread::read_text(&c.path, MAX_SOPS_FILE, Links::Refuse).ok();
            if now.as_deref() != Some(c.original.as_str()) {
                return Err(VaultError::Invalid(format!(
                    "{} changed while it was being rekeyed; nothing was written, run rekey again",
                    c.path.display()
                )));
            }
        }
        let mut staged = Vec::with_capacity(self.changes.len());
        for c in &self.changes {
            staged.push(stage(&c.path, &c.new)?);
        }
        let config = vault.dir.join(".sops.yaml");
        let old_config = std::fs::read(&config).ok();
        let mut done = Committed {
            report: RekeyReport {
                vault_id: String::new(),
                files: Vec::new(),
                changed: 0,
                unrouted: 0,
                sops_config: String::new(),
            },
            replaced: Vec::new(),
            config: (config, old_config),
        };
        for (c, tmp) in self.changes.iter().zip(staged) {
            if let Err(e) = tmp.persist(&c.path) {
                done.undo();
                return Err(VaultError::Io {
                    what: "replace",
                    path: c.path.display().to_string(),
                    reason: e.error.to_string(),
                });
            }
            done.replaced.push((c.path.clone(), c.original.clone()));
        }
        let dirs: BTreeSet<&Path> = self
            .changes
            .iter()
            .filter_map(|c| c.path.parent())
            .collect();
        for d in dirs {
            sync_dir(d);
        }
        match write_sops_config(sops, vault) {
            Ok(path) => self.report.sops_config = path,
            Err(e) => {
                done.undo();
                return Err(e);
            }
        }
        done.report = self.report;
        Ok(done)
    }
}

/// A rekey written to disk, which can still be undone.
struct Committed {
    report: RekeyReport,
    /// The files replaced, with their text before.
    replaced: Vec<(PathBuf, String)>,
    /// `.sops.yaml` and its bytes before (`None`: there was none).
    config: (PathBuf, Option<Vec<u8>>),
}

impl Committed {
    /// The report; the rekey stays.
    fn finish(self) -> RekeyReport {
        self.report
    }

    /// Puts back every replaced file and `.sops.yaml`, best effort (each
    /// file it cannot restore is logged by path).
    fn undo(&self) {
        for (path, original) in self.replaced.iter().rev() {
            if let Err(e) = stage(path, original).and_then(|t| {
                t.persist(path).map_err(|e| VaultError::Io {
                    what: "restore",
                    path: path.display().to_string(),
                    reason: e.error.to_string(),
                })
            }) {
                tracing::error!(file = %path.display(), code = e.code(), "a rekeyed file could not be put back");
            }
        }
        let (path, before) = &self.config;
        let restored = match before {
            Some(bytes) => std::fs::write(path, bytes),
            None => std::fs::remove_file(path).or_else(|e| {
                if e.kind() == std::io::ErrorKind::NotFound {
                    Ok(())
                } else {
                    Err(e)
                }
            }),
        };
        if restored.is_err() {
            tracing::error!(file = %path.display(), ".sops.yaml could not be put back");
        }
    }
}

/// `text` in a new private (0600) temporary file beside `path`, fsync'd,
/// ready to be renamed over it. Its name starts with `.`, so no vault
/// listing ever takes it for a credential file; it is removed if dropped.
fn stage(path: &Path, text: &str) -> Result<tempfile::NamedTempFile, VaultError> {
    let io = |e: std::io::Error| VaultError::Io {
        what: "write a temporary file beside",
        path: path.display().to_string(),
        reason: e.to_string(),
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".rekey")
        .tempfile_in(dir)
        .map_err(io)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(io)?;
    }
    tmp.write_all(text.as_bytes()).map_err(io)?;
    tmp.as_file().sync_all().map_err(io)?;
    Ok(tmp)
}

/// Makes renames in `dir` durable; best effort.
fn sync_dir(dir: &Path) {
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vault::key::{KeySource, generate};
    use crate::vault::sops::{EncryptOptions, Rule, encrypt};

    /// A vault in `dir` with two credential files encrypted to `a` and `b`,
    /// routed by one rule to groups `a` and `c`; the master key is `a`'s.
    fn vault(dir: &Path) -> (SopsSettings, VaultPaths, Identities, Vec<PathBuf>) {
        let keys: Vec<(String, zeroize::Zeroizing<String>)> =
            (0..3).map(|_| generate("2026-11-21T10:00:00Z")).collect();
        let key_file = dir.join("a.key");
        std::fs::write(&key_file, keys[0].1.as_bytes()).expect("key");
        let ids = Identities::read(&key_file, KeySource::None).expect("read key");
        let vault = VaultPaths::new(dir, "v");
        let reg = vault.src().join("registry");
        std::fs::create_dir_all(&reg).expect("dir");
        let recipients: Vec<age::x25519::Recipient> = keys[..2]
            .iter()
            .map(|(p, _)| p.parse().expect("recipient"))
            .collect();
        let opts = EncryptOptions {
            rule: Rule::default(),
            mac_only_encrypted: false,
            lastmodified: "2026-11-21T10:00:00Z".to_owned(),
        };
        let files: Vec<PathBuf> = ["one", "two"]
            .iter()
            .map(|n| {
                let mut plain = serde_yaml::Mapping::new();
                plain.insert("password".into(), format!("pw-{n}").into());
                let text = encrypt(&serde_yaml::Value::Mapping(plain), &recipients, &opts)
                    .expect("encrypt");
                let path = reg.join(format!("{n}.sops.yaml"));
                std::fs::write(&path, text).expect("write");
                path
            })
            .collect();
        let mut sops = SopsSettings::default();
        for (name, (public, _)) in ["a", "b", "c"].iter().zip(&keys) {
            sops.recipient_groups
                .insert((*name).to_owned(), vec![public.clone()]);
        }
        sops.recipient_rules.push(RecipientRule {
            path: "registry/".to_owned(),
            groups: vec!["a".to_owned(), "c".to_owned()],
        });
        (sops, vault, ids, files)
    }

    #[test]
    fn a_committed_rekey_can_be_undone_byte_for_byte() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (sops, vault, ids, files) = vault(dir.path());
        let before: Vec<Vec<u8>> = files
            .iter()
            .map(|f| std::fs::read(f).expect("read"))
            .collect();
        let done = plan(&sops, &vault, &ids)
            .and_then(|p| p.commit(&sops, &vault))
            .expect("rekey");
        assert_eq!(done.report.changed, 2);
        for (f, old) in files.iter().zip(&before) {
            assert_ne!(&std::fs::read(f).expect("read"), old);
        }
        let config = vault.dir.join(".sops.yaml");
        assert!(config.is_file());
        done.undo();
        for (f, old) in files.iter().zip(&before) {
            assert_eq!(&std::fs::read(f).expect("read"), old);
        }
        assert!(!config.exists(), "there was no .sops.yaml before");
        // Only the credential files and the key: no temporary file is left.
        let names: Vec<String> = std::fs::read_dir(vault.src().join("registry"))
            .expect("list")
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
    }

    #[test]
    fn a_file_changed_after_it_was_read_is_not_overwritten() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (sops, vault, ids, files) = vault(dir.path());
        let planned = plan(&sops, &vault, &ids).expect("plan");
        std::fs::write(&files[1], "edited meanwhile").expect("edit");
        let first = std::fs::read(&files[0]).expect("read");
        let err = planned.commit(&sops, &vault).err().expect("refused");
        assert_eq!(err.code(), "vault-invalid-input");
        assert!(err.to_string().contains("two.sops.yaml"), "{err}");
        assert_eq!(std::fs::read(&files[0]).expect("read"), first);
        assert_eq!(
            std::fs::read_to_string(&files[1]).expect("read"),
            "edited meanwhile"
        );
    }

    #[test]
    fn difference_keeps_order_and_drops_duplicates() {
        let s = |v: &[&str]| v.iter().map(|x| (*x).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            difference(&s(&["a", "b", "b"]), &s(&["c", "a", "c", "d"])),
            (s(&["c", "d"]), s(&["b"]))
        );
        assert_eq!(
            difference(&s(&["a", "b"]), &s(&["b", "a"])),
            (Vec::new(), Vec::new())
        );
    }
}
