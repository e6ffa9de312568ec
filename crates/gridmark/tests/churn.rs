//! `gridmark churn eval` on a generated customer table whose churn depends on known columns
//! (the PowerCo figures are in docs/evaluation.md, measured in release).

mod common;

use common::{fails, ok};

#[test]
fn churn_eval_finds_the_signal_out_of_fold_and_names_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let features = dir.path().join("customers.csv");
    let labels = dir.path().join("labels.csv");
    let mut f = String::from("id,margin,contract_end,has_gas,channel,noise\n");
    let mut l = String::from("id,churn\n");
    let mut x = 11u64;
    let mut next = || {
        x = x
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (x >> 11) as f64 / (1u64 << 53) as f64
    };
    for i in 0..2000 {
        let (margin, month, gas, ch, noise, u) = (
            next() * 100.0,
            1 + (next() * 12.0) as u32,
            next() < 0.3,
            next(),
            next(),
            next(),
        );
        let channel = if ch < 0.5 {
            "web"
        } else if ch < 0.8 {
            "hall"
        } else {
            "phone"
        };
        // Low margins, contracts ending early in the year and the phone channel churn more.
        let p = 0.05
            + 0.25 * f64::from(margin < 30.0)
            + 0.15 * f64::from(month <= 3)
            + 0.2 * f64::from(channel == "phone");
        let margin_cell = if i % 50 == 0 {
            String::new()
        } else {
            format!("{margin:.2}")
        };
        f.push_str(&format!(
            "c{i},{margin_cell},15/{month}/2016,{},{channel},{noise:.4}\n",
            if gas { "t" } else { "f" }
        ));
        l.push_str(&format!("c{i},{}\n", u8::from(u < p)));
    }
    std::fs::write(&features, f).unwrap();
    std::fs::write(&labels, l).unwrap();
    let scores = dir.path().join("oof.csv");
    let out = ok(&[
        "churn",
        "eval",
        "--input",
        features.to_str().unwrap(),
        "--labels",
        labels.to_str().unwrap(),
        "--scores-out",
        scores.to_str().unwrap(),
        "--json",
    ]);
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["rows"], 2000);
    assert_eq!(doc["features"]["contract_end"], "date");
    assert_eq!(doc["features"]["has_gas"], "flag");
    assert_eq!(doc["features"]["channel"], "category (3)");
    let auc = doc["auc"].as_f64().unwrap();
    assert!(auc > 0.7, "{doc}");
    assert!(doc["lift_top10"].as_f64().unwrap() > 1.5, "{doc}");
    assert!(doc["pr_auc"].as_f64().unwrap() > 0.0);
    let text = std::fs::read_to_string(&scores).unwrap();
    assert!(text.starts_with("id,label,score\n"));
    assert_eq!(text.lines().count(), 2001);

    // Bad input is named.
    let dup = dir.path().join("dup.csv");
    std::fs::write(&dup, "id,x,churn\na,1,1\na,2,0\n").unwrap();
    assert!(
        fails(&["churn", "eval", "--input", dup.to_str().unwrap()]).contains("dup.csv: line 3")
    );
    let one_class = dir.path().join("one.csv");
    std::fs::write(&one_class, "id,x,churn\na,1,0\nb,2,0\nc,3,0\n").unwrap();
    assert!(
        fails(&["churn", "eval", "--input", one_class.to_str().unwrap()])
            .contains("needs both classes")
    );
    assert!(
        fails(&[
            "churn",
            "eval",
            "--input",
            features.to_str().unwrap(),
            "--target",
            "left"
        ])
        .contains("no `left` column")
    );
}
