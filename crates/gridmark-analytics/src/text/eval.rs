//! The evaluation protocol for text classifiers: accuracy and macro-F1 as scikit-learn computes
//! them, a stratified train/test split and stratified k-fold assignment for multi-class labels.
//!
//! The split allocates rows per class exactly like sklearn's
//! `train_test_split(..., stratify=y)` (same train and test counts per class; ties in the
//! rounding go to the lower label instead of a random one), but draws the rows with this
//! crate's [`Rng`], not NumPy's, so the rows themselves differ: results on it are the same
//! protocol, not the identical split. To compare with a peer on the very same rows, write the
//! split out and let the peer read it (`bench/text_peer.py --split`).

use std::collections::BTreeMap;

use super::TextError;
use crate::rng::Rng;

/// Share of rows whose predicted label equals the true one; `None` when the inputs are empty
/// or differ in length.
pub fn accuracy(truth: &[usize], predicted: &[usize]) -> Option<f64> {
    if truth.is_empty() || truth.len() != predicted.len() {
        return None;
    }
    let hits = truth.iter().zip(predicted).filter(|(t, p)| t == p).count();
    Some(hits as f64 / truth.len() as f64)
}

/// F1 of every label that occurs in `truth` or `predicted`, in label order:
/// `2·TP / (2·TP + FP + FN)` (0 when a label is never predicted correctly), as sklearn's
/// `f1_score(average=None)` with `zero_division=0`. Empty when the inputs differ in length.
pub fn f1_per_class(truth: &[usize], predicted: &[usize]) -> Vec<(usize, f64)> {
    if truth.len() != predicted.len() {
        return Vec::new();
    }
    // label → (true positives, false positives, false negatives)
    let mut counts: BTreeMap<usize, (usize, usize, usize)> = BTreeMap::new();
    for (&t, &p) in truth.iter().zip(predicted) {
        if t == p {
            counts.entry(t).or_default().0 += 1;
        } else {
            counts.entry(p).or_default().1 += 1;
            counts.entry(t).or_default().2 += 1;
        }
    }
    counts
        .into_iter()
        .map(|(label, (tp, fp, fn_))| {
            let denominator = 2 * tp + fp + fn_;
            let f1 = if denominator == 0 {
                0.0
            } else {
                2.0 * tp as f64 / denominator as f64
            };
            (label, f1)
        })
        .collect()
}

/// Unweighted mean of [`f1_per_class`], as sklearn's `f1_score(average="macro")`; `None` when
/// the inputs are empty or differ in length.
pub fn macro_f1(truth: &[usize], predicted: &[usize]) -> Option<f64> {
    if truth.is_empty() || truth.len() != predicted.len() {
        return None;
    }
    let per_class = f1_per_class(truth, predicted);
    Some(per_class.iter().map(|&(_, f)| f).sum::<f64>() / per_class.len() as f64)
}

/// Row indices of a train/test split, each ascending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    /// Training rows.
    pub train: Vec<usize>,
    /// Test rows.
    pub test: Vec<usize>,
}

/// A stratified split with `ceil(test_fraction · n)` test rows, allocated over the classes as
/// sklearn's `train_test_split(..., test_size=test_fraction, stratify=labels)` does, with rows
/// drawn by a seeded shuffle within each class.
///
/// # Errors
/// [`TextError::InvalidParams`] when `test_fraction` is not in (0, 1) or leaves the train or
/// the test side empty; [`TextError::Empty`] when there are no labels.
pub fn stratified_split(
    labels: &[usize],
    test_fraction: f64,
    seed: u64,
) -> Result<Split, TextError> {
    if labels.is_empty() {
        return Err(TextError::Empty);
    }
    if !(test_fraction > 0.0 && test_fraction < 1.0) {
        return Err(TextError::InvalidParams("test_fraction must be in (0, 1)"));
    }
    let n = labels.len();
    let n_test = (test_fraction * n as f64).ceil() as usize;
    if n_test == 0 || n_test >= n {
        return Err(TextError::InvalidParams(
            "test_fraction leaves no train or no test rows",
        ));
    }
    let n_train = n - n_test;
    let classes = rows_by_class(labels);
    let counts: Vec<usize> = classes.iter().map(Vec::len).collect();
    // sklearn draws the train counts first, then the test counts from what is left.
    let train_counts = approximate_mode(&counts, n_train);
    let left: Vec<usize> = counts
        .iter()
        .zip(&train_counts)
        .map(|(c, t)| c - t)
        .collect();
    let test_counts = approximate_mode(&left, n_test);
    let mut rng = Rng::new(seed);
    let mut split = Split {
        train: Vec::with_capacity(n_train),
        test: Vec::with_capacity(n_test),
    };
    for (k, mut rows) in classes.into_iter().enumerate() {
        rng.shuffle(&mut rows);
        split.train.extend_from_slice(&rows[..train_counts[k]]);
        split
            .test
            .extend_from_slice(&rows[train_counts[k]..train_counts[k] + test_counts[k]]);
    }
    split.train.sort_unstable();
    split.test.sort_unstable();
    Ok(split)
}

/// Fold index (`0..k`) of every row such that each fold holds nearly the same number of rows
/// of every class: each class's rows are shuffled with `seed` and dealt round-robin over the
/// folds, each class continuing the deal where the previous one stopped, so fold sizes differ
/// by at most one. `k` is clamped to at least 1. Same protocol as sklearn's
/// `StratifiedKFold(shuffle=True)`, not its identical folds.
pub fn stratified_kfold(labels: &[usize], k: usize, seed: u64) -> Vec<usize> {
    let k = k.max(1);
    let mut rng = Rng::new(seed);
    let mut fold = vec![0; labels.len()];
    let mut deal = 0;
    for mut rows in rows_by_class(labels) {
        rng.shuffle(&mut rows);
        for row in rows {
            fold[row] = deal % k;
            deal += 1;
        }
    }
    fold
}

/// Rows of each distinct label, in label order.
fn rows_by_class(labels: &[usize]) -> Vec<Vec<usize>> {
    let mut by: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (row, &l) in labels.iter().enumerate() {
        by.entry(l).or_default().push(row);
    }
    by.into_values().collect()
}

/// sklearn's `_approximate_mode`: `draws` split over the classes in proportion to `counts`,
/// floored, with the shortfall going to the largest remainders (lower class first on ties,
/// where sklearn picks at random).
fn approximate_mode(counts: &[usize], draws: usize) -> Vec<usize> {
    let total = counts.iter().sum::<usize>() as f64;
    // Same operation order as NumPy (`counts / total * draws`), so the floors agree.
    let continuous: Vec<f64> = counts
        .iter()
        .map(|&c| c as f64 / total * draws as f64)
        .collect();
    let mut out: Vec<usize> = continuous.iter().map(|c| c.floor() as usize).collect();
    let mut short = draws.saturating_sub(out.iter().sum());
    let mut order: Vec<usize> = (0..counts.len()).collect();
    let remainder = |k: usize| continuous[k] - continuous[k].floor();
    order.sort_by(|&a, &b| remainder(b).total_cmp(&remainder(a)).then(a.cmp(&b)));
    for k in order {
        if short == 0 {
            break;
        }
        if out[k] < counts[k] {
            out[k] += 1;
            short -= 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: Option<f64>, b: f64) -> bool {
        a.is_some_and(|a| (a - b).abs() < 1e-12)
    }

    #[test]
    fn macro_f1_hand_computed() {
        // truth 0 0 0 1 1 2, predicted 0 0 1 1 2 2:
        //   class 0: TP 2, FP 0, FN 1 → 4/5; class 1: TP 1, FP 1, FN 1 → 2/4;
        //   class 2: TP 1, FP 1, FN 0 → 2/3. Macro = (0.8 + 0.5 + 0.6667) / 3 = 59/90.
        let t = [0, 0, 0, 1, 1, 2];
        let p = [0, 0, 1, 1, 2, 2];
        assert!(close(macro_f1(&t, &p), 59.0 / 90.0));
        assert!(close(accuracy(&t, &p), 4.0 / 6.0));
        // A label only predicted counts with F1 0 (sklearn: labels = union of both sides);
        // a label in neither side does not count at all.
        // truth 0 0 1 1, predicted 0 0 1 5: F1 = 1, 2/3, 0 → 5/9.
        assert!(close(macro_f1(&[0, 0, 1, 1], &[0, 0, 1, 5]), 5.0 / 9.0));
        assert_eq!(f1_per_class(&[0, 0, 1, 1], &[0, 0, 1, 5]).len(), 3);
        assert_eq!(macro_f1(&[], &[]), None);
        assert_eq!(accuracy(&[1], &[1, 2]), None);
    }

    #[test]
    fn split_counts_match_sklearn() {
        // waimai_10k: 7,987 negatives, 4,000 positives. sklearn (test_size=0.2): 2,398 test rows,
        // train counts 6,389 and 3,200, test counts 1,598 and 800.
        let labels: Vec<usize> = (0..11_987).map(|i| usize::from(i >= 7_987)).collect();
        let s = stratified_split(&labels, 0.2, 42).unwrap();
        assert_eq!(s.test.len(), 2_398);
        assert_eq!(s.train.len(), 9_589);
        let test_pos = s.test.iter().filter(|&&r| labels[r] == 1).count();
        assert_eq!(test_pos, 800);
        // Disjoint and covering, ascending, reproducible.
        let mut all: Vec<usize> = s.train.iter().chain(&s.test).copied().collect();
        all.sort_unstable();
        assert_eq!(all, (0..11_987).collect::<Vec<_>>());
        assert!(s.test.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(s, stratified_split(&labels, 0.2, 42).unwrap());
        assert_ne!(s, stratified_split(&labels, 0.2, 43).unwrap());
        assert!(stratified_split(&labels, 1.0, 42).is_err());
        assert!(stratified_split(&[], 0.2, 42).is_err());
    }

    #[test]
    fn approximate_mode_hand_computed() {
        // 10 draws over counts 5, 3, 2 (total 10): exact 5, 3, 2.
        assert_eq!(approximate_mode(&[5, 3, 2], 10), vec![5, 3, 2]);
        // 4 draws over 5, 3, 2: 2.0, 1.2, 0.8 → floors 2, 1, 0, one short → largest remainder
        // (0.8) → 2, 1, 1.
        assert_eq!(approximate_mode(&[5, 3, 2], 4), vec![2, 1, 1]);
    }

    #[test]
    fn kfold_balances_every_class() {
        let labels: Vec<usize> = (0..100)
            .map(|i| i % 3 + usize::from(i % 10 == 0) * 7)
            .collect();
        let folds = stratified_kfold(&labels, 5, 1);
        for f in 0..5 {
            let size = folds.iter().filter(|&&x| x == f).count();
            assert!((19..=21).contains(&size));
            for class in [0, 1, 2, 7, 8, 9] {
                let total = labels.iter().filter(|&&l| l == class).count();
                let here = (0..100)
                    .filter(|&i| folds[i] == f && labels[i] == class)
                    .count();
                assert!(here * 5 >= total.saturating_sub(4) && here * 5 <= total + 4);
            }
        }
        assert_eq!(folds, stratified_kfold(&labels, 5, 1));
    }
}
