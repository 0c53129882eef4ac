//! The restricted pickle reader must return Ok or Err on any bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = std::path::Path::new("fuzz.pkl");
    if let Ok(v) = graph_data::pickle::parse(data, path) {
        let _ = graph_data::pickle::to_sparse(&v, path, "fuzz");
    }
});
