//! Customer profiles (客户画像): one row per customer with figures and tags a marketer can act
//! on, built from readings, bills, payments, contacts, the latest segments and risk scores.
//!
//! * Consumption: mean daily kWh and its level within the customer's class (terciles), and the
//!   trend: the last 90 days over the 90 before, relative to the class median of the same
//!   ratio (so the season cancels out).
//! * Load shape (working days, 3-hour blocks): the peak block, peak ÷ valley, load factor
//!   (mean ÷ peak block), rest-day ratio, summer and winter ratios.
//! * Weather sensitivity: daily kWh regressed on cooling degrees (above 22 °C), heating degrees
//!   (below 15 °C) and a working-day flag, as % of the base day per degree.
//! * Payment: share of bills paid late, mean days late, amount outstanding, a punctuality tag.
//! * Service: complaints in 12 months and their mean sentiment (from `gridmark text analyze`),
//!   preferred channel and digital share.
//! * Segment, value tier, churn and arrears probability (when those jobs have run).
//!
//! Value tiers, in this order: **at-risk** (churn or arrears risk in the high band, or half
//! the bills paid late), **high-value** (12-month revenue in the top 20 % of its class),
//! **growth** (trend ≥ +10 % or an account under a year old), **low-value** (revenue in the
//! bottom 30 % of its class), else **stable**.

use crate::JobError;
use crate::localtime::OffsetCache;
use crate::query::{Query, floats, ints, strings, timestamps};
use crate::risk::{Categories, RiskData, feature_index, is_digital};
use gridmark_analytics::linalg::{Matrix, solve_spd};
use gridmark_core::{Clock, catalog, columns::Value};
use gridmark_lake::Lake;
use gridmark_metering::tariff::DayType;
use std::collections::HashMap;
use std::sync::Arc;

/// One customer's profile.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Profile {
    pub customer_id: String,
    pub customer_class: Option<String>,
    pub region: Option<String>,
    pub tenure_days: Option<i64>,
    pub mean_daily_kwh: Option<f64>,
    pub consumption_level: Option<&'static str>,
    pub trend_pct: Option<f64>,
    pub peak_block: Option<String>,
    pub peak_valley_ratio: Option<f64>,
    pub load_factor: Option<f64>,
    pub rest_day_ratio: Option<f64>,
    pub summer_ratio: Option<f64>,
    pub winter_ratio: Option<f64>,
    pub cooling_pct_per_c: Option<f64>,
    pub heating_pct_per_c: Option<f64>,
    pub late_share: Option<f64>,
    pub mean_days_late: Option<f64>,
    pub outstanding_yuan: f64,
    pub punctuality: &'static str,
    pub complaints_12m: i64,
    /// Mean sentiment of the complaints' text, once text analytics has run.
    pub complaint_sentiment: Option<f64>,
    pub preferred_channel: Option<String>,
    pub digital_share: Option<f64>,
    pub segment: Option<i64>,
    pub segment_name: Option<String>,
    pub revenue_12m_yuan: f64,
    pub value_tier: &'static str,
    pub churn_probability: Option<f64>,
    pub arrears_probability: Option<f64>,
    pub tags: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct ProfileReport {
    pub profiles: Vec<Profile>,
    pub as_of: i64,
    pub run_id: String,
    pub version: u64,
    pub seconds: f64,
    /// Which optional inputs were there: segments, churn scores, arrears scores, weather.
    pub inputs: Vec<(&'static str, bool)>,
}

fn opt(v: f64) -> Option<f64> {
    v.is_finite().then_some(v)
}

/// Weather sensitivity: least squares of kWh on [1, working day, CDD, HDD]; returns the
/// cooling and heating slopes as % of the intercept per degree.
fn weather_slopes(days: &[(f64, f64, f64, f64)]) -> (Option<f64>, Option<f64>) {
    if days.len() < 60 {
        return (None, None);
    }
    let mut xtx = Matrix::zeros(4, 4);
    let mut xty = Matrix::zeros(4, 1);
    for &(y, wd, cdd, hdd) in days {
        let x = [1.0, wd, cdd, hdd];
        for i in 0..4 {
            for j in 0..4 {
                xtx.set(i, j, xtx.get(i, j) + x[i] * x[j]);
            }
            xty.set(i, 0, xty.get(i, 0) + x[i] * y);
        }
    }
    // A degree-day column that is all zero (no hot days) would make XᵀX singular.
    let ridge = 1e-6 * (0..4).map(|i| xtx.get(i, i)).sum::<f64>() / 4.0;
    for i in 0..4 {
        xtx.set(i, i, xtx.get(i, i) + ridge);
    }
    let Ok(beta) = solve_spd(&xtx, &xty) else {
        return (None, None);
    };
    let base = beta.get(0, 0);
    if base <= 0.0 {
        return (None, None);
    }
    let has = |k: usize| days.iter().filter(|d| [d.2, d.3][k - 2] > 0.0).count() >= 20;
    let pct = |k: usize| has(k).then(|| beta.get(k, 0) / base * 100.0);
    (pct(2), pct(3))
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

/// Builds every active customer's profile and replaces `customer_profiles`.
pub fn build(
    lake: &Lake,
    clock: Arc<dyn Clock>,
    progress: &mut dyn FnMut(&str),
) -> Result<ProfileReport, JobError> {
    let started = clock.now_ms();
    let q = Query::open(lake)?;
    let data = RiskData::load(&q, progress)?;
    let as_of = data.last_day + 1;
    let cats = Categories::from_data(&data);
    progress("reading load shapes…");
    let shapes = crate::segment::lake_features(&q, 14).ok();
    let shape_of: HashMap<&str, usize> = shapes
        .as_ref()
        .map(|s| {
            s.ids
                .iter()
                .enumerate()
                .map(|(i, id)| (id.as_str(), i))
                .collect()
        })
        .unwrap_or_default();
    let calendar = crate::billing::holidays(&q)?;
    // Daily temperature per region.
    let tz = gridmark_core::tz::parse_tz(&lake.settings().default_tz)?;
    let mut offsets = OffsetCache::new(tz);
    let mut temps: HashMap<String, HashMap<i64, f64>> = HashMap::new();
    for b in q.collect(
        "SELECT series_id, ts, value FROM series WHERE series_id LIKE 'weather.temp_c.%'",
    )? {
        let (id, ts, v) = (
            strings(&b, "series_id")?,
            timestamps(&b, "ts")?,
            floats(&b, "value")?,
        );
        for i in 0..b.num_rows() {
            if let (Some(id), Some(ts), Some(v)) = (&id[i], ts[i], v[i]) {
                let region = id.trim_start_matches("weather.temp_c.").to_string();
                temps
                    .entry(region)
                    .or_default()
                    .insert(offsets.local_day(ts), v);
            }
        }
    }
    let mut segments: HashMap<String, (i64, String)> = HashMap::new();
    for b in q.collect("SELECT customer_id, segment, segment_name FROM segments")? {
        let (c, s, n) = (
            strings(&b, "customer_id")?,
            ints(&b, "segment")?,
            strings(&b, "segment_name")?,
        );
        for i in 0..b.num_rows() {
            if let (Some(c), Some(s), Some(n)) = (&c[i], s[i], &n[i]) {
                segments.insert(c.clone(), (s, n.clone()));
            }
        }
    }
    // Mean sentiment of each customer's complaints in the year before, from `text analyze`.
    let mut sentiment: HashMap<String, (f64, usize)> = HashMap::new();
    q.for_each(
        "SELECT customer_id, ts, sentiment_score FROM text_documents \
         WHERE source = 'work_order' AND kind = 'complaint' AND customer_id IS NOT NULL",
        |b| {
            let (c, t, v) = (
                strings(b, "customer_id")?,
                timestamps(b, "ts")?,
                floats(b, "sentiment_score")?,
            );
            for i in 0..b.num_rows() {
                if let (Some(c), Some(t), Some(v)) = (&c[i], t[i], v[i]) {
                    let day = t.div_euclid(86_400_000);
                    if day < as_of && day >= as_of - 365 {
                        let e = sentiment.entry(c.clone()).or_default();
                        e.0 += v;
                        e.1 += 1;
                    }
                }
            }
            Ok(())
        },
    )?;
    let mut scores: HashMap<(String, String), (f64, String)> = HashMap::new();
    for b in q.collect("SELECT customer_id, model, probability, band FROM risk_scores")? {
        let (c, m, p, band) = (
            strings(&b, "customer_id")?,
            strings(&b, "model")?,
            floats(&b, "probability")?,
            strings(&b, "band")?,
        );
        for i in 0..b.num_rows() {
            if let (Some(c), Some(m), Some(p), Some(band)) = (&c[i], &m[i], p[i], &band[i]) {
                scores.insert((m.clone(), c.clone()), (p, band.clone()));
            }
        }
    }
    progress("building profiles…");
    let active = data.active(as_of);
    let (late_i, days_late_i, outstanding_i, tenure_i) = (
        feature_index("late_share"),
        feature_index("mean_days_late"),
        feature_index("outstanding_yuan"),
        feature_index("tenure_days"),
    );
    struct Partial {
        i: usize,
        revenue: f64,
        ratio: f64,
        mean_kwh: f64,
    }
    let mut partial: Vec<Partial> = Vec::with_capacity(active.len());
    for &i in &active {
        let c = &data.data[i];
        let revenue = c
            .bills
            .iter()
            .filter(|b| b.issue < as_of && b.issue >= as_of - 365)
            .map(|b| b.amount as f64 / 100.0)
            .sum();
        let window = |from: i64, to: i64| -> f64 {
            let v = c.days_between(from, to);
            if v.len() < 30 {
                f64::NAN
            } else {
                v.iter().map(|d| d.1).sum::<f64>() / v.len() as f64
            }
        };
        let (recent, before) = (window(as_of - 90, as_of), window(as_of - 180, as_of - 90));
        let mean_kwh = if c.daily.is_empty() {
            f64::NAN
        } else {
            c.daily.iter().map(|d| d.1).sum::<f64>() / c.daily.len() as f64
        };
        partial.push(Partial {
            i,
            revenue,
            ratio: if before > 0.0 {
                recent / before
            } else {
                f64::NAN
            },
            mean_kwh,
        });
    }
    // Per-class distributions for levels, trends and revenue tiers.
    let class_of = |p: &Partial| data.data[p.i].class.clone().unwrap_or_default();
    /// Sorted mean daily kWh, 90-day ratios and revenues of one class.
    #[derive(Default)]
    struct ClassSpread {
        levels: Vec<f64>,
        ratios: Vec<f64>,
        revenues: Vec<f64>,
    }
    let mut by_class: HashMap<String, ClassSpread> = HashMap::new();
    for p in &partial {
        let e = by_class.entry(class_of(p)).or_default();
        if p.mean_kwh.is_finite() {
            e.levels.push(p.mean_kwh);
        }
        if p.ratio.is_finite() {
            e.ratios.push(p.ratio);
        }
        e.revenues.push(p.revenue);
    }
    for e in by_class.values_mut() {
        e.levels.sort_by(f64::total_cmp);
        e.ratios.sort_by(f64::total_cmp);
        e.revenues.sort_by(f64::total_cmp);
    }
    let mut profiles = Vec::with_capacity(partial.len());
    for p in &partial {
        let c = &data.data[p.i];
        let id = &data.ids[p.i];
        let ClassSpread {
            levels,
            ratios,
            revenues,
        } = &by_class[&class_of(p)];
        let row = data.features(p.i, as_of, &cats);
        let consumption_level = opt(p.mean_kwh).map(|k| {
            if k < percentile(levels, 1.0 / 3.0) {
                "low"
            } else if k > percentile(levels, 2.0 / 3.0) {
                "high"
            } else {
                "medium"
            }
        });
        let trend_pct = opt((p.ratio / percentile(ratios, 0.5) - 1.0) * 100.0);
        let shape = shape_of
            .get(id.as_str())
            .and_then(|&k| shapes.as_ref().map(|s| &s.rows[k]));
        let (peak_block, peak_valley_ratio, load_factor) = match shape {
            Some(r) => {
                let blocks = &r[..8];
                let (peak, top) = blocks
                    .iter()
                    .enumerate()
                    .fold((0, f64::MIN), |b, (k, &v)| if v > b.1 { (k, v) } else { b });
                let low = blocks.iter().copied().fold(f64::INFINITY, f64::min);
                (
                    Some(format!("{:02}–{:02} h", peak * 3, peak * 3 + 3)),
                    opt(top / low),
                    opt(1.0 / top),
                )
            }
            None => (None, None, None),
        };
        let at = |k: usize| shape.and_then(|r| opt(r[k]));
        // Weather sensitivity from the customer's region's temperature.
        let (cooling, heating) = match c.region.as_ref().and_then(|r| temps.get(r)) {
            Some(t) => {
                let days: Vec<(f64, f64, f64, f64)> = c
                    .daily
                    .iter()
                    .filter_map(|&(d, kwh)| {
                        let temp = *t.get(&d)?;
                        let wd = f64::from(u8::from(calendar.day_type(d) == DayType::Weekday));
                        Some((kwh, wd, (temp - 22.0).max(0.0), (15.0 - temp).max(0.0)))
                    })
                    .collect();
                weather_slopes(&days)
            }
            None => (None, None),
        };
        let late_share = opt(row[late_i]);
        let outstanding = row[outstanding_i].max(0.0);
        let punctuality = match late_share {
            _ if outstanding > 0.0 && row[feature_index("unpaid_bills")] >= 2.0 => "in arrears",
            Some(s) if s >= 0.5 => "often late",
            Some(s) if s > 0.0 => "sometimes late",
            Some(_) => "punctual",
            None => "no bills yet",
        };
        let complaints_12m = c
            .orders
            .iter()
            .filter(|o| o.1 && o.0 < as_of && o.0 >= as_of - 365)
            .count() as i64;
        let mut channels: HashMap<&str, usize> = HashMap::new();
        let mut digital = 0usize;
        let recent: Vec<&(i64, String)> = c
            .contacts
            .iter()
            .filter(|x| x.0 < as_of && x.0 >= as_of - 365)
            .collect();
        for (_, ch) in &recent {
            *channels.entry(ch.as_str()).or_default() += 1;
            digital += usize::from(is_digital(ch));
        }
        let preferred_channel = channels
            .into_iter()
            .max_by_key(|&(ch, n)| (n, std::cmp::Reverse(ch)))
            .map(|(ch, _)| ch.to_string());
        let digital_share = (!recent.is_empty()).then(|| digital as f64 / recent.len() as f64);
        let churn = scores.get(&("churn".to_string(), id.clone()));
        let arrears = scores.get(&("arrears".to_string(), id.clone()));
        let tenure_days = opt(row[tenure_i]).map(|d| d as i64);
        let value_tier = if churn.is_some_and(|s| s.1 == "high")
            || arrears.is_some_and(|s| s.1 == "high")
            || late_share.is_some_and(|s| s >= 0.5)
        {
            "at-risk"
        } else if p.revenue >= percentile(revenues, 0.8) && p.revenue > 0.0 {
            "high-value"
        } else if trend_pct.is_some_and(|t| t >= 10.0) || tenure_days.is_some_and(|t| t < 365) {
            "growth"
        } else if p.revenue < percentile(revenues, 0.3) {
            "low-value"
        } else {
            "stable"
        };
        let segment = segments.get(id);
        let mut tags: Vec<String> = Vec::new();
        if let Some(l) = consumption_level {
            tags.push(format!("{l}-use"));
        }
        if let Some(t) = trend_pct {
            if t <= -20.0 {
                tags.push("falling use".into());
            } else if t >= 20.0 {
                tags.push("rising use".into());
            }
        }
        if let Some(b) = &peak_block {
            tags.push(format!("peak {b}"));
        }
        if cooling.is_some_and(|v| v >= 5.0) {
            tags.push("air-conditioning sensitive".into());
        }
        if heating.is_some_and(|v| v >= 3.0) {
            tags.push("heating sensitive".into());
        }
        tags.push(punctuality.to_string());
        if digital_share.is_some_and(|d| d >= 0.6) {
            tags.push("digital".into());
        } else if digital_share.is_some_and(|d| d < 0.2) {
            tags.push("prefers halls and phone".into());
        }
        if complaints_12m >= 2 {
            tags.push("repeat complainer".into());
        }
        tags.push(value_tier.to_string());
        profiles.push(Profile {
            customer_id: id.clone(),
            customer_class: c.class.clone(),
            region: c.region.clone(),
            tenure_days,
            mean_daily_kwh: opt(p.mean_kwh),
            consumption_level,
            trend_pct,
            peak_block,
            peak_valley_ratio,
            load_factor,
            rest_day_ratio: at(8),
            summer_ratio: at(9),
            winter_ratio: at(10),
            cooling_pct_per_c: cooling,
            heating_pct_per_c: heating,
            late_share,
            mean_days_late: opt(row[days_late_i]),
            outstanding_yuan: outstanding,
            punctuality,
            complaints_12m,
            complaint_sentiment: sentiment.get(id).map(|e| e.0 / e.1 as f64),
            preferred_channel,
            digital_share,
            segment: segment.map(|s| s.0),
            segment_name: segment.map(|s| s.1.clone()),
            revenue_12m_yuan: p.revenue,
            value_tier,
            churn_probability: churn.map(|s| s.0),
            arrears_probability: arrears.map(|s| s.0),
            tags,
        });
    }
    let run_id = crate::vee::run_id(clock.now_ms());
    let mut rows = gridmark_core::Rows::new(catalog::table("customer_profiles")?);
    let f = |v: Option<f64>| v.map_or(Value::Null, Value::Float);
    let s = |v: Option<String>| v.map_or(Value::Null, Value::Str);
    for p in &profiles {
        rows.push(vec![
            p.customer_id.clone().into(),
            run_id.clone().into(),
            s(p.customer_class.clone()),
            s(p.region.clone()),
            p.tenure_days.map_or(Value::Null, Value::Int),
            f(p.mean_daily_kwh),
            s(p.consumption_level.map(String::from)),
            f(p.trend_pct),
            s(p.peak_block.clone()),
            f(p.peak_valley_ratio),
            f(p.load_factor),
            f(p.rest_day_ratio),
            f(p.summer_ratio),
            f(p.winter_ratio),
            f(p.cooling_pct_per_c),
            f(p.heating_pct_per_c),
            f(p.late_share),
            f(p.mean_days_late),
            Value::Float(p.outstanding_yuan),
            p.punctuality.into(),
            p.complaints_12m.into(),
            f(p.complaint_sentiment),
            s(p.preferred_channel.clone()),
            f(p.digital_share),
            p.segment.map_or(Value::Null, Value::Int),
            s(p.segment_name.clone()),
            Value::Float(p.revenue_12m_yuan),
            p.value_tier.into(),
            f(p.churn_probability),
            f(p.arrears_probability),
            p.tags.join(", ").into(),
        ])?;
    }
    let mut writer = lake.writer(clock.clone())?;
    let old: Vec<String> = writer
        .pending()
        .table("customer_profiles")
        .map(|t| t.files.iter().map(|f| f.path.clone()).collect())
        .unwrap_or_default();
    for f in old {
        writer.remove_file("customer_profiles", &f);
    }
    gridmark_ingest::store_rows(&mut writer, &rows, &format!("profile:{run_id}"))?;
    let snapshot = writer.commit("profile build")?;
    let inputs = vec![
        ("load shapes", shapes.is_some()),
        ("weather", !temps.is_empty()),
        ("segments", !segments.is_empty()),
        ("churn scores", scores.keys().any(|k| k.0 == "churn")),
        ("arrears scores", scores.keys().any(|k| k.0 == "arrears")),
        ("complaint sentiment", !sentiment.is_empty()),
    ];
    Ok(ProfileReport {
        profiles,
        as_of,
        run_id,
        version: snapshot.version,
        seconds: (clock.now_ms() - started) as f64 / 1000.0,
        inputs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weather_slopes_recover_planted_sensitivity() {
        // base 10 kWh, +1 on working days, +8 % per cooling degree, +3 % per heating degree.
        let days: Vec<(f64, f64, f64, f64)> = (0..365)
            .map(|d| {
                let temp = 16.0 + 14.0 * (d as f64 * std::f64::consts::TAU / 365.0).sin();
                let wd = f64::from(u8::from(d % 7 < 5));
                let (cdd, hdd) = ((temp - 22.0).max(0.0), (15.0 - temp).max(0.0));
                (10.0 + wd + 0.8 * cdd + 0.3 * hdd, wd, cdd, hdd)
            })
            .collect();
        let (c, h) = weather_slopes(&days);
        assert!((c.unwrap() - 8.0).abs() < 0.01, "{c:?}");
        assert!((h.unwrap() - 3.0).abs() < 0.01, "{h:?}");
        // Too few days: no estimate rather than a wild one.
        assert_eq!(weather_slopes(&days[..30]), (None, None));
    }
}
