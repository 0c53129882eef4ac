//! Reproduces outputs exported from `torch.nn.LSTM` / `GRU` / `RNN` (see `fixtures/gen_torch_rnn.py`).

use std::collections::HashMap;
use std::path::PathBuf;

use seq_models::io::{load_safetensors, save_safetensors};
use seq_models::{CellKind, Implementation, Recurrent, RecurrentConfig};
use tch::{nn, Device, Kind, Tensor};

fn fixture_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/torch_rnn.safetensors")
}

fn max_diff(a: &Tensor, b: &Tensor) -> f64 {
    assert_eq!(a.size(), b.size());
    (a - b).abs().max().double_value(&[])
}

/// (case, kind, layers, bidirectional, batch_first) as in the generator script.
const CASES: [(&str, CellKind, i64, bool, bool); 5] = [
    ("lstm", CellKind::Lstm, 2, true, false),
    ("gru", CellKind::Gru, 2, true, false),
    ("rnn_tanh", CellKind::RnnTanh, 2, false, false),
    ("rnn_relu", CellKind::RnnRelu, 1, true, false),
    ("lstm_packed", CellKind::Lstm, 1, true, true),
];

#[test]
fn reproduces_torch_outputs_and_states() {
    let file: HashMap<String, Tensor> = Tensor::read_safetensors(fixture_path())
        .unwrap()
        .into_iter()
        .collect();
    for (case, kind, num_layers, bidirectional, batch_first) in CASES {
        let mut vs = nn::VarStore::new(Device::Cpu);
        let config = RecurrentConfig {
            num_layers,
            bidirectional,
            batch_first,
            ..Default::default()
        };
        // Variables are named "<case>.<state-dict name>", the fixture's keys.
        let layer = Recurrent::new(vs.root() / case, kind, 3, 4, config);
        vs.double();
        load_safetensors(&mut vs, fixture_path()).unwrap();
        let get = |k: &str| {
            file.get(&format!("{case}.{k}"))
                .unwrap_or_else(|| panic!("{case}.{k}"))
        };
        let lengths: Option<Vec<i64>> = file
            .get(&format!("{case}.lengths"))
            .map(|l| Vec::try_from(l).unwrap());
        for imp in [Implementation::Fused, Implementation::Explicit] {
            let out = layer
                .f_forward_with(imp, get("input"), None, lengths.as_deref(), false)
                .unwrap();
            let d = max_diff(&out.output, get("output"));
            assert!(d < 1e-5, "{case} {imp:?}: output differs by {d}");
            let d = max_diff(&out.state.h, get("h_n"));
            assert!(d < 1e-5, "{case} {imp:?}: h_n differs by {d}");
            if let Some(c) = &out.state.c {
                let d = max_diff(c, get("c_n"));
                assert!(d < 1e-5, "{case} {imp:?}: c_n differs by {d}");
            }
        }
    }
}

#[test]
fn safetensors_round_trip_keeps_outputs() {
    let dir = std::env::temp_dir().join(format!("seq-models-rt-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("gru.safetensors");
    let config = RecurrentConfig {
        num_layers: 2,
        bidirectional: true,
        ..Default::default()
    };
    let vs = nn::VarStore::new(Device::Cpu);
    let a = Recurrent::gru(vs.root(), 3, 6, config);
    save_safetensors(&vs, &path).unwrap();
    let mut vs2 = nn::VarStore::new(Device::Cpu);
    let b = Recurrent::gru(vs2.root(), 3, 6, config);
    let x = Tensor::randn([2, 7, 3], (Kind::Float, Device::Cpu));
    assert!(
        max_diff(
            &a.forward(&x, None, None, false).output,
            &b.forward(&x, None, None, false).output
        ) > 1e-3
    );
    load_safetensors(&mut vs2, &path).unwrap();
    assert_eq!(
        max_diff(
            &a.forward(&x, None, None, false).output,
            &b.forward(&x, None, None, false).output
        ),
        0.0
    );
    // A model of another size must not load silently.
    let mut vs3 = nn::VarStore::new(Device::Cpu);
    let _c = Recurrent::gru(vs3.root(), 3, 5, config);
    assert!(load_safetensors(&mut vs3, &path).is_err());
    std::fs::remove_dir_all(&dir).unwrap();
}
