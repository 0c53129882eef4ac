//! Summaries over seeds and epochs, one definition for every recipe.

/// Mean and sample standard deviation (`n - 1` in the denominator, as
/// `numpy.std(ddof=1)` and `torch.std`); the deviation is 0 for fewer than two
/// values and both are NaN for none.
///
/// ```
/// let (m, s) = train_utils::stats::mean_std(&[1.0, 2.0, 3.0]);
/// assert_eq!((m, s), (2.0, 1.0));
/// assert_eq!(train_utils::stats::mean_std(&[5.0]), (5.0, 0.0));
/// ```
pub fn mean_std(xs: &[f64]) -> (f64, f64) {
    if xs.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    if xs.len() < 2 {
        return (mean, 0.0);
    }
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, var.sqrt())
}

/// The median (the mean of the two middle values for an even count; NaN for none).
///
/// ```
/// assert_eq!(train_utils::stats::median(&[3.0, 1.0, 2.0]), 2.0);
/// assert_eq!(train_utils::stats::median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
/// ```
pub fn median(xs: &[f64]) -> f64 {
    if xs.is_empty() {
        return f64::NAN;
    }
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    if v.len() % 2 == 1 {
        v[m]
    } else {
        (v[m - 1] + v[m]) / 2.0
    }
}
