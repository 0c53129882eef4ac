//! The UEA/UCR `.ts` format (sktime, timeseriesclassification.com):
//! `#` comment lines, `@` header lines (`@problemName`, `@dimensions`,
//! `@missing`, `@timeStamps`, `@classLabel true A B C`, `@data`), then one
//! case a line: channels separated by `:`, values of a channel by `,`,
//! the class label last. Sequences may differ in length (JapaneseVowels:
//! 7 to 29 steps); channels of one case may not.
//!
//! ```
//! let text = "@problemName toy\n@classLabel true a b\n@data\n1,2,3:4,5,6:b\n7,8:9,10:a\n";
//! let d = graph_data::ts::parse(text, "toy.ts".as_ref()).unwrap();
//! assert_eq!((d.channels, d.lengths()), (2, vec![3, 2]));
//! assert_eq!(d.series[0], vec![1.0, 4.0, 2.0, 5.0, 3.0, 6.0]); // T x C, row-major
//! assert_eq!(d.labels, vec![1, 0]);
//! ```

use std::path::Path;

use crate::dataset::SequenceDataset;
use crate::error::{DataError, Result};
use crate::fetch::{Fetcher, Manifest};

/// The train and test parts of a UEA/UCR data set.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainTest {
    /// The `_TRAIN.ts` part.
    pub train: SequenceDataset,
    /// The `_TEST.ts` part.
    pub test: SequenceDataset,
}

/// Fetches a UEA/UCR data set named in the manifest (`japanese-vowels`,
/// `gunpoint`, ...) and reads its `_TRAIN.ts` and `_TEST.ts` files.
pub fn load(name: &str, fetcher: &Fetcher) -> Result<TrainTest> {
    let manifest = Manifest::builtin()?;
    let ds = manifest.get(name)?;
    let folder = fetcher.fetch(ds)?;
    let find = |suffix: &str| {
        ds.files
            .iter()
            .find(|f| f.path.ends_with(suffix))
            .map(|f| folder.join(&f.path))
            .ok_or_else(|| DataError::Manifest(format!("data set `{name}` has no `*{suffix}` file")))
    };
    let train = read(&find("_TRAIN.ts")?)?;
    let test_path = find("_TEST.ts")?;
    let test = read(&test_path)?;
    if train.class_names != test.class_names || train.channels != test.channels {
        return Err(DataError::parse(
            &test_path,
            None,
            format!(
                "classes {:?} and {} channels differ from the training file's {:?} and {}",
                test.class_names, test.channels, train.class_names, train.channels
            ),
        ));
    }
    Ok(TrainTest { train, test })
}

/// Reads one `.ts` file.
pub fn read(path: &Path) -> Result<SequenceDataset> {
    let bytes = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
    let text = String::from_utf8(bytes).map_err(|e| {
        DataError::parse(
            path,
            None,
            format!("not UTF-8 text (byte {})", e.utf8_error().valid_up_to()),
        )
    })?;
    parse(&text, path)
}

/// Parses `.ts` text; `path` names the file in errors.
pub fn parse(text: &str, path: &Path) -> Result<SequenceDataset> {
    let err = |line: usize, m: String| DataError::parse(path, Some(line), m);
    let mut name = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut classes: Option<Vec<String>> = None;
    let mut dimensions: Option<usize> = None;
    let mut missing_allowed = false;
    let mut in_data = false;
    let mut d = SequenceDataset {
        name: String::new(),
        channels: 0,
        series: vec![],
        labels: vec![],
        class_names: vec![],
    };

    for (i, raw) in text.lines().enumerate() {
        let line_no = i + 1;
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if !in_data {
            let Some(header) = line.strip_prefix('@') else {
                return Err(err(line_no, "data before the `@data` line".into()));
            };
            let mut words = header.split_whitespace();
            let key = words.next().unwrap_or("").to_ascii_lowercase();
            let words: Vec<&str> = words.collect();
            let flag = |w: &[&str]| match w.first().map(|s| s.to_ascii_lowercase()).as_deref() {
                Some("true") => Ok(true),
                Some("false") => Ok(false),
                _ => Err(err(line_no, format!("`@{key}` needs true or false"))),
            };
            match key.as_str() {
                "problemname" => name = words.join(" "),
                "timestamps" if flag(&words)? => {
                    return Err(err(line_no, "time-stamped `.ts` files are not supported".into()))
                }
                "missing" => missing_allowed = flag(&words)?,
                "dimensions" => {
                    let n = words
                        .first()
                        .and_then(|w| w.parse().ok())
                        .filter(|&n: &usize| n > 0);
                    dimensions =
                        Some(n.ok_or_else(|| err(line_no, "`@dimensions` needs a positive count".into()))?);
                }
                "classlabel" if flag(&words)? => {
                    if words.len() < 2 {
                        return Err(err(line_no, "`@classLabel true` lists no class".into()));
                    }
                    classes = Some(words[1..].iter().map(|s| s.to_string()).collect());
                }
                "data" => {
                    if classes.is_none() {
                        return Err(err(
                            line_no,
                            "no `@classLabel true ...` header before `@data`".into(),
                        ));
                    }
                    in_data = true;
                }
                // Informational headers (univariate, equalLength, seriesLength, ...).
                _ => {}
            }
            continue;
        }
        let classes = classes.as_ref().expect("checked at @data");
        let (body, label) = line
            .rsplit_once(':')
            .ok_or_else(|| err(line_no, "no `:` before the class label".into()))?;
        let label = label.trim();
        let class = classes.iter().position(|c| c == label).ok_or_else(|| {
            err(
                line_no,
                format!("class label `{label}` is not one of {classes:?}"),
            )
        })?;
        let mut chans: Vec<Vec<f32>> = Vec::new();
        for (c, chan) in body.split(':').enumerate() {
            let vals = chan
                .split(',')
                .enumerate()
                .map(|(j, v)| match v.trim() {
                    "?" | "NaN" if missing_allowed => Ok(f32::NAN),
                    "?" | "NaN" => Err(err(
                        line_no,
                        format!("channel {c}, value {j}: missing, but `@missing false`"),
                    )),
                    s => s.parse::<f32>().ok().filter(|x| x.is_finite()).ok_or_else(|| {
                        err(
                            line_no,
                            format!("channel {c}, value {j}: `{s}` is not a finite number"),
                        )
                    }),
                })
                .collect::<Result<Vec<f32>>>()?;
            if let Some(first) = chans.first() {
                if first.len() != vals.len() {
                    let m = format!(
                        "channel {c} has {} values, channel 0 has {}",
                        vals.len(),
                        first.len()
                    );
                    return Err(err(line_no, m));
                }
            }
            chans.push(vals);
        }
        let expected = dimensions.unwrap_or(if d.series.is_empty() {
            chans.len()
        } else {
            d.channels
        });
        if chans.len() != expected {
            let m = format!("{} channels, expected {expected}", chans.len());
            return Err(err(line_no, m));
        }
        d.channels = expected;
        let t = chans[0].len();
        let mut s = Vec::with_capacity(t * expected);
        for step in 0..t {
            s.extend(chans.iter().map(|c| c[step]));
        }
        d.series.push(s);
        d.labels.push(class as i64);
    }
    if !in_data {
        return Err(DataError::parse(path, None, "no `@data` line".to_string()));
    }
    d.name = name;
    d.class_names = classes.unwrap_or_default();
    if d.channels == 0 {
        d.channels = dimensions.unwrap_or(1);
    }
    Ok(d)
}
