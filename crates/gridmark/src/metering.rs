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
    let mut out = std::io::stdout().lock();
    if args.json {
        writeln!(out, "{}", serde_json::to_string_pretty(&report)?)?;
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

/// Writes a file whole or not at all: a temporary file beside it, renamed into place.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), CliError> {
    let tmp = path.with_extension(format!(
        "{}.tmp",
        path.extension().and_then(|e| e.to_str()).unwrap_or("")
    ));
    std::fs::write(&tmp, bytes).map_err(|e| crate::usage(format!("{}: {e}", tmp.display())))?;
    std::fs::rename(&tmp, path).map_err(|e| crate::usage(format!("{}: {e}", path.display())))?;
    Ok(())
}
