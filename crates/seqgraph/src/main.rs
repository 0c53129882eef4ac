//! The `seqgraph` command: demo, train, reproduce.

fn main() {
    let t = tch::Tensor::from_slice(&[1.0f32, 2.0, 3.0]);
    println!(
        "seqgraph demo: libtorch works, sum = {}",
        t.sum(tch::Kind::Float).double_value(&[])
    );
}
