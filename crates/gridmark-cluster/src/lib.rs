//! Scale-out on Apache DataFusion Ballista: the scheduler and executor processes behind
//! `gridmark cluster scheduler|executor`. Queries reach them through
//! `gridmark_sql::Engine::Cluster`; this crate only runs the servers, so the command-line
//! client does not carry them.
//!
//! A scheduler plans each query into stages and hands their tasks to executors; executors
//! read the lake's Parquet files by path (or object-store URL), exchange shuffle partitions
//! over Arrow Flight and send the final partitions back to the client.

mod logger;

pub use log::LevelFilter;
pub use logger::init_logging;

use ballista_core::RuntimeProducer;
use ballista_core::utils::default_session_builder;
use ballista_executor::executor_process::{ExecutorProcessConfig, start_executor_process};
use ballista_scheduler::cluster::BallistaCluster;
use ballista_scheduler::config::SchedulerConfig;
use ballista_scheduler::scheduler_process::start_server;
use datafusion::execution::SessionStateBuilder;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use gridmark_lake::store::LakeStores;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum ClusterError {
    #[error("{role} on {addr}: {message}")]
    Server {
        role: &'static str,
        addr: String,
        message: String,
    },
    #[error("{field}: {reason}")]
    Invalid { field: &'static str, reason: String },
}

/// How a scheduler listens and when it gives up on an executor.
#[derive(Debug, Clone)]
pub struct SchedulerOptions {
    pub bind: SocketAddr,
    /// The address executors and clients are told to use, when it differs from `bind`
    /// (a scheduler bound to 0.0.0.0 must still advertise a reachable host).
    pub external_host: Option<String>,
    /// An executor silent this long is declared lost and its tasks run elsewhere.
    pub executor_timeout: Duration,
    /// A task failing this many times fails its query.
    pub task_max_failures: usize,
}

impl Default for SchedulerOptions {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 50050)),
            external_host: None,
            executor_timeout: Duration::from_secs(180),
            task_max_failures: 4,
        }
    }
}

/// Runs a scheduler until the process ends.
pub async fn run_scheduler(options: SchedulerOptions) -> Result<(), ClusterError> {
    let addr = options.bind.to_string();
    let fail = |message: String| ClusterError::Server {
        role: "scheduler",
        addr: addr.clone(),
        message,
    };
    let timeout = options.executor_timeout.as_secs().max(1);
    let config = SchedulerConfig {
        bind_host: options.bind.ip().to_string(),
        bind_port: options.bind.port(),
        external_host: options
            .external_host
            .clone()
            .unwrap_or_else(|| options.bind.ip().to_string()),
        executor_timeout_seconds: timeout,
        no_executors_grace_period_seconds: timeout,
        // Check for silent executors several times per timeout.
        expire_dead_executor_interval_seconds: (timeout / 3).clamp(1, 15),
        task_max_failures: options.task_max_failures.max(1),
        ..SchedulerConfig::default()
    };
    let stores = LakeStores::new();
    // The scheduler plans queries, and planning lists the lake's files: it must reach the
    // same object stores the executors read.
    let config = config.with_override_session_builder(Arc::new(move |session| {
        let state = default_session_builder(session)?;
        let runtime = RuntimeEnvBuilder::new()
            .with_object_store_registry(stores.clone())
            .build_arc()?;
        Ok(SessionStateBuilder::new_from_existing(state)
            .with_runtime_env(runtime)
            .build())
    }));
    let cluster = BallistaCluster::new_from_config(&config)
        .await
        .map_err(|e| fail(e.to_string()))?;
    start_server(cluster, options.bind, Arc::new(config))
        .await
        .map_err(|e| fail(e.to_string()))
}

/// Where an executor listens, which scheduler it joins and how much it takes on.
#[derive(Debug, Clone)]
pub struct ExecutorOptions {
    /// The scheduler's `HOST:PORT`.
    pub scheduler: String,
    pub bind_host: String,
    /// The host the scheduler and other executors reach this one at.
    pub external_host: Option<String>,
    /// Arrow Flight port: shuffle partitions and results are fetched here.
    pub flight_port: u16,
    /// gRPC port: the scheduler launches tasks here.
    pub grpc_port: u16,
    /// Tasks run at once; the machine's cores by default.
    pub concurrent_tasks: usize,
    /// Shuffle files; a temporary directory by default.
    pub work_dir: Option<PathBuf>,
    pub heartbeat: Duration,
}

impl Default for ExecutorOptions {
    fn default() -> Self {
        Self {
            scheduler: "127.0.0.1:50050".into(),
            bind_host: "127.0.0.1".into(),
            external_host: None,
            flight_port: 50051,
            grpc_port: 50052,
            concurrent_tasks: std::thread::available_parallelism().map_or(2, |n| n.get()),
            work_dir: None,
            heartbeat: Duration::from_secs(5),
        }
    }
}

/// Executors read lake files from the local file system or from `s3://` buckets, with the
/// credentials of their own `AWS_*` environment; spill files go to the work directory.
fn lake_runtime(work_dir: Option<PathBuf>) -> RuntimeProducer {
    let stores = LakeStores::new();
    Arc::new(move |_| {
        let mut runtime = RuntimeEnvBuilder::new().with_object_store_registry(stores.clone());
        if let Some(dir) = &work_dir {
            runtime = runtime.with_temp_file_path(dir);
        }
        runtime.build_arc()
    })
}

/// Runs an executor until the process ends or it is told to stop (Ctrl-C).
pub async fn run_executor(options: ExecutorOptions) -> Result<(), ClusterError> {
    let (host, port) = options
        .scheduler
        .rsplit_once(':')
        .and_then(|(h, p)| Some((h.to_string(), p.parse::<u16>().ok()?)))
        .ok_or_else(|| ClusterError::Invalid {
            field: "--scheduler",
            reason: format!(
                "{:?} is not HOST:PORT, as in 127.0.0.1:50050",
                options.scheduler
            ),
        })?;
    if options.concurrent_tasks == 0 {
        return Err(ClusterError::Invalid {
            field: "--tasks",
            reason: "an executor must run at least one task at a time".into(),
        });
    }
    let config = ExecutorProcessConfig {
        bind_host: options.bind_host.clone(),
        external_host: Some(
            options
                .external_host
                .clone()
                .unwrap_or_else(|| options.bind_host.clone()),
        ),
        port: options.flight_port,
        grpc_port: options.grpc_port,
        scheduler_host: host,
        scheduler_port: port,
        // Keep trying while the scheduler starts, rather than failing at once.
        scheduler_connect_timeout_seconds: 30,
        vcores: options.concurrent_tasks,
        work_dir: options
            .work_dir
            .as_ref()
            .map(|d| d.to_string_lossy().into_owned()),
        executor_heartbeat_interval_seconds: options.heartbeat.as_secs().max(1),
        print_thread_info: false,
        override_runtime_producer: Some(lake_runtime(options.work_dir.clone())),
        ..ExecutorProcessConfig::default()
    };
    let addr = format!("{}:{}", options.bind_host, options.flight_port);
    start_executor_process(Arc::new(config))
        .await
        .map_err(|e| ClusterError::Server {
            role: "executor",
            addr,
            message: e.to_string(),
        })
}
