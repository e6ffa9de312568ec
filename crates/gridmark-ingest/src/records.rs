//! Archives and transactions (customers, bills, work orders…): read whole, typed by the
//! catalog, deduplicated on the natural key against what the lake holds, written as one file.

use crate::csv::{records, split_line};
use crate::error::{IngestError, IoAt, format_err};
use crate::report::{Conflict, FileReport, Reject};
use crate::series::TimeContext;
use crate::series::parse::{TimeResolver, parse_number};
use crate::source::{Container, open_text};
use datafusion::arrow::array::{Array, AsArray, UInt32Array};
use datafusion::arrow::compute;
use datafusion::arrow::datatypes::DataType;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use gridmark_core::Rows;
use gridmark_core::catalog::{ColumnType, TableDef};
use gridmark_core::civil;
use gridmark_core::columns::Value;
use gridmark_lake::{Writer, arrow_schema, rows_to_batch};
use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

/// Largest archive file read whole (interval data streams; archives do not need to).
const MAX_RECORDS_FILE: u64 = 8 << 30;

fn parse_cell(ty: ColumnType, text: &str, resolver: &mut TimeResolver) -> Result<Value, String> {
    let t = text.trim();
    if t.is_empty() || t.eq_ignore_ascii_case("null") {
        return Ok(Value::Null);
    }
    let short = || t.chars().take(40).collect::<String>();
    Ok(match ty {
        ColumnType::Utf8 => Value::Str(t.to_string()),
        ColumnType::Int64 => match t.parse::<i64>() {
            Ok(v) => Value::Int(v),
            Err(_) => match t.parse::<f64>() {
                Ok(f) if f.fract() == 0.0 && f.abs() < 9e15 => Value::Int(f as i64),
                _ => return Err(format!("`{}` is not a whole number", short())),
            },
        },
        ColumnType::Float64 => Value::Float(parse_number(t.as_bytes(), false)?),
        ColumnType::Bool => match t.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "y" | "t" => Value::Bool(true),
            "false" | "0" | "no" | "n" | "f" => Value::Bool(false),
            _ => return Err(format!("`{}` is not true/false", short())),
        },
        ColumnType::Date => match civil::parse_date(t.as_bytes()) {
            Some(d) => Value::Date(d as i32),
            None => match civil::parse_timestamp(t.as_bytes()) {
                Some(p) => Value::Date(p.wall_ms.div_euclid(civil::MS_PER_DAY) as i32),
                None => return Err(format!("`{}` is not a date (YYYY-MM-DD)", short())),
            },
        },
        ColumnType::TimestampMs => match civil::parse_timestamp(t.as_bytes()) {
            Some(p) => Value::Ts(resolver.resolve("", p)?.0),
            None => return Err(format!("`{}` is not a timestamp", short())),
        },
    })
}

/// Maps input column names onto catalog columns; errors when a required column is absent.
fn map_columns(
    table: &TableDef,
    names: &[String],
    path: &Path,
) -> Result<(Vec<Option<usize>>, Vec<String>), IngestError> {
    let norm: Vec<String> = names
        .iter()
        .map(|n| n.trim().trim_matches('"').to_ascii_lowercase())
        .collect();
    let map: Vec<Option<usize>> = table
        .columns
        .iter()
        .map(|c| norm.iter().position(|n| n == c.name))
        .collect();
    let missing: Vec<&str> = table
        .columns
        .iter()
        .zip(&map)
        .filter(|(c, m)| !c.nullable && m.is_none())
        .map(|(c, _)| c.name)
        .collect();
    if !missing.is_empty() {
        return Err(format_err(
            path,
            format!(
                "table `{}` needs column(s) {} but the header has: {}",
                table.name,
                missing.join(", "),
                names.iter().take(12).cloned().collect::<Vec<_>>().join(",")
            ),
        ));
    }
    let ignored = names
        .iter()
        .enumerate()
        .filter(|(i, _)| !map.contains(&Some(*i)))
        .map(|(_, n)| n.trim().trim_matches('"').to_string())
        .filter(|n| !n.is_empty())
        .collect();
    Ok((map, ignored))
}

/// Reads one file into rows of `table`, rejecting bad rows with their line and field.
pub(crate) fn read_file(
    table: &'static TableDef,
    path: &Path,
    container: Container,
    time: &TimeContext,
    report: &mut FileReport,
) -> Result<Rows, IngestError> {
    let mut rows = Rows::new(table);
    let mut resolver = TimeResolver::new(time);
    let source = report.file.clone();
    if container == Container::Parquet {
        report.format = "parquet".into();
        let file = std::fs::File::open(path).at(path)?;
        let perr = |source| IngestError::Parquet {
            path: path.into(),
            source,
        };
        let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(perr)?;
        let names: Vec<String> = builder
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        let (map, ignored) = map_columns(table, &names, path)?;
        report.ignored_columns = ignored;
        let mut row_no = 0u64;
        for batch in builder.build().map_err(perr)? {
            let batch = batch.map_err(|source| IngestError::Arrow {
                path: path.into(),
                source,
            })?;
            let texts = map
                .iter()
                .map(|m| {
                    m.map(|i| compute::cast(batch.column(i), &DataType::Utf8))
                        .transpose()
                        .map_err(|source| IngestError::Arrow {
                            path: path.into(),
                            source,
                        })
                })
                .collect::<Result<Vec<_>, _>>()?;
            for r in 0..batch.num_rows() {
                row_no += 1;
                report.rows_read += 1;
                let cells: Vec<Option<&str>> = texts
                    .iter()
                    .map(|t| {
                        t.as_ref().and_then(|a| {
                            let s = a.as_string::<i32>();
                            (!s.is_null(r)).then(|| s.value(r))
                        })
                    })
                    .collect();
                push_row(
                    &mut rows,
                    table,
                    &cells,
                    &mut resolver,
                    &source,
                    row_no,
                    report,
                );
            }
        }
        return Ok(rows);
    }
    let meta = std::fs::metadata(path).at(path)?;
    if meta.len() > MAX_RECORDS_FILE {
        return Err(format_err(
            path,
            format!("is larger than {} GiB; split it", MAX_RECORDS_FILE >> 30),
        ));
    }
    let mut text = Vec::new();
    open_text(path, container)?
        .read_to_end(&mut text)
        .map_err(|e| {
            format_err(
                path,
                format!("cannot be read to the end ({e}); is it truncated?"),
            )
        })?;
    let body = text.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&text);
    let first_non_space = body.iter().find(|b| !b.is_ascii_whitespace());
    if first_non_space == Some(&b'{') {
        report.format = "json-lines".into();
        let mut names: Vec<String> = Vec::new();
        for (i, line) in body.split(|&b| b == b'\n').enumerate() {
            let n = i as u64 + 1;
            if line.trim_ascii().is_empty() {
                continue;
            }
            report.rows_read += 1;
            let obj = match serde_json::from_slice::<serde_json::Value>(line) {
                Ok(serde_json::Value::Object(o)) => o,
                Ok(_) => {
                    report.reject(Reject {
                        file: source.clone(),
                        line: n,
                        field: None,
                        reason: "is not a JSON object".into(),
                    });
                    continue;
                }
                Err(e) => {
                    report.reject(Reject {
                        file: source.clone(),
                        line: n,
                        field: None,
                        reason: format!("is not valid JSON ({e})"),
                    });
                    continue;
                }
            };
            if names.is_empty() {
                names = obj.keys().cloned().collect();
                let (_, ignored) = map_columns(table, &names, path)?;
                report.ignored_columns = ignored;
            }
            let owned: Vec<Option<String>> = table
                .columns
                .iter()
                .map(|c| {
                    obj.iter()
                        .find(|(k, _)| k.eq_ignore_ascii_case(c.name))
                        .and_then(|(_, v)| match v {
                            serde_json::Value::Null => None,
                            serde_json::Value::String(s) => Some(s.clone()),
                            other => Some(other.to_string()),
                        })
                })
                .collect();
            let cells: Vec<Option<&str>> = owned.iter().map(|o| o.as_deref()).collect();
            push_row(&mut rows, table, &cells, &mut resolver, &source, n, report);
        }
        return Ok(rows);
    }
    report.format = "csv".into();
    let mut recs = records(body);
    let Some((_, header)) = recs.next() else {
        return Err(format_err(path, "is empty (no header line)"));
    };
    if std::str::from_utf8(header).is_err() {
        return Err(IngestError::Line {
            path: path.into(),
            line: 1,
            reason: "the header is not UTF-8 text; convert the file to UTF-8 first".into(),
        });
    }
    let (sep, names) = crate::csv::header_fields(path, header)?;
    let mut fields = Vec::new();
    let (map, ignored) = map_columns(table, &names, path)?;
    report.ignored_columns = ignored;
    for (n, rec) in recs {
        if rec.trim_ascii().is_empty() {
            continue;
        }
        report.rows_read += 1;
        if let Err(e) = split_line(rec, sep, &mut fields) {
            report.reject(Reject {
                file: source.clone(),
                line: n,
                field: None,
                reason: e,
            });
            continue;
        }
        if fields.len() != names.len() {
            report.reject(Reject {
                file: source.clone(),
                line: n,
                field: None,
                reason: format!(
                    "has {} fields, the header has {}",
                    fields.len(),
                    names.len()
                ),
            });
            continue;
        }
        let mut cells: Vec<Option<&str>> = Vec::with_capacity(map.len());
        let mut bad = None;
        for (c, m) in table.columns.iter().zip(&map) {
            match m {
                None => cells.push(None),
                Some(i) => match std::str::from_utf8(&fields[*i]) {
                    Ok(s) => cells.push(Some(s)),
                    Err(_) => {
                        bad = Some(c.name);
                        break;
                    }
                },
            }
        }
        if let Some(col) = bad {
            report.reject(Reject {
                file: source.clone(),
                line: n,
                field: Some(col.into()),
                reason: "is not valid UTF-8 (convert the file from GBK/Latin-1 to UTF-8)".into(),
            });
            continue;
        }
        push_row(&mut rows, table, &cells, &mut resolver, &source, n, report);
    }
    Ok(rows)
}

fn push_row(
    rows: &mut Rows,
    table: &TableDef,
    cells: &[Option<&str>],
    resolver: &mut TimeResolver,
    file: &str,
    line: u64,
    report: &mut FileReport,
) {
    let mut values = Vec::with_capacity(cells.len());
    for (c, cell) in table.columns.iter().zip(cells) {
        let v = match cell {
            None => Value::Null,
            Some(text) => match parse_cell(c.ty, text, resolver) {
                Ok(v) => v,
                Err(e) => {
                    report.reject(Reject {
                        file: file.into(),
                        line,
                        field: Some(c.name.into()),
                        reason: e,
                    });
                    return;
                }
            },
        };
        // A zone name is checked now, not when a reading first needs it.
        if c.name == "tz"
            && let Value::Str(zone) = &v
            && let Err(e) = gridmark_core::tz::parse_tz(zone)
        {
            report.reject(Reject {
                file: file.into(),
                line,
                field: Some(c.name.into()),
                reason: e.to_string(),
            });
            return;
        }
        if matches!(v, Value::Null) && !c.nullable {
            report.reject(Reject {
                file: file.into(),
                line,
                field: Some(c.name.into()),
                reason: "is empty but required".into(),
            });
            return;
        }
        values.push(v);
    }
    if let Err(e) = rows.push(values) {
        report.reject(Reject {
            file: file.into(),
            line,
            field: None,
            reason: e.to_string(),
        });
        return;
    }
    report.accepted += 1;
}

fn row_strings(
    batch: &RecordBatch,
    cols: &[usize],
) -> Result<Vec<String>, datafusion::arrow::error::ArrowError> {
    let opts = FormatOptions::default().with_null("\u{0}");
    let fmts = cols
        .iter()
        .map(|&i| ArrayFormatter::try_new(batch.column(i).as_ref(), &opts))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((0..batch.num_rows())
        .map(|r| {
            fmts.iter()
                .map(|f| f.value(r).to_string())
                .collect::<Vec<_>>()
                .join("\u{1f}")
        })
        .collect())
}

/// Drops rows whose key the lake (or an earlier row) already holds and stages the rest as a
/// new file. Returns (stored, duplicates, conflicts).
pub(crate) fn store(
    writer: &mut Writer,
    rows: &Rows,
    report: &mut FileReport,
) -> Result<(u64, u64, u64), IngestError> {
    let table = rows.table;
    let schema = arrow_schema(table);
    // Sealed first: stored rows are sealed, and sealing is deterministic.
    let batch = writer.seal(table, rows_to_batch(rows)?)?;
    let key_cols: Vec<usize> = table
        .key
        .iter()
        .map(|k| schema.index_of(k).expect("key column"))
        .collect();
    let all_cols: Vec<usize> = (0..schema.fields().len()).collect();
    let arrow_err = |source| IngestError::Arrow {
        path: table.name.into(),
        source,
    };
    // Whole rows are compared (as text) only when keys collide: most rows never need it.
    let whole_row = |b: &RecordBatch, r: usize| -> Result<String, IngestError> {
        let mut one = row_strings(&b.slice(r, 1), &all_cols).map_err(arrow_err)?;
        Ok(one.pop().unwrap_or_default())
    };
    let mut batches: Vec<RecordBatch> = Vec::new();
    let mut seen: HashMap<String, (usize, usize)> = HashMap::new();
    let root = writer.lake().root().to_path_buf();
    if let Some(state) = writer.pending().table(table.name).cloned() {
        for f in &state.files {
            let existing = crate::series::stage::read_all(&root.join(&f.path), &schema)?;
            let keys = row_strings(&existing, &key_cols).map_err(arrow_err)?;
            seen.extend(
                keys.into_iter()
                    .enumerate()
                    .map(|(r, k)| (k, (batches.len(), r))),
            );
            batches.push(existing);
        }
    }
    let new_batch = batches.len();
    let keys = row_strings(&batch, &key_cols).map_err(arrow_err)?;
    let (mut dups, mut conflicts) = (0, 0);
    let mut keep = Vec::new();
    for (i, k) in keys.into_iter().enumerate() {
        match seen.get(&k) {
            Some(&(b, r)) => {
                let old = whole_row(if b == new_batch { &batch } else { &batches[b] }, r)?;
                let new = whole_row(&batch, i)?;
                if old == new {
                    dups += 1;
                    continue;
                }
                conflicts += 1;
                if report.conflict_examples.len() < 20 {
                    report.conflict_examples.push(Conflict {
                        key: k.replace('\u{1f}', " "),
                        kept: old.replace('\u{1f}', ",").replace('\u{0}', ""),
                        dropped: new.replace('\u{1f}', ",").replace('\u{0}', ""),
                    });
                }
            }
            None => {
                seen.insert(k, (new_batch, i));
                keep.push(i as u32);
            }
        }
    }
    if keep.is_empty() {
        return Ok((0, dups, conflicts));
    }
    let idx = UInt32Array::from(keep);
    let cols = batch
        .columns()
        .iter()
        .map(|c| compute::take(c, &idx, None))
        .collect::<Result<Vec<_>, _>>()
        .map_err(arrow_err)?;
    let out = RecordBatch::try_new(schema, cols).map_err(arrow_err)?;
    let mut sink = writer.sink(table, None)?;
    sink.write(&out)?;
    let entry = sink.finish()?;
    let n = entry.rows;
    writer.add_file(table.name, entry);
    Ok((n, dups, conflicts))
}
