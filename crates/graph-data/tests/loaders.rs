//! Loaders against the real files of the mirror: the published facts of
//! each data set.

use graph_data::fetch::Fetcher;
use graph_data::ts;

fn fetcher() -> Fetcher {
    Fetcher::from_env()
}

#[test]
fn japanese_vowels_has_the_published_shape() {
    let d = ts::load("japanese-vowels", &fetcher()).unwrap();
    assert_eq!((d.train.len(), d.test.len()), (270, 370));
    assert_eq!((d.train.channels, d.test.channels), (12, 12));
    assert_eq!(d.train.num_classes(), 9);
    let lens: Vec<usize> = d.train.lengths().into_iter().chain(d.test.lengths()).collect();
    assert_eq!(
        (*lens.iter().min().unwrap(), *lens.iter().max().unwrap()),
        (7, 29)
    );
    // 30 utterances per speaker in the training set.
    let mut per_class = vec![0; 9];
    d.train.labels.iter().for_each(|&l| per_class[l as usize] += 1);
    assert_eq!(per_class, vec![30; 9]);
    for s in d.train.series.iter().chain(&d.test.series) {
        assert_eq!(s.len() % 12, 0);
        assert!(s.iter().all(|v| v.is_finite()));
    }
    // First value of the first case, channel 0 and 1 (from the file's text).
    assert_eq!(&d.train.series[0][..2], &[1.860936, -0.207383]);
}

#[test]
fn univariate_ucr_sets_have_the_published_sizes() {
    // (name, train, test, length, classes, channels) from the UCR/UEA archive.
    for (name, ntrain, ntest, len, classes, chans) in [
        ("gunpoint", 50, 150, 150, 2, 1),
        ("italy-power-demand", 67, 1029, 24, 2, 1),
        ("arrowhead", 36, 175, 251, 3, 1),
        ("basic-motions", 40, 40, 100, 4, 6),
    ] {
        let d = ts::load(name, &fetcher()).unwrap();
        assert_eq!((d.train.len(), d.test.len()), (ntrain, ntest), "{name}");
        assert_eq!(d.train.num_classes(), classes, "{name}");
        assert_eq!(d.train.channels, chans, "{name}");
        assert!(
            d.train
                .lengths()
                .iter()
                .chain(&d.test.lengths())
                .all(|&l| l == len),
            "{name}"
        );
    }
}

use graph_data::pgt::{self, Signal};
use graph_data::tabular;

fn edge_set(e: &graph_data::EdgeList) -> std::collections::HashSet<(u32, u32)> {
    e.src.iter().copied().zip(e.dst.iter().copied()).collect()
}

#[test]
fn pgt_json_signals_have_the_published_shapes() {
    let Signal::Static(c) = pgt::load("chickenpox", &fetcher()).unwrap() else {
        panic!("static")
    };
    assert_eq!((c.steps, c.nodes(), c.features, c.edges.len()), (521, 20, 1, 102));
    assert!(c.edges.weight.is_none());
    // PGT's lags=4 view has 521 - 4 = 517 snapshots.
    assert_eq!(c.steps - 4, 517);
    let Signal::Static(p) = pgt::load("pedalme-london", &fetcher()).unwrap() else {
        panic!("static")
    };
    assert_eq!((p.steps, p.nodes(), p.edges.len()), (35, 15, 225));
    assert_eq!(p.edges.weight.as_ref().unwrap()[..2], [1.0, 0.425_458_96]);
    let Signal::Static(m) = pgt::load("montevideo-bus", &fetcher()).unwrap() else {
        panic!("static")
    };
    assert_eq!((m.steps, m.nodes(), m.edges.len()), (744, 675, 690));
    assert_eq!(m.edges.weight.as_ref().unwrap()[0], 172.2);
    let Signal::Dynamic(e) = pgt::load("england-covid", &fetcher()).unwrap() else {
        panic!("dynamic")
    };
    assert_eq!((e.steps(), e.nodes(), e.features), (61, 129, 1));
    assert_eq!(e.edges.iter().map(|g| g.len()).sum::<usize>(), 82529);
    assert_eq!(e.edges[0].len(), 2158);
    assert_eq!(&e.values[..5], &[4.0, 1.0, 0.0, 2.0, 0.0]);
}

#[test]
fn los_loop_speeds_and_adjacency() {
    let s = tabular::load_los_loop(&fetcher()).unwrap();
    assert_eq!((s.steps, s.nodes(), s.features), (2016, 207, 1));
    // 2833 non-zeros of which the 207 diagonal ones; the matrix is symmetric.
    assert_eq!(s.edges.len(), 2833);
    let set = edge_set(&s.edges);
    assert_eq!(set.iter().filter(|(a, b)| a == b).count(), 207);
    assert!(set.iter().all(|&(a, b)| set.contains(&(b, a))));
    assert_eq!(&s.values[..2], &[64.375, 67.625]);
    assert!(
        s.values.iter().all(|&v| (0.0..=100.0).contains(&v)),
        "speeds are in mph"
    );
}

#[test]
fn flu_bybw_counts_and_districts() {
    let s = tabular::load_flu_bybw(&fetcher()).unwrap();
    assert_eq!((s.steps, s.nodes()), (416, 140));
    let set = edge_set(&s.edges);
    assert_eq!(set.len(), 672);
    assert_eq!(set.iter().filter(|(a, b)| a < b).count(), 336);
    assert!(set.iter().all(|&(a, b)| a != b && set.contains(&(b, a))));
    assert!(s.values.iter().all(|&v| v >= 0.0 && v.fract() == 0.0), "counts");
}

#[test]
fn karate_club_has_78_edges_and_two_clubs_of_17() {
    let d = tabular::load_karate(&fetcher()).unwrap();
    assert_eq!(d.num_nodes(), 34);
    assert_eq!(d.edges.len(), 2 * 78);
    assert_eq!(d.num_classes, 2);
    assert_eq!(d.labels.iter().filter(|&&l| l == 0).count(), 17);
    assert_eq!((d.labels[0], d.labels[33]), (0, 1));
    assert_eq!(d.isolated_nodes(), 0);
}

use graph_data::gnn_benchmark::{self, SplitSpec};

#[test]
fn gnn_benchmark_npz_graphs_and_seeded_per_class_splits() {
    let g = gnn_benchmark::load("cora-npz", &fetcher()).unwrap();
    // What the archive holds: 2708 nodes, 5429 directed citations, 1433
    // binary attributes (49216 non-zeros), 7 classes.
    assert_eq!((g.adjacency.nrows, g.adjacency.nnz()), (2708, 5429));
    assert_eq!((g.attributes.ncols, g.attributes.nnz()), (1433, 49216));
    assert_eq!(g.num_classes(), 7);
    assert_eq!(g.class_names.as_ref().map(Vec::len), Some(7));
    assert_eq!(g.node_names.as_ref().map(Vec::len), Some(2708));
    let d = g.to_node_dataset(&SplitSpec::default(), 7).unwrap();
    assert_eq!(d.edges.len(), 10556); // the same graph as Planetoid Cora once undirected
    assert_eq!((d.train.len(), d.val.len(), d.test.len()), (140, 210, 2708 - 350));
    for c in 0..7 {
        assert_eq!(d.train.iter().filter(|&&i| d.labels[i] == c).count(), 20);
        assert_eq!(d.val.iter().filter(|&&i| d.labels[i] == c).count(), 30);
    }
    // Seeded: same seed, same split; another seed, another split.
    assert_eq!(
        g.to_node_dataset(&SplitSpec::default(), 7).unwrap().train,
        d.train
    );
    assert_ne!(
        g.to_node_dataset(&SplitSpec::default(), 8).unwrap().train,
        d.train
    );

    let c = gnn_benchmark::load("citeseer-npz", &fetcher()).unwrap();
    assert_eq!(
        (c.adjacency.nrows, c.attributes.ncols, c.num_classes()),
        (3312, 3703, 6)
    );
    assert_eq!(c.undirected_edges().unwrap().len(), 9072);
}

use graph_data::text;

#[test]
fn moby_dick_round_trips_through_its_character_vocabulary() {
    let (t, v) = text::load_moby_dick(&fetcher()).unwrap();
    assert_eq!(t.len(), 1_204_997); // bytes
    assert_eq!(t.chars().count(), 1_190_317);
    assert_eq!(v.len(), 83);
    let ids = v.encode(&t).unwrap();
    assert_eq!(ids.len(), 1_190_317);
    assert_eq!(v.decode(&ids).unwrap(), t);
}

#[test]
fn series_csvs_have_the_published_lengths_and_report_missing_values() {
    let s = text::load_series("sunspots", &fetcher()).unwrap();
    assert_eq!(
        (s.len(), s.missing.len(), s.column.as_str()),
        (309, 0, "SUNACTIVITY")
    );
    assert_eq!((s.time[0].as_str(), s.values[0]), ("1700", 5.0));
    let a = text::load_series("airline", &fetcher()).unwrap();
    assert_eq!((a.len(), a.values[0], a.missing.len()), (144, 112.0, 0));
    let mut c = text::load_series("co2", &fetcher()).unwrap();
    assert_eq!((c.len(), c.missing.len()), (2284, 59));
    assert!(c.missing.iter().all(|&i| c.values[i].is_nan()));
    c.fill_linear().unwrap();
    assert!(c.values.iter().all(|v| (300.0..400.0).contains(v)));
}

/// Eight threads fetching Cora into one empty cache at once all get the
/// verified files from the mirror (before each file was locked, two fetches
/// wrote the same partial file, one failed its checksum and fell back to the
/// URL).
#[test]
fn concurrent_fetches_of_one_data_set_all_succeed() {
    let cache = tempfile::tempdir().unwrap();
    let fetcher = Fetcher {
        cache: cache.path().to_owned(),
        allow_network: false,
        ..fetcher()
    };
    let manifest = graph_data::fetch::Manifest::builtin().unwrap();
    let cora = manifest.get("cora").unwrap();
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..8).map(|_| s.spawn(|| fetcher.fetch(cora))).collect();
        for h in handles {
            let folder = h.join().unwrap().expect("every concurrent fetch succeeds");
            for f in &cora.files {
                graph_data::fetch::verify(&folder.join(&f.path), &f.sha256).unwrap();
            }
        }
    });
}

/// The TU facts of the mirror's README: graphs, nodes, `_A.txt` lines,
/// directed edges after de-duplication, class counts, feature widths.
#[test]
fn tu_data_sets_have_the_published_facts() {
    use graph_data::tu;
    // (name, graphs, nodes, A lines, directed edges, class counts, node features, edge features)
    type Fact = (
        &'static str,
        usize,
        usize,
        usize,
        usize,
        &'static [usize],
        usize,
        usize,
    );
    let facts: [Fact; 5] = [
        ("mutag", 188, 3371, 7442, 7442, &[63, 125], 7, 4),
        ("proteins", 1113, 43471, 162088, 162088, &[663, 450], 3, 0),
        ("enzymes", 600, 19580, 74564, 74564, &[100; 6], 3, 0),
        ("nci1", 4110, 122747, 265506, 265506, &[2053, 2057], 37, 0),
        ("imdb-binary", 1000, 19773, 386124, 193062, &[500, 500], 136, 0),
    ];
    for (name, graphs, nodes, lines, edges, classes, nf, ef) in facts {
        let d = tu::load(name, &fetcher()).unwrap();
        assert_eq!(d.graphs.len(), graphs, "{name}");
        assert_eq!(d.num_nodes(), nodes, "{name}");
        assert_eq!(d.raw_edge_lines, lines, "{name}");
        assert_eq!(d.num_edges(), edges, "{name}");
        assert_eq!(d.class_counts(), classes, "{name}");
        assert_eq!((d.num_node_features, d.num_edge_features), (nf, ef), "{name}");
        assert_eq!(d.degree_features, name == "imdb-binary");
        for g in &d.graphs {
            g.check().unwrap();
            // Undirected: every edge in both directions.
            let set: std::collections::HashSet<(i64, i64)> =
                g.src.iter().copied().zip(g.dst.iter().copied()).collect();
            assert!(set.iter().all(|&(u, v)| set.contains(&(v, u))), "{name}");
            // Exactly one hot per node.
            assert!(g.x.chunks(nf).all(|r| r.iter().sum::<f32>() == 1.0), "{name}");
        }
    }
    let m = tu::load("mutag", &fetcher()).unwrap();
    assert_eq!(m.class_labels, vec![-1, 1]);
    assert_eq!((m.num_node_labels, m.num_node_attributes), (7, 0));
    // MUTAG's first graph: 17 nodes, 38 directed edges, label 1 -> class 1.
    assert_eq!(
        (m.graphs[0].num_nodes, m.graphs[0].num_edges(), m.graphs[0].y),
        (17, 38, 1)
    );
    assert!(m.graphs[0]
        .edge_attr
        .chunks(4)
        .all(|r| r.iter().sum::<f32>() == 1.0));
    // Space-padded attributes, read with `use_node_attr` in front of the labels.
    let e = tu::load_with("enzymes", &fetcher(), tu::TuOptions { use_node_attr: true }).unwrap();
    assert_eq!((e.num_node_attributes, e.num_node_features), (18, 21));
    assert_eq!(&e.graphs[0].x[..3], &[11.0, 15.887014, 37.78]);
    let p = tu::load_with("proteins", &fetcher(), tu::TuOptions { use_node_attr: true }).unwrap();
    assert_eq!(
        (p.num_node_attributes, p.num_node_features, p.graphs[0].x[0]),
        (1, 4, 23.0)
    );
}
