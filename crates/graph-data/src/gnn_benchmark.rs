//! gnn-benchmark graphs (Shchur et al. 2018, "Pitfalls of Graph Neural
//! Network Evaluation"): `.npz` archives holding a CSR adjacency
//! (`adj_data, adj_indices, adj_indptr, adj_shape`), CSR attributes
//! (`attr_*`), `labels`, and optionally `node_names` / `class_names`;
//! plus the seeded random per-class splits of the paper (20 per class for
//! training, 30 per class for validation, the rest for test).
//!
//! ```no_run
//! use graph_data::gnn_benchmark::{self, SplitSpec};
//! let g = gnn_benchmark::load("cora-npz", &graph_data::fetch::Fetcher::from_env())?;
//! let d = g.to_node_dataset(&SplitSpec::default(), 0)?;
//! assert_eq!(d.train.len(), 20 * d.num_classes);
//! # Ok::<(), graph_data::DataError>(())
//! ```

use std::collections::BTreeMap;
use std::path::Path;

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::dataset::NodeDataset;
use crate::edges::EdgeList;
use crate::error::{DataError, Result};
use crate::features::{Features, SparseMatrix};
use crate::fetch::{Fetcher, Manifest};
use crate::npy::{read_npz, Npy};

/// The arrays of a gnn-benchmark `.npz` file.
#[derive(Debug, Clone, PartialEq)]
pub struct NpzGraph {
    /// File stem (`cora`).
    pub name: String,
    /// The adjacency as stored (directed citations for Cora).
    pub adjacency: SparseMatrix,
    /// Node attributes.
    pub attributes: SparseMatrix,
    /// Class of each node.
    pub labels: Vec<i64>,
    /// Node names, when the archive has them.
    pub node_names: Option<Vec<String>>,
    /// Class names, when the archive has them.
    pub class_names: Option<Vec<String>>,
}

/// How many nodes of each class go to training and validation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SplitSpec {
    /// Training nodes per class (20 in the paper).
    pub train_per_class: usize,
    /// Validation nodes per class (30 in the paper).
    pub val_per_class: usize,
}

impl Default for SplitSpec {
    fn default() -> Self {
        SplitSpec {
            train_per_class: 20,
            val_per_class: 30,
        }
    }
}

/// Fetches a gnn-benchmark data set by manifest name (`cora-npz`,
/// `citeseer-npz`) and reads its archive.
pub fn load(name: &str, fetcher: &Fetcher) -> Result<NpzGraph> {
    let manifest = Manifest::builtin()?;
    let ds = manifest.get(name)?;
    let folder = fetcher.fetch(ds)?;
    let file = ds
        .files
        .iter()
        .find(|f| f.path.ends_with(".npz"))
        .ok_or_else(|| DataError::Manifest(format!("data set `{name}` has no .npz file")))?;
    read(&folder.join(&file.path))
}

/// Reads a gnn-benchmark `.npz` file.
pub fn read(path: &Path) -> Result<NpzGraph> {
    let arrays = read_npz(path)?;
    from_arrays(&arrays, path)
}

/// Builds the graph from decoded archive members; `path` names the file
/// in errors.
pub fn from_arrays(arrays: &BTreeMap<String, Npy>, path: &Path) -> Result<NpzGraph> {
    let err = |m: String| DataError::parse(path, None, m);
    let get = |k: &str| {
        arrays
            .get(k)
            .ok_or_else(|| err(format!("no `{k}` array in the archive")))
    };
    let ints = |k: &str| -> Result<Vec<i64>> {
        get(k)?
            .numeric(path, k)?
            .to_i64()
            .map_err(|m| err(format!("`{k}`: {m}")))
    };
    let index = |k: &str| -> Result<Vec<usize>> {
        ints(k)?
            .into_iter()
            .map(|v| usize::try_from(v).map_err(|_| err(format!("`{k}` holds negative value {v}"))))
            .collect()
    };
    let csr = |prefix: &str| -> Result<SparseMatrix> {
        let shape = index(&format!("{prefix}_shape"))?;
        let [rows, cols] = shape[..] else {
            return Err(err(format!(
                "`{prefix}_shape` has {} entries, expected 2",
                shape.len()
            )));
        };
        let indices = index(&format!("{prefix}_indices"))?
            .into_iter()
            .map(|i| u32::try_from(i).map_err(|_| err(format!("`{prefix}_indices`: {i} does not fit u32"))))
            .collect::<Result<Vec<u32>>>()?;
        let k = format!("{prefix}_data");
        let data = get(&k)?
            .numeric(path, &k)?
            .to_f64()
            .map_err(|m| err(format!("`{k}`: {m}")))?;
        let data = data.into_iter().map(|x| x as f32).collect();
        SparseMatrix::new(rows, cols, index(&format!("{prefix}_indptr"))?, indices, data)
            .map_err(|e| err(format!("`{prefix}_*`: {e}")))
    };
    let adjacency = csr("adj")?;
    let attributes = csr("attr")?;
    let labels = ints("labels")?;
    let n = adjacency.nrows;
    if adjacency.ncols != n || attributes.nrows != n || labels.len() != n {
        return Err(err(format!(
            "adjacency {}x{}, attributes {}x{} and {} labels disagree on the node count",
            adjacency.nrows,
            adjacency.ncols,
            attributes.nrows,
            attributes.ncols,
            labels.len()
        )));
    }
    if let Some(l) = labels.iter().find(|&&l| l < 0) {
        return Err(err(format!("negative label {l}")));
    }
    let strings = |k: &str| match arrays.get(k) {
        Some(Npy::Strings { values, .. }) => Some(values.clone()),
        _ => None,
    };
    Ok(NpzGraph {
        name: path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default(),
        adjacency,
        attributes,
        labels,
        node_names: strings("node_names"),
        class_names: strings("class_names"),
    })
}

impl NpzGraph {
    /// Number of classes (largest label plus one).
    pub fn num_classes(&self) -> usize {
        self.labels.iter().max().map_or(0, |&m| m as usize + 1)
    }

    /// The adjacency made undirected and unweighted, without self loops or
    /// duplicates (Shchur et al.'s standardisation, without restricting to
    /// the largest connected component).
    pub fn undirected_edges(&self) -> Result<EdgeList> {
        let mut pairs = Vec::with_capacity(2 * self.adjacency.nnz());
        for r in 0..self.adjacency.nrows {
            for &c in self.adjacency.row(r).0 {
                if r as u32 != c {
                    pairs.push((r as u32, c));
                    pairs.push((c, r as u32));
                }
            }
        }
        pairs.sort_unstable();
        pairs.dedup();
        EdgeList::from_pairs(self.adjacency.nrows, &pairs)
    }

    /// A node classification data set with undirected edges, sparse
    /// attributes and a seeded random per-class split.
    pub fn to_node_dataset(&self, spec: &SplitSpec, seed: u64) -> Result<NodeDataset> {
        let num_classes = self.num_classes();
        let (train, val, test) = per_class_split(&self.labels, num_classes, spec, seed)?;
        Ok(NodeDataset {
            name: self.name.clone(),
            edges: self.undirected_edges()?,
            features: Features::Sparse(self.attributes.clone()),
            labels: self.labels.clone(),
            num_classes,
            train,
            val,
            test,
        })
    }
}

/// Shuffles each class's nodes with `ChaCha8Rng::seed_from_u64(seed)` and
/// takes the first `train_per_class` for training, the next
/// `val_per_class` for validation; every other node is a test node. Index
/// lists are returned sorted. A class too small for its share is an error.
pub fn per_class_split(
    labels: &[i64],
    num_classes: usize,
    spec: &SplitSpec,
    seed: u64,
) -> Result<(Vec<usize>, Vec<usize>, Vec<usize>)> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut by_class = vec![Vec::new(); num_classes];
    for (i, &l) in labels.iter().enumerate() {
        let c = usize::try_from(l).ok().filter(|&c| c < num_classes);
        let c =
            c.ok_or_else(|| DataError::Invalid(format!("node {i}: label {l} outside 0..{num_classes}")))?;
        by_class[c].push(i);
    }
    let (mut train, mut val, mut test) = (Vec::new(), Vec::new(), Vec::new());
    let need = spec.train_per_class + spec.val_per_class;
    for (c, nodes) in by_class.iter_mut().enumerate() {
        if nodes.len() < need {
            return Err(DataError::Invalid(format!(
                "class {c} has {} nodes, fewer than the {need} its train and val shares need",
                nodes.len()
            )));
        }
        nodes.shuffle(&mut rng);
        train.extend_from_slice(&nodes[..spec.train_per_class]);
        val.extend_from_slice(&nodes[spec.train_per_class..need]);
        test.extend_from_slice(&nodes[need..]);
    }
    train.sort_unstable();
    val.sort_unstable();
    test.sort_unstable();
    Ok((train, val, test))
}
