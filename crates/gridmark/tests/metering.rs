//! Metering intelligence through the command line, on the demo utility whose faults, thefts and
//! bill errors are known: VEE finds the injected faults, the tariff engine reproduces every
//! bill except the deliberately wrong ones, theft scoring ranks the thieves high, and bad input
//! gets a clear error.

mod common;

use common::{civil, fails, gridmark, ok};
use std::collections::BTreeSet;
use std::path::Path;

/// Truth rows: (meter, customer, kind, start_ms).
fn truth(dir: &Path) -> Vec<(String, String, String, i64)> {
    let text = std::fs::read_to_string(dir.join("truth/anomalies.csv")).unwrap();
    text.lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (
                f[0].to_string(),
                f[1].to_string(),
                f[2].to_string(),
                f[5].parse().unwrap(),
            )
        })
        .collect()
}

fn demo(dir: &Path, customers: &str, days: &str) {
    ok(&[
        "demo",
        "--customers",
        customers,
        "--days",
        days,
        "--seed",
        "3",
        "--dir",
        dir.to_str().unwrap(),
    ]);
}

#[test]
fn vee_bills_theft_and_line_loss_on_the_demo_utility() {
    let tmp = tempfile::tempdir().unwrap();
    let lake = tmp.path().join("lake");
    let d = lake.to_str().unwrap();
    demo(&lake, "300", "90");
    let truth = truth(&lake);

    // The quality report needs a VEE run first, and says so.
    let html = tmp.path().join("q.html");
    let err = fails(&[
        "--data",
        d,
        "quality",
        "report",
        "--out",
        html.to_str().unwrap(),
    ]);
    assert!(err.contains("gridmark vee run"), "{err}");

    // VEE: every injected spike is found and replaced; raw readings are untouched.
    let raw_before = ok(&[
        "--data",
        d,
        "sql",
        "SELECT count(*), sum(kwh) FROM readings",
        "--format",
        "csv",
    ]);
    let report: serde_json::Value =
        serde_json::from_str(&ok(&["--data", d, "vee", "run", "--json"])).unwrap();
    assert!(report["readings_out"].as_u64().unwrap() > 0);
    let raw_after = ok(&[
        "--data",
        d,
        "sql",
        "SELECT count(*), sum(kwh) FROM readings",
        "--format",
        "csv",
    ]);
    assert_eq!(
        raw_before, raw_after,
        "VEE must not change the raw readings"
    );
    let spikes = ok(&[
        "--data",
        d,
        "sql",
        "SELECT meter_id, arrow_cast(start_ts, 'Int64') AS s FROM vee_findings WHERE rule = 'spike'",
        "--format",
        "csv",
    ]);
    let found: BTreeSet<(String, i64)> = spikes
        .lines()
        .skip(1)
        .map(|l| {
            let (m, s) = l.split_once(',').unwrap();
            (m.to_string(), s.parse().unwrap())
        })
        .collect();
    let injected: Vec<&(String, String, String, i64)> =
        truth.iter().filter(|t| t.2 == "spike").collect();
    assert!(!injected.is_empty(), "the demo injects spikes");
    for t in &injected {
        assert!(found.contains(&(t.0.clone(), t.3)), "spike {t:?} not found");
    }
    // Every edit keeps the raw value it replaced.
    let edits = ok(&[
        "--data",
        d,
        "sql",
        "SELECT count(*) FROM vee_edits e JOIN readings r ON e.meter_id = r.meter_id AND e.ts = r.ts \
         WHERE e.before_kwh IS DISTINCT FROM r.kwh",
        "--format",
        "csv",
    ]);
    assert_eq!(edits.lines().nth(1), Some("0"), "{edits}");
    ok(&[
        "--data",
        d,
        "quality",
        "report",
        "--out",
        html.to_str().unwrap(),
    ]);
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("Completeness per day") && page.contains("<svg"));

    // Billing from the raw readings reproduces every bill except the deliberate errors.
    let bills: serde_json::Value = serde_json::from_str(&ok(&[
        "--data", d, "bill", "run", "--period", "2025-02", "--source", "raw", "--json",
    ]))
    .unwrap();
    let mismatched: BTreeSet<String> = bills["lines"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["status"] == "mismatch")
        .map(|l| l["customer_id"].as_str().unwrap().to_string())
        .collect();
    // Bill errors are stamped at the start of the billed month (local midnight, UTC+8).
    let feb = (
        1_738_339_200_000 - 8 * 3_600_000,
        1_740_758_400_000 - 8 * 3_600_000,
    );
    let wrong: BTreeSet<String> = truth
        .iter()
        .filter(|t| t.2 == "bill_error" && t.3 >= feb.0 && t.3 < feb.1)
        .map(|t| t.1.clone())
        .collect();
    assert!(!wrong.is_empty());
    assert_eq!(mismatched, wrong);
    assert!(
        bills["matched"].as_u64().unwrap() > 250,
        "{}",
        bills["matched"]
    );

    // Theft: the bypass thieves whose theft lasts at least two weeks rank high.
    let top = 20;
    let scored: serde_json::Value = serde_json::from_str(&ok(&[
        "--data",
        d,
        "theft",
        "score",
        "--top",
        &top.to_string(),
        "--json",
    ]))
    .unwrap();
    let listed: Vec<String> = scored["suspects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["meter_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(listed.len(), top);
    let end_ms = 1_743_436_800_000 - 8 * 3_600_000; // 2025-04-01 local
    let bypass: Vec<&String> = truth
        .iter()
        .filter(|t| t.2 == "theft_bypass" && end_ms - t.3 > 14 * 86_400_000)
        .map(|t| &t.0)
        .collect();
    assert!(!bypass.is_empty());
    let hits = bypass.iter().filter(|m| listed.contains(m)).count();
    assert!(
        hits * 4 >= bypass.len() * 3,
        "{hits} of {} bypass thieves in the top {top}: {listed:?}",
        bypass.len()
    );

    // With inspection outcomes for enough meters, a supervised model weighs the evidence.
    assert!(scored["model"].as_str().unwrap().starts_with("label-free"));
    let thieves: Vec<&String> = truth
        .iter()
        .filter(|t| t.2.starts_with("theft"))
        .map(|t| &t.0)
        .collect();
    let mut labels = String::from("meter_id,label,value,source\n");
    for m in thieves.iter().take(5) {
        labels.push_str(&format!("{m},theft,1,inspection\n"));
    }
    for i in 200..230 {
        let m = format!("M{i:07}");
        if !thieves.contains(&&m) {
            labels.push_str(&format!("{m},theft,0,inspection\n"));
        }
    }
    let labels_csv = tmp.path().join("labels.csv");
    std::fs::write(&labels_csv, labels).unwrap();
    ok(&[
        "--data",
        d,
        "import",
        "meter_labels",
        labels_csv.to_str().unwrap(),
    ]);
    let scored: serde_json::Value = serde_json::from_str(&ok(&[
        "--data", d, "theft", "score", "--top", "10", "--json",
    ]))
    .unwrap();
    assert!(
        scored["model"].as_str().unwrap().contains("supervised"),
        "{}",
        scored["model"]
    );
    for s in scored["suspects"].as_array().unwrap() {
        let p = s["supervised"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&p));
    }

    // Line loss: every area has a month row with supply, metered and a rate.
    let ll = tmp.path().join("ll.csv");
    ok(&[
        "--data",
        d,
        "lineloss",
        "--period",
        "month",
        "--out",
        ll.to_str().unwrap(),
    ]);
    let text = std::fs::read_to_string(&ll).unwrap();
    assert!(text.starts_with("area_id,period,supply_kwh,metered_kwh,loss_kwh,loss_rate,flags"));
    let rates: Vec<f64> = text
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(5).unwrap().parse().unwrap())
        .collect();
    assert!(rates.len() >= 3);
    assert!(rates.iter().all(|r| (0.0..0.2).contains(r)), "{rates:?}");
}

#[test]
fn bad_input_gets_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let lake = tmp.path().join("lake");
    let d = lake.to_str().unwrap();
    demo(&lake, "20", "20");
    let err = fails(&["--data", d, "bill", "run", "--period", "2025-13"]);
    assert!(
        err.contains("2025-13") && err.contains("such as 2025-03"),
        "{err}"
    );
    let rules = tmp.path().join("rules.json");
    std::fs::write(&rules, r#"{"rules":[{"rule":"spike","factor":-1,"min_kwh":5}],"linear_max_hours":1,"estimate_max_hours":24,"profile_weeks":4,"net_metering":"auto","sufficient_share":0.9}"#).unwrap();
    let err = fails(&[
        "--data",
        d,
        "vee",
        "run",
        "--rules",
        rules.to_str().unwrap(),
    ]);
    assert!(err.contains("spike") && err.contains("factor"), "{err}");
    std::fs::write(&rules, r#"{"rules":[{"rule":"spikes"}]}"#).unwrap();
    let err = fails(&[
        "--data",
        d,
        "vee",
        "run",
        "--rules",
        rules.to_str().unwrap(),
    ]);
    assert!(
        err.contains("rules.json") && err.contains("spikes"),
        "{err}"
    );
    let err = fails(&["--data", d, "lineloss", "--band", "0.1"]);
    assert!(err.contains("LOW,HIGH"), "{err}");
    let err = fails(&["--data", d, "theft", "score", "--top", "0"]);
    assert!(err.contains("--top"), "{err}");
    // The default rules print as JSON that `--rules` reads back.
    std::fs::write(&rules, ok(&["vee", "rules"])).unwrap();
    ok(&[
        "--data",
        d,
        "vee",
        "run",
        "--rules",
        rules.to_str().unwrap(),
    ]);
}

/// Households with a weekly rhythm, a season and noise, in the LCL daily layout.
fn lcl_file(path: &Path, households: usize, days: i64) {
    let mut s = String::from(
        "LCLid,day,energy_median,energy_mean,energy_max,energy_count,energy_std,energy_sum,energy_min\n",
    );
    let mut state = 12345u64;
    let mut next = || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    for h in 0..households {
        let level = 4.0 + 12.0 * next();
        for d in 0..days {
            let (y, m, dd) = civil(15706 + d); // 2013-01-01
            let season = 1.0 + 0.35 * ((d as f64) * std::f64::consts::TAU / 365.0).cos();
            let weekend = if d % 7 >= 5 { 1.25 } else { 1.0 };
            let v = level * season * weekend * (0.85 + 0.3 * next());
            s.push_str(&format!(
                "MAC{h:06},{y:04}-{m:02}-{dd:02},0,0,0,48,0,{v:.3},0\n"
            ));
        }
    }
    std::fs::write(path, s).unwrap();
}

#[test]
fn theft_inject_then_eval_round_trip() {
    let tmp = tempfile::tempdir().unwrap();
    let lcl = tmp.path().join("block.csv");
    lcl_file(&lcl, 120, 365);
    let injected = tmp.path().join("inj.csv");
    let out = gridmark(&[
        "theft",
        "inject",
        "--input",
        lcl.to_str().unwrap(),
        "--out",
        injected.to_str().unwrap(),
        "--share",
        "0.25",
        "--seed",
        "7",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&injected).unwrap();
    let header = text.lines().next().unwrap();
    assert!(header.starts_with("CONS_NO,FLAG,ATTACK,2013-01-01,"));
    assert_eq!(header.split(',').count(), 3 + 365);
    assert_eq!(text.lines().filter(|l| l.contains(",1,h")).count(), 30);
    let scores = tmp.path().join("scores.csv");
    let ev: serde_json::Value = serde_json::from_str(&ok(&[
        "theft",
        "eval",
        "--input",
        injected.to_str().unwrap(),
        "--folds",
        "3",
        "--json",
        "--scores-out",
        scores.to_str().unwrap(),
    ]))
    .unwrap();
    for key in ["auc", "precision_at_10pct", "map_at_100"] {
        let v = ev[key].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&v), "{key} {v}");
    }
    assert_eq!(ev["folds"].as_array().unwrap().len(), 3);
    // Flat (h5) and mean-scaled (h4) series are unmistakable even on 120 households.
    assert!(
        ev["per_attack"]["h5"]["auc"].as_f64().unwrap() > 0.9,
        "{ev}"
    );
    assert!(ev["auc"].as_f64().unwrap() > 0.75, "{ev}");
    let rows = std::fs::read_to_string(&scores).unwrap();
    assert_eq!(rows.lines().count(), 121);
    assert!(rows.starts_with("id,label,score,unsupervised,fold,attack"));
    // A broken file names its line.
    std::fs::write(&injected, "CONS_NO,FLAG,2013-01-01\nA,0,1\nB,0,oops\n").unwrap();
    let err = fails(&["theft", "eval", "--input", injected.to_str().unwrap()]);
    assert!(err.contains("line 3") && err.contains("oops"), "{err}");
}
