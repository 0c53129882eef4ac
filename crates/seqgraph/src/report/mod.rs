//! The reproduction report: structured results of every experiment, and the writers that turn
//! them into a report folder (`index.md`, SVG figures, `results.json`) and a terminal summary.
//!
//! An experiment returns an [`ExperimentReport`]: its claim, the numbers measured (each beside the
//! published number where there is one), its figures (the plotted data is kept, so `results.json`
//! carries everything a script needs to check the figures), tables and notes.

mod markdown;
mod progress;
mod summary;
mod svg;

pub use progress::Progress;
pub use summary::summary_table;

use anyhow::{Context, Result};
use serde::Serialize;
use std::path::Path;

/// How an experiment ended.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "state", content = "reason", rename_all = "snake_case")]
pub enum Status {
    /// Ran to the end.
    Done,
    /// Ran, but part of it is missing (the reason says which part and why).
    Partial(String),
    /// Not run: what it needs does not exist yet.
    Pending(String),
    /// Failed with this error.
    Failed(String),
}

impl Status {
    /// A one-word label for tables.
    pub fn label(&self) -> &'static str {
        match self {
            Status::Done => "done",
            Status::Partial(_) => "partial",
            Status::Pending(_) => "pending",
            Status::Failed(_) => "FAILED",
        }
    }
}

/// One measured number, with the published number it is compared with when there is one.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Metric {
    /// What was measured, e.g. `GCN Cora test accuracy`.
    pub name: String,
    /// The measured value.
    pub value: f64,
    /// The published value for the same quantity, if any.
    pub published: Option<f64>,
    /// Where the published value comes from (paper, documentation).
    pub source: Option<String>,
    /// What the claim expects, in words (e.g. `< 1e-6`).
    pub expected: Option<String>,
    /// Whether the expectation holds, when it can be checked.
    pub holds: Option<bool>,
}

impl Metric {
    /// A measured number with nothing to compare it with.
    pub fn new(name: impl Into<String>, value: f64) -> Self {
        Metric {
            name: name.into(),
            value,
            published: None,
            source: None,
            expected: None,
            holds: None,
        }
    }

    /// Adds the published number and its source.
    pub fn published(mut self, value: f64, source: impl Into<String>) -> Self {
        self.published = Some(value);
        self.source = Some(source.into());
        self
    }

    /// Adds an expectation and whether it holds.
    pub fn expect(mut self, expected: impl Into<String>, holds: bool) -> Self {
        self.expected = Some(expected.into());
        self.holds = Some(holds);
        self
    }
}

/// A named line of `(x, y)` points.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Series {
    /// Legend entry.
    pub name: String,
    /// The points, in drawing order.
    pub points: Vec<(f64, f64)>,
}

impl Series {
    /// A series from its name and points.
    pub fn new(name: impl Into<String>, points: Vec<(f64, f64)>) -> Self {
        Series {
            name: name.into(),
            points,
        }
    }
}

/// A named group of bars, one value per category of the figure.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BarSeries {
    /// Legend entry.
    pub name: String,
    /// One value per category (`NaN` for a missing bar).
    pub values: Vec<f64>,
}

/// What a figure draws.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Plot {
    /// Lines through points.
    Lines {
        /// The lines.
        series: Vec<Series>,
    },
    /// Grouped bars: one group per category, one bar per series.
    Bars {
        /// The x-axis categories.
        categories: Vec<String>,
        /// The bar groups.
        series: Vec<BarSeries>,
    },
}

/// A figure: written as `figures/<id>.svg`, its data kept in `results.json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Figure {
    /// File stem, unique in the report (e.g. `gradients-norms`).
    pub id: String,
    /// Title drawn above the plot.
    pub title: String,
    /// x-axis label.
    pub x_label: String,
    /// y-axis label.
    pub y_label: String,
    /// Logarithmic y axis (non-positive values are left out of the drawing).
    pub log_y: bool,
    /// The data.
    pub plot: Plot,
}

impl Figure {
    /// A line figure.
    pub fn lines(id: &str, title: &str, x_label: &str, y_label: &str, series: Vec<Series>) -> Self {
        Figure {
            id: id.to_owned(),
            title: title.to_owned(),
            x_label: x_label.to_owned(),
            y_label: y_label.to_owned(),
            log_y: false,
            plot: Plot::Lines { series },
        }
    }

    /// A grouped bar figure.
    pub fn bars(
        id: &str,
        title: &str,
        y_label: &str,
        categories: Vec<String>,
        series: Vec<BarSeries>,
    ) -> Self {
        Figure {
            id: id.to_owned(),
            title: title.to_owned(),
            x_label: String::new(),
            y_label: y_label.to_owned(),
            log_y: false,
            plot: Plot::Bars { categories, series },
        }
    }

    /// The same figure with a logarithmic y axis.
    pub fn log_y(mut self) -> Self {
        self.log_y = true;
        self
    }

    /// The figure as an SVG document.
    pub fn to_svg(&self) -> Result<String> {
        svg::render(self)
    }
}

/// A small table of strings (e.g. MAE/RMSE per model and horizon).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Table {
    /// Caption.
    pub title: String,
    /// Column headers.
    pub columns: Vec<String>,
    /// Rows, each as long as `columns`.
    pub rows: Vec<Vec<String>>,
}

/// Everything one experiment produced.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExperimentReport {
    /// Registry name (`gradients`, `depth`, ...).
    pub name: String,
    /// Human title.
    pub title: String,
    /// The claim of the seed this experiment measures.
    pub claim: String,
    /// How it ended.
    pub status: Status,
    /// Whether it ran at the reduced `--quick` size.
    pub reduced: bool,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// The numbers.
    pub metrics: Vec<Metric>,
    /// The figures.
    pub figures: Vec<Figure>,
    /// The tables.
    pub tables: Vec<Table>,
    /// Remarks in words (settings, caveats).
    pub notes: Vec<String>,
}

impl ExperimentReport {
    /// An empty report that is [`Status::Done`] until told otherwise.
    pub fn new(name: &str, title: &str, claim: &str) -> Self {
        ExperimentReport {
            name: name.to_owned(),
            title: title.to_owned(),
            claim: claim.to_owned(),
            status: Status::Done,
            reduced: false,
            seconds: 0.0,
            metrics: Vec::new(),
            figures: Vec::new(),
            tables: Vec::new(),
            notes: Vec::new(),
        }
    }
}

/// The whole report: what `results.json` holds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// The seqgraph version that produced it.
    pub version: String,
    /// Whether this is the reduced `--quick` run.
    pub quick: bool,
    /// Total wall-clock seconds.
    pub seconds: f64,
    /// Threads libtorch used.
    pub threads: i32,
    /// One entry per experiment run, in registry order.
    pub experiments: Vec<ExperimentReport>,
}

impl Report {
    /// Writes `index.md`, `results.json` and `figures/*.svg` into `dir` (created if needed).
    pub fn write(&self, dir: &Path) -> Result<()> {
        let figures = dir.join("figures");
        std::fs::create_dir_all(&figures).with_context(|| format!("cannot create {}", figures.display()))?;
        for exp in &self.experiments {
            for fig in &exp.figures {
                let path = figures.join(format!("{}.svg", fig.id));
                let svg = fig
                    .to_svg()
                    .with_context(|| format!("cannot draw figure {}", fig.id))?;
                std::fs::write(&path, svg).with_context(|| format!("cannot write {}", path.display()))?;
            }
        }
        let json = serde_json::to_string_pretty(self)?;
        std::fs::write(dir.join("results.json"), json + "\n")
            .with_context(|| format!("cannot write {}", dir.join("results.json").display()))?;
        std::fs::write(dir.join("index.md"), markdown::render(self))
            .with_context(|| format!("cannot write {}", dir.join("index.md").display()))?;
        Ok(())
    }
}

/// Formats a number for tables: integers as such, small and large magnitudes in scientific notation.
pub fn fmt_num(v: f64) -> String {
    if v.is_nan() {
        "-".to_owned()
    } else if v == 0.0 {
        "0".to_owned()
    } else if v.fract() == 0.0 && v.abs() < 1e7 {
        format!("{v:.0}")
    } else if v.abs() < 1e-3 || v.abs() >= 1e5 {
        format!("{v:.3e}")
    } else {
        format!("{v:.4}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Report {
        let mut e = ExperimentReport::new("demo", "a demo", "lines go down");
        e.metrics
            .push(Metric::new("slope of ||g||", -0.1075).expect("< 0", true));
        e.metrics
            .push(Metric::new("GCN Cora accuracy", 0.815).published(0.815, "Kipf & Welling 2017"));
        e.figures.push(
            Figure::lines(
                "demo-lines",
                "norms",
                "distance",
                "norm",
                vec![
                    Series::new("rho=0.9", vec![(0.0, 1.0), (1.0, 0.5), (2.0, 0.25)]),
                    Series::new("with zero", vec![(0.0, 0.0), (1.0, 2.0)]),
                ],
            )
            .log_y(),
        );
        e.figures.push(Figure::bars(
            "demo-bars",
            "accuracy",
            "test accuracy",
            vec!["Cora".into(), "CiteSeer".into()],
            vec![
                BarSeries {
                    name: "GCN".into(),
                    values: vec![0.81, 0.70],
                },
                BarSeries {
                    name: "GAT".into(),
                    values: vec![0.83, f64::NAN],
                },
            ],
        ));
        e.tables.push(Table {
            title: "errors".into(),
            columns: vec!["model".into(), "MAE".into()],
            rows: vec![vec!["T-GCN".into(), "3.18".into()]],
        });
        let mut p = ExperimentReport::new("later", "later", "needs a crate");
        p.status = Status::Pending("waits for graph-models".into());
        Report {
            version: "0.1.0".into(),
            quick: true,
            seconds: 1.5,
            threads: 2,
            experiments: vec![e, p],
        }
    }

    #[test]
    fn svg_figures_are_well_formed_and_carry_their_labels() {
        let r = sample();
        for fig in &r.experiments[0].figures {
            let svg = fig.to_svg().unwrap();
            assert!(
                svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"),
                "{}",
                fig.id
            );
            assert!(svg.contains(&fig.title) && svg.contains(&fig.y_label));
        }
        let lines = r.experiments[0].figures[0].to_svg().unwrap();
        assert!(lines.contains("rho=0.9") && lines.contains("<polyline"));
        let bars = r.experiments[0].figures[1].to_svg().unwrap();
        assert!(bars.contains("CiteSeer") && bars.contains("GAT") && bars.contains("<rect"));
    }

    #[test]
    fn writes_index_json_and_figures() {
        let dir = tempfile::tempdir().unwrap();
        let r = sample();
        r.write(dir.path()).unwrap();
        for f in [
            "index.md",
            "results.json",
            "figures/demo-lines.svg",
            "figures/demo-bars.svg",
        ] {
            assert!(dir.path().join(f).is_file(), "{f}");
        }
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.path().join("results.json")).unwrap()).unwrap();
        assert_eq!(json["quick"], true);
        let e = &json["experiments"][0];
        assert_eq!(e["status"]["state"], "done");
        assert_eq!(e["metrics"][1]["published"], 0.815);
        let fig = &e["figures"][0];
        assert_eq!(fig["plot"]["kind"], "lines");
        assert_eq!(
            fig["plot"]["series"][0]["points"][2],
            serde_json::json!([2.0, 0.25])
        );
        // NaN is not JSON: serde_json writes null.
        assert!(e["figures"][1]["plot"]["series"][1]["values"][1].is_null());
        assert_eq!(
            json["experiments"][1]["status"]["reason"],
            "waits for graph-models"
        );

        let md = std::fs::read_to_string(dir.path().join("index.md")).unwrap();
        assert!(md.contains("Reduced run"));
        assert!(md.contains("![norms](figures/demo-lines.svg)"));
        assert!(md.contains("| GCN Cora accuracy | 0.8150 | 0.8150 | Kipf & Welling 2017 |"));
        assert!(md.contains("| T-GCN | 3.18 |"));
        assert!(
            md.contains("| slope of \\|\\|g\\|\\| | -0.1075 |"),
            "pipes in cells are escaped"
        );
        assert!(md.contains("**Not run yet.** waits for graph-models"));
    }

    #[test]
    fn summary_lists_every_experiment_and_number() {
        let s = summary_table(&sample());
        assert!(s.contains("demo") && s.contains("later") && s.contains("pending"));
        assert!(s.contains("-0.1075  ok"));
        assert!(s.contains("0.8150 / 0.8150"));
        assert!(s.contains("--quick"));
    }

    #[test]
    fn numbers_are_formatted_for_reading() {
        assert_eq!(fmt_num(3.0), "3");
        assert_eq!(fmt_num(0.81234), "0.8123");
        assert_eq!(fmt_num(2.5e-9), "2.500e-9");
        assert_eq!(fmt_num(f64::NAN), "-");
    }
}
