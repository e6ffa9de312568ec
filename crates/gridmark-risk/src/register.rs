//! The risk register: risks identified (by hand or from recurring alerts), assessed on a
//! 5 × 5 likelihood × impact matrix, controlled by actions with owners and due dates, and
//! monitored through the alert rules linked to them.
//!
//! Like the alert log it is an append-only event file (`<lake>/_risk/register.jsonl`): a risk's
//! full history — who assessed it how, when an action was added and done — is never rewritten.

use crate::RiskError;
use crate::alerts::AlertLog;
use crate::eventlog::EventFile;
use gridmark_core::Clock;
use gridmark_core::civil::{format_date, format_utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum RiskEventKind {
    Identified {
        title: String,
        category: String,
        description: String,
        owner: String,
        source: String,
    },
    Assessed {
        /// inherent (before controls) or residual (with them)
        kind: String,
        likelihood: u8,
        impact: u8,
        note: String,
    },
    ActionAdded {
        action: String,
        text: String,
        owner: String,
        due: String,
    },
    ActionDone {
        action: String,
        note: String,
    },
    IndicatorLinked {
        rule: String,
    },
    StatusChanged {
        status: String,
        note: String,
    },
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RiskEvent {
    pub seq: u64,
    pub at: String,
    pub at_ms: i64,
    pub by: String,
    pub risk: String,
    #[serde(flatten)]
    pub kind: RiskEventKind,
}

#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct Score {
    pub likelihood: u8,
    pub impact: u8,
    pub score: u8,
    pub level: &'static str,
}

impl Score {
    pub fn new(likelihood: u8, impact: u8) -> Score {
        let score = likelihood * impact;
        Score {
            likelihood,
            impact,
            score,
            level: level(score),
        }
    }
}

/// The level of a likelihood × impact product on the 5 × 5 matrix.
pub fn level(score: u8) -> &'static str {
    match score {
        0..=4 => "low",
        5..=9 => "medium",
        10..=16 => "high",
        _ => "critical",
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Action {
    pub id: String,
    pub text: String,
    pub owner: String,
    pub due: String,
    pub done: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Risk {
    pub id: String,
    pub title: String,
    pub category: String,
    pub description: String,
    pub owner: String,
    pub source: String,
    pub status: String,
    pub identified_at: String,
    pub inherent: Option<Score>,
    pub residual: Option<Score>,
    /// (when, kind, score) of every assessment, oldest first: residual risk over time.
    pub assessments: Vec<(String, String, Score)>,
    pub actions: Vec<Action>,
    pub rules: Vec<String>,
    pub history: Vec<RiskEvent>,
}

pub const STATUSES: &[&str] = &["open", "treating", "accepted", "closed"];

pub struct Register {
    file: EventFile,
    events: Vec<RiskEvent>,
    risks: BTreeMap<String, Risk>,
}

fn check_scale(name: &str, v: u8) -> Result<(), RiskError> {
    if (1..=5).contains(&v) {
        Ok(())
    } else {
        Err(RiskError::Invalid(format!(
            "{name} {v}: expected 1 (rare / minor) … 5 (almost certain / severe)"
        )))
    }
}

impl Register {
    pub fn open(root: &Path) -> Result<Register, RiskError> {
        let (file, events) = EventFile::open::<RiskEvent>(root, "register")?;
        let mut reg = Register {
            file,
            events: Vec::new(),
            risks: BTreeMap::new(),
        };
        for e in events {
            reg.apply(e);
        }
        Ok(reg)
    }

    pub fn event_count(&self) -> usize {
        self.events.len()
    }

    /// The events appended since the register held `n`.
    pub fn events_since(&self, n: usize) -> &[RiskEvent] {
        &self.events[n.min(self.events.len())..]
    }

    pub fn risks(&self) -> impl Iterator<Item = &Risk> {
        self.risks.values()
    }

    pub fn get(&self, id: &str) -> Result<&Risk, RiskError> {
        self.risks
            .get(id)
            .ok_or_else(|| RiskError::NotFound(format!("no risk {id} in the register")))
    }

    fn apply(&mut self, e: RiskEvent) {
        if let RiskEventKind::Identified {
            title,
            category,
            description,
            owner,
            source,
        } = &e.kind
        {
            self.risks.insert(
                e.risk.clone(),
                Risk {
                    id: e.risk.clone(),
                    title: title.clone(),
                    category: category.clone(),
                    description: description.clone(),
                    owner: owner.clone(),
                    source: source.clone(),
                    status: "open".into(),
                    identified_at: e.at.clone(),
                    inherent: None,
                    residual: None,
                    assessments: Vec::new(),
                    actions: Vec::new(),
                    rules: Vec::new(),
                    history: Vec::new(),
                },
            );
        }
        let Some(r) = self.risks.get_mut(&e.risk) else {
            return;
        };
        match &e.kind {
            RiskEventKind::Identified { .. } => {}
            RiskEventKind::Assessed {
                kind,
                likelihood,
                impact,
                ..
            } => {
                let s = Score::new(*likelihood, *impact);
                if kind == "residual" {
                    r.residual = Some(s);
                } else {
                    r.inherent = Some(s);
                }
                r.assessments.push((e.at.clone(), kind.clone(), s));
            }
            RiskEventKind::ActionAdded {
                action,
                text,
                owner,
                due,
            } => r.actions.push(Action {
                id: action.clone(),
                text: text.clone(),
                owner: owner.clone(),
                due: due.clone(),
                done: false,
            }),
            RiskEventKind::ActionDone { action, .. } => {
                if let Some(a) = r.actions.iter_mut().find(|a| &a.id == action) {
                    a.done = true;
                }
            }
            RiskEventKind::IndicatorLinked { rule } => {
                if !r.rules.contains(rule) {
                    r.rules.push(rule.clone());
                }
            }
            RiskEventKind::StatusChanged { status, .. } => r.status = status.clone(),
        }
        r.history.push(e.clone());
        self.events.push(e);
    }

    fn append(
        &mut self,
        clock: &dyn Clock,
        by: &str,
        risk: &str,
        kind: RiskEventKind,
    ) -> Result<(), RiskError> {
        let now = clock.now_ms();
        let e = RiskEvent {
            seq: self.events.last().map_or(1, |e| e.seq + 1),
            at: format_utc(now),
            at_ms: now,
            by: by.to_string(),
            risk: risk.to_string(),
            kind,
        };
        self.file.append(&e)?;
        self.apply(e);
        Ok(())
    }

    /// Identifies a new risk; returns its id (R-001, R-002…).
    #[allow(clippy::too_many_arguments)]
    pub fn identify(
        &mut self,
        clock: &dyn Clock,
        by: &str,
        title: &str,
        category: &str,
        description: &str,
        owner: &str,
        source: &str,
    ) -> Result<String, RiskError> {
        if title.trim().is_empty() {
            return Err(RiskError::Invalid("a risk needs a title".into()));
        }
        let id = format!("R-{:03}", self.risks.len() + 1);
        self.append(
            clock,
            by,
            &id,
            RiskEventKind::Identified {
                title: title.trim().into(),
                category: category.into(),
                description: description.into(),
                owner: owner.into(),
                source: source.into(),
            },
        )?;
        Ok(id)
    }

    pub fn assess(
        &mut self,
        clock: &dyn Clock,
        by: &str,
        id: &str,
        a: &Assessment,
    ) -> Result<Score, RiskError> {
        let Assessment {
            residual,
            likelihood,
            impact,
            note,
        } = a.clone();
        self.get(id)?;
        check_scale("likelihood", likelihood)?;
        check_scale("impact", impact)?;
        self.append(
            clock,
            by,
            id,
            RiskEventKind::Assessed {
                kind: if residual { "residual" } else { "inherent" }.into(),
                likelihood,
                impact,
                note,
            },
        )?;
        Ok(Score::new(likelihood, impact))
    }

    pub fn add_action(
        &mut self,
        clock: &dyn Clock,
        by: &str,
        id: &str,
        text: &str,
        owner: &str,
        due_day: i64,
    ) -> Result<String, RiskError> {
        let r = self.get(id)?;
        if text.trim().is_empty() {
            return Err(RiskError::Invalid("an action needs a text".into()));
        }
        let action = format!("{id}.{}", r.actions.len() + 1);
        self.append(
            clock,
            by,
            id,
            RiskEventKind::ActionAdded {
                action: action.clone(),
                text: text.trim().into(),
                owner: owner.into(),
                due: format_date(due_day),
            },
        )?;
        if self.get(id)?.status == "open" {
            self.append(
                clock,
                by,
                id,
                RiskEventKind::StatusChanged {
                    status: "treating".into(),
                    note: format!("action {action} added"),
                },
            )?;
        }
        Ok(action)
    }

    pub fn complete_action(
        &mut self,
        clock: &dyn Clock,
        by: &str,
        action: &str,
        note: &str,
    ) -> Result<(), RiskError> {
        let risk = action.rsplit_once('.').map(|p| p.0).unwrap_or("");
        let r = self.get(risk).map_err(|_| {
            RiskError::NotFound(format!(
                "no action {action}: actions are named R-001.1, R-001.2…"
            ))
        })?;
        let a = r
            .actions
            .iter()
            .find(|a| a.id == action)
            .ok_or_else(|| RiskError::NotFound(format!("{risk} has no action {action}")))?;
        if a.done {
            return Err(RiskError::Invalid(format!("{action} is already done")));
        }
        self.append(
            clock,
            by,
            risk,
            RiskEventKind::ActionDone {
                action: action.into(),
                note: note.into(),
            },
        )
    }

    pub fn link(
        &mut self,
        clock: &dyn Clock,
        by: &str,
        id: &str,
        rule: &str,
    ) -> Result<(), RiskError> {
        if self.get(id)?.rules.iter().any(|r| r == rule) {
            return Ok(());
        }
        self.append(
            clock,
            by,
            id,
            RiskEventKind::IndicatorLinked { rule: rule.into() },
        )
    }

    pub fn set_status(
        &mut self,
        clock: &dyn Clock,
        by: &str,
        id: &str,
        status: &str,
        note: &str,
    ) -> Result<(), RiskError> {
        self.get(id)?;
        if !STATUSES.contains(&status) {
            return Err(RiskError::Invalid(format!(
                "status {status:?}: expected one of {}",
                STATUSES.join(", ")
            )));
        }
        self.append(
            clock,
            by,
            id,
            RiskEventKind::StatusChanged {
                status: status.into(),
                note: note.into(),
            },
        )
    }

    /// Identifies a risk for every rule whose alerts recur: at least `min_alerts` alerts opened
    /// for evaluation days within the last `days` days of the log. A rule already linked to a
    /// risk identified this way is not identified again.
    pub fn identify_from_alerts(
        &mut self,
        clock: &dyn Clock,
        by: &str,
        log: &AlertLog,
        min_alerts: usize,
        days: i64,
    ) -> Result<Vec<String>, RiskError> {
        let latest = log.alerts().map(|a| a.last_as_of_day).max();
        let Some(latest) = latest else {
            return Ok(Vec::new());
        };
        let mut by_rule: BTreeMap<&str, Vec<&crate::alerts::Alert>> = BTreeMap::new();
        for a in log.alerts() {
            let first_day = a
                .history
                .iter()
                .find_map(|e| match &e.kind {
                    crate::alerts::EventKind::Opened { as_of_day, .. } => Some(*as_of_day),
                    _ => None,
                })
                .unwrap_or(a.last_as_of_day);
            if first_day > latest - days {
                by_rule.entry(a.rule.as_str()).or_default().push(a);
            }
        }
        let mut made = Vec::new();
        for (rule, alerts) in by_rule {
            if alerts.len() < min_alerts {
                continue;
            }
            let source = format!("alerts:{rule}");
            if self
                .risks
                .values()
                .any(|r| r.source == source && r.status != "closed")
            {
                continue;
            }
            let mut subjects: Vec<&str> = alerts.iter().map(|a| a.subject.as_str()).collect();
            subjects.sort_unstable();
            subjects.dedup();
            let worst = alerts
                .iter()
                .map(|a| {
                    crate::rules::Severity::parse(&a.severity)
                        .unwrap_or(crate::rules::Severity::Low)
                })
                .max()
                .unwrap_or(crate::rules::Severity::Low);
            let impact = match worst {
                crate::rules::Severity::Low => 2,
                crate::rules::Severity::Medium => 3,
                crate::rules::Severity::High => 4,
                crate::rules::Severity::Critical => 5,
            };
            // Alerts per 30 days → likelihood: 1 below 2, 2 below 5, 3 below 10, 4 below 25, else 5.
            let per_month = alerts.len() as f64 * 30.0 / days.max(1) as f64;
            let likelihood = match per_month {
                x if x < 2.0 => 1,
                x if x < 5.0 => 2,
                x if x < 10.0 => 3,
                x if x < 25.0 => 4,
                _ => 5,
            };
            let shown: Vec<&str> = subjects.iter().take(10).copied().collect();
            let description = format!(
                "{} alerts of rule {rule} ({}) in the {days} days to {}, on {} {}s: {}{}",
                alerts.len(),
                alerts[0].rule_name,
                format_date(latest),
                subjects.len(),
                alerts[0].subject_kind,
                shown.join(", "),
                if subjects.len() > shown.len() {
                    ", …"
                } else {
                    ""
                }
            );
            let id = self.identify(
                clock,
                by,
                &format!("Recurring: {}", alerts[0].rule_name),
                "early-warning",
                &description,
                "",
                &source,
            )?;
            self.link(clock, by, &id, rule)?;
            self.assess(
                clock,
                by,
                &id,
                &Assessment::new(
                    false,
                    likelihood,
                    impact,
                    "from alert frequency and worst severity",
                ),
            )?;
            made.push(id);
        }
        Ok(made)
    }
}

/// One likelihood × impact judgement.
#[derive(Debug, Clone)]
pub struct Assessment {
    /// Of the risk with its controls in place (else before them: inherent).
    pub residual: bool,
    pub likelihood: u8,
    pub impact: u8,
    pub note: String,
}

impl Assessment {
    pub fn new(residual: bool, likelihood: u8, impact: u8, note: &str) -> Self {
        Assessment {
            residual,
            likelihood,
            impact,
            note: note.into(),
        }
    }
}

/// What monitoring shows for one risk.
#[derive(Debug, Clone, Serialize)]
pub struct Monitor {
    pub risk: String,
    pub title: String,
    pub status: String,
    pub owner: String,
    pub inherent: Option<Score>,
    pub residual: Option<Score>,
    pub residual_trend: Vec<(String, u8)>,
    pub rules: Vec<String>,
    pub live_alerts: usize,
    pub alerts_last_30_days: usize,
    pub actions_open: usize,
    pub actions_overdue: Vec<String>,
}

pub fn monitor(reg: &Register, log: &AlertLog, today: i64) -> Vec<Monitor> {
    reg.risks()
        .map(|r| {
            let linked: Vec<&crate::alerts::Alert> =
                log.alerts().filter(|a| r.rules.contains(&a.rule)).collect();
            let today_s = format_date(today);
            Monitor {
                risk: r.id.clone(),
                title: r.title.clone(),
                status: r.status.clone(),
                owner: r.owner.clone(),
                inherent: r.inherent,
                residual: r.residual,
                residual_trend: r
                    .assessments
                    .iter()
                    .filter(|a| a.1 == "residual")
                    .map(|a| (a.0.clone(), a.2.score))
                    .collect(),
                rules: r.rules.clone(),
                live_alerts: linked.iter().filter(|a| a.status.live()).count(),
                alerts_last_30_days: linked
                    .iter()
                    .filter(|a| a.last_as_of_day > today - 30)
                    .count(),
                actions_open: r.actions.iter().filter(|a| !a.done).count(),
                actions_overdue: r
                    .actions
                    .iter()
                    .filter(|a| !a.done && a.due < today_s)
                    .map(|a| format!("{} (due {})", a.id, a.due))
                    .collect(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use gridmark_core::FixedClock;

    #[test]
    fn a_risk_is_identified_assessed_treated_and_its_history_kept() {
        let dir = tempfile::tempdir().unwrap();
        let clock = FixedClock::new(1_764_000_000_000);
        let mut reg = Register::open(dir.path()).unwrap();
        let id = reg
            .identify(
                &clock,
                "wang",
                "Meter bypass in old districts",
                "revenue",
                "",
                "metering",
                "manual",
            )
            .unwrap();
        assert_eq!(id, "R-001");
        assert_eq!(
            reg.assess(&clock, "wang", &id, &Assessment::new(false, 4, 4, ""))
                .unwrap()
                .level,
            "high"
        );
        assert!(
            reg.assess(&clock, "wang", &id, &Assessment::new(false, 6, 4, ""))
                .is_err()
        );
        let a = reg
            .add_action(
                &clock,
                "wang",
                &id,
                "Inspect the 20 top suspects",
                "zhao",
                20_400,
            )
            .unwrap();
        assert_eq!(a, "R-001.1");
        reg.link(&clock, "wang", &id, "consumption-drop").unwrap();
        reg.link(&clock, "wang", &id, "consumption-drop").unwrap();
        reg.complete_action(&clock, "zhao", &a, "done").unwrap();
        assert!(reg.complete_action(&clock, "zhao", &a, "again").is_err());
        assert!(reg.complete_action(&clock, "zhao", "R-009.1", "").is_err());
        reg.assess(
            &clock,
            "wang",
            &id,
            &Assessment::new(true, 2, 4, "after inspections"),
        )
        .unwrap();
        drop(reg);
        let reg = Register::open(dir.path()).unwrap();
        let r = reg.get("R-001").unwrap();
        assert_eq!(r.status, "treating");
        assert_eq!(r.residual.unwrap().score, 8);
        assert_eq!(r.rules, vec!["consumption-drop"]);
        assert!(r.actions[0].done);
        // identified, assessed, action added, status, link, action done, residual
        assert_eq!(r.history.len(), 7);
        assert!(r.history.iter().any(|e| e.by == "zhao"));
    }
}
