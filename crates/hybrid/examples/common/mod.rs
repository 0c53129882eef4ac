//! What the scaling examples share: timing a forecaster's training steps.

use hybrid::{Forecaster, ModelConfig, Supports};
use std::time::Instant;
use tch::nn::OptimizerConfig;
use tch::{nn, Device, Kind, Tensor};
use train_utils::memory::peak_rss_mib;

/// Builds the model of `config` with Adam (1e-3), draws a batch of `b` random
/// sequences `x` `(B, T, N, F)` and targets `y` `(B, N, horizon)`, and runs
/// `steps` training steps (forward, MSE, backward, Adam), printing each.
/// Returns the best step's seconds and the peak RSS in MiB before the steps.
pub fn time_training_steps(
    config: &ModelConfig,
    graph: &Supports,
    b: i64,
    steps: usize,
) -> Result<(f64, Option<f64>), Box<dyn std::error::Error>> {
    let vs = nn::VarStore::new(Device::Cpu);
    let model = Forecaster::new(vs.root(), config);
    let mut opt = nn::Adam::default().build(&vs, 1e-3)?;
    let opts = (Kind::Float, Device::Cpu);
    let x = Tensor::randn([b, config.periods, config.nodes, config.in_features], opts);
    let y = Tensor::randn([b, config.nodes, config.horizon], opts);
    let before = peak_rss_mib();
    let mut best = f64::INFINITY;
    for _ in 0..steps {
        let start = Instant::now();
        let loss = (model.f_forward(&x, graph)? - &y).square().mean(Kind::Float);
        opt.backward_step(&loss);
        let secs = start.elapsed().as_secs_f64();
        best = best.min(secs);
        println!("step: {secs:.2} s, loss {:.4}", loss.double_value(&[]));
    }
    Ok((best, before))
}
