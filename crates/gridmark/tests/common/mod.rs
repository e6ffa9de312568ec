//! Helpers shared by the black-box tests: run the built binary and check how it ended.
#![allow(dead_code)] // each test file uses its own subset

pub mod http;

use std::process::{Command, Output};

/// Runs `gridmark` with `args`, ignoring any GRIDMARK_DATA of the caller's environment.
pub fn gridmark(args: &[&str]) -> Output {
    gridmark_env(args, &[])
}

/// The same with `env` added to the environment (and no GRIDMARK_CLUSTER of the caller's).
pub fn gridmark_env(args: &[&str], env: &[(String, String)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gridmark"))
        .args(args)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .env_remove("GRIDMARK_DATA")
        .env_remove("GRIDMARK_CLUSTER")
        .output()
        .unwrap()
}

/// Runs `gridmark`, asserts success and returns standard output.
pub fn ok(args: &[&str]) -> String {
    ok_env(args, &[])
}

/// The same with `env` added to the environment.
pub fn ok_env(args: &[&str], env: &[(String, String)]) -> String {
    let out = gridmark_env(args, env);
    assert!(
        out.status.success(),
        "gridmark {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Runs `gridmark`, asserts success and parses standard output as JSON.
pub fn json(args: &[&str]) -> serde_json::Value {
    serde_json::from_str(&ok(args)).unwrap()
}

/// Builds a small demo utility lake in `dir`.
pub fn demo(dir: &str, customers: usize, days: u32, seed: u64) {
    ok(&[
        "demo",
        "--customers",
        &customers.to_string(),
        "--days",
        &days.to_string(),
        "--seed",
        &seed.to_string(),
        "--dir",
        dir,
    ]);
}

/// The alphabetically first region of the lake's customers.
pub fn first_region(lake: &str) -> String {
    ok(&[
        "--data",
        lake,
        "sql",
        "SELECT min(region) AS r FROM customers",
        "--format",
        "csv",
    ])
    .lines()
    .nth(1)
    .unwrap()
    .to_string()
}

/// Runs `gridmark`, asserts a clean failure (no panic) and returns standard error.
pub fn fails(args: &[&str]) -> String {
    fails_env(args, &[])
}

/// The same with `env` added to the environment.
pub fn fails_env(args: &[&str], env: &[(String, String)]) -> String {
    let out = gridmark_env(args, env);
    assert!(!out.status.success(), "gridmark {args:?} should fail");
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!err.contains("panicked"), "{err}");
    err
}

/// Days since 1970-01-01 → (year, month, day).
pub fn civil(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Days since 1970-01-01 → `YYYY-MM-DD`.
pub fn date(day: i64) -> String {
    let (y, m, d) = civil(day);
    format!("{y:04}-{m:02}-{d:02}")
}
