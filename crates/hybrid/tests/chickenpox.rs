//! PyG Temporal's Chickenpox recipe, shortened: every model beats persistence
//! after a few dozen full-batch epochs.

use graph_data::fetch::Fetcher;
use graph_data::pgt::{self, Signal};
use hybrid::recipe::{self, CHICKENPOX_FIT};
use hybrid::{FitConfig, ModelConfig, ModelKind};
use tch::{Device, Kind, Tensor};

fn chickenpox() -> graph_data::temporal::StaticGraphSignal {
    match pgt::load("chickenpox", &Fetcher::from_env()).expect("Chickenpox from the data mirror") {
        Signal::Static(s) => s,
        Signal::Dynamic(_) => panic!("Chickenpox has a static graph"),
    }
}

#[test]
fn the_lag_view_and_split_match_pgt() {
    let signal = chickenpox();
    let data = recipe::chickenpox(&signal, ModelKind::Dcrnn, 4, 0.2).unwrap();
    // 521 weeks, 4 lags: 517 snapshots, int(0.2 * 517) = 103 for training.
    assert_eq!(data.train.x.size(), [103, 1, 20, 4]);
    assert_eq!(data.test.x.size(), [414, 1, 20, 4]);
    assert_eq!(data.train.y.size(), [103, 20, 1]);
    // Snapshot s: features FX[s..s+4].T, target FX[s+4].
    let fx = Tensor::from_slice(&signal.values).reshape([521, 20]);
    let s = 7;
    assert!(data
        .train
        .x
        .get(s)
        .get(0)
        .equal(&fx.narrow(0, s, 4).transpose(0, 1)));
    assert!(data.train.y.get(s).squeeze_dim(-1).equal(&fx.get(s + 4)));
    assert!(data.test.y.get(0).squeeze_dim(-1).equal(&fx.get(103 + 4)));
    // A3T-GCN reads the lags as 4 steps of one feature.
    let a3 = recipe::chickenpox(&signal, ModelKind::A3tgcn, 4, 0.2).unwrap();
    assert_eq!(a3.train.x.size(), [103, 4, 20, 1]);
    assert!(a3.train.x.get(s).squeeze_dim(-1).equal(&fx.narrow(0, s, 4)));
}

#[test]
fn a_few_epochs_of_every_model_beat_persistence() {
    tch::set_num_threads(1);
    let signal = chickenpox();
    let fit = FitConfig {
        epochs: 40,
        ..CHICKENPOX_FIT
    };
    for kind in ModelKind::ALL {
        let data = recipe::chickenpox(&signal, kind, 4, 0.2).unwrap();
        let config = ModelConfig {
            kind,
            in_features: data.in_features,
            hidden: 32,
            k: if matches!(kind, ModelKind::Stgcn | ModelKind::GraphWaveNet) {
                3
            } else {
                2
            },
            periods: data.periods,
            nodes: data.nodes(),
            horizon: 1,
        };
        let r = recipe::run(&data, &config, &fit, 1, Device::Cpu).unwrap();
        assert!(
            r.test.mse < r.persistence.mse,
            "{kind:?}: test MSE {} not below persistence {}",
            r.test.mse,
            r.persistence.mse
        );
        assert!(r.final_train_loss.is_finite());
    }
    // The metric is the mean of the per-snapshot MSEs: all snapshots have 20 nodes.
    let y = Tensor::randn([5, 20, 1], (Kind::Float, Device::Cpu));
    let p = Tensor::randn([5, 20, 1], (Kind::Float, Device::Cpu));
    let per_snapshot: f64 = (0..5)
        .map(|s| (p.get(s) - y.get(s)).square().mean(Kind::Float).double_value(&[]))
        .sum::<f64>()
        / 5.0;
    let m = hybrid::metrics(&p, &y, hybrid::Mask::None).unwrap();
    assert!((m.mse - per_snapshot).abs() < 1e-5);
}
