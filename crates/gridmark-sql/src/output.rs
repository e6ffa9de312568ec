//! Writing query results for people (an aligned table) and programs (CSV, JSON lines, Parquet).
//! Files are written under a temporary name and renamed when complete, so a failed query never
//! leaves half a result behind.

use crate::SqlError;
use datafusion::arrow::array::{Array, ArrayRef, AsArray};
use datafusion::arrow::datatypes::{
    DataType, Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type, UInt8Type,
    UInt16Type, UInt32Type, UInt64Type,
};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::execution::SendableRecordBatchStream;
use datafusion::parquet::arrow::ArrowWriter;
use futures_util::StreamExt;
use std::io::Write;
use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    Table,
    Csv,
    Json,
    Parquet,
}

fn csv_field(s: &str) -> std::borrow::Cow<'_, str> {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\"")).into()
    } else {
        s.into()
    }
}

fn json_value(col: &ArrayRef, fmt: &ArrayFormatter, row: usize) -> serde_json::Value {
    use serde_json::Value;
    if col.is_null(row) {
        return Value::Null;
    }
    macro_rules! num {
        ($t:ty) => {
            serde_json::Number::from_f64(col.as_primitive::<$t>().value(row) as f64)
                .map_or(Value::Null, Value::Number)
        };
    }
    macro_rules! int {
        ($t:ty) => {
            Value::from(col.as_primitive::<$t>().value(row))
        };
    }
    match col.data_type() {
        DataType::Float64 => num!(Float64Type),
        DataType::Float32 => num!(Float32Type),
        DataType::Int64 => int!(Int64Type),
        DataType::Int32 => int!(Int32Type),
        DataType::Int16 => int!(Int16Type),
        DataType::Int8 => int!(Int8Type),
        DataType::UInt64 => int!(UInt64Type),
        DataType::UInt32 => int!(UInt32Type),
        DataType::UInt16 => int!(UInt16Type),
        DataType::UInt8 => int!(UInt8Type),
        DataType::Boolean => Value::Bool(col.as_boolean().value(row)),
        _ => Value::String(fmt.value(row).to_string()),
    }
}

/// A text formatter for each column of a batch.
fn formatters<'a>(
    batch: &'a RecordBatch,
    opts: &'a FormatOptions<'a>,
) -> Result<Vec<ArrayFormatter<'a>>, SqlError> {
    Ok(batch
        .columns()
        .iter()
        .map(|c| ArrayFormatter::try_new(c.as_ref(), opts))
        .collect::<Result<Vec<_>, _>>()?)
}

/// Each row of a batch as a JSON object in column order (numbers as numbers, nulls as null,
/// dates and times as text).
pub fn batch_to_json_rows(
    batch: &RecordBatch,
) -> Result<Vec<serde_json::Map<String, serde_json::Value>>, SqlError> {
    let opts = FormatOptions::default().with_null("");
    let fmts = formatters(batch, &opts)?;
    let schema = batch.schema();
    Ok((0..batch.num_rows())
        .map(|r| {
            schema
                .fields()
                .iter()
                .enumerate()
                .map(|(i, f)| (f.name().clone(), json_value(batch.column(i), &fmts[i], r)))
                .collect()
        })
        .collect())
}

struct TextSink<'a> {
    out: Box<dyn Write + 'a>,
    format: OutputFormat,
    header_done: bool,
}

impl TextSink<'_> {
    fn write(&mut self, batch: &RecordBatch) -> Result<(), SqlError> {
        let opts = FormatOptions::default().with_null("");
        let fmts = formatters(batch, &opts)?;
        let io = SqlError::Write;
        let schema = batch.schema();
        if self.format == OutputFormat::Csv && !self.header_done {
            let names: Vec<String> = schema
                .fields()
                .iter()
                .map(|f| csv_field(f.name()).into_owned())
                .collect();
            writeln!(self.out, "{}", names.join(",")).map_err(io)?;
            self.header_done = true;
        }
        for r in 0..batch.num_rows() {
            match self.format {
                OutputFormat::Csv => {
                    let cells: Vec<String> = fmts
                        .iter()
                        .map(|f| csv_field(&f.value(r).to_string()).into_owned())
                        .collect();
                    writeln!(self.out, "{}", cells.join(",")).map_err(io)?;
                }
                _ => {
                    let mut obj = serde_json::Map::new();
                    for (i, f) in schema.fields().iter().enumerate() {
                        obj.insert(f.name().clone(), json_value(batch.column(i), &fmts[i], r));
                    }
                    serde_json::to_writer(&mut self.out, &obj).map_err(std::io::Error::from)?;
                    self.out.write_all(b"\n").map_err(io)?;
                }
            }
        }
        Ok(())
    }
}

/// Streams results to `out` (or stdout). `Table` shows at most `max_rows` rows. Returns the
/// number of rows produced.
pub async fn write_stream(
    mut stream: SendableRecordBatchStream,
    format: OutputFormat,
    out: Option<&Path>,
    max_rows: usize,
) -> Result<u64, SqlError> {
    let tmp = out.map(|p| {
        let mut name = p.file_name().map(|n| n.to_os_string()).unwrap_or_default();
        name.push(".partial");
        p.with_file_name(name)
    });
    let result = write_inner(&mut stream, format, tmp.as_deref(), max_rows).await;
    match (&result, out, tmp) {
        (Ok(_), Some(p), Some(t)) => std::fs::rename(&t, p).map_err(|source| SqlError::Io {
            path: p.into(),
            source,
        })?,
        (Err(_), _, Some(t)) => {
            let _ = std::fs::remove_file(t);
        }
        _ => {}
    }
    result
}

async fn write_inner(
    stream: &mut SendableRecordBatchStream,
    format: OutputFormat,
    path: Option<&Path>,
    max_rows: usize,
) -> Result<u64, SqlError> {
    let mut rows = 0u64;
    let create = |p: &Path| {
        std::fs::File::create(p).map_err(|source| SqlError::Io {
            path: p.into(),
            source,
        })
    };
    match format {
        OutputFormat::Parquet => {
            let Some(p) = path else {
                return Err(SqlError::Output("Parquet output needs --out FILE".into()));
            };
            let mut w = ArrowWriter::try_new(create(p)?, stream.schema(), None)
                .map_err(|e| SqlError::Output(e.to_string()))?;
            while let Some(b) = stream.next().await {
                let b = b?;
                rows += b.num_rows() as u64;
                w.write(&b).map_err(|e| SqlError::Output(e.to_string()))?;
            }
            w.close().map_err(|e| SqlError::Output(e.to_string()))?;
        }
        OutputFormat::Table => {
            let mut shown = Vec::new();
            let mut kept = 0usize;
            while let Some(b) = stream.next().await {
                let b = b?;
                rows += b.num_rows() as u64;
                if kept < max_rows {
                    let take = b.num_rows().min(max_rows - kept);
                    kept += take;
                    shown.push(b.slice(0, take));
                }
            }
            let text = if shown.is_empty() {
                let schema = stream.schema();
                let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
                format!("(no rows; columns: {})", names.join(", "))
            } else {
                datafusion::arrow::util::pretty::pretty_format_batches(&shown)?.to_string()
            };
            let mut out: Box<dyn Write> = match path {
                Some(p) => Box::new(create(p)?),
                None => Box::new(std::io::stdout().lock()),
            };
            let io = SqlError::Write;
            writeln!(out, "{text}").map_err(io)?;
            if rows as usize > kept {
                writeln!(
                    out,
                    "({rows} rows, first {kept} shown; use --format csv or --out for all)"
                )
                .map_err(io)?;
            } else {
                writeln!(out, "({rows} rows)").map_err(io)?;
            }
        }
        OutputFormat::Csv | OutputFormat::Json => {
            let out: Box<dyn Write> = match path {
                Some(p) => Box::new(std::io::BufWriter::new(create(p)?)),
                None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
            };
            let mut sink = TextSink {
                out,
                format,
                header_done: false,
            };
            while let Some(b) = stream.next().await {
                let b = b?;
                rows += b.num_rows() as u64;
                sink.write(&b)?;
            }
            if format == OutputFormat::Csv && !sink.header_done {
                let schema = stream.schema();
                let names: Vec<String> = schema
                    .fields()
                    .iter()
                    .map(|f| csv_field(f.name()).into_owned())
                    .collect();
                writeln!(sink.out, "{}", names.join(","))
                    .map_err(|e| SqlError::Output(e.to_string()))?;
            }
            sink.out
                .flush()
                .map_err(|e| SqlError::Output(e.to_string()))?;
        }
    }
    Ok(rows)
}
