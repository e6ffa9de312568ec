//! Compaction: many small files of a partition (left by many small imports) become one file,
//! sorted by the table's natural key, in one commit. Older snapshots keep their files until
//! the garbage collector no longer has to protect readers of them.

use crate::error::IoContext;
use crate::schema::arrow_schema;
use crate::{FileEntry, Lake, LakeError};
use datafusion::arrow::array::{ArrayRef, UInt32Array};
use datafusion::arrow::compute::{self, SortColumn, concat_batches};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use gridmark_core::Clock;
use gridmark_core::catalog;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Arc;

/// What a compaction did, per table.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct CompactReport {
    pub version: u64,
    pub committed: bool,
    /// (table, files before, files after, rows)
    pub tables: Vec<(String, usize, usize, u64)>,
}

fn read_file(
    lake: &Lake,
    entry: &FileEntry,
    schema: &datafusion::arrow::datatypes::SchemaRef,
) -> Result<RecordBatch, LakeError> {
    let path = lake.abs(&entry.path);
    let file = std::fs::File::open(&path).at(&path)?;
    let perr = |source| LakeError::Parquet {
        path: path.clone(),
        source,
    };
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(perr)?
        .build()
        .map_err(perr)?;
    let mut batches = Vec::new();
    for b in reader {
        batches.push(b?);
    }
    Ok(concat_batches(schema, &batches)?)
}

impl Lake {
    /// Rewrites every partition that has more than one file (of `only`, or of every table).
    pub fn compact(
        &self,
        clock: Arc<dyn Clock>,
        only: Option<&str>,
    ) -> Result<CompactReport, LakeError> {
        let mut writer = self.writer(clock)?;
        let base = writer.base().clone();
        let mut report = CompactReport {
            version: base.version,
            ..Default::default()
        };
        for (name, state) in &base.tables {
            if only.is_some_and(|t| t != name) {
                continue;
            }
            let def = catalog::table(name)?;
            let schema = arrow_schema(def);
            let mut by_partition: BTreeMap<Option<String>, Vec<&FileEntry>> = BTreeMap::new();
            for f in &state.files {
                by_partition.entry(f.partition.clone()).or_default().push(f);
            }
            let before = state.files.len();
            let mut after = 0;
            for (partition, files) in by_partition {
                if files.len() < 2 {
                    after += files.len();
                    continue;
                }
                let parts = files
                    .iter()
                    .map(|f| read_file(self, f, &schema))
                    .collect::<Result<Vec<_>, _>>()?;
                let all = concat_batches(&schema, &parts)?;
                let mut sort: Vec<SortColumn> = def
                    .key
                    .iter()
                    .map(|k| SortColumn {
                        values: all.column(schema.index_of(k).expect("key column")).clone(),
                        options: None,
                    })
                    .collect();
                // File order breaks ties, so the result is the same every time.
                let order: ArrayRef =
                    Arc::new(UInt32Array::from_iter_values(0..all.num_rows() as u32));
                sort.push(SortColumn {
                    values: order,
                    options: None,
                });
                let idx = compute::lexsort_to_indices(&sort, None)?;
                let cols = all
                    .columns()
                    .iter()
                    .map(|c| compute::take(c, &idx, None))
                    .collect::<Result<Vec<_>, _>>()?;
                let sorted = RecordBatch::try_new(schema.clone(), cols)?;
                let mut sink = writer.sink(def, partition.as_deref())?;
                let mut off = 0;
                while off < sorted.num_rows() {
                    let len = (sorted.num_rows() - off).min(1 << 20);
                    sink.write(&sorted.slice(off, len))?;
                    off += len;
                }
                let mut entry = sink.finish()?;
                entry.sorted_by = def.key.iter().map(|k| k.to_string()).collect();
                for f in &files {
                    writer.remove_file(name, &f.path);
                }
                writer.add_file(name, entry);
                after += 1;
            }
            report
                .tables
                .push((name.clone(), before, after, state.rows()));
        }
        if writer.is_dirty() {
            let snap = writer.commit(&format!("compact {}", only.unwrap_or("all tables")))?;
            report.version = snap.version;
            report.committed = true;
        }
        Ok(report)
    }

    /// Rewrites every file of `table` with its personal fields sealed under the table's active
    /// data key, opening values sealed with older keys first: after `gridmark keys init` on a
    /// lake that holds data, or after new data keys. Returns (files rewritten, rows, version).
    pub fn reseal(
        &self,
        clock: Arc<dyn Clock>,
        table: &str,
        ring: Arc<crate::keyring::Keyring>,
    ) -> Result<(usize, u64, u64), LakeError> {
        let def = catalog::table(table)?;
        let writer_clock = clock.clone();
        let mut writer = self.writer_with_keys(clock, Some(ring.clone()))?;
        let schema = arrow_schema(def);
        let Some(state) = writer.base().table(table).cloned() else {
            return Ok((0, 0, writer.base().version));
        };
        let mut rows = 0;
        for f in &state.files {
            let plain = ring.open_batch(def.personal, &read_file(self, f, &schema)?)?;
            let mut sink = writer.sink(def, f.partition.as_deref())?;
            sink.write(&plain)?;
            rows += plain.num_rows() as u64;
            let mut entry = sink.finish()?;
            entry.sorted_by = f.sorted_by.clone();
            writer.remove_file(table, &f.path);
            writer.add_file(table, entry);
        }
        let version = writer.commit(&format!("reseal {table}"))?.version;
        // The files the reseal replaced hold the values in clear (or under retired keys):
        // delete them now rather than after the snapshots kept for readers expire. Readers
        // pinned to a snapshot older than the reseal lose this table. Under the writer lock,
        // so no other writer's staged file is touched.
        let purge = self.writer(writer_clock)?;
        let live: std::collections::HashSet<std::path::PathBuf> =
            purge.base().live_paths().map(|p| self.abs(p)).collect();
        crate::lake::remove_unlisted(&self.root().join("tables").join(table), &live)?;
        drop(purge);
        Ok((state.files.len(), rows, version))
    }
}
