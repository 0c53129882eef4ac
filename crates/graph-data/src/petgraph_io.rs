//! Conversion between [`Csr`] and petgraph's `Graph` / `StableGraph`
//! (directed or undirected, so also `DiGraph` and `UnGraph`).
//!
//! An undirected petgraph edge `{u, v}` becomes the two entries `(u, v)` and
//! `(v, u)` (a self loop one entry), and back: an undirected graph is built
//! from the entries `(u, v)` with `u <= v` of a symmetric matrix.
//!
//! ```
//! use graph_data::csr::Csr;
//! use petgraph::graph::UnGraph;
//! let g = UnGraph::<(), f32>::from_edges([(0, 1, 1.0), (1, 2, 0.5)]);
//! let a = Csr::from_graph(&g, |w| *w).unwrap();
//! assert_eq!(a.nnz(), 4);
//! let back: UnGraph<(), f32> = a.to_graph().unwrap();
//! assert_eq!(back.edge_count(), 2);
//! ```

use petgraph::graph::{Graph, IndexType};
use petgraph::stable_graph::StableGraph;
use petgraph::visit::{EdgeRef, IntoEdgeReferences};
use petgraph::EdgeType;

use crate::csr::Csr;
use crate::edges::EdgeList;
use crate::error::{DataError, Result};

impl Csr {
    /// Builds the adjacency of a petgraph `Graph`, weighting each edge with
    /// `weight(&edge_weight)`. Node `i` of the CSR is `NodeIndex(i)`.
    pub fn from_graph<N, E, Ty: EdgeType, Ix: IndexType>(
        g: &Graph<N, E, Ty, Ix>,
        weight: impl Fn(&E) -> f32,
    ) -> Result<Csr> {
        let edges = g
            .edge_references()
            .map(|e| (e.source().index(), e.target().index(), weight(e.weight())));
        from_triples(g.node_count(), Ty::is_directed(), edges)
    }

    /// Builds the adjacency of a petgraph `StableGraph`. Its live nodes are
    /// renumbered `0..node_count` in index order (removed nodes leave holes
    /// in petgraph's indices, not in ours); the second value maps new ids to
    /// the old indices.
    pub fn from_stable_graph<N, E, Ty: EdgeType, Ix: IndexType>(
        g: &StableGraph<N, E, Ty, Ix>,
        weight: impl Fn(&E) -> f32,
    ) -> Result<(Csr, Vec<usize>)> {
        let old: Vec<usize> = g.node_indices().map(|i| i.index()).collect();
        let mut new_id = vec![u32::MAX; old.last().map_or(0, |&o| o + 1)];
        for (i, &o) in old.iter().enumerate() {
            new_id[o] = i as u32;
        }
        let edges = g.edge_references().map(|e| {
            (
                new_id[e.source().index()] as usize,
                new_id[e.target().index()] as usize,
                weight(e.weight()),
            )
        });
        Ok((from_triples(old.len(), Ty::is_directed(), edges)?, old))
    }

    /// A petgraph `Graph` (node weights `()`, edge weights `f32`, 1 when the
    /// matrix is unweighted). Directed: one edge per entry. Undirected: one
    /// edge per entry `(u, v)` with `u <= v`, which needs a symmetric matrix.
    pub fn to_graph<Ty: EdgeType>(&self) -> Result<Graph<(), f32, Ty>> {
        let mut g = Graph::with_capacity(self.num_nodes(), self.nnz());
        for _ in 0..self.num_nodes() {
            g.add_node(());
        }
        self.for_graph_edges::<Ty>(|u, v, w| {
            g.add_edge(u.into(), v.into(), w);
        })?;
        Ok(g)
    }

    /// A petgraph `StableGraph`, as [`Csr::to_graph`].
    pub fn to_stable_graph<Ty: EdgeType>(&self) -> Result<StableGraph<(), f32, Ty>> {
        let mut g = StableGraph::with_capacity(self.num_nodes(), self.nnz());
        for _ in 0..self.num_nodes() {
            g.add_node(());
        }
        self.for_graph_edges::<Ty>(|u, v, w| {
            g.add_edge(u.into(), v.into(), w);
        })?;
        Ok(g)
    }

    fn for_graph_edges<Ty: EdgeType>(&self, mut add: impl FnMut(u32, u32, f32)) -> Result<()> {
        if !Ty::is_directed() && !self.is_symmetric() {
            return Err(DataError::Invalid(
                "an undirected petgraph needs a symmetric matrix; call `symmetrized` first".into(),
            ));
        }
        for r in 0..self.num_nodes() {
            let (cols, w) = self.row(r);
            for (k, &c) in cols.iter().enumerate() {
                if Ty::is_directed() || r as u32 <= c {
                    add(r as u32, c, w.map_or(1.0, |w| w[k]));
                }
            }
        }
        Ok(())
    }
}

/// `(source, target, weight)` triples to a CSR; undirected edges are stored
/// both ways. The weights are dropped when they are all 1.
fn from_triples(n: usize, directed: bool, edges: impl Iterator<Item = (usize, usize, f32)>) -> Result<Csr> {
    let (mut src, mut dst, mut weight) = (Vec::new(), Vec::new(), Vec::new());
    for (s, t, w) in edges {
        src.push(s as u32);
        dst.push(t as u32);
        weight.push(w);
        if !directed && s != t {
            src.push(t as u32);
            dst.push(s as u32);
            weight.push(w);
        }
    }
    let weight = (!weight.iter().all(|&w| w == 1.0)).then_some(weight);
    Csr::from_edge_list(&EdgeList::new(n, src, dst, weight)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use petgraph::graph::DiGraph;
    use petgraph::Undirected;

    #[test]
    fn directed_and_undirected_round_trips() {
        let g = DiGraph::<(), f32>::from_edges([(0, 1, 2.0), (1, 1, 1.0), (2, 0, 3.0)]);
        let a = Csr::from_graph(&g, |w| *w).unwrap();
        assert_eq!(a.indices(), &[1, 1, 0]);
        assert_eq!(a.weights().unwrap(), &[2.0, 1.0, 3.0]);
        let back: DiGraph<(), f32> = a.to_graph().unwrap();
        assert_eq!(Csr::from_graph(&back, |w| *w).unwrap(), a);
        // Not symmetric: refused as an undirected graph.
        assert!(a.to_graph::<Undirected>().is_err());
        let s = a.symmetrized(crate::csr::Dedup::Max);
        let u = s.to_graph::<Undirected>().unwrap();
        assert_eq!(u.edge_count(), 3);
        assert_eq!(Csr::from_graph(&u, |w| *w).unwrap(), s);
    }

    #[test]
    fn stable_graph_holes_are_renumbered() {
        let mut g = StableGraph::<(), (), petgraph::Directed>::new();
        let n: Vec<_> = (0..4).map(|_| g.add_node(())).collect();
        g.add_edge(n[0], n[3], ());
        g.add_edge(n[3], n[2], ());
        g.remove_node(n[1]);
        let (a, old) = Csr::from_stable_graph(&g, |_| 1.0).unwrap();
        assert_eq!(old, vec![0, 2, 3]);
        assert_eq!(a.to_edge_list().src, vec![0, 2]);
        assert_eq!(a.to_edge_list().dst, vec![2, 1]);
        assert!(a.weights().is_none());
        let s: StableGraph<(), f32> = a.to_stable_graph().unwrap();
        assert_eq!(Csr::from_stable_graph(&s, |w| *w).unwrap().0, a);
    }
}
