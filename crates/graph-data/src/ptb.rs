//! Penn Treebank bracket trees with a sentiment label 0-4 on every node, as the
//! Stanford Sentiment Treebank ships them: one tree a line,
//! `(3 (2 It) (4 (2 's) (4 good)))`. A bracket with a word is a leaf; every
//! other bracket has one or more bracketed children.
//!
//! Nodes are numbered in pre-order (a parent before its children, children
//! left to right), so the leaves in id order are the sentence's words.
//!
//! ```
//! use graph_data::ptb::parse_tree;
//! let t = parse_tree("(3 (2 It) (4 (2 's) (4 good)))").unwrap();
//! assert_eq!(t.len(), 5);
//! assert_eq!(t.root_label(), 3);
//! assert_eq!(t.sentence(), vec!["It", "'s", "good"]);
//! assert_eq!(t.tree.children(2), &[3, 4]);
//! assert!(parse_tree("(3 (2 It) (4 good)").is_err()); // unbalanced
//! assert!(parse_tree("(7 good)").is_err()); // label outside 0-4
//! ```

use std::path::{Path, PathBuf};

use crate::error::{DataError, Result};
use crate::fetch::Fetcher;
use crate::tree::Tree;

/// A bracketed tree: its shape, a label per node and a word per leaf.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PtbTree {
    /// The shape (nodes in pre-order).
    pub tree: Tree,
    /// The 0-4 label of every node.
    pub labels: Vec<u8>,
    /// The word of every leaf, `None` for inner nodes.
    pub words: Vec<Option<String>>,
}

impl PtbTree {
    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Always false.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The label of the whole sentence.
    pub fn root_label(&self) -> u8 {
        self.labels[self.tree.root()]
    }

    /// The words, left to right.
    pub fn sentence(&self) -> Vec<&str> {
        self.words.iter().filter_map(|w| w.as_deref()).collect()
    }
}

/// The binary sentiment of a 0-4 label: 0 for 0-1 (negative), 1 for 3-4
/// (positive), `None` for the neutral 2 (dropped by the binary task).
pub fn binary_label(label: u8) -> Option<u8> {
    match label {
        0 | 1 => Some(0),
        3 | 4 => Some(1),
        _ => None,
    }
}

#[derive(Debug, PartialEq)]
enum Token<'a> {
    Open(usize),
    Close(usize),
    Atom(usize, &'a str),
}

fn tokens(s: &str) -> Vec<Token<'_>> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in s.char_indices() {
        // ASCII whitespace only: SST has words with a no-break space (`8\u{a0}1\/2`).
        if c == '(' || c == ')' || c.is_ascii_whitespace() {
            if let Some(b) = start.take() {
                out.push(Token::Atom(b, &s[b..i]));
            }
            match c {
                '(' => out.push(Token::Open(i)),
                ')' => out.push(Token::Close(i)),
                _ => {}
            }
        } else if start.is_none() {
            start = Some(i);
        }
    }
    if let Some(b) = start {
        out.push(Token::Atom(b, &s[b..]));
    }
    out
}

/// Parses one bracketed tree. The error says what is wrong and at which byte
/// column (1-based).
pub fn parse_tree(line: &str) -> std::result::Result<PtbTree, String> {
    let toks = tokens(line);
    let mut parents: Vec<Option<usize>> = Vec::new();
    let mut labels = Vec::new();
    let mut words: Vec<Option<String>> = Vec::new();
    // Open brackets: (node id, number of bracketed children so far).
    let mut stack: Vec<(usize, usize)> = Vec::new();
    let mut i = 0;
    let col = |b: usize| b + 1;
    while i < toks.len() {
        match toks[i] {
            Token::Open(b) => {
                if stack.is_empty() && !parents.is_empty() {
                    return Err(format!("column {}: a second tree after the root closed", col(b)));
                }
                let label = match toks.get(i + 1) {
                    Some(Token::Atom(lb, l)) => l
                        .parse::<u8>()
                        .ok()
                        .filter(|&x| x <= 4)
                        .ok_or_else(|| format!("column {}: label `{l}` is not one of 0-4", col(*lb)))?,
                    _ => return Err(format!("column {}: `(` not followed by a label", col(b))),
                };
                let id = labels.len();
                parents.push(stack.last().map(|&(p, _)| p));
                if let Some(top) = stack.last_mut() {
                    if words[top.0].is_some() {
                        return Err(format!("column {}: a node has both a word and children", col(b)));
                    }
                    top.1 += 1;
                }
                labels.push(label);
                words.push(None);
                stack.push((id, 0));
                i += 2;
            }
            Token::Atom(b, w) => {
                let Some(top) = stack.last() else {
                    return Err(format!("column {}: word `{w}` outside brackets", col(b)));
                };
                if top.1 > 0 || words[top.0].is_some() {
                    return Err(format!(
                        "column {}: word `{w}` where a bracket or `)` was expected",
                        col(b)
                    ));
                }
                words[top.0] = Some(w.to_string());
                i += 1;
            }
            Token::Close(b) => {
                let Some((id, kids)) = stack.pop() else {
                    return Err(format!("column {}: unbalanced `)`", col(b)));
                };
                if kids == 0 && words[id].is_none() {
                    return Err(format!("column {}: empty node (no word, no children)", col(b)));
                }
                i += 1;
            }
        }
    }
    if !stack.is_empty() {
        return Err(format!(
            "unbalanced brackets: {} `(` not closed at end of line",
            stack.len()
        ));
    }
    if labels.is_empty() {
        return Err("no tree on the line".into());
    }
    let tree = Tree::from_parents(&parents).map_err(|e| e.to_string())?;
    Ok(PtbTree { tree, labels, words })
}

/// Reads a file of one tree a line (blank lines skipped). Errors name the file
/// and line.
pub fn read(path: &Path) -> Result<Vec<PtbTree>> {
    let text = std::fs::read_to_string(path).map_err(|e| DataError::io(path, e))?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| parse_tree(l).map_err(|m| DataError::parse(path, Some(i + 1), m)))
        .collect()
}

/// The Stanford Sentiment Treebank's standard splits.
#[derive(Debug, Clone)]
pub struct Sst {
    /// 8544 trees.
    pub train: Vec<PtbTree>,
    /// 1101 trees.
    pub dev: Vec<PtbTree>,
    /// 2210 trees.
    pub test: Vec<PtbTree>,
}

/// Loads SST (`train.txt`, `dev.txt`, `test.txt`) through the fetcher
/// (data set `sst`).
pub fn load_sst(fetcher: &Fetcher) -> Result<Sst> {
    let dir: PathBuf = fetcher.fetch_named("sst")?;
    Ok(Sst {
        train: read(&dir.join("train.txt"))?,
        dev: read(&dir.join("dev.txt"))?,
        test: read(&dir.join("test.txt"))?,
    })
}
