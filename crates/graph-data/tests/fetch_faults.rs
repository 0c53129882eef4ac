//! `fetch` through its URL code path, against a local HTTP server that serves
//! the real mirror files and misbehaves on purpose: a connection cut half way
//! (resumed by a Range request), a server that ignores Range, a truncated
//! body, wrong bytes, 404 and 500, a redirect, a stall, a zip whose member
//! escapes its folder, and a fetch process killed with SIGKILL mid-download.
//!
//! The server binds 127.0.0.1 on a port the system picks and lives as long
//! as its test; nothing outside the machine is contacted. It is a
//! `TcpListener` with `httparse` for the requests, not a server crate,
//! because the faults under test (cutting a connection mid-body, stalling
//! after the headers) need the raw socket that server crates hide.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use graph_data::fetch::{sha256_file, DataFile, Dataset, Fetcher, Manifest};
use graph_data::DataError;
use rand::{Rng, SeedableRng};

/// The real mirror: `$SEQGRAPH_DATA_MIRROR` (relative to the workspace root
/// when relative), else `../shared/datasets` next to the workspace. Missing,
/// it fails the tests rather than letting them pass without asserting.
fn mirror() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let m = match std::env::var_os("SEQGRAPH_DATA_MIRROR").map(PathBuf::from) {
        Some(p) if p.is_absolute() => p,
        Some(p) => root.join(p),
        None => root.join("../shared/datasets"),
    };
    assert!(
        m.is_dir(),
        "the fetch tests serve the data mirror, not found at {}: set SEQGRAPH_DATA_MIRROR",
        m.display()
    );
    m
}

/// What the server does with one request.
#[derive(Debug, Clone)]
enum Fault {
    /// Serve the file, honouring Range.
    Serve,
    /// Send the headers (full length) and this many body bytes, then close.
    CutAfter(usize),
    /// Answer every request with the whole file, 200, Range or not.
    IgnoreRange,
    /// A body with no Content-Length that ends after this many bytes.
    Truncate(usize),
    /// Send this many body bytes, then nothing for this long.
    Stall(usize, Duration),
    /// The file with one byte changed.
    WrongBytes,
    /// This status, no body.
    Status(u16),
    /// 302 to this path.
    Redirect(String),
    /// Serve in chunks of this many bytes with a pause after each.
    Throttle(usize, Duration),
}

/// One request as the server saw it.
#[derive(Debug, Clone)]
struct Hit {
    path: String,
    /// The first byte asked for by a `Range: bytes=N-` header.
    range: Option<u64>,
    status: u16,
    /// Body bytes written.
    sent: usize,
}

type Plan = dyn Fn(usize, &str) -> Fault + Send + Sync;

struct Server {
    port: u16,
    hits: Arc<Mutex<Vec<Hit>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    /// Serves the files under `root`; `plan(n, path)` picks the fault of the
    /// `n`-th request (0-based).
    fn start(root: PathBuf, plan: impl Fn(usize, &str) -> Fault + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let hits = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let plan: Arc<Plan> = Arc::new(plan);
        let (h, s) = (hits.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            let count = Arc::new(AtomicUsize::new(0));
            while !s.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        stream.set_nonblocking(false).unwrap();
                        let (root, plan, h, count) = (root.clone(), plan.clone(), h.clone(), count.clone());
                        std::thread::spawn(move || serve(stream, &root, &*plan, &h, &count));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(2)),
                }
            }
        });
        Server {
            port,
            hits,
            stop,
            thread: Some(thread),
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn hits(&self) -> Vec<Hit> {
        self.hits.lock().unwrap().clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        206 => "Partial Content",
        302 => "Found",
        404 => "Not Found",
        _ => "Internal Server Error",
    }
}

/// Answers one request on `stream` and closes it.
fn serve(mut stream: TcpStream, root: &Path, plan: &Plan, hits: &Mutex<Vec<Hit>>, count: &AtomicUsize) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let (path, range) = loop {
        let Ok(n) = stream.read(&mut chunk) else { return };
        if n == 0 {
            return;
        }
        buf.extend_from_slice(&chunk[..n]);
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut req = httparse::Request::new(&mut headers);
        if let Ok(httparse::Status::Complete(_)) = req.parse(&buf) {
            let range = req
                .headers
                .iter()
                .find(|h| h.name.eq_ignore_ascii_case("range"))
                .and_then(|h| std::str::from_utf8(h.value).ok())
                .and_then(|v| v.strip_prefix("bytes=")?.strip_suffix('-')?.parse().ok());
            break (req.path.unwrap_or("/").to_owned(), range);
        }
    };
    let fault = plan(count.fetch_add(1, Ordering::SeqCst), &path);
    let mut hit = Hit {
        path: path.clone(),
        range,
        status: 200,
        sent: 0,
    };
    let file = root.join(path.trim_start_matches('/'));
    let data = (!path.contains(".."))
        .then(|| std::fs::read(&file).ok())
        .flatten();
    let head = |status: u16, extra: &str| {
        format!(
            "HTTP/1.1 {status} {}\r\nConnection: close\r\n{extra}\r\n",
            reason(status)
        )
    };
    let mut body: &[u8] = &[];
    let mut changed;
    let response = match (&fault, &data) {
        (Fault::Status(code), _) => head(*code, "Content-Length: 0\r\n"),
        (Fault::Redirect(to), _) => head(302, &format!("Location: {to}\r\nContent-Length: 0\r\n")),
        (_, None) => head(404, "Content-Length: 0\r\n"),
        (_, Some(bytes)) => {
            body = bytes;
            if let Fault::WrongBytes = fault {
                changed = bytes.clone();
                let mid = changed.len() / 2;
                changed[mid] ^= 1;
                body = &changed;
            }
            let honour = !matches!(fault, Fault::IgnoreRange | Fault::Truncate(_));
            match range.filter(|r| honour && (*r as usize) < bytes.len()) {
                Some(start) => {
                    body = &body[start as usize..];
                    head(
                        206,
                        &format!(
                            "Content-Range: bytes {start}-{}/{}\r\nContent-Length: {}\r\n",
                            bytes.len() - 1,
                            bytes.len(),
                            body.len()
                        ),
                    )
                }
                None if matches!(fault, Fault::Truncate(_)) => head(200, ""),
                None => head(200, &format!("Content-Length: {}\r\n", body.len())),
            }
        }
    };
    hit.status = response[9..12].parse().unwrap();
    // Logged before the body, so that a stalled request is seen while it stalls.
    let index = {
        let mut all = hits.lock().unwrap();
        all.push(hit);
        all.len() - 1
    };
    let mut sent = 0;
    if stream.write_all(response.as_bytes()).is_ok() {
        let limit = match fault {
            Fault::CutAfter(n) | Fault::Truncate(n) | Fault::Stall(n, _) => n.min(body.len()),
            _ => body.len(),
        };
        let step = match fault {
            Fault::Throttle(n, _) => n,
            _ => limit.max(1),
        };
        for part in body[..limit].chunks(step) {
            if stream.write_all(part).is_err() {
                break;
            }
            sent += part.len();
            if let Fault::Throttle(_, pause) = fault {
                let _ = stream.flush();
                std::thread::sleep(pause);
            }
        }
        let _ = stream.flush();
        if let Fault::Stall(_, pause) = fault {
            std::thread::sleep(pause);
        }
    }
    hits.lock().unwrap()[index].sent = sent;
    let _ = stream.shutdown(Shutdown::Both);
}

/// A fetcher that only downloads: no mirror folder, URLs under the server.
fn fetcher(cache: &Path, server: &Server) -> Fetcher {
    Fetcher {
        cache: cache.to_owned(),
        mirrors: Vec::new(),
        allow_network: true,
        url_base: Some(server.url()),
        timeout: Duration::from_secs(10),
        retries: 3,
    }
}

/// The manifest's data set `name` cut to its file `file`.
fn one_file(name: &str, file: &str) -> Dataset {
    let mut ds = Manifest::builtin().unwrap().get(name).unwrap().clone();
    ds.files.retain(|f| f.path == file);
    assert_eq!(ds.files.len(), 1, "{name} has {file}");
    ds
}

/// Cora's feature matrix of all training nodes: 257,305 bytes.
fn allx() -> Dataset {
    one_file("cora", "ind.cora.allx")
}

fn url_of(ds: &Dataset, server: &Server) -> String {
    format!("{}/{}/{}", server.url(), ds.mirror, ds.files[0].path)
}

/// The cached file is the mirror's, byte for byte, and nothing else is in the folder.
fn assert_cached_whole(folder: &Path, ds: &Dataset) {
    let f = &ds.files[0];
    assert_eq!(sha256_file(&folder.join(&f.path)).unwrap(), f.sha256);
    let names: Vec<_> = std::fs::read_dir(folder)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, vec![f.path.clone()], "no partial file is left behind");
}

#[test]
fn a_normal_download_of_cora_verifies_every_file_and_loads() {
    let server = Server::start(mirror(), |_, _| Fault::Serve);
    let dir = tempfile::tempdir().unwrap();
    let fetcher = fetcher(dir.path(), &server);
    let cora = Manifest::builtin().unwrap().get("cora").unwrap().clone();
    let folder = fetcher.fetch(&cora).unwrap();
    for f in &cora.files {
        assert_eq!(
            sha256_file(&folder.join(&f.path)).unwrap(),
            f.sha256,
            "{}",
            f.path
        );
        assert!(!folder.join(format!(".{}.part", f.path)).exists());
    }
    let hits = server.hits();
    assert_eq!(hits.len(), 8, "one request per file: {hits:?}");
    assert!(hits.iter().all(|h| h.status == 200 && h.range.is_none()));
    // The downloaded files are Cora: the loader reads the published facts.
    let loaded = graph_data::planetoid::load("cora", &fetcher).unwrap();
    assert_eq!(loaded.edges.num_nodes, 2708);
    assert_eq!(loaded.edges.len(), 10556);
    // A second fetch finds them cached and verified: no request.
    fetcher.fetch(&cora).unwrap();
    assert_eq!(server.hits().len(), 8);
}

#[test]
fn a_connection_cut_half_way_is_resumed_with_a_range_request_for_the_rest() {
    let ds = allx();
    let (size, half) = (ds.files[0].size, ds.files[0].size as usize / 2);
    let server = Server::start(mirror(), move |n, _| {
        if n == 0 {
            Fault::CutAfter(half)
        } else {
            Fault::Serve
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let folder = fetcher(dir.path(), &server).fetch(&ds).unwrap();
    assert_cached_whole(&folder, &ds);
    let hits = server.hits();
    assert_eq!(hits.len(), 2, "{hits:?}");
    assert_eq!((hits[0].range, hits[0].sent), (None, half));
    // The second request asks for the rest, and only the rest is sent.
    assert_eq!(hits[1].range, Some(half as u64));
    assert_eq!(hits[1].status, 206);
    assert_eq!(hits[1].sent as u64, size - half as u64);
}

#[test]
fn a_server_that_ignores_range_restarts_the_file_from_zero() {
    let ds = allx();
    let (size, half) = (ds.files[0].size as usize, ds.files[0].size as usize / 2);
    let server = Server::start(mirror(), move |n, _| {
        if n == 0 {
            Fault::CutAfter(half)
        } else {
            Fault::IgnoreRange
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let folder = fetcher(dir.path(), &server).fetch(&ds).unwrap();
    assert_cached_whole(&folder, &ds);
    let hits = server.hits();
    assert_eq!(hits.len(), 2, "{hits:?}");
    // Asked for the rest, got the whole file with 200: written from the start, not appended.
    assert_eq!(
        (hits[1].range, hits[1].status, hits[1].sent),
        (Some(half as u64), 200, size)
    );
}

#[test]
fn a_truncated_body_is_retried_then_refused_and_never_cached() {
    let ds = allx();
    let server = Server::start(mirror(), |_, _| Fault::Truncate(1000));
    let dir = tempfile::tempdir().unwrap();
    let mut f = fetcher(dir.path(), &server);
    f.retries = 2;
    let err = f.fetch(&ds).unwrap_err();
    let msg = err.to_string();
    let url = url_of(&ds, &server);
    assert!(
        matches!(&err, DataError::Download { url: u, .. } if *u == url),
        "{msg}"
    );
    assert!(
        msg.contains("ended after 1000 of 257305 bytes") && msg.contains("3 attempts"),
        "{msg}"
    );
    assert_eq!(server.hits().len(), 3);
    assert!(!dir.path().join("cora/ind.cora.allx").exists());
}

#[test]
fn a_download_with_the_wrong_checksum_is_deleted_and_the_error_names_both_hashes() {
    let ds = allx();
    let server = Server::start(mirror(), |_, _| Fault::WrongBytes);
    let dir = tempfile::tempdir().unwrap();
    let err = fetcher(dir.path(), &server).fetch(&ds).unwrap_err();
    let msg = err.to_string();
    let DataError::DownloadChecksum {
        dataset,
        file,
        url,
        expected,
        actual,
    } = &err
    else {
        panic!("expected DownloadChecksum, got {msg}");
    };
    assert_eq!((dataset.as_str(), file.as_str()), ("cora", "ind.cora.allx"));
    assert_eq!(url, &url_of(&ds, &server));
    assert_eq!(expected, &ds.files[0].sha256);
    // The actual hash is that of the changed bytes the server sent.
    let mut bytes = std::fs::read(mirror().join("planetoid/ind.cora.allx")).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 1;
    let changed = dir.path().join("changed");
    std::fs::write(&changed, &bytes).unwrap();
    assert_eq!(actual, &sha256_file(&changed).unwrap());
    assert!(msg.contains("`cora`") && msg.contains(expected.as_str()) && msg.contains(actual.as_str()));
    // Never used, and not kept for a later resume either.
    let left: Vec<_> = std::fs::read_dir(dir.path().join("cora")).unwrap().collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn status_404_and_500_are_errors_naming_the_url() {
    let ds = allx();
    for (code, text) in [(404, "404 Not Found"), (500, "500 Internal Server Error")] {
        let server = Server::start(mirror(), move |_, _| Fault::Status(code));
        let dir = tempfile::tempdir().unwrap();
        let err = fetcher(dir.path(), &server).fetch(&ds).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains(&url_of(&ds, &server)) && msg.contains(text), "{msg}");
        assert_eq!(server.hits().len(), 1, "an HTTP error is not retried");
    }
    // A file the server does not have: 404 for real, from the base URL's layout.
    let mut missing = allx();
    missing.mirror = "no-such-folder".into();
    let server = Server::start(mirror(), |_, _| Fault::Serve);
    let dir = tempfile::tempdir().unwrap();
    let msg = fetcher(dir.path(), &server)
        .fetch(&missing)
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("/no-such-folder/ind.cora.allx") && msg.contains("404"),
        "{msg}"
    );
}

#[test]
fn a_redirect_is_followed() {
    let ds = allx();
    let server = Server::start(mirror(), |_, path| match path.strip_prefix("/moved") {
        Some(rest) => Fault::Redirect(rest.to_owned()),
        None => Fault::Serve,
    });
    let dir = tempfile::tempdir().unwrap();
    let mut f = fetcher(dir.path(), &server);
    f.url_base = Some(format!("{}/moved", server.url()));
    let folder = f.fetch(&ds).unwrap();
    assert_cached_whole(&folder, &ds);
    let hits = server.hits();
    let paths: Vec<_> = hits.iter().map(|h| (h.path.as_str(), h.status)).collect();
    assert_eq!(
        paths,
        vec![
            ("/moved/planetoid/ind.cora.allx", 302),
            ("/planetoid/ind.cora.allx", 200)
        ]
    );
}

#[test]
fn a_stalled_server_times_out_with_a_clear_error() {
    let ds = allx();
    let server = Server::start(mirror(), |_, _| Fault::Stall(5000, Duration::from_secs(5)));
    let dir = tempfile::tempdir().unwrap();
    let mut f = fetcher(dir.path(), &server);
    f.timeout = Duration::from_millis(300);
    f.retries = 1;
    let start = Instant::now();
    let err = f.fetch(&ds).unwrap_err();
    let took = start.elapsed();
    let msg = err.to_string();
    assert!(
        msg.contains(&url_of(&ds, &server)) && msg.contains("no data for 0.3 s, timed out"),
        "{msg}"
    );
    assert!(
        msg.contains("SEQGRAPH_FETCH_TIMEOUT") && msg.contains("2 attempts"),
        "{msg}"
    );
    // Two attempts of 0.3 s each, not the server's 5 s stall.
    assert!(took < Duration::from_secs(3), "took {took:?}");
    // The second attempt resumed from the bytes the first one got.
    let hits = server.hits();
    assert_eq!(hits[1].range, Some(5000), "{hits:?}");
}

#[test]
fn a_zip_is_extracted_into_its_folder_and_one_escaping_it_is_refused() {
    let m = mirror();
    let dir = tempfile::tempdir().unwrap();
    // The real TU MUTAG archive (its members are `MUTAG//MUTAG_A.txt`, ...).
    let mutag = m.join("tu/MUTAG/MUTAG.zip");
    let archive = |name: &str, mirror_folder: &str, path: &Path| Dataset {
        name: name.into(),
        title: String::new(),
        licence: String::new(),
        citation: String::new(),
        source: String::new(),
        mirror: mirror_folder.into(),
        mirror_only: false,
        files: vec![DataFile {
            path: path.file_name().unwrap().to_string_lossy().into_owned(),
            sha256: sha256_file(path).unwrap(),
            size: std::fs::metadata(path).unwrap().len(),
            url: None,
            extract: true,
        }],
    };
    let served = dir.path().join("served");
    std::fs::create_dir_all(served.join("evil")).unwrap();
    std::fs::create_dir_all(served.join("tu")).unwrap();
    std::fs::copy(&mutag, served.join("tu/MUTAG.zip")).unwrap();
    let evil = served.join("evil/evil.zip");
    {
        let mut w = zip::ZipWriter::new(std::fs::File::create(&evil).unwrap());
        let opts = zip::write::FileOptions::default();
        w.start_file("data/ok.txt", opts).unwrap();
        w.write_all(b"fine").unwrap();
        w.start_file("../escaped.txt", opts).unwrap();
        w.write_all(b"outside").unwrap();
        w.finish().unwrap();
    }
    let server = Server::start(served.clone(), |_, _| Fault::Serve);
    let cache = dir.path().join("cache");
    let f = fetcher(&cache, &server);

    let folder = f.fetch(&archive("mutag", "tu", &mutag)).unwrap();
    let a = std::fs::read_to_string(folder.join("MUTAG/MUTAG_A.txt")).unwrap();
    assert_eq!(a.lines().count(), 7442, "MUTAG's published edge lines");

    let err = f.fetch(&archive("evil", "evil", &evil)).unwrap_err();
    assert!(
        matches!(&err, DataError::UnsafeArchivePath { entry, .. } if entry == "../escaped.txt"),
        "{err}"
    );
    assert!(!cache.join("escaped.txt").exists());
    assert!(
        !cache.join("evil/data/ok.txt").exists(),
        "the archive is refused whole"
    );
}

/// The child of the kill test: `Fetcher::from_env().fetch_named(..)`, as
/// `cargo xtask data fetch NAME` runs it. Does nothing unless the test below
/// starts this binary with `SEQGRAPH_FETCH_CHILD` set.
#[test]
fn fetch_child() {
    let Ok(name) = std::env::var("SEQGRAPH_FETCH_CHILD") else {
        return;
    };
    Fetcher::from_env().fetch_named(&name).unwrap();
}

/// Kills `fetch_child` with SIGKILL at a random moment of a throttled
/// download of Cora, `rounds` times; after each kill a fetch completes and
/// verifies, resuming what the killed one left.
fn kill_fetch_mid_download(rounds: u64) {
    let dir = tempfile::tempdir().unwrap();
    let empty_mirror = dir.path().join("no-mirror");
    std::fs::create_dir_all(&empty_mirror).unwrap();
    let cora = Manifest::builtin().unwrap().get("cora").unwrap().clone();
    let mut resumed = 0;
    for seed in 0..rounds {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let server = Server::start(mirror(), |_, _| Fault::Throttle(8192, Duration::from_millis(5)));
        let cache = dir.path().join(format!("cache{seed}"));
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["fetch_child", "--exact", "--nocapture", "--test-threads", "1"])
            .env("SEQGRAPH_FETCH_CHILD", "cora")
            .env("SEQGRAPH_DATA_DIR", &cache)
            .env("SEQGRAPH_DATA_MIRROR", &empty_mirror)
            .env("SEQGRAPH_DATA_URL", server.url())
            .env_remove("SEQGRAPH_OFFLINE")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Cora is about 570 kB, some 0.4 s at this pace: kill within it.
        let started = Instant::now();
        while server.hits.lock().unwrap().is_empty() && started.elapsed() < Duration::from_secs(30) {
            std::thread::sleep(Duration::from_millis(1));
        }
        std::thread::sleep(Duration::from_millis(rng.gen_range(0..400)));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let before = server.hits().len();
        let folder = fetcher(&cache, &server).fetch(&cora).unwrap();
        for f in &cora.files {
            assert_eq!(
                sha256_file(&folder.join(&f.path)).unwrap(),
                f.sha256,
                "round {seed}: {}",
                f.path
            );
        }
        let leftover: Vec<_> = std::fs::read_dir(&folder)
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().ends_with(".part"))
            .collect();
        assert!(leftover.is_empty(), "round {seed}: {leftover:?}");
        // Whatever the killed fetch left half done was resumed, not refetched.
        resumed += server.hits()[before..]
            .iter()
            .filter(|h| h.range.is_some())
            .count();
    }
    eprintln!("{rounds} kills, {resumed} downloads resumed by a Range request");
    assert!(resumed > 0, "no kill landed mid-file in {rounds} rounds");
}

#[test]
fn a_fetch_killed_mid_download_completes_and_verifies_on_the_next_fetch() {
    kill_fetch_mid_download(5);
}

/// The long version: `cargo test -p graph-data --test fetch_faults -- --ignored`.
#[test]
#[ignore]
fn a_fetch_killed_mid_download_twenty_times() {
    kill_fetch_mid_download(20);
}
