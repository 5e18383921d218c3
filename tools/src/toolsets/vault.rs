//! Toolset `vault`: the scope-gated credential vault. Three tools look at it
//! without decrypting anything (status, describe, audit); one fetches a
//! registry credential as an isolated, expiring Docker config directory;
//! two pull or verify a signed domain or mode artifact for the caller.
//! Each adapts its parameters to [`crate::vault`] and returns its result.

use std::borrow::Cow;

use rmcp::handler::server::router::tool::{AsyncTool, ToolBase};
use rmcp::model::ToolAnnotations;
use schemars::JsonSchema;
use serde::Deserialize;

use crate::catalog::{name, read_only_annotations};
use crate::command::ToolCommand;
use crate::engine::Engine;
use crate::error::ToolError;
use crate::onto_mcp_tool;
use crate::registry::artifact::{self, Pulled};
use crate::text::Text;
use crate::toolsets::limit;
use crate::vault::fetch::{Fetched, fetch_for_caller};
use crate::vault::gate::Request;
use crate::vault::inspect::{self, AuditReport, Inventory, Status};

crate::declare_toolset! {
    id: "vault",
    title: "Credential vault",
    when: "to get registry credentials without ever seeing them",
    description: "Scope-gated registry credentials (SOPS/age): status and inventory (never a secret), the vault's checks, and a fetch that checks the caller's role and scope, then issues an expiring DOCKER_CONFIG directory.",
    needs_caller: true,
}

/// No arguments.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NoParams {}

/// The vault's state.
#[onto_mcp_tool(toolset = "vault")]
pub struct SecretsStatusTool;

impl ToolBase for SecretsStatusTool {
    type Parameter = NoParams;
    type Output = Status;
    type Error = ToolError;

    fn name() -> Cow<'static, str> {
        name("ontoref_secrets_status")
    }

    fn title() -> Option<String> {
        Some("Vault status".to_owned())
    }

    fn description() -> Option<Cow<'static, str>> {
        Some(Cow::Borrowed(
            "Show the project's credential vault: its id and directory, whether it is synced \
             (src-vault present), where the master key comes from (project, global or none) and \
             whether it is readable, the calling actor and its role, how many scopes and \
             credential files it holds, and the audit log's state (keyed or not, lines, MACs \
             checked with the master key, head, truncation or deletion). Never shows a secret. \
             Call it first when ontoref_credential_fetch refuses, to see what is missing.",
        ))
    }

    fn annotations() -> Option<ToolAnnotations> {
        Some(read_only_annotations("Vault status"))
    }
}

impl AsyncTool<Engine> for SecretsStatusTool {
    async fn invoke(engine: &Engine, _: NoParams) -> Result<Status, ToolError> {
        inspect::status(engine).await
    }
}

/// Arguments of `ontoref_secrets_describe`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DescribeParams {
    /// Credential files per page.
    #[serde(default = "crate::toolsets::default_list_limit")]
    #[schemars(range(min = 1, max = 500))]
    pub limit: u32,
    /// `next_cursor` from the previous page.
    #[serde(default)]
    pub cursor: Option<String>,
}

/// The vault's inventory.
#[onto_mcp_tool(toolset = "vault")]
pub struct SecretsDescribeTool;

impl ToolBase for SecretsDescribeTool {
    type Parameter = DescribeParams;
    type Output = Inventory;
    type Error = ToolError;

    fn name() -> Cow<'static, str> {
        name("ontoref_secrets_describe")
    }

    fn title() -> Option<String> {
        Some("Describe the vault".to_owned())
    }

    fn description() -> Option<Cow<'static, str>> {
        Some(Cow::Borrowed(
            "Inventory of the project's credential vault without decrypting anything: recipient \
             groups (public keys), recipient rules (path regex → groups), every credential file \
             with the recipients its sops metadata names and the rule that routes it, and every \
             role's scope {role, access, bound_actor, namespaces, ops}. Use it to see which role \
             may reach which repositories. Files are paged by `limit` (default 50) and `cursor`.",
        ))
    }

    fn annotations() -> Option<ToolAnnotations> {
        Some(read_only_annotations("Describe the vault"))
    }
}

impl AsyncTool<Engine> for SecretsDescribeTool {
    async fn invoke(engine: &Engine, p: DescribeParams) -> Result<Inventory, ToolError> {
        let limit = limit(&Self::name(), p.limit, 500)?;
        inspect::describe(engine, limit, p.cursor.as_deref()).await
    }
}

/// The protocol's vault checks.
#[onto_mcp_tool(toolset = "vault", custom_cli)]
pub struct SecretsAuditTool;

impl ToolBase for SecretsAuditTool {
    type Parameter = NoParams;
    type Output = AuditReport;
    type Error = ToolError;

    fn name() -> Cow<'static, str> {
        name("ontoref_secrets_audit")
    }

    fn title() -> Option<String> {
        Some("Audit the vault".to_owned())
    }

    fn description() -> Option<Cow<'static, str>> {
        Some(Cow::Borrowed(
            "Run the vault's four checks and report {id, ok, detail} for each: \
             min-two-recipients (every *.sops.yaml has at least 2 recipients), \
             recipient-routing-coherent (rules name only declared groups, every key is a valid \
             age recipient), recipient-routing-coverage (every file matches a rule and carries \
             exactly that rule's groups' keys) and no-multi-vault (one vault per project). Reads \
             sops metadata only; decrypts nothing.",
        ))
    }

    fn annotations() -> Option<ToolAnnotations> {
        Some(read_only_annotations("Audit the vault"))
    }
}

impl AsyncTool<Engine> for SecretsAuditTool {
    async fn invoke(engine: &Engine, _: NoParams) -> Result<AuditReport, ToolError> {
        inspect::audit(engine).await
    }
}

fn default_op() -> String {
    "pull".to_owned()
}

/// Arguments of `ontoref_credential_fetch`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FetchParams {
    /// The repository to reach: `[registry/]path[:tag][@digest]`, e.g.
    /// `domains/acme/contract:1.0`.
    pub target: String,
    /// `pull` (default) or `push`.
    #[serde(default = "default_op")]
    pub op: String,
    /// The manifest's registry entry [default: the one the target's host
    /// names, else `default`].
    #[serde(default)]
    pub registry_id: Option<String>,
    /// Also return the username and password. Only an 'RO scope in a project
    /// with `sops.allow_reveal = true` may; otherwise the call is refused.
    #[serde(default)]
    pub reveal: bool,
}

/// A registry credential as an isolated Docker config directory.
#[onto_mcp_tool(toolset = "vault", custom_cli)]
pub struct CredentialFetchTool;

impl ToolBase for CredentialFetchTool {
    type Parameter = FetchParams;
    type Output = Fetched;
    type Error = ToolError;

    fn name() -> Cow<'static, str> {
        name("ontoref_credential_fetch")
    }

    fn title() -> Option<String> {
        Some("Fetch a registry credential".to_owned())
    }

    fn description() -> Option<Cow<'static, str>> {
        Some(Cow::Borrowed(
            "Get credentials to pull (or push) an OCI target such as \
             domains/<participant>/<name>:<tag>, without seeing them: the calling actor's role, \
             scope and the target's namespace are checked first, then the registry's sops file is \
             decrypted into a fresh Docker config directory (0700, config.json 0600) that expires \
             (default 300 s). Returns {registry, target, role, docker_config_dir, expires_at}: run \
             oras/skopeo/docker with DOCKER_CONFIG=<docker_config_dir>. A refusal is a named error \
             (e.g. target-not-in-scope) with a hint. Every attempt is audited.",
        ))
    }

    fn meta() -> Option<rmcp::model::MetaObject> {
        Some(crate::catalog::user_interaction_meta())
    }

    fn annotations() -> Option<ToolAnnotations> {
        let mut a = ToolAnnotations::with_title("Fetch a registry credential");
        a.read_only_hint = Some(false);
        a.destructive_hint = Some(false);
        a.idempotent_hint = Some(false);
        a.open_world_hint = Some(false);
        Some(a)
    }
}

impl AsyncTool<Engine> for CredentialFetchTool {
    async fn invoke(engine: &Engine, p: FetchParams) -> Result<Fetched, ToolError> {
        let req = Request {
            target: p.target,
            op: p.op,
            registry_id: p.registry_id,
            reveal: p.reveal,
        };
        fetch_for_caller(engine, &req).await
    }
}

/// Arguments of `ontoref_artifact_pull` and `ontoref_artifact_verify`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ArtifactParams {
    /// The artifact: `[registry/]path[:tag][@digest]`, e.g.
    /// `domains/acme/contract:1.0` (tag `latest` when none).
    pub target: String,
    /// The manifest's registry entry [default: the one the target's host
    /// names, else `default`].
    #[serde(default)]
    pub registry_id: Option<String>,
}

fn artifact_annotations(title: &str, writes: bool) -> ToolAnnotations {
    let mut a = ToolAnnotations::with_title(title);
    a.read_only_hint = Some(!writes);
    a.destructive_hint = Some(false);
    a.idempotent_hint = Some(true);
    a.open_world_hint = Some(true);
    a
}

/// A signature-verified domain or mode artifact, written to the cache.
#[onto_mcp_tool(toolset = "vault", custom_cli)]
pub struct ArtifactPullTool;

impl ToolBase for ArtifactPullTool {
    type Parameter = ArtifactParams;
    type Output = Pulled;
    type Error = ToolError;

    fn name() -> Cow<'static, str> {
        name("ontoref_artifact_pull")
    }

    fn title() -> Option<String> {
        Some("Pull a signed artifact".to_owned())
    }

    fn description() -> Option<Cow<'static, str>> {
        Some(Cow::Borrowed(
            "Pull a domain or mode artifact (e.g. domains/<participant>/<id>:<semver>) from the \
             project's registry without holding its credential: the caller's role and scope are \
             checked first (op pull), the tag is resolved to a digest, its cosign signature is \
             verified with the configured public key, and the layers are written under \
             .ontoref/cache/oci/sha256-<hex>/. Returns {target, digest, media_type, files: [{path, \
             size, sha256}], signed_by, cached}; a second pull of the same digest re-checks the \
             cached files. Refusals are named errors (signature-invalid, target-not-in-scope, …) \
             with a hint. Audited.",
        ))
    }

    fn meta() -> Option<rmcp::model::MetaObject> {
        Some(crate::catalog::user_interaction_meta())
    }

    fn annotations() -> Option<ToolAnnotations> {
        Some(artifact_annotations("Pull a signed artifact", true))
    }
}

impl AsyncTool<Engine> for ArtifactPullTool {
    async fn invoke(engine: &Engine, p: ArtifactParams) -> Result<Pulled, ToolError> {
        artifact::pull(engine, &p.target, p.registry_id.as_deref(), true).await
    }
}

/// Checks an artifact as a pull would, writing nothing.
#[onto_mcp_tool(toolset = "vault", custom_cli)]
pub struct ArtifactVerifyTool;

impl ToolBase for ArtifactVerifyTool {
    type Parameter = ArtifactParams;
    type Output = Pulled;
    type Error = ToolError;

    fn name() -> Cow<'static, str> {
        name("ontoref_artifact_verify")
    }

    fn title() -> Option<String> {
        Some("Verify a signed artifact".to_owned())
    }

    fn description() -> Option<Cow<'static, str>> {
        Some(Cow::Borrowed(
            "Check a domain or mode artifact exactly as ontoref_artifact_pull does (scope, digest, \
             cosign signature, media types, layer hashes) without writing anything. Returns the \
             same {target, digest, media_type, files, signed_by, cached}; `files` are where a pull \
             would put them. Audited.",
        ))
    }

    fn annotations() -> Option<ToolAnnotations> {
        Some(artifact_annotations("Verify a signed artifact", false))
    }
}

impl AsyncTool<Engine> for ArtifactVerifyTool {
    async fn invoke(engine: &Engine, p: ArtifactParams) -> Result<Pulled, ToolError> {
        artifact::pull(engine, &p.target, p.registry_id.as_deref(), false).await
    }
}

impl ToolCommand for ArtifactPullTool {
    fn text(p: &Pulled, out: &mut Text) -> bool {
        artifact_text(p, out)
    }
}

impl ToolCommand for ArtifactVerifyTool {
    fn text(p: &Pulled, out: &mut Text) -> bool {
        artifact_text(p, out)
    }
}

fn artifact_text(p: &Pulled, out: &mut Text) -> bool {
    out.line(&format!(
        "{} {} ({}){}",
        p.target,
        p.digest,
        p.media_type,
        if p.cached { ", from the cache" } else { "" }
    ));
    out.line(&format!("signed by {}", p.signed_by));
    for f in &p.files {
        out.line(&format!(
            "  {:>9}  {}  {}",
            f.size,
            &f.sha256[..f.sha256.len().min(12)],
            f.path
        ));
    }
    true
}

impl ToolCommand for SecretsAuditTool {
    fn text(report: &AuditReport, out: &mut Text) -> bool {
        for c in &report.checks {
            let mark = if c.ok { "ok  " } else { "FAIL" };
            out.line(&format!("{mark} {:<28} {}", c.id, c.detail));
        }
        true
    }

    fn failed(report: &AuditReport) -> bool {
        !report.ok
    }
}

impl ToolCommand for CredentialFetchTool {
    const WORDS: Option<&'static str> = Some("secrets fetch");

    fn text(f: &Fetched, out: &mut Text) -> bool {
        out.line(&format!("export DOCKER_CONFIG={}", f.docker_config_dir));
        out.line(&format!(
            "# {} ({} for `{}`, role {}); removed at {}",
            f.registry, f.op, f.target, f.role, f.expires_at
        ));
        if let Some(password) = &f.password {
            out.line(&format!(
                "username: {}\npassword: {password}",
                f.username.as_deref().unwrap_or("")
            ));
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::toolsets::testing::{call, code, template};

    #[test]
    fn secrets_status_reports_a_declared_unsynced_vault_and_no_key() {
        let (e, _d) = template();
        let s = call::<SecretsStatusTool>(&e, json!({})).unwrap();
        assert_eq!(s["declared"], true);
        assert_eq!(s["synced"], false);
        assert_eq!(s["master_key"]["readable"], false);
    }

    #[test]
    fn secrets_describe_lists_groups_rules_and_scopes_without_decrypting() {
        let (e, _d) = template();
        let inv = call::<SecretsDescribeTool>(&e, json!({"limit": 1})).unwrap();
        assert!(inv["recipient_groups"]["admin"].is_array(), "{inv}");
        assert!(!inv["recipient_rules"].as_array().unwrap().is_empty());
        assert_eq!(e.vault().decryptions(), 0);
        assert_eq!(
            code::<SecretsDescribeTool>(&e, json!({"limit": 501})),
            "invalid-params"
        );
    }

    #[test]
    fn secrets_audit_runs_every_check() {
        let (e, _d) = template();
        let report = call::<SecretsAuditTool>(&e, json!({})).unwrap();
        let ids: Vec<&str> = report["checks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_str().unwrap())
            .collect();
        for id in [
            "min-two-recipients",
            "recipient-routing-coherent",
            "recipient-routing-coverage",
            "no-multi-vault",
        ] {
            assert!(ids.contains(&id), "{id} missing: {ids:?}");
        }
    }

    #[test]
    fn credential_fetch_without_an_actor_is_refused_before_any_decryption() {
        let (e, _d) = template();
        assert_eq!(
            code::<CredentialFetchTool>(&e, json!({"target": "domains/agent-first/x:1"})),
            "actor-not-bound"
        );
        assert_eq!(e.vault().decryptions(), 0);
    }
}
