//! `train_utils::sparse::sparse_mm` against libtorch's own sparse product:
//! values and gradients in double precision, a finite-difference check, the
//! cache across calls and structures, and the refusals.

use tch::{Device, Kind, Tensor};
use train_utils::sparse::{cached_entries, f_sparse_addmm, f_sparse_mm, sparse_addmm, sparse_mm};

const D: (Kind, Device) = (Kind::Double, Device::Cpu);

/// A random `[n, m]` matrix with about `density` of its entries non-zero.
fn random_sparse(n: i64, m: i64, density: f64) -> Tensor {
    let mask = Tensor::rand([n, m], D).lt(density).to_kind(Kind::Double);
    Tensor::randn([n, m], D) * mask
}

fn max_diff(a: &Tensor, b: &Tensor) -> f64 {
    (a - b).abs().max().double_value(&[])
}

fn grads_of(y: &Tensor, probe: &Tensor, x: &Tensor) -> Tensor {
    Tensor::run_backward(&[(y * probe).sum(Kind::Double)], &[x], false, false).remove(0)
}

#[test]
fn values_and_gradients_equal_libtorch_for_coo_and_csr() {
    tch::manual_seed(0);
    for (n, m, k) in [(7, 5, 3), (40, 60, 8), (1, 9, 2)] {
        let dense = random_sparse(n, m, 0.2);
        for a in [dense.to_sparse_sparse_dim(2), dense.to_sparse_csr(None)] {
            // Several calls: the first builds the cache, the others reuse it.
            for _ in 0..3 {
                let x = Tensor::randn([m, k], D).set_requires_grad(true);
                let probe = Tensor::randn([n, k], D);
                let ours = sparse_mm(&a, &x);
                let theirs = dense.mm(&x);
                assert!(max_diff(&ours, &theirs) < 1e-12, "values {n}x{m}x{k}");
                let g = grads_of(&ours, &probe, &x);
                let g_ref = grads_of(&theirs, &probe, &x);
                assert!(max_diff(&g, &g_ref) < 1e-12, "gradients {n}x{m}x{k}");
            }
        }
    }
}

/// `acc + A X` in one pass equals the sum of the two, in values and in the
/// gradients of both `x` and `acc`, at widths that take every block size
/// (8 vectors, one vector, scalars) and with a non-contiguous accumulator.
#[test]
fn accumulator_is_added_in_values_and_gradients() {
    tch::manual_seed(4);
    for (n, m, k) in [(7, 5, 3), (40, 60, 37), (33, 20, 70)] {
        let dense = random_sparse(n, m, 0.2);
        let _ = dense.narrow(0, 1, 2).fill_(0.0); // rows with only the accumulator
        for a in [dense.to_sparse_sparse_dim(2), dense.to_sparse_csr(None)] {
            let x = Tensor::randn([m, k], D).set_requires_grad(true);
            let acc = Tensor::randn([k, n], D).transpose(0, 1).set_requires_grad(true);
            let probe = Tensor::randn([n, k], D);
            let ours = sparse_addmm(Some(&acc), &a, &x);
            let theirs = &acc + dense.mm(&x);
            assert!(max_diff(&ours, &theirs) < 1e-12, "values {n}x{m}x{k}");
            let loss = |y: &Tensor| (y * &probe).sum(Kind::Double);
            let g = Tensor::run_backward(&[loss(&ours)], &[&x, &acc], false, false);
            let g_ref = Tensor::run_backward(&[loss(&theirs)], &[&x, &acc], false, false);
            assert!(max_diff(&g[0], &g_ref[0]) < 1e-12, "d x {n}x{m}x{k}");
            assert!(max_diff(&g[1], &g_ref[1]) < 1e-12, "d acc {n}x{m}x{k}");
        }
    }
}

#[test]
fn gradient_matches_finite_differences() {
    tch::manual_seed(1);
    let a = random_sparse(6, 4, 0.5).to_sparse_sparse_dim(2);
    let x = Tensor::randn([4, 3], D).set_requires_grad(true);
    let probe = Tensor::randn([6, 3], D);
    let f = |x: &Tensor| (sparse_mm(&a, x) * &probe).sum(Kind::Double).double_value(&[]);
    let analytic = grads_of(&sparse_mm(&a, &x), &probe, &x);
    let eps = 1e-6;
    for i in 0..4 {
        for j in 0..3 {
            let bump = |s: f64| {
                let e = Tensor::zeros([4, 3], D);
                let _ = e.get(i).get(j).fill_(s);
                f(&(x.detach() + e))
            };
            let numeric = (bump(eps) - bump(-eps)) / (2.0 * eps);
            let got = analytic.double_value(&[i, j]);
            assert!((numeric - got).abs() < 1e-7, "d/dx[{i},{j}]: {numeric} vs {got}");
        }
    }
}

/// Sparse features with dropout: one structure, new values every call. The
/// transpose's structure is cached, its values must be this call's.
#[test]
fn new_values_on_a_cached_structure_are_used() {
    tch::manual_seed(2);
    let base = random_sparse(30, 20, 0.3).to_sparse_csr(None);
    let (crow, col, values) = (base.crow_indices(), base.col_indices(), base.values());
    for round in 0..3 {
        let v = &values * Tensor::rand_like(&values);
        let a = Tensor::sparse_csr_tensor_crow_col_value_size(&crow, &col, &v, [30, 20], D);
        let x = Tensor::randn([20, 4], D).set_requires_grad(true);
        let probe = Tensor::randn([30, 4], D);
        let dense = a.to_dense(None, false);
        let g = grads_of(&sparse_mm(&a, &x), &probe, &x);
        let g_ref = grads_of(&dense.mm(&x), &probe, &x);
        assert!(max_diff(&g, &g_ref) < 1e-12, "round {round}");
    }
}

#[test]
fn dead_operators_do_not_pile_up_in_the_cache() {
    tch::manual_seed(3);
    let x = Tensor::randn([10, 2], D);
    for _ in 0..50 {
        let a = random_sparse(10, 10, 0.3).to_sparse_sparse_dim(2);
        let _ = sparse_mm(&a, &x);
    }
    // Each new operator prunes the dead ones; other tests' live ones may remain.
    assert!(cached_entries() < 20, "{} entries", cached_entries());
}

#[test]
fn bad_input_is_an_error_naming_it() {
    let a = random_sparse(4, 3, 0.5).to_sparse_sparse_dim(2);
    let x = Tensor::randn([3, 2], D);
    let msg = |r: Result<Tensor, tch::TchError>| r.unwrap_err().to_string();
    assert!(msg(f_sparse_mm(&Tensor::randn([4, 3], D), &x)).contains("2-D sparse"));
    assert!(msg(f_sparse_mm(&a, &Tensor::randn([4, 2], D))).contains("[3, k]"));
    assert!(msg(f_sparse_mm(&a, &Tensor::randn([3], D))).contains("do not multiply"));
    assert!(msg(f_sparse_mm(&a, &x.to_kind(Kind::Float)))
        .contains("the dense operand must be Double on Cpu, got Float"));
    let acc = |shape: [i64; 2], kind: Kind| Tensor::zeros(shape, (kind, Device::Cpu));
    assert!(msg(f_sparse_addmm(Some(&acc([4, 3], Kind::Double)), &a, &x))
        .contains("the accumulator must be [4, 2]"));
    assert!(msg(f_sparse_addmm(Some(&acc([4, 2], Kind::Float)), &a, &x))
        .contains("the accumulator must be Double on Cpu, got Float"));
    // Last: `set_requires_grad` marks `a` itself (a shallow clone shares it).
    let learned = a.shallow_clone().set_requires_grad(true);
    assert!(msg(f_sparse_mm(&learned, &x)).contains("requires a gradient"));
}

/// Rows and columns without nonzeros, an operator with none at all, float
/// and a non-contiguous input. The output comes from a freed block full of
/// NaN (the block cache hands the same block back), so a row the product
/// does not write shows.
#[test]
fn empty_rows_are_written_as_zeros() {
    train_utils::memory::cache_large_blocks(train_utils::memory::MMAP_THRESHOLD as usize, usize::MAX);
    let f = (Kind::Float, Device::Cpu);
    let (n, m, w) = (1024i64, 300i64, 8461i64); // a 33 MiB float output: 8-vector blocks, one vector, 5 columns
    let dense = Tensor::randn([n, m], f) * Tensor::rand([n, m], f).lt(0.01).to_kind(Kind::Float);
    let _ = dense.narrow(0, 5, 40).fill_(0.0); // empty rows of A
    let _ = dense.narrow(1, 7, 30).fill_(0.0); // empty rows of A^T
    let x = Tensor::randn([w, m], f).transpose(0, 1).set_requires_grad(true); // not contiguous
    for a in [dense.to_sparse_csr(None), dense.zeros_like().to_sparse_csr(None)] {
        let want = a.to_dense(None, false).mm(&x);
        drop(Tensor::full([n, w], f64::NAN, f));
        let ours = sparse_mm(&a, &x);
        assert!(max_diff(&ours, &want) < 1e-4, "values");
        let probe = Tensor::randn([n, w], f);
        drop(Tensor::full([m, w], f64::NAN, f));
        let g = grads_of(&ours, &probe, &x);
        let g_ref = grads_of(&want, &probe, &x);
        assert!(max_diff(&g, &g_ref) < 1e-4, "gradients");
    }
}
