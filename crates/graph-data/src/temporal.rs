//! Graph signals over time: a static graph with a `T x N x F` signal, or a
//! graph per time step with its signal; and what models need from them:
//! sliding windows ([`WindowSpec`]), a chronological split
//! ([`chronological_split`]), scalers fitted on the training steps only
//! ([`Scaler`]), batching to `(B, T_in, N, F)` / `(B, horizon, N, F_out)`
//! tensors (feature `tch`), and PyTorch Geometric Temporal's "lags" view
//! ([`LagsView`], [`temporal_signal_split`]) so its recipes rerun exactly.
//!
//! ```
//! use graph_data::{temporal::*, EdgeList};
//! let edges = EdgeList::from_pairs(2, &[(0, 1)]).unwrap();
//! // 521 weeks of one value on 2 nodes, like Chickenpox's 521 x 20.
//! let values: Vec<f32> = (0..521 * 2).map(|i| i as f32).collect();
//! let signal = StaticGraphSignal::new(edges, 521, 1, values).unwrap();
//! let lags = signal.lags(4, 0).unwrap();
//! assert_eq!(lags.snapshots, 517);
//! let (train, test) = temporal_signal_split(lags.snapshots, 0.2);
//! assert_eq!((train.len(), test.len()), (103, 414));
//! let spec = WindowSpec { input_len: 12, horizon: 3, stride: 1 };
//! assert_eq!(spec.count(521), 507);
//! ```

use crate::edges::EdgeList;
use std::ops::Range;

use crate::error::{DataError, Result};

/// A fixed graph with a signal of `steps x nodes x features` values
/// (row-major: step, then node, then feature).
#[derive(Debug, Clone, PartialEq)]
pub struct StaticGraphSignal {
    /// The graph, the same at every step.
    pub edges: EdgeList,
    /// Number of time steps `T`.
    pub steps: usize,
    /// Number of features per node and step `F`.
    pub features: usize,
    /// `T * N * F` values.
    pub values: Vec<f32>,
}

/// A graph per time step (same node set) with its signal.
#[derive(Debug, Clone, PartialEq)]
pub struct DynamicGraphSignal {
    /// One edge list per step, all over the same `num_nodes`.
    pub edges: Vec<EdgeList>,
    /// Number of features per node and step `F`.
    pub features: usize,
    /// `T * N * F` values.
    pub values: Vec<f32>,
}

impl StaticGraphSignal {
    /// Checks that `values` holds `steps * nodes * features` finite values.
    pub fn new(edges: EdgeList, steps: usize, features: usize, values: Vec<f32>) -> Result<Self> {
        check_values(steps, edges.num_nodes, features, &values)?;
        Ok(StaticGraphSignal {
            edges,
            steps,
            features,
            values,
        })
    }

    /// Number of nodes `N`.
    pub fn nodes(&self) -> usize {
        self.edges.num_nodes
    }
}

impl DynamicGraphSignal {
    /// Checks that every step's graph has the same node count and that
    /// `values` holds `T * N * F` finite values.
    pub fn new(edges: Vec<EdgeList>, features: usize, values: Vec<f32>) -> Result<Self> {
        let nodes = edges.first().map(|e| e.num_nodes).unwrap_or(0);
        if let Some(t) = edges.iter().position(|e| e.num_nodes != nodes) {
            return Err(DataError::Invalid(format!(
                "dynamic graph: step {t} has {} nodes, step 0 has {nodes}",
                edges[t].num_nodes
            )));
        }
        check_values(edges.len(), nodes, features, &values)?;
        Ok(DynamicGraphSignal {
            edges,
            features,
            values,
        })
    }

    /// Number of time steps `T`.
    pub fn steps(&self) -> usize {
        self.edges.len()
    }

    /// Number of nodes `N`.
    pub fn nodes(&self) -> usize {
        self.edges.first().map(|e| e.num_nodes).unwrap_or(0)
    }
}

fn check_values(steps: usize, nodes: usize, features: usize, values: &[f32]) -> Result<()> {
    if values.len() != steps * nodes * features {
        return Err(DataError::Invalid(format!(
            "signal: expected {steps} x {nodes} x {features} = {} values, got {}",
            steps * nodes * features,
            values.len()
        )));
    }
    if let Some(i) = values.iter().position(|v| !v.is_finite()) {
        let (t, rest) = (i / (nodes * features).max(1), i % (nodes * features).max(1));
        return Err(DataError::Invalid(format!(
            "signal: value at step {t}, node {}, feature {} is {}",
            rest / features.max(1),
            rest % features.max(1),
            values[i]
        )));
    }
    Ok(())
}

/// Sliding windows: `input_len` steps in, the next `horizon` steps out, a new
/// window every `stride` steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowSpec {
    /// Steps fed to the model, `T_in`.
    pub input_len: usize,
    /// Steps to predict after them.
    pub horizon: usize,
    /// Steps between the starts of consecutive windows (at least 1).
    pub stride: usize,
}

impl WindowSpec {
    /// Number of windows that fit in `steps` steps:
    /// `(steps - input_len - horizon) / stride + 1`, or 0 if none fits.
    pub fn count(&self, steps: usize) -> usize {
        let span = self.input_len + self.horizon;
        if self.stride == 0 || steps < span || span == 0 {
            0
        } else {
            (steps - span) / self.stride + 1
        }
    }

    /// First step of every window inside `steps` (a range of steps, e.g. one
    /// part of [`chronological_split`]): window `s` reads steps
    /// `s .. s + input_len` and predicts `s + input_len .. s + input_len + horizon`.
    pub fn starts(&self, steps: Range<usize>) -> Vec<usize> {
        (0..self.count(steps.len()))
            .map(|i| steps.start + i * self.stride)
            .collect()
    }

    #[cfg(feature = "tch")]
    fn check(&self) -> Result<()> {
        if self.stride == 0 || self.input_len == 0 {
            return Err(DataError::Invalid(format!(
                "windows: input_len and stride must be at least 1, got {self:?}"
            )));
        }
        Ok(())
    }
}

/// Splits `steps` time steps chronologically into train, validation and test
/// ranges: the first `floor(steps * train)` steps, the next
/// `floor(steps * val)`, and the rest. Cut windows inside each range so no
/// target of one part is an input of an earlier one.
pub fn chronological_split(steps: usize, train: f64, val: f64) -> Result<[Range<usize>; 3]> {
    if !(train >= 0.0 && val >= 0.0 && train + val <= 1.0) {
        return Err(DataError::Invalid(format!(
            "split: need train >= 0, val >= 0 and train + val <= 1, got {train} and {val}"
        )));
    }
    let a = (steps as f64 * train).floor() as usize;
    let b = a + (steps as f64 * val).floor() as usize;
    Ok([0..a, a..b.min(steps), b.min(steps)..steps])
}

/// PyTorch Geometric Temporal's `temporal_signal_split`: the first
/// `int(train_ratio * snapshots)` snapshots train, the rest test.
pub fn temporal_signal_split(snapshots: usize, train_ratio: f64) -> (Range<usize>, Range<usize>) {
    let cut = ((train_ratio * snapshots as f64) as usize).min(snapshots);
    (0..cut, cut..snapshots)
}

/// PyTorch Geometric Temporal's lagged view of one feature (its Chickenpox,
/// PedalMe, England Covid, Wikipedia Math loaders): snapshot `i` has the
/// values of steps `i .. i + lags` as its `lags` node features and the value
/// at step `i + lags` as its target, so `T` steps give `T - lags` snapshots.
/// With a graph per step, snapshot `i` uses the graph of step `i`, as PGT's
/// dynamic loaders do.
#[derive(Debug, Clone, PartialEq)]
pub struct LagsView {
    /// Number of lags (features per node).
    pub lags: usize,
    /// Number of snapshots `S = T - lags`.
    pub snapshots: usize,
    /// Number of nodes `N`.
    pub nodes: usize,
    /// `S x N x lags` values: `features[(i * N + v) * lags + k]` is node `v`
    /// at step `i + k`.
    pub features: Vec<f32>,
    /// `S x N` values: node `v` at step `i + lags`.
    pub targets: Vec<f32>,
}

fn lags_of(
    values: &[f32],
    steps: usize,
    nodes: usize,
    features: usize,
    lags: usize,
    feature: usize,
) -> Result<LagsView> {
    if feature >= features {
        return Err(DataError::Invalid(format!(
            "lags: feature {feature} of {features}"
        )));
    }
    if lags == 0 || lags >= steps {
        return Err(DataError::Invalid(format!(
            "lags: need 1 <= lags < {steps} steps, got {lags}"
        )));
    }
    let at = |t: usize, v: usize| values[(t * nodes + v) * features + feature];
    let snapshots = steps - lags;
    let mut x = Vec::with_capacity(snapshots * nodes * lags);
    let mut y = Vec::with_capacity(snapshots * nodes);
    for i in 0..snapshots {
        for v in 0..nodes {
            x.extend((0..lags).map(|k| at(i + k, v)));
            y.push(at(i + lags, v));
        }
    }
    Ok(LagsView {
        lags,
        snapshots,
        nodes,
        features: x,
        targets: y,
    })
}

/// How a [`Scaler`] maps values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScalerKind {
    /// `(x - mean) / std` (population std; a constant feature gets std 1).
    Standard,
    /// `(x - min) / (max - min)` into `[0, 1]` (a constant feature gets range 1).
    MinMax,
}

/// A per-feature affine scaler, fitted on some steps of a signal (the
/// training part only, so nothing of validation or test leaks into it).
#[derive(Debug, Clone, PartialEq)]
pub struct Scaler {
    /// The kind it was fitted as.
    pub kind: ScalerKind,
    /// Subtracted from each feature (mean or min).
    pub offset: Vec<f32>,
    /// Then divided by (std or range).
    pub scale: Vec<f32>,
}

impl Scaler {
    /// Fits per feature on `values`, rows of `features` values (e.g. the
    /// training steps of a signal: see [`StaticGraphSignal::fit_scaler`]).
    /// Fails on empty data or a ragged last row.
    pub fn fit(kind: ScalerKind, values: &[f32], features: usize) -> Result<Scaler> {
        if features == 0 || values.is_empty() || !values.len().is_multiple_of(features) {
            return Err(DataError::Invalid(format!(
                "scaler: cannot fit on {} values in rows of {features} features",
                values.len()
            )));
        }
        let rows = (values.len() / features) as f64;
        let column = |f: usize| values.iter().skip(f).step_by(features).map(|&v| v as f64);
        let (mut offset, mut scale) = (Vec::new(), Vec::new());
        for f in 0..features {
            let (o, s) = match kind {
                ScalerKind::Standard => {
                    let mean = column(f).sum::<f64>() / rows;
                    let var = column(f).map(|v| (v - mean).powi(2)).sum::<f64>() / rows;
                    (mean, var.sqrt())
                }
                ScalerKind::MinMax => {
                    let min = column(f).fold(f64::INFINITY, f64::min);
                    (min, column(f).fold(f64::NEG_INFINITY, f64::max) - min)
                }
            };
            offset.push(o as f32);
            // A constant feature maps to 0 instead of dividing by zero.
            scale.push(if s > 0.0 { s as f32 } else { 1.0 });
        }
        Ok(Scaler { kind, offset, scale })
    }

    /// Scales rows of `F` values in place.
    pub fn transform(&self, values: &mut [f32]) {
        let f = self.offset.len();
        for (i, v) in values.iter_mut().enumerate() {
            *v = (*v - self.offset[i % f]) / self.scale[i % f];
        }
    }

    /// Undoes [`Scaler::transform`] on values of one feature (e.g. a model's
    /// predictions of feature `feature`).
    pub fn inverse_feature(&self, feature: usize, values: &mut [f32]) {
        for v in values {
            *v = *v * self.scale[feature] + self.offset[feature];
        }
    }
}

/// The operations shared by static and dynamic signals.
macro_rules! signal_ops {
    ($ty:ty, $steps:expr) => {
        impl $ty {
            /// Fits a scaler per feature on the steps `train` only (over all nodes).
            pub fn fit_scaler(&self, kind: ScalerKind, train: Range<usize>) -> Result<Scaler> {
                let steps: usize = $steps(self);
                if train.end > steps || train.is_empty() {
                    return Err(DataError::Invalid(format!(
                        "scaler: training steps {train:?} are empty or outside 0..{steps}"
                    )));
                }
                let row = self.nodes() * self.features;
                Scaler::fit(
                    kind,
                    &self.values[train.start * row..train.end * row],
                    self.features,
                )
            }

            /// Scales every value in place with a scaler fitted on this signal's
            /// features.
            pub fn scale(&mut self, scaler: &Scaler) -> Result<()> {
                if scaler.offset.len() != self.features {
                    return Err(DataError::Invalid(format!(
                        "scaler has {} features, the signal {}",
                        scaler.offset.len(),
                        self.features
                    )));
                }
                scaler.transform(&mut self.values);
                Ok(())
            }

            /// PyTorch Geometric Temporal's lagged view of feature `feature`
            /// (see [`LagsView`]).
            pub fn lags(&self, lags: usize, feature: usize) -> Result<LagsView> {
                lags_of(
                    &self.values,
                    $steps(self),
                    self.nodes(),
                    self.features,
                    lags,
                    feature,
                )
            }

            /// Batches the windows starting at `starts` into inputs
            /// `(B, input_len, N, F)` (all features) and targets
            /// `(B, horizon, N, F_out)` (the features `target_features`), float.
            #[cfg(feature = "tch")]
            pub fn batch(
                &self,
                spec: &WindowSpec,
                starts: &[usize],
                target_features: &[usize],
            ) -> Result<(tch::Tensor, tch::Tensor)> {
                batch_of(
                    &self.values,
                    $steps(self),
                    self.nodes(),
                    self.features,
                    spec,
                    starts,
                    target_features,
                )
            }
        }
    };
}

signal_ops!(StaticGraphSignal, |s: &StaticGraphSignal| s.steps);
signal_ops!(DynamicGraphSignal, |s: &DynamicGraphSignal| s.steps());

#[cfg(feature = "tch")]
fn batch_of(
    values: &[f32],
    steps: usize,
    nodes: usize,
    features: usize,
    spec: &WindowSpec,
    starts: &[usize],
    target_features: &[usize],
) -> Result<(tch::Tensor, tch::Tensor)> {
    spec.check()?;
    if let Some(&f) = target_features.iter().find(|&&f| f >= features) {
        return Err(DataError::Invalid(format!(
            "batch: target feature {f} of {features}"
        )));
    }
    if let Some(&s) = starts
        .iter()
        .find(|&&s| s + spec.input_len + spec.horizon > steps)
    {
        return Err(DataError::Invalid(format!(
            "batch: window at step {s} needs {} steps, the signal has {steps}",
            s + spec.input_len + spec.horizon
        )));
    }
    let row = nodes * features;
    let mut x = Vec::with_capacity(starts.len() * spec.input_len * row);
    let mut y = Vec::with_capacity(starts.len() * spec.horizon * nodes * target_features.len());
    for &s in starts {
        x.extend_from_slice(&values[s * row..(s + spec.input_len) * row]);
        for t in s + spec.input_len..s + spec.input_len + spec.horizon {
            for v in 0..nodes {
                y.extend(
                    target_features
                        .iter()
                        .map(|&f| values[t * row + v * features + f]),
                );
            }
        }
    }
    let (b, n) = (starts.len() as i64, nodes as i64);
    Ok((
        tch::Tensor::from_slice(&x).view([b, spec.input_len as i64, n, features as i64]),
        tch::Tensor::from_slice(&y).view([b, spec.horizon as i64, n, target_features.len() as i64]),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signal(steps: usize, nodes: usize, features: usize) -> StaticGraphSignal {
        // Value encodes (t, v, f) so every copy can be traced back.
        let values = (0..steps * nodes * features)
            .map(|i| {
                let (t, rest) = (i / (nodes * features), i % (nodes * features));
                (t * 100 + (rest / features) * 10 + rest % features) as f32
            })
            .collect();
        StaticGraphSignal::new(EdgeList::from_pairs(nodes, &[]).unwrap(), steps, features, values).unwrap()
    }

    #[test]
    fn lags_match_pgt() {
        let s = signal(10, 3, 2);
        let l = s.lags(4, 1).unwrap();
        assert_eq!((l.snapshots, l.nodes), (6, 3));
        // Snapshot 2, node 1: feature 1 at steps 2..6, target at step 6.
        assert_eq!(
            &l.features[(2 * 3 + 1) * 4..(2 * 3 + 2) * 4],
            &[211.0, 311.0, 411.0, 511.0]
        );
        assert_eq!(l.targets[2 * 3 + 1], 611.0);
        assert!(s.lags(10, 0).is_err() && s.lags(2, 2).is_err());
        assert_eq!(temporal_signal_split(517, 0.2), (0..103, 103..517));
        assert_eq!(temporal_signal_split(10, 0.9), (0..9, 9..10));
    }

    #[test]
    fn windows_and_split() {
        let spec = WindowSpec {
            input_len: 3,
            horizon: 2,
            stride: 2,
        };
        assert_eq!(spec.count(10), 3);
        assert_eq!(spec.starts(4..14), vec![4, 6, 8]);
        assert_eq!(spec.count(4), 0);
        let [a, b, c] = chronological_split(10, 0.7, 0.1).unwrap();
        assert_eq!((a, b, c), (0..7, 7..8, 8..10));
        assert!(chronological_split(10, 0.8, 0.3).is_err());
    }

    #[test]
    fn scalers_use_the_training_steps_only() {
        let mut s = signal(4, 1, 1);
        // Steps 0 and 1 hold 0 and 100: mean 50, std 50; steps 2 and 3 (200, 300) are not seen.
        let sc = s.fit_scaler(ScalerKind::Standard, 0..2).unwrap();
        assert_eq!((sc.offset[0], sc.scale[0]), (50.0, 50.0));
        let mm = s.fit_scaler(ScalerKind::MinMax, 0..2).unwrap();
        assert_eq!((mm.offset[0], mm.scale[0]), (0.0, 100.0));
        s.scale(&sc).unwrap();
        assert_eq!(s.values, vec![-1.0, 1.0, 3.0, 5.0]);
        let mut back = s.values.clone();
        sc.inverse_feature(0, &mut back);
        assert_eq!(back, vec![0.0, 100.0, 200.0, 300.0]);
        assert!(s.fit_scaler(ScalerKind::Standard, 3..5).is_err());
        let c = Scaler::fit(ScalerKind::Standard, &[2.0, 2.0], 1).unwrap();
        assert_eq!(c.scale, vec![1.0]);
    }

    #[cfg(feature = "tch")]
    #[test]
    fn batches_have_the_documented_shapes_and_values() {
        let s = signal(8, 3, 2);
        let spec = WindowSpec {
            input_len: 3,
            horizon: 2,
            stride: 1,
        };
        let (x, y) = s.batch(&spec, &[0, 3], &[1]).unwrap();
        assert_eq!(x.size(), vec![2, 3, 3, 2]);
        assert_eq!(y.size(), vec![2, 2, 3, 1]);
        // Window 1 (start 3): target 1 is step 3 + 3 + 1 = 7; input 2 is step 5.
        assert_eq!(y.double_value(&[1, 1, 2, 0]), 721.0);
        assert_eq!(x.double_value(&[1, 2, 0, 1]), 501.0);
        assert!(s.batch(&spec, &[4, 5], &[0]).is_err());
        assert!(s.batch(&spec, &[0], &[2]).is_err());
    }
}
