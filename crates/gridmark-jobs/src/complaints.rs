//! Each complaint linked to the facts about its account near its date, so service staff see
//! the likely cause: estimated, edited or missing reads in the 45 days before (the latest VEE
//! run's edit log), the latest bill against the usual (the median of the 6 before it), a VEE
//! finding on the customer's meters in the 30 days before (stuck register, zero run…), most of
//! the area's meters reading zero at once in the 7 days before (an outage), and a change of
//! the customer's tariff or of its prices in the 75 days before.
//!
//! The cause is the fact that fits the complaint's category first (a billing complaint is
//! explained by a high bill before estimated reads), then any strong fact, else `none`.

use crate::JobError;
use crate::query::{Query, dates, ints, literal, strings, timestamps};
use crate::text_analyze::{Document, DocumentResult};
use gridmark_core::civil::format_date;
use gridmark_core::{Rows, catalog, columns::Value};
use std::collections::{HashMap, HashSet};

const MS_PER_DAY: i64 = 86_400_000;
const ESTIMATED_WINDOW_DAYS: i64 = 45;
const BILL_WINDOW_DAYS: i64 = 45;
const METER_EVENT_WINDOW_DAYS: i64 = 30;
const OUTAGE_WINDOW_DAYS: i64 = 7;
const TARIFF_WINDOW_DAYS: i64 = 75;
/// A bill this many times the usual counts as high.
pub const HIGH_BILL_RATIO: f64 = 1.3;
/// Days of estimated reads that count as a cause.
pub const ESTIMATED_DAYS_CAUSE: i64 = 3;
/// Share of an area's meters reading zero in the same hour for an outage (at least 3 meters).
pub const OUTAGE_SHARE: f64 = 0.6;

/// One complaint with its facts.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ComplaintLink {
    pub order_id: String,
    pub customer_id: Option<String>,
    pub created_at: i64,
    pub category: Option<String>,
    pub estimated_days: i64,
    pub bill_ratio: Option<f64>,
    pub bill_period: Option<String>,
    pub meter_event: Option<String>,
    pub area_outage: Option<String>,
    pub tariff_change: Option<String>,
    pub cause: &'static str,
    pub explanation: String,
}

struct Bill {
    period: String,
    amount: i64,
    issue: i64,
    tariff: Option<String>,
}

struct Finding {
    rule: String,
    start: i64,
    end: i64,
}

/// What the links need about the complaining customers, read once.
#[derive(Default)]
struct Facts {
    meters: HashMap<String, Vec<String>>,
    area: HashMap<String, String>,
    tariff: HashMap<String, String>,
    bills: HashMap<String, Vec<Bill>>,
    /// Days (since epoch) with estimated, edited or missing reads, per meter.
    edited_days: HashMap<String, Vec<i64>>,
    findings: HashMap<String, Vec<Finding>>,
    /// Hours (ms) when most of an area's meters read zero, per area.
    outage_hours: HashMap<String, Vec<i64>>,
    /// Days a tariff's prices took effect.
    tariff_starts: HashMap<String, Vec<i64>>,
    vee_run: Option<String>,
}

fn load(
    q: &Query,
    customers: &HashSet<&str>,
    since_ms: i64,
    progress: &mut dyn FnMut(&str),
) -> Result<Facts, JobError> {
    let mut f = Facts::default();
    let mut meter_of: HashMap<String, String> = HashMap::new();
    let mut area_meters: HashMap<String, usize> = HashMap::new();
    q.for_each("SELECT meter_id, customer_id, area_id FROM meters", |b| {
        let (m, c, a) = (
            strings(b, "meter_id")?,
            strings(b, "customer_id")?,
            strings(b, "area_id")?,
        );
        for i in 0..b.num_rows() {
            let Some(m) = &m[i] else { continue };
            if let Some(a) = &a[i] {
                *area_meters.entry(a.clone()).or_default() += 1;
            }
            if let Some(c) = c[i].as_deref().filter(|c| customers.contains(c)) {
                f.meters.entry(c.to_string()).or_default().push(m.clone());
                meter_of.insert(m.clone(), c.to_string());
            }
        }
        Ok(())
    })?;
    q.for_each("SELECT customer_id, area_id, tariff FROM customers", |b| {
        let (c, a, t) = (
            strings(b, "customer_id")?,
            strings(b, "area_id")?,
            strings(b, "tariff")?,
        );
        for i in 0..b.num_rows() {
            let Some(c) = c[i].as_deref().filter(|c| customers.contains(c)) else {
                continue;
            };
            if let Some(a) = &a[i] {
                f.area.insert(c.to_string(), a.clone());
            }
            if let Some(t) = &t[i] {
                f.tariff.insert(c.to_string(), t.clone());
            }
        }
        Ok(())
    })?;
    progress("  bills…");
    q.for_each(
        "SELECT customer_id, period, amount_fen, tariff, issue_date FROM bills",
        |b| {
            let (c, p, a, t, d) = (
                strings(b, "customer_id")?,
                strings(b, "period")?,
                ints(b, "amount_fen")?,
                strings(b, "tariff")?,
                dates(b, "issue_date")?,
            );
            for i in 0..b.num_rows() {
                let Some(c) = c[i].as_deref().filter(|c| customers.contains(c)) else {
                    continue;
                };
                let (Some(p), Some(a), Some(d)) = (p[i].clone(), a[i], d[i]) else {
                    continue;
                };
                f.bills.entry(c.to_string()).or_default().push(Bill {
                    period: p,
                    amount: a,
                    issue: d,
                    tariff: t[i].clone(),
                });
            }
            Ok(())
        },
    )?;
    for bills in f.bills.values_mut() {
        bills.sort_by_key(|b| b.issue);
    }
    q.for_each("SELECT tariff, effective_from FROM tariffs", |b| {
        let (t, d) = (strings(b, "tariff")?, dates(b, "effective_from")?);
        for i in 0..b.num_rows() {
            if let (Some(t), Some(d)) = (&t[i], d[i]) {
                let v = f.tariff_starts.entry(t.clone()).or_default();
                if !v.contains(&d) {
                    v.push(d);
                }
            }
        }
        Ok(())
    })?;
    let runs = q.collect("SELECT max(run_id) AS run FROM vee_runs")?;
    f.vee_run = runs
        .first()
        .map(|b| strings(b, "run"))
        .transpose()?
        .and_then(|v| v.into_iter().next().flatten());
    if let Some(run) = &f.vee_run {
        progress("  the latest VEE run's edits and findings…");
        q.for_each(
            &format!(
                "SELECT DISTINCT meter_id, date_trunc('day', ts) AS day FROM vee_edits \
                 WHERE run_id = {} AND ts >= to_timestamp_millis({})",
                literal(run),
                since_ms - ESTIMATED_WINDOW_DAYS * MS_PER_DAY
            ),
            |b| {
                let (m, d) = (strings(b, "meter_id")?, timestamps(b, "day")?);
                for i in 0..b.num_rows() {
                    if let (Some(m), Some(d)) = (&m[i], d[i])
                        && meter_of.contains_key(m)
                    {
                        f.edited_days
                            .entry(m.clone())
                            .or_default()
                            .push(d.div_euclid(MS_PER_DAY));
                    }
                }
                Ok(())
            },
        )?;
        q.for_each(
            &format!(
                "SELECT meter_id, rule, start_ts, end_ts FROM vee_findings WHERE run_id = {}",
                literal(run)
            ),
            |b| {
                let (m, r, s, e) = (
                    strings(b, "meter_id")?,
                    strings(b, "rule")?,
                    timestamps(b, "start_ts")?,
                    timestamps(b, "end_ts")?,
                );
                for i in 0..b.num_rows() {
                    if let (Some(m), Some(r), Some(s), Some(e)) = (&m[i], &r[i], s[i], e[i])
                        && meter_of.contains_key(m)
                    {
                        f.findings.entry(m.clone()).or_default().push(Finding {
                            rule: r.clone(),
                            start: s,
                            end: e,
                        });
                    }
                }
                Ok(())
            },
        )?;
    }
    progress("  area-wide zero readings (outages)…");
    q.for_each(
        &format!(
            "SELECT m.area_id AS area_id, date_trunc('hour', r.ts) AS hour, \
             count(DISTINCT r.meter_id) AS zero_meters \
             FROM readings r JOIN meters m ON r.meter_id = m.meter_id \
             WHERE r.kwh = 0 AND r.ts >= to_timestamp_millis({}) AND m.area_id IS NOT NULL \
             GROUP BY 1, 2",
            since_ms - OUTAGE_WINDOW_DAYS * MS_PER_DAY
        ),
        |b| {
            let (a, h, n) = (
                strings(b, "area_id")?,
                timestamps(b, "hour")?,
                ints(b, "zero_meters")?,
            );
            for i in 0..b.num_rows() {
                let (Some(a), Some(h), Some(n)) = (&a[i], h[i], n[i]) else {
                    continue;
                };
                let total = area_meters.get(a).copied().unwrap_or(0) as f64;
                if n >= 3 && n as f64 >= OUTAGE_SHARE * total {
                    f.outage_hours.entry(a.clone()).or_default().push(h);
                }
            }
            Ok(())
        },
    )?;
    for hours in f.outage_hours.values_mut() {
        hours.sort_unstable();
    }
    Ok(f)
}

fn median(v: &mut [i64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_unstable();
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2] as f64
    } else {
        (v[n / 2 - 1] + v[n / 2]) as f64 / 2.0
    })
}

/// Links every complaint among `docs` (work orders of kind `complaint`).
pub fn link(
    q: &Query,
    docs: &[Document],
    results: &[DocumentResult],
    progress: &mut dyn FnMut(&str),
) -> Result<Vec<ComplaintLink>, JobError> {
    let complaints: Vec<usize> = (0..docs.len())
        .filter(|&i| docs[i].source == "work_order" && docs[i].kind.as_deref() == Some("complaint"))
        .collect();
    if complaints.is_empty() {
        return Ok(Vec::new());
    }
    let customers: HashSet<&str> = complaints
        .iter()
        .filter_map(|&i| docs[i].customer_id.as_deref())
        .collect();
    let since = complaints.iter().map(|&i| docs[i].ts).min().unwrap_or(0);
    let facts = load(q, &customers, since, progress)?;
    Ok(complaints
        .iter()
        .map(|&i| link_one(&facts, &docs[i], &results[i]))
        .collect())
}

fn link_one(f: &Facts, d: &Document, r: &DocumentResult) -> ComplaintLink {
    let t = d.ts;
    let day = t.div_euclid(MS_PER_DAY);
    let category = d.category_given.clone().or_else(|| r.category.clone());
    let cust = d.customer_id.as_deref().unwrap_or("");
    let meters: &[String] = f.meters.get(cust).map_or(&[], |v| v.as_slice());

    let mut days: HashSet<i64> = HashSet::new();
    for m in meters {
        for &x in f.edited_days.get(m).map_or(&[][..], |v| v.as_slice()) {
            if x < day && x >= day - ESTIMATED_WINDOW_DAYS {
                days.insert(x);
            }
        }
    }
    let estimated_days = days.len() as i64;

    let (mut bill_ratio, mut bill_period, mut tariff_change) = (None, None, None);
    if let Some(bills) = f.bills.get(cust) {
        let before = bills.partition_point(|b| b.issue <= day);
        if before > 0 && bills[before - 1].issue >= day - BILL_WINDOW_DAYS {
            let last = &bills[before - 1];
            let mut prev: Vec<i64> = bills[before.saturating_sub(7)..before - 1]
                .iter()
                .map(|b| b.amount)
                .collect();
            if let Some(m) = median(&mut prev).filter(|&m| m > 0.0) {
                bill_ratio = Some(last.amount as f64 / m);
                bill_period = Some(last.period.clone());
            }
            if before >= 2 {
                let p = &bills[before - 2];
                if p.tariff.is_some() && last.tariff.is_some() && p.tariff != last.tariff {
                    tariff_change = Some(format!(
                        "tariff {} → {} on the bill for {}",
                        p.tariff.as_deref().unwrap_or("?"),
                        last.tariff.as_deref().unwrap_or("?"),
                        last.period
                    ));
                }
            }
        }
    }
    if tariff_change.is_none()
        && let Some(tariff) = f.tariff.get(cust)
    {
        let starts = f
            .tariff_starts
            .get(tariff)
            .map_or(&[][..], |v| v.as_slice());
        let earliest = starts.iter().min().copied();
        // A tariff's first version is when it was introduced, not a change.
        if let Some(&s) = starts
            .iter()
            .filter(|&&s| Some(s) != earliest && s <= day && s >= day - TARIFF_WINDOW_DAYS)
            .max()
        {
            tariff_change = Some(format!(
                "prices of tariff {tariff} changed on {}",
                format_date(s)
            ));
        }
    }

    let area_outage = f.area.get(cust).and_then(|a| {
        let hours = f.outage_hours.get(a)?;
        let lo = hours.partition_point(|&h| h < t - OUTAGE_WINDOW_DAYS * MS_PER_DAY);
        let hi = hours.partition_point(|&h| h <= t);
        (hi > lo).then(|| {
            format!(
                "area {a}: most meters read zero for {} hour(s) from {}",
                hi - lo,
                gridmark_core::civil::format_utc(hours[lo])
            )
        })
    });

    let meter_event = meters
        .iter()
        .flat_map(|m| f.findings.get(m).into_iter().flatten().map(move |x| (m, x)))
        .filter(|(_, x)| {
            // Export (solar) and gaps too long to fill are not faults of the meter.
            !matches!(x.rule.as_str(), "not_estimated" | "reverse_flow")
                && x.start <= t
                && x.end >= t - METER_EVENT_WINDOW_DAYS * MS_PER_DAY
        })
        .max_by_key(|(_, x)| x.end)
        .map(|(m, x)| {
            format!(
                "{} on meter {m} from {} to {}",
                x.rule,
                format_date(x.start.div_euclid(MS_PER_DAY)),
                format_date((x.end - 1).div_euclid(MS_PER_DAY))
            )
        });

    let high_bill = bill_ratio.is_some_and(|x| x >= HIGH_BILL_RATIO);
    let estimated = estimated_days >= ESTIMATED_DAYS_CAUSE;
    // Zero readings across the area are an outage, not this meter's fault.
    let meter_fault = meter_event.is_some() && area_outage.is_none();
    let order: &[&'static str] = match category.as_deref() {
        Some("billing") => &[
            "high_bill",
            "estimated_reads",
            "tariff_change",
            "meter_fault",
        ],
        Some("metering") => &["meter_fault", "estimated_reads", "high_bill"],
        Some("outage") => &["outage", "meter_fault"],
        Some("tariff") => &["tariff_change", "high_bill"],
        _ => &[
            "outage",
            "meter_fault",
            "high_bill",
            "estimated_reads",
            "tariff_change",
        ],
    };
    let cause = order
        .iter()
        .copied()
        .find(|c| match *c {
            "high_bill" => high_bill,
            "estimated_reads" => estimated,
            "tariff_change" => tariff_change.is_some(),
            "meter_fault" => meter_fault,
            "outage" => area_outage.is_some(),
            _ => false,
        })
        .unwrap_or("none");

    let what = category
        .as_deref()
        .unwrap_or("uncategorised")
        .replace('_', " ");
    let mut parts = vec![format!("{what} complaint")];
    let bill_fact = || {
        format!(
            "the bill for {} is {:.1}× the median of the 6 before",
            bill_period.as_deref().unwrap_or("?"),
            bill_ratio.unwrap_or(0.0)
        )
    };
    match cause {
        "high_bill" => parts.push(bill_fact()),
        "estimated_reads" => parts.push(format!(
            "{estimated_days} days of estimated or missing reads in the {ESTIMATED_WINDOW_DAYS} days before"
        )),
        "tariff_change" => parts.push(tariff_change.clone().unwrap_or_default()),
        "meter_fault" => parts.push(meter_event.clone().unwrap_or_default()),
        "outage" => parts.push(area_outage.clone().unwrap_or_default()),
        _ => parts.push("no meter, bill, outage or tariff fact found near its date".into()),
    }
    if cause != "estimated_reads" && estimated {
        parts.push(format!(
            "{estimated_days} days of estimated or missing reads before it"
        ));
    }
    if cause != "high_bill" && high_bill {
        parts.push(bill_fact());
    }
    if f.vee_run.is_none() {
        parts.push("reads not checked: no VEE run".into());
    }
    ComplaintLink {
        order_id: d.id.clone(),
        customer_id: d.customer_id.clone(),
        created_at: t,
        category,
        estimated_days,
        bill_ratio,
        bill_period,
        meter_event,
        area_outage,
        tariff_change,
        cause,
        explanation: parts.join("; "),
    }
}

/// The `complaint_links` rows of a run.
pub fn rows(run_id: &str, links: &[ComplaintLink]) -> Result<Rows, JobError> {
    let s = |v: &Option<String>| v.clone().map_or(Value::Null, Value::Str);
    let mut rows = Rows::new(catalog::table("complaint_links")?);
    for l in links {
        rows.push(vec![
            l.order_id.clone().into(),
            run_id.into(),
            s(&l.customer_id),
            Value::Ts(l.created_at),
            s(&l.category),
            l.estimated_days.into(),
            l.bill_ratio.map_or(Value::Null, Value::Float),
            s(&l.meter_event),
            s(&l.area_outage),
            s(&l.tariff_change),
            l.cause.into(),
            l.explanation.clone().into(),
        ])?;
    }
    Ok(rows)
}
