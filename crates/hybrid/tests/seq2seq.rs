//! DCRNN's encoder-decoder: shapes, the inverse-sigmoid teacher-forcing
//! schedule, and that teacher forcing feeds the true previous values.

use hybrid::{DcrnnSeq2Seq, Supports, TeacherForcing};
use tch::{nn, Device, Kind, Tensor};

const OPTS: (Kind, Device) = (Kind::Float, Device::Cpu);

fn max_diff(a: &Tensor, b: &Tensor) -> f64 {
    (a - b).abs().max().double_value(&[])
}

#[test]
fn the_teacher_forcing_probability_decays_as_an_inverse_sigmoid() {
    let at = |batches_seen| {
        TeacherForcing {
            batches_seen,
            decay_steps: 2000.0,
        }
        .probability()
    };
    assert!((at(0) - 2000.0 / 2001.0).abs() < 1e-12);
    // k / (k + exp(s / k)) = 0.5 at s = k ln k.
    let half = (2000.0 * 2000f64.ln()) as usize;
    assert!((at(half) - 0.5).abs() < 1e-3);
    assert!(at(30_000) < 1e-3);
    assert!((1..40).all(|i| at(i * 1000) < at((i - 1) * 1000)));
}

#[test]
fn the_decoder_reads_true_values_only_when_taught() {
    tch::manual_seed(3);
    let vs = nn::VarStore::new(Device::Cpu);
    let model = DcrnnSeq2Seq::new(vs.root(), 1, 8, 2, 4);
    let p = Tensor::ones([5, 5], OPTS) / 5.0;
    let graph = Supports::Static(vec![p.shallow_clone(), p]);
    let x = Tensor::randn([2, 6, 5, 1], OPTS);
    let y = Tensor::randn([2, 5, 4], OPTS);
    let _guard = tch::no_grad_guard();
    let free = model.f_forward(&x, &graph, None).unwrap();
    assert_eq!(free.size(), [2, 5, 4]);
    let always = TeacherForcing {
        batches_seen: 0,
        decay_steps: 1e12,
    };
    let taught = model.f_forward(&x, &graph, Some((&y, always))).unwrap();
    // Step 0 reads the GO zeros either way; later steps read y (taught) or the model's own output.
    assert!(max_diff(&taught.narrow(2, 0, 1), &free.narrow(2, 0, 1)) < 1e-6);
    assert!(max_diff(&taught.narrow(2, 1, 3), &free.narrow(2, 1, 3)) > 1e-4);
    let other_y = &y + 1.0;
    let taught_other = model.f_forward(&x, &graph, Some((&other_y, always))).unwrap();
    assert!(max_diff(&taught_other.narrow(2, 1, 3), &taught.narrow(2, 1, 3)) > 1e-4);
    // Targets of the wrong shape are refused, naming the layer.
    let err = model
        .f_forward(&x, &graph, Some((&Tensor::zeros([2, 5, 3], OPTS), always)))
        .unwrap_err();
    assert!(err.to_string().contains("DcrnnSeq2Seq"), "{err}");
}
