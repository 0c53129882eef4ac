//! Many small graphs as one: [`GraphSample`] (one graph), [`GraphBatch`]
//! (PyG's `Batch`: the graphs as one block-diagonal graph) and
//! [`GraphLoader`] (seeded, shuffling, prefetching batches).
//!
//! A batch of graphs `G_0 .. G_{B-1}` with `n_i` nodes and `m_i` edges has
//! `N = sum n_i` nodes and `E = sum m_i` edges:
//!
//! - `src`, `dst` (`E`): the edges, graph `i`'s node ids offset by
//!   `ptr[i] = n_0 + .. + n_{i-1}`, in graph order;
//! - `batch` (`N`): the graph of each node;
//! - `ptr` (`B + 1`) and `edge_ptr` (`B + 1`): where each graph's nodes and
//!   edges start;
//! - `x` (`N x F`), `edge_attr` (`E x F_e`): the features, concatenated;
//! - `y` (`B`): graph labels; `node_y` (`N`, or empty): node labels.
//!
//! Large batches are built in parallel (rayon): every graph writes its own
//! disjoint part of each output array.
//!
//! ```
//! use graph_data::batch::{GraphBatch, GraphSample};
//! let a = GraphSample::new(2, vec![0, 1], vec![1, 0]).unwrap();
//! let b = GraphSample::new(3, vec![2], vec![0]).unwrap();
//! let batch = GraphBatch::from_graphs(&[a.clone(), b.clone()]).unwrap();
//! assert_eq!(batch.src, vec![0, 1, 4]);
//! assert_eq!(batch.dst, vec![1, 0, 2]);
//! assert_eq!(batch.batch, vec![0, 0, 1, 1, 1]);
//! assert_eq!(batch.ptr, vec![0, 2, 5]);
//! assert_eq!(batch.split(), vec![a, b]);
//! ```

use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::Arc;

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use crate::error::{DataError, Result};

/// One graph of a graph-level data set.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct GraphSample {
    /// Number of nodes.
    pub num_nodes: usize,
    /// Edge sources, local ids in `0..num_nodes`.
    pub src: Vec<i64>,
    /// Edge targets, local ids in `0..num_nodes`.
    pub dst: Vec<i64>,
    /// Node features, row-major `num_nodes x num_node_features`.
    pub x: Vec<f32>,
    /// Width of `x`.
    pub num_node_features: usize,
    /// Edge features, row-major `num_edges x num_edge_features` (empty when 0).
    pub edge_attr: Vec<f32>,
    /// Width of `edge_attr`.
    pub num_edge_features: usize,
    /// Graph label.
    pub y: i64,
    /// Node labels (`num_nodes`), or empty.
    pub node_y: Vec<i64>,
}

impl GraphSample {
    /// A graph with edges and no features (`y = 0`); checked.
    pub fn new(num_nodes: usize, src: Vec<i64>, dst: Vec<i64>) -> Result<Self> {
        let g = GraphSample {
            num_nodes,
            src,
            dst,
            ..Default::default()
        };
        g.check()?;
        Ok(g)
    }

    /// Number of (directed) edges.
    pub fn num_edges(&self) -> usize {
        self.src.len()
    }

    /// Checks lengths and node ids.
    pub fn check(&self) -> Result<()> {
        let bad = |m: String| Err(DataError::Invalid(m));
        if self.src.len() != self.dst.len() {
            return bad(format!(
                "graph has {} edge sources but {} targets",
                self.src.len(),
                self.dst.len()
            ));
        }
        if let Some(&v) = self
            .src
            .iter()
            .chain(&self.dst)
            .find(|&&v| v < 0 || v as usize >= self.num_nodes)
        {
            return bad(format!("edge endpoint {v} out of range 0..{}", self.num_nodes));
        }
        if self.x.len() != self.num_nodes * self.num_node_features {
            return bad(format!(
                "x has {} values, expected {} nodes x {} features",
                self.x.len(),
                self.num_nodes,
                self.num_node_features
            ));
        }
        if self.edge_attr.len() != self.num_edges() * self.num_edge_features {
            return bad(format!(
                "edge_attr has {} values, expected {} edges x {} features",
                self.edge_attr.len(),
                self.num_edges(),
                self.num_edge_features
            ));
        }
        if !self.node_y.is_empty() && self.node_y.len() != self.num_nodes {
            return bad(format!(
                "node_y has {} labels for {} nodes",
                self.node_y.len(),
                self.num_nodes
            ));
        }
        Ok(())
    }
}

/// Many graphs as one block-diagonal graph (see the module doc).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct GraphBatch {
    /// Number of graphs `B`.
    pub num_graphs: usize,
    /// Number of nodes `N`.
    pub num_nodes: usize,
    /// Edge sources, batch-global ids.
    pub src: Vec<i64>,
    /// Edge targets, batch-global ids.
    pub dst: Vec<i64>,
    /// Graph of each node (`N`).
    pub batch: Vec<i64>,
    /// First node of each graph, and `N` (`B + 1`).
    pub ptr: Vec<i64>,
    /// First edge of each graph, and `E` (`B + 1`).
    pub edge_ptr: Vec<i64>,
    /// Node features, `N x num_node_features`.
    pub x: Vec<f32>,
    /// Width of `x`.
    pub num_node_features: usize,
    /// Edge features, `E x num_edge_features`.
    pub edge_attr: Vec<f32>,
    /// Width of `edge_attr`.
    pub num_edge_features: usize,
    /// Graph labels (`B`).
    pub y: Vec<i64>,
    /// Node labels (`N`), or empty when the graphs have none.
    pub node_y: Vec<i64>,
}

/// Below this many nodes + edges a batch is built on one thread: rayon's
/// start-up costs more than it saves.
const PARALLEL_FROM: usize = 1 << 16;

/// Splits `out` into consecutive parts of the given lengths.
fn parts<T>(mut out: &mut [T], lens: impl Iterator<Item = usize>) -> Vec<&mut [T]> {
    let mut v = Vec::new();
    for l in lens {
        let (a, b) = out.split_at_mut(l);
        v.push(a);
        out = b;
    }
    v
}

/// Fills `out`, cut into one part per graph, in parallel.
fn fill<T: Send, G: Sync>(
    out: &mut [T],
    graphs: &[&G],
    lens: impl Iterator<Item = usize>,
    f: impl Fn(usize, &G, &mut [T]) + Sync,
) {
    fill_maybe_par(out, graphs, lens, true, f)
}

/// Fills `out`, cut into one part per graph, in parallel or not.
fn fill_maybe_par<T: Send, G: Sync>(
    out: &mut [T],
    graphs: &[&G],
    lens: impl Iterator<Item = usize>,
    parallel: bool,
    f: impl Fn(usize, &G, &mut [T]) + Sync,
) {
    let chunks = parts(out, lens);
    if parallel {
        chunks
            .into_par_iter()
            .enumerate()
            .for_each(|(i, c)| f(i, graphs[i], c));
    } else {
        chunks
            .into_iter()
            .enumerate()
            .for_each(|(i, c)| f(i, graphs[i], c));
    }
}

/// Offsets and widths of a batch, after checking every graph and that they agree.
struct Layout {
    ptr: Vec<i64>,
    edge_ptr: Vec<i64>,
    n: usize,
    e: usize,
    nf: usize,
    ef: usize,
    has_node_y: bool,
}

impl Layout {
    fn of(graphs: &[&GraphSample]) -> Result<Layout> {
        let (nf, ef) = match graphs.first() {
            Some(g) => (g.num_node_features, g.num_edge_features),
            None => (0, 0),
        };
        let has_node_y = graphs.iter().any(|g| !g.node_y.is_empty());
        let mut ptr = Vec::with_capacity(graphs.len() + 1);
        let mut edge_ptr = Vec::with_capacity(graphs.len() + 1);
        let (mut n, mut e) = (0usize, 0usize);
        for (i, g) in graphs.iter().enumerate() {
            g.check()
                .map_err(|err| DataError::Invalid(format!("graph {i} of the batch: {err}")))?;
            if g.num_node_features != nf || g.num_edge_features != ef {
                return Err(DataError::Invalid(format!(
                    "graph {i} of the batch has {} node features and {} edge features; graph 0 has {nf} and {ef}",
                    g.num_node_features, g.num_edge_features,
                )));
            }
            if has_node_y && g.node_y.len() != g.num_nodes {
                return Err(DataError::Invalid(format!(
                    "graph {i} of the batch has no node labels; other graphs have them"
                )));
            }
            ptr.push(n as i64);
            edge_ptr.push(e as i64);
            n += g.num_nodes;
            e += g.num_edges();
        }
        ptr.push(n as i64);
        edge_ptr.push(e as i64);
        Ok(Layout {
            ptr,
            edge_ptr,
            n,
            e,
            nf,
            ef,
            has_node_y,
        })
    }
}

impl GraphBatch {
    /// Joins graphs into one batch; they must agree on feature widths and on
    /// having node labels.
    pub fn from_graphs(graphs: &[GraphSample]) -> Result<Self> {
        let refs: Vec<&GraphSample> = graphs.iter().collect();
        Self::from_refs(&refs)
    }

    /// [`GraphBatch::from_graphs`] over references (a loader's selection).
    pub fn from_refs(graphs: &[&GraphSample]) -> Result<Self> {
        let Layout {
            ptr,
            edge_ptr,
            n,
            e,
            nf,
            ef,
            has_node_y,
        } = Layout::of(graphs)?;
        let par = n + e >= PARALLEL_FROM;
        let nodes = || graphs.iter().map(|g| g.num_nodes);
        let edges = || graphs.iter().map(|g| g.num_edges());

        let (src, dst, batch, x, edge_attr, node_y) = if par {
            let mut src = vec![0i64; e];
            let mut dst = vec![0i64; e];
            let mut batch = vec![0i64; n];
            let mut x = vec![0f32; n * nf];
            let mut edge_attr = vec![0f32; e * ef];
            let mut node_y = vec![0i64; if has_node_y { n } else { 0 }];
            let ptr_ref = &ptr;
            fill(&mut src, graphs, edges(), |i, g, out| {
                let off = ptr_ref[i];
                out.iter_mut().zip(&g.src).for_each(|(o, s)| *o = s + off);
            });
            fill(&mut dst, graphs, edges(), |i, g, out| {
                let off = ptr_ref[i];
                out.iter_mut().zip(&g.dst).for_each(|(o, s)| *o = s + off);
            });
            fill(&mut batch, graphs, nodes(), |i, _, out| out.fill(i as i64));
            fill(&mut x, graphs, nodes().map(|k| k * nf), |_, g, out| {
                out.copy_from_slice(&g.x)
            });
            fill(&mut edge_attr, graphs, edges().map(|k| k * ef), |_, g, out| {
                out.copy_from_slice(&g.edge_attr)
            });
            if has_node_y {
                fill(&mut node_y, graphs, nodes(), |_, g, out| {
                    out.copy_from_slice(&g.node_y)
                });
            }
            (src, dst, batch, x, edge_attr, node_y)
        } else {
            // One pass per array, appending: no zeroing first.
            let mut src = Vec::with_capacity(e);
            let mut dst = Vec::with_capacity(e);
            let mut batch = Vec::with_capacity(n);
            let mut x = Vec::with_capacity(n * nf);
            let mut edge_attr = Vec::with_capacity(e * ef);
            let mut node_y = Vec::with_capacity(if has_node_y { n } else { 0 });
            for (i, g) in graphs.iter().enumerate() {
                let off = ptr[i];
                src.extend(g.src.iter().map(|s| s + off));
                dst.extend(g.dst.iter().map(|s| s + off));
                batch.resize(batch.len() + g.num_nodes, i as i64);
                x.extend_from_slice(&g.x);
                edge_attr.extend_from_slice(&g.edge_attr);
                if has_node_y {
                    node_y.extend_from_slice(&g.node_y);
                }
            }
            (src, dst, batch, x, edge_attr, node_y)
        };
        Ok(GraphBatch {
            num_graphs: graphs.len(),
            num_nodes: n,
            src,
            dst,
            batch,
            ptr,
            edge_ptr,
            x,
            num_node_features: nf,
            edge_attr,
            num_edge_features: ef,
            y: graphs.iter().map(|g| g.y).collect(),
            node_y,
        })
    }

    /// Number of edges `E`.
    pub fn num_edges(&self) -> usize {
        self.src.len()
    }

    /// Graph `i` of the batch, as it went in.
    pub fn graph(&self, i: usize) -> GraphSample {
        let (lo, hi) = (self.ptr[i] as usize, self.ptr[i + 1] as usize);
        let (elo, ehi) = (self.edge_ptr[i] as usize, self.edge_ptr[i + 1] as usize);
        let off = lo as i64;
        GraphSample {
            num_nodes: hi - lo,
            src: self.src[elo..ehi].iter().map(|v| v - off).collect(),
            dst: self.dst[elo..ehi].iter().map(|v| v - off).collect(),
            x: self.x[lo * self.num_node_features..hi * self.num_node_features].to_vec(),
            num_node_features: self.num_node_features,
            edge_attr: self.edge_attr[elo * self.num_edge_features..ehi * self.num_edge_features].to_vec(),
            num_edge_features: self.num_edge_features,
            y: self.y[i],
            node_y: if self.node_y.is_empty() {
                Vec::new()
            } else {
                self.node_y[lo..hi].to_vec()
            },
        }
    }

    /// The graphs of the batch, as they went in (PyG's `to_data_list`).
    pub fn split(&self) -> Vec<GraphSample> {
        (0..self.num_graphs).map(|i| self.graph(i)).collect()
    }

    /// Converts to tensors on the CPU (feature `tch`).
    #[cfg(feature = "tch")]
    pub fn to_tensors(&self) -> BatchTensors {
        use tch::Tensor;
        let ids: Vec<i64> = self.src.iter().chain(&self.dst).copied().collect();
        let e = self.num_edges() as i64;
        BatchTensors {
            x: Tensor::from_slice(&self.x).view([self.num_nodes as i64, self.num_node_features as i64]),
            edge_index: Tensor::from_slice(&ids).view([2, e]),
            edge_attr: (self.num_edge_features > 0)
                .then(|| Tensor::from_slice(&self.edge_attr).view([e, self.num_edge_features as i64])),
            batch: Tensor::from_slice(&self.batch),
            ptr: Tensor::from_slice(&self.ptr),
            y: Tensor::from_slice(&self.y),
            node_y: (!self.node_y.is_empty()).then(|| Tensor::from_slice(&self.node_y)),
            num_graphs: self.num_graphs as i64,
        }
    }
}

/// A [`GraphBatch`] as tensors (PyG's `Batch` fields).
#[cfg(feature = "tch")]
#[derive(Debug)]
pub struct BatchTensors {
    /// Node features, `(N, F)` float.
    pub x: tch::Tensor,
    /// `(2, E)` int64, sources in row 0.
    pub edge_index: tch::Tensor,
    /// Edge features `(E, F_e)`, when the graphs have them.
    pub edge_attr: Option<tch::Tensor>,
    /// Graph of each node, `(N,)` int64.
    pub batch: tch::Tensor,
    /// `(B + 1,)` int64.
    pub ptr: tch::Tensor,
    /// Graph labels `(B,)` int64.
    pub y: tch::Tensor,
    /// Node labels `(N,)`, when the graphs have them.
    pub node_y: Option<tch::Tensor>,
    /// `B`.
    pub num_graphs: i64,
}

/// A fresh CPU tensor of `shape` (`len` elements of `T`), written by `f`
/// before anyone else sees it.
#[cfg(feature = "tch")]
fn written<T: tch::kind::Element>(shape: &[i64], len: usize, f: impl FnOnce(&mut [T])) -> tch::Tensor {
    let t = tch::Tensor::empty(shape, (T::KIND, tch::Device::Cpu));
    if len > 0 {
        // SAFETY: `t` was just allocated by libtorch as a contiguous CPU tensor of
        // `len` elements of kind `T::KIND`, and no other handle to it exists yet;
        // `f` overwrites every element (the parts cover `0..len`).
        let data = unsafe { std::slice::from_raw_parts_mut(t.data_ptr() as *mut T, len) };
        f(data);
    }
    t
}

#[cfg(feature = "tch")]
impl BatchTensors {
    /// Collates graphs straight into tensors, each value copied once (what
    /// [`GraphBatch::from_refs`] then [`GraphBatch::to_tensors`] give, without
    /// the intermediate vectors); the same checks.
    pub fn from_refs(graphs: &[&GraphSample]) -> Result<Self> {
        let l = Layout::of(graphs)?;
        let (n, e, nf, ef) = (l.n, l.e, l.nf, l.ef);
        let par = n + e >= PARALLEL_FROM;
        let nodes = || graphs.iter().map(|g| g.num_nodes);
        let edges = || graphs.iter().map(|g| g.num_edges());
        let ptr = &l.ptr;
        let edge_index = written::<i64>(&[2, e as i64], 2 * e, |out| {
            let (s, d) = out.split_at_mut(e);
            fill_maybe_par(s, graphs, edges(), par, |i, g, o| {
                o.iter_mut().zip(&g.src).for_each(|(o, v)| *o = v + ptr[i])
            });
            fill_maybe_par(d, graphs, edges(), par, |i, g, o| {
                o.iter_mut().zip(&g.dst).for_each(|(o, v)| *o = v + ptr[i])
            });
        });
        let x = written::<f32>(&[n as i64, nf as i64], n * nf, |out| {
            fill_maybe_par(out, graphs, nodes().map(|k| k * nf), par, |_, g, o| {
                o.copy_from_slice(&g.x)
            })
        });
        let batch = written::<i64>(&[n as i64], n, |out| {
            fill_maybe_par(out, graphs, nodes(), par, |i, _, o| o.fill(i as i64))
        });
        let edge_attr = (ef > 0).then(|| {
            written::<f32>(&[e as i64, ef as i64], e * ef, |out| {
                fill_maybe_par(out, graphs, edges().map(|k| k * ef), par, |_, g, o| {
                    o.copy_from_slice(&g.edge_attr)
                })
            })
        });
        let node_y = l.has_node_y.then(|| {
            written::<i64>(&[n as i64], n, |out| {
                fill_maybe_par(out, graphs, nodes(), par, |_, g, o| o.copy_from_slice(&g.node_y))
            })
        });
        let y: Vec<i64> = graphs.iter().map(|g| g.y).collect();
        Ok(BatchTensors {
            x,
            edge_index,
            edge_attr,
            batch,
            ptr: tch::Tensor::from_slice(&l.ptr),
            y: tch::Tensor::from_slice(&y),
            node_y,
            num_graphs: graphs.len() as i64,
        })
    }

    /// The tensors on `device`.
    pub fn to_device(&self, device: tch::Device) -> BatchTensors {
        BatchTensors {
            x: self.x.to_device(device),
            edge_index: self.edge_index.to_device(device),
            edge_attr: self.edge_attr.as_ref().map(|t| t.to_device(device)),
            batch: self.batch.to_device(device),
            ptr: self.ptr.to_device(device),
            y: self.y.to_device(device),
            node_y: self.node_y.as_ref().map(|t| t.to_device(device)),
            num_graphs: self.num_graphs,
        }
    }
}

/// How a [`GraphLoader`] cuts an epoch into batches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoaderConfig {
    /// Graphs per batch (the last one may be smaller).
    pub batch_size: usize,
    /// Shuffle the graphs every epoch (seeded by `seed` and the epoch).
    pub shuffle: bool,
    /// Drop a last batch smaller than `batch_size`.
    pub drop_last: bool,
    /// Batches built ahead on a background thread (0: built on demand).
    pub prefetch: usize,
    /// Seed of the shuffles.
    pub seed: u64,
}

impl Default for LoaderConfig {
    /// PyG's `DataLoader` defaults (batch 1, no shuffle) would be useless
    /// here; these are the GIN paper's: 32 graphs, shuffled.
    fn default() -> Self {
        LoaderConfig {
            batch_size: 32,
            shuffle: true,
            drop_last: false,
            prefetch: 2,
            seed: 0,
        }
    }
}

/// Batches of a subset of a data set, in a seeded order per epoch.
#[derive(Debug, Clone)]
pub struct GraphLoader {
    graphs: Arc<Vec<GraphSample>>,
    indices: Vec<usize>,
    config: LoaderConfig,
}

impl GraphLoader {
    /// A loader over `graphs[i]` for `i` in `indices`.
    pub fn new(graphs: Arc<Vec<GraphSample>>, indices: Vec<usize>, config: LoaderConfig) -> Result<Self> {
        if config.batch_size == 0 {
            return Err(DataError::Invalid("batch_size must be at least 1".into()));
        }
        if let Some(&i) = indices.iter().find(|&&i| i >= graphs.len()) {
            return Err(DataError::Invalid(format!(
                "loader index {i} out of range 0..{}",
                graphs.len()
            )));
        }
        Ok(GraphLoader {
            graphs,
            indices,
            config,
        })
    }

    /// Number of batches per epoch.
    pub fn num_batches(&self) -> usize {
        let (n, b) = (self.indices.len(), self.config.batch_size);
        if self.config.drop_last {
            n / b
        } else {
            n.div_ceil(b)
        }
    }

    /// The graph indices of each batch of `epoch`, in order.
    pub fn order(&self, epoch: u64) -> Vec<Vec<usize>> {
        let mut idx = self.indices.clone();
        if self.config.shuffle {
            let seed = self.config.seed ^ epoch.wrapping_mul(0x9E37_79B9_7F4A_7C15);
            idx.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
        }
        let mut out: Vec<Vec<usize>> = idx
            .chunks(self.config.batch_size)
            .map(<[usize]>::to_vec)
            .collect();
        if self.config.drop_last && out.last().is_some_and(|b| b.len() < self.config.batch_size) {
            out.pop();
        }
        out
    }

    /// The batches of `epoch`; built ahead on a background thread when
    /// `prefetch > 0`.
    pub fn epoch(&self, epoch: u64) -> Batches<GraphBatch> {
        self.batches(epoch, |graphs, ids| {
            let refs: Vec<&GraphSample> = ids.iter().map(|&i| &graphs[i]).collect();
            GraphBatch::from_refs(&refs)
        })
    }

    /// The batches of `epoch` as tensors, collated straight into them
    /// ([`BatchTensors::from_refs`]); built ahead when `prefetch > 0`.
    #[cfg(feature = "tch")]
    pub fn epoch_tensors(&self, epoch: u64) -> Batches<BatchTensors> {
        self.batches(epoch, |graphs, ids| {
            let refs: Vec<&GraphSample> = ids.iter().map(|&i| &graphs[i]).collect();
            BatchTensors::from_refs(&refs)
        })
    }

    fn batches<T: Send + 'static>(
        &self,
        epoch: u64,
        build: impl Fn(&[GraphSample], &[usize]) -> Result<T> + Send + 'static,
    ) -> Batches<T> {
        let order = self.order(epoch);
        let graphs = Arc::clone(&self.graphs);
        let build = move |ids: &[usize]| build(&graphs, ids);
        if self.config.prefetch == 0 {
            return Batches {
                inner: BatchesInner::Lazy {
                    order: order.into_iter(),
                    build: Box::new(build),
                },
            };
        }
        let (tx, rx) = sync_channel(self.config.prefetch);
        std::thread::spawn(move || {
            for ids in order {
                if tx.send(build(&ids)).is_err() {
                    break;
                }
            }
        });
        Batches {
            inner: BatchesInner::Prefetched(rx),
        }
    }
}

type BuildFn<T> = Box<dyn Fn(&[usize]) -> Result<T> + Send>;

enum BatchesInner<T> {
    Lazy {
        order: std::vec::IntoIter<Vec<usize>>,
        build: BuildFn<T>,
    },
    Prefetched(Receiver<Result<T>>),
}

/// The batches of one epoch ([`GraphLoader::epoch`]).
pub struct Batches<T = GraphBatch> {
    inner: BatchesInner<T>,
}

impl<T> std::fmt::Debug for Batches<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Batches")
    }
}

impl<T> Iterator for Batches<T> {
    type Item = Result<T>;

    fn next(&mut self) -> Option<Self::Item> {
        match &mut self.inner {
            BatchesInner::Lazy { order, build, .. } => order.next().map(|ids| build(&ids)),
            BatchesInner::Prefetched(rx) => rx.recv().ok(),
        }
    }
}
