//! PyG Temporal weights in: a PGT 0.56 state dict (safetensors, as
//! `benches/peers/pgt_export.py` writes them) loaded into hybrid's layers,
//! which then compute what PGT's layers compute, snapshot for snapshot.
//!
//! | PGT 0.56 | hybrid | parameters mapped |
//! |---|---|---|
//! | `GConvGRU(F, H, K)` | [`GraphRecurrent::gconv_gru`] | `conv_x_{z,r,h}` (ChebConv `lins.k.weight`, `bias`) into `conv_x` (the three fused, `T_k` blocks side by side; biases of `conv_x_*` and `conv_h_*` summed), `conv_h_{r,z,h}` into `conv_h` (gates in PyTorch's order r, z, n) |
//! | `GConvLSTM(F, H, K)` | [`GraphRecurrent::gconv_lstm`] | `conv_x_{i,f,c,o}` into `conv_x` (biases: `conv_x_*`, `conv_h_*` and `b_*` summed), `conv_h_*` into `conv_h`, `w_c_*` (`(1, H)`) into the peepholes |
//! | `DCRNN(F, H, K)` | [`GraphRecurrent::dcrnn`] | `conv_x_{z,r,h}.weight` `(2, K, F + H, H)` split into the input rows (`conv_x`) and the state rows (`conv_h`), PGT's `T_k` re-expressed in powers of `P` (below) |
//! | `TGCN(F, H)` | [`GraphRecurrent::tgcn_pgt`] | `linear_g.weight[:, :H] @ conv_g.lin.weight` into `conv_x`, `linear_g.weight[:, :H] @ conv_g.bias + linear_g.bias` its bias, `linear_g.weight[:, H:]` into `conv_h` |
//! | `A3TGCN(F, H, periods)` | [`A3tgcn::pgt`] | `_base_tgcn.*` as `TGCN`, `_attention` |
//!
//! Where hybrid's own cells differ from PGT's by design, the loaded model is
//! PGT's variant: T-GCN without the graph on the state
//! ([`GraphRecurrent::tgcn_pgt`]; hybrid's [`GraphRecurrent::tgcn`] convolves `[X, H]` as
//! the paper), A3T-GCN restarting every period from the given state
//! ([`A3tgcn::pgt`]; hybrid's carries it). The supports must be PGT's too:
//! [`supports`] builds them from PGT's `edge_index` / `edge_weight`. For
//! ChebConv and GCNConv these are hybrid's own ([`SupportKind`]: PyG's
//! normalisations, self loops included). PGT 0.56's `DConv` is not the
//! DCRNN paper's diffusion, and [`supports`] reproduces it as it is:
//!
//! - the forward walk sums `x_i / deg_out(i)` over the edges `i -> j`: the
//!   edge weights enter only through the degrees;
//! - the backward walk runs over the nonzeros of `A^T` in row-major order, but
//!   takes its per-edge factors `1 / deg_in(edge_index[0][e])` in the order of
//!   `edge_index`: the result depends on the order of the edges;
//! - its terms are `T_0 = X`, `T_1 = P X`, `T_k = 2 P T_(k-1) - X` (the
//!   subtracted term stays `X`), which the loader re-expresses in hybrid's
//!   powers `[X, P X, ..., P^(K-1) X]` (exact: `T_k` is a polynomial in `P`),
//!   the `X` terms of both directions folded into the shared identity block.
//!
//! A graph where some node that starts an edge has no in-edges (PGT divides by
//! zero there) is refused.

use crate::error::{HybridError, Result, StateDictError};
use crate::graph::{SupportKind, Supports};
use crate::recurrent::{A3tgcn, GraphRecurrent};
use graph_data::csr::Csr;
use std::borrow::Borrow;
use std::collections::BTreeMap;
use std::path::Path;
use tch::{nn, Kind, Tensor};

/// A PyG Temporal state dict: tensors by their PGT names (`conv_x_z.lins.0.weight`, ...).
#[derive(Debug, Default)]
pub struct PgtStateDict {
    tensors: BTreeMap<String, Tensor>,
}

impl PgtStateDict {
    /// A state dict from `(name, tensor)` pairs.
    pub fn new(tensors: impl IntoIterator<Item = (String, Tensor)>) -> Self {
        PgtStateDict {
            tensors: tensors.into_iter().collect(),
        }
    }

    /// Reads a safetensors file (`safetensors.torch.save_file(model.state_dict(), path)`).
    pub fn read_safetensors(path: impl AsRef<Path>) -> Result<Self> {
        Ok(Self::new(Tensor::read_safetensors(path)?))
    }

    /// The tensors whose names start with `prefix.`, with the prefix removed
    /// (one model of a file holding several).
    pub fn prefixed(&self, prefix: &str) -> PgtStateDict {
        let p = format!("{prefix}.");
        PgtStateDict::new(
            self.tensors
                .iter()
                .filter_map(|(k, v)| k.strip_prefix(&p).map(|k| (k.to_owned(), v.shallow_clone()))),
        )
    }

    /// The tensor called `name`, if any.
    pub fn get(&self, name: &str) -> Option<&Tensor> {
        self.tensors.get(name)
    }

    /// The names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.tensors.keys().map(String::as_str)
    }

    /// Removes the tensor `name` (to build a broken state dict in a test, say).
    pub fn remove(&mut self, name: &str) -> Option<Tensor> {
        self.tensors.remove(name)
    }

    /// Inserts or replaces the tensor `name`.
    pub fn insert(&mut self, name: impl Into<String>, t: Tensor) {
        self.tensors.insert(name.into(), t);
    }

    fn any(&self, model: &str, name: &str) -> Result<&Tensor> {
        self.tensors.get(name).ok_or_else(|| {
            StateDictError::Missing {
                model: model.into(),
                name: name.into(),
            }
            .into()
        })
    }

    /// `name` as a float tensor of shape `shape`.
    fn tensor(&self, model: &str, name: &str, shape: &[i64]) -> Result<Tensor> {
        let t = self.any(model, name)?;
        if t.size() != shape {
            return Err(StateDictError::Shape {
                model: model.into(),
                name: name.into(),
                expected: format!("{shape:?}"),
                got: t.size(),
            }
            .into());
        }
        Ok(t.to_kind(Kind::Float).to_device(tch::Device::Cpu))
    }

    /// The rank-`rank` tensor `name` (its sizes are what the others are checked against).
    fn sizes(&self, model: &str, name: &str, rank: usize, words: &str) -> Result<Vec<i64>> {
        let t = self.any(model, name)?;
        let s = t.size();
        if s.len() != rank || s.contains(&0) {
            return Err(StateDictError::Shape {
                model: model.into(),
                name: name.into(),
                expected: words.into(),
                got: s,
            }
            .into());
        }
        Ok(s)
    }

    /// Number of consecutive `prefix{k}suffix` tensors from `k = 0` (ChebConv's `K`).
    fn count(&self, prefix: &str, suffix: &str) -> i64 {
        (0..)
            .take_while(|k| self.tensors.contains_key(&format!("{prefix}{k}{suffix}")))
            .count() as i64
    }
}

/// Copies `src` into the parameter `dst` (same shape), without recording gradients.
fn set(dst: &Tensor, src: &Tensor) {
    tch::no_grad(|| {
        dst.shallow_clone()
            .copy_(&src.to_kind(dst.kind()).to_device(dst.device()))
    });
}

fn set_linear(lin: &nn::Linear, w: &Tensor, b: Option<&Tensor>) {
    set(&lin.ws, w);
    if let (Some(bs), Some(b)) = (&lin.bs, b) {
        set(bs, b);
    }
}

/// A ChebConv's `lins.k.weight` side by side, `(out, K * in)`, and its bias.
fn cheb(sd: &PgtStateDict, model: &str, conv: &str, k: i64, shape: [i64; 2]) -> Result<(Tensor, Tensor)> {
    let blocks = (0..k)
        .map(|i| sd.tensor(model, &format!("{conv}.lins.{i}.weight"), &shape))
        .collect::<Result<Vec<_>>>()?;
    let bias = sd.tensor(model, &format!("{conv}.bias"), &[shape[0]])?;
    Ok((Tensor::cat(&blocks, 1), bias))
}

/// PGT's `GConvGRU(F, H, K)` (its `conv_x_*` and `conv_h_*` ChebConvs) as a
/// [`GraphRecurrent::gconv_gru`] under `path`; `F`, `H` and `K` are read from the
/// state dict. Run it on [`supports`]`(PgtLayer::GConvGru, ...)`.
pub fn gconv_gru<'a, P: Borrow<nn::Path<'a>>>(path: P, sd: &PgtStateDict) -> Result<GraphRecurrent> {
    let model = "PGT GConvGRU";
    let s = sd.sizes(model, "conv_x_z.lins.0.weight", 2, "[H, F]")?;
    let (h, f) = (s[0], s[1]);
    let k = sd.count("conv_x_z.lins.", ".weight");
    let cell = GraphRecurrent::f_gconv_gru(path, f, h, k)?;
    let mut wx = Vec::new();
    let mut bx = Vec::new();
    let mut wh = Vec::new();
    for g in ["r", "z", "h"] {
        let (w, b) = cheb(sd, model, &format!("conv_x_{g}"), k, [h, f])?;
        let (u, c) = cheb(sd, model, &format!("conv_h_{g}"), k, [h, h])?;
        wx.push(w);
        bx.push(b + c);
        wh.push(u);
    }
    set_linear(&cell.conv_x, &Tensor::cat(&wx, 0), Some(&Tensor::cat(&bx, 0)));
    set_linear(&cell.conv_h, &Tensor::cat(&wh, 0), None);
    Ok(cell)
}

/// PGT's `GConvLSTM(F, H, K)` as a [`GraphRecurrent::gconv_lstm`] under `path`; sizes are read
/// from the state dict. Run it on [`supports`]`(PgtLayer::GConvLstm, ...)`.
pub fn gconv_lstm<'a, P: Borrow<nn::Path<'a>>>(path: P, sd: &PgtStateDict) -> Result<GraphRecurrent> {
    let model = "PGT GConvLSTM";
    let s = sd.sizes(model, "conv_x_i.lins.0.weight", 2, "[H, F]")?;
    let (h, f) = (s[0], s[1]);
    let k = sd.count("conv_x_i.lins.", ".weight");
    let cell = GraphRecurrent::f_gconv_lstm(path, f, h, k)?;
    let mut wx = Vec::new();
    let mut bx = Vec::new();
    let mut wh = Vec::new();
    for g in ["i", "f", "c", "o"] {
        let (w, b) = cheb(sd, model, &format!("conv_x_{g}"), k, [h, f])?;
        let (u, c) = cheb(sd, model, &format!("conv_h_{g}"), k, [h, h])?;
        let b_g = sd.tensor(model, &format!("b_{g}"), &[1, h])?.reshape([h]);
        wx.push(w);
        bx.push(b + c + b_g);
        wh.push(u);
    }
    set_linear(&cell.conv_x, &Tensor::cat(&wx, 0), Some(&Tensor::cat(&bx, 0)));
    set_linear(&cell.conv_h, &Tensor::cat(&wh, 0), None);
    let peepholes = cell.peepholes.as_ref().expect("GConvLSTM has peepholes");
    for (dst, g) in peepholes.iter().zip(["i", "f", "o"]) {
        set(dst, &sd.tensor(model, &format!("w_c_{g}"), &[1, h])?.reshape([h]));
    }
    Ok(cell)
}

/// `c[k][j]`: PGT's `T_k = sum_j c[k][j] P^j X` (`T_0 = X`, `T_1 = P X`,
/// `T_k = 2 P T_(k-1) - X`), as a `(K, K)` tensor.
fn dconv_coefficients(k: usize) -> Tensor {
    let mut c = vec![vec![0.0f32; k]; k];
    c[0][0] = 1.0;
    if k > 1 {
        c[1][1] = 1.0;
    }
    for i in 2..k {
        for j in 1..k {
            c[i][j] = 2.0 * c[i - 1][j - 1];
        }
        c[i][0] -= 1.0;
    }
    Tensor::from_slice(&c.concat()).reshape([k as i64, k as i64])
}

/// PGT's `DConv` weight `(2, K, F_in, H)` as hybrid's diffusion blocks
/// `[I, P_f, ..., P_f^(K-1), P_b, ..., P_b^(K-1)]`, each `(F_in, H)`.
fn dconv_blocks(w: &Tensor, k: i64) -> Vec<Tensor> {
    let c = dconv_coefficients(k as usize);
    // b[d][j] = sum_k c[k][j] W[d][k]
    let per_dir: Vec<Tensor> = (0..2)
        .map(|d| Tensor::einsum("kj,kfh->jfh", &[&c, &w.get(d)], None::<i64>))
        .collect();
    let mut blocks = vec![per_dir[0].get(0) + per_dir[1].get(0)];
    for dir in &per_dir {
        for j in 1..k {
            blocks.push(dir.get(j));
        }
    }
    blocks
}

/// PGT's `DCRNN(F, H, K)` (three `DConv`s over `[X, H]`) as a
/// [`GraphRecurrent::dcrnn`] under `path`; sizes are read from the state dict. Run
/// it on [`supports`]`(PgtLayer::Dcrnn, ...)`, PGT's transition operators.
pub fn dcrnn<'a, P: Borrow<nn::Path<'a>>>(path: P, sd: &PgtStateDict) -> Result<GraphRecurrent> {
    let model = "PGT DCRNN";
    let s = sd.sizes(model, "conv_x_z.weight", 4, "[2, K, F + H, H]")?;
    let (k, h) = (s[1], s[3]);
    let f = s[2] - h;
    if s[0] != 2 || f < 1 {
        return Err(StateDictError::Shape {
            model: model.into(),
            name: "conv_x_z.weight".into(),
            expected: "[2, K, F + H, H] with F >= 1".into(),
            got: s,
        }
        .into());
    }
    let cell = GraphRecurrent::f_dcrnn(path, f, h, k)?;
    let (mut wx, mut bx, mut wh) = (Vec::new(), Vec::new(), Vec::new());
    for g in ["r", "z", "h"] {
        let w = sd.tensor(model, &format!("conv_x_{g}.weight"), &[2, k, f + h, h])?;
        let b = sd.tensor(model, &format!("conv_x_{g}.bias"), &[h])?;
        let blocks = dconv_blocks(&w, k);
        // Linear weights are (out, in): each block's X rows and H rows, transposed.
        let x_part: Vec<Tensor> = blocks.iter().map(|b| b.narrow(0, 0, f).tr()).collect();
        let h_part: Vec<Tensor> = blocks.iter().map(|b| b.narrow(0, f, h).tr()).collect();
        wx.push(Tensor::cat(&x_part, 1));
        wh.push(Tensor::cat(&h_part, 1));
        bx.push(b);
    }
    set_linear(&cell.conv_x, &Tensor::cat(&wx, 0), Some(&Tensor::cat(&bx, 0)));
    set_linear(&cell.conv_h, &Tensor::cat(&wh, 0), None);
    Ok(cell)
}

/// Loads PGT's `TGCN` tensors (under `prefix`, e.g. `_base_tgcn.`) into `cell`.
fn load_tgcn(
    cell: &GraphRecurrent,
    sd: &PgtStateDict,
    model: &str,
    prefix: &str,
    f: i64,
    h: i64,
) -> Result<()> {
    let (mut wx, mut bx, mut wh) = (Vec::new(), Vec::new(), Vec::new());
    for g in ["r", "z", "h"] {
        let cw = sd.tensor(model, &format!("{prefix}conv_{g}.lin.weight"), &[h, f])?;
        let cb = sd.tensor(model, &format!("{prefix}conv_{g}.bias"), &[h])?;
        let lw = sd.tensor(model, &format!("{prefix}linear_{g}.weight"), &[h, 2 * h])?;
        let lb = sd.tensor(model, &format!("{prefix}linear_{g}.bias"), &[h])?;
        let (l1, l2) = (lw.narrow(1, 0, h), lw.narrow(1, h, h));
        wx.push(l1.matmul(&cw));
        bx.push(l1.matmul(&cb) + lb);
        wh.push(l2);
    }
    set_linear(&cell.conv_x, &Tensor::cat(&wx, 0), Some(&Tensor::cat(&bx, 0)));
    set_linear(&cell.conv_h, &Tensor::cat(&wh, 0), None);
    Ok(())
}

/// PGT's `TGCN(F, H)` as a [`GraphRecurrent::tgcn_pgt`] under `path`; sizes are
/// read from the state dict. Run it on [`supports`]`(PgtLayer::Tgcn, ...)`.
pub fn tgcn<'a, P: Borrow<nn::Path<'a>>>(path: P, sd: &PgtStateDict) -> Result<GraphRecurrent> {
    let model = "PGT TGCN";
    let s = sd.sizes(model, "conv_z.lin.weight", 2, "[H, F]")?;
    let cell = GraphRecurrent::f_tgcn_pgt(path, s[1], s[0])?;
    load_tgcn(&cell, sd, model, "", s[1], s[0])?;
    Ok(cell)
}

/// PGT's `A3TGCN(F, H, periods)` as an [`A3tgcn::pgt`] under `path`; sizes
/// are read from the state dict. Run it on [`supports`]`(PgtLayer::A3tgcn, ...)`.
pub fn a3tgcn<'a, P: Borrow<nn::Path<'a>>>(path: P, sd: &PgtStateDict) -> Result<A3tgcn> {
    let model = "PGT A3TGCN";
    let s = sd.sizes(model, "_base_tgcn.conv_z.lin.weight", 2, "[H, F]")?;
    let periods = sd.sizes(model, "_attention", 1, "[periods]")?[0];
    let (h, f) = (s[0], s[1]);
    let cell = A3tgcn::f_pgt(path, f, h, periods)?;
    load_tgcn(&cell.tgcn, sd, model, "_base_tgcn.", f, h)?;
    set(&cell.attention, &sd.tensor(model, "_attention", &[periods])?);
    Ok(cell)
}

/// The PGT layers [`supports`] builds graph operators for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PgtLayer {
    /// `GConvGRU` (ChebConv, symmetric normalisation, `lambda_max = 2`).
    GConvGru,
    /// `GConvLSTM` (as `GConvGRU`).
    GConvLstm,
    /// `DCRNN` (PGT 0.56's `DConv`, quirks and all; see the module docs).
    Dcrnn,
    /// `TGCN` (GCNConv: remaining self loops added, in-degree normalisation).
    Tgcn,
    /// `A3TGCN` (as `TGCN`).
    A3tgcn,
}

/// `edge_index` `(2, E)` (integers) and `edge_weight` `(E)` as plain vectors.
fn edges(
    edge_index: &Tensor,
    edge_weight: Option<&Tensor>,
    n: i64,
) -> Result<(Vec<i64>, Vec<i64>, Vec<f32>)> {
    let s = edge_index.size();
    if s.len() != 2 || s[0] != 2 {
        return Err(crate::InputError::shape("pgt supports", "edge_index", "[2, E]", s).into());
    }
    let e = s[1];
    let idx = Vec::<i64>::try_from(
        &edge_index
            .to_kind(Kind::Int64)
            .to_device(tch::Device::Cpu)
            .reshape([-1]),
    )?;
    let (src, dst) = (idx[..e as usize].to_vec(), idx[e as usize..].to_vec());
    if let Some(bad) = idx.iter().find(|&&i| i < 0 || i >= n) {
        return Err(HybridError::Graph(format!(
            "edge_index holds node {bad}, the graph has {n} nodes"
        )));
    }
    let w = match edge_weight {
        None => vec![1.0; e as usize],
        Some(w) => {
            if w.size() != [e] {
                let expected = format!("[E={e}]");
                return Err(
                    crate::InputError::shape("pgt supports", "edge_weight", expected, w.size()).into(),
                );
            }
            Vec::<f32>::try_from(&w.to_kind(Kind::Float).to_device(tch::Device::Cpu))?
        }
    };
    Ok((src, dst, w))
}

/// PGT 0.56's `DConv` operators `[M_f, M_b]` (dense, `N x N`), so that
/// `M_f @ X` and `M_b @ X` are its two `propagate` calls.
fn dconv_supports(src: &[i64], dst: &[i64], w: &[f32], n: i64) -> Result<Vec<Tensor>> {
    let nu = n as usize;
    let mut a = vec![0.0f64; nu * nu];
    for ((&s, &d), &x) in src.iter().zip(dst).zip(w) {
        a[s as usize * nu + d as usize] += x as f64;
    }
    let deg_out: Vec<f64> = (0..nu).map(|i| a[i * nu..(i + 1) * nu].iter().sum()).collect();
    let deg_in: Vec<f64> = (0..nu).map(|j| (0..nu).map(|i| a[i * nu + j]).sum()).collect();
    let mut fwd = vec![0.0f64; nu * nu];
    let mut bwd = vec![0.0f64; nu * nu];
    for (&s, &d) in src.iter().zip(dst) {
        fwd[d as usize * nu + s as usize] += 1.0 / deg_out[s as usize];
    }
    // The nonzeros of A^T in row-major order: (r, c) with A[c][r] != 0.
    let reverse: Vec<(usize, usize)> = (0..nu)
        .flat_map(|r| (0..nu).map(move |c| (r, c)))
        .filter(|&(r, c)| a[c * nu + r] != 0.0)
        .collect();
    if reverse.len() != src.len() {
        return Err(HybridError::Graph(format!(
            "PGT's DConv pairs the {} edges with the {} nonzeros of the adjacency: duplicate or \
             zero-weight edges do not run in PGT",
            src.len(),
            reverse.len()
        )));
    }
    for (e, &(r, c)) in reverse.iter().enumerate() {
        bwd[c * nu + r] += 1.0 / deg_in[src[e] as usize];
    }
    if fwd.iter().chain(&bwd).any(|x| !x.is_finite()) {
        return Err(HybridError::Graph(
            "PGT's DConv divides by the in-degree of every edge's source and the out-degree of every \
             node with an out-edge: a node with edges out but none in gives PGT infinities"
                .into(),
        ));
    }
    let t = |m: Vec<f64>| Tensor::from_slice(&m).reshape([n, n]).to_kind(Kind::Float);
    Ok(vec![t(fwd), t(bwd)])
}

/// The supports on which `layer`'s loaded model computes what PGT's computes
/// for `edge_index` `(2, E)` and `edge_weight` `(E)` (ones when `None`) over
/// `num_nodes` nodes: dense `N x N` operators, static over time.
pub fn supports(
    layer: PgtLayer,
    edge_index: &Tensor,
    edge_weight: Option<&Tensor>,
    num_nodes: i64,
) -> Result<Supports> {
    let (src, dst, w) = edges(edge_index, edge_weight, num_nodes)?;
    let kind = match layer {
        PgtLayer::Dcrnn => return Ok(Supports::Static(dconv_supports(&src, &dst, &w, num_nodes)?)),
        PgtLayer::GConvGru | PgtLayer::GConvLstm => SupportKind::ScaledLaplacian,
        PgtLayer::Tgcn | PgtLayer::A3tgcn => SupportKind::GcnNormalised,
    };
    let to_u32 = |v: &[i64]| v.iter().map(|&i| i as u32).collect::<Vec<u32>>();
    let list = graph_data::EdgeList::new(num_nodes as usize, to_u32(&src), to_u32(&dst), Some(w))
        .map_err(|e| HybridError::Graph(e.to_string()))?;
    let adj = Csr::from_edge_list(&list).map_err(|e| HybridError::Graph(e.to_string()))?;
    Ok(Supports::Static(kind.supports(&adj, true)?))
}
