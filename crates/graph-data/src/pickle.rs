//! A restricted reader for Python pickles (protocols 0 to 2), enough for the
//! Planetoid files: scipy `csr_matrix`, numpy arrays and dtypes,
//! `collections.defaultdict(list)` and plain containers.
//!
//! Nothing is ever executed: the only globals accepted are the handful of
//! classes this reader knows how to build itself; any other global (the way
//! a malicious pickle runs code) is refused with an error naming it.
//!
//! ```
//! use graph_data::pickle::{parse, Value};
//! // pickle.dumps([1, "a"], protocol=2) in Python 2
//! let bytes = b"\x80\x02]q\x00(K\x01U\x01aq\x01e.";
//! let v = parse(bytes, "example.pkl".as_ref()).unwrap();
//! assert_eq!(v, Value::List(vec![Value::Int(1), Value::Bytes(b"a".to_vec())]));
//! ```

use std::collections::HashMap;
use std::path::Path;

use crate::error::{DataError, Result};
use crate::features::SparseMatrix;

/// A decoded pickle value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `None`.
    None,
    /// `True` / `False`.
    Bool(bool),
    /// An integer that fits `i64`.
    Int(i64),
    /// A float.
    Float(f64),
    /// A Python 2 `str` (a byte string).
    Bytes(Vec<u8>),
    /// A unicode string.
    Str(String),
    /// A tuple.
    Tuple(Vec<Value>),
    /// A list.
    List(Vec<Value>),
    /// A dict (or `collections.defaultdict`), in insertion order.
    Dict(Vec<(Value, Value)>),
    /// A numpy array.
    Array(NdArray),
    /// A numpy dtype.
    Dtype(Dtype),
    /// A scipy `csr_matrix`, as its state dict (`_shape`, `indptr`, ...).
    CsrMatrix(Vec<(Value, Value)>),
}

/// A numpy dtype of the kinds this reader decodes.
#[derive(Debug, Clone, PartialEq)]
pub struct Dtype {
    /// Type code without byte order, e.g. `i4`, `f8`, `b1`.
    pub code: String,
    /// `<` little-endian, `>` big-endian, `|` not applicable, `=` native.
    pub byteorder: char,
}

impl Dtype {
    /// Bytes per element, when the code names a fixed-size type.
    pub fn itemsize(&self) -> Option<usize> {
        match self.code.as_str() {
            "b1" | "i1" | "u1" => Some(1),
            "i2" | "u2" | "f2" => Some(2),
            "i4" | "u4" | "f4" => Some(4),
            "i8" | "u8" | "f8" => Some(8),
            _ => None,
        }
    }
}

/// A numpy array: shape, dtype and raw bytes (C or Fortran order).
#[derive(Debug, Clone, PartialEq)]
pub struct NdArray {
    /// Dimensions.
    pub shape: Vec<usize>,
    /// Element type.
    pub dtype: Dtype,
    /// Whether `data` is in column-major (Fortran) order.
    pub fortran: bool,
    /// Raw element bytes, `product(shape) * itemsize` long.
    pub data: Vec<u8>,
}

impl NdArray {
    /// Number of elements.
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    /// True when the array has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn chunks(&self) -> Result<(std::slice::ChunksExact<'_, u8>, bool), String> {
        let size = self
            .dtype
            .itemsize()
            .ok_or_else(|| format!("unsupported dtype `{}`", self.dtype.code))?;
        let need = self.shape.iter().try_fold(size, |a, &d| a.checked_mul(d));
        if need != Some(self.data.len()) {
            return Err(format!(
                "array of shape {:?} and dtype {} needs {need:?} bytes, has {}",
                self.shape,
                self.dtype.code,
                self.data.len()
            ));
        }
        let big = self.dtype.byteorder == '>' || (self.dtype.byteorder == '=' && cfg!(target_endian = "big"));
        Ok((self.data.chunks_exact(size), big))
    }

    /// Elements as `f64` in storage order (integers and bools converted).
    pub fn to_f64(&self) -> Result<Vec<f64>, String> {
        let (chunks, big) = self.chunks()?;
        let code = self.dtype.code.clone();
        chunks
            .map(|c| {
                let mut b = c.to_vec();
                if !big {
                    b.reverse(); // decode everything as big-endian below
                }
                Ok(match code.as_str() {
                    "f4" => f32::from_be_bytes(b[..].try_into().unwrap()) as f64,
                    "f8" => f64::from_be_bytes(b[..].try_into().unwrap()),
                    "f2" => return Err("float16 arrays are not supported".to_string()),
                    c if c.starts_with('u') || c == "b1" => {
                        b.iter().fold(0u64, |a, &x| (a << 8) | x as u64) as f64
                    }
                    _ => be_signed(&b) as f64,
                })
            })
            .collect()
    }

    /// Integer elements as `i64` in storage order; refuses float dtypes.
    pub fn to_i64(&self) -> Result<Vec<i64>, String> {
        let (chunks, big) = self.chunks()?;
        let code = self.dtype.code.clone();
        if code.starts_with('f') {
            return Err(format!("expected an integer array, found dtype {code}"));
        }
        chunks
            .map(|c| {
                let mut b = c.to_vec();
                if !big {
                    b.reverse();
                }
                if code.starts_with('u') || code == "b1" {
                    let v = b.iter().fold(0u64, |a, &x| (a << 8) | x as u64);
                    i64::try_from(v).map_err(|_| format!("value {v} does not fit i64"))
                } else {
                    Ok(be_signed(&b))
                }
            })
            .collect()
    }
}

fn be_signed(b: &[u8]) -> i64 {
    let neg = b.first().is_some_and(|&x| x & 0x80 != 0);
    let mut v: i64 = if neg { -1 } else { 0 };
    for &x in b {
        v = (v << 8) | x as i64;
    }
    v
}

impl Value {
    /// The text of a byte or unicode string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Bytes(b) => std::str::from_utf8(b).ok(),
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// Looks a string key up in a dict-like value (dict, csr state).
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Dict(items) | Value::CsrMatrix(items) => items
                .iter()
                .find(|(k, _)| k.as_str() == Some(key))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    /// A short name of the value's type, for error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::None => "None",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float(_) => "float",
            Value::Bytes(_) => "str",
            Value::Str(_) => "unicode",
            Value::Tuple(_) => "tuple",
            Value::List(_) => "list",
            Value::Dict(_) => "dict",
            Value::Array(_) => "numpy.ndarray",
            Value::Dtype(_) => "numpy.dtype",
            Value::CsrMatrix(_) => "scipy.sparse.csr_matrix",
        }
    }
}

/// Converts a `csr_matrix` value (or a 2-D numeric array) to a
/// [`SparseMatrix`]; `what` names the value in errors.
pub fn to_sparse(v: &Value, path: &Path, what: &str) -> Result<SparseMatrix> {
    let err = |m: String| DataError::parse(path, None, format!("{what}: {m}"));
    match v {
        Value::CsrMatrix(_) => {
            let shape = match v.get("_shape").or_else(|| v.get("shape")) {
                Some(Value::Tuple(t)) if t.len() == 2 => t
                    .iter()
                    .map(|x| match x {
                        Value::Int(n) if *n >= 0 => Ok(*n as usize),
                        _ => Err(err("shape entries must be non-negative ints".into())),
                    })
                    .collect::<Result<Vec<_>>>()?,
                _ => return Err(err("csr_matrix without a 2-tuple `_shape`".into())),
            };
            let array = |key: &str| match v.get(key) {
                Some(Value::Array(a)) => Ok(a),
                Some(other) => Err(err(format!(
                    "`{key}` is a {}, expected an array",
                    other.type_name()
                ))),
                None => Err(err(format!("csr_matrix without `{key}`"))),
            };
            let to_idx = |key: &str| -> Result<Vec<usize>> {
                array(key)?
                    .to_i64()
                    .map_err(|m| err(format!("`{key}`: {m}")))?
                    .into_iter()
                    .map(|i| usize::try_from(i).map_err(|_| err(format!("`{key}` holds negative value {i}"))))
                    .collect()
            };
            let indptr = to_idx("indptr")?;
            let indices = to_idx("indices")?
                .into_iter()
                .map(|i| u32::try_from(i).map_err(|_| err(format!("column {i} does not fit u32"))))
                .collect::<Result<Vec<u32>>>()?;
            let values: Vec<f32> = array("data")?
                .to_f64()
                .map_err(|m| err(format!("`data`: {m}")))?
                .into_iter()
                .map(|x| x as f32)
                .collect();
            SparseMatrix::new(shape[0], shape[1], indptr, indices, values).map_err(|e| err(e.to_string()))
        }
        Value::Array(a) if a.shape.len() == 2 => {
            let (rows, cols) = (a.shape[0], a.shape[1]);
            let vals = a.to_f64().map_err(err)?;
            let mut indptr = vec![0];
            let (mut indices, mut values) = (Vec::new(), Vec::new());
            for r in 0..rows {
                for c in 0..cols {
                    let x = if a.fortran {
                        vals[c * rows + r]
                    } else {
                        vals[r * cols + c]
                    };
                    if x != 0.0 {
                        indices.push(c as u32);
                        values.push(x as f32);
                    }
                }
                indptr.push(indices.len());
            }
            SparseMatrix::new(rows, cols, indptr, indices, values).map_err(|e| err(e.to_string()))
        }
        other => Err(err(format!(
            "expected a csr_matrix or 2-D array, found {}",
            other.type_name()
        ))),
    }
}

/// Reads and parses a pickle file.
pub fn load(path: &Path) -> Result<Value> {
    let bytes = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
    parse(&bytes, path)
}

/// The globals this reader builds itself; everything else is refused.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Class {
    CsrMatrix,
    Reconstruct,
    NdArray,
    Dtype,
    DefaultDict,
    List,
    Object,
    CopyRegReconstructor,
}

fn known_global(module: &str, name: &str) -> Option<Class> {
    Some(match (module, name) {
        ("scipy.sparse.csr" | "scipy.sparse._csr", "csr_matrix") => Class::CsrMatrix,
        ("numpy.core.multiarray" | "numpy._core.multiarray", "_reconstruct") => Class::Reconstruct,
        ("numpy", "ndarray") => Class::NdArray,
        ("numpy", "dtype") => Class::Dtype,
        ("collections", "defaultdict") => Class::DefaultDict,
        ("__builtin__" | "builtins", "list") => Class::List,
        ("__builtin__" | "builtins", "object") => Class::Object,
        ("copy_reg" | "copyreg", "_reconstructor") => Class::CopyRegReconstructor,
        _ => return None,
    })
}

/// Objects live in an arena so that memo references share (and see the
/// mutations of) one object, as pickle requires.
#[derive(Debug, Clone)]
enum Obj {
    Leaf(Value),
    Tuple(Vec<usize>),
    List(Vec<usize>),
    Dict(Vec<(usize, usize)>),
    Global(Class),
    /// An empty array from `_reconstruct`, filled by BUILD.
    PendingArray(Option<NdArray>),
    Dtype(Dtype),
    /// A csr_matrix whose state dict comes with BUILD.
    Csr(Option<usize>),
}

const MAX_DEPTH: usize = 200;

struct Machine<'a> {
    data: &'a [u8],
    pos: usize,
    path: &'a Path,
    arena: Vec<Obj>,
    stack: Vec<usize>,
    marks: Vec<usize>,
    memo: HashMap<u64, usize>,
    /// Offset of the opcode being run, for errors.
    at: usize,
}

/// Parses pickle bytes; `path` is only used to name the file in errors.
pub fn parse(data: &[u8], path: &Path) -> Result<Value> {
    let mut m = Machine {
        data,
        pos: 0,
        path,
        arena: Vec::new(),
        stack: Vec::new(),
        marks: Vec::new(),
        memo: HashMap::new(),
        at: 0,
    };
    let root = m.run()?;
    // Converting a shared object twice copies it: bound the total work so a
    // crafted pickle (a list holding the same list twice, 60 times nested)
    // cannot blow up.
    let mut budget = 4 * m.arena.len() + 1024;
    m.to_value(root, 0, &mut budget)
}

impl Machine<'_> {
    fn err(&self, message: impl std::fmt::Display) -> DataError {
        DataError::parse(
            self.path,
            None,
            format!("pickle, byte offset {}: {message}", self.at),
        )
    }

    fn take(&mut self, n: usize) -> Result<&[u8]> {
        if self.data.len() - self.pos < n {
            return Err(DataError::parse(
                self.path,
                None,
                format!(
                    "pickle, byte offset {}: truncated: needs {n} more bytes, file ends at {}",
                    self.pos,
                    self.data.len()
                ),
            ));
        }
        let s = &self.data[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn byte(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> Result<usize> {
        Ok(u16::from_le_bytes(self.take(2)?.try_into().unwrap()) as usize)
    }

    fn u32(&mut self) -> Result<usize> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().unwrap()) as usize)
    }

    fn line(&mut self) -> Result<String> {
        let rest = &self.data[self.pos..];
        let end = rest.iter().position(|&b| b == b'\n').ok_or_else(|| {
            DataError::parse(
                self.path,
                None,
                format!("pickle, byte offset {}: truncated text argument", self.pos),
            )
        })?;
        let s = String::from_utf8_lossy(&rest[..end]).into_owned();
        self.pos += end + 1;
        Ok(s)
    }

    fn push(&mut self, o: Obj) {
        self.arena.push(o);
        self.stack.push(self.arena.len() - 1);
    }

    fn push_leaf(&mut self, v: Value) {
        self.push(Obj::Leaf(v));
    }

    fn pop(&mut self) -> Result<usize> {
        let floor = self.marks.last().copied().unwrap_or(0);
        if self.stack.len() <= floor {
            return Err(self.err("stack underflow"));
        }
        Ok(self.stack.pop().unwrap())
    }

    fn top(&self) -> Result<usize> {
        let floor = self.marks.last().copied().unwrap_or(0);
        if self.stack.len() <= floor {
            return Err(self.err("stack underflow"));
        }
        Ok(*self.stack.last().unwrap())
    }

    fn pop_mark(&mut self) -> Result<Vec<usize>> {
        let mark = self.marks.pop().ok_or_else(|| self.err("no MARK on the stack"))?;
        Ok(self.stack.split_off(mark))
    }

    fn int_of(&self, i: usize) -> Option<i64> {
        match &self.arena[i] {
            Obj::Leaf(Value::Int(n)) => Some(*n),
            Obj::Leaf(Value::Bool(b)) => Some(*b as i64),
            _ => None,
        }
    }

    fn str_of(&self, i: usize) -> Option<String> {
        match &self.arena[i] {
            Obj::Leaf(v) => v.as_str().map(str::to_owned),
            _ => None,
        }
    }

    fn tuple_of(&self, i: usize) -> Result<Vec<usize>> {
        match &self.arena[i] {
            Obj::Tuple(t) => Ok(t.clone()),
            _ => Err(self.err("expected a tuple of arguments")),
        }
    }

    fn run(&mut self) -> Result<usize> {
        loop {
            self.at = self.pos;
            let op = self.byte()?;
            match op {
                0x80 => {
                    let proto = self.byte()?;
                    if proto > 2 {
                        return Err(self.err(format!("protocol {proto} is not supported (only 0 to 2)")));
                    }
                }
                b'.' => {
                    let top = self.pop()?;
                    return Ok(top);
                }
                b'(' => self.marks.push(self.stack.len()),
                b'0' => {
                    self.pop()?;
                }
                b'1' => {
                    self.pop_mark()?;
                }
                b'2' => {
                    let t = self.top()?;
                    self.stack.push(t);
                }
                b'N' => self.push_leaf(Value::None),
                0x88 => self.push_leaf(Value::Bool(true)),
                0x89 => self.push_leaf(Value::Bool(false)),
                b'I' | b'L' => {
                    let l = self.line()?;
                    let t = l.trim_end_matches('L');
                    let v = match t {
                        "01" if op == b'I' => Value::Bool(true),
                        "00" if op == b'I' => Value::Bool(false),
                        _ => Value::Int(t.parse().map_err(|_| self.err(format!("bad integer `{l}`")))?),
                    };
                    self.push_leaf(v);
                }
                b'J' => {
                    let v = i32::from_le_bytes(self.take(4)?.try_into().unwrap());
                    self.push_leaf(Value::Int(v as i64));
                }
                b'K' => {
                    let v = self.byte()?;
                    self.push_leaf(Value::Int(v as i64));
                }
                b'M' => {
                    let v = self.u16()?;
                    self.push_leaf(Value::Int(v as i64));
                }
                0x8a | 0x8b => {
                    let n = if op == 0x8a {
                        self.byte()? as usize
                    } else {
                        self.u32()?
                    };
                    if n > 8 {
                        return Err(self.err(format!("integer of {n} bytes does not fit i64")));
                    }
                    let mut b = self.take(n)?.to_vec();
                    b.reverse();
                    self.push_leaf(Value::Int(be_signed(&b)));
                }
                b'F' => {
                    let l = self.line()?;
                    let v = l
                        .trim()
                        .parse()
                        .map_err(|_| self.err(format!("bad float `{l}`")))?;
                    self.push_leaf(Value::Float(v));
                }
                b'G' => {
                    let v = f64::from_be_bytes(self.take(8)?.try_into().unwrap());
                    self.push_leaf(Value::Float(v));
                }
                b'S' => {
                    let l = self.line()?;
                    let v = unquote(&l).ok_or_else(|| self.err(format!("bad string literal `{l}`")))?;
                    self.push_leaf(Value::Bytes(v));
                }
                b'T' | b'U' => {
                    let n = if op == b'T' {
                        self.u32()?
                    } else {
                        self.byte()? as usize
                    };
                    let b = self.take(n)?.to_vec();
                    self.push_leaf(Value::Bytes(b));
                }
                b'X' => {
                    let n = self.u32()?;
                    let b = self.take(n)?.to_vec();
                    let s = String::from_utf8(b).map_err(|_| self.err("BINUNICODE is not UTF-8"))?;
                    self.push_leaf(Value::Str(s));
                }
                b'V' => {
                    let l = self.line()?;
                    self.push_leaf(Value::Str(l));
                }
                b')' => self.push(Obj::Tuple(Vec::new())),
                b't' => {
                    let items = self.pop_mark()?;
                    self.push(Obj::Tuple(items));
                }
                0x85..=0x87 => {
                    let n = (op - 0x84) as usize;
                    let mut items = Vec::with_capacity(n);
                    for _ in 0..n {
                        items.push(self.pop()?);
                    }
                    items.reverse();
                    self.push(Obj::Tuple(items));
                }
                b']' => self.push(Obj::List(Vec::new())),
                b'l' => {
                    let items = self.pop_mark()?;
                    self.push(Obj::List(items));
                }
                b'a' | b'e' => {
                    let items = if op == b'a' {
                        vec![self.pop()?]
                    } else {
                        self.pop_mark()?
                    };
                    let l = self.top()?;
                    match &mut self.arena[l] {
                        Obj::List(v) => v.extend(items),
                        _ => return Err(self.err("APPEND to something that is not a list")),
                    }
                }
                b'}' => self.push(Obj::Dict(Vec::new())),
                b'd' => {
                    let items = self.pop_mark()?;
                    let pairs = self.pairs(items)?;
                    self.push(Obj::Dict(pairs));
                }
                b's' | b'u' => {
                    let items = if op == b's' {
                        let v = self.pop()?;
                        let k = self.pop()?;
                        vec![k, v]
                    } else {
                        self.pop_mark()?
                    };
                    let pairs = self.pairs(items)?;
                    let d = self.top()?;
                    match &mut self.arena[d] {
                        Obj::Dict(v) => v.extend(pairs),
                        _ => return Err(self.err("SETITEM on something that is not a dict")),
                    }
                }
                b'p' | b'q' | b'r' => {
                    let key = match op {
                        b'p' => self
                            .line()?
                            .trim()
                            .parse()
                            .map_err(|_| self.err("bad PUT index"))?,
                        b'q' => self.byte()? as u64,
                        _ => self.u32()? as u64,
                    };
                    let t = self.top()?;
                    self.memo.insert(key, t);
                }
                b'g' | b'h' | b'j' => {
                    let key = match op {
                        b'g' => self
                            .line()?
                            .trim()
                            .parse()
                            .map_err(|_| self.err("bad GET index"))?,
                        b'h' => self.byte()? as u64,
                        _ => self.u32()? as u64,
                    };
                    let v = *self
                        .memo
                        .get(&key)
                        .ok_or_else(|| self.err(format!("memo key {key} is not set")))?;
                    self.stack.push(v);
                }
                b'c' => {
                    let module = self.line()?;
                    let name = self.line()?;
                    let class = known_global(&module, &name).ok_or_else(|| {
                        self.err(format!(
                            "refusing global `{module}.{name}`: only scipy csr_matrix, numpy arrays and \
                             dtypes, collections.defaultdict and plain containers are read"
                        ))
                    })?;
                    self.push(Obj::Global(class));
                }
                b'R' => {
                    let args = self.pop()?;
                    let f = self.pop()?;
                    let o = self.reduce(f, args)?;
                    self.push(o);
                }
                0x81 => {
                    let args = self.pop()?;
                    let cls = self.pop()?;
                    match (&self.arena[cls], &self.arena[args]) {
                        (Obj::Global(Class::CsrMatrix), Obj::Tuple(a)) if a.is_empty() => {
                            self.push(Obj::Csr(None))
                        }
                        _ => return Err(self.err("NEWOBJ of something other than csr_matrix()")),
                    }
                }
                b'b' => {
                    let state = self.pop()?;
                    let target = self.top()?;
                    self.build(target, state)?;
                }
                other => {
                    return Err(self.err(format!(
                        "opcode 0x{other:02x} is not supported by this restricted reader"
                    )))
                }
            }
        }
    }

    fn pairs(&self, items: Vec<usize>) -> Result<Vec<(usize, usize)>> {
        if !items.len().is_multiple_of(2) {
            return Err(self.err("odd number of items for a dict"));
        }
        Ok(items.chunks(2).map(|c| (c[0], c[1])).collect())
    }

    fn reduce(&self, f: usize, args: usize) -> Result<Obj> {
        let class = match &self.arena[f] {
            Obj::Global(c) => *c,
            _ => return Err(self.err("REDUCE of something that is not a known global")),
        };
        let a = self.tuple_of(args)?;
        let is = |i: usize, c: Class| {
            a.get(i)
                .is_some_and(|&x| matches!(self.arena[x], Obj::Global(g) if g == c))
        };
        match class {
            // defaultdict(list): a dict whose missing keys are lists.
            Class::DefaultDict if a.len() == 1 && is(0, Class::List) => Ok(Obj::Dict(Vec::new())),
            Class::Reconstruct if a.len() == 3 && is(0, Class::NdArray) => Ok(Obj::PendingArray(None)),
            Class::Dtype if !a.is_empty() => {
                let code = self
                    .str_of(a[0])
                    .ok_or_else(|| self.err("numpy.dtype needs a type string"))?;
                let (order, code) = match code.chars().next() {
                    Some(c @ ('<' | '>' | '|' | '=')) => (c, code[1..].to_string()),
                    _ => ('=', code),
                };
                Ok(Obj::Dtype(Dtype {
                    code,
                    byteorder: order,
                }))
            }
            Class::CopyRegReconstructor
                if a.len() == 3 && is(0, Class::CsrMatrix) && is(1, Class::Object) =>
            {
                Ok(Obj::Csr(None))
            }
            other => Err(self.err(format!("cannot call {other:?} with these arguments"))),
        }
    }

    fn build(&mut self, target: usize, state: usize) -> Result<()> {
        match &self.arena[target] {
            Obj::Dtype(_) => {
                // State: (version, byteorder, subarray, names, fields, elsize, alignment, flags).
                let s = self.tuple_of(state)?;
                let order = s
                    .get(1)
                    .and_then(|&i| self.str_of(i))
                    .ok_or_else(|| self.err("bad dtype state"))?;
                if s.get(3)
                    .is_some_and(|&i| !matches!(self.arena[i], Obj::Leaf(Value::None)))
                {
                    return Err(self.err("structured dtypes are not supported"));
                }
                let order = match order.as_str() {
                    "<" | ">" | "|" | "=" => order.chars().next().unwrap(),
                    o => return Err(self.err(format!("bad dtype byte order `{o}`"))),
                };
                if let Obj::Dtype(d) = &mut self.arena[target] {
                    d.byteorder = order;
                }
            }
            Obj::PendingArray(None) => {
                // State: (version, shape, dtype, is_fortran, raw bytes).
                let s = self.tuple_of(state)?;
                if s.len() != 5 {
                    return Err(self.err("numpy array state is not a 5-tuple"));
                }
                let shape = match &self.arena[s[1]] {
                    Obj::Tuple(t) => t
                        .iter()
                        .map(|&i| match self.int_of(i) {
                            Some(n) if n >= 0 => Ok(n as usize),
                            _ => Err(self.err("array shape must be non-negative ints")),
                        })
                        .collect::<Result<Vec<_>>>()?,
                    _ => return Err(self.err("array shape is not a tuple")),
                };
                let dtype = match &self.arena[s[2]] {
                    Obj::Dtype(d) => d.clone(),
                    _ => return Err(self.err("array dtype is not a numpy.dtype")),
                };
                let fortran = self.int_of(s[3]).ok_or_else(|| self.err("bad fortran flag"))? != 0;
                let data = match &self.arena[s[4]] {
                    Obj::Leaf(Value::Bytes(b)) => b.clone(),
                    // Object arrays pickle a list of objects here: refuse them.
                    _ => return Err(self.err("array data is not a byte string (object arrays are refused)")),
                };
                let size = dtype
                    .itemsize()
                    .ok_or_else(|| self.err(format!("unsupported array dtype `{}`", dtype.code)))?;
                let n = shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
                if n.and_then(|n| n.checked_mul(size)) != Some(data.len()) {
                    return Err(self.err(format!(
                        "array of shape {shape:?} and dtype {} does not match its {} data bytes",
                        dtype.code,
                        data.len()
                    )));
                }
                self.arena[target] = Obj::PendingArray(Some(NdArray {
                    shape,
                    dtype,
                    fortran,
                    data,
                }));
            }
            Obj::Csr(None) => {
                if !matches!(self.arena[state], Obj::Dict(_)) {
                    return Err(self.err("csr_matrix state is not a dict"));
                }
                self.arena[target] = Obj::Csr(Some(state));
            }
            _ => return Err(self.err("BUILD of an object that takes no state")),
        }
        Ok(())
    }

    fn to_value(&self, i: usize, depth: usize, budget: &mut usize) -> Result<Value> {
        if depth > MAX_DEPTH || *budget == 0 {
            return Err(self.err("object graph too deep, cyclic or too shared"));
        }
        *budget -= 1;
        let conv = |xs: &[usize], budget: &mut usize| -> Result<Vec<Value>> {
            xs.iter().map(|&x| self.to_value(x, depth + 1, budget)).collect()
        };
        let conv_pairs = |xs: &[(usize, usize)], budget: &mut usize| -> Result<Vec<(Value, Value)>> {
            xs.iter()
                .map(|&(k, v)| {
                    Ok((
                        self.to_value(k, depth + 1, budget)?,
                        self.to_value(v, depth + 1, budget)?,
                    ))
                })
                .collect()
        };
        Ok(match &self.arena[i] {
            Obj::Leaf(v) => v.clone(),
            Obj::Tuple(t) => Value::Tuple(conv(t, budget)?),
            Obj::List(l) => Value::List(conv(l, budget)?),
            Obj::Dict(d) => Value::Dict(conv_pairs(d, budget)?),
            Obj::Dtype(d) => Value::Dtype(d.clone()),
            Obj::PendingArray(Some(a)) => Value::Array(a.clone()),
            Obj::Csr(Some(s)) => match self.to_value(*s, depth + 1, budget)? {
                Value::Dict(items) => Value::CsrMatrix(items),
                _ => unreachable!("BUILD checked the state is a dict"),
            },
            Obj::Global(c) => return Err(self.err(format!("a bare global {c:?} is not a value"))),
            Obj::PendingArray(None) | Obj::Csr(None) => {
                return Err(self.err("object was created but never given its state"))
            }
        })
    }
}

/// Decodes a protocol-0 quoted string literal (`'abc'` or `"a\x00"`).
fn unquote(l: &str) -> Option<Vec<u8>> {
    let b = l.as_bytes();
    if b.len() < 2 || b[0] != b[b.len() - 1] || !(b[0] == b'\'' || b[0] == b'"') {
        return None;
    }
    let inner = &b[1..b.len() - 1];
    let mut out = Vec::with_capacity(inner.len());
    let mut i = 0;
    while i < inner.len() {
        if inner[i] != b'\\' {
            out.push(inner[i]);
            i += 1;
            continue;
        }
        let c = *inner.get(i + 1)?;
        i += 2;
        match c {
            b'n' => out.push(b'\n'),
            b't' => out.push(b'\t'),
            b'r' => out.push(b'\r'),
            b'\\' | b'\'' | b'"' => out.push(c),
            b'x' => {
                let h = std::str::from_utf8(inner.get(i..i + 2)?).ok()?;
                out.push(u8::from_str_radix(h, 16).ok()?);
                i += 2;
            }
            _ => return None,
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(b: &[u8]) -> Result<Value> {
        parse(b, Path::new("t.pkl"))
    }

    #[test]
    fn containers_memo_and_protocol_zero() {
        // Python 2: pickle.dumps({'a': [1, 2], 'b': (None, True)}, 0)
        let v = p(b"(dp0\nS'a'\np1\n(lp2\nI1\naI2\nasS'b'\np3\n(NI01\ntp4\ns.").unwrap();
        assert_eq!(v.get("a"), Some(&Value::List(vec![Value::Int(1), Value::Int(2)])));
        assert_eq!(
            v.get("b"),
            Some(&Value::Tuple(vec![Value::None, Value::Bool(true)]))
        );
        // A memoised list appended to after its PUT is seen through GET.
        let v = p(b"\x80\x02]q\x00h\x00K\x07a\x86.").unwrap();
        let l = Value::List(vec![Value::Int(7)]);
        assert_eq!(v, Value::Tuple(vec![l.clone(), l]));
    }

    #[test]
    fn ints_of_every_width() {
        let v = p(b"\x80\x02(K\xffM\xff\xffJ\xfe\xff\xff\xff\x8a\x02\x00\x80\x8a\x00t.").unwrap();
        assert_eq!(
            v,
            Value::Tuple(vec![
                Value::Int(255),
                Value::Int(65535),
                Value::Int(-2),
                Value::Int(-32768),
                Value::Int(0)
            ])
        );
    }

    #[test]
    fn code_execution_globals_are_refused_by_name() {
        let e = p(b"cos\nsystem\n(S'echo hi'\ntR.").unwrap_err().to_string();
        assert!(
            e.contains("t.pkl") && e.contains("os.system") && e.contains("refusing"),
            "{e}"
        );
        let e = p(b"c__builtin__\neval\n.").unwrap_err().to_string();
        assert!(e.contains("__builtin__.eval"), "{e}");
    }

    #[test]
    fn truncation_cycles_and_sharing_are_errors_not_hangs() {
        let e = p(b"\x80\x02T\xff\xff\xff\x7fabc").unwrap_err().to_string();
        assert!(e.contains("truncated"), "{e}");
        assert!(p(b"\x80\x02]q\x00h\x00a.").is_err()); // a list containing itself
                                                       // 40 levels of a list holding the same list twice: 2^40 nodes if copied.
        let mut b = b"\x80\x02]".to_vec();
        for _ in 0..40 {
            b.extend_from_slice(b"q\x00h\x00\x86");
        }
        b.push(b'.');
        assert!(p(&b).is_err());
        assert!(p(b"\x80\x03N.").unwrap_err().to_string().contains("protocol 3"));
        assert!(p(b"").is_err());
        assert!(p(b"N").is_err());
    }
}
