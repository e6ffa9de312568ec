//! Labelled text files (reviews, work orders) for `gridmark text eval`: reading any CSV with a
//! text and a label column (quoted fields may hold commas and line breaks; `.gz` is read as
//! such), the evaluation protocols (a stratified hold-out split or stratified k-fold) of the
//! character n-gram TF-IDF + linear classifier, and the training-free lexicon scorer beside it.

use crate::JobError;
use gridmark_analytics::text::{
    LexiconParams, LexiconScorer, LinearParams, TfidfParams, TfidfVectorizer, eval, lexicon, linear,
};
use gridmark_ingest::csv::{records, split_line};
use gridmark_ingest::source::{open_text, sniff};
use std::io::Read;
use std::path::Path;
use std::time::Instant;

/// Power-industry terms kept whole when the lexicon scorer segments Chinese text.
pub const POWER_TERMS: &[&str] = &[
    "台区",
    "阶梯电价",
    "峰谷电价",
    "分时电价",
    "尖峰电价",
    "一般工商业",
    "电价调整",
    "调价",
    "电价",
    "电费",
    "电量",
    "账单",
    "电子账单",
    "读数",
    "估抄",
    "抄表",
    "缴费",
    "交费",
    "欠费",
    "催费",
    "违约金",
    "滞纳金",
    "余额",
    "退费",
    "发票",
    "代扣",
    "扣款",
    "停电",
    "来电",
    "抢修",
    "跳闸",
    "漏电",
    "电压",
    "电表",
    "电表箱",
    "表箱",
    "计量",
    "进户线",
    "变压器",
    "线路",
    "供电所",
    "供电",
    "用电",
    "报装",
    "新装",
    "增容",
    "过户",
    "销户",
    "户名",
    "户号",
    "营业厅",
    "客服",
    "工作人员",
    "热线",
    "网上国网",
    "掌上电力",
    "手机",
    "微信",
    "支付宝",
    "充电桩",
    "光伏",
    "并网",
    "预付费",
    "工单",
    "窗口",
    "排队",
    "通知",
    "公告",
    "系统",
    "师傅",
    "电工",
    "空调",
    "冰箱",
    "路灯",
    "私拉",
    "偷电",
    "电线",
];

/// Texts with their labels as class numbers (classes sorted by name).
#[derive(Debug, Clone, Default)]
pub struct LabelledTexts {
    pub texts: Vec<String>,
    pub labels: Vec<usize>,
    pub classes: Vec<String>,
    /// Rows left out for an empty label.
    pub unlabelled: usize,
}

fn io_err(path: &Path, e: std::io::Error) -> JobError {
    JobError::Io {
        path: path.into(),
        source: e,
    }
}

/// A whole CSV (or CSV.gz) as its header and the rows' fields with their line numbers.
/// Quoted fields may span lines; a BOM is dropped; a row of the wrong width names its line.
/// A header and its rows, each with the line it starts on.
pub type Table = (Vec<String>, Vec<(u64, Vec<String>)>);

pub fn read_table(path: &Path) -> Result<Table, JobError> {
    let mut bytes = Vec::new();
    open_text(path, sniff(path)?)?
        .read_to_end(&mut bytes)
        .map_err(|e| io_err(path, e))?;
    let bad = |line: u64, why: String| table_err(path, line, why);
    let text = std::str::from_utf8(&bytes).map_err(|e| {
        bad(
            1 + bytes[..e.valid_up_to()]
                .iter()
                .filter(|&&b| b == b'\n')
                .count() as u64,
            "not UTF-8 text".into(),
        )
    })?;
    // A byte-order mark would become part of the first column's name.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut recs = records(text.as_bytes());
    let (_, header) = recs
        .next()
        .ok_or_else(|| bad(1, "the file is empty".into()))?;
    let mut fields = Vec::new();
    split_line(header, b',', &mut fields).map_err(|e| bad(1, e))?;
    let names: Vec<String> = fields
        .iter()
        .map(|f| String::from_utf8_lossy(f).trim().to_string())
        .collect();
    let mut rows = Vec::new();
    for (line, rec) in recs {
        if rec.iter().all(|b| b.is_ascii_whitespace()) {
            continue;
        }
        split_line(rec, b',', &mut fields).map_err(|e| bad(line, e))?;
        if fields.len() != names.len() {
            return Err(bad(
                line,
                format!(
                    "{} fields where the header has {}",
                    fields.len(),
                    names.len()
                ),
            ));
        }
        rows.push((
            line,
            fields
                .iter()
                .map(|f| String::from_utf8_lossy(f).into_owned())
                .collect(),
        ));
    }
    Ok((names, rows))
}

fn table_err(path: &Path, line: u64, why: String) -> JobError {
    JobError::invalid(format!("{}: line {line}", path.display()), why)
}

/// The position of column `name`, or an error listing the header.
fn column(path: &Path, names: &[String], name: &str) -> Result<usize, JobError> {
    names.iter().position(|n| n == name).ok_or_else(|| {
        table_err(
            path,
            1,
            format!("no `{name}` column (the header has: {})", names.join(", ")),
        )
    })
}

/// Reads `text_col` and `label_col` of a CSV (any other columns are ignored).
pub fn read_labelled(
    path: &Path,
    text_col: &str,
    label_col: &str,
) -> Result<LabelledTexts, JobError> {
    let (names, rows) = read_table(path)?;
    let (t, l) = (
        column(path, &names, text_col)?,
        column(path, &names, label_col)?,
    );
    let mut raw: Vec<(String, String)> = Vec::new();
    let mut unlabelled = 0;
    for (_, mut cells) in rows {
        let label = cells[l].trim().to_string();
        if label.is_empty() {
            unlabelled += 1;
            continue;
        }
        raw.push((std::mem::take(&mut cells[t]), label));
    }
    if raw.is_empty() {
        return Err(table_err(path, 1, "no labelled rows".into()));
    }
    let mut classes: Vec<String> = raw.iter().map(|r| r.1.clone()).collect();
    classes.sort();
    classes.dedup();
    if classes.len() < 2 {
        return Err(JobError::invalid(
            path.display().to_string(),
            format!(
                "`{label_col}` has one value only ({}): nothing to learn",
                classes[0]
            ),
        ));
    }
    let mut out = LabelledTexts {
        unlabelled,
        ..LabelledTexts::default()
    };
    for (text, label) in raw {
        out.labels
            .push(classes.binary_search(&label).expect("a collected class"));
        out.texts.push(text);
    }
    out.classes = classes;
    Ok(out)
}

/// Reads the BosonNLP scores, degree words and negation words from a directory holding
/// `BosonNLP_sentiment_score.txt`, `degreeDict.utf8.txt` and `notDict.utf8.txt`.
pub fn read_lexicon(dir: &Path) -> Result<gridmark_analytics::text::Lexicon, JobError> {
    let read = |name: &str| {
        let p = dir.join(name);
        std::fs::read_to_string(&p).map_err(|e| io_err(&p, e))
    };
    let named = |name: &str, e: gridmark_analytics::text::TextError| {
        JobError::invalid(dir.join(name).display().to_string(), e.to_string())
    };
    let scores = lexicon::parse_word_scores(&read("BosonNLP_sentiment_score.txt")?)
        .map_err(|e| named("BosonNLP_sentiment_score.txt", e))?;
    let degrees = lexicon::parse_degree_words(&read("degreeDict.utf8.txt")?)
        .map_err(|e| named("degreeDict.utf8.txt", e))?;
    let negations = lexicon::parse_word_list(&read("notDict.utf8.txt")?);
    Ok(gridmark_analytics::text::Lexicon::new(
        scores, degrees, negations,
    ))
}

/// The BosonNLP lexicon as it is (no service words laid over), for `text eval --lexicon`.
pub fn load_lexicon(dir: &Path) -> Result<LexiconScorer, JobError> {
    LexiconScorer::new(read_lexicon(dir)?, POWER_TERMS, LexiconParams::default())
        .map_err(|e| JobError::invalid(dir.display().to_string(), e.to_string()))
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Protocol {
    /// One stratified hold-out split with this share of the rows in the test set.
    Split { test_share: f64, seed: u64 },
    /// Stratified k-fold; every row is predicted once by the model that did not see it.
    Folds { k: usize, seed: u64 },
}

/// What an evaluation measured.
#[derive(Debug, Clone)]
pub struct TextEvaluation {
    pub accuracy: f64,
    pub macro_f1: f64,
    /// F1 per class name.
    pub per_class: Vec<(String, f64)>,
    pub train_docs: usize,
    pub test_docs: usize,
    /// Features of the (last) vocabulary.
    pub features: usize,
    /// Vocabulary, TF-IDF and classifier, summed over folds.
    pub train_seconds: f64,
    /// Test documents per second, TF-IDF included.
    pub predict_docs_per_s: f64,
    /// The untrained lexicon scorer on the same test rows (two classes only): accuracy,
    /// macro-F1, documents per second. Class 1 (the second name) is positive.
    pub lexicon: Option<(f64, f64, f64)>,
    /// Each row's set (`true` = test) or fold.
    pub assignment: Vec<usize>,
}

/// Runs the protocol: fit the vocabulary and classifier on the training rows only, predict the
/// test rows.
pub fn evaluate(
    data: &LabelledTexts,
    protocol: Protocol,
    params: &LinearParams,
    lexicon: Option<&LexiconScorer>,
    progress: &mut dyn FnMut(&str),
) -> Result<TextEvaluation, JobError> {
    let n = data.labels.len();
    let invalid =
        |e: gridmark_analytics::text::TextError| JobError::invalid("text model", e.to_string());
    let (assignment, rounds): (Vec<usize>, usize) = match protocol {
        Protocol::Split { test_share, seed } => {
            let split = eval::stratified_split(&data.labels, test_share, seed).map_err(invalid)?;
            let mut a = vec![0; n];
            for &i in &split.test {
                a[i] = 1;
            }
            (a, 1)
        }
        Protocol::Folds { k, seed } => (eval::stratified_kfold(&data.labels, k, seed), k),
    };
    let mut predicted = vec![usize::MAX; n];
    let (mut train_seconds, mut predict_seconds) = (0.0, 0.0);
    let (mut features, mut train_docs) = (0, 0);
    for round in 0..rounds {
        let test_set = if rounds == 1 { 1 } else { round };
        let train: Vec<usize> = (0..n).filter(|&i| assignment[i] != test_set).collect();
        let test: Vec<usize> = (0..n).filter(|&i| assignment[i] == test_set).collect();
        progress(&format!(
            "round {}/{rounds}: training on {} documents, testing on {}…",
            round + 1,
            train.len(),
            test.len()
        ));
        let texts: Vec<&str> = train.iter().map(|&i| data.texts[i].as_str()).collect();
        let labels: Vec<usize> = train.iter().map(|&i| data.labels[i]).collect();
        let t = Instant::now();
        let vectorizer = TfidfVectorizer::fit(&texts, &TfidfParams::default()).map_err(invalid)?;
        let x = vectorizer.transform_many(&texts, params.threads);
        let model = linear::fit(&x, &labels, data.classes.len(), params).map_err(invalid)?;
        train_seconds += t.elapsed().as_secs_f64();
        features = vectorizer.n_features();
        train_docs += train.len();
        let t = Instant::now();
        let test_texts: Vec<&str> = test.iter().map(|&i| data.texts[i].as_str()).collect();
        let xt = vectorizer.transform_many(&test_texts, params.threads);
        for (&i, v) in test.iter().zip(&xt) {
            predicted[i] = model.predict(v);
        }
        predict_seconds += t.elapsed().as_secs_f64();
    }
    let tested: Vec<usize> = (0..n).filter(|&i| predicted[i] != usize::MAX).collect();
    let truth: Vec<usize> = tested.iter().map(|&i| data.labels[i]).collect();
    let guess: Vec<usize> = tested.iter().map(|&i| predicted[i]).collect();
    let lexicon = match lexicon {
        Some(scorer) if data.classes.len() == 2 => {
            let t = Instant::now();
            let lex: Vec<usize> = tested
                .iter()
                .map(|&i| usize::from(scorer.score(&data.texts[i]).score > 0.0))
                .collect();
            let secs = t.elapsed().as_secs_f64();
            Some((
                eval::accuracy(&truth, &lex).unwrap_or(f64::NAN),
                eval::macro_f1(&truth, &lex).unwrap_or(f64::NAN),
                tested.len() as f64 / secs.max(1e-9),
            ))
        }
        _ => None,
    };
    let per_class = eval::f1_per_class(&truth, &guess)
        .into_iter()
        .map(|(c, f)| (data.classes[c].clone(), f))
        .collect();
    Ok(TextEvaluation {
        accuracy: eval::accuracy(&truth, &guess).unwrap_or(f64::NAN),
        macro_f1: eval::macro_f1(&truth, &guess).unwrap_or(f64::NAN),
        per_class,
        train_docs: train_docs / rounds,
        test_docs: tested.len(),
        features,
        train_seconds,
        predict_docs_per_s: tested.len() as f64 / predict_seconds.max(1e-9),
        lexicon,
        assignment,
    })
}

/// A trained classifier with its vocabulary and class names, as saved by `gridmark text train`.
pub struct TextModel {
    pub classes: Vec<String>,
    pub vectorizer: TfidfVectorizer,
    pub model: linear::LinearModel,
}

impl TextModel {
    /// Fits the vocabulary and classifier on every row.
    pub fn train(data: &LabelledTexts, params: &LinearParams) -> Result<Self, JobError> {
        let invalid =
            |e: gridmark_analytics::text::TextError| JobError::invalid("text model", e.to_string());
        let vectorizer =
            TfidfVectorizer::fit(&data.texts, &TfidfParams::default()).map_err(invalid)?;
        let x = vectorizer.transform_many(&data.texts, params.threads);
        let model = linear::fit(&x, &data.labels, data.classes.len(), params).map_err(invalid)?;
        Ok(TextModel {
            classes: data.classes.clone(),
            vectorizer,
            model,
        })
    }

    /// Writes the model as one JSON document (vocabulary and weights as text inside).
    pub fn save(&self, path: &Path) -> Result<(), JobError> {
        let doc = serde_json::json!({
            "format": "gridmark-text-model 1",
            "classes": self.classes,
            "vectorizer": self.vectorizer.to_text(),
            "model": self.model.to_text(),
        });
        crate::write_atomic(path, doc.to_string().as_bytes())
    }

    pub fn load(path: &Path) -> Result<Self, JobError> {
        let text = std::fs::read_to_string(path).map_err(|e| io_err(path, e))?;
        let bad = |why: String| JobError::invalid(path.display().to_string(), why);
        let v: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| bad(format!("not a saved text model: {e}")))?;
        if v["format"] != "gridmark-text-model 1" {
            return Err(bad(
                "not a gridmark text model (train one with `gridmark text train`)".into(),
            ));
        }
        let classes: Vec<String> =
            serde_json::from_value(v["classes"].clone()).map_err(|e| bad(e.to_string()))?;
        let vectorizer = TfidfVectorizer::from_text(v["vectorizer"].as_str().unwrap_or_default())
            .map_err(|e| bad(format!("vocabulary: {e}")))?;
        let model = linear::LinearModel::from_text(v["model"].as_str().unwrap_or_default())
            .map_err(|e| bad(format!("weights: {e}")))?;
        if model.n_classes() != classes.len() {
            return Err(bad("class names and weights do not match".into()));
        }
        Ok(TextModel {
            classes,
            vectorizer,
            model,
        })
    }

    /// The predicted class name and its decision score for each text.
    pub fn predict(&self, texts: &[&str], threads: usize) -> Vec<(&str, f64)> {
        self.vectorizer
            .transform_many(texts, threads)
            .iter()
            .map(|x| {
                let scores = self.model.scores(x);
                let c = self.model.predict(x);
                (self.classes[c].as_str(), scores[c])
            })
            .collect()
    }
}

/// Reads one text column of a CSV (for applying a saved model), with each row's line number.
pub fn read_texts(path: &Path, text_col: &str) -> Result<Vec<(u64, String)>, JobError> {
    let (names, rows) = read_table(path)?;
    let t = column(path, &names, text_col)?;
    Ok(rows
        .into_iter()
        .map(|(line, mut cells)| (line, std::mem::take(&mut cells[t])))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(name: &str, text: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("gm-text-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn quoted_fields_bom_and_bad_rows() {
        let p = write(
            "a.csv",
            "\u{feff}label,review\n1,\"好吃, 还会再点\"\n0,\"送得太慢\n下次不点了\"\n,没有标签\n1,很快\n",
        );
        let t = read_labelled(&p, "review", "label").unwrap();
        assert_eq!(
            t.texts,
            vec!["好吃, 还会再点", "送得太慢\n下次不点了", "很快"]
        );
        assert_eq!(t.labels, vec![1, 0, 1]);
        assert_eq!(t.classes, vec!["0", "1"]);
        assert_eq!(t.unlabelled, 1);
        let p = write("b.csv", "label,review\n1,a\n0,b,c\n");
        let err = read_labelled(&p, "review", "label")
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 3") && err.contains("3 fields"), "{err}");
        let p = write("d.csv", "label,review\n1,a\n0,b\n");
        let err = read_labelled(&p, "text", "label").unwrap_err().to_string();
        assert!(
            err.contains("no `text` column (the header has: label, review)"),
            "{err}"
        );
        let p = write("c.csv", "label,review\n1,a\n1,b\n");
        let err = read_labelled(&p, "review", "label")
            .unwrap_err()
            .to_string();
        assert!(err.contains("one value only"), "{err}");
    }

    #[test]
    fn both_protocols_learn_a_clear_rule() {
        let mut texts = Vec::new();
        let mut labels = Vec::new();
        for i in 0..200 {
            let good = i % 2 == 0;
            texts.push(if good {
                format!("服务很好{}", i % 7)
            } else {
                format!("电费太贵{}", i % 5)
            });
            labels.push(usize::from(good));
        }
        let data = LabelledTexts {
            texts,
            labels,
            classes: vec!["bad".into(), "good".into()],
            unlabelled: 0,
        };
        for protocol in [
            Protocol::Split {
                test_share: 0.2,
                seed: 1,
            },
            Protocol::Folds { k: 5, seed: 1 },
        ] {
            let e = evaluate(&data, protocol, &LinearParams::default(), None, &mut |_| {}).unwrap();
            assert_eq!(e.accuracy, 1.0, "{protocol:?}");
            assert_eq!(e.macro_f1, 1.0);
        }
        let e = evaluate(
            &data,
            Protocol::Folds { k: 5, seed: 1 },
            &LinearParams::default(),
            None,
            &mut |_| {},
        )
        .unwrap();
        assert_eq!(e.test_docs, 200);
        assert_eq!(e.train_docs, 160);
    }
}
