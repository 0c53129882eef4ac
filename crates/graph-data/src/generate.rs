//! Graph generators for tests, studies and scale, seeded and deterministic
//! (ChaCha8; the same seed gives the same graph on every machine and thread
//! count).
//!
//! Undirected generators return each edge once, as `u -> v` with `u < v`;
//! build the symmetric adjacency with
//! [`Csr::from_edge_list_undirected`](crate::csr::Csr::from_edge_list_undirected).
//!
//! ```
//! use graph_data::generate;
//! let g = generate::grid(2, 3);
//! assert_eq!((g.num_nodes, g.len()), (6, 7));
//! let a = generate::erdos_renyi(100, 0.1, 7).unwrap();
//! assert_eq!(a, generate::erdos_renyi(100, 0.1, 7).unwrap());
//! ```

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use crate::edges::EdgeList;
use crate::error::{DataError, Result};
use crate::features::Features;

fn pairs(n: usize, pairs: Vec<(u32, u32)>) -> EdgeList {
    let (src, dst) = pairs.into_iter().unzip();
    EdgeList {
        num_nodes: n,
        src,
        dst,
        weight: None,
    }
}

fn check_nodes(n: usize) -> Result<()> {
    if n > u32::MAX as usize {
        return Err(DataError::Invalid(format!(
            "generator: {n} nodes do not fit u32 ids"
        )));
    }
    Ok(())
}

fn check_prob(name: &str, p: f64) -> Result<()> {
    if !(0.0..=1.0).contains(&p) {
        return Err(DataError::Invalid(format!(
            "generator: {name} = {p} is not a probability"
        )));
    }
    Ok(())
}

/// The path `0 - 1 - ... - (n-1)`: a sequence seen as a graph.
pub fn path_graph(n: usize) -> EdgeList {
    pairs(n, (1..n as u32).map(|i| (i - 1, i)).collect())
}

/// A balanced tree where every inner node has `branching` children, `depth`
/// levels below the root (`depth = 0` is a single node). Nodes are numbered
/// level by level; edges go parent -> child.
pub fn balanced_tree(branching: usize, depth: usize) -> Result<EdgeList> {
    let mut n: usize = 1;
    let mut level: usize = 1;
    for _ in 0..depth {
        level = level
            .checked_mul(branching)
            .ok_or_else(|| DataError::Invalid("tree too large".into()))?;
        n = n
            .checked_add(level)
            .ok_or_else(|| DataError::Invalid("tree too large".into()))?;
    }
    check_nodes(n)?;
    // In level order the children of node p are p * b + 1 ..= p * b + b.
    Ok(pairs(
        n,
        (1..n).map(|c| (((c - 1) / branching) as u32, c as u32)).collect(),
    ))
}

/// A `rows x cols` grid with 4-neighbour edges; node `(r, c)` is `r * cols + c`.
pub fn grid(rows: usize, cols: usize) -> EdgeList {
    let id = |r: usize, c: usize| (r * cols + c) as u32;
    let mut e = Vec::new();
    for r in 0..rows {
        for c in 0..cols {
            if c + 1 < cols {
                e.push((id(r, c), id(r, c + 1)));
            }
            if r + 1 < rows {
                e.push((id(r, c), id(r + 1, c)));
            }
        }
    }
    pairs(rows * cols, e)
}

/// The complete graph on `n` nodes (every pair once).
pub fn complete_graph(n: usize) -> EdgeList {
    let n32 = n as u32;
    pairs(
        n,
        (0..n32).flat_map(|u| (u + 1..n32).map(move |v| (u, v))).collect(),
    )
}

/// Erdos-Renyi `G(n, p)`: every pair `u < v` is an edge with probability `p`.
/// Runs in `O(n + edges)` by skipping geometric gaps (Batagelj and Brandes).
pub fn erdos_renyi(n: usize, p: f64, seed: u64) -> Result<EdgeList> {
    check_nodes(n)?;
    check_prob("p", p)?;
    if p == 0.0 || n < 2 {
        return Ok(pairs(n, Vec::new()));
    }
    if p == 1.0 {
        return Ok(complete_graph(n));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let log_q = (1.0 - p).ln();
    let mut e = Vec::new();
    // Walk the pairs (v, w) with w < v in order, jumping over non-edges.
    let (mut v, mut w): (usize, i64) = (1, -1);
    while v < n {
        let r: f64 = rng.gen::<f64>();
        w += 1 + ((1.0 - r).ln() / log_q).floor() as i64;
        while w >= v as i64 && v < n {
            w -= v as i64;
            v += 1;
        }
        if v < n {
            e.push((w as u32, v as u32));
        }
    }
    Ok(pairs(n, e))
}

/// Barabasi-Albert preferential attachment: starting from `m` isolated nodes,
/// each new node links to `m` distinct existing nodes chosen with
/// probability proportional to their degree (the first new node links to
/// all `m`), as networkx's classic version.
pub fn barabasi_albert(n: usize, m: usize, seed: u64) -> Result<EdgeList> {
    check_nodes(n)?;
    if m == 0 || m >= n {
        return Err(DataError::Invalid(format!(
            "barabasi-albert: need 1 <= m < n, got m = {m}, n = {n}"
        )));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    // Every node appears here once per incident edge: uniform picks are
    // degree-proportional.
    let mut ends: Vec<u32> = Vec::with_capacity(2 * n * m);
    let mut e = Vec::with_capacity(n * m);
    let mut targets: Vec<u32> = (0..m as u32).collect();
    for v in m as u32..n as u32 {
        for &t in &targets {
            e.push((t, v));
            ends.extend([t, v]);
        }
        targets.clear();
        while targets.len() < m {
            let t = ends[rng.gen_range(0..ends.len())];
            if !targets.contains(&t) {
                targets.push(t);
            }
        }
    }
    Ok(pairs(n, e))
}

/// R-MAT parameters: the probabilities of recursing into the four quadrants
/// (top-left `a`, top-right `b`, bottom-left `c`, bottom-right `d`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RmatParams {
    /// Top-left.
    pub a: f64,
    /// Top-right.
    pub b: f64,
    /// Bottom-left.
    pub c: f64,
    /// Bottom-right.
    pub d: f64,
}

impl Default for RmatParams {
    /// The Graph500 parameters (0.57, 0.19, 0.19, 0.05).
    fn default() -> Self {
        RmatParams {
            a: 0.57,
            b: 0.19,
            c: 0.19,
            d: 0.05,
        }
    }
}

/// R-MAT (Chakrabarti, Zhan and Faloutsos): `edges` directed edges over
/// `2^scale` nodes, each placed by `scale` quadrant choices. Duplicates and
/// self loops occur, as in the model. Generated in parallel in fixed blocks,
/// each with its own ChaCha stream, so the result does not depend on the
/// thread count.
pub fn rmat(scale: u32, edges: usize, params: RmatParams, seed: u64) -> Result<EdgeList> {
    if scale > 31 {
        return Err(DataError::Invalid(format!(
            "rmat: scale {scale} exceeds 31 (u32 ids)"
        )));
    }
    let RmatParams { a, b, c, d } = params;
    for (name, p) in [("a", a), ("b", b), ("c", c), ("d", d)] {
        check_prob(name, p)?;
    }
    if ((a + b + c + d) - 1.0).abs() > 1e-6 {
        return Err(DataError::Invalid(format!(
            "rmat: a + b + c + d = {} is not 1",
            a + b + c + d
        )));
    }
    const BLOCK: usize = 1 << 16;
    let (ab, abc) = (a + b, a + b + c);
    let blocks: Vec<Vec<(u32, u32)>> = (0..edges.div_ceil(BLOCK))
        .into_par_iter()
        .map(|k| {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            rng.set_stream(k as u64);
            let count = BLOCK.min(edges - k * BLOCK);
            (0..count)
                .map(|_| {
                    let (mut u, mut v) = (0u32, 0u32);
                    for bit in (0..scale).rev() {
                        let r: f64 = rng.gen();
                        let (du, dv) = if r < a {
                            (0, 0)
                        } else if r < ab {
                            (0, 1)
                        } else if r < abc {
                            (1, 0)
                        } else {
                            (1, 1)
                        };
                        u |= du << bit;
                        v |= dv << bit;
                    }
                    (u, v)
                })
                .collect()
        })
        .collect();
    let mut src = Vec::with_capacity(edges);
    let mut dst = Vec::with_capacity(edges);
    for block in blocks {
        for (u, v) in block {
            src.push(u);
            dst.push(v);
        }
    }
    Ok(EdgeList {
        num_nodes: 1 << scale,
        src,
        dst,
        weight: None,
    })
}

/// A stochastic block model graph with class-dependent node features.
#[derive(Debug, Clone, PartialEq)]
pub struct Sbm {
    /// Undirected edges, each once (`u < v`).
    pub edges: EdgeList,
    /// Dense features: each class has a mean drawn from `N(0, 1)` per
    /// feature; a node's features are its class mean plus `N(0, noise^2)`.
    pub features: Features,
    /// Class of each node (blocks are contiguous: block 0 first).
    pub labels: Vec<u32>,
}

/// Stochastic block model: `sizes[k]` nodes in block `k`, and each pair
/// `u < v` is an edge with probability `probs[block(u)][block(v)]` (a
/// symmetric matrix). Features have `num_features` columns, see [`Sbm`].
pub fn stochastic_block_model(
    sizes: &[usize],
    probs: &[Vec<f64>],
    num_features: usize,
    noise: f64,
    seed: u64,
) -> Result<Sbm> {
    let k = sizes.len();
    if probs.len() != k || probs.iter().any(|row| row.len() != k) {
        return Err(DataError::Invalid(format!(
            "sbm: probabilities must be a {k} x {k} matrix"
        )));
    }
    for (i, row) in probs.iter().enumerate() {
        for (j, &p) in row.iter().enumerate() {
            check_prob("probs", p)?;
            if p != probs[j][i] {
                return Err(DataError::Invalid(format!(
                    "sbm: probs[{i}][{j}] != probs[{j}][{i}]"
                )));
            }
        }
    }
    if !(noise.is_finite() && noise >= 0.0) {
        return Err(DataError::Invalid(format!(
            "sbm: noise must be finite and non-negative, got {noise}"
        )));
    }
    let n: usize = sizes.iter().sum();
    check_nodes(n)?;
    let labels: Vec<u32> = sizes
        .iter()
        .enumerate()
        .flat_map(|(b, &s)| std::iter::repeat_n(b as u32, s))
        .collect();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut e = Vec::new();
    for u in 0..n {
        for v in u + 1..n {
            if rng.gen::<f64>() < probs[labels[u] as usize][labels[v] as usize] {
                e.push((u as u32, v as u32));
            }
        }
    }
    let means: Vec<f64> = (0..k * num_features).map(|_| normal(&mut rng)).collect();
    let data = (0..n * num_features)
        .map(|i| {
            let (u, f) = (i / num_features, i % num_features);
            (means[labels[u] as usize * num_features + f] + noise * normal(&mut rng)) as f32
        })
        .collect();
    Ok(Sbm {
        edges: pairs(n, e),
        features: Features::Dense {
            rows: n,
            cols: num_features,
            data,
        },
        labels,
    })
}

/// A standard normal draw (Box-Muller).
fn normal(rng: &mut ChaCha8Rng) -> f64 {
    let u1: f64 = 1.0 - rng.gen::<f64>(); // in (0, 1]: ln is finite
    let u2: f64 = rng.gen();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// A synthetic road-sensor graph as DCRNN builds one (Li et al. 2018):
/// `n` sensors at uniform random positions in the unit square, each linked
/// to its `k` nearest neighbours (directed `u -> v`, `v` among `u`'s
/// nearest), weighted `exp(-(d_uv / sigma)^2)` with `sigma` the standard
/// deviation of those distances. DCRNN also zeroes weights under a
/// threshold; with `k` small every kept weight is far above it, so none is
/// dropped here. Returns the graph and the positions (`n x 2`).
///
/// ```
/// use graph_data::generate;
/// let (g, pos) = generate::knn_sensor_graph(50, 4, 1).unwrap();
/// assert_eq!((g.num_nodes, g.len(), pos.len()), (50, 200, 50));
/// assert!(g.weight.unwrap().iter().all(|&w| w > 0.0 && w <= 1.0));
/// ```
pub fn knn_sensor_graph(n: usize, k: usize, seed: u64) -> Result<(EdgeList, Vec<[f32; 2]>)> {
    check_nodes(n)?;
    if k >= n {
        return Err(DataError::Invalid(format!(
            "generator: k = {k} nearest neighbours need more than {n} nodes"
        )));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let pos: Vec<[f32; 2]> = (0..n).map(|_| [rng.gen(), rng.gen()]).collect();
    // Brute force in parallel: O(n^2 log k), a fraction of a second at 10^4 nodes.
    let nearest: Vec<Vec<(f32, u32)>> = (0..n)
        .into_par_iter()
        .map(|u| {
            let mut best: Vec<(f32, u32)> = Vec::with_capacity(k + 1);
            for (v, p) in pos.iter().enumerate() {
                if v == u {
                    continue;
                }
                let d = ((p[0] - pos[u][0]).powi(2) + (p[1] - pos[u][1]).powi(2)).sqrt();
                if best.len() < k || d < best[k - 1].0 {
                    let at = best.partition_point(|&(e, _)| e <= d);
                    best.insert(at, (d, v as u32));
                    best.truncate(k);
                }
            }
            best
        })
        .collect();
    let dists: Vec<f64> = nearest.iter().flatten().map(|&(d, _)| d as f64).collect();
    let mean = dists.iter().sum::<f64>() / dists.len().max(1) as f64;
    let sigma = (dists.iter().map(|d| (d - mean).powi(2)).sum::<f64>() / dists.len().max(1) as f64).sqrt();
    let mut edges = EdgeList {
        num_nodes: n,
        src: Vec::with_capacity(n * k),
        dst: Vec::with_capacity(n * k),
        weight: Some(Vec::with_capacity(n * k)),
    };
    for (u, list) in nearest.iter().enumerate() {
        for &(d, v) in list {
            edges.src.push(u as u32);
            edges.dst.push(v);
            let w = if sigma > 0.0 {
                (-(d as f64 / sigma).powi(2)).exp()
            } else {
                1.0
            };
            // A kept edge has a positive weight: on a tiny graph a distance many
            // deviations out underflows the kernel (n = 3, k = 1, seed 40).
            edges
                .weight
                .as_mut()
                .expect("weighted")
                .push((w as f32).max(f32::MIN_POSITIVE));
        }
    }
    Ok((edges, pos))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::csr::{Csr, Dedup};

    #[test]
    fn knn_weights_stay_positive_when_the_kernel_underflows() {
        let (g, _) = knn_sensor_graph(3, 1, 40).unwrap();
        assert!(g.weight.unwrap().iter().all(|&w| w > 0.0 && w <= 1.0));
    }

    #[test]
    fn deterministic_shapes() {
        assert_eq!(path_graph(4).src, vec![0, 1, 2]);
        let t = balanced_tree(2, 3).unwrap();
        assert_eq!((t.num_nodes, t.len()), (15, 14));
        assert_eq!((t.src[13], t.dst[13]), (6, 14));
        assert_eq!(grid(3, 4).len(), 3 * 3 + 2 * 4);
        assert_eq!(complete_graph(5).len(), 10);
        let a = Csr::from_edge_list_undirected(&grid(3, 3), Dedup::Sum).unwrap();
        assert_eq!(a.out_degrees()[4], 4);
        assert_eq!(a.connected_components().0, 1);
    }

    #[test]
    fn random_graphs_are_seeded_and_plausible() {
        let g = erdos_renyi(2000, 0.01, 1).unwrap();
        // Expected 2000 * 1999 / 2 * 0.01 = 19990 edges; sd about 141.
        assert!((g.len() as f64 - 19990.0).abs() < 700.0, "{}", g.len());
        assert!(g.src.iter().zip(&g.dst).all(|(u, v)| u < v));
        assert_ne!(g, erdos_renyi(2000, 0.01, 2).unwrap());
        assert!(erdos_renyi(10, 1.5, 0).is_err());

        let ba = barabasi_albert(500, 3, 9).unwrap();
        assert_eq!(ba.len(), 3 * 497);
        let a = Csr::from_edge_list_undirected(&ba, Dedup::Sum).unwrap();
        assert_eq!(a.nnz(), 2 * 3 * 497, "no duplicate edges");
        assert_eq!(ba, barabasi_albert(500, 3, 9).unwrap());
        assert!(barabasi_albert(3, 3, 0).is_err());

        let r = rmat(10, 200_000, RmatParams::default(), 5).unwrap();
        assert_eq!((r.num_nodes, r.len()), (1024, 200_000));
        assert_eq!(r, rmat(10, 200_000, RmatParams::default(), 5).unwrap());
        // Skewed: node 0 (all "a" choices) is by far the busiest source.
        let deg = Csr::from_edge_list(&r).unwrap().out_degrees();
        assert_eq!(deg.iter().enumerate().max_by_key(|(_, &d)| d).unwrap().0, 0);
        let bad = RmatParams {
            a: 0.5,
            ..RmatParams::default()
        };
        assert!(rmat(4, 10, bad, 0).is_err());
    }

    #[test]
    fn sbm_blocks_and_features() {
        let s = stochastic_block_model(&[100, 100], &[vec![0.2, 0.01], vec![0.01, 0.2]], 4, 0.1, 3).unwrap();
        assert_eq!(s.labels.iter().filter(|&&l| l == 1).count(), 100);
        let inside = s
            .edges
            .src
            .iter()
            .zip(&s.edges.dst)
            .filter(|(&u, &v)| s.labels[u as usize] == s.labels[v as usize])
            .count();
        assert!(inside as f64 > 0.8 * s.edges.len() as f64);
        // Features of a class cluster around its mean: two nodes of a class are
        // closer than the class means are apart (noise 0.1).
        let x = s.features.to_dense();
        let d = |a: usize, b: usize| (0..4).map(|f| (x[a * 4 + f] - x[b * 4 + f]).powi(2)).sum::<f32>();
        assert!(d(0, 1) < d(0, 150));
        assert!(stochastic_block_model(&[2], &[vec![0.5, 0.1]], 1, 1.0, 0).is_err());
    }
}
