//! `gridmark forecast …`: run and backtest on the lake, and the evaluation protocols on files.

use crate::CliError;
use crate::cli::{ForecastCommand, ForecastEvalArgs, ForecastRunArgs, LevelArg, Protocol};
use crate::metering::{print_json, write_atomic, write_report};
use gridmark_analytics::forecast::errors::ErrorSummary;
use gridmark_analytics::forecast::ett;
use gridmark_analytics::forecast::panel::Method;
use gridmark_analytics::forecast::protocols::{self, DayAheadSpec, HouseholdsSpec, MethodScore};
use gridmark_core::civil::{format_date, parse_date};
use gridmark_jobs::forecast::{ForecastOptions, ForecastReport, Level};
use gridmark_lake::Lake;
use serde_json::json;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

pub fn run(data: Option<&Path>, cmd: ForecastCommand) -> Result<(), CliError> {
    match cmd {
        ForecastCommand::Run(args) => lake_forecast(&crate::cli::data_dir(data)?, args, false),
        ForecastCommand::Backtest(args) => lake_forecast(&crate::cli::data_dir(data)?, args, true),
        ForecastCommand::Eval(args) => match args.protocol {
            Protocol::Ett => ett(args),
            Protocol::DayAhead => day_ahead(args),
            Protocol::Households => households(args),
        },
    }
}

/// `7d`, `14`, `2w` → days.
fn parse_horizon(text: &str) -> Result<usize, CliError> {
    let t = text.trim();
    let (num, unit) = match t.char_indices().last() {
        Some((i, 'd')) => (&t[..i], 1),
        Some((i, 'w')) => (&t[..i], 7),
        _ => (t, 1),
    };
    num.trim()
        .parse::<usize>()
        .ok()
        .filter(|&n| n > 0)
        .map(|n| n * unit)
        .ok_or_else(|| crate::usage(format!("--horizon {text}: expected days or weeks such as 7d, 14 or 2w (this forecaster is daily)")))
}

fn summary_json(s: &ErrorSummary) -> serde_json::Value {
    let num = |v: f64| {
        if v.is_finite() {
            json!(v)
        } else {
            serde_json::Value::Null
        }
    };
    json!({"mae": num(s.mae), "rmse": num(s.rmse), "mape": num(s.mape), "smape": num(s.smape), "mase": num(s.mase), "n": s.n})
}

fn lake_forecast(dir: &Path, args: ForecastRunArgs, backtest_only: bool) -> Result<(), CliError> {
    let horizon = parse_horizon(&args.horizon)?;
    let methods = args
        .methods
        .split(',')
        .map(|m| {
            Method::parse(m.trim()).ok_or_else(|| {
                crate::usage(format!(
                    "--methods: `{}` is not one of snaive, ets, mstl, linear, gbdt",
                    m.trim()
                ))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let origin = match &args.origin {
        Some(d) => Some(
            parse_date(d.trim().as_bytes())
                .ok_or_else(|| crate::usage(format!("--origin {d}: expected a date YYYY-MM-DD")))?,
        ),
        None => None,
    };
    let level = match args.level {
        LevelArg::Total => Level::Total,
        LevelArg::Region => Level::Region,
        LevelArg::Area => Level::Area,
        LevelArg::Customer => Level::Customer,
    };
    let opts = ForecastOptions {
        level,
        horizon,
        origin,
        backtest_origins: args.backtests,
        methods,
    };
    let lake = Lake::open(dir)?;
    let quiet = args.json;
    let mut progress = |m: &str| {
        if !quiet {
            eprintln!("{m}");
        }
    };
    let report = gridmark_jobs::forecast::run(
        &lake,
        Arc::new(gridmark_core::SystemClock),
        &opts,
        backtest_only,
        &mut progress,
    )?;
    if let Some(path) = &args.html {
        write_atomic(path, gridmark_jobs::forecast::html(&report).as_bytes())?;
        eprintln!("wrote {}", path.display());
    }
    let shown: Vec<&gridmark_jobs::forecast::NodeForecast> = report
        .forecasts
        .iter()
        .filter(|f| f.level == level)
        .collect();
    let doc = report_json(&report, &shown);
    if let Some(path) = &args.out {
        write_report(path, &doc["forecasts"], || {
            let mut s =
                String::from("level,node_id,model,day,step,kwh,lo80,hi80,lo95,hi95,actual\n");
            for f in &shown {
                for k in 0..f.forecast.len() {
                    let actual = if f.actual[k].is_nan() {
                        String::new()
                    } else {
                        format!("{:.3}", f.actual[k])
                    };
                    s.push_str(&format!(
                        "{},{},{},{},{},{:.3},{:.3},{:.3},{:.3},{:.3},{actual}\n",
                        f.level.name(),
                        f.id,
                        f.method.name(),
                        format_date(report.origin_day + k as i64),
                        k + 1,
                        f.forecast[k],
                        f.lo80[k],
                        f.hi80[k],
                        f.lo95[k],
                        f.hi95[k]
                    ));
                }
            }
            s
        })?;
        eprintln!("wrote {}", path.display());
    }
    if args.json {
        return print_json(&doc);
    }
    print_report(&report, &shown, backtest_only)
}

fn report_json(
    report: &ForecastReport,
    shown: &[&gridmark_jobs::forecast::NodeForecast],
) -> serde_json::Value {
    let levels: Vec<serde_json::Value> = report
        .levels
        .iter()
        .map(|lv| {
            let methods: serde_json::Map<String, serde_json::Value> = lv
                .methods
                .iter()
                .enumerate()
                .map(|(k, m)| {
                    let mut v = summary_json(&m.total.summary());
                    v["chosen_by"] = json!(lv.choice.iter().filter(|&&c| c == k).count());
                    v["seconds"] = json!(m.seconds);
                    (m.method.name().to_string(), v)
                })
                .collect();
            let num = |v: f64| if v.is_finite() { json!(v) } else { serde_json::Value::Null };
            json!({"level": lv.level.name(), "series": lv.nodes.len(), "methods": methods,
                   "selected": summary_json(&lv.selected), "coverage80": num(lv.coverage80), "coverage95": num(lv.coverage95)})
        })
        .collect();
    let forecasts: Vec<serde_json::Value> = shown
        .iter()
        .map(|f| {
            let days: Vec<serde_json::Value> = (0..f.forecast.len())
                .map(|k| {
                    json!({"day": format_date(report.origin_day + k as i64), "kwh": f.forecast[k], "lo80": f.lo80[k], "hi80": f.hi80[k],
                           "lo95": f.lo95[k], "hi95": f.hi95[k], "actual": if f.actual[k].is_nan() { serde_json::Value::Null } else { json!(f.actual[k]) }})
                })
                .collect();
            json!({"level": f.level.name(), "node_id": f.id, "model": f.method.name(), "days": days})
        })
        .collect();
    json!({"run_id": report.run_id, "source": report.source, "level": report.level.name(), "horizon_days": report.horizon,
           "origin": format_date(report.origin_day),
           "backtest_origins": report.backtest_origins.iter().map(|&d| format_date(d)).collect::<Vec<_>>(),
           "temperature": report.has_temperature, "levels": levels, "max_incoherence_kwh": report.max_incoherence,
           "forecasts": forecasts, "lake_version": report.version, "seconds": report.seconds})
}

fn print_report(
    report: &ForecastReport,
    shown: &[&gridmark_jobs::forecast::NodeForecast],
    backtest_only: bool,
) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{} from {} ({} days), backtest origins {}; temperature covariate: {}",
        report.source,
        format_date(report.origin_day),
        report.horizon,
        report
            .backtest_origins
            .iter()
            .map(|&d| format_date(d))
            .collect::<Vec<_>>()
            .join(" "),
        if report.has_temperature {
            "yes"
        } else {
            "none in the lake"
        }
    )?;
    for lv in &report.levels {
        writeln!(out, "\n{} — {} series", lv.level.name(), lv.nodes.len())?;
        writeln!(
            out,
            "{:<18} {:>12} {:>12} {:>8} {:>8} {:>7} {:>7} {:>7}",
            "method", "MAE kWh", "RMSE kWh", "MAPE %", "sMAPE %", "MASE", "chosen", "secs"
        )?;
        for (k, m) in lv.methods.iter().enumerate() {
            let s = m.total.summary();
            let chosen = lv.choice.iter().filter(|&&c| c == k).count();
            writeln!(
                out,
                "{:<18} {:>12.1} {:>12.1} {:>8.2} {:>8.2} {:>7.3} {:>7} {:>7.1}",
                m.method.name(),
                s.mae,
                s.rmse,
                s.mape,
                s.smape,
                s.mase,
                chosen,
                m.seconds
            )?;
        }
        let s = lv.selected;
        writeln!(
            out,
            "{:<18} {:>12.1} {:>12.1} {:>8.2} {:>8.2} {:>7.3}",
            "chosen per series", s.mae, s.rmse, s.mape, s.smape, s.mase
        )?;
        writeln!(
            out,
            "interval coverage (newer half of the origins): 80 % → {:.1} %, 95 % → {:.1} %",
            100.0 * lv.coverage80,
            100.0 * lv.coverage95
        )?;
    }
    if backtest_only {
        return Ok(());
    }
    writeln!(
        out,
        "\nforecasts — {} (reconciled; largest parent − Σ children gap {:.3e} kWh)",
        report.level.name(),
        report.max_incoherence
    )?;
    writeln!(
        out,
        "{:<14} {:<11} {:<7} {:>12} {:>25} {:>12}",
        "node", "day", "model", "kWh", "80 % interval", "actual"
    )?;
    for f in shown
        .iter()
        .take(if shown.len() > 10 { 10 } else { shown.len() })
    {
        for k in 0..f.forecast.len() {
            let actual = if f.actual[k].is_nan() {
                "—".to_string()
            } else {
                format!("{:.1}", f.actual[k])
            };
            writeln!(
                out,
                "{:<14} {:<11} {:<7} {:>12.1} {:>12.1} – {:>10.1} {:>12}",
                f.id,
                format_date(report.origin_day + k as i64),
                f.method.name(),
                f.forecast[k],
                f.lo80[k],
                f.hi80[k],
                actual
            )?;
        }
    }
    if shown.len() > 10 {
        writeln!(
            out,
            "… {} more series; --out FILE or --html FILE for all, or SELECT * FROM forecasts WHERE run_id = '{}'",
            shown.len() - 10,
            report.run_id
        )?;
    }
    if let Some(v) = report.version {
        writeln!(
            out,
            "committed run {} to `forecasts` (lake version {v}) in {:.1} s",
            report.run_id, report.seconds
        )?;
    }
    Ok(())
}

fn one_input(args: &ForecastEvalArgs) -> Result<&Path, CliError> {
    match args.input.as_slice() {
        [one] => Ok(one),
        _ => Err(crate::usage("this protocol reads one --input file")),
    }
}

fn print_scores(
    scores: &[MethodScore],
    json_out: bool,
    extra: serde_json::Value,
) -> Result<(), CliError> {
    if json_out {
        let mut doc = serde_json::Map::new();
        for s in scores {
            let mut v = summary_json(&s.errors);
            v["seconds"] = json!(s.seconds);
            doc.insert(s.method.clone(), v);
        }
        if let serde_json::Value::Object(m) = extra {
            doc.extend(m);
        }
        return print_json(&doc);
    }
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{:<12} {:>10} {:>10} {:>8} {:>8} {:>7} {:>8}",
        "method", "MAE", "RMSE", "MAPE %", "sMAPE %", "MASE", "secs"
    )?;
    for s in scores {
        let e = &s.errors;
        writeln!(
            out,
            "{:<12} {:>10.3} {:>10.3} {:>8.3} {:>8.3} {:>7.3} {:>8.2}",
            s.method, e.mae, e.rmse, e.mape, e.smape, e.mase, s.seconds
        )?;
    }
    Ok(())
}

fn day_ahead(args: ForecastEvalArgs) -> Result<(), CliError> {
    let path = one_input(&args)?;
    let data = gridmark_jobs::forecast_data::read_day_ahead(path)?;
    let spec = DayAheadSpec {
        test_days: args.test_days,
        ..DayAheadSpec::default()
    };
    if data.day_starts.len() < spec.test_days + 28 {
        return Err(crate::usage(format!(
            "{}: {} whole days; --test-days {} needs at least 28 more for history",
            path.display(),
            data.day_starts.len(),
            spec.test_days
        )));
    }
    if !args.json {
        eprintln!(
            "{}: {} half-hours, {} days; forecasting the last {} days from each local midnight",
            path.display(),
            data.load.len(),
            data.day_starts.len(),
            spec.test_days
        );
    }
    let quiet = args.json;
    let (scores, test) = protocols::day_ahead(&data, &spec, &mut |m| {
        if !quiet {
            eprintln!("  {m}");
        }
    });
    if let Some(p) = &args.peer_out {
        let table = protocols::day_ahead_table(&data, &spec);
        gridmark_jobs::forecast_data::write_day_ahead_table(&table, &test, p)?;
        eprintln!(
            "wrote the GBDT feature table ({} rows) to {}",
            table.rows.len(),
            p.display()
        );
    }
    print_scores(
        &scores,
        args.json,
        json!({"test_days": test.len(), "retrain_every_days": spec.retrain_every}),
    )
}

fn households(args: ForecastEvalArgs) -> Result<(), CliError> {
    let spec = HouseholdsSpec {
        horizon: args.horizon,
        ..HouseholdsSpec::default()
    };
    let min_days = spec.horizon * (spec.backtest_origins + 1) + 8 * 7;
    let paths: Vec<&Path> = args.input.iter().map(|p| p.as_path()).collect();
    let h = gridmark_jobs::forecast_data::read_households(&paths, min_days)?;
    if h.series.is_empty() {
        return Err(crate::usage(format!(
            "no household has {min_days} days or more in the files given"
        )));
    }
    if let Some(p) = &args.peer_out {
        gridmark_jobs::forecast_data::write_households(&h, p)?;
        eprintln!("wrote {} series to {}", h.series.len(), p.display());
    }
    if !args.json {
        eprintln!(
            "{} households ({} dropped with under {min_days} days; {} missing or incomplete days filled from a week earlier); forecasting each one's last {} days",
            h.series.len(),
            h.dropped,
            h.filled_days,
            spec.horizon
        );
    }
    let quiet = args.json;
    let out = protocols::households(&h.series, &spec, &mut |m| {
        if !quiet {
            eprintln!("  {m}");
        }
    });
    let chosen: serde_json::Map<String, serde_json::Value> = out
        .chosen
        .iter()
        .map(|(m, c)| (m.clone(), json!(c)))
        .collect();
    if !args.json {
        eprintln!(
            "chosen per household: {}",
            out.chosen
                .iter()
                .map(|(m, c)| format!("{m} {c}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    print_scores(
        &out.scores,
        args.json,
        json!({"households": h.series.len(), "chosen": chosen, "auto_seconds": out.auto_seconds}),
    )
}

fn ett(args: ForecastEvalArgs) -> Result<(), CliError> {
    let input = one_input(&args)?;
    let horizons: Vec<usize> = args
        .horizons
        .split(',')
        .map(|h| h.trim().parse::<usize>().ok().filter(|&h| h > 0))
        .collect::<Option<_>>()
        .ok_or_else(|| {
            crate::usage(format!(
                "--horizons {}: expected positive numbers separated by commas, e.g. 96,192,336,720",
                args.horizons
            ))
        })?;
    let lookbacks: Vec<usize> = args
        .lookback
        .split(',')
        .map(|h| {
            h.trim()
                .parse::<usize>()
                .ok()
                .filter(|&h| (1..=ett::TRAIN_ROWS / 2).contains(&h))
        })
        .collect::<Option<_>>()
        .ok_or_else(|| {
            crate::usage(format!(
                "--lookback {}: expected hours from 1 to {} separated by commas, e.g. 336,512",
                args.lookback,
                ett::TRAIN_ROWS / 2
            ))
        })?;
    let data = gridmark_ingest::read_wide_numeric(input)?;
    let needed = 12 * 30 * 24 + 8 * 30 * 24;
    if data.index.len() < needed {
        return Err(crate::usage(format!(
            "{}: the ETT protocol needs at least {needed} rows (12 months train, 4 validation, 4 test); the file has {}",
            input.display(),
            data.index.len()
        )));
    }
    let channels: Vec<Vec<f64>> = data.columns.iter().map(|(_, v)| v.clone()).collect();
    let scores = ett::evaluate_lookbacks(&channels, &horizons, &lookbacks);
    let mut out = std::io::stdout().lock();
    if args.json {
        let mut doc = serde_json::Map::new();
        for s in &scores {
            doc.insert(
                s.horizon.to_string(),
                json!({"mse": s.mse, "mae": s.mae, "lambda": s.lambda, "lookback": s.lookback, "validation_mse": s.validation_mse,
                    "train_windows": s.train_windows, "test_windows": s.test_windows,
                    "fit_seconds": s.fit_seconds}),
            );
        }
        writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
        return Ok(());
    }
    writeln!(
        out,
        "{}: {} rows × {} channels ({}), look-back {} h; linear model, last-value normalised, ridge λ (and look-back) chosen on validation",
        input.display(),
        data.index.len(),
        channels.len(),
        data.columns
            .iter()
            .map(|c| c.0.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        args.lookback
    )?;
    writeln!(
        out,
        "{:>8} {:>8} {:>8} {:>9} {:>10} {:>9} {:>13} {:>8}",
        "horizon", "MSE", "MAE", "look-back", "lambda", "valid MSE", "test windows", "fit s"
    )?;
    for s in &scores {
        writeln!(
            out,
            "{:>8} {:>8.4} {:>8.4} {:>9} {:>10.3e} {:>9.4} {:>13} {:>8.2}",
            s.horizon,
            s.mse,
            s.mae,
            s.lookback,
            s.lambda,
            s.validation_mse,
            s.test_windows,
            s.fit_seconds
        )?;
    }
    Ok(())
}
