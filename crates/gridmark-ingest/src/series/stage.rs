//! Routing parsed rows into month partitions, writing them as Parquet while the file is still
//! being read, and the dedupe pass for partitions that need one.

use super::chunk::SeriesChunk;
use crate::error::IngestError;
use crate::report::Conflict;
use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, Float64Array, Int64Array, StringArray, StringBuilder,
    TimestampMillisecondArray, UInt32Array,
};
use datafusion::arrow::compute::{self, SortColumn, concat_batches};
use datafusion::arrow::datatypes::{Float64Type, Int64Type, SchemaRef, TimestampMillisecondType};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use gridmark_core::catalog::{Partitioning, TableDef};
use gridmark_core::civil;
use gridmark_lake::{FileEntry, ParquetSink, Writer, arrow_schema};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;

const FLUSH_ROWS: usize = 1 << 18;
const MAX_CONFLICT_EXAMPLES: usize = 20;

/// Physical unit of the values in the file; stored values are kWh (or the series' own unit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Kwh,
    Wh,
    Mwh,
    /// Average power over the interval, kW: energy = kW × interval hours.
    Kw,
    /// Stored as given (external series).
    AsIs,
}

impl Unit {
    fn factor(self, interval_s: i64) -> f64 {
        match self {
            Unit::Kwh | Unit::AsIs => 1.0,
            Unit::Wh => 0.001,
            Unit::Mwh => 1000.0,
            Unit::Kw => interval_s as f64 / 3600.0,
        }
    }
}

struct PartBuf {
    ids: StringBuilder,
    ts: Vec<i64>,
    interval: Vec<i64>,
    value: Vec<f64>,
    quality: Vec<u8>,
}

impl PartBuf {
    fn new() -> Self {
        Self {
            ids: StringBuilder::with_capacity(FLUSH_ROWS, FLUSH_ROWS * 10),
            ts: Vec::with_capacity(FLUSH_ROWS),
            interval: Vec::with_capacity(FLUSH_ROWS),
            value: Vec::with_capacity(FLUSH_ROWS),
            quality: Vec::with_capacity(FLUSH_ROWS),
        }
    }
}

/// A partition's Parquet file, encoded on its own thread so that routing, parsing and
/// encoding use every core.
struct Encoder {
    tx: std::sync::mpsc::SyncSender<RecordBatch>,
    handle: std::thread::JoinHandle<Result<FileEntry, gridmark_lake::LakeError>>,
}

impl Encoder {
    fn start(mut sink: ParquetSink) -> Self {
        let (tx, rx) = std::sync::mpsc::sync_channel::<RecordBatch>(2);
        let handle = std::thread::spawn(move || {
            for batch in rx {
                sink.write(&batch)?;
            }
            sink.finish()
        });
        Self { tx, handle }
    }

    fn send(self, batch: RecordBatch) -> Result<Self, IngestError> {
        match self.tx.send(batch) {
            Ok(()) => Ok(self),
            // The thread stopped: it has the error.
            Err(_) => Err(self.finish().err().unwrap_or_else(|| IngestError::Format {
                path: "".into(),
                reason: "the Parquet encoder stopped".into(),
            })),
        }
    }

    fn finish(self) -> Result<FileEntry, IngestError> {
        drop(self.tx);
        match self.handle.join() {
            Ok(r) => Ok(r?),
            Err(_) => Err(IngestError::Format {
                path: "".into(),
                reason: "the Parquet encoder thread panicked".into(),
            }),
        }
    }
}

struct Partition {
    name: Option<String>,
    encoder: Option<Encoder>,
    buf: PartBuf,
    source: String,
    /// Last timestamp per (id, interval): a row not after it may be a duplicate.
    last: HashMap<(String, i64), i64>,
    /// Rows arrived out of order or repeated: the dedupe pass must sort this partition.
    dirty: bool,
    /// The ids arrived in ascending order, each in one stretch, so the file is sorted by id.
    ids_ascending: bool,
    last_id: Option<String>,
    rows: u64,
}

/// Builds record batches of a series table from columns.
#[allow(clippy::too_many_arguments)]
pub(crate) fn series_batch(
    table: &TableDef,
    schema: &SchemaRef,
    ids: ArrayRef,
    ts: Vec<i64>,
    interval: Vec<i64>,
    value: Vec<f64>,
    quality: ArrayRef,
    source: ArrayRef,
) -> Result<RecordBatch, IngestError> {
    let n = ts.len();
    let mut ts = Some(ts);
    let mut interval = Some(interval);
    let mut value = Some(value);
    let cols: Vec<ArrayRef> = table
        .columns
        .iter()
        .map(|c| -> ArrayRef {
            match c.name {
                "ts" => Arc::new(
                    TimestampMillisecondArray::from(ts.take().unwrap_or_default())
                        .with_timezone("UTC"),
                ),
                "interval_s" => Arc::new(Int64Array::from(interval.take().unwrap_or_default())),
                "kwh" | "value" => Arc::new(Float64Array::from(value.take().unwrap_or_default())),
                "quality" => quality.clone(),
                "source" => source.clone(),
                _ => ids.clone(),
            }
        })
        .collect();
    debug_assert!(cols.iter().all(|c| c.len() == n));
    RecordBatch::try_new(schema.clone(), cols).map_err(|source| IngestError::Arrow {
        path: table.name.into(),
        source,
    })
}

fn quality_array(codes: &[u8]) -> ArrayRef {
    Arc::new(StringArray::from_iter_values(
        codes.iter().map(|&c| super::chunk::QUALITY[c as usize]),
    ))
}

fn constant(s: &str, n: usize) -> ArrayRef {
    Arc::new(StringArray::from_iter_values(std::iter::repeat_n(s, n)))
}

/// Duplicates and conflicts found for the rows of one source file.
#[derive(Debug, Default, Clone)]
pub struct SourceTally {
    pub duplicates: u64,
    pub conflicts: u64,
    pub conflict_examples: Vec<Conflict>,
}

/// What the dedupe pass of an import found.
#[derive(Debug, Default, Clone)]
pub struct Tally {
    pub stored: u64,
    /// By the `source` value of the dropped rows (the file name).
    pub by_source: BTreeMap<String, SourceTally>,
}

impl Tally {
    pub fn duplicates(&self) -> u64 {
        self.by_source.values().map(|t| t.duplicates).sum()
    }
    pub fn conflicts(&self) -> u64 {
        self.by_source.values().map(|t| t.conflicts).sum()
    }
}

/// All partitions of one import into one series table.
pub struct SeriesStage {
    table: &'static TableDef,
    schema: SchemaRef,
    parts: BTreeMap<i64, Partition>,
    /// Ambiguous local times already given their earlier instant: (id, earlier).
    ambiguous_seen: HashSet<(String, i64)>,
}

fn month_index(ms: i64) -> i64 {
    let (y, m) = civil::month_key(ms);
    y * 12 + (m as i64 - 1)
}

fn month_bounds(idx: i64) -> (i64, i64) {
    let (y, m) = (idx.div_euclid(12), idx.rem_euclid(12) as u32 + 1);
    let lo = civil::days_from_civil(y, m, 1) * civil::MS_PER_DAY;
    let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    (lo, civil::days_from_civil(ny, nm, 1) * civil::MS_PER_DAY)
}

/// How the values of a chunk are completed before routing.
pub struct RouteOptions {
    pub interval_s: i64,
    pub ts_at_end: bool,
    pub unit: Unit,
}

impl SeriesStage {
    pub fn new(table: &'static TableDef) -> Self {
        Self {
            table,
            schema: arrow_schema(table),
            parts: BTreeMap::new(),
            ambiguous_seen: HashSet::new(),
        }
    }

    /// Routes one parsed chunk (in file order) into its partitions, writing full buffers.
    pub fn route(
        &mut self,
        writer: &mut Writer,
        mut chunk: SeriesChunk,
        opts: &RouteOptions,
        source: &str,
    ) -> Result<u64, IngestError> {
        for i in 0..chunk.len() {
            if chunk.interval[i] == 0 {
                chunk.interval[i] = opts.interval_s;
            }
            let iv = chunk.interval[i];
            if opts.ts_at_end {
                chunk.ts[i] -= iv * 1000;
            }
            chunk.value[i] *= opts.unit.factor(iv);
        }
        for &(row, later) in &chunk.ambiguous {
            let run = chunk.runs.partition_point(|r| r.end <= row);
            let id = chunk.runs[run].id.clone();
            let later = if opts.ts_at_end {
                later - chunk.interval[row] * 1000
            } else {
                later
            };
            if !self.ambiguous_seen.insert((id, chunk.ts[row])) {
                chunk.ts[row] = later;
            }
        }
        let partitioned = matches!(self.table.partitioning, Partitioning::MonthOf(_));
        let mut accepted = 0u64;
        for run in &chunk.runs {
            let mut i = run.start;
            while i < run.end {
                let (key, hi) = if partitioned {
                    let k = month_index(chunk.ts[i]);
                    (k, month_bounds(k))
                } else {
                    (0, (i64::MIN, i64::MAX))
                };
                let mut j = i + 1;
                while j < run.end && chunk.ts[j] >= hi.0 && chunk.ts[j] < hi.1 {
                    j += 1;
                }
                let part = self.parts.entry(key).or_insert_with(|| Partition {
                    name: partitioned.then(|| {
                        let (y, m) = (key.div_euclid(12), key.rem_euclid(12) + 1);
                        format!("month={y:04}-{m:02}")
                    }),
                    encoder: None,
                    buf: PartBuf::new(),
                    source: source.to_string(),
                    last: HashMap::new(),
                    dirty: false,
                    ids_ascending: true,
                    last_id: None,
                    rows: 0,
                });
                if part.source != source && !part.buf.ts.is_empty() {
                    flush(self.table, &self.schema, writer, part)?;
                }
                part.source = source.to_string();
                match &part.last_id {
                    Some(last) if *last == run.id => {}
                    Some(last) => {
                        if run.id < *last {
                            part.ids_ascending = false;
                        }
                        part.last_id = Some(run.id.clone());
                    }
                    None => part.last_id = Some(run.id.clone()),
                }
                let iv = chunk.interval[i];
                let uniform = chunk.interval[i..j].iter().all(|&x| x == iv);
                let last = part.last.entry((run.id.clone(), iv)).or_insert(i64::MIN);
                if !run.increasing || !uniform || chunk.ts[i] <= *last {
                    part.dirty = true;
                }
                *last = (*last).max(chunk.ts[j - 1]);
                for _ in i..j {
                    part.buf.ids.append_value(&run.id);
                }
                part.buf.ts.extend_from_slice(&chunk.ts[i..j]);
                part.buf.interval.extend_from_slice(&chunk.interval[i..j]);
                part.buf.value.extend_from_slice(&chunk.value[i..j]);
                if chunk.quality.is_empty() {
                    part.buf.quality.resize(part.buf.ts.len(), 0);
                } else {
                    part.buf.quality.extend_from_slice(&chunk.quality[i..j]);
                }
                part.rows += (j - i) as u64;
                accepted += (j - i) as u64;
                if part.buf.ts.len() >= FLUSH_ROWS {
                    flush(self.table, &self.schema, writer, part)?;
                }
                i = j;
            }
        }
        Ok(accepted)
    }

    /// Writes what is buffered, runs the dedupe pass where needed and stages the files.
    pub fn finish(mut self, writer: &mut Writer) -> Result<Tally, IngestError> {
        let mut tally = Tally::default();
        let existing: Vec<FileEntry> = writer
            .pending()
            .table(self.table.name)
            .map(|t| t.files.clone())
            .unwrap_or_default();
        let parts = std::mem::take(&mut self.parts);
        for (_, mut part) in parts {
            flush(self.table, &self.schema, writer, &mut part)?;
            let Some(encoder) = part.encoder.take() else {
                continue;
            };
            let mut entry = encoder.finish()?;
            if part.ids_ascending && !part.dirty {
                entry.sorted_by = vec![self.table.key[0].to_string()];
            }
            let overlapping: Vec<&FileEntry> = existing
                .iter()
                .filter(|f| {
                    f.partition == part.name
                        && match (&entry.min_key, &entry.max_key, entry.min_ts, entry.max_ts) {
                            (Some(a), Some(b), Some(c), Some(d)) => f.may_overlap(a, b, c, d),
                            _ => true,
                        }
                })
                .collect();
            if !part.dirty && overlapping.is_empty() {
                tally.stored += entry.rows;
                writer.add_file(self.table.name, entry);
                continue;
            }
            tally.stored += self.dedupe(
                writer,
                &entry,
                &overlapping,
                part.name.as_deref(),
                &mut tally,
            )?;
        }
        Ok(tally)
    }

    fn dedupe(
        &self,
        writer: &mut Writer,
        staged: &FileEntry,
        existing: &[&FileEntry],
        partition: Option<&str>,
        tally: &mut Tally,
    ) -> Result<u64, IngestError> {
        let lake_root = writer.lake().root().to_path_buf();
        let batch = read_all(&lake_root.join(&staged.path), &self.schema)?;
        let idx_of = |name: &str| self.schema.index_of(name).expect("catalog column");
        let id_i = idx_of(self.table.key[0]);
        let ts_i = idx_of("ts");
        let iv_i = self.schema.index_of("interval_s").ok();
        let val_i = self
            .schema
            .index_of("kwh")
            .or_else(|_| self.schema.index_of("value"))
            .expect("value column");
        let mut stored: HashMap<(String, i64, i64), f64> = HashMap::new();
        for f in existing {
            let b = read_all(&lake_root.join(&f.path), &self.schema)?;
            let ids = b.column(id_i).as_string::<i32>();
            let ts = b.column(ts_i).as_primitive::<TimestampMillisecondType>();
            let val = b.column(val_i).as_primitive::<Float64Type>();
            let iv = iv_i.map(|i| b.column(i).as_primitive::<Int64Type>().clone());
            for r in 0..b.num_rows() {
                let interval = iv.as_ref().map_or(0, |a| a.value(r));
                stored.insert(
                    (ids.value(r).to_string(), interval, ts.value(r)),
                    val.value(r),
                );
            }
        }
        let n = batch.num_rows();
        let order: ArrayRef = Arc::new(UInt32Array::from_iter_values(0..n as u32));
        let mut sort_cols = vec![SortColumn {
            values: batch.column(id_i).clone(),
            options: None,
        }];
        if let Some(i) = iv_i {
            sort_cols.push(SortColumn {
                values: batch.column(i).clone(),
                options: None,
            });
        }
        sort_cols.push(SortColumn {
            values: batch.column(ts_i).clone(),
            options: None,
        });
        sort_cols.push(SortColumn {
            values: order,
            options: None,
        });
        let sorted =
            compute::lexsort_to_indices(&sort_cols, None).map_err(|source| IngestError::Arrow {
                path: staged.path.clone().into(),
                source,
            })?;
        let ids = batch.column(id_i).as_string::<i32>();
        let ts = batch
            .column(ts_i)
            .as_primitive::<TimestampMillisecondType>();
        let val = batch.column(val_i).as_primitive::<Float64Type>();
        let iv = iv_i.map(|i| batch.column(i).as_primitive::<Int64Type>().clone());
        let mut keep: Vec<u32> = Vec::with_capacity(n);
        let src = batch.column(idx_of("source")).as_string::<i32>();
        let mut prev: Option<u32> = None;
        for &r in sorted.values() {
            let ri = r as usize;
            let interval = iv.as_ref().map_or(0, |a| a.value(ri));
            let key_eq = |p: usize| {
                ids.value(p) == ids.value(ri)
                    && ts.value(p) == ts.value(ri)
                    && iv.as_ref().is_none_or(|a| a.value(p) == interval)
            };
            let earlier = match prev {
                Some(p) if key_eq(p as usize) => Some(val.value(p as usize)),
                _ => stored
                    .get(&(ids.value(ri).to_string(), interval, ts.value(ri)))
                    .copied(),
            };
            match earlier {
                Some(v) if v == val.value(ri) => {
                    tally
                        .by_source
                        .entry(src.value(ri).to_string())
                        .or_default()
                        .duplicates += 1;
                }
                Some(v) => {
                    let t = tally
                        .by_source
                        .entry(src.value(ri).to_string())
                        .or_default();
                    t.conflicts += 1;
                    if t.conflict_examples.len() < MAX_CONFLICT_EXAMPLES {
                        t.conflict_examples.push(Conflict {
                            key: format!(
                                "{} {} ({} s)",
                                ids.value(ri),
                                civil::format_utc(ts.value(ri)),
                                interval
                            ),
                            kept: v.to_string(),
                            dropped: val.value(ri).to_string(),
                        });
                    }
                }
                None => {
                    keep.push(r);
                    prev = Some(r);
                }
            }
        }
        writer.discard(&staged.path);
        if keep.is_empty() {
            return Ok(0);
        }
        let keep = UInt32Array::from(keep);
        let cols = batch
            .columns()
            .iter()
            .map(|c| compute::take(c, &keep, None))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|source| IngestError::Arrow {
                path: staged.path.clone().into(),
                source,
            })?;
        let out = RecordBatch::try_new(self.schema.clone(), cols).map_err(|source| {
            IngestError::Arrow {
                path: staged.path.clone().into(),
                source,
            }
        })?;
        let mut sink = writer.sink(self.table, partition)?;
        let mut off = 0;
        while off < out.num_rows() {
            let len = (out.num_rows() - off).min(1 << 20);
            sink.write(&out.slice(off, len))?;
            off += len;
        }
        let mut entry = sink.finish()?;
        entry.sorted_by = self.table.key.iter().map(|k| k.to_string()).collect();
        let rows = entry.rows;
        writer.add_file(self.table.name, entry);
        Ok(rows)
    }
}

fn flush(
    table: &TableDef,
    schema: &SchemaRef,
    writer: &mut Writer,
    part: &mut Partition,
) -> Result<(), IngestError> {
    if part.buf.ts.is_empty() {
        return Ok(());
    }
    let buf = std::mem::replace(&mut part.buf, PartBuf::new());
    let mut ids = buf.ids;
    let n = buf.ts.len();
    let batch = series_batch(
        table,
        schema,
        Arc::new(ids.finish()),
        buf.ts,
        buf.interval,
        buf.value,
        quality_array(&buf.quality),
        constant(&part.source, n),
    )?;
    let encoder = match part.encoder.take() {
        Some(e) => e,
        None => Encoder::start(writer.sink(table, part.name.as_deref())?),
    };
    part.encoder = Some(encoder.send(batch)?);
    Ok(())
}

/// Reads a whole Parquet file (one partition of one import) into one batch.
pub(crate) fn read_all(path: &Path, schema: &SchemaRef) -> Result<RecordBatch, IngestError> {
    let file = std::fs::File::open(path).map_err(|source| IngestError::Io {
        path: path.into(),
        source,
    })?;
    let perr = |source| IngestError::Parquet {
        path: path.into(),
        source,
    };
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(perr)?
        .with_batch_size(1 << 16)
        .build()
        .map_err(perr)?;
    let mut batches = Vec::new();
    for b in reader {
        let b = b.map_err(|source| IngestError::Arrow {
            path: path.into(),
            source,
        })?;
        let cols = schema
            .fields()
            .iter()
            .map(|f| {
                let c = b
                    .column_by_name(f.name())
                    .cloned()
                    .ok_or_else(|| IngestError::Format {
                        path: path.into(),
                        reason: format!("column {} is missing", f.name()),
                    })?;
                compute::cast(&c, f.data_type()).map_err(|source| IngestError::Arrow {
                    path: path.into(),
                    source,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        batches.push(
            RecordBatch::try_new(schema.clone(), cols).map_err(|source| IngestError::Arrow {
                path: path.into(),
                source,
            })?,
        );
    }
    concat_batches(schema, &batches).map_err(|source| IngestError::Arrow {
        path: path.into(),
        source,
    })
}
