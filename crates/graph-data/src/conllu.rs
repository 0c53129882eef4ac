//! CoNLL-U dependency treebanks (Universal Dependencies): one token a line,
//! ten tab-separated columns `ID FORM LEMMA UPOS XPOS FEATS HEAD DEPREL DEPS
//! MISC`, `#` comments, a blank line after each sentence. As the format says,
//! multiword-token lines (`ID` a range such as `1-2`) and empty nodes (`ID` a
//! decimal such as `8.1`) are not part of the basic tree and are skipped.
//!
//! ```
//! use graph_data::conllu::parse;
//! let text = "# text = I saw it\n\
//!     1\tI\tI\tPRON\t_\t_\t2\tnsubj\t_\t_\n\
//!     2\tsaw\tsee\tVERB\t_\t_\t0\troot\t_\t_\n\
//!     2.1\tgot\tget\tVERB\t_\t_\t_\t_\t2:conj\t_\n\
//!     3\tit\tit\tPRON\t_\t_\t2\tobj\t_\t_\n\n";
//! let s = parse(text, "example".as_ref()).unwrap();
//! assert_eq!(s[0].forms, ["I", "saw", "it"]);
//! assert_eq!(s[0].tree.root(), 1);
//! assert_eq!(s[0].tree.children(1), &[0, 2]);
//! ```

use std::path::Path;

use crate::error::{DataError, Result};
use crate::fetch::Fetcher;
use crate::tree::Tree;

/// The 17 universal part-of-speech tags, in the order the UD guidelines list them.
pub const UPOS: [&str; 17] = [
    "ADJ", "ADP", "ADV", "AUX", "CCONJ", "DET", "INTJ", "NOUN", "NUM", "PART", "PRON", "PROPN", "PUNCT",
    "SCONJ", "SYM", "VERB", "X",
];

/// Index of a UPOS tag in [`UPOS`].
pub fn upos_index(tag: &str) -> Option<usize> {
    UPOS.iter().position(|&t| t == tag)
}

/// One sentence: its tokens (node `i` is the token with ID `i + 1`) and its
/// dependency tree (each token's parent is its head; the root's head is 0).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sentence {
    /// Word forms.
    pub forms: Vec<String>,
    /// UPOS tag of each token (an index into [`UPOS`]).
    pub upos: Vec<u8>,
    /// Dependency relation of each token to its head.
    pub deprel: Vec<String>,
    /// The dependency tree.
    pub tree: Tree,
    /// 1-based line of the sentence's first token in its file.
    pub line: usize,
}

impl Sentence {
    /// Number of tokens.
    pub fn len(&self) -> usize {
        self.forms.len()
    }

    /// Always false: a sentence has at least one token.
    pub fn is_empty(&self) -> bool {
        self.forms.is_empty()
    }
}

/// Parses CoNLL-U text; `path` names the source in errors (with the line).
pub fn parse(text: &str, path: &Path) -> Result<Vec<Sentence>> {
    let mut out = Vec::new();
    let mut cur = Partial::default();
    let err = |line: usize, m: String| DataError::parse(path, Some(line), m);
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let l = raw.trim_end_matches('\r');
        if l.trim().is_empty() {
            if !cur.forms.is_empty() {
                out.push(cur.finish().map_err(|m| err(cur.line, m))?);
            }
            cur = Partial::default();
            continue;
        }
        if l.starts_with('#') {
            continue;
        }
        let cols: Vec<&str> = l.split('\t').collect();
        if cols.len() != 10 {
            return Err(err(
                line,
                format!("{} tab-separated columns, expected 10", cols.len()),
            ));
        }
        let id = cols[0];
        if id.contains('-') || id.contains('.') {
            continue; // multiword token or empty node: outside the basic tree
        }
        let id: usize = id
            .parse()
            .map_err(|_| err(line, format!("token ID `{id}` is not a number")))?;
        if id != cur.forms.len() + 1 {
            return Err(err(
                line,
                format!("token ID {id}, expected {}", cur.forms.len() + 1),
            ));
        }
        if cur.forms.is_empty() {
            cur.line = line;
        }
        let upos =
            upos_index(cols[3]).ok_or_else(|| err(line, format!("`{}` is not a UPOS tag", cols[3])))?;
        let head: usize = cols[6]
            .parse()
            .map_err(|_| err(line, format!("head `{}` is not a number", cols[6])))?;
        cur.forms.push(cols[1].to_string());
        cur.upos.push(upos as u8);
        cur.heads.push((head, line));
        cur.deprel.push(cols[7].to_string());
    }
    if !cur.forms.is_empty() {
        out.push(cur.finish().map_err(|m| err(cur.line, m))?);
    }
    Ok(out)
}

#[derive(Default)]
struct Partial {
    forms: Vec<String>,
    upos: Vec<u8>,
    heads: Vec<(usize, usize)>,
    deprel: Vec<String>,
    line: usize,
}

impl Partial {
    fn finish(&self) -> std::result::Result<Sentence, String> {
        let n = self.forms.len();
        let mut parents = Vec::with_capacity(n);
        for (i, &(h, line)) in self.heads.iter().enumerate() {
            if h > n {
                return Err(format!(
                    "token {} (line {line}) has head {h}, but the sentence has {n} tokens",
                    i + 1
                ));
            }
            parents.push(h.checked_sub(1));
        }
        let tree = Tree::from_parents(&parents)
            .map_err(|e| format!("sentence starting here: {e} (node i is token i + 1)"))?;
        Ok(Sentence {
            forms: self.forms.clone(),
            upos: self.upos.clone(),
            deprel: self.deprel.clone(),
            tree,
            line: self.line,
        })
    }
}

/// Reads a CoNLL-U file.
pub fn read(path: &Path) -> Result<Vec<Sentence>> {
    let text = std::fs::read_to_string(path).map_err(|e| DataError::io(path, e))?;
    parse(&text, path)
}

/// The UD English EWT parts mirrored here (the train part is not).
#[derive(Debug, Clone)]
pub struct Ewt {
    /// 2001 sentences.
    pub dev: Vec<Sentence>,
    /// 2077 sentences.
    pub test: Vec<Sentence>,
}

/// Loads UD English EWT dev and test through the fetcher (data set `ud-english-ewt`).
pub fn load_ewt(fetcher: &Fetcher) -> Result<Ewt> {
    let dir = fetcher.fetch_named("ud-english-ewt")?;
    Ok(Ewt {
        dev: read(&dir.join("en_ewt-ud-dev.conllu"))?,
        test: read(&dir.join("en_ewt-ud-test.conllu"))?,
    })
}
