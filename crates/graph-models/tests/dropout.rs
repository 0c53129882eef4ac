//! graph-models' dropout (a uniform draw and a comparison instead of
//! libtorch's `bernoulli_`): keeps a `1 - p` share of entries, scales them by
//! `1 / (1 - p)`, passes gradients through the same mask, and is the identity
//! outside training.

use graph_models::layer::dropout;
use tch::{Device, Kind, Tensor};

#[test]
fn keeps_one_minus_p_scaled_and_masks_the_gradient() {
    tch::manual_seed(11);
    let n = 200_000;
    let x = (Tensor::rand([n], (Kind::Float, Device::Cpu)) + 1.0).set_requires_grad(true);
    for p in [0.5, 0.6] {
        let y = dropout(&x, p, true);
        let kept = y.ne(0.0);
        let share = kept.to_kind(Kind::Double).mean(Kind::Double).double_value(&[]);
        // Binomial standard deviation at n = 2e5 is about 0.0011.
        assert!((share - (1.0 - p)).abs() < 0.005, "p {p}: kept {share}");
        let ratio = y.masked_select(&kept) / x.detach().masked_select(&kept);
        let worst = (ratio - 1.0 / (1.0 - p)).abs().max().double_value(&[]);
        assert!(worst < 1e-5, "p {p}: scale off by {worst}");
        let mut x = x.shallow_clone();
        x.zero_grad();
        y.sum(Kind::Float).backward();
        let want = kept.to_kind(Kind::Float) / (1.0 - p);
        assert!(
            x.grad().allclose(&want, 1e-6, 1e-6, false),
            "p {p}: gradient is not the scaled mask"
        );
    }
    assert!(dropout(&x, 0.6, false).equal(&x));
    assert_eq!(
        dropout(&x, 1.0, true).abs().sum(Kind::Float).double_value(&[]),
        0.0
    );
}
