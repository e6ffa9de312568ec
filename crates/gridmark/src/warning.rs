//! `gridmark risk …` (rules, runs, alerts) and `gridmark risks …` (the register): parsing and
//! printing around `gridmark-risk`.

use crate::CliError;
use crate::cli::{
    AlertActArgs, AlertsCommand, AlertsListArgs, RiskCommand, RiskRunArgs, RiskWatchArgs,
    RisksCommand, RulesCommand,
};
use crate::metering::{print_json, write_atomic, write_report};
use gridmark_core::civil::{format_date, parse_date};
use gridmark_core::{Clock, SystemClock};
use gridmark_jobs::html::{Page, esc};
use gridmark_risk::alerts::{Alert, AlertLog, Status};
use gridmark_risk::engine;
use gridmark_risk::indicators::Source;
use gridmark_risk::register::{self, Register};
use gridmark_risk::rules::{DEFAULT_RULES, RuleSet};
use serde_json::json;
use std::io::Write;
use std::path::Path;

fn day(opt: &str, text: &str) -> Result<i64, CliError> {
    parse_date(text.trim().as_bytes())
        .ok_or_else(|| crate::usage(format!("{opt} {text}: expected a date YYYY-MM-DD")))
}

/// `--by`, else the same actor the ledger records.
fn who(by: &Option<String>) -> String {
    by.clone()
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(crate::audit::actor)
}

pub fn risk(data: Option<&Path>, cmd: RiskCommand) -> Result<(), CliError> {
    match cmd {
        RiskCommand::Rules(r) => rules(r),
        RiskCommand::Run(a) => run(&crate::cli::data_dir(data)?, a),
        RiskCommand::Watch(a) => watch(&crate::cli::data_dir(data)?, a),
        RiskCommand::Alerts(a) => alerts(&crate::cli::data_dir(data)?, a),
    }
}

fn rules(cmd: RulesCommand) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    match cmd {
        RulesCommand::Init { file } => {
            if file.exists() {
                return Err(crate::usage(format!(
                    "{} exists; not overwriting it",
                    file.display()
                )));
            }
            write_atomic(&file, DEFAULT_RULES.as_bytes())?;
            let set = RuleSet::parse("shipped rules", DEFAULT_RULES)?;
            writeln!(
                out,
                "wrote {} rules with {} test cases to {}; edit them, then `gridmark risk rules test {}`",
                set.rules.len(),
                set.rules.iter().map(|r| r.tests.len()).sum::<usize>(),
                file.display(),
                file.display()
            )?;
        }
        RulesCommand::Check { file } => {
            let set = RuleSet::load(&file)?;
            writeln!(out, "{}: {} rules, valid", file.display(), set.rules.len())?;
            writeln!(
                out,
                "{:<22} {:<20} {:<9} {:>6} {:>8}  {:<28} {:>5}",
                "rule", "indicator", "subject", "window", "baseline", "threshold", "tests"
            )?;
            for r in &set.rules {
                writeln!(
                    out,
                    "{:<22} {:<20} {:<9} {:>6} {:>8}  {:<28} {:>5}",
                    r.id,
                    r.indicator.name(),
                    r.indicator.subject().name(),
                    r.window,
                    r.baseline,
                    r.threshold.describe(),
                    r.tests.len()
                )?;
            }
            let d = &set.delivery;
            writeln!(
                out,
                "delivery: dashboard{}{}",
                d.webhook
                    .as_deref()
                    .map(|w| format!(", webhook {w}"))
                    .unwrap_or_default(),
                d.smtp
                    .as_deref()
                    .map(|s| format!(", e-mail via {s} to {}", d.mail_to.join(", ")))
                    .unwrap_or_default()
            )?;
        }
        RulesCommand::Test { file, json } => {
            let set = RuleSet::load(&file)?;
            let results = gridmark_risk::eval::run_tests(&set);
            let failed = results.iter().filter(|r| !r.passed).count();
            if json {
                print_json(
                    &json!({"file": file, "tests": results.len(), "failed": failed, "results": results}),
                )?;
            } else {
                for r in &results {
                    let detail = r
                        .reading
                        .as_ref()
                        .map(|x| {
                            let mut s = format!("current {:.4}", x.current);
                            if let Some(b) = x.baseline {
                                s.push_str(&format!(", baseline {b:.4}"));
                            }
                            if let Some(z) = x.zscore {
                                s.push_str(&format!(", z {z:.2}"));
                            }
                            s
                        })
                        .unwrap_or_default();
                    writeln!(
                        out,
                        "{} {:<22} {:<48} expected {:<5} got {:<5} {}{}",
                        if r.passed { "ok  " } else { "FAIL" },
                        r.rule,
                        r.test,
                        r.expected,
                        r.got,
                        detail,
                        r.note
                            .as_deref()
                            .map(|n| format!(" ({n})"))
                            .unwrap_or_default()
                    )?;
                }
                writeln!(
                    out,
                    "{} tests, {} passed, {failed} failed",
                    results.len(),
                    results.len() - failed
                )?;
            }
            if failed > 0 {
                return Err(crate::usage(format!(
                    "{failed} of {} rule tests failed in {}",
                    results.len(),
                    file.display()
                )));
            }
        }
    }
    Ok(())
}

/// One evaluation and its recording; shared by `run`, `watch` and streaming ingestion.
pub fn evaluate_and_record(
    data: &Path,
    set: &RuleSet,
    days: Option<(i64, i64)>,
    only: engine::SubjectFilter<'_>,
    record: bool,
    deliver: bool,
    clock: &dyn Clock,
) -> Result<
    (
        engine::Evaluation,
        Option<gridmark_risk::alerts::RecordReport>,
    ),
    CliError,
> {
    let lake = gridmark_lake::Lake::open(data)?;
    let source = Source::open(&lake)?;
    let (first, last) = match days {
        Some(d) => d,
        None => {
            let d = source
                .latest_day()?
                .unwrap_or_else(|| clock.now_ms().div_euclid(86_400_000));
            (d, d)
        }
    };
    let ev = engine::evaluate(&source, set, first, last, only)?;
    if !record {
        return Ok((ev, None));
    }
    let mut log = AlertLog::open(data)?;
    let report = log.process(&ev.findings, set, clock, deliver)?;
    log.close();
    if !report.opened.is_empty() || !report.escalated.is_empty() {
        crate::audit::record(
            data,
            "risk_alerts",
            &set.source,
            json!({"evaluated": [ev.first_day, ev.last_day], "opened": report.opened, "escalated": report.escalated}),
        )?;
    }
    Ok((ev, Some(report)))
}

fn run(data: &Path, a: RiskRunArgs) -> Result<(), CliError> {
    let set = RuleSet::load(&a.rules)?;
    let days = match (&a.as_of, &a.from, &a.to) {
        (Some(d), _, _) => {
            let d = day("--as-of", d)?;
            Some((d, d))
        }
        (None, Some(f), Some(t)) => {
            let (f, t) = (day("--from", f)?, day("--to", t)?);
            if f > t {
                return Err(crate::usage("--from is after --to"));
            }
            if t - f > 3660 {
                return Err(crate::usage("--from … --to spans more than ten years"));
            }
            Some((f, t))
        }
        _ => None,
    };
    let started = std::time::Instant::now();
    let (ev, report) = evaluate_and_record(
        data,
        &set,
        days,
        None,
        !a.dry_run,
        !a.no_deliver,
        &SystemClock,
    )?;
    let secs = started.elapsed().as_secs_f64();
    if a.json {
        return print_json(&json!({"evaluation": ev, "recorded": report, "seconds": secs}));
    }
    let mut out = std::io::stdout().lock();
    let span = if ev.first_day == ev.last_day {
        ev.first_day.clone()
    } else {
        format!("{} … {}", ev.first_day, ev.last_day)
    };
    writeln!(
        out,
        "{} rules on {span}: {} findings in {secs:.1} s",
        ev.rules.len(),
        ev.findings.len()
    )?;
    writeln!(
        out,
        "{:<22} {:<20} {:>9} {:>9}",
        "rule", "indicator", "subjects", "findings"
    )?;
    for r in &ev.rules {
        writeln!(
            out,
            "{:<22} {:<20} {:>9} {:>9}{}",
            r.rule,
            r.indicator,
            r.subjects,
            r.findings,
            r.note
                .as_deref()
                .map(|n| format!("  ({n})"))
                .unwrap_or_default()
        )?;
    }
    match report {
        None => writeln!(out, "dry run: nothing recorded")?,
        Some(r) => {
            writeln!(
                out,
                "alerts: {} opened, {} updated, {} already known, {} escalated; {} deliveries{}",
                r.opened.len(),
                r.observed,
                r.unchanged,
                r.escalated.len(),
                r.delivered,
                if r.delivery_failures.is_empty() {
                    String::new()
                } else {
                    format!(", {} failed (retried next run)", r.delivery_failures.len())
                }
            )?;
            for f in r.delivery_failures.iter().take(5) {
                writeln!(out, "  delivery failed: {f}")?;
            }
            writeln!(
                out,
                "see them: gridmark --data {} risk alerts list",
                data.display()
            )?;
        }
    }
    Ok(())
}

fn watch(data: &Path, a: RiskWatchArgs) -> Result<(), CliError> {
    let set = RuleSet::load(&a.rules)?;
    let every = crate::cli::parse_interval(&a.every)?;
    if every < 1 {
        return Err(crate::usage("--every must be at least 1s"));
    }
    let mut n = 0u64;
    loop {
        n += 1;
        let started = std::time::Instant::now();
        // A failed run (the lake busy, a broken rule source) is reported and retried next time.
        match evaluate_and_record(data, &set, None, None, true, !a.no_deliver, &SystemClock) {
            Ok((ev, Some(r))) => eprintln!(
                "run {n} on {}: {} findings, {} opened, {} updated, {} escalated, {} delivered, {} delivery failures ({:.1} s)",
                ev.last_day,
                ev.findings.len(),
                r.opened.len(),
                r.observed,
                r.escalated.len(),
                r.delivered,
                r.delivery_failures.len(),
                started.elapsed().as_secs_f64()
            ),
            Ok(_) => {}
            Err(e) => eprintln!("run {n} failed: {e}"),
        }
        if a.runs.is_some_and(|r| n >= r) {
            return Ok(());
        }
        std::thread::sleep(std::time::Duration::from_secs(every as u64));
    }
}

fn status_filter(s: &Option<String>) -> Result<Option<Vec<Status>>, CliError> {
    match s.as_deref() {
        None => Ok(None),
        Some("live") => Ok(Some(vec![
            Status::Open,
            Status::Acknowledged,
            Status::Escalated,
        ])),
        Some(x) => Status::parse(x).map(|s| Some(vec![s])).ok_or_else(|| {
            crate::usage(format!(
                "--status {x}: expected open, acknowledged, escalated, resolved or live"
            ))
        }),
    }
}

fn alerts_csv(alerts: &[&Alert]) -> String {
    let mut s = String::from(
        "alert,status,severity,rule,subject_kind,subject,first_as_of,last_as_of,observations,opened_at,acknowledged_by,resolved_by,message\n",
    );
    let q = |t: &str| format!("\"{}\"", t.replace('"', "\"\""));
    for a in alerts {
        s.push_str(&format!(
            "{},{},{},{},{},{},{},{},{},{},{},{},{}\n",
            a.id,
            a.status.name(),
            a.severity,
            a.rule,
            a.subject_kind,
            q(&a.subject),
            a.first_as_of,
            a.last_as_of,
            a.observations,
            a.opened_at,
            a.acknowledged_by.as_deref().unwrap_or(""),
            a.resolved_by.as_deref().unwrap_or(""),
            q(&a.message)
        ));
    }
    s
}

fn alerts(data: &Path, cmd: AlertsCommand) -> Result<(), CliError> {
    gridmark_lake::Lake::open(data)?;
    let mut log = AlertLog::open(data)?;
    let mut out = std::io::stdout().lock();
    match cmd {
        AlertsCommand::List(a) => list(&log, a)?,
        AlertsCommand::Show { id, json } => {
            let a = log.get(&id)?;
            if json {
                return print_json(a);
            }
            writeln!(
                out,
                "{} [{}] {} — {} {}",
                a.id,
                a.status.name(),
                a.severity,
                a.subject_kind,
                a.subject
            )?;
            writeln!(out, "rule {}: {}", a.rule, a.rule_name)?;
            writeln!(out, "{}", a.message)?;
            writeln!(
                out,
                "seen {} time(s), {} … {}; opened {}{}",
                a.observations,
                a.first_as_of,
                a.last_as_of,
                a.opened_at,
                a.previous
                    .as_deref()
                    .map(|p| format!(" (again after {p})"))
                    .unwrap_or_default()
            )?;
            writeln!(
                out,
                "evidence: {}",
                serde_json::to_string_pretty(&a.evidence)?
            )?;
            writeln!(out, "history:")?;
            for e in &a.history {
                let v = serde_json::to_value(&e.kind)?;
                let what = v["event"].as_str().unwrap_or("?").to_string();
                let detail = match &e.kind {
                    gridmark_risk::alerts::EventKind::Acknowledged { by, note }
                    | gridmark_risk::alerts::EventKind::Resolved { by, note } => {
                        format!("by {by} {note}")
                    }
                    gridmark_risk::alerts::EventKind::Escalated { reason } => reason.clone(),
                    gridmark_risk::alerts::EventKind::Observed { as_of, .. } => {
                        format!("as of {as_of}")
                    }
                    gridmark_risk::alerts::EventKind::Delivered {
                        channel,
                        target,
                        trigger,
                    } => format!("{channel} {target} ({trigger})"),
                    gridmark_risk::alerts::EventKind::DeliveryFailed {
                        channel,
                        target,
                        error,
                        ..
                    } => format!("{channel} {target}: {error}"),
                    gridmark_risk::alerts::EventKind::Opened { as_of, .. } => {
                        format!("as of {as_of}")
                    }
                };
                writeln!(out, "  {} {:<16} {}", e.at, what, detail.trim_end())?;
            }
        }
        AlertsCommand::Ack(a) => act(data, &mut log, a, true)?,
        AlertsCommand::Resolve(a) => act(data, &mut log, a, false)?,
    }
    Ok(())
}

fn act(data: &Path, log: &mut AlertLog, a: AlertActArgs, ack: bool) -> Result<(), CliError> {
    let by = who(&a.by);
    if ack {
        log.acknowledge(&a.id, &by, &a.note, &SystemClock)?;
    } else {
        log.resolve(&a.id, &by, &a.note, &SystemClock)?;
    }
    let al = log.get(&a.id)?;
    crate::audit::record_by(
        data,
        &by,
        if ack {
            "alert_acknowledged"
        } else {
            "alert_resolved"
        },
        &a.id,
        json!({"rule": al.rule, "subject": al.subject, "note": a.note}),
    )?;
    writeln!(
        std::io::stdout().lock(),
        "{} is {} (by {by}): {}",
        al.id,
        al.status.name(),
        al.message
    )?;
    Ok(())
}

fn list(log: &AlertLog, a: AlertsListArgs) -> Result<(), CliError> {
    let statuses = status_filter(&a.status)?;
    let mut rows: Vec<&Alert> = log
        .alerts()
        .filter(|x| statuses.as_ref().is_none_or(|s| s.contains(&x.status)))
        .filter(|x| a.rule.as_ref().is_none_or(|r| &x.rule == r))
        .collect();
    rows.sort_by(|x, y| {
        y.last_as_of_day
            .cmp(&x.last_as_of_day)
            .then(y.id.cmp(&x.id))
    });
    if let Some(path) = &a.out {
        write_report(path, &rows, || alerts_csv(&rows))?;
        eprintln!("wrote {} alerts to {}", rows.len(), path.display());
    }
    if let Some(path) = &a.html {
        write_atomic(path, alerts_html(log, &rows).as_bytes())?;
        eprintln!("wrote {}", path.display());
    }
    if a.json {
        return print_json(&rows);
    }
    let mut out = std::io::stdout().lock();
    let count = |s: Status| log.alerts().filter(|x| x.status == s).count();
    writeln!(
        out,
        "{} alerts: {} open, {} escalated, {} acknowledged, {} resolved; {} shown",
        log.alerts().count(),
        count(Status::Open),
        count(Status::Escalated),
        count(Status::Acknowledged),
        count(Status::Resolved),
        rows.len().min(a.show)
    )?;
    writeln!(
        out,
        "{:<9} {:<12} {:<8} {:<20} {:<12} {:<10} message",
        "alert", "status", "severity", "rule", "subject", "as of"
    )?;
    for x in rows.iter().take(a.show) {
        writeln!(
            out,
            "{:<9} {:<12} {:<8} {:<20} {:<12} {:<10} {}",
            x.id,
            x.status.name(),
            x.severity,
            x.rule,
            x.subject,
            x.last_as_of,
            x.message
        )?;
    }
    Ok(())
}

fn alerts_html(log: &AlertLog, rows: &[&Alert]) -> String {
    let mut page = Page::new("gridmark — risk alerts");
    let count = |s: Status| log.alerts().filter(|x| x.status == s).count();
    page.tiles(&[
        ("alerts", log.alerts().count().to_string()),
        ("open", count(Status::Open).to_string()),
        ("escalated", count(Status::Escalated).to_string()),
        ("acknowledged", count(Status::Acknowledged).to_string()),
        ("resolved", count(Status::Resolved).to_string()),
    ]);
    let mut by_rule: std::collections::BTreeMap<&str, f64> = Default::default();
    let mut by_day: std::collections::BTreeMap<&str, f64> = Default::default();
    for a in log.alerts() {
        *by_rule.entry(a.rule.as_str()).or_default() += 1.0;
        *by_day.entry(a.first_as_of.as_str()).or_default() += 1.0;
    }
    page.h2("Alerts by rule");
    page.bar_chart(
        "alerts opened",
        &by_rule
            .iter()
            .map(|(k, v)| (k.to_string(), *v))
            .collect::<Vec<_>>(),
    );
    if by_day.len() > 1 {
        page.h2("Alerts opened per evaluation day");
        page.line_chart(
            "alerts",
            &by_day.keys().map(|k| k.to_string()).collect::<Vec<_>>(),
            &[("opened", by_day.values().copied().collect())],
        );
    }
    page.h2("Alerts");
    page.table(
        &[
            "alert", "status", "severity", "rule", "subject", "as of", "message",
        ],
        &rows
            .iter()
            .take(500)
            .map(|a| {
                vec![
                    esc(&a.id),
                    esc(a.status.name()),
                    esc(&a.severity),
                    esc(&a.rule),
                    esc(&format!("{} {}", a.subject_kind, a.subject)),
                    esc(&a.last_as_of),
                    esc(&a.message),
                ]
            })
            .collect::<Vec<_>>(),
    );
    page.finish()
}

pub fn risks(data: Option<&Path>, cmd: RisksCommand) -> Result<(), CliError> {
    let data = crate::cli::data_dir(data)?;
    gridmark_lake::Lake::open(&data)?;
    let clock = SystemClock;
    let mut reg = Register::open(&data)?;
    let before = reg.event_count();
    let result = risks_command(&data, &mut reg, &clock, cmd);
    // Every change to the register goes on the ledger, event by event, with who made it.
    for e in reg.events_since(before) {
        let mut details = serde_json::to_value(&e.kind)?;
        if let Some(m) = details.as_object_mut() {
            m.remove("event");
        }
        let action = format!(
            "risk_{}",
            serde_json::to_value(&e.kind)?["event"]
                .as_str()
                .unwrap_or("event")
        );
        crate::audit::record_by(&data, &e.by, &action, &e.risk, details)?;
    }
    result
}

fn risks_command(
    data: &Path,
    reg: &mut Register,
    clock: &SystemClock,
    cmd: RisksCommand,
) -> Result<(), CliError> {
    let data = data.to_path_buf();
    let clock = *clock;
    let mut out = std::io::stdout().lock();
    match cmd {
        RisksCommand::Add(a) => {
            let by = who(&a.by);
            let id = reg.identify(
                &clock,
                &by,
                &a.title,
                &a.category,
                &a.description,
                &a.owner,
                "manual",
            )?;
            if let (Some(l), Some(i)) = (a.likelihood, a.impact) {
                reg.assess(
                    &clock,
                    &by,
                    &id,
                    &register::Assessment::new(false, l, i, "at identification"),
                )?;
            }
            for r in &a.rules {
                reg.link(&clock, &by, &id, r)?;
            }
            let r = reg.get(&id)?;
            writeln!(
                out,
                "{id}: {}{}",
                r.title,
                r.inherent
                    .map(|s| format!(
                        " — {} × {} = {} ({})",
                        s.likelihood, s.impact, s.score, s.level
                    ))
                    .unwrap_or_default()
            )?;
        }
        RisksCommand::FromAlerts(a) => {
            let log = AlertLog::open(&data)?;
            let made = reg.identify_from_alerts(&clock, &who(&a.by), &log, a.min_alerts, a.days)?;
            log.close();
            if made.is_empty() {
                writeln!(
                    out,
                    "no rule opened {} or more alerts within {} days that is not already a risk",
                    a.min_alerts, a.days
                )?;
            }
            for id in made {
                let r = reg.get(&id)?;
                let s = r.inherent.expect("assessed when identified");
                writeln!(
                    out,
                    "{id}: {} — {} × {} = {} ({})\n  {}",
                    r.title, s.likelihood, s.impact, s.score, s.level, r.description
                )?;
            }
        }
        RisksCommand::List(a) => {
            let risks: Vec<&register::Risk> = reg.risks().collect();
            if let Some(path) = &a.html {
                write_atomic(path, register_html(&risks).as_bytes())?;
                eprintln!("wrote {}", path.display());
            }
            if a.json {
                return print_json(&risks);
            }
            writeln!(out, "{} risks", risks.len())?;
            writeln!(
                out,
                "{:<6} {:<9} {:<10} {:>9} {:>9} {:>7}  title",
                "risk", "status", "owner", "inherent", "residual", "actions"
            )?;
            let score = |s: Option<register::Score>| {
                s.map(|s| format!("{} {}", s.score, s.level))
                    .unwrap_or_else(|| "-".into())
            };
            for r in &risks {
                writeln!(
                    out,
                    "{:<6} {:<9} {:<10} {:>9} {:>9} {:>3}/{:<3}  {}",
                    r.id,
                    r.status,
                    r.owner,
                    score(r.inherent),
                    score(r.residual),
                    r.actions.iter().filter(|x| x.done).count(),
                    r.actions.len(),
                    r.title
                )?;
            }
            writeln!(
                out,
                "\nmatrix (current = residual when assessed, else inherent): likelihood ↓ 5…1, impact → 1…5"
            )?;
            for l in (1..=5u8).rev() {
                let mut line = format!("  L{l} ");
                for i in 1..=5u8 {
                    let n = risks
                        .iter()
                        .filter(|r| {
                            r.residual
                                .or(r.inherent)
                                .is_some_and(|s| s.likelihood == l && s.impact == i)
                        })
                        .count();
                    line.push_str(&format!(
                        "{:>4}",
                        if n == 0 {
                            ".".to_string()
                        } else {
                            n.to_string()
                        }
                    ));
                }
                writeln!(out, "{line}")?;
            }
        }
        RisksCommand::Show { id, json } => {
            let r = reg.get(&id)?;
            if json {
                return print_json(r);
            }
            writeln!(
                out,
                "{} [{}] {} ({}), owner {}",
                r.id,
                r.status,
                r.title,
                r.category,
                if r.owner.is_empty() { "-" } else { &r.owner }
            )?;
            if !r.description.is_empty() {
                writeln!(out, "{}", r.description)?;
            }
            writeln!(out, "identified {} ({})", r.identified_at, r.source)?;
            for (at, kind, s) in &r.assessments {
                writeln!(
                    out,
                    "  {at} {kind:<9} L{} × I{} = {} ({})",
                    s.likelihood, s.impact, s.score, s.level
                )?;
            }
            for a in &r.actions {
                writeln!(
                    out,
                    "  action {} [{}] due {} owner {}: {}",
                    a.id,
                    if a.done { "done" } else { "open" },
                    a.due,
                    a.owner,
                    a.text
                )?;
            }
            if !r.rules.is_empty() {
                writeln!(out, "  indicators: {}", r.rules.join(", "))?;
            }
            writeln!(out, "history:")?;
            for e in &r.history {
                let v = serde_json::to_value(&e.kind)?;
                writeln!(
                    out,
                    "  {} {:<18} by {}",
                    e.at,
                    v["event"].as_str().unwrap_or("?"),
                    e.by
                )?;
            }
        }
        RisksCommand::Assess(a) => {
            let s = reg.assess(
                &clock,
                &who(&a.by),
                &a.id,
                &register::Assessment::new(a.residual, a.likelihood, a.impact, &a.note),
            )?;
            writeln!(
                out,
                "{} {}: {} × {} = {} ({})",
                a.id,
                if a.residual { "residual" } else { "inherent" },
                s.likelihood,
                s.impact,
                s.score,
                s.level
            )?;
        }
        RisksCommand::Action(a) => {
            let due = day("--due", &a.due)?;
            let id = reg.add_action(&clock, &who(&a.by), &a.id, &a.text, &a.owner, due)?;
            writeln!(out, "{id}: {} (due {})", a.text, format_date(due))?;
        }
        RisksCommand::Done { action, by, note } => {
            reg.complete_action(&clock, &who(&by), &action, &note)?;
            writeln!(out, "{action} done")?;
        }
        RisksCommand::Link { id, rule, by } => {
            reg.link(&clock, &who(&by), &id, &rule)?;
            writeln!(out, "{id} is indicated by rule {rule}")?;
        }
        RisksCommand::Status {
            id,
            status,
            by,
            note,
        } => {
            reg.set_status(&clock, &who(&by), &id, &status, &note)?;
            writeln!(out, "{id} is {status}")?;
        }
        RisksCommand::Monitor { json } => {
            let log = AlertLog::open(&data)?;
            let today = clock.now_ms().div_euclid(86_400_000);
            let latest = log
                .alerts()
                .map(|a| a.last_as_of_day)
                .max()
                .unwrap_or(today);
            let rows = register::monitor(reg, &log, latest.min(today));
            log.close();
            if json {
                return print_json(&rows);
            }
            writeln!(
                out,
                "{:<6} {:<9} {:>9} {:>9} {:>6} {:>8} {:>8}  trend / overdue",
                "risk", "status", "inherent", "residual", "live", "30-day", "actions"
            )?;
            for m in &rows {
                writeln!(
                    out,
                    "{:<6} {:<9} {:>9} {:>9} {:>6} {:>8} {:>8}  {}{}",
                    m.risk,
                    m.status,
                    m.inherent
                        .map(|s| s.score.to_string())
                        .unwrap_or("-".into()),
                    m.residual
                        .map(|s| s.score.to_string())
                        .unwrap_or("-".into()),
                    m.live_alerts,
                    m.alerts_last_30_days,
                    m.actions_open,
                    m.residual_trend
                        .iter()
                        .map(|t| t.1.to_string())
                        .collect::<Vec<_>>()
                        .join("→"),
                    if m.actions_overdue.is_empty() {
                        String::new()
                    } else {
                        format!(" overdue: {}", m.actions_overdue.join(", "))
                    }
                )?;
            }
        }
    }
    Ok(())
}

fn register_html(risks: &[&register::Risk]) -> String {
    let mut page = Page::new("gridmark — risk register");
    page.tiles(&[
        ("risks", risks.len().to_string()),
        (
            "open",
            risks
                .iter()
                .filter(|r| r.status != "closed")
                .count()
                .to_string(),
        ),
        (
            "high or critical",
            risks
                .iter()
                .filter(|r| r.residual.or(r.inherent).is_some_and(|s| s.score >= 10))
                .count()
                .to_string(),
        ),
    ]);
    page.h2("Likelihood × impact (residual where assessed)");
    let mut rows = Vec::new();
    for l in (1..=5u8).rev() {
        let mut row = vec![format!("likelihood {l}")];
        for i in 1..=5u8 {
            let ids: Vec<String> = risks
                .iter()
                .filter(|r| {
                    r.residual
                        .or(r.inherent)
                        .is_some_and(|s| s.likelihood == l && s.impact == i)
                })
                .map(|r| esc(&r.id))
                .collect();
            row.push(format!(
                "{} <small>({})</small>",
                ids.join(" "),
                register::level(l * i)
            ));
        }
        rows.push(row);
    }
    page.table(
        &[
            "", "impact 1", "impact 2", "impact 3", "impact 4", "impact 5",
        ],
        &rows,
    );
    page.h2("Register");
    page.table(
        &[
            "risk",
            "status",
            "title",
            "owner",
            "inherent",
            "residual",
            "actions",
            "indicators",
        ],
        &risks
            .iter()
            .map(|r| {
                let s = |x: Option<register::Score>| {
                    x.map(|s| format!("{} ({})", s.score, s.level))
                        .unwrap_or("-".into())
                };
                vec![
                    esc(&r.id),
                    esc(&r.status),
                    esc(&r.title),
                    esc(&r.owner),
                    s(r.inherent),
                    s(r.residual),
                    format!(
                        "{}/{}",
                        r.actions.iter().filter(|a| a.done).count(),
                        r.actions.len()
                    ),
                    esc(&r.rules.join(", ")),
                ]
            })
            .collect::<Vec<_>>(),
    );
    page.finish()
}
