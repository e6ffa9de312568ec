//! Accuracy, macro-F1 and speed of the text classifier on a labelled review CSV, on a stratified
//! 80/20 split (seed 42), printed as one JSON line to compare with `bench/text_peer.py`.
//!
//! `cargo run --release -p gridmark-analytics --example text_eval -- --data FILE
//!  [--target label|cat] [--loss svm|lr] [--c C] [--threads N] [--split-out FILE]
//!  [--split FILE] [--lexicon DIR]`
//!
//! The CSV is `waimai_10k.csv` (`label,review`) or the decompressed
//! `online_shopping_10_cats.csv` (`cat,label,review`). `--split-out` writes the split as
//! `row,set` for the peer's `--split`; `--split` reads one instead of drawing it. `--lexicon DIR`
//! also scores the test rows with the BosonNLP lexicon in DIR (for a binary 0/1 target).

use gridmark_analytics::text::{
    LexiconParams, LexiconScorer, TfidfParams, TfidfVectorizer, eval, lexicon, linear,
};
use std::time::Instant;

/// Rows of an RFC 4180 CSV (quoted fields may hold commas, quotes and newlines).
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            (true, '"') => quoted = false,
            (true, _) => field.push(c),
            (false, '"') if field.is_empty() => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\n') => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, '\r') if chars.peek() == Some(&'\n') => {}
            (false, _) => field.push(c),
        }
    }
    if !field.is_empty() || !row.is_empty() {
        row.push(field);
        rows.push(row);
    }
    rows
}

fn main() {
    let mut args = std::env::args().skip(1);
    let (mut data, mut target, mut split_out, mut split_in, mut lexicon_dir) =
        (None, "label".to_owned(), None, None, None);
    let mut params = linear::LinearParams::default();
    while let Some(a) = args.next() {
        let v = args.next();
        match (a.as_str(), v) {
            ("--data", Some(v)) => data = Some(v),
            ("--target", Some(v)) => target = v,
            ("--loss", Some(v)) => {
                params.loss = match v.as_str() {
                    "lr" => linear::Loss::Logistic,
                    _ => linear::Loss::SquaredHinge,
                }
            }
            ("--c", Some(v)) => params.c = v.parse().expect("--c C"),
            ("--threads", Some(v)) => params.threads = v.parse().expect("--threads N"),
            ("--split-out", Some(v)) => split_out = Some(v),
            ("--split", Some(v)) => split_in = Some(v),
            ("--lexicon", Some(v)) => lexicon_dir = Some(v),
            _ => {
                eprintln!(
                    "usage: text_eval --data FILE [--target label|cat] [--loss svm|lr] [--c C] [--threads N] [--split-out FILE] [--split FILE] [--lexicon DIR]"
                );
                std::process::exit(2);
            }
        }
    }
    let data = data.expect("--data FILE");
    let rows = parse_csv(&std::fs::read_to_string(&data).expect("read --data"));
    let header = &rows[0];
    let col = |name: &str| header.iter().position(|h| h == name).expect("column");
    let (t, r) = (col(&target), col("review"));
    let body = &rows[1..];
    let texts: Vec<&str> = body
        .iter()
        .map(|row| row.get(r).map_or("", String::as_str))
        .collect();
    let mut names: Vec<&str> = body.iter().map(|row| row[t].as_str()).collect();
    names.sort_unstable();
    names.dedup();
    let labels: Vec<usize> = body
        .iter()
        .map(|row| names.binary_search(&row[t].as_str()).expect("known label"))
        .collect();

    let split = match &split_in {
        Some(path) => {
            let mut s = eval::Split {
                train: vec![],
                test: vec![],
            };
            for line in std::fs::read_to_string(path)
                .expect("read --split")
                .lines()
                .skip(1)
            {
                let (row, set) = line.split_once(',').expect("row,set");
                let row: usize = row.parse().expect("row");
                if set == "test" {
                    s.test.push(row)
                } else {
                    s.train.push(row)
                }
            }
            s
        }
        None => eval::stratified_split(&labels, 0.2, 42).expect("split"),
    };
    if let Some(path) = &split_out {
        let mut out = String::from("row,set\n");
        let mut set = vec!["train"; labels.len()];
        for &i in &split.test {
            set[i] = "test";
        }
        for (i, s) in set.iter().enumerate() {
            out.push_str(&format!("{i},{s}\n"));
        }
        std::fs::write(path, out).expect("write --split-out");
    }
    let pick = |rows: &[usize]| -> (Vec<&str>, Vec<usize>) {
        (
            rows.iter().map(|&i| texts[i]).collect(),
            rows.iter().map(|&i| labels[i]).collect(),
        )
    };
    let (train_x, train_y) = pick(&split.train);
    let (test_x, test_y) = pick(&split.test);

    let start = Instant::now();
    let vectorizer = TfidfVectorizer::fit(&train_x, &TfidfParams::default()).expect("vocabulary");
    let fitted_vocabulary = start.elapsed().as_secs_f64();
    let x = vectorizer.transform_many(&train_x, params.threads);
    let transformed = start.elapsed().as_secs_f64();
    let model = linear::fit(&x, &train_y, names.len(), &params).expect("fit");
    let train_seconds = start.elapsed().as_secs_f64();

    let start = Instant::now();
    let xt = vectorizer.transform_many(&test_x, 1);
    let predicted: Vec<usize> = xt.iter().map(|v| model.predict(v)).collect();
    let predict_seconds = start.elapsed().as_secs_f64();

    let lexicon_json = lexicon_dir.map(|dir| {
        let read = |f: &str| std::fs::read_to_string(format!("{dir}/{f}")).expect("lexicon file");
        let lex = gridmark_analytics::text::Lexicon::new(
            lexicon::parse_word_scores(&read("BosonNLP_sentiment_score.txt")).expect("scores"),
            lexicon::parse_degree_words(&read("degreeDict.utf8.txt")).expect("degree"),
            lexicon::parse_word_list(&read("notDict.utf8.txt")),
        );
        let user = ["台区", "阶梯电价", "峰谷电价", "欠费", "停电", "电表"];
        let scorer = LexiconScorer::new(lex, &user, LexiconParams::default()).expect("scorer");
        let start = Instant::now();
        let guess: Vec<usize> = test_x
            .iter()
            .map(|t| usize::from(scorer.score(t).score > 0.0))
            .collect();
        let secs = start.elapsed().as_secs_f64();
        format!(
            ",\"lexicon_accuracy\":{:.4},\"lexicon_macro_f1\":{:.4},\"lexicon_docs_per_s\":{:.0}",
            eval::accuracy(&test_y, &guess).unwrap_or(f64::NAN),
            eval::macro_f1(&test_y, &guess).unwrap_or(f64::NAN),
            test_x.len() as f64 / secs
        )
    });

    println!(
        "{{\"data\":{data:?},\"loss\":\"{:?}\",\"c\":{},\"train\":{},\"test\":{},\"features\":{},\"accuracy\":{:.4},\"macro_f1\":{:.4},\"train_seconds\":{train_seconds:.3},\"vocabulary_seconds\":{fitted_vocabulary:.3},\"transform_seconds\":{:.3},\"max_epochs_used\":{},\"predict_docs_per_s\":{:.0}{}}}",
        params.loss,
        params.c,
        train_x.len(),
        test_x.len(),
        vectorizer.n_features(),
        eval::accuracy(&test_y, &predicted).unwrap_or(f64::NAN),
        eval::macro_f1(&test_y, &predicted).unwrap_or(f64::NAN),
        transformed - fitted_vocabulary,
        model.epochs().iter().max().unwrap_or(&0),
        test_x.len() as f64 / predict_seconds,
        lexicon_json.unwrap_or_default(),
    );
}
