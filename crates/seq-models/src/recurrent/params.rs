//! The parameters of one layer and direction, named and initialised as PyTorch's.

use tch::{nn, Tensor};

use super::CellKind;

/// The parameters of one layer and direction.
#[derive(Debug)]
pub(crate) struct DirParams {
    pub(crate) w_ih: Tensor,
    pub(crate) w_hh: Tensor,
    pub(crate) b_ih: Option<Tensor>,
    pub(crate) b_hh: Option<Tensor>,
}

impl DirParams {
    pub(crate) fn new(
        p: &nn::Path,
        kind: CellKind,
        input: i64,
        hidden: i64,
        bias: bool,
        suffix: &str,
    ) -> DirParams {
        // PyTorch initialises every weight and bias of its recurrent layers from U(-1/sqrt(H), 1/sqrt(H)).
        let k = 1.0 / (hidden as f64).sqrt();
        let init = nn::Init::Uniform { lo: -k, up: k };
        let g = kind.gates() * hidden;
        DirParams {
            w_ih: p.var(&format!("weight_ih{suffix}"), &[g, input], init),
            w_hh: p.var(&format!("weight_hh{suffix}"), &[g, hidden], init),
            b_ih: bias.then(|| p.var(&format!("bias_ih{suffix}"), &[g], init)),
            b_hh: bias.then(|| p.var(&format!("bias_hh{suffix}"), &[g], init)),
        }
    }

    pub(crate) fn flat(&self) -> Vec<Tensor> {
        let mut v = vec![self.w_ih.shallow_clone(), self.w_hh.shallow_clone()];
        v.extend(self.b_ih.iter().map(Tensor::shallow_clone));
        v.extend(self.b_hh.iter().map(Tensor::shallow_clone));
        v
    }
}
