//! Tree-LSTM training throughput on real SST trees: one step (forward, root
//! classifier loss, backward, Adam) on a batch of 25 training sentences, the
//! level-batched pass (schedule and plan built inside the step) against the
//! straightforward node-by-node recursion over the same cell and parameters.
//! Throughput is in sentences per second.
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use graph_data::fetch::Fetcher;
use graph_data::ptb;
use graph_data::tree::Tree;
use seq_models::schedule::Schedule;
use seq_models::tree_lstm::TreeLstm;
use tch::nn::{self, Module, OptimizerConfig};
use tch::{Device, Kind, Tensor};

fn tree_lstm_train_step(c: &mut Criterion) {
    seqgraph_benches::setup();
    let sst = ptb::load_sst(&Fetcher::from_env()).expect("SST from the data mirror");
    let batch: Vec<&Tree> = sst.train[..25].iter().map(|t| &t.tree).collect();
    let labels: Vec<i64> = sst.train[..25].iter().map(|t| t.root_label() as i64).collect();
    let labels = Tensor::from_slice(&labels);
    let mut roots = Vec::new();
    let mut offset = 0;
    for t in &batch {
        roots.push((offset + t.root()) as i64);
        offset += t.len();
    }
    let roots = Tensor::from_slice(&roots);
    let (dim, hidden) = (100, 100);
    let mut group = c.benchmark_group("tree_lstm_train_step");
    group.throughput(Throughput::Elements(batch.len() as u64));
    group.sample_size(10);
    for arity in [None, Some(2)] {
        let name = if arity.is_some() { "n_ary" } else { "child_sum" };
        tch::manual_seed(0);
        let vs = nn::VarStore::new(Device::Cpu);
        let cell = match arity {
            None => TreeLstm::child_sum(vs.root(), dim, hidden),
            Some(n) => TreeLstm::n_ary(vs.root(), dim, hidden, n),
        };
        let head = nn::linear(vs.root() / "head", hidden, 5, Default::default());
        let mut opt = nn::Adam::default().build(&vs, 1e-3).expect("Adam");
        let x = Tensor::randn([offset as i64, dim], (Kind::Float, Device::Cpu));
        let mut step = |h: Tensor| {
            let loss = head
                .forward(&h.index_select(0, &roots))
                .cross_entropy_for_logits(&labels);
            opt.backward_step(&loss);
        };
        group.bench_function(format!("{name}/level_batched"), |b| {
            b.iter(|| {
                let schedule = Schedule::forest(&batch);
                let plan = schedule.plan(Device::Cpu, arity).expect("binary trees");
                step(cell.forward(&x, &plan).h)
            })
        });
        group.bench_function(format!("{name}/node_by_node"), |b| {
            b.iter(|| {
                let schedule = Schedule::forest(&batch);
                step(cell.f_forward_node_by_node(&x, &schedule).expect("forward").h)
            })
        });
    }
    group.finish();
}

criterion_group!(benches, tree_lstm_train_step);
criterion_main!(benches);
