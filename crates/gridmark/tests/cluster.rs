//! `gridmark cluster`: an Apache DataFusion Ballista scheduler and executors as separate
//! processes on loopback. The same SQL and jobs with `--cluster` must give the embedded
//! engine's answers, and an executor killed mid-query must cost a retry or a clear error,
//! never a wrong answer.

mod common;

use common::{demo, fails, fails_env, gridmark, gridmark_env, ok, ok_env};
use serde_json::Value;
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A child process killed when the test ends, however it ends.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait_for_port(port: u16, log: &Path) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "nothing listens on {port}; log:\n{}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Starts `gridmark cluster …` with standard error in `log` (a file, so it never blocks) and
/// `env` added to the environment.
fn spawn(args: &[&str], log: &Path, env: &[(String, String)]) -> Process {
    let file = std::fs::File::create(log).unwrap();
    Process(
        Command::new(env!("CARGO_BIN_EXE_gridmark"))
            .args(args)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .env_remove("GRIDMARK_DATA")
            .env_remove("GRIDMARK_CLUSTER")
            .env("GRIDMARK_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .unwrap(),
    )
}

struct Cluster {
    address: String,
    scheduler: Process,
    executors: Vec<Process>,
    logs: std::path::PathBuf,
}

impl Cluster {
    fn start(dir: &Path, executors: usize, executor_timeout: &str) -> Self {
        Self::start_with(dir, executors, executor_timeout, &[])
    }

    /// The same, each process with `env` added to its environment.
    fn start_with(
        dir: &Path,
        executors: usize,
        executor_timeout: &str,
        env: &[(String, String)],
    ) -> Self {
        let port = free_port();
        let address = format!("127.0.0.1:{port}");
        let logs = dir.join("logs");
        std::fs::create_dir_all(&logs).unwrap();
        let scheduler_log = logs.join("scheduler.log");
        let scheduler = spawn(
            &[
                "cluster",
                "scheduler",
                "--bind",
                &address,
                "--executor-timeout",
                executor_timeout,
            ],
            &scheduler_log,
            env,
        );
        wait_for_port(port, &scheduler_log);
        let executors = (0..executors)
            .map(|i| {
                let (flight, grpc) = (free_port(), free_port());
                let work = dir.join(format!("executor-{i}"));
                std::fs::create_dir_all(&work).unwrap();
                let log = logs.join(format!("executor-{i}.log"));
                let p = spawn(
                    &[
                        "cluster",
                        "executor",
                        "--scheduler",
                        &address,
                        "--port",
                        &flight.to_string(),
                        "--grpc-port",
                        &grpc.to_string(),
                        "--tasks",
                        "2",
                        "--heartbeat",
                        "1s",
                        "--work-dir",
                        work.to_str().unwrap(),
                    ],
                    &log,
                    env,
                );
                wait_for_port(flight, &log);
                p
            })
            .collect();
        Self {
            address,
            scheduler,
            executors,
            logs,
        }
    }

    /// The JSON rows of a `gridmark --cluster … sql` run, or a failure with every log.
    fn json_rows(&self, what: &str, out: std::process::Output) -> Vec<Value> {
        assert!(
            out.status.success(),
            "{what} on the cluster: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            self.logs()
        );
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    fn logs(&self) -> String {
        let mut all = String::new();
        for e in std::fs::read_dir(&self.logs).unwrap() {
            let p = e.unwrap().path();
            all += &format!(
                "== {}\n{}\n",
                p.display(),
                std::fs::read_to_string(&p).unwrap_or_default()
            );
        }
        all
    }
}

/// The query's rows as JSON values, run embedded or on the cluster.
fn rows(lake: &str, cluster: Option<&str>, sql: &str) -> Vec<Value> {
    rows_env(lake, cluster, sql, &[])
}

/// The same with `env` added to the environment.
fn rows_env(lake: &str, cluster: Option<&str>, sql: &str, env: &[(String, String)]) -> Vec<Value> {
    let mut args = vec!["--data", lake];
    if let Some(c) = cluster {
        args.extend(["--cluster", c]);
    }
    args.extend(["sql", sql, "--format", "json"]);
    ok_env(&args, env)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Equal rows, numbers to a relative 1e-9: a cluster adds partial sums in another order.
fn assert_same(query: &str, embedded: &[Value], cluster: &[Value]) {
    assert_eq!(embedded.len(), cluster.len(), "{query}: row counts differ");
    for (i, (a, b)) in embedded.iter().zip(cluster).enumerate() {
        assert!(close(a, b), "{query}: row {i} differs:\n{a}\n{b}");
    }
}

fn close(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
            (x - y).abs() <= 1e-9 * x.abs().max(y.abs()).max(1.0)
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| close(v, w)))
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(v, w)| close(v, w))
        }
        _ => a == b,
    }
}

/// The benchmark workload's questions (bench/ami_bench.py), ordered so rows can be compared.
const QUERIES: [(&str, &str); 5] = [
    (
        "Q1 daily kWh per meter",
        "SELECT meter_id, day, sum(kwh) AS kwh FROM readings_local GROUP BY meter_id, day ORDER BY meter_id, day",
    ),
    (
        "Q2 monthly ROLLUP by region and tariff",
        "SELECT to_char(m, '%Y-%m') AS month, region, tariff, kwh FROM (
           SELECT date_trunc('month', r.local_ts) AS m, d.region, d.tariff, sum(r.kwh) AS kwh
           FROM readings_local r JOIN meter_dims d ON r.meter_id = d.meter_id
           GROUP BY m, ROLLUP (d.region, d.tariff))
         ORDER BY month, region NULLS FIRST, tariff NULLS FIRST",
    ),
    (
        "Q3 per-meter statistics",
        "SELECT meter_id, avg(kwh) AS mean_kwh, stddev_samp(kwh) AS std_kwh, max(kwh) AS max_kwh,
                count(*) FILTER (WHERE kwh = 0) AS zero_readings
         FROM readings GROUP BY meter_id ORDER BY meter_id",
    ),
    (
        "Q4 area daily line loss",
        "SELECT area_id, day, supply_kwh, billed_kwh, loss_kwh, loss_ratio FROM area_daily_loss ORDER BY area_id, day",
    ),
    (
        "customers per region and an empty table",
        "SELECT c.region, count(*) AS customers, (SELECT count(*) FROM forecasts) AS forecasts
         FROM customers c GROUP BY c.region ORDER BY c.region",
    ),
];

#[test]
fn sql_and_jobs_on_a_scheduler_and_two_executors_match_the_embedded_engine() {
    let tmp = tempfile::tempdir().unwrap();
    let lake = tmp.path().join("lake");
    let d = lake.to_str().unwrap();
    demo(d, 120, 21, 7);
    let cluster = Cluster::start(tmp.path(), 2, "10s");
    let c = cluster.address.as_str();

    for (name, sql) in QUERIES {
        let embedded = rows(d, None, sql);
        assert!(!embedded.is_empty(), "{name}: no rows");
        let out = gridmark(&["--data", d, "--cluster", c, "sql", sql, "--format", "json"]);
        assert_same(name, &embedded, &cluster.json_rows(name, out));
    }

    // A job reads through the same sessions: line loss per area and month.
    let job = |cluster: Option<&str>| -> String {
        let out = tmp
            .path()
            .join(format!("lineloss-{}.csv", cluster.is_some()));
        let mut args = vec!["--data", d];
        if let Some(c) = cluster {
            args.extend(["--cluster", c]);
        }
        args.extend([
            "lineloss",
            "--period",
            "month",
            "--out",
            out.to_str().unwrap(),
        ]);
        ok(&args);
        std::fs::read_to_string(out).unwrap()
    };
    let (embedded, distributed) = (job(None), job(Some(c)));
    assert!(embedded.lines().count() > 2, "{embedded}");
    for (a, b) in embedded.lines().zip(distributed.lines()) {
        let (fa, fb): (Vec<&str>, Vec<&str>) = (a.split(',').collect(), b.split(',').collect());
        assert_eq!(fa.len(), fb.len(), "{a}\n{b}");
        for (x, y) in fa.iter().zip(&fb) {
            match (x.parse::<f64>(), y.parse::<f64>()) {
                (Ok(x), Ok(y)) => assert!((x - y).abs() <= 1e-9 * x.abs().max(1.0), "{a}\n{b}"),
                _ => assert_eq!(x, y, "{a}\n{b}"),
            }
        }
    }
    assert_eq!(embedded.lines().count(), distributed.lines().count());

    // The theft features (daily energy, shape, drops, area loss) read through the same
    // sessions: every meter's score and evidence must match, whatever order ties fall in.
    let theft = |cluster: Option<&str>| -> std::collections::BTreeMap<String, Value> {
        let mut args = vec!["--data", d];
        if let Some(c) = cluster {
            args.extend(["--cluster", c]);
        }
        args.extend(["theft", "score", "--top", "100000", "--json"]);
        let report: Value = serde_json::from_str(&ok(&args)).unwrap();
        report["suspects"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                let mut s = s.clone();
                s.as_object_mut().unwrap().remove("rank");
                (s["meter_id"].as_str().unwrap().to_string(), s)
            })
            .collect()
    };
    let (embedded, distributed) = (theft(None), theft(Some(c)));
    assert_eq!(embedded.len(), 120);
    assert_eq!(
        embedded.keys().collect::<Vec<_>>(),
        distributed.keys().collect::<Vec<_>>()
    );
    for (meter, e) in &embedded {
        assert!(
            close(e, &distributed[meter]),
            "theft {meter}:\n{e}\n{}",
            distributed[meter]
        );
    }

    // Files each in meter order but holding different meters, the later-imported ones the
    // lower: ORDER BY must still hold after Ballista's shuffles (it did not while the lake's
    // sort order was declared to the cluster's planner).
    let split = tmp.path().join("split");
    let s = split.to_str().unwrap();
    for (i, part) in ["meter_id >= 'M0000060'", "meter_id < 'M0000060'"]
        .iter()
        .enumerate()
    {
        let csv = ok(&[
            "--data",
            d,
            "sql",
            &format!(
                "SELECT meter_id, to_char(ts, '%Y-%m-%dT%H:%M:%SZ') AS ts, kwh FROM readings
                 WHERE {part} ORDER BY meter_id, ts"
            ),
            "--format",
            "csv",
        ]);
        let file = tmp.path().join(format!("part-{i}.csv"));
        std::fs::write(&file, csv).unwrap();
        ok(&[
            "--data",
            s,
            "import",
            "readings",
            file.to_str().unwrap(),
            "--interval",
            "900",
        ]);
    }
    let ordered = "SELECT * FROM (SELECT meter_id, count(*) AS n, avg(kwh) AS mean_kwh
                   FROM readings GROUP BY meter_id) ORDER BY meter_id";
    let embedded = rows(s, None, ordered);
    assert!(embedded.len() > 100, "{} meters", embedded.len());
    assert_same(
        "ORDER BY over files of different meters",
        &embedded,
        &rows(s, Some(c), ordered),
    );
    drop(cluster.executors);
    drop(cluster.scheduler);
}

#[test]
fn an_executor_killed_mid_query_costs_a_retry_or_a_clear_error_never_a_wrong_answer() {
    let tmp = tempfile::tempdir().unwrap();
    let lake = tmp.path().join("lake");
    let d = lake.to_str().unwrap();
    demo(d, 150, 28, 11);
    let mut cluster = Cluster::start(tmp.path(), 2, "3s");
    let c = cluster.address.clone();
    // Pairs of readings of the same meter and week: heavy enough (about 4 s embedded) to be
    // running when the executor dies, with an answer the embedded engine can check.
    let sql = "SELECT a.meter_id, count(*) AS pairs, sum(a.kwh * b.kwh) AS cross_kwh
               FROM readings_local a JOIN readings_local b
                 ON a.meter_id = b.meter_id AND date_trunc('week', a.day) = date_trunc('week', b.day)
                    AND a.ts <= b.ts
               GROUP BY a.meter_id ORDER BY a.meter_id";
    let expected = rows(d, None, sql);

    let mut query = Command::new(env!("CARGO_BIN_EXE_gridmark"))
        .args(["--data", d, "--cluster", &c, "sql", sql, "--format", "json"])
        .env_remove("GRIDMARK_DATA")
        .env("GRIDMARK_QUERY_TIMEOUT", "30s")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    assert!(
        query.try_wait().unwrap().is_none(),
        "the query ended before the executor was killed: the test proves nothing"
    );
    let mut victim = cluster.executors.remove(0);
    victim.0.kill().unwrap();
    victim.0.wait().unwrap();
    // A lost executor must not hang the query: it has 30 s, the test waits two minutes.
    let deadline = Instant::now() + Duration::from_secs(120);
    while query.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = query.kill();
            panic!(
                "the query hung after an executor was lost\n{}",
                cluster.logs()
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let out = query.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    if out.status.success() {
        let got: Vec<Value> = String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_same("after a lost executor", &expected, &got);
        eprintln!("the query survived the lost executor");
    } else {
        assert!(
            stderr.starts_with("error: "),
            "a failed query must say why: {stderr}\n{}",
            cluster.logs()
        );
        eprintln!("the query failed cleanly: {stderr}");
    }
    // Not checked: that the survivor answers a next query. Ballista 55 (push scheduling) leaks
    // the task slots of a rolled-back stage, so after a failed recovery the next query waits
    // too; Ballista's pull scheduling, which does not leak them, gave wrong answers here
    // (docs/scale-out.md, Failures).
}

#[test]
fn cluster_flags_are_checked_before_anything_runs() {
    let err = fails(&[
        "--data",
        "/nonexistent",
        "--cluster",
        "nowhere",
        "sql",
        "SELECT 1",
    ]);
    assert!(
        err.contains("--cluster \"nowhere\"") && err.contains("HOST:PORT"),
        "{err}"
    );
    let err = fails(&["cluster", "scheduler", "--bind", "localhost"]);
    assert!(err.contains("--bind") && err.contains("IP:PORT"), "{err}");
    let err = fails(&["cluster", "scheduler", "--executor-timeout", "5y"]);
    assert!(err.contains("--executor-timeout"), "{err}");
    let err = fails(&[
        "cluster",
        "executor",
        "--scheduler",
        "x",
        "--heartbeat",
        "5y",
    ]);
    assert!(err.contains("--heartbeat"), "{err}");
    let err = fails(&[
        "cluster",
        "executor",
        "--scheduler",
        "no-port",
        "--port",
        "0",
    ]);
    assert!(
        err.contains("--scheduler") && err.contains("HOST:PORT"),
        "{err}"
    );
    // No scheduler at that address: a clear error, not a hang.
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("lake");
    demo(d.to_str().unwrap(), 10, 2, 1);
    let port = free_port().to_string();
    let err = fails(&[
        "--data",
        d.to_str().unwrap(),
        "--cluster",
        &format!("127.0.0.1:{port}"),
        "sql",
        "SELECT count(*) FROM readings",
    ]);
    assert!(err.starts_with("error: "), "{err}");
}

/// DuckDB reads the lake through `gridmark external --engine duckdb`, after a compaction has
/// left replaced files beside the live ones. Needs a Python with the duckdb package, named by
/// GRIDMARK_TEST_PYTHON (`.ci/run` makes one); without it the test says so and passes.
#[test]
fn duckdb_reads_the_lake_through_the_exported_views() {
    let Some(python) = std::env::var_os("GRIDMARK_TEST_PYTHON") else {
        eprintln!("skipped: set GRIDMARK_TEST_PYTHON to a Python with duckdb (see .ci/run)");
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let lake = tmp.path().join("lake");
    let d = lake.to_str().unwrap();
    demo(d, 60, 10, 3);
    // One more reading per meter in a second file, then a compaction: the folder still holds
    // the files it replaced (recent snapshots list them), which a glob would count twice.
    import_one_more_reading_per_meter(d, tmp.path());
    ok(&["--data", d, "compact"]);
    let listed: Value =
        serde_json::from_str(&ok(&["--data", d, "external", "--engine", "files"])).unwrap();
    let live: usize = listed["tables"]
        .as_object()
        .unwrap()
        .values()
        .map(|t| t["files"].as_array().unwrap().len())
        .sum();
    let on_disk = count_parquet(&lake.join("tables"));
    assert!(on_disk > live, "{on_disk} files on disk, {live} live");
    let script = tmp.path().join("views.sql");
    ok(&[
        "--data",
        d,
        "external",
        "--engine",
        "duckdb",
        "--out",
        script.to_str().unwrap(),
    ]);
    let questions = [
        "SELECT count(*) AS n, round(sum(kwh), 6) AS kwh FROM readings",
        "SELECT count(*) AS n FROM customers",
        "SELECT count(DISTINCT meter_id) AS n FROM meters",
    ];
    let program = format!(
        "import duckdb, json, sys\n\
         con = duckdb.connect()\n\
         con.execute(open(sys.argv[1]).read())\n\
         for q in {questions:?}:\n    \
             print(json.dumps([float(v) for v in con.execute(q).fetchall()[0]]))\n"
    );
    let out = Command::new(python)
        .args(["-c", &program, script.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "duckdb: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let duck: Vec<Vec<f64>> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    for (q, from_duckdb) in questions.iter().zip(&duck) {
        let mine: Vec<f64> = rows(d, None, q)[0]
            .as_object()
            .unwrap()
            .values()
            .map(|v| v.as_f64().unwrap())
            .collect();
        assert_eq!(mine.len(), from_duckdb.len(), "{q}");
        for (a, b) in mine.iter().zip(from_duckdb) {
            assert!(
                (a - b).abs() <= 1e-6 * a.abs().max(1.0),
                "{q}: {mine:?} vs {from_duckdb:?}"
            );
        }
    }
    assert!(duck[0][0] > 0.0);
}

/// A second commit: one more 15-minute reading (0.25 kWh) after each meter's last, imported
/// from a CSV file written in `dir`.
fn import_one_more_reading_per_meter(lake: &str, dir: &Path) {
    let next = ok(&[
        "--data",
        lake,
        "sql",
        "SELECT meter_id, to_char(max(ts) + INTERVAL '15 minutes', '%Y-%m-%dT%H:%M:%SZ') AS ts, 0.25 AS kwh
         FROM readings GROUP BY meter_id ORDER BY meter_id",
        "--format",
        "csv",
    ]);
    let extra = dir.join("extra.csv");
    std::fs::write(&extra, next).unwrap();
    ok(&[
        "--data",
        lake,
        "import",
        "readings",
        extra.to_str().unwrap(),
        "--interval",
        "900",
    ]);
}

fn count_parquet(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| {
            if p.is_dir() {
                count_parquet(&p)
            } else {
                usize::from(p.extension().is_some_and(|x| x == "parquet"))
            }
        })
        .sum()
}

/// An S3-compatible service on loopback: moto's server, from the Python that
/// GRIDMARK_TEST_PYTHON names (`.ci/run` installs it), with one empty bucket.
struct ObjectStorage {
    _server: Process,
    port: u16,
    /// What gridmark needs to reach it, as a user would set it.
    env: Vec<(String, String)>,
}

impl ObjectStorage {
    fn start(dir: &Path, bucket: &str) -> Option<Self> {
        let python = std::path::PathBuf::from(std::env::var_os("GRIDMARK_TEST_PYTHON")?);
        let server = python.with_file_name("moto_server");
        if !server.exists() {
            eprintln!(
                "skipped: {} is missing (pip install 'moto[server]')",
                server.display()
            );
            return None;
        }
        let port = free_port();
        let log = dir.join("moto.log");
        let child = Command::new(&server)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let storage = Self {
            _server: Process(child),
            port,
            env: [
                ("AWS_ACCESS_KEY_ID", "gridmark-test"),
                ("AWS_SECRET_ACCESS_KEY", "gridmark-test"),
                ("AWS_REGION", "us-east-1"),
                ("AWS_ENDPOINT", &format!("http://127.0.0.1:{port}")),
                ("AWS_ALLOW_HTTP", "true"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        };
        wait_for_port(port, &log);
        assert!(
            storage
                .put(&format!("/{bucket}"), b"")
                .starts_with("HTTP/1.1 200")
        );
        Some(storage)
    }

    /// A raw, unsigned PUT (moto does not check signatures): a bucket, or a hostile object.
    fn put(&self, path: &str, body: &[u8]) -> String {
        use std::io::{Read, Write};
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        write!(
            s,
            "PUT {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            self.port,
            body.len()
        )
        .unwrap();
        s.write_all(body).unwrap();
        let mut answer = String::new();
        s.read_to_string(&mut answer).unwrap();
        answer
    }

    /// A clean failure that starts with `error: `, with this storage's environment.
    fn fails(&self, args: &[&str]) -> String {
        let err = fails_env(args, &self.env);
        assert!(err.starts_with("error: "), "{err}");
        err
    }
}

#[test]
fn a_lake_published_to_object_storage_answers_as_the_folder_does_embedded_and_on_the_cluster() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(s3) = ObjectStorage::start(tmp.path(), "gridmark-test") else {
        eprintln!("skipped: set GRIDMARK_TEST_PYTHON to a Python with moto[server] (see .ci/run)");
        return;
    };
    let lake = tmp.path().join("lake");
    let d = lake.to_str().unwrap();
    demo(d, 80, 14, 11);
    let remote = "s3://gridmark-test/province/east";

    let err = s3.fails(&["--data", remote, "sql", "SELECT 1"]);
    assert!(
        err.contains("not a gridmark lake") && err.contains(remote),
        "{err}"
    );

    let first: Value = serde_json::from_str(&ok_env(
        &["--data", d, "publish", remote, "--json"],
        &s3.env,
    ))
    .unwrap();
    let live: usize =
        serde_json::from_str::<Value>(&ok(&["--data", d, "external", "--engine", "files"]))
            .unwrap()["tables"]
            .as_object()
            .unwrap()
            .values()
            .map(|t| t["files"].as_array().unwrap().len())
            .sum();
    assert_eq!(first["uploaded_files"], live);
    assert_eq!(first["committed"], true);
    let again: Value = serde_json::from_str(&ok_env(
        &["--data", d, "publish", remote, "--json"],
        &s3.env,
    ))
    .unwrap();
    assert_eq!(again["uploaded_files"], 0);
    assert_eq!(again["skipped_files"], live);
    assert_eq!(again["committed"], false);

    for (name, sql) in QUERIES {
        let local = rows(d, None, sql);
        assert!(!local.is_empty(), "{name}: no rows");
        assert_same(name, &local, &rows_env(remote, None, sql, &s3.env));
    }
    // An export from the read-only copy works and says it is not on a ledger.
    let csv = tmp.path().join("count.csv");
    let out = gridmark_env(
        &[
            "--data",
            remote,
            "sql",
            "SELECT count(*) AS n FROM readings",
            "--out",
            csv.to_str().unwrap(),
        ],
        &s3.env,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not on a ledger"));
    assert!(std::fs::read_to_string(&csv).unwrap().starts_with("n\n"));
    assert!(
        !Path::new("s3:").exists(),
        "a local folder named after the URL"
    );
    let tables: Value =
        serde_json::from_str(&ok_env(&["--data", remote, "tables", "--json"], &s3.env)).unwrap();
    assert_eq!(tables["lake"], remote);
    assert_eq!(tables["version"], first["version"]);

    // A new local commit publishes only its own files, and readers move to it.
    import_one_more_reading_per_meter(d, tmp.path());
    let third: Value = serde_json::from_str(&ok_env(
        &["--data", d, "publish", remote, "--json"],
        &s3.env,
    ))
    .unwrap();
    assert!(
        third["version"].as_u64() > first["version"].as_u64(),
        "{third}"
    );
    assert!(
        third["uploaded_files"].as_u64().unwrap() < live as u64,
        "{third}"
    );
    let q3 = QUERIES[2].1;
    assert_same(
        "after a new commit",
        &rows(d, None, q3),
        &rows_env(remote, None, q3, &s3.env),
    );

    // The cluster reads the bucket with the AWS_* environment of its own processes.
    let cluster = Cluster::start_with(tmp.path(), 2, "10s", &s3.env);
    for (name, sql) in QUERIES {
        let out = gridmark_env(
            &[
                "--data",
                remote,
                "--cluster",
                &cluster.address,
                "sql",
                sql,
                "--format",
                "json",
            ],
            &s3.env,
        );
        assert_same(name, &rows(d, None, sql), &cluster.json_rows(name, out));
    }
    drop(cluster);

    // Writes, other lakes' histories, bad locations and damaged metadata are refused by name.
    let err = s3.fails(&["--data", remote, "import", "readings", "x.csv"]);
    assert!(err.contains("`import` needs a lake folder"), "{err}");
    let other = tmp.path().join("other");
    demo(other.to_str().unwrap(), 20, 3, 5);
    let err = s3.fails(&["--data", other.to_str().unwrap(), "publish", remote]);
    assert!(
        err.contains(remote) && (err.contains("diverged") || err.contains("ahead")),
        "{err}"
    );
    let err = s3.fails(&["--data", "gs://bucket/lake", "sql", "SELECT 1"]);
    assert!(err.contains("gs:// is not supported"), "{err}");
    let err = s3.fails(&["--data", d, "publish", "s3://No_Such/x"]);
    assert!(err.contains("not a bucket name"), "{err}");
    let answer = s3.put(
        "/gridmark-test/province/east/_commits/00000000000000009999.json",
        b"{\"version\": 9999, \"tables\": ",
    );
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let err = s3.fails(&["--data", remote, "sql", "SELECT 1"]);
    assert!(
        err.contains("corrupt lake metadata") && err.contains("00000000000000009999.json"),
        "{err}"
    );
}
