//! Time series read as graphs: the nodes are the time points `0..n` of a
//! series (or of a multichannel window), each carrying that step's values and
//! a position encoding of its step.
//!
//! - [`lag_graph`]: the causal lag graph, an edge `t - k -> t` for every lag
//!   `k` of a set (`1..=p`, or dilated `1, 2, 4, ...` from [`dilated_lags`]).
//! - [`horizontal_visibility`] (Luque et al. 2009): `i < j` see each other when
//!   every value strictly between them lies strictly below both,
//!   `x_m < min(x_i, x_j)` for all `i < m < j`. Built in O(n) with a stack.
//! - [`natural_visibility`] (Lacasa et al. 2008): `i < j` see each other when
//!   every point strictly between them lies strictly below the segment joining
//!   them, `x_m < x_j + (x_i - x_j) (j - m) / (j - i)` for all `i < m < j`.
//!   Built by divide and conquer (Lan et al. 2015): the maximum of an
//!   interval sees, by a scan of slopes each way, every point of the interval
//!   it can see, and no pair across it sees the other; then both sides are
//!   split in turn. O(n log n) on average, O(n^2) at worst (a monotone
//!   series, whose maximum is always at an end).
//! - [`horizontal_visibility_naive`], [`natural_visibility_naive`]: the O(n^2)
//!   definitions (each pair, with the running extreme of the points between),
//!   kept as references for tests and benchmarks.
//! - [`multiplex_visibility`]: a multichannel series as the union of its
//!   channels' visibility graphs (multiplex visibility, Lacasa et al. 2015),
//!   each edge weighted by the number of channels in which its ends see each
//!   other.
//! - [`series_graph`]: any of them as a [`GraphSample`] with node features.
//!
//! **Ties and collinear points.** Both criteria use strict inequalities: a
//! point between `i` and `j` that is level with the horizontal (HVG), or on
//! the segment (NVG), blocks the view. Adjacent points always see each other.
//! So a constant series and a straight line are paths, for both graphs. The
//! fast builders and the naive definitions decide every pair by the same
//! comparisons, `(x_m - x_i) (j - i) < (x_j - x_i) (m - i)` in `f64` for the
//! natural graph, so they agree exactly whenever that arithmetic is exact (for
//! instance on integer-valued series); on other values the `f64` rounding may
//! decide triples collinear to within an ulp.
//!
//! **Orientation.** The builders return each visible pair once, as the
//! directed edge past -> future (`src < dst`), in an order that is
//! deterministic but unspecified (compare edge sets, not sequences).
//! [`Orientation::Undirected`] adds every reversed edge.
//!
//! ```
//! use graph_data::series_graph::{horizontal_visibility, natural_visibility, lag_graph, Orientation};
//! let x = [3.0, 1.0, 2.0, 2.0, 4.0];
//! let sorted = |e: graph_data::EdgeList| { let mut p: Vec<_> = e.pairs().collect(); p.sort(); p };
//! // The level 2.0 at step 3 hides 4 from 2 (strict inequality), and 3 from 0.
//! assert_eq!(sorted(horizontal_visibility(&x).unwrap()), [(0, 1), (0, 2), (0, 4), (1, 2), (2, 3), (3, 4)]);
//! // (1, 4): the point (2, 2.0) lies on the segment, so it blocks.
//! assert_eq!(
//!     sorted(natural_visibility(&x).unwrap()),
//!     [(0, 1), (0, 2), (0, 3), (0, 4), (1, 2), (2, 3), (2, 4), (3, 4)]
//! );
//! let lags = lag_graph(4, &[1, 2], Orientation::Directed).unwrap();
//! assert_eq!(lags.len(), 3 + 2);
//! ```

use crate::batch::GraphSample;
use crate::edges::EdgeList;
use crate::error::{DataError, Result};

/// Edge direction of a series graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Orientation {
    /// Past -> future only (`src < dst`): causal message passing.
    #[default]
    Directed,
    /// Both directions.
    Undirected,
}

/// Which graph of a series.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SeriesGraphKind {
    /// The causal lag graph with these lags (each at least 1).
    Lag(Vec<usize>),
    /// The natural visibility graph (multiplex for several channels).
    NaturalVisibility,
    /// The horizontal visibility graph (multiplex for several channels).
    HorizontalVisibility,
}

/// How each node's step is encoded beside its values.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum PositionEncoding {
    /// No encoding: the values only.
    None,
    /// One feature, `t / (n - 1)` (0 for a single step): where in the series.
    #[default]
    Relative,
    /// `dims` features (even), `sin(t / 10000^(2i / dims))`,
    /// `cos(t / 10000^(2i / dims))` for `i < dims / 2` (Vaswani et al. 2017):
    /// the absolute step.
    Sinusoidal {
        /// Number of features (even, at least 2).
        dims: usize,
    },
}

impl PositionEncoding {
    /// Number of features the encoding adds.
    pub fn width(self) -> usize {
        match self {
            PositionEncoding::None => 0,
            PositionEncoding::Relative => 1,
            PositionEncoding::Sinusoidal { dims } => dims,
        }
    }

    fn check(self) -> Result<()> {
        match self {
            PositionEncoding::Sinusoidal { dims } if dims == 0 || dims % 2 == 1 => Err(DataError::Invalid(
                format!("sinusoidal position encoding needs an even number of dims >= 2, got {dims}"),
            )),
            _ => Ok(()),
        }
    }

    /// Writes the encoding of step `t` of `n` into `out` (`width()` long).
    fn write(self, t: usize, n: usize, out: &mut [f32]) {
        match self {
            PositionEncoding::None => {}
            PositionEncoding::Relative => out[0] = if n > 1 { t as f32 / (n - 1) as f32 } else { 0.0 },
            PositionEncoding::Sinusoidal { dims } => {
                for i in 0..dims / 2 {
                    let angle = t as f64 / 10000f64.powf(2.0 * i as f64 / dims as f64);
                    out[2 * i] = angle.sin() as f32;
                    out[2 * i + 1] = angle.cos() as f32;
                }
            }
        }
    }
}

/// The lags `1, 2, 4, ...` up to `max_lag` (dilated, as WaveNet's receptive field).
pub fn dilated_lags(max_lag: usize) -> Vec<usize> {
    std::iter::successors(Some(1usize), |&k| k.checked_mul(2))
        .take_while(|&k| k <= max_lag)
        .collect()
}

fn check_len(n: usize) -> Result<()> {
    if n > u32::MAX as usize {
        return Err(DataError::Invalid(format!(
            "series graph: {n} steps do not fit u32 node ids"
        )));
    }
    Ok(())
}

fn check_finite(values: &[f32]) -> Result<()> {
    check_len(values.len())?;
    match values.iter().position(|v| !v.is_finite()) {
        Some(i) => Err(DataError::Invalid(format!(
            "series graph: value at step {i} is {}; visibility needs finite values",
            values[i]
        ))),
        None => Ok(()),
    }
}

fn orient(mut e: EdgeList, orientation: Orientation) -> EdgeList {
    if orientation == Orientation::Undirected {
        let m = e.src.len();
        e.src.extend_from_within(..m);
        e.dst.extend_from_within(..m);
        let (a, b) = (e.src.split_at_mut(m).1, e.dst.split_at_mut(m).1);
        a.swap_with_slice(b);
        if let Some(w) = &mut e.weight {
            w.extend_from_within(..m);
        }
    }
    e
}

fn unchecked(num_nodes: usize, src: Vec<u32>, dst: Vec<u32>) -> EdgeList {
    EdgeList {
        num_nodes,
        src,
        dst,
        weight: None,
    }
}

/// The causal lag graph of `n` steps: `t - k -> t` for each lag `k` in
/// `lags` and each `t >= k`, lag by lag in the order given, targets ascending
/// within a lag. `DataError::Invalid` for a lag of 0, a repeated lag, or more
/// steps than `u32` ids hold.
pub fn lag_graph(n: usize, lags: &[usize], orientation: Orientation) -> Result<EdgeList> {
    check_len(n)?;
    for (i, &k) in lags.iter().enumerate() {
        if k == 0 {
            return Err(DataError::Invalid(
                "lag graph: lag 0 would be a self loop (add self loops in the model)".into(),
            ));
        }
        if lags[..i].contains(&k) {
            return Err(DataError::Invalid(format!("lag graph: lag {k} given twice")));
        }
    }
    let m: usize = lags.iter().map(|&k| n.saturating_sub(k)).sum();
    let (mut src, mut dst) = (Vec::with_capacity(m), Vec::with_capacity(m));
    for &k in lags {
        for t in k..n {
            src.push((t - k) as u32);
            dst.push(t as u32);
        }
    }
    Ok(orient(unchecked(n, src, dst), orientation))
}

/// The horizontal visibility graph in O(n) with a stack, each visible pair
/// once as `i -> j`, `i < j` (see the module doc for the strict convention).
/// `DataError::Invalid` for a non-finite value.
///
/// The stack holds the points still visible from the future, their values
/// strictly decreasing from bottom to top. A new point `j` sees every point it
/// pops (lower than it, with only lower points between), then the first point
/// not lower than it, which it also pops when level with it (a level point
/// blocks the view past it).
pub fn horizontal_visibility(values: &[f32]) -> Result<EdgeList> {
    check_finite(values)?;
    let n = values.len();
    let (mut src, mut dst) = (Vec::with_capacity(2 * n), Vec::with_capacity(2 * n));
    let mut stack: Vec<u32> = Vec::new();
    for (j, &xj) in values.iter().enumerate() {
        while let Some(&top) = stack.last() {
            if values[top as usize] < xj {
                src.push(top);
                dst.push(j as u32);
                stack.pop();
            } else {
                src.push(top);
                dst.push(j as u32);
                if values[top as usize] == xj {
                    stack.pop();
                }
                break;
            }
        }
        stack.push(j as u32);
    }
    Ok(unchecked(n, src, dst))
}

/// The horizontal visibility graph by its definition in O(n^2): every pair
/// `(i, j)`, visible when the running maximum of the values between is below
/// both ends (no early exit: each of the `n (n - 1) / 2` pairs is decided).
pub fn horizontal_visibility_naive(values: &[f32]) -> Result<EdgeList> {
    check_finite(values)?;
    let n = values.len();
    let (mut src, mut dst) = (Vec::new(), Vec::new());
    for i in 0..n {
        let mut between = f32::NEG_INFINITY;
        for j in i + 1..n {
            if between < values[i].min(values[j]) {
                src.push(i as u32);
                dst.push(j as u32);
            }
            between = between.max(values[j]);
        }
    }
    Ok(unchecked(n, src, dst))
}

/// Does the point `m` lie strictly below the segment from `i` to `j` (`i < m < j`)?
#[inline]
fn below(x: &[f32], i: usize, m: usize, j: usize) -> bool {
    let (xi, xm, xj) = (x[i] as f64, x[m] as f64, x[j] as f64);
    (xm - xi) * ((j - i) as f64) < (xj - xi) * ((m - i) as f64)
}

/// The natural visibility graph by its definition in O(n^2): for each `i`,
/// scanning `j = i + 1, ...`, `(i, j)` is visible when `j` lies above the
/// segment from `i` to the steepest point seen so far (equivalently, every
/// point between lies below the segment `i`-`j`).
pub fn natural_visibility_naive(values: &[f32]) -> Result<EdgeList> {
    check_finite(values)?;
    let n = values.len();
    let (mut src, mut dst) = (Vec::new(), Vec::new());
    for i in 0..n {
        let mut steepest: Option<usize> = None;
        for j in i + 1..n {
            if steepest.is_none_or(|m| below(values, i, m, j)) {
                src.push(i as u32);
                dst.push(j as u32);
                steepest = Some(j);
            }
        }
    }
    Ok(unchecked(n, src, dst))
}

/// The natural visibility graph by divide and conquer (Lan et al. 2015),
/// each visible pair once as `i -> j`, `i < j`. `DataError::Invalid` for a
/// non-finite value. The intervals wait on an explicit stack, so a monotone
/// series of 10^7 points does not overflow the call stack (it takes O(n^2)
/// time though: its maximum is always at an end).
pub fn natural_visibility(values: &[f32]) -> Result<EdgeList> {
    check_finite(values)?;
    let n = values.len();
    let x = values;
    let (mut src, mut dst) = (Vec::with_capacity(3 * n), Vec::with_capacity(3 * n));
    let mut todo: Vec<(usize, usize)> = Vec::new();
    if n > 1 {
        todo.push((0, n));
    }
    while let Some((lo, hi)) = todo.pop() {
        // The first maximum of x[lo..hi]: no pair across it sees the other.
        let mut k = lo;
        for m in lo + 1..hi {
            if x[m] > x[k] {
                k = m;
            }
        }
        // Left of k: i sees k when it lies above the segment from k to the
        // steepest point between (the same comparison as `below(i, m, k)`).
        let mut steepest: Option<usize> = None;
        for i in (lo..k).rev() {
            if steepest.is_none_or(|m| below(x, i, m, k)) {
                src.push(i as u32);
                dst.push(k as u32);
                steepest = Some(i);
            }
        }
        let mut steepest: Option<usize> = None;
        for j in k + 1..hi {
            if steepest.is_none_or(|m| below(x, k, m, j)) {
                src.push(k as u32);
                dst.push(j as u32);
                steepest = Some(j);
            }
        }
        if k > lo + 1 {
            todo.push((lo, k));
        }
        if hi > k + 2 {
            todo.push((k + 1, hi));
        }
    }
    Ok(unchecked(n, src, dst))
}

/// A visibility graph of a series in either orientation: `kind` must be
/// [`SeriesGraphKind::NaturalVisibility`] or
/// [`SeriesGraphKind::HorizontalVisibility`] (a lag graph is
/// [`lag_graph`]'s, and has no values to see).
pub fn visibility(values: &[f32], kind: &SeriesGraphKind, orientation: Orientation) -> Result<EdgeList> {
    let e = match kind {
        SeriesGraphKind::NaturalVisibility => natural_visibility(values)?,
        SeriesGraphKind::HorizontalVisibility => horizontal_visibility(values)?,
        SeriesGraphKind::Lag(_) => {
            return Err(DataError::Invalid(
                "visibility: a lag graph is not a visibility graph (use lag_graph)".into(),
            ))
        }
    };
    Ok(orient(e, orientation))
}

/// The multiplex visibility graph of a `T x C` row-major series (Lacasa et
/// al. 2015): the union of the `C` channels' visibility graphs, each pair
/// once (`i -> j`, `i < j`, sorted by `(i, j)`), weighted by the number of
/// channels in which `i` and `j` see each other (1 to `C`).
/// `DataError::Invalid` for no channels, a length not a multiple of `C`, a
/// non-finite value, or a lag-graph `kind`.
pub fn multiplex_visibility(
    values: &[f32],
    channels: usize,
    kind: &SeriesGraphKind,
    orientation: Orientation,
) -> Result<EdgeList> {
    if channels == 0 || !values.len().is_multiple_of(channels) {
        return Err(DataError::Invalid(format!(
            "multiplex visibility: {} values are not a whole number of steps of {channels} channels",
            values.len()
        )));
    }
    let n = values.len() / channels;
    check_len(n)?;
    let mut keys: Vec<u64> = Vec::new();
    let mut channel = vec![0f32; n];
    for c in 0..channels {
        for (t, v) in channel.iter_mut().enumerate() {
            *v = values[t * channels + c];
        }
        let e = visibility(&channel, kind, Orientation::Directed)?;
        keys.extend(e.pairs().map(|(s, d)| ((s as u64) << 32) | d as u64));
    }
    keys.sort_unstable();
    let (mut src, mut dst, mut weight) = (Vec::new(), Vec::new(), Vec::new());
    for run in keys.chunk_by(|a, b| a == b) {
        src.push((run[0] >> 32) as u32);
        dst.push(run[0] as u32);
        weight.push(run.len() as f32);
    }
    let mut e = unchecked(n, src, dst);
    e.weight = Some(weight);
    Ok(orient(e, orientation))
}

/// Node features of a `T x C` row-major series: row `t` is the `C` values of
/// step `t`, then the position encoding of `t` (`T x (C + width)`, row-major).
pub fn node_features(values: &[f32], channels: usize, encoding: PositionEncoding) -> Result<Vec<f32>> {
    encoding.check()?;
    if channels == 0 || !values.len().is_multiple_of(channels) {
        return Err(DataError::Invalid(format!(
            "node features: {} values are not a whole number of steps of {channels} channels",
            values.len()
        )));
    }
    let n = values.len() / channels;
    let w = channels + encoding.width();
    let mut x = vec![0f32; n * w];
    for t in 0..n {
        let row = &mut x[t * w..(t + 1) * w];
        row[..channels].copy_from_slice(&values[t * channels..(t + 1) * channels]);
        encoding.write(t, n, &mut row[channels..]);
    }
    Ok(x)
}

/// A `T x C` row-major series as a [`GraphSample`] with label `y`: nodes are
/// the steps with [`node_features`], edges those of `kind` in `orientation`
/// (multiplex visibility over the channels; for several channels the edge
/// weights, the number of channels that see each other, are the one edge
/// feature; a lag graph and a one-channel visibility graph have none).
pub fn series_graph(
    values: &[f32],
    channels: usize,
    kind: &SeriesGraphKind,
    orientation: Orientation,
    encoding: PositionEncoding,
    y: i64,
) -> Result<GraphSample> {
    let x = node_features(values, channels, encoding)?;
    let n = values.len() / channels;
    let e = match kind {
        SeriesGraphKind::Lag(lags) => lag_graph(n, lags, orientation)?,
        _ if channels == 1 => visibility(values, kind, orientation)?,
        _ => multiplex_visibility(values, channels, kind, orientation)?,
    };
    let (edge_attr, num_edge_features) = match e.weight {
        Some(w) => (w, 1),
        None => (Vec::new(), 0),
    };
    let g = GraphSample {
        num_nodes: n,
        src: e.src.iter().map(|&s| s as i64).collect(),
        dst: e.dst.iter().map(|&d| d as i64).collect(),
        x,
        num_node_features: channels + encoding.width(),
        edge_attr,
        num_edge_features,
        y,
        node_y: Vec::new(),
    };
    g.check()?;
    Ok(g)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sorted(e: &EdgeList) -> Vec<(u32, u32)> {
        let mut p: Vec<_> = e.pairs().collect();
        p.sort_unstable();
        p
    }

    #[test]
    fn small_example() {
        let x = [3.0, 1.0, 2.0, 2.0, 4.0];
        let h = horizontal_visibility(&x).unwrap();
        assert_eq!(sorted(&h), sorted(&horizontal_visibility_naive(&x).unwrap()));
        let nv = natural_visibility(&x).unwrap();
        assert_eq!(sorted(&nv), sorted(&natural_visibility_naive(&x).unwrap()));
    }
}
