//! `gridmark demo` builds a whole utility, deterministically, through the real load path.

use std::path::{Path, PathBuf};
use std::process::Command;

fn gridmark(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_gridmark"))
        .args(args)
        .env_remove("GRIDMARK_DATA")
        .output()
        .unwrap()
}

fn files(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.file_name().unwrap() != "_lock" {
                out.push((
                    p.strip_prefix(dir).unwrap().to_path_buf(),
                    std::fs::read(&p).unwrap(),
                ));
            }
        }
    }
    out.sort();
    out
}

fn csv(dir: &Path, sql: &str) -> String {
    let out = gridmark(&[
        "--data",
        dir.to_str().unwrap(),
        "sql",
        sql,
        "--format",
        "csv",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn same_seed_same_bytes_and_every_table_is_filled() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    for d in [&a, &b] {
        let out = gridmark(&[
            "demo",
            "--customers",
            "60",
            "--days",
            "10",
            "--seed",
            "7",
            "--dir",
            d.to_str().unwrap(),
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(text.contains("loaded (lake version 1)"), "{text}");
    }
    let (fa, fb) = (files(&a), files(&b));
    assert!(fa.len() > 15, "{} files", fa.len());
    assert!(fa == fb, "the same seed must give a byte-identical lake");

    let c = tmp.path().join("c");
    let out = gridmark(&[
        "demo",
        "--customers",
        "60",
        "--days",
        "10",
        "--seed",
        "8",
        "--dir",
        c.to_str().unwrap(),
    ]);
    assert!(out.status.success());
    assert!(files(&c) != fa, "another seed gives another utility");

    let tables = gridmark(&["--data", a.to_str().unwrap(), "tables", "--json"]);
    let tables: serde_json::Value = serde_json::from_slice(&tables.stdout).unwrap();
    for t in tables["tables"].as_array().unwrap() {
        let name = t["table"].as_str().unwrap();
        // Labels come from SGCC files; the rest are written by jobs run on the demo later.
        if name != "meter_labels" && !gridmark_core::catalog::DERIVED.contains(&name) {
            assert!(t["rows"].as_u64().unwrap() > 0, "{name} is empty");
        }
    }
    // 60 meters × 10 days × 96 intervals, less gaps and accounts opened or closed in the period.
    let n: u64 = csv(&a, "SELECT count(*) FROM readings")
        .lines()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    assert!((50_000..=57_600).contains(&n), "{n} readings");
    // Line loss is supply minus metered: positive on most area-days, a few percent typically.
    let loss = csv(&a, "SELECT approx_median(loss_ratio) FROM area_daily_loss");
    let median: f64 = loss.lines().nth(1).unwrap().parse().unwrap();
    assert!((0.01..0.15).contains(&median), "median loss ratio {median}");
    let truth = std::fs::read_to_string(a.join("truth/anomalies.csv")).unwrap();
    assert!(truth.starts_with("meter_id,customer_id,kind"));
}

#[test]
fn demo_refuses_to_replace_a_folder_that_is_not_a_lake() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("precious.txt"), b"keep me").unwrap();
    let out = gridmark(&[
        "demo",
        "--customers",
        "5",
        "--days",
        "1",
        "--dir",
        tmp.path().to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a gridmark lake"));
    assert!(tmp.path().join("precious.txt").exists());
}
