//! Customer intelligence through the command line: segments, risk models and profiles on a
//! small demo utility (whose planted archetypes and payment habits are known), and segment
//! evaluation on generated LCL-layout files.

mod common;
use common::{date, demo, fails, json, ok};
use std::fmt::Write as _;

#[test]
fn segments_risk_models_and_profiles_on_the_demo() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let lake_s = lake.to_str().unwrap();
    demo(lake_s, 500, 240, 7);
    let truth = lake.join("truth").join("customers.csv");
    let truth_s = truth.to_str().unwrap();

    // Segments: k chosen by silhouette, compared with the planted load-shape archetypes.
    let html = dir.path().join("seg.html");
    let seg = json(&[
        "--data",
        lake_s,
        "segment",
        "run",
        "--truth",
        truth_s,
        "--html",
        html.to_str().unwrap(),
        "--json",
    ]);
    let k = seg["k"].as_u64().unwrap();
    assert!((2..=10).contains(&k), "{seg}");
    let ari = seg["truth_ari"].as_f64().unwrap();
    assert!(ari > 0.7, "archetypes recovered with ARI {ari}");
    let segments = seg["segments"].as_array().unwrap();
    assert_eq!(segments.len() as u64, k);
    let sizes: u64 = segments.iter().map(|s| s["size"].as_u64().unwrap()).sum();
    assert_eq!(sizes, seg["customers"].as_u64().unwrap());
    assert!(
        segments
            .iter()
            .any(|s| s["name"].as_str().unwrap().contains("households")),
        "{segments:?}"
    );
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("Working-day profile") && page.contains("<svg"));
    let stored = ok(&[
        "--data",
        lake_s,
        "sql",
        "SELECT count(*) AS n, count(DISTINCT segment) AS k FROM segments",
        "--format",
        "csv",
    ]);
    assert_eq!(stored.lines().nth(1).unwrap(), format!("{sizes},{k}"));

    // Arrears model: the held-out scores rank the planted late payers high.
    let scores = dir.path().join("oof.csv");
    let arrears = json(&[
        "--data",
        lake_s,
        "risk-model",
        "train",
        "arrears",
        "--truth",
        truth_s,
        "--scores-out",
        scores.to_str().unwrap(),
        "--json",
    ]);
    let truth_auc = arrears["truth_auc"].as_f64().unwrap();
    assert!(truth_auc >= 0.85, "late payers AUC {truth_auc}");
    assert!(arrears["auc"].as_f64().unwrap() > 0.7, "{arrears}");
    assert!(
        arrears["brier"].as_f64().unwrap() < arrears["brier_base_rate"].as_f64().unwrap(),
        "calibrated probabilities beat the base rate: {arrears}"
    );
    let oof = std::fs::read_to_string(&scores).unwrap();
    assert_eq!(
        oof.lines().count() as u64 - 1,
        arrears["customers"].as_u64().unwrap()
    );

    // Scoring stores every active customer once, ranked, with reasons.
    let scored = json(&[
        "--data",
        lake_s,
        "risk-model",
        "score",
        "arrears",
        "--top",
        "5",
        "--json",
    ]);
    let top = scored["scores"].as_array().unwrap();
    assert_eq!(top.len(), 5);
    assert!(top[0]["probability"].as_f64() >= top[4]["probability"].as_f64());
    assert!(
        top[0]["reasons"].as_str().unwrap().contains("late"),
        "{top:?}"
    );
    let n = scored["customers"].as_u64().unwrap();
    let stored = ok(&[
        "--data",
        lake_s,
        "sql",
        "SELECT count(*) AS n, count(DISTINCT customer_id) AS c, min(rank) AS r FROM risk_scores WHERE model = 'arrears'",
        "--format",
        "csv",
    ]);
    assert_eq!(stored.lines().nth(1).unwrap(), format!("{n},{n},1"));

    // Churn needs its own model first; then both targets live side by side.
    let err = fails(&["--data", lake_s, "risk-model", "score", "churn"]);
    assert!(err.contains("train one first"), "{err}");
    json(&["--data", lake_s, "risk-model", "train", "churn", "--json"]);
    ok(&["--data", lake_s, "risk-model", "score", "churn"]);
    let models = ok(&[
        "--data",
        lake_s,
        "sql",
        "SELECT model, count(*) AS n FROM risk_scores GROUP BY model ORDER BY model",
        "--format",
        "csv",
    ]);
    assert_eq!(models, format!("model,n\narrears,{n}\nchurn,{n}\n"));

    // A damaged model file is named, not trusted.
    let model = lake.join("models").join("churn.json");
    let text = std::fs::read_to_string(&model).unwrap();
    std::fs::write(&model, &text[..text.len() / 2]).unwrap();
    let err = fails(&["--data", lake_s, "risk-model", "score", "churn"]);
    assert!(err.contains("churn.json"), "{err}");

    // Profiles gather it all.
    let err = fails(&["--data", lake_s, "profile", "show", "C0000001"]);
    assert!(err.contains("profile build"), "{err}");
    let built = json(&["--data", lake_s, "profile", "build", "--json"]);
    assert_eq!(built["customers"].as_u64().unwrap(), n);
    let tiers = built["value_tiers"].as_object().unwrap();
    assert!(tiers.contains_key("at-risk") && tiers.contains_key("high-value"));
    let first = ok(&[
        "--data",
        lake_s,
        "sql",
        "SELECT customer_id FROM customer_profiles ORDER BY arrears_probability DESC LIMIT 1",
        "--format",
        "csv",
    ]);
    let id = first.lines().nth(1).unwrap();
    let profile = json(&["--data", lake_s, "profile", "show", id, "--json"]);
    assert_eq!(profile["customer_id"], id);
    assert_eq!(profile["value_tier"], "at-risk");
    assert!(profile["segment_name"].is_string() && profile["arrears_probability"].is_number());
    let text = ok(&["--data", lake_s, "profile", "show", id]);
    assert!(
        text.contains("punctuality") && text.contains("tags"),
        "{text}"
    );
    let err = fails(&["--data", lake_s, "profile", "show", "C9999999"]);
    assert!(err.contains("no profile for customer `C9999999`"), "{err}");
}

/// LCL layout: households of two planted kinds (weekend-heavy winter users, flat all-year
/// users) over 2013, plus rows the reader must skip.
fn lcl_file(path: &std::path::Path) {
    let mut s = String::from(
        "LCLid,day,energy_median,energy_mean,energy_max,energy_count,energy_std,energy_sum,energy_min\n",
    );
    let first: i64 = 15_706; // 2013-01-01
    for h in 0..40 {
        let weekendy = h % 2 == 0;
        for d in 0..365 {
            let day = first + d;
            let dow = (day + 3).rem_euclid(7);
            let winter = !(90..300).contains(&d);
            let mut kwh = 8.0 + (h as f64) * 0.05;
            if weekendy {
                kwh *= if dow >= 5 { 1.5 } else { 1.0 } * if winter { 1.4 } else { 0.9 };
            }
            let max = kwh / 48.0 * if weekendy { 4.0 } else { 1.5 };
            let min = kwh / 48.0 * 0.3;
            let _ = writeln!(s, "MAC{h:06},{},0,0,{max},48,0,{kwh},{min}", date(day));
        }
        // An incomplete day is not used.
        let _ = writeln!(s, "MAC{h:06},2012-12-31,0,0,1,47,0,5,0");
    }
    std::fs::write(path, s).unwrap();
}

#[test]
fn segment_eval_on_lcl_layout_recovers_planted_groups() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("block_0.csv");
    lcl_file(&file);
    let truth = dir.path().join("truth.csv");
    let mut t = String::from("id,kind\n");
    for h in 0..40 {
        let _ = writeln!(t, "MAC{h:06},{}", h % 2);
    }
    std::fs::write(&truth, t).unwrap();
    let features = dir.path().join("features.csv");
    let out = json(&[
        "segment",
        "eval",
        "--input",
        file.to_str().unwrap(),
        "--k",
        "2",
        "--truth",
        truth.to_str().unwrap(),
        "--truth-col",
        "kind",
        "--features-out",
        features.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(out["customers"], 40);
    assert_eq!(out["truth_ari"].as_f64().unwrap(), 1.0, "{out}");
    let names: Vec<&str> = out["segments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert!(
        names
            .iter()
            .any(|n| n.contains("home-at-weekends") && n.contains("winter-heavy")),
        "{names:?}"
    );
    let matrix = std::fs::read_to_string(&features).unwrap();
    assert_eq!(matrix.lines().count(), 41);
    assert!(matrix.starts_with("id,"));
}

#[test]
fn bad_segment_and_risk_inputs_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("block_0.csv");
    lcl_file(&file);
    let f = file.to_str().unwrap();
    let err = fails(&["segment", "eval", "--input", f, "--k", "0"]);
    assert!(err.contains("--k 0"), "{err}");
    let err = fails(&["segment", "eval", "--input", f, "--k", "many"]);
    assert!(err.contains("--k many"), "{err}");
    let err = fails(&["segment", "eval", "--input", f, "--k", "41"]);
    assert!(err.contains("41"), "{err}");
    let err = fails(&["segment", "eval", "--input", f, "--year", "2011"]);
    assert!(err.contains("2011"), "{err}");

    let bad = dir.path().join("bad.csv");
    let mut text = std::fs::read_to_string(&file).unwrap();
    text.push_str("MAC000001,not-a-day,0,0,1,48,0,5,0\n");
    std::fs::write(&bad, text).unwrap();
    let err = fails(&["segment", "eval", "--input", bad.to_str().unwrap()]);
    assert!(
        err.contains("bad.csv: line") && err.contains("not-a-day"),
        "{err}"
    );

    let wrong = dir.path().join("wrong.csv");
    std::fs::write(&wrong, "a,b\n1,2\n").unwrap();
    let err = fails(&["segment", "eval", "--input", wrong.to_str().unwrap()]);
    assert!(err.contains("LCLid"), "{err}");

    let truth = dir.path().join("truth.csv");
    std::fs::write(&truth, "id,other\nMAC000000,1\n").unwrap();
    let err = fails(&[
        "segment",
        "eval",
        "--input",
        f,
        "--k",
        "2",
        "--truth",
        truth.to_str().unwrap(),
    ]);
    assert!(err.contains("no `archetype` column"), "{err}");

    let empty = dir.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let err = fails(&[
        "--data",
        empty.to_str().unwrap(),
        "risk-model",
        "train",
        "churn",
    ]);
    assert!(!err.is_empty());
    let err = fails(&[
        "--data",
        empty.to_str().unwrap(),
        "risk-model",
        "train",
        "arrears",
        "--as-of",
        "2025-13-01",
    ]);
    assert!(err.contains("--as-of 2025-13-01"), "{err}");
}
