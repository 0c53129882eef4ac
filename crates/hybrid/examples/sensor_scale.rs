//! Scaling run: a GConvGRU forecaster (hidden 32, K = 2, horizon 12) on a
//! 100 x 100 grid sensor graph (10,000 nodes, sparse scaled Laplacian), one
//! batch of B = 32 sequences of T = 12 steps: seconds per training step
//! (forward, MSE, backward, Adam) and peak resident memory.
//!
//! `cargo run --release -p hybrid --example sensor_scale -- [rows] [cols] [steps]`

use graph_data::csr::Csr;
use graph_data::generate;
use hybrid::{ModelConfig, ModelKind, Supports};
use train_utils::memory::{keep_freed_memory, peak_rss_mib};

mod common;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let arg = |i: usize, default: usize| {
        std::env::args()
            .nth(i)
            .and_then(|s| s.parse().ok())
            .unwrap_or(default)
    };
    let (rows, cols, steps) = (arg(1, 100), arg(2, 100), arg(3, 3));
    tch::set_num_threads(1);
    // `SEQGRAPH_DEFAULT_MALLOC=1` keeps glibc's defaults, to compare.
    if std::env::var_os("SEQGRAPH_DEFAULT_MALLOC").is_none() {
        keep_freed_memory();
    }
    tch::manual_seed(0);
    let adj = Csr::from_edge_list(&generate::grid(rows, cols))?;
    let n = adj.num_nodes() as i64;
    let graph = Supports::Static(ModelKind::GConvGru.support_kind().supports(&adj, false)?);
    let (b, t) = (32, 12);
    let config = ModelConfig {
        kind: ModelKind::GConvGru,
        in_features: 1,
        hidden: 32,
        k: 2,
        periods: t,
        nodes: n,
        horizon: 12,
        head: hybrid::Head::ReluLinear,
    };
    let (best, before) = common::time_training_steps(&config, &graph, b, steps)?;
    println!(
        "GConvGRU on a {rows}x{cols} grid ({n} nodes, {} edges), B={b}, T={t}, hidden 32, K=2, 1 thread: \
         best training step {best:.2} s, peak RSS {:.0} MiB (after data: {:.0} MiB)",
        adj.nnz(),
        peak_rss_mib().unwrap_or(f64::NAN),
        before.unwrap_or(f64::NAN)
    );
    Ok(())
}
