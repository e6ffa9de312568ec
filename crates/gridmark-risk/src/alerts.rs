//! The alert log: an append-only JSON-lines file of events under `<lake>/_risk/alerts.jsonl`;
//! an alert's state is the replay of its events.
//!
//! - **De-duplication**: one live alert per (rule, subject). While it is open, acknowledged or
//!   escalated, a later finding adds an `observed` event; the same finding again (a rerun over
//!   the same day) adds nothing, so runs are idempotent.
//! - **Lifecycle**: open → acknowledged → resolved; open alerts not acknowledged within their
//!   rule's `escalate_after` become escalated (and are delivered again). A finding after an
//!   alert was resolved opens a new alert.
//! - **Delivery**: each opened or escalated event is sent to the rule's channels; failures are
//!   recorded and retried on the next run, up to [`MAX_ATTEMPTS`].
//!
//! Writers take an exclusive lock on `alerts.lock`; every appended line is flushed to disk
//! before the call returns. A torn last line (a crash mid-write) is ignored on reading.

use crate::RiskError;
use crate::engine::Finding;
use crate::eventlog::EventFile;
use crate::rules::{Channel, Delivery, RuleSet, Severity};
use gridmark_core::Clock;
use gridmark_core::civil::format_utc;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

pub const MAX_ATTEMPTS: usize = 5;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum EventKind {
    Opened {
        rule: String,
        rule_name: String,
        indicator: String,
        subject_kind: String,
        subject: String,
        severity: String,
        as_of: String,
        as_of_day: i64,
        message: String,
        evidence: serde_json::Value,
        escalate_after_ms: i64,
        #[serde(default)]
        previous: Option<String>,
    },
    Observed {
        as_of: String,
        as_of_day: i64,
        message: String,
        evidence: serde_json::Value,
    },
    Acknowledged {
        by: String,
        note: String,
    },
    Resolved {
        by: String,
        note: String,
    },
    Escalated {
        reason: String,
    },
    Delivered {
        channel: String,
        target: String,
        trigger: String,
    },
    DeliveryFailed {
        channel: String,
        target: String,
        trigger: String,
        error: String,
    },
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Event {
    pub seq: u64,
    pub at: String,
    pub at_ms: i64,
    pub alert: String,
    #[serde(flatten)]
    pub kind: EventKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Open,
    Acknowledged,
    Escalated,
    Resolved,
}

impl Status {
    pub fn name(self) -> &'static str {
        match self {
            Status::Open => "open",
            Status::Acknowledged => "acknowledged",
            Status::Escalated => "escalated",
            Status::Resolved => "resolved",
        }
    }
    pub fn parse(s: &str) -> Option<Status> {
        Some(match s {
            "open" => Status::Open,
            "acknowledged" | "ack" => Status::Acknowledged,
            "escalated" => Status::Escalated,
            "resolved" => Status::Resolved,
            _ => return None,
        })
    }
    pub fn live(self) -> bool {
        self != Status::Resolved
    }
}

/// One alert as its events leave it.
#[derive(Debug, Clone, Serialize)]
pub struct Alert {
    pub id: String,
    pub rule: String,
    pub rule_name: String,
    pub indicator: String,
    pub subject_kind: String,
    pub subject: String,
    pub severity: String,
    pub status: Status,
    pub opened_at: String,
    pub opened_at_ms: i64,
    pub first_as_of: String,
    pub last_as_of: String,
    pub last_as_of_day: i64,
    pub observations: usize,
    pub message: String,
    pub evidence: serde_json::Value,
    pub escalate_after_ms: i64,
    pub previous: Option<String>,
    pub acknowledged_by: Option<String>,
    pub resolved_by: Option<String>,
    pub escalated_at: Option<String>,
    pub deliveries: Vec<String>,
    pub history: Vec<Event>,
}

pub struct AlertLog {
    file: EventFile,
    events: Vec<Event>,
    alerts: BTreeMap<String, Alert>,
}

/// What one `record` call changed.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RecordReport {
    pub opened: Vec<String>,
    pub observed: usize,
    pub unchanged: usize,
    pub escalated: Vec<String>,
    pub delivered: usize,
    pub delivery_failures: Vec<String>,
}

impl AlertLog {
    /// Opens (creating) the log of the lake at `root` and takes the writer lock.
    pub fn open(root: &Path) -> Result<AlertLog, RiskError> {
        let (file, events) = EventFile::open::<Event>(root, "alerts")?;
        let mut log = AlertLog {
            file,
            events: Vec::new(),
            alerts: BTreeMap::new(),
        };
        for e in events {
            log.apply(e);
        }
        Ok(log)
    }

    pub fn alerts(&self) -> impl Iterator<Item = &Alert> {
        self.alerts.values()
    }

    pub fn get(&self, id: &str) -> Result<&Alert, RiskError> {
        self.alerts.get(id).ok_or_else(|| {
            RiskError::NotFound(format!("no alert {id} in {}", self.file.path().display()))
        })
    }

    pub fn events(&self) -> &[Event] {
        &self.events
    }

    fn apply(&mut self, e: Event) {
        match &e.kind {
            EventKind::Opened {
                rule,
                rule_name,
                indicator,
                subject_kind,
                subject,
                severity,
                as_of,
                as_of_day,
                message,
                evidence,
                escalate_after_ms,
                previous,
            } => {
                self.alerts.insert(
                    e.alert.clone(),
                    Alert {
                        id: e.alert.clone(),
                        rule: rule.clone(),
                        rule_name: rule_name.clone(),
                        indicator: indicator.clone(),
                        subject_kind: subject_kind.clone(),
                        subject: subject.clone(),
                        severity: severity.clone(),
                        status: Status::Open,
                        opened_at: e.at.clone(),
                        opened_at_ms: e.at_ms,
                        first_as_of: as_of.clone(),
                        last_as_of: as_of.clone(),
                        last_as_of_day: *as_of_day,
                        observations: 1,
                        message: message.clone(),
                        evidence: evidence.clone(),
                        escalate_after_ms: *escalate_after_ms,
                        previous: previous.clone(),
                        acknowledged_by: None,
                        resolved_by: None,
                        escalated_at: None,
                        deliveries: Vec::new(),
                        history: Vec::new(),
                    },
                );
            }
            EventKind::Observed {
                as_of,
                as_of_day,
                message,
                evidence,
            } => {
                if let Some(a) = self.alerts.get_mut(&e.alert) {
                    a.last_as_of = as_of.clone();
                    a.last_as_of_day = *as_of_day;
                    a.observations += 1;
                    a.message = message.clone();
                    a.evidence = evidence.clone();
                }
            }
            EventKind::Acknowledged { by, .. } => {
                if let Some(a) = self.alerts.get_mut(&e.alert) {
                    a.status = Status::Acknowledged;
                    a.acknowledged_by = Some(by.clone());
                }
            }
            EventKind::Resolved { by, .. } => {
                if let Some(a) = self.alerts.get_mut(&e.alert) {
                    a.status = Status::Resolved;
                    a.resolved_by = Some(by.clone());
                }
            }
            EventKind::Escalated { .. } => {
                if let Some(a) = self.alerts.get_mut(&e.alert) {
                    if a.status == Status::Open {
                        a.status = Status::Escalated;
                    }
                    a.escalated_at = Some(e.at.clone());
                }
            }
            EventKind::Delivered {
                channel, trigger, ..
            } => {
                if let Some(a) = self.alerts.get_mut(&e.alert) {
                    a.deliveries
                        .push(format!("{channel} ({trigger}) at {}", e.at));
                }
            }
            EventKind::DeliveryFailed { .. } => {}
        }
        if let Some(a) = self.alerts.get_mut(&e.alert) {
            a.history.push(e.clone());
        }
        self.events.push(e);
    }

    fn append(&mut self, clock: &dyn Clock, alert: &str, kind: EventKind) -> Result<(), RiskError> {
        let now = clock.now_ms();
        let e = Event {
            seq: self.events.last().map_or(1, |e| e.seq + 1),
            at: format_utc(now),
            at_ms: now,
            alert: alert.to_string(),
            kind,
        };
        self.file.append(&e)?;
        self.apply(e);
        Ok(())
    }

    fn next_id(&self) -> String {
        format!("A-{:06}", self.alerts.len() + 1)
    }

    /// Opens or updates one alert per finding (de-duplicated by rule and subject).
    pub fn record(
        &mut self,
        findings: &[Finding],
        clock: &dyn Clock,
    ) -> Result<RecordReport, RiskError> {
        let mut report = RecordReport::default();
        for f in findings {
            let latest = self
                .alerts
                .values()
                .filter(|a| a.rule == f.rule && a.subject == f.subject)
                .max_by_key(|a| id_number(&a.id))
                .map(|a| (a.id.clone(), a.status, a.last_as_of_day));
            match latest {
                Some((id, status, last)) if status.live() => {
                    if f.as_of_day > last {
                        self.append(
                            clock,
                            &id,
                            EventKind::Observed {
                                as_of: f.as_of.clone(),
                                as_of_day: f.as_of_day,
                                message: f.message.clone(),
                                evidence: f.evidence.clone(),
                            },
                        )?;
                        report.observed += 1;
                    } else {
                        report.unchanged += 1;
                    }
                }
                Some((_, _, last)) if f.as_of_day <= last => report.unchanged += 1,
                previous => {
                    let id = self.next_id();
                    self.append(
                        clock,
                        &id,
                        EventKind::Opened {
                            rule: f.rule.clone(),
                            rule_name: f.rule_name.clone(),
                            indicator: f.indicator.to_string(),
                            subject_kind: f.subject_kind.name().to_string(),
                            subject: f.subject.clone(),
                            severity: f.severity.name().to_string(),
                            as_of: f.as_of.clone(),
                            as_of_day: f.as_of_day,
                            message: f.message.clone(),
                            evidence: f.evidence.clone(),
                            escalate_after_ms: f.escalate_after_ms,
                            previous: previous.map(|p| p.0),
                        },
                    )?;
                    report.opened.push(id);
                }
            }
        }
        Ok(report)
    }

    pub fn acknowledge(
        &mut self,
        id: &str,
        by: &str,
        note: &str,
        clock: &dyn Clock,
    ) -> Result<(), RiskError> {
        let a = self.get(id)?;
        match a.status {
            Status::Open | Status::Escalated => self.append(
                clock,
                id,
                EventKind::Acknowledged {
                    by: by.into(),
                    note: note.into(),
                },
            ),
            s => Err(RiskError::Invalid(format!(
                "{id} is {}; only open or escalated alerts can be acknowledged",
                s.name()
            ))),
        }
    }

    pub fn resolve(
        &mut self,
        id: &str,
        by: &str,
        note: &str,
        clock: &dyn Clock,
    ) -> Result<(), RiskError> {
        let a = self.get(id)?;
        if a.status == Status::Resolved {
            return Err(RiskError::Invalid(format!(
                "{id} was already resolved by {}",
                a.resolved_by.as_deref().unwrap_or("?")
            )));
        }
        self.append(
            clock,
            id,
            EventKind::Resolved {
                by: by.into(),
                note: note.into(),
            },
        )
    }

    /// Escalates open alerts whose deadline has passed; returns their ids.
    pub fn escalate_due(&mut self, clock: &dyn Clock) -> Result<Vec<String>, RiskError> {
        let now = clock.now_ms();
        let due: Vec<(String, i64)> = self
            .alerts
            .values()
            .filter(|a| a.status == Status::Open && now - a.opened_at_ms >= a.escalate_after_ms)
            .map(|a| (a.id.clone(), a.escalate_after_ms))
            .collect();
        for (id, after) in &due {
            self.append(
                clock,
                id,
                EventKind::Escalated {
                    reason: format!("not acknowledged within {}", human_duration(*after)),
                },
            )?;
        }
        Ok(due.into_iter().map(|d| d.0).collect())
    }

    /// Sends every opened or escalated event not yet delivered to the channels its rule (in
    /// `rules`) asks for; failures are logged and retried next time.
    pub fn deliver(
        &mut self,
        rules: &RuleSet,
        clock: &dyn Clock,
    ) -> Result<(usize, Vec<String>), RiskError> {
        let mut jobs: Vec<(String, &'static str, Channel)> = Vec::new();
        for a in self.alerts.values() {
            let Some(rule) = rules.rules.iter().find(|r| r.id == a.rule) else {
                continue;
            };
            let mut triggers = vec!["opened"];
            if a.history
                .iter()
                .any(|e| matches!(e.kind, EventKind::Escalated { .. }))
            {
                triggers.push("escalated");
            }
            for trigger in triggers {
                for ch in &rule.notify {
                    let cname = channel_name(ch);
                    let sev = Severity::parse(&a.severity).unwrap_or(Severity::Low);
                    if *ch == Channel::Email && sev < rules.delivery.email_min_severity {
                        continue;
                    }
                    let mut done = false;
                    let mut attempts = 0;
                    for e in &a.history {
                        match &e.kind {
                            EventKind::Delivered {
                                channel,
                                trigger: t,
                                ..
                            } if channel == cname && t == trigger => done = true,
                            EventKind::DeliveryFailed {
                                channel,
                                trigger: t,
                                ..
                            } if channel == cname && t == trigger => attempts += 1,
                            _ => {}
                        }
                    }
                    if !done && attempts < MAX_ATTEMPTS {
                        jobs.push((a.id.clone(), trigger, ch.clone()));
                    }
                }
            }
        }
        let mut sent = 0;
        let mut failures = Vec::new();
        for (id, trigger, ch) in jobs {
            let alert = self.alerts[&id].clone();
            let (target, result) = send(&alert, trigger, &ch, &rules.delivery, clock);
            let kind = match result {
                Ok(()) => {
                    sent += 1;
                    EventKind::Delivered {
                        channel: channel_name(&ch).into(),
                        target,
                        trigger: trigger.into(),
                    }
                }
                Err(error) => {
                    failures.push(format!("{id} → {} {target}: {error}", channel_name(&ch)));
                    EventKind::DeliveryFailed {
                        channel: channel_name(&ch).into(),
                        target,
                        trigger: trigger.into(),
                        error,
                    }
                }
            };
            self.append(clock, &id, kind)?;
        }
        Ok((sent, failures))
    }

    /// Records findings, escalates what is due and delivers: what one scheduled run does.
    pub fn process(
        &mut self,
        findings: &[Finding],
        rules: &RuleSet,
        clock: &dyn Clock,
        deliver: bool,
    ) -> Result<RecordReport, RiskError> {
        let mut report = self.record(findings, clock)?;
        report.escalated = self.escalate_due(clock)?;
        if deliver {
            let (sent, failures) = self.deliver(rules, clock)?;
            report.delivered = sent;
            report.delivery_failures = failures;
        }
        Ok(report)
    }

    /// Releases the writer lock (also released on drop).
    pub fn close(self) {
        self.file.close();
    }
}

fn id_number(id: &str) -> u64 {
    id.trim_start_matches("A-").parse().unwrap_or(0)
}

fn channel_name(c: &Channel) -> &'static str {
    match c {
        Channel::Webhook => "webhook",
        Channel::Email => "email",
    }
}

pub fn human_duration(ms: i64) -> String {
    match ms {
        m if m % 86_400_000 == 0 => format!("{}d", m / 86_400_000),
        m if m % 3_600_000 == 0 => format!("{}h", m / 3_600_000),
        m if m % 60_000 == 0 => format!("{}m", m / 60_000),
        m => format!("{}s", m / 1000),
    }
}

/// The JSON a webhook receives.
pub fn webhook_payload(a: &Alert, trigger: &str) -> serde_json::Value {
    serde_json::json!({
        "source": "gridmark",
        "trigger": trigger,
        "alert": a.id,
        "status": a.status.name(),
        "rule": a.rule,
        "rule_name": a.rule_name,
        "severity": a.severity,
        "subject_kind": a.subject_kind,
        "subject": a.subject,
        "as_of": a.last_as_of,
        "opened_at": a.opened_at,
        "message": a.message,
        "evidence": a.evidence,
    })
}

fn send(
    a: &Alert,
    trigger: &str,
    ch: &Channel,
    d: &Delivery,
    clock: &dyn Clock,
) -> (String, Result<(), String>) {
    match ch {
        Channel::Webhook => {
            let url = d.webhook.clone().unwrap_or_default();
            let body = webhook_payload(a, trigger).to_string();
            let r = crate::deliver::post_json(&url, &body).map(|_| ());
            (url, r)
        }
        Channel::Email => {
            let relay = d.smtp.clone().unwrap_or_default();
            let subject = format!(
                "[gridmark {}{}] {} — {} {}",
                a.severity,
                if trigger == "escalated" {
                    ", ESCALATED"
                } else {
                    ""
                },
                a.rule_name,
                a.subject_kind,
                a.subject
            );
            let body = format!(
                "{}\n\nAlert {} ({}), opened {}, as of {}.\n\nEvidence:\n{}\n\nAcknowledge: gridmark --data DIR risk alerts ack {} --by NAME\n",
                a.message,
                a.id,
                a.status.name(),
                a.opened_at,
                a.last_as_of,
                serde_json::to_string_pretty(&a.evidence).unwrap_or_default(),
                a.id
            );
            let date = rfc2822(clock.now_ms());
            let r =
                crate::deliver::send_mail(&relay, &d.mail_from, &d.mail_to, &subject, &body, &date);
            (relay, r)
        }
    }
}

fn rfc2822(ms: i64) -> String {
    let days = ms.div_euclid(86_400_000);
    let (y, m, d) = gridmark_core::civil::civil_from_days(days);
    let secs = ms.rem_euclid(86_400_000) / 1000;
    const WD: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MON: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!(
        "{}, {d:02} {} {y} {:02}:{:02}:{:02} +0000",
        WD[days.rem_euclid(7) as usize],
        MON[m as usize - 1],
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::SubjectKind;
    use gridmark_core::FixedClock;

    fn finding(subject: &str, day: i64) -> Finding {
        Finding {
            rule: "consumption-drop".into(),
            rule_name: "drop".into(),
            indicator: "daily_kwh",
            subject_kind: SubjectKind::Meter,
            subject: subject.into(),
            severity: Severity::High,
            as_of: gridmark_core::civil::format_date(day),
            as_of_day: day,
            message: format!("{subject} dropped"),
            evidence: serde_json::json!({"current": 1.0}),
            escalate_after_ms: 3_600_000,
        }
    }

    #[test]
    fn dedupe_lifecycle_and_escalation() {
        let dir = tempfile::tempdir().unwrap();
        let clock = FixedClock::new(1_700_000_000_000);
        let mut log = AlertLog::open(dir.path()).unwrap();
        let r = log
            .record(&[finding("M1", 100), finding("M2", 100)], &clock)
            .unwrap();
        assert_eq!(r.opened, vec!["A-000001", "A-000002"]);
        // The same day again changes nothing; a later day is an observation of the same alert.
        let r = log.record(&[finding("M1", 100)], &clock).unwrap();
        assert_eq!((r.opened.len(), r.observed, r.unchanged), (0, 0, 1));
        let r = log.record(&[finding("M1", 101)], &clock).unwrap();
        assert_eq!((r.opened.len(), r.observed), (0, 1));
        log.acknowledge("A-000001", "li.wei", "inspection booked", &clock)
            .unwrap();
        assert!(log.acknowledge("A-000001", "li.wei", "", &clock).is_err());
        clock.advance_ms(3_600_000);
        // M2 was not acknowledged within its hour; M1 was.
        assert_eq!(log.escalate_due(&clock).unwrap(), vec!["A-000002"]);
        assert!(log.escalate_due(&clock).unwrap().is_empty());
        log.resolve("A-000001", "li.wei", "bypass removed", &clock)
            .unwrap();
        log.close();

        let mut log = AlertLog::open(dir.path()).unwrap();
        assert_eq!(log.get("A-000001").unwrap().status, Status::Resolved);
        assert_eq!(log.get("A-000002").unwrap().status, Status::Escalated);
        assert_eq!(log.get("A-000001").unwrap().observations, 2);
        // A finding after resolution opens a new alert that points at the old one.
        let r = log.record(&[finding("M1", 120)], &clock).unwrap();
        assert_eq!(r.opened, vec!["A-000003"]);
        assert_eq!(
            log.get("A-000003").unwrap().previous.as_deref(),
            Some("A-000001")
        );
        assert!(log.get("A-000099").is_err());
    }

    #[test]
    fn a_torn_last_line_is_ignored_a_corrupt_middle_line_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let clock = FixedClock::new(0);
        let mut log = AlertLog::open(dir.path()).unwrap();
        log.record(&[finding("M1", 1)], &clock).unwrap();
        drop(log);
        let path = dir.path().join("_risk/alerts.jsonl");
        let mut text = std::fs::read_to_string(&path).unwrap();
        text.push_str("{\"seq\":2,\"at\":");
        std::fs::write(&path, &text).unwrap();
        assert_eq!(AlertLog::open(dir.path()).unwrap().alerts().count(), 1);
        std::fs::write(&path, format!("garbage\n{text}\n")).unwrap();
        let e = AlertLog::open(dir.path()).err().unwrap().to_string();
        assert!(e.contains("line 1"), "{e}");
    }

    #[test]
    fn dates_for_mail() {
        assert_eq!(rfc2822(0), "Thu, 01 Jan 1970 00:00:00 +0000");
        assert_eq!(
            rfc2822(1_764_000_000_000),
            "Mon, 24 Nov 2025 16:00:00 +0000"
        );
    }
}
