//! Planetoid raw files (`ind.NAME.{x,y,tx,ty,allx,ally,graph,test.index}`,
//! Yang et al. 2016), read with the restricted [`pickle`]
//! reader and assembled exactly as PyG's `read_planetoid_data` does:
//!
//! - features are `allx` followed by `tx`, the `k`-th row of `tx` going to
//!   node `test.index[k]`; test indices missing from `tx` (15 in CiteSeer)
//!   get zero features and label 0;
//! - labels are the arg-max of the one-hot rows of `ally` / `ty`;
//! - the public split: train is the first `len(y)` nodes, val the next 500,
//!   test the nodes of `test.index`;
//! - edges come from the `graph` dict with self loops removed and duplicate
//!   entries merged (PyG's `remove_self_loops` + `coalesce`), sorted by
//!   source then target. The files list both directions of every edge.
//!
//! ```no_run
//! let cora = graph_data::planetoid::load_cora()?;
//! assert_eq!((cora.num_nodes(), cora.edges.len()), (2708, 10556));
//! # Ok::<(), graph_data::DataError>(())
//! ```

use std::path::Path;

use crate::dataset::NodeDataset;
use crate::edges::EdgeList;
use crate::error::{DataError, Result};
use crate::features::{Features, SparseMatrix};
use crate::fetch::Fetcher;
use crate::pickle::{self, Value};

/// Number of validation nodes of the public split.
pub const NUM_VAL: usize = 500;

/// Fetches a Planetoid data set named in the manifest (`cora`, `citeseer`)
/// and loads it.
pub fn load(name: &str, fetcher: &Fetcher) -> Result<NodeDataset> {
    let folder = fetcher.fetch_named(name)?;
    read_dir(&folder, name)
}

/// Cora with the default [`Fetcher`].
pub fn load_cora() -> Result<NodeDataset> {
    load("cora", &Fetcher::from_env())
}

/// CiteSeer with the default [`Fetcher`].
pub fn load_citeseer() -> Result<NodeDataset> {
    load("citeseer", &Fetcher::from_env())
}

/// Reads `ind.PREFIX.*` from a folder.
pub fn read_dir(folder: &Path, prefix: &str) -> Result<NodeDataset> {
    let file = |part: &str| folder.join(format!("ind.{prefix}.{part}"));
    let read = |part: &str| pickle::load(&file(part));
    let x = pickle::to_sparse(&read("x")?, &file("x"), "x")?;
    let tx = pickle::to_sparse(&read("tx")?, &file("tx"), "tx")?;
    let allx = pickle::to_sparse(&read("allx")?, &file("allx"), "allx")?;
    let y = label_rows(&read("y")?, &file("y"))?;
    let ty = label_rows(&read("ty")?, &file("ty"))?;
    let ally = label_rows(&read("ally")?, &file("ally"))?;
    let graph = read("graph")?;
    let test_index = read_index(&file("test.index"))?;

    let num_classes = ally.1;
    for (rows, path, what) in [(&y, file("y"), "y"), (&ty, file("ty"), "ty")] {
        if rows.1 != num_classes {
            return Err(shape_err(
                &path,
                format!("{what} has {} classes, ally has {num_classes}", rows.1),
            ));
        }
    }
    let n_all = allx.nrows;
    let width = allx.ncols;
    for (m, what) in [(&x, "x"), (&tx, "tx")] {
        if m.ncols != width {
            let msg = format!("{what} has {} feature columns, allx has {width}", m.ncols);
            return Err(shape_err(&file(what), msg));
        }
    }
    check_rows(&file("x"), x.nrows, &file("y"), y.0.len())?;
    check_rows(&file("allx"), n_all, &file("ally"), ally.0.len())?;
    check_rows(&file("tx"), tx.nrows, &file("ty"), ty.0.len())?;
    let index_path = file("test.index");
    if test_index.len() != tx.nrows {
        let msg = format!("{} test indices but tx has {} rows", test_index.len(), tx.nrows);
        return Err(shape_err(&index_path, msg));
    }
    if y.0.len() + NUM_VAL > n_all {
        let msg = format!(
            "{} train + {NUM_VAL} val nodes exceed the {n_all} rows of allx",
            y.0.len()
        );
        return Err(shape_err(&file("allx"), msg));
    }

    // Node count: allx rows, then the range of test indices (which must
    // start right after allx, as in every Planetoid file).
    let (min, max) = match (test_index.iter().min(), test_index.iter().max()) {
        (Some(&a), Some(&b)) => (a, b),
        _ => (n_all, n_all),
    };
    if !test_index.is_empty() && min != n_all {
        let msg = format!("smallest test index is {min}, expected {n_all} (the number of allx rows)");
        return Err(DataError::parse(&index_path, None, msg));
    }
    let num_nodes = (n_all + tx.nrows).max(max + 1);
    let mut test_row = vec![None; num_nodes - n_all];
    for (k, &t) in test_index.iter().enumerate() {
        if test_row[t - n_all].replace(k).is_some() {
            return Err(DataError::parse(
                &index_path,
                Some(k + 1),
                format!("test index {t} is repeated"),
            ));
        }
    }

    let mut indptr = Vec::with_capacity(num_nodes + 1);
    indptr.push(0);
    let (mut indices, mut values) = (Vec::new(), Vec::new());
    let mut labels = Vec::with_capacity(num_nodes);
    for v in 0..num_nodes {
        let (row, label) = if v < n_all {
            (Some(allx.row(v)), ally.0[v])
        } else {
            match test_row[v - n_all] {
                Some(k) => (Some(tx.row(k)), ty.0[k]),
                None => (None, 0), // isolated test node missing from tx: zeros, as PyG
            }
        };
        if let Some((c, x)) = row {
            indices.extend_from_slice(c);
            values.extend_from_slice(x);
        }
        indptr.push(indices.len());
        labels.push(label);
    }
    let features = SparseMatrix::new(num_nodes, width, indptr, indices, values)?;
    let edges = graph_edges(&graph, num_nodes, &file("graph"))?;
    let mut test: Vec<usize> = test_index;
    test.sort_unstable();
    Ok(NodeDataset {
        name: prefix.to_string(),
        edges,
        features: Features::Sparse(features),
        labels,
        num_classes,
        train: (0..y.0.len()).collect(),
        val: (y.0.len()..y.0.len() + NUM_VAL).collect(),
        test,
    })
}

fn shape_err(path: &Path, message: String) -> DataError {
    DataError::parse(path, None, message)
}

fn check_rows(a: &Path, na: usize, b: &Path, nb: usize) -> Result<()> {
    if na != nb {
        let msg = format!("{na} rows, but {} has {nb}", b.display());
        return Err(shape_err(a, msg));
    }
    Ok(())
}

/// One-hot label rows to class indices (first maximum, so a zero row is
/// class 0, as `argmax`); returns the labels and the number of columns.
fn label_rows(v: &Value, path: &Path) -> Result<(Vec<i64>, usize)> {
    let a = match v {
        Value::Array(a) if a.shape.len() == 2 => a,
        other => {
            let msg = format!(
                "expected a 2-D numpy array of one-hot labels, found {}",
                other.type_name()
            );
            return Err(DataError::parse(path, None, msg));
        }
    };
    let (rows, cols) = (a.shape[0], a.shape[1]);
    let vals = a.to_f64().map_err(|m| DataError::parse(path, None, m))?;
    let at = |r: usize, c: usize| {
        if a.fortran {
            vals[c * rows + r]
        } else {
            vals[r * cols + c]
        }
    };
    let labels = (0..rows)
        .map(|r| {
            let mut best = 0;
            for c in 1..cols {
                if at(r, c) > at(r, best) {
                    best = c;
                }
            }
            best as i64
        })
        .collect();
    Ok((labels, cols))
}

/// `test.index`: one node index a line.
fn read_index(path: &Path) -> Result<Vec<usize>> {
    let text = std::fs::read_to_string(path).map_err(|e| DataError::io(path, e))?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            l.trim()
                .parse()
                .map_err(|_| DataError::parse(path, Some(i + 1), format!("`{l}` is not a node index")))
        })
        .collect()
}

/// The adjacency dict `{node: [neighbours]}` to sorted, deduplicated edge
/// entries without self loops.
fn graph_edges(graph: &Value, num_nodes: usize, path: &Path) -> Result<EdgeList> {
    let items = match graph {
        Value::Dict(items) => items,
        other => {
            let msg = format!("expected a dict of adjacency lists, found {}", other.type_name());
            return Err(DataError::parse(path, None, msg));
        }
    };
    let node = |v: &Value, record: usize| -> Result<u32> {
        match v {
            Value::Int(i) if (0..num_nodes as i64).contains(i) => Ok(*i as u32),
            Value::Int(i) => Err(DataError::parse(
                path,
                None,
                format!("dict entry {record}: node id {i} is outside 0..{num_nodes}"),
            )),
            other => Err(DataError::parse(
                path,
                None,
                format!("dict entry {record}: node id is a {}", other.type_name()),
            )),
        }
    };
    let mut pairs = Vec::new();
    for (record, (k, vs)) in items.iter().enumerate() {
        let s = node(k, record + 1)?;
        let Value::List(vs) = vs else {
            let msg = format!(
                "dict entry {}: neighbours of node {s} are a {}, not a list",
                record + 1,
                vs.type_name()
            );
            return Err(DataError::parse(path, None, msg));
        };
        for v in vs {
            let d = node(v, record + 1)?;
            if s != d {
                pairs.push((s, d));
            }
        }
    }
    pairs.sort_unstable();
    pairs.dedup();
    EdgeList::from_pairs(num_nodes, &pairs)
}
