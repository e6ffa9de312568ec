//! Cross-validated binary classification with the [`gbdt`](crate::gbdt) trees: out-of-fold
//! scores for every row, so ROC-AUC, PR-AUC and lift are measured on rows no model was trained
//! on, and anyone can recompute them from the scores.

use crate::gbdt::{self, GbdtError, Params};
use crate::metrics::{self, stratified_kfold};

/// Out-of-fold metrics of a classifier.
#[derive(Debug, Clone, PartialEq)]
pub struct CvOutcome {
    /// Score of every row from the model that did not see it.
    pub scores: Vec<f64>,
    /// ROC-AUC of the out-of-fold scores.
    pub auc: f64,
    /// Average precision (PR-AUC) of the out-of-fold scores.
    pub pr_auc: f64,
    /// Positive rate in the top 10 % of scores over the overall positive rate.
    pub lift_top10: f64,
    /// Mean ROC-AUC over the folds (each fold scored on its own).
    pub fold_auc: Vec<f64>,
}

/// Stratified `folds`-fold cross-validation (seeded) of a GBDT on row-major `x`.
///
/// # Errors
/// When a fold cannot be fitted (no features, shape mismatch, invalid parameters).
pub fn cross_validate(
    x: &[f64],
    n_features: usize,
    y: &[bool],
    folds: usize,
    seed: u64,
    params: &Params,
) -> Result<CvOutcome, GbdtError> {
    let fold = stratified_kfold(y, folds.max(2), seed);
    let mut scores = vec![f64::NAN; y.len()];
    let mut fold_auc = Vec::new();
    for f in 0..folds.max(2) {
        let train: Vec<usize> = (0..y.len()).filter(|&i| fold[i] != f).collect();
        let test: Vec<usize> = (0..y.len()).filter(|&i| fold[i] == f).collect();
        if test.is_empty() {
            continue;
        }
        let xt: Vec<f64> = train
            .iter()
            .flat_map(|&i| x[i * n_features..(i + 1) * n_features].iter().copied())
            .collect();
        let yt: Vec<bool> = train.iter().map(|&i| y[i]).collect();
        let model = gbdt::fit(&xt, n_features, &yt, params)?;
        let mut fs = Vec::with_capacity(test.len());
        for &i in &test {
            let s = model.predict_proba(&x[i * n_features..(i + 1) * n_features]);
            scores[i] = s;
            fs.push(s);
        }
        let fl: Vec<bool> = test.iter().map(|&i| y[i]).collect();
        if let Some(a) = metrics::roc_auc(&fs, &fl) {
            fold_auc.push(a);
        }
    }
    Ok(CvOutcome {
        auc: metrics::roc_auc(&scores, y).unwrap_or(f64::NAN),
        pr_auc: metrics::average_precision(&scores, y).unwrap_or(f64::NAN),
        lift_top10: metrics::lift_at_fraction(&scores, y, 0.1).unwrap_or(f64::NAN),
        fold_auc,
        scores,
    })
}

/// Platt scaling: `p = 1 / (1 + exp(-(a·z + b)))` fitted by Newton's method on held-out raw
/// scores `z` (log-odds) and their labels, with Platt's smoothed targets so a perfectly
/// separated set does not push the slope to infinity. Returns `(a, b)`.
pub fn platt(z: &[f64], y: &[bool]) -> (f64, f64) {
    let pos = y.iter().filter(|&&l| l).count() as f64;
    let neg = y.len() as f64 - pos;
    let (t1, t0) = ((pos + 1.0) / (pos + 2.0), 1.0 / (neg + 2.0));
    let (mut a, mut b) = (1.0, 0.0);
    for _ in 0..100 {
        let (mut ga, mut gb, mut haa, mut hab, mut hbb) = (0.0, 0.0, 1e-9, 0.0, 1e-9);
        for (&zi, &yi) in z.iter().zip(y) {
            let p = 1.0 / (1.0 + (-(a * zi + b)).exp());
            let t = if yi { t1 } else { t0 };
            let w = p * (1.0 - p);
            ga += (p - t) * zi;
            gb += p - t;
            haa += w * zi * zi;
            hab += w * zi;
            hbb += w;
        }
        let det = haa * hbb - hab * hab;
        if det.abs() < 1e-300 {
            break;
        }
        let da = (hbb * ga - hab * gb) / det;
        let db = (haa * gb - hab * ga) / det;
        a -= da;
        b -= db;
        if da.abs() < 1e-10 && db.abs() < 1e-10 {
            break;
        }
    }
    (a, b)
}

/// Mean squared error of probabilities against 0/1 outcomes.
pub fn brier(p: &[f64], y: &[bool]) -> f64 {
    p.iter()
        .zip(y)
        .map(|(p, &l)| (p - f64::from(u8::from(l))).powi(2))
        .sum::<f64>()
        / p.len().max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    #[test]
    fn out_of_fold_scores_find_a_signal_and_not_noise() {
        let mut rng = Rng::new(4);
        let n = 1500;
        let mut x = Vec::new();
        let mut y = Vec::new();
        for _ in 0..n {
            let (a, b) = (rng.uniform(), rng.uniform());
            x.extend([a, b]);
            y.push(rng.uniform() < 0.1 + 0.6 * a);
        }
        let params = Params {
            n_trees: 60,
            ..Params::default()
        };
        let cv = cross_validate(&x, 2, &y, 5, 1, &params).unwrap();
        // The best possible AUC for p = 0.1 + 0.6a is about 0.70.
        assert!(cv.auc > 0.62, "{}", cv.auc);
        assert!(cv.lift_top10 > 1.5);
        assert_eq!(cv.fold_auc.len(), 5);
        assert!(cv.scores.iter().all(|s| s.is_finite()));
        // Labels unrelated to the features: AUC near one half out of fold.
        let noise: Vec<bool> = (0..n).map(|_| rng.uniform() < 0.3).collect();
        let cv = cross_validate(&x, 2, &noise, 5, 1, &params).unwrap();
        assert!((cv.auc - 0.5).abs() < 0.06, "{}", cv.auc);
    }

    #[test]
    fn platt_recovers_a_known_calibration() {
        // Outcomes drawn with p = sigmoid(2z − 1): the fit should find a ≈ 2, b ≈ −1.
        let mut rng = crate::rng::Rng::new(4);
        let z: Vec<f64> = (0..20_000).map(|_| rng.range(-3.0, 3.0)).collect();
        let y: Vec<bool> = z
            .iter()
            .map(|&z| rng.uniform() < 1.0 / (1.0 + (-(2.0 * z - 1.0)).exp()))
            .collect();
        let (a, b) = platt(&z, &y);
        assert!(
            (a - 2.0).abs() < 0.1 && (b + 1.0).abs() < 0.1,
            "a {a} b {b}"
        );
        assert!((brier(&[1.0, 0.0, 0.5], &[true, false, true]) - 0.25 / 3.0).abs() < 1e-12);
    }
}
