//! What a commit makes visible: the live files of every table.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One Parquet file of a table, with the statistics imports use to skip files that cannot
/// hold a duplicate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileEntry {
    /// Relative to the lake folder, `/`-separated.
    pub path: String,
    pub rows: u64,
    pub bytes: u64,
    /// `month=YYYY-MM` for month-partitioned tables.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition: Option<String>,
    /// Smallest and largest timestamp (UTC ms) of the partitioning column.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_ts: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_ts: Option<i64>,
    /// Smallest and largest value of the first key column (meter, area, series id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_key: Option<String>,
    /// Columns the rows are sorted by (ascending), when they are; lets queries that group by
    /// meter stream instead of hashing.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sorted_by: Vec<String>,
}

impl FileEntry {
    /// Could this file hold a row with a key in `[min_key, max_key]` and a time in
    /// `[min_ts, max_ts]`? Missing statistics mean "maybe".
    pub fn may_overlap(&self, min_key: &str, max_key: &str, min_ts: i64, max_ts: i64) -> bool {
        let keys = match (&self.min_key, &self.max_key) {
            (Some(lo), Some(hi)) => lo.as_str() <= max_key && min_key <= hi.as_str(),
            _ => true,
        };
        let times = match (self.min_ts, self.max_ts) {
            (Some(lo), Some(hi)) => lo <= max_ts && min_ts <= hi,
            _ => true,
        };
        keys && times
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TableState {
    pub files: Vec<FileEntry>,
    /// Content hashes (blake3) of the source files already imported into this table.
    #[serde(default)]
    pub sources: Vec<String>,
}

impl TableState {
    pub fn rows(&self) -> u64 {
        self.files.iter().map(|f| f.rows).sum()
    }
    pub fn bytes(&self) -> u64 {
        self.files.iter().map(|f| f.bytes).sum()
    }
}

/// The state of the lake after one commit.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub version: u64,
    pub committed_at_ms: i64,
    /// What the commit did, e.g. `import readings readings.csv`.
    pub operation: String,
    pub tables: BTreeMap<String, TableState>,
}

impl Snapshot {
    pub fn table(&self, name: &str) -> Option<&TableState> {
        self.tables.get(name)
    }
    pub fn rows(&self, table: &str) -> u64 {
        self.table(table).map_or(0, TableState::rows)
    }
    pub fn has_source(&self, table: &str, hash: &str) -> bool {
        self.table(table)
            .is_some_and(|t| t.sources.iter().any(|s| s == hash))
    }
    /// Every file path any table lists.
    pub fn live_paths(&self) -> impl Iterator<Item = &str> {
        self.tables
            .values()
            .flat_map(|t| t.files.iter().map(|f| f.path.as_str()))
    }
}
