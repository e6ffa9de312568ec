//! Parsed interval rows of one chunk, grouped in runs of one series id.

use crate::report::{MAX_REJECT_DETAILS, Reject};

/// The `quality` values of interval tables, by code: imports are `raw`, VEE writes the rest.
pub const QUALITY: [&str; 4] = ["raw", "validated", "estimated", "edited"];

/// Consecutive rows of one id.
#[derive(Debug, Clone)]
pub struct Run {
    pub id: String,
    pub start: usize,
    pub end: usize,
    /// Timestamps strictly increase inside the run (checked after time-zone resolution).
    pub increasing: bool,
}

#[derive(Debug, Default)]
pub struct SeriesChunk {
    pub seq: u64,
    pub runs: Vec<Run>,
    /// UTC ms; for an ambiguous local time, the earlier instant.
    pub ts: Vec<i64>,
    /// Seconds; 0 = not given, the importer fills in the inferred interval.
    pub interval: Vec<i64>,
    pub value: Vec<f64>,
    /// Quality code per row (an index into [`QUALITY`]); empty means every row is `raw`.
    pub quality: Vec<u8>,
    /// Rows whose local time happened twice: (row, later instant).
    pub ambiguous: Vec<(usize, i64)>,
    pub rows_read: u64,
    pub rejects: Vec<Reject>,
    pub rejected: u64,
    pub empty_cells: u64,
    /// Labels found beside the readings (SGCC `FLAG`): (id, value).
    pub labels: Vec<(String, i64)>,
}

impl SeriesChunk {
    pub fn new(seq: u64) -> Self {
        Self {
            seq,
            ..Default::default()
        }
    }

    pub fn len(&self) -> usize {
        self.ts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ts.is_empty()
    }

    pub fn push(&mut self, id: &str, ts: i64, interval: i64, value: f64) {
        let row = self.ts.len();
        match self.runs.last_mut() {
            Some(run) if run.id == id && run.end == row => {
                if ts <= self.ts[row - 1] {
                    run.increasing = false;
                }
                run.end += 1;
            }
            _ => self.runs.push(Run {
                id: id.to_string(),
                start: row,
                end: row + 1,
                increasing: true,
            }),
        }
        self.ts.push(ts);
        self.interval.push(interval);
        self.value.push(value);
    }

    /// Adds a row whose time is resolved to (instant, later instant of a repeated local time).
    pub fn push_resolved(&mut self, id: &str, at: (i64, Option<i64>), interval: i64, value: f64) {
        if let Some(later) = at.1 {
            self.ambiguous.push((self.len(), later));
        }
        self.push(id, at.0, interval, value);
    }

    pub fn reject(
        &mut self,
        file: &str,
        line: u64,
        field: Option<&str>,
        reason: impl Into<String>,
    ) {
        self.rejected += 1;
        if self.rejects.len() < MAX_REJECT_DETAILS {
            self.rejects.push(Reject {
                file: file.to_string(),
                line,
                field: field.map(str::to_string),
                reason: reason.into(),
            });
        }
    }
}
