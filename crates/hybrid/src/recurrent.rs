//! Graph recurrent networks over `(B, T, N, F)` sequences: seq-models' GRU or
//! LSTM per node, whose linear maps are graph operators ([`GraphRecurrent`]),
//! and A3T-GCN's attention over its states ([`A3tgcn`]).
//!
//! Every gate is `op(X) W_x + op(H) W_h + b`, in the gate equations of
//! [`seq_models::recurrent::gates`]; the graph operators are graph-models'
//! polynomial filters ([`GraphOp`]).

use crate::error::{check_shape, HybridError, InputError, Result};
use crate::graph::{check_sequence, node_linear, GraphOp, Supports};
use seq_models::recurrent::gates::{cell_step, ResetGate, StateMaps};
use seq_models::recurrent::{CellKind, RnnState};
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

/// Options of a [`GraphRecurrent`] cell; the default is GConvGRU with `K = 2`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GraphRecurrentConfig {
    /// The recurrence: [`CellKind::Gru`] (default), [`CellKind::Lstm`], or an
    /// Elman RNN.
    pub kind: CellKind,
    /// The graph operator that replaces the cell's linear maps.
    pub op: GraphOp,
    /// Supports per step the weights are sized for (2 for DCRNN's two
    /// directions; 1 for Chebyshev and GCN; none for [`GraphOp::Identity`]).
    pub supports: usize,
    /// Whether the state's maps apply the operator too (false: PyG Temporal's
    /// `TGCN`, whose state enters the gates as it is).
    pub state_graph: bool,
    /// Where a GRU's reset gate acts: before the state's map (Cho et al.
    /// 2014, as DCRNN, GConvGRU and T-GCN; default) or after it (PyTorch).
    pub reset: ResetGate,
    /// A bias on the state's maps (`conv_h.bias`, PyTorch's `bias_hh`). It
    /// adds nothing to a cell whose reset gate acts before the map (the input
    /// bias absorbs it), so the graph cells leave it out.
    pub state_bias: bool,
    /// LSTM peepholes `w_c_i`, `w_c_f`, `w_c_o` (GConvLSTM has them).
    pub peepholes: bool,
}

impl Default for GraphRecurrentConfig {
    fn default() -> Self {
        GraphRecurrentConfig {
            kind: CellKind::Gru,
            op: GraphOp::Chebyshev { k: 2 },
            supports: 1,
            state_graph: true,
            reset: ResetGate::BeforeMap,
            state_bias: false,
            peepholes: false,
        }
    }
}

/// A graph-recurrent cell: a recurrent cell whose linear maps are graph
/// operators. The gate equations are seq-models' own
/// ([`seq_models::recurrent::gates`], one place for the RNN, LSTM and GRU);
/// each `W x` and `U h` there becomes a graph filter `op(X) W_x` and `op(H)
/// W_h` over the nodes. GConvGRU, GConvLSTM, DCRNN and T-GCN are
/// configurations of it, and with [`GraphOp::Identity`] it is seq-models'
/// [`RecurrentCell`](seq_models::recurrent::RecurrentCell) run on every node
/// (a test holds them equal to 1e-6).
///
/// - **GConvGRU** (Seo et al. 2018, [`Self::gconv_gru`]): GRU, Chebyshev
///   polynomials of order `K` of the scaled Laplacian.
/// - **DCRNN**'s cell (Li et al. 2018, [`Self::dcrnn`]): GRU, bidirectional
///   diffusion `[X, P_f X, ..., P_b X, ...]`.
/// - **T-GCN** (Zhao et al. 2019, [`Self::tgcn`]): GRU, one GCN propagation
///   over `[X, H]` as the paper; [`Self::tgcn_pgt`] is PyG Temporal's
///   variant, which convolves only `X`.
/// - **GConvLSTM** (Seo et al. 2018, [`Self::gconv_lstm`]): LSTM with
///   peepholes, Chebyshev polynomials.
///
/// For a GRU, `r = σ(op(X)W_xr + op(H)W_hr + b_r)`, `z = σ(op(X)W_xz +
/// op(H)W_hz + b_z)`, `H~ = tanh(op(X)W_xn + op(R ⊙ H)W_hn + b_n)`, `H' = z ⊙
/// H + (1 − z) ⊙ H~` (PyG Temporal's and PyTorch's convention for `z`); the
/// LSTM's are in [`seq_models::recurrent::gates`]. Parameters, gates in
/// PyTorch's order (GRU `r, z, n`; LSTM `i, f, g, o`): `conv_x` (all gates'
/// input filters, `(gates * H, terms * F)`, with the bias), `conv_h` (the
/// state's, `(gates * H, terms * H)`, bias only with
/// [`GraphRecurrentConfig::state_bias`]) and the peepholes. [`crate::interop`]
/// maps PyG Temporal's state dicts onto them.
///
/// Node-major inside: the graph products act on `(N, B * width)` blocks with
/// no transposes, each gate gets its own products (no slices whose backward
/// fills zeros), and the state's filters multiply by the weights before the
/// graph operator when that side is narrower ([`GraphOp::filter`]).
///
/// Shapes: `x` `(B, T, N, F=in_features)`, optional state `h0` (and `c0` for
/// an LSTM) `(B, N, hidden)` -> every step's `H` `(B, T, N, hidden)` and the
/// last state; supports `N x N`, as many per step as the cell was built for.
#[derive(Debug)]
pub struct GraphRecurrent {
    config: GraphRecurrentConfig,
    in_features: i64,
    pub(crate) hidden: i64,
    pub(crate) conv_x: nn::Linear,
    pub(crate) conv_h: nn::Linear,
    /// `w_c_i`, `w_c_f`, `w_c_o`.
    pub(crate) peepholes: Option<[Tensor; 3]>,
}

impl GraphRecurrent {
    /// A cell from `in_features` to `hidden` configured by `config`.
    /// Panics with [`Self::f_new`]'s message on a configuration it refuses.
    pub fn new<'a, P: Borrow<nn::Path<'a>>>(
        path: P,
        in_features: i64,
        hidden: i64,
        config: GraphRecurrentConfig,
    ) -> Self {
        Self::f_new(path, in_features, hidden, config).unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`Self::new`], or [`HybridError::Config`] for sizes below 1, `K < 1`,
    /// a support count the operator cannot use, or peepholes on a cell
    /// without a cell state.
    pub fn f_new<'a, P: Borrow<nn::Path<'a>>>(
        path: P,
        in_features: i64,
        hidden: i64,
        config: GraphRecurrentConfig,
    ) -> Result<Self> {
        let c = config;
        c.op.check_k()?;
        if in_features < 1 || hidden < 1 {
            return Err(HybridError::Config(format!(
                "sizes must be positive: in_features {in_features}, hidden {hidden}"
            )));
        }
        c.op.check_supports(c.supports)?;
        if c.peepholes && c.kind != CellKind::Lstm {
            return Err(HybridError::Config(format!(
                "peepholes need an LSTM, the cell is {:?}",
                c.kind
            )));
        }
        let p = path.borrow();
        let gates = c.kind.gates();
        let terms = c.op.terms(c.supports);
        let state_terms = if c.state_graph { terms } else { 1 };
        let state_config = nn::LinearConfig {
            bias: c.state_bias,
            ..Default::default()
        };
        // PGT initialises the peepholes with Glorot; a small uniform range is the same scale.
        let peep = |name: &str| p.var(name, &[hidden], nn::Init::Uniform { lo: -0.1, up: 0.1 });
        Ok(GraphRecurrent {
            config,
            in_features,
            hidden,
            conv_x: nn::linear(
                p / "conv_x",
                terms * in_features,
                gates * hidden,
                Default::default(),
            ),
            conv_h: nn::linear(p / "conv_h", state_terms * hidden, gates * hidden, state_config),
            peepholes: c.peepholes.then(|| [peep("w_c_i"), peep("w_c_f"), peep("w_c_o")]),
        })
    }

    /// DCRNN's encoder cell: a GRU over bidirectional diffusion with `K` terms
    /// per direction; give it `[P_forward, P_backward]` as supports.
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
        let op = GraphOp::Diffusion { k };
        Self::f_new(path, in_features, hidden, Self::graph_gru(op, 2))
    }

    /// GConvGRU (Seo et al. 2018): a GRU over Chebyshev polynomials of order
    /// `K`; give it the scaled Laplacian as its one support.
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
        let op = GraphOp::Chebyshev { k };
        Self::f_new(path, in_features, hidden, Self::graph_gru(op, 1))
    }

    /// T-GCN (Zhao et al. 2019): a GRU with one GCN propagation over `[X,
    /// H]`; give it the GCN-normalised adjacency (with self loops) as its one
    /// support. Panics with [`Self::f_tgcn`]'s message on a configuration it refuses.
    pub fn tgcn<'a, P: Borrow<nn::Path<'a>>>(path: P, in_features: i64, hidden: i64) -> Self {
        Self::f_tgcn(path, in_features, hidden).unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`Self::tgcn`], or the typed error for a configuration it refuses.
    pub fn f_tgcn<'a, P: Borrow<nn::Path<'a>>>(path: P, in_features: i64, hidden: i64) -> Result<Self> {
        Self::f_new(path, in_features, hidden, Self::graph_gru(GraphOp::Gcn, 1))
    }

    /// PyG Temporal's `TGCN` cell: the GCN convolves only the input, the state
    /// enters the gates as it is: `z = σ(Â X W_xz + H W_hz + b_z)`, likewise
    /// `r`, `H~ = tanh(Â X W_xn + (R ⊙ H) W_hn + b_n)` (PGT's `conv_*` and
    /// `linear_*` multiplied out). Same parameters as [`Self::tgcn`] except
    /// that `conv_h` reads `H` (`hidden` inputs), not `Â H`.
    /// Panics with [`Self::f_tgcn_pgt`]'s message on a configuration it refuses.
    pub fn tgcn_pgt<'a, P: Borrow<nn::Path<'a>>>(path: P, in_features: i64, hidden: i64) -> Self {
        Self::f_tgcn_pgt(path, in_features, hidden).unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`Self::tgcn_pgt`], or the typed error for a configuration it refuses.
    pub fn f_tgcn_pgt<'a, P: Borrow<nn::Path<'a>>>(path: P, in_features: i64, hidden: i64) -> Result<Self> {
        let config = GraphRecurrentConfig {
            state_graph: false,
            ..Self::graph_gru(GraphOp::Gcn, 1)
        };
        Self::f_new(path, in_features, hidden, config)
    }

    /// GConvLSTM (Seo et al. 2018, as PyG Temporal's `GConvLSTM`): an LSTM
    /// with peepholes over Chebyshev polynomials of order `K`; give it the
    /// scaled Laplacian as its one support.
    /// Panics with [`Self::f_gconv_lstm`]'s message on a configuration it refuses.
    pub fn gconv_lstm<'a, P: Borrow<nn::Path<'a>>>(path: P, in_features: i64, hidden: i64, k: i64) -> Self {
        Self::f_gconv_lstm(path, in_features, hidden, k).unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`Self::gconv_lstm`], or the typed error for a configuration it refuses.
    pub fn f_gconv_lstm<'a, P: Borrow<nn::Path<'a>>>(
        path: P,
        in_features: i64,
        hidden: i64,
        k: i64,
    ) -> Result<Self> {
        let config = GraphRecurrentConfig {
            kind: CellKind::Lstm,
            op: GraphOp::Chebyshev { k },
            peepholes: true,
            ..Default::default()
        };
        Self::f_new(path, in_features, hidden, config)
    }

    /// seq-models' cell of `kind` on every node, with no graph at all
    /// ([`GraphOp::Identity`], PyTorch's reset gate and `bias_hh`): the same
    /// values as [`RecurrentCell`](seq_models::recurrent::RecurrentCell) with
    /// `conv_x` as `weight_ih`/`bias_ih` and `conv_h` as `weight_hh`/`bias_hh`.
    /// Give it `Supports::Static(vec![])`.
    /// Panics with [`Self::f_identity`]'s message on a configuration it refuses.
    pub fn identity<'a, P: Borrow<nn::Path<'a>>>(
        path: P,
        kind: CellKind,
        in_features: i64,
        hidden: i64,
    ) -> Self {
        Self::f_identity(path, kind, in_features, hidden).unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`Self::identity`], or the typed error for a configuration it refuses.
    pub fn f_identity<'a, P: Borrow<nn::Path<'a>>>(
        path: P,
        kind: CellKind,
        in_features: i64,
        hidden: i64,
    ) -> Result<Self> {
        let config = GraphRecurrentConfig {
            kind,
            op: GraphOp::Identity,
            supports: 0,
            reset: ResetGate::AfterMap,
            state_bias: true,
            ..Default::default()
        };
        Self::f_new(path, in_features, hidden, config)
    }

    fn graph_gru(op: GraphOp, supports: usize) -> GraphRecurrentConfig {
        GraphRecurrentConfig {
            op,
            supports,
            ..Default::default()
        }
    }

    /// The cell's configuration.
    pub fn config(&self) -> GraphRecurrentConfig {
        self.config
    }

    /// Features per node and step `F`.
    pub fn in_features(&self) -> i64 {
        self.in_features
    }

    /// Hidden units per node `H`.
    pub fn hidden(&self) -> i64 {
        self.hidden
    }

    /// The graph operator in the gates.
    pub fn op(&self) -> GraphOp {
        self.config.op
    }

    /// The layer's name in error messages: `Dcrnn`, `GConvGru`, `Tgcn`,
    /// `GConvLstm`, or `GraphRecurrent` for other configurations.
    pub fn layer_name(&self) -> &'static str {
        match (self.config.kind, self.config.op) {
            (CellKind::Gru, GraphOp::Diffusion { .. }) => "Dcrnn",
            (CellKind::Gru, GraphOp::Chebyshev { .. }) => "GConvGru",
            (CellKind::Gru, GraphOp::Gcn) => "Tgcn",
            (CellKind::Lstm, GraphOp::Chebyshev { .. }) => "GConvLstm",
            _ => "GraphRecurrent",
        }
    }

    /// A zero state for `b` sequences on `n` nodes (`c` too for an LSTM).
    pub fn zero_state(&self, b: i64, n: i64) -> RnnState {
        let opts = (self.conv_x.ws.kind(), self.conv_x.ws.device());
        let z = || Tensor::zeros([b, n, self.hidden], opts);
        RnnState {
            h: z(),
            c: self.config.kind.has_cell().then(z),
        }
    }

    /// Runs the sequence `x` `(B, T, N, F)` from `state` (zeros when `None`)
    /// and returns every step's `H` `(B, T, N, H)` and the last state (each
    /// `(B, N, H)`).
    pub fn f_forward(
        &self,
        x: &Tensor,
        graph: &Supports,
        state: Option<&RnnState>,
    ) -> Result<(Tensor, RnnState)> {
        let (all, last) = self.run(x, graph, state, true)?;
        Ok((Tensor::stack(&all, 1), last))
    }

    /// [`f_forward`](Self::f_forward) that panics on wrong shapes.
    pub fn forward(&self, x: &Tensor, graph: &Supports, state: Option<&RnnState>) -> (Tensor, RnnState) {
        self.f_forward(x, graph, state)
            .unwrap_or_else(|e| panic!("{}: {e}", self.layer_name()))
    }

    /// One step: `x` `(B, N, F)`, the state (each `(B, N, H)`), this step's supports.
    pub fn f_step(&self, x: &Tensor, state: &RnnState, supports: &[Tensor]) -> Result<RnnState> {
        let graph = Supports::Static(supports.iter().map(Tensor::shallow_clone).collect());
        Ok(self.run(&x.unsqueeze(1), &graph, Some(state), false)?.1)
    }

    fn run(
        &self,
        x: &Tensor,
        graph: &Supports,
        state: Option<&RnnState>,
        keep: bool,
    ) -> Result<(Vec<Tensor>, RnnState)> {
        let layer = self.layer_name();
        let c = &self.config;
        let (b, t, n) = check_sequence(layer, x, self.in_features, None, (c.op, c.supports), graph)?;
        let state = match state {
            Some(s) => {
                check_state(layer, "initial state", &s.h, b, n, self.hidden)?;
                match (&s.c, c.kind.has_cell()) {
                    (Some(cell), true) => check_state(layer, "initial cell state", cell, b, n, self.hidden)?,
                    (None, false) => {}
                    (given, _) => {
                        return Err(HybridError::Config(format!(
                            "{layer}: a {:?} state {} a cell state, got one {}",
                            c.kind,
                            if c.kind.has_cell() { "needs" } else { "has no" },
                            if given.is_some() { "with it" } else { "without" }
                        )))
                    }
                }
                RnnState {
                    h: s.h.shallow_clone(),
                    c: s.c.as_ref().map(Tensor::shallow_clone),
                }
            }
            None => self.zero_state(b, n),
        };
        // Node-major `(N, B, .)` throughout.
        let xm = x.permute([1, 2, 0, 3]).contiguous();
        let mut h = state.h.transpose(0, 1).contiguous();
        let mut cell = state.c.map(|c| c.transpose(0, 1).contiguous());
        let hid = self.hidden;
        let gates = c.kind.gates();
        let peepholes = self.peepholes.as_ref().map(|[i, f, o]| (i, f, o));
        let mut all = Vec::with_capacity(if keep { t as usize } else { 0 });
        for i in 0..t {
            let supports = graph.at(i as usize);
            let xb = c.op.basis_node_major(&xm.get(i), supports);
            let terms: Vec<Tensor> = (0..gates)
                .map(|g| {
                    let bias = self.conv_x.bs.as_ref().map(|b| b.narrow(0, g * hid, hid));
                    node_linear(None, &xb, &self.conv_x.ws.narrow(0, g * hid, hid), bias.as_ref())
                })
                .collect();
            let maps = GraphMaps { cell: self, supports };
            let (h_new, c_new) = cell_step(c.kind, &terms, &h, cell.as_ref(), &maps, c.reset, peepholes);
            h = h_new;
            cell = c_new;
            if keep {
                all.push(h.transpose(0, 1));
            }
        }
        let last = RnnState {
            h: h.transpose(0, 1),
            c: cell.map(|c| c.transpose(0, 1)),
        };
        Ok((all, last))
    }
}

/// The state's linear maps of a [`GraphRecurrent`] at one step: gate `g`'s
/// rows of `conv_h` as a graph filter of the state (or a plain product when
/// the state does not see the graph).
struct GraphMaps<'a> {
    cell: &'a GraphRecurrent,
    supports: &'a [Tensor],
}

impl GraphMaps<'_> {
    /// `acc + U_g(s)` (`acc` `None`: `U_g(s)`) for gate `g`.
    fn gate(&self, acc: Option<&Tensor>, s: &Tensor, g: i64) -> Tensor {
        let (cell, hid) = (self.cell, self.cell.hidden);
        let w = cell.conv_h.ws.narrow(0, g * hid, hid);
        let b = cell.conv_h.bs.as_ref().map(|b| b.narrow(0, g * hid, hid));
        if cell.config.state_graph {
            cell.config.op.filter_acc(acc, s, self.supports, &w, b.as_ref())
        } else {
            node_linear(acc, s, &w, b.as_ref())
        }
    }
}

impl StateMaps for GraphMaps<'_> {
    fn apply(&self, s: &Tensor, gates: std::ops::Range<i64>) -> Vec<Tensor> {
        gates.map(|g| self.gate(None, s, g)).collect()
    }

    // The input term is added inside the filter's products, not after them.
    fn apply_acc(&self, acc: &[Tensor], s: &Tensor, gates: std::ops::Range<i64>) -> Vec<Tensor> {
        assert_eq!(acc.len() as i64, gates.end - gates.start, "one term per gate");
        gates.zip(acc).map(|(g, a)| self.gate(Some(a), s, g)).collect()
    }
}

impl Encoder for GraphRecurrent {
    fn hidden_size(&self) -> i64 {
        self.hidden
    }
    fn f_encode(&self, x: &Tensor, graph: &Supports) -> Result<Tensor> {
        Ok(self.run(x, graph, None, false)?.1.h)
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
    pub(crate) tgcn: GraphRecurrent,
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
    /// [`GraphRecurrent::tgcn_pgt`] from the state given to
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
                GraphRecurrent::f_tgcn(base, in_features, hidden)?
            } else {
                GraphRecurrent::f_tgcn_pgt(base, in_features, hidden)?
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
        let state = h0.map(|h| RnnState {
            h: h.shallow_clone(),
            c: None,
        });
        let all = if self.carry {
            self.tgcn.f_forward(x, graph, state.as_ref())?.0
        } else {
            // Every period from the same state: check the whole input once, then step.
            check_sequence("A3tgcn", x, self.tgcn.in_features, None, (GraphOp::Gcn, 1), graph)?;
            let state = state.unwrap_or_else(|| self.tgcn.zero_state(s[0], s[2]));
            let steps = (0..self.periods)
                .map(|t| Ok(self.tgcn.f_step(&x.select(1, t), &state, graph.at(t as usize))?.h))
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
