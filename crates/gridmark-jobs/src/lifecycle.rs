//! `gridmark lifecycle`: for each product or service in `products` (tariff plans, e-billing,
//! EV charging, rooftop solar…), the monthly adoption curve, a fitted Bass diffusion model,
//! the lifecycle stage and a forecast of adopters.
//!
//! Months run from the first adoption to the last month with data. The stage is
//! [`Stage::Decline`] when active users (adopted and not dropped) fell over the last 6 months,
//! else from the fitted curve: before the peak of new adoptions (introduction under 16 % of the
//! potential, growth above), maturity after it. The potential is at most the number of
//! customers (when the lake has them).

use crate::JobError;
use crate::query::{Query, dates, strings};
use gridmark_analytics::diffusion::{Bass, Stage};
use gridmark_core::civil::civil_from_days;
use std::collections::BTreeMap;

/// One product's lifecycle.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Lifecycle {
    pub product: String,
    pub first_month: String,
    pub last_month: String,
    /// Cumulative adopters at the end of each month.
    pub cumulative: Vec<u64>,
    /// Active users at the end of each month.
    pub active: Vec<u64>,
    pub adopters: u64,
    pub active_now: u64,
    /// Active users now minus 6 months before.
    pub active_change_6m: i64,
    /// Innovation, imitation (per month) and market potential; None when the fit failed.
    pub p: Option<f64>,
    pub q: Option<f64>,
    pub m: Option<f64>,
    /// Months between launch and the first month seen.
    pub months_before_data: Option<f64>,
    pub rmse: Option<f64>,
    /// Share of the potential adopted.
    pub penetration: Option<f64>,
    /// Month of the fitted peak of new adoptions.
    pub peak_month: Option<String>,
    pub stage: String,
    /// Cumulative adopters forecast for the next months.
    pub forecast: Vec<(String, f64)>,
}

/// Months since year 0 of a local day, so that months subtract.
pub(crate) fn month_index(day: i64) -> i64 {
    let (y, m, _) = civil_from_days(day);
    y * 12 + m as i64 - 1
}

/// `2025-03` of a [`month_index`].
pub(crate) fn month_name(index: i64) -> String {
    format!("{}-{:02}", index.div_euclid(12), index.rem_euclid(12) + 1)
}

/// Every product's curve, fit, stage and a `horizon`-month forecast.
pub fn analyze(q: &Query, horizon: usize) -> Result<Vec<Lifecycle>, JobError> {
    // product → (start month, end month if dropped)
    let mut spells: BTreeMap<String, Vec<(i64, Option<i64>)>> = BTreeMap::new();
    let mut last = i64::MIN;
    q.for_each("SELECT product, start_date, end_date FROM products", |b| {
        let (p, s, e) = (
            strings(b, "product")?,
            dates(b, "start_date")?,
            dates(b, "end_date")?,
        );
        for i in 0..b.num_rows() {
            let (Some(p), Some(s)) = (&p[i], s[i]) else {
                continue;
            };
            let (sm, em) = (month_index(s), e[i].map(month_index));
            last = last.max(sm).max(em.unwrap_or(i64::MIN));
            spells.entry(p.clone()).or_default().push((sm, em));
        }
        Ok(())
    })?;
    if spells.is_empty() {
        return Err(JobError::invalid(
            "products",
            "no product adoptions: import the `products` table (customer_id, product, start_date, end_date) first",
        ));
    }
    // The data ends with the latest bill or reading month when those run later.
    for b in q.collect("SELECT max(issue_date) AS d FROM bills")? {
        if let Some(Some(d)) = dates(&b, "d")?.first() {
            last = last.max(month_index(*d));
        }
    }
    // Nobody outside the customer base can adopt.
    let mut customers = 0.0;
    for b in q.collect("SELECT count(*) AS n FROM customers")? {
        if let Some(Some(n)) = crate::query::ints(&b, "n")?.first() {
            customers = *n as f64;
        }
    }
    let mut out = Vec::new();
    for (product, spells) in spells {
        let first = spells.iter().map(|s| s.0).min().unwrap_or(last);
        let months = (last - first + 1).max(1) as usize;
        let mut cumulative = vec![0u64; months];
        let mut active = vec![0u64; months];
        for &(s, e) in &spells {
            for k in (s - first) as usize..months {
                cumulative[k] += 1;
                let month = first + k as i64;
                if e.is_none_or(|e| e > month) {
                    active[k] += 1;
                }
            }
        }
        let adopters = *cumulative.last().unwrap_or(&0);
        let active_now = *active.last().unwrap_or(&0);
        let before = active[months.saturating_sub(7)];
        let active_change_6m = active_now as i64 - before as i64;
        let y: Vec<f64> = cumulative.iter().map(|&c| c as f64).collect();
        let fit = Bass::fit(&y, (customers > 0.0).then_some(customers));
        let stage = match &fit {
            Some(b) => b.stage(months, Some(active_change_6m as f64)).name(),
            None if active_change_6m < 0 => Stage::Decline.name(),
            None => "unknown (too few months or no growth to fit)",
        };
        let forecast = fit
            .as_ref()
            .map(|b| {
                (1..=horizon)
                    .map(|h| {
                        (
                            month_name(last + h as i64),
                            b.cumulative((months - 1 + h) as f64),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        out.push(Lifecycle {
            product,
            first_month: month_name(first),
            last_month: month_name(last),
            adopters,
            active_now,
            active_change_6m,
            p: fit.as_ref().map(|b| b.p),
            q: fit.as_ref().map(|b| b.q),
            m: fit.as_ref().map(|b| b.m),
            months_before_data: fit.as_ref().map(|b| b.tau),
            rmse: fit.as_ref().map(|b| b.rmse),
            penetration: fit.as_ref().map(|b| adopters as f64 / b.m),
            peak_month: fit.as_ref().map(|b| {
                // The curve starts `tau` months before the first month seen.
                let launch = first as f64 - b.tau;
                month_name((launch + b.peak_period()).floor() as i64)
            }),
            stage: stage.to_string(),
            forecast,
            cumulative,
            active,
        });
    }
    Ok(out)
}
