//! `gridmark text eval` through the command line on generated labelled reviews.

mod common;
use common::{demo, fails, ok};
use std::fmt::Write as _;

fn reviews(path: &std::path::Path) {
    let good = ["服务很好", "来电很快", "营业厅态度好", "缴费方便"];
    let bad = ["电费太贵", "停电太久", "电表不准", "态度很差"];
    let mut s = String::from("label,review,extra\n");
    for i in 0..300 {
        let (l, t) = if i % 3 == 0 {
            (0, bad[i % 4])
        } else {
            (1, good[i % 4])
        };
        // Quoted fields with commas and a line break must stay one field.
        let _ = writeln!(s, "{l},\"{t}, 第{i}次\n谢谢\",x");
    }
    std::fs::write(path, s).unwrap();
}

#[test]
fn text_eval_split_folds_lexicon_and_split_out() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("r.csv");
    reviews(&data);
    let d = data.to_str().unwrap();
    let split = dir.path().join("split.csv");
    let lex = dir.path().join("lex");
    std::fs::create_dir_all(&lex).unwrap();
    std::fs::write(
        lex.join("BosonNLP_sentiment_score.txt"),
        "好 2.0\n方便 1.5\n快 1.0\n贵 -2.0\n差 -2.0\n不准 -1.5\n久 -1.0\n",
    )
    .unwrap();
    std::fs::write(lex.join("degreeDict.utf8.txt"), "很 1.5\n太 2\n").unwrap();
    std::fs::write(lex.join("notDict.utf8.txt"), "不\n没\n").unwrap();
    let out: serde_json::Value = serde_json::from_str(&ok(&[
        "text",
        "eval",
        "--input",
        d,
        "--lexicon",
        lex.to_str().unwrap(),
        "--split-out",
        split.to_str().unwrap(),
        "--json",
    ]))
    .unwrap();
    assert_eq!(out["documents"], 300);
    assert_eq!(out["test_docs"], 60);
    assert_eq!(out["accuracy"], 1.0, "{out}");
    assert_eq!(out["macro_f1"], 1.0);
    assert!(out["lexicon"]["accuracy"].as_f64().unwrap() > 0.9, "{out}");
    let s = std::fs::read_to_string(&split).unwrap();
    assert_eq!(s.lines().count(), 301);
    assert_eq!(s.lines().filter(|l| l.ends_with(",test")).count(), 60);

    let out: serde_json::Value = serde_json::from_str(&ok(&[
        "text", "eval", "--input", d, "--folds", "5", "--model", "logistic", "--json",
    ]))
    .unwrap();
    assert_eq!(out["test_docs"], 300);
    assert_eq!(out["accuracy"], 1.0, "{out}");
    let text = ok(&["text", "eval", "--input", d]);
    assert!(
        text.contains("accuracy 1.0000") && text.contains("F1 per class"),
        "{text}"
    );
}

#[test]
fn text_train_saves_a_model_that_predicts_new_text() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("r.csv");
    reviews(&data);
    let model = dir.path().join("m.json");
    let out = ok(&[
        "text",
        "train",
        "--input",
        data.to_str().unwrap(),
        "--out",
        model.to_str().unwrap(),
    ]);
    assert!(out.contains("trained on 300 documents, 2 classes"), "{out}");
    let new = dir.path().join("new.csv");
    std::fs::write(&new, "id,review\na,电表不准\nb,\"营业厅态度好, 谢谢\"\n").unwrap();
    let pred = ok(&[
        "text",
        "predict",
        "--model",
        model.to_str().unwrap(),
        "--input",
        new.to_str().unwrap(),
    ]);
    let lines: Vec<&str> = pred.lines().collect();
    assert_eq!(lines[0], "line,predicted,score");
    assert!(
        lines[1].starts_with("2,0,") && lines[2].starts_with("3,1,"),
        "{pred}"
    );
    // A damaged model is named, not trusted.
    let text = std::fs::read_to_string(&model).unwrap();
    std::fs::write(
        &model,
        text.replace("gridmark-linear 1", "gridmark-linear 9"),
    )
    .unwrap();
    let err = fails(&[
        "text",
        "predict",
        "--model",
        model.to_str().unwrap(),
        "--input",
        new.to_str().unwrap(),
    ]);
    assert!(err.contains("m.json") && err.contains("weights"), "{err}");
}

#[test]
fn bad_text_inputs_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("r.csv");
    reviews(&data);
    let d = data.to_str().unwrap();
    let err = fails(&["text", "eval", "--input", d, "--text", "comment"]);
    assert!(err.contains("no `comment` column"), "{err}");
    let err = fails(&["text", "eval", "--input", d, "--folds", "1"]);
    assert!(err.contains("--folds 1"), "{err}");
    let err = fails(&["text", "eval", "--input", d, "--test-share", "1.5"]);
    assert!(err.contains("--test-share 1.5"), "{err}");
    let err = fails(&["text", "eval", "--input", d, "--model", "bert"]);
    assert!(err.contains("--model bert"), "{err}");
    let broken = dir.path().join("broken.csv");
    std::fs::write(&broken, "label,review\n1,好\n0,\"没有结束的引号\n").unwrap();
    let err = fails(&["text", "eval", "--input", broken.to_str().unwrap()]);
    assert!(err.contains("broken.csv: line 3"), "{err}");
    let lex = dir.path().join("nolex");
    let err = fails(&[
        "text",
        "eval",
        "--input",
        d,
        "--lexicon",
        lex.to_str().unwrap(),
    ]);
    assert!(err.contains("BosonNLP_sentiment_score.txt"), "{err}");
    let err = fails(&[
        "text",
        "eval",
        "--input",
        dir.path().join("none.csv").to_str().unwrap(),
    ]);
    assert!(err.contains("none.csv"), "{err}");
}

fn sql_csv(lake: &str, query: &str) -> Vec<Vec<String>> {
    ok(&["--data", lake, "sql", query, "--format", "csv"])
        .lines()
        .skip(1)
        .map(|l| l.split(',').map(String::from).collect())
        .collect()
}

/// Twelve weeks of work orders: eight steady complaints five times a week each, and in the
/// tenth week twelve about EV chargers that never came up before.
fn crafted_stream(path: &std::path::Path) {
    const STEADY: [&str; 8] = [
        "电费账单比上个月高，怀疑抄表有误",
        "营业厅排队时间太长，服务态度不满意",
        "我们小区又停电了，请尽快抢修",
        "想咨询峰谷电价怎么申请",
        "The bill is too high this month, please check the meter",
        "Power cut again in our street since this morning",
        "客服耐心解答了问题，非常满意",
        "电表读数不准，请派人检测",
    ];
    let monday = 20_150; // 2025-03-03
    let mut csv = String::from("order_id,customer_id,created_at,kind,category,text\n");
    let mut n = 0;
    for week in 0..12 {
        for day in 0..5 {
            for (k, text) in STEADY.iter().enumerate() {
                n += 1;
                let (y, m, d) = common::civil(monday + week * 7 + day);
                writeln!(
                    csv,
                    "W{n:05},C{:03},{y}-{m:02}-{d:02}T0{}:00:00Z,complaint,billing,\"{text}\"",
                    k + 1,
                    k + 1
                )
                .unwrap();
            }
        }
        if week == 9 {
            for i in 0..12 {
                n += 1;
                let (y, m, d) = common::civil(monday + week * 7 + i % 5);
                writeln!(
                    csv,
                    "W{n:05},C1{i:02},{y}-{m:02}-{d:02}T10:00:00Z,complaint,other,家里的充电桩无法充电，APP一直提示故障"
                )
                .unwrap();
            }
        }
    }
    std::fs::write(path, csv).unwrap();
}

#[test]
fn text_analyze_detects_an_emerging_term_in_a_crafted_stream() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let l = lake.to_str().unwrap();
    let orders = dir.path().join("orders.csv");
    crafted_stream(&orders);
    ok(&[
        "--data",
        l,
        "import",
        "work_orders",
        orders.to_str().unwrap(),
    ]);
    let html = dir.path().join("text.html");
    let r: serde_json::Value = serde_json::from_str(&ok(&[
        "--data",
        l,
        "text",
        "analyze",
        "--html",
        html.to_str().unwrap(),
        "--json",
    ]))
    .unwrap();
    assert_eq!(r["documents"], 8 * 5 * 12 + 12, "{r}");
    let emerging = r["emerging"].as_array().unwrap();
    assert!(!emerging.is_empty(), "{r}");
    // Only the tenth week has emerging terms, and the charger is one of them.
    assert!(
        emerging.iter().all(|t| t["week"] == "2025-05-05"),
        "{emerging:?}"
    );
    assert!(
        emerging.iter().any(|t| t["term"] == "充电桩"
            && t["docs"] == 12
            && t["p_value"].as_f64().unwrap() < 1e-6),
        "{emerging:?}"
    );
    // Both languages detected, and sentiment follows negation.
    assert_eq!(r["languages"]["zh"], 6 * 5 * 12 + 12, "{r}");
    assert_eq!(r["languages"]["en"], 2 * 5 * 12, "{r}");
    let rows = sql_csv(
        l,
        "SELECT DISTINCT customer_id, sentiment FROM text_documents WHERE customer_id IN ('C002', 'C007') ORDER BY 1",
    );
    assert_eq!(
        rows,
        vec![
            vec!["C002".to_string(), "negative".to_string()],
            vec!["C007".to_string(), "positive".to_string()]
        ]
    );
    // The power term stays whole among the keywords.
    let rows = sql_csv(
        l,
        "SELECT keywords FROM text_documents WHERE customer_id = 'C100'",
    );
    assert!(rows[0].join(",").contains("充电桩"), "{rows:?}");
    // Every complaint is linked, and without readings or bills no cause is invented.
    assert_eq!(r["complaints"], 8 * 5 * 12 + 12);
    assert_eq!(r["causes"]["none"], 8 * 5 * 12 + 12, "{r}");
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("充电桩") && page.contains("<svg"));
    // A second run replaces the tables rather than adding to them.
    ok(&["--data", l, "text", "analyze", "--json"]);
    let n = sql_csv(l, "SELECT count(*) FROM text_documents");
    assert_eq!(n[0][0], (8 * 5 * 12 + 12).to_string());
}

#[test]
fn text_analyze_errors_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let l = lake.to_str().unwrap();
    let orders = dir.path().join("orders.csv");
    std::fs::write(
        &orders,
        "order_id,customer_id,created_at,kind,category,text\nW1,C1,2025-03-03T08:00:00Z,complaint,billing,\n",
    )
    .unwrap();
    ok(&[
        "--data",
        l,
        "import",
        "work_orders",
        orders.to_str().unwrap(),
    ]);
    let err = fails(&["--data", l, "text", "analyze"]);
    assert!(err.contains("no text to analyse"), "{err}");
    let err = fails(&["--data", l, "text", "analyze", "--alpha", "2"]);
    assert!(err.contains("--alpha 2"), "{err}");
    let bad = dir.path().join("model.json");
    std::fs::write(&bad, "{\"format\": 3}").unwrap();
    std::fs::write(
        &orders,
        "order_id,customer_id,created_at,kind,category,text\nW2,C1,2025-03-03T08:00:00Z,complaint,billing,电费太高\n",
    )
    .unwrap();
    ok(&[
        "--data",
        l,
        "import",
        "work_orders",
        orders.to_str().unwrap(),
    ]);
    let err = fails(&[
        "--data",
        l,
        "text",
        "analyze",
        "--model",
        bad.to_str().unwrap(),
    ]);
    assert!(
        err.contains("model.json") && err.contains("not a gridmark text model"),
        "{err}"
    );
    let err = fails(&[
        "--data",
        l,
        "text",
        "analyze",
        "--lexicons",
        dir.path().join("nolex").to_str().unwrap(),
    ]);
    assert!(err.contains("BosonNLP_sentiment_score.txt"), "{err}");
}

#[test]
fn text_analyze_links_demo_complaints_to_planted_faults() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let l = lake.to_str().unwrap();
    demo(l, 300, 200, 5);
    ok(&["--data", l, "vee", "run"]);
    let r: serde_json::Value =
        serde_json::from_str(&ok(&["--data", l, "text", "analyze", "--json"])).unwrap();
    // The category model is trained on the demo's own labelled orders and judged on held-out ones.
    let holdout = &r["category_source"]["holdout"];
    assert!(holdout[0].as_f64().unwrap() > 0.85, "{r}");
    assert!(lake.join("models").join("text_category.json").exists());
    assert!(r["causes"]["outage"].as_u64().unwrap_or(0) > 0, "{r}");
    assert!(r["causes"]["high_bill"].as_u64().unwrap_or(0) > 0, "{r}");
    // Every high-bill cause rests on a bill at least 1.3× the usual, and is explained.
    let bad = sql_csv(
        l,
        "SELECT order_id FROM complaint_links WHERE cause = 'high_bill' AND (bill_ratio < 1.3 OR explanation NOT LIKE '%median of the 6 before%')",
    );
    assert!(bad.is_empty(), "{bad:?}");
    // Outage causes point at an area whose meters read zero.
    let outages = sql_csv(
        l,
        "SELECT count(*) FROM complaint_links WHERE cause = 'outage' AND area_outage LIKE 'area %read zero%'",
    );
    assert_eq!(
        outages[0][0],
        r["causes"]["outage"].as_u64().unwrap().to_string()
    );
    // Profiles now carry the sentiment of each customer's complaints.
    ok(&["--data", l, "profile", "build", "--json"]);
    let n = sql_csv(
        l,
        "SELECT count(*) FROM customer_profiles WHERE complaint_sentiment IS NOT NULL",
    );
    assert!(n[0][0].parse::<u64>().unwrap() > 10, "{n:?}");
}
