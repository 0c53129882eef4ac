//! Over-smoothing, measured: as layers stack, node representations converge
//! and become indistinguishable. Two measures, taken layer by layer from the
//! representations a [`NodeModel`] records during a forward
//! pass, and a depth study that trains networks of growing depth.

use tch::{Kind, Tensor};

use crate::arch::Arch;
use crate::graph::Graph;
use crate::node_model::NodeModel;
use crate::train::{f_fit_node, NodeData};

/// Dirichlet energy with degree normalisation (Rusch et al. 2023), not
/// normalised by the scale of `X` (see [`normalized_dirichlet_energy`]),
/// `E(X) = 1/N sum_{(u,v) in E} || x_u / sqrt(1 + d_u) - x_v / sqrt(1 + d_v) ||^2`,
/// `d` the in-degree. Zero exactly when `X` is constant up to the degree
/// scaling: the fixed point of repeated GCN propagation.
///
/// ```
/// use graph_models::{smoothing::dirichlet_energy, Graph};
/// use tch::Tensor;
/// let g = Graph::new(&Tensor::from_slice2(&[[0i64, 1], [1, 0]]), 2).unwrap();
/// assert_eq!(dirichlet_energy(&Tensor::from_slice2(&[[1.0f32], [1.0]]), &g), 0.0);
/// assert!(dirichlet_energy(&Tensor::from_slice2(&[[1.0f32], [-1.0]]), &g) > 0.0);
/// ```
pub fn dirichlet_energy(x: &Tensor, graph: &Graph) -> f64 {
    let x = x.to_kind(Kind::Double);
    let scale = (graph.in_degree(Kind::Double) + 1.0).rsqrt().unsqueeze(1);
    let y = &x * scale;
    let diff = y.index_select(0, &graph.src()) - y.index_select(0, &graph.dst());
    diff.square().sum(Kind::Double).double_value(&[]) / graph.num_nodes().max(1) as f64
}

/// Normalised Dirichlet energy, the measure the depth study records: the
/// Rayleigh quotient of the GCN-normalised Laplacian
/// `Δ = I - (D + I)^-1/2 (A + I) (D + I)^-1/2`,
///
/// `E_n(X) = tr(X^T Δ X) / tr(X^T X)
///        = 1/2 sum_{(u,v) in E} || x_u / sqrt(1 + d_u) - x_v / sqrt(1 + d_v) ||^2 / ||X||_F^2`
///
/// (`E` holding both directions of each undirected edge, `d` the in-degree).
/// It is scale-free, `E_n(cX) = E_n(X)`, so representations that grow or
/// shrink from layer to layer are compared by their shape alone, and lies in
/// `[0, 2)`. It is 0 exactly on the fixed point of repeated GCN propagation
/// (each column proportional to `sqrt(1 + d)`), and repeated propagation
/// `X <- (D + I)^-1/2 (A + I) (D + I)^-1/2 X` drives it towards 0: over-smoothing.
/// 0 for an all-zero `X`.
///
/// ```
/// use graph_models::{smoothing::normalized_dirichlet_energy, Graph};
/// use tch::Tensor;
/// let g = Graph::new(&Tensor::from_slice2(&[[0i64, 1], [1, 0]]), 2).unwrap();
/// let x = Tensor::from_slice2(&[[1.0f32], [-1.0]]);
/// let e = normalized_dirichlet_energy(&x, &g);
/// assert!((e - 1.0).abs() < 1e-12, "{e}"); // the eigenvector of eigenvalue 1
/// assert!((normalized_dirichlet_energy(&(&x * 1000.0), &g) - e).abs() < 1e-12);
/// ```
pub fn normalized_dirichlet_energy(x: &Tensor, graph: &Graph) -> f64 {
    let norm = x
        .to_kind(Kind::Double)
        .square()
        .sum(Kind::Double)
        .double_value(&[]);
    if norm == 0.0 {
        return 0.0;
    }
    0.5 * dirichlet_energy(x, graph) * graph.num_nodes().max(1) as f64 / norm
}

/// Mean average cosine distance (Chen et al. 2020): for each node, the mean
/// cosine distance `1 - cos(x_i, x_j)` to the nodes at non-zero distance, then
/// the mean over nodes that have any. 0 when all rows point the same way.
pub fn mad(x: &Tensor) -> f64 {
    let x = x.to_kind(Kind::Double);
    let norm = x.norm_scalaropt_dim(2.0, [1].as_slice(), true).clamp_min(1e-12);
    let unit = &x / norm;
    let dist = (-unit.mm(&unit.tr()) + 1.0).clamp_min(0.0);
    let nonzero = dist.gt(1e-12).to_kind(Kind::Double);
    let per_node_count = nonzero.sum_dim_intlist(1, false, Kind::Double);
    let per_node = dist.sum_dim_intlist(1, false, Kind::Double) / per_node_count.clamp_min(1.0);
    let nodes = per_node_count
        .gt(0.0)
        .to_kind(Kind::Double)
        .sum(Kind::Double)
        .double_value(&[]);
    if nodes == 0.0 {
        0.0
    } else {
        per_node.sum(Kind::Double).double_value(&[]) / nodes
    }
}

/// One point of a depth study.
#[derive(Debug, Clone)]
pub struct DepthPoint {
    /// Architecture.
    pub arch: Arch,
    /// Number of graph layers.
    pub depth: usize,
    /// Test accuracy (mean over seeds), in [0, 1].
    pub test_acc: f64,
    /// [`normalized_dirichlet_energy`] of the representation after each graph
    /// layer (first seed, trained model, eval mode).
    pub energy: Vec<f64>,
    /// MAD after each layer (same pass).
    pub mad: Vec<f64>,
    /// [`normalized_dirichlet_energy`] after each graph layer of the same
    /// network freshly initialised, before training (eval mode): propagation
    /// alone, without the weights that training finds.
    pub energy_init: Vec<f64>,
    /// Why training stopped, when a seed's loss or gradients went NaN/Inf
    /// (the NaN guard's message); `test_acc` is then NaN and the trained
    /// measures are empty.
    pub diverged: Option<String>,
}

/// Runs `model` once in eval mode without gradients and returns its
/// per-layer normalised Dirichlet energy and MAD.
fn measure(model: &dyn NodeModel, data: &NodeData) -> (Vec<f64>, Vec<f64>) {
    let mut record = Vec::new();
    let _logits = tch::no_grad(|| model.forward_recorded(&data.x, &data.graph, false, &mut record));
    let energy = record
        .iter()
        .map(|h| normalized_dirichlet_energy(h, &data.graph))
        .collect();
    (energy, record.iter().map(mad).collect())
}

/// What [`depth_study`] trains.
#[derive(Debug, Clone, PartialEq)]
pub struct DepthConfig {
    /// The architectures, each with its published hyperparameters.
    pub archs: Vec<Arch>,
    /// The depths (graph layers) of each.
    pub depths: Vec<usize>,
    /// Seeds `0..seeds` per point (at least one).
    pub seeds: u64,
    /// Caps every architecture's epoch budget.
    pub max_epochs: Option<usize>,
}

impl Default for DepthConfig {
    /// GCN, residual GCN, JK-Net, GCNII and GAT at 2 to 64 layers, 2 seeds.
    fn default() -> Self {
        DepthConfig {
            archs: vec![Arch::Gcn, Arch::ResGcn, Arch::Jk, Arch::Gcn2, Arch::Gat],
            depths: vec![2, 4, 8, 16, 32, 64],
            seeds: 2,
            max_epochs: None,
        }
    }
}

/// Trains each architecture at each depth (its own hyperparameters, epochs
/// capped by `config.max_epochs`) over the seeds, and records accuracy and the
/// per-layer measures; a point whose training diverges is recorded as such.
pub fn depth_study(data: &NodeData, config: &DepthConfig) -> Vec<DepthPoint> {
    let seeds = config.seeds;
    let mut points = Vec::new();
    for &arch in &config.archs {
        for &depth in &config.depths {
            let mut hyper = arch.hyperparams();
            if let Some(e) = config.max_epochs {
                hyper.epochs = hyper.epochs.min(e);
            }
            let mut acc = 0.0;
            let (mut energy, mut mads, mut energy_init) = (Vec::new(), Vec::new(), Vec::new());
            let mut diverged = None;
            for seed in 0..seeds.max(1) {
                tch::manual_seed(seed as i64);
                let vs = tch::nn::VarStore::new(data.graph.device());
                let model = arch.build(vs.root(), data.x.shape()[1], data.num_classes, depth);
                if seed == 0 {
                    energy_init = measure(model.as_ref(), data).0;
                }
                let run = match f_fit_node(model.as_ref(), &vs, data, &hyper) {
                    Ok(run) => run,
                    Err(e) => {
                        diverged = Some(format!("seed {seed}: {e}"));
                        acc = f64::NAN;
                        break;
                    }
                };
                acc += run.test_acc;
                if seed == 0 {
                    (energy, mads) = measure(model.as_ref(), data);
                }
            }
            points.push(DepthPoint {
                arch,
                depth,
                test_acc: acc / seeds.max(1) as f64,
                energy,
                mad: mads,
                energy_init,
                diverged,
            });
        }
    }
    points
}
