//! Compiles `src/c10d_shim.cpp` against the libtorch that torch-sys links
//! (`$LIBTORCH`, set by the workspace's `.cargo/config.toml`).

use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-changed=src/c10d_shim.cpp");
    println!("cargo:rerun-if-env-changed=LIBTORCH");
    let libtorch = PathBuf::from(std::env::var("LIBTORCH").expect("LIBTORCH names the libtorch folder"));
    // The shim hard-codes ProcessGroupGloo's size and mangled names (no Gloo
    // headers ship with pip's libtorch): refuse any other version.
    // `build-version` in a libtorch zip (and in `cargo xtask setup`'s install), `version.py` in pip's.
    let read = |file: &str| std::fs::read_to_string(libtorch.join(file)).unwrap_or_default();
    if !(read("build-version").starts_with("2.13.0") || read("version.py").contains("'2.13.0")) {
        panic!(
            "seqgraph-dist's c10d shim is written for libtorch 2.13.0; {} has another version",
            libtorch.display()
        );
    }
    cc::Build::new()
        .cpp(true)
        .file("src/c10d_shim.cpp")
        .include(libtorch.join("include"))
        .include(libtorch.join("include/torch/csrc/api/include"))
        .flag("-std=c++17")
        .flag("-D_GLIBCXX_USE_CXX11_ABI=1")
        .flag("-DGLOG_USE_GLOG_EXPORT")
        .warnings(false)
        .compile("seqgraph_c10d_shim");
    println!(
        "cargo:rustc-link-search=native={}",
        libtorch.join("lib").display()
    );
    println!("cargo:rustc-link-lib=dylib=torch_cpu");
    println!("cargo:rustc-link-lib=dylib=c10");
}
