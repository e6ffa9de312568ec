//! Forecasting many aligned series at once (every customer, area or region of a utility, on one
//! time axis), with five methods, rolling-origin backtests, per-series selection and conformal
//! prediction intervals.
//!
//! * [`Method::SeasonalNaive`]: the value one season earlier (the benchmark every other method
//!   must beat; MASE's yardstick).
//! * [`Method::Ets`]: [`Ets::auto`] per series on its trailing history.
//! * [`Method::Mstl`]: [`Mstl`] per series, seasonal components repeated, ETS on the rest.
//! * [`Method::Linear`]: one ridge linear map on lagged values shared by every series
//!   ([`LinearSpec`]), each series divided by its mean level and each window taken relative to
//!   its last value.
//! * [`Method::Gbdt`]: gradient-boosted trees shared by every series, forecasting each step
//!   directly from calendar and weather covariates, the step ahead, the last value and the
//!   values one and more seasons back, all relative to the median of the series' last season.
//!
//! Series are NaN where a value is missing. A method that cannot forecast a series (too short,
//! all missing) falls back to the seasonal naive forecast, so every cell gets a number.

use super::errors::{ErrorSums, naive_scale};
use super::ets::Ets;
use super::linear::LinearSpec;
use super::mean_observed;
use super::stl::Mstl;
use crate::gbdt::{self, Params};

/// A forecasting method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Method {
    /// Last season's value.
    SeasonalNaive,
    /// Exponential smoothing, model chosen by AICc.
    Ets,
    /// Multi-seasonal decomposition + ETS.
    Mstl,
    /// Shared ridge linear map on lags.
    Linear,
    /// Shared gradient-boosted trees on calendar, weather and lags.
    Gbdt,
}

impl Method {
    /// Every method, in the order ties are broken.
    pub const ALL: [Method; 5] = [
        Method::SeasonalNaive,
        Method::Ets,
        Method::Mstl,
        Method::Linear,
        Method::Gbdt,
    ];

    /// Short name used in tables and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Method::SeasonalNaive => "snaive",
            Method::Ets => "ets",
            Method::Mstl => "mstl",
            Method::Linear => "linear",
            Method::Gbdt => "gbdt",
        }
    }

    /// The method called `name` ([`Method::name`]).
    pub fn parse(name: &str) -> Option<Method> {
        Method::ALL.into_iter().find(|m| m.name() == name)
    }
}

/// Settings shared by every method.
#[derive(Debug, Clone)]
pub struct PanelSpec {
    /// Main seasonal period in steps (7 for daily data, 24 hourly, 48 half-hourly).
    pub season: usize,
    /// Periods for MSTL (e.g. 24 and 168 for hourly data).
    pub periods: Vec<usize>,
    /// Per-series methods (ETS, MSTL) read at most this many trailing steps.
    pub max_history: usize,
    /// Look-back of the linear model.
    pub lookback: usize,
    /// Ridge penalty of the linear model relative to the mean diagonal of XᵀX, used when the
    /// history is too short to choose one on held-out windows.
    pub ridge: f64,
    /// Seasonal lags (in steps) the GBDT reads, each at the latest phase-aligned value known at
    /// the origin.
    pub gbdt_lags: Vec<usize>,
    /// Covariate columns (e.g. holiday) the GBDT also reads at each lag's source step.
    pub gbdt_lag_flags: Vec<usize>,
    /// How far back the GBDT's training origins reach, in horizons.
    pub gbdt_origins: usize,
    /// Most training rows for the GBDT; origins are thinned evenly beyond it.
    pub gbdt_max_rows: usize,
    /// GBDT parameters.
    pub gbdt: Params,
    /// Threads for per-series work.
    pub threads: usize,
}

impl PanelSpec {
    /// Sensible settings for a seasonal period: MSTL on that period (and `extra_periods`),
    /// sixteen seasons of trailing history for ETS/MSTL at the least, a look-back of four
    /// seasons, GBDT lags of one season.
    pub fn for_season(season: usize, extra_periods: &[usize]) -> Self {
        let mut periods = vec![season];
        periods.extend_from_slice(extra_periods);
        let longest = periods.iter().copied().max().unwrap_or(season);
        Self {
            season,
            periods,
            max_history: (16 * season).max(3 * longest).max(56),
            lookback: (4 * season).max(14),
            ridge: 1e-3,
            gbdt_lags: vec![season],
            gbdt_lag_flags: Vec::new(),
            gbdt_origins: 60,
            gbdt_max_rows: 300_000,
            gbdt: Params {
                n_trees: 200,
                learning_rate: 0.05,
                max_leaves: 31,
                min_samples_leaf: 20,
                ..Params::default()
            },
            threads: 2,
        }
    }
}

/// Aligned series and optional covariates per time step.
#[derive(Debug, Clone, Copy)]
pub struct Panel<'a> {
    /// Every series on the same time axis (equal lengths), NaN = missing.
    pub series: &'a [Vec<f64>],
    /// Covariates per time step (calendar, temperature…), covering every step that will be
    /// forecast; the GBDT reads them, other methods ignore them.
    pub covariates: Option<&'a [Vec<f64>]>,
}

impl Panel<'_> {
    fn len(&self) -> usize {
        self.series.first().map_or(0, Vec::len)
    }
}

/// The most recent value with the phase of step `t`, `lag` steps at a time, that is before
/// `origin`; NaN if none within four lags.
fn phase_value(y: &[f64], origin: usize, t: usize, lag: usize) -> f64 {
    phase_source(y, origin, t, lag).map_or(f64::NAN, |i| y[i])
}

/// Where [`phase_value`] reads from.
fn phase_source(y: &[f64], origin: usize, t: usize, lag: usize) -> Option<usize> {
    let lag = lag.max(1);
    let mut back = lag * (t + 1 - origin).div_ceil(lag);
    for _ in 0..4 {
        if back > t {
            break;
        }
        if !y[t - back].is_nan() {
            return Some(t - back);
        }
        back += lag;
    }
    None
}

fn seasonal_naive(y: &[f64], origin: usize, horizon: usize, season: usize) -> Vec<f64> {
    (origin..origin + horizon)
        .map(|t| {
            let v = phase_value(y, origin, t, season);
            if v.is_nan() {
                y[..origin]
                    .iter()
                    .rev()
                    .copied()
                    .find(|v| !v.is_nan())
                    .unwrap_or(0.0)
            } else {
                v
            }
        })
        .collect()
}

/// Median of the non-missing values: the level the GBDT's features are relative to, robust to
/// a holiday or two in the last season.
fn median_observed(v: &[f64]) -> Option<f64> {
    let mut o: Vec<f64> = v.iter().copied().filter(|x| !x.is_nan()).collect();
    if o.is_empty() {
        return None;
    }
    o.sort_by(f64::total_cmp);
    let n = o.len();
    Some(if n % 2 == 1 {
        o[n / 2]
    } else {
        (o[n / 2 - 1] + o[n / 2]) / 2.0
    })
}

/// Runs `f` on every series index over `threads` threads, keeping order.
fn per_series<F>(n: usize, threads: usize, f: F) -> Vec<Vec<f64>>
where
    F: Fn(usize) -> Vec<f64> + Sync,
{
    let threads = threads.clamp(1, 64).min(n.max(1));
    if threads == 1 {
        return (0..n).map(f).collect();
    }
    let mut out: Vec<Vec<f64>> = vec![Vec::new(); n];
    let per = n.div_ceil(threads);
    std::thread::scope(|s| {
        for (c, chunk) in out.chunks_mut(per).enumerate() {
            let f = &f;
            s.spawn(move || {
                for (k, slot) in chunk.iter_mut().enumerate() {
                    *slot = f(c * per + k);
                }
            });
        }
    });
    out
}

/// Forecasts every series for steps `origin..origin + horizon` from the values before `origin`.
///
/// # Panics
/// If `origin` is 0 or beyond the series, or the covariates do not cover the forecast steps
/// when the GBDT is asked for.
pub fn forecast(
    method: Method,
    spec: &PanelSpec,
    panel: Panel<'_>,
    origin: usize,
    horizon: usize,
) -> Vec<Vec<f64>> {
    assert!(
        origin >= 1 && origin <= panel.len(),
        "origin outside the series"
    );
    let series = panel.series;
    let naive = |i: usize| seasonal_naive(&series[i], origin, horizon, spec.season);
    let trailing = |i: usize| {
        let h = &series[i][origin.saturating_sub(spec.max_history)..origin];
        let first = h.iter().position(|v| !v.is_nan()).unwrap_or(h.len());
        &h[first..]
    };
    match method {
        Method::SeasonalNaive => per_series(series.len(), 1, naive),
        Method::Ets => per_series(series.len(), spec.threads, |i| {
            Ets::auto(trailing(i), Some(spec.season))
                .map(|m| m.forecast(horizon))
                .unwrap_or_else(|| naive(i))
        }),
        Method::Mstl => per_series(series.len(), spec.threads, |i| {
            let h = trailing(i);
            if h.iter().all(|v| v.is_nan()) || h.len() < 2 * spec.season {
                return naive(i);
            }
            Mstl::decompose(h, &spec.periods).forecast(horizon)
        }),
        // A series too short for the look-back gets NaN from the shared model.
        Method::Linear => match linear(spec, series, origin, horizon) {
            Some(f) => f
                .into_iter()
                .enumerate()
                .map(|(i, f)| {
                    if f.iter().any(|v| v.is_nan()) {
                        naive(i)
                    } else {
                        f
                    }
                })
                .collect(),
            None => (0..series.len()).map(naive).collect(),
        },
        Method::Gbdt => gbdt_forecast(spec, panel, origin, horizon)
            .unwrap_or_else(|| (0..series.len()).map(naive).collect()),
    }
}

fn linear(
    spec: &PanelSpec,
    series: &[Vec<f64>],
    origin: usize,
    horizon: usize,
) -> Option<Vec<Vec<f64>>> {
    let l = spec.lookback;
    if origin < l + horizon {
        return None;
    }
    // Every series from its first observed value, on its own scale, gaps carried forward so
    // windows stay whole. The whole history is used: the model is cheap and a single total has
    // few windows.
    let scaled: Vec<(f64, Vec<f64>)> = series
        .iter()
        .map(|y| {
            let h = &y[..origin];
            let h = &h[h.iter().position(|v| !v.is_nan()).unwrap_or(h.len())..];
            let scale = mean_observed(&h.iter().map(|v| v.abs()).collect::<Vec<_>>())
                .filter(|s| *s > 0.0)
                .unwrap_or(1.0);
            let mut last = f64::NAN;
            let z = h
                .iter()
                .map(|&v| {
                    if !v.is_nan() {
                        last = v;
                    }
                    last / scale
                })
                .collect();
            (scale, z)
        })
        .collect();
    let slices: Vec<&[f64]> = scaled.iter().map(|(_, z)| z.as_slice()).collect();
    // λ relative to the mean diagonal of XᵀX, chosen on each series' last `horizon` windows
    // (their targets are disjoint from the training windows'), then refitted on everything.
    let holdout = 2 * horizon - 1;
    let train: Vec<&[f64]> = slices
        .iter()
        .map(|z| &z[..z.len().saturating_sub(holdout)])
        .collect();
    let valid: Vec<&[f64]> = slices
        .iter()
        .map(|z| &z[z.len().saturating_sub(l + holdout)..])
        .collect();
    let probe = LinearSpec {
        lookback: l,
        horizon,
        lambda: 0.0,
    };
    let mean_diag = |ne: &crate::linalg::NormalEquations| {
        let d = ne.features();
        (0..d).map(|i| ne.xtx_upper().get(i, i)).sum::<f64>() / d as f64
    };
    // One pass over the data per set: training part, held-out windows, everything.
    let relative = {
        let train_ne = probe.normal_equations(&train);
        let grid: Vec<f64> = [1e-4, 1e-3, 1e-2, 1e-1, 1.0]
            .iter()
            .map(|r| r * mean_diag(&train_ne))
            .collect();
        match probe.select_lambda(&train_ne, &probe.normal_equations(&valid), &grid) {
            Ok(sel) => sel.model.lambda() / mean_diag(&train_ne),
            Err(_) => spec.ridge,
        }
    };
    let ne = probe.normal_equations(&slices);
    if ne.rows() == 0 {
        return None;
    }
    let model = LinearSpec {
        lookback: l,
        horizon,
        lambda: relative * mean_diag(&ne),
    }
    .fit_normal_equations(&ne)
    .ok()?;
    Some(
        scaled
            .iter()
            .map(|(scale, z)| {
                if z.len() < l {
                    return vec![f64::NAN; horizon];
                }
                model.predict(z).into_iter().map(|v| v * scale).collect()
            })
            .collect(),
    )
}

/// Writes into `row` the GBDT's features for series `y`, origin `o`, target step `t`, and
/// returns the level they are relative to (the median of the last season before `o`); `None` when
/// that level is not positive. The target the model learns is `y[t] / level`.
pub fn gbdt_features(
    spec: &PanelSpec,
    cov: Option<&[Vec<f64>]>,
    y: &[f64],
    o: usize,
    t: usize,
    row: &mut Vec<f64>,
) -> Option<f64> {
    let level = median_observed(&y[o.saturating_sub(spec.season)..o]).filter(|l| *l > 0.0)?;
    row.clear();
    if let Some(c) = cov {
        row.extend_from_slice(&c[t]);
    }
    row.push((t + 1 - o) as f64);
    let last = y[..o]
        .iter()
        .rev()
        .copied()
        .find(|v| !v.is_nan())
        .unwrap_or(f64::NAN);
    row.push(last / level);
    for &lag in &spec.gbdt_lags {
        let source = phase_source(y, o, t, lag);
        row.push(source.map_or(f64::NAN, |i| y[i] / level));
        // Whether that day was a holiday (say): a low lag value then means the calendar, not
        // the customer.
        if let Some(c) = cov {
            for &k in &spec.gbdt_lag_flags {
                row.push(source.map_or(f64::NAN, |i| c[i][k]));
            }
        }
    }
    Some(level)
}

/// Training rows whose target exceeds this multiple of the series' recent median are left out.
const MAX_RELATIVE_TARGET: f64 = 10.0;

/// The GBDT's feature names, in the order [`gbdt_features`] writes them.
pub fn gbdt_feature_names(spec: &PanelSpec, covariates: &[&str]) -> Vec<String> {
    let mut names: Vec<String> = covariates.iter().map(|s| s.to_string()).collect();
    names.push("steps_ahead".into());
    names.push("last_value_rel".into());
    for lag in &spec.gbdt_lags {
        names.push(format!("lag{lag}_rel"));
        for &k in &spec.gbdt_lag_flags {
            names.push(format!(
                "lag{lag}_{}",
                covariates.get(k).copied().unwrap_or("covariate")
            ));
        }
    }
    names
}

/// The GBDT's training table for an origin: features of every (series, past origin, step)
/// whose target is known before `origin`, and targets relative to the level.
pub fn gbdt_training_rows(
    spec: &PanelSpec,
    panel: Panel<'_>,
    origin: usize,
    horizon: usize,
) -> (Vec<f64>, Vec<f64>, usize) {
    let longest = spec
        .gbdt_lags
        .iter()
        .copied()
        .max()
        .unwrap_or(spec.season)
        .max(spec.season);
    let mut x = Vec::new();
    let mut yv = Vec::new();
    let mut row = Vec::new();
    let mut width = 0;
    // Training origins: every step from `gbdt_origins` horizons back to the latest whose targets
    // are all known, thinned evenly to stay within `gbdt_max_rows`.
    let Some(last) = origin.checked_sub(horizon) else {
        return (x, yv, 0);
    };
    let first = last
        .saturating_sub(spec.gbdt_origins * horizon)
        .max(longest);
    if first > last {
        return (x, yv, 0);
    }
    let cells = panel.series.len() * horizon * (last - first + 1);
    let stride = cells.div_ceil(spec.gbdt_max_rows.max(1)).max(1);
    for o in (first..=last).rev().step_by(stride) {
        for y in panel.series {
            for t in o..o + horizon {
                if y[t].is_nan() {
                    continue;
                }
                let Some(level) = gbdt_features(spec, panel.covariates, y, o, t, &mut row) else {
                    continue;
                };
                // A day ten times the series' recent median (a household back from holiday, a
                // near-empty flat) would dominate the squared loss of every other series.
                let target = y[t] / level;
                if target > MAX_RELATIVE_TARGET {
                    continue;
                }
                width = row.len();
                x.extend_from_slice(&row);
                yv.push(target);
            }
        }
    }
    (x, yv, width)
}

fn gbdt_forecast(
    spec: &PanelSpec,
    panel: Panel<'_>,
    origin: usize,
    horizon: usize,
) -> Option<Vec<Vec<f64>>> {
    if let Some(c) = panel.covariates {
        assert!(
            c.len() >= origin + horizon,
            "covariates must cover the forecast steps"
        );
    }
    let (x, y, width) = gbdt_training_rows(spec, panel, origin, horizon);
    if y.len() < 50 {
        return None;
    }
    // A single total has a few hundred rows: smaller leaves let holidays get their own.
    let params = Params {
        min_samples_leaf: spec.gbdt.min_samples_leaf.min((y.len() / 100).max(3)),
        ..spec.gbdt.clone()
    };
    let model = gbdt::fit_regression(&x, width, &y, &params).ok()?;
    let mut row = Vec::new();
    Some(
        panel
            .series
            .iter()
            .map(|s| {
                (origin..origin + horizon)
                    .map(
                        |t| match gbdt_features(spec, panel.covariates, s, origin, t, &mut row) {
                            Some(level) => model.predict_raw(&row) * level,
                            None => phase_value(s, origin, t, spec.season),
                        },
                    )
                    .collect::<Vec<f64>>()
            })
            .map(|f: Vec<f64>| {
                f.into_iter()
                    .map(|v| if v.is_nan() { 0.0 } else { v })
                    .collect()
            })
            .collect(),
    )
}

/// One method's backtest over every series and origin.
#[derive(Debug, Clone)]
pub struct MethodBacktest {
    /// The method.
    pub method: Method,
    /// Errors over every series, origin and step.
    pub total: ErrorSums,
    /// Errors per series.
    pub per_series: Vec<ErrorSums>,
    /// Residuals y − ŷ by origin, series and step (NaN where the actual is missing).
    pub residuals: Vec<Vec<Vec<f64>>>,
    /// Wall time spent forecasting, in seconds.
    pub seconds: f64,
}

/// Rolling-origin backtest of `methods` at `origins` (each forecasting `horizon` steps, which
/// must lie inside the series). MASE is scaled per series by the seasonal naive in-sample error
/// of the history before each origin.
pub fn backtest(
    methods: &[Method],
    spec: &PanelSpec,
    panel: Panel<'_>,
    origins: &[usize],
    horizon: usize,
) -> Vec<MethodBacktest> {
    let n = panel.series.len();
    methods
        .iter()
        .map(|&method| {
            let started = std::time::Instant::now();
            let mut total = ErrorSums::default();
            let mut per = vec![ErrorSums::default(); n];
            let mut residuals = Vec::with_capacity(origins.len());
            for &o in origins {
                let f = forecast(method, spec, panel, o, horizon);
                let mut res_o = Vec::with_capacity(n);
                for (i, y) in panel.series.iter().enumerate() {
                    let actual = &y[o..o + horizon];
                    let scale = naive_scale(&y[o.saturating_sub(spec.max_history)..o], spec.season);
                    let mut e = ErrorSums::default();
                    e.add(actual, &f[i], scale);
                    per[i].merge(&e);
                    total.merge(&e);
                    res_o.push(actual.iter().zip(&f[i]).map(|(a, p)| a - p).collect());
                }
                residuals.push(res_o);
            }
            MethodBacktest {
                method,
                total,
                per_series: per,
                residuals,
                seconds: started.elapsed().as_secs_f64(),
            }
        })
        .collect()
}

/// For each series, the index (into `results`) of the method with the lowest backtest MAE;
/// ties and series with no comparable steps go to the earliest method.
///
/// On short noisy series this picks by chance as often as by merit; [`select_guarded`] is what
/// the forecasting commands use.
pub fn select_per_series(results: &[MethodBacktest]) -> Vec<usize> {
    let n = results.first().map_or(0, |r| r.per_series.len());
    (0..n)
        .map(|i| {
            let mut best = (0, f64::INFINITY);
            for (k, r) in results.iter().enumerate() {
                let mae = r.per_series[i].summary().mae;
                if mae < best.1 {
                    best = (k, mae);
                }
            }
            best.0
        })
        .collect()
}

/// The method with the lowest backtest MASE over all series together (the level's default).
pub fn best_overall(results: &[MethodBacktest]) -> usize {
    let mut best = (0, f64::INFINITY);
    for (k, r) in results.iter().enumerate() {
        let s = r.total.summary();
        let score = if s.mase.is_finite() { s.mase } else { s.mae };
        if score < best.1 {
            best = (k, score);
        }
    }
    best.0
}

/// Per-series choice that starts from the level's best method overall ([`best_overall`]) and
/// switches a series to another method only when that series' backtest shows it significantly
/// better: the paired differences of absolute errors (default's minus the other's) over every
/// origin and step must have a t statistic above `z` (a Diebold–Mariano test without the
/// autocorrelation correction, so `z` = 2 is a little permissive). Of several such methods the
/// one with the largest t wins.
pub fn select_guarded(results: &[MethodBacktest], z: f64) -> Vec<usize> {
    let n = results.first().map_or(0, |r| r.per_series.len());
    let default = best_overall(results);
    (0..n)
        .map(|i| {
            let mut best = (default, z);
            for (k, r) in results.iter().enumerate() {
                if k == default {
                    continue;
                }
                let (mut sum, mut sq, mut count) = (0.0, 0.0, 0usize);
                for (o, res) in r.residuals.iter().enumerate() {
                    for (a, b) in results[default].residuals[o][i].iter().zip(&res[i]) {
                        if a.is_nan() || b.is_nan() {
                            continue;
                        }
                        let d = a.abs() - b.abs();
                        sum += d;
                        sq += d * d;
                        count += 1;
                    }
                }
                if count < 4 {
                    continue;
                }
                let mean = sum / count as f64;
                let var =
                    (sq / count as f64 - mean * mean).max(0.0) * count as f64 / (count - 1) as f64;
                let t = if var > 0.0 {
                    mean / (var / count as f64).sqrt()
                } else if mean > 0.0 {
                    f64::INFINITY
                } else {
                    0.0
                };
                if t > best.1 {
                    best = (k, t);
                }
            }
            best.0
        })
        .collect()
}

/// Split-conformal half-widths per step: the ⌈(n + 1)·level⌉-th smallest of the n absolute
/// residuals at that step (scaled by the caller as it likes). Steps with too few residuals for
/// the level use every step's residuals pooled; with too few even then, the largest residual.
/// NaN residuals are ignored. `abs_residuals[h]` holds step h's residuals.
pub fn conformal_half_widths(abs_residuals: &[Vec<f64>], level: f64) -> Vec<f64> {
    let quantile = |v: &mut Vec<f64>| -> Option<f64> {
        v.retain(|x| !x.is_nan());
        v.sort_by(f64::total_cmp);
        let n = v.len();
        let k = ((n + 1) as f64 * level).ceil() as usize;
        (n > 0 && k <= n).then(|| v[k.max(1) - 1])
    };
    let mut pooled: Vec<f64> = abs_residuals.iter().flatten().copied().collect();
    let pooled_q = quantile(&mut pooled)
        .or_else(|| pooled.last().copied())
        .unwrap_or(f64::NAN);
    abs_residuals
        .iter()
        .map(|r| quantile(&mut r.clone()).unwrap_or(pooled_q))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::f64::consts::TAU;

    fn weekly_panel(n_series: usize, days: usize) -> Vec<Vec<f64>> {
        (0..n_series)
            .map(|i| {
                let base = 10.0 * (i + 1) as f64;
                (0..days)
                    .map(|t| base * (1.0 + 0.3 * (t as f64 * TAU / 7.0).sin()) + 0.01 * t as f64)
                    .collect()
            })
            .collect()
    }

    #[test]
    fn every_method_forecasts_a_clean_weekly_pattern() {
        let series = weekly_panel(4, 200);
        let spec = PanelSpec {
            gbdt_origins: 20,
            ..PanelSpec::for_season(7, &[])
        };
        let panel = Panel {
            series: &series,
            covariates: None,
        };
        for m in Method::ALL {
            let f = forecast(m, &spec, panel, 186, 14);
            let mut e = ErrorSums::default();
            for (y, f) in series.iter().zip(&f) {
                e.add(&y[186..200], f, None);
            }
            let mape = e.summary().mape;
            assert!(mape < 3.0, "{}: MAPE {mape}", m.name());
        }
    }

    #[test]
    fn the_gbdt_uses_a_covariate_that_drives_the_load() {
        // Load = 100 + 5·temperature, temperature random: no lag can predict it, the covariate can.
        let mut rng = crate::rng::Rng::new(3);
        let temp: Vec<f64> = (0..400).map(|_| 20.0 * rng.uniform()).collect();
        let series = vec![temp.iter().map(|t| 100.0 + 5.0 * t).collect::<Vec<f64>>()];
        let cov: Vec<Vec<f64>> = temp.iter().map(|&t| vec![t]).collect();
        let spec = PanelSpec {
            gbdt_origins: 50,
            ..PanelSpec::for_season(7, &[])
        };
        let panel = Panel {
            series: &series,
            covariates: Some(&cov),
        };
        let res = backtest(
            &[Method::SeasonalNaive, Method::Gbdt],
            &spec,
            panel,
            &[380, 387],
            7,
        );
        let naive = res[0].total.summary().mae;
        let boosted = res[1].total.summary().mae;
        assert!(boosted < naive / 3.0, "gbdt {boosted} vs naive {naive}");
        assert_eq!(select_per_series(&res), vec![1]);
        assert_eq!(select_guarded(&res, 2.0), vec![1]);
    }

    #[test]
    fn gaps_get_numbers_from_every_method() {
        let mut series = weekly_panel(2, 120);
        series[0][100..110].fill(f64::NAN);
        series[1] = vec![f64::NAN; 120];
        let spec = PanelSpec::for_season(7, &[]);
        let panel = Panel {
            series: &series,
            covariates: None,
        };
        for m in Method::ALL {
            let f = forecast(m, &spec, panel, 113, 7);
            assert!(
                f.iter().flatten().all(|v| v.is_finite()),
                "{}: {f:?}",
                m.name()
            );
        }
    }

    #[test]
    fn conformal_widths_cover_as_promised_on_fresh_residuals() {
        let mut rng = crate::rng::Rng::new(9);
        let draw = |rng: &mut crate::rng::Rng| (rng.uniform() - 0.5).abs() * 2.0;
        let calib: Vec<Vec<f64>> = (0..3)
            .map(|_| (0..200).map(|_| draw(&mut rng)).collect())
            .collect();
        let w = conformal_half_widths(&calib, 0.8);
        for q in &w {
            assert!((q - 0.8).abs() < 0.1, "{q}");
        }
        let fresh: Vec<f64> = (0..5000).map(|_| draw(&mut rng)).collect();
        let covered = fresh.iter().filter(|e| **e <= w[0]).count() as f64 / 5000.0;
        assert!((covered - 0.8).abs() < 0.05, "{covered}");
        // Too few residuals for 95 % at each step: pooled, then the largest.
        let w = conformal_half_widths(&[vec![1.0, 2.0], vec![3.0]], 0.95);
        assert_eq!(w, vec![3.0, 3.0]);
    }

    fn fake(method: Method, residuals: Vec<Vec<Vec<f64>>>) -> MethodBacktest {
        let n = residuals[0].len();
        let mut per_series = vec![ErrorSums::default(); n];
        let mut total = ErrorSums::default();
        for o in &residuals {
            for (i, r) in o.iter().enumerate() {
                let zeros = vec![0.0; r.len()];
                let mut e = ErrorSums::default();
                e.add(r, &zeros, Some(1.0));
                per_series[i].merge(&e);
                total.merge(&e);
            }
        }
        MethodBacktest {
            method,
            total,
            per_series,
            residuals,
            seconds: 0.0,
        }
    }

    #[test]
    fn guarded_selection_switches_only_on_clear_evidence() {
        // Method A is better overall; on series 1, B is much better at every step; on series 2,
        // B wins by a hair once: per-series minimum would take it, the guard does not.
        let a = fake(
            Method::Ets,
            vec![
                vec![
                    vec![1.0; 7],
                    vec![5.0, 6.0, 5.0, 6.0, 5.0, 6.0, 5.0],
                    vec![1.0, 1.2, 0.8, 1.0, 1.1, 0.9, 1.0]
                ];
                2
            ],
        );
        let b = fake(
            Method::Linear,
            vec![
                vec![
                    vec![6.0; 7],
                    vec![1.0, 1.1, 0.9, 1.0, 1.2, 0.8, 1.0],
                    vec![1.0, 1.1, 0.8, 1.0, 1.1, 0.9, 1.0]
                ];
                2
            ],
        );
        let res = [a, b];
        assert_eq!(best_overall(&res), 0);
        assert_eq!(select_per_series(&res), vec![0, 1, 1]);
        assert_eq!(select_guarded(&res, 2.0), vec![0, 1, 0]);
    }
}
