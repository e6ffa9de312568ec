//! Features of one daily consumption series for theft detection, relative to a
//! [`Reference`] fitted on training rows.
//!
//! Why these features: each attack leaves a different trace, and honest households differ
//! from one another far more than from their own past, so most features are level-free
//! (divided by the series' own mean) and compare the series with the population's shape.
//!
//! * **Level** (kWh): mean, std, min, max, quantiles, share of days under 1 and 3 kWh. h1
//!   (`x·α`) changes nothing but the level, so only the joint distribution of level and shape
//!   can betray it: an honest low user is low because it has little appliance load (a small,
//!   steady base), while a scaled high user keeps the variability and weather response of a
//!   big household at a small level.
//! * **Shape ratios**: CV, quantiles over the median, max over mean, IQR over median,
//!   skewness, kurtosis. h4 draws uniform values (bounded, flat-topped), h3 multiplies by
//!   uniform noise (wider, skewed), h5 has no spread at all.
//! * **Zeros and gaps**: zero share, longest zero run, number of zero runs, missing share,
//!   share of deep dips. h2 is a long zero run.
//! * **Roughness**: mean |x_t − x_{t−1}| over the mean and over the std, lag-1 and lag-7
//!   autocorrelation, share of exact repeats, share of days near the median. Daily
//!   consumption is smooth and weekly; h3/h4 are white noise, h5 is all repeats.
//! * **Weekly profile**: mean of x/mean per position modulo 7, its strength, and its
//!   correlation with the reference weekly profile and with that profile mirrored the way a
//!   reversed year mirrors weekdays (h6 turns a weekend peak into a Thursday/Friday one).
//! * **Season and calendar**: correlation of x/mean with the reference daily profile (the
//!   population's weather and holidays) and with the reversed reference, the same for the
//!   high-pass parts (x minus its centred 7-day mean: cold snaps, Christmas, weekdays), the
//!   same for weekly block means, regression slope and residual spread on the reference,
//!   mean absolute distance from it, winter/summer ratio and second-half/first-half ratio.
//!   h6 keeps every statistic of the year but moves each day to the wrong date.
//! * **Population level**: the share of reference rows whose mean is below this series'.
//! * **Normalised raw series**: x/mean averaged over weekly blocks (what the published
//!   LightGBM baseline feeds its model, downsampled).
//!
//! Everything is O(n) per series apart from one sort of the values for the quantiles. All
//! positions are taken relative to the first day, so all series must cover the same calendar
//! days as the reference rows (the usual wide layout). A series of another length still gets
//! its own statistics; features that compare day by day with the reference are NaN.

use std::fmt;

/// Days per weekly block and per weekday cycle.
const WEEK: usize = 7;

/// Names of the fixed features, in output order; weekly block features follow.
const FIXED_NAMES: [&str; 62] = [
    "mean",
    "std",
    "min",
    "max",
    "q05",
    "q10",
    "q25",
    "q50",
    "q75",
    "q90",
    "q95",
    "share_below_1kwh",
    "share_below_3kwh",
    "cv",
    "min_over_median",
    "q05_over_median",
    "q25_over_median",
    "q75_over_median",
    "q95_over_median",
    "max_over_mean",
    "iqr_over_median",
    "skewness",
    "kurtosis",
    "zero_share",
    "longest_zero_run",
    "zero_runs",
    "missing_share",
    "dip_share",
    "roughness",
    "roughness_over_std",
    "acf1",
    "acf7",
    "repeat_share",
    "near_median_share",
    "weekday_0",
    "weekday_1",
    "weekday_2",
    "weekday_3",
    "weekday_4",
    "weekday_5",
    "weekday_6",
    "weekly_strength",
    "weekday_corr_ref",
    "weekday_corr_mirrored",
    "daily_corr_ref",
    "daily_corr_reversed",
    "daily_corr_diff",
    "highpass_corr_ref",
    "highpass_corr_reversed",
    "highpass_corr_diff",
    "block_corr_ref",
    "block_corr_reversed",
    "asym_corr_daily",
    "asym_corr_highpass",
    "asym_corr_blocks",
    "asym_coef_daily",
    "ref_slope",
    "ref_residual_std",
    "ref_mad",
    "winter_summer_ratio",
    "second_half_ratio",
    "level_percentile",
];

/// Index of a fixed feature by name (compile-time list above).
pub(crate) fn fixed_index(name: &str) -> Option<usize> {
    FIXED_NAMES.iter().position(|&n| n == name)
}

/// Why a reference could not be fitted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReferenceError {
    /// No rows.
    NoRows,
    /// Row `row` has `len` days but the first row has `expected`.
    LengthMismatch {
        row: usize,
        len: usize,
        expected: usize,
    },
}

impl fmt::Display for ReferenceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoRows => f.write_str("no rows to fit the reference on"),
            Self::LengthMismatch { row, len, expected } => {
                write!(f, "row {row} has {len} days, expected {expected}")
            }
        }
    }
}

impl std::error::Error for ReferenceError {}

/// The population profile that features compare against, fitted on training rows only.
#[derive(Debug, Clone, PartialEq)]
pub struct Reference {
    /// Mean over rows of x_t / mean(x), per day (NaN where no row has a value).
    daily: Vec<f64>,
    /// `daily` minus its centred 7-day mean.
    highpass: Vec<f64>,
    /// Weekly block means of `daily`.
    blocks: Vec<f64>,
    /// `daily`, `highpass` and `blocks` read backwards, kept to score reversal cheaply.
    daily_rev: Vec<f64>,
    highpass_rev: Vec<f64>,
    blocks_rev: Vec<f64>,
    /// Asymmetry `v_t − v_{n−1−t}` (first half) of `daily`, `highpass` and `blocks`: what
    /// distinguishes a year from its reverse once the symmetric part of the season cancels.
    asym_daily: Vec<f64>,
    asym_highpass: Vec<f64>,
    asym_blocks: Vec<f64>,
    /// Population standard deviation of `daily` over days with a value.
    daily_std: f64,
    /// Mean of `daily` per position modulo 7.
    weekday: [f64; WEEK],
    /// Sorted means of the rows (kWh/day), for the level percentile.
    level_sorted: Vec<f64>,
}

fn mean_present(x: &[f64]) -> Option<f64> {
    let (s, n) = x
        .iter()
        .filter(|v| !v.is_nan())
        .fold((0.0, 0usize), |(s, n), &v| (s + v, n + 1));
    (n > 0).then(|| s / n as f64)
}

/// `a / b`, NaN when `b` is not a usable divisor.
fn ratio(a: f64, b: f64) -> f64 {
    if b.abs() > 1e-12 { a / b } else { f64::NAN }
}

/// Pearson correlation over positions where both values are present; NaN if either side is
/// constant there or fewer than three pairs exist.
pub(crate) fn corr(a: &[f64], b: &[f64]) -> f64 {
    let (mut n, mut sa, mut sb) = (0usize, 0.0, 0.0);
    for (&x, &y) in a.iter().zip(b) {
        if !x.is_nan() && !y.is_nan() {
            n += 1;
            sa += x;
            sb += y;
        }
    }
    if n < 3 {
        return f64::NAN;
    }
    let (ma, mb) = (sa / n as f64, sb / n as f64);
    let (mut cov, mut va, mut vb) = (0.0, 0.0, 0.0);
    for (&x, &y) in a.iter().zip(b) {
        if !x.is_nan() && !y.is_nan() {
            cov += (x - ma) * (y - mb);
            va += (x - ma) * (x - ma);
            vb += (y - mb) * (y - mb);
        }
    }
    if va <= 1e-18 || vb <= 1e-18 {
        return f64::NAN;
    }
    cov / (va * vb).sqrt()
}

/// `x` minus its centred 7-day mean (NaN-aware), written into `out`.
fn highpass_into(x: &[f64], out: &mut Vec<f64>) {
    out.clear();
    let n = x.len();
    let half = WEEK / 2;
    let (mut sum, mut cnt) = (0.0, 0usize);
    // Sliding window [t − 3, t + 3] ∩ [0, n).
    for &v in x.iter().take(half.min(n)) {
        if !v.is_nan() {
            sum += v;
            cnt += 1;
        }
    }
    for t in 0..n {
        if t + half < n && !x[t + half].is_nan() {
            sum += x[t + half];
            cnt += 1;
        }
        if t > half && !x[t - half - 1].is_nan() {
            sum -= x[t - half - 1];
            cnt -= 1;
        }
        out.push(if x[t].is_nan() || cnt == 0 {
            f64::NAN
        } else {
            x[t] - sum / cnt as f64
        });
    }
}

/// `v_t − v_{n−1−t}` for `t < n/2` into `out` (NaN if either is missing).
fn asym_into(v: &[f64], out: &mut Vec<f64>) {
    let n = v.len();
    out.clear();
    out.extend((0..n / 2).map(|t| v[t] - v[n - 1 - t]));
}

/// Block boundaries: `blocks` nearly equal consecutive ranges covering `0..n`.
fn block_range(b: usize, blocks: usize, n: usize) -> (usize, usize) {
    (b * n / blocks, (b + 1) * n / blocks)
}

impl Reference {
    /// Fits the reference on `rows`, which must all have the same length.
    pub fn fit<S: AsRef<[f64]>>(rows: &[S]) -> Result<Self, ReferenceError> {
        let first = rows.first().ok_or(ReferenceError::NoRows)?;
        let n = first.as_ref().len();
        let mut sum = vec![0.0; n];
        let mut cnt = vec![0usize; n];
        let mut level_sorted = Vec::with_capacity(rows.len());
        for (i, row) in rows.iter().enumerate() {
            let x = row.as_ref();
            if x.len() != n {
                return Err(ReferenceError::LengthMismatch {
                    row: i,
                    len: x.len(),
                    expected: n,
                });
            }
            let Some(m) = mean_present(x) else { continue };
            level_sorted.push(m);
            if m <= 1e-12 {
                continue;
            }
            for t in 0..n {
                if !x[t].is_nan() {
                    sum[t] += x[t] / m;
                    cnt[t] += 1;
                }
            }
        }
        level_sorted.sort_by(f64::total_cmp);
        let daily: Vec<f64> = sum
            .iter()
            .zip(&cnt)
            .map(|(&s, &c)| if c > 0 { s / c as f64 } else { f64::NAN })
            .collect();
        let mut highpass = Vec::with_capacity(n);
        highpass_into(&daily, &mut highpass);
        let nb = (n / WEEK).max(1);
        let blocks: Vec<f64> = (0..nb)
            .map(|b| {
                let (lo, hi) = block_range(b, nb, n);
                mean_present(&daily[lo..hi]).unwrap_or(f64::NAN)
            })
            .collect();
        let rev = |v: &[f64]| v.iter().rev().copied().collect::<Vec<f64>>();
        let daily_std = {
            let m = mean_present(&daily).unwrap_or(f64::NAN);
            let (ss, k) = daily
                .iter()
                .filter(|v| !v.is_nan())
                .fold((0.0, 0usize), |(s, k), v| (s + (v - m) * (v - m), k + 1));
            (ss / k.max(1) as f64).sqrt()
        };
        let mut weekday = [f64::NAN; WEEK];
        for (p, w) in weekday.iter_mut().enumerate() {
            let vals: Vec<f64> = daily.iter().skip(p).step_by(WEEK).copied().collect();
            *w = mean_present(&vals).unwrap_or(f64::NAN);
        }
        let asym = |v: &[f64]| {
            let mut out = Vec::new();
            asym_into(v, &mut out);
            out
        };
        Ok(Self {
            asym_daily: asym(&daily),
            asym_highpass: asym(&highpass),
            asym_blocks: asym(&blocks),
            daily_rev: rev(&daily),
            highpass_rev: rev(&highpass),
            blocks_rev: rev(&blocks),
            daily_std,
            daily,
            highpass,
            blocks,
            weekday,
            level_sorted,
        })
    }

    /// Days per series.
    pub fn len(&self) -> usize {
        self.daily.len()
    }

    /// True for a reference of zero-length series.
    pub fn is_empty(&self) -> bool {
        self.daily.is_empty()
    }

    /// The mean normalised daily profile.
    pub fn daily_profile(&self) -> &[f64] {
        &self.daily
    }

    /// Number of weekly block features.
    fn n_blocks(&self) -> usize {
        self.blocks.len()
    }

    /// Length of a feature vector.
    pub fn n_features(&self) -> usize {
        FIXED_NAMES.len() + self.n_blocks()
    }

    /// Feature names in output order.
    pub fn feature_names(&self) -> Vec<String> {
        FIXED_NAMES
            .iter()
            .map(|s| s.to_string())
            .chain((0..self.n_blocks()).map(|b| format!("block_{b:02}")))
            .collect()
    }

    /// The features of `x` (see the module docs).
    pub fn features(&self, x: &[f64]) -> Vec<f64> {
        let mut out = Vec::with_capacity(self.n_features());
        Extractor::new(self).extend(x, &mut out);
        out
    }
}

/// Reusable buffers for extracting features of many series with one reference.
#[derive(Debug)]
pub struct Extractor<'a> {
    reference: &'a Reference,
    sorted: Vec<f64>,
    z: Vec<f64>,
    hp: Vec<f64>,
    blocks: Vec<f64>,
    asym: Vec<f64>,
}

impl<'a> Extractor<'a> {
    /// An extractor for `reference`.
    pub fn new(reference: &'a Reference) -> Self {
        Self {
            reference,
            sorted: Vec::new(),
            z: Vec::new(),
            hp: Vec::new(),
            blocks: Vec::new(),
            asym: Vec::new(),
        }
    }

    /// Appends the [`Reference::n_features`] features of `x` to `out`.
    pub fn extend(&mut self, x: &[f64], out: &mut Vec<f64>) {
        let start = out.len();
        self.push_all(x, out);
        debug_assert_eq!(out.len() - start, self.reference.n_features());
    }

    fn push_all(&mut self, x: &[f64], out: &mut Vec<f64>) {
        let r = self.reference;
        let n = x.len();
        let nan = f64::NAN;
        self.sorted.clear();
        self.sorted
            .extend(x.iter().copied().filter(|v| !v.is_nan()));
        let c = self.sorted.len();
        if c == 0 {
            out.extend(std::iter::repeat_n(nan, r.n_features()));
            if let Some(i) = fixed_index("missing_share") {
                let at = out.len() - r.n_features() + i;
                out[at] = 1.0;
            }
            return;
        }
        let cf = c as f64;
        let mean = self.sorted.iter().sum::<f64>() / cf;
        let (mut m2, mut m3, mut m4) = (0.0, 0.0, 0.0);
        for &v in &self.sorted {
            let d = v - mean;
            let d2 = d * d;
            m2 += d2;
            m3 += d2 * d;
            m4 += d2 * d2;
        }
        let var = m2 / cf;
        let std = var.sqrt();
        self.sorted.sort_unstable_by(f64::total_cmp);
        let s = &self.sorted;
        // Quantile by linear interpolation between order statistics (numpy's default).
        let q = |p: f64| {
            let pos = p * (c - 1) as f64;
            let lo = pos.floor() as usize;
            let hi = (lo + 1).min(c - 1);
            s[lo] + (s[hi] - s[lo]) * (pos - lo as f64)
        };
        let (min, max) = (s[0], s[c - 1]);
        let qs = [q(0.05), q(0.10), q(0.25), q(0.5), q(0.75), q(0.90), q(0.95)];
        let median = qs[3];
        let below = |t: f64| s.partition_point(|&v| v < t) as f64 / cf;

        // Level.
        out.extend([mean, std, min, max]);
        out.extend(qs);
        out.extend([below(1.0), below(3.0)]);
        // Shape ratios and moments.
        out.extend([
            ratio(std, mean),
            ratio(min, median),
            ratio(qs[0], median),
            ratio(qs[2], median),
            ratio(qs[4], median),
            ratio(qs[6], median),
            ratio(max, mean),
            ratio(qs[4] - qs[2], median),
            if var > 1e-18 {
                m3 / cf / (var * std)
            } else {
                nan
            },
            if var > 1e-18 {
                m4 / cf / (var * var)
            } else {
                nan
            },
        ]);

        // Zeros, gaps, dips.
        let zero = |v: f64| v.abs() <= 1e-9;
        let (mut longest, mut run, mut runs) = (0usize, 0usize, 0usize);
        for &v in x {
            if v.is_nan() {
                continue; // a gap neither breaks nor extends a run
            }
            if zero(v) {
                if run == 0 {
                    runs += 1;
                }
                run += 1;
                longest = longest.max(run);
            } else {
                run = 0;
            }
        }
        let zeros = s.partition_point(|&v| v <= 1e-9) - s.partition_point(|&v| v < -1e-9);
        out.extend([
            zeros as f64 / cf,
            longest as f64 / n as f64,
            runs as f64,
            (n - c) as f64 / n as f64,
            below(0.25 * median),
        ]);

        // Roughness and autocorrelation over present pairs.
        let (mut abs_diff, mut pairs1, mut repeats) = (0.0, 0usize, 0usize);
        let (mut ac1, mut ac7, mut pairs7) = (0.0, 0.0, 0usize);
        for t in 1..n {
            let (a, b) = (x[t - 1], x[t]);
            if !a.is_nan() && !b.is_nan() {
                abs_diff += (b - a).abs();
                pairs1 += 1;
                ac1 += (a - mean) * (b - mean);
                if (b - a).abs() <= 1e-9 * mean.abs().max(1.0) {
                    repeats += 1;
                }
            }
            if t >= WEEK {
                let a7 = x[t - WEEK];
                if !a7.is_nan() && !b.is_nan() {
                    ac7 += (a7 - mean) * (b - mean);
                    pairs7 += 1;
                }
            }
        }
        let mean_abs_diff = if pairs1 > 0 {
            abs_diff / pairs1 as f64
        } else {
            nan
        };
        let acf = |sum: f64, pairs: usize| {
            if pairs > 0 && var > 1e-18 {
                sum / pairs as f64 / var
            } else {
                nan
            }
        };
        // Net-metered customers can have a negative median: order the band's ends.
        let (band_lo, band_hi) = if median >= 0.0 {
            (median * 0.95, median * 1.05)
        } else {
            (median * 1.05, median * 0.95)
        };
        let near = s
            .partition_point(|&v| v <= band_hi)
            .saturating_sub(s.partition_point(|&v| v < band_lo));
        out.extend([
            ratio(mean_abs_diff, mean),
            ratio(mean_abs_diff, std),
            acf(ac1, pairs1),
            acf(ac7, pairs7),
            if pairs1 > 0 {
                repeats as f64 / pairs1 as f64
            } else {
                nan
            },
            near as f64 / cf,
        ]);

        // Normalised series.
        self.z.clear();
        let inv = if mean.abs() > 1e-12 { 1.0 / mean } else { nan };
        self.z.extend(x.iter().map(|&v| v * inv));
        let z = &self.z;

        // Weekly profile.
        let mut phase_sum = [0.0; WEEK];
        let mut phase_cnt = [0usize; WEEK];
        for (t, &v) in z.iter().enumerate() {
            if !v.is_nan() {
                phase_sum[t % WEEK] += v;
                phase_cnt[t % WEEK] += 1;
            }
        }
        let mut phase = [nan; WEEK];
        for p in 0..WEEK {
            if phase_cnt[p] > 0 {
                phase[p] = phase_sum[p] / phase_cnt[p] as f64;
            }
        }
        out.extend(phase);
        let pm = mean_present(&phase).unwrap_or(nan);
        let phase_var = phase
            .iter()
            .filter(|v| !v.is_nan())
            .map(|v| (v - pm) * (v - pm))
            .sum::<f64>()
            / WEEK as f64;
        let z_var = var * inv * inv;
        out.push(ratio(phase_var, z_var));
        let nr = r.len();
        let mirrored: [f64; WEEK] = std::array::from_fn(|p| {
            let src = (nr as i64 - 1 - p as i64).rem_euclid(WEEK as i64) as usize;
            r.weekday[src]
        });
        out.extend([corr(&phase, &r.weekday), corr(&phase, &mirrored)]);

        // Season and calendar against the reference.
        let same_calendar = n == nr;
        let d_ref = if same_calendar {
            corr(z, &r.daily)
        } else {
            nan
        };
        if same_calendar {
            let d_rev = corr(z, &r.daily_rev);
            highpass_into(z, &mut self.hp);
            let h_ref = corr(&self.hp, &r.highpass);
            let h_rev = corr(&self.hp, &r.highpass_rev);
            out.extend([d_ref, d_rev, d_rev - d_ref, h_ref, h_rev, h_rev - h_ref]);
        } else {
            out.extend([nan; 6]);
        }
        let nb = r.n_blocks();
        let block_start = out.len() + 12;
        // Block means go at the very end; compute them first for the block correlations.
        self.blocks.clear();
        self.blocks.extend((0..nb).map(|b| {
            let (lo, hi) = block_range(b, nb, n);
            mean_present(&z[lo..hi]).unwrap_or(nan)
        }));
        let blocks = &self.blocks;
        out.extend([corr(blocks, &r.blocks), corr(blocks, &r.blocks_rev)]);
        if same_calendar {
            let a = &mut self.asym;
            asym_into(z, a);
            let (mut dot, mut norm) = (0.0, 0.0);
            for (&x, &y) in a.iter().zip(&r.asym_daily) {
                if !x.is_nan() && !y.is_nan() {
                    dot += x * y;
                    norm += y * y;
                }
            }
            let c_daily = corr(a, &r.asym_daily);
            asym_into(&self.hp, a);
            let c_hp = corr(a, &r.asym_highpass);
            asym_into(blocks, a);
            let c_blocks = corr(a, &r.asym_blocks);
            out.extend([c_daily, c_hp, c_blocks, ratio(dot, norm)]);
        } else {
            out.extend([nan; 4]);
        }
        if same_calendar {
            // Least squares z ≈ a + b·ref; residual spread = std(z)·√(1 − ρ²).
            let rho = d_ref;
            let ref_std = r.daily_std;
            let z_std = z_var.sqrt();
            let (mut mad, mut k) = (0.0, 0usize);
            for (&a, &b) in z.iter().zip(&r.daily) {
                if !a.is_nan() && !b.is_nan() {
                    mad += (a - b).abs();
                    k += 1;
                }
            }
            out.extend([
                ratio(rho * z_std, ref_std),
                z_std * (1.0 - rho * rho).max(0.0).sqrt(),
                if k > 0 { mad / k as f64 } else { nan },
            ]);
        } else {
            out.extend([nan; 3]);
        }
        let part = |lo: usize, hi: usize| mean_present(&x[lo..hi]).unwrap_or(nan);
        let sixth = n / 6;
        let winter = {
            let (a, b) = (part(0, sixth), part(n - sixth, n));
            (a + b) / 2.0
        };
        out.extend([
            ratio(winter, part(n / 3, 2 * n / 3)),
            ratio(part(n / 2, n), part(0, n / 2)),
        ]);
        let below_level = r.level_sorted.partition_point(|&m| m < mean);
        out.push(ratio(below_level as f64, r.level_sorted.len() as f64));
        debug_assert_eq!(out.len(), block_start);
        out.extend_from_slice(blocks);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn honest(t: usize, level: f64) -> f64 {
        let season = 1.0 + 0.3 * (t as f64 * std::f64::consts::TAU / 365.0).cos();
        let weekend = if t % 7 >= 5 { 1.2 } else { 1.0 };
        level * season * weekend * (1.0 + 0.05 * ((t * 37 % 11) as f64 / 11.0 - 0.5))
    }

    fn population() -> Vec<Vec<f64>> {
        (0..20)
            .map(|i| (0..365).map(|t| honest(t, 5.0 + i as f64)).collect())
            .collect()
    }

    fn feature(r: &Reference, x: &[f64], name: &str) -> f64 {
        r.features(x)[fixed_index(name).unwrap()]
    }

    #[test]
    fn names_match_values() {
        let r = Reference::fit(&population()).unwrap();
        assert_eq!(r.n_blocks(), 52);
        assert_eq!(r.feature_names().len(), r.n_features());
        assert_eq!(r.features(&population()[0]).len(), r.n_features());
        assert_eq!(r.features(&[f64::NAN; 365]).len(), r.n_features());
        assert_eq!(r.features(&[1.0; 30]).len(), r.n_features());
        assert_eq!(r.features(&[]).len(), r.n_features());
    }

    #[test]
    fn basic_statistics() {
        let r = Reference::fit(&population()).unwrap();
        let mut x = vec![2.0; 365];
        x[10] = f64::NAN;
        for v in &mut x[100..130] {
            *v = 0.0;
        }
        assert_eq!(feature(&r, &x, "min"), 0.0);
        assert_eq!(feature(&r, &x, "max"), 2.0);
        assert!((feature(&r, &x, "missing_share") - 1.0 / 365.0).abs() < 1e-12);
        assert!((feature(&r, &x, "zero_share") - 30.0 / 364.0).abs() < 1e-12);
        assert!((feature(&r, &x, "longest_zero_run") - 30.0 / 365.0).abs() < 1e-12);
        assert_eq!(feature(&r, &x, "zero_runs"), 1.0);
        // 362 of 363 present pairs are repeats... minus the two edges of the zero window.
        assert!((feature(&r, &x, "repeat_share") - 360.0 / 362.0).abs() < 1e-12);
    }

    #[test]
    fn reversal_and_noise_show_up_against_the_reference() {
        let pop = population();
        let r = Reference::fit(&pop).unwrap();
        // Asymmetric season so that reversing is visible.
        let x: Vec<f64> = (0..365)
            .map(|t| honest(t, 8.0) * (1.0 + t as f64 / 365.0))
            .collect();
        let rev: Vec<f64> = x.iter().rev().copied().collect();
        assert!(feature(&r, &x, "highpass_corr_ref") > 0.5);
        assert!(feature(&r, &rev, "highpass_corr_diff") > 0.5);
        assert!(feature(&r, &x, "weekday_corr_ref") > 0.9);
        assert!(feature(&r, &rev, "weekday_corr_mirrored") > 0.9);
        assert!(feature(&r, &x, "second_half_ratio") > 1.0);
        assert!(feature(&r, &rev, "second_half_ratio") < 1.0);
        // White noise is rough and uncorrelated with the population.
        let mut rng = crate::rng::Rng::new(1);
        let noise: Vec<f64> = (0..365).map(|_| rng.range(1.0, 8.0)).collect();
        assert!(feature(&r, &noise, "roughness") > feature(&r, &x, "roughness") * 3.0);
        assert!(feature(&r, &noise, "acf1").abs() < 0.2);
        // A flat series has no correlation at all.
        assert!(feature(&r, &[5.0; 365], "daily_corr_ref").is_nan());
    }

    #[test]
    fn reference_rejects_ragged_rows() {
        let rows = vec![vec![1.0; 10], vec![1.0; 9]];
        assert_eq!(
            Reference::fit(&rows),
            Err(ReferenceError::LengthMismatch {
                row: 1,
                len: 9,
                expected: 10
            })
        );
        assert_eq!(Reference::fit::<Vec<f64>>(&[]), Err(ReferenceError::NoRows));
    }

    #[test]
    fn highpass_removes_the_local_level() {
        let mut out = Vec::new();
        highpass_into(&[3.0; 20], &mut out);
        assert!(out.iter().all(|v| v.abs() < 1e-12));
        let x: Vec<f64> = (0..20)
            .map(|t| if t % 7 == 0 { 8.0 } else { 1.0 })
            .collect();
        highpass_into(&x, &mut out);
        assert!((out[7] - 6.0).abs() < 1e-12); // 8 − mean(1,1,1,8,1,1,1)
    }
}
