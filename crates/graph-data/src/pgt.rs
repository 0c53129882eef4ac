//! The JSON files of PyTorch Geometric Temporal (`dataset/*.json`), read
//! as raw signals (no lags, no standardisation: [`temporal`](crate::temporal)
//! builds those views):
//!
//! | name | file fields | result |
//! |---|---|---|
//! | `chickenpox` | `edges`, `node_ids`, `FX` (521 x 20) | static, unweighted |
//! | `pedalme-london` | `edges`, `weights`, `X` (35 x 15) | static, weighted |
//! | `montevideo-bus` | `nodes[].{id, y}`, `links[].{source, target, weight}` | static, weighted, 744 x 675 |
//! | `england-covid` | `time_periods`, `y` (61 x 129), `edge_mapping.{edge_index, edge_weight}[t]` | dynamic, weighted |
//!
//! Every signal has one feature per node and step.

use std::path::Path;

use serde_json::Value;

use crate::edges::EdgeList;
use crate::error::{DataError, Result};
use crate::fetch::Fetcher;
use crate::temporal::{DynamicGraphSignal, StaticGraphSignal};

/// A signal on a fixed graph or on a graph per step.
#[derive(Debug, Clone, PartialEq)]
pub enum Signal {
    /// One graph for all steps.
    Static(StaticGraphSignal),
    /// A graph per step.
    Dynamic(DynamicGraphSignal),
}

impl Signal {
    /// `(steps, nodes, features)`.
    pub fn shape(&self) -> (usize, usize, usize) {
        match self {
            Signal::Static(s) => (s.steps, s.nodes(), s.features),
            Signal::Dynamic(d) => (d.steps(), d.nodes(), d.features),
        }
    }
}

/// Fetches and reads a PGT data set by manifest name (`chickenpox`,
/// `pedalme-london`, `montevideo-bus`, `england-covid`).
pub fn load(name: &str, fetcher: &Fetcher) -> Result<Signal> {
    let folder = fetcher.fetch_named(name)?;
    Ok(match name {
        "chickenpox" => Signal::Static(read_chickenpox(&folder.join("chickenpox.json"))?),
        "pedalme-london" => Signal::Static(read_pedalme(&folder.join("pedalme_london.json"))?),
        "montevideo-bus" => Signal::Static(read_montevideo_bus(&folder.join("montevideo_bus.json"))?),
        "england-covid" => Signal::Dynamic(read_england_covid(&folder.join("england_covid.json"))?),
        other => {
            return Err(DataError::UnknownDataset(format!(
                "{other} (not a PyG Temporal data set)"
            )))
        }
    })
}

/// Chickenpox Hungary: 20 counties, 102 directed edges, 521 weeks.
pub fn read_chickenpox(path: &Path) -> Result<StaticGraphSignal> {
    let j = Json::open(path)?;
    let (steps, nodes, values) = j.matrix(j.field(&j.root, "FX")?, "FX")?;
    let edges = j.pairs(j.field(&j.root, "edges")?, "edges", nodes)?;
    signal(path, EdgeList::from_pairs(nodes, &edges), steps, values)
}

/// PedalMe London: 15 areas, 225 weighted edges (self loops included), 35
/// weeks of deliveries.
pub fn read_pedalme(path: &Path) -> Result<StaticGraphSignal> {
    let j = Json::open(path)?;
    let (steps, nodes, values) = j.matrix(j.field(&j.root, "X")?, "X")?;
    let pairs = j.pairs(j.field(&j.root, "edges")?, "edges", nodes)?;
    let weights = j.numbers(j.field(&j.root, "weights")?, "weights")?;
    weighted(&j, pairs, weights, nodes, steps, values)
}

/// Montevideo bus: 675 stops, 690 weighted links, 744 hourly inflows.
pub fn read_montevideo_bus(path: &Path) -> Result<StaticGraphSignal> {
    let j = Json::open(path)?;
    let nodes = j.array(j.field(&j.root, "nodes")?, "nodes")?;
    let mut ids = std::collections::HashMap::new();
    let mut series = Vec::with_capacity(nodes.len());
    for (i, n) in nodes.iter().enumerate() {
        let what = format!("nodes[{i}]");
        let id = j
            .field(n, "id")?
            .as_i64()
            .ok_or_else(|| j.err(format!("{what}.id is not an integer")))?;
        if ids.insert(id, i as u32).is_some() {
            return Err(j.err(format!("{what}.id {id} is repeated")));
        }
        series.push(j.numbers(j.field(n, "y")?, &format!("{what}.y"))?);
    }
    let steps = series.first().map_or(0, Vec::len);
    if let Some(i) = series.iter().position(|s| s.len() != steps) {
        return Err(j.err(format!(
            "nodes[{i}].y has {} values, nodes[0].y has {steps}",
            series[i].len()
        )));
    }
    let values = (0..steps)
        .flat_map(|t| series.iter().map(move |s| s[t]))
        .collect();
    let links = j.array(j.field(&j.root, "links")?, "links")?;
    let (mut pairs, mut weights) = (Vec::new(), Vec::new());
    for (i, l) in links.iter().enumerate() {
        let end = |k: &str| -> Result<u32> {
            let id = j.field(l, k)?.as_i64();
            id.and_then(|id| ids.get(&id).copied())
                .ok_or_else(|| j.err(format!("links[{i}].{k} is not the id of a node")))
        };
        pairs.push((end("source")?, end("target")?));
        let w = j.field(l, "weight")?.as_f64();
        weights.push(w.ok_or_else(|| j.err(format!("links[{i}].weight is not a number")))? as f32);
    }
    weighted(&j, pairs, weights, nodes.len(), steps, values)
}

/// England COVID: 129 regions, 61 days, a weighted mobility graph per day.
pub fn read_england_covid(path: &Path) -> Result<DynamicGraphSignal> {
    let j = Json::open(path)?;
    let steps = j
        .field(&j.root, "time_periods")?
        .as_u64()
        .ok_or_else(|| j.err("time_periods is not a count"))?;
    let (rows, nodes, values) = j.matrix(j.field(&j.root, "y")?, "y")?;
    if rows as u64 != steps {
        return Err(j.err(format!("y has {rows} rows, time_periods is {steps}")));
    }
    let mapping = j.field(&j.root, "edge_mapping")?;
    let (index, weight) = (j.field(mapping, "edge_index")?, j.field(mapping, "edge_weight")?);
    let mut graphs = Vec::with_capacity(rows);
    for t in 0..rows {
        let key = t.to_string();
        let pairs = j.pairs(j.field(index, &key)?, &format!("edge_index[{t}]"), nodes)?;
        let w = j.numbers(j.field(weight, &key)?, &format!("edge_weight[{t}]"))?;
        if w.len() != pairs.len() {
            return Err(j.err(format!(
                "edge_weight[{t}] has {} values for {} edges",
                w.len(),
                pairs.len()
            )));
        }
        let (src, dst) = pairs.into_iter().unzip();
        graphs.push(EdgeList::new(nodes, src, dst, Some(w)).map_err(|e| j.err(e))?);
    }
    DynamicGraphSignal::new(graphs, 1, values).map_err(|e| j.err(e))
}

fn signal(path: &Path, edges: Result<EdgeList>, steps: usize, values: Vec<f32>) -> Result<StaticGraphSignal> {
    let wrap = |e: DataError| DataError::parse(path, None, e.to_string());
    StaticGraphSignal::new(edges.map_err(wrap)?, steps, 1, values).map_err(wrap)
}

fn weighted(
    j: &Json,
    pairs: Vec<(u32, u32)>,
    weights: Vec<f32>,
    nodes: usize,
    steps: usize,
    values: Vec<f32>,
) -> Result<StaticGraphSignal> {
    if weights.len() != pairs.len() {
        return Err(j.err(format!("{} weights for {} edges", weights.len(), pairs.len())));
    }
    let (src, dst) = pairs.into_iter().unzip();
    signal(
        j.path,
        EdgeList::new(nodes, src, dst, Some(weights)),
        steps,
        values,
    )
}

/// A parsed JSON file with helpers whose errors name the file and field.
struct Json<'a> {
    path: &'a Path,
    root: Value,
}

impl<'a> Json<'a> {
    fn open(path: &'a Path) -> Result<Self> {
        let text = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
        let root = serde_json::from_slice(&text)
            .map_err(|e| DataError::parse(path, Some(e.line()), format!("invalid JSON: {e}")))?;
        Ok(Json { path, root })
    }

    fn err(&self, m: impl std::fmt::Display) -> DataError {
        DataError::parse(self.path, None, m.to_string())
    }

    fn field<'v>(&self, v: &'v Value, key: &str) -> Result<&'v Value> {
        v.get(key).ok_or_else(|| self.err(format!("no field `{key}`")))
    }

    fn array<'v>(&self, v: &'v Value, what: &str) -> Result<&'v Vec<Value>> {
        v.as_array()
            .ok_or_else(|| self.err(format!("`{what}` is not an array")))
    }

    fn numbers(&self, v: &Value, what: &str) -> Result<Vec<f32>> {
        self.array(v, what)?
            .iter()
            .enumerate()
            .map(|(i, x)| match x.as_f64() {
                Some(f) if f.is_finite() => Ok(f as f32),
                _ => Err(self.err(format!("{what}[{i}] is not a finite number: {x}"))),
            })
            .collect()
    }

    /// A list of equally long rows; returns `(rows, cols, row-major values)`.
    fn matrix(&self, v: &Value, what: &str) -> Result<(usize, usize, Vec<f32>)> {
        let rows = self.array(v, what)?;
        let mut out = Vec::new();
        let mut cols = None;
        for (i, r) in rows.iter().enumerate() {
            let r = self.numbers(r, &format!("{what}[{i}]"))?;
            match cols {
                None => cols = Some(r.len()),
                Some(c) if c != r.len() => {
                    return Err(self.err(format!("{what}[{i}] has {} values, {what}[0] has {c}", r.len())))
                }
                _ => {}
            }
            out.extend(r);
        }
        Ok((rows.len(), cols.unwrap_or(0), out))
    }

    /// A list of `[source, target]` node ids below `nodes`.
    fn pairs(&self, v: &Value, what: &str, nodes: usize) -> Result<Vec<(u32, u32)>> {
        self.array(v, what)?
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let id = |k: usize| {
                    p.get(k)
                        .and_then(Value::as_u64)
                        .filter(|&x| (x as usize) < nodes)
                        .map(|x| x as u32)
                };
                match (p.as_array().map(Vec::len), id(0), id(1)) {
                    (Some(2), Some(s), Some(d)) => Ok((s, d)),
                    _ => Err(self.err(format!(
                        "{what}[{i}] = {p} is not a pair of node ids in 0..{nodes}"
                    ))),
                }
            })
            .collect()
    }
}
