//! Each input-output pattern trains on a tiny synthetic task until its loss falls below a stated bound.

use seq_models::modes::{ManyToMany, ManyToOne, OneToMany, OneToOne, Seq2Seq};
use seq_models::{CellKind, RecurrentConfig};
use tch::{nn, nn::OptimizerConfig, Device, Kind, Tensor};

const CPU: Device = Device::Cpu;

// Each test seeds libtorch's global generator and trains to a bound; tests run in parallel: take turns.
static GENERATOR: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Runs Adam until `step` returns a loss under `bound`; returns the last loss.
fn train(vs: &nn::VarStore, lr: f64, max_steps: usize, bound: f64, mut step: impl FnMut() -> Tensor) -> f64 {
    let mut opt = nn::Adam::default().build(vs, lr).unwrap();
    let mut last = f64::INFINITY;
    for _ in 0..max_steps {
        let loss = step();
        opt.backward_step(&loss);
        last = loss.double_value(&[]);
        if last < bound {
            break;
        }
    }
    last
}

#[test]
fn one_to_one_learns_xor() {
    let _generator = GENERATOR.lock().unwrap_or_else(|e| e.into_inner());
    tch::manual_seed(0);
    let vs = nn::VarStore::new(CPU);
    let model = OneToOne::new(vs.root(), CellKind::RnnTanh, 2, 16, 2);
    let x = Tensor::from_slice(&[0f32, 0., 0., 1., 1., 0., 1., 1.]).view([4, 2]);
    let y = Tensor::from_slice(&[0i64, 1, 1, 0]);
    let loss = train(&vs, 0.05, 500, 0.05, || {
        model.f_forward(&x).unwrap().cross_entropy_for_logits(&y)
    });
    assert!(loss < 0.05, "XOR cross-entropy {loss}");
}

#[test]
fn one_to_many_generates_a_sine_from_its_phase() {
    let _generator = GENERATOR.lock().unwrap_or_else(|e| e.into_inner());
    tch::manual_seed(0);
    let vs = nn::VarStore::new(CPU);
    let model = OneToMany::new(vs.root(), CellKind::Gru, 2, 32, 1);
    // Input (cos phi, sin phi); target sin(phi + 0.5 k), k = 1..10.
    let phi = Tensor::linspace(0.0, 6.0, 32, (Kind::Float, CPU)).unsqueeze(1);
    let x = Tensor::cat(&[phi.cos(), phi.sin()], 1);
    let k = Tensor::arange_start(1, 11, (Kind::Float, CPU)).unsqueeze(0) * 0.5;
    let target = (&phi + k).sin().unsqueeze(-1);
    let loss = train(&vs, 0.01, 1500, 0.005, || {
        model
            .f_generate(&x, 10)
            .unwrap()
            .mse_loss(&target, tch::Reduction::Mean)
    });
    assert!(
        loss < 0.005,
        "generation MSE {loss} (the target's variance is 0.5)"
    );
}

#[test]
fn many_to_one_reads_the_last_valid_step() {
    let _generator = GENERATOR.lock().unwrap_or_else(|e| e.into_inner());
    // Label: the sign of the last valid input; padding after it is large noise of the other sign, so
    // a model reading step T instead of the last valid step cannot succeed.
    tch::manual_seed(0);
    let vs = nn::VarStore::new(CPU);
    let model = ManyToOne::new(vs.root(), CellKind::Lstm, 1, 16, 2, RecurrentConfig::default());
    let (b, t) = (32i64, 8i64);
    let lengths: Vec<i64> = (0..b).map(|i| 1 + (i * 5) % t).collect();
    let x = Tensor::randn([b, t, 1], (Kind::Float, CPU));
    let len_t = Tensor::from_slice(&lengths);
    let last = x
        .squeeze_dim(-1)
        .gather(1, &(&len_t - 1).unsqueeze(1), false)
        .squeeze_dim(1);
    let y = last.gt(0.0).to_kind(Kind::Int64);
    let pad = Tensor::arange(t, (Kind::Int64, CPU))
        .unsqueeze(0)
        .ge_tensor(&len_t.unsqueeze(1));
    let x = x.where_self(
        &pad.logical_not().unsqueeze(-1),
        &(-last.sign() * 5.0).view([b, 1, 1]).expand([b, t, 1], false),
    );
    let loss = train(&vs, 0.02, 600, 0.05, || {
        model
            .f_forward(&x, Some(&lengths), true)
            .unwrap()
            .cross_entropy_for_logits(&y)
    });
    assert!(loss < 0.05, "many-to-one cross-entropy {loss}");
}

#[test]
fn many_to_many_echoes_the_previous_symbol() {
    let _generator = GENERATOR.lock().unwrap_or_else(|e| e.into_inner());
    tch::manual_seed(0);
    let vs = nn::VarStore::new(CPU);
    let model = ManyToMany::new(vs.root(), CellKind::Gru, 4, 24, 4, RecurrentConfig::default());
    let tokens = Tensor::randint(4, [16, 12], (Kind::Int64, CPU));
    let x = tokens.one_hot(4).to_kind(Kind::Float);
    // Target at step t is the token at t-1 (step 0: token 0).
    let y = Tensor::cat(
        &[
            Tensor::zeros([16, 1], (Kind::Int64, CPU)),
            tokens.narrow(1, 0, 11),
        ],
        1,
    );
    let loss = train(&vs, 0.02, 600, 0.05, || {
        let (logits, _) = model.f_forward(&x, None, None, true).unwrap();
        logits.view([-1, 4]).cross_entropy_for_logits(&y.view([-1]))
    });
    assert!(loss < 0.05, "echo cross-entropy {loss}");
}

#[test]
fn seq2seq_learns_to_reverse_and_decodes_greedily() {
    let _generator = GENERATOR.lock().unwrap_or_else(|e| e.into_inner());
    tch::manual_seed(0);
    let vs = nn::VarStore::new(CPU);
    // Tokens 1..=5, BOS = 0; reverse sequences of length 5.
    let model = Seq2Seq::new(vs.root(), CellKind::Gru, 6, 6, 16, 64, 0);
    let src = Tensor::randint_low(1, 6, [64, 5], (Kind::Int64, CPU));
    let tgt = src.flip([1]);
    let loss = train(&vs, 0.01, 800, 0.05, || {
        let logits = model.f_forward(&src, None, &tgt, 0.5).unwrap();
        logits.view([-1, 6]).cross_entropy_for_logits(&tgt.view([-1]))
    });
    assert!(loss < 0.05, "seq2seq cross-entropy {loss}");
    let decoded = model.f_greedy(&src, None, 5).unwrap();
    let acc = decoded
        .eq_tensor(&tgt)
        .to_kind(Kind::Float)
        .mean(Kind::Float)
        .double_value(&[]);
    assert!(acc > 0.95, "greedy token accuracy {acc}");
}
