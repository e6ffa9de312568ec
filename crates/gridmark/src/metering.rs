//! `gridmark vee …` and `gridmark quality …`: parsing and printing around `gridmark-jobs`.

use crate::CliError;
use crate::cli::{QualityCommand, QualityLevel, VeeCommand};
use crate::progress::TerminalProgress;
use gridmark_jobs::quality::Level;
use gridmark_lake::Lake;
use gridmark_metering::vee::VeeConfig;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

impl gridmark_jobs::vee::VeeProgress for TerminalProgress {
    fn meters_done(&self, done: u64, total: u64) {
        self.line(&format!("vee: {done}/{total} meters"));
    }
}

pub fn vee(data: Option<&Path>, cmd: VeeCommand) -> Result<(), CliError> {
    let args = match cmd {
        VeeCommand::Rules => {
            let text = serde_json::to_string_pretty(&VeeConfig::default())?;
            writeln!(std::io::stdout().lock(), "{text}")?;
            return Ok(());
        }
        VeeCommand::Run(a) => a,
    };
    let lake = Lake::open(&crate::cli::data_dir(data)?)?;
    let cfg = match &args.rules {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| crate::usage(format!("{}: {e}", path.display())))?;
            let cfg: VeeConfig = serde_json::from_str(&text)
                .map_err(|e| crate::usage(format!("{}: {e}", path.display())))?;
            cfg.validate()
                .map_err(|e| crate::usage(format!("{}: {e}", path.display())))?;
            cfg
        }
        None => VeeConfig::default(),
    };
    let progress = TerminalProgress::new();
    let report =
        gridmark_jobs::vee::run(&lake, Arc::new(gridmark_core::SystemClock), &cfg, &progress)?;
    progress.clear();
    crate::audit::record(
        lake.root(),
        "vee_run",
        "readings_validated",
        serde_json::json!({
            "run": report.run_id, "version": report.version, "meters": report.meters,
            "readings_in": report.readings_in, "estimated": report.estimated, "edited": report.edited,
        }),
    )?;
    let mut out = std::io::stdout().lock();
    if args.json {
        print_json(&report)?;
        return Ok(());
    }
    writeln!(
        out,
        "VEE run {}: {} meters, {} readings in, {} validated rows out ({:.1} s)",
        report.run_id, report.meters, report.readings_in, report.readings_out, report.seconds
    )?;
    writeln!(
        out,
        "  estimated {}, edited {}, left missing {}; {} of {} meter-days sufficient",
        report.estimated, report.edited, report.left_missing, report.sufficient_days, report.days
    )?;
    writeln!(
        out,
        "  {:<16} {:>9} {:>11}",
        "finding", "count", "intervals"
    )?;
    for (rule, (n, intervals)) in &report.findings {
        writeln!(out, "  {rule:<16} {n:>9} {intervals:>11}")?;
    }
    writeln!(out, "committed lake version {}", report.version)?;
    Ok(())
}

pub fn quality(data: &Path, cmd: QualityCommand) -> Result<(), CliError> {
    let QualityCommand::Report(args) = cmd;
    let lake = Lake::open(data)?;
    let ext = args
        .out
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    let level = match args.level {
        QualityLevel::Day => Level::Day,
        QualityLevel::Meter => Level::Meter,
        QualityLevel::Area => Level::Area,
    };
    match ext.as_str() {
        "html" | "htm" => {
            let page = gridmark_jobs::quality::html(&lake)?;
            write_atomic(&args.out, page.as_bytes())?;
        }
        "csv" | "json" | "jsonl" => {
            let format = if ext == "csv" {
                gridmark_sql::OutputFormat::Csv
            } else {
                gridmark_sql::OutputFormat::Json
            };
            let q = gridmark_jobs::query::Query::open(&lake)?;
            gridmark_jobs::quality::require_vee(&q)?;
            let rt = tokio::runtime::Builder::new_current_thread().build()?;
            rt.block_on(async {
                let ctx = gridmark_sql::session(&lake).await?;
                let stream = ctx.sql(level.sql()).await?.execute_stream().await?;
                gridmark_sql::write_stream(stream, format, Some(&args.out), usize::MAX).await?;
                Ok::<(), gridmark_sql::SqlError>(())
            })?;
        }
        _ => {
            return Err(crate::usage(format!(
                "--out {}: the extension must be .html, .csv or .json",
                args.out.display()
            )));
        }
    }
    eprintln!("wrote {}", args.out.display());
    Ok(())
}

/// Writes `report` to `path` as JSON or, through `csv`, as CSV, chosen by the extension.
pub fn write_report<T: serde::Serialize + ?Sized>(
    path: &Path,
    report: &T,
    csv: impl FnOnce() -> String,
) -> Result<(), CliError> {
    let text = match path.extension().and_then(|e| e.to_str()) {
        Some("json") => serde_json::to_string_pretty(report)?,
        Some("csv") => csv(),
        _ => {
            return Err(crate::usage(format!(
                "--out {}: the extension must be .csv or .json",
                path.display()
            )));
        }
    };
    write_atomic(path, text.as_bytes())
}

/// Writes a file whole or not at all: a temporary file beside it, renamed into place.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), CliError> {
    Ok(gridmark_jobs::write_atomic(path, bytes)?)
}

/// Prints a report as pretty JSON on standard output.
pub fn print_json<T: serde::Serialize + ?Sized>(report: &T) -> Result<(), CliError> {
    writeln!(
        std::io::stdout().lock(),
        "{}",
        serde_json::to_string_pretty(report)?
    )?;
    Ok(())
}

pub fn lineloss(data: &Path, args: crate::cli::LinelossArgs) -> Result<(), CliError> {
    use gridmark_jobs::lineloss::{LossOptions, Period};
    let band = args
        .band
        .split_once(',')
        .and_then(|(a, b)| Some((a.trim().parse::<f64>().ok()?, b.trim().parse::<f64>().ok()?)))
        .ok_or_else(|| {
            crate::usage(format!(
                "--band {}: expected LOW,HIGH such as 0,0.07",
                args.band
            ))
        })?;
    let opts = LossOptions {
        period: match args.period {
            crate::cli::PeriodArg::Day => Period::Day,
            crate::cli::PeriodArg::Month => Period::Month,
        },
        band,
        jump_z: args.jump_z,
        ..LossOptions::default()
    };
    let lake = Lake::open(data)?;
    let report = gridmark_jobs::lineloss::run(&lake, &opts)?;
    if let Some(path) = &args.html {
        write_atomic(path, gridmark_jobs::lineloss::html(&report).as_bytes())?;
        eprintln!("wrote {}", path.display());
    }
    if let Some(path) = &args.out {
        write_report(path, &report, || {
            let mut s =
                String::from("area_id,period,supply_kwh,metered_kwh,loss_kwh,loss_rate,flags\n");
            for r in &report.rows {
                s.push_str(&format!(
                    "{},{},{:.3},{:.3},{:.3},{:.5},{}\n",
                    r.area_id,
                    r.period,
                    r.supply_kwh,
                    r.metered_kwh,
                    r.loss_kwh,
                    r.loss_rate,
                    r.flags.join(" ")
                ));
            }
            s
        })?;
        eprintln!(
            "wrote {} area-periods to {}",
            report.rows.len(),
            path.display()
        );
    }
    let mut out = std::io::stdout().lock();
    if args.json {
        print_json(&report.abnormal)?;
        return Ok(());
    }
    let areas: std::collections::BTreeSet<&str> =
        report.rows.iter().map(|r| r.area_id.as_str()).collect();
    writeln!(
        out,
        "{} areas × {} periods ({:?}, from {}); band {:.1} %–{:.1} %; {} abnormal areas",
        areas.len(),
        report.labels.len(),
        report.period,
        report.source,
        report.band.0 * 100.0,
        report.band.1 * 100.0,
        report.abnormal.len()
    )?;
    writeln!(
        out,
        "{:<8} {:>9} {:>8}  {:<24} explaining meters",
        "area", "abnormal", "rate", "flags"
    )?;
    for a in &report.abnormal {
        let ex: Vec<String> = a
            .explainers
            .iter()
            .map(|e| format!("{} from {} ({:.2})", e.meter_id, e.from, e.score))
            .collect();
        writeln!(
            out,
            "{:<8} {:>4}/{:<4} {:>7.2}%  {:<24} {}",
            a.area_id,
            a.abnormal_periods,
            a.periods,
            a.overall_rate * 100.0,
            a.flags.join(" "),
            ex.join(", ")
        )?;
    }
    Ok(())
}

pub fn bill(data: &Path, args: crate::cli::BillRunArgs) -> Result<(), CliError> {
    use gridmark_jobs::billing::Source;
    let source = match args.source {
        crate::cli::BillSourceArg::Validated => Source::Validated,
        crate::cli::BillSourceArg::Raw => Source::Raw,
    };
    let lake = Lake::open(data)?;
    let report = gridmark_jobs::billing::run(&lake, &args.period, source)?;
    crate::audit::record(
        data,
        "bill_run",
        &args.period,
        serde_json::json!({"customers": report.lines.len()}),
    )?;
    if let Some(path) = &args.out {
        write_report(path, &report, || {
            let mut s = String::from(
                "customer_id,tariff,components,kwh,amount_fen,billed_kwh,billed_fen,difference_fen,status,estimated_intervals\n",
            );
            for l in &report.lines {
                let parts: Vec<String> = l
                    .components
                    .iter()
                    .map(|(c, k)| format!("{c}={k}"))
                    .collect();
                s.push_str(&format!(
                    "{},{},{},{},{},{},{},{},\"{}\",{}\n",
                    l.customer_id,
                    l.tariff,
                    parts.join(" "),
                    l.kwh,
                    l.amount_fen,
                    l.billed_kwh.map_or(String::new(), |v| v.to_string()),
                    l.billed_fen.map_or(String::new(), |v| v.to_string()),
                    l.difference_fen.map_or(String::new(), |v| v.to_string()),
                    l.status.replace('"', "'"),
                    l.estimated_intervals
                ));
            }
            s
        })?;
        eprintln!("wrote {} lines to {}", report.lines.len(), path.display());
    }
    let mut out = std::io::stdout().lock();
    if args.json {
        print_json(&report)?;
        return Ok(());
    }
    writeln!(
        out,
        "{} from {:?} readings: {} customers; {} match, {} mismatch, {} without a bill, {} bills without readings, {} errors",
        report.period,
        report.source,
        report.customers,
        report.matched,
        report.mismatched,
        report.no_bill,
        report.no_readings,
        report.errors
    )?;
    writeln!(
        out,
        "computed {:.2} yuan, billed {:.2} yuan",
        report.computed_fen as f64 / 100.0,
        report.billed_fen as f64 / 100.0
    )?;
    let mut worst: Vec<&gridmark_jobs::billing::BillLine> = report
        .lines
        .iter()
        .filter(|l| l.status == "mismatch" || l.status.starts_with("error"))
        .collect();
    worst.sort_by_key(|l| std::cmp::Reverse(l.difference_fen.map_or(i64::MAX, i64::abs)));
    if !worst.is_empty() {
        writeln!(
            out,
            "{:<10} {:<9} {:>10} {:>10} {:>11} {:>9}  status",
            "customer", "tariff", "kWh", "billed kWh", "diff yuan", "estimated"
        )?;
    }
    for l in worst.iter().take(args.show) {
        writeln!(
            out,
            "{:<10} {:<9} {:>10.2} {:>10} {:>11} {:>9}  {}",
            l.customer_id,
            l.tariff,
            l.kwh,
            l.billed_kwh.map_or("-".into(), |v| format!("{v:.2}")),
            l.difference_fen
                .map_or("-".into(), |v| format!("{:.2}", v as f64 / 100.0)),
            l.estimated_intervals,
            l.status
        )?;
    }
    Ok(())
}
