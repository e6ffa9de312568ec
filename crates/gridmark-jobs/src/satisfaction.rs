//! `gridmark satisfaction`: CSAT and NPS by channel, region, customer class, business type
//! (work-order category), kind of contact and staff member, with 95 % confidence intervals;
//! significant changes between consecutive periods (Welch's test on CSAT, the multinomial test
//! on NPS, Benjamini–Hochberg over every test made); what goes with low scores; and the
//! sentiment of the comments beside the scores.
//!
//! Definitions: CSAT is the mean 1–5 answer and "satisfied" the share answering 4 or 5; a low
//! score is 1 or 2; NPS is % answering 9–10 minus % answering 0–6. Surveys that follow no work
//! order count under the business type `relationship`.
//!
//! Low-score drivers are read two ways: the share of low scores in each level of each factor
//! against the overall share (lift), and a least-squares model of CSAT on the work order's
//! category, kind, channel and log resolution time together, so that a category is not
//! blamed for the waits that go with it.

use crate::JobError;
use crate::query::Query;
use crate::service_data::{Answer, Granularity, Period, ServiceData};
use gridmark_analytics::linalg::{Matrix, cholesky, cholesky_solve_in_place};
use gridmark_analytics::stats::{self, Moments, Nps};
use gridmark_analytics::text::Sentiment;
use gridmark_lake::Lake;
use std::collections::BTreeMap;

/// Levels of a factor with fewer answers than this share the reference level in the model.
pub const MIN_LEVEL_ANSWERS: u64 = 20;
/// Periods with fewer answers than this are not tested for a change.
pub const MIN_TEST_ANSWERS: u64 = 20;

/// Scores of one group.
#[derive(Debug, Clone, serde::Serialize)]
pub struct GroupScore {
    pub dimension: String,
    pub group: String,
    pub answers: u64,
    pub csat: Option<f64>,
    pub csat_low: Option<f64>,
    pub csat_high: Option<f64>,
    pub satisfied_share: Option<f64>,
    pub satisfied_low: Option<f64>,
    pub satisfied_high: Option<f64>,
    pub low_share: Option<f64>,
    pub nps_answers: u64,
    pub nps: Option<f64>,
    pub nps_low: Option<f64>,
    pub nps_high: Option<f64>,
    pub comments: u64,
    /// Share of comments the lexicon reads as negative.
    pub negative_comments: Option<f64>,
    pub mean_sentiment: Option<f64>,
}

/// Scores of one group in one period.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PeriodScore {
    pub dimension: String,
    pub group: String,
    pub period: String,
    pub answers: u64,
    pub csat: Option<f64>,
    pub csat_low: Option<f64>,
    pub csat_high: Option<f64>,
    pub nps: Option<f64>,
}

/// A change between consecutive periods that survives the false-discovery-rate control.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Change {
    pub dimension: String,
    pub group: String,
    pub metric: &'static str,
    pub from: String,
    pub to: String,
    pub before: f64,
    pub after: f64,
    pub difference: f64,
    pub p: f64,
    /// Benjamini–Hochberg adjusted p over every test made.
    pub q: f64,
    pub answers_before: u64,
    pub answers_after: u64,
}

/// A level of a factor and how often it goes with a low score.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Driver {
    pub factor: &'static str,
    pub level: String,
    pub answers: u64,
    pub csat: f64,
    pub low_share: f64,
    pub low_share_low: f64,
    pub low_share_high: f64,
    /// Low share over the overall low share.
    pub lift: f64,
}

/// One term of the CSAT model: the change in mean CSAT against the reference level (or per
/// unit of a numeric term), other terms held fixed.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Effect {
    pub term: String,
    pub coefficient: f64,
    pub std_error: f64,
    pub p: f64,
}

/// The whole analysis.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SatisfactionReport {
    pub period: Option<Period>,
    pub answers: usize,
    pub overall: GroupScore,
    pub groups: Vec<GroupScore>,
    pub series: Vec<PeriodScore>,
    pub tests_made: usize,
    pub changes: Vec<Change>,
    pub drivers: Vec<Driver>,
    /// Answers behind the model and its reference levels.
    pub model_answers: usize,
    pub model_reference: String,
    pub model_r2: Option<f64>,
    pub effects: Vec<Effect>,
    /// Pearson correlation of comment sentiment with CSAT.
    pub sentiment_csat_correlation: Option<f64>,
    pub skipped_out_of_scale: usize,
    pub skipped_examples: Vec<String>,
}

/// Options of the analysis.
#[derive(Debug, Clone)]
pub struct SatisfactionOptions {
    pub period: Option<Period>,
    pub by: Granularity,
    /// False-discovery rate for the changes reported.
    pub alpha: f64,
}

impl Default for SatisfactionOptions {
    fn default() -> Self {
        Self {
            period: None,
            by: Granularity::Month,
            alpha: 0.05,
        }
    }
}

#[derive(Default, Clone)]
struct Acc {
    csat: Moments,
    satisfied: u64,
    low: u64,
    nps: Nps,
    comments: u64,
    negative: u64,
    sentiment: Moments,
}

impl Acc {
    fn push(&mut self, a: &Answer, sentiment: Option<(f64, Sentiment)>) {
        if let Some(c) = a.csat {
            self.csat.push(c as f64);
            self.satisfied += u64::from(c >= 4);
            self.low += u64::from(c <= 2);
        }
        if let Some(n) = a.nps {
            self.nps.push(n);
        }
        if let Some((s, label)) = sentiment {
            self.comments += 1;
            self.negative += u64::from(label == Sentiment::Negative);
            self.sentiment.push(s);
        }
    }

    fn score(&self, dimension: &str, group: &str) -> GroupScore {
        let n = self.csat.n;
        let ci = self.csat.ci95();
        let sat = stats::wilson95(self.satisfied, n);
        let nps_ci = self.nps.ci95();
        GroupScore {
            dimension: dimension.to_string(),
            group: group.to_string(),
            answers: n,
            csat: (n > 0).then_some(self.csat.mean),
            csat_low: ci.map(|c| c.0),
            csat_high: ci.map(|c| c.1),
            satisfied_share: (n > 0).then(|| self.satisfied as f64 / n as f64),
            satisfied_low: sat.map(|c| c.0),
            satisfied_high: sat.map(|c| c.1),
            low_share: (n > 0).then(|| self.low as f64 / n as f64),
            nps_answers: self.nps.n(),
            nps: self.nps.score(),
            nps_low: nps_ci.map(|c| c.0),
            nps_high: nps_ci.map(|c| c.1),
            comments: self.comments,
            negative_comments: (self.comments > 0)
                .then(|| self.negative as f64 / self.comments as f64),
            mean_sentiment: (self.comments > 0).then_some(self.sentiment.mean),
        }
    }
}

/// The dimensions every answer is grouped by.
pub const DIMENSIONS: [&str; 6] = ["channel", "region", "class", "business", "kind", "staff"];

fn wait_bucket(hours: Option<f64>) -> &'static str {
    match hours {
        None => "not closed",
        Some(h) if h < 4.0 => "< 4 h",
        Some(h) if h < 24.0 => "4–24 h",
        Some(h) if h < 72.0 => "1–3 days",
        Some(h) if h < 168.0 => "3–7 days",
        Some(_) => "> 7 days",
    }
}

/// Reads the lake and runs the analysis.
pub fn analyze(
    lake: &Lake,
    q: &Query,
    opts: &SatisfactionOptions,
) -> Result<SatisfactionReport, JobError> {
    let data = ServiceData::read(lake, q)?;
    analyze_data(&data, opts)
}

/// The analysis on records already read.
pub fn analyze_data(
    data: &ServiceData,
    opts: &SatisfactionOptions,
) -> Result<SatisfactionReport, JobError> {
    let answers: Vec<&Answer> = data
        .answers
        .iter()
        .filter(|a| opts.period.as_ref().is_none_or(|p| p.contains(a.day)))
        .filter(|a| a.csat.is_some() || a.nps.is_some())
        .collect();
    if answers.is_empty() {
        let why = match &opts.period {
            Some(p) => format!("no survey answer with a CSAT or NPS in {}", p.name),
            None => {
                "no survey answer with a CSAT or NPS: import the `surveys` table first".to_string()
            }
        };
        return Err(JobError::invalid("surveys", why));
    }
    let scorer = crate::text_analyze::sentiment_scorer(None, 0.5)?;
    let sentiments: Vec<Option<(f64, Sentiment)>> = answers
        .iter()
        .map(|a| {
            a.comment.as_deref().map(|c| {
                let (s, _) = scorer.analyze(c);
                (s.score, s.label)
            })
        })
        .collect();
    let group_of = |a: &Answer, dimension: &str| -> String {
        match dimension {
            "channel" => a.channel.clone(),
            "region" | "class" => data.customer_label(a.customer, dimension),
            "business" => a
                .order
                .map_or("relationship".into(), |k| data.orders[k].category.clone()),
            "kind" => a
                .order
                .map_or("relationship".into(), |k| data.orders[k].kind.clone()),
            _ => a.staff_id.clone().unwrap_or_else(|| "(none)".into()),
        }
    };
    // Whole-period scores.
    let mut overall = Acc::default();
    let mut by_group: BTreeMap<(usize, String), Acc> = BTreeMap::new();
    let mut by_period: BTreeMap<(usize, String, String), Acc> = BTreeMap::new();
    let series_dims = ["overall", "channel", "region", "business"];
    for (a, s) in answers.iter().zip(&sentiments) {
        overall.push(a, *s);
        let period = opts.by.label(a.day);
        for (d, dim) in DIMENSIONS.iter().enumerate() {
            let g = group_of(a, dim);
            by_group.entry((d, g.clone())).or_default().push(a, *s);
            if let Some(sd) = series_dims.iter().position(|x| x == dim) {
                by_period
                    .entry((sd, g, period.clone()))
                    .or_default()
                    .push(a, *s);
            }
        }
        by_period
            .entry((0, "all".into(), period))
            .or_default()
            .push(a, *s);
    }
    let groups: Vec<GroupScore> = by_group
        .iter()
        .map(|((d, g), acc)| acc.score(DIMENSIONS[*d], g))
        .collect();
    let series: Vec<PeriodScore> = by_period
        .iter()
        .map(|((d, g, p), acc)| {
            let ci = acc.csat.ci95();
            PeriodScore {
                dimension: series_dims[*d].to_string(),
                group: g.clone(),
                period: p.clone(),
                answers: acc.csat.n,
                csat: (acc.csat.n > 0).then_some(acc.csat.mean),
                csat_low: ci.map(|c| c.0),
                csat_high: ci.map(|c| c.1),
                nps: acc.nps.score(),
            }
        })
        .collect();
    // Consecutive periods of each group (the map is ordered by group, then period; the labels
    // sort in time order).
    let mut candidates: Vec<Change> = Vec::new();
    let keys: Vec<&(usize, String, String)> = by_period.keys().collect();
    for w in keys.windows(2) {
        let (a, b) = (w[0], w[1]);
        if a.0 != b.0 || a.1 != b.1 {
            continue;
        }
        let (x, y) = (&by_period[a], &by_period[b]);
        let base = |metric, before, after, diff, p, nb, na| Change {
            dimension: series_dims[a.0].to_string(),
            group: a.1.clone(),
            metric,
            from: a.2.clone(),
            to: b.2.clone(),
            before,
            after,
            difference: diff,
            p,
            q: 1.0,
            answers_before: nb,
            answers_after: na,
        };
        if x.csat.n >= MIN_TEST_ANSWERS
            && y.csat.n >= MIN_TEST_ANSWERS
            && let Some((diff, p)) = stats::welch(&x.csat, &y.csat)
        {
            candidates.push(base(
                "csat",
                x.csat.mean,
                y.csat.mean,
                diff,
                p,
                x.csat.n,
                y.csat.n,
            ));
        }
        if x.nps.n() >= MIN_TEST_ANSWERS
            && y.nps.n() >= MIN_TEST_ANSWERS
            && let Some((diff, p)) = Nps::test(&x.nps, &y.nps)
        {
            candidates.push(base(
                "nps",
                x.nps.score().unwrap_or(0.0),
                y.nps.score().unwrap_or(0.0),
                diff,
                p,
                x.nps.n(),
                y.nps.n(),
            ));
        }
    }
    let tests_made = candidates.len();
    let qs = stats::benjamini_hochberg(&candidates.iter().map(|c| c.p).collect::<Vec<_>>());
    let mut changes: Vec<Change> = candidates
        .into_iter()
        .zip(qs)
        .filter(|(_, q)| *q <= opts.alpha)
        .map(|(mut c, q)| {
            c.q = q;
            c
        })
        .collect();
    changes.sort_by(|a, b| a.q.total_cmp(&b.q).then(a.group.cmp(&b.group)));

    let (drivers, effects, model_answers, model_reference, model_r2) = drivers(data, &answers);
    let pairs: Vec<(f64, f64)> = answers
        .iter()
        .zip(&sentiments)
        .filter_map(|(a, s)| Some((s.as_ref()?.0, a.csat? as f64)))
        .collect();
    let sentiment_csat_correlation = (pairs.len() >= 3)
        .then(|| {
            let (x, y): (Vec<f64>, Vec<f64>) = pairs.into_iter().unzip();
            stats::pearson(&x, &y)
        })
        .flatten();
    Ok(SatisfactionReport {
        period: opts.period.clone(),
        answers: answers.len(),
        overall: overall.score("overall", "all"),
        groups,
        series,
        tests_made,
        changes,
        drivers,
        model_answers,
        model_reference,
        model_r2,
        effects,
        sentiment_csat_correlation,
        skipped_out_of_scale: data.out_of_scale_count,
        skipped_examples: data.out_of_scale.clone(),
    })
}

type DriverParts = (Vec<Driver>, Vec<Effect>, usize, String, Option<f64>);

/// Low-score shares by factor level, and the CSAT model over the answers that follow a work
/// order.
fn drivers(data: &ServiceData, answers: &[&Answer]) -> DriverParts {
    let rows: Vec<(&Answer, &crate::service_data::Order, i64)> = answers
        .iter()
        .filter_map(|a| Some((*a, &data.orders[a.order?], a.csat?)))
        .collect();
    type LevelOf = fn(&crate::service_data::Order) -> String;
    let factors: [(&'static str, LevelOf); 4] = [
        ("business", |o| o.category.clone()),
        ("kind", |o| o.kind.clone()),
        ("channel", |o| o.channel.clone()),
        ("wait", |o| wait_bucket(o.resolution_hours()).to_string()),
    ];
    let total = rows.len() as u64;
    let low_all = rows.iter().filter(|r| r.2 <= 2).count() as u64;
    let base = low_all as f64 / total.max(1) as f64;
    let mut drivers = Vec::new();
    for (factor, level_of) in &factors {
        let mut levels: BTreeMap<String, (u64, u64, Moments)> = BTreeMap::new();
        for (_, o, c) in &rows {
            let e = levels.entry(level_of(o)).or_default();
            e.0 += 1;
            e.1 += u64::from(*c <= 2);
            e.2.push(*c as f64);
        }
        for (level, (n, low, m)) in levels {
            let (lo, hi) = stats::wilson95(low, n).unwrap_or((0.0, 1.0));
            let share = low as f64 / n as f64;
            drivers.push(Driver {
                factor,
                level,
                answers: n,
                csat: m.mean,
                low_share: share,
                low_share_low: lo,
                low_share_high: hi,
                lift: if base > 0.0 { share / base } else { f64::NAN },
            });
        }
    }
    drivers.sort_by(|a, b| b.lift.total_cmp(&a.lift).then(b.answers.cmp(&a.answers)));

    // Dummy-coded model: the most common level of each factor is the reference.
    let mut terms: Vec<String> = vec!["intercept".into()];
    let mut reference = Vec::new();
    let mut codes: Vec<Vec<(String, usize)>> = Vec::new();
    for (factor, level_of) in factors.iter().take(3) {
        let mut counts: BTreeMap<String, u64> = BTreeMap::new();
        for (_, o, _) in &rows {
            *counts.entry(level_of(o)).or_default() += 1;
        }
        let Some(top) = counts
            .iter()
            .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
            .map(|x| x.0.clone())
        else {
            codes.push(Vec::new());
            continue;
        };
        reference.push(format!("{factor}={top}"));
        let mut mine = Vec::new();
        for (level, n) in counts {
            if level != top && n >= MIN_LEVEL_ANSWERS {
                mine.push((level.clone(), terms.len()));
                terms.push(format!("{factor}={level}"));
            }
        }
        codes.push(mine);
    }
    let wait_term = terms.len();
    terms.push("ln(1 + resolution days)".into());
    let p = terms.len();
    let model_rows: Vec<(Vec<f64>, f64)> = rows
        .iter()
        .filter_map(|(_, o, c)| {
            let hours = o.resolution_hours()?;
            let mut x = vec![0.0; p];
            x[0] = 1.0;
            for ((_, level_of), mine) in factors.iter().take(3).zip(&codes) {
                let level = level_of(o);
                if let Some((_, j)) = mine.iter().find(|(l, _)| *l == level) {
                    x[*j] = 1.0;
                }
            }
            x[wait_term] = (1.0 + hours / 24.0).ln();
            Some((x, *c as f64))
        })
        .collect();
    let n = model_rows.len();
    let mut effects = Vec::new();
    let mut r2 = None;
    if n > p + 10 {
        let mut xtx = Matrix::zeros(p, p);
        let mut xty = Matrix::zeros(p, 1);
        for (x, y) in &model_rows {
            for i in 0..p {
                if x[i] == 0.0 {
                    continue;
                }
                xty.set(i, 0, xty.get(i, 0) + x[i] * y);
                for j in 0..p {
                    xtx.set(i, j, xtx.get(i, j) + x[i] * x[j]);
                }
            }
        }
        // A whisker of ridge keeps an empty or collinear level from breaking the solve.
        for i in 0..p {
            xtx.set(i, i, xtx.get(i, i) + 1e-9 * n as f64);
        }
        if let Ok(l) = cholesky(&xtx) {
            let mut beta = xty.clone();
            cholesky_solve_in_place(&l, &mut beta);
            let mut inv = Matrix::zeros(p, p);
            for i in 0..p {
                inv.set(i, i, 1.0);
            }
            cholesky_solve_in_place(&l, &mut inv);
            let mean_y = model_rows.iter().map(|r| r.1).sum::<f64>() / n as f64;
            let (mut rss, mut tss) = (0.0, 0.0);
            for (x, y) in &model_rows {
                let fit: f64 = (0..p).map(|i| x[i] * beta.get(i, 0)).sum();
                rss += (y - fit).powi(2);
                tss += (y - mean_y).powi(2);
            }
            let sigma2 = rss / (n - p) as f64;
            r2 = (tss > 0.0).then(|| 1.0 - rss / tss);
            for (i, term) in terms.iter().enumerate().skip(1) {
                let se = (sigma2 * inv.get(i, i)).max(0.0).sqrt();
                let coef = beta.get(i, 0);
                effects.push(Effect {
                    term: term.clone(),
                    coefficient: coef,
                    std_error: se,
                    p: if se > 0.0 {
                        stats::two_sided_p(coef / se)
                    } else {
                        1.0
                    },
                });
            }
            effects.sort_by(|a, b| a.coefficient.total_cmp(&b.coefficient));
        }
    }
    (drivers, effects, n, reference.join(", "), r2)
}
