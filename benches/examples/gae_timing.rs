//! Where a GAE training step on Cora (`gae_epoch/cora` of the link suite) spends its time, and the
//! floor under it for any step built from libtorch's autograd ops:
//!
//! ```sh
//! cargo run --release -p seqgraph-benches --example gae_timing
//! ```
//! Threads and allocator as in the benches (`seqgraph_benches::setup`).
//!
//! It prints the step in parts (encode, negatives, decode and loss, backward, Adam), then the three
//! sparse products of the encoder (`X W1^T` with `X` the 2708 x 1433 sparse features, and `A H` twice
//! with the normalised adjacency), each forward alone and forward + backward. libtorch's backward
//! of `S @ H` with `S` sparse needs `S^T @ G`, and it builds `S^T` again at every call (a sort of
//! the nonzeros); those backward costs, summed, are a floor under the step for any encoder that
//! propagates with libtorch's sparse products under autograd.

use std::time::Instant;

use graph_data::link::{random_link_split, NegativeSampler, SplitConfig};
use graph_models::link::{sampled_loss, Gae, LinkModel};
use graph_models::{Graph, NodeFeatures};
use tch::{nn, nn::OptimizerConfig, Device, Kind, Tensor};

/// One sparse product of the encoder, to be timed.
type Product<'a> = Box<dyn Fn() -> Tensor + 'a>;

fn ids(v: &[u32]) -> Tensor {
    Tensor::from_slice(&v.iter().map(|&i| i as i64).collect::<Vec<_>>())
}

fn main() {
    let threads = seqgraph_benches::setup();
    let mut ds =
        graph_data::planetoid::load("cora", &graph_data::fetch::Fetcher::from_env()).expect("Planetoid data");
    ds.normalize_features();
    let x = NodeFeatures::from_features(&ds.features, Device::Cpu);
    let split = random_link_split(
        &ds.edges,
        &SplitConfig {
            train_negatives: false,
            ..SplitConfig::default()
        },
    )
    .expect("Cora splits");
    let graph = Graph::new(&split.train.message.edge_index(), ds.num_nodes() as i64).expect("valid graph");
    let (pos_src, pos_dst) = (ids(&split.train.pos.src), ids(&split.train.pos.dst));
    let sampler = NegativeSampler::new(&split.train.message, true).expect("a sampler");
    tch::manual_seed(0);
    let vs = nn::VarStore::new(Device::Cpu);
    let gae = Gae::new(vs.root(), x.shape()[1], 32, 16);
    let mut opt = nn::Adam::default().build(&vs, 0.01).expect("Adam");

    // The step in parts: mean ms of each over the runs after a warm-up.
    // `GAE_TIMING_REPS=N` runs N steps and stops there (for a profiler).
    let only: Option<usize> = std::env::var("GAE_TIMING_REPS").ok().and_then(|s| s.parse().ok());
    let (warm, reps) = (20, only.unwrap_or(300));
    let mut parts = [0f64; 6];
    for e in 0..warm + reps {
        let t0 = Instant::now();
        let z = gae.encode(&x, &graph, true).z;
        let t1 = Instant::now();
        let neg = sampler
            .sample(split.train.pos.len(), e as u64)
            .expect("non-edges exist");
        let (neg_src, neg_dst) = (ids(&neg.src), ids(&neg.dst));
        let t2 = Instant::now();
        let loss = sampled_loss(
            &gae.decode(&z, &pos_src, &pos_dst),
            &gae.decode(&z, &neg_src, &neg_dst),
        );
        let t3 = Instant::now();
        opt.zero_grad();
        loss.backward();
        let t4 = Instant::now();
        opt.step();
        let t5 = Instant::now();
        if e >= warm {
            for (p, d) in parts
                .iter_mut()
                .zip([t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4, t5 - t0])
            {
                *p += d.as_secs_f64() * 1e3 / reps as f64;
            }
        }
    }
    println!("GAE step on Cora, {threads} thread(s), mean of {reps} steps (ms):");
    for (name, v) in ["encode", "negatives", "decode + loss", "backward", "Adam", "step"]
        .iter()
        .zip(parts)
    {
        println!("  {name:<14} {v:7.3}");
    }

    if only.is_some() {
        return;
    }

    // The encoder's three sparse products, alone.
    let f = |s: &[i64]| Tensor::randn(s, (Kind::Float, Device::Cpu)).set_requires_grad(true);
    let xs = x.tensor();
    let adj = gae_operator(&graph);
    let (w1, h1, h2) = (f(&[32, 1433]), f(&[2708, 32]), f(&[2708, 16]));
    let cached = |a: &Tensor, b: &Tensor| train_utils::sparse::sparse_mm(a, b);
    let cases: [(&str, Product); 6] = [
        ("X W1^T (X sparse 2708 x 1433)", Box::new(|| xs.mm(&w1.tr()))),
        ("A H, H 2708 x 32", Box::new(|| adj.mm(&h1))),
        ("A H, H 2708 x 16", Box::new(|| adj.mm(&h2))),
        ("X W1^T, cached transpose", Box::new(|| cached(&xs, &w1.tr()))),
        ("A H 32, cached transpose", Box::new(|| cached(&adj, &h1))),
        ("A H 16, cached transpose", Box::new(|| cached(&adj, &h2))),
    ];
    println!("sparse products (median ms): forward, forward + backward, backward");
    let mut floor = 0.0;
    for (i, (name, product)) in cases.iter().enumerate() {
        let fwd = seqgraph_benches::median_ms(20, 200, || drop(tch::no_grad(product)));
        let both = seqgraph_benches::median_ms(20, 200, || product().sum(Kind::Float).backward());
        if i < 3 {
            floor += both - fwd;
        }
        println!("  {name:<30} {fwd:7.3} {both:7.3} {:7.3}", both - fwd);
    }
    println!(
        "floor: the three backward products alone take {floor:.3} ms, {:.0} % of the step",
        100.0 * floor / parts[5]
    );
}

/// The normalised adjacency `D^-1/2 (A + I) D^-1/2` the GAE's `GcnConv` layers propagate with.
fn gae_operator(graph: &Graph) -> Tensor {
    graph.gcn_adjacency(false, true)
}
