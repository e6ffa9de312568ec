//! Electricity-theft detection on daily consumption series (one row per customer, one value
//! per day, NaN = missing, every row covering the same days).
//!
//! * [`attack`]: the six synthetic attacks of Jokar et al. (2016) and injection into a share of
//!   customers, for evaluation where real theft labels are missing.
//! * [`features`]: per-series features measured against a [`Reference`] profile fitted on
//!   training rows.
//! * [`model`]: the supervised [`TheftModel`] (gradient-boosted trees over the features, with
//!   per-customer reasons) and the label-free [`UnsupervisedModel`].
//! * [`eval`]: stratified k-fold evaluation of both, with per-fold, pooled and per-attack
//!   metrics and out-of-fold scores.
//!
//! ```
//! use gridmark_analytics::theft::{self, TheftModel, TheftParams};
//!
//! // 60 honest customers with a weekly rhythm and a season; a fifth of them get attacked.
//! let mut rows: Vec<Vec<f64>> = (0..60)
//!     .map(|c| {
//!         (0..140)
//!             .map(|t| {
//!                 let season = 1.0 + 0.3 * (t as f64 / 140.0 * 6.28).cos();
//!                 let weekend = if t % 7 >= 5 { 1.3 } else { 1.0 };
//!                 (5.0 + c as f64 % 7.0) * season * weekend
//!             })
//!             .collect()
//!     })
//!     .collect();
//! let attacks = theft::inject_share(&mut rows, 0.2, 7);
//! let labels: Vec<bool> = attacks.iter().map(Option::is_some).collect();
//!
//! let mut params = TheftParams::default();
//! params.gbdt.min_samples_leaf = 2;
//! let model = TheftModel::fit(&rows, &labels, &params).unwrap();
//! let scores = model.score_many(&rows);
//! assert_eq!(scores.len(), 60);
//! ```

pub mod attack;
pub mod eval;
pub mod features;
pub mod model;

pub use attack::{Attack, UnknownAttack, inject, inject_share};
pub use eval::{AttackAuc, FoldMetrics, RowScore, TheftEvaluation, evaluate, evaluate_with};
pub use features::{Extractor, Reference, ReferenceError};
pub use model::{Reason, TheftError, TheftModel, TheftParams, UnsupervisedModel, feature_matrix};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    /// Synthetic households: level, season, weekly rhythm, a shared "weather" shock per day
    /// and personal noise.
    fn households(n: usize, days: usize, seed: u64) -> Vec<Vec<f64>> {
        let mut rng = Rng::new(seed);
        let weather: Vec<f64> = (0..days).map(|_| rng.range(-0.15, 0.15)).collect();
        (0..n)
            .map(|_| {
                let level = rng.range(3.0, 25.0);
                let amp = rng.range(0.1, 0.5);
                let weekend = rng.range(1.0, 1.4);
                (0..days)
                    .map(|t| {
                        let season = 1.0 + amp * (t as f64 * std::f64::consts::TAU / 365.0).cos();
                        let wk = if t % 7 >= 4 { weekend } else { 1.0 };
                        let noise = rng.range(-0.1, 0.1);
                        level * season * wk * (1.0 + weather[t] + noise)
                    })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn evaluate_detects_synthetic_attacks_and_is_deterministic() {
        let mut rows = households(300, 365, 1);
        let attacks = inject_share(&mut rows, 0.2, 42);
        let labels: Vec<bool> = attacks.iter().map(Option::is_some).collect();
        let ids: Vec<String> = (0..rows.len()).map(|i| format!("c{i}")).collect();
        let mut params = TheftParams::default();
        params.gbdt.n_trees = 60;
        let ev = evaluate_with(&ids, &rows, &labels, Some(&attacks), 3, 42, &params).unwrap();
        assert_eq!(ev.folds.len(), 3);
        assert_eq!(ev.folds.iter().map(|f| f.n).sum::<usize>(), 300);
        assert_eq!(ev.rows.len(), 300);
        assert!(ev.rows.iter().all(|r| r.score.is_finite()));
        assert!(ev.auc > 0.9, "supervised AUC {}", ev.auc);
        assert!(
            ev.unsupervised_auc > 0.7,
            "unsupervised AUC {}",
            ev.unsupervised_auc
        );
        assert_eq!(ev.per_attack.len(), 6);
        // The shape-destroying attacks are easy.
        for a in &ev.per_attack {
            if matches!(a.attack, Attack::H4 | Attack::H5) {
                assert!(a.auc > 0.95, "{a:?}");
            }
        }
        // One thread gives the same scores as two.
        params.gbdt.threads = 1;
        let again = evaluate_with(&ids, &rows, &labels, Some(&attacks), 3, 42, &params).unwrap();
        assert_eq!(again.rows, ev.rows);
    }

    #[test]
    fn test_rows_do_not_influence_their_own_fold() {
        // Changing a test row must not change any other row's out-of-fold score in that fold.
        let mut rows = households(120, 200, 3);
        let attacks = inject_share(&mut rows, 0.25, 1);
        let labels: Vec<bool> = attacks.iter().map(Option::is_some).collect();
        let ids: Vec<String> = (0..rows.len()).map(|i| i.to_string()).collect();
        let mut params = TheftParams::default();
        params.gbdt.n_trees = 30;
        params.gbdt.min_samples_leaf = 5;
        let a = evaluate_with(&ids, &rows, &labels, None, 4, 5, &params).unwrap();
        let target = 0;
        let fold = a.rows[target].fold;
        rows[target].iter_mut().for_each(|v| *v *= 100.0);
        let b = evaluate_with(&ids, &rows, &labels, None, 4, 5, &params).unwrap();
        for (i, (ra, rb)) in a.rows.iter().zip(&b.rows).enumerate() {
            if ra.fold == fold && i != target {
                assert_eq!(ra.score, rb.score, "row {i}");
                assert_eq!(ra.unsupervised, rb.unsupervised, "row {i}");
            }
        }
    }

    #[test]
    fn model_explains_and_rejects_bad_input() {
        let mut rows = households(200, 365, 9);
        let attacks = inject_share(&mut rows, 0.2, 3);
        let labels: Vec<bool> = attacks.iter().map(Option::is_some).collect();
        let mut params = TheftParams::default();
        params.gbdt.n_trees = 50;
        let model = TheftModel::fit(&rows, &labels, &params).unwrap();
        let flat = attacks.iter().position(|a| *a == Some(Attack::H5)).unwrap();
        let reasons = model.explain(&rows[flat], 3);
        assert!(!reasons.is_empty() && reasons.len() <= 3);
        assert!(
            reasons
                .windows(2)
                .all(|w| w[0].contribution >= w[1].contribution)
        );
        // Streaming scores equal one-by-one scores.
        let many = model.score_many(&rows);
        for (i, row) in rows.iter().enumerate().take(20) {
            assert_eq!(many[i], model.score(row));
        }
        // A short series still scores (reference comparisons become missing).
        assert!(model.score(&[1.0; 30]).is_finite());
        assert_eq!(
            TheftModel::fit(&rows, &labels[1..], &params),
            Err(TheftError::LengthMismatch)
        );
        let mut ragged = rows.clone();
        ragged[5].pop();
        assert!(matches!(
            TheftModel::fit(&ragged, &labels, &params),
            Err(TheftError::Reference(_))
        ));
        // Unsupervised: flat and zeroed rows stand out without labels.
        let unsup = UnsupervisedModel::fit(&rows, 2).unwrap();
        let scores = unsup.score_many(&rows);
        let honest_mean = scores
            .iter()
            .zip(&labels)
            .filter(|(_, l)| !**l)
            .map(|(s, _)| s)
            .sum::<f64>()
            / labels.iter().filter(|l| !**l).count() as f64;
        assert!(scores[flat] > honest_mean);
    }
}
