//! Graph recurrent networks over `(B, T, N, F)` sequences: a GRU or LSTM per
//! node whose gates see the graph.
//!
//! Every gate is `op(X) W_x + op(H) W_h + b`. The input half `op(X) W_x` of
//! all steps is computed before the time loop in one batched product (with a
//! static graph, one graph propagation for all `B * T` inputs); the loop does
//! only the recurrent half. This is what makes a whole epoch of PyG Temporal's
//! snapshot loop a handful of libtorch calls.

use crate::error::{check_shape, HybridError, InputError, Result};
use crate::graph::{check_sequence, node_linear, GraphOp, Supports};
use std::borrow::Borrow;
use tch::{nn, Kind, Tensor};

/// A model that reads a `(B, T, N, F)` sequence on a graph and summarises it
/// as one `(B, N, H)` state per node (what a forecasting head reads).
pub trait Encoder: std::fmt::Debug {
    /// Size `H` of the summary.
    fn hidden_size(&self) -> i64;
    /// Summarises `x` of shape `(B, T, N, F)`; shapes and graph are checked first.
    fn f_encode(&self, x: &Tensor, graph: &Supports) -> Result<Tensor>;
}

fn check_state(layer: &'static str, which: &str, h: &Tensor, b: i64, n: i64, hidden: i64) -> Result<()> {
    check_shape(
        layer,
        which,
        h,
        &[Some(b), Some(n), Some(hidden)],
        &format!("[B={b}, N={n}, H={hidden}]"),
    )
    .map(|_| ())
}

fn no_bias() -> nn::LinearConfig {
    nn::LinearConfig {
        bias: false,
        ..Default::default()
    }
}

/// A GRU whose gates apply a graph operator to the input and to the state:
/// DCRNN's cell (diffusion), GConvGRU (Chebyshev) or T-GCN (GCN).
///
/// `z = σ(op(X)W_xz + op(H)W_hz + b_z)`, `r = σ(op(X)W_xr + op(H)W_hr + b_r)`,
/// `H~ = tanh(op(X)W_xh + op(R ⊙ H)W_hh + b_h)`, `H' = z ⊙ H + (1 − z) ⊙ H~`
/// (PyG Temporal's convention for `z`). Parameters: `conv_x` (the three input
/// convolutions fused, with the biases), `conv_h_zr` and `conv_h_h`; this is
/// the same cell as PGT's `GConvGRU` and `DCRNN` (whose convolution over `[X,
/// H]` splits into these two halves). PGT 0.56's `DConv` applies other graph
/// operators than [`SupportKind::Transitions`](crate::SupportKind::Transitions)
/// on a weighted graph, and other terms for `K > 2`: [`crate::interop`] builds
/// PGT's operators and maps its weights onto these parameters.
///
/// Unlike PGT's `TGCN`, which convolves only `X`, the T-GCN variant applies the
/// GCN to `[X, H]` as the T-GCN paper does (Zhao et al. 2019);
/// [`GraphGru::tgcn_pgt`] is PGT's variant (the state enters the gates
/// without the graph: `op(H)` above is `H`), which [`crate::interop`] loads
/// PGT's weights into.
///
/// Shapes: `x` `(B, T, N, F=in_features)`, optional `h0` `(B, N, hidden)` ->
/// every step's state `(B, T, N, hidden)` and the last `(B, N, hidden)`; supports
/// `N x N`, as many per step as the operator was built for.
#[derive(Debug)]
pub struct GraphGru {
    op: GraphOp,
    /// Whether the gates apply `op` to the state (false: PGT's `TGCN`, `H` as it is).
    state_graph: bool,
    supports: usize,
    in_features: i64,
    pub(crate) hidden: i64,
    pub(crate) conv_x: nn::Linear,
    pub(crate) conv_h_zr: nn::Linear,
    pub(crate) conv_h_h: nn::Linear,
}

impl GraphGru {
    /// A graph GRU from `in_features` to `hidden` with operator `op` and
    /// `supports` supports per step (2 for DCRNN's two directions).
    /// Panics with [`Self::f_new`]'s message on a configuration it refuses.
    pub fn new<'a, P: Borrow<nn::Path<'a>>>(
        path: P,
        op: GraphOp,
        supports: usize,
        in_features: i64,
        hidden: i64,
    ) -> Self {
        Self::f_new(path, op, supports, in_features, hidden).unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`Self::new`], or the typed error for a configuration it refuses.
    pub fn f_new<'a, P: Borrow<nn::Path<'a>>>(
        path: P,
        op: GraphOp,
        supports: usize,
        in_features: i64,
        hidden: i64,
    ) -> Result<Self> {
        op.check_k()?;
        if in_features < 1 || hidden < 1 {
            return Err(HybridError::Config(format!(
                "sizes must be positive: in_features {in_features}, hidden {hidden}"
            )));
        }
        Ok(Self::build(
            path.borrow(),
            op,
            true,
            supports,
            in_features,
            hidden,
        ))
    }

    fn build(
        p: &nn::Path,
        op: GraphOp,
        state_graph: bool,
        supports: usize,
        in_features: i64,
        hidden: i64,
    ) -> Self {
        let terms = op.terms(supports);
        let state_terms = if state_graph { terms } else { 1 };
        GraphGru {
            op,
            state_graph,
            supports,
            in_features,
            hidden,
            conv_x: nn::linear(p / "conv_x", terms * in_features, 3 * hidden, Default::default()),
            conv_h_zr: nn::linear(p / "conv_h_zr", state_terms * hidden, 2 * hidden, no_bias()),
            conv_h_h: nn::linear(p / "conv_h_h", state_terms * hidden, hidden, no_bias()),
        }
    }

    /// DCRNN's encoder cell: bidirectional diffusion convolution with `K`
    /// terms per direction; give it `[P_forward, P_backward]` as supports.
    /// Panics with [`Self::f_dcrnn`]'s message on a configuration it refuses.
    pub fn dcrnn<'a, P: Borrow<nn::Path<'a>>>(path: P, in_features: i64, hidden: i64, k: i64) -> Self {
        Self::f_dcrnn(path, in_features, hidden, k).unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`Self::dcrnn`], or the typed error for a configuration it refuses.
    pub fn f_dcrnn<'a, P: Borrow<nn::Path<'a>>>(
        path: P,
        in_features: i64,
        hidden: i64,
        k: i64,
    ) -> Result<Self> {
        Self::f_new(path, GraphOp::Diffusion { k }, 2, in_features, hidden)
    }

    /// GConvGRU (Seo et al. 2018): Chebyshev convolutions of order `K`; give
    /// it the scaled Laplacian as its one support.
    /// Panics with [`Self::f_gconv_gru`]'s message on a configuration it refuses.
    pub fn gconv_gru<'a, P: Borrow<nn::Path<'a>>>(path: P, in_features: i64, hidden: i64, k: i64) -> Self {
        Self::f_gconv_gru(path, in_features, hidden, k).unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`Self::gconv_gru`], or the typed error for a configuration it refuses.
    pub fn f_gconv_gru<'a, P: Borrow<nn::Path<'a>>>(
        path: P,
        in_features: i64,
        hidden: i64,
        k: i64,
    ) -> Result<Self> {
        Self::f_new(path, GraphOp::Chebyshev { k }, 1, in_features, hidden)
    }

    /// T-GCN (Zhao et al. 2019): one GCN propagation in the gates; give it the
    /// GCN-normalised adjacency (with self loops) as its one support.
    /// Panics with [`Self::f_tgcn`]'s message on a configuration it refuses.
    pub fn tgcn<'a, P: Borrow<nn::Path<'a>>>(path: P, in_features: i64, hidden: i64) -> Self {
        Self::f_tgcn(path, in_features, hidden).unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`Self::tgcn`], or the typed error for a configuration it refuses.
    pub fn f_tgcn<'a, P: Borrow<nn::Path<'a>>>(path: P, in_features: i64, hidden: i64) -> Result<Self> {
        Self::f_new(path, GraphOp::Gcn, 1, in_features, hidden)
    }

    /// PyG Temporal's `TGCN` cell: the GCN convolves only the input, the state
    /// enters the gates as it is: `z = σ(Â X W_xz + H W_hz + b_z)`, likewise
    /// `r`, `H~ = tanh(Â X W_xh + (R ⊙ H) W_hh + b_h)` (PGT's `conv_*` and
    /// `linear_*` multiplied out). Same parameters as [`Self::tgcn`] except
    /// that `conv_h_zr` and `conv_h_h` read `H` (`hidden` inputs), not `Â H`.
    /// Panics with [`Self::f_tgcn_pgt`]'s message on a configuration it refuses.
    pub fn tgcn_pgt<'a, P: Borrow<nn::Path<'a>>>(path: P, in_features: i64, hidden: i64) -> Self {
        Self::f_tgcn_pgt(path, in_features, hidden).unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`Self::tgcn_pgt`], or the typed error for a configuration it refuses.
    pub fn f_tgcn_pgt<'a, P: Borrow<nn::Path<'a>>>(path: P, in_features: i64, hidden: i64) -> Result<Self> {
        if in_features < 1 || hidden < 1 {
            return Err(HybridError::Config(format!(
                "sizes must be positive: in_features {in_features}, hidden {hidden}"
            )));
        }
        Ok(Self::build(
            path.borrow(),
            GraphOp::Gcn,
            false,
            1,
            in_features,
            hidden,
        ))
    }

    /// Whether the gates apply the graph operator to the state as well as to
    /// the input (false only for [`Self::tgcn_pgt`]).
    pub fn state_graph(&self) -> bool {
        self.state_graph
    }

    /// Features per node and step `F`.
    pub fn in_features(&self) -> i64 {
        self.in_features
    }

    /// The graph operator in the gates.
    pub fn op(&self) -> GraphOp {
        self.op
    }

    /// The layer's name in error messages: `Dcrnn`, `GConvGru` or `Tgcn`.
    pub fn layer_name(&self) -> &'static str {
        match self.op {
            GraphOp::Diffusion { .. } => "Dcrnn",
            GraphOp::Chebyshev { .. } => "GConvGru",
            GraphOp::Gcn => "Tgcn",
        }
    }

    /// Runs the sequence `x` `(B, T, N, F)` from the state `h0` (zeros when
    /// `None`) and returns every step's state `(B, T, N, H)` and the last one
    /// `(B, N, H)`.
    pub fn f_forward(&self, x: &Tensor, graph: &Supports, h0: Option<&Tensor>) -> Result<(Tensor, Tensor)> {
        let (all, last) = self.run(x, graph, h0, true)?;
        Ok((Tensor::stack(&all, 1), last))
    }

    /// [`f_forward`](Self::f_forward) that panics on wrong shapes.
    pub fn forward(&self, x: &Tensor, graph: &Supports, h0: Option<&Tensor>) -> (Tensor, Tensor) {
        self.f_forward(x, graph, h0)
            .unwrap_or_else(|e| panic!("GraphGru: {e}"))
    }

    /// One step: `x` `(B, N, F)`, state `h` `(B, N, H)`, this step's supports.
    pub fn f_step(&self, x: &Tensor, h: &Tensor, supports: &[Tensor]) -> Result<Tensor> {
        let graph = Supports::Static(supports.iter().map(Tensor::shallow_clone).collect());
        let (_, last) = self.run(&x.unsqueeze(1), &graph, Some(h), false)?;
        Ok(last)
    }

    fn run(
        &self,
        x: &Tensor,
        graph: &Supports,
        h0: Option<&Tensor>,
        keep: bool,
    ) -> Result<(Vec<Tensor>, Tensor)> {
        let layer = self.layer_name();
        let (b, t, n) = check_sequence(layer, x, self.in_features, None, (self.op, self.supports), graph)?;
        let h0 = match h0 {
            Some(h) => {
                check_state(layer, "initial state", h, b, n, self.hidden)?;
                h.shallow_clone()
            }
            None => Tensor::zeros([b, n, self.hidden], (x.kind(), x.device())),
        };
        // Node-major `(N, B, .)` throughout: the graph products then act on
        // contiguous `(N, B * width)` blocks with no transposes, and each gate
        // gets its own products (no slices whose backward fills zeros).
        let xm = x.permute([1, 2, 0, 3]).contiguous();
        let mut h = h0.transpose(0, 1).contiguous();
        let hid = self.hidden;
        let rows = |l: &nn::Linear, g: i64| l.ws.narrow(0, g * hid, hid);
        let bias = |g: i64| self.conv_x.bs.as_ref().map(|b| b.narrow(0, g * hid, hid));
        let mut all = Vec::with_capacity(if keep { t as usize } else { 0 });
        for i in 0..t {
            let supports = graph.at(i as usize);
            let xb = self.op.basis_node_major(&xm.get(i), supports);
            let gx = |g: i64| node_linear(None, &xb, &rows(&self.conv_x, g), bias(g).as_ref());
            let gh = |state: &Tensor, w: &Tensor| {
                if self.state_graph {
                    self.op.filter(state, supports, w, None)
                } else {
                    node_linear(None, state, w, None)
                }
            };
            let z = (gx(0) + gh(&h, &rows(&self.conv_h_zr, 0))).sigmoid();
            let r = (gx(1) + gh(&h, &rows(&self.conv_h_zr, 1))).sigmoid();
            let cand = (gx(2) + gh(&(&r * &h), &self.conv_h_h.ws)).tanh();
            // z H + (1 - z) H~
            h = cand.lerp_tensor(&h, &z);
            if keep {
                all.push(h.transpose(0, 1));
            }
        }
        Ok((all, h.transpose(0, 1)))
    }
}

impl Encoder for GraphGru {
    fn hidden_size(&self) -> i64 {
        self.hidden
    }
    fn f_encode(&self, x: &Tensor, graph: &Supports) -> Result<Tensor> {
        Ok(self.run(x, graph, None, false)?.1)
    }
}

/// GConvLSTM (Seo et al. 2018): an LSTM with peepholes whose gates apply
/// Chebyshev convolutions of order `K` to the input and the state, as PyG
/// Temporal's `GConvLSTM`: `I = σ(op(X)W_xi + op(H)W_hi + w_ci ⊙ C + b_i)`,
/// `F` likewise, `C' = F ⊙ C + I ⊙ tanh(op(X)W_xc + op(H)W_hc + b_c)`,
/// `O = σ(... + w_co ⊙ C')`, `H' = O ⊙ tanh(C')`. Parameters: `conv_x` (the four
/// input convolutions fused, gate order i, f, c, o, with the biases), `conv_h`,
/// and the peepholes `w_c_i`, `w_c_f`, `w_c_o`.
///
/// Shapes: `x` `(B, T, N, F=in_features)`, optional `(h0, c0)` each `(B, N,
/// hidden)` -> every step's `H` `(B, T, N, hidden)` and the last `(H, C)`.
#[derive(Debug)]
pub struct GConvLstm {
    op: GraphOp,
    in_features: i64,
    pub(crate) hidden: i64,
    pub(crate) conv_x: nn::Linear,
    pub(crate) conv_h: nn::Linear,
    pub(crate) w_c_i: Tensor,
    pub(crate) w_c_f: Tensor,
    pub(crate) w_c_o: Tensor,
}

impl GConvLstm {
    /// A GConvLSTM from `in_features` to `hidden` with Chebyshev order `k`.
    /// Panics with [`Self::f_new`]'s message on a configuration it refuses.
    pub fn new<'a, P: Borrow<nn::Path<'a>>>(path: P, in_features: i64, hidden: i64, k: i64) -> Self {
        Self::f_new(path, in_features, hidden, k).unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`Self::new`], or the typed error for a configuration it refuses.
    pub fn f_new<'a, P: Borrow<nn::Path<'a>>>(
        path: P,
        in_features: i64,
        hidden: i64,
        k: i64,
    ) -> Result<Self> {
        let op = GraphOp::Chebyshev { k };
        op.check_k()?;
        if in_features < 1 || hidden < 1 {
            return Err(HybridError::Config(format!(
                "sizes must be positive: in_features {in_features}, hidden {hidden}"
            )));
        }
        let p = path.borrow();
        // PGT initialises the peepholes with Glorot; a small uniform range is the same scale.
        let peep = |name: &str| p.var(name, &[hidden], nn::Init::Uniform { lo: -0.1, up: 0.1 });
        Ok(GConvLstm {
            op,
            in_features,
            hidden,
            conv_x: nn::linear(p / "conv_x", k * in_features, 4 * hidden, Default::default()),
            conv_h: nn::linear(p / "conv_h", k * hidden, 4 * hidden, no_bias()),
            w_c_i: peep("w_c_i"),
            w_c_f: peep("w_c_f"),
            w_c_o: peep("w_c_o"),
        })
    }

    /// Runs `x` `(B, T, N, F)` from `(h0, c0)` (zeros when `None`); returns
    /// every step's hidden state `(B, T, N, H)` and the last `(h, c)`.
    pub fn f_forward(
        &self,
        x: &Tensor,
        graph: &Supports,
        state: Option<(&Tensor, &Tensor)>,
    ) -> Result<(Tensor, (Tensor, Tensor))> {
        let (all, last) = self.run(x, graph, state, true)?;
        Ok((Tensor::stack(&all, 1), last))
    }

    fn run(
        &self,
        x: &Tensor,
        graph: &Supports,
        state: Option<(&Tensor, &Tensor)>,
        keep: bool,
    ) -> Result<(Vec<Tensor>, (Tensor, Tensor))> {
        let layer = "GConvLstm";
        let (b, t, n) = check_sequence(layer, x, self.in_features, None, (self.op, 1), graph)?;
        let (h0, c0) = match state {
            Some((h, c)) => {
                check_state(layer, "initial hidden state", h, b, n, self.hidden)?;
                check_state(layer, "initial cell state", c, b, n, self.hidden)?;
                (h.shallow_clone(), c.shallow_clone())
            }
            None => {
                let z = Tensor::zeros([b, n, self.hidden], (x.kind(), x.device()));
                (z.shallow_clone(), z)
            }
        };
        // Node-major, one product per gate: see `GraphGru::run`.
        let xm = x.permute([1, 2, 0, 3]).contiguous();
        let (mut h, mut c) = (h0.transpose(0, 1).contiguous(), c0.transpose(0, 1).contiguous());
        let hid = self.hidden;
        let mut all = Vec::new();
        for i in 0..t {
            let supports = graph.at(i as usize);
            let xb = self.op.basis_node_major(&xm.get(i), supports);
            let gate = |g: i64, h: &Tensor| {
                let bias = self.conv_x.bs.as_ref().map(|b| b.narrow(0, g * hid, hid));
                node_linear(None, &xb, &self.conv_x.ws.narrow(0, g * hid, hid), bias.as_ref())
                    + self
                        .op
                        .filter(h, supports, &self.conv_h.ws.narrow(0, g * hid, hid), None)
            };
            let gate_i = (gate(0, &h) + &self.w_c_i * &c).sigmoid();
            let gate_f = (gate(1, &h) + &self.w_c_f * &c).sigmoid();
            c = gate_f * &c + gate_i * gate(2, &h).tanh();
            let gate_o = (gate(3, &h) + &self.w_c_o * &c).sigmoid();
            h = gate_o * c.tanh();
            if keep {
                all.push(h.transpose(0, 1));
            }
        }
        Ok((all, (h.transpose(0, 1), c.transpose(0, 1))))
    }
}

impl Encoder for GConvLstm {
    fn hidden_size(&self) -> i64 {
        self.hidden
    }
    fn f_encode(&self, x: &Tensor, graph: &Supports) -> Result<Tensor> {
        Ok(self.run(x, graph, None, false)?.1 .0)
    }
}

/// A3T-GCN (Zhu et al. 2020, as PyG Temporal's `A3TGCN`): a T-GCN over
/// `periods` steps whose hidden states are combined with learned attention
/// weights: `out = sum_t softmax(attention)_t H_t`. Unlike PGT's, which
/// restarts its T-GCN from the same state at every period, the state is
/// carried from step to step; [`A3tgcn::pgt`] is PGT's variant (each `H_t`
/// one step of PGT's `TGCN` cell from the given state), which
/// [`crate::interop`] loads PGT's weights into.
///
/// Shapes: `x` `(B, T=periods, N, F)`, optional state `h0` `(B, N, hidden)`
/// -> summary `(B, N, hidden)`.
#[derive(Debug)]
pub struct A3tgcn {
    pub(crate) tgcn: GraphGru,
    periods: i64,
    /// Whether the T-GCN's state runs on from period to period (false: PGT's restart).
    carry: bool,
    pub(crate) attention: Tensor,
}

impl A3tgcn {
    /// An A3T-GCN over sequences of exactly `periods` steps.
    /// Panics with [`Self::f_new`]'s message on a configuration it refuses.
    pub fn new<'a, P: Borrow<nn::Path<'a>>>(path: P, in_features: i64, hidden: i64, periods: i64) -> Self {
        Self::f_new(path, in_features, hidden, periods).unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`Self::new`], or the typed error for a configuration it refuses.
    pub fn f_new<'a, P: Borrow<nn::Path<'a>>>(
        path: P,
        in_features: i64,
        hidden: i64,
        periods: i64,
    ) -> Result<Self> {
        Self::build(path.borrow(), in_features, hidden, periods, true)
    }

    /// PyG Temporal's `A3TGCN`: every period's state is one step of
    /// [`GraphGru::tgcn_pgt`] from the state given to
    /// [`f_forward`](Self::f_forward) (zeros when none), the states weighted by
    /// `softmax(attention)`. Panics with [`Self::f_pgt`]'s message on a
    /// configuration it refuses.
    pub fn pgt<'a, P: Borrow<nn::Path<'a>>>(path: P, in_features: i64, hidden: i64, periods: i64) -> Self {
        Self::f_pgt(path, in_features, hidden, periods).unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`Self::pgt`], or the typed error for a configuration it refuses.
    pub fn f_pgt<'a, P: Borrow<nn::Path<'a>>>(
        path: P,
        in_features: i64,
        hidden: i64,
        periods: i64,
    ) -> Result<Self> {
        Self::build(path.borrow(), in_features, hidden, periods, false)
    }

    fn build(p: &nn::Path, in_features: i64, hidden: i64, periods: i64, carry: bool) -> Result<Self> {
        if periods < 1 {
            return Err(HybridError::Config(format!(
                "periods must be positive, got {periods}"
            )));
        }
        let base = p / "base_tgcn";
        Ok(A3tgcn {
            tgcn: if carry {
                GraphGru::f_tgcn(base, in_features, hidden)?
            } else {
                GraphGru::f_tgcn_pgt(base, in_features, hidden)?
            },
            periods,
            carry,
            attention: p.var("attention", &[periods], nn::Init::Uniform { lo: 0.0, up: 1.0 }),
        })
    }

    /// The attention weights over the periods (they sum to one).
    pub fn attention_weights(&self) -> Tensor {
        self.attention.softmax(0, Kind::Float)
    }

    /// The attention-weighted summary `(B, N, hidden)` of `x` `(B, T=periods,
    /// N, F)` from the state `h0` `(B, N, hidden)` (zeros when `None`).
    pub fn f_forward(&self, x: &Tensor, graph: &Supports, h0: Option<&Tensor>) -> Result<Tensor> {
        let s = x.size();
        if s.len() == 4 && s[1] != self.periods {
            let expected = format!("[B, T={}, N, F] (one step per period)", self.periods);
            return Err(InputError::shape("A3tgcn", "x", expected, s).into());
        }
        let all = if self.carry {
            self.tgcn.f_forward(x, graph, h0)?.0
        } else {
            // Every period from the same state: check the whole input once, then step.
            check_sequence("A3tgcn", x, self.tgcn.in_features, None, (GraphOp::Gcn, 1), graph)?;
            let zeros;
            let h0 = match h0 {
                Some(h) => h,
                None => {
                    zeros = Tensor::zeros([s[0], s[2], self.tgcn.hidden], (x.kind(), x.device()));
                    &zeros
                }
            };
            let steps = (0..self.periods)
                .map(|t| self.tgcn.f_step(&x.select(1, t), h0, graph.at(t as usize)))
                .collect::<Result<Vec<_>>>()?;
            Tensor::stack(&steps, 1)
        };
        let w = self
            .attention_weights()
            .to_kind(all.kind())
            .reshape([1, -1, 1, 1]);
        Ok((all * w).sum_dim_intlist(1, false, None::<Kind>))
    }
}

impl Encoder for A3tgcn {
    fn hidden_size(&self) -> i64 {
        self.tgcn.hidden
    }
    fn f_encode(&self, x: &Tensor, graph: &Supports) -> Result<Tensor> {
        self.f_forward(x, graph, None)
    }
}
