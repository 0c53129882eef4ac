//! Tree-LSTMs: the chain case is the LSTM, the level-batched pass equals the
//! node-by-node recursion (outputs and gradients), and bad shapes are refused.

use graph_data::tree::Tree;
use seq_models::recurrent::{Recurrent, RecurrentConfig};
use seq_models::schedule::Schedule;
use seq_models::tree_lstm::TreeLstm;
use tch::{nn, Device, Kind, Tensor};

const OPTS: (Kind, Device) = (Kind::Float, Device::Cpu);

/// Copies an `nn.LSTM`-named layer's parameters into a tree cell's.
fn copy_lstm(from: &nn::VarStore, to: &nn::VarStore) {
    let src = from.variables();
    tch::no_grad(|| {
        for (name, mut t) in to.variables() {
            t.copy_(&src[&format!("{name}_l0")]);
        }
    });
}

#[test]
fn tree_lstm_on_chains_equals_the_lstm_on_the_sequences() {
    tch::manual_seed(0);
    let (b, t, i, h) = (3, 7, 5, 6);
    let vs_lstm = nn::VarStore::new(Device::Cpu);
    let lstm = Recurrent::lstm(vs_lstm.root(), i, h, RecurrentConfig::default());
    let x = Tensor::randn([b, t, i], OPTS);
    let expected = lstm.forward(&x, None, None, false).output; // [B, T, H]

    // Node b * T + t is step t of sequence b; the chain's root is the last step.
    let schedule = Schedule::chains(&vec![t as usize; b as usize]);
    assert_eq!(schedule.num_levels(), t as usize);
    let nodes = x.reshape([b * t, i]);
    for arity in [None, Some(1)] {
        let vs = nn::VarStore::new(Device::Cpu);
        let cell = match arity {
            None => TreeLstm::child_sum(vs.root(), i, h),
            Some(n) => TreeLstm::n_ary(vs.root(), i, h, n),
        };
        copy_lstm(&vs_lstm, &vs);
        let plan = schedule.plan(Device::Cpu, arity).unwrap();
        let got = cell.forward(&nodes, &plan).h.reshape([b, t, h]);
        let diff = (&got - &expected).abs().max().double_value(&[]);
        assert!(diff < 1e-5, "{arity:?}: max difference {diff}");
    }
    // The same through graph-data's chain tree.
    let chain = Tree::chain(t as usize).unwrap();
    assert_eq!(Schedule::forest(&[&chain]), Schedule::chains(&[t as usize]));
}

/// A random binary tree over `leaves` leaves (inner nodes have two children).
fn random_binary_tree(leaves: usize, seed: u64) -> Tree {
    let mut state = seed;
    let mut next = || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 33) as usize
    };
    let mut parents: Vec<Option<usize>> = vec![None; leaves];
    let mut open: Vec<usize> = (0..leaves).collect();
    while open.len() > 1 {
        let k = next() % (open.len() - 1);
        let id = parents.len();
        parents.push(None);
        parents[open[k]] = Some(id);
        parents[open[k + 1]] = Some(id);
        open.splice(k..k + 2, [id]);
    }
    Tree::from_parents(&parents).unwrap()
}

#[test]
fn level_batched_equals_node_by_node_with_gradients() {
    tch::manual_seed(1);
    let trees: Vec<Tree> = (0..4)
        .map(|s| random_binary_tree(3 + 2 * s, s as u64 + 7))
        .collect();
    let refs: Vec<&Tree> = trees.iter().collect();
    let schedule = Schedule::forest(&refs);
    let n = schedule.num_nodes() as i64;
    for arity in [None, Some(2)] {
        let vs = nn::VarStore::new(Device::Cpu);
        let cell = match arity {
            None => TreeLstm::child_sum(vs.root(), 4, 5),
            Some(k) => TreeLstm::n_ary(vs.root(), 4, 5, k),
        };
        let x = Tensor::randn([n, 4], OPTS);
        let plan = schedule.plan(Device::Cpu, arity).unwrap();
        let fast = cell.forward(&x, &plan);
        let grad = |h: &Tensor| {
            for mut v in vs.trainable_variables() {
                v.zero_grad();
            }
            (h * h).sum(Kind::Float).backward();
            vs.trainable_variables()
                .iter()
                .map(|v| v.grad().copy())
                .collect::<Vec<_>>()
        };
        let g_fast = grad(&fast.h);
        let slow = cell.f_forward_node_by_node(&x, &schedule).unwrap();
        assert!(fast.h.allclose(&slow.h, 1e-5, 1e-6, false), "{arity:?}");
        assert!(fast.c.allclose(&slow.c, 1e-5, 1e-6, false), "{arity:?}");
        for (a, b) in g_fast.iter().zip(grad(&slow.h)) {
            assert!(a.allclose(&b, 1e-4, 1e-5, false), "{arity:?} gradients");
        }
    }
}

#[test]
fn bad_inputs_are_refused_with_a_reason() {
    let vs = nn::VarStore::new(Device::Cpu);
    let cell = TreeLstm::n_ary(vs.root(), 4, 5, 2);
    let star = Tree::from_parents(&[Some(3), Some(3), Some(3), None]).unwrap();
    let schedule = Schedule::forest(&[&star]);
    let err = schedule.plan(Device::Cpu, Some(2)).unwrap_err().to_string();
    assert!(err.contains("node 3 has 3 children"), "{err}");
    let plan = schedule.plan(Device::Cpu, None).unwrap();
    let err = cell
        .f_forward(&Tensor::zeros([4, 4], OPTS), &plan)
        .unwrap_err()
        .to_string();
    assert!(err.contains("2 child slots"), "{err}");
    let plan = schedule.plan(Device::Cpu, Some(3)).unwrap();
    let sum = TreeLstm::child_sum(vs.root(), 4, 5);
    let err = sum
        .f_forward(&Tensor::zeros([3, 4], OPTS), &plan)
        .unwrap_err()
        .to_string();
    assert!(err.contains("[num_nodes=4, 4]"), "{err}");
    assert!(Schedule::from_edges(3, &[(0, 1), (1, 2), (2, 0)])
        .unwrap_err()
        .to_string()
        .contains("cycle"));
}
