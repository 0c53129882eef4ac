//! [`NodeModel`]: what every node-classification network offers.

use tch::Tensor;

use crate::error::Result;
use crate::features::NodeFeatures;
use crate::graph::Graph;

/// A network mapping node features to class logits.
///
/// The fallible entry points check the input through the first layer (its
/// message names it: "GcnConv expects x of shape [num_nodes=2708, 1433], got
/// [2708, 1432]"); the panicking ones panic with the same message.
pub trait NodeModel: std::fmt::Debug {
    /// Logits `[N, classes]`; every hidden representation (after each graph
    /// layer) is pushed on `record`.
    fn f_forward_recorded(
        &self,
        x: &NodeFeatures,
        graph: &Graph,
        train: bool,
        record: &mut Vec<Tensor>,
    ) -> Result<Tensor>;

    /// [`NodeModel::f_forward_recorded`], panicking with its message on bad input.
    fn forward_recorded(
        &self,
        x: &NodeFeatures,
        graph: &Graph,
        train: bool,
        record: &mut Vec<Tensor>,
    ) -> Tensor {
        self.f_forward_recorded(x, graph, train, record)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Logits `[N, classes]`, or a typed error naming what does not fit.
    fn f_forward_t(&self, x: &NodeFeatures, graph: &Graph, train: bool) -> Result<Tensor> {
        self.f_forward_recorded(x, graph, train, &mut Vec::new())
    }

    /// Logits `[N, classes]`, panicking on bad input.
    fn forward_t(&self, x: &NodeFeatures, graph: &Graph, train: bool) -> Tensor {
        self.forward_recorded(x, graph, train, &mut Vec::new())
    }
}
