//! `gridmark sql "SELECT …"`

use crate::CliError;
use crate::cli::{OutArg, SqlArgs};
use gridmark_lake::Lake;
use gridmark_sql::OutputFormat;
use std::io::Read;
use std::path::Path;
use std::time::Instant;

pub fn run(data: &Path, args: SqlArgs) -> Result<(), CliError> {
    let lake = Lake::open(data)?;
    let query = if args.query == "-" {
        let mut q = String::new();
        std::io::stdin().read_to_string(&mut q)?;
        q
    } else {
        args.query.clone()
    };
    let format = match args.format {
        OutArg::Table => Some(OutputFormat::Table),
        OutArg::Csv => Some(OutputFormat::Csv),
        OutArg::Json => Some(OutputFormat::Json),
        OutArg::Parquet => Some(OutputFormat::Parquet),
        OutArg::None => None,
    };
    // `--out x.csv` means CSV: a table drawn for the terminal is never what a .csv file wants.
    let by_extension = args.out.as_ref().and_then(|p| p.extension()).and_then(|e| {
        match e.to_str()?.to_ascii_lowercase().as_str() {
            "csv" => Some(OutputFormat::Csv),
            "json" | "jsonl" => Some(OutputFormat::Json),
            "parquet" => Some(OutputFormat::Parquet),
            _ => None,
        }
    });
    let format = match (format, by_extension) {
        (Some(OutputFormat::Table), Some(f)) => Some(f),
        (f, _) => f,
    };
    if format == Some(OutputFormat::Parquet) && args.out.is_none() {
        return Err(crate::usage("--format parquet needs --out FILE"));
    }
    if args.repeat == 0 {
        return Err(crate::usage("--repeat must be at least 1"));
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let limit = query_timeout()?;
    let work = async {
        let ctx = gridmark_sql::session(&lake).await?;
        let mut exported = None;
        let mut times = Vec::new();
        let mut rows = 0;
        // With --repeat or --timing, timed runs materialise the whole result in memory, as the
        // peers' benchmarks do; the output is then written by one more, untimed run.
        let timed_runs = if args.repeat > 1 || args.timing || format.is_none() {
            args.repeat
        } else {
            0
        };
        for _ in 0..timed_runs {
            let start = Instant::now();
            let batches = ctx.sql(&query).await?.collect().await?;
            times.push(start.elapsed().as_secs_f64());
            rows = batches.iter().map(|b| b.num_rows()).sum();
        }
        if let Some(format) = format {
            let stream = ctx.sql(&query).await?.execute_stream().await?;
            let n = gridmark_sql::write_stream(stream, format, args.out.as_deref(), args.max_rows)
                .await?;
            rows = n as usize;
            if let Some(out) = &args.out {
                eprintln!("wrote {n} rows to {}", out.display());
                exported = Some((out.display().to_string(), n));
            }
        }
        if args.timing {
            let mut sorted = times.clone();
            sorted.sort_by(f64::total_cmp);
            let median = sorted.get(sorted.len() / 2).copied().unwrap_or(0.0);
            eprintln!(
                "{}",
                serde_json::json!({"median_s": median, "all": times, "rows": rows})
            );
        }
        Ok::<_, gridmark_sql::SqlError>(exported)
    };
    let exported = match limit {
        None => rt.block_on(work)?,
        Some(limit) => rt
            .block_on(async { tokio::time::timeout(limit, work).await })
            .map_err(|_| {
                crate::usage(format!(
                    "the query did not finish within {} s (GRIDMARK_QUERY_TIMEOUT); on a cluster, \
                     an executor lost mid-query can leave Ballista waiting: see docs/scale-out.md",
                    limit.as_secs()
                ))
            })??,
    };
    if let Some((out, rows)) = exported {
        crate::audit::record(
            lake.root(),
            "export",
            &out,
            serde_json::json!({"query": query, "rows": rows}),
        )?;
    }
    Ok(())
}

/// `GRIDMARK_QUERY_TIMEOUT` (900s, 15m, 1h); on a cluster one hour unless set, so a query
/// Ballista stopped scheduling ends with an error instead of waiting forever.
fn query_timeout() -> Result<Option<std::time::Duration>, CliError> {
    let seconds = match std::env::var("GRIDMARK_QUERY_TIMEOUT") {
        Ok(text) => Some(crate::cli::parse_seconds("GRIDMARK_QUERY_TIMEOUT", &text)?),
        Err(_) => match gridmark_sql::engine() {
            gridmark_sql::Engine::Cluster(_) => Some(3600),
            gridmark_sql::Engine::Embedded => None,
        },
    };
    Ok(seconds.map(|s| std::time::Duration::from_secs(s as u64)))
}
