//! `train_utils::pair_dot::pair_dot` against the libtorch formula
//! `(z[src] * z[dst]).sum(1)`: values and gradients in double precision over
//! random sizes (a property test, self pairs and repeated pairs included), a
//! finite-difference check, the float path, and the refusals.

use proptest::prelude::*;
use tch::{Device, Kind, Tensor};
use train_utils::pair_dot::{f_pair_dot, pair_dot};

const D: (Kind, Device) = (Kind::Double, Device::Cpu);

fn formula(z: &Tensor, src: &Tensor, dst: &Tensor) -> Tensor {
    (z.index_select(0, src) * z.index_select(0, dst)).sum_dim_intlist(-1, false, None)
}

fn grad_of(y: &Tensor, probe: &Tensor, z: &Tensor) -> Tensor {
    Tensor::run_backward(&[(y * probe).sum(Kind::Double)], &[z], false, false).remove(0)
}

fn max_diff(a: &Tensor, b: &Tensor) -> f64 {
    if a.numel() == 0 {
        return 0.0;
    }
    (a - b).abs().max().double_value(&[])
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn equals_the_libtorch_formula(n in 1i64..40, d in 1i64..20, p in 0i64..200, seed in 0i64..1000) {
        tch::manual_seed(seed);
        let z = Tensor::randn([n, d], D).set_requires_grad(true);
        // Few nodes and many pairs: repeated pairs and self pairs are common.
        let src = Tensor::randint(n, [p], (Kind::Int64, Device::Cpu));
        let dst = Tensor::randint(n, [p], (Kind::Int64, Device::Cpu));
        let probe = Tensor::randn([p], D);
        let ours = pair_dot(&z, &src, &dst);
        let theirs = formula(&z, &src, &dst);
        prop_assert_eq!(ours.size(), vec![p]);
        prop_assert!(max_diff(&ours, &theirs) < 1e-12);
        if p > 0 {
            let g = grad_of(&ours, &probe, &z);
            let g_ref = grad_of(&theirs, &probe, &z);
            prop_assert!(max_diff(&g, &g_ref) < 1e-12);
        }
    }
}

#[test]
fn gradient_matches_finite_differences() {
    tch::manual_seed(1);
    let z = Tensor::randn([5, 3], D).set_requires_grad(true);
    let (src, dst) = (
        Tensor::from_slice(&[0i64, 2, 4, 4, 1]),
        Tensor::from_slice(&[1i64, 2, 0, 3, 1]),
    );
    let probe = Tensor::randn([5], D);
    let f = |z: &Tensor| {
        (pair_dot(z, &src, &dst) * &probe)
            .sum(Kind::Double)
            .double_value(&[])
    };
    let analytic = grad_of(&pair_dot(&z, &src, &dst), &probe, &z);
    let eps = 1e-6;
    for i in 0..5 {
        for j in 0..3 {
            let bump = |s: f64| {
                let e = Tensor::zeros([5, 3], D);
                let _ = e.get(i).get(j).fill_(s);
                f(&(z.detach() + e))
            };
            let numeric = (bump(eps) - bump(-eps)) / (2.0 * eps);
            let a = analytic.double_value(&[i, j]);
            assert!(
                (a - numeric).abs() < 1e-6,
                "d/dz[{i}][{j}]: {a} against {numeric}"
            );
        }
    }
}

#[test]
fn float_and_strided_inputs_agree_with_the_formula() {
    tch::manual_seed(2);
    // A transposed (non-contiguous) float z and strided ids.
    let z = Tensor::randn([16, 30], (Kind::Float, Device::Cpu))
        .tr()
        .set_requires_grad(true);
    let ids = Tensor::randint(30, [2, 100], (Kind::Int64, Device::Cpu));
    let (src, dst) = (ids.select(0, 0), ids.tr().select(1, 1));
    let ours = pair_dot(&z, &src, &dst);
    let theirs = formula(&z, &src, &dst);
    assert!(ours.allclose(&theirs, 1e-5, 1e-5, false));
    let probe = Tensor::randn([100], (Kind::Float, Device::Cpu));
    let g = Tensor::run_backward(&[(&ours * &probe).sum(Kind::Float)], &[&z], false, false).remove(0);
    let g_ref = Tensor::run_backward(&[(&theirs * &probe).sum(Kind::Float)], &[&z], false, false).remove(0);
    assert!(g.allclose(&g_ref, 1e-5, 1e-5, false));
}

#[test]
fn refusals_name_what_does_not_fit() {
    let z = Tensor::randn([4, 3], D);
    let ok = Tensor::from_slice(&[0i64, 3]);
    let msg = |r: Result<Tensor, tch::TchError>| r.expect_err("refused").to_string();
    assert!(msg(f_pair_dot(&z, &Tensor::from_slice(&[0i64, 4]), &ok))
        .contains("src holds node id 4, outside 0..4"));
    assert!(msg(f_pair_dot(&z, &ok, &Tensor::from_slice(&[-1i64, 0]))).contains("dst holds node id -1"));
    assert!(msg(f_pair_dot(&z, &ok, &Tensor::from_slice(&[0i32, 1]))).contains("dst must be Int64 on Cpu"));
    assert!(msg(f_pair_dot(&z, &ok, &Tensor::from_slice(&[0i64]))).contains("dst must be [P] with P = 2"));
    assert!(msg(f_pair_dot(&z.flatten(0, -1), &ok, &ok)).contains("z must be [N, d]"));
    // A refused call leaves no half-built graph: the next one works.
    assert_eq!(pair_dot(&z, &ok, &ok).size(), [2]);
}
