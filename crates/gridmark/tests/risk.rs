//! Risk early warning through the command line: rules files and their tests, alerts on a demo
//! lake checked against what the generator planted, the alert lifecycle, delivery to a real
//! HTTP listener and a local SMTP sink (with a retry after a failure), and the risk register.

mod common;
use common::{demo, fails, gridmark, json, ok};
use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

fn truth(lake: &str, kind: &str) -> Vec<Vec<String>> {
    std::fs::read_to_string(format!("{lake}/truth/anomalies.csv"))
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.split(',').map(str::to_string).collect::<Vec<_>>())
        .filter(|f| f[2] == kind)
        .collect()
}

fn subjects(findings: &serde_json::Value, rule: &str) -> BTreeSet<String> {
    findings
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == rule)
        .map(|f| f["subject"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn rules_files_are_checked_and_their_tests_run() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules.toml");
    let r = rules.to_str().unwrap();
    let out = ok(&["risk", "rules", "init", r]);
    assert!(out.contains("rules with"), "{out}");
    assert!(fails(&["risk", "rules", "init", r]).contains("not overwriting"));
    let out = ok(&["risk", "rules", "check", r]);
    assert!(
        out.contains("consumption-drop") && out.contains("valid"),
        "{out}"
    );
    let t = json(&["risk", "rules", "test", r, "--json"]);
    assert_eq!(t["failed"], 0);
    assert!(t["tests"].as_u64().unwrap() >= 25);

    // A test that contradicts its rule fails the command and is named.
    let text = std::fs::read_to_string(&rules).unwrap().replacen(
        "series = \"10x56 3x20\"\nexpect = \"alert\"",
        "series = \"10x56 3x20\"\nexpect = \"quiet\"",
        1,
    );
    let broken = dir.path().join("broken.toml");
    std::fs::write(&broken, text).unwrap();
    let out = gridmark(&["risk", "rules", "test", broken.to_str().unwrap()]);
    assert!(!out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("FAIL consumption-drop")
            && stdout.contains("a 70 % drop for three weeks alerts"),
        "{stdout}"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("1 of"));

    // Invalid files: the error names the file, the rule and the field, or the line.
    for (text, want) in [
        (
            "[[rule]]\nid = \"x\"\nindicator = \"kwh\"\nthreshold = { above = 1 }\n",
            "rule 1 (\"x\") indicator",
        ),
        (
            "[[rule]]\nid = \"x\"\nindicator = \"zero_days\"\nthreshold = { ratio_below = 0.5 }\n",
            "has no baseline",
        ),
        (
            "[[rule]]\nid = \"x\"\nindicator = \"daily_kwh\"\nthreshold = { above = 1 }\nnotify = [\"email\"]\n",
            "does not configure",
        ),
        (
            "[delivery]\nwebhook = \"https://hooks.example\"\n[[rule]]\nid = \"x\"\nindicator = \"daily_kwh\"\nthreshold = { above = 1 }\n",
            "https is not spoken",
        ),
        (
            "[[rule]]\nid = \"x\"\nindicator = \"daily_kwh\"\nthreshold = { above = 1 }\n[[rule.test]]\nseries = \"1x3 zz\"\nexpect = \"alert\"\n",
            "test 1 series",
        ),
        (
            "[[rule]]\nid = \"x\"\nindicator = \"daily_kwh\"\nthreshold = { above = 1 }\nwindoww = 3\n",
            "line 5",
        ),
        ("[[rule]\nid = 1", "syntax"),
        ("", "defines no rules"),
    ] {
        let f = dir.path().join("bad.toml");
        std::fs::write(&f, text).unwrap();
        let err = fails(&["risk", "rules", "check", f.to_str().unwrap()]);
        assert!(
            err.contains("bad.toml") && err.contains(want),
            "{want}: {err}"
        );
    }
    assert!(
        fails(&["risk", "rules", "test", "/nonexistent/rules.toml"])
            .contains("/nonexistent/rules.toml")
    );
}

#[test]
fn alerts_on_a_demo_lake_find_what_was_planted() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let l = lake.to_str().unwrap();
    demo(l, 400, 150, 3);
    let rules = dir.path().join("rules.toml");
    let r = rules.to_str().unwrap();
    ok(&["risk", "rules", "init", r]);

    let run = json(&[
        "--data",
        l,
        "risk",
        "run",
        "--rules",
        r,
        "--from",
        "2025-03-01",
        "--to",
        "2025-05-30",
        "--no-deliver",
        "--json",
    ]);
    let findings = &run["evaluation"]["findings"];
    // Every planted zero run covering three whole local days (UTC+8) in the window, and
    // nothing else.
    const DAY: i64 = 86_400_000;
    let zero_runs: BTreeSet<String> = truth(l, "zero_run")
        .into_iter()
        .filter(|t| {
            let (s, e) = (
                t[5].parse::<i64>().unwrap() + 8 * 3_600_000,
                t[6].parse::<i64>().unwrap() + 8 * 3_600_000,
            );
            t[3].as_str() >= "2025-03-01" && e.div_euclid(DAY) - (s + DAY - 1).div_euclid(DAY) >= 3
        })
        .map(|t| t[0].clone())
        .collect();
    assert!(!zero_runs.is_empty());
    assert_eq!(subjects(findings, "zero-consumption"), zero_runs);
    // The register reset (one large negative interval) is the only new export.
    let resets: BTreeSet<String> = truth(l, "register_reset")
        .into_iter()
        .map(|t| t[0].clone())
        .collect();
    assert_eq!(subjects(findings, "reverse-flow"), resets);
    // Bypass thefts that start after the baseline exists are flagged; few honest meters are.
    let drops = subjects(findings, "consumption-drop");
    let bypass: Vec<String> = truth(l, "theft_bypass")
        .into_iter()
        .map(|t| t[0].clone())
        .collect();
    let caught = bypass.iter().filter(|m| drops.contains(*m)).count();
    assert!(
        caught * 10 >= bypass.len() * 8,
        "{caught} of {bypass:?} in {drops:?}"
    );
    assert!(drops.len() <= 3 * bypass.len(), "{drops:?}");
    // Arrears alerts are on the customers planted as non-payers.
    let customers = std::fs::read_to_string(format!("{l}/truth/customers.csv")).unwrap();
    let non_payers: BTreeSet<String> = customers
        .lines()
        .filter(|x| x.contains(",non_payer,"))
        .map(|x| x.split(',').next().unwrap().to_string())
        .collect();
    let arrears = subjects(findings, "arrears-60");
    assert!(
        !arrears.is_empty() && arrears.is_subset(&non_payers),
        "{arrears:?}"
    );
    // Evidence travels with each finding.
    let f = findings
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "consumption-drop")
        .unwrap();
    assert!(f["evidence"]["baseline"].as_f64().unwrap() > 0.0);
    assert!(f["evidence"]["series"].as_array().unwrap().len() == 70);
    assert!(f["message"].as_str().unwrap().contains("baseline"));

    // One alert per rule and subject, however many days it held; a rerun adds nothing.
    let rec = &run["recorded"];
    let opened = rec["opened"].as_array().unwrap().len();
    let distinct: BTreeSet<(String, String)> = findings
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap().into(),
                f["subject"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(opened, distinct.len());
    let again = json(&[
        "--data",
        l,
        "risk",
        "run",
        "--rules",
        r,
        "--as-of",
        "2025-05-30",
        "--json",
    ]);
    assert_eq!(again["recorded"]["opened"].as_array().unwrap().len(), 0);

    // Lifecycle through the command line.
    let listed = json(&[
        "--data", l, "risk", "alerts", "list", "--status", "open", "--json",
    ]);
    let id = listed[0]["id"].as_str().unwrap().to_string();
    let out = ok(&[
        "--data",
        l,
        "risk",
        "alerts",
        "ack",
        &id,
        "--by",
        "li.wei",
        "--note",
        "crew sent",
    ]);
    assert!(out.contains("acknowledged (by li.wei)"), "{out}");
    assert!(fails(&["--data", l, "risk", "alerts", "ack", &id]).contains("only open or escalated"));
    ok(&[
        "--data",
        l,
        "risk",
        "alerts",
        "resolve",
        &id,
        "--by",
        "li.wei",
        "--note",
        "meter replaced",
    ]);
    let shown = json(&["--data", l, "risk", "alerts", "show", &id, "--json"]);
    assert_eq!(shown["status"], "resolved");
    let events: Vec<&str> = shown["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(events.first(), Some(&"opened"));
    assert!(
        events.ends_with(&["acknowledged", "resolved"]),
        "{events:?}"
    );
    assert!(
        fails(&["--data", l, "risk", "alerts", "show", "A-999999"]).contains("no alert A-999999")
    );
    assert!(
        fails(&["--data", l, "risk", "alerts", "list", "--status", "closed"])
            .contains("--status closed")
    );
    let html = dir.path().join("alerts.html");
    let csv = dir.path().join("alerts.csv");
    ok(&[
        "--data",
        l,
        "risk",
        "alerts",
        "list",
        "--html",
        html.to_str().unwrap(),
        "--out",
        csv.to_str().unwrap(),
    ]);
    assert!(
        std::fs::read_to_string(&html)
            .unwrap()
            .contains("Alerts by rule")
    );
    assert_eq!(
        std::fs::read_to_string(&csv).unwrap().lines().count(),
        opened + 1
    );

    // The register: a risk identified from recurring alerts, one by hand, assessed and treated.
    let out = ok(&[
        "--data",
        l,
        "risks",
        "from-alerts",
        "--min-alerts",
        "3",
        "--days",
        "120",
        "--by",
        "risk.office",
    ]);
    assert!(out.contains("R-001: Recurring:"), "{out}");
    let out = ok(&[
        "--data",
        l,
        "risks",
        "add",
        "--title",
        "Bypass theft in old districts",
        "--category",
        "revenue",
        "--owner",
        "zhao",
        "--likelihood",
        "4",
        "--impact",
        "4",
        "--rule",
        "consumption-drop",
    ]);
    let rid = out.split(':').next().unwrap().trim().to_string();
    assert!(out.contains("16 (high)"), "{out}");
    let out = ok(&[
        "--data",
        l,
        "risks",
        "action",
        &rid,
        "--text",
        "Inspect the flagged meters",
        "--owner",
        "zhao",
        "--due",
        "2025-06-15",
    ]);
    let action = out.split(':').next().unwrap().trim().to_string();
    ok(&["--data", l, "risks", "done", &action, "--by", "zhao"]);
    ok(&[
        "--data",
        l,
        "risks",
        "assess",
        &rid,
        "--likelihood",
        "2",
        "--impact",
        "4",
        "--residual",
    ]);
    assert!(
        fails(&[
            "--data",
            l,
            "risks",
            "assess",
            &rid,
            "--likelihood",
            "7",
            "--impact",
            "4"
        ])
        .contains("likelihood 7")
    );
    assert!(
        fails(&[
            "--data", l, "risks", "action", &rid, "--text", "x", "--due", "soon"
        ])
        .contains("--due soon")
    );
    let shown = json(&["--data", l, "risks", "show", &rid, "--json"]);
    assert_eq!(shown["residual"]["score"], 8);
    assert_eq!(shown["status"], "treating");
    assert!(shown["history"].as_array().unwrap().len() >= 6);
    let monitor = json(&["--data", l, "risks", "monitor", "--json"]);
    let m = monitor
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["risk"] == rid.as_str())
        .unwrap();
    assert!(m["live_alerts"].as_u64().unwrap() >= 1, "{m}");
    assert_eq!(m["residual_trend"].as_array().unwrap().len(), 1);
    let out = ok(&["--data", l, "risks", "list"]);
    assert!(out.contains("matrix") && out.contains(&rid), "{out}");
}

/// A one-connection-at-a-time HTTP server that answers 200 and keeps each request body.
fn http_sink(listener: TcpListener, bodies: Arc<Mutex<Vec<String>>>) {
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            let mut r = BufReader::new(s.try_clone().unwrap());
            let mut len = 0usize;
            loop {
                let mut line = String::new();
                if r.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap();
                }
            }
            let mut body = vec![0; len];
            r.read_exact(&mut body).unwrap();
            bodies
                .lock()
                .unwrap()
                .push(String::from_utf8(body).unwrap());
            let _ =
                s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        }
    });
}

/// A local SMTP sink: speaks the server side of RFC 5321 and keeps each message.
fn smtp_sink(listener: TcpListener, mails: Arc<Mutex<Vec<String>>>) {
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            let mut r = BufReader::new(s.try_clone().unwrap());
            let _ = s.write_all(b"220 sink ESMTP\r\n");
            let mut data = false;
            let mut msg = String::new();
            loop {
                let mut line = String::new();
                if r.read_line(&mut line).unwrap_or(0) == 0 {
                    break;
                }
                if data {
                    if line == ".\r\n" {
                        data = false;
                        mails.lock().unwrap().push(std::mem::take(&mut msg));
                        let _ = s.write_all(b"250 queued\r\n");
                    } else {
                        msg.push_str(&line);
                    }
                    continue;
                }
                let cmd = line.to_ascii_uppercase();
                let answer: &[u8] = if cmd.starts_with("EHLO") {
                    b"250-sink\r\n250 8BITMIME\r\n"
                } else if cmd.starts_with("DATA") {
                    data = true;
                    b"354 go ahead\r\n"
                } else if cmd.starts_with("QUIT") {
                    let _ = s.write_all(b"221 bye\r\n");
                    break;
                } else {
                    b"250 ok\r\n"
                };
                let _ = s.write_all(answer);
            }
        }
    });
}

#[test]
fn alerts_reach_a_webhook_and_a_mailbox_and_failed_deliveries_are_retried() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let l = lake.to_str().unwrap();
    demo(l, 120, 100, 7);
    // A critical bill-spike rule that escalates after a second.
    let hook = TcpListener::bind("127.0.0.1:0").unwrap();
    let hook_addr = hook.local_addr().unwrap();
    drop(hook); // nobody listens yet: the first delivery fails
    let smtp = TcpListener::bind("127.0.0.1:0").unwrap();
    let smtp_addr = smtp.local_addr().unwrap();
    let mails = Arc::new(Mutex::new(Vec::new()));
    smtp_sink(smtp, mails.clone());
    let rules = dir.path().join("rules.toml");
    std::fs::write(
        &rules,
        format!(
            "[delivery]\nwebhook = \"http://{hook_addr}/gridmark\"\nsmtp = \"{smtp_addr}\"\nmail_from = \"gridmark@utility.example\"\nmail_to = [\"duty@utility.example\"]\n\n\
             [[rule]]\nid = \"bill-spike\"\nname = \"账单异常 bill spike\"\nindicator = \"bill_kwh\"\nbaseline = 3\nthreshold = {{ ratio_above = 1.8 }}\nmin_baseline = 20\nseverity = \"critical\"\nescalate_after = \"1s\"\n"
        ),
    )
    .unwrap();
    let r = rules.to_str().unwrap();
    let first = json(&[
        "--data",
        l,
        "risk",
        "run",
        "--rules",
        r,
        "--from",
        "2025-02-01",
        "--to",
        "2025-04-10",
        "--json",
    ]);
    let opened = first["recorded"]["opened"].as_array().unwrap().len();
    assert!(opened >= 1, "{first}");
    let failures = first["recorded"]["delivery_failures"].as_array().unwrap();
    assert_eq!(failures.len(), opened, "{failures:?}");
    assert!(
        failures[0].as_str().unwrap().contains("connect"),
        "{failures:?}"
    );
    assert_eq!(mails.lock().unwrap().len(), opened);
    let mail = mails.lock().unwrap()[0].clone();
    assert!(mail.contains("Subject: =?UTF-8?B?"), "{mail}");
    assert!(
        mail.contains("To: duty@utility.example") && mail.contains("bill_kwh"),
        "{mail}"
    );

    // The receiver comes up; the next run retries, and escalates what nobody acknowledged.
    let bodies = Arc::new(Mutex::new(Vec::new()));
    http_sink(TcpListener::bind(hook_addr).unwrap(), bodies.clone());
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let second = json(&[
        "--data",
        l,
        "risk",
        "run",
        "--rules",
        r,
        "--as-of",
        "2025-04-10",
        "--json",
    ]);
    assert_eq!(
        second["recorded"]["escalated"].as_array().unwrap().len(),
        opened
    );
    assert!(
        second["recorded"]["delivery_failures"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let got = bodies.lock().unwrap().clone();
    // The opened alert (retried) and its escalation.
    assert_eq!(got.len(), 2 * opened, "{got:?}");
    let payload: serde_json::Value = serde_json::from_str(&got[0]).unwrap();
    assert_eq!(payload["rule"], "bill-spike");
    assert!(payload["evidence"]["ratio"].as_f64().unwrap() > 1.8);
    assert!(got.iter().any(|b| b.contains("\"trigger\":\"escalated\"")));
    assert_eq!(mails.lock().unwrap().len(), 2 * opened);
    // Nothing is sent twice.
    let third = json(&[
        "--data",
        l,
        "risk",
        "run",
        "--rules",
        r,
        "--as-of",
        "2025-04-10",
        "--json",
    ]);
    assert_eq!(third["recorded"]["delivered"], 0);
    assert_eq!(bodies.lock().unwrap().len(), 2 * opened);

    // On a schedule: two runs a second apart, each reported.
    let out = gridmark(&[
        "--data", l, "risk", "watch", "--rules", r, "--every", "1s", "--runs", "2",
    ]);
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("run 1 on 2025-04-10") && err.contains("run 2 on"),
        "{err}"
    );
    assert!(
        fails(&[
            "--data", l, "risk", "watch", "--rules", r, "--every", "soon"
        ])
        .contains("soon")
    );
}
