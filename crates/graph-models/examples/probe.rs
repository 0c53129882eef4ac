use graph_models::{Arch, NodeData};
use std::time::Instant;
use tch::{nn, nn::OptimizerConfig, Kind};
fn time(name: &str, mut f: impl FnMut()) {
    for _ in 0..5 {
        f();
    }
    let mut v = vec![];
    for _ in 0..40 {
        let t = Instant::now();
        f();
        v.push(t.elapsed().as_secs_f64() * 1e3);
    }
    v.sort_by(f64::total_cmp);
    println!("{name}: median {:.3} ms", v[20]);
}
fn main() {
    tch::set_num_threads(1);
    let data = NodeData::from_dataset(
        graph_data::planetoid::load("cora", &graph_data::fetch::Fetcher::from_env()).unwrap(),
        tch::Device::Cpu,
    )
    .unwrap();
    for arch in [Arch::Gcn, Arch::Gat] {
        let vs = nn::VarStore::new(tch::Device::Cpu);
        let model = arch.build(&vs.root(), 1433, 7, 2);
        let mut opt = nn::Adam::default().build(&vs, 0.01).unwrap();
        let y = data.labels.index_select(0, &data.train);
        time("dropout x", || {
            let _ = data.x.dropout(0.5, true);
        });
        time("forward train", || {
            let _ = model.forward_t(&data.x, &data.graph, true);
        });
        time("forward+loss+backward", || {
            let l = model
                .forward_t(&data.x, &data.graph, true)
                .index_select(0, &data.train)
                .cross_entropy_for_logits(&y);
            l.backward();
        });
        time("full step", || {
            let l = model
                .forward_t(&data.x, &data.graph, true)
                .index_select(0, &data.train)
                .cross_entropy_for_logits(&y);
            opt.backward_step(&l);
        });
        time("eval forward", || {
            let _ = tch::no_grad(|| model.forward_t(&data.x, &data.graph, false)).sum(Kind::Float);
        });
    }
}
