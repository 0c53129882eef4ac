//! `link-prediction`: GAE and VGAE on Cora and CiteSeer under Kipf and Welling's (2016) protocol
//! (85 / 5 / 10 edge split, features used, GCN 32-16, inner-product decoder, the weighted all-pairs
//! loss, 200 epochs of Adam at 0.01), test ROC AUC and AP beside the paper's Table 1, through
//! graph-models' `link_prediction` recipe (`seqgraph train link`). Full: 10 seeds of 200 epochs;
//! --quick: 1 seed of 50 epochs.

use super::Ctx;
use crate::report::{BarSeries, ExperimentReport, Figure, Metric, Status, Table};
use anyhow::Result;
use graph_models::{link_prediction, LinkArch, LinkConfig};
use tch::Device;

/// Kipf and Welling 2016, Table 1 (%): model, data set, AUC, AP.
const PUBLISHED: [(LinkArch, &str, f64, f64); 4] = [
    (LinkArch::Gae, "cora", 91.0, 92.0),
    (LinkArch::Vgae, "cora", 91.4, 92.6),
    (LinkArch::Gae, "citeseer", 89.5, 89.9),
    (LinkArch::Vgae, "citeseer", 90.8, 92.0),
];
const SOURCE: &str = "Kipf & Welling 2016";

/// Epochs in --quick (the protocol's 200 otherwise).
const QUICK_EPOCHS: usize = 50;

/// Runs the experiment.
pub fn run(ctx: &Ctx, report: &mut ExperimentReport) -> Result<()> {
    let seeds = ctx.size(1u64, 10);
    let epochs = ctx.size(QUICK_EPOCHS, 200);
    let device = Device::cuda_if_available();
    let bar = ctx.bar(PUBLISHED.len() as u64, "link-prediction");
    let (mut rows, mut failures) = (Vec::new(), Vec::new());
    let (mut auc, mut ap) = (vec![f64::NAN; PUBLISHED.len()], vec![f64::NAN; PUBLISHED.len()]);
    for (i, &(model, dataset, paper_auc, paper_ap)) in PUBLISHED.iter().enumerate() {
        bar.message(format!("{} {dataset}", model.name()));
        let config = LinkConfig {
            model,
            dataset: dataset.into(),
            seeds,
            epochs,
            device,
            ..LinkConfig::default()
        };
        let s = match link_prediction(&config) {
            Ok(s) => s,
            Err(e) => {
                failures.push(format!("{} {dataset}: {e}", model.name()));
                bar.inc();
                continue;
            }
        };
        bar.inc();
        let name = model.name().to_uppercase();
        (auc[i], ap[i]) = (s.auc_mean * 100.0, s.ap_mean * 100.0);
        for (what, mean, std, paper) in [
            ("ROC AUC", s.auc_mean, s.auc_std, paper_auc),
            ("AP", s.ap_mean, s.ap_std, paper_ap),
        ] {
            let (mean, std) = (mean * 100.0, std * 100.0);
            let metric = Metric::new(
                format!("{name} {dataset} test {what} (%), mean of {seeds} seed(s), {epochs} epochs"),
                mean,
            )
            .published(paper, SOURCE);
            // The bound: the paper's number, within one standard deviation, over 10 seeds.
            report.metrics.push(if ctx.quick {
                metric
            } else {
                metric.expect(format!(">= {paper} within one std"), mean + std >= paper)
            });
        }
        rows.push(vec![
            name,
            dataset.to_owned(),
            format!("{:.2} ± {:.2}", s.auc_mean * 100.0, s.auc_std * 100.0),
            format!("{paper_auc:.1}"),
            format!("{:.2} ± {:.2}", s.ap_mean * 100.0, s.ap_std * 100.0),
            format!("{paper_ap:.1}"),
            format!("{:.1}", s.ms_per_epoch),
            seeds.to_string(),
        ]);
    }
    bar.finish();
    let categories: Vec<String> = PUBLISHED
        .iter()
        .map(|p| format!("{} {}", p.0.name().to_uppercase(), p.1))
        .collect();
    let series = |name: &str, values: Vec<f64>| BarSeries {
        name: name.into(),
        values,
    };
    report.figures.push(Figure::bars(
        "link-prediction",
        "Link prediction: test ROC AUC and AP (%)",
        "% (test edges against as many non-edges)",
        categories,
        vec![
            series("AUC (seqgraph)", auc),
            series("AUC (paper)", PUBLISHED.iter().map(|p| p.2).collect()),
            series("AP (seqgraph)", ap),
            series("AP (paper)", PUBLISHED.iter().map(|p| p.3).collect()),
        ],
    ));
    report.tables.push(Table {
        title: "Link prediction, 85 / 5 / 10 edge split".into(),
        columns: [
            "model",
            "data set",
            "test ROC AUC % (mean ± std)",
            "paper",
            "test AP % (mean ± std)",
            "paper",
            "ms / epoch (median)",
            "seeds",
        ]
        .map(String::from)
        .to_vec(),
        rows,
    });
    report.notes.push(format!(
        "graph-models' link_prediction recipe (`seqgraph train link --model gae|vgae`): seed s draws the split and the \
         model; GCN 32-16 encoder, inner-product decoder, Kipf's weighted loss over all pairs (+ KL / N for VGAE), \
         Adam 0.01, {epochs} epochs{}, scores after the last epoch; device {device:?}, {} libtorch thread(s).",
        if ctx.quick {
            " (REDUCED, --quick; the protocol trains 200)".to_owned()
        } else {
            String::new()
        },
        tch::get_num_threads()
    ));
    if ctx.quick {
        failures.push(format!("--quick: 1 seed, {QUICK_EPOCHS} epochs"));
    }
    if !failures.is_empty() {
        report.status = Status::Partial(failures.join("; "));
    }
    Ok(())
}
