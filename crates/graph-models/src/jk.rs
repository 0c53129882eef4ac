//! Jumping knowledge (Xu et al. 2018): the output sees every layer's
//! representation, so each node can pick its own receptive field instead of the
//! deepest, most smoothed one.

use std::borrow::Borrow;

use tch::{nn, nn::Module, nn::RNN, Tensor};

use crate::error::{check_positive, GnnError, InputError, Result};

/// How the layer outputs are combined.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JkMode {
    /// Concatenation, `[N, L * C]`.
    Cat,
    /// Element-wise maximum, `[N, C]`.
    Max,
    /// Attention over layers scored by a bidirectional LSTM, `[N, C]`.
    Lstm,
}

/// Jumping-knowledge aggregation (Xu et al. 2018) of the `L` layer outputs
/// `h^(1) .. h^(L)` of a stack: `h_v = [h_v^(1) || ... || h_v^(L)]` (cat),
/// `max_l h_v^(l)` (max), or `sum_l alpha_v^(l) h_v^(l)` with `alpha_v` a
/// softmax over layers of scores from a bidirectional LSTM (lstm).
///
/// Shapes: `L` tensors `[N, C]` -> `[N, L * C]` (cat) or `[N, C]`. For
/// [`JkMode::Lstm`], parameters as PyG's `JumpingKnowledge`: `lstm.*` (hidden
/// `L * C / 2`, bidirectional) and `att.{weight,bias}`.
#[derive(Debug)]
pub struct JumpingKnowledge {
    mode: JkMode,
    channels: i64,
    num_layers: usize,
    lstm: Option<(nn::LSTM, nn::Linear)>,
}

impl JumpingKnowledge {
    /// Combines `num_layers` outputs of `channels` each; panics with
    /// [`JumpingKnowledge::f_new`]'s message on sizes below 1.
    pub fn new<'a, P: Borrow<nn::Path<'a>>>(p: P, mode: JkMode, channels: i64, num_layers: usize) -> Self {
        Self::f_new(p, mode, channels, num_layers).unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`JumpingKnowledge::new`], or [`GnnError::Config`] for sizes below 1.
    pub fn f_new<'a, P: Borrow<nn::Path<'a>>>(
        p: P,
        mode: JkMode,
        channels: i64,
        num_layers: usize,
    ) -> Result<Self> {
        let p = p.borrow();
        check_positive("JumpingKnowledge", "channels", channels)?;
        check_positive("JumpingKnowledge", "num_layers", num_layers as i64)?;
        let lstm = (mode == JkMode::Lstm).then(|| {
            let hidden = (num_layers as i64 * channels) / 2;
            let cfg = nn::RNNConfig {
                bidirectional: true,
                batch_first: true,
                ..Default::default()
            };
            let lstm = nn::lstm(p / "lstm", channels, hidden.max(1), cfg);
            let att = nn::linear(p / "att", 2 * hidden.max(1), 1, Default::default());
            (lstm, att)
        });
        Ok(JumpingKnowledge {
            mode,
            channels,
            num_layers,
            lstm,
        })
    }

    /// Output channels.
    pub fn out_channels(&self) -> i64 {
        match self.mode {
            JkMode::Cat => self.channels * self.num_layers as i64,
            _ => self.channels,
        }
    }

    /// Combines `xs` (each `[N, C]`).
    pub fn f_forward(&self, xs: &[Tensor]) -> Result<Tensor> {
        if xs.len() != self.num_layers {
            return Err(GnnError::Config(format!(
                "JumpingKnowledge expects {} layer outputs (it was built for them), got {}",
                self.num_layers,
                xs.len()
            )));
        }
        let first = xs[0].size();
        if let Some(bad) = xs
            .iter()
            .find(|x| x.size() != first || first.len() != 2 || first[1] != self.channels)
        {
            let expected = format!("[num_nodes, {}] (all alike)", self.channels);
            return Err(InputError::shape("JumpingKnowledge", "layer outputs", expected, bad.size()).into());
        }
        Ok(match (self.mode, &self.lstm) {
            (JkMode::Cat, _) => Tensor::cat(xs, -1),
            (JkMode::Max, _) => Tensor::stack(xs, 0).amax([0].as_slice(), false),
            (_, Some((lstm, att))) => {
                let stacked = Tensor::stack(xs, 1); // [N, L, C]
                let (out, _) = lstm.seq(&stacked);
                let alpha = att.forward(&out).squeeze_dim(-1).softmax(-1, stacked.kind());
                (stacked * alpha.unsqueeze(-1)).sum_dim_intlist(1, false, None)
            }
            (JkMode::Lstm, None) => unreachable!("the LSTM is built with the mode"),
        })
    }
}
