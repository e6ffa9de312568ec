//! Small-sample statistics for service analytics: confidence intervals for means, proportions
//! and Net Promoter Scores, two-sample tests with a false-discovery-rate control, and
//! empirical-Bayes shrinkage of group means and rates toward their population.

/// The standard normal CDF (Abramowitz–Stegun 7.1.26 on erfc; absolute error < 1.5e-7).
pub fn normal_cdf(z: f64) -> f64 {
    let x = z.abs() / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.327_591_1 * x);
    let poly = t
        * (0.254_829_592
            + t * (-0.284_496_736
                + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    let erfc = poly * (-x * x).exp();
    if z >= 0.0 {
        1.0 - 0.5 * erfc
    } else {
        0.5 * erfc
    }
}

/// Two-sided p-value of a z statistic.
pub fn two_sided_p(z: f64) -> f64 {
    (2.0 * (1.0 - normal_cdf(z.abs()))).clamp(0.0, 1.0)
}

/// The 97.5 % quantile of Student's t with `df` degrees of freedom: the table to 30 (whole
/// degrees, rounded down, so the interval errs wide), then the Cornish–Fisher expansion
/// about the normal quantile (within 0.1 % of the table above 30).
pub fn t975(df: f64) -> f64 {
    const Z: f64 = 1.959_963_985;
    if df.is_nan() || df < 1.0 {
        return f64::NAN;
    }
    // Tables up to 30 degrees of freedom, where the expansion is least accurate.
    const TABLE: [f64; 30] = [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
        2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
        2.052, 2.048, 2.045, 2.042,
    ];
    if df < 31.0 {
        return TABLE[df.floor() as usize - 1];
    }
    let (z3, z5, z7) = (Z.powi(3), Z.powi(5), Z.powi(7));
    Z + (z3 + Z) / (4.0 * df)
        + (5.0 * z5 + 16.0 * z3 + 3.0 * Z) / (96.0 * df * df)
        + (3.0 * z7 + 19.0 * z5 + 17.0 * z3 - 15.0 * Z) / (384.0 * df.powi(3))
}

/// A running mean and variance (Welford), mergeable.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Moments {
    pub n: u64,
    pub mean: f64,
    m2: f64,
}

impl Moments {
    pub fn push(&mut self, x: f64) {
        self.n += 1;
        let d = x - self.mean;
        self.mean += d / self.n as f64;
        self.m2 += d * (x - self.mean);
    }

    /// Sample variance (n − 1); 0 below two values.
    pub fn variance(&self) -> f64 {
        if self.n < 2 {
            0.0
        } else {
            self.m2 / (self.n - 1) as f64
        }
    }

    /// Standard error of the mean.
    pub fn std_error(&self) -> f64 {
        if self.n == 0 {
            f64::NAN
        } else {
            (self.variance() / self.n as f64).sqrt()
        }
    }

    /// 95 % confidence interval of the mean (Student's t); None below two values.
    pub fn ci95(&self) -> Option<(f64, f64)> {
        (self.n >= 2).then(|| {
            let h = t975((self.n - 1) as f64) * self.std_error();
            (self.mean - h, self.mean + h)
        })
    }
}

impl FromIterator<f64> for Moments {
    fn from_iter<I: IntoIterator<Item = f64>>(iter: I) -> Self {
        let mut m = Moments::default();
        for x in iter {
            m.push(x);
        }
        m
    }
}

/// Welch's test that two means differ: (difference b − a, two-sided p). Normal approximation
/// of the t statistic, which is what the sample sizes of a survey programme allow.
pub fn welch(a: &Moments, b: &Moments) -> Option<(f64, f64)> {
    if a.n < 2 || b.n < 2 {
        return None;
    }
    let se = (a.variance() / a.n as f64 + b.variance() / b.n as f64).sqrt();
    let diff = b.mean - a.mean;
    if se <= 0.0 {
        return Some((diff, if diff == 0.0 { 1.0 } else { 0.0 }));
    }
    Some((diff, two_sided_p(diff / se)))
}

/// Wilson score 95 % interval of a proportion `k / n`.
pub fn wilson95(k: u64, n: u64) -> Option<(f64, f64)> {
    if n == 0 {
        return None;
    }
    let z = 1.959_963_985f64;
    let (nf, p) = (n as f64, k as f64 / n as f64);
    let denom = 1.0 + z * z / nf;
    let centre = (p + z * z / (2.0 * nf)) / denom;
    let half = z * (p * (1.0 - p) / nf + z * z / (4.0 * nf * nf)).sqrt() / denom;
    Some(((centre - half).max(0.0), (centre + half).min(1.0)))
}

/// Net Promoter Score counts: promoters answer 9–10, detractors 0–6, passives 7–8.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Nps {
    pub promoters: u64,
    pub passives: u64,
    pub detractors: u64,
}

impl Nps {
    pub fn push(&mut self, answer: i64) {
        match answer {
            9.. => self.promoters += 1,
            7..=8 => self.passives += 1,
            _ => self.detractors += 1,
        }
    }

    pub fn n(&self) -> u64 {
        self.promoters + self.passives + self.detractors
    }

    fn shares(&self) -> Option<(f64, f64, f64)> {
        let n = self.n();
        (n > 0).then(|| {
            let nf = n as f64;
            (self.promoters as f64 / nf, self.detractors as f64 / nf, nf)
        })
    }

    /// % promoters − % detractors, from −100 to 100.
    pub fn score(&self) -> Option<f64> {
        self.shares().map(|(p, d, _)| 100.0 * (p - d))
    }

    /// Standard error of the score (multinomial variance of the promoter − detractor
    /// indicator), in NPS points.
    pub fn std_error(&self) -> Option<f64> {
        self.shares()
            .map(|(p, d, n)| 100.0 * ((p + d - (p - d).powi(2)) / n).sqrt())
    }

    /// 95 % confidence interval, clipped to ±100; None below two answers.
    pub fn ci95(&self) -> Option<(f64, f64)> {
        if self.n() < 2 {
            return None;
        }
        let (s, se) = (self.score()?, self.std_error()?);
        let h = 1.959_963_985 * se.max(100.0 / self.n() as f64);
        Some(((s - h).max(-100.0), (s + h).min(100.0)))
    }

    /// Test that two scores differ: (difference b − a in points, two-sided p).
    pub fn test(a: &Nps, b: &Nps) -> Option<(f64, f64)> {
        if a.n() < 2 || b.n() < 2 {
            return None;
        }
        let diff = b.score()? - a.score()?;
        let se = (a.std_error()?.powi(2) + b.std_error()?.powi(2)).sqrt();
        if se <= 0.0 {
            return Some((diff, if diff == 0.0 { 1.0 } else { 0.0 }));
        }
        Some((diff, two_sided_p(diff / se)))
    }
}

/// Benjamini–Hochberg adjusted p-values (q-values), in the input order.
pub fn benjamini_hochberg(p: &[f64]) -> Vec<f64> {
    let m = p.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &b| p[b].total_cmp(&p[a]));
    let mut q = vec![1.0; m];
    let mut running = 1.0f64;
    for (k, &i) in order.iter().enumerate() {
        let rank = (m - k) as f64;
        running = running.min(p[i] * m as f64 / rank);
        q[i] = running.min(1.0);
    }
    q
}

/// The result of shrinking group estimates toward their population.
#[derive(Debug, Clone, PartialEq)]
pub struct Shrunk {
    /// Population mean the groups are pulled toward.
    pub prior_mean: f64,
    /// Between-group variance of the true group values (method of moments; 0 when the
    /// groups differ no more than sampling noise explains).
    pub between_variance: f64,
    /// Shrunk estimate per group, in the input order.
    pub estimates: Vec<f64>,
    /// Weight on each group's own data (0 = all prior, 1 = all own).
    pub weights: Vec<f64>,
}

/// Empirical-Bayes (normal–normal) shrinkage of group means: each group's mean moves toward
/// the pooled mean by the share of its variance that is sampling noise,
/// `w = τ² / (τ² + σ²/n)`, with the within-group variance σ² pooled over the groups and τ²
/// the between-group variance by the method of moments. Groups with no data get the prior.
pub fn shrink_means(groups: &[Moments]) -> Shrunk {
    let total: u64 = groups.iter().map(|g| g.n).sum();
    if total == 0 {
        return Shrunk {
            prior_mean: f64::NAN,
            between_variance: 0.0,
            estimates: vec![f64::NAN; groups.len()],
            weights: vec![0.0; groups.len()],
        };
    }
    let prior = groups.iter().map(|g| g.mean * g.n as f64).sum::<f64>() / total as f64;
    let (ss_within, df_within) = groups
        .iter()
        .filter(|g| g.n >= 2)
        .fold((0.0, 0u64), |(s, d), g| {
            (s + g.variance() * (g.n - 1) as f64, d + g.n - 1)
        });
    let sigma2 = if df_within > 0 {
        ss_within / df_within as f64
    } else {
        0.0
    };
    let present: Vec<&Moments> = groups.iter().filter(|g| g.n > 0).collect();
    let tau2 = if present.len() >= 2 {
        let k = present.len() as f64;
        let spread = present
            .iter()
            .map(|g| (g.mean - prior).powi(2))
            .sum::<f64>()
            / (k - 1.0);
        let noise = present.iter().map(|g| sigma2 / g.n as f64).sum::<f64>() / k;
        (spread - noise).max(0.0)
    } else {
        0.0
    };
    let weights: Vec<f64> = groups
        .iter()
        .map(|g| {
            if g.n == 0 {
                0.0
            } else if sigma2 == 0.0 {
                1.0
            } else {
                tau2 / (tau2 + sigma2 / g.n as f64)
            }
        })
        .collect();
    let estimates = groups
        .iter()
        .zip(&weights)
        .map(|(g, &w)| w * g.mean + (1.0 - w) * prior)
        .collect();
    Shrunk {
        prior_mean: prior,
        between_variance: tau2,
        estimates,
        weights,
    }
}

/// Empirical-Bayes (beta–binomial) shrinkage of rates `k / n`: a Beta(a, b) prior fitted to
/// the groups by the method of moments, and each group's posterior mean `(k + a) / (n + a + b)`.
/// When the groups differ no more than binomial noise explains, every group gets the pooled
/// rate.
pub fn shrink_rates(counts: &[(u64, u64)]) -> Shrunk {
    let (k_all, n_all) = counts
        .iter()
        .fold((0u64, 0u64), |(k, n), &(a, b)| (k + a, n + b));
    if n_all == 0 {
        return Shrunk {
            prior_mean: f64::NAN,
            between_variance: 0.0,
            estimates: vec![f64::NAN; counts.len()],
            weights: vec![0.0; counts.len()],
        };
    }
    let mu = k_all as f64 / n_all as f64;
    let present: Vec<(f64, f64)> = counts
        .iter()
        .filter(|c| c.1 > 0)
        .map(|&(k, n)| (k as f64 / n as f64, n as f64))
        .collect();
    let tau2 = if present.len() >= 2 {
        let k = present.len() as f64;
        let spread = present.iter().map(|(r, _)| (r - mu).powi(2)).sum::<f64>() / (k - 1.0);
        let noise = present
            .iter()
            .map(|(_, n)| mu * (1.0 - mu) / n)
            .sum::<f64>()
            / k;
        (spread - noise).max(0.0)
    } else {
        0.0
    };
    // Beta prior with mean mu and variance tau2: a + b = mu(1 − mu)/tau2 − 1.
    let strength = if tau2 > 0.0 && mu > 0.0 && mu < 1.0 {
        (mu * (1.0 - mu) / tau2 - 1.0).max(0.0)
    } else {
        f64::INFINITY
    };
    let weights: Vec<f64> = counts
        .iter()
        .map(|&(_, n)| {
            if strength.is_infinite() {
                0.0
            } else {
                n as f64 / (n as f64 + strength)
            }
        })
        .collect();
    let estimates = counts
        .iter()
        .zip(&weights)
        .map(|(&(k, n), &w)| {
            if n == 0 {
                mu
            } else {
                w * (k as f64 / n as f64) + (1.0 - w) * mu
            }
        })
        .collect();
    Shrunk {
        prior_mean: mu,
        between_variance: tau2,
        estimates,
        weights,
    }
}

/// Spearman's rank correlation (average ranks for ties); None below three pairs or when a
/// side is constant.
pub fn spearman(a: &[f64], b: &[f64]) -> Option<f64> {
    if a.len() != b.len() || a.len() < 3 {
        return None;
    }
    let (ra, rb) = (average_ranks(a), average_ranks(b));
    pearson(&ra, &rb)
}

/// Pearson's correlation; None when a side is constant.
pub fn pearson(a: &[f64], b: &[f64]) -> Option<f64> {
    let n = a.len() as f64;
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (x, y) in a.iter().zip(b) {
        sab += (x - ma) * (y - mb);
        saa += (x - ma).powi(2);
        sbb += (y - mb).powi(2);
    }
    (saa > 0.0 && sbb > 0.0).then(|| sab / (saa * sbb).sqrt())
}

/// Ranks from 1, ties sharing their average rank.
pub fn average_ranks(x: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..x.len()).collect();
    order.sort_by(|&i, &j| x[i].total_cmp(&x[j]));
    let mut ranks = vec![0.0; x.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && x[order[j + 1]] == x[order[i]] {
            j += 1;
        }
        let r = (i + j) as f64 / 2.0 + 1.0;
        for &k in &order[i..=j] {
            ranks[k] = r;
        }
        i = j + 1;
    }
    ranks
}

/// The `q`-quantile (0–1) of sorted values by linear interpolation.
pub fn quantile_sorted(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let pos = q.clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    Some(sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    #[test]
    fn normal_cdf_matches_tables() {
        assert!(close(normal_cdf(0.0), 0.5, 1e-7));
        assert!(close(normal_cdf(1.959_964), 0.975, 1e-6));
        assert!(close(normal_cdf(-1.0), 0.158_655_25, 1e-6));
        assert!(close(two_sided_p(2.575_829), 0.01, 1e-5));
    }

    #[test]
    fn t_quantile_matches_tables() {
        for (df, t) in [
            (3.0, 3.182),
            (5.0, 2.571),
            (10.0, 2.228),
            (30.0, 2.042),
            (40.0, 2.021),
            (60.0, 2.000),
            (1000.0, 1.962),
        ] {
            assert!(
                close(t975(df), t, 0.001 * t),
                "df {df}: {} vs {t}",
                t975(df)
            );
        }
    }

    #[test]
    fn moments_and_mean_interval() {
        let m: Moments = [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]
            .into_iter()
            .collect();
        assert_eq!(m.n, 8);
        assert!(close(m.mean, 5.0, 1e-12));
        assert!(close(m.variance(), 32.0 / 7.0, 1e-12));
        let (lo, hi) = m.ci95().unwrap();
        // t(7) = 2.365, se = sqrt(32/7/8)
        let h = 2.365 * (32.0f64 / 56.0).sqrt();
        assert!(
            close(lo, 5.0 - h, 0.02) && close(hi, 5.0 + h, 0.02),
            "{lo} {hi}"
        );
    }

    #[test]
    fn wilson_interval_matches_reference() {
        // 8 of 10: Wilson 95 % interval (0.490, 0.943).
        let (lo, hi) = wilson95(8, 10).unwrap();
        assert!(
            close(lo, 0.490, 0.001) && close(hi, 0.943, 0.001),
            "{lo} {hi}"
        );
        let (lo, hi) = wilson95(0, 20).unwrap();
        assert_eq!(lo, 0.0);
        assert!(close(hi, 0.161, 0.001));
        assert_eq!(wilson95(0, 0), None);
    }

    #[test]
    fn nps_score_interval_and_test() {
        let mut a = Nps::default();
        for x in [10, 9, 9, 8, 7, 6, 3, 10, 9, 0] {
            a.push(x);
        }
        assert_eq!((a.promoters, a.passives, a.detractors), (5, 2, 3));
        assert!(close(a.score().unwrap(), 20.0, 1e-9));
        // se = 100·sqrt((0.5 + 0.3 − 0.04)/10)
        assert!(close(a.std_error().unwrap(), 100.0 * 0.076f64.sqrt(), 1e-9));
        let mut b = Nps::default();
        for _ in 0..400 {
            b.push(10);
        }
        for _ in 0..100 {
            b.push(2);
        }
        let mut c = Nps::default();
        for _ in 0..250 {
            c.push(10);
        }
        for _ in 0..250 {
            c.push(2);
        }
        let (diff, p) = Nps::test(&c, &b).unwrap();
        assert!(close(diff, 60.0, 1e-9));
        assert!(p < 1e-6);
        let (_, p_same) = Nps::test(&b, &b).unwrap();
        assert!(close(p_same, 1.0, 1e-6));
    }

    #[test]
    fn benjamini_hochberg_matches_hand_computation() {
        let q = benjamini_hochberg(&[0.01, 0.04, 0.03, 0.2]);
        // sorted 0.01,0.03,0.04,0.2 → 0.04,0.0533,0.0533,0.2
        let want = [0.04, 0.16 / 3.0, 0.16 / 3.0, 0.2];
        for (a, b) in q.iter().zip(want) {
            assert!(close(*a, b, 1e-12), "{q:?}");
        }
    }

    #[test]
    fn shrinkage_pulls_small_groups_more() {
        // Ten groups whose true means spread ±1 around 4, measured with noise sd 1; the group
        // with 2 answers moves further toward the pool than the one with 200.
        let mut groups = Vec::new();
        for g in 0..10 {
            let truth = 3.0 + 2.0 * g as f64 / 9.0;
            let n = if g == 0 {
                2
            } else if g == 9 {
                200
            } else {
                50
            };
            let mut m = Moments::default();
            for i in 0..n {
                // deterministic ±1 noise
                m.push(truth + if i % 2 == 0 { 1.0 } else { -1.0 });
            }
            groups.push(m);
        }
        let s = shrink_means(&groups);
        assert!(
            s.between_variance > 0.2 && s.between_variance < 0.6,
            "{}",
            s.between_variance
        );
        assert!(s.weights[0] < s.weights[5] && s.weights[5] < s.weights[9]);
        assert!(
            s.estimates[0] > groups[0].mean,
            "the small low group moves up"
        );
        assert!(close(s.estimates[9], groups[9].mean, 0.05));
        // No real spread: everyone gets the pooled mean.
        let same: Vec<Moments> = (0..5)
            .map(|_| [3.0, 5.0, 3.0, 5.0].into_iter().collect())
            .collect();
        let s = shrink_means(&same);
        assert_eq!(s.between_variance, 0.0);
        assert!(s.estimates.iter().all(|e| close(*e, 4.0, 1e-12)));
    }

    #[test]
    fn rate_shrinkage_matches_beta_binomial() {
        // Rates spread well beyond binomial noise.
        let counts = [(1, 2), (10, 100), (50, 100), (90, 100), (0, 0)];
        let s = shrink_rates(&counts);
        assert!(close(s.prior_mean, 151.0 / 302.0, 1e-12));
        assert!(s.between_variance > 0.05);
        assert!(s.weights[0] < s.weights[1]);
        assert!(
            close(s.estimates[4], s.prior_mean, 1e-12),
            "no data → prior"
        );
        // 1 of 2 sits at the prior already; 10 of 100 is pulled up, a little.
        assert!(
            s.estimates[1] > 0.1 && s.estimates[1] < 0.15,
            "{}",
            s.estimates[1]
        );
        // Homogeneous: all pooled.
        let s = shrink_rates(&[(5, 100), (6, 100), (4, 100)]);
        assert!(s.estimates.iter().all(|e| close(*e, 0.05, 1e-12)));
    }

    #[test]
    fn spearman_handles_ties_and_constants() {
        assert!(close(
            spearman(&[1.0, 2.0, 3.0, 4.0], &[10.0, 20.0, 30.0, 40.0]).unwrap(),
            1.0,
            1e-12
        ));
        assert!(close(
            spearman(&[1.0, 2.0, 3.0, 4.0], &[4.0, 3.0, 2.0, 1.0]).unwrap(),
            -1.0,
            1e-12
        ));
        assert_eq!(average_ranks(&[5.0, 1.0, 5.0]), vec![2.5, 1.0, 2.5]);
        assert_eq!(spearman(&[1.0, 1.0, 1.0], &[1.0, 2.0, 3.0]), None);
        assert_eq!(quantile_sorted(&[1.0, 2.0, 3.0, 4.0], 0.5), Some(2.5));
    }
}
