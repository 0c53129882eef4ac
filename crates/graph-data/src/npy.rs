//! numpy `.npy` arrays and `.npz` archives (a zip of `.npy` files).
//!
//! Numeric (`b1`, `i1`..`i8`, `u1`..`u8`, `f4`, `f8`, either byte order)
//! and unicode (`<U n`) arrays are read; object arrays, which numpy stores
//! as pickles, are refused.
//!
//! ```
//! use graph_data::npy::{parse_npy, Npy};
//! let mut b = b"\x93NUMPY\x01\x00".to_vec();
//! let header = "{'descr': '<i4', 'fortran_order': False, 'shape': (2,), }";
//! b.extend_from_slice(&(header.len() as u16).to_le_bytes());
//! b.extend_from_slice(header.as_bytes());
//! b.extend_from_slice(&[7, 0, 0, 0, 255, 255, 255, 255]);
//! let Npy::Numeric(a) = parse_npy(&b, "a.npy".as_ref()).unwrap() else { panic!() };
//! assert_eq!(a.to_i64().unwrap(), vec![7, -1]);
//! ```

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use crate::error::{DataError, Result};
use crate::pickle::{Dtype, NdArray};

/// Largest uncompressed `.npy` member read from an archive (guards
/// against zip bombs).
pub const MAX_MEMBER_BYTES: u64 = 1 << 31;

/// A decoded `.npy` array.
#[derive(Debug, Clone, PartialEq)]
pub enum Npy {
    /// Numbers or booleans.
    Numeric(NdArray),
    /// Unicode strings (`<U n`), in storage order.
    Strings {
        /// Dimensions.
        shape: Vec<usize>,
        /// The strings, trailing NULs removed.
        values: Vec<String>,
    },
}

impl Npy {
    /// The numeric array, or an error naming `what` in `path`.
    pub fn numeric(&self, path: &Path, what: &str) -> Result<&NdArray> {
        match self {
            Npy::Numeric(a) => Ok(a),
            Npy::Strings { .. } => Err(DataError::parse(
                path,
                None,
                format!("{what}: expected numbers, found strings"),
            )),
        }
    }
}

/// Parses the bytes of one `.npy` file; `path` names it in errors.
pub fn parse_npy(b: &[u8], path: &Path) -> Result<Npy> {
    let err = |m: String| DataError::parse(path, None, format!("npy: {m}"));
    if b.len() < 10 || &b[..6] != b"\x93NUMPY" {
        return Err(err("no `\\x93NUMPY` magic (not a .npy file, or truncated)".into()));
    }
    let (hlen, start) = match b[6] {
        1 => (u16::from_le_bytes([b[8], b[9]]) as usize, 10usize),
        2 | 3 if b.len() >= 12 => (u32::from_le_bytes([b[8], b[9], b[10], b[11]]) as usize, 12),
        v => return Err(err(format!("format version {v} is not supported"))),
    };
    let header = b
        .get(start..start.saturating_add(hlen))
        .ok_or_else(|| err(format!("truncated: header of {hlen} bytes, file of {}", b.len())))?;
    let header = std::str::from_utf8(header).map_err(|_| err("header is not text".into()))?;
    let fields = parse_header(header).ok_or_else(|| err(format!("bad header `{}`", header.trim())))?;
    let descr = match fields.get("descr") {
        Some(HeaderValue::Str(s)) => s.clone(),
        _ => return Err(err("header has no string `descr`".into())),
    };
    let fortran = match fields.get("fortran_order") {
        Some(HeaderValue::Bool(f)) => *f,
        _ => return Err(err("header has no boolean `fortran_order`".into())),
    };
    let shape = match fields.get("shape") {
        Some(HeaderValue::Tuple(s)) => s.clone(),
        _ => return Err(err("header has no `shape` tuple".into())),
    };
    let count = shape
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .ok_or_else(|| err("shape overflows".into()))?;
    let data = &b[start + hlen..];
    let (order, code) = match descr.chars().next() {
        Some(c @ ('<' | '>' | '|' | '=')) => (c, &descr[1..]),
        _ => ('=', descr.as_str()),
    };
    if code == "O" {
        return Err(err("object arrays are pickles and are refused".into()));
    }
    if let Some(n) = code.strip_prefix('U') {
        // Zero-width strings are refused: their count is not bounded by the data.
        let n: usize = n
            .parse()
            .ok()
            .filter(|&n| n > 0)
            .ok_or_else(|| err(format!("bad dtype `{descr}`")))?;
        let need = count.checked_mul(n).and_then(|x| x.checked_mul(4));
        if need != Some(data.len()) {
            return Err(err(format!(
                "shape {shape:?} of {descr} needs {need:?} bytes, has {}",
                data.len()
            )));
        }
        let big = order == '>';
        let values = data
            .chunks_exact(4 * n)
            .take(count)
            .map(|s| {
                s.chunks_exact(4)
                    .map(|c| {
                        let c: [u8; 4] = c.try_into().unwrap();
                        if big {
                            u32::from_be_bytes(c)
                        } else {
                            u32::from_le_bytes(c)
                        }
                    })
                    .take_while(|&c| c != 0)
                    .map(|c| char::from_u32(c).ok_or_else(|| err(format!("invalid character U+{c:X}"))))
                    .collect::<Result<String>>()
            })
            .collect::<Result<Vec<_>>>()?;
        return Ok(Npy::Strings { shape, values });
    }
    let dtype = Dtype {
        code: code.to_string(),
        byteorder: order,
    };
    let size = dtype
        .itemsize()
        .ok_or_else(|| err(format!("dtype `{descr}` is not supported")))?;
    if count.checked_mul(size) != Some(data.len()) {
        return Err(err(format!(
            "shape {shape:?} of {descr} needs {} bytes, has {}",
            count.saturating_mul(size),
            data.len()
        )));
    }
    Ok(Npy::Numeric(NdArray {
        shape,
        dtype,
        fortran,
        data: data.to_vec(),
    }))
}

#[derive(Debug, Clone, PartialEq)]
enum HeaderValue {
    Str(String),
    Bool(bool),
    Tuple(Vec<usize>),
}

/// The header is a Python dict literal of strings, booleans and a tuple.
fn parse_header(h: &str) -> Option<BTreeMap<String, HeaderValue>> {
    let mut s = h.trim().strip_prefix('{')?.trim_end().strip_suffix('}')?.trim();
    let mut out = BTreeMap::new();
    while !s.is_empty() {
        let (key, rest) = quoted(s)?;
        s = rest.trim_start().strip_prefix(':')?.trim_start();
        let value;
        if s.starts_with('\'') || s.starts_with('"') {
            let (v, rest) = quoted(s)?;
            value = HeaderValue::Str(v);
            s = rest;
        } else if let Some(rest) = s.strip_prefix("True") {
            value = HeaderValue::Bool(true);
            s = rest;
        } else if let Some(rest) = s.strip_prefix("False") {
            value = HeaderValue::Bool(false);
            s = rest;
        } else {
            let rest = s.strip_prefix('(')?;
            let end = rest.find(')')?;
            let dims = rest[..end]
                .split(',')
                .map(str::trim)
                .filter(|d| !d.is_empty())
                .map(|d| d.trim_end_matches('L').parse().ok())
                .collect::<Option<Vec<usize>>>()?;
            value = HeaderValue::Tuple(dims);
            s = &rest[end + 1..];
        }
        out.insert(key, value);
        s = s.trim_start();
        s = s.strip_prefix(',').unwrap_or(s).trim_start();
    }
    Some(out)
}

fn quoted(s: &str) -> Option<(String, &str)> {
    let q = s.chars().next().filter(|&c| c == '\'' || c == '"')?;
    let end = s[1..].find(q)? + 1;
    Some((s[1..end].to_string(), &s[end + 1..]))
}

/// Reads a `.npy` file.
pub fn read_npy(path: &Path) -> Result<Npy> {
    let b = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
    parse_npy(&b, path)
}

/// Reads every member of an `.npz` archive into a map from array name
/// (member name without `.npy`) to array.
pub fn read_npz(path: &Path) -> Result<BTreeMap<String, Npy>> {
    let f = std::fs::File::open(path).map_err(|e| DataError::io(path, e))?;
    read_npz_from(f, path)
}

/// Reads an `.npz` archive from any seekable reader; `path` names it in
/// errors.
pub fn read_npz_from<R: Read + std::io::Seek>(r: R, path: &Path) -> Result<BTreeMap<String, Npy>> {
    let err = |m: String| DataError::parse(path, None, format!("npz: {m}"));
    let mut z = zip::ZipArchive::new(r).map_err(|e| err(format!("not a readable zip archive: {e}")))?;
    let mut out = BTreeMap::new();
    for i in 0..z.len() {
        let mut member = z.by_index(i).map_err(|e| err(format!("member {i}: {e}")))?;
        let name = member.name().to_string();
        if member.size() > MAX_MEMBER_BYTES {
            return Err(err(format!(
                "member `{name}` is {} bytes uncompressed, over the limit",
                member.size()
            )));
        }
        let mut b = Vec::with_capacity(member.size().min(1 << 26) as usize);
        (&mut member)
            .take(MAX_MEMBER_BYTES + 1)
            .read_to_end(&mut b)
            .map_err(|e| err(format!("member `{name}`: {e}")))?;
        let member_path = path.join(&name);
        let key = name.strip_suffix(".npy").unwrap_or(&name).to_string();
        out.insert(key, parse_npy(&b, &member_path)?);
    }
    Ok(out)
}
