//! Delimited text: numeric matrices (CSV with or without a header row and
//! an index column), generic edge lists (CSV/TSV/whitespace, optional
//! weight column, `#` comments, header detection) and the data sets stored
//! that way: Los-loop traffic speeds, flu_bybw influenza counts, Zachary's
//! karate club.
//!
//! ```
//! let dir = tempfile::tempdir().unwrap();
//! let path = dir.path().join("g.tsv");
//! std::fs::write(&path, "# a comment\nsrc\tdst\tw\n0\t1\t0.5\n1\t2\t2\n").unwrap();
//! let g = graph_data::tabular::read_edge_list(&path, None).unwrap();
//! assert_eq!((g.num_nodes, g.src, g.dst), (3, vec![0, 1], vec![1, 2]));
//! assert_eq!(g.weight, Some(vec![0.5, 2.0]));
//! ```

use std::path::Path;

use crate::dataset::NodeDataset;
use crate::edges::EdgeList;
use crate::error::{DataError, Result};
use crate::features::{Features, SparseMatrix};
use crate::fetch::Fetcher;
use crate::temporal::StaticGraphSignal;

/// A numeric table read from delimited text.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// Column names, when the file has a header row (without the index
    /// column's name).
    pub header: Option<Vec<String>>,
    /// Row labels, when the first column was read as an index.
    pub index: Option<Vec<String>>,
    /// Number of rows.
    pub rows: usize,
    /// Number of columns.
    pub cols: usize,
    /// Row-major values.
    pub values: Vec<f32>,
}

fn read_text(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
    String::from_utf8(bytes).map_err(|e| {
        DataError::parse(
            path,
            None,
            format!("not UTF-8 text (byte {})", e.utf8_error().valid_up_to()),
        )
    })
}

/// Splits a line on commas, tabs or, failing those, whitespace.
fn fields(line: &str) -> Vec<&str> {
    if line.contains(',') {
        line.split(',').map(str::trim).collect()
    } else if line.contains('\t') {
        line.split('\t').map(str::trim).collect()
    } else {
        line.split_whitespace().collect()
    }
}

fn number(path: &Path, line: usize, col: usize, s: &str) -> Result<f32> {
    match s.trim_matches('"').parse::<f32>() {
        Ok(v) if v.is_finite() => Ok(v),
        _ => Err(DataError::parse(
            path,
            Some(line),
            format!("column {}: `{s}` is not a finite number", col + 1),
        )),
    }
}

/// Reads a numeric matrix: `header` says the first line names the columns,
/// `index_col` that the first column labels the rows. Every row must have
/// the same width; every value must be a finite number.
pub fn read_matrix(path: &Path, header: bool, index_col: bool) -> Result<Table> {
    let text = read_text(path)?;
    let mut lines = text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty());
    let skip = usize::from(index_col);
    let names = if header {
        let (_, l) = lines
            .next()
            .ok_or_else(|| DataError::parse(path, Some(1), "empty file: no header"))?;
        Some(
            fields(l)
                .into_iter()
                .skip(skip)
                .map(|s| s.trim_matches('"').to_string())
                .collect::<Vec<_>>(),
        )
    } else {
        None
    };
    let mut t = Table {
        cols: names.as_ref().map_or(0, Vec::len),
        header: names,
        index: None,
        rows: 0,
        values: vec![],
    };
    let mut index = Vec::new();
    for (i, l) in lines {
        let f = fields(l);
        let width = f.len().saturating_sub(skip);
        if t.rows == 0 && t.header.is_none() {
            t.cols = width;
        }
        if width != t.cols {
            let m = format!("{width} values, expected {} (the width of the first row)", t.cols);
            return Err(DataError::parse(path, Some(i + 1), m));
        }
        if index_col {
            index.push(f[0].trim_matches('"').to_string());
        }
        for (c, s) in f[skip..].iter().enumerate() {
            t.values.push(number(path, i + 1, c + skip, s)?);
        }
        t.rows += 1;
    }
    if index_col {
        t.index = Some(index);
    }
    Ok(t)
}

/// The non-zero entries of a square adjacency matrix as weighted edges.
pub fn adjacency_to_edges(t: &Table, path: &Path) -> Result<EdgeList> {
    if t.rows != t.cols {
        return Err(DataError::parse(
            path,
            None,
            format!("adjacency is {} x {}, not square", t.rows, t.cols),
        ));
    }
    let (mut src, mut dst, mut w) = (Vec::new(), Vec::new(), Vec::new());
    for (k, &v) in t.values.iter().enumerate() {
        if v != 0.0 {
            src.push((k / t.cols) as u32);
            dst.push((k % t.cols) as u32);
            w.push(v);
        }
    }
    EdgeList::new(t.rows, src, dst, Some(w))
}

/// Reads an edge list: two node-id columns and an optional weight column,
/// separated by commas, tabs or spaces; `#` lines are comments; a first
/// line whose id fields are not integers is a header. Node ids are
/// non-negative integers; `num_nodes` defaults to the largest id plus one.
pub fn read_edge_list(path: &Path, num_nodes: Option<usize>) -> Result<EdgeList> {
    let text = read_text(path)?;
    let (mut src, mut dst, mut weight) = (Vec::new(), Vec::new(), Vec::new());
    let mut width = None;
    for (i, l) in text.lines().enumerate() {
        let l = l.trim();
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        let f = fields(l);
        let line = i + 1;
        let is_id = |s: &str| s.parse::<u64>().is_ok();
        if width.is_none() && f.len() >= 2 && !(is_id(f[0]) && is_id(f[1])) && src.is_empty() {
            width = Some(f.len()); // header line
            continue;
        }
        if !(2..=3).contains(&f.len()) {
            let m = format!(
                "{} fields, expected 2 (source, target) or 3 (with a weight)",
                f.len()
            );
            return Err(DataError::parse(path, Some(line), m));
        }
        if *width.get_or_insert(f.len()) != f.len() {
            let m = format!(
                "{} fields, expected {} like the first line",
                f.len(),
                width.unwrap_or(0)
            );
            return Err(DataError::parse(path, Some(line), m));
        }
        let id = |k: usize| -> Result<u32> {
            let v: u64 = f[k].parse().map_err(|_| {
                DataError::parse(
                    path,
                    Some(line),
                    format!("`{}` is not a node id (a non-negative integer)", f[k]),
                )
            })?;
            match num_nodes {
                Some(n) if v as usize >= n => Err(DataError::parse(
                    path,
                    Some(line),
                    format!("node id {v} is outside 0..{n}"),
                )),
                _ => u32::try_from(v)
                    .map_err(|_| DataError::parse(path, Some(line), format!("node id {v} does not fit u32"))),
            }
        };
        src.push(id(0)?);
        dst.push(id(1)?);
        if f.len() == 3 {
            weight.push(number(path, line, 2, f[2])?);
        }
    }
    let n = num_nodes.unwrap_or_else(|| src.iter().chain(&dst).max().map_or(0, |&m| m as usize + 1));
    let weight = (width == Some(3)).then_some(weight);
    EdgeList::new(n, src, dst, weight).map_err(|e| DataError::parse(path, None, e.to_string()))
}

fn signal(path: &Path, edges: EdgeList, t: Table) -> Result<StaticGraphSignal> {
    if t.cols != edges.num_nodes {
        let m = format!("{} columns, but the graph has {} nodes", t.cols, edges.num_nodes);
        return Err(DataError::parse(path, None, m));
    }
    StaticGraphSignal::new(edges, t.rows, 1, t.values)
        .map_err(|e| DataError::parse(path, None, e.to_string()))
}

/// Los-loop (T-GCN): 2016 five-minute speeds of 207 detectors
/// (`los_speed.csv`, header of sensor ids) on the weighted adjacency
/// `los_adj.csv` (207 x 207, no header; its diagonal of ones is kept as
/// self loops, as the file gives it).
pub fn load_los_loop(fetcher: &Fetcher) -> Result<StaticGraphSignal> {
    let folder = fetcher.fetch_named("los-loop")?;
    let adj_path = folder.join("los_adj.csv");
    let edges = adjacency_to_edges(&read_matrix(&adj_path, false, false)?, &adj_path)?;
    let speed_path = folder.join("los_speed.csv");
    signal(&speed_path, edges, read_matrix(&speed_path, true, false)?)
}

/// flu_bybw (R `surveillance`): weekly influenza counts of 140 districts,
/// 2001-2008 (`observed.csv`, first column `epoch`), on the binary district
/// adjacency `neighbourhood.csv` (336 undirected edges, 672 entries).
pub fn load_flu_bybw(fetcher: &Fetcher) -> Result<StaticGraphSignal> {
    let folder = fetcher.fetch_named("flu-bybw")?;
    let adj_path = folder.join("neighbourhood.csv");
    let adj = read_matrix(&adj_path, true, true)?;
    let obs_path = folder.join("observed.csv");
    let obs = read_matrix(&obs_path, true, true)?;
    // Columns of both files and rows of the adjacency name the same districts.
    if adj.header != adj.index || obs.header != adj.header {
        let m = "district ids of observed.csv and neighbourhood.csv (rows and columns) differ";
        return Err(DataError::parse(&adj_path, None, m));
    }
    let edges = adjacency_to_edges(&adj, &adj_path)?;
    signal(&obs_path, edges, obs)
}

/// Zachary's karate club: 34 members, 78 friendships (`karate_edges.csv`,
/// both directions are returned: 156 entries, weights as given), the
/// club each member joined (`karate_labels.csv`: 0 Mr. Hi, 1 Officer).
/// Features are the identity (one-hot node ids, as PyG's `KarateClub`);
/// train holds the two leaders (nodes 0 and 33), test everyone else.
pub fn load_karate(fetcher: &Fetcher) -> Result<NodeDataset> {
    let folder = fetcher.fetch_named("karate-club")?;
    let lab_path = folder.join("karate_labels.csv");
    let text = read_text(&lab_path)?;
    let mut labels = Vec::new();
    for (i, l) in text
        .lines()
        .enumerate()
        .skip(1)
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let f = fields(l);
        let bad = |m: &str| DataError::parse(&lab_path, Some(i + 1), m.to_string());
        let (Some(node), Some(label)) = (f.first(), f.last()) else {
            return Err(bad("empty line"));
        };
        if node.parse::<usize>().ok() != Some(labels.len()) {
            return Err(bad(&format!(
                "node `{node}` out of order: expected {}",
                labels.len()
            )));
        }
        labels.push(
            label
                .parse::<i64>()
                .map_err(|_| bad(&format!("label `{label}` is not an integer")))?,
        );
    }
    let n = labels.len();
    if n < 2 || labels.iter().any(|&l| l < 0) {
        return Err(DataError::parse(
            &lab_path,
            None,
            "needs two or more nodes with labels >= 0",
        ));
    }
    let edge_path = folder.join("karate_edges.csv");
    let g = read_edge_list(&edge_path, Some(n))?;
    let w = g.weight.clone().unwrap_or_else(|| vec![1.0; g.len()]);
    let mut e: Vec<(u32, u32, f32)> = Vec::with_capacity(2 * g.len());
    for ((&s, &d), &w) in g.src.iter().zip(&g.dst).zip(&w) {
        e.push((s, d, w));
        e.push((d, s, w));
    }
    e.sort_by_key(|&(s, d, _)| (s, d));
    e.dedup_by_key(|&mut (s, d, _)| (s, d));
    let edges = EdgeList::new(
        n,
        e.iter().map(|x| x.0).collect(),
        e.iter().map(|x| x.1).collect(),
        Some(e.iter().map(|x| x.2).collect()),
    )?;
    let num_classes = labels.iter().max().map_or(0, |&m| m as usize + 1);
    let identity = SparseMatrix::new(n, n, (0..=n).collect(), (0..n as u32).collect(), vec![1.0; n])?;
    Ok(NodeDataset {
        name: "karate-club".into(),
        edges,
        features: Features::Sparse(identity),
        labels,
        num_classes,
        train: vec![0, n - 1],
        val: vec![],
        test: (1..n - 1).collect(),
    })
}
