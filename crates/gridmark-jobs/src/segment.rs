//! Customer segmentation: load-shape features per customer, k-means on their standardised
//! values, k chosen by silhouette when asked, and each segment described in a marketer's words
//! from its members' mean (unstandardised) features.
//!
//! Two feature sets share one pipeline:
//! * from the lake's interval readings ([`lake_features`]): the working-day profile in eight
//!   3-hour blocks, the rest-day ratio, summer and winter ratios and the log daily level;
//! * from daily files such as London's LCL ([`lcl_features`]): the day-of-week and monthly
//!   profiles, the half-hourly peak and base against the mean, and the log daily level.

use crate::JobError;
use crate::query::{Query, strings};
use crate::theft::{each_lcl_row, line_err};
use gridmark_analytics::cluster::{self, KChoice, KMeansFit, KMeansParams};
use gridmark_core::civil::civil_from_days;
use gridmark_metering::tariff::DayType;
use std::collections::HashMap;
use std::path::Path;
use std::time::Instant;

/// Raw features per customer (NaN where a feature cannot be measured, e.g. no summer days).
#[derive(Debug, Clone, Default)]
pub struct ShapeFeatures {
    pub ids: Vec<String>,
    pub names: Vec<String>,
    pub rows: Vec<Vec<f64>>,
    pub mean_daily_kwh: Vec<f64>,
    /// Customer class per row, where the source has one (the lake's customers table).
    pub class: Vec<Option<String>>,
}

impl ShapeFeatures {
    fn column(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| n == name)
    }
}

/// Share of each tail clipped before standardising: a handful of odd customers (a vacant
/// flat whose mean is near zero, rooftop solar that exports at noon) would otherwise have
/// ratios in the tens and k-means would spend its clusters on them.
pub const WINSOR_TAIL: f64 = 0.005;

/// Standardises every column: clipped to its [`WINSOR_TAIL`] and 1 − [`WINSOR_TAIL`]
/// quantiles, then z-scored, with a missing value at the column mean (0). Columns that are
/// constant or never measured are left out. Returns the row-major matrix and the indices of
/// the columns used.
pub fn standardise(f: &ShapeFeatures) -> (Vec<f64>, Vec<usize>) {
    let n = f.rows.len();
    let mut used = Vec::new();
    let mut stats = Vec::new();
    for j in 0..f.names.len() {
        let mut vals: Vec<f64> = f
            .rows
            .iter()
            .map(|r| r[j])
            .filter(|v| v.is_finite())
            .collect();
        if vals.len() < 2 {
            continue;
        }
        vals.sort_by(f64::total_cmp);
        let at = |q: f64| vals[((vals.len() - 1) as f64 * q).round() as usize];
        let (lo, hi) = (at(WINSOR_TAIL), at(1.0 - WINSOR_TAIL));
        let clipped: Vec<f64> = vals.iter().map(|v| v.clamp(lo, hi)).collect();
        let mean = clipped.iter().sum::<f64>() / clipped.len() as f64;
        let sd =
            (clipped.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / clipped.len() as f64).sqrt();
        if sd > 1e-12 {
            used.push(j);
            stats.push((lo, hi, mean, sd));
        }
    }
    let mut x = Vec::with_capacity(n * used.len());
    for r in &f.rows {
        for (&j, &(lo, hi, mean, sd)) in used.iter().zip(&stats) {
            let v = r[j];
            x.push(if v.is_finite() {
                (v.clamp(lo, hi) - mean) / sd
            } else {
                0.0
            });
        }
    }
    (x, used)
}

/// How many segments.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum KSpec {
    Fixed(usize),
    /// The k in `min..=max` with the highest silhouette.
    Auto {
        min: usize,
        max: usize,
    },
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SegmentOptions {
    pub k: KSpec,
    pub restarts: usize,
    pub seed: u64,
    /// Points the silhouette is computed on (a seeded sample when there are more).
    pub silhouette_sample: usize,
}

impl Default for SegmentOptions {
    fn default() -> Self {
        SegmentOptions {
            k: KSpec::Auto { min: 2, max: 10 },
            restarts: 10,
            seed: 42,
            silhouette_sample: 5000,
        }
    }
}

/// One segment in words and figures.
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentSummary {
    pub segment: usize,
    pub name: String,
    pub size: usize,
    pub share: f64,
    /// Mean raw feature values of the members (same order as the feature names).
    pub means: Vec<f64>,
    pub mean_daily_kwh: f64,
    /// The most common customer class and its share among the members.
    pub main_class: Option<(String, f64)>,
}

#[derive(Debug, Clone)]
pub struct Segmentation {
    pub features: ShapeFeatures,
    /// Feature columns used in the clustering (constant ones are left out).
    pub used: Vec<usize>,
    /// The standardised matrix k-means saw (customers × used columns, row-major).
    pub matrix: Vec<f64>,
    pub fit: KMeansFit,
    /// Every k tried with its inertia and silhouette (one entry for a fixed k).
    pub scan: Vec<KChoice>,
    pub silhouette: f64,
    /// Adjusted Rand index between this fit and one from another seed: how stable the
    /// partition is.
    pub stability_ari: f64,
    /// Seconds of the k-means fit of the chosen k (all restarts), without feature extraction.
    pub fit_seconds: f64,
    /// Segments ordered by id; ids are ordered by size, largest first.
    pub segments: Vec<SegmentSummary>,
}

fn cluster_error(e: cluster::ClusterError) -> JobError {
    JobError::invalid("segmentation", e.to_string())
}

impl Segmentation {
    /// Writes `id,<features…>` as CSV: the standardised matrix that k-means saw, so another
    /// tool can be run on exactly the same numbers.
    pub fn write_matrix(&self, path: &Path) -> Result<(), JobError> {
        use std::fmt::Write as _;
        let names: Vec<&str> = self
            .used
            .iter()
            .map(|&j| self.features.names[j].as_str())
            .collect();
        let mut s = format!("id,{}\n", names.join(","));
        for (id, row) in self
            .features
            .ids
            .iter()
            .zip(self.matrix.chunks_exact(self.used.len().max(1)))
        {
            s.push_str(id);
            for v in row {
                let _ = write!(s, ",{v}");
            }
            s.push('\n');
        }
        crate::write_atomic(path, s.as_bytes())
    }
}

/// Clusters the customers and describes the segments.
pub fn segment(
    features: ShapeFeatures,
    opts: &SegmentOptions,
    progress: &mut dyn FnMut(&str),
) -> Result<Segmentation, JobError> {
    let n = features.rows.len();
    let (x, used) = standardise(&features);
    let d = used.len();
    if d == 0 {
        return Err(JobError::invalid(
            "segmentation",
            format!("{n} customers but no feature varies between them"),
        ));
    }
    let (lo, hi) = match opts.k {
        KSpec::Fixed(k) => (k, k),
        KSpec::Auto { min, max } => (min.max(2), max.min(n.saturating_sub(1))),
    };
    if lo == 0 || lo > hi || hi > n {
        return Err(JobError::invalid(
            "--k",
            format!("cannot make {lo}..={hi} segments of {n} customers"),
        ));
    }
    let base = KMeansParams {
        restarts: opts.restarts.max(1),
        seed: opts.seed,
        ..KMeansParams::new(lo)
    };
    let mut scan = Vec::new();
    let mut best: Option<(KMeansFit, f64, f64)> = None;
    for k in lo..=hi {
        progress(&format!(
            "k-means with k = {k} on {n} customers × {d} features…"
        ));
        let t = Instant::now();
        let fit = cluster::kmeans(&x, n, d, &KMeansParams { k, ..base }).map_err(cluster_error)?;
        let seconds = t.elapsed().as_secs_f64();
        let s = cluster::silhouette(
            &x,
            n,
            d,
            &fit.labels,
            Some(opts.silhouette_sample),
            opts.seed,
        );
        scan.push(KChoice {
            k,
            inertia: fit.inertia,
            silhouette: s,
        });
        if best.as_ref().is_none_or(|b| s > b.1) {
            best = Some((fit, s, seconds));
        }
    }
    let (fit, silhouette, fit_seconds) = best.expect("at least one k");
    let other = cluster::kmeans(
        &x,
        n,
        d,
        &KMeansParams {
            k: fit.k,
            seed: opts.seed.wrapping_add(1),
            ..base
        },
    )
    .map_err(cluster_error)?;
    let stability_ari = cluster::adjusted_rand_index(&fit.labels, &other.labels);
    let fit = order_by_size(fit);
    let segments = summarise(&features, &fit);
    Ok(Segmentation {
        features,
        used,
        matrix: x,
        fit,
        scan,
        silhouette,
        stability_ari,
        fit_seconds,
        segments,
    })
}

/// Renumbers the segments by size, largest first, so "segment 0" is the biggest everywhere.
fn order_by_size(mut fit: KMeansFit) -> KMeansFit {
    let sizes = fit.sizes();
    let mut order: Vec<usize> = (0..fit.k).collect();
    order.sort_by_key(|&j| (std::cmp::Reverse(sizes[j]), j));
    let mut rank = vec![0; fit.k];
    for (r, &j) in order.iter().enumerate() {
        rank[j] = r;
    }
    let d = fit.dim;
    let mut centroids = vec![0.0; fit.centroids.len()];
    for (j, &r) in rank.iter().enumerate() {
        centroids[r * d..(r + 1) * d].copy_from_slice(&fit.centroids[j * d..(j + 1) * d]);
    }
    fit.centroids = centroids;
    fit.labels.iter_mut().for_each(|l| *l = rank[*l]);
    fit
}

fn summarise(f: &ShapeFeatures, fit: &KMeansFit) -> Vec<SegmentSummary> {
    let n = f.rows.len();
    let overall = column_means(f, &(0..n).collect::<Vec<_>>());
    let mut segments: Vec<SegmentSummary> = (0..fit.k)
        .map(|j| {
            let members: Vec<usize> = (0..n).filter(|&i| fit.labels[i] == j).collect();
            let means = column_means(f, &members);
            let kwh = members.iter().map(|&i| f.mean_daily_kwh[i]).sum::<f64>()
                / members.len().max(1) as f64;
            let mut classes: HashMap<&str, usize> = HashMap::new();
            for &i in &members {
                if let Some(c) = &f.class[i] {
                    *classes.entry(c.as_str()).or_default() += 1;
                }
            }
            let main_class = classes
                .into_iter()
                .max_by_key(|&(c, k)| (k, std::cmp::Reverse(c)))
                .map(|(c, k)| (c.to_string(), k as f64 / members.len().max(1) as f64));
            let name = describe(f, &means, &overall, kwh, main_class.as_ref());
            SegmentSummary {
                segment: j,
                name,
                size: members.len(),
                share: members.len() as f64 / n.max(1) as f64,
                means,
                mean_daily_kwh: kwh,
                main_class,
            }
        })
        .collect();
    // Two segments with the same words get the feature that sets each apart.
    let repeated: Vec<bool> = segments
        .iter()
        .map(|a| segments.iter().filter(|b| b.name == a.name).count() > 1)
        .collect();
    for (j, _) in repeated.iter().enumerate().filter(|r| *r.1) {
        {
            let extra = distinguishing(f, &segments[j].means, &overall, 1);
            if let Some(t) = extra.first() {
                segments[j].name = format!("{}; {t}", segments[j].name);
            }
        }
    }
    segments
}

fn column_means(f: &ShapeFeatures, members: &[usize]) -> Vec<f64> {
    (0..f.names.len())
        .map(|j| {
            let vals: Vec<f64> = members
                .iter()
                .map(|&i| f.rows[i][j])
                .filter(|v| v.is_finite())
                .collect();
            if vals.is_empty() {
                f64::NAN
            } else {
                vals.iter().sum::<f64>() / vals.len() as f64
            }
        })
        .collect()
}

const BLOCK_NAMES: [&str; 8] = [
    "night",
    "early-morning",
    "morning",
    "midday",
    "afternoon",
    "late-afternoon",
    "evening",
    "late-evening",
];

/// A segment's name from its mean features: when it peaks, whether it rests at weekends, which
/// season is heavier, how big, and who mostly belongs to it.
fn describe(
    f: &ShapeFeatures,
    means: &[f64],
    overall: &[f64],
    kwh: f64,
    class: Option<&(String, f64)>,
) -> String {
    let get = |name: &str| f.column(name).map(|j| means[j]).filter(|v| v.is_finite());
    let base = |name: &str| f.column(name).map(|j| overall[j]).filter(|v| v.is_finite());
    let mut words: Vec<String> = Vec::new();
    // Daily shape (interval data).
    let blocks: Vec<f64> = (0..8).filter_map(|b| get(&format!("block{b}"))).collect();
    if blocks.len() == 8 {
        let (peak, &top) = blocks
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .expect("eight blocks");
        let low = blocks.iter().copied().fold(f64::INFINITY, f64::min);
        words.push(if top < 1.6 * low.max(1e-9) && top < 1.3 {
            "round-the-clock".to_string()
        } else {
            format!("{}-peak", BLOCK_NAMES[peak])
        });
    }
    // Peakiness (daily data with half-hourly peaks).
    if let (Some(p), Some(pb)) = (get("peak_ratio"), base("peak_ratio")) {
        if p > pb * 1.15 {
            words.push("peaky".into());
        } else if p < pb * 0.85 {
            words.push("flat".into());
        }
    }
    let rest = get("rest_day_ratio").or_else(|| {
        let wd: Vec<f64> = ["mon", "tue", "wed", "thu", "fri"]
            .iter()
            .filter_map(|d| get(d))
            .collect();
        let we: Vec<f64> = ["sat", "sun"].iter().filter_map(|d| get(d)).collect();
        (wd.len() == 5 && we.len() == 2)
            .then(|| we.iter().sum::<f64>() / 2.0 / (wd.iter().sum::<f64>() / 5.0))
    });
    if let Some(r) = rest {
        if r < 0.7 {
            words.push("working-days-only".into());
        } else if r > 1.08 {
            words.push("home-at-weekends".into());
        } else if (0.92..=1.08).contains(&r) && blocks.len() == 8 {
            words.push("7-day".into());
        }
    }
    let season = |names: &[&str]| -> Option<f64> {
        let v: Vec<f64> = names.iter().filter_map(|m| get(m)).collect();
        (v.len() == names.len()).then(|| v.iter().sum::<f64>() / v.len() as f64)
    };
    let summer = get("summer_ratio").or_else(|| season(&["jun", "jul", "aug"]));
    let winter = get("winter_ratio").or_else(|| season(&["dec", "jan", "feb"]));
    match (summer, winter) {
        (Some(s), Some(w)) if w > s * 1.25 && w > 1.1 => words.push("winter-heavy".into()),
        (Some(s), Some(w)) if s > w * 1.15 && s > 1.05 => words.push("summer-heavy".into()),
        (Some(_), Some(_)) => words.push("steady through the year".into()),
        (Some(s), None) if s > 1.1 => words.push("summer-heavy".into()),
        (None, Some(w)) if w > 1.1 => words.push("winter-heavy".into()),
        _ => {}
    }
    let who = match class {
        Some((c, share)) if *share >= 0.6 => match c.as_str() {
            "residential" => "households".to_string(),
            "commercial" => "businesses".to_string(),
            "industrial" => "industrial sites".to_string(),
            other => other.to_string(),
        },
        _ => match base("log_kwh").map(f64::exp_m1) {
            Some(all) if kwh > all * 1.5 => "high-use customers".to_string(),
            Some(all) if kwh < all / 1.5 => "low-use customers".to_string(),
            Some(_) => "mid-use customers".to_string(),
            None => "customers".to_string(),
        },
    };
    let level = if kwh.is_finite() {
        format!(" ({kwh:.1} kWh/day)")
    } else {
        String::new()
    };
    if words.is_empty() {
        // Features without known meaning: name the two that set the segment apart most.
        let traits = distinguishing(f, means, overall, 2);
        if traits.is_empty() {
            format!("{who}{level}")
        } else {
            format!("{who} with {}{level}", traits.join(", "))
        }
    } else {
        let first = words.remove(0);
        let rest = if words.is_empty() {
            String::new()
        } else {
            format!(", {}", words.join(", "))
        };
        format!("{first} {who}{rest}{level}")
    }
}

/// The `count` features whose segment mean is farthest from the overall mean, in standard
/// deviations: "high peak_ratio (+1.3 sd)".
fn distinguishing(f: &ShapeFeatures, means: &[f64], overall: &[f64], count: usize) -> Vec<String> {
    let mut apart: Vec<(f64, &str)> = (0..f.names.len())
        .filter_map(|j| {
            let vals: Vec<f64> = f
                .rows
                .iter()
                .map(|r| r[j])
                .filter(|v| v.is_finite())
                .collect();
            let n = vals.len() as f64;
            let sd = (vals.iter().map(|v| (v - overall[j]).powi(2)).sum::<f64>() / n).sqrt();
            let z = (means[j] - overall[j]) / sd;
            z.is_finite().then_some((z, f.names[j].as_str()))
        })
        .collect();
    apart.sort_by(|a, b| b.0.abs().total_cmp(&a.0.abs()));
    apart
        .iter()
        .take(count)
        .map(|(z, name)| {
            format!(
                "{} {name} ({z:+.1} sd)",
                if *z > 0.0 { "high" } else { "low" }
            )
        })
        .collect()
}

const DAY_NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const MONTH_NAMES: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];

/// Per household of LCL daily files: the mean of each weekday and month over the household's
/// mean (so 1.0 is average), the mean half-hourly peak and base over the mean half-hour, and
/// ln(1 + mean daily kWh). Only complete days (48 readings) of `year` count; households with
/// fewer than `min_days` of them are left out.
pub fn lcl_features(
    paths: &[&Path],
    year: i32,
    min_days: usize,
) -> Result<ShapeFeatures, JobError> {
    struct Acc {
        days: usize,
        sum: f64,
        dow: [(f64, usize); 7],
        month: [(f64, usize); 12],
        peak: f64,
        base: f64,
    }
    let mut by_id: HashMap<String, Acc> = HashMap::new();
    for path in paths {
        each_lcl_row(
            path,
            [
                "LCLid",
                "day",
                "energy_sum",
                "energy_max",
                "energy_min",
                "energy_count",
            ],
            |_, day, cells, &[id_c, _, sum_c, max_c, min_c, count_c]| {
                let (y, m, _) = civil_from_days(day);
                if y != i64::from(year) || cells[count_c].trim().parse::<f64>().ok() != Some(48.0) {
                    return Ok(());
                }
                let num = |c: usize| {
                    cells[c]
                        .trim()
                        .parse::<f64>()
                        .ok()
                        .filter(|v| v.is_finite() && *v >= 0.0)
                };
                let (Some(sum), Some(max), Some(min)) = (num(sum_c), num(max_c), num(min_c)) else {
                    return Ok(());
                };
                if sum <= 0.0 {
                    return Ok(());
                }
                let acc = by_id
                    .entry(cells[id_c].trim().to_string())
                    .or_insert_with(|| Acc {
                        days: 0,
                        sum: 0.0,
                        dow: [(0.0, 0); 7],
                        month: [(0.0, 0); 12],
                        peak: 0.0,
                        base: 0.0,
                    });
                acc.days += 1;
                acc.sum += sum;
                // 1970-01-01 was a Thursday.
                let dow = (day + 3).rem_euclid(7) as usize;
                acc.dow[dow].0 += sum;
                acc.dow[dow].1 += 1;
                acc.month[(m - 1) as usize].0 += sum;
                acc.month[(m - 1) as usize].1 += 1;
                acc.peak += max * 48.0 / sum;
                acc.base += min * 48.0 / sum;
                Ok(())
            },
        )?;
    }
    let mut ids: Vec<String> = by_id
        .iter()
        .filter(|(_, a)| a.days >= min_days)
        .map(|(id, _)| id.clone())
        .collect();
    ids.sort();
    let mut names: Vec<String> = DAY_NAMES.iter().map(|s| s.to_string()).collect();
    names.extend(MONTH_NAMES.iter().map(|s| s.to_string()));
    names.extend(["peak_ratio", "base_ratio", "log_kwh"].map(String::from));
    let mut out = ShapeFeatures {
        names,
        ..ShapeFeatures::default()
    };
    for id in ids {
        let a = &by_id[&id];
        let mean = a.sum / a.days as f64;
        let ratio = |(s, c): (f64, usize)| {
            if c == 0 {
                f64::NAN
            } else {
                s / c as f64 / mean
            }
        };
        let mut row: Vec<f64> = a.dow.iter().map(|&p| ratio(p)).collect();
        row.extend(a.month.iter().map(|&p| ratio(p)));
        row.push(a.peak / a.days as f64);
        row.push(a.base / a.days as f64);
        row.push(mean.ln_1p());
        out.rows.push(row);
        out.mean_daily_kwh.push(mean);
        out.class.push(None);
        out.ids.push(id);
    }
    if out.ids.is_empty() {
        return Err(JobError::invalid(
            "--input",
            format!("no household has {min_days} complete days in {year}"),
        ));
    }
    Ok(out)
}

/// Reads any customer feature table: a CSV whose first column (or the one named `id`) is the
/// customer and every other column a number (empty = missing). For segmenting on features
/// computed elsewhere, and for benchmarks.
pub fn read_feature_csv(path: &Path) -> Result<ShapeFeatures, JobError> {
    let (header, it) = crate::theft::read_header(path)?;
    let id_c = header.iter().position(|h| h == "id").unwrap_or(0);
    if header.len() < 2 {
        return Err(line_err(
            path,
            1,
            "need an id column and at least one feature column",
        ));
    }
    let names: Vec<String> = header
        .iter()
        .enumerate()
        .filter(|&(j, _)| j != id_c)
        .map(|(_, h)| h.clone())
        .collect();
    let mut out = ShapeFeatures {
        names,
        ..ShapeFeatures::default()
    };
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (n, line) in it {
        let line = line.map_err(|e| line_err(path, n, e.to_string()))?;
        if line.trim().is_empty() {
            continue;
        }
        let cells: Vec<&str> = line.split(',').collect();
        if cells.len() != header.len() {
            return Err(line_err(
                path,
                n,
                format!(
                    "{} fields where the header has {}",
                    cells.len(),
                    header.len()
                ),
            ));
        }
        let id = cells[id_c].trim().to_string();
        if let Some(first) = seen.insert(id.clone(), n) {
            return Err(line_err(
                path,
                n,
                format!("`{id}` already appeared on line {first}"),
            ));
        }
        let mut row = Vec::with_capacity(header.len() - 1);
        for (j, cell) in cells.iter().enumerate().filter(|&(j, _)| j != id_c) {
            let c = cell.trim();
            row.push(if c.is_empty() {
                f64::NAN
            } else {
                c.parse::<f64>()
                    .ok()
                    .filter(|v| v.is_finite())
                    .ok_or_else(|| {
                        line_err(path, n, format!("{} `{c}` is not a number", header[j]))
                    })?
            });
        }
        out.ids.push(id);
        out.rows.push(row);
        out.mean_daily_kwh.push(f64::NAN);
        out.class.push(None);
    }
    if out.ids.is_empty() {
        return Err(line_err(path, 1, "no rows under the header"));
    }
    Ok(out)
}

/// Per customer of the lake: the working-day profile in eight local 3-hour blocks (each block's
/// mean over the working-day mean block, so 1.0 is flat), rest-day over working-day energy,
/// summer (June–September) and winter (December–February) daily energy over the customer's
/// mean, and ln(1 + mean daily kWh). Uses validated readings when VEE has run. Customers with
/// fewer than `min_days` days of readings are left out.
pub fn lake_features(q: &Query, min_days: usize) -> Result<ShapeFeatures, JobError> {
    let view = if crate::daily::has_validated(q)? {
        "validated_local"
    } else {
        "readings_local"
    };
    let calendar = crate::billing::holidays(q)?;
    struct Acc {
        days: HashMap<i64, [f64; 8]>,
    }
    let mut by_meter: HashMap<String, Acc> = HashMap::new();
    crate::intraday::for_each_block(q, view, |m, d, k, v| {
        let acc = by_meter.entry(m.to_string()).or_insert_with(|| Acc {
            days: HashMap::new(),
        });
        acc.days.entry(d).or_insert([f64::NAN; 8])[k] = v;
    })?;
    if by_meter.is_empty() {
        return Err(JobError::invalid(
            "segmentation",
            "the lake has no readings (import readings first)",
        ));
    }
    let mut dims: HashMap<String, (Option<String>, Option<String>)> = HashMap::new();
    for b in q.collect("SELECT meter_id, customer_id, customer_class FROM meter_dims")? {
        let (m, c, k) = (
            strings(&b, "meter_id")?,
            strings(&b, "customer_id")?,
            strings(&b, "customer_class")?,
        );
        for ((m, c), k) in m.into_iter().zip(c).zip(k) {
            if let Some(m) = m {
                dims.insert(m, (c, k));
            }
        }
    }
    let mut meters: Vec<String> = by_meter.keys().cloned().collect();
    meters.sort();
    let mut names: Vec<String> = (0..8).map(|b| format!("block{b}")).collect();
    names.extend(["rest_day_ratio", "summer_ratio", "winter_ratio", "log_kwh"].map(String::from));
    let mut out = ShapeFeatures {
        names,
        ..ShapeFeatures::default()
    };
    for meter in meters {
        let acc = &by_meter[&meter];
        // Only whole days: a day missing a block would bias the profile.
        let days: Vec<(i64, &[f64; 8])> = acc
            .days
            .iter()
            .filter(|(_, b)| b.iter().all(|v| v.is_finite()))
            .map(|(d, b)| (*d, b))
            .collect();
        if days.len() < min_days {
            continue;
        }
        let total = |b: &[f64; 8]| b.iter().sum::<f64>();
        let mean_day = days.iter().map(|(_, b)| total(b)).sum::<f64>() / days.len() as f64;
        if mean_day <= 0.0 {
            continue;
        }
        let working: Vec<&[f64; 8]> = days
            .iter()
            .filter(|(d, _)| calendar.day_type(*d) == DayType::Weekday)
            .map(|(_, b)| *b)
            .collect();
        let rest: Vec<&[f64; 8]> = days
            .iter()
            .filter(|(d, _)| calendar.day_type(*d) == DayType::Holiday)
            .map(|(_, b)| *b)
            .collect();
        let mean_of = |set: &[&[f64; 8]], f: &dyn Fn(&[f64; 8]) -> f64| {
            if set.is_empty() {
                f64::NAN
            } else {
                set.iter().map(|b| f(b)).sum::<f64>() / set.len() as f64
            }
        };
        let work_day = mean_of(&working, &total);
        let mut row: Vec<f64> = (0..8)
            .map(|k| {
                if work_day > 0.0 {
                    mean_of(&working, &|b| b[k]) / (work_day / 8.0)
                } else {
                    f64::NAN
                }
            })
            .collect();
        row.push(mean_of(&rest, &total) / work_day);
        let season = |months: &[u32]| {
            let set: Vec<&[f64; 8]> = days
                .iter()
                .filter(|(d, _)| months.contains(&civil_from_days(*d).1))
                .map(|(_, b)| *b)
                .collect();
            mean_of(&set, &total) / mean_day
        };
        row.push(season(&[6, 7, 8, 9]));
        row.push(season(&[12, 1, 2]));
        row.push(mean_day.ln_1p());
        let (customer, class) = dims.get(&meter).cloned().unwrap_or_default();
        out.ids.push(customer.unwrap_or_else(|| meter.clone()));
        out.rows.push(row);
        out.mean_daily_kwh.push(mean_day);
        out.class.push(class);
    }
    if out.ids.is_empty() {
        return Err(JobError::invalid(
            "segmentation",
            format!("no customer has {min_days} whole days of readings"),
        ));
    }
    Ok(out)
}

/// Replaces the `segments` table with this segmentation in one commit; returns the run id and
/// the lake version.
pub fn store(
    lake: &gridmark_lake::Lake,
    clock: std::sync::Arc<dyn gridmark_core::Clock>,
    seg: &Segmentation,
) -> Result<(String, u64), JobError> {
    use gridmark_core::catalog;
    use gridmark_core::columns::Value;
    let run_id = crate::vee::run_id(clock.now_ms());
    let x = &seg.matrix;
    let d = seg.fit.dim;
    let mut rows = gridmark_core::Rows::new(catalog::table("segments")?);
    for (i, id) in seg.features.ids.iter().enumerate() {
        let j = seg.fit.labels[i];
        let dist = x[i * d..(i + 1) * d]
            .iter()
            .zip(seg.fit.centroid(j))
            .map(|(a, b)| (a - b) * (a - b))
            .sum::<f64>()
            .sqrt();
        rows.push(vec![
            id.clone().into(),
            run_id.clone().into(),
            (j as i64).into(),
            seg.segments[j].name.clone().into(),
            Value::Float(dist),
            Value::Float(seg.features.mean_daily_kwh[i]),
        ])?;
    }
    let mut writer = lake.writer(clock)?;
    let old: Vec<String> = writer
        .pending()
        .table("segments")
        .map(|t| t.files.iter().map(|f| f.path.clone()).collect())
        .unwrap_or_default();
    for f in old {
        writer.remove_file("segments", &f);
    }
    gridmark_ingest::store_rows(&mut writer, &rows, &format!("segment:{run_id}"))?;
    let snapshot = writer.commit("segment run")?;
    Ok((run_id, snapshot.version))
}

/// The segmentation as an HTML page: the k scan, a table of segments, and each segment's
/// typical profile (daily blocks for interval data; weekdays and months for daily data).
pub fn html(seg: &Segmentation, title: &str) -> String {
    use crate::html::Page;
    let mut page = Page::new(title);
    page.tiles(&[
        ("customers", seg.features.ids.len().to_string()),
        ("segments", seg.fit.k.to_string()),
        ("silhouette", format!("{:.3}", seg.silhouette)),
        ("stability (ARI)", format!("{:.3}", seg.stability_ari)),
    ]);
    page.h2("Segments");
    let rows: Vec<Vec<String>> = seg
        .segments
        .iter()
        .map(|s| {
            vec![
                s.segment.to_string(),
                s.name.clone(),
                s.size.to_string(),
                format!("{:.1} %", s.share * 100.0),
                format!("{:.1}", s.mean_daily_kwh),
                s.main_class
                    .as_ref()
                    .map_or(String::new(), |(c, sh)| format!("{c} {:.0} %", sh * 100.0)),
            ]
        })
        .collect();
    page.table(
        &[
            "segment",
            "description",
            "customers",
            "share",
            "kWh/day",
            "main class",
        ],
        &rows,
    );
    let f = &seg.features;
    let groups: [(&str, Vec<String>, Vec<String>); 3] = [
        (
            "Working-day profile (block mean ÷ day mean)",
            (0..8).map(|b| format!("block{b}")).collect(),
            (0..8)
                .map(|b| format!("{:02}–{:02} h", b * 3, b * 3 + 3))
                .collect(),
        ),
        (
            "Day-of-week profile (day mean ÷ overall mean)",
            DAY_NAMES.iter().map(|s| s.to_string()).collect(),
            DAY_NAMES.iter().map(|s| s.to_string()).collect(),
        ),
        (
            "Monthly profile (month mean ÷ overall mean)",
            MONTH_NAMES.iter().map(|s| s.to_string()).collect(),
            MONTH_NAMES.iter().map(|s| s.to_string()).collect(),
        ),
    ];
    let labels: Vec<String> = seg
        .segments
        .iter()
        .map(|s| format!("{}: {}", s.segment, s.name))
        .collect();
    for (title, cols, x) in groups {
        let idx: Vec<usize> = cols.iter().filter_map(|c| f.column(c)).collect();
        if idx.len() != cols.len() {
            continue;
        }
        let series: Vec<(&str, Vec<f64>)> = seg
            .segments
            .iter()
            .zip(&labels)
            .map(|(s, l)| (l.as_str(), idx.iter().map(|&j| s.means[j]).collect()))
            .collect();
        page.line_chart(title, &x, &series);
    }
    if seg.scan.len() > 1 {
        page.h2("Choosing k");
        let rows: Vec<Vec<String>> = seg
            .scan
            .iter()
            .map(|c| {
                vec![
                    c.k.to_string(),
                    format!("{:.1}", c.inertia),
                    format!("{:.3}", c.silhouette),
                ]
            })
            .collect();
        page.table(&["k", "inertia", "silhouette"], &rows);
    }
    page.finish()
}

/// Reads known groups from a CSV with a `customer_id` (or `id`) column and `label_col`, for
/// comparing segments with them (e.g. the demo's planted archetypes).
pub fn read_labels(path: &Path, label_col: &str) -> Result<HashMap<String, String>, JobError> {
    let (header, it) = crate::theft::read_header(path)?;
    let find = |name: &str| header.iter().position(|h| h == name);
    let id_c = find("customer_id")
        .or_else(|| find("id"))
        .ok_or_else(|| line_err(path, 1, "no `customer_id` or `id` column in the header"))?;
    let label_c = find(label_col)
        .ok_or_else(|| line_err(path, 1, format!("no `{label_col}` column in the header")))?;
    let mut out = HashMap::new();
    for (n, line) in it {
        let line = line.map_err(|e| line_err(path, n, e.to_string()))?;
        if line.trim().is_empty() {
            continue;
        }
        let cells: Vec<&str> = line.split(',').collect();
        let (Some(id), Some(label)) = (cells.get(id_c), cells.get(label_c)) else {
            return Err(line_err(path, n, "too few fields"));
        };
        if out
            .insert(id.trim().to_string(), label.trim().to_string())
            .is_some()
        {
            return Err(line_err(path, n, format!("`{}` appears twice", id.trim())));
        }
    }
    Ok(out)
}

/// Adjusted Rand index of the segments against known labels, over the customers that have one;
/// returns the index and how many customers were compared.
pub fn agreement(seg: &Segmentation, labels: &HashMap<String, String>) -> (f64, usize) {
    let mut codes: HashMap<&str, usize> = HashMap::new();
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for (id, &l) in seg.features.ids.iter().zip(&seg.fit.labels) {
        if let Some(t) = labels.get(id) {
            let next = codes.len();
            b.push(*codes.entry(t.as_str()).or_insert(next));
            a.push(l);
        }
    }
    (cluster::adjusted_rand_index(&a, &b), a.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn features(rows: Vec<Vec<f64>>, names: &[&str]) -> ShapeFeatures {
        let n = rows.len();
        ShapeFeatures {
            ids: (0..n).map(|i| format!("C{i}")).collect(),
            names: names.iter().map(|s| s.to_string()).collect(),
            rows,
            mean_daily_kwh: vec![10.0; n],
            class: vec![None; n],
        }
    }

    #[test]
    fn standardise_fills_missing_and_drops_constant_columns() {
        let f = features(
            vec![
                vec![1.0, 5.0, f64::NAN],
                vec![3.0, 5.0, 2.0],
                vec![5.0, 5.0, 4.0],
            ],
            &["a", "b", "c"],
        );
        let (x, used) = standardise(&f);
        assert_eq!(used, vec![0, 2]);
        // a: mean 3, sd sqrt(8/3); c: mean 3, sd 1, missing → 0.
        let sd = (8.0f64 / 3.0).sqrt();
        let want = [-2.0 / sd, 0.0, 0.0, -1.0, 2.0 / sd, 1.0];
        for (g, w) in x.iter().zip(want) {
            assert!((g - w).abs() < 1e-12, "{x:?}");
        }
    }

    #[test]
    fn one_wild_customer_is_clipped_not_given_a_cluster() {
        // 999 customers at 0..1, one at 1000: after clipping it sits at the 99.5 % quantile.
        let mut rows: Vec<Vec<f64>> = (0..999).map(|i| vec![i as f64 / 999.0]).collect();
        rows.push(vec![1000.0]);
        let (x, _) = standardise(&features(rows, &["a"]));
        let max = x.iter().copied().fold(f64::MIN, f64::max);
        assert!(max < 2.0, "the outlier's z-score {max}");
    }

    #[test]
    fn evening_and_daytime_profiles_separate_and_are_named() {
        let evening = [0.5, 0.3, 0.8, 0.8, 0.8, 1.2, 2.2, 1.4];
        let daytime = [0.2, 0.2, 1.2, 2.1, 2.0, 1.6, 0.5, 0.3];
        let mut rows = Vec::new();
        for i in 0..40 {
            let jitter = (i % 5) as f64 * 0.01;
            let (shape, rest, summer, winter) = if i < 25 {
                (evening, 1.05, 1.0, 1.5)
            } else {
                (daytime, 0.3, 1.2, 1.0)
            };
            let mut r: Vec<f64> = shape.iter().map(|v| v + jitter).collect();
            r.extend([rest, summer, winter, 2.0]);
            rows.push(r);
        }
        let mut names: Vec<String> = (0..8).map(|b| format!("block{b}")).collect();
        names.extend(
            ["rest_day_ratio", "summer_ratio", "winter_ratio", "log_kwh"].map(String::from),
        );
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let mut f = features(rows, &refs);
        f.class = (0..40)
            .map(|i| Some(if i < 25 { "residential" } else { "commercial" }.to_string()))
            .collect();
        let seg = segment(
            f,
            &SegmentOptions {
                k: KSpec::Auto { min: 2, max: 4 },
                ..SegmentOptions::default()
            },
            &mut |_| {},
        )
        .unwrap();
        assert_eq!(seg.fit.k, 2);
        assert_eq!(seg.segments[0].size, 25);
        assert_eq!(
            seg.segments[0].name,
            "evening-peak households, 7-day, winter-heavy (10.0 kWh/day)"
        );
        assert_eq!(
            seg.segments[1].name,
            "midday-peak businesses, working-days-only, summer-heavy (10.0 kWh/day)"
        );
        let truth: HashMap<String, String> = (0..40)
            .map(|i| (format!("C{i}"), (i < 25).to_string()))
            .collect();
        assert_eq!(agreement(&seg, &truth), (1.0, 40));
        assert_eq!(seg.stability_ari, 1.0);
    }

    #[test]
    fn too_many_segments_is_an_error() {
        let f = features(vec![vec![1.0], vec![2.0]], &["a"]);
        let err = segment(
            f,
            &SegmentOptions {
                k: KSpec::Fixed(3),
                ..SegmentOptions::default()
            },
            &mut |_| {},
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("cannot make 3..=3 segments of 2"),
            "{err}"
        );
    }
}
