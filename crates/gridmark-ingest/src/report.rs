//! What an import did, for people (`Display`) and programs (`serde`).

use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;

/// Rejected rows kept with their details; beyond this only counts by reason are kept.
pub const MAX_REJECT_DETAILS: usize = 200;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Reject {
    pub file: String,
    pub line: u64,
    /// The column or field at fault, when one is.
    pub field: Option<String>,
    pub reason: String,
}

impl fmt::Display for Reject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)?;
        if let Some(field) = &self.field {
            write!(f, ": field `{field}`")?;
        }
        write!(f, ": {}", self.reason)
    }
}

/// A key that arrived twice with different values; the first stored value is kept.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Conflict {
    pub key: String,
    pub kept: String,
    pub dropped: String,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct FileReport {
    pub file: String,
    pub format: String,
    pub table: String,
    pub bytes: u64,
    /// Content hash (blake3) of the file as read.
    pub hash: String,
    /// The same content had already been imported into this table: nothing was read again.
    pub already_imported: bool,
    pub rows_read: u64,
    pub accepted: u64,
    pub rejected: u64,
    /// Rows whose natural key was already stored (or came earlier in the import) with the
    /// same values.
    pub duplicates: u64,
    /// Rows whose key was already stored with different values; the stored row is kept.
    pub conflicts: u64,
    /// Empty cells of wide layouts (no reading for that meter and time), not errors.
    pub empty_cells: u64,
    pub rejects_by_reason: BTreeMap<String, u64>,
    pub rejects: Vec<Reject>,
    pub conflict_examples: Vec<Conflict>,
    /// Input columns that no table column uses.
    pub ignored_columns: Vec<String>,
    /// Other tables filled from the same file (SGCC FLAG → meter_labels), with row counts.
    pub side_tables: BTreeMap<String, u64>,
}

impl FileReport {
    pub fn reject(&mut self, r: Reject) {
        self.rejected += 1;
        *self
            .rejects_by_reason
            .entry(reason_class(&r.reason))
            .or_default() += 1;
        if self.rejects.len() < MAX_REJECT_DETAILS {
            self.rejects.push(r);
        }
    }

    pub fn merge_rejects(&mut self, rejects: Vec<Reject>, total: u64) {
        // `total` may exceed rejects.len() when a worker kept only the first details.
        let extra = total.saturating_sub(rejects.len() as u64);
        for r in rejects {
            self.reject(r);
        }
        if extra > 0 {
            self.rejected += extra;
            *self
                .rejects_by_reason
                .entry("(details not kept)".into())
                .or_default() += extra;
        }
    }
}

/// The reason without the values in it, so reasons can be counted.
fn reason_class(reason: &str) -> String {
    reason
        .split(['`', '(', ':'])
        .next()
        .unwrap_or(reason)
        .trim()
        .to_string()
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct ImportReport {
    pub table: String,
    pub files: Vec<FileReport>,
    /// Lake version after the import (unchanged if nothing new was accepted).
    pub version: u64,
    pub committed: bool,
    /// `--dry-run`: the figures are what an import would do; nothing was written.
    pub dry_run: bool,
    pub elapsed_ms: u64,
}

impl ImportReport {
    pub fn accepted(&self) -> u64 {
        self.files.iter().map(|f| f.accepted).sum()
    }
    pub fn rejected(&self) -> u64 {
        self.files.iter().map(|f| f.rejected).sum()
    }
}

impl fmt::Display for ImportReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for r in &self.files {
            if r.already_imported {
                writeln!(
                    f,
                    "{}: already imported into `{}` (same content, blake3 {}); nothing to do",
                    r.file,
                    r.table,
                    &r.hash[..16.min(r.hash.len())]
                )?;
                continue;
            }
            writeln!(
                f,
                "{} ({}, {} bytes) → {}: {} read, {} accepted, {} rejected, {} duplicates, {} conflicts",
                r.file,
                r.format,
                r.bytes,
                r.table,
                r.rows_read,
                r.accepted,
                r.rejected,
                r.duplicates,
                r.conflicts
            )?;
            if r.empty_cells > 0 {
                writeln!(f, "  {} empty cells (no reading) skipped", r.empty_cells)?;
            }
            for (t, n) in &r.side_tables {
                writeln!(f, "  also {n} rows into `{t}`")?;
            }
            if !r.ignored_columns.is_empty() {
                writeln!(f, "  ignored columns: {}", r.ignored_columns.join(", "))?;
            }
            for (reason, n) in &r.rejects_by_reason {
                writeln!(f, "  rejected {n}× {reason}")?;
            }
            for rej in r.rejects.iter().take(10) {
                writeln!(f, "  {rej}")?;
            }
            if r.rejects.len() > 10 {
                writeln!(
                    f,
                    "  … {} more in the JSON report (--json)",
                    r.rejected - 10
                )?;
            }
            for c in r.conflict_examples.iter().take(5) {
                writeln!(
                    f,
                    "  conflict {}: kept {}, dropped {}",
                    c.key, c.kept, c.dropped
                )?;
            }
        }
        if self.dry_run {
            write!(
                f,
                "dry run: nothing was written (lake version {})",
                self.version
            )
        } else if self.committed {
            write!(
                f,
                "committed lake version {} in {:.2} s",
                self.version,
                self.elapsed_ms as f64 / 1000.0
            )
        } else {
            write!(f, "nothing new to commit (lake version {})", self.version)
        }
    }
}
