//! The deterministic "demo utility": a synthetic electric utility in Hangzhou (Asia/Shanghai,
//! UTC+8) with customers, transformer areas, meters and their interval readings, area supply
//! meters, weather, tariffs, bills, payments, work orders with free text, surveys, channel
//! events, a customer graph with product diffusion, and the truth of every injected anomaly
//! (theft, meter faults, outages, bill errors).
//!
//! Same [`DemoConfig`] → byte-identical output: all randomness comes from named, seeded
//! xoshiro256** streams (one per purpose and entity, so features do not shift each other), the
//! transcendental math avoids the platform `libm`, nothing iterates a hash map, and worker
//! threads only compute whole transformer areas while the caller's callback runs on the calling
//! thread in meter order.
//!
//! Modules: `rng` (PRNG, deterministic ln/exp/sin, normal table), `calendar` (local days,
//! official holidays and swapped working days), `weather` (daily temperature and PV clearness
//! per region), `geography` (regions, areas, halls, the customer archive), `graph` (customer
//! ties and Bass-like product diffusion), `load` (true consumption), `anomalies` (theft and
//! meter faults on the recorded series), `billing` (tariffs, bills, payments), `service`
//! (staff, work orders, surveys, channel events), `text` (names and free text, zh/en),
//! `tables` (catalog rows).
//!
//! Conventions: dates are local (Asia/Shanghai) calendar days; timestamps are UTC ms, and a
//! local day starts at 16:00 UTC of the day before. Reading `kwh` values are the meter's
//! primary energy (any CT `multiplier` in `meters` is already applied), rounded to 0.001 kWh;
//! negative values are export (rooftop solar) or a register reset (a fault).
//!
//! ```no_run
//! let mut n = 0;
//! let demo = gridmark_testkit::generate(&Default::default(), |s| n += s.kwh.len());
//! println!("{n} readings, {} tables", demo.tables.len());
//! ```

mod anomalies;
mod billing;
mod calendar;
mod geography;
mod graph;
mod load;
mod rng;
mod service;
mod tables;
mod text;
mod weather;

#[cfg(test)]
mod tests;

use gridmark_core::Rows;
use gridmark_core::civil::{MS_PER_DAY, format_utc};
use std::sync::mpsc;

/// Size and seed of the demo utility.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoConfig {
    pub customers: usize,
    pub days: u32,
    pub seed: u64,
    /// First local day (year, month, day).
    pub start_date: (i64, u32, u32),
    /// Reading interval in minutes; must divide 1440.
    pub interval_min: u32,
}

impl Default for DemoConfig {
    fn default() -> Self {
        DemoConfig {
            customers: 2000,
            days: 365,
            seed: 42,
            start_date: (2025, 1, 1),
            interval_min: 15,
        }
    }
}

/// One meter's recorded interval series: ts ascending (UTC ms, interval start), gaps are
/// missing entries.
#[derive(Debug, Clone, PartialEq)]
pub struct MeterSeries {
    pub meter_id: String,
    pub interval_s: i64,
    pub ts_ms: Vec<i64>,
    pub kwh: Vec<f64>,
}

/// One injected anomaly. Kinds: `theft_bypass`, `theft_partial` (param = recorded share),
/// `stuck` (param = repeated value), `gap`, `zero_run` (param = intervals), `spike`,
/// `register_reset` (param = the recorded value), `bill_error` (param = billed / recorded kWh;
/// `start_ms..end_ms` = the billing month), `outage` (area power cut; meter and customer empty,
/// area in the note; param = hours). `end_ms` is exclusive.
#[derive(Debug, Clone, PartialEq)]
pub struct TruthEvent {
    pub meter_id: String,
    pub customer_id: String,
    pub kind: String,
    pub start_ms: i64,
    pub end_ms: i64,
    pub param: f64,
    pub note: String,
}

/// Everything generated except the readings (streamed through the callback).
#[derive(Debug, Clone, PartialEq)]
pub struct DemoUtility {
    pub config: DemoConfig,
    pub tables: Vec<Rows>,
    pub truth: Vec<TruthEvent>,
    /// What the generator planted in each customer (not in any table).
    pub customer_truth: Vec<CustomerTruth>,
    /// What the generator planted in each staff member (not in any table).
    pub staff_truth: Vec<StaffTruth>,
    /// Human-readable lines: what was built.
    pub summary: Vec<(String, String)>,
}

/// The hidden nature of one demo customer, for evaluating segmentation and risk models.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomerTruth {
    pub customer_id: String,
    pub class: &'static str,
    /// Load-shape family: residential, office, retail, shift1, shift2 or shift3.
    pub archetype: String,
    /// prompt, late or non_payer.
    pub pay_habit: &'static str,
    /// Closes the account during the period.
    pub churner: bool,
}

/// Writes the customer truth as CSV text (header + rows).
pub fn customer_truth_csv(rows: &[CustomerTruth]) -> String {
    let mut out = String::from("customer_id,class,archetype,pay_habit,churner\n");
    for t in rows {
        out.push_str(&format!(
            "{},{},{},{},{}\n",
            t.customer_id,
            t.class,
            t.archetype,
            t.pay_habit,
            u8::from(t.churner)
        ));
    }
    out
}

/// The hidden quality of one demo staff member, for evaluating staff assessment: the
/// satisfaction they earn goes with `1.2·ln(skill) + attitude`, and their resolution time
/// with `1/skill`.
#[derive(Debug, Clone, PartialEq)]
pub struct StaffTruth {
    pub staff_id: String,
    /// Speed of resolution (lognormal around 1; 2 resolves twice as fast).
    pub skill: f64,
    /// Friendliness, added to the satisfaction score (normal, sd 0.35).
    pub attitude: f64,
}

/// Writes the staff truth as CSV text (header + rows).
pub fn staff_truth_csv(rows: &[StaffTruth]) -> String {
    let mut out = String::from("staff_id,skill,attitude\n");
    for t in rows {
        out.push_str(&format!(
            "{},{:.4},{:.4}\n",
            t.staff_id, t.skill, t.attitude
        ));
    }
    out
}

impl DemoUtility {
    /// The rows of a table by name.
    pub fn table(&self, name: &str) -> Option<&Rows> {
        self.tables.iter().find(|t| t.table.name == name)
    }
}

/// Totals the tests check against (true consumption is not in any table).
#[derive(Debug, Default, Clone)]
pub(crate) struct Stats {
    pub meter_true: Vec<f64>,
    pub meter_recorded: Vec<f64>,
    pub area_true: Vec<f64>,
    pub area_supply: Vec<f64>,
}

/// Generates the whole utility; calls `readings(series)` once per meter, in meter order, with
/// its recorded interval series (so the caller can stream ~70 M readings to disk without
/// holding them). Everything else (including `area_supply`, `bills`, weather in `series`)
/// comes back in `tables`.
pub fn generate(config: &DemoConfig, readings: impl FnMut(MeterSeries)) -> DemoUtility {
    generate_with_stats(config, readings).0
}

struct MeterResult {
    series: MeterSeries,
    monthly: Vec<f64>,
    true_kwh: f64,
    recorded_kwh: f64,
    truth: Vec<TruthEvent>,
}

enum Msg {
    Meter(Box<MeterResult>),
    AreaDone(Vec<f64>, f64),
}

pub(crate) fn generate_with_stats(
    config: &DemoConfig,
    mut readings: impl FnMut(MeterSeries),
) -> (DemoUtility, Stats) {
    assert!(
        config.interval_min > 0 && 1440 % config.interval_min == 0,
        "interval_min must divide a day"
    );
    let seed = config.seed;
    let cal = calendar::Calendar::new(config.start_date, config.days.max(1));
    let geo = geography::generate(seed, config.customers, &cal);
    let offsets: Vec<f64> = geography::REGIONS.iter().map(|r| r.temp_offset).collect();
    let weather = weather::generate(seed, &cal, &offsets);
    let social = graph::generate(seed, &geo, &cal);
    let shapes = load::Shapes::new(config.interval_min);
    let spd = shapes.spd;
    let outages = plan_outages(seed, &cal, &geo, &weather, spd);
    let norm = rng::normal_table();
    let ctx = load::LoadCtx {
        seed,
        cal: &cal,
        weather: &weather,
        shapes: &shapes,
        norm: &norm,
    };
    let axis = anomalies::Axis {
        t0_ms: calendar::local_midnight_utc(cal.start_day),
        slot_ms: config.interval_min as i64 * 60_000,
        spd,
    };
    let n_months = cal.months.len();

    // --- the meter pass: workers compute areas, this thread hands series out in meter order
    let n_areas = geo.areas.len();
    let mut stats = Stats::default();
    let mut n_readings = 0usize;
    let mut truth: Vec<TruthEvent> = Vec::new();
    let mut monthly: Vec<Vec<f64>> = Vec::with_capacity(geo.customers.len());
    let mut supply_rows = Rows::for_table("area_supply").expect("catalog");
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 4)
        .min(n_areas.max(1));
    std::thread::scope(|scope| {
        let mut rxs = Vec::new();
        for w in 0..workers {
            let (tx, rx) = mpsc::sync_channel::<Msg>(4);
            rxs.push(rx);
            let (ctx, geo, social, outages, axis) = (&ctx, &geo, &social, &outages, &axis);
            scope.spawn(move || {
                for ai in (w..n_areas).step_by(workers) {
                    if !area_pass(ctx, geo, social, outages, axis, n_months, ai, &tx) {
                        return;
                    }
                }
            });
        }
        for ai in 0..n_areas {
            let rx = &rxs[ai % workers];
            loop {
                match rx.recv().expect("area worker stopped") {
                    Msg::Meter(m) => {
                        stats.meter_true.push(m.true_kwh);
                        stats.meter_recorded.push(m.recorded_kwh);
                        monthly.push(m.monthly);
                        truth.extend(m.truth);
                        n_readings += m.series.kwh.len();
                        readings(m.series);
                    }
                    Msg::AreaDone(supply, true_kwh) => {
                        let a = &geo.areas[ai];
                        stats.area_true.push(true_kwh);
                        stats.area_supply.push(supply.iter().sum());
                        for (s, v) in supply.iter().enumerate() {
                            supply_rows
                                .push(vec![
                                    a.id.clone().into(),
                                    gridmark_core::columns::Value::Ts(axis.ts(s)),
                                    (axis.slot_ms / 1000).into(),
                                    (*v).into(),
                                    "raw".into(),
                                    "demo".into(),
                                ])
                                .expect("area_supply row");
                        }
                        break;
                    }
                }
            }
        }
    });

    // --- billing
    let tariff_rows = billing::tariff_rows(&cal);
    let mut bills = Vec::new();
    let mut bill_range = Vec::with_capacity(geo.customers.len());
    let mut payments = Vec::new();
    let as_of = cal.end_day() + 30;
    for c in &geo.customers {
        let first = bills.len();
        let mut b = billing::bills_for(
            seed,
            &cal,
            &tariff_rows,
            c,
            &social.products[c.idx],
            &monthly[c.idx],
            config.interval_min,
        );
        payments.extend(billing::pay(
            seed,
            c,
            &social.products[c.idx],
            &mut b,
            first,
            as_of,
        ));
        bills.extend(b);
        bill_range.push((first, bills.len()));
    }
    for (k, p) in payments.iter_mut().enumerate() {
        p.id = format!("P{:08}", k + 1);
    }
    for b in bills.iter().filter(|b| b.error.is_some()) {
        let c = &geo.customers[b.customer];
        let m = &cal.months[b.month_idx];
        let ratio = b.error.unwrap_or(1.0);
        truth.push(TruthEvent {
            meter_id: c.meter_id.clone(),
            customer_id: c.id.clone(),
            kind: "bill_error".into(),
            start_ms: calendar::local_midnight_utc(cal.days[m.first].day),
            end_ms: calendar::local_midnight_utc(cal.days[m.end - 1].day + 1),
            param: ratio,
            note: format!(
                "bill {} billed on an estimated read: {:.2} kWh billed, {:.2} kWh recorded",
                b.id, b.kwh, b.recorded_kwh
            ),
        });
    }
    for (o, burst, ms) in &outages {
        let a = &geo.areas[o.area];
        let hours = (o.to_slot - o.from_slot) as f64 * 24.0 / spd as f64;
        truth.push(TruthEvent {
            meter_id: String::new(),
            customer_id: String::new(),
            kind: "outage".into(),
            start_ms: *ms,
            end_ms: ms + (o.to_slot - o.from_slot) as i64 * axis.slot_ms,
            param: hours,
            note: format!(
                "area {} ({}) power cut{}",
                a.id,
                geography::REGIONS[a.region].id,
                if *burst { " during the heat wave" } else { "" }
            ),
        });
    }

    // --- service
    let digital_boost: Vec<bool> = social
        .products
        .iter()
        .map(|p| p[graph::E_BILLING].is_some())
        .collect();
    let svc = service::generate(&service::Inputs {
        seed,
        cal: &cal,
        geo: &geo,
        digital_boost: &digital_boost,
        bills: &bills,
        bill_range: &bill_range,
        payments: &payments,
        truth: &truth,
        outages: &outages,
        change_day: billing::change_day(&cal),
        spd,
    });

    // --- tables and summary
    let t = tables::Build {
        config,
        cal: &cal,
        geo: &geo,
        weather: &weather,
        social: &social,
        tariffs: &tariff_rows,
        bills: &bills,
        payments: &payments,
        svc: &svc,
    };
    let mut all = t.all();
    all.push(supply_rows);
    let order = [
        "meters",
        "customers",
        "areas",
        "tariffs",
        "bills",
        "payments",
        "work_orders",
        "surveys",
        "channel_events",
        "staff",
        "service_halls",
        "relations",
        "products",
        "holidays",
        "series",
        "area_supply",
    ];
    all.sort_by_key(|r| order.iter().position(|n| *n == r.table.name).unwrap_or(99));
    let summary = summarize(
        config, &cal, &geo, &all, &truth, &stats, &svc, &social, n_readings,
    );
    (
        DemoUtility {
            config: config.clone(),
            tables: all,
            truth,
            customer_truth: geo.customers.iter().map(customer_truth).collect(),
            staff_truth: svc
                .staff
                .iter()
                .map(|s| StaffTruth {
                    staff_id: s.id.clone(),
                    skill: s.skill,
                    attitude: s.attitude,
                })
                .collect(),
            summary,
        },
        stats,
    )
}

/// Computes one area's meters and its supply meter; false when the receiver hung up.
#[allow(clippy::too_many_arguments)]
fn area_pass(
    ctx: &load::LoadCtx,
    geo: &geography::Geography,
    social: &graph::Social,
    outages: &[(load::Outage, bool, i64)],
    axis: &anomalies::Axis,
    n_months: usize,
    ai: usize,
    tx: &mpsc::SyncSender<Msg>,
) -> bool {
    let a = &geo.areas[ai];
    let cal = ctx.cal;
    let spd = axis.spd;
    let n = cal.days.len() * spd;
    let mine: Vec<load::Outage> = outages
        .iter()
        .filter(|o| o.0.area == ai)
        .map(|o| o.0.clone())
        .collect();
    let mut supply = vec![0.0; n];
    let mut buf = Vec::with_capacity(n);
    let month_of_day: Vec<usize> = cal.days.iter().map(|d| d.month_idx).collect();
    for c in &geo.customers[a.first..a.end] {
        load::true_series(ctx, c, &social.products[c.idx], &mine, &mut buf);
        let mut true_kwh = 0.0;
        for (s, v) in supply.iter_mut().zip(&buf) {
            *s += v;
            true_kwh += v;
        }
        let first = cal.idx(c.open_day) * spd;
        let end = cal.idx(c.close_day.unwrap_or(i64::MAX / 4)) * spd;
        let mut truth = Vec::new();
        anomalies::inject(ctx.seed, c, axis, &mut buf, first, end, &mut truth);
        let mut monthly = vec![0.0; n_months * spd];
        let mut ts_ms = Vec::with_capacity(end.saturating_sub(first));
        let mut kwh = Vec::with_capacity(end.saturating_sub(first));
        let mut recorded_kwh = 0.0;
        for s in first..end {
            let v = buf[s];
            if v.is_nan() {
                continue;
            }
            let v = (v * 1000.0).round() / 1000.0;
            ts_ms.push(axis.ts(s));
            kwh.push(v);
            monthly[month_of_day[s / spd] * spd + s % spd] += v;
            recorded_kwh += v;
        }
        let series = MeterSeries {
            meter_id: c.meter_id.clone(),
            interval_s: axis.slot_ms / 1000,
            ts_ms,
            kwh,
        };
        let msg = Msg::Meter(Box::new(MeterResult {
            series,
            monthly,
            true_kwh,
            recorded_kwh,
            truth,
        }));
        if tx.send(msg).is_err() {
            return false;
        }
    }
    // technical loss: the area's rate, a little higher at high load
    let true_kwh: f64 = supply.iter().sum();
    let peak = supply.iter().fold(0.0f64, |m, v| m.max(v.abs())).max(1e-9);
    for s in supply.iter_mut() {
        let loss = a.loss * (0.9 + 0.2 * s.abs() / peak);
        *s = ((*s + loss * s.abs()) * 1000.0).round() / 1000.0;
    }
    tx.send(Msg::AreaDone(supply, true_kwh)).is_ok()
}

/// Power cuts: a burst in one region during the summer heat wave, and a few random ones.
fn plan_outages(
    seed: u64,
    cal: &calendar::Calendar,
    geo: &geography::Geography,
    weather: &weather::Weather,
    spd: usize,
) -> Vec<(load::Outage, bool, i64)> {
    let mut r = rng::Rng::derive(seed, "outages", 0);
    let n_days = cal.days.len();
    let mut out = Vec::new();
    let mut add = |area, day: usize, hour: usize, dur: usize, burst| {
        let from_slot = hour * spd / 24;
        let to_slot = ((hour + dur) * spd / 24).min(spd);
        if to_slot <= from_slot {
            return; // daily intervals: a cut of a few hours is not visible
        }
        let ms = calendar::local_midnight_utc(cal.days[day].day)
            + (from_slot as i64) * (MS_PER_DAY / spd as i64);
        out.push((
            load::Outage {
                area,
                day,
                from_slot,
                to_slot,
            },
            burst,
            ms,
        ));
    };
    for (ai, a) in geo.areas.iter().enumerate() {
        if let Some(hw) = weather.heat_wave
            && a.region == 3
        {
            let mut days = vec![];
            days.push(hw + r.int(1, 5) as usize);
            if r.chance(0.5) {
                days.push(hw + r.int(1, 6) as usize);
            }
            days.sort_unstable();
            days.dedup();
            for d in days {
                add(
                    ai,
                    d.min(n_days - 1),
                    r.int(13, 17) as usize,
                    r.int(2, 6) as usize,
                    true,
                );
            }
        }
        if n_days > 20 && r.chance(0.3) {
            add(
                ai,
                r.below(n_days as u64) as usize,
                r.int(0, 22) as usize,
                r.int(1, 3) as usize,
                false,
            );
        }
    }
    out.sort_by_key(|o| (o.2, o.0.area));
    out
}

#[allow(clippy::too_many_arguments)]
fn summarize(
    config: &DemoConfig,
    cal: &calendar::Calendar,
    geo: &geography::Geography,
    tables: &[Rows],
    truth: &[TruthEvent],
    stats: &Stats,
    svc: &service::Service,
    social: &graph::Social,
    n_readings: usize,
) -> Vec<(String, String)> {
    let mut s: Vec<(String, String)> = Vec::new();
    s.push((
        "period".into(),
        format!(
            "{} days from {} (Asia/Shanghai), {}-minute intervals, seed {}",
            config.days,
            gridmark_core::civil::format_date(cal.start_day),
            config.interval_min,
            config.seed
        ),
    ));
    s.push((
        "readings".into(),
        format!(
            "{n_readings} recorded intervals of {} meters (streamed, not in tables)",
            geo.customers.len()
        ),
    ));
    for t in tables {
        s.push((
            format!("table {}", t.table.name),
            format!("{} rows", t.len()),
        ));
    }
    let count = |k: &str| truth.iter().filter(|t| t.kind == k).count();
    let class_count = |c: geography::Class| geo.customers.iter().filter(|x| x.class == c).count();
    s.push((
        "customers".into(),
        format!(
            "{} ({} residential, {} commercial, {} industrial) in {} areas of {} regions",
            geo.customers.len(),
            class_count(geography::Class::Residential),
            class_count(geography::Class::Commercial),
            class_count(geography::Class::Industrial),
            geo.areas.len(),
            geography::REGIONS.len()
        ),
    ));
    let churn = geo
        .customers
        .iter()
        .filter(|c| c.close_day.is_some())
        .count();
    let new = geo
        .customers
        .iter()
        .filter(|c| c.open_day >= cal.start_day)
        .count();
    s.push((
        "churners".into(),
        format!("{churn} accounts closed during the period"),
    ));
    s.push((
        "new connections".into(),
        format!("{new} accounts opened during the period"),
    ));
    let thieves: std::collections::BTreeSet<&str> = truth
        .iter()
        .filter(|t| t.kind.starts_with("theft"))
        .map(|t| t.meter_id.as_str())
        .collect();
    s.push((
        "theft".into(),
        format!(
            "{} meters ({} bypass, {} partial)",
            thieves.len(),
            count("theft_bypass"),
            count("theft_partial")
        ),
    ));
    let faults: Vec<String> = anomalies::FAULT_KINDS
        .iter()
        .map(|k| format!("{} {k}", count(k)))
        .collect();
    s.push(("meter faults".into(), faults.join(", ")));
    s.push((
        "bill errors".into(),
        format!("{} bills billed on estimated reads", count("bill_error")),
    ));
    s.push((
        "outages".into(),
        format!("{} area power cuts", count("outage")),
    ));
    let (t, sup): (f64, f64) = (stats.area_true.iter().sum(), stats.area_supply.iter().sum());
    let rec: f64 = stats.meter_recorded.iter().sum();
    s.push((
        "energy".into(),
        format!(
            "{:.0} kWh true, {:.0} kWh recorded by meters, {:.0} kWh area supply ({:.2} % technical loss)",
            t,
            rec,
            sup,
            if t > 0.0 { (sup / t - 1.0) * 100.0 } else { 0.0 }
        ),
    ));
    let adoption: Vec<String> = graph::PRODUCTS
        .iter()
        .enumerate()
        .map(|(p, name)| {
            let spells = social.products.iter().filter_map(|x| x[p]);
            let (mut before, mut during, mut ended) = (0, 0, 0);
            for sp in spells {
                if sp.start < cal.start_day {
                    before += 1
                } else {
                    during += 1
                }
                if sp.end.is_some() {
                    ended += 1
                }
            }
            format!("{name} {before}+{during} (-{ended})")
        })
        .collect();
    s.push((
        "products".into(),
        format!(
            "adopters before + during the period (- dropped): {}",
            adoption.join(", ")
        ),
    ));
    let en = svc.orders.iter().filter(|o| o.lang == "en").count();
    s.push((
        "work orders".into(),
        format!(
            "{} ({} in English) handled by {} staff",
            svc.orders.len(),
            en,
            svc.staff.len()
        ),
    ));
    s
}

fn customer_truth(c: &geography::Customer) -> CustomerTruth {
    use geography::{PayHabit, Shape};
    CustomerTruth {
        customer_id: c.id.clone(),
        class: c.class.as_str(),
        archetype: match c.shape {
            Shape::Residential => "residential".to_string(),
            Shape::Office => "office".to_string(),
            Shape::Retail => "retail".to_string(),
            Shape::Shift(n) => format!("shift{n}"),
        },
        pay_habit: match c.pay {
            PayHabit::Prompt => "prompt",
            PayHabit::Late => "late",
            PayHabit::NonPayer => "non_payer",
        },
        churner: c.close_day.is_some(),
    }
}

/// Writes the truth as CSV text (header + rows) for evaluation files.
pub fn truth_csv(truth: &[TruthEvent]) -> String {
    fn field(s: &str) -> String {
        if s.contains([',', '"', '\n', '\r']) {
            format!("\"{}\"", s.replace('"', "\"\""))
        } else {
            s.to_string()
        }
    }
    let mut out = String::from("meter_id,customer_id,kind,start,end,start_ms,end_ms,param,note\n");
    for t in truth {
        out.push_str(&format!(
            "{},{},{},{},{},{},{},{},{}\n",
            field(&t.meter_id),
            field(&t.customer_id),
            field(&t.kind),
            format_utc(t.start_ms),
            format_utc(t.end_ms),
            t.start_ms,
            t.end_ms,
            t.param,
            field(&t.note)
        ));
    }
    out
}
