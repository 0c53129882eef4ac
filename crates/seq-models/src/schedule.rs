//! One scheduling mechanism for recurrences over a DAG: compute a node once all
//! the nodes it reads from (its children) are done, a whole level at a time.
//!
//! - An RNN over a batch of sequences is the **chain** case: level `t` holds step
//!   `t` of every sequence, and each node's only child is the previous step.
//! - A Tree-LSTM over a batch of trees is the **tree** case: level `k` holds every
//!   node of height `k` in every tree, leaves first, roots last.
//! - A GNN layer is the degenerate case of synchronous message passing: every
//!   node reads its neighbours' *previous-layer* states, so one level holds all
//!   nodes and there is no ordering to respect.
//!
//! Edges go child -> parent (the direction messages flow). A [`Schedule`] numbers
//! the nodes in level order, so that the states of finished levels sit in one
//! buffer and each level gathers its children's rows with one index.
//!
//! ```
//! use seq_models::schedule::Schedule;
//! // Two sequences of lengths 3 and 2, read as chains.
//! let s = Schedule::chains(&[3, 2]);
//! assert_eq!(s.num_levels(), 3);
//! assert_eq!(s.level(0), &[0, 3]); // the first step of both sequences
//! assert_eq!(s.children(4), &[3]);
//! // A cycle has no schedule.
//! assert!(Schedule::from_edges(2, &[(0, 1), (1, 0)]).is_err());
//! ```

use graph_data::tree::Tree;
use tch::{Device, Tensor};

use crate::error::{Result, SeqError};

/// Nodes of a DAG grouped into levels: every node comes after all its children.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    children: Vec<Vec<usize>>,
    /// Node ids in level order.
    order: Vec<usize>,
    /// `order[starts[l]..starts[l + 1]]` is level `l`.
    starts: Vec<usize>,
}

impl Schedule {
    /// The schedule of a DAG on `num_nodes` nodes with edges `(child, parent)`;
    /// a node's children are kept in edge order. A cycle or an id out of range
    /// is an error.
    pub fn from_edges(num_nodes: usize, edges: &[(usize, usize)]) -> Result<Schedule> {
        let mut children = vec![Vec::new(); num_nodes];
        let mut parents = vec![Vec::new(); num_nodes];
        for (i, &(c, p)) in edges.iter().enumerate() {
            if c >= num_nodes || p >= num_nodes {
                return Err(SeqError::Config(format!(
                    "schedule: edge {i} ({c} -> {p}) names a node outside 0..{num_nodes}"
                )));
            }
            children[p].push(c);
            parents[c].push(p);
        }
        // Kahn's algorithm, level by level: a node's height is one more than its
        // highest child's.
        let mut waiting: Vec<usize> = children.iter().map(Vec::len).collect();
        let mut level: Vec<usize> = (0..num_nodes).filter(|&v| waiting[v] == 0).collect();
        let (mut order, mut starts) = (Vec::with_capacity(num_nodes), vec![0]);
        while !level.is_empty() {
            order.extend(&level);
            starts.push(order.len());
            let mut next = Vec::new();
            for &v in &level {
                for &p in &parents[v] {
                    waiting[p] -= 1;
                    if waiting[p] == 0 {
                        next.push(p);
                    }
                }
            }
            next.sort_unstable();
            level = next;
        }
        if order.len() != num_nodes {
            let stuck = (0..num_nodes)
                .find(|&v| waiting[v] > 0)
                .expect("some node is left");
            return Err(SeqError::Config(format!(
                "schedule: the graph has a cycle (node {stuck} waits on itself)"
            )));
        }
        Ok(Schedule {
            children,
            order,
            starts,
        })
    }

    /// A batch of trees as one forest: tree `i`'s node `v` is node
    /// `offsets[i] + v`, where the offsets are the running sums of the sizes.
    pub fn forest(trees: &[&Tree]) -> Schedule {
        let mut edges = Vec::new();
        let mut offset = 0;
        for t in trees {
            // Children in increasing id order, as the tree keeps them.
            for p in 0..t.len() {
                edges.extend(t.children(p).iter().map(|&c| (offset + c, offset + p)));
            }
            offset += t.len();
        }
        Schedule::from_edges(offset, &edges).expect("trees are acyclic")
    }

    /// A batch of sequences as chains: sequence `i`'s step `t` is node
    /// `offsets[i] + t`, its child the previous step.
    pub fn chains(lengths: &[usize]) -> Schedule {
        let mut edges = Vec::new();
        let mut offset = 0;
        for &n in lengths {
            edges.extend((1..n).map(|t| (offset + t - 1, offset + t)));
            offset += n;
        }
        Schedule::from_edges(offset, &edges).expect("chains are acyclic")
    }

    /// Number of nodes.
    pub fn num_nodes(&self) -> usize {
        self.children.len()
    }

    /// Number of levels (the height of the highest node, plus one).
    pub fn num_levels(&self) -> usize {
        self.starts.len() - 1
    }

    /// The nodes of level `l`, in increasing id order.
    pub fn level(&self, l: usize) -> &[usize] {
        &self.order[self.starts[l]..self.starts[l + 1]]
    }

    /// The children of a node.
    pub fn children(&self, node: usize) -> &[usize] {
        &self.children[node]
    }

    /// Nodes in level order (each after all its children).
    pub fn order(&self) -> &[usize] {
        &self.order
    }

    /// Index tensors for running a recurrence on `device`, level by level (see
    /// [`LevelPlan`]). `max_children` bounds the children slots of the N-ary
    /// form (`None`: any number, child-sum only).
    pub fn plan(&self, device: Device, max_children: Option<usize>) -> Result<LevelPlan> {
        let n = self.num_nodes();
        // Row of each node in the state buffer: 1 + its level-order position
        // (row 0 is the zero state of an absent child).
        let mut row = vec![0i64; n];
        for (pos, &v) in self.order.iter().enumerate() {
            row[v] = pos as i64 + 1;
        }
        let slots = max_children.unwrap_or(0);
        let t = |v: &[i64]| Tensor::from_slice(v).to_device(device);
        let mut levels = Vec::with_capacity(self.num_levels());
        for l in 0..self.num_levels() {
            let nodes = self.level(l);
            let (mut child_rows, mut child_parent) = (Vec::new(), Vec::new());
            let mut slot_rows = vec![vec![0i64; nodes.len()]; slots];
            for (j, &v) in nodes.iter().enumerate() {
                let kids = &self.children[v];
                if max_children.is_some() && kids.len() > slots {
                    return Err(SeqError::Config(format!(
                        "schedule: node {v} has {} children, the N-ary cell takes at most {slots}",
                        kids.len()
                    )));
                }
                for (k, &c) in kids.iter().enumerate() {
                    child_rows.push(row[c]);
                    child_parent.push(j as i64);
                    if k < slots {
                        slot_rows[k][j] = row[c];
                    }
                }
            }
            let ids: Vec<i64> = nodes.iter().map(|&v| v as i64).collect();
            levels.push(LevelIndex {
                nodes: t(&ids),
                child_rows: t(&child_rows),
                child_parent: t(&child_parent),
                slot_rows: slot_rows.iter().map(|r| t(r)).collect(),
            });
        }
        Ok(LevelPlan {
            levels,
            rows: t(&row),
            num_nodes: n as i64,
        })
    }
}

/// The index tensors of one level.
#[derive(Debug)]
pub struct LevelIndex {
    /// Node ids of the level (rows of the input `x`), `[n_l]`.
    pub nodes: Tensor,
    /// Buffer row of every child of the level's nodes, `[e_l]`.
    pub child_rows: Tensor,
    /// For each child, the position of its parent within the level, `[e_l]`.
    pub child_parent: Tensor,
    /// For the N-ary form: per slot `k`, the buffer row of each node's `k`-th
    /// child (0, the zero row, where it has none), `[n_l]` each.
    pub slot_rows: Vec<Tensor>,
}

/// A [`Schedule`] as tensors, built once per batch and reused across epochs.
#[derive(Debug)]
pub struct LevelPlan {
    /// One entry per level, leaves first.
    pub levels: Vec<LevelIndex>,
    /// Buffer row of every node (in node id order), `[num_nodes]`.
    pub rows: Tensor,
    /// Number of nodes.
    pub num_nodes: i64,
}
