//! Short training runs of the series recipe (issue 20): each view beats the majority class on
//! ItalyPowerDemand (24 steps, 67 training series) in a few epochs, the graph view's forecast
//! of sunspots beats persistence, and bad configurations are typed errors.

use graph_data::series_graph::Orientation;
use seqgraph::series::{train_series, SeriesConfig, SeriesModel, SeriesTask, SeriesView};

/// The recipe seeds libtorch's one global generator, and the tests of this
/// binary run on parallel threads: each training test holds this lock, so its
/// draws are its own and its result does not depend on the others' timing.
static TRAINING: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn quick(task: SeriesTask, view: SeriesView, epochs: usize) -> SeriesConfig {
    SeriesConfig {
        task,
        view,
        epochs: Some(epochs),
        hidden: 32,
        dtw: false,
        ..SeriesConfig::default()
    }
}

#[test]
fn every_view_beats_the_majority_class_on_italy_power() {
    let _training = TRAINING.lock().unwrap_or_else(|e| e.into_inner());
    tch::set_num_threads(1);
    for view in [
        SeriesView::Sequence,
        SeriesView::LagGraph,
        SeriesView::VisibilityGraph,
        SeriesView::HorizontalVisibility,
    ] {
        let s = train_series(&quick(SeriesTask::ItalyPower, view, 8)).unwrap();
        assert!(
            s.value > s.baseline + 0.1,
            "{}: accuracy {} vs majority {}",
            s.view,
            s.value,
            s.baseline
        );
        if view != SeriesView::Sequence {
            let (nodes, edges) = s.graph_size.unwrap();
            assert_eq!(nodes, 24.0);
            assert!(edges > 23.0, "{edges}");
        }
    }
}

#[test]
fn graph_view_forecast_beats_persistence() {
    let _training = TRAINING.lock().unwrap_or_else(|e| e.into_inner());
    tch::set_num_threads(1);
    let s = train_series(&quick(SeriesTask::Sunspots, SeriesView::LagGraph, 150)).unwrap();
    assert_eq!(s.metric, "test_rmse");
    assert!(
        s.value < s.baseline,
        "RMSE {} vs persistence {}",
        s.value,
        s.baseline
    );
}

#[test]
fn refusals() {
    let bad_model = SeriesConfig {
        model: Some(SeriesModel::Gin),
        view: SeriesView::Sequence,
        ..quick(SeriesTask::ItalyPower, SeriesView::Sequence, 1)
    };
    assert!(train_series(&bad_model).is_err());
    let bad_lag = SeriesConfig {
        lags: Some(vec![0]),
        orientation: Some(Orientation::Directed),
        ..quick(SeriesTask::ItalyPower, SeriesView::LagGraph, 1)
    };
    assert!(train_series(&bad_lag).unwrap_err().to_string().contains("lag 0"));
    let zero = SeriesConfig {
        epochs: Some(0),
        ..quick(SeriesTask::ItalyPower, SeriesView::LagGraph, 1)
    };
    assert!(train_series(&zero).is_err());
}
