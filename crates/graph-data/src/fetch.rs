//! The data set manifest and verified fetching.
//!
//! `datasets/manifest.toml` of the workspace (compiled into this crate, which
//! packages it as `datasets.toml` through a link) describes every data set:
//! files, original URLs, SHA-256, size, licence and citation. A fetch copies
//! each file into a cache folder from the first place that has it:
//!
//! 1. the mirror folder `$SEQGRAPH_DATA_MIRROR`, else `../shared/datasets`
//!    next to the workspace when it exists;
//! 2. the file's original URL, or `$SEQGRAPH_DATA_URL/MIRROR/FILE` when a
//!    base URL serving the mirror's layout is set (unless `SEQGRAPH_OFFLINE`
//!    is set).
//!
//! Every file is written to a temporary name, checked against its SHA-256
//! and only then renamed into place, so a cache never holds a half-written
//! or altered file. A cached file that fails its checksum is fetched again.
//!
//! A download that is cut off (connection reset, truncated body, no data for
//! [`Fetcher::timeout`]) is resumed with an HTTP Range request from the bytes
//! already on disk, up to [`Fetcher::retries`] times; the next fetch resumes
//! the same way after a killed process. A server that ignores the Range
//! request sends the whole file again, which is then written from the start.
//! Archives marked `extract` are unpacked into the data set's folder, and an
//! archive with a member that would land outside it is refused whole.
//!
//! ```no_run
//! use graph_data::fetch::{Fetcher, Manifest};
//! let manifest = Manifest::builtin()?;
//! let cora = manifest.get("cora")?;
//! let folder = Fetcher::from_env().fetch(cora)?;
//! assert!(folder.join("ind.cora.x").exists());
//! # Ok::<(), graph_data::DataError>(())
//! ```

use crate::error::{DataError, Result};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::fs::{self, File};
use std::io::{Read, Write};
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

// A link to the workspace's `datasets/manifest.toml`, the one copy people
// edit and read; `cargo package` stores the file it points at.
const BUILTIN_MANIFEST: &str = include_str!("../datasets.toml");
const MANIFEST_PATH: &str = "datasets/manifest.toml";

/// All data sets seqgraph knows.
#[derive(Debug, Clone, Deserialize)]
pub struct Manifest {
    /// The data sets, in manifest order.
    #[serde(rename = "dataset")]
    pub datasets: Vec<Dataset>,
    /// Data sets the user provides (not in the mirror, not downloaded):
    /// their original URLs, and the checksums where one is known.
    #[serde(rename = "user_dataset", default)]
    pub user_datasets: Vec<UserDataset>,
}

/// A data set whose files the user brings ([`crate::traffic`]): listed with
/// their original URLs; a file's SHA-256 is given only where one is known.
#[derive(Debug, Clone, Deserialize)]
pub struct UserDataset {
    /// Short name (`metr-la`, `pems-bay`).
    pub name: String,
    /// One line saying what it is.
    pub title: String,
    /// Licence of the data.
    pub licence: String,
    /// What to cite.
    pub citation: String,
    /// Why the files are not fetched, and how to get them.
    pub note: String,
    /// The files, in the layouts users have.
    #[serde(rename = "file")]
    pub files: Vec<UserFile>,
}

/// One file of a [`UserDataset`].
#[derive(Debug, Clone, Deserialize)]
pub struct UserFile {
    /// File name in the folder the user names.
    pub path: String,
    /// Original download location.
    pub url: String,
    /// SHA-256, lower-case hex, where one is known (verified on load).
    pub sha256: Option<String>,
    /// Size in bytes, where known.
    pub size: Option<u64>,
    /// Where the file comes from and what is (not) known about it.
    pub note: String,
}

/// One data set of the manifest.
#[derive(Debug, Clone, Deserialize)]
pub struct Dataset {
    /// Short name used on the command line (`cora`, `chickenpox`, ...).
    pub name: String,
    /// One line saying what it is.
    pub title: String,
    /// Licence of the data.
    pub licence: String,
    /// What to cite.
    pub citation: String,
    /// Where the exact bytes come from (repository @ commit, package version).
    pub source: String,
    /// Folder of the mirror that holds the files.
    pub mirror: String,
    /// The files were converted or cut for the mirror: no URL serves them.
    #[serde(default)]
    pub mirror_only: bool,
    /// The files.
    #[serde(rename = "file")]
    pub files: Vec<DataFile>,
}

/// One file of a data set.
#[derive(Debug, Clone, Deserialize)]
pub struct DataFile {
    /// File name inside the data set's folder.
    pub path: String,
    /// Expected SHA-256, lower-case hex.
    pub sha256: String,
    /// Expected size in bytes.
    pub size: u64,
    /// Original download location.
    pub url: Option<String>,
    /// A zip archive: once verified, its members are extracted into the data
    /// set's folder (none may lead outside it).
    #[serde(default)]
    pub extract: bool,
}

impl Manifest {
    /// The manifest compiled into this crate.
    pub fn builtin() -> Result<Self> {
        Self::parse(BUILTIN_MANIFEST)
    }

    /// Parses and checks a manifest text.
    pub fn parse(text: &str) -> Result<Self> {
        let manifest: Manifest = toml::from_str(text).map_err(|e| DataError::Manifest(e.to_string()))?;
        for ds in &manifest.datasets {
            for f in &ds.files {
                if f.sha256.len() != 64 || !f.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(DataError::Manifest(format!(
                        "{}/{}: sha256 is not 64 hex digits",
                        ds.name, f.path
                    )));
                }
                if !is_plain_relative(Path::new(&f.path)) || !is_plain_relative(Path::new(&ds.mirror)) {
                    return Err(DataError::Manifest(format!(
                        "{}/{}: paths must be plain relative paths",
                        ds.name, f.path
                    )));
                }
            }
        }
        for ds in &manifest.user_datasets {
            for f in &ds.files {
                if f.sha256
                    .as_ref()
                    .is_some_and(|s| s.len() != 64 || !s.bytes().all(|b| b.is_ascii_hexdigit()))
                {
                    return Err(DataError::Manifest(format!(
                        "{}/{}: sha256 is not 64 hex digits",
                        ds.name, f.path
                    )));
                }
                if !is_plain_relative(Path::new(&f.path)) {
                    return Err(DataError::Manifest(format!(
                        "{}/{}: paths must be plain relative paths",
                        ds.name, f.path
                    )));
                }
            }
        }
        Ok(manifest)
    }

    /// The data set called `name`.
    pub fn get(&self, name: &str) -> Result<&Dataset> {
        self.datasets
            .iter()
            .find(|d| d.name == name)
            .ok_or_else(|| DataError::UnknownDataset(name.to_owned()))
    }
}

impl Dataset {
    /// Total size of its files in bytes.
    pub fn size(&self) -> u64 {
        self.files.iter().map(|f| f.size).sum()
    }
}

/// Where files come from and where they go.
#[derive(Debug, Clone)]
pub struct Fetcher {
    /// The cache folder; each data set gets a subfolder named after it.
    pub cache: PathBuf,
    /// Mirror folders, tried in order before any URL.
    pub mirrors: Vec<PathBuf>,
    /// Whether original URLs may be used.
    pub allow_network: bool,
    /// A base URL that serves the mirror's layout (`BASE/MIRROR/FILE`),
    /// used instead of every file's original URL: a private or local copy of
    /// the data sets.
    pub url_base: Option<String>,
    /// How long a download waits to connect, and for each read, before it
    /// counts as stalled.
    pub timeout: Duration,
    /// How many times a download that was cut off or stalled is resumed
    /// before the fetch gives up.
    pub retries: u32,
}

/// [`Fetcher::timeout`] unless `SEQGRAPH_FETCH_TIMEOUT` says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// [`Fetcher::retries`] by default.
pub const DEFAULT_RETRIES: u32 = 3;

/// The workspace this crate was built in, if it is still there.
pub fn workspace_root() -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("..");
    root.join(MANIFEST_PATH)
        .exists()
        .then(|| root.canonicalize().unwrap_or(root))
}

/// A path from the environment: relative ones are taken from the current
/// folder when they exist there, else from the workspace root (tests run in
/// their crate's folder, users in the workspace's).
fn env_path(var: &str) -> Option<PathBuf> {
    let p = PathBuf::from(std::env::var_os(var)?);
    if p.is_absolute() || p.exists() {
        return Some(p);
    }
    match workspace_root() {
        Some(root) if root.join(&p).exists() => Some(root.join(p)),
        _ => Some(p),
    }
}

impl Fetcher {
    /// The default set-up:
    /// - cache: `$SEQGRAPH_DATA_DIR`, else `datasets/cache` of the workspace,
    ///   else `~/.cache/seqgraph/datasets`;
    /// - mirrors: `$SEQGRAPH_DATA_MIRROR`, else `../shared/datasets` next to
    ///   the workspace when it exists;
    /// - network allowed unless `SEQGRAPH_OFFLINE` is set;
    /// - URLs: `$SEQGRAPH_DATA_URL/MIRROR/FILE` when set, else each file's own;
    /// - timeout: `$SEQGRAPH_FETCH_TIMEOUT` seconds (a decimal number), else 30 s.
    pub fn from_env() -> Self {
        let root = workspace_root();
        let cache = env_path("SEQGRAPH_DATA_DIR")
            .or_else(|| root.as_ref().map(|r| r.join("datasets").join("cache")))
            .unwrap_or_else(|| {
                let home = std::env::var_os("HOME")
                    .map(PathBuf::from)
                    .unwrap_or_else(|| PathBuf::from("."));
                home.join(".cache").join("seqgraph").join("datasets")
            });
        let mut mirrors = Vec::new();
        if let Some(m) = env_path("SEQGRAPH_DATA_MIRROR") {
            mirrors.push(m);
        } else if let Some(shared) = root
            .as_ref()
            .and_then(|r| r.parent())
            .map(|p| p.join("shared").join("datasets"))
        {
            if shared.is_dir() {
                mirrors.push(shared);
            }
        }
        let allow_network = std::env::var_os("SEQGRAPH_OFFLINE").is_none();
        let url_base = std::env::var("SEQGRAPH_DATA_URL").ok().filter(|u| !u.is_empty());
        let timeout = std::env::var("SEQGRAPH_FETCH_TIMEOUT")
            .ok()
            .and_then(|t| t.trim().parse::<f64>().ok())
            .filter(|t| t.is_finite() && *t > 0.0)
            .map_or(DEFAULT_TIMEOUT, Duration::from_secs_f64);
        Fetcher {
            cache,
            mirrors,
            allow_network,
            url_base,
            timeout,
            retries: DEFAULT_RETRIES,
        }
    }

    /// Where `file` is downloaded from: under [`Fetcher::url_base`] when it
    /// is set, else the manifest's URL (none for files converted for the mirror).
    pub fn url_of(&self, ds: &Dataset, file: &DataFile) -> Option<String> {
        match &self.url_base {
            Some(base) => Some(format!(
                "{}/{}/{}",
                base.trim_end_matches('/'),
                ds.mirror,
                file.path
            )),
            None if ds.mirror_only => None,
            None => file.url.clone(),
        }
    }

    /// Folder a data set is (or will be) cached in.
    pub fn folder(&self, ds: &Dataset) -> PathBuf {
        self.cache.join(&ds.name)
    }

    /// Makes every file of `ds` present and verified in the cache; returns
    /// the data set's folder.
    pub fn fetch(&self, ds: &Dataset) -> Result<PathBuf> {
        let folder = self.folder(ds);
        fs::create_dir_all(&folder).map_err(|e| DataError::io(&folder, e))?;
        for file in &ds.files {
            let path = self.fetch_file(ds, file)?;
            if file.extract {
                extract_zip(&path, &folder)?;
            }
        }
        Ok(folder)
    }

    /// Fetches a data set by manifest name.
    pub fn fetch_named(&self, name: &str) -> Result<PathBuf> {
        let manifest = Manifest::builtin()?;
        self.fetch(manifest.get(name)?)
    }

    /// Makes one file present and verified; returns its cached path.
    pub fn fetch_file(&self, ds: &Dataset, file: &DataFile) -> Result<PathBuf> {
        let folder = self.folder(ds);
        let target = folder.join(&file.path);
        fs::create_dir_all(&folder).map_err(|e| DataError::io(&folder, e))?;
        // One fetch of a file at a time, across threads and processes: two
        // fetches writing the same partial file would corrupt each other (the
        // loser then gives up on the mirror). The lock is released on drop.
        // Lock files live beside the data sets' folders, which hold only data.
        let locks = self.cache.join(".locks");
        fs::create_dir_all(&locks).map_err(|e| DataError::io(&locks, e))?;
        let lock_path = locks.join(format!("{}.{}.lock", ds.name, file.path));
        let lock = File::create(&lock_path).map_err(|e| DataError::io(&lock_path, e))?;
        lock.lock().map_err(|e| DataError::io(&lock_path, e))?;
        if target.exists() {
            match verify(&target, &file.sha256) {
                Ok(()) => return Ok(target),
                Err(DataError::Checksum { .. }) => {
                    // A corrupt cache file is never used: drop it and fetch again.
                    eprintln!(
                        "seqgraph: {} failed its checksum; fetching it again",
                        target.display()
                    );
                    fs::remove_file(&target).map_err(|e| DataError::io(&target, e))?;
                }
                Err(e) => return Err(e),
            }
        }
        fs::create_dir_all(&folder).map_err(|e| DataError::io(&folder, e))?;
        let partial = folder.join(format!(".{}.part", file.path));

        let mut tried = Vec::new();
        for mirror in &self.mirrors {
            let source = mirror.join(&ds.mirror).join(&file.path);
            if !source.exists() {
                tried.push(format!("{} (missing)", source.display()));
                continue;
            }
            copy_file(&source, &partial)?;
            match verify(&partial, &file.sha256) {
                Ok(()) => return finish(&partial, &target),
                Err(e) => {
                    let _ = fs::remove_file(&partial);
                    tried.push(e.to_string());
                }
            }
        }
        match (self.url_of(ds, file), self.allow_network) {
            (None, _) if ds.mirror_only => {
                tried.push("no URL: this file was converted for the mirror".into())
            }
            (None, _) => tried.push("no URL in the manifest".into()),
            (Some(_), false) => tried.push("network disabled by SEQGRAPH_OFFLINE".into()),
            (Some(url), true) => {
                // A process killed after its download ended but before the
                // rename leaves a whole file: use it if it verifies.
                let whole = fs::metadata(&partial).is_ok_and(|m| m.len() == file.size);
                if !(whole && verify(&partial, &file.sha256).is_ok()) {
                    self.download(&url, &partial, file.size)?;
                }
                if let Err(DataError::Checksum { expected, actual, .. }) = verify(&partial, &file.sha256) {
                    // Never kept: the next fetch must not resume from wrong bytes.
                    let _ = fs::remove_file(&partial);
                    return Err(DataError::DownloadChecksum {
                        dataset: ds.name.clone(),
                        file: file.path.clone(),
                        url,
                        expected,
                        actual,
                    });
                }
                return finish(&partial, &target);
            }
        }
        Err(DataError::Invalid(format!(
            "cannot fetch {}/{}: {}",
            ds.name,
            file.path,
            tried.join("; ")
        )))
    }
}

fn finish(partial: &Path, target: &Path) -> Result<PathBuf> {
    fs::rename(partial, target).map_err(|e| DataError::io(target, e))?;
    Ok(target.to_owned())
}

fn copy_file(from: &Path, to: &Path) -> Result<()> {
    fs::copy(from, to).map_err(|e| DataError::io(from, e))?;
    Ok(())
}

/// Lower-case hex SHA-256 of a file.
pub fn sha256_file(path: &Path) -> Result<String> {
    let mut f = File::open(path).map_err(|e| DataError::io(path, e))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf).map_err(|e| DataError::io(path, e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

/// Checks a file against an expected SHA-256.
pub fn verify(path: &Path, expected: &str) -> Result<()> {
    let actual = sha256_file(path)?;
    if actual.eq_ignore_ascii_case(expected) {
        Ok(())
    } else {
        Err(DataError::Checksum {
            path: path.to_owned(),
            expected: expected.to_owned(),
            actual,
        })
    }
}

/// Why one download attempt ended without the whole file.
enum Attempt {
    /// Cut off or stalled: resume from what is on disk.
    Retry(String),
    /// No point trying again (an HTTP error status, a local I/O error).
    Fatal(DataError),
}

impl Fetcher {
    /// Downloads `url` into `partial`, resuming from what `partial` already
    /// holds, until it holds `expected_size` bytes or the retries run out.
    fn download(&self, url: &str, partial: &Path, expected_size: u64) -> Result<()> {
        let agent = ureq::AgentBuilder::new()
            .timeout_connect(self.timeout)
            .timeout_read(self.timeout)
            .build();
        let mut attempt = 0;
        loop {
            match download_once(&agent, url, partial, expected_size, self.timeout) {
                Ok(()) => return Ok(()),
                Err(Attempt::Fatal(e)) => return Err(e),
                Err(Attempt::Retry(message)) if attempt < self.retries => {
                    attempt += 1;
                    eprintln!(
                        "seqgraph: download of {url}: {message}; resuming (retry {attempt} of {})",
                        self.retries
                    );
                }
                Err(Attempt::Retry(message)) => {
                    return Err(DataError::Download {
                        url: url.to_owned(),
                        message: format!(
                            "{message} (gave up after {} attempts; what arrived is kept and the next fetch resumes it)",
                            attempt + 1
                        ),
                    })
                }
            }
        }
    }
}

/// Says what an I/O error while downloading means, naming a stall as such.
fn describe(e: &std::io::Error, timeout: Duration) -> String {
    if matches!(
        e.kind(),
        std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock
    ) {
        format!(
            "no data for {:.1} s, timed out (SEQGRAPH_FETCH_TIMEOUT sets the limit in seconds)",
            timeout.as_secs_f64()
        )
    } else {
        format!("connection lost: {e}")
    }
}

/// The first byte of a 206 response's `Content-Range: bytes FIRST-LAST/TOTAL`.
fn range_start(response: &ureq::Response) -> Option<u64> {
    let value = response.header("Content-Range")?;
    let range = value.trim().strip_prefix("bytes")?.trim();
    range.split('-').next()?.trim().parse().ok()
}

/// One request: appends to `partial` when the server answers a Range request
/// with the rest of the file, else writes the whole body from the start.
fn download_once(
    agent: &ureq::Agent,
    url: &str,
    partial: &Path,
    expected_size: u64,
    timeout: Duration,
) -> std::result::Result<(), Attempt> {
    let fatal = |message: String| {
        Attempt::Fatal(DataError::Download {
            url: url.to_owned(),
            message,
        })
    };
    let have = fs::metadata(partial).map(|m| m.len()).unwrap_or(0);
    let mut request = agent.get(url);
    if have > 0 && have < expected_size {
        request = request.set("Range", &format!("bytes={have}-"));
    }
    let response = match request.call() {
        Ok(r) => r,
        Err(ureq::Error::Status(code, r)) => {
            return Err(fatal(format!("the server answered {code} {}", r.status_text())))
        }
        Err(ureq::Error::Transport(t)) => {
            let stalled = t.kind() == ureq::ErrorKind::Io && t.to_string().contains("timed out");
            return Err(Attempt::Retry(if stalled {
                describe(&std::io::ErrorKind::TimedOut.into(), timeout)
            } else {
                format!("cannot connect: {t}")
            }));
        }
    };
    // Only a 206 for exactly the missing bytes continues the file.
    let resumed = response.status() == 206 && range_start(&response) == Some(have);
    if response.status() == 206 && !resumed {
        let _ = fs::remove_file(partial);
        return Err(Attempt::Retry(format!(
            "the server sent another range ({}) than the one asked for",
            response.header("Content-Range").unwrap_or("none")
        )));
    }
    let local = |e: std::io::Error| Attempt::Fatal(DataError::io(partial, e));
    let mut out = fs::OpenOptions::new()
        .create(true)
        .write(true)
        .append(resumed)
        .truncate(!resumed)
        .open(partial)
        .map_err(local)?;
    let start = if resumed { have } else { 0 };
    let bar = indicatif::ProgressBar::new(expected_size);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec}")
            .expect("static template")
            .progress_chars("=> "),
    );
    bar.set_message(url.rsplit('/').next().unwrap_or(url).to_owned());
    bar.set_position(start);
    let mut reader = response.into_reader();
    let mut buf = vec![0u8; 1 << 16];
    let mut got = start;
    let ended = loop {
        match reader.read(&mut buf) {
            Ok(0) => break Ok(()),
            Ok(n) => {
                out.write_all(&buf[..n]).map_err(local)?;
                got += n as u64;
                bar.inc(n as u64);
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => break Err(e),
        }
    };
    bar.finish_and_clear();
    // What arrived is kept (flushed) for the next attempt to resume from.
    out.sync_all().map_err(local)?;
    if let Err(e) = ended {
        return Err(Attempt::Retry(format!(
            "{} after {got} of {expected_size} bytes",
            describe(&e, timeout)
        )));
    }
    if got < expected_size {
        return Err(Attempt::Retry(format!(
            "the body ended after {got} of {expected_size} bytes"
        )));
    }
    if got > expected_size {
        let _ = fs::remove_file(partial);
        return Err(fatal(format!(
            "the server sent {got} bytes, the manifest expects {expected_size}"
        )));
    }
    Ok(())
}

/// True for a relative path made only of normal components (no `..`, no root).
fn is_plain_relative(p: &Path) -> bool {
    p.components().all(|c| matches!(c, Component::Normal(_)))
}

/// Extracts a zip archive into `target`, refusing any entry whose path would
/// leave `target` (absolute paths, `..`). Returns the written files.
pub fn extract_zip(archive: &Path, target: &Path) -> Result<Vec<PathBuf>> {
    let file = File::open(archive).map_err(|e| DataError::io(archive, e))?;
    let mut zip = zip::ZipArchive::new(file).map_err(|e| DataError::parse(archive, None, e.to_string()))?;
    // Every name is checked before anything is written: a refused archive
    // leaves no member behind, inside the folder or out of it.
    if let Some(name) = zip.file_names().find(|n| !is_plain_relative(Path::new(n))) {
        return Err(DataError::UnsafeArchivePath {
            archive: archive.to_owned(),
            entry: name.to_owned(),
        });
    }
    let mut written = Vec::new();
    for i in 0..zip.len() {
        let mut entry = zip
            .by_index(i)
            .map_err(|e| DataError::parse(archive, Some(i + 1), e.to_string()))?;
        let rel = PathBuf::from(entry.name());
        let out_path = target.join(&rel);
        if entry.is_dir() {
            fs::create_dir_all(&out_path).map_err(|e| DataError::io(&out_path, e))?;
            continue;
        }
        if let Some(parent) = out_path.parent() {
            fs::create_dir_all(parent).map_err(|e| DataError::io(parent, e))?;
        }
        let tmp = out_path.with_extension("part");
        let mut out = File::create(&tmp).map_err(|e| DataError::io(&tmp, e))?;
        std::io::copy(&mut entry, &mut out).map_err(|e| DataError::io(&tmp, e))?;
        fs::rename(&tmp, &out_path).map_err(|e| DataError::io(&out_path, e))?;
        written.push(out_path);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_manifest_parses_and_names_are_unique() {
        let m = Manifest::builtin().unwrap();
        assert!(m.datasets.len() >= 20);
        let mut names: Vec<_> = m.datasets.iter().map(|d| d.name.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), m.datasets.len());
        assert!(m
            .get("cora")
            .unwrap()
            .files
            .iter()
            .any(|f| f.path == "ind.cora.graph"));
        assert!(matches!(m.get("nope"), Err(DataError::UnknownDataset(_))));
    }

    #[test]
    fn manifest_rejects_traversal_and_bad_digests() {
        let bad_path = "[[dataset]]\nname='x'\ntitle=''\nlicence=''\ncitation=''\nsource=''\nmirror='a'\n[[dataset.file]]\npath='../evil'\nsha256='".to_owned()
            + &"0".repeat(64)
            + "'\nsize=1\n";
        assert!(matches!(Manifest::parse(&bad_path), Err(DataError::Manifest(_))));
        let bad_digest = bad_path.replace("../evil", "ok").replace(&"0".repeat(64), "xyz");
        assert!(matches!(
            Manifest::parse(&bad_digest),
            Err(DataError::Manifest(_))
        ));
    }

    fn one_file_dataset(sha: &str, size: u64) -> Dataset {
        Dataset {
            name: "tiny".into(),
            title: String::new(),
            licence: String::new(),
            citation: String::new(),
            source: String::new(),
            mirror: "tiny".into(),
            mirror_only: true,
            files: vec![DataFile {
                path: "a.txt".into(),
                sha256: sha.into(),
                size,
                url: None,
                extract: false,
            }],
        }
    }

    #[test]
    fn fetch_from_mirror_verifies_and_replaces_a_corrupt_cache_file() {
        let dir = tempfile::tempdir().unwrap();
        let mirror = dir.path().join("mirror");
        fs::create_dir_all(mirror.join("tiny")).unwrap();
        fs::write(mirror.join("tiny/a.txt"), b"hello").unwrap();
        let sha = sha256_file(&mirror.join("tiny/a.txt")).unwrap();
        let fetcher = Fetcher {
            cache: dir.path().join("cache"),
            mirrors: vec![mirror.clone()],
            allow_network: false,
            url_base: None,
            timeout: DEFAULT_TIMEOUT,
            retries: DEFAULT_RETRIES,
        };
        let ds = one_file_dataset(&sha, 5);
        let folder = fetcher.fetch(&ds).unwrap();
        assert_eq!(fs::read(folder.join("a.txt")).unwrap(), b"hello");
        // Corrupt the cached copy: the next fetch must notice and copy again.
        fs::write(folder.join("a.txt"), b"hellO").unwrap();
        fetcher.fetch(&ds).unwrap();
        assert_eq!(fs::read(folder.join("a.txt")).unwrap(), b"hello");
        // A mirror with the wrong bytes is refused, and nothing lands in the cache.
        fs::write(mirror.join("tiny/a.txt"), b"other").unwrap();
        fs::remove_file(folder.join("a.txt")).unwrap();
        let err = fetcher.fetch(&ds).unwrap_err().to_string();
        assert!(err.contains("SHA-256"), "{err}");
        assert!(!folder.join("a.txt").exists());
    }

    #[test]
    fn zip_extraction_refuses_path_traversal() {
        let dir = tempfile::tempdir().unwrap();
        let archive = dir.path().join("evil.zip");
        {
            let mut w = zip::ZipWriter::new(File::create(&archive).unwrap());
            let opts = zip::write::FileOptions::default();
            w.start_file("good/ok.txt", opts).unwrap();
            w.write_all(b"fine").unwrap();
            w.start_file("../escaped.txt", opts).unwrap();
            w.write_all(b"bad").unwrap();
            w.finish().unwrap();
        }
        let target = dir.path().join("out");
        let err = extract_zip(&archive, &target).unwrap_err();
        assert!(matches!(err, DataError::UnsafeArchivePath { .. }), "{err}");
        assert!(!dir.path().join("escaped.txt").exists());
        // Refused whole: not even the good member was written.
        assert!(!target.join("good/ok.txt").exists());
    }
}
