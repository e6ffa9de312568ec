//! `gridmark staff assess --period 2025-Q1`: a performance assessment of every staff member
//! from the work orders they handled and the surveys that rated them in the period.
//!
//! KPIs (orders created in the period):
//! * volume: orders handled; closed: of those, closed;
//! * resolution time: median hours, and for the score the mean of `ln(hours)` minus the mean
//!   for orders of the same kind and category (case mix: a new connection takes days, a
//!   consultation minutes, and nobody should be graded on the mix they were sent);
//! * first-contact resolution: closed orders whose customer did not open another order of the
//!   same category within 7 days of this one;
//! * reopen rate: closed orders followed by an order of the same customer and category within
//!   30 days of closing;
//! * satisfaction: CSAT of the surveys rating them, minus the mean CSAT of surveys after the
//!   same kind and category of order (complaints score lower whoever handles them);
//! * complaints against them: complaints by a customer within 30 days after this staff member
//!   closed an order of theirs, per closed order.
//!
//! Small numbers: every KPI is shrunk toward the mean of the staff member's role by empirical
//! Bayes (normal–normal for means, beta–binomial for rates), so five lucky orders do not make
//! the best agent of the quarter. The composite is the weighted sum of the shrunk KPIs as
//! z-scores within the role (higher is better): satisfaction 0.40, resolution speed 0.30,
//! first-contact resolution 0.10, reopen 0.10, complaints 0.10. Volume is reported but not
//! scored: it follows from how work is assigned. Grades by the composite's rank over all
//! staff: A top 20 %, B next 30 %, C next 35 %, D bottom 15 %; grades with fewer than
//! [`PROVISIONAL_ORDERS`] orders are marked provisional.

use crate::JobError;
use crate::query::Query;
use crate::service_data::{Period, ServiceData};
use gridmark_analytics::stats::{self, Moments, Shrunk};
use gridmark_lake::Lake;
use std::collections::{BTreeMap, HashMap};

/// Weights of the composite score.
pub const WEIGHTS: [(&str, f64); 5] = [
    ("satisfaction", 0.40),
    ("speed", 0.30),
    ("first_contact", 0.10),
    ("reopen", 0.10),
    ("complaints", 0.10),
];
/// Fewer orders than this in the period: the grade is provisional.
pub const PROVISIONAL_ORDERS: u64 = 10;
const FCR_DAYS: i64 = 7;
const REOPEN_DAYS: i64 = 30;
const COMPLAINT_DAYS: i64 = 30;
const DAY_MS: i64 = 86_400_000;

/// One staff member's assessment.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Assessment {
    pub rank: usize,
    pub staff_id: String,
    pub role: String,
    pub region: Option<String>,
    pub hall_id: Option<String>,
    pub orders: u64,
    pub closed: u64,
    pub median_resolution_hours: Option<f64>,
    pub first_contact_rate: Option<f64>,
    pub reopen_rate: Option<f64>,
    pub surveys: u64,
    pub csat: Option<f64>,
    pub complaints_after: u64,
    /// Mean `ln(hours)` against the case mix (negative = faster than usual), raw and shrunk.
    pub speed_raw: Option<f64>,
    pub speed_index: f64,
    /// CSAT against the case mix, raw and shrunk.
    pub satisfaction_raw: Option<f64>,
    pub satisfaction_index: f64,
    pub first_contact_shrunk: f64,
    pub reopen_shrunk: f64,
    pub complaint_rate_shrunk: f64,
    pub composite: f64,
    pub grade: &'static str,
    pub provisional: bool,
    /// The strongest and weakest KPI in words.
    pub note: String,
}

/// The assessment of a period.
#[derive(Debug, Clone, serde::Serialize)]
pub struct StaffReport {
    pub period: Period,
    pub staff: Vec<Assessment>,
    pub orders: u64,
    pub surveys: u64,
    pub orders_without_staff: u64,
    /// Share of each KPI's spread between staff that is real rather than noise, by role
    /// (mean shrinkage weight): low values mean the period is too short to tell people apart.
    pub reliability: Vec<(String, String, f64)>,
    pub weights: Vec<(String, f64)>,
}

#[derive(Default)]
struct Kpi {
    orders: u64,
    closed: u64,
    hours: Vec<f64>,
    log_excess: Moments,
    fcr: u64,
    reopened: u64,
    complaints: u64,
    csat: Moments,
    csat_excess: Moments,
}

/// Reads the lake and assesses the period.
pub fn assess(lake: &Lake, q: &Query, period: &Period) -> Result<StaffReport, JobError> {
    let data = ServiceData::read(lake, q)?;
    assess_data(&data, period)
}

/// The assessment on records already read.
pub fn assess_data(data: &ServiceData, period: &Period) -> Result<StaffReport, JobError> {
    let in_period: Vec<usize> = (0..data.orders.len())
        .filter(|&i| period.contains(data.orders[i].day))
        .collect();
    if in_period.is_empty() {
        return Err(JobError::invalid(
            "work_orders",
            format!(
                "no work order created in {} (the lake has {} orders{})",
                period.name,
                data.orders.len(),
                match (data.orders.first(), data.orders.last()) {
                    (Some(a), Some(b)) => format!(
                        " from {} to {}",
                        gridmark_core::civil::format_date(a.day),
                        gridmark_core::civil::format_date(b.day)
                    ),
                    _ => String::new(),
                }
            ),
        ));
    }
    // Orders of each customer and category in time order, for repeats and complaints.
    let mut by_customer: HashMap<usize, Vec<usize>> = HashMap::new();
    for (i, o) in data.orders.iter().enumerate() {
        if let Some(c) = o.customer {
            by_customer.entry(c).or_default().push(i);
        }
    }
    // Case mix: mean ln(hours) and mean CSAT per kind and category in the period.
    let mut mix_hours: HashMap<(&str, &str), Moments> = HashMap::new();
    for &i in &in_period {
        let o = &data.orders[i];
        if let Some(h) = o.resolution_hours() {
            mix_hours
                .entry((&o.kind, &o.category))
                .or_default()
                .push(h.max(0.01).ln());
        }
    }
    let mut mix_csat: HashMap<(&str, &str), Moments> = HashMap::new();
    let rated: Vec<_> = data
        .answers
        .iter()
        .filter(|a| period.contains(a.day) && a.staff_id.is_some())
        .filter_map(|a| Some((a, a.csat? as f64)))
        .collect();
    for (a, c) in &rated {
        let key = a.order.map_or(("relationship", "relationship"), |k| {
            (
                data.orders[k].kind.as_str(),
                data.orders[k].category.as_str(),
            )
        });
        mix_csat.entry(key).or_default().push(*c);
    }
    let roles: HashMap<&str, &crate::service_data::StaffInfo> = data
        .staff
        .iter()
        .map(|s| (s.staff_id.as_str(), s))
        .collect();
    let mut kpi: BTreeMap<String, Kpi> = data
        .staff
        .iter()
        .map(|s| (s.staff_id.clone(), Kpi::default()))
        .collect();
    let mut orders_without_staff = 0;
    for &i in &in_period {
        let o = &data.orders[i];
        let Some(s) = &o.staff_id else {
            orders_without_staff += 1;
            continue;
        };
        let k = kpi.entry(s.clone()).or_default();
        k.orders += 1;
        let Some(h) = o.resolution_hours() else {
            continue;
        };
        k.closed += 1;
        k.hours.push(h);
        if let Some(m) = mix_hours.get(&(o.kind.as_str(), o.category.as_str())) {
            k.log_excess.push(h.max(0.01).ln() - m.mean);
        }
        let closed = o.closed_ms.unwrap_or(o.created_ms);
        let (mut repeat_soon, mut reopened, mut complaints) = (false, false, 0);
        if let Some(c) = o.customer {
            for &j in &by_customer[&c] {
                let other = &data.orders[j];
                if j == i || other.created_ms <= o.created_ms {
                    continue;
                }
                let same = other.category == o.category;
                repeat_soon |= same && other.created_ms - o.created_ms <= FCR_DAYS * DAY_MS;
                let after_close = other.created_ms > closed;
                reopened |=
                    same && after_close && other.created_ms - closed <= REOPEN_DAYS * DAY_MS;
                if other.kind == "complaint"
                    && after_close
                    && other.created_ms - closed <= COMPLAINT_DAYS * DAY_MS
                {
                    complaints += 1;
                }
            }
        }
        k.fcr += u64::from(!repeat_soon);
        k.reopened += u64::from(reopened);
        k.complaints += complaints;
    }
    for (a, c) in &rated {
        let key = a.order.map_or(("relationship", "relationship"), |k| {
            (
                data.orders[k].kind.as_str(),
                data.orders[k].category.as_str(),
            )
        });
        let k = kpi
            .entry(a.staff_id.clone().unwrap_or_default())
            .or_default();
        k.csat.push(*c);
        k.csat_excess.push(c - mix_csat[&key].mean);
    }
    // Staff with nothing in the period and not on the roster are dropped; roster staff with
    // nothing are kept (they get the prior and a provisional grade).
    let ids: Vec<String> = kpi.keys().cloned().collect();
    let role_of = |id: &str| {
        roles
            .get(id)
            .and_then(|s| s.role.clone())
            .unwrap_or_else(|| "(unknown)".into())
    };
    let mut by_role: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, id) in ids.iter().enumerate() {
        by_role.entry(role_of(id)).or_default().push(i);
    }
    // Small roles borrow strength from everyone.
    let pools: Vec<Vec<usize>> = {
        let (mut big, mut small): (Vec<Vec<usize>>, Vec<usize>) = (Vec::new(), Vec::new());
        for members in by_role.values() {
            if members.len() >= 3 {
                big.push(members.clone());
            } else {
                small.extend(members);
            }
        }
        if !small.is_empty() {
            big.push(small);
        }
        big
    };
    let k: Vec<&Kpi> = ids.iter().map(|id| &kpi[id]).collect();
    let n = ids.len();
    let mut speed = vec![0.0; n];
    let mut sat = vec![0.0; n];
    let mut fcr = vec![0.0; n];
    let mut reopen = vec![0.0; n];
    let mut compl = vec![0.0; n];
    let mut z = vec![[0.0f64; 5]; n];
    let mut reliability = Vec::new();
    for pool in &pools {
        let role = if pool
            .iter()
            .all(|&i| role_of(&ids[i]) == role_of(&ids[pool[0]]))
        {
            role_of(&ids[pool[0]])
        } else {
            "(small roles pooled)".into()
        };
        let means = |f: &dyn Fn(&Kpi) -> Moments| {
            stats::shrink_means(&pool.iter().map(|&i| f(k[i])).collect::<Vec<_>>())
        };
        let rates = |f: &dyn Fn(&Kpi) -> (u64, u64)| {
            stats::shrink_rates(&pool.iter().map(|&i| f(k[i])).collect::<Vec<_>>())
        };
        let parts: [(Shrunk, &mut Vec<f64>, f64); 5] = [
            (means(&|x| x.csat_excess), &mut sat, 1.0),
            (means(&|x| x.log_excess), &mut speed, -1.0),
            (rates(&|x| (x.fcr, x.closed)), &mut fcr, 1.0),
            (rates(&|x| (x.reopened, x.closed)), &mut reopen, -1.0),
            (
                rates(&|x| (x.complaints.min(x.closed), x.closed)),
                &mut compl,
                -1.0,
            ),
        ];
        for (c, (shrunk, out, sign)) in parts.into_iter().enumerate() {
            let values: Vec<f64> = shrunk
                .estimates
                .iter()
                .map(|v| if v.is_finite() { *v } else { 0.0 })
                .collect();
            let m: Moments = values.iter().copied().collect();
            let sd = m.variance().sqrt();
            for (j, &i) in pool.iter().enumerate() {
                out[i] = values[j];
                z[i][c] = if sd > 0.0 {
                    sign * (values[j] - m.mean) / sd
                } else {
                    0.0
                };
            }
            let present: Vec<f64> = pool
                .iter()
                .zip(&shrunk.weights)
                .filter(|(i, _)| k[**i].orders > 0)
                .map(|(_, w)| *w)
                .collect();
            if !present.is_empty() {
                reliability.push((
                    role.clone(),
                    WEIGHTS[c].0.to_string(),
                    present.iter().sum::<f64>() / present.len() as f64,
                ));
            }
        }
    }
    let composite: Vec<f64> = z
        .iter()
        .map(|zs| zs.iter().zip(WEIGHTS).map(|(v, (_, w))| v * w).sum())
        .collect();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| {
        composite[b]
            .total_cmp(&composite[a])
            .then(ids[a].cmp(&ids[b]))
    });
    let mut staff = Vec::with_capacity(n);
    for (r, &i) in order.iter().enumerate() {
        let x = k[i];
        // Mid-rank percentile: the last of six is in the bottom 15 %, the first in the top 20 %.
        let share = (r as f64 + 0.5) / n as f64;
        let grade = if share < 0.20 {
            "A"
        } else if share < 0.50 {
            "B"
        } else if share < 0.85 {
            "C"
        } else {
            "D"
        };
        let mut hours = x.hours.clone();
        hours.sort_by(f64::total_cmp);
        let names = [
            "satisfaction",
            "resolution speed",
            "first-contact resolution",
            "few reopened orders",
            "few complaints after",
        ];
        // KPIs on which nobody in the role differs say nothing about this person.
        let telling: Vec<usize> = (0..5).filter(|&c| z[i][c].abs() > 1e-9).collect();
        let best = telling
            .iter()
            .copied()
            .max_by(|&a, &b| z[i][a].total_cmp(&z[i][b]));
        let worst = telling
            .iter()
            .copied()
            .min_by(|&a, &b| z[i][a].total_cmp(&z[i][b]));
        let note = match (best, worst) {
            _ if x.orders == 0 && x.csat.n == 0 => {
                "no orders or surveys in the period: scored at the role's mean".to_string()
            }
            (Some(b), Some(w)) if b != w => format!(
                "strongest: {} ({:+.1} sd); weakest: {} ({:+.1} sd)",
                names[b], z[i][b], names[w], z[i][w]
            ),
            (Some(b), _) => format!(
                "{} {:+.1} sd; other KPIs at the role's mean",
                names[b], z[i][b]
            ),
            _ => "at the role's mean on every KPI".to_string(),
        };
        let info = roles.get(ids[i].as_str());
        staff.push(Assessment {
            rank: r + 1,
            staff_id: ids[i].clone(),
            role: role_of(&ids[i]),
            region: info.and_then(|s| s.region.clone()),
            hall_id: info.and_then(|s| s.hall_id.clone()),
            orders: x.orders,
            closed: x.closed,
            median_resolution_hours: stats::quantile_sorted(&hours, 0.5),
            first_contact_rate: (x.closed > 0).then(|| x.fcr as f64 / x.closed as f64),
            reopen_rate: (x.closed > 0).then(|| x.reopened as f64 / x.closed as f64),
            surveys: x.csat.n,
            csat: (x.csat.n > 0).then_some(x.csat.mean),
            complaints_after: x.complaints,
            speed_raw: (x.log_excess.n > 0).then_some(x.log_excess.mean),
            speed_index: speed[i],
            satisfaction_raw: (x.csat_excess.n > 0).then_some(x.csat_excess.mean),
            satisfaction_index: sat[i],
            first_contact_shrunk: fcr[i],
            reopen_shrunk: reopen[i],
            complaint_rate_shrunk: compl[i],
            composite: composite[i],
            grade,
            provisional: x.orders < PROVISIONAL_ORDERS,
            note,
        });
    }
    Ok(StaffReport {
        period: period.clone(),
        orders: in_period.len() as u64,
        surveys: rated.len() as u64,
        orders_without_staff,
        staff,
        reliability,
        weights: WEIGHTS.iter().map(|(n, w)| (n.to_string(), *w)).collect(),
    })
}
