//! `gridmark text eval`.

use crate::CliError;
use crate::cli::{TextEvalArgs, TextPredictArgs, TextTrainArgs};
use crate::metering::{print_json, write_atomic};
use gridmark_analytics::text::{LinearParams, Loss};
use gridmark_jobs::text::{self, Protocol};
use serde_json::json;
use std::io::Write;

fn linear_params(model: &str, c: f64, seed: u64) -> Result<LinearParams, CliError> {
    let loss = match model {
        "svm" => Loss::SquaredHinge,
        "logistic" => Loss::Logistic,
        other => {
            return Err(crate::usage(format!(
                "--model {other}: expected svm or logistic"
            )));
        }
    };
    if !(c.is_finite() && c > 0.0) {
        return Err(crate::usage(format!("--c {c}: must be above 0")));
    }
    Ok(LinearParams {
        loss,
        c,
        seed,
        ..LinearParams::default()
    })
}

pub fn train(args: TextTrainArgs) -> Result<(), CliError> {
    let params = linear_params(&args.model, args.c, args.seed)?;
    let data = text::read_labelled(&args.input, &args.text, &args.label)?;
    let started = std::time::Instant::now();
    let model = text::TextModel::train(&data, &params)?;
    model.save(&args.out)?;
    println!(
        "trained on {} documents, {} classes ({}), {} features in {:.2} s; saved {}",
        data.texts.len(),
        data.classes.len(),
        data.classes.join(", "),
        model.vectorizer.n_features(),
        started.elapsed().as_secs_f64(),
        args.out.display()
    );
    Ok(())
}

pub fn predict(args: TextPredictArgs) -> Result<(), CliError> {
    let model = text::TextModel::load(&args.model)?;
    let rows = text::read_texts(&args.input, &args.text)?;
    let texts: Vec<&str> = rows.iter().map(|r| r.1.as_str()).collect();
    let mut s = String::from("line,predicted,score\n");
    for ((line, _), (class, score)) in rows.iter().zip(model.predict(&texts, 2)) {
        let class = if class.contains([',', '"', '\n']) {
            format!("\"{}\"", class.replace('"', "\"\""))
        } else {
            class.to_string()
        };
        s.push_str(&format!("{line},{class},{score:.4}\n"));
    }
    match &args.out {
        Some(path) => {
            write_atomic(path, s.as_bytes())?;
            eprintln!("wrote {} predictions to {}", rows.len(), path.display());
        }
        None => std::io::stdout().lock().write_all(s.as_bytes())?,
    }
    Ok(())
}

pub fn eval(args: TextEvalArgs) -> Result<(), CliError> {
    let params = linear_params(&args.model, args.c, args.seed)?;
    let protocol = match args.folds {
        Some(k) if k < 2 => return Err(crate::usage(format!("--folds {k}: at least 2"))),
        Some(k) => Protocol::Folds { k, seed: args.seed },
        None if !(args.test_share > 0.0 && args.test_share < 1.0) => {
            return Err(crate::usage(format!(
                "--test-share {}: a share between 0 and 1",
                args.test_share
            )));
        }
        None => Protocol::Split {
            test_share: args.test_share,
            seed: args.seed,
        },
    };
    let scorer = args
        .lexicon
        .as_deref()
        .map(text::load_lexicon)
        .transpose()?;
    let data = text::read_labelled(&args.input, &args.text, &args.label)?;
    let quiet = args.json;
    let mut progress = |m: &str| {
        if !quiet {
            eprintln!("{m}");
        }
    };
    let e = text::evaluate(&data, protocol, &params, scorer.as_ref(), &mut progress)?;
    if let Some(path) = &args.split_out {
        let mut s = String::new();
        match protocol {
            Protocol::Split { .. } => {
                s.push_str("row,set\n");
                for (i, a) in e.assignment.iter().enumerate() {
                    s.push_str(&format!("{i},{}\n", if *a == 1 { "test" } else { "train" }));
                }
            }
            Protocol::Folds { .. } => {
                s.push_str("row,fold\n");
                for (i, a) in e.assignment.iter().enumerate() {
                    s.push_str(&format!("{i},{a}\n"));
                }
            }
        }
        write_atomic(path, s.as_bytes())?;
        eprintln!("wrote the split to {}", path.display());
    }
    let protocol_text = match protocol {
        Protocol::Split { test_share, seed } => {
            format!(
                "stratified {:.0}/{:.0} split, seed {seed}",
                (1.0 - test_share) * 100.0,
                test_share * 100.0
            )
        }
        Protocol::Folds { k, seed } => format!("stratified {k}-fold, seed {seed}"),
    };
    if args.json {
        return print_json(&json!({
            "input": args.input.display().to_string(), "protocol": protocol_text,
            "model": args.model, "c": args.c,
            "accuracy": e.accuracy, "macro_f1": e.macro_f1,
            "per_class_f1": e.per_class.iter().map(|(c, f)| (c.clone(), json!(f))).collect::<serde_json::Map<_, _>>(),
            "documents": data.texts.len(), "classes": data.classes.len(), "unlabelled": data.unlabelled,
            "train_docs": e.train_docs, "test_docs": e.test_docs, "features": e.features,
            "train_seconds": e.train_seconds, "predict_docs_per_s": e.predict_docs_per_s,
            "lexicon": e.lexicon.map(|(a, f, s)| json!({"accuracy": a, "macro_f1": f, "docs_per_s": s})),
        }));
    }
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{}: {} documents, {} classes ({} without a label); character 1–2-gram TF-IDF + {} (C = {}), {protocol_text}",
        args.input.display(),
        data.texts.len(),
        data.classes.len(),
        data.unlabelled,
        args.model,
        args.c
    )?;
    writeln!(
        out,
        "accuracy {:.4}   macro-F1 {:.4}   ({} test documents, {} features)",
        e.accuracy, e.macro_f1, e.test_docs, e.features
    )?;
    writeln!(
        out,
        "training {:.2} s for {} documents; prediction {:.0} documents/s",
        e.train_seconds, e.train_docs, e.predict_docs_per_s
    )?;
    writeln!(out, "F1 per class:")?;
    for (c, f) in &e.per_class {
        writeln!(out, "  {c:<16} {f:.4}")?;
    }
    if let Some((a, f, s)) = e.lexicon {
        writeln!(
            out,
            "untrained lexicon model on the same rows: accuracy {a:.4}, macro-F1 {f:.4}, {s:.0} documents/s"
        )?;
    }
    Ok(())
}
