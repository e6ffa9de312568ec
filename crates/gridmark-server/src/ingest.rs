//! `POST /api/ingest/{table}`: a batch of readings or records as CSV, JSON (an array of
//! objects, or JSON lines) or Arrow IPC, imported by the same importer as `gridmark import` —
//! the same validation, rejects with their line and field, deduplication, and one commit or
//! none — and answered with its import report.

use crate::{ApiError, ClientAddr, Shared, caller, require};
use axum::extract::{Path as UrlPath, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use datafusion::arrow::ipc::reader::{FileReader, StreamReader};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::parquet::arrow::ArrowWriter;
use gridmark_security::Permission;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Largest batch one request may carry.
pub const MAX_INGEST_BODY: usize = 256 << 20;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Format {
    Csv,
    Json,
    Arrow,
}

fn format_of(headers: &HeaderMap, q: &HashMap<String, String>) -> Result<Format, ApiError> {
    if let Some(f) = q.get("format") {
        return match f.as_str() {
            "csv" => Ok(Format::Csv),
            "json" | "jsonl" => Ok(Format::Json),
            "arrow" | "ipc" => Ok(Format::Arrow),
            f => Err(ApiError::bad(format!("format={f}: csv, json or arrow"))),
        };
    }
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match ct.as_str() {
        "text/csv" | "" => Ok(Format::Csv),
        "application/json" | "application/x-ndjson" | "application/jsonl" => Ok(Format::Json),
        "application/vnd.apache.arrow.stream" | "application/vnd.apache.arrow.file" => {
            Ok(Format::Arrow)
        }
        other => Err(ApiError(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!(
                "Content-Type {other}: send text/csv, application/json or application/vnd.apache.arrow.stream"
            ),
        )),
    }
}

/// The body as a file the importer reads: CSV as sent, JSON as JSON lines, Arrow as Parquet.
fn stage(body: &[u8], format: Format, path: &Path) -> Result<(), ApiError> {
    let write = |bytes: &[u8]| {
        let mut f = std::fs::File::create(path).map_err(ApiError::internal)?;
        f.write_all(bytes).map_err(ApiError::internal)?;
        f.sync_all().map_err(ApiError::internal)
    };
    match format {
        Format::Csv => write(body),
        Format::Json => {
            let first = body.iter().find(|b| !b.is_ascii_whitespace());
            if first != Some(&b'[') {
                return write(body);
            }
            let v: Vec<Value> = serde_json::from_slice(body)
                .map_err(|e| ApiError::bad(format!("the body is not a JSON array: {e}")))?;
            let mut lines = Vec::with_capacity(body.len());
            for (i, row) in v.iter().enumerate() {
                if !row.is_object() {
                    return Err(ApiError::bad(format!(
                        "element {} of the array is not an object",
                        i + 1
                    )));
                }
                serde_json::to_writer(&mut lines, row).map_err(ApiError::internal)?;
                lines.push(b'\n');
            }
            write(&lines)
        }
        Format::Arrow => {
            let batches: Vec<RecordBatch> = if body.starts_with(b"ARROW1") {
                FileReader::try_new(std::io::Cursor::new(body), None)
                    .and_then(|r| r.collect::<Result<Vec<_>, _>>())
            } else {
                StreamReader::try_new(std::io::Cursor::new(body), None)
                    .and_then(|r| r.collect::<Result<Vec<_>, _>>())
            }
            .map_err(|e| ApiError::bad(format!("the body is not Arrow IPC: {e}")))?;
            let Some(first) = batches.first() else {
                return Err(ApiError::bad("the Arrow stream holds no batch"));
            };
            let file = std::fs::File::create(path).map_err(ApiError::internal)?;
            let mut w =
                ArrowWriter::try_new(file, first.schema(), None).map_err(ApiError::internal)?;
            for b in &batches {
                w.write(b)
                    .map_err(|e| ApiError::bad(format!("Arrow batches differ in schema: {e}")))?;
            }
            w.close().map_err(ApiError::internal)?;
            Ok(())
        }
    }
}

pub(crate) async fn ingest(
    State(s): State<Shared>,
    headers: HeaderMap,
    axum::Extension(ClientAddr(addr)): axum::Extension<ClientAddr>,
    UrlPath(table): UrlPath<String>,
    Query(q): Query<HashMap<String, String>>,
    body: axum::body::Bytes,
) -> Result<axum::Json<Value>, ApiError> {
    let u = caller(&s, &headers)?;
    require(&u, Permission::Write)?;
    let def = gridmark_core::catalog::table(&table).map_err(|_| {
        ApiError(
            StatusCode::NOT_FOUND,
            format!("no table {table:?}; GET /api/tables lists them"),
        )
    })?;
    for k in q.keys() {
        if !matches!(k.as_str(), "format" | "dry_run" | "tz" | "max_reject_ratio") {
            return Err(ApiError::bad(format!(
                "{k}: ingest takes format, dry_run, tz and max_reject_ratio"
            )));
        }
    }
    let format = format_of(&headers, &q)?;
    if body.is_empty() {
        return Err(ApiError::bad("the body is empty: send the rows"));
    }
    let mut opts = gridmark_ingest::ImportOptions {
        dry_run: matches!(q.get("dry_run").map(String::as_str), Some("true" | "1")),
        tz: q.get("tz").cloned(),
        threads: 1,
        ..Default::default()
    };
    if let Some(r) = q.get("max_reject_ratio") {
        opts.max_reject_ratio = r
            .parse()
            .ok()
            .filter(|r: &f64| (0.0..=1.0).contains(r))
            .ok_or_else(|| ApiError::bad(format!("max_reject_ratio={r}: 0…1")))?;
    }
    let data = s.data.clone();
    let clock = s.clock.clone();
    let user = u.name.clone();
    let name = def.name;
    let report = tokio::task::spawn_blocking(move || {
        let dir = data.join("_incoming");
        std::fs::create_dir_all(&dir).map_err(ApiError::internal)?;
        let ext = match format {
            Format::Csv => "csv",
            Format::Json => "jsonl",
            Format::Arrow => "parquet",
        };
        let file: PathBuf = dir.join(format!(
            "api-{name}-{user}-{}-{}.{ext}",
            clock.now_ms(),
            std::process::id()
        ));
        // Removed whatever happens: the lake keeps what was committed, never the upload.
        struct Remove<'a>(&'a Path);
        impl Drop for Remove<'_> {
            fn drop(&mut self) {
                let _ = std::fs::remove_file(self.0);
            }
        }
        let _remove = Remove(&file);
        stage(&body, format, &file)?;
        let lake = gridmark_lake::Lake::open(&data).map_err(ApiError::internal)?;
        let report = gridmark_ingest::import(
            &lake,
            name,
            std::slice::from_ref(&file),
            &opts,
            clock.clone(),
            &gridmark_ingest::NoProgress,
        )
        .map_err(|e| {
            // The staging path is the server's business: the caller sent a body.
            let full = file.display().to_string();
            let short = file.file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned());
            let msg = e.to_string().replace(&full, "body").replace(&short, "body");
            ApiError(StatusCode::UNPROCESSABLE_ENTITY, msg)
        })?;
        if report.committed && !report.dry_run {
            gridmark_ledger::Ledger::open(&data)
                .and_then(|l| {
                    l.append(
                        clock.as_ref(),
                        &user,
                        "import",
                        name,
                        json!({"version": report.version, "accepted": report.accepted(),
                               "rejected": report.rejected(), "via": "api", "address": addr,
                               "files": report.files.iter().map(|f| json!({"file": f.file, "blake3": f.hash})).collect::<Vec<_>>()}),
                    )
                })
                .map_err(ApiError::internal)?;
        }
        serde_json::to_value(&report).map_err(ApiError::internal)
    })
    .await
    .map_err(ApiError::internal)??;
    Ok(axum::Json(report))
}
