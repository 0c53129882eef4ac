//! Polynomial graph filters, the one place their recurrences live: Chebyshev
//! polynomials of a scaled Laplacian (Defferrard et al. 2016: [`ChebConv`],
//! and hybrid's GConvGRU and GConvLSTM) and powers of a transition matrix (Li
//! et al. 2018: DCRNN's diffusion convolution).
//!
//! Signals are node-first, `x` `[N, ...]`: `[N, F]`, or `[N, B, F]` for a
//! batch of signals on one graph (hybrid's node-major sequences). The
//! operator `S` is given as the function that applies it, `apply(t) = S t`:
//! a layer's own propagation ([`ChebConv`] passes its
//! [`MessagePassing::propagate`](crate::MessagePassing::propagate)), or a
//! product with an `N x N` tensor ([`spmm`](crate::spmm), as hybrid does). A
//! weight `W_k` is `[out, in]` and acts on the last dimension.
//!
//! A filter `sum_k P_k(S) X W_k^T` can be computed two ways with the same
//! result: build the basis `P_k(S) X` and multiply each block by its weight,
//! or multiply first (`X W_k^T`, `out` columns wide) and run the recurrence
//! on the products (Clenshaw's for Chebyshev, Horner's for powers). The
//! filters here pick the narrower side: when `out <= in` the operator acts on
//! the products, and autograd keeps only `x` and those products.
//!
//! [`ChebConv`]: crate::ChebConv

use tch::Tensor;

/// The Chebyshev basis `[T_0(L) x, ..., T_(k-1)(L) x]` of a node-first `x`
/// (`[N, ...]`, each block the same shape): `T_0 x = x`, `T_1 x = L x`,
/// `T_j x = 2 L T_(j-1) x - T_(j-2) x`, where `lap(t) = L t` applies the
/// scaled Laplacian `2 L / lambda_max - I`. `k = 0` gives no blocks.
///
/// ```
/// use graph_models::polynomial::chebyshev_basis;
/// use graph_models::spmm;
/// use tch::Tensor;
/// let lap = Tensor::from_slice2(&[[0.0f32, -1.0], [-1.0, 0.0]]);
/// let x = Tensor::from_slice2(&[[1.0f32], [2.0]]);
/// let basis = chebyshev_basis(&|t: &Tensor| spmm(&lap, t), &x, 3);
/// // T_2 x = 2 L (L x) - x = 2 L^2 x - x = x for this L (L^2 = I).
/// assert_eq!(Vec::<f32>::try_from(basis[2].flatten(0, -1)).unwrap(), vec![1.0, 2.0]);
/// ```
pub fn chebyshev_basis(lap: &dyn Fn(&Tensor) -> Tensor, x: &Tensor, k: usize) -> Vec<Tensor> {
    let mut blocks: Vec<Tensor> = Vec::with_capacity(k);
    for j in 0..k {
        let next = match j {
            0 => x.shallow_clone(),
            1 => lap(x),
            _ => lap(&blocks[j - 1]) * 2.0 - &blocks[j - 2],
        };
        blocks.push(next);
    }
    blocks
}

/// The power basis `[x, S x, S^2 x, ..., S^(k-1) x]` of a node-first `x`
/// (`[N, ...]`), where `s(t) = S t` applies the operator (a random-walk
/// transition matrix in DCRNN). `k = 0` gives no blocks.
pub fn power_basis(s: &dyn Fn(&Tensor) -> Tensor, x: &Tensor, k: usize) -> Vec<Tensor> {
    let mut blocks: Vec<Tensor> = Vec::with_capacity(k);
    for j in 0..k {
        let next = if j == 0 {
            x.shallow_clone()
        } else {
            s(&blocks[j - 1])
        };
        blocks.push(next);
    }
    blocks
}

/// `acc + x W^T` over the last dimension of a node-first `x` `[N, ..., in]`,
/// as one matrix product over all leading rows (`acc` `None`: `x W^T`).
pub fn linear_acc(acc: Option<&Tensor>, x: &Tensor, w: &Tensor) -> Tensor {
    affine(acc, x, w, None)
}

/// `acc + x W^T + b` over the last dimension of a node-first `x`.
fn affine(acc: Option<&Tensor>, x: &Tensor, w: &Tensor, bias: Option<&Tensor>) -> Tensor {
    let mut size = x.size();
    let inner = *size.last().expect("a tensor with a feature dimension");
    let rows = x.reshape([-1, inner]);
    // Many rows by a small weight (a graph-recurrent gate): a kernel that runs
    // these skinny products faster than libtorch's GEMM; `addmm` otherwise.
    let acc = acc.map(|a| a.reshape([-1, w.size()[0]]));
    let out = train_utils::small_linear::linear(acc.as_ref(), &rows, w, bias);
    *size.last_mut().expect("checked above") = w.size()[0];
    out.reshape(size.as_slice())
}

/// The Chebyshev filter `sum_k T_k(L) x W_k^T` of a node-first `x`
/// (`[N, ..., in]`), `lap(t) = L t`, with one weight `[out, in]` per order (`weights.len()` is
/// the filter size `K >= 1`): `[N, ..., out]`.
///
/// When `out <= in` it runs Clenshaw's recurrence on the products `x W_k^T`
/// (`b_j = x W_j^T + 2 L b_(j+1) - b_(j+2)`, result `x W_0^T + L b_1 - b_2`),
/// so no basis block is built; otherwise it builds [`chebyshev_basis`].
pub fn chebyshev_filter(lap: &dyn Fn(&Tensor) -> Tensor, x: &Tensor, weights: &[Tensor]) -> Tensor {
    let lap_acc = |acc: Option<&Tensor>, t: &Tensor| match acc {
        Some(a) => a + lap(t),
        None => lap(t),
    };
    chebyshev_filter_acc(&lap_acc, None, x, weights, None)
}

/// `acc + sum_k T_k(L) x W_k^T + b`: [`chebyshev_filter`] with an accumulator
/// `[N, ..., out]` and a bias `[out]` (either may be `None`), where the
/// operator is applied with an accumulator too: `lap(a, t) = a + L t` (`a`
/// `None`: `L t`).
///
/// The terms are summed inside the products that make them (`acc` enters
/// the last product with `L`, the bias the last product with a weight), so
/// a graph-recurrent gate's input term and bias cost no pass of their own
/// over the output: with [`spmm_acc`](crate::spmm_acc) as `lap`, the
/// sparse product's rows start from `acc`.
pub fn chebyshev_filter_acc(
    lap: &dyn Fn(Option<&Tensor>, &Tensor) -> Tensor,
    acc: Option<&Tensor>,
    x: &Tensor,
    weights: &[Tensor],
    bias: Option<&Tensor>,
) -> Tensor {
    let k = weights.len();
    assert!(k >= 1, "chebyshev_filter needs at least one weight (K >= 1)");
    let width = *x.size().last().expect("a feature dimension");
    if k == 1 || weights[0].size()[0] > width {
        let basis = chebyshev_basis(&|t: &Tensor| lap(None, t), x, k);
        let mut sum = affine(acc, &basis[0], &weights[0], bias);
        for (b, w) in basis.iter().zip(weights).skip(1) {
            sum = linear_acc(Some(&sum), b, w);
        }
        return sum;
    }
    let mut next: Option<Tensor> = None; // b_(j+1)
    let mut after: Option<Tensor> = None; // b_(j+2)
    for j in (1..k).rev() {
        let mut b = linear_acc(None, x, &weights[j]);
        if let Some(b1) = &next {
            b += lap(None, b1) * 2.0;
        }
        if let Some(b2) = &after {
            b -= b2;
        }
        after = next.replace(b);
    }
    let b1 = next.expect("k >= 2 here");
    let sum = affine(Some(&lap(acc, &b1)), x, &weights[0], bias);
    match after {
        Some(b2) => sum - b2,
        None => sum,
    }
}

/// The power filter `sum_j S^j x W_j^T` (`j` from 0 to `weights.len() - 1`)
/// of a node-first `x` (`[N, ..., in]`), `s(t) = S t`: `[N, ..., out]`. When `out <= in`
/// it runs Horner's scheme on the products, `x W_0^T + S (x W_1^T + S (...))`;
/// otherwise it builds [`power_basis`].
pub fn power_filter(s: &dyn Fn(&Tensor) -> Tensor, x: &Tensor, weights: &[Tensor]) -> Tensor {
    let k = weights.len();
    assert!(k >= 1, "power_filter needs at least one weight");
    let width = *x.size().last().expect("a feature dimension");
    if k == 1 || weights[0].size()[0] > width {
        let basis = power_basis(s, x, k);
        let mut acc = linear_acc(None, &basis[0], &weights[0]);
        for (b, w) in basis.iter().zip(weights).skip(1) {
            acc = linear_acc(Some(&acc), b, w);
        }
        return acc;
    }
    let mut acc = linear_acc(None, x, &weights[k - 1]);
    for w in weights[..k - 1].iter().rev() {
        acc = linear_acc(Some(&s(&acc)), x, w);
    }
    acc
}
