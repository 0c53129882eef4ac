//! Graph signals over time: a static graph with a `T x N x F` signal, or a
//! graph per time step with its signal.

use crate::edges::EdgeList;
use crate::error::{DataError, Result};

/// A fixed graph with a signal of `steps x nodes x features` values
/// (row-major: step, then node, then feature).
#[derive(Debug, Clone, PartialEq)]
pub struct StaticGraphSignal {
    /// The graph, the same at every step.
    pub edges: EdgeList,
    /// Number of time steps `T`.
    pub steps: usize,
    /// Number of features per node and step `F`.
    pub features: usize,
    /// `T * N * F` values.
    pub values: Vec<f32>,
}

/// A graph per time step (same node set) with its signal.
#[derive(Debug, Clone, PartialEq)]
pub struct DynamicGraphSignal {
    /// One edge list per step, all over the same `num_nodes`.
    pub edges: Vec<EdgeList>,
    /// Number of features per node and step `F`.
    pub features: usize,
    /// `T * N * F` values.
    pub values: Vec<f32>,
}

impl StaticGraphSignal {
    /// Checks that `values` holds `steps * nodes * features` finite values.
    pub fn new(edges: EdgeList, steps: usize, features: usize, values: Vec<f32>) -> Result<Self> {
        check_values(steps, edges.num_nodes, features, &values)?;
        Ok(StaticGraphSignal { edges, steps, features, values })
    }

    /// Number of nodes `N`.
    pub fn nodes(&self) -> usize {
        self.edges.num_nodes
    }
}

impl DynamicGraphSignal {
    /// Checks that every step's graph has the same node count and that
    /// `values` holds `T * N * F` finite values.
    pub fn new(edges: Vec<EdgeList>, features: usize, values: Vec<f32>) -> Result<Self> {
        let nodes = edges.first().map(|e| e.num_nodes).unwrap_or(0);
        if let Some(t) = edges.iter().position(|e| e.num_nodes != nodes) {
            return Err(DataError::Invalid(format!(
                "dynamic graph: step {t} has {} nodes, step 0 has {nodes}",
                edges[t].num_nodes
            )));
        }
        check_values(edges.len(), nodes, features, &values)?;
        Ok(DynamicGraphSignal { edges, features, values })
    }

    /// Number of time steps `T`.
    pub fn steps(&self) -> usize {
        self.edges.len()
    }

    /// Number of nodes `N`.
    pub fn nodes(&self) -> usize {
        self.edges.first().map(|e| e.num_nodes).unwrap_or(0)
    }
}

fn check_values(steps: usize, nodes: usize, features: usize, values: &[f32]) -> Result<()> {
    if values.len() != steps * nodes * features {
        return Err(DataError::Invalid(format!(
            "signal: expected {steps} x {nodes} x {features} = {} values, got {}",
            steps * nodes * features,
            values.len()
        )));
    }
    if let Some(i) = values.iter().position(|v| !v.is_finite()) {
        let (t, rest) = (i / (nodes * features).max(1), i % (nodes * features).max(1));
        return Err(DataError::Invalid(format!(
            "signal: value at step {t}, node {}, feature {} is {}",
            rest / features.max(1),
            rest % features.max(1),
            values[i]
        )));
    }
    Ok(())
}
