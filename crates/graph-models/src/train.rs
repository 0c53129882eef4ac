//! Full-batch node classification on a fixed split (Planetoid's public one):
//! the training loop behind `cargo xtask train node`.

use std::time::Instant;

use tch::{nn, nn::OptimizerConfig, Device, Kind, Tensor};

use crate::error::Result;
use crate::features::NodeFeatures;
use crate::graph::Graph;
use crate::models::{Arch, NodeModel, Recipe, Select};

/// A node-classification data set on a device.
#[derive(Debug)]
pub struct NodeData {
    /// Input features (sparse when the data set's are).
    pub x: NodeFeatures,
    /// The graph.
    pub graph: Graph,
    /// Class of each node, int64 `[N]`.
    pub labels: Tensor,
    /// Training node ids.
    pub train: Tensor,
    /// Validation node ids.
    pub val: Tensor,
    /// Test node ids.
    pub test: Tensor,
    /// Number of classes.
    pub num_classes: i64,
}

impl NodeData {
    /// Moves a loaded data set to `device`, row-normalising its features first
    /// (PyG's `NormalizeFeatures`, as the Planetoid recipes do).
    pub fn from_dataset(mut ds: graph_data::dataset::NodeDataset, device: Device) -> Result<Self> {
        ds.normalize_features();
        let ids = |v: &[usize]| {
            Tensor::from_slice(&v.iter().map(|&i| i as i64).collect::<Vec<_>>()).to_device(device)
        };
        let graph = Graph::new(&ds.edges.edge_index().to_device(device), ds.num_nodes() as i64)?;
        Ok(NodeData {
            x: NodeFeatures::from_features(&ds.features, device),
            graph,
            labels: Tensor::from_slice(&ds.labels).to_device(device),
            train: ids(&ds.train),
            val: ids(&ds.val),
            test: ids(&ds.test),
            num_classes: ds.num_classes as i64,
        })
    }
}

/// What one training run gives.
#[derive(Debug, Clone)]
pub struct RunResult {
    /// Test accuracy at the selected epoch, in [0, 1].
    pub test_acc: f64,
    /// Validation accuracy at the selected epoch.
    pub val_acc: f64,
    /// Epochs run.
    pub epochs: usize,
    /// Wall time of each training step (forward, backward, optimiser), ms.
    pub epoch_ms: Vec<f64>,
}

fn accuracy(logits: &Tensor, labels: &Tensor, ids: &Tensor) -> f64 {
    let pred = logits.index_select(0, ids).argmax(-1, false);
    pred.eq_tensor(&labels.index_select(0, ids))
        .to_kind(Kind::Double)
        .mean(Kind::Double)
        .double_value(&[])
}

/// Trains `arch` of `depth` layers with `recipe` from seed `seed`.
pub fn train_node(arch: Arch, data: &NodeData, depth: usize, seed: u64, recipe: &Recipe) -> RunResult {
    tch::manual_seed(seed as i64);
    let vs = nn::VarStore::new(data.graph.device());
    let model = arch.build(&vs.root(), data.x.shape()[1], data.num_classes, depth);
    fit(model.as_ref(), &vs, data, recipe)
}

/// Trains an already built `model` whose parameters live in `vs`.
pub fn fit(model: &dyn NodeModel, vs: &nn::VarStore, data: &NodeData, recipe: &Recipe) -> RunResult {
    let mut opt = nn::Adam::default()
        .build(vs, recipe.lr)
        .expect("Adam over a var store");
    for &(group, wd) in &recipe.weight_decay {
        opt.set_weight_decay_group(group, wd);
    }
    let train_labels = data.labels.index_select(0, &data.train);
    let val_labels = data.labels.index_select(0, &data.val);
    let (mut best_loss, mut best_acc, mut since_best) = (f64::INFINITY, -1.0, 0);
    let mut result = RunResult {
        test_acc: 0.0,
        val_acc: 0.0,
        epochs: 0,
        epoch_ms: Vec::new(),
    };
    for _ in 0..recipe.epochs {
        let start = Instant::now();
        let logits = model.forward_t(&data.x, &data.graph, true);
        let loss = logits
            .index_select(0, &data.train)
            .cross_entropy_for_logits(&train_labels);
        opt.backward_step(&loss);
        result.epoch_ms.push(start.elapsed().as_secs_f64() * 1e3);
        result.epochs += 1;

        let logits = tch::no_grad(|| model.forward_t(&data.x, &data.graph, false));
        let val_loss = logits
            .index_select(0, &data.val)
            .cross_entropy_for_logits(&val_labels)
            .double_value(&[]);
        let val_acc = accuracy(&logits, &data.labels, &data.val);
        let better = match recipe.select {
            Select::BestValAcc => val_acc > best_acc,
            Select::BestValLoss => val_loss < best_loss,
        };
        if better {
            result.val_acc = val_acc;
            result.test_acc = accuracy(&logits, &data.labels, &data.test);
        }
        if val_loss < best_loss || val_acc > best_acc {
            since_best = 0;
        } else {
            since_best += 1;
        }
        best_loss = best_loss.min(val_loss);
        best_acc = best_acc.max(val_acc);
        if recipe.patience.is_some_and(|p| since_best >= p) {
            break;
        }
    }
    result
}

/// Median of `xs` (0 when empty).
pub fn median(xs: &[f64]) -> f64 {
    if xs.is_empty() {
        return 0.0;
    }
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    if v.len() % 2 == 1 {
        v[m]
    } else {
        (v[m - 1] + v[m]) / 2.0
    }
}
