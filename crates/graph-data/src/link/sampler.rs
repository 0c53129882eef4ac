//! Link-level neighbour sampling (PyG's `LinkNeighborLoader`): the seeds of a
//! batch are node pairs (positive and negative), the sampled computation
//! graph is that of the union of their endpoints, drawn by the node sampler
//! ([`NeighborSampler`]), and the batch's positive supervision edges are
//! removed from every block, so a model never propagates over the edge it
//! is asked to predict.
//!
//! ```
//! use std::sync::Arc;
//! use graph_data::csr::Csr;
//! use graph_data::EdgeList;
//! use graph_data::link::sampler::LinkNeighborSampler;
//! // A 4-cycle 0-1-2-3-0, both directions.
//! let pairs = [(0, 1), (1, 0), (1, 2), (2, 1), (2, 3), (3, 2), (3, 0), (0, 3)];
//! let csr = Csr::from_edge_list(&EdgeList::from_pairs(4, &pairs).unwrap()).unwrap();
//! let sampler = LinkNeighborSampler::new(Arc::new(csr), vec![4, 4], false, true, 0).unwrap();
//! // Predict the edge 0-1 (label 1) and the non-edge 0-2 (label 0).
//! let batch = sampler.sample(&[0, 0], &[1, 2], &[1.0, 0.0], 0).unwrap();
//! let last = batch.batch.blocks.last().unwrap();
//! assert_eq!(last.dst_nodes, vec![0, 1, 2]);
//! // Node 0 keeps its edge from 3 but not the one from 1 (a supervision edge).
//! let from: Vec<u32> = last.indices[last.indptr[0]..last.indptr[1]]
//!     .iter().map(|&l| last.src_nodes[l as usize]).collect();
//! assert_eq!(from, vec![3]);
//! assert_eq!((batch.src, batch.dst), (vec![0, 0], vec![1, 2]));
//! ```

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use crate::csr::Csr;
use crate::error::{DataError, Result};
use crate::sampler::{Block, MiniBatch, NeighborSampler};

/// A sampled batch of node pairs.
#[derive(Debug, Clone, PartialEq)]
pub struct LinkBatch {
    /// The computation graph of the pairs' endpoints: the last block's
    /// `dst_nodes` are the distinct endpoints in order of first appearance
    /// (sources and targets interleaved pair by pair).
    pub batch: MiniBatch,
    /// Each pair's source, as a local id into the last block's `dst_nodes`
    /// (the rows of the model's output).
    pub src: Vec<u32>,
    /// Each pair's target, local as `src`.
    pub dst: Vec<u32>,
    /// Each pair's label, as given.
    pub label: Vec<f32>,
    /// Sampled edges dropped because they were supervision edges.
    pub removed: usize,
}

/// A seeded link-level neighbour sampler over a message-passing graph.
#[derive(Debug, Clone)]
pub struct LinkNeighborSampler {
    nodes: NeighborSampler,
    undirected: bool,
}

impl LinkNeighborSampler {
    /// A sampler over `csr` with `fanouts` per layer (input layer first, as
    /// [`NeighborSampler::new`]). `undirected`: a positive pair `(u, v)`
    /// removes both `u -> v` and `v -> u` from the batch's blocks. Fails as
    /// [`NeighborSampler::new`].
    pub fn new(
        csr: Arc<Csr>,
        fanouts: Vec<usize>,
        replace: bool,
        undirected: bool,
        seed: u64,
    ) -> Result<Self> {
        Ok(LinkNeighborSampler {
            nodes: NeighborSampler::new(csr, fanouts, replace, seed)?,
            undirected,
        })
    }

    /// The node sampler underneath.
    pub fn node_sampler(&self) -> &NeighborSampler {
        &self.nodes
    }

    /// Samples the batch of pairs `(src[i], dst[i])` with labels `label`
    /// (positive when `> 0`) for batch key `key`: deterministic for a seed
    /// and key on any number of threads. Fails on lengths that differ or an
    /// out-of-range id.
    pub fn sample(&self, src: &[u32], dst: &[u32], label: &[f32], key: u64) -> Result<LinkBatch> {
        if src.len() != dst.len() || src.len() != label.len() {
            return Err(DataError::Invalid(format!(
                "link sampler: {} sources, {} targets, {} labels",
                src.len(),
                dst.len(),
                label.len()
            )));
        }
        let seeds: Vec<u32> = src.iter().zip(dst).flat_map(|(&u, &v)| [u, v]).collect();
        let mut batch = self.nodes.sample(&seeds, key)?;
        let mut positive: HashSet<(u32, u32)> = HashSet::new();
        for ((&u, &v), &y) in src.iter().zip(dst).zip(label) {
            if y > 0.0 {
                positive.insert((u, v));
                if self.undirected {
                    positive.insert((v, u));
                }
            }
        }
        let removed = batch.blocks.iter_mut().map(|b| remove_edges(b, &positive)).sum();
        let last = batch.blocks.last().expect("at least one layer");
        let local: HashMap<u32, u32> = last
            .dst_nodes
            .iter()
            .enumerate()
            .map(|(i, &v)| (v, i as u32))
            .collect();
        Ok(LinkBatch {
            src: src.iter().map(|u| local[u]).collect(),
            dst: dst.iter().map(|v| local[v]).collect(),
            label: label.to_vec(),
            batch,
            removed,
        })
    }
}

/// Drops the block's edges `u -> v` (global ids) that are in `edges`;
/// returns how many.
fn remove_edges(block: &mut Block, edges: &HashSet<(u32, u32)>) -> usize {
    if edges.is_empty() {
        return 0;
    }
    let mut indptr = Vec::with_capacity(block.indptr.len());
    indptr.push(0);
    let mut indices = Vec::with_capacity(block.indices.len());
    for (i, &v) in block.dst_nodes.iter().enumerate() {
        for &l in &block.indices[block.indptr[i]..block.indptr[i + 1]] {
            if !edges.contains(&(block.src_nodes[l as usize], v)) {
                indices.push(l);
            }
        }
        indptr.push(indices.len());
    }
    let removed = block.indices.len() - indices.len();
    block.indptr = indptr;
    block.indices = indices;
    removed
}
