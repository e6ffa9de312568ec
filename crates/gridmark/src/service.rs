//! The service analyses: `gridmark channels`, `gridmark satisfaction` and
//! `gridmark staff assess`.

use crate::CliError;
use crate::cli::{ChannelsArgs, SatisfactionArgs, StaffAssessArgs};
use crate::metering::{print_json, write_report};
use crate::profile::records_csv;
use gridmark_analytics::stats;
use gridmark_jobs::query::Query;
use gridmark_jobs::service_data::{Granularity, Period};
use gridmark_lake::Lake;
use serde_json::json;
use std::io::Write;
use std::path::Path;

fn open(data: Option<&Path>) -> Result<(Lake, Query), CliError> {
    let dir = crate::cli::data_dir(data)?;
    let lake = Lake::open(&dir)?;
    let q = Query::open(&lake)?;
    Ok((lake, q))
}

fn pct(v: Option<f64>) -> String {
    v.map_or("—".into(), |x| format!("{:.0}%", 100.0 * x))
}

fn num(v: Option<f64>, digits: usize) -> String {
    v.map_or("—".into(), |x| format!("{x:.digits$}"))
}

fn interval(lo: Option<f64>, hi: Option<f64>, digits: usize) -> String {
    match (lo, hi) {
        (Some(a), Some(b)) => format!("[{a:.digits$}, {b:.digits$}]"),
        _ => "—".into(),
    }
}

pub fn channels(data: Option<&Path>, args: ChannelsArgs) -> Result<(), CliError> {
    let (lake, q) = open(data)?;
    let r = gridmark_jobs::channels::analyze(&lake, &q)?;
    if let Some(path) = &args.out {
        write_report(path, &r.customers_detail, || {
            records_csv(&r.customers_detail)
        })?;
        if !args.json {
            eprintln!(
                "wrote {} customers to {}",
                r.customers_detail.len(),
                path.display()
            );
        }
    }
    let top: Vec<_> = r
        .customers_detail
        .iter()
        .filter(|c| c.recommendation == "move")
        .take(args.top)
        .collect();
    if args.json {
        let mut doc = serde_json::to_value(&r)?;
        doc["customers_detail"] = json!(top);
        return print_json(&doc);
    }
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{} contacts by {} customers, {} to {}: digital {:.0}% (first 3 months {:.0}%, last 3 {:.0}%, trend {:+.1} points a year)\n",
        r.contacts,
        r.customers,
        r.first_month,
        r.last_month,
        100.0 * r.digital_share,
        100.0 * r.digital_share_first_3m,
        100.0 * r.digital_share_last_3m,
        r.digital_trend_points_per_year
    )?;
    writeln!(
        out,
        "{:<13} {:>8} {:>6} {:>9} {:>7} {:>7} {:>8} {:>7} {:>8} {:>6} {:>5}",
        "channel",
        "contacts",
        "share",
        "customers",
        "first3m",
        "last3m",
        "pts/yr",
        "mean s",
        "res. h",
        "CSAT",
        "NPS"
    )?;
    for c in &r.channels {
        writeln!(
            out,
            "{:<13} {:>8} {:>6} {:>9} {:>7} {:>7} {:>+8.1} {:>7} {:>8} {:>6} {:>5}",
            c.channel,
            c.contacts,
            pct(Some(c.share)),
            c.customers,
            pct(Some(c.share_first_3m)),
            pct(Some(c.share_last_3m)),
            c.trend_points_per_year,
            num(c.mean_duration_s, 0),
            num(c.median_resolution_hours, 1),
            num(c.csat, 2),
            num(c.nps, 0)
        )?;
    }
    writeln!(out, "\nchannel mix by customer group (share of contacts):")?;
    write!(
        out,
        "{:<10} {:<22} {:>9} {:>8}",
        "by", "group", "customers", "digital"
    )?;
    for c in &r.channels {
        write!(out, " {:>8}", truncate(&c.channel, 8))?;
    }
    writeln!(out, " {:>13}", "digital trend")?;
    for g in &r.groups {
        write!(
            out,
            "{:<10} {:<22} {:>9} {:>8}",
            g.dimension,
            truncate(&g.group, 22),
            g.customers,
            pct(Some(g.digital_share))
        )?;
        for s in &g.shares {
            write!(out, " {:>8}", pct(Some(*s)))?;
        }
        writeln!(
            out,
            " {:>13}",
            format!(
                "{} → {}",
                pct(g.digital_share_first_half),
                pct(g.digital_share_second_half)
            )
        )?;
    }
    writeln!(
        out,
        "\n{} customers could move to digital channels ({:.0} hours a year of offline contacts; they already use one); {} heavy offline users need onboarding first",
        r.movable_customers, r.movable_offline_hours, r.onboarding_customers
    )?;
    if !top.is_empty() {
        writeln!(
            out,
            "{:<12} {:<10} {:<12} {:>8} {:>9} {:>17} {:>8}",
            "customer", "region", "class", "contacts", "digital", "offline pay/query", "minutes"
        )?;
        for c in top {
            writeln!(
                out,
                "{:<12} {:<10} {:<12} {:>8} {:>9} {:>17} {:>8.0}",
                c.customer_id,
                truncate(&c.region, 10),
                c.class,
                c.contacts,
                pct(Some(c.digital_share)),
                format!(
                    "{} ({:.0}%)",
                    c.offline_digitizable,
                    100.0 * c.offline_routine_share
                ),
                c.offline_minutes
            )?;
        }
    }
    Ok(())
}

fn truncate(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

pub fn satisfaction(data: Option<&Path>, args: SatisfactionArgs) -> Result<(), CliError> {
    use gridmark_jobs::satisfaction::{SatisfactionOptions, analyze};
    if !(args.alpha > 0.0 && args.alpha < 1.0) {
        return Err(crate::usage(format!(
            "--alpha {}: a false-discovery rate between 0 and 1",
            args.alpha
        )));
    }
    let opts = SatisfactionOptions {
        period: args.period.as_deref().map(Period::parse).transpose()?,
        by: Granularity::parse(&args.by)?,
        alpha: args.alpha,
    };
    let (lake, q) = open(data)?;
    let r = analyze(&lake, &q, &opts)?;
    if let Some(path) = &args.out {
        write_report(path, &r.groups, || records_csv(&r.groups))?;
        if !args.json {
            eprintln!("wrote {} groups to {}", r.groups.len(), path.display());
        }
    }
    if args.json {
        return print_json(&r);
    }
    let mut out = std::io::stdout().lock();
    let o = &r.overall;
    writeln!(
        out,
        "{} answers{}: CSAT {} {}, satisfied {} {}, NPS {} {}",
        r.answers,
        r.period
            .as_ref()
            .map_or(String::new(), |p| format!(" in {}", p.name)),
        num(o.csat, 2),
        interval(o.csat_low, o.csat_high, 2),
        pct(o.satisfied_share),
        interval(
            o.satisfied_low.map(|x| 100.0 * x),
            o.satisfied_high.map(|x| 100.0 * x),
            0
        ),
        num(o.nps, 0),
        interval(o.nps_low, o.nps_high, 0)
    )?;
    if r.skipped_out_of_scale > 0 {
        writeln!(
            out,
            "skipped {} answers with a CSAT outside 1–5 or an NPS outside 0–10 (e.g. {})",
            r.skipped_out_of_scale,
            r.skipped_examples.join(", ")
        )?;
    }
    for dim in gridmark_jobs::satisfaction::DIMENSIONS {
        let mut rows: Vec<_> = r.groups.iter().filter(|g| g.dimension == dim).collect();
        let title = match dim {
            "business" => "business type (work-order category)".to_string(),
            "class" => "customer class".to_string(),
            "staff" => {
                // Sixty staff do not fit: the lowest and highest with enough answers.
                rows.retain(|g| g.answers >= 10 && g.group != "(none)");
                rows.sort_by(|a, b| a.csat.unwrap_or(0.0).total_cmp(&b.csat.unwrap_or(0.0)));
                if rows.len() > 10 {
                    let n = rows.len();
                    rows = rows[..5].iter().chain(&rows[n - 5..]).copied().collect();
                }
                "staff (lowest and highest 5 with 10 answers or more)".to_string()
            }
            other => other.to_string(),
        };
        writeln!(out, "\nby {title}:")?;
        writeln!(
            out,
            "  {:<22} {:>7} {:>5} {:>14} {:>9} {:>5} {:>12} {:>9}",
            "", "answers", "CSAT", "95% CI", "satisfied", "NPS", "95% CI", "neg. text"
        )?;
        for g in rows {
            writeln!(
                out,
                "  {:<22} {:>7} {:>5} {:>14} {:>9} {:>5} {:>12} {:>9}",
                truncate(&g.group, 22),
                g.answers,
                num(g.csat, 2),
                interval(g.csat_low, g.csat_high, 2),
                pct(g.satisfied_share),
                num(g.nps, 0),
                interval(g.nps_low, g.nps_high, 0),
                pct(g.negative_comments)
            )?;
        }
    }
    writeln!(
        out,
        "\nsignificant changes between consecutive {}s (false-discovery rate {}, {} tests):",
        args.by, args.alpha, r.tests_made
    )?;
    if r.changes.is_empty() {
        writeln!(out, "  none")?;
    }
    for c in r.changes.iter().take(15) {
        writeln!(
            out,
            "  {:<9} {:<18} {:<4} {} → {}: {:.2} → {:.2} ({:+.2}; n {}→{}; q = {:.3})",
            c.dimension,
            truncate(&c.group, 18),
            c.metric,
            c.from,
            c.to,
            c.before,
            c.after,
            c.difference,
            c.answers_before,
            c.answers_after,
            c.q
        )?;
    }
    let low = r.overall.low_share.unwrap_or(0.0);
    writeln!(
        out,
        "\nwhat goes with low scores (CSAT 1–2; {:.0}% overall), levels with 20 answers or more:",
        100.0 * low
    )?;
    for d in r.drivers.iter().filter(|d| d.answers >= 20).take(10) {
        writeln!(
            out,
            "  {:<9} {:<18} {:>6} answers, CSAT {:.2}, low {:>4} [{:.0}–{:.0}%], {:.1}× overall",
            d.factor,
            truncate(&d.level, 18),
            d.answers,
            d.csat,
            pct(Some(d.low_share)),
            100.0 * d.low_share_low,
            100.0 * d.low_share_high,
            d.lift
        )?;
    }
    if !r.effects.is_empty() {
        writeln!(
            out,
            "\nCSAT model on {} answers after a closed work order (R² {}; reference: {}):",
            r.model_answers,
            num(r.model_r2, 2),
            r.model_reference
        )?;
        for e in r.effects.iter().filter(|e| e.p < 0.05) {
            writeln!(
                out,
                "  {:<34} {:+.2} ± {:.2} CSAT points (p {})",
                e.term,
                e.coefficient,
                1.96 * e.std_error,
                if e.p < 0.001 {
                    "< 0.001".to_string()
                } else {
                    format!("{:.3}", e.p)
                }
            )?;
        }
    }
    if let Some(c) = r.sentiment_csat_correlation {
        writeln!(
            out,
            "\ncomment sentiment (built-in service lexicon) against CSAT: r = {c:.2} over {} comments",
            r.overall.comments
        )?;
    }
    Ok(())
}

/// Spearman correlations of the assessment with the demo's hidden staff quality.
fn staff_truth(
    path: &Path,
    staff: &[gridmark_jobs::staff::Assessment],
) -> Result<serde_json::Value, CliError> {
    let (names, rows) = gridmark_jobs::text::read_table(path)?;
    let col = |name: &str| {
        names.iter().position(|n| n.trim() == name).ok_or_else(|| {
            crate::usage(format!(
                "{}: no `{name}` column (the header has: {})",
                path.display(),
                names.join(", ")
            ))
        })
    };
    let (id, skill, attitude) = (col("staff_id")?, col("skill")?, col("attitude")?);
    let mut truth = std::collections::HashMap::new();
    for (line, cells) in rows {
        let parse = |k: usize| {
            cells[k].trim().parse::<f64>().map_err(|_| {
                crate::usage(format!(
                    "{}: line {line}: `{}` is not a number",
                    path.display(),
                    cells[k]
                ))
            })
        };
        let s = parse(skill)?;
        if s <= 0.0 {
            return Err(crate::usage(format!(
                "{}: line {line}: skill must be above 0",
                path.display()
            )));
        }
        truth.insert(cells[id].trim().to_string(), (s.ln(), parse(attitude)?));
    }
    // Truth: what satisfaction and speed reflect in the generator.
    let pairs = |f: &dyn Fn(&gridmark_jobs::staff::Assessment) -> Option<f64>,
                 t: &dyn Fn((f64, f64)) -> f64| {
        let (a, b): (Vec<f64>, Vec<f64>) = staff
            .iter()
            .filter_map(|s| Some((f(s)?, t(*truth.get(&s.staff_id)?))))
            .unzip();
        (stats::spearman(&a, &b), a.len())
    };
    let sat_truth = |(ls, att): (f64, f64)| 1.2 * ls + att;
    let speed_truth = |(ls, _): (f64, f64)| ls;
    let (sat_raw, n_sat) = pairs(&|s| s.satisfaction_raw, &sat_truth);
    let (sat_shrunk, _) = pairs(
        &|s| s.satisfaction_raw.map(|_| s.satisfaction_index),
        &sat_truth,
    );
    let (speed_raw, n_speed) = pairs(&|s| s.speed_raw.map(|v| -v), &speed_truth);
    let (speed_shrunk, _) = pairs(&|s| s.speed_raw.map(|_| -s.speed_index), &speed_truth);
    let (composite, n_all) = pairs(&|s| Some(s.composite), &|(ls, att)| {
        0.4 * (1.2 * ls + att) / 0.5 + 0.3 * ls / 0.35
    });
    Ok(json!({
        "staff_with_surveys": n_sat,
        "satisfaction_raw_spearman": sat_raw,
        "satisfaction_shrunk_spearman": sat_shrunk,
        "staff_with_closed_orders": n_speed,
        "speed_raw_spearman": speed_raw,
        "speed_shrunk_spearman": speed_shrunk,
        "staff": n_all,
        "composite_spearman": composite,
    }))
}

pub fn staff_assess(data: Option<&Path>, args: StaffAssessArgs) -> Result<(), CliError> {
    let period = Period::parse(&args.period)?;
    let (lake, q) = open(data)?;
    let r = gridmark_jobs::staff::assess(&lake, &q, &period)?;
    if let Some(path) = &args.out {
        write_report(path, &r.staff, || records_csv(&r.staff))?;
        if !args.json {
            eprintln!("wrote {} staff to {}", r.staff.len(), path.display());
        }
    }
    let truth = args
        .truth
        .as_deref()
        .map(|p| staff_truth(p, &r.staff))
        .transpose()?;
    if args.json {
        let mut doc = serde_json::to_value(&r)?;
        if let Some(t) = truth {
            doc["truth"] = t;
        }
        return print_json(&doc);
    }
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "staff assessment {}: {} work orders ({} without a handler), {} surveys rating staff\n",
        r.period.name, r.orders, r.orders_without_staff, r.surveys
    )?;
    writeln!(
        out,
        "{:>4} {:<7} {:<15} {:>6} {:>7} {:>6} {:>6} {:>5} {:>5} {:>6} {:>6} {:>5}  note",
        "rank",
        "staff",
        "role",
        "orders",
        "res. h",
        "FCR",
        "reopen",
        "compl",
        "CSAT",
        "score",
        "grade",
        ""
    )?;
    for s in &r.staff {
        writeln!(
            out,
            "{:>4} {:<7} {:<15} {:>6} {:>7} {:>6} {:>6} {:>5} {:>5} {:>+6.2} {:>6} {:>5}  {}",
            s.rank,
            s.staff_id,
            truncate(&s.role, 15),
            s.orders,
            num(s.median_resolution_hours, 1),
            pct(s.first_contact_rate),
            pct(s.reopen_rate),
            s.complaints_after,
            num(s.csat, 2),
            s.composite,
            s.grade,
            if s.provisional { "prov." } else { "" },
            s.note
        )?;
    }
    writeln!(
        out,
        "\nscore: z-scores within the role of the shrunk KPIs, weighted {}; grades A top 20%, B next 30%, C next 35%, D bottom 15%; prov. = fewer than {} orders",
        r.weights
            .iter()
            .map(|(n, w)| format!("{n} {w:.2}"))
            .collect::<Vec<_>>()
            .join(", "),
        gridmark_jobs::staff::PROVISIONAL_ORDERS
    )?;
    writeln!(
        out,
        "reliability (mean weight on each person's own data; the rest is the role's mean):"
    )?;
    for (role, kpi, w) in &r.reliability {
        writeln!(out, "  {role:<22} {kpi:<14} {w:.2}")?;
    }
    if let Some(t) = truth {
        writeln!(
            out,
            "\nagainst the hidden staff quality (Spearman): satisfaction raw {} / shrunk {} ({} staff); speed raw {} / shrunk {} ({} staff); composite {} ({} staff)",
            num(t["satisfaction_raw_spearman"].as_f64(), 3),
            num(t["satisfaction_shrunk_spearman"].as_f64(), 3),
            t["staff_with_surveys"],
            num(t["speed_raw_spearman"].as_f64(), 3),
            num(t["speed_shrunk_spearman"].as_f64(), 3),
            t["staff_with_closed_orders"],
            num(t["composite_spearman"].as_f64(), 3),
            t["staff"]
        )?;
    }
    Ok(())
}
