//! Experiments whose building blocks are still being written in the other crates: they report what
//! they wait for instead of running.

use super::Ctx;
use crate::report::{ExperimentReport, Status};
use anyhow::Result;

fn pending(report: &mut ExperimentReport, why: &str) -> Result<()> {
    report.status = Status::Pending(why.to_owned());
    Ok(())
}

/// `adding`: needs seq-models' adding-problem task.
pub fn adding(_: &Ctx, r: &mut ExperimentReport) -> Result<()> {
    pending(r, "waits for seq-models' adding task (learning curve per model)")
}

/// `sequence-classification`: needs seq-models' JapaneseVowels task.
pub fn sequence_classification(_: &Ctx, r: &mut ExperimentReport) -> Result<()> {
    pending(r, "waits for seq-models' JapaneseVowels task")
}

/// `depth`: needs graph-models' depth study.
pub fn depth(_: &Ctx, r: &mut ExperimentReport) -> Result<()> {
    pending(
        r,
        "waits for graph-models' depth study (accuracy and Dirichlet energy per depth)",
    )
}

/// `spatio-temporal`: needs hybrid's recipes.
pub fn spatio_temporal(_: &Ctx, r: &mut ExperimentReport) -> Result<()> {
    pending(r, "waits for hybrid's Chickenpox and Los-loop recipes")
}
