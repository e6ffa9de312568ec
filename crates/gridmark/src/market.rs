//! The marketing analyses: `gridmark influence`, `gridmark lifecycle` and `gridmark siting`.

use crate::CliError;
use crate::cli::{InfluenceArgs, LifecycleArgs, SitingArgs};
use crate::metering::{print_json, write_report};
use gridmark_jobs::query::Query;
use gridmark_lake::Lake;
use serde_json::json;
use std::io::Write;
use std::path::Path;

fn open(data: Option<&Path>) -> Result<Query, CliError> {
    let dir = crate::cli::data_dir(data)?;
    Ok(Query::open(&Lake::open(&dir)?)?)
}

pub fn influence(data: Option<&Path>, args: InfluenceArgs) -> Result<(), CliError> {
    if args.top == 0 {
        return Err(crate::usage("--top 0: list at least one leader"));
    }
    let q = open(data)?;
    let quiet = args.json;
    let mut progress = |m: &str| {
        if !quiet {
            eprintln!("{m}");
        }
    };
    let r = gridmark_jobs::influence::analyze(&q, args.top, &mut progress)?;
    if let Some(path) = &args.out {
        write_report(path, &r.ranked, || crate::profile::records_csv(&r.ranked))?;
        eprintln!("wrote {} customers to {}", r.ranked.len(), path.display());
    }
    let leaders = |groups: &[(String, Vec<usize>)]| {
        groups
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    json!(v.iter().map(|&i| &r.ranked[i]).collect::<Vec<_>>()),
                )
            })
            .collect::<serde_json::Map<_, _>>()
    };
    if args.json {
        return print_json(&json!({
            "customers": r.customers, "ties": r.ties, "communities": r.communities,
            "pagerank_passes": r.pagerank_passes, "seconds": r.seconds,
            "top": r.ranked.iter().take(args.top).collect::<Vec<_>>(),
            "by_region": leaders(&r.by_region), "by_segment": leaders(&r.by_segment),
        }));
    }
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{} customers, {} ties, {} communities; PageRank converged in {} passes ({:.1} s)",
        r.customers, r.ties, r.communities, r.pagerank_passes, r.seconds
    )?;
    for (title, groups) in [("region", &r.by_region), ("segment", &r.by_segment)] {
        for (key, members) in groups.iter() {
            writeln!(out, "\nopinion leaders, {title} {key}:")?;
            for &i in members {
                let x = &r.ranked[i];
                writeln!(out, "  #{:<6} {:<10} {}", x.rank, x.customer_id, x.why)?;
            }
        }
    }
    Ok(())
}

pub fn lifecycle(data: Option<&Path>, args: LifecycleArgs) -> Result<(), CliError> {
    let q = open(data)?;
    let products = gridmark_jobs::lifecycle::analyze(&q, args.horizon)?;
    if args.json {
        return print_json(&products);
    }
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{:<14} {:>8} {:>8} {:>8} {:>7} {:>7} {:>9} {:>6}  {:<12} {:>9}  forecast",
        "product", "adopters", "active", "Δ6m", "p", "q", "m", "pen.", "stage", "peak"
    )?;
    let f = |v: Option<f64>, d: usize| v.map_or("—".to_string(), |x| format!("{x:.d$}"));
    for p in &products {
        let last = p
            .forecast
            .last()
            .map_or(String::new(), |(m, v)| format!("{v:.0} by {m}"));
        writeln!(
            out,
            "{:<14} {:>8} {:>8} {:>+8} {:>7} {:>7} {:>9} {:>6}  {:<12} {:>9}  {}",
            p.product,
            p.adopters,
            p.active_now,
            p.active_change_6m,
            f(p.p, 4),
            f(p.q, 3),
            f(p.m, 0),
            p.penetration
                .map_or("—".into(), |x| format!("{:.0}%", 100.0 * x)),
            p.stage,
            p.peak_month.clone().unwrap_or_default(),
            last
        )?;
    }
    writeln!(
        out,
        "\np: innovation, q: imitation (per month); m: market potential; months {} to {}",
        products.first().map_or("", |p| p.first_month.as_str()),
        products.first().map_or("", |p| p.last_month.as_str())
    )?;
    Ok(())
}

/// Candidate sites from a CSV with `id`, `lat` and `lon` columns; bad rows are named.
fn read_candidates(path: &Path) -> Result<Vec<(String, f64, f64)>, CliError> {
    let (names, rows) = gridmark_jobs::text::read_table(path)?;
    let col = |name: &str| {
        names
            .iter()
            .position(|n| n.trim().eq_ignore_ascii_case(name))
            .ok_or_else(|| {
                crate::usage(format!(
                    "{}: no `{name}` column (the header has: {})",
                    path.display(),
                    names.join(", ")
                ))
            })
    };
    let (i, la, lo) = (col("id")?, col("lat")?, col("lon")?);
    let mut out = Vec::new();
    for (line, cells) in rows {
        let num = |k: usize, what: &str, limit: f64| -> Result<f64, CliError> {
            cells[k]
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|v| v.abs() <= limit)
                .ok_or_else(|| {
                    crate::usage(format!(
                        "{}: line {line}: {what} `{}` is not a number within ±{limit}",
                        path.display(),
                        cells[k]
                    ))
                })
        };
        out.push((
            cells[i].trim().to_string(),
            num(la, "lat", 90.0)?,
            num(lo, "lon", 180.0)?,
        ));
    }
    if out.is_empty() {
        return Err(crate::usage(format!(
            "{}: no candidate rows",
            path.display()
        )));
    }
    Ok(out)
}

pub fn siting(data: Option<&Path>, args: SitingArgs) -> Result<(), CliError> {
    use gridmark_jobs::siting::Weight;
    if args.new_sites == 0 {
        return Err(crate::usage("--new 0: choose at least one site"));
    }
    if !(args.radius.is_finite() && args.radius > 0.0 && args.radius <= 500.0) {
        return Err(crate::usage(format!(
            "--radius {}: a distance in km above 0 and at most 500",
            args.radius
        )));
    }
    let weight = match args.weight.as_str() {
        "customers" => Weight::Customers,
        "kwh" => Weight::Kwh,
        other => {
            return Err(crate::usage(format!(
                "--weight {other}: expected customers or kwh"
            )));
        }
    };
    let objective = match args.objective.as_str() {
        "coverage" => gridmark_jobs::siting::Objective::Coverage,
        "median" => gridmark_jobs::siting::Objective::Median,
        other => {
            return Err(crate::usage(format!(
                "--objective {other}: expected coverage or median"
            )));
        }
    };
    let candidates = args
        .candidates
        .as_deref()
        .map(read_candidates)
        .transpose()?;
    let q = open(data)?;
    let quiet = args.json;
    let mut progress = |m: &str| {
        if !quiet {
            eprintln!("{m}");
        }
    };
    let r = gridmark_jobs::siting::choose(
        &q,
        args.new_sites,
        args.radius,
        weight,
        objective,
        candidates,
        &mut progress,
    )?;
    if let Some(path) = &args.geojson {
        crate::metering::write_atomic(path, r.geojson().to_string().as_bytes())?;
        eprintln!("wrote {}", path.display());
    }
    if args.json {
        return print_json(&r);
    }
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{} customers, {} existing halls, {} candidates, radius {} km, covering {}",
        r.customers, r.existing_halls, r.candidates, r.radius_km, r.weight
    )?;
    if r.objective == "median" {
        let km = |v: Option<f64>| v.map_or("— (no hall yet)".into(), |x| format!("{x:.2} km"));
        writeln!(
            out,
            "p-median: mean distance to the nearest hall {} now → {} with {} new sites ({}; {} demand points)",
            km(r.mean_km_before),
            km(r.mean_km_after),
            r.sites.len(),
            if r.median_exact == Some(true) {
                "every combination tried: optimal".to_string()
            } else {
                format!(
                    "greedy then {} improving swaps: no single swap improves it",
                    r.median_swaps.unwrap_or(0)
                )
            },
            r.median_demand_points.unwrap_or(0)
        )?;
        writeln!(
            out,
            "covered within {} km: {:.1} % now → {:.1} %",
            r.radius_km,
            100.0 * r.share_before,
            100.0 * r.share_after
        )?;
    } else {
        writeln!(
            out,
            "covered: {:.1} % now → {:.1} % with {} new sites (the best possible is at most {:.1} %; gap {:.2} %)",
            100.0 * r.share_before,
            100.0 * r.share_after,
            r.sites.len(),
            100.0 * r.upper_bound / r.total.max(f64::MIN_POSITIVE),
            100.0 * r.gap
        )?;
    }
    if let Some(opt) = r.exact_optimum {
        writeln!(
            out,
            "every combination tried: the optimum covers {:.1} %{}",
            100.0 * opt / r.total.max(f64::MIN_POSITIVE),
            if r.covered_after + 1e-9 >= opt {
                ", the same as the choice below"
            } else {
                ""
            }
        )?;
    }
    writeln!(
        out,
        "{:>4}  {:<18} {:>10} {:>11} {:>14} {:>12}",
        "rank", "candidate", "lat", "lon", "new customers", "new kWh"
    )?;
    for s in &r.sites {
        writeln!(
            out,
            "{:>4}  {:<18} {:>10.5} {:>11.5} {:>14} {:>12.0}",
            s.rank, s.candidate, s.lat, s.lon, s.new_customers, s.new_kwh
        )?;
    }
    Ok(())
}
