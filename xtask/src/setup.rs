//! `cargo xtask setup`: libtorch 2.13.0 without surprises.
//!
//! tch 0.26 needs libtorch 2.13.0 exactly. We take it from PyPI (its wheel
//! carries the same shared libraries as the libtorch zip) into a per-user
//! cache, once, and point the workspace link `.libtorch` at it. Everything
//! else (`.cargo/config.toml`) reads that link.

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The libtorch version tch 0.26 is built against.
pub const TORCH_VERSION: &str = "2.13.0";
/// Runtime libraries that `libtorch_cpu.so` links against even on CPU.
const CUDA_RUNTIME_WHEELS: [&str; 2] = ["nvidia-cuda-runtime==13.0.96", "nvidia-cuda-cupti==13.0.85"];
/// Libraries of the wheel that only a GPU build uses.
const CUDA_ONLY_PREFIXES: [&str; 6] = [
    "libtorch_cuda",
    "libc10_cuda",
    "libtorch_nvshmem",
    "libcaffe2_nvrtc",
    "libtorch_python",
    "libnvrtc",
];
/// Written last into a finished install; its absence means "half installed".
const COMPLETE_MARKER: &str = ".seqgraph-complete";

/// Which libtorch flavour to install.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavour {
    /// CPU only, about 550 MB.
    Cpu,
    /// The full CUDA set, about 4.5 GB.
    Cuda,
}

impl Flavour {
    fn name(self) -> &'static str {
        match self {
            Flavour::Cpu => "cpu",
            Flavour::Cuda => "cuda",
        }
    }
}

/// The workspace link every build reads.
pub fn workspace_link(root: &Path) -> PathBuf {
    root.join(".libtorch")
}

/// True when the workspace link points at a usable libtorch 2.13.0.
pub fn is_ready(root: &Path) -> bool {
    libtorch_version(&workspace_link(root)).is_some_and(|v| v == TORCH_VERSION)
}

/// Entry point of `cargo xtask setup`. `flavour` is `None` when the user did
/// not ask for one: then a working link is kept as it is.
pub fn run(root: &Path, flavour: Option<Flavour>) -> Result<()> {
    let link = workspace_link(root);

    // 1. A libtorch the user already has.
    if let Some(existing) = user_libtorch(root)? {
        point_link(&link, &existing)?;
        println!(
            "seqgraph: using your libtorch {TORCH_VERSION} at {} (linked as {})",
            existing.display(),
            link.display()
        );
        return Ok(());
    }
    if flavour.is_none() && is_ready(root) {
        let target = std::fs::canonicalize(&link).unwrap_or(link.clone());
        println!(
            "seqgraph: libtorch {TORCH_VERSION} is set up ({})",
            target.display()
        );
        return Ok(());
    }

    // 2. Our per-user cache, installed once.
    let flavour = flavour.unwrap_or(Flavour::Cpu);
    let install = cache_root()?.join(format!("libtorch-{TORCH_VERSION}-{}", flavour.name()));
    if install.join(COMPLETE_MARKER).exists() {
        println!(
            "seqgraph: reusing libtorch {TORCH_VERSION} ({}) from {}",
            flavour.name(),
            install.display()
        );
    } else {
        install_from_pypi(&install, flavour)?;
    }
    let torch = install.join("torch");
    match libtorch_version(&torch) {
        Some(v) if v == TORCH_VERSION => {}
        other => bail!(
            "seqgraph: the install at {} reports libtorch version {:?}, expected {TORCH_VERSION}; delete that folder and run `cargo xtask setup` again",
            install.display(),
            other
        ),
    }
    point_link(&link, &torch)?;
    println!(
        "seqgraph: libtorch {TORCH_VERSION} ({}, {}) ready; linked as {}",
        flavour.name(),
        human_size(dir_size(&install)),
        link.display()
    );
    Ok(())
}

/// `LIBTORCH` or `LIBTORCH_USE_PYTORCH` from the user's own environment.
fn user_libtorch(root: &Path) -> Result<Option<PathBuf>> {
    // `.cargo/config.toml` sets LIBTORCH to our own link for every cargo
    // process: only a different value is the user's.
    if let Some(dir) = std::env::var_os("LIBTORCH").map(PathBuf::from) {
        let ours = dir == workspace_link(root) || dir.ends_with(".libtorch");
        if !ours {
            match libtorch_version(&dir) {
                Some(v) if v == TORCH_VERSION => return Ok(Some(dir)),
                Some(v) => eprintln!(
                    "seqgraph: LIBTORCH={} is libtorch {v}, but tch 0.26 needs {TORCH_VERSION}: installing our own",
                    dir.display()
                ),
                None => eprintln!(
                    "seqgraph: LIBTORCH={} does not look like a libtorch (no lib/libtorch_cpu.so or version): installing our own",
                    dir.display()
                ),
            }
        }
    }
    if std::env::var_os("LIBTORCH_USE_PYTORCH").is_some() {
        let out = Command::new(python())
            .args([
                "-c",
                "import torch, os; print(torch.__version__); print(os.path.dirname(torch.__file__))",
            ])
            .output();
        if let Ok(out) = out {
            let text = String::from_utf8_lossy(&out.stdout);
            let mut lines = text.lines();
            if let (Some(version), Some(dir)) = (lines.next(), lines.next()) {
                let plain = version.split('+').next().unwrap_or(version);
                if plain == TORCH_VERSION {
                    return Ok(Some(PathBuf::from(dir)));
                }
                eprintln!("seqgraph: your Python's torch is {version}, but tch 0.26 needs {TORCH_VERSION}: installing our own");
            }
        }
    }
    Ok(None)
}

/// `$SEQGRAPH_LIBTORCH`, else `$XDG_CACHE_HOME/seqgraph`, else `~/.cache/seqgraph`.
pub fn cache_root() -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os("SEQGRAPH_LIBTORCH") {
        return Ok(PathBuf::from(dir));
    }
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME") {
        return Ok(PathBuf::from(dir).join("seqgraph"));
    }
    let home = std::env::var_os("HOME").context("seqgraph: neither SEQGRAPH_LIBTORCH nor HOME is set")?;
    Ok(PathBuf::from(home).join(".cache").join("seqgraph"))
}

/// The Python interpreter used for pip: `$SEQGRAPH_PYTHON`, else `python3`.
pub fn python() -> String {
    std::env::var("SEQGRAPH_PYTHON").unwrap_or_else(|_| "python3".to_owned())
}

fn install_from_pypi(install: &Path, flavour: Flavour) -> Result<()> {
    let py = python();
    let pip_ok = Command::new(&py)
        .args(["-m", "pip", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !pip_ok {
        bail!("seqgraph: cannot install libtorch because `{py} -m pip` is not available; install Python 3 with pip, or set LIBTORCH to a libtorch {TORCH_VERSION}");
    }
    let parent = install.parent().context("install folder has no parent")?;
    std::fs::create_dir_all(parent)
        .with_context(|| format!("seqgraph: cannot create {}", parent.display()))?;
    let partial = install.with_extension("partial");
    if partial.exists() {
        std::fs::remove_dir_all(&partial).with_context(|| format!("cannot remove {}", partial.display()))?;
    }
    let what = match flavour {
        Flavour::Cpu => "the CPU-only libtorch (a 527 MB download, about 600 MB on disk)",
        Flavour::Cuda => "libtorch with its CUDA libraries (about 4.5 GB on disk)",
    };
    println!("seqgraph: installing {what} from PyPI into {}", install.display());
    let mut cmd = Command::new(&py);
    cmd.args([
        "-m",
        "pip",
        "install",
        "--progress-bar",
        "on",
        "--no-compile",
        "--disable-pip-version-check",
        "--root-user-action=ignore",
    ])
    .arg("--target")
    .arg(&partial)
    .arg(format!("torch=={TORCH_VERSION}"));
    if flavour == Flavour::Cpu {
        cmd.arg("--no-deps").args(CUDA_RUNTIME_WHEELS);
    }
    let status = cmd
        .status()
        .with_context(|| format!("seqgraph: cannot run `{py} -m pip`"))?;
    if !status.success() {
        let _ = std::fs::remove_dir_all(&partial);
        bail!("seqgraph: pip could not install torch=={TORCH_VERSION} from PyPI (is the network reachable?); see pip's message above");
    }
    if flavour == Flavour::Cpu {
        prune_cuda_only(&partial.join("torch").join("lib"))?;
    }
    let torch = partial.join("torch");
    let version = python_version_string(&torch).with_context(|| {
        format!(
            "seqgraph: pip finished but {} holds no torch/version.py",
            partial.display()
        )
    })?;
    // torch-sys reads `build-version` (as in the libtorch zip) to check the version.
    std::fs::write(torch.join("build-version"), format!("{version}\n"))?;
    if libtorch_version(&torch).as_deref() != Some(TORCH_VERSION) {
        bail!("seqgraph: pip installed torch {version}, expected {TORCH_VERSION}");
    }
    std::fs::write(
        partial.join(COMPLETE_MARKER),
        format!("{version} {}\n", flavour.name()),
    )?;
    if install.exists() {
        std::fs::remove_dir_all(install).with_context(|| format!("cannot replace {}", install.display()))?;
    }
    std::fs::rename(&partial, install)
        .with_context(|| format!("cannot move the install to {}", install.display()))?;
    Ok(())
}

fn prune_cuda_only(lib: &Path) -> Result<()> {
    for entry in std::fs::read_dir(lib).with_context(|| format!("cannot read {}", lib.display()))? {
        let entry = entry?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if CUDA_ONLY_PREFIXES.iter().any(|p| name.starts_with(p)) {
            std::fs::remove_file(entry.path())?;
        }
    }
    Ok(())
}

/// Version of the libtorch at `dir` (a libtorch zip or the `torch` folder of
/// a wheel), without its `+cpu`/`+cu130` suffix; `None` if it is no libtorch.
pub fn libtorch_version(dir: &Path) -> Option<String> {
    if !dir.join("lib").join("libtorch_cpu.so").exists()
        && !dir.join("lib").join("libtorch_cpu.dylib").exists()
    {
        return None;
    }
    let raw = std::fs::read_to_string(dir.join("build-version"))
        .ok()
        .or_else(|| python_version_string(dir))?;
    let raw = raw.trim();
    Some(raw.split('+').next().unwrap_or(raw).to_owned())
}

/// `__version__` from a wheel's `torch/version.py`, read as text (never run).
fn python_version_string(torch: &Path) -> Option<String> {
    let text = std::fs::read_to_string(torch.join("version.py")).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("__version__ = "))
        .map(|v| v.trim().trim_matches(|c| c == '\'' || c == '"').to_owned())
}

fn point_link(link: &Path, target: &Path) -> Result<()> {
    if link.symlink_metadata().is_ok() {
        if link.is_dir() && !link.symlink_metadata()?.file_type().is_symlink() {
            bail!(
                "seqgraph: {} is a real folder, not a link; move it away and run setup again",
                link.display()
            );
        }
        std::fs::remove_file(link).with_context(|| format!("cannot replace {}", link.display()))?;
    }
    #[cfg(unix)]
    std::os::unix::fs::symlink(target, link)
        .with_context(|| format!("cannot link {} -> {}", link.display(), target.display()))?;
    #[cfg(not(unix))]
    bail!("seqgraph: setup supports Linux and macOS; on Windows set LIBTORCH by hand");
    Ok(())
}

/// The `.cargo/config.toml` a crate outside this workspace needs to build and
/// run against the libtorch at `libtorch`: `LIBTORCH` for torch-sys's build,
/// and an rpath so its programs, tests and doc tests find the libraries.
pub fn project_config(libtorch: &Path) -> Result<String> {
    let dir = libtorch
        .to_str()
        .with_context(|| format!("seqgraph: {} is not UTF-8", libtorch.display()))?;
    // A JSON string is a valid TOML basic string (same escapes).
    let quoted = |s: &str| serde_json::to_string(s).expect("a string serialises");
    let rpath = quoted(&format!("link-arg=-Wl,-rpath,{dir}/lib"));
    Ok(format!(
        r#"# Written by seqgraph's `cargo xtask setup --project`: where libtorch {TORCH_VERSION} is,
# for torch-sys's build (LIBTORCH) and for the programs, tests and doc tests
# built here (rpath, so they run without LD_LIBRARY_PATH).
[env]
LIBTORCH = {{ value = {libtorch}, relative = false }}

[target.'cfg(unix)']
rustflags = ["-C", {rpath}]

[build]
rustdocflags = ["-C", {rpath}]
"#,
        libtorch = quoted(dir),
    ))
}

/// `cargo xtask setup --project DIR`: writes `DIR/.cargo/config.toml` for the
/// libtorch the workspace is set up with, or prints what to add to it when
/// that file already exists with other content.
pub fn write_project_config(root: &Path, project: &Path) -> Result<()> {
    if !project.is_dir() {
        bail!(
            "seqgraph: {} is not a folder (give the folder of your crate's Cargo.toml)",
            project.display()
        );
    }
    let link = workspace_link(root);
    let libtorch = std::fs::canonicalize(&link)
        .with_context(|| format!("seqgraph: {} does not point at a libtorch", link.display()))?;
    let config = project_config(&libtorch)?;
    let path = project.join(".cargo").join("config.toml");
    match std::fs::read_to_string(&path) {
        Ok(existing) if existing == config => {
            println!("seqgraph: {} is up to date", path.display());
        }
        Ok(_) => {
            println!(
                "seqgraph: {} exists, so it is left as it is; merge this into it:\n\n{config}",
                path.display()
            );
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(path.parent().expect("config.toml has a parent"))?;
            std::fs::write(&path, &config).with_context(|| format!("cannot write {}", path.display()))?;
            println!(
                "seqgraph: wrote {} (LIBTORCH={} and an rpath to its lib folder); `cargo build`, `cargo run` and `cargo test` work there now",
                path.display(),
                libtorch.display()
            );
        }
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
    Ok(())
}

/// The one thing a crate of the user's own needs, said after a plain setup.
pub fn print_project_hint() {
    println!(
        "seqgraph: a crate of your own that depends on these crates needs LIBTORCH and an rpath in its \
         .cargo/config.toml: `cargo xtask setup --project PATH/TO/YOUR/CRATE` writes it"
    );
}

fn dir_size(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => dir_size(&e.path()),
            Ok(t) if t.is_file() => e.metadata().map(|m| m.len()).unwrap_or(0),
            _ => 0,
        })
        .sum()
}

fn human_size(bytes: u64) -> String {
    format!("{:.0} MB", bytes as f64 / 1e6)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A workspace whose `.libtorch` link points at an (empty) install folder.
    fn fake_workspace() -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let install = dir.path().join("cache/lib torch \"2.13\"");
        std::fs::create_dir_all(&install).unwrap();
        std::os::unix::fs::symlink(&install, workspace_link(dir.path())).unwrap();
        (dir, install.canonicalize().unwrap())
    }

    #[test]
    fn project_config_names_the_install_and_is_left_alone_once_edited() {
        let (ws, install) = fake_workspace();
        let project = ws.path().join("mine");
        std::fs::create_dir(&project).unwrap();
        write_project_config(ws.path(), &project).unwrap();
        let path = project.join(".cargo/config.toml");
        let written = std::fs::read_to_string(&path).unwrap();
        assert_eq!(written, project_config(&install).unwrap());
        // Valid TOML although the path has a space and quotes; the rpath names the lib folder.
        let parsed: toml::Table = toml::from_str(&written).unwrap();
        assert_eq!(parsed["env"]["LIBTORCH"]["value"].as_str(), install.to_str());
        let rpath = format!("link-arg=-Wl,-rpath,{}/lib", install.display());
        for flags in [
            &parsed["target"]["cfg(unix)"]["rustflags"],
            &parsed["build"]["rustdocflags"],
        ] {
            assert_eq!(
                flags.as_array().unwrap(),
                &vec!["-C".into(), rpath.clone().into()]
            );
        }

        // A second run keeps it; a config of the user's own is never overwritten.
        write_project_config(ws.path(), &project).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), written);
        std::fs::write(&path, "[alias]\nb = \"build\"\n").unwrap();
        write_project_config(ws.path(), &project).unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "[alias]\nb = \"build\"\n"
        );
    }

    #[test]
    fn project_config_needs_an_existing_folder() {
        let (ws, _) = fake_workspace();
        let err = write_project_config(ws.path(), &ws.path().join("missing")).unwrap_err();
        assert!(err.to_string().contains("is not a folder"), "{err}");
    }
}
