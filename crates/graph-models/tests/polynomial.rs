//! The polynomial filters with an accumulator and a bias
//! (`chebyshev_filter_acc`) against their definition, `acc + sum_k T_k(L) x
//! W_k^T + b` built from the basis, in values and in the gradients of `x`,
//! the weights, the bias and the accumulator: on both of its paths (Clenshaw
//! when `out <= in`, the basis when `out > in`), with the sparse product that
//! adds the accumulator in its own pass (`spmm_acc`).

use graph_models::polynomial::{chebyshev_basis, chebyshev_filter, chebyshev_filter_acc};
use graph_models::{spmm, spmm_acc};
use tch::{Device, Kind, Tensor};

const D: (Kind, Device) = (Kind::Double, Device::Cpu);

fn max_diff(a: &Tensor, b: &Tensor) -> f64 {
    (a - b).abs().max().double_value(&[])
}

/// A symmetric scaled Laplacian-like operator on `n` nodes, sparse.
fn operator(n: i64) -> Tensor {
    let a = Tensor::rand([n, n], D).lt(0.3).to_kind(Kind::Double) * Tensor::randn([n, n], D);
    ((&a + a.tr()) / 4.0).to_sparse_sparse_dim(2)
}

#[test]
fn chebyshev_filter_acc_equals_acc_plus_basis_times_weights_plus_bias() {
    tch::manual_seed(0);
    let n = 9;
    let lap = operator(n);
    for (k, width, out) in [(1, 4, 3), (2, 4, 3), (3, 5, 5), (4, 3, 6), (2, 2, 7)] {
        let x = Tensor::randn([n, 3, width], D).set_requires_grad(true);
        let weights: Vec<Tensor> = (0..k)
            .map(|_| Tensor::randn([out, width], D).set_requires_grad(true))
            .collect();
        let bias = Tensor::randn([out], D).set_requires_grad(true);
        let acc = Tensor::randn([n, 3, out], D).set_requires_grad(true);
        let basis = chebyshev_basis(&|t: &Tensor| spmm(&lap, t), &x, k);
        let mut want = &acc + &bias;
        for (b, w) in basis.iter().zip(&weights) {
            want += b.matmul(&w.tr());
        }
        let got = chebyshev_filter_acc(
            &|a: Option<&Tensor>, t: &Tensor| spmm_acc(a, &lap, t),
            Some(&acc),
            &x,
            &weights,
            Some(&bias),
        );
        assert!(max_diff(&got, &want) < 1e-10, "K {k}, {width} -> {out}");
        // Without accumulator and bias it is `chebyshev_filter`.
        let plain = chebyshev_filter(&|t: &Tensor| spmm(&lap, t), &x, &weights);
        let bare = chebyshev_filter_acc(
            &|a: Option<&Tensor>, t: &Tensor| spmm_acc(a, &lap, t),
            None,
            &x,
            &weights,
            None,
        );
        assert!(
            max_diff(&plain, &bare) < 1e-12,
            "K {k}, {width} -> {out}: no accumulator"
        );
        let probe = Tensor::randn([n, 3, out], D);
        let mut inputs = vec![&x, &bias, &acc];
        inputs.extend(weights.iter());
        let grads =
            |y: &Tensor| Tensor::run_backward(&[(y * &probe).sum(Kind::Double)], &inputs, false, false);
        for (i, (g, g_ref)) in grads(&got).iter().zip(grads(&want).iter()).enumerate() {
            assert!(
                max_diff(g, g_ref) < 1e-10,
                "K {k}, {width} -> {out}: gradient {i}"
            );
        }
    }
}

/// `spmm_acc` on a sparse and on a dense operator, and on a batch of signals
/// `[N, B, F]`, equals `acc + adj @ x`.
#[test]
fn spmm_acc_adds_the_accumulator() {
    tch::manual_seed(1);
    let lap = operator(6);
    let x = Tensor::randn([6, 2, 3], D);
    let acc = Tensor::randn([6, 2, 3], D);
    let want = &acc
        + lap
            .to_dense(None, false)
            .matmul(&x.reshape([6, 6]))
            .reshape([6, 2, 3]);
    for adj in [lap.shallow_clone(), lap.to_dense(None, false)] {
        assert!(max_diff(&spmm_acc(Some(&acc), &adj, &x), &want) < 1e-12);
    }
}
