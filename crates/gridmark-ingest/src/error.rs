use std::path::PathBuf;
use thiserror::Error;

/// Why an import as a whole failed. Nothing of a failed import is committed.
#[derive(Debug, Error)]
pub enum IngestError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {reason}")]
    Format { path: PathBuf, reason: String },
    #[error("{path}: line {line}: {reason}")]
    Line {
        path: PathBuf,
        line: u64,
        reason: String,
    },
    #[error(
        "{path}: {rejected} of {read} rows rejected (more than the allowed {allowed:.0} %); nothing was imported. First problem: {first}"
    )]
    TooManyRejects {
        path: PathBuf,
        rejected: u64,
        read: u64,
        allowed: f64,
        first: String,
    },
    #[error("option {option}: {reason}")]
    Option {
        option: &'static str,
        reason: String,
    },
    #[error(transparent)]
    Lake(#[from] gridmark_lake::LakeError),
    #[error(transparent)]
    Core(#[from] gridmark_core::CoreError),
    #[error("{path}: {source}")]
    Arrow {
        path: PathBuf,
        #[source]
        source: datafusion::arrow::error::ArrowError,
    },
    #[error("{path}: {source}")]
    Parquet {
        path: PathBuf,
        #[source]
        source: datafusion::parquet::errors::ParquetError,
    },
}

pub(crate) trait IoAt<T> {
    fn at(self, path: &std::path::Path) -> Result<T, IngestError>;
}

impl<T> IoAt<T> for std::io::Result<T> {
    fn at(self, path: &std::path::Path) -> Result<T, IngestError> {
        self.map_err(|source| IngestError::Io {
            path: path.to_path_buf(),
            source,
        })
    }
}

pub(crate) fn format_err(path: &std::path::Path, reason: impl Into<String>) -> IngestError {
    IngestError::Format {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}
