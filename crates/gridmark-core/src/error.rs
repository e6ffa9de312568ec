use thiserror::Error;

/// What went wrong in the shared layer; callers add the file and line.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum CoreError {
    #[error("unknown table `{0}` (see `gridmark tables` or docs/data-model.md)")]
    UnknownTable(String),
    #[error("unknown time zone `{0}` (use an IANA name such as Asia/Shanghai or Europe/London)")]
    UnknownTimeZone(String),
    #[error("local time {local} does not exist in {tz} (the clocks jump over it)")]
    NonexistentLocalTime { local: String, tz: String },
    #[error("cannot parse `{value}` as {expected}")]
    Parse {
        value: String,
        expected: &'static str,
    },
    #[error("column `{column}`: {reason}")]
    Column { column: String, reason: String },
}
