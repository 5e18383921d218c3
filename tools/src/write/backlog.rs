//! Adding and changing backlog items in `reflection/backlog.ncl`.

use super::Written;
use super::render::Lit;
use super::store::{self, Store, today};
use crate::backlog::{Backlog, Item};
use crate::engine::Engine;
use crate::error::ToolError;

/// A new item; its status is `Open` unless given.
#[derive(Debug, Clone, Default)]
pub struct NewItem {
    /// Title.
    pub title: String,
    /// Kind, an enum tag such as `Todo` or `Bug`.
    pub kind: String,
    /// Priority, an enum tag such as `High`.
    pub priority: String,
    /// Status; `Open` when `None`.
    pub status: Option<String>,
    /// Details.
    pub detail: String,
    /// Related ADR ids.
    pub related_adrs: Vec<String>,
    /// The state dimension it moves.
    pub related_dim: Option<String>,
    /// What it becomes when done (`PrItem`, `StateTransition`).
    pub graduates_to: Option<String>,
}

/// Fields of an item to change; `None` leaves one as it is.
#[derive(Debug, Clone, Default)]
pub struct ItemChange {
    /// The item's id.
    pub id: String,
    /// A new title.
    pub title: Option<String>,
    /// A new kind.
    pub kind: Option<String>,
    /// A new priority.
    pub priority: Option<String>,
    /// A new status.
    pub status: Option<String>,
    /// New details.
    pub detail: Option<String>,
    /// New related ADR ids (all of them).
    pub related_adrs: Option<Vec<String>>,
    /// A new state dimension.
    pub related_dim: Option<String>,
    /// What it becomes when done.
    pub graduates_to: Option<String>,
}

impl ItemChange {
    /// Whether it changes anything.
    pub fn is_empty(&self) -> bool {
        self.fields().is_empty()
    }

    fn fields(&self) -> Vec<(&'static str, Lit)> {
        let mut out = Vec::new();
        let text = |v: &Option<String>| v.clone().map(Lit::Str);
        let tag = |v: &Option<String>| v.clone().map(Lit::Tag);
        for (name, value) in [
            ("title", text(&self.title)),
            ("kind", tag(&self.kind)),
            ("priority", tag(&self.priority)),
            ("status", tag(&self.status)),
            ("detail", text(&self.detail)),
            ("related_adrs", self.related_adrs.clone().map(Lit::List)),
            ("related_dim", text(&self.related_dim)),
            ("graduates_to", tag(&self.graduates_to)),
        ] {
            if let Some(v) = value {
                out.push((name, v));
            }
        }
        out
    }

    fn apply(&self, item: &Item) -> Item {
        let mut item = item.clone();
        let set = |field: &mut String, v: &Option<String>| {
            if let Some(v) = v {
                field.clone_from(v);
            }
        };
        set(&mut item.title, &self.title);
        set(&mut item.kind, &self.kind);
        set(&mut item.priority, &self.priority);
        set(&mut item.status, &self.status);
        set(&mut item.detail, &self.detail);
        if let Some(a) = &self.related_adrs {
            item.related_adrs.clone_from(a);
        }
        if self.related_dim.is_some() {
            item.related_dim.clone_from(&self.related_dim);
        }
        if self.graduates_to.is_some() {
            item.graduates_to.clone_from(&self.graduates_to);
        }
        item
    }
}

/// Adds `new` at the end of the backlog as the next `bl-NNN`, created
/// today.
pub async fn add(engine: &Engine, new: NewItem, actor: &str) -> Result<Written, ToolError> {
    let id = store::append::<Backlog>(engine, Store::Backlog, None, "bl", |id| {
        let item = Item {
            id: id.to_owned(),
            title: new.title,
            kind: new.kind,
            priority: new.priority,
            status: new.status.unwrap_or_else(|| "Open".to_owned()),
            detail: new.detail,
            related_adrs: new.related_adrs,
            related_dim: new.related_dim,
            graduates_to: new.graduates_to,
            created: today(),
        };
        let mut fields = vec![
            ("id", Lit::Str(item.id.clone())),
            ("title", Lit::Str(item.title.clone())),
            ("kind", Lit::Tag(item.kind.clone())),
            ("priority", Lit::Tag(item.priority.clone())),
            ("status", Lit::Tag(item.status.clone())),
            ("detail", Lit::Str(item.detail.clone())),
            ("related_adrs", Lit::List(item.related_adrs.clone())),
        ];
        if let Some(dim) = &item.related_dim {
            fields.push(("related_dim", Lit::Str(dim.clone())));
        }
        if let Some(g) = &item.graduates_to {
            fields.push(("graduates_to", Lit::Tag(g.clone())));
        }
        fields.push(("created", Lit::Str(item.created.clone())));
        (fields, item)
    })
    .await?;
    tracing::info!(actor, id = %id, file = Store::Backlog.file(), op = "add", "knowledge written");
    Ok(Written::new(id, Store::Backlog))
}

/// Sets the fields `change` names on its item.
pub async fn update(
    engine: &Engine,
    change: ItemChange,
    actor: &str,
) -> Result<Written, ToolError> {
    store::change::<Backlog>(
        engine,
        Store::Backlog,
        &change.id,
        Some(change.fields()),
        |i| change.apply(i),
    )
    .await?;
    tracing::info!(actor, id = %change.id, file = Store::Backlog.file(), op = "update", "knowledge written");
    Ok(Written::new(change.id, Store::Backlog))
}
