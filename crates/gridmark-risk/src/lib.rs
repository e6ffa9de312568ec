//! Risk early warning: indicator rules that carry their own test cases, alerts with evidence
//! and a lifecycle (open → acknowledged → resolved, escalated after a deadline), delivery by
//! webhook and e-mail, and the risk register (identify, assess, control, monitor).
//!
//! Rules are judged by one pure function ([`eval::judge`]) for the lake's data and for the
//! rules file's tests alike. Alerts and the register are append-only event logs under
//! `<lake>/_risk/`, so every change is kept with who made it and when.

pub mod alerts;
pub mod deliver;
pub mod engine;
pub mod eval;
pub mod eventlog;
pub mod indicators;
pub mod register;
pub mod rules;

use std::path::PathBuf;
use thiserror::Error;

/// What went wrong, with the file, rule, alert or risk concerned.
#[derive(Debug, Error)]
pub enum RiskError {
    #[error("{file}: {what}: {reason}")]
    Rules {
        file: String,
        what: String,
        reason: String,
    },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}, line {line}: {reason}")]
    Log {
        path: PathBuf,
        line: usize,
        reason: String,
    },
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Invalid(String),
    #[error("delivery to {target} failed: {reason}")]
    Delivery { target: String, reason: String },
    #[error(transparent)]
    Job(#[from] gridmark_jobs::JobError),
    #[error(transparent)]
    Lake(#[from] gridmark_lake::LakeError),
}
