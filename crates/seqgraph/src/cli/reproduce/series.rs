//! `series-graphs`: time series read as a sequence (LSTM) and as three graphs of their time points
//! (causal lag graph, natural and horizontal visibility graphs; GIN and pooling, or the last node
//! for forecasting), through `seqgraph::series::train_series` (`seqgraph train series`) with the
//! same budget per view. Full: JapaneseVowels, GunPoint, ArrowHead, BasicMotions,
//! ItalyPowerDemand and sunspots, 5 seeds; --quick: ItalyPowerDemand and sunspots, 2 seeds, 15 and
//! 100 epochs. Beside them: the majority class (persistence for sunspots), 1-NN DTW computed in the
//! same run and the archive's published 1-NN DTW.

use super::Ctx;
use crate::report::{BarSeries, ExperimentReport, Figure, Metric, Series, Status, Table};
use anyhow::Result;
use graph_data::series_graph::natural_visibility;
use seqgraph::series::{train_series, SeriesConfig, SeriesSummary, SeriesTask, SeriesView, SERIES_VIEWS};

/// Runs the experiment.
pub fn run(ctx: &Ctx, report: &mut ExperimentReport) -> Result<()> {
    let tasks: Vec<SeriesTask> = if ctx.quick {
        vec![SeriesTask::ItalyPower, SeriesTask::Sunspots]
    } else {
        seqgraph::series::SERIES_TASKS.to_vec()
    };
    let seeds = ctx.size(2, 5);
    let bar = ctx.bar((tasks.len() * SERIES_VIEWS.len()) as u64, "series-graphs");
    let mut failures = Vec::new();
    let mut results: Vec<Vec<Option<SeriesSummary>>> = Vec::new();
    for &task in &tasks {
        let mut row = Vec::new();
        for view in SERIES_VIEWS {
            bar.message(format!("{} {}", task.name(), view.name()));
            let config = SeriesConfig {
                task,
                view,
                seeds,
                epochs: ctx.quick.then_some(if task.is_forecast() { 100 } else { 15 }),
                // DTW once per task, with the sequence view.
                dtw: view == SeriesView::Sequence,
                ..SeriesConfig::default()
            };
            match train_series(&config) {
                Ok(s) => row.push(Some(s)),
                Err(e) => {
                    failures.push(format!("{} {}: {e}", task.name(), view.name()));
                    row.push(None);
                }
            }
            bar.inc();
        }
        results.push(row);
    }
    bar.finish();

    let mut rows = Vec::new();
    for (task, row) in tasks.iter().zip(&results) {
        let cell = |s: &Option<SeriesSummary>| {
            s.as_ref()
                .map_or("failed".to_owned(), |s| format!("{:.4} ± {:.4}", s.value, s.std))
        };
        let first = row.iter().flatten().next();
        let dtw = row[0].as_ref().and_then(|s| s.dtw_1nn);
        let mut r = vec![task.name().to_owned(), task.metric().to_owned()];
        r.extend(row.iter().map(cell));
        r.push(first.map_or("-".into(), |s| format!("{:.4}", s.baseline)));
        r.push(dtw.map_or("-".into(), |d| format!("{d:.4}")));
        r.push(task.published_dtw().map_or("-".into(), |d| format!("{d:.3}")));
        rows.push(r);
        for s in row.iter().flatten() {
            let mut m = Metric::new(
                format!("{} {} ({}) {}", s.task, s.view, s.model, s.metric),
                s.value,
            );
            if let Some(p) = s.published_dtw {
                m = m.published(p, "1-NN DTW, UCR/UEA archive");
            }
            report.metrics.push(m);
        }
    }
    // The targets, stated where they are measured.
    if !ctx.quick {
        let acc = |t: SeriesTask, v: SeriesView| {
            let i = tasks.iter().position(|&x| x == t)?;
            let j = SERIES_VIEWS.iter().position(|&x| x == v)?;
            results[i][j].as_ref().map(|s| s.value)
        };
        let best_graph = |t: SeriesTask| {
            SERIES_VIEWS[1..]
                .iter()
                .filter_map(|&v| acc(t, v))
                .fold(f64::NAN, f64::max)
        };
        if let (Some(seq), g) = (
            acc(SeriesTask::JapaneseVowels, SeriesView::Sequence),
            best_graph(SeriesTask::JapaneseVowels),
        ) {
            report
                .metrics
                .push(Metric::new("JapaneseVowels: best graph view accuracy", g).expect(
                    format!(">= 0.94 and >= sequence {seq:.4} - 0.03"),
                    g >= 0.94 && g >= seq - 0.03,
                ));
        }
        let beaten: Vec<&str> = [
            SeriesTask::GunPoint,
            SeriesTask::ArrowHead,
            SeriesTask::ItalyPower,
        ]
        .into_iter()
        .filter(|&t| t.published_dtw().is_some_and(|d| best_graph(t) > d))
        .map(|t| t.name())
        .collect();
        report.metrics.push(
            Metric::new(
                "UCR sets where a graph view beats published 1-NN DTW",
                beaten.len() as f64,
            )
            .expect(format!(">= 2 ({})", beaten.join(", ")), beaten.len() >= 2),
        );
    }
    let mut columns = vec!["task".to_owned(), "metric".to_owned()];
    columns.extend(SERIES_VIEWS.iter().map(|v| v.name().to_owned()));
    columns.extend(
        [
            "majority / persistence",
            "1-NN DTW (here)",
            "1-NN DTW (published)",
        ]
        .map(String::from),
    );
    report.tables.push(Table {
        title: format!("Views of a time series, mean ± std over {seeds} seeds"),
        columns,
        rows,
    });

    let classification: Vec<usize> = (0..tasks.len()).filter(|&i| !tasks[i].is_forecast()).collect();
    let mut bars: Vec<BarSeries> = SERIES_VIEWS
        .iter()
        .enumerate()
        .map(|(j, v)| BarSeries {
            name: v.name().into(),
            values: classification
                .iter()
                .map(|&i| results[i][j].as_ref().map_or(f64::NAN, |s| s.value))
                .collect(),
        })
        .collect();
    bars.push(BarSeries {
        name: "1-NN DTW (published)".into(),
        values: classification
            .iter()
            .map(|&i| tasks[i].published_dtw().unwrap_or(f64::NAN))
            .collect(),
    });
    report.figures.push(Figure::bars(
        "series-graphs-accuracy",
        "Test accuracy per view and data set",
        "test accuracy (mean over seeds)",
        classification
            .iter()
            .map(|&i| tasks[i].name().to_owned())
            .collect(),
        bars,
    ));
    if let Some(i) = tasks.iter().position(|t| t.is_forecast()) {
        report.figures.push(Figure::bars(
            "series-graphs-sunspots",
            "Sunspots, one step ahead: test RMSE per view",
            "test RMSE (mean over seeds)",
            vec!["sunspots".into()],
            SERIES_VIEWS
                .iter()
                .enumerate()
                .map(|(j, v)| BarSeries {
                    name: v.name().into(),
                    values: vec![results[i][j].as_ref().map_or(f64::NAN, |s| s.value)],
                })
                .chain(std::iter::once(BarSeries {
                    name: "persistence".into(),
                    values: vec![results[i]
                        .iter()
                        .flatten()
                        .next()
                        .map_or(f64::NAN, |s| s.baseline)],
                }))
                .collect(),
        ));
    }
    report.figures.push(drawing()?);
    report.notes.push(format!(
        "seqgraph::series::train_series (`seqgraph train series`), the same budget for every view: \
         hidden 64, Adam 5e-3, clipping at 5; JapaneseVowels 60 epochs of batches of 32, the small UCR/UEA \
         sets 150 epochs of 16, sunspots 400 full-batch epochs{}. Sequence view: a one-layer LSTM, last \
         state -> linear. Graph views: 3 GIN layers for classification, 1 for sunspots (sum aggregation, \
         MLP with batch norm), mean and max pooling of every layer (the last node's states for sunspots), \
         the steps' standardised values and relative position as node features; lag graph lags 1, 2, 4, \
         8, 16 (sunspots 1..10), past -> future, one weight per lag (a causal convolution's taps); visibility \
         graphs both ways in classification, past -> future in forecasting, multiplex over channels with \
         weights = channels that see each other / channels. Test accuracy after the last epoch (no \
         validation set, no model selection). 1-NN DTW here: full window, DTW_D for several channels, on \
         the archive's series as given. {} libtorch thread(s).",
        if ctx.quick {
            " (REDUCED, --quick: 15 and 100 epochs)"
        } else {
            ""
        },
        tch::get_num_threads()
    ));
    if ctx.quick {
        failures.push("--quick: ItalyPowerDemand and sunspots only, 2 seeds, fewer epochs".into());
    }
    if !failures.is_empty() {
        report.status = Status::Partial(failures.join("; "));
    }
    Ok(())
}

/// One ItalyPowerDemand series and its natural visibility graph: every edge is a sight line
/// between two points, drawn as one polyline that walks each node's edges out and back.
fn drawing() -> Result<Figure> {
    let data = graph_data::ts::load("italy-power-demand", &graph_data::fetch::Fetcher::from_env())?;
    let x = data.train.series.first().cloned().unwrap_or_default();
    let e = natural_visibility(&x)?;
    let mut adj = vec![Vec::new(); x.len()];
    for (s, d) in e.pairs() {
        adj[s as usize].push(d as usize);
    }
    let p = |i: usize| (i as f64, x[i] as f64);
    let mut walk = Vec::new();
    for (i, nbrs) in adj.iter().enumerate() {
        walk.push(p(i));
        for &j in nbrs {
            walk.push(p(j));
            walk.push(p(i));
        }
    }
    Ok(Figure::lines(
        "series-graphs-visibility",
        &format!(
            "An ItalyPowerDemand day and its natural visibility graph ({} edges)",
            e.len()
        ),
        "hour",
        "demand (z-normalised)",
        vec![
            Series::new("visibility edges (sight lines)", walk),
            Series::new("series", (0..x.len()).map(p).collect()),
        ],
    ))
}
