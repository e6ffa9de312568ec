//! SQL over the lake with Apache DataFusion: every catalog table is registered over the files
//! of the latest snapshot (so a query sees one commit, never half of one), named views give
//! everyone the same daily, monthly and line-loss figures, and results are written as a table,
//! CSV, JSON lines or Parquet.
//!
//! ```no_run
//! # async fn run() -> Result<(), gridmark_sql::SqlError> {
//! let lake = gridmark_lake::Lake::open("gridmark-demo".as_ref())?;
//! let ctx = gridmark_sql::session(&lake).await?;
//! let df = ctx.sql("SELECT region, month, sum(kwh) FROM region_monthly_energy GROUP BY ROLLUP(region, month)").await?;
//! df.show().await?;
//! # Ok(()) }
//! ```

mod output;
mod views;

pub use output::{OutputFormat, batch_to_json_rows, write_stream};
pub use views::VIEWS;

use datafusion::datasource::MemTable;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::prelude::{SessionConfig, SessionContext, col};
use gridmark_core::catalog::TABLES;
use gridmark_lake::{Lake, Snapshot, arrow_schema};
use std::sync::Arc;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum SqlError {
    #[error(transparent)]
    Lake(#[from] gridmark_lake::LakeError),
    #[error("{0}")]
    DataFusion(#[from] datafusion::error::DataFusionError),
    #[error("{0}")]
    Arrow(#[from] datafusion::arrow::error::ArrowError),
    #[error("{path}: {source}")]
    Io {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("writing results: {0}")]
    Output(String),
    #[error("writing results: {0}")]
    Write(#[from] std::io::Error),
}

/// A DataFusion session over the lake's latest snapshot, with every table and view registered.
pub async fn session(lake: &Lake) -> Result<SessionContext, SqlError> {
    let snapshot = lake.snapshot()?;
    session_at(lake, &snapshot).await
}

/// A session over a given snapshot.
pub async fn session_at(lake: &Lake, snapshot: &Snapshot) -> Result<SessionContext, SqlError> {
    // DATAFUSION_* environment variables tune the engine (see the DataFusion configuration docs).
    let config = SessionConfig::from_env()?
        .with_information_schema(true)
        .with_target_partitions(std::thread::available_parallelism().map_or(2, |n| n.get()));
    let ctx = SessionContext::new_with_config(config);
    for def in TABLES {
        let schema = arrow_schema(def);
        let files = snapshot
            .table(def.name)
            .map(|t| t.files.as_slice())
            .unwrap_or_default();
        if files.is_empty() {
            ctx.register_table(def.name, Arc::new(MemTable::try_new(schema, vec![vec![]])?))?;
            continue;
        }
        let urls = files
            .iter()
            .map(|f| ListingTableUrl::parse(lake.abs(&f.path).to_string_lossy()))
            .collect::<Result<Vec<_>, _>>()?;
        let mut options =
            ListingOptions::new(Arc::new(ParquetFormat::default())).with_file_extension(".parquet");
        // Files written in meter order say so; DataFusion then aggregates per meter by
        // streaming instead of hashing.
        let key = def.key[0];
        if files
            .iter()
            .all(|f| f.sorted_by.first().map(String::as_str) == Some(key))
        {
            options = options.with_file_sort_order(vec![vec![col(key).sort(true, false)]]);
        }
        let config = ListingTableConfig::new_with_multi_paths(urls)
            .with_listing_options(options)
            .with_schema(schema);
        ctx.register_table(def.name, Arc::new(ListingTable::try_new(config)?))?;
    }
    views::register(&ctx, &lake.settings().default_tz).await?;
    Ok(ctx)
}
