//! Adding, changing and deleting Q&A entries in `reflection/qa.ncl`.

use super::Written;
use super::render::Lit;
use super::store::{self, Store, today};
use crate::engine::Engine;
use crate::error::ToolError;
use crate::qa::{QaEntry, QaStore};

/// A new entry.
#[derive(Debug, Clone, Default)]
pub struct NewEntry {
    /// The id; the next free `qa-NNN` when `None`.
    pub id: Option<String>,
    /// The question.
    pub question: String,
    /// The answer.
    pub answer: String,
    /// Tags.
    pub tags: Vec<String>,
    /// Ids of related ADRs or entries.
    pub related: Vec<String>,
}

/// Fields of an entry to change; `None` leaves one as it is.
#[derive(Debug, Clone, Default)]
pub struct EntryChange {
    /// The entry's id.
    pub id: String,
    /// A new question.
    pub question: Option<String>,
    /// A new answer.
    pub answer: Option<String>,
    /// New tags (all of them).
    pub tags: Option<Vec<String>>,
    /// New related ids (all of them).
    pub related: Option<Vec<String>>,
    /// Checked by a person, or not.
    pub verified: Option<bool>,
}

impl EntryChange {
    /// Whether it changes anything.
    pub fn is_empty(&self) -> bool {
        self.question.is_none()
            && self.answer.is_none()
            && self.tags.is_none()
            && self.related.is_none()
            && self.verified.is_none()
    }

    fn fields(&self) -> Vec<(&'static str, Lit)> {
        let mut out = Vec::new();
        if let Some(q) = &self.question {
            out.push(("question", Lit::Str(q.clone())));
        }
        if let Some(a) = &self.answer {
            out.push(("answer", Lit::Str(a.clone())));
        }
        if let Some(t) = &self.tags {
            out.push(("tags", Lit::List(t.clone())));
        }
        if let Some(r) = &self.related {
            out.push(("related", Lit::List(r.clone())));
        }
        if let Some(v) = self.verified {
            out.push(("verified", Lit::Bool(v)));
        }
        out
    }

    fn apply(&self, e: &QaEntry) -> QaEntry {
        let mut e = e.clone();
        if let Some(q) = &self.question {
            e.question.clone_from(q);
        }
        if let Some(a) = &self.answer {
            e.answer.clone_from(a);
        }
        if let Some(t) = &self.tags {
            e.tags.clone_from(t);
        }
        if let Some(r) = &self.related {
            e.related.clone_from(r);
        }
        if let Some(v) = self.verified {
            e.verified = v;
        }
        e
    }
}

/// Adds `new` at the end of the store, written by `actor` today.
pub async fn add(engine: &Engine, new: NewEntry, actor: &str) -> Result<Written, ToolError> {
    let id = store::append::<QaStore>(engine, Store::Qa, new.id.clone(), "qa", |id| {
        let entry = QaEntry {
            id: id.to_owned(),
            question: new.question,
            answer: new.answer,
            actor: actor.to_owned(),
            created_at: today(),
            tags: new.tags,
            related: new.related,
            verified: false,
        };
        let fields = vec![
            ("id", Lit::Str(entry.id.clone())),
            ("question", Lit::Str(entry.question.clone())),
            ("answer", Lit::Str(entry.answer.clone())),
            ("actor", Lit::Str(entry.actor.clone())),
            ("created_at", Lit::Str(entry.created_at.clone())),
            ("tags", Lit::List(entry.tags.clone())),
            ("related", Lit::List(entry.related.clone())),
            ("verified", Lit::Bool(false)),
        ];
        (fields, entry)
    })
    .await?;
    tracing::info!(actor, id = %id, file = Store::Qa.file(), op = "add", "knowledge written");
    Ok(Written::new(id, Store::Qa))
}

/// Sets the fields `change` names on its entry.
pub async fn update(
    engine: &Engine,
    change: EntryChange,
    actor: &str,
) -> Result<Written, ToolError> {
    store::change::<QaStore>(engine, Store::Qa, &change.id, Some(change.fields()), |e| {
        change.apply(e)
    })
    .await?;
    tracing::info!(actor, id = %change.id, file = Store::Qa.file(), op = "update", "knowledge written");
    Ok(Written::new(change.id, Store::Qa))
}

/// Deletes entry `id`.
pub async fn delete(engine: &Engine, id: &str, actor: &str) -> Result<Written, ToolError> {
    store::change::<QaStore>(engine, Store::Qa, id, None, Clone::clone).await?;
    tracing::info!(
        actor,
        id,
        file = Store::Qa.file(),
        op = "delete",
        "knowledge written"
    );
    Ok(Written::new(id.to_owned(), Store::Qa))
}
