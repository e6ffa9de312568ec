//! The service records the channel, satisfaction and staff analyses share: work orders,
//! survey answers, staff and the customers they concern, read once into plain values, and the
//! reporting periods those analyses are cut by (in the lake's time zone).

use crate::JobError;
use crate::localtime::OffsetCache;
use crate::query::{Query, ints, strings, timestamps};
use gridmark_core::civil::{civil_from_days, days_from_civil};
use gridmark_lake::Lake;
use std::collections::HashMap;

/// A reporting period: local days `[first_day, end_day)`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Period {
    pub name: String,
    pub first_day: i64,
    pub end_day: i64,
}

impl Period {
    /// `2025-Q1`, `2025-03`, `2025`, or `2025-01-01..2025-03-31` (both days included).
    pub fn parse(text: &str) -> Result<Period, JobError> {
        let t = text.trim();
        let bad = |why: &str| {
            JobError::invalid(
                format!("--period {t}"),
                format!("{why}; write 2025-Q1, 2025-03, 2025 or 2025-01-01..2025-03-31"),
            )
        };
        let year = |s: &str| -> Result<i64, JobError> {
            s.parse::<i64>()
                .ok()
                .filter(|y| (1900..=2200).contains(y))
                .ok_or_else(|| bad("not a year between 1900 and 2200"))
        };
        let day = |s: &str| -> Result<i64, JobError> {
            gridmark_core::civil::parse_date(s.trim().as_bytes())
                .ok_or_else(|| bad(&format!("`{s}` is not a date")))
        };
        if let Some((a, b)) = t.split_once("..") {
            let (first, last) = (day(a)?, day(b)?);
            if last < first {
                return Err(bad("the period ends before it starts"));
            }
            return Ok(Period {
                name: t.to_string(),
                first_day: first,
                end_day: last + 1,
            });
        }
        let month_start = |y: i64, m: u32| days_from_civil(y, m, 1);
        let next_month = |y: i64, m: u32| {
            if m == 12 {
                month_start(y + 1, 1)
            } else {
                month_start(y, m + 1)
            }
        };
        match t.split_once('-') {
            None => {
                let y = year(t)?;
                Ok(Period {
                    name: t.to_string(),
                    first_day: month_start(y, 1),
                    end_day: month_start(y + 1, 1),
                })
            }
            Some((y, rest)) => {
                let y = year(y)?;
                if let Some(q) = rest.strip_prefix(['Q', 'q']) {
                    let q: u32 = q
                        .parse()
                        .ok()
                        .filter(|q| (1..=4).contains(q))
                        .ok_or_else(|| bad("the quarter must be Q1 to Q4"))?;
                    let m = 3 * (q - 1) + 1;
                    return Ok(Period {
                        name: format!("{y}-Q{q}"),
                        first_day: month_start(y, m),
                        end_day: next_month(y, m + 2),
                    });
                }
                let m: u32 = rest
                    .parse()
                    .ok()
                    .filter(|m| (1..=12).contains(m))
                    .ok_or_else(|| bad("the month must be 01 to 12"))?;
                Ok(Period {
                    name: format!("{y}-{m:02}"),
                    first_day: month_start(y, m),
                    end_day: next_month(y, m),
                })
            }
        }
    }

    pub fn contains(&self, day: i64) -> bool {
        day >= self.first_day && day < self.end_day
    }
}

/// How a time series of service records is cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Granularity {
    Month,
    Quarter,
}

impl Granularity {
    pub fn parse(text: &str) -> Result<Self, JobError> {
        match text {
            "month" => Ok(Self::Month),
            "quarter" => Ok(Self::Quarter),
            other => Err(JobError::invalid(
                format!("--by {other}"),
                "write month or quarter",
            )),
        }
    }

    /// The name of the period holding a local day: `2025-03` or `2025-Q1`.
    pub fn label(self, day: i64) -> String {
        let (y, m, _) = civil_from_days(day);
        match self {
            Self::Month => format!("{y}-{m:02}"),
            Self::Quarter => format!("{y}-Q{}", (m - 1) / 3 + 1),
        }
    }
}

/// One work order.
#[derive(Debug, Clone)]
pub struct Order {
    pub order_id: String,
    /// Index into [`ServiceData::customers`].
    pub customer: Option<usize>,
    pub created_ms: i64,
    pub closed_ms: Option<i64>,
    /// Local day created.
    pub day: i64,
    pub channel: String,
    pub kind: String,
    pub category: String,
    pub staff_id: Option<String>,
}

impl Order {
    /// Hours from opening to closing; None while open.
    pub fn resolution_hours(&self) -> Option<f64> {
        self.closed_ms
            .filter(|c| *c >= self.created_ms)
            .map(|c| (c - self.created_ms) as f64 / 3_600_000.0)
    }
}

/// One survey answer.
#[derive(Debug, Clone)]
pub struct Answer {
    pub survey_id: String,
    pub customer: Option<usize>,
    /// Index into [`ServiceData::orders`] of the order surveyed.
    pub order: Option<usize>,
    pub staff_id: Option<String>,
    pub channel: String,
    pub ts_ms: i64,
    pub day: i64,
    pub csat: Option<i64>,
    pub nps: Option<i64>,
    pub comment: Option<String>,
}

/// A customer's grouping attributes.
#[derive(Debug, Clone, Default)]
pub struct CustomerInfo {
    pub customer_id: String,
    pub region: Option<String>,
    pub class: Option<String>,
    /// Load-shape segment from `segment run`, when stored.
    pub segment: Option<String>,
}

/// A staff member.
#[derive(Debug, Clone, Default)]
pub struct StaffInfo {
    pub staff_id: String,
    pub region: Option<String>,
    pub hall_id: Option<String>,
    pub role: Option<String>,
}

/// Everything read.
pub struct ServiceData {
    pub customers: Vec<CustomerInfo>,
    pub customer_index: HashMap<String, usize>,
    pub orders: Vec<Order>,
    pub answers: Vec<Answer>,
    pub staff: Vec<StaffInfo>,
    /// Answers with a CSAT or NPS outside its scale, skipped (survey ids, first 20).
    pub out_of_scale: Vec<String>,
    pub out_of_scale_count: usize,
}

const UNKNOWN: &str = "(unknown)";

fn label(v: &Option<String>) -> String {
    v.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .unwrap_or(UNKNOWN)
        .to_string()
}

/// The index of a customer id, adding customers the archive does not have (their orders
/// still count as theirs for repeats and complaints).
fn intern(
    id: &Option<String>,
    index: &mut HashMap<String, usize>,
    customers: &mut Vec<CustomerInfo>,
) -> Option<usize> {
    let id = id.as_ref()?;
    Some(*index.entry(id.clone()).or_insert_with(|| {
        customers.push(CustomerInfo {
            customer_id: id.clone(),
            ..Default::default()
        });
        customers.len() - 1
    }))
}

impl ServiceData {
    /// Reads customers, staff, work orders and survey answers.
    pub fn read(lake: &Lake, q: &Query) -> Result<ServiceData, JobError> {
        let tz = gridmark_core::tz::parse_tz(&lake.settings().default_tz)?;
        let mut offsets = OffsetCache::new(tz);
        let mut customers = Vec::new();
        let mut customer_index = HashMap::new();
        q.for_each(
            "SELECT customer_id, region, customer_class FROM customers",
            |b| {
                let (c, r, k) = (
                    strings(b, "customer_id")?,
                    strings(b, "region")?,
                    strings(b, "customer_class")?,
                );
                for i in 0..b.num_rows() {
                    if let Some(id) = &c[i] {
                        customer_index.insert(id.clone(), customers.len());
                        customers.push(CustomerInfo {
                            customer_id: id.clone(),
                            region: r[i].clone(),
                            class: k[i].clone(),
                            segment: None,
                        });
                    }
                }
                Ok(())
            },
        )?;
        q.for_each("SELECT customer_id, segment_name FROM segments", |b| {
            let (c, s) = (strings(b, "customer_id")?, strings(b, "segment_name")?);
            for i in 0..b.num_rows() {
                if let Some(&k) = c[i].as_ref().and_then(|c| customer_index.get(c)) {
                    customers[k].segment = s[i].clone();
                }
            }
            Ok(())
        })?;
        let mut staff = Vec::new();
        q.for_each(
            "SELECT staff_id, region, hall_id, role FROM staff ORDER BY staff_id",
            |b| {
                let (s, r, h, o) = (
                    strings(b, "staff_id")?,
                    strings(b, "region")?,
                    strings(b, "hall_id")?,
                    strings(b, "role")?,
                );
                for i in 0..b.num_rows() {
                    if let Some(id) = &s[i] {
                        staff.push(StaffInfo {
                            staff_id: id.clone(),
                            region: r[i].clone(),
                            hall_id: h[i].clone(),
                            role: o[i].clone(),
                        });
                    }
                }
                Ok(())
            },
        )?;
        let mut orders = Vec::new();
        let mut order_index: HashMap<String, usize> = HashMap::new();
        q.for_each(
            "SELECT order_id, customer_id, created_at, closed_at, channel, kind, category, \
             staff_id FROM work_orders ORDER BY created_at, order_id",
            |b| {
                let (id, c, cr, cl, ch, k, cat, st) = (
                    strings(b, "order_id")?,
                    strings(b, "customer_id")?,
                    timestamps(b, "created_at")?,
                    timestamps(b, "closed_at")?,
                    strings(b, "channel")?,
                    strings(b, "kind")?,
                    strings(b, "category")?,
                    strings(b, "staff_id")?,
                );
                for i in 0..b.num_rows() {
                    let (Some(oid), Some(created)) = (&id[i], cr[i]) else {
                        continue;
                    };
                    order_index.insert(oid.clone(), orders.len());
                    orders.push(Order {
                        order_id: oid.clone(),
                        customer: intern(&c[i], &mut customer_index, &mut customers),
                        created_ms: created,
                        closed_ms: cl[i],
                        day: offsets.local_day(created),
                        channel: label(&ch[i]),
                        kind: label(&k[i]),
                        category: label(&cat[i]),
                        staff_id: st[i].clone(),
                    });
                }
                Ok(())
            },
        )?;
        let mut answers = Vec::new();
        let (mut out_of_scale, mut out_of_scale_count) = (Vec::new(), 0);
        q.for_each(
            "SELECT survey_id, customer_id, order_id, staff_id, channel, ts, csat, nps, comment \
             FROM surveys ORDER BY ts, survey_id",
            |b| {
                let (id, c, o, st, ch, ts, cs, np, cm) = (
                    strings(b, "survey_id")?,
                    strings(b, "customer_id")?,
                    strings(b, "order_id")?,
                    strings(b, "staff_id")?,
                    strings(b, "channel")?,
                    timestamps(b, "ts")?,
                    ints(b, "csat")?,
                    ints(b, "nps")?,
                    strings(b, "comment")?,
                );
                for i in 0..b.num_rows() {
                    let (Some(sid), Some(t)) = (&id[i], ts[i]) else {
                        continue;
                    };
                    let csat_ok = cs[i].is_none_or(|v| (1..=5).contains(&v));
                    let nps_ok = np[i].is_none_or(|v| (0..=10).contains(&v));
                    if !csat_ok || !nps_ok {
                        out_of_scale_count += 1;
                        if out_of_scale.len() < 20 {
                            out_of_scale.push(sid.clone());
                        }
                        continue;
                    }
                    let order = o[i].as_ref().and_then(|o| order_index.get(o)).copied();
                    // A survey without its own staff or channel inherits the order's.
                    let staff_id = st[i]
                        .clone()
                        .or_else(|| order.and_then(|k| orders[k].staff_id.clone()));
                    let channel = if ch[i].is_some() {
                        label(&ch[i])
                    } else {
                        order.map_or(UNKNOWN.to_string(), |k| orders[k].channel.clone())
                    };
                    answers.push(Answer {
                        survey_id: sid.clone(),
                        customer: intern(&c[i], &mut customer_index, &mut customers),
                        order,
                        staff_id,
                        channel,
                        ts_ms: t,
                        day: offsets.local_day(t),
                        csat: cs[i],
                        nps: np[i],
                        comment: cm[i].clone().filter(|c| !c.trim().is_empty()),
                    });
                }
                Ok(())
            },
        )?;
        Ok(ServiceData {
            customers,
            customer_index,
            orders,
            answers,
            staff,
            out_of_scale,
            out_of_scale_count,
        })
    }

    /// A customer's region, class or segment as a group label.
    pub fn customer_label(&self, customer: Option<usize>, dimension: &str) -> String {
        let c = customer.map(|k| &self.customers[k]);
        match dimension {
            "region" => c.map_or(UNKNOWN.into(), |c| label(&c.region)),
            "class" => c.map_or(UNKNOWN.into(), |c| label(&c.class)),
            _ => c.map_or(UNKNOWN.into(), |c| label(&c.segment)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_parse_and_name_their_days() {
        let q = Period::parse("2025-Q1").unwrap();
        assert_eq!(q.first_day, days_from_civil(2025, 1, 1));
        assert_eq!(q.end_day, days_from_civil(2025, 4, 1));
        let q4 = Period::parse("2025-q4").unwrap();
        assert_eq!(q4.name, "2025-Q4");
        assert_eq!(q4.end_day, days_from_civil(2026, 1, 1));
        let m = Period::parse("2024-02").unwrap();
        assert_eq!(m.end_day - m.first_day, 29);
        let y = Period::parse("2025").unwrap();
        assert_eq!(y.end_day - y.first_day, 365);
        let r = Period::parse("2025-01-10..2025-01-19").unwrap();
        assert_eq!(r.end_day - r.first_day, 10);
        assert!(r.contains(days_from_civil(2025, 1, 19)));
        assert!(!r.contains(days_from_civil(2025, 1, 20)));
        for bad in [
            "2025-Q5",
            "2025-13",
            "25",
            "2025-01-10..2025-01-01",
            "abc",
            "2025-Q",
        ] {
            let e = Period::parse(bad).unwrap_err().to_string();
            assert!(e.contains(bad), "{bad}: {e}");
        }
    }

    #[test]
    fn granularity_labels() {
        let d = days_from_civil(2025, 5, 31);
        assert_eq!(Granularity::Month.label(d), "2025-05");
        assert_eq!(Granularity::Quarter.label(d), "2025-Q2");
        assert!(Granularity::parse("week").is_err());
    }
}
