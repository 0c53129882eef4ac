//! A 2-layer GCN (Kipf and Welling 2017) on Cora, written against seqgraph's layers.
use graph_models::{GcnConfig, GcnConv, GnnLayer, NodeData};
use tch::{nn, nn::OptimizerConfig, Device, Kind};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    tch::manual_seed(0);
    // Fetched once (mirror or original URL), checked against its SHA-256.
    let data = NodeData::from_dataset(graph_data::planetoid::load_cora()?, Device::Cpu)?;
    let vs = nn::VarStore::new(Device::Cpu);
    let conv1 = GcnConv::new(&(vs.root() / "conv1"), data.x.shape()[1], 16, GcnConfig::default());
    let conv2 = GcnConv::new(&(vs.root() / "conv2"), 16, data.num_classes, GcnConfig::default());
    let forward = |train: bool| {
        let h = conv1.forward_t(&data.x.dropout(0.5, train), &data.graph, train).relu();
        conv2.forward_t(&h.dropout(0.5, train), &data.graph, train)
    };
    let mut adam = nn::Adam::default().wd(5e-4).build(&vs, 0.01)?;
    for _ in 0..200 {
        let logits = forward(true).index_select(0, &data.train);
        adam.backward_step(&logits.cross_entropy_for_logits(&data.labels.index_select(0, &data.train)));
    }
    let pred = tch::no_grad(|| forward(false)).index_select(0, &data.test).argmax(-1, false);
    let correct = pred.eq_tensor(&data.labels.index_select(0, &data.test));
    let accuracy = correct.to_kind(Kind::Float).mean(Kind::Float).double_value(&[]);
    println!("2-layer GCN on Cora: test accuracy {:.1} %", 100.0 * accuracy);
    Ok(())
}
