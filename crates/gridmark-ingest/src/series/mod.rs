//! Interval data (readings, area supply, external series): text files are cut into chunks that
//! parser threads turn into rows while the main thread routes them into month partitions and
//! writes Parquet, so memory stays bounded whatever the file's size.

mod chunk;
pub mod detect;
pub mod parse;
pub mod stage;

pub use chunk::{QUALITY, SeriesChunk};
pub use detect::Requested;
pub use parse::{Layout, TimeContext};
pub use stage::{SeriesStage, Unit};

use crate::csv::split_line;
use crate::error::{IngestError, format_err};
use crate::report::FileReport;
use crate::source::{Chunk, ChunkReader, Container, lines, open_text};
use crate::{ImportOptions, Progress};
use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::compute;
use datafusion::arrow::datatypes::{DataType, Float64Type, TimeUnit, TimestampMillisecondType};
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use gridmark_core::catalog::TableDef;
use gridmark_core::civil::{self, ParsedTimestamp};
use gridmark_lake::Writer;
use parse::{ParseEnv, TimeResolver};
use stage::RouteOptions;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::sync_channel;
use std::sync::{Arc, Mutex};

/// How values are completed before routing: interval (0 = infer), end stamps, unit (external
/// series keep their own unit, energy defaults to kWh).
fn route_options(table: &TableDef, opts: &ImportOptions, interval_s: i64) -> RouteOptions {
    let default_unit = if table.name == "series" {
        Unit::AsIs
    } else {
        Unit::Kwh
    };
    RouteOptions {
        interval_s,
        ts_at_end: opts.ts_at_end,
        unit: opts.unit.unwrap_or(default_unit),
    }
}

/// The most frequent step between consecutive timestamps of the same id, in seconds.
fn infer_interval(chunk: &SeriesChunk) -> Option<i64> {
    let mut last: HashMap<&str, i64> = HashMap::new();
    let mut steps: BTreeMap<i64, usize> = BTreeMap::new();
    for run in &chunk.runs {
        for i in run.start..run.end {
            if let Some(prev) = last.insert(&run.id, chunk.ts[i]) {
                let d = chunk.ts[i] - prev;
                if d > 0 && d % 1000 == 0 {
                    *steps.entry(d / 1000).or_default() += 1;
                }
            }
        }
    }
    steps
        .into_iter()
        .max_by_key(|&(s, n)| (n, -s))
        .map(|(s, _)| s)
}

/// Imports one text (plain or gzip), Parquet or JSON-lines file of interval data.
#[allow(clippy::too_many_arguments)]
pub(crate) fn import_file(
    writer: &mut Writer,
    stage: &mut SeriesStage,
    table: &'static TableDef,
    path: &Path,
    container: Container,
    opts: &ImportOptions,
    time: &TimeContext,
    report: &mut FileReport,
    progress: &dyn Progress,
) -> Result<Vec<(String, i64)>, IngestError> {
    let source = report.file.clone();
    if container == Container::Parquet {
        report.format = "parquet (long)".into();
        return import_parquet(
            writer, stage, table, path, opts, time, report, &source, progress,
        )
        .map(|_| Vec::new());
    }
    let mut reader = ChunkReader::new(path, open_text(path, container)?, opts.chunk_bytes);
    let Some(first) = reader.next_chunk()? else {
        return Err(format_err(path, "is empty (no header line)"));
    };
    let header = lines(&first)
        .next()
        .map(|(_, l)| l.to_vec())
        .unwrap_or_default();
    if header.trim_ascii_start().starts_with(b"{") {
        report.format = "json-lines (long)".into();
        return import_jsonl(
            writer, stage, table, path, first, reader, opts, time, report, &source, progress,
        )
        .map(|_| Vec::new());
    }
    if std::str::from_utf8(&header).is_err() {
        return Err(IngestError::Line {
            path: path.into(),
            line: 1,
            reason: "the header is not UTF-8 text; is this a binary file, or in another encoding (e.g. GBK)? Convert it to UTF-8 first".into(),
        });
    }
    let (sep, headers) = crate::csv::header_fields(path, &header)?;
    let sample = lines(&first)
        .nth(1)
        .map(|(_, l)| l.to_vec())
        .unwrap_or_default();
    let sample_fields: Option<Vec<String>> = (!sample.is_empty())
        .then(|| {
            let mut f = Vec::new();
            split_line(&sample, sep, &mut f).ok()?;
            Some(
                f.iter()
                    .map(|c| String::from_utf8_lossy(c).into_owned())
                    .collect(),
            )
        })
        .flatten();
    let (layout, ignored) =
        detect::detect(table.name, &headers, opts.format, sample_fields.as_deref())
            .map_err(|e| format_err(path, e))?;
    report.ignored_columns = ignored;
    let decimal_comma = sep == b';' && sample.contains(&b',');
    report.format = match &layout {
        Layout::Long { .. } => "long",
        Layout::Wide { .. } => "wide",
        Layout::Sgcc { .. } => "sgcc",
        Layout::LclDaily { .. } => "lcl-daily",
    }
    .to_string();
    let daily = matches!(layout, Layout::Sgcc { .. } | Layout::LclDaily { .. });
    let london;
    let time = if matches!(layout, Layout::LclDaily { .. }) && opts.tz.is_none() {
        london = TimeContext {
            default_tz: chrono_tz::Europe::London,
            meter_tz: time.meter_tz.clone(),
        };
        &london
    } else {
        time
    };
    let env = ParseEnv {
        file: &source,
        sep,
        decimal_comma,
        time,
        interval_s: if daily { Some(86_400) } else { opts.interval_s },
        id_prefix: &opts.id_prefix,
    };
    let mut route = route_options(table, opts, env.interval_s.unwrap_or(0));
    let bytes_read = AtomicU64::new(0);
    let reader_error: Mutex<Option<IngestError>> = Mutex::new(None);
    let threads = opts.threads.max(1);
    let mut labels = Vec::new();
    let mut outcome: Result<(), IngestError> = Ok(());
    std::thread::scope(|s| {
        let (work_tx, work_rx) = sync_channel::<Chunk>(threads * 2);
        let work_rx = Arc::new(Mutex::new(work_rx));
        let (done_tx, done_rx) = sync_channel::<SeriesChunk>(threads * 2);
        let (bytes_read, reader_error) = (&bytes_read, &reader_error);
        s.spawn(move || {
            let mut next = Some(first);
            while let Some(c) = next.take() {
                if work_tx.send(c).is_err() {
                    return;
                }
                match reader.next_chunk() {
                    Ok(c) => next = c,
                    Err(e) => {
                        *reader_error.lock().expect("not poisoned") = Some(e);
                        return;
                    }
                }
                bytes_read.store(reader.bytes_read, Ordering::Relaxed);
            }
        });
        for _ in 0..threads {
            let (work_rx, done_tx, layout, env) = (work_rx.clone(), done_tx.clone(), &layout, &env);
            s.spawn(move || {
                loop {
                    let next = work_rx.lock().expect("not poisoned").recv();
                    let Ok(chunk) = next else { return };
                    if done_tx.send(layout.parse(&chunk, env)).is_err() {
                        return;
                    }
                }
            });
        }
        drop(done_tx);
        let mut pending: BTreeMap<u64, SeriesChunk> = BTreeMap::new();
        let mut next_seq = 0;
        for parsed in done_rx.iter() {
            pending.insert(parsed.seq, parsed);
            while let Some(chunk) = pending.remove(&next_seq) {
                next_seq += 1;
                if let Err(e) = take_chunk(
                    writer,
                    stage,
                    chunk,
                    &mut route,
                    opts,
                    path,
                    report,
                    &source,
                    &mut labels,
                    table,
                ) {
                    outcome = Err(e);
                    return; // dropping done_rx stops the workers and the reader
                }
                progress.update(
                    &source,
                    bytes_read.load(Ordering::Relaxed),
                    report.rows_read,
                );
            }
        }
    });
    outcome?;
    if let Some(e) = reader_error.into_inner().expect("not poisoned") {
        return Err(e);
    }
    Ok(labels)
}

#[allow(clippy::too_many_arguments)]
fn take_chunk(
    writer: &mut Writer,
    stage: &mut SeriesStage,
    chunk: SeriesChunk,
    route: &mut RouteOptions,
    opts: &ImportOptions,
    path: &Path,
    report: &mut FileReport,
    source: &str,
    labels: &mut Vec<(String, i64)>,
    table: &TableDef,
) -> Result<(), IngestError> {
    report.rows_read += chunk.rows_read;
    report.empty_cells += chunk.empty_cells;
    report.merge_rejects(chunk.rejects.clone(), chunk.rejected);
    if route.interval_s == 0 && !chunk.is_empty() && chunk.interval.contains(&0) {
        match infer_interval(&chunk).or(opts.interval_s) {
            Some(s) => route.interval_s = s,
            None if table.name == "series" && !route.ts_at_end => {}
            None => {
                return Err(format_err(
                    path,
                    "cannot tell the reading interval from the first rows (each meter appears once); pass --interval SECONDS",
                ));
            }
        }
    }
    labels.extend(chunk.labels.iter().cloned());
    report.accepted += stage.route(writer, chunk, route, source)?;
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn import_parquet(
    writer: &mut Writer,
    stage: &mut SeriesStage,
    table: &'static TableDef,
    path: &Path,
    opts: &ImportOptions,
    time: &TimeContext,
    report: &mut FileReport,
    source: &str,
    progress: &dyn Progress,
) -> Result<(), IngestError> {
    let perr = |source| IngestError::Parquet {
        path: path.into(),
        source,
    };
    let aerr = |source| IngestError::Arrow {
        path: path.into(),
        source,
    };
    let file = std::fs::File::open(path).map_err(|source| IngestError::Io {
        path: path.into(),
        source,
    })?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(perr)?;
    let names: Vec<String> = builder
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    let (layout, ignored) = detect::detect(table.name, &names, Requested::Long, None)
        .map_err(|e| format_err(path, e))?;
    let Layout::Long {
        id,
        ts,
        value,
        interval,
    } = layout
    else {
        unreachable!("asked for long")
    };
    report.ignored_columns = ignored;
    let mut route = route_options(table, opts, opts.interval_s.unwrap_or(0));
    let reader = builder.with_batch_size(1 << 16).build().map_err(perr)?;
    let mut labels = Vec::new();
    let mut row_base = 1u64; // Parquet has no lines: rejects name the row number instead
    for (seq, batch) in reader.enumerate() {
        let batch = batch.map_err(aerr)?;
        let n = batch.num_rows();
        let ids = compute::cast(batch.column(id), &DataType::Utf8).map_err(aerr)?;
        let ids = ids.as_string::<i32>();
        let vals = compute::cast(batch.column(value), &DataType::Float64).map_err(aerr)?;
        let vals = vals.as_primitive::<Float64Type>();
        let ivs = match interval {
            Some(i) => Some(compute::cast(batch.column(i), &DataType::Int64).map_err(aerr)?),
            None => None,
        };
        let ts_col = batch.column(ts);
        let stamps: Vec<Option<ParsedTimestamp>> = match ts_col.data_type() {
            DataType::Timestamp(_, tz) => {
                let c = compute::cast(
                    ts_col,
                    &DataType::Timestamp(TimeUnit::Millisecond, tz.clone()),
                )
                .map_err(aerr)?;
                let offset_s = tz.as_ref().map(|_| 0);
                c.as_primitive::<TimestampMillisecondType>()
                    .iter()
                    .map(|t| t.map(|wall_ms| ParsedTimestamp { wall_ms, offset_s }))
                    .collect()
            }
            DataType::Date32 | DataType::Date64 => {
                let c = compute::cast(ts_col, &DataType::Timestamp(TimeUnit::Millisecond, None))
                    .map_err(aerr)?;
                c.as_primitive::<TimestampMillisecondType>()
                    .iter()
                    .map(|t| {
                        t.map(|wall_ms| ParsedTimestamp {
                            wall_ms,
                            offset_s: None,
                        })
                    })
                    .collect()
            }
            _ => {
                let c = compute::cast(ts_col, &DataType::Utf8).map_err(aerr)?;
                c.as_string::<i32>()
                    .iter()
                    .map(|s| s.and_then(|s| civil::parse_timestamp(s.as_bytes())))
                    .collect()
            }
        };
        let mut chunk = SeriesChunk::new(seq as u64);
        let mut resolver = TimeResolver::new(time);
        #[allow(clippy::needless_range_loop)]
        for r in 0..n {
            chunk.rows_read += 1;
            let row = row_base + r as u64;
            if ids.is_null(r) || ids.value(r).trim().is_empty() {
                chunk.reject(source, row, Some(&names[id]), "id is empty");
                continue;
            }
            let Some(t) = stamps[r] else {
                chunk.reject(
                    source,
                    row,
                    Some(&names[ts]),
                    "timestamp is missing or unreadable",
                );
                continue;
            };
            if vals.is_null(r) || !vals.value(r).is_finite() {
                chunk.reject(
                    source,
                    row,
                    Some(&names[value]),
                    "value is missing or not finite",
                );
                continue;
            }
            let iv = ivs.as_ref().map_or(0, |a| {
                a.as_primitive::<datafusion::arrow::datatypes::Int64Type>()
                    .value(r)
            });
            let idv = format!("{}{}", opts.id_prefix, ids.value(r));
            match resolver.resolve(&idv, t) {
                Ok(at) => chunk.push_resolved(&idv, at, iv, vals.value(r)),
                Err(e) => chunk.reject(source, row, Some(&names[ts]), e),
            }
        }
        row_base += n as u64;
        take_chunk(
            writer,
            stage,
            chunk,
            &mut route,
            opts,
            path,
            report,
            source,
            &mut labels,
            table,
        )?;
        progress.update(source, 0, report.rows_read);
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn import_jsonl(
    writer: &mut Writer,
    stage: &mut SeriesStage,
    table: &'static TableDef,
    path: &Path,
    first: Chunk,
    mut reader: ChunkReader,
    opts: &ImportOptions,
    time: &TimeContext,
    report: &mut FileReport,
    source: &str,
    progress: &dyn Progress,
) -> Result<(), IngestError> {
    let mut route = route_options(table, opts, opts.interval_s.unwrap_or(0));
    let mut labels = Vec::new();
    let mut resolver = TimeResolver::new(time);
    let mut next = Some(first);
    let mut keys: Option<(String, String, String, Option<String>)> = None;
    while let Some(c) = next.take() {
        let mut chunk = SeriesChunk::new(c.seq);
        for (n, line) in lines(&c) {
            if line.trim_ascii().is_empty() {
                continue;
            }
            chunk.rows_read += 1;
            let obj: serde_json::Map<String, serde_json::Value> = match serde_json::from_slice(line)
            {
                Ok(serde_json::Value::Object(o)) => o,
                Ok(_) => {
                    chunk.reject(source, n, None, "is not a JSON object");
                    continue;
                }
                Err(e) => {
                    chunk.reject(source, n, None, format!("is not valid JSON ({e})"));
                    continue;
                }
            };
            if keys.is_none() {
                let names: Vec<String> = obj.keys().cloned().collect();
                let (layout, _) = detect::detect(table.name, &names, Requested::Long, None)
                    .map_err(|e| IngestError::Line {
                        path: path.into(),
                        line: n,
                        reason: e,
                    })?;
                let Layout::Long {
                    id,
                    ts,
                    value,
                    interval,
                } = layout
                else {
                    unreachable!("asked for long")
                };
                keys = Some((
                    names[id].clone(),
                    names[ts].clone(),
                    names[value].clone(),
                    interval.map(|i| names[i].clone()),
                ));
            }
            let (kid, kts, kval, kiv) = keys.as_ref().expect("set above");
            let id = match obj.get(kid) {
                Some(serde_json::Value::String(s)) if !s.trim().is_empty() => s.clone(),
                Some(serde_json::Value::Number(x)) => x.to_string(),
                _ => {
                    chunk.reject(source, n, Some(kid), "id is missing or empty");
                    continue;
                }
            };
            let id = format!("{}{}", opts.id_prefix, id);
            let parsed = match obj.get(kts) {
                Some(serde_json::Value::String(s)) => civil::parse_timestamp(s.as_bytes()),
                Some(serde_json::Value::Number(x)) => x.as_i64().map(|ms| ParsedTimestamp {
                    wall_ms: ms,
                    offset_s: Some(0),
                }),
                _ => None,
            };
            let Some(parsed) = parsed else {
                chunk.reject(source, n, Some(kts), "timestamp is missing or unreadable");
                continue;
            };
            let Some(v) = obj
                .get(kval)
                .and_then(serde_json::Value::as_f64)
                .filter(|v| v.is_finite())
            else {
                chunk.reject(source, n, Some(kval), "value is missing or not a number");
                continue;
            };
            let iv = match kiv
                .as_ref()
                .map(|k| obj.get(k).and_then(serde_json::Value::as_i64))
            {
                Some(Some(x)) if x > 0 => x,
                Some(_) => {
                    chunk.reject(
                        source,
                        n,
                        kiv.as_deref(),
                        "interval must be a positive whole number of seconds",
                    );
                    continue;
                }
                None => 0,
            };
            match resolver.resolve(&id, parsed) {
                Ok(at) => chunk.push_resolved(&id, at, iv, v),
                Err(e) => chunk.reject(source, n, Some(kts), e),
            }
        }
        take_chunk(
            writer,
            stage,
            chunk,
            &mut route,
            opts,
            path,
            report,
            source,
            &mut labels,
            table,
        )?;
        progress.update(source, reader.bytes_read, report.rows_read);
        next = reader.next_chunk()?;
    }
    Ok(())
}
