//! The `extends` graph of an ontology index: the closure of an id as the
//! corpus's reference resolver orders it (depth-first post-order from the
//! base to the id itself, parents in list order, each id once), and the
//! cycle check. Iterative, so a hostile index with a long chain cannot
//! exhaust the stack.

use std::collections::BTreeMap;

use crate::ontologies::OntologyError;

/// Where a walk stands on an id.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mark {
    /// On the current path (its parents are being visited).
    Open,
    /// Emitted.
    Done,
}

/// The closure of `root` over `parents` (id → the ids it extends): the ids
/// it brings in, bases first, `root` last. An id `parents` does not know is
/// `ontology-index-invalid`; a cycle is `ontology-extends-cycle`.
pub fn closure(
    parents: &BTreeMap<String, Vec<String>>,
    root: &str,
) -> Result<Vec<String>, OntologyError> {
    let mut marks: BTreeMap<&str, Mark> = BTreeMap::new();
    let mut out = Vec::new();
    walk(parents, root, &mut marks, &mut out)?;
    Ok(out)
}

/// The first cycle among `parents`, as the ids along it with the first
/// repeated at the end, if there is one.
pub fn find_cycle(parents: &BTreeMap<String, Vec<String>>) -> Option<Vec<String>> {
    let mut marks: BTreeMap<&str, Mark> = BTreeMap::new();
    let mut sink = Vec::new();
    for id in parents.keys() {
        if marks.contains_key(id.as_str()) {
            continue;
        }
        if let Err(OntologyError::ExtendsCycle { cycle }) = walk(parents, id, &mut marks, &mut sink)
        {
            return Some(cycle);
        }
    }
    None
}

fn walk<'a>(
    parents: &'a BTreeMap<String, Vec<String>>,
    root: &'a str,
    marks: &mut BTreeMap<&'a str, Mark>,
    out: &mut Vec<String>,
) -> Result<(), OntologyError> {
    // (id, index of the next parent to visit)
    let mut stack: Vec<(&'a str, usize)> = Vec::new();
    match marks.get(root) {
        Some(Mark::Done) => return Ok(()),
        Some(Mark::Open) => {
            return Err(OntologyError::ExtendsCycle {
                cycle: vec![root.to_owned(), root.to_owned()],
            });
        }
        None => {}
    }
    known(parents, root, None)?;
    marks.insert(root, Mark::Open);
    stack.push((root, 0));
    while let Some(&mut (id, ref mut next)) = stack.last_mut() {
        let list = &parents[id];
        if let Some(parent) = list.get(*next) {
            *next += 1;
            let parent = parent.as_str();
            match marks.get(parent) {
                Some(Mark::Done) => {}
                Some(Mark::Open) => {
                    let from = stack.iter().position(|(i, _)| *i == parent).unwrap_or(0);
                    let mut cycle: Vec<String> =
                        stack[from..].iter().map(|(i, _)| (*i).to_owned()).collect();
                    cycle.push(parent.to_owned());
                    return Err(OntologyError::ExtendsCycle { cycle });
                }
                None => {
                    known(parents, parent, Some(id))?;
                    marks.insert(parent, Mark::Open);
                    stack.push((parent, 0));
                }
            }
        } else {
            marks.insert(id, Mark::Done);
            out.push(id.to_owned());
            stack.pop();
        }
    }
    Ok(())
}

fn known(
    parents: &BTreeMap<String, Vec<String>>,
    id: &str,
    child: Option<&str>,
) -> Result<(), OntologyError> {
    if parents.contains_key(id) {
        return Ok(());
    }
    Err(OntologyError::IndexInvalid {
        path: "index.json".into(),
        detail: match child {
            Some(c) => format!(
                "`{}` extends `{}`, which the index does not list",
                crate::error::clip(c),
                crate::error::clip(id)
            ),
            None => format!("no ontology `{}` in the index", crate::error::clip(id)),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(edges: &[(&str, &[&str])]) -> BTreeMap<String, Vec<String>> {
        edges
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.iter().map(|s| (*s).to_owned()).collect()))
            .collect()
    }

    #[test]
    fn closures_are_post_order_with_diamonds_once() {
        let g = graph(&[
            ("base", &[]),
            ("traits", &["base"]),
            ("research", &["base", "traits"]),
            ("agri", &["base", "traits"]),
            ("leaf", &["research", "agri"]),
        ]);
        assert_eq!(
            closure(&g, "leaf").unwrap(),
            ["base", "traits", "research", "agri", "leaf"]
        );
        assert_eq!(closure(&g, "base").unwrap(), ["base"]);
        assert_eq!(find_cycle(&g), None);
    }

    #[test]
    fn cycles_and_unknown_ids_are_named() {
        let g = graph(&[("a", &["b"]), ("b", &["c"]), ("c", &["a"]), ("d", &["a"])]);
        let Err(OntologyError::ExtendsCycle { cycle }) = closure(&g, "d") else {
            panic!("no cycle found");
        };
        assert_eq!(cycle, ["a", "b", "c", "a"]);
        assert_eq!(find_cycle(&g).unwrap().len(), 4);
        let g = graph(&[("a", &["a"])]);
        assert_eq!(find_cycle(&g).unwrap(), ["a", "a"]);
        let g = graph(&[("a", &["ghost"])]);
        let e = closure(&g, "a").unwrap_err();
        assert_eq!(e.code(), "ontology-index-invalid");
        assert!(e.to_string().contains("`ghost`"), "{e}");
    }

    #[test]
    fn a_long_chain_does_not_exhaust_the_stack() {
        let n = 50_000;
        let g: BTreeMap<String, Vec<String>> = (0..n)
            .map(|i| {
                let parents = if i == 0 {
                    vec![]
                } else {
                    vec![format!("o{}", i - 1)]
                };
                (format!("o{i}"), parents)
            })
            .collect();
        let c = closure(&g, &format!("o{}", n - 1)).unwrap();
        assert_eq!(c.len(), n);
        assert_eq!(c[0], "o0");
    }
}
