//! `graph-level`: GIN-0 on the TU graph-classification sets under Xu et al.'s (2019) protocol
//! (10-fold stratified cross validation, the epoch chosen on the fold-averaged held-out curve, no
//! separate test set), beside the GIN paper's Table 1, through graph-models' `graph_classification`
//! recipe (`seqgraph train graph`) with their code's hyperparameters (5 layers of 64, 350 epochs of
//! 50 random batches of 32, Adam 0.01 halved every 50 epochs, dropout 0.5), except on NCI1, which
//! runs the configuration their search (`train graph --grid`) chose here. Full: MUTAG, PROTEINS,
//! ENZYMES, NCI1 and IMDB-BINARY, 10 folds; --quick: MUTAG, 3 of the 10 folds, 50 epochs.

use super::Ctx;
use crate::report::{BarSeries, ExperimentReport, Figure, Metric, Status, Table};
use anyhow::Result;
use graph_models::{graph_classification, GraphConfig, Protocol};
use tch::Device;

/// Xu et al. 2019, Table 1, GIN-0 (%): data set, mean, std; ENZYMES is not in their table.
const PUBLISHED: [(&str, Option<(f64, f64)>); 5] = [
    ("mutag", Some((89.4, 5.6))),
    ("proteins", Some((76.2, 2.8))),
    ("enzymes", None),
    ("nci1", Some((82.7, 1.7))),
    ("imdb-binary", Some((75.1, 5.1))),
];
const SOURCE: &str = "Xu et al. 2019";

/// Where Xu et al.'s search (`xu_grid`, run with `train graph --grid`, seed 0; docs/benchmarks.md)
/// chose other hyperparameters than their code's defaults: data set, hidden units, batch size,
/// dropout. The search was run on NCI1 only, the one set the defaults left under its bound.
const GRID_CHOICE: [(&str, i64, usize, f64); 1] = [("nci1", 32, 128, 0.0)];

/// Folds and epochs of --quick.
const QUICK_FOLDS: usize = 3;
const QUICK_EPOCHS: usize = 50;

/// Runs the experiment.
pub fn run(ctx: &Ctx, report: &mut ExperimentReport) -> Result<()> {
    let sets = ctx.size(&PUBLISHED[..1], &PUBLISHED[..]);
    let max_folds = ctx.size(Some(QUICK_FOLDS), None);
    let epochs = ctx.size(QUICK_EPOCHS, GraphConfig::default().epochs);
    let device = Device::cuda_if_available();
    let bar = ctx.bar(sets.len() as u64, "graph-level");
    let (mut rows, mut failures) = (Vec::new(), Vec::new());
    let mut accs = vec![f64::NAN; sets.len()];
    for (i, &(dataset, published)) in sets.iter().enumerate() {
        bar.message(dataset.to_owned());
        let mut config = GraphConfig {
            dataset: dataset.into(),
            protocol: Protocol::Xu,
            max_folds,
            epochs,
            device,
            ..GraphConfig::default()
        };
        if let Some(&(_, hidden, batch_size, dropout)) = GRID_CHOICE.iter().find(|c| c.0 == dataset) {
            config.model.hidden = hidden;
            config.model.dropout = dropout;
            config.batch_size = batch_size;
        }
        let s = match graph_classification(&config) {
            Ok(s) => s,
            Err(e) => {
                failures.push(format!("{dataset}: {e}"));
                bar.inc();
                continue;
            }
        };
        bar.inc();
        accs[i] = s.test_acc_mean;
        let mut metric = Metric::new(
            format!(
                "GIN-0 {dataset} accuracy (%), xu, {} of {} folds, {epochs} epochs",
                s.folds_run, s.folds
            ),
            s.test_acc_mean,
        );
        if let Some((mean, std)) = published {
            metric = metric.published(mean, SOURCE);
            // The bound: the published mean minus half its std, over all 10 folds.
            if !ctx.quick {
                let bound = mean - std / 2.0;
                metric = metric.expect(format!(">= {bound:.2}"), s.test_acc_mean >= bound);
            }
        }
        report.metrics.push(metric);
        rows.push(vec![
            dataset.to_owned(),
            format!("{:.2} ± {:.2}", s.test_acc_mean, s.test_acc_std),
            published.map_or("n/a".into(), |(m, sd)| format!("{m:.1} ± {sd:.1}")),
            format!("{:.1}", s.majority_acc),
            format!("{:?}", s.selected_epochs),
            format!("{}, {}, {}", s.hidden, s.batch_size, s.dropout),
            format!("{} of {}", s.folds_run, s.folds),
            format!("{:.1}", s.ms_per_epoch),
        ]);
    }
    bar.finish();
    let categories: Vec<String> = sets.iter().map(|s| s.0.to_owned()).collect();
    report.figures.push(Figure::bars(
        "graph-level",
        "GIN-0 graph classification accuracy (%), Xu et al.'s protocol",
        "% (held-out folds at the chosen epoch)",
        categories,
        vec![
            BarSeries {
                name: "seqgraph".into(),
                values: accs,
            },
            BarSeries {
                name: SOURCE.into(),
                values: sets.iter().map(|s| s.1.map_or(f64::NAN, |p| p.0)).collect(),
            },
        ],
    ));
    report.tables.push(Table {
        title: "GIN-0 on the TU data sets, Xu et al.'s protocol".into(),
        columns: [
            "data set",
            "accuracy % (mean ± std over folds)",
            "Xu et al. 2019",
            "majority class %",
            "chosen epoch",
            "hidden, batch, dropout",
            "folds",
            "ms / epoch (median)",
        ]
        .map(String::from)
        .to_vec(),
        rows,
    });
    report.notes.push(format!(
        "graph-models' graph_classification recipe (`seqgraph train graph --protocol xu`): GIN-0, 5 layers \
         of 64 with batch norm, a sum-pooled head on every layer, dropout 0.5, Adam 0.01 halved every 50 \
         epochs, {epochs} epochs{} of 50 random batches of 32 (Xu et al.'s code), seed 0; on NCI1 hidden 32, batch 128, \
         dropout 0, the configuration Xu et al.'s search (`train graph --grid`) chose there; one-hot node labels (IMDB-BINARY: one-hot degree). The held-out fold \
         both chooses the epoch and scores it, as in the paper: there is no separate test set, so the \
         numbers are optimistic (Errica et al. 2020; `--protocol errica`). ENZYMES is not in Xu et al.'s \
         table. Device {device:?}, {} libtorch thread(s).",
        if ctx.quick {
            " (REDUCED, --quick; the protocol trains 350)"
        } else {
            ""
        },
        tch::get_num_threads()
    ));
    if ctx.quick {
        failures.push(format!(
            "--quick: MUTAG only, {QUICK_FOLDS} of 10 folds, {QUICK_EPOCHS} epochs"
        ));
    }
    if !failures.is_empty() {
        report.status = Status::Partial(failures.join("; "));
    }
    Ok(())
}
