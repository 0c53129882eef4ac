//! Sampled mini-batch training against full batch on Planetoid (issue 8):
//! GCN and SAGE, each trained full batch with graph-models' `train_node` and
//! on neighbour-sampled mini-batches (`graph_models::minibatch`), over a few
//! seeds.
//!
//! ```sh
//! SEQGRAPH_DATA_MIRROR=/work/shared/datasets \
//!   cargo run --release -p graph-models --example sampled -- cora [--seeds 5] [--fanouts 10,25] [--batch 32] [--epochs 200]
//! ```

use std::time::Instant;

use graph_data::fetch::Fetcher;
use graph_models::minibatch::{train_sampled, SampledConfig, SampledData};
use graph_models::{train_node, Arch, NodeData};
use tch::Device;

type Res<T> = Result<T, Box<dyn std::error::Error>>;

fn option(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

/// Mean and sample standard deviation, in points.
fn stats(xs: &[f64]) -> (f64, f64) {
    let m = xs.iter().sum::<f64>() / xs.len() as f64;
    let var = xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (xs.len().max(2) - 1) as f64;
    (m * 100.0, var.sqrt() * 100.0)
}

fn main() -> Res<()> {
    tch::set_num_threads(1);
    let args: Vec<String> = std::env::args().skip(1).collect();
    let name = args.first().map_or("cora", String::as_str);
    let seeds: u64 = option(&args, "--seeds").map_or(Ok(5), |s| s.parse())?;
    let mut config = SampledConfig::default();
    if let Some(f) = option(&args, "--fanouts") {
        config.fanouts = f.split(',').map(str::parse).collect::<Result<_, _>>()?;
    }
    if let Some(b) = option(&args, "--batch") {
        config.batch_size = b.parse()?;
    }
    if let Some(e) = option(&args, "--epochs") {
        config.epochs = e.parse()?;
    }
    let fetcher = Fetcher::from_env();
    let full = NodeData::from_dataset(graph_data::planetoid::load(name, &fetcher)?, Device::Cpu)?;
    let data = SampledData::from_dataset(graph_data::planetoid::load(name, &fetcher)?)?;
    println!(
        "{name}: sampled fan-outs {:?} (input layer first), batch {}, {} epochs, {seeds} seeds",
        config.fanouts, config.batch_size, config.epochs
    );
    for arch in [Arch::Gcn, Arch::Sage] {
        let t = Instant::now();
        let full_accs: Vec<f64> = (0..seeds)
            .map(|s| train_node(arch, &full, 2, s, &arch.hyperparams()).test_acc)
            .collect();
        let full_secs = t.elapsed().as_secs_f64();
        let runs = (0..seeds)
            .map(|s| train_sampled(arch, &data, &config, s))
            .collect::<Result<Vec<_>, _>>()?;
        let sampled_accs: Vec<f64> = runs.iter().map(|r| r.test_acc).collect();
        let nodes: usize = runs.iter().map(|r| r.sampled_nodes).sum();
        let secs: f64 = runs.iter().map(|r| r.train_seconds).sum();
        let (fm, fs) = stats(&full_accs);
        let (sm, ss) = stats(&sampled_accs);
        println!(
            "{name} {}: full batch {fm:.2} ± {fs:.2} % ({full_secs:.1} s), sampled {sm:.2} ± {ss:.2} % \
             (difference {:+.2} points; {:.0} sampled input nodes/s in training, loader included); per seed full {:?} sampled {:?}",
            arch.name(),
            sm - fm,
            nodes as f64 / secs,
            full_accs.iter().map(|a| (a * 1000.0).round() / 10.0).collect::<Vec<_>>(),
            sampled_accs.iter().map(|a| (a * 1000.0).round() / 10.0).collect::<Vec<_>>(),
        );
    }
    Ok(())
}
