//! Negative sampling: node pairs that are not edges, drawn uniformly, exactly.
//!
//! [`NegativeSampler`] holds the edges to exclude twice: as sorted rows (the
//! complement of a row is enumerable, so a dense graph or a dense row is
//! sampled by inverse transform over its non-edges) and, for sparse graphs,
//! as an open-addressing hash set of `u * N + v` keys built in parallel
//! (rejection sampling: draw a pair, keep it when it is not an edge). Either
//! way a returned pair is never an edge; the draws are uniform over the
//! allowed pairs.
//!
//! Sampling runs on rayon in fixed chunks, each from its own ChaCha stream
//! keyed by the seed and the chunk: the same seed gives the same pairs on any
//! number of threads.

use std::sync::atomic::{AtomicU64, Ordering};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use crate::edges::EdgeList;
use crate::error::{DataError, Result};

/// Pairs drawn per ChaCha stream (and per rayon task).
const CHUNK: usize = 1 << 14;

/// How [`NegativeSampler`] tests or enumerates non-edges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NegativeMethod {
    /// Rejection against a hash set when under a quarter of the allowed
    /// pairs are edges, else the complement.
    Auto,
    /// Rejection sampling against a hash set of the edges (sparse graphs).
    Sparse,
    /// Inverse transform over each row's complement (dense graphs: no
    /// rejection, whatever the density).
    Dense,
}

/// Uniform negative sampling that excludes a graph's edges exactly.
///
/// ```
/// use graph_data::EdgeList;
/// use graph_data::link::NegativeSampler;
/// // A triangle on 0, 1, 2 plus an isolated node 3: the only non-edges
/// // (undirected, no self loops) are {0,3}, {1,3}, {2,3}.
/// let edges = EdgeList::from_pairs(4, &[(0, 1), (1, 2), (2, 0)]).unwrap();
/// let sampler = NegativeSampler::new(&edges, true).unwrap();
/// let neg = sampler.sample(100, 7).unwrap();
/// assert!(neg.src.iter().zip(&neg.dst).all(|(&u, &v)| u < v && v == 3));
/// assert_eq!(sampler.num_allowed(), 3);
/// ```
#[derive(Debug)]
pub struct NegativeSampler {
    num_nodes: usize,
    undirected: bool,
    self_loops: bool,
    method: NegativeMethod,
    /// Sorted, deduplicated excluded targets of each row (both directions
    /// when undirected; the diagonal when self loops are not allowed).
    indptr: Vec<usize>,
    indices: Vec<u32>,
    /// Allowed (non-excluded) targets of each row, prefix sums: `prefix[N]`
    /// ordered allowed pairs in all.
    prefix: Vec<u64>,
    hash: Option<EdgeHash>,
}

impl NegativeSampler {
    /// A sampler excluding `edges`. `undirected`: an edge excludes both
    /// orientations and pairs come out as `(min, max)`, uniform over
    /// unordered non-edges. Self loops are never drawn (see
    /// [`NegativeSampler::with_self_loops`]). Method [`NegativeMethod::Auto`].
    pub fn new(edges: &EdgeList, undirected: bool) -> Result<Self> {
        Self::with_options(edges, undirected, false, NegativeMethod::Auto)
    }

    /// [`NegativeSampler::new`] with the method chosen by the caller.
    pub fn with_method(edges: &EdgeList, undirected: bool, method: NegativeMethod) -> Result<Self> {
        Self::with_options(edges, undirected, false, method)
    }

    /// [`NegativeSampler::new`] where `(v, v)` may be drawn when it is not an edge.
    pub fn with_self_loops(edges: &EdgeList, undirected: bool) -> Result<Self> {
        Self::with_options(edges, undirected, true, NegativeMethod::Auto)
    }

    /// All options: orientation, self loops, method.
    pub fn with_options(
        edges: &EdgeList,
        undirected: bool,
        self_loops: bool,
        method: NegativeMethod,
    ) -> Result<Self> {
        let n = edges.num_nodes;
        if n == 0 {
            return Err(DataError::Invalid(
                "negative sampling: a graph without nodes".into(),
            ));
        }
        let mut keys: Vec<u64> = edges
            .src
            .par_iter()
            .zip(edges.dst.par_iter())
            .flat_map_iter(|(&u, &v)| {
                let a = ((u as u64) << 32) | v as u64;
                let b = ((v as u64) << 32) | u as u64;
                let twin = (undirected && u != v).then_some(b);
                std::iter::once(a).chain(twin)
            })
            .collect();
        if !self_loops {
            keys.par_extend((0..n as u64).into_par_iter().map(|v| (v << 32) | v));
        }
        keys.par_sort_unstable();
        keys.dedup();
        let mut indptr = vec![0usize; n + 1];
        for &k in &keys {
            indptr[(k >> 32) as usize + 1] += 1;
        }
        let mut prefix = vec![0u64; n + 1];
        for r in 0..n {
            prefix[r + 1] = prefix[r] + (n - indptr[r + 1]) as u64;
            indptr[r + 1] += indptr[r];
        }
        let indices: Vec<u32> = keys.par_iter().map(|&k| k as u32).collect();
        let total = n as u64 * n as u64;
        let method = match method {
            NegativeMethod::Auto if (keys.len() as u64) * 4 < total => NegativeMethod::Sparse,
            NegativeMethod::Auto => NegativeMethod::Dense,
            m => m,
        };
        let hash = (method == NegativeMethod::Sparse).then(|| EdgeHash::build(&keys, n as u64));
        Ok(NegativeSampler {
            num_nodes: n,
            undirected,
            self_loops,
            method,
            indptr,
            indices,
            prefix,
            hash,
        })
    }

    /// The method in use ([`NegativeMethod::Auto`] resolved).
    pub fn method(&self) -> NegativeMethod {
        self.method
    }

    /// Number of nodes.
    pub fn num_nodes(&self) -> usize {
        self.num_nodes
    }

    /// Number of pairs that may be drawn (unordered ones when undirected).
    pub fn num_allowed(&self) -> u64 {
        let ordered = self.prefix[self.num_nodes];
        if !self.undirected {
            return ordered;
        }
        let diagonal = if self.self_loops {
            (0..self.num_nodes)
                .filter(|&v| !self.excluded(v as u32, v as u32))
                .count() as u64
        } else {
            0
        };
        (ordered - diagonal) / 2 + diagonal
    }

    /// True when `(u, v)` may not be drawn (an edge, either way when
    /// undirected, or a self loop when those are not allowed).
    pub fn excluded(&self, u: u32, v: u32) -> bool {
        let row = &self.indices[self.indptr[u as usize]..self.indptr[u as usize + 1]];
        row.binary_search(&v).is_ok()
    }

    /// The `k`-th allowed target of row `u` (0-based, increasing order).
    fn kth_allowed(&self, u: usize, k: u64) -> u32 {
        let row = &self.indices[self.indptr[u]..self.indptr[u + 1]];
        // Excluded e_i with e_i - i <= k sit before the answer; e_i - i is non-decreasing.
        let (mut lo, mut hi) = (0usize, row.len());
        while lo < hi {
            let mid = (lo + hi) / 2;
            if row[mid] as u64 - mid as u64 <= k {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        (k + lo as u64) as u32
    }

    /// One ordered allowed pair, uniformly.
    fn draw(&self, rng: &mut ChaCha8Rng) -> (u32, u32) {
        let n = self.num_nodes as u64;
        match &self.hash {
            Some(hash) => loop {
                let u = rng.gen_range(0..n);
                let v = rng.gen_range(0..n);
                if !hash.contains(u * n + v) {
                    return (u as u32, v as u32);
                }
            },
            None => {
                let g = rng.gen_range(0..self.prefix[self.num_nodes]);
                let u = self.prefix.partition_point(|&p| p <= g) - 1;
                (u as u32, self.kth_allowed(u, g - self.prefix[u]))
            }
        }
    }

    /// One pair as returned: ordered, or `(min, max)` uniform over unordered
    /// pairs (an allowed self loop is reached by one ordered draw, the
    /// others by two: it is kept with probability 1/2).
    fn draw_pair(&self, rng: &mut ChaCha8Rng) -> (u32, u32) {
        loop {
            let (u, v) = self.draw(rng);
            if !self.undirected {
                return (u, v);
            }
            if u == v && rng.gen_bool(0.5) {
                continue;
            }
            return (u.min(v), u.max(v));
        }
    }

    fn check_nonempty(&self, what: &str) -> Result<()> {
        if self.prefix[self.num_nodes] == 0 {
            return Err(DataError::Invalid(format!(
                "negative sampling: {what}: every pair of the {} nodes is an edge",
                self.num_nodes
            )));
        }
        Ok(())
    }

    /// `count` pairs drawn independently and uniformly from the allowed ones
    /// (with replacement), in parallel; fails when there is none.
    pub fn sample(&self, count: usize, seed: u64) -> Result<EdgeList> {
        self.check_nonempty("sample")?;
        let mut src = vec![0u32; count];
        let mut dst = vec![0u32; count];
        src.par_chunks_mut(CHUNK)
            .zip(dst.par_chunks_mut(CHUNK))
            .enumerate()
            .for_each(|(c, (s, d))| {
                let mut rng = stream(seed, c as u64);
                for (a, b) in s.iter_mut().zip(d.iter_mut()) {
                    (*a, *b) = self.draw_pair(&mut rng);
                }
            });
        Ok(EdgeList {
            num_nodes: self.num_nodes,
            src,
            dst,
            weight: None,
        })
    }

    /// `count` distinct allowed pairs, none of them in `avoid` (pairs as
    /// returned: `(min, max)` when undirected), uniformly without
    /// replacement; fails when fewer than `count` are available.
    pub fn sample_distinct(&self, count: usize, seed: u64, avoid: &[(u32, u32)]) -> Result<EdgeList> {
        let n = self.num_nodes as u64;
        let key = |(u, v): (u32, u32)| u as u64 * n + v as u64;
        let mut seen: std::collections::HashSet<u64> = avoid.iter().map(|&p| key(p)).collect();
        let avoided = avoid.iter().filter(|&&(u, v)| !self.excluded(u, v)).count() as u64;
        if (count as u64).saturating_add(avoided) > self.num_allowed() {
            return Err(DataError::Invalid(format!(
                "negative sampling: {count} distinct negatives asked for, {} available",
                self.num_allowed().saturating_sub(avoided)
            )));
        }
        let (mut src, mut dst) = (Vec::with_capacity(count), Vec::with_capacity(count));
        let mut round = 0u64;
        while src.len() < count {
            let want = (count - src.len()).max(64);
            let batch = self.sample(want, seed ^ round.wrapping_mul(0xD1B5_4A32_D192_ED03))?;
            round += 1;
            for (&u, &v) in batch.src.iter().zip(&batch.dst) {
                if src.len() < count && seen.insert(key((u, v))) {
                    src.push(u);
                    dst.push(v);
                }
            }
        }
        Ok(EdgeList {
            num_nodes: self.num_nodes,
            src,
            dst,
            weight: None,
        })
    }

    /// Structured negatives (PyG's `structured_negative_sampling`): for each
    /// source `u` in `src`, a target `v` drawn uniformly from those with `(u,
    /// v)` allowed. Fails on an out-of-range id or a source linked to every
    /// node.
    pub fn structured(&self, src: &[u32], seed: u64) -> Result<Vec<u32>> {
        let n = self.num_nodes;
        if let Some(&bad) = src.iter().find(|&&u| u as usize >= n) {
            return Err(DataError::Invalid(format!(
                "structured negative sampling: node {bad} is outside 0..{n}"
            )));
        }
        if let Some(&full) = src
            .iter()
            .find(|&&u| self.prefix[u as usize + 1] == self.prefix[u as usize])
        {
            return Err(DataError::Invalid(format!(
                "structured negative sampling: node {full} is linked to every node"
            )));
        }
        let mut out = vec![0u32; src.len()];
        out.par_chunks_mut(CHUNK).enumerate().for_each(|(c, o)| {
            let mut rng = stream(seed, c as u64);
            for (i, t) in o.iter_mut().enumerate() {
                let u = src[c * CHUNK + i] as usize;
                let allowed = self.prefix[u + 1] - self.prefix[u];
                *t = if allowed * 2 >= n as u64 {
                    loop {
                        let v = rng.gen_range(0..n as u32);
                        if !self.excluded(u as u32, v) {
                            break v;
                        }
                    }
                } else {
                    self.kth_allowed(u, rng.gen_range(0..allowed))
                };
            }
        });
        Ok(out)
    }
}

/// The ChaCha stream of chunk `c` under `seed`.
fn stream(seed: u64, c: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(c);
    rng
}

/// An insert-only open-addressing set of `u * N + v` keys (stored plus one:
/// zero marks an empty slot), filled in parallel by compare-and-swap.
#[derive(Debug)]
struct EdgeHash {
    slots: Vec<u64>,
    shift: u32,
}

impl EdgeHash {
    /// `keys` are `(u << 32) | v`, distinct.
    fn build(keys: &[u64], n: u64) -> Self {
        let capacity = (keys.len() * 2).next_power_of_two().max(16);
        let shift = 64 - capacity.trailing_zeros();
        let slots: Vec<AtomicU64> = (0..capacity).map(|_| AtomicU64::new(0)).collect();
        let mask = capacity - 1;
        keys.par_iter().for_each(|&k| {
            let key = (k >> 32) * n + (k & 0xFFFF_FFFF) + 1;
            let mut i = slot(key, shift);
            loop {
                match slots[i].compare_exchange(0, key, Ordering::Relaxed, Ordering::Relaxed) {
                    Ok(_) => break,
                    Err(existing) if existing == key => break,
                    Err(_) => i = (i + 1) & mask,
                }
            }
        });
        EdgeHash {
            slots: slots.into_iter().map(AtomicU64::into_inner).collect(),
            shift,
        }
    }

    fn contains(&self, key: u64) -> bool {
        let key = key + 1;
        let mask = self.slots.len() - 1;
        let mut i = slot(key, self.shift);
        loop {
            match self.slots[i] {
                0 => return false,
                k if k == key => return true,
                _ => i = (i + 1) & mask,
            }
        }
    }
}

fn slot(key: u64, shift: u32) -> usize {
    (key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> shift) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Both methods draw every allowed pair about equally often, and nothing else.
    #[test]
    fn both_methods_are_uniform_over_non_edges() {
        let edges = EdgeList::from_pairs(5, &[(0, 1), (1, 2), (3, 3), (4, 0)]).unwrap();
        for undirected in [false, true] {
            for method in [NegativeMethod::Sparse, NegativeMethod::Dense] {
                let s = NegativeSampler::with_method(&edges, undirected, method).unwrap();
                let draws = s.sample(60_000, 3).unwrap();
                let mut counts = std::collections::HashMap::new();
                for (&u, &v) in draws.src.iter().zip(&draws.dst) {
                    assert!(!s.excluded(u, v) && u != v);
                    *counts.entry((u, v)).or_insert(0usize) += 1;
                }
                assert_eq!(counts.len() as u64, s.num_allowed(), "{undirected} {method:?}");
                let expect = 60_000.0 / s.num_allowed() as f64;
                for (&p, &c) in &counts {
                    assert!((c as f64 - expect).abs() < 0.1 * expect, "{p:?}: {c} vs {expect}");
                }
            }
        }
    }

    #[test]
    fn kth_allowed_skips_the_excluded() {
        let edges = EdgeList::from_pairs(6, &[(0, 1), (0, 3), (0, 4)]).unwrap();
        let s = NegativeSampler::with_method(&edges, false, NegativeMethod::Dense).unwrap();
        // Row 0 excludes 0 (diagonal), 1, 3, 4: allowed 2, 5.
        assert_eq!(s.kth_allowed(0, 0), 2);
        assert_eq!(s.kth_allowed(0, 1), 5);
        assert_eq!(s.prefix[1], 2);
    }
}
