//! `citation`: GCN and GAT test accuracy on Cora and CiteSeer (Planetoid public split, the papers'
//! recipes as graph-models states them), mean and standard deviation over seeds, beside the papers.

use super::Ctx;
use crate::report::{fmt_num, BarSeries, ExperimentReport, Figure, Metric, Status, Table};
use anyhow::{Context, Result};
use graph_models::{median, train_node, Arch, NodeData};
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

/// Loads a Planetoid data set onto `device`, row-normalised as the recipes want.
pub fn load(dataset: &str, device: Device) -> Result<NodeData> {
    let fetcher = graph_data::fetch::Fetcher::from_env();
    let ds = graph_data::planetoid::load(dataset, &fetcher).with_context(|| format!("loading {dataset}"))?;
    Ok(NodeData::from_dataset(ds, device)?)
}

/// Mean and sample standard deviation.
pub fn mean_std(xs: &[f64]) -> (f64, f64) {
    let n = xs.len().max(1) as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0).max(1.0);
    (mean, var.sqrt())
}

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
        let data = match load(dataset, device) {
            Ok(d) => d,
            Err(e) => {
                failures.push(format!("{dataset}: {e:#}"));
                continue;
            }
        };
        let mut recipe = arch.recipe();
        if ctx.quick {
            recipe.epochs = recipe.epochs.min(QUICK_EPOCHS);
        }
        let (mut accs, mut times) = (Vec::new(), Vec::new());
        for seed in 0..seeds {
            let run = train_node(arch, &data, arch.default_layers(), seed, &recipe);
            accs.push(run.test_acc * 100.0);
            times.extend(run.epoch_ms);
            bar.message(format!(
                "{} {dataset} seed {seed}: {:.1} %",
                arch.name(),
                run.test_acc * 100.0
            ));
            bar.inc();
        }
        let (mean, std) = mean_std(&accs);
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
            format!("{:.2}", median(&times)),
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
        "graph-models' train_node with its published recipes (GCN: 2 layers, 16 hidden, 200 epochs, epoch of best \
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
