//! METR-LA and PEMS-BAY (Li et al. 2018), the traffic-speed benchmarks of
//! DCRNN, Graph WaveNet and STGCN, read from the files their users have. They
//! are not in the mirror and are not downloaded (no checksum is published for
//! the signal files): the user puts them in a folder and names it.
//!
//! Layouts read (the manifest's `[[user_dataset]]` entries list their URLs):
//!
//! - PyG Temporal's `METR-LA.zip` (`adj_mat.npy`, `node_values.npy`) and
//!   `PEMS-BAY.zip` (`pems_adj_mat.npy`, `pems_node_values.npy`), zipped or
//!   extracted: values `(T, N, C)`, channel 0 the speed, channel 1 (when
//!   present) the time of day as a fraction of a day;
//! - DCRNN's sensor graphs `adj_mx.pkl` / `adj_mx_bay.pkl` (a Python 2 pickle
//!   of `[sensor_ids, sensor_id_to_ind, adj_mx]`), read by the restricted
//!   pickle reader and refused unless they hold exactly that: a list of id
//!   strings, a dict from each id to its index, a square float array;
//! - DCRNN's `metr-la.h5` / `pems-bay.h5` (pandas HDF5) are not read: convert
//!   them to `node_values.npy` (`docs/temporal.md` gives the three lines of
//!   Python), which this module then reads. A `(T, N)` array is taken as
//!   speeds only; the time of day then comes from the step index (both files
//!   start at midnight on a regular 5-minute grid).
//!
//! Files with a SHA-256 in the manifest (DCRNN's two pickles) are verified by
//! [`load`]; the others cannot be.

use std::path::{Path, PathBuf};

use crate::edges::EdgeList;
use crate::error::{DataError, Result};
use crate::fetch::{verify, Manifest};
use crate::npy::{read_npy, read_npz, Npy};
use crate::pickle::{self, Value};
use crate::temporal::StaticGraphSignal;

/// Five-minute steps per day.
pub const STEPS_PER_DAY: usize = 288;

/// DCRNN's sensor graph: ids, their index map and the weighted adjacency.
#[derive(Debug, Clone, PartialEq)]
pub struct AdjMx {
    /// Sensor ids, in node order.
    pub sensor_ids: Vec<String>,
    /// The adjacency, `N x N` row-major (`adj[i][j]`: the edge `i -> j`).
    pub adjacency: Vec<f32>,
}

impl AdjMx {
    /// Number of sensors `N`.
    pub fn nodes(&self) -> usize {
        self.sensor_ids.len()
    }

    /// The non-zero entries as weighted directed edges (the diagonal's ones
    /// kept as self loops, as DCRNN's file gives them).
    pub fn edges(&self) -> Result<EdgeList> {
        dense_to_edges(self.nodes(), &self.adjacency)
    }
}

fn dense_to_edges(n: usize, a: &[f32]) -> Result<EdgeList> {
    let (mut src, mut dst, mut w) = (Vec::new(), Vec::new(), Vec::new());
    for (k, &v) in a.iter().enumerate() {
        if v != 0.0 {
            src.push((k / n) as u32);
            dst.push((k % n) as u32);
            w.push(v);
        }
    }
    EdgeList::new(n, src, dst, Some(w))
}

/// Reads DCRNN's `adj_mx.pkl`: a pickled list (or tuple) of exactly the id
/// list, the id-to-index dict and the square float32/float64 adjacency.
/// Anything else (another global, another structure, ids out of order, an
/// integer or object array) is refused with an error naming the part.
pub fn read_adj_mx(path: &Path) -> Result<AdjMx> {
    let err = |m: String| DataError::parse(path, None, format!("adj_mx: {m}"));
    let v = pickle::load(path)?;
    let parts = match &v {
        Value::List(p) | Value::Tuple(p) if p.len() == 3 => p,
        other => {
            return Err(err(format!(
                "expected [sensor_ids, sensor_id_to_ind, adj_mx], found a {}{}",
                other.type_name(),
                match other {
                    Value::List(p) | Value::Tuple(p) => format!(" of {} items", p.len()),
                    _ => String::new(),
                }
            )))
        }
    };
    let ids = match &parts[0] {
        Value::List(items) => items
            .iter()
            .map(|s| {
                s.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| err(format!("sensor_ids holds a {}, expected strings", s.type_name())))
            })
            .collect::<Result<Vec<_>>>()?,
        other => {
            return Err(err(format!(
                "sensor_ids is a {}, expected a list",
                other.type_name()
            )))
        }
    };
    let map = match &parts[1] {
        Value::Dict(items) => items,
        other => {
            return Err(err(format!(
                "sensor_id_to_ind is a {}, expected a dict",
                other.type_name()
            )))
        }
    };
    if map.len() != ids.len() {
        return Err(err(format!(
            "sensor_id_to_ind has {} entries for {} sensor ids",
            map.len(),
            ids.len()
        )));
    }
    for (k, v) in map {
        let (Some(id), Value::Int(i)) = (k.as_str(), v) else {
            return Err(err(format!(
                "sensor_id_to_ind maps a {} to a {}, expected id strings to ints",
                k.type_name(),
                v.type_name()
            )));
        };
        if usize::try_from(*i).ok().and_then(|i| ids.get(i)) != Some(&id.to_owned()) {
            return Err(err(format!(
                "sensor_id_to_ind maps `{id}` to {i}, which is not its place in sensor_ids"
            )));
        }
    }
    let n = ids.len();
    let adjacency = match &parts[2] {
        Value::Array(a) if a.shape == [n, n] && matches!(a.dtype.code.as_str(), "f4" | "f8") => {
            let vals = a.to_f64().map_err(err)?;
            let at = |r: usize, c: usize| {
                if a.fortran {
                    vals[c * n + r]
                } else {
                    vals[r * n + c]
                }
            };
            (0..n * n).map(|k| at(k / n, k % n) as f32).collect::<Vec<f32>>()
        }
        Value::Array(a) => {
            return Err(err(format!(
                "adj_mx is a {:?} array of {}, expected a {n} x {n} float array",
                a.shape, a.dtype.code
            )))
        }
        other => {
            return Err(err(format!(
                "adj_mx is a {}, expected a float array",
                other.type_name()
            )))
        }
    };
    if let Some(bad) = adjacency.iter().find(|x| !x.is_finite() || **x < 0.0) {
        return Err(err(format!(
            "adj_mx holds {bad}: weights must be finite and non-negative"
        )));
    }
    Ok(AdjMx {
        sensor_ids: ids,
        adjacency,
    })
}

/// A traffic-speed signal ready for a protocol.
#[derive(Debug, Clone, PartialEq)]
pub struct TrafficSignal {
    /// `metr-la` or `pems-bay` (or what the caller named it).
    pub name: String,
    /// Speeds (mph, one feature; zeros are missing readings) on the sensor graph.
    pub signal: StaticGraphSignal,
    /// The time of day of each step as a fraction of a day in `[0, 1)`, when
    /// the file gives it (PGT's channel 1); `None`: derive it from the step index.
    pub time_of_day: Option<Vec<f32>>,
    /// Sensor ids, when the graph came from DCRNN's pickle.
    pub sensor_ids: Option<Vec<String>>,
    /// The files read.
    pub files: Vec<PathBuf>,
}

/// A node-values array split into its channels.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeValues {
    /// Steps `T`.
    pub steps: usize,
    /// Nodes `N`.
    pub nodes: usize,
    /// Channel 0, `T * N` speeds, step-major.
    pub speeds: Vec<f32>,
    /// Channel 1 (one value per step), when there is one.
    pub time_of_day: Option<Vec<f32>>,
}

/// `(T, N, C)` or `(T, N)` node values into speeds and, with `C >= 2`, channel
/// 1 as the time of day (checked to lie in `[0, 1]` and to agree across nodes).
pub fn split_node_values(npy: &Npy, path: &Path) -> Result<NodeValues> {
    let err = |m: String| DataError::parse(path, None, format!("node values: {m}"));
    let a = npy.numeric(path, "node values")?;
    let (t, n, c) = match a.shape.as_slice() {
        [t, n] => (*t, *n, 1),
        [t, n, c] if *c >= 1 => (*t, *n, *c),
        s => return Err(err(format!("shape {s:?}, expected (T, N, C) or (T, N)"))),
    };
    if a.fortran {
        return Err(err("Fortran-ordered arrays are not read".into()));
    }
    let vals = a.to_f64().map_err(err)?;
    let speeds: Vec<f32> = (0..t * n).map(|i| vals[i * c] as f32).collect();
    if let Some(bad) = speeds.iter().find(|x| !x.is_finite()) {
        return Err(err(format!("speed {bad} is not finite")));
    }
    let tod = if c >= 2 {
        let mut tod = Vec::with_capacity(t);
        for step in 0..t {
            let first = vals[step * n * c + 1];
            if !(0.0..=1.0).contains(&first) {
                return Err(err(format!(
                    "channel 1 (time of day) is {first} at step {step}, expected a fraction of a day"
                )));
            }
            if (0..n).any(|node| vals[(step * n + node) * c + 1] != first) {
                return Err(err(format!(
                    "channel 1 (time of day) differs between nodes at step {step}"
                )));
            }
            tod.push(first as f32);
        }
        Some(tod)
    } else {
        None
    };
    Ok(NodeValues {
        steps: t,
        nodes: n,
        speeds,
        time_of_day: tod,
    })
}

/// The dense adjacency of an `adj_mat.npy` (square, float, finite, non-negative).
pub fn read_adj_npy(npy: &Npy, path: &Path) -> Result<(usize, Vec<f32>)> {
    let err = |m: String| DataError::parse(path, None, format!("adjacency: {m}"));
    let a = npy.numeric(path, "adjacency")?;
    let n = match a.shape.as_slice() {
        [r, c] if r == c => *r,
        s => return Err(err(format!("shape {s:?}, expected a square matrix"))),
    };
    let vals = a.to_f64().map_err(err)?;
    let at = |r: usize, c: usize| {
        if a.fortran {
            vals[c * n + r]
        } else {
            vals[r * n + c]
        }
    };
    let adj: Vec<f32> = (0..n * n).map(|k| at(k / n, k % n) as f32).collect();
    if let Some(bad) = adj.iter().find(|x| !x.is_finite() || **x < 0.0) {
        return Err(err(format!(
            "weight {bad}: weights must be finite and non-negative"
        )));
    }
    Ok((n, adj))
}

/// The file names of `name`'s layouts: (PGT zip, PGT adjacency, PGT values, DCRNN pickle).
fn layout(name: &str) -> Result<(&'static str, &'static str, &'static str, &'static str)> {
    match name {
        "metr-la" => Ok(("METR-LA.zip", "adj_mat.npy", "node_values.npy", "adj_mx.pkl")),
        "pems-bay" => Ok((
            "PEMS-BAY.zip",
            "pems_adj_mat.npy",
            "pems_node_values.npy",
            "adj_mx_bay.pkl",
        )),
        other => Err(DataError::UnknownDataset(other.to_owned())),
    }
}

/// Verifies `file` against the manifest's SHA-256 for `name`, where it has one.
fn verify_known(name: &str, file: &Path) -> Result<()> {
    let manifest = Manifest::builtin()?;
    let Some(ds) = manifest.user_datasets.iter().find(|d| d.name == name) else {
        return Ok(());
    };
    let fname = file.file_name().and_then(|f| f.to_str()).unwrap_or_default();
    match ds
        .files
        .iter()
        .find(|f| f.path == fname)
        .and_then(|f| f.sha256.as_deref())
    {
        Some(sha) => verify(file, sha),
        None => Ok(()),
    }
}

/// Loads `metr-la` or `pems-bay` from the folder `dir`: the adjacency from
/// DCRNN's pickle when present, else PGT's `adj_mat.npy` (from the zip or
/// extracted); the speeds from PGT's node values (from the zip or a
/// `node_values.npy`, extracted or converted from DCRNN's `.h5`). Files whose
/// SHA-256 the manifest knows are verified first.
pub fn load(name: &str, dir: &Path) -> Result<TrafficSignal> {
    let (zip, adj_name, values_name, pkl) = layout(name)?;
    let missing = || {
        DataError::Invalid(format!(
            "{name}: {} holds neither {zip} nor {values_name} (see docs/temporal.md: the files are \
             not in the mirror; download them from the URLs in datasets/manifest.toml, or convert \
             DCRNN's .h5)",
            dir.display()
        ))
    };
    let mut files = Vec::new();
    let zip_path = dir.join(zip);
    let members = if zip_path.is_file() {
        verify_known(name, &zip_path)?;
        files.push(zip_path.clone());
        Some(read_npz(&zip_path)?)
    } else {
        None
    };
    let member = |file: &str| -> Result<Option<(Npy, PathBuf)>> {
        let key = file.strip_suffix(".npy").unwrap_or(file);
        if let Some(npy) = members.as_ref().and_then(|m| m.get(key)) {
            return Ok(Some((npy.clone(), zip_path.join(file))));
        }
        let p = dir.join(file);
        if p.is_file() {
            verify_known(name, &p)?;
            return Ok(Some((read_npy(&p)?, p)));
        }
        Ok(None)
    };
    let (values, values_path) = member(values_name)?.ok_or_else(missing)?;
    files.push(values_path.clone());
    let NodeValues {
        steps: t,
        nodes: n,
        speeds,
        time_of_day,
    } = split_node_values(&values, &values_path)?;
    let pkl_path = dir.join(pkl);
    let (adj_n, adjacency, sensor_ids) = if pkl_path.is_file() {
        verify_known(name, &pkl_path)?;
        files.push(pkl_path.clone());
        let a = read_adj_mx(&pkl_path)?;
        (a.nodes(), a.adjacency, Some(a.sensor_ids))
    } else {
        let (npy, p) = member(adj_name)?.ok_or_else(|| {
            DataError::Invalid(format!(
                "{name}: {} holds neither {pkl} nor {adj_name}",
                dir.display()
            ))
        })?;
        files.push(p.clone());
        let (an, adj) = read_adj_npy(&npy, &p)?;
        (an, adj, None)
    };
    if adj_n != n {
        return Err(DataError::Invalid(format!(
            "{name}: the adjacency has {adj_n} nodes, the speeds {n}"
        )));
    }
    let signal = StaticGraphSignal::new(dense_to_edges(n, &adjacency)?, t, 1, speeds)?;
    Ok(TrafficSignal {
        name: name.to_owned(),
        signal,
        time_of_day,
        sensor_ids,
        files,
    })
}
