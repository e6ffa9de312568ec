//! Ranking metrics for binary detectors (higher score = more suspicious) and stratified folds.
//!
//! Conventions shared by every function here:
//!
//! * `scores[i]` and `labels[i]` describe row `i`; `true` is the positive class.
//! * A NaN score ranks below every number (a row the detector could not score is never
//!   flagged ahead of one it could).
//! * Ranking uses a *stable* sort by descending score, so equal scores keep row order: with
//!   ties, the earlier row is ranked first. Only the top-k metrics depend on this; ROC-AUC and
//!   average precision treat tied rows as a group instead.
//! * A metric that is undefined for the input (no positives, no negatives, empty input) is
//!   `None` rather than a number that looks meaningful.

use std::cmp::Ordering;

use crate::rng::Rng;

/// Descending score order used to compare scores: NaN last, otherwise by value.
fn desc(a: f64, b: f64) -> Ordering {
    match (a.is_nan(), b.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        (false, false) => b.partial_cmp(&a).unwrap_or(Ordering::Equal),
    }
}

/// Row indices from the highest to the lowest score, NaN last, ties in row order.
pub fn ranking(scores: &[f64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&i, &j| desc(scores[i], scores[j]));
    order
}

/// Area under the ROC curve, computed as the Mann–Whitney U statistic: the probability that a
/// random positive scores above a random negative, with ties counted as one half (tied rows
/// get their average rank). `None` without at least one positive and one negative, or if the
/// lengths differ.
pub fn roc_auc(scores: &[f64], labels: &[bool]) -> Option<f64> {
    if scores.len() != labels.len() {
        return None;
    }
    let n_pos = labels.iter().filter(|&&l| l).count();
    let n_neg = labels.len() - n_pos;
    if n_pos == 0 || n_neg == 0 {
        return None;
    }
    // Ascending order; walk groups of equal scores and give each the mean of its ranks.
    let mut order = ranking(scores);
    order.reverse();
    let mut rank_sum_pos = 0.0;
    let mut i = 0;
    while i < order.len() {
        let mut j = i + 1;
        while j < order.len() && desc(scores[order[i]], scores[order[j]]) == Ordering::Equal {
            j += 1;
        }
        // Ranks i+1 ..= j (1-based); their mean is (i + 1 + j) / 2.
        let mean_rank = (i + 1 + j) as f64 / 2.0;
        let pos_in_group = order[i..j].iter().filter(|&&r| labels[r]).count();
        rank_sum_pos += mean_rank * pos_in_group as f64;
        i = j;
    }
    let (p, n) = (n_pos as f64, n_neg as f64);
    let u = rank_sum_pos - p * (p + 1.0) / 2.0;
    Some(u / (p * n))
}

/// Average precision (area under the precision–recall curve, step-wise as scikit-learn's
/// `average_precision_score`): Σ over distinct score thresholds of
/// (recall gained at the threshold) × (precision at the threshold). Tied rows enter together.
/// `None` without positives or if the lengths differ.
pub fn average_precision(scores: &[f64], labels: &[bool]) -> Option<f64> {
    if scores.len() != labels.len() {
        return None;
    }
    let n_pos = labels.iter().filter(|&&l| l).count();
    if n_pos == 0 {
        return None;
    }
    let order = ranking(scores);
    let (mut tp, mut seen, mut ap) = (0usize, 0usize, 0.0);
    let mut i = 0;
    while i < order.len() {
        let mut j = i + 1;
        while j < order.len() && desc(scores[order[i]], scores[order[j]]) == Ordering::Equal {
            j += 1;
        }
        let gained = order[i..j].iter().filter(|&&r| labels[r]).count();
        tp += gained;
        seen += j - i;
        ap += gained as f64 / n_pos as f64 * (tp as f64 / seen as f64);
        i = j;
    }
    Some(ap)
}

/// The inspection budget for `fraction` of `n` rows: `max(1, round(fraction × n))`, at most `n`.
pub fn budget(n: usize, fraction: f64) -> usize {
    let k = (fraction * n as f64).round();
    let k = if k.is_finite() && k >= 1.0 {
        k as usize
    } else {
        1
    };
    k.min(n)
}

/// Share of positives among the `k = max(1, round(fraction × n))` top-scored rows: the hit
/// rate of inspectors who visit that many customers. Ties at the cut are broken by row order
/// (stable sort, see the module docs). `None` for empty input or mismatched lengths.
pub fn precision_at_fraction(scores: &[f64], labels: &[bool], fraction: f64) -> Option<f64> {
    if scores.is_empty() || scores.len() != labels.len() {
        return None;
    }
    let k = budget(scores.len(), fraction);
    let hits = ranking(scores)[..k].iter().filter(|&&r| labels[r]).count();
    Some(hits as f64 / k as f64)
}

/// Precision at the `fraction` budget divided by the base rate of positives: how many times
/// better than inspecting at random. `None` without positives, for empty input or mismatched
/// lengths.
pub fn lift_at_fraction(scores: &[f64], labels: &[bool], fraction: f64) -> Option<f64> {
    let precision = precision_at_fraction(scores, labels, fraction)?;
    let n_pos = labels.iter().filter(|&&l| l).count();
    if n_pos == 0 {
        return None;
    }
    Some(precision / (n_pos as f64 / labels.len() as f64))
}

/// MAP@k as used in the electricity-theft literature (Zheng et al. 2018 on SGCC data):
/// average precision truncated at rank `k`,
///
/// ```text
/// MAP@k = ( Σ_{i ≤ k, row at rank i is positive} precision@i ) / min(k, total positives)
/// ```
///
/// i.e. the mean, over the positives found in the top k, of the precision at their rank,
/// normalised so that a perfect ranking scores 1 even when there are fewer than k positives.
/// Ranks follow the stable order of the module docs. `None` without positives, for `k == 0`
/// or mismatched lengths.
pub fn map_at_k(scores: &[f64], labels: &[bool], k: usize) -> Option<f64> {
    if scores.len() != labels.len() || k == 0 {
        return None;
    }
    let n_pos = labels.iter().filter(|&&l| l).count();
    if n_pos == 0 {
        return None;
    }
    let order = ranking(scores);
    let mut hits = 0usize;
    let mut sum = 0.0;
    for (i, &r) in order.iter().take(k).enumerate() {
        if labels[r] {
            hits += 1;
            sum += hits as f64 / (i + 1) as f64;
        }
    }
    Some(sum / k.min(n_pos) as f64)
}

/// Fold index (`0..k`) for every row such that each fold holds nearly the same number of
/// positives and of negatives. Positives and negatives are shuffled separately with `seed` and
/// dealt round-robin over the folds; the negatives continue the deal where the positives
/// stopped, so fold sizes differ by at most one. `k` is clamped to at least 1.
pub fn stratified_kfold(labels: &[bool], k: usize, seed: u64) -> Vec<usize> {
    let k = k.max(1);
    let mut rng = Rng::new(seed);
    let mut pos: Vec<usize> = (0..labels.len()).filter(|&i| labels[i]).collect();
    let mut neg: Vec<usize> = (0..labels.len()).filter(|&i| !labels[i]).collect();
    rng.shuffle(&mut pos);
    rng.shuffle(&mut neg);
    let mut fold = vec![0; labels.len()];
    for (deal, &row) in pos.iter().chain(&neg).enumerate() {
        fold[row] = deal % k;
    }
    fold
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: Option<f64>, b: f64) -> bool {
        a.is_some_and(|a| (a - b).abs() < 1e-12)
    }

    #[test]
    fn auc_hand_computed_with_ties() {
        // scores 0.9(+) 0.8(-) 0.8(+) 0.1(-).
        // Pairs (pos, neg): (0.9,0.8)=1, (0.9,0.1)=1, (0.8,0.8)=½, (0.8,0.1)=1 → 3.5 / 4.
        let s = [0.9, 0.8, 0.8, 0.1];
        let l = [true, false, true, false];
        assert!(close(roc_auc(&s, &l), 0.875));
        // Perfect and inverted rankings.
        assert!(close(roc_auc(&[2.0, 1.0], &[true, false]), 1.0));
        assert!(close(roc_auc(&[1.0, 2.0], &[true, false]), 0.0));
        // All tied → ½.
        assert!(close(roc_auc(&[1.0; 4], &l), 0.5));
        assert_eq!(roc_auc(&[1.0, 2.0], &[true, true]), None);
        // NaN ranks lowest: the NaN positive loses to the negative.
        assert!(close(roc_auc(&[f64::NAN, 0.0], &[true, false]), 0.0));
    }

    #[test]
    fn average_precision_hand_computed() {
        // Ranking + - + -: thresholds give (recall, precision) = (½, 1), (½, ½), (1, ⅔), (1, ½).
        // AP = ½·1 + 0 + ½·⅔ + 0 = 5/6.
        let s = [0.9, 0.8, 0.7, 0.1];
        let l = [true, false, true, false];
        assert!(close(average_precision(&s, &l), 5.0 / 6.0));
        // Tie between the 2nd and 3rd rows: one threshold taking both, recall ½ → 1 at
        // precision 2/3: AP = ½·1 + ½·⅔ = 5/6 as well; with the tie at the top instead
        // (scores 0.9, 0.9, 0.7, 0.1 → +,- tied) AP = ½·½ + ½·⅔ = 7/12.
        assert!(close(
            average_precision(&[0.9, 0.8, 0.8, 0.1], &l),
            5.0 / 6.0
        ));
        assert!(close(
            average_precision(&[0.9, 0.9, 0.7, 0.1], &l),
            7.0 / 12.0
        ));
        assert_eq!(average_precision(&s, &[false; 4]), None);
    }

    #[test]
    fn precision_lift_and_budget() {
        // 10 rows, 3 positives; budget 20% → k = 2 top rows: rows 0 (+) and 2 (-) → ½.
        let s = [0.95, 0.1, 0.9, 0.3, 0.8, 0.2, 0.05, 0.4, 0.35, 0.0];
        let l = [
            true, false, false, false, true, false, false, false, true, false,
        ];
        assert!(close(precision_at_fraction(&s, &l, 0.2), 0.5));
        // Lift = ½ / (3/10) = 5/3.
        assert!(close(lift_at_fraction(&s, &l, 0.2), 5.0 / 3.0));
        // Budget rounds and is at least one row.
        assert_eq!(budget(10, 0.01), 1);
        assert_eq!(budget(10, 0.25), 3); // 2.5 rounds half away from zero
        assert_eq!(budget(10, 5.0), 10);
        // Ties at the cut: stable order → row 0 first.
        assert!(close(
            precision_at_fraction(&[1.0, 1.0], &[true, false], 0.5),
            1.0
        ));
        assert!(close(
            precision_at_fraction(&[1.0, 1.0], &[false, true], 0.5),
            0.0
        ));
    }

    #[test]
    fn map_at_k_hand_computed() {
        // Ranking by score: rows 0(+), 2(-), 4(+), 7(-), 8(+), ...
        // Top 3: + - + → precisions 1/1 and 2/3 → (1 + 2/3) / min(3, 3) = 5/9.
        let s = [0.95, 0.1, 0.9, 0.3, 0.8, 0.2, 0.05, 0.4, 0.35, 0.0];
        let l = [
            true, false, false, false, true, false, false, false, true, false,
        ];
        assert!(close(map_at_k(&s, &l, 3), 5.0 / 9.0));
        // Top 5: + - + - + → (1 + 2/3 + 3/5) / min(5, 3) = (34/15) / 3 = 34/45.
        assert!(close(map_at_k(&s, &l, 5), 34.0 / 45.0));
        // Perfect ranking with fewer positives than k scores 1.
        assert!(close(
            map_at_k(&[3.0, 2.0, 1.0], &[true, false, false], 100),
            1.0
        ));
        assert_eq!(map_at_k(&s, &l, 0), None);
    }

    #[test]
    fn stratified_folds_balance_classes() {
        let labels: Vec<bool> = (0..103).map(|i| i % 10 == 0).collect(); // 11 positives
        let folds = stratified_kfold(&labels, 5, 42);
        assert_eq!(folds.len(), 103);
        for f in 0..5 {
            let size = folds.iter().filter(|&&x| x == f).count();
            let pos = (0..103).filter(|&i| folds[i] == f && labels[i]).count();
            assert!((20..=21).contains(&size), "fold {f} size {size}");
            assert!((2..=3).contains(&pos), "fold {f} positives {pos}");
        }
        assert_eq!(folds, stratified_kfold(&labels, 5, 42));
        assert_ne!(folds, stratified_kfold(&labels, 5, 43));
    }
}
