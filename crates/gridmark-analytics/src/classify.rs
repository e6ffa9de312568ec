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
}
