//! Link prediction models: a short GAE run on Cora beats a random decoder,
//! VGAE's reparameterisation and KL, the Hadamard decoder on GAT and SAGE
//! encoders, the dense loss, and the typed errors.

use graph_data::link::metrics::roc_auc;
use graph_models::link::{
    dense_loss, sampled_loss, Decoder, EncoderDecoder, HadamardConfig, HadamardDecoder, LinkModel,
};
use graph_models::link_recipe::train_link;
use graph_models::{Arch, Gae, Graph, LinkArch, LinkConfig, LinkLoss, NodeFeatures, Vgae};
use tch::{nn, Device, Kind, Tensor};
use train_utils::{TrainError, TrainOptions};

// libtorch's generator is global and tests run in parallel: the seeded Cora run and the drawers take turns.
static GENERATOR: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn ring(n: i64) -> Graph {
    let src: Vec<i64> = (0..n).flat_map(|i| [i, (i + 1) % n]).collect();
    let dst: Vec<i64> = (0..n).flat_map(|i| [(i + 1) % n, i]).collect();
    Graph::new(
        &Tensor::stack(&[Tensor::from_slice(&src), Tensor::from_slice(&dst)], 0),
        n,
    )
    .unwrap()
}

/// 30 epochs of GAE (sampled loss) on Cora reach a test AUC far above a random
/// decoder's 0.5; VGAE too. A few seconds on two cores.
#[test]
fn short_gae_run_on_cora_beats_a_random_decoder() {
    let _generator = GENERATOR.lock().unwrap_or_else(|e| e.into_inner());
    let fetcher = graph_data::fetch::Fetcher::from_env();
    let ds = graph_data::planetoid::load("cora", &fetcher).expect("Cora from the data mirror");
    let x = NodeFeatures::from_features(&ds.features, Device::Cpu);
    tch::manual_seed(0);
    let random = Tensor::rand([2000], (Kind::Double, Device::Cpu));
    let r = Vec::<f64>::try_from(&random).unwrap();
    let random_auc = roc_auc(&r[..1000], &r[1000..]).unwrap();
    assert!((random_auc - 0.5).abs() < 0.05, "{random_auc}");
    for model in [LinkArch::Gae, LinkArch::Vgae] {
        let config = LinkConfig {
            model,
            epochs: 30,
            loss: Some(LinkLoss::Sampled),
            device: Device::Cpu,
            ..LinkConfig::default()
        };
        let run = train_link(&config, &ds, &x, 0, TrainOptions::epochs(30)).unwrap();
        assert!(run.test_auc > 0.75 && run.test_ap > 0.75, "{model:?}: {run:?}");
        assert!(run.val_auc > 0.75, "{run:?}");
        assert_eq!(run.epoch_ms.len(), 30);
    }
}

/// VGAE samples Z in training (two calls differ) and returns mu in evaluation
/// (deterministic), with a finite non-negative KL only in training.
#[test]
fn vgae_reparameterises_in_training_only() {
    let _generator = GENERATOR.lock().unwrap_or_else(|e| e.into_inner());
    let vs = nn::VarStore::new(Device::Cpu);
    let vgae = Vgae::new(vs.root(), 4, 8, 3);
    let g = ring(6);
    let x = NodeFeatures::Dense(Tensor::randn([6, 4], (Kind::Float, Device::Cpu)));
    let (a, b) = (vgae.encode(&x, &g, true), vgae.encode(&x, &g, true));
    assert!(!a.z.allclose(&b.z, 1e-6, 1e-6, false));
    let kl = a.kl.unwrap().double_value(&[]);
    assert!(kl.is_finite() && kl >= 0.0, "{kl}");
    let (c, d) = (vgae.encode(&x, &g, false), vgae.encode(&x, &g, false));
    assert!(c.kl.is_none() && c.z.equal(&d.z));
    let names: Vec<String> = vs.variables().into_keys().collect();
    assert!(
        names.iter().any(|n| n.starts_with("encoder.conv_logstd")),
        "{names:?}"
    );
}

/// The Hadamard decoder works on any encoder (GAT, SAGE), scores are
/// symmetric in (u, v), and losses are finite; the dense loss refuses nothing
/// for an inner-product model and is minimised by a perfect embedding.
#[test]
fn hadamard_decoder_on_any_encoder() {
    let _generator = GENERATOR.lock().unwrap_or_else(|e| e.into_inner());
    let g = ring(8);
    let x = NodeFeatures::Dense(Tensor::randn([8, 5], (Kind::Float, Device::Cpu)));
    for arch in [Arch::Gat, Arch::Sage] {
        let vs = nn::VarStore::new(Device::Cpu);
        let model = EncoderDecoder {
            encoder: arch.build(vs.root() / "encoder", 5, 6, 2),
            decoder: Decoder::Hadamard(HadamardDecoder::new(
                vs.root() / "decoder",
                6,
                HadamardConfig::default(),
            )),
        };
        assert!(!model.inner_product());
        let z = model.encode(&x, &g, false).z;
        let (s, t) = (
            Tensor::from_slice(&[0i64, 1, 2]),
            Tensor::from_slice(&[3i64, 4, 5]),
        );
        let st = model.decode(&z, &s, &t);
        assert!(st.allclose(&model.decode(&z, &t, &s), 1e-6, 1e-6, false));
        let loss = sampled_loss(&st, &model.decode(&z, &t, &t)).double_value(&[]);
        assert!(loss.is_finite() && loss > 0.0);
    }
    let vs = nn::VarStore::new(Device::Cpu);
    let gae = Gae::new(vs.root(), 5, 8, 4);
    let z = gae.encode(&x, &g, true).z;
    let label = Tensor::eye(8, (Kind::Float, Device::Cpu));
    assert!(dense_loss(&z, &label).double_value(&[]).is_finite());
}

/// The dense loss is Kipf and Welling's, term by term: weights counted on
/// the graph without the identity (their `adj_train`), target `A + I`.
#[test]
fn dense_loss_follows_kipfs_code() {
    let _generator = GENERATOR.lock().unwrap_or_else(|e| e.into_inner());
    // A path 0-1-2-3 and an isolated node 4, both directions: E = 6 entries.
    let n = 5usize;
    let edges = [(0, 1), (1, 0), (1, 2), (2, 1), (2, 3), (3, 2)];
    let mut y = vec![vec![0.0f64; n]; n];
    for (i, row) in y.iter_mut().enumerate() {
        row[i] = 1.0;
    }
    for &(u, v) in &edges {
        y[u][v] = 1.0;
    }
    let label = Tensor::from_slice2(&y).to_kind(Kind::Double);
    tch::manual_seed(3);
    let z = Tensor::randn([n as i64, 3], (Kind::Double, Device::Cpu));
    let zz: Vec<Vec<f64>> = Vec::<Vec<f64>>::try_from(&z.matmul(&z.tr())).unwrap();
    let (n2, e) = ((n * n) as f64, edges.len() as f64);
    let (pos_weight, norm) = ((n2 - e) / e, n2 / (2.0 * (n2 - e)));
    let sig = |x: f64| 1.0 / (1.0 + (-x).exp());
    let mut total = 0.0;
    for u in 0..n {
        for v in 0..n {
            let p = sig(zz[u][v]);
            total -= pos_weight * y[u][v] * p.ln() + (1.0 - y[u][v]) * (1.0 - p).ln();
        }
    }
    let expected = norm * total / n2;
    let got = dense_loss(&z, &label).double_value(&[]);
    assert!(
        (got - expected).abs() < 1e-9 * expected.abs(),
        "{got} vs {expected}"
    );
}

/// Bad pair indices and bad sizes are typed errors; the dense loss with a
/// Hadamard decoder is refused by the recipe.
#[test]
fn link_errors_are_typed() {
    let _generator = GENERATOR.lock().unwrap_or_else(|e| e.into_inner());
    let vs = nn::VarStore::new(Device::Cpu);
    let gae = Gae::new(vs.root(), 4, 8, 3);
    let z = Tensor::zeros([5, 3], (Kind::Float, Device::Cpu));
    let one = Tensor::from_slice(&[1i64]);
    let err = gae
        .f_decode(&z, &one, &Tensor::from_slice(&[-1i64]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("node ids in 0..5, found -1"), "{err}");
    let err = gae
        .f_decode(&z, &one, &Tensor::from_slice(&[1i32]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("dtype Int64"), "{err}");
    let err = gae
        .f_decode(&z, &one, &Tensor::from_slice(&[1i64, 2]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("shape"), "{err}");
    assert!(Gae::f_new(vs.root(), 0, 8, 3).is_err());
    assert!(HadamardDecoder::f_new(
        vs.root() / "d",
        3,
        HadamardConfig {
            hidden: vec![0],
            dropout: 0.0
        }
    )
    .is_err());
    let h = HadamardDecoder::new(vs.root() / "h", 4, HadamardConfig::default());
    assert!(h
        .f_forward(&z, &one, &one)
        .unwrap_err()
        .to_string()
        .contains("[num_nodes, 4]"));

    let fetcher = graph_data::fetch::Fetcher::from_env();
    let ds = graph_data::planetoid::load("cora", &fetcher).unwrap();
    let x = NodeFeatures::from_features(&ds.features, Device::Cpu);
    let config = LinkConfig {
        model: LinkArch::Sage,
        loss: Some(LinkLoss::Dense),
        device: Device::Cpu,
        ..LinkConfig::default()
    };
    let err = train_link(&config, &ds, &x, 0, TrainOptions::epochs(1)).unwrap_err();
    assert!(
        matches!(err, TrainError::Config(ref m) if m.contains("inner-product")),
        "{err}"
    );
    let config = LinkConfig {
        dataset: "pubmed-nope".into(),
        ..LinkConfig::default()
    };
    assert!(graph_models::link_prediction(&config).is_err());
}

/// `sampled_loss` is PyG's `recon_loss`: the two BCE-with-logits means, in
/// value and gradient, also far out in the tails (|logit| up to 40).
#[test]
fn sampled_loss_equals_binary_cross_entropy_with_logits() {
    let _generator = GENERATOR.lock().unwrap_or_else(|e| e.into_inner());
    tch::manual_seed(3);
    let opts = (Kind::Double, Device::Cpu);
    let pos = (Tensor::randn([257], opts) * 12.0).set_requires_grad(true);
    let neg = (Tensor::randn([300], opts) * 12.0).set_requires_grad(true);
    let ours = sampled_loss(&pos, &neg);
    let (gp, gn) = {
        let g = Tensor::run_backward(&[&ours], &[&pos, &neg], false, false);
        (g[0].shallow_clone(), g[1].shallow_clone())
    };
    let bce =
        pos.binary_cross_entropy_with_logits::<Tensor>(&pos.ones_like(), None, None, tch::Reduction::Mean)
            + neg.binary_cross_entropy_with_logits::<Tensor>(
                &neg.zeros_like(),
                None,
                None,
                tch::Reduction::Mean,
            );
    let g = Tensor::run_backward(&[&bce], &[&pos, &neg], false, false);
    assert!((ours.double_value(&[]) - bce.double_value(&[])).abs() < 1e-8);
    assert!(gp.allclose(&g[0], 1e-8, 1e-10, false));
    assert!(gn.allclose(&g[1], 1e-8, 1e-10, false));
}
