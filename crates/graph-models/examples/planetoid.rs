//! Trains one architecture on Cora or CiteSeer over a few seeds through the
//! library's recipe: `cargo run --release -p graph-models --example planetoid -- gcn cora 10`.

use graph_models::{node_classification, Arch, NodeConfig};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arch = Arch::parse(args.first().map_or("gcn", String::as_str)).ok_or("unknown model")?;
    let config = NodeConfig {
        arch,
        dataset: args.get(1).cloned().unwrap_or_else(|| "cora".into()),
        seeds: args.get(2).map_or(Ok(3), |s| s.parse())?,
        layers: args.get(3).map(|s| s.parse()).transpose()?,
        ..NodeConfig::default()
    };
    let s = node_classification(&config)?;
    println!(
        "{} {}: test {:.2} ± {:.2} % over {} seeds {:?}, median {:.2} ms/epoch",
        s.model, s.dataset, s.test_acc_mean, s.test_acc_std, s.seeds, s.test_accs, s.ms_per_epoch
    );
    Ok(())
}
