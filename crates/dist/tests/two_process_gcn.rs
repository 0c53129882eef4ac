//! Two processes on 127.0.0.1 train the same GCN on Cora, each on half of the
//! training nodes, with gradients summed by Gloo all-reduce: they end with the
//! same parameters as each other and the accuracy of one process trained on
//! all the training nodes.
//!
//! The test re-runs its own binary as the workers (`worker` below does nothing
//! unless `SEQGRAPH_DIST_RANK` is set) and reads one `RESULT` line from each.

use std::process::{Command, Stdio};
use std::time::Duration;

use graph_data::fetch::Fetcher;
use graph_models::{Arch, NodeData};
use seqgraph_dist::ProcessGroup;
use tch::{nn, nn::OptimizerConfig, Device, Kind, Tensor};

const EPOCHS: usize = 200;

fn accuracy(logits: &Tensor, data: &NodeData, ids: &Tensor) -> f64 {
    logits
        .index_select(0, ids)
        .argmax(-1, false)
        .eq_tensor(&data.labels.index_select(0, ids))
        .to_kind(Kind::Double)
        .mean(Kind::Double)
        .double_value(&[])
}

/// Kipf's GCN recipe (2 layers, hidden 16, Adam 0.01, weight decay 5e-4 on the
/// first layer, 200 epochs, test accuracy at the best validation accuracy),
/// with rank `rank` of `world` taking the loss of every `world`-th training
/// node (scaled by the whole training set's size, so the summed gradient is
/// the one-process gradient). Returns (test accuracy, parameter checksum).
fn train(pg: Option<&ProcessGroup>) -> (f64, f64) {
    tch::set_num_threads(1);
    let (rank, world) = pg.map_or((0, 1), |p| (p.rank(), p.world_size()));
    let ds = graph_data::planetoid::load("cora", &Fetcher::from_env()).expect("Cora from the data mirror");
    let data = NodeData::from_dataset(ds, Device::Cpu).unwrap();
    // Every rank draws the same initial parameters and dropout masks (same
    // seed, same sequence of random calls), like the one-process run.
    tch::manual_seed(0);
    let vs = nn::VarStore::new(Device::Cpu);
    let model = Arch::Gcn.build(vs.root(), data.x.shape()[1], data.num_classes, 2);
    let mut params = vs.trainable_variables();
    if let Some(pg) = pg {
        let mut refs: Vec<&mut Tensor> = params.iter_mut().collect();
        tch::no_grad(|| pg.broadcast(&mut refs, 0)).unwrap();
    }
    let mut opt = nn::Adam::default().build(&vs, 0.01).unwrap();
    opt.set_weight_decay_group(1, 5e-4);
    let n_train = data.train.size()[0];
    let mine = data.train.slice(0, rank as i64, n_train, world as i64);
    let my_labels = data.labels.index_select(0, &mine);
    let (mut best_val, mut test) = (-1.0, 0.0);
    for _ in 0..EPOCHS {
        opt.zero_grad();
        let logits = model.forward_t(&data.x, &data.graph, true);
        let loss = logits.index_select(0, &mine).cross_entropy_for_logits(&my_labels)
            * (mine.size()[0] as f64 / n_train as f64);
        loss.backward();
        if let Some(pg) = pg {
            let mut grads: Vec<Tensor> = params.iter().map(Tensor::grad).collect();
            let mut refs: Vec<&mut Tensor> = grads.iter_mut().collect();
            pg.all_reduce_sum(&mut refs).unwrap();
        }
        opt.step();
        let logits = tch::no_grad(|| model.forward_t(&data.x, &data.graph, false));
        let val = accuracy(&logits, &data, &data.val);
        if val > best_val {
            best_val = val;
            test = accuracy(&logits, &data, &data.test);
        }
    }
    let checksum = params
        .iter()
        .map(|p| p.abs().sum(Kind::Double).double_value(&[]))
        .sum();
    (test, checksum)
}

#[test]
fn worker() {
    let Ok(rank) = std::env::var("SEQGRAPH_DIST_RANK") else {
        return; // only a worker when the driver below starts this binary
    };
    let port: u16 = std::env::var("SEQGRAPH_DIST_PORT").unwrap().parse().unwrap();
    let pg = ProcessGroup::new(
        "127.0.0.1",
        port,
        rank.parse().unwrap(),
        2,
        Duration::from_secs(120),
    )
    .unwrap();
    let (acc, checksum) = train(Some(&pg));
    println!("RESULT {acc} {checksum}");
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn two_processes_with_allreduce_match_one_process_on_cora() {
    let port = free_port().to_string();
    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = (0..2)
        .map(|rank| {
            Command::new(&exe)
                .args(["worker", "--exact", "--nocapture", "--test-threads", "1"])
                .env("SEQGRAPH_DIST_RANK", rank.to_string())
                .env("SEQGRAPH_DIST_PORT", &port)
                .stdout(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let (one_acc, one_sum) = train(None);
    let results: Vec<(f64, f64)> = children
        .into_iter()
        .map(|c| {
            let out = c.wait_with_output().unwrap();
            let text = String::from_utf8_lossy(&out.stdout).into_owned();
            assert!(out.status.success(), "worker failed: {text}");
            // libtest may print "test worker ... " on the same line first.
            let line = text
                .lines()
                .find_map(|l| l.split_once("RESULT ").map(|(_, rest)| rest))
                .unwrap_or_else(|| panic!("no RESULT line in {text:?}"));
            let v: Vec<f64> = line.split_whitespace().map(|x| x.parse().unwrap()).collect();
            (v[0], v[1])
        })
        .collect();
    println!("one process: test {one_acc:.4}, |params| {one_sum:.6}; two processes: {results:?}");
    // Both ranks took the same steps (all-reduce gives every rank the same sum).
    assert_eq!(results[0], results[1], "the ranks diverged");
    // The same run as one process, up to float summation order.
    assert!(
        (results[0].0 - one_acc).abs() <= 0.005,
        "two processes reach {:.4}, one process {one_acc:.4}",
        results[0].0
    );
    assert!(
        (results[0].1 - one_sum).abs() <= 1e-3 * one_sum,
        "parameters differ: {} against {one_sum}",
        results[0].1
    );
    assert!(one_acc > 0.78, "GCN on Cora reaches {one_acc:.4}");
}
