//! Churn and arrears risk models on the lake's customers.
//!
//! Features describe each customer *as of* a day T from data strictly before T: the archive
//! (class, industry, tariff, capacity, tenure), bills and how they were paid (share paid late,
//! mean and worst days late, unpaid bills and the amount outstanding at T), consumption (the
//! last 30 days against the 90 before, idle days) and service contacts (complaints, work
//! orders, digital share of contacts). The label is what happened in the `horizon` days from
//! T: the account closed (churn), or a bill due in that window was not fully paid within
//! [`ARREARS_GRACE_DAYS`] of its due date (arrears).
//!
//! Training uses T = the last day with a full horizon of outcomes after it; every customer is
//! scored out-of-fold by 5-fold stratified cross-validation (ROC-AUC, PR-AUC, lift, Brier),
//! those held-out scores calibrate the probabilities (Platt), and a final model on all
//! customers is saved under `models/` in the lake. Scoring applies it as of the day after the
//! data ends and stores `risk_scores`, with each customer's top reasons (per-feature
//! contributions to the log-odds).

use crate::JobError;
use crate::query::{Query, dates, floats, ints, strings, timestamps};
use gridmark_analytics::classify;
use gridmark_analytics::gbdt::{self, Model, Params};
use gridmark_analytics::metrics;
use gridmark_core::civil::format_date;
use gridmark_core::{Clock, catalog, columns::Value};
use gridmark_lake::Lake;
use std::collections::HashMap;
use std::sync::Arc;

/// A bill counts as arrears when it is not fully paid this many days after its due date.
pub const ARREARS_GRACE_DAYS: i64 = 10;
const MS_PER_DAY: i64 = 86_400_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Churn,
    Arrears,
}

impl Target {
    pub fn name(self) -> &'static str {
        match self {
            Target::Churn => "churn",
            Target::Arrears => "arrears",
        }
    }
}

/// Feature names with the words used in reasons.
const FEATURES: &[(&str, &str)] = &[
    ("customer_class", "customer class"),
    ("industry", "industry"),
    ("tariff", "tariff"),
    ("contract_kw", "contracted kW"),
    ("tenure_days", "days since the account opened"),
    ("bills_12m", "bills in the last 12 months"),
    ("mean_bill_yuan", "mean bill, yuan (last 6)"),
    ("bill_trend", "last 3 bills ÷ the 3 before"),
    ("late_share", "share of bills paid late (12 months)"),
    ("mean_days_late", "mean days late (12 months)"),
    ("max_days_late", "most days late (12 months)"),
    ("unpaid_bills", "bills due and unpaid"),
    ("outstanding_yuan", "amount outstanding, yuan"),
    ("days_since_payment", "days since the last payment"),
    ("kwh_30d", "mean daily kWh, last 30 days"),
    ("kwh_ratio_30_90", "last 30 days ÷ the 90 before"),
    ("idle_days_30d", "days near zero in the last 30"),
    ("complaints_90d", "complaints in the last 90 days"),
    ("orders_180d", "work orders in the last 180 days"),
    (
        "digital_share",
        "share of contacts through app, web or WeChat",
    ),
];
const CATEGORICAL: usize = 3;

pub(crate) struct Bill {
    id: String,
    pub(crate) amount: i64,
    pub(crate) issue: i64,
    due: i64,
}

#[derive(Default)]
pub(crate) struct CustomerData {
    pub(crate) class: Option<String>,
    pub(crate) region: Option<String>,
    industry: Option<String>,
    tariff: Option<String>,
    contract_kw: Option<f64>,
    pub(crate) open: Option<i64>,
    close: Option<i64>,
    pub(crate) bills: Vec<Bill>,
    /// (paid day, bill id, fen)
    payments: Vec<(i64, Option<String>, i64)>,
    /// (day, kWh), sorted by day
    pub(crate) daily: Vec<(i64, f64)>,
    /// (day, is complaint)
    pub(crate) orders: Vec<(i64, bool)>,
    /// (day, channel)
    pub(crate) contacts: Vec<(i64, String)>,
}

impl CustomerData {
    /// The daily energy of days in `[from, to)` (binary search: `daily` is sorted by day).
    pub(crate) fn days_between(&self, from: i64, to: i64) -> &[(i64, f64)] {
        let lo = self.daily.partition_point(|x| x.0 < from);
        let hi = self.daily.partition_point(|x| x.0 < to);
        &self.daily[lo..hi.max(lo)]
    }
}

/// Everything the features need, loaded once.
pub struct RiskData {
    pub(crate) ids: Vec<String>,
    pub(crate) data: Vec<CustomerData>,
    /// Last day with readings or bills.
    pub last_day: i64,
}

fn day_of(ms: i64) -> i64 {
    ms.div_euclid(MS_PER_DAY)
}

impl RiskData {
    pub fn load(q: &Query, progress: &mut dyn FnMut(&str)) -> Result<Self, JobError> {
        progress("reading customers, bills and payments…");
        let mut index: HashMap<String, usize> = HashMap::new();
        let mut data: Vec<CustomerData> = Vec::new();
        let mut ids = Vec::new();
        for b in q.collect(
            "SELECT customer_id, customer_class, region, industry, tariff, contract_kw, open_date, close_date FROM customers",
        )? {
            let (id, cl, reg, ind, tar, kw, op, cls) = (
                strings(&b, "customer_id")?,
                strings(&b, "customer_class")?,
                strings(&b, "region")?,
                strings(&b, "industry")?,
                strings(&b, "tariff")?,
                floats(&b, "contract_kw")?,
                dates(&b, "open_date")?,
                dates(&b, "close_date")?,
            );
            for i in 0..b.num_rows() {
                let Some(id) = id[i].clone() else { continue };
                index.insert(id.clone(), data.len());
                ids.push(id);
                data.push(CustomerData {
                    class: cl[i].clone(),
                    region: reg[i].clone(),
                    industry: ind[i].clone(),
                    tariff: tar[i].clone(),
                    contract_kw: kw[i],
                    open: op[i],
                    close: cls[i],
                    ..CustomerData::default()
                });
            }
        }
        if data.is_empty() {
            return Err(JobError::invalid(
                "risk-model",
                "the lake has no customers (import the customers table first)",
            ));
        }
        let mut last_day = i64::MIN;
        for b in
            q.collect("SELECT bill_id, customer_id, amount_fen, issue_date, due_date FROM bills")?
        {
            let (bid, c, a, iss, due) = (
                strings(&b, "bill_id")?,
                strings(&b, "customer_id")?,
                ints(&b, "amount_fen")?,
                dates(&b, "issue_date")?,
                dates(&b, "due_date")?,
            );
            for i in 0..b.num_rows() {
                if let (Some(bid), Some(&k), Some(a), Some(iss), Some(due)) = (
                    &bid[i],
                    c[i].as_ref().and_then(|c| index.get(c)),
                    a[i],
                    iss[i],
                    due[i],
                ) {
                    last_day = last_day.max(iss);
                    data[k].bills.push(Bill {
                        id: bid.clone(),
                        amount: a,
                        issue: iss,
                        due,
                    });
                }
            }
        }
        for b in q.collect("SELECT bill_id, customer_id, paid_at, amount_fen FROM payments")? {
            let (bid, c, t, a) = (
                strings(&b, "bill_id")?,
                strings(&b, "customer_id")?,
                timestamps(&b, "paid_at")?,
                ints(&b, "amount_fen")?,
            );
            for i in 0..b.num_rows() {
                if let (Some(&k), Some(t), Some(a)) =
                    (c[i].as_ref().and_then(|c| index.get(c)), t[i], a[i])
                {
                    data[k].payments.push((day_of(t), bid[i].clone(), a));
                }
            }
        }
        progress("reading daily consumption…");
        let source = if crate::daily::has_validated(q)? {
            "daily_energy_validated"
        } else {
            "daily_energy"
        };
        q.for_each(
            &format!(
                "SELECT d.customer_id, e.day, sum(e.kwh) AS kwh FROM {source} e \
                 JOIN meter_dims d ON e.meter_id = d.meter_id GROUP BY 1, 2"
            ),
            |b| {
                let (c, d, k) = (
                    strings(b, "customer_id")?,
                    dates(b, "day")?,
                    floats(b, "kwh")?,
                );
                for i in 0..b.num_rows() {
                    if let (Some(&ci), Some(d), Some(k)) =
                        (c[i].as_ref().and_then(|c| index.get(c)), d[i], k[i])
                    {
                        last_day = last_day.max(d);
                        data[ci].daily.push((d, k));
                    }
                }
                Ok(())
            },
        )?;
        progress("reading work orders and contacts…");
        for b in q.collect("SELECT customer_id, created_at, kind FROM work_orders")? {
            let (c, t, kind) = (
                strings(&b, "customer_id")?,
                timestamps(&b, "created_at")?,
                strings(&b, "kind")?,
            );
            for i in 0..b.num_rows() {
                if let (Some(&ci), Some(t)) = (c[i].as_ref().and_then(|c| index.get(c)), t[i]) {
                    data[ci]
                        .orders
                        .push((day_of(t), kind[i].as_deref() == Some("complaint")));
                }
            }
        }
        for b in q.collect("SELECT customer_id, ts, channel FROM channel_events")? {
            let (c, t, ch) = (
                strings(&b, "customer_id")?,
                timestamps(&b, "ts")?,
                strings(&b, "channel")?,
            );
            for i in 0..b.num_rows() {
                if let (Some(&ci), Some(t), Some(ch)) =
                    (c[i].as_ref().and_then(|c| index.get(c)), t[i], &ch[i])
                {
                    data[ci].contacts.push((day_of(t), ch.clone()));
                }
            }
        }
        if last_day == i64::MIN {
            return Err(JobError::invalid(
                "risk-model",
                "the lake has no bills or readings to learn from",
            ));
        }
        for d in &mut data {
            d.daily.sort_by_key(|x| x.0);
        }
        Ok(RiskData {
            ids,
            data,
            last_day,
        })
    }

    /// Customers active at T (opened before, not closed by T).
    pub(crate) fn active(&self, t: i64) -> Vec<usize> {
        (0..self.data.len())
            .filter(|&i| {
                let c = &self.data[i];
                c.open.is_none_or(|o| o < t) && c.close.is_none_or(|cl| cl >= t)
            })
            .collect()
    }

    /// Feature row of customer `i` as of day `t` (data strictly before `t`).
    pub(crate) fn features(&self, i: usize, t: i64, cats: &Categories) -> Vec<f64> {
        let c = &self.data[i];
        let nan = f64::NAN;
        let mut row = vec![
            cats.code(0, c.class.as_deref()),
            cats.code(1, c.industry.as_deref()),
            cats.code(2, c.tariff.as_deref()),
            c.contract_kw.unwrap_or(nan),
            c.open.map_or(nan, |o| (t - o) as f64),
        ];
        // Bills issued before T, newest last.
        let mut bills: Vec<&Bill> = c.bills.iter().filter(|b| b.issue < t).collect();
        bills.sort_by_key(|b| b.issue);
        let recent: Vec<&Bill> = bills
            .iter()
            .copied()
            .filter(|b| b.issue >= t - 365)
            .collect();
        row.push(recent.len() as f64);
        let mean = |v: &[&Bill]| {
            if v.is_empty() {
                nan
            } else {
                v.iter().map(|b| b.amount as f64).sum::<f64>() / v.len() as f64 / 100.0
            }
        };
        let n = bills.len();
        row.push(mean(&bills[n.saturating_sub(6)..]));
        row.push(if n >= 6 {
            mean(&bills[n - 3..]) / mean(&bills[n - 6..n - 3])
        } else {
            nan
        });
        // Payment behaviour: for bills due before T, the day each was fully paid (if by T).
        let mut paid_by: HashMap<&str, Vec<(i64, i64)>> = HashMap::new();
        for (d, bid, a) in &c.payments {
            if *d < t
                && let Some(bid) = bid
            {
                paid_by.entry(bid.as_str()).or_default().push((*d, *a));
            }
        }
        let settled = |b: &Bill| -> Option<i64> {
            let mut p = paid_by.get(b.id.as_str()).cloned().unwrap_or_default();
            p.sort_unstable();
            let mut acc = 0;
            for (d, a) in p {
                acc += a;
                if acc >= b.amount {
                    return Some(d);
                }
            }
            None
        };
        let (mut late, mut due_n, mut days_late, mut max_late) = (0usize, 0usize, 0.0, 0.0f64);
        let (mut unpaid, mut outstanding) = (0usize, 0i64);
        for b in bills.iter().filter(|b| b.due < t && b.amount > 0) {
            let s = settled(b);
            if b.due >= t - 365 {
                due_n += 1;
                let l = (s.unwrap_or(t) - b.due).max(0) as f64;
                if l > 0.0 {
                    late += 1;
                }
                days_late += l;
                max_late = max_late.max(l);
            }
            if s.is_none() {
                unpaid += 1;
                let paid: i64 = paid_by
                    .get(b.id.as_str())
                    .map_or(0, |p| p.iter().map(|x| x.1).sum());
                outstanding += (b.amount - paid).max(0);
            }
        }
        let share = |a: usize, b: usize| if b == 0 { nan } else { a as f64 / b as f64 };
        row.push(share(late, due_n));
        row.push(if due_n == 0 {
            nan
        } else {
            days_late / due_n as f64
        });
        row.push(if due_n == 0 { nan } else { max_late });
        row.push(unpaid as f64);
        row.push(outstanding as f64 / 100.0);
        let last_pay = c.payments.iter().filter(|p| p.0 < t).map(|p| p.0).max();
        row.push(last_pay.map_or(nan, |d| (t - d) as f64));
        // Consumption.
        let window = |from: i64, to: i64| -> Vec<f64> {
            c.days_between(from, to).iter().map(|x| x.1).collect()
        };
        let avg = |v: &[f64]| {
            if v.is_empty() {
                nan
            } else {
                v.iter().sum::<f64>() / v.len() as f64
            }
        };
        let last30 = window(t - 30, t);
        let before = window(t - 120, t - 30);
        let (a30, a90) = (avg(&last30), avg(&before));
        row.push(a30);
        row.push(if a90 > 0.0 { a30 / a90 } else { nan });
        row.push(if last30.is_empty() {
            nan
        } else {
            last30.iter().filter(|&&v| v < 0.05 * a90.max(0.01)).count() as f64
        });
        // Service.
        row.push(
            c.orders
                .iter()
                .filter(|o| o.1 && o.0 < t && o.0 >= t - 90)
                .count() as f64,
        );
        row.push(
            c.orders
                .iter()
                .filter(|o| o.0 < t && o.0 >= t - 180)
                .count() as f64,
        );
        let contacts: Vec<bool> = c
            .contacts
            .iter()
            .filter(|x| x.0 < t && x.0 >= t - 365)
            .map(|x| is_digital(&x.1))
            .collect();
        row.push(share(
            contacts.iter().filter(|&&d| d).count(),
            contacts.len(),
        ));
        debug_assert_eq!(row.len(), FEATURES.len());
        row
    }

    /// The outcome in `[t, t + horizon)`, or None when it cannot be known yet.
    fn label(&self, i: usize, target: Target, t: i64, horizon: i64) -> Option<bool> {
        let c = &self.data[i];
        match target {
            Target::Churn => Some(c.close.is_some_and(|cl| cl >= t && cl < t + horizon)),
            Target::Arrears => {
                let due: Vec<&Bill> = c
                    .bills
                    .iter()
                    .filter(|b| b.amount > 0 && b.due >= t && b.due < t + horizon)
                    .filter(|b| b.due + ARREARS_GRACE_DAYS <= self.last_day)
                    .collect();
                if due.is_empty() {
                    return None;
                }
                Some(due.iter().any(|b| {
                    let paid: i64 = c
                        .payments
                        .iter()
                        .filter(|p| {
                            p.1.as_deref() == Some(b.id.as_str())
                                && p.0 <= b.due + ARREARS_GRACE_DAYS
                        })
                        .map(|p| p.2)
                        .sum();
                    paid < b.amount
                }))
            }
        }
    }
}

pub(crate) fn is_digital(channel: &str) -> bool {
    matches!(channel, "app" | "web" | "wechat")
}

/// Position of a feature in a row from [`RiskData::features`].
pub(crate) fn feature_index(name: &str) -> usize {
    FEATURES
        .iter()
        .position(|f| f.0 == name)
        .expect("a known feature name")
}

/// Category codes per categorical column (sorted distinct values at training time).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Categories(Vec<Vec<String>>);

impl Categories {
    pub(crate) fn from_data(d: &RiskData) -> Self {
        let mut cols: Vec<Vec<String>> = vec![Vec::new(); CATEGORICAL];
        for c in &d.data {
            for (k, v) in [&c.class, &c.industry, &c.tariff].into_iter().enumerate() {
                if let Some(v) = v {
                    cols[k].push(v.clone());
                }
            }
        }
        for c in &mut cols {
            c.sort();
            c.dedup();
        }
        Categories(cols)
    }

    fn code(&self, col: usize, v: Option<&str>) -> f64 {
        v.and_then(|v| self.0[col].iter().position(|x| x == v))
            .map_or(f64::NAN, |p| p as f64)
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrainOptions {
    pub target: Target,
    pub horizon_days: i64,
    /// Feature day for training; default the last day with a whole horizon of outcomes.
    pub as_of: Option<i64>,
    pub folds: usize,
    pub seed: u64,
}

/// What training measured.
#[derive(Debug, Clone)]
pub struct TrainReport {
    pub target: Target,
    pub as_of: i64,
    pub horizon_days: i64,
    pub customers: usize,
    pub positives: usize,
    /// Out-of-fold (held-out customers) metrics.
    pub auc: f64,
    pub pr_auc: f64,
    pub lift_top10: f64,
    /// Brier score of the calibrated out-of-fold probabilities, and of the base rate.
    pub brier: f64,
    pub brier_base_rate: f64,
    /// (mean predicted, observed rate, customers) per decile of calibrated probability.
    pub calibration: Vec<(f64, f64, usize)>,
    /// Gain importance per feature, largest first.
    pub importance: Vec<(String, f64)>,
    pub model_path: std::path::PathBuf,
    /// Calibrated out-of-fold probability per training customer.
    pub oof: Vec<(String, bool, f64)>,
    pub seconds: f64,
}

fn params(seed: u64) -> Params {
    Params {
        n_trees: 200,
        learning_rate: 0.05,
        max_leaves: 15,
        min_samples_leaf: 20,
        feature_fraction: 0.8,
        seed,
        ..Params::default()
    }
}

fn model_path(lake: &Lake, target: Target) -> std::path::PathBuf {
    lake.root()
        .join("models")
        .join(format!("{}.json", target.name()))
}

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

fn logit(p: f64) -> f64 {
    let p = p.clamp(1e-9, 1.0 - 1e-9);
    (p / (1.0 - p)).ln()
}

/// Trains, cross-validates, calibrates and saves the model.
pub fn train(
    lake: &Lake,
    clock: Arc<dyn Clock>,
    opts: &TrainOptions,
    progress: &mut dyn FnMut(&str),
) -> Result<TrainReport, JobError> {
    let started = clock.now_ms();
    if opts.horizon_days < 7 {
        return Err(JobError::invalid("--horizon", "at least 7 days"));
    }
    let q = Query::open(lake)?;
    let data = RiskData::load(&q, progress)?;
    let as_of = opts
        .as_of
        .unwrap_or(data.last_day + 1 - opts.horizon_days - ARREARS_GRACE_DAYS);
    let cats = Categories::from_data(&data);
    let (mut ids, mut x, mut y) = (Vec::new(), Vec::new(), Vec::new());
    for i in data.active(as_of) {
        if let Some(l) = data.label(i, opts.target, as_of, opts.horizon_days) {
            ids.push(data.ids[i].clone());
            x.extend(data.features(i, as_of, &cats));
            y.push(l);
        }
    }
    let positives = y.iter().filter(|&&l| l).count();
    if positives < opts.folds || y.len() - positives < opts.folds {
        return Err(JobError::invalid(
            opts.target.name(),
            format!(
                "{} customers with a known outcome as of {}, {positives} of them positive: too few to learn from ({} folds need both outcomes)",
                y.len(),
                format_date(as_of),
                opts.folds
            ),
        ));
    }
    let nf = FEATURES.len();
    progress(&format!(
        "{}: {} customers as of {}, {positives} positive; {}-fold cross-validation…",
        opts.target.name(),
        y.len(),
        format_date(as_of),
        opts.folds
    ));
    let p = params(opts.seed);
    let cv = classify::cross_validate(&x, nf, &y, opts.folds, opts.seed, &p)
        .map_err(|e| JobError::invalid("training", e.to_string()))?;
    let z: Vec<f64> = cv.scores.iter().map(|&s| logit(s)).collect();
    let (a, b) = classify::platt(&z, &y);
    let calibrated: Vec<f64> = z.iter().map(|&z| sigmoid(a * z + b)).collect();
    let rate = positives as f64 / y.len() as f64;
    let brier = classify::brier(&calibrated, &y);
    let brier_base_rate = classify::brier(&vec![rate; y.len()], &y);
    let calibration = deciles(&calibrated, &y);
    progress("fitting the final model on every customer…");
    let model =
        gbdt::fit(&x, nf, &y, &p).map_err(|e| JobError::invalid("training", e.to_string()))?;
    let gain = model.feature_importance_gain();
    let total: f64 = gain.iter().sum::<f64>().max(1e-12);
    let mut importance: Vec<(String, f64)> = FEATURES
        .iter()
        .zip(&gain)
        .map(|((n, _), g)| (n.to_string(), g / total))
        .collect();
    importance.sort_by(|a, b| b.1.total_cmp(&a.1));
    let path = model_path(lake, opts.target);
    let saved = serde_json::json!({
        "format": "gridmark-risk-model 1",
        "target": opts.target.name(),
        "trained_as_of": format_date(as_of),
        "horizon_days": opts.horizon_days,
        "features": FEATURES.iter().map(|f| f.0).collect::<Vec<_>>(),
        "categories": cats.0,
        "platt": [a, b],
        "cv": {"auc": cv.auc, "pr_auc": cv.pr_auc, "lift_top10": cv.lift_top10, "brier": brier},
        "gbdt": model.to_text(),
    });
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|source| JobError::Io {
            path: dir.into(),
            source,
        })?;
    }
    crate::write_atomic(&path, saved.to_string().as_bytes())?;
    let oof = ids
        .into_iter()
        .zip(y.iter().copied())
        .zip(calibrated.iter().copied())
        .map(|((i, l), p)| (i, l, p))
        .collect();
    Ok(TrainReport {
        target: opts.target,
        as_of,
        horizon_days: opts.horizon_days,
        customers: y.len(),
        positives,
        auc: cv.auc,
        pr_auc: cv.pr_auc,
        lift_top10: cv.lift_top10,
        brier,
        brier_base_rate,
        calibration,
        importance,
        model_path: path,
        oof,
        seconds: (clock.now_ms() - started) as f64 / 1000.0,
    })
}

fn deciles(p: &[f64], y: &[bool]) -> Vec<(f64, f64, usize)> {
    let mut order: Vec<usize> = (0..p.len()).collect();
    order.sort_by(|&a, &b| p[a].total_cmp(&p[b]));
    order
        .chunks(p.len().div_ceil(10).max(1))
        .map(|c| {
            let n = c.len() as f64;
            (
                c.iter().map(|&i| p[i]).sum::<f64>() / n,
                c.iter().filter(|&&i| y[i]).count() as f64 / n,
                c.len(),
            )
        })
        .collect()
}

/// One scored customer.
#[derive(Debug, Clone, PartialEq)]
pub struct Scored {
    pub customer_id: String,
    pub probability: f64,
    /// 1 = highest risk.
    pub rank: usize,
    pub band: &'static str,
    /// Up to three (feature words, value, contribution to the log-odds), largest first.
    pub reasons: Vec<(String, f64, f64)>,
}

#[derive(Debug, Clone)]
pub struct ScoreReport {
    pub target: Target,
    pub as_of: i64,
    pub horizon_days: i64,
    pub scored: Vec<Scored>,
    pub run_id: String,
    pub version: u64,
}

struct Saved {
    model: Model,
    cats: Categories,
    platt: (f64, f64),
    horizon: i64,
}

fn load_model(lake: &Lake, target: Target) -> Result<Saved, JobError> {
    let path = model_path(lake, target);
    let text = std::fs::read_to_string(&path).map_err(|_| {
        JobError::invalid(
            path.display().to_string(),
            format!(
                "no {} model: train one first with `gridmark risk-model train {}`",
                target.name(),
                target.name()
            ),
        )
    })?;
    let bad = |why: String| JobError::invalid(path.display().to_string(), why);
    let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
    if v["format"] != "gridmark-risk-model 1" || v["target"] != target.name() {
        return Err(bad(format!("not a gridmark {} model", target.name())));
    }
    let names: Vec<&str> = v["features"]
        .as_array()
        .map(|a| a.iter().filter_map(|s| s.as_str()).collect())
        .unwrap_or_default();
    if names != FEATURES.iter().map(|f| f.0).collect::<Vec<_>>() {
        return Err(bad(
            "trained on other features by another gridmark version: train it again".into(),
        ));
    }
    let cats: Vec<Vec<String>> =
        serde_json::from_value(v["categories"].clone()).map_err(|e| bad(e.to_string()))?;
    if cats.len() != CATEGORICAL {
        return Err(bad("wrong number of category lists".into()));
    }
    let platt = (
        v["platt"][0]
            .as_f64()
            .ok_or_else(|| bad("no calibration".into()))?,
        v["platt"][1]
            .as_f64()
            .ok_or_else(|| bad("no calibration".into()))?,
    );
    let model =
        Model::from_text(v["gbdt"].as_str().unwrap_or_default()).map_err(|e| bad(e.to_string()))?;
    if model.n_features() != FEATURES.len() {
        return Err(bad("feature count does not match".into()));
    }
    Ok(Saved {
        model,
        cats: Categories(cats),
        platt,
        horizon: v["horizon_days"].as_i64().unwrap_or(90),
    })
}

/// Scores every customer active at `as_of` (default: the day after the data ends) with the
/// saved model and replaces this target's rows in `risk_scores`.
pub fn score(
    lake: &Lake,
    clock: Arc<dyn Clock>,
    target: Target,
    as_of: Option<i64>,
    progress: &mut dyn FnMut(&str),
) -> Result<ScoreReport, JobError> {
    let saved = load_model(lake, target)?;
    let q = Query::open(lake)?;
    let data = RiskData::load(&q, progress)?;
    let as_of = as_of.unwrap_or(data.last_day + 1);
    let active = data.active(as_of);
    progress(&format!(
        "scoring {} customers as of {}…",
        active.len(),
        format_date(as_of)
    ));
    let (a, b) = saved.platt;
    let mut scored: Vec<Scored> = active
        .iter()
        .map(|&i| {
            let row = data.features(i, as_of, &saved.cats);
            let p = sigmoid(a * saved.model.predict_raw(&row) + b);
            let contrib = saved.model.contributions(&row);
            let mut order: Vec<usize> = (0..contrib.len()).filter(|&j| contrib[j] > 0.0).collect();
            order.sort_by(|&x, &y| contrib[y].total_cmp(&contrib[x]));
            let reasons = order
                .into_iter()
                .take(3)
                .map(|j| (FEATURES[j].1.to_string(), row[j], contrib[j] * a))
                .collect();
            Scored {
                customer_id: data.ids[i].clone(),
                probability: p,
                rank: 0,
                band: "",
                reasons,
            }
        })
        .collect();
    scored.sort_by(|x, y| {
        y.probability
            .total_cmp(&x.probability)
            .then_with(|| x.customer_id.cmp(&y.customer_id))
    });
    let n = scored.len();
    for (r, s) in scored.iter_mut().enumerate() {
        s.rank = r + 1;
        // Bands by rank, so a campaign can size its list: top 5 %, next 15 %, the rest.
        s.band = if r < metrics::budget(n, 0.05) {
            "high"
        } else if r < metrics::budget(n, 0.20) {
            "medium"
        } else {
            "low"
        };
    }
    let run_id = crate::vee::run_id(clock.now_ms());
    let mut rows = gridmark_core::Rows::new(catalog::table("risk_scores")?);
    for s in &scored {
        rows.push(vec![
            s.customer_id.clone().into(),
            target.name().into(),
            run_id.clone().into(),
            Value::Date(as_of as i32),
            (saved.horizon).into(),
            Value::Float(s.probability),
            (s.rank as i64).into(),
            s.band.into(),
            reason_text(&s.reasons).into(),
        ])?;
    }
    let mut writer = lake.writer(clock)?;
    // Keep the other target's scores: rewrite the table without this target's rows.
    let mut keep = gridmark_core::Rows::new(catalog::table("risk_scores")?);
    for b in q.collect(&format!(
        "SELECT * FROM risk_scores WHERE model <> {}",
        crate::query::literal(target.name())
    ))? {
        append_batch(&mut keep, &b)?;
    }
    let old: Vec<String> = writer
        .pending()
        .table("risk_scores")
        .map(|t| t.files.iter().map(|f| f.path.clone()).collect())
        .unwrap_or_default();
    for f in old {
        writer.remove_file("risk_scores", &f);
    }
    if !keep.is_empty() {
        gridmark_ingest::store_rows(&mut writer, &keep, "risk-model:kept")?;
    }
    gridmark_ingest::store_rows(&mut writer, &rows, &format!("risk-model:{run_id}"))?;
    let snapshot = writer.commit(&format!("risk-model score {}", target.name()))?;
    Ok(ScoreReport {
        target,
        as_of,
        horizon_days: saved.horizon,
        scored,
        run_id,
        version: snapshot.version,
    })
}

fn append_batch(
    rows: &mut gridmark_core::Rows,
    b: &datafusion::arrow::array::RecordBatch,
) -> Result<(), JobError> {
    let (c, m, r, a, h, p, k, band, why) = (
        strings(b, "customer_id")?,
        strings(b, "model")?,
        strings(b, "run_id")?,
        dates(b, "as_of")?,
        ints(b, "horizon_days")?,
        floats(b, "probability")?,
        ints(b, "rank")?,
        strings(b, "band")?,
        strings(b, "reasons")?,
    );
    let s = |v: &Option<String>| v.clone().map_or(Value::Null, Value::Str);
    for i in 0..b.num_rows() {
        rows.push(vec![
            s(&c[i]),
            s(&m[i]),
            s(&r[i]),
            a[i].map_or(Value::Null, |d| Value::Date(d as i32)),
            h[i].map_or(Value::Null, Value::Int),
            p[i].map_or(Value::Null, Value::Float),
            k[i].map_or(Value::Null, Value::Int),
            s(&band[i]),
            s(&why[i]),
        ])?;
    }
    Ok(())
}

/// "share of bills paid late (12 months) = 0.67 (+0.82); …"
pub fn reason_text(reasons: &[(String, f64, f64)]) -> String {
    reasons
        .iter()
        .map(|(w, v, c)| {
            let v = if v.is_nan() {
                "missing".to_string()
            } else if v.fract() == 0.0 {
                format!("{v:.0}")
            } else {
                format!("{v:.2}")
            };
            format!("{w} = {v} ({c:+.2})")
        })
        .collect::<Vec<_>>()
        .join("; ")
}
