//! Message passing, the seed's update `h_v' = update(h_v, aggregate({message(h_v,
//! h_u, e_uv) : u in N(v)}))`, over the graph's COO edges with autograd.
//!
//! A layer implements [`MessagePassing`] (its `message` and, if it needs one, its
//! `update`) and calls [`MessagePassing::propagate`]. When a layer declares its
//! message linear (`w_uv * h_u`) and its aggregator a sum or mean, `propagate`
//! skips the per-edge tensors and runs one fused sparse-dense product instead.

use tch::{Kind, Tensor};

use crate::error::{GnnError, InputError, Result};
use crate::graph::Graph;
use crate::layer::is_sparse;
use train_utils::sparse::sparse_mm;

/// How the messages arriving at a node are combined. Nodes without incoming
/// edges get zeros, as in PyG.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Aggr {
    /// Sum of messages.
    Sum,
    /// Mean of messages.
    Mean,
    /// Element-wise maximum.
    Max,
    /// Element-wise minimum.
    Min,
    /// Softmax-attention per feature: `sum_u softmax_u(t * m_u) * m_u`
    /// (PyG's `SoftmaxAggregation`); large `t` tends to max, `t = 0` to mean.
    Softmax {
        /// Inverse temperature.
        t: f64,
    },
}

/// Combines per-edge `messages` (`[E, ...]`) at their target nodes `index`
/// (`[E]`, int64, each in `0..num_nodes`), giving `[num_nodes, ...]`.
///
/// Panics with [`f_aggregate`]'s message on bad input.
pub fn aggregate(messages: &Tensor, index: &Tensor, num_nodes: i64, aggr: Aggr) -> Tensor {
    f_aggregate(messages, index, num_nodes, aggr).unwrap_or_else(|e| panic!("{e}"))
}

/// [`aggregate`], checking first that `index` is a 1-D int64 tensor with one
/// entry per message, on the messages' device, and every entry in
/// `0..num_nodes`.
pub fn f_aggregate(messages: &Tensor, index: &Tensor, num_nodes: i64, aggr: Aggr) -> Result<Tensor> {
    check_index("aggregate", "messages", messages, index, num_nodes)?;
    Ok(aggregate_unchecked(messages, index, num_nodes, aggr))
}

/// [`aggregate`] for callers whose index comes from a checked [`Graph`].
pub(crate) fn aggregate_unchecked(messages: &Tensor, index: &Tensor, num_nodes: i64, aggr: Aggr) -> Tensor {
    let mut shape = messages.size();
    shape[0] = num_nodes;
    let zeros = Tensor::zeros(shape.as_slice(), (messages.kind(), messages.device()));
    match aggr {
        Aggr::Sum => zeros.index_add(0, index, messages),
        Aggr::Mean => {
            let count = Tensor::zeros([num_nodes], (messages.kind(), messages.device())).index_add(
                0,
                index,
                &Tensor::ones([index.size()[0]], (messages.kind(), messages.device())),
            );
            let count = count
                .clamp_min(1.0)
                .reshape(broadcast_shape(num_nodes, shape.len()));
            zeros.index_add(0, index, messages) / count
        }
        Aggr::Max | Aggr::Min => {
            let reduce = if aggr == Aggr::Max { "amax" } else { "amin" };
            let idx = expand_index(index, messages);
            // include_self = false: the zeros only show where no message arrived.
            zeros.internal_scatter_reduce(0, &idx, messages, reduce, false)
        }
        Aggr::Softmax { t } => {
            let alpha = segment_softmax_unchecked(&(messages * t), index, num_nodes);
            zeros.index_add(0, index, &(alpha * messages))
        }
    }
}

/// Softmax of `scores` (`[E, ...]`) over the edges that share a target in
/// `index` (`[E]`, int64, each in `0..num_nodes`), computed stably (the
/// maximum per target is subtracted first).
///
/// Panics with [`f_segment_softmax`]'s message on bad input.
pub fn segment_softmax(scores: &Tensor, index: &Tensor, num_nodes: i64) -> Tensor {
    f_segment_softmax(scores, index, num_nodes).unwrap_or_else(|e| panic!("{e}"))
}

/// [`segment_softmax`], checking `index` as [`f_aggregate`] does.
pub fn f_segment_softmax(scores: &Tensor, index: &Tensor, num_nodes: i64) -> Result<Tensor> {
    check_index("segment_softmax", "scores", scores, index, num_nodes)?;
    Ok(segment_softmax_unchecked(scores, index, num_nodes))
}

/// Checks a target index against per-edge `values` and the node count. The
/// range check reads the index's minimum and maximum (one pass, and a device
/// sync on CUDA), which is why the layers, whose graphs were checked once when
/// built, skip it.
fn check_index(f: &str, what: &str, values: &Tensor, index: &Tensor, num_nodes: i64) -> Result<()> {
    if values.dim() < 1 {
        return Err(InputError::shape(f, what, "[edges, ...]", values.size()).into());
    }
    if num_nodes < 0 {
        return Err(GnnError::Config(format!(
            "{f}: num_nodes must not be negative, got {num_nodes}"
        )));
    }
    let e = values.size()[0];
    if index.dim() != 1 || index.size()[0] != e {
        let expected = format!("[{e}] (one target per row of {what} {:?})", values.size());
        return Err(InputError::shape(f, "index", expected, index.size()).into());
    }
    InputError::check_kind_device(f, "index", index, Kind::Int64, values.device())?;
    if e > 0 {
        let (lo, hi) = (index.min().int64_value(&[]), index.max().int64_value(&[]));
        if lo < 0 || hi >= num_nodes {
            let v = if lo < 0 { lo } else { hi };
            let expected = format!("target ids in 0..{num_nodes}");
            return Err(InputError::range(f, "index", expected, v).into());
        }
    }
    Ok(())
}

/// [`segment_softmax`] for callers whose index comes from a checked [`Graph`].
pub(crate) fn segment_softmax_unchecked(scores: &Tensor, index: &Tensor, num_nodes: i64) -> Tensor {
    let mut shape = scores.size();
    shape[0] = num_nodes;
    let idx = expand_index(index, scores);
    let fill = Tensor::full(
        shape.as_slice(),
        f64::NEG_INFINITY,
        (scores.kind(), scores.device()),
    );
    // The maximum is a constant shift: no gradient needs to flow through it.
    let max = fill.internal_scatter_reduce(0, &idx, &scores.detach(), "amax", false);
    let e = (scores - max.index_select(0, index)).exp();
    let sum = Tensor::zeros(shape.as_slice(), (scores.kind(), scores.device())).index_add(0, index, &e);
    e / (sum.index_select(0, index) + 1e-16)
}

/// `index` (`[E]`) broadcast to the shape of `like` (`[E, ...]`) for scatter.
fn expand_index(index: &Tensor, like: &Tensor) -> Tensor {
    let rank = like.dim();
    index
        .reshape(broadcast_shape(index.size()[0], rank))
        .expand(like.size(), false)
}

fn broadcast_shape(first: i64, rank: usize) -> Vec<i64> {
    let mut s = vec![1; rank];
    s[0] = first;
    s
}

/// Sparse-dense product `adj @ x`, casting the operator to `x`'s kind (f64
/// gradient checks) and flattening trailing dimensions.
///
/// A constant sparse operator goes through [`train_utils::sparse::sparse_mm`]:
/// CSR kernels, and a backward that reuses the transpose built at the first
/// call instead of sorting the nonzeros again at every step.
pub fn spmm(adj: &Tensor, x: &Tensor) -> Tensor {
    let adj = if adj.kind() == x.kind() {
        adj.shallow_clone()
    } else {
        adj.to_kind(x.kind())
    };
    let product = |a: &Tensor, x: &Tensor| {
        if is_sparse(a) && !a.requires_grad() && a.device() == x.device() {
            sparse_mm(a, x)
        } else {
            a.mm(x)
        }
    };
    let size = x.size();
    if size.len() == 2 {
        return product(&adj, x);
    }
    let flat = x.reshape([size[0], -1]);
    let mut out = size.clone();
    out[0] = adj.size()[0];
    product(&adj, &flat).reshape(out.as_slice())
}

/// The edges a message is computed on, with the endpoint features gathered only
/// when asked for.
#[derive(Debug)]
pub struct Edges<'a> {
    /// Node features `[N, ...]`.
    pub x: &'a Tensor,
    /// Source of each edge (`j`, the sender).
    pub src: Tensor,
    /// Target of each edge (`i`, the receiver).
    pub dst: Tensor,
    /// Per-edge weights, if the graph has them.
    pub weight: Option<&'a Tensor>,
}

impl Edges<'_> {
    /// Sender features `x_j`, `[E, ...]`.
    pub fn x_j(&self) -> Tensor {
        self.x.index_select(0, &self.src)
    }

    /// Receiver features `x_i`, `[E, ...]`.
    pub fn x_i(&self) -> Tensor {
        self.x.index_select(0, &self.dst)
    }
}

/// A message-passing layer: implement `message`, optionally `aggr`, `update`
/// and `linear_message`, then call `propagate`.
///
/// ```
/// use graph_models::{Aggr, Edges, Graph, MessagePassing};
/// use tch::Tensor;
///
/// /// Max of neighbour features plus the node's own.
/// struct MaxPlusSelf;
/// impl MessagePassing for MaxPlusSelf {
///     fn aggr(&self) -> Aggr { Aggr::Max }
///     fn message(&self, edges: &Edges) -> Tensor { edges.x_j() }
///     fn update(&self, aggregated: Tensor, x: &Tensor) -> Tensor { aggregated + x }
/// }
///
/// let graph = Graph::new(&Tensor::from_slice2(&[[0i64, 1], [2, 2]]), 3).unwrap();
/// let x = Tensor::from_slice2(&[[1.0f32], [5.0], [0.5]]);
/// let out = MaxPlusSelf.propagate(&x, &graph);
/// assert_eq!(Vec::<f32>::try_from(out.flatten(0, -1)).unwrap(), vec![1.0, 5.0, 5.5]);
/// ```
pub trait MessagePassing {
    /// How messages are combined at the target (default: sum).
    fn aggr(&self) -> Aggr {
        Aggr::Sum
    }

    /// The message each edge sends, `[E, ...]`.
    fn message(&self, edges: &Edges) -> Tensor;

    /// Combines the aggregated messages with the node's own features (default:
    /// the aggregate alone).
    fn update(&self, aggregated: Tensor, _x: &Tensor) -> Tensor {
        aggregated
    }

    /// True when `message` is `w_uv * x_j` with `w_uv` the edge weight (1 when
    /// absent): `propagate` then uses a fused sparse-dense product for sum and
    /// mean, with the same result.
    fn linear_message(&self) -> bool {
        false
    }

    /// Runs message, aggregate and update over every edge of `graph`.
    fn propagate(&self, x: &Tensor, graph: &Graph) -> Tensor {
        let aggr = self.aggr();
        let aggregated = match aggr {
            Aggr::Sum | Aggr::Mean if self.linear_message() => spmm(&graph.adjacency(aggr == Aggr::Mean), x),
            _ => {
                let edges = Edges {
                    x,
                    src: graph.src(),
                    dst: graph.dst(),
                    weight: graph.edge_weight(),
                };
                let messages = self.message(&edges);
                aggregate_unchecked(&messages, &edges.dst, graph.num_nodes(), aggr)
            }
        };
        self.update(aggregated, x)
    }
}

/// Weighted messages `w_uv * x_j` for layers whose message is linear.
pub fn weighted_x_j(edges: &Edges) -> Tensor {
    let x_j = edges.x_j();
    match edges.weight {
        Some(w) => {
            let mut shape = vec![1; x_j.dim()];
            shape[0] = -1;
            x_j * w.to_kind(edges.x.kind()).reshape(shape.as_slice())
        }
        None => x_j,
    }
}
