//! `gridmark forecast eval` on a generated wide hourly file (the real ETTh1 figures are in
//! docs/evaluation.md, measured in release).

use std::process::Command;

fn gridmark(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_gridmark"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn ett_protocol_on_a_daily_cycle_beats_repeating_the_last_value() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cycle.csv");
    let mut text = String::from("date,A,B\n");
    let mut x = 7u64;
    for t in 0..17_420 {
        x = x
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let noise = ((x >> 33) as f64 / (1u64 << 31) as f64 - 0.5) * 0.2;
        let day = (t as f64 * std::f64::consts::TAU / 24.0).sin();
        text.push_str(&format!(
            "t{t},{:.4},{:.4}\n",
            10.0 + day + noise,
            5.0 - 2.0 * day + noise
        ));
    }
    std::fs::write(&path, text).unwrap();
    let out = gridmark(&[
        "forecast",
        "eval",
        "--input",
        path.to_str().unwrap(),
        "--horizons",
        "24,48",
        "--lookback",
        "48",
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let scores: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for h in ["24", "48"] {
        let mse = scores[h]["mse"].as_f64().unwrap();
        // Standardised noise alone is ~0.02 of the variance; a model that missed the cycle
        // would score near 1 or worse.
        assert!(mse < 0.1, "horizon {h}: mse {mse}");
        assert!(scores[h]["mae"].as_f64().unwrap() > 0.0);
    }
}

#[test]
fn bad_inputs_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let short = dir.path().join("short.csv");
    std::fs::write(&short, "date,A\n1,2\n2,3\n").unwrap();
    let out = gridmark(&["forecast", "eval", "--input", short.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("needs at least 14400 rows"));
    let holes = dir.path().join("holes.csv");
    std::fs::write(&holes, "date,A\n1,2\n2,\n").unwrap();
    let out = gridmark(&["forecast", "eval", "--input", holes.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("holes.csv: line 3: column `A`"));
    let out = gridmark(&[
        "forecast",
        "eval",
        "--input",
        short.to_str().unwrap(),
        "--horizons",
        "96,x",
    ]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("--horizons 96,x"));
}
