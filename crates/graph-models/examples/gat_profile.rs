//! Where a GAT training epoch's time goes on Cora (one thread by default):
//! `cargo run --release -p graph-models --example gat_profile [cora|citeseer] [threads]`.
//! Prints the median milliseconds of the full step and of its parts, forward
//! and backward. With `OPS=1`: the primitive ops (gathers, scatters, products)
//! at Cora's sizes; with `RNG=1`: dropout against other ways to draw its mask.
use std::time::Instant;

use graph_models::{Arch, GatConfig, GatConv, GnnLayer, NodeData};
use tch::{nn, nn::OptimizerConfig, Device, Kind, Tensor};

fn median_ms(rounds: usize, mut f: impl FnMut()) -> f64 {
    for _ in 0..5 {
        f();
    }
    let mut t: Vec<f64> = (0..rounds)
        .map(|_| {
            let s = Instant::now();
            f();
            s.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    t.sort_by(f64::total_cmp);
    t[t.len() / 2]
}

fn main() {
    let mut args = std::env::args().skip(1);
    let name = args.next().unwrap_or_else(|| "cora".into());
    let threads: i32 = args.next().and_then(|s| s.parse().ok()).unwrap_or(1);
    tch::set_num_threads(threads);
    if std::env::var("KEEP").is_ok() {
        println!("keep_freed_memory: {}", train_utils::memory::keep_freed_memory());
    }
    let ds = graph_data::planetoid::load(&name, &graph_data::fetch::Fetcher::from_env()).expect("data");
    let data = NodeData::from_dataset(ds, Device::Cpu).expect("graph");
    let rounds = 40;
    tch::manual_seed(0);
    let vs = nn::VarStore::new(Device::Cpu);
    let model = Arch::Gat.build(vs.root(), data.x.shape()[1], data.num_classes, 2);
    let mut opt = nn::Adam::default().build(&vs, 0.005).expect("Adam");
    let labels = data.labels.index_select(0, &data.train);
    let step = median_ms(rounds, || {
        let logits = model.forward_t(&data.x, &data.graph, true);
        opt.backward_step(
            &logits
                .index_select(0, &data.train)
                .cross_entropy_for_logits(&labels),
        );
    });
    let fwd = median_ms(rounds, || {
        let _ = model.forward_t(&data.x, &data.graph, true);
    });
    println!("{name}, {threads} thread(s): full step {step:.2} ms, forward {fwd:.2} ms");
    if std::env::var("OPS").is_ok() {
        ops(&data);
        return;
    }
    if std::env::var("RNG").is_ok() {
        rng(173_312);
        rng(106_112);
        return;
    }
    // First layer's product alone.
    let w = Tensor::randn([64, data.x.shape()[1]], (Kind::Float, Device::Cpu)).set_requires_grad(true);
    let f1 = median_ms(rounds, || {
        let _ = data.x.dropout(0.6, true).mm(&w.tr());
    });
    let fb1 = median_ms(rounds, || {
        let mut w = w.shallow_clone();
        w.zero_grad();
        data.x.dropout(0.6, true).mm(&w.tr()).sum(Kind::Float).backward();
    });
    println!("sparse x.W^T: forward {f1:.2} ms, forward+backward {fb1:.2} ms");
    // An attention layer on dense inputs, as layers 1 (64 -> 8x8) and 2 (64 -> 7).
    for (heads, out, concat) in [(8, 8, true), (1, data.num_classes, false)] {
        let vs = nn::VarStore::new(Device::Cpu);
        let conv = GatConv::new(
            vs.root(),
            64,
            out,
            GatConfig {
                heads,
                concat,
                dropout: 0.6,
                ..GatConfig::default()
            },
        );
        let x =
            Tensor::randn([data.graph.num_nodes(), 64], (Kind::Float, Device::Cpu)).set_requires_grad(true);
        let f = median_ms(rounds, || {
            let _ = conv.forward_t(&x, &data.graph, true);
        });
        let fb = median_ms(rounds, || {
            let mut x = x.shallow_clone();
            x.zero_grad();
            conv.forward_t(&x, &data.graph, true).sum(Kind::Float).backward();
        });
        println!("GatConv(64, {heads}x{out}) dense: forward {f:.2} ms, forward+backward {fb:.2} ms");
    }
}

/// Primitive timings at Cora's sizes.
pub fn ops(data: &NodeData) {
    let n = data.graph.num_nodes();
    let ei = data.graph.self_loop_edge_index();
    let (src, dst) = (ei.get(0), ei.get(1));
    let e = src.size()[0];
    let opt = (Kind::Float, Device::Cpu);
    let h = Tensor::randn([n, 64], opt);
    let m = Tensor::randn([e, 64], opt);
    let a = Tensor::randn([e, 8], opt);
    let idx64 = dst.unsqueeze(1).expand([e, 64], false);
    let idx8 = dst.unsqueeze(1).expand([e, 8], false);
    let r = 40;
    println!("E = {e}");
    println!(
        "index_select [N,64] -> [E,64]: {:.3} ms",
        median_ms(r, || {
            let _ = h.index_select(0, &src);
        })
    );
    println!(
        "index_add [E,64] -> [N,64]: {:.3} ms",
        median_ms(r, || {
            let _ = h.zeros_like().index_add(0, &dst, &m);
        })
    );
    println!(
        "scatter_add [E,64] -> [N,64]: {:.3} ms",
        median_ms(r, || {
            let _ = h.zeros_like().scatter_add(0, &idx64, &m);
        })
    );
    println!(
        "index_add [E,8] -> [N,8]: {:.3} ms",
        median_ms(r, || {
            let _ = Tensor::zeros([n, 8], opt).index_add(0, &dst, &a);
        })
    );
    println!(
        "scatter_add [E,8] -> [N,8]: {:.3} ms",
        median_ms(r, || {
            let _ = Tensor::zeros([n, 8], opt).scatter_add(0, &idx8, &a);
        })
    );
    println!(
        "mul [E,8,8]*[E,8,1]: {:.3} ms",
        median_ms(r, || {
            let _ = m.view([e, 8, 8]) * a.unsqueeze(-1);
        })
    );
    println!(
        "exp [E,8]: {:.3} ms",
        median_ms(r, || {
            let _ = a.exp();
        })
    );
    println!(
        "dropout [E,8]: {:.3} ms",
        median_ms(r, || {
            let _ = a.dropout(0.6, true);
        })
    );
    println!(
        "dropout [N,64]: {:.3} ms",
        median_ms(r, || {
            let _ = h.dropout(0.6, true);
        })
    );
    let hg = h.copy().set_requires_grad(true);
    println!(
        "index_select fwd+bwd: {:.3} ms",
        median_ms(r, || {
            let mut hg = hg.shallow_clone();
            hg.zero_grad();
            hg.index_select(0, &src).sum(Kind::Float).backward();
        })
    );
    let mg = m.copy().set_requires_grad(true);
    println!(
        "index_add fwd+bwd: {:.3} ms",
        median_ms(r, || {
            let mut mg = mg.shallow_clone();
            mg.zero_grad();
            h.zeros_like().index_add(0, &dst, &mg).sum(Kind::Float).backward();
        })
    );
    println!(
        "scatter_add fwd+bwd: {:.3} ms",
        median_ms(r, || {
            let mut mg = mg.shallow_clone();
            mg.zero_grad();
            h.zeros_like()
                .scatter_add(0, &idx64, &mg)
                .sum(Kind::Float)
                .backward();
        })
    );
}

/// Random mask generators at Cora's sizes.
pub fn rng(n: i64) {
    let opt = (Kind::Float, Device::Cpu);
    let x = Tensor::randn([n], opt);
    let r = 40;
    println!("has_mkl {}", tch::utils::has_mkl());
    println!(
        "dropout: {:.3} ms",
        median_ms(r, || {
            let _ = x.dropout(0.6, true);
        })
    );
    println!(
        "rand: {:.3} ms",
        median_ms(r, || {
            let _ = Tensor::rand([n], opt);
        })
    );
    println!(
        "bernoulli_p: {:.3} ms",
        median_ms(r, || {
            let _ = x.bernoulli_p(0.4);
        })
    );
    println!(
        "randint i32: {:.3} ms",
        median_ms(r, || {
            let _ = Tensor::randint(1 << 30, [n / 2], (Kind::Int, Device::Cpu));
        })
    );
    println!(
        "randint i64 full: {:.3} ms",
        median_ms(r, || {
            let _ = Tensor::randint(1 << 30, [n], (Kind::Int64, Device::Cpu));
        })
    );
    println!(
        "rand f64: {:.3} ms",
        median_ms(r, || {
            let _ = Tensor::rand([n], (Kind::Double, Device::Cpu));
        })
    );
    println!(
        "rand lt mul: {:.3} ms",
        median_ms(r, || {
            let _ = &x * Tensor::rand([n], opt).ge(0.6) * 2.5;
        })
    );
}
