//! Progress bars for long steps (drawn on stderr, hidden when stderr is not a terminal).

use indicatif::{ProgressBar, ProgressStyle};

/// A progress bar for `total` units of one step of an experiment.
#[derive(Debug, Clone)]
pub struct Progress(ProgressBar);

impl Progress {
    /// Starts a bar labelled `label` (e.g. `gradients: tanh rho=0.9`).
    pub fn new(total: u64, label: &str) -> Self {
        let bar = ProgressBar::new(total);
        let style = ProgressStyle::with_template("{prefix:>28} [{bar:30}] {pos}/{len} {msg} ({elapsed})")
            .expect("valid template")
            .progress_chars("=> ");
        bar.set_style(style);
        bar.set_prefix(label.to_owned());
        Progress(bar)
    }

    /// A bar that draws nothing (tests, `--json`).
    pub fn hidden(total: u64) -> Self {
        let bar = ProgressBar::hidden();
        bar.set_length(total);
        Progress(bar)
    }

    /// Advances by one unit.
    pub fn inc(&self) {
        self.0.inc(1);
    }

    /// Advances by `n` units.
    pub fn inc_by(&self, n: u64) {
        self.0.inc(n);
    }

    /// Sets the trailing message (e.g. the current loss).
    pub fn message(&self, msg: impl Into<String>) {
        self.0.set_message(msg.into());
    }

    /// Finishes and removes the bar.
    pub fn finish(&self) {
        self.0.finish_and_clear();
    }
}
