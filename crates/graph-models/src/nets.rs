//! The node-classification networks of [`Arch`](crate::Arch), built from the
//! layers, each recording its hidden representations layer by layer (for the
//! over-smoothing measures).

use std::borrow::Borrow;

use tch::{nn, nn::Module, Tensor};

use crate::appnp::{Appnp, AppnpConfig};
use crate::error::Result;
use crate::features::NodeFeatures;
use crate::gat::{GatConfig, GatConv};
use crate::gcn::{GcnConfig, GcnConv};
use crate::gcn2::{Gcn2Config, Gcn2Conv};
use crate::graph::{check_x, Graph};
use crate::jk::{JkMode, JumpingKnowledge};
use crate::layer::{FastDropout, GnnLayer};
use crate::node_model::NodeModel;
use crate::residual::{ResPlus, ResPlusConfig};
use crate::sage::{SageConfig, SageConv};

fn relu_dropout(h: Tensor, p: f64, train: bool) -> Tensor {
    h.relu().fast_dropout(p, train)
}

/// Where graph layer `i` of a stack keeps its parameters: `convs.i`, the
/// first in group 1 (the group Kipf's recipe puts weight decay on).
fn conv_path<'a>(p: &nn::Path<'a>, i: usize) -> nn::Path<'a> {
    let convs = p / "convs";
    if i == 0 {
        &convs.set_group(1) / i
    } else {
        &convs / i
    }
}

/// `x @ W^T + b` for dense or sparse `x` (the first layer of an MLP), after
/// checking `x` against the layer and the graph; `model` names the network.
fn input_linear(model: &str, x: &Tensor, graph: &Graph, lin: &nn::Linear) -> Result<Tensor> {
    check_x(model, x, graph, lin.ws.size()[1], lin.ws.kind())?;
    let out = x.mm(&lin.ws.tr());
    Ok(match &lin.bs {
        Some(b) => out + b,
        None => out,
    })
}

/// Runs a plain stack of graph layers on `h` (already dropped out): each
/// hidden layer's output goes through `act`, is recorded, and is dropped out
/// (rate `p`) before the next layer; the last layer's output is recorded and
/// returned as it is.
fn stack_forward<L: GnnLayer>(
    convs: &[L],
    mut h: Tensor,
    graph: &Graph,
    train: bool,
    p: f64,
    act: fn(&Tensor) -> Tensor,
    record: &mut Vec<Tensor>,
) -> Result<Tensor> {
    let last = convs.len().saturating_sub(1);
    for (i, conv) in convs.iter().enumerate() {
        let mut out = conv.f_forward_t(&h, graph, train)?;
        if i < last {
            out = act(&out);
        }
        record.push(out.shallow_clone());
        h = if i < last { out.fast_dropout(p, train) } else { out };
    }
    Ok(h)
}

/// Stack of [`GcnConv`], hidden layers with ReLU and dropout 0.5.
///
/// Shapes: `x` `[N, in_dim]` (dense or sparse) -> logits `[N, classes]`.
#[derive(Debug)]
pub struct Gcn {
    convs: Vec<GcnConv>,
    dropout: f64,
}

impl Gcn {
    /// `depth` layers `in -> hidden -> ... -> classes`; the first layer's
    /// parameters sit in group 1 (weight decay).
    pub fn new<'a, P: Borrow<nn::Path<'a>>>(
        p: P,
        in_dim: i64,
        hidden: i64,
        classes: i64,
        depth: usize,
    ) -> Self {
        let p = p.borrow();
        let dims: Vec<i64> = std::iter::once(in_dim)
            .chain(std::iter::repeat_n(hidden, depth - 1))
            .chain([classes])
            .collect();
        let convs = (0..depth)
            .map(|i| GcnConv::new(conv_path(p, i), dims[i], dims[i + 1], GcnConfig::default()))
            .collect();
        Gcn { convs, dropout: 0.5 }
    }
}

impl NodeModel for Gcn {
    fn f_forward_recorded(
        &self,
        x: &NodeFeatures,
        graph: &Graph,
        train: bool,
        record: &mut Vec<Tensor>,
    ) -> Result<Tensor> {
        let h = x.dropout(self.dropout, train);
        stack_forward(&self.convs, h, graph, train, self.dropout, Tensor::relu, record)
    }
}

/// Residual GCN, DeepGCN's ResGCN+ (Li et al. 2020): a [`GcnConv`] into
/// `hidden` channels, `depth - 2` [`ResPlus`] blocks
/// `h + conv(dropout(relu(norm(h))))`, and a pre-activation output layer
/// `conv(dropout(relu(norm(h))))` to the classes; `depth` graph layers in all
/// (one plain [`GcnConv`] when `depth` is 1). The layer norms keep the scale
/// of the growing residual stream in check, so a deep stack still trains.
/// Dropout 0.5; the first layer's parameters sit in group 1 (weight decay).
///
/// Shapes: `x` `[N, in_dim]` (dense or sparse) -> logits `[N, classes]`.
#[derive(Debug)]
pub struct ResGcn {
    conv_in: GcnConv,
    blocks: Vec<ResPlus<GcnConv>>,
    out: Option<(nn::LayerNorm, GcnConv)>,
    dropout: f64,
}

impl ResGcn {
    /// `depth` layers `in -> hidden -> ... -> classes`.
    pub fn new<'a, P: Borrow<nn::Path<'a>>>(
        p: P,
        in_dim: i64,
        hidden: i64,
        classes: i64,
        depth: usize,
    ) -> Self {
        let p = p.borrow();
        let dropout = 0.5;
        let first_out = if depth == 1 { classes } else { hidden };
        let conv_in = GcnConv::new(
            &(p.set_group(1) / "conv_in"),
            in_dim,
            first_out,
            GcnConfig::default(),
        );
        let blocks = (0..depth.saturating_sub(2))
            .map(|i| {
                let path = p / "blocks" / i;
                let conv = GcnConv::new(&(&path / "conv"), hidden, hidden, GcnConfig::default());
                ResPlus::new(&path, hidden, conv, ResPlusConfig { dropout })
            })
            .collect();
        let out = (depth > 1).then(|| {
            let norm = nn::layer_norm(p / "out" / "norm", vec![hidden], Default::default());
            (
                norm,
                GcnConv::new(&(p / "out" / "conv"), hidden, classes, GcnConfig::default()),
            )
        });
        ResGcn {
            conv_in,
            blocks,
            out,
            dropout,
        }
    }
}

impl NodeModel for ResGcn {
    fn f_forward_recorded(
        &self,
        x: &NodeFeatures,
        graph: &Graph,
        train: bool,
        record: &mut Vec<Tensor>,
    ) -> Result<Tensor> {
        let mut h = self
            .conv_in
            .f_forward_t(&x.dropout(self.dropout, train), graph, train)?;
        record.push(h.shallow_clone());
        for block in &self.blocks {
            h = block.f_forward_t(&h, graph, train)?;
            record.push(h.shallow_clone());
        }
        if let Some((norm, conv)) = &self.out {
            h = conv.f_forward_t(
                &norm.forward(&h).relu().fast_dropout(self.dropout, train),
                graph,
                train,
            )?;
            record.push(h.shallow_clone());
        }
        Ok(h)
    }
}

/// GAT: hidden layers of 8 heads x 8 (concatenated, ELU), a one-head output
/// layer, dropout 0.6 on inputs and attention.
///
/// Shapes: `x` `[N, in_dim]` (dense or sparse) -> logits `[N, classes]`.
#[derive(Debug)]
pub struct Gat {
    convs: Vec<GatConv>,
    dropout: f64,
}

impl Gat {
    /// `depth` layers to `classes`.
    pub fn new<'a, P: Borrow<nn::Path<'a>>>(p: P, in_dim: i64, classes: i64, depth: usize) -> Self {
        let p = p.borrow();
        let (heads, hidden, dropout) = (8, 8, 0.6);
        let convs = (0..depth)
            .map(|i| {
                let last = i + 1 == depth;
                let input = if i == 0 { in_dim } else { heads * hidden };
                let config = GatConfig {
                    heads: if last { 1 } else { heads },
                    concat: !last,
                    dropout,
                    ..GatConfig::default()
                };
                GatConv::new(
                    &(p / "convs" / i),
                    input,
                    if last { classes } else { hidden },
                    config,
                )
            })
            .collect();
        Gat { convs, dropout }
    }
}

impl NodeModel for Gat {
    fn f_forward_recorded(
        &self,
        x: &NodeFeatures,
        graph: &Graph,
        train: bool,
        record: &mut Vec<Tensor>,
    ) -> Result<Tensor> {
        let h = x.dropout(self.dropout, train);
        stack_forward(&self.convs, h, graph, train, self.dropout, Tensor::elu, record)
    }
}

/// GraphSAGE (mean), hidden ReLU and dropout 0.5 (hidden representations
/// recorded after the ReLU).
///
/// Shapes: `x` `[N, in_dim]` (dense or sparse) -> logits `[N, classes]`.
#[derive(Debug)]
pub struct Sage {
    convs: Vec<SageConv>,
}

impl Sage {
    /// `depth` layers `in -> hidden -> ... -> classes`.
    pub fn new<'a, P: Borrow<nn::Path<'a>>>(
        p: P,
        in_dim: i64,
        hidden: i64,
        classes: i64,
        depth: usize,
    ) -> Self {
        let p = p.borrow();
        let convs = (0..depth)
            .map(|i| {
                let input = if i == 0 { in_dim } else { hidden };
                let output = if i + 1 == depth { classes } else { hidden };
                SageConv::new(conv_path(p, i), input, output, SageConfig::default())
            })
            .collect();
        Sage { convs }
    }
}

impl NodeModel for Sage {
    fn f_forward_recorded(
        &self,
        x: &NodeFeatures,
        graph: &Graph,
        train: bool,
        record: &mut Vec<Tensor>,
    ) -> Result<Tensor> {
        let h = x.dropout(0.5, train);
        stack_forward(&self.convs, h, graph, train, 0.5, Tensor::relu, record)
    }
}

/// APPNP: a two-layer MLP (hidden 64, dropout 0.5) then `depth` x 5 steps
/// of personalised-PageRank propagation (10 steps for the default depth 2).
///
/// Shapes: `x` `[N, in_dim]` (dense or sparse) -> logits `[N, classes]`.
#[derive(Debug)]
pub struct AppnpNet {
    lin1: nn::Linear,
    lin2: nn::Linear,
    prop: Appnp,
}

impl AppnpNet {
    /// The network; `depth` scales the propagation steps.
    pub fn new<'a, P: Borrow<nn::Path<'a>>>(
        p: P,
        in_dim: i64,
        hidden: i64,
        classes: i64,
        depth: usize,
    ) -> Self {
        let p = p.borrow();
        let lin1 = nn::linear(p.set_group(1) / "lin1", in_dim, hidden, Default::default());
        let lin2 = nn::linear(p / "lin2", hidden, classes, Default::default());
        AppnpNet {
            lin1,
            lin2,
            prop: Appnp::new(AppnpConfig {
                k: 5 * depth,
                alpha: 0.1,
            }),
        }
    }
}

impl NodeModel for AppnpNet {
    fn f_forward_recorded(
        &self,
        x: &NodeFeatures,
        graph: &Graph,
        train: bool,
        record: &mut Vec<Tensor>,
    ) -> Result<Tensor> {
        let h = input_linear("AppnpNet", &x.dropout(0.5, train), graph, &self.lin1)?;
        let h = self.lin2.forward(&relu_dropout(h, 0.5, train));
        let out = self.prop.f_forward_t(&h, graph, train)?;
        record.push(out.shallow_clone());
        Ok(out)
    }
}

/// GCNII: linear in, `depth` [`Gcn2Conv`] layers (hidden 64, alpha 0.1,
/// theta 0.5, dropout 0.6), linear out. Group 0 (convs) gets weight decay
/// 0.01, group 1 (linears) 5e-4, as the paper.
///
/// Shapes: `x` `[N, in_dim]` (dense or sparse) -> logits `[N, classes]`.
#[derive(Debug)]
pub struct Gcn2Net {
    lin_in: nn::Linear,
    lin_out: nn::Linear,
    convs: Vec<Gcn2Conv>,
}

impl Gcn2Net {
    /// The network.
    pub fn new<'a, P: Borrow<nn::Path<'a>>>(
        p: P,
        in_dim: i64,
        hidden: i64,
        classes: i64,
        depth: usize,
    ) -> Self {
        let p = p.borrow();
        let lins = p.set_group(1) / "lins";
        let lin_in = nn::linear(&lins / 0, in_dim, hidden, Default::default());
        let lin_out = nn::linear(&lins / 1, hidden, classes, Default::default());
        let convs = (0..depth)
            .map(|i| {
                let config = Gcn2Config {
                    alpha: 0.1,
                    theta: 0.5,
                    layer: i + 1,
                };
                Gcn2Conv::new(p / "convs" / i, hidden, config)
            })
            .collect();
        Gcn2Net {
            lin_in,
            lin_out,
            convs,
        }
    }
}

impl NodeModel for Gcn2Net {
    fn f_forward_recorded(
        &self,
        x: &NodeFeatures,
        graph: &Graph,
        train: bool,
        record: &mut Vec<Tensor>,
    ) -> Result<Tensor> {
        let x = x.dropout(0.6, train);
        let x0 = input_linear("Gcn2Net", &x, graph, &self.lin_in)?.relu();
        let mut h = x0.shallow_clone();
        for conv in &self.convs {
            h = conv.f_forward(&h.fast_dropout(0.6, train), &x0, graph)?.relu();
            record.push(h.shallow_clone());
        }
        Ok(self.lin_out.forward(&h.fast_dropout(0.6, train)))
    }
}

/// JK-Net: `depth` GCN layers (hidden 16, ReLU, dropout 0.5), jumping
/// knowledge over all of them, then a linear classifier.
///
/// Shapes: `x` `[N, in_dim]` (dense or sparse) -> logits `[N, classes]`.
#[derive(Debug)]
pub struct JkNet {
    convs: Vec<GcnConv>,
    jk: JumpingKnowledge,
    lin: nn::Linear,
}

impl JkNet {
    /// The network with the given combination `mode`.
    pub fn new<'a, P: Borrow<nn::Path<'a>>>(
        p: P,
        in_dim: i64,
        hidden: i64,
        classes: i64,
        depth: usize,
        mode: JkMode,
    ) -> Self {
        let p = p.borrow();
        let convs = (0..depth)
            .map(|i| {
                GcnConv::new(
                    conv_path(p, i),
                    if i == 0 { in_dim } else { hidden },
                    hidden,
                    GcnConfig::default(),
                )
            })
            .collect();
        let jk = JumpingKnowledge::new(&(p / "jk"), mode, hidden, depth);
        let lin = nn::linear(p / "lin", jk.out_channels(), classes, Default::default());
        JkNet { convs, jk, lin }
    }
}

impl NodeModel for JkNet {
    fn f_forward_recorded(
        &self,
        x: &NodeFeatures,
        graph: &Graph,
        train: bool,
        record: &mut Vec<Tensor>,
    ) -> Result<Tensor> {
        let mut h = x.dropout(0.5, train);
        let mut outs = Vec::with_capacity(self.convs.len());
        for conv in &self.convs {
            let out = conv.f_forward_t(&h, graph, train)?.relu();
            record.push(out.shallow_clone());
            h = out.fast_dropout(0.5, train);
            outs.push(out);
        }
        let combined = self.jk.f_forward(&outs)?;
        Ok(self.lin.forward(&combined.fast_dropout(0.5, train)))
    }
}
