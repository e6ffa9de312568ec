//! `gridmark text eval|train|predict|analyze`.

use crate::CliError;
use crate::cli::{TextAnalyzeArgs, TextEvalArgs, TextPredictArgs, TextTrainArgs};
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
    // `builtin`: the service lexicon `text analyze` uses by default; `DIR`: BosonNLP as it is;
    // `DIR` with --service-words: BosonNLP with the service words laid over (`--lexicons DIR`).
    let scorer = match args.lexicon.as_deref() {
        None => None,
        Some(p) if p.as_os_str() == "builtin" => {
            Some(gridmark_jobs::text_analyze::sentiment_scorer(None, 0.0)?)
        }
        Some(p) if args.service_words => {
            Some(gridmark_jobs::text_analyze::sentiment_scorer(Some(p), 0.0)?)
        }
        Some(p) => Some(text::load_lexicon(p)?),
    };
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

pub fn analyze(data: Option<&std::path::Path>, args: TextAnalyzeArgs) -> Result<(), CliError> {
    use gridmark_analytics::text::TopicParams;
    use gridmark_jobs::text_analyze::{self, AnalyzeOptions};
    if !(args.neutral_band.is_finite() && args.neutral_band >= 0.0) {
        return Err(crate::usage(format!(
            "--neutral-band {}: must be 0 or more",
            args.neutral_band
        )));
    }
    if !(args.alpha > 0.0 && args.alpha < 1.0) {
        return Err(crate::usage(format!(
            "--alpha {}: a probability between 0 and 1",
            args.alpha
        )));
    }
    if !(args.min_ratio.is_finite() && args.min_ratio >= 1.0) {
        return Err(crate::usage(format!(
            "--min-ratio {}: at least 1",
            args.min_ratio
        )));
    }
    let dir = crate::cli::data_dir(data)?;
    let lake = gridmark_lake::Lake::open(&dir)?;
    let options = AnalyzeOptions {
        lexicon_dir: args.lexicons.clone(),
        model: args.model.clone(),
        neutral_band: args.neutral_band,
        keywords: args.keywords,
        topics: TopicParams {
            min_docs: args.min_docs,
            min_ratio: args.min_ratio,
            alpha: args.alpha,
            hot_per_week: 30,
            ..TopicParams::default()
        },
        ..AnalyzeOptions::default()
    };
    let quiet = args.json;
    let started = std::time::Instant::now();
    let mut progress = |m: &str| {
        if !quiet {
            eprintln!("[{:6.1} s] {m}", started.elapsed().as_secs_f64());
        }
    };
    let r = text_analyze::analyze(
        &lake,
        std::sync::Arc::new(gridmark_core::SystemClock),
        &options,
        &mut progress,
    )?;
    let languages = r.count_by(|d| Some(d.language.to_string()));
    let sentiments = r.count_by(|d| Some(d.sentiment.to_string()));
    let categories = r.count_by(|d| d.category.clone());
    let mut causes: std::collections::BTreeMap<&str, usize> = Default::default();
    for l in &r.links {
        *causes.entry(l.cause).or_default() += 1;
    }
    // One line per topic: the head term, with the terms grouped under it.
    let heads = |keep: &dyn Fn(&text_analyze::TopicRow) -> bool| -> Vec<TopicLine> {
        let mut out: Vec<TopicLine> = Vec::new();
        for t in r.topics.iter().filter(|t| keep(t)) {
            match out
                .iter_mut()
                .find(|l| l.head.week == t.week && l.head.term == t.topic)
            {
                Some(l) => l.also.push(t.term.clone()),
                None if t.term == t.topic => out.push(TopicLine {
                    head: t.clone(),
                    also: Vec::new(),
                }),
                None => {}
            }
        }
        out
    };
    let emerging = heads(&|t| t.emerging);
    // The latest full week: the data's last week is often cut short.
    let last_day = r
        .documents
        .iter()
        .map(|d| d.ts.div_euclid(86_400_000))
        .max()
        .unwrap_or(0);
    let monday = (last_day + 3).div_euclid(7) * 7 - 3;
    let full = if last_day - monday >= 6 {
        monday
    } else {
        monday - 7
    };
    let last_week_s = gridmark_core::civil::format_date(full);
    let last_week = last_week_s.as_str();
    let mut hot = heads(&|t| t.week == last_week && t.hot_rank.is_some() && !t.emerging);
    hot.sort_by_key(|l| std::cmp::Reverse(l.head.docs));
    hot.truncate(10);
    if let Some(path) = &args.html {
        write_atomic(path, html_report(&r, &emerging, &hot, &causes).as_bytes())?;
        eprintln!("wrote {}", path.display());
    }
    if args.json {
        let pairs = |v: &[(String, usize)]| {
            v.iter()
                .map(|(k, n)| (k.clone(), json!(n)))
                .collect::<serde_json::Map<_, _>>()
        };
        return print_json(&json!({
            "documents": r.documents.len(),
            "run_id": r.run_id, "version": r.version, "seconds": r.seconds,
            "languages": pairs(&languages), "sentiment": pairs(&sentiments),
            "categories": pairs(&categories), "category_source": r.categories,
            "emerging": emerging, "hot_last_week": hot,
            "emerging_terms": r.topics.iter().filter(|t| t.emerging).count(),
            "complaints": r.links.len(), "causes": causes,
        }));
    }
    let mut out = std::io::stdout().lock();
    let share = |n: usize| 100.0 * n as f64 / r.documents.len().max(1) as f64;
    writeln!(
        out,
        "{} texts analysed in {:.1} s (lake version {})",
        r.documents.len(),
        r.seconds,
        r.version
    )?;
    let line = |v: &[(String, usize)]| {
        v.iter()
            .map(|(k, n)| format!("{k} {n} ({:.0} %)", share(*n)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    writeln!(out, "languages: {}", line(&languages))?;
    writeln!(out, "sentiment: {}", line(&sentiments))?;
    write!(out, "categories: {}", r.categories.from)?;
    match r.categories.holdout {
        Some((acc, f1, n)) => writeln!(
            out,
            "; on {n} held-out orders accuracy {acc:.3}, macro-F1 {f1:.3}"
        )?,
        None => writeln!(out)?,
    }
    if !categories.is_empty() {
        writeln!(out, "  {}", line(&categories))?;
    }
    writeln!(
        out,
        "\nemerging topics ({} over all weeks; p: one-sided Poisson against the 8 weeks before):",
        emerging.len()
    )?;
    writeln!(
        out,
        "  {:<10} {:<14} {:>6} {:>9} {:>10}  with",
        "week", "term", "docs", "expected", "p"
    )?;
    for l in emerging.iter().take(args.top) {
        let t = &l.head;
        writeln!(
            out,
            "  {:<10} {:<14} {:>6} {:>9.1} {:>10}  {}",
            t.week,
            t.term,
            t.docs,
            t.expected.unwrap_or(f64::NAN),
            p_value(t.p_value),
            also(&l.also)
        )?;
    }
    if !hot.is_empty() {
        writeln!(
            out,
            "\nhot topics of the week of {last_week} (the latest full week): {}",
            hot.iter()
                .map(|l| format!("{} ({})", l.head.term, l.head.docs))
                .collect::<Vec<_>>()
                .join(", ")
        )?;
    }
    writeln!(
        out,
        "\n{} complaints linked to their accounts' data; likely causes: {}",
        r.links.len(),
        causes
            .iter()
            .map(|(k, n)| format!("{k} {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    )?;
    for l in r.links.iter().filter(|l| l.cause != "none").take(args.top) {
        writeln!(out, "  {:<12} {}", l.order_id, l.explanation)?;
    }
    writeln!(
        out,
        "\nstored text_documents, text_topics and complaint_links (try: gridmark sql \"SELECT cause, count(*) FROM complaint_links GROUP BY 1\")"
    )?;
    Ok(())
}

/// A topic as shown: its head term and the terms grouped under it.
#[derive(serde::Serialize)]
struct TopicLine {
    #[serde(flatten)]
    head: gridmark_jobs::text_analyze::TopicRow,
    also: Vec<String>,
}

fn html_report(
    r: &gridmark_jobs::text_analyze::AnalyzeReport,
    emerging: &[TopicLine],
    hot: &[TopicLine],
    causes: &std::collections::BTreeMap<&str, usize>,
) -> String {
    use gridmark_jobs::html::Page;
    let mut page = Page::new("Work orders and comments: what customers say");
    let negative = r
        .results
        .iter()
        .filter(|d| d.sentiment == "negative")
        .count();
    page.tiles(&[
        ("texts", r.documents.len().to_string()),
        (
            "negative",
            format!(
                "{:.0} %",
                100.0 * negative as f64 / r.documents.len().max(1) as f64
            ),
        ),
        ("emerging topics", emerging.len().to_string()),
        ("complaints linked", r.links.len().to_string()),
    ]);
    // Weekly volume and negative share.
    let mut weeks: std::collections::BTreeMap<i64, (f64, f64)> = Default::default();
    for (d, x) in r.documents.iter().zip(&r.results) {
        let w = (d.ts.div_euclid(86_400_000) + 3).div_euclid(7) * 7 - 3;
        let e = weeks.entry(w).or_default();
        e.0 += 1.0;
        if x.sentiment == "negative" {
            e.1 += 1.0;
        }
    }
    let x: Vec<String> = weeks
        .keys()
        .map(|&d| gridmark_core::civil::format_date(d))
        .collect();
    page.line_chart(
        "texts per week",
        &x,
        &[("texts", weeks.values().map(|v| v.0).collect())],
    );
    page.line_chart(
        "share negative per week, %",
        &x,
        &[(
            "negative %",
            weeks.values().map(|v| 100.0 * v.1 / v.0.max(1.0)).collect(),
        )],
    );
    page.h2("Emerging topics");
    page.p("Terms whose weekly documents jump against the 8 weeks before (one-sided Poisson, Bonferroni over the week's terms); terms found in nearly the same documents are one topic.");
    let rows: Vec<Vec<String>> = emerging
        .iter()
        .map(|l| {
            let t = &l.head;
            vec![
                t.week.clone(),
                t.term.clone(),
                l.also.join(" "),
                t.docs.to_string(),
                format!("{:.1}", t.expected.unwrap_or(f64::NAN)),
                p_value(t.p_value),
                t.example.clone().unwrap_or_default(),
            ]
        })
        .collect();
    page.table(
        &["week", "topic", "with", "docs", "expected", "p", "example"],
        &rows,
    );
    page.h2("Hot terms of the latest week");
    page.bar_chart(
        "documents",
        &hot.iter()
            .map(|l| (l.head.term.clone(), l.head.docs as f64))
            .collect::<Vec<_>>(),
    );
    page.h2("Complaints and their likely causes");
    page.bar_chart(
        "complaints by likely cause",
        &causes
            .iter()
            .map(|(k, n)| (k.to_string(), *n as f64))
            .collect::<Vec<_>>(),
    );
    let rows: Vec<Vec<String>> = r
        .links
        .iter()
        .filter(|l| l.cause != "none")
        .take(200)
        .map(|l| {
            vec![
                l.order_id.clone(),
                l.customer_id.clone().unwrap_or_default(),
                gridmark_core::civil::format_utc(l.created_at),
                l.explanation.clone(),
            ]
        })
        .collect();
    page.table(&["order", "customer", "opened", "likely cause"], &rows);
    page.finish()
}

/// A p-value as text; below what a double holds it is shown as a bound, not as 0.
fn p_value(p: Option<f64>) -> String {
    match p {
        None => "—".into(),
        Some(p) if p < 1e-300 => "<1e-300".into(),
        Some(p) => format!("{p:.1e}"),
    }
}

/// The first terms grouped under a topic, for one line of text.
fn also(terms: &[String]) -> String {
    let mut s = terms.iter().take(8).cloned().collect::<Vec<_>>().join(" ");
    if terms.len() > 8 {
        s.push_str(&format!(" … (+{})", terms.len() - 8));
    }
    s
}
