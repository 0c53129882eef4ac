//! `seqgraph train text` (not implemented yet).

use anyhow::{bail, Result};

/// Runs the command with the words after its name.
pub fn run(_args: &[String]) -> Result<()> {
    bail!("`train text` is not implemented yet")
}
