//! `text`: the Stanford Sentiment Treebank read three ways, through `seqgraph
//! train text`: LSTM and BiLSTM over the words (sequence), Child-Sum and binary
//! N-ary Tree-LSTM over the parse tree (tree), GCN and GAT over the tree's edges
//! with attention readout (graph). Random embeddings (no pretrained vectors are
//! reachable), every labelled node or phrase supervised, test root accuracy at
//! the epoch with the best dev root accuracy.

use super::Ctx;
use crate::report::{BarSeries, ExperimentReport, Figure, Metric, Table};
use anyhow::{Context, Result};
use graph_data::fetch::Fetcher;
use graph_data::ptb;
use seqgraph::text::{train_sst, SstData, Supervise, TextConfig, TextModel, TextTask, View};
use train_utils::stats::mean_std;

/// Tai et al. 2015's test root accuracy with GloVe vectors: (fine-grained, binary).
type Published = Option<(f64, f64)>;

/// (view, model, label, published).
const MODELS: [(View, TextModel, &str, Published); 6] = [
    (View::Sequence, TextModel::Lstm, "LSTM", Some((0.464, 0.849))),
    (View::Sequence, TextModel::BiLstm, "BiLSTM", Some((0.491, 0.875))),
    (View::Tree, TextModel::ChildSum, "Child-Sum Tree-LSTM", None),
    (
        View::Tree,
        TextModel::NAry,
        "N-ary Tree-LSTM",
        Some((0.510, 0.880)),
    ),
    (View::Graph, TextModel::Gcn, "GCN over the tree", None),
    (View::Graph, TextModel::Gat, "GAT over the tree", None),
];

/// The binary and the fine-grained task.
const TASKS: [(TextTask, &str); 2] = [
    (TextTask::SstBinary, "binary"),
    (TextTask::SstFine, "fine-grained"),
];

/// Sizes of a run.
#[derive(Debug, Clone, Copy)]
struct Setup {
    /// Training sentences (evenly spaced), all when `None`.
    limit: Option<usize>,
    /// Dev and test sentences (evenly spaced), all when `None`.
    eval_limit: Option<usize>,
    seeds: u64,
    /// Epochs of the tree and graph views (a sentence per example).
    tree_epochs: usize,
    /// Epochs of the sequence view (a phrase per example, about 11 per sentence).
    sequence_epochs: usize,
    /// Phrases per batch in the sequence view (sentences per batch elsewhere: 25).
    sequence_batch: usize,
}

impl Setup {
    /// The library config for one model and task at this setup.
    fn config(&self, task: TextTask, view: View, model: TextModel) -> TextConfig {
        let (epochs, batch) = if view == View::Sequence {
            (self.sequence_epochs, self.sequence_batch)
        } else {
            (self.tree_epochs, 25)
        };
        TextConfig {
            task,
            view,
            model: Some(model),
            supervise: Supervise::All,
            epochs,
            batch,
            limit: self.limit,
            eval_limit: self.eval_limit,
            ..TextConfig::default()
        }
    }
}

/// Mean ± std of a list, as text.
fn cell(xs: &[f64]) -> String {
    let (m, s) = mean_std(xs);
    format!("{m:.3} ± {s:.3}")
}

/// Runs the experiment.
pub fn run(ctx: &Ctx, report: &mut ExperimentReport) -> Result<()> {
    let s = ctx.size(
        Setup {
            limit: Some(500),
            eval_limit: Some(400),
            seeds: 1,
            tree_epochs: 4,
            sequence_epochs: 2,
            sequence_batch: 100,
        },
        // Sized to fit the full run's hour: the six models on both tasks, one seed, 2000 evenly spaced
        // training sentences, full dev and test. `seqgraph train text` trains on all 8544 (a
        // full-data tree model takes 20-40 s per epoch here, so 5 seeds of all twelve runs would
        // take hours); its 5-seed results are in the issue notes.
        Setup {
            limit: Some(2000),
            eval_limit: None,
            seeds: 1,
            tree_epochs: 6,
            sequence_epochs: 2,
            sequence_batch: 100,
        },
    );
    let sst = ptb::load_sst(&Fetcher::from_env()).context("loading SST")?;
    let bar = ctx.bar((MODELS.len() * TASKS.len()) as u64 * s.seeds, "text: training");
    // accs[task][model]: one test accuracy per seed; seconds per epoch likewise.
    let mut accs = vec![vec![Vec::new(); MODELS.len()]; TASKS.len()];
    let mut seconds = vec![vec![Vec::new(); MODELS.len()]; TASKS.len()];
    for (t, (task, _)) in TASKS.iter().enumerate() {
        let binary = *task == TextTask::SstBinary;
        let sentences = SstData::new(&sst, binary, s.limit, s.eval_limit, false);
        let phrases = SstData::new(&sst, binary, s.limit, s.eval_limit, true);
        for (m, (view, model, label, _)) in MODELS.iter().enumerate() {
            let config = s.config(*task, *view, *model);
            let data = if *view == View::Sequence {
                &phrases
            } else {
                &sentences
            };
            for seed in 0..s.seeds {
                bar.message(format!("{label}, {}, seed {seed}", task.name()));
                let run = train_sst(&config, data, seed, config.options(seed))?;
                accs[t][m].push(run.test);
                seconds[t][m].push(run.seconds_per_epoch);
                bar.inc();
            }
        }
    }
    bar.finish();
    for (t, (task, name)) in TASKS.iter().enumerate() {
        let means: Vec<f64> = accs[t].iter().map(|a| mean_std(a).0).collect();
        for (m, (_, _, label, published)) in MODELS.iter().enumerate() {
            let mut metric = Metric::new(
                format!(
                    "{label} SST {name} test root accuracy, mean of {} seed(s)",
                    s.seeds
                ),
                means[m],
            );
            if let Some((fine, binary)) = published {
                let p = if *task == TextTask::SstBinary {
                    *binary
                } else {
                    *fine
                };
                metric = metric.published(p, "Tai et al. 2015, with GloVe vectors");
            }
            report.metrics.push(metric);
        }
        let best = means.iter().copied().fold(0.0, f64::max);
        let target = if *task == TextTask::SstBinary { 0.80 } else { 0.40 };
        let m = Metric::new(format!("best model, SST {name} (random embeddings)"), best);
        // The targets are stated for the full data and 5 seeds: checked only at full size.
        report.metrics.push(if s.limit.is_some() {
            m
        } else {
            m.expect(format!(">= {target:.2} (issue 9)"), best >= target)
        });
    }
    let categories: Vec<String> = MODELS.iter().map(|m| m.2.to_owned()).collect();
    let series = TASKS
        .iter()
        .enumerate()
        .map(|(t, (_, name))| BarSeries {
            name: format!("SST {name}"),
            values: accs[t].iter().map(|a| mean_std(a).0).collect(),
        })
        .collect();
    report.figures.push(Figure::bars(
        "text-sst",
        "SST test root accuracy: sequence, tree and graph views (random embeddings)",
        "test root accuracy",
        categories,
        series,
    ));
    let rows = MODELS
        .iter()
        .enumerate()
        .map(|(m, (view, _, label, published))| {
            vec![
                view.name().to_string(),
                label.to_string(),
                cell(&accs[0][m]),
                cell(&accs[1][m]),
                format!("{:.1}", mean_std(&seconds[0][m]).0),
                published.map_or("-".into(), |(f, b)| format!("{b:.3} / {f:.3}")),
            ]
        })
        .collect();
    report.tables.push(Table {
        title: format!("SST test root accuracy, mean ± std over {} seed(s)", s.seeds),
        columns: [
            "view",
            "model",
            "binary",
            "fine-grained",
            "s/epoch (binary)",
            "Tai et al. (GloVe) binary / fine",
        ]
        .map(String::from)
        .to_vec(),
        rows,
    });
    report.notes.push(format!(
        "seqgraph's `train_sst` recipe (`seqgraph train text --supervise all`): embeddings 100, hidden 100, randomly initialised (no pretrained \
         vectors are reachable here; the published numbers use GloVe); Adam lr 2e-3, gradient norm clipped at 5, \
         dropout 0.5. Tree and graph views: {} epochs, 25 sentences per batch, every node's label supervised. \
         Sequence view: {} epochs over every distinct labelled phrase of the training trees, {} phrases per \
         batch. Test root accuracy at the epoch with the best dev root accuracy; binary drops neutral sentences \
         and nodes. {}",
        s.tree_epochs,
        s.sequence_epochs,
        s.sequence_batch,
        match (s.limit, s.eval_limit) {
            (Some(l), Some(e)) => format!(
                "--quick: REDUCED to {l} training sentences and {e} dev and test sentences (evenly \
                 spaced), 1 seed; the numbers are far below the full run's."
            ),
            (Some(l), None) => format!(
                "REDUCED to {l} evenly spaced of SST's 8544 training sentences (full dev and test: 1101 / 2210; \
                 binary keeps the non-neutral ones), 1 seed, so that the whole reproduce run fits its hour; \
                 the issue's accuracy bounds (on all of the training data, 5 seeds) are not checked here. \
                 `seqgraph train text` trains on all of it."
            ),
            _ => "Full SST: 8544 / 1101 / 2210 sentences (binary 6920 / 872 / 1821).".to_owned(),
        }
    ));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn setup_configs_are_the_sizes_of_the_setup() {
        let s = Setup {
            limit: Some(500),
            eval_limit: Some(400),
            seeds: 1,
            tree_epochs: 4,
            sequence_epochs: 2,
            sequence_batch: 100,
        };
        let seq = s.config(TextTask::SstFine, View::Sequence, TextModel::BiLstm);
        assert_eq!(
            (seq.epochs, seq.batch, seq.limit, seq.eval_limit),
            (2, 100, Some(500), Some(400))
        );
        assert_eq!((seq.model(), seq.supervise), (TextModel::BiLstm, Supervise::All));
        let tree = s.config(TextTask::SstBinary, View::Tree, TextModel::NAry);
        assert_eq!((tree.epochs, tree.batch, tree.task), (4, 25, TextTask::SstBinary));
        let full = Setup {
            limit: None,
            eval_limit: None,
            ..s
        };
        assert_eq!(
            full.config(TextTask::SstBinary, View::Graph, TextModel::Gat)
                .limit,
            None
        );
    }
}
