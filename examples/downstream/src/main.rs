//! A 2-layer GCN (Kipf and Welling 2017) on Cora, written against seqgraph's layers.
use graph_models::{GcnConfig, GcnConv, GnnLayer, NodeData};
use tch::{nn, nn::OptimizerConfig, Device, Kind};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    tch::manual_seed(0);
    // Fetched once (mirror or original URL), checked against its SHA-256.
    let data = NodeData::from_dataset(graph_data::planetoid::load_cora()?, Device::Cpu)?;
    let (vs, config) = (nn::VarStore::new(Device::Cpu), GcnConfig::default());
    let conv1 = GcnConv::new(&(vs.root() / "conv1"), data.x.shape()[1], 16, config);
    let conv2 = GcnConv::new(&(vs.root() / "conv2"), 16, data.num_classes, config);
    let forward = |train: bool| {
        let h = conv1.forward_t(&data.x.dropout(0.5, train), &data.graph, train);
        conv2.forward_t(&h.relu().dropout(0.5, train), &data.graph, train)
    };
    let labels = |ids| data.labels.index_select(0, ids);
    let mut adam = nn::Adam::default().wd(5e-4).build(&vs, 0.01)?;
    for _ in 0..200 {
        let logits = forward(true).index_select(0, &data.train);
        adam.backward_step(&logits.cross_entropy_for_logits(&labels(&data.train)));
    }
    let logits = tch::no_grad(|| forward(false)).index_select(0, &data.test);
    let correct = logits.argmax(-1, false).eq_tensor(&labels(&data.test));
    let accuracy = correct.to_kind(Kind::Float).mean(Kind::Float).double_value(&[]);
    println!("2-layer GCN on Cora: test accuracy {:.1} %", 100.0 * accuracy);
    Ok(())
}
