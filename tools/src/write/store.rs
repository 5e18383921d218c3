//! One write to a store file, start to end: refuse a project ontoref must
//! not write, take the advisory lock beside the file, read the file under
//! it, locate the records, make the new text, evaluate it against the
//! file's contract in process, check that it holds exactly what was asked
//! (every other record unchanged), then replace the file durably (temporary
//! file, fsync, rename, fsync of the directory) and hand the checked
//! document to the loader's cache. Any failure before the rename leaves the
//! file byte for byte as it was.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::error::WriteError;
use super::layout::{Layout, locate};
use super::render::Lit;
use super::splice;
use crate::engine::Engine;
use crate::error::ToolError;
use crate::fsread::{self, Links};
use crate::fswrite::{FileLock, write_durable};
use crate::model::{Document, Kind, LoadError, ModelError};
use crate::project::ProjectOrigin;

/// How long a writer waits for another's lock.
/// Generous: writers queue behind each other, and a queue of a hundred
/// writes is still well inside it.
pub const LOCK_WAIT: Duration = Duration::from_secs(60);

/// A store file ontoref writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Store {
    /// `reflection/qa.ncl`.
    Qa,
    /// `reflection/backlog.ncl`.
    Backlog,
}

impl Store {
    /// The file, relative to the project root.
    pub fn file(self) -> &'static str {
        match self {
            Store::Qa => "reflection/qa.ncl",
            Store::Backlog => "reflection/backlog.ncl",
        }
    }

    /// The name of its array of records.
    pub fn list(self) -> &'static str {
        match self {
            Store::Qa => "entries",
            Store::Backlog => "items",
        }
    }

    /// The record kind, for the model's errors.
    pub fn kind(self) -> Kind {
        match self {
            Store::Qa => Kind::Qa,
            Store::Backlog => Kind::BacklogItem,
        }
    }

    /// The text of a new store file with no records.
    fn skeleton(self) -> &'static str {
        match self {
            Store::Qa => {
                "# reflection/qa.ncl: the project's questions and answers.\nlet s = import \"schemas/qa.ncl\" in\n{\n  entries = [],\n} | s.QaStore\n"
            }
            Store::Backlog => {
                "# reflection/backlog.ncl: the project's open work.\nlet b = import \"schemas/backlog.ncl\" in\n{\n  items = [],\n} | b.Backlog\n"
            }
        }
    }
}

/// A store file opened for one write: its lock is held until this is
/// dropped.
pub struct Open<D> {
    store: Store,
    path: PathBuf,
    /// The file's text, read under the lock.
    pub text: String,
    /// The records as the text was when read.
    pub layout: Layout,
    /// Whether the file exists (else `text` is a new store's).
    exists: bool,
    _lock: FileLock,
    _doc: std::marker::PhantomData<D>,
}

impl<D: Document + Default> Open<D> {
    /// Opens `store` of the engine's project for writing.
    pub async fn open(engine: &Engine, store: Store) -> Result<Open<D>, ToolError> {
        let project = engine.project();
        let file = store.file();
        if project.origin() == ProjectOrigin::Embedded {
            return Err(WriteError::ReadOnly {
                root: project.root().display().to_string(),
                why: "it is the agent-first template built into the binary".into(),
            }
            .into());
        }
        let path = project.file(file);
        let dir = path
            .parent()
            .ok_or_else(|| ToolError::Internal(format!("{file} has no directory")))?;
        let io = |op: &'static str, e: std::io::Error| WriteError::Io {
            op,
            file: file.to_owned(),
            reason: e.to_string(),
        };
        if !dir.exists() {
            std::fs::create_dir_all(dir).map_err(|e| io("create the directory of", e))?;
        }
        guard_directory(project.root(), dir, file)?;
        let lock_path = dir.join(format!(
            ".{}.lock",
            path.file_name().and_then(|n| n.to_str()).unwrap_or("store")
        ));
        let lock = FileLock::acquire(&lock_path, LOCK_WAIT)
            .await
            .map_err(|(op, e)| {
                if e.kind() == std::io::ErrorKind::WouldBlock {
                    WriteError::Busy {
                        file: file.to_owned(),
                        seconds: LOCK_WAIT.as_secs(),
                    }
                } else {
                    io(op, e)
                }
            })?;
        let exists = match std::fs::symlink_metadata(&path) {
            Ok(meta) if meta.file_type().is_file() => true,
            Ok(_) => {
                return Err(WriteError::NotEditable {
                    file: file.to_owned(),
                    detail: "it is not a regular file (a link or a directory)".into(),
                }
                .into());
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
            Err(e) => return Err(io("read", e).into()),
        };
        let max = engine.loader().evaluator().options().limits.max_file;
        let text = if exists {
            fsread::read_text(&path, max, Links::Refuse).map_err(|e| WriteError::Io {
                op: "read",
                file: file.to_owned(),
                reason: e.to_string(),
            })?
        } else {
            store.skeleton().to_owned()
        };
        let layout = locate(&text, store.list()).map_err(|detail| WriteError::NotEditable {
            file: file.to_owned(),
            detail,
        })?;
        Ok(Open {
            store,
            path,
            text,
            layout,
            exists,
            _lock: lock,
            _doc: std::marker::PhantomData,
        })
    }

    /// The document the file evaluates to now (through the loader's cache:
    /// no evaluation when this process wrote or read it last).
    pub async fn current(&self, engine: &Engine) -> Result<Arc<D>, ToolError> {
        if !self.exists {
            return Ok(Arc::new(D::default()));
        }
        Ok(engine
            .loader()
            .load::<D>(&self.path)
            .await?
            .unwrap_or_default())
    }

    /// The ids of the records as written in the text, when every record
    /// is a record literal whose `id` is a plain string literal: enough to
    /// pick a new id and place it without evaluating the file first.
    pub fn literal_ids(&self) -> Option<Vec<String>> {
        self.layout
            .elements
            .iter()
            .map(|e| {
                let f = e.field("id")?;
                plain_string(&self.text[f.value_start..f.value_end])
            })
            .collect()
    }

    /// The file's records do not line up with what it evaluates to.
    pub fn misaligned(&self, records: usize) -> ToolError {
        WriteError::NotEditable {
            file: self.store.file().to_owned(),
            detail: format!(
                "its `{}` array literal has {} elements but the file evaluates to {records} records",
                self.store.list(),
                self.layout.elements.len()
            ),
        }
        .into()
    }

    /// Writes the text `make` builds, once it evaluates against the
    /// contract and `expect` finds it holds what was asked. `make(true)`
    /// may write multi-line strings as blocks; should that text not read
    /// back exactly, `make(false)` (one-line strings only) is tried.
    pub async fn commit(
        self,
        engine: &Engine,
        make: impl Fn(bool) -> Result<String, ToolError>,
        expect: impl Fn(&D) -> Result<(), String>,
    ) -> Result<Arc<D>, ToolError> {
        let file = self.store.file();
        let loader = engine.loader();
        let blocks = make(true)?;
        let plain = make(false)?;
        let tries = if blocks == plain {
            vec![blocks]
        } else {
            vec![blocks, plain]
        };
        let mut last = String::new();
        for text in tries {
            let checked = loader
                .check_text::<D>(&self.path, text.clone())
                .await
                .map_err(|e| self.invalid(e))?;
            if let Err(why) = expect(checked.doc()) {
                last = why;
                continue;
            }
            write_durable(&self.path, text.as_bytes()).map_err(|(op, e)| WriteError::Io {
                op,
                file: file.to_owned(),
                reason: e.to_string(),
            })?;
            loader.install(&self.path, &checked).await;
            return Ok(checked.doc().clone());
        }
        Err(WriteError::NotEditable {
            file: file.to_owned(),
            detail: format!("the edited file does not read back as asked: {last}"),
        }
        .into())
    }

    /// A candidate the loader refused, as the store's invalid-entry error.
    fn invalid(&self, err: LoadError) -> ToolError {
        match err {
            LoadError::Model(e) => e.into(),
            LoadError::Ncl(e) => ModelError::Invalid {
                kind: self.store.kind(),
                file: self.store.file().to_owned(),
                line: String::new(),
                field: self.store.list().to_owned(),
                detail: e.to_string(),
            }
            .into(),
        }
    }
}

/// A store document whose records have ids: what the generic operations
/// below need of the Q&A store and the backlog.
pub trait Records: Document + Default {
    /// One record.
    type Record: Clone + PartialEq;
    /// The records, in file order.
    fn records(&self) -> &[Self::Record];
    /// A record's id.
    fn id_of(record: &Self::Record) -> &str;
}

impl Records for crate::qa::QaStore {
    type Record = crate::qa::QaEntry;
    fn records(&self) -> &[Self::Record] {
        self.entries()
    }
    fn id_of(record: &Self::Record) -> &str {
        &record.id
    }
}

impl Records for crate::backlog::Backlog {
    type Record = crate::backlog::Item;
    fn records(&self) -> &[Self::Record] {
        self.items()
    }
    fn id_of(record: &Self::Record) -> &str {
        &record.id
    }
}

/// Appends the record `build` makes for its id (the one given, refused if
/// taken, or the next free `prefix-NNN`) as `fields`; returns the id.
pub async fn append<D: Records>(
    engine: &Engine,
    store: Store,
    id: Option<String>,
    prefix: &str,
    build: impl FnOnce(&str) -> (Vec<(&'static str, Lit)>, D::Record),
) -> Result<String, ToolError> {
    let open = Open::<D>::open(engine, store).await?;
    // The ids as written, or, when some are computed, as evaluated.
    let ids = match open.literal_ids() {
        Some(ids) => ids,
        None => open
            .current(engine)
            .await?
            .records()
            .iter()
            .map(|r| D::id_of(r).to_owned())
            .collect(),
    };
    let id = match id {
        Some(id) if ids.contains(&id) => {
            return Err(ModelError::DuplicateId {
                kind: store.kind(),
                file: store.file().to_owned(),
                line: String::new(),
                id,
                first: " (already in the store)".to_owned(),
            }
            .into());
        }
        Some(id) => id,
        None => next_id(prefix, ids.iter().map(String::as_str)),
    };
    let (fields, record) = build(&id);
    // The array literal's elements are the records, one each: the new one
    // comes last, after as many as there were.
    let count = ids.len();
    let text = open.text.clone();
    let layout = open.layout.clone();
    open.commit(
        engine,
        |multiline| Ok(splice::append(&text, &layout, &fields, multiline)),
        |after: &D| {
            let new = after.records();
            if new.len() == count + 1 && new[count] == record {
                Ok(())
            } else {
                Err(format!("record `{id}` or another record differs"))
            }
        },
    )
    .await?;
    Ok(id)
}

/// Sets `fields` on record `id` (`apply` is the same change on a record
/// read back), or removes it when `fields` is `None`.
pub async fn change<D: Records>(
    engine: &Engine,
    store: Store,
    id: &str,
    fields: Option<Vec<(&'static str, Lit)>>,
    apply: impl Fn(&D::Record) -> D::Record,
) -> Result<(), ToolError> {
    let open = Open::<D>::open(engine, store).await?;
    let before = open.current(engine).await?;
    let records = before.records();
    let index = records
        .iter()
        .position(|r| D::id_of(r) == id)
        .ok_or_else(|| ModelError::not_found(store.kind(), id, records.iter().map(D::id_of)))?;
    if open.layout.elements.len() != records.len() {
        return Err(open.misaligned(records.len()));
    }
    let element = open.layout.elements[index].clone();
    let expected: Vec<D::Record> = records
        .iter()
        .enumerate()
        .filter_map(|(i, r)| match (i == index, &fields) {
            (false, _) => Some(r.clone()),
            (true, Some(_)) => Some(apply(r)),
            (true, None) => None,
        })
        .collect();
    let text = open.text.clone();
    open.commit(
        engine,
        |multiline| match &fields {
            None => Ok(splice::remove(&text, &element)),
            Some(fields) => splice::update(&text, &element, fields, multiline).map_err(|detail| {
                WriteError::NotEditable {
                    file: store.file().to_owned(),
                    detail: format!("record `{id}`: {detail}"),
                }
                .into()
            }),
        },
        |after: &D| {
            if after.records() == expected.as_slice() {
                Ok(())
            } else {
                Err(format!("record `{id}` or another record differs"))
            }
        },
    )
    .await?;
    Ok(())
}

/// Refuses a store directory that resolves outside the project, or into
/// `.ontology/` or `adrs/`, which writes never touch.
fn guard_directory(root: &Path, dir: &Path, file: &str) -> Result<(), WriteError> {
    let refuse = |detail: String| WriteError::NotEditable {
        file: file.to_owned(),
        detail,
    };
    let real_root = root
        .canonicalize()
        .map_err(|e| refuse(format!("the project root cannot be resolved: {e}")))?;
    let real = dir
        .canonicalize()
        .map_err(|e| refuse(format!("its directory cannot be resolved: {e}")))?;
    let inside = real
        .strip_prefix(&real_root)
        .map_err(|_| refuse("its directory resolves outside the project".into()))?;
    if inside.starts_with(".ontology") || inside.starts_with("adrs") {
        return Err(refuse(format!(
            "its directory resolves into {}, which ontoref never writes",
            inside.display()
        )));
    }
    Ok(())
}

/// The value of a one-line Nickel string literal without interpolation,
/// its escapes decoded; `None` for anything else.
pub fn plain_string(literal: &str) -> Option<String> {
    let inner = literal.strip_prefix('"')?.strip_suffix('"')?;
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push(match chars.next()? {
                'n' => '\n',
                'r' => '\r',
                't' => '\t',
                c @ ('"' | '\\' | '%' | '\'') => c,
                _ => return None,
            }),
            '%' if chars.clone().next() == Some('{') => return None,
            '"' => return None,
            c => out.push(c),
        }
    }
    Some(out)
}

/// Today's date, `YYYY-MM-DD` (UTC).
pub fn today() -> String {
    chrono::Utc::now().format("%Y-%m-%d").to_string()
}

/// The next free id `prefix-NNN` among `ids`: one past the largest number
/// used, at least three digits.
pub fn next_id<'a>(prefix: &str, ids: impl Iterator<Item = &'a str>) -> String {
    let max = ids
        .filter_map(|id| id.strip_prefix(prefix)?.strip_prefix('-'))
        .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        .filter_map(|n| n.parse::<u64>().ok())
        .max()
        .unwrap_or(0);
    format!("{prefix}-{:03}", max + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_ids_follow_the_largest_number() {
        assert_eq!(
            next_id("qa", ["a", "qa-007", "qa-12", "qa-x"].into_iter()),
            "qa-013"
        );
        assert_eq!(next_id("bl", std::iter::empty()), "bl-001");
        assert_eq!(next_id("bl", ["bl-1000"].into_iter()), "bl-1001");
    }

    #[test]
    fn plain_strings_decode_and_others_do_not() {
        assert_eq!(
            plain_string(r#""a\"b\\c\%{""#).as_deref(),
            Some("a\"b\\c%{")
        );
        assert_eq!(plain_string(r#""x %{y}""#), None);
        assert_eq!(plain_string("m%\"x\"%"), None);
        assert_eq!(plain_string("c.id"), None);
    }
}
