//! `sequence-classification`: JapaneseVowels (UEA, canonical split, 9 speakers, 12 channels,
//! variable length) with the many-to-one RNN, LSTM and GRU of `seqgraph train seq`. Full: 5 seeds of
//! the command's 60 epochs per model; --quick: 1 seed of 15 epochs.

use super::Ctx;
use crate::report::{ExperimentReport, Metric, Table};
use anyhow::Result;
use seq_models::recipe::{train_seq, SeqConfig, SeqTask};
use seq_models::CellKind;

const MODELS: [(CellKind, &str); 3] = [
    (CellKind::RnnTanh, "tanh RNN"),
    (CellKind::Lstm, "LSTM"),
    (CellKind::Gru, "GRU"),
];

/// Runs the experiment.
pub fn run(ctx: &Ctx, r: &mut ExperimentReport) -> Result<()> {
    let seeds = ctx.size(1u64, 5);
    let epochs = ctx.size(15usize, 60);
    let bar = ctx.bar(MODELS.len() as u64, "sequence-classification");
    let mut rows = Vec::new();
    for (cell, label) in MODELS {
        let config = SeqConfig {
            task: SeqTask::JapaneseVowels,
            cell,
            seeds,
            epochs: Some(epochs),
            ..SeqConfig::default()
        };
        let summary = train_seq(&config)?;
        bar.inc();
        let accs: Vec<f64> = summary.per_seed.iter().map(|a| a * 100.0).collect();
        let (mean, std) = train_utils::stats::mean_std(&accs);
        let metric = Metric::new(
            format!("{label} JapaneseVowels test accuracy (%), mean of {seeds} seed(s), {epochs} epochs"),
            mean,
        );
        // The bound is for the LSTM over 5 seeds; the others are reported beside it.
        r.metrics.push(if cell == CellKind::Lstm {
            metric.expect(">= 97 (issue 4, 5 seeds)", mean >= 97.0)
        } else {
            metric
        });
        rows.push(vec![
            label.to_owned(),
            format!("{mean:.2}"),
            format!("{std:.2}"),
            seeds.to_string(),
        ]);
    }
    bar.finish();
    r.tables.push(Table {
        title: "JapaneseVowels, canonical split (270 train, 370 test)".into(),
        columns: ["model", "test accuracy % (mean)", "std", "seeds"]
            .map(String::from)
            .to_vec(),
        rows,
    });
    r.notes.push(format!(
        "many-to-one models of seq-models' `train_seq` recipe (`seqgraph train seq --task japanese-vowels`) (hidden 64, batch 32, Adam \
         5e-3, clipping at norm 5, last valid state through a linear head), {epochs} epochs{}",
        if ctx.quick {
            ", REDUCED (--quick; the command trains 60)"
        } else {
            ""
        }
    ));
    Ok(())
}
