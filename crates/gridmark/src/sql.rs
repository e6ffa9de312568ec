//! `gridmark sql "SELECT …"`

use crate::cli::{OutArg, SqlArgs};
use crate::CliError;
use gridmark_lake::Lake;
use gridmark_sql::OutputFormat;
use std::io::Read;
use std::path::Path;

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
        OutArg::Table => OutputFormat::Table,
        OutArg::Csv => OutputFormat::Csv,
        OutArg::Json => OutputFormat::Json,
        OutArg::Parquet => OutputFormat::Parquet,
    };
    if format == OutputFormat::Parquet && args.out.is_none() {
        return Err(crate::usage("--format parquet needs --out FILE"));
    }
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.block_on(async {
        let ctx = gridmark_sql::session(&lake).await?;
        let df = ctx.sql(&query).await?;
        let stream = df.execute_stream().await?;
        let rows = gridmark_sql::write_stream(stream, format, args.out.as_deref(), args.max_rows).await?;
        if let Some(out) = &args.out {
            eprintln!("wrote {rows} rows to {}", out.display());
        }
        Ok::<(), gridmark_sql::SqlError>(())
    })?;
    Ok(())
}
