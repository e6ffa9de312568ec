//! `gridmark segment run|eval`: k-means segmentation of the lake's customers or of LCL files.

use crate::CliError;
use crate::cli::{SegmentCommand, SegmentKArgs};
use crate::metering::{print_json, write_atomic};
use gridmark_jobs::segment::{self, KSpec, SegmentOptions, Segmentation, ShapeFeatures};
use gridmark_lake::Lake;
use serde_json::json;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

pub fn run(data: Option<&Path>, cmd: SegmentCommand) -> Result<(), CliError> {
    match cmd {
        SegmentCommand::Run(args) => {
            let dir = crate::cli::data_dir(data)?;
            let opts = options(&args.k)?;
            let lake = Lake::open(&dir)?;
            let quiet = args.k.json;
            let started = Instant::now();
            if !quiet {
                eprintln!("reading load shapes…");
            }
            let q = gridmark_jobs::query::Query::open(&lake)?;
            let features = segment::lake_features(&q, args.min_days)?;
            let seg = fit(features, &opts, quiet)?;
            let (run_id, version) =
                segment::store(&lake, Arc::new(gridmark_core::SystemClock), &seg)?;
            let seconds = started.elapsed().as_secs_f64();
            report(
                &seg,
                &args.k,
                &format!(
                    "segments of {} (run {run_id}, lake version {version})",
                    dir.display()
                ),
                seconds,
            )
        }
        SegmentCommand::Eval(args) => {
            let opts = options(&args.k)?;
            let started = Instant::now();
            let paths: Vec<&Path> = args.input.iter().map(|p| p.as_path()).collect();
            let (features, what) = match &args.features {
                Some(path) => (
                    segment::read_feature_csv(path)?,
                    format!("customers of {}", path.display()),
                ),
                None => {
                    if !args.k.json {
                        eprintln!("reading {} file(s)…", paths.len());
                    }
                    (
                        segment::lcl_features(&paths, args.year, args.min_days)?,
                        format!(
                            "LCL households with ≥ {} complete days in {}",
                            args.min_days, args.year
                        ),
                    )
                }
            };
            let read_seconds = started.elapsed().as_secs_f64();
            let seg = fit(features, &opts, args.k.json)?;
            let seconds = started.elapsed().as_secs_f64();
            if !args.k.json {
                eprintln!("features read in {read_seconds:.1} s");
            }
            report(&seg, &args.k, &what, seconds)
        }
    }
}

fn options(k: &SegmentKArgs) -> Result<SegmentOptions, CliError> {
    let spec = if k.k.trim() == "auto" {
        if k.max_k < 2 {
            return Err(crate::usage("--max-k must be at least 2"));
        }
        KSpec::Auto {
            min: 2,
            max: k.max_k,
        }
    } else {
        match k.k.trim().parse::<usize>() {
            Ok(n) if n >= 1 => KSpec::Fixed(n),
            _ => {
                return Err(crate::usage(format!(
                    "--k {}: give a number of segments (1 or more) or `auto`",
                    k.k
                )));
            }
        }
    };
    if k.restarts == 0 {
        return Err(crate::usage("--restarts must be at least 1"));
    }
    Ok(SegmentOptions {
        k: spec,
        restarts: k.restarts,
        seed: k.seed,
        ..SegmentOptions::default()
    })
}

fn fit(
    features: ShapeFeatures,
    opts: &SegmentOptions,
    quiet: bool,
) -> Result<Segmentation, CliError> {
    let mut progress = |m: &str| {
        if !quiet {
            eprintln!("{m}");
        }
    };
    Ok(segment::segment(features, opts, &mut progress)?)
}

fn report(
    seg: &Segmentation,
    args: &SegmentKArgs,
    what: &str,
    seconds: f64,
) -> Result<(), CliError> {
    if let Some(path) = &args.features_out {
        seg.write_matrix(path)?;
        eprintln!("wrote the feature matrix to {}", path.display());
    }
    if let Some(path) = &args.labels_out {
        let mut s = String::from("id,segment\n");
        for (id, l) in seg.features.ids.iter().zip(&seg.fit.labels) {
            s.push_str(&format!("{id},{l}\n"));
        }
        write_atomic(path, s.as_bytes())?;
        eprintln!("wrote each customer's segment to {}", path.display());
    }
    if let Some(path) = &args.html {
        write_atomic(path, segment::html(seg, what).as_bytes())?;
        eprintln!("wrote {}", path.display());
    }
    let truth = match &args.truth {
        Some(path) => Some(segment::agreement(
            seg,
            &segment::read_labels(path, &args.truth_col)?,
        )),
        None => None,
    };
    let used: Vec<&str> = seg
        .used
        .iter()
        .map(|&j| seg.features.names[j].as_str())
        .collect();
    if args.json {
        let segments: Vec<serde_json::Value> = seg
            .segments
            .iter()
            .map(|s| {
                let means: serde_json::Map<String, serde_json::Value> = seg
                    .features
                    .names
                    .iter()
                    .zip(&s.means)
                    .map(|(n, v)| (n.clone(), if v.is_finite() { json!(v) } else { json!(null) }))
                    .collect();
                json!({"segment": s.segment, "name": s.name, "size": s.size, "share": s.share,
                    "mean_daily_kwh": s.mean_daily_kwh,
                    "main_class": s.main_class.as_ref().map(|(c, sh)| json!({"class": c, "share": sh})),
                    "features": means})
            })
            .collect();
        let scan: Vec<serde_json::Value> = seg
            .scan
            .iter()
            .map(|c| json!({"k": c.k, "inertia": c.inertia, "silhouette": c.silhouette}))
            .collect();
        return print_json(&json!({
            "customers": seg.features.ids.len(), "features": used, "k": seg.fit.k,
            "inertia": seg.fit.inertia, "silhouette": seg.silhouette,
            "stability_ari": seg.stability_ari, "fit_seconds": seg.fit_seconds,
            "iterations": seg.fit.iterations, "restart_inertia": seg.fit.restart_inertia,
            "seconds": seconds, "scan": scan, "segments": segments,
            "truth_ari": truth.map(|t| t.0), "truth_compared": truth.map(|t| t.1),
        }));
    }
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{what}: {} customers × {} features, k = {} (silhouette {:.3}, stability ARI {:.3} between seeds)",
        seg.features.ids.len(),
        used.len(),
        seg.fit.k,
        seg.silhouette,
        seg.stability_ari
    )?;
    if seg.scan.len() > 1 {
        writeln!(out, "  k   inertia      silhouette")?;
        for c in &seg.scan {
            let mark = if c.k == seg.fit.k { "  ← chosen" } else { "" };
            writeln!(
                out,
                "  {:<3} {:<12.1} {:.3}{mark}",
                c.k, c.inertia, c.silhouette
            )?;
        }
    }
    writeln!(out, "  seg  customers  share   kWh/day  description")?;
    for s in &seg.segments {
        writeln!(
            out,
            "  {:<4} {:>9}  {:>5.1} %  {:>7.1}  {}",
            s.segment,
            s.size,
            s.share * 100.0,
            s.mean_daily_kwh,
            s.name
        )?;
    }
    if let Some((ari, n)) = truth {
        writeln!(
            out,
            "agreement with {} ({n} customers compared): adjusted Rand index {ari:.3}",
            args.truth_col
        )?;
    }
    writeln!(
        out,
        "inertia {:.2} after {} iterations; k-means fit {:.2} s, {:.1} s in all",
        seg.fit.inertia, seg.fit.iterations, seg.fit_seconds, seconds
    )?;
    Ok(())
}
