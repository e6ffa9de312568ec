//! `gridmark cluster scheduler|executor`: the Ballista processes, with gridmark's defaults;
//! `gridmark external`: the lake for other engines; `gridmark publish`: the lake to object
//! storage.

use crate::cli::{
    ClusterCommand, ExecutorArgs, ExternalArgs, ExternalEngineArg, PublishArgs, SchedulerArgs,
    parse_seconds,
};
use crate::{CliError, usage};
use gridmark_cluster::{ExecutorOptions, SchedulerOptions};
use std::io::Write;
use std::net::SocketAddr;
use std::time::Duration;

pub fn run(command: ClusterCommand) -> Result<(), CliError> {
    gridmark_cluster::init_logging(gridmark_cluster::LevelFilter::Warn);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        // Ballista's planner recurses over deep plans; its own binaries use 32 MiB stacks.
        .thread_stack_size(32 * 1024 * 1024)
        .build()?;
    match command {
        ClusterCommand::Scheduler(args) => scheduler(&rt, args),
        ClusterCommand::Executor(args) => executor(&rt, args),
    }
}

fn seconds(flag: &str, text: &str) -> Result<Duration, CliError> {
    let s = parse_seconds(flag, text)?;
    Ok(Duration::from_secs(s as u64))
}

fn scheduler(rt: &tokio::runtime::Runtime, args: SchedulerArgs) -> Result<(), CliError> {
    let bind: SocketAddr = args.bind.parse().map_err(|_| {
        usage(format!(
            "--bind {:?}: expected IP:PORT, as in 127.0.0.1:50050",
            args.bind
        ))
    })?;
    let options = SchedulerOptions {
        bind,
        external_host: args.external_host,
        executor_timeout: seconds("--executor-timeout", &args.executor_timeout)?,
        task_max_failures: args.task_max_failures,
    };
    eprintln!(
        "gridmark cluster scheduler on {bind}: start executors with \
         `gridmark cluster executor --scheduler {bind}`, query with `gridmark --cluster {bind} sql …`; stop with Ctrl-C"
    );
    rt.block_on(gridmark_cluster::run_scheduler(options))?;
    Ok(())
}

fn executor(rt: &tokio::runtime::Runtime, args: ExecutorArgs) -> Result<(), CliError> {
    let defaults = ExecutorOptions::default();
    let options = ExecutorOptions {
        scheduler: args.scheduler,
        bind_host: args.bind_host,
        external_host: args.external_host,
        flight_port: args.port,
        grpc_port: args.grpc_port,
        concurrent_tasks: args.tasks.unwrap_or(defaults.concurrent_tasks),
        work_dir: args.work_dir,
        heartbeat: seconds("--heartbeat", &args.heartbeat)?,
    };
    eprintln!(
        "gridmark cluster executor on {}:{} (flight) and {} (gRPC), {} tasks at once, joining {}; stop with Ctrl-C",
        options.bind_host,
        options.flight_port,
        options.grpc_port,
        options.concurrent_tasks,
        options.scheduler
    );
    rt.block_on(gridmark_cluster::run_executor(options))?;
    Ok(())
}

pub fn external(data: &std::path::Path, args: ExternalArgs) -> Result<(), CliError> {
    let lake = gridmark_lake::Lake::open(data)?;
    let snapshot = lake.snapshot()?;
    let engine = match args.engine {
        ExternalEngineArg::Duckdb => gridmark_sql::ExternalEngine::DuckDb,
        ExternalEngineArg::Spark => gridmark_sql::ExternalEngine::Spark,
        ExternalEngineArg::Files => gridmark_sql::ExternalEngine::Files,
    };
    let script = gridmark_sql::external_script(engine, &lake, &snapshot);
    match &args.out {
        Some(path) => {
            std::fs::write(path, script)
                .map_err(|e| usage(format!("writing {}: {e}", path.display())))?;
            eprintln!(
                "wrote the views of lake version {} to {}",
                snapshot.version,
                path.display()
            );
        }
        None => std::io::stdout().write_all(script.as_bytes())?,
    }
    Ok(())
}

pub fn publish(data: &std::path::Path, args: PublishArgs) -> Result<(), CliError> {
    let lake = gridmark_lake::Lake::open(data)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let progress = crate::progress::TerminalProgress::new();
    let report = rt.block_on(gridmark_lake::store::publish(
        &lake,
        &args.target,
        |done, total, bytes| {
            progress.line(&format!(
                "uploaded {done}/{total} files, {:.1} MB",
                bytes as f64 / 1e6
            ))
        },
    ))?;
    progress.clear();
    let mut out = std::io::stdout().lock();
    if args.json {
        writeln!(out, "{}", serde_json::to_string_pretty(&report)?)?;
        return Ok(());
    }
    writeln!(
        out,
        "{}: uploaded {} files ({:.1} MB), {} already there; {}",
        report.target,
        report.uploaded_files,
        report.uploaded_bytes as f64 / 1e6,
        report.skipped_files,
        if report.committed {
            format!("published lake version {}", report.version)
        } else {
            format!("version {} was already published", report.version)
        }
    )?;
    Ok(())
}
