//! A channel-independent linear forecaster shared across series, in the style of NLinear
//! (Zeng et al., "Are Transformers Effective for Time Series Forecasting?", 2023), fitted by
//! ridge regression in closed form instead of by gradient descent.
//!
//! For a window whose last observed value is `c`, the model sees the look-back minus `c` and
//! predicts the next `horizon` values minus `c`; subtracting `c` makes the map invariant to the
//! series level, which is what lets one weight matrix serve every channel and survive the level
//! shift between training and test periods.
//!
//! Feature layout (d = `lookback`): features `0..lookback-1` are `window[i] - c`; the last input
//! would always be `c - c = 0`, so its slot carries the intercept (NLinear's bias) instead. The
//! intercept is not penalised.
//!
//! Fitting never materialises the windows. All windows of a series are slices of one array, so
//! XᵀX and XᵀY reduce to lagged cross-products Σₛ z[s+p]·z[s+q], which follow one another along
//! each diagonal by adding one term and dropping another: O(len·(L+H) + (L+H)²) per series rather
//! than O(len·L·(L+H)). [`NormalEquations::add_rows`] is the general row-wise path and is used in
//! the tests to check this one.

use std::fmt;

use crate::linalg::{LinalgError, Matrix, NormalEquations, axpy};

/// Number of complete windows (look-back plus horizon) in a series of `len` values.
pub fn window_count(len: usize, lookback: usize, horizon: usize) -> usize {
    (len + 1).saturating_sub(lookback + horizon)
}

/// An unfitted model: shapes and the ridge penalty λ.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LinearSpec {
    /// Number of past values the model reads (L ≥ 1).
    pub lookback: usize,
    /// Number of future values it predicts (H ≥ 1).
    pub horizon: usize,
    /// Ridge penalty on the weights (not the intercept), on the scale of XᵀX, i.e. of a sum over
    /// all training windows. Must be > 0 unless the look-back differences are full rank.
    pub lambda: f64,
}

/// Why fitting failed.
#[derive(Debug, Clone, PartialEq)]
pub enum FitError {
    /// `lookback` or `horizon` is zero, or λ is negative or not finite.
    InvalidSpec,
    /// No series is long enough to hold one look-back plus horizon.
    NoWindows,
    /// Linear algebra failed (e.g. λ = 0 with collinear inputs).
    Linalg(LinalgError),
    /// `fit_select` was given an empty grid or a validation set with no windows.
    NoValidation,
}

impl fmt::Display for FitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidSpec => f.write_str("lookback and horizon must be ≥ 1 and λ ≥ 0"),
            Self::NoWindows => f.write_str("no series holds a full look-back plus horizon"),
            Self::Linalg(e) => write!(f, "ridge solve failed: {e}"),
            Self::NoValidation => f.write_str("empty λ grid or no validation windows"),
        }
    }
}

impl std::error::Error for FitError {}

impl From<LinalgError> for FitError {
    fn from(e: LinalgError) -> Self {
        Self::Linalg(e)
    }
}

/// The outcome of choosing λ on held-out data.
#[derive(Debug, Clone)]
pub struct Selection {
    /// The model fitted on the training series with the best λ.
    pub model: FittedLinear,
    /// `(λ, validation MSE)` for every grid value that could be solved, in grid order.
    pub validation_mse: Vec<(f64, f64)>,
}

impl LinearSpec {
    fn check(&self) -> Result<(), FitError> {
        if self.lookback == 0 || self.horizon == 0 || !valid_lambda(self.lambda) {
            return Err(FitError::InvalidSpec);
        }
        Ok(())
    }

    /// XᵀX, XᵀY and trace(YᵀY) over every window of every series, in the feature layout of the
    /// module docs. Windows never straddle two series.
    pub fn normal_equations(&self, series: &[&[f64]]) -> NormalEquations {
        let (l, h) = (self.lookback, self.horizon);
        let p = l + h;
        // Moments are linear in the data, so sum the lagged products over all series first and
        // convert to the feature basis once.
        let mut lagged = vec![0.0; p * p];
        let mut sums = vec![0.0; p];
        let mut rows = 0;
        for z in series {
            let n = window_count(z.len(), l, h);
            if n == 0 {
                continue;
            }
            rows += n;
            add_window_moments(z, p, n, &mut lagged, &mut sums);
        }
        // M(p, q) over all windows for p ≤ q (upper triangle is what was filled).
        let mm = |a: usize, b: usize| {
            if a <= b {
                lagged[a * p + b]
            } else {
                lagged[b * p + a]
            }
        };
        let c = l - 1;
        let d = l;
        let mut xtx = Matrix::zeros(d, d);
        let mut xty = Matrix::zeros(d, h);
        for i in 0..c {
            for j in i..c {
                let v = mm(i, j) - mm(i, c) - mm(j, c) + mm(c, c);
                xtx.set(i, j, v);
                xtx.set(j, i, v);
            }
            let v = sums[i] - sums[c];
            xtx.set(i, c, v);
            xtx.set(c, i, v);
            for j in 0..h {
                xty.set(i, j, mm(i, l + j) - mm(i, c) - mm(c, l + j) + mm(c, c));
            }
        }
        xtx.set(c, c, rows as f64);
        for j in 0..h {
            xty.set(c, j, sums[l + j] - sums[c]);
        }
        let yty: f64 = (0..h)
            .map(|j| mm(l + j, l + j) - 2.0 * mm(c, l + j) + mm(c, c))
            .sum();
        NormalEquations::from_parts(xtx, xty, yty, rows)
    }

    /// Fits the model on every window of every series (all series share the weights).
    pub fn fit(&self, series: &[&[f64]]) -> Result<FittedLinear, FitError> {
        self.check()?;
        let ne = self.normal_equations(series);
        self.solve(&ne, self.lambda)
    }

    /// [`fit`](Self::fit) on normal equations already built.
    pub fn fit_normal_equations(&self, ne: &NormalEquations) -> Result<FittedLinear, FitError> {
        self.check()?;
        self.solve(ne, self.lambda)
    }

    /// Fits once per λ in `grid` on `train` and keeps the λ with the lowest MSE over the windows
    /// of `validation`; `self.lambda` is ignored. Both sets are reduced to their normal equations
    /// once, so each extra grid value costs one d × d factorisation, not a pass over the data.
    pub fn fit_select(
        &self,
        train: &[&[f64]],
        validation: &[&[f64]],
        grid: &[f64],
    ) -> Result<Selection, FitError> {
        Self {
            lambda: 0.0,
            ..*self
        }
        .check()?;
        self.select_lambda(
            &self.normal_equations(train),
            &self.normal_equations(validation),
            grid,
        )
    }

    /// [`fit_select`](Self::fit_select) on normal equations already built with
    /// [`normal_equations`](Self::normal_equations), so a caller that needs them anyway does
    /// not pass over the data twice.
    pub fn select_lambda(
        &self,
        train_ne: &NormalEquations,
        val_ne: &NormalEquations,
        grid: &[f64],
    ) -> Result<Selection, FitError> {
        Self {
            lambda: 0.0,
            ..*self
        }
        .check()?;
        if grid.is_empty() || val_ne.rows() == 0 {
            return Err(FitError::NoValidation);
        }
        let cells = (val_ne.rows() * self.horizon) as f64;
        let mut best: Option<(f64, FittedLinear)> = None;
        let mut scores = Vec::with_capacity(grid.len());
        let mut last_err = FitError::NoValidation;
        for &lambda in grid {
            if !valid_lambda(lambda) {
                return Err(FitError::InvalidSpec);
            }
            let model = match self.solve(train_ne, lambda) {
                Ok(m) => m,
                Err(e) => {
                    // A tiny λ may be numerically singular; larger grid values can still work.
                    last_err = e;
                    continue;
                }
            };
            let mse = val_ne.residual_sum_of_squares(&model.weights) / cells;
            scores.push((lambda, mse));
            if best.as_ref().is_none_or(|(b, _)| mse < *b) {
                best = Some((mse, model));
            }
        }
        match best {
            Some((_, model)) => Ok(Selection {
                model,
                validation_mse: scores,
            }),
            None => Err(last_err),
        }
    }

    fn solve(&self, ne: &NormalEquations, lambda: f64) -> Result<FittedLinear, FitError> {
        if ne.rows() == 0 {
            return Err(FitError::NoWindows);
        }
        let mut penalty = vec![lambda; self.lookback];
        penalty[self.lookback - 1] = 0.0;
        let weights = ne.solve_ridge_diag(&penalty)?;
        Ok(FittedLinear {
            lookback: self.lookback,
            horizon: self.horizon,
            lambda,
            weights,
            train_windows: ne.rows(),
        })
    }
}

/// λ must be a finite non-negative number (NaN is rejected too).
fn valid_lambda(lambda: f64) -> bool {
    lambda.is_finite() && lambda >= 0.0
}

/// Adds Σₛ z[s+a]·z[s+b] (a ≤ b < p, s < n) into `lagged` (p × p, upper) and Σₛ z[s+a] into
/// `sums`.
fn add_window_moments(z: &[f64], p: usize, n: usize, lagged: &mut [f64], sums: &mut [f64]) {
    let mut row = vec![0.0; p];
    for (q, r) in row.iter_mut().enumerate() {
        *r = z[..n].iter().zip(&z[q..q + n]).map(|(a, b)| a * b).sum();
    }
    let mut s: f64 = z[..n].iter().sum();
    for a in 0..p {
        // Row a holds M(a, a..p); derive row a+1 from it by sliding every window sum one step:
        // M(a+1, b+1) = M(a, b) − z[a]·z[b] + z[a+n]·z[b+n].
        for b in a..p {
            lagged[a * p + b] += row[b];
        }
        sums[a] += s;
        if a + 1 == p {
            break;
        }
        let (za, zan) = (z[a], z[a + n]);
        // Descending so row[b] is still the old value when row[b + 1] is overwritten.
        for b in (a..p - 1).rev() {
            row[b + 1] = row[b] - za * z[b] + zan * z[b + n];
        }
        s += zan - za;
    }
}

/// A fitted model: weights W (d × H, feature layout of the module docs).
#[derive(Debug, Clone, PartialEq)]
pub struct FittedLinear {
    lookback: usize,
    horizon: usize,
    lambda: f64,
    weights: Matrix,
    train_windows: usize,
}

/// Forecast errors over a set of windows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Score {
    /// Mean squared error over all windows and horizon steps.
    pub mse: f64,
    /// Mean absolute error over all windows and horizon steps.
    pub mae: f64,
    /// Number of windows scored.
    pub windows: usize,
}

impl FittedLinear {
    /// Look-back L.
    pub fn lookback(&self) -> usize {
        self.lookback
    }

    /// Horizon H.
    pub fn horizon(&self) -> usize {
        self.horizon
    }

    /// The ridge penalty used.
    pub fn lambda(&self) -> f64 {
        self.lambda
    }

    /// Number of windows the model was fitted on.
    pub fn train_windows(&self) -> usize {
        self.train_windows
    }

    /// Weights (L × H): rows `0..L-1` multiply `window[i] - last`, row `L-1` is the intercept.
    pub fn weights(&self) -> &Matrix {
        &self.weights
    }

    /// Forecasts the `horizon` values that follow `window`, reading its last `lookback` values.
    ///
    /// # Panics
    /// If `window` is shorter than the look-back.
    pub fn predict(&self, window: &[f64]) -> Vec<f64> {
        let mut out = vec![0.0; self.horizon];
        self.predict_into(window, &mut out);
        out
    }

    /// [`predict`](Self::predict) into a caller buffer of length `horizon`.
    ///
    /// # Panics
    /// If `window` is shorter than the look-back or `out` is not `horizon` long.
    pub fn predict_into(&self, window: &[f64], out: &mut [f64]) {
        assert!(
            window.len() >= self.lookback,
            "window shorter than the look-back"
        );
        assert_eq!(
            out.len(),
            self.horizon,
            "output buffer must be horizon long"
        );
        let x = &window[window.len() - self.lookback..];
        let c = x[self.lookback - 1];
        out.copy_from_slice(self.weights.row(self.lookback - 1));
        for (i, &v) in x[..self.lookback - 1].iter().enumerate() {
            axpy(out, v - c, self.weights.row(i));
        }
        out.iter_mut().for_each(|o| *o += c);
    }

    /// MSE and MAE over every window (stride 1) of every series, look-back starting at each
    /// series' first value.
    pub fn score(&self, series: &[&[f64]]) -> Score {
        let (l, h) = (self.lookback, self.horizon);
        // Windows are predicted in groups so that each weight row, once loaded, serves several
        // windows; W is L × H (up to ~2 MB) and would otherwise be streamed once per window.
        const GROUP: usize = 8;
        let mut preds = vec![0.0; GROUP * h];
        let (mut se, mut ae, mut windows) = (0.0, 0.0, 0usize);
        for z in series {
            let n = window_count(z.len(), l, h);
            let mut s0 = 0;
            while s0 < n {
                let g = GROUP.min(n - s0);
                for out in preds.chunks_exact_mut(h).take(g) {
                    out.copy_from_slice(self.weights.row(l - 1));
                }
                for i in 0..l - 1 {
                    let w = self.weights.row(i);
                    for (k, out) in preds.chunks_exact_mut(h).take(g).enumerate() {
                        let s = s0 + k;
                        axpy(out, z[s + i] - z[s + l - 1], w);
                    }
                }
                for (k, out) in preds.chunks_exact(h).take(g).enumerate() {
                    let s = s0 + k;
                    let c = z[s + l - 1];
                    for (p, &y) in out.iter().zip(&z[s + l..s + l + h]) {
                        let e = p + c - y;
                        se += e * e;
                        ae += e.abs();
                    }
                }
                s0 += g;
            }
            windows += n;
        }
        let cells = (windows * h) as f64;
        Score {
            mse: se / cells,
            mae: ae / cells,
            windows,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds the same normal equations row by row, the slow general way.
    fn naive(spec: &LinearSpec, series: &[&[f64]]) -> NormalEquations {
        let (l, h) = (spec.lookback, spec.horizon);
        let mut ne = NormalEquations::new(l, h);
        for z in series {
            for s in 0..window_count(z.len(), l, h) {
                let c = z[s + l - 1];
                let mut x: Vec<f64> = z[s..s + l - 1].iter().map(|v| v - c).collect();
                x.push(1.0);
                let y: Vec<f64> = z[s + l..s + l + h].iter().map(|v| v - c).collect();
                ne.add_rows(&x, &y);
            }
        }
        ne
    }

    #[test]
    fn closed_form_moments_match_row_accumulation() {
        let a: Vec<f64> = (0..97)
            .map(|t| (t as f64 * 0.3).sin() + 0.01 * t as f64)
            .collect();
        let b: Vec<f64> = (0..40).map(|t| ((t * 7 % 13) as f64) / 5.0 - 1.0).collect();
        let short = [1.0, 2.0];
        let spec = LinearSpec {
            lookback: 9,
            horizon: 5,
            lambda: 1.0,
        };
        let series: [&[f64]; 3] = [&a, &b, &short];
        let fast = spec.normal_equations(&series);
        let slow = naive(&spec, &series);
        assert_eq!(fast.rows(), slow.rows());
        assert_eq!(fast.rows(), window_count(97, 9, 5) + window_count(40, 9, 5));
        for i in 0..spec.lookback {
            for j in i..spec.lookback {
                let (f, s) = (fast.xtx_upper().get(i, j), slow.xtx_upper().get(i, j));
                assert!((f - s).abs() < 1e-9, "xtx({i},{j}) {f} vs {s}");
            }
            for j in 0..spec.horizon {
                let (f, s) = (fast.xty().get(i, j), slow.xty().get(i, j));
                assert!((f - s).abs() < 1e-9, "xty({i},{j}) {f} vs {s}");
            }
        }
        assert!((fast.yty_trace() - slow.yty_trace()).abs() < 1e-9);
    }

    #[test]
    fn score_matches_predict() {
        let z: Vec<f64> = (0..200)
            .map(|t| (t as f64 * 0.2).sin() + ((t * 31 % 17) as f64) * 0.05)
            .collect();
        let spec = LinearSpec {
            lookback: 12,
            horizon: 4,
            lambda: 0.1,
        };
        let m = spec.fit(&[&z]).unwrap();
        let (mut se, mut ae, mut n) = (0.0, 0.0, 0);
        for s in 0..window_count(z.len(), 12, 4) {
            let p = m.predict(&z[s..s + 12]);
            for (a, b) in p.iter().zip(&z[s + 12..s + 16]) {
                se += (a - b) * (a - b);
                ae += (a - b).abs();
                n += 1;
            }
        }
        let score = m.score(&[&z]);
        assert!((score.mse - se / n as f64).abs() < 1e-12);
        assert!((score.mae - ae / n as f64).abs() < 1e-12);
        assert_eq!(score.windows * 4, n);
    }
}
