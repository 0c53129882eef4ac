//! GraphSAGE-style neighbour sampling over a [`Csr`] for mini-batch training,
//! and a loader that samples the next batch on its own thread while the
//! current one trains.
//!
//! A [`MiniBatch`] holds one bipartite [`Block`] per layer, outermost first
//! (DGL's convention): `blocks[0]` reads the input features of
//! `blocks[0].src_nodes`, and the last block's `dst_nodes` are the seeds. In
//! every block the destination nodes are the first `dst_nodes.len()` source
//! nodes, so a layer that maps node features to node features (any
//! `graph_models::GnnLayer`) runs on the block as a square graph over its
//! source nodes and the first `dst_nodes.len()` rows of its output are the
//! block's result.
//!
//! Sampling is deterministic for a seed whatever the number of rayon threads:
//! each (layer, node) draws from its own ChaCha stream keyed by the sampler's
//! seed and the batch key.
//!
//! ```
//! use std::sync::Arc;
//! use graph_data::csr::Csr;
//! use graph_data::sampler::NeighborSampler;
//! // A star: node 0 linked to 1..=5 (both directions).
//! let src = vec![0, 0, 0, 0, 0, 1, 2, 3, 4, 5];
//! let dst = vec![1, 2, 3, 4, 5, 0, 0, 0, 0, 0];
//! let mut indptr = vec![0usize; 7];
//! let mut pairs: Vec<(u32, u32)> = src.into_iter().zip(dst).collect();
//! pairs.sort();
//! for &(s, _) in &pairs { indptr[s as usize + 1] += 1; }
//! for i in 0..6 { indptr[i + 1] += indptr[i]; }
//! let csr = Csr::new(6, indptr, pairs.iter().map(|p| p.1).collect(), None).unwrap();
//! let sampler = NeighborSampler::new(Arc::new(csr), vec![2, 3], false, 7).unwrap();
//! let batch = sampler.sample(&[0], 0).unwrap();
//! assert_eq!(batch.blocks.len(), 2);
//! let last = &batch.blocks[1];
//! assert_eq!(last.dst_nodes, vec![0]);
//! assert_eq!(last.num_edges(), 3); // fan-out 3 for the output layer
//! assert_eq!(&last.src_nodes[..1], &[0]); // destinations come first
//! ```

use std::collections::HashMap;
use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::Arc;
use std::thread::JoinHandle;

use rand::seq::index;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use crate::csr::Csr;
use crate::error::{DataError, Result};

/// Fan-out meaning "every neighbour" (PyG's `-1`).
pub const ALL: usize = usize::MAX;

/// One layer of a sampled computation graph: edges from `src_nodes` into
/// `dst_nodes`, in local ids.
///
/// `src_nodes[..dst_nodes.len()] == dst_nodes`. The edges are stored per
/// destination in CSR form: the sampled sources of local destination `i` are
/// `indices[indptr[i]..indptr[i + 1]]`, local ids into `src_nodes`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    /// Global ids of the nodes messages come from (destinations first).
    pub src_nodes: Vec<u32>,
    /// Global ids of the nodes messages go to.
    pub dst_nodes: Vec<u32>,
    /// Row pointers, one row per destination (`dst_nodes.len() + 1` entries).
    pub indptr: Vec<usize>,
    /// Local source id of each sampled edge.
    pub indices: Vec<u32>,
}

impl Block {
    /// Number of sampled edges.
    pub fn num_edges(&self) -> usize {
        self.indices.len()
    }

    /// The edges as `(local source, local destination)` lists, PyG's
    /// `edge_index` orientation (row 0 source, row 1 target).
    pub fn edge_index(&self) -> (Vec<u32>, Vec<u32>) {
        let dst = (0..self.dst_nodes.len())
            .flat_map(|i| std::iter::repeat_n(i as u32, self.indptr[i + 1] - self.indptr[i]))
            .collect();
        (self.indices.clone(), dst)
    }

    /// The block's edges with GCN weights estimated from the sample, plus one
    /// self loop per destination: for destination `v` with full-graph degree
    /// `d_v` and `k_v` sampled neighbours, edge `u -> v` gets
    /// `(d_v / k_v) / sqrt((d_u + 1)(d_v + 1))` and the loop `1 / (d_v + 1)`,
    /// so that in expectation the product equals the full graph's
    /// `D^-1/2 (A + I) D^-1/2` row (sampling without replacement, or with).
    /// Degrees are the row lengths of `csr`, the graph the block was sampled
    /// from. Returns `(src, dst, weight)` in local ids.
    pub fn gcn_edges(&self, csr: &Csr) -> (Vec<u32>, Vec<u32>, Vec<f32>) {
        let deg = |local: u32| csr.degree(self.src_nodes[local as usize] as usize) as f32;
        let n_dst = self.dst_nodes.len();
        let cap = self.num_edges() + n_dst;
        let (mut src, mut dst, mut w) = (
            Vec::with_capacity(cap),
            Vec::with_capacity(cap),
            Vec::with_capacity(cap),
        );
        for v in 0..n_dst {
            let row = &self.indices[self.indptr[v]..self.indptr[v + 1]];
            let dv = deg(v as u32);
            let scale = if row.is_empty() {
                0.0
            } else {
                dv / row.len() as f32
            };
            for &u in row {
                src.push(u);
                dst.push(v as u32);
                w.push(scale / ((deg(u) + 1.0) * (dv + 1.0)).sqrt());
            }
            src.push(v as u32);
            dst.push(v as u32);
            w.push(1.0 / (dv + 1.0));
        }
        (src, dst, w)
    }
}

/// The sampled computation graph of one batch of seed nodes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MiniBatch {
    /// The seed (output) nodes, global ids, in the order given.
    pub seeds: Vec<u32>,
    /// One block per layer, input layer first; the last block's
    /// `dst_nodes` are `seeds` (deduplicated, first occurrence kept).
    pub blocks: Vec<Block>,
}

impl MiniBatch {
    /// Global ids of the nodes whose input features the batch reads
    /// (`blocks[0].src_nodes`).
    pub fn input_nodes(&self) -> &[u32] {
        &self.blocks[0].src_nodes
    }

    /// Sampled edges over all blocks.
    pub fn num_edges(&self) -> usize {
        self.blocks.iter().map(Block::num_edges).sum()
    }
}

/// A seeded neighbour sampler with one fan-out per layer.
#[derive(Debug, Clone)]
pub struct NeighborSampler {
    csr: Arc<Csr>,
    fanouts: Vec<usize>,
    replace: bool,
    seed: u64,
}

impl NeighborSampler {
    /// A sampler over `csr` taking, for each node, up to `fanouts[l]`
    /// neighbours at layer `l` counted from the input (`fanouts[last]` is the
    /// output layer's, the one applied to the seeds; PyG lists them the other
    /// way round). The neighbours of `v` are its row in `csr`: for a directed
    /// graph pass the transpose to sample in-neighbours. Without replacement,
    /// a node with at most `fanout` neighbours keeps them all ([`ALL`] keeps
    /// every neighbour); with replacement, exactly `fanout` draws are made
    /// (none for a node without neighbours). Fails on no layers or a zero
    /// fan-out.
    pub fn new(csr: Arc<Csr>, fanouts: Vec<usize>, replace: bool, seed: u64) -> Result<Self> {
        if fanouts.is_empty() {
            return Err(DataError::Invalid("sampler: no fan-outs (one per layer)".into()));
        }
        if fanouts.contains(&0) {
            return Err(DataError::Invalid(format!(
                "sampler: fan-outs {fanouts:?} contain 0"
            )));
        }
        if replace && fanouts.contains(&ALL) {
            return Err(DataError::Invalid(
                "sampler: fan-out ALL needs sampling without replacement".into(),
            ));
        }
        Ok(NeighborSampler {
            csr,
            fanouts,
            replace,
            seed,
        })
    }

    /// The graph sampled from.
    pub fn csr(&self) -> &Arc<Csr> {
        &self.csr
    }

    /// Fan-outs, input layer first.
    pub fn fanouts(&self) -> &[usize] {
        &self.fanouts
    }

    /// The sampled neighbours of `node` at `layer` for batch `key` (global
    /// ids; without replacement in the row's order).
    fn neighbours(&self, node: u32, layer: usize, key: u64) -> Vec<u32> {
        let (row, _) = self.csr.row(node as usize);
        let fanout = self.fanouts[layer];
        if !self.replace && row.len() <= fanout {
            return row.to_vec();
        }
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed ^ key.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        rng.set_stream(((layer as u64) << 32) | node as u64);
        if self.replace {
            if row.is_empty() {
                return Vec::new();
            }
            (0..fanout).map(|_| row[rng.gen_range(0..row.len())]).collect()
        } else {
            let mut picks = index::sample(&mut rng, row.len(), fanout).into_vec();
            picks.sort_unstable();
            picks.into_iter().map(|i| row[i]).collect()
        }
    }

    /// Samples the computation graph of `seeds` for batch `key` (use a
    /// different key per batch and epoch; the same seed, key and input give
    /// the same blocks on any number of threads). Fails on an out-of-range id.
    pub fn sample(&self, seeds: &[u32], key: u64) -> Result<MiniBatch> {
        let n = self.csr.num_nodes();
        if let Some(&bad) = seeds.iter().find(|&&s| s as usize >= n) {
            return Err(DataError::Invalid(format!(
                "sampler: seed node {bad} is outside 0..{n}"
            )));
        }
        let mut frontier = dedup_keep_order(seeds);
        let mut blocks = Vec::with_capacity(self.fanouts.len());
        for layer in (0..self.fanouts.len()).rev() {
            let sampled: Vec<Vec<u32>> = frontier
                .par_iter()
                .map(|&v| self.neighbours(v, layer, key))
                .collect();
            let block = relabel(frontier, &sampled);
            frontier = block.src_nodes.clone();
            blocks.push(block);
        }
        blocks.reverse();
        Ok(MiniBatch {
            seeds: seeds.to_vec(),
            blocks,
        })
    }
}

fn dedup_keep_order(nodes: &[u32]) -> Vec<u32> {
    let mut seen = HashMap::with_capacity(nodes.len());
    nodes
        .iter()
        .copied()
        .filter(|&v| seen.insert(v, ()).is_none())
        .collect()
}

/// Builds a block: destinations first, then new sources in order of first
/// appearance.
fn relabel(dst_nodes: Vec<u32>, sampled: &[Vec<u32>]) -> Block {
    let mut local: HashMap<u32, u32> = dst_nodes
        .iter()
        .enumerate()
        .map(|(i, &v)| (v, i as u32))
        .collect();
    let mut src_nodes = dst_nodes.clone();
    let mut indptr = Vec::with_capacity(dst_nodes.len() + 1);
    indptr.push(0);
    let mut indices = Vec::with_capacity(sampled.iter().map(Vec::len).sum());
    for row in sampled {
        for &u in row {
            let id = *local.entry(u).or_insert_with(|| {
                src_nodes.push(u);
                (src_nodes.len() - 1) as u32
            });
            indices.push(id);
        }
        indptr.push(indices.len());
    }
    Block {
        src_nodes,
        dst_nodes,
        indptr,
        indices,
    }
}

/// Batches of seed nodes sampled one step ahead on a background thread: while
/// the caller trains on batch `i`, batch `i + 1` (up to `prefetch` batches)
/// is being sampled. Iterating yields the batches in order; dropping the
/// loader early stops the thread.
#[derive(Debug)]
pub struct PrefetchLoader {
    rx: Option<Receiver<Result<MiniBatch>>>,
    worker: Option<JoinHandle<()>>,
}

impl PrefetchLoader {
    /// One epoch over `nodes`, shuffled with `(shuffle_seed, epoch)` (no
    /// shuffle when `shuffle_seed` is `None`), in batches of `batch_size`,
    /// batch `i` sampled with key `epoch << 32 | i`. Fails on a zero batch
    /// size or prefetch depth.
    pub fn new(
        sampler: NeighborSampler,
        mut nodes: Vec<u32>,
        batch_size: usize,
        shuffle_seed: Option<u64>,
        epoch: u64,
        prefetch: usize,
    ) -> Result<Self> {
        if batch_size == 0 || prefetch == 0 {
            return Err(DataError::Invalid(format!(
                "loader: batch size {batch_size} and prefetch {prefetch} must be positive"
            )));
        }
        if let Some(s) = shuffle_seed {
            let mut rng = ChaCha8Rng::seed_from_u64(s);
            rng.set_stream(epoch);
            rand::seq::SliceRandom::shuffle(nodes.as_mut_slice(), &mut rng);
        }
        let (tx, rx) = sync_channel(prefetch);
        let worker = std::thread::spawn(move || {
            for (i, chunk) in nodes.chunks(batch_size).enumerate() {
                let batch = sampler.sample(chunk, (epoch << 32) | i as u64);
                if tx.send(batch).is_err() {
                    return; // the loader was dropped
                }
            }
        });
        Ok(PrefetchLoader {
            rx: Some(rx),
            worker: Some(worker),
        })
    }
}

impl Iterator for PrefetchLoader {
    type Item = Result<MiniBatch>;

    fn next(&mut self) -> Option<Self::Item> {
        self.rx.as_ref()?.recv().ok()
    }
}

impl Drop for PrefetchLoader {
    fn drop(&mut self) {
        self.rx = None; // unblocks a worker waiting to send
        if let Some(w) = self.worker.take() {
            let _ = w.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::csr::Dedup;
    use crate::edges::EdgeList;
    use proptest::prelude::*;

    fn graph(n: usize, pairs: &[(u32, u32)]) -> Arc<Csr> {
        let edges = EdgeList {
            num_nodes: n,
            src: pairs.iter().map(|p| p.0 % n as u32).collect(),
            dst: pairs.iter().map(|p| p.1 % n as u32).collect(),
            weight: None,
        };
        Arc::new(Csr::from_edge_list_undirected(&edges, Dedup::Sum).unwrap())
    }

    fn check_batch(csr: &Csr, fanouts: &[usize], replace: bool, seeds: &[u32], b: &MiniBatch) {
        assert_eq!(b.blocks.len(), fanouts.len());
        assert_eq!(b.blocks.last().unwrap().dst_nodes, dedup_keep_order(seeds));
        for (l, block) in b.blocks.iter().enumerate() {
            assert_eq!(&block.src_nodes[..block.dst_nodes.len()], &block.dst_nodes[..]);
            assert_eq!(block.indptr.len(), block.dst_nodes.len() + 1);
            let unique: std::collections::HashSet<_> = block.src_nodes.iter().collect();
            assert_eq!(unique.len(), block.src_nodes.len(), "src nodes are distinct");
            if l + 1 < b.blocks.len() {
                assert_eq!(block.dst_nodes, b.blocks[l + 1].src_nodes, "blocks chain");
            }
            for (i, &v) in block.dst_nodes.iter().enumerate() {
                let (row, _) = csr.row(v as usize);
                let got: Vec<u32> = block.indices[block.indptr[i]..block.indptr[i + 1]]
                    .iter()
                    .map(|&u| block.src_nodes[u as usize])
                    .collect();
                for u in &got {
                    assert!(row.contains(u), "{u} is not a neighbour of {v}");
                }
                if replace {
                    let want = if row.is_empty() { 0 } else { fanouts[l] };
                    assert_eq!(got.len(), want);
                } else {
                    assert_eq!(got.len(), row.len().min(fanouts[l]));
                    // distinct positions: no entry taken more often than the row has it
                    for u in &got {
                        let taken = got.iter().filter(|&x| x == u).count();
                        assert!(taken <= row.iter().filter(|&x| x == u).count());
                    }
                }
            }
        }
    }

    proptest! {
        #[test]
        fn sampled_neighbours_are_neighbours_within_fanout(
            n in 1usize..40,
            pairs in prop::collection::vec((0u32..40, 0u32..40), 0..120),
            seeds in prop::collection::vec(0u32..40, 1..10),
            fanouts in prop::collection::vec(1usize..5, 1..4),
            replace in any::<bool>(),
            seed in any::<u64>(),
        ) {
            let csr = graph(n, &pairs);
            let seeds: Vec<u32> = seeds.iter().map(|s| s % n as u32).collect();
            let s = NeighborSampler::new(csr.clone(), fanouts.clone(), replace, seed).unwrap();
            let b = s.sample(&seeds, 3).unwrap();
            check_batch(&csr, &fanouts, replace, &seeds, &b);
        }

        #[test]
        fn deterministic_for_a_seed_on_any_thread_count(
            pairs in prop::collection::vec((0u32..60, 0u32..60), 1..300),
            seeds in prop::collection::vec(0u32..60, 1..20),
            replace in any::<bool>(),
            seed in any::<u64>(),
        ) {
            let csr = graph(60, &pairs);
            let s = NeighborSampler::new(csr, vec![3, 2], replace, seed).unwrap();
            let one = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
            let four = rayon::ThreadPoolBuilder::new().num_threads(4).build().unwrap();
            let a = one.install(|| s.sample(&seeds, 9).unwrap());
            let b = four.install(|| s.sample(&seeds, 9).unwrap());
            prop_assert_eq!(a, b);
        }
    }

    #[test]
    fn full_fanout_takes_every_neighbour_and_keys_change_samples() {
        let pairs: Vec<(u32, u32)> = (1..50).map(|i| (0, i)).collect();
        let csr = graph(50, &pairs);
        let all = NeighborSampler::new(csr.clone(), vec![ALL], false, 1).unwrap();
        assert_eq!(all.sample(&[0], 0).unwrap().num_edges(), 49);
        let s = NeighborSampler::new(csr, vec![5], false, 1).unwrap();
        let a = s.sample(&[0], 0).unwrap();
        assert_eq!(a, s.sample(&[0], 0).unwrap());
        assert_ne!(a, s.sample(&[0], 1).unwrap(), "another batch key, another sample");
    }

    #[test]
    fn gcn_edges_match_full_normalisation_when_nothing_is_dropped() {
        // A path 0 - 1 - 2 with fan-out ALL: the weights are D^-1/2 (A + I) D^-1/2.
        let csr = graph(3, &[(0, 1), (1, 2)]);
        let s = NeighborSampler::new(csr.clone(), vec![ALL], false, 0).unwrap();
        let b = s.sample(&[1], 0).unwrap();
        let (src, dst, w) = b.blocks[0].gcn_edges(&csr);
        assert_eq!(dst, vec![0, 0, 0]);
        let by_src: HashMap<u32, f32> = src
            .iter()
            .map(|&u| b.blocks[0].src_nodes[u as usize])
            .zip(w)
            .collect();
        assert!((by_src[&1] - 1.0 / 3.0).abs() < 1e-6);
        assert!((by_src[&0] - 1.0 / (2.0f32 * 3.0).sqrt()).abs() < 1e-6);
        assert!((by_src[&2] - 1.0 / (2.0f32 * 3.0).sqrt()).abs() < 1e-6);
    }

    #[test]
    fn bad_input_is_refused() {
        let csr = graph(4, &[(0, 1)]);
        assert!(NeighborSampler::new(csr.clone(), vec![], false, 0).is_err());
        assert!(NeighborSampler::new(csr.clone(), vec![2, 0], false, 0).is_err());
        assert!(NeighborSampler::new(csr.clone(), vec![ALL], true, 0).is_err());
        let s = NeighborSampler::new(csr, vec![2], false, 0).unwrap();
        let err = s.sample(&[4], 0).unwrap_err().to_string();
        assert!(err.contains("seed node 4 is outside 0..4"), "{err}");
        assert!(PrefetchLoader::new(s, vec![0], 0, None, 0, 1).is_err());
    }

    #[test]
    fn loader_yields_every_node_once_in_the_sampler_s_batches() {
        let pairs: Vec<(u32, u32)> = (0..100).map(|i| (i, (i * 7 + 3) % 100)).collect();
        let csr = graph(100, &pairs);
        let s = NeighborSampler::new(csr, vec![4, 4], false, 5).unwrap();
        let nodes: Vec<u32> = (0..100).collect();
        let loader = PrefetchLoader::new(s.clone(), nodes.clone(), 32, Some(11), 2, 2).unwrap();
        let batches: Vec<MiniBatch> = loader.map(Result::unwrap).collect();
        assert_eq!(batches.len(), 4);
        let mut seen: Vec<u32> = batches.iter().flat_map(|b| b.seeds.clone()).collect();
        assert_ne!(seen, nodes, "shuffled");
        seen.sort_unstable();
        assert_eq!(seen, nodes);
        for (i, b) in batches.iter().enumerate() {
            assert_eq!(*b, s.sample(&b.seeds, (2 << 32) | i as u64).unwrap());
        }
        // Dropping a loader mid-epoch stops its thread.
        let mut early = PrefetchLoader::new(s, nodes, 1, None, 0, 1).unwrap();
        assert!(early.next().is_some());
        drop(early);
    }
}
