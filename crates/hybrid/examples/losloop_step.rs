//! Timing of one Los-loop-sized training step (B = 32, T = 12, N = 207):
//! dense against sparse supports, for each model given on the command line.
//!
//! `cargo run --release -p hybrid --example losloop_step -- tgcn dcrnn`

use graph_data::fetch::Fetcher;
use hybrid::{Forecaster, ModelConfig, ModelKind, Supports};
use std::time::Instant;
use tch::nn::OptimizerConfig;
use tch::{nn, Device, Kind, Tensor};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    tch::set_num_threads(1);
    let signal = graph_data::tabular::load_los_loop(&Fetcher::from_env())?;
    let adj = graph_data::csr::Csr::from_edge_list(&signal.edges)?;
    let n = adj.num_nodes() as i64;
    let kinds: Vec<ModelKind> = std::env::args()
        .skip(1)
        .map(|s| s.parse())
        .collect::<Result<_, _>>()?;
    for kind in kinds {
        for dense in [false, true] {
            tch::manual_seed(0);
            let graph = Supports::Static(kind.support_kind().supports(&adj, dense)?);
            let config = ModelConfig {
                kind,
                in_features: 1,
                hidden: 64,
                k: if matches!(kind, ModelKind::Stgcn | ModelKind::GraphWaveNet) {
                    3
                } else {
                    2
                },
                periods: 12,
                nodes: n,
                horizon: 3,
                ..ModelConfig::default()
            };
            let vs = nn::VarStore::new(Device::Cpu);
            let model = Forecaster::new(vs.root(), &config);
            let mut opt = nn::Adam::default().build(&vs, 1e-3)?;
            let x = Tensor::rand([32, 12, n, 1], (Kind::Float, Device::Cpu));
            let y = Tensor::rand([32, n, 3], (Kind::Float, Device::Cpu));
            let mut best = f64::INFINITY;
            for _ in 0..5 {
                let start = Instant::now();
                let loss = (model.f_forward(&x, &graph)? - &y).square().mean(Kind::Float);
                opt.backward_step(&loss);
                best = best.min(start.elapsed().as_secs_f64());
            }
            println!("{} dense={dense}: best step {:.4} s", kind.name(), best);
        }
    }
    Ok(())
}
