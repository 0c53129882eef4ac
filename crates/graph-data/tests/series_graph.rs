//! Series graphs: the fast builders against the definitions (a proptest, on
//! integer-valued series full of ties and collinear triples, and on random
//! floats), known edge counts, the i.i.d. HVG's mean degree, multiplex
//! weights, lag graphs and refusals.

use graph_data::series_graph::{
    dilated_lags, horizontal_visibility, horizontal_visibility_naive, lag_graph, multiplex_visibility,
    natural_visibility, natural_visibility_naive, node_features, series_graph, visibility, Orientation,
    PositionEncoding, SeriesGraphKind,
};
use graph_data::EdgeList;
use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn sorted(e: &EdgeList) -> Vec<(u32, u32)> {
    let mut p: Vec<_> = e.pairs().collect();
    p.sort_unstable();
    p
}

/// The horizontal visibility graph read literally off its definition, O(n^3).
fn hvg_literal(x: &[f32]) -> Vec<(u32, u32)> {
    let mut out = Vec::new();
    for i in 0..x.len() {
        for j in i + 1..x.len() {
            if (i + 1..j).all(|m| x[m] < x[i].min(x[j])) {
                out.push((i as u32, j as u32));
            }
        }
    }
    out
}

/// The natural visibility graph read literally off its definition, O(n^3),
/// with the line in the cross-multiplied form (exact on integer values).
fn nvg_literal(x: &[f32]) -> Vec<(u32, u32)> {
    let mut out = Vec::new();
    for i in 0..x.len() {
        for j in i + 1..x.len() {
            let ok = (i + 1..j).all(|m| {
                let (xi, xm, xj) = (x[i] as f64, x[m] as f64, x[j] as f64);
                (xm - xi) * ((j - i) as f64) < (xj - xi) * ((m - i) as f64)
            });
            if ok {
                out.push((i as u32, j as u32));
            }
        }
    }
    out
}

fn integer_series() -> impl Strategy<Value = Vec<f32>> {
    prop::collection::vec((0i32..6).prop_map(|v| v as f32), 0..60)
}

fn float_series() -> impl Strategy<Value = Vec<f32>> {
    prop::collection::vec(-100f32..100.0, 0..80)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn hvg_matches_the_definition_with_ties(x in integer_series()) {
        let fast = horizontal_visibility(&x).unwrap();
        prop_assert!(fast.pairs().all(|(s, d)| s < d));
        prop_assert_eq!(sorted(&fast), hvg_literal(&x));
        prop_assert_eq!(sorted(&horizontal_visibility_naive(&x).unwrap()), hvg_literal(&x));
        // Each pair once.
        prop_assert_eq!(fast.len(), hvg_literal(&x).len());
    }

    #[test]
    fn nvg_matches_the_definition_with_collinear_points(x in integer_series()) {
        let fast = natural_visibility(&x).unwrap();
        prop_assert!(fast.pairs().all(|(s, d)| s < d));
        prop_assert_eq!(fast.len(), nvg_literal(&x).len());
        prop_assert_eq!(sorted(&fast), nvg_literal(&x));
        prop_assert_eq!(sorted(&natural_visibility_naive(&x).unwrap()), nvg_literal(&x));
    }

    #[test]
    fn both_match_on_random_floats(x in float_series()) {
        prop_assert_eq!(sorted(&horizontal_visibility(&x).unwrap()), hvg_literal(&x));
        prop_assert_eq!(sorted(&natural_visibility(&x).unwrap()), nvg_literal(&x));
    }

    #[test]
    fn hvg_is_a_subgraph_of_nvg(x in float_series()) {
        let nvg = sorted(&natural_visibility(&x).unwrap());
        for p in sorted(&horizontal_visibility(&x).unwrap()) {
            prop_assert!(nvg.binary_search(&p).is_ok(), "{:?}", p);
        }
    }

    #[test]
    fn undirected_is_directed_both_ways(x in integer_series()) {
        for kind in [SeriesGraphKind::NaturalVisibility, SeriesGraphKind::HorizontalVisibility] {
            let d = visibility(&x, &kind, Orientation::Directed).unwrap();
            let u = visibility(&x, &kind, Orientation::Undirected).unwrap();
            let mut both: Vec<_> = d.pairs().flat_map(|(s, t)| [(s, t), (t, s)]).collect();
            both.sort_unstable();
            prop_assert_eq!(sorted(&u), both);
        }
    }

    #[test]
    fn multiplex_weights_count_channels(
        (c, x) in (1usize..4).prop_flat_map(|c| (Just(c), prop::collection::vec((0i32..5).prop_map(|v| v as f32), 0..30).prop_map(move |v| {
            let n = v.len() / c * c;
            v[..n].to_vec()
        })))
    ) {
        for kind in [SeriesGraphKind::NaturalVisibility, SeriesGraphKind::HorizontalVisibility] {
            let m = multiplex_visibility(&x, c, &kind, Orientation::Directed).unwrap();
            let n = x.len() / c;
            let mut count = std::collections::BTreeMap::new();
            for ch in 0..c {
                let col: Vec<f32> = (0..n).map(|t| x[t * c + ch]).collect();
                let lit = match kind { SeriesGraphKind::NaturalVisibility => nvg_literal(&col), _ => hvg_literal(&col) };
                for p in lit { *count.entry(p).or_insert(0f32) += 1.0; }
            }
            let got: Vec<((u32, u32), f32)> = m.pairs().zip(m.weight.clone().unwrap()).collect();
            let want: Vec<((u32, u32), f32)> = count.into_iter().collect();
            prop_assert_eq!(got, want);
        }
    }
}

#[test]
fn monotone_series_are_paths_or_complete() {
    let n = 200;
    let line: Vec<f32> = (0..n).map(|t| t as f32).collect();
    // Increasing: the HVG is the path; the straight line's NVG too (collinear points block).
    assert_eq!(horizontal_visibility(&line).unwrap().len(), n - 1);
    assert_eq!(natural_visibility(&line).unwrap().len(), n - 1);
    let down: Vec<f32> = line.iter().rev().copied().collect();
    assert_eq!(horizontal_visibility(&down).unwrap().len(), n - 1);
    assert_eq!(natural_visibility(&down).unwrap().len(), n - 1);
    // Convex increasing: every point below every chord, the complete graph;
    // concave: a path.
    let convex: Vec<f32> = (0..n).map(|t| (t * t) as f32).collect();
    assert_eq!(natural_visibility(&convex).unwrap().len(), n * (n - 1) / 2);
    assert_eq!(horizontal_visibility(&convex).unwrap().len(), n - 1);
    let concave: Vec<f32> = (0..n).map(|t| -((t * t) as f32)).collect();
    assert_eq!(natural_visibility(&concave).unwrap().len(), n - 1);
    // Constant: level points block.
    assert_eq!(horizontal_visibility(&vec![1.0; n]).unwrap().len(), n - 1);
    assert_eq!(natural_visibility(&vec![1.0; n]).unwrap().len(), n - 1);
    assert!(horizontal_visibility(&[]).unwrap().is_empty());
    assert!(natural_visibility(&[2.0]).unwrap().is_empty());
}

#[test]
fn periodic_series_edge_counts() {
    // 0, 1, 0, 1, ...: the neighbours, and each 1 with the next 1.
    let n = 1000;
    let x: Vec<f32> = (0..n).map(|t| (t % 2) as f32).collect();
    assert_eq!(horizontal_visibility(&x).unwrap().len(), n - 1 + n / 2 - 1);
    assert_eq!(natural_visibility(&x).unwrap().len(), n - 1 + n / 2 - 1);
    // A period-T series of distinct values has HVG mean degree 4 (1 - 1/(2T))
    // (Nunez et al. 2012) as n grows.
    for period in [3usize, 5, 8] {
        let pattern: Vec<f32> = (0..period).map(|i| ((i * 7919) % 101) as f32).collect();
        let n = 100_000;
        let x: Vec<f32> = (0..n).map(|t| pattern[t % period]).collect();
        let mean_degree = 2.0 * horizontal_visibility(&x).unwrap().len() as f64 / n as f64;
        let want = 4.0 * (1.0 - 1.0 / (2.0 * period as f64));
        assert!(
            (mean_degree - want).abs() < 1e-3,
            "T = {period}: {mean_degree} vs {want}"
        );
    }
}

#[test]
fn iid_hvg_mean_degree_tends_to_four() {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let n = 1_000_000;
    let x: Vec<f32> = (0..n).map(|_| rng.gen::<f32>()).collect();
    let e = horizontal_visibility(&x).unwrap();
    let mean_degree = 2.0 * e.len() as f64 / n as f64;
    // Exactly 4 (1 - 1/(2n))... up to fluctuations of order 1/sqrt(n).
    assert!((mean_degree - 4.0).abs() < 0.01, "{mean_degree}");
    // And the degree distribution P(k) = (1/3) (2/3)^(k-2) (Luque et al. 2009).
    let mut deg = vec![0usize; n];
    for (s, d) in e.pairs() {
        deg[s as usize] += 1;
        deg[d as usize] += 1;
    }
    for k in 2..6 {
        let p = deg.iter().filter(|&&d| d == k).count() as f64 / n as f64;
        let want = (1.0 / 3.0) * (2.0f64 / 3.0).powi(k as i32 - 2);
        assert!((p - want).abs() < 0.005, "P({k}) = {p}, want {want}");
    }
    // The NVG of the same series agrees with its definition on a prefix.
    let head = &x[..3000];
    assert_eq!(
        sorted(&natural_visibility(head).unwrap()),
        sorted(&natural_visibility_naive(head).unwrap())
    );
}

#[test]
fn lag_graphs() {
    let e = lag_graph(5, &[1, 2], Orientation::Directed).unwrap();
    assert_eq!(
        e.pairs().collect::<Vec<_>>(),
        [(0, 1), (1, 2), (2, 3), (3, 4), (0, 2), (1, 3), (2, 4)]
    );
    let u = lag_graph(5, &[1, 2], Orientation::Undirected).unwrap();
    assert_eq!(u.len(), 14);
    assert!(u.pairs().skip(7).all(|(s, d)| s > d));
    assert_eq!(dilated_lags(10), [1, 2, 4, 8]);
    assert_eq!(dilated_lags(0), Vec::<usize>::new());
    // Lags longer than the series give no edges.
    assert!(lag_graph(3, &[5], Orientation::Directed).unwrap().is_empty());
    assert!(lag_graph(3, &[0], Orientation::Directed).is_err());
    assert!(lag_graph(3, &[1, 1], Orientation::Directed).is_err());
}

#[test]
fn graphs_with_features() {
    // Two channels, 4 steps.
    let x = [1.0, 5.0, 0.0, 4.0, 2.0, 3.0, 3.0, 6.0];
    let g = series_graph(
        &x,
        2,
        &SeriesGraphKind::HorizontalVisibility,
        Orientation::Directed,
        PositionEncoding::Relative,
        3,
    )
    .unwrap();
    assert_eq!((g.num_nodes, g.num_node_features, g.y), (4, 3, 3));
    assert_eq!(&g.x[..6], &[1.0, 5.0, 0.0, 0.0, 4.0, 1.0 / 3.0]);
    assert_eq!(g.num_edge_features, 1);
    assert!(g.edge_attr.iter().all(|&w| w == 1.0 || w == 2.0));
    // Channel 0 (1, 0, 2, 3): HVG (0,1) (0,2) (1,2) (2,3); channel 1 (5, 4, 3, 6):
    // (0,1) (0,3) (1,2) (1,3) (2,3). Union with counts:
    let pairs: Vec<_> = g.src.iter().zip(&g.dst).map(|(&s, &d)| (s, d)).collect();
    assert_eq!(pairs, [(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)]);
    assert_eq!(g.edge_attr, [2.0, 1.0, 1.0, 2.0, 1.0, 2.0]);
    let lag = series_graph(
        &x,
        2,
        &SeriesGraphKind::Lag(vec![1]),
        Orientation::Directed,
        PositionEncoding::None,
        0,
    )
    .unwrap();
    assert_eq!(
        (lag.num_edges(), lag.num_node_features, lag.num_edge_features),
        (3, 2, 0)
    );
    let sin = node_features(&[0.5, 0.25], 1, PositionEncoding::Sinusoidal { dims: 4 }).unwrap();
    assert_eq!(sin.len(), 2 * 5);
    assert_eq!(&sin[..5], &[0.5, 0.0, 1.0, 0.0, 1.0]);
    assert!((sin[6] - 1f32.sin()).abs() < 1e-6);
}

#[test]
fn refusals() {
    assert!(horizontal_visibility(&[1.0, f32::NAN]).is_err());
    assert!(natural_visibility(&[f32::INFINITY]).is_err());
    assert!(multiplex_visibility(
        &[1.0, 2.0, 3.0],
        2,
        &SeriesGraphKind::NaturalVisibility,
        Orientation::Directed
    )
    .is_err());
    assert!(multiplex_visibility(
        &[1.0],
        0,
        &SeriesGraphKind::NaturalVisibility,
        Orientation::Directed
    )
    .is_err());
    assert!(visibility(&[1.0], &SeriesGraphKind::Lag(vec![1]), Orientation::Directed).is_err());
    assert!(node_features(&[1.0], 1, PositionEncoding::Sinusoidal { dims: 3 }).is_err());
    let err = horizontal_visibility(&[0.0, 1.0, f32::NAN])
        .unwrap_err()
        .to_string();
    assert!(err.contains("step 2"), "{err}");
}
