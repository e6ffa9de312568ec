//! k-means clustering (greedy k-means++ seeding, several restarts, Hamerly's bounds), the
//! silhouette for choosing k, and the adjusted Rand index for comparing two partitions.
//!
//! Points are rows of a row-major `n × d` slice. Restarts run on up to two threads; each has
//! its own generator derived from the seed, so a fit reproduces whatever the thread count.

use crate::rng::Rng;

/// How to fit k-means.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KMeansParams {
    pub k: usize,
    /// Independent seedings; the fit with the lowest inertia wins (scikit-learn's `n_init`).
    pub restarts: usize,
    pub max_iter: usize,
    /// Stop when the centroids' total squared move falls under `tol ×` the mean per-feature
    /// variance (scikit-learn's rule), or when no point changes cluster.
    pub tol: f64,
    pub seed: u64,
}

impl KMeansParams {
    pub fn new(k: usize) -> Self {
        KMeansParams {
            k,
            restarts: 10,
            max_iter: 300,
            tol: 1e-4,
            seed: 42,
        }
    }
}

/// A fitted partition.
#[derive(Debug, Clone, PartialEq)]
pub struct KMeansFit {
    pub k: usize,
    pub dim: usize,
    /// `k × dim`, row-major.
    pub centroids: Vec<f64>,
    pub labels: Vec<usize>,
    /// Sum of squared distances of the points to their centroid.
    pub inertia: f64,
    /// Lloyd iterations of the winning restart.
    pub iterations: usize,
    /// Inertia of every restart, in restart order.
    pub restart_inertia: Vec<f64>,
}

impl KMeansFit {
    pub fn centroid(&self, j: usize) -> &[f64] {
        &self.centroids[j * self.dim..(j + 1) * self.dim]
    }

    pub fn sizes(&self) -> Vec<usize> {
        let mut s = vec![0; self.k];
        for &l in &self.labels {
            s[l] += 1;
        }
        s
    }

    /// The nearest centroid of a new point.
    pub fn assign(&self, point: &[f64]) -> usize {
        nearest(point, &self.centroids, self.dim).0
    }
}

/// Why a fit could not run.
#[derive(Debug, Clone, PartialEq)]
pub enum ClusterError {
    Shape(String),
    NonFinite { row: usize, col: usize },
}

impl std::fmt::Display for ClusterError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClusterError::Shape(m) => f.write_str(m),
            ClusterError::NonFinite { row, col } => {
                write!(f, "row {row}, feature {col} is not a finite number")
            }
        }
    }
}

impl std::error::Error for ClusterError {}

fn sq_dist(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

/// Index and squared distance of the closest centroid.
fn nearest(p: &[f64], centroids: &[f64], d: usize) -> (usize, f64) {
    let mut best = (0, f64::INFINITY);
    for (j, c) in centroids.chunks_exact(d).enumerate() {
        let dist = sq_dist(p, c);
        if dist < best.1 {
            best = (j, dist);
        }
    }
    best
}

fn check(x: &[f64], n: usize, d: usize, k: usize) -> Result<(), ClusterError> {
    if d == 0 || x.len() != n * d {
        return Err(ClusterError::Shape(format!(
            "{} values do not make {n} points of {d} features",
            x.len()
        )));
    }
    if k == 0 || k > n {
        return Err(ClusterError::Shape(format!(
            "k = {k} needs between 1 and {n} (the number of points)"
        )));
    }
    if let Some(i) = x.iter().position(|v| !v.is_finite()) {
        return Err(ClusterError::NonFinite {
            row: i / d,
            col: i % d,
        });
    }
    Ok(())
}

/// Fits k-means: the best of `restarts` runs by inertia.
pub fn kmeans(x: &[f64], n: usize, d: usize, p: &KMeansParams) -> Result<KMeansFit, ClusterError> {
    check(x, n, d, p.k)?;
    let tol = p.tol * mean_variance(x, n, d);
    let restarts = p.restarts.max(1);
    let run = |r: usize| {
        let mut rng = Rng::derived(p.seed, r as u64);
        let init = greedy_plus_plus(x, n, d, p.k, &mut rng);
        hamerly(x, n, d, init, p.max_iter, tol)
    };
    let threads = std::thread::available_parallelism().map_or(1, |t| t.get().min(2));
    let results: Vec<(Vec<f64>, Vec<usize>, f64, usize)> = if threads > 1 && restarts > 1 {
        let half: Vec<usize> = (0..restarts).filter(|r| r % 2 == 1).collect();
        std::thread::scope(|s| {
            let other = s.spawn(|| half.iter().map(|&r| (r, run(r))).collect::<Vec<_>>());
            let mut mine: Vec<_> = (0..restarts)
                .filter(|r| r % 2 == 0)
                .map(|r| (r, run(r)))
                .collect();
            mine.extend(other.join().expect("k-means restart thread"));
            mine.sort_by_key(|m| m.0);
            mine.into_iter().map(|m| m.1).collect()
        })
    } else {
        (0..restarts).map(run).collect()
    };
    let restart_inertia: Vec<f64> = results.iter().map(|r| r.2).collect();
    let best = (0..results.len())
        .min_by(|&a, &b| results[a].2.total_cmp(&results[b].2))
        .unwrap_or(0);
    let (centroids, labels, inertia, iterations) =
        results.into_iter().nth(best).unwrap_or_default();
    Ok(KMeansFit {
        k: p.k,
        dim: d,
        centroids,
        labels,
        inertia,
        iterations,
        restart_inertia,
    })
}

fn mean_variance(x: &[f64], n: usize, d: usize) -> f64 {
    let mut total = 0.0;
    for j in 0..d {
        let mean = x.iter().skip(j).step_by(d).sum::<f64>() / n as f64;
        total += x
            .iter()
            .skip(j)
            .step_by(d)
            .map(|v| (v - mean) * (v - mean))
            .sum::<f64>()
            / n as f64;
    }
    total / d as f64
}

/// k-means++ with 2 + ln k candidates per step, keeping the one that lowers the potential most
/// (Arthur & Vassilvitskii's greedy variant, as scikit-learn does).
fn greedy_plus_plus(x: &[f64], n: usize, d: usize, k: usize, rng: &mut Rng) -> Vec<f64> {
    let trials = 2 + (k as f64).ln().floor() as usize;
    let row = |i: usize| &x[i * d..(i + 1) * d];
    let first = rng.below(n);
    let mut centroids = row(first).to_vec();
    let mut closest: Vec<f64> = (0..n).map(|i| sq_dist(row(i), row(first))).collect();
    let mut potential: f64 = closest.iter().sum();
    let mut cumulative = vec![0.0; n];
    // Two buffers swapped between trials, so no candidate allocates a fresh n-vector.
    let mut trial = vec![0.0; n];
    let mut best = vec![0.0; n];
    for _ in 1..k {
        let mut acc = 0.0;
        for (c, v) in cumulative.iter_mut().zip(&closest) {
            acc += v;
            *c = acc;
        }
        let mut best_pot = f64::INFINITY;
        let mut best_candidate = 0;
        for _ in 0..trials {
            let candidate = if potential > 0.0 {
                let r = rng.uniform() * potential;
                cumulative.partition_point(|&c| c <= r).min(n - 1)
            } else {
                rng.below(n)
            };
            let c = row(candidate);
            let mut pot = 0.0;
            for (i, (t, &old)) in trial.iter_mut().zip(&closest).enumerate() {
                *t = old.min(sq_dist(row(i), c));
                pot += *t;
            }
            if pot < best_pot {
                best_pot = pot;
                best_candidate = candidate;
                std::mem::swap(&mut trial, &mut best);
            }
        }
        centroids.extend_from_slice(row(best_candidate));
        std::mem::swap(&mut closest, &mut best);
        potential = best_pot;
    }
    centroids
}

/// Lloyd iterations with Hamerly's two bounds per point: an upper bound on the distance to the
/// assigned centroid and a lower bound on the distance to every other one. A point whose upper
/// bound stays under both its lower bound and half the gap to its centroid's nearest neighbour
/// cannot change cluster, so its distances are not computed at all.
fn hamerly(
    x: &[f64],
    n: usize,
    d: usize,
    mut centroids: Vec<f64>,
    max_iter: usize,
    tol: f64,
) -> (Vec<f64>, Vec<usize>, f64, usize) {
    let k = centroids.len() / d;
    let row = |i: usize| &x[i * d..(i + 1) * d];
    let mut labels = vec![0usize; n];
    let mut upper = vec![0.0f64; n];
    let mut lower = vec![0.0f64; n];
    let full = |p: &[f64], centroids: &[f64]| {
        let (mut a, mut b) = ((0, f64::INFINITY), f64::INFINITY);
        for (j, c) in centroids.chunks_exact(d).enumerate() {
            let dist = sq_dist(p, c);
            if dist < a.1 {
                b = a.1;
                a = (j, dist);
            } else if dist < b {
                b = dist;
            }
        }
        (a.0, a.1.sqrt(), b.sqrt())
    };
    for i in 0..n {
        let (j, u, l) = full(row(i), &centroids);
        labels[i] = j;
        upper[i] = u;
        lower[i] = l;
    }
    let mut sums = vec![0.0; k * d];
    let mut counts = vec![0usize; k];
    let mut iterations = 0;
    for it in 0..max_iter {
        iterations = it + 1;
        // Move every centroid to the mean of its points; an emptied one takes the point
        // farthest from its centroid (its bounds then stay valid: the point sits on it).
        sums.iter_mut().for_each(|s| *s = 0.0);
        counts.iter_mut().for_each(|c| *c = 0);
        for (i, &j) in labels.iter().enumerate() {
            counts[j] += 1;
            for (s, v) in sums[j * d..(j + 1) * d].iter_mut().zip(row(i)) {
                *s += v;
            }
        }
        let mut moved = vec![0.0; k];
        let mut shift_total = 0.0;
        for j in 0..k {
            let new: Vec<f64> = if counts[j] > 0 {
                sums[j * d..(j + 1) * d]
                    .iter()
                    .map(|s| s / counts[j] as f64)
                    .collect()
            } else {
                let far = (0..n)
                    .max_by(|&a, &b| upper[a].total_cmp(&upper[b]))
                    .unwrap_or(0);
                labels[far] = j;
                upper[far] = 0.0;
                lower[far] = 0.0;
                row(far).to_vec()
            };
            let m = sq_dist(&new, &centroids[j * d..(j + 1) * d]);
            shift_total += m;
            moved[j] = m.sqrt();
            centroids[j * d..(j + 1) * d].copy_from_slice(&new);
        }
        let max_move = moved.iter().copied().fold(0.0, f64::max);
        for i in 0..n {
            upper[i] += moved[labels[i]];
            lower[i] -= max_move;
        }
        // Half the distance from each centroid to its nearest other centroid.
        let half_gap: Vec<f64> = (0..k)
            .map(|j| {
                (0..k)
                    .filter(|&o| o != j)
                    .map(|o| {
                        sq_dist(
                            &centroids[j * d..(j + 1) * d],
                            &centroids[o * d..(o + 1) * d],
                        )
                    })
                    .fold(f64::INFINITY, f64::min)
                    .sqrt()
                    / 2.0
            })
            .collect();
        let mut changed = 0usize;
        for i in 0..n {
            let j = labels[i];
            let bound = half_gap[j].max(lower[i]);
            if upper[i] <= bound {
                continue;
            }
            upper[i] = sq_dist(row(i), &centroids[j * d..(j + 1) * d]).sqrt();
            if upper[i] <= bound {
                continue;
            }
            let (nj, u, l) = full(row(i), &centroids);
            if nj != j {
                changed += 1;
            }
            labels[i] = nj;
            upper[i] = u;
            lower[i] = l;
        }
        if changed == 0 || shift_total <= tol {
            break;
        }
    }
    // The assignment step ran after the last move, so every label is already its point's
    // nearest centroid (the bounds guarantee it); only the inertia is left to sum.
    let inertia = labels
        .iter()
        .enumerate()
        .map(|(i, &j)| sq_dist(row(i), &centroids[j * d..(j + 1) * d]))
        .sum();
    (centroids, labels, inertia, iterations)
}

/// Mean silhouette width of a partition, in [-1, 1]. With `sample` set and more points than
/// that, it is computed on a seeded random sample of that many points only (distances among
/// the sample), as scikit-learn's `silhouette_score(sample_size=…)` does, so it stays
/// quadratic in the sample, not in n. Singletons count 0.
pub fn silhouette(
    x: &[f64],
    n: usize,
    d: usize,
    labels: &[usize],
    sample: Option<usize>,
    seed: u64,
) -> f64 {
    let mut idx: Vec<usize> = (0..n).collect();
    if let Some(s) = sample.filter(|&s| s < n) {
        Rng::new(seed).shuffle(&mut idx);
        idx.truncate(s);
    }
    let k = idx.iter().map(|&i| labels[i]).max().map_or(0, |m| m + 1);
    if k < 2 || idx.len() < 2 {
        return 0.0;
    }
    let mut size = vec![0usize; k];
    for &i in &idx {
        size[labels[i]] += 1;
    }
    let row = |i: usize| &x[i * d..(i + 1) * d];
    let mut total = 0.0;
    let mut sums = vec![0.0; k];
    for &i in &idx {
        sums.iter_mut().for_each(|s| *s = 0.0);
        for &o in &idx {
            sums[labels[o]] += sq_dist(row(i), row(o)).sqrt();
        }
        let own = labels[i];
        if size[own] < 2 {
            continue;
        }
        let a = sums[own] / (size[own] - 1) as f64;
        let b = (0..k)
            .filter(|&j| j != own && size[j] > 0)
            .map(|j| sums[j] / size[j] as f64)
            .fold(f64::INFINITY, f64::min);
        if b.is_finite() && a.max(b) > 0.0 {
            total += (b - a) / a.max(b);
        }
    }
    total / idx.len() as f64
}

/// Adjusted Rand index of two labelings of the same points (Hubert & Arabie): 1 for identical
/// partitions up to renaming, about 0 for independent ones.
pub fn adjusted_rand_index(a: &[usize], b: &[usize]) -> f64 {
    assert_eq!(a.len(), b.len(), "two labelings of the same points");
    let n = a.len();
    if n < 2 {
        return 1.0;
    }
    let ka = a.iter().copied().max().unwrap_or(0) + 1;
    let kb = b.iter().copied().max().unwrap_or(0) + 1;
    let mut table = vec![0u64; ka * kb];
    for (&x, &y) in a.iter().zip(b) {
        table[x * kb + y] += 1;
    }
    let pairs = |v: u64| (v * v.saturating_sub(1)) as f64 / 2.0;
    let index: f64 = table.iter().map(|&v| pairs(v)).sum();
    let rows: f64 = (0..ka)
        .map(|i| pairs(table[i * kb..(i + 1) * kb].iter().sum()))
        .sum();
    let cols: f64 = (0..kb)
        .map(|j| pairs((0..ka).map(|i| table[i * kb + j]).sum()))
        .sum();
    let expected = rows * cols / pairs(n as u64);
    let max = (rows + cols) / 2.0;
    if (max - expected).abs() < f64::EPSILON {
        return 1.0;
    }
    (index - expected) / (max - expected)
}

/// One candidate k when choosing k.
#[derive(Debug, Clone, PartialEq)]
pub struct KChoice {
    pub k: usize,
    pub inertia: f64,
    pub silhouette: f64,
}

/// Fits every k in `ks` and returns the fits with their silhouettes (on a sample of at most
/// `sample` points); the caller picks, usually the highest silhouette.
pub fn scan_k(
    x: &[f64],
    n: usize,
    d: usize,
    ks: &[usize],
    base: &KMeansParams,
    sample: usize,
) -> Result<Vec<(KChoice, KMeansFit)>, ClusterError> {
    ks.iter()
        .map(|&k| {
            let fit = kmeans(x, n, d, &KMeansParams { k, ..*base })?;
            let s = silhouette(x, n, d, &fit.labels, Some(sample), base.seed);
            Ok((
                KChoice {
                    k,
                    inertia: fit.inertia,
                    silhouette: s,
                },
                fit,
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Three well-separated blobs of 50 points each in 2-D.
    fn blobs() -> (Vec<f64>, Vec<usize>) {
        let mut rng = Rng::new(7);
        let centres = [(0.0, 0.0), (10.0, 0.0), (0.0, 10.0)];
        let mut x = Vec::new();
        let mut truth = Vec::new();
        for (c, &(cx, cy)) in centres.iter().enumerate() {
            for _ in 0..50 {
                x.push(cx + rng.range(-1.0, 1.0));
                x.push(cy + rng.range(-1.0, 1.0));
                truth.push(c);
            }
        }
        (x, truth)
    }

    #[test]
    fn separable_blobs_are_recovered_exactly() {
        let (x, truth) = blobs();
        let fit = kmeans(&x, 150, 2, &KMeansParams::new(3)).unwrap();
        assert_eq!(adjusted_rand_index(&fit.labels, &truth), 1.0);
        assert_eq!(fit.sizes().iter().filter(|&&s| s == 50).count(), 3);
        // Each centroid is the mean of its blob, so near a true centre.
        for &(cx, cy) in &[(0.0, 0.0), (10.0, 0.0), (0.0, 10.0)] {
            let j = fit.assign(&[cx, cy]);
            let c = fit.centroid(j);
            assert!((c[0] - cx).abs() < 0.3 && (c[1] - cy).abs() < 0.3, "{c:?}");
        }
        let s = silhouette(&x, 150, 2, &fit.labels, None, 1);
        assert!(s > 0.85, "silhouette {s}");
    }

    #[test]
    fn inertia_is_the_sum_of_squared_distances() {
        // Two pairs: {0, 2} and {10, 14}; centroids 1 and 12; inertia 1+1+4+4.
        let x = [0.0, 2.0, 10.0, 14.0];
        let fit = kmeans(&x, 4, 1, &KMeansParams::new(2)).unwrap();
        assert!((fit.inertia - 10.0).abs() < 1e-12, "{}", fit.inertia);
        let mut c: Vec<f64> = fit.centroids.clone();
        c.sort_by(f64::total_cmp);
        assert_eq!(c, vec![1.0, 12.0]);
    }

    #[test]
    fn hamerly_matches_plain_lloyd() {
        // Overlapping blobs make many points move; the bounds must not change the answer.
        let mut rng = Rng::new(3);
        let (n, d) = (400, 3);
        let x: Vec<f64> = (0..n * d).map(|_| rng.range(0.0, 1.0)).collect();
        let init = greedy_plus_plus(&x, n, d, 5, &mut Rng::new(9));
        let (c, labels, inertia, _) = hamerly(&x, n, d, init.clone(), 300, 0.0);
        // Plain Lloyd from the same start.
        let mut cen = init;
        let mut lab = vec![0usize; n];
        for _ in 0..300 {
            let new: Vec<usize> = (0..n)
                .map(|i| nearest(&x[i * d..(i + 1) * d], &cen, d).0)
                .collect();
            if new == lab {
                break;
            }
            lab = new;
            for j in 0..5 {
                let members: Vec<usize> = (0..n).filter(|&i| lab[i] == j).collect();
                for f in 0..d {
                    cen[j * d + f] =
                        members.iter().map(|&i| x[i * d + f]).sum::<f64>() / members.len() as f64;
                }
            }
        }
        assert_eq!(labels, lab);
        let plain: f64 = (0..n)
            .map(|i| nearest(&x[i * d..(i + 1) * d], &cen, d).1)
            .sum();
        assert!((inertia - plain).abs() < 1e-9);
        assert!(c.iter().zip(&cen).all(|(a, b)| (a - b).abs() < 1e-12));
    }

    #[test]
    fn restarts_reproduce_from_the_seed() {
        let (x, _) = blobs();
        let p = KMeansParams {
            seed: 11,
            ..KMeansParams::new(4)
        };
        assert_eq!(
            kmeans(&x, 150, 2, &p).unwrap(),
            kmeans(&x, 150, 2, &p).unwrap()
        );
    }

    #[test]
    fn adjusted_rand_index_by_hand() {
        assert_eq!(adjusted_rand_index(&[0, 0, 1, 1], &[1, 1, 0, 0]), 1.0);
        // sklearn.metrics.adjusted_rand_score([0,0,1,1],[0,0,1,2]) = 0.5714285714285715
        let ari = adjusted_rand_index(&[0, 0, 1, 1], &[0, 0, 1, 2]);
        assert!((ari - 4.0 / 7.0).abs() < 1e-12, "{ari}");
        // ([0,0,0,1,1,1],[0,1,0,1,0,1]): pairs together in both 2, expected 36/15, max 6,
        // so (2 − 2.4) / (6 − 2.4) = −1/9: worse than chance.
        let ari = adjusted_rand_index(&[0, 0, 0, 1, 1, 1], &[0, 1, 0, 1, 0, 1]);
        assert!((ari + 1.0 / 9.0).abs() < 1e-12, "{ari}");
    }

    #[test]
    fn silhouette_by_hand() {
        // Points 0, 1 | 4: a(0)=1, b(0)=4 → 0.75; a(1)=1, b(1)=3 → 2/3; singleton → 0.
        let s = silhouette(&[0.0, 1.0, 4.0], 3, 1, &[0, 0, 1], None, 0);
        assert!((s - (0.75 + 2.0 / 3.0) / 3.0).abs() < 1e-12, "{s}");
    }

    #[test]
    fn silhouette_picks_the_planted_k() {
        let (x, _) = blobs();
        let scan = scan_k(&x, 150, 2, &[2, 3, 4, 5], &KMeansParams::new(2), 1000).unwrap();
        let best = scan
            .iter()
            .max_by(|a, b| a.0.silhouette.total_cmp(&b.0.silhouette))
            .unwrap();
        assert_eq!(best.0.k, 3);
    }

    #[test]
    fn bad_input_is_named() {
        assert!(matches!(
            kmeans(&[1.0, f64::NAN], 1, 2, &KMeansParams::new(1)),
            Err(ClusterError::NonFinite { row: 0, col: 1 })
        ));
        assert!(kmeans(&[1.0, 2.0], 2, 1, &KMeansParams::new(3)).is_err());
        assert!(kmeans(&[1.0, 2.0, 3.0], 2, 2, &KMeansParams::new(1)).is_err());
    }
}
