//! Message passing, the seed's update `h_v' = update(h_v, aggregate({message(h_v,
//! h_u, e_uv) : u in N(v)}))`, over the graph's COO edges with autograd. Every
//! built-in layer ([`GcnConv`](crate::GcnConv), [`GatConv`](crate::GatConv),
//! [`GatV2Conv`](crate::GatV2Conv), [`TransformerConv`](crate::TransformerConv),
//! [`SageConv`](crate::SageConv), [`GinConv`](crate::GinConv),
//! [`ChebConv`](crate::ChebConv), [`Appnp`](crate::Appnp),
//! [`Gcn2Conv`](crate::Gcn2Conv)) is a [`MessagePassing`] implementation.
//!
//! A layer implements [`MessagePassing`]: its [`message`](MessagePassing::message)
//! (required), and where it needs them [`aggr`](MessagePassing::aggr) or
//! [`aggregate`](MessagePassing::aggregate),
//! [`message_and_aggregate`](MessagePassing::message_and_aggregate) (a fused
//! path that skips the per-edge tensors) and [`update`](MessagePassing::update);
//! then it calls [`propagate`](MessagePassing::propagate) (or the fallible
//! [`f_propagate`](MessagePassing::f_propagate), or
//! [`f_propagate_edges`](MessagePassing::f_propagate_edges) over an [`Edges`]
//! it built: other edges, self loops, edge attributes, the training flag).
//! When a layer declares its message linear (`w_uv * x_j`) and its aggregator a
//! sum or mean, the default `message_and_aggregate` runs one sparse-dense
//! product with the graph's cached operator instead of the per-edge tensors.
//!
//! # Your own layer in 20 lines
//!
//! A GCN layer, `X' = D^-1/2 (A + I) D^-1/2 X W^T`, from the public API alone:
//! the normalised edges of [`Graph::gcn_norm`] as edge weights, the message
//! `w_uv * x_j` ([`weighted_x_j`]), summed. It equals [`GcnConv`](crate::GcnConv)
//! without bias.
//!
//! ```
//! use graph_models::{check_x, lin_weight, linear, weighted_x_j, Edges, Graph, MessagePassing, Result};
//! use tch::{nn, Device, Kind, Tensor};
//!
//! struct MyGcn { weight: Tensor, in_channels: i64 }
//!
//! impl MyGcn {
//!     fn new(p: &nn::Path, in_channels: i64, out_channels: i64) -> Self {
//!         // `lin.weight`, glorot-initialised, as PyG's GCNConv names it.
//!         MyGcn { weight: lin_weight(p, "lin", in_channels, out_channels), in_channels }
//!     }
//!     fn forward(&self, x: &Tensor, graph: &Graph) -> Result<Tensor> {
//!         check_x("MyGcn", x, graph, self.in_channels, self.weight.kind())?;
//!         let (edge_index, norm) = graph.gcn_norm(false, true);
//!         let h = linear(x, &self.weight);
//!         let edges = Edges::new(&h, graph).with_edge_index(&edge_index, Some(&norm));
//!         self.f_propagate_edges(&edges)
//!     }
//! }
//!
//! impl MessagePassing for MyGcn {
//!     fn message(&self, edges: &Edges) -> Tensor { weighted_x_j(edges) } // aggr: sum
//! }
//!
//! let vs = nn::VarStore::new(Device::Cpu);
//! let layer = MyGcn::new(&vs.root(), 4, 2);
//! let graph = Graph::new(&Tensor::from_slice2(&[[0i64, 1, 2], [1, 2, 0]]), 3).unwrap();
//! let out = layer.forward(&Tensor::ones([3, 4], (Kind::Float, Device::Cpu)), &graph).unwrap();
//! assert_eq!(out.size(), [3, 2]);
//! assert!(layer.forward(&Tensor::ones([3, 5], (Kind::Float, Device::Cpu)), &graph).is_err());
//! ```

use tch::{Kind, Tensor};

use crate::error::{GnnError, InputError, Result};
use crate::graph::Graph;
use crate::layer::is_sparse;
use train_utils::sparse::sparse_addmm;

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
    spmm_acc(None, adj, x)
}

/// `acc + adj @ x` ([`spmm`] plus an accumulator of the output's shape, or
/// `None`). On a constant sparse operator the accumulator is added in the
/// product's own pass ([`train_utils::sparse::sparse_addmm`]): a graph
/// filter's terms are summed without a pass of their own over the output.
pub fn spmm_acc(acc: Option<&Tensor>, adj: &Tensor, x: &Tensor) -> Tensor {
    let adj = if adj.kind() == x.kind() {
        adj.shallow_clone()
    } else {
        adj.to_kind(x.kind())
    };
    let size = x.size();
    let mut out = size.clone();
    out[0] = adj.size()[0];
    // Explicit widths: `-1` is ambiguous for an empty graph.
    let width: i64 = size[1..].iter().product();
    let flat = x.reshape([size[0], width]);
    let acc = acc.map(|a| a.reshape([out[0], width]));
    let product = if is_sparse(&adj) && !adj.requires_grad() && adj.device() == x.device() {
        sparse_addmm(acc.as_ref(), &adj, &flat)
    } else {
        match &acc {
            Some(a) => a.addmm(&adj, &flat),
            None => adj.mm(&flat),
        }
    };
    if size.len() == 2 {
        product
    } else {
        product.reshape(out.as_slice())
    }
}

/// The edges a message is computed on, with the endpoint features gathered only
/// when asked for.
///
/// [`Edges::new`] takes the graph's own edges and weights; the builder methods
/// replace them ([`with_edge_index`](Edges::with_edge_index),
/// [`with_self_loops`](Edges::with_self_loops)), attach per-edge attributes
/// ([`with_edge_attr`](Edges::with_edge_attr)) or say whether the layer is
/// training ([`with_train`](Edges::with_train): dropout on attention, say).
#[derive(Debug)]
pub struct Edges<'a> {
    /// Node features `[N, ...]` (what senders send: `x_j`).
    pub x: &'a Tensor,
    /// Receiver-side features `[N, ...]`, when a layer has a second set
    /// (PyG's `x = (x_src, x_dst)`: GATv2's `W_r x`, a transformer's queries);
    /// `None`: receivers read `x`.
    pub x_dst: Option<&'a Tensor>,
    /// Source of each edge (`j`, the sender), `[E]`.
    pub src: Tensor,
    /// Target of each edge (`i`, the receiver, where messages are aggregated), `[E]`.
    pub dst: Tensor,
    /// Per-edge weights `[E]`, if any.
    pub weight: Option<&'a Tensor>,
    /// Per-edge attributes `[E, ...]` (row `e` belongs to edge `e`), if any.
    pub edge_attr: Option<&'a Tensor>,
    /// The graph the edges come from (its node count, device and cached operators).
    pub graph: &'a Graph,
    /// True while training (layers switch dropout on).
    pub train: bool,
    /// `src` / `dst` / `weight` are the graph's own, so its cached operators apply.
    own: bool,
    /// The edges are the graph's with one self loop per node (`with_self_loops`).
    self_loops: bool,
}

impl<'a> Edges<'a> {
    /// The edges of `graph` (and its edge weights) carrying node features `x`.
    pub fn new(x: &'a Tensor, graph: &'a Graph) -> Self {
        Edges {
            x,
            x_dst: None,
            src: graph.src(),
            dst: graph.dst(),
            weight: graph.edge_weight(),
            edge_attr: None,
            graph,
            train: false,
            own: true,
            self_loops: false,
        }
    }

    /// Other edges over the same nodes: `edge_index` `[2, E']` (row 0 source,
    /// row 1 target, int64, ids in `0..num_nodes`, checked by
    /// [`MessagePassing::f_propagate_edges`]) with optional weights `[E']`.
    /// Edge attributes given before are dropped (they belonged to the old edges).
    pub fn with_edge_index(mut self, edge_index: &Tensor, weight: Option<&'a Tensor>) -> Self {
        self.src = edge_index.get(0);
        self.dst = edge_index.get(1);
        self.weight = weight;
        self.edge_attr = None;
        self.own = false;
        self.self_loops = false;
        self
    }

    /// The graph's edges with self loops replaced by one per node (as GAT
    /// attends; cached on the graph). Edge weights and attributes are dropped.
    pub fn with_self_loops(self) -> Self {
        let ei = self.graph.self_loop_edge_index();
        let mut edges = self.with_edge_index(&ei, None);
        edges.self_loops = true;
        edges
    }

    /// Receiver-side features `[N, ...]`: [`Edges::x_i`] reads them instead of `x`.
    pub fn with_x_dst(mut self, x_dst: &'a Tensor) -> Self {
        self.x_dst = Some(x_dst);
        self
    }

    /// Attaches per-edge attributes `[E, ...]`, one row per edge of this set.
    pub fn with_edge_attr(mut self, edge_attr: &'a Tensor) -> Self {
        self.edge_attr = Some(edge_attr);
        self
    }

    /// Sets the training flag read by layers with dropout.
    pub fn with_train(mut self, train: bool) -> Self {
        self.train = train;
        self
    }

    /// True when the edges are the graph's own (no [`with_edge_index`](Edges::with_edge_index)
    /// or [`with_self_loops`](Edges::with_self_loops)): the graph's cached
    /// sparse operators ([`Graph::adjacency`], [`Graph::gcn_adjacency`]) then
    /// describe them.
    pub fn is_graph_edges(&self) -> bool {
        self.own
    }

    /// True when the edges are [`with_self_loops`](Edges::with_self_loops)'s:
    /// every node has exactly one edge to itself.
    pub fn has_self_loops(&self) -> bool {
        self.self_loops
    }

    /// Number of nodes (of the graph).
    pub fn num_nodes(&self) -> i64 {
        self.graph.num_nodes()
    }

    /// Number of edges in this set.
    pub fn num_edges(&self) -> i64 {
        self.src.size()[0]
    }

    /// Edge ids `0..E` of this set, int64 on the graph's device: row `e` of
    /// every per-edge tensor (`weight`, `edge_attr`, messages) is edge `e`.
    pub fn ids(&self) -> Tensor {
        Tensor::arange(self.num_edges(), (Kind::Int64, self.src.device()))
    }

    /// Sender features `x_j`, `[E, ...]`.
    pub fn x_j(&self) -> Tensor {
        self.x.index_select(0, &self.src)
    }

    /// Receiver features `x_i`, `[E, ...]` (from `x_dst` when given, else `x`).
    pub fn x_i(&self) -> Tensor {
        self.x_dst.unwrap_or(self.x).index_select(0, &self.dst)
    }

    /// Rows of any node-level tensor `[N, ...]` at the senders, `[E, ...]`.
    pub fn gather_j(&self, node_values: &Tensor) -> Tensor {
        node_values.index_select(0, &self.src)
    }

    /// Rows of any node-level tensor `[N, ...]` at the receivers, `[E, ...]`.
    pub fn gather_i(&self, node_values: &Tensor) -> Tensor {
        node_values.index_select(0, &self.dst)
    }

    /// The edge attributes, or [`InputError`] naming `layer` when the edges
    /// carry none (a layer that needs them, as GINE does).
    pub fn require_edge_attr(&self, layer: &str) -> Result<&Tensor> {
        self.edge_attr.ok_or_else(|| {
            InputError::shape(layer, "edge_attr", "[num_edges, ...] (none given)", vec![]).into()
        })
    }

    /// The edge weights as `kind`, or ones, `[E]`.
    pub fn weight_or_ones(&self, kind: Kind) -> Tensor {
        match self.weight {
            Some(w) => w.to_kind(kind),
            None => Tensor::ones([self.num_edges()], (kind, self.src.device())),
        }
    }

    /// Per-edge `values` `[E, ...]` scaled by the edge weights (unchanged
    /// without weights).
    pub fn weighted(&self, values: Tensor) -> Tensor {
        match self.weight {
            Some(w) => {
                let mut shape = vec![1; values.dim()];
                shape[0] = -1;
                let w = w.to_kind(values.kind()).reshape(shape.as_slice());
                values * w
            }
            None => values,
        }
    }

    /// Sums per-edge `messages` `[E, ...]` at their targets, `[N, ...]`.
    pub fn sum(&self, messages: &Tensor) -> Tensor {
        aggregate_unchecked(messages, &self.dst, self.num_nodes(), Aggr::Sum)
    }

    /// [`segment_softmax`] of per-edge `scores` `[E, ...]` over the edges that
    /// share a target.
    pub fn softmax(&self, scores: &Tensor) -> Tensor {
        segment_softmax_unchecked(scores, &self.dst, self.num_nodes())
    }

    /// Checks the edges against `x` and the graph: `x` `[N, ...]` on the
    /// graph's device, ids in range (only for edges not the graph's own),
    /// weights `[E]` and attributes `[E, ...]`.
    fn check(&self, layer: &str) -> Result<()> {
        let n = self.graph.num_nodes();
        let size = self.x.size();
        if size.is_empty() || size[0] != n {
            let expected = format!("[num_nodes={n}, ...]");
            return Err(InputError::shape(layer, "x", expected, size).into());
        }
        let device = self.graph.device();
        if self.x.device() != device {
            InputError::check_kind_device(layer, "x", self.x, self.x.kind(), device)?;
        }
        if let Some(xd) = self.x_dst {
            if xd.dim() < 1 || xd.size()[0] != n {
                let expected = format!("[num_nodes={n}, ...]");
                return Err(InputError::shape(layer, "x_dst", expected, xd.size()).into());
            }
            if xd.device() != device {
                InputError::check_kind_device(layer, "x_dst", xd, xd.kind(), device)?;
            }
        }
        let e = self.num_edges();
        // The graph's own edges and its cached self-loop set were checked when built.
        if !self.own && !self.self_loops {
            if self.src.dim() != 1 || self.dst.size() != self.src.size() {
                let expected = "[2, num_edges]".to_string();
                let got = vec![2, self.src.size().first().copied().unwrap_or(0)];
                return Err(InputError::shape(layer, "edge_index", expected, got).into());
            }
            InputError::check_kind_device(layer, "edge_index", &self.src, Kind::Int64, device)?;
            if e > 0 {
                for ids in [&self.src, &self.dst] {
                    let (lo, hi) = (ids.min().int64_value(&[]), ids.max().int64_value(&[]));
                    if lo < 0 || hi >= n {
                        let v = if lo < 0 { lo } else { hi };
                        let expected = format!("node ids in 0..{n}");
                        return Err(InputError::range(layer, "edge_index", expected, v).into());
                    }
                }
            }
            if let Some(w) = self.weight {
                if w.size() != [e] {
                    return Err(InputError::shape(layer, "edge_weight", format!("[{e}]"), w.size()).into());
                }
            }
        }
        if let Some(a) = self.edge_attr {
            if a.dim() < 1 || a.size()[0] != e {
                let expected = format!("[num_edges={e}, ...]");
                return Err(InputError::shape(layer, "edge_attr", expected, a.size()).into());
            }
            if a.device() != device {
                InputError::check_kind_device(layer, "edge_attr", a, a.kind(), device)?;
            }
        }
        Ok(())
    }
}

/// A message-passing layer: implement [`message`](MessagePassing::message),
/// optionally [`aggr`](MessagePassing::aggr) /
/// [`aggregate`](MessagePassing::aggregate),
/// [`linear_message`](MessagePassing::linear_message) or
/// [`message_and_aggregate`](MessagePassing::message_and_aggregate), and
/// [`update`](MessagePassing::update); then call
/// [`propagate`](MessagePassing::propagate).
///
/// [`f_propagate_edges`](MessagePassing::f_propagate_edges) runs, in order:
/// the input checks, `message_and_aggregate` (if it returns a tensor, the
/// per-edge path is skipped), else `message` then `aggregate`; then `update`.
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
/// // The fallible twin names what does not fit.
/// let err = MaxPlusSelf.f_propagate(&Tensor::ones([2, 1], (tch::Kind::Float, tch::Device::Cpu)), &graph);
/// assert!(err.unwrap_err().to_string().contains("expects x of shape [num_nodes=3, ...], got [2, 1]"));
/// ```
pub trait MessagePassing {
    /// How [`aggregate`](MessagePassing::aggregate) combines messages at the
    /// target (default: sum).
    fn aggr(&self) -> Aggr {
        Aggr::Sum
    }

    /// The name errors report (default: `MessagePassing`).
    fn name(&self) -> &str {
        "MessagePassing"
    }

    /// The message each edge sends, `[E, ...]` (row `e` for edge `e` of `edges`).
    fn message(&self, edges: &Edges) -> Tensor;

    /// Combines the messages `[E, ...]` at their targets into `[N, ...]`
    /// (default: [`aggregate`] with [`aggr`](MessagePassing::aggr); nodes
    /// without incoming edges get zeros).
    fn aggregate(&self, messages: &Tensor, edges: &Edges) -> Tensor {
        aggregate_unchecked(messages, &edges.dst, edges.num_nodes(), self.aggr())
    }

    /// True when `message` is `w_uv * x_j` with `w_uv` the edge weight (1 when
    /// absent): the default [`message_and_aggregate`](MessagePassing::message_and_aggregate)
    /// then uses a fused sparse-dense product for sum and mean, with the same result.
    fn linear_message(&self) -> bool {
        false
    }

    /// The fused path: the aggregated messages `[N, ...]` computed without the
    /// per-edge tensors, or `None` to run `message` and `aggregate`.
    ///
    /// Default: for a [`linear_message`](MessagePassing::linear_message) with a
    /// sum or mean aggregator over the graph's own edges, the product with the
    /// graph's cached sparse adjacency ([`Graph::adjacency`]); otherwise `None`.
    /// A layer whose message is another linear operator (GCN's normalised
    /// adjacency, ChebNet's Laplacian, an attention matrix) overrides it.
    fn message_and_aggregate(&self, edges: &Edges) -> Option<Tensor> {
        let aggr = self.aggr();
        (self.linear_message() && edges.is_graph_edges() && matches!(aggr, Aggr::Sum | Aggr::Mean))
            .then(|| spmm(&edges.graph.adjacency(aggr == Aggr::Mean), edges.x))
    }

    /// Combines the aggregated messages with the node's own features (default:
    /// the aggregate alone).
    fn update(&self, aggregated: Tensor, _x: &Tensor) -> Tensor {
        aggregated
    }

    /// Runs message, aggregate and update over every edge of `graph`; panics
    /// with [`f_propagate`](MessagePassing::f_propagate)'s message on bad input.
    fn propagate(&self, x: &Tensor, graph: &Graph) -> Tensor {
        self.f_propagate(x, graph).unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`propagate`](MessagePassing::propagate), or [`InputError`] when `x` is
    /// not `[num_nodes, ...]` on the graph's device, or when `message` returns
    /// other than one row per edge.
    fn f_propagate(&self, x: &Tensor, graph: &Graph) -> Result<Tensor> {
        self.f_propagate_edges(&Edges::new(x, graph))
    }

    /// [`propagate`](MessagePassing::propagate) over the edges (and edge
    /// attributes, training flag) of `edges`; panics on bad input.
    fn propagate_edges(&self, edges: &Edges) -> Tensor {
        self.f_propagate_edges(edges).unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`propagate_edges`](MessagePassing::propagate_edges), checking first
    /// `x` (`[num_nodes, ...]` on the graph's device), edges given by
    /// [`Edges::with_edge_index`] (int64, ids in range), weights `[E]` and
    /// attributes `[E, ...]`, and afterwards that `message` gave `[E, ...]`.
    fn f_propagate_edges(&self, edges: &Edges) -> Result<Tensor> {
        edges.check(self.name())?;
        let aggregated = match self.message_and_aggregate(edges) {
            Some(out) => out,
            None => {
                let messages = self.message(edges);
                let e = edges.num_edges();
                if messages.dim() < 1 || messages.size()[0] != e {
                    let expected = format!("[num_edges={e}, ...] (from message)");
                    return Err(InputError::shape(self.name(), "messages", expected, messages.size()).into());
                }
                self.aggregate(&messages, edges)
            }
        };
        Ok(self.update(aggregated, edges.x))
    }
}

/// Weighted messages `w_uv * x_j` for layers whose message is linear.
pub fn weighted_x_j(edges: &Edges) -> Tensor {
    edges.weighted(edges.x_j())
}
