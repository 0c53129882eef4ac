//! Parameters in and out of safetensors files, under PyTorch's state-dict names.
//!
//! A model saved from PyTorch with
//! `safetensors.torch.save_file(lstm.state_dict(), "lstm.safetensors")` loads into a [`Recurrent`]
//! built under the root of a `VarStore` with the same sizes, and the other way round.
//!
//! [`Recurrent`]: crate::Recurrent

use std::path::Path;

use tch::nn::VarStore;

use crate::error::{Result, SeqError};

/// Writes every variable of `vs` to `path` (safetensors, whatever the extension).
pub fn save_safetensors(vs: &VarStore, path: impl AsRef<Path>) -> Result<()> {
    let vars = vs.variables();
    let mut named: Vec<(&String, &tch::Tensor)> = vars.iter().collect();
    named.sort_by(|a, b| a.0.cmp(b.0));
    tch::Tensor::write_safetensors(&named, path)?;
    Ok(())
}

/// Loads every variable of `vs` from the safetensors file at `path`, by name. A variable missing
/// from the file, or stored with another shape, is an error naming it; extra entries are ignored.
/// Values are converted to each variable's dtype.
pub fn load_safetensors(vs: &mut VarStore, path: impl AsRef<Path>) -> Result<()> {
    let file: std::collections::HashMap<String, tch::Tensor> = tch::Tensor::read_safetensors(path.as_ref())?
        .into_iter()
        .collect();
    let mut vars = vs.variables();
    for (name, var) in vars.iter_mut() {
        let src = file
            .get(name)
            .ok_or_else(|| SeqError::StateDict(format!("`{name}` is not in {}", path.as_ref().display())))?;
        if src.size() != var.size() {
            return Err(SeqError::StateDict(format!(
                "`{name}` has shape {:?} in the file, {:?} in the model",
                src.size(),
                var.size()
            )));
        }
        tch::no_grad(|| var.f_copy_(&src.to_kind(var.kind()).to_device(var.device())))?;
    }
    Ok(())
}
