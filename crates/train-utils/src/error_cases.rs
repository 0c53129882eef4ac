//! A table-driven harness for error tests: each [`Case`] runs a fallible call
//! that must either fail with a message holding given pieces, or succeed with
//! a finite tensor of a given shape. Panics are caught and reported as
//! failures, so one bad case does not hide the others. Every seqgraph crate's
//! `tests/errors.rs` uses it; a layer author can use it for theirs.
//!
//! ```
//! use tch::{Device, Kind, Tensor};
//! use train_utils::error_cases::{case, run_cases, Expect};
//!
//! let cases = vec![
//!     case("reshape to a wrong size", Expect::Err(&["shape"]), || {
//!         Tensor::zeros([2, 3], (Kind::Float, Device::Cpu)).f_view([4]).map_err(|e| e.to_string())
//!     }),
//!     case("a valid reshape", Expect::Ok(&[6]), || {
//!         Tensor::zeros([2, 3], (Kind::Float, Device::Cpu)).f_view([6]).map_err(|e| e.to_string())
//!     }),
//! ];
//! assert!(run_cases(cases).is_empty());
//! ```

use std::panic::{catch_unwind, AssertUnwindSafe};
use tch::Tensor;

/// What a case must do.
#[derive(Debug, Clone, Copy)]
pub enum Expect {
    /// Fail with a message holding every one of these pieces.
    Err(&'static [&'static str]),
    /// Succeed with a finite output of this shape.
    Ok(&'static [i64]),
}

/// What a case's call gives: the output, or the error's message.
pub type Outcome = Result<Tensor, String>;

/// One named call and what it must do.
pub struct Case {
    /// Printed with the outcome and in the failure list.
    pub name: &'static str,
    /// What it must do.
    pub expect: Expect,
    run: Box<dyn FnOnce() -> Outcome>,
}

/// A case named `name` running `run`.
pub fn case(name: &'static str, expect: Expect, run: impl FnOnce() -> Outcome + 'static) -> Case {
    Case {
        name,
        expect,
        run: Box::new(run),
    }
}

/// The message of a caught panic (`String` or `&str` payloads).
pub fn panic_message(p: Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<String>()
        .cloned()
        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "(non-string panic)".into())
}

/// Runs every case, printing each outcome; returns one line per case that did
/// not do what it must (empty when all did).
pub fn run_cases(cases: Vec<Case>) -> Vec<String> {
    let mut failures = Vec::new();
    for c in cases {
        let outcome = catch_unwind(AssertUnwindSafe(c.run)).map_err(panic_message);
        let verdict = match (&c.expect, outcome) {
            (_, Err(panic)) => Err(format!("panicked: {}", panic.lines().next().unwrap_or(""))),
            (Expect::Err(parts), Ok(Err(msg))) => {
                let missing: Vec<_> = parts.iter().filter(|p| !msg.contains(**p)).collect();
                println!("{:<55} error: {msg}", c.name);
                if missing.is_empty() {
                    Ok(())
                } else {
                    Err(format!("message `{msg}` lacks {missing:?}"))
                }
            }
            (Expect::Err(_), Ok(Ok(t))) => Err(format!("accepted, gave shape {:?}", t.size())),
            (Expect::Ok(shape), Ok(Ok(t))) => {
                println!("{:<55} ok: {:?}", c.name, t.size());
                let finite = t.numel() == 0 || t.isfinite().all().int64_value(&[]) == 1;
                if t.size() == *shape && finite {
                    Ok(())
                } else {
                    Err(format!("gave shape {:?} (finite: {finite})", t.size()))
                }
            }
            (Expect::Ok(_), Ok(Err(msg))) => Err(format!("refused a valid input: {msg}")),
        };
        if let Err(why) = verdict {
            failures.push(format!("{}: {why}", c.name));
        }
    }
    failures
}
