//! Seasonal-trend decomposition by loess (STL; Cleveland et al., *J. Official Statistics*,
//! 1990) and its multi-seasonal extension MSTL (Bandara, Hyndman & Bergmeir, 2021), with the
//! forecaster statsforecast builds on it: each seasonal component repeats its last cycle and
//! the seasonally adjusted series is forecast by non-seasonal [`Ets::auto`].
//!
//! STL here is the inner loop only (no robustness iterations), with the published default
//! windows: seasonal smoother `n_s` (MSTL's 7 + 4i for the i-th period), low-pass `n_l` = the
//! next odd number ≥ period, trend `n_t` = the next odd number ≥ 1.5·period / (1 − 1.5 / n_s).
//! Missing values (NaN) get zero weight in every smoother, so the components are defined at
//! every step.

use super::ets::Ets;

/// Degree-1 loess of `y` (at positions 0..n, NaN = missing) evaluated at `x` with the `q`
/// nearest points and tricube weights. `None` when no observed point is in reach.
fn loess_at(y: &[f64], q: usize, x: f64) -> Option<f64> {
    let n = y.len();
    if n == 0 {
        return None;
    }
    let q = q.max(2);
    let (lo, hi, h) = if q >= n {
        let h = x.max(n as f64 - 1.0 - x).max(0.0) + (q - n) as f64 / 2.0;
        (0, n, h)
    } else {
        let centre = x.round().clamp(0.0, (n - 1) as f64) as usize;
        let lo = centre.saturating_sub(q / 2).min(n - q);
        let h = (x - lo as f64).max((lo + q - 1) as f64 - x);
        (lo, lo + q, h)
    };
    let h = h.max(1e-9) * 1.000_001;
    let (mut sw, mut sx, mut sy, mut sxx, mut sxy) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for (j, &v) in y[lo..hi].iter().enumerate() {
        if v.is_nan() {
            continue;
        }
        let t = (lo + j) as f64;
        let r = (t - x).abs() / h;
        if r >= 1.0 {
            continue;
        }
        let w = (1.0 - r * r * r).powi(3);
        let d = t - x;
        sw += w;
        sx += w * d;
        sy += w * v;
        sxx += w * d * d;
        sxy += w * d * v;
    }
    if sw <= 0.0 {
        return None;
    }
    let (mx, my) = (sx / sw, sy / sw);
    let var = sxx / sw - mx * mx;
    // At x the fitted line is my + slope·(0 − mx).
    if var > 1e-12 * (1.0 + mx * mx) {
        let slope = (sxy / sw - mx * my) / var;
        Some(my - slope * mx)
    } else {
        Some(my)
    }
}

/// Loess over the whole series at positions 0..n; steps no point reaches keep the neighbouring
/// value (0 for an empty series).
fn loess(y: &[f64], q: usize) -> Vec<f64> {
    let mut out: Vec<f64> = (0..y.len())
        .map(|i| loess_at(y, q, i as f64).unwrap_or(f64::NAN))
        .collect();
    fill_gaps(&mut out);
    out
}

fn fill_gaps(v: &mut [f64]) {
    let first = v.iter().copied().find(|x| !x.is_nan()).unwrap_or(0.0);
    let mut last = first;
    for x in v.iter_mut() {
        if x.is_nan() {
            *x = last;
        } else {
            last = *x;
        }
    }
}

fn moving_average(y: &[f64], w: usize) -> Vec<f64> {
    if y.len() < w {
        return Vec::new();
    }
    let mut out = Vec::with_capacity(y.len() - w + 1);
    let mut s: f64 = y[..w].iter().sum();
    out.push(s / w as f64);
    for i in w..y.len() {
        s += y[i] - y[i - w];
        out.push(s / w as f64);
    }
    out
}

fn next_odd(x: f64) -> usize {
    let n = x.ceil().max(3.0) as usize;
    if n.is_multiple_of(2) { n + 1 } else { n }
}

/// One STL decomposition: `(seasonal, trend)`; the remainder is y − seasonal − trend.
///
/// # Panics
/// If `period < 2`.
pub fn stl(y: &[f64], period: usize, seasonal_window: usize) -> (Vec<f64>, Vec<f64>) {
    assert!(period >= 2, "STL needs a period of at least 2");
    let n = y.len();
    let n_s = next_odd(seasonal_window as f64);
    let n_l = next_odd(period as f64);
    let n_t = next_odd(1.5 * period as f64 / (1.0 - 1.5 / n_s as f64));
    let mut trend = vec![0.0; n];
    let mut seasonal = vec![0.0; n];
    let mut cycle = vec![0.0; n + 2 * period];
    let mut sub = Vec::new();
    for _ in 0..2 {
        let detrended: Vec<f64> = y.iter().zip(&trend).map(|(v, t)| v - t).collect();
        // Smooth each cycle-subseries and extend it one cycle either side.
        for k in 0..period {
            sub.clear();
            sub.extend(detrended.iter().skip(k).step_by(period).copied());
            let len = sub.len();
            let fallback = super::mean_observed(&sub).unwrap_or(0.0);
            for j in 0..len + 2 {
                let at = j as f64 - 1.0;
                let v = loess_at(&sub, n_s, at).unwrap_or(fallback);
                // Subseries position j − 1 is time k + (j − 1)·period, i.e. cycle index + period.
                let idx = k + j * period;
                if idx < cycle.len() {
                    cycle[idx] = v;
                }
            }
        }
        // Low-pass filter of the cycle: moving averages period, period, 3, then loess n_l.
        let low = moving_average(&moving_average(&moving_average(&cycle, period), period), 3);
        let low = loess(&low, n_l);
        for t in 0..n {
            seasonal[t] = cycle[t + period] - low[t];
        }
        let adjusted: Vec<f64> = y.iter().zip(&seasonal).map(|(v, s)| v - s).collect();
        trend = loess(&adjusted, n_t);
    }
    (seasonal, trend)
}

/// An MSTL decomposition: one seasonal component per period (ascending), the trend, and the
/// seasonally adjusted series (trend + remainder).
#[derive(Debug, Clone, PartialEq)]
pub struct Mstl {
    /// The periods that fit at least twice in the series, ascending.
    pub periods: Vec<usize>,
    /// One seasonal component per period.
    pub seasonals: Vec<Vec<f64>>,
    /// The trend of the last STL pass.
    pub trend: Vec<f64>,
    /// y minus every seasonal component.
    pub adjusted: Vec<f64>,
}

impl Mstl {
    /// Decomposes `y` with two refinement passes over the periods. Periods that do not fit
    /// twice in the series are dropped; with none left, the series is all "adjusted".
    pub fn decompose(y: &[f64], periods: &[usize]) -> Self {
        let mut periods: Vec<usize> = periods
            .iter()
            .copied()
            .filter(|&p| p >= 2 && y.len() >= 2 * p)
            .collect();
        periods.sort_unstable();
        periods.dedup();
        let mut seasonals = vec![vec![0.0; y.len()]; periods.len()];
        let mut adjusted = y.to_vec();
        let mut trend = vec![0.0; y.len()];
        let passes = if periods.len() > 1 { 2 } else { 1 };
        for _ in 0..passes {
            for (i, &p) in periods.iter().enumerate() {
                for (a, s) in adjusted.iter_mut().zip(&seasonals[i]) {
                    *a += s;
                }
                let (s, t) = stl(&adjusted, p, 7 + 4 * (i + 1));
                for (a, v) in adjusted.iter_mut().zip(&s) {
                    *a -= v;
                }
                seasonals[i] = s;
                trend = t;
            }
        }
        Self {
            periods,
            seasonals,
            trend,
            adjusted,
        }
    }

    /// Forecast: every seasonal component repeats its last cycle; the adjusted series is
    /// forecast by non-seasonal AutoETS (its last value when ETS cannot be fitted).
    pub fn forecast(&self, horizon: usize) -> Vec<f64> {
        let n = self.adjusted.len();
        let base = Ets::auto(&self.adjusted, None)
            .map(|m| m.forecast(horizon))
            .unwrap_or_else(|| {
                let last = self
                    .adjusted
                    .iter()
                    .rev()
                    .copied()
                    .find(|v| !v.is_nan())
                    .unwrap_or(0.0);
                vec![last; horizon]
            });
        (0..horizon)
            .map(|h| {
                let mut v = base[h];
                for (s, &p) in self.seasonals.iter().zip(&self.periods) {
                    // The same phase one or more whole cycles back from step n + h.
                    let back = (h / p + 1) * p;
                    v += s[n + h - back];
                }
                v
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::f64::consts::TAU;

    #[test]
    fn loess_reproduces_a_line_exactly() {
        let y: Vec<f64> = (0..30).map(|t| 3.0 + 2.0 * t as f64).collect();
        for x in [-1.0, 0.0, 7.5, 29.0, 30.0] {
            let v = loess_at(&y, 7, x).unwrap();
            assert!((v - (3.0 + 2.0 * x)).abs() < 1e-9, "{x}: {v}");
        }
    }

    #[test]
    fn stl_separates_a_sine_from_a_linear_trend() {
        let p = 24;
        let y: Vec<f64> = (0..24 * 20)
            .map(|t| 50.0 + 0.1 * t as f64 + 5.0 * (t as f64 * TAU / p as f64).sin())
            .collect();
        let (s, tr) = stl(&y, p, 11);
        // Away from the ends, the components are recovered closely.
        for t in 48..y.len() - 48 {
            let season = 5.0 * (t as f64 * TAU / p as f64).sin();
            assert!(
                (s[t] - season).abs() < 0.1,
                "season {t}: {} vs {season}",
                s[t]
            );
            assert!((tr[t] - (50.0 + 0.1 * t as f64)).abs() < 0.1, "trend {t}");
        }
    }

    #[test]
    fn mstl_forecasts_two_seasons_and_drops_a_period_too_long() {
        let y: Vec<f64> = (0..24 * 7 * 6)
            .map(|t| {
                let t = t as f64;
                100.0 + 10.0 * (t * TAU / 24.0).sin() + 4.0 * (t * TAU / 168.0).cos()
            })
            .collect();
        let m = Mstl::decompose(&y, &[24, 168, 24 * 365]);
        assert_eq!(m.periods, vec![24, 168]);
        let f = m.forecast(48);
        for (h, v) in f.iter().enumerate() {
            let t = (y.len() + h) as f64;
            let truth = 100.0 + 10.0 * (t * TAU / 24.0).sin() + 4.0 * (t * TAU / 168.0).cos();
            assert!((v - truth).abs() < 0.5, "{h}: {v} vs {truth}");
        }
    }

    #[test]
    fn gaps_do_not_break_the_decomposition() {
        let mut y: Vec<f64> = (0..7 * 20).map(|t| 10.0 + (t % 7) as f64).collect();
        y[30..35].fill(f64::NAN);
        let m = Mstl::decompose(&y, &[7]);
        assert!(m.seasonals[0].iter().all(|v| v.is_finite()));
        let f = m.forecast(7);
        for (h, v) in f.iter().enumerate() {
            let truth = 10.0 + ((y.len() + h) % 7) as f64;
            assert!((v - truth).abs() < 0.3, "{h}: {v} vs {truth}");
        }
    }
}
