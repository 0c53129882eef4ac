//! `index.md`: each claim, its figures, and its numbers beside the published ones.

use super::{fmt_num, ExperimentReport, Report, Status, Table};
use std::fmt::Write;

/// The whole report as Markdown (figures referenced as `figures/<id>.svg`).
pub fn render(report: &Report) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "# seqgraph: reproduction report\n");
    let _ = writeln!(
        md,
        "RNNs and GNNs are one machine (a state passed along a chain, messages passed along edges), \
         with one disease (vanishing or exploding gradients, over-smoothing) and the same cures \
         (gates, residual connections, jumping knowledge, attention). Each section below states a \
         claim and shows what seqgraph measured.\n"
    );
    if report.quick {
        let _ = writeln!(
            md,
            "> **Reduced run (`--quick`)**: fewer seeds, epochs and depths than the full run. \
             Run `cargo xtask reproduce` for the full-size numbers.\n"
        );
    }
    let _ = writeln!(
        md,
        "seqgraph {}, {} libtorch thread(s), {:.0} s in all. Data: `results.json`.\n",
        report.version, report.threads, report.seconds
    );
    let _ = writeln!(
        md,
        "| experiment | status | seconds | claim |\n|---|---|---:|---|"
    );
    for e in &report.experiments {
        let _ = writeln!(
            md,
            "| [{}](#{}) | {} | {:.1} | {} |",
            e.name,
            e.name,
            e.status.label(),
            e.seconds,
            cell(&e.claim)
        );
    }
    for e in &report.experiments {
        experiment(&mut md, e);
    }
    md
}

/// Escapes the pipes of a table cell.
fn cell(s: &str) -> String {
    s.replace('|', "\\|")
}

fn experiment(md: &mut String, e: &ExperimentReport) {
    let _ = writeln!(md, "\n<a id=\"{}\"></a>\n## {}: {}\n", e.name, e.name, e.title);
    let _ = writeln!(md, "**Claim.** {}\n", e.claim);
    match &e.status {
        Status::Done => {}
        Status::Partial(why) => {
            let _ = writeln!(md, "**Partial.** {why}\n");
        }
        Status::Pending(why) => {
            let _ = writeln!(md, "**Not run yet.** {why}\n");
        }
        Status::Failed(why) => {
            let _ = writeln!(md, "**Failed.** `{why}`\n");
        }
    }
    if e.reduced {
        let _ = writeln!(md, "_Reduced size (`--quick`)._\n");
    }
    for f in &e.figures {
        let _ = writeln!(md, "![{}](figures/{}.svg)\n", f.title, f.id);
    }
    if !e.metrics.is_empty() {
        let _ = writeln!(
            md,
            "| measure | seqgraph | published | source | expected | holds |"
        );
        let _ = writeln!(md, "|---|---:|---:|---|---|---|");
        for m in &e.metrics {
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {} | {} |",
                cell(&m.name),
                fmt_num(m.value),
                m.published.map(fmt_num).unwrap_or_default(),
                cell(m.source.as_deref().unwrap_or("")),
                cell(m.expected.as_deref().unwrap_or("")),
                match m.holds {
                    Some(true) => "yes",
                    Some(false) => "**no**",
                    None => "",
                }
            );
        }
        md.push('\n');
    }
    for t in &e.tables {
        table(md, t);
    }
    for n in &e.notes {
        let _ = writeln!(md, "- {n}");
    }
}

fn table(md: &mut String, t: &Table) {
    let _ = writeln!(md, "**{}**\n", t.title);
    let row = |cells: &[String]| cells.iter().map(|c| cell(c)).collect::<Vec<_>>().join(" | ");
    let _ = writeln!(md, "| {} |", row(&t.columns));
    let _ = writeln!(md, "|{}", "---|".repeat(t.columns.len()));
    for r in &t.rows {
        let _ = writeln!(md, "| {} |", row(r));
    }
    md.push('\n');
}
