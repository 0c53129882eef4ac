//! `seqgraph demo`: a small RNN and a small GCN trained on real data through
//! the library's recipes, with the test accuracy each reached. The full
//! evidence is `cargo xtask reproduce`.

use anyhow::Result;
use graph_models::{node_classification, NodeConfig};
use seq_models::recipe::{train_seq, SeqConfig, SeqTask};
use std::time::Instant;

/// Runs the demo.
pub fn run(_args: &[String]) -> Result<()> {
    let device = tch::Device::cuda_if_available();
    println!("seqgraph demo on {device:?}: one sequence model and one graph model, on real data\n");

    let start = Instant::now();
    let rnn = train_seq(&SeqConfig {
        task: SeqTask::JapaneseVowels,
        epochs: Some(15),
        ..SeqConfig::default()
    })?;
    println!(
        "  LSTM (many-to-one) on JapaneseVowels (UEA, 9 speakers, 370 test utterances): \
         test accuracy {:.1} %  ({:.1} s)",
        100.0 * rnn.value,
        start.elapsed().as_secs_f64()
    );

    let start = Instant::now();
    let gcn = node_classification(&NodeConfig {
        seeds: 1,
        ..NodeConfig::default()
    })?;
    println!(
        "  GCN (Kipf and Welling, 2 layers) on Cora (public split, 1000 test nodes):   \
         test accuracy {:.1} %  ({:.1} s)",
        gcn.test_acc_mean,
        start.elapsed().as_secs_f64()
    );
    println!("\nThe same machine, twice: a state passed along a chain, and messages passed along edges.");
    Ok(())
}
