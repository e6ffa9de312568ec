//! `gridmark theft score|inject|eval`: parsing and printing around `gridmark-jobs`.

use crate::CliError;
use crate::cli::{TheftCommand, TheftEvalArgs, TheftInjectArgs, TheftScoreArgs};
use gridmark_jobs::theft;
use std::io::Write;
use std::path::Path;

pub fn run(data: Option<&Path>, cmd: TheftCommand) -> Result<(), CliError> {
    match cmd {
        TheftCommand::Score(a) => score(&crate::cli::data_dir(data)?, a),
        TheftCommand::Inject(a) => inject(a),
        TheftCommand::Eval(a) => eval(a),
    }
}

fn score(data: &Path, args: TheftScoreArgs) -> Result<(), CliError> {
    if args.top == 0 {
        return Err(crate::usage("--top must be at least 1"));
    }
    let lake = gridmark_lake::Lake::open(data)?;
    let report = gridmark_jobs::suspects::score(&lake, args.top)?;
    if let Some(path) = &args.html {
        crate::metering::write_atomic(path, gridmark_jobs::suspects::html(&report, 20).as_bytes())?;
        eprintln!("wrote {}", path.display());
    }
    if let Some(path) = &args.out {
        crate::metering::write_report(path, &report, || suspects_csv(&report.suspects))?;
        eprintln!(
            "wrote {} suspects to {}",
            report.suspects.len(),
            path.display()
        );
    }
    let mut out = std::io::stdout().lock();
    if args.json {
        crate::metering::print_json(&report)?;
        return Ok(());
    }
    writeln!(
        out,
        "{} meters, {} days from {}; {}; top {}:",
        report.meters,
        report.days,
        report.source,
        report.model,
        report.suspects.len()
    )?;
    writeln!(
        out,
        "{:>4} {:<10} {:<6} {:>6} {:>6} {:>5} {:<10} {:>8} {:>6}",
        "rank", "meter", "area", "score", "shape", "drop", "from", "loss+", "expl"
    )?;
    for s in &report.suspects {
        writeln!(
            out,
            "{:>4} {:<10} {:<6} {:>6.3} {:>6.2} {:>4.0}% {:<10} {:>8.1} {:>5.0}%",
            s.rank,
            s.meter_id,
            s.area_id.as_deref().unwrap_or("-"),
            s.score,
            s.shape,
            s.drop * 100.0,
            s.drop_day.as_deref().unwrap_or("-"),
            s.area_loss_rise,
            s.loss_explained * 100.0
        )?;
    }
    Ok(())
}

fn suspects_csv(suspects: &[gridmark_jobs::suspects::Suspect]) -> String {
    let mut s = String::from(
        "rank,meter_id,customer_id,area_id,score,shape,drop,drop_day,kwh_per_day_before,kwh_per_day_after,area_loss_rise,loss_explained,partial,partial_hours,partial_from,indicators,label,supervised,reasons\n",
    );
    for x in suspects {
        s.push_str(&format!(
            "{},{},{},{},{:.4},{:.4},{:.4},{},{:.3},{:.3},{:.3},{:.4},{:.4},{},{},\"{}\",{},{},\"{}\"\n",
            x.rank,
            x.meter_id,
            x.customer_id.as_deref().unwrap_or(""),
            x.area_id.as_deref().unwrap_or(""),
            x.score,
            x.shape,
            x.drop,
            x.drop_day.as_deref().unwrap_or(""),
            x.kwh_per_day_before,
            x.kwh_per_day_after,
            x.area_loss_rise,
            x.loss_explained,
            x.partial,
            x.partial_hours.as_deref().unwrap_or(""),
            x.partial_from.as_deref().unwrap_or(""),
            x.indicators.join("; "),
            x.label.map_or("", |l| if l { "theft" } else { "honest" }),
            x.supervised.map_or(String::new(), |p| format!("{p:.4}")),
            x.reasons.join("; ")
        ));
    }
    s
}

fn day(text: &str, option: &str) -> Result<i64, CliError> {
    gridmark_core::civil::parse_date(text.as_bytes()).ok_or_else(|| {
        crate::usage(format!(
            "{option} {text}: expected a date such as 2013-01-01"
        ))
    })
}

fn inject(args: TheftInjectArgs) -> Result<(), CliError> {
    let first = &args.input[0];
    let header = first_line(first)?;
    let mut m = if header.contains("LCLid") {
        let paths: Vec<&Path> = args.input.iter().map(|p| p.as_path()).collect();
        theft::read_lcl_daily(&paths, day(&args.from, "--from")?, day(&args.to, "--to")?)?
    } else {
        if args.input.len() > 1 {
            return Err(crate::usage("an SGCC-layout input is one file"));
        }
        theft::read_sgcc(first)?
    };
    let n = theft::inject(&mut m, args.share, args.seed)?;
    theft::write_sgcc(&m, &args.out)?;
    eprintln!(
        "{} customers × {} days; attacked {n} (h1…h6 in turn); wrote {}",
        m.ids.len(),
        m.days.len(),
        args.out.display()
    );
    Ok(())
}

fn first_line(path: &Path) -> Result<String, CliError> {
    use std::io::BufRead;
    let r = gridmark_ingest::source::open_text(path, gridmark_ingest::source::sniff(path)?)?;
    let mut line = String::new();
    std::io::BufReader::new(r)
        .read_line(&mut line)
        .map_err(|e| crate::usage(format!("{}: {e}", path.display())))?;
    Ok(line)
}

fn eval(args: TheftEvalArgs) -> Result<(), CliError> {
    if args.folds < 2 {
        return Err(crate::usage("--folds must be at least 2"));
    }
    let m = theft::read_sgcc(&args.input)?;
    let ev = theft::evaluate(&m, args.folds, args.seed, !args.no_augment)?;
    if let Some(path) = &args.scores_out {
        theft::write_scores(&ev, path)?;
    }
    let mut out = std::io::stdout().lock();
    if args.json {
        let per_attack: serde_json::Map<String, serde_json::Value> = ev
            .per_attack
            .iter()
            .map(|a| {
                (
                    a.attack.name().to_string(),
                    serde_json::json!({"rows": a.rows, "auc": a.auc, "unsupervised_auc": a.unsupervised_auc}),
                )
            })
            .collect();
        let folds: Vec<serde_json::Value> = ev
            .folds
            .iter()
            .map(|f| {
                serde_json::json!({"fold": f.fold, "n": f.n, "positives": f.positives, "auc": f.auc,
                    "precision_at_10pct": f.precision_at_10pct, "map_at_100": f.map_at_100,
                    "unsupervised_auc": f.unsupervised_auc})
            })
            .collect();
        let j = serde_json::json!({
            "auc": ev.auc, "precision_at_10pct": ev.precision_at_10pct, "map_at_100": ev.map_at_100,
            "unsupervised_auc": ev.unsupervised_auc,
            "unsupervised_precision_at_10pct": ev.unsupervised_precision_at_10pct,
            "pooled_auc": ev.pooled_auc, "customers": m.ids.len(),
            "thieves": m.labels.iter().filter(|l| **l == Some(true)).count(),
            "augment": !args.no_augment, "seed": args.seed,
            "folds": folds, "per_attack": per_attack, "seconds": ev.seconds,
        });
        crate::metering::print_json(&j)?;
        return Ok(());
    }
    writeln!(
        out,
        "{} customers, {} thieves, {} folds (seed {}), {:.1} s",
        m.ids.len(),
        m.labels.iter().filter(|l| **l == Some(true)).count(),
        args.folds,
        args.seed,
        ev.seconds
    )?;
    writeln!(
        out,
        "{:<14} {:>8} {:>10} {:>9}",
        "", "ROC-AUC", "prec@10%", "MAP@100"
    )?;
    writeln!(
        out,
        "{:<14} {:>8.4} {:>10.4} {:>9.4}",
        "supervised", ev.auc, ev.precision_at_10pct, ev.map_at_100
    )?;
    writeln!(
        out,
        "{:<14} {:>8.4} {:>10.4} {:>9}",
        "unsupervised", ev.unsupervised_auc, ev.unsupervised_precision_at_10pct, "-"
    )?;
    for f in &ev.folds {
        writeln!(
            out,
            "  fold {}: n {} positives {} AUC {:.4} prec@10% {:.4} MAP@100 {:.4}",
            f.fold, f.n, f.positives, f.auc, f.precision_at_10pct, f.map_at_100
        )?;
    }
    if !ev.per_attack.is_empty() {
        writeln!(out, "per attack (vs all honest rows):")?;
        for a in &ev.per_attack {
            writeln!(
                out,
                "  {} rows {:>4}  AUC {:.4}  unsupervised {:.4}",
                a.attack.name(),
                a.rows,
                a.auc,
                a.unsupervised_auc
            )?;
        }
    }
    Ok(())
}
