//! The fused path: libtorch's own kernels (`lstm`, `gru`, `rnn_tanh`,
//! `rnn_relu` and their packed-sequence variants), as `torch.nn.LSTM` runs them.

use tch::Tensor;

use super::{CellKind, Recurrent, RnnOutput, RnnState};
use crate::error::Result;

impl Recurrent {
    pub(super) fn fused(
        &self,
        input: &Tensor,
        state: &RnnState,
        lengths: Option<&[i64]>,
        train: bool,
    ) -> Result<RnnOutput> {
        let c = &self.config;
        let (nl, bi, bf, p) = (c.num_layers, c.bidirectional, c.batch_first, c.dropout);
        let Some(lengths) = lengths else {
            let (output, state) = match self.kind {
                CellKind::Lstm => {
                    let hx = [
                        state.h.shallow_clone(),
                        state.c.as_ref().expect("validated").shallow_clone(),
                    ];
                    let (o, h, c) = input.f_lstm(&hx, &self.flat, c.bias, nl, p, train, bi, bf)?;
                    (o, RnnState { h, c: Some(c) })
                }
                CellKind::Gru => {
                    let (o, h) = input.f_gru(&state.h, &self.flat, c.bias, nl, p, train, bi, bf)?;
                    (o, RnnState { h, c: None })
                }
                CellKind::RnnTanh => {
                    let (o, h) = input.f_rnn_tanh(&state.h, &self.flat, c.bias, nl, p, train, bi, bf)?;
                    (o, RnnState { h, c: None })
                }
                CellKind::RnnRelu => {
                    let (o, h) = input.f_rnn_relu(&state.h, &self.flat, c.bias, nl, p, train, bi, bf)?;
                    (o, RnnState { h, c: None })
                }
            };
            return Ok(RnnOutput { output, state });
        };
        // Packed sequences must be sorted by decreasing length: sort, run, and undo the sort.
        let total = self.time_len(input);
        let mut order: Vec<i64> = (0..lengths.len() as i64).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(lengths[i as usize]));
        let mut inverse = vec![0i64; order.len()];
        for (pos, &i) in order.iter().enumerate() {
            inverse[i as usize] = pos as i64;
        }
        let order_t = Tensor::from_slice(&order).to_device(self.device);
        let inverse_t = Tensor::from_slice(&inverse).to_device(self.device);
        let sorted_lengths: Vec<i64> = order.iter().map(|&i| lengths[i as usize]).collect();
        let batch_dim = if bf { 0 } else { 1 };
        let x = input.f_index_select(batch_dim, &order_t)?;
        let h0 = state.h.f_index_select(1, &order_t)?;
        let (data, batch_sizes) =
            x.f_internal_pack_padded_sequence(&Tensor::from_slice(&sorted_lengths), bf)?;
        let (data, h, cell) = match self.kind {
            CellKind::Lstm => {
                let c0 = state.c.as_ref().expect("validated").f_index_select(1, &order_t)?;
                let (o, h, cc) = Tensor::f_lstm_data(
                    &data,
                    &batch_sizes,
                    &[h0, c0],
                    &self.flat,
                    c.bias,
                    nl,
                    p,
                    train,
                    bi,
                )?;
                (o, h, Some(cc))
            }
            CellKind::Gru => {
                let (o, h) =
                    Tensor::f_gru_data(&data, &batch_sizes, &h0, &self.flat, c.bias, nl, p, train, bi)?;
                (o, h, None)
            }
            CellKind::RnnTanh => {
                let (o, h) =
                    Tensor::f_rnn_tanh_data(&data, &batch_sizes, &h0, &self.flat, c.bias, nl, p, train, bi)?;
                (o, h, None)
            }
            CellKind::RnnRelu => {
                let (o, h) =
                    Tensor::f_rnn_relu_data(&data, &batch_sizes, &h0, &self.flat, c.bias, nl, p, train, bi)?;
                (o, h, None)
            }
        };
        let (output, _) = Tensor::f_internal_pad_packed_sequence(&data, &batch_sizes, bf, 0.0, total)?;
        let output = output.f_index_select(batch_dim, &inverse_t)?;
        let h = h.f_index_select(1, &inverse_t)?;
        let c = cell.map(|c| c.f_index_select(1, &inverse_t)).transpose()?;
        Ok(RnnOutput {
            output,
            state: RnnState { h, c },
        })
    }
}
