//! `seqgraph temporal` (not implemented yet).

use anyhow::{bail, Result};

/// Runs the command with the words after its name.
pub fn run(_args: &[String]) -> Result<()> {
    bail!("`temporal` is not implemented yet")
}
