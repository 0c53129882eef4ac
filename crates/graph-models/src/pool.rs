//! Graph-level readouts: one vector per graph of a batch
//! ([`graph_data::batch::GraphBatch`]), from the node states `x` (`[N, F]`)
//! and the `batch` vector (`[N]`, int64, the graph of each node in
//! `0..num_graphs`), as PyG's `global_*_pool` and aggregation modules.
//!
//! - [`global_add_pool`]: `h_G = sum_{v in G} x_v`;
//! - [`global_mean_pool`]: `h_G = (1 / |G|) sum_{v in G} x_v`;
//! - [`global_max_pool`]: `h_G = max_{v in G} x_v` (per channel);
//! - [`AttentionalAggregation`]: gated attention (Li et al. 2016);
//! - [`Set2Set`]: LSTM-driven attention (Vinyals et al. 2016);
//! - [`SortPool`]: the `k` nodes with the largest last channel (Zhang et
//!   al. 2018).
//!
//! All give `[num_graphs, ...]`; a graph without nodes reads as zeros. All
//! are invariant to the order of the nodes within a graph and follow the
//! order of the graphs. The `f_` functions check `x` and `batch` first
//! ([`InputError`]).
//!
//! ```
//! use graph_models::pool::{global_add_pool, global_max_pool, global_mean_pool};
//! use tch::Tensor;
//! let x = Tensor::from_slice(&[1.0f32, 2.0, 3.0, 4.0]).view([4, 1]);
//! let batch = Tensor::from_slice(&[0i64, 0, 1, 1]);
//! assert_eq!(Vec::<f32>::try_from(global_add_pool(&x, &batch, 2).view(-1)).unwrap(), [3.0, 7.0]);
//! assert_eq!(Vec::<f32>::try_from(global_mean_pool(&x, &batch, 2).view(-1)).unwrap(), [1.5, 3.5]);
//! assert_eq!(Vec::<f32>::try_from(global_max_pool(&x, &batch, 2).view(-1)).unwrap(), [2.0, 4.0]);
//! ```

use std::borrow::Borrow;

use tch::{nn, nn::Module, Kind, Tensor};

use crate::error::{check_positive, GnnError, InputError, Result};
use crate::message_passing::segment_softmax_unchecked;

/// Checks `x` (`[N, F]` floating point) and `batch` (`[N]` int64 on `x`'s
/// device, values in `0..num_graphs`).
pub fn check_batch(layer: &str, x: &Tensor, batch: &Tensor, num_graphs: i64) -> Result<()> {
    if x.dim() != 2 {
        return Err(InputError::shape(layer, "x", "[num_nodes, channels]", x.size()).into());
    }
    if !x.is_floating_point() {
        return Err(
            InputError::check_kind_device(layer, "x", x, Kind::Float, x.device())
                .err()
                .map(GnnError::from)
                .unwrap_or_else(|| GnnError::Config(format!("{layer}: x must be floating point"))),
        );
    }
    let n = x.size()[0];
    if batch.dim() != 1 || batch.size()[0] != n {
        return Err(InputError::shape(
            layer,
            "batch",
            format!("[{n}] (one graph id per node)"),
            batch.size(),
        )
        .into());
    }
    InputError::check_kind_device(layer, "batch", batch, Kind::Int64, x.device())?;
    if num_graphs < 0 {
        return Err(GnnError::Config(format!(
            "{layer}: num_graphs must not be negative, got {num_graphs}"
        )));
    }
    if n > 0 {
        let (lo, hi) = (batch.min().int64_value(&[]), batch.max().int64_value(&[]));
        if lo < 0 || hi >= num_graphs {
            let v = if lo < 0 { lo } else { hi };
            return Err(InputError::range(layer, "batch", format!("graph ids in 0..{num_graphs}"), v).into());
        }
    }
    Ok(())
}

/// Per-graph sums without the input checks (the callers have made them).
pub(crate) fn add_unchecked(x: &Tensor, batch: &Tensor, num_graphs: i64) -> Tensor {
    Tensor::zeros([num_graphs, x.size()[1]], (x.kind(), x.device())).index_add(0, batch, x)
}

/// Nodes per graph, as `kind`.
pub(crate) fn counts(batch: &Tensor, num_graphs: i64, kind: Kind) -> Tensor {
    batch.bincount::<Tensor>(None, num_graphs).to_kind(kind)
}

/// `h_G = sum_{v in G} x_v`: `x` `[N, F]`, `batch` `[N]` -> `[num_graphs, F]`.
/// Panics with [`f_global_add_pool`]'s message on bad input.
pub fn global_add_pool(x: &Tensor, batch: &Tensor, num_graphs: i64) -> Tensor {
    f_global_add_pool(x, batch, num_graphs).unwrap_or_else(|e| panic!("{e}"))
}

/// [`global_add_pool`], checking its inputs.
pub fn f_global_add_pool(x: &Tensor, batch: &Tensor, num_graphs: i64) -> Result<Tensor> {
    check_batch("global_add_pool", x, batch, num_graphs)?;
    Ok(add_unchecked(x, batch, num_graphs))
}

/// `h_G = (1/|G|) sum_{v in G} x_v` (zeros for an empty graph): `x` `[N, F]`,
/// `batch` `[N]` -> `[num_graphs, F]`. Panics on bad input.
pub fn global_mean_pool(x: &Tensor, batch: &Tensor, num_graphs: i64) -> Tensor {
    f_global_mean_pool(x, batch, num_graphs).unwrap_or_else(|e| panic!("{e}"))
}

/// [`global_mean_pool`], checking its inputs.
pub fn f_global_mean_pool(x: &Tensor, batch: &Tensor, num_graphs: i64) -> Result<Tensor> {
    check_batch("global_mean_pool", x, batch, num_graphs)?;
    let n = counts(batch, num_graphs, x.kind()).clamp_min(1.0).unsqueeze(1);
    Ok(add_unchecked(x, batch, num_graphs) / n)
}

/// `h_G = max_{v in G} x_v` per channel (zeros for an empty graph): `x`
/// `[N, F]`, `batch` `[N]` -> `[num_graphs, F]`. Panics on bad input.
pub fn global_max_pool(x: &Tensor, batch: &Tensor, num_graphs: i64) -> Tensor {
    f_global_max_pool(x, batch, num_graphs).unwrap_or_else(|e| panic!("{e}"))
}

/// [`global_max_pool`], checking its inputs.
pub fn f_global_max_pool(x: &Tensor, batch: &Tensor, num_graphs: i64) -> Result<Tensor> {
    check_batch("global_max_pool", x, batch, num_graphs)?;
    let idx = batch.unsqueeze(1).expand(x.size(), false);
    let out = Tensor::zeros([num_graphs, x.size()[1]], (x.kind(), x.device()));
    Ok(out.internal_scatter_reduce(0, &idx, x, "amax", false))
}

/// Gated attention readout (Li et al. 2016, "Gated Graph Sequence Neural
/// Networks"; PyG's `AttentionalAggregation(gate_nn, nn)` with linear
/// `gate_nn` and `nn`):
///
/// `a_v = softmax_{v in G}(w_g^T x_v + b_g)`, `h_G = sum_{v in G} a_v (W x_v + b)`,
/// or `h_G = sum_{v in G} a_v x_v` without the transform (PyG's `nn=None`,
/// [`AttentionalAggregation::from_parts`]).
///
/// Shapes: `x` `[N, in_channels]`, `batch` `[N]` -> `[num_graphs,
/// out_channels]` (`in_channels` without the transform). Parameters as
/// PyG's state dict: `gate_nn.weight` `[1, in]`, `gate_nn.bias` `[1]`,
/// `nn.weight` `[out, in]`, `nn.bias` `[out]`.
#[derive(Debug)]
pub struct AttentionalAggregation {
    gate: nn::Linear,
    nn: Option<nn::Linear>,
    in_channels: i64,
}

impl AttentionalAggregation {
    /// A readout from `in_channels` to `out_channels`; panics with
    /// [`AttentionalAggregation::f_new`]'s message on sizes below 1.
    pub fn new<'a, P: Borrow<nn::Path<'a>>>(p: P, in_channels: i64, out_channels: i64) -> Self {
        Self::f_new(p, in_channels, out_channels).unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`AttentionalAggregation::new`], or [`GnnError::Config`].
    pub fn f_new<'a, P: Borrow<nn::Path<'a>>>(p: P, in_channels: i64, out_channels: i64) -> Result<Self> {
        let p = p.borrow();
        check_positive("AttentionalAggregation", "in_channels", in_channels)?;
        check_positive("AttentionalAggregation", "out_channels", out_channels)?;
        Ok(AttentionalAggregation {
            gate: nn::linear(p / "gate_nn", in_channels, 1, Default::default()),
            nn: Some(nn::linear(
                p / "nn",
                in_channels,
                out_channels,
                Default::default(),
            )),
            in_channels,
        })
    }

    /// A readout from a gate `[in] -> [1]` and an optional transform `[in]
    /// -> [out]` the caller built (under names of its own), as PyG's
    /// `AttentionalAggregation(gate_nn, nn)`; without `nn`, `h_G = sum_{v in
    /// G} a_v x_v`. Panics with [`AttentionalAggregation::f_from_parts`]'s
    /// message when the sizes do not fit.
    pub fn from_parts(gate: nn::Linear, nn: Option<nn::Linear>) -> Self {
        Self::f_from_parts(gate, nn).unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`AttentionalAggregation::from_parts`], or [`GnnError::Config`] for a
    /// gate whose output is not one score, or a transform whose input is not
    /// the gate's.
    pub fn f_from_parts(gate: nn::Linear, nn: Option<nn::Linear>) -> Result<Self> {
        let g = gate.ws.size();
        if g.len() != 2 || g[0] != 1 {
            return Err(GnnError::Config(format!(
                "AttentionalAggregation: the gate must map features to one score (weight [1, in]), got weight {g:?}"
            )));
        }
        if let Some(t) = &nn {
            let w = t.ws.size();
            if w.len() != 2 || w[1] != g[1] {
                return Err(GnnError::Config(format!(
                    "AttentionalAggregation: the transform must read the gate's {} features (weight [out, {}]), got weight {w:?}",
                    g[1], g[1]
                )));
            }
        }
        Ok(AttentionalAggregation {
            gate,
            nn,
            in_channels: g[1],
        })
    }

    /// The readout; panics on bad input.
    pub fn forward(&self, x: &Tensor, batch: &Tensor, num_graphs: i64) -> Tensor {
        self.f_forward(x, batch, num_graphs)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// The attention weights `a_v` (`[N, 1]`), for inspection.
    pub fn f_attention(&self, x: &Tensor, batch: &Tensor, num_graphs: i64) -> Result<Tensor> {
        check_batch("AttentionalAggregation", x, batch, num_graphs)?;
        if x.size()[1] != self.in_channels {
            let expected = format!("[num_nodes, {}]", self.in_channels);
            return Err(InputError::shape("AttentionalAggregation", "x", expected, x.size()).into());
        }
        Ok(segment_softmax_unchecked(
            &self.gate.forward(x),
            batch,
            num_graphs,
        ))
    }

    /// [`AttentionalAggregation::forward`], checking its inputs.
    pub fn f_forward(&self, x: &Tensor, batch: &Tensor, num_graphs: i64) -> Result<Tensor> {
        let a = self.f_attention(x, batch, num_graphs)?;
        let values = match &self.nn {
            Some(t) => a * t.forward(x),
            None => a * x,
        };
        Ok(add_unchecked(&values, batch, num_graphs))
    }
}

/// Set2Set (Vinyals et al. 2016, "Order Matters"; PyG's `Set2Set`): `T`
/// steps of an LSTM whose query attends over each graph's nodes:
///
/// `q_t = LSTM(q*_{t-1})`, `a_v = softmax_{v in G}(x_v . q_t)`,
/// `r_t = sum_{v in G} a_v x_v`, `q*_t = [q_t, r_t]`, starting from `q*_0 = 0`.
///
/// Shapes: `x` `[N, F]`, `batch` `[N]` -> `[num_graphs, 2F]`. Parameters as
/// PyG's state dict: `lstm.weight_ih_l0` `[4F, 2F]`, `lstm.weight_hh_l0`
/// `[4F, F]`, `lstm.bias_ih_l0`, `lstm.bias_hh_l0` `[4F]`.
#[derive(Debug)]
pub struct Set2Set {
    w_ih: Tensor,
    w_hh: Tensor,
    b_ih: Tensor,
    b_hh: Tensor,
    in_channels: i64,
    steps: i64,
}

impl Set2Set {
    /// Set2Set over `in_channels` with `processing_steps` steps; panics with
    /// [`Set2Set::f_new`]'s message on sizes below 1.
    pub fn new<'a, P: Borrow<nn::Path<'a>>>(p: P, in_channels: i64, processing_steps: i64) -> Self {
        Self::f_new(p, in_channels, processing_steps).unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`Set2Set::new`], or [`GnnError::Config`].
    pub fn f_new<'a, P: Borrow<nn::Path<'a>>>(p: P, in_channels: i64, processing_steps: i64) -> Result<Self> {
        check_positive("Set2Set", "in_channels", in_channels)?;
        check_positive("Set2Set", "processing_steps", processing_steps)?;
        let p = p.borrow() / "lstm";
        let f = in_channels;
        let bound = 1.0 / (f as f64).sqrt();
        let init = nn::Init::Uniform {
            lo: -bound,
            up: bound,
        };
        Ok(Set2Set {
            w_ih: p.var("weight_ih_l0", &[4 * f, 2 * f], init),
            w_hh: p.var("weight_hh_l0", &[4 * f, f], init),
            b_ih: p.var("bias_ih_l0", &[4 * f], init),
            b_hh: p.var("bias_hh_l0", &[4 * f], init),
            in_channels,
            steps: processing_steps,
        })
    }

    /// The readout; panics on bad input.
    pub fn forward(&self, x: &Tensor, batch: &Tensor, num_graphs: i64) -> Tensor {
        self.f_forward(x, batch, num_graphs)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`Set2Set::forward`], checking its inputs.
    pub fn f_forward(&self, x: &Tensor, batch: &Tensor, num_graphs: i64) -> Result<Tensor> {
        check_batch("Set2Set", x, batch, num_graphs)?;
        let f = self.in_channels;
        if x.size()[1] != f {
            return Err(InputError::shape("Set2Set", "x", format!("[num_nodes, {f}]"), x.size()).into());
        }
        let opts = (x.kind(), x.device());
        let mut h = Tensor::zeros([num_graphs, f], opts);
        let mut c = Tensor::zeros([num_graphs, f], opts);
        let mut q_star = Tensor::zeros([num_graphs, 2 * f], opts);
        for _ in 0..self.steps {
            (h, c) = Tensor::lstm_cell(
                &q_star,
                &[&h, &c],
                &self.w_ih,
                &self.w_hh,
                Some(&self.b_ih),
                Some(&self.b_hh),
            );
            let e = (x * h.index_select(0, batch)).sum_dim_intlist(-1, true, x.kind());
            let a = segment_softmax_unchecked(&e, batch, num_graphs);
            let r = add_unchecked(&(a * x), batch, num_graphs);
            q_star = Tensor::cat(&[&h, &r], -1);
        }
        Ok(q_star)
    }
}

/// Sort pooling (Zhang et al. 2018, "An End-to-End Deep Learning
/// Architecture for Graph Classification"; PyG's `SortAggregation(k)`): the
/// nodes of each graph sorted by their last channel, descending, the first
/// `k` kept (fewer are padded with zeros), flattened.
///
/// Shapes: `x` `[N, F]`, `batch` `[N]` (sorted: nodes grouped by graph, as
/// in a [`graph_data::batch::GraphBatch`]) -> `[num_graphs, k * F]`. No
/// parameters.
#[derive(Debug, Clone, Copy)]
pub struct SortPool {
    k: i64,
}

impl SortPool {
    /// Keeps `k` nodes per graph; panics with [`SortPool::f_new`]'s message
    /// when `k` is below 1.
    pub fn new(k: i64) -> Self {
        Self::f_new(k).unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`SortPool::new`], or [`GnnError::Config`].
    pub fn f_new(k: i64) -> Result<Self> {
        check_positive("SortPool", "k", k)?;
        Ok(SortPool { k })
    }

    /// The readout; panics on bad input.
    pub fn forward(&self, x: &Tensor, batch: &Tensor, num_graphs: i64) -> Tensor {
        self.f_forward(x, batch, num_graphs)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`SortPool::forward`], checking its inputs (including that `batch` is
    /// sorted).
    pub fn f_forward(&self, x: &Tensor, batch: &Tensor, num_graphs: i64) -> Result<Tensor> {
        check_batch("SortPool", x, batch, num_graphs)?;
        let (n, f, b, k) = (x.size()[0], x.size()[1], num_graphs, self.k);
        if n > 1
            && batch
                .diff(1, -1, None::<Tensor>, None::<Tensor>)
                .min()
                .int64_value(&[])
                < 0
        {
            return Err(InputError::range(
                "SortPool",
                "batch",
                "graph ids in non-decreasing order (nodes grouped by graph)",
                -1,
            )
            .into());
        }
        let opts = (x.kind(), x.device());
        if n == 0 || f == 0 {
            return Ok(Tensor::zeros([b, k * f], opts));
        }
        let count = batch.bincount::<Tensor>(None, b);
        let max_nodes = count.max().int64_value(&[]);
        let ptr = count.cumsum(0, Kind::Int64) - &count;
        let pos = Tensor::arange(n, (Kind::Int64, x.device())) - ptr.index_select(0, batch);
        let fill = x.detach().min() - 1.0;
        let dense = fill
            .expand([b * max_nodes, f], false)
            .contiguous()
            .index_copy(0, &(batch * max_nodes + pos), x)
            .view([b, max_nodes, f]);
        let (_, perm) = dense.select(2, f - 1).sort(-1, true);
        let perm = perm + Tensor::arange(b, (Kind::Int64, x.device())).unsqueeze(1) * max_nodes;
        let sorted = dense
            .view([b * max_nodes, f])
            .index_select(0, &perm.view(-1))
            .view([b, max_nodes, f]);
        let sorted = if max_nodes >= k {
            sorted.narrow(1, 0, k)
        } else {
            let pad = fill.expand([b, k - max_nodes, f], false);
            Tensor::cat(&[sorted, pad], 1)
        };
        // Padding (the fill value) reads as zero, as in PyG.
        let is_fill = sorted.eq_tensor(&fill);
        Ok(sorted.masked_fill(&is_fill, 0.0).view([b, k * f]))
    }
}
