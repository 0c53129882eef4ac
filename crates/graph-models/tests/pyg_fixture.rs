//! PyG parity: weights exported from PyG 2.8.1 (state-dict names) are loaded
//! by name into our layers, which must reproduce PyG's outputs to 1e-5.
//! The fixture and its generator are in `tests/fixtures/`.

use std::collections::HashMap;

use graph_models::{
    Aggr, Appnp, AppnpConfig, ChebConfig, ChebConv, GatConfig, GatConv, GatV2Conv, Gcn2Config, Gcn2Conv,
    GcnConfig, GcnConv, GinConfig, GinConv, GnnLayer, Graph, SageConfig, SageConv, TransformerConfig,
    TransformerConv,
};
use tch::{nn, Device, Tensor};

struct Fixture {
    tensors: HashMap<String, Tensor>,
}

impl Fixture {
    fn load() -> Self {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/pyg_layers.safetensors"
        );
        let tensors = Tensor::read_safetensors(path)
            .expect("fixture readable")
            .into_iter()
            .collect();
        Fixture { tensors }
    }

    fn get(&self, name: &str) -> &Tensor {
        self.tensors
            .get(name)
            .unwrap_or_else(|| panic!("fixture has no `{name}`"))
    }

    /// Copies every fixture tensor named `{key}.*` into the var store, and checks
    /// that the store has no variable the fixture lacks (names must match PyG's).
    fn load_into(&self, vs: &nn::VarStore, key: &str) {
        let vars = vs.variables();
        let prefix = format!("{key}.");
        let mut loaded = 0;
        for (name, t) in self
            .tensors
            .iter()
            .filter(|(n, _)| n.starts_with(&prefix) && !n.ends_with(".out"))
        {
            let var = vars
                .get(name)
                .unwrap_or_else(|| panic!("no variable `{name}`; we have {:?}", vars.keys()));
            tch::no_grad(|| var.shallow_clone().copy_(t));
            loaded += 1;
        }
        assert_eq!(
            loaded,
            vars.len(),
            "{key}: fixture has {loaded} tensors, the layer {:?}",
            vars.keys()
        );
    }

    fn check(&self, key: &str, got: &Tensor) {
        let want = self.get(&format!("{key}.out"));
        let diff = (got - want).abs().max().double_value(&[]);
        assert!(diff < 1e-5, "{key}: max |ours - PyG| = {diff}");
    }
}

fn run(f: &Fixture, key: &str, weighted: bool, build: impl FnOnce(&nn::Path) -> Box<dyn GnnLayer>) {
    let vs = nn::VarStore::new(Device::Cpu);
    let layer = build(&(vs.root() / key));
    f.load_into(&vs, key);
    let ei = f.get("edge_index");
    let graph = if weighted {
        Graph::with_weights(ei, f.get("edge_weight"), 10)
    } else {
        Graph::new(ei, 10)
    }
    .unwrap();
    f.check(key, &layer.forward(f.get("x"), &graph));
}

#[test]
fn layers_reproduce_pyg_outputs() {
    let f = Fixture::load();
    run(&f, "gcn", false, |p| {
        Box::new(GcnConv::new(p, 5, 4, GcnConfig::default()))
    });
    run(&f, "gcn_improved_weighted", true, |p| {
        Box::new(GcnConv::new(
            p,
            5,
            4,
            GcnConfig {
                improved: true,
                ..Default::default()
            },
        ))
    });
    run(&f, "gat", false, |p| {
        Box::new(GatConv::new(
            p,
            5,
            3,
            GatConfig {
                heads: 2,
                ..Default::default()
            },
        ))
    });
    run(&f, "gat_mean", false, |p| {
        let config = GatConfig {
            heads: 2,
            concat: false,
            negative_slope: 0.1,
            ..Default::default()
        };
        Box::new(GatConv::new(p, 5, 3, config))
    });
    run(&f, "gatv2", false, |p| {
        Box::new(GatV2Conv::new(
            p,
            5,
            3,
            GatConfig {
                heads: 2,
                ..Default::default()
            },
        ))
    });
    run(&f, "sage", false, |p| {
        Box::new(SageConv::new(p, 5, 4, SageConfig::default()))
    });
    run(&f, "sage_max", false, |p| {
        Box::new(SageConv::new(
            p,
            5,
            4,
            SageConfig {
                aggr: Aggr::Max,
                ..Default::default()
            },
        ))
    });
    run(&f, "gin", false, |p| {
        Box::new(GinConv::new(
            p,
            GinConv::mlp(p, 5, 8, 4),
            5,
            GinConfig {
                eps: 0.0,
                train_eps: true,
            },
        ))
    });
    run(&f, "cheb", false, |p| {
        Box::new(ChebConv::new(p, 5, 4, 3, ChebConfig::default()))
    });
    run(&f, "cheb_weighted", true, |p| {
        Box::new(ChebConv::new(p, 5, 4, 2, ChebConfig::default()))
    });
    run(&f, "transformer", false, |p| {
        Box::new(TransformerConv::new(
            p,
            5,
            3,
            TransformerConfig {
                heads: 2,
                ..Default::default()
            },
        ))
    });
    run(&f, "appnp", false, |_| {
        Box::new(Appnp::new(AppnpConfig { k: 3, alpha: 0.1 }))
    });
}

#[test]
fn gcn2_reproduces_pyg() {
    let f = Fixture::load();
    let vs = nn::VarStore::new(Device::Cpu);
    let conv = Gcn2Conv::new(
        vs.root() / "gcn2",
        5,
        Gcn2Config {
            layer: 2,
            ..Default::default()
        },
    );
    f.load_into(&vs, "gcn2");
    let graph = Graph::new(f.get("edge_index"), 10).unwrap();
    f.check("gcn2", &conv.forward(f.get("x"), f.get("x0"), &graph));
}
