//! Tariffs (tiered, time-of-use with a summer sharp peak, flat, and one effective-dated price
//! change), monthly bills priced from the *recorded* consumption, deliberate bill errors, and
//! payments by customer habit.
//!
//! Rounding rule (what `bills.amount_fen` means exactly):
//! 1. per billing month, recorded interval kWh are summed per tariff component (ToU: by the
//!    window containing the interval's local start minute in that month; tiered and flat: one
//!    total), and each sum is rounded half away from zero to 0.01 kWh, negatives (net export)
//!    billed as 0;
//! 2. tiered: the rounded monthly total is split into tiers at the tier upper bounds (monthly
//!    basis, also for part months);
//! 3. amount = Σ centi-kWh × price_e4 (an exact integer in 1e-6 yuan), rounded half up once to
//!    whole fen; `bills.kwh` is the sum of the rounded component kWh;
//! 4. a month is priced with the tariff version in force on its first billed day, and a
//!    residential customer is on `RES_TOU` for the months that start after joining `tou_plan`.

use crate::calendar::{Calendar, local_midnight_utc};
use crate::geography::{Class, Customer, PayHabit};
use crate::graph::{E_BILLING, Spell, TOU_PLAN};
use crate::rng::Rng;
use gridmark_core::civil::{civil_from_days, days_from_civil};

#[derive(Debug, Clone)]
pub struct TariffRow {
    pub tariff: &'static str,
    pub name: &'static str,
    pub kind: &'static str,
    pub class: &'static str,
    pub from: i64,
    pub to: Option<i64>,
    pub component: &'static str,
    pub tier_basis: Option<&'static str>,
    pub tier_upper: Option<f64>,
    pub months: Option<&'static str>,
    pub day_type: Option<&'static str>,
    pub start_min: Option<i64>,
    pub end_min: Option<i64>,
    pub price_e4: i64,
}

/// First day of the month that contains the middle of the period: the COM_TOU price change.
pub fn change_day(cal: &Calendar) -> i64 {
    let mid = cal.start_day + cal.days.len() as i64 / 2;
    let (y, m, _) = civil_from_days(mid);
    let first = days_from_civil(y, m, 1);
    if first > cal.start_day { first } else { mid }
}

/// Residential tiers: (component, upper kWh of the month, price_e4).
const RES_TIERS: [(&str, Option<f64>, i64); 3] = [
    ("tier1", Some(230.0), 5283),
    ("tier2", Some(400.0), 5783),
    ("tier3", None, 8283),
];

/// Residential time-of-use windows: (component, [start, end) minutes, price_e4).
const RES_TOU: [(&str, (i64, i64), i64); 3] = [
    ("valley", (0, 480), 2883),
    ("peak", (480, 1320), 5683),
    ("valley", (1320, 1440), 2883),
];

const NOT_SUMMER: &str = "1-6,9-12";
const SUMMER: &str = "7-8";

/// Commercial and industrial time-of-use windows: (component, months, [start, end) minutes).
/// Valley and flat are the same all year; July–August cut a sharp peak out of the peak hours.
const BUSINESS_TOU: [(&str, &str, (i64, i64)); 15] = [
    ("valley", NOT_SUMMER, (0, 480)),
    ("valley", NOT_SUMMER, (1320, 1440)),
    ("flat", NOT_SUMMER, (660, 780)),
    ("flat", NOT_SUMMER, (1140, 1320)),
    ("valley", SUMMER, (0, 480)),
    ("valley", SUMMER, (1320, 1440)),
    ("flat", SUMMER, (660, 780)),
    ("flat", SUMMER, (1140, 1320)),
    ("peak", NOT_SUMMER, (480, 660)),
    ("peak", NOT_SUMMER, (780, 1140)),
    ("peak", SUMMER, (480, 600)),
    ("sharp", SUMMER, (600, 660)),
    ("peak", SUMMER, (780, 840)),
    ("sharp", SUMMER, (840, 960)),
    ("peak", SUMMER, (960, 1140)),
];

/// What every component row of one tariff version shares.
#[derive(Clone, Copy)]
struct Version {
    tariff: &'static str,
    name: &'static str,
    kind: &'static str,
    class: &'static str,
    from: i64,
    to: Option<i64>,
}

impl Version {
    fn row(
        self,
        component: &'static str,
        tier_upper: Option<f64>,
        months: Option<&'static str>,
        window: Option<(i64, i64)>,
        price_e4: i64,
    ) -> TariffRow {
        TariffRow {
            tariff: self.tariff,
            name: self.name,
            kind: self.kind,
            class: self.class,
            from: self.from,
            to: self.to,
            component,
            tier_basis: (self.kind == "tiered").then_some("monthly"),
            tier_upper,
            months,
            day_type: (self.kind == "tou").then_some("all"),
            start_min: window.map(|w| w.0),
            end_min: window.map(|w| w.1),
            price_e4,
        }
    }
}

pub fn tariff_rows(cal: &Calendar) -> Vec<TariffRow> {
    let base = days_from_civil(2020, 1, 1);
    let change = change_day(cal);
    let version = |tariff, name, kind, class, from, to| Version {
        tariff,
        name,
        kind,
        class,
        from,
        to,
    };
    let mut rows = Vec::new();
    let tiered = version(
        "RES_TIER",
        "居民阶梯电价 residential tiered",
        "tiered",
        "residential",
        base,
        None,
    );
    for (component, upper, price) in RES_TIERS {
        rows.push(tiered.row(component, upper, None, None, price));
    }
    let res_tou = version(
        "RES_TOU",
        "居民峰谷电价 residential time-of-use",
        "tou",
        "residential",
        base,
        None,
    );
    for (component, window, price) in RES_TOU {
        rows.push(res_tou.row(component, None, Some("1-12"), Some(window), price));
    }
    let flat = version(
        "COM_FLAT",
        "一般工商业单一制 commercial flat",
        "flat",
        "commercial",
        base,
        None,
    );
    rows.push(flat.row("flat", None, None, None, 7300));
    let com = "一般工商业峰谷电价 commercial time-of-use";
    let ind = "大工业峰谷电价 industrial time-of-use";
    // Prices as [sharp, peak, flat, valley]; COM_TOU changes price mid-period.
    for (v, prices) in [
        (
            version("COM_TOU", com, "tou", "commercial", base, Some(change)),
            [12890, 10740, 6850, 3120],
        ),
        (
            version("COM_TOU", com, "tou", "commercial", change, None),
            [13650, 11380, 7160, 3120],
        ),
        (
            version("IND_TOU", ind, "tou", "industrial", base, None),
            [11850, 9870, 6120, 2750],
        ),
    ] {
        for (component, months, window) in BUSINESS_TOU {
            let price = match component {
                "sharp" => prices[0],
                "peak" => prices[1],
                "flat" => prices[2],
                _ => prices[3],
            };
            rows.push(v.row(component, None, Some(months), Some(window), price));
        }
    }
    rows
}

fn month_in(spec: &str, month: u32) -> bool {
    spec.split(',').any(|part| match part.split_once('-') {
        Some((a, b)) => {
            let (a, b) = (a.trim().parse().unwrap_or(0), b.trim().parse().unwrap_or(0));
            (a..=b).contains(&month)
        }
        None => part.trim().parse() == Ok(month),
    })
}

/// Rounds kWh half away from zero to whole 0.01 kWh, negatives to 0.
fn centi(kwh: f64) -> i64 {
    ((kwh * 100.0).round() as i64).max(0)
}

/// One priced month: the rounded component kWh (centi-kWh) and their prices.
#[derive(Debug, Clone, PartialEq)]
pub struct Priced {
    pub parts: Vec<(&'static str, i64, i64)>,
}

impl Priced {
    pub fn centi_kwh(&self) -> i64 {
        self.parts.iter().map(|p| p.1).sum()
    }
    pub fn amount_fen(&self) -> i64 {
        let e6: i64 = self.parts.iter().map(|p| p.1 * p.2).sum();
        (e6 + 5000).div_euclid(10_000)
    }
    /// The same bill with every component scaled (an estimated read).
    pub fn scaled(&self, ratio: f64) -> Priced {
        Priced {
            parts: self
                .parts
                .iter()
                .map(|&(c, k, p)| (c, (k as f64 * ratio).round() as i64, p))
                .collect(),
        }
    }
}

/// Rows of one tariff version in force on `day`.
pub fn version<'a>(rows: &'a [TariffRow], tariff: &str, day: i64) -> Vec<&'a TariffRow> {
    rows.iter()
        .filter(|r| r.tariff == tariff && r.from <= day && r.to.is_none_or(|t| day < t))
        .collect()
}

/// Prices one month of per-slot recorded kWh (`slot_kwh[s]` = the month's sum at slot `s`).
pub fn price_month(
    version: &[&TariffRow],
    month: u32,
    slot_kwh: &[f64],
    interval_min: u32,
) -> Priced {
    let kind = version.first().map_or("flat", |r| r.kind);
    match kind {
        "tou" => {
            let mut sums: Vec<(&'static str, f64, i64)> = Vec::new();
            for (s, v) in slot_kwh.iter().enumerate() {
                let minute = s as i64 * interval_min as i64;
                let Some(r) = version.iter().find(|r| {
                    r.months.is_none_or(|m| month_in(m, month))
                        && r.start_min.unwrap_or(0) <= minute
                        && minute < r.end_min.unwrap_or(1440)
                }) else {
                    continue;
                };
                match sums.iter_mut().find(|x| x.0 == r.component) {
                    Some(x) => x.1 += v,
                    None => sums.push((r.component, *v, r.price_e4)),
                }
            }
            Priced {
                parts: sums.into_iter().map(|(c, k, p)| (c, centi(k), p)).collect(),
            }
        }
        "tiered" => {
            let mut left = centi(slot_kwh.iter().sum());
            let mut tiers: Vec<&&TariffRow> = version.iter().collect();
            tiers.sort_by(|a, b| {
                a.tier_upper
                    .unwrap_or(f64::MAX)
                    .total_cmp(&b.tier_upper.unwrap_or(f64::MAX))
            });
            let mut lower = 0;
            let mut parts = Vec::new();
            for t in tiers {
                let upper = t
                    .tier_upper
                    .map_or(i64::MAX, |u| (u * 100.0).round() as i64);
                let take = left.min(upper - lower);
                parts.push((t.component, take, t.price_e4));
                left -= take;
                lower = upper;
            }
            Priced { parts }
        }
        _ => {
            let p = version.first().map_or(0, |r| r.price_e4);
            Priced {
                parts: vec![("flat", centi(slot_kwh.iter().sum()), p)],
            }
        }
    }
}

#[derive(Debug, Clone)]
pub struct Bill {
    pub id: String,
    pub customer: usize,
    pub month_idx: usize,
    pub period: String,
    pub kwh: f64,
    pub amount_fen: i64,
    pub tariff: &'static str,
    pub issue: i64,
    pub due: i64,
    pub status: &'static str,
    /// Billed/recorded ratio when this bill was deliberately billed on an estimated read.
    pub error: Option<f64>,
    pub recorded_kwh: f64,
}

#[derive(Debug, Clone)]
pub struct Payment {
    pub id: String,
    pub bill: usize,
    pub customer: usize,
    pub paid_at: i64,
    pub amount_fen: i64,
    pub channel: &'static str,
}

/// Bills for every month the customer was active; `monthly[m * spd + s]` is recorded kWh.
pub fn bills_for(
    seed: u64,
    cal: &Calendar,
    rows: &[TariffRow],
    c: &Customer,
    products: &[Option<Spell>; 5],
    monthly: &[f64],
    interval_min: u32,
) -> Vec<Bill> {
    let spd = (1440 / interval_min) as usize;
    let mut r = Rng::derive(seed, "bills", c.idx as u64);
    let mut out = Vec::new();
    for (mi, m) in cal.months.iter().enumerate() {
        let days = &cal.days[m.first..m.end];
        let Some(first) = days.iter().find(|d| c.active(d.day)) else {
            continue;
        };
        let tariff = if c.class == Class::Residential
            && products[TOU_PLAN].is_some_and(|s| s.start < days_from_civil(m.year, m.month, 1))
        {
            "RES_TOU"
        } else {
            c.base_tariff
        };
        let v = version(rows, tariff, first.day);
        let slots = &monthly[mi * spd..(mi + 1) * spd];
        let mut priced = price_month(&v, m.month, slots, interval_min);
        let recorded = priced.centi_kwh() as f64 / 100.0;
        let mut error = None;
        if !out.is_empty() && recorded > 1.0 && r.chance(0.012) {
            let ratio = if r.chance(0.75) {
                r.range(1.6, 2.8)
            } else {
                r.range(0.25, 0.55)
            };
            let ratio = (ratio * 100.0).round() / 100.0;
            priced = priced.scaled(ratio);
            error = Some(ratio);
        }
        let month_end = days_from_civil(m.year, m.month, 1) + days_in(m.year, m.month);
        let issue = month_end + r.int(1, 4);
        let due = issue + r.int(15, 20);
        out.push(Bill {
            id: format!("B{}{:04}{:02}", &c.id[1..], m.year, m.month),
            customer: c.idx,
            month_idx: mi,
            period: m.key(),
            kwh: priced.centi_kwh() as f64 / 100.0,
            amount_fen: priced.amount_fen(),
            tariff,
            issue,
            due,
            status: "unpaid",
            error,
            recorded_kwh: recorded,
        });
    }
    out
}

fn days_in(y: i64, m: u32) -> i64 {
    let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    days_from_civil(ny, nm, 1) - days_from_civil(y, m, 1)
}

/// Pays the customer's bills by habit, as seen on `as_of` (later payments do not exist yet);
/// sets each bill's status.
pub fn pay(
    seed: u64,
    c: &Customer,
    products: &[Option<Spell>; 5],
    bills: &mut [Bill],
    first_bill: usize,
    as_of: i64,
) -> Vec<Payment> {
    let mut r = Rng::derive(seed, "payments", c.idx as u64);
    let mut out = Vec::new();
    let digital = (c.digital
        + if products[E_BILLING].is_some() {
            0.2
        } else {
            0.0
        })
    .min(0.98);
    let w = [
        (1.0 - digital) * 0.5,
        (1.0 - digital) * 0.5 + 0.03,
        digital * 0.35,
        digital * 0.1,
        digital * 0.3,
        digital * 0.25,
    ];
    const CH: [&str; 6] = ["hall", "bank", "app", "web", "wechat", "alipay"];
    let n = bills.len();
    for (k, b) in bills.iter_mut().enumerate() {
        if b.amount_fen == 0 {
            b.status = "paid";
            continue;
        }
        let near_close = c.close_day.is_some_and(|cl| cl - b.issue < 90);
        let mut late_p: f64 = match c.pay {
            PayHabit::Prompt => 0.03,
            PayHabit::Late => 0.55,
            PayHabit::NonPayer => 0.9,
        };
        let mut skip_p: f64 = match c.pay {
            PayHabit::NonPayer => 0.65,
            _ => 0.0,
        };
        if near_close {
            late_p = (late_p + 0.4).min(0.95);
            if k + 1 == n {
                skip_p = skip_p.max(0.5);
            }
        }
        if b.error.is_some_and(|e| e > 1.0) {
            late_p = 0.9; // disputed
        }
        if r.chance(skip_p) {
            continue;
        }
        let day = if r.chance(late_p) {
            b.due + r.int(3, if c.pay == PayHabit::NonPayer { 80 } else { 45 })
        } else {
            b.issue + r.int(0, b.due - b.issue)
        };
        if day > as_of {
            continue;
        }
        let partial = c.pay == PayHabit::NonPayer && r.chance(0.5);
        let amount = if partial {
            (b.amount_fen as f64 * r.range(0.3, 0.7)).round() as i64
        } else {
            b.amount_fen
        };
        let ts = local_midnight_utc(day) + r.int(8 * 3600, 22 * 3600) * 1000 + r.int(0, 999);
        out.push(Payment {
            id: String::new(),
            bill: first_bill + k,
            customer: c.idx,
            paid_at: ts,
            amount_fen: amount,
            channel: CH[r.weighted(&w)],
        });
        b.status = if amount >= b.amount_fen {
            "paid"
        } else {
            "partial"
        };
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiers_and_rounding() {
        let cal = Calendar::new((2025, 1, 1), 365);
        let rows = tariff_rows(&cal);
        let v = version(&rows, "RES_TIER", cal.start_day);
        // 450.004 kWh: 230 × 0.5283 + 170 × 0.5783 + 50 × 0.8283 = 121.509 + 98.311 + 41.415
        let p = price_month(&v, 1, &[200.0, 250.004], 720);
        assert_eq!(p.centi_kwh(), 45_000);
        assert_eq!(p.amount_fen(), 26_124); // 261.235 yuan, rounded half up
        assert_eq!(change_day(&cal), days_from_civil(2025, 7, 1));
        assert_eq!(
            version(&rows, "COM_TOU", days_from_civil(2025, 6, 30)).len(),
            15
        );
        assert!(version(&rows, "COM_TOU", days_from_civil(2025, 7, 1))[0].price_e4 > 0);
        assert!(month_in("1-6,9-12", 10) && !month_in("1-6,9-12", 7) && month_in("7-8", 8));
    }
}
