//! Full-batch node classification on a fixed split (Planetoid's public one):
//! the training loop behind `cargo xtask train node`, on `train_utils`
//! (checkpoints, exact resume, NaN/Inf guard, Ctrl-C).

use std::time::Instant;

use serde_json::json;
use tch::{nn, Device, Kind, Tensor};
use train_utils::{Adam, RunIdentity, TrainError, Trainer};

use crate::arch::{Arch, Hyperparams, Select};
use crate::error::Result;
use crate::features::NodeFeatures;
use crate::graph::Graph;
use crate::node_model::NodeModel;

pub use train_utils::TrainOptions;

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

/// What one node-classification training run gives.
#[derive(Debug, Clone)]
pub struct NodeRun {
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

/// Trains `arch` of `depth` layers with `hyper` from seed `seed`, without
/// checkpoints: [`f_train_node`] in tch's panicking idiom.
///
/// # Panics
///
/// When the loss or a gradient turns NaN/Inf (or libtorch fails), with the
/// message of the [`TrainError`] that [`f_train_node`] returns (epoch, the
/// first parameter whose gradient went bad, a hint). It never returns NaN
/// accuracies.
pub fn train_node(arch: Arch, data: &NodeData, depth: usize, seed: u64, hyper: &Hyperparams) -> NodeRun {
    f_train_node(arch, data, depth, seed, hyper)
        .unwrap_or_else(|e| panic!("train_node({}): {e}", arch.name()))
}

/// [`train_node`] returning the typed error instead of panicking: a NaN/Inf
/// loss or gradient gives [`TrainError::NonFinite`] naming the epoch, the
/// parameter and a hint.
pub fn f_train_node(
    arch: Arch,
    data: &NodeData,
    depth: usize,
    seed: u64,
    hyper: &Hyperparams,
) -> std::result::Result<NodeRun, TrainError> {
    let options = TrainOptions::epochs(hyper.epochs);
    train_node_with(arch, data, "node data", depth, seed, hyper, options)
}

/// [`train_node`] through `train_utils::Trainer`: checkpoints every
/// `options.checkpoint_every` epochs, after the last one, on early stopping
/// and (with `options.catch_interrupt`) on Ctrl-C; `options.resume` continues
/// bit for bit on the CPU and refuses a checkpoint of another architecture,
/// depth, recipe, seed or data set (`dataset` names it); a NaN/Inf loss or
/// gradient stops the run with [`TrainError::NonFinite`]. `options.epochs`
/// is the epoch budget (normally `hyper.epochs`).
pub fn train_node_with(
    arch: Arch,
    data: &NodeData,
    dataset: &str,
    depth: usize,
    seed: u64,
    hyper: &Hyperparams,
    options: TrainOptions,
) -> std::result::Result<NodeRun, TrainError> {
    train_utils::determinism::seed_everything(seed);
    let vs = nn::VarStore::new(data.graph.device());
    let model = arch.f_build(vs.root(), data.x.shape()[1], data.num_classes, depth)?;
    let config = json!({
        "depth": depth, "in_dim": data.x.shape()[1], "classes": data.num_classes,
        "lr": hyper.lr, "weight_decay": format!("{:?}", hyper.weight_decay),
        "patience": hyper.patience, "select": format!("{:?}", hyper.select),
    });
    let identity = RunIdentity::new(arch.name(), config, dataset, checksum(data), seed);
    fit_node_with(model.as_ref(), &vs, data, hyper, identity, options)
}

/// Trains an already built `model` whose parameters live in `vs` for
/// `hyper.epochs` epochs, without checkpoints: [`f_fit_node`] in tch's panicking idiom.
///
/// # Panics
///
/// When the loss or a gradient turns NaN/Inf (or libtorch fails), with the
/// message of the [`TrainError`] that [`f_fit_node`] returns.
pub fn fit_node(model: &dyn NodeModel, vs: &nn::VarStore, data: &NodeData, hyper: &Hyperparams) -> NodeRun {
    f_fit_node(model, vs, data, hyper).unwrap_or_else(|e| panic!("fit_node: {e}"))
}

/// [`fit_node`] returning the typed error ([`TrainError::NonFinite`] on NaN/Inf)
/// instead of panicking. Per-epoch dropout seeds are drawn from libtorch's
/// generator, so the caller's seed still decides them.
pub fn f_fit_node(
    model: &dyn NodeModel,
    vs: &nn::VarStore,
    data: &NodeData,
    hyper: &Hyperparams,
) -> std::result::Result<NodeRun, TrainError> {
    let seed = Tensor::f_randint(1 << 62, [1], (Kind::Int64, Device::Cpu))?.f_int64_value(&[0])? as u64;
    let identity = RunIdentity::new("model", json!({}), "node data", "", seed);
    fit_node_with(
        model,
        vs,
        data,
        hyper,
        identity,
        TrainOptions::epochs(hyper.epochs),
    )
}

/// SHA-256 of the features, labels, split and edges: a checkpoint of other data is refused.
fn checksum(data: &NodeData) -> String {
    train_utils::data_checksum(&[
        &data.x.to_dense(),
        &data.labels,
        &data.train,
        &data.val,
        &data.test,
        data.graph.edge_index(),
    ])
}

/// [`f_fit_node`] with checkpoints, resume and the NaN guard (see [`train_node_with`]).
/// Adam is `train_utils::Adam` with `hyper`'s per-group weight decay. The
/// model selection (best validation loss and accuracy, epochs since either
/// improved, the selected epoch's validation and test accuracy) is kept in a
/// non-trained f64 variable `node_selection` added to `vs`, so checkpoints
/// carry it and early stopping and selection continue across a resume.
pub fn fit_node_with(
    model: &dyn NodeModel,
    vs: &nn::VarStore,
    data: &NodeData,
    hyper: &Hyperparams,
    identity: RunIdentity,
    options: TrainOptions,
) -> std::result::Result<NodeRun, TrainError> {
    let device = data.graph.device();
    let selection = vs.root().add(
        "node_selection",
        Tensor::from_slice(&[f64::INFINITY, -1.0, 0.0, 0.0, 0.0]).to_device(device),
        false,
    );
    let adam = Adam::new(hyper.lr).with_group_weight_decay(vs, &hyper.weight_decay);
    let mut trainer = Trainer::new(vs, adam, identity, options);
    let train_labels = data.labels.index_select(0, &data.train);
    let val_labels = data.labels.index_select(0, &data.val);
    let mut epoch_ms = Vec::new();
    let report = trainer.run(|epoch| -> std::result::Result<f64, TrainError> {
        let start = Instant::now();
        let logits = model.f_forward_t(&data.x, &data.graph, true)?;
        let loss = logits
            .index_select(0, &data.train)
            .cross_entropy_for_logits(&train_labels);
        epoch.step(&loss)?;
        epoch_ms.push(start.elapsed().as_secs_f64() * 1e3);

        let logits = tch::no_grad(|| model.f_forward_t(&data.x, &data.graph, false))?;
        let val_loss = logits
            .index_select(0, &data.val)
            .cross_entropy_for_logits(&val_labels)
            .f_double_value(&[])?;
        let val_acc = accuracy(&logits, &data.labels, &data.val);
        let s = Vec::<f64>::try_from(&selection)?;
        let (mut best_loss, mut best_acc, mut since_best) = (s[0], s[1], s[2]);
        let (mut sel_val, mut sel_test) = (s[3], s[4]);
        let better = match hyper.select {
            Select::BestValAcc => val_acc > best_acc,
            Select::BestValLoss => val_loss < best_loss,
            Select::BestValAccAndLoss => val_acc >= best_acc && val_loss <= best_loss,
        };
        if better {
            sel_val = val_acc;
            sel_test = accuracy(&logits, &data.labels, &data.test);
        }
        let improved = match hyper.select {
            Select::BestValAccAndLoss => val_loss <= best_loss || val_acc >= best_acc,
            _ => val_loss < best_loss || val_acc > best_acc,
        };
        if improved {
            since_best = 0.0;
        } else {
            since_best += 1.0;
        }
        best_loss = best_loss.min(val_loss);
        best_acc = best_acc.max(val_acc);
        let state = Tensor::from_slice(&[best_loss, best_acc, since_best, sel_val, sel_test]);
        tch::no_grad(|| selection.shallow_clone().f_copy_(&state))?;
        if hyper.patience.is_some_and(|p| since_best >= p as f64) {
            epoch.stop();
        }
        Ok(loss.f_double_value(&[])?)
    })?;
    let s = Vec::<f64>::try_from(&selection)?;
    Ok(NodeRun {
        test_acc: s[4],
        val_acc: s[3],
        epochs: report.losses.len(),
        epoch_ms,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Kipf's rule: weight decay on the first layer only; GAT's: on every parameter.
    #[test]
    fn recipes_weight_decay_lands_on_the_right_parameters() {
        let _generator = crate::TEST_GENERATOR.lock().unwrap_or_else(|e| e.into_inner());
        let vs = nn::VarStore::new(Device::Cpu);
        let _gcn = Arch::Gcn.build(vs.root(), 12, 3, 2);
        let adam = Adam::new(0.01).with_group_weight_decay(&vs, &Arch::Gcn.hyperparams().weight_decay);
        let names: Vec<String> = vs.variables().into_keys().collect();
        assert!(names.iter().any(|n| n.starts_with("convs.1")), "{names:?}");
        for name in &names {
            let want = if name.starts_with("convs.0.") { 5e-4 } else { 0.0 };
            assert_eq!(adam.weight_decay_of(name), want, "{name}");
        }
        let vs = nn::VarStore::new(Device::Cpu);
        let _gat = Arch::Gat.build(vs.root(), 12, 3, 2);
        let adam = Adam::new(0.01).with_group_weight_decay(&vs, &Arch::Gat.hyperparams().weight_decay);
        for name in vs.variables().keys() {
            assert_eq!(adam.weight_decay_of(name), 5e-4, "{name}");
        }
    }

    /// A 6-node ring with 2 classes; node 0's features are NaN when `poisoned`.
    fn toy(poisoned: bool) -> NodeData {
        tch::manual_seed(0);
        let x = Tensor::randn([6, 4], (Kind::Float, Device::Cpu));
        if poisoned {
            let _ = x.get(0).fill_(f64::NAN);
        }
        let src: Vec<i64> = (0..6).collect();
        let dst: Vec<i64> = (0..6).map(|i| (i + 1) % 6).collect();
        let ei = Tensor::stack(&[Tensor::from_slice(&src), Tensor::from_slice(&dst)], 0);
        NodeData {
            x: NodeFeatures::Dense(x),
            graph: Graph::new(&ei, 6).unwrap(),
            labels: Tensor::from_slice(&[0i64, 1, 0, 1, 0, 1]),
            train: Tensor::from_slice(&[0i64, 1]),
            val: Tensor::from_slice(&[2i64, 3]),
            test: Tensor::from_slice(&[4i64, 5]),
            num_classes: 2,
        }
    }

    fn hyper() -> Hyperparams {
        Hyperparams {
            epochs: 3,
            patience: None,
            ..Arch::Gcn.hyperparams()
        }
    }

    /// NaN features make the first step's loss NaN: the typed error names the
    /// epoch and says so, never NaN accuracies; the panicking entry points
    /// panic with the same message; clean data trains to finite accuracies.
    #[test]
    fn nan_losses_are_typed_errors_not_nan_accuracies() {
        let _generator = crate::TEST_GENERATOR.lock().unwrap_or_else(|e| e.into_inner());
        let bad = toy(true);
        let err = f_train_node(Arch::Gcn, &bad, 2, 0, &hyper()).unwrap_err();
        let TrainError::NonFinite { epoch, ref what, .. } = err else {
            panic!("expected NonFinite, got {err}");
        };
        assert_eq!(epoch, 1);
        assert!(what.contains("the loss is NaN"), "{what}");
        let msg = err.to_string();
        assert!(
            msg.contains("training stopped at epoch 1") && msg.contains("Hint"),
            "{msg}"
        );

        let vs = nn::VarStore::new(Device::Cpu);
        let model = Arch::Gcn.build(vs.root(), 4, 2, 2);
        let err = f_fit_node(model.as_ref(), &vs, &bad, &hyper()).unwrap_err();
        assert!(matches!(err, TrainError::NonFinite { epoch: 1, .. }), "{err}");

        let panic = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            train_node(Arch::Gcn, &bad, 2, 0, &hyper())
        }))
        .unwrap_err();
        let text = panic.downcast_ref::<String>().cloned().unwrap_or_default();
        assert!(
            text.contains("train_node(gcn): training stopped at epoch 1"),
            "{text}"
        );
        let vs = nn::VarStore::new(Device::Cpu);
        let model = Arch::Gcn.build(vs.root(), 4, 2, 2);
        let panic = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            fit_node(model.as_ref(), &vs, &bad, &hyper())
        }))
        .unwrap_err();
        let text = panic.downcast_ref::<String>().cloned().unwrap_or_default();
        assert!(text.contains("fit_node: training stopped at epoch 1"), "{text}");

        let run = f_train_node(Arch::Gcn, &toy(false), 2, 0, &hyper()).unwrap();
        assert_eq!(run.epochs, 3);
        assert!((0.0..=1.0).contains(&run.test_acc) && (0.0..=1.0).contains(&run.val_acc));
    }
}
