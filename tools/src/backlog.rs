//! The backlog (`reflection/backlog.ncl`): open work, its priority and the
//! decisions and dimensions it relates to.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};

use crate::corpus::Record;
use crate::error::ToolError;
use crate::model::{Document, Source};
use crate::model::{Kind, ModelError, decode, same, unique_ids};
use crate::paging::{PageKey, page_rows};

/// A backlog item. `kind`, `priority` and `status` are the enum tags of the
/// file as strings (`Todo`, `High`, `Open`, …).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Item {
    /// Id, e.g. `bl-003`.
    pub id: String,
    /// Title.
    pub title: String,
    /// Kind, e.g. `Todo`, `Bug`.
    #[serde(deserialize_with = "tag")]
    pub kind: String,
    /// Priority, e.g. `High`.
    #[serde(deserialize_with = "tag")]
    pub priority: String,
    /// Status, e.g. `Open`.
    #[serde(deserialize_with = "tag")]
    pub status: String,
    /// Details.
    #[serde(default)]
    pub detail: String,
    /// Related ADR ids.
    #[serde(default)]
    pub related_adrs: Vec<String>,
    /// Related state dimension.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub related_dim: Option<String>,
    /// What it becomes when done, e.g. `PrItem`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "opt_tag"
    )]
    pub graduates_to: Option<String>,
    /// Date created.
    pub created: String,
}

/// A tag exported by Nickel is a string; accept numbers and booleans too.
fn tag<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let v = serde_json::Value::deserialize(d)?;
    match v {
        serde_json::Value::String(s) => Ok(s),
        serde_json::Value::Number(_) | serde_json::Value::Bool(_) => Ok(v.to_string()),
        other => Err(serde::de::Error::custom(format!(
            "expected an enum tag or string, got {other}"
        ))),
    }
}

fn opt_tag<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    tag(d).map(Some)
}

/// `reflection/backlog.ncl`.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Backlog {
    items: Vec<Item>,
    generation: [u8; 8],
}

impl Document for Backlog {
    const KIND: &'static str = "backlog";
    const VERSION: u32 = 1;

    fn from_value(value: serde_json::Value, source: &Source<'_>) -> Result<Self, ModelError> {
        #[derive(Deserialize)]
        struct File {
            #[serde(default)]
            items: Vec<Item>,
        }
        let file: File = decode(value, source, Kind::BacklogItem, "items")?;
        unique_ids(
            file.items.iter().map(|i| i.id.as_str()),
            source,
            Kind::BacklogItem,
        )?;
        let mut generation = [0u8; 8];
        generation.copy_from_slice(&source.key[..8]);
        Ok(Backlog {
            items: file.items,
            generation,
        })
    }
}

/// Filters of a backlog listing; each compared case-insensitively.
#[derive(Debug, Default, Clone)]
pub struct ItemFilter<'a> {
    /// Status.
    pub status: Option<&'a str>,
    /// Priority.
    pub priority: Option<&'a str>,
    /// Kind.
    pub kind: Option<&'a str>,
}

impl Item {
    /// The item as a record of the cross-kind search.
    pub fn record(&self) -> Record {
        Record {
            kind: "backlog",
            id: self.id.clone(),
            title: self.title.clone(),
            labels: format!("{} {} {}", self.kind, self.priority, self.status),
            body: self.detail.clone(),
        }
    }
}

impl Backlog {
    /// All items, in file order.
    pub fn items(&self) -> &[Item] {
        &self.items
    }

    /// A digest of the file, for cursors.
    pub fn generation(&self) -> &[u8; 8] {
        &self.generation
    }

    /// Items matching the filter.
    pub fn matching<'s>(&'s self, f: &ItemFilter<'_>) -> Vec<&'s Item> {
        self.items
            .iter()
            .filter(|i| {
                f.status.is_none_or(|s| same(&i.status, s))
                    && f.priority.is_none_or(|p| same(&i.priority, p))
                    && f.kind.is_none_or(|k| same(&i.kind, k))
            })
            .collect()
    }

    /// The item with this id.
    pub fn get(&self, id: &str) -> Result<&Item, ModelError> {
        self.items.iter().find(|i| i.id == id).ok_or_else(|| {
            ModelError::not_found(
                Kind::BacklogItem,
                id,
                self.items.iter().map(|i| i.id.as_str()),
            )
        })
    }
}

/// A backlog item in a listing.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ItemSummary {
    /// Id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Kind.
    pub kind: String,
    /// Priority.
    pub priority: String,
    /// Status.
    pub status: String,
    /// Date created.
    pub created: String,
}
/// One page of backlog items.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct BacklogList {
    /// Items of this page, in file order.
    pub items: Vec<ItemSummary>,
    /// Items matching the filters, over all pages.
    pub total: usize,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}
/// One backlog item in full.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct BacklogGet {
    /// The item.
    pub item: Item,
}

/// How a backlog's items divide by status, priority and kind.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct BacklogStats {
    /// Every item.
    pub total: usize,
    /// Items per status, e.g. `{"Open": 5, "Done": 2}`.
    pub by_status: BTreeMap<String, usize>,
    /// Items per priority.
    pub by_priority: BTreeMap<String, usize>,
    /// Items per kind.
    pub by_kind: BTreeMap<String, usize>,
}

impl Backlog {
    /// Counts the items by status, priority and kind.
    pub fn stats(&self) -> BacklogStats {
        let mut stats = BacklogStats {
            total: self.items().len(),
            by_status: BTreeMap::new(),
            by_priority: BTreeMap::new(),
            by_kind: BTreeMap::new(),
        };
        for i in self.items() {
            *stats.by_status.entry(i.status.clone()).or_default() += 1;
            *stats.by_priority.entry(i.priority.clone()).or_default() += 1;
            *stats.by_kind.entry(i.kind.clone()).or_default() += 1;
        }
        stats
    }
}

impl Backlog {
    /// One page of the items `filter` keeps, in file order.
    pub fn list(
        &self,
        filter: &ItemFilter<'_>,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<BacklogList, ToolError> {
        let rows: Vec<ItemSummary> = self
            .matching(filter)
            .into_iter()
            .map(|i| ItemSummary {
                id: i.id.clone(),
                title: i.title.clone(),
                kind: i.kind.clone(),
                priority: i.priority.clone(),
                status: i.status.clone(),
                created: i.created.clone(),
            })
            .collect();
        let query = format!(
            "backlog_list {:?} {:?} {:?}",
            filter.status, filter.priority, filter.kind
        )
        .to_lowercase();
        let key = PageKey::new(&query, self.generation());
        let (items, total, next_cursor) = page_rows(&rows, &key, cursor, limit)?;
        Ok(BacklogList {
            total,
            items,
            next_cursor,
        })
    }

    /// Item `id`, whole.
    pub fn show(&self, id: &str) -> Result<BacklogGet, ToolError> {
        Ok(BacklogGet {
            item: self.get(id)?.clone(),
        })
    }
}
