//! Customer service: staff, work orders (baseline demand plus orders triggered by real events:
//! meter faults, bill errors, high bills, outages, the tariff change, an app failure, churn,
//! theft reported by neighbours, new connections), satisfaction surveys and channel events
//! with a drift towards digital channels.

use crate::TruthEvent;
use crate::billing::{Bill, Payment};
use crate::calendar::{Calendar, local_day_of, local_midnight_utc};
use crate::geography::{Class, Customer, Geography, REGIONS};
use crate::load::Outage;
use crate::rng::Rng;
use crate::text::{self, Topic};
use gridmark_core::civil::MS_PER_DAY;

pub struct Staff {
    pub id: String,
    pub name: String,
    pub region: Option<usize>,
    pub hall: Option<usize>,
    pub role: &'static str,
    pub hire: i64,
    /// > 1 resolves faster; lognormal around 1.
    pub skill: f64,
    /// Friendliness, added to satisfaction.
    pub attitude: f64,
}

pub struct Order {
    pub id: String,
    pub customer: usize,
    pub created: i64,
    pub closed: Option<i64>,
    pub channel: &'static str,
    pub kind: &'static str,
    pub category: &'static str,
    pub lang: &'static str,
    pub text: String,
    pub staff: usize,
}

pub struct Survey {
    pub customer: usize,
    pub order: Option<usize>,
    pub staff: Option<usize>,
    pub channel: &'static str,
    pub ts: i64,
    pub csat: i64,
    pub nps: i64,
    pub comment: Option<String>,
}

pub struct Event {
    pub customer: usize,
    pub ts: i64,
    pub channel: &'static str,
    pub action: &'static str,
    pub duration_s: i64,
}

pub struct Service {
    pub staff: Vec<Staff>,
    pub orders: Vec<Order>,
    pub surveys: Vec<Survey>,
    pub events: Vec<Event>,
}

pub struct Inputs<'a> {
    pub seed: u64,
    pub cal: &'a Calendar,
    pub geo: &'a Geography,
    pub digital_boost: &'a [bool],
    pub bills: &'a [Bill],
    /// `bill_range[customer]` = index range into `bills`.
    pub bill_range: &'a [(usize, usize)],
    pub payments: &'a [Payment],
    pub truth: &'a [TruthEvent],
    pub outages: &'a [(Outage, bool, i64)],
    pub change_day: i64,
    /// Intervals per day.
    pub spd: usize,
}

struct Intent {
    customer: usize,
    created: i64,
    channel: &'static str,
    kind: &'static str,
    category: &'static str,
    topic: Topic,
    anger: f64,
    burst: bool,
}

struct Pending {
    customer: usize,
    day: i64,
    kind: &'static str,
    category: &'static str,
    topic: Topic,
    anger: f64,
    burst: bool,
    channel: Option<&'static str>,
}

/// Turns a planned contact into an intent: time of day and channel; dropped outside the period
/// or the customer's active days.
fn realize(r: &mut Rng, inp: &Inputs, p: Pending, out: &mut Vec<Intent>) {
    let cust = &inp.geo.customers[p.customer];
    let (start, end) = (inp.cal.start_day, inp.cal.end_day());
    if p.day < start || p.day >= end || !cust.active(p.day) {
        return;
    }
    let created = local_midnight_utc(p.day) + r.int(8 * 3600, 21 * 3600 + 3599) * 1000;
    let channel = p.channel.unwrap_or_else(|| {
        let share = digital_share(cust, inp.digital_boost[cust.idx], p.day, start);
        pick_channel(r, cust, share)
    });
    out.push(Intent {
        customer: p.customer,
        created,
        channel,
        kind: p.kind,
        category: p.category,
        topic: p.topic,
        anger: p.anger,
        burst: p.burst,
    });
}

const DIGITAL: [&str; 3] = ["app", "wechat", "web"];

fn digital_share(c: &Customer, boost: bool, day: i64, start: i64) -> f64 {
    let drift = 0.25 * (day - start).max(0) as f64 / 365.0;
    (c.digital + drift + if boost { 0.1 } else { 0.0 }).clamp(0.02, 0.98)
}

fn pick_channel(r: &mut Rng, c: &Customer, p_digital: f64) -> &'static str {
    let business = c.class != Class::Residential;
    if r.chance(p_digital) {
        let w = if business {
            [0.35, 0.25, 0.4]
        } else {
            [0.45, 0.35, 0.2]
        };
        DIGITAL[r.weighted(&w)]
    } else if r.chance(if business { 0.3 } else { 0.45 }) {
        "hall"
    } else {
        "phone_95598"
    }
}

fn staff(seed: u64, geo: &Geography, cal: &Calendar) -> Vec<Staff> {
    let mut r = Rng::derive(seed, "staff", 0);
    let total = (geo.customers.len() / 40).clamp(30, 60);
    let mut out = Vec::new();
    let push = |out: &mut Vec<Staff>, r: &mut Rng, role, region, hall| {
        let k = out.len() + 1;
        out.push(Staff {
            id: format!("S{k:03}"),
            name: text::chinese_name(r),
            region,
            hall,
            role,
            hire: cal.start_day - r.int(30, 365 * 20),
            skill: r.lognormal(0.0, 0.35),
            attitude: 0.35 * r.normal(),
        });
    };
    for (hi, h) in geo.halls.iter().enumerate() {
        for _ in 0..2 {
            push(&mut out, &mut r, "hall_clerk", Some(h.region), Some(hi));
        }
    }
    for ri in 0..REGIONS.len() {
        push(&mut out, &mut r, "inspector", Some(ri), None);
        push(&mut out, &mut r, "field_engineer", Some(ri), None);
        push(&mut out, &mut r, "field_engineer", Some(ri), None);
    }
    while out.len() < total.max(geo.halls.len() * 2 + 15 + 8) {
        push(&mut out, &mut r, "agent_95598", None, None);
    }
    out
}

pub fn generate(inp: &Inputs) -> Service {
    let cal = inp.cal;
    let geo = inp.geo;
    let start = cal.start_day;
    let end = cal.end_day();
    let start_ms = local_midnight_utc(start);
    let end_ms = local_midnight_utc(end);
    let staff = staff(inp.seed, geo, cal);
    let mut intents: Vec<Intent> = Vec::new();
    let period = (end - start) as f64;
    // theft reports by neighbours and fault-triggered complaints, by customer
    for c in &geo.customers {
        let mut r = Rng::derive(inp.seed, "orders", c.idx as u64);
        let boost = inp.digital_boost[c.idx];
        let mut pend: Vec<Pending> = Vec::new();
        let mut add = |day: i64,
                       kind: &'static str,
                       category: &'static str,
                       topic: Topic,
                       anger: f64,
                       burst: bool,
                       channel: Option<&'static str>| {
            pend.push(Pending {
                customer: c.idx,
                day,
                kind,
                category,
                topic,
                anger,
                burst,
                channel,
            });
        };
        let (b0, b1) = inp.bill_range[c.idx];
        let bills = &inp.bills[b0..b1];
        let active_days = (start..end).filter(|d| c.active(*d)).count() as f64;
        let mut amounts: Vec<i64> = bills.iter().map(|b| b.amount_fen).collect();
        amounts.sort_unstable();
        let median = amounts.get(amounts.len() / 2).copied().unwrap_or(0);
        let rate = match c.class {
            Class::Residential => 0.55,
            Class::Commercial => 0.9,
            Class::Industrial => 1.2,
        };
        // 1. baseline demand
        for _ in 0..r.poisson(rate * active_days / 365.0) {
            let day = start + r.below(period as u64) as i64;
            let last_bill = bills.iter().rev().find(|b| b.issue <= day);
            let amount = last_bill.map_or(100.0, |b| b.amount_fen as f64 / 100.0);
            let month = last_bill.map_or(cal.days[0].month, |b| cal.months[b.month_idx].month);
            let (kind, category, topic, anger) = match r.weighted(&[0.28, 0.2, 0.32, 0.12, 0.08]) {
                0 => {
                    let anger = r.range(0.4, 1.0);
                    match r.weighted(&[0.3, 0.25, 0.2, 0.15, 0.1]) {
                        0 => (
                            "complaint",
                            "billing",
                            Topic::HighBill {
                                ratio: r.range(1.3, 1.8),
                                amount_yuan: amount,
                                month,
                            },
                            anger,
                        ),
                        1 => (
                            "complaint",
                            "service_attitude",
                            Topic::Service {
                                minutes: r.int(10, 60) as u32,
                            },
                            anger,
                        ),
                        2 => (
                            "complaint",
                            "outage",
                            Topic::Outage {
                                hours: r.int(1, 5) as u32,
                                heat: false,
                            },
                            anger,
                        ),
                        3 => ("complaint", "billing", Topic::Arrears, anger),
                        _ => (
                            "complaint",
                            "metering",
                            Topic::MeterFault {
                                days: r.int(2, 10) as u32,
                            },
                            anger,
                        ),
                    }
                }
                1 => {
                    let cat = if r.chance(0.5) { "tariff" } else { "other" };
                    (
                        "request",
                        cat,
                        Topic::Question { about: cat },
                        r.range(0.0, 0.3),
                    )
                }
                2 => {
                    let cat = ["tariff", "billing", "other"][r.weighted(&[0.4, 0.3, 0.3])];
                    (
                        "consultation",
                        cat,
                        Topic::Question { about: cat },
                        r.range(0.0, 0.3),
                    )
                }
                3 => {
                    let cat = if r.chance(0.4) { "outage" } else { "other" };
                    ("repair", cat, Topic::Repair, r.range(0.1, 0.5))
                }
                _ => ("praise", "service_attitude", Topic::Praise, 0.0),
            };
            add(day, kind, category, topic, anger, false, None);
        }
        // 2. high bills, bill errors, the tariff change
        for b in bills {
            let m = cal.months[b.month_idx].month;
            let yuan = b.amount_fen as f64 / 100.0;
            if let Some(ratio) = b.error {
                if ratio > 1.0 && r.chance(0.75) {
                    let t = Topic::HighBill {
                        ratio,
                        amount_yuan: yuan,
                        month: m,
                    };
                    add(
                        b.issue + r.int(1, 10),
                        "complaint",
                        "billing",
                        t,
                        r.range(0.5, 1.0),
                        false,
                        None,
                    );
                } else if ratio < 1.0 && r.chance(0.15) {
                    let t = Topic::HighBill {
                        ratio,
                        amount_yuan: yuan,
                        month: m,
                    };
                    add(
                        b.issue + r.int(1, 10),
                        "consultation",
                        "billing",
                        t,
                        0.2,
                        false,
                        None,
                    );
                }
            } else if median > 0
                && b.amount_fen as f64 >= 1.6 * median as f64
                && yuan > 50.0
                && r.chance(0.35)
            {
                let t = Topic::HighBill {
                    ratio: b.amount_fen as f64 / median as f64,
                    amount_yuan: yuan,
                    month: m,
                };
                add(
                    b.issue + r.int(1, 10),
                    "complaint",
                    "billing",
                    t,
                    r.range(0.4, 1.0),
                    false,
                    None,
                );
            }
            let first_day = cal.days[cal.months[b.month_idx].first].day;
            let last_day = cal.days[cal.months[b.month_idx].end - 1].day;
            if b.tariff == "COM_TOU"
                && first_day <= inp.change_day
                && inp.change_day <= last_day
                && r.chance(0.15)
            {
                let t = Topic::TariffChange { amount_yuan: yuan };
                add(
                    b.issue + r.int(1, 20),
                    "complaint",
                    "tariff",
                    t,
                    r.range(0.4, 0.9),
                    false,
                    None,
                );
            }
        }
        // 3. churn: complaints before closing, then the closing request
        if let (true, Some(close)) = (c.churner, c.close_day) {
            for _ in 0..r.int(1, 3) {
                let day = close - r.int(5, 120);
                let last = bills.iter().rev().find(|b| b.issue <= day);
                let yuan = last.map_or(200.0, |b| b.amount_fen as f64 / 100.0);
                let (cat, t) = match r.below(4) {
                    0 => (
                        "billing",
                        Topic::HighBill {
                            ratio: r.range(1.3, 2.0),
                            amount_yuan: yuan,
                            month: cal.days[cal.idx(day).min(cal.days.len() - 1)].month,
                        },
                    ),
                    1 => (
                        "service_attitude",
                        Topic::Service {
                            minutes: r.int(20, 90) as u32,
                        },
                    ),
                    2 => (
                        "outage",
                        Topic::Outage {
                            hours: r.int(2, 8) as u32,
                            heat: false,
                        },
                    ),
                    _ => ("billing", Topic::Arrears),
                };
                add(day, "complaint", cat, t, r.range(0.6, 1.0), false, None);
            }
            if r.chance(0.6) {
                add(
                    close - r.int(0, 10),
                    "request",
                    "other",
                    Topic::Closing,
                    r.range(0.2, 0.8),
                    false,
                    None,
                );
            }
        }
        // 4. new connections
        if c.open_day > start + 10 && r.chance(0.8) {
            let lead = r.int(7, 30);
            let (kind, anger) = if lead > 20 && r.chance(0.3) {
                ("complaint", 0.7)
            } else {
                ("request", 0.1)
            };
            let t = Topic::NewConnection { days: lead as u32 };
            // the applicant is not yet a customer: file it on the open day's account anyway
            let day = c.open_day - lead;
            if day >= start {
                let created = local_midnight_utc(day) + r.int(9 * 3600, 17 * 3600) * 1000;
                intents.push(Intent {
                    customer: c.idx,
                    created,
                    channel: "hall",
                    kind,
                    category: "new_connection",
                    topic: t,
                    anger,
                    burst: false,
                });
            }
        }
        // 5. app payment failures: an emerging topic in a two-week window
        let app_day = start + (period * 0.7) as i64;
        if period > 60.0 && digital_share(c, boost, app_day, start) > 0.5 && r.chance(0.04) {
            let t = Topic::AppPayment;
            add(
                app_day + r.int(0, 13),
                "complaint",
                "billing",
                t,
                r.range(0.4, 0.9),
                false,
                Some("app"),
            );
        }
        for p in pend {
            realize(&mut r, inp, p, &mut intents);
        }
    }
    // meter events: faults make the customer call, theft makes a neighbour call
    for (k, ev) in inp.truth.iter().enumerate() {
        let Some(ci) = ev
            .customer_id
            .get(1..)
            .and_then(|s| s.parse::<usize>().ok())
            .map(|i| i - 1)
        else {
            continue;
        };
        let c = &geo.customers[ci];
        let mut r = Rng::derive(inp.seed, "event-orders", k as u64);
        let end_day = local_day_of(ev.end_ms);
        let days = ((ev.end_ms - ev.start_ms) / MS_PER_DAY).max(1) as u32;
        let mut pend: Vec<Pending> = Vec::new();
        let mut add = |cust: usize,
                       day: i64,
                       kind: &'static str,
                       category: &'static str,
                       topic: Topic,
                       anger: f64| {
            pend.push(Pending {
                customer: cust,
                day,
                kind,
                category,
                topic,
                anger,
                burst: false,
                channel: None,
            });
        };
        match ev.kind.as_str() {
            "stuck" | "gap" | "zero_run" if r.chance(0.55) => {
                let t = Topic::MeterFault { days };
                add(
                    ci,
                    end_day + r.int(1, 6),
                    "complaint",
                    "metering",
                    t,
                    r.range(0.3, 0.9),
                );
            }
            "register_reset" if r.chance(0.4) => {
                let t = Topic::MeterFault { days: 1 };
                add(
                    ci,
                    end_day + r.int(3, 20),
                    "consultation",
                    "metering",
                    t,
                    0.3,
                );
            }
            "theft_bypass" | "theft_partial" if r.chance(0.2) => {
                let a = &geo.areas[c.area];
                if a.end - a.first > 1 {
                    let mut j = a.first + r.below((a.end - a.first) as u64) as usize;
                    if j == ci {
                        j = if j + 1 < a.end { j + 1 } else { a.first };
                    }
                    let day = local_day_of(ev.start_ms) + r.int(10, 60);
                    add(j, day, "complaint", "other", Topic::TheftReport, 0.5);
                }
            }
            _ => {}
        }
        for p in pend {
            realize(&mut r, inp, p, &mut intents);
        }
    }
    // outages: the affected call in
    for (k, (o, burst, ms)) in inp.outages.iter().enumerate() {
        let a = &geo.areas[o.area];
        let mut r = Rng::derive(inp.seed, "outage-orders", k as u64);
        let hours = (((o.to_slot - o.from_slot) * 24) as f64 / inp.spd as f64)
            .ceil()
            .max(1.0) as u32;
        let p = if *burst { 0.25 } else { 0.08 };
        for c in &geo.customers[a.first..a.end] {
            if !c.active(cal.days[o.day].day) || !r.chance(p) {
                continue;
            }
            let created = ms + r.int(10 * 60, 90 * 60) * 1000;
            let channel = if r.chance(0.7) {
                "phone_95598"
            } else {
                pick_channel(&mut r, c, c.digital)
            };
            let kind = if r.chance(0.6) { "complaint" } else { "repair" };
            let anger = if *burst {
                r.range(0.6, 1.0)
            } else {
                r.range(0.3, 0.8)
            };
            intents.push(Intent {
                customer: c.idx,
                created,
                channel,
                kind,
                category: "outage",
                topic: Topic::Outage {
                    hours,
                    heat: *burst,
                },
                anger,
                burst: *burst,
            });
        }
    }
    intents.retain(|i| i.created >= start_ms && i.created < end_ms);
    intents.sort_by_key(|i| (i.created, i.customer));
    // handling
    let by_role = |role: &str, region: Option<usize>| -> Vec<usize> {
        staff
            .iter()
            .enumerate()
            .filter(|(_, s)| s.role == role && (region.is_none() || s.region == region))
            .map(|(i, _)| i)
            .collect()
    };
    let agents = by_role("agent_95598", None);
    let mut orders = Vec::with_capacity(intents.len());
    let mut surveys = Vec::new();
    for (k, it) in intents.iter().enumerate() {
        let c = &geo.customers[it.customer];
        let mut r = Rng::derive(inp.seed, "handling", k as u64);
        let pool = if it.category == "outage" || it.kind == "repair" {
            by_role("field_engineer", Some(c.region))
        } else if it.category == "metering" {
            by_role("inspector", Some(c.region))
        } else if it.channel == "hall" {
            by_role("hall_clerk", Some(c.region))
        } else {
            agents.clone()
        };
        let pool = if pool.is_empty() {
            agents.clone()
        } else {
            pool
        };
        let si = r.pick(&pool);
        let st = &staff[si];
        let base_h = match (it.kind, it.category) {
            ("praise", _) => 0.1,
            ("consultation", _) => 0.4,
            ("repair", _) => 6.0,
            (_, "outage") => 4.0,
            (_, "billing") => 36.0,
            (_, "metering") => 60.0,
            (_, "new_connection") => 200.0,
            (_, "tariff") => 20.0,
            (_, "service_attitude") => 48.0,
            _ => 24.0,
        };
        let hours = base_h / st.skill * r.lognormal(0.0, 0.5) * if it.burst { 2.0 } else { 1.0 };
        let closed = it.created + (hours * 3_600_000.0) as i64;
        let closed = (closed < end_ms).then_some(closed);
        let lang = if c.english {
            if r.chance(0.9) { "en" } else { "zh" }
        } else if r.chance(0.08) {
            "en"
        } else {
            "zh"
        };
        let place = geo.areas[c.area].name.clone();
        let text = text::work_order_text(&mut r, lang, &it.topic, it.anger, &place);
        if let Some(cl) = closed
            && r.chance(if it.kind == "praise" { 0.3 } else { 0.5 })
        {
            let ts = cl + r.int(3600, 72 * 3600) * 1000;
            if ts < end_ms {
                let base = match it.kind {
                    "complaint" => 2.6,
                    "request" => 3.9,
                    "consultation" => 4.1,
                    "repair" => 3.7,
                    _ => 4.8,
                };
                let cat = match it.category {
                    "billing" => -0.3,
                    "outage" if it.burst => -0.6,
                    "outage" => -0.2,
                    "service_attitude" if it.kind == "complaint" => -0.8,
                    _ => 0.0,
                };
                let score = base + cat + 1.2 * crate::rng::ln(st.skill) + st.attitude
                    - 0.35 * crate::rng::ln(1.0 + hours / 24.0)
                    - 0.5 * it.anger
                    + 0.6 * r.normal();
                let csat = score.round().clamp(1.0, 5.0) as i64;
                let nps = (2.0 * csat as f64 - 0.5 + 1.2 * r.normal())
                    .round()
                    .clamp(0.0, 10.0) as i64;
                let comment = r
                    .chance(0.4)
                    .then(|| text::survey_comment(&mut r, lang, csat));
                surveys.push(Survey {
                    customer: c.idx,
                    order: Some(k),
                    staff: Some(si),
                    channel: it.channel,
                    ts,
                    csat,
                    nps,
                    comment,
                });
            }
        }
        orders.push(Order {
            id: format!("W{:07}", k + 1),
            customer: it.customer,
            created: it.created,
            closed,
            channel: it.channel,
            kind: it.kind,
            category: it.category,
            lang,
            text,
            staff: si,
        });
    }
    // relationship surveys (not after an order)
    let faulty: Vec<bool> = {
        let mut f = vec![false; geo.customers.len()];
        for ev in inp.truth {
            if let Some(i) = ev
                .customer_id
                .get(1..)
                .and_then(|s| s.parse::<usize>().ok())
            {
                f[i - 1] = true;
            }
        }
        f
    };
    for c in &geo.customers {
        let mut r = Rng::derive(inp.seed, "survey", c.idx as u64);
        if !r.chance(0.06) {
            continue;
        }
        let day = start + r.below(period as u64) as i64;
        if !c.active(day) {
            continue;
        }
        let ts = local_midnight_utc(day) + r.int(9 * 3600, 21 * 3600) * 1000;
        let mut score = 3.9 + 0.5 * r.normal();
        if c.churner {
            score -= 1.2;
        }
        if faulty[c.idx] {
            score -= 0.5;
        }
        if c.pay == crate::geography::PayHabit::NonPayer {
            score -= 0.5;
        }
        let csat = score.round().clamp(1.0, 5.0) as i64;
        let nps = (2.0 * csat as f64 - 0.5 + 1.2 * r.normal())
            .round()
            .clamp(0.0, 10.0) as i64;
        let lang = if c.english { "en" } else { "zh" };
        let comment = r
            .chance(0.3)
            .then(|| text::survey_comment(&mut r, lang, csat));
        let channel = r.pick(&["app", "wechat", "phone_95598"]);
        surveys.push(Survey {
            customer: c.idx,
            order: None,
            staff: None,
            channel,
            ts,
            csat,
            nps,
            comment,
        });
    }
    surveys.sort_by_key(|s| (s.ts, s.customer));
    let events = channel_events(inp, &orders, start, end);
    Service {
        staff,
        orders,
        surveys,
        events,
    }
}

fn duration(r: &mut Rng, channel: &str, region: usize, geo: &Geography) -> i64 {
    match channel {
        "hall" => {
            // waiting grows with customers per hall: under-served regions queue longer
            let halls = geo
                .halls
                .iter()
                .filter(|h| h.region == region)
                .count()
                .max(1) as f64;
            let crowd = REGIONS[region].share / halls / 0.08;
            (r.range(300.0, 1500.0) * crowd.clamp(0.6, 3.0)) as i64
        }
        "phone_95598" => r.int(60, 900),
        "app" => r.int(20, 300),
        "web" => r.int(30, 400),
        _ => r.int(15, 200),
    }
}

fn channel_events(inp: &Inputs, orders: &[Order], start: i64, end: i64) -> Vec<Event> {
    let geo = inp.geo;
    let cal = inp.cal;
    let mut out = Vec::new();
    for c in &geo.customers {
        let mut r = Rng::derive(inp.seed, "channel", c.idx as u64);
        let lambda = match c.class {
            Class::Residential => 1.0,
            Class::Commercial => 2.0,
            Class::Industrial => 2.5,
        };
        for m in &cal.months {
            let days: Vec<i64> = cal.days[m.first..m.end]
                .iter()
                .map(|d| d.day)
                .filter(|d| c.active(*d))
                .collect();
            if days.is_empty() {
                continue;
            }
            for _ in 0..r.poisson(lambda * days.len() as f64 / 30.0) {
                let day = r.pick(&days);
                let ts = local_midnight_utc(day) + r.int(7 * 3600, 23 * 3600) * 1000;
                let p = digital_share(c, inp.digital_boost[c.idx], day, start);
                let action = ["query_bill", "login", "apply"][r.weighted(&[0.5, 0.42, 0.08])];
                let channel = if action == "login" {
                    DIGITAL[r.weighted(&[0.45, 0.35, 0.2])]
                } else {
                    pick_channel(&mut r, c, p)
                };
                let duration_s = duration(&mut r, channel, c.region, geo);
                out.push(Event {
                    customer: c.idx,
                    ts,
                    channel,
                    action,
                    duration_s,
                });
            }
        }
    }
    for (k, p) in inp.payments.iter().enumerate() {
        if matches!(p.channel, "hall" | "app" | "web" | "wechat") && local_day_of(p.paid_at) < end {
            let mut r = Rng::derive(inp.seed, "pay-event", k as u64);
            let c = &geo.customers[p.customer];
            out.push(Event {
                customer: p.customer,
                ts: p.paid_at,
                channel: p.channel,
                action: "pay",
                duration_s: duration(&mut r, p.channel, c.region, geo),
            });
        }
    }
    for (k, o) in orders.iter().enumerate() {
        let action = match (o.kind, o.category) {
            (_, "outage") => "report_outage",
            ("complaint", _) => "complaint",
            ("request", _) => "apply",
            _ => "query_bill",
        };
        let mut r = Rng::derive(inp.seed, "order-event", k as u64);
        let c = &geo.customers[o.customer];
        out.push(Event {
            customer: o.customer,
            ts: o.created,
            channel: o.channel,
            action,
            duration_s: duration(&mut r, o.channel, c.region, geo),
        });
    }
    out.sort_by_key(|e| (e.ts, e.customer));
    out
}
