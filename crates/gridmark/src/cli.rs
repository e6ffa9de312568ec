//! Command-line arguments, parsed by clap, then checked into the libraries' option types.

use crate::{CliError, usage};
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::{Path, PathBuf};

/// gridmark: the electricity-marketing data platform (readings, archives, bills, work orders)
/// in one program with an embedded lake.
#[derive(Debug, Parser)]
#[command(name = "gridmark", version, about, long_about = None)]
pub struct Cli {
    /// The lake: a folder, or s3://bucket/prefix on S3-compatible object storage (read-only;
    /// credentials from AWS_* variables) (also GRIDMARK_DATA).
    #[arg(
        long,
        global = true,
        env = "GRIDMARK_DATA",
        value_name = "DIR|s3://BUCKET/PREFIX"
    )]
    pub data: Option<PathBuf>,
    /// Run SQL and jobs on an Apache DataFusion Ballista cluster whose scheduler listens at
    /// HOST:PORT (also GRIDMARK_CLUSTER); see `gridmark cluster` and docs/scale-out.md.
    #[arg(
        long,
        global = true,
        env = "GRIDMARK_CLUSTER",
        value_name = "HOST:PORT"
    )]
    pub cluster: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Build a deterministic synthetic utility and load it into a lake.
    Demo(DemoArgs),
    /// Load files into a table (one atomic commit).
    Import(ImportArgs),
    /// Streaming ingestion: meter readings from an MQTT broker, through a write-ahead log.
    #[command(subcommand)]
    Ingest(IngestCommand),
    /// Run SQL over every table and view.
    Sql(SqlArgs),
    /// List the tables with row counts, time ranges and sizes.
    Tables(TablesArgs),
    /// Merge each partition's small files into one sorted file (one commit).
    Compact(CompactArgs),
    /// Forecasting: run and backtest on the lake's hierarchy, evaluate on standard protocols.
    #[command(subcommand)]
    Forecast(ForecastCommand),
    /// Validation, estimation and editing of meter readings.
    #[command(subcommand)]
    Vee(VeeCommand),
    /// Churn and arrears models on customer tables.
    #[command(subcommand)]
    Churn(ChurnCommand),
    /// Customer profiles (客户画像): build them for everyone, show one.
    #[command(subcommand)]
    Profile(ProfileCommand),
    /// Churn and arrears risk models on the lake: train (cross-validated, calibrated) and score.
    #[command(subcommand, name = "risk-model")]
    RiskModel(RiskModelCommand),
    /// Text analytics of reviews, complaints and work orders.
    #[command(subcommand)]
    Text(TextCommand),
    /// Opinion leaders on the customer graph: PageRank, ties, communities, top per region
    /// and segment, with why.
    Influence(InfluenceArgs),
    /// Product lifecycle: adoption curves, Bass diffusion fits, stages and forecasts.
    Lifecycle(LifecycleArgs),
    /// New service-hall sites covering the most customers (or kWh) not yet near a hall.
    Siting(SitingArgs),
    /// Channel preference: use by channel, month, customer group and customer, the shift to
    /// digital, and the customers who could be served digitally.
    Channels(ChannelsArgs),
    /// Satisfaction: CSAT and NPS with confidence intervals by channel, region, class,
    /// business type and staff; significant changes; low-score drivers; comment sentiment.
    Satisfaction(SatisfactionArgs),
    /// Staff performance assessment.
    #[command(subcommand)]
    Staff(StaffCommand),
    /// Customer segmentation by load shape (k-means), on the lake or on LCL-style daily files.
    #[command(subcommand)]
    Segment(SegmentCommand),
    /// Data-quality reports from the latest VEE run.
    #[command(subcommand)]
    Quality(QualityCommand),
    /// Electricity-theft detection: score the lake's meters, inject attacks, evaluate.
    #[command(subcommand)]
    Theft(TheftCommand),
    /// Transformer-area line loss per day or month, abnormal areas and the meters behind them.
    Lineloss(LinelossArgs),
    /// Billing determinants and charges from readings, checked against the bills.
    #[command(subcommand)]
    Bill(BillCommand),
    /// Risk early warning: test rules, run them on the lake, manage the alerts.
    #[command(subcommand)]
    Risk(RiskCommand),
    /// The risk register: identify, assess, control and monitor risks.
    #[command(subcommand)]
    Risks(RisksCommand),
    /// The tamper-evident ledger of imports, runs, exports and decisions: verify, prove.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Users, roles and API tokens (passwords and tokens are stored only as hashes).
    #[command(subcommand)]
    Users(UsersCommand),
    /// Encryption of personal fields at rest: master key, data keys, rotation.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// The HTTP API (tables, alerts, register, ledger) with tokens, roles, scopes and masking.
    Serve(ServeArgs),
    /// The lake for other engines: a DuckDB or PySpark script (or a JSON file list) naming
    /// exactly the files of the latest snapshot.
    External(ExternalArgs),
    /// Copy the lake's latest snapshot to object storage (s3://bucket/prefix): the files the
    /// bucket lacks, then the snapshot, so readers see all of it or none.
    Publish(PublishArgs),
    /// Scale-out: run an Apache DataFusion Ballista scheduler or executor; queries reach it
    /// with --cluster HOST:PORT.
    #[command(subcommand)]
    Cluster(ClusterCommand),
}

#[derive(Debug, Args)]
pub struct ExternalArgs {
    /// duckdb (SQL views), spark (PySpark temporary views) or files (JSON).
    #[arg(long, value_enum, default_value_t = ExternalEngineArg::Duckdb)]
    pub engine: ExternalEngineArg,
    /// Write the script here instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct PublishArgs {
    /// Where to: s3://bucket/prefix. Credentials, region and endpoint come from AWS_ACCESS_KEY_ID,
    /// AWS_SECRET_ACCESS_KEY, AWS_REGION and AWS_ENDPOINT (for an S3-compatible service).
    #[arg(value_name = "s3://BUCKET/PREFIX")]
    pub target: String,
    /// Print what was done as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ExternalEngineArg {
    Duckdb,
    Spark,
    Files,
}

#[derive(Debug, Subcommand)]
pub enum ClusterCommand {
    /// Plan queries into stages and hand their tasks to executors (runs until stopped).
    Scheduler(SchedulerArgs),
    /// Run the tasks of a scheduler's queries on this machine (runs until stopped).
    Executor(ExecutorArgs),
}

#[derive(Debug, Args)]
pub struct SchedulerArgs {
    /// Address to listen on for clients and executors.
    #[arg(long, default_value = "127.0.0.1:50050")]
    pub bind: String,
    /// The host name executors and clients reach this scheduler at, when --bind is 0.0.0.0.
    #[arg(long)]
    pub external_host: Option<String>,
    /// An executor silent this long is declared lost and its tasks rerun elsewhere
    /// (900s, 15m, 1h).
    #[arg(long, default_value = "180s")]
    pub executor_timeout: String,
    /// Failures of one task before its query fails.
    #[arg(long, default_value_t = 4)]
    pub task_max_failures: usize,
}

#[derive(Debug, Args)]
pub struct ExecutorArgs {
    /// The scheduler's HOST:PORT.
    #[arg(long, default_value = "127.0.0.1:50050")]
    pub scheduler: String,
    /// Host to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    pub bind_host: String,
    /// The host name the scheduler and other executors reach this one at.
    #[arg(long)]
    pub external_host: Option<String>,
    /// Arrow Flight port (shuffle data and results).
    #[arg(long, default_value_t = 50051)]
    pub port: u16,
    /// gRPC port (task launches from the scheduler).
    #[arg(long, default_value_t = 50052)]
    pub grpc_port: u16,
    /// Tasks at once (default: this machine's cores).
    #[arg(long)]
    pub tasks: Option<usize>,
    /// Folder for shuffle files (default: a temporary folder).
    #[arg(long, value_name = "DIR")]
    pub work_dir: Option<PathBuf>,
    /// Heartbeat to the scheduler (1s, 5s, 1m).
    #[arg(long, default_value = "5s")]
    pub heartbeat: String,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on (port 0 picks a free one and prints it).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub addr: String,
    /// Sustained requests a second per token (per address: four times this); 0 turns rate
    /// limiting off, e.g. behind a gateway that limits already.
    #[arg(long, default_value_t = 50.0)]
    pub rate_limit: f64,
    /// Failed logins (per user, and per address) before a 15-minute lockout.
    #[arg(long, default_value_t = 5)]
    pub lockout_after: u32,
    /// Requests from one address within 10 s that raise a flood alert.
    #[arg(long, default_value_t = 3000)]
    pub flood_requests: usize,
    /// Unmasked personal rows one user may receive within an hour before an alert.
    #[arg(long, default_value_t = 5000)]
    pub personal_rows: u64,
    /// Serve HTTPS with this PEM certificate chain (with --tls-key).
    #[arg(long, value_name = "PEM")]
    pub tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert.
    #[arg(long, value_name = "PEM")]
    pub tls_key: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Print a new random master key (64 hex digits) to keep outside the lake, e.g.
    /// `gridmark keys new-master > /etc/gridmark/master.key && chmod 400 …`.
    NewMaster,
    /// Start encrypting personal fields: a data key per table that has them, wrapped by the
    /// master key (GRIDMARK_MASTER_KEY or GRIDMARK_MASTER_KEY_FILE); the rows already stored
    /// are rewritten sealed.
    Init {
        /// aes-256-gcm, or sm4-gcm for deployments held to GM/T 0002.
        #[arg(long, default_value = "aes-256-gcm")]
        cipher: String,
        #[arg(long)]
        json: bool,
    },
    /// The keyring: master key fingerprint, data keys, and whether the given key opens them.
    Status {
        #[arg(long)]
        json: bool,
    },
    /// Rewrap every data key under a new master key (no data is rewritten; servers keep the
    /// keys they have open), and with --data-keys start new data keys and reseal the rows.
    Rotate {
        /// File with the new master key; without it the master key stays the same.
        #[arg(long, value_name = "FILE")]
        new_master_file: Option<PathBuf>,
        /// New data keys for every table (older keys stay to open older values until the
        /// rows are resealed, which this does).
        #[arg(long)]
        data_keys: bool,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// Add a user. The password is read from standard input (--password-stdin) or
    /// GRIDMARK_PASSWORD, never from the command line.
    Add {
        name: String,
        /// admin, marketing_analyst, metering_inspector, service_agent or auditor.
        #[arg(long)]
        role: String,
        /// Regions or areas whose rows the user may see, comma-separated (default: all).
        #[arg(long, value_delimiter = ',')]
        scope: Vec<String>,
        #[arg(long)]
        password_stdin: bool,
    },
    /// The users, their roles and scopes.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Every role and what it may do.
    Roles,
    /// Change a user's role (and scope, when given).
    Role {
        name: String,
        role: String,
        #[arg(long, value_delimiter = ',')]
        scope: Option<Vec<String>>,
    },
    /// Set a new password (standard input or GRIDMARK_PASSWORD).
    Password {
        name: String,
        #[arg(long)]
        password_stdin: bool,
    },
    /// Disable a user and revoke their tokens.
    Disable { name: String },
    /// Enable a disabled user (tokens stay revoked).
    Enable { name: String },
    /// API tokens.
    #[command(subcommand)]
    Tokens(TokensCommand),
}

#[derive(Debug, Subcommand)]
pub enum TokensCommand {
    /// Issue a token for a user; it is printed once and stored only as a hash.
    Issue {
        name: String,
        #[arg(long, default_value_t = 90)]
        days: i64,
    },
    /// Tokens with their owners, expiry and state (never the secret).
    List,
    /// Revoke a token by its id.
    Revoke { id: String },
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Choose the ledger's hash before its first entry: sha256 (default) or sm3.
    Init {
        #[arg(long)]
        hash: String,
    },
    /// The latest entries.
    Log {
        #[arg(long, default_value_t = 20)]
        last: usize,
        #[arg(long)]
        json: bool,
    },
    /// Check every entry's hash, the chain and the checkpoints; names the first broken entry.
    Verify {
        #[arg(long)]
        json: bool,
    },
    /// Record the current size and Merkle root (also done every 256 entries).
    Checkpoint,
    /// An inclusion proof of one entry (RFC 9162), by sequence number.
    Proof {
        seq: u64,
        /// Prove against the tree of the first SIZE entries (e.g. a checkpoint's).
        #[arg(long)]
        size: Option<u64>,
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Check an inclusion proof file, against its own root or one kept elsewhere.
    CheckProof {
        #[arg(value_name = "FILE")]
        file: PathBuf,
        #[arg(long)]
        root: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum RiskCommand {
    /// Rules files: write the shipped rules, check a file, run its test cases.
    #[command(subcommand)]
    Rules(RulesCommand),
    /// Apply the rules to the lake: open or update alerts, escalate, deliver.
    Run(RiskRunArgs),
    /// Run the rules every interval until stopped (or --runs times).
    Watch(RiskWatchArgs),
    /// List, show, acknowledge and resolve alerts.
    #[command(subcommand)]
    Alerts(AlertsCommand),
}

#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// Write the shipped rules (one per indicator, with test cases) to a file to edit.
    Init {
        /// Where to write (refuses to overwrite).
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
    /// Validate a rules file and list its rules.
    Check {
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
    /// Run every rule's test cases; exits non-zero when one fails.
    Test {
        #[arg(value_name = "FILE")]
        file: PathBuf,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args)]
pub struct RiskRunArgs {
    /// The rules file (`gridmark risk rules init FILE` writes a starting point).
    #[arg(long, value_name = "FILE")]
    pub rules: PathBuf,
    /// Evaluation day, YYYY-MM-DD (default: the latest day with readings).
    #[arg(long, conflicts_with_all = ["from", "to"])]
    pub as_of: Option<String>,
    /// Replay every day from this one (a backtest), YYYY-MM-DD.
    #[arg(long, requires = "to")]
    pub from: Option<String>,
    /// … to this one.
    #[arg(long, requires = "from")]
    pub to: Option<String>,
    /// Record alerts but send nothing (no webhook, no e-mail).
    #[arg(long)]
    pub no_deliver: bool,
    /// Only evaluate; record nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct RiskWatchArgs {
    #[arg(long, value_name = "FILE")]
    pub rules: PathBuf,
    /// Time between runs, e.g. 15m, 1h.
    #[arg(long, default_value = "15m")]
    pub every: String,
    /// Stop after this many runs (default: run until stopped).
    #[arg(long)]
    pub runs: Option<u64>,
    #[arg(long)]
    pub no_deliver: bool,
}

#[derive(Debug, Subcommand)]
pub enum AlertsCommand {
    /// Alerts, newest first.
    List(AlertsListArgs),
    /// One alert with its evidence and full history.
    Show {
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// Acknowledge an open or escalated alert.
    Ack(AlertActArgs),
    /// Resolve an alert.
    Resolve(AlertActArgs),
}

#[derive(Debug, Args)]
pub struct AlertsListArgs {
    /// open, acknowledged, escalated, resolved or live (all but resolved).
    #[arg(long)]
    pub status: Option<String>,
    #[arg(long)]
    pub rule: Option<String>,
    /// Rows shown on the terminal.
    #[arg(long, default_value_t = 30)]
    pub show: usize,
    /// Every matching alert (.csv or .json).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// A page with the alerts, by rule and by day.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct AlertActArgs {
    pub id: String,
    /// Who (default: $USER).
    #[arg(long)]
    pub by: Option<String>,
    #[arg(long, default_value = "")]
    pub note: String,
}

#[derive(Debug, Subcommand)]
pub enum RisksCommand {
    /// Identify a risk by hand.
    Add(RiskAddArgs),
    /// Identify risks from rules whose alerts recur.
    FromAlerts(RiskFromAlertsArgs),
    /// The register with scores and levels, and the 5 × 5 matrix.
    List(RisksListArgs),
    /// One risk with its assessments, actions, indicators and history.
    Show {
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// Assess likelihood and impact (1–5 each); --residual for the risk with its controls.
    Assess(RiskAssessArgs),
    /// Add a control action with an owner and a due date.
    Action(RiskActionArgs),
    /// Mark an action done.
    Done {
        action: String,
        #[arg(long)]
        by: Option<String>,
        #[arg(long, default_value = "")]
        note: String,
    },
    /// Link an alert rule to a risk as one of its indicators.
    Link {
        id: String,
        #[arg(long)]
        rule: String,
        #[arg(long)]
        by: Option<String>,
    },
    /// Set a risk's status: open, treating, accepted or closed.
    Status {
        id: String,
        status: String,
        #[arg(long)]
        by: Option<String>,
        #[arg(long, default_value = "")]
        note: String,
    },
    /// Per risk: live alerts of its indicators, overdue actions, residual risk over time.
    Monitor {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args)]
pub struct RiskAddArgs {
    #[arg(long)]
    pub title: String,
    #[arg(long, default_value = "operational")]
    pub category: String,
    #[arg(long, default_value = "")]
    pub description: String,
    #[arg(long, default_value = "")]
    pub owner: String,
    /// Likelihood 1–5 (inherent), with --impact.
    #[arg(long, requires = "impact")]
    pub likelihood: Option<u8>,
    #[arg(long, requires = "likelihood")]
    pub impact: Option<u8>,
    /// Alert rules that indicate this risk.
    #[arg(long = "rule")]
    pub rules: Vec<String>,
    #[arg(long)]
    pub by: Option<String>,
}

#[derive(Debug, Args)]
pub struct RiskFromAlertsArgs {
    /// Alerts a rule must have opened …
    #[arg(long, default_value_t = 3)]
    pub min_alerts: usize,
    /// … within this many days (of evaluation dates).
    #[arg(long, default_value_t = 30)]
    pub days: i64,
    #[arg(long)]
    pub by: Option<String>,
}

#[derive(Debug, Args)]
pub struct RisksListArgs {
    #[arg(long)]
    pub json: bool,
    /// A page with the matrix and the register.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct RiskAssessArgs {
    pub id: String,
    #[arg(long)]
    pub likelihood: u8,
    #[arg(long)]
    pub impact: u8,
    /// The assessment is of the residual risk (with the controls in place).
    #[arg(long)]
    pub residual: bool,
    #[arg(long, default_value = "")]
    pub note: String,
    #[arg(long)]
    pub by: Option<String>,
}

#[derive(Debug, Args)]
pub struct RiskActionArgs {
    pub id: String,
    #[arg(long)]
    pub text: String,
    #[arg(long, default_value = "")]
    pub owner: String,
    /// Due date, YYYY-MM-DD.
    #[arg(long)]
    pub due: String,
    #[arg(long)]
    pub by: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum BillCommand {
    /// Price every customer's month with the tariff engine and list the mismatches.
    Run(BillRunArgs),
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum BillSourceArg {
    /// readings_validated when a VEE run wrote it, else readings.
    Validated,
    /// The raw readings, as recorded.
    Raw,
}

#[derive(Debug, Args)]
pub struct BillRunArgs {
    /// The billing month, YYYY-MM.
    #[arg(long)]
    pub period: String,
    #[arg(long, value_enum, default_value_t = BillSourceArg::Validated)]
    pub source: BillSourceArg,
    /// Every customer's line (.csv or .json).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Mismatches shown on the terminal.
    #[arg(long, default_value_t = 20)]
    pub show: usize,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum PeriodArg {
    Day,
    Month,
}

#[derive(Debug, Args)]
pub struct LinelossArgs {
    #[arg(long, value_enum, default_value_t = PeriodArg::Day)]
    pub period: PeriodArg,
    /// Normal band of the loss rate, as LOW,HIGH fractions.
    #[arg(long, default_value = "0,0.07")]
    pub band: String,
    /// Robust z-score above which a change of rate is a jump.
    #[arg(long, default_value_t = 4.0)]
    pub jump_z: f64,
    /// Every area-period (.csv or .json).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// A page with the abnormal areas and their charts.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Print the abnormal areas as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum TheftCommand {
    /// Rank the lake's meters by theft suspicion, with evidence.
    Score(TheftScoreArgs),
    /// Inject the six Jokar et al. attacks into real consumption; write an SGCC-layout file.
    Inject(TheftInjectArgs),
    /// Stratified k-fold evaluation on an SGCC-layout file (CONS_NO,FLAG[,ATTACK],<date>…).
    Eval(TheftEvalArgs),
}

#[derive(Debug, Args)]
pub struct TheftScoreArgs {
    /// Suspects to list.
    #[arg(long, default_value_t = 50)]
    pub top: usize,
    /// Write the suspect list here (.csv or .json).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Write an HTML page with each suspect's evidence and chart.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Print the list as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct TheftInjectArgs {
    /// SGCC-layout CSV, or LCL daily files (LCLid,day,…,energy_sum; plain or .gz).
    #[arg(long, required = true, num_args = 1..)]
    pub input: Vec<PathBuf>,
    /// The SGCC-layout file to write (CONS_NO,FLAG,ATTACK,<date>…).
    #[arg(long)]
    pub out: PathBuf,
    /// Share of honest customers to attack.
    #[arg(long, default_value_t = 0.1)]
    pub share: f64,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// LCL input: first day kept (households need a value on every day of the period).
    #[arg(long, default_value = "2013-01-01")]
    pub from: String,
    /// LCL input: last day kept (inclusive).
    #[arg(long, default_value = "2013-12-31")]
    pub to: String,
}

#[derive(Debug, Args)]
pub struct TheftEvalArgs {
    /// SGCC-layout CSV (plain or .gz).
    #[arg(long)]
    pub input: PathBuf,
    #[arg(long, default_value_t = 5)]
    pub folds: usize,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Train without synthetic attacked copies of the honest training rows.
    #[arg(long)]
    pub no_augment: bool,
    /// Print {"auc", "precision_at_10pct", "map_at_100", "folds", …} as JSON.
    #[arg(long)]
    pub json: bool,
    /// Write every customer's out-of-fold score (id,label,score,…).
    #[arg(long, value_name = "FILE")]
    pub scores_out: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum VeeCommand {
    /// Validate every meter's readings into `readings_validated` (one commit).
    Run(VeeRunArgs),
    /// Print the default rules as JSON, a starting point for `--rules`.
    Rules,
}

#[derive(Debug, Args)]
pub struct VeeRunArgs {
    /// Rules and limits as JSON (see `gridmark vee rules`); default: the built-in rules.
    #[arg(long, value_name = "FILE")]
    pub rules: Option<PathBuf>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum QualityCommand {
    /// Completeness and data sufficiency per meter, area and day.
    Report(QualityReportArgs),
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum QualityLevel {
    Day,
    Meter,
    Area,
}

#[derive(Debug, Args)]
pub struct QualityReportArgs {
    /// Output file: .html (a page with charts), .csv or .json (one level, see --level).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Level of the CSV/JSON table.
    #[arg(long, value_enum, default_value_t = QualityLevel::Meter)]
    pub level: QualityLevel,
}

#[derive(Debug, Args)]
pub struct CompactArgs {
    /// Only this table (default: every table).
    #[arg(long)]
    pub table: Option<String>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum ForecastCommand {
    /// Forecast daily consumption at a level of the hierarchy (and every level above it),
    /// with intervals, reconciled; written to the `forecasts` table.
    Run(ForecastRunArgs),
    /// Rolling-origin backtest of every method at every level down to --level.
    Backtest(ForecastRunArgs),
    /// Run an evaluation protocol on a file: ett (wide hourly), day-ahead (vic_elec layout),
    /// households (LCL daily files).
    Eval(ForecastEvalArgs),
}

#[derive(Debug, Subcommand)]
pub enum ProfileCommand {
    /// Compute every active customer's profile and store `customer_profiles`.
    Build(ProfileBuildArgs),
    /// Show one customer's profile.
    Show(ProfileShowArgs),
}

#[derive(Debug, Args)]
pub struct ProfileBuildArgs {
    /// Every profile (.csv or .json).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Print a summary as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ProfileShowArgs {
    /// Customer id.
    pub customer: String,
    /// Print the profile as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum RiskModelCommand {
    /// Build features as of a past day, learn what happened next, cross-validate, calibrate and
    /// save the model in the lake's models/ directory.
    Train(RiskTrainArgs),
    /// Score every active customer with the saved model; stores `risk_scores` with reasons.
    Score(RiskScoreArgs),
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum RiskTargetArg {
    /// The account closes within the horizon.
    Churn,
    /// A bill due within the horizon is not paid within 10 days of its due date.
    Arrears,
}

#[derive(Debug, Args)]
pub struct RiskTrainArgs {
    #[arg(value_enum)]
    pub target: RiskTargetArg,
    /// Days ahead the risk is for.
    #[arg(long, default_value_t = 90)]
    pub horizon: i64,
    /// Feature day (YYYY-MM-DD); default the last day with a whole horizon of outcomes.
    #[arg(long)]
    pub as_of: Option<String>,
    #[arg(long, default_value_t = 5)]
    pub folds: usize,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Write each training customer's out-of-fold probability (`id,label,score`).
    #[arg(long, value_name = "FILE")]
    pub scores_out: Option<PathBuf>,
    /// Also check the held-out scores against known outcomes: a CSV with `customer_id` and
    /// --truth-col; rows whose value is in --positive are positives.
    #[arg(long, value_name = "FILE")]
    pub truth: Option<PathBuf>,
    #[arg(long, default_value = "pay_habit")]
    pub truth_col: String,
    /// Comma-separated values of --truth-col that count as positive.
    #[arg(long, default_value = "late,non_payer")]
    pub positive: String,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct RiskScoreArgs {
    #[arg(value_enum)]
    pub target: RiskTargetArg,
    /// Score as of this day (default the day after the data ends).
    #[arg(long)]
    pub as_of: Option<String>,
    /// Customers shown on the terminal.
    #[arg(long, default_value_t = 20)]
    pub top: usize,
    /// Every scored customer (.csv or .json).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Print the scores as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum TextCommand {
    /// Evaluate the character n-gram TF-IDF + linear classifier on a labelled CSV: accuracy
    /// and macro-F1 on a stratified hold-out split or stratified k-fold.
    Eval(TextEvalArgs),
    /// Train the classifier on every row of a labelled CSV and save it.
    Train(TextTrainArgs),
    /// Apply a saved classifier to a CSV's text column (`line,predicted,score`).
    Predict(TextPredictArgs),
    /// Analyse the lake's work orders and survey comments: language, sentiment, category,
    /// keywords, weekly hot and emerging terms, and each complaint's likely cause. Stores
    /// `text_documents`, `text_topics` and `complaint_links`.
    Analyze(TextAnalyzeArgs),
}

#[derive(Debug, Args)]
pub struct InfluenceArgs {
    /// Leaders listed per region and per segment.
    #[arg(long, default_value_t = 5)]
    pub top: usize,
    /// Every customer's influence (.csv or .json).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Print the leaders as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct SitingArgs {
    /// How many new sites to choose.
    #[arg(long = "new")]
    pub new_sites: usize,
    /// A customer is covered by a hall within this many km.
    #[arg(long, default_value_t = 3.0)]
    pub radius: f64,
    /// What to cover: customers or kwh (billed in the last 12 months).
    #[arg(long, default_value = "customers")]
    pub weight: String,
    /// coverage (most customers within the radius) or median (least mean distance to the
    /// nearest hall, p-median).
    #[arg(long, default_value = "coverage")]
    pub objective: String,
    /// Candidate sites: a CSV with id, lat and lon columns (default: a grid over the customers).
    #[arg(long, value_name = "FILE")]
    pub candidates: Option<PathBuf>,
    /// Write the chosen sites and the existing halls as GeoJSON.
    #[arg(long, value_name = "FILE")]
    pub geojson: Option<PathBuf>,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum IngestCommand {
    /// Subscribe to meter readings (QoS 1, persistent session), log them durably before
    /// acknowledging, and commit them to `readings` every few seconds.
    Mqtt(IngestMqttArgs),
}

#[derive(Debug, Args)]
pub struct IngestMqttArgs {
    /// The broker, HOST:PORT.
    #[arg(long, default_value = "127.0.0.1:1883")]
    pub broker: String,
    /// Topic filter.
    #[arg(long, default_value = "meters/+/readings")]
    pub topic: String,
    /// The persistent session's name; the broker keeps what this subscriber has not
    /// acknowledged while it is down. Give each subscriber its own.
    #[arg(long, default_value = "gridmark-ingest")]
    pub client_id: String,
    /// Interval of readings whose message does not say (900, 15m, 1h…).
    #[arg(long, default_value = "15m")]
    pub interval: String,
    /// Commit to the lake at least this often, seconds.
    #[arg(long, default_value_t = 2.0)]
    pub commit_seconds: f64,
    /// … or when this many readings are waiting.
    #[arg(long, default_value_t = 500_000)]
    pub commit_readings: u64,
    /// Stop after this many seconds without a message (default: run until Ctrl-C).
    #[arg(long, value_name = "SECONDS")]
    pub idle_exit: Option<f64>,
    /// Stop after this many messages.
    #[arg(long)]
    pub max_messages: Option<u64>,
    /// Zone of a new lake.
    #[arg(long)]
    pub tz: Option<String>,
    /// Risk rules: the readings rules run on the meters of every committed batch.
    #[arg(long, value_name = "FILE")]
    pub rules: Option<PathBuf>,
    /// Print the run's report as JSON when it stops.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ChannelsArgs {
    /// Every customer's channel use and recommendation (.csv or .json).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Candidates to move to digital channels listed.
    #[arg(long, default_value_t = 10)]
    pub top: usize,
    /// Print the analysis as JSON (customers: the `--top` candidates only).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct SatisfactionArgs {
    /// Only answers in this period: 2025-Q1, 2025-03, 2025 or 2025-01-01..2025-03-31.
    #[arg(long)]
    pub period: Option<String>,
    /// Time series and change tests by month or quarter.
    #[arg(long, default_value = "month")]
    pub by: String,
    /// False-discovery rate for the changes reported.
    #[arg(long, default_value_t = 0.05)]
    pub alpha: f64,
    /// Every group's scores (.csv or .json).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Print the analysis as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum StaffCommand {
    /// KPIs, shrunk toward the role's mean, a composite score, rank and grade per staff member.
    Assess(StaffAssessArgs),
}

#[derive(Debug, Args)]
pub struct StaffAssessArgs {
    /// The period assessed: 2025-Q1, 2025-03, 2025 or 2025-01-01..2025-03-31.
    #[arg(long)]
    pub period: String,
    /// Every staff member's assessment (.csv or .json).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Compare with the demo's hidden staff quality (`truth/staff.csv`): Spearman correlations.
    #[arg(long, value_name = "FILE")]
    pub truth: Option<PathBuf>,
    /// Print the assessment as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct LifecycleArgs {
    /// Months of adopters forecast.
    #[arg(long, default_value_t = 12)]
    pub horizon: usize,
    /// Print every product's curve, fit, stage and forecast as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct TextAnalyzeArgs {
    /// A larger sentiment lexicon under the built-in one: a directory with
    /// BosonNLP_sentiment_score.txt, degreeDict.utf8.txt and notDict.utf8.txt.
    #[arg(long, value_name = "DIR")]
    pub lexicons: Option<PathBuf>,
    /// A category model saved by `gridmark text train` (default: train one on the lake's work
    /// orders that carry a category).
    #[arg(long, value_name = "FILE")]
    pub model: Option<PathBuf>,
    /// Sentiment scores within ±this are neutral.
    #[arg(long, default_value_t = 0.5)]
    pub neutral_band: f64,
    /// Keywords kept per document.
    #[arg(long, default_value_t = 5)]
    pub keywords: usize,
    /// Documents a term needs in a week to be emerging.
    #[arg(long, default_value_t = 5)]
    pub min_docs: u32,
    /// How many times its expected count an emerging term needs.
    #[arg(long, default_value_t = 3.0)]
    pub min_ratio: f64,
    /// Significance per week, Bonferroni-corrected over the week's terms.
    #[arg(long, default_value_t = 0.01)]
    pub alpha: f64,
    /// Emerging terms and complaints listed on screen.
    #[arg(long, default_value_t = 15)]
    pub top: usize,
    /// Write a report page (tiles, charts, emerging terms, complaint causes).
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Print a summary as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct TextTrainArgs {
    #[arg(long)]
    pub input: PathBuf,
    #[arg(long, default_value = "review")]
    pub text: String,
    #[arg(long, default_value = "label")]
    pub label: String,
    /// Where to save the model (JSON).
    #[arg(long)]
    pub out: PathBuf,
    /// svm or logistic.
    #[arg(long, default_value = "svm")]
    pub model: String,
    #[arg(long, default_value_t = 1.0)]
    pub c: f64,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
}

#[derive(Debug, Args)]
pub struct TextPredictArgs {
    /// A model saved by `gridmark text train`.
    #[arg(long)]
    pub model: PathBuf,
    #[arg(long)]
    pub input: PathBuf,
    #[arg(long, default_value = "review")]
    pub text: String,
    /// Where to write `line,predicted,score` (default: standard output).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct TextEvalArgs {
    /// CSV (or .csv.gz) with a text column and a label column.
    #[arg(long)]
    pub input: PathBuf,
    #[arg(long, default_value = "review")]
    pub text: String,
    #[arg(long, default_value = "label")]
    pub label: String,
    /// Stratified k-fold instead of one hold-out split.
    #[arg(long)]
    pub folds: Option<usize>,
    /// Share of rows held out for testing (without --folds).
    #[arg(long, default_value_t = 0.2)]
    pub test_share: f64,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Classifier: svm (L2-loss linear SVM) or logistic.
    #[arg(long, default_value = "svm")]
    pub model: String,
    /// Regularisation C of the classifier.
    #[arg(long, default_value_t = 1.0)]
    pub c: f64,
    /// Also score the test rows with the untrained lexicon model (two classes; the second
    /// label in sorted order is positive): a directory with BosonNLP_sentiment_score.txt,
    /// degreeDict.utf8.txt and notDict.utf8.txt.
    /// `builtin` scores with the built-in service lexicon instead.
    #[arg(long, value_name = "DIR")]
    pub lexicon: Option<PathBuf>,
    /// With --lexicon DIR: lay the built-in service words over it, as `text analyze
    /// --lexicons DIR` does.
    #[arg(long)]
    pub service_words: bool,
    /// Write each row's set (`row,set`: 0-based data row, train/test) or fold (`row,fold`),
    /// for a peer to use the identical split.
    #[arg(long, value_name = "FILE")]
    pub split_out: Option<PathBuf>,
    /// Print `{"accuracy": …, "macro_f1": …, …}`.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum SegmentCommand {
    /// Segment the lake's customers on their load shapes and store the `segments` table.
    Run(SegmentRunArgs),
    /// Segment households of LCL daily files (`LCLid,day,energy_sum,…`): the evaluation run,
    /// with inertia, silhouette, stability and the feature matrix for a side-by-side peer.
    Eval(SegmentEvalArgs),
}

/// How many segments, shared by `segment run` and `segment eval`.
#[derive(Debug, Args)]
pub struct SegmentKArgs {
    /// Number of segments, or `auto` to choose 2–10 by silhouette.
    #[arg(long, default_value = "auto")]
    pub k: String,
    /// Largest k tried with `--k auto`.
    #[arg(long, default_value_t = 10)]
    pub max_k: usize,
    /// k-means++ restarts; the best by inertia is kept.
    #[arg(long, default_value_t = 10)]
    pub restarts: usize,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Compare the segments with known groups: a CSV with `customer_id` (or `id`) and the
    /// column named by --truth-col; prints the adjusted Rand index.
    #[arg(long, value_name = "FILE")]
    pub truth: Option<PathBuf>,
    #[arg(long, default_value = "archetype")]
    pub truth_col: String,
    /// Write the feature matrix that was clustered (`id,<features>`), for other tools.
    #[arg(long, value_name = "FILE")]
    pub features_out: Option<PathBuf>,
    /// Write each customer's segment (`id,segment`).
    #[arg(long, value_name = "FILE")]
    pub labels_out: Option<PathBuf>,
    /// Write an HTML page with each segment's typical profile.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct SegmentRunArgs {
    #[command(flatten)]
    pub k: SegmentKArgs,
    /// Customers with fewer whole days of readings are left out.
    #[arg(long, default_value_t = 28)]
    pub min_days: usize,
}

#[derive(Debug, Args)]
pub struct SegmentEvalArgs {
    /// LCL daily files (block_*.csv.gz).
    #[arg(long, num_args = 1.., required_unless_present = "features", conflicts_with = "features")]
    pub input: Vec<PathBuf>,
    /// Or any feature table: `id` (or the first column) and numeric columns.
    #[arg(long, value_name = "FILE")]
    pub features: Option<PathBuf>,
    /// Calendar year whose complete days are used.
    #[arg(long, default_value_t = 2013)]
    pub year: i32,
    /// Households with fewer complete days in the year are left out.
    #[arg(long, default_value_t = 300)]
    pub min_days: usize,
    #[command(flatten)]
    pub k: SegmentKArgs,
}

#[derive(Debug, Subcommand)]
pub enum ChurnCommand {
    /// Stratified k-fold cross-validation of the gradient-boosted churn model on any customer
    /// table: ROC-AUC, PR-AUC and lift in the top decile of out-of-fold scores.
    Eval(ChurnEvalArgs),
}

#[derive(Debug, Args)]
pub struct ChurnEvalArgs {
    /// Customer table (CSV, one row per customer; numbers, dates, t/f flags and categories).
    #[arg(long)]
    pub input: PathBuf,
    /// Labels in a separate CSV with the same id column (else --target is read from --input).
    #[arg(long)]
    pub labels: Option<PathBuf>,
    /// Id column.
    #[arg(long, default_value = "id")]
    pub id: String,
    /// Label column (0/1 or true/false).
    #[arg(long, default_value = "churn")]
    pub target: String,
    #[arg(long, default_value_t = 5)]
    pub folds: usize,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Write every row's out-of-fold score (`id,label,score`).
    #[arg(long, value_name = "FILE")]
    pub scores_out: Option<PathBuf>,
    /// Use the columns exactly as read: no gaps between date columns.
    #[arg(long)]
    pub no_date_gaps: bool,
    /// Write each row's fold (`id,fold`), so a peer can use the identical folds.
    #[arg(long, value_name = "FILE")]
    pub folds_out: Option<PathBuf>,
    /// Print `{"auc": …, "pr_auc": …, "lift_top10": …, …}`.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Protocol {
    /// Informer/DLinear/PatchTST long-horizon protocol (12/4/4 months, z-scored, stride 1).
    Ett,
    /// Day-ahead half-hourly load with temperature and holidays, rolling daily origin over the
    /// last --test-days days.
    DayAhead,
    /// Every household's last --horizon days, every method and automatic selection, MASE.
    Households,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum LevelArg {
    Total,
    Region,
    Area,
    Customer,
}

#[derive(Debug, Args)]
pub struct ForecastRunArgs {
    /// Level shown (every level above it is forecast and reconciled too).
    #[arg(long, value_enum, default_value_t = LevelArg::Area)]
    pub level: LevelArg,
    /// How far ahead: days (`7d`, `14`) or weeks (`2w`).
    #[arg(long, default_value = "7d")]
    pub horizon: String,
    /// First forecast day (YYYY-MM-DD); default the day after the data ends. An earlier day
    /// shows the forecast against what happened.
    #[arg(long)]
    pub origin: Option<String>,
    /// Backtest origins (one horizon apart, ending at the origin).
    #[arg(long, default_value_t = 6)]
    pub backtests: usize,
    /// Methods to compare, comma-separated (snaive, ets, mstl, linear, gbdt).
    #[arg(long, default_value = "snaive,ets,mstl,linear,gbdt")]
    pub methods: String,
    /// Write an HTML page: backtest tables and forecast charts against actuals.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Write the forecasts of the level shown (.csv or .json).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Print JSON instead of tables.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ForecastEvalArgs {
    /// ett: a wide hourly CSV (../shared/data/ett/ETTh1.csv); day-ahead: a vic_elec-layout CSV;
    /// households: LCL daily files (several allowed, plain or .gz).
    #[arg(long, required = true, num_args = 1..)]
    pub input: Vec<PathBuf>,
    #[arg(long, value_enum, default_value_t = Protocol::Ett)]
    pub protocol: Protocol,
    /// Forecast horizons, comma-separated.
    #[arg(long, default_value = "96,192,336,720")]
    pub horizons: String,
    /// Look-back window in hours (ett); several, comma-separated, are compared on the
    /// validation split and the best is scored on test. The default offers the look-backs of
    /// the published models compared with (PatchTST/42 and DLinear 336, PatchTST/64 512).
    #[arg(long, default_value = "336,512")]
    pub lookback: String,
    /// Days forecast at the end of every household series (households).
    #[arg(long, default_value_t = 14)]
    pub horizon: usize,
    /// Days of the test period (day-ahead).
    #[arg(long, default_value_t = 365)]
    pub test_days: usize,
    /// Write the GBDT feature table (day-ahead) or the series (households) for a peer tool.
    #[arg(long, value_name = "FILE")]
    pub peer_out: Option<PathBuf>,
    /// Print `{"96": {"mse": …, "mae": …}, …}`.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Number of customers (one meter each).
    #[arg(long, default_value_t = 2000)]
    pub customers: usize,
    /// Days of 15-minute readings, from 2025-01-01.
    #[arg(long, default_value_t = 365)]
    pub days: u32,
    /// Random seed: the same seed gives a byte-identical lake.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Where to build it (default ./gridmark-demo, or --data).
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
    /// Then add a user for each role (the password is printed: a demo, not a deployment) and
    /// start the API and the dashboard.
    #[arg(long)]
    pub serve: bool,
    #[command(flatten)]
    pub server: ServeArgs,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum FormatArg {
    Auto,
    Long,
    Sgcc,
    Wide,
    LclDaily,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum UnitArg {
    Kwh,
    Wh,
    Mwh,
    Kw,
    AsIs,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum TsAt {
    Start,
    End,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Target table (see `gridmark tables`).
    pub table: String,
    /// CSV (plain or .gz), Parquet or JSON-lines files.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Layout of interval data.
    #[arg(long, value_enum, default_value_t = FormatArg::Auto)]
    pub format: FormatArg,
    /// Time zone of naive local timestamps (default: the meter's, else the lake's).
    #[arg(long)]
    pub tz: Option<String>,
    /// Reading interval when the file does not show it: seconds or 15m, 30m, 1h, 1d.
    #[arg(long)]
    pub interval: Option<String>,
    /// Whether timestamps mark the start or the end of each interval.
    #[arg(long, value_enum, default_value_t = TsAt::Start)]
    pub ts_at: TsAt,
    /// Unit of the values (kW = average power over the interval).
    #[arg(long, value_enum)]
    pub unit: Option<UnitArg>,
    /// Text put before every id (e.g. `ett.` for the columns of a wide file).
    #[arg(long, default_value = "")]
    pub id_prefix: String,
    /// Refuse the import if more than this share of rows is rejected.
    #[arg(long, default_value_t = 0.1)]
    pub max_reject_ratio: f64,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    /// Check the files and report what an import would do, without writing anything.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum OutArg {
    Table,
    Csv,
    Json,
    Parquet,
    /// Run the query and discard the result (for timing).
    None,
}

#[derive(Debug, Args)]
pub struct SqlArgs {
    /// The query (or `-` to read it from standard input).
    pub query: String,
    #[arg(long, value_enum, default_value_t = OutArg::Table)]
    pub format: OutArg,
    /// Write the result to a file instead of the terminal.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Rows shown in table format.
    #[arg(long, default_value_t = 1000)]
    pub max_rows: usize,
    /// Run the query this many times, fully materialising the result each time (benchmarks).
    #[arg(long, default_value_t = 1)]
    pub repeat: usize,
    /// Print the run times as one JSON line on standard error.
    #[arg(long)]
    pub timing: bool,
}

#[derive(Debug, Args)]
pub struct TablesArgs {
    /// Print as JSON.
    #[arg(long)]
    pub json: bool,
    /// Show every table's columns.
    #[arg(long)]
    pub schema: bool,
}

pub fn data_dir(data: Option<&Path>) -> Result<PathBuf, CliError> {
    data.map(Path::to_path_buf).ok_or_else(|| {
        usage("no lake given: pass --data DIR or set GRIDMARK_DATA (try `gridmark demo` first)")
    })
}

/// `900`, `900s`, `15m`, `1h`, `1d` → seconds.
pub fn parse_interval(text: &str) -> Result<i64, CliError> {
    parse_seconds("--interval", text)
}

/// The same, for the option or variable `flag`, which errors name.
pub fn parse_seconds(flag: &str, text: &str) -> Result<i64, CliError> {
    let t = text.trim();
    let (num, mult) = match t.char_indices().find(|(_, c)| c.is_ascii_alphabetic()) {
        Some((i, _)) => (
            &t[..i],
            match &t[i..] {
                "s" => 1,
                "m" | "min" => 60,
                "h" => 3600,
                "d" => 86_400,
                other => {
                    return Err(usage(format!(
                        "{flag} {text}: unknown unit `{other}` (use s, m, h or d)"
                    )));
                }
            },
        ),
        None => (t, 1),
    };
    match num.parse::<i64>() {
        Ok(n) if n > 0 => Ok(n * mult),
        _ => Err(usage(format!(
            "{flag} {text}: expected a positive number such as 900, 15m or 1h"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals() {
        assert_eq!(parse_interval("900").ok(), Some(900));
        assert_eq!(parse_interval("15m").ok(), Some(900));
        assert_eq!(parse_interval("1d").ok(), Some(86_400));
        assert!(parse_interval("0").is_err());
        assert!(parse_interval("5y").is_err());
    }
}
