//! One rule against one subject's series: the current window, its baseline, the verdict.
//!
//! The same function judges the lake's data and the rules file's test cases, so a rule that
//! passes its tests behaves the same way in production.

use crate::rules::{Aggregate, Rule, Threshold};
use serde::Serialize;

/// What the rule saw for one subject.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reading {
    /// The window's aggregate.
    pub current: f64,
    /// Median of the earlier windows' aggregates (ratio thresholds compare with it).
    pub baseline: Option<f64>,
    /// The earlier windows' aggregates, oldest first.
    pub history: Vec<f64>,
    pub ratio: Option<f64>,
    pub zscore: Option<f64>,
    /// For percentile thresholds: the population's cut-off.
    pub cutoff: Option<f64>,
    /// For peer-adjusted rules: the median ratio of all subjects the ratio was divided by.
    pub peer_ratio: Option<f64>,
    pub alert: bool,
    /// Why it is quiet when it could not judge (not enough data, baseline too small).
    pub skipped: Option<String>,
}

fn aggregate(agg: Aggregate, w: &[f64]) -> Option<f64> {
    let known = || w.iter().copied().filter(|x| !x.is_nan());
    match agg {
        Aggregate::Mean => {
            let n = known().count();
            // A window more than half empty says more about communication than consumption.
            (n * 2 >= w.len() && n > 0).then(|| known().sum::<f64>() / n as f64)
        }
        Aggregate::Sum => (known().count() > 0).then(|| known().sum()),
        Aggregate::Max => known().reduce(f64::max),
        Aggregate::Last => w.last().copied().filter(|x| !x.is_nan()),
        Aggregate::TrailingZeroRun => {
            // Missing periods end the run: no data is not zero consumption.
            let run = w.iter().rev().take_while(|x| x.abs() < 1e-9).count();
            (known().count() > 0).then_some(run as f64)
        }
    }
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let n = s.len();
    if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2.0
    }
}

/// Linear-interpolated percentile (0 ≤ p < 100) of `v`.
pub fn percentile(v: &[f64], p: f64) -> Option<f64> {
    let mut s: Vec<f64> = v.iter().copied().filter(|x| !x.is_nan()).collect();
    if s.is_empty() {
        return None;
    }
    s.sort_by(f64::total_cmp);
    let pos = p / 100.0 * (s.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    Some(s[lo] + (s[hi] - s[lo]) * (pos - lo as f64))
}

/// Judges `series` (oldest first, its last period the evaluation period). `population` is
/// every subject's current value in the same run, for percentile thresholds; `peer_ratio` the
/// median ratio to baseline of all subjects, for peer-adjusted rules (1 = none).
pub fn judge(rule: &Rule, series: &[f64], population: &[f64], peer_ratio: f64) -> Option<Reading> {
    let agg = rule.indicator.aggregate();
    let w = rule.window;
    if series.len() < w {
        return None;
    }
    let n = series.len();
    let current = aggregate(agg, &series[n - w..])?;
    let mut r = Reading {
        current,
        baseline: None,
        history: Vec::new(),
        ratio: None,
        zscore: None,
        cutoff: None,
        peer_ratio: None,
        alert: false,
        skipped: None,
    };
    let needs_baseline = rule.threshold.uses_baseline()
        || rule.min_baseline.is_some()
        || rule.max_baseline.is_some();
    if needs_baseline {
        let blocks = rule.baseline / w;
        let start = n - w;
        for b in (1..=blocks).rev() {
            if start < b * w {
                continue;
            }
            let lo = start - b * w;
            if let Some(v) = aggregate(agg, &series[lo..lo + w]) {
                r.history.push(v);
            }
        }
        let needed = if matches!(
            rule.threshold,
            Threshold::ZscoreAbove(_) | Threshold::ZscoreBelow(_)
        ) {
            3
        } else {
            1
        };
        if r.history.len() < needed.max(blocks.div_ceil(2)) {
            r.skipped = Some(format!(
                "{} of {} earlier windows have data",
                r.history.len(),
                blocks
            ));
            return Some(r);
        }
        let base = median(&r.history);
        r.baseline = Some(base);
        if let Some(min) = rule.min_baseline
            && base < min
        {
            r.skipped = Some(format!("baseline {base:.3} is below min_baseline {min}"));
            return Some(r);
        }
        if let Some(max) = rule.max_baseline
            && base > max
        {
            r.skipped = Some(format!("baseline {base:.3} is above max_baseline {max}"));
            return Some(r);
        }
        if base > 0.0 {
            let raw = current / base;
            if rule.peer_adjust.is_some() && peer_ratio > 0.0 {
                r.peer_ratio = Some(peer_ratio);
                r.ratio = Some(raw / peer_ratio);
            } else {
                r.ratio = Some(raw);
            }
        }
        let k = r.history.len() as f64;
        let mean = r.history.iter().sum::<f64>() / k;
        let var = r.history.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (k - 1.0).max(1.0);
        // A perfectly steady history would make any change infinitely significant. Counts
        // vary at least as a Poisson variable (sd = √mean, and at least 1); other values by at
        // least 5 % of their mean.
        let floor = if rule.indicator.is_count() {
            mean.max(1.0).sqrt()
        } else {
            (0.05 * mean.abs()).max(1e-9)
        };
        let sd = var.sqrt().max(floor);
        r.zscore = Some((current - mean) / sd);
    }
    if let Some(min) = rule.min_value
        && current < min
    {
        r.skipped = Some(format!("{current:.3} is below min_value {min}"));
        return Some(r);
    }
    r.alert = match rule.threshold {
        Threshold::Above(x) => current > x,
        Threshold::Below(x) => current < x,
        Threshold::Outside(lo, hi) => current < lo || current > hi,
        Threshold::RatioAbove(x) => r.ratio.is_some_and(|q| q > x),
        // A baseline of zero cannot drop.
        Threshold::RatioBelow(x) => r.ratio.is_some_and(|q| q < x),
        Threshold::ZscoreAbove(x) => r.zscore.is_some_and(|z| z > x),
        Threshold::ZscoreBelow(x) => r.zscore.is_some_and(|z| z < x),
        Threshold::PercentileAbove(p) => {
            r.cutoff = percentile(population, p);
            r.cutoff.is_some_and(|c| current > c)
        }
    };
    Some(r)
}

/// The result of one test case from the rules file.
#[derive(Debug, Clone, Serialize)]
pub struct TestResult {
    pub rule: String,
    pub test: String,
    pub expected: &'static str,
    pub got: &'static str,
    pub passed: bool,
    pub reading: Option<Reading>,
    pub note: Option<String>,
}

pub fn run_tests(rules: &crate::rules::RuleSet) -> Vec<TestResult> {
    let mut out = Vec::new();
    for rule in &rules.rules {
        for t in &rule.tests {
            let reading = judge(rule, &t.series, &t.population, t.peer_ratio);
            // A sustained rule must hold at each of the last `sustain` periods.
            let alert = (0..rule.sustain).all(|k| {
                k < t.series.len()
                    && judge(
                        rule,
                        &t.series[..t.series.len() - k],
                        &t.population,
                        t.peer_ratio,
                    )
                    .is_some_and(|r| r.alert)
            });
            let note = match &reading {
                None => Some(format!(
                    "the series has {} periods with no data in the last {}",
                    t.series.len(),
                    rule.window
                )),
                Some(r) => r.skipped.clone(),
            };
            out.push(TestResult {
                rule: rule.id.clone(),
                test: t.name.clone(),
                expected: if t.expect_alert { "alert" } else { "quiet" },
                got: if alert { "alert" } else { "quiet" },
                passed: alert == t.expect_alert,
                reading,
                note,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::RuleSet;

    fn one(body: &str) -> Rule {
        RuleSet::parse("t", &format!("[[rule]]\nid = \"r\"\n{body}"))
            .unwrap()
            .rules
            .remove(0)
    }

    fn s(text: &str) -> Vec<f64> {
        crate::rules::parse_series(&toml::Value::String(text.into())).unwrap()
    }

    #[test]
    fn a_drop_against_the_baseline() {
        let r = one("indicator = \"daily_kwh\"\nthreshold = { ratio_below = 0.5 }");
        let got = judge(&r, &s("10x28 4x7"), &[], 1.0).unwrap();
        assert!(got.alert);
        assert_eq!(got.history, vec![10.0; 4]);
        assert!((got.ratio.unwrap() - 0.4).abs() < 1e-12);
        assert!(!judge(&r, &s("10x28 6x7"), &[], 1.0).unwrap().alert);
        // Half the window missing: not judged as a drop.
        let got = judge(&r, &s("10x28 nan nan nan nan 1 1 1"), &[], 1.0);
        assert!(got.is_none());
        // Too little history: quiet, with the reason.
        let got = judge(&r, &s("nanx21 10x7 1x7"), &[], 1.0).unwrap();
        assert!(!got.alert && got.skipped.unwrap().contains("1 of 4"));
    }

    #[test]
    fn zero_runs_stop_at_missing_data() {
        let r = one("indicator = \"zero_days\"\nthreshold = { above = 4 }");
        assert!(judge(&r, &s("5x25 0x5"), &[], 1.0).unwrap().alert);
        assert!(!judge(&r, &s("5x25 0x3 nan 0"), &[], 1.0).unwrap().alert);
    }

    #[test]
    fn zscore_and_percentile() {
        let r = one(
            "indicator = \"region_complaints\"\nthreshold = { zscore_above = 3 }\nmin_value = 5",
        );
        // Weekly sums 10, 12, 9, 11, 10, 12, 11, 9 then 30.
        let weeks = [10.0, 12.0, 9.0, 11.0, 10.0, 12.0, 11.0, 9.0, 30.0];
        let mut series = Vec::new();
        for w in weeks {
            series.push(w);
            series.extend([0.0; 6]);
        }
        let got = judge(&r, &series, &[], 1.0).unwrap();
        // The spread is at least Poisson: sd = √10.5, z ≈ 6.
        assert!(
            got.alert && (got.zscore.unwrap() - 6.02).abs() < 0.01,
            "{got:?}"
        );
        let r = one("indicator = \"customer_complaints\"\nthreshold = { percentile_above = 90 }");
        let pop: Vec<f64> = (0..100).map(|i| (i % 10) as f64).collect();
        assert!(judge(&r, &s("0x29 10"), &pop, 1.0).unwrap().alert);
        assert!(!judge(&r, &s("0x29 5"), &pop, 1.0).unwrap().alert);
    }

    #[test]
    fn shipped_rules_pass_their_own_tests() {
        let set = RuleSet::parse("default", crate::rules::DEFAULT_RULES).unwrap();
        let results = run_tests(&set);
        let failed: Vec<_> = results.iter().filter(|r| !r.passed).collect();
        assert!(failed.is_empty(), "{failed:#?}");
        assert!(results.len() >= 20);
    }
}
