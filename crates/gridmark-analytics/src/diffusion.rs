//! The Bass diffusion model of product adoption (Bass, 1969) fitted to observed cumulative
//! adopters, the product's lifecycle stage, and a forecast.
//!
//! Cumulative adopters after `t` periods since launch are `m × F(t)` with
//! `F(t) = (1 − e^{−(p+q)t}) / (1 + (q/p) e^{−(p+q)t})`: `p` is the coefficient of innovation
//! (adoption from outside influence), `q` of imitation (from earlier adopters) and `m` the
//! market potential. The data may start after launch: the fit also finds `tau`, the periods
//! between launch and the first observation, so that observation `i` is at `t = tau + i + 1`.
//!
//! Fitting: for fixed `(p, q, tau)`, the best `m` is closed-form least squares (kept at least
//! the adopters seen); `(ln p, ln q, tau)` are found by Nelder–Mead from a grid of starts,
//! minimising the squared error of the cumulative curve.

use crate::forecast::optim::nelder_mead;

/// A fitted Bass model.
#[derive(Debug, Clone, PartialEq)]
pub struct Bass {
    /// Innovation coefficient, per period.
    pub p: f64,
    /// Imitation coefficient, per period.
    pub q: f64,
    /// Market potential (adopters in the end).
    pub m: f64,
    /// Periods from launch to just before the first observation.
    pub tau: f64,
    /// Root mean squared error of the cumulative fit.
    pub rmse: f64,
}

/// Where a product is in its lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Under 16 % of the potential (innovators and early adopters) and still accelerating.
    Introduction,
    /// Adoption still accelerating: before the peak of the adoption rate.
    Growth,
    /// Past the peak of new adoptions, the base still growing or flat.
    Maturity,
    /// The number of active users is falling.
    Decline,
}

impl Stage {
    pub fn name(self) -> &'static str {
        match self {
            Stage::Introduction => "introduction",
            Stage::Growth => "growth",
            Stage::Maturity => "maturity",
            Stage::Decline => "decline",
        }
    }
}

/// F(t): the share of the potential adopted after `t` periods.
pub fn bass_share(p: f64, q: f64, t: f64) -> f64 {
    if t <= 0.0 {
        return 0.0;
    }
    let e = (-(p + q) * t).exp();
    (1.0 - e) / (1.0 + (q / p) * e)
}

impl Bass {
    /// Cumulative adopters `k` periods after the first observation's period (k = 0 is the
    /// first observation).
    pub fn cumulative(&self, k: f64) -> f64 {
        self.m * bass_share(self.p, self.q, self.tau + k + 1.0)
    }

    /// Periods from launch to the peak of new adoptions (0 when innovation dominates).
    pub fn peak_period(&self) -> f64 {
        if self.q > self.p {
            (self.q / self.p).ln() / (self.p + self.q)
        } else {
            0.0
        }
    }

    /// Fits the model to cumulative adopters per period, with the potential at most `max_m`
    /// when given (e.g. the number of customers: early in a curve the potential is otherwise
    /// unbounded). Needs at least 4 periods and some growth; returns None otherwise.
    pub fn fit(cumulative: &[f64], max_m: Option<f64>) -> Option<Bass> {
        let n = cumulative.len();
        let last = *cumulative.last()?;
        if n < 4 || last <= cumulative[0] || cumulative.iter().any(|x| !x.is_finite()) {
            return None;
        }
        let scale = last.max(1.0);
        let y: Vec<f64> = cumulative.iter().map(|x| x / scale).collect();
        let cap = max_m.map_or(f64::INFINITY, |c| (c / scale).max(1.0));
        let best_m = |p: f64, q: f64, tau: f64| -> (f64, f64) {
            let f: Vec<f64> = (0..n)
                .map(|i| bass_share(p, q, tau + i as f64 + 1.0))
                .collect();
            let ff: f64 = f.iter().map(|v| v * v).sum();
            let fy: f64 = f.iter().zip(&y).map(|(a, b)| a * b).sum();
            let m = if ff > 0.0 { (fy / ff).max(1.0) } else { 1.0 };
            let m = m.min(cap);
            let sse = f.iter().zip(&y).map(|(a, b)| (m * a - b).powi(2)).sum();
            (m, sse)
        };
        let unpack = |x: &[f64]| (x[0].exp(), x[1].exp(), x[2].abs());
        let mut objective = |x: &[f64]| {
            let (p, q, tau) = unpack(x);
            if !(1e-6..=1.0).contains(&p) || !(1e-6..=3.0).contains(&q) || tau > 10.0 * n as f64 {
                return f64::INFINITY;
            }
            best_m(p, q, tau).1
        };
        let mut best: Option<(Vec<f64>, f64)> = None;
        for p0 in [0.001, 0.01, 0.05] {
            for q0 in [0.05, 0.2, 0.5] {
                for tau0 in [0.0, n as f64 / 2.0, 2.0 * n as f64] {
                    let start = [f64::ln(p0), f64::ln(q0), tau0];
                    let (x, v) = nelder_mead(&mut objective, &start, 0.5, 3000, 1e-14);
                    if best.as_ref().is_none_or(|b| v < b.1) {
                        best = Some((x, v));
                    }
                }
            }
        }
        let (x, sse) = best?;
        if !sse.is_finite() {
            return None;
        }
        let (p, q, tau) = unpack(&x);
        let (m, _) = best_m(p, q, tau);
        Some(Bass {
            p,
            q,
            m: m * scale,
            tau,
            rmse: (sse / n as f64).sqrt() * scale,
        })
    }

    /// The stage at the last of `periods` observed periods. `active_trend` is the change of
    /// active users (adopters minus those who dropped) over the recent periods, when known.
    pub fn stage(&self, periods: usize, active_trend: Option<f64>) -> Stage {
        if active_trend.is_some_and(|d| d < 0.0) {
            return Stage::Decline;
        }
        let t = self.tau + periods as f64;
        let share = bass_share(self.p, self.q, t);
        if t < self.peak_period() {
            if share < 0.16 {
                Stage::Introduction
            } else {
                Stage::Growth
            }
        } else {
            Stage::Maturity
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovers_known_coefficients() {
        let (p, q, m) = (0.03, 0.38, 1000.0);
        // Observed from the 3rd period after launch, for 20 periods.
        let data: Vec<f64> = (0..20)
            .map(|i| m * bass_share(p, q, 3.0 + i as f64))
            .collect();
        let fit = Bass::fit(&data, None).unwrap();
        assert!((fit.p - p).abs() / p < 0.05, "{fit:?}");
        assert!((fit.q - q).abs() / q < 0.05, "{fit:?}");
        assert!((fit.m - m).abs() / m < 0.02, "{fit:?}");
        assert!((fit.tau - 2.0).abs() < 0.3, "{fit:?}");
        assert!(fit.rmse < 1.0);
        // Forecast continues the curve.
        let ahead = fit.cumulative(25.0);
        assert!((ahead - m * bass_share(p, q, 28.0)).abs() < 15.0);
    }

    #[test]
    fn the_potential_is_capped_early_in_a_curve() {
        // The first months of a slow curve say little about its end.
        let data: Vec<f64> = (0..12)
            .map(|i| 1000.0 * bass_share(0.001, 0.05, 1.0 + i as f64))
            .collect();
        let fit = Bass::fit(&data, Some(2000.0)).unwrap();
        assert!(fit.m <= 2000.0 + 1e-6, "{fit:?}");
    }

    #[test]
    fn stages_follow_the_curve() {
        let b = Bass {
            p: 0.01,
            q: 0.4,
            m: 1000.0,
            tau: 0.0,
            rmse: 0.0,
        };
        let peak = b.peak_period();
        assert!((peak - (40f64).ln() / 0.41).abs() < 1e-9);
        assert_eq!(b.stage(2, None), Stage::Introduction);
        assert_eq!(b.stage(8, None), Stage::Growth);
        assert_eq!(b.stage(20, None), Stage::Maturity);
        assert_eq!(b.stage(20, Some(-5.0)), Stage::Decline);
    }

    #[test]
    fn too_little_data_is_refused() {
        assert!(Bass::fit(&[1.0, 2.0, 3.0], None).is_none());
        assert!(Bass::fit(&[5.0, 5.0, 5.0, 5.0], None).is_none());
    }
}
