//! `train_utils::small_linear::linear` against libtorch's `addmm`: values
//! and the gradients of acc, x, W and b in double precision over random sizes
//! (a property test), a finite-difference check, the float kernel, the
//! fallback, thread counts, and the refusals.

use proptest::prelude::*;
use tch::{Device, Kind, Tensor};
use train_utils::small_linear::{f_linear, kernel_available, linear, uses_kernel, MIN_ROWS};

const D: (Kind, Device) = (Kind::Double, Device::Cpu);

fn reference(acc: Option<&Tensor>, x: &Tensor, w: &Tensor, b: Option<&Tensor>) -> Tensor {
    let out = match acc {
        Some(a) => a.addmm(x, &w.tr()),
        None => x.mm(&w.tr()),
    };
    match b {
        Some(b) => out + b,
        None => out,
    }
}

fn max_diff(a: &Tensor, b: &Tensor) -> f64 {
    (a - b).abs().max().double_value(&[])
}

/// `acc + x W^T + b`, by either implementation.
type Linear<'a> = &'a dyn Fn(Option<&Tensor>, &Tensor, &Tensor, Option<&Tensor>) -> Tensor;

/// Output and the gradients of every input that requires one, for a probe.
fn run(
    f: Linear,
    acc: Option<&Tensor>,
    x: &Tensor,
    w: &Tensor,
    b: Option<&Tensor>,
    probe: &Tensor,
) -> Vec<Tensor> {
    let y = f(acc, x, w, b);
    let mut inputs: Vec<&Tensor> = vec![x, w];
    inputs.extend(acc);
    inputs.extend(b);
    let mut out = vec![y.detach()];
    out.extend(Tensor::run_backward(
        &[(&y * probe).sum(Kind::Double)],
        &inputs,
        false,
        false,
    ));
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(40))]
    #[test]
    fn equals_addmm_in_values_and_gradients(
        m in MIN_ROWS..1500,
        k in 1i64..70,
        vectors in 1i64..=4,
        with_acc: bool,
        with_bias: bool,
        seed in 0i64..1000,
    ) {
        tch::manual_seed(seed);
        let n = 8 * vectors; // f64: 8 lanes per 64-byte vector
        let x = Tensor::randn([m, k], D).set_requires_grad(true);
        let w = Tensor::randn([n, k], D).set_requires_grad(true);
        let acc = with_acc.then(|| Tensor::randn([m, n], D).set_requires_grad(true));
        let b = with_bias.then(|| Tensor::randn([n], D).set_requires_grad(true));
        prop_assert_eq!(uses_kernel(&x, &w), kernel_available());
        let probe = Tensor::randn([m, n], D);
        let ours = run(&|a, x, w, b| linear(a, x, w, b), acc.as_ref(), &x, &w, b.as_ref(), &probe);
        let theirs = run(&reference, acc.as_ref(), &x, &w, b.as_ref(), &probe);
        for (i, (o, t)) in ours.iter().zip(&theirs).enumerate() {
            prop_assert!(max_diff(o, t) < 1e-9, "output/gradient {i}: {}", max_diff(o, t));
        }
    }
}

#[test]
fn gradient_matches_finite_differences() {
    tch::manual_seed(1);
    let x = Tensor::randn([MIN_ROWS + 3, 5], D).set_requires_grad(true);
    let w = Tensor::randn([8, 5], D).set_requires_grad(true);
    let b = Tensor::randn([8], D).set_requires_grad(true);
    let probe = Tensor::randn([MIN_ROWS + 3, 8], D);
    let f = |x: &Tensor, w: &Tensor, b: &Tensor| {
        (linear(None, x, w, Some(b)) * &probe)
            .sum(Kind::Double)
            .double_value(&[])
    };
    let g = run(&|a, x, w, b| linear(a, x, w, b), None, &x, &w, Some(&b), &probe);
    let eps = 1e-6;
    let bump = |t: &Tensor, idx: &[i64], s: f64| {
        let e = t.zeros_like();
        let _ = e
            .view([-1])
            .get(idx.iter().fold(0, |acc, &i| acc * t.size()[1] + i))
            .fill_(s);
        t.detach() + e
    };
    for (i, j) in [(0i64, 0i64), (7, 4), (3, 2)] {
        let numeric =
            (f(&x, &bump(&w, &[i, j], eps), &b) - f(&x, &bump(&w, &[i, j], -eps), &b)) / (2.0 * eps);
        assert!(
            (g[2].double_value(&[i, j]) - numeric).abs() < 1e-5,
            "dW[{i}][{j}]"
        );
    }
    for (i, j) in [(0i64, 0i64), (MIN_ROWS + 2, 4), (100, 1)] {
        let numeric =
            (f(&bump(&x, &[i, j], eps), &w, &b) - f(&bump(&x, &[i, j], -eps), &w, &b)) / (2.0 * eps);
        assert!(
            (g[1].double_value(&[i, j]) - numeric).abs() < 1e-5,
            "dx[{i}][{j}]"
        );
    }
    let db = probe.sum_dim_intlist(0, false, Kind::Double);
    assert!(max_diff(&g[3], &db) < 1e-9, "db is the probe's column sums");
}

#[test]
fn float_kernel_agrees_with_addmm_and_threads_agree() {
    tch::manual_seed(2);
    let f = (Kind::Float, Device::Cpu);
    // 320,000 rows of 32 features by 32 x 32 weights is the graph-recurrent
    // step's shape; a smaller M keeps the test short. Rows not a multiple of
    // the kernel's block, and a non-contiguous x.
    let x = Tensor::randn([32, 20_003], f).tr().set_requires_grad(true);
    let w = Tensor::randn([32, 32], f).set_requires_grad(true);
    let acc = Tensor::randn([20_003, 32], f).set_requires_grad(true);
    assert_eq!(uses_kernel(&x, &w), kernel_available());
    let probe = Tensor::randn([20_003, 32], f);
    let grads = |y: Tensor| {
        let mut g = vec![y.detach()];
        g.extend(Tensor::run_backward(
            &[(&y * &probe).sum(Kind::Float)],
            &[&x, &w, &acc],
            false,
            false,
        ));
        g
    };
    let ours = grads(linear(Some(&acc), &x, &w, None));
    let theirs = grads(reference(Some(&acc), &x, &w, None));
    for (o, t) in ours.iter().zip(&theirs) {
        assert!(o.allclose(t, 1e-4, 1e-3, false), "{}", max_diff(o, t));
    }
    let threads = tch::get_num_threads();
    tch::set_num_threads(2);
    let two = grads(linear(Some(&acc), &x, &w, None));
    tch::set_num_threads(threads);
    for (o, t) in ours.iter().zip(&two) {
        assert!(o.allclose(t, 1e-5, 1e-4, false));
    }
    // The same thread count gives the same bits.
    let again = grads(linear(Some(&acc), &x, &w, None));
    for (o, t) in ours.iter().zip(&again) {
        assert!(o.equal(t));
    }
}

#[test]
fn other_shapes_take_addmm_with_the_same_result() {
    tch::manual_seed(3);
    for (m, k, n) in [(MIN_ROWS, 4, 10), (MIN_ROWS - 1, 4, 16), (3000, 7, 72)] {
        let x = Tensor::randn([m, k], D);
        let w = Tensor::randn([n, k], D);
        assert!(!uses_kernel(&x, &w), "{m} x {k} by {n}");
        assert!(max_diff(&linear(None, &x, &w, None), &reference(None, &x, &w, None)) < 1e-12);
    }
    let x = Tensor::zeros([MIN_ROWS, 4], (Kind::Int64, Device::Cpu));
    assert!(!uses_kernel(
        &x,
        &Tensor::zeros([16, 4], (Kind::Int64, Device::Cpu))
    ));
}

#[test]
fn refusals_name_what_does_not_fit() {
    let x = Tensor::randn([MIN_ROWS, 4], D);
    let w = Tensor::randn([16, 4], D);
    let msg = |r: Result<Tensor, tch::TchError>| r.expect_err("refused").to_string();
    assert!(msg(f_linear(None, &x, &Tensor::randn([16, 5], D), None)).contains("do not multiply"));
    assert!(msg(f_linear(Some(&Tensor::randn([3, 16], D)), &x, &w, None)).contains("acc must be [256, 16]"));
    assert!(msg(f_linear(None, &x, &w, Some(&Tensor::randn([15], D)))).contains("bias must be [16]"));
    assert!(msg(f_linear(None, &x, &w.to_kind(Kind::Float), None))
        .contains("w must be Double on Cpu, got Float on Cpu"));
}
