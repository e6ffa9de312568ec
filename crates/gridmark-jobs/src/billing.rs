//! `gridmark bill run --period YYYY-MM`: every customer's billing determinants (energy per
//! tariff component) and charge for one month, priced exactly to the fen by
//! `gridmark_metering::tariff`, and compared with the `bills` table.
//!
//! Which tariff: the one the existing bill names (so an audit re-prices what was billed);
//! for a customer without a bill that month, the tariff of the customer archive.
//! Which readings: `readings_validated` when a VEE run has written it (`--source validated`,
//! the default), else the raw `readings`; `--source raw` forces the raw ones. A customer's
//! readings are summed over all its meters, in time order.
//! Which days: the local days of the month in the lake's zone from the customer's first
//! reading; the version of the tariff in force on that day prices the month (rule 4 of the
//! tariff engine). Annual tiers take the kWh of the customer's earlier bills that year.

use crate::JobError;
use crate::localtime::OffsetCache;
use crate::query::{Query, dates, floats, ints, literal, strings, timestamps};
use gridmark_lake::Lake;
use gridmark_metering::tariff::{BillingPeriod, HolidayCalendar, TariffBook, TariffComponent};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// One reading of the month with its local day and minute, resolved once.
struct LocalReading {
    ts: i64,
    day: i64,
    minute: u32,
    kwh: f64,
    interval_s: i64,
}

/// A customer's readings of the month and how many were estimated.
type CustomerReadings = (Vec<LocalReading>, u64);

/// A stored bill: (kWh, fen, tariff).
type StoredBill = (f64, i64, Option<String>);

/// Where the energy comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    Validated,
    Raw,
}

/// One customer's computed bill beside the stored one.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct BillLine {
    pub customer_id: String,
    pub tariff: String,
    /// Billing determinants: (component, kWh).
    pub components: Vec<(String, f64)>,
    pub kwh: f64,
    pub amount_fen: i64,
    pub billed_kwh: Option<f64>,
    pub billed_fen: Option<i64>,
    /// computed − billed, fen.
    pub difference_fen: Option<i64>,
    /// `match`, `mismatch`, `no_bill` (computed, nothing billed), `no_readings` (billed, no
    /// readings to check it), or `error: …` (the tariff could not price it).
    pub status: String,
    /// Estimated intervals in the month's validated readings.
    pub estimated_intervals: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct BillReport {
    pub period: String,
    pub source: Source,
    pub customers: usize,
    pub matched: usize,
    pub mismatched: usize,
    pub no_bill: usize,
    pub no_readings: usize,
    pub errors: usize,
    pub computed_fen: i64,
    pub billed_fen: i64,
    pub lines: Vec<BillLine>,
}

/// Parses `YYYY-MM`.
pub fn parse_period(text: &str) -> Result<(i64, u32), JobError> {
    let bad = || {
        JobError::invalid(
            format!("--period {text}"),
            "expected a month such as 2025-03",
        )
    };
    let (y, m) = text.trim().split_once('-').ok_or_else(bad)?;
    let (y, m) = (
        y.parse::<i64>().map_err(|_| bad())?,
        m.parse::<u32>().map_err(|_| bad())?,
    );
    if !(1..=12).contains(&m) || !(1000..=9999).contains(&y) {
        return Err(bad());
    }
    Ok((y, m))
}

/// Prices every customer's month and compares with the stored bills.
pub fn run(lake: &Lake, period: &str, source: Source) -> Result<BillReport, JobError> {
    let (year, month) = parse_period(period)?;
    let q = Query::open(lake)?;
    let book = tariff_book(&q)?;
    let calendar = holidays(&q)?;
    let whole_month = BillingPeriod::month(year, month)
        .map_err(|e| JobError::invalid(format!("--period {period}"), e.to_string()))?;
    let (first_day, end_day) = (whole_month.first_day(), whole_month.end_day());
    let tz = gridmark_core::tz::parse_tz(&lake.settings().default_tz)?;
    let mut offsets = OffsetCache::new(tz);
    // A generous UTC window; readings outside the local month are dropped below.
    let (from_ms, to_ms) = ((first_day - 1) * 86_400_000, (end_day + 1) * 86_400_000);
    let table = if source == Source::Validated && crate::daily::has_validated(&q)? {
        "readings_validated"
    } else {
        "readings"
    };
    let used = if table == "readings" {
        Source::Raw
    } else {
        Source::Validated
    };
    // (customer) → readings (ts, kWh, interval) and estimated count.
    let mut per_customer: HashMap<String, CustomerReadings> = HashMap::new();
    let sql = format!(
        "SELECT m.customer_id, r.ts, r.kwh, r.interval_s, r.quality FROM {table} r \
         JOIN meters m ON r.meter_id = m.meter_id \
         WHERE r.ts >= arrow_cast({from_ms}, 'Timestamp(Millisecond, Some(\"UTC\"))') \
         AND r.ts < arrow_cast({to_ms}, 'Timestamp(Millisecond, Some(\"UTC\"))') \
         AND m.customer_id IS NOT NULL"
    );
    q.for_each(&sql, |b| {
        let (c, ts, kwh, iv, quality) = (
            strings(b, "customer_id")?,
            timestamps(b, "ts")?,
            floats(b, "kwh")?,
            ints(b, "interval_s")?,
            strings(b, "quality")?,
        );
        for i in 0..b.num_rows() {
            if let (Some(c), Some(t), Some(k), Some(iv)) = (&c[i], ts[i], kwh[i], iv[i]) {
                let (day, minute) = offsets.local_day_minute(t);
                if day < first_day || day >= end_day {
                    continue;
                }
                let e = per_customer.entry(c.clone()).or_default();
                e.0.push(LocalReading {
                    ts: t,
                    day,
                    minute,
                    kwh: k,
                    interval_s: iv,
                });
                if quality[i].as_deref() == Some("estimated") {
                    e.1 += 1;
                }
            }
        }
        Ok(())
    })?;
    let bills = stored_bills(&q, period)?;
    let archive = archive_tariffs(&q)?;
    let earlier = earlier_kwh(&q, year, month)?;
    let mut customers: Vec<String> = per_customer.keys().chain(bills.keys()).cloned().collect();
    customers.sort();
    customers.dedup();
    let mut lines = Vec::with_capacity(customers.len());
    for c in &customers {
        let bill = bills.get(c);
        let tariff = bill
            .and_then(|b| b.2.clone())
            .or_else(|| archive.get(c).cloned().flatten());
        let (billed_kwh, billed_fen) = (bill.map(|b| b.0), bill.map(|b| b.1));
        let mut line = BillLine {
            customer_id: c.clone(),
            tariff: tariff.clone().unwrap_or_default(),
            components: Vec::new(),
            kwh: 0.0,
            amount_fen: 0,
            billed_kwh,
            billed_fen,
            difference_fen: None,
            status: String::new(),
            estimated_intervals: 0,
        };
        let Some((readings, estimated)) = per_customer.get_mut(c) else {
            line.status = "no_readings".into();
            lines.push(line);
            continue;
        };
        line.estimated_intervals = *estimated;
        let Some(tariff) = tariff else {
            line.status = "error: no tariff in the bill or the customer archive".into();
            lines.push(line);
            continue;
        };
        readings.sort_by_key(|r| r.ts);
        let interval_min = (readings[0].interval_s / 60).max(1) as u32;
        let priced = BillingPeriod::new(readings[0].day, end_day)
            .and_then(|p| book.usage(&tariff, p, interval_min, &calendar))
            .and_then(|mut usage| {
                for r in readings.iter() {
                    usage.add(r.day, r.minute, r.kwh)?;
                }
                usage.price(earlier.get(c).copied().unwrap_or(0))
            });
        match priced {
            Ok(p) => {
                line.components = p
                    .parts
                    .iter()
                    .filter(|x| x.centi_kwh != 0)
                    .map(|x| (x.component.clone(), x.centi_kwh as f64 / 100.0))
                    .collect();
                line.kwh = p.centi_kwh as f64 / 100.0;
                line.amount_fen = p.amount_fen;
                match billed_fen {
                    Some(b) => {
                        line.difference_fen = Some(p.amount_fen - b);
                        line.status = if p.amount_fen == b {
                            "match"
                        } else {
                            "mismatch"
                        }
                        .into();
                    }
                    None => line.status = "no_bill".into(),
                }
            }
            Err(e) => line.status = format!("error: {e}"),
        }
        lines.push(line);
    }
    let count = |s: &str| lines.iter().filter(|l| l.status == s).count();
    Ok(BillReport {
        period: period.to_string(),
        source: used,
        customers: lines.len(),
        matched: count("match"),
        mismatched: count("mismatch"),
        no_bill: count("no_bill"),
        no_readings: count("no_readings"),
        errors: lines
            .iter()
            .filter(|l| l.status.starts_with("error"))
            .count(),
        computed_fen: lines.iter().map(|l| l.amount_fen).sum(),
        billed_fen: lines.iter().filter_map(|l| l.billed_fen).sum(),
        lines,
    })
}

fn tariff_book(q: &Query) -> Result<TariffBook, JobError> {
    let mut rows = Vec::new();
    for b in q.collect("SELECT * FROM tariffs")? {
        let s = |n| strings(&b, n);
        let (tariff, name, kind, class, component, basis, months, day_type) = (
            s("tariff")?,
            s("name")?,
            s("kind")?,
            s("customer_class")?,
            s("component")?,
            s("tier_basis")?,
            s("months")?,
            s("day_type")?,
        );
        let (from, to) = (dates(&b, "effective_from")?, dates(&b, "effective_to")?);
        let upper = floats(&b, "tier_upper_kwh")?;
        let (start, end, price) = (
            ints(&b, "start_min")?,
            ints(&b, "end_min")?,
            ints(&b, "price_e4")?,
        );
        for i in 0..b.num_rows() {
            let (Some(t), Some(k), Some(c), Some(f), Some(p)) = (
                tariff[i].clone(),
                kind[i].clone(),
                component[i].clone(),
                from[i],
                price[i],
            ) else {
                return Err(JobError::invalid(
                    "tariffs",
                    format!(
                        "row {} lacks tariff, kind, component, effective_from or price_e4",
                        i + 1
                    ),
                ));
            };
            let mut row = TariffComponent::new(&t, &k, f, &c, p);
            row.name = name[i].clone();
            row.customer_class = class[i].clone();
            row.effective_to = to[i];
            row.tier_basis = basis[i].clone();
            row.tier_upper_kwh = upper[i];
            row.months = months[i].clone();
            row.day_type = day_type[i].clone();
            row.start_min = start[i];
            row.end_min = end[i];
            rows.push(row);
        }
    }
    if rows.is_empty() {
        return Err(JobError::invalid(
            "tariffs",
            "the lake has no tariffs (import the tariffs table first)",
        ));
    }
    TariffBook::new(rows).map_err(|e| JobError::invalid("tariffs", e.to_string()))
}

pub(crate) fn holidays(q: &Query) -> Result<HolidayCalendar, JobError> {
    let (mut holidays, mut swaps) = (Vec::new(), Vec::new());
    for b in q.collect("SELECT day, kind FROM holidays")? {
        for (d, k) in dates(&b, "day")?.into_iter().zip(strings(&b, "kind")?) {
            match (d, k.as_deref()) {
                (Some(d), Some("workday_swap")) => swaps.push(d),
                (Some(d), _) => holidays.push(d),
                _ => {}
            }
        }
    }
    HolidayCalendar::new(holidays, swaps).map_err(|e| JobError::invalid("holidays", e.to_string()))
}

/// The month's stored bills: customer → (kWh, fen, tariff).
fn stored_bills(q: &Query, period: &str) -> Result<BTreeMap<String, StoredBill>, JobError> {
    let mut out = BTreeMap::new();
    let sql = format!(
        "SELECT customer_id, sum(kwh) AS kwh, sum(amount_fen) AS fen, max(tariff) AS tariff \
         FROM bills WHERE period = {} GROUP BY customer_id",
        literal(period)
    );
    for b in q.collect(&sql)? {
        let (c, k, f, t) = (
            strings(&b, "customer_id")?,
            floats(&b, "kwh")?,
            ints(&b, "fen")?,
            strings(&b, "tariff")?,
        );
        for i in 0..b.num_rows() {
            if let (Some(c), Some(k), Some(f)) = (c[i].clone(), k[i], f[i]) {
                out.insert(c, (k, f, t[i].clone()));
            }
        }
    }
    Ok(out)
}

fn archive_tariffs(q: &Query) -> Result<HashMap<String, Option<String>>, JobError> {
    let mut out = HashMap::new();
    for b in q.collect("SELECT customer_id, tariff FROM customers")? {
        for (c, t) in strings(&b, "customer_id")?
            .into_iter()
            .zip(strings(&b, "tariff")?)
        {
            if let Some(c) = c {
                out.insert(c, t);
            }
        }
    }
    Ok(out)
}

/// centi-kWh billed earlier in the same year, per customer (for annual tiers).
fn earlier_kwh(q: &Query, year: i64, month: u32) -> Result<HashMap<String, i64>, JobError> {
    let mut out = HashMap::new();
    let sql = format!(
        "SELECT customer_id, sum(kwh) AS kwh FROM bills WHERE period >= '{year:04}-01' AND period < '{year:04}-{month:02}' GROUP BY customer_id"
    );
    for b in q.collect(&sql)? {
        for (c, k) in strings(&b, "customer_id")?
            .into_iter()
            .zip(floats(&b, "kwh")?)
        {
            if let (Some(c), Some(k)) = (c, k) {
                out.insert(c, (k * 100.0).round() as i64);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_parse_or_say_why_not() {
        assert_eq!(parse_period("2025-03").unwrap(), (2025, 3));
        for bad in ["2025-13", "2025", "March", "25-03"] {
            let e = parse_period(bad).unwrap_err().to_string();
            assert!(e.contains(bad) && e.contains("2025-03"), "{e}");
        }
    }
}
