//! Bad input gives a typed error naming the file (and the line or record
//! where it applies), never a panic or silently wrong data.

use std::path::{Path, PathBuf};

use graph_data::fetch::{sha256_file, verify, Fetcher};
use graph_data::{npy, pickle, tabular, ts, DataError};

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn real(name: &str, file: &str) -> PathBuf {
    Fetcher::from_env().fetch_named(name).unwrap().join(file)
}

/// The error's text, checked to name the file.
fn message(e: DataError, file: &str) -> String {
    let m = e.to_string();
    assert!(m.contains(file), "error does not name {file}: {m}");
    m
}

#[test]
fn truncated_files_are_reported_as_such() {
    let dir = tempfile::tempdir().unwrap();
    let x = std::fs::read(real("cora", "ind.cora.x")).unwrap();
    for cut in [1, 100, x.len() / 2, x.len() - 1] {
        let p = write(dir.path(), "ind.cora.x", &x[..cut]);
        let m = message(pickle::load(&p).unwrap_err(), "ind.cora.x");
        assert!(
            m.contains("truncated") || m.contains("underflow"),
            "cut at {cut}: {m}"
        );
    }
    let z = std::fs::read(real("cora-npz", "cora.npz")).unwrap();
    let p = write(dir.path(), "cora.npz", &z[..z.len() / 2]);
    message(npy::read_npz(&p).unwrap_err(), "cora.npz");
    let t = std::fs::read_to_string(real("japanese-vowels", "JapaneseVowels_TRAIN.ts")).unwrap();
    // Cut inside a case: its last line loses its class label or channels.
    let p = write(dir.path(), "jv.ts", &t.as_bytes()[..t.len() - 200]);
    let m = message(ts::read(&p).unwrap_err(), "jv.ts");
    assert!(
        m.contains(&format!(":{}:", t.lines().count())),
        "names the last line: {m}"
    );
}

#[test]
fn wrong_checksum_names_the_file_and_both_digests() {
    let dir = tempfile::tempdir().unwrap();
    let mut y = std::fs::read(real("cora", "ind.cora.y")).unwrap();
    let good = sha256_file(&real("cora", "ind.cora.y")).unwrap();
    y[200] ^= 1;
    let p = write(dir.path(), "ind.cora.y", &y);
    match verify(&p, &good) {
        Err(e @ DataError::Checksum { .. }) => {
            let m = message(e, "ind.cora.y");
            assert!(m.contains(&good), "{m}");
        }
        other => panic!("expected a checksum error, got {other:?}"),
    }
}

#[test]
fn out_of_range_node_ids_name_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "edges.csv", b"source,target\n0,1\n1,2\n2,7\n");
    let m = message(tabular::read_edge_list(&p, Some(3)).unwrap_err(), "edges.csv");
    assert!(m.contains(":4:") && m.contains("node id 7"), "{m}");
    let p = write(dir.path(), "neg.tsv", b"0\t1\n-1\t2\n");
    let m = message(tabular::read_edge_list(&p, None).unwrap_err(), "neg.tsv");
    assert!(m.contains(":2:"), "{m}");
    // A Planetoid graph dict naming node 5000 of a 2708-node graph.
    let folder = tempfile::tempdir().unwrap();
    for part in ["x", "y", "tx", "ty", "allx", "ally", "test.index"] {
        std::fs::copy(
            real("cora", &format!("ind.cora.{part}")),
            folder.path().join(format!("ind.cora.{part}")),
        )
        .unwrap();
    }
    // defaultdict(list, {0: [5000]}) in protocol 2.
    let graph = b"\x80\x02ccollections\ndefaultdict\nc__builtin__\nlist\n\x85R(K\x00]M\x88\x13au.";
    write(folder.path(), "ind.cora.graph", graph);
    let m = message(
        graph_data::planetoid::read_dir(folder.path(), "cora").unwrap_err(),
        "ind.cora.graph",
    );
    assert!(m.contains("5000") && m.contains("entry 1"), "{m}");
}

#[test]
fn inconsistent_widths_name_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "m.csv", b"a,b,c\n1,2,3\n4,5\n");
    let m = message(tabular::read_matrix(&p, true, false).unwrap_err(), "m.csv");
    assert!(m.contains(":3:") && m.contains("2 values, expected 3"), "{m}");
    // .ts: a case whose channels differ in length, and one with a channel too few.
    let head = "@problemName t\n@dimensions 2\n@classLabel true a b\n@data\n";
    let p = write(
        dir.path(),
        "w.ts",
        format!("{head}1,2:3,4:a\n1,2:3:b\n").as_bytes(),
    );
    let m = message(ts::read(&p).unwrap_err(), "w.ts");
    assert!(m.contains(":6:") && m.contains("channel 1 has 1 values"), "{m}");
    let p = write(dir.path(), "c.ts", format!("{head}1,2:3,4:a\n1,2:b\n").as_bytes());
    let m = message(ts::read(&p).unwrap_err(), "c.ts");
    assert!(m.contains(":6:") && m.contains("1 channels, expected 2"), "{m}");
}

#[test]
fn nan_and_junk_values_are_refused_with_their_place() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "f.csv", b"1,2\n3,nan\n");
    let m = message(tabular::read_matrix(&p, false, false).unwrap_err(), "f.csv");
    assert!(m.contains(":2:") && m.contains("column 2"), "{m}");
    let head = "@problemName t\n@classLabel true a b\n@data\n";
    let p = write(dir.path(), "n.ts", format!("{head}1,2,NaN:a\n").as_bytes());
    let m = message(ts::read(&p).unwrap_err(), "n.ts");
    assert!(m.contains(":4:") && m.contains("missing"), "{m}");
    let p = write(dir.path(), "inf.ts", format!("{head}1,inf:a\n").as_bytes());
    assert!(message(ts::read(&p).unwrap_err(), "inf.ts").contains("finite"));
    let p = write(dir.path(), "s.csv", b"t,v\n1,2\n2,abc\n");
    let m = message(graph_data::text::read_series(&p).unwrap_err(), "s.csv");
    assert!(m.contains(":3:"), "{m}");
}

#[test]
fn unknown_pickle_classes_are_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    // What `pickle.dumps(os.system)`-style payloads look like.
    let p = write(
        dir.path(),
        "evil.pkl",
        b"\x80\x02cposix\nsystem\nU\x02idq\x00\x85R.",
    );
    let m = message(pickle::load(&p).unwrap_err(), "evil.pkl");
    assert!(m.contains("posix.system"), "{m}");
    let p = write(dir.path(), "sub.pkl", b"csubprocess\nPopen\n.");
    assert!(message(pickle::load(&p).unwrap_err(), "sub.pkl").contains("subprocess.Popen"));
}

#[test]
fn bad_ts_headers_and_labels_name_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&str, &str, &str); 4] = [
        ("@classLabel true a\n1,2:a\n", ":2:", "before the `@data`"),
        ("@classLabel true a\n@data\n1,2:z\n", ":3:", "`z`"),
        ("@dimensions zero\n", ":1:", "@dimensions"),
        ("@problemName p\n@data\n", ":2:", "@classLabel"),
    ];
    for (text, line, what) in cases {
        let p = write(dir.path(), "h.ts", text.as_bytes());
        let m = message(ts::read(&p).unwrap_err(), "h.ts");
        assert!(m.contains(line) && m.contains(what), "{text:?}: {m}");
    }
}

#[test]
fn npy_object_arrays_and_bad_headers_are_refused() {
    let npy = |header: &str, data: &[u8]| {
        let mut b = b"\x93NUMPY\x01\x00".to_vec();
        b.extend_from_slice(&(header.len() as u16).to_le_bytes());
        b.extend_from_slice(header.as_bytes());
        b.extend_from_slice(data);
        b
    };
    let p = Path::new("o.npy");
    let m = npy::parse_npy(
        &npy("{'descr': '|O', 'fortran_order': False, 'shape': (1,), }", b"x"),
        p,
    )
    .unwrap_err()
    .to_string();
    assert!(m.contains("o.npy") && m.contains("object"), "{m}");
    let short = npy(
        "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }",
        &[0; 15],
    );
    assert!(npy::parse_npy(&short, p)
        .unwrap_err()
        .to_string()
        .contains("needs 16 bytes"));
    // Shapes whose byte count overflows, or whose strings take no bytes,
    // are errors rather than overflow panics or huge allocations.
    let huge = "(4611686018427387904, 4611686018427387904)";
    for descr in ["<f8", "<U0", "<U4"] {
        let h = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {huge}, }}");
        assert!(npy::parse_npy(&npy(&h, &[]), p).is_err(), "{descr}");
    }
    // Big-endian and unicode arrays decode.
    let be = npy(
        "{'descr': '>i2', 'fortran_order': False, 'shape': (2,), }",
        &[0, 1, 255, 254],
    );
    let npy::Npy::Numeric(a) = npy::parse_npy(&be, p).unwrap() else {
        panic!()
    };
    assert_eq!(a.to_i64().unwrap(), vec![1, -2]);
    let u = npy(
        "{'descr': '<U2', 'fortran_order': False, 'shape': (2,), }",
        b"a\0\0\0b\0\0\0c\0\0\0\0\0\0\0",
    );
    assert_eq!(
        npy::parse_npy(&u, p).unwrap(),
        npy::Npy::Strings {
            shape: vec![2],
            values: vec!["ab".into(), "c".into()]
        }
    );
}

/// A small TU data set in a folder: two graphs (nodes 1-2 and 3-4), with the
/// named files replaced.
fn tu_files(dir: &Path, replace: &[(&str, &str)]) {
    let mut files = vec![
        ("A", "1, 2\n2, 1\n3,4\n4, 3\n"),
        ("graph_indicator", "1\n1\n2\n2\n"),
        ("graph_labels", "1\n-1\n"),
        ("node_labels", "0\n1\n1\n0\n"),
        ("edge_labels", "0\n0\n1\n1\n"),
        ("node_attributes", " 1.5, 2.0\n 3.0,  4.0\n5,6\n7,8\n"),
    ];
    for (k, v) in replace {
        files.iter_mut().find(|f| f.0 == *k).unwrap().1 = v;
    }
    for (k, v) in files {
        write(dir, &format!("T_{k}.txt"), v.as_bytes());
    }
}

#[test]
fn inconsistent_tu_files_name_the_file_and_line() {
    use graph_data::tu::{read_dir, TuOptions};
    let dir = tempfile::tempdir().unwrap();
    let opts = TuOptions { use_node_attr: true };
    tu_files(dir.path(), &[]);
    let d = read_dir(dir.path(), "T", opts).unwrap();
    assert_eq!(
        (d.graphs.len(), d.num_node_features, d.num_edge_features),
        (2, 4, 2)
    );
    assert_eq!(&d.graphs[0].x, &[1.5, 2.0, 1.0, 0.0, 3.0, 4.0, 0.0, 1.0]);
    assert_eq!((d.graphs[0].y, d.graphs[1].y), (1, 0));
    for (replace, file, needle) in [
        (("A", "1, 2\n2, 9\n"), "T_A.txt", ":2: node id 9 out of range"),
        (("A", "1, 2\n0, 1\n"), "T_A.txt", ":2: node id 0 out of range"),
        (
            ("A", "1, 2\n2, 3\n"),
            "T_A.txt",
            ":2: edge 2 - 3 joins graph 1 and graph 2",
        ),
        (("A", "1 2\n"), "T_A.txt", ":1: `1 2` is not `u, v`"),
        (("A", "1, x\n"), "T_A.txt", ":1: `x` is not an integer"),
        (
            ("graph_indicator", "1\n1\n2\n"),
            "T_node_labels.txt",
            "graph indicator",
        ),
        (
            ("graph_indicator", "1\n2\n1\n2\n"),
            "T_graph_indicator.txt",
            ":3: graph id 1 after 2",
        ),
        (
            ("graph_indicator", "1\n1\n2\n3\n"),
            "T_graph_indicator.txt",
            ":4: graph id 3 out of range",
        ),
        (("edge_labels", "0\n0\n1\n"), "T_edge_labels.txt", "3 edge labels"),
        (
            ("node_attributes", "1,2\n3,4\n5\n7,8\n"),
            "T_node_attributes.txt",
            ":3: 1 fields",
        ),
        (
            ("node_attributes", "1,2\n3,4\n5,z\n7,8\n"),
            "T_node_attributes.txt",
            ":3: `z` is not a number",
        ),
    ] {
        let d = tempfile::tempdir().unwrap();
        tu_files(d.path(), &[replace]);
        let m = message(read_dir(d.path(), "T", opts).unwrap_err(), file);
        assert!(m.contains(needle), "{replace:?}: {m}");
    }
    // A missing file is named.
    let d = tempfile::tempdir().unwrap();
    tu_files(d.path(), &[]);
    std::fs::remove_file(d.path().join("T_graph_labels.txt")).unwrap();
    message(read_dir(d.path(), "T", opts).unwrap_err(), "T_graph_labels.txt");
}
