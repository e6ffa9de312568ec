//! `gridmark`: the command line. Parsing and printing only; the libraries do the work.

mod audit;
mod churn;
mod cli;
mod cluster;
mod demo;
mod forecast;
mod import;
mod keys;
mod market;
mod metering;
mod profile;
mod progress;
mod risk;
mod segment;
mod service;
mod sql;
mod stream;
mod tables;
mod text;
mod theft;
mod users;
mod warning;

use clap::{CommandFactory, FromArgMatches};
use std::io::Write;
use std::process::ExitCode;

fn main() -> ExitCode {
    // Cli::parse(), keeping the matches for the subcommand's name as the user typed it.
    let matches = cli::Cli::command().get_matches();
    let args = cli::Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    let name = matches.subcommand_name().unwrap_or_default().to_string();
    match run(args, &name) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // A closed pipe (`gridmark sql … | head`) is not a failure.
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) {
                return ExitCode::SUCCESS;
            }
            let mut err = std::io::stderr().lock();
            let _ = writeln!(err, "error: {e}");
            let mut source = e.source_ref();
            while let Some(s) = source {
                let _ = writeln!(err, "  caused by: {s}");
                source = s.source();
            }
            ExitCode::FAILURE
        }
    }
}

/// An error with its chain, for the one place that prints it.
pub struct CliError(Box<dyn std::error::Error + Send + Sync>);

impl CliError {
    fn chain(&self) -> impl Iterator<Item = &(dyn std::error::Error + 'static)> {
        let first: &(dyn std::error::Error + 'static) = self.0.as_ref();
        std::iter::successors(Some(first), |e| e.source())
    }
    fn source_ref(&self) -> Option<&(dyn std::error::Error + 'static)> {
        // thiserror messages already include their `#[source]` text when transparent; only
        // print causes that add something.
        self.0
            .source()
            .filter(|s| !self.0.to_string().contains(&s.to_string()))
    }
}

impl std::fmt::Display for CliError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl<E: std::error::Error + Send + Sync + 'static> From<E> for CliError {
    fn from(e: E) -> Self {
        CliError(Box::new(e))
    }
}

fn compact(data: &std::path::Path, args: cli::CompactArgs) -> Result<(), CliError> {
    let lake = gridmark_lake::Lake::open(data)?;
    if let Some(t) = &args.table {
        gridmark_core::catalog::table(t)?;
    }
    let report = lake.compact(
        std::sync::Arc::new(gridmark_core::SystemClock),
        args.table.as_deref(),
    )?;
    let mut out = std::io::stdout().lock();
    if args.json {
        writeln!(out, "{}", serde_json::to_string_pretty(&report)?)?;
        return Ok(());
    }
    for (table, before, after, rows) in &report.tables {
        writeln!(
            out,
            "{table:<16} {before:>6} → {after:>4} files, {rows} rows"
        )?;
    }
    if report.committed {
        writeln!(out, "committed lake version {}", report.version)?;
    } else {
        writeln!(out, "nothing to compact (lake version {})", report.version)?;
    }
    Ok(())
}

pub(crate) fn serve(data: &std::path::Path, args: cli::ServeArgs) -> Result<(), CliError> {
    gridmark_lake::Lake::open(data)?;
    let defaults = gridmark_security::guard::GuardConfig::default();
    let guard = gridmark_security::guard::GuardConfig {
        rate_per_sec: args.rate_limit,
        burst: args.rate_limit * 4.0,
        addr_rate_per_sec: args.rate_limit * 4.0,
        addr_burst: args.rate_limit * 16.0,
        lockout_after: args.lockout_after,
        flood_requests: args.flood_requests,
        personal_rows: args.personal_rows,
        ..defaults
    };
    let master = gridmark_lake::keyring::MasterKey::from_env()?;
    if gridmark_lake::keyring::Keyring::exists(data) {
        match &master {
            Some(m) => {
                gridmark_lake::keyring::Keyring::open(data, m)?;
            }
            None => eprintln!(
                "warning: this lake encrypts personal fields and no master key was given \
                 (GRIDMARK_MASTER_KEY or GRIDMARK_MASTER_KEY_FILE): they will show as [encrypted]"
            ),
        }
    }
    let state = gridmark_server::AppState::new(
        data.to_path_buf(),
        std::sync::Arc::new(gridmark_core::SystemClock),
        guard,
    )
    .with_master_key(master);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(gridmark_server::Tls { cert, key }),
        (None, None) => None,
        _ => return Err(usage("give both --tls-cert and --tls-key, or neither")),
    };
    rt.block_on(gridmark_server::serve(state, &args.addr, tls, |addr, https| {
        let scheme = if https { "https" } else { "http" };
        eprintln!(
            "gridmark listening on {scheme}://{addr} — dashboard at /, API described at /api/openapi.json; stop with Ctrl-C"
        );
    }))
    .map_err(|e| usage(format!("serve on {}: {e}", args.addr)))?;
    Ok(())
}

pub fn usage(msg: impl Into<String>) -> CliError {
    CliError(msg.into().into())
}

/// A lake on object storage serves the commands that only read it with SQL; the others keep
/// state beside the lake (users, keys, models, ledgers) or write to it, which needs a folder.
fn refuse_remote_writes(
    data: &std::path::Path,
    command: &cli::Command,
    name: &str,
) -> Result<(), CliError> {
    use cli::Command as C;
    if !gridmark_lake::store::is_remote(&data.to_string_lossy()) {
        return Ok(());
    }
    let reads_only = matches!(
        command,
        C::Sql(_) | C::Tables(_) | C::Lineloss(_) | C::Quality(_) | C::External(_)
    );
    if reads_only {
        return Ok(());
    }
    Err(usage(format!(
        "--data {}: `{name}` needs a lake folder; a lake on object storage serves `sql`, `tables`, \
         `lineloss`, `quality` and `external` (write locally, then `gridmark publish s3://…`)",
        data.display()
    )))
}

fn run(args: cli::Cli, name: &str) -> Result<(), CliError> {
    if let Some(cluster) = &args.cluster {
        gridmark_sql::use_engine(gridmark_sql::Engine::cluster(cluster)?);
    }
    if let Some(data) = &args.data {
        refuse_remote_writes(data, &args.command, name)?;
    }
    match args.command {
        cli::Command::Demo(d) => demo::run(args.data.as_deref(), d),
        cli::Command::Import(i) => import::run(&cli::data_dir(args.data.as_deref())?, i),
        cli::Command::Ingest(cli::IngestCommand::Mqtt(a)) => {
            stream::mqtt(&cli::data_dir(args.data.as_deref())?, a)
        }
        cli::Command::Sql(s) => sql::run(&cli::data_dir(args.data.as_deref())?, s),
        cli::Command::Tables(t) => tables::run(&cli::data_dir(args.data.as_deref())?, t),
        cli::Command::Forecast(f) => forecast::run(args.data.as_deref(), f),
        cli::Command::Compact(c) => compact(&cli::data_dir(args.data.as_deref())?, c),
        cli::Command::Bill(cli::BillCommand::Run(b)) => {
            metering::bill(&cli::data_dir(args.data.as_deref())?, b)
        }
        cli::Command::Lineloss(l) => metering::lineloss(&cli::data_dir(args.data.as_deref())?, l),
        cli::Command::Theft(t) => theft::run(args.data.as_deref(), t),
        cli::Command::Risk(r) => warning::risk(args.data.as_deref(), r),
        cli::Command::Risks(r) => warning::risks(args.data.as_deref(), r),
        cli::Command::Audit(a) => audit::run(args.data.as_deref(), a),
        cli::Command::Users(u) => users::run(args.data.as_deref(), u),
        cli::Command::Keys(k) => keys::run(args.data.as_deref(), k),
        cli::Command::Serve(a) => serve(&cli::data_dir(args.data.as_deref())?, a),
        cli::Command::Vee(v) => metering::vee(args.data.as_deref(), v),
        cli::Command::Churn(cli::ChurnCommand::Eval(c)) => churn::eval(c),
        cli::Command::Segment(s) => segment::run(args.data.as_deref(), s),
        cli::Command::RiskModel(r) => risk::run(args.data.as_deref(), r),
        cli::Command::Profile(p) => profile::run(args.data.as_deref(), p),
        cli::Command::Influence(a) => market::influence(args.data.as_deref(), a),
        cli::Command::Lifecycle(a) => market::lifecycle(args.data.as_deref(), a),
        cli::Command::Siting(a) => market::siting(args.data.as_deref(), a),
        cli::Command::Channels(a) => service::channels(args.data.as_deref(), a),
        cli::Command::Satisfaction(a) => service::satisfaction(args.data.as_deref(), a),
        cli::Command::Staff(cli::StaffCommand::Assess(a)) => {
            service::staff_assess(args.data.as_deref(), a)
        }
        cli::Command::Text(cli::TextCommand::Eval(t)) => text::eval(t),
        cli::Command::Text(cli::TextCommand::Train(t)) => text::train(t),
        cli::Command::Text(cli::TextCommand::Predict(t)) => text::predict(t),
        cli::Command::Text(cli::TextCommand::Analyze(t)) => text::analyze(args.data.as_deref(), t),
        cli::Command::Quality(q) => metering::quality(&cli::data_dir(args.data.as_deref())?, q),
        cli::Command::Cluster(c) => cluster::run(c),
        cli::Command::External(e) => cluster::external(&cli::data_dir(args.data.as_deref())?, e),
        cli::Command::Publish(p) => cluster::publish(&cli::data_dir(args.data.as_deref())?, p),
    }
}
