//! Link prediction models: an encoder maps nodes to embeddings `Z`, a
//! decoder scores pairs `(u, v)` from `z_u` and `z_v`.
//!
//! - [`Gae`] (Kipf and Welling 2016): a two-layer GCN encoder and the
//!   inner-product decoder `z_u . z_v`.
//! - [`Vgae`]: the variational version: GCN layers for `mu` and `log sigma`
//!   sharing the first layer, `Z = mu + sigma * eps` in training (the
//!   reparameterisation), `Z = mu` in evaluation, and the KL term
//!   [`Encoding::kl`].
//! - [`EncoderDecoder`]: any node network ([`NodeModel`]: SAGE, GAT, ...) as
//!   the encoder, with the inner-product or the [`HadamardDecoder`] (an MLP
//!   on `z_u * z_v`).
//!
//! All implement [`LinkModel`]: `f_encode` then `f_decode`, logits (apply a
//! sigmoid for probabilities).
//!
//! ```
//! use graph_models::link::{Gae, LinkModel};
//! use graph_models::{Graph, NodeFeatures};
//! use tch::{nn, Device, Kind, Tensor};
//! let vs = nn::VarStore::new(Device::Cpu);
//! let gae = Gae::new(vs.root(), 5, 8, 4);
//! let graph = Graph::new(&Tensor::from_slice2(&[[0i64, 1, 2], [1, 2, 0]]), 3).unwrap();
//! let x = NodeFeatures::Dense(Tensor::ones([3, 5], (Kind::Float, Device::Cpu)));
//! let z = gae.encode(&x, &graph, false).z;
//! assert_eq!(z.size(), [3, 4]);
//! let logits = gae.decode(&z, &Tensor::from_slice(&[0i64, 1]), &Tensor::from_slice(&[2i64, 2]));
//! assert_eq!(logits.size(), [2]);
//! let err = gae.f_decode(&z, &Tensor::from_slice(&[0i64]), &Tensor::from_slice(&[3i64]));
//! assert!(err.unwrap_err().to_string().contains("node ids in 0..3, found 3"));
//! ```

use std::borrow::Borrow;

use tch::{nn, Kind, Tensor};
use train_utils::InputError;

use crate::error::{GnnError, Result};
use crate::features::NodeFeatures;
use crate::gcn::{GcnConfig, GcnConv};
use crate::graph::Graph;
use crate::layer::GnnLayer;
use crate::node_model::NodeModel;

/// What an encoder gives.
#[derive(Debug)]
pub struct Encoding {
    /// Node embeddings `[N, d]` (sampled in training for [`Vgae`]).
    pub z: Tensor,
    /// VGAE's KL divergence of `q(Z | X, A)` from the standard normal,
    /// averaged over nodes: `-1/2 mean_i sum_j (1 + 2 log sigma - mu^2 -
    /// sigma^2)` (PyG's `kl_loss`); `None` for deterministic encoders.
    pub kl: Option<Tensor>,
}

/// An encoder and a decoder for link prediction.
pub trait LinkModel: std::fmt::Debug {
    /// Node embeddings from features and the message-passing graph.
    fn f_encode(&self, x: &NodeFeatures, graph: &Graph, train: bool) -> Result<Encoding>;

    /// Logits of the pairs `(src[i], dst[i])` (int64 `[P]` node ids into `z`).
    fn f_decode(&self, z: &Tensor, src: &Tensor, dst: &Tensor) -> Result<Tensor>;

    /// True when the decoder is the inner product (the dense, all-pairs
    /// loss `Z Z^T` applies).
    fn inner_product(&self) -> bool;

    /// [`LinkModel::f_encode`], panicking with its message.
    fn encode(&self, x: &NodeFeatures, graph: &Graph, train: bool) -> Encoding {
        self.f_encode(x, graph, train).unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`LinkModel::f_decode`], panicking with its message.
    fn decode(&self, z: &Tensor, src: &Tensor, dst: &Tensor) -> Tensor {
        self.f_decode(z, src, dst).unwrap_or_else(|e| panic!("{e}"))
    }
}

/// Checks pair indices against embeddings `z`: int64, one dimension, equal
/// lengths, same device, and (if `ids`) ids in `0..N`.
fn check_pairs(layer: &str, z: &Tensor, src: &Tensor, dst: &Tensor, ids: bool) -> Result<()> {
    let n = z.size().first().copied().unwrap_or(0);
    for (what, t) in [("src", src), ("dst", dst)] {
        InputError::check_kind_device(layer, what, t, Kind::Int64, z.device())?;
        if t.dim() != 1 || t.size() != src.size() {
            return Err(
                InputError::shape(layer, what, format!("[pairs={}]", src.size()[0]), t.size()).into(),
            );
        }
        if ids && t.numel() > 0 {
            // One pass for both bounds: this check runs on every decode of a training step.
            let (lo, hi) = t.aminmax(None, false);
            let (lo, hi) = (lo.int64_value(&[]), hi.int64_value(&[]));
            if lo < 0 || hi >= n {
                let bad = if lo < 0 { lo } else { hi };
                return Err(InputError::range(layer, what, format!("node ids in 0..{n}"), bad).into());
            }
        }
    }
    if z.dim() != 2 {
        return Err(InputError::shape(layer, "z", "[num_nodes, dim]", z.size()).into());
    }
    Ok(())
}

/// The inner-product decoder: `z_u . z_v` for each pair.
pub fn inner_product(z: &Tensor, src: &Tensor, dst: &Tensor) -> Result<Tensor> {
    check_pairs("InnerProductDecoder", z, src, dst, false)?;
    // One pass over the pairs forward and backward (no index_add with a sort).
    // pair_dot checks the ids in that pass; only when it refuses are they
    // checked again, to name the bad id with the typed error every layer gives.
    train_utils::pair_dot::f_pair_dot(z, src, dst).or_else(|e| {
        check_pairs("InnerProductDecoder", z, src, dst, true)?;
        Err(e.into())
    })
}

/// The decoder of an [`EncoderDecoder`].
#[derive(Debug)]
pub enum Decoder {
    /// `z_u . z_v`.
    InnerProduct,
    /// An MLP on `z_u * z_v`.
    Hadamard(HadamardDecoder),
}

impl Decoder {
    fn f_decode(&self, z: &Tensor, src: &Tensor, dst: &Tensor) -> Result<Tensor> {
        match self {
            Decoder::InnerProduct => inner_product(z, src, dst),
            Decoder::Hadamard(h) => h.f_forward(z, src, dst),
        }
    }
}

/// Options of [`HadamardDecoder`].
#[derive(Debug, Clone, PartialEq)]
pub struct HadamardConfig {
    /// Hidden layer widths (ReLU after each); the output is one logit.
    pub hidden: Vec<i64>,
    /// Dropout before each hidden layer in training.
    pub dropout: f64,
}

impl Default for HadamardConfig {
    fn default() -> Self {
        HadamardConfig {
            hidden: vec![64],
            dropout: 0.0,
        }
    }
}

/// An MLP on the Hadamard product, one logit per pair (the link predictor
/// of PyG's and OGB's SAGE link examples):
/// `s_uv = W_L ReLU(... ReLU(W_1 (z_u * z_v) + b_1) ...) + b_L`.
/// Shapes: `z` `[N, in_dim]`, `src` and `dst` int64 `[P]`, logits `[P]`.
/// Parameters `lins.{i}.weight`, `lins.{i}.bias`.
///
/// ```
/// use graph_models::link::{HadamardConfig, HadamardDecoder};
/// use tch::{nn, Device, Kind, Tensor};
/// let vs = nn::VarStore::new(Device::Cpu);
/// let dec = HadamardDecoder::new(vs.root(), 8, HadamardConfig::default()); // 8 -> 64 -> 1
/// let z = Tensor::randn([5, 8], (Kind::Float, Device::Cpu));
/// let logits = dec.forward(&z, &Tensor::from_slice(&[0i64, 1, 4]), &Tensor::from_slice(&[2i64, 3, 0]));
/// assert_eq!(logits.size(), [3]);
/// // Symmetric in the pair: z_u * z_v = z_v * z_u.
/// let back = dec.forward(&z, &Tensor::from_slice(&[2i64, 3, 0]), &Tensor::from_slice(&[0i64, 1, 4]));
/// assert!(logits.allclose(&back, 1e-6, 1e-6, false));
/// // Embeddings of another width are refused.
/// let wide = Tensor::zeros([5, 9], (Kind::Float, Device::Cpu));
/// let one = Tensor::from_slice(&[0i64]);
/// assert!(dec.f_forward(&wide, &one, &one).is_err());
/// ```
#[derive(Debug)]
pub struct HadamardDecoder {
    layers: Vec<nn::Linear>,
    in_dim: i64,
    dropout: f64,
}

impl HadamardDecoder {
    /// A decoder for embeddings of width `in_dim`; panics with
    /// [`HadamardDecoder::f_new`]'s message.
    pub fn new<'a, P: Borrow<nn::Path<'a>>>(p: P, in_dim: i64, config: HadamardConfig) -> Self {
        Self::f_new(p, in_dim, config).unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`HadamardDecoder::new`], or [`GnnError::Config`] for widths below 1
    /// or a dropout outside [0, 1).
    pub fn f_new<'a, P: Borrow<nn::Path<'a>>>(p: P, in_dim: i64, config: HadamardConfig) -> Result<Self> {
        let p = p.borrow();
        if in_dim < 1 || config.hidden.iter().any(|&h| h < 1) {
            return Err(GnnError::Config(format!(
                "HadamardDecoder: widths must be positive, got in_dim {in_dim}, hidden {:?}",
                config.hidden
            )));
        }
        if !(0.0..1.0).contains(&config.dropout) {
            return Err(GnnError::Config(format!(
                "HadamardDecoder: dropout {} is not in [0, 1)",
                config.dropout
            )));
        }
        let mut dims = vec![in_dim];
        dims.extend(&config.hidden);
        dims.push(1);
        let layers = dims
            .windows(2)
            .enumerate()
            .map(|(i, w)| nn::linear(p / "lins" / i.to_string(), w[0], w[1], Default::default()))
            .collect();
        Ok(HadamardDecoder {
            layers,
            in_dim,
            dropout: config.dropout,
        })
    }

    /// [`HadamardDecoder::f_forward`], panicking with its message.
    pub fn forward(&self, z: &Tensor, src: &Tensor, dst: &Tensor) -> Tensor {
        self.f_forward(z, src, dst).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Logits `[P]` of the pairs, or a typed error.
    pub fn f_forward(&self, z: &Tensor, src: &Tensor, dst: &Tensor) -> Result<Tensor> {
        check_pairs("HadamardDecoder", z, src, dst, true)?;
        if z.size()[1] != self.in_dim {
            return Err(InputError::shape(
                "HadamardDecoder",
                "z",
                format!("[num_nodes, {}]", self.in_dim),
                z.size(),
            )
            .into());
        }
        self.forward_t_unchecked(z, src, dst, false)
    }

    fn forward_t_unchecked(&self, z: &Tensor, src: &Tensor, dst: &Tensor, train: bool) -> Result<Tensor> {
        let mut h = z.index_select(0, src) * z.index_select(0, dst);
        let last = self.layers.len() - 1;
        for (i, lin) in self.layers.iter().enumerate() {
            h = h.apply(lin);
            if i < last {
                h = h.relu().dropout(self.dropout, train);
            }
        }
        Ok(h.squeeze_dim(-1))
    }
}

/// Kipf and Welling's graph auto-encoder:
/// `Z = A' ReLU(A' X W_1 + b_1) W_2 + b_2` (two [`GcnConv`] layers,
/// `A' = D^-1/2 (A + I) D^-1/2`), scores `s_uv = z_u . z_v`. Shapes: `X`
/// `[N, in_dim]`, hidden `[N, hidden]`, `Z` `[N, out_dim]`, logits `[P]` for
/// `P` pairs. Parameters as PyG's
/// `GAE(GCNEncoder)` example: `encoder.conv1`, `encoder.conv2` (with biases,
/// which Kipf's TensorFlow layers do not have). Example: the module's.
#[derive(Debug)]
pub struct Gae {
    conv1: GcnConv,
    conv2: GcnConv,
}

impl Gae {
    /// Widths `in_dim -> hidden -> out_dim` (Kipf's: 32, 16); panics with
    /// [`Gae::f_new`]'s message.
    pub fn new<'a, P: Borrow<nn::Path<'a>>>(p: P, in_dim: i64, hidden: i64, out_dim: i64) -> Self {
        Self::f_new(p, in_dim, hidden, out_dim).unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`Gae::new`], or [`GnnError::Config`] for widths below 1.
    pub fn f_new<'a, P: Borrow<nn::Path<'a>>>(p: P, in_dim: i64, hidden: i64, out_dim: i64) -> Result<Self> {
        let p = p.borrow() / "encoder";
        Ok(Gae {
            conv1: GcnConv::f_new(&p / "conv1", in_dim, hidden, GcnConfig::default())?,
            conv2: GcnConv::f_new(&p / "conv2", hidden, out_dim, GcnConfig::default())?,
        })
    }
}

impl LinkModel for Gae {
    fn f_encode(&self, x: &NodeFeatures, graph: &Graph, train: bool) -> Result<Encoding> {
        let h = self.conv1.f_forward_t(&x.tensor(), graph, train)?.relu();
        Ok(Encoding {
            z: self.conv2.f_forward_t(&h, graph, train)?,
            kl: None,
        })
    }

    fn f_decode(&self, z: &Tensor, src: &Tensor, dst: &Tensor) -> Result<Tensor> {
        inner_product(z, src, dst)
    }

    fn inner_product(&self) -> bool {
        true
    }
}

/// Kipf and Welling's variational graph auto-encoder: `H = ReLU(GCN(X))`,
/// `mu = GCN_mu(H)`, `log sigma = GCN_sigma(H)`; in training
/// `Z = mu + sigma * eps` with `eps ~ N(0, I)` and the KL term, in
/// evaluation `Z = mu`; scores `s_uv = z_u . z_v`. Shapes: `X` `[N, in_dim]`,
/// `H` `[N, hidden]`, `mu`, `log sigma`, `Z` `[N, out_dim]`, KL a scalar.
/// Parameters as PyG's example: `encoder.conv1`, `encoder.conv_mu`,
/// `encoder.conv_logstd`. `log sigma` is clamped at 10 (PyG's `MAX_LOGSTD`).
///
/// ```
/// use graph_models::link::{LinkModel, Vgae};
/// use graph_models::{Graph, NodeFeatures};
/// use tch::{nn, Device, Kind, Tensor};
/// let vs = nn::VarStore::new(Device::Cpu);
/// let vgae = Vgae::new(vs.root(), 5, 8, 4);
/// let graph = Graph::new(&Tensor::from_slice2(&[[0i64, 1, 2], [1, 2, 0]]), 3).unwrap();
/// let x = NodeFeatures::Dense(Tensor::ones([3, 5], (Kind::Float, Device::Cpu)));
/// let train = vgae.encode(&x, &graph, true);
/// assert_eq!(train.z.size(), [3, 4]);
/// assert!(train.kl.unwrap().double_value(&[]) >= 0.0); // a KL divergence
/// let eval = vgae.encode(&x, &graph, false); // Z = mu, no KL
/// assert!(eval.kl.is_none());
/// assert!(eval.z.equal(&vgae.encode(&x, &graph, false).z)); // deterministic
/// ```
#[derive(Debug)]
pub struct Vgae {
    conv1: GcnConv,
    conv_mu: GcnConv,
    conv_logstd: GcnConv,
}

impl Vgae {
    /// Widths `in_dim -> hidden -> out_dim` (Kipf's: 32, 16); panics with
    /// [`Vgae::f_new`]'s message.
    pub fn new<'a, P: Borrow<nn::Path<'a>>>(p: P, in_dim: i64, hidden: i64, out_dim: i64) -> Self {
        Self::f_new(p, in_dim, hidden, out_dim).unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`Vgae::new`], or [`GnnError::Config`] for widths below 1.
    pub fn f_new<'a, P: Borrow<nn::Path<'a>>>(p: P, in_dim: i64, hidden: i64, out_dim: i64) -> Result<Self> {
        let p = p.borrow() / "encoder";
        Ok(Vgae {
            conv1: GcnConv::f_new(&p / "conv1", in_dim, hidden, GcnConfig::default())?,
            conv_mu: GcnConv::f_new(&p / "conv_mu", hidden, out_dim, GcnConfig::default())?,
            conv_logstd: GcnConv::f_new(&p / "conv_logstd", hidden, out_dim, GcnConfig::default())?,
        })
    }
}

impl LinkModel for Vgae {
    fn f_encode(&self, x: &NodeFeatures, graph: &Graph, train: bool) -> Result<Encoding> {
        let h = self.conv1.f_forward_t(&x.tensor(), graph, train)?.relu();
        let mu = self.conv_mu.f_forward_t(&h, graph, train)?;
        if !train {
            return Ok(Encoding { z: mu, kl: None });
        }
        let logstd = self.conv_logstd.f_forward_t(&h, graph, train)?.clamp_max(10.0);
        let z = &mu + mu.randn_like() * logstd.exp();
        let inside: Tensor = (&logstd * 2.0 + 1.0) - mu.square() - logstd.exp().square();
        let kl = inside.sum_dim_intlist(1, false, None).mean(None) * -0.5;
        Ok(Encoding { z, kl: Some(kl) })
    }

    fn f_decode(&self, z: &Tensor, src: &Tensor, dst: &Tensor) -> Result<Tensor> {
        inner_product(z, src, dst)
    }

    fn inner_product(&self) -> bool {
        true
    }
}

/// Any node network as the encoder, with a [`Decoder`]: `Z = f(X, A)` with `f`
/// a [`NodeModel`] (`[N, in_dim] -> [N, d]`), scores `z_u . z_v` or
/// `MLP(z_u * z_v)` (`[P]`): e.g. GraphSAGE with the [`HadamardDecoder`]
/// (PyG's and OGB's SAGE link predictors). Dropout in the encoder is the
/// network's own.
///
/// ```
/// use graph_models::link::{Decoder, EncoderDecoder, HadamardConfig, HadamardDecoder, LinkModel};
/// use graph_models::{Arch, Graph, NodeFeatures};
/// use tch::{nn, Device, Kind, Tensor};
/// let vs = nn::VarStore::new(Device::Cpu);
/// let model = EncoderDecoder {
///     encoder: Arch::Sage.build(vs.root() / "encoder", 5, 8, 2), // 5 -> 8 embeddings
///     decoder: Decoder::Hadamard(HadamardDecoder::new(vs.root() / "decoder", 8, HadamardConfig::default())),
/// };
/// let graph = Graph::new(&Tensor::from_slice2(&[[0i64, 1, 2], [1, 2, 0]]), 3).unwrap();
/// let x = NodeFeatures::Dense(Tensor::ones([3, 5], (Kind::Float, Device::Cpu)));
/// let z = model.encode(&x, &graph, false).z;
/// assert_eq!(model.decode(&z, &Tensor::from_slice(&[0i64]), &Tensor::from_slice(&[2i64])).size(), [1]);
/// assert!(!model.inner_product()); // no all-pairs loss for an MLP decoder
/// ```
#[derive(Debug)]
pub struct EncoderDecoder {
    /// The encoder: its output rows are the embeddings.
    pub encoder: Box<dyn NodeModel>,
    /// The decoder.
    pub decoder: Decoder,
}

impl LinkModel for EncoderDecoder {
    fn f_encode(&self, x: &NodeFeatures, graph: &Graph, train: bool) -> Result<Encoding> {
        Ok(Encoding {
            z: self.encoder.f_forward_t(x, graph, train)?,
            kl: None,
        })
    }

    fn f_decode(&self, z: &Tensor, src: &Tensor, dst: &Tensor) -> Result<Tensor> {
        self.decoder.f_decode(z, src, dst)
    }

    fn inner_product(&self) -> bool {
        matches!(self.decoder, Decoder::InnerProduct)
    }
}

/// PyG's `recon_loss` on given pairs: binary cross-entropy of the positive
/// logits against 1 and of the negative ones against 0, each averaged:
/// `mean(softplus(-pos)) + mean(softplus(neg))`, the same function written
/// with two fused softplus kernels instead of two general BCE-with-logits
/// (a test holds it equal to the BCE form).
pub fn sampled_loss(pos_logits: &Tensor, neg_logits: &Tensor) -> Tensor {
    // softplus switches to the identity above 20, where log(1 + e^x) - x < 3e-9.
    let pos = (-pos_logits).softplus().mean(None);
    let neg = neg_logits.softplus().mean(None);
    pos + neg
}

/// Kipf and Welling's reconstruction loss over all pairs, as their code
/// (`gae/train.py`, `gae/optimizer.py`) computes it:
///
/// `norm * mean_{u,v} [ -pos_weight * y_uv log s(z_u . z_v) - (1 - y_uv) log(1 - s(z_u . z_v)) ]`
///
/// with `s` the sigmoid, `Y = label` the dense `A + I` `[N, N]` (float), and
/// the weights counted on the graph without the identity, as their code counts
/// `adj_train`: `E` = the off-diagonal entries of `label`,
/// `pos_weight = (N^2 - E) / E`, `norm = N^2 / (2 (N^2 - E))`. `z` is
/// `[N, d]`; the result is a scalar.
pub fn dense_loss(z: &Tensor, label: &Tensor) -> Tensor {
    let n2 = (label.size()[0] * label.size()[1]) as f64;
    let e = label.sum(Kind::Double).double_value(&[])
        - label.diagonal(0, 0, 1).sum(Kind::Double).double_value(&[]);
    let e = e.max(1.0); // a graph without edges: no positives to weight
    let pos_weight = Tensor::from((n2 - e) / e).to_kind(z.kind()).to_device(z.device());
    let norm = n2 / (2.0 * (n2 - e));
    // In blocks of about 2^18 entries (1 MiB): whole `[N, N]` logits and
    // gradients (44 MiB on CiteSeer) exceed glibc's 32 MiB mapping threshold
    // and were mapped and faulted in afresh at every step; small blocks stay
    // in reused heap memory and in cache. One thread, 20 epochs: CiteSeer 345
    // -> 118 ms per epoch, Cora 86 -> 77 ms.
    let n = z.size()[0];
    let rows = ((1i64 << 18) / n.max(1)).clamp(1, n.max(1));
    let mut total = Tensor::zeros([], (z.kind(), z.device()));
    for start in (0..n).step_by(rows as usize) {
        let len = rows.min(n - start);
        let logits = z.narrow(0, start, len).matmul(&z.tr());
        total += logits.binary_cross_entropy_with_logits(
            &label.narrow(0, start, len),
            None::<&Tensor>,
            Some(&pos_weight),
            tch::Reduction::Sum,
        );
    }
    total * (norm / n2)
}
