//! The fused libtorch kernels and the explicit loop agree, in outputs and gradients, and bad input is
//! a typed error before libtorch sees it.

use proptest::prelude::*;
use seq_models::{
    CellKind, Implementation, InputError, Mismatch, Recurrent, RecurrentCell, RecurrentConfig, RnnState,
    SeqError,
};
use tch::{nn, Device, Kind, Tensor};

const KINDS: [CellKind; 4] = [
    CellKind::RnnTanh,
    CellKind::RnnRelu,
    CellKind::Lstm,
    CellKind::Gru,
];

#[derive(Debug, Clone)]
struct Case {
    kind: CellKind,
    layers: i64,
    bidirectional: bool,
    batch_first: bool,
    b: i64,
    t: i64,
    i: i64,
    h: i64,
    lengths: Option<Vec<i64>>,
    with_state: bool,
}

fn case() -> impl Strategy<Value = Case> {
    (
        0usize..4,
        1i64..=3,
        any::<bool>(),
        any::<bool>(),
        1i64..=4,
        1i64..=6,
        1i64..=5,
        1i64..=5,
        any::<bool>(),
        any::<bool>(),
    )
        .prop_flat_map(
            |(k, layers, bidirectional, batch_first, b, t, i, h, packed, with_state)| {
                let lengths = proptest::collection::vec(1..=t, b as usize);
                (
                    Just((k, layers, bidirectional, batch_first, b, t, i, h, with_state)),
                    lengths,
                    Just(packed),
                )
            },
        )
        .prop_map(
            |((k, layers, bidirectional, batch_first, b, t, i, h, with_state), lengths, packed)| Case {
                kind: KINDS[k],
                layers,
                bidirectional,
                batch_first,
                b,
                t,
                i,
                h,
                lengths: packed.then_some(lengths),
                with_state,
            },
        )
}

/// Fixed pseudo-random weights by logical index: not from the global generator, which tests running in
/// parallel share, and not `randn_like`, which follows strides (they differ between implementations).
fn noise(x: &Tensor) -> Tensor {
    (Tensor::arange(x.numel() as i64, (x.kind(), x.device())) * 1.7 + 0.3)
        .sin()
        .view(x.size().as_slice())
}

/// Output, final state and the gradients of a fixed random loss w.r.t. the input, the initial state and
/// every parameter.
fn run(
    layer: &Recurrent,
    vs: &nn::VarStore,
    imp: Implementation,
    x: &Tensor,
    s: Option<&RnnState>,
    c: &Case,
) -> Vec<Tensor> {
    let out = layer
        .f_forward_with(imp, x, s, c.lengths.as_deref(), true)
        .unwrap();
    let mut loss = (&out.output * noise(&out.output)).sum(Kind::Double)
        + (&out.state.h * noise(&out.state.h)).sum(Kind::Double);
    if let Some(cn) = &out.state.c {
        loss += (cn * noise(cn)).sum(Kind::Double);
    }
    let mut inputs = vec![x.shallow_clone()];
    if let Some(s) = s {
        inputs.push(s.h.shallow_clone());
        inputs.extend(s.c.iter().map(Tensor::shallow_clone));
    }
    let mut vars: Vec<_> = vs.variables().into_iter().collect();
    vars.sort_by(|a, b| a.0.cmp(&b.0));
    inputs.extend(vars.into_iter().map(|(_, v)| v));
    let grads = Tensor::run_backward(&[loss], &inputs, false, false);
    let mut all = vec![out.output, out.state.h];
    all.extend(out.state.c);
    all.extend(grads);
    all
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn fused_and_explicit_agree(c in case()) {
        tch::manual_seed(1);
        let mut vs = nn::VarStore::new(Device::Cpu);
        let config = RecurrentConfig { num_layers: c.layers, bidirectional: c.bidirectional, batch_first: c.batch_first, ..Default::default() };
        let layer = Recurrent::new(vs.root(), c.kind, c.i, c.h, config);
        vs.double();
        let opts = (Kind::Double, Device::Cpu);
        let shape = if c.batch_first { [c.b, c.t, c.i] } else { [c.t, c.b, c.i] };
        let x = Tensor::randn(shape, opts).set_requires_grad(true);
        let sshape = [c.layers * layer.directions(), c.b, c.h];
        let state = c.with_state.then(|| RnnState {
            h: Tensor::randn(sshape, opts).set_requires_grad(true),
            c: c.kind.has_cell().then(|| Tensor::randn(sshape, opts).set_requires_grad(true)),
        });
        let a = run(&layer, &vs, Implementation::Fused, &x, state.as_ref(), &c);
        let b = run(&layer, &vs, Implementation::Explicit, &x, state.as_ref(), &c);
        prop_assert_eq!(a.len(), b.len());
        for (k, (u, v)) in a.iter().zip(&b).enumerate() {
            prop_assert_eq!(u.size(), v.size());
            let d = (u - v).abs().max().double_value(&[]);
            prop_assert!(d < 1e-5, "tensor {} differs by {}", k, d);
        }
        // Padded steps output zeros and the final state is the one of the last valid step.
        if let Some(lengths) = &c.lengths {
            let out = layer.f_forward(&x, state.as_ref(), Some(lengths), false).unwrap();
            for (row, &n) in lengths.iter().enumerate() {
                let bf = if c.batch_first { out.output.get(row as i64) } else { out.output.select(1, row as i64) };
                if n < c.t {
                    prop_assert_eq!(bf.narrow(0, n, c.t - n).abs().max().double_value(&[]), 0.0);
                }
                let xr = if c.batch_first { x.narrow(0, row as i64, 1).narrow(1, 0, n) } else { x.narrow(1, row as i64, 1).narrow(0, 0, n) };
                let sr = state.as_ref().map(|s| RnnState { h: s.h.narrow(1, row as i64, 1), c: s.c.as_ref().map(|cc| cc.narrow(1, row as i64, 1)) });
                let alone = layer.f_forward(&xr, sr.as_ref(), None, false).unwrap();
                let d = (alone.state.h - out.state.h.narrow(1, row as i64, 1)).abs().max().double_value(&[]);
                prop_assert!(d < 1e-9, "row {} final state differs from the unpadded run by {}", row, d);
            }
        }
    }

    #[test]
    fn cell_fused_and_explicit_agree(k in 0usize..4, b in 1i64..4, i in 1i64..5, h in 1i64..5) {
        let mut vs = nn::VarStore::new(Device::Cpu);
        let cell = RecurrentCell::new(vs.root(), KINDS[k], i, h);
        vs.double();
        let opts = (Kind::Double, Device::Cpu);
        let x = Tensor::randn([b, i], opts);
        let s = RnnState { h: Tensor::randn([b, h], opts), c: KINDS[k].has_cell().then(|| Tensor::randn([b, h], opts)) };
        let u = cell.f_step(&x, Some(&s)).unwrap();
        let v = cell.f_step_fused(&x, Some(&s)).unwrap();
        prop_assert!((&u.h - &v.h).abs().max().double_value(&[]) < 1e-10);
        if let (Some(a), Some(b)) = (&u.c, &v.c) {
            prop_assert!((a - b).abs().max().double_value(&[]) < 1e-10);
        }
    }
}

#[test]
fn bad_input_is_a_typed_error_not_an_abort() {
    let vs = nn::VarStore::new(Device::Cpu);
    let lstm = Recurrent::lstm(vs.root(), 3, 4, RecurrentConfig::default());
    let f = (Kind::Float, Device::Cpu);
    let x = Tensor::zeros([2, 5, 3], f);
    for imp in [Implementation::Fused, Implementation::Explicit] {
        let err = |x: &Tensor, s: Option<&RnnState>, l: Option<&[i64]>| {
            lstm.f_forward_with(imp, x, s, l, false).unwrap_err()
        };
        // Errors name the layer and the tensor, and say what does not fit.
        let shape = |e: SeqError| match e {
            SeqError::Input(InputError {
                layer,
                what,
                mismatch: Mismatch::Shape { got, .. },
            }) if layer == "Lstm" => Some((what, got)),
            _ => None,
        };
        let e = err(&Tensor::zeros([2, 5, 4], f), None, None);
        assert_eq!(
            e.to_string(),
            "Lstm expects input of shape [batch, time, 3], got [2, 5, 4]"
        );
        assert_eq!(shape(e), Some(("input".to_string(), vec![2, 5, 4])));
        assert_eq!(
            shape(err(&Tensor::zeros([10, 3], f), None, None)),
            Some(("input".to_string(), vec![10, 3]))
        );
        let e = err(&Tensor::zeros([2, 5, 3], (Kind::Double, Device::Cpu)), None, None);
        assert_eq!(e.to_string(), "Lstm expects input of dtype Float, got Double");
        assert!(matches!(
            e,
            SeqError::Input(InputError {
                mismatch: Mismatch::Kind {
                    expected: Kind::Float,
                    got: Kind::Double
                },
                ..
            })
        ));
        assert!(matches!(
            err(&Tensor::zeros([2, 0, 3], f), None, None),
            SeqError::Empty(_)
        ));
        assert!(matches!(
            err(&Tensor::zeros([0, 5, 3], f), None, None),
            SeqError::Empty(_)
        ));
        assert!(matches!(err(&x, None, Some(&[5, 6])), SeqError::Lengths(_)));
        assert!(matches!(err(&x, None, Some(&[5, 0])), SeqError::Lengths(_)));
        assert!(matches!(err(&x, None, Some(&[5])), SeqError::Lengths(_)));
        let bad = RnnState {
            h: Tensor::zeros([1, 3, 4], f),
            c: Some(Tensor::zeros([1, 3, 4], f)),
        };
        assert_eq!(
            shape(err(&x, Some(&bad), None)),
            Some(("state h".to_string(), vec![1, 3, 4]))
        );
        let no_c = RnnState {
            h: Tensor::zeros([1, 2, 4], f),
            c: None,
        };
        assert!(matches!(err(&x, Some(&no_c), None), SeqError::Config(_)));
    }
    let vs = nn::VarStore::new(Device::Cpu);
    let cfg = RecurrentConfig {
        dropout: 1.5,
        ..Default::default()
    };
    assert!(matches!(
        Recurrent::f_new(vs.root(), CellKind::Gru, 3, 4, cfg),
        Err(SeqError::Config(_))
    ));
    assert!(Recurrent::f_new(vs.root(), CellKind::Gru, 0, 4, RecurrentConfig::default()).is_err());
}

#[test]
#[should_panic(expected = "lengths: Lstm got length 6, outside 1..=5")]
fn panicking_forward_says_the_same() {
    let vs = nn::VarStore::new(Device::Cpu);
    let lstm = Recurrent::lstm(vs.root(), 3, 4, RecurrentConfig::default());
    lstm.forward(
        &Tensor::zeros([2, 5, 3], (Kind::Float, Device::Cpu)),
        None,
        Some(&[5, 6]),
        false,
    );
}

#[test]
fn shapes_follow_pytorch() {
    let vs = nn::VarStore::new(Device::Cpu);
    let cfg = RecurrentConfig {
        num_layers: 3,
        bidirectional: true,
        batch_first: false,
        ..Default::default()
    };
    let gru = Recurrent::gru(vs.root(), 5, 7, cfg);
    let out = gru.forward(
        &Tensor::zeros([9, 2, 5], (Kind::Float, Device::Cpu)),
        None,
        None,
        false,
    );
    assert_eq!(out.output.size(), [9, 2, 14]);
    assert_eq!(out.state.h.size(), [6, 2, 7]);
    let names: Vec<String> = vs.variables().into_keys().collect();
    for n in [
        "weight_ih_l0",
        "weight_hh_l2_reverse",
        "bias_ih_l1",
        "bias_hh_l0_reverse",
        "weight_ih_l1",
    ] {
        assert!(names.iter().any(|x| x == n), "{n} missing from {names:?}");
    }
    assert_eq!(vs.variables()["weight_ih_l1"].size(), [21, 14]);
}
