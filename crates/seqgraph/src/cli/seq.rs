//! `seqgraph seq` (not implemented yet).

use anyhow::{bail, Result};

/// Runs the command with the words after its name.
pub fn run(_args: &[String]) -> Result<()> {
    bail!("`seq` is not implemented yet")
}
