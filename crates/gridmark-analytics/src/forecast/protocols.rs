//! Evaluation protocols on real grid data, as written in `docs/evaluation.md`.
//!
//! * [`day_ahead`]: system load with calendar and temperature (Victoria, half-hourly): every
//!   day of the test period is forecast at its local midnight for the next 48 half-hours,
//!   models see only what is known before that midnight (temperature is taken as known, the
//!   usual "perfect weather forecast" convention), the GBDT is retrained every
//!   `retrain_every` days on all days before.
//! * [`households`]: one short noisy series per household (London, daily): each household's
//!   last `horizon` days are forecast from everything before, with every method and with
//!   automatic per-household selection by a rolling-origin backtest on the history.

use std::time::Instant;

use super::errors::{ErrorSummary, ErrorSums, naive_scale};
use super::panel::{self, Method, Panel, PanelSpec};
use crate::gbdt;

/// Half-hourly load with its covariates.
#[derive(Debug, Clone)]
pub struct DayAheadData {
    /// Load per half-hour.
    pub load: Vec<f64>,
    /// Covariates per half-hour (same length as `load`).
    pub covariates: Vec<Vec<f64>>,
    /// Names of the covariates.
    pub covariate_names: Vec<String>,
    /// Index of each local midnight, ascending.
    pub day_starts: Vec<usize>,
}

/// One method's score on the test days.
#[derive(Debug, Clone)]
pub struct MethodScore {
    /// Method label (e.g. `snaive-week`, `gbdt`, `auto`).
    pub method: String,
    /// Errors over every forecast step.
    pub errors: ErrorSummary,
    /// Wall time of that method over the whole protocol, seconds.
    pub seconds: f64,
}

/// Settings of [`day_ahead`].
#[derive(Debug, Clone)]
pub struct DayAheadSpec {
    /// Days at the end of the data that are forecast.
    pub test_days: usize,
    /// The GBDT is refitted on the first test day and then every this many days.
    pub retrain_every: usize,
    /// Panel settings (season 48, MSTL periods 48 and 336, GBDT lags 48 and 336).
    pub panel: PanelSpec,
}

impl Default for DayAheadSpec {
    fn default() -> Self {
        let mut panel = PanelSpec::for_season(48, &[336]);
        panel.gbdt_lags = vec![48, 336];
        // Covariate 2 of `read_day_ahead` is the holiday flag.
        panel.gbdt_lag_flags = vec![2];
        panel.lookback = 336;
        panel.gbdt = gbdt::Params {
            n_trees: 500,
            learning_rate: 0.05,
            max_leaves: 63,
            min_samples_leaf: 20,
            ..gbdt::Params::default()
        };
        Self {
            test_days: 365,
            retrain_every: 28,
            panel,
        }
    }
}

/// The GBDT's table for the day-ahead protocol: one row per (day start, half-hour) whose 48
/// targets are known, with its day start, step, features, relative target, level and actual.
#[derive(Debug, Clone)]
pub struct DayAheadTable {
    /// Feature names, in column order.
    pub names: Vec<String>,
    /// `(origin, t, features, target / level, level, actual)` per row.
    pub rows: Vec<(usize, usize, Vec<f64>, f64, f64, f64)>,
}

/// Every (day start, step) window's GBDT features, for training and for the LightGBM peer.
pub fn day_ahead_table(data: &DayAheadData, spec: &DayAheadSpec) -> DayAheadTable {
    let p = &spec.panel;
    let names: Vec<&str> = data.covariate_names.iter().map(String::as_str).collect();
    let longest = p.gbdt_lags.iter().copied().max().unwrap_or(p.season);
    let mut rows = Vec::new();
    let mut row = Vec::new();
    for &o in &data.day_starts {
        if o < longest || o + 48 > data.load.len() {
            continue;
        }
        for t in o..o + 48 {
            let y = data.load[t];
            if y.is_nan() {
                continue;
            }
            if let Some(level) =
                panel::gbdt_features(p, Some(&data.covariates), &data.load, o, t, &mut row)
            {
                rows.push((o, t, row.clone(), y / level, level, y));
            }
        }
    }
    DayAheadTable {
        names: panel::gbdt_feature_names(p, &names),
        rows,
    }
}

/// Runs the day-ahead protocol for seasonal naive (yesterday and last week), ETS, MSTL, the
/// linear model and the GBDT. Returns one score per method and the test origins used.
///
/// # Panics
/// If the data hold fewer than `test_days` + 2 weeks of days.
pub fn day_ahead(
    data: &DayAheadData,
    spec: &DayAheadSpec,
    progress: &mut dyn FnMut(&str),
) -> (Vec<MethodScore>, Vec<usize>) {
    let origins: Vec<usize> = data
        .day_starts
        .iter()
        .copied()
        .filter(|&o| o + 48 <= data.load.len())
        .collect();
    assert!(
        origins.len() >= spec.test_days + 14,
        "fewer days than the test period plus two weeks"
    );
    let test: Vec<usize> = origins[origins.len() - spec.test_days..].to_vec();
    let series = vec![data.load.clone()];
    let pnl = Panel {
        series: &series,
        covariates: Some(&data.covariates),
    };
    let score = |name: &str, f: &dyn Fn(usize) -> Vec<f64>, progress: &mut dyn FnMut(&str)| {
        let started = Instant::now();
        let mut e = ErrorSums::default();
        for (k, &o) in test.iter().enumerate() {
            let fc = f(o);
            let scale = naive_scale(&data.load[o.saturating_sub(28 * 48)..o], 48);
            e.add(&data.load[o..o + 48], &fc, scale);
            if k % 73 == 72 {
                progress(&format!("{name}: {} of {} days", k + 1, test.len()));
            }
        }
        MethodScore {
            method: name.to_string(),
            errors: e.summary(),
            seconds: started.elapsed().as_secs_f64(),
        }
    };
    let mut out = Vec::new();
    let p = &spec.panel;
    let week = PanelSpec {
        season: 336,
        ..p.clone()
    };
    out.push(score(
        "snaive-day",
        &|o| panel::forecast(Method::SeasonalNaive, p, pnl, o, 48).remove(0),
        progress,
    ));
    out.push(score(
        "snaive-week",
        &|o| panel::forecast(Method::SeasonalNaive, &week, pnl, o, 48).remove(0),
        progress,
    ));
    out.push(score(
        "ets",
        &|o| panel::forecast(Method::Ets, p, pnl, o, 48).remove(0),
        progress,
    ));
    out.push(score(
        "mstl",
        &|o| panel::forecast(Method::Mstl, p, pnl, o, 48).remove(0),
        progress,
    ));
    let linear = PanelSpec {
        max_history: usize::MAX / 2,
        ..p.clone()
    };
    out.push(score(
        "linear",
        &|o| panel::forecast(Method::Linear, &linear, pnl, o, 48).remove(0),
        progress,
    ));

    // GBDT: refitted every `retrain_every` test days on every earlier day's windows.
    let started = Instant::now();
    let table = day_ahead_table(data, spec);
    let mut e = ErrorSums::default();
    let mut model: Option<gbdt::Model> = None;
    let mut row = Vec::new();
    for (k, &o) in test.iter().enumerate() {
        if k % spec.retrain_every.max(1) == 0 || model.is_none() {
            let (mut x, mut y) = (Vec::new(), Vec::new());
            for (origin, _, f, target, _, _) in &table.rows {
                if origin + 48 <= o {
                    x.extend_from_slice(f);
                    y.push(*target);
                }
            }
            model = gbdt::fit_regression(&x, table.names.len(), &y, &p.gbdt).ok();
            progress(&format!(
                "gbdt: refitted on {} rows at test day {} of {}",
                y.len(),
                k + 1,
                test.len()
            ));
        }
        let fc: Vec<f64> = (o..o + 48)
            .map(|t| {
                match (
                    &model,
                    panel::gbdt_features(p, Some(&data.covariates), &data.load, o, t, &mut row),
                ) {
                    (Some(m), Some(level)) => m.predict_raw(&row) * level,
                    _ => data.load[t - 48],
                }
            })
            .collect();
        let scale = naive_scale(&data.load[o.saturating_sub(28 * 48)..o], 48);
        e.add(&data.load[o..o + 48], &fc, scale);
    }
    out.push(MethodScore {
        method: "gbdt".into(),
        errors: e.summary(),
        seconds: started.elapsed().as_secs_f64(),
    });
    (out, test)
}

/// Settings of [`households`].
#[derive(Debug, Clone)]
pub struct HouseholdsSpec {
    /// Days forecast at the end of each series.
    pub horizon: usize,
    /// Backtest origins before the test period used to choose each household's method.
    pub backtest_origins: usize,
    /// Methods compared and chosen from.
    pub methods: Vec<Method>,
    /// Panel settings (season 7).
    pub panel: PanelSpec,
}

impl Default for HouseholdsSpec {
    fn default() -> Self {
        let mut panel = PanelSpec::for_season(7, &[]);
        panel.gbdt_lags = vec![7];
        panel.gbdt_origins = 8;
        Self {
            horizon: 14,
            backtest_origins: 2,
            methods: Method::ALL.to_vec(),
            panel,
        }
    }
}

/// Outcome of [`households`].
#[derive(Debug, Clone)]
pub struct HouseholdsOutcome {
    /// One score per method on the test days, then `auto` (per-household choice).
    pub scores: Vec<MethodScore>,
    /// How many households chose each method, in `spec.methods` order.
    pub chosen: Vec<(String, usize)>,
    /// Wall time of the automatic path alone: the backtest plus the chosen methods' forecasts.
    pub auto_seconds: f64,
}

/// Runs the households protocol on right-aligned series (every series ends at the same index;
/// shorter ones start with NaN). MASE is scaled by each series' in-sample weekly naive error
/// over all its history before the test period (the M4 convention).
pub fn households(
    series: &[Vec<f64>],
    spec: &HouseholdsSpec,
    progress: &mut dyn FnMut(&str),
) -> HouseholdsOutcome {
    let h = spec.horizon;
    let len = series.first().map_or(0, Vec::len);
    let test_origin = len - h;
    let pnl = Panel {
        series,
        covariates: None,
    };
    let scales: Vec<Option<f64>> = series
        .iter()
        .map(|y| naive_scale(&y[..test_origin], spec.panel.season))
        .collect();
    let started = Instant::now();
    let bt_origins: Vec<usize> = (1..=spec.backtest_origins)
        .rev()
        .map(|k| test_origin - k * h)
        .collect();
    let bt = panel::backtest(&spec.methods, &spec.panel, pnl, &bt_origins, h);
    let choice = panel::select_guarded(&bt, 2.0);
    let backtest_seconds = started.elapsed().as_secs_f64();
    progress(&format!(
        "backtest of {} methods at {} origins: {backtest_seconds:.1} s",
        spec.methods.len(),
        bt_origins.len()
    ));
    let mut scores = Vec::new();
    let mut test_forecasts = Vec::new();
    let mut seconds_for = Vec::new();
    for &m in &spec.methods {
        let t0 = Instant::now();
        let f = panel::forecast(m, &spec.panel, pnl, test_origin, h);
        let secs = t0.elapsed().as_secs_f64();
        let mut e = ErrorSums::default();
        for (i, y) in series.iter().enumerate() {
            e.add(&y[test_origin..], &f[i], scales[i]);
        }
        progress(&format!("{}: {secs:.1} s", m.name()));
        scores.push(MethodScore {
            method: m.name().into(),
            errors: e.summary(),
            seconds: secs,
        });
        seconds_for.push(secs);
        test_forecasts.push(f);
    }
    let mut e = ErrorSums::default();
    let mut chosen = vec![0usize; spec.methods.len()];
    for (i, y) in series.iter().enumerate() {
        chosen[choice[i]] += 1;
        e.add(&y[test_origin..], &test_forecasts[choice[i]][i], scales[i]);
    }
    // The automatic path needs the backtest and, per method, only its chosen series; per-series
    // methods cost in proportion, shared ones (linear, GBDT) are fitted once whatever the count.
    let auto_forecast: f64 = spec
        .methods
        .iter()
        .enumerate()
        .map(|(k, m)| match m {
            Method::Linear | Method::Gbdt => {
                if chosen[k] > 0 {
                    seconds_for[k]
                } else {
                    0.0
                }
            }
            _ => seconds_for[k] * chosen[k] as f64 / series.len().max(1) as f64,
        })
        .sum();
    let auto_seconds = backtest_seconds + auto_forecast;
    scores.push(MethodScore {
        method: "auto".into(),
        errors: e.summary(),
        seconds: auto_seconds,
    });
    HouseholdsOutcome {
        scores,
        chosen: spec
            .methods
            .iter()
            .zip(chosen)
            .map(|(m, c)| (m.name().to_string(), c))
            .collect(),
        auto_seconds,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::f64::consts::TAU;

    #[test]
    fn households_choose_per_series_and_beat_naive_on_clean_patterns() {
        // Half the series follow a weekly cycle, half a slow trend with noise-free steps.
        let series: Vec<Vec<f64>> = (0..6)
            .map(|i| {
                (0..140)
                    .map(|t| {
                        if i % 2 == 0 {
                            10.0 + 3.0 * (t as f64 * TAU / 7.0).sin()
                        } else {
                            5.0 + 0.05 * t as f64
                        }
                    })
                    .collect()
            })
            .collect();
        let mut spec = HouseholdsSpec {
            methods: vec![Method::SeasonalNaive, Method::Ets],
            ..HouseholdsSpec::default()
        };
        spec.panel.threads = 1;
        let out = households(&series, &spec, &mut |_| {});
        let auto = out.scores.iter().find(|s| s.method == "auto").unwrap();
        let naive = out.scores.iter().find(|s| s.method == "snaive").unwrap();
        assert!(
            auto.errors.mae < naive.errors.mae,
            "{} vs {}",
            auto.errors.mae,
            naive.errors.mae
        );
        assert_eq!(out.chosen.iter().map(|c| c.1).sum::<usize>(), 6);
    }

    #[test]
    fn day_ahead_on_a_synthetic_temperature_driven_load() {
        let days = 120;
        let mut rng = crate::rng::Rng::new(5);
        let mut load = Vec::new();
        let mut cov = Vec::new();
        for d in 0..days {
            let temp = 15.0 + 10.0 * rng.uniform();
            for hh in 0..48 {
                let shape = 1.0 + 0.3 * (hh as f64 * TAU / 48.0).sin();
                load.push(1000.0 * shape + 40.0 * temp);
                cov.push(vec![hh as f64, (d % 7) as f64, temp]);
            }
        }
        let data = DayAheadData {
            load,
            covariates: cov,
            covariate_names: vec!["halfhour".into(), "weekday".into(), "temp".into()],
            day_starts: (0..days).map(|d| d * 48).collect(),
        };
        let mut spec = DayAheadSpec {
            test_days: 20,
            retrain_every: 10,
            ..DayAheadSpec::default()
        };
        spec.panel.gbdt.n_trees = 100;
        spec.panel.threads = 1;
        let (scores, test) = day_ahead(&data, &spec, &mut |_| {});
        assert_eq!(test.len(), 20);
        let get = |m: &str| scores.iter().find(|s| s.method == m).unwrap().errors.mape;
        assert!(
            get("gbdt") < get("snaive-day") / 2.0,
            "gbdt {} naive {}",
            get("gbdt"),
            get("snaive-day")
        );
    }
}
