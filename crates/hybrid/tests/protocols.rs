//! The windowed protocols on the real data: Los-loop (T-GCN's), flu_bybw and
//! england_covid (a graph per day): windows, splits, scaling, and the
//! baselines under T-GCN's metric convention.

use graph_data::csr::Csr;
use graph_data::fetch::Fetcher;
use graph_data::pgt::{self, Signal};
use hybrid::protocol::{self, historical_average, Part, Scaling};
use hybrid::{metrics, persistence, Mask, ModelKind, Supports};
use tch::{Kind, Tensor};

fn los_loop() -> graph_data::temporal::StaticGraphSignal {
    graph_data::tabular::load_los_loop(&Fetcher::from_env()).expect("Los-loop from the data mirror")
}

#[test]
fn los_loop_windows_follow_tgcn() {
    let signal = los_loop();
    let speeds = Tensor::from_slice(&signal.values).reshape([2016, 207]);
    let data = protocol::los_loop(&signal, ModelKind::Tgcn, 12, 3, 0.1, Scaling::Max).unwrap();
    // 2016 steps, int(0.8 * 2016) = 1612 for training: 1612 - 15 + 1 = 1598
    // windows, the last 160 (10 %) for validation; 404 - 15 + 1 = 390 test windows.
    assert_eq!(data.train.x.size(), [1438, 12, 207, 1]);
    assert_eq!(data.part(Part::Val).unwrap().len(), 160);
    assert_eq!(data.test.x.size(), [390, 12, 207, 1]);
    assert_eq!(data.test.y.size(), [390, 207, 3]);
    // Max scaling over the whole series (T-GCN); unscale gives the speeds back.
    assert_eq!(data.scale, speeds.max().double_value(&[]));
    let first_test = data.unscale(&data.test.x.get(0).squeeze_dim(-1));
    assert!(first_test.allclose(&speeds.narrow(0, 1612, 12), 1e-5, 1e-4, false));
    let target = data.unscale(&data.test.y.get(5).transpose(0, 1));
    assert!(target.allclose(&speeds.narrow(0, 1612 + 5 + 12, 3), 1e-5, 1e-4, false));
    // z-scoring uses the training part only, and unscale inverts it too.
    let z = protocol::los_loop(&signal, ModelKind::Tgcn, 12, 3, 0.0, Scaling::ZScore).unwrap();
    let train = speeds.narrow(0, 0, 1612).to_kind(Kind::Double);
    assert!((z.offset - train.mean(Kind::Double).double_value(&[])).abs() < 1e-6);
    assert_eq!(z.train.len(), 1598);
    let back = z.unscale(&z.test.x.get(0).squeeze_dim(-1));
    assert!(back.allclose(&speeds.narrow(0, 1612, 12), 1e-5, 1e-3, false));
}

/// T-GCN's table (Zhao et al. 2019) gives the historical average at 15
/// minutes on Los-loop as RMSE 7.4427, MAE 4.0145: that is what the
/// historical average over the 12 input steps scores with the 3 steps
/// flattened together, and not at step 3 alone.
#[test]
fn los_loop_historical_average_matches_tgcn_table() {
    let signal = los_loop();
    let data = protocol::los_loop(&signal, ModelKind::Tgcn, 12, 3, 0.0, Scaling::Max).unwrap();
    let y = data.unscale(&data.test.y);
    let ha = data.unscale(&historical_average(&data.test.x, 3));
    let all = metrics(&ha, &y, Mask::None).unwrap();
    assert!((all.rmse - 7.4427).abs() / 7.4427 < 0.01, "HA RMSE {}", all.rmse);
    assert!((all.mae - 4.0145).abs() / 4.0145 < 0.02, "HA MAE {}", all.mae);
    let step3 = metrics(&ha.select(-1, 2), &y.select(-1, 2), Mask::None).unwrap();
    assert!(
        (step3.rmse - 7.4427).abs() / 7.4427 > 0.05,
        "step 3 alone: {}",
        step3.rmse
    );
    // Persistence is stronger than the historical average at 15 minutes.
    let p = metrics(&data.unscale(&persistence(&data.test.x, 3)), &y, Mask::None).unwrap();
    assert!(p.rmse < all.rmse);
}

#[test]
fn tgcn_support_adds_the_identity_to_los_loops_diagonal() {
    let signal = los_loop();
    let data = protocol::los_loop(&signal, ModelKind::Tgcn, 12, 3, 0.0, Scaling::Max).unwrap();
    let Supports::Static(s) = &data.graph else {
        panic!("Los-loop has a static graph")
    };
    let a_hat = s[0].to_dense(None, false);
    // D^-1/2 (A + I) D^-1/2 from the file's matrix (whose diagonal is already 1).
    let a = Csr::from_edge_list(&signal.edges).unwrap();
    let dense = a.transpose().to_sparse_coo_tensor().to_dense(None, false)
        + Tensor::eye(207, (Kind::Float, tch::Device::Cpu));
    let d = dense
        .sum_dim_intlist(1, false, Kind::Float)
        .pow_tensor_scalar(-0.5);
    let want = d.unsqueeze(1) * &dense * d.unsqueeze(0);
    assert!(a_hat.allclose(&want, 1e-5, 1e-6, false));
    assert!(dense.diagonal(0, 0, 1).eq(2.0).all().int64_value(&[]) == 1);
}

#[test]
fn flu_bybw_weekly_windows() {
    let signal = graph_data::tabular::load_flu_bybw(&Fetcher::from_env()).unwrap();
    assert_eq!((signal.steps, signal.nodes()), (416, 140));
    let data = protocol::flu_bybw(&signal, ModelKind::GConvGru, 8, 1, 0.1, Scaling::Max).unwrap();
    // int(0.8 * 416) = 332 training weeks: 332 - 9 + 1 = 324 windows, round(32.4) = 32 for validation;
    // 84 - 9 + 1 = 76 test windows.
    assert_eq!(data.train.len(), 292);
    assert_eq!(data.part(Part::Val).unwrap().len(), 32);
    assert_eq!(data.test.x.size(), [76, 8, 140, 1]);
    // Counts are zero most weeks: zeros are real, nothing is masked.
    assert_eq!(data.mask, Mask::None);
    let counts = Tensor::from_slice(&signal.values).reshape([416, 140]);
    assert_eq!(data.scale, counts.narrow(0, 0, 332).max().double_value(&[]));
}

#[test]
fn england_covid_windows_read_each_days_graph() {
    let signal = match pgt::load("england-covid", &Fetcher::from_env()).unwrap() {
        Signal::Dynamic(d) => d,
        Signal::Static(_) => panic!("england_covid has a graph per day"),
    };
    let data = protocol::england_covid(&signal, ModelKind::Tgcn, 8, 0.1).unwrap();
    // 61 days, 8 lags: 53 windows, int(0.8 * 53) = 42 for training (4 for validation), 11 for testing.
    assert_eq!(data.train.len(), 38);
    assert_eq!(data.part(Part::Val).unwrap().len(), 4);
    assert_eq!(data.test.x.size(), [11, 8, 129, 1]);
    let graphs = data.graphs(Part::Test).unwrap();
    assert_eq!(graphs.len(), 11);
    // Test window 3 starts on day 42 + 3: its step 5 reads day 50's graph.
    let day = |d: usize| {
        let adj = Csr::from_edge_list(&signal.edges[d]).unwrap();
        ModelKind::Tgcn.support_kind().supports(&adj, false).unwrap()[0].to_dense(None, false)
    };
    let step = graphs[3].at(5)[0].to_dense(None, false);
    assert!(step.allclose(&day(50), 1e-6, 1e-7, false));
    assert!(
        !step.allclose(&day(20), 1e-6, 1e-7, false),
        "the days' graphs differ"
    );
    // Targets: the day after the window, in the file's units after unscale.
    let y = Tensor::from_slice(&signal.values).reshape([61, 129]);
    let t = data.unscale(&data.test.y.get(3).squeeze_dim(-1));
    assert!(t.allclose(&y.get(42 + 3 + 8), 1e-5, 1e-3, false));
}

#[test]
fn dcrnn_protocol_follows_dcrnns_generate_training_data() {
    let signal = los_loop();
    let speeds = Tensor::from_slice(&signal.values).reshape([2016, 207]);
    let tod = protocol::time_of_day_from_index(2016);
    assert_eq!((tod[0], tod[288], tod[289]), (0.0, 0.0, 1.0 / 288.0));
    let data = protocol::dcrnn("los-loop", &signal, &tod, ModelKind::DcrnnSeq2Seq, 12, 12).unwrap();
    // 2016 - 24 + 1 = 1993 windows: round(0.7 S) = 1395 train, round(0.2 S) = 399 test, 199 val.
    assert_eq!(protocol::dcrnn_split(1993), (1395, 199, 399));
    assert_eq!(data.train.x.size(), [1395, 12, 207, 2]);
    assert_eq!(data.part(Part::Val).unwrap().len(), 199);
    assert_eq!(data.test.y.size(), [399, 207, 12]);
    // The scaler is fitted on the training inputs' speeds (population std).
    let train_speeds = data.train.x.narrow(-1, 0, 1).to_kind(Kind::Double);
    assert!(train_speeds.mean(Kind::Double).double_value(&[]).abs() < 1e-6);
    assert!((train_speeds.std(false).double_value(&[]) - 1.0).abs() < 1e-6);
    // The test windows are the last 399: the last target is the series' last step.
    let last = data.unscale_target(&data.test.y.get(398).select(1, 11));
    assert!(last.allclose(&speeds.get(2015), 1e-5, 1e-3, false));
    // Channel 1 is the time of day, unscaled: window s, step j is step s + j.
    let w = 1700;
    let x = data.test.x.get(w - 1594);
    assert!((x.double_value(&[5, 0, 1]) - ((w + 5) % 288) as f64 / 288.0).abs() < 1e-6);
    // Baselines read the speed channel only.
    let base = data.unscale(&persistence(&data.test.x.narrow(-1, 0, 1), 12));
    assert!(base
        .get(0)
        .select(1, 0)
        .allclose(&speeds.get(1594 + 11), 1e-5, 1e-3, false));
}

#[test]
fn dcrnn_protocol_masks_zero_readings_in_loss_and_metrics() {
    // 40 steps of 3 nodes; node 1 reads 0 (missing) at every even step.
    let mut values = Vec::new();
    for t in 0..40 {
        for n in 0..3 {
            values.push(if n == 1 && t % 2 == 0 {
                0.0
            } else {
                50.0 + t as f32 + n as f32
            });
        }
    }
    let edges = graph_data::EdgeList::from_pairs(3, &[(0, 1), (1, 2), (2, 0)]).unwrap();
    let signal = graph_data::temporal::StaticGraphSignal::new(edges, 40, 1, values).unwrap();
    let tod = protocol::time_of_day_from_index(40);
    let data = protocol::dcrnn("toy", &signal, &tod, ModelKind::GConvGru, 4, 3).unwrap();
    let y = &data.test.y;
    let truth = data.unscale_target(y);
    let zeros = truth.eq(0.0).sum(Kind::Int64).int64_value(&[]);
    assert!(zeros > 0, "the missing readings come back as exactly 0");
    // A forecast that is perfect except where the truth is missing scores 0 error.
    let pred = truth.masked_fill(&truth.eq(0.0), 1000.0);
    let m = metrics(&pred, &truth, data.mask).unwrap();
    assert_eq!((m.mae, m.count), (0.0, truth.numel() as i64 - zeros));
    // The training loss ignores them too, and is in the data's units.
    let scaled_pred = (&pred - data.offset) / data.scale;
    let loss = data.loss(hybrid::Loss::MaskedMae, &scaled_pred, y).unwrap();
    assert!(loss.double_value(&[]) < 1e-3, "{}", loss.double_value(&[]));
    let off_by_two = (&truth + 2.0 - data.offset) / data.scale;
    let loss = data.loss(hybrid::Loss::MaskedMae, &off_by_two, y).unwrap();
    assert!(
        (loss.double_value(&[]) - 2.0).abs() < 1e-3,
        "{}",
        loss.double_value(&[])
    );
}

#[test]
fn dcrnn_protocol_settings_and_refusals() {
    use hybrid::recipe::{prepare, Dataset, ForecastConfig, Protocol};
    use train_utils::TrainError;
    let config = |model, dataset, protocol| ForecastConfig {
        model,
        dataset,
        protocol,
        ..ForecastConfig::default()
    };
    let s = config(ModelKind::DcrnnSeq2Seq, Dataset::LosLoop, Protocol::Dcrnn)
        .settings()
        .unwrap();
    assert_eq!((s.t_in, s.horizon, s.k, s.hidden), (12, 12, 3, 64));
    assert_eq!(
        (s.fit.lr, s.fit.batch_size, s.fit.loss),
        (0.01, Some(64), hybrid::Loss::MaskedMae)
    );
    assert_eq!(s.clip, Some(5.0));
    let g = config(ModelKind::GraphWaveNet, Dataset::MetrLa, Protocol::Dcrnn)
        .settings()
        .unwrap();
    assert_eq!((g.fit.lr, g.fit.weight_decay, g.hidden), (0.001, 1e-4, 32));
    // The native protocols are unchanged.
    let native = config(ModelKind::Tgcn, Dataset::LosLoop, Protocol::Native)
        .settings()
        .unwrap();
    assert_eq!((native.horizon, native.fit.loss), (3, hybrid::Loss::Mse));
    for (dataset, protocol) in [
        (Dataset::Chickenpox, Protocol::Dcrnn),
        (Dataset::MetrLa, Protocol::Native),
        (Dataset::PemsBay, Protocol::Native),
    ] {
        let r = config(ModelKind::GConvGru, dataset, protocol).settings();
        assert!(
            matches!(r, Err(TrainError::Config(_))),
            "{dataset:?} {protocol:?}: {r:?}"
        );
    }
    // METR-LA's files are the user's: a folder without them says what is missing.
    let dir = std::env::temp_dir().join("seqgraph-no-metr-la");
    let c = ForecastConfig {
        data_dir: Some(dir),
        ..config(ModelKind::GConvGru, Dataset::MetrLa, Protocol::Dcrnn)
    };
    let e = prepare(&c, &c.settings().unwrap()).unwrap_err().to_string();
    assert!(e.contains("METR-LA.zip") && e.contains("node_values.npy"), "{e}");
}
