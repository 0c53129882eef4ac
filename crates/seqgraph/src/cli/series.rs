//! `seqgraph train series`: flags into a [`SeriesConfig`], [`train_series`],
//! print. The recipe (the views, the tasks, 1-NN DTW) is `seqgraph::series`.

use anyhow::{anyhow, Result};
use clap::Parser;
use graph_data::series_graph::{Orientation, PositionEncoding};
use seqgraph::series::{train_series, SeriesConfig, SeriesModel, SeriesTask, SeriesView};

use super::flags::RunFlags;

/// Arguments of `train series`.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "seqgraph train series",
    about = "Time series as a sequence (LSTM/GRU) or as a graph of time points (GIN)"
)]
pub struct Args {
    /// japanese-vowels, gunpoint, arrowhead, basic-motions, italy-power or sunspots.
    #[arg(long, default_value = "japanese-vowels")]
    pub task: String,
    /// sequence, lag-graph, visibility-graph or horizontal-visibility.
    #[arg(long, default_value = "horizontal-visibility")]
    pub view: String,
    /// sequence view: lstm | gru; graph views: gin (default: lstm, gin).
    #[arg(long)]
    pub model: Option<String>,
    /// Number of seeds (0, 1, ...).
    #[arg(long, default_value_t = 1)]
    pub seeds: u64,
    /// Epochs (default: the task's).
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Examples per batch (default: the task's).
    #[arg(long)]
    pub batch: Option<usize>,
    /// Hidden units (both views).
    #[arg(long, default_value_t = 64)]
    pub hidden: i64,
    /// GIN layers (default: 3 for classification, 1 for sunspots).
    #[arg(long)]
    pub layers: Option<usize>,
    /// Adam's learning rate.
    #[arg(long, default_value_t = 5e-3)]
    pub lr: f64,
    /// Lags of the lag graph, comma-separated (default 1,2,4,8,16; sunspots 1,...,10).
    #[arg(long, value_delimiter = ',')]
    pub lags: Option<Vec<usize>>,
    /// Edge orientation: directed (past -> future) or undirected (default: directed for the lag
    /// graph and forecasting, undirected for visibility graphs in classification).
    #[arg(long)]
    pub orientation: Option<String>,
    /// Position encoding of the nodes: none, relative or sinusoidal-D (D even).
    #[arg(long, default_value = "relative")]
    pub encoding: String,
    /// Skip the in-run 1-NN DTW baseline.
    #[arg(long)]
    pub no_dtw: bool,
    /// Threads, checkpoints, resume, JSON: the flags every `train` command shares.
    #[command(flatten)]
    pub run: RunFlags,
}

impl Args {
    /// The library config these flags describe.
    pub fn config(&self) -> Result<SeriesConfig> {
        let task = SeriesTask::parse(&self.task).ok_or_else(|| {
            anyhow!(
                "unknown task `{}` (japanese-vowels, gunpoint, arrowhead, basic-motions, italy-power, sunspots)",
                self.task
            )
        })?;
        let view = SeriesView::parse(&self.view).ok_or_else(|| {
            anyhow!(
                "unknown view `{}` (sequence, lag-graph, visibility-graph, horizontal-visibility)",
                self.view
            )
        })?;
        let model = self
            .model
            .as_deref()
            .map(|m| SeriesModel::parse(m).ok_or_else(|| anyhow!("unknown model `{m}` (lstm, gru, gin)")))
            .transpose()?;
        let orientation = match self.orientation.as_deref() {
            None => None,
            Some("directed") => Some(Orientation::Directed),
            Some("undirected") => Some(Orientation::Undirected),
            Some(o) => return Err(anyhow!("unknown orientation `{o}` (directed, undirected)")),
        };
        let encoding = match self.encoding.as_str() {
            "none" => PositionEncoding::None,
            "relative" => PositionEncoding::Relative,
            s => match s.strip_prefix("sinusoidal-").and_then(|d| d.parse().ok()) {
                Some(dims) => PositionEncoding::Sinusoidal { dims },
                None => return Err(anyhow!("unknown encoding `{s}` (none, relative, sinusoidal-D)")),
            },
        };
        let defaults = SeriesConfig::default();
        Ok(SeriesConfig {
            task,
            view,
            model,
            seeds: self.seeds,
            epochs: self.epochs,
            batch: self.batch,
            hidden: self.hidden,
            layers: self.layers,
            lr: self.lr,
            lags: self.lags.clone(),
            orientation,
            encoding,
            dtw: !self.no_dtw,
            checkpointing: self.run.checkpointing(),
            ..defaults
        })
    }
}

/// Runs the command with the words after its name.
pub fn run(args: &[String]) -> Result<()> {
    let a = Args::try_parse_from(
        std::iter::once("seqgraph train series".to_string()).chain(args.iter().cloned()),
    )?;
    a.run.set_threads(Some(1));
    let s = train_series(&a.config()?)?;
    if a.run.json {
        println!("{}", serde_json::to_string(&s)?);
    } else {
        let graph = s
            .graph_size
            .map(|(n, e)| format!(", {n:.1} nodes and {e:.1} edges per graph"))
            .unwrap_or_default();
        let baseline = if s.metric == "test_rmse" {
            format!("persistence {:.2}", s.baseline)
        } else {
            format!("majority class {:.4}", s.baseline)
        };
        let dtw = match (s.dtw_1nn, s.published_dtw) {
            (Some(ours), Some(p)) => format!(", 1-NN DTW {ours:.4} here ({p:.3} published)"),
            (None, Some(p)) => format!(", 1-NN DTW {p:.3} published"),
            _ => String::new(),
        };
        println!(
            "{} {} {}: {} {:.4} ± {:.4} over {} seeds {:?} ({} epochs{graph}); {baseline}{dtw}; {:.0} s",
            s.task, s.view, s.model, s.metric, s.value, s.std, s.seeds, s.per_seed, s.epochs, s.seconds
        );
    }
    Ok(())
}
