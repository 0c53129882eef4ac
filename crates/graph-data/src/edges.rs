//! Edge lists (COO): the exchange format between loaders, generators and
//! [`Csr`](crate::csr::Csr).

use crate::error::{DataError, Result};

/// Directed edges as parallel source and target arrays, with optional
/// weights. Node ids are `u32` (4 bytes an id: a 16 M-edge graph costs
/// 128 MB rather than 256 MB) and are checked against `num_nodes`.
#[derive(Debug, Clone, PartialEq)]
pub struct EdgeList {
    /// Number of nodes; every id is below it.
    pub num_nodes: usize,
    /// Source node of each edge.
    pub src: Vec<u32>,
    /// Target node of each edge.
    pub dst: Vec<u32>,
    /// One weight per edge, if the graph is weighted.
    pub weight: Option<Vec<f32>>,
}

impl EdgeList {
    /// Builds an edge list, checking lengths and that ids are in range.
    pub fn new(num_nodes: usize, src: Vec<u32>, dst: Vec<u32>, weight: Option<Vec<f32>>) -> Result<Self> {
        if src.len() != dst.len() {
            return Err(DataError::Invalid(format!(
                "edge list: {} sources but {} targets",
                src.len(),
                dst.len()
            )));
        }
        if let Some(w) = &weight {
            if w.len() != src.len() {
                return Err(DataError::Invalid(format!(
                    "edge list: {} edges but {} weights",
                    src.len(),
                    w.len()
                )));
            }
        }
        if num_nodes > u32::MAX as usize {
            return Err(DataError::Invalid(format!(
                "edge list: {num_nodes} nodes do not fit u32 ids"
            )));
        }
        for (i, (&s, &d)) in src.iter().zip(&dst).enumerate() {
            if s as usize >= num_nodes || d as usize >= num_nodes {
                return Err(DataError::Invalid(format!(
                    "edge list: edge {i} ({s} -> {d}) names a node outside 0..{num_nodes}"
                )));
            }
        }
        Ok(EdgeList {
            num_nodes,
            src,
            dst,
            weight,
        })
    }

    /// Builds an unweighted edge list from `(source, target)` pairs.
    pub fn from_pairs(num_nodes: usize, pairs: &[(u32, u32)]) -> Result<Self> {
        let (src, dst) = pairs.iter().copied().unzip();
        Self::new(num_nodes, src, dst, None)
    }

    /// Number of edges.
    pub fn len(&self) -> usize {
        self.src.len()
    }

    /// True when there are no edges.
    pub fn is_empty(&self) -> bool {
        self.src.is_empty()
    }

    /// The `(source, target)` pairs, in order.
    pub fn pairs(&self) -> impl Iterator<Item = (u32, u32)> + '_ {
        self.src.iter().copied().zip(self.dst.iter().copied())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_of_range_ids_and_length_mismatches_are_refused() {
        assert!(EdgeList::from_pairs(3, &[(0, 1), (1, 2)]).is_ok());
        let err = EdgeList::from_pairs(3, &[(0, 3)]).unwrap_err().to_string();
        assert!(err.contains("0 -> 3") && err.contains("0..3"), "{err}");
        assert!(EdgeList::new(3, vec![0], vec![], None).is_err());
        assert!(EdgeList::new(3, vec![0], vec![1], Some(vec![])).is_err());
    }
}
