//! `gridmark import TABLE FILE…`

use crate::CliError;
use crate::cli::{FormatArg, ImportArgs, TsAt, UnitArg, parse_interval};
use crate::progress::TerminalProgress;
use gridmark_ingest::{ImportOptions, Requested, Unit};
use gridmark_lake::Lake;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

pub fn options(args: &ImportArgs) -> Result<ImportOptions, CliError> {
    if !(0.0..=1.0).contains(&args.max_reject_ratio) {
        return Err(crate::usage("--max-reject-ratio must be between 0 and 1"));
    }
    Ok(ImportOptions {
        format: match args.format {
            FormatArg::Auto => Requested::Auto,
            FormatArg::Long => Requested::Long,
            FormatArg::Sgcc => Requested::Sgcc,
            FormatArg::Wide => Requested::Wide,
            FormatArg::LclDaily => Requested::LclDaily,
        },
        tz: args.tz.clone(),
        interval_s: args.interval.as_deref().map(parse_interval).transpose()?,
        ts_at_end: args.ts_at == TsAt::End,
        unit: args.unit.map(|u| match u {
            UnitArg::Kwh => Unit::Kwh,
            UnitArg::Wh => Unit::Wh,
            UnitArg::Mwh => Unit::Mwh,
            UnitArg::Kw => Unit::Kw,
            UnitArg::AsIs => Unit::AsIs,
        }),
        id_prefix: args.id_prefix.clone(),
        max_reject_ratio: args.max_reject_ratio,
        dry_run: args.dry_run,
        ..ImportOptions::default()
    })
}

pub fn run(data: &Path, args: ImportArgs) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    let opts = options(&args)?;
    let lake = Lake::create_or_open(
        data,
        opts.tz.as_deref().unwrap_or(gridmark_core::DEFAULT_TZ),
    )?;
    let progress = TerminalProgress::new();
    let report = gridmark_ingest::import(
        &lake,
        &args.table,
        &args.files,
        &opts,
        Arc::new(gridmark_core::SystemClock),
        &progress,
    );
    progress.clear();
    let report = report?;
    if report.committed && !report.dry_run {
        crate::audit::record(
            data,
            "import",
            &report.table,
            serde_json::json!({
                "version": report.version,
                "accepted": report.accepted(),
                "rejected": report.rejected(),
                "files": report.files.iter().map(|f| serde_json::json!({
                    "file": f.file, "blake3": f.hash, "accepted": f.accepted, "rejected": f.rejected,
                })).collect::<Vec<_>>(),
            }),
        )?;
    }
    if args.json {
        writeln!(out, "{}", serde_json::to_string_pretty(&report)?)?;
    } else {
        writeln!(out, "{report}")?;
    }
    Ok(())
}
