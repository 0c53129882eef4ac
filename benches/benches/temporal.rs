//! Spatio-temporal benches (hybrid): one training epoch of PyG Temporal's Chickenpox recipe
//! (103 snapshots of 20 counties, 4 lags, 32 filters, ReLU, Linear; forward, MSE, backward, Adam),
//! all snapshots in one batch. The peer, `benches/peers/pgt_chickenpox.py`, times PGT's snapshot loop
//! on the same cases.
use criterion::{criterion_group, criterion_main, Criterion};
use graph_data::fetch::Fetcher;
use graph_data::pgt::{self, Signal};
use hybrid::protocol;
use hybrid::{Forecaster, ModelConfig, ModelKind};
use tch::nn::{self, OptimizerConfig};
use tch::{Device, Kind};

fn chickenpox_epoch(c: &mut Criterion) {
    seqgraph_benches::setup();
    let signal = match pgt::load("chickenpox", &Fetcher::from_env()).expect("Chickenpox from the data mirror")
    {
        Signal::Static(s) => s,
        Signal::Dynamic(_) => panic!("Chickenpox has a static graph"),
    };
    let mut group = c.benchmark_group("temporal_epoch");
    for kind in [ModelKind::Dcrnn, ModelKind::Tgcn] {
        let data = protocol::chickenpox(&signal, kind, 4, 0.2).expect("recipe");
        tch::manual_seed(1);
        let vs = nn::VarStore::new(Device::Cpu);
        let config = ModelConfig {
            kind,
            in_features: data.in_features,
            hidden: 32,
            k: 1,
            periods: data.periods,
            nodes: data.nodes(),
            horizon: 1,
            head: hybrid::Head::ReluLinear,
        };
        let model = Forecaster::new(vs.root(), &config);
        let mut opt = nn::Adam::default().build(&vs, 0.01).expect("Adam");
        let mut epoch = || {
            let pred = model.f_forward(&data.train.x, &data.graph).expect("forward");
            let loss = (pred - &data.train.y).square().mean(Kind::Float);
            opt.backward_step(&loss);
        };
        let case = format!("chickenpox_{}", kind.name());
        seqgraph_benches::record_peak(&format!("temporal_epoch/{case}"), &mut epoch);
        group.bench_function(case.as_str(), |b| b.iter(&mut epoch));
    }
    group.finish();
}

criterion_group!(benches, chickenpox_epoch);
criterion_main!(benches);
