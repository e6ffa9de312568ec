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

mod external;
mod output;
mod views;

pub use external::{ExternalEngine, external_script};
pub use output::{OutputFormat, batch_to_json_rows, write_stream};
pub use views::VIEWS;

use ballista::prelude::{SessionConfigExt, SessionContextExt};
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::datasource::view::ViewTable;
use datafusion::execution::SessionStateBuilder;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::logical_expr::{EmptyRelation, LogicalPlan};
use datafusion::prelude::{SessionConfig, SessionContext, col};
use gridmark_core::catalog::TABLES;
use gridmark_lake::store::LakeStores;
use gridmark_lake::{Lake, Snapshot, arrow_schema};
use std::sync::{Arc, OnceLock};
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
    #[error("--cluster {given:?}: {reason}")]
    Cluster { given: String, reason: String },
}

/// Where queries run: in this process, or on an Apache DataFusion Ballista cluster whose
/// scheduler listens at `df://HOST:PORT`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Engine {
    Embedded,
    Cluster(String),
}

impl Engine {
    /// Reads `HOST:PORT` or `df://HOST:PORT`.
    pub fn cluster(given: &str) -> Result<Self, SqlError> {
        let bad = |reason: &str| SqlError::Cluster {
            given: given.into(),
            reason: reason.into(),
        };
        let rest = given.strip_prefix("df://").unwrap_or(given);
        let (host, port) = rest
            .rsplit_once(':')
            .ok_or_else(|| bad("expected HOST:PORT of the scheduler, as in 127.0.0.1:50050"))?;
        if host.is_empty() || host.contains('/') {
            return Err(bad("the host is empty or not a host name"));
        }
        port.parse::<u16>()
            .map_err(|_| bad("the port is not a number from 1 to 65535"))?;
        Ok(Self::Cluster(format!("df://{host}:{port}")))
    }
}

const ADAPTIVE_PLANNER: &str = "ballista.planner.adaptive.enabled";

/// Overrides the number of partitions a query is split into (DataFusion's own variable).
pub const TARGET_PARTITIONS_VAR: &str = "DATAFUSION_EXECUTION_TARGET_PARTITIONS";

/// Partitions per query on a cluster unless the variable above says otherwise: enough for
/// eight executors of two task slots; a bigger cluster wants the sum of its slots.
pub const CLUSTER_PARTITIONS: usize = 16;

// The engine is a deployment choice made once per process, like the data directory: the
// binary sets it from `--cluster` so that every job's sessions run where the user asked
// without threading it through each job's signature.
static ENGINE: OnceLock<Engine> = OnceLock::new();

/// Makes every session of this process run on `engine`. Only the first call counts.
pub fn use_engine(engine: Engine) {
    let _ = ENGINE.set(engine);
}

/// The engine sessions run on.
pub fn engine() -> &'static Engine {
    ENGINE.get_or_init(|| Engine::Embedded)
}

/// A DataFusion session over the lake's latest snapshot, with every table and view registered.
pub async fn session(lake: &Lake) -> Result<SessionContext, SqlError> {
    let snapshot = lake.snapshot()?;
    session_at(lake, &snapshot).await
}

/// A session over a given snapshot, on the process's [`engine`].
pub async fn session_at(lake: &Lake, snapshot: &Snapshot) -> Result<SessionContext, SqlError> {
    session_on(engine(), lake, snapshot).await
}

/// A session over a given snapshot on a given engine. On a cluster the executors read the
/// same files by their paths or `s3://` URLs, so the lake must be on storage they all see.
pub async fn session_on(
    engine: &Engine,
    lake: &Lake,
    snapshot: &Snapshot,
) -> Result<SessionContext, SqlError> {
    // DATAFUSION_* environment variables tune the engine (see the DataFusion configuration docs).
    let mut config = SessionConfig::from_env()?.with_information_schema(true);
    if std::env::var_os(TARGET_PARTITIONS_VAR).is_none() {
        // Partitions are the unit of parallel work: the client's cores embedded, but on a
        // cluster they must cover the executors' task slots, which the client cannot see.
        let partitions = match engine {
            Engine::Embedded => std::thread::available_parallelism().map_or(2, |n| n.get()),
            Engine::Cluster(_) => CLUSTER_PARTITIONS,
        };
        config = config.with_target_partitions(partitions);
    }
    // Lake files may be local or in an s3:// bucket; on a cluster the scheduler and executors
    // resolve them with the same registry.
    let runtime = RuntimeEnvBuilder::new()
        .with_object_store_registry(LakeStores::new())
        .build_arc()?;
    let ctx = match engine {
        Engine::Embedded => SessionContext::new_with_config_rt(config, runtime),
        Engine::Cluster(url) => {
            // Ballista 55's adaptive planner stalled after losing an executor mid-query
            // (tests/cluster.rs); the static one is the better-trodden path. Both can still
            // stall on the slot leak described in docs/scale-out.md (Failures).
            let config = config
                .upgrade_for_ballista()
                .set_bool(ADAPTIVE_PLANNER, false);
            let state = SessionStateBuilder::new()
                .with_config(config)
                .with_runtime_env(runtime)
                .with_default_features()
                .build();
            SessionContext::remote_with_state(url, state).await?
        }
    };
    register_lake(&ctx, engine, lake, snapshot).await?;
    Ok(ctx)
}

async fn register_lake(
    ctx: &SessionContext,
    engine: &Engine,
    lake: &Lake,
    snapshot: &Snapshot,
) -> Result<(), SqlError> {
    for def in TABLES {
        let schema = arrow_schema(def);
        let files = snapshot
            .table(def.name)
            .map(|t| t.files.as_slice())
            .unwrap_or_default();
        if files.is_empty() {
            // An empty relation rather than an in-memory table: a cluster's planner can send a
            // plan to the scheduler, not a process's memory.
            let empty = LogicalPlan::EmptyRelation(EmptyRelation {
                produce_one_row: false,
                schema: Arc::new(schema.as_ref().clone().try_into()?),
            });
            ctx.register_table(def.name, Arc::new(ViewTable::new(empty, None)))?;
            continue;
        }
        let urls = files
            .iter()
            .map(|f| ListingTableUrl::parse(lake.file_url(&f.path)))
            .collect::<Result<Vec<_>, _>>()?;
        let mut options =
            ListingOptions::new(Arc::new(ParquetFormat::default())).with_file_extension(".parquet");
        // Files written in meter order say so; DataFusion then aggregates per meter by
        // streaming instead of hashing. Not on a cluster: the plan then counts on hash
        // repartitions that keep each partition in order, and Ballista 55 turns them into
        // shuffles that do not, so `ORDER BY meter_id` came back out of order (bench Q3).
        let key = def.key[0];
        let sorted = files
            .iter()
            .all(|f| f.sorted_by.first().map(String::as_str) == Some(key));
        if sorted && *engine == Engine::Embedded {
            options = options.with_file_sort_order(vec![vec![col(key).sort(true, false)]]);
        }
        let config = ListingTableConfig::new_with_multi_paths(urls)
            .with_listing_options(options)
            .with_schema(schema);
        ctx.register_table(def.name, Arc::new(ListingTable::try_new(config)?))?;
    }
    views::register(ctx, &lake.settings().default_tz).await?;
    Ok(())
}
