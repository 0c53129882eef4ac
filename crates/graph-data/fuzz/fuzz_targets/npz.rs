//! `.npz` archives and `.npy` arrays: Ok or Err on any bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = std::path::Path::new("fuzz.npz");
    let _ = graph_data::npy::parse_npy(data, path);
    if let Ok(arrays) = graph_data::npy::read_npz_from(std::io::Cursor::new(data), path) {
        let _ = graph_data::gnn_benchmark::from_arrays(&arrays, path);
    }
});
