//! Properties of the demo utility, on small configurations.

use crate::calendar::{local_day_of, local_midnight_utc};
use crate::{
    DemoConfig, DemoUtility, MeterSeries, Stats, generate, generate_with_stats, truth_csv,
};
use gridmark_core::catalog::TABLES;
use gridmark_core::civil::days_from_civil;
use gridmark_core::{Column, Rows};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

type Run = (DemoUtility, Stats, Vec<MeterSeries>);

fn run(config: &DemoConfig) -> Run {
    let mut series = Vec::new();
    let (demo, stats) = generate_with_stats(config, |s| series.push(s));
    (demo, stats, series)
}

/// June–mid-August 2025: summer, the heat wave, the July price change, whole billing months.
fn summer() -> &'static Run {
    static RUN: OnceLock<Run> = OnceLock::new();
    RUN.get_or_init(|| {
        run(&DemoConfig {
            customers: 220,
            days: 75,
            seed: 7,
            start_date: (2025, 6, 1),
            interval_min: 15,
        })
    })
}

/// Around the 2025 Spring Festival.
fn winter() -> &'static Run {
    static RUN: OnceLock<Run> = OnceLock::new();
    RUN.get_or_init(|| {
        run(&DemoConfig {
            customers: 220,
            days: 28,
            seed: 11,
            start_date: (2025, 1, 13),
            interval_min: 15,
        })
    })
}

fn table<'a>(demo: &'a DemoUtility, name: &str) -> &'a Rows {
    demo.table(name)
        .unwrap_or_else(|| panic!("table {name} missing"))
}

fn col<'a>(rows: &'a Rows, name: &str) -> &'a Column {
    let (i, _) = rows.table.column(name).unwrap_or_else(|| panic!("{name}"));
    &rows.columns[i]
}

fn strs(rows: &Rows, name: &str) -> Vec<Option<String>> {
    match col(rows, name) {
        Column::Utf8(v) => v.clone(),
        c => panic!("{name} is {c:?}"),
    }
}

fn ints(rows: &Rows, name: &str) -> Vec<Option<i64>> {
    match col(rows, name) {
        Column::Int64(v) => v.clone(),
        Column::TimestampMs(v) => v.clone(),
        Column::Date(v) => v.iter().map(|x| x.map(i64::from)).collect(),
        c => panic!("{name} is {c:?}"),
    }
}

fn floats(rows: &Rows, name: &str) -> Vec<Option<f64>> {
    match col(rows, name) {
        Column::Float64(v) => v.clone(),
        c => panic!("{name} is {c:?}"),
    }
}

fn customer_classes(demo: &DemoUtility) -> BTreeMap<String, String> {
    let c = table(demo, "customers");
    strs(c, "customer_id")
        .into_iter()
        .zip(strs(c, "customer_class"))
        .map(|(a, b)| (a.unwrap(), b.unwrap()))
        .collect()
}

fn meter_of(customer_id: &str) -> String {
    format!("M{}", &customer_id[1..])
}

#[test]
fn same_config_same_bytes_other_seed_differs() {
    let cfg = DemoConfig {
        customers: 60,
        days: 20,
        seed: 5,
        ..Default::default()
    };
    let a = run(&cfg);
    let b = run(&cfg);
    assert_eq!(a.0, b.0);
    assert_eq!(a.2, b.2);
    assert_eq!(truth_csv(&a.0.truth), truth_csv(&b.0.truth));
    let c = run(&DemoConfig { seed: 6, ..cfg });
    assert_ne!(a.2, c.2);
    assert_ne!(table(&a.0, "customers"), table(&c.0, "customers"));
}

#[test]
fn every_table_is_present_and_filled() {
    let (demo, _, series) = summer();
    let names: BTreeSet<&str> = demo.tables.iter().map(|t| t.table.name).collect();
    let expected: BTreeSet<&str> = TABLES
        .iter()
        .map(|t| t.name)
        .filter(|n| *n != "readings" && *n != "meter_labels")
        .filter(|n| !gridmark_core::catalog::DERIVED.contains(n))
        .collect();
    assert_eq!(names, expected);
    assert_eq!(demo.tables.len(), expected.len());
    for t in &demo.tables {
        assert!(!t.is_empty(), "{} is empty", t.table.name);
        for c in &t.columns {
            assert_eq!(c.len(), t.len(), "{}", t.table.name);
        }
    }
    assert_eq!(series.len(), 220);
    assert_eq!(table(demo, "meters").len(), 220);
    assert!(demo.summary.iter().any(|(k, _)| k == "theft"));
    // a meter series is ascending, on the interval grid, starting at local midnight
    let t0 = local_midnight_utc(days_from_civil(2025, 6, 1));
    for s in series {
        assert_eq!(s.interval_s, 900);
        assert!(s.ts_ms.windows(2).all(|w| w[0] < w[1]), "{}", s.meter_id);
        assert!(s.ts_ms.iter().all(|t| (t - t0) % 900_000 == 0));
        assert_eq!(s.ts_ms.len(), s.kwh.len());
    }
    assert_eq!(t0, 1_748_707_200_000); // 2025-05-31T16:00:00Z
}

#[test]
fn area_supply_exceeds_true_consumption_by_technical_loss() {
    let (demo, stats, series) = summer();
    assert!(!stats.area_true.is_empty());
    for (t, s) in stats.area_true.iter().zip(&stats.area_supply) {
        let loss = s / t - 1.0;
        assert!((0.02..=0.06).contains(&loss), "loss {loss}");
    }
    // the table says the same as the stats
    let rows = table(demo, "area_supply");
    let mut by_area: BTreeMap<String, f64> = BTreeMap::new();
    for (a, k) in strs(rows, "area_id").into_iter().zip(floats(rows, "kwh")) {
        *by_area.entry(a.unwrap()).or_default() += k.unwrap();
    }
    let table_sums: Vec<f64> = by_area.values().copied().collect();
    for (a, b) in table_sums.iter().zip(&stats.area_supply) {
        assert!((a - b).abs() < 1e-6 * b.abs().max(1.0));
    }
    // areas with theft lose more against the recorded sum than their technical loss
    let thieves: BTreeSet<&str> = demo
        .truth
        .iter()
        .filter(|t| t.kind.starts_with("theft"))
        .map(|t| t.meter_id.as_str())
        .collect();
    assert!(!thieves.is_empty(), "no theft injected");
    let meters = table(demo, "meters");
    let area_of: BTreeMap<String, String> = strs(meters, "meter_id")
        .into_iter()
        .zip(strs(meters, "area_id"))
        .map(|(m, a)| (m.unwrap(), a.unwrap()))
        .collect();
    let mut recorded: BTreeMap<String, f64> = BTreeMap::new();
    for s in series {
        *recorded.entry(area_of[&s.meter_id].clone()).or_default() += s.kwh.iter().sum::<f64>();
    }
    let theft_areas: BTreeSet<&String> = thieves.iter().map(|m| &area_of[*m]).collect();
    for (i, (area, supply)) in by_area.iter().enumerate() {
        let apparent = supply / recorded[area] - 1.0;
        if theft_areas.contains(area)
            && !demo
                .truth
                .iter()
                .any(|t| t.kind == "spike" && area_of.get(&t.meter_id) == Some(area))
        {
            assert!(
                apparent > stats.area_supply[i] / stats.area_true[i] - 1.0,
                "{area}"
            );
        }
    }
}

#[test]
fn theft_lowers_the_recorded_series_only() {
    for (demo, stats, _) in [summer(), winter()] {
        let mut checked = 0;
        for t in demo.truth.iter().filter(|t| t.kind.starts_with("theft")) {
            let i: usize = t.meter_id[1..].parse::<usize>().unwrap() - 1;
            let other_fault = demo
                .truth
                .iter()
                .any(|u| u.meter_id == t.meter_id && (u.kind == "spike" || u.kind == "stuck"));
            if !other_fault {
                assert!(
                    stats.meter_recorded[i] < stats.meter_true[i],
                    "{}: {} vs {}",
                    t.meter_id,
                    stats.meter_recorded[i],
                    stats.meter_true[i]
                );
                checked += 1;
            }
            assert!((0.05..=0.5).contains(&t.param));
        }
        assert!(checked > 0);
    }
    // meters without any anomaly record their true consumption (up to rounding)
    let (demo, stats, _) = summer();
    let touched: BTreeSet<&str> = demo.truth.iter().map(|t| t.meter_id.as_str()).collect();
    for i in 0..stats.meter_true.len() {
        let m = format!("M{:07}", i + 1);
        if !touched.contains(m.as_str()) {
            assert!(
                (stats.meter_true[i] - stats.meter_recorded[i]).abs()
                    < 0.01 * 96.0 * 75.0 * 0.001 + 1e-6 + 0.001 * 7200.0,
                "{m}"
            );
        }
    }
}

fn daily_by_class(run: &Run, class: &str) -> BTreeMap<i64, f64> {
    let (demo, _, series) = run;
    let classes = customer_classes(demo);
    let anomalous: BTreeSet<&str> = demo.truth.iter().map(|t| t.meter_id.as_str()).collect();
    let mut daily: BTreeMap<i64, f64> = BTreeMap::new();
    for s in series {
        let cid = format!("C{}", &s.meter_id[1..]);
        if classes[&cid] != class || anomalous.contains(s.meter_id.as_str()) {
            continue;
        }
        for (t, k) in s.ts_ms.iter().zip(&s.kwh) {
            *daily.entry(local_day_of(*t)).or_default() += k;
        }
    }
    daily
}

#[test]
fn holidays_lower_commercial_load() {
    let run = winter();
    let daily = daily_by_class(run, "commercial");
    let hol = table(&run.0, "holidays");
    let kinds: BTreeMap<i64, String> = ints(hol, "day")
        .into_iter()
        .zip(strs(hol, "kind"))
        .map(|(d, k)| (d.unwrap(), k.unwrap()))
        .collect();
    let is_workday = |d: i64| match kinds.get(&d).map(String::as_str) {
        Some("holiday") => false,
        Some(_) => true,
        None => crate::calendar::weekday(d) < 5,
    };
    let (mut h, mut w) = (vec![], vec![]);
    for (d, v) in &daily {
        if kinds.get(d).map(String::as_str) == Some("holiday") {
            h.push(*v);
        } else if is_workday(*d) {
            w.push(*v);
        }
    }
    assert!(
        h.len() >= 7 && w.len() >= 10,
        "{} holidays, {} workdays",
        h.len(),
        w.len()
    );
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    assert!(
        mean(&h) < 0.75 * mean(&w),
        "holiday {} vs workday {}",
        mean(&h),
        mean(&w)
    );
    // 2025-01-26 (Sunday) is an official working day
    assert_eq!(
        kinds.get(&days_from_civil(2025, 1, 26)).map(String::as_str),
        Some("workday_swap")
    );
}

#[test]
fn residential_load_follows_summer_temperature() {
    let run = summer();
    let daily = daily_by_class(run, "residential");
    let series = table(&run.0, "series");
    let mut temp: BTreeMap<i64, (f64, f64)> = BTreeMap::new();
    for ((id, ts), v) in strs(series, "series_id")
        .into_iter()
        .zip(ints(series, "ts"))
        .zip(floats(series, "value"))
    {
        if id.unwrap().starts_with("weather.temp_c.") {
            let e = temp.entry(local_day_of(ts.unwrap())).or_default();
            e.0 += v.unwrap();
            e.1 += 1.0;
        }
    }
    let pairs: Vec<(f64, f64)> = daily
        .iter()
        .map(|(d, v)| (temp[d].0 / temp[d].1, *v))
        .collect();
    let n = pairs.len() as f64;
    let (mx, my) = (
        pairs.iter().map(|p| p.0).sum::<f64>() / n,
        pairs.iter().map(|p| p.1).sum::<f64>() / n,
    );
    let cov: f64 = pairs.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    let vx: f64 = pairs.iter().map(|p| (p.0 - mx).powi(2)).sum();
    let vy: f64 = pairs.iter().map(|p| (p.1 - my).powi(2)).sum();
    let r = cov / (vx * vy).sqrt();
    assert!(r > 0.6, "correlation {r}");
    assert!(mx > 22.0 && mx < 32.0, "summer mean temperature {mx}");
}

/// Independent pricing from the `tariffs` table rows.
fn expected_amount(
    tariffs: &Rows,
    tariff: &str,
    day: i64,
    month: u32,
    slot_kwh: &[f64],
) -> (i64, i64) {
    let ids = strs(tariffs, "tariff");
    let from = ints(tariffs, "effective_from");
    let to = ints(tariffs, "effective_to");
    let kind = strs(tariffs, "kind");
    let comp = strs(tariffs, "component");
    let upper = floats(tariffs, "tier_upper_kwh");
    let months = strs(tariffs, "months");
    let start = ints(tariffs, "start_min");
    let end = ints(tariffs, "end_min");
    let price = ints(tariffs, "price_e4");
    let rows: Vec<usize> = (0..tariffs.len())
        .filter(|&i| {
            ids[i].as_deref() == Some(tariff)
                && from[i].unwrap() <= day
                && to[i].is_none_or(|t| day < t)
        })
        .collect();
    assert!(!rows.is_empty(), "{tariff}");
    let in_months = |spec: &str| {
        spec.split(',').any(|p| {
            let (a, b) = p.split_once('-').unwrap();
            (a.parse::<u32>().unwrap()..=b.parse().unwrap()).contains(&month)
        })
    };
    let centi = |k: f64| ((k * 100.0).round() as i64).max(0);
    let mut parts: Vec<(i64, i64)> = Vec::new(); // (centi-kWh, price)
    match kind[rows[0]].as_deref().unwrap() {
        "tou" => {
            let mut by: BTreeMap<String, (f64, i64)> = BTreeMap::new();
            for (s, k) in slot_kwh.iter().enumerate() {
                let minute = s as i64 * 15;
                let i = *rows
                    .iter()
                    .find(|&&i| {
                        in_months(months[i].as_deref().unwrap())
                            && start[i].unwrap() <= minute
                            && minute < end[i].unwrap()
                    })
                    .expect("window");
                let e = by
                    .entry(comp[i].clone().unwrap())
                    .or_insert((0.0, price[i].unwrap()));
                e.0 += k;
            }
            parts.extend(by.values().map(|(k, p)| (centi(*k), *p)));
        }
        "tiered" => {
            let mut total = centi(slot_kwh.iter().sum());
            let mut tiers: Vec<(i64, i64)> = rows
                .iter()
                .map(|&i| {
                    (
                        upper[i].map_or(i64::MAX, |u| (u * 100.0) as i64),
                        price[i].unwrap(),
                    )
                })
                .collect();
            tiers.sort();
            let mut lower = 0;
            for (u, p) in tiers {
                let take = total.min(u - lower);
                parts.push((take, p));
                total -= take;
                lower = u;
            }
        }
        _ => parts.push((centi(slot_kwh.iter().sum()), price[rows[0]].unwrap())),
    }
    let e6: i64 = parts.iter().map(|(k, p)| k * p).sum();
    (parts.iter().map(|p| p.0).sum(), (e6 + 5000) / 10_000)
}

#[test]
fn bills_follow_the_tariff_arithmetic() {
    let (demo, _, series) = summer();
    let tariffs = table(demo, "tariffs");
    let bills = table(demo, "bills");
    let erroneous: BTreeSet<String> = demo
        .truth
        .iter()
        .filter(|t| t.kind == "bill_error")
        .map(|t| t.note.split(' ').nth(1).unwrap().to_string())
        .collect();
    let by_meter: BTreeMap<&str, &MeterSeries> =
        series.iter().map(|s| (s.meter_id.as_str(), s)).collect();
    let ids = strs(bills, "bill_id");
    let cust = strs(bills, "customer_id");
    let period = strs(bills, "period");
    let kwh = floats(bills, "kwh");
    let amount = ints(bills, "amount_fen");
    let tariff = strs(bills, "tariff");
    let issue = ints(bills, "issue_date");
    let due = ints(bills, "due_date");
    let mut checked: BTreeMap<String, usize> = BTreeMap::new();
    let mut errors_seen = 0;
    for i in 0..bills.len() {
        let (y, m): (i64, u32) = {
            let p = period[i].as_deref().unwrap();
            (p[..4].parse().unwrap(), p[5..].parse().unwrap())
        };
        let first = days_from_civil(y, m, 1).max(days_from_civil(2025, 6, 1));
        let next = if m == 12 {
            days_from_civil(y + 1, 1, 1)
        } else {
            days_from_civil(y, m + 1, 1)
        };
        assert!(issue[i].unwrap() > next - 1 && due[i].unwrap() - issue[i].unwrap() >= 15);
        let s = by_meter[meter_of(cust[i].as_deref().unwrap()).as_str()];
        let mut slots = vec![0.0; 96];
        let mut first_active = None;
        for (t, k) in s.ts_ms.iter().zip(&s.kwh) {
            let d = local_day_of(*t);
            if d >= first && d < next {
                first_active.get_or_insert(d);
                slots[((t - local_midnight_utc(d)) / 900_000) as usize] += k;
            }
        }
        let id = ids[i].clone().unwrap();
        if erroneous.contains(&id) {
            errors_seen += 1;
            continue;
        }
        let t = tariff[i].as_deref().unwrap();
        let (centi, fen) = expected_amount(tariffs, t, first_active.unwrap_or(first), m, &slots);
        assert!(
            (centi as f64 / 100.0 - kwh[i].unwrap()).abs() < 0.0201,
            "{id} kwh {} vs {}",
            centi,
            kwh[i].unwrap()
        );
        assert!(
            (fen - amount[i].unwrap()).abs() <= 1,
            "{id} {t}: {fen} vs {}",
            amount[i].unwrap()
        );
        *checked.entry(t.to_string()).or_default() += 1;
    }
    for t in ["RES_TIER", "COM_TOU", "COM_FLAT", "IND_TOU"] {
        assert!(
            checked.get(t).copied().unwrap_or(0) > 0,
            "no {t} bill checked: {checked:?}"
        );
    }
    assert_eq!(errors_seen, erroneous.len());
    // statuses agree with payments
    let pays = table(demo, "payments");
    let mut paid: BTreeMap<String, i64> = BTreeMap::new();
    for (b, a) in strs(pays, "bill_id")
        .into_iter()
        .zip(ints(pays, "amount_fen"))
    {
        *paid.entry(b.unwrap()).or_default() += a.unwrap();
    }
    let status = strs(bills, "status");
    for i in 0..bills.len() {
        let p = paid.get(ids[i].as_deref().unwrap()).copied().unwrap_or(0);
        let want = if p >= amount[i].unwrap() {
            "paid"
        } else if p > 0 {
            "partial"
        } else {
            "unpaid"
        };
        assert_eq!(status[i].as_deref(), Some(want));
    }
}

#[test]
fn work_order_text_is_mixed_chinese_and_english() {
    let (demo, _, _) = summer();
    let wo = table(demo, "work_orders");
    let lang = strs(wo, "language");
    let text = strs(wo, "text");
    let n = lang.len() as f64;
    assert!(n > 50.0, "{n} work orders");
    let en = lang.iter().filter(|l| l.as_deref() == Some("en")).count() as f64;
    assert!((0.04..0.35).contains(&(en / n)), "English share {}", en / n);
    let cjk = |s: &str| s.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c));
    for (l, t) in lang.iter().zip(&text) {
        let t = t.as_deref().unwrap();
        match l.as_deref() {
            Some("zh") => assert!(cjk(t), "{t}"),
            _ => assert!(!cjk(t), "{t}"),
        }
    }
    let all: String = text.iter().flatten().cloned().collect();
    for w in ["电费", "停电"] {
        assert!(all.contains(w), "{w}");
    }
    assert!(all.contains('不') || all.contains("没有"));
    let distinct: BTreeSet<&Option<String>> = text.iter().collect();
    assert!(
        distinct.len() as f64 > 0.3 * n,
        "{} distinct texts",
        distinct.len()
    );
    // kinds and categories vary, praise and complaints both exist
    let kinds: BTreeSet<String> = strs(wo, "kind").into_iter().flatten().collect();
    assert!(
        kinds.contains("complaint") && kinds.contains("consultation"),
        "{kinds:?}"
    );
    // the heat-wave outage burst is in one region and one week
    let created = ints(wo, "created_at");
    let cat = strs(wo, "category");
    let hw = local_midnight_utc(days_from_civil(2025, 7, 10));
    let burst = (0..wo.len())
        .filter(|&i| {
            cat[i].as_deref() == Some("outage")
                && created[i].unwrap() >= hw
                && created[i].unwrap() < hw + 8 * 86_400_000
        })
        .count();
    let weeks = 75.0 / 7.0;
    let all_outage = cat
        .iter()
        .filter(|c| c.as_deref() == Some("outage"))
        .count() as f64;
    assert!(
        burst as f64 > 2.0 * all_outage / weeks,
        "burst {burst} of {all_outage}"
    );
}

#[test]
fn churners_stop_and_solar_exports() {
    let (demo, _, series) = summer();
    let c = table(demo, "customers");
    let close = ints(c, "close_date");
    let ids = strs(c, "customer_id");
    let by_meter: BTreeMap<&str, &MeterSeries> =
        series.iter().map(|s| (s.meter_id.as_str(), s)).collect();
    let mut churned = 0;
    for (id, cl) in ids.iter().zip(&close) {
        if let Some(cl) = cl {
            churned += 1;
            let s = by_meter[meter_of(id.as_deref().unwrap()).as_str()];
            assert!(s.ts_ms.last().is_none_or(|t| *t < local_midnight_utc(*cl)));
        }
    }
    assert!(churned > 0);
    let p = table(demo, "products");
    let solar: Vec<String> = strs(p, "customer_id")
        .into_iter()
        .zip(strs(p, "product"))
        .zip(ints(p, "start_date"))
        .filter(|((_, pr), st)| {
            pr.as_deref() == Some("rooftop_solar") && st.unwrap() < days_from_civil(2025, 6, 1)
        })
        .map(|((c, _), _)| c.unwrap())
        .collect();
    assert!(!solar.is_empty(), "no solar adopters");
    for c in &solar {
        let s = by_meter[meter_of(c).as_str()];
        assert!(s.kwh.iter().any(|k| *k < 0.0), "{c} never exports");
    }
    let products: BTreeSet<String> = strs(p, "product").into_iter().flatten().collect();
    assert_eq!(products.len(), 5, "{products:?}");
    assert!(
        ints(p, "end_date").iter().any(Option::is_some),
        "no declining product"
    );
}

#[test]
fn truth_csv_has_a_row_per_event() {
    let (demo, _, _) = winter();
    let csv = truth_csv(&demo.truth);
    let lines: Vec<&str> = csv.lines().collect();
    assert!(lines[0].starts_with("meter_id,customer_id,kind,start,end"));
    assert_eq!(lines.len(), demo.truth.len() + 1);
    assert!(demo.truth.iter().all(|t| t.start_ms < t.end_ms));
}

#[test]
#[ignore = "timing of the default configuration; run in release"]
fn default_config_timing() {
    let t = std::time::Instant::now();
    let mut n = 0usize;
    let demo = generate(&DemoConfig::default(), |s| n += s.kwh.len());
    let dt = t.elapsed();
    println!(
        "{n} readings in {dt:?} ({:.1} ns/reading)",
        dt.as_nanos() as f64 / n as f64
    );
    for (k, v) in &demo.summary {
        println!("{k}: {v}");
    }
}

/// A whole year, hourly, for the slow processes: churn, diffusion, service, drift.
fn year() -> &'static Run {
    static RUN: OnceLock<Run> = OnceLock::new();
    RUN.get_or_init(|| {
        run(&DemoConfig {
            customers: 500,
            days: 365,
            seed: 3,
            start_date: (2025, 1, 1),
            interval_min: 60,
        })
    })
}

#[test]
fn a_year_of_customers_churn_adopt_and_call() {
    let (demo, _, series) = year();
    let start = days_from_civil(2025, 1, 1);
    let c = table(demo, "customers");
    let n = c.len() as f64;
    let share = |v: usize| v as f64 / n;
    let close = ints(c, "close_date");
    let open = ints(c, "open_date");
    let churn = share(close.iter().filter(|x| x.is_some()).count());
    assert!((0.02..0.09).contains(&churn), "churn {churn}");
    let new = share(open.iter().filter(|x| x.unwrap() >= start).count());
    assert!((0.02..0.09).contains(&new), "new connections {new}");
    let res = share(
        strs(c, "customer_class")
            .iter()
            .filter(|x| x.as_deref() == Some("residential"))
            .count(),
    );
    assert!((0.78..0.92).contains(&res), "residential {res}");
    // hourly series of a new connection start at its open date
    let ids = strs(c, "customer_id");
    for i in 0..c.len() {
        if open[i].unwrap() > start {
            let s = &series[i];
            assert_eq!(s.meter_id, meter_of(ids[i].as_deref().unwrap()));
            assert!(s.ts_ms[0] >= local_midnight_utc(open[i].unwrap()));
            assert_eq!(s.interval_s, 3600);
        }
    }

    // products: stages and imitation through the graph
    let p = table(demo, "products");
    let pc = strs(p, "customer_id");
    let pp = strs(p, "product");
    let ps = ints(p, "start_date");
    let pe = ints(p, "end_date");
    let of = |name: &str| -> Vec<usize> {
        (0..p.len())
            .filter(|&i| pp[i].as_deref() == Some(name))
            .collect()
    };
    assert!(share(of("e_billing").len()) > 0.5, "e_billing is mature");
    let ev: Vec<usize> = of("ev_charging");
    assert!(
        !ev.is_empty() && ev.iter().all(|&i| ps[i].unwrap() >= start - 42),
        "ev_charging just introduced"
    );
    let sh_new = of("smart_home")
        .into_iter()
        .filter(|&i| ps[i].unwrap() >= start)
        .count();
    let sh_end = of("smart_home")
        .into_iter()
        .filter(|&i| pe[i].is_some())
        .count();
    assert!(
        sh_end > 2 * sh_new.max(1),
        "smart_home declines: {sh_new} new, {sh_end} ended"
    );
    let tou_new = of("tou_plan")
        .into_iter()
        .filter(|&i| ps[i].unwrap() >= start)
        .count();
    let tou_old = of("tou_plan")
        .into_iter()
        .filter(|&i| ps[i].unwrap() < start)
        .count();
    assert!(tou_new > 0 && tou_old > 0, "tou_plan grows");
    let r = table(demo, "relations");
    let (src, dst) = (strs(r, "src_customer_id"), strs(r, "dst_customer_id"));
    let mut friends: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (a, b) in src.iter().zip(&dst) {
        friends
            .entry(a.as_deref().unwrap())
            .or_default()
            .push(b.as_deref().unwrap());
        friends
            .entry(b.as_deref().unwrap())
            .or_default()
            .push(a.as_deref().unwrap());
    }
    let degrees: Vec<usize> = friends.values().map(Vec::len).collect();
    let mean_deg = degrees.iter().sum::<usize>() as f64 / degrees.len() as f64;
    let max_deg = *degrees.iter().max().unwrap() as f64;
    assert!(
        max_deg > 5.0 * mean_deg,
        "heavy tail: max {max_deg}, mean {mean_deg}"
    );
    let (mut with, mut without) = ((0, 0), (0, 0));
    for prod in ["tou_plan", "ev_charging", "rooftop_solar", "e_billing"] {
        let before: BTreeSet<&str> = of(prod)
            .into_iter()
            .filter(|&i| ps[i].unwrap() < start)
            .map(|i| pc[i].as_deref().unwrap())
            .collect();
        let during: BTreeSet<&str> = of(prod)
            .into_iter()
            .filter(|&i| ps[i].unwrap() >= start)
            .map(|i| pc[i].as_deref().unwrap())
            .collect();
        for id in ids
            .iter()
            .flatten()
            .filter(|id| !before.contains(id.as_str()))
        {
            let exposed = friends
                .get(id.as_str())
                .is_some_and(|f| f.iter().any(|x| before.contains(x)));
            let g = if exposed { &mut with } else { &mut without };
            g.0 += during.contains(id.as_str()) as usize;
            g.1 += 1;
        }
    }
    let rate = |g: (usize, usize)| g.0 as f64 / g.1.max(1) as f64;
    assert!(
        rate(with) > 1.3 * rate(without),
        "imitation: {} vs {}",
        rate(with),
        rate(without)
    );

    // service volume, the tariff-change bump and fault / bill-error complaints
    let wo = table(demo, "work_orders");
    let per_customer = wo.len() as f64 / n;
    assert!(
        (0.4..1.8).contains(&per_customer),
        "{per_customer} work orders per customer-year"
    );
    let kind = strs(wo, "kind");
    let cat = strs(wo, "category");
    let created = ints(wo, "created_at");
    let wcust = strs(wo, "customer_id");
    let aug = local_midnight_utc(days_from_civil(2025, 8, 1))
        ..local_midnight_utc(days_from_civil(2025, 9, 1));
    let tariff_complaints: Vec<i64> = (0..wo.len())
        .filter(|&i| kind[i].as_deref() == Some("complaint") && cat[i].as_deref() == Some("tariff"))
        .map(|i| created[i].unwrap())
        .collect();
    let in_aug = tariff_complaints.iter().filter(|t| aug.contains(t)).count();
    assert!(
        in_aug > 0 && in_aug * 2 > tariff_complaints.len(),
        "tariff bump {in_aug} of {}",
        tariff_complaints.len()
    );
    let complained = |cust: &str, category: &str, from: i64, days: i64| {
        (0..wo.len()).any(|i| {
            wcust[i].as_deref() == Some(cust)
                && cat[i].as_deref() == Some(category)
                && created[i].unwrap() >= from
                && created[i].unwrap() < from + days * 86_400_000
        })
    };
    let bills = table(demo, "bills");
    let (bid, bissue) = (strs(bills, "bill_id"), ints(bills, "issue_date"));
    let over: Vec<_> = demo
        .truth
        .iter()
        .filter(|t| t.kind == "bill_error" && t.param > 1.0)
        .collect();
    assert!(!over.is_empty());
    let followed = over
        .iter()
        .filter(|t| {
            let id = t.note.split(' ').nth(1).unwrap();
            let i = bid.iter().position(|b| b.as_deref() == Some(id)).unwrap();
            complained(
                &t.customer_id,
                "billing",
                local_midnight_utc(bissue[i].unwrap()),
                12,
            )
        })
        .count();
    assert!(
        followed * 2 > over.len(),
        "{followed} of {} over-billed customers complained",
        over.len()
    );
    let faults: Vec<_> = demo
        .truth
        .iter()
        .filter(|t| ["stuck", "gap", "zero_run"].contains(&t.kind.as_str()))
        .collect();
    if faults.len() >= 4 {
        let linked = faults
            .iter()
            .filter(|t| complained(&t.customer_id, "metering", t.end_ms, 8))
            .count();
        assert!(
            linked > 0,
            "no metering complaint after {} faults",
            faults.len()
        );
    }

    // arrears of chronic non-payers, drift to digital channels, queues in under-served halls
    let (bcust, bstatus) = (strs(bills, "customer_id"), strs(bills, "status"));
    let mut unpaid: BTreeMap<&str, usize> = BTreeMap::new();
    for (cu, st) in bcust.iter().zip(&bstatus) {
        if st.as_deref() == Some("unpaid") {
            *unpaid.entry(cu.as_deref().unwrap()).or_default() += 1;
        }
    }
    assert!(unpaid.values().any(|&u| u >= 4), "no growing arrears");
    let ce = table(demo, "channel_events");
    let (ch, ts, dur) = (strs(ce, "channel"), ints(ce, "ts"), ints(ce, "duration_s"));
    let q = |from: i64, to: i64| {
        let idx: Vec<usize> = (0..ce.len())
            .filter(|&i| (from..to).contains(&ts[i].unwrap()))
            .collect();
        let digital = idx
            .iter()
            .filter(|&&i| matches!(ch[i].as_deref(), Some("app" | "web" | "wechat")))
            .count();
        digital as f64 / idx.len() as f64
    };
    let m = |mo: u32| local_midnight_utc(days_from_civil(2025, mo, 1));
    assert!(
        q(m(10), m(12) + 31 * 86_400_000) > q(m(1), m(4)) + 0.03,
        "no drift to digital"
    );
    let region_of: BTreeMap<&str, &str> = ids
        .iter()
        .zip(strs(c, "region").leak().iter())
        .map(|(a, b)| (a.as_deref().unwrap(), b.as_deref().unwrap()))
        .collect();
    let ecust = strs(ce, "customer_id");
    let hall_wait = |crowded: bool| {
        let v: Vec<i64> = (0..ce.len())
            .filter(|&i| {
                ch[i].as_deref() == Some("hall")
                    && (region_of[ecust[i].as_deref().unwrap()] == "xiaoshan") == crowded
            })
            .map(|i| dur[i].unwrap())
            .collect();
        v.iter().sum::<i64>() as f64 / v.len() as f64
    };
    assert!(hall_wait(true) > 1.5 * hall_wait(false), "hall queues");

    // surveys: complaints are rated lower than consultations and praise
    let sv = table(demo, "surveys");
    let (so, sc) = (strs(sv, "order_id"), ints(sv, "csat"));
    let oid = strs(wo, "order_id");
    let kind_of: BTreeMap<&str, &str> = oid
        .iter()
        .zip(&kind)
        .map(|(a, b)| (a.as_deref().unwrap(), b.as_deref().unwrap()))
        .collect();
    let mean_csat = |ks: &[&str]| {
        let v: Vec<i64> = (0..sv.len())
            .filter(|&i| so[i].as_deref().is_some_and(|o| ks.contains(&kind_of[o])))
            .map(|i| sc[i].unwrap())
            .collect();
        v.iter().sum::<i64>() as f64 / v.len() as f64
    };
    assert!(mean_csat(&["complaint"]) + 0.8 < mean_csat(&["consultation", "praise"]));
}

#[test]
#[ignore = "prints samples of every table for a human look"]
fn print_samples() {
    let (demo, _, series) = year();
    for t in &demo.tables {
        println!("== {} ({} rows)", t.table.name, t.len());
        let step = (t.len() / 6).max(1);
        for r in (0..t.len()).step_by(step).take(6) {
            let cells: Vec<String> = t
                .columns
                .iter()
                .map(|c| match c {
                    Column::Utf8(v) => format!("{:?}", v[r]),
                    Column::Int64(v) | Column::TimestampMs(v) => format!("{:?}", v[r]),
                    Column::Float64(v) => format!("{:?}", v[r]),
                    Column::Date(v) => format!(
                        "{:?}",
                        v[r].map(|d| gridmark_core::civil::format_date(d as i64))
                    ),
                    Column::Bool(v) => format!("{:?}", v[r]),
                })
                .collect();
            println!("  {}", cells.join(" | "));
        }
    }
    for (k, v) in &demo.summary {
        println!("{k}: {v}");
    }
    let wo = table(demo, "work_orders");
    for t in strs(wo, "text").iter().step_by(7).take(40) {
        println!("  text: {}", t.as_deref().unwrap());
    }
    let bills = table(demo, "bills");
    let classes = customer_classes(demo);
    for class in ["residential", "commercial", "industrial"] {
        let mut k: Vec<f64> = strs(bills, "customer_id")
            .iter()
            .zip(floats(bills, "kwh"))
            .filter(|(c, _)| classes[c.as_deref().unwrap()] == class)
            .map(|(_, k)| k.unwrap())
            .collect();
        k.sort_by(f64::total_cmp);
        println!(
            "{class}: median monthly bill {} kWh, p90 {}",
            k[k.len() / 2],
            k[k.len() * 9 / 10]
        );
    }
    let s = &series[0];
    println!("{} first day: {:?}", s.meter_id, &s.kwh[..24]);
    print!("{}", &truth_csv(&demo.truth)[..1500]);
}
