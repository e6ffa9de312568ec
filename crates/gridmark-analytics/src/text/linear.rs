//! Linear classifiers on sparse vectors, trained by dual coordinate descent as in LIBLINEAR:
//!
//! * [`Loss::SquaredHinge`]: the L2-regularised L2-loss SVM, `min ½‖w‖² + C Σ max(0, 1 − y wᵀx)²`
//!   (LIBLINEAR `-s 1`; Hsieh, Chang, Lin, Keerthi & Sundararajan, ICML 2008), with shrinking.
//! * [`Loss::Logistic`]: L2-regularised logistic regression, `min ½‖w‖² + C Σ log(1 + e^(−y wᵀx))`
//!   (LIBLINEAR `-s 7`; Yu, Huang & Lin, Machine Learning 2011), whose margins are log-odds.
//!
//! Both update one dual variable per row at a time in a seeded random order, keeping `w` in
//! step, so an epoch costs one pass over the non-zeros. The bias is an extra feature of
//! constant value `bias` (regularised like the other weights, as LIBLINEAR's `-B`). Two
//! classes give one weight vector; more give one per class, one-vs-rest, trained on separate
//! threads.
//!
//! `C = 1` (the default, LIBLINEAR's) is not tuned on any test set. On L2-normalised character
//! 1–2-gram TF-IDF of the waimai_10k and 10-category shopping reviews, the default SVM matched
//! LIBLINEAR's own (sklearn `LinearSVC`) predictions and beat sklearn's `LogisticRegression()`
//! on the same 80/20 split; see `gridmark text eval` and `bench/text_peer.py` (docs/evaluation.md).

use super::{SparseVec, TextError};
use crate::rng::Rng;

/// The loss minimised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Loss {
    /// Squared hinge (L2-loss linear SVM).
    SquaredHinge,
    /// Logistic (margins are log-odds).
    Logistic,
}

/// Training parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct LinearParams {
    /// Loss; default [`Loss::SquaredHinge`].
    pub loss: Loss,
    /// Inverse regularisation strength (> 0); default 1.
    pub c: f64,
    /// Stopping tolerance on the projected gradient (LIBLINEAR's `-e`, default 0.1).
    pub tolerance: f64,
    /// Most passes over the rows per class (default 1000).
    pub max_epochs: usize,
    /// Value of the constant bias feature (≥ 0; 0 turns the bias off); default 1.
    pub bias: f64,
    /// Seed of the row order.
    pub seed: u64,
    /// Threads for the one-vs-rest classes (≥ 1); default 2.
    pub threads: usize,
}

impl Default for LinearParams {
    fn default() -> Self {
        Self {
            loss: Loss::SquaredHinge,
            c: 1.0,
            tolerance: 0.1,
            max_epochs: 1000,
            bias: 1.0,
            seed: 42,
            threads: 2,
        }
    }
}

impl LinearParams {
    fn check(&self) -> Result<(), TextError> {
        if !(self.c.is_finite() && self.c > 0.0) {
            return Err(TextError::InvalidParams("c must be finite and > 0"));
        }
        if !(self.tolerance.is_finite() && self.tolerance > 0.0) {
            return Err(TextError::InvalidParams("tolerance must be finite and > 0"));
        }
        if self.max_epochs == 0 {
            return Err(TextError::InvalidParams("max_epochs must be ≥ 1"));
        }
        if !(self.bias.is_finite() && self.bias >= 0.0) {
            return Err(TextError::InvalidParams("bias must be finite and ≥ 0"));
        }
        if self.threads == 0 {
            return Err(TextError::InvalidParams("threads must be ≥ 1"));
        }
        Ok(())
    }
}

/// A fitted linear classifier.
#[derive(Debug, Clone, PartialEq)]
pub struct LinearModel {
    loss: Loss,
    n_classes: usize,
    n_features: usize,
    /// Weight vectors: 1 for two classes (positive = class 1), else one per class.
    n_vectors: usize,
    /// Feature-major weights, `weights[feature * n_vectors + vector]`, so scoring a row reads
    /// each of its features' weights from one place.
    weights: Vec<f32>,
    /// Bias weight of each vector times the bias feature value.
    intercepts: Vec<f64>,
    /// Epochs each vector took.
    epochs: Vec<usize>,
}

/// Fits a classifier of rows `x` with labels `y` in `0..n_classes` (≥ 2). The feature count is
/// one more than the largest index seen; at prediction, indices beyond it are ignored.
///
/// # Errors
/// Invalid parameters, no rows, `x` and `y` of different lengths, fewer than two classes or a
/// label not below `n_classes`.
pub fn fit(
    x: &[SparseVec],
    y: &[usize],
    n_classes: usize,
    params: &LinearParams,
) -> Result<LinearModel, TextError> {
    params.check()?;
    if x.is_empty() {
        return Err(TextError::Empty);
    }
    if x.len() != y.len() {
        return Err(TextError::LengthMismatch {
            left: x.len(),
            right: y.len(),
        });
    }
    if n_classes < 2 {
        return Err(TextError::InvalidParams("n_classes must be ≥ 2"));
    }
    if let Some((row, &label)) = y.iter().enumerate().find(|&(_, &l)| l >= n_classes) {
        return Err(TextError::LabelOutOfRange {
            row,
            label,
            n_classes,
        });
    }
    let n_features = x
        .iter()
        .filter_map(|r| r.indices().last())
        .max()
        .map_or(0, |&m| m as usize + 1);
    let data = Rows::new(x, params.bias);
    let n_vectors = if n_classes == 2 { 1 } else { n_classes };
    // Vector k separates class k (or class 1 when binary) from the rest.
    let positive = |k: usize| if n_vectors == 1 { 1 } else { k };
    let solve = |k: usize| {
        let signs: Vec<f64> = y
            .iter()
            .map(|&l| if l == positive(k) { 1.0 } else { -1.0 })
            .collect();
        let mut rng = Rng::derived(params.seed, k as u64);
        match params.loss {
            Loss::SquaredHinge => svm_dual(&data, &signs, n_features, params, &mut rng),
            Loss::Logistic => logistic_dual(&data, &signs, n_features, params, &mut rng),
        }
    };
    let threads = params.threads.min(n_vectors);
    let solved: Vec<Solution> = if threads == 1 {
        (0..n_vectors).map(solve).collect()
    } else {
        let mut out: Vec<Option<Solution>> = vec![None; n_vectors];
        std::thread::scope(|s| {
            let handles: Vec<_> = (0..threads)
                .map(|t| {
                    let solve = &solve;
                    s.spawn(move || {
                        (t..n_vectors)
                            .step_by(threads)
                            .map(|k| (k, solve(k)))
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            for h in handles {
                for (k, sol) in h.join().expect("solver thread panicked") {
                    out[k] = Some(sol);
                }
            }
        });
        out.into_iter()
            .map(|s| s.expect("every class solved"))
            .collect()
    };
    let mut weights = vec![0f32; n_features * n_vectors];
    for (k, sol) in solved.iter().enumerate() {
        for (f, &w) in sol.w.iter().enumerate() {
            weights[f * n_vectors + k] = w as f32;
        }
    }
    Ok(LinearModel {
        loss: params.loss,
        n_classes,
        n_features,
        n_vectors,
        weights,
        intercepts: solved.iter().map(|s| s.w_bias * params.bias).collect(),
        epochs: solved.iter().map(|s| s.epochs).collect(),
    })
}

impl LinearModel {
    /// The model as text: a header, the intercepts, then one line of weights per feature
    /// (shortest round-trip form), so [`LinearModel::from_text`] predicts identically.
    pub fn to_text(&self) -> String {
        use std::fmt::Write as _;
        let loss = match self.loss {
            Loss::SquaredHinge => "svm",
            Loss::Logistic => "logistic",
        };
        let mut s = format!(
            "gridmark-linear 1 loss {loss} classes {} features {} vectors {}\n",
            self.n_classes, self.n_features, self.n_vectors
        );
        let join = |v: &mut dyn Iterator<Item = String>| v.collect::<Vec<_>>().join(" ");
        let _ = writeln!(
            s,
            "{}",
            join(&mut self.intercepts.iter().map(|v| v.to_string()))
        );
        for row in self.weights.chunks_exact(self.n_vectors.max(1)) {
            let _ = writeln!(s, "{}", join(&mut row.iter().map(|v| v.to_string())));
        }
        s
    }

    /// Reads a model written by [`LinearModel::to_text`]; a bad line is named.
    pub fn from_text(text: &str) -> Result<Self, TextError> {
        let bad = |line: usize, reason: &'static str| TextError::Format { line, reason };
        let mut lines = text.lines();
        let h: Vec<&str> = lines.next().unwrap_or("").split_whitespace().collect();
        if h.len() != 10 || h[0] != "gridmark-linear" || h[1] != "1" {
            return Err(bad(1, "not a gridmark-linear version 1 model"));
        }
        let loss = match h[3] {
            "svm" => Loss::SquaredHinge,
            "logistic" => Loss::Logistic,
            _ => return Err(bad(1, "unknown loss")),
        };
        let num = |i: usize| h[i].parse::<usize>().map_err(|_| bad(1, "a header number"));
        let (n_classes, n_features, n_vectors) = (num(5)?, num(7)?, num(9)?);
        if n_classes < 2 || n_vectors != if n_classes == 2 { 1 } else { n_classes } {
            return Err(bad(1, "classes and weight vectors do not match"));
        }
        let intercepts: Vec<f64> = lines
            .next()
            .unwrap_or("")
            .split_whitespace()
            .map(str::parse)
            .collect::<Result<_, _>>()
            .map_err(|_| bad(2, "an intercept is not a number"))?;
        if intercepts.len() != n_vectors {
            return Err(bad(2, "one intercept per weight vector"));
        }
        let mut weights = Vec::with_capacity((n_features * n_vectors).min(1 << 28));
        for (i, line) in lines.enumerate() {
            let before = weights.len();
            for v in line.split_whitespace() {
                weights.push(
                    v.parse::<f32>()
                        .map_err(|_| bad(i + 3, "a weight is not a number"))?,
                );
            }
            if weights.len() - before != n_vectors {
                return Err(bad(i + 3, "one weight per vector on each line"));
            }
        }
        if weights.len() != n_features * n_vectors {
            return Err(bad(1, "the feature count does not match the lines"));
        }
        Ok(Self {
            loss,
            n_classes,
            n_features,
            n_vectors,
            weights,
            intercepts,
            epochs: Vec::new(),
        })
    }
}

impl LinearModel {
    /// Decision value of every class: for two classes `[−m, m]` with `m` the margin, else each
    /// class's one-vs-rest margin. The predicted class has the largest.
    pub fn scores(&self, x: &SparseVec) -> Vec<f64> {
        let mut s = self.intercepts.clone();
        for (f, v) in x.iter() {
            if f < self.n_features {
                let row = &self.weights[f * self.n_vectors..(f + 1) * self.n_vectors];
                for (acc, &w) in s.iter_mut().zip(row) {
                    *acc += f64::from(v) * f64::from(w);
                }
            }
        }
        if self.n_vectors == 1 {
            vec![-s[0], s[0]]
        } else {
            s
        }
    }

    /// The class with the largest score (the lowest index on ties).
    pub fn predict(&self, x: &SparseVec) -> usize {
        argmax(&self.scores(x))
    }

    /// The margin of a two-class model (positive favours class 1); for more classes, the
    /// margin of the top class over the runner-up.
    pub fn margin(&self, x: &SparseVec) -> f64 {
        let s = self.scores(x);
        if self.n_vectors == 1 {
            return s[1];
        }
        let top = argmax(&s);
        let second = s
            .iter()
            .enumerate()
            .filter(|&(k, _)| k != top)
            .map(|(_, &v)| v)
            .fold(f64::NEG_INFINITY, f64::max);
        s[top] - second
    }

    /// Probability-like scores per class summing to 1: the logistic sigmoid of each margin,
    /// normalised over the classes as LIBLINEAR does for one-vs-rest. For two classes with
    /// [`Loss::Logistic`] these are the model's probabilities; with the SVM loss they are
    /// monotone in the margin but uncalibrated (use [`crate::classify::platt`] on held-out
    /// margins when calibration matters).
    pub fn probabilities(&self, x: &SparseVec) -> Vec<f64> {
        let s = self.scores(x);
        if self.n_vectors == 1 {
            let p = sigmoid(s[1]);
            return vec![1.0 - p, p];
        }
        let p: Vec<f64> = s.iter().map(|&m| sigmoid(m)).collect();
        let total: f64 = p.iter().sum();
        p.iter().map(|v| v / total).collect()
    }

    /// For a two-class model, the probability-like score of class 1 in `[0, 1]`
    /// (`sigmoid(margin)`); `2·p − 1` maps it to `[−1, 1]`.
    pub fn positive_probability(&self, x: &SparseVec) -> f64 {
        self.probabilities(x).get(1).copied().unwrap_or(0.0)
    }

    /// Number of classes.
    pub fn n_classes(&self) -> usize {
        self.n_classes
    }

    /// Number of features (one more than the largest training index).
    pub fn n_features(&self) -> usize {
        self.n_features
    }

    /// The loss it was trained with.
    pub fn loss(&self) -> Loss {
        self.loss
    }

    /// Weight of `feature` in weight vector `vector` (for two classes there is one vector,
    /// favouring class 1); 0 outside the model.
    pub fn weight(&self, feature: usize, vector: usize) -> f64 {
        if feature < self.n_features && vector < self.n_vectors {
            f64::from(self.weights[feature * self.n_vectors + vector])
        } else {
            0.0
        }
    }

    /// Passes over the data each weight vector took to converge (`max_epochs` when it did not).
    pub fn epochs(&self) -> &[usize] {
        &self.epochs
    }
}

fn argmax(s: &[f64]) -> usize {
    let mut best = 0;
    for (k, &v) in s.iter().enumerate() {
        if v > s[best] {
            best = k;
        }
    }
    best
}

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

/// The training rows as one compressed-sparse-row block (contiguous for the solver's passes),
/// with each row's squared norm including the bias feature.
struct Rows {
    starts: Vec<usize>,
    indices: Vec<u32>,
    values: Vec<f32>,
    norm_sq: Vec<f64>,
    bias: f64,
}

impl Rows {
    fn new(x: &[SparseVec], bias: f64) -> Self {
        let nnz = x.iter().map(SparseVec::nnz).sum();
        let mut rows = Self {
            starts: Vec::with_capacity(x.len() + 1),
            indices: Vec::with_capacity(nnz),
            values: Vec::with_capacity(nnz),
            norm_sq: x.iter().map(|r| r.norm_sq() + bias * bias).collect(),
            bias,
        };
        rows.starts.push(0);
        for r in x {
            rows.indices.extend_from_slice(r.indices());
            rows.values.extend_from_slice(r.values());
            rows.starts.push(rows.indices.len());
        }
        rows
    }

    fn len(&self) -> usize {
        self.norm_sq.len()
    }

    fn row(&self, i: usize) -> (&[u32], &[f32]) {
        let (a, b) = (self.starts[i], self.starts[i + 1]);
        (&self.indices[a..b], &self.values[a..b])
    }

    /// `wᵀx_i` including the bias feature.
    fn dot(&self, i: usize, w: &[f64], w_bias: f64) -> f64 {
        let (idx, val) = self.row(i);
        let mut s = w_bias * self.bias;
        for (&j, &v) in idx.iter().zip(val) {
            s += w[j as usize] * f64::from(v);
        }
        s
    }

    /// `w += step · x_i`, bias included.
    fn axpy(&self, i: usize, step: f64, w: &mut [f64], w_bias: &mut f64) {
        let (idx, val) = self.row(i);
        for (&j, &v) in idx.iter().zip(val) {
            w[j as usize] += step * f64::from(v);
        }
        *w_bias += step * self.bias;
    }
}

#[derive(Clone)]
struct Solution {
    w: Vec<f64>,
    w_bias: f64,
    epochs: usize,
}

/// Dual coordinate descent for the L2-loss SVM with LIBLINEAR's shrinking (`solve_l2r_l1l2_svc`
/// with `D_ii = 1/(2C)` and no upper bound on α).
fn svm_dual(
    data: &Rows,
    y: &[f64],
    n_features: usize,
    p: &LinearParams,
    rng: &mut Rng,
) -> Solution {
    let n = data.len();
    let diag = 0.5 / p.c;
    let q: Vec<f64> = data.norm_sq.iter().map(|&s| s + diag).collect();
    let mut alpha = vec![0.0f64; n];
    let mut w = vec![0.0f64; n_features];
    let mut w_bias = 0.0;
    let mut active: Vec<usize> = (0..n).collect();
    let mut active_len = n;
    // Largest projected gradient of the previous pass, for shrinking. (With no upper bound on
    // α there is no shrinking at the top, so LIBLINEAR's lower counterpart is not needed.)
    let mut pg_max_old = f64::INFINITY;
    let mut epoch = 0;
    while epoch < p.max_epochs {
        epoch += 1;
        let (mut pg_max, mut pg_min) = (f64::NEG_INFINITY, f64::INFINITY);
        rng.shuffle(&mut active[..active_len]);
        let mut s = 0;
        while s < active_len {
            let i = active[s];
            let g = y[i] * data.dot(i, &w, w_bias) - 1.0 + diag * alpha[i];
            let mut pg = 0.0;
            if alpha[i] == 0.0 {
                if g > pg_max_old {
                    // At the bound and pushing outward: leave it out until the final check.
                    active_len -= 1;
                    active.swap(s, active_len);
                    continue;
                } else if g < 0.0 {
                    pg = g;
                }
            } else {
                pg = g;
            }
            pg_max = pg_max.max(pg);
            pg_min = pg_min.min(pg);
            if pg.abs() > 1e-12 {
                let old = alpha[i];
                alpha[i] = (old - g / q[i]).max(0.0);
                data.axpy(i, (alpha[i] - old) * y[i], &mut w, &mut w_bias);
            }
            s += 1;
        }
        if pg_max - pg_min <= p.tolerance {
            if active_len == n {
                break;
            }
            // Converged on the shrunk set: check all rows once more without shrinking.
            active_len = n;
            pg_max_old = f64::INFINITY;
            continue;
        }
        pg_max_old = if pg_max <= 0.0 { f64::INFINITY } else { pg_max };
    }
    Solution {
        w,
        w_bias,
        epochs: epoch,
    }
}

/// Dual coordinate descent for logistic regression (`solve_l2r_lr_dual`): each row has a pair
/// `α_i + α'_i = C`; the one-variable sub-problem `min ½a(z − α)² ± b z + z ln z + (C − z) ln(C − z)`
/// is solved by a guarded Newton method whose tolerance tightens as the passes converge.
fn logistic_dual(
    data: &Rows,
    y: &[f64],
    n_features: usize,
    p: &LinearParams,
    rng: &mut Rng,
) -> Solution {
    const MAX_INNER: usize = 100;
    let n = data.len();
    let c = p.c;
    let mut inner_eps = 1e-2;
    let inner_eps_min = p.tolerance.min(1e-8);
    // alpha[2i] is α_i, alpha[2i + 1] is C − α_i; start strictly inside (0, C).
    let mut alpha = vec![0.0f64; 2 * n];
    let mut w = vec![0.0f64; n_features];
    let mut w_bias = 0.0;
    for i in 0..n {
        alpha[2 * i] = (0.001 * c).min(1e-8);
        alpha[2 * i + 1] = c - alpha[2 * i];
        data.axpy(i, y[i] * alpha[2 * i], &mut w, &mut w_bias);
    }
    let mut order: Vec<usize> = (0..n).collect();
    let mut epoch = 0;
    while epoch < p.max_epochs {
        epoch += 1;
        rng.shuffle(&mut order);
        let mut newton_steps = 0;
        let mut g_max = 0.0f64;
        for &i in &order {
            let a = data.norm_sq[i];
            let b = y[i] * data.dot(i, &w, w_bias);
            // Work on whichever of α_i, C − α_i the gradient points into.
            let (mut i1, mut i2, mut sign) = (2 * i, 2 * i + 1, 1.0);
            if 0.5 * a * (alpha[i2] - alpha[i1]) + b < 0.0 {
                (i1, i2, sign) = (2 * i + 1, 2 * i, -1.0);
            }
            let old = alpha[i1];
            let mut z = old;
            if c - z < 0.5 * c {
                z *= 0.1;
            }
            let grad = |z: f64| a * (z - old) + sign * b + (z / (c - z)).ln();
            let mut gp = grad(z);
            g_max = g_max.max(gp.abs());
            let mut inner = 0;
            while inner < MAX_INNER && gp.abs() >= inner_eps {
                let gpp = a + c / (c - z) / z;
                let next = z - gp / gpp;
                z = if next <= 0.0 { z * 0.1 } else { next };
                gp = grad(z);
                newton_steps += 1;
                inner += 1;
            }
            if inner > 0 {
                alpha[i1] = z;
                alpha[i2] = c - z;
                data.axpy(i, sign * (z - old) * y[i], &mut w, &mut w_bias);
            }
        }
        if g_max < p.tolerance {
            break;
        }
        if newton_steps <= n / 10 {
            inner_eps = inner_eps_min.max(0.1 * inner_eps);
        }
    }
    Solution {
        w,
        w_bias,
        epochs: epoch,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rows over 50 features, 3 to 8 non-zeros each; class = which of features 0, 1, 2 (the
    /// "keywords") the row contains, the rest noise.
    fn synthetic(n: usize, seed: u64) -> (Vec<SparseVec>, Vec<usize>) {
        let mut rng = Rng::new(seed);
        let mut x = Vec::new();
        let mut y = Vec::new();
        for _ in 0..n {
            let class = rng.below(3);
            let mut pairs = vec![(class as u32, 1.0f32)];
            for _ in 0..rng.range_inclusive(2, 7) {
                pairs.push((3 + rng.below(47) as u32, rng.range(0.2, 1.0) as f32));
            }
            let v = SparseVec::from_pairs(pairs);
            let norm = v.norm_sq().sqrt() as f32;
            let scaled: Vec<f32> = v.values().iter().map(|&a| a / norm).collect();
            x.push(SparseVec::new(v.indices().to_vec(), scaled).unwrap());
            y.push(class);
        }
        (x, y)
    }

    fn accuracy(model: &LinearModel, x: &[SparseVec], y: &[usize]) -> f64 {
        let hits = x
            .iter()
            .zip(y)
            .filter(|(r, l)| model.predict(r) == **l)
            .count();
        hits as f64 / y.len() as f64
    }

    #[test]
    fn learns_a_keyword_rule_with_both_losses() {
        let (x, y) = synthetic(600, 1);
        let (xt, yt) = synthetic(300, 2);
        for loss in [Loss::SquaredHinge, Loss::Logistic] {
            let p = LinearParams {
                loss,
                c: 10.0,
                ..LinearParams::default()
            };
            let m = fit(&x, &y, 3, &p).unwrap();
            assert_eq!(accuracy(&m, &xt, &yt), 1.0, "{loss:?}");
            assert!(
                m.epochs().iter().all(|&e| e < p.max_epochs),
                "{loss:?} did not converge"
            );
            // The keyword weighs most in its own class's vector.
            for k in 0..3 {
                let w = m.weight(k, k);
                assert!((0..3).filter(|&o| o != k).all(|o| m.weight(o, k) < w));
            }
            let pr = m.probabilities(&xt[0]);
            assert!((pr.iter().sum::<f64>() - 1.0).abs() < 1e-9);
            assert_eq!(argmax(&pr), yt[0]);
        }
    }

    #[test]
    fn binary_margin_and_probability() {
        // Class 1 iff feature 0 is present.
        let (x3, y3) = synthetic(400, 3);
        let y: Vec<usize> = y3.iter().map(|&c| usize::from(c == 0)).collect();
        for loss in [Loss::SquaredHinge, Loss::Logistic] {
            let p = LinearParams {
                loss,
                ..LinearParams::default()
            };
            let m = fit(&x3, &y, 2, &p).unwrap();
            assert_eq!(accuracy(&m, &x3, &y), 1.0);
            let pos = SparseVec::new(vec![0], vec![1.0]).unwrap();
            let neg = SparseVec::new(vec![1], vec![1.0]).unwrap();
            assert!(m.margin(&pos) > 0.0 && m.margin(&neg) < 0.0);
            assert!(m.positive_probability(&pos) > 0.5 && m.positive_probability(&neg) < 0.5);
            assert_eq!(m.scores(&pos), vec![-m.margin(&pos), m.margin(&pos)]);
            // An index beyond the model is ignored rather than a panic.
            let far = SparseVec::new(vec![0, 10_000], vec![1.0, 1.0]).unwrap();
            assert_eq!(m.margin(&far), m.margin(&pos));
        }
    }

    #[test]
    fn logistic_matches_the_primal_optimum() {
        // One feature, bias off: the primal optimum solves w = C Σ y_i x_i σ(−y_i w x_i).
        // Rows x=1 with labels +,+,− (and C=1): w = 2σ(−w) − σ(w) → w ≈ 0.2865.
        let x: Vec<SparseVec> = (0..3)
            .map(|_| SparseVec::new(vec![0], vec![1.0]).unwrap())
            .collect();
        let y = [1, 1, 0];
        let p = LinearParams {
            loss: Loss::Logistic,
            bias: 0.0,
            tolerance: 1e-6,
            ..LinearParams::default()
        };
        let m = fit(&x, &y, 2, &p).unwrap();
        let w = m.weight(0, 0);
        let residual = w - (2.0 * sigmoid(-w) - sigmoid(w));
        assert!((w - 0.2865).abs() < 1e-3);
        assert!(residual.abs() < 1e-5, "w = {w}, residual {residual}");
    }

    #[test]
    fn deterministic_with_a_seed_and_across_threads() {
        let (x, y) = synthetic(300, 4);
        let p = LinearParams::default();
        let a = fit(&x, &y, 3, &p).unwrap();
        let b = fit(
            &x,
            &y,
            3,
            &LinearParams {
                threads: 1,
                ..p.clone()
            },
        )
        .unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn rejects_bad_input() {
        let (x, y) = synthetic(10, 5);
        let p = LinearParams::default();
        assert_eq!(fit(&[], &[], 2, &p), Err(TextError::Empty));
        assert!(matches!(
            fit(&x, &y[..5], 3, &p),
            Err(TextError::LengthMismatch { .. })
        ));
        assert!(matches!(
            fit(&x, &y, 1, &p),
            Err(TextError::InvalidParams(_))
        ));
        let bad: Vec<usize> = y.iter().map(|_| 7).collect();
        assert!(matches!(
            fit(&x, &bad, 3, &p),
            Err(TextError::LabelOutOfRange { row: 0, .. })
        ));
        let zero_c = LinearParams { c: 0.0, ..p };
        assert!(matches!(
            fit(&x, &y, 3, &zero_c),
            Err(TextError::InvalidParams(_))
        ));
    }

    #[test]
    fn text_round_trip_predicts_the_same() {
        let docs = [
            "电费太贵",
            "电费很贵",
            "服务很好",
            "服务太好",
            "停电太久",
            "抄表准时",
        ];
        let labels = [0, 0, 1, 1, 2, 1];
        let v =
            crate::text::TfidfVectorizer::fit(&docs, &crate::text::TfidfParams::default()).unwrap();
        let x = v.transform_many(&docs, 1);
        let m = fit(&x, &labels, 3, &LinearParams::default()).unwrap();
        let v2 = crate::text::TfidfVectorizer::from_text(&v.to_text()).unwrap();
        let m2 = LinearModel::from_text(&m.to_text()).unwrap();
        for d in ["电费贵", "服务好", "停电", "未见过的字"] {
            assert_eq!(v.transform(d), v2.transform(d));
            assert_eq!(m.scores(&v.transform(d)), m2.scores(&v2.transform(d)));
        }
        let mut broken = m.to_text();
        broken.push_str("1 2\n");
        assert!(
            LinearModel::from_text(&broken)
                .unwrap_err()
                .to_string()
                .contains("line")
        );
        assert!(crate::text::TfidfVectorizer::from_text("gridmark-tfidf 1\n").is_err());
    }
}
