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
//! score = (shape + drop + drop × loss explained) ÷ 3. The weights are equal on purpose: no
//! labels exist to tune them, and each term can be read on its own in the evidence columns.

use crate::JobError;
use crate::html::{Page, short};
use crate::query::{Query, dates, floats, ints, strings};
use gridmark_analytics::theft::UnsupervisedModel;
use gridmark_core::civil::format_date;
use gridmark_lake::Lake;
use serde::Serialize;
use std::collections::HashMap;

/// Days each side of a change point.
const MIN_SIDE_DAYS: usize = 14;

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
    /// Indicators at or above their 95th percentile among all meters.
    pub indicators: Vec<String>,
}

/// The suspect list and how it was made.
#[derive(Debug, Clone, Serialize)]
pub struct SuspectReport {
    pub source: String,
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
    let validated = q
        .collect("SELECT count(*) AS n FROM readings_validated")?
        .first()
        .map(|b| ints(b, "n"))
        .transpose()?
        .and_then(|v| v.into_iter().next().flatten())
        .unwrap_or(0)
        > 0;
    let source = if validated {
        "daily_energy_validated"
    } else {
        "daily_energy"
    };
    let mut per_meter: HashMap<String, Vec<(i64, f64, i64)>> = HashMap::new();
    let (mut lo, mut hi) = (i64::MAX, i64::MIN);
    q.for_each(
        &format!("SELECT meter_id, day, kwh, readings FROM {source}"),
        |b| {
            let (ids, days, kwh, n) = (
                strings(b, "meter_id")?,
                dates(b, "day")?,
                floats(b, "kwh")?,
                ints(b, "readings")?,
            );
            for i in 0..b.num_rows() {
                if let (Some(id), Some(d), Some(v)) = (&ids[i], days[i], kwh[i]) {
                    lo = lo.min(d);
                    hi = hi.max(d);
                    per_meter
                        .entry(id.clone())
                        .or_default()
                        .push((d, v, n[i].unwrap_or(0)));
                }
            }
            Ok(())
        },
    )?;
    if per_meter.is_empty() {
        return Err(JobError::invalid(
            "theft score",
            "the lake has no readings (import readings first)",
        ));
    }
    let n_days = (hi - lo + 1) as usize;
    let mut ids: Vec<String> = per_meter.keys().cloned().collect();
    ids.sort();
    let rows: Vec<Vec<f64>> = ids
        .iter()
        .map(|id| {
            let days = &per_meter[id];
            // A day with under half the meter's usual count of readings is missing, not low.
            let full = days.iter().map(|d| d.2).max().unwrap_or(0);
            let mut row = vec![f64::NAN; n_days];
            for &(d, v, n) in days {
                if n * 2 >= full {
                    row[(d - lo) as usize] = v;
                }
            }
            row
        })
        .collect();
    let dims = meter_dims(&q)?;
    let loss = area_loss(&q, lo, n_days, &ids, &rows, &dims)?;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let model = UnsupervisedModel::fit(&rows, threads)
        .map_err(|e| JobError::invalid("theft score", e.to_string()))?;
    let raw = model.score_many(&rows);
    let shape = percentiles(&raw);
    let season = common_shape(&rows);
    let exporters = exporters(&q)?;
    let mut scored: Vec<(f64, usize, Suspect)> = Vec::with_capacity(ids.len());
    for (i, id) in ids.iter().enumerate() {
        let (customer, area) = dims.get(id).cloned().unwrap_or((None, None));
        // The change point is looked for in consumption relative to what every meter did
        // that day, so spring's end of heating is not a drop.
        let relative: Vec<f64> = rows[i]
            .iter()
            .zip(&season)
            .map(|(x, r)| if *r > 0.0 { x / r } else { f64::NAN })
            .collect();
        let cp = change_point(&relative);
        let (mut rise, mut explained) = (0.0, 0.0);
        let mut kwh = (f64::NAN, f64::NAN);
        if let Some(cp) = &cp {
            // What the meter would have read after the change at its earlier relative level.
            let expected: Vec<f64> = season[cp.at..].iter().map(|r| cp.before * r).collect();
            let fell = mean(
                &expected
                    .iter()
                    .zip(&rows[i][cp.at..])
                    .map(|(e, x)| e - x)
                    .collect::<Vec<_>>(),
            );
            kwh = (mean(&rows[i][..cp.at]), mean(&rows[i][cp.at..]));
            if let Some(area_loss) = area.as_ref().and_then(|a| loss.get(a)) {
                let (before, after) = (mean(&area_loss[..cp.at]), mean(&area_loss[cp.at..]));
                if before.is_finite() && after.is_finite() {
                    rise = after - before;
                    // Alike in size: a loss rise far larger than the fall is someone else's.
                    if fell > 0.0 && rise > 0.0 {
                        explained = rise.min(fell) / rise.max(fell);
                    }
                }
            }
        }
        // Rooftop PV lowers net consumption every spring: not evidence of theft.
        let net_metered = exporters.contains(id);
        let drop = if net_metered {
            0.0
        } else {
            cp.as_ref().map_or(0.0, |c| c.drop)
        };
        let score = (shape[i] + drop + drop * explained) / 3.0;
        let mut indicators: Vec<String> = gridmark_analytics::theft::model::INDICATORS
            .iter()
            .zip(model.indicator_percentiles(&rows[i]))
            .filter(|(_, p)| *p >= 0.95)
            .map(|((name, _, _), p)| format!("{name} p{:.0}", p * 100.0))
            .collect();
        if net_metered {
            indicators.push("net-metered (drop not counted)".into());
        }
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
                indicators,
            },
        ));
    }
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
        source: source.to_string(),
        meters: ids.len(),
        days: n_days,
        suspects,
        charts,
        day_labels: (0..n_days as i64).map(|d| format_date(lo + d)).collect(),
    })
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

/// Customer and area of each meter.
type MeterDims = HashMap<String, (Option<String>, Option<String>)>;

fn meter_dims(q: &Query) -> Result<MeterDims, JobError> {
    let mut out = HashMap::new();
    for b in q.collect("SELECT meter_id, customer_id, area_id FROM meter_dims")? {
        let (m, c, a) = (
            strings(&b, "meter_id")?,
            strings(&b, "customer_id")?,
            strings(&b, "area_id")?,
        );
        for ((m, c), a) in m.into_iter().zip(c).zip(a) {
            if let Some(m) = m {
                out.insert(m, (c, a));
            }
        }
    }
    Ok(out)
}

/// Daily loss (supply − sum of the area's meters, from the same daily series that are scored)
/// per area, on the same day axis.
fn area_loss(
    q: &Query,
    lo: i64,
    n_days: usize,
    ids: &[String],
    rows: &[Vec<f64>],
    dims: &MeterDims,
) -> Result<HashMap<String, Vec<f64>>, JobError> {
    let mut metered: HashMap<&str, Vec<f64>> = HashMap::new();
    for (id, row) in ids.iter().zip(rows) {
        if let Some((_, Some(area))) = dims.get(id) {
            let sum = metered
                .entry(area.as_str())
                .or_insert_with(|| vec![0.0; n_days]);
            for (s, x) in sum.iter_mut().zip(row) {
                // A meter with no reading that day (not yet connected, closed) delivered nothing.
                *s += if x.is_finite() { *x } else { 0.0 };
            }
        }
    }
    let mut out: HashMap<String, Vec<f64>> = HashMap::new();
    for b in q.collect("SELECT area_id, day, supply_kwh FROM area_daily_supply")? {
        let (a, d, supply) = (
            strings(&b, "area_id")?,
            dates(&b, "day")?,
            floats(&b, "supply_kwh")?,
        );
        for i in 0..b.num_rows() {
            if let (Some(a), Some(d), Some(supply)) = (&a[i], d[i], supply[i]) {
                let k = d - lo;
                let Some(m) = metered.get(a.as_str()) else {
                    continue;
                };
                if (0..n_days as i64).contains(&k) {
                    out.entry(a.clone())
                        .or_insert_with(|| vec![f64::NAN; n_days])[k as usize] =
                        supply - m[k as usize];
                }
            }
        }
    }
    Ok(out)
}

/// Per day, the median over meters of consumption relative to each meter's own mean: the
/// season, weekdays and holidays everyone shares.
fn common_shape(rows: &[Vec<f64>]) -> Vec<f64> {
    let n_days = rows.first().map_or(0, Vec::len);
    let means: Vec<f64> = rows.iter().map(|r| mean(r)).collect();
    (0..n_days)
        .map(|t| {
            let mut v: Vec<f64> = rows
                .iter()
                .zip(&means)
                .filter(|(r, m)| **m > 0.0 && r[t].is_finite())
                .map(|(r, m)| r[t] / m)
                .collect();
            if v.is_empty() {
                return f64::NAN;
            }
            let k = v.len() / 2;
            *v.select_nth_unstable_by(k, f64::total_cmp).1
        })
        .collect()
}

struct ChangePoint {
    at: usize,
    before: f64,
    drop: f64,
}

/// The split that maximises the sustained fall (mean before − mean after) ÷ mean before.
fn change_point(x: &[f64]) -> Option<ChangePoint> {
    let n = x.len();
    if n < 2 * MIN_SIDE_DAYS {
        return None;
    }
    let mut sum = vec![0.0; n + 1];
    let mut cnt = vec![0usize; n + 1];
    for (i, v) in x.iter().enumerate() {
        let ok = v.is_finite();
        sum[i + 1] = sum[i] + if ok { *v } else { 0.0 };
        cnt[i + 1] = cnt[i] + usize::from(ok);
    }
    let mut best: Option<ChangePoint> = None;
    for at in MIN_SIDE_DAYS..=n - MIN_SIDE_DAYS {
        let (cb, ca) = (cnt[at], cnt[n] - cnt[at]);
        if cb < MIN_SIDE_DAYS / 2 || ca < MIN_SIDE_DAYS / 2 {
            continue;
        }
        let before = sum[at] / cb as f64;
        let after = (sum[n] - sum[at]) / ca as f64;
        if before <= 0.0 {
            continue;
        }
        let drop = ((before - after) / before).clamp(0.0, 1.0);
        if best.as_ref().is_none_or(|b| drop > b.drop) {
            best = Some(ChangePoint { at, before, drop });
        }
    }
    best
}

fn mean(x: &[f64]) -> f64 {
    let (s, n) = x
        .iter()
        .filter(|v| v.is_finite())
        .fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
    if n == 0 { f64::NAN } else { s / n as f64 }
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
        "{} meters scored over {} days from {}. score = (shape + drop + drop × loss explained) ÷ 3; see docs/metering.md.",
        report.meters, report.days, report.source
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
                s.indicators.join(", "),
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
            "unusual indicators",
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
    fn change_point_finds_a_sustained_drop_and_ignores_noise() {
        let mut x: Vec<f64> = (0..100).map(|i| 10.0 + (i % 7) as f64 * 0.1).collect();
        for v in &mut x[60..] {
            *v *= 0.3;
        }
        let cp = change_point(&x).unwrap();
        assert_eq!(cp.at, 60);
        assert!((cp.drop - 0.7).abs() < 0.01);
        let flat: Vec<f64> = (0..100).map(|i| 10.0 + (i % 7) as f64 * 0.1).collect();
        assert!(change_point(&flat).unwrap().drop < 0.05);
        assert!(change_point(&x[..20]).is_none());
    }

    #[test]
    fn percentiles_are_mid_ranks() {
        assert_eq!(
            percentiles(&[3.0, 1.0, 2.0]),
            vec![5.0 / 6.0, 1.0 / 6.0, 0.5]
        );
    }
}
