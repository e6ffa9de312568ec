//! `gridmark tables`: what the lake holds.

use crate::CliError;
use crate::cli::TablesArgs;
use gridmark_core::catalog::TABLES;
use gridmark_core::civil::format_utc;
use gridmark_lake::Lake;
use std::io::Write;
use std::path::Path;

pub fn run(data: &Path, args: TablesArgs) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    let lake = Lake::open(data)?;
    let snap = lake.snapshot()?;
    let mut rows = Vec::new();
    for def in TABLES {
        let state = snap.table(def.name);
        let files = state.map(|t| t.files.as_slice()).unwrap_or_default();
        let min_ts = files.iter().filter_map(|f| f.min_ts).min();
        let max_ts = files.iter().filter_map(|f| f.max_ts).max();
        rows.push(serde_json::json!({
            "table": def.name,
            "rows": state.map_or(0, |t| t.rows()),
            "files": files.len(),
            "bytes": state.map_or(0, |t| t.bytes()),
            "from": min_ts.map(format_utc),
            "to": max_ts.map(format_utc),
            "description": def.doc,
            "columns": def.columns.iter().map(|c| serde_json::json!({
                "name": c.name, "type": format!("{:?}", c.ty), "nullable": c.nullable, "doc": c.doc
            })).collect::<Vec<_>>(),
        }));
    }
    if args.json {
        let doc = serde_json::json!({
            "lake": lake.root().display().to_string(),
            "version": snap.version,
            "committed_at": (snap.version > 0).then(|| format_utc(snap.committed_at_ms)),
            "default_tz": lake.settings().default_tz,
            "tables": rows,
            "views": gridmark_sql::VIEWS.iter().map(|(n, d, _)| serde_json::json!({"name": n, "description": d})).collect::<Vec<_>>(),
        });
        writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
        return Ok(());
    }
    writeln!(
        out,
        "lake {} — version {}, time zone {}",
        lake.root().display(),
        snap.version,
        lake.settings().default_tz
    )?;
    writeln!(
        out,
        "{:<16} {:>12} {:>6} {:>10}  {:<20} {:<20}  description",
        "table", "rows", "files", "MB", "from (UTC)", "to (UTC)"
    )?;
    for r in &rows {
        writeln!(
            out,
            "{:<16} {:>12} {:>6} {:>10.1}  {:<20} {:<20}  {}",
            r["table"].as_str().unwrap_or_default(),
            r["rows"].as_u64().unwrap_or(0),
            r["files"].as_u64().unwrap_or(0),
            r["bytes"].as_u64().unwrap_or(0) as f64 / 1e6,
            r["from"].as_str().unwrap_or("-"),
            r["to"].as_str().unwrap_or("-"),
            r["description"].as_str().unwrap_or_default()
        )?;
        if args.schema {
            for c in r["columns"].as_array().into_iter().flatten() {
                writeln!(
                    out,
                    "    {:<18} {:<12} {:<9} {}",
                    c["name"].as_str().unwrap_or_default(),
                    c["type"].as_str().unwrap_or_default(),
                    if c["nullable"].as_bool() == Some(true) {
                        "null"
                    } else {
                        "not null"
                    },
                    c["doc"].as_str().unwrap_or_default()
                )?;
            }
        }
    }
    writeln!(
        out,
        "views: {}",
        gridmark_sql::VIEWS
            .iter()
            .map(|v| v.0)
            .collect::<Vec<_>>()
            .join(", ")
    )?;
    Ok(())
}
