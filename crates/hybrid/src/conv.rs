//! Convolutional spatio-temporal models over `(B, T, N, F)`: time is handled by
//! convolutions instead of a recurrence, so all steps are computed at once.
//!
//! - [`Stgcn`] (Yu et al. 2018): "sandwich" ST-Conv blocks, gated temporal
//!   convolution, Chebyshev graph convolution, temporal convolution.
//! - [`GraphWaveNet`] (Wu et al. 2019): dilated causal gated convolutions,
//!   diffusion convolution over the given transition matrices and a learned
//!   adaptive adjacency, skip and residual connections.
//!
//! Inside, activations are kept as `(B, T, N, C)`; temporal convolutions run
//! as `conv2d` with `(1, kt)` kernels over `(B, C, N, T)`.

use crate::error::{HybridError, InputError, Result};
use crate::graph::{check_sequence, GraphOp, Supports};
use crate::recurrent::Encoder;
use std::borrow::Borrow;
use tch::{nn, Kind, Tensor};

/// True while autograd records, i.e. while training: dropout and batch
/// normalisation use batch statistics then, and not under `no_grad`
/// (which [`predict`](crate::predict) uses).
fn training() -> bool {
    let probe = Tensor::zeros([1], (Kind::Float, tch::Device::Cpu)).set_requires_grad(true);
    (probe * 1.0).requires_grad()
}

/// A convolution over time with a `(1, kernel)` filter and `dilation`.
#[derive(Debug)]
struct TimeConv {
    conv: nn::Conv<[i64; 2]>,
    kernel: i64,
    dilation: i64,
}

impl TimeConv {
    fn new<'a, P: Borrow<nn::Path<'a>>>(path: P, c_in: i64, c_out: i64, kernel: i64, dilation: i64) -> Self {
        let config = nn::ConvConfigND::<[i64; 2]> {
            dilation: [1, dilation],
            ..Default::default()
        };
        TimeConv {
            conv: nn::conv(path, c_in, c_out, [1, kernel], config),
            kernel,
            dilation,
        }
    }

    /// `(B, T, N, C_in)` to `(B, T', N, C_out)`: `T' = T` when `causal_pad`
    /// (zeros in front, so step `t` sees steps `<= t`), otherwise
    /// `T' = T - dilation * (kernel - 1)` (a valid convolution).
    fn forward(&self, x: &Tensor, causal_pad: bool) -> Tensor {
        let x = x.permute([0, 3, 2, 1]);
        let x = if causal_pad {
            x.constant_pad_nd([self.dilation * (self.kernel - 1), 0])
        } else {
            x
        };
        x.apply(&self.conv).permute([0, 3, 2, 1])
    }
}

/// A 1x1 convolution: a linear map of the channels at every node and step.
fn pointwise<'a, P: Borrow<nn::Path<'a>>>(path: P, c_in: i64, c_out: i64) -> nn::Linear {
    nn::linear(path, c_in, c_out, Default::default())
}

fn check_sizes(layer: &str, sizes: &[(&str, i64)]) -> Result<()> {
    match sizes.iter().find(|(_, v)| *v < 1) {
        Some((name, v)) => Err(HybridError::Config(format!(
            "{layer}: {name} must be positive, got {v}"
        ))),
        None => Ok(()),
    }
}

/// Gated temporal convolution (GLU), STGCN's temporal layer: a causal
/// convolution to `2 C_out` channels split into `P, Q`, and
/// `(P + x_aligned) ⊙ σ(Q)`, where `x_aligned` is `x` itself or, when the
/// channel counts differ, a 1x1 convolution of it.
#[derive(Debug)]
struct GatedTimeConv {
    conv: TimeConv,
    align: Option<nn::Linear>,
}

impl GatedTimeConv {
    fn new<'a, P: Borrow<nn::Path<'a>>>(path: P, c_in: i64, c_out: i64, kernel: i64) -> Self {
        let p = path.borrow();
        GatedTimeConv {
            conv: TimeConv::new(p / "conv", c_in, 2 * c_out, kernel, 1),
            align: (c_in != c_out).then(|| pointwise(p / "align", c_in, c_out)),
        }
    }

    fn forward(&self, x: &Tensor) -> Tensor {
        let pq = self.conv.forward(x, true).chunk(2, -1);
        let residual = match &self.align {
            Some(a) => x.apply(a),
            None => x.shallow_clone(),
        };
        (&pq[0] + residual) * pq[1].sigmoid()
    }
}

/// One ST-Conv block: gated temporal convolution to `channels`, Chebyshev
/// graph convolution to `bottleneck` with ReLU, gated temporal convolution
/// back to `channels`, layer norm over `(N, C)`, dropout.
#[derive(Debug)]
struct StConvBlock {
    time_in: GatedTimeConv,
    graph_conv: nn::Linear,
    time_out: GatedTimeConv,
    norm: nn::LayerNorm,
}

/// STGCN (Yu et al. 2018): two ST-Conv "sandwich" blocks (gated temporal
/// convolution, Chebyshev graph convolution of order `K` with ReLU, gated
/// temporal convolution; layer norm over nodes and channels; dropout), then
/// an output temporal convolution over all remaining steps with layer norm,
/// giving one `(B, N, hidden)` summary for the forecasting head.
///
/// Channels per block are `(hidden, hidden / 4, hidden)`, the paper's
/// `(64, 16, 64)` at `hidden = 64`; the temporal kernel is 3. Unlike the
/// paper's valid convolutions, the temporal convolutions are causally
/// padded, so any `T >= 1` works (Chickenpox has 4 lags); the output layer's
/// kernel spans all `T` steps. Give it the scaled Laplacian as its one support.
///
/// Shapes: `x` `(B, T=periods, N=nodes, F)` -> summary `(B, N, hidden)`.
#[derive(Debug)]
pub struct Stgcn {
    in_features: i64,
    nodes: i64,
    periods: i64,
    hidden: i64,
    op: GraphOp,
    dropout: f64,
    blocks: Vec<StConvBlock>,
    output: TimeConv,
    output_norm: nn::LayerNorm,
}

impl Stgcn {
    /// Temporal kernel size of the ST-Conv blocks.
    pub const TIME_KERNEL: i64 = 3;
    /// Number of ST-Conv blocks.
    pub const BLOCKS: usize = 2;
    /// Dropout after each block while training.
    pub const DROPOUT: f64 = 0.1;

    /// An STGCN over sequences of exactly `periods` steps of `nodes` nodes
    /// with `in_features` features, Chebyshev order `k`.
    /// Panics with [`Self::f_new`]'s message on a configuration it refuses.
    pub fn new<'a, P: Borrow<nn::Path<'a>>>(
        path: P,
        in_features: i64,
        hidden: i64,
        k: i64,
        nodes: i64,
        periods: i64,
    ) -> Self {
        Self::f_new(path, in_features, hidden, k, nodes, periods).unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`Self::new`], or the typed error for a configuration it refuses.
    pub fn f_new<'a, P: Borrow<nn::Path<'a>>>(
        path: P,
        in_features: i64,
        hidden: i64,
        k: i64,
        nodes: i64,
        periods: i64,
    ) -> Result<Self> {
        check_sizes(
            "Stgcn",
            &[
                ("in_features", in_features),
                ("hidden", hidden),
                ("K", k),
                ("nodes", nodes),
                ("periods", periods),
            ],
        )?;
        let p = path.borrow();
        let bottleneck = (hidden / 4).max(1);
        let op = GraphOp::Chebyshev { k };
        let blocks = (0..Self::BLOCKS)
            .map(|i| {
                let b = p / format!("block{i}");
                let c_in = if i == 0 { in_features } else { hidden };
                StConvBlock {
                    time_in: GatedTimeConv::new(&b / "time_in", c_in, hidden, Self::TIME_KERNEL),
                    graph_conv: pointwise(&b / "graph_conv", k * hidden, bottleneck),
                    time_out: GatedTimeConv::new(&b / "time_out", bottleneck, hidden, Self::TIME_KERNEL),
                    norm: nn::layer_norm(&b / "norm", vec![nodes, hidden], Default::default()),
                }
            })
            .collect();
        Ok(Stgcn {
            in_features,
            nodes,
            periods,
            hidden,
            op,
            dropout: Self::DROPOUT,
            blocks,
            output: TimeConv::new(p / "output", hidden, hidden, periods, 1),
            output_norm: nn::layer_norm(p / "output_norm", vec![nodes, hidden], Default::default()),
        })
    }
}

impl Encoder for Stgcn {
    fn hidden_size(&self) -> i64 {
        self.hidden
    }

    fn f_encode(&self, x: &Tensor, graph: &Supports) -> Result<Tensor> {
        let (_, t, _) = check_sequence(
            "Stgcn",
            x,
            self.in_features,
            Some(self.nodes),
            (self.op, 1),
            graph,
        )?;
        if t != self.periods {
            let expected = format!(
                "[B, T={}, N={}, F={}]",
                self.periods, self.nodes, self.in_features
            );
            return Err(InputError::shape("Stgcn", "x", expected, x.size()).into());
        }
        let train = training();
        let mut h = x.shallow_clone();
        for block in &self.blocks {
            h = block.time_in.forward(&h);
            h = self.op.basis_seq(&h, graph).apply(&block.graph_conv).relu();
            h = block.time_out.forward(&h);
            h = h.apply(&block.norm).dropout(self.dropout, train);
        }
        // (B, T, N, H) -> (B, 1, N, H): one convolution over all steps.
        let out = self.output.forward(&h, false).apply(&self.output_norm);
        Ok(out.squeeze_dim(1))
    }
}

/// One Graph WaveNet layer: gated dilated convolution, skip projection,
/// diffusion graph convolution, batch norm.
#[derive(Debug)]
struct WaveLayer {
    filter: TimeConv,
    gate: TimeConv,
    skip: nn::Linear,
    graph_conv: nn::Linear,
    norm: nn::BatchNorm,
}

/// Graph WaveNet (Wu et al. 2019), as its reference code: a 1x1 start
/// convolution to `hidden` channels, then 4 blocks of 2 layers with kernel 2
/// and dilations 1, 2 (receptive field 13 steps; shorter inputs are padded
/// with zeros in front). Each layer: `tanh(filter) ⊙ σ(gate)` dilated
/// convolutions, a 1x1 skip projection summed over layers, a diffusion
/// convolution of order `K - 1` over the given supports and the adaptive
/// adjacency `softmax(relu(E1 E2^T))` (rows), dropout 0.3, the residual, batch
/// norm. The skip sum, ReLU, 1x1 to `16 * hidden` channels gives the summary
/// (the reference's `end_conv_1`; the forecaster's ReLU and head are its
/// `end_conv_2`). Channels at `hidden = 32` are the paper's (32 residual and
/// dilation, 256 skip, 512 end). Give it `[P_forward, P_backward]`
/// ([`SupportKind::Transitions`](crate::SupportKind::Transitions)).
///
/// Shapes: `x` `(B, T, N=nodes, F)` -> summary `(B, N, 16 * hidden)`.
#[derive(Debug)]
pub struct GraphWaveNet {
    in_features: i64,
    nodes: i64,
    hidden: i64,
    op: GraphOp,
    supports: usize,
    start: nn::Linear,
    layers: Vec<WaveLayer>,
    node_source: Tensor,
    node_target: Tensor,
    end: nn::Linear,
}

impl GraphWaveNet {
    /// Dilations of the layers (4 blocks of 1, 2).
    pub const DILATIONS: [i64; 8] = [1, 2, 1, 2, 1, 2, 1, 2];
    /// Size of the node embeddings `E1`, `E2` of the adaptive adjacency.
    pub const EMBEDDING: i64 = 10;
    /// Dropout after each graph convolution while training.
    pub const DROPOUT: f64 = 0.3;

    /// A Graph WaveNet over `nodes` nodes with `in_features` features,
    /// `hidden` residual channels and `k` diffusion terms per support (`K = 3`:
    /// the paper's order 2).
    /// Panics with [`Self::f_new`]'s message on a configuration it refuses.
    pub fn new<'a, P: Borrow<nn::Path<'a>>>(
        path: P,
        in_features: i64,
        hidden: i64,
        k: i64,
        nodes: i64,
        supports: usize,
    ) -> Self {
        Self::f_new(path, in_features, hidden, k, nodes, supports).unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`Self::new`], or the typed error for a configuration it refuses.
    pub fn f_new<'a, P: Borrow<nn::Path<'a>>>(
        path: P,
        in_features: i64,
        hidden: i64,
        k: i64,
        nodes: i64,
        supports: usize,
    ) -> Result<Self> {
        check_sizes(
            "GraphWaveNet",
            &[
                ("in_features", in_features),
                ("hidden", hidden),
                ("K", k),
                ("nodes", nodes),
            ],
        )?;
        let p = path.borrow();
        let op = GraphOp::Diffusion { k };
        // The given supports and the adaptive adjacency.
        let terms = op.terms(supports + 1);
        let skip = 8 * hidden;
        let layers = Self::DILATIONS
            .iter()
            .enumerate()
            .map(|(i, &d)| {
                let l = p / format!("layer{i}");
                WaveLayer {
                    filter: TimeConv::new(&l / "filter", hidden, hidden, 2, d),
                    gate: TimeConv::new(&l / "gate", hidden, hidden, 2, d),
                    skip: pointwise(&l / "skip", hidden, skip),
                    graph_conv: pointwise(&l / "graph_conv", terms * hidden, hidden),
                    norm: nn::batch_norm1d(&l / "norm", hidden, Default::default()),
                }
            })
            .collect();
        let embedding = nn::Init::Randn {
            mean: 0.0,
            stdev: 1.0,
        };
        Ok(GraphWaveNet {
            in_features,
            nodes,
            hidden,
            op,
            supports,
            start: pointwise(p / "start", in_features, hidden),
            layers,
            node_source: p.var("node_source", &[nodes, Self::EMBEDDING], embedding),
            node_target: p.var("node_target", &[nodes, Self::EMBEDDING], embedding),
            end: pointwise(p / "end", skip, 16 * hidden),
        })
    }

    /// Steps the network sees: `1 + sum of dilations` (13).
    pub fn receptive_field() -> i64 {
        1 + Self::DILATIONS.iter().sum::<i64>()
    }

    /// The learned adaptive adjacency `softmax(relu(E1 E2^T))`, `(N, N)`, rows summing to one.
    pub fn adaptive_adjacency(&self) -> Tensor {
        self.node_source
            .matmul(&self.node_target.transpose(0, 1))
            .relu()
            .softmax(1, Kind::Float)
    }
}

/// The given supports plus `extra` at every step, for the last `steps` steps
/// of a sequence padded in front to `padded_steps`.
fn with_extra(graph: &Supports, extra: &Tensor, steps: i64, padded_steps: i64) -> Supports {
    let add = |set: &[Tensor]| {
        let mut s: Vec<Tensor> = set.iter().map(Tensor::shallow_clone).collect();
        s.push(extra.shallow_clone());
        s
    };
    match graph {
        Supports::Static(s) => Supports::Static(add(s)),
        Supports::PerStep(sets) => {
            // Step `i` of the last `steps` is step `padded_steps - steps + i` of the padded
            // input; the padded steps in front use the first step's graph.
            let pad = padded_steps - sets.len() as i64;
            let first = padded_steps - steps;
            Supports::PerStep(
                (first..padded_steps)
                    .map(|i| add(&sets[(i - pad).max(0) as usize]))
                    .collect(),
            )
        }
    }
}

impl Encoder for GraphWaveNet {
    fn hidden_size(&self) -> i64 {
        16 * self.hidden
    }

    fn f_encode(&self, x: &Tensor, graph: &Supports) -> Result<Tensor> {
        let (_, t, _) = check_sequence(
            "GraphWaveNet",
            x,
            self.in_features,
            Some(self.nodes),
            (self.op, self.supports),
            graph,
        )?;
        let field = Self::receptive_field();
        let padded = t.max(field);
        // (B, T, N, F) -> zeros in front up to the receptive field.
        let x = x
            .permute([0, 2, 3, 1])
            .constant_pad_nd([padded - t, 0])
            .permute([0, 3, 1, 2]);
        let train = training();
        let adaptive = self.adaptive_adjacency().to_kind(x.kind());
        let mut h = x.apply(&self.start);
        let mut skip: Option<Tensor> = None;
        for layer in &self.layers {
            let residual = h.shallow_clone();
            let gated = layer.filter.forward(&h, false).tanh() * layer.gate.forward(&h, false).sigmoid();
            let steps = gated.size()[1];
            // Only the last step reaches the output; the skip sum keeps the last `steps`.
            let s = gated.apply(&layer.skip);
            skip = Some(match skip {
                Some(prev) => s + prev.narrow(1, prev.size()[1] - steps, steps),
                None => s,
            });
            let supports = with_extra(graph, &adaptive, steps, padded);
            let g = self
                .op
                .basis_seq(&gated, &supports)
                .apply(&layer.graph_conv)
                .dropout(Self::DROPOUT, train);
            let g = g + residual.narrow(1, residual.size()[1] - steps, steps);
            // Batch norm over channels: (B, T', N, C) -> (B, C, T' * N).
            let size = g.size();
            let flat = g.reshape([size[0], -1, size[3]]).transpose(1, 2);
            h = flat
                .apply_t(&layer.norm, train)
                .transpose(1, 2)
                .reshape(size.as_slice());
        }
        let skip = skip.expect("Graph WaveNet has layers");
        // The last step of the skip sum: (B, N, skip) -> ReLU -> end convolution.
        Ok(skip.select(1, -1).relu().apply(&self.end))
    }
}
