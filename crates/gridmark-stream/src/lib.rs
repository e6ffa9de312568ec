//! Real-time collection: meter readings from an MQTT broker into the lake, with nothing
//! acknowledged ever lost.
//!
//! The path of a message: the broker delivers it (QoS 1, persistent session, manual
//! acknowledgement) → [`payload::parse`] checks it whole → its readings are appended to the
//! write-ahead log ([`wal::Wal`]) → the log is made durable (fsync, grouped over the messages
//! that arrived together) → only then is the message acknowledged → every `commit_every` or
//! `commit_readings`, the open segment is sealed and a committer thread imports it into
//! `readings` in one atomic lake commit (deduplicated on the natural key, so redeliveries
//! and replays land once) and deletes it. A killed process restarts by committing what its
//! log holds; the broker redelivers what was never acknowledged. Malformed messages are
//! acknowledged, counted and logged with the reason, and never block the valid ones.

pub mod mqtt;
pub mod payload;
pub mod wal;

use std::path::PathBuf;

/// What went wrong, and where.
#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("option {option}: {reason}")]
    Option {
        option: &'static str,
        reason: String,
    },
    #[error("MQTT broker {broker}: {reason}")]
    Broker { broker: String, reason: String },
    #[error(transparent)]
    Lake(#[from] gridmark_lake::LakeError),
    #[error(transparent)]
    Ingest(#[from] gridmark_ingest::IngestError),
}
