//! Architecture decision records: one `adrs/adr-NNN-slug.ncl` per decision,
//! loaded (and cached) file by file, so one broken ADR is reported beside
//! the others instead of hiding them.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::corpus::Record;
use crate::error::ToolError;
use crate::model::{Document, Source};
use crate::model::{Kind, ModelError, Skipped, decode};
use crate::paging::{PageKey, page_rows};

/// Where an ADR stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum AdrStatus {
    /// Under discussion.
    Proposed,
    /// In force.
    Accepted,
    /// Replaced by a newer ADR.
    Superseded,
}

/// How binding a constraint is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum Severity {
    /// Must hold.
    Hard,
    /// Should hold.
    Soft,
}

/// A constraint an ADR imposes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Constraint {
    /// Id.
    pub id: String,
    /// Hard or Soft.
    pub severity: Severity,
    /// What must hold.
    pub claim: String,
    /// How to verify it: a record tagged by kind, e.g. `{tag = "Grep", paths, pattern}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check: Option<serde_json::Map<String, serde_json::Value>>,
}

/// One reason for the decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Reason {
    /// The claim.
    pub claim: String,
    /// Why it holds.
    pub detail: String,
}

/// An architecture decision record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Adr {
    /// Id, e.g. `adr-017`.
    pub id: String,
    /// Title.
    pub title: String,
    /// Status.
    pub status: AdrStatus,
    /// Date decided, `YYYY-MM-DD`.
    pub date: String,
    /// The situation.
    pub context: String,
    /// What was decided.
    pub decision: String,
    /// Why.
    #[serde(default)]
    pub rationale: Vec<Reason>,
    /// What it imposes.
    #[serde(default)]
    pub constraints: Vec<Constraint>,
    /// The ADR this one replaces.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supersedes: Option<String>,
}

impl Document for Adr {
    const KIND: &'static str = "adr";
    const VERSION: u32 = 1;

    fn from_value(value: serde_json::Value, source: &Source<'_>) -> Result<Self, ModelError> {
        decode(value, source, Kind::Adr, "constraints")
    }
}

/// A problem across ADRs: a dangling `supersedes`, a repeated id.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Finding {
    /// The ADR concerned.
    pub id: String,
    /// Its file.
    pub file: String,
    /// What is wrong.
    pub message: String,
}

/// Every ADR of a project.
#[derive(Debug, Default, Clone)]
pub struct AdrSet {
    /// Loaded ADRs with their files, sorted by file name.
    pub adrs: Vec<(String, std::sync::Arc<Adr>)>,
    /// Files that failed to load.
    pub skipped: Vec<Skipped>,
}

impl Adr {
    /// The ADR as a record of the cross-kind search: its context, decision,
    /// rationale and constraint claims are the body.
    pub fn record(&self) -> Record {
        let mut body = format!("{}\n{}", self.context, self.decision);
        for r in &self.rationale {
            body.push('\n');
            body.push_str(&r.claim);
        }
        for c in &self.constraints {
            body.push('\n');
            body.push_str(&c.claim);
        }
        Record {
            kind: "adr",
            id: self.id.clone(),
            title: self.title.clone(),
            labels: format!("{:?}", self.status),
            body,
        }
    }
}

impl AdrSet {
    /// The ADR with this id and its file.
    pub fn get(&self, id: &str) -> Result<(&str, &Adr), ModelError> {
        self.adrs
            .iter()
            .find(|(_, a)| a.id == id)
            .map(|(f, a)| (f.as_str(), a.as_ref()))
            .ok_or_else(|| {
                ModelError::not_found(Kind::Adr, id, self.adrs.iter().map(|(_, a)| a.id.as_str()))
            })
    }

    /// Ids of the ADRs that name `id` in `supersedes`.
    pub fn superseded_by(&self, id: &str) -> Vec<String> {
        self.adrs
            .iter()
            .filter(|(_, a)| a.supersedes.as_deref() == Some(id))
            .map(|(_, a)| a.id.clone())
            .collect()
    }

    /// The supersession chain through `id`, oldest first: follows
    /// `supersedes` back and `superseded_by` forward, stopping at a cycle or
    /// a dangling id.
    pub fn chain(&self, id: &str) -> Vec<String> {
        let mut back = vec![id.to_owned()];
        let mut cur = id.to_owned();
        while let Ok((_, a)) = self.get(&cur) {
            match &a.supersedes {
                Some(prev) if !back.contains(prev) => {
                    back.push(prev.clone());
                    cur = prev.clone();
                }
                _ => break,
            }
        }
        back.reverse();
        let mut cur = id.to_owned();
        loop {
            let next = self.superseded_by(&cur);
            match next.first() {
                Some(n) if !back.contains(n) => {
                    back.push(n.clone());
                    cur = n.clone();
                }
                _ => break,
            }
        }
        back
    }

    /// Dangling `supersedes` and repeated ids.
    pub fn findings(&self) -> Vec<Finding> {
        let mut out = Vec::new();
        for (i, (file, a)) in self.adrs.iter().enumerate() {
            if let Some(prev) = &a.supersedes
                && self.get(prev).is_err()
            {
                out.push(Finding {
                    id: a.id.clone(),
                    file: file.clone(),
                    message: format!(
                        "`supersedes` names `{prev}`, which is no ADR of this project"
                    ),
                });
            }
            if let Some((other, _)) = self.adrs[..i].iter().find(|(_, b)| b.id == a.id) {
                out.push(Finding {
                    id: a.id.clone(),
                    file: file.clone(),
                    message: format!("id `{}` is also used by {other}", a.id),
                });
            }
        }
        out
    }
}

/// Whether a file name is an ADR: `adr-<digits>…​.ncl`.
pub fn is_adr_file(name: &str) -> bool {
    name.strip_prefix("adr-")
        .and_then(|rest| rest.strip_suffix(".ncl"))
        .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
}

/// An ADR in a listing.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct AdrSummary {
    /// Id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Status.
    pub status: AdrStatus,
    /// Date.
    pub date: String,
    /// Hard constraints.
    pub hard_constraints: usize,
    /// Soft constraints.
    pub soft_constraints: usize,
    /// The ADR it replaces.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub supersedes: Option<String>,
    /// ADRs that replace it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub superseded_by: Vec<String>,
}
/// One page of ADRs.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct AdrList {
    /// ADRs of this page, by file name.
    pub adrs: Vec<AdrSummary>,
    /// ADRs matching the filter, over all pages.
    pub total: usize,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
    /// ADR files that failed to load, with the error.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<Skipped>,
    /// Problems across ADRs: dangling `supersedes`, repeated ids.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<Finding>,
}
/// One decision in full.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct AdrGet {
    /// The ADR.
    pub adr: Adr,
    /// Its file, relative to the project.
    pub file: String,
    /// ADRs that replace it.
    pub superseded_by: Vec<String>,
    /// The supersession chain through it, oldest first.
    pub chain: Vec<String>,
}

impl AdrSet {
    /// One page of the ADRs with `status` (any when `None`), with the
    /// set's findings and skipped files.
    pub fn list(
        &self,
        status: Option<AdrStatus>,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<AdrList, ToolError> {
        let count = |a: &Adr, s: Severity| a.constraints.iter().filter(|c| c.severity == s).count();
        let rows: Vec<AdrSummary> = self
            .adrs
            .iter()
            .filter(|(_, a)| status.is_none_or(|s| a.status == s))
            .map(|(_, a)| AdrSummary {
                id: a.id.clone(),
                title: a.title.clone(),
                status: a.status,
                date: a.date.clone(),
                hard_constraints: count(a, Severity::Hard),
                soft_constraints: count(a, Severity::Soft),
                supersedes: a.supersedes.clone(),
                superseded_by: self.superseded_by(&a.id),
            })
            .collect();
        let generation: [u8; 32] =
            Sha256::digest(serde_json::to_vec(&rows).unwrap_or_default()).into();
        let key = PageKey::new(&format!("adr_list {status:?}"), &generation);
        let (adrs, total, next_cursor) = page_rows(&rows, &key, cursor, limit)?;
        Ok(AdrList {
            total,
            adrs,
            next_cursor,
            findings: self.findings(),
            skipped: self.skipped.clone(),
        })
    }

    /// ADR `id` with its file, successors and supersession chain. When it
    /// is not loaded but a file that failed to load seems to hold it, that
    /// file's error is the answer, not `adr-not-found`.
    pub fn show(&self, id: &str) -> Result<AdrGet, ToolError> {
        let (file, adr) = match self.get(id) {
            Ok(found) => found,
            Err(not_found) => {
                if let Some(s) = self.skipped.iter().find(|s| {
                    s.file.contains(&format!("{id}-")) || s.file.ends_with(&format!("{id}.ncl"))
                }) {
                    return Err(ToolError::Skipped(s.error.clone()));
                }
                return Err(not_found.into());
            }
        };
        Ok(AdrGet {
            adr: adr.clone(),
            file: file.to_owned(),
            superseded_by: self.superseded_by(id),
            chain: self.chain(id),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn adr(id: &str, supersedes: Option<&str>) -> (String, std::sync::Arc<Adr>) {
        (
            format!("adrs/{id}.ncl"),
            std::sync::Arc::new(Adr {
                id: id.into(),
                title: id.into(),
                status: AdrStatus::Accepted,
                date: "2026-01-01".into(),
                context: String::new(),
                decision: String::new(),
                rationale: vec![],
                constraints: vec![],
                supersedes: supersedes.map(Into::into),
            }),
        )
    }

    #[test]
    fn chains_and_findings() {
        let set = AdrSet {
            adrs: vec![
                adr("adr-001", None),
                adr("adr-002", Some("adr-001")),
                adr("adr-003", Some("adr-002")),
                adr("adr-004", Some("adr-099")),
            ],
            skipped: vec![],
        };
        assert_eq!(set.chain("adr-002"), ["adr-001", "adr-002", "adr-003"]);
        assert_eq!(set.superseded_by("adr-001"), ["adr-002"]);
        let f = set.findings();
        assert_eq!(f.len(), 1);
        assert!(f[0].message.contains("adr-099") && f[0].file == "adrs/adr-004.ncl");
        assert_eq!(set.get("adr-05").unwrap_err().code(), "adr-not-found");
    }

    #[test]
    fn adr_file_names() {
        assert!(is_adr_file("adr-017-registry-vault.ncl"));
        assert!(!is_adr_file("adr-defaults.ncl"));
        assert!(!is_adr_file("reflection.ncl"));
        assert!(!is_adr_file("adr-001.md"));
    }
}
