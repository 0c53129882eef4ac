//! GIN on MUTAG, short: the recipe beats the majority class under both
//! protocols, GINE uses the bond labels, the same seed gives the same run,
//! Xu et al.'s grid search runs each configuration and keeps the best,
//! Errica et al.'s chooses on each outer fold's hold-out, and
//! the network refuses inputs that do not fit.

use graph_models::graph_recipe::{random_batches, stratified_folds};
use graph_models::{
    errica_grid, graph_classification, graph_classification_grid, xu_grid, GinNet, GinNetConfig, GinReadout,
    GinVariant, GraphConfig, Protocol,
};
use proptest::prelude::*;
use tch::{nn, Device, Kind, Tensor};

fn quick(variant: GinVariant, protocol: Protocol) -> GraphConfig {
    GraphConfig {
        dataset: "mutag".into(),
        model: GinNetConfig {
            variant,
            ..GinNetConfig::default()
        },
        protocol,
        folds: 10,
        max_folds: Some(2),
        epochs: 20,
        // About one pass over MUTAG's training folds per epoch (Xu et al.'s 50 batches are 9).
        iters_per_epoch: Some(6),
        device: Device::Cpu,
        ..GraphConfig::default()
    }
}

/// One test: libtorch's generator is global, and tests of one binary run
/// in parallel, so every run that must repeat itself runs here in turn.
#[test]
fn gin_on_mutag_beats_the_majority_class_and_repeats_itself() {
    let s = graph_classification(&quick(GinVariant::Gin0, Protocol::Xu)).unwrap();
    eprintln!(
        "GIN-0 xu: {:.1} ± {:.1}, {:.1} ms/epoch, {:.1} s",
        s.test_acc_mean, s.test_acc_std, s.ms_per_epoch, s.seconds
    );
    assert_eq!((s.folds_run, s.val_curve.len(), s.fold_accs.len()), (2, 20, 2));
    assert_eq!(s.node_features, 7, "MUTAG's 7 atom types, one-hot");
    assert!((s.majority_acc - 66.49).abs() < 0.01, "{}", s.majority_acc);
    assert!(s.test_acc_mean > s.majority_acc + 5.0, "{s:?}");
    let e = graph_classification(&quick(GinVariant::Gine, Protocol::Errica)).unwrap();
    assert_eq!((e.protocol.as_str(), e.selected_epochs.len()), ("errica", 2));
    assert!(e.test_acc_mean > e.majority_acc, "{e:?}");
    let short = GraphConfig {
        epochs: 4,
        ..quick(GinVariant::GinEps, Protocol::Xu)
    };
    let (a, b) = (
        graph_classification(&short).unwrap(),
        graph_classification(&short).unwrap(),
    );
    assert_eq!(a.val_curve, b.val_curve, "same seed, same run");
    let enzymes = GraphConfig {
        dataset: "enzymes".into(),
        node_attributes: true,
        max_folds: Some(1),
        epochs: 1,
        ..quick(GinVariant::Gin0, Protocol::Errica)
    };
    let s = graph_classification(&enzymes).unwrap();
    assert_eq!(
        s.node_features, 21,
        "Errica et al.'s ENZYMES: 18 attributes and 3 labels"
    );
    grid_runs_each_configuration_and_keeps_the_best();
    errica_grid_chooses_on_each_folds_hold_out();
    bad_configs_and_inputs_are_refused();
}

fn grid_runs_each_configuration_and_keeps_the_best() {
    let base = GraphConfig {
        max_folds: Some(1),
        epochs: 3,
        ..quick(GinVariant::Gin0, Protocol::Xu)
    };
    // Two of Xu et al.'s configurations: small hidden and no dropout, and the code's defaults.
    let grid = xu_grid(&base);
    let configs = [grid[0].clone(), base.clone()];
    let g = graph_classification_grid(&configs).unwrap();
    assert_eq!(g.runs.len(), 2);
    assert_eq!(
        (g.runs[0].hidden, g.runs[0].dropout, g.runs[1].hidden),
        (16, 0.0, 64)
    );
    let best = if g.runs[1].test_acc_mean > g.runs[0].test_acc_mean {
        1
    } else {
        0
    };
    assert_eq!(g.best, best, "{g:?}");
    assert_eq!(g.best_run(), &g.runs[best]);
    assert_eq!(g.chosen, [best], "xu: the best configuration scores every fold");
    assert_eq!(
        (g.fold_accs.as_slice(), g.test_acc_mean),
        (g.runs[best].fold_accs.as_slice(), g.runs[best].test_acc_mean)
    );
    for r in &g.runs {
        assert_eq!(
            r.fold_val_accs, r.fold_accs,
            "xu: the held-out fold selects and scores"
        );
    }
    let alone = graph_classification(&configs[0]).unwrap();
    assert_eq!(
        alone.val_curve, g.runs[0].val_curve,
        "a grid's run is that configuration's run"
    );
    let m = graph_classification_grid(&[]).unwrap_err().to_string();
    assert!(m.contains("at least one configuration"), "{m}");
    for change in [
        |c: &mut GraphConfig| c.protocol = Protocol::Errica,
        |c: &mut GraphConfig| c.seed += 1,
        |c: &mut GraphConfig| c.dataset = "proteins".into(),
    ] {
        let mut mixed = configs.clone();
        change(&mut mixed[1]);
        let m = graph_classification_grid(&mixed).unwrap_err().to_string();
        assert!(m.contains("on the same folds"), "{m}");
    }
    let mut saving = configs.clone();
    saving[1].checkpointing.path = Some("grid.ot".into());
    let m = graph_classification_grid(&saving).unwrap_err().to_string();
    assert!(m.contains("does not checkpoint"), "{m}");
}

/// Errica et al.'s model selection: each outer fold is scored by the
/// configuration with the best accuracy on its inner hold-out.
fn errica_grid_chooses_on_each_folds_hold_out() {
    let base = GraphConfig {
        epochs: 3,
        ..quick(GinVariant::Gin0, Protocol::Errica)
    };
    // Two small points of their space: 1 x 64 and 2 x 32 GIN layers, GIN-0, batch 128, no dropout.
    let configs: Vec<GraphConfig> = errica_grid(&base)
        .into_iter()
        .filter(|c| c.model.layers < 5 && c.model.variant == GinVariant::Gin0)
        .filter(|c| c.batch_size == 128 && c.model.dropout == 0.0 && c.model.readout == GinReadout::Sum)
        .collect();
    assert_eq!(configs.len(), 2);
    let g = graph_classification_grid(&configs).unwrap();
    assert_eq!(
        (g.protocol.as_str(), g.runs.len(), g.chosen.len()),
        ("errica", 2, 2)
    );
    for f in 0..2 {
        let (v0, v1) = (g.runs[0].fold_val_accs[f], g.runs[1].fold_val_accs[f]);
        assert!((0.0..=100.0).contains(&v0) && (0.0..=100.0).contains(&v1));
        let want = if v1 > v0 { 1 } else { 0 };
        assert_eq!(
            g.chosen[f], want,
            "fold {f}: the better hold-out accuracy, {v0} vs {v1}"
        );
        assert_eq!(
            g.fold_accs[f], g.runs[want].fold_accs[f],
            "scored on the outer fold"
        );
    }
    let mean = g.fold_accs.iter().sum::<f64>() / 2.0;
    assert!((g.test_acc_mean - mean).abs() < 1e-9);
    assert!(g.chosen.contains(&g.best), "the most often chosen");
}

#[test]
fn errica_grid_is_their_gin_space_as_gin_net_expresses_it() {
    let base = GraphConfig {
        dataset: "proteins".into(),
        seed: 3,
        epochs: 11,
        ..GraphConfig::for_protocol(Protocol::Errica)
    };
    let grid = errica_grid(&base);
    let mut points: Vec<(usize, i64, &str, &str, usize, u64)> = grid
        .iter()
        .map(|c| {
            let m = c.model;
            (
                m.layers,
                m.hidden,
                m.variant.name(),
                m.readout.name(),
                c.batch_size,
                (m.dropout * 10.0) as u64,
            )
        })
        .collect();
    points.sort_unstable();
    points.dedup();
    assert_eq!(points.len(), 64, "distinct points");
    let shapes: std::collections::BTreeSet<(usize, i64)> = points.iter().map(|p| (p.0, p.1)).collect();
    assert_eq!(
        shapes.into_iter().collect::<Vec<_>>(),
        [(2, 64), (3, 32), (5, 32), (5, 64)]
    );
    assert_only_the_searched_fields_vary(&grid, &base);
    let gine = errica_grid(&GraphConfig {
        model: GinNetConfig {
            variant: GinVariant::Gine,
            ..base.model
        },
        ..base
    });
    assert_eq!(gine.len(), 32);
    assert!(gine.iter().all(|c| c.model.variant == GinVariant::Gine));
}

/// Every configuration of a grid is `base` but for its network, batch size
/// and dropout (the fields both papers search).
fn assert_only_the_searched_fields_vary(grid: &[GraphConfig], base: &GraphConfig) {
    for c in grid {
        let back = GraphConfig {
            model: base.model,
            batch_size: base.batch_size,
            ..c.clone()
        };
        assert_eq!(&back, base, "only the network, batch size and dropout vary");
    }
}

#[test]
fn xu_grid_is_the_papers_search_space() {
    let base = GraphConfig {
        dataset: "nci1".into(),
        seed: 7,
        epochs: 11,
        ..GraphConfig::default()
    };
    let grid = xu_grid(&base);
    let mut points: Vec<(i64, usize, u64)> = grid
        .iter()
        .map(|c| (c.model.hidden, c.batch_size, (c.model.dropout * 10.0) as u64))
        .collect();
    points.sort_unstable();
    points.dedup();
    let want: Vec<(i64, usize, u64)> = [16, 32]
        .into_iter()
        .flat_map(|h| [32, 128].into_iter().flat_map(move |b| [(h, b, 0), (h, b, 5)]))
        .collect();
    assert_eq!((grid.len(), points), (8, want));
    assert!(
        grid.iter()
            .all(|c| (c.model.layers, c.model.variant) == (base.model.layers, base.model.variant)),
        "xu keeps the network's depth and variant"
    );
    assert_only_the_searched_fields_vary(&grid, &base);
    let social = xu_grid(&GraphConfig {
        dataset: "imdb-binary".into(),
        ..base
    });
    assert_eq!(social.len(), 4);
    assert!(
        social.iter().all(|c| c.model.hidden == 64),
        "the social sets keep 64 units"
    );
}

#[test]
fn collating_into_tensors_is_collating_then_converting() {
    use graph_data::batch::{BatchTensors, GraphBatch, GraphSample};
    let d = graph_data::tu::load("mutag", &graph_data::fetch::Fetcher::from_env()).unwrap();
    let mut gs: Vec<GraphSample> = d.graphs[..40].to_vec();
    gs[3].node_y = vec![1; gs[3].num_nodes];
    gs.iter_mut()
        .filter(|g| g.node_y.is_empty())
        .for_each(|g| g.node_y = vec![2; g.num_nodes]);
    gs.insert(
        5,
        GraphSample {
            num_node_features: 7,
            num_edge_features: 4,
            ..Default::default()
        },
    );
    // Small (serial) and large (parallel) batches.
    let big: Vec<&GraphSample> = (0..30).flat_map(|_| gs.iter()).collect();
    for refs in [gs.iter().collect::<Vec<_>>(), big] {
        let a = GraphBatch::from_refs(&refs).unwrap().to_tensors();
        let b = BatchTensors::from_refs(&refs).unwrap();
        for (x, y) in [
            (&a.x, &b.x),
            (&a.edge_index, &b.edge_index),
            (&a.batch, &b.batch),
            (&a.ptr, &b.ptr),
            (&a.y, &b.y),
        ] {
            assert_eq!(x, y);
        }
        assert_eq!(a.edge_attr.unwrap(), b.edge_attr.unwrap());
        assert_eq!(a.node_y.unwrap(), b.node_y.unwrap());
    }
    let mut bad = gs[0].clone();
    bad.src[0] = 99;
    assert!(BatchTensors::from_refs(&[&gs[0], &bad])
        .unwrap_err()
        .to_string()
        .contains("graph 1 of the batch"));
}

#[test]
fn folds_are_stratified_and_partition_the_data() {
    let labels: Vec<i64> = (0..188).map(|i| i64::from(i % 3 == 0)).collect();
    let folds = stratified_folds(&labels, 10, 4);
    let mut all: Vec<usize> = folds.iter().flatten().copied().collect();
    all.sort_unstable();
    assert_eq!(all, (0..188).collect::<Vec<_>>());
    for f in &folds {
        let ones = f.iter().filter(|&&i| labels[i] == 1).count();
        assert!(
            (6..=7).contains(&ones) && (18..=19).contains(&f.len()),
            "{ones} of {}",
            f.len()
        );
    }
    assert_ne!(folds, stratified_folds(&labels, 10, 5));
}

#[test]
fn the_rate_halves_every_fifty_epochs_as_both_papers_code() {
    let xu = GraphConfig::default();
    let errica = GraphConfig::for_protocol(Protocol::Errica);
    assert_eq!((xu.iters_per_epoch, errica.iters_per_epoch), (Some(50), None));
    assert_eq!(errica.protocol, Protocol::Errica);
    for (epoch, lr) in [
        (0, 0.01),
        (49, 0.01),
        (50, 0.005),
        (99, 0.005),
        (100, 0.0025),
        (349, 0.01 / 64.0),
    ] {
        assert!(
            (xu.lr_at(epoch) - lr).abs() < 1e-15,
            "epoch {epoch}: {}",
            xu.lr_at(epoch)
        );
    }
    let constant = GraphConfig {
        lr_step: 0,
        ..GraphConfig::default()
    };
    assert_eq!(constant.lr_at(300), 0.01);
}

proptest! {
    /// Xu et al.'s epoch: each batch is `batch_size` distinct training ids
    /// (all of them when fewer), the draws repeat per seed and differ across seeds.
    #[test]
    fn random_batches_draw_distinct_training_graphs(
        n in 1usize..200, batch in 2usize..64, iters in 1usize..8, seed in any::<u64>()
    ) {
        let train: Vec<usize> = (0..n).map(|i| 3 * i + 1).collect();
        let draws = random_batches(&train, batch, iters, seed);
        prop_assert_eq!(draws.len(), iters);
        for d in &draws {
            prop_assert_eq!(d.len(), batch.min(n));
            let mut s = d.clone();
            s.sort_unstable();
            s.dedup();
            prop_assert_eq!(s.len(), d.len(), "distinct");
            prop_assert!(d.iter().all(|i| i % 3 == 1 && *i < 3 * n));
        }
        prop_assert_eq!(&draws, &random_batches(&train, batch, iters, seed));
        if n >= 20 && batch >= 4 {
            prop_assert_ne!(draws, random_batches(&train, batch, iters, seed ^ 1));
        }
    }
}

fn bad_configs_and_inputs_are_refused() {
    let mut c = quick(GinVariant::Gine, Protocol::Xu);
    c.dataset = "proteins".into();
    let m = graph_classification(&c).unwrap_err().to_string();
    assert!(m.contains("GINE needs edge features"), "{m}");
    c.model.variant = GinVariant::Gin0;
    c.dataset = "mutag".into();
    c.node_attributes = true;
    let m = graph_classification(&c).unwrap_err().to_string();
    assert!(m.contains("MUTAG has no node attributes"), "{m}");
    c.dataset = "nope".into();
    assert!(graph_classification(&c).is_err());
    c.dataset = "mutag".into();
    c.node_attributes = false;
    c.iters_per_epoch = Some(0);
    let m = graph_classification(&c).unwrap_err().to_string();
    assert!(m.contains("iters_per_epoch >= 1"), "{m}");
    let vs = nn::VarStore::new(Device::Cpu);
    let cfg = GinNetConfig {
        variant: GinVariant::Gine,
        ..GinNetConfig::default()
    };
    assert!(GinNet::f_new(vs.root(), 7, 0, 2, cfg).is_err());
    let net = GinNet::new(vs.root(), 7, 4, 2, cfg);
    let x = Tensor::ones([3, 7], (Kind::Float, Device::Cpu));
    let batch = Tensor::from_slice(&[0i64, 0, 1]);
    let ei = Tensor::from_slice2(&[[0i64, 1], [1, 5]]);
    let m = net
        .f_forward_t(&x, &ei, None, &batch, 2, false)
        .unwrap_err()
        .to_string();
    assert!(m.contains("node ids in 0..3, found 5"), "{m}");
    let ei = Tensor::from_slice2(&[[0i64, 1], [1, 0]]);
    let m = net
        .f_forward_t(&x, &ei, None, &batch, 2, false)
        .unwrap_err()
        .to_string();
    assert!(m.contains("needs edge_attr"), "{m}");
    let ea = Tensor::ones([2, 3], (Kind::Float, Device::Cpu));
    let m = net
        .f_forward_t(&x, &ei, Some(&ea), &batch, 2, false)
        .unwrap_err()
        .to_string();
    assert!(m.contains("edge_attr of shape [2, 4]"), "{m}");
    let ea = Tensor::ones([2, 4], (Kind::Float, Device::Cpu));
    assert_eq!(net.forward_t(&x, &ei, Some(&ea), &batch, 2, false).size(), [2, 2]);
}

/// The mean readout reads a graph and two disjoint copies of it, taken as one
/// graph, alike; the sum readout reads the copies' pooled states doubled.
#[test]
fn mean_readout_is_blind_to_copies_where_sum_counts_them() {
    let d = graph_data::tu::load("mutag", &graph_data::fetch::Fetcher::from_env()).unwrap();
    let g = &d.graphs[0];
    let one = graph_data::batch::BatchTensors::from_refs(&[g]).unwrap();
    let n = g.num_nodes as i64;
    let x2 = Tensor::cat(&[&one.x, &one.x], 0);
    let ei2 = Tensor::cat(&[&one.edge_index, &(&one.edge_index + n)], 1);
    let zeros = |k: i64| Tensor::zeros([k], (Kind::Int64, Device::Cpu));
    for (readout, factor) in [(GinReadout::Mean, 1.0), (GinReadout::Sum, 2.0)] {
        tch::manual_seed(0);
        let vs = nn::VarStore::new(Device::Cpu);
        let cfg = GinNetConfig {
            readout,
            dropout: 0.0,
            ..GinNetConfig::default()
        };
        let net = GinNet::new(vs.root(), d.num_node_features as i64, 0, 2, cfg);
        let biases: Tensor = (0..cfg.layers)
            .map(|l| vs.variables()[&format!("heads.{l}.bias")].shallow_clone())
            .reduce(|a, b| a + b)
            .unwrap();
        let a = net.forward_t(&one.x, &one.edge_index, None, &zeros(n), 1, false) - &biases;
        let b = net.forward_t(&x2, &ei2, None, &zeros(2 * n), 1, false) - &biases;
        let diff = (b - a * factor).abs().max().double_value(&[]);
        assert!(diff < 1e-4, "{readout:?}: {diff}");
    }
}
