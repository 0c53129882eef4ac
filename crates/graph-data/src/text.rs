//! Sequences from text: plain text as a character vocabulary (Moby Dick,
//! for character-level language models), and single-column series CSV
//! files (sunspots, Airline passengers, Mauna Loa CO2) whose missing values
//! are reported, never silently read as zero.
//!
//! ```
//! use graph_data::text::CharVocab;
//! let v = CharVocab::from_text("hello");
//! assert_eq!(v.len(), 4); // e h l o
//! let ids = v.encode("hole").unwrap();
//! assert_eq!(v.decode(&ids).unwrap(), "hole");
//! assert!(v.encode("x").is_err());
//! ```

use std::collections::HashMap;
use std::path::Path;

use crate::error::{DataError, Result};
use crate::fetch::{Fetcher, Manifest};

/// The distinct characters of a text, sorted, each with an id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CharVocab {
    chars: Vec<char>,
    index: HashMap<char, u32>,
}

impl CharVocab {
    /// The vocabulary of a text: its distinct characters in code point order.
    pub fn from_text(text: &str) -> Self {
        let mut chars: Vec<char> = text.chars().collect();
        chars.sort_unstable();
        chars.dedup();
        let index = chars.iter().enumerate().map(|(i, &c)| (c, i as u32)).collect();
        CharVocab { chars, index }
    }

    /// Number of distinct characters.
    pub fn len(&self) -> usize {
        self.chars.len()
    }

    /// True for the vocabulary of an empty text.
    pub fn is_empty(&self) -> bool {
        self.chars.is_empty()
    }

    /// The characters, in id order.
    pub fn chars(&self) -> &[char] {
        &self.chars
    }

    /// Id of each character; a character outside the vocabulary is an error.
    pub fn encode(&self, text: &str) -> Result<Vec<u32>> {
        text.chars()
            .enumerate()
            .map(|(i, c)| {
                self.index.get(&c).copied().ok_or_else(|| {
                    DataError::Invalid(format!("character {c:?} at {i} is not in the vocabulary"))
                })
            })
            .collect()
    }

    /// The text of a sequence of ids; an id outside the vocabulary is an error.
    pub fn decode(&self, ids: &[u32]) -> Result<String> {
        ids.iter()
            .map(|&i| {
                self.chars.get(i as usize).copied().ok_or_else(|| {
                    DataError::Invalid(format!("id {i} is outside the vocabulary of {}", self.len()))
                })
            })
            .collect()
    }
}

/// Reads a UTF-8 text file.
pub fn read_text(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
    String::from_utf8(bytes).map_err(|e| {
        DataError::parse(
            path,
            None,
            format!("not UTF-8 text (byte {})", e.utf8_error().valid_up_to()),
        )
    })
}

/// Moby Dick (1,204,997 bytes of UTF-8) with its character vocabulary.
pub fn load_moby_dick(fetcher: &Fetcher) -> Result<(String, CharVocab)> {
    let folder = fetcher.fetch_named("moby-dick")?;
    let text = read_text(&folder.join("moby_dick.txt"))?;
    let vocab = CharVocab::from_text(&text);
    Ok((text, vocab))
}

/// A univariate series read from a two-column CSV (time label, value).
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Name of the value column (from the header).
    pub column: String,
    /// The time label of each value, as written.
    pub time: Vec<String>,
    /// The values; missing ones are NaN and listed in `missing`.
    pub values: Vec<f32>,
    /// Positions of missing values (empty, `NA`, `NaN` fields).
    pub missing: Vec<usize>,
}

impl Series {
    /// Number of values, missing ones included.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// True when the series is empty.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Fills missing values by linear interpolation between their known
    /// neighbours (the nearest known value at either end). A series with no
    /// known value is an error.
    pub fn fill_linear(&mut self) -> Result<()> {
        let known: Vec<usize> = (0..self.len()).filter(|&i| self.values[i].is_finite()).collect();
        let (Some(&first), Some(&last)) = (known.first(), known.last()) else {
            return Err(DataError::Invalid(format!(
                "series `{}` has no known value",
                self.column
            )));
        };
        for &i in &self.missing {
            self.values[i] = if i < first {
                self.values[first]
            } else if i > last {
                self.values[last]
            } else {
                let k = known.partition_point(|&j| j < i);
                let (a, b) = (known[k - 1], known[k]);
                let t = (i - a) as f32 / (b - a) as f32;
                self.values[a] + t * (self.values[b] - self.values[a])
            };
        }
        self.missing.clear();
        Ok(())
    }
}

/// Reads a series CSV: a header line, then `time,value` lines. Empty, `NA`
/// and `NaN` values are missing (NaN, listed in [`Series::missing`]);
/// anything else that is not a number is an error naming the line.
pub fn read_series(path: &Path) -> Result<Series> {
    let text = read_text(path)?;
    let mut lines = text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty());
    let (_, header) = lines
        .next()
        .ok_or_else(|| DataError::parse(path, Some(1), "empty file: no header"))?;
    let cols: Vec<&str> = header.split(',').map(|s| s.trim().trim_matches('"')).collect();
    if cols.len() != 2 {
        return Err(DataError::parse(
            path,
            Some(1),
            format!("{} header columns, expected 2", cols.len()),
        ));
    }
    let mut s = Series {
        column: cols[1].to_string(),
        time: vec![],
        values: vec![],
        missing: vec![],
    };
    for (i, l) in lines {
        let f: Vec<&str> = l.split(',').map(|x| x.trim().trim_matches('"')).collect();
        if f.len() != 2 {
            return Err(DataError::parse(
                path,
                Some(i + 1),
                format!("{} fields, expected 2", f.len()),
            ));
        }
        let v = match f[1] {
            "" | "NA" | "NaN" | "nan" => {
                s.missing.push(s.values.len());
                f32::NAN
            }
            x => x.parse::<f32>().ok().filter(|v| v.is_finite()).ok_or_else(|| {
                DataError::parse(
                    path,
                    Some(i + 1),
                    format!("value `{x}` is not a number (nor empty/NA)"),
                )
            })?,
        };
        s.time.push(f[0].to_string());
        s.values.push(v);
    }
    Ok(s)
}

/// A series data set by manifest name (`sunspots`, `airline`, `co2`).
pub fn load_series(name: &str, fetcher: &Fetcher) -> Result<Series> {
    let manifest = Manifest::builtin()?;
    let ds = manifest.get(name)?;
    let folder = fetcher.fetch(ds)?;
    let file = ds
        .files
        .iter()
        .find(|f| f.path.ends_with(".csv"))
        .ok_or_else(|| DataError::Manifest(format!("data set `{name}` has no .csv file")))?;
    read_series(&folder.join(&file.path))
}
