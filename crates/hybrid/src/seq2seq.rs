//! DCRNN as Li et al. (2018) train it: an encoder-decoder over the horizon
//! with scheduled sampling.
//!
//! The encoder (a diffusion-convolutional GRU) reads the `T` input steps; its
//! last state starts the decoder, another diffusion-convolutional GRU that
//! emits one step at a time, fed a zero "GO" value first and then its own
//! previous prediction or, while training, the true previous value with the
//! teacher-forcing probability `k / (k + exp(batches_seen / k))`
//! (inverse-sigmoid decay). One layer each (the paper stacks two).

use crate::error::{check_shape, HybridError, Result};
use crate::graph::Supports;
use crate::recurrent::{Encoder, GraphRecurrent};
use seq_models::recurrent::RnnState;
use std::borrow::Borrow;
use tch::{nn, Kind, Tensor};

/// Teacher forcing while training: the probability of feeding the decoder
/// the true previous value decays as an inverse sigmoid of the batches seen.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TeacherForcing {
    /// Batches seen so far in training.
    pub batches_seen: usize,
    /// The decay constant `k` (Li et al.'s `cl_decay_steps`, 2000).
    pub decay_steps: f64,
}

impl TeacherForcing {
    /// `k / (k + exp(batches_seen / k))`: 1 at the start, ~0.5 after
    /// `k ln k` batches, then towards 0.
    pub fn probability(&self) -> f64 {
        let k = self.decay_steps;
        k / (k + (self.batches_seen as f64 / k).exp())
    }
}

/// A uniform draw in `[0, 1)` from libtorch's generator (seeded by the run).
fn coin() -> f64 {
    Tensor::rand([1], (Kind::Double, tch::Device::Cpu)).double_value(&[0])
}

/// DCRNN's encoder-decoder: `(B, T, N, F)` to `(B, N, horizon)`.
#[derive(Debug)]
pub struct DcrnnSeq2Seq {
    encoder: GraphRecurrent,
    decoder: GraphRecurrent,
    projection: nn::Linear,
    horizon: i64,
}

impl DcrnnSeq2Seq {
    /// Encoder and decoder with `hidden` units and `k` diffusion terms; the
    /// decoder reads and emits one value per node and step.
    /// Panics with [`Self::f_new`]'s message on a configuration it refuses.
    pub fn new<'a, P: Borrow<nn::Path<'a>>>(
        path: P,
        in_features: i64,
        hidden: i64,
        k: i64,
        horizon: i64,
    ) -> Self {
        Self::f_new(path, in_features, hidden, k, horizon).unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`Self::new`], or the typed error for a configuration it refuses.
    pub fn f_new<'a, P: Borrow<nn::Path<'a>>>(
        path: P,
        in_features: i64,
        hidden: i64,
        k: i64,
        horizon: i64,
    ) -> Result<Self> {
        if horizon < 1 {
            return Err(HybridError::Config(format!(
                "DcrnnSeq2Seq: horizon must be positive, got {horizon}"
            )));
        }
        let p = path.borrow();
        Ok(DcrnnSeq2Seq {
            encoder: GraphRecurrent::f_dcrnn(p / "encoder", in_features, hidden, k)?,
            decoder: GraphRecurrent::f_dcrnn(p / "decoder", 1, hidden, k)?,
            projection: nn::linear(p / "projection", hidden, 1, Default::default()),
            horizon,
        })
    }

    /// Forecasts `(B, N, horizon)`. With `teacher = Some((y, forcing))` (training),
    /// each decoder step is fed the true previous value `y[:, :, t - 1]` with
    /// `forcing`'s probability (one draw per step for the whole batch);
    /// otherwise its own previous prediction.
    pub fn f_forward(
        &self,
        x: &Tensor,
        graph: &Supports,
        teacher: Option<(&Tensor, TeacherForcing)>,
    ) -> Result<Tensor> {
        let state = self.encoder.f_encode(x, graph)?;
        let size = state.size();
        let (b, n) = (size[0], size[1]);
        if let Some((y, _)) = teacher {
            check_shape(
                "DcrnnSeq2Seq",
                "targets y",
                y,
                &[Some(b), Some(n), Some(self.horizon)],
                &format!("[B={b}, N={n}, horizon={}]", self.horizon),
            )?;
        }
        // The future's graph is unknown: the decoder uses the last input step's.
        let steps = x.size()[1] as usize;
        let supports = graph.at(steps - 1);
        let mut h = RnnState { h: state, c: None };
        let mut input = Tensor::zeros([b, n, 1], (x.kind(), x.device()));
        let mut outputs = Vec::with_capacity(self.horizon as usize);
        for t in 0..self.horizon {
            h = self.decoder.f_step(&input, &h, supports)?;
            let out = h.h.apply(&self.projection);
            input = match teacher {
                Some((y, forcing)) if coin() < forcing.probability() => y.narrow(2, t, 1),
                _ => out.shallow_clone(),
            };
            outputs.push(out);
        }
        Ok(Tensor::cat(&outputs, 2))
    }
}
