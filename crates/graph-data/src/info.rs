//! Facts about a data set, computed by loading it (for `cargo xtask data
//! info NAME --json`): nodes, edges, features, classes, split sizes,
//! feature density, isolated nodes and self loops for graphs; steps, nodes
//! and features for signals; sizes, channels and lengths for sequences.

use serde_json::{json, Value};

use crate::dataset::{NodeDataset, SequenceDataset};
use crate::edges::EdgeList;
use crate::error::{DataError, Result};
use crate::fetch::Fetcher;
use crate::gnn_benchmark::{self, SplitSpec};
use crate::pgt::{self, Signal};
use crate::temporal::StaticGraphSignal;
use crate::{planetoid, tabular, text, ts};

/// Loads the data set `name` (a manifest name) and describes it.
pub fn dataset_facts(name: &str, fetcher: &Fetcher) -> Result<Value> {
    let mut facts = match name {
        "cora" | "citeseer" => node_facts(&planetoid::load(name, fetcher)?, "planetoid public split"),
        "cora-npz" | "citeseer-npz" => {
            let g = gnn_benchmark::load(name, fetcher)?;
            let mut f = node_facts(
                &g.to_node_dataset(&SplitSpec::default(), 0)?,
                "random 20/30 per class (seed 0), edges made undirected",
            );
            f["stored_adjacency_entries"] = json!(g.adjacency.nnz());
            f
        }
        "karate-club" => node_facts(
            &tabular::load_karate(fetcher)?,
            "the two leaders train, the rest test",
        ),
        "chickenpox" | "pedalme-london" | "montevideo-bus" | "england-covid" => {
            match pgt::load(name, fetcher)? {
                Signal::Static(s) => static_facts(&s),
                Signal::Dynamic(d) => {
                    let sizes: Vec<usize> = d.edges.iter().map(EdgeList::len).collect();
                    json!({
                        "kind": "dynamic graph signal",
                        "steps": d.steps(),
                        "nodes": d.nodes(),
                        "features": d.features,
                        "edges_total": sizes.iter().sum::<usize>(),
                        "edges_per_step_min": sizes.iter().min(),
                        "edges_per_step_max": sizes.iter().max(),
                        "weighted": d.edges.iter().all(|e| e.weight.is_some()),
                    })
                }
            }
        }
        "los-loop" => static_facts(&tabular::load_los_loop(fetcher)?),
        "flu-bybw" => static_facts(&tabular::load_flu_bybw(fetcher)?),
        "japanese-vowels" | "gunpoint" | "arrowhead" | "basic-motions" | "italy-power-demand" => {
            let d = ts::load(name, fetcher)?;
            let lengths: Vec<usize> = d.train.lengths().into_iter().chain(d.test.lengths()).collect();
            json!({
                "kind": "sequence classification",
                "train": d.train.len(),
                "test": d.test.len(),
                "channels": d.train.channels,
                "min_length": lengths.iter().min(),
                "max_length": lengths.iter().max(),
                "classes": d.train.num_classes(),
                "train_per_class": class_counts(&d.train),
                "test_per_class": class_counts(&d.test),
            })
        }
        "sunspots" | "airline" | "co2" => {
            let s = text::load_series(name, fetcher)?;
            json!({
                "kind": "univariate series",
                "steps": s.len(),
                "column": s.column,
                "missing": s.missing.len(),
                "first": s.time.first(),
                "last": s.time.last(),
            })
        }
        "moby-dick" => {
            let (t, v) = text::load_moby_dick(fetcher)?;
            json!({"kind": "text", "bytes": t.len(), "characters": t.chars().count(), "vocabulary": v.len()})
        }
        "sst" => {
            let d = crate::ptb::load_sst(fetcher)?;
            let binary = |s: &[crate::ptb::PtbTree]| {
                s.iter()
                    .filter(|t| crate::ptb::binary_label(t.root_label()).is_some())
                    .count()
            };
            json!({"kind": "labelled trees", "train": d.train.len(), "dev": d.dev.len(), "test": d.test.len(),
                "binary_train": binary(&d.train), "binary_dev": binary(&d.dev), "binary_test": binary(&d.test)})
        }
        "ud-english-ewt" => {
            let d = crate::conllu::load_ewt(fetcher)?;
            let tokens = |s: &[crate::conllu::Sentence]| s.iter().map(|x| x.len()).sum::<usize>();
            json!({"kind": "dependency trees", "dev": d.dev.len(), "test": d.test.len(),
                "dev_tokens": tokens(&d.dev), "test_tokens": tokens(&d.test)})
        }
        other => {
            // Known to the manifest (or not) but without a loader here.
            crate::fetch::Manifest::builtin()?.get(other)?;
            return Err(DataError::Invalid(format!(
                "no loader describes data set `{other}` yet"
            )));
        }
    };
    facts["name"] = json!(name);
    Ok(facts)
}

fn node_facts(d: &NodeDataset, split: &str) -> Value {
    let (rows, cols) = d.features.shape();
    let mut per_class = vec![0usize; d.num_classes];
    d.labels.iter().for_each(|&l| per_class[l as usize] += 1);
    json!({
        "kind": "node classification",
        "nodes": d.num_nodes(),
        "edges": d.edges.len(),
        "undirected_edges": d.edges.src.iter().zip(&d.edges.dst).filter(|(s, t)| s < t).count(),
        "features": cols,
        "feature_rows": rows,
        "feature_density": d.features.density(),
        "classes": d.num_classes,
        "per_class": per_class,
        "train": d.train.len(),
        "val": d.val.len(),
        "test": d.test.len(),
        "split": split,
        "isolated_nodes": d.isolated_nodes(),
        "self_loops": d.self_loops(),
    })
}

fn static_facts(s: &StaticGraphSignal) -> Value {
    let e = &s.edges;
    json!({
        "kind": "static graph signal",
        "steps": s.steps,
        "nodes": s.nodes(),
        "features": s.features,
        "edges": e.len(),
        "self_loops": e.src.iter().zip(&e.dst).filter(|(a, b)| a == b).count(),
        "weighted": e.weight.is_some(),
    })
}

fn class_counts(d: &SequenceDataset) -> Vec<usize> {
    let mut c = vec![0; d.num_classes()];
    d.labels.iter().for_each(|&l| c[l as usize] += 1);
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facts_of_one_data_set_of_each_kind() {
        let f = Fetcher::from_env();
        let cora = dataset_facts("cora", &f).unwrap();
        assert_eq!(cora["nodes"], 2708);
        assert_eq!(cora["edges"], 10556);
        assert_eq!(cora["undirected_edges"], 5278);
        assert_eq!(
            (cora["train"].clone(), cora["val"].clone(), cora["test"].clone()),
            (json!(140), json!(500), json!(1000))
        );
        assert!((cora["feature_density"].as_f64().unwrap() - 49216.0 / (2708.0 * 1433.0)).abs() < 1e-12);
        let cp = dataset_facts("chickenpox", &f).unwrap();
        assert_eq!(
            (cp["steps"].clone(), cp["nodes"].clone(), cp["edges"].clone()),
            (json!(521), json!(20), json!(102))
        );
        let jv = dataset_facts("japanese-vowels", &f).unwrap();
        assert_eq!(
            (jv["min_length"].clone(), jv["max_length"].clone()),
            (json!(7), json!(29))
        );
        let co2 = dataset_facts("co2", &f).unwrap();
        assert_eq!(co2["missing"], 59);
        assert!(dataset_facts("no-such-set", &f).is_err());
    }
}
