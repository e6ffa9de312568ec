//! Point-forecast accuracy measures, as defined in Hyndman & Athanasopoulos, *Forecasting:
//! Principles and Practice* (3rd ed., §5.8).
//!
//! Each takes the actuals and the forecasts of the same steps. Pairs where either value is NaN
//! (a missing actual) are skipped, so a gap in the data never becomes a zero.

/// Accumulates absolute, squared, percentage and scaled errors over many forecasts, so a
/// backtest can report one line per model over all series and origins.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ErrorSums {
    abs: f64,
    sq: f64,
    /// Σ |e| / |y| over steps with y ≠ 0.
    ape: f64,
    ape_n: usize,
    /// Σ 2|e| / (|y| + |ŷ|) over steps where the denominator is not 0.
    sape: f64,
    sape_n: usize,
    /// Σ |e| / scale over steps of series with a positive scale.
    scaled: f64,
    scaled_n: usize,
    n: usize,
}

/// The summary of an [`ErrorSums`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ErrorSummary {
    /// Mean absolute error.
    pub mae: f64,
    /// Root mean squared error.
    pub rmse: f64,
    /// Mean absolute percentage error in percent, over steps whose actual is not 0.
    pub mape: f64,
    /// Symmetric MAPE in percent (0–200).
    pub smape: f64,
    /// Mean absolute scaled error: MAE divided by the in-sample MAE of the seasonal naive
    /// forecast of the same series (< 1 beats that naive forecast in-sample).
    pub mase: f64,
    /// Steps compared.
    pub n: usize,
}

impl ErrorSums {
    /// Adds one forecast: `actual` and `forecast` of the same steps; `scale` is the series'
    /// in-sample seasonal-naive MAE ([`naive_scale`]), or `None` to leave MASE out.
    pub fn add(&mut self, actual: &[f64], forecast: &[f64], scale: Option<f64>) {
        for (&y, &f) in actual.iter().zip(forecast) {
            if y.is_nan() || f.is_nan() {
                continue;
            }
            let e = (y - f).abs();
            self.abs += e;
            self.sq += e * e;
            self.n += 1;
            if y != 0.0 {
                self.ape += e / y.abs();
                self.ape_n += 1;
            }
            let d = y.abs() + f.abs();
            if d > 0.0 {
                self.sape += 2.0 * e / d;
                self.sape_n += 1;
            }
            if let Some(s) = scale.filter(|s| *s > 0.0 && s.is_finite()) {
                self.scaled += e / s;
                self.scaled_n += 1;
            }
        }
    }

    /// Merges another accumulator into this one.
    pub fn merge(&mut self, other: &Self) {
        self.abs += other.abs;
        self.sq += other.sq;
        self.ape += other.ape;
        self.ape_n += other.ape_n;
        self.sape += other.sape;
        self.sape_n += other.sape_n;
        self.scaled += other.scaled;
        self.scaled_n += other.scaled_n;
        self.n += other.n;
    }

    /// The means; NaN where nothing was counted.
    pub fn summary(&self) -> ErrorSummary {
        let mean = |s: f64, n: usize| if n == 0 { f64::NAN } else { s / n as f64 };
        ErrorSummary {
            mae: mean(self.abs, self.n),
            rmse: mean(self.sq, self.n).sqrt(),
            mape: 100.0 * mean(self.ape, self.ape_n),
            smape: 100.0 * mean(self.sape, self.sape_n),
            mase: mean(self.scaled, self.scaled_n),
            n: self.n,
        }
    }
}

/// In-sample MAE of the seasonal naive forecast ŷₜ = yₜ₋ₘ over `history` (MASE's denominator);
/// `None` when fewer than two comparable pairs exist.
pub fn naive_scale(history: &[f64], season: usize) -> Option<f64> {
    let m = season.max(1);
    let (mut sum, mut n) = (0.0, 0usize);
    for t in m..history.len() {
        let (a, b) = (history[t], history[t - m]);
        if a.is_nan() || b.is_nan() {
            continue;
        }
        sum += (a - b).abs();
        n += 1;
    }
    (n >= 2).then(|| sum / n as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_checked_errors() {
        let mut s = ErrorSums::default();
        // errors 1, −2, 0 on actuals 10, 20, 0 (0 is left out of MAPE only).
        s.add(&[10.0, 20.0, 0.0], &[9.0, 22.0, 0.0], Some(2.0));
        let r = s.summary();
        assert_eq!(r.n, 3);
        assert!((r.mae - 1.0).abs() < 1e-12);
        assert!((r.rmse - (5.0f64 / 3.0).sqrt()).abs() < 1e-12);
        assert!((r.mape - 100.0 * (0.1 + 0.1) / 2.0).abs() < 1e-12);
        let smape = 100.0 * (2.0 / 19.0 + 4.0 / 42.0) / 2.0;
        assert!((r.smape - smape).abs() < 1e-12);
        assert!((r.mase - 0.5).abs() < 1e-12);
    }

    #[test]
    fn missing_actuals_are_skipped_and_merge_adds_up() {
        let mut a = ErrorSums::default();
        a.add(&[1.0, f64::NAN], &[2.0, 5.0], None);
        let mut b = ErrorSums::default();
        b.add(&[3.0], &[6.0], None);
        a.merge(&b);
        let r = a.summary();
        assert_eq!(r.n, 2);
        assert!((r.mae - 2.0).abs() < 1e-12);
        assert!(r.mase.is_nan());
    }

    #[test]
    fn naive_scale_of_a_weekly_pattern_with_noise() {
        let h: Vec<f64> = (0..21)
            .map(|t| (t % 7) as f64 + if t >= 14 { 1.0 } else { 0.0 })
            .collect();
        // Only the week-2→3 step differs (by 1), over 14 pairs.
        assert!((naive_scale(&h, 7).unwrap() - 7.0 / 14.0).abs() < 1e-12);
        assert_eq!(naive_scale(&[1.0, 2.0], 7), None);
    }
}
