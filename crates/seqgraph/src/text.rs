//! Text read three ways, as library recipes: a sentence as a sequence (an
//! LSTM or BiLSTM over the words), a tree (a Child-Sum or binary N-ary
//! Tree-LSTM over the parse, level by level), or a graph (GCN or GAT layers
//! over the tree's edges in both directions, the sentences of a batch joined
//! as one `graph_data::batch` block-diagonal batch, then a readout: root node,
//! or `graph_models::pool`'s mean or gated attention pooling).
//!
//! Tasks: SST root sentiment, fine-grained ([`TextTask::SstFine`], 5 classes)
//! and binary ([`TextTask::SstBinary`], neutral roots dropped), standard
//! train / dev / test, the test accuracy taken at the epoch with the best dev
//! root accuracy; and UD English EWT UPOS tagging ([`TextTask::UdUpos`]),
//! BiLSTM against BiLSTM + GCN over the dependency tree, trained on **dev**
//! and tested on **test** (a non-standard split: the train part is not
//! mirrored here). Embeddings are randomly initialised: no pretrained vectors
//! are reachable here.
//!
//! Supervision ([`Supervise`], SST only): every node of an SST tree carries a
//! 0-4 label. [`Supervise::All`] (as Tai et al. and the SST paper train) uses
//! them all: the tree view classifies every node's hidden state, the graph
//! view every node's final state besides the readout, and the sequence view
//! trains on every distinct labelled phrase (subtree) of the training trees
//! as a sequence of its own. [`Supervise::Root`] uses the sentence label only.
//! The binary task ignores neutral (2) nodes. Model selection always uses dev
//! *root* accuracy.
//!
//! Both tasks train through `train_utils::Trainer` (Adam, gradient clipping at
//! norm 5, the guards, checkpoints and exact resume on the CPU). UPOS word
//! dropout is drawn from (seed, epoch, batch), so a resumed run draws the same.
//!
//! ```no_run
//! use seqgraph::text::{train_text, TextConfig, TextTask, View};
//!
//! let config = TextConfig { task: TextTask::SstBinary, view: View::Graph, ..TextConfig::default() };
//! let summary = train_text(&config)?;
//! println!("{}: {:.4}", summary.metric, summary.value);
//! # Ok::<(), train_utils::TrainError>(())
//! ```

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use graph_data::batch::{BatchTensors, GraphSample};
use graph_data::conllu::{self, Sentence, UPOS};
use graph_data::fetch::Fetcher;
use graph_data::ptb::{self, binary_label, PtbTree};
use graph_data::tree::{EdgeOptions, Tree};
use graph_models::pool::{f_global_mean_pool, AttentionalAggregation};
use graph_models::{GatConfig, GatConv, GcnConfig, GcnConv, GnnLayer, Graph};
use seq_models::recurrent::{CellKind, Recurrent, RecurrentConfig};
use seq_models::schedule::Schedule;
use seq_models::tree_lstm::{TreeCell, TreeLstm};
use serde::Serialize;
use serde_json::json;
use tch::nn::{self, Module};
use tch::{Device, Kind, Reduction, Tensor};
use train_utils::{Adam, Checkpointing, RunIdentity, TrainError, TrainOptions, Trainer};

/// What is predicted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextTask {
    /// SST root sentiment, positive or negative (neutral roots dropped).
    SstBinary,
    /// SST root sentiment, 5 classes.
    SstFine,
    /// UD English EWT universal part-of-speech tags, token by token.
    UdUpos,
}

impl TextTask {
    /// The name the command line takes.
    pub fn name(self) -> &'static str {
        match self {
            TextTask::SstBinary => "sst-binary",
            TextTask::SstFine => "sst-fine",
            TextTask::UdUpos => "ud-upos",
        }
    }

    /// Parses a task name.
    pub fn parse(name: &str) -> Option<TextTask> {
        [TextTask::SstBinary, TextTask::SstFine, TextTask::UdUpos]
            .into_iter()
            .find(|t| t.name() == name)
    }
}

/// How a sentence is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// The words in order.
    Sequence,
    /// The parse tree, children before parents.
    Tree,
    /// The parse tree's edges, both directions, as a graph.
    Graph,
}

impl View {
    /// The name the command line takes.
    pub fn name(self) -> &'static str {
        match self {
            View::Sequence => "sequence",
            View::Tree => "tree",
            View::Graph => "graph",
        }
    }

    /// Parses a view name.
    pub fn parse(name: &str) -> Option<View> {
        [View::Sequence, View::Tree, View::Graph]
            .into_iter()
            .find(|v| v.name() == name)
    }
}

/// The models of the three views.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextModel {
    /// An LSTM over the words (sequence view).
    Lstm,
    /// A bidirectional LSTM over the words (sequence view; the UPOS tagger).
    BiLstm,
    /// A Child-Sum Tree-LSTM (tree view).
    ChildSum,
    /// A binary N-ary Tree-LSTM (tree view).
    NAry,
    /// Two GCN layers over the tree (graph view).
    Gcn,
    /// Two GAT layers (4 heads, averaged) over the tree (graph view).
    Gat,
    /// The UPOS BiLSTM followed by two GCN layers over the dependency tree.
    BiLstmGcn,
}

impl TextModel {
    /// The name the command line takes.
    pub fn name(self) -> &'static str {
        match self {
            TextModel::Lstm => "lstm",
            TextModel::BiLstm => "bilstm",
            TextModel::ChildSum => "child-sum",
            TextModel::NAry => "n-ary",
            TextModel::Gcn => "gcn",
            TextModel::Gat => "gat",
            TextModel::BiLstmGcn => "bilstm-gcn",
        }
    }

    /// Parses a model name.
    pub fn parse(name: &str) -> Option<TextModel> {
        use TextModel::*;
        [Lstm, BiLstm, ChildSum, NAry, Gcn, Gat, BiLstmGcn]
            .into_iter()
            .find(|m| m.name() == name)
    }
}

/// How the graph view summarises a sentence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadoutKind {
    /// The root node's state.
    Root,
    /// The mean of the nodes' states.
    Mean,
    /// Attention pooling: a softmax over the nodes of a learnt score.
    Attention,
}

impl ReadoutKind {
    /// The name the command line takes.
    pub fn name(self) -> &'static str {
        match self {
            ReadoutKind::Root => "root",
            ReadoutKind::Mean => "mean",
            ReadoutKind::Attention => "attention",
        }
    }

    /// Parses a readout name.
    pub fn parse(name: &str) -> Option<ReadoutKind> {
        [ReadoutKind::Root, ReadoutKind::Mean, ReadoutKind::Attention]
            .into_iter()
            .find(|r| r.name() == name)
    }
}

/// Which SST labels train the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Supervise {
    /// Every labelled node (tree and graph views) or phrase (sequence view).
    All,
    /// The sentence (root) labels only.
    Root,
}

impl Supervise {
    /// The name the command line takes.
    pub fn name(self) -> &'static str {
        match self {
            Supervise::All => "all",
            Supervise::Root => "root",
        }
    }
}

/// What [`train_text`] runs. `Default`: SST binary, the tree view
/// (Child-Sum), every label supervised, 6 epochs, embeddings and hidden 100,
/// batches of 25, Adam 2e-3, one seed.
#[derive(Debug, Clone, PartialEq)]
pub struct TextConfig {
    /// The task.
    pub task: TextTask,
    /// The view (UPOS reads its view off the model).
    pub view: View,
    /// The model (`None`: the view's first; UPOS: BiLSTM, or BiLSTM + GCN for the graph view).
    pub model: Option<TextModel>,
    /// The graph view's readout.
    pub readout: ReadoutKind,
    /// SST supervision.
    pub supervise: Supervise,
    /// Seeds `0..seeds`.
    pub seeds: u64,
    /// Training epochs.
    pub epochs: usize,
    /// Embedding size (the same for every view).
    pub embed: i64,
    /// Hidden size.
    pub hidden: i64,
    /// Examples (sentences, or phrases for the sequence view with [`Supervise::All`]) per batch.
    pub batch: usize,
    /// Adam's learning rate.
    pub lr: f64,
    /// Use only this many training sentences, evenly spaced (quick runs).
    pub limit: Option<usize>,
    /// Use only this many dev and test sentences (SST), or test sentences (UPOS), evenly spaced.
    pub eval_limit: Option<usize>,
    /// Checkpoints and resume.
    pub checkpointing: Checkpointing,
    /// Where to train.
    pub device: Device,
    /// Print each epoch to stderr.
    pub verbose: bool,
}

impl Default for TextConfig {
    fn default() -> Self {
        TextConfig {
            task: TextTask::SstBinary,
            view: View::Tree,
            model: None,
            readout: ReadoutKind::Attention,
            supervise: Supervise::All,
            seeds: 1,
            epochs: 6,
            embed: 100,
            hidden: 100,
            batch: 25,
            lr: 2e-3,
            limit: None,
            eval_limit: None,
            checkpointing: Checkpointing::default(),
            device: Device::cuda_if_available(),
            verbose: false,
        }
    }
}

impl TextConfig {
    /// The model trained: [`TextConfig::model`], or the view's default.
    pub fn model(&self) -> TextModel {
        self.model.unwrap_or(match (self.task, self.view) {
            (TextTask::UdUpos, View::Graph) => TextModel::BiLstmGcn,
            (TextTask::UdUpos, _) => TextModel::BiLstm,
            (_, View::Sequence) => TextModel::Lstm,
            (_, View::Graph) => TextModel::Gcn,
            (_, View::Tree) => TextModel::ChildSum,
        })
    }

    /// The view the model reads (UPOS reads it off the model).
    pub fn effective_view(&self) -> View {
        match (self.task, self.model()) {
            (TextTask::UdUpos, TextModel::BiLstmGcn) => View::Graph,
            (TextTask::UdUpos, _) => View::Sequence,
            _ => self.view,
        }
    }

    /// The loop's options for seed `seed`: epochs, checkpoints (one file per
    /// seed), resume, clipping at norm 5, Ctrl-C handling when checkpointing.
    pub fn options(&self, seed: u64) -> TrainOptions {
        self.checkpointing
            .options(self.epochs, Some(5.0), seed, self.seeds)
    }
}

/// One seed's SST result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SstRun {
    /// Test root accuracy at the epoch with the best dev root accuracy.
    pub test: f64,
    /// The best dev root accuracy.
    pub dev: f64,
    /// The epoch (1-based) with the best dev accuracy.
    pub best_epoch: usize,
    /// Wall-clock seconds per epoch in this process.
    pub seconds_per_epoch: f64,
}

/// The result over seeds (the JSON of `train text --json`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TextSummary {
    /// The task's name.
    pub task: String,
    /// The view read.
    pub view: String,
    /// The model's name.
    pub model: String,
    /// What `value` measures.
    pub metric: String,
    /// Mean over seeds.
    pub value: f64,
    /// Sample standard deviation over seeds.
    pub std: f64,
    /// Each seed's value.
    pub values: Vec<f64>,
    /// Seeds run.
    pub seeds: u64,
    /// Epochs.
    pub epochs: usize,
    /// Embedding size.
    pub embed: i64,
    /// Hidden size.
    pub hidden: i64,
    /// Learning rate.
    pub lr: f64,
    /// Batch size.
    pub batch: usize,
    /// Training-sentence limit.
    pub limit: Option<usize>,
    /// Always false: embeddings are random.
    pub pretrained_embeddings: bool,
    /// The graph view's readout.
    pub readout: Option<String>,
    /// Wall-clock seconds for all seeds.
    pub seconds: f64,
    /// SST supervision.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub supervise: Option<String>,
    /// SST: examples per epoch (sentences or phrases).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub train_examples: Option<usize>,
    /// SST: each seed's best dev root accuracy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dev: Option<Vec<f64>>,
    /// SST: each seed's selected epoch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub best_epoch: Option<Vec<usize>>,
    /// SST: mean seconds per epoch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seconds_per_epoch: Option<f64>,
}

/// Trains `config` for seeds `0..config.seeds` and summarises.
pub fn train_text(config: &TextConfig) -> Result<TextSummary, TrainError> {
    let a = config;
    a.checkpointing.check(a.seeds)?;
    let started = Instant::now();
    let fetcher = Fetcher::from_env();
    let model = a.model();
    let mut summary = TextSummary {
        task: a.task.name().into(),
        view: a.effective_view().name().into(),
        model: model.name().into(),
        metric: String::new(),
        value: f64::NAN,
        std: f64::NAN,
        values: Vec::new(),
        seeds: a.seeds,
        epochs: a.epochs,
        embed: a.embed,
        hidden: a.hidden,
        lr: a.lr,
        batch: a.batch,
        limit: a.limit,
        pretrained_embeddings: false,
        readout: (a.view == View::Graph).then(|| a.readout.name().into()),
        seconds: 0.0,
        supervise: None,
        train_examples: None,
        dev: None,
        best_epoch: None,
        seconds_per_epoch: None,
    };
    match a.task {
        TextTask::SstBinary | TextTask::SstFine => {
            let sst = ptb::load_sst(&fetcher)?;
            let phrases = a.supervise == Supervise::All && a.view == View::Sequence;
            let data = SstData::new(
                &sst,
                a.task == TextTask::SstBinary,
                a.limit,
                a.eval_limit,
                phrases,
            );
            let runs = (0..a.seeds)
                .map(|seed| train_sst(a, &data, seed, a.options(seed)))
                .collect::<Result<Vec<_>, _>>()?;
            summary.metric = "root accuracy (test, at best dev root accuracy epoch)".into();
            summary.values = runs.iter().map(|r| r.test).collect();
            summary.supervise = Some(a.supervise.name().into());
            summary.train_examples = Some(data.train_examples().len());
            summary.dev = Some(runs.iter().map(|r| r.dev).collect());
            summary.best_epoch = Some(runs.iter().map(|r| r.best_epoch).collect());
            summary.seconds_per_epoch =
                Some(runs.iter().map(|r| r.seconds_per_epoch).sum::<f64>() / runs.len().max(1) as f64);
        }
        TextTask::UdUpos => {
            let ewt = conllu::load_ewt(&fetcher)?;
            summary.values = (0..a.seeds)
                .map(|seed| train_upos(a, &ewt, seed, a.options(seed)))
                .collect::<Result<Vec<_>, _>>()?;
            summary.metric =
                "UPOS token accuracy (trained on dev, tested on test: non-standard split)".into();
        }
    }
    (summary.value, summary.std) = train_utils::stats::mean_std(&summary.values);
    summary.seconds = started.elapsed().as_secs_f64();
    Ok(summary)
}

/// Word ids: 0 is "no word" (inner tree nodes), 1 the unknown word.
struct Vocab(HashMap<String, i64>);

impl Vocab {
    fn new<'a>(words: impl Iterator<Item = &'a str>) -> Vocab {
        let mut map = HashMap::new();
        for w in words {
            let next = map.len() as i64 + 2;
            map.entry(w.to_lowercase()).or_insert(next);
        }
        Vocab(map)
    }
    fn id(&self, w: &str) -> i64 {
        self.0.get(&w.to_lowercase()).copied().unwrap_or(1)
    }
    fn len(&self) -> i64 {
        self.0.len() as i64 + 2
    }
}

/// The label of a node no loss reads (a neutral node in the binary task).
const IGNORE: i64 = -100;

/// One SST sentence (or phrase): its tree, the tree as a graph, the word id
/// of every node (0 for inner nodes), every node's class ([`IGNORE`] where
/// unused), the word ids in order and the root's class.
struct Example {
    tree: Tree,
    graph: GraphSample,
    node_words: Vec<i64>,
    node_labels: Vec<i64>,
    words: Vec<i64>,
    label: i64,
}

/// SST as the models read it.
pub struct SstData {
    vocab: Vocab,
    classes: i64,
    train: Vec<Example>,
    /// Every distinct labelled phrase of the training trees, as sentences of their own
    /// (built for the sequence view with `--supervise all`).
    phrases: Vec<Example>,
    dev: Vec<Example>,
    test: Vec<Example>,
}

impl SstData {
    /// The binary (`binary`) or fine-grained task; `limit` evenly spaced training
    /// trees, `eval_limit` evenly spaced dev and test trees, and the phrases if asked.
    pub fn new(
        sst: &ptb::Sst,
        binary: bool,
        limit: Option<usize>,
        eval_limit: Option<usize>,
        phrases: bool,
    ) -> SstData {
        let train_trees = evenly_spaced(&sst.train, limit);
        let vocab = Vocab::new(train_trees.iter().flat_map(|t| t.sentence()));
        let class = |l: u8| -> Option<i64> {
            if binary {
                binary_label(l).map(i64::from)
            } else {
                Some(i64::from(l))
            }
        };
        let convert = |trees: &[PtbTree]| -> Vec<Example> {
            trees
                .iter()
                .filter_map(|t| {
                    let label = class(t.root_label())?;
                    let node_words = t
                        .words
                        .iter()
                        .map(|w| w.as_deref().map_or(0, |w| vocab.id(w)))
                        .collect();
                    let node_labels = t.labels.iter().map(|&l| class(l).unwrap_or(IGNORE)).collect();
                    let words = t.sentence().iter().map(|w| vocab.id(w)).collect();
                    Some(Example {
                        tree: t.tree.clone(),
                        graph: tree_graph(&t.tree),
                        node_words,
                        node_labels,
                        words,
                        label,
                    })
                })
                .collect()
        };
        let eval = |trees: &[PtbTree]| convert(&evenly_spaced(trees, eval_limit));
        let phrases = if phrases {
            distinct_phrases(&train_trees, &vocab, class)
        } else {
            Vec::new()
        };
        SstData {
            train: convert(&train_trees),
            phrases,
            dev: eval(&sst.dev),
            test: eval(&sst.test),
            classes: if binary { 2 } else { 5 },
            vocab,
        }
    }

    /// What an epoch trains on: the phrases when built, else the sentences.
    fn train_examples(&self) -> &[Example] {
        if self.phrases.is_empty() {
            &self.train
        } else {
            &self.phrases
        }
    }

    /// A checksum of the training data as the model sees it.
    fn checksum(&self) -> String {
        let mut ids = Vec::new();
        for x in self.train_examples() {
            ids.extend(&x.node_words);
            ids.extend(&x.node_labels);
            ids.push(x.label);
        }
        train_utils::data_checksum(&[&Tensor::from_slice(&ids)])
    }
}

/// The graph view of a tree: every edge in both directions (child to parent,
/// then parent to child), parents in id order, children as the tree keeps
/// them.
fn tree_graph(tree: &Tree) -> GraphSample {
    let (mut src, mut dst) = (Vec::new(), Vec::new());
    for v in 0..tree.len() {
        for &c in tree.children(v) {
            src.extend([c as i64, v as i64]);
            dst.extend([v as i64, c as i64]);
        }
    }
    GraphSample {
        num_nodes: tree.len(),
        src,
        dst,
        ..GraphSample::default()
    }
}

/// At most `limit` trees, evenly spaced (SST's files are ordered by sentiment, so
/// a prefix would be one-sided); all of them without a limit.
fn evenly_spaced(trees: &[PtbTree], limit: Option<usize>) -> Vec<PtbTree> {
    let step = limit.map_or(1, |l| (trees.len() / l.max(1)).max(1));
    trees
        .iter()
        .step_by(step)
        .take(limit.unwrap_or(usize::MAX))
        .cloned()
        .collect()
}

/// Every distinct (words, class) phrase of the trees: the words under each
/// labelled node, as a chain-shaped example whose root carries the class.
fn distinct_phrases(trees: &[PtbTree], vocab: &Vocab, class: impl Fn(u8) -> Option<i64>) -> Vec<Example> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for t in trees {
        // Children before parents; a node's span is its children's spans left to right.
        let mut spans: Vec<Vec<i64>> = vec![Vec::new(); t.len()];
        for v in t.tree.post_order() {
            spans[v] = match &t.words[v] {
                Some(w) => vec![vocab.id(w)],
                None => t
                    .tree
                    .children(v)
                    .iter()
                    .flat_map(|&c| spans[c].clone())
                    .collect(),
            };
            let Some(label) = class(t.labels[v]) else {
                continue;
            };
            if spans[v].is_empty() || !seen.insert((spans[v].clone(), label)) {
                continue;
            }
            let n = spans[v].len();
            let mut node_labels = vec![IGNORE; n];
            node_labels[n - 1] = label;
            let tree = Tree::chain(n).expect("a phrase has a word");
            out.push(Example {
                graph: tree_graph(&tree),
                tree,
                node_words: spans[v].clone(),
                node_labels,
                words: spans[v].clone(),
                label,
            });
        }
    }
    out
}

/// The three views of a sentence as one classifier.
enum Encoder {
    Sequence(Recurrent),
    Tree(TreeLstm),
    Graph {
        layers: Vec<Box<dyn GnnLayer>>,
        readout: Readout,
    },
}

/// The graph view's readout: the root's state, or a `graph_models::pool`
/// readout over the batch's `batch` vector.
enum Readout {
    Root,
    Mean,
    /// PyG's `AttentionalAggregation` with a linear gate and no transform:
    /// `h = sum_v softmax_v(w^T x_v + b) x_v`.
    Attention(AttentionalAggregation),
}

/// Class scores of a batch: one row per sentence, and (tree and graph views) one
/// row per node of the batch's forest, in the forest's node order.
struct Scores {
    roots: Tensor,
    nodes: Option<Tensor>,
}

struct SentenceModel {
    embed: nn::Embedding,
    encoder: Encoder,
    head: nn::Linear,
    device: Device,
}

impl SentenceModel {
    fn new(
        p: &nn::Path,
        a: &TextConfig,
        model: TextModel,
        vocab: i64,
        classes: i64,
    ) -> Result<SentenceModel, TrainError> {
        let (e, h) = (a.embed, a.hidden);
        let embed = nn::embedding(p / "embed", vocab, e, Default::default());
        let (encoder, out) = match model {
            TextModel::Lstm | TextModel::BiLstm => {
                let bi = model == TextModel::BiLstm;
                let c = RecurrentConfig {
                    bidirectional: bi,
                    ..Default::default()
                };
                (
                    Encoder::Sequence(Recurrent::f_new(p / "lstm", CellKind::Lstm, e, h, c)?),
                    if bi { 2 * h } else { h },
                )
            }
            TextModel::ChildSum => (
                Encoder::Tree(TreeLstm::f_new(p / "tree", TreeCell::ChildSum, e, h)?),
                h,
            ),
            TextModel::NAry => (
                Encoder::Tree(TreeLstm::f_new(p / "tree", TreeCell::NAry(2), e, h)?),
                h,
            ),
            TextModel::Gcn | TextModel::Gat => {
                let mut layers: Vec<Box<dyn GnnLayer>> = Vec::new();
                for (l, d_in) in [e, h].into_iter().enumerate() {
                    let q = p / format!("conv{l}");
                    layers.push(if model == TextModel::Gcn {
                        Box::new(GcnConv::f_new(&q, d_in, h, GcnConfig::default())?)
                    } else {
                        let c = GatConfig {
                            heads: 4,
                            concat: false,
                            ..Default::default()
                        };
                        Box::new(GatConv::f_new(&q, d_in, h, c)?)
                    });
                }
                let readout = match a.readout {
                    ReadoutKind::Root => Readout::Root,
                    ReadoutKind::Mean => Readout::Mean,
                    ReadoutKind::Attention => {
                        let gate = nn::linear(p / "attention", h, 1, Default::default());
                        Readout::Attention(AttentionalAggregation::f_from_parts(gate, None)?)
                    }
                };
                (Encoder::Graph { layers, readout }, h)
            }
            other => {
                return Err(TrainError::Config(format!(
                    "`{}` is a tagger, not an SST model (lstm, bilstm, child-sum, n-ary, gcn, gat)",
                    other.name()
                )))
            }
        };
        Ok(SentenceModel {
            embed,
            encoder,
            head: nn::linear(p / "head", out, classes, Default::default()),
            device: p.device(),
        })
    }

    /// Class scores of the sentences and, when `nodes`, of every node (tree and
    /// graph views).
    fn forward(&self, batch: &[&Example], train: bool, nodes: bool) -> Result<Scores, TrainError> {
        let dev = self.device;
        let classify = |x: &Tensor| self.head.forward(&x.dropout(0.5, train));
        match &self.encoder {
            Encoder::Sequence(rnn) => {
                let t = batch.iter().map(|x| x.words.len()).max().unwrap_or(1);
                let mut ids = vec![0i64; batch.len() * t];
                for (b, x) in batch.iter().enumerate() {
                    ids[b * t..b * t + x.words.len()].copy_from_slice(&x.words);
                }
                let ids = Tensor::from_slice(&ids)
                    .view([batch.len() as i64, t as i64])
                    .to_device(dev);
                let lengths: Vec<i64> = batch.iter().map(|x| x.words.len() as i64).collect();
                let x = self.embed.forward(&ids).dropout(0.5, train);
                let out = rnn.f_forward(&x, None, Some(&lengths), train)?;
                // Final state of each direction, [dirs, B, H] -> [B, dirs * H].
                Ok(Scores {
                    roots: classify(&out.state.h.transpose(0, 1).flatten(1, -1)),
                    nodes: None,
                })
            }
            Encoder::Tree(cell) => {
                let (x, roots, schedule) = self.forest(batch, train);
                let arity = matches!(cell.cell(), seq_models::tree_lstm::TreeCell::NAry(_)).then_some(2);
                let plan = schedule.plan(dev, arity)?;
                let h = cell.f_forward(&x, &plan)?.h;
                if nodes {
                    // Every node's state is computed anyway: classify them all, read the roots off.
                    let all = classify(&h);
                    Ok(Scores {
                        roots: all.index_select(0, &roots),
                        nodes: Some(all),
                    })
                } else {
                    Ok(Scores {
                        roots: classify(&h.index_select(0, &roots)),
                        nodes: None,
                    })
                }
            }
            Encoder::Graph { layers, readout } => {
                let mut x = self.node_inputs(batch, train);
                // The sentences' graphs as one block-diagonal batch (PyG's `Batch`).
                let graphs: Vec<&GraphSample> = batch.iter().map(|x| &x.graph).collect();
                let g = BatchTensors::from_refs(&graphs)?.to_device(dev);
                let graph = Graph::new(&g.edge_index, x.size()[0])?;
                for layer in layers {
                    x = layer.f_forward_t(&x, &graph, train)?.relu().dropout(0.5, train);
                }
                let b = g.num_graphs;
                let pooled = match readout {
                    Readout::Root => {
                        let roots: Vec<i64> = batch.iter().map(|x| x.tree.root() as i64).collect();
                        let roots = g.ptr.narrow(0, 0, b) + Tensor::from_slice(&roots).to_device(dev);
                        x.index_select(0, &roots)
                    }
                    Readout::Mean => f_global_mean_pool(&x, &g.batch, b)?,
                    Readout::Attention(attention) => attention.f_forward(&x, &g.batch, b)?,
                };
                Ok(Scores {
                    roots: classify(&pooled),
                    nodes: nodes.then(|| classify(&x)),
                })
            }
        }
    }

    /// The training loss of a batch: cross-entropy of the root scores, and with
    /// `all_nodes` of every labelled node as well. Tree view: the mean over every
    /// labelled node (the root is one of them). Graph view: the readout's mean loss
    /// plus the nodes' mean loss, so that the sentence readout, one row among ~37
    /// mostly neutral nodes, is not drowned out.
    fn loss(&self, batch: &[&Example], all_nodes: bool) -> Result<Tensor, TrainError> {
        let scores = self.forward(batch, true, all_nodes)?;
        let t = |v: Vec<i64>| Tensor::from_slice(&v).to_device(self.device);
        let ce = |logits: &Tensor, labels: &Tensor| {
            logits.cross_entropy_loss::<Tensor>(labels, None, Reduction::Mean, IGNORE, 0.0)
        };
        let roots = t(batch.iter().map(|x| x.label).collect());
        let node_labels = || t(batch.iter().flat_map(|x| x.node_labels.clone()).collect());
        Ok(match (&self.encoder, scores.nodes) {
            (Encoder::Tree(_), Some(nodes)) => ce(&nodes, &node_labels()),
            (_, Some(nodes)) => ce(&scores.roots, &roots) + ce(&nodes, &node_labels()),
            (_, None) => ce(&scores.roots, &roots),
        })
    }

    /// The batch as one forest: node inputs, root rows and the level schedule.
    fn forest(&self, batch: &[&Example], train: bool) -> (Tensor, Tensor, Schedule) {
        let trees: Vec<&Tree> = batch.iter().map(|x| &x.tree).collect();
        let schedule = Schedule::forest(&trees);
        let (mut roots, mut offset) = (Vec::new(), 0i64);
        for x in batch {
            roots.push(offset + x.tree.root() as i64);
            offset += x.tree.len() as i64;
        }
        let x = self.node_inputs(batch, train);
        (x, Tensor::from_slice(&roots).to_device(self.device), schedule)
    }

    /// Every node's input, the sentences one after the other: its word's
    /// embedding (zero for inner nodes), with dropout.
    fn node_inputs(&self, batch: &[&Example], train: bool) -> Tensor {
        let words: Vec<i64> = batch.iter().flat_map(|x| x.node_words.iter().copied()).collect();
        let ids = Tensor::from_slice(&words).to_device(self.device);
        let mask = ids.gt(0).to_kind(Kind::Float).unsqueeze(1);
        (self.embed.forward(&ids) * mask).dropout(0.5, train)
    }
}

/// Root accuracy on `data`.
fn accuracy(model: &SentenceModel, data: &[Example], batch: usize) -> Result<f64, TrainError> {
    let _guard = tch::no_grad_guard();
    let mut correct = 0i64;
    for chunk in data.chunks(batch.max(25) * 4) {
        let refs: Vec<&Example> = chunk.iter().collect();
        let pred = model.forward(&refs, false, false)?.roots.argmax(-1, false);
        let labels: Vec<i64> = chunk.iter().map(|x| x.label).collect();
        correct += pred
            .eq_tensor(&Tensor::from_slice(&labels).to_device(model.device))
            .sum(Kind::Int64)
            .int64_value(&[]);
    }
    Ok(correct as f64 / data.len().max(1) as f64)
}

/// A random order of `0..n` from libtorch's generator (seeded per run).
fn shuffled(n: usize) -> Vec<usize> {
    let perm = Tensor::randperm(n as i64, (Kind::Int64, Device::Cpu));
    Vec::<i64>::try_from(&perm)
        .expect("int64 permutation")
        .into_iter()
        .map(|i| i as usize)
        .collect()
}

/// Batches of a random order; sequences of similar length go together (each run
/// of 50 batches is sorted by length) so that padding stays small.
fn batches(data: &[Example], batch: usize, by_length: bool) -> Vec<Vec<usize>> {
    let mut order = shuffled(data.len());
    if by_length {
        for group in order.chunks_mut(batch * 50) {
            group.sort_by_key(|&i| data[i].words.len());
        }
    }
    order.chunks(batch).map(<[usize]>::to_vec).collect()
}

/// What a checkpoint of this run must match: model, sizes, training settings
/// (not the epoch count), the training data and the seed.
fn identity(a: &TextConfig, model: TextModel, data: &SstData, seed: u64) -> RunIdentity {
    RunIdentity::new(
        model.name(),
        json!({
            "task": a.task.name(), "embed": a.embed, "hidden": a.hidden, "batch": a.batch, "lr": a.lr,
            "supervise": a.supervise.name(), "readout": a.readout.name(), "limit": a.limit,
            "eval_limit": a.eval_limit,
        }),
        "sst",
        data.checksum(),
        seed,
    )
}

/// Trains one seed of `a.model()` on SST and returns the test root accuracy at
/// the epoch with the best dev root accuracy. The selection (best dev, test
/// there, epoch) is a non-trained variable of the model, so checkpoints carry
/// it across a resume.
pub fn train_sst(
    a: &TextConfig,
    data: &SstData,
    seed: u64,
    options: TrainOptions,
) -> Result<SstRun, TrainError> {
    let all_nodes = a.supervise == Supervise::All;
    let model_name = a.model();
    train_utils::determinism::seed_everything(seed);
    let vs = nn::VarStore::new(a.device);
    let model = SentenceModel::new(&vs.root(), a, model_name, data.vocab.len(), data.classes)?;
    // [best dev accuracy, test accuracy there, its epoch]; -1: no epoch yet.
    let selection = vs.root().var("selection", &[3], nn::Init::Const(-1.0));
    let _ = selection.set_requires_grad(false);
    let examples = data.train_examples();
    let by_length = matches!(model.encoder, Encoder::Sequence(_));
    let mut trainer = Trainer::new(&vs, Adam::new(a.lr), identity(a, model_name, data, seed), options);
    let report = trainer.run(|epoch| -> Result<f64, TrainError> {
        let t0 = Instant::now();
        let mut loss_sum = 0.0;
        for idx in batches(examples, a.batch, by_length) {
            let batch: Vec<&Example> = idx.iter().map(|&i| &examples[i]).collect();
            let loss = model.loss(&batch, all_nodes)?;
            epoch.step(&loss)?;
            loss_sum += loss.double_value(&[]) * batch.len() as f64;
        }
        let dev = accuracy(&model, &data.dev, a.batch)?;
        let best = selection.double_value(&[0]);
        if dev > best {
            let test = accuracy(&model, &data.test, a.batch)?;
            let e = (epoch.index() + 1) as f64;
            tch::no_grad(|| {
                selection
                    .shallow_clone()
                    .copy_(&Tensor::from_slice(&[dev as f32, test as f32, e as f32]))
            });
        }
        let loss = loss_sum / examples.len().max(1) as f64;
        if a.verbose {
            eprintln!(
                "seed {seed} epoch {}: loss {loss:.4} dev {dev:.4} (best {:.4}, test there {:.4}) {:.1} s",
                epoch.index() + 1,
                selection.double_value(&[0]),
                selection.double_value(&[1]),
                t0.elapsed().as_secs_f64()
            );
        }
        Ok(loss)
    })?;
    Ok(SstRun {
        dev: selection.double_value(&[0]),
        test: selection.double_value(&[1]),
        best_epoch: selection.double_value(&[2]).max(0.0) as usize,
        seconds_per_epoch: report.seconds_per_epoch,
    })
}

/// BiLSTM tagger, optionally followed by a GCN over the dependency tree (both
/// directions, self loops) whose output is concatenated to the BiLSTM's.
struct Tagger {
    embed: nn::Embedding,
    lstm: Recurrent,
    gcn: Option<(GcnConv, GcnConv)>,
    head: nn::Linear,
}

/// What a UPOS checkpoint must match: model, sizes, training settings (not the
/// epoch count), the training sentences as the model sees them and the seed.
fn upos_identity(
    a: &TextConfig,
    model: TextModel,
    train: &[Sentence],
    vocab: &Vocab,
    seed: u64,
) -> RunIdentity {
    let mut ids = Vec::new();
    for s in train {
        ids.extend(s.forms.iter().map(|w| vocab.id(w)));
        ids.extend(s.upos.iter().map(|&t| -(i64::from(t) + 1)));
        ids.extend(s.tree.edges(EdgeOptions::default()).src.iter().map(|&v| v as i64));
    }
    RunIdentity::new(
        model.name(),
        json!({
            "task": a.task.name(), "embed": a.embed, "hidden": a.hidden, "batch": a.batch, "lr": a.lr,
            "limit": a.limit, "clip": 5.0,
        }),
        "ud-english-ewt",
        train_utils::data_checksum(&[&Tensor::from_slice(&ids)]),
        seed,
    )
}

/// The seed of the word-dropout draws of batch `batch` in epoch `epoch`
/// (0-based): a function of the position only, so a resumed run draws the same.
fn word_dropout_seed(seed: u64, epoch: usize, batch: usize) -> u64 {
    train_utils::determinism::epoch_seed(seed, epoch) as u64
        ^ (batch as u64 + 1).wrapping_mul(0xD1B5_4A32_D192_ED03)
}

/// Trains one seed of the UPOS tagger (`a.model()`: BiLSTM or BiLSTM + GCN)
/// on EWT dev through `train_utils::Trainer` (Adam, clipping at norm 5, the
/// guards, checkpoints and resume) and returns the token accuracy on test (all
/// of it, or `a.eval_limit` evenly spaced sentences) after the last epoch.
pub fn train_upos(
    a: &TextConfig,
    ewt: &conllu::Ewt,
    seed: u64,
    options: TrainOptions,
) -> Result<f64, TrainError> {
    let model_name = a.model();
    let use_gcn = match model_name {
        TextModel::BiLstm => false,
        TextModel::BiLstmGcn => true,
        other => {
            return Err(TrainError::Config(format!(
                "`{}` is not a UPOS tagger (bilstm, bilstm-gcn)",
                other.name()
            )))
        }
    };
    train_utils::determinism::seed_everything(seed);
    let device = a.device;
    let train = &ewt.dev[..a.limit.unwrap_or(ewt.dev.len()).min(ewt.dev.len())];
    if train.is_empty() {
        return Err(TrainError::Config(
            "a limit of 0 leaves no training sentences".into(),
        ));
    }
    let test: Vec<&Sentence> = match a.eval_limit {
        Some(l) => {
            let step = (ewt.test.len() / l.max(1)).max(1);
            ewt.test.iter().step_by(step).take(l).collect()
        }
        None => ewt.test.iter().collect(),
    };
    let vocab = Vocab::new(train.iter().flat_map(|s| s.forms.iter().map(String::as_str)));
    let vs = nn::VarStore::new(device);
    let p = vs.root();
    let (e, h) = (a.embed, a.hidden);
    let bi = RecurrentConfig {
        bidirectional: true,
        ..Default::default()
    };
    let tagger = Tagger {
        embed: nn::embedding(&p / "embed", vocab.len(), e, Default::default()),
        lstm: Recurrent::f_new(&p / "lstm", CellKind::Lstm, e, h, bi)?,
        gcn: use_gcn
            .then(|| -> Result<_, TrainError> {
                Ok((
                    GcnConv::f_new(&p / "gcn0", 2 * h, h, GcnConfig::default())?,
                    GcnConv::f_new(&p / "gcn1", h, h, GcnConfig::default())?,
                ))
            })
            .transpose()?,
        head: nn::linear(
            &p / "head",
            if use_gcn { 3 * h } else { 2 * h },
            UPOS.len() as i64,
            Default::default(),
        ),
    };
    // Token scores for a batch, with the gold tags, flattened over valid tokens.
    let forward =
        |batch: &[&Sentence], train: bool, word_dropout: u64| -> Result<(Tensor, Tensor), TrainError> {
            let t = batch.iter().map(|s| s.len()).max().unwrap_or(1);
            let (mut ids, mut rows, mut gold, mut src, mut dst) =
                (vec![0i64; batch.len() * t], vec![], vec![], vec![], vec![]);
            let mut rng = word_dropout.wrapping_mul(0x9E3779B97F4A7C15) | 1;
            for (b, s) in batch.iter().enumerate() {
                let base = rows.len() as i64;
                for (i, w) in s.forms.iter().enumerate() {
                    rng ^= rng << 13;
                    rng ^= rng >> 7;
                    rng ^= rng << 17;
                    // Word dropout teaches the unknown-word embedding.
                    ids[b * t + i] = if train && rng.is_multiple_of(10) {
                        1
                    } else {
                        vocab.id(w)
                    };
                    rows.push((b * t + i) as i64);
                    gold.push(s.upos[i] as i64);
                }
                let edges = s.tree.edges(EdgeOptions {
                    reverse: true,
                    self_loops: false,
                });
                src.extend(edges.src.iter().map(|&v| base + v as i64));
                dst.extend(edges.dst.iter().map(|&v| base + v as i64));
            }
            let ids_t = Tensor::from_slice(&ids)
                .view([batch.len() as i64, t as i64])
                .to_device(device);
            let lengths: Vec<i64> = batch.iter().map(|s| s.len() as i64).collect();
            let x = tagger.embed.forward(&ids_t).dropout(0.5, train);
            let out = tagger.lstm.f_forward(&x, None, Some(&lengths), train)?.output;
            let rows_t = Tensor::from_slice(&rows).to_device(device);
            let tokens = out.flatten(0, 1).index_select(0, &rows_t).dropout(0.5, train);
            let features = match &tagger.gcn {
                None => tokens,
                Some((g0, g1)) => {
                    let ei = Tensor::stack(&[Tensor::from_slice(&src), Tensor::from_slice(&dst)], 0)
                        .to_device(device);
                    let graph = Graph::new(&ei, rows.len() as i64)?;
                    let g = g0.f_forward_t(&tokens, &graph, train)?.relu().dropout(0.5, train);
                    let g = g1.f_forward_t(&g, &graph, train)?.relu();
                    Tensor::cat(&[tokens, g], 1)
                }
            };
            Ok((
                tagger.head.forward(&features),
                Tensor::from_slice(&gold).to_device(device),
            ))
        };
    let identity = upos_identity(a, model_name, train, &vocab, seed);
    let mut trainer = Trainer::new(&vs, Adam::new(a.lr), identity, options);
    let tokens = train.iter().map(Sentence::len).sum::<usize>().max(1);
    trainer.run(|epoch| -> Result<f64, TrainError> {
        let t0 = Instant::now();
        let mut loss_sum = 0.0;
        for (b, idx) in shuffled(train.len()).chunks(a.batch.max(1)).enumerate() {
            let batch: Vec<&Sentence> = idx.iter().map(|&i| &train[i]).collect();
            let (scores, gold) = forward(&batch, true, word_dropout_seed(seed, epoch.index(), b))?;
            let loss = scores.cross_entropy_for_logits(&gold);
            epoch.step(&loss)?;
            loss_sum += loss.double_value(&[]) * gold.size()[0] as f64;
        }
        let loss = loss_sum / tokens as f64;
        if a.verbose {
            eprintln!(
                "seed {seed} epoch {}: loss {loss:.4} {:.1} s",
                epoch.index() + 1,
                t0.elapsed().as_secs_f64()
            );
        }
        Ok(loss)
    })?;
    // No held-out split to select on (dev is the training set): the last epoch counts.
    let _guard = tch::no_grad_guard();
    let (mut correct, mut total) = (0i64, 0i64);
    for chunk in test.chunks(100) {
        let (scores, gold) = forward(chunk, false, 0)?;
        correct += scores
            .argmax(-1, false)
            .eq_tensor(&gold)
            .sum(Kind::Int64)
            .int64_value(&[]);
        total += gold.size()[0];
    }
    Ok(correct as f64 / total.max(1) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The graph view batches sentences as the tree view's forest does: the
    /// same node order (sentence after sentence), each tree edge in both
    /// directions offset by its sentence's first node, and the roots found
    /// through `ptr`.
    #[test]
    fn sentence_graphs_batch_as_the_forest() {
        // 0 <- 1 -> 2 with root 1, and a chain of 3 (root 2).
        let a = Tree::from_parents(&[Some(1), None, Some(1)]).unwrap();
        let b = Tree::chain(3).unwrap();
        let ga = tree_graph(&a);
        assert_eq!(
            (ga.src.clone(), ga.dst.clone()),
            (vec![0, 1, 2, 1], vec![1, 0, 1, 2])
        );
        let t = BatchTensors::from_refs(&[&ga, &tree_graph(&b)]).unwrap();
        assert_eq!(Vec::<i64>::try_from(&t.batch).unwrap(), [0, 0, 0, 1, 1, 1]);
        let forest = Schedule::forest(&[&a, &b]);
        let ei = Vec::<i64>::try_from(t.edge_index.flatten(0, -1)).unwrap();
        let (src, dst) = ei.split_at(ei.len() / 2);
        let from_batch: Vec<(i64, i64)> = src.iter().copied().zip(dst.iter().copied()).collect();
        let from_forest: Vec<(i64, i64)> = (0..forest.num_nodes())
            .flat_map(|v| {
                forest
                    .children(v)
                    .iter()
                    .flat_map(move |&c| [(c as i64, v as i64), (v as i64, c as i64)])
            })
            .collect();
        assert_eq!(from_batch, from_forest, "same edges in the same order");
        assert_eq!(from_batch.len(), 8);
        let roots = t.ptr.narrow(0, 0, 2) + Tensor::from_slice(&[a.root() as i64, b.root() as i64]);
        assert_eq!(Vec::<i64>::try_from(&roots).unwrap(), [1, 5]);
    }
}
