//! Normalised adjacency matrices used by the models: GCN, random walk,
//! scaled Laplacian (Chebyshev filters) and DCRNN's diffusion matrices.
//!
//! All of them keep the orientation of [`Csr`]: entry `(i, j)` belongs to the
//! edge `i -> j`. A layer that sums messages along edges computes
//! `out[j] = sum_i w_ij x[i]`, i.e. `A^T X`; for the symmetric matrices
//! (GCN on an undirected graph, symmetric Laplacian) `A^T = A`.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use crate::csr::{column_sums, par_rows_mut, Csr};
use crate::error::{DataError, Result};

/// Normalisation of the graph Laplacian.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LaplacianNorm {
    /// `L = I - D^-1/2 A D^-1/2`.
    Sym,
    /// `L = I - D^-1 A`.
    Rw,
}

impl Csr {
    /// GCN's `D^-1/2 (A + I) D^-1/2`, with the semantics of PyG's `gcn_norm`:
    /// when `add_self_loops`, every node without a self loop gets one with
    /// weight 1, or 2 when `improved` (existing loops keep their weight);
    /// degrees are weighted in-degrees (summed on the target side); entry
    /// `(i, j)` becomes `w_ij / sqrt(deg_i deg_j)`, and a node of degree 0
    /// contributes 0 rather than infinity.
    ///
    /// ```
    /// use graph_data::{csr::{Csr, Dedup}, EdgeList};
    /// let path = EdgeList::from_pairs(3, &[(0, 1), (1, 2)]).unwrap();
    /// let a = Csr::from_edge_list_undirected(&path, Dedup::Sum).unwrap();
    /// let g = a.gcn_normalized(true, false);
    /// // Degrees with self loops are 2, 3, 2: entry (0, 1) is 1 / sqrt(2 * 3).
    /// assert_eq!(g.row(0).0, &[0, 1]);
    /// assert!((g.row(0).1.unwrap()[1] - 1.0 / 6f32.sqrt()).abs() < 1e-6);
    /// ```
    pub fn gcn_normalized(&self, add_self_loops: bool, improved: bool) -> Csr {
        if add_self_loops {
            // Owned: its structure becomes the result's, with no copy.
            gcn_weights(self.with_self_loops(if improved { 2.0 } else { 1.0 }))
        } else {
            gcn_weights(self.clone())
        }
    }

    /// Random-walk normalisation `D_out^-1 A`: each row divided by its
    /// weighted out-degree, so non-empty rows sum to 1.
    pub fn random_walk_normalized(&self) -> Csr {
        let deg = self.weighted_out_degrees();
        self.scaled_entries(
            self.values(),
            |r, _, w| if deg[r] != 0.0 { w / deg[r] } else { 0.0 },
        )
    }

    /// DCRNN's diffusion transition matrices `(D_out^-1 A, D_in^-1 A^T)`:
    /// forward and backward random walks. DCRNN's reference code diffuses a
    /// signal as `P^T X`, which is summing messages along the edges of `P`.
    pub fn diffusion_matrices(&self) -> (Csr, Csr) {
        (
            self.random_walk_normalized(),
            self.transpose().random_walk_normalized(),
        )
    }

    /// Weighted out-degrees (row sums).
    pub fn weighted_out_degrees(&self) -> Vec<f32> {
        (0..self.num_nodes())
            .into_par_iter()
            .map(|r| match self.row(r) {
                (c, None) => c.len() as f32,
                (_, Some(w)) => w.iter().sum(),
            })
            .collect()
    }

    /// Weighted in-degrees (column sums).
    pub fn weighted_in_degrees(&self) -> Vec<f32> {
        let w = self.weights();
        column_sums(self.num_nodes(), self.indices(), |i| w.map_or(1.0, |w| w[i]))
    }

    /// The normalised Laplacian as PyG's `get_laplacian`: self loops are
    /// dropped, degrees are weighted out-degrees, off-diagonal entries are
    /// `-w_ij / sqrt(d_i d_j)` (sym) or `-w_ij / d_i` (rw), and every node gets
    /// a diagonal entry 1.
    pub fn laplacian(&self, norm: LaplacianNorm) -> Csr {
        let a = self.without_self_loops();
        let deg = a.weighted_out_degrees();
        let inv: Vec<f32> = deg
            .par_iter()
            .map(|&d| match (d > 0.0, norm) {
                (false, _) => 0.0,
                (true, LaplacianNorm::Sym) => d.sqrt().recip(),
                (true, LaplacianNorm::Rw) => d.recip(),
            })
            .collect();
        let off = a.scaled_entries(a.values(), |r, c, w| match norm {
            LaplacianNorm::Sym => -inv[r] * w * inv[c],
            LaplacianNorm::Rw => -inv[r] * w,
        });
        off.with_self_loops(1.0)
    }

    /// Estimates the largest eigenvalue of the Laplacian by power iteration
    /// (at most 1000 products, stopping at a relative change below 1e-7). The
    /// estimate approaches `lambda_max` from below; it is exact for the
    /// symmetric Laplacian's well separated top eigenvalue.
    pub fn lambda_max(&self, norm: LaplacianNorm) -> f32 {
        largest_eigenvalue(&self.laplacian(norm), 1000, 1e-7) as f32
    }

    /// The scaled Laplacian of Chebyshev filters, `2 L / lambda_max - I`, as
    /// PyG's `ChebConv` builds it (diagonal `2 / lambda_max - 1` on every
    /// node). Without `lambda_max` it is estimated by [`Csr::lambda_max`];
    /// PyG's `ChebConv` instead assumes 2 for `Sym`: pass `Some(2.0)` to
    /// reproduce it.
    pub fn scaled_laplacian(&self, norm: LaplacianNorm, lambda_max: Option<f32>) -> Result<Csr> {
        let l = self.laplacian(norm);
        let lambda = match lambda_max {
            Some(x) => x,
            None => largest_eigenvalue(&l, 1000, 1e-7) as f32,
        };
        if !(lambda.is_finite() && lambda > 0.0) {
            return Err(DataError::Invalid(format!(
                "scaled Laplacian: lambda_max must be positive and finite, got {lambda}"
            )));
        }
        Ok(l.scaled_entries(l.values(), |r, c, w| {
            2.0 * w / lambda - if r == c { 1.0 } else { 0.0 }
        }))
    }

    /// Same structure, weights `f(row, col, weight)` computed in parallel.
    fn scaled_entries(&self, mut w: Vec<f32>, f: impl Fn(usize, usize, f32) -> f32 + Sync) -> Csr {
        map_weights(self, &mut w, f);
        self.with_weights(w)
    }
}

/// `w[k] = f(row, col, w[k])` for every entry `k` of `a`, in parallel.
fn map_weights(a: &Csr, w: &mut [f32], f: impl Fn(usize, usize, f32) -> f32 + Sync) {
    let (indptr, cols) = (a.indptr(), a.indices());
    par_rows_mut(0, indptr, w, &mut vec![(); a.num_nodes()], &|r, row, _| {
        let cols = &cols[indptr[r]..indptr[r + 1]];
        for (x, &c) in row.iter_mut().zip(cols) {
            *x = f(r, c as usize, *x);
        }
    });
}

/// GCN weights `w_ij / sqrt(deg_i deg_j)` with in-degrees, reusing `a`'s arrays.
fn gcn_weights(a: Csr) -> Csr {
    let (n, indptr, indices, weights) = a.into_parts();
    let mut w = weights.unwrap_or_else(|| vec![1.0; indices.len()]);
    let deg: Vec<f32> = column_sums(n, &indices, |i| w[i]);
    let dinv: Vec<f32> = deg
        .par_iter()
        .map(|&d| if d > 0.0 { d.sqrt().recip() } else { 0.0 })
        .collect();
    drop(deg);
    let a = Csr::from_parts_unchecked(n, indptr, indices, None);
    map_weights(&a, &mut w, |r, c, w| dinv[r] * w * dinv[c]);
    let (n, indptr, indices, _) = a.into_parts();
    Csr::from_parts_unchecked(n, indptr, indices, Some(w))
}

/// Power iteration for the eigenvalue of largest modulus, from a seeded
/// random start (a constant start would be an eigenvector of `L_rw`).
fn largest_eigenvalue(m: &Csr, max_iter: usize, tol: f64) -> f64 {
    let n = m.num_nodes();
    if n == 0 {
        return 0.0;
    }
    let mut rng = ChaCha8Rng::seed_from_u64(0x5eed);
    let mut x: Vec<f64> = (0..n).map(|_| rng.gen_range(-1.0..1.0)).collect();
    let norm = |v: &[f64]| v.iter().map(|a| a * a).sum::<f64>().sqrt();
    let nx = norm(&x);
    x.iter_mut().for_each(|a| *a /= nx);
    let mut lambda = 0.0;
    for _ in 0..max_iter {
        let y = m.matvec(&x);
        let ny = norm(&y);
        if ny == 0.0 {
            return 0.0;
        }
        let done = (ny - lambda).abs() <= tol * ny;
        lambda = ny;
        x = y.into_iter().map(|a| a / ny).collect();
        if done {
            break;
        }
    }
    lambda
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::csr::Dedup;
    use crate::EdgeList;

    fn undirected(n: usize, pairs: &[(u32, u32)]) -> Csr {
        Csr::from_edge_list_undirected(&EdgeList::from_pairs(n, pairs).unwrap(), Dedup::Sum).unwrap()
    }

    fn dense(m: &Csr) -> Vec<Vec<f32>> {
        let n = m.num_nodes();
        let mut d = vec![vec![0.0; n]; n];
        let w = m.values();
        for (r, row) in d.iter_mut().enumerate() {
            for k in m.indptr()[r]..m.indptr()[r + 1] {
                row[m.indices()[k] as usize] += w[k];
            }
        }
        d
    }

    fn close(a: &[Vec<f32>], b: &[Vec<f32>]) {
        for (x, y) in a.iter().flatten().zip(b.iter().flatten()) {
            assert!((x - y).abs() < 1e-5, "{a:?} != {b:?}");
        }
    }

    #[test]
    fn gcn_matches_pyg_on_a_directed_graph() {
        // Directed 0 -> 1, 0 -> 2, 1 -> 2, with a self loop on 2 of weight 3.
        let e = EdgeList::new(
            3,
            vec![0, 0, 1, 2],
            vec![1, 2, 2, 2],
            Some(vec![1.0, 1.0, 1.0, 3.0]),
        )
        .unwrap();
        let a = Csr::from_edge_list(&e).unwrap();
        let g = a.gcn_normalized(true, true);
        // In-degrees with loops (fill 2 on 0 and 1, loop 3 kept on 2): 2, 3, 5.
        let d = [2f32, 3.0, 5.0];
        let s = |i: usize, j: usize, w: f32| w / (d[i] * d[j]).sqrt();
        close(
            &dense(&g),
            &[
                vec![s(0, 0, 2.0), s(0, 1, 1.0), s(0, 2, 1.0)],
                vec![0.0, s(1, 1, 2.0), s(1, 2, 1.0)],
                vec![0.0, 0.0, s(2, 2, 3.0)],
            ],
        );
        // Without loops node 0 has in-degree 0 and its entries vanish.
        let g = a.gcn_normalized(false, false);
        assert_eq!(g.row(0).1.unwrap(), &[0.0, 0.0]);
    }

    #[test]
    fn random_walk_and_diffusion() {
        let e = EdgeList::new(3, vec![0, 0, 1], vec![1, 2, 2], Some(vec![1.0, 3.0, 2.0])).unwrap();
        let a = Csr::from_edge_list(&e).unwrap();
        let (f, b) = a.diffusion_matrices();
        close(
            &dense(&f),
            &[vec![0.0, 0.25, 0.75], vec![0.0, 0.0, 1.0], vec![0.0; 3]],
        );
        // Backward: A^T rows (in-edges) divided by in-degree.
        close(
            &dense(&b),
            &[vec![0.0; 3], vec![1.0, 0.0, 0.0], vec![0.6, 0.4, 0.0]],
        );
    }

    #[test]
    fn scaled_laplacian_and_lambda_max() {
        let k2 = undirected(2, &[(0, 1)]);
        assert!((k2.lambda_max(LaplacianNorm::Sym) - 2.0).abs() < 1e-4);
        let s = k2.scaled_laplacian(LaplacianNorm::Sym, Some(2.0)).unwrap();
        close(&dense(&s), &[vec![0.0, -1.0], vec![-1.0, 0.0]]);
        // Complete graph K5: eigenvalues of L_sym are 0 and 5/4.
        let pairs: Vec<(u32, u32)> = (0..5).flat_map(|i| (i + 1..5).map(move |j| (i, j))).collect();
        let k5 = undirected(5, &pairs);
        for norm in [LaplacianNorm::Sym, LaplacianNorm::Rw] {
            assert!((k5.lambda_max(norm) - 1.25).abs() < 1e-3, "{norm:?}");
        }
        let s = k5.scaled_laplacian(LaplacianNorm::Sym, None).unwrap();
        // Diagonal 2 / 1.25 - 1, off-diagonal -2 / (1.25 * 4).
        assert!((dense(&s)[0][0] - 0.6).abs() < 1e-3 && (dense(&s)[0][1] + 0.4).abs() < 1e-3);
        assert!(k5.scaled_laplacian(LaplacianNorm::Sym, Some(0.0)).is_err());
    }
}
