//! Applying a rule set to the lake at one evaluation day or every day of a range.

use crate::RiskError;
use crate::eval::{Reading, judge};
use crate::indicators::{SeriesSet, Source, month_label, month_of_day};
use crate::rules::{Rule, RuleSet, Severity, SubjectKind};
use gridmark_core::civil::format_date;
use serde::Serialize;
use std::collections::{HashMap, HashSet};

/// A rule that holds for a subject at an evaluation period.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub rule: String,
    pub rule_name: String,
    pub indicator: &'static str,
    pub subject_kind: SubjectKind,
    pub subject: String,
    pub severity: Severity,
    /// The evaluation day (local, YYYY-MM-DD) and its day number.
    pub as_of: String,
    pub as_of_day: i64,
    pub message: String,
    pub evidence: serde_json::Value,
    pub escalate_after_ms: i64,
}

/// Per rule: subjects judged and alerts raised, or why the rule could not run.
#[derive(Debug, Clone, Serialize)]
pub struct RuleRun {
    pub rule: String,
    pub indicator: &'static str,
    pub subjects: usize,
    pub findings: usize,
    pub note: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Evaluation {
    pub first_day: String,
    pub last_day: String,
    pub rules: Vec<RuleRun>,
    pub findings: Vec<Finding>,
}

/// Optional restriction to some subjects (the meters of one streaming batch).
pub type SubjectFilter<'a> = Option<&'a HashSet<String>>;

fn fmt_num(x: f64) -> String {
    if x.abs() >= 100.0 {
        format!("{x:.0}")
    } else if x.abs() >= 1.0 {
        format!("{x:.2}")
    } else {
        format!("{x:.4}")
    }
}

fn message(
    rule: &Rule,
    subject_kind: SubjectKind,
    subject: &str,
    span: &str,
    r: &Reading,
) -> String {
    let unit = rule.indicator.unit();
    let mut m = format!(
        "{} {subject}: {} {} {unit} over {span}",
        subject_kind.name(),
        rule.indicator.name(),
        fmt_num(r.current)
    );
    if let Some(b) = r.baseline {
        m.push_str(&format!(
            ", baseline {} ({} earlier windows)",
            fmt_num(b),
            r.history.len()
        ));
    }
    if let Some(q) = r.ratio.filter(|_| r.baseline.is_some()) {
        m.push_str(&format!(", {:.2}× baseline", q));
    }
    if let (Some(z), true) = (r.zscore, rule.threshold.uses_baseline()) {
        m.push_str(&format!(", z = {z:.1}"));
    }
    if let Some(p) = r.peer_ratio {
        m.push_str(&format!(" (peers: {p:.2}×)"));
    }
    if let Some(c) = r.cutoff {
        m.push_str(&format!(", cut-off {}", fmt_num(c)));
    }
    m.push_str(&format!(
        " — rule {}: {}",
        rule.id,
        rule.threshold.describe()
    ));
    m
}

/// Evaluates every rule at each day of `first_day..=last_day`. Monthly indicators are judged
/// once per month, at the last evaluation day in it.
pub fn evaluate(
    source: &Source<'_>,
    rules: &RuleSet,
    first_day: i64,
    last_day: i64,
    only: SubjectFilter<'_>,
) -> Result<Evaluation, RiskError> {
    let mut cache: HashMap<(crate::rules::Indicator, i64, i64), SeriesSet> = HashMap::new();
    let mut groups: HashMap<crate::rules::PeerGroup, HashMap<String, String>> = HashMap::new();
    let mut out = Evaluation {
        first_day: format_date(first_day),
        last_day: format_date(last_day),
        rules: Vec::new(),
        findings: Vec::new(),
    };
    for rule in &rules.rules {
        let ind = rule.indicator;
        let span = (rule.window + rule.baseline) as i64;
        let (p_first, p_last) = if ind.monthly() {
            (month_of_day(first_day), month_of_day(last_day))
        } else {
            (first_day, last_day)
        };
        // A sustained rule also judges the days before the first, to know its streaks.
        let sustain = rule.sustain as i64;
        let key = (ind, p_first - sustain + 1 - span + 1, p_last);
        if let std::collections::hash_map::Entry::Vacant(e) = cache.entry(key) {
            e.insert(source.load(ind, key.1, key.2)?);
        }
        let set = &cache[&key];
        let mut run = RuleRun {
            rule: rule.id.clone(),
            indicator: ind.name(),
            subjects: 0,
            findings: 0,
            note: set.note.clone(),
        };
        let mut streak: HashMap<String, usize> = HashMap::new();
        for p in (p_first - sustain + 1)..=p_last {
            let end = (p - set.first) as usize;
            let w0 = end + 1 - span as usize;
            let subjects: Vec<(&String, &[f64])> = set
                .subjects
                .iter()
                .filter(|(s, _)| only.is_none_or(|o| o.contains(*s)))
                .map(|(s, v)| (s, &v[w0..=end]))
                .collect();
            let population: Vec<f64> =
                if matches!(rule.threshold, crate::rules::Threshold::PercentileAbove(_)) {
                    // Everyone's current value, judged with a threshold that cannot fire.
                    let mut probe = rule.clone();
                    probe.threshold = crate::rules::Threshold::Above(f64::INFINITY);
                    probe.min_value = None;
                    subjects
                        .iter()
                        .filter_map(|(_, v)| judge(&probe, v, &[], 1.0).map(|r| r.current))
                        .collect()
                } else {
                    Vec::new()
                };
            // Each subject's peers' median ratio to baseline (groups under 5 use everyone's).
            let mut peer_of: HashMap<&str, f64> = HashMap::new();
            if let Some(group) = rule.peer_adjust {
                let mut probe = rule.clone();
                probe.peer_adjust = None;
                probe.min_value = None;
                let groups = match groups.get(&group) {
                    Some(g) => g,
                    None => {
                        let g = source.peer_groups(group)?;
                        groups.entry(group).or_insert(g)
                    }
                };
                let mut all = Vec::new();
                let mut by_group: HashMap<&str, Vec<f64>> = HashMap::new();
                let mut member: Vec<(&str, Option<&str>)> = Vec::new();
                for (subject, v) in &subjects {
                    let g = groups.get(subject.as_str()).map(String::as_str);
                    member.push((subject.as_str(), g));
                    if let Some(q) = judge(&probe, v, &[], 1.0).and_then(|r| r.ratio) {
                        all.push(q);
                        if let Some(g) = g {
                            by_group.entry(g).or_default().push(q);
                        }
                    }
                }
                let everyone = crate::eval::percentile(&all, 50.0).unwrap_or(1.0);
                let medians: HashMap<&str, f64> = by_group
                    .into_iter()
                    .filter(|(_, v)| v.len() >= 5)
                    .filter_map(|(g, v)| Some((g, crate::eval::percentile(&v, 50.0)?)))
                    .collect();
                for (subject, g) in member {
                    let m = g.and_then(|g| medians.get(g)).copied().unwrap_or(everyone);
                    peer_of.insert(subject, m);
                }
            }
            let label = |q: i64| {
                if ind.monthly() {
                    month_label(q)
                } else {
                    format_date(q)
                }
            };
            let from = p - rule.window as i64 + 1;
            let span_text = if from == p {
                label(p)
            } else {
                format!("{}…{}", label(from), label(p))
            };
            let as_of_day = if ind.monthly() {
                crate::indicators::month_end_day(p).min(last_day)
            } else {
                p
            };
            if p == p_last {
                run.subjects = subjects.len();
            }
            for (subject, values) in subjects {
                let peer_ratio = peer_of.get(subject.as_str()).copied().unwrap_or(1.0);
                let r = judge(rule, values, &population, peer_ratio);
                let held = match &r {
                    Some(r) if r.alert => {
                        let n = streak.entry(subject.clone()).or_default();
                        *n += 1;
                        *n
                    }
                    _ => {
                        streak.remove(subject.as_str());
                        0
                    }
                };
                let Some(r) = r else { continue };
                if held < rule.sustain || p < p_first {
                    continue;
                }
                run.findings += 1;
                let start_label = label(p - span + 1);
                let evidence = serde_json::json!({
                    "indicator": ind.name(),
                    "unit": ind.unit(),
                    "window": span_text,
                    "threshold": rule.threshold.describe(),
                    "current": r.current,
                    "baseline": r.baseline,
                    "ratio": r.ratio,
                    "zscore": if rule.threshold.uses_baseline() { r.zscore } else { None },
                    "cutoff": r.cutoff,
                    "held_periods": held,
                    "peer_ratio": r.peer_ratio,
                    "history": r.history,
                    "series_from": start_label,
                    "series": values.iter().map(|x| if x.is_nan() { None } else { Some((x * 1e4).round() / 1e4) }).collect::<Vec<_>>(),
                });
                let mut evidence = evidence;
                if let Some(map) = evidence.as_object_mut() {
                    map.retain(|_, v| !v.is_null() && v.as_array().is_none_or(|a| !a.is_empty()));
                }
                out.findings.push(Finding {
                    rule: rule.id.clone(),
                    rule_name: rule.name.clone(),
                    indicator: ind.name(),
                    subject_kind: ind.subject(),
                    subject: subject.clone(),
                    severity: rule.severity,
                    as_of: format_date(as_of_day),
                    as_of_day,
                    message: message(rule, ind.subject(), subject, &span_text, &r),
                    evidence,
                    escalate_after_ms: rule.escalate_after_ms,
                });
            }
        }
        out.rules.push(run);
    }
    out.findings.sort_by(|a, b| {
        (a.as_of_day, &a.rule, &a.subject).cmp(&(b.as_of_day, &b.rule, &b.subject))
    });
    Ok(out)
}
