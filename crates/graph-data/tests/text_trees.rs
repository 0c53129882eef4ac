//! PTB (SST) and CoNLL-U (UD English EWT) loaders on the real files, checked
//! against the facts in the data mirror's README, and their bad-input errors.

use graph_data::conllu::{self, UPOS};
use graph_data::fetch::Fetcher;
use graph_data::ptb::{self, binary_label, parse_tree};
use graph_data::tree::{EdgeOptions, Tree};

#[test]
fn sst_has_the_standard_splits_and_binarised_trees() {
    let sst = ptb::load_sst(&Fetcher::from_env()).unwrap();
    assert_eq!(
        (sst.train.len(), sst.dev.len(), sst.test.len()),
        (8544, 1101, 2210)
    );
    let binary = |s: &[ptb::PtbTree]| {
        s.iter()
            .filter(|t| binary_label(t.root_label()).is_some())
            .count()
    };
    assert_eq!(
        (binary(&sst.train), binary(&sst.dev), binary(&sst.test)),
        (6920, 872, 1821)
    );
    for t in sst.train.iter().chain(&sst.dev).chain(&sst.test) {
        let n = t.sentence().len();
        // Binarised: n leaves, n - 1 inner nodes with exactly two children each.
        assert_eq!(t.len(), 2 * n - 1);
        for v in 0..t.len() {
            assert!(matches!(t.tree.children(v).len(), 0 | 2));
            assert_eq!(t.tree.children(v).is_empty(), t.words[v].is_some());
        }
        // The levels cover every node once, each after its children.
        let levels = t.tree.levels();
        let h = t.tree.heights();
        assert_eq!(levels.iter().map(Vec::len).sum::<usize>(), t.len());
        assert_eq!(*levels.last().unwrap(), vec![t.tree.root()]);
        for (v, p) in t.tree.parents().iter().enumerate() {
            if let Some(p) = p {
                assert!(h[*p] > h[v]);
            }
        }
    }
    let first = &sst.train[0];
    assert_eq!(first.root_label(), 3);
    assert_eq!(first.sentence()[..4], ["The", "Rock", "is", "destined"]);
}

#[test]
fn ewt_dev_and_test_skip_multiword_and_empty_nodes() {
    let ewt = conllu::load_ewt(&Fetcher::from_env()).unwrap();
    assert_eq!((ewt.dev.len(), ewt.test.len()), (2001, 2077));
    let first = &ewt.dev[0];
    assert_eq!(first.forms, ["From", "the", "AP", "comes", "this", "story", ":"]);
    assert_eq!(first.tree.root(), 3); // "comes", token 4
    assert_eq!(first.tree.children(3), &[2, 5, 6]);
    assert_eq!(UPOS[first.upos[3] as usize], "VERB");
    // The files do contain multiword tokens and empty nodes; none became a token.
    let dir = Fetcher::from_env().fetch_named("ud-english-ewt").unwrap();
    let raw = std::fs::read_to_string(dir.join("en_ewt-ud-dev.conllu")).unwrap();
    let ids = raw
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| l.split('\t').next().unwrap());
    let (mut words, mut multi, mut empty) = (0, 0, 0);
    for id in ids {
        match (id.contains('-'), id.contains('.')) {
            (true, _) => multi += 1,
            (_, true) => empty += 1,
            _ => words += 1,
        }
    }
    assert!(multi > 0 && empty > 0, "{multi} multiword, {empty} empty");
    assert_eq!(ewt.dev.iter().map(|s| s.len()).sum::<usize>(), words);
    for s in ewt.dev.iter().chain(&ewt.test) {
        assert_eq!(s.tree.len(), s.len());
        assert_eq!(s.deprel[s.tree.root()], "root");
    }
}

#[test]
fn bad_brackets_and_labels_are_reported_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("(3 (2 a) (2 b)", "unbalanced"),
        ("(3 (2 a) (2 b)))", "unbalanced `)`"),
        ("(3 (9 a) (2 b))", "label `9`"),
        ("(3 (2 a) (2 b)) (2 c)", "second tree"),
        ("(3 word (2 b))", "both a word and children"),
        ("(3 ())", "not followed by a label"),
    ];
    for (text, want) in cases {
        let path = dir.path().join("bad.txt");
        std::fs::write(&path, format!("(2 (2 ok) (2 fine))\n{text}\n")).unwrap();
        let err = ptb::read(&path).unwrap_err().to_string();
        assert!(err.contains("bad.txt:2:") && err.contains(want), "{text}: {err}");
    }
    assert!(parse_tree("(2 (2 ok) (2 fine))").is_ok());
}

#[test]
fn bad_heads_and_cycles_are_reported_with_file_and_line() {
    let row = |id: &str, head: &str| format!("{id}\tw\tw\tNOUN\t_\t_\t{head}\tdep\t_\t_\n");
    let cases = [
        (row("1", "0") + &row("2", "5"), "head 5"),
        (row("1", "2") + &row("2", "1"), "no root"),
        (row("1", "0") + &row("2", "3") + &row("3", "2"), "cycle"),
        (row("1", "0") + &row("2", "0"), "2 roots"),
        (row("1", "x"), "head `x`"),
        (
            "1\tw\tw\tNOPE\t_\t_\t0\troot\t_\t_\n".to_string(),
            "not a UPOS tag",
        ),
    ];
    for (text, want) in cases {
        let err = conllu::parse(&format!("# c\n{text}\n"), "bad.conllu".as_ref())
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("bad.conllu:2:") && err.contains(want),
            "{want}: {err}"
        );
    }
    let err = conllu::parse(&(row("1", "0") + &row("3", "1")), "bad.conllu".as_ref()).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("bad.conllu:2: token ID 3, expected 2"),
        "{err}"
    );
}

#[test]
fn a_tree_is_a_graph_with_optional_reverse_edges_and_self_loops() {
    let t = Tree::chain(4).unwrap();
    assert_eq!(t.levels(), vec![vec![0], vec![1], vec![2], vec![3]]);
    let e = t.edges(EdgeOptions {
        reverse: true,
        self_loops: true,
    });
    assert_eq!(e.len(), 3 + 3 + 4);
    assert_eq!(&e.src[..6], &[0, 1, 2, 1, 2, 3]);
    assert_eq!(&e.dst[..6], &[1, 2, 3, 0, 1, 2]);
    assert!(Tree::from_parents(&[None, Some(7)])
        .unwrap_err()
        .to_string()
        .contains("outside 0..2"));
}
