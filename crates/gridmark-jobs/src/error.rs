use thiserror::Error;

/// What went wrong in a job, with the table, file or option concerned.
#[derive(Debug, Error)]
pub enum JobError {
    #[error(transparent)]
    Lake(#[from] gridmark_lake::LakeError),
    #[error(transparent)]
    Sql(#[from] gridmark_sql::SqlError),
    #[error(transparent)]
    Ingest(#[from] gridmark_ingest::IngestError),
    #[error(transparent)]
    Core(#[from] gridmark_core::CoreError),
    #[error("query failed: {0}")]
    DataFusion(#[from] datafusion::error::DataFusionError),
    #[error("{what}: {reason}")]
    Invalid { what: String, reason: String },
    #[error("{path}: {source}")]
    Io {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl JobError {
    pub fn invalid(what: impl Into<String>, reason: impl Into<String>) -> Self {
        JobError::Invalid {
            what: what.into(),
            reason: reason.into(),
        }
    }
}
