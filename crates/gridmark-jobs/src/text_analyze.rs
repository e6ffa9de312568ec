//! `gridmark text analyze`: every work order and survey comment in the lake read for its
//! language, words, sentiment, category and keywords (`text_documents`), the hot and emerging
//! terms of every week (`text_topics`), and each complaint linked to the facts about its
//! account near its date (`complaint_links`, see [`crate::complaints`]).
//!
//! Sentiment is the lexicon scorer's: the built-in service lexicon, laid over BosonNLP's when a
//! lexicon directory is given. The category comes from a saved model (`gridmark text train`)
//! when one is given; otherwise from a model trained on the lake's own work orders that carry
//! a category (80 % of them, at most 50,000, with its accuracy on the other 20 % reported);
//! with neither, it is left empty.

use crate::JobError;
use crate::query::{Query, strings, timestamps};
use crate::text::{LabelledTexts, POWER_TERMS, TextModel};
use gridmark_analytics::text::builtin::{lay_service_words_over, service_lexicon};
use gridmark_analytics::text::topics::{self, candidate_terms, detect_language, keywords};
use gridmark_analytics::text::{
    LexiconParams, LexiconScorer, LinearParams, Sentiment, TopicParams, eval,
};
use gridmark_core::civil::format_date;
use gridmark_core::{Clock, Rows, catalog, columns::Value};
use gridmark_lake::Lake;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

const MS_PER_DAY: i64 = 86_400_000;
/// Terms of one week whose documents overlap this much (share of the smaller term's
/// documents) are one topic.
pub const TOPIC_OVERLAP: f64 = 0.7;
/// The lake-trained category model, saved under the lake's `models/`.
pub const CATEGORY_MODEL_FILE: &str = "text_category.json";
/// Most labelled work orders used to train the default category model.
pub const MAX_TRAINING_DOCS: usize = 50_000;

/// How to analyse.
#[derive(Debug, Clone)]
pub struct AnalyzeOptions {
    /// Directory with BosonNLP's three files; the built-in lexicon alone when None.
    pub lexicon_dir: Option<PathBuf>,
    /// A saved category model; when None, one is trained on the lake's labelled orders.
    pub model: Option<PathBuf>,
    /// Scores within ±band are neutral.
    pub neutral_band: f64,
    /// Keywords kept per document.
    pub keywords: usize,
    pub topics: TopicParams,
    pub threads: usize,
}

impl Default for AnalyzeOptions {
    fn default() -> Self {
        Self {
            lexicon_dir: None,
            model: None,
            neutral_band: 0.5,
            keywords: 5,
            topics: TopicParams {
                hot_per_week: 30,
                ..TopicParams::default()
            },
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
        }
    }
}

/// One text of the lake.
#[derive(Debug, Clone)]
pub struct Document {
    pub source: &'static str,
    pub id: String,
    pub customer_id: Option<String>,
    pub ts: i64,
    pub kind: Option<String>,
    pub category_given: Option<String>,
    pub text: String,
}

/// What was found in one text.
#[derive(Debug, Clone)]
pub struct DocumentResult {
    pub language: &'static str,
    pub sentiment_score: f64,
    pub sentiment: &'static str,
    pub category: Option<String>,
    pub category_margin: Option<f64>,
    pub keywords: Vec<String>,
    pub words: usize,
}

/// A term of a week's topics.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TopicRow {
    pub week: String,
    pub term: String,
    /// The term heading the group of terms found in nearly the same documents that week.
    pub topic: String,
    pub docs: u32,
    pub share: f64,
    pub hot_rank: Option<usize>,
    pub expected: Option<f64>,
    pub p_value: Option<f64>,
    pub emerging: bool,
    pub example: Option<String>,
}

/// Where the categories came from and how good they are.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CategorySource {
    /// "model FILE", "trained on the lake's work orders" or "none".
    pub from: String,
    pub classes: Vec<String>,
    /// Held-out accuracy and macro-F1 of the lake-trained model, and the test rows.
    pub holdout: Option<(f64, f64, usize)>,
}

/// The outcome of an analysis.
pub struct AnalyzeReport {
    pub run_id: String,
    pub documents: Vec<Document>,
    pub results: Vec<DocumentResult>,
    pub topics: Vec<TopicRow>,
    pub categories: CategorySource,
    pub links: Vec<crate::complaints::ComplaintLink>,
    pub version: u64,
    pub seconds: f64,
}

impl AnalyzeReport {
    /// Documents per (language | sentiment | category) value.
    pub fn count_by(
        &self,
        key: impl Fn(&DocumentResult) -> Option<String>,
    ) -> Vec<(String, usize)> {
        let mut counts: HashMap<String, usize> = HashMap::new();
        for r in &self.results {
            if let Some(k) = key(r) {
                *counts.entry(k).or_default() += 1;
            }
        }
        let mut v: Vec<(String, usize)> = counts.into_iter().collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        v
    }
}

/// The scorer `text analyze` uses: the built-in service lexicon, over BosonNLP's when given.
pub fn sentiment_scorer(
    lexicon_dir: Option<&std::path::Path>,
    neutral_band: f64,
) -> Result<LexiconScorer, JobError> {
    let mut lex = match lexicon_dir {
        Some(dir) => crate::text::read_lexicon(dir)?,
        None => service_lexicon(),
    };
    if lexicon_dir.is_some() {
        lay_service_words_over(&mut lex);
    }
    let params = LexiconParams {
        neutral_band,
        ..LexiconParams::default()
    };
    LexiconScorer::new(lex, POWER_TERMS, params)
        .map_err(|e| JobError::invalid("sentiment lexicon", e.to_string()))
}

/// Reads every work order with text and every survey comment.
pub fn read_documents(q: &Query) -> Result<Vec<Document>, JobError> {
    let mut docs = Vec::new();
    // One pass over both tables: survey comments have no kind or category of their own.
    q.for_each(
        "SELECT 'work_order' AS source, order_id AS id, customer_id, created_at AS ts, kind, \
         category, text FROM work_orders WHERE text IS NOT NULL AND length(trim(text)) > 0 \
         UNION ALL \
         SELECT 'survey', survey_id, customer_id, ts, 'survey', CAST(NULL AS VARCHAR), comment \
         FROM surveys WHERE comment IS NOT NULL AND length(trim(comment)) > 0",
        |b| {
            let (src, id, c, t, k, cat, text) = (
                strings(b, "source")?,
                strings(b, "id")?,
                strings(b, "customer_id")?,
                timestamps(b, "ts")?,
                strings(b, "kind")?,
                strings(b, "category")?,
                strings(b, "text")?,
            );
            for (i, text) in text.into_iter().enumerate() {
                let (Some(id), Some(ts), Some(text)) = (id[i].clone(), t[i], text) else {
                    continue;
                };
                docs.push(Document {
                    source: if src[i].as_deref() == Some("survey") {
                        "survey"
                    } else {
                        "work_order"
                    },
                    id,
                    customer_id: c[i].clone(),
                    ts,
                    kind: k[i].clone(),
                    category_given: cat[i].clone().filter(|s| !s.is_empty()),
                    text,
                });
            }
            Ok(())
        },
    )?;
    // In time order whatever order the tables' files come in, so runs repeat exactly.
    docs.sort_by(|a, b| (a.ts, a.source, &a.id).cmp(&(b.ts, b.source, &b.id)));
    Ok(docs)
}

/// Per-document results before keywords, with term ids into a shared vocabulary.
struct Pass {
    language: &'static str,
    score: f64,
    label: Sentiment,
    words: usize,
    terms: Vec<u32>,
}

/// Language, sentiment and candidate terms of every text, on `threads` threads. Terms are
/// numbered in a vocabulary returned beside.
fn first_pass(
    texts: &[&str],
    scorer: &LexiconScorer,
    threads: usize,
) -> (Vec<Pass>, Vec<String>, Vec<bool>) {
    let chunk = texts.len().div_ceil(threads.max(1)).max(1);
    let parts: Vec<(Vec<Pass>, Vocab)> = std::thread::scope(|s| {
        let handles: Vec<_> = texts
            .chunks(chunk)
            .map(|part| {
                s.spawn(move || {
                    let mut vocab = Vocab::default();
                    let mut terms = Vec::new();
                    let out: Vec<Pass> = part
                        .iter()
                        .map(|text| {
                            let (score, words) = scorer.analyze(text);
                            let refs: Vec<&str> = words.iter().map(String::as_str).collect();
                            candidate_terms(&refs, &mut terms);
                            let ids = terms
                                .drain(..)
                                .map(|(t, bigram)| vocab.intern(t, !bigram))
                                .collect();
                            Pass {
                                language: detect_language(text).code(),
                                score: score.score,
                                label: score.label,
                                words: words.len(),
                                terms: ids,
                            }
                        })
                        .collect();
                    (out, vocab)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("text analysis thread"))
            .collect()
    });
    // One vocabulary: renumber each part's terms.
    let mut vocab = Vocab::default();
    let mut all = Vec::with_capacity(texts.len());
    for (passes, local) in parts {
        let map: Vec<u32> = local
            .names
            .into_iter()
            .zip(local.is_word)
            .map(|(t, w)| vocab.intern(t, w))
            .collect();
        for mut p in passes {
            for t in &mut p.terms {
                *t = map[*t as usize];
            }
            all.push(p);
        }
    }
    (all, vocab.names, vocab.is_word)
}

/// Terms numbered in order of first sight, each marked when it was ever a whole word (not
/// only a character bigram).
#[derive(Default)]
struct Vocab {
    ids: HashMap<String, u32>,
    names: Vec<String>,
    is_word: Vec<bool>,
}

impl Vocab {
    fn intern(&mut self, term: String, is_word: bool) -> u32 {
        let id = match self.ids.get(&term) {
            Some(&id) => id,
            None => {
                let id = self.names.len() as u32;
                self.ids.insert(term.clone(), id);
                self.names.push(term);
                self.is_word.push(false);
                id
            }
        };
        self.is_word[id as usize] |= is_word;
        id
    }
}

/// The category model: the given one, or one trained on the lake's labelled work orders.
fn category_model(
    docs: &[Document],
    options: &AnalyzeOptions,
    progress: &mut dyn FnMut(&str),
) -> Result<(Option<TextModel>, CategorySource), JobError> {
    if let Some(path) = &options.model {
        let model = TextModel::load(path)?;
        let classes = model.classes.clone();
        return Ok((
            Some(model),
            CategorySource {
                from: format!("model {}", path.display()),
                classes,
                holdout: None,
            },
        ));
    }
    let labelled: Vec<(&str, &str)> = docs
        .iter()
        .filter_map(|d| Some((d.text.as_str(), d.category_given.as_deref()?)))
        .collect();
    let mut classes: Vec<String> = labelled.iter().map(|l| l.1.to_string()).collect();
    classes.sort();
    classes.dedup();
    if classes.len() < 2 || labelled.len() < 50 {
        return Ok((
            None,
            CategorySource {
                from: "none (no model given and fewer than 50 labelled work orders in 2 or more categories)".into(),
                classes,
                holdout: None,
            },
        ));
    }
    progress(&format!(
        "training the category model on the lake's {} labelled work orders…",
        labelled.len()
    ));
    let labels: Vec<usize> = labelled
        .iter()
        .map(|l| classes.binary_search(&l.1.to_string()).expect("a class"))
        .collect();
    // A stratified sample caps the cost on a large lake, then 80/20 for the held-out figure.
    let keep_share = (MAX_TRAINING_DOCS as f64 / 0.8 / labelled.len() as f64).min(1.0);
    let rows: Vec<usize> = if keep_share < 1.0 {
        eval::stratified_split(&labels, keep_share, 7)
            .map_err(|e| JobError::invalid("category sample", e.to_string()))?
            .test
    } else {
        (0..labelled.len()).collect()
    };
    let sample_labels: Vec<usize> = rows.iter().map(|&r| labels[r]).collect();
    let split = eval::stratified_split(&sample_labels, 0.2, 42)
        .map_err(|e| JobError::invalid("category model held-out split", e.to_string()))?;
    let pick = |idx: &[usize]| LabelledTexts {
        texts: idx
            .iter()
            .map(|&i| labelled[rows[i]].0.to_string())
            .collect(),
        labels: idx.iter().map(|&i| sample_labels[i]).collect(),
        classes: classes.clone(),
        unlabelled: 0,
    };
    let params = LinearParams {
        threads: options.threads,
        ..LinearParams::default()
    };
    let model = TextModel::train(&pick(&split.train), &params)?;
    let test = pick(&split.test);
    let texts: Vec<&str> = test.texts.iter().map(String::as_str).collect();
    let predicted: Vec<usize> = model
        .predict(&texts, options.threads)
        .iter()
        .map(|p| classes.binary_search(&p.0.to_string()).expect("a class"))
        .collect();
    let holdout = eval::accuracy(&test.labels, &predicted)
        .zip(eval::macro_f1(&test.labels, &predicted))
        .map(|(a, f)| (a, f, test.labels.len()));
    Ok((
        Some(model),
        CategorySource {
            from: format!(
                "trained on the lake's work orders (saved as models/{CATEGORY_MODEL_FILE})"
            ),
            classes,
            holdout,
        },
    ))
}

/// Monday-based week number of a UTC instant (day 0, 1970-01-01, was a Thursday).
fn week_of(ms: i64) -> i64 {
    (ms.div_euclid(MS_PER_DAY) + 3).div_euclid(7)
}

/// Analyses every text of the lake and replaces `text_documents`, `text_topics` and
/// `complaint_links`.
pub fn analyze(
    lake: &Lake,
    clock: Arc<dyn Clock>,
    options: &AnalyzeOptions,
    progress: &mut dyn FnMut(&str),
) -> Result<AnalyzeReport, JobError> {
    let started = clock.now_ms();
    let run_id = crate::vee::run_id(started);
    let q = Query::open(lake)?;
    progress("reading work orders and survey comments…");
    let documents = read_documents(&q)?;
    if documents.is_empty() {
        return Err(JobError::invalid(
            lake.root().display().to_string(),
            "no text to analyse: `work_orders.text` and `surveys.comment` are empty or absent (import them first)",
        ));
    }
    let scorer = sentiment_scorer(options.lexicon_dir.as_deref(), options.neutral_band)?;
    progress(&format!(
        "segmenting and scoring {} texts…",
        documents.len()
    ));
    let texts: Vec<&str> = documents.iter().map(|d| d.text.as_str()).collect();
    let (passes, vocab, is_word) = first_pass(&texts, &scorer, options.threads);

    let (model, categories) = category_model(&documents, options, progress)?;
    if let (Some(m), None) = (&model, &options.model) {
        // Kept so `text predict --model` can apply the lake's own categories to other files.
        let dir = lake.root().join("models");
        std::fs::create_dir_all(&dir).map_err(|source| JobError::Io {
            path: dir.clone(),
            source,
        })?;
        m.save(&dir.join(CATEGORY_MODEL_FILE))?;
    }
    let predicted: Vec<Option<(String, f64)>> = match &model {
        Some(m) => {
            progress("predicting categories…");
            m.predict(&texts, options.threads)
                .into_iter()
                .map(|(c, s)| Some((c.to_string(), s)))
                .collect()
        }
        None => vec![None; documents.len()],
    };

    // Document frequencies for keywords, and per week for topics.
    let mut df = vec![0u32; vocab.len()];
    let mut seen = vec![u32::MAX; vocab.len()];
    for (d, p) in passes.iter().enumerate() {
        for &t in &p.terms {
            if seen[t as usize] != d as u32 {
                seen[t as usize] = d as u32;
                df[t as usize] += 1;
            }
        }
    }
    let n_docs = documents.len() as u32;
    let results: Vec<DocumentResult> = passes
        .iter()
        .zip(predicted)
        .map(|(p, cat)| {
            let top = keywords(&p.terms, |t| df[t as usize], n_docs, options.keywords)
                .into_iter()
                .map(|t| vocab[t as usize].clone())
                .collect();
            DocumentResult {
                language: p.language,
                sentiment_score: p.score,
                sentiment: match p.label {
                    Sentiment::Positive => "positive",
                    Sentiment::Neutral => "neutral",
                    Sentiment::Negative => "negative",
                },
                category_margin: cat.as_ref().map(|c| c.1),
                category: cat.map(|c| c.0),
                keywords: top,
                words: p.words,
            }
        })
        .collect();

    progress("finding hot and emerging terms per week…");
    let topics = weekly_topics(&documents, &passes, &vocab, &is_word, &df, &options.topics);

    progress("linking complaints to their accounts' data…");
    let links = crate::complaints::link(&q, &documents, &results, progress)?;

    progress("storing text_documents, text_topics and complaint_links…");
    let version = store(
        lake,
        clock.clone(),
        &run_id,
        &documents,
        &results,
        &topics,
        &links,
    )?;
    Ok(AnalyzeReport {
        run_id,
        documents,
        results,
        topics,
        categories,
        links,
        version,
        seconds: (clock.now_ms() - started) as f64 / 1000.0,
    })
}

fn weekly_topics(
    docs: &[Document],
    passes: &[Pass],
    vocab: &[String],
    is_word: &[bool],
    df: &[u32],
    params: &TopicParams,
) -> Vec<TopicRow> {
    let first = docs.iter().map(|d| week_of(d.ts)).min().unwrap_or(0);
    let last = docs.iter().map(|d| week_of(d.ts)).max().unwrap_or(0);
    let weeks = (last - first + 1) as usize;
    // Terms too rare overall can be neither hot nor emerging.
    let mut slot = vec![u32::MAX; vocab.len()];
    let mut kept: Vec<u32> = Vec::new();
    for (t, &n) in df.iter().enumerate() {
        if n >= params.min_docs.min(3) {
            slot[t] = kept.len() as u32;
            kept.push(t as u32);
        }
    }
    let mut counts = vec![vec![0u32; weeks]; kept.len()];
    let mut totals = vec![0u32; weeks];
    let mut seen: Vec<u32> = Vec::new();
    for (d, p) in docs.iter().zip(passes) {
        let w = (week_of(d.ts) - first) as usize;
        totals[w] += 1;
        seen.clear();
        for &t in &p.terms {
            let s = slot[t as usize];
            if s != u32::MAX && !seen.contains(&s) {
                seen.push(s);
                counts[s as usize][w] += 1;
            }
        }
    }
    let found = topics::weekly_terms(&counts, &totals, params);
    // The documents of every term found, to group the terms of one phrase into one topic and
    // to show an example.
    let mut row_of: HashMap<(usize, u32), usize> = HashMap::new();
    for (i, f) in found.iter().enumerate() {
        row_of.insert((f.week, kept[f.term]), i);
    }
    let mut doc_lists: Vec<Vec<u32>> = vec![Vec::new(); found.len()];
    for (i, (d, p)) in docs.iter().zip(passes).enumerate() {
        let w = (week_of(d.ts) - first) as usize;
        for &t in &p.terms {
            if let Some(&r) = row_of.get(&(w, t))
                && doc_lists[r].last() != Some(&(i as u32))
            {
                doc_lists[r].push(i as u32);
            }
        }
    }
    let mut topic_of: Vec<usize> = (0..found.len()).collect();
    let mut start = 0;
    while start < found.len() {
        let week = found[start].week;
        let end = start + found[start..].iter().take_while(|f| f.week == week).count();
        for emerging in [true, false] {
            // Best first: emerging before hot, words before bigrams, then more documents.
            let mut rows: Vec<usize> = (start..end)
                .filter(|&r| found[r].emerging == emerging)
                .collect();
            rows.sort_by(|&a, &b| {
                let (ta, tb) = (kept[found[a].term] as usize, kept[found[b].term] as usize);
                is_word[tb]
                    .cmp(&is_word[ta])
                    .then(found[b].docs.cmp(&found[a].docs))
                    .then(vocab[tb].chars().count().cmp(&vocab[ta].chars().count()))
                    .then(ta.cmp(&tb))
            });
            let lists: Vec<Vec<u32>> = rows.iter().map(|&r| doc_lists[r].clone()).collect();
            for (k, head) in topics::group_by_documents(&lists, TOPIC_OVERLAP)
                .into_iter()
                .enumerate()
            {
                topic_of[rows[k]] = rows[head];
            }
        }
        start = end;
    }
    found
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let term = kept[f.term];
            TopicRow {
                week: format_date((first + f.week as i64) * 7 - 3),
                term: vocab[term as usize].clone(),
                topic: vocab[kept[found[topic_of[i]].term] as usize].clone(),
                docs: f.docs,
                share: f.share,
                hot_rank: f.hot_rank,
                expected: f.expected,
                p_value: f.p_value,
                emerging: f.emerging,
                example: (f.emerging && topic_of[i] == i)
                    .then(|| doc_lists[i].first().map(|&d| docs[d as usize].text.clone()))
                    .flatten(),
            }
        })
        .collect()
}

fn replace_table(writer: &mut gridmark_lake::Writer<'_>, table: &str) {
    let old: Vec<String> = writer
        .pending()
        .table(table)
        .map(|t| t.files.iter().map(|f| f.path.clone()).collect())
        .unwrap_or_default();
    for f in old {
        writer.remove_file(table, &f);
    }
}

fn store(
    lake: &Lake,
    clock: Arc<dyn Clock>,
    run_id: &str,
    docs: &[Document],
    results: &[DocumentResult],
    topics: &[TopicRow],
    links: &[crate::complaints::ComplaintLink],
) -> Result<u64, JobError> {
    let s = |v: &Option<String>| v.clone().map_or(Value::Null, Value::Str);
    let f = |v: Option<f64>| v.map_or(Value::Null, Value::Float);
    let mut rows = Rows::new(catalog::table("text_documents")?);
    for (d, r) in docs.iter().zip(results) {
        rows.push(vec![
            d.source.into(),
            d.id.clone().into(),
            run_id.into(),
            s(&d.customer_id),
            Value::Ts(d.ts),
            r.language.into(),
            s(&d.kind),
            s(&d.category_given),
            s(&r.category),
            f(r.category_margin),
            Value::Float(r.sentiment_score),
            r.sentiment.into(),
            if r.keywords.is_empty() {
                Value::Null
            } else {
                r.keywords.join(", ").into()
            },
            (r.words as i64).into(),
        ])?;
    }
    let mut topic_rows = Rows::new(catalog::table("text_topics")?);
    for t in topics {
        let week = gridmark_core::civil::parse_date(t.week.as_bytes()).unwrap_or(0) as i32;
        topic_rows.push(vec![
            Value::Date(week),
            t.term.clone().into(),
            run_id.into(),
            t.topic.clone().into(),
            (t.docs as i64).into(),
            Value::Float(t.share),
            t.hot_rank.map_or(Value::Null, |r| Value::Int(r as i64)),
            f(t.expected),
            f(t.p_value),
            if t.emerging { "yes" } else { "no" }.into(),
            s(&t.example),
        ])?;
    }
    let link_rows = crate::complaints::rows(run_id, links)?;
    let mut writer = lake.writer(clock)?;
    for table in ["text_documents", "text_topics", "complaint_links"] {
        replace_table(&mut writer, table);
    }
    let source = format!("text:{run_id}");
    gridmark_ingest::store_rows(&mut writer, &rows, &source)?;
    if !topic_rows.is_empty() {
        gridmark_ingest::store_rows(&mut writer, &topic_rows, &source)?;
    }
    if !link_rows.is_empty() {
        gridmark_ingest::store_rows(&mut writer, &link_rows, &source)?;
    }
    Ok(writer.commit("text analyze")?.version)
}
