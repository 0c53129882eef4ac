//! PyG Temporal's Chickenpox recipe, shortened: every model beats persistence
//! after a few dozen full-batch epochs.

use graph_data::fetch::Fetcher;
use graph_data::pgt::{self, Signal};
use hybrid::protocol;
use hybrid::{forecast, Dataset, ForecastConfig, ModelKind};
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
    let data = protocol::chickenpox(&signal, ModelKind::Dcrnn, 4, 0.2).unwrap();
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
    let a3 = protocol::chickenpox(&signal, ModelKind::A3tgcn, 4, 0.2).unwrap();
    assert_eq!(a3.train.x.size(), [103, 4, 20, 1]);
    assert!(a3.train.x.get(s).squeeze_dim(-1).equal(&fx.narrow(0, s, 4)));
}

#[test]
fn a_few_epochs_of_every_model_beat_persistence() {
    tch::set_num_threads(1);
    for kind in ModelKind::ALL {
        // The library recipe end to end: PGT's protocol, 40 of its 200 epochs, K 2.
        let config = ForecastConfig {
            model: kind,
            dataset: Dataset::Chickenpox,
            epochs: Some(40),
            k: (!matches!(kind, ModelKind::Stgcn | ModelKind::GraphWaveNet)).then_some(2),
            device: Device::Cpu,
            ..ForecastConfig::default()
        };
        let r = forecast(&config).unwrap();
        assert!(
            r.mse < r.persistence.mse,
            "{kind:?}: test MSE {} not below persistence {}",
            r.mse,
            r.persistence.mse
        );
        assert_eq!(r.epochs_run, [40]);
        assert!(r.runs[0].fit.train_losses.iter().all(|l| l.is_finite()));
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
