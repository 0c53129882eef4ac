//! [`Arch`]: the node-classification networks by name, with their published
//! training hyperparameters ([`Hyperparams`]).

use std::borrow::Borrow;

use tch::nn;

use crate::error::{GnnError, Result};
use crate::jk::JkMode;
use crate::nets::{AppnpNet, Gat, Gcn, Gcn2Net, JkNet, ResGcn, Sage};
use crate::node_model::NodeModel;

/// The architectures `train node --model` knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arch {
    /// Kipf and Welling's GCN.
    Gcn,
    /// Residual GCN: DeepGCN's `res+` blocks (layer norm, ReLU, dropout,
    /// GCN layer, then the skip), hidden 64.
    ResGcn,
    /// GAT, 8 heads of 8 in hidden layers.
    Gat,
    /// GraphSAGE, mean aggregator.
    Sage,
    /// MLP then APPNP propagation (K = 10, alpha = 0.1).
    Appnp,
    /// GCNII (alpha 0.1, theta 0.5).
    Gcn2,
    /// GCN layers with jumping knowledge (max) before the classifier.
    Jk,
}

impl Arch {
    /// Parses `gcn`, `res`, `gat`, `sage`, `appnp`, `gcn2`, `jk`.
    pub fn parse(name: &str) -> Option<Arch> {
        Some(match name {
            "gcn" => Arch::Gcn,
            "res" | "resgcn" => Arch::ResGcn,
            "gat" => Arch::Gat,
            "sage" => Arch::Sage,
            "appnp" => Arch::Appnp,
            "gcn2" | "gcnii" => Arch::Gcn2,
            "jk" => Arch::Jk,
            _ => return None,
        })
    }

    /// The short name.
    pub fn name(self) -> &'static str {
        match self {
            Arch::Gcn => "gcn",
            Arch::ResGcn => "res",
            Arch::Gat => "gat",
            Arch::Sage => "sage",
            Arch::Appnp => "appnp",
            Arch::Gcn2 => "gcn2",
            Arch::Jk => "jk",
        }
    }

    /// Default depth (graph layers).
    pub fn default_layers(self) -> usize {
        match self {
            Arch::Gcn2 => 64,
            Arch::Jk => 4,
            _ => 2,
        }
    }

    /// The published training hyperparameters of this architecture.
    pub fn hyperparams(self) -> Hyperparams {
        let kipf = Hyperparams {
            lr: 0.01,
            epochs: 200,
            patience: None,
            weight_decay: vec![(0, 0.0), (1, 5e-4)],
            select: Select::BestValAcc,
        };
        match self {
            Arch::Gcn | Arch::ResGcn | Arch::Jk | Arch::Sage | Arch::Appnp => kipf,
            // Velickovic et al.: lr 0.005, weight decay 5e-4, patience 100 on
            // validation loss and accuracy, and their code's selection rule
            // (both at their best at once). 10 seeds, 1 thread, this trainer:
            // Cora 82.64 +- 0.60, CiteSeer 71.58 +- 1.19 (best validation
            // accuracy alone gave Cora 82.48 +- 0.58, CiteSeer 71.60 +- 1.18).
            Arch::Gat => Hyperparams {
                lr: 0.005,
                epochs: 1000,
                patience: Some(100),
                weight_decay: vec![(0, 5e-4)],
                select: Select::BestValAccAndLoss,
            },
            Arch::Gcn2 => Hyperparams {
                lr: 0.01,
                epochs: 1500,
                patience: Some(100),
                weight_decay: vec![(0, 0.01), (1, 5e-4)],
                select: Select::BestValAcc,
            },
        }
    }

    /// Builds the network under `p` for `depth` graph layers; panics with
    /// [`Arch::f_build`]'s message on a configuration it refuses.
    pub fn build<'a, P: Borrow<nn::Path<'a>>>(
        self,
        p: P,
        in_dim: i64,
        classes: i64,
        depth: usize,
    ) -> Box<dyn NodeModel> {
        self.f_build(p, in_dim, classes, depth)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Builds the network under `p` for `depth` graph layers, or says why it
    /// cannot (no input features, fewer than two classes, no layers).
    pub fn f_build<'a, P: Borrow<nn::Path<'a>>>(
        self,
        p: P,
        in_dim: i64,
        classes: i64,
        depth: usize,
    ) -> Result<Box<dyn NodeModel>> {
        let p = p.borrow();
        let name = self.name();
        if in_dim < 1 {
            return Err(GnnError::Config(format!(
                "{name}: in_dim must be positive, got {in_dim}"
            )));
        }
        if classes < 2 {
            return Err(GnnError::Config(format!(
                "{name}: needs at least 2 classes, got {classes}"
            )));
        }
        if depth < 1 {
            return Err(GnnError::Config(format!(
                "{name}: needs at least one graph layer, got 0"
            )));
        }
        Ok(match self {
            Arch::Gcn => Box::new(Gcn::new(p, in_dim, 16, classes, depth)),
            Arch::ResGcn => Box::new(ResGcn::new(p, in_dim, 64, classes, depth)),
            Arch::Gat => Box::new(Gat::new(p, in_dim, classes, depth)),
            Arch::Sage => Box::new(Sage::new(p, in_dim, 64, classes, depth)),
            Arch::Appnp => Box::new(AppnpNet::new(p, in_dim, 64, classes, depth)),
            Arch::Gcn2 => Box::new(Gcn2Net::new(p, in_dim, 64, classes, depth)),
            Arch::Jk => Box::new(JkNet::new(p, in_dim, 16, classes, depth, JkMode::Max)),
        })
    }
}

/// Which epoch's test accuracy is reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Select {
    /// The epoch of best validation accuracy (PyG's examples).
    BestValAcc,
    /// The epoch of lowest validation loss.
    BestValLoss,
    /// The rule of GAT's reference code (Velickovic et al., `execute_cora.py`):
    /// an epoch is kept when its validation accuracy is at least the best so
    /// far *and* its validation loss at most the lowest so far; the patience
    /// counter restarts when either is (ties included).
    BestValAccAndLoss,
}

/// How a node classifier is trained (Adam): the published settings of each
/// architecture come from [`Arch::hyperparams`].
#[derive(Debug, Clone, PartialEq)]
pub struct Hyperparams {
    /// Learning rate.
    pub lr: f64,
    /// Maximum epochs.
    pub epochs: usize,
    /// Stop after this many epochs without a better validation loss.
    pub patience: Option<usize>,
    /// Weight decay per parameter group (group 1: the first layer, as Kipf).
    pub weight_decay: Vec<(usize, f64)>,
    /// Which epoch is reported.
    pub select: Select,
}
