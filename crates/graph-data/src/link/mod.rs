//! Link prediction data: a seeded train / validation / test split of a
//! graph's edges ([`random_link_split`], PyG's `RandomLinkSplit`), uniform
//! negative sampling that never returns an edge ([`NegativeSampler`]), the
//! ranking metrics ([`metrics`]) and a link-level neighbour sampler
//! ([`sampler`]).
//!
//! The split follows PyG's semantics: each part has *message-passing* edges
//! (the graph a model may propagate over) and *supervision* edges (the
//! positives it is scored on) with as many negatives per positive as asked.
//! Training propagates over training edges only, validation over the
//! training edges, test over training and validation edges: no validation or
//! test edge ever reaches the training graph. An undirected edge is one
//! unit: both orientations go to the same part.
//!
//! ```
//! use graph_data::EdgeList;
//! use graph_data::link::{random_link_split, SplitConfig};
//! // A ring of 40 nodes, both directions.
//! let pairs: Vec<(u32, u32)> = (0..40).flat_map(|i| [(i, (i + 1) % 40), ((i + 1) % 40, i)]).collect();
//! let edges = EdgeList::from_pairs(40, &pairs).unwrap();
//! let split = random_link_split(&edges, &SplitConfig::default()).unwrap();
//! assert_eq!((split.val.pos.len(), split.test.pos.len(), split.train.pos.len()), (2, 4, 34));
//! assert_eq!(split.train.message.len(), 68); // both directions of the 34 training edges
//! assert_eq!(split.test.neg.len(), 4); // one negative per positive
//! ```

pub mod metrics;
mod negative;
pub mod sampler;

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::edges::EdgeList;
use crate::error::{DataError, Result};

pub use negative::{NegativeMethod, NegativeSampler};

/// Options of [`random_link_split`]. `Default`: PyG's `RandomLinkSplit` as
/// Kipf and Welling's GAE protocol uses it: 85 / 5 / 10, undirected, one
/// negative per positive, no disjoint supervision edges.
#[derive(Debug, Clone, PartialEq)]
pub struct SplitConfig {
    /// Fraction of the (undirected) edges held out for validation.
    pub val: f64,
    /// Fraction held out for test.
    pub test: f64,
    /// Treat `(u, v)` and `(v, u)` as one edge, kept whole in one part;
    /// message-passing edges then hold both orientations, supervision edges
    /// one (`u <= v`).
    pub undirected: bool,
    /// Fraction of the training edges used for supervision only (PyG's
    /// `disjoint_train_ratio`): they leave the training message graph (but
    /// stay in validation's and test's). 0: every training edge does both.
    pub disjoint_train: f64,
    /// Negatives per positive in each part (rounded down).
    pub neg_ratio: f64,
    /// Also sample training negatives (PyG's `add_negative_train_samples`);
    /// recipes that draw fresh ones each epoch turn this off.
    pub train_negatives: bool,
    /// The permutation's and the negatives' seed.
    pub seed: u64,
}

impl Default for SplitConfig {
    fn default() -> Self {
        SplitConfig {
            val: 0.05,
            test: 0.1,
            undirected: true,
            disjoint_train: 0.0,
            neg_ratio: 1.0,
            train_negatives: true,
            seed: 0,
        }
    }
}

/// One part of a [`LinkSplit`].
#[derive(Debug, Clone, PartialEq)]
pub struct LinkPart {
    /// The graph a model propagates over for this part (both orientations
    /// of each undirected edge).
    pub message: EdgeList,
    /// Positive supervision pairs (one orientation per undirected edge).
    pub pos: EdgeList,
    /// Negative pairs: never an edge of the input graph, distinct across
    /// all parts (`(min, max)` when undirected).
    pub neg: EdgeList,
}

impl LinkPart {
    /// PyG's `edge_label_index` and `edge_label`: positives then negatives,
    /// labels 1 and 0.
    pub fn labelled(&self) -> (Vec<u32>, Vec<u32>, Vec<f32>) {
        let src = [self.pos.src.as_slice(), &self.neg.src].concat();
        let dst = [self.pos.dst.as_slice(), &self.neg.dst].concat();
        let mut label = vec![1.0f32; self.pos.len()];
        label.resize(src.len(), 0.0);
        (src, dst, label)
    }
}

/// Train, validation and test parts of a graph's edges.
#[derive(Debug, Clone, PartialEq)]
pub struct LinkSplit {
    /// Number of nodes.
    pub num_nodes: usize,
    /// Whether edges were split as undirected.
    pub undirected: bool,
    /// Training part.
    pub train: LinkPart,
    /// Validation part.
    pub val: LinkPart,
    /// Test part.
    pub test: LinkPart,
}

/// The distinct edges of `edges` as `(u, v)` pairs, sorted; `(min, max)`
/// when `undirected`.
pub fn unique_pairs(edges: &EdgeList, undirected: bool) -> Vec<(u32, u32)> {
    let mut pairs: Vec<(u32, u32)> = edges
        .src
        .iter()
        .zip(&edges.dst)
        .map(|(&u, &v)| if undirected { (u.min(v), u.max(v)) } else { (u, v) })
        .collect();
    pairs.sort_unstable();
    pairs.dedup();
    pairs
}

/// Pairs as an edge list; with `both`, each non-loop pair in both orientations.
fn to_edges(num_nodes: usize, pairs: &[(u32, u32)], both: bool) -> EdgeList {
    let mut src = Vec::with_capacity(pairs.len() * if both { 2 } else { 1 });
    let mut dst = Vec::with_capacity(src.capacity());
    for &(u, v) in pairs {
        src.push(u);
        dst.push(v);
        if both && u != v {
            src.push(v);
            dst.push(u);
        }
    }
    EdgeList {
        num_nodes,
        src,
        dst,
        weight: None,
    }
}

fn check_fraction(name: &str, x: f64) -> Result<()> {
    if !(0.0..1.0).contains(&x) {
        return Err(DataError::Invalid(format!(
            "link split: {name} = {x} is not a fraction in [0, 1)"
        )));
    }
    Ok(())
}

/// Splits the edges of `edges` (duplicates merged; with
/// `config.undirected`, `(u, v)` and `(v, u)` are one edge) into training,
/// validation and test parts by a seeded permutation:
/// `floor(val * m)` validation edges, `floor(test * m)` test edges, the rest
/// training, as PyG's `RandomLinkSplit` does. Negatives are drawn without
/// replacement from the pairs that are not edges of the input (nor self
/// loops), distinct across parts. Fails on fractions outside [0, 1), no
/// training edge left, or too few non-edges.
pub fn random_link_split(edges: &EdgeList, config: &SplitConfig) -> Result<LinkSplit> {
    check_fraction("val", config.val)?;
    check_fraction("test", config.test)?;
    check_fraction("disjoint_train", config.disjoint_train)?;
    if !(config.neg_ratio.is_finite() && config.neg_ratio >= 0.0) {
        return Err(DataError::Invalid(format!(
            "link split: neg_ratio = {} is not a finite non-negative number",
            config.neg_ratio
        )));
    }
    let n = edges.num_nodes;
    let mut pairs = unique_pairs(edges, config.undirected);
    let m = pairs.len();
    let n_val = (config.val * m as f64).floor() as usize;
    let n_test = (config.test * m as f64).floor() as usize;
    if n_val + n_test >= m {
        return Err(DataError::Invalid(format!(
            "link split: {m} edges leave none for training after {n_val} validation and {n_test} test edges"
        )));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
    pairs.shuffle(&mut rng);
    let n_train = m - n_val - n_test;
    let (train, rest) = pairs.split_at(n_train);
    let (val, test) = rest.split_at(n_val);
    let n_sup = (config.disjoint_train * n_train as f64).floor() as usize;
    let (train_sup, train_msg) = if n_sup == 0 {
        (train, train)
    } else {
        train.split_at(n_sup)
    };
    let neg_count = |k: usize| (config.neg_ratio * k as f64).floor() as usize;
    let (k_val, k_test) = (neg_count(val.len()), neg_count(test.len()));
    let k_train = if config.train_negatives {
        neg_count(train_sup.len())
    } else {
        0
    };
    let sampler = NegativeSampler::new(edges, config.undirected)?;
    let neg = sampler.sample_distinct(k_val + k_test + k_train, config.seed.wrapping_add(1), &[])?;
    let neg_pairs: Vec<(u32, u32)> = neg.src.iter().copied().zip(neg.dst.iter().copied()).collect();
    let (neg_val, rest) = neg_pairs.split_at(k_val);
    let (neg_test, neg_train) = rest.split_at(k_test);
    let both = config.undirected;
    let train_and_val = [train, val].concat();
    Ok(LinkSplit {
        num_nodes: n,
        undirected: config.undirected,
        train: LinkPart {
            message: to_edges(n, train_msg, both),
            pos: to_edges(n, train_sup, false),
            neg: to_edges(n, neg_train, false),
        },
        val: LinkPart {
            message: to_edges(n, train, both),
            pos: to_edges(n, val, false),
            neg: to_edges(n, neg_val, false),
        },
        test: LinkPart {
            message: to_edges(n, &train_and_val, both),
            pos: to_edges(n, test, false),
            neg: to_edges(n, neg_test, false),
        },
    })
}
