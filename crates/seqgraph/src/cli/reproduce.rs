//! `seqgraph reproduce` (not implemented yet).

use anyhow::{bail, Result};

/// Runs the command with the words after its name.
pub fn run(_args: &[String]) -> Result<()> {
    bail!("`reproduce` is not implemented yet")
}
