//! Graph operators over time, and the three ways the cells apply them
//! (diffusion, Chebyshev, GCN).
//!
//! A model never sees an edge list: it is given *supports*, `N x N` operators
//! (dense or sparse tensors) that `graph-data` computes from a graph: the GCN
//! normalisation for T-GCN, the scaled Laplacian for Chebyshev convolutions,
//! the forward and backward random-walk transition matrices for DCRNN.

use crate::error::{check_shape, in_layer, HybridError, InputError, Result};
use graph_data::csr::Csr;
use graph_data::norm::LaplacianNorm;
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

/// Applies the `N x N` operator `a` (dense or sparse) to `x` of shape
/// `(B, N, F)`: `out[b] = a @ x[b]`.
pub fn propagate(a: &Tensor, x: &Tensor) -> Tensor {
    let size = x.size();
    let (b, n, f) = (size[0], size[1], size[2]);
    if a.is_sparse() {
        // Sparse kernels take 2-D operands: fold the batch into the columns.
        let flat = x.transpose(0, 1).reshape([n, b * f]);
        a.mm(&flat).reshape([n, b, f]).transpose(0, 1)
    } else {
        a.matmul(x)
    }
}

/// Applies the `N x N` operator `a` (dense or sparse) to a node-major `x` of
/// shape `(N, B, F)`: one product over all `B * F` columns, no transposes.
pub fn propagate_node_major(a: &Tensor, x: &Tensor) -> Tensor {
    let size = x.size();
    let flat = x.reshape([size[0], -1]);
    a.mm(&flat).reshape(size.as_slice())
}

/// `acc + x W^T` for a node-major `x` `(N, B, in)` and `w` `(out, in)`, as one
/// matrix product over the `N * B` rows (`acc` `None`: `x W^T`, plus `bias`).
pub(crate) fn node_linear(acc: Option<&Tensor>, x: &Tensor, w: &Tensor, bias: Option<&Tensor>) -> Tensor {
    let size = x.size();
    let rows = x.reshape([-1, size[2]]);
    let out = match (acc, bias) {
        (Some(acc), None) => acc.reshape([-1, w.size()[0]]).addmm(&rows, &w.tr()),
        (Some(acc), Some(b)) => acc.reshape([-1, w.size()[0]]).addmm(&rows, &w.tr()) + b,
        (None, Some(b)) => b.addmm(&rows, &w.tr()),
        (None, None) => rows.mm(&w.tr()),
    };
    out.reshape([size[0], size[1], -1])
}

/// How a cell turns its input `X` of shape `(B, N, F)` into graph features
/// of shape `(B, N, terms * F)`, before a linear map (the filter weights).
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
}

impl GraphOp {
    /// Number of feature blocks the operator produces with `supports` supports.
    pub fn terms(self, supports: usize) -> i64 {
        match self {
            GraphOp::Diffusion { k } => 1 + supports as i64 * (k - 1),
            GraphOp::Chebyshev { k } => k,
            GraphOp::Gcn => 1,
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

    /// A layer's filter weights are sized for the number of supports it was
    /// built with (`terms`), so exactly that many must come at every step.
    fn check_count(self, count: usize, built_for: usize) -> Result<()> {
        let expected = match self {
            GraphOp::Diffusion { .. } => built_for,
            GraphOp::Chebyshev { .. } | GraphOp::Gcn => 1,
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
            };
            Err(HybridError::Graph(format!("{self:?} needs {want}, got {count}")))
        }
    }

    /// The graph features of `x` (`(B, N, F)` to `(B, N, terms * F)`), blocks
    /// in the order documented on each variant (diffusion: support by support).
    pub fn basis(self, x: &Tensor, supports: &[Tensor]) -> Tensor {
        match self {
            GraphOp::Gcn => propagate(&supports[0], x),
            GraphOp::Diffusion { k } => {
                if k == 1 {
                    return x.shallow_clone();
                }
                let mut blocks = vec![x.shallow_clone()];
                for p in supports {
                    let mut cur = x.shallow_clone();
                    for _ in 1..k {
                        cur = propagate(p, &cur);
                        blocks.push(cur.shallow_clone());
                    }
                }
                Tensor::cat(&blocks, -1)
            }
            GraphOp::Chebyshev { k } => {
                if k == 1 {
                    return x.shallow_clone();
                }
                let lap = &supports[0];
                let mut blocks = vec![x.shallow_clone(), propagate(lap, x)];
                for i in 2..k as usize {
                    let next = propagate(lap, &blocks[i - 1]) * 2.0 - &blocks[i - 2];
                    blocks.push(next);
                }
                Tensor::cat(&blocks, -1)
            }
        }
    }

    /// The graph features of a node-major `x` `(N, B, F)`: `(N, B, terms * F)`,
    /// blocks in the order of [`GraphOp::basis`].
    pub fn basis_node_major(self, x: &Tensor, supports: &[Tensor]) -> Tensor {
        match self {
            GraphOp::Gcn => propagate_node_major(&supports[0], x),
            GraphOp::Diffusion { k: 1 } | GraphOp::Chebyshev { k: 1 } => x.shallow_clone(),
            GraphOp::Diffusion { k } => {
                let mut blocks = vec![x.shallow_clone()];
                for p in supports {
                    let mut cur = x.shallow_clone();
                    for _ in 1..k {
                        cur = propagate_node_major(p, &cur);
                        blocks.push(cur.shallow_clone());
                    }
                }
                Tensor::cat(&blocks, -1)
            }
            GraphOp::Chebyshev { k } => {
                let lap = &supports[0];
                let mut blocks = vec![x.shallow_clone(), propagate_node_major(lap, x)];
                for i in 2..k as usize {
                    let next = propagate_node_major(lap, &blocks[i - 1]) * 2.0 - &blocks[i - 2];
                    blocks.push(next);
                }
                Tensor::cat(&blocks, -1)
            }
        }
    }

    /// The graph filter `sum_k B_k(X) W_k + b` of a node-major `x` `(N, B,
    /// in)`, where `B_k` are the blocks of [`GraphOp::basis`] and `W_k` the
    /// matching column blocks of `weight` `(out, terms * in)` (an
    /// `nn::Linear` weight over the basis): `(N, B, out)`.
    ///
    /// Equal to `basis(x) W^T + b`, computed the cheap way. When `out <= in`
    /// the operators act on the products `X W_k` instead of `X` (Horner's
    /// scheme for diffusion, Clenshaw's recurrence for Chebyshev), so no
    /// basis block is kept for the backward pass: autograd saves only `x`.
    /// When `out > in` the basis (the narrower side) is built first.
    pub fn filter(self, x: &Tensor, supports: &[Tensor], weight: &Tensor, bias: Option<&Tensor>) -> Tensor {
        let width = x.size()[2];
        let block = |k: i64| weight.narrow(1, k * width, width);
        let out = weight.size()[0];
        if out > width || matches!(self, GraphOp::Diffusion { k: 1 } | GraphOp::Chebyshev { k: 1 }) {
            return node_linear(None, &self.basis_node_major(x, supports), weight, bias);
        }
        let y = |k: i64| node_linear(None, x, &block(k), None);
        match self {
            GraphOp::Gcn => {
                let a = propagate_node_major(&supports[0], &y(0));
                match bias {
                    Some(b) => a + b,
                    None => a,
                }
            }
            GraphOp::Diffusion { k } => {
                // sum_s P_s (X W_s1 + P_s (X W_s2 + ...)): Horner per support.
                let mut acc = node_linear(None, x, &block(0), bias);
                for (s, p) in supports.iter().enumerate() {
                    let first = 1 + s as i64 * (k - 1);
                    let mut inner = y(first + k - 2);
                    for j in (first..first + k - 2).rev() {
                        inner = node_linear(Some(&propagate_node_major(p, &inner)), x, &block(j), None);
                    }
                    acc += propagate_node_major(p, &inner);
                }
                acc
            }
            GraphOp::Chebyshev { k } => {
                // Clenshaw: b_j = X W_j + 2 L b_(j+1) - b_(j+2), result X W_0 + L b_1 - b_2.
                let lap = &supports[0];
                let mut next: Option<Tensor> = None; // b_(j+1)
                let mut after: Option<Tensor> = None; // b_(j+2)
                for j in (1..k).rev() {
                    let mut b = y(j);
                    if let Some(b1) = &next {
                        b += propagate_node_major(lap, b1) * 2.0;
                    }
                    if let Some(b2) = &after {
                        b -= b2;
                    }
                    after = next.replace(b);
                }
                let b1 = next.expect("k >= 2 here");
                let mut acc = node_linear(Some(&propagate_node_major(lap, &b1)), x, &block(0), bias);
                if let Some(b2) = after {
                    acc -= b2;
                }
                acc
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
                let out = self.basis(&x.reshape([b * t, n, f]), s);
                out.reshape([b, t, n, -1])
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
