//! Tree-LSTMs (Tai, Socher and Manning 2015): the LSTM's state passed from the
//! children of a node to the node, leaves to root, instead of from step `t - 1`
//! to step `t`.
//!
//! An RNN is message passing along a path in order; a Tree-LSTM is the same
//! along a tree from the leaves to the root; a GNN is synchronous message
//! passing on any graph. The first two share one mechanism here: a
//! [`Schedule`] groups the nodes into levels, and a whole level (across every
//! tree of a batch) is one batched step. On a chain the schedule is the time
//! axis and both cells reduce to the LSTM: the parameters use PyTorch's LSTM
//! layout and gate order, so an `nn.LSTM` state dict drives them unchanged.
//!
//! Equations (`x_j` the node's input, `h_k, c_k` its children's states, `σ` the
//! logistic function, `*` elementwise):
//! - **Child-Sum** (any number of unordered children): `h~ = Σ_k h_k`;
//!   `i = σ(W_i x + U_i h~ + b_i)`, `f_k = σ(W_f x + U_f h_k + b_f)` (one forget
//!   gate per child), `o = σ(W_o x + U_o h~ + b_o)`, `u = tanh(W_u x + U_u h~ + b_u)`;
//!   `c = i * u + Σ_k f_k * c_k`, `h = o * tanh(c)`.
//! - **N-ary** (at most `N` ordered children, absent ones zero): every gate reads
//!   all children through its own matrices, `U^l`, and child `k` has its own
//!   forget gate `f_k = σ(W_f x + Σ_l U_f^{kl} h_l + b_f)`; `c = i * u + Σ_k f_k * c_k`.
//!
//! Parameters: `weight_ih` `[4H, I]` and `bias_ih` `[4H]` (gates i, f, g = u, o, as
//! `nn.LSTM`), `weight_hh` and `bias_hh`: `[4H, H]` and `[4H]` for Child-Sum,
//! `[(3 + N)H, N H]` and `[(3 + N)H]` for N-ary (gates i, f_1..f_N, g, o over the
//! children's concatenated states; with `N = 1` that is the LSTM layout again).
//!
//! ```
//! use graph_data::tree::Tree;
//! use seq_models::schedule::Schedule;
//! use seq_models::tree_lstm::TreeLstm;
//! use tch::{nn, Device, Kind, Tensor};
//!
//! let vs = nn::VarStore::new(Device::Cpu);
//! let cell = TreeLstm::n_ary(&vs.root(), 8, 16, 2);
//! let a = Tree::from_parents(&[Some(2), Some(2), None]).unwrap(); // (x0 x1)
//! let b = Tree::chain(1).unwrap();
//! let schedule = Schedule::forest(&[&a, &b]);
//! let plan = schedule.plan(Device::Cpu, Some(2)).unwrap();
//! let x = Tensor::randn([4, 8], (Kind::Float, Device::Cpu));
//! let out = cell.forward(&x, &plan);
//! assert_eq!(out.h.size(), [4, 16]); // one state per node, in node order
//! let slow = cell.f_forward_node_by_node(&x, &schedule).unwrap();
//! assert!(out.h.allclose(&slow.h, 1e-5, 1e-6, false));
//! ```

use std::borrow::Borrow;

use tch::{nn, Kind, Tensor};

use crate::error::{InputError, Mismatch, Result, SeqError};
use crate::schedule::{LevelPlan, Schedule};

/// Which Tree-LSTM cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TreeCell {
    /// Child-Sum: any number of children, summed.
    ChildSum,
    /// N-ary: at most this many ordered children, each with its own weights.
    NAry(usize),
}

/// The states of every node, in node id order.
#[derive(Debug)]
pub struct TreeState {
    /// Hidden states `[num_nodes, H]`.
    pub h: Tensor,
    /// Memory cells `[num_nodes, H]`.
    pub c: Tensor,
}

/// A Child-Sum or N-ary Tree-LSTM cell, run level by level over a batch of trees.
#[derive(Debug)]
pub struct TreeLstm {
    cell: TreeCell,
    input: i64,
    hidden: i64,
    w_ih: Tensor,
    w_hh: Tensor,
    b_ih: Tensor,
    b_hh: Tensor,
}

/// The children's states a group of nodes reads.
enum Kids<'a> {
    /// Every child's `h` and `c` (`[e, H]`), and its parent's position in the group.
    Sum {
        h: Tensor,
        c: Tensor,
        parent: &'a Tensor,
    },
    /// Per slot, each node's child state (zero where absent), `[n, H]` each.
    Slots { h: Vec<Tensor>, c: Vec<Tensor> },
}

impl TreeLstm {
    /// A Tree-LSTM `cell` from `input` to `hidden` features under `p`; panics
    /// with [`TreeLstm::f_new`]'s message on a configuration it refuses.
    pub fn new<'a, P: Borrow<nn::Path<'a>>>(p: P, cell: TreeCell, input: i64, hidden: i64) -> TreeLstm {
        Self::f_new(p, cell, input, hidden).unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`TreeLstm::new`], or [`SeqError::Config`] for sizes below 1 or an
    /// N-ary cell with `N = 0`.
    pub fn f_new<'a, P: Borrow<nn::Path<'a>>>(
        p: P,
        cell: TreeCell,
        input: i64,
        hidden: i64,
    ) -> Result<TreeLstm> {
        let p = p.borrow();
        if input < 1 || hidden < 1 || cell == TreeCell::NAry(0) {
            return Err(SeqError::Config(format!(
                "Tree-LSTM: input {input} and hidden {hidden} must be >= 1, and N >= 1 for an N-ary cell ({cell:?})"
            )));
        }
        // PyTorch's LSTM initialisation: U(-1/sqrt(H), 1/sqrt(H)) everywhere.
        let k = 1.0 / (hidden as f64).sqrt();
        let init = nn::Init::Uniform { lo: -k, up: k };
        let (rows, cols) = match cell {
            TreeCell::ChildSum => (4 * hidden, hidden),
            TreeCell::NAry(n) => ((3 + n as i64) * hidden, n as i64 * hidden),
        };
        Ok(TreeLstm {
            cell,
            input,
            hidden,
            w_ih: p.var("weight_ih", &[4 * hidden, input], init),
            w_hh: p.var("weight_hh", &[rows, cols], init),
            b_ih: p.var("bias_ih", &[4 * hidden], init),
            b_hh: p.var("bias_hh", &[rows], init),
        })
    }

    /// A Child-Sum Tree-LSTM from `input` to `hidden` features.
    pub fn child_sum<'a, P: Borrow<nn::Path<'a>>>(p: P, input: i64, hidden: i64) -> TreeLstm {
        Self::new(p, TreeCell::ChildSum, input, hidden)
    }

    /// An N-ary Tree-LSTM with `n >= 1` ordered child slots (`n = 2` for binarised
    /// constituency trees); panics for `n = 0`.
    pub fn n_ary<'a, P: Borrow<nn::Path<'a>>>(p: P, input: i64, hidden: i64, n: usize) -> TreeLstm {
        Self::new(p, TreeCell::NAry(n), input, hidden)
    }

    /// The cell.
    pub fn cell(&self) -> TreeCell {
        self.cell
    }

    /// Hidden units.
    pub fn hidden_size(&self) -> i64 {
        self.hidden
    }

    /// The layer's name in error messages.
    fn layer(&self) -> &'static str {
        match self.cell {
            TreeCell::ChildSum => "ChildSumTreeLstm",
            TreeCell::NAry(_) => "NAryTreeLstm",
        }
    }

    fn check_x(&self, x: &Tensor, num_nodes: i64) -> Result<()> {
        let mismatch = if x.size() != [num_nodes, self.input] {
            Mismatch::Shape {
                expected: format!("[num_nodes={num_nodes}, {}]", self.input),
                got: x.size(),
            }
        } else if x.kind() != self.w_ih.kind() {
            Mismatch::Kind {
                expected: self.w_ih.kind(),
                got: x.kind(),
            }
        } else if x.device() != self.w_ih.device() {
            Mismatch::Device {
                expected: self.w_ih.device(),
                got: x.device(),
            }
        } else {
            return Ok(());
        };
        Err(SeqError::Input(InputError {
            layer: self.layer().into(),
            what: "node inputs x".into(),
            mismatch,
        }))
    }

    /// The cell on a group of `n` nodes: `xw = W_ih x + b_ih` (`[n, 4H]`) and
    /// their children's states. Returns `(h, c)`, `[n, H]` each.
    fn step(&self, xw: &Tensor, kids: Kids) -> (Tensor, Tensor) {
        let hd = self.hidden;
        let n = xw.size()[0];
        let x = xw.chunk(4, -1); // i, f, g, o
        match kids {
            Kids::Sum { h, c, parent } => {
                let h_sum = Tensor::zeros([n, hd], (h.kind(), h.device())).index_add(0, parent, &h);
                let hw = h_sum.linear(&self.w_hh, Some(&self.b_hh)).chunk(4, -1);
                let i = (&x[0] + &hw[0]).sigmoid();
                let g = (&x[2] + &hw[2]).tanh();
                let o = (&x[3] + &hw[3]).sigmoid();
                // One forget gate per child, from the child's own state.
                let w_f = self.w_hh.narrow(0, hd, hd);
                let b_f = self.b_hh.narrow(0, hd, hd);
                let f = (x[1].index_select(0, parent) + h.linear(&w_f, Some(&b_f))).sigmoid();
                let fc = Tensor::zeros([n, hd], (c.kind(), c.device())).index_add(0, parent, &(f * c));
                let c_new = i * g + fc;
                let h_new = o * c_new.tanh();
                (h_new, c_new)
            }
            Kids::Slots { h, c } => {
                let slots = h.len() as i64;
                let hw = Tensor::cat(&h, -1).linear(&self.w_hh, Some(&self.b_hh));
                let hw = hw.split_with_sizes([hd, slots * hd, hd, hd], -1); // i, f_1..f_N, g, o
                let i = (&x[0] + &hw[0]).sigmoid();
                let g = (&x[2] + &hw[2]).tanh();
                let o = (&x[3] + &hw[3]).sigmoid();
                let f = (x[1].repeat([1, slots]) + &hw[1]).sigmoid();
                let fc = (f * Tensor::cat(&c, -1))
                    .view([n, slots, hd])
                    .sum_dim_intlist(1, false, None);
                let c_new = i * g + fc;
                let h_new = o * c_new.tanh();
                (h_new, c_new)
            }
        }
    }

    /// [`TreeLstm::f_forward`], panicking with its message on bad input.
    pub fn forward(&self, x: &Tensor, plan: &LevelPlan) -> TreeState {
        self.f_forward(x, plan).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Level-batched forward pass over every tree of a plan: one step per level
    /// for all nodes of that height. `x` is `[num_nodes, input]` in node order.
    pub fn f_forward(&self, x: &Tensor, plan: &LevelPlan) -> Result<TreeState> {
        self.check_x(x, plan.num_nodes)?;
        if let TreeCell::NAry(n) = self.cell {
            if plan.levels.iter().any(|l| l.slot_rows.len() != n) {
                return Err(SeqError::Config(format!(
                    "an {n}-ary Tree-LSTM needs a plan with {n} child slots (Schedule::plan(_, Some({n})))"
                )));
            }
        }
        let xw = x.linear(&self.w_ih, Some(&self.b_ih));
        // Row 0: the zero state of an absent child; then each level's states in order.
        let zero = Tensor::zeros([1, self.hidden], (x.kind(), x.device()));
        let (mut hs, mut cs) = (vec![zero.shallow_clone()], vec![zero]);
        let (mut h_buf, mut c_buf) = (hs[0].shallow_clone(), cs[0].shallow_clone());
        for level in &plan.levels {
            let kids = match self.cell {
                TreeCell::ChildSum => Kids::Sum {
                    h: h_buf.index_select(0, &level.child_rows),
                    c: c_buf.index_select(0, &level.child_rows),
                    parent: &level.child_parent,
                },
                TreeCell::NAry(_) => Kids::Slots {
                    h: level.slot_rows.iter().map(|r| h_buf.index_select(0, r)).collect(),
                    c: level.slot_rows.iter().map(|r| c_buf.index_select(0, r)).collect(),
                },
            };
            let (h, c) = self.step(&xw.index_select(0, &level.nodes), kids);
            hs.push(h);
            cs.push(c);
            // The finished levels as one buffer the next level gathers from.
            h_buf = Tensor::cat(&hs, 0);
            c_buf = Tensor::cat(&cs, 0);
        }
        Ok(TreeState {
            h: h_buf.index_select(0, &plan.rows),
            c: c_buf.index_select(0, &plan.rows),
        })
    }

    /// The straightforward reference: a recursion over each tree that computes one
    /// node at a time with the same cell (children first). Same result as
    /// [`TreeLstm::f_forward`]; it exists to check and to measure the batching.
    pub fn f_forward_node_by_node(&self, x: &Tensor, schedule: &Schedule) -> Result<TreeState> {
        let n = schedule.num_nodes();
        self.check_x(x, n as i64)?;
        let mut is_child = vec![false; n];
        for v in 0..n {
            for &c in schedule.children(v) {
                is_child[c] = true;
            }
        }
        let mut states: Vec<Option<(Tensor, Tensor)>> = (0..n).map(|_| None).collect();
        for root in (0..n).filter(|&v| !is_child[v]) {
            self.recurse(root, x, schedule, &mut states)?;
        }
        let (h, c): (Vec<Tensor>, Vec<Tensor>) = states
            .into_iter()
            .map(|s| s.expect("every node is below a root"))
            .unzip();
        Ok(TreeState {
            h: Tensor::cat(&h, 0),
            c: Tensor::cat(&c, 0),
        })
    }

    fn recurse(
        &self,
        v: usize,
        x: &Tensor,
        schedule: &Schedule,
        states: &mut Vec<Option<(Tensor, Tensor)>>,
    ) -> Result<()> {
        let kids = schedule.children(v);
        for &c in kids {
            if states[c].is_none() {
                self.recurse(c, x, schedule, states)?;
            }
        }
        let xw = x.narrow(0, v as i64, 1).linear(&self.w_ih, Some(&self.b_ih));
        let get = |c: usize, which: usize| {
            let s = states[c].as_ref().expect("child done");
            if which == 0 {
                s.0.shallow_clone()
            } else {
                s.1.shallow_clone()
            }
        };
        let zero = || Tensor::zeros([1, self.hidden], (x.kind(), x.device()));
        let (h, c) = match self.cell {
            TreeCell::ChildSum => {
                let parent = Tensor::zeros([kids.len() as i64], (Kind::Int64, x.device()));
                let (h, c) = if kids.is_empty() {
                    let e = Tensor::zeros([0, self.hidden], (x.kind(), x.device()));
                    (e.shallow_clone(), e)
                } else {
                    let h: Vec<Tensor> = kids.iter().map(|&c| get(c, 0)).collect();
                    let c: Vec<Tensor> = kids.iter().map(|&c| get(c, 1)).collect();
                    (Tensor::cat(&h, 0), Tensor::cat(&c, 0))
                };
                self.step(
                    &xw,
                    Kids::Sum {
                        h,
                        c,
                        parent: &parent,
                    },
                )
            }
            TreeCell::NAry(slots) => {
                if kids.len() > slots {
                    return Err(SeqError::Config(format!(
                        "node {v} has {} children, the N-ary cell takes at most {slots}",
                        kids.len()
                    )));
                }
                let pick = |k: usize, which: usize| kids.get(k).map_or_else(zero, |&c| get(c, which));
                let h = (0..slots).map(|k| pick(k, 0)).collect();
                let c = (0..slots).map(|k| pick(k, 1)).collect();
                self.step(&xw, Kids::Slots { h, c })
            }
        };
        states[v] = Some((h, c));
        Ok(())
    }
}
