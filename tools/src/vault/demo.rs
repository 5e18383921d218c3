//! `ontoref setup vault-demo`: a working vault on a fresh machine. It copies
//! the agent-first template into a new project directory, generates demo
//! age keys for the admin, developer and agent groups into the config home,
//! writes their public keys into the project's `recipients.ncl`, and builds
//! the vault: the template's scopes and three credential files encrypted
//! (by [`sops::encrypt`](crate::vault::sops::encrypt)) to the groups the
//! project's recipient rules name. The template itself holds no private key.

use std::collections::BTreeMap;
use std::path::Path;

use schemars::JsonSchema;
use serde::Serialize;

use crate::embedded::TEMPLATE;
use crate::engine::{Engine, EngineConfig};
use crate::error::ToolError;
use crate::vault::VaultError;
use crate::vault::audit::create_private_dir;
use crate::vault::inspect::{first_rule, locate, write_sops_config};
use crate::vault::settings::VaultPaths;
use crate::vault::sops::{EncryptOptions, Rule, encrypt};

/// The line of the template's project file the demo replaces with its key.
pub const MASTER_KEY_MARKER: &str = "# master_key_path = \"~/.config/ontoref/keys/<you>.key\",";
/// The demo's groups, each with one generated key.
pub const GROUPS: [&str; 3] = ["admin", "developer", "agent"];

/// What the demo made.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct DemoReport {
    /// The new project.
    pub project_dir: String,
    /// The vault built for it.
    pub vault_dir: String,
    /// Group → the generated identity file (mode 0600).
    pub keys: BTreeMap<String, String>,
    /// The identity the project uses as its master key (the agent's).
    pub master_key: String,
    /// The credential files, relative to the vault directory.
    pub files: Vec<String>,
    /// The generated `.sops.yaml`.
    pub sops_config: String,
    /// Commands to try next.
    pub next: Vec<String>,
}

/// Builds the demo project at `dir` with its vault under `config_home`.
/// Refuses to overwrite an existing project, keys or vault unless `force`.
///
/// Everything is built in staging directories beside its destination and
/// moved into place only once all of it is built; a failure at any point
/// leaves the project directory, the keys and the vault as they were.
pub async fn setup(
    dir: &Path,
    config_home: &Path,
    base: &EngineConfig,
    force: bool,
) -> Result<DemoReport, ToolError> {
    let invalid = |m: String| ToolError::from(VaultError::Invalid(m));
    let io = |what: &'static str, p: &Path, e: std::io::Error| {
        ToolError::from(VaultError::Io {
            what,
            path: p.display().to_string(),
            reason: e.to_string(),
        })
    };
    if dir.exists()
        && std::fs::read_dir(dir)
            .map(|mut d| d.next().is_some())
            .unwrap_or(true)
    {
        return Err(invalid(format!(
            "{} exists and is not empty; pass a new directory",
            dir.display()
        )));
    }
    let keys_dir = config_home.join("keys");
    let key_path = |g: &str| keys_dir.join(format!("demo-{g}.key"));
    if !force && let Some(k) = GROUPS.iter().map(|g| key_path(g)).find(|p| p.exists()) {
        return Err(invalid(format!(
            "{} exists; pass --force to replace the demo keys",
            k.display()
        )));
    }
    let staging = |parent: &Path, prefix: &str| {
        create_private_dir(parent).map_err(|e| io("create", parent, e))?;
        tempfile::Builder::new()
            .prefix(prefix)
            .tempdir_in(parent)
            .map_err(|e| io("create a staging directory in", parent, e))
    };
    let parent = dir.parent().unwrap_or(Path::new("."));
    let project_stage = staging(parent, ".ontoref-demo-")?;
    let keys_stage = staging(&keys_dir, ".demo-keys-")?;
    let staged_project = project_stage.path();

    // The project: the template, with the demo's public keys and master key.
    for (rel, contents) in TEMPLATE.files() {
        let path = staged_project.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| io("create", parent, e))?;
        }
        std::fs::write(&path, contents).map_err(|e| io("write", &path, e))?;
    }
    let created = crate::vault::audit::now();
    let mut publics = BTreeMap::new();
    let mut keys = BTreeMap::new();
    for g in GROUPS {
        let (public, text) = crate::vault::key::generate(&created);
        let path = keys_stage.path().join(format!("demo-{g}.key"));
        write_key(&path, text.as_bytes()).map_err(|e| io("write", &path, e))?;
        publics.insert(g.to_owned(), public);
        keys.insert(g.to_owned(), key_path(g).display().to_string());
    }
    let recipients = staged_project.join(".ontoref/recipients.ncl");
    let mut text = String::from(
        "# Recipient groups: the age public keys each group's members hold.\n\
         # Written by `ontoref setup vault-demo` with generated demo keys.\n{\n",
    );
    for g in GROUPS {
        text.push_str(&format!("  {g} = [\"{}\"],\n", publics[g]));
    }
    text.push_str("}\n");
    std::fs::write(&recipients, text).map_err(|e| io("write", &recipients, e))?;
    let project_ncl = staged_project.join(".ontoref/project.ncl");
    let original =
        std::fs::read_to_string(&project_ncl).map_err(|e| io("read", &project_ncl, e))?;
    let master = key_path("agent");
    if !original.contains(MASTER_KEY_MARKER) {
        return Err(invalid(format!(
            "{}: the template lacks the line `{MASTER_KEY_MARKER}`",
            project_ncl.display()
        )));
    }
    let quoted = serde_json::Value::from(master.display().to_string()).to_string();
    std::fs::write(
        &project_ncl,
        original.replace(MASTER_KEY_MARKER, &format!("master_key_path = {quoted},")),
    )
    .map_err(|e| io("write", &project_ncl, e))?;

    // The vault, read through the project's own settings.
    let engine = Engine::new(EngineConfig {
        project: Some(staged_project.to_path_buf()),
        config_home: Some(config_home.to_path_buf()),
        ..base.clone()
    })?;
    let (sops, vault) = locate(&engine).await?;
    let sops = sops.ok_or_else(|| invalid("the template declares no `sops` record".to_owned()))?;
    if vault.dir.exists() && !force {
        return Err(invalid(format!(
            "vault {} exists; pass --force to replace it with the demo vault",
            vault.dir.display()
        )));
    }
    let vaults_dir = vault.dir.parent().unwrap_or(config_home).to_path_buf();
    let vault_stage = staging(&vaults_dir, &format!(".{}-", vault.id))?;
    let staged_vault = vault_stage.path();
    let scopes_dir = staged_vault.join("src-vault/scopes");
    create_private_dir(&scopes_dir).map_err(|e| io("create", &scopes_dir, e))?;
    let template_scopes = staged_project.join("vault/src-vault/scopes");
    for e in std::fs::read_dir(&template_scopes)
        .map_err(|e| io("read", &template_scopes, e))?
        .flatten()
    {
        let to = scopes_dir.join(e.file_name());
        std::fs::copy(e.path(), &to).map_err(|err| io("copy", &to, err))?;
    }
    let mut files = Vec::new();
    for (name, user) in [
        ("agent-readonly", "agent-ro"),
        ("team-ro", "team-ro"),
        ("team-rw", "team-rw"),
    ] {
        let rel = format!("src-vault/registry/{name}.sops.yaml");
        let rule = first_rule(&sops.recipient_rules, &rel)
            .ok_or_else(|| invalid(format!("no recipient rule matches {rel}")))?;
        let mut recipients = Vec::new();
        for g in &rule.groups {
            for k in sops.recipient_groups.get(g).into_iter().flatten() {
                let r: age::x25519::Recipient = k
                    .parse()
                    .map_err(|_| invalid(format!("group `{g}` holds an invalid key `{k}`")))?;
                recipients.push(r);
            }
        }
        let password = random_password();
        let mut plain = serde_yaml::Mapping::new();
        plain.insert("username".into(), format!("demo-{user}").into());
        plain.insert("password".into(), password.as_str().into());
        let opts = EncryptOptions {
            rule: Rule::default(),
            mac_only_encrypted: false,
            lastmodified: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        };
        let out = encrypt(&serde_yaml::Value::Mapping(plain), &recipients, &opts)
            .map_err(|e| invalid(format!("cannot encrypt {rel}: {e}")))?;
        let path = staged_vault.join(&rel);
        if let Some(parent) = path.parent() {
            create_private_dir(parent).map_err(|e| io("create", parent, e))?;
        }
        write_key(&path, out.as_bytes()).map_err(|e| io("write", &path, e))?;
        files.push(rel);
    }
    let staged_paths = VaultPaths {
        id: vault.id.clone(),
        dir: staged_vault.to_path_buf(),
    };
    write_sops_config(&sops, &staged_paths)?;
    let sops_config = vault.dir.join(".sops.yaml").display().to_string();

    // Everything is built: move it into place, undoing on failure.
    let mut moves = Moves::default();
    let committed = (|| {
        for g in GROUPS {
            moves.replace(
                &keys_stage.path().join(format!("demo-{g}.key")),
                &key_path(g),
            )?;
        }
        moves.replace(staged_vault, &vault.dir)?;
        if dir.exists() {
            std::fs::remove_dir(dir)?;
        }
        moves.replace(staged_project, dir)
    })();
    if let Err(e) = committed {
        moves.undo();
        return Err(io("move the demo into place at", dir, e));
    }
    moves.finish();
    let project = dir.display().to_string();
    Ok(DemoReport {
        next: vec![
            format!("ontoref --project {project} secrets status --actor agent-bot"),
            format!(
                "ontoref --project {project} --actor agent-bot secrets fetch domains/agent-first/contracts:1.0"
            ),
            format!(
                "ontoref --project {project} --actor agent-bot secrets fetch domains/agent-first/contracts:1.0 --op push   # refused: op-not-in-scope"
            ),
            format!("ontoref --project {project} secrets audit-log --verify"),
        ],
        project_dir: project,
        vault_dir: vault.dir.display().to_string(),
        master_key: master.display().to_string(),
        keys,
        files,
        sops_config,
    })
}

/// Renames done so far, with what they replaced (moved aside), so that a
/// failure can put everything back.
#[derive(Default)]
struct Moves {
    done: Vec<(
        std::path::PathBuf,
        std::path::PathBuf,
        Option<std::path::PathBuf>,
    )>,
}

impl Moves {
    /// Moves `from` to `to`; an existing `to` is moved aside first.
    fn replace(&mut self, from: &Path, to: &Path) -> std::io::Result<()> {
        let aside = if std::fs::symlink_metadata(to).is_ok() {
            let mut name = to.as_os_str().to_owned();
            name.push(format!(".replaced-{}", std::process::id()));
            let aside = std::path::PathBuf::from(name);
            std::fs::rename(to, &aside)?;
            Some(aside)
        } else {
            None
        };
        if let Err(e) = std::fs::rename(from, to) {
            if let Some(a) = &aside {
                let _ = std::fs::rename(a, to);
            }
            return Err(e);
        }
        self.done
            .push((from.to_path_buf(), to.to_path_buf(), aside));
        Ok(())
    }

    /// Puts back everything moved, newest first.
    fn undo(&mut self) {
        while let Some((from, to, aside)) = self.done.pop() {
            let _ = std::fs::rename(&to, &from);
            if let Some(a) = aside {
                let _ = std::fs::rename(&a, &to);
            }
        }
    }

    /// Removes what was moved aside.
    fn finish(self) {
        for (_, _, aside) in self.done {
            if let Some(a) = aside {
                if a.is_dir() {
                    let _ = std::fs::remove_dir_all(&a);
                } else {
                    let _ = std::fs::remove_file(&a);
                }
            }
        }
    }
}

/// Replaces `path` with a new 0600 file holding `bytes`.
fn write_key(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let _ = std::fs::remove_file(path);
    crate::vault::creds::write_private(path, bytes)
}

/// 24 random bytes, base64: a demo registry password.
fn random_password() -> zeroize::Zeroizing<String> {
    use aes_gcm::aead::rand_core::RngCore;
    use base64::Engine as _;
    let mut bytes = zeroize::Zeroizing::new([0u8; 24]);
    aes_gcm::aead::OsRng.fill_bytes(bytes.as_mut());
    zeroize::Zeroizing::new(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&bytes[..]))
}
