//! Choosing new service-hall sites: maximum coverage. Demand points (customers, weighted by
//! count or consumption) count as covered when a hall lies within `radius_km` (great-circle
//! distance). Given the existing halls, [`max_coverage`] adds `n` sites from the candidates
//! greedily (lazy evaluation, Minoux's accelerated greedy), which is within 1 − 1/e of the
//! optimum; it also returns a data-dependent upper bound on the optimum (Nemhauser et al.,
//! 1978: for any set S, OPT ≤ f(S) + the n largest gains over S), so the gap is known for the
//! instance. [`exact_max_coverage`] tries every combination, for small cases and tests.

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

/// The best `n` candidates by trying every combination (for small cases).
pub fn exact_max_coverage(
    covers: &[Vec<u32>],
    covered: &[bool],
    weight: &[f64],
    n: usize,
) -> (Vec<usize>, f64) {
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
    let mut best = (Vec::new(), f64::MIN);
    walk(0, n, &mut Vec::new(), &mut best, &eval, covers.len());
    best
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
}
