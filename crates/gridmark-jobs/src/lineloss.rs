//! `gridmark lineloss`: transformer-area line loss (台区线损) per day or month — supply, the sum
//! of the area's customer meters, loss and loss rate — with abnormal area-periods flagged and,
//! for each abnormal area, the meters whose behaviour best explains its loss.
//!
//! Flags: `negative` (customers recorded more than the supply meter delivered: a wrong
//! meter-to-area mapping, a supply-meter fault or a multiplier error), `high` / `low` (rate
//! outside the normal band), `jump` (the rate is more than `jump_z` robust standard deviations
//! from the area's own median), `no_supply` (no supply reading).
//!
//! Explaining meters: for each meter of an abnormal area, its largest sustained fall (relative
//! to what every meter did those days) and the rise of the area's loss at the same day
//! ([`crate::daily::drop_evidence`]). When a bypass starts, the meter records less and the loss
//! rises by what it no longer records: the meters whose fall is large and matches the rise in
//! size explain the loss. Score = drop × explained; meters scoring under 0.1 are not listed.

use crate::JobError;
use crate::daily::{AreaBalance, DailyEnergy, common_shape, drop_evidence, median};
use crate::html::{Page, short};
use crate::query::Query;
use gridmark_core::civil::{civil_from_days, format_date};
use gridmark_lake::Lake;
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Period {
    Day,
    Month,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LossOptions {
    pub period: Period,
    /// Normal band of the loss rate, e.g. (0.0, 0.07).
    pub band: (f64, f64),
    /// Robust z-score above which a rate is a jump.
    pub jump_z: f64,
    /// Explaining meters listed per abnormal area.
    pub top_meters: usize,
}

impl Default for LossOptions {
    fn default() -> Self {
        LossOptions {
            period: Period::Day,
            band: (0.0, 0.07),
            jump_z: 4.0,
            top_meters: 3,
        }
    }
}

/// One area in one period.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AreaPeriod {
    pub area_id: String,
    pub period: String,
    pub supply_kwh: f64,
    pub metered_kwh: f64,
    pub loss_kwh: f64,
    pub loss_rate: f64,
    pub flags: Vec<&'static str>,
}

/// A meter whose fall in consumption coincides with its area's loss rising.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Explainer {
    pub meter_id: String,
    /// drop × explained.
    pub score: f64,
    /// First day of the fall.
    pub from: String,
    /// kWh/day the meter stopped recording.
    pub fell_kwh: f64,
    /// kWh/day the area's loss rose at the same day.
    pub loss_rise_kwh: f64,
}

/// An area with at least one abnormal period.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AbnormalArea {
    pub area_id: String,
    pub periods: usize,
    pub abnormal_periods: usize,
    /// Loss ÷ supply over the whole span.
    pub overall_rate: f64,
    pub flags: Vec<&'static str>,
    pub explainers: Vec<Explainer>,
    #[serde(skip)]
    pub rates: Vec<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct LossReport {
    pub source: String,
    pub period: Period,
    pub band: (f64, f64),
    pub rows: Vec<AreaPeriod>,
    pub abnormal: Vec<AbnormalArea>,
    #[serde(skip)]
    pub labels: Vec<String>,
}

/// Computes the line loss of every area.
pub fn run(lake: &Lake, opts: &LossOptions) -> Result<LossReport, JobError> {
    if opts.band.0.partial_cmp(&opts.band.1) != Some(std::cmp::Ordering::Less) {
        return Err(JobError::invalid(
            "--band",
            "the lower bound must be below the upper",
        ));
    }
    let q = Query::open(lake)?;
    let daily = DailyEnergy::load(&q, "lineloss")?;
    let balances = daily.area_balance(&q)?;
    if balances
        .values()
        .all(|b| b.supply.iter().all(|s| s.is_nan()))
    {
        return Err(JobError::invalid(
            "lineloss",
            "no area supply readings: import the supply (总表) meters into `area_supply` first",
        ));
    }
    let (labels, groups) = periods(&daily, opts.period);
    let season = common_shape(&daily.rows);
    let mut areas: Vec<&String> = balances.keys().collect();
    areas.sort();
    let mut rows = Vec::new();
    let mut abnormal = Vec::new();
    for area in areas {
        let bal = &balances[area];
        let mut area_rows: Vec<AreaPeriod> = groups
            .iter()
            .zip(&labels)
            .map(|(days, label)| {
                let (mut supply, mut metered, mut seen) = (0.0, 0.0, false);
                for &d in days {
                    if bal.supply[d].is_finite() {
                        supply += bal.supply[d];
                        metered += bal.metered[d];
                        seen = true;
                    }
                }
                let loss = supply - metered;
                let rate = if seen && supply > 0.0 {
                    loss / supply
                } else {
                    f64::NAN
                };
                AreaPeriod {
                    area_id: area.clone(),
                    period: label.clone(),
                    supply_kwh: if seen { supply } else { f64::NAN },
                    metered_kwh: metered,
                    loss_kwh: if seen { loss } else { f64::NAN },
                    loss_rate: rate,
                    flags: Vec::new(),
                }
            })
            .collect();
        flag(&mut area_rows, opts);
        let flagged = area_rows.iter().filter(|r| !r.flags.is_empty()).count();
        if area_rows.iter().any(|r| {
            r.flags
                .iter()
                .any(|f| matches!(*f, "negative" | "high" | "low" | "jump"))
        }) {
            let mut flags: Vec<&'static str> =
                area_rows.iter().flat_map(|r| r.flags.clone()).collect();
            flags.sort_unstable();
            flags.dedup();
            let (s, m) = bal
                .supply
                .iter()
                .zip(&bal.metered)
                .filter(|(s, _)| s.is_finite())
                .fold((0.0, 0.0), |acc, (s, m)| (acc.0 + s, acc.1 + m));
            abnormal.push(AbnormalArea {
                area_id: area.clone(),
                periods: area_rows.len(),
                abnormal_periods: flagged,
                overall_rate: if s > 0.0 { (s - m) / s } else { f64::NAN },
                flags,
                explainers: explainers(&daily, bal, &season, opts.top_meters),
                rates: area_rows.iter().map(|r| r.loss_rate).collect(),
            });
        }
        rows.extend(area_rows);
    }
    abnormal.sort_by(|a, b| {
        b.abnormal_periods
            .cmp(&a.abnormal_periods)
            .then(a.area_id.cmp(&b.area_id))
    });
    Ok(LossReport {
        source: daily.source.to_string(),
        period: opts.period,
        band: opts.band,
        rows,
        abnormal,
        labels,
    })
}

/// Period labels and the day indices in each.
fn periods(daily: &DailyEnergy, period: Period) -> (Vec<String>, Vec<Vec<usize>>) {
    let labels = daily.day_labels();
    match period {
        Period::Day => (labels, (0..daily.n_days).map(|d| vec![d]).collect()),
        Period::Month => {
            let mut names: Vec<String> = Vec::new();
            let mut groups: Vec<Vec<usize>> = Vec::new();
            for d in 0..daily.n_days {
                let (y, m, _) = civil_from_days(daily.first_day + d as i64);
                let key = format!("{y:04}-{m:02}");
                if names.last() != Some(&key) {
                    names.push(key);
                    groups.push(Vec::new());
                }
                if let Some(g) = groups.last_mut() {
                    g.push(d);
                }
            }
            (names, groups)
        }
    }
}

fn flag(rows: &mut [AreaPeriod], opts: &LossOptions) {
    let rates: Vec<f64> = rows
        .iter()
        .map(|r| r.loss_rate)
        .filter(|r| r.is_finite())
        .collect();
    let mid = median(rates.clone());
    let dev: Vec<f64> = rates.iter().map(|r| (r - mid).abs()).collect();
    // A floor on the spread: an area whose rate barely moves must not call a 0.1-point
    // wobble a jump.
    let sigma = (1.4826 * median(dev)).max(0.005);
    for r in rows {
        if !r.loss_rate.is_finite() {
            r.flags.push("no_supply");
            continue;
        }
        if r.loss_kwh < 0.0 {
            r.flags.push("negative");
        } else if r.loss_rate < opts.band.0 {
            r.flags.push("low");
        }
        if r.loss_rate > opts.band.1 {
            r.flags.push("high");
        }
        if rates.len() >= 5 && ((r.loss_rate - mid) / sigma).abs() > opts.jump_z {
            r.flags.push("jump");
        }
    }
}

fn explainers(
    daily: &DailyEnergy,
    bal: &AreaBalance,
    season: &[f64],
    top: usize,
) -> Vec<Explainer> {
    let loss = bal.excess_loss();
    let mut out: Vec<Explainer> = bal
        .members
        .iter()
        .filter_map(|&i| {
            let e = drop_evidence(&daily.rows[i], season, Some(&loss))?;
            let score = e.drop * e.explained;
            (score >= 0.1).then(|| Explainer {
                meter_id: daily.ids[i].clone(),
                score,
                from: format_date(daily.first_day + e.at as i64),
                fell_kwh: e.fell_kwh,
                loss_rise_kwh: e.loss_rise,
            })
        })
        .collect();
    out.sort_by(|a, b| b.score.total_cmp(&a.score));
    out.truncate(top);
    out
}

/// The report as a page: the abnormal areas with their explaining meters and a chart of each
/// one's loss rate.
pub fn html(report: &LossReport) -> String {
    let mut page = Page::new("gridmark — transformer-area line loss (台区线损)");
    page.p(&format!(
        "Per {:?} from {}; normal band {:.1} %–{:.1} %. Explaining meters: correlation of the area's daily loss with the meter's reversed daily kWh (see docs/metering.md).",
        report.period,
        report.source,
        report.band.0 * 100.0,
        report.band.1 * 100.0
    ));
    let areas = report
        .rows
        .iter()
        .map(|r| r.area_id.as_str())
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    page.tiles(&[
        ("areas", areas.to_string()),
        ("abnormal areas", report.abnormal.len().to_string()),
        (
            "abnormal area-periods",
            report
                .rows
                .iter()
                .filter(|r| !r.flags.is_empty())
                .count()
                .to_string(),
        ),
    ]);
    let rows: Vec<Vec<String>> = report
        .abnormal
        .iter()
        .map(|a| {
            vec![
                a.area_id.clone(),
                format!("{} / {}", a.abnormal_periods, a.periods),
                format!("{:.2} %", a.overall_rate * 100.0),
                a.flags.join(" "),
                a.explainers
                    .iter()
                    .map(|e| {
                        format!(
                            "{} from {}: −{} kWh/d, loss +{} kWh/d",
                            e.meter_id,
                            e.from,
                            short(e.fell_kwh),
                            short(e.loss_rise_kwh)
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("; "),
            ]
        })
        .collect();
    page.h2("Abnormal areas");
    page.table(
        &[
            "area",
            "abnormal periods",
            "overall loss rate",
            "flags",
            "meters that best explain the loss",
        ],
        &rows,
    );
    for a in report.abnormal.iter().take(20) {
        page.h2(&format!("Area {}", a.area_id));
        let n = a.rates.len();
        page.line_chart(
            &format!("loss rate ({:?})", report.period),
            &report.labels,
            &[
                ("loss rate", a.rates.clone()),
                ("band high", vec![report.band.1; n]),
                ("band low", vec![report.band.0; n]),
            ],
        );
    }
    page.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(rate: f64, loss: f64) -> AreaPeriod {
        AreaPeriod {
            area_id: "A".into(),
            period: "p".into(),
            supply_kwh: 100.0,
            metered_kwh: 100.0 - loss,
            loss_kwh: loss,
            loss_rate: rate,
            flags: Vec::new(),
        }
    }

    #[test]
    fn flags_band_negative_and_jump() {
        let mut rows: Vec<AreaPeriod> = (0..20)
            .map(|i| row(0.03 + i as f64 * 0.0005, 3.0))
            .collect();
        rows[5] = row(-0.02, -2.0);
        rows[9] = row(0.12, 12.0);
        rows[12].loss_rate = f64::NAN;
        flag(&mut rows, &LossOptions::default());
        assert_eq!(rows[5].flags, vec!["negative", "jump"]);
        assert_eq!(rows[9].flags, vec!["high", "jump"]);
        assert_eq!(rows[12].flags, vec!["no_supply"]);
        assert!(rows[0].flags.is_empty() && rows[19].flags.is_empty());
    }
}
