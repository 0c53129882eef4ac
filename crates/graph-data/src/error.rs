//! The one error type of this crate: every variant names the file, line,
//! record or shape it is about, so bad input never turns into wrong data.

use std::path::PathBuf;

/// Result with [`DataError`].
pub type Result<T, E = DataError> = std::result::Result<T, E>;

/// Everything that can go wrong reading, fetching or checking data.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// An I/O error on a named file.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The file's content is not what its format says it must be.
    #[error("{path}{}: {message}", line.map(|l| format!(":{l}")).unwrap_or_default())]
    Parse {
        /// The file.
        path: PathBuf,
        /// 1-based line (or record) number, where it applies.
        line: Option<usize>,
        /// What is wrong.
        message: String,
    },
    /// A file whose SHA-256 is not the one the manifest states.
    #[error("{path}: SHA-256 is {actual}, the manifest expects {expected}")]
    Checksum {
        /// The file.
        path: PathBuf,
        /// Expected digest (hex).
        expected: String,
        /// Digest of the file (hex).
        actual: String,
    },
    /// A data set or file the manifest does not know.
    #[error("unknown data set `{0}` (see `cargo xtask data list`)")]
    UnknownDataset(String),
    /// The manifest itself is malformed.
    #[error("datasets manifest: {0}")]
    Manifest(String),
    /// A download that failed.
    #[error("download of {url} failed: {message}")]
    Download {
        /// The URL.
        url: String,
        /// What went wrong.
        message: String,
    },
    /// A downloaded file whose SHA-256 is not the manifest's: it was deleted, never used.
    #[error(
        "data set `{dataset}`, file {file}: the download from {url} has SHA-256 {actual}, \
         the manifest expects {expected}; the download was deleted, not used"
    )]
    DownloadChecksum {
        /// The data set.
        dataset: String,
        /// The file, inside the data set's folder.
        file: String,
        /// Where it came from.
        url: String,
        /// Expected digest (hex).
        expected: String,
        /// Digest of what was downloaded (hex).
        actual: String,
    },
    /// An archive entry that would be written outside its target folder.
    #[error("{archive}: entry `{entry}` would be extracted outside the target folder; refusing")]
    UnsafeArchivePath {
        /// The archive.
        archive: PathBuf,
        /// The offending entry name.
        entry: String,
    },
    /// Structurally invalid graph or tensor data (out-of-range ids, shapes).
    #[error("{0}")]
    Invalid(String),
}

impl DataError {
    /// Shorthand for a parse error at a line.
    pub fn parse(path: impl Into<PathBuf>, line: Option<usize>, message: impl Into<String>) -> Self {
        DataError::Parse {
            path: path.into(),
            line,
            message: message.into(),
        }
    }

    /// Shorthand for an I/O error on a file.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        DataError::Io {
            path: path.into(),
            source,
        }
    }
}
