//! `ChebConv` (Defferrard et al. 2016): a K-order polynomial of the scaled
//! Laplacian, `X' = sum_k T_k(L~) X W_k + b`, `T_0 = X`, `T_1 = L~ X`,
//! `T_k = 2 L~ T_{k-1} - T_{k-2}`, with `L~ = 2 L / lambda_max - I`.

use tch::{nn, Tensor};

use crate::error::{GnnError, Result};
use crate::graph::{check_x, Graph};
use crate::layer::{lin_weight, linear, GnnLayer};
use crate::message_passing::spmm;

/// Chebyshev spectral convolution with the symmetric Laplacian. Parameters:
/// `lins.{k}.weight` `[out, in]` for `k < K`, `bias`. `x` may be `[N, F]` or
/// `[N, B, F]` (a batch of signals on the same graph).
#[derive(Debug)]
pub struct ChebConv {
    weights: Vec<Tensor>,
    bias: Option<Tensor>,
    in_channels: i64,
    lambda_max: f64,
}

impl ChebConv {
    /// A layer of order `k >= 1` (`k` weight matrices); PyG's default
    /// `lambda_max` is 2.
    pub fn new(p: &nn::Path, in_channels: i64, out_channels: i64, k: usize, bias: bool) -> Result<Self> {
        if k == 0 {
            return Err(GnnError::Shape(
                "ChebConv needs K >= 1 (K = 0 has no filter)".into(),
            ));
        }
        let weights = (0..k)
            .map(|i| lin_weight(&(p / "lins"), &i.to_string(), in_channels, out_channels))
            .collect();
        let bias = bias.then(|| p.zeros("bias", &[out_channels]));
        Ok(ChebConv {
            weights,
            bias,
            in_channels,
            lambda_max: 2.0,
        })
    }

    /// Uses another largest-eigenvalue estimate of the Laplacian.
    pub fn with_lambda_max(mut self, lambda_max: f64) -> Self {
        self.lambda_max = lambda_max;
        self
    }
}

impl GnnLayer for ChebConv {
    fn f_forward_t(&self, x: &Tensor, graph: &Graph, _train: bool) -> Result<Tensor> {
        check_x("ChebConv", x, graph, self.in_channels, self.weights[0].kind())?;
        let lap = graph.cheb_laplacian(self.lambda_max);
        let mut out = linear(x, &self.weights[0]);
        let (mut prev, mut cur) = (x.shallow_clone(), x.shallow_clone());
        for (k, w) in self.weights.iter().enumerate().skip(1) {
            let next = if k == 1 {
                spmm(&lap, x)
            } else {
                spmm(&lap, &cur) * 2.0 - &prev
            };
            out += linear(&next, w);
            (prev, cur) = (cur, next);
        }
        Ok(match &self.bias {
            Some(b) => out + b,
            None => out,
        })
    }
}
