//! A group whose peer goes away: two processes on 127.0.0.1 train GCN on
//! Cora with all-reduced gradients (as `two_process_gcn.rs`), and one rank
//! exits, is killed with SIGKILL or stalls mid-training. The surviving rank
//! must get a `DistError::Peer` naming the other rank within the group's
//! timeout, and exit non-zero instead of hanging. Rendezvous faults (a port
//! in use, ranks that disagree on the world size, a rank that never comes)
//! are refused with `DistError::Rendezvous`.
//!
//! The test re-runs its own binary as the workers (`fault_worker` does
//! nothing unless `SEQGRAPH_FAULT_RANK` is set).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use graph_data::fetch::Fetcher;
use graph_models::{Arch, NodeData};
use seqgraph_dist::{DistError, ProcessGroup};
use tch::{nn, nn::OptimizerConfig, Device, Tensor};

/// The group timeout of the fault tests.
const TIMEOUT: Duration = Duration::from_secs(3);

/// GCN on Cora, this rank's half of the training nodes, gradients summed
/// over the group; prints `epoch N` after each epoch. `fault` is `exit@N`
/// (leave at epoch N), `stall@N` (stop taking part at epoch N) or empty.
fn train(pg: &ProcessGroup, fault: &str) -> Result<(), DistError> {
    tch::set_num_threads(1);
    let ds = graph_data::planetoid::load("cora", &Fetcher::from_env()).expect("Cora from the data mirror");
    let data = NodeData::from_dataset(ds, Device::Cpu).unwrap();
    tch::manual_seed(0);
    let vs = nn::VarStore::new(Device::Cpu);
    let model = Arch::Gcn.build(vs.root(), data.x.shape()[1], data.num_classes, 2);
    let mut params = vs.trainable_variables();
    let mut refs: Vec<&mut Tensor> = params.iter_mut().collect();
    tch::no_grad(|| pg.broadcast(&mut refs, 0))?;
    let mut opt = nn::Adam::default().build(&vs, 0.01).unwrap();
    let n_train = data.train.size()[0];
    let mine = data
        .train
        .slice(0, pg.rank() as i64, n_train, pg.world_size() as i64);
    let labels = data.labels.index_select(0, &mine);
    let at = |what: &str| fault.strip_prefix(what).and_then(|n| n.parse::<usize>().ok());
    for epoch in 0..10_000 {
        if at("exit@") == Some(epoch) {
            println!("FAULT exit");
            std::process::exit(0);
        }
        if at("stall@") == Some(epoch) {
            println!("FAULT stall");
            std::thread::sleep(Duration::from_secs(600));
        }
        opt.zero_grad();
        let logits = model.forward_t(&data.x, &data.graph, true);
        let loss = logits.index_select(0, &mine).cross_entropy_for_logits(&labels)
            * (mine.size()[0] as f64 / n_train as f64);
        loss.backward();
        let mut grads: Vec<Tensor> = params.iter().map(Tensor::grad).collect();
        let mut refs: Vec<&mut Tensor> = grads.iter_mut().collect();
        pg.all_reduce_sum(&mut refs)?;
        opt.step();
        println!("epoch {epoch}");
    }
    Ok(())
}

#[test]
fn fault_worker() {
    let Ok(rank) = std::env::var("SEQGRAPH_FAULT_RANK") else {
        return; // only a worker when a test below starts this binary
    };
    let port: u16 = std::env::var("SEQGRAPH_FAULT_PORT").unwrap().parse().unwrap();
    let fault = std::env::var("SEQGRAPH_FAULT").unwrap_or_default();
    let result = ProcessGroup::new("127.0.0.1", port, rank.parse().unwrap(), 2, TIMEOUT).and_then(|pg| {
        let r = train(&pg, &fault);
        drop(pg); // the group is torn down after a failure without hanging
        r
    });
    if let Err(e) = result {
        eprintln!("DISTERROR {e}");
        std::process::exit(1);
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts rank `rank` with `fault`; its stdout lines arrive on the channel with their time.
fn worker(rank: usize, port: u16, fault: &str) -> (Child, mpsc::Receiver<(String, Instant)>) {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["fault_worker", "--exact", "--nocapture", "--test-threads", "1"])
        .env("SEQGRAPH_FAULT_RANK", rank.to_string())
        .env("SEQGRAPH_FAULT_PORT", port.to_string())
        .env("SEQGRAPH_FAULT", fault)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = mpsc::channel();
    let out = BufReader::new(child.stdout.take().unwrap());
    std::thread::spawn(move || {
        for line in out.lines().map_while(Result::ok) {
            let _ = tx.send((line, Instant::now()));
        }
    });
    (child, rx)
}

/// Waits for a line containing `what` (at most 2 minutes); returns when it came.
fn wait_for(rx: &mpsc::Receiver<(String, Instant)>, what: &str) -> Instant {
    loop {
        let (line, at) = rx
            .recv_timeout(Duration::from_secs(120))
            .unwrap_or_else(|_| panic!("no `{what}` line"));
        if line.contains(what) {
            return at;
        }
    }
}

/// Waits for the surviving rank to exit, killing it (and failing) if it
/// hangs; returns its exit status, stderr and exit time.
fn survivor_outcome(mut child: Child) -> (std::process::ExitStatus, String, Instant) {
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > TIMEOUT + Duration::from_secs(60) {
            let _ = child.kill();
            panic!("the surviving rank hangs");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let ended = Instant::now();
    let out = child.wait_with_output().unwrap();
    (
        out.status,
        String::from_utf8_lossy(&out.stderr).into_owned(),
        ended,
    )
}

/// Checks the survivor's report: non-zero exit, a `DistError::Peer` line
/// naming `gone` and saying how it left, within the timeout of `since`.
fn assert_reported(survivor: Child, survivor_rank: usize, gone: usize, how: &str, since: Instant) {
    let (status, err, ended) = survivor_outcome(survivor);
    eprintln!("{err}");
    assert!(!status.success(), "the surviving rank exits non-zero: {err}");
    let line = err
        .lines()
        .find(|l| l.starts_with("DISTERROR"))
        .unwrap_or_else(|| panic!("no DistError reported: {err}"));
    assert!(
        line.contains(&format!("rank {survivor_rank} of 2: all_reduce #"))
            && line.contains(&format!("rank {gone} {how}")),
        "{line}"
    );
    let took = ended.duration_since(since);
    assert!(
        took <= TIMEOUT + Duration::from_secs(3),
        "reported {took:?} after the fault (timeout {TIMEOUT:?})"
    );
}

#[test]
fn a_rank_that_exits_mid_training_is_named_by_the_survivor() {
    let port = free_port();
    let (survivor, _) = worker(0, port, "");
    let (mut leaver, out) = worker(1, port, "exit@5");
    let at = wait_for(&out, "FAULT exit");
    assert_reported(survivor, 0, 1, "closed its connection", at);
    assert!(leaver.wait().unwrap().success());
}

#[test]
fn a_rank_killed_mid_training_is_named_by_the_survivor() {
    // Rank 0 serves the rendezvous store too: its loss must not hang rank 1.
    let port = free_port();
    let (mut victim, out) = worker(0, port, "");
    let (survivor, _) = worker(1, port, "");
    wait_for(&out, "epoch 5");
    victim.kill().unwrap(); // SIGKILL
    let at = Instant::now();
    victim.wait().unwrap();
    assert_reported(survivor, 1, 0, "closed its connection", at);
}

#[test]
fn a_rank_that_stalls_is_named_by_the_survivor_within_the_timeout() {
    let port = free_port();
    let (mut staller, out) = worker(0, port, "stall@5");
    let (survivor, _) = worker(1, port, "");
    let at = wait_for(&out, "FAULT stall");
    assert_reported(survivor, 1, 0, "did not take part within the timeout", at);
    staller.kill().unwrap();
    staller.wait().unwrap();
}

/// Joins `ranks` (rank, world size) on one port from threads of this process.
fn join(port: u16, ranks: &[(usize, usize)], timeout: Duration) -> Vec<Result<ProcessGroup, DistError>> {
    let handles: Vec<_> = ranks
        .iter()
        .map(|&(rank, world)| {
            std::thread::spawn(move || ProcessGroup::new("127.0.0.1", port, rank, world, timeout))
        })
        .collect();
    handles.into_iter().map(|h| h.join().unwrap()).collect()
}

#[test]
fn ranks_that_disagree_on_the_world_size_are_refused_naming_both_sizes() {
    let start = Instant::now();
    let results = join(free_port(), &[(0, 2), (1, 3)], Duration::from_secs(20));
    for r in &results {
        let err = r.as_ref().unwrap_err();
        let msg = err.to_string();
        eprintln!("{msg}");
        assert!(matches!(err, DistError::Rendezvous { .. }), "{msg}");
        assert!(msg.contains("world size mismatch"), "{msg}");
        assert!(
            msg.contains("a world size of 2") || msg.contains("a world size of 3"),
            "{msg}"
        );
    }
    // Refused at once, not after the 20 s timeout.
    assert!(start.elapsed() < Duration::from_secs(10), "{:?}", start.elapsed());
    // The same two ranks with one world size join.
    let ok = join(free_port(), &[(0, 2), (1, 2)], Duration::from_secs(20));
    assert!(
        ok.iter().all(Result::is_ok),
        "{:?}",
        ok.iter().map(|r| r.as_ref().err()).collect::<Vec<_>>()
    );
}

#[test]
fn a_port_in_use_and_a_rank_that_never_comes_are_rendezvous_errors() {
    let taken = std::net::TcpListener::bind("0.0.0.0:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let err = ProcessGroup::new("127.0.0.1", port, 0, 2, TIMEOUT).unwrap_err();
    let msg = err.to_string();
    assert!(
        matches!(&err, DistError::Rendezvous { rank: 0, port: p, .. } if *p == port),
        "{msg}"
    );
    assert!(msg.contains(&format!("port {port} is already in use")), "{msg}");
    drop(taken);

    // Rank 0 waits for a rank 1 that never starts: an error after the timeout, not a hang.
    let start = Instant::now();
    let err = ProcessGroup::new("127.0.0.1", free_port(), 0, 2, Duration::from_secs(1)).unwrap_err();
    let took = start.elapsed();
    eprintln!("{err}");
    assert!(matches!(err, DistError::Rendezvous { .. }), "{err}");
    assert!(took < Duration::from_secs(10), "{took:?}: {err}");
    // Rank 1 with no rank 0 to find: the same.
    let start = Instant::now();
    let err = ProcessGroup::new("127.0.0.1", free_port(), 1, 2, Duration::from_secs(1)).unwrap_err();
    let took = start.elapsed();
    eprintln!("{err}");
    assert!(matches!(err, DistError::Rendezvous { rank: 1, .. }), "{err}");
    assert!(took < Duration::from_secs(10), "{took:?}: {err}");
}
