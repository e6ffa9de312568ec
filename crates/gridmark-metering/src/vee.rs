//! Validation, estimation and editing (VEE) of one meter's interval series.
//!
//! The raw readings are never changed: [`run`] returns the validated series beside them, every
//! interval with its [`Quality`], every changed interval as an [`Edit`] (rule, before, after)
//! and every suspicious stretch as a [`Finding`]. The caller stores all three, so an edit can be
//! traced back to the rule and the raw value that caused it.
//!
//! Rules run in the order of [`VeeConfig::rules`]; a value invalidated by an earlier rule is not
//! seen by a later one. Invalidated and missing intervals are then estimated: linear
//! interpolation for gaps of at most [`VeeConfig::linear_max`] intervals, the meter's own profile
//! (the same slot of the same weekday in nearby weeks, else the same slot of nearby days) for
//! gaps of at most [`VeeConfig::estimate_max`], and longer gaps stay missing.
//!
//! Sign convention: positive kWh is energy delivered to the customer (import); a negative
//! interval is energy exported to the grid. Unless the meter is net-metered, a negative interval
//! is an error.

use serde::{Deserialize, Serialize};

const WEEK_MS: i64 = 7 * 86_400_000;
const DAY_MS: i64 = 86_400_000;

/// One validation rule, with its parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "rule", rename_all = "snake_case", deny_unknown_fields)]
pub enum Rule {
    /// A timestamp that is not a multiple of the interval is moved to the nearest free slot.
    Misaligned,
    /// A negative interval larger in size than `factor` × the meter's high quantile (and at
    /// least `min_kwh`): a cumulative register that was reset or rolled over.
    RegisterReset { factor: f64, min_kwh: f64 },
    /// Any other negative interval: reverse flow. Kept (flagged) on net-metered meters,
    /// invalidated otherwise.
    Negative,
    /// A value above `factor` × the meter's high quantile and at least `min_kwh`.
    Spike { factor: f64, min_kwh: f64 },
    /// More energy than the contract capacity allows in one interval
    /// (`factor` × contract kW × interval hours).
    Capacity { factor: f64 },
    /// The same value, at least `min_kwh`, repeated for at least `min_intervals` intervals;
    /// or any non-zero value repeated for at least `long_intervals`. Small values repeat
    /// honestly for a few hours (an idle load read at the register's resolution), not for days.
    Stuck {
        min_intervals: usize,
        min_kwh: f64,
        long_intervals: usize,
    },
    /// Zero for at least `min_intervals` intervals on a meter that usually reads above zero.
    /// `estimate: false` only flags it (a vacant home reads zero too).
    ZeroRun {
        min_intervals: usize,
        estimate: bool,
    },
}

impl Rule {
    pub fn name(&self) -> &'static str {
        match self {
            Rule::Misaligned => "misaligned",
            Rule::RegisterReset { .. } => "register_reset",
            Rule::Negative => "negative",
            Rule::Spike { .. } => "spike",
            Rule::Capacity { .. } => "capacity",
            Rule::Stuck { .. } => "stuck",
            Rule::ZeroRun { .. } => "zero_run",
        }
    }
}

/// The ordered rules and the estimation limits. Counts are in intervals of the meter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VeeConfig {
    pub rules: Vec<Rule>,
    /// Longest gap filled by linear interpolation, in hours.
    pub linear_max_hours: f64,
    /// Longest gap estimated at all, in hours; longer gaps stay missing.
    pub estimate_max_hours: f64,
    /// Weeks searched on each side for the profile estimate.
    pub profile_weeks: usize,
    /// Which meters may export (negative intervals are reverse flow, not errors).
    pub net_metering: NetMetering,
    /// A local day is sufficient for billing and analysis when at least this share of its
    /// intervals were read (not estimated).
    pub sufficient_share: f64,
}

impl Default for VeeConfig {
    fn default() -> Self {
        VeeConfig {
            rules: vec![
                Rule::Misaligned,
                Rule::RegisterReset {
                    factor: 20.0,
                    min_kwh: 50.0,
                },
                Rule::Negative,
                Rule::Spike {
                    factor: 12.0,
                    min_kwh: 5.0,
                },
                Rule::Capacity { factor: 3.0 },
                Rule::Stuck {
                    min_intervals: 8,
                    min_kwh: 0.02,
                    long_intervals: 96,
                },
                Rule::ZeroRun {
                    min_intervals: 32,
                    estimate: false,
                },
            ],
            linear_max_hours: 1.0,
            estimate_max_hours: 7.0 * 24.0,
            profile_weeks: 4,
            net_metering: NetMetering::Auto,
            sufficient_share: 0.9,
        }
    }
}

impl VeeConfig {
    /// Checks the parameters; the message names the rule and field.
    pub fn validate(&self) -> Result<(), String> {
        let positive = |rule: &str, field: &str, v: f64| {
            if v.is_finite() && v > 0.0 {
                Ok(())
            } else {
                Err(format!(
                    "rule {rule}: {field} must be a positive number, got {v}"
                ))
            }
        };
        for r in &self.rules {
            match r {
                Rule::RegisterReset { factor, min_kwh } | Rule::Spike { factor, min_kwh } => {
                    positive(r.name(), "factor", *factor)?;
                    positive(r.name(), "min_kwh", *min_kwh)?;
                }
                Rule::Capacity { factor } => positive(r.name(), "factor", *factor)?,
                Rule::Stuck { min_intervals, .. } | Rule::ZeroRun { min_intervals, .. } => {
                    if *min_intervals < 2 {
                        return Err(format!(
                            "rule {}: min_intervals must be at least 2",
                            r.name()
                        ));
                    }
                }
                Rule::Misaligned | Rule::Negative => {}
            }
        }
        let mut seen = Vec::new();
        for r in &self.rules {
            if seen.contains(&r.name()) {
                return Err(format!("rule {} is listed twice", r.name()));
            }
            seen.push(r.name());
        }
        if !(self.linear_max_hours >= 0.0 && self.estimate_max_hours >= self.linear_max_hours) {
            return Err(
                "estimate_max_hours must be at least linear_max_hours, both non-negative".into(),
            );
        }
        if !(0.0..=1.0).contains(&self.sufficient_share) {
            return Err("sufficient_share must be between 0 and 1".into());
        }
        Ok(())
    }
}

/// Which meters are net-metered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NetMetering {
    /// A meter is net-metered when its archive says so, else when it exported (after
    /// register resets are removed) on at least [`AUTO_EXPORT_DAYS`] different days: a rooftop
    /// PV customer exports most sunny days, a wiring fault rarely repeats so regularly.
    Auto,
    /// Every meter may export.
    All,
    /// No meter may export: every negative interval is an error.
    None,
}

/// Days with export that make a meter net-metered under [`NetMetering::Auto`].
pub const AUTO_EXPORT_DAYS: usize = 3;

/// The quality flag of one validated interval (the `quality` column).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Quality {
    /// Read and passed every rule.
    Validated,
    /// Missing or invalidated, and filled by estimation.
    Estimated,
    /// Read, and changed by a rule without estimation (a misaligned reading moved).
    Edited,
    /// Missing or invalidated, and too long a gap to estimate: not in the output.
    Missing,
}

impl Quality {
    pub fn as_str(self) -> &'static str {
        match self {
            Quality::Validated => "validated",
            Quality::Estimated => "estimated",
            Quality::Edited => "edited",
            Quality::Missing => "missing",
        }
    }
}

/// How an estimated value was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    Linear,
    Profile,
    /// Not estimated (gap too long, or a move/flag with no new value).
    None,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Linear => "linear",
            Method::Profile => "profile",
            Method::None => "none",
        }
    }
}

/// One changed interval: what was there, what is there now, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Edit {
    pub ts: i64,
    /// `missing` for an interval that was never read, else the rule that invalidated it.
    pub rule: &'static str,
    pub before: Option<f64>,
    pub after: Option<f64>,
    pub quality: Quality,
    pub method: Method,
}

/// A stretch the rules found suspicious, whether or not it was changed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub rule: &'static str,
    pub start: i64,
    /// Exclusive end of the stretch (start of the interval after it).
    pub end: i64,
    pub intervals: usize,
    /// `invalidated` (values replaced or dropped) or `flagged` (kept).
    pub action: &'static str,
    pub detail: String,
}

/// Per local day: how much was read, estimated, edited and left missing.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DayQuality {
    /// Local day number (days since 1970-01-01).
    pub day: i64,
    pub expected: u32,
    pub read: u32,
    pub validated: u32,
    pub estimated: u32,
    pub edited: u32,
    pub missing: u32,
    pub sufficient: bool,
}

/// What VEE knows about a meter besides its readings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MeterInfo {
    pub interval_s: i64,
    /// Contracted capacity in kW (after the CT/PT multiplier), when known.
    pub contract_kw: Option<f64>,
    /// Whether the archive says the meter is net-metered; `None` = unknown.
    pub net_metered: Option<bool>,
}

/// The validated series of one meter and the record of how it was made.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct VeeOutput {
    /// (UTC ms, kWh, quality) for every interval that has a value, ascending.
    pub series: Vec<(i64, f64, Quality)>,
    pub edits: Vec<Edit>,
    pub findings: Vec<Finding>,
    pub days: Vec<DayQuality>,
}

#[derive(Clone, Copy, PartialEq)]
enum Slot {
    Missing,
    Read,
    Moved,
    Invalid(&'static str),
}

/// Validates, estimates and edits one meter's readings.
///
/// `ts` (UTC ms) and `kwh` are the raw readings in any order; exact duplicate timestamps keep the
/// first. The expected intervals run from the first to the last reading. `local_day` maps a UTC
/// instant to its local day, so the day report follows the lake's time zone.
pub fn run(
    cfg: &VeeConfig,
    meter: MeterInfo,
    ts: &[i64],
    kwh: &[f64],
    local_day: &dyn Fn(i64) -> i64,
) -> VeeOutput {
    let step = meter.interval_s * 1000;
    let mut out = VeeOutput::default();
    if ts.is_empty() || step <= 0 {
        return out;
    }
    let align = cfg.rules.contains(&Rule::Misaligned);
    let slot_of = |t: i64| -> i64 {
        if align {
            (t as f64 / step as f64).round() as i64
        } else {
            t.div_euclid(step)
        }
    };
    let first = ts.iter().map(|&t| slot_of(t)).min().unwrap_or(0);
    let last = ts.iter().map(|&t| slot_of(t)).max().unwrap_or(0);
    let n = (last - first + 1) as usize;
    let t0 = first * step;
    let mut vals = vec![f64::NAN; n];
    let mut raw = vec![f64::NAN; n];
    let mut state = vec![Slot::Missing; n];
    let mut order: Vec<usize> = (0..ts.len()).collect();
    // Aligned readings first, so a misaligned one only takes a slot nobody else reads.
    order.sort_by_key(|&i| (ts[i] % step != 0, ts[i]));
    let mut moved: Vec<(i64, i64)> = Vec::new();
    for i in order {
        let s = (slot_of(ts[i]) - first) as usize;
        let misaligned = ts[i].rem_euclid(step) != 0;
        if state[s] != Slot::Missing || !kwh[i].is_finite() {
            continue;
        }
        vals[s] = kwh[i];
        raw[s] = kwh[i];
        if misaligned {
            state[s] = Slot::Moved;
            moved.push((ts[i], t0 + s as i64 * step));
        } else {
            state[s] = Slot::Read;
        }
    }
    for (from, to) in &moved {
        out.findings.push(Finding {
            rule: "misaligned",
            start: *to,
            end: to + step,
            intervals: 1,
            action: "edited",
            detail: format!("reading at {} ms moved to the interval start {}", from, to),
        });
    }
    let high = high_quantile(&vals);
    let hours = meter.interval_s as f64 / 3600.0;
    for rule in &cfg.rules {
        let name = rule.name();
        let invalidate = |s: usize, state: &mut [Slot], vals: &mut [f64]| {
            state[s] = Slot::Invalid(name);
            vals[s] = f64::NAN;
        };
        match *rule {
            Rule::Misaligned => {}
            Rule::RegisterReset { factor, min_kwh } => {
                let limit = (factor * high).max(min_kwh);
                for s in 0..n {
                    if vals[s] < -limit {
                        out.findings
                            .push(point(name, t0, step, s, vals[s], "invalidated"));
                        invalidate(s, &mut state, &mut vals);
                    }
                }
            }
            Rule::Negative => {
                let net = match cfg.net_metering {
                    NetMetering::All => true,
                    NetMetering::None => false,
                    NetMetering::Auto => meter.net_metered.unwrap_or_else(|| {
                        let mut days: Vec<i64> = (0..n)
                            .filter(|&s| vals[s] < 0.0)
                            .map(|s| (t0 + s as i64 * step).div_euclid(DAY_MS))
                            .collect();
                        days.dedup();
                        days.len() >= AUTO_EXPORT_DAYS
                    }),
                };
                for s in 0..n {
                    if vals[s] < 0.0 {
                        if net {
                            out.findings.push(point(
                                "reverse_flow",
                                t0,
                                step,
                                s,
                                vals[s],
                                "flagged",
                            ));
                        } else {
                            out.findings
                                .push(point(name, t0, step, s, vals[s], "invalidated"));
                            invalidate(s, &mut state, &mut vals);
                        }
                    }
                }
            }
            Rule::Spike { factor, min_kwh } => {
                let limit = (factor * high).max(min_kwh);
                for s in 0..n {
                    if vals[s] > limit {
                        out.findings
                            .push(point(name, t0, step, s, vals[s], "invalidated"));
                        invalidate(s, &mut state, &mut vals);
                    }
                }
            }
            Rule::Capacity { factor } => {
                let Some(kw) = meter.contract_kw.filter(|k| *k > 0.0) else {
                    continue;
                };
                let limit = factor * kw * hours;
                for s in 0..n {
                    if vals[s] > limit {
                        out.findings
                            .push(point(name, t0, step, s, vals[s], "invalidated"));
                        invalidate(s, &mut state, &mut vals);
                    }
                }
            }
            Rule::Stuck {
                min_intervals,
                min_kwh,
                long_intervals,
            } => {
                for (a, b) in runs(&vals, |x, y| x == y && x != 0.0) {
                    let len = b - a;
                    if (len >= min_intervals && vals[a].abs() >= min_kwh) || len >= long_intervals {
                        out.findings.push(stretch(
                            name,
                            t0,
                            step,
                            a,
                            b,
                            "invalidated",
                            format!("{} repeated {} times", vals[a], b - a),
                        ));
                        for s in a..b {
                            invalidate(s, &mut state, &mut vals);
                        }
                    }
                }
            }
            Rule::ZeroRun {
                min_intervals,
                estimate,
            } => {
                if median_positive_share(&vals) < 0.5 {
                    continue; // a meter that mostly reads zero: zeros are its normal
                }
                for (a, b) in runs(&vals, |x, y| x == 0.0 && y == 0.0) {
                    if b - a >= min_intervals && vals[a] == 0.0 {
                        let action = if estimate { "invalidated" } else { "flagged" };
                        out.findings.push(stretch(
                            name,
                            t0,
                            step,
                            a,
                            b,
                            action,
                            format!("zero for {} intervals", b - a),
                        ));
                        if estimate {
                            for s in a..b {
                                invalidate(s, &mut state, &mut vals);
                            }
                        }
                    }
                }
            }
        }
    }
    let linear_max = (cfg.linear_max_hours / hours).floor() as usize;
    let estimate_max = (cfg.estimate_max_hours / hours).floor() as usize;
    let clean = vals.clone();
    let mut quality = vec![Quality::Validated; n];
    let mut method = vec![Method::None; n];
    for (a, b) in gaps(&vals) {
        let len = b - a;
        if len <= linear_max && a > 0 && b < n {
            let (y0, y1) = (clean[a - 1], clean[b]);
            for s in a..b {
                let w = (s - a + 1) as f64 / (len + 1) as f64;
                vals[s] = y0 + (y1 - y0) * w;
                quality[s] = Quality::Estimated;
                method[s] = Method::Linear;
            }
        } else if len <= estimate_max {
            for s in a..b {
                match profile_value(&clean, s, step, cfg.profile_weeks) {
                    Some(v) => {
                        vals[s] = v;
                        quality[s] = Quality::Estimated;
                        method[s] = Method::Profile;
                    }
                    None => quality[s] = Quality::Missing,
                }
            }
        } else {
            for q in &mut quality[a..b] {
                *q = Quality::Missing;
            }
        }
        if quality[a..b].contains(&Quality::Missing) {
            out.findings.push(stretch(
                "not_estimated",
                t0,
                step,
                a,
                b,
                "flagged",
                format!(
                    "{len} intervals without a value; longer than the {estimate_max}-interval limit or no history to estimate from"
                ),
            ));
        }
    }
    for s in 0..n {
        let t = t0 + s as i64 * step;
        let before = raw[s].is_finite().then_some(raw[s]);
        let after = vals[s].is_finite().then_some(vals[s]);
        let q = match (state[s], quality[s]) {
            (Slot::Moved, Quality::Validated) => Quality::Edited,
            (_, q) => q,
        };
        let rule = match state[s] {
            Slot::Missing => Some("missing"),
            Slot::Invalid(r) => Some(r),
            Slot::Moved => Some("misaligned"),
            Slot::Read => None,
        };
        if let Some(rule) = rule {
            out.edits.push(Edit {
                ts: t,
                rule,
                before,
                after,
                quality: q,
                method: method[s],
            });
        }
        if let Some(v) = after {
            out.series.push((t, v, q));
        }
        let day = local_day(t);
        if out.days.last().is_none_or(|d| d.day != day) {
            out.days.push(DayQuality {
                day,
                expected: 0,
                read: 0,
                validated: 0,
                estimated: 0,
                edited: 0,
                missing: 0,
                sufficient: false,
            });
        }
        let d = out.days.last_mut().expect("pushed above");
        d.expected += 1;
        if state[s] != Slot::Missing {
            d.read += 1;
        }
        match q {
            Quality::Validated => d.validated += 1,
            Quality::Estimated => d.estimated += 1,
            Quality::Edited => d.edited += 1,
            Quality::Missing => d.missing += 1,
        }
    }
    // Sufficiency is judged against a whole day, so the partial first and last days of a
    // series (counted from its first reading to its last) are never called sufficient by luck.
    let per_day = (DAY_MS / step).max(1) as u32;
    for d in &mut out.days {
        d.sufficient = (d.validated + d.edited) as f64 >= cfg.sufficient_share * per_day as f64;
    }
    out
}

fn point(
    rule: &'static str,
    t0: i64,
    step: i64,
    s: usize,
    v: f64,
    action: &'static str,
) -> Finding {
    stretch(rule, t0, step, s, s + 1, action, format!("value {v}"))
}

fn stretch(
    rule: &'static str,
    t0: i64,
    step: i64,
    a: usize,
    b: usize,
    action: &'static str,
    detail: String,
) -> Finding {
    Finding {
        rule,
        start: t0 + a as i64 * step,
        end: t0 + b as i64 * step,
        intervals: b - a,
        action,
        detail,
    }
}

/// The 99th percentile of the meter's finite non-negative values: a scale for "far too much"
/// that a few spikes cannot move.
fn high_quantile(vals: &[f64]) -> f64 {
    let mut v: Vec<f64> = vals.iter().copied().filter(|x| *x >= 0.0).collect();
    if v.is_empty() {
        return 0.0;
    }
    let k = ((v.len() - 1) as f64 * 0.99).round() as usize;
    let (_, q, _) = v.select_nth_unstable_by(k, f64::total_cmp);
    *q
}

fn median_positive_share(vals: &[f64]) -> f64 {
    let (pos, all) = vals.iter().fold((0usize, 0usize), |(p, a), x| {
        if x.is_finite() {
            (p + usize::from(*x > 0.0), a + 1)
        } else {
            (p, a)
        }
    });
    if all == 0 {
        0.0
    } else {
        pos as f64 / all as f64
    }
}

/// Maximal runs [a, b) of finite values where `same(v[i-1], v[i])` holds between neighbours.
fn runs(vals: &[f64], same: impl Fn(f64, f64) -> bool) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut a = 0;
    for s in 1..=vals.len() {
        let cont = s < vals.len()
            && vals[s].is_finite()
            && vals[s - 1].is_finite()
            && same(vals[s - 1], vals[s]);
        if !cont {
            if s - a >= 2 {
                out.push((a, s));
            }
            a = s;
        }
    }
    out
}

/// Maximal runs [a, b) of NaN.
fn gaps(vals: &[f64]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut s = 0;
    while s < vals.len() {
        if vals[s].is_nan() {
            let a = s;
            while s < vals.len() && vals[s].is_nan() {
                s += 1;
            }
            out.push((a, s));
        } else {
            s += 1;
        }
    }
    out
}

/// The mean of the same slot in the nearest weeks (both sides, up to `weeks` each), else of
/// the same slot on the nearest days; `None` when the meter has no such history.
fn profile_value(clean: &[f64], s: usize, step: i64, weeks: usize) -> Option<f64> {
    for period in [WEEK_MS / step, DAY_MS / step] {
        let period = period as usize;
        if period == 0 {
            continue;
        }
        let reach = if period == (WEEK_MS / step) as usize {
            weeks
        } else {
            weeks * 7
        };
        let (mut sum, mut count) = (0.0, 0usize);
        for k in 1..=reach {
            for idx in [s.checked_sub(k * period), Some(s + k * period)] {
                if let Some(v) = idx.and_then(|i| clean.get(i)).filter(|v| v.is_finite()) {
                    sum += v;
                    count += 1;
                }
            }
            if count >= 2 * weeks.min(2) {
                break;
            }
        }
        if count > 0 {
            return Some(sum / count as f64);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const STEP: i64 = 900_000;

    fn day(t: i64) -> i64 {
        t.div_euclid(DAY_MS)
    }

    fn series(values: &[f64]) -> (Vec<i64>, Vec<f64>) {
        let ts = (0..values.len() as i64).map(|i| i * STEP).collect();
        (ts, values.to_vec())
    }

    fn meter() -> MeterInfo {
        MeterInfo {
            interval_s: 900,
            contract_kw: None,
            net_metered: None,
        }
    }

    /// A smooth day shape repeated: 0.2–0.8 kWh, never repeating exactly.
    fn shape(n: usize) -> Vec<f64> {
        (0..n)
            .map(|i| {
                let x = (i % 96) as f64 / 96.0 * std::f64::consts::TAU;
                0.5 + 0.3 * x.sin() + i as f64 * 1e-6
            })
            .collect()
    }

    fn only(out: &VeeOutput, rule: &str) -> Vec<Finding> {
        out.findings
            .iter()
            .filter(|f| f.rule == rule)
            .cloned()
            .collect()
    }

    #[test]
    fn clean_series_is_all_validated() {
        let v = shape(96 * 14);
        let (ts, kwh) = series(&v);
        let out = run(&VeeConfig::default(), meter(), &ts, &kwh, &day);
        assert!(out.edits.is_empty() && out.findings.is_empty());
        assert_eq!(out.series.len(), v.len());
        assert!(out.series.iter().all(|s| s.2 == Quality::Validated));
        assert_eq!(out.days.len(), 14);
        assert!(out.days.iter().all(|d| d.sufficient && d.expected == 96));
    }

    #[test]
    fn short_gap_is_interpolated_linearly() {
        let v = shape(96 * 14);
        let (mut ts, mut kwh) = series(&v);
        // Remove intervals 100..103 (3 intervals, under the 1-hour linear limit).
        ts.drain(100..103);
        kwh.drain(100..103);
        let out = run(&VeeConfig::default(), meter(), &ts, &kwh, &day);
        assert_eq!(out.edits.len(), 3);
        let (y0, y1) = (v[99], v[103]);
        for (k, e) in out.edits.iter().enumerate() {
            assert_eq!(e.rule, "missing");
            assert_eq!(e.method, Method::Linear);
            assert_eq!(e.before, None);
            let want = y0 + (y1 - y0) * (k + 1) as f64 / 4.0;
            assert!((e.after.unwrap() - want).abs() < 1e-12);
        }
        assert_eq!(out.days[1].estimated, 3);
        assert_eq!(out.days[1].read, 93);
    }

    #[test]
    fn long_gap_uses_the_weekly_profile_and_overlong_gap_stays_missing() {
        let v = shape(96 * 21);
        let (mut ts, mut kwh) = series(&v);
        // One day missing in week 2: each slot is the mean of the same slot a week before
        // and after, which for this daily shape equals the true value up to the trend term.
        ts.drain(96 * 8..96 * 9);
        kwh.drain(96 * 8..96 * 9);
        let out = run(&VeeConfig::default(), meter(), &ts, &kwh, &day);
        assert_eq!(out.edits.len(), 96);
        for e in &out.edits {
            assert_eq!(e.method, Method::Profile);
            let s = (e.ts / STEP) as usize;
            assert!((e.after.unwrap() - v[s]).abs() < 1e-3);
        }
        let cfg = VeeConfig {
            estimate_max_hours: 12.0,
            ..VeeConfig::default()
        };
        let out = run(&cfg, meter(), &ts, &kwh, &day);
        assert!(out.edits.iter().all(|e| e.quality == Quality::Missing));
        assert_eq!(only(&out, "not_estimated").len(), 1);
        assert_eq!(out.series.len(), 96 * 20);
        assert!(!out.days[8].sufficient);
        assert_eq!(out.days[8].missing, 96);
    }

    #[test]
    fn spike_and_register_reset_are_replaced() {
        let mut v = shape(96 * 14);
        v[500] = 180.0;
        v[700] = -45_000.0;
        let (ts, kwh) = series(&v);
        let out = run(&VeeConfig::default(), meter(), &ts, &kwh, &day);
        let spike = only(&out, "spike");
        assert_eq!(spike.len(), 1);
        assert_eq!(spike[0].start, 500 * STEP);
        assert_eq!(only(&out, "register_reset").len(), 1);
        assert!(only(&out, "negative").is_empty(), "reset taken first");
        let e = out.edits.iter().find(|e| e.ts == 700 * STEP).unwrap();
        assert_eq!(e.before, Some(-45_000.0));
        assert_eq!(e.quality, Quality::Estimated);
        assert!(e.after.unwrap() > 0.0);
    }

    #[test]
    fn negative_is_reverse_flow_on_net_meters() {
        let mut v = shape(96 * 7);
        v[10] = -0.4;
        let (ts, kwh) = series(&v);
        let out = run(&VeeConfig::default(), meter(), &ts, &kwh, &day);
        assert_eq!(only(&out, "negative").len(), 1);
        let net = VeeConfig {
            net_metering: NetMetering::All,
            ..VeeConfig::default()
        };
        let out = run(&net, meter(), &ts, &kwh, &day);
        assert_eq!(only(&out, "reverse_flow").len(), 1);
        assert!(out.edits.is_empty());
        assert_eq!(out.series[10].1, -0.4);
        // Auto: export at midday on three different days makes a rooftop-PV meter.
        let mut pv = shape(96 * 7);
        for d in 0..3 {
            pv[d * 96 + 48] = -0.3;
        }
        let (ts, kwh) = series(&pv);
        let out = run(&VeeConfig::default(), meter(), &ts, &kwh, &day);
        assert_eq!(only(&out, "reverse_flow").len(), 3);
        let archive_says_no = MeterInfo {
            net_metered: Some(false),
            ..meter()
        };
        let out = run(&VeeConfig::default(), archive_says_no, &ts, &kwh, &day);
        assert_eq!(only(&out, "negative").len(), 3);
    }

    #[test]
    fn stuck_run_is_invalidated_but_short_repeats_are_not() {
        let mut v = shape(96 * 14);
        v[300..320].iter_mut().for_each(|x| *x = 0.731);
        v[400..404].iter_mut().for_each(|x| *x = 0.5);
        v[600..640].iter_mut().for_each(|x| *x = 0.001); // idle at the register's resolution
        v[800..900].iter_mut().for_each(|x| *x = 0.002); // but not for more than a day
        let (ts, kwh) = series(&v);
        let out = run(&VeeConfig::default(), meter(), &ts, &kwh, &day);
        let stuck = only(&out, "stuck");
        assert_eq!(stuck.len(), 2);
        assert_eq!((stuck[0].intervals, stuck[1].intervals), (20, 100));
        assert_eq!(out.edits.len(), 120);
        assert!(out.edits.iter().all(|e| e.method == Method::Profile));
    }

    #[test]
    fn zero_run_is_flagged_not_changed_by_default() {
        let mut v = shape(96 * 14);
        v[96 * 3..96 * 5].iter_mut().for_each(|x| *x = 0.0);
        let (ts, kwh) = series(&v);
        let out = run(&VeeConfig::default(), meter(), &ts, &kwh, &day);
        let z = only(&out, "zero_run");
        assert_eq!(z.len(), 1);
        assert_eq!((z[0].intervals, z[0].action), (192, "flagged"));
        assert!(out.edits.is_empty());
        // A meter that mostly reads zero is left alone.
        let mostly_zero: Vec<f64> = (0..96 * 7)
            .map(|i| if i % 10 == 0 { 1.0 } else { 0.0 })
            .collect();
        let (ts, kwh) = series(&mostly_zero);
        let out = run(&VeeConfig::default(), meter(), &ts, &kwh, &day);
        assert!(only(&out, "zero_run").is_empty());
    }

    #[test]
    fn capacity_limit_uses_the_contract() {
        let mut v = shape(96 * 7);
        v[50] = 4.0; // 16 kW over 15 minutes on a 5 kW contract: 4 > 3 × 5 × 0.25 = 3.75
        let (ts, kwh) = series(&v);
        let m = MeterInfo {
            contract_kw: Some(5.0),
            ..meter()
        };
        let out = run(&VeeConfig::default(), m, &ts, &kwh, &day);
        assert_eq!(only(&out, "capacity").len(), 1);
        let out = run(&VeeConfig::default(), meter(), &ts, &kwh, &day);
        assert!(only(&out, "capacity").is_empty(), "no contract, no rule");
    }

    #[test]
    fn misaligned_reading_moves_to_a_free_slot_and_duplicates_keep_the_first() {
        let v = shape(96 * 7);
        let (mut ts, mut kwh) = series(&v);
        ts[20] += 60_000; // one minute late
        ts.push(30 * STEP); // a second reading for slot 30
        kwh.push(99.0);
        let out = run(&VeeConfig::default(), meter(), &ts, &kwh, &day);
        let m = only(&out, "misaligned");
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].start, 20 * STEP);
        let e = out.edits.iter().find(|e| e.ts == 20 * STEP).unwrap();
        assert_eq!(e.quality, Quality::Edited);
        assert_eq!(out.series[30].1, v[30]);
        assert_eq!(out.series.len(), v.len());
    }

    #[test]
    fn config_round_trips_and_rejects_bad_values() {
        let cfg = VeeConfig::default();
        let json = serde_json::to_string(&cfg).unwrap();
        assert!(json.contains(r#"{"rule":"register_reset","factor":20.0,"min_kwh":50.0}"#));
        let back: VeeConfig = serde_json::from_str(&json).unwrap();
        assert_eq!(back, cfg);
        let typo = json.replace("min_kwh", "min_kw");
        assert!(serde_json::from_str::<VeeConfig>(&typo).is_err());
        let bad = VeeConfig {
            rules: vec![Rule::Stuck {
                min_intervals: 1,
                min_kwh: 0.0,
                long_intervals: 96,
            }],
            ..VeeConfig::default()
        };
        assert!(bad.validate().unwrap_err().contains("stuck"));
        let twice = VeeConfig {
            rules: vec![Rule::Negative, Rule::Negative],
            ..VeeConfig::default()
        };
        assert!(twice.validate().unwrap_err().contains("twice"));
        assert!(VeeConfig::default().validate().is_ok());
    }
}
