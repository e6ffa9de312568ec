//! The tamper-evident ledger through the command line: commands that change or export data
//! append entries; `audit verify` proves the log intact or names the first broken entry; an
//! inclusion proof checks on its own and fails against another root.

mod common;
use common::{demo, fails, json, ok};

#[test]
fn changes_and_exports_are_on_the_ledger_and_tampering_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let l = lake.to_str().unwrap();
    demo(l, 60, 90, 4);
    let file = dir.path().join("extra.csv");
    std::fs::write(
        &file,
        "meter_id,ts,kwh\nX1,2025-04-01T00:00:00Z,1.5\nX1,2025-04-01T00:15:00Z,1.25\n",
    )
    .unwrap();
    ok(&["--data", l, "import", "readings", file.to_str().unwrap()]);
    let export = dir.path().join("bills.csv");
    ok(&[
        "--data",
        l,
        "sql",
        "SELECT * FROM bills",
        "--format",
        "csv",
        "--out",
        export.to_str().unwrap(),
    ]);
    let rules = dir.path().join("rules.toml");
    ok(&["risk", "rules", "init", rules.to_str().unwrap()]);
    ok(&[
        "--data",
        l,
        "risk",
        "run",
        "--rules",
        rules.to_str().unwrap(),
        "--from",
        "2025-03-20",
        "--to",
        "2025-03-31",
    ]);
    let alerts = json(&["--data", l, "risk", "alerts", "list", "--json"]);
    let id = alerts[0]["id"].as_str().unwrap().to_string();
    ok(&["--data", l, "risk", "alerts", "ack", &id, "--by", "li.wei"]);
    ok(&[
        "--data",
        l,
        "risks",
        "add",
        "--title",
        "Arrears in the north",
        "--likelihood",
        "3",
        "--impact",
        "4",
        "--by",
        "zhao",
    ]);

    let log = json(&["--data", l, "audit", "log", "--json"]);
    let actions: Vec<&str> = log
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "import",
            "export",
            "risk_alerts",
            "alert_acknowledged",
            "risk_identified",
            "risk_assessed"
        ],
        "{log}"
    );
    assert_eq!(log[0]["details"]["accepted"], 2);
    assert_eq!(log[3]["actor"], "li.wei");
    assert_eq!(log[4]["actor"], "zhao");
    let out = ok(&["--data", l, "audit", "verify"]);
    assert!(out.contains("ledger intact: 6 entries"), "{out}");

    // A proof of the import, checked on its own and against a root kept elsewhere.
    let proof = dir.path().join("proof.json");
    ok(&[
        "--data",
        l,
        "audit",
        "proof",
        "1",
        "--out",
        proof.to_str().unwrap(),
    ]);
    let cp = ok(&["--data", l, "audit", "checkpoint"]);
    let root = cp
        .split("root ")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    let out = ok(&[
        "audit",
        "check-proof",
        proof.to_str().unwrap(),
        "--root",
        &root,
    ]);
    assert!(out.contains("entry 1 (import readings"), "{out}");
    let err = fails(&[
        "audit",
        "check-proof",
        proof.to_str().unwrap(),
        "--root",
        &"0".repeat(64),
    ]);
    assert!(err.contains("does not lead"), "{err}");
    assert!(fails(&["--data", l, "audit", "proof", "99"]).contains("not among the first 6"));

    // Someone edits the export's row count by hand: verify names entry 2 and fails.
    let path = lake.join("_ledger/ledger.jsonl");
    let good = std::fs::read_to_string(&path).unwrap();
    let rows = log[1]["details"]["rows"].as_u64().unwrap();
    std::fs::write(
        &path,
        good.replacen(&format!("\"rows\":{rows}"), "\"rows\":1", 1),
    )
    .unwrap();
    let err = fails(&["--data", l, "audit", "verify"]);
    assert!(
        err.contains("ledger broken at entry 2") && err.contains("content was changed"),
        "{err}"
    );
    // … or deletes the acknowledgement: entry 5 no longer points at entry 4.
    let mut lines: Vec<&str> = good.lines().collect();
    lines.remove(3);
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    let err = fails(&["--data", l, "audit", "verify"]);
    assert!(err.contains("ledger broken at entry 4"), "{err}");
    std::fs::write(&path, &good).unwrap();
    ok(&["--data", l, "audit", "verify"]);

    // The hash is chosen before the first entry.
    assert!(
        fails(&["--data", l, "audit", "init", "--hash", "sm3"]).contains("before the first entry")
    );
    assert!(fails(&["--data", l, "audit", "init", "--hash", "md5"]).contains("sha256 or sm3"));
    let other = dir.path().join("other");
    demo(other.to_str().unwrap(), 20, 40, 1);
    let o = other.to_str().unwrap();
    ok(&["--data", o, "audit", "init", "--hash", "sm3"]);
    ok(&["--data", o, "import", "readings", file.to_str().unwrap()]);
    let out = ok(&["--data", o, "audit", "verify"]);
    assert!(out.contains("1 entries, sm3"), "{out}");
}
