//! The project's ontology: nodes and edges (`.ontology/core.ncl`), state
//! dimensions (`.ontology/state.ncl`) and the membranes gating them
//! (`.ontology/gate.ncl`); the graph walks the `ontology` tools expose.

use std::collections::{HashMap, HashSet, VecDeque};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::corpus::Record;
use crate::error::ToolError;
use crate::model::{Document, Source};
use crate::model::{Kind, ModelError, decode, line_of_field, unique_ids};
use crate::paging::{PageKey, page_rows};

/// A node's pole.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum Pole {
    /// Active, asserting.
    Yang,
    /// Receptive, constraining.
    Yin,
    /// Both: a tension.
    Spiral,
}

/// A node's level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum NodeLevel {
    /// What must hold.
    Axiom,
    /// Forces pulling against each other.
    Tension,
    /// What the team does.
    Practice,
}

/// An ontology node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Node {
    /// Stable id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Pole.
    pub pole: Pole,
    /// Level.
    pub level: NodeLevel,
    /// What it means.
    pub description: String,
    /// Whether it must never be broken.
    #[serde(default)]
    pub invariant: bool,
    /// Files that embody it.
    #[serde(default)]
    pub artifact_paths: Vec<String>,
    /// ADRs binding it.
    #[serde(default)]
    pub adrs: Vec<String>,
}

/// A relation between two nodes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Edge {
    /// Source node id.
    pub from: String,
    /// Target node id.
    pub to: String,
    /// Relation, e.g. `realizes`, `constrains`, `tensions`.
    pub kind: String,
    /// Why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// `.ontology/core.ncl`.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Core {
    nodes: Vec<Node>,
    edges: Vec<Edge>,
    generation: [u8; 8],
}

#[derive(Deserialize)]
struct CoreFile {
    #[serde(default)]
    nodes: Vec<Node>,
    #[serde(default)]
    edges: Vec<Edge>,
}

impl Document for Core {
    const KIND: &'static str = "core";
    const VERSION: u32 = 1;

    fn from_value(value: serde_json::Value, source: &Source<'_>) -> Result<Self, ModelError> {
        let file: CoreFile = decode(value, source, Kind::Node, "nodes")?;
        let ids = unique_ids(file.nodes.iter().map(|n| n.id.as_str()), source, Kind::Node)?;
        for (i, edge) in file.edges.iter().enumerate() {
            for (end, id) in [("from", &edge.from), ("to", &edge.to)] {
                if !ids.contains_key(id.as_str()) {
                    let line = line_of_field(source.text, end, id, 0);
                    return Err(ModelError::Invalid {
                        kind: Kind::Node,
                        file: source.display.to_owned(),
                        line: line.map(|l| format!(":{l}")).unwrap_or_default(),
                        field: format!("edges[{i}].{end}"),
                        detail: format!(
                            "edge {} -> {} ({}) names node `{id}`, which does not exist",
                            edge.from, edge.to, edge.kind
                        ),
                    });
                }
            }
        }
        let mut generation = [0u8; 8];
        generation.copy_from_slice(&source.key[..8]);
        Ok(Core {
            nodes: file.nodes,
            edges: file.edges,
            generation,
        })
    }
}

/// One end of an edge seen from a node.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Link {
    /// The node at the other end.
    pub node: String,
    /// Relation.
    pub kind: String,
    /// Why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Which edges a walk follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Edges pointing at the node: what depends on it.
    #[default]
    In,
    /// Edges leaving the node: what it depends on.
    Out,
    /// Both.
    Both,
}

/// A node reached by a walk.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Reached {
    /// Node id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Level.
    pub level: NodeLevel,
    /// Edges from the start.
    pub distance: usize,
    /// The edge it was reached by: `from`, `kind`, `to`.
    pub via: String,
}

/// The neighbourhood of a node.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Impact {
    /// The start node.
    pub root: String,
    /// Nodes reached, nearest first.
    pub nodes: Vec<Reached>,
    /// ADRs binding the root or any reached node, sorted.
    pub adrs: Vec<String>,
    /// Present and true when the output budget cut the list.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
}

impl Node {
    /// The node as a record of the cross-kind search.
    pub fn record(&self) -> Record {
        Record {
            kind: "node",
            id: self.id.clone(),
            title: self.name.clone(),
            labels: format!("{:?} {:?}", self.level, self.pole),
            body: self.description.clone(),
        }
    }
}

impl Core {
    /// A digest of the file, for cursors.
    pub fn generation(&self) -> &[u8; 8] {
        &self.generation
    }

    /// All nodes, in file order.
    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    /// All edges, in file order.
    pub fn edges(&self) -> &[Edge] {
        &self.edges
    }

    /// The node with this id.
    pub fn node(&self, id: &str) -> Result<&Node, ModelError> {
        self.nodes.iter().find(|n| n.id == id).ok_or_else(|| {
            ModelError::not_found(Kind::Node, id, self.nodes.iter().map(|n| n.id.as_str()))
        })
    }

    /// Edges into and out of a node.
    pub fn links(&self, id: &str) -> (Vec<Link>, Vec<Link>) {
        let incoming = self
            .edges
            .iter()
            .filter(|e| e.to == id)
            .map(|e| Link {
                node: e.from.clone(),
                kind: e.kind.clone(),
                note: e.note.clone(),
            })
            .collect();
        let outgoing = self
            .edges
            .iter()
            .filter(|e| e.from == id)
            .map(|e| Link {
                node: e.to.clone(),
                kind: e.kind.clone(),
                note: e.note.clone(),
            })
            .collect();
        (incoming, outgoing)
    }

    /// Breadth-first walk from `id` along `direction`, up to `depth` edges,
    /// stopping once the reached nodes would pass `budget` bytes of JSON.
    pub fn impact(
        &self,
        id: &str,
        direction: Direction,
        depth: usize,
        budget: usize,
    ) -> Result<Impact, ModelError> {
        let root = self.node(id)?;
        let by_id: HashMap<&str, &Node> = self.nodes.iter().map(|n| (n.id.as_str(), n)).collect();
        let mut seen: HashSet<&str> = HashSet::from([root.id.as_str()]);
        let mut queue = VecDeque::from([(root.id.as_str(), 0usize)]);
        let mut reached = Vec::new();
        let mut adrs: Vec<String> = root.adrs.clone();
        let mut used = 0;
        let mut truncated = false;
        'walk: while let Some((at, dist)) = queue.pop_front() {
            if dist >= depth {
                continue;
            }
            for e in &self.edges {
                let next = match direction {
                    Direction::In if e.to == at => e.from.as_str(),
                    Direction::Out if e.from == at => e.to.as_str(),
                    Direction::Both if e.to == at => e.from.as_str(),
                    Direction::Both if e.from == at => e.to.as_str(),
                    _ => continue,
                };
                if !seen.insert(next) {
                    continue;
                }
                let Some(node) = by_id.get(next) else {
                    continue;
                };
                let r = Reached {
                    id: node.id.clone(),
                    name: node.name.clone(),
                    level: node.level,
                    distance: dist + 1,
                    via: format!("{} -{}-> {}", e.from, e.kind, e.to),
                };
                used += crate::model::json_size(&r);
                if used > budget {
                    truncated = true;
                    break 'walk;
                }
                adrs.extend(node.adrs.iter().cloned());
                reached.push(r);
                queue.push_back((next, dist + 1));
            }
        }
        adrs.sort();
        adrs.dedup();
        Ok(Impact {
            root: root.id.clone(),
            nodes: reached,
            adrs,
            truncated,
        })
    }
}

/// A transition between two states of a dimension.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Transition {
    /// From state.
    pub from: String,
    /// To state.
    pub to: String,
    /// What must be true.
    pub condition: String,
    /// Membrane that must open first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gate: Option<String>,
}

/// A state dimension.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Dimension {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Where the project is.
    pub current: String,
    /// Where it wants to be.
    pub desired: String,
    /// Every state, in order.
    pub states: Vec<String>,
    /// Allowed transitions.
    #[serde(default)]
    pub transitions: Vec<Transition>,
}

/// `.ontology/state.ncl`.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct StateDoc {
    /// The dimensions.
    pub dimensions: Vec<Dimension>,
}

impl Document for StateDoc {
    const KIND: &'static str = "state";
    const VERSION: u32 = 1;

    fn from_value(value: serde_json::Value, source: &Source<'_>) -> Result<Self, ModelError> {
        #[derive(Deserialize)]
        struct File {
            #[serde(default)]
            dimensions: Vec<Dimension>,
        }
        let file: File = decode(value, source, Kind::Dimension, "dimensions")?;
        unique_ids(
            file.dimensions.iter().map(|d| d.id.as_str()),
            source,
            Kind::Dimension,
        )?;
        Ok(StateDoc {
            dimensions: file.dimensions,
        })
    }
}

/// A membrane gating transitions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Membrane {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Conditions that must all hold for it to open.
    #[serde(default)]
    pub guards: Vec<String>,
    /// Dimensions or transitions it gates.
    #[serde(default)]
    pub opens: Vec<String>,
}

/// `.ontology/gate.ncl`.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct GateDoc {
    /// The membranes.
    pub membranes: Vec<Membrane>,
}

impl Document for GateDoc {
    const KIND: &'static str = "gate";
    const VERSION: u32 = 1;

    fn from_value(value: serde_json::Value, source: &Source<'_>) -> Result<Self, ModelError> {
        #[derive(Deserialize)]
        struct File {
            #[serde(default)]
            membranes: Vec<Membrane>,
        }
        let file: File = decode(value, source, Kind::Dimension, "membranes")?;
        Ok(GateDoc {
            membranes: file.membranes,
        })
    }
}

/// A transition on the way to the desired state, with what blocks it.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Step {
    /// The transition.
    #[serde(flatten)]
    pub transition: Transition,
    /// The membrane gating it, when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blocked_by: Option<Membrane>,
}

/// One dimension's position.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct DimensionState {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Where the project is.
    pub current: String,
    /// Where it wants to be.
    pub desired: String,
    /// Whether it is there.
    pub at_desired: bool,
    /// Transitions from current to desired, shortest path; empty when at
    /// the desired state or when no path exists (see `reachable`).
    pub path: Vec<Step>,
    /// Whether the desired state can be reached by the declared transitions.
    pub reachable: bool,
    /// Problems: a gate naming no membrane, a state not in `states`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// Each dimension's current vs desired state.
pub fn state(doc: &StateDoc, gates: &GateDoc) -> Vec<DimensionState> {
    doc.dimensions
        .iter()
        .map(|d| {
            let mut warnings = Vec::new();
            for s in [&d.current, &d.desired] {
                if !d.states.contains(s) {
                    warnings.push(format!("state `{s}` is not in `states`"));
                }
            }
            let (path, reachable) = shortest_path(d);
            let path: Vec<Step> = path
                .into_iter()
                .map(|t| {
                    let blocked_by = t.gate.as_ref().and_then(|g| {
                        let m = gates.membranes.iter().find(|m| &m.id == g).cloned();
                        if m.is_none() {
                            warnings.push(format!("transition {} -> {} names gate `{g}`, which gate.ncl does not define", t.from, t.to));
                        }
                        m
                    });
                    Step {
                        transition: t.clone(),
                        blocked_by,
                    }
                })
                .collect();
            DimensionState {
                id: d.id.clone(),
                name: d.name.clone(),
                current: d.current.clone(),
                desired: d.desired.clone(),
                at_desired: d.current == d.desired,
                path,
                reachable,
                warnings,
            }
        })
        .collect()
}

fn shortest_path(d: &Dimension) -> (Vec<&Transition>, bool) {
    if d.current == d.desired {
        return (Vec::new(), true);
    }
    let mut prev: HashMap<&str, &Transition> = HashMap::new();
    let mut queue = VecDeque::from([d.current.as_str()]);
    let mut seen = HashSet::from([d.current.as_str()]);
    while let Some(at) = queue.pop_front() {
        for t in d.transitions.iter().filter(|t| t.from == at) {
            if seen.insert(t.to.as_str()) {
                prev.insert(t.to.as_str(), t);
                if t.to == d.desired {
                    let mut path = vec![t];
                    let mut cur = t.from.as_str();
                    while cur != d.current {
                        let Some(p) = prev.get(cur) else { break };
                        path.push(p);
                        cur = p.from.as_str();
                    }
                    path.reverse();
                    return (path, true);
                }
                queue.push_back(t.to.as_str());
            }
        }
    }
    (Vec::new(), false)
}

/// A node in a listing.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct NodeSummary {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Level.
    pub level: NodeLevel,
    /// Pole.
    pub pole: Pole,
}
/// One page of nodes.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct NodeList {
    /// Nodes of this page, in file order.
    pub nodes: Vec<NodeSummary>,
    /// Nodes matching the filters, over all pages.
    pub total: usize,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}
/// A node with its edges.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct NodeGet {
    /// The node.
    pub node: Node,
    /// Edges pointing at it (`node` is the source).
    pub incoming: Vec<Link>,
    /// Edges leaving it (`node` is the target).
    pub outgoing: Vec<Link>,
}
/// Every dimension's position.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct StateOut {
    /// One per dimension of `.ontology/state.ncl`, in file order.
    pub dimensions: Vec<DimensionState>,
}

impl Core {
    /// One page of the nodes of `level` and `pole` (any when `None`), in
    /// file order.
    pub fn list(
        &self,
        level: Option<NodeLevel>,
        pole: Option<Pole>,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<NodeList, ToolError> {
        let summaries: Vec<NodeSummary> = self
            .nodes()
            .iter()
            .filter(|n| level.is_none_or(|l| n.level == l) && pole.is_none_or(|x| n.pole == x))
            .map(|n| NodeSummary {
                id: n.id.clone(),
                name: n.name.clone(),
                level: n.level,
                pole: n.pole,
            })
            .collect();
        let key = PageKey::new(&format!("node_list {level:?} {pole:?}"), self.generation());
        let (nodes, total, next_cursor) = page_rows(&summaries, &key, cursor, limit)?;
        Ok(NodeList {
            nodes,
            total,
            next_cursor,
        })
    }

    /// Node `id` with its incoming and outgoing edges.
    pub fn get(&self, id: &str) -> Result<NodeGet, ToolError> {
        let node = self.node(id)?.clone();
        let (incoming, outgoing) = self.links(id);
        Ok(NodeGet {
            node,
            incoming,
            outgoing,
        })
    }
}

/// Every dimension's position, with the membranes of `gates`.
pub fn state_report(doc: &StateDoc, gates: &GateDoc) -> StateOut {
    StateOut {
        dimensions: state(doc, gates),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(id: &str, level: NodeLevel, adrs: &[&str]) -> Node {
        Node {
            id: id.into(),
            name: id.to_uppercase(),
            pole: Pole::Yang,
            level,
            description: String::new(),
            invariant: false,
            artifact_paths: vec![],
            adrs: adrs.iter().map(|a| (*a).into()).collect(),
        }
    }

    fn edge(from: &str, to: &str) -> Edge {
        Edge {
            from: from.into(),
            to: to.into(),
            kind: "realizes".into(),
            note: None,
        }
    }

    #[test]
    fn impact_walks_in_both_directions_to_the_depth_asked() {
        let core = Core {
            nodes: vec![
                node("ax", NodeLevel::Axiom, &["adr-001"]),
                node("p1", NodeLevel::Practice, &["adr-002"]),
                node("p2", NodeLevel::Practice, &[]),
                node("other", NodeLevel::Practice, &["adr-009"]),
            ],
            edges: vec![edge("p1", "ax"), edge("p2", "p1"), edge("ax", "other")],
            generation: [0; 8],
        };
        let r = core.impact("ax", Direction::In, 5, 100_000).unwrap();
        let ids: Vec<_> = r
            .nodes
            .iter()
            .map(|n| (n.id.as_str(), n.distance))
            .collect();
        assert_eq!(ids, [("p1", 1), ("p2", 2)]);
        assert_eq!(r.adrs, ["adr-001", "adr-002"]);
        assert_eq!(
            core.impact("ax", Direction::In, 1, 100_000)
                .unwrap()
                .nodes
                .len(),
            1
        );
        assert_eq!(
            core.impact("ax", Direction::Out, 5, 100_000).unwrap().nodes[0].id,
            "other"
        );
        assert_eq!(
            core.impact("ax", Direction::Both, 5, 100_000)
                .unwrap()
                .nodes
                .len(),
            3
        );
        let cut = core.impact("ax", Direction::Both, 5, 60).unwrap();
        assert!(cut.truncated && cut.nodes.len() < 3);
        assert_eq!(
            core.impact("nope", Direction::In, 2, 1000)
                .unwrap_err()
                .code(),
            "node-not-found"
        );
    }

    #[test]
    fn state_finds_the_path_and_its_gates() {
        let doc = StateDoc {
            dimensions: vec![Dimension {
                id: "d".into(),
                name: "D".into(),
                current: "a".into(),
                desired: "c".into(),
                states: vec!["a".into(), "b".into(), "c".into()],
                transitions: vec![
                    Transition {
                        from: "a".into(),
                        to: "b".into(),
                        condition: "x".into(),
                        gate: None,
                    },
                    Transition {
                        from: "b".into(),
                        to: "c".into(),
                        condition: "y".into(),
                        gate: Some("g".into()),
                    },
                    Transition {
                        from: "b".into(),
                        to: "a".into(),
                        condition: "z".into(),
                        gate: Some("missing".into()),
                    },
                ],
            }],
        };
        let gates = GateDoc {
            membranes: vec![Membrane {
                id: "g".into(),
                name: "G".into(),
                guards: vec!["review".into()],
                opens: vec!["d".into()],
            }],
        };
        let s = &state(&doc, &gates)[0];
        assert!(s.reachable && !s.at_desired);
        assert_eq!(s.path.len(), 2);
        assert_eq!(
            s.path[1].blocked_by.as_ref().map(|m| m.id.as_str()),
            Some("g")
        );
        assert!(s.path[0].blocked_by.is_none());
    }
}
