//! Jumping knowledge (Xu et al. 2018): the output sees every layer's
//! representation, so each node can pick its own receptive field instead of the
//! deepest, most smoothed one.

use tch::{nn, nn::Module, nn::RNN, Tensor};

use crate::error::{GnnError, Result};

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

/// Jumping-knowledge aggregation. For [`JkMode::Lstm`], parameters as PyG:
/// `lstm.*` (hidden `L * C / 2`, bidirectional) and `att.{weight,bias}`.
#[derive(Debug)]
pub struct JumpingKnowledge {
    mode: JkMode,
    channels: i64,
    num_layers: usize,
    lstm: Option<(nn::LSTM, nn::Linear)>,
}

impl JumpingKnowledge {
    /// Combines `num_layers` outputs of `channels` each.
    pub fn new(p: &nn::Path, mode: JkMode, channels: i64, num_layers: usize) -> Self {
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
        JumpingKnowledge {
            mode,
            channels,
            num_layers,
            lstm,
        }
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
            return Err(GnnError::Shape(format!(
                "JumpingKnowledge expects {} layer outputs, got {}",
                self.num_layers,
                xs.len()
            )));
        }
        let first = xs[0].size();
        if let Some(bad) = xs
            .iter()
            .find(|x| x.size() != first || first.len() != 2 || first[1] != self.channels)
        {
            return Err(GnnError::Shape(format!(
                "JumpingKnowledge expects outputs of shape [num_nodes, {}], got {:?}",
                self.channels,
                bad.size()
            )));
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
