//! The terminal summary: one line per experiment, then its headline numbers.

use super::{fmt_num, Report};
use std::fmt::Write;

/// The summary table printed at the end of `seqgraph reproduce`.
pub fn summary_table(report: &Report) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{:<24} {:<8} {:>8}  headline numbers (seqgraph / published)",
        "experiment", "status", "seconds"
    );
    let _ = writeln!(s, "{}", "-".repeat(96));
    for e in &report.experiments {
        let _ = writeln!(s, "{:<24} {:<8} {:>8.1}", e.name, e.status.label(), e.seconds);
        for m in &e.metrics {
            let published = m
                .published
                .map(|p| format!(" / {}", fmt_num(p)))
                .unwrap_or_default();
            let check = match m.holds {
                Some(true) => "  ok",
                Some(false) => "  NOT MET",
                None => "",
            };
            let _ = writeln!(s, "    {:<64} {}{published}{check}", m.name, fmt_num(m.value));
        }
        match &e.status {
            super::Status::Done => {}
            super::Status::Partial(why) | super::Status::Pending(why) | super::Status::Failed(why) => {
                let _ = writeln!(s, "    ({why})");
            }
        }
    }
    if report.quick {
        let _ = writeln!(
            s,
            "Reduced run (--quick): numbers are indicative; run without --quick for full size."
        );
    }
    s
}
