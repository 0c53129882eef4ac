//! `train_utils::gru_update` against the update composed from libtorch's
//! operators (`p.tanh().lerp(h, z)`): its tanh over the whole float range,
//! NaN and infinities, values and gradients in float and double, a
//! finite-difference check, non-contiguous inputs, and the refusals.

use tch::{Device, Kind, Tensor};
use train_utils::gru_update::{f_gru_update, gru_update, update_tanh};

fn max_diff(a: &Tensor, b: &Tensor) -> f64 {
    (a - b).abs().max().double_value(&[])
}

#[test]
fn tanh_is_within_two_ulp_of_libtorch_over_the_float_range() {
    let f = (Kind::Float, Device::Cpu);
    // Dense near 0 and the 0.625 switch, then out to where tanh is 1; odd sizes leave a tail.
    let x = Tensor::cat(
        &[
            Tensor::linspace(-1.0, 1.0, 200_001, f),
            Tensor::linspace(-12.0, 12.0, 100_003, f),
            Tensor::linspace(1e-6, 1e-3, 10_007, f),
            Tensor::from_slice(&[
                100.0f32, -100.0, 88.5, -88.5, 0.0, -0.0, 0.625, -0.625, 3e38, -3e38,
            ]),
        ],
        0,
    );
    let ours = update_tanh(&x).unwrap();
    let theirs = x.to_kind(Kind::Double).tanh();
    // 2 ulp of the result (1 ulp at least 2^-149), relative to the exact value.
    let ulp = (theirs.abs() * 2f64.powi(-23)).clamp_min(2f64.powi(-149));
    let err = ((ours.to_kind(Kind::Double) - &theirs).abs() / ulp)
        .max()
        .double_value(&[]);
    assert!(err <= 2.0, "tanh is {err} ulp off");
    assert_eq!(
        ours.double_value(&[x.size()[0] - 6]),
        -0.0,
        "tanh(-0) keeps its sign"
    );
    let odd = Tensor::from_slice(&[f32::NAN, f32::INFINITY, f32::NEG_INFINITY, 0.5, f32::NAN]);
    let t = update_tanh(&odd).unwrap();
    assert!(
        t.double_value(&[0]).is_nan() && t.double_value(&[4]).is_nan(),
        "NaN stays NaN"
    );
    assert_eq!((t.double_value(&[1]), t.double_value(&[2])), (1.0, -1.0));
}

#[test]
fn values_and_gradients_equal_the_composed_update() {
    tch::manual_seed(0);
    for (kind, tol) in [(Kind::Float, 1e-6), (Kind::Double, 1e-13)] {
        let o = (kind, Device::Cpu);
        for shape in [vec![7i64], vec![33, 5], vec![4, 9, 32]] {
            let p = (Tensor::randn(shape.as_slice(), o) * 3.0).set_requires_grad(true);
            let h = Tensor::randn(shape.as_slice(), o).set_requires_grad(true);
            let z = Tensor::rand(shape.as_slice(), o).set_requires_grad(true);
            let ours = gru_update(&p, &h, &z);
            let theirs = p.tanh().lerp_tensor(&h, &z);
            assert!(max_diff(&ours, &theirs) < tol, "{kind:?} {shape:?} values");
            let probe = Tensor::randn(shape.as_slice(), o);
            let grads =
                |y: &Tensor| Tensor::run_backward(&[(y * &probe).sum(kind)], &[&p, &h, &z], false, false);
            for (i, (g, g_ref)) in grads(&ours).iter().zip(grads(&theirs).iter()).enumerate() {
                assert!(max_diff(g, g_ref) < tol * 10.0, "{kind:?} {shape:?} gradient {i}");
            }
        }
    }
}

#[test]
fn gradient_matches_finite_differences() {
    tch::manual_seed(1);
    let o = (Kind::Double, Device::Cpu);
    let inputs = [Tensor::randn([5], o), Tensor::randn([5], o), Tensor::rand([5], o)];
    let probe = Tensor::randn([5], o);
    let f = |t: &[Tensor]| {
        (gru_update(&t[0], &t[1], &t[2]) * &probe)
            .sum(Kind::Double)
            .double_value(&[])
    };
    let vars: Vec<Tensor> = inputs
        .iter()
        .map(|t| t.detach().set_requires_grad(true))
        .collect();
    let y = (gru_update(&vars[0], &vars[1], &vars[2]) * &probe).sum(Kind::Double);
    let analytic = Tensor::run_backward(&[y], &[&vars[0], &vars[1], &vars[2]], false, false);
    let eps = 1e-6;
    for (which, g) in analytic.iter().enumerate() {
        for j in 0..5 {
            let bump = |s: f64| {
                let t: Vec<Tensor> = inputs.iter().map(|t| t.copy()).collect();
                let _ = t[which].get(j).fill_(inputs[which].double_value(&[j]) + s);
                f(&t)
            };
            let numeric = (bump(eps) - bump(-eps)) / (2.0 * eps);
            let got = g.double_value(&[j]);
            assert!(
                (numeric - got).abs() < 1e-7,
                "input {which}[{j}]: {numeric} vs {got}"
            );
        }
    }
}

#[test]
fn non_contiguous_inputs_give_the_same_update() {
    tch::manual_seed(2);
    let f = (Kind::Float, Device::Cpu);
    let p = Tensor::randn([6, 10], f).transpose(0, 1);
    let h = Tensor::randn([6, 10], f).transpose(0, 1);
    let z = Tensor::rand([10, 12], f).narrow(1, 2, 6);
    let want = gru_update(&p.contiguous(), &h.contiguous(), &z.contiguous());
    assert_eq!(max_diff(&gru_update(&p, &h, &z), &want), 0.0);
}

#[test]
fn bad_input_is_an_error_naming_it() {
    let f = (Kind::Float, Device::Cpu);
    let p = Tensor::zeros([3, 4], f);
    let msg = |r: Result<Tensor, tch::TchError>| r.unwrap_err().to_string();
    assert!(msg(f_gru_update(&p, &Tensor::zeros([4, 3], f), &p))
        .contains("h must have the shape of p [3, 4], got [4, 3]"));
    assert!(msg(f_gru_update(&p, &p, &Tensor::zeros([3], f))).contains("z must have the shape of p"));
    assert!(
        msg(f_gru_update(&p, &p.to_kind(Kind::Double), &p)).contains("h must be Float on Cpu, got Double")
    );
    assert!(
        msg(f_gru_update(&p.to_kind(Kind::Int64), &p, &p)).contains("p must be Float or Double, got Int64")
    );
}
