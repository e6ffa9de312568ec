//! `gridmark risk-model train|score churn|arrears`.

use crate::CliError;
use crate::cli::{RiskModelCommand, RiskTargetArg};
use crate::metering::{print_json, write_atomic, write_report};
use gridmark_analytics::metrics;
use gridmark_core::civil::{format_date, parse_date};
use gridmark_jobs::risk::{self, Target, TrainOptions};
use gridmark_lake::Lake;
use serde_json::json;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

fn target(t: RiskTargetArg) -> Target {
    match t {
        RiskTargetArg::Churn => Target::Churn,
        RiskTargetArg::Arrears => Target::Arrears,
    }
}

fn day(opt: &str, text: &Option<String>) -> Result<Option<i64>, CliError> {
    text.as_deref()
        .map(|d| {
            parse_date(d.trim().as_bytes())
                .ok_or_else(|| crate::usage(format!("{opt} {d}: expected a date YYYY-MM-DD")))
        })
        .transpose()
}

pub fn run(data: Option<&Path>, cmd: RiskModelCommand) -> Result<(), CliError> {
    let dir = crate::cli::data_dir(data)?;
    let as_of = match &cmd {
        RiskModelCommand::Train(a) => day("--as-of", &a.as_of)?,
        RiskModelCommand::Score(a) => day("--as-of", &a.as_of)?,
    };
    let lake = Lake::open(&dir)?;
    let clock = Arc::new(gridmark_core::SystemClock);
    match cmd {
        RiskModelCommand::Train(args) => {
            if args.folds < 2 {
                return Err(crate::usage("--folds must be at least 2"));
            }
            let opts = TrainOptions {
                target: target(args.target),
                horizon_days: args.horizon,
                as_of,
                folds: args.folds,
                seed: args.seed,
            };
            let quiet = args.json;
            let mut progress = |m: &str| {
                if !quiet {
                    eprintln!("{m}");
                }
            };
            let r = risk::train(&lake, clock, &opts, &mut progress)?;
            if let Some(path) = &args.scores_out {
                let mut s = String::from("id,label,score\n");
                for (id, l, p) in &r.oof {
                    s.push_str(&format!("{id},{},{p}\n", u8::from(*l)));
                }
                write_atomic(path, s.as_bytes())?;
                eprintln!(
                    "wrote {} out-of-fold scores to {}",
                    r.oof.len(),
                    path.display()
                );
            }
            let truth = match &args.truth {
                Some(path) => {
                    let labels = gridmark_jobs::segment::read_labels(path, &args.truth_col)?;
                    let positive: Vec<&str> = args.positive.split(',').map(str::trim).collect();
                    let (mut s, mut y) = (Vec::new(), Vec::new());
                    for (id, _, p) in &r.oof {
                        if let Some(v) = labels.get(id) {
                            s.push(*p);
                            y.push(positive.contains(&v.as_str()));
                        }
                    }
                    Some((
                        metrics::roc_auc(&s, &y),
                        s.len(),
                        y.iter().filter(|&&b| b).count(),
                    ))
                }
                None => None,
            };
            if args.json {
                return print_json(&json!({
                    "target": r.target.name(), "as_of": format_date(r.as_of), "horizon_days": r.horizon_days,
                    "customers": r.customers, "positives": r.positives,
                    "auc": r.auc, "pr_auc": r.pr_auc, "lift_top10": r.lift_top10,
                    "brier": r.brier, "brier_base_rate": r.brier_base_rate,
                    "calibration": r.calibration.iter().map(|c| json!({"predicted": c.0, "observed": c.1, "customers": c.2})).collect::<Vec<_>>(),
                    "importance": r.importance.iter().map(|(n, g)| json!({"feature": n, "gain_share": g})).collect::<Vec<_>>(),
                    "model": r.model_path.display().to_string(), "seconds": r.seconds,
                    "truth_auc": truth.and_then(|t| t.0), "truth_compared": truth.map(|t| t.1),
                }));
            }
            let mut out = std::io::stdout().lock();
            writeln!(
                out,
                "{} model: {} customers as of {} ({} with the event in the next {} days)",
                r.target.name(),
                r.customers,
                format_date(r.as_of),
                r.positives,
                r.horizon_days
            )?;
            writeln!(
                out,
                "held-out (5-fold, out-of-fold) ROC-AUC {:.4}  PR-AUC {:.4}  lift@10 % {:.2}",
                r.auc, r.pr_auc, r.lift_top10
            )?;
            writeln!(
                out,
                "calibrated Brier score {:.4} (base rate alone {:.4})",
                r.brier, r.brier_base_rate
            )?;
            writeln!(out, "  decile  predicted  observed  customers")?;
            for (i, (p, o, n)) in r.calibration.iter().enumerate() {
                writeln!(out, "  {:<6}  {:>9.3}  {:>8.3}  {:>9}", i + 1, p, o, n)?;
            }
            writeln!(out, "most important features (share of split gain):")?;
            for (n, g) in r.importance.iter().take(8) {
                writeln!(out, "  {n:<22} {:>5.1} %", g * 100.0)?;
            }
            if let Some((auc, n, pos)) = truth {
                writeln!(
                    out,
                    "against {} ∈ {{{}}} ({n} customers, {pos} positive): ROC-AUC {}",
                    args.truth_col,
                    args.positive,
                    auc.map_or("n/a (one class)".into(), |a| format!("{a:.4}"))
                )?;
            }
            writeln!(
                out,
                "saved {} in {:.1} s; score with `gridmark risk-model score {}`",
                r.model_path.display(),
                r.seconds,
                r.target.name()
            )?;
        }
        RiskModelCommand::Score(args) => {
            let quiet = args.json;
            let mut progress = |m: &str| {
                if !quiet {
                    eprintln!("{m}");
                }
            };
            let r = risk::score(&lake, clock, target(args.target), as_of, &mut progress)?;
            let rows: Vec<serde_json::Value> = r
                .scored
                .iter()
                .map(|s| {
                    json!({"customer_id": s.customer_id, "probability": s.probability, "rank": s.rank,
                        "band": s.band, "reasons": risk::reason_text(&s.reasons)})
                })
                .collect();
            if let Some(path) = &args.out {
                write_report(path, &rows, || {
                    let mut s = String::from("customer_id,probability,rank,band,reasons\n");
                    for x in &r.scored {
                        s.push_str(&format!(
                            "{},{:.5},{},{},\"{}\"\n",
                            x.customer_id,
                            x.probability,
                            x.rank,
                            x.band,
                            risk::reason_text(&x.reasons).replace('"', "\"\"")
                        ));
                    }
                    s
                })?;
                eprintln!("wrote {} scores to {}", r.scored.len(), path.display());
            }
            if args.json {
                return print_json(
                    &json!({"target": r.target.name(), "as_of": format_date(r.as_of),
                    "horizon_days": r.horizon_days, "run_id": r.run_id, "version": r.version,
                    "scores": rows.iter().take(args.top).collect::<Vec<_>>(), "customers": r.scored.len()}),
                );
            }
            let mut out = std::io::stdout().lock();
            let high = r.scored.iter().filter(|s| s.band == "high").count();
            writeln!(
                out,
                "{} risk over the {} days from {}: {} customers scored, {high} in the high band (stored in risk_scores, lake version {})",
                r.target.name(),
                r.horizon_days,
                format_date(r.as_of),
                r.scored.len(),
                r.version
            )?;
            writeln!(out, "  rank  customer    probability  reasons")?;
            for s in r.scored.iter().take(args.top) {
                writeln!(
                    out,
                    "  {:<5} {:<11} {:>10.1} %  {}",
                    s.rank,
                    s.customer_id,
                    s.probability * 100.0,
                    risk::reason_text(&s.reasons)
                )?;
            }
        }
    }
    Ok(())
}
