//! Gradients through time as experiments: how `||dL/dS_k||` falls or grows
//! with the distance `T - k` for a cell (the product `prod tanh' * W_s`), and
//! what clipping does to training in the exploding regime. `reproduce
//! gradients` reports them; [`crate::diagnostics`] has the per-layer tools.

use tch::{nn, Device, Kind, Tensor};

use crate::error::Result;
use crate::recurrent::{CellKind, RecurrentCell, RnnState};

/// What [`gradient_trace`] measures.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TraceConfig {
    /// The cell.
    pub cell: CellKind,
    /// Spectral radius of the tanh RNN's recurrent weight (`rho` times a random
    /// orthogonal matrix, no bias); unused by gated cells.
    pub rho: f64,
    /// The LSTM's forget-gate or the GRU's update-gate bias (split between
    /// `bias_ih` and `bias_hh`); other parameters as PyTorch initialises them.
    pub gate_bias: f64,
    /// Steps `T`.
    pub steps: usize,
    /// Input features.
    pub input: i64,
    /// Hidden units.
    pub hidden: i64,
    /// Sequences.
    pub batch: i64,
    /// Standard deviation of the Gaussian inputs: small, so that the tanh
    /// units work near their linear range and rho decides between vanishing
    /// and exploding.
    pub input_std: f64,
    /// Seed of the parameters and inputs.
    pub seed: u64,
}

impl Default for TraceConfig {
    /// A tanh RNN with rho = 1 at T = 100, input 8, hidden 64, batch 32, inputs of std 0.1.
    fn default() -> Self {
        TraceConfig {
            cell: CellKind::RnnTanh,
            rho: 1.0,
            gate_bias: 0.0,
            steps: 100,
            input: 8,
            hidden: 64,
            batch: 32,
            input_std: 0.1,
            seed: 0,
        }
    }
}

/// What one gradient measurement gives.
#[derive(Debug, Clone, PartialEq)]
pub struct Trace {
    /// `||dL/dS_k||` for k = T, T-1, ..., 1 (index = distance T-k); for an
    /// LSTM, `S_k = (h_k, c_k)`.
    pub norms: Vec<f64>,
    /// Mean of `tanh'(a) = 1 - h^2` over all steps, units and batch (tanh RNN only; NaN otherwise).
    pub mean_tanh_prime: f64,
}

/// Scaled orthogonal matrix `rho * Q` (Q from the QR decomposition of a Gaussian matrix).
fn scaled_orthogonal(n: i64, rho: f64) -> Tensor {
    let (q, r) = Tensor::linalg_qr(&Tensor::randn([n, n], (Kind::Float, Device::Cpu)), "reduced");
    // Fix the signs so Q is Haar-distributed.
    q * r.diagonal(0, 0, 1).sign().unsqueeze(0) * rho
}

/// The cell of `c`, its parameters set as [`TraceConfig`] says.
fn cell(vs: &nn::VarStore, c: &TraceConfig) -> Result<RecurrentCell> {
    let cell = RecurrentCell::f_new(vs.root(), c.cell, c.input, c.hidden)?;
    tch::no_grad(|| {
        let vars = vs.variables();
        // Row block of the gate whose bias is set: LSTM gates i, f, g, o; GRU gates r, z, n.
        let block = match c.cell {
            CellKind::RnnTanh | CellKind::RnnRelu => {
                vars["weight_hh"]
                    .shallow_clone()
                    .copy_(&scaled_orthogonal(c.hidden, c.rho));
                for name in ["bias_ih", "bias_hh"] {
                    let _ = vars[name].shallow_clone().zero_();
                }
                return;
            }
            CellKind::Lstm | CellKind::Gru => 1,
        };
        for name in ["bias_ih", "bias_hh"] {
            let _ = vars[name]
                .narrow(0, block * c.hidden, c.hidden)
                .fill_(c.gate_bias / 2.0);
        }
    });
    Ok(cell)
}

/// Runs `c.steps` explicit steps on Gaussian inputs, keeps every state, and
/// asks autograd for the gradient of a linear read-out loss at `T` with respect
/// to each of them.
pub fn gradient_trace(c: &TraceConfig) -> Result<Trace> {
    tch::manual_seed(c.seed as i64);
    let vs = nn::VarStore::new(Device::Cpu);
    let cell = cell(&vs, c)?;
    let steps = c.steps;
    let xs = Tensor::randn([steps as i64, c.batch, c.input], (Kind::Float, Device::Cpu)) * c.input_std;
    let readout = Tensor::randn([c.hidden], (Kind::Float, Device::Cpu)) / (c.hidden as f64).sqrt();
    let mut states: Vec<RnnState> = Vec::with_capacity(steps);
    for t in 0..steps {
        let s = cell.f_step(&xs.get(t as i64), states.last())?;
        states.push(s);
    }
    let last = &states[steps - 1].h;
    let loss = last.matmul(&readout).mean(Kind::Float);
    let mut inputs: Vec<&Tensor> = states.iter().map(|s| &s.h).collect();
    inputs.extend(states.iter().filter_map(|s| s.c.as_ref()));
    let grads = Tensor::f_run_backward(&[loss], &inputs, false, false)?;
    let sq = |g: &Tensor| g.square().sum(Kind::Double).double_value(&[]);
    let norms = (0..steps)
        .rev()
        .map(|k| {
            let mut s = sq(&grads[k]);
            if c.cell.has_cell() {
                s += sq(&grads[steps + k]);
            }
            s.sqrt()
        })
        .collect();
    let mean_tanh_prime = if c.cell == CellKind::RnnTanh {
        let hs = Tensor::stack(&inputs[..steps], 0);
        (hs.square().neg() + 1.0).mean(Kind::Double).double_value(&[])
    } else {
        f64::NAN
    };
    Ok(Trace {
        norms,
        mean_tanh_prime,
    })
}

/// Least-squares slope of `ln(norm)` against the index (the distance), over
/// the finite positive norms.
pub fn log_slope(norms: &[f64]) -> f64 {
    let pts: Vec<(f64, f64)> = norms
        .iter()
        .enumerate()
        .filter(|(_, n)| n.is_finite() && **n > 0.0)
        .map(|(d, n)| (d as f64, n.ln()))
        .collect();
    let k = pts.len() as f64;
    let (mx, my) = (
        pts.iter().map(|p| p.0).sum::<f64>() / k,
        pts.iter().map(|p| p.1).sum::<f64>() / k,
    );
    let sxy: f64 = pts.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    let sxx: f64 = pts.iter().map(|p| (p.0 - mx).powi(2)).sum();
    sxy / sxx
}

/// What [`clipping_run`] trains: a tanh RNN in the exploding regime on a
/// many-to-one regression (the mean of the first input channel over 50
/// steps), SGD 0.05, with or without clipping the gradient norm.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClippingConfig {
    /// Spectral radius of the recurrent weight.
    pub rho: f64,
    /// SGD steps.
    pub steps: usize,
    /// Clip the global gradient norm at this value.
    pub clip: Option<f64>,
    /// Seed.
    pub seed: u64,
}

impl Default for ClippingConfig {
    /// rho = 1.5, 200 steps, no clipping, seed 7.
    fn default() -> Self {
        ClippingConfig {
            rho: 1.5,
            steps: 200,
            clip: None,
            seed: 7,
        }
    }
}

/// Per step: the training loss and the gradient norm before clipping.
#[derive(Debug, Clone, PartialEq)]
pub struct ClippingRun {
    /// `(step, loss)`.
    pub losses: Vec<(f64, f64)>,
    /// `(step, pre-clip gradient norm)`.
    pub norms: Vec<(f64, f64)>,
}

/// Trains as [`ClippingConfig`] says (input 8, hidden 64, batch 32).
pub fn clipping_run(c: &ClippingConfig) -> Result<ClippingRun> {
    let t = TraceConfig {
        rho: c.rho,
        ..TraceConfig::default()
    };
    tch::manual_seed(c.seed as i64);
    let vs = nn::VarStore::new(Device::Cpu);
    let cell = cell(&vs, &t)?;
    let head = nn::linear(vs.root() / "head", t.hidden, 1, Default::default());
    let mut opt = nn::OptimizerConfig::build(nn::Sgd::default(), &vs, 0.05)?;
    let (mut losses, mut norms) = (Vec::new(), Vec::new());
    for step in 0..c.steps {
        let xs = Tensor::randn([50, t.batch, t.input], (Kind::Float, Device::Cpu));
        // Target: the mean of the first channel over the sequence (needs memory of every step).
        let target = xs.select(2, 0).mean_dim(0, false, Kind::Float).unsqueeze(1);
        let mut s: Option<RnnState> = None;
        for i in 0..50 {
            s = Some(cell.f_step(&xs.get(i), s.as_ref())?);
        }
        let pred = s.expect("50 steps").h.apply(&head);
        let loss = (pred - target).square().mean(Kind::Float);
        opt.zero_grad();
        loss.backward();
        let norm = vs
            .trainable_variables()
            .iter()
            .map(|v| v.grad().square().sum(Kind::Double).double_value(&[]))
            .sum::<f64>()
            .sqrt();
        if let Some(max) = c.clip {
            opt.clip_grad_norm(max);
        }
        opt.step();
        losses.push((step as f64, loss.double_value(&[])));
        norms.push((step as f64, norm));
    }
    Ok(ClippingRun { losses, norms })
}
