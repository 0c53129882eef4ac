//! `citation`: GCN and GAT test accuracy on Cora and CiteSeer (Planetoid public split, the papers'
//! recipes as graph-models states them), mean and standard deviation over seeds, beside the papers.

use super::Ctx;
use crate::report::{fmt_num, BarSeries, ExperimentReport, Figure, Metric, Status, Table};
use anyhow::Result;
use graph_models::{node_classification, Arch, NodeConfig};
use tch::Device;

/// Papers' test accuracies (%): Kipf and Welling 2017 (GCN), Velickovic et al. 2018 (GAT).
const PUBLISHED: [(Arch, &str, f64, &str); 4] = [
    (Arch::Gcn, "cora", 81.5, "Kipf & Welling 2017"),
    (Arch::Gcn, "citeseer", 70.3, "Kipf & Welling 2017"),
    (Arch::Gat, "cora", 83.0, "Velickovic et al. 2018"),
    (Arch::Gat, "citeseer", 72.5, "Velickovic et al. 2018"),
];

/// Epoch cap in --quick (GCN's recipe is 200; GAT's is up to 1000 with early stopping).
const QUICK_EPOCHS: usize = 100;

/// Runs the experiment.
pub fn run(ctx: &Ctx, report: &mut ExperimentReport) -> Result<()> {
    let seeds = ctx.size(1u64, 10);
    let device = Device::cuda_if_available();
    // --quick: GAT (hundreds of epochs of 8-head attention) on Cora only, with fewer epochs.
    let skipped = |arch: Arch, dataset: &str| ctx.quick && arch == Arch::Gat && dataset != "cora";
    let runs = PUBLISHED.iter().filter(|p| !skipped(p.0, p.1)).count() as u64;
    let bar = ctx.bar(runs * seeds, "citation: training");
    let mut rows = Vec::new();
    let mut ours = vec![f64::NAN; PUBLISHED.len()];
    let mut failures = Vec::new();
    for (i, &(arch, dataset, paper, source)) in PUBLISHED.iter().enumerate() {
        if skipped(arch, dataset) {
            continue;
        }
        let mut hyper = arch.hyperparams();
        if ctx.quick {
            hyper.epochs = hyper.epochs.min(QUICK_EPOCHS);
        }
        bar.message(format!("{} {dataset}", arch.name()));
        let config = NodeConfig {
            arch,
            dataset: dataset.into(),
            seeds,
            hyper: Some(hyper),
            device,
            ..NodeConfig::default()
        };
        let summary = match node_classification(&config) {
            Ok(s) => s,
            Err(e) => {
                failures.push(format!("{} {dataset}: {e}", arch.name()));
                continue;
            }
        };
        bar.inc_by(seeds);
        let (mean, std) = (summary.test_acc_mean, summary.test_acc_std);
        ours[i] = mean;
        let name = format!(
            "{} {dataset} test accuracy (%), mean of {seeds} seed(s)",
            arch.name().to_uppercase()
        );
        report
            .metrics
            .push(Metric::new(name, mean).published(paper, source));
        rows.push(vec![
            arch.name().to_uppercase(),
            dataset.to_owned(),
            format!("{mean:.2} ± {std:.2}"),
            fmt_num(paper),
            format!("{:.2}", summary.ms_per_epoch),
            seeds.to_string(),
        ]);
    }
    bar.finish();
    let bars = |arch: Arch, values: &[f64]| -> Vec<f64> {
        PUBLISHED
            .iter()
            .zip(values)
            .filter(|(p, _)| p.0 == arch)
            .map(|(_, v)| *v)
            .collect()
    };
    let papers: Vec<f64> = PUBLISHED.iter().map(|p| p.2).collect();
    report.figures.push(Figure::bars(
        "citation-accuracy",
        "Test accuracy on the Planetoid public split",
        "test accuracy (%)",
        vec!["Cora".into(), "CiteSeer".into()],
        vec![
            BarSeries {
                name: "GCN (seqgraph)".into(),
                values: bars(Arch::Gcn, &ours),
            },
            BarSeries {
                name: "GCN (paper)".into(),
                values: bars(Arch::Gcn, &papers),
            },
            BarSeries {
                name: "GAT (seqgraph)".into(),
                values: bars(Arch::Gat, &ours),
            },
            BarSeries {
                name: "GAT (paper)".into(),
                values: bars(Arch::Gat, &papers),
            },
        ],
    ));
    report.tables.push(Table {
        title: "Node classification, Planetoid public split".into(),
        columns: [
            "model",
            "data set",
            "test acc. % (mean ± std)",
            "paper %",
            "ms / epoch (median)",
            "seeds",
        ]
        .map(String::from)
        .to_vec(),
        rows,
    });
    report.notes.push(format!(
        "graph-models' node_classification recipe with the published hyperparameters (GCN: 2 layers, 16 hidden, 200 epochs, epoch of best \
         validation accuracy; GAT: 8x8 heads, patience 100 on validation loss and accuracy, the epoch where both \
         are at their best as in GAT's code{}), device {device:?}, {} libtorch thread(s).",
        if ctx.quick {
            format!(", at most {QUICK_EPOCHS} epochs and GAT on Cora only in --quick")
        } else {
            String::new()
        },
        tch::get_num_threads()
    ));
    if ctx.quick {
        failures.push(format!(
            "--quick: 1 seed, at most {QUICK_EPOCHS} epochs, GAT on CiteSeer not run"
        ));
    }
    if !failures.is_empty() {
        report.status = Status::Partial(failures.join("; "));
    }
    Ok(())
}
