//! The embedded lake: plain Parquet files in a documented folder layout, made visible only by
//! atomic commits, so a killed import leaves the lake exactly as it was.
//!
//! Layout under the lake folder:
//!
//! ```text
//! gridmark.json                       settings (format version, default time zone)
//! _commits/00000000000000000007.json  snapshot after commit 7: every live file of every table
//! _lock                               held (flock) by the one writer
//! tables/<table>/[month=YYYY-MM/]c<commit>-<n>.parquet
//! ```
//!
//! A writer takes the lock, writes new Parquet files under `tables/`, fsyncs them, then writes
//! the next snapshot to a temporary name and renames it into place — the rename is the commit.
//! Readers take the highest-numbered snapshot and read only the files it lists, so they never
//! see half a commit. Files that no snapshot lists (a crashed import) are removed by the next
//! writer.
//!
//! ```no_run
//! # fn main() -> Result<(), gridmark_lake::LakeError> {
//! let lake = gridmark_lake::Lake::create_or_open("./gridmark-demo".as_ref(), "Asia/Shanghai")?;
//! let snap = lake.snapshot()?;
//! println!("version {} has {} readings", snap.version, snap.rows("readings"));
//! # Ok(()) }
//! ```

mod compact;
mod error;
mod files;
pub mod keyring;
mod lake;
mod schema;
mod snapshot;
pub mod store;

pub use compact::CompactReport;
pub use error::LakeError;
pub use files::{ParquetSink, write_parquet};
pub use lake::{Lake, Settings, Writer};
pub use schema::{arrow_schema, rows_to_batch};
pub use snapshot::{FileEntry, Snapshot, TableState};

/// Re-exported so every crate uses the one Arrow/Parquet that DataFusion brings.
pub use datafusion::arrow;
pub use datafusion::parquet;
