//! Link-prediction metrics on scores of positive and negative pairs.
//!
//! - [`roc_auc`] and [`average_precision`]: exact, ties handled as
//!   scikit-learn's `roc_auc_score` and `average_precision_score` do (tied
//!   scores form one threshold: the ROC curve goes diagonally across them,
//!   the precision-recall curve jumps over them in one step).
//! - [`hits_at_k`] and [`mrr`]: OGB's `linkproppred` evaluator (Hits@K
//!   against one shared set of negatives: a positive counts when it scores
//!   strictly above the K-th best negative; MRR against each positive's own
//!   negatives, ties ranked in the middle).
//!
//! `tests/link.rs` checks them against scikit-learn and OGB's
//! formulas on the fixture `benches/peers/link_metrics_fixture.py` writes.
//!
//! ```
//! use graph_data::link::metrics::{average_precision, roc_auc};
//! let (pos, neg) = ([0.9, 0.5, 0.5], [0.5, 0.1]);
//! // 6 pairs: 4 ordered correctly, 2 ties at 0.5 counted half.
//! assert!((roc_auc(&pos, &neg).unwrap() - 5.0 / 6.0).abs() < 1e-12);
//! assert!((average_precision(&pos, &neg).unwrap() - (1.0 / 3.0 + 2.0 / 3.0 * 3.0 / 4.0)).abs() < 1e-12);
//! ```

use crate::error::{DataError, Result};

fn check(what: &str, pos: &[f64], neg: &[f64]) -> Result<()> {
    if pos.is_empty() || neg.is_empty() {
        return Err(DataError::Invalid(format!(
            "{what}: needs positive and negative scores, got {} and {}",
            pos.len(),
            neg.len()
        )));
    }
    if let Some(x) = pos.iter().chain(neg).find(|x| x.is_nan()) {
        return Err(DataError::Invalid(format!("{what}: a score is {x}")));
    }
    Ok(())
}

/// Scores sorted descending, grouped by equal value: `(positives, negatives)` per group.
fn groups(pos: &[f64], neg: &[f64]) -> Vec<(usize, usize)> {
    let mut all: Vec<(f64, bool)> = pos
        .iter()
        .map(|&s| (s, true))
        .chain(neg.iter().map(|&s| (s, false)))
        .collect();
    all.sort_unstable_by(|a, b| b.0.total_cmp(&a.0));
    let mut out: Vec<(usize, usize)> = Vec::new();
    let mut last = None;
    for (s, p) in all {
        // -0.0 and 0.0 are one threshold, as numpy compares them.
        if last != Some(s) {
            out.push((0, 0));
            last = Some(s);
        }
        let g = out.last_mut().expect("pushed");
        if p {
            g.0 += 1;
        } else {
            g.1 += 1;
        }
    }
    out
}

/// Area under the ROC curve of `pos` (scores of positive pairs) against
/// `neg`: the probability that a positive outscores a negative, ties
/// counted one half (scikit-learn's `roc_auc_score`). Fails when either is
/// empty or a score is NaN.
pub fn roc_auc(pos: &[f64], neg: &[f64]) -> Result<f64> {
    check("roc_auc", pos, neg)?;
    let (mut tp, mut area) = (0f64, 0f64);
    for (p, n) in groups(pos, neg) {
        area += n as f64 * (tp + p as f64 / 2.0);
        tp += p as f64;
    }
    Ok(area / (pos.len() as f64 * neg.len() as f64))
}

/// Average precision of `pos` against `neg`: `sum_k (R_k - R_{k-1}) P_k`
/// over the distinct scores in decreasing order, as scikit-learn's
/// `average_precision_score` (no interpolation). Fails when either is
/// empty or a score is NaN.
pub fn average_precision(pos: &[f64], neg: &[f64]) -> Result<f64> {
    check("average_precision", pos, neg)?;
    let total = pos.len() as f64;
    let (mut tp, mut fp, mut ap) = (0usize, 0usize, 0f64);
    for (p, n) in groups(pos, neg) {
        tp += p;
        fp += n;
        if p > 0 {
            ap += (p as f64 / total) * (tp as f64 / (tp + fp) as f64);
        }
    }
    Ok(ap)
}

/// OGB's Hits@K: the fraction of `pos` scoring strictly above the K-th
/// highest of the shared negatives `neg`; 1 when there are fewer than `k`
/// negatives (OGB's convention). Fails on empty `pos`, `k == 0` or NaN.
pub fn hits_at_k(pos: &[f64], neg: &[f64], k: usize) -> Result<f64> {
    if pos.is_empty() || k == 0 {
        return Err(DataError::Invalid(format!(
            "hits_at_k: {} positives, k = {k}",
            pos.len()
        )));
    }
    if let Some(x) = pos.iter().chain(neg).find(|x| x.is_nan()) {
        return Err(DataError::Invalid(format!("hits_at_k: a score is {x}")));
    }
    if neg.len() < k {
        return Ok(1.0);
    }
    let mut sorted = neg.to_vec();
    let (_, kth, _) = sorted.select_nth_unstable_by(k - 1, |a, b| b.total_cmp(a));
    let kth = *kth;
    Ok(pos.iter().filter(|&&p| p > kth).count() as f64 / pos.len() as f64)
}

/// Ranks of each positive among its own negatives, OGB's way: `neg` is
/// row-major `[pos.len(), m]`; rank = 1 + (negatives above + negatives at
/// or above) / 2.
pub fn ranks(pos: &[f64], neg: &[f64]) -> Result<Vec<f64>> {
    if pos.is_empty() || !neg.len().is_multiple_of(pos.len()) {
        return Err(DataError::Invalid(format!(
            "ranks: {} negatives are not a whole number of rows for {} positives",
            neg.len(),
            pos.len()
        )));
    }
    if let Some(x) = pos.iter().chain(neg).find(|x| x.is_nan()) {
        return Err(DataError::Invalid(format!("ranks: a score is {x}")));
    }
    let m = neg.len() / pos.len();
    Ok(pos
        .iter()
        .enumerate()
        .map(|(i, &p)| {
            let row = &neg[i * m..(i + 1) * m];
            let above = row.iter().filter(|&&s| s > p).count();
            let at_or_above = row.iter().filter(|&&s| s >= p).count();
            0.5 * (above + at_or_above) as f64 + 1.0
        })
        .collect())
}

/// OGB's mean reciprocal rank: the mean of `1 / rank` over [`ranks`].
pub fn mrr(pos: &[f64], neg: &[f64]) -> Result<f64> {
    let r = ranks(pos, neg)?;
    Ok(r.iter().map(|x| 1.0 / x).sum::<f64>() / r.len() as f64)
}

/// OGB's per-positive Hits@K (`hits@K_list` averaged): the fraction of
/// positives whose [`ranks`] rank is at most `k`.
pub fn hits_at_k_ranked(pos: &[f64], neg: &[f64], k: usize) -> Result<f64> {
    let r = ranks(pos, neg)?;
    Ok(r.iter().filter(|&&x| x <= k as f64).count() as f64 / r.len() as f64)
}
