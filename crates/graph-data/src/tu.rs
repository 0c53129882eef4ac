//! TU Dortmund graph-classification data sets (Morris et al. 2020) in their
//! raw text format: `NAME_A.txt` (one `u, v` edge per line, 1-based global
//! node ids), `NAME_graph_indicator.txt` (the graph of each node),
//! `NAME_graph_labels.txt`, and optionally `NAME_node_labels.txt`,
//! `NAME_node_attributes.txt`, `NAME_edge_labels.txt`.
//!
//! [`load`] reads the original zip through the verified fetch, without
//! extracting it; [`read_dir`] reads the text files from a folder. The result
//! follows PyG's `TUDataset`:
//!
//! - graph labels are mapped to `0..C` in sorted order (MUTAG's `-1, 1`
//!   become `0, 1`);
//! - node features are the one-hot node labels (after subtracting the
//!   smallest label), preceded by the node attributes when
//!   [`TuOptions::use_node_attr`] is set; a data set without node labels
//!   (IMDB-BINARY) gets the one-hot degree, as the GIN paper does;
//! - edge features are the one-hot edge labels (MUTAG's bond types);
//! - each graph's edges are sorted by `(source, target)` and de-duplicated
//!   (IMDB-BINARY lists every directed edge twice); self loops are dropped.
//!
//! The quirks of the files are handled: `u,v` without a space (NCI1),
//! space-padded attribute fields, a doubled slash in the zip member names
//! (`MUTAG//MUTAG_A.txt`), stray members (`README.txt~`). Inconsistent files
//! (node ids out of range, an indicator shorter than the node labels, an edge
//! between two graphs, label files of the wrong length) are refused with a
//! [`DataError`] naming the file and the line.
//!
//! ```no_run
//! use graph_data::{fetch::Fetcher, tu};
//! let d = tu::load("mutag", &Fetcher::from_env())?;
//! assert_eq!((d.graphs.len(), d.num_classes), (188, 2));
//! assert_eq!(d.num_node_features, 7);
//! # Ok::<(), graph_data::DataError>(())
//! ```

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::batch::GraphSample;
use crate::error::{DataError, Result};
use crate::fetch::{Fetcher, Manifest};

/// The TU data sets in the manifest: (manifest name, TU name).
pub const DATASETS: [(&str, &str); 5] = [
    ("mutag", "MUTAG"),
    ("proteins", "PROTEINS"),
    ("enzymes", "ENZYMES"),
    ("nci1", "NCI1"),
    ("imdb-binary", "IMDB-BINARY"),
];

/// How raw TU files become features.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TuOptions {
    /// Put the continuous node attributes (PROTEINS, ENZYMES) in front of the
    /// one-hot labels, as PyG's `use_node_attr=True` does. Off by default.
    pub use_node_attr: bool,
}

/// A TU data set, read.
#[derive(Debug, Clone, PartialEq)]
pub struct TuDataset {
    /// TU name (`MUTAG`).
    pub name: String,
    /// The graphs, in file order; `y` in `0..num_classes`.
    pub graphs: Vec<GraphSample>,
    /// Number of graph classes.
    pub num_classes: usize,
    /// The graph label of the files behind each class index (sorted).
    pub class_labels: Vec<i64>,
    /// Width of the node features.
    pub num_node_features: usize,
    /// Width of the edge features (0 without edge labels).
    pub num_edge_features: usize,
    /// Number of distinct node labels (0 without a node label file).
    pub num_node_labels: usize,
    /// Number of node attribute columns (0 without an attribute file).
    pub num_node_attributes: usize,
    /// The node features are the one-hot degree (no node labels in the files).
    pub degree_features: bool,
    /// Lines of `_A.txt`, before de-duplication.
    pub raw_edge_lines: usize,
}

impl TuDataset {
    /// Total number of nodes.
    pub fn num_nodes(&self) -> usize {
        self.graphs.iter().map(|g| g.num_nodes).sum()
    }

    /// Total number of directed edges (after de-duplication).
    pub fn num_edges(&self) -> usize {
        self.graphs.iter().map(|g| g.num_edges()).sum()
    }

    /// Graphs per class.
    pub fn class_counts(&self) -> Vec<usize> {
        let mut c = vec![0; self.num_classes];
        for g in &self.graphs {
            c[g.y as usize] += 1;
        }
        c
    }

    /// The class labels of all graphs, in order.
    pub fn labels(&self) -> Vec<i64> {
        self.graphs.iter().map(|g| g.y).collect()
    }
}

/// The text of the files of one TU data set, with the path that names each
/// in errors.
#[derive(Debug, Clone, Default)]
pub struct TuFiles {
    /// `NAME_A.txt`.
    pub a: Option<(PathBuf, String)>,
    /// `NAME_graph_indicator.txt`.
    pub graph_indicator: Option<(PathBuf, String)>,
    /// `NAME_graph_labels.txt`.
    pub graph_labels: Option<(PathBuf, String)>,
    /// `NAME_node_labels.txt`, if any.
    pub node_labels: Option<(PathBuf, String)>,
    /// `NAME_node_attributes.txt`, if any.
    pub node_attributes: Option<(PathBuf, String)>,
    /// `NAME_edge_labels.txt`, if any.
    pub edge_labels: Option<(PathBuf, String)>,
}

const SUFFIXES: [&str; 6] = [
    "A",
    "graph_indicator",
    "graph_labels",
    "node_labels",
    "node_attributes",
    "edge_labels",
];

impl TuFiles {
    fn slot(&mut self, suffix: &str) -> &mut Option<(PathBuf, String)> {
        match suffix {
            "A" => &mut self.a,
            "graph_indicator" => &mut self.graph_indicator,
            "graph_labels" => &mut self.graph_labels,
            "node_labels" => &mut self.node_labels,
            "node_attributes" => &mut self.node_attributes,
            _ => &mut self.edge_labels,
        }
    }
}

/// Fetches a TU data set by manifest name (`mutag`, `proteins`, `enzymes`,
/// `nci1`, `imdb-binary`) and reads it with the default options.
pub fn load(name: &str, fetcher: &Fetcher) -> Result<TuDataset> {
    load_with(name, fetcher, TuOptions::default())
}

/// [`load`] with options.
pub fn load_with(name: &str, fetcher: &Fetcher, options: TuOptions) -> Result<TuDataset> {
    let tu_name = DATASETS
        .iter()
        .find(|(n, t)| *n == name || *t == name)
        .map(|(_, t)| *t)
        .ok_or_else(|| DataError::UnknownDataset(name.to_string()))?;
    let manifest = Manifest::builtin()?;
    let ds = manifest.get(&tu_name.to_ascii_lowercase())?;
    let file = ds
        .files
        .iter()
        .find(|f| f.path.ends_with(".zip"))
        .ok_or_else(|| DataError::Manifest(format!("data set `{name}` has no zip")))?;
    let path = fetcher.fetch_file(ds, file)?;
    read_zip(&path, tu_name, options)
}

/// Reads the TU files of data set `name` (the TU spelling, `MUTAG`) from a
/// zip archive, in memory. Member names are matched on their last path
/// component, so `MUTAG//MUTAG_A.txt` and `MUTAG/MUTAG_A.txt` both work.
pub fn read_zip(path: &Path, name: &str, options: TuOptions) -> Result<TuDataset> {
    let file = std::fs::File::open(path).map_err(|e| DataError::io(path, e))?;
    let mut zip = zip::ZipArchive::new(std::io::BufReader::new(file))
        .map_err(|e| DataError::parse(path, None, format!("not a readable zip archive: {e}")))?;
    let mut files = TuFiles::default();
    for i in 0..zip.len() {
        let mut member = zip
            .by_index(i)
            .map_err(|e| DataError::parse(path, None, format!("zip member {i}: {e}")))?;
        let full = member.name().to_string();
        let base = full.rsplit('/').next().unwrap_or(&full).to_string();
        for suffix in SUFFIXES {
            if base == format!("{name}_{suffix}.txt") {
                let mut text = String::new();
                member
                    .read_to_string(&mut text)
                    .map_err(|e| DataError::parse(path, None, format!("member {full}: {e}")))?;
                *files.slot(suffix) = Some((path.join(&base), text));
            }
        }
    }
    parse(name, &files, options)
}

/// Reads the TU files of data set `name` from a folder (`dir/NAME_A.txt`, ...).
pub fn read_dir(dir: &Path, name: &str, options: TuOptions) -> Result<TuDataset> {
    let mut files = TuFiles::default();
    for suffix in SUFFIXES {
        let p = dir.join(format!("{name}_{suffix}.txt"));
        if p.exists() {
            let text = std::fs::read_to_string(&p).map_err(|e| DataError::io(&p, e))?;
            *files.slot(suffix) = Some((p, text));
        }
    }
    parse(name, &files, options)
}

/// Non-empty lines with their 1-based line numbers.
fn lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim()))
        .filter(|(_, l)| !l.is_empty())
}

fn int(path: &Path, line: usize, field: &str) -> Result<i64> {
    field
        .trim()
        .parse::<i64>()
        .map_err(|_| DataError::parse(path, Some(line), format!("`{}` is not an integer", field.trim())))
}

fn ints(file: &(PathBuf, String)) -> Result<Vec<i64>> {
    lines(&file.1).map(|(n, l)| int(&file.0, n, l)).collect()
}

/// `_edge_labels` and `_node_labels` may hold several comma-separated labels
/// per line; like PyG, the first column is used.
fn first_ints(file: &(PathBuf, String)) -> Result<Vec<i64>> {
    lines(&file.1)
        .map(|(n, l)| int(&file.0, n, l.split(',').next().unwrap_or(l)))
        .collect()
}

fn need<'a>(f: &'a Option<(PathBuf, String)>, name: &str, suffix: &str) -> Result<&'a (PathBuf, String)> {
    f.as_ref()
        .ok_or_else(|| DataError::parse(format!("{name}_{suffix}.txt"), None, "missing file"))
}

fn one_hot_width(values: &[i64]) -> (i64, usize) {
    let min = values.iter().copied().min().unwrap_or(0);
    let max = values.iter().copied().max().unwrap_or(-1);
    (min, (max - min + 1).max(0) as usize)
}

/// Builds a data set from the files' text (see the module doc for the
/// conventions and the checks).
pub fn parse(name: &str, files: &TuFiles, options: TuOptions) -> Result<TuDataset> {
    let a = need(&files.a, name, "A")?;
    let ind_file = need(&files.graph_indicator, name, "graph_indicator")?;
    let gl_file = need(&files.graph_labels, name, "graph_labels")?;

    // Graph labels, mapped to 0..C in sorted order.
    let raw_labels = ints(gl_file)?;
    let num_graphs = raw_labels.len();
    let mut class_labels = raw_labels.clone();
    class_labels.sort_unstable();
    class_labels.dedup();
    let y: Vec<i64> = raw_labels
        .iter()
        .map(|l| class_labels.binary_search(l).unwrap() as i64)
        .collect();

    // Graph indicator: non-decreasing graph ids in 1..=num_graphs.
    let mut node_graph = Vec::new();
    let mut prev = 0;
    for (n, l) in lines(&ind_file.1) {
        let g = int(&ind_file.0, n, l)?;
        if g < 1 || g as usize > num_graphs {
            return Err(DataError::parse(
                &ind_file.0,
                Some(n),
                format!("graph id {g} out of range 1..={num_graphs} (the graph label file has {num_graphs} lines)"),
            ));
        }
        if g < prev {
            return Err(DataError::parse(
                &ind_file.0,
                Some(n),
                format!("graph id {g} after {prev}: the nodes of a graph must be contiguous"),
            ));
        }
        prev = g;
        node_graph.push((g - 1) as usize);
    }
    let num_nodes = node_graph.len();
    // First global node of each graph.
    let mut node_ptr = vec![0usize; num_graphs + 1];
    for &g in &node_graph {
        node_ptr[g + 1] += 1;
    }
    for g in 0..num_graphs {
        node_ptr[g + 1] += node_ptr[g];
    }

    // Per-node files must have one line per node of the indicator.
    let check_len = |file: &(PathBuf, String), len: usize, what: &str| -> Result<()> {
        if len != num_nodes {
            return Err(DataError::parse(
                &file.0,
                None,
                format!(
                    "{len} {what}, but the graph indicator {} lists {num_nodes} nodes",
                    ind_file.0.display()
                ),
            ));
        }
        Ok(())
    };
    let node_labels = match &files.node_labels {
        Some(f) => {
            let v = first_ints(f)?;
            check_len(f, v.len(), "node labels")?;
            Some(v)
        }
        None => None,
    };
    let attributes = match &files.node_attributes {
        Some(f) => {
            let mut width = None;
            let mut values = Vec::new();
            for (n, l) in lines(&f.1) {
                let before = values.len();
                for field in l.split(',') {
                    let v: f32 = field.trim().parse().map_err(|_| {
                        DataError::parse(&f.0, Some(n), format!("`{}` is not a number", field.trim()))
                    })?;
                    if !v.is_finite() {
                        return Err(DataError::parse(&f.0, Some(n), format!("non-finite value {v}")));
                    }
                    values.push(v);
                }
                let w = values.len() - before;
                match width {
                    None => width = Some(w),
                    Some(w0) if w0 != w => {
                        return Err(DataError::parse(
                            &f.0,
                            Some(n),
                            format!("{w} fields, the first line has {w0}"),
                        ))
                    }
                    _ => {}
                }
            }
            let w = width.unwrap_or(0);
            check_len(f, values.len().checked_div(w).unwrap_or(0), "attribute rows")?;
            Some((values, w))
        }
        None => None,
    };

    // Edges: global 1-based ids, both ends in the same graph.
    let mut edges: Vec<Vec<(i64, i64, usize)>> = vec![Vec::new(); num_graphs];
    let mut raw_edge_lines = 0;
    for (n, l) in lines(&a.1) {
        let (u, v) = l
            .split_once(',')
            .ok_or_else(|| DataError::parse(&a.0, Some(n), format!("`{l}` is not `u, v`")))?;
        let (u, v) = (int(&a.0, n, u)?, int(&a.0, n, v)?);
        for id in [u, v] {
            if id < 1 || id as usize > num_nodes {
                return Err(DataError::parse(
                    &a.0,
                    Some(n),
                    format!("node id {id} out of range 1..={num_nodes} (the graph indicator's length)"),
                ));
            }
        }
        let (u, v) = ((u - 1) as usize, (v - 1) as usize);
        let (gu, gv) = (node_graph[u], node_graph[v]);
        if gu != gv {
            return Err(DataError::parse(
                &a.0,
                Some(n),
                format!(
                    "edge {} - {} joins graph {} and graph {}",
                    u + 1,
                    v + 1,
                    gu + 1,
                    gv + 1
                ),
            ));
        }
        let off = node_ptr[gu];
        edges[gu].push(((u - off) as i64, (v - off) as i64, raw_edge_lines));
        raw_edge_lines += 1;
    }
    let edge_labels = match &files.edge_labels {
        Some(f) => {
            let v = first_ints(f)?;
            if v.len() != raw_edge_lines {
                return Err(DataError::parse(
                    &f.0,
                    None,
                    format!(
                        "{} edge labels, but {} has {raw_edge_lines} edges",
                        v.len(),
                        a.0.display()
                    ),
                ));
            }
            Some(v)
        }
        None => None,
    };
    // Sort, de-duplicate, drop self loops (PyG: coalesce + remove_self_loops).
    for e in &mut edges {
        e.retain(|&(u, v, _)| u != v);
        e.sort_unstable();
        e.dedup_by_key(|&mut (u, v, _)| (u, v));
    }

    let (el_min, num_edge_labels) = edge_labels.as_deref().map(one_hot_width).unwrap_or((0, 0));
    let (nl_min, num_node_labels) = node_labels.as_deref().map(one_hot_width).unwrap_or((0, 0));
    let degree_features = node_labels.is_none();
    let max_degree = if degree_features {
        edges
            .iter()
            .enumerate()
            .map(|(g, e)| {
                let mut deg = vec![0usize; node_ptr[g + 1] - node_ptr[g]];
                e.iter().for_each(|&(_, v, _)| deg[v as usize] += 1);
                deg.into_iter().max().unwrap_or(0)
            })
            .max()
            .unwrap_or(0)
    } else {
        0
    };
    let num_attr = match (&attributes, options.use_node_attr) {
        (Some((_, w)), true) => *w,
        _ => 0,
    };
    let label_width = if degree_features {
        max_degree + 1
    } else {
        num_node_labels
    };
    let num_node_features = num_attr + label_width;

    let graphs = (0..num_graphs)
        .map(|g| {
            let (lo, hi) = (node_ptr[g], node_ptr[g + 1]);
            let n = hi - lo;
            let e = &edges[g];
            let mut x = vec![0f32; n * num_node_features];
            if let Some((values, w)) = attributes.as_ref().filter(|_| num_attr > 0) {
                for i in 0..n {
                    x[i * num_node_features..i * num_node_features + w]
                        .copy_from_slice(&values[(lo + i) * w..(lo + i + 1) * w]);
                }
            }
            if let Some(nl) = &node_labels {
                for i in 0..n {
                    x[i * num_node_features + num_attr + (nl[lo + i] - nl_min) as usize] = 1.0;
                }
            } else {
                let mut deg = vec![0usize; n];
                e.iter().for_each(|&(_, v, _)| deg[v as usize] += 1);
                for (i, d) in deg.into_iter().enumerate() {
                    x[i * num_node_features + d] = 1.0;
                }
            }
            let mut edge_attr = Vec::new();
            if let Some(el) = &edge_labels {
                edge_attr = vec![0f32; e.len() * num_edge_labels];
                for (k, &(_, _, line)) in e.iter().enumerate() {
                    edge_attr[k * num_edge_labels + (el[line] - el_min) as usize] = 1.0;
                }
            }
            GraphSample {
                num_nodes: n,
                src: e.iter().map(|t| t.0).collect(),
                dst: e.iter().map(|t| t.1).collect(),
                x,
                num_node_features,
                edge_attr,
                num_edge_features: num_edge_labels,
                y: y[g],
                // The node labels are features here (one-hot in `x`), as in PyG.
                node_y: Vec::new(),
            }
        })
        .collect();
    Ok(TuDataset {
        name: name.to_string(),
        graphs,
        num_classes: class_labels.len(),
        class_labels,
        num_node_features,
        num_edge_features: num_edge_labels,
        num_node_labels,
        num_node_attributes: attributes.map(|(_, w)| w).unwrap_or(0),
        degree_features,
        raw_edge_lines,
    })
}
