//! `GatConv`'s attention (a softmax shifted by a node-level bound, or by the
//! exact per-node maximum when the scores spread too far) against a plain
//! reference built from `segment_softmax`, at ordinary and extreme scales.

use graph_models::{segment_softmax, GatConfig, GatConv, GnnLayer, Graph};
use tch::{nn, Device, Kind, Tensor};

/// Reference GAT (one layer, heads concatenated, no dropout) from the named parameters.
fn reference(vs: &nn::VarStore, x: &Tensor, graph: &Graph, heads: i64, out: i64) -> Tensor {
    let v = vs.variables();
    let n = graph.num_nodes();
    let h = x.mm(&v["lin.weight"].tr()).view([n, heads, out]);
    let a_src = (&h * &v["att_src"]).sum_dim_intlist(-1, false, None);
    let a_dst = (&h * &v["att_dst"]).sum_dim_intlist(-1, false, None);
    let ei = graph.self_loop_edge_index();
    let (src, dst) = (ei.get(0), ei.get(1));
    let logits = a_src.index_select(0, &src) + a_dst.index_select(0, &dst);
    let logits = logits.maximum(&(&logits * 0.2));
    let alpha = segment_softmax(&logits, &dst, n);
    let msgs = h.index_select(0, &src) * alpha.unsqueeze(-1);
    h.zeros_like().index_add(0, &dst, &msgs).flatten(1, -1) + &v["bias"]
}

fn max_rel_diff(a: &Tensor, b: &Tensor) -> f64 {
    let scale = b.abs().max().double_value(&[]).max(1e-12);
    (a - b).abs().max().double_value(&[]) / scale
}

#[test]
fn attention_matches_the_segment_softmax_reference_at_any_scale() {
    tch::manual_seed(3);
    let (n, heads, out) = (30i64, 4i64, 5i64);
    let src = Tensor::randint(n, [120], (Kind::Int64, Device::Cpu));
    let dst = Tensor::randint(n, [120], (Kind::Int64, Device::Cpu));
    let graph = Graph::new(&Tensor::stack(&[src, dst], 0), n).unwrap();
    let x = Tensor::randn([n, 6], (Kind::Float, Device::Cpu));
    let vs = nn::VarStore::new(Device::Cpu);
    let config = GatConfig {
        heads,
        ..GatConfig::default()
    };
    let conv = GatConv::new(vs.root(), 6, out, config);
    tch::no_grad(|| {
        let mut bias = vs.variables()["bias"].shallow_clone();
        bias.copy_(&Tensor::randn([heads * out], (Kind::Float, Device::Cpu)));
    });
    // Ordinary scores (the bounded shift), then scores spanning hundreds (the exact maximum).
    for scale in [1.0, 500.0] {
        tch::no_grad(|| {
            let mut att = vs.variables()["att_src"].shallow_clone();
            let _ = att.f_mul_(&Tensor::from(scale)).unwrap();
        });
        let got = conv.f_forward_t(&x, &graph, false).unwrap();
        let want = reference(&vs, &x, &graph, heads, out);
        assert!(got.isfinite().all().int64_value(&[]) == 1, "scale {scale}: {got}");
        let d = max_rel_diff(&got, &want);
        assert!(d < 1e-5, "scale {scale}: relative difference {d}");
    }
}
