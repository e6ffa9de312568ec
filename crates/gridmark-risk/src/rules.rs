//! The rules file: indicators, thresholds, severities, delivery, and each rule's test cases.
//!
//! A rules file is TOML. Parsing is strict (unknown keys are errors, so a typo never silently
//! disables a rule) and validation names the rule and the field that is wrong.

use crate::RiskError;
use serde::Deserialize;
use std::collections::HashSet;
use std::path::Path;

/// What kind of thing an indicator watches; alerts name their subject with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SubjectKind {
    Meter,
    Area,
    Customer,
    Region,
}

impl SubjectKind {
    pub fn name(self) -> &'static str {
        match self {
            SubjectKind::Meter => "meter",
            SubjectKind::Area => "area",
            SubjectKind::Customer => "customer",
            SubjectKind::Region => "region",
        }
    }
}

/// How a window of the indicator's series becomes one value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Aggregate {
    Mean,
    Sum,
    Last,
    Max,
    /// Consecutive periods at the end of the window whose value is zero.
    TrailingZeroRun,
}

/// The indicators gridmark computes from the lake. Each has a subject, a period (day or
/// month), a series per subject, and an aggregate over the rule's window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Indicator {
    /// Readings: mean daily kWh of a meter.
    DailyKwh,
    /// Readings: days in a row (ending at the evaluation day) with zero consumption.
    ZeroDays,
    /// Readings: kWh exported (negative intervals) over the window.
    ReverseKwh,
    /// Areas: mean daily line-loss ratio of a transformer area.
    LineLossRate,
    /// Customers: the latest month's billed kWh.
    BillKwh,
    /// Customers: billed kWh in a month whose tariff differs from the month before (else 0).
    TariffChangeKwh,
    /// Transactions: payments reversed (negative amounts) over the window.
    PaymentReversals,
    /// Customers: days the oldest unpaid bill is past its due date.
    ArrearsDays,
    /// Service: complaints in a region over the window.
    RegionComplaints,
    /// Service: complaints by one customer over the window.
    CustomerComplaints,
}

pub const INDICATORS: &[Indicator] = &[
    Indicator::DailyKwh,
    Indicator::ZeroDays,
    Indicator::ReverseKwh,
    Indicator::LineLossRate,
    Indicator::BillKwh,
    Indicator::TariffChangeKwh,
    Indicator::PaymentReversals,
    Indicator::ArrearsDays,
    Indicator::RegionComplaints,
    Indicator::CustomerComplaints,
];

impl Indicator {
    pub fn name(self) -> &'static str {
        match self {
            Indicator::DailyKwh => "daily_kwh",
            Indicator::ZeroDays => "zero_days",
            Indicator::ReverseKwh => "reverse_kwh",
            Indicator::LineLossRate => "line_loss_rate",
            Indicator::BillKwh => "bill_kwh",
            Indicator::TariffChangeKwh => "tariff_change_kwh",
            Indicator::PaymentReversals => "payment_reversals",
            Indicator::ArrearsDays => "arrears_days",
            Indicator::RegionComplaints => "region_complaints",
            Indicator::CustomerComplaints => "customer_complaints",
        }
    }

    pub fn parse(name: &str) -> Option<Indicator> {
        INDICATORS.iter().copied().find(|i| i.name() == name)
    }

    pub fn subject(self) -> SubjectKind {
        match self {
            Indicator::DailyKwh | Indicator::ZeroDays | Indicator::ReverseKwh => SubjectKind::Meter,
            Indicator::LineLossRate => SubjectKind::Area,
            Indicator::RegionComplaints => SubjectKind::Region,
            _ => SubjectKind::Customer,
        }
    }

    /// Whether one period of the series is a month (else a day).
    pub fn monthly(self) -> bool {
        matches!(self, Indicator::BillKwh | Indicator::TariffChangeKwh)
    }

    pub fn aggregate(self) -> Aggregate {
        match self {
            Indicator::DailyKwh | Indicator::LineLossRate => Aggregate::Mean,
            Indicator::ZeroDays => Aggregate::TrailingZeroRun,
            Indicator::ReverseKwh
            | Indicator::PaymentReversals
            | Indicator::RegionComplaints
            | Indicator::CustomerComplaints => Aggregate::Sum,
            Indicator::BillKwh | Indicator::ArrearsDays => Aggregate::Last,
            Indicator::TariffChangeKwh => Aggregate::Max,
        }
    }

    /// Default (window, baseline) in periods.
    pub fn default_spans(self) -> (usize, usize) {
        match self {
            Indicator::DailyKwh => (7, 28),
            Indicator::ZeroDays => (30, 0),
            Indicator::ReverseKwh => (7, 0),
            Indicator::LineLossRate => (7, 28),
            Indicator::BillKwh => (1, 6),
            Indicator::TariffChangeKwh => (1, 0),
            Indicator::PaymentReversals => (30, 0),
            Indicator::ArrearsDays => (1, 0),
            Indicator::RegionComplaints => (7, 56),
            Indicator::CustomerComplaints => (30, 0),
        }
    }

    /// A baseline of these is meaningless (a run length, an event, a level that is the
    /// baseline itself), so only absolute and population thresholds apply.
    fn baseline_allowed(self) -> bool {
        !matches!(
            self,
            Indicator::ZeroDays
                | Indicator::TariffChangeKwh
                | Indicator::PaymentReversals
                | Indicator::ArrearsDays
        )
    }

    /// Counts of events: their spread is at least Poisson.
    pub fn is_count(self) -> bool {
        matches!(
            self,
            Indicator::PaymentReversals
                | Indicator::RegionComplaints
                | Indicator::CustomerComplaints
        )
    }

    pub fn unit(self) -> &'static str {
        match self {
            Indicator::DailyKwh => "kWh/day",
            Indicator::ZeroDays => "days",
            Indicator::ReverseKwh | Indicator::BillKwh | Indicator::TariffChangeKwh => "kWh",
            Indicator::LineLossRate => "loss ratio",
            Indicator::PaymentReversals => "reversals",
            Indicator::ArrearsDays => "days past due",
            Indicator::RegionComplaints | Indicator::CustomerComplaints => "complaints",
        }
    }
}

/// Whose ratios a subject's ratio is compared with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PeerGroup {
    All,
    /// Meters of the same customer class (residential, commercial, industrial).
    Class,
    /// Meters on the same transformer area.
    Area,
    Region,
}

impl PeerGroup {
    pub fn parse(s: &str) -> Option<PeerGroup> {
        Some(match s {
            "all" => PeerGroup::All,
            "class" => PeerGroup::Class,
            "area" => PeerGroup::Area,
            "region" => PeerGroup::Region,
            _ => return None,
        })
    }
    pub fn name(self) -> &'static str {
        match self {
            PeerGroup::All => "all",
            PeerGroup::Class => "class",
            PeerGroup::Area => "area",
            PeerGroup::Region => "region",
        }
    }
}

/// When a value crosses into alert.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Threshold {
    /// current > x
    Above(f64),
    /// current < x
    Below(f64),
    /// current outside [lo, hi]
    Outside(f64, f64),
    /// current > x × baseline (the median of the earlier windows)
    RatioAbove(f64),
    /// current < x × baseline
    RatioBelow(f64),
    /// (current − mean of earlier windows) ÷ their standard deviation > x
    ZscoreAbove(f64),
    /// … < x (x negative)
    ZscoreBelow(f64),
    /// current above the p-th percentile of every subject's current value in the same run
    PercentileAbove(f64),
}

impl Threshold {
    pub fn uses_baseline(self) -> bool {
        matches!(
            self,
            Threshold::RatioAbove(_)
                | Threshold::RatioBelow(_)
                | Threshold::ZscoreAbove(_)
                | Threshold::ZscoreBelow(_)
        )
    }

    pub fn describe(self) -> String {
        match self {
            Threshold::Above(x) => format!("above {x}"),
            Threshold::Below(x) => format!("below {x}"),
            Threshold::Outside(a, b) => format!("outside [{a}, {b}]"),
            Threshold::RatioAbove(x) => format!("above {x}× baseline"),
            Threshold::RatioBelow(x) => format!("below {x}× baseline"),
            Threshold::ZscoreAbove(x) => format!("z-score above {x}"),
            Threshold::ZscoreBelow(x) => format!("z-score below {x}"),
            Threshold::PercentileAbove(p) => format!("above the {p}th percentile"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    #[default]
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn parse(s: &str) -> Option<Severity> {
        Some(match s {
            "low" => Severity::Low,
            "medium" => Severity::Medium,
            "high" => Severity::High,
            "critical" => Severity::Critical,
            _ => return None,
        })
    }
    pub fn name(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
    /// How long an alert may stay open and unacknowledged before it escalates.
    pub fn default_escalation_ms(self) -> i64 {
        const H: i64 = 3_600_000;
        match self {
            Severity::Critical => H,
            Severity::High => 4 * H,
            Severity::Medium => 24 * H,
            Severity::Low => 72 * H,
        }
    }
}

/// Where alerts go besides the alert store (which the dashboard and `risk alerts` read).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Channel {
    Webhook,
    Email,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Delivery {
    /// `http://host:port/path`; JSON POST of each opened or escalated alert.
    pub webhook: Option<String>,
    /// `host:port` of an SMTP relay (plain SMTP, no authentication).
    pub smtp: Option<String>,
    pub mail_from: String,
    pub mail_to: Vec<String>,
    /// Alerts below this severity are not e-mailed.
    pub email_min_severity: Severity,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TestCase {
    pub name: String,
    /// The indicator's series for one subject, oldest first; NaN = no data that period.
    pub series: Vec<f64>,
    pub population: Vec<f64>,
    /// For peer-adjusted rules: the median ratio of the other subjects (1 = no shared change).
    pub peer_ratio: f64,
    pub expect_alert: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub id: String,
    pub name: String,
    pub description: String,
    pub indicator: Indicator,
    pub window: usize,
    pub baseline: usize,
    pub threshold: Threshold,
    /// The current value must be at least this to alert (e.g. ignore 1 complaint).
    pub min_value: Option<f64>,
    /// The baseline must be at least this for ratio and z-score thresholds (tiny baselines
    /// make every ratio huge).
    pub min_baseline: Option<f64>,
    /// The baseline must be at most this (e.g. 0 for reverse flow: only meters that never
    /// exported before).
    pub max_baseline: Option<f64>,
    /// Divide the subject's ratio to its baseline by the median ratio of its peers in the
    /// same run, so that holidays and weather, which move a whole group, do not alert.
    pub peer_adjust: Option<PeerGroup>,
    /// Periods in a row the condition must hold before it is a finding (1 = at once), so a
    /// short absence does not alert while a lasting change does.
    pub sustain: usize,
    pub severity: Severity,
    pub escalate_after_ms: i64,
    pub notify: Vec<Channel>,
    pub tests: Vec<TestCase>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RuleSet {
    pub source: String,
    pub rules: Vec<Rule>,
    pub delivery: Delivery,
}

// ---- the file as written --------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileDoc {
    #[serde(default)]
    delivery: Option<DeliveryDoc>,
    #[serde(default, rename = "rule")]
    rules: Vec<RuleDoc>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DeliveryDoc {
    webhook: Option<String>,
    smtp: Option<String>,
    mail_from: Option<String>,
    #[serde(default)]
    mail_to: Vec<String>,
    email_min_severity: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleDoc {
    id: String,
    name: Option<String>,
    #[serde(default)]
    description: String,
    indicator: String,
    window: Option<i64>,
    baseline: Option<i64>,
    threshold: toml::Table,
    min_value: Option<f64>,
    min_baseline: Option<f64>,
    max_baseline: Option<f64>,
    peer_adjust: Option<String>,
    sustain: Option<i64>,
    severity: Option<String>,
    escalate_after: Option<String>,
    notify: Option<Vec<String>>,
    #[serde(default, rename = "test")]
    tests: Vec<TestDoc>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TestDoc {
    name: Option<String>,
    series: toml::Value,
    #[serde(default)]
    population: Vec<f64>,
    peer_ratio: Option<f64>,
    expect: String,
}

impl RuleSet {
    pub fn load(path: &Path) -> Result<RuleSet, RiskError> {
        let text = std::fs::read_to_string(path).map_err(|source| RiskError::Io {
            path: path.into(),
            source,
        })?;
        RuleSet::parse(&path.display().to_string(), &text)
    }

    pub fn parse(source: &str, text: &str) -> Result<RuleSet, RiskError> {
        let doc: FileDoc = toml::from_str(text).map_err(|e| RiskError::Rules {
            file: source.to_string(),
            what: "syntax".into(),
            reason: e.to_string().trim_end().to_string(),
        })?;
        let bad = |what: String, reason: String| RiskError::Rules {
            file: source.to_string(),
            what,
            reason,
        };
        let delivery = match doc.delivery {
            None => Delivery {
                mail_from: "gridmark@localhost".into(),
                email_min_severity: Severity::Low,
                ..Delivery::default()
            },
            Some(d) => {
                if let Some(url) = &d.webhook {
                    crate::deliver::parse_http_url(url)
                        .map_err(|reason| bad("[delivery] webhook".into(), reason))?;
                }
                if let Some(smtp) = &d.smtp
                    && !smtp.contains(':')
                {
                    return Err(bad(
                        "[delivery] smtp".into(),
                        format!("{smtp:?}: expected host:port"),
                    ));
                }
                if d.smtp.is_some() && d.mail_to.is_empty() {
                    return Err(bad(
                        "[delivery] mail_to".into(),
                        "smtp is set but nobody to mail: give mail_to = [\"…\"]".into(),
                    ));
                }
                for to in &d.mail_to {
                    if !to.contains('@') || to.contains(['<', '>', '\r', '\n', ' ']) {
                        return Err(bad(
                            "[delivery] mail_to".into(),
                            format!("{to:?} is not an e-mail address"),
                        ));
                    }
                }
                let email_min_severity = match d.email_min_severity.as_deref() {
                    None => Severity::Low,
                    Some(s) => Severity::parse(s).ok_or_else(|| {
                        bad(
                            "[delivery] email_min_severity".into(),
                            format!("{s:?}: expected low, medium, high or critical"),
                        )
                    })?,
                };
                Delivery {
                    webhook: d.webhook,
                    smtp: d.smtp,
                    mail_from: d.mail_from.unwrap_or_else(|| "gridmark@localhost".into()),
                    mail_to: d.mail_to,
                    email_min_severity,
                }
            }
        };
        if doc.rules.is_empty() {
            return Err(bad("[[rule]]".into(), "the file defines no rules".into()));
        }
        let mut seen = HashSet::new();
        let mut rules = Vec::with_capacity(doc.rules.len());
        for (i, r) in doc.rules.into_iter().enumerate() {
            let at = format!("rule {} ({:?})", i + 1, r.id);
            if r.id.is_empty()
                || !r
                    .id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                return Err(bad(
                    format!("{at} id"),
                    "ids are letters, digits, - and _".into(),
                ));
            }
            if !seen.insert(r.id.clone()) {
                return Err(bad(format!("{at} id"), "a second rule has this id".into()));
            }
            let indicator = Indicator::parse(&r.indicator).ok_or_else(|| {
                bad(
                    format!("{at} indicator"),
                    format!(
                        "{:?} is not an indicator; known: {}",
                        r.indicator,
                        INDICATORS
                            .iter()
                            .map(|i| i.name())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                )
            })?;
            let (dw, db) = indicator.default_spans();
            let span = |v: Option<i64>, d: usize, field: &str, min: i64| {
                let v = v.unwrap_or(d as i64);
                if v < min || v > 3660 {
                    Err(bad(
                        format!("{at} {field}"),
                        format!("{v}: expected {min}…3660 periods"),
                    ))
                } else {
                    Ok(v as usize)
                }
            };
            let window = span(r.window, dw, "window", 1)?;
            let threshold = parse_threshold(&r.threshold)
                .map_err(|reason| bad(format!("{at} threshold"), reason))?;
            let wants_baseline =
                threshold.uses_baseline() || r.min_baseline.is_some() || r.max_baseline.is_some();
            let baseline_default = if wants_baseline && db == 0 {
                window * 4
            } else {
                db
            };
            let baseline = span(r.baseline, baseline_default, "baseline", 0)?;
            let peer_adjust = match r.peer_adjust.as_deref() {
                None => None,
                Some(g) => {
                    let group = PeerGroup::parse(g).ok_or_else(|| {
                        bad(
                            format!("{at} peer_adjust"),
                            format!("{g:?}: expected all, class, area or region"),
                        )
                    })?;
                    if !matches!(
                        threshold,
                        Threshold::RatioAbove(_) | Threshold::RatioBelow(_)
                    ) {
                        return Err(bad(
                            format!("{at} peer_adjust"),
                            "peer adjustment applies to ratio_above and ratio_below thresholds"
                                .into(),
                        ));
                    }
                    if group != PeerGroup::All && indicator.subject() != SubjectKind::Meter {
                        return Err(bad(
                            format!("{at} peer_adjust"),
                            format!(
                                "peers by {g} are defined for meters; use \"all\" for {}s",
                                indicator.subject().name()
                            ),
                        ));
                    }
                    Some(group)
                }
            };
            if wants_baseline {
                if !indicator.baseline_allowed() {
                    return Err(bad(
                        format!("{at} threshold"),
                        format!(
                            "{} has no baseline: it takes absolute or percentile thresholds (above, below, outside, percentile_above) and no min_baseline or max_baseline",
                            indicator.name()
                        ),
                    ));
                }
                if baseline < window {
                    return Err(bad(
                        format!("{at} baseline"),
                        format!(
                            "the rule uses a baseline: baseline ({baseline}) must cover at least one window ({window})"
                        ),
                    ));
                }
                if matches!(
                    threshold,
                    Threshold::ZscoreAbove(_) | Threshold::ZscoreBelow(_)
                ) && baseline / window < 3
                {
                    return Err(bad(
                        format!("{at} baseline"),
                        format!(
                            "a z-score needs at least 3 earlier windows: baseline ≥ {}",
                            3 * window
                        ),
                    ));
                }
            }
            let sustain = span(r.sustain, 1, "sustain", 1)?;
            let severity = match r.severity.as_deref() {
                None => Severity::Medium,
                Some(s) => Severity::parse(s).ok_or_else(|| {
                    bad(
                        format!("{at} severity"),
                        format!("{s:?}: expected low, medium, high or critical"),
                    )
                })?,
            };
            let escalate_after_ms = match r.escalate_after.as_deref() {
                None => severity.default_escalation_ms(),
                Some(s) => parse_duration_ms(s).ok_or_else(|| {
                    bad(
                        format!("{at} escalate_after"),
                        format!("{s:?}: expected a duration such as 30m, 4h or 2d"),
                    )
                })?,
            };
            let notify = match r.notify {
                None => {
                    let mut v = Vec::new();
                    if delivery.webhook.is_some() {
                        v.push(Channel::Webhook);
                    }
                    if delivery.smtp.is_some() {
                        v.push(Channel::Email);
                    }
                    v
                }
                Some(list) => {
                    let mut v = Vec::new();
                    for n in list {
                        match n.as_str() {
                            "dashboard" => {}
                            "webhook" if delivery.webhook.is_some() => v.push(Channel::Webhook),
                            "email" if delivery.smtp.is_some() => v.push(Channel::Email),
                            "webhook" | "email" => {
                                return Err(bad(
                                    format!("{at} notify"),
                                    format!(
                                        "{n} is asked for but [delivery] does not configure it"
                                    ),
                                ));
                            }
                            other => {
                                return Err(bad(
                                    format!("{at} notify"),
                                    format!("{other:?}: expected dashboard, webhook or email"),
                                ));
                            }
                        }
                    }
                    v
                }
            };
            let mut tests = Vec::with_capacity(r.tests.len());
            for (j, t) in r.tests.into_iter().enumerate() {
                let tat = format!("{at} test {}", j + 1);
                let series = parse_series(&t.series)
                    .map_err(|reason| bad(format!("{tat} series"), reason))?;
                let expect_alert = match t.expect.as_str() {
                    "alert" => true,
                    "quiet" => false,
                    other => {
                        return Err(bad(
                            format!("{tat} expect"),
                            format!("{other:?}: expected \"alert\" or \"quiet\""),
                        ));
                    }
                };
                if matches!(threshold, Threshold::PercentileAbove(_)) && t.population.is_empty() {
                    return Err(bad(
                        format!("{tat} population"),
                        "a percentile threshold needs the other subjects' values: population = [...]".into(),
                    ));
                }
                let peer_ratio = t.peer_ratio.unwrap_or(1.0);
                if !(peer_ratio.is_finite() && peer_ratio > 0.0) {
                    return Err(bad(
                        format!("{tat} peer_ratio"),
                        format!("{peer_ratio}: a ratio is positive"),
                    ));
                }
                tests.push(TestCase {
                    name: t.name.unwrap_or_else(|| format!("test {}", j + 1)),
                    series,
                    population: t.population,
                    peer_ratio,
                    expect_alert,
                });
            }
            rules.push(Rule {
                name: r.name.unwrap_or_else(|| r.id.clone()),
                id: r.id,
                description: r.description,
                indicator,
                window,
                baseline,
                threshold,
                min_value: r.min_value,
                min_baseline: r.min_baseline,
                max_baseline: r.max_baseline,
                peer_adjust,
                sustain,
                severity,
                escalate_after_ms,
                notify,
                tests,
            });
        }
        Ok(RuleSet {
            source: source.to_string(),
            rules,
            delivery,
        })
    }
}

fn number(v: &toml::Value) -> Option<f64> {
    match v {
        toml::Value::Integer(i) => Some(*i as f64),
        toml::Value::Float(f) if f.is_finite() => Some(*f),
        _ => None,
    }
}

fn parse_threshold(t: &toml::Table) -> Result<Threshold, String> {
    const KINDS: &str = "above, below, outside, ratio_above, ratio_below, zscore_above, zscore_below, percentile_above";
    if t.len() != 1 {
        return Err(format!(
            "give exactly one of {KINDS}, e.g. {{ ratio_below = 0.5 }}"
        ));
    }
    let (k, v) = t.iter().next().expect("one entry");
    if k == "outside" {
        let band = v
            .as_array()
            .filter(|a| a.len() == 2)
            .and_then(|a| Some((number(&a[0])?, number(&a[1])?)))
            .ok_or("outside takes a band [low, high]")?;
        if band.0 >= band.1 {
            return Err(format!(
                "outside [{}, {}]: low must be below high",
                band.0, band.1
            ));
        }
        return Ok(Threshold::Outside(band.0, band.1));
    }
    let x = number(v).ok_or_else(|| format!("{k} takes a number"))?;
    Ok(match k.as_str() {
        "above" => Threshold::Above(x),
        "below" => Threshold::Below(x),
        "ratio_above" | "ratio_below" if x <= 0.0 => {
            return Err(format!("{k} = {x}: a ratio is positive"));
        }
        "ratio_above" => Threshold::RatioAbove(x),
        "ratio_below" => Threshold::RatioBelow(x),
        "zscore_above" => Threshold::ZscoreAbove(x),
        "zscore_below" => Threshold::ZscoreBelow(x),
        "percentile_above" if !(0.0..100.0).contains(&x) => {
            return Err(format!("percentile_above = {x}: expected 0 ≤ p < 100"));
        }
        "percentile_above" => Threshold::PercentileAbove(x),
        other => {
            return Err(format!(
                "{other:?} is not a threshold; expected one of {KINDS}"
            ));
        }
    })
}

/// A series is an array of numbers, or a string of `value` and `valuexcount` tokens
/// ("10x28 3x7" = 28 tens then 7 threes); `nan` marks a period without data.
pub fn parse_series(v: &toml::Value) -> Result<Vec<f64>, String> {
    match v {
        toml::Value::Array(a) => a
            .iter()
            .enumerate()
            .map(|(i, x)| number(x).ok_or_else(|| format!("item {}: {x:?} is not a number", i + 1)))
            .collect(),
        toml::Value::String(s) => {
            let mut out = Vec::new();
            for tok in s.split([' ', ',', '\t', '\n']).filter(|t| !t.is_empty()) {
                let (val, count) = match tok.split_once(['x', '*']) {
                    Some((v, c)) => (
                        v,
                        c.parse::<usize>()
                            .ok()
                            .filter(|&c| (1..=100_000).contains(&c))
                            .ok_or_else(|| format!("{tok:?}: the count after x is 1…100000"))?,
                    ),
                    None => (tok, 1),
                };
                let val = if val.eq_ignore_ascii_case("nan") {
                    f64::NAN
                } else {
                    val.parse::<f64>()
                        .ok()
                        .filter(|x| x.is_finite())
                        .ok_or_else(|| format!("{tok:?}: {val:?} is not a number"))?
                };
                out.extend(std::iter::repeat_n(val, count));
            }
            if out.is_empty() {
                return Err("the series is empty".into());
            }
            Ok(out)
        }
        other => Err(format!(
            "expected an array of numbers or a string like \"10x28 3x7\", found {}",
            other.type_str()
        )),
    }
}

/// "90s", "30m", "4h", "2d" → milliseconds.
pub fn parse_duration_ms(s: &str) -> Option<i64> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit())?;
    let n: i64 = s[..split].parse().ok()?;
    let unit = match &s[split..] {
        "s" => 1_000,
        "m" | "min" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return None,
    };
    (n > 0 && n <= 3660 * 86_400).then(|| n * unit)
}

/// The rules gridmark ships: one per indicator, each with its test cases; `gridmark risk
/// rules init` writes them for a user to edit.
pub const DEFAULT_RULES: &str = include_str!("default_rules.toml");

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(body: &str) -> Result<RuleSet, RiskError> {
        RuleSet::parse("t.toml", &format!("[[rule]]\nid = \"r\"\n{body}"))
    }

    #[test]
    fn shipped_rules_parse_and_cover_every_indicator() {
        let set = RuleSet::parse("default", DEFAULT_RULES).unwrap();
        for ind in INDICATORS {
            assert!(
                set.rules.iter().any(|r| r.indicator == *ind),
                "no shipped rule for {}",
                ind.name()
            );
        }
        assert!(set.rules.iter().all(|r| r.tests.len() >= 2));
    }

    #[test]
    fn errors_name_the_rule_and_field() {
        let e = rule("indicator = \"daily_kwhh\"\nthreshold = { above = 1 }")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("rule 1 (\"r\") indicator") && e.contains("daily_kwh"),
            "{e}"
        );
        let e = rule("indicator = \"zero_days\"\nthreshold = { ratio_below = 0.5 }")
            .unwrap_err()
            .to_string();
        assert!(e.contains("absolute or percentile"), "{e}");
        let e = rule("indicator = \"daily_kwh\"\nthreshold = { above = 1, below = 2 }")
            .unwrap_err()
            .to_string();
        assert!(e.contains("exactly one"), "{e}");
        let e = rule("indicator = \"daily_kwh\"\nwindow = 7\nbaseline = 14\nthreshold = { zscore_below = -3 }").unwrap_err().to_string();
        assert!(e.contains("at least 3 earlier windows"), "{e}");
        let e = rule("indicator = \"daily_kwh\"\nthreshold = { above = 1 }\ncolour = \"red\"")
            .unwrap_err()
            .to_string();
        assert!(e.contains("colour") && e.contains("line"), "{e}");
        let e =
            rule("indicator = \"daily_kwh\"\nthreshold = { above = 1 }\nnotify = [\"webhook\"]")
                .unwrap_err()
                .to_string();
        assert!(e.contains("does not configure"), "{e}");
        let e = RuleSet::parse("t.toml", "[[rule]\nid=")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("t.toml: syntax") && e.contains("line 1"),
            "{e}"
        );
    }

    #[test]
    fn series_shorthand() {
        let v = parse_series(&toml::Value::String("10x3 2, nan".into())).unwrap();
        assert_eq!(&v[..4], &[10.0, 10.0, 10.0, 2.0]);
        assert!(v[4].is_nan());
        assert!(parse_series(&toml::Value::String("10x0".into())).is_err());
        assert!(parse_series(&toml::Value::String("ten".into())).is_err());
        assert_eq!(parse_duration_ms("4h"), Some(14_400_000));
        assert_eq!(parse_duration_ms("4 weeks"), None);
    }
}
