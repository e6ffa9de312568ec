//! `gridmark forecast` through the command line: `run` and `backtest` on a small demo utility
//! (coherent, nested intervals, better than naive over holiday weeks, clear errors) and `eval`
//! on generated files in each protocol's layout. The real-data figures are in
//! docs/evaluation.md, measured in release.

mod common;

use common::{civil, date, demo, fails, gridmark, ok};

#[test]
fn ett_protocol_on_a_daily_cycle_beats_repeating_the_last_value() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cycle.csv");
    let mut text = String::from("date,A,B\n");
    let mut x = 7u64;
    for t in 0..17_420 {
        x = x
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let noise = ((x >> 33) as f64 / (1u64 << 31) as f64 - 0.5) * 0.2;
        let day = (t as f64 * std::f64::consts::TAU / 24.0).sin();
        text.push_str(&format!(
            "t{t},{:.4},{:.4}\n",
            10.0 + day + noise,
            5.0 - 2.0 * day + noise
        ));
    }
    std::fs::write(&path, text).unwrap();
    let out = gridmark(&[
        "forecast",
        "eval",
        "--input",
        path.to_str().unwrap(),
        "--horizons",
        "24,48",
        "--lookback",
        "48",
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let scores: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for h in ["24", "48"] {
        let mse = scores[h]["mse"].as_f64().unwrap();
        // Standardised noise alone is ~0.02 of the variance; a model that missed the cycle
        // would score near 1 or worse.
        assert!(mse < 0.1, "horizon {h}: mse {mse}");
        assert!(scores[h]["mae"].as_f64().unwrap() > 0.0);
    }
}

#[test]
fn bad_inputs_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let short = dir.path().join("short.csv");
    std::fs::write(&short, "date,A\n1,2\n2,3\n").unwrap();
    let out = gridmark(&["forecast", "eval", "--input", short.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("needs at least 14400 rows"));
    let holes = dir.path().join("holes.csv");
    std::fs::write(&holes, "date,A\n1,2\n2,\n").unwrap();
    let out = gridmark(&["forecast", "eval", "--input", holes.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("holes.csv: line 3: column `A`"));
    let out = gridmark(&[
        "forecast",
        "eval",
        "--input",
        short.to_str().unwrap(),
        "--horizons",
        "96,x",
    ]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("--horizons 96,x"));
}

#[test]
fn forecast_run_on_the_demo_is_coherent_with_intervals_and_close_to_what_happened() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let lake_s = lake.to_str().unwrap();
    demo(lake_s, 200, 150, 5);
    // As a user would: validate first, so the injected meter faults do not become "demand".
    ok(&["--data", lake_s, "vee", "run"]);
    let html = dir.path().join("fc.html");
    let csv = dir.path().join("fc.csv");
    let out = ok(&[
        "--data",
        lake_s,
        "forecast",
        "run",
        "--level",
        "area",
        "--horizon",
        "1w",
        "--origin",
        "2025-05-10",
        "--backtests",
        "4",
        "--html",
        html.to_str().unwrap(),
        "--out",
        csv.to_str().unwrap(),
        "--json",
    ]);
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["horizon_days"], 7);
    let levels: Vec<&str> = doc["levels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["level"].as_str().unwrap())
        .collect();
    assert_eq!(levels, vec!["total", "region", "area"]);
    for l in doc["levels"].as_array().unwrap() {
        for m in ["snaive", "ets", "mstl", "linear", "gbdt"] {
            assert!(
                l["methods"][m]["mae"].as_f64().unwrap() > 0.0,
                "{m} at {}",
                l["level"]
            );
        }
    }
    // The backtest weeks hold Qingming and the May Day holidays with a working Sunday: the
    // calendar model must beat last week's values by a wide margin on the utility's total.
    let total = &doc["levels"][0]["methods"];
    let (gbdt, naive) = (
        total["gbdt"]["mape"].as_f64().unwrap(),
        total["snaive"]["mape"].as_f64().unwrap(),
    );
    assert!(
        gbdt < 12.0 && gbdt < naive / 2.0,
        "total backtest MAPE gbdt {gbdt} snaive {naive}"
    );
    let fc = doc["forecasts"].as_array().unwrap();
    assert!(!fc.is_empty());
    for f in fc {
        for d in f["days"].as_array().unwrap() {
            let (k, lo80, hi80, lo95, hi95) = (
                d["kwh"].as_f64().unwrap(),
                d["lo80"].as_f64().unwrap(),
                d["hi80"].as_f64().unwrap(),
                d["lo95"].as_f64().unwrap(),
                d["hi95"].as_f64().unwrap(),
            );
            assert!(
                lo95 <= lo80 && lo80 <= k && k <= hi80 && hi80 <= hi95,
                "{d}"
            );
            assert!(
                d["actual"].as_f64().is_some(),
                "the origin is inside the data: {d}"
            );
        }
    }
    // The table adds up: every region equals the sum of its areas, the total the sum of regions.
    let gaps = ok(&[
        "--data",
        lake_s,
        "sql",
        "--format",
        "csv",
        "WITH f AS (SELECT * FROM forecasts), \
         r AS (SELECT f.day, f.node_id AS region, f.kwh, (SELECT sum(a.kwh) FROM f a JOIN areas x ON a.node_id = x.area_id \
               WHERE a.level = 'area' AND x.region = f.node_id AND a.day = f.day) AS areas FROM f WHERE f.level = 'region') \
         SELECT max(abs(kwh - areas)) AS gap, count(*) AS n FROM r",
    ]);
    let row: Vec<f64> = gaps
        .lines()
        .nth(1)
        .unwrap()
        .split(',')
        .map(|v| v.parse().unwrap())
        .collect();
    assert!(row[1] >= 7.0, "{gaps}");
    assert!(row[0] < 1e-6, "regions do not add up: {gaps}");
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("<svg") && page.contains("Backtest — area"));
    let text = std::fs::read_to_string(&csv).unwrap();
    assert!(text.starts_with("level,node_id,model,day,step,kwh,lo80,hi80,lo95,hi95,actual"));

    // A future forecast has no actuals; the backtest alone commits nothing.
    let out = ok(&[
        "--data",
        lake_s,
        "forecast",
        "run",
        "--level",
        "total",
        "--horizon",
        "3",
        "--methods",
        "snaive,ets",
        "--json",
    ]);
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["origin"], "2025-05-31");
    assert!(doc["forecasts"][0]["days"][0]["actual"].is_null());
    let before = ok(&[
        "--data",
        lake_s,
        "sql",
        "--format",
        "csv",
        "SELECT count(*) AS n FROM forecasts",
    ]);
    let out = ok(&[
        "--data",
        lake_s,
        "forecast",
        "backtest",
        "--level",
        "customer",
        "--horizon",
        "7d",
        "--backtests",
        "2",
    ]);
    assert!(out.contains("customer — 200 series"), "{out}");
    assert!(out.contains("chosen per series"));
    let after = ok(&[
        "--data",
        lake_s,
        "sql",
        "--format",
        "csv",
        "SELECT count(*) AS n FROM forecasts",
    ]);
    assert_eq!(before, after);

    // Bad requests are named.
    assert!(
        fails(&["--data", lake_s, "forecast", "run", "--horizon", "0d"]).contains("--horizon 0d")
    );
    assert!(
        fails(&["--data", lake_s, "forecast", "run", "--horizon", "soon"])
            .contains("--horizon soon")
    );
    assert!(
        fails(&[
            "--data",
            lake_s,
            "forecast",
            "run",
            "--methods",
            "ets,prophet"
        ])
        .contains("`prophet`")
    );
    assert!(
        fails(&[
            "--data",
            lake_s,
            "forecast",
            "run",
            "--origin",
            "2030-01-01"
        ])
        .contains("outside the data")
    );
    assert!(
        fails(&[
            "--data",
            lake_s,
            "forecast",
            "run",
            "--origin",
            "2025-02-01"
        ])
        .contains("backtest origins")
    );
    let empty = dir.path().join("empty");
    let holidays = dir.path().join("holidays.csv");
    std::fs::write(&holidays, "day,name,kind\n2025-01-01,New Year,holiday\n").unwrap();
    ok(&[
        "--data",
        empty.to_str().unwrap(),
        "import",
        "holidays",
        holidays.to_str().unwrap(),
    ]);
    assert!(fails(&["--data", empty.to_str().unwrap(), "forecast", "run"]).contains("no readings"));
}

#[test]
fn day_ahead_and_households_protocols_on_generated_files() {
    let dir = tempfile::tempdir().unwrap();
    // 60 days of half-hourly load driven by temperature and the time of day.
    let vic = dir.path().join("vic.csv");
    let mut text = String::from("time_utc,time_local,Demand,Temperature,Date,Holiday\n");
    let start = 15_340i64; // 2012-01-01
    for d in 0..60 {
        let temp_day = 20.0 + 8.0 * ((d * 7919 % 13) as f64 / 13.0 - 0.5);
        for hh in 0..48 {
            let ms = (start + d) * 86_400_000 + hh * 1_800_000;
            let secs = ms / 1000;
            let (y, m, dd) = civil(secs.div_euclid(86_400));
            let rem = secs.rem_euclid(86_400);
            let temp = temp_day + 3.0 * ((hh as f64 - 30.0) / 48.0 * std::f64::consts::TAU).cos();
            let load = 4000.0
                + 800.0 * (hh as f64 / 48.0 * std::f64::consts::TAU).sin()
                + 60.0 * (temp - 20.0).powi(2) / 4.0;
            text.push_str(&format!(
                "{y:04}-{m:02}-{dd:02}T{:02}:{:02}:00Z,x,{load:.2},{temp:.2},{},{}\n",
                rem / 3600,
                rem % 3600 / 60,
                date(start + d),
                if d == 25 { "True" } else { "False" }
            ));
        }
    }
    std::fs::write(&vic, text).unwrap();
    let table = dir.path().join("table.csv");
    let out = ok(&[
        "forecast",
        "eval",
        "--protocol",
        "day-ahead",
        "--input",
        vic.to_str().unwrap(),
        "--test-days",
        "7",
        "--peer-out",
        table.to_str().unwrap(),
        "--json",
    ]);
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["test_days"], 7);
    let mape = |m: &str| doc[m]["mape"].as_f64().unwrap();
    assert!(mape("gbdt") < mape("snaive-day"), "{doc}");
    let header = std::fs::read_to_string(&table).unwrap();
    assert!(header.starts_with("origin,t,halfhour,weekday,holiday,day_of_year,temperature,day_max_temperature,day_min_temperature,steps_ahead,last_value_rel,lag48_rel,lag48_holiday,lag336_rel,lag336_holiday,target_rel,level,actual,test"), "{}", &header[..200]);

    // Households: weekly patterns of different sizes, one household too short to use.
    let lcl = dir.path().join("block_0.csv");
    let mut text = String::from(
        "LCLid,day,energy_median,energy_mean,energy_max,energy_count,energy_std,energy_sum,energy_min\n",
    );
    for h in 0..5 {
        let days = if h == 4 { 20 } else { 150 };
        for d in 0..days {
            let v = (h + 1) as f64 * (5.0 + 2.0 * ((d % 7) as f64 / 6.0))
                + 0.1 * ((d * 31 % 17) as f64);
            text.push_str(&format!(
                "MAC00{h},{},0,0,0,48,0,{v:.3},0\n",
                date(start + d)
            ));
        }
    }
    std::fs::write(&lcl, text).unwrap();
    let series = dir.path().join("series.csv");
    let out = ok(&[
        "forecast",
        "eval",
        "--protocol",
        "households",
        "--input",
        lcl.to_str().unwrap(),
        "--peer-out",
        series.to_str().unwrap(),
        "--json",
    ]);
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["households"], 4);
    assert!(doc["auto"]["mase"].as_f64().unwrap() < 1.0, "{doc}");
    let rows = std::fs::read_to_string(&series).unwrap().lines().count();
    assert_eq!(rows, 1 + 4 * 150);

    // A day-ahead file out of order is refused with its line.
    let bad = dir.path().join("bad.csv");
    let text = std::fs::read_to_string(&vic).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    lines.swap(10, 11);
    std::fs::write(&bad, lines.join("\n")).unwrap();
    let err = fails(&[
        "forecast",
        "eval",
        "--protocol",
        "day-ahead",
        "--input",
        bad.to_str().unwrap(),
    ]);
    assert!(
        err.contains("bad.csv: line 11") && err.contains("30 minutes"),
        "{err}"
    );
    let err = fails(&[
        "forecast",
        "eval",
        "--protocol",
        "day-ahead",
        "--input",
        vic.to_str().unwrap(),
        "--test-days",
        "50",
    ]);
    assert!(err.contains("--test-days 50"), "{err}");
}
