//! Readouts: parity with PyG 2.8.1 (`tests/fixtures/pyg_pool.json`, written
//! by `pyg_pool.py`) to 1e-5, invariance to the order of the nodes within
//! each graph and equivariance to the order of the graphs, and the refusals.

use graph_models::pool::{
    f_global_add_pool, global_add_pool, global_max_pool, global_mean_pool, AttentionalAggregation, Set2Set,
    SortPool,
};
use proptest::prelude::*;
use tch::{nn, Device, Kind, Tensor};

fn fixture() -> serde_json::Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/pyg_pool.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn tensor(v: &serde_json::Value) -> Tensor {
    let shape: Vec<i64> = v["shape"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_i64().unwrap())
        .collect();
    let data: Vec<f32> = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_f64().unwrap() as f32)
        .collect();
    Tensor::from_slice(&data).view(shape.as_slice())
}

fn load(vs: &nn::VarStore, fx: &serde_json::Value, key: &str) {
    let vars = vs.variables();
    assert!(!vars.is_empty());
    for (name, var) in vars {
        let t = tensor(&fx[format!("{key}.{name}")]);
        tch::no_grad(|| var.shallow_clone().copy_(&t));
    }
}

fn close(a: &Tensor, b: &Tensor, what: &str) {
    assert_eq!(a.size(), b.size(), "{what}");
    let d = (a - b).abs().max().double_value(&[]);
    assert!(d < 1e-5, "{what}: max difference {d}");
}

#[test]
fn readouts_match_pyg() {
    let fx = fixture();
    let x = tensor(&fx["x"]);
    let batch = Tensor::from_slice(
        &fx["batch"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_i64().unwrap())
            .collect::<Vec<_>>(),
    );
    let b = fx["num_graphs"].as_i64().unwrap();
    close(&global_add_pool(&x, &batch, b), &tensor(&fx["add.out"]), "add");
    close(&global_mean_pool(&x, &batch, b), &tensor(&fx["mean.out"]), "mean");
    close(&global_max_pool(&x, &batch, b), &tensor(&fx["max.out"]), "max");
    let vs = nn::VarStore::new(Device::Cpu);
    let att = AttentionalAggregation::new(vs.root(), 6, 4);
    load(&vs, &fx, "attention");
    close(
        &att.forward(&x, &batch, b),
        &tensor(&fx["attention.out"]),
        "attention",
    );
    // The gate alone (PyG's `nn=None`), on the fixture's gate weights: each
    // graph's softmax over its nodes, computed here graph by graph.
    let vs = nn::VarStore::new(Device::Cpu);
    let gate = nn::linear(vs.root() / "gate_nn", 6, 1, Default::default());
    load(&vs, &fx, "attention");
    let (w, bias) = (gate.ws.shallow_clone(), gate.bs.as_ref().unwrap().shallow_clone());
    let gated = AttentionalAggregation::from_parts(gate, None);
    let expected: Vec<Tensor> = (0..b)
        .map(|g| {
            let rows = batch.eq(g).nonzero().squeeze_dim(1);
            let xs = x.index_select(0, &rows);
            let a = (xs.mm(&w.tr()) + &bias).softmax(0, Kind::Float);
            (a * xs).sum_dim_intlist(0, false, Kind::Float)
        })
        .collect();
    close(
        &tch::no_grad(|| gated.forward(&x, &batch, b)),
        &Tensor::stack(&expected, 0),
        "attention without nn",
    );
    let vs = nn::VarStore::new(Device::Cpu);
    let s2s = Set2Set::new(vs.root(), 6, 3);
    load(&vs, &fx, "set2set");
    close(
        &tch::no_grad(|| s2s.forward(&x, &batch, b)),
        &tensor(&fx["set2set.out"]),
        "set2set",
    );
    close(
        &SortPool::new(4).forward(&x, &batch, b),
        &tensor(&fx["sort.out"]),
        "sort k=4",
    );
    close(
        &SortPool::new(7).forward(&x, &batch, b),
        &tensor(&fx["sort7.out"]),
        "sort k=7",
    );
}

/// Every readout of a batch, concatenated per graph, with the parametrised
/// readouts given: built once and shared by the two orders compared (built
/// twice after `manual_seed`, their weights differed whenever a test on
/// another thread drew from libtorch's global generator in between).
fn readouts(att: &AttentionalAggregation, s2s: &Set2Set, x: &Tensor, batch: &Tensor, b: i64) -> Tensor {
    Tensor::cat(
        &[
            global_add_pool(x, batch, b),
            global_mean_pool(x, batch, b),
            global_max_pool(x, batch, b),
            att.forward(x, batch, b),
            s2s.forward(x, batch, b),
            SortPool::new(3).forward(x, batch, b),
        ],
        1,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    #[test]
    fn readouts_ignore_node_order_and_follow_graph_order(
        sizes in proptest::collection::vec(0usize..6, 1..6),
        seed in 0i64..1000,
        shuffle in any::<u64>(),
    ) {
        use rand::{seq::SliceRandom, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(shuffle);
        tch::manual_seed(seed);
        let n: usize = sizes.iter().sum();
        let b = sizes.len() as i64;
        let x = Tensor::randn([n as i64, 4], (Kind::Float, Device::Cpu));
        let mut starts = vec![0usize];
        for s in &sizes { starts.push(starts.last().unwrap() + s); }
        let batch: Vec<i64> = sizes.iter().enumerate().flat_map(|(g, &s)| std::iter::repeat_n(g as i64, s)).collect();
        let vs = nn::VarStore::new(Device::Cpu);
        let att = AttentionalAggregation::new(vs.root() / "att", 4, 3);
        let s2s = Set2Set::new(vs.root() / "s2s", 4, 2);
        let out = readouts(&att, &s2s, &x, &Tensor::from_slice(&batch), b);
        // A new order of the graphs, and of the nodes inside each.
        let mut graphs: Vec<usize> = (0..sizes.len()).collect();
        graphs.shuffle(&mut rng);
        let mut rows = Vec::new();
        let mut batch2 = Vec::new();
        for (new_g, &g) in graphs.iter().enumerate() {
            let mut nodes: Vec<i64> = (starts[g] as i64..starts[g + 1] as i64).collect();
            nodes.shuffle(&mut rng);
            batch2.extend(std::iter::repeat_n(new_g as i64, nodes.len()));
            rows.extend(nodes);
        }
        let x2 = x.index_select(0, &Tensor::from_slice(&rows));
        let out2 = readouts(&att, &s2s, &x2, &Tensor::from_slice(&batch2), b);
        let expected = out.index_select(0, &Tensor::from_slice(&graphs.iter().map(|&g| g as i64).collect::<Vec<_>>()));
        let d = (&out2 - &expected).abs().max().double_value(&[]);
        prop_assert!(d < 1e-5, "difference {}", d);
    }
}

#[test]
fn bad_inputs_are_refused_with_their_names() {
    let x = Tensor::ones([3, 2], (Kind::Float, Device::Cpu));
    let msg = |r: graph_models::Result<Tensor>| r.unwrap_err().to_string();
    let m = msg(f_global_add_pool(&x, &Tensor::from_slice(&[0i64, 1, 2]), 2));
    assert!(
        m.contains("batch") && m.contains("graph ids in 0..2, found 2"),
        "{m}"
    );
    let m = msg(f_global_add_pool(&x, &Tensor::from_slice(&[0i64, 1]), 2));
    assert!(m.contains("batch of shape [3]"), "{m}");
    let m = msg(f_global_add_pool(&x, &Tensor::from_slice(&[0i32, 0, 1]), 2));
    assert!(m.contains("Int64"), "{m}");
    let m = msg(f_global_add_pool(
        &x.view([6]),
        &Tensor::from_slice(&[0i64, 0, 1]),
        2,
    ));
    assert!(m.contains("x of shape [num_nodes, channels]"), "{m}");
    let m = msg(SortPool::new(2).f_forward(&x, &Tensor::from_slice(&[1i64, 0, 1]), 2));
    assert!(m.contains("non-decreasing"), "{m}");
    let vs = nn::VarStore::new(Device::Cpu);
    let m = msg(Set2Set::new(vs.root(), 5, 2).f_forward(&x, &Tensor::from_slice(&[0i64, 0, 1]), 2));
    assert!(m.contains("Set2Set expects x of shape [num_nodes, 5]"), "{m}");
    assert!(SortPool::f_new(0).is_err() && Set2Set::f_new(vs.root(), 3, 0).is_err());
    let lin = |i, o| nn::linear(vs.root(), i, o, Default::default());
    let m = msg(AttentionalAggregation::f_from_parts(lin(4, 2), None).map(|_| x.shallow_clone()));
    assert!(m.contains("one score (weight [1, in]), got weight [2, 4]"), "{m}");
    let m = msg(AttentionalAggregation::f_from_parts(lin(4, 1), Some(lin(3, 5))).map(|_| x.shallow_clone()));
    assert!(m.contains("read the gate's 4 features"), "{m}");
    let two = Tensor::from_slice(&[0i64, 0, 1]);
    let gated = AttentionalAggregation::from_parts(lin(2, 1), None);
    assert_eq!(
        gated.forward(&x, &two, 2).size(),
        [2, 2],
        "h_G = sum a_v x_v keeps x's width"
    );
    let m = msg(AttentionalAggregation::from_parts(lin(5, 1), None).f_forward(&x, &two, 2));
    assert!(m.contains("expects x of shape [num_nodes, 5]"), "{m}");
}
