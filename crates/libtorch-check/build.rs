//! Runs before `torch-sys` gets a chance to fail with a C++ compiler error:
//! this crate has no dependencies, so cargo builds it first.

use std::path::PathBuf;

const REQUIRED: &str = "2.13.0";

fn main() {
    println!("cargo:rerun-if-env-changed=LIBTORCH");
    println!("cargo:rerun-if-env-changed=LIBTORCH_USE_PYTORCH");
    if std::env::var_os("LIBTORCH_USE_PYTORCH").is_some() {
        return; // torch-sys asks Python itself and checks the version.
    }
    let Some(libtorch) = std::env::var_os("LIBTORCH").map(PathBuf::from) else {
        fail("LIBTORCH is not set");
    };
    println!("cargo:rerun-if-changed={}", libtorch.join("lib").display());
    let lib = libtorch.join("lib").join("libtorch_cpu.so");
    let dylib = libtorch.join("lib").join("libtorch_cpu.dylib");
    let dll = libtorch.join("lib").join("torch_cpu.dll");
    if !(lib.exists() || dylib.exists() || dll.exists()) {
        fail(&format!("no libtorch found at {}", libtorch.display()));
    }
    let version_file = libtorch.join("build-version");
    if let Ok(version) = std::fs::read_to_string(&version_file) {
        let version = version.trim();
        let plain = version.split('+').next().unwrap_or(version);
        if plain != REQUIRED {
            fail(&format!(
                "libtorch at {} is version {version}, tch 0.26 needs {REQUIRED}",
                libtorch.display()
            ));
        }
    }
}

fn fail(why: &str) -> ! {
    eprintln!();
    eprintln!("seqgraph: {why}.");
    eprintln!("seqgraph: run `cargo xtask setup` once in the seqgraph workspace (it installs libtorch {REQUIRED} into ~/.cache/seqgraph and links it there);");
    eprintln!("seqgraph: for a crate of your own, `cargo xtask setup --project DIR` then writes the .cargo/config.toml it needs.");
    eprintln!();
    std::process::exit(1);
}
