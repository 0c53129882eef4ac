//! `seqgraph demo`: a small RNN and a small GCN trained on real data, with
//! the test accuracy each reached. The full evidence is `cargo xtask reproduce`.

use anyhow::Result;
use std::time::Instant;

/// Runs the demo.
pub fn run(_args: &[String]) -> Result<()> {
    let device = tch::Device::cuda_if_available();
    println!("seqgraph demo on {device:?}: one sequence model and one graph model, on real data\n");

    let start = Instant::now();
    let rnn = super::seq::japanese_vowels_quick(0)?;
    println!(
        "  LSTM (many-to-one) on JapaneseVowels (UEA, 9 speakers, 370 test utterances): \
         test accuracy {:.1} %  ({:.1} s)",
        100.0 * rnn,
        start.elapsed().as_secs_f64()
    );

    let start = Instant::now();
    let gcn = super::node::gcn_cora_quick(0)?;
    println!(
        "  GCN (Kipf and Welling, 2 layers) on Cora (public split, 1000 test nodes):   \
         test accuracy {gcn:.1} %  ({:.1} s)",
        start.elapsed().as_secs_f64()
    );
    println!("\nThe same machine, twice: a state passed along a chain, and messages passed along edges.");
    Ok(())
}
