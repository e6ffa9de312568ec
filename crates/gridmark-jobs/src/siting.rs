//! `gridmark siting`: where to open `n` new service halls. Customers with coordinates are the
//! demand, weighted by one each (`customers`) or by their billed kWh of the last 12 months
//! (`kwh`); the existing halls (`service_halls`) already cover theirs. Candidates come from a
//! CSV (`id,lat,lon`) or, by default, from a grid: the centroid of the customers of each cell
//! half a radius wide. See [`gridmark_analytics::siting`] for the method and its bound.

use crate::JobError;
use crate::query::{Query, floats, strings};
use gridmark_analytics::siting::{self, Siting};
use std::collections::HashMap;

/// Most combinations of candidates tried one by one for the exact optimum.
pub const EXACT_LIMIT: f64 = 200_000.0;

/// What each customer weighs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Weight {
    Customers,
    Kwh,
}

/// What the sites are chosen for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Objective {
    /// The most weight within the radius of a hall.
    Coverage,
    /// The least weighted distance to the nearest hall (p-median).
    Median,
}

/// Distance evaluations the exact p-median may spend (combinations × demand × sites).
const MEDIAN_EXACT_WORK: f64 = 2e8;

/// One chosen site.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Site {
    pub rank: usize,
    pub candidate: String,
    pub lat: f64,
    pub lon: f64,
    pub new_customers: usize,
    pub new_kwh: f64,
}

/// The analysis, ready to print or serialise.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SitingReport {
    pub customers: usize,
    pub candidates: usize,
    pub existing_halls: usize,
    pub radius_km: f64,
    pub weight: &'static str,
    /// `coverage` or `median`.
    pub objective: &'static str,
    pub total: f64,
    pub covered_before: f64,
    pub covered_after: f64,
    pub share_before: f64,
    pub share_after: f64,
    pub upper_bound: f64,
    /// Share of the bound the choice may fall short of (0: proven optimal).
    pub gap: f64,
    /// The true optimum, found by trying every combination when there are at most
    /// [`EXACT_LIMIT`] of them.
    pub exact_optimum: Option<f64>,
    /// p-median only: mean distance (km, weighted) from demand to the nearest hall, before
    /// and after; demand points (customers or grid cells of them); improving swaps; whether
    /// every combination was tried (the optimum is proven).
    pub mean_km_before: Option<f64>,
    pub mean_km_after: Option<f64>,
    pub median_demand_points: Option<usize>,
    pub median_swaps: Option<usize>,
    pub median_exact: Option<bool>,
    pub sites: Vec<Site>,
    /// Existing halls (id, lat, lon) for the map.
    pub halls: Vec<(String, f64, f64)>,
    pub seconds: f64,
}

/// Candidate sites: the centroid of the customers in each grid cell `cell_km` wide.
pub fn grid_candidates(points: &[(f64, f64)], cell_km: f64) -> Vec<(String, f64, f64)> {
    let cell_lat = cell_km / 111.0;
    let mean_lat = points.iter().map(|p| p.0).sum::<f64>() / points.len().max(1) as f64;
    let cell_lon = cell_lat / mean_lat.to_radians().cos().max(0.2);
    let mut cells: HashMap<(i64, i64), (f64, f64, usize)> = HashMap::new();
    for p in points {
        let e = cells
            .entry((
                (p.0 / cell_lat).floor() as i64,
                (p.1 / cell_lon).floor() as i64,
            ))
            .or_default();
        e.0 += p.0;
        e.1 += p.1;
        e.2 += 1;
    }
    let mut keys: Vec<(i64, i64)> = cells.keys().copied().collect();
    keys.sort_unstable();
    keys.iter()
        .map(|k| {
            let c = cells[k];
            (
                format!("grid_{}_{}", k.0, k.1),
                c.0 / c.2 as f64,
                c.1 / c.2 as f64,
            )
        })
        .collect()
}

/// Demand points weighted and merged into grid cells `cell_km` wide (weighted centroids).
fn aggregate(points: &[(f64, f64)], w: &[f64], cell_km: f64) -> (Vec<(f64, f64)>, Vec<f64>) {
    let cell_lat = cell_km / 111.0;
    let mean_lat = points.iter().map(|p| p.0).sum::<f64>() / points.len().max(1) as f64;
    let cell_lon = cell_lat / mean_lat.to_radians().cos().max(0.2);
    let mut cells: std::collections::BTreeMap<(i64, i64), (f64, f64, f64, f64)> =
        Default::default();
    for (p, &wi) in points.iter().zip(w) {
        let e = cells
            .entry((
                (p.0 / cell_lat).floor() as i64,
                (p.1 / cell_lon).floor() as i64,
            ))
            .or_default();
        // Zero-weight points still place the cell.
        let k = wi.max(1e-9);
        e.0 += p.0 * k;
        e.1 += p.1 * k;
        e.2 += k;
        e.3 += wi;
    }
    cells
        .values()
        .map(|c| ((c.0 / c.2, c.1 / c.2), c.3))
        .unzip()
}

/// Chooses `n` sites within `radius_km` coverage.
#[allow(clippy::too_many_arguments)]
pub fn choose(
    q: &Query,
    n: usize,
    radius_km: f64,
    weight: Weight,
    objective: Objective,
    candidates: Option<Vec<(String, f64, f64)>>,
    progress: &mut dyn FnMut(&str),
) -> Result<SitingReport, JobError> {
    let started = std::time::Instant::now();
    progress("reading customers, bills and halls…");
    let mut ids: Vec<String> = Vec::new();
    let mut points: Vec<(f64, f64)> = Vec::new();
    q.for_each(
        "SELECT customer_id, lat, lon FROM customers WHERE lat IS NOT NULL AND lon IS NOT NULL \
         AND (close_date IS NULL)",
        |b| {
            let (c, la, lo) = (
                strings(b, "customer_id")?,
                floats(b, "lat")?,
                floats(b, "lon")?,
            );
            for i in 0..b.num_rows() {
                if let (Some(c), Some(la), Some(lo)) = (&c[i], la[i], lo[i])
                    && la.abs() <= 90.0
                    && lo.abs() <= 180.0
                {
                    ids.push(c.clone());
                    points.push((la, lo));
                }
            }
            Ok(())
        },
    )?;
    if points.is_empty() {
        return Err(JobError::invalid(
            "customers",
            "no open customer has coordinates (lat, lon): import them first",
        ));
    }
    let mut kwh: HashMap<String, f64> = HashMap::new();
    q.for_each(
        "SELECT customer_id, sum(kwh) AS kwh FROM bills \
         WHERE issue_date > (SELECT max(issue_date) FROM bills) - INTERVAL '365 days' \
         GROUP BY customer_id",
        |b| {
            let (c, k) = (strings(b, "customer_id")?, floats(b, "kwh")?);
            for i in 0..b.num_rows() {
                if let (Some(c), Some(k)) = (&c[i], k[i]) {
                    kwh.insert(c.clone(), k.max(0.0));
                }
            }
            Ok(())
        },
    )?;
    let customer_kwh: Vec<f64> = ids
        .iter()
        .map(|c| kwh.get(c).copied().unwrap_or(0.0))
        .collect();
    let w: Vec<f64> = match weight {
        Weight::Customers => vec![1.0; ids.len()],
        Weight::Kwh => customer_kwh.clone(),
    };
    let mut halls: Vec<(String, f64, f64)> = Vec::new();
    q.for_each(
        "SELECT hall_id, lat, lon FROM service_halls WHERE lat IS NOT NULL AND lon IS NOT NULL",
        |b| {
            let (h, la, lo) = (strings(b, "hall_id")?, floats(b, "lat")?, floats(b, "lon")?);
            for i in 0..b.num_rows() {
                if let (Some(h), Some(la), Some(lo)) = (&h[i], la[i], lo[i]) {
                    halls.push((h.clone(), la, lo));
                }
            }
            Ok(())
        },
    )?;
    let candidates = candidates.unwrap_or_else(|| grid_candidates(&points, radius_km / 2.0));
    progress(&format!(
        "coverage of {} customers by {} candidates within {radius_km} km…",
        points.len(),
        candidates.len()
    ));
    let sites: Vec<(f64, f64)> = candidates.iter().map(|c| (c.1, c.2)).collect();
    let existing: Vec<(f64, f64)> = halls.iter().map(|h| (h.1, h.2)).collect();
    let (covers, covered) = siting::coverage(&points, &sites, &existing, radius_km);
    progress(&format!("choosing {n} sites…"));
    let mut s: Siting = siting::max_coverage(&covers, &covered, &w, n);
    let combinations = (0..n.min(sites.len())).fold(1.0, |acc, k| {
        acc * (sites.len() - k) as f64 / (k + 1) as f64
    });
    let mut exact_optimum = None;
    let mut median = None;
    match objective {
        Objective::Coverage => {
            exact_optimum = (combinations <= EXACT_LIMIT).then(|| {
                progress(&format!("checking all {combinations:.0} combinations…"));
                siting::exact_max_coverage(&covers, &covered, &w, n).1
            });
        }
        Objective::Median => {
            // Merge customers into ever larger cells until the distance matrix fits.
            let (mut dem, mut dw) = (points.clone(), w.clone());
            let mut cell = radius_km / 8.0;
            while dem.len() * sites.len() > siting::MEDIAN_MATRIX_LIMIT && cell < 1000.0 {
                (dem, dw) = aggregate(&points, &w, cell);
                cell *= 2.0;
            }
            progress(&format!(
                "p-median over {} demand points and {} candidates…",
                dem.len(),
                sites.len()
            ));
            let limit = MEDIAN_EXACT_WORK / (dem.len() * n.max(1)) as f64;
            let m = siting::p_median(&dem, &dw, &sites, &existing, n, limit);
            // The coverage of the p-median choice, for the before/after shares.
            let mut now = covered.clone();
            for &c in &m.chosen {
                for &i in &covers[c] {
                    now[i as usize] = true;
                }
            }
            s.covered_after = (0..now.len()).filter(|&i| now[i]).map(|i| w[i]).sum();
            s.chosen = m.chosen.clone();
            median = Some((m, dem.len()));
        }
    }
    // Customers and kWh each chosen site adds, in order.
    let mut now = covered.clone();
    let chosen = s
        .chosen
        .iter()
        .enumerate()
        .map(|(r, &c)| {
            let mut new_customers = 0;
            let mut new_kwh = 0.0;
            for &i in &covers[c] {
                let i = i as usize;
                if !now[i] {
                    now[i] = true;
                    new_customers += 1;
                    new_kwh += customer_kwh[i];
                }
            }
            Site {
                rank: r + 1,
                candidate: candidates[c].0.clone(),
                lat: candidates[c].1,
                lon: candidates[c].2,
                new_customers,
                new_kwh,
            }
        })
        .collect();
    Ok(SitingReport {
        customers: points.len(),
        candidates: candidates.len(),
        existing_halls: halls.len(),
        radius_km,
        weight: match weight {
            Weight::Customers => "customers",
            Weight::Kwh => "kwh",
        },
        objective: match objective {
            Objective::Coverage => "coverage",
            Objective::Median => "median",
        },
        total: s.total,
        covered_before: s.covered_before,
        covered_after: s.covered_after,
        share_before: s.covered_before / s.total.max(f64::MIN_POSITIVE),
        share_after: s.covered_after / s.total.max(f64::MIN_POSITIVE),
        upper_bound: s.upper_bound,
        gap: s.gap(),
        exact_optimum,
        mean_km_before: median.as_ref().and_then(|(m, _)| {
            (m.cost_before.is_finite() && m.total_weight > 0.0)
                .then(|| m.cost_before / m.total_weight)
        }),
        mean_km_after: median.as_ref().and_then(|(m, _)| {
            (m.cost_after.is_finite() && m.total_weight > 0.0)
                .then(|| m.cost_after / m.total_weight)
        }),
        median_demand_points: median.as_ref().map(|(_, d)| *d),
        median_swaps: median.as_ref().map(|(m, _)| m.swaps),
        median_exact: median.as_ref().map(|(m, _)| m.exact),
        sites: chosen,
        halls,
        seconds: started.elapsed().as_secs_f64(),
    })
}

impl SitingReport {
    /// The chosen sites and the existing halls as a GeoJSON FeatureCollection (lon, lat order).
    pub fn geojson(&self) -> serde_json::Value {
        let mut features: Vec<serde_json::Value> = self
            .sites
            .iter()
            .map(|s| {
                serde_json::json!({"type": "Feature",
                    "geometry": {"type": "Point", "coordinates": [s.lon, s.lat]},
                    "properties": {"kind": "new_site", "rank": s.rank, "candidate": s.candidate,
                        "new_customers": s.new_customers, "new_kwh": s.new_kwh,
                        "radius_km": self.radius_km}})
            })
            .collect();
        features.extend(self.halls.iter().map(|h| {
            serde_json::json!({"type": "Feature",
                "geometry": {"type": "Point", "coordinates": [h.2, h.1]},
                "properties": {"kind": "existing_hall", "hall_id": h.0, "radius_km": self.radius_km}})
        }));
        serde_json::json!({"type": "FeatureCollection", "features": features})
    }
}
