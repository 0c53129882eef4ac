//! A validated graph on a device: `edge_index` (PyG convention, row 0 = source,
//! row 1 = target), optional edge weights, and the sparse operators layers derive
//! from it (GCN normalisation, scaled Laplacian), built once and cached so that a
//! 64-layer network normalises its adjacency one time.

use std::cell::RefCell;

use tch::{Device, Kind, Tensor};

use crate::error::{dims, GnnError, InputError, Result};

/// Which derived operator a cache entry holds.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Derived {
    /// `D^-1/2 (A + fill I) D^-1/2` as a sparse matrix; `fill` 0 means no self loops.
    Gcn { fill: f64, self_loops: bool },
    /// Sparse adjacency with the raw edge weights.
    Sum,
    /// Sparse adjacency with rows divided by in-degree.
    Mean,
    /// `2 L / lambda_max - I` with the symmetric Laplacian `L`.
    ChebLaplacian { lambda_max: f64 },
    /// Edge index with self loops replaced by one per node.
    SelfLoops,
}

/// A graph ready for message passing.
///
/// ```
/// use graph_models::Graph;
/// use tch::Tensor;
/// // A directed triangle 0 -> 1 -> 2 -> 0.
/// let edge_index = Tensor::from_slice2(&[[0i64, 1, 2], [1, 2, 0]]);
/// let graph = Graph::new(&edge_index, 3).unwrap();
/// assert_eq!(graph.num_edges(), 3);
/// assert!(Graph::new(&edge_index, 2).is_err()); // node 2 is out of range
/// ```
#[derive(Debug)]
pub struct Graph {
    edge_index: Tensor,
    edge_weight: Option<Tensor>,
    num_nodes: i64,
    cache: RefCell<Vec<(Derived, Tensor)>>,
}

impl Graph {
    /// Checks `edge_index` (`[2, E]`, int64, ids in `0..num_nodes`) and wraps it.
    pub fn new(edge_index: &Tensor, num_nodes: i64) -> Result<Self> {
        Self::build(edge_index, None, num_nodes)
    }

    /// As [`Graph::new`], with one finite weight per edge.
    pub fn with_weights(edge_index: &Tensor, edge_weight: &Tensor, num_nodes: i64) -> Result<Self> {
        Self::build(edge_index, Some(edge_weight), num_nodes)
    }

    fn build(edge_index: &Tensor, edge_weight: Option<&Tensor>, num_nodes: i64) -> Result<Self> {
        let size = edge_index.size();
        if size.len() != 2 || size[0] != 2 {
            return Err(GnnError::Graph(format!(
                "edge_index must have shape [2, num_edges], got {size:?}"
            )));
        }
        if edge_index.kind() != Kind::Int64 {
            return Err(GnnError::Graph(format!(
                "edge_index must be int64, got {:?}",
                edge_index.kind()
            )));
        }
        if num_nodes < 0 {
            return Err(GnnError::Graph(format!(
                "num_nodes must be >= 0, got {num_nodes}"
            )));
        }
        let num_edges = size[1];
        if num_edges > 0 {
            let lo = edge_index.min().int64_value(&[]);
            let hi = edge_index.max().int64_value(&[]);
            if lo < 0 || hi >= num_nodes {
                return Err(GnnError::Graph(format!(
                    "edge_index names node ids in {lo}..={hi}, outside 0..{num_nodes}"
                )));
            }
        }
        if let Some(w) = edge_weight {
            if w.size() != [num_edges] {
                return Err(GnnError::Graph(format!(
                    "edge_weight must have shape [{num_edges}], got {}",
                    dims(w)
                )));
            }
            if !w.is_floating_point() || w.device() != edge_index.device() {
                return Err(GnnError::Graph(format!(
                    "edge_weight must be floating point on {:?}, got {:?} on {:?}",
                    edge_index.device(),
                    w.kind(),
                    w.device()
                )));
            }
            if num_edges > 0 && w.isfinite().all().int64_value(&[]) == 0 {
                return Err(GnnError::Graph(
                    "edge_weight holds a NaN or infinite value".into(),
                ));
            }
        }
        Ok(Graph {
            edge_index: edge_index.shallow_clone(),
            edge_weight: edge_weight.map(Tensor::shallow_clone),
            num_nodes,
            cache: RefCell::new(Vec::new()),
        })
    }

    /// A graph from an edge index the caller has checked already (shape, kind,
    /// ids in `0..num_nodes`), without the checks' passes over it.
    pub(crate) fn new_unchecked(edge_index: &Tensor, num_nodes: i64) -> Graph {
        Graph {
            edge_index: edge_index.shallow_clone(),
            edge_weight: None,
            num_nodes,
            cache: RefCell::new(Vec::new()),
        }
    }

    /// The `[2, E]` edge index (row 0 source, row 1 target).
    pub fn edge_index(&self) -> &Tensor {
        &self.edge_index
    }

    /// Source node of each edge.
    pub fn src(&self) -> Tensor {
        self.edge_index.get(0)
    }

    /// Target node of each edge (where messages are aggregated).
    pub fn dst(&self) -> Tensor {
        self.edge_index.get(1)
    }

    /// Edge weights, if any.
    pub fn edge_weight(&self) -> Option<&Tensor> {
        self.edge_weight.as_ref()
    }

    /// Number of nodes.
    pub fn num_nodes(&self) -> i64 {
        self.num_nodes
    }

    /// Number of edges.
    pub fn num_edges(&self) -> i64 {
        self.edge_index.size()[1]
    }

    /// Device of the edge index.
    pub fn device(&self) -> Device {
        self.edge_index.device()
    }

    /// The same graph on another device (caches are rebuilt there on demand).
    pub fn to_device(&self, device: Device) -> Graph {
        Graph {
            edge_index: self.edge_index.to_device(device),
            edge_weight: self.edge_weight.as_ref().map(|w| w.to_device(device)),
            num_nodes: self.num_nodes,
            cache: RefCell::new(Vec::new()),
        }
    }

    /// The graph with self loops removed and one self loop (weight 1) added per
    /// node, as GAT does.
    pub fn with_self_loops(&self) -> Graph {
        let keep = self.src().ne_tensor(&self.dst()).nonzero().squeeze_dim(1);
        let loops = Tensor::arange(self.num_nodes, (Kind::Int64, self.device()));
        let edge_index = Tensor::cat(
            &[
                self.edge_index.index_select(1, &keep),
                loops.unsqueeze(0).repeat([2, 1]),
            ],
            1,
        );
        let edge_weight = self.edge_weight.as_ref().map(|w| {
            Tensor::cat(
                &[
                    w.index_select(0, &keep),
                    Tensor::ones([self.num_nodes], (w.kind(), w.device())),
                ],
                0,
            )
        });
        Graph {
            edge_index,
            edge_weight,
            num_nodes: self.num_nodes,
            cache: RefCell::new(Vec::new()),
        }
    }

    /// The edge index of [`Graph::with_self_loops`], built once per graph.
    pub fn self_loop_edge_index(&self) -> Tensor {
        self.cached(Derived::SelfLoops, || self.with_self_loops().edge_index)
    }

    /// Edge weights, or ones.
    pub fn weights_or_ones(&self, kind: Kind) -> Tensor {
        match &self.edge_weight {
            Some(w) => w.to_kind(kind),
            None => Tensor::ones([self.num_edges()], (kind, self.device())),
        }
    }

    /// In-degree of each node (number of edges pointing at it), as `kind`.
    pub fn in_degree(&self, kind: Kind) -> Tensor {
        let ones = Tensor::ones([self.num_edges()], (kind, self.device()));
        Tensor::zeros([self.num_nodes], (kind, self.device())).index_add(0, &self.dst(), &ones)
    }

    /// GCN's normalised edges, as PyG's `gcn_norm`: self loops of weight `fill`
    /// are added where missing (`fill` 1, or 2 when `improved`), then
    /// `w_uv / sqrt(deg_u deg_v)` with degrees taken at targets.
    /// Returns the edge index and the normalised weights.
    pub fn gcn_norm(&self, improved: bool, add_self_loops: bool) -> (Tensor, Tensor) {
        let kind = Kind::Float;
        let (mut ei, mut w) = (self.edge_index.shallow_clone(), self.weights_or_ones(kind));
        if add_self_loops {
            // add_remaining_self_loops: keep existing loops' weights, add fill elsewhere.
            let fill = if improved { 2.0 } else { 1.0 };
            let (src, dst) = (self.src(), self.dst());
            let is_loop = src.eq_tensor(&dst);
            let mut loop_w = Tensor::full([self.num_nodes], fill, (kind, self.device()));
            let loop_ids = is_loop.nonzero().squeeze_dim(1);
            if loop_ids.size()[0] > 0 {
                let _ = loop_w.index_put_(
                    &[Some(src.index_select(0, &loop_ids))],
                    &w.index_select(0, &loop_ids),
                    false,
                );
            }
            let keep = is_loop.logical_not().nonzero().squeeze_dim(1);
            let loops = Tensor::arange(self.num_nodes, (Kind::Int64, self.device()));
            ei = Tensor::cat(&[ei.index_select(1, &keep), loops.unsqueeze(0).repeat([2, 1])], 1);
            w = Tensor::cat(&[w.index_select(0, &keep), loop_w], 0);
        }
        let (src, dst) = (ei.get(0), ei.get(1));
        let deg = Tensor::zeros([self.num_nodes], (kind, self.device())).index_add(0, &dst, &w);
        let dis = deg.pow_tensor_scalar(-0.5).masked_fill(&deg.eq(0.0), 0.0);
        let norm = dis.index_select(0, &src) * &w * dis.index_select(0, &dst);
        (ei, norm)
    }

    fn cached(&self, key: Derived, build: impl FnOnce() -> Tensor) -> Tensor {
        if let Some((_, t)) = self.cache.borrow().iter().find(|(k, _)| *k == key) {
            return t.shallow_clone();
        }
        let t = build();
        self.cache.borrow_mut().push((key, t.shallow_clone()));
        t
    }

    /// The GCN operator `D^-1/2 (A + I) D^-1/2` (or `A + 2I` when `improved`) as a
    /// sparse `[N, N]` matrix with `out = adj @ x`; built once per graph.
    pub fn gcn_adjacency(&self, improved: bool, add_self_loops: bool) -> Tensor {
        let fill = if improved { 2.0 } else { 1.0 };
        self.cached(
            Derived::Gcn {
                fill,
                self_loops: add_self_loops,
            },
            || {
                let (ei, w) = self.gcn_norm(improved, add_self_loops);
                sparse_operator(&ei, &w, self.num_nodes)
            },
        )
    }

    /// The sparse adjacency `A[v, u] = w_uv`, so that `A @ x` sums messages; with
    /// `mean`, each row is divided by the node's in-degree.
    pub fn adjacency(&self, mean: bool) -> Tensor {
        let key = if mean { Derived::Mean } else { Derived::Sum };
        self.cached(key, || {
            let w = self.weights_or_ones(Kind::Float);
            // Not `/=`: that divides in place, and `w` may alias the graph's own weights.
            let w = if mean {
                w / self
                    .in_degree(Kind::Float)
                    .clamp_min(1.0)
                    .index_select(0, &self.dst())
            } else {
                w
            };
            sparse_operator(&self.edge_index, &w, self.num_nodes)
        })
    }

    /// ChebNet's scaled Laplacian `2 L / lambda_max - I`, with `L = I - D^-1/2 A
    /// D^-1/2` (self loops dropped first, degrees at sources), as PyG's `ChebConv`
    /// with `normalization="sym"`.
    pub fn cheb_laplacian(&self, lambda_max: f64) -> Tensor {
        self.cached(Derived::ChebLaplacian { lambda_max }, || {
            let keep = self.src().ne_tensor(&self.dst()).nonzero().squeeze_dim(1);
            let ei = self.edge_index.index_select(1, &keep);
            let w = self.weights_or_ones(Kind::Float).index_select(0, &keep);
            let (src, dst) = (ei.get(0), ei.get(1));
            let deg = Tensor::zeros([self.num_nodes], (Kind::Float, self.device())).index_add(0, &src, &w);
            let dis = deg.pow_tensor_scalar(-0.5).masked_fill(&deg.eq(0.0), 0.0);
            let off = -(dis.index_select(0, &src) * &w * dis.index_select(0, &dst)) * (2.0 / lambda_max);
            let loops = Tensor::arange(self.num_nodes, (Kind::Int64, self.device()));
            let diag = Tensor::full(
                [self.num_nodes],
                2.0 / lambda_max - 1.0,
                (Kind::Float, self.device()),
            );
            let ei = Tensor::cat(&[ei, loops.unsqueeze(0).repeat([2, 1])], 1);
            sparse_operator(&ei, &Tensor::cat(&[off, diag], 0), self.num_nodes)
        })
    }
}

/// The sparse `[N, N]` matrix `M[dst, src] = w`, so `M @ x` sends `w * x[src]`
/// to `dst`. Stored as coalesced COO: on CPU its product with a thin dense
/// matrix, backward included, measured faster than CSR here.
pub fn sparse_operator(edge_index: &Tensor, weight: &Tensor, num_nodes: i64) -> Tensor {
    let rows_cols = Tensor::stack(&[edge_index.get(1), edge_index.get(0)], 0);
    Tensor::sparse_coo_tensor_indices_size(
        &rows_cols,
        weight,
        [num_nodes, num_nodes],
        (weight.kind(), weight.device()),
        false,
    )
    .coalesce()
}

/// Checks that `x` is `[num_nodes, ..., in_channels]` (dense of rank >= 2, or a
/// sparse matrix), floating point of the layer's parameter `kind`, on the
/// graph's device; `layer` names the caller in the message.
///
/// ```
/// use graph_models::{check_x, Graph};
/// use tch::{Device, Kind, Tensor};
/// let graph = Graph::new(&Tensor::from_slice2(&[[0i64], [1]]), 2).unwrap();
/// let x = Tensor::ones([2, 3], (Kind::Float, Device::Cpu));
/// assert!(check_x("MyLayer", &x, &graph, 3, Kind::Float).is_ok());
/// let err = check_x("MyLayer", &x, &graph, 4, Kind::Float).unwrap_err();
/// assert_eq!(err.to_string(), "MyLayer expects x of shape [num_nodes=2, 4], got [2, 3]");
/// ```
pub fn check_x(layer: &str, x: &Tensor, graph: &Graph, in_channels: i64, kind: Kind) -> Result<()> {
    let size = x.size();
    if size.len() < 2 || size[0] != graph.num_nodes() || size[size.len() - 1] != in_channels {
        let expected = format!("[num_nodes={}, {in_channels}]", graph.num_nodes());
        return Err(InputError::shape(layer, "x", expected, size).into());
    }
    // The parameters' kind (always floating point) and the graph's device.
    InputError::check_kind_device(layer, "x", x, kind, graph.device())?;
    Ok(())
}
