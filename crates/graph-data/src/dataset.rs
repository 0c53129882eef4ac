//! The data set types loaders return.

use crate::edges::EdgeList;
use crate::features::Features;

/// A graph with node features, node labels and a node split (Planetoid,
/// gnn-benchmark, karate club).
#[derive(Debug, Clone, PartialEq)]
pub struct NodeDataset {
    /// Name of the data set (`cora`, `citeseer`, ...).
    pub name: String,
    /// Directed edge entries (an undirected edge appears in both
    /// directions), sorted by source then target, without duplicates.
    pub edges: EdgeList,
    /// Node features, one row per node.
    pub features: Features,
    /// Class of each node, in `0..num_classes`.
    pub labels: Vec<i64>,
    /// Number of classes.
    pub num_classes: usize,
    /// Training node indices (ascending).
    pub train: Vec<usize>,
    /// Validation node indices (ascending).
    pub val: Vec<usize>,
    /// Test node indices (ascending).
    pub test: Vec<usize>,
}

impl NodeDataset {
    /// Number of nodes.
    pub fn num_nodes(&self) -> usize {
        self.edges.num_nodes
    }

    /// Divides each feature row by its sum (rows summing to zero stay zero),
    /// as PyG's `NormalizeFeatures`.
    pub fn normalize_features(&mut self) {
        match &mut self.features {
            Features::Sparse(m) => m.row_normalize(),
            Features::Dense { cols, data, .. } => {
                for row in data.chunks_mut((*cols).max(1)) {
                    let s: f32 = row.iter().sum();
                    if s != 0.0 {
                        row.iter_mut().for_each(|v| *v /= s);
                    }
                }
            }
        }
    }

    /// Number of nodes with no edge in either direction.
    pub fn isolated_nodes(&self) -> usize {
        let mut seen = vec![false; self.num_nodes()];
        for (&s, &d) in self.edges.src.iter().zip(&self.edges.dst) {
            seen[s as usize] = true;
            seen[d as usize] = true;
        }
        seen.iter().filter(|s| !**s).count()
    }

    /// Number of edges from a node to itself.
    pub fn self_loops(&self) -> usize {
        self.edges
            .src
            .iter()
            .zip(&self.edges.dst)
            .filter(|(s, d)| s == d)
            .count()
    }
}

/// Labelled multivariate sequences of varying length (one split of a
/// UEA/UCR data set).
#[derive(Debug, Clone, PartialEq)]
pub struct SequenceDataset {
    /// Name of the data set (the `.ts` file's `@problemName`).
    pub name: String,
    /// Number of channels `C` of every sequence.
    pub channels: usize,
    /// Each sequence as `T_i x C` values, row-major (time step, then channel).
    pub series: Vec<Vec<f32>>,
    /// Class of each sequence, an index into `class_names`.
    pub labels: Vec<i64>,
    /// Class names, in the order the file's header declares them.
    pub class_names: Vec<String>,
}

impl SequenceDataset {
    /// Number of sequences.
    pub fn len(&self) -> usize {
        self.series.len()
    }

    /// True when there are no sequences.
    pub fn is_empty(&self) -> bool {
        self.series.is_empty()
    }

    /// Length (time steps) of each sequence.
    pub fn lengths(&self) -> Vec<usize> {
        self.series
            .iter()
            .map(|s| s.len() / self.channels.max(1))
            .collect()
    }

    /// Number of classes.
    pub fn num_classes(&self) -> usize {
        self.class_names.len()
    }
}
