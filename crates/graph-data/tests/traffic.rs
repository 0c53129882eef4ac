//! METR-LA / PEMS-BAY loaders on small files of the same layouts, written
//! here: DCRNN's `adj_mx.pkl` (a Python 2 protocol-0 pickle of `[ids,
//! id_to_ind, adj_mx]`), PyG Temporal's `adj_mat.npy` / `node_values.npy`,
//! zipped and extracted. The real files are not in the mirror.

use std::io::Write;
use std::path::{Path, PathBuf};

use graph_data::traffic::{load, read_adj_mx};
use graph_data::DataError;

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

/// A protocol-0 string literal as Python 2 writes it.
fn lit(b: &[u8]) -> String {
    let mut s = String::from("S'");
    for &c in b {
        s.push_str(&format!("\\x{c:02x}"));
    }
    s.push_str("'\n");
    s
}

/// DCRNN's layout: `pickle.dump([ids, id_to_ind, adj], f)` in Python 2,
/// with `map` as the dict's (id, index) pairs and `adj` little-endian `code`.
fn adj_mx_pickle(ids: &[&str], map: &[(&str, i64)], n: usize, code: &str, data: &[u8]) -> Vec<u8> {
    let mut s = String::from("(lp0\n(lp1\n");
    for id in ids {
        s.push_str(&format!("S'{id}'\na"));
    }
    s.push_str("a(dp2\n");
    for (id, i) in map {
        s.push_str(&format!("S'{id}'\nI{i}\ns"));
    }
    s.push_str("acnumpy.core.multiarray\n_reconstruct\n(cnumpy\nndarray\n(I0\ntS'b'\ntR");
    s.push_str(&format!(
        "(I1\n(I{n}\nI{n}\ntcnumpy\ndtype\n(S'{code}'\nI0\nI1\ntR"
    ));
    s.push_str("(I3\nS'<'\nNNNI-1\nI-1\nI0\ntbI00\n");
    s.push_str(&lit(data));
    s.push_str("tba.");
    s.into_bytes()
}

fn f32_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn npy(shape: &[usize], v: &[f32]) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let shape = if dims.len() == 1 {
        format!("({},)", dims[0])
    } else {
        format!("({})", dims.join(", "))
    };
    let mut header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {shape}, }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut b = b"\x93NUMPY\x01\x00".to_vec();
    b.extend_from_slice(&(header.len() as u16).to_le_bytes());
    b.extend_from_slice(header.as_bytes());
    b.extend_from_slice(&f32_bytes(v));
    b
}

const ADJ: [f32; 9] = [1.0, 0.5, 0.0, 0.0, 1.0, 0.25, 0.75, 0.0, 1.0];

/// 4 steps x 3 nodes x 2 channels: speeds (one missing reading, 0) and the
/// time of day (5-minute steps from 23:50).
fn node_values() -> Vec<f32> {
    let mut v = Vec::new();
    for t in 0..4 {
        let tod = ((286 + t) % 288) as f32 / 288.0;
        for n in 0..3 {
            let speed = if (t, n) == (2, 1) {
                0.0
            } else {
                60.0 + t as f32 + 10.0 * n as f32
            };
            v.extend_from_slice(&[speed, tod]);
        }
    }
    v
}

#[test]
fn dcrnn_pickle_gives_ids_and_the_adjacency() {
    let dir = tempfile::tempdir().unwrap();
    let ids = ["773869", "767541", "767542"];
    let map = [("773869", 0), ("767541", 1), ("767542", 2)];
    let p = write(
        dir.path(),
        "adj_mx.pkl",
        &adj_mx_pickle(&ids, &map, 3, "f4", &f32_bytes(&ADJ)),
    );
    let a = read_adj_mx(&p).unwrap();
    assert_eq!(a.sensor_ids, ids);
    assert_eq!(a.adjacency, ADJ);
    let e = a.edges().unwrap();
    // 6 non-zero entries, the diagonal's ones kept as self loops.
    assert_eq!(e.len(), 6);
}

#[test]
fn dcrnn_pickle_refuses_anything_but_its_three_parts() {
    let dir = tempfile::tempdir().unwrap();
    let ids = ["a", "b", "c"];
    let good_map = [("a", 0), ("b", 1), ("c", 2)];
    let data = f32_bytes(&ADJ);
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "swapped.pkl",
            adj_mx_pickle(&ids, &[("a", 1), ("b", 0), ("c", 2)], 3, "f4", &data),
            "not its place",
        ),
        (
            "short_map.pkl",
            adj_mx_pickle(&ids, &good_map[..2], 3, "f4", &data),
            "2 entries",
        ),
        (
            "int_array.pkl",
            adj_mx_pickle(&ids, &good_map, 3, "i4", &data),
            "float array",
        ),
        (
            "wrong_size.pkl",
            adj_mx_pickle(&ids[..2], &good_map[..2], 3, "f4", &data),
            "2 x 2",
        ),
        (
            "two_items.pkl",
            b"(lp0\n(lp1\na(dp2\na.".to_vec(),
            "list of 2 items",
        ),
        ("a_dict.pkl", b"(dp0\n.".to_vec(), "found a dict"),
        ("code.pkl", b"cos\nsystem\n(S'echo hi'\ntR.".to_vec(), "os.system"),
    ];
    for (name, bytes, expect) in cases {
        let p = write(dir.path(), name, &bytes);
        let e = read_adj_mx(&p).unwrap_err().to_string();
        assert!(e.contains(name) && e.contains(expect), "{name}: {e}");
    }
    // A negative weight is not an adjacency.
    let mut bad = ADJ;
    bad[1] = -1.0;
    let p = write(
        dir.path(),
        "neg.pkl",
        &adj_mx_pickle(&ids, &good_map, 3, "f4", &f32_bytes(&bad)),
    );
    assert!(read_adj_mx(&p).unwrap_err().to_string().contains("non-negative"));
}

#[test]
fn pgt_layout_zipped_or_extracted_with_either_adjacency() {
    let values = node_values();
    let extracted = tempfile::tempdir().unwrap();
    write(extracted.path(), "node_values.npy", &npy(&[4, 3, 2], &values));
    write(extracted.path(), "adj_mat.npy", &npy(&[3, 3], &ADJ));
    let a = load("metr-la", extracted.path()).unwrap();
    assert_eq!((a.signal.steps, a.signal.nodes(), a.signal.features), (4, 3, 1));
    assert_eq!(a.signal.values[7], 0.0, "a missing reading stays 0");
    assert_eq!(a.signal.values[4], 71.0);
    let tod = a.time_of_day.as_ref().unwrap();
    assert_eq!(tod[2], 0.0, "midnight");
    assert!((tod[0] - 286.0 / 288.0).abs() < 1e-6);
    assert_eq!(a.signal.edges.len(), 6);
    assert!(a.sensor_ids.is_none());

    // The zip PGT downloads, read without extracting it.
    let zipped = tempfile::tempdir().unwrap();
    let f = std::fs::File::create(zipped.path().join("PEMS-BAY.zip")).unwrap();
    let mut z = zip::ZipWriter::new(f);
    let opts = zip::write::FileOptions::default();
    z.start_file("pems_node_values.npy", opts).unwrap();
    z.write_all(&npy(&[4, 3, 2], &values)).unwrap();
    z.start_file("pems_adj_mat.npy", opts).unwrap();
    z.write_all(&npy(&[3, 3], &ADJ)).unwrap();
    z.finish().unwrap();
    let b = load("pems-bay", zipped.path()).unwrap();
    assert_eq!(b.signal, a.signal);
    assert_eq!(b.time_of_day, a.time_of_day);

    // A converted .h5: speeds only, (T, N).
    let speeds_only = tempfile::tempdir().unwrap();
    let speeds: Vec<f32> = values.iter().step_by(2).copied().collect();
    write(speeds_only.path(), "node_values.npy", &npy(&[4, 3], &speeds));
    write(speeds_only.path(), "adj_mat.npy", &npy(&[3, 3], &ADJ));
    let c = load("metr-la", speeds_only.path()).unwrap();
    assert_eq!(c.signal, a.signal);
    assert_eq!(c.time_of_day, None);
}

#[test]
fn a_pickle_beside_the_values_is_checked_against_the_manifest() {
    // The manifest knows DCRNN's adj_mx.pkl: a different file of that name is refused.
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "node_values.npy", &npy(&[4, 3, 2], &node_values()));
    let ids = ["a", "b", "c"];
    let map = [("a", 0), ("b", 1), ("c", 2)];
    write(
        dir.path(),
        "adj_mx.pkl",
        &adj_mx_pickle(&ids, &map, 3, "f4", &f32_bytes(&ADJ)),
    );
    match load("metr-la", dir.path()) {
        Err(DataError::Checksum { .. }) => {}
        other => panic!("expected a checksum error, got {other:?}"),
    }
}

#[test]
fn inconsistent_or_missing_files_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let e = load("metr-la", dir.path()).unwrap_err().to_string();
    assert!(e.contains("node_values.npy") && e.contains("METR-LA.zip"), "{e}");
    write(dir.path(), "node_values.npy", &npy(&[4, 3, 2], &node_values()));
    write(dir.path(), "adj_mat.npy", &npy(&[2, 2], &[1.0, 0.0, 0.0, 1.0]));
    let e = load("metr-la", dir.path()).unwrap_err().to_string();
    assert!(e.contains("2 nodes") && e.contains("3"), "{e}");
    // A time-of-day channel outside [0, 1] is not a time of day.
    let mut v = node_values();
    v[1] = 3.0;
    write(dir.path(), "node_values.npy", &npy(&[4, 3, 2], &v));
    write(dir.path(), "adj_mat.npy", &npy(&[3, 3], &ADJ));
    let e = load("metr-la", dir.path()).unwrap_err().to_string();
    assert!(e.contains("time of day"), "{e}");
    assert!(matches!(
        load("pems-la", dir.path()),
        Err(DataError::UnknownDataset(_))
    ));
}
