//! Where a GAT training step on Cora (`gat_epoch/cora` of the gnn suite) spends its time:
//!
//! ```sh
//! cargo run --release -p seqgraph-benches --example gat_profile
//! ```
//! Threads and allocator as in the benches (`seqgraph_benches::setup`).
//!
//! It prints the whole step (forward, loss, backward, Adam) of `Arch::Gat` as the bench runs it,
//! its forward alone, then the parts of the first layer (8 heads x 8 over 13,264 edges with self
//! loops), each forward + backward of a sum against a fixed random tensor: the sparse input
//! product `X W^T`, the per-node scores `a . W x`, the per-edge logits (gathered scores and
//! LeakyReLU, written as `max(x, s x)` or as `s x + (1 - s) relu(x)`), the softmax weights, and the
//! weighted sum of the messages (gather, scale, `index_add`).

use graph_models::{Arch, GatConfig, GatConv, GnnLayer, Graph, NodeData};
use tch::{nn, nn::OptimizerConfig, Device, Kind, Tensor};

/// Forward + backward of `<f(), r>` for a fixed random `r` of the output's shape.
fn fwd_bwd(inputs: &[&Tensor], f: &dyn Fn() -> Tensor) -> f64 {
    let r = f().detach().randn_like();
    seqgraph_benches::median_ms(10, 50, || {
        for t in inputs {
            let mut g = t.grad();
            if g.defined() {
                let _ = g.zero_();
            }
        }
        (f() * &r).sum(Kind::Float).backward();
    })
}

fn main() {
    seqgraph_benches::setup();
    let ds = graph_data::planetoid::load("cora", &graph_data::fetch::Fetcher::from_env()).expect("Cora");
    let data = NodeData::from_dataset(ds, Device::Cpu).expect("valid graph");
    tch::manual_seed(0);
    let vs = nn::VarStore::new(Device::Cpu);
    let arch = Arch::Gat;
    let model = arch.build(vs.root(), data.x.shape()[1], data.num_classes, 2);
    let hyper = arch.hyperparams();
    let mut opt = nn::Adam::default().build(&vs, hyper.lr).expect("Adam");
    let labels = data.labels.index_select(0, &data.train);
    let step = seqgraph_benches::median_ms(10, 100, || {
        let logits = model.forward_t(&data.x, &data.graph, true);
        opt.backward_step(
            &logits
                .index_select(0, &data.train)
                .cross_entropy_for_logits(&labels),
        );
    });
    let fwd = seqgraph_benches::median_ms(10, 100, || {
        let _ = model.forward_t(&data.x, &data.graph, true);
    });
    println!("GAT step on Cora (forward, loss, backward, Adam): {step:.3} ms; forward alone {fwd:.3} ms");

    // The first layer's parts.
    let graph: &Graph = &data.graph;
    let n = graph.num_nodes();
    let (heads, c) = (8i64, 8i64);
    let vs1 = nn::VarStore::new(Device::Cpu);
    let conv = GatConv::new(
        vs1.root(),
        data.x.shape()[1],
        c,
        GatConfig {
            heads,
            dropout: 0.6,
            ..GatConfig::default()
        },
    );
    let v = vs1.variables();
    let w = &v["lin.weight"];
    let (att_s, att_d) = (&v["att_src"], &v["att_dst"]);
    let x = data.x.dropout(0.6, true);
    let layer = fwd_bwd(&[w], &|| conv.forward_t(&x, graph, true));
    println!("layer 1 (GatConv 1433 -> 8 x 8, dropout 0.6) fwd+bwd: {layer:.3} ms");
    let lin = fwd_bwd(&[w], &|| x.mm(&w.tr()));
    println!("  X W^T (sparse X)                 {lin:.3} ms");
    let h = x.mm(&w.tr()).detach().view([n, heads, c]).set_requires_grad(true);
    let scores = fwd_bwd(&[&h], &|| {
        (&h * att_s).sum_dim_intlist(-1, false, None) + (&h * att_d).sum_dim_intlist(-1, false, None)
    });
    println!("  node scores a . h (x2)           {scores:.3} ms");
    let ei = graph.self_loop_edge_index();
    let (src, dst) = (ei.get(0), ei.get(1));
    let s = Tensor::randn([n, heads], (Kind::Float, Device::Cpu)).set_requires_grad(true);
    let d = Tensor::randn([n, heads], (Kind::Float, Device::Cpu)).set_requires_grad(true);
    let gather = || s.index_select(0, &src) + d.index_select(0, &dst);
    let max_form = fwd_bwd(&[&s, &d], &|| {
        let l = gather();
        l.maximum(&(&l * 0.2))
    });
    let relu_form = fwd_bwd(&[&s, &d], &|| {
        let l = gather();
        &l * 0.2 + l.relu() * 0.8
    });
    println!("  edge logits, max(x, s x)         {max_form:.3} ms");
    println!("  edge logits, s x + (1-s) relu(x) {relu_form:.3} ms");
    let logits = Tensor::randn([ei.size()[1], heads], (Kind::Float, Device::Cpu)).set_requires_grad(true);
    let soft = fwd_bwd(&[&logits], &|| {
        let e = logits.exp();
        let sum = Tensor::zeros([n, heads], (Kind::Float, Device::Cpu)).index_add(0, &dst, &e);
        graph_models::dropout(&e, 0.6, true) * 1.0 + sum.index_select(0, &dst) * 0.0
    });
    println!("  exp, per-node sums, dropout      {soft:.3} ms");
    let wgt = Tensor::rand([ei.size()[1], heads], (Kind::Float, Device::Cpu)).set_requires_grad(true);
    let agg = fwd_bwd(&[&h, &wgt], &|| {
        let m = h.index_select(0, &src) * wgt.unsqueeze(-1);
        h.zeros_like().index_add(0, &dst, &m)
    });
    println!("  messages: gather, scale, index_add {agg:.3} ms");
    let scores_mm = fwd_bwd(&[&h], &|| {
        // Both scores of every head as one product with a block-diagonal [H*C, 2H].
        let eye = Tensor::eye(heads, (Kind::Float, Device::Cpu)).unsqueeze(1);
        let blocks = |a: &Tensor| (a.view([heads, c, 1]) * &eye).view([heads * c, heads]);
        h.view([n, heads * c])
            .mm(&Tensor::cat(&[blocks(att_s), blocks(att_d)], 1))
    });
    println!("  node scores as one mm            {scores_mm:.3} ms");
    // The same messages over the edges sorted by target.
    let order = dst.argsort(0, false);
    let (src_s, dst_s) = (src.index_select(0, &order), dst.index_select(0, &order));
    let agg_sorted = fwd_bwd(&[&h, &wgt], &|| {
        let m = h.index_select(0, &src_s) * wgt.unsqueeze(-1);
        h.zeros_like().index_add(0, &dst_s, &m)
    });
    println!("  messages, edges sorted by target {agg_sorted:.3} ms");
    // As one CSR product per head, head-major: rows h * N + dst, columns h * N + src.
    let e = src.size()[0];
    let hoff = (Tensor::arange(heads, (Kind::Int64, Device::Cpu)) * n).unsqueeze(1);
    let cols = (&hoff + src_s.unsqueeze(0)).flatten(0, -1);
    let rows = (&hoff + dst_s.unsqueeze(0)).flatten(0, -1);
    let counts = Tensor::zeros([heads * n], (Kind::Int64, Device::Cpu)).index_add(
        0,
        &rows,
        &Tensor::ones([heads * e], (Kind::Int64, Device::Cpu)),
    );
    let crow = Tensor::cat(
        &[
            Tensor::zeros([1], (Kind::Int64, Device::Cpu)),
            counts.cumsum(0, Kind::Int64),
        ],
        0,
    );
    let agg_csr = fwd_bwd(&[&h, &wgt], &|| {
        let vals = wgt.index_select(0, &order).tr().contiguous().flatten(0, -1);
        let a = Tensor::sparse_csr_tensor_crow_col_value_size(
            &crow,
            &cols,
            &vals,
            [heads * n, heads * n],
            (Kind::Float, Device::Cpu),
        );
        let xh = h.transpose(0, 1).contiguous().view([heads * n, c]);
        a.mm(&xh).view([heads, n, c]).transpose(0, 1)
    });
    println!("  messages, CSR product per head   {agg_csr:.3} ms");
}
