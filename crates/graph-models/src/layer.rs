//! What every graph layer offers: a fallible forward pass that checks its
//! inputs and says what is wrong before libtorch is called, and a panicking one.

use tch::{nn, Tensor};

use crate::error::Result;
use crate::graph::Graph;

/// A layer over node features and a graph (the graph analogue of tch's
/// `ModuleT`).
pub trait GnnLayer: std::fmt::Debug {
    /// Node features in, node features out; `train` switches dropout on.
    fn f_forward_t(&self, x: &Tensor, graph: &Graph, train: bool) -> Result<Tensor>;

    /// As [`GnnLayer::f_forward_t`], panicking with the same message on bad input.
    fn forward_t(&self, x: &Tensor, graph: &Graph, train: bool) -> Tensor {
        self.f_forward_t(x, graph, train)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Inference forward pass (no dropout).
    fn forward(&self, x: &Tensor, graph: &Graph) -> Tensor {
        self.forward_t(x, graph, false)
    }
}

/// Glorot (Xavier) uniform initialisation, PyG's default for these layers:
/// uniform in `[-a, a]` with `a = sqrt(6 / (fan_in + fan_out))`.
///
/// ```
/// use graph_models::glorot;
/// use tch::{nn, Device};
/// let vs = nn::VarStore::new(Device::Cpu);
/// let w = vs.root().var("weight", &[16, 8], glorot(8, 16));
/// assert!(w.abs().max().double_value(&[]) <= (6.0f64 / 24.0).sqrt());
/// ```
pub fn glorot(fan_in: i64, fan_out: i64) -> nn::Init {
    let a = (6.0 / (fan_in + fan_out) as f64).sqrt();
    nn::Init::Uniform { lo: -a, up: a }
}

/// A PyG-style `Linear` without bias: the variable `{name}.weight` (`[out, in]`)
/// under `p`, [`glorot`]-initialised.
pub fn lin_weight(p: &nn::Path, name: &str, in_dim: i64, out_dim: i64) -> Tensor {
    (p / name).var("weight", &[out_dim, in_dim], glorot(in_dim, out_dim))
}

/// `x @ weight^T` over the last dimension, for dense `x` of any rank or a
/// sparse (COO or CSR) matrix `x`: `[..., in]` -> `[..., out]` for `weight`
/// `[out, in]`.
pub fn linear(x: &Tensor, weight: &Tensor) -> Tensor {
    if is_sparse(x) && !x.requires_grad() && x.kind() == weight.kind() {
        // Sparse features: the backward `X^T G` reuses the cached transpose.
        train_utils::sparse::sparse_mm(x, &weight.tr())
    } else if x.dim() == 2 {
        x.mm(&weight.tr()) // the one product libtorch has for sparse inputs
    } else {
        x.matmul(&weight.tr())
    }
}

/// True for sparse tensors (COO, CSR, ...): [`train_utils::sparse::is_sparse`]
/// (a layout query; tch has none).
pub fn is_sparse(x: &Tensor) -> bool {
    train_utils::sparse::is_sparse(x)
}

/// Inverted dropout of rate `p` when `train`: `x * (u >= p) / (1 - p)` with
/// `u` uniform in `[0, 1)`, the same distribution as `Tensor::dropout`.
/// libtorch's CPU dropout draws its mask with `bernoulli_`; a uniform `rand`
/// and a comparison cost about a third of that (docs/benchmarks.md).
pub fn dropout(x: &Tensor, p: f64, train: bool) -> Tensor {
    if !train || p <= 0.0 {
        return x.shallow_clone();
    }
    if p >= 1.0 {
        return x.zeros_like();
    }
    let keep = Tensor::rand_like(x).ge(p);
    x * keep * (1.0 / (1.0 - p))
}

/// [`dropout`] as a method on tensors.
pub(crate) trait FastDropout {
    /// [`dropout`] of `self`.
    fn fast_dropout(&self, p: f64, train: bool) -> Tensor;
}

impl FastDropout for Tensor {
    fn fast_dropout(&self, p: f64, train: bool) -> Tensor {
        dropout(self, p, train)
    }
}
