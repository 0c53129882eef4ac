//! Link prediction data: split invariants (proptests), negatives never on an
//! edge, determinism per seed, the link-level sampler, and the metrics
//! against scikit-learn and OGB (`tests/fixtures/link_metrics.json`).

use std::collections::HashSet;
use std::sync::Arc;

use graph_data::csr::Csr;
use graph_data::link::metrics::{average_precision, hits_at_k, hits_at_k_ranked, mrr, roc_auc};
use graph_data::link::sampler::LinkNeighborSampler;
use graph_data::link::{random_link_split, unique_pairs, NegativeMethod, NegativeSampler, SplitConfig};
use graph_data::EdgeList;
use proptest::prelude::*;

fn pairs(e: &EdgeList) -> Vec<(u32, u32)> {
    e.src.iter().copied().zip(e.dst.iter().copied()).collect()
}

fn canon(undirected: bool, (u, v): (u32, u32)) -> (u32, u32) {
    if undirected {
        (u.min(v), u.max(v))
    } else {
        (u, v)
    }
}

/// A random graph: `n` nodes, edges as drawn (duplicates and loops allowed).
fn graph() -> impl Strategy<Value = EdgeList> {
    (3usize..40).prop_flat_map(|n| {
        prop::collection::vec((0..n as u32, 0..n as u32), 10..120)
            .prop_map(move |p| EdgeList::from_pairs(n, &p).unwrap())
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// The parts partition the distinct edges with PyG's counts; undirected
    /// pairs are never separated; training message passing sees only training
    /// edges, validation's no test edge; negatives are never edges and are distinct.
    #[test]
    fn split_invariants(edges in graph(), undirected in any::<bool>(), seed in 0u64..1000, disjoint in prop::sample::select(vec![0.0, 0.3])) {
        let config = SplitConfig { undirected, disjoint_train: disjoint, seed, neg_ratio: 1.0, ..SplitConfig::default() };
        let all = unique_pairs(&edges, undirected);
        let m = all.len();
        let n_allowed = NegativeSampler::new(&edges, undirected).unwrap().num_allowed() as usize;
        let split = match random_link_split(&edges, &config) {
            Ok(s) => s,
            Err(e) => {
                // Only when too few non-edges or edges remain.
                prop_assert!(n_allowed < m || m < 2, "{e}");
                return Ok(());
            }
        };
        let n_val = (0.05 * m as f64).floor() as usize;
        let n_test = (0.1 * m as f64).floor() as usize;
        prop_assert_eq!(split.val.pos.len(), n_val);
        prop_assert_eq!(split.test.pos.len(), n_test);
        let train: HashSet<_> = pairs(&split.val.message).into_iter().map(|p| canon(undirected, p)).collect();
        let val: HashSet<_> = pairs(&split.val.pos).into_iter().collect();
        let test: HashSet<_> = pairs(&split.test.pos).into_iter().collect();
        prop_assert_eq!(train.len() + val.len() + test.len(), m);
        let union: HashSet<_> = train.iter().chain(&val).chain(&test).copied().collect();
        prop_assert_eq!(union, all.iter().copied().collect::<HashSet<_>>());
        // Supervision pairs are canonical when undirected.
        for &(u, v) in val.iter().chain(&test) {
            prop_assert!(!undirected || u <= v);
        }
        // Message graphs: both orientations of every undirected edge.
        for part in [&split.train, &split.val, &split.test] {
            let msg: HashSet<_> = pairs(&part.message).into_iter().collect();
            for &(u, v) in &msg {
                prop_assert!(!undirected || msg.contains(&(v, u)));
                let c = canon(undirected, (u, v));
                prop_assert!(!test.contains(&c), "test edge {c:?} in a message graph");
            }
        }
        for p in pairs(&split.train.message) {
            let c = canon(undirected, p);
            prop_assert!(train.contains(&c) && !val.contains(&c));
        }
        let test_msg: HashSet<_> = pairs(&split.test.message).into_iter().map(|p| canon(undirected, p)).collect();
        prop_assert_eq!(test_msg, train.union(&val).copied().collect::<HashSet<_>>());
        // Disjoint supervision edges leave the training message graph.
        let train_sup: HashSet<_> = pairs(&split.train.pos).into_iter().collect();
        let train_msg: HashSet<_> = pairs(&split.train.message).into_iter().map(|p| canon(undirected, p)).collect();
        if disjoint > 0.0 {
            prop_assert!(train_sup.is_disjoint(&train_msg));
            prop_assert_eq!(train_sup.len() + train_msg.len(), train.len());
        } else {
            prop_assert_eq!(&train_sup, &train);
        }
        // Negatives: counts, never an edge or a loop, distinct across parts.
        let mut negs = HashSet::new();
        for (part, k) in [(&split.train, train_sup.len()), (&split.val, n_val), (&split.test, n_test)] {
            prop_assert_eq!(part.neg.len(), k);
            for (u, v) in pairs(&part.neg) {
                prop_assert!(u != v && !all.contains(&canon(undirected, (u, v))));
                prop_assert!(!undirected || u < v);
                prop_assert!(negs.insert((u, v)), "negative ({u}, {v}) twice");
            }
        }
        // Same seed, same split.
        prop_assert_eq!(&random_link_split(&edges, &config).unwrap(), &split);
    }

    /// Sampled negatives are never edges (or self loops), both methods,
    /// plain, distinct and structured; the same seed gives the same pairs.
    #[test]
    fn negatives_never_hit_an_edge(edges in graph(), undirected in any::<bool>(), seed in 0u64..1000) {
        let edge_set: HashSet<_> = pairs(&edges).into_iter().map(|p| canon(undirected, p)).collect();
        for method in [NegativeMethod::Sparse, NegativeMethod::Dense] {
            let s = NegativeSampler::with_method(&edges, undirected, method).unwrap();
            if s.num_allowed() == 0 {
                prop_assert!(s.sample(5, seed).is_err());
                continue;
            }
            let neg = s.sample(500, seed).unwrap();
            prop_assert_eq!(neg.len(), 500);
            for (u, v) in pairs(&neg) {
                prop_assert!(u != v && !edge_set.contains(&canon(undirected, (u, v))));
            }
            prop_assert_eq!(&s.sample(500, seed).unwrap(), &neg);
            let k = (s.num_allowed() as usize).min(30);
            let distinct = s.sample_distinct(k, seed, &[]).unwrap();
            prop_assert_eq!(pairs(&distinct).into_iter().collect::<HashSet<_>>().len(), k);
            let src: Vec<u32> = (0..edges.num_nodes as u32).filter(|&u| !(0..edges.num_nodes as u32).all(|v| s.excluded(u, v))).collect();
            let t = s.structured(&src, seed).unwrap();
            for (&u, &v) in src.iter().zip(&t) {
                prop_assert!(u != v && !s.excluded(u, v));
            }
        }
    }
}

/// A determinism check on a graph large enough for several rayon chunks:
/// the same pairs with one thread and with four.
#[test]
fn negative_sampling_is_the_same_on_any_number_of_threads() {
    let n = 5000u32;
    let p: Vec<(u32, u32)> = (0..n)
        .flat_map(|i| [(i, (i * 7 + 1) % n), (i, (i * 13 + 5) % n)])
        .collect();
    let edges = EdgeList::from_pairs(n as usize, &p).unwrap();
    let s = NegativeSampler::new(&edges, true).unwrap();
    assert_eq!(s.method(), NegativeMethod::Sparse);
    let one = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
    let four = rayon::ThreadPoolBuilder::new().num_threads(4).build().unwrap();
    let a = one.install(|| s.sample(100_000, 9).unwrap());
    let b = four.install(|| s.sample(100_000, 9).unwrap());
    assert_eq!(a, b);
    assert_ne!(a, s.sample(100_000, 10).unwrap());
}

/// Fractions outside [0, 1) and splits that leave no training edge are typed errors.
#[test]
fn bad_split_configs_are_errors() {
    let edges = EdgeList::from_pairs(4, &[(0, 1), (1, 2)]).unwrap();
    for config in [
        SplitConfig {
            val: 1.5,
            ..SplitConfig::default()
        },
        SplitConfig {
            test: -0.1,
            ..SplitConfig::default()
        },
        SplitConfig {
            neg_ratio: f64::NAN,
            ..SplitConfig::default()
        },
        SplitConfig {
            val: 0.5,
            test: 0.5,
            ..SplitConfig::default()
        },
    ] {
        let err = random_link_split(&edges, &config).unwrap_err().to_string();
        assert!(err.contains("link split"), "{err}");
    }
    let complete: Vec<(u32, u32)> = (0..3)
        .flat_map(|u| (0..3).filter(move |&v| v != u).map(move |v| (u, v)))
        .collect();
    let k3 = EdgeList::from_pairs(3, &complete).unwrap();
    let err = NegativeSampler::new(&k3, true)
        .unwrap()
        .sample(1, 0)
        .unwrap_err()
        .to_string();
    assert!(err.contains("every pair"), "{err}");
    assert!(NegativeSampler::new(&k3, true)
        .unwrap()
        .structured(&[0], 0)
        .is_err());
}

/// The link sampler: pair endpoints are the output rows, positives leave
/// every block (both orientations), negatives do not remove anything.
#[test]
fn link_sampler_removes_supervision_edges() {
    let n = 60u32;
    let p: Vec<(u32, u32)> = (0..n)
        .flat_map(|i| {
            let j = (i + 1) % n;
            let k = (i * 5 + 2) % n;
            [(i, j), (j, i), (i, k), (k, i)]
        })
        .collect();
    let csr = Csr::from_edge_list(&EdgeList::from_pairs(n as usize, &p).unwrap()).unwrap();
    let sampler = LinkNeighborSampler::new(Arc::new(csr), vec![5, 5], false, true, 3).unwrap();
    let (src, dst, label) = (vec![0, 4, 10], vec![1, 5, 30], vec![1.0, 1.0, 0.0]);
    let b = sampler.sample(&src, &dst, &label, 0).unwrap();
    assert!(b.removed >= 2, "{}", b.removed);
    let last = b.batch.blocks.last().unwrap();
    for i in 0..3 {
        assert_eq!(last.dst_nodes[b.src[i] as usize], src[i]);
        assert_eq!(last.dst_nodes[b.dst[i] as usize], dst[i]);
    }
    for block in &b.batch.blocks {
        for (d, &v) in block.dst_nodes.iter().enumerate() {
            for &l in &block.indices[block.indptr[d]..block.indptr[d + 1]] {
                let u = block.src_nodes[l as usize];
                assert!(![(0, 1), (1, 0), (4, 5), (5, 4)].contains(&(u, v)), "{u} -> {v}");
            }
        }
    }
    assert_eq!(sampler.sample(&src, &dst, &label, 0).unwrap(), b);
    assert!(sampler.sample(&[0], &[1, 2], &[1.0], 0).is_err());
    assert!(sampler.sample(&[0], &[99], &[1.0], 0).is_err());
}

#[derive(serde::Deserialize)]
struct Case {
    pos: Vec<f64>,
    neg: Vec<f64>,
    roc_auc: f64,
    average_precision: f64,
    hits: std::collections::BTreeMap<String, f64>,
    neg_rows: Vec<f64>,
    mrr: std::collections::BTreeMap<String, f64>,
}

#[derive(serde::Deserialize)]
struct Fixture {
    cases: Vec<Case>,
}

/// ROC AUC and AP equal scikit-learn's, Hits@K and MRR OGB's, ties included.
#[test]
fn metrics_match_scikit_learn_and_ogb() {
    let text = include_str!("fixtures/link_metrics.json");
    let fixture: Fixture = serde_json::from_str(text).unwrap();
    assert!(fixture.cases.len() >= 10);
    for (i, c) in fixture.cases.iter().enumerate() {
        let close =
            |a: f64, b: f64, what: &str| assert!((a - b).abs() < 1e-12, "case {i} {what}: {a} vs {b}");
        close(roc_auc(&c.pos, &c.neg).unwrap(), c.roc_auc, "roc_auc");
        close(
            average_precision(&c.pos, &c.neg).unwrap(),
            c.average_precision,
            "ap",
        );
        for (k, &want) in &c.hits {
            close(
                hits_at_k(&c.pos, &c.neg, k.parse().unwrap()).unwrap(),
                want,
                &format!("hits@{k}"),
            );
        }
        close(mrr(&c.pos, &c.neg_rows).unwrap(), c.mrr["mrr_list"], "mrr");
        for k in [1, 3, 10] {
            close(
                hits_at_k_ranked(&c.pos, &c.neg_rows, k).unwrap(),
                c.mrr[&format!("hits@{k}_list")],
                "ranked hits",
            );
        }
    }
    assert!(roc_auc(&[], &[1.0]).is_err());
    assert!(average_precision(&[f64::NAN], &[1.0]).is_err());
}
