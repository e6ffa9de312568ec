use std::path::PathBuf;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum LakeError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{path} is not a gridmark lake (no gridmark.json); create one with `gridmark demo` or `gridmark import`"
    )]
    NotALake { path: PathBuf },
    #[error("{path}: corrupt lake metadata: {reason}")]
    Corrupt { path: PathBuf, reason: String },
    #[error("{path}: lake format {found} is newer than this gridmark understands ({supported})")]
    TooNew {
        path: PathBuf,
        found: u32,
        supported: u32,
    },
    #[error("parquet {path}: {source}")]
    Parquet {
        path: PathBuf,
        #[source]
        source: datafusion::parquet::errors::ParquetError,
    },
    #[error("arrow: {0}")]
    Arrow(#[from] datafusion::arrow::error::ArrowError),
    /// Keys and sealed values: a missing or wrong master key, a damaged or altered value.
    #[error("encryption: {0}")]
    Crypto(String),
    /// A `--data` that names neither a folder nor a lake on object storage.
    #[error("{location}: {reason}")]
    Location { location: String, reason: String },
    #[error("{location}: {doing}: {source}")]
    ObjectStore {
        location: String,
        doing: String,
        #[source]
        source: Box<object_store::Error>,
    },
    /// Publishing would overwrite or fork another lake's history.
    #[error("{location}: {reason}")]
    Conflict { location: String, reason: String },
    #[error(
        "{location}: a lake on object storage is read-only in this version; write to a local lake and `gridmark publish` it"
    )]
    ReadOnly { location: String },
    #[error(transparent)]
    Core(#[from] gridmark_core::CoreError),
}

pub(crate) trait IoContext<T> {
    fn at(self, path: &std::path::Path) -> Result<T, LakeError>;
}

impl<T> IoContext<T> for std::io::Result<T> {
    fn at(self, path: &std::path::Path) -> Result<T, LakeError> {
        self.map_err(|source| LakeError::Io {
            path: path.to_path_buf(),
            source,
        })
    }
}
