//! Writing one Parquet file with the lake's encoding choices and collecting its statistics.

use crate::error::IoContext;
use crate::{FileEntry, LakeError};
use datafusion::arrow::array::AsArray;
use datafusion::arrow::compute;
use datafusion::arrow::datatypes::{DataType, SchemaRef, TimestampMillisecondType};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::basic::{Compression, Encoding, ZstdLevel};
use datafusion::parquet::file::properties::{EnabledStatistics, WriterProperties};
use datafusion::parquet::schema::types::ColumnPath;
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

/// Rows per row group: large enough for good compression, small enough to prune by statistics.
const ROW_GROUP_ROWS: usize = 1 << 20;

fn properties(schema: &SchemaRef) -> WriterProperties {
    let mut b = WriterProperties::builder()
        .set_compression(Compression::ZSTD(
            ZstdLevel::try_new(1).expect("level 1 is valid"),
        ))
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .set_statistics_enabled(EnabledStatistics::Page)
        .set_created_by("gridmark".to_string());
    for f in schema.fields() {
        let path = ColumnPath::from(f.name().as_str());
        match (f.name().as_str(), f.data_type()) {
            // Timestamps step by a fixed interval and intervals are constant: delta encoding
            // stores them in a few bits without hashing every value into a dictionary.
            ("ts" | "interval_s", _) | (_, DataType::Timestamp(_, _)) => {
                b = b
                    .set_column_dictionary_enabled(path.clone(), false)
                    .set_column_encoding(path, Encoding::DELTA_BINARY_PACKED);
            }
            // Nearly constant per file: a dictionary of one value, and no min/max to compare
            // on every row.
            ("quality" | "source", _) => {
                b = b.set_column_statistics_enabled(path, EnabledStatistics::None);
            }
            (_, DataType::Float64) => b = b.set_column_dictionary_enabled(path, false),
            _ => {}
        }
    }
    b.build()
}

/// An open Parquet file receiving batches of one table; `finish` makes it durable and returns
/// its catalog entry. Dropping a sink unfinished leaves a file no snapshot lists.
pub struct ParquetSink {
    abs: PathBuf,
    rel: String,
    partition: Option<String>,
    writer: ArrowWriter<BufWriter<File>>,
    ts_col: Option<usize>,
    key_col: Option<usize>,
    rows: u64,
    min_ts: Option<i64>,
    max_ts: Option<i64>,
    min_key: Option<String>,
    max_key: Option<String>,
    /// The keyring, table and personal columns to seal, when the lake encrypts them.
    pub(crate) seal_with: Option<(
        std::sync::Arc<crate::keyring::Keyring>,
        &'static str,
        &'static [&'static str],
    )>,
}

impl ParquetSink {
    pub(crate) fn create(
        abs: PathBuf,
        rel: String,
        partition: Option<String>,
        schema: SchemaRef,
        ts_column: Option<&str>,
        key_column: Option<&str>,
    ) -> Result<Self, LakeError> {
        if let Some(dir) = abs.parent() {
            std::fs::create_dir_all(dir).at(dir)?;
        }
        let file = File::create(&abs).at(&abs)?;
        let writer = ArrowWriter::try_new(
            BufWriter::with_capacity(1 << 20, file),
            schema.clone(),
            Some(properties(&schema)),
        )
        .map_err(|source| LakeError::Parquet {
            path: abs.clone(),
            source,
        })?;
        Ok(Self {
            ts_col: ts_column.and_then(|c| schema.index_of(c).ok()),
            key_col: key_column.and_then(|c| schema.index_of(c).ok()),
            abs,
            rel,
            partition,
            writer,
            rows: 0,
            min_ts: None,
            max_ts: None,
            min_key: None,
            max_key: None,
            seal_with: None,
        })
    }

    pub fn path(&self) -> &Path {
        &self.abs
    }

    pub fn rows(&self) -> u64 {
        self.rows
    }

    pub fn write(&mut self, batch: &RecordBatch) -> Result<(), LakeError> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        let sealed;
        let batch = match &self.seal_with {
            Some((ring, table, personal)) => {
                sealed = ring.seal_batch(table, personal, batch)?;
                &sealed
            }
            None => batch,
        };
        if let Some(i) = self.ts_col
            && let Some(ts) = batch
                .column(i)
                .as_primitive_opt::<TimestampMillisecondType>()
        {
            if let Some(lo) = compute::min(ts) {
                self.min_ts = Some(self.min_ts.map_or(lo, |m| m.min(lo)));
            }
            if let Some(hi) = compute::max(ts) {
                self.max_ts = Some(self.max_ts.map_or(hi, |m| m.max(hi)));
            }
        }
        if let Some(i) = self.key_col
            && let Some(keys) = batch.column(i).as_string_opt::<i32>()
        {
            if let Some(lo) = compute::min_string(keys)
                && self.min_key.as_deref().is_none_or(|m| lo < m)
            {
                self.min_key = Some(lo.to_string());
            }
            if let Some(hi) = compute::max_string(keys)
                && self.max_key.as_deref().is_none_or(|m| hi > m)
            {
                self.max_key = Some(hi.to_string());
            }
        }
        self.rows += batch.num_rows() as u64;
        self.writer
            .write(batch)
            .map_err(|source| LakeError::Parquet {
                path: self.abs.clone(),
                source,
            })
    }

    /// Closes the file, fsyncs it and returns its entry.
    pub fn finish(self) -> Result<FileEntry, LakeError> {
        let abs = self.abs;
        let buf = self
            .writer
            .into_inner()
            .map_err(|source| LakeError::Parquet {
                path: abs.clone(),
                source,
            })?;
        let file = buf.into_inner().map_err(|e| e.into_error()).at(&abs)?;
        file.sync_all().at(&abs)?;
        let bytes = file.metadata().at(&abs)?.len();
        Ok(FileEntry {
            path: self.rel,
            rows: self.rows,
            bytes,
            partition: self.partition,
            min_ts: self.min_ts,
            max_ts: self.max_ts,
            min_key: self.min_key,
            max_key: self.max_key,
            sorted_by: Vec::new(),
        })
    }
}

/// Writes batches to a new file in one go (see [`ParquetSink`]).
pub fn write_parquet(
    mut sink: ParquetSink,
    batches: &[RecordBatch],
) -> Result<FileEntry, LakeError> {
    for b in batches {
        sink.write(b)?;
    }
    sink.finish()
}
