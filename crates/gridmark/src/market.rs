//! The marketing analyses: `gridmark influence` and `gridmark lifecycle`.

use crate::CliError;
use crate::cli::{InfluenceArgs, LifecycleArgs};
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
