//! Each indicator's series per subject, read from the lake.
//!
//! A series is dense over a period range (local days, or months for bills): NaN where a
//! measured quantity has no data, 0 where a count simply had no events. Rules then slice the
//! series at any evaluation period, so a backtest over a year reads the lake once.

use crate::RiskError;
use crate::rules::Indicator;
use gridmark_core::civil::{civil_from_days, days_from_civil};
use gridmark_jobs::localtime::OffsetCache;
use gridmark_jobs::query::{Query, dates, floats, ints, strings, timestamps};
use gridmark_lake::Lake;
use std::collections::{BTreeMap, HashMap};

/// One indicator's series for every subject over `first..=last` periods.
#[derive(Debug, Clone, Default)]
pub struct SeriesSet {
    pub first: i64,
    pub last: i64,
    pub subjects: BTreeMap<String, Vec<f64>>,
    /// Why the set is empty, when a table it needs is absent.
    pub note: Option<String>,
}

impl SeriesSet {
    fn new(first: i64, last: i64) -> Self {
        SeriesSet {
            first,
            last,
            ..Default::default()
        }
    }

    fn slot(&mut self, subject: &str, fill: f64) -> &mut Vec<f64> {
        let len = (self.last - self.first + 1).max(0) as usize;
        self.subjects
            .entry(subject.to_string())
            .or_insert_with(|| vec![fill; len])
    }

    fn set(&mut self, subject: &str, period: i64, value: f64, fill: f64) {
        if period < self.first || period > self.last {
            return;
        }
        let i = (period - self.first) as usize;
        self.slot(subject, fill)[i] = value;
    }

    fn add(&mut self, subject: &str, period: i64, value: f64) {
        if period < self.first || period > self.last {
            return;
        }
        let i = (period - self.first) as usize;
        self.slot(subject, 0.0)[i] += value;
    }
}

/// Month index (year × 12 + month − 1) of a day number.
pub fn month_of_day(day: i64) -> i64 {
    let (y, m, _) = civil_from_days(day);
    y * 12 + m as i64 - 1
}

pub fn month_label(month: i64) -> String {
    format!(
        "{:04}-{:02}",
        month.div_euclid(12),
        month.rem_euclid(12) + 1
    )
}

/// The last day of a month index.
pub fn month_end_day(month: i64) -> i64 {
    days_from_civil(month.div_euclid(12), month.rem_euclid(12) as u32 + 1, 1) + month_days(month)
        - 1
}

fn month_days(month: i64) -> i64 {
    let next = month + 1;
    days_from_civil(next.div_euclid(12), next.rem_euclid(12) as u32 + 1, 1)
        - days_from_civil(month.div_euclid(12), month.rem_euclid(12) as u32 + 1, 1)
}

fn parse_period(p: &str) -> Option<i64> {
    let (y, m) = p.split_once('-')?;
    let (y, m): (i64, i64) = (y.parse().ok()?, m.parse().ok()?);
    (1..=12).contains(&m).then_some(y * 12 + m - 1)
}

fn date_sql(day: i64) -> String {
    format!("CAST('{}' AS DATE)", gridmark_core::civil::format_date(day))
}

/// Reads the lake's data for indicators.
pub struct Source<'a> {
    lake: &'a Lake,
    query: Query,
    tables: Vec<String>,
}

impl<'a> Source<'a> {
    pub fn open(lake: &'a Lake) -> Result<Self, RiskError> {
        let snap = lake.snapshot()?;
        let tables = gridmark_core::catalog::TABLES
            .iter()
            .filter(|t| snap.rows(t.name) > 0)
            .map(|t| t.name.to_string())
            .collect();
        Ok(Source {
            lake,
            query: Query::open(lake)?,
            tables,
        })
    }

    fn has(&self, table: &str) -> bool {
        self.tables.iter().any(|t| t == table)
    }

    fn offsets(&self) -> Result<OffsetCache, RiskError> {
        let tz = gridmark_core::tz::parse_tz(&self.lake.settings().default_tz)
            .map_err(|e| RiskError::Invalid(e.to_string()))?;
        Ok(OffsetCache::new(tz))
    }

    /// The latest local day with readings (the natural "today" of a historical lake).
    pub fn latest_day(&self) -> Result<Option<i64>, RiskError> {
        if !self.has("readings") {
            return Ok(None);
        }
        let batches = self
            .query
            .collect("SELECT max(day) AS d FROM daily_energy")?;
        Ok(batches
            .first()
            .and_then(|b| dates(b, "d").ok())
            .and_then(|v| v.first().copied().flatten()))
    }

    /// Each meter's peer group (its class, area or region); empty for `All` or without meters.
    pub fn peer_groups(
        &self,
        group: crate::rules::PeerGroup,
    ) -> Result<HashMap<String, String>, RiskError> {
        use crate::rules::PeerGroup;
        let column = match group {
            PeerGroup::All => return Ok(HashMap::new()),
            PeerGroup::Class => "customer_class",
            PeerGroup::Area => "area_id",
            PeerGroup::Region => "region",
        };
        let mut out = HashMap::new();
        if !self.has("meters") {
            return Ok(out);
        }
        self.query.for_each(
            &format!("SELECT meter_id, {column} AS g FROM meter_dims WHERE {column} IS NOT NULL"),
            |b| {
                let (m, g) = (strings(b, "meter_id")?, strings(b, "g")?);
                for i in 0..b.num_rows() {
                    if let (Some(m), Some(g)) = (&m[i], &g[i]) {
                        out.insert(m.clone(), g.clone());
                    }
                }
                Ok(())
            },
        )?;
        Ok(out)
    }

    /// The indicator's series over `first..=last` (days, or months for monthly indicators).
    pub fn load(&self, ind: Indicator, first: i64, last: i64) -> Result<SeriesSet, RiskError> {
        let mut set = SeriesSet::new(first, last);
        let need = match ind {
            Indicator::DailyKwh | Indicator::ZeroDays | Indicator::ReverseKwh => "readings",
            Indicator::LineLossRate => "area_supply",
            Indicator::BillKwh | Indicator::TariffChangeKwh | Indicator::ArrearsDays => "bills",
            Indicator::PaymentReversals => "payments",
            Indicator::RegionComplaints | Indicator::CustomerComplaints => "work_orders",
        };
        if !self.has(need) {
            set.note = Some(format!("the lake has no {need}"));
            return Ok(set);
        }
        let range = format!("day BETWEEN {} AND {}", date_sql(first), date_sql(last));
        match ind {
            Indicator::DailyKwh | Indicator::ZeroDays => self.measured(
                &mut set,
                &format!("SELECT meter_id AS subject, day, kwh AS v FROM daily_energy WHERE {range}"),
            )?,
            Indicator::ReverseKwh => self.measured(
                &mut set,
                &format!(
                    "SELECT meter_id AS subject, day, sum(CASE WHEN kwh < 0 THEN -kwh ELSE 0 END) AS v \
                     FROM readings_local WHERE {range} GROUP BY 1, 2"
                ),
            )?,
            Indicator::LineLossRate => {
                if !self.has("readings") {
                    set.note = Some("the lake has no readings".into());
                    return Ok(set);
                }
                self.measured(
                    &mut set,
                    &format!(
                        "SELECT area_id AS subject, day, loss_ratio AS v FROM area_daily_loss WHERE {range}"
                    ),
                )?
            }
            Indicator::BillKwh | Indicator::TariffChangeKwh => {
                let mut bills: HashMap<String, BTreeMap<i64, (f64, Option<String>)>> =
                    HashMap::new();
                self.query
                    .for_each("SELECT customer_id, period, kwh, tariff FROM bills", |b| {
                        let (c, p, k, t) = (
                            strings(b, "customer_id")?,
                            strings(b, "period")?,
                            floats(b, "kwh")?,
                            strings(b, "tariff")?,
                        );
                        for i in 0..b.num_rows() {
                            if let (Some(c), Some(p), Some(k)) =
                                (&c[i], p[i].as_deref().and_then(parse_period), k[i])
                            {
                                let e = bills
                                    .entry(c.clone())
                                    .or_default()
                                    .entry(p)
                                    .or_insert((0.0, None));
                                e.0 += k;
                                if t[i].is_some() {
                                    e.1 = t[i].clone();
                                }
                            }
                        }
                        Ok(())
                    })?;
                for (c, months) in &bills {
                    let mut prev_tariff: Option<&String> = None;
                    for (&p, (kwh, tariff)) in months {
                        if ind == Indicator::BillKwh {
                            set.set(c, p, *kwh, f64::NAN);
                        } else {
                            let changed =
                                matches!((prev_tariff, tariff), (Some(a), Some(b)) if a != b);
                            set.set(c, p, if changed { *kwh } else { 0.0 }, 0.0);
                        }
                        if tariff.is_some() {
                            prev_tariff = tariff.as_ref();
                        }
                    }
                }
            }
            Indicator::PaymentReversals => {
                let mut off = self.offsets()?;
                self.query.for_each(
                    "SELECT customer_id, paid_at FROM payments WHERE amount_fen < 0",
                    |b| {
                        let (c, t) = (strings(b, "customer_id")?, timestamps(b, "paid_at")?);
                        for i in 0..b.num_rows() {
                            if let (Some(c), Some(t)) = (&c[i], t[i]) {
                                set.add(c, off.local_day(t), 1.0);
                            }
                        }
                        Ok(())
                    },
                )?;
                // Customers who paid in the range have a series of zeros: they were watched.
                let mut off = self.offsets()?;
                let mut active = Vec::new();
                self.query
                    .for_each("SELECT DISTINCT customer_id, paid_at FROM payments", |b| {
                        let (c, t) = (strings(b, "customer_id")?, timestamps(b, "paid_at")?);
                        for i in 0..b.num_rows() {
                            if let (Some(c), Some(t)) = (&c[i], t[i]) {
                                let d = off.local_day(t);
                                if d >= first && d <= last {
                                    active.push(c.clone());
                                }
                            }
                        }
                        Ok(())
                    })?;
                for c in active {
                    set.slot(&c, 0.0);
                }
            }
            Indicator::ArrearsDays => self.arrears(&mut set)?,
            Indicator::RegionComplaints | Indicator::CustomerComplaints => {
                let mut off = self.offsets()?;
                let sql = if ind == Indicator::RegionComplaints {
                    let region = if self.has("customers") {
                        "SELECT coalesce(c.region, '(no region)') AS subject, w.created_at FROM work_orders w \
                         LEFT JOIN customers c ON w.customer_id = c.customer_id WHERE w.kind = 'complaint'"
                    } else {
                        "SELECT '(no region)' AS subject, created_at FROM work_orders WHERE kind = 'complaint'"
                    };
                    region.to_string()
                } else {
                    "SELECT customer_id AS subject, created_at FROM work_orders \
                     WHERE kind = 'complaint' AND customer_id IS NOT NULL"
                        .to_string()
                };
                let mut regions = Vec::new();
                self.query.for_each(&sql, |b| {
                    let (s, t) = (strings(b, "subject")?, timestamps(b, "created_at")?);
                    for i in 0..b.num_rows() {
                        if let (Some(s), Some(t)) = (&s[i], t[i]) {
                            set.add(s, off.local_day(t), 1.0);
                            regions.push(s.clone());
                        }
                    }
                    Ok(())
                })?;
                // A region with complaints only before the range is still watched (at zero).
                if ind == Indicator::RegionComplaints {
                    for r in regions {
                        set.slot(&r, 0.0);
                    }
                }
            }
        }
        Ok(set)
    }

    /// A measured daily quantity (`subject`, `day`, `v`): NaN where there is no row.
    fn measured(&self, set: &mut SeriesSet, sql: &str) -> Result<(), RiskError> {
        self.query.for_each(sql, |b| {
            let (s, d, v) = (strings(b, "subject")?, dates(b, "day")?, floats(b, "v")?);
            for i in 0..b.num_rows() {
                if let (Some(s), Some(d), Some(v)) = (&s[i], d[i], v[i]) {
                    set.set(s, d, v, f64::NAN);
                }
            }
            Ok(())
        })?;
        Ok(())
    }

    /// Days past due of each customer's oldest bill not yet fully paid, per day.
    fn arrears(&self, set: &mut SeriesSet) -> Result<(), RiskError> {
        struct Bill {
            customer: String,
            due: i64,
            amount: i64,
            paid_off: Option<i64>,
        }
        let mut bills: HashMap<String, Bill> = HashMap::new();
        self.query.for_each(
            "SELECT bill_id, customer_id, due_date, amount_fen FROM bills",
            |b| {
                let (id, c, d, a) = (
                    strings(b, "bill_id")?,
                    strings(b, "customer_id")?,
                    dates(b, "due_date")?,
                    ints(b, "amount_fen")?,
                );
                for i in 0..b.num_rows() {
                    if let (Some(id), Some(c), Some(d), Some(a)) = (&id[i], &c[i], d[i], a[i]) {
                        bills.insert(
                            id.clone(),
                            Bill {
                                customer: c.clone(),
                                due: d,
                                amount: a,
                                paid_off: (a <= 0).then_some(d),
                            },
                        );
                    }
                }
                Ok(())
            },
        )?;
        if self.has("payments") {
            let mut off = self.offsets()?;
            let mut paid: HashMap<String, Vec<(i64, i64)>> = HashMap::new();
            self.query.for_each(
                "SELECT bill_id, paid_at, amount_fen FROM payments WHERE bill_id IS NOT NULL",
                |b| {
                    let (id, t, a) = (
                        strings(b, "bill_id")?,
                        timestamps(b, "paid_at")?,
                        ints(b, "amount_fen")?,
                    );
                    for i in 0..b.num_rows() {
                        if let (Some(id), Some(t), Some(a)) = (&id[i], t[i], a[i]) {
                            paid.entry(id.clone())
                                .or_default()
                                .push((off.local_day(t), a));
                        }
                    }
                    Ok(())
                },
            )?;
            for (id, mut ps) in paid {
                let Some(bill) = bills.get_mut(&id) else {
                    continue;
                };
                ps.sort();
                let mut sum = 0;
                for (day, a) in ps {
                    sum += a;
                    if sum >= bill.amount {
                        bill.paid_off = Some(day);
                        break;
                    }
                }
            }
        }
        let (first, last) = (set.first, set.last);
        for bill in bills.values() {
            // Overdue from the day after the due date until the day it was paid off.
            let from = (bill.due + 1).max(first);
            let to = bill.paid_off.map_or(last, |p| (p - 1).min(last));
            if bill.due + 1 > last || bill.paid_off.is_some_and(|p| p < first) {
                set.slot(&bill.customer, 0.0);
                continue;
            }
            let series = set.slot(&bill.customer, 0.0);
            for d in from..=to {
                let i = (d - first) as usize;
                series[i] = series[i].max((d - bill.due) as f64);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months() {
        let d = days_from_civil(2025, 2, 14);
        let m = month_of_day(d);
        assert_eq!(month_label(m), "2025-02");
        assert_eq!(month_end_day(m), days_from_civil(2025, 2, 28));
        assert_eq!(parse_period("2024-12"), Some(2024 * 12 + 11));
        assert_eq!(parse_period("2024-13"), None);
    }
}
