//! Trains one architecture on Cora or CiteSeer over a few seeds:
//! `cargo run --release -p graph-models --example planetoid -- gcn cora 10`.

use graph_models::{median, train_node, Arch, NodeData};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arch = Arch::parse(args.first().map_or("gcn", String::as_str)).ok_or("unknown model")?;
    let dataset = args.get(1).map_or("cora", String::as_str);
    let seeds: u64 = args.get(2).map_or(Ok(3), |s| s.parse())?;
    let layers: usize = args.get(3).map_or(Ok(arch.default_layers()), |s| s.parse())?;
    let device = tch::Device::cuda_if_available();
    let data = NodeData::from_dataset(
        graph_data::planetoid::load(dataset, &graph_data::fetch::Fetcher::from_env())?,
        device,
    )?;
    let (mut accs, mut times) = (Vec::new(), Vec::new());
    for seed in 0..seeds {
        let run = train_node(arch, &data, layers, seed, &arch.recipe());
        println!(
            "seed {seed}: test {:.1} % (val {:.1} %), {} epochs",
            run.test_acc * 100.0,
            run.val_acc * 100.0,
            run.epochs
        );
        accs.push(run.test_acc * 100.0);
        times.extend(run.epoch_ms);
    }
    let mean = accs.iter().sum::<f64>() / accs.len() as f64;
    println!(
        "{} {dataset}: mean {mean:.2} %, median {:.2} ms/epoch",
        arch.name(),
        median(&times)
    );
    Ok(())
}
