//! `gridmark theft score`: a ranked list of meters to inspect, each with the numbers that put
//! it there.
//!
//! Three kinds of evidence, each scaled to [0, 1] so an inspector can read them:
//! * **shape** — the label-free anomaly score of `gridmark_analytics::theft::UnsupervisedModel`
//!   (distance of the meter's year from the population's shape, roughness, flat or repeated
//!   days, zero runs, reversed seasons, low level), as its percentile among all meters;
//! * **drop** — the largest sustained fall of the meter's daily consumption: one change
//!   point, (mean before − mean after) ÷ mean before, with at least two weeks on each side;
//! * **loss explained** — whether the meter's transformer area lost more energy after that
//!   change point, by about what the meter stopped recording: (area loss after − before) ÷
//!   (meter before − after), clipped to [0, 1]. A bypass moves energy from the meter to the
//!   area's loss; a customer who left or went on holiday does not.
//!
//! * **partial** — a bypass used some hours on some days: the rise in the share of days on
//!   which one 3-hour block read under half its usual share of the day ([`crate::intraday`]).
//!
//! score = (shape + max(drop, min(1, 5 × partial)) + drop × loss explained) ÷ 3: a sustained
//! fall and a partial bypass are two ways of the same thing, so the stronger counts. Each term
//! can be read on its own in the evidence columns.

use crate::JobError;
use crate::daily::{DailyEnergy, common_shape, drop_evidence};
use crate::html::{Page, short};
use crate::query::{Query, strings};
use gridmark_analytics::gbdt;
use gridmark_analytics::theft::UnsupervisedModel;
use gridmark_core::civil::format_date;
use gridmark_lake::Lake;
use serde::Serialize;
use std::collections::HashMap;

/// How much a rise in partial-theft days counts against a whole drop: a rise of 1/5 (20
/// points more days with a block missing half its share) counts as much as a complete fall.
/// Chosen on a demo utility with another seed (7): the smallest weight that reached the best
/// top-2×thieves recall there (weights 5–10 tied); see docs/evaluation.md.
const PARTIAL_WEIGHT: f64 = 5.0;

/// One ranked suspect.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Suspect {
    pub rank: usize,
    pub meter_id: String,
    pub customer_id: Option<String>,
    pub area_id: Option<String>,
    pub score: f64,
    /// Percentile of the label-free shape score among all meters.
    pub shape: f64,
    /// Sustained fall of daily consumption at the change point (0–1).
    pub drop: f64,
    /// First day after the change point.
    pub drop_day: Option<String>,
    pub kwh_per_day_before: f64,
    pub kwh_per_day_after: f64,
    /// Rise of the area's daily loss at the same change point, kWh/day.
    pub area_loss_rise: f64,
    /// Share of the meter's fall that reappeared as area loss (0–1).
    pub loss_explained: f64,
    /// Rise in the share of days on which one 3-hour block read under half its usual share of
    /// the day (0–1): a bypass used some hours on some days.
    pub partial: f64,
    pub partial_hours: Option<String>,
    /// Share of low days after the change: a bypass used on some days, not a new habit kept
    /// every day (a time-of-use plan moves load for good).
    pub partial_after: f64,
    pub partial_from: Option<String>,
    /// Indicators at or above their 95th percentile among all meters.
    pub indicators: Vec<String>,
    /// The inspection outcome in `meter_labels` (label `theft`, value 1 = thief), if any. For
    /// these meters the supervised probability is in-sample.
    pub label: Option<bool>,
    /// Probability from the model trained on the labelled meters, when there are enough.
    pub supervised: Option<f64>,
    /// The evidence that raised the supervised probability most.
    pub reasons: Vec<String>,
}

/// The suspect list and how it was made.
#[derive(Debug, Clone, Serialize)]
pub struct SuspectReport {
    pub source: String,
    /// `label-free`, or how the supervised model was trained from `meter_labels`.
    pub model: String,
    pub meters: usize,
    pub days: usize,
    pub suspects: Vec<Suspect>,
    /// Daily kWh of each listed suspect and its area's daily loss, for charts.
    #[serde(skip)]
    pub charts: Vec<(Vec<f64>, Vec<f64>)>,
    #[serde(skip)]
    pub day_labels: Vec<String>,
}

/// Scores every meter of the lake and returns the `top` most suspicious.
pub fn score(lake: &Lake, top: usize) -> Result<SuspectReport, JobError> {
    let q = Query::open(lake)?;
    let daily = DailyEnergy::load(&q, "theft score")?;
    let (lo, n_days, ids, rows) = (daily.first_day, daily.n_days, &daily.ids, &daily.rows);
    let loss: HashMap<String, Vec<f64>> = daily
        .area_balance(&q)?
        .into_iter()
        .map(|(a, b)| (a, b.excess_loss()))
        .collect();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let model = UnsupervisedModel::fit(rows, threads)
        .map_err(|e| JobError::invalid("theft score", e.to_string()))?;
    let raw = model.score_many(rows);
    let shape = percentiles(&raw);
    let season = common_shape(rows);
    let exporters = exporters(&q)?;
    let partial = crate::intraday::partial_theft(
        &q,
        daily.source == "daily_energy_validated",
        lo,
        n_days,
        ids,
    )?;

    let labels = theft_labels(&q)?;
    let mut scored: Vec<(f64, usize, Suspect)> = Vec::with_capacity(ids.len());
    for (i, id) in ids.iter().enumerate() {
        let dim = daily.dim(id);
        let (customer, area) = (dim.customer_id, dim.area_id);
        let area_loss = area.as_ref().and_then(|a| loss.get(a));
        let cp = drop_evidence(&rows[i], &season, area_loss.map(Vec::as_slice));
        let (rise, explained) = cp
            .as_ref()
            .map_or((0.0, 0.0), |c| (c.loss_rise, c.explained));
        let kwh = cp
            .as_ref()
            .map_or((f64::NAN, f64::NAN), |c| (c.kwh_before, c.kwh_after));
        // Rooftop PV lowers net consumption every spring: not evidence of theft.
        let net_metered = exporters.contains(id);
        let drop = if net_metered {
            0.0
        } else {
            cp.as_ref().map_or(0.0, |c| c.drop)
        };
        let part = partial[i].filter(|_| !net_metered);
        let hours = part.map(|p| format!("{:02}–{:02} h", p.block * 3, p.block * 3 + 3));
        let part_rise = part.map_or(0.0, |p| p.rise);
        let score =
            (shape[i] + drop.max((PARTIAL_WEIGHT * part_rise).min(1.0)) + drop * explained) / 3.0;
        let mut indicators: Vec<String> = gridmark_analytics::theft::model::INDICATORS
            .iter()
            .zip(model.indicator_percentiles(&rows[i]))
            .filter(|(_, p)| *p >= 0.95)
            .map(|((name, _, _), p)| format!("{name} p{:.0}", p * 100.0))
            .collect();
        if net_metered {
            indicators.push("net-metered (drop not counted)".into());
        }
        let label = labels.get(id).copied();
        scored.push((
            score,
            i,
            Suspect {
                rank: 0,
                meter_id: id.clone(),
                customer_id: customer,
                area_id: area,
                score,
                shape: shape[i],
                drop,
                drop_day: cp.as_ref().map(|c| format_date(lo + c.at as i64)),
                kwh_per_day_before: kwh.0,
                kwh_per_day_after: kwh.1,
                area_loss_rise: rise,
                loss_explained: explained,
                partial: part_rise,
                partial_after: part.map_or(0.0, |p| p.after),
                partial_hours: hours,
                partial_from: part.map(|p| format_date(lo + p.at as i64)),
                indicators,
                label,
                supervised: None,
                reasons: Vec::new(),
            },
        ));
    }
    let model_note = learn_weights(&mut scored)?;
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    scored.truncate(top);
    let mut charts = Vec::new();
    let mut suspects = Vec::new();
    for (rank, (_, i, mut s)) in scored.into_iter().enumerate() {
        s.rank = rank + 1;
        let area_loss = s
            .area_id
            .as_ref()
            .and_then(|a| loss.get(a))
            .cloned()
            .unwrap_or_else(|| vec![f64::NAN; n_days]);
        charts.push((rows[i].clone(), area_loss));
        suspects.push(s);
    }
    Ok(SuspectReport {
        model: model_note,
        source: daily.source.to_string(),
        meters: ids.len(),
        days: n_days,
        suspects,
        charts,
        day_labels: daily.day_labels(),
    })
}

/// Labels and meters needed on each side before a supervised model is trained.
const MIN_LABELLED: usize = 5;

/// Inspection outcomes: `meter_labels` rows with label `theft` (value ≥ 1 = thief, 0 = honest;
/// SGCC files bring their FLAG this way).
fn theft_labels(q: &Query) -> Result<HashMap<String, bool>, JobError> {
    let mut out = HashMap::new();
    for b in q.collect(
        "SELECT meter_id, max(value) AS value FROM meter_labels WHERE label = 'theft' GROUP BY meter_id",
    )? {
        for (m, v) in strings(&b, "meter_id")?.into_iter().zip(crate::query::ints(&b, "value")?) {
            if let (Some(m), Some(v)) = (m, v) {
                out.insert(m, v >= 1);
            }
        }
    }
    Ok(out)
}

/// The evidence a supervised model weighs, in this order.
const EVIDENCE: [&str; 5] = [
    "shape",
    "drop",
    "drop × loss explained",
    "partial",
    "loss explained",
];

fn evidence(s: &Suspect) -> [f64; 5] {
    [
        s.shape,
        s.drop,
        s.drop * s.loss_explained,
        s.partial,
        s.loss_explained,
    ]
}

/// With inspection outcomes for at least [`MIN_LABELLED`] thieves and as many honest meters,
/// gradient-boosted trees learn how this utility's thefts weigh the evidence; each meter's
/// score becomes the mean of the label-free score and the model's probability, and the
/// evidence that raised the probability most is listed. Returns how the model was made.
fn learn_weights(scored: &mut [(f64, usize, Suspect)]) -> Result<String, JobError> {
    let (mut x, mut y) = (Vec::new(), Vec::new());
    for (_, _, s) in scored.iter() {
        if let Some(l) = s.label {
            x.extend(evidence(s));
            y.push(l);
        }
    }
    let pos = y.iter().filter(|l| **l).count();
    let neg = y.len() - pos;
    if pos < MIN_LABELLED || neg < MIN_LABELLED {
        return Ok(format!(
            "label-free ({pos} thieves and {neg} honest meters labelled; a supervised model needs {MIN_LABELLED} of each)"
        ));
    }
    let params = gbdt::Params {
        n_trees: 200,
        learning_rate: 0.05,
        max_leaves: 7,
        min_samples_leaf: (pos / 4).clamp(2, 20),
        ..gbdt::Params::default()
    };
    let model = gbdt::fit(&x, EVIDENCE.len(), &y, &params)
        .map_err(|e| JobError::invalid("theft score: supervised model", e.to_string()))?;
    for (score, _, s) in scored.iter_mut() {
        let row = evidence(s);
        let p = model.predict_proba(&row);
        let mut reasons: Vec<(f64, &str)> = model
            .contributions(&row)
            .into_iter()
            .zip(EVIDENCE)
            .filter(|(c, _)| *c > 0.0)
            .collect();
        reasons.sort_by(|a, b| b.0.total_cmp(&a.0));
        s.reasons = reasons.iter().map(|(_, n)| n.to_string()).collect();
        s.supervised = Some(p);
        *score = (*score + p) / 2.0;
        s.score = *score;
    }
    Ok(format!(
        "label-free + supervised (gradient-boosted trees over the evidence, trained on {} inspected meters: {pos} thieves, {neg} honest)",
        pos + neg
    ))
}

/// Meters that exported on at least three days (the VEE rule for net metering).
fn exporters(q: &Query) -> Result<std::collections::HashSet<String>, JobError> {
    let mut out = std::collections::HashSet::new();
    for b in q.collect(&format!(
        "SELECT meter_id FROM readings WHERE kwh < 0 GROUP BY meter_id \
         HAVING count(DISTINCT date_trunc('day', ts)) >= {}",
        gridmark_metering::vee::AUTO_EXPORT_DAYS
    ))? {
        out.extend(strings(&b, "meter_id")?.into_iter().flatten());
    }
    Ok(out)
}

/// Mid-rank percentile of each value among all of them.
fn percentiles(v: &[f64]) -> Vec<f64> {
    let mut sorted: Vec<f64> = v.to_vec();
    sorted.sort_by(f64::total_cmp);
    v.iter()
        .map(|x| {
            let below = sorted.partition_point(|c| c < x);
            let not_above = sorted.partition_point(|c| c <= x);
            (below + not_above) as f64 / 2.0 / sorted.len().max(1) as f64
        })
        .collect()
}

/// The evidence page: the list, then a chart per suspect of its daily kWh beside its area's
/// daily loss.
pub fn html(report: &SuspectReport, charts: usize) -> String {
    let mut page = Page::new("gridmark — theft suspects (窃电嫌疑)");
    page.p(&format!(
        "{} meters scored over {} days from {}; {}. score = (shape + max(drop, min(1, 5 × partial)) + drop × loss explained) ÷ 3, averaged with the supervised probability when there is a model; see docs/metering.md.",
        report.meters, report.days, report.source, report.model
    ));
    let rows: Vec<Vec<String>> = report
        .suspects
        .iter()
        .map(|s| {
            vec![
                s.rank.to_string(),
                s.meter_id.clone(),
                s.area_id.clone().unwrap_or_default(),
                format!("{:.3}", s.score),
                format!("{:.2}", s.shape),
                format!("{:.0} %", s.drop * 100.0),
                s.drop_day.clone().unwrap_or_default(),
                format!(
                    "{} → {}",
                    short(s.kwh_per_day_before),
                    short(s.kwh_per_day_after)
                ),
                short(s.area_loss_rise),
                format!("{:.0} %", s.loss_explained * 100.0),
                match (&s.partial_hours, &s.partial_from) {
                    (Some(h), Some(f)) if s.partial > 0.0 => {
                        format!("{:.0} % more low days, {h}, from {f}", s.partial * 100.0)
                    }
                    _ => String::new(),
                },
                s.indicators.join(", "),
                match (s.supervised, s.label) {
                    (Some(p), Some(l)) => {
                        format!("{p:.2} (inspected: {})", if l { "theft" } else { "honest" })
                    }
                    (Some(p), None) => format!("{p:.2} ({})", s.reasons.join(", ")),
                    (None, _) => String::new(),
                },
            ]
        })
        .collect();
    page.table(
        &[
            "rank",
            "meter",
            "area",
            "score",
            "shape",
            "drop",
            "from",
            "kWh/day",
            "area loss +kWh/day",
            "loss explained",
            "partial (some hours, some days)",
            "unusual indicators",
            "supervised",
        ],
        &rows,
    );
    for (s, (kwh, loss)) in report.suspects.iter().zip(&report.charts).take(charts) {
        page.h2(&format!(
            "#{} {} (area {})",
            s.rank,
            s.meter_id,
            s.area_id.as_deref().unwrap_or("?")
        ));
        page.line_chart(
            "daily kWh of the meter and daily loss of its area",
            &report.day_labels,
            &[("meter kWh", kwh.clone()), ("area loss kWh", loss.clone())],
        );
    }
    page.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_mid_ranks() {
        assert_eq!(
            percentiles(&[3.0, 1.0, 2.0]),
            vec![5.0 / 6.0, 1.0 / 6.0, 0.5]
        );
    }
}
