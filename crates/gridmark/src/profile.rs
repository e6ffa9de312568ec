//! `gridmark profile build|show`.

use crate::CliError;
use crate::cli::ProfileCommand;
use crate::metering::{print_json, write_report};
use gridmark_core::civil::format_date;
use gridmark_jobs::query::{Query, literal};
use gridmark_lake::Lake;
use serde_json::json;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

pub fn run(data: Option<&Path>, cmd: ProfileCommand) -> Result<(), CliError> {
    let dir = crate::cli::data_dir(data)?;
    let lake = Lake::open(&dir)?;
    match cmd {
        ProfileCommand::Build(args) => {
            let quiet = args.json;
            let mut progress = |m: &str| {
                if !quiet {
                    eprintln!("{m}");
                }
            };
            let r = gridmark_jobs::profile::build(
                &lake,
                Arc::new(gridmark_core::SystemClock),
                &mut progress,
            )?;
            let mut tiers: BTreeMap<&str, usize> = BTreeMap::new();
            let mut punctuality: BTreeMap<&str, usize> = BTreeMap::new();
            for p in &r.profiles {
                *tiers.entry(p.value_tier).or_default() += 1;
                *punctuality.entry(p.punctuality).or_default() += 1;
            }
            if let Some(path) = &args.out {
                write_report(path, &r.profiles, || records_csv(&r.profiles))?;
                eprintln!("wrote {} profiles to {}", r.profiles.len(), path.display());
            }
            if args.json {
                return print_json(
                    &json!({"customers": r.profiles.len(), "as_of": format_date(r.as_of),
                    "run_id": r.run_id, "version": r.version, "seconds": r.seconds,
                    "value_tiers": tiers, "punctuality": punctuality,
                    "inputs": r.inputs.iter().map(|(k, v)| (k.to_string(), json!(v))).collect::<serde_json::Map<_, _>>()}),
                );
            }
            let mut out = std::io::stdout().lock();
            writeln!(
                out,
                "{} customer profiles as of {} (lake version {}, {:.1} s)",
                r.profiles.len(),
                format_date(r.as_of),
                r.version,
                r.seconds
            )?;
            writeln!(out, "value tiers:")?;
            for (t, n) in &tiers {
                writeln!(out, "  {t:<12} {n:>8}")?;
            }
            writeln!(out, "payment punctuality:")?;
            for (t, n) in &punctuality {
                writeln!(out, "  {t:<14} {n:>8}")?;
            }
            let missing: Vec<&str> = r.inputs.iter().filter(|i| !i.1).map(|i| i.0).collect();
            if !missing.is_empty() {
                writeln!(
                    out,
                    "not in the lake yet, so left empty: {} (run `gridmark segment run`, `gridmark risk-model train|score churn|arrears`)",
                    missing.join(", ")
                )?;
            }
            writeln!(
                out,
                "show one: gridmark --data {} profile show CUSTOMER",
                dir.display()
            )?;
        }
        ProfileCommand::Show(args) => {
            let q = Query::open(&lake)?;
            let batches = q.collect(&format!(
                "SELECT * FROM customer_profiles WHERE customer_id = {}",
                literal(&args.customer)
            ))?;
            let mut fields: Vec<(String, serde_json::Value)> = Vec::new();
            for b in &batches {
                if let Some(row) = gridmark_sql::batch_to_json_rows(b)?.into_iter().next() {
                    fields = row.into_iter().collect();
                    break;
                }
            }
            if fields.is_empty() {
                let built = q
                    .collect("SELECT count(*) AS n FROM customer_profiles")?
                    .first()
                    .map(|b| gridmark_jobs::query::ints(b, "n"))
                    .transpose()?
                    .and_then(|v| v.first().copied().flatten())
                    .unwrap_or(0);
                return Err(crate::usage(if built == 0 {
                    "no profiles yet: run `gridmark profile build` first".to_string()
                } else {
                    format!(
                        "no profile for customer `{}` (is it active and spelled right?)",
                        args.customer
                    )
                }));
            }
            if args.json {
                return print_json(&fields.into_iter().collect::<serde_json::Map<_, _>>());
            }
            let mut out = std::io::stdout().lock();
            for (k, v) in fields {
                let text = match v {
                    serde_json::Value::Null => "—".to_string(),
                    serde_json::Value::String(s) => s,
                    serde_json::Value::Number(n) => match n.as_f64() {
                        Some(f) if n.is_f64() => format!("{f:.3}"),
                        _ => n.to_string(),
                    },
                    other => other.to_string(),
                };
                writeln!(out, "{k:<22} {text}")?;
            }
        }
    }
    Ok(())
}

/// Any list of flat serialisable records as CSV: the field names as the header.
pub(crate) fn records_csv<T: serde::Serialize>(records: &[T]) -> String {
    let mut s = String::new();
    for (i, p) in records.iter().enumerate() {
        let v = serde_json::to_value(p).unwrap_or_default();
        let Some(m) = v.as_object() else { continue };
        if i == 0 {
            s.push_str(&m.keys().cloned().collect::<Vec<_>>().join(","));
            s.push('\n');
        }
        let cells: Vec<String> = m
            .values()
            .map(|v| match v {
                serde_json::Value::Null => String::new(),
                serde_json::Value::String(t) => csv_cell(t),
                serde_json::Value::Array(a) => csv_cell(
                    &a.iter()
                        .filter_map(|x| x.as_str())
                        .collect::<Vec<_>>()
                        .join("; "),
                ),
                other => other.to_string(),
            })
            .collect();
        s.push_str(&cells.join(","));
        s.push('\n');
    }
    s
}

fn csv_cell(t: &str) -> String {
    if t.contains([',', '"', '\n']) {
        format!("\"{}\"", t.replace('"', "\"\""))
    } else {
        t.to_string()
    }
}
