//! Rooted trees: the step between a sequence and a graph. A sequence links
//! each element to the previous one, a tree gives a node several children, a
//! graph lets any node link to many neighbours.
//!
//! A [`Tree`] is stored as a parent array with ordered children. It converts to
//! a graph ([`Tree::edges`]: child -> parent, optionally the reverse edges and
//! self loops) and to a schedule of levels ([`Tree::levels`]: all nodes of equal
//! height together, leaves first), the order in which a Tree-LSTM can process a
//! whole level in one batched step.
//!
//! ```
//! use graph_data::tree::{EdgeOptions, Tree};
//! // 2 is the root with children 0 and 1; 3 hangs below 1.
//! let t = Tree::from_parents(&[Some(2), Some(2), None, Some(1)]).unwrap();
//! assert_eq!(t.root(), 2);
//! assert_eq!(t.children(2), &[0, 1]);
//! assert_eq!(t.heights(), vec![0, 1, 2, 0]);
//! assert_eq!(t.levels(), vec![vec![0, 3], vec![1], vec![2]]);
//! let e = t.edges(EdgeOptions::default());
//! assert_eq!((e.src, e.dst), (vec![0, 1, 3], vec![2, 2, 1])); // child -> parent
//! assert!(Tree::from_parents(&[Some(1), Some(0)]).is_err()); // a cycle, no root
//! ```

use crate::edges::EdgeList;
use crate::error::{DataError, Result};

/// A rooted tree over nodes `0..len`, children kept in increasing id order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tree {
    parent: Vec<Option<usize>>,
    children: Vec<Vec<usize>>,
    root: usize,
}

/// Which edges [`Tree::edges`] emits beside child -> parent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EdgeOptions {
    /// Also parent -> child (an undirected view for GNNs).
    pub reverse: bool,
    /// Also a self loop on every node.
    pub self_loops: bool,
}

impl Tree {
    /// A tree from each node's parent (`None` for the root). Errors name the
    /// offending node: a parent out of range, no root or several roots, a
    /// node that is its own ancestor (a cycle).
    pub fn from_parents(parents: &[Option<usize>]) -> Result<Tree> {
        let n = parents.len();
        if n == 0 {
            return Err(DataError::Invalid("tree: no nodes".into()));
        }
        let mut children = vec![Vec::new(); n];
        let mut roots = Vec::new();
        for (i, p) in parents.iter().enumerate() {
            match *p {
                None => roots.push(i),
                Some(p) if p >= n => {
                    return Err(DataError::Invalid(format!(
                        "tree: node {i} has parent {p}, outside 0..{n}"
                    )))
                }
                Some(p) if p == i => {
                    return Err(DataError::Invalid(format!(
                        "tree: node {i} is its own parent (a cycle)"
                    )))
                }
                Some(p) => children[p].push(i),
            }
        }
        let root = match roots.as_slice() {
            [r] => *r,
            [] => {
                return Err(DataError::Invalid(
                    "tree: no root (every node has a parent: a cycle)".into(),
                ))
            }
            many => {
                return Err(DataError::Invalid(format!(
                    "tree: {} roots (nodes {:?}), expected one",
                    many.len(),
                    &many[..many.len().min(5)]
                )))
            }
        };
        // Every node must be reachable from the root, else it sits on a cycle.
        let mut seen = vec![false; n];
        let mut stack = vec![root];
        while let Some(v) = stack.pop() {
            seen[v] = true;
            stack.extend(&children[v]);
        }
        if let Some(bad) = seen.iter().position(|s| !s) {
            return Err(DataError::Invalid(format!(
                "tree: node {bad} is not below the root {root} (its ancestors form a cycle)"
            )));
        }
        Ok(Tree {
            parent: parents.to_vec(),
            children,
            root,
        })
    }

    /// The chain `0 -> 1 -> ... -> n-1`: node `t` is the only child of `t + 1`,
    /// the root is the last node. A sequence read as a tree.
    pub fn chain(n: usize) -> Result<Tree> {
        let parents: Vec<Option<usize>> = (0..n).map(|t| (t + 1 < n).then_some(t + 1)).collect();
        Tree::from_parents(&parents)
    }

    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.parent.len()
    }

    /// Always false: a tree has at least its root.
    pub fn is_empty(&self) -> bool {
        self.parent.is_empty()
    }

    /// The root node.
    pub fn root(&self) -> usize {
        self.root
    }

    /// The parent of every node (`None` for the root).
    pub fn parents(&self) -> &[Option<usize>] {
        &self.parent
    }

    /// The children of a node, in increasing id order.
    pub fn children(&self, node: usize) -> &[usize] {
        &self.children[node]
    }

    /// Nodes without children.
    pub fn leaves(&self) -> Vec<usize> {
        (0..self.len()).filter(|&v| self.children[v].is_empty()).collect()
    }

    /// Height of every node: 0 for a leaf, else one more than its highest child.
    pub fn heights(&self) -> Vec<usize> {
        let mut h = vec![0; self.len()];
        // Post-order without recursion (deep chains would overflow the stack).
        for v in self.post_order() {
            h[v] = self.children[v].iter().map(|&c| h[c] + 1).max().unwrap_or(0);
        }
        h
    }

    /// Nodes grouped by height, leaves first, the root last; increasing ids in
    /// each level. Every node's children lie in earlier levels, so a level can
    /// be computed in one batched step once the previous ones are done.
    pub fn levels(&self) -> Vec<Vec<usize>> {
        let h = self.heights();
        let mut levels = vec![Vec::new(); h[self.root] + 1];
        for (v, &hv) in h.iter().enumerate() {
            levels[hv].push(v);
        }
        levels
    }

    /// Nodes in an order where every child comes before its parent.
    pub fn post_order(&self) -> Vec<usize> {
        let mut order = Vec::with_capacity(self.len());
        let mut stack = vec![self.root];
        while let Some(v) = stack.pop() {
            order.push(v);
            stack.extend(&self.children[v]);
        }
        order.reverse();
        order
    }

    /// The tree as a graph: an edge child -> parent for every non-root node,
    /// then (if asked) parent -> child, then self loops.
    pub fn edges(&self, opts: EdgeOptions) -> EdgeList {
        let (mut src, mut dst) = (Vec::new(), Vec::new());
        for (c, p) in self.parent.iter().enumerate() {
            if let Some(p) = p {
                src.push(c as u32);
                dst.push(*p as u32);
            }
        }
        if opts.reverse {
            let (s, d) = (src.clone(), dst.clone());
            src.extend(d);
            dst.extend(s);
        }
        if opts.self_loops {
            src.extend(0..self.len() as u32);
            dst.extend(0..self.len() as u32);
        }
        EdgeList::new(self.len(), src, dst, None).expect("tree ids are in range")
    }
}
