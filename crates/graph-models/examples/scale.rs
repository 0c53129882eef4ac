//! The scale study (issue 8): a 3-layer GCN (hidden 256) trained full batch on
//! an R-MAT graph the size of ogbn-products, neighbour-sampler throughput on
//! it. Sampled against full-batch training on Cora and CiteSeer is the
//! `sampled` example.
//!
//! ```sh
//! cargo build --release -p graph-models --example scale
//! target/release/examples/scale full [--nodes 2400000] [--pairs 68000000] [--epochs 3] \
//!     [--layout csr32|csr64|coo] [--bf16] [--checkpoint] [--no-inplace]
//! ```
//!
//! `full` prints peak resident memory (VmHWM from /proc/self/status) after
//! each stage; run it once per setting to compare settings, since the peak is
//! per process.

use std::sync::Arc;
use std::time::Instant;

use graph_data::csr::{Csr, Dedup};
use graph_data::generate::{rmat, RmatParams};
use graph_data::sampler::{NeighborSampler, PrefetchLoader};
use tch::{nn, nn::OptimizerConfig, Device, Kind, Tensor};

type Res<T> = Result<T, Box<dyn std::error::Error>>;

fn main() -> Res<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("full") => full(&args[1..]),
        _ => Err("usage: scale full [options] (Planetoid: the sampled example)".into()),
    }
}

/// `(VmHWM, VmRSS)` in GB.
fn memory() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .map_or(f64::NAN, |kb| kb / 1e6)
    };
    (field("VmHWM:"), field("VmRSS:"))
}

fn stage(name: &str, start: Instant) {
    let (hwm, rss) = memory();
    println!(
        "[{:>7.1} s] {name}: peak {hwm:.2} GB, resident {rss:.2} GB",
        start.elapsed().as_secs_f64()
    );
}

fn flag(args: &[String], name: &str) -> bool {
    args.iter().any(|a| a == name)
}

fn option<T: std::str::FromStr>(args: &[String], name: &str, default: T) -> T {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The sparse operator as a libtorch tensor in the chosen layout.
fn operator(adj: &Csr, layout: &str) -> Tensor {
    let n = adj.num_nodes() as i64;
    let values = Tensor::from_slice(adj.weights().expect("GCN weights"));
    match layout {
        "coo" => {
            let rows: Vec<i64> = (0..adj.num_nodes())
                .flat_map(|r| std::iter::repeat_n(r as i64, adj.degree(r)))
                .collect();
            let cols: Vec<i64> = adj.indices().iter().map(|&c| c as i64).collect();
            let idx = Tensor::stack(&[Tensor::from_slice(&rows), Tensor::from_slice(&cols)], 0);
            // CSR order is COO's coalesced order: no sort needed.
            Tensor::sparse_coo_tensor_indices_size(&idx, &values, [n, n], (Kind::Float, Device::Cpu), true)
        }
        "csr64" => {
            let crow: Vec<i64> = adj.indptr().iter().map(|&p| p as i64).collect();
            let col: Vec<i64> = adj.indices().iter().map(|&c| c as i64).collect();
            Tensor::sparse_csr_tensor_crow_col_value_size(
                &Tensor::from_slice(&crow),
                &Tensor::from_slice(&col),
                &values,
                [n, n],
                (Kind::Float, Device::Cpu),
            )
        }
        _ => {
            let crow: Vec<i32> = adj.indptr().iter().map(|&p| p as i32).collect();
            let col: Vec<i32> = adj.indices().iter().map(|&c| c as i32).collect();
            Tensor::sparse_csr_tensor_crow_col_value_size(
                &Tensor::from_slice(&crow),
                &Tensor::from_slice(&col),
                &values,
                [n, n],
                (Kind::Float, Device::Cpu),
            )
        }
    }
}

/// Whether autograd goes through `layout`'s sparse-dense product here.
fn layout_has_backward(layout: &str) -> bool {
    let tiny = Csr::new(2, vec![0, 1, 2], vec![1, 0], Some(vec![1.0, 1.0])).expect("valid");
    let x = Tensor::ones([2, 3], (Kind::Float, Device::Cpu)).set_requires_grad(true);
    operator(&tiny, layout)
        .f_mm(&x)
        .and_then(|y| y.sum(Kind::Float).f_backward())
        .is_ok()
}

struct Settings {
    inplace: bool,
    bf16: bool,
}

/// `relu(x W^T + b)`, in place when asked.
fn dense(x: &Tensor, w: &Tensor, b: &Tensor, s: &Settings, relu: bool) -> Tensor {
    let mut z = if x.kind() == Kind::BFloat16 {
        x.mm(&w.to_kind(Kind::BFloat16).tr()).to_kind(Kind::Float)
    } else {
        x.mm(&w.tr())
    };
    if s.inplace {
        let _ = z.g_add_(b);
        if relu {
            let _ = z.relu_();
        }
        z
    } else {
        let z = z + b;
        if relu {
            z.relu()
        } else {
            z
        }
    }
}

/// `A (x W^T) + b`, then ReLU when asked: projecting first keeps the sparse
/// product at the smaller width, and nothing per edge is materialised.
fn conv(adj: &Tensor, x: &Tensor, w: &Tensor, b: &Tensor, s: &Settings, relu: bool) -> Tensor {
    let mut z = adj.mm(&x.mm(&w.tr()));
    if s.inplace {
        let _ = z.g_add_(b);
        if relu {
            let _ = z.relu_();
        }
        z
    } else {
        let z = z + b;
        if relu {
            z.relu()
        } else {
            z
        }
    }
}

fn full(args: &[String]) -> Res<()> {
    let start = Instant::now();
    let n: usize = option(args, "--nodes", 2_400_000);
    let pairs: usize = option(args, "--pairs", 68_000_000);
    let epochs: usize = option(args, "--epochs", 3);
    let mut layout: String = option(args, "--layout", "csr32".to_string());
    let settings = Settings {
        inplace: !flag(args, "--no-inplace"),
        bf16: flag(args, "--bf16"),
    };
    let checkpoint = flag(args, "--checkpoint");
    let (feats, hidden, classes) = (100i64, 256i64, 47i64);
    println!(
        "settings: layout {layout}, in-place {}, bf16 features {}, checkpoint {checkpoint}, {} threads",
        settings.inplace,
        settings.bf16,
        tch::get_num_threads()
    );
    if !layout_has_backward(&layout) {
        println!("layout {layout}: no backward through its sparse product in this libtorch; using coo");
        layout = "coo".into();
    }

    // Graph: R-MAT over 2^22 ids folded onto n nodes, symmetrised, deduplicated.
    let t = Instant::now();
    let mut edges = rmat(22, pairs, RmatParams::default(), 1)?;
    edges.src.iter_mut().for_each(|v| *v %= n as u32);
    edges.dst.iter_mut().for_each(|v| *v %= n as u32);
    edges.num_nodes = n;
    let csr = Csr::from_edge_list_undirected(&edges, Dedup::Max)?.without_self_loops();
    drop(edges);
    let csr = Arc::new(csr);
    println!(
        "graph: {n} nodes, {} undirected edges ({} CSR entries, u32 indices {:.2} GB; usize/i64 would be {:.2} GB), built in {:.1} s",
        csr.nnz() / 2,
        csr.nnz(),
        csr.nnz() as f64 * 4.0 / 1e9,
        csr.nnz() as f64 * 8.0 / 1e9,
        t.elapsed().as_secs_f64()
    );
    stage("graph built", start);

    // Sampler throughput on the big graph (PyG's ogbn-products fan-outs).
    for replace in [false, true] {
        let sampler = NeighborSampler::new(csr.clone(), vec![5, 10, 15], replace, 0)?;
        let seeds: Vec<u32> = (0..40 * 1024u64)
            .map(|i| (i.wrapping_mul(2_654_435_761) % n as u64) as u32)
            .collect();
        let t = Instant::now();
        let (mut inputs, mut sampled) = (0usize, 0usize);
        for batch in PrefetchLoader::new(sampler, seeds.clone(), 1024, None, 0, 2)? {
            let batch = batch?;
            inputs += batch.input_nodes().len();
            sampled += batch.num_edges();
        }
        let secs = t.elapsed().as_secs_f64();
        println!(
            "sampler (fan-outs 15,10,5, batch 1024, replace {replace}): {:.0} seeds/s, {:.2} M sampled neighbours/s, {:.2} M input nodes/s",
            seeds.len() as f64 / secs,
            sampled as f64 / secs / 1e6,
            inputs as f64 / secs / 1e6
        );
    }
    stage("sampler", start);

    // The GCN operator D^-1/2 (A + I) D^-1/2, built in graph-data (parallel, u32).
    let t = Instant::now();
    let adj = match Arc::try_unwrap(csr) {
        Ok(csr) => csr.gcn_normalized(true, false),
        Err(csr) => csr.gcn_normalized(true, false),
    };
    let nnz = adj.nnz() as f64;
    let adj_t = operator(&adj, &layout);
    drop(adj);
    println!(
        "operator ({layout}): {:.2} GB (csr32 {:.2}, csr64 {:.2}, coo {:.2}); one row per edge at width 256 would be {:.0} GB; {:.1} s",
        match layout.as_str() {
            "coo" => nnz * 20.0,
            "csr64" => nnz * 12.0,
            _ => nnz * 8.0,
        } / 1e9,
        nnz * 8.0 / 1e9,
        nnz * 12.0 / 1e9,
        nnz * 20.0 / 1e9,
        nnz * 256.0 * 4.0 / 1e9,
        t.elapsed().as_secs_f64()
    );
    stage("operator", start);

    // Features and planted labels: y = argmax((A X) R).
    tch::manual_seed(0);
    let t = Instant::now();
    let x = Tensor::randn([n as i64, feats], (Kind::Float, Device::Cpu));
    let ax = tch::no_grad(|| adj_t.mm(&x));
    drop(x);
    let labels = ax
        .mm(&Tensor::randn([feats, classes], (Kind::Float, Device::Cpu)))
        .argmax(1, false);
    let ax = if settings.bf16 {
        ax.to_kind(Kind::BFloat16)
    } else {
        ax
    };
    let perm = Tensor::randperm(n as i64, (Kind::Int64, Device::Cpu));
    let train = perm.narrow(0, 0, n as i64 / 2);
    let test = perm.narrow(0, n as i64 / 2, n as i64 / 2);
    let train_labels = labels.index_select(0, &train);
    println!(
        "features: [{n}, {feats}] as {:?}, first propagation A X computed once ({:.1} s; X has no gradient and no dropout)",
        ax.kind(),
        t.elapsed().as_secs_f64()
    );
    stage("features", start);

    let vs = nn::VarStore::new(Device::Cpu);
    let p = vs.root();
    let lin = |name: &str, i: i64, o: i64| {
        let l = nn::linear(&p / name, i, o, Default::default());
        (l.ws, l.bs.expect("bias"))
    };
    let (w1, b1) = lin("conv1", feats, hidden);
    let (w2, b2) = lin("conv2", hidden, hidden);
    let (w3, b3) = lin("conv3", hidden, classes);
    let mut opt = nn::Adam::default().build(&vs, 0.01)?;
    let s = &settings;
    let l1 = |x: &Tensor| dense(x, &w1, &b1, s, true);
    let l2 = |h: &Tensor| conv(&adj_t, h, &w2, &b2, s, true);
    let l3 = |h: &Tensor| conv(&adj_t, h, &w3, &b3, s, false);

    let mut times = Vec::new();
    for epoch in 0..epochs {
        let t = Instant::now();
        opt.zero_grad();
        let loss = if checkpoint {
            // Keep only each layer's input; recompute the layer during backward.
            let (h1, h2) = tch::no_grad(|| {
                let h1 = l1(&ax);
                let h2 = l2(&h1);
                (h1, h2)
            });
            let h2 = h2.detach().set_requires_grad(true);
            let loss = l3(&h2)
                .index_select(0, &train)
                .cross_entropy_for_logits(&train_labels);
            loss.backward();
            let g2 = h2.grad();
            drop(h2);
            let h1 = h1.detach().set_requires_grad(true);
            (l2(&h1) * &g2).sum(Kind::Float).backward();
            drop(g2);
            let g1 = h1.grad();
            drop(h1);
            (l1(&ax) * &g1).sum(Kind::Float).backward();
            loss
        } else {
            let loss = l3(&l2(&l1(&ax)))
                .index_select(0, &train)
                .cross_entropy_for_logits(&train_labels);
            loss.backward();
            loss
        };
        opt.step();
        let secs = t.elapsed().as_secs_f64();
        times.push(secs);
        println!("epoch {epoch}: loss {:.4}, {secs:.1} s", loss.double_value(&[]));
        stage("epoch", start);
    }
    let acc = tch::no_grad(|| {
        let pred = l3(&l2(&l1(&ax))).index_select(0, &test).argmax(1, false);
        pred.eq_tensor(&labels.index_select(0, &test))
            .to_kind(Kind::Double)
            .mean(Kind::Double)
            .double_value(&[])
    });
    let steady = if times.len() > 1 { &times[1..] } else { &times[..] };
    println!(
        "RESULT layout {layout} inplace {} bf16 {} checkpoint {checkpoint}: {:.1} s/epoch (mean after the first), test accuracy after {epochs} epochs {:.1} %, peak {:.2} GB",
        s.inplace,
        s.bf16,
        steady.iter().sum::<f64>() / steady.len() as f64,
        acc * 100.0,
        memory().0
    );
    Ok(())
}
