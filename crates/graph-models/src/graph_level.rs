//! Graph classification networks over a batch of graphs
//! ([`graph_data::batch::GraphBatch`]): GIN as Xu et al. (ICLR 2019) built it
//! for the TU benchmarks, and GINE (Hu et al., ICLR 2020) with edge features.
//!
//! [`GinNet`]: `L - 1` GIN layers, each
//! `h_v^{(l)} = ReLU(BN(MLP^{(l)}((1 + eps^{(l)}) h_v^{(l-1)} + sum_{u in N(v)} m_uv)))`
//! with a two-layer MLP (`Linear, BN, ReLU, Linear`), `m_uv = h_u` (GIN) or
//! `m_uv = ReLU(h_u + W_e e_uv + b_e)` (GINE); `eps = 0` fixed (GIN-0) or
//! learnt (GIN-eps, GINE). The readout sums every layer's pooled states, the
//! input included (their jumping-knowledge readout):
//! `logits_G = sum_{l=0}^{L-1} Dropout(W^{(l)} pool_{v in G} h_v^{(l)} + b^{(l)})`,
//! `pool` the sum over the graph's nodes (Xu et al.) or their mean
//! ([`GinReadout::Mean`], one of Errica et al.'s choices).
//!
//! Shapes: `x` `[N, F]`, `edge_index` `[2, E]`, `edge_attr` `[E, F_e]` (GINE),
//! `batch` `[N]` -> `[num_graphs, num_classes]`.

use std::borrow::Borrow;

use serde::Serialize;
use tch::{nn, nn::Module, nn::ModuleT, Kind, Tensor};

use crate::error::{check_dropout, check_positive, GnnError, InputError, Result};
use crate::graph::Graph;
use crate::message_passing::{Edges, MessagePassing};
use crate::pool::{add_unchecked, check_batch, counts};

/// Which GIN.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum GinVariant {
    /// `eps = 0`, fixed (the paper's best on most sets).
    Gin0,
    /// `eps` learnt per layer.
    GinEps,
    /// Edge features in the messages (Hu et al. 2020), `eps` learnt.
    Gine,
}

impl GinVariant {
    /// The CLI name: `gin`, `gin-eps`, `gine`.
    pub fn name(self) -> &'static str {
        match self {
            GinVariant::Gin0 => "gin",
            GinVariant::GinEps => "gin-eps",
            GinVariant::Gine => "gine",
        }
    }

    /// Parses [`GinVariant::name`] (`gin-0` is `gin`).
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "gin" | "gin-0" | "gin0" => Some(GinVariant::Gin0),
            "gin-eps" => Some(GinVariant::GinEps),
            "gine" => Some(GinVariant::Gine),
            _ => None,
        }
    }
}

/// How a [`GinNet`] pools each layer's node states into one vector per graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum GinReadout {
    /// The sum over the graph's nodes (Xu et al.: it keeps the multiset's size).
    Sum,
    /// The mean over the graph's nodes (a graph without nodes reads zeros).
    Mean,
}

impl GinReadout {
    /// The CLI name: `sum` or `mean`.
    pub fn name(self) -> &'static str {
        match self {
            GinReadout::Sum => "sum",
            GinReadout::Mean => "mean",
        }
    }

    /// Parses [`GinReadout::name`].
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "sum" => Some(GinReadout::Sum),
            "mean" => Some(GinReadout::Mean),
            _ => None,
        }
    }
}

/// Sizes of a [`GinNet`]; `Default` is Xu et al.'s: 5 layers (4 GIN layers
/// and the input), 64 hidden units, dropout 0.5 on the readout, sum pooling.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct GinNetConfig {
    /// The variant.
    pub variant: GinVariant,
    /// Layers counting the input (`L`; `L - 1` GIN layers).
    pub layers: usize,
    /// Hidden units.
    pub hidden: i64,
    /// Dropout on each layer's readout, during training.
    pub dropout: f64,
    /// The pooling of each layer's readout.
    pub readout: GinReadout,
}

impl Default for GinNetConfig {
    fn default() -> Self {
        GinNetConfig {
            variant: GinVariant::Gin0,
            layers: 5,
            hidden: 64,
            dropout: 0.5,
            readout: GinReadout::Sum,
        }
    }
}

#[derive(Debug)]
struct GinLayer {
    lin1: nn::Linear,
    bn1: nn::BatchNorm,
    lin2: nn::Linear,
    bn: nn::BatchNorm,
    eps: Option<Tensor>,
    edge: Option<nn::Linear>,
}

/// One GIN(E) aggregation as message passing: the message `x_j` (GIN) or
/// `ReLU(x_j + W_e e_ji + b_e)` (GINE, with the edge attributes), summed; the
/// update adds `(1 + eps) x_i`.
impl MessagePassing for GinLayer {
    fn name(&self) -> &str {
        "GinNet"
    }

    fn message(&self, edges: &Edges) -> Tensor {
        let x_j = edges.x_j();
        match (&self.edge, edges.edge_attr) {
            (Some(lin), Some(a)) => (x_j + lin.forward(a)).relu(),
            _ => x_j,
        }
    }

    fn update(&self, aggregated: Tensor, x: &Tensor) -> Tensor {
        match &self.eps {
            Some(eps) => aggregated + x * (eps + 1.0),
            None => aggregated + x,
        }
    }
}

/// GIN / GINE for graph classification (see the module doc).
#[derive(Debug)]
pub struct GinNet {
    layers: Vec<GinLayer>,
    heads: Vec<nn::Linear>,
    config: GinNetConfig,
    in_channels: i64,
    edge_channels: i64,
}

impl GinNet {
    /// A network from `in_channels` node features (and `edge_channels` edge
    /// features for GINE) to `num_classes` logits; panics with
    /// [`GinNet::f_new`]'s message on bad sizes.
    pub fn new<'a, P: Borrow<nn::Path<'a>>>(
        p: P,
        in_channels: i64,
        edge_channels: i64,
        num_classes: i64,
        config: GinNetConfig,
    ) -> Self {
        Self::f_new(p, in_channels, edge_channels, num_classes, config).unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`GinNet::new`], or [`GnnError::Config`] for sizes below 1 (GINE
    /// needs `edge_channels >= 1`), fewer than 2 layers or a dropout outside
    /// `[0, 1)`.
    pub fn f_new<'a, P: Borrow<nn::Path<'a>>>(
        p: P,
        in_channels: i64,
        edge_channels: i64,
        num_classes: i64,
        config: GinNetConfig,
    ) -> Result<Self> {
        let p = p.borrow();
        check_positive("GinNet", "in_channels", in_channels)?;
        check_positive("GinNet", "num_classes", num_classes)?;
        check_positive("GinNet", "hidden", config.hidden)?;
        check_dropout("GinNet", config.dropout)?;
        if config.variant == GinVariant::Gine {
            check_positive("GinNet (GINE)", "edge_channels", edge_channels)?;
        }
        if config.layers < 2 {
            return Err(GnnError::Config(format!(
                "GinNet: layers (counting the input) must be at least 2, got {}",
                config.layers
            )));
        }
        let h = config.hidden;
        let mut layers = Vec::new();
        let mut heads = vec![nn::linear(
            p / "heads" / 0,
            in_channels,
            num_classes,
            Default::default(),
        )];
        for l in 0..config.layers - 1 {
            let q = p / "convs" / l;
            let d_in = if l == 0 { in_channels } else { h };
            let mlp = &q / "nn";
            layers.push(GinLayer {
                lin1: nn::linear(&mlp / "0", d_in, h, Default::default()),
                bn1: nn::batch_norm1d(&mlp / "1", h, Default::default()),
                lin2: nn::linear(&mlp / "3", h, h, Default::default()),
                bn: nn::batch_norm1d(p / "bns" / l, h, Default::default()),
                eps: (config.variant != GinVariant::Gin0).then(|| q.var("eps", &[1], nn::Init::Const(0.0))),
                edge: (config.variant == GinVariant::Gine)
                    .then(|| nn::linear(&q / "lin", edge_channels, d_in, Default::default())),
            });
            heads.push(nn::linear(
                p / "heads" / (l + 1),
                h,
                num_classes,
                Default::default(),
            ));
        }
        Ok(GinNet {
            layers,
            heads,
            config,
            in_channels,
            edge_channels,
        })
    }

    /// The logits; panics with [`GinNet::f_forward_t`]'s message on bad input.
    pub fn forward_t(
        &self,
        x: &Tensor,
        edge_index: &Tensor,
        edge_attr: Option<&Tensor>,
        batch: &Tensor,
        num_graphs: i64,
        train: bool,
    ) -> Tensor {
        self.f_forward_t(x, edge_index, edge_attr, batch, num_graphs, train)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// The logits `[num_graphs, num_classes]`, checking the inputs first.
    pub fn f_forward_t(
        &self,
        x: &Tensor,
        edge_index: &Tensor,
        edge_attr: Option<&Tensor>,
        batch: &Tensor,
        num_graphs: i64,
        train: bool,
    ) -> Result<Tensor> {
        check_batch("GinNet", x, batch, num_graphs)?;
        let n = x.size()[0];
        if x.size()[1] != self.in_channels {
            let expected = format!("[num_nodes, {}]", self.in_channels);
            return Err(InputError::shape("GinNet", "x", expected, x.size()).into());
        }
        if edge_index.dim() != 2 || edge_index.size()[0] != 2 {
            return Err(
                InputError::shape("GinNet", "edge_index", "[2, num_edges]", edge_index.size()).into(),
            );
        }
        InputError::check_kind_device("GinNet", "edge_index", edge_index, Kind::Int64, x.device())?;
        let e = edge_index.size()[1];
        if e > 0 {
            let (lo, hi) = (
                edge_index.min().int64_value(&[]),
                edge_index.max().int64_value(&[]),
            );
            if lo < 0 || hi >= n {
                let v = if lo < 0 { lo } else { hi };
                return Err(
                    InputError::range("GinNet", "edge_index", format!("node ids in 0..{n}"), v).into(),
                );
            }
        }
        let edge_attr = if self.config.variant == GinVariant::Gine {
            let Some(a) = edge_attr else {
                return Err(GnnError::Config("GinNet (GINE) needs edge_attr".into()));
            };
            if a.size() != [e, self.edge_channels] {
                let expected = format!("[{e}, {}]", self.edge_channels);
                return Err(InputError::shape("GinNet", "edge_attr", expected, a.size()).into());
            }
            InputError::check_kind_device("GinNet", "edge_attr", a, x.kind(), x.device())?;
            Some(a)
        } else {
            None
        };
        let graph = Graph::new_unchecked(edge_index, n);
        // Mean pooling divides the sums by the node counts, counted once for all layers.
        let inv_counts = match self.config.readout {
            GinReadout::Sum => None,
            GinReadout::Mean => Some(
                counts(batch, num_graphs, x.kind())
                    .clamp_min(1.0)
                    .reciprocal()
                    .unsqueeze(1),
            ),
        };
        let pool = |h: &Tensor| {
            let sums = add_unchecked(h, batch, num_graphs);
            match &inv_counts {
                Some(inv) => sums * inv,
                None => sums,
            }
        };
        let mut out = self.heads[0]
            .forward(&pool(x))
            .dropout(self.config.dropout, train);
        let mut h = x.shallow_clone();
        for (layer, head) in self.layers.iter().zip(&self.heads[1..]) {
            let edges = Edges::new(&h, &graph);
            let edges = match edge_attr {
                Some(a) => edges.with_edge_attr(a),
                None => edges,
            };
            // The MLP's products are (nodes x 64) by (64 x 64): train-utils' kernel for many rows
            // by a small weight runs them faster than libtorch's GEMM (`addmm` otherwise).
            let lin = |l: &nn::Linear, z: &Tensor| {
                train_utils::small_linear::f_linear(None, z, &l.ws, l.bs.as_ref())
            };
            let z = lin(&layer.lin1, &layer.f_propagate_edges(&edges)?)?;
            let z = layer.bn1.forward_t(&z, train).relu();
            let z = lin(&layer.lin2, &z)?;
            h = layer.bn.forward_t(&z, train).relu();
            out += head.forward(&pool(&h)).dropout(self.config.dropout, train);
        }
        Ok(out)
    }
}
