//! Graph operators over time, and the ways the cells apply them (diffusion,
//! Chebyshev, GCN, or none), on graph-models' polynomial filters.
//!
//! A model never sees an edge list: it is given *supports*, `N x N` operators
//! (dense or sparse tensors) that `graph-data` computes from a graph: the GCN
//! normalisation for T-GCN, the scaled Laplacian for Chebyshev convolutions,
//! the forward and backward random-walk transition matrices for DCRNN.

use crate::error::{check_shape, in_layer, HybridError, InputError, Result};
use graph_data::csr::Csr;
use graph_data::norm::LaplacianNorm;
use graph_models::polynomial::{
    chebyshev_basis, chebyshev_filter_acc, linear_acc, power_basis, power_filter,
};
use graph_models::{spmm, spmm_acc};
use tch::Tensor;

/// The graph operator a model expects as its supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SupportKind {
    /// `[P_f^T, P_b^T]`: DCRNN's forward and backward random walks
    /// `P_f = D_out^-1 A`, `P_b = D_in^-1 A^T`, applied as in its reference code.
    Transitions,
    /// `[L~]`: the scaled symmetric Laplacian `L - I` (`lambda_max = 2`, as PyG's `ChebConv`).
    ScaledLaplacian,
    /// `[Â]`: `D^-1/2 (A + I) D^-1/2` (PyG's `gcn_norm`).
    GcnNormalised,
}

impl SupportKind {
    /// The supports of this kind for the graph `adj` (graph-data's orientation:
    /// entry `(i, j)` is the edge `i -> j`), dense or sparse, on the CPU.
    ///
    /// Messages flow along edges, `out[j] = sum_i m_ij x[i]`, so each support
    /// is the transpose of graph-data's matrix.
    pub fn supports(self, adj: &Csr, dense: bool) -> Result<Vec<Tensor>> {
        let mats = match self {
            SupportKind::Transitions => {
                let (fwd, bwd) = adj.diffusion_matrices();
                vec![fwd, bwd]
            }
            SupportKind::ScaledLaplacian => vec![adj
                .scaled_laplacian(LaplacianNorm::Sym, Some(2.0))
                .map_err(|e| HybridError::Graph(e.to_string()))?],
            SupportKind::GcnNormalised => vec![adj.gcn_normalized(true, false)],
        };
        Ok(mats
            .iter()
            .map(|m| {
                let t = m.transpose().to_sparse_coo_tensor();
                if dense {
                    t.to_dense(None, false)
                } else {
                    t
                }
            })
            .collect())
    }
}

/// The supports for a whole sequence: the same at every step, or one set per
/// step (a dynamic graph over a fixed node set).
#[derive(Debug)]
pub enum Supports {
    /// One set of supports used at every step.
    Static(Vec<Tensor>),
    /// `supports[t]` is used at step `t`; there must be one set per step.
    PerStep(Vec<Vec<Tensor>>),
}

impl Supports {
    /// The supports at step `t`.
    pub fn at(&self, t: usize) -> &[Tensor] {
        match self {
            Supports::Static(s) => s,
            Supports::PerStep(s) => &s[t],
        }
    }

    /// Moves every support to `device`.
    pub fn to_device(&self, device: tch::Device) -> Supports {
        let move_all = |s: &Vec<Tensor>| s.iter().map(|a| a.to_device(device)).collect();
        match self {
            Supports::Static(s) => Supports::Static(move_all(s)),
            Supports::PerStep(s) => Supports::PerStep(s.iter().map(move_all).collect()),
        }
    }

    /// Checks that the graph covers `steps` steps over `nodes` nodes with the
    /// `supports` supports per step that a layer with operator `op` was built for.
    pub(crate) fn check(&self, op: GraphOp, supports: usize, steps: usize, nodes: i64) -> Result<()> {
        let sets: &[Vec<Tensor>] = match self {
            Supports::Static(s) => std::slice::from_ref(s),
            Supports::PerStep(s) => {
                if s.len() != steps {
                    return Err(HybridError::Graph(format!(
                        "{} per-step support sets for a sequence of {steps} steps",
                        s.len()
                    )));
                }
                s
            }
        };
        for (t, set) in sets.iter().enumerate() {
            op.check_count(set.len(), supports)?;
            for (i, a) in set.iter().enumerate() {
                let size = a.size();
                if size != [nodes, nodes] {
                    return Err(HybridError::Graph(format!(
                        "support {i} (set {t}) has shape {size:?}, the input has {nodes} nodes"
                    )));
                }
            }
        }
        Ok(())
    }
}

/// Checks that `x` is `(B, T, N, F=in_features)` with `B, T, N >= 1` (and
/// `N = nodes` when the layer is built for a node count), and that `graph`
/// fits it with `supports` supports per step; returns `(B, T, N)`.
pub(crate) fn check_sequence(
    layer: &'static str,
    x: &Tensor,
    in_features: i64,
    nodes: Option<i64>,
    (op, supports): (GraphOp, usize),
    graph: &Supports,
) -> Result<(i64, i64, i64)> {
    let n_words = nodes.map_or("N".to_owned(), |n| format!("N={n}"));
    let s = check_shape(
        layer,
        "x",
        x,
        &[None, None, nodes, Some(in_features)],
        &format!("[B, T, {n_words}, F={in_features}]"),
    )?;
    if s[..3].contains(&0) {
        let expected = format!("[B >= 1, T >= 1, {n_words} >= 1, F={in_features}]");
        return Err(InputError::shape(layer, "x", expected, s).into());
    }
    graph
        .check(op, supports, s[1] as usize, s[2])
        .map_err(|e| in_layer(layer, e))?;
    Ok((s[0], s[1], s[2]))
}

/// `acc + x W^T` for a node-major `x` `(N, B, in)` and `w` `(out, in)`, as one
/// matrix product over the `N * B` rows (`acc` `None`: `x W^T`, plus `bias`).
pub(crate) fn node_linear(acc: Option<&Tensor>, x: &Tensor, w: &Tensor, bias: Option<&Tensor>) -> Tensor {
    let size = x.size();
    let rows = x.reshape([-1, size[2]]);
    // train-utils' kernel for many rows by a small weight, `addmm` otherwise.
    let acc = acc.map(|a| a.reshape([-1, w.size()[0]]));
    let out = train_utils::small_linear::linear(acc.as_ref(), &rows, w, bias);
    out.reshape([size[0], size[1], -1])
}

/// The graph operator of a layer: how its input `X` (node-major `(N, B, F)`)
/// becomes graph features `(N, B, terms * F)` before a linear map (the filter
/// weights). The recurrences are graph-models' ([`graph_models::polynomial`]),
/// and so is the one sparse product they use ([`graph_models::spmm`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GraphOp {
    /// DCRNN's diffusion convolution (Li et al. 2018): `[X, P X, P^2 X, ...,
    /// P^(K-1) X]` for each support `P` (forward and backward transition
    /// matrices), the `P^0 = I` term shared. `K = 1` uses no graph at all (as
    /// in PyG Temporal's Chickenpox recipe).
    Diffusion {
        /// Number of diffusion terms per direction, counting `X` itself (`K >= 1`).
        k: i64,
    },
    /// Chebyshev polynomials of the scaled Laplacian `L~` (Defferrard et al.
    /// 2016, as in PyG's `ChebConv`): `[T_0 X, ..., T_(K-1) X]`, `T_0 X = X`,
    /// `T_1 X = L~ X`, `T_k X = 2 L~ T_(k-1) X - T_(k-2) X`.
    Chebyshev {
        /// Polynomial order, `K >= 1`.
        k: i64,
    },
    /// One GCN propagation `Â X` with the normalised adjacency `Â`
    /// (Kipf and Welling 2017).
    Gcn,
    /// No graph: `X` itself, with no supports. A graph-recurrent cell with it
    /// is seq-models' recurrent cell run on every node.
    Identity,
}

impl GraphOp {
    /// Number of feature blocks the operator produces with `supports` supports.
    pub fn terms(self, supports: usize) -> i64 {
        match self {
            GraphOp::Diffusion { k } => 1 + supports as i64 * (k - 1),
            GraphOp::Chebyshev { k } => k,
            GraphOp::Gcn | GraphOp::Identity => 1,
        }
    }

    pub(crate) fn check_k(self) -> Result<()> {
        match self {
            GraphOp::Diffusion { k } | GraphOp::Chebyshev { k } if k < 1 => Err(HybridError::Config(
                format!("filter size K must be at least 1, got {k}"),
            )),
            _ => Ok(()),
        }
    }

    /// The number of supports a layer is built for must be one the operator
    /// can use.
    pub(crate) fn check_supports(self, supports: usize) -> Result<()> {
        let ok = match self {
            GraphOp::Diffusion { .. } => supports >= 1,
            GraphOp::Chebyshev { .. } | GraphOp::Gcn => supports == 1,
            GraphOp::Identity => supports == 0,
        };
        if ok {
            Ok(())
        } else {
            Err(HybridError::Config(format!(
                "{self:?} cannot be built for {supports} supports"
            )))
        }
    }

    /// A layer's filter weights are sized for the number of supports it was
    /// built with (`terms`), so exactly that many must come at every step.
    fn check_count(self, count: usize, built_for: usize) -> Result<()> {
        let expected = match self {
            GraphOp::Diffusion { .. } => built_for,
            GraphOp::Chebyshev { .. } | GraphOp::Gcn => 1,
            GraphOp::Identity => 0,
        };
        if count == expected {
            Ok(())
        } else {
            let want = match self {
                GraphOp::Diffusion { .. } => {
                    format!("{expected} supports (the transition matrices it was built for)")
                }
                GraphOp::Chebyshev { .. } => "one support (the scaled Laplacian)".into(),
                GraphOp::Gcn => "one support (the GCN-normalised adjacency)".into(),
                GraphOp::Identity => "no supports (it has no graph)".into(),
            };
            Err(HybridError::Graph(format!("{self:?} needs {want}, got {count}")))
        }
    }

    /// The graph features of a batch-major `x` (`(B, N, F)` to
    /// `(B, N, terms * F)`), blocks in the order documented on each variant
    /// (diffusion: support by support).
    pub fn basis(self, x: &Tensor, supports: &[Tensor]) -> Tensor {
        self.basis_node_major(&x.transpose(0, 1), supports)
            .transpose(0, 1)
    }

    /// The graph features of a node-major `x` `(N, B, F)`: `(N, B, terms * F)`,
    /// blocks in the order of [`GraphOp::basis`].
    pub fn basis_node_major(self, x: &Tensor, supports: &[Tensor]) -> Tensor {
        match self {
            GraphOp::Identity | GraphOp::Diffusion { k: 1 } | GraphOp::Chebyshev { k: 1 } => {
                x.shallow_clone()
            }
            GraphOp::Gcn => spmm(&supports[0], x),
            GraphOp::Diffusion { k } => {
                let mut blocks = vec![x.shallow_clone()];
                for p in supports {
                    blocks.extend(
                        power_basis(&|t: &Tensor| spmm(p, t), x, k as usize)
                            .into_iter()
                            .skip(1),
                    );
                }
                Tensor::cat(&blocks, -1)
            }
            GraphOp::Chebyshev { k } => {
                let lap = |t: &Tensor| spmm(&supports[0], t);
                Tensor::cat(&chebyshev_basis(&lap, x, k as usize), -1)
            }
        }
    }

    /// The graph filter `sum_k B_k(X) W_k + b` of a node-major `x` `(N, B,
    /// in)`, where `B_k` are the blocks of [`GraphOp::basis`] and `W_k` the
    /// matching column blocks of `weight` `(out, terms * in)` (an
    /// `nn::Linear` weight over the basis): `(N, B, out)`.
    ///
    /// Equal to `basis(x) W^T + b`, computed the cheap way by graph-models'
    /// [`chebyshev_filter`] and [`power_filter`]: when `out <= in` the
    /// operators act on the products `X W_k` instead of `X`, so no basis block
    /// is kept for the backward pass.
    pub fn filter(self, x: &Tensor, supports: &[Tensor], weight: &Tensor, bias: Option<&Tensor>) -> Tensor {
        self.filter_acc(None, x, supports, weight, bias)
    }

    /// `acc + filter(x)`: [`GraphOp::filter`] with an accumulator `(N, B,
    /// out)` (or `None`). The accumulator and the bias are added inside the
    /// filter's own products (the sparse product's rows start from `acc`,
    /// the bias enters a weight product), so a gate's input term costs no
    /// pass of its own over the output; a GCN filter adds its bias after the
    /// sparse product, as its equation does.
    pub fn filter_acc(
        self,
        acc: Option<&Tensor>,
        x: &Tensor,
        supports: &[Tensor],
        weight: &Tensor,
        bias: Option<&Tensor>,
    ) -> Tensor {
        let width = x.size()[2];
        let block = |k: i64| weight.narrow(1, k * width, width);
        match self {
            GraphOp::Identity | GraphOp::Diffusion { k: 1 } | GraphOp::Chebyshev { k: 1 } => {
                node_linear(acc, x, weight, bias)
            }
            GraphOp::Gcn if weight.size()[0] > width => {
                node_linear(acc, &spmm(&supports[0], x), weight, bias)
            }
            GraphOp::Gcn => {
                let out = spmm_acc(acc, &supports[0], &linear_acc(None, x, weight));
                match bias {
                    Some(b) => out + b,
                    None => out,
                }
            }
            GraphOp::Chebyshev { k } => {
                let weights: Vec<Tensor> = (0..k).map(block).collect();
                let lap = |a: Option<&Tensor>, t: &Tensor| spmm_acc(a, &supports[0], t);
                chebyshev_filter_acc(&lap, acc, x, &weights, bias)
            }
            GraphOp::Diffusion { k } => {
                // X W_0 + sum_s P_s (X W_s1 + P_s (X W_s2 + ...)).
                let mut sum = node_linear(acc, x, &block(0), bias);
                for (s, p) in supports.iter().enumerate() {
                    let first = 1 + s as i64 * (k - 1);
                    let weights: Vec<Tensor> = (first..first + k - 1).map(block).collect();
                    sum = spmm_acc(
                        Some(&sum),
                        p,
                        &power_filter(&|t: &Tensor| spmm(p, t), x, &weights),
                    );
                }
                sum
            }
        }
    }

    /// The graph features of a whole sequence `x` of shape `(B, T, N, F)`,
    /// giving `(B, T, N, terms * F)`. With a static graph all steps go through
    /// the operator at once.
    pub fn basis_seq(self, x: &Tensor, graph: &Supports) -> Tensor {
        let size = x.size();
        let (b, t, n, f) = (size[0], size[1], size[2], size[3]);
        match graph {
            Supports::Static(s) => {
                let node_major = x.permute([2, 0, 1, 3]).reshape([n, b * t, f]);
                let out = self.basis_node_major(&node_major, s);
                out.reshape([n, b, t, -1]).permute([1, 2, 0, 3])
            }
            Supports::PerStep(_) => {
                let steps: Vec<Tensor> = (0..t)
                    .map(|i| self.basis(&x.select(1, i), graph.at(i as usize)))
                    .collect();
                Tensor::stack(&steps, 1)
            }
        }
    }
}
