//! Checkpoints: parameters and Adam's state in one safetensors file whose
//! header carries a JSON [`CheckpointMeta`] (under the key `seqgraph`), plus a
//! copy of that JSON next to it (`NAME.json`) for people to read.
//!
//! Both are written to a temporary file in the same folder and renamed over
//! the old one, so a crash or Ctrl-C during a save leaves the previous
//! checkpoint whole. The safetensors file is the authority; the JSON copy is
//! never read back.

use crate::adam::Adam;
use crate::error::TrainError;
use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};
use tch::{Device, Kind, Tensor};

/// The checkpoint format this crate writes.
pub const FORMAT: u32 = 1;
const META_KEY: &str = "seqgraph";
const PARAM: &str = "param/";
const EXP_AVG: &str = "adam.exp_avg/";
const EXP_AVG_SQ: &str = "adam.exp_avg_sq/";
/// The losses again, as an f64 tensor: JSON numbers do not always read back to the same f64.
const LOSSES: &str = "train.losses";

/// What a run is: a checkpoint resumes only a run with the same identity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunIdentity {
    /// The model's name (`dcrnn`, `gcn`, ...).
    pub model: String,
    /// Everything else that shapes the run: sizes, learning rate, epochs, ...
    pub config: Value,
    /// The data set's name.
    pub dataset: String,
    /// A checksum of the training data as the model sees it ([`data_checksum`]).
    pub data_checksum: String,
    /// The seed.
    pub seed: u64,
}

impl RunIdentity {
    /// Builds an identity.
    pub fn new(
        model: impl Into<String>,
        config: Value,
        dataset: impl Into<String>,
        data_checksum: impl Into<String>,
        seed: u64,
    ) -> Self {
        RunIdentity {
            model: model.into(),
            config,
            dataset: dataset.into(),
            data_checksum: data_checksum.into(),
            seed,
        }
    }

    /// The first field in which `self` (a checkpoint's) and `run` differ, as
    /// (field, checkpoint's value, run's value); config keys are named `config.KEY`.
    pub fn first_difference(&self, run: &RunIdentity) -> Option<(String, String, String)> {
        let plain = [
            ("model", self.model.clone(), run.model.clone()),
            ("dataset", self.dataset.clone(), run.dataset.clone()),
            (
                "data checksum",
                self.data_checksum.clone(),
                run.data_checksum.clone(),
            ),
            ("seed", self.seed.to_string(), run.seed.to_string()),
        ];
        if let Some((f, a, b)) = plain.into_iter().find(|(_, a, b)| a != b) {
            return Some((f.to_owned(), a, b));
        }
        // Compare the run's config as it reads back from JSON, as the checkpoint's did.
        let run_config = serde_json::from_str(&run.config.to_string()).unwrap_or(Value::Null);
        value_difference("config", &self.config, &run_config)
    }
}

fn value_difference(path: &str, a: &Value, b: &Value) -> Option<(String, String, String)> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            keys.into_iter().find_map(|k| {
                let missing = Value::String("(absent)".into());
                value_difference(
                    &format!("{path}.{k}"),
                    x.get(k).unwrap_or(&missing),
                    y.get(k).unwrap_or(&missing),
                )
            })
        }
        _ if a == b => None,
        _ => Some((path.to_owned(), a.to_string(), b.to_string())),
    }
}

/// Adam's hyper-parameters and step count as saved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdamMeta {
    /// Learning rate.
    pub lr: f64,
    /// First-moment decay.
    pub beta1: f64,
    /// Second-moment decay.
    pub beta2: f64,
    /// Denominator epsilon.
    pub eps: f64,
    /// L2 weight decay.
    pub weight_decay: f64,
    /// Per-parameter weight decay ([`Adam::param_weight_decay`]).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub param_weight_decay: BTreeMap<String, f64>,
    /// Steps taken.
    pub step: u64,
}

/// The JSON part of a checkpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckpointMeta {
    /// Format version ([`FORMAT`]).
    pub format: u32,
    /// Which run wrote it.
    pub identity: RunIdentity,
    /// Epochs completed.
    pub epoch: usize,
    /// The RNG state. libtorch's generator state is not reachable through
    /// tch, so the [`crate::Trainer`] reseeds it at the start of every epoch
    /// from `(seed, epoch)` ([`crate::determinism::epoch_seed`]); the seed and
    /// epoch above are therefore the whole RNG state. This field says so in words.
    pub rng: String,
    /// Mean training loss of each completed epoch.
    pub losses: Vec<f64>,
    /// The optimiser.
    pub optimizer: AdamMeta,
    /// True when the run stopped early ([`crate::Epoch::stop`], e.g. patience
    /// ran out): resuming it trains no further epoch.
    #[serde(default)]
    pub stopped: bool,
}

/// SHA-256 (hex) of tensors' kinds, shapes and bytes: the data-set checksum a
/// checkpoint records. Two data sets that differ in one value differ here.
pub fn data_checksum(tensors: &[&Tensor]) -> String {
    let mut h = Sha256::new();
    for t in tensors {
        let t = t.to_device(Device::Cpu).contiguous();
        h.update(format!("{:?}{:?};", t.kind(), t.size()).as_bytes());
        h.update(tensor_bytes(&t));
    }
    hex::encode(h.finalize())
}

fn dtype_of(kind: Kind) -> Option<Dtype> {
    Some(match kind {
        Kind::Float => Dtype::F32,
        Kind::Double => Dtype::F64,
        Kind::Half => Dtype::F16,
        Kind::BFloat16 => Dtype::BF16,
        Kind::Int64 => Dtype::I64,
        Kind::Int => Dtype::I32,
        Kind::Int16 => Dtype::I16,
        Kind::Int8 => Dtype::I8,
        Kind::Uint8 => Dtype::U8,
        Kind::Bool => Dtype::BOOL,
        _ => return None,
    })
}

fn kind_of(dtype: Dtype) -> Option<Kind> {
    [
        Kind::Float,
        Kind::Double,
        Kind::Half,
        Kind::BFloat16,
        Kind::Int64,
        Kind::Int,
        Kind::Int16,
        Kind::Int8,
        Kind::Uint8,
        Kind::Bool,
    ]
    .into_iter()
    .find(|k| dtype_of(*k) == Some(dtype))
}

fn tensor_bytes(t: &Tensor) -> Vec<u8> {
    let t = t.to_device(Device::Cpu).contiguous();
    let numel = t.numel();
    let mut buf = vec![0u8; numel * t.kind().elt_size_in_bytes()];
    t.copy_data_u8(&mut buf, numel);
    buf
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> TrainError + '_ {
    move |source| TrainError::Io {
        path: path.to_owned(),
        source,
    }
}

fn corrupt(path: &Path, reason: impl std::fmt::Display) -> TrainError {
    TrainError::Corrupt {
        path: path.to_owned(),
        reason: reason.to_string(),
    }
}

/// Writes `bytes` to `path` through a temporary file in the same folder and a
/// rename; on failure the temporary file is removed and `path` is untouched.
/// A process killed mid-write leaves `path` whole and its temporary file
/// behind; the next write of `path` removes that file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), TrainError> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    // A process killed during an earlier write of this file left its
    // temporary behind (one writer per checkpoint): remove it.
    let stale = format!(".{name}.tmp-");
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            if e.file_name().to_string_lossy().starts_with(&stale) {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
    let written = (|| {
        let mut f = std::fs::File::create(&tmp).map_err(io(&tmp))?;
        f.write_all(bytes).map_err(io(&tmp))?;
        f.sync_all().map_err(io(&tmp))?;
        drop(f);
        std::fs::rename(&tmp, path).map_err(io(path))
    })();
    if written.is_err() {
        // A failed write leaves the previous file as it was and no temporary behind.
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// The checkpoint path of seed `seed` when a run trains `seeds` seeds:
/// `path` itself for one seed, else `NAME.seedS.EXT`.
pub fn seed_path(path: &Path, seed: u64, seeds: u64) -> PathBuf {
    if seeds <= 1 {
        return path.to_owned();
    }
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name = match path.extension() {
        Some(e) => format!("{stem}.seed{seed}.{}", e.to_string_lossy()),
        None => format!("{stem}.seed{seed}"),
    };
    path.with_file_name(name)
}

/// The human-readable JSON copy written next to a checkpoint: `NAME.json`.
pub fn json_path(path: &Path) -> PathBuf {
    path.with_extension("json")
}

/// Saves `params` (name, variable), `adam`'s state and `meta` to `path`, atomically.
pub fn save(
    path: &Path,
    meta: &CheckpointMeta,
    params: &[(String, Tensor)],
    adam: &Adam,
) -> Result<(), TrainError> {
    let mut owned: BTreeMap<String, (Dtype, Vec<usize>, Vec<u8>)> = BTreeMap::new();
    let mut add = |name: String, t: &Tensor| -> Result<(), TrainError> {
        let dtype = dtype_of(t.kind())
            .ok_or_else(|| corrupt(path, format!("cannot save `{name}` of kind {:?}", t.kind())))?;
        let shape = t.size().iter().map(|&d| d as usize).collect();
        owned.insert(name, (dtype, shape, tensor_bytes(t)));
        Ok(())
    };
    for (name, p) in params {
        add(format!("{PARAM}{name}"), p)?;
    }
    for (name, t) in &adam.exp_avg {
        add(format!("{EXP_AVG}{name}"), t)?;
    }
    for (name, t) in &adam.exp_avg_sq {
        add(format!("{EXP_AVG_SQ}{name}"), t)?;
    }
    add(LOSSES.to_owned(), &Tensor::from_slice(&meta.losses))?;
    let json = serde_json::to_string_pretty(meta).map_err(|e| corrupt(path, e))?;
    let views = owned
        .iter()
        .map(|(n, (d, s, b))| {
            Ok((
                n.clone(),
                TensorView::new(*d, s.clone(), b).map_err(|e| corrupt(path, e))?,
            ))
        })
        .collect::<Result<Vec<_>, TrainError>>()?;
    let header = Some(HashMap::from([(META_KEY.to_owned(), json.clone())]));
    let bytes = safetensors::tensor::serialize(views, &header).map_err(|e| corrupt(path, e))?;
    write_atomic(path, &bytes)?;
    write_atomic(&json_path(path), json.as_bytes())
}

/// A checkpoint read from disk.
#[derive(Debug)]
pub struct Loaded {
    /// Its JSON part.
    pub meta: CheckpointMeta,
    /// Parameters by name (without the `param/` prefix), on the CPU.
    pub params: BTreeMap<String, Tensor>,
    /// Adam's first moments by parameter name.
    pub exp_avg: BTreeMap<String, Tensor>,
    /// Adam's second moments by parameter name.
    pub exp_avg_sq: BTreeMap<String, Tensor>,
}

/// Reads the checkpoint at `path`.
pub fn load(path: &Path) -> Result<Loaded, TrainError> {
    let bytes = std::fs::read(path).map_err(io(path))?;
    let (_, header) = SafeTensors::read_metadata(&bytes).map_err(|e| corrupt(path, format!("{e:?}")))?;
    let json = header
        .metadata()
        .as_ref()
        .and_then(|m| m.get(META_KEY))
        .ok_or_else(|| corrupt(path, "no seqgraph metadata in the safetensors header"))?;
    let meta: CheckpointMeta = serde_json::from_str(json).map_err(|e| corrupt(path, e))?;
    if meta.format != FORMAT {
        return Err(corrupt(
            path,
            format!("format {} (this build reads {FORMAT})", meta.format),
        ));
    }
    let st = SafeTensors::deserialize(&bytes).map_err(|e| corrupt(path, format!("{e:?}")))?;
    let mut loaded = Loaded {
        meta,
        params: BTreeMap::new(),
        exp_avg: BTreeMap::new(),
        exp_avg_sq: BTreeMap::new(),
    };
    for (name, view) in st.tensors() {
        let kind =
            kind_of(view.dtype()).ok_or_else(|| corrupt(path, format!("`{name}` has an unknown dtype")))?;
        let shape: Vec<i64> = view.shape().iter().map(|&d| d as i64).collect();
        let t = Tensor::f_from_data_size(view.data(), &shape, kind)?;
        if name == LOSSES {
            loaded.meta.losses = Vec::<f64>::try_from(&t)?;
            continue;
        }
        let slot = [
            (PARAM, &mut loaded.params),
            (EXP_AVG, &mut loaded.exp_avg),
            (EXP_AVG_SQ, &mut loaded.exp_avg_sq),
        ]
        .into_iter()
        .find_map(|(prefix, map)| name.strip_prefix(prefix).map(|rest| (rest.to_owned(), map)));
        match slot {
            Some((rest, map)) => {
                map.insert(rest, t);
            }
            None => return Err(corrupt(path, format!("unexpected tensor `{name}`"))),
        }
    }
    Ok(loaded)
}

/// Checks that `path` was written by a run with identity `run`, then copies its
/// parameters into `params` and its state into `adam`. Refuses, naming the
/// field, a checkpoint of another model, config, seed or data set, or one
/// whose parameters differ in name or shape.
pub fn restore(
    path: &Path,
    run: &RunIdentity,
    params: &[(String, Tensor)],
    adam: &mut Adam,
) -> Result<CheckpointMeta, TrainError> {
    let loaded = load(path)?;
    let mismatch = |field: String, checkpoint: String, run: String| TrainError::Mismatch {
        path: path.to_owned(),
        field,
        checkpoint,
        run,
    };
    if let Some((field, a, b)) = loaded.meta.identity.first_difference(run) {
        return Err(mismatch(field, a, b));
    }
    let theirs: Vec<&String> = loaded.params.keys().collect();
    let ours: Vec<&String> = params.iter().map(|(n, _)| n).collect();
    if theirs != ours {
        return Err(mismatch(
            "parameters".into(),
            format!("{theirs:?}"),
            format!("{ours:?}"),
        ));
    }
    for (name, p) in params {
        let saved = &loaded.params[name];
        if saved.size() != p.size() || saved.kind() != p.kind() {
            return Err(mismatch(
                format!("parameter `{name}`"),
                format!("{:?} {:?}", saved.kind(), saved.size()),
                format!("{:?} {:?}", p.kind(), p.size()),
            ));
        }
    }
    // Hyper-parameters stay the run's own (JSON may not return the same f64);
    // they must agree to 1e-12 relative.
    let o = &loaded.meta.optimizer;
    let hyper = [
        ("lr", o.lr, adam.lr),
        ("beta1", o.beta1, adam.beta1),
        ("beta2", o.beta2, adam.beta2),
        ("eps", o.eps, adam.eps),
        ("weight_decay", o.weight_decay, adam.weight_decay),
    ];
    if let Some((f, a, b)) = hyper
        .into_iter()
        .find(|(_, a, b)| (a - b).abs() > 1e-12 * a.abs().max(b.abs()))
    {
        return Err(mismatch(format!("optimizer.{f}"), a.to_string(), b.to_string()));
    }
    let names: std::collections::BTreeSet<&String> = o
        .param_weight_decay
        .keys()
        .chain(adam.param_weight_decay.keys())
        .collect();
    for name in names {
        let (a, b) = (
            o.param_weight_decay.get(name).copied().unwrap_or(o.weight_decay),
            adam.weight_decay_of(name),
        );
        if (a - b).abs() > 1e-12 * a.abs().max(b.abs()) {
            return Err(mismatch(
                format!("optimizer.weight_decay of `{name}`"),
                a.to_string(),
                b.to_string(),
            ));
        }
    }
    let _no_grad = tch::no_grad_guard();
    for (name, p) in params {
        p.shallow_clone().f_copy_(&loaded.params[name])?;
    }
    let device_of = |name: &String| params.iter().find(|(n, _)| n == name).map(|(_, p)| p.device());
    let to_device = |m: BTreeMap<String, Tensor>| {
        m.into_iter()
            .map(|(n, t)| {
                let d = device_of(&n).unwrap_or(Device::Cpu);
                (n, t.to_device(d))
            })
            .collect()
    };
    adam.step = o.step;
    adam.exp_avg = to_device(loaded.exp_avg);
    adam.exp_avg_sq = to_device(loaded.exp_avg_sq);
    Ok(loaded.meta)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A rename that fails (the target is a non-empty folder) is an I/O error
    /// naming the path, and leaves neither a temporary file nor a changed target.
    #[test]
    fn a_failed_atomic_write_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("ck.safetensors");
        std::fs::create_dir(&target).unwrap();
        std::fs::write(target.join("inside"), b"x").unwrap();
        let err = write_atomic(&target, b"new bytes").unwrap_err();
        assert!(
            matches!(&err, TrainError::Io { path, .. } if path == &target),
            "{err}"
        );
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left, vec![std::ffi::OsString::from("ck.safetensors")]);
        assert!(target.is_dir());

        let file = dir.path().join("ok.json");
        write_atomic(&file, b"1").unwrap();
        write_atomic(&file, b"2").unwrap();
        assert_eq!(std::fs::read(&file).unwrap(), b"2");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
    }
}
