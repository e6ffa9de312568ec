//! Forecasting the lake's consumption at every level of the hierarchy — total, regions,
//! transformer areas, customers — from daily energy (validated when VEE has run), with
//! calendar and temperature covariates, rolling-origin backtests, per-series model choice,
//! conformal intervals and reconciliation, written to the `forecasts` table.
//!
//! The hierarchy is one of sales: an area's series is the sum of its customers' meters, a
//! region's the sum of its areas, the total the sum of the regions; supply-meter energy (which
//! includes losses) is not part of it. Forecasts of the whole tree down to the requested level
//! are reconciled by weighted least squares with each node's backtest error variance, so the
//! numbers add up at every level.

use crate::JobError;
use crate::daily::DailyEnergy;
use crate::localtime::OffsetCache;
use crate::query::{Query, dates, floats, strings, timestamps};
use gridmark_analytics::forecast::errors::{ErrorSummary, ErrorSums};
use gridmark_analytics::forecast::panel::{self, Method, MethodBacktest, Panel, PanelSpec};
use gridmark_analytics::forecast::reconcile::reconcile;
use gridmark_core::catalog;
use gridmark_core::civil::format_date;
use gridmark_core::{Clock, Rows, Value};
use gridmark_lake::Lake;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// A level of the hierarchy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    Total,
    Region,
    Area,
    Customer,
}

impl Level {
    pub fn name(self) -> &'static str {
        match self {
            Level::Total => "total",
            Level::Region => "region",
            Level::Area => "area",
            Level::Customer => "customer",
        }
    }

    pub fn parse(s: &str) -> Option<Level> {
        [Level::Total, Level::Region, Level::Area, Level::Customer]
            .into_iter()
            .find(|l| l.name() == s)
    }
}

/// What to forecast and how to check it.
#[derive(Debug, Clone)]
pub struct ForecastOptions {
    /// The level shown; every level above it is forecast and reconciled too.
    pub level: Level,
    /// Days ahead.
    pub horizon: usize,
    /// First forecast day (days since 1970-01-01); `None` = the day after the data ends.
    /// An earlier day forecasts a period whose actuals are known, to see how good it is.
    pub origin: Option<i64>,
    /// Backtest origins, each one horizon before the next, ending at the origin.
    pub backtest_origins: usize,
    /// Methods compared (each series gets the best of them).
    pub methods: Vec<Method>,
}

impl Default for ForecastOptions {
    fn default() -> Self {
        Self {
            level: Level::Area,
            horizon: 7,
            origin: None,
            backtest_origins: 6,
            methods: Method::ALL.to_vec(),
        }
    }
}

/// One node of the hierarchy and its daily series.
#[derive(Debug, Clone)]
pub struct Node {
    pub level: Level,
    pub id: String,
    pub parent: Option<usize>,
    pub series: Vec<f64>,
}

/// The hierarchy's series on one day axis with the covariates of every day up to the end of
/// the forecast.
#[derive(Debug, Clone)]
pub struct Hierarchy {
    pub source: &'static str,
    pub first_day: i64,
    pub n_days: usize,
    pub nodes: Vec<Node>,
    /// Per day (data days then forecast days): weekday, holiday, working weekend day, day of
    /// year, mean temperature (°C; NaN when the lake has none).
    pub covariates: Vec<Vec<f64>>,
    /// Whether temperatures came from the lake's `series` table.
    pub has_temperature: bool,
}

/// Names of the covariate columns of [`Hierarchy::covariates`].
pub const COVARIATES: [&str; 5] = [
    "weekday",
    "holiday",
    "workday_swap",
    "day_of_year",
    "temperature",
];

fn sum_into(acc: &mut [f64], add: &[f64]) {
    for (a, v) in acc.iter_mut().zip(add) {
        if !v.is_nan() {
            *a = if a.is_nan() { *v } else { *a + v };
        }
    }
}

/// Loads daily energy and builds the tree down to `level`, with covariates for `extra_days`
/// beyond the data.
pub fn load_hierarchy(lake: &Lake, level: Level, extra_days: usize) -> Result<Hierarchy, JobError> {
    let q = Query::open(lake)?;
    let daily = DailyEnergy::load(&q, "forecast")?;
    let mut area_region: HashMap<String, String> = HashMap::new();
    for b in q.collect("SELECT area_id, region FROM areas")? {
        for (a, r) in strings(&b, "area_id")?
            .into_iter()
            .zip(strings(&b, "region")?)
        {
            if let (Some(a), Some(r)) = (a, r) {
                area_region.insert(a, r);
            }
        }
    }
    let n = daily.n_days;
    // customer (or meter without one) → (area, series)
    let mut customers: BTreeMap<String, (String, Vec<f64>)> = BTreeMap::new();
    for (id, row) in daily.ids.iter().zip(&daily.rows) {
        let dim = daily.dim(id);
        let key = dim.customer_id.clone().unwrap_or_else(|| id.clone());
        let area = dim.area_id.clone().unwrap_or_else(|| "(no area)".into());
        let e = customers
            .entry(key)
            .or_insert_with(|| (area, vec![f64::NAN; n]));
        sum_into(&mut e.1, row);
    }
    let mut nodes = vec![Node {
        level: Level::Total,
        id: "total".into(),
        parent: None,
        series: vec![f64::NAN; n],
    }];
    let mut region_ix: BTreeMap<String, usize> = BTreeMap::new();
    let mut area_ix: BTreeMap<String, usize> = BTreeMap::new();
    let mut areas: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for (area, s) in customers.values() {
        sum_into(
            areas
                .entry(area.clone())
                .or_insert_with(|| vec![f64::NAN; n]),
            s,
        );
    }
    if level >= Level::Region {
        let regions: std::collections::BTreeSet<String> = areas
            .keys()
            .map(|a| {
                area_region
                    .get(a)
                    .cloned()
                    .unwrap_or_else(|| "(no region)".into())
            })
            .collect();
        for r in regions {
            region_ix.insert(r.clone(), nodes.len());
            nodes.push(Node {
                level: Level::Region,
                id: r,
                parent: Some(0),
                series: vec![f64::NAN; n],
            });
        }
    }
    for (a, s) in &areas {
        sum_into(&mut nodes[0].series, s);
        let region = area_region
            .get(a)
            .cloned()
            .unwrap_or_else(|| "(no region)".into());
        if let Some(&r) = region_ix.get(&region) {
            sum_into(&mut nodes[r].series, s);
            if level >= Level::Area {
                area_ix.insert(a.clone(), nodes.len());
                nodes.push(Node {
                    level: Level::Area,
                    id: a.clone(),
                    parent: Some(r),
                    series: s.clone(),
                });
            }
        }
    }
    if level >= Level::Customer {
        for (c, (a, s)) in customers {
            let parent = area_ix.get(&a).copied();
            nodes.push(Node {
                level: Level::Customer,
                id: c,
                parent,
                series: s,
            });
        }
    }
    let (covariates, has_temperature) = covariates(&q, lake, daily.first_day, n, extra_days)?;
    Ok(Hierarchy {
        source: daily.source,
        first_day: daily.first_day,
        n_days: n,
        nodes,
        covariates,
        has_temperature,
    })
}

fn covariates(
    q: &Query,
    lake: &Lake,
    first_day: i64,
    n: usize,
    extra: usize,
) -> Result<(Vec<Vec<f64>>, bool), JobError> {
    let total = n + extra;
    let mut holiday = vec![0.0; total];
    let mut swap = vec![0.0; total];
    for b in q.collect("SELECT day, kind FROM holidays")? {
        for (d, k) in dates(&b, "day")?.into_iter().zip(strings(&b, "kind")?) {
            let Some(d) = d else { continue };
            let i = d - first_day;
            if i >= 0 && (i as usize) < total {
                if k.as_deref() == Some("workday_swap") {
                    swap[i as usize] = 1.0;
                } else {
                    holiday[i as usize] = 1.0;
                }
            }
        }
    }
    // Mean of every `weather.temp_c.*` series per local day.
    let tz = gridmark_core::tz::parse_tz(&lake.settings().default_tz)?;
    let mut offsets = OffsetCache::new(tz);
    let mut temp_sum = vec![0.0; total];
    let mut temp_n = vec![0usize; total];
    for b in q.collect("SELECT ts, value FROM series WHERE series_id LIKE 'weather.temp_c.%'")? {
        for (ts, v) in timestamps(&b, "ts")?.into_iter().zip(floats(&b, "value")?) {
            if let (Some(ts), Some(v)) = (ts, v) {
                let i = offsets.local_day(ts) - first_day;
                if i >= 0 && (i as usize) < total {
                    temp_sum[i as usize] += v;
                    temp_n[i as usize] += 1;
                }
            }
        }
    }
    let has_temperature = temp_n.iter().any(|&c| c > 0);
    let mut temperature: Vec<f64> = temp_sum
        .iter()
        .zip(&temp_n)
        .map(|(s, &c)| if c > 0 { s / c as f64 } else { f64::NAN })
        .collect();
    // Days without a temperature (the future, unless a weather forecast was imported) take the
    // mean of the last seven known days: persistence, the forecast any operator has.
    for i in 0..total {
        if temperature[i].is_nan() && has_temperature {
            let known: Vec<f64> = temperature[i.saturating_sub(7)..i]
                .iter()
                .copied()
                .filter(|v| !v.is_nan())
                .collect();
            if !known.is_empty() {
                temperature[i] = known.iter().sum::<f64>() / known.len() as f64;
            }
        }
    }
    let rows = (0..total)
        .map(|i| {
            let day = first_day + i as i64;
            let (y, _, _) = gridmark_core::civil::civil_from_days(day);
            let doy = day - gridmark_core::civil::days_from_civil(y, 1, 1);
            vec![
                (day + 3).rem_euclid(7) as f64,
                holiday[i],
                swap[i],
                doy as f64,
                temperature[i],
            ]
        })
        .collect();
    Ok((rows, has_temperature))
}

/// Panel settings for daily series: weekly season, MSTL weekly (and yearly when two years fit).
pub fn daily_spec() -> PanelSpec {
    let mut spec = PanelSpec::for_season(7, &[]);
    // Last week and the week before (when last week held a holiday), each flagged when its day
    // was a holiday or a working weekend day; a year of weekly training origins.
    spec.gbdt_lags = vec![7, 14];
    spec.gbdt_lag_flags = vec![1, 2];
    spec.gbdt_origins = 52;
    spec
}

/// A level's backtest: every method's errors and the per-node choice.
#[derive(Debug, Clone)]
pub struct LevelBacktest {
    pub level: Level,
    pub nodes: Vec<usize>,
    pub methods: Vec<MethodBacktest>,
    /// Index into `methods` per node.
    pub choice: Vec<usize>,
    /// Errors of the chosen methods.
    pub selected: ErrorSummary,
    /// Empirical coverage of the 80 % and 95 % intervals: calibrated on the older half of the
    /// origins, counted on the newer half (NaN with fewer than four origins).
    pub coverage80: f64,
    pub coverage95: f64,
}

/// Everything a forecast run or backtest computed.
#[derive(Debug, Clone)]
pub struct ForecastReport {
    pub run_id: String,
    pub source: &'static str,
    pub level: Level,
    pub horizon: usize,
    /// First forecast day.
    pub origin_day: i64,
    pub first_day: i64,
    pub backtest_origins: Vec<i64>,
    pub levels: Vec<LevelBacktest>,
    /// Per node: level, id, chosen method, forecast, intervals, actuals (NaN in the future),
    /// the last 56 days of history.
    pub forecasts: Vec<NodeForecast>,
    /// Largest |parent − Σ children| over the reconciled forecasts, kWh.
    pub max_incoherence: f64,
    pub has_temperature: bool,
    pub seconds: f64,
    pub version: Option<u64>,
}

#[derive(Debug, Clone)]
pub struct NodeForecast {
    pub level: Level,
    pub id: String,
    pub method: Method,
    pub forecast: Vec<f64>,
    pub lo80: Vec<f64>,
    pub hi80: Vec<f64>,
    pub lo95: Vec<f64>,
    pub hi95: Vec<f64>,
    pub actual: Vec<f64>,
    pub history: Vec<f64>,
}

/// Scale of a node for pooling residuals: its mean absolute daily value before `origin`.
fn node_scale(y: &[f64]) -> f64 {
    let (s, c) = y
        .iter()
        .filter(|v| !v.is_nan())
        .fold((0.0, 0usize), |(s, c), v| (s + v.abs(), c + 1));
    if c == 0 || s <= 0.0 {
        1.0
    } else {
        s / c as f64
    }
}

/// Scaled absolute residuals per step of the chosen methods over `origins_ix`.
fn pooled_residuals(
    bt: &[MethodBacktest],
    choice: &[usize],
    scales: &[f64],
    origins_ix: std::ops::Range<usize>,
    horizon: usize,
) -> Vec<Vec<f64>> {
    let mut per_step = vec![Vec::new(); horizon];
    for (i, &c) in choice.iter().enumerate() {
        for o in origins_ix.clone() {
            for (h, e) in bt[c].residuals[o][i].iter().enumerate() {
                per_step[h].push(e.abs() / scales[i]);
            }
        }
    }
    per_step
}

/// 80 % and 95 % half-widths per step, nested: a step whose 95 % width falls back to the pooled
/// residuals could otherwise come out narrower than its own 80 % width.
fn band_widths(pooled: &[Vec<f64>]) -> (Vec<f64>, Vec<f64>) {
    let w80 = panel::conformal_half_widths(pooled, 0.8);
    let w95 = panel::conformal_half_widths(pooled, 0.95)
        .into_iter()
        .zip(&w80)
        .map(|(a, b)| a.max(*b))
        .collect();
    (w80, w95)
}

/// Share of the newer half of the origins' errors inside the 80 % (`level` 0.8) or 95 % band
/// calibrated on the older half.
fn coverage(
    bt: &[MethodBacktest],
    choice: &[usize],
    scales: &[f64],
    k: usize,
    horizon: usize,
    level: f64,
) -> f64 {
    if k < 4 {
        return f64::NAN;
    }
    let half = k / 2;
    let (w80, w95) = band_widths(&pooled_residuals(bt, choice, scales, 0..half, horizon));
    let widths = if level > 0.9 { w95 } else { w80 };
    let (mut inside, mut n) = (0usize, 0usize);
    for (i, &c) in choice.iter().enumerate() {
        for o in half..k {
            for (h, e) in bt[c].residuals[o][i].iter().enumerate() {
                if e.is_nan() {
                    continue;
                }
                n += 1;
                if e.abs() <= widths[h] * scales[i] {
                    inside += 1;
                }
            }
        }
    }
    if n == 0 {
        f64::NAN
    } else {
        inside as f64 / n as f64
    }
}

/// Backtests and (unless `backtest_only`) forecasts, reconciles and commits to `forecasts`.
pub fn run(
    lake: &Lake,
    clock: Arc<dyn Clock>,
    opts: &ForecastOptions,
    backtest_only: bool,
    progress: &mut dyn FnMut(&str),
) -> Result<ForecastReport, JobError> {
    if opts.horizon == 0 || opts.horizon > 366 {
        return Err(JobError::invalid(
            "--horizon",
            format!("{} days: give 1 to 366 days", opts.horizon),
        ));
    }
    if opts.methods.is_empty() {
        return Err(JobError::invalid("--methods", "no method given"));
    }
    let started = clock.now_ms();
    let extra = opts.horizon + 7;
    let hier = load_hierarchy(lake, opts.level, extra)?;
    let h = opts.horizon;
    let origin = match opts.origin {
        None => hier.n_days,
        Some(day) => {
            let i = day - hier.first_day;
            if i < 0 || i as usize > hier.n_days {
                return Err(JobError::invalid(
                    "--origin",
                    format!(
                        "{} is outside the data ({} … {})",
                        format_date(day),
                        format_date(hier.first_day),
                        format_date(hier.first_day + hier.n_days as i64 - 1)
                    ),
                ));
            }
            i as usize
        }
    };
    let k = opts.backtest_origins.max(1);
    let spec = daily_spec();
    let min_history = 4 * spec.season + 2 * h;
    if origin < k * h + min_history {
        return Err(JobError::invalid(
            "forecast",
            format!(
                "{} days of data before the origin; {k} backtest origins of {h} days need at least {}",
                origin,
                k * h + min_history
            ),
        ));
    }
    let bt_origins: Vec<usize> = (1..=k).rev().map(|j| origin - j * h).collect();
    // Series padded with the forecast days (NaN), so the covariates and actuals line up.
    let total_len = hier.n_days + extra;
    let padded: Vec<Vec<f64>> = hier
        .nodes
        .iter()
        .map(|n| {
            let mut s = n.series.clone();
            s.resize(total_len, f64::NAN);
            s
        })
        .collect();
    let mut levels: Vec<LevelBacktest> = Vec::new();
    let mut chosen_forecasts: Vec<Vec<f64>> = vec![Vec::new(); hier.nodes.len()];
    let mut chosen_method = vec![Method::SeasonalNaive; hier.nodes.len()];
    let mut variances = vec![1.0; hier.nodes.len()];
    let mut widths: Vec<(Vec<f64>, Vec<f64>)> = vec![(Vec::new(), Vec::new()); hier.nodes.len()];
    let mut scales = vec![1.0; hier.nodes.len()];
    for level in [Level::Total, Level::Region, Level::Area, Level::Customer] {
        let idx: Vec<usize> = (0..hier.nodes.len())
            .filter(|&i| hier.nodes[i].level == level)
            .collect();
        if idx.is_empty() {
            continue;
        }
        let series: Vec<Vec<f64>> = idx.iter().map(|&i| padded[i].clone()).collect();
        let pnl = Panel {
            series: &series,
            covariates: Some(&hier.covariates),
        };
        progress(&format!(
            "{}: backtesting {} series × {} methods at {k} origins",
            level.name(),
            idx.len(),
            opts.methods.len()
        ));
        let bt = panel::backtest(&opts.methods, &spec, pnl, &bt_origins, h);
        let choice = panel::select_guarded(&bt, 2.0);
        let lscales: Vec<f64> = series.iter().map(|s| node_scale(&s[..origin])).collect();
        let mut sel = ErrorSums::default();
        for (j, &c) in choice.iter().enumerate() {
            sel.merge(&bt[c].per_series[j]);
            let mse = bt[c].per_series[j].summary().rmse.powi(2);
            variances[idx[j]] = mse;
            scales[idx[j]] = lscales[j];
            chosen_method[idx[j]] = bt[c].method;
        }
        let pooled = pooled_residuals(&bt, &choice, &lscales, 0..k, h);
        let (w80, w95) = band_widths(&pooled);
        for (j, &i) in idx.iter().enumerate() {
            widths[i] = (
                w80.iter().map(|w| w * lscales[j]).collect(),
                w95.iter().map(|w| w * lscales[j]).collect(),
            );
        }
        if !backtest_only {
            let mut needed: Vec<usize> = choice.clone();
            needed.sort_unstable();
            needed.dedup();
            for c in needed {
                let m = bt[c].method;
                progress(&format!("{}: forecasting with {}", level.name(), m.name()));
                let members: Vec<usize> = (0..choice.len()).filter(|&j| choice[j] == c).collect();
                // Per-series methods need only the series that chose them; the shared models
                // (linear, GBDT) train on the whole level.
                let forecasts = if matches!(m, Method::Linear | Method::Gbdt) {
                    let mut all = panel::forecast(m, &spec, pnl, origin, h);
                    members
                        .iter()
                        .map(|&j| std::mem::take(&mut all[j]))
                        .collect()
                } else {
                    let subset: Vec<Vec<f64>> =
                        members.iter().map(|&j| series[j].clone()).collect();
                    let sub = Panel {
                        series: &subset,
                        covariates: Some(&hier.covariates),
                    };
                    panel::forecast(m, &spec, sub, origin, h)
                };
                for (&j, f) in members.iter().zip(forecasts) {
                    chosen_forecasts[idx[j]] = f;
                }
            }
        }
        levels.push(LevelBacktest {
            level,
            nodes: idx,
            coverage80: coverage(&bt, &choice, &lscales, k, h, 0.8),
            coverage95: coverage(&bt, &choice, &lscales, k, h, 0.95),
            selected: sel.summary(),
            methods: bt,
            choice,
        });
    }
    let run_id = crate::vee::run_id(started);
    let mut report = ForecastReport {
        run_id,
        source: hier.source,
        level: opts.level,
        horizon: h,
        origin_day: hier.first_day + origin as i64,
        first_day: hier.first_day,
        backtest_origins: bt_origins
            .iter()
            .map(|&o| hier.first_day + o as i64)
            .collect(),
        levels,
        forecasts: Vec::new(),
        max_incoherence: 0.0,
        has_temperature: hier.has_temperature,
        seconds: 0.0,
        version: None,
    };
    if backtest_only {
        report.seconds = (clock.now_ms() - started) as f64 / 1000.0;
        return Ok(report);
    }
    let parents: Vec<Option<usize>> = hier.nodes.iter().map(|n| n.parent).collect();
    progress(&format!("reconciling {} series", hier.nodes.len()));
    let reconciled = reconcile(&parents, &chosen_forecasts, &variances)
        .map_err(|e| JobError::invalid("reconciliation", e.to_string()))?;
    let mut max_incoherence: f64 = 0.0;
    let mut child_sum: Vec<Vec<f64>> = vec![vec![0.0; h]; hier.nodes.len()];
    let mut has_children = vec![false; hier.nodes.len()];
    for (i, p) in parents.iter().enumerate() {
        if let Some(p) = *p {
            has_children[p] = true;
            for s in 0..h {
                child_sum[p][s] += reconciled[i][s];
            }
        }
    }
    for i in 0..hier.nodes.len() {
        if has_children[i] {
            for s in 0..h {
                max_incoherence = max_incoherence.max((reconciled[i][s] - child_sum[i][s]).abs());
            }
        }
    }
    report.max_incoherence = max_incoherence;
    let mut rows = Rows::new(catalog::table("forecasts")?);
    for (i, node) in hier.nodes.iter().enumerate() {
        let f = &reconciled[i];
        let (w80, w95) = &widths[i];
        let band = |w: &[f64], sign: f64| -> Vec<f64> {
            f.iter()
                .zip(w)
                .map(|(v, w)| {
                    let b = v + sign * w;
                    if sign < 0.0 { b.max(0.0) } else { b }
                })
                .collect()
        };
        let nf = NodeForecast {
            level: node.level,
            id: node.id.clone(),
            method: chosen_method[i],
            forecast: f.clone(),
            lo80: band(w80, -1.0),
            hi80: band(w80, 1.0),
            lo95: band(w95, -1.0),
            hi95: band(w95, 1.0),
            actual: padded[i][origin..origin + h].to_vec(),
            history: padded[i][origin.saturating_sub(56)..origin].to_vec(),
        };
        for s in 0..h {
            let actual = nf.actual[s];
            rows.push(vec![
                report.run_id.clone().into(),
                node.level.name().into(),
                node.id.clone().into(),
                nf.method.name().into(),
                Value::Date(report.origin_day as i32),
                Value::Date((report.origin_day + s as i64) as i32),
                ((s + 1) as i64).into(),
                Value::Float(nf.forecast[s]),
                Value::Float(nf.lo80[s]),
                Value::Float(nf.hi80[s]),
                Value::Float(nf.lo95[s]),
                Value::Float(nf.hi95[s]),
                if actual.is_nan() {
                    Value::Null
                } else {
                    Value::Float(actual)
                },
            ])?;
        }
        report.forecasts.push(nf);
    }
    let mut writer = lake.writer(clock.clone())?;
    gridmark_ingest::store_rows(&mut writer, &rows, &format!("forecast:{}", report.run_id))?;
    let snapshot = writer.commit("forecast run")?;
    report.version = Some(snapshot.version);
    report.seconds = (clock.now_ms() - started) as f64 / 1000.0;
    Ok(report)
}

/// The report as an HTML page: per level the backtest table, then the requested level's
/// forecasts against actuals as charts (the 12 largest nodes) and a table.
pub fn html(report: &ForecastReport) -> String {
    use crate::html::{Page, short};
    let mut page = Page::new(&format!(
        "Forecast by {} — {} days from {}",
        report.level.name(),
        report.horizon,
        format_date(report.origin_day)
    ));
    page.p(&format!(
        "Source: {}. Backtest origins: {}. Temperature covariate: {}. Run {}.",
        report.source,
        report
            .backtest_origins
            .iter()
            .map(|&d| format_date(d))
            .collect::<Vec<_>>()
            .join(", "),
        if report.has_temperature {
            "mean of the lake's weather.temp_c.* series"
        } else {
            "none in the lake"
        },
        report.run_id
    ));
    for lv in &report.levels {
        page.h2(&format!(
            "Backtest — {} ({} series)",
            lv.level.name(),
            lv.nodes.len()
        ));
        let mut rows = Vec::new();
        for (k, m) in lv.methods.iter().enumerate() {
            let s = m.total.summary();
            let chosen = lv.choice.iter().filter(|&&c| c == k).count();
            rows.push(vec![
                m.method.name().to_string(),
                short(s.mae),
                short(s.rmse),
                format!("{:.1}", s.mape),
                format!("{:.1}", s.smape),
                format!("{:.3}", s.mase),
                chosen.to_string(),
            ]);
        }
        let s = lv.selected;
        rows.push(vec![
            "chosen per series".into(),
            short(s.mae),
            short(s.rmse),
            format!("{:.1}", s.mape),
            format!("{:.1}", s.smape),
            format!("{:.3}", s.mase),
            lv.nodes.len().to_string(),
        ]);
        page.table(
            &[
                "method",
                "MAE kWh",
                "RMSE kWh",
                "MAPE %",
                "sMAPE %",
                "MASE",
                "series choosing it",
            ],
            &rows,
        );
        page.p(&format!(
            "Interval coverage on the newer half of the origins: 80 % → {:.0} %, 95 % → {:.0} %.",
            100.0 * lv.coverage80,
            100.0 * lv.coverage95
        ));
    }
    if report.forecasts.is_empty() {
        return page.finish();
    }
    let mut shown: Vec<&NodeForecast> = report
        .forecasts
        .iter()
        .filter(|f| f.level == report.level)
        .collect();
    shown.sort_by(|a, b| {
        b.history
            .iter()
            .filter(|v| !v.is_nan())
            .sum::<f64>()
            .total_cmp(&a.history.iter().filter(|v| !v.is_nan()).sum::<f64>())
    });
    page.h2(&format!(
        "Forecasts — {} (reconciled; largest first)",
        report.level.name()
    ));
    for f in shown.iter().take(12) {
        // Four weeks of history keep the forecast days readable beside them.
        let keep = f.history.len().min(28);
        let history = &f.history[f.history.len() - keep..];
        let hist = history.len();
        let x: Vec<String> = (0..hist + f.forecast.len())
            .map(|i| format_date(report.origin_day - hist as i64 + i as i64))
            .collect();
        let pad = |v: &[f64]| -> Vec<f64> {
            let mut out = vec![f64::NAN; hist];
            out.extend_from_slice(v);
            out
        };
        let mut actual = history.to_vec();
        actual.extend_from_slice(&f.actual);
        page.line_chart(
            &format!("{} {} — {}", report.level.name(), f.id, f.method.name()),
            &x,
            &[
                ("actual", actual),
                ("forecast", pad(&f.forecast)),
                ("80 % low", pad(&f.lo80)),
                ("80 % high", pad(&f.hi80)),
                ("95 % low", pad(&f.lo95)),
                ("95 % high", pad(&f.hi95)),
            ],
        );
    }
    let mut rows = Vec::new();
    for f in &shown {
        for s in 0..f.forecast.len() {
            rows.push(vec![
                f.id.clone(),
                format_date(report.origin_day + s as i64),
                f.method.name().into(),
                short(f.forecast[s]),
                format!("{} – {}", short(f.lo80[s]), short(f.hi80[s])),
                format!("{} – {}", short(f.lo95[s]), short(f.hi95[s])),
                if f.actual[s].is_nan() {
                    "—".into()
                } else {
                    short(f.actual[s])
                },
            ]);
        }
    }
    rows.truncate(2000);
    page.table(
        &[
            "node",
            "day",
            "model",
            "forecast kWh",
            "80 % interval",
            "95 % interval",
            "actual kWh",
        ],
        &rows,
    );
    page.finish()
}
