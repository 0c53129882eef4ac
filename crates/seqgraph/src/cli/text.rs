//! `seqgraph train text`: the same sentence read three ways.
//!
//! - **sequence**: an LSTM or BiLSTM over the words;
//! - **tree**: a Child-Sum or binary N-ary Tree-LSTM over the parse tree, level by level;
//! - **graph**: GCN or GAT layers over the tree's edges (both directions), then a
//!   readout (root node, mean or attention pooling).
//!
//! Tasks: SST root sentiment, fine-grained (`sst-fine`, 5 classes) and binary
//! (`sst-binary`, neutral roots dropped), standard train / dev / test, the test
//! accuracy taken at the epoch with the best dev accuracy; and UD English EWT
//! UPOS tagging (`ud-upos`), BiLSTM against BiLSTM + GCN over the dependency
//! tree, trained on **dev** and tested on **test** (a non-standard split: the
//! train part is not mirrored here).
//! Embeddings are randomly initialised: no pretrained vectors are reachable here.

use std::collections::HashMap;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::Parser;
use graph_data::conllu::{self, Sentence, UPOS};
use graph_data::fetch::Fetcher;
use graph_data::ptb::{self, binary_label, PtbTree};
use graph_data::tree::{EdgeOptions, Tree};
use graph_models::{segment_softmax, GatConfig, GatConv, GcnConfig, GcnConv, GnnLayer, Graph};
use seq_models::recurrent::{Recurrent, RecurrentConfig};
use seq_models::schedule::Schedule;
use seq_models::tree_lstm::TreeLstm;
use tch::nn::{self, Module, OptimizerConfig};
use tch::{Device, Kind, Tensor};

/// Arguments of `train text`.
#[derive(Debug, Parser)]
#[command(name = "seqgraph train text", about = "Text as a sequence, a tree or a graph")]
struct Args {
    /// sst-binary, sst-fine or ud-upos.
    #[arg(long, default_value = "sst-binary")]
    task: String,
    /// sequence, tree or graph.
    #[arg(long, default_value = "tree")]
    view: String,
    /// sequence: lstm | bilstm; tree: child-sum | n-ary; graph: gcn | gat
    /// (default: the first of the view's; ud-upos: bilstm | bilstm-gcn).
    #[arg(long)]
    model: Option<String>,
    /// Graph readout: root, mean or attention.
    #[arg(long, default_value = "attention")]
    readout: String,
    /// Number of seeds (0, 1, ...).
    #[arg(long, default_value_t = 1)]
    seeds: u64,
    /// Training epochs.
    #[arg(long, default_value_t = 6)]
    epochs: usize,
    /// Embedding size (the same for every view).
    #[arg(long, default_value_t = 100)]
    embed: i64,
    /// Hidden size.
    #[arg(long, default_value_t = 100)]
    hidden: i64,
    /// Sentences per batch.
    #[arg(long, default_value_t = 25)]
    batch: usize,
    /// Adam learning rate.
    #[arg(long, default_value_t = 2e-3)]
    lr: f64,
    /// Use only the first N training sentences (quick runs).
    #[arg(long)]
    limit: Option<usize>,
    /// libtorch intra-op threads (1 is fastest on a busy 2-core machine).
    #[arg(long, default_value_t = 1)]
    threads: i32,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

/// Runs the command with the words after its name.
pub fn run(args: &[String]) -> Result<()> {
    let a =
        Args::try_parse_from(std::iter::once("seqgraph train text".to_string()).chain(args.iter().cloned()))?;
    let model = a.model.clone().unwrap_or_else(|| {
        match (a.task.as_str(), a.view.as_str()) {
            ("ud-upos", "graph") => "bilstm-gcn",
            ("ud-upos", _) => "bilstm",
            (_, "sequence") => "lstm",
            (_, "graph") => "gcn",
            _ => "child-sum",
        }
        .to_string()
    });
    tch::set_num_threads(a.threads);
    let started = Instant::now();
    let fetcher = Fetcher::from_env();
    let (accs, metric) = match a.task.as_str() {
        "sst-binary" | "sst-fine" => {
            let sst = ptb::load_sst(&fetcher).context("loading SST")?;
            let data = SstData::new(&sst, a.task == "sst-binary", a.limit);
            let mut accs = Vec::new();
            for seed in 0..a.seeds {
                accs.push(train_sst(&a, &model, &data, seed)?);
            }
            (accs, "root accuracy (test, at best dev epoch)")
        }
        "ud-upos" => {
            let ewt = conllu::load_ewt(&fetcher).context("loading UD English EWT")?;
            let mut accs = Vec::new();
            for seed in 0..a.seeds {
                accs.push(train_upos(&a, &model, &ewt, seed)?);
            }
            (
                accs,
                "UPOS token accuracy (trained on dev, tested on test: non-standard split)",
            )
        }
        other => bail!("unknown task `{other}` (sst-binary, sst-fine, ud-upos)"),
    };
    let mean = accs.iter().sum::<f64>() / accs.len().max(1) as f64;
    let std = (accs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (accs.len().max(2) - 1) as f64).sqrt();
    let seconds = started.elapsed().as_secs_f64();
    if a.json {
        let out = serde_json::json!({
            "task": a.task, "view": a.view, "model": model, "metric": metric,
            "value": mean, "std": std, "values": accs, "seeds": a.seeds, "epochs": a.epochs,
            "embed": a.embed, "hidden": a.hidden, "pretrained_embeddings": false,
            "readout": (a.view == "graph").then_some(&a.readout), "seconds": seconds,
        });
        println!("{out}");
    } else {
        println!(
            "{} {} {}: {metric} {:.4} ± {:.4} over {} seeds {:?} ({} epochs, embed {}, random embeddings; {:.0} s)",
            a.task, a.view, model, mean, std, a.seeds, accs, a.epochs, a.embed, seconds
        );
    }
    Ok(())
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

/// One SST sentence: its tree, the word id of every node (0 for inner nodes), the
/// word ids in order and the root's class.
struct Example {
    tree: Tree,
    node_words: Vec<i64>,
    words: Vec<i64>,
    label: i64,
}

struct SstData {
    vocab: Vocab,
    classes: i64,
    train: Vec<Example>,
    dev: Vec<Example>,
    test: Vec<Example>,
}

impl SstData {
    fn new(sst: &ptb::Sst, binary: bool, limit: Option<usize>) -> SstData {
        // SST's train file is ordered by sentiment: a limit takes evenly spaced trees, not a prefix.
        let step = limit.map_or(1, |l| (sst.train.len() / l.max(1)).max(1));
        let train_trees: Vec<PtbTree> = sst
            .train
            .iter()
            .step_by(step)
            .take(limit.unwrap_or(usize::MAX))
            .cloned()
            .collect();
        let train_trees = &train_trees[..];
        let vocab = Vocab::new(train_trees.iter().flat_map(|t| t.sentence()));
        let convert = |trees: &[PtbTree]| -> Vec<Example> {
            trees
                .iter()
                .filter_map(|t| {
                    let label = if binary {
                        binary_label(t.root_label())? as i64
                    } else {
                        t.root_label() as i64
                    };
                    let node_words = t
                        .words
                        .iter()
                        .map(|w| w.as_deref().map_or(0, |w| vocab.id(w)))
                        .collect();
                    let words = t.sentence().iter().map(|w| vocab.id(w)).collect();
                    Some(Example {
                        tree: t.tree.clone(),
                        node_words,
                        words,
                        label,
                    })
                })
                .collect()
        };
        SstData {
            train: convert(train_trees),
            dev: convert(&sst.dev),
            test: convert(&sst.test),
            classes: if binary { 2 } else { 5 },
            vocab,
        }
    }
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

enum Readout {
    Root,
    Mean,
    Attention(nn::Linear),
}

struct SentenceModel {
    embed: nn::Embedding,
    encoder: Encoder,
    head: nn::Linear,
    device: Device,
}

impl SentenceModel {
    fn new(p: &nn::Path, a: &Args, model: &str, vocab: i64, classes: i64) -> Result<SentenceModel> {
        let (e, h) = (a.embed, a.hidden);
        let embed = nn::embedding(p / "embed", vocab, e, Default::default());
        let (encoder, out) = match model {
            "lstm" | "bilstm" => {
                let bi = model == "bilstm";
                let c = RecurrentConfig {
                    bidirectional: bi,
                    ..Default::default()
                };
                (
                    Encoder::Sequence(Recurrent::lstm(p / "lstm", e, h, c)),
                    if bi { 2 * h } else { h },
                )
            }
            "child-sum" => (Encoder::Tree(TreeLstm::child_sum(&(p / "tree"), e, h)), h),
            "n-ary" => (Encoder::Tree(TreeLstm::n_ary(&(p / "tree"), e, h, 2)), h),
            "gcn" | "gat" => {
                let mut layers: Vec<Box<dyn GnnLayer>> = Vec::new();
                for (l, d_in) in [e, h].into_iter().enumerate() {
                    let q = p / format!("conv{l}");
                    layers.push(if model == "gcn" {
                        Box::new(GcnConv::new(&q, d_in, h, GcnConfig::default()))
                    } else {
                        let c = GatConfig {
                            heads: 4,
                            concat: false,
                            ..Default::default()
                        };
                        Box::new(GatConv::new(&q, d_in, h, c))
                    });
                }
                let readout = match a.readout.as_str() {
                    "root" => Readout::Root,
                    "mean" => Readout::Mean,
                    "attention" => Readout::Attention(nn::linear(p / "attention", h, 1, Default::default())),
                    other => bail!("unknown readout `{other}` (root, mean, attention)"),
                };
                (Encoder::Graph { layers, readout }, h)
            }
            other => bail!("unknown SST model `{other}` (lstm, bilstm, child-sum, n-ary, gcn, gat)"),
        };
        Ok(SentenceModel {
            embed,
            encoder,
            head: nn::linear(p / "head", out, classes, Default::default()),
            device: p.device(),
        })
    }

    /// Class scores `[batch, classes]`.
    fn forward(&self, batch: &[&Example], train: bool) -> Tensor {
        let dev = self.device;
        let repr = match &self.encoder {
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
                let out = rnn.forward(&x, None, Some(&lengths), train);
                // Final state of each direction, [dirs, B, H] -> [B, dirs * H].
                out.state.h.transpose(0, 1).flatten(1, -1)
            }
            Encoder::Tree(cell) => {
                let (x, roots, _, schedule) = self.forest(batch, train);
                let arity = matches!(cell.cell(), seq_models::tree_lstm::TreeCell::NAry(_)).then_some(2);
                let plan = schedule.plan(dev, arity).expect("SST trees are binary");
                cell.forward(&x, &plan)
                    .expect("shapes checked")
                    .h
                    .index_select(0, &roots)
            }
            Encoder::Graph { layers, readout } => {
                let (mut x, roots, owner, schedule) = self.forest(batch, train);
                let n = schedule.num_nodes() as i64;
                let (mut src, mut dst) = (Vec::new(), Vec::new());
                for v in 0..schedule.num_nodes() {
                    for &c in schedule.children(v) {
                        src.extend([c as i64, v as i64]);
                        dst.extend([v as i64, c as i64]);
                    }
                }
                let ei =
                    Tensor::stack(&[Tensor::from_slice(&src), Tensor::from_slice(&dst)], 0).to_device(dev);
                let graph = Graph::new(&ei, n).expect("forest edges are in range");
                for layer in layers {
                    x = layer.forward_t(&x, &graph, train).relu().dropout(0.5, train);
                }
                let b = batch.len() as i64;
                let pool = |w: &Tensor| {
                    Tensor::zeros([b, x.size()[1]], (x.kind(), dev)).index_add(0, &owner, &(&x * w))
                };
                match readout {
                    Readout::Root => x.index_select(0, &roots),
                    Readout::Mean => {
                        let count = Tensor::zeros([b], (x.kind(), dev)).index_add(
                            0,
                            &owner,
                            &x.ones_like().select(1, 0),
                        );
                        pool(&x.ones_like().narrow(1, 0, 1)) / count.unsqueeze(1)
                    }
                    Readout::Attention(score) => pool(&segment_softmax(&score.forward(&x), &owner, b)),
                }
            }
        };
        self.head.forward(&repr.dropout(0.5, train))
    }

    /// The batch as one forest: node inputs (zero for inner nodes), root rows,
    /// the sentence each node belongs to, and the level schedule.
    fn forest(&self, batch: &[&Example], train: bool) -> (Tensor, Tensor, Tensor, Schedule) {
        let trees: Vec<&Tree> = batch.iter().map(|x| &x.tree).collect();
        let schedule = Schedule::forest(&trees);
        let (mut words, mut roots, mut owner, mut offset) = (Vec::<i64>::new(), Vec::new(), Vec::new(), 0i64);
        for (b, x) in batch.iter().enumerate() {
            words.extend(&x.node_words);
            roots.push(offset + x.tree.root() as i64);
            owner.extend(std::iter::repeat_n(b as i64, x.tree.len()));
            offset += x.tree.len() as i64;
        }
        let ids = Tensor::from_slice(&words).to_device(self.device);
        let mask = ids.gt(0).to_kind(Kind::Float).unsqueeze(1);
        let x = (self.embed.forward(&ids) * mask).dropout(0.5, train);
        let t = |v: &[i64]| Tensor::from_slice(v).to_device(self.device);
        (x, t(&roots), t(&owner), schedule)
    }
}

fn accuracy(model: &SentenceModel, data: &[Example], batch: usize) -> f64 {
    let _guard = tch::no_grad_guard();
    let mut correct = 0i64;
    for chunk in data.chunks(batch * 4) {
        let refs: Vec<&Example> = chunk.iter().collect();
        let pred = model.forward(&refs, false).argmax(-1, false);
        let labels: Vec<i64> = chunk.iter().map(|x| x.label).collect();
        correct += pred
            .eq_tensor(&Tensor::from_slice(&labels).to_device(model.device))
            .sum(Kind::Int64)
            .int64_value(&[]);
    }
    correct as f64 / data.len().max(1) as f64
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

fn train_sst(a: &Args, model_name: &str, data: &SstData, seed: u64) -> Result<f64> {
    tch::manual_seed(seed as i64);
    let vs = nn::VarStore::new(Device::cuda_if_available());
    let model = SentenceModel::new(&vs.root(), a, model_name, data.vocab.len(), data.classes)?;
    let mut opt = nn::Adam::default().build(&vs, a.lr)?;
    let (mut best_dev, mut test_at_best) = (-1.0, 0.0);
    for epoch in 0..a.epochs {
        let t0 = Instant::now();
        let order = shuffled(data.train.len());
        let mut loss_sum = 0.0;
        for idx in order.chunks(a.batch) {
            let batch: Vec<&Example> = idx.iter().map(|&i| &data.train[i]).collect();
            let labels: Vec<i64> = batch.iter().map(|x| x.label).collect();
            let logits = model.forward(&batch, true);
            let loss = logits.cross_entropy_for_logits(&Tensor::from_slice(&labels).to_device(vs.device()));
            opt.backward_step_clip_norm(&loss, 5.0);
            loss_sum += loss.double_value(&[]) * batch.len() as f64;
        }
        let dev = accuracy(&model, &data.dev, a.batch);
        if dev > best_dev {
            best_dev = dev;
            test_at_best = accuracy(&model, &data.test, a.batch);
        }
        if !a.json {
            eprintln!(
                "seed {seed} epoch {epoch}: loss {:.4} dev {dev:.4} (best {best_dev:.4}, test there {test_at_best:.4}) {:.1} s",
                loss_sum / data.train.len() as f64,
                t0.elapsed().as_secs_f64()
            );
        }
    }
    Ok(test_at_best)
}

/// BiLSTM tagger, optionally followed by a GCN over the dependency tree (both
/// directions, self loops) whose output is concatenated to the BiLSTM's.
struct Tagger {
    embed: nn::Embedding,
    lstm: Recurrent,
    gcn: Option<(GcnConv, GcnConv)>,
    head: nn::Linear,
}

fn train_upos(a: &Args, model_name: &str, ewt: &conllu::Ewt, seed: u64) -> Result<f64> {
    let use_gcn = match model_name {
        "bilstm" => false,
        "bilstm-gcn" => true,
        other => bail!("unknown UPOS model `{other}` (bilstm, bilstm-gcn)"),
    };
    tch::manual_seed(seed as i64);
    let device = Device::cuda_if_available();
    let train = &ewt.dev[..a.limit.unwrap_or(ewt.dev.len()).min(ewt.dev.len())];
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
        lstm: Recurrent::lstm(&p / "lstm", e, h, bi),
        gcn: use_gcn.then(|| {
            (
                GcnConv::new(&(&p / "gcn0"), 2 * h, h, GcnConfig::default()),
                GcnConv::new(&(&p / "gcn1"), h, h, GcnConfig::default()),
            )
        }),
        head: nn::linear(
            &p / "head",
            if use_gcn { 3 * h } else { 2 * h },
            UPOS.len() as i64,
            Default::default(),
        ),
    };
    let mut opt = nn::Adam::default().build(&vs, a.lr)?;
    // Token scores for a batch, with the gold tags, flattened over valid tokens.
    let forward = |batch: &[&Sentence], train: bool, word_dropout: u64| -> (Tensor, Tensor) {
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
        let out = tagger.lstm.forward(&x, None, Some(&lengths), train).output;
        let rows_t = Tensor::from_slice(&rows).to_device(device);
        let tokens = out.flatten(0, 1).index_select(0, &rows_t).dropout(0.5, train);
        let features = match &tagger.gcn {
            None => tokens,
            Some((g0, g1)) => {
                let ei =
                    Tensor::stack(&[Tensor::from_slice(&src), Tensor::from_slice(&dst)], 0).to_device(device);
                let graph = Graph::new(&ei, rows.len() as i64).expect("tree edges are in range");
                let g = g0.forward_t(&tokens, &graph, train).relu().dropout(0.5, train);
                let g = g1.forward_t(&g, &graph, train).relu();
                Tensor::cat(&[tokens, g], 1)
            }
        };
        (
            tagger.head.forward(&features),
            Tensor::from_slice(&gold).to_device(device),
        )
    };
    let evaluate = |data: &[Sentence]| {
        let _guard = tch::no_grad_guard();
        let (mut correct, mut total) = (0i64, 0i64);
        for chunk in data.chunks(100) {
            let refs: Vec<&Sentence> = chunk.iter().collect();
            let (scores, gold) = forward(&refs, false, 0);
            correct += scores
                .argmax(-1, false)
                .eq_tensor(&gold)
                .sum(Kind::Int64)
                .int64_value(&[]);
            total += gold.size()[0];
        }
        correct as f64 / total as f64
    };
    let mut step = 0u64;
    for epoch in 0..a.epochs {
        let t0 = Instant::now();
        for idx in shuffled(train.len()).chunks(a.batch) {
            let batch: Vec<&Sentence> = idx.iter().map(|&i| &train[i]).collect();
            step += 1;
            let (scores, gold) = forward(&batch, true, step + seed * 1_000_003);
            opt.backward_step_clip_norm(&scores.cross_entropy_for_logits(&gold), 5.0);
        }
        if !a.json {
            eprintln!("seed {seed} epoch {epoch}: {:.1} s", t0.elapsed().as_secs_f64());
        }
    }
    // No held-out split to select on (dev is the training set): the last epoch counts.
    Ok(evaluate(&ewt.test))
}
