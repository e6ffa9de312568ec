//! The HTTP API as a client sees it, over a real socket: tokens, roles, row scope, masking,
//! clean 4xx answers to malformed, oversized, injected and unknown requests, and an OpenAPI
//! document whose every route answers.

mod common;
use common::http::{Answer, add_user, call, get_json, request, start, start_with};
use common::{demo, fails, first_region, ok};

#[test]
fn roles_scopes_and_masking_through_the_api() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let l = lake.to_str().unwrap();
    demo(l, 60, 40, 9);
    let region = first_region(l);
    let analyst = add_user(l, "wang.fang", "marketing_analyst", "");
    let inspector = add_user(l, "li.wei", "metering_inspector", &region);
    let srv = start(l);
    let a = srv.1.as_str();

    assert_eq!(call(a, "GET", "/api/health", None, b"").0, 200);
    // Every route of the document answers (not the fallback).
    let doc = serde_json::from_str::<serde_json::Value>(
        &call(a, "GET", "/api/openapi.json", None, b"").2,
    )
    .unwrap();
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for method in ops.as_object().unwrap().keys() {
            let p = path
                .replace("{name}", "customers")
                .replace("{id}", "A-000001");
            let (status, _, body) = call(a, &method.to_uppercase(), &p, Some(&analyst), b"{}");
            assert!(
                !body.contains("no such endpoint"),
                "{method} {p}: {status} {body}"
            );
        }
    }

    // No token, a bad token, a role that may not.
    assert_eq!(call(a, "GET", "/api/me", None, b"").0, 401);
    assert_eq!(call(a, "GET", "/api/me", Some("gmk_abc_def"), b"").0, 401);
    let (status, _, body) = call(a, "GET", "/api/audit/verify", Some(&analyst), b"");
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("may not read_audit"));

    // The analyst sees every customer, with personal fields masked.
    let all = get_json(a, "/api/tables/customers?limit=1000", &analyst);
    assert_eq!(all["rows"].as_array().unwrap().len(), 60);
    assert_eq!(all["masked"], true);
    assert!(
        all["rows"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["phone"].as_str().unwrap().contains("****"))
    );
    // The inspector sees only their region, in clear, and the readings of its meters only.
    let mine = get_json(a, "/api/tables/customers?limit=1000", &inspector);
    let rows = mine["rows"].as_array().unwrap();
    assert!(!rows.is_empty() && rows.len() < 60);
    assert!(
        rows.iter()
            .all(|r| r["region"] == region.as_str() && !r["phone"].as_str().unwrap().contains('*'))
    );
    let reads = get_json(a, "/api/tables/readings?limit=500", &inspector);
    let theirs: std::collections::BTreeSet<String> = ok(&[
        "--data",
        l,
        "sql",
        &format!(
            "SELECT meter_id FROM meter_dims WHERE region = '{region}' OR area_id = '{region}'"
        ),
        "--format",
        "csv",
    ])
    .lines()
    .skip(1)
    .map(str::to_string)
    .collect();
    assert!(
        reads["rows"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| theirs.contains(r["meter_id"].as_str().unwrap()))
    );
    // Inspectors may not read service data nor download.
    assert_eq!(
        call(a, "GET", "/api/tables/work_orders", Some(&inspector), b"").0,
        403
    );
    assert_eq!(
        call(
            a,
            "GET",
            "/api/tables/meters?format=csv",
            Some(&inspector),
            b""
        )
        .0,
        403
    );
    let (status, ctype, csv) = call(
        a,
        "GET",
        "/api/tables/bills?format=csv&limit=10",
        Some(&analyst),
        b"",
    );
    assert_eq!((status, ctype.as_str()), (200, "text/csv; charset=utf-8"));
    assert_eq!(csv.lines().count(), 11);

    // Hostile and malformed requests get clean 4xx answers.
    let injected = get_json(
        a,
        "/api/tables/customers?region=x%27%20OR%20%271%27=%271",
        &analyst,
    );
    assert!(injected["rows"].as_array().unwrap().is_empty());
    for (path, want, says) in [
        ("/api/tables/customers?colour=red", 400, "no such column"),
        ("/api/tables/customers?limit=abc", 400, "whole number"),
        ("/api/tables/customers?limit=0", 400, "limit=0"),
        (
            "/api/tables/customers?format=xml",
            400,
            "json, csv or parquet",
        ),
        ("/api/tables/passwords", 404, "no table"),
        ("/api/nothing", 404, "no such endpoint"),
    ] {
        let (status, _, body) = call(a, "GET", path, Some(&analyst), b"");
        assert_eq!(status, want, "{path}: {body}");
        assert!(body.contains(says), "{path}: {body}");
    }
    assert_eq!(call(a, "POST", "/api/login", None, b"{not json").0, 400);
    assert_eq!(
        call(a, "POST", "/api/login", None, &vec![b' '; 2 << 20]).0,
        413
    );
    let bad = serde_json::json!({"user": "li.wei", "password": "wrong password!"}).to_string();
    assert_eq!(call(a, "POST", "/api/login", None, bad.as_bytes()).0, 401);
    let good = serde_json::json!({"user": "li.wei", "password": "Xihu-meters-2025"}).to_string();
    let (status, _, body) = call(a, "POST", "/api/login", None, good.as_bytes());
    assert_eq!(status, 200, "{body}");
    let token = serde_json::from_str::<serde_json::Value>(&body).unwrap()["token"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(get_json(a, "/api/me", &token)["role"], "metering_inspector");
    drop(srv);
    // The login and the API download are on the ledger.
    let log = ok(&["--data", l, "audit", "log", "--last", "50"]);
    assert!(
        log.contains(" login ") && log.contains("export") && log.contains("bills"),
        "{log}"
    );
    ok(&["--data", l, "audit", "verify"]);
}

#[test]
fn brute_force_scans_floods_rate_limits_and_bulk_exports_raise_security_alerts() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let l = lake.to_str().unwrap();
    demo(l, 60, 20, 4);
    let admin = add_user(l, "admin.zhao", "admin", "");
    let auditor = add_user(l, "audit.qian", "auditor", "");
    add_user(l, "li.wei", "metering_inspector", "");
    let srv = start_with(l, &["--lockout-after", "3", "--personal-rows", "40"]);
    let a = srv.1.as_str();

    // Three wrong passwords lock the account; the right one is then refused too, with a wait.
    let bad = serde_json::json!({"user": "li.wei", "password": "guess-guess-1"}).to_string();
    for _ in 0..3 {
        assert_eq!(call(a, "POST", "/api/login", None, bad.as_bytes()).0, 401);
    }
    let good = serde_json::json!({"user": "li.wei", "password": "Xihu-meters-2025"}).to_string();
    let locked = request(a, "POST", "/api/login", None, &[], good.as_bytes());
    assert_eq!(locked.status, 429, "{}", locked.text());
    assert!(locked.text().contains("too many failed logins"));
    assert!(
        locked
            .header("retry-after")
            .unwrap()
            .parse::<u64>()
            .unwrap()
            > 800
    );

    // A scanner probing paths that do not exist or that it may not see.
    for p in [
        "/admin",
        "/.env",
        "/.git/config",
        "/wp-login.php",
        "/phpmyadmin",
        "/api/v1/users",
        "/api/debug",
        "/api/tables/users",
        "/server-status",
        "/api/config",
        "/backup.sql",
        "/api/admin",
        "/console",
        "/actuator/env",
        "/api/keys",
        "/etc/passwd",
        "/api/token",
        "/api/export",
        "/api/dump",
        "/api/secrets",
        "/api/../../etc/shadow",
    ] {
        let status = call(a, "GET", p, None, b"").0;
        assert!(matches!(status, 401 | 404), "{p}: {status}");
    }
    // An admin pulling the customer archive in clear, page after page.
    for offset in [0, 50] {
        let r = get_json(
            a,
            &format!("/api/tables/customers?limit=50&offset={offset}"),
            &admin,
        );
        assert_eq!(r["masked"], false);
    }
    // Alerts are written off the request path: give them a moment.
    let mut kinds = std::collections::BTreeSet::new();
    for _ in 0..50 {
        let alerts = get_json(a, "/api/security/alerts", &auditor);
        kinds = alerts
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["kind"].as_str().unwrap().to_string())
            .collect();
        if kinds.len() == 3 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(
        kinds.into_iter().collect::<Vec<_>>(),
        ["brute_force", "bulk_personal_export", "scan"]
    );
    let alerts = get_json(a, "/api/security/alerts", &auditor);
    let scan = alerts
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["kind"] == "scan")
        .unwrap();
    assert_eq!(scan["subject"], "127.0.0.1");
    assert!(scan["evidence"]["paths"].as_array().unwrap().len() >= 20);
    // Analysts may not see security alerts.
    let analyst = add_user(l, "wang.fang", "marketing_analyst", "");
    assert_eq!(
        call(a, "GET", "/api/security/alerts", Some(&analyst), b"").0,
        403
    );
    drop(srv);
    let log = ok(&["--data", l, "audit", "log", "--last", "100"]);
    assert!(log.matches("security_alert").count() >= 3, "{log}");

    // A tight rate limit: a burst beyond it gets 429 with Retry-After; a flood is raised.
    let srv = start_with(l, &["--rate-limit", "5", "--flood-requests", "60"]);
    let a = srv.1.as_str();
    let answers: Vec<Answer> = (0..80)
        .map(|_| request(a, "GET", "/api/me", Some(&admin), &[], b""))
        .collect();
    let limited: Vec<&Answer> = answers.iter().filter(|x| x.status == 429).collect();
    assert!(limited.len() >= 50, "{} of 80 refused", limited.len());
    assert!(
        answers[..20].iter().all(|x| x.status == 200),
        "the burst of 20 passes"
    );
    assert!(limited[0].header("retry-after").is_some());
    std::thread::sleep(std::time::Duration::from_millis(1500));
    assert_eq!(
        call(a, "GET", "/api/me", Some(&admin), b"").0,
        200,
        "refilled"
    );
    let mut flood = false;
    for _ in 0..50 {
        let sec = std::fs::read_to_string(lake.join("_security/alerts.jsonl")).unwrap();
        flood = sec.contains("\"flood\"");
        if flood {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(flood, "{}", srv.2.lock().unwrap());
}

#[test]
fn ingest_takes_csv_json_and_arrow_and_downloads_come_as_parquet() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let l = lake.to_str().unwrap();
    demo(l, 30, 10, 5);
    let admin = add_user(l, "admin.zhao", "admin", "");
    let analyst = add_user(l, "wang.fang", "marketing_analyst", "");
    let srv = start(l);
    let a = srv.1.as_str();
    let holidays = |addr: &str| {
        get_json(addr, "/api/tables/holidays?limit=1000", &admin)["rows"]
            .as_array()
            .unwrap()
            .len()
    };
    let before = holidays(a);
    let csv_head = [("Content-Type", "text/csv")];

    // Only a role that may write can ingest.
    let denied = request(
        a,
        "POST",
        "/api/ingest/holidays",
        Some(&analyst),
        &csv_head,
        b"day,name,kind\n2031-01-01,x,holiday\n",
    );
    assert_eq!(denied.status, 403, "{}", denied.text());

    // CSV, with a bad row named by its line and field; the rest is committed.
    let csv = "day,name,kind\n2031-01-01,New Year,holiday\n2031-13-40,Nonsense,holiday\n2031-05-01,Labour Day,holiday\n";
    let refused = request(
        a,
        "POST",
        "/api/ingest/holidays",
        Some(&admin),
        &csv_head,
        csv.as_bytes(),
    );
    assert_eq!(refused.status, 422, "{}", refused.text());
    assert!(
        refused
            .text()
            .contains("body:3: field `day`: `2031-13-40` is not a date")
            && !refused.text().contains("_incoming"),
        "{}",
        refused.text()
    );
    assert_eq!(holidays(a), before);
    let r = request(
        a,
        "POST",
        "/api/ingest/holidays?max_reject_ratio=0.5",
        Some(&admin),
        &csv_head,
        csv.as_bytes(),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let report: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(report["committed"], true, "{report}");
    let text = report.to_string();
    assert!(
        text.contains("2031-13-40") || text.contains("line 3"),
        "{text}"
    );
    assert_eq!(holidays(a), before + 2);

    // JSON: an array of objects; dry_run commits nothing.
    let rows =
        serde_json::json!([{"day": "2031-10-01", "name": "National Day", "kind": "holiday"}]);
    let dry = request(
        a,
        "POST",
        "/api/ingest/holidays?dry_run=true",
        Some(&admin),
        &[],
        rows.to_string().as_bytes(),
    );
    assert_eq!(dry.status, 200, "{}", dry.text());
    assert_eq!(holidays(a), before + 2);
    let wet = request(
        a,
        "POST",
        "/api/ingest/holidays",
        Some(&admin),
        &[],
        rows.to_string().as_bytes(),
    );
    assert_eq!(wet.status, 200, "{}", wet.text());
    assert_eq!(holidays(a), before + 3);

    // Arrow IPC: the importer's own Parquet download, turned into an Arrow stream.
    use datafusion::arrow::array::{RecordBatch, StringArray};
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    let schema = std::sync::Arc::new(Schema::new(vec![
        Field::new("day", DataType::Utf8, false),
        Field::new("name", DataType::Utf8, false),
        Field::new("kind", DataType::Utf8, false),
    ]));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            std::sync::Arc::new(StringArray::from(vec!["2032-01-01", "2032-05-01"])),
            std::sync::Arc::new(StringArray::from(vec!["New Year", "Labour Day"])),
            std::sync::Arc::new(StringArray::from(vec!["holiday", "holiday"])),
        ],
    )
    .unwrap();
    let mut ipc = Vec::new();
    {
        let mut w =
            datafusion::arrow::ipc::writer::StreamWriter::try_new(&mut ipc, &schema).unwrap();
        w.write(&batch).unwrap();
        w.finish().unwrap();
    }
    let arrow_head = [("Content-Type", "application/vnd.apache.arrow.stream")];
    let r = request(
        a,
        "POST",
        "/api/ingest/holidays",
        Some(&admin),
        &arrow_head,
        &ipc,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(holidays(a), before + 5);

    // Malformed bodies get clean 4xx answers and leave nothing behind.
    for (head, body, want) in [
        (&arrow_head[..], &ipc[..ipc.len() / 2], 400),
        (&[][..], &b"[{\"day\": 1}, 7]"[..], 400),
        (
            &[("Content-Type", "application/xml")][..],
            &b"<rows/>"[..],
            415,
        ),
        (&csv_head[..], &b""[..], 400),
        (&csv_head[..], &b"colour,size\nred,big\n"[..], 422),
    ] {
        let r = request(a, "POST", "/api/ingest/holidays", Some(&admin), head, body);
        assert_eq!(r.status, want, "{}", r.text());
        assert!(r.text().contains("error"), "{}", r.text());
    }
    assert_eq!(holidays(a), before + 5);
    assert_eq!(
        std::fs::read_dir(lake.join("_incoming")).unwrap().count(),
        0,
        "uploads are removed"
    );

    // Readings: a meter's batch as JSON lines, through the same importer (units, zones,
    // deduplication); the same batch again adds nothing.
    let meter = get_json(a, "/api/tables/meters?limit=1", &admin)["rows"][0]["meter_id"]
        .as_str()
        .unwrap()
        .to_string();
    let count = |addr: &str| {
        get_json(
            addr,
            &format!("/api/tables/readings?meter_id={meter}&limit=10000"),
            &admin,
        )["rows"]
            .as_array()
            .unwrap()
            .len()
    };
    let before_readings = count(a);
    let batch: String = (0..4)
        .map(|i| format!("{{\"meter_id\": \"{meter}\", \"ts\": \"2031-06-01T00:{:02}:00+08:00\", \"kwh\": 0.25}}\n", i * 15))
        .collect();
    let jsonl = [("Content-Type", "application/x-ndjson")];
    let r = request(
        a,
        "POST",
        "/api/ingest/readings",
        Some(&admin),
        &jsonl,
        batch.as_bytes(),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(count(a), before_readings + 4);
    let again = request(
        a,
        "POST",
        "/api/ingest/readings?format=json",
        Some(&admin),
        &[],
        format!("{batch}\n").as_bytes(),
    );
    assert_eq!(again.status, 200, "{}", again.text());
    assert_eq!(count(a), before_readings + 4);

    // Parquet download, masked for the analyst, readable by any Parquet reader.
    let p = request(
        a,
        "GET",
        "/api/tables/customers?format=parquet&limit=1000",
        Some(&analyst),
        &[],
        b"",
    );
    assert_eq!(p.status, 200, "{}", p.text());
    assert_eq!(&p.body[..4], b"PAR1");
    let downloaded = dir.path().join("customers.parquet");
    std::fs::write(&downloaded, &p.body).unwrap();
    let reader =
        datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(
            std::fs::File::open(&downloaded).unwrap(),
        )
        .unwrap()
        .build()
        .unwrap();
    let mut n = 0;
    for b in reader {
        let b = b.unwrap();
        n += b.num_rows();
        let phones = b
            .column(b.schema().index_of("phone").unwrap())
            .as_any()
            .downcast_ref::<StringArray>()
            .unwrap();
        assert!(phones.iter().flatten().all(|v| v.contains("****")));
    }
    assert_eq!(n, 30);
    drop(srv);
    let log = ok(&["--data", l, "audit", "log", "--last", "30"]);
    assert!(log.matches(" import ").count() >= 4, "{log}");
    ok(&["--data", l, "audit", "verify"]);
}

#[test]
fn https_with_a_certificate_and_clear_errors_without_one() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let l = lake.to_str().unwrap();
    demo(l, 10, 5, 2);
    let admin = add_user(l, "admin.zhao", "admin", "");
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let made = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=IP:127.0.0.1,DNS:localhost",
            "-keyout",
        ])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl makes the test certificate (apt-get install openssl)");
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let srv = start_with(
        l,
        &[
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
        ],
    );
    assert!(srv.2.lock().unwrap().is_empty());
    let curl = |path: &str, extra: &[&str]| {
        let out = std::process::Command::new("curl")
            .args([
                "-sS",
                "--max-time",
                "10",
                "--cacert",
                cert.to_str().unwrap(),
            ])
            .args(extra)
            .arg(format!("https://{}{path}", srv.1))
            .output()
            .expect("curl is the HTTPS client of this test (apt-get install curl)");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).to_string(),
        )
    };
    assert_eq!(
        curl("/api/health", &[]),
        (true, "{\"status\":\"ok\"}".to_string())
    );
    let bearer = format!("Authorization: Bearer {admin}");
    let (ok_, me) = curl("/api/me", &["-H", &bearer]);
    assert!(ok_ && me.contains("\"role\":\"admin\""), "{me}");
    let (_, page) = curl("/", &[]);
    assert!(page.contains("<title>gridmark</title>"));
    // Plain HTTP to the HTTPS port gets no answer, and the server keeps serving.
    let mut s = std::net::TcpStream::connect(&srv.1).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .unwrap();
    std::io::Write::write_all(&mut s, b"GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let mut buf = Vec::new();
    let _ = std::io::Read::read_to_end(&mut s, &mut buf);
    assert!(!String::from_utf8_lossy(&buf).contains("\"ok\""));
    assert!(curl("/api/health", &[]).0);
    drop(srv);

    // A missing key, a key that is not PEM, and half the options: clear errors, no listener.
    let junk = dir.path().join("junk.pem");
    std::fs::write(&junk, "not a key").unwrap();
    for (args, says) in [
        (
            vec!["--tls-cert", cert.to_str().unwrap()],
            "both --tls-cert and --tls-key",
        ),
        (
            vec![
                "--tls-cert",
                cert.to_str().unwrap(),
                "--tls-key",
                "/nonexistent/key.pem",
            ],
            "/nonexistent/key.pem",
        ),
        (
            vec![
                "--tls-cert",
                cert.to_str().unwrap(),
                "--tls-key",
                junk.to_str().unwrap(),
            ],
            "junk.pem",
        ),
    ] {
        let mut all = vec!["--data", l, "serve", "--addr", "127.0.0.1:0"];
        all.extend(args);
        let err = fails(&all);
        assert!(err.contains(says), "{err}");
    }
}
