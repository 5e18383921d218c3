//! Many files evaluated as one Nickel program.
//!
//! A Nickel program pays for its standard library (parse, compile,
//! transform: ~6 ms) before it evaluates a line of the file, and a file
//! such as an ADR needs ~0.1 ms after that. So a set of files loaded
//! together (every ADR of a project) is evaluated as one program per
//! worker: a synthetic main that imports each file's own main, in order,
//! into an array. The standard library and every file the set shares (the
//! embedded schemas) are prepared once per program, and the programs run
//! side by side, one per core.
//!
//! A batch answers only when every file evaluates: on any failure (an
//! error, a timeout, a value that is not exportable) each file is evaluated
//! again on its own, so what a file's error says, and which file it names,
//! is exactly what a single evaluation would report.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use futures_util::future::join_all;

use super::sandbox::{Bundle, BundleFile, EMBEDDED_ROOT, Format};
use super::{Evaluated, Evaluator, NclError};

/// Files per program at most: a batch that fails is evaluated again file
/// by file, so a batch is kept small enough for that to stay cheap.
const MAX_BATCH: usize = 256;

/// A path as a Nickel string literal, exact for any name: `"`, `\` and `%`
/// escaped (`%{` would interpolate), CR and LF spelled out (Nickel reads a
/// raw CRLF in a string as LF).
pub(crate) fn quoted(path: &Path) -> String {
    let mut s = String::from("\"");
    for c in path.display().to_string().chars() {
        match c {
            '"' | '\\' | '%' => {
                s.push('\\');
                s.push(c);
            }
            '\r' => s.push_str("\\r"),
            '\n' => s.push_str("\\n"),
            c => s.push(c),
        }
    }
    s.push('"');
    s
}

/// One bundle evaluating every bundle of `parts` into an array, in order;
/// `None` when they cannot share a program: a name given two texts or two
/// import paths, a main that is not Nickel, or a typecheck-only part.
pub(crate) fn merge(parts: &[&Bundle]) -> Option<Bundle> {
    let first = parts.first()?;
    let mut files: Vec<BundleFile> = Vec::new();
    let mut index: HashMap<(&Path, Format), usize> = HashMap::new();
    let mut main = String::from("[\n");
    for part in parts {
        if part.typecheck_only
            || part.import_paths != first.import_paths
            || part.main.format != Format::Nickel
        {
            return None;
        }
        for file in std::iter::once(&part.main).chain(&part.files) {
            match index.get(&(file.name.as_path(), file.format)) {
                Some(&at) if files[at].text == file.text => {}
                Some(_) => return None,
                None => {
                    index.insert((file.name.as_path(), file.format), files.len());
                    files.push(file.clone());
                }
            }
        }
        main.push_str("  import ");
        main.push_str(&quoted(&part.main.name));
        main.push_str(" as 'Nickel,\n");
    }
    main.push_str("]\n");
    let name = PathBuf::from(format!("{EMBEDDED_ROOT}/batch-of-{}.ncl", parts.len()));
    if index.contains_key(&(name.as_path(), Format::Nickel)) {
        return None;
    }
    Some(Bundle {
        main: BundleFile {
            name,
            format: Format::Nickel,
            text: main,
            on_disk: false,
        },
        files,
        import_paths: first.import_paths.clone(),
        typecheck_only: false,
    })
}

/// The `n` values of a merged bundle's array, or `None` when it is not one.
fn split(value: serde_json::Value, n: usize) -> Option<Vec<serde_json::Value>> {
    match value {
        serde_json::Value::Array(values) if values.len() == n => Some(values),
        _ => None,
    }
}

impl Evaluator {
    /// Evaluates every bundle, as [`Evaluator::eval`] would one by one, in
    /// one program per core (see the module); results in the order given.
    pub async fn eval_many(&self, bundles: Vec<Bundle>) -> Vec<Result<Evaluated, NclError>> {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let per = bundles.len().div_ceil(cores).clamp(1, MAX_BATCH);
        let mut chunks: Vec<Vec<Bundle>> = Vec::new();
        let mut rest = bundles.into_iter().peekable();
        while rest.peek().is_some() {
            chunks.push(rest.by_ref().take(per).collect());
        }
        join_all(chunks.into_iter().map(|chunk| self.eval_chunk(chunk)))
            .await
            .into_iter()
            .flatten()
            .collect()
    }

    async fn eval_chunk(&self, chunk: Vec<Bundle>) -> Vec<Result<Evaluated, NclError>> {
        if chunk.len() > 1 {
            let parts: Vec<&Bundle> = chunk.iter().collect();
            if let Some(merged) = merge(&parts) {
                let n = chunk.len();
                match self.eval(merged).await.map(|e| split(e.value, n)) {
                    Ok(Some(values)) => {
                        return values
                            .into_iter()
                            .map(|value| Ok(Evaluated { value }))
                            .collect();
                    }
                    Ok(None) | Err(_) => {
                        tracing::debug!(
                            files = n,
                            "a batch failed; evaluating its files one by one"
                        );
                    }
                }
            }
        }
        let mut out = Vec::with_capacity(chunk.len());
        for bundle in chunk {
            out.push(self.eval(bundle).await);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str, text: &str) -> BundleFile {
        BundleFile {
            name: PathBuf::from(name),
            format: Format::Nickel,
            text: text.to_owned(),
            on_disk: true,
        }
    }

    fn bundle(main: BundleFile, files: Vec<BundleFile>) -> Bundle {
        Bundle {
            main,
            files,
            import_paths: vec![PathBuf::from("/<ontoref>")],
            typecheck_only: false,
        }
    }

    #[test]
    fn shared_files_are_given_once_and_mains_imported_in_order() {
        let schema = file("/s.ncl", "{}");
        let a = bundle(file("/p/a.ncl", "1"), vec![schema.clone()]);
        let b = bundle(file("/p/b \"q\".ncl", "2"), vec![schema]);
        let merged = merge(&[&a, &b]).expect("mergeable");
        let names: Vec<_> = merged.files.iter().map(|f| f.name.clone()).collect();
        assert_eq!(
            names,
            ["/p/a.ncl", "/s.ncl", "/p/b \"q\".ncl"].map(PathBuf::from)
        );
        let a_at = merged.main.text.find("/p/a.ncl").expect("a imported");
        let b_at = merged
            .main
            .text
            .find(r#""/p/b \"q\".ncl" as 'Nickel"#)
            .expect("b imported, quoted");
        assert!(a_at < b_at, "{}", merged.main.text);
        assert_eq!(merged.import_paths, a.import_paths);
    }

    #[test]
    fn a_name_with_two_texts_or_other_import_paths_is_not_merged() {
        let a = bundle(file("/p/a.ncl", "1"), vec![file("/s.ncl", "{}")]);
        let b = bundle(file("/p/b.ncl", "2"), vec![file("/s.ncl", "{ x = 1 }")]);
        assert!(merge(&[&a, &b]).is_none());
        let mut c = bundle(file("/p/c.ncl", "3"), vec![]);
        c.import_paths.push(PathBuf::from("/elsewhere"));
        assert!(merge(&[&a, &c]).is_none());
        let mut d = bundle(file("/p/d.ncl", "4"), vec![]);
        d.typecheck_only = true;
        assert!(merge(&[&a, &d]).is_none());
    }

    #[test]
    fn only_an_array_of_as_many_values_splits() {
        let v = serde_json::json!([1, 2]);
        assert_eq!(split(v.clone(), 2), Some(vec![1.into(), 2.into()]));
        assert_eq!(split(v, 3), None);
        assert_eq!(split(serde_json::json!({"a": 1}), 1), None);
    }
}
