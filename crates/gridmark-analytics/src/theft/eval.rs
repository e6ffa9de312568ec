//! Stratified k-fold evaluation of the supervised and unsupervised detectors.
//!
//! For each fold, everything that is fitted — the reference profile, the level distribution,
//! the bin edges and trees, the unsupervised indicator percentiles — is fitted on the other
//! folds' rows only; the fold's rows are then scored. Metrics are computed per fold and
//! averaged (the usual way published theft results are reported), and the out-of-fold scores
//! of all rows are kept for pooled and per-attack metrics.

use std::time::Instant;

use super::attack::Attack;
use super::model::{TheftError, TheftModel, TheftParams, UnsupervisedModel};
use crate::metrics::{self, map_at_k, precision_at_fraction, roc_auc};

/// Inspection budget used for precision: the top 10 % of each fold.
pub const BUDGET_FRACTION: f64 = 0.10;
/// Cut-off of MAP@k.
pub const MAP_K: usize = 100;

/// Metrics of one test fold (NaN where undefined, e.g. a fold without positives).
#[derive(Debug, Clone, PartialEq)]
pub struct FoldMetrics {
    /// Fold index.
    pub fold: usize,
    /// Rows in the fold.
    pub n: usize,
    /// Positive rows in the fold.
    pub positives: usize,
    /// Supervised ROC-AUC.
    pub auc: f64,
    /// Supervised precision at the 10 % budget.
    pub precision_at_10pct: f64,
    /// Supervised MAP@100.
    pub map_at_100: f64,
    /// Unsupervised ROC-AUC.
    pub unsupervised_auc: f64,
    /// Unsupervised precision at the 10 % budget.
    pub unsupervised_precision_at_10pct: f64,
}

/// Out-of-fold scores of one row.
#[derive(Debug, Clone, PartialEq)]
pub struct RowScore {
    /// The row's id.
    pub id: String,
    /// Its label.
    pub label: bool,
    /// The attack injected into it, if known.
    pub attack: Option<Attack>,
    /// The fold it was scored in.
    pub fold: usize,
    /// Supervised theft probability.
    pub score: f64,
    /// Unsupervised anomaly score.
    pub unsupervised: f64,
}

/// AUC of one attack type: its rows against all honest rows, on out-of-fold scores.
#[derive(Debug, Clone, PartialEq)]
pub struct AttackAuc {
    /// The attack.
    pub attack: Attack,
    /// Rows carrying it.
    pub rows: usize,
    /// Supervised AUC (NaN if undefined).
    pub auc: f64,
    /// Unsupervised AUC (NaN if undefined).
    pub unsupervised_auc: f64,
}

/// The outcome of [`evaluate`].
#[derive(Debug, Clone, PartialEq)]
pub struct TheftEvaluation {
    /// Per-fold metrics.
    pub folds: Vec<FoldMetrics>,
    /// Fold average of the supervised ROC-AUC.
    pub auc: f64,
    /// Fold average of the supervised precision at the 10 % budget.
    pub precision_at_10pct: f64,
    /// Fold average of the supervised MAP@100.
    pub map_at_100: f64,
    /// Fold average of the unsupervised ROC-AUC.
    pub unsupervised_auc: f64,
    /// Fold average of the unsupervised precision at the 10 % budget.
    pub unsupervised_precision_at_10pct: f64,
    /// Supervised ROC-AUC over all out-of-fold scores pooled.
    pub pooled_auc: f64,
    /// Unsupervised ROC-AUC over all out-of-fold scores pooled.
    pub pooled_unsupervised_auc: f64,
    /// Per-attack AUCs (empty unless attacks were given).
    pub per_attack: Vec<AttackAuc>,
    /// Out-of-fold scores, in input order.
    pub rows: Vec<RowScore>,
    /// Wall-clock seconds for the whole evaluation.
    pub seconds: f64,
}

fn or_nan(v: Option<f64>) -> f64 {
    v.unwrap_or(f64::NAN)
}

fn mean_defined(v: impl Iterator<Item = f64>) -> f64 {
    let (s, n) = v
        .filter(|x| !x.is_nan())
        .fold((0.0, 0usize), |(s, n), x| (s + x, n + 1));
    if n == 0 { f64::NAN } else { s / n as f64 }
}

/// [`evaluate_with`] using [`TheftParams::default`] with the tree and augmentation seeds set
/// to `seed`.
pub fn evaluate<I: AsRef<str>, S: AsRef<[f64]> + Sync>(
    ids: &[I],
    series: &[S],
    labels: &[bool],
    attacks: Option<&[Option<Attack>]>,
    folds: usize,
    seed: u64,
) -> Result<TheftEvaluation, TheftError> {
    let mut params = TheftParams::default();
    params.gbdt.seed = seed;
    params.augment_seed = seed;
    evaluate_with(ids, series, labels, attacks, folds, seed, &params)
}

/// Stratified `folds`-fold cross-validation (fold assignment from `seed`, see
/// [`metrics::stratified_kfold`]) of the supervised detector with `params` and of the
/// unsupervised score. Folds run in parallel over `params.gbdt.threads` threads; each fold's
/// own work is single-threaded so results do not depend on the thread count.
pub fn evaluate_with<I: AsRef<str>, S: AsRef<[f64]> + Sync>(
    ids: &[I],
    series: &[S],
    labels: &[bool],
    attacks: Option<&[Option<Attack>]>,
    folds: usize,
    seed: u64,
    params: &TheftParams,
) -> Result<TheftEvaluation, TheftError> {
    let started = Instant::now();
    let n = series.len();
    if n == 0 {
        return Err(TheftError::NoRows);
    }
    if labels.len() != n || ids.len() != n || attacks.is_some_and(|a| a.len() != n) {
        return Err(TheftError::LengthMismatch);
    }
    if folds < 2 {
        return Err(TheftError::BadFolds);
    }
    let fold_of = metrics::stratified_kfold(labels, folds, seed);
    let mut fold_params = params.clone();
    fold_params.gbdt.threads = 1;

    // (fold, test rows, supervised scores, unsupervised scores)
    type FoldOut = Result<(usize, Vec<usize>, Vec<f64>, Vec<f64>), TheftError>;
    let run_fold = |f: usize| -> FoldOut {
        let (test, train): (Vec<usize>, Vec<usize>) = (0..n).partition(|&i| fold_of[i] == f);
        let train_series: Vec<&[f64]> = train.iter().map(|&i| series[i].as_ref()).collect();
        let train_labels: Vec<bool> = train.iter().map(|&i| labels[i]).collect();
        if !train_labels.iter().any(|&l| l) || train_labels.iter().all(|&l| l) {
            return Err(TheftError::BadFolds);
        }
        let test_series: Vec<&[f64]> = test.iter().map(|&i| series[i].as_ref()).collect();
        let mut fold_params = fold_params.clone();
        fold_params.augment_seed = params.augment_seed ^ (f as u64 + 1);
        let model = TheftModel::fit(&train_series, &train_labels, &fold_params)?;
        let supervised = model.score_many(&test_series);
        let unsup = UnsupervisedModel::fit(&train_series, 1)?;
        let unsupervised = unsup.score_many(&test_series);
        Ok((f, test, supervised, unsupervised))
    };
    let threads = params.gbdt.threads.clamp(1, folds);
    let results: Vec<FoldOut> = if threads == 1 {
        (0..folds).map(run_fold).collect()
    } else {
        std::thread::scope(|s| {
            let handles: Vec<_> = (0..threads)
                .map(|t| {
                    let run_fold = &run_fold;
                    s.spawn(move || {
                        (t..folds)
                            .step_by(threads)
                            .map(run_fold)
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| match h.join() {
                    Ok(v) => v,
                    Err(e) => std::panic::resume_unwind(e),
                })
                .collect()
        })
    };

    let mut score = vec![f64::NAN; n];
    let mut unsupervised = vec![f64::NAN; n];
    let mut fold_metrics = Vec::with_capacity(folds);
    for result in results {
        let (f, test, sup, uns) = result?;
        let y: Vec<bool> = test.iter().map(|&i| labels[i]).collect();
        for (k, &i) in test.iter().enumerate() {
            score[i] = sup[k];
            unsupervised[i] = uns[k];
        }
        fold_metrics.push(FoldMetrics {
            fold: f,
            n: test.len(),
            positives: y.iter().filter(|&&l| l).count(),
            auc: or_nan(roc_auc(&sup, &y)),
            precision_at_10pct: or_nan(precision_at_fraction(&sup, &y, BUDGET_FRACTION)),
            map_at_100: or_nan(map_at_k(&sup, &y, MAP_K)),
            unsupervised_auc: or_nan(roc_auc(&uns, &y)),
            unsupervised_precision_at_10pct: or_nan(precision_at_fraction(
                &uns,
                &y,
                BUDGET_FRACTION,
            )),
        });
    }
    fold_metrics.sort_by_key(|m| m.fold);

    let per_attack = match attacks {
        None => Vec::new(),
        Some(attacks) => Attack::ALL
            .iter()
            .filter_map(|&a| {
                let rows: Vec<usize> = (0..n)
                    .filter(|&i| attacks[i] == Some(a) || (!labels[i] && attacks[i].is_none()))
                    .collect();
                let y: Vec<bool> = rows.iter().map(|&i| attacks[i] == Some(a)).collect();
                let count = y.iter().filter(|&&l| l).count();
                (count > 0).then(|| {
                    let pick = |s: &[f64]| rows.iter().map(|&i| s[i]).collect::<Vec<f64>>();
                    AttackAuc {
                        attack: a,
                        rows: count,
                        auc: or_nan(roc_auc(&pick(&score), &y)),
                        unsupervised_auc: or_nan(roc_auc(&pick(&unsupervised), &y)),
                    }
                })
            })
            .collect(),
    };

    let rows = (0..n)
        .map(|i| RowScore {
            id: ids[i].as_ref().to_string(),
            label: labels[i],
            attack: attacks.and_then(|a| a[i]),
            fold: fold_of[i],
            score: score[i],
            unsupervised: unsupervised[i],
        })
        .collect();
    Ok(TheftEvaluation {
        auc: mean_defined(fold_metrics.iter().map(|m| m.auc)),
        precision_at_10pct: mean_defined(fold_metrics.iter().map(|m| m.precision_at_10pct)),
        map_at_100: mean_defined(fold_metrics.iter().map(|m| m.map_at_100)),
        unsupervised_auc: mean_defined(fold_metrics.iter().map(|m| m.unsupervised_auc)),
        unsupervised_precision_at_10pct: mean_defined(
            fold_metrics
                .iter()
                .map(|m| m.unsupervised_precision_at_10pct),
        ),
        pooled_auc: or_nan(roc_auc(&score, labels)),
        pooled_unsupervised_auc: or_nan(roc_auc(&unsupervised, labels)),
        folds: fold_metrics,
        per_attack,
        rows,
        seconds: started.elapsed().as_secs_f64(),
    })
}
