//! Choosing new service-hall sites: maximum coverage. Demand points (customers, weighted by
//! count or consumption) count as covered when a hall lies within `radius_km` (great-circle
//! distance). Given the existing halls, [`max_coverage`] adds `n` sites from the candidates
//! greedily (lazy evaluation, Minoux's accelerated greedy), which is within 1 − 1/e of the
//! optimum; it also returns a data-dependent upper bound on the optimum (Nemhauser et al.,
//! 1978: for any set S, OPT ≤ f(S) + the n largest gains over S), so the gap is known for the
//! instance. [`exact_max_coverage`] tries every combination, for small cases and tests.
//! [`p_median`] instead minimises the weighted distance to the nearest hall (greedy, then
//! vertex interchange; exact by enumeration for small cases).

use std::collections::BinaryHeap;

/// Great-circle distance in km between two (lat, lon) points in degrees.
pub fn haversine_km(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (la1, lo1, la2, lo2) = (
        a.0.to_radians(),
        a.1.to_radians(),
        b.0.to_radians(),
        b.1.to_radians(),
    );
    let h = ((la2 - la1) / 2.0).sin().powi(2)
        + la1.cos() * la2.cos() * ((lo2 - lo1) / 2.0).sin().powi(2);
    2.0 * 6371.0088 * h.sqrt().min(1.0).asin()
}

/// Demand points bucketed on a grid of cells about `radius_km` wide, to find the points near a
/// site without scanning all of them.
struct Grid {
    cell_lat: f64,
    cell_lon: f64,
    cells: std::collections::HashMap<(i64, i64), Vec<u32>>,
}

impl Grid {
    fn new(points: &[(f64, f64)], radius_km: f64) -> Self {
        let mean_lat = points.iter().map(|p| p.0).sum::<f64>() / points.len().max(1) as f64;
        let cell_lat = radius_km / 111.0;
        // Wider cells in longitude away from the equator; capped near the poles.
        let cell_lon = cell_lat / mean_lat.to_radians().cos().max(0.2);
        let mut cells: std::collections::HashMap<(i64, i64), Vec<u32>> = Default::default();
        for (i, p) in points.iter().enumerate() {
            let key = (
                (p.0 / cell_lat).floor() as i64,
                (p.1 / cell_lon).floor() as i64,
            );
            cells.entry(key).or_default().push(i as u32);
        }
        Self {
            cell_lat,
            cell_lon,
            cells,
        }
    }

    /// Points within `radius_km` of `site`.
    fn within(&self, points: &[(f64, f64)], site: (f64, f64), radius_km: f64) -> Vec<u32> {
        let (ci, cj) = (
            (site.0 / self.cell_lat).floor() as i64,
            (site.1 / self.cell_lon).floor() as i64,
        );
        let mut out = Vec::new();
        for di in -1..=1 {
            for dj in -1..=1 {
                if let Some(v) = self.cells.get(&(ci + di, cj + dj)) {
                    out.extend(
                        v.iter()
                            .filter(|&&i| haversine_km(points[i as usize], site) <= radius_km),
                    );
                }
            }
        }
        out.sort_unstable();
        out
    }
}

/// The outcome of choosing sites.
#[derive(Debug, Clone, PartialEq)]
pub struct Siting {
    /// Candidates chosen, in the order picked.
    pub chosen: Vec<usize>,
    /// Weight newly covered by each chosen site, in order.
    pub gains: Vec<f64>,
    /// All demand weight.
    pub total: f64,
    /// Weight covered by the existing halls.
    pub covered_before: f64,
    /// Weight covered with the chosen sites added.
    pub covered_after: f64,
    /// No choice of `n` candidates covers more than this.
    pub upper_bound: f64,
}

impl Siting {
    /// Share of the bound the greedy choice may fall short of (0 = proven optimal).
    pub fn gap(&self) -> f64 {
        if self.upper_bound > 0.0 {
            ((self.upper_bound - self.covered_after) / self.upper_bound).max(0.0)
        } else {
            0.0
        }
    }
}

/// Which demand points each candidate covers, and which the existing halls already cover.
pub fn coverage(
    demand: &[(f64, f64)],
    candidates: &[(f64, f64)],
    existing: &[(f64, f64)],
    radius_km: f64,
) -> (Vec<Vec<u32>>, Vec<bool>) {
    let grid = Grid::new(demand, radius_km);
    let mut covered = vec![false; demand.len()];
    for &h in existing {
        for i in grid.within(demand, h, radius_km) {
            covered[i as usize] = true;
        }
    }
    let covers = candidates
        .iter()
        .map(|&c| grid.within(demand, c, radius_km))
        .collect();
    (covers, covered)
}

fn gain(cover: &[u32], covered: &[bool], weight: &[f64]) -> f64 {
    cover
        .iter()
        .filter(|&&i| !covered[i as usize])
        .map(|&i| weight[i as usize])
        .sum()
}

/// Adds `n` sites greedily. `covers[c]` lists the demand points candidate `c` covers (from
/// [`coverage`]), `covered` those already covered.
pub fn max_coverage(covers: &[Vec<u32>], covered: &[bool], weight: &[f64], n: usize) -> Siting {
    let mut covered = covered.to_vec();
    let total: f64 = weight.iter().sum();
    let before: f64 = (0..weight.len())
        .filter(|&i| covered[i])
        .map(|i| weight[i])
        .sum();
    let top_sum = |gains: &mut Vec<f64>| {
        gains.sort_by(|a, b| b.total_cmp(a));
        gains.iter().take(n).sum::<f64>()
    };
    let mut initial: Vec<f64> = covers.iter().map(|c| gain(c, &covered, weight)).collect();
    // Max-heap of (gain, Reverse(candidate), round the gain was computed in).
    #[derive(PartialEq)]
    struct Entry(f64, std::cmp::Reverse<usize>, usize);
    impl Eq for Entry {}
    impl PartialOrd for Entry {
        fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
            Some(self.cmp(o))
        }
    }
    impl Ord for Entry {
        fn cmp(&self, o: &Self) -> std::cmp::Ordering {
            self.0.total_cmp(&o.0).then(self.1.cmp(&o.1))
        }
    }
    let mut heap: BinaryHeap<Entry> = initial
        .iter()
        .enumerate()
        .map(|(c, &g)| Entry(g, std::cmp::Reverse(c), 0))
        .collect();
    let mut bound = before + top_sum(&mut initial);
    let (mut chosen, mut gains) = (Vec::new(), Vec::new());
    let mut value = before;
    while chosen.len() < n {
        let Some(Entry(g, std::cmp::Reverse(c), round)) = heap.pop() else {
            break;
        };
        if round == chosen.len() {
            if g <= 0.0 {
                break;
            }
            for &i in &covers[c] {
                covered[i as usize] = true;
            }
            chosen.push(c);
            gains.push(g);
            value += g;
        } else {
            // Gains only shrink as coverage grows: recompute and put back.
            heap.push(Entry(
                gain(&covers[c], &covered, weight),
                std::cmp::Reverse(c),
                chosen.len(),
            ));
        }
    }
    let mut last: Vec<f64> = covers.iter().map(|c| gain(c, &covered, weight)).collect();
    bound = bound.min(value + top_sum(&mut last)).max(value);
    Siting {
        chosen,
        gains,
        total,
        covered_before: before,
        covered_after: value,
        upper_bound: bound,
    }
}

/// The combination of `n` of `m` candidates with the highest `eval` (tried one by one).
fn best_combination(m: usize, n: usize, eval: &dyn Fn(&[usize]) -> f64) -> (Vec<usize>, f64) {
    fn walk(
        start: usize,
        left: usize,
        pick: &mut Vec<usize>,
        best: &mut (Vec<usize>, f64),
        eval: &dyn Fn(&[usize]) -> f64,
        m: usize,
    ) {
        if left == 0 || start == m {
            let v = eval(pick);
            if v > best.1 {
                *best = (pick.clone(), v);
            }
            return;
        }
        for c in start..m {
            pick.push(c);
            walk(c + 1, left - 1, pick, best, eval, m);
            pick.pop();
        }
    }
    let mut best = (Vec::new(), f64::MIN);
    walk(0, n, &mut Vec::new(), &mut best, eval, m);
    best
}

/// The best `n` candidates by trying every combination (for small cases).
pub fn exact_max_coverage(
    covers: &[Vec<u32>],
    covered: &[bool],
    weight: &[f64],
    n: usize,
) -> (Vec<usize>, f64) {
    let eval = |pick: &[usize]| {
        let mut cov = covered.to_vec();
        for &c in pick {
            for &i in &covers[c] {
                cov[i as usize] = true;
            }
        }
        (0..weight.len())
            .filter(|&i| cov[i])
            .map(|i| weight[i])
            .sum()
    };
    best_combination(covers.len(), n, &eval)
}

/// The outcome of a p-median choice: the weighted distance from each demand point to its
/// nearest hall, before and after.
#[derive(Debug, Clone, PartialEq)]
pub struct Median {
    /// Candidates chosen.
    pub chosen: Vec<usize>,
    pub total_weight: f64,
    /// Σ weight × distance to the nearest existing hall (infinite when there is none).
    pub cost_before: f64,
    pub cost_after: f64,
    /// Improving swaps made, over all starts.
    pub swaps: usize,
    /// True when every combination was tried.
    pub exact: bool,
}

/// The most entries of the demand × candidate distance matrix [`p_median`] accepts.
pub const MEDIAN_MATRIX_LIMIT: usize = 40_000_000;

/// p-median: adds `n` candidates minimising the weighted distance from every demand point to
/// its nearest hall (existing or new). Greedy addition, then vertex interchange (Teitz and
/// Bart, 1968: swap a chosen site for an unchosen one while the cost falls), which reaches a
/// 1-swap local optimum, repeated from up to 8 seeded random starts when small enough; when `exact_limit` combinations or fewer exist, every combination
/// is tried instead and the optimum is proven. Distances are great-circle km; the demand ×
/// candidate matrix must stay under [`MEDIAN_MATRIX_LIMIT`] entries (aggregate the demand
/// first).
pub fn p_median(
    demand: &[(f64, f64)],
    weight: &[f64],
    candidates: &[(f64, f64)],
    existing: &[(f64, f64)],
    n: usize,
    exact_limit: f64,
) -> Median {
    let (d, m) = (demand.len(), candidates.len());
    let n = n.min(m);
    let dist: Vec<f32> = demand
        .iter()
        .flat_map(|&p| candidates.iter().map(move |&c| haversine_km(p, c) as f32))
        .collect();
    let base: Vec<f64> = demand
        .iter()
        .map(|&p| {
            existing
                .iter()
                .map(|&h| haversine_km(p, h))
                .fold(f64::INFINITY, f64::min)
        })
        .collect();
    let total_weight: f64 = weight.iter().sum();
    let cost_of = |pick: &[usize]| -> f64 {
        (0..d)
            .map(|i| {
                let row = &dist[i * m..(i + 1) * m];
                let near = pick.iter().map(|&c| row[c] as f64).fold(base[i], f64::min);
                weight[i] * near
            })
            .sum()
    };
    let cost_before: f64 = (0..d).map(|i| weight[i] * base[i]).sum();
    let combinations = (0..n).fold(1.0, |acc, k| acc * (m - k) as f64 / (k + 1) as f64);
    if combinations <= exact_limit {
        let (chosen, neg) = best_combination(m, n, &|pick| -cost_of(pick));
        return Median {
            chosen,
            total_weight,
            cost_before,
            cost_after: -neg,
            swaps: 0,
            exact: true,
        };
    }
    // Greedy addition.
    let mut near = base.clone();
    let mut chosen: Vec<usize> = Vec::with_capacity(n);
    for _ in 0..n {
        let mut best = (usize::MAX, f64::INFINITY);
        for c in (0..m).filter(|c| !chosen.contains(c)) {
            let cost: f64 = (0..d)
                .map(|i| weight[i] * near[i].min(dist[i * m + c] as f64))
                .sum();
            if cost < best.1 {
                best = (c, cost);
            }
        }
        if best.0 == usize::MAX {
            break;
        }
        chosen.push(best.0);
        for (i, v) in near.iter_mut().enumerate() {
            *v = v.min(dist[i * m + best.0] as f64);
        }
    }
    // Interchange from the greedy start, then from a few seeded random starts while the work
    // stays small: a 1-swap local optimum can sit a few per cent above the optimum, and
    // another start often escapes it.
    let interchange = |chosen: &mut Vec<usize>| -> (f64, usize) {
        let mut cost = cost_of(chosen);
        let mut swaps = 0;
        for _ in 0..50 {
            let mut best = (0usize, 0usize, cost);
            for k in 0..chosen.len() {
                // Without chosen site k, each point's nearest hall.
                let without: Vec<f64> = (0..d)
                    .map(|i| {
                        chosen
                            .iter()
                            .enumerate()
                            .filter(|(j, _)| *j != k)
                            .map(|(_, &c)| dist[i * m + c] as f64)
                            .fold(base[i], f64::min)
                    })
                    .collect();
                for c in (0..m).filter(|c| !chosen.contains(c)) {
                    let v: f64 = (0..d)
                        .map(|i| weight[i] * without[i].min(dist[i * m + c] as f64))
                        .sum();
                    if v < best.2 - 1e-9 * cost.abs().max(1.0) {
                        best = (k, c, v);
                    }
                }
            }
            if best.2 >= cost {
                break;
            }
            chosen[best.0] = best.1;
            cost = best.2;
            swaps += 1;
        }
        (cost, swaps)
    };
    let (mut cost, mut swaps) = interchange(&mut chosen);
    let restarts = (2e8 / (d * m * n.max(1)).max(1) as f64).min(8.0) as usize;
    let mut rng = crate::rng::Rng::new(0x5eed);
    for _ in 0..restarts {
        let mut all: Vec<usize> = (0..m).collect();
        rng.shuffle(&mut all);
        let mut start: Vec<usize> = all[..n].to_vec();
        let (c, s) = interchange(&mut start);
        swaps += s;
        if c < cost {
            (cost, chosen) = (c, start);
        }
    }
    Median {
        chosen,
        total_weight,
        cost_before,
        cost_after: cost,
        swaps,
        exact: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn haversine_matches_a_known_distance() {
        // Beijing to Shanghai, about 1,067 km.
        let d = haversine_km((39.9042, 116.4074), (31.2304, 121.4737));
        assert!((d - 1067.0).abs() < 5.0, "{d}");
    }

    #[test]
    fn the_obvious_site_is_chosen() {
        // A town of 50 customers around (30.0, 120.0), 10 around (30.3, 120.0) near an
        // existing hall, and 5 in a village far away.
        let mut demand = Vec::new();
        for i in 0..50 {
            demand.push((
                30.0 + (i % 7) as f64 * 0.001,
                120.0 + (i / 7) as f64 * 0.001,
            ));
        }
        for i in 0..10 {
            demand.push((30.3 + i as f64 * 0.001, 120.0));
        }
        for i in 0..5 {
            demand.push((31.0, 121.0 + i as f64 * 0.001));
        }
        let candidates = [
            (30.3, 120.0),
            (30.003, 120.003),
            (31.0, 121.002),
            (30.5, 120.5),
        ];
        let existing = [(30.301, 120.0)];
        let weight = vec![1.0; demand.len()];
        let (covers, covered) = coverage(&demand, &candidates, &existing, 3.0);
        let s = max_coverage(&covers, &covered, &weight, 2);
        assert_eq!(s.chosen, vec![1, 2]);
        assert_eq!(s.covered_before, 10.0);
        assert_eq!(s.covered_after, 65.0);
        assert_eq!(s.gains, vec![50.0, 5.0]);
        assert_eq!(s.gap(), 0.0);
        let (best, v) = exact_max_coverage(&covers, &covered, &weight, 2);
        assert_eq!((best, v), (vec![1, 2], 65.0));
    }

    #[test]
    fn greedy_is_within_its_bound_on_random_cases() {
        let mut rng = crate::rng::Rng::new(3);
        for _ in 0..20 {
            let demand: Vec<(f64, f64)> = (0..60)
                .map(|_| (30.0 + rng.uniform() * 0.2, 120.0 + rng.uniform() * 0.2))
                .collect();
            let candidates: Vec<(f64, f64)> = (0..9)
                .map(|_| (30.0 + rng.uniform() * 0.2, 120.0 + rng.uniform() * 0.2))
                .collect();
            let weight: Vec<f64> = (0..60).map(|_| 1.0 + rng.uniform()).collect();
            let (covers, covered) = coverage(&demand, &candidates, &[], 4.0);
            let s = max_coverage(&covers, &covered, &weight, 3);
            let (_, opt) = exact_max_coverage(&covers, &covered, &weight, 3);
            assert!(s.covered_after <= opt + 1e-9);
            assert!(
                opt <= s.upper_bound + 1e-9,
                "{opt} > bound {}",
                s.upper_bound
            );
            assert!(s.covered_after >= (1.0 - 1.0 / std::f64::consts::E) * opt - 1e-9);
        }
    }

    #[test]
    fn p_median_puts_the_hall_in_the_middle_of_two_towns() {
        // Two towns on a meridian: 100 customers at 0.0, 300 at 0.1 degrees; the candidates
        // lie between; one hall is best at the bigger town (a median, not a mean).
        let mut demand = vec![(30.0, 120.0); 100];
        demand.extend(vec![(30.1, 120.0); 300]);
        let w = vec![1.0; demand.len()];
        let cands: Vec<(f64, f64)> = (0..=10).map(|k| (30.0 + 0.01 * k as f64, 120.0)).collect();
        let m = p_median(&demand, &w, &cands, &[], 1, 0.0);
        assert_eq!(m.chosen, vec![10]);
        assert!(m.cost_before.is_infinite());
        let km = haversine_km((30.0, 120.0), (30.1, 120.0));
        assert!(
            (m.cost_after - 100.0 * km).abs() < 1e-3 * km,
            "{}",
            m.cost_after
        );
        let exact = p_median(&demand, &w, &cands, &[], 1, 1e9);
        assert!(exact.exact);
        assert_eq!(exact.chosen, vec![10]);
    }

    #[test]
    fn interchange_matches_the_exact_optimum_on_random_cases() {
        let mut rng = crate::rng::Rng::new(7);
        let mut worst: f64 = 0.0;
        for case in 0..15 {
            let demand: Vec<(f64, f64)> = (0..120)
                .map(|_| (30.0 + 0.2 * rng.uniform(), 120.0 + 0.2 * rng.uniform()))
                .collect();
            let w: Vec<f64> = (0..120).map(|_| 1.0 + 9.0 * rng.uniform()).collect();
            let cands: Vec<(f64, f64)> = (0..18)
                .map(|_| (30.0 + 0.2 * rng.uniform(), 120.0 + 0.2 * rng.uniform()))
                .collect();
            let existing = if case % 2 == 0 {
                vec![(30.05, 120.05)]
            } else {
                vec![]
            };
            let heuristic = p_median(&demand, &w, &cands, &existing, 3, 0.0);
            let exact = p_median(&demand, &w, &cands, &existing, 3, 1e9);
            assert!(exact.exact && !heuristic.exact);
            assert!(heuristic.cost_after >= exact.cost_after - 1e-6);
            worst = worst.max(heuristic.cost_after / exact.cost_after - 1.0);
        }
        assert!(
            worst < 0.02,
            "interchange within 2 % of the optimum, worst {worst}"
        );
    }
}
