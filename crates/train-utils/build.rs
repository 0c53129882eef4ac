//! Compiles `src/block_cache.cpp` (a CPU allocator registered with c10) and
//! the custom autograd functions `src/sparse_mm.cpp` (a sparse product with a
//! cached transpose), `src/pair_dot.cpp` (inner products of row pairs) and
//! `src/small_linear.cpp` (a linear map with a small weight over many rows)
//! and `src/gru_update.cpp` (the GRU's state update)
//! against the libtorch that torch-sys links: `$LIBTORCH` (set by the
//! workspace's `.cargo/config.toml`), else the library folder torch-sys
//! reports (`DEP_TCH_LIBTORCH_LIB`, e.g. with `LIBTORCH_USE_PYTORCH`).

use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-changed=src/block_cache.cpp");
    println!("cargo:rerun-if-changed=src/sparse_mm.cpp");
    println!("cargo:rerun-if-changed=src/pair_dot.cpp");
    println!("cargo:rerun-if-changed=src/small_linear.cpp");
    println!("cargo:rerun-if-changed=src/gru_update.cpp");
    println!("cargo:rerun-if-changed=src/shim.h");
    println!("cargo:rerun-if-env-changed=LIBTORCH");
    let from_env = std::env::var_os("LIBTORCH").map(PathBuf::from);
    let from_torch_sys = std::env::var_os("DEP_TCH_LIBTORCH_LIB")
        .map(PathBuf::from)
        .and_then(|lib| lib.parent().map(PathBuf::from));
    let libtorch = from_env
        .filter(|p| p.join("include").is_dir())
        .or(from_torch_sys)
        .expect("LIBTORCH (or torch-sys's libtorch_lib) names the libtorch folder");
    cc::Build::new()
        .cpp(true)
        .file("src/block_cache.cpp")
        .include(libtorch.join("include"))
        .flag("-std=c++17")
        .flag("-D_GLIBCXX_USE_CXX11_ABI=1")
        .flag("-DGLOG_USE_GLOG_EXPORT")
        .warnings(false)
        .compile("seqgraph_block_cache");
    cc::Build::new()
        .cpp(true)
        .file("src/sparse_mm.cpp")
        .file("src/pair_dot.cpp")
        .file("src/small_linear.cpp")
        .file("src/gru_update.cpp")
        .include(libtorch.join("include"))
        .include(libtorch.join("include/torch/csrc/api/include"))
        .flag("-std=c++17")
        .flag("-D_GLIBCXX_USE_CXX11_ABI=1")
        .flag("-DGLOG_USE_GLOG_EXPORT")
        .flag("-O3")
        .flag("-Wno-psabi")
        .warnings(false)
        .compile("seqgraph_sparse_mm");
    println!(
        "cargo:rustc-link-search=native={}",
        libtorch.join("lib").display()
    );
    println!("cargo:rustc-link-lib=dylib=c10");
    println!("cargo:rustc-link-lib=dylib=torch_cpu");
}
