//! The HTTP API as a client sees it, over a real socket: tokens, roles, row scope, masking,
//! clean 4xx answers to malformed, oversized, injected and unknown requests, and an OpenAPI
//! document whose every route answers.

mod common;
use common::{demo, ok};
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Stdio};

struct Server(Child, String);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(lake: &str) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_gridmark"))
        .args(["--data", lake, "serve", "--addr", "127.0.0.1:0"])
        .env_remove("GRIDMARK_DATA")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stderr.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .split("http://")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    Server(child, addr)
}

/// (status, content type, body) of one HTTP/1.1 request.
fn call(
    addr: &str,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: &[u8],
) -> (u16, String, String) {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).unwrap();
    let _ = s.write_all(body);
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw).to_string();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    let ctype = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-type:")
                .map(|v| v.trim().to_string())
        })
        .unwrap_or_default();
    (status, ctype, body.to_string())
}

fn get_json(addr: &str, path: &str, token: &str) -> serde_json::Value {
    let (status, _, body) = call(addr, "GET", path, Some(token), b"");
    assert_eq!(status, 200, "{path}: {body}");
    serde_json::from_str(&body).unwrap()
}

fn add_user(lake: &str, name: &str, role: &str, scope: &str) -> String {
    let mut args = vec!["--data", lake, "users", "add", name, "--role", role];
    if !scope.is_empty() {
        args.extend(["--scope", scope]);
    }
    let out = Command::new(env!("CARGO_BIN_EXE_gridmark"))
        .args(&args)
        .env_remove("GRIDMARK_DATA")
        .env("GRIDMARK_PASSWORD", "Xihu-meters-2025")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    ok(&["--data", lake, "users", "tokens", "issue", name])
        .trim()
        .to_string()
}

#[test]
fn roles_scopes_and_masking_through_the_api() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let l = lake.to_str().unwrap();
    demo(l, 60, 40, 9);
    let region = ok(&[
        "--data",
        l,
        "sql",
        "SELECT min(region) AS r FROM customers",
        "--format",
        "csv",
    ])
    .lines()
    .nth(1)
    .unwrap()
    .to_string();
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
        ("/api/tables/customers?format=xml", 400, "json or csv"),
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
