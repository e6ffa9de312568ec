//! `gridmark text eval` through the command line on generated labelled reviews.

mod common;
use common::{fails, ok};
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
