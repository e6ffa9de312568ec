//! `gridmark demo`: the synthetic utility of `gridmark-testkit`, loaded through the same
//! partitioning, dedupe and commit as real imports. The clock is fixed, so the same seed gives
//! a byte-identical lake.

use crate::CliError;
use crate::cli::DemoArgs;
use crate::progress::TerminalProgress;
use gridmark_core::catalog::TableKind;
use gridmark_core::{Column, FixedClock};
use gridmark_ingest::{IngestError, SeriesLoader};
use gridmark_lake::Lake;
use gridmark_security::Role;
use gridmark_testkit::{DemoConfig, MeterSeries};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

/// 2026-01-01T00:00:00Z: the demo's commit time, whatever the day it is built.
const DEMO_CLOCK_MS: i64 = 1_767_225_600_000;

/// Removes an earlier demo lake, refusing to touch a folder that is something else.
fn prepare_dir(dir: &Path) -> Result<(), CliError> {
    if !dir.exists() {
        return Ok(());
    }
    if dir.join("gridmark.json").exists() {
        for sub in ["_commits", "tables", "truth"] {
            let p = dir.join(sub);
            if p.exists() {
                std::fs::remove_dir_all(&p)?;
            }
        }
        for f in ["gridmark.json", "_lock"] {
            let _ = std::fs::remove_file(dir.join(f));
        }
        return Ok(());
    }
    if std::fs::read_dir(dir)?.next().is_some() {
        return Err(crate::usage(format!(
            "{} exists and is not a gridmark lake; choose another --dir (the demo replaces its folder)",
            dir.display()
        )));
    }
    Ok(())
}

fn series_rows_into(
    writer: &mut gridmark_lake::Writer,
    rows: &gridmark_core::Rows,
) -> Result<gridmark_ingest::FileReport, IngestError> {
    let mut loader = SeriesLoader::new(rows.table.name, "demo")?;
    let (Column::Utf8(ids), Column::TimestampMs(ts)) = (&rows.columns[0], &rows.columns[1]) else {
        unreachable!("series tables start with id and ts")
    };
    let interval = rows
        .table
        .column("interval_s")
        .and_then(|(i, _)| match &rows.columns[i] {
            Column::Int64(v) => v.first().copied().flatten(),
            _ => None,
        })
        .unwrap_or(0);
    let value_i = rows
        .table
        .column("kwh")
        .or_else(|| rows.table.column("value"))
        .map(|(i, _)| i)
        .expect("series value column");
    let Column::Float64(values) = &rows.columns[value_i] else {
        unreachable!("float values")
    };
    let mut start = 0;
    while start < ids.len() {
        let mut end = start + 1;
        while end < ids.len() && ids[end] == ids[start] {
            end += 1;
        }
        let t: Vec<i64> = ts[start..end]
            .iter()
            .map(|x| x.unwrap_or_default())
            .collect();
        let v: Vec<f64> = values[start..end]
            .iter()
            .map(|x| x.unwrap_or_default())
            .collect();
        loader.push(
            writer,
            ids[start].as_deref().unwrap_or_default(),
            interval,
            &t,
            &v,
        )?;
        start = end;
    }
    loader.finish(writer)
}

pub fn run(data: Option<&Path>, args: DemoArgs) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    let dir: PathBuf = args
        .dir
        .clone()
        .or_else(|| data.map(Path::to_path_buf))
        .unwrap_or_else(|| PathBuf::from("gridmark-demo"));
    if args.customers == 0 || args.days == 0 {
        return Err(crate::usage("--customers and --days must be at least 1"));
    }
    let config = DemoConfig {
        customers: args.customers,
        days: args.days,
        seed: args.seed,
        ..DemoConfig::default()
    };
    let started = Instant::now();
    prepare_dir(&dir)?;
    let lake = Lake::create_or_open(&dir, gridmark_core::DEFAULT_TZ)?;
    let clock = Arc::new(FixedClock::new(DEMO_CLOCK_MS));
    let mut writer = lake.writer(clock)?;
    let progress = TerminalProgress::new();
    let mut readings = SeriesLoader::new("readings", "demo")?;
    let mut failure: Option<IngestError> = None;
    let mut meters_done = 0usize;
    let util = gridmark_testkit::generate(&config, |s: MeterSeries| {
        if failure.is_some() {
            return;
        }
        if let Err(e) = readings.push(&mut writer, &s.meter_id, s.interval_s, &s.ts_ms, &s.kwh) {
            failure = Some(e);
        }
        meters_done += 1;
        if meters_done.is_multiple_of(50) {
            progress.line(&format!(
                "generating readings: {meters_done}/{} meters, {:.1} s",
                config.customers,
                started.elapsed().as_secs_f64()
            ));
        }
    });
    if let Some(e) = failure {
        return Err(e.into());
    }
    progress.line("writing readings…");
    let mut loaded = vec![readings.finish(&mut writer)?];
    for rows in &util.tables {
        progress.line(&format!("writing {}…", rows.table.name));
        loaded.push(match rows.table.kind {
            TableKind::Series => series_rows_into(&mut writer, rows)?,
            TableKind::Records => gridmark_ingest::store_rows(&mut writer, rows, "demo")?,
        });
    }
    let snap = writer.commit(&format!(
        "demo --customers {} --days {} --seed {}",
        config.customers, config.days, config.seed
    ))?;
    let truth_dir = dir.join("truth");
    std::fs::create_dir_all(&truth_dir)?;
    std::fs::write(
        truth_dir.join("anomalies.csv"),
        gridmark_testkit::truth_csv(&util.truth),
    )?;
    std::fs::write(
        truth_dir.join("customers.csv"),
        gridmark_testkit::customer_truth_csv(&util.customer_truth),
    )?;
    std::fs::write(
        truth_dir.join("staff.csv"),
        gridmark_testkit::staff_truth_csv(&util.staff_truth),
    )?;
    progress.clear();
    let secs = started.elapsed().as_secs_f64();
    if args.json {
        let doc = serde_json::json!({
            "dir": dir.display().to_string(),
            "version": snap.version,
            "seconds": secs,
            "tables": loaded.iter().map(|r| serde_json::json!({"table": r.table, "rows": r.accepted})).collect::<Vec<_>>(),
            "truth_events": util.truth.len(),
            "summary": util.summary.iter().map(|(k, v)| serde_json::json!({"what": k, "detail": v})).collect::<Vec<_>>(),
        });
        writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
        drop(out);
        return serve_demo(&dir, args);
    }
    writeln!(
        out,
        "demo utility: {} customers × {} days from 2025-01-01, seed {} → {}",
        config.customers,
        config.days,
        config.seed,
        dir.display()
    )?;
    for (what, detail) in &util.summary {
        writeln!(out, "  {what:<22} {detail}")?;
    }
    writeln!(out, "loaded (lake version {}):", snap.version)?;
    for r in &loaded {
        writeln!(out, "  {:<16} {:>12} rows", r.table, r.accepted)?;
    }
    writeln!(
        out,
        "truth of {} injected anomalies (for evaluation, not in the lake): {}",
        util.truth.len(),
        truth_dir.join("anomalies.csv").display()
    )?;
    writeln!(
        out,
        "planted customer archetypes, payment habits and churners: {}",
        truth_dir.join("customers.csv").display()
    )?;
    writeln!(
        out,
        "done in {secs:.1} s. Try: gridmark --data {} tables",
        dir.display()
    )?;
    drop(out);
    serve_demo(&dir, args)
}

/// The demo's users: one per role, the inspector limited to one region.
pub const DEMO_USERS: &[(&str, Role, &[&str])] = &[
    ("admin", Role::Admin, &[]),
    ("analyst", Role::MarketingAnalyst, &[]),
    ("inspector", Role::MeteringInspector, &["xihu"]),
    ("agent", Role::ServiceAgent, &[]),
    ("auditor", Role::Auditor, &[]),
];

/// Printed on the terminal, never used outside the demo.
pub const DEMO_PASSWORD: &str = "gridmark-demo";

fn serve_demo(dir: &Path, args: DemoArgs) -> Result<(), CliError> {
    if !args.serve {
        return Ok(());
    }
    let mut users = gridmark_security::Users::open(dir)?;
    let now =
        gridmark_core::civil::format_utc(gridmark_core::Clock::now_ms(&gridmark_core::SystemClock));
    let mut out = std::io::stdout().lock();
    writeln!(out, "demo users (password {DEMO_PASSWORD:?} for each):")?;
    for (name, role, scope) in DEMO_USERS {
        let scope: Vec<String> = scope.iter().map(|s| s.to_string()).collect();
        if users.get(name).is_ok() {
            users.set_password(name, DEMO_PASSWORD)?;
            users.set_role(name, *role, Some(scope.clone()))?;
        } else {
            users.add(name, *role, scope.clone(), DEMO_PASSWORD, &now)?;
            crate::audit::record(
                dir,
                "user_added",
                name,
                serde_json::json!({"role": role.name(), "scope": scope, "via": "demo"}),
            )?;
        }
        let within = if scope.is_empty() {
            "everywhere".to_string()
        } else {
            scope.join(", ")
        };
        writeln!(out, "  {name:<10} {:<20} {within}", role.name())?;
    }
    drop(users);
    drop(out);
    crate::serve(dir, args.server)
}
