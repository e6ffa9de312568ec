//! Getting a utility's data into the lake, in the layouts it really comes in, with a report of
//! everything that was rejected and why.
//!
//! `import` takes a table and files. Interval tables (`readings`, `area_supply`, `series`)
//! accept long (`meter_id,ts,kwh`), SGCC wide daily (`CONS_NO,FLAG,<date>…`), wide
//! (`timestamp,<id>,<id>…` as in ECL/UCI and ETT) and London LCL daily layouts, as CSV (plain or
//! gzip), Parquet (long) or JSON lines; every other table takes CSV, Parquet or JSON lines with
//! the catalog's column names. Text is parsed on several threads and written to month
//! partitions as it goes, so files larger than memory import in bounded memory.
//!
//! An import is one commit: it lands whole or not at all. Rows whose natural key is already
//! stored are counted as duplicates (same values) or conflicts (different values; the stored
//! row is kept) and not stored again; a file whose exact content was imported before is skipped.
//!
//! ```no_run
//! # use std::sync::Arc;
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let lake = gridmark_lake::Lake::create_or_open("lake".as_ref(), "Asia/Shanghai")?;
//! let report = gridmark_ingest::import(
//!     &lake,
//!     "readings",
//!     &["readings.csv".into()],
//!     &gridmark_ingest::ImportOptions::default(),
//!     Arc::new(gridmark_core::SystemClock),
//!     &gridmark_ingest::NoProgress,
//! )?;
//! println!("{report}");
//! # Ok(()) }
//! ```

pub mod csv;
mod error;
mod numeric;
mod records;
pub mod report;
pub mod series;
pub mod source;

pub use error::IngestError;
pub use numeric::{WideColumns, read_wide_numeric};
pub use report::{FileReport, ImportReport, Reject};
pub use series::{Requested, Unit};

use chrono_tz::Tz;
use datafusion::arrow::array::AsArray;
use gridmark_core::catalog::{self, TableKind};
use gridmark_core::columns::Value;
use gridmark_core::{Clock, Rows};
use gridmark_lake::{Lake, arrow_schema};
use series::{SeriesStage, TimeContext};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

/// How to read the files of one import.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    pub format: Requested,
    /// Zone of naive local times when the meter archive does not give one.
    pub tz: Option<String>,
    /// Reading interval in seconds, when the file does not make it clear.
    pub interval_s: Option<i64>,
    /// Timestamps mark the end of each interval (ECL/UCI does): store interval starts.
    pub ts_at_end: bool,
    pub unit: Option<Unit>,
    /// Put before every id of a wide file's columns (e.g. `ett.`).
    pub id_prefix: String,
    /// Parser threads.
    pub threads: usize,
    /// Share of rows that may be rejected before the whole import is refused.
    pub max_reject_ratio: f64,
    pub chunk_bytes: usize,
    /// Read, validate and deduplicate everything, report, and commit nothing.
    pub dry_run: bool,
}

impl Default for ImportOptions {
    fn default() -> Self {
        Self {
            format: Requested::Auto,
            tz: None,
            interval_s: None,
            ts_at_end: false,
            unit: None,
            id_prefix: String::new(),
            threads: std::thread::available_parallelism().map_or(2, |n| n.get()),
            max_reject_ratio: 0.1,
            chunk_bytes: 8 << 20,
            dry_run: false,
        }
    }
}

/// Told about progress on long imports.
pub trait Progress: Sync {
    fn update(&self, file: &str, bytes_read: u64, rows_read: u64);
}

pub struct NoProgress;

impl Progress for NoProgress {
    fn update(&self, _: &str, _: u64, _: u64) {}
}

fn meter_zones(
    lake: &Lake,
    writer: &gridmark_lake::Writer,
) -> Result<HashMap<String, Tz>, IngestError> {
    let mut zones = HashMap::new();
    let table = catalog::table("meters")?;
    let schema = arrow_schema(table);
    let Some(state) = writer.pending().table("meters") else {
        return Ok(zones);
    };
    for f in &state.files {
        let batch = series::stage::read_all(&lake.abs(&f.path), &schema)?;
        let ids = batch.column(0).as_string::<i32>();
        let tzs = batch
            .column(schema.index_of("tz").expect("meters.tz"))
            .as_string::<i32>();
        for (id, tz) in ids.iter().zip(tzs.iter()) {
            if let (Some(id), Some(tz)) = (id, tz)
                && let Ok(z) = gridmark_core::tz::parse_tz(tz)
            {
                zones.insert(id.to_string(), z);
            }
        }
    }
    Ok(zones)
}

/// Imports `files` into `table` as one commit.
pub fn import(
    lake: &Lake,
    table: &str,
    files: &[PathBuf],
    opts: &ImportOptions,
    clock: Arc<dyn Clock>,
    progress: &dyn Progress,
) -> Result<ImportReport, IngestError> {
    let started = Instant::now();
    let def = catalog::table(table)?;
    if files.is_empty() {
        return Err(IngestError::Option {
            option: "FILE",
            reason: "give at least one file to import".into(),
        });
    }
    let explicit_tz = opts
        .tz
        .as_deref()
        .map(gridmark_core::tz::parse_tz)
        .transpose()?;
    let lake_tz = gridmark_core::tz::parse_tz(&lake.settings().default_tz)?;
    let mut writer = lake.writer(clock)?;
    let meter_tz = if def.name == "readings" {
        meter_zones(lake, &writer)?
    } else {
        HashMap::new()
    };
    let mut report = ImportReport {
        table: def.name.to_string(),
        ..Default::default()
    };
    // One stage for every file: partitions are shared, so a hundred daily files of the same
    // months make a few Parquet files, not a hundred per month.
    let mut stage = (def.kind == TableKind::Series).then(|| SeriesStage::new(def));
    for path in files {
        let meta = std::fs::metadata(path).map_err(|source| IngestError::Io {
            path: path.clone(),
            source,
        })?;
        if meta.is_dir() {
            return Err(error::format_err(path, "is a folder; give the files in it"));
        }
        let mut file = FileReport {
            file: path.file_name().map_or_else(
                || path.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            ),
            table: def.name.to_string(),
            bytes: meta.len(),
            hash: source::hash_file(path)?,
            ..Default::default()
        };
        if writer.pending().has_source(def.name, &file.hash) {
            file.already_imported = true;
            report.files.push(file);
            continue;
        }
        let container = source::sniff(path)?;
        // LCL daily files carry no zone: the series reader switches to Europe/London when
        // it recognises the layout and no --tz was given.
        let default_tz = explicit_tz.unwrap_or(lake_tz);
        let time = TimeContext {
            default_tz,
            meter_tz: if explicit_tz.is_some() {
                HashMap::new()
            } else {
                meter_tz.clone()
            },
        };
        let labels = match def.kind {
            TableKind::Series => {
                let stage = stage.as_mut().expect("series tables have a stage");
                let labels = series::import_file(
                    &mut writer,
                    stage,
                    def,
                    path,
                    container,
                    opts,
                    &time,
                    &mut file,
                    progress,
                )?;
                check_rejects(path, &file, opts)?;
                labels
            }
            TableKind::Records => {
                let rows = records::read_file(def, path, container, &time, &mut file)?;
                check_rejects(path, &file, opts)?;
                let (stored, dups, conflicts) = records::store(&mut writer, &rows, &mut file)?;
                file.accepted = stored;
                file.duplicates = dups;
                file.conflicts = conflicts;
                Vec::new()
            }
        };
        if !labels.is_empty() {
            let mut rows = Rows::for_table("meter_labels")?;
            for (id, v) in labels {
                rows.push(vec![
                    Value::Str(id),
                    "theft".into(),
                    Value::Int(v),
                    Value::Str(format!("sgcc:{}", file.file)),
                ])?;
            }
            let mut side = FileReport::default();
            let (n, _, _) = records::store(&mut writer, &rows, &mut side)?;
            file.side_tables.insert("meter_labels".into(), n);
        }
        writer.add_source(def.name, file.hash.clone());
        report.files.push(file);
    }
    if let Some(stage) = stage {
        let tally = stage.finish(&mut writer)?;
        for f in report.files.iter_mut().filter(|f| !f.already_imported) {
            if let Some(t) = tally.by_source.get(&f.file) {
                f.duplicates = t.duplicates;
                f.conflicts = t.conflicts;
                f.accepted = f.accepted.saturating_sub(t.duplicates + t.conflicts);
                f.conflict_examples = t.conflict_examples.clone();
            }
        }
    }
    report.version = writer.base().version;
    let stored_any = report
        .files
        .iter()
        .any(|f| f.accepted > 0 || f.side_tables.values().any(|&n| n > 0));
    if stored_any && writer.is_dirty() && !opts.dry_run {
        let names: Vec<&str> = report.files.iter().map(|f| f.file.as_str()).collect();
        let snap = writer.commit(&format!("import {} {}", def.name, names.join(" ")))?;
        report.version = snap.version;
        report.committed = true;
    }
    report.dry_run = opts.dry_run;
    report.elapsed_ms = started.elapsed().as_millis() as u64;
    Ok(report)
}

fn check_rejects(
    path: &std::path::Path,
    file: &FileReport,
    opts: &ImportOptions,
) -> Result<(), IngestError> {
    if file.rows_read > 0 && file.rejected as f64 > opts.max_reject_ratio * file.rows_read as f64 {
        return Err(IngestError::TooManyRejects {
            path: path.to_path_buf(),
            rejected: file.rejected,
            read: file.rows_read,
            allowed: opts.max_reject_ratio * 100.0,
            first: file
                .rejects
                .first()
                .map(|r| r.to_string())
                .unwrap_or_default(),
        });
    }
    Ok(())
}

/// Loads generated interval series (the demo utility, tests) through the same partitioning
/// and dedupe as file imports.
pub struct SeriesLoader {
    stage: SeriesStage,
    report: FileReport,
    seq: u64,
    source: String,
}

impl SeriesLoader {
    pub fn new(table: &str, source: &str) -> Result<Self, IngestError> {
        let def = catalog::table(table)?;
        Ok(Self {
            stage: SeriesStage::new(def),
            report: FileReport {
                file: source.to_string(),
                table: def.name.to_string(),
                format: "generated".into(),
                ..Default::default()
            },
            seq: 0,
            source: source.to_string(),
        })
    }

    /// Adds one id's values (UTC ms instants, ascending).
    pub fn push(
        &mut self,
        writer: &mut gridmark_lake::Writer,
        id: &str,
        interval_s: i64,
        ts: &[i64],
        values: &[f64],
    ) -> Result<(), IngestError> {
        self.push_with_quality(writer, id, interval_s, ts, values, &[])
    }

    /// Adds one id's values with a quality code per value (see [`series::QUALITY`]; empty
    /// means `raw`), as VEE writes its validated series.
    pub fn push_with_quality(
        &mut self,
        writer: &mut gridmark_lake::Writer,
        id: &str,
        interval_s: i64,
        ts: &[i64],
        values: &[f64],
        quality: &[u8],
    ) -> Result<(), IngestError> {
        let mut chunk = series::SeriesChunk::new(self.seq);
        self.seq += 1;
        for (&t, &v) in ts.iter().zip(values) {
            chunk.push(id, t, interval_s, v);
        }
        if !quality.is_empty() {
            if quality.len() != ts.len()
                || quality.iter().any(|&q| q as usize >= series::QUALITY.len())
            {
                return Err(IngestError::Option {
                    option: "quality",
                    reason: format!("{id}: one known quality code per value is needed"),
                });
            }
            chunk.quality = quality.to_vec();
        }
        self.report.rows_read += chunk.len() as u64;
        let opts = series::stage::RouteOptions {
            interval_s,
            ts_at_end: false,
            unit: Unit::AsIs,
        };
        self.stage.route(writer, chunk, &opts, &self.source)?;
        Ok(())
    }

    pub fn finish(mut self, writer: &mut gridmark_lake::Writer) -> Result<FileReport, IngestError> {
        let tally = self.stage.finish(writer)?;
        self.report.accepted = tally.stored;
        self.report.duplicates = tally.duplicates();
        self.report.conflicts = tally.conflicts();
        Ok(self.report)
    }
}

/// Stores owned rows of a records table (deduplicated on its natural key) in the next commit.
pub fn store_rows(
    writer: &mut gridmark_lake::Writer,
    rows: &Rows,
    source: &str,
) -> Result<FileReport, IngestError> {
    let mut report = FileReport {
        file: source.to_string(),
        table: rows.table.name.to_string(),
        format: "generated".into(),
        rows_read: rows.len() as u64,
        ..Default::default()
    };
    if rows.table.kind == TableKind::Series {
        return Err(IngestError::Option {
            option: "table",
            reason: format!("{} is an interval table; use SeriesLoader", rows.table.name),
        });
    }
    let (stored, dups, conflicts) = records::store(writer, rows, &mut report)?;
    report.accepted = stored;
    report.duplicates = dups;
    report.conflicts = conflicts;
    Ok(report)
}
