//! Forecast reconciliation for a tree hierarchy (total → regions → areas → customers): makes
//! every parent's forecast equal the sum of its children's, using the information at every
//! level, by weighted least squares (Wickramasuriya, Athanasopoulos & Hyndman, "MinT", 2019,
//! with a diagonal covariance):
//!
//! ```text
//! ỹ = S (Sᵀ W⁻¹ S)⁻¹ Sᵀ W⁻¹ ŷ
//! ```
//!
//! where S maps the bottom series to every node and W holds each node's forecast error variance
//! (from backtests). With W = I this is OLS reconciliation. A noisier node moves more.

use crate::linalg::{LinalgError, Matrix, solve_spd};

/// Reconciles `forecasts` (one row of horizon steps per node) on the tree given by `parents`
/// (`parents[i]` is node i's parent, `None` for roots). Nodes without children are the bottom
/// level. `variances[i] > 0` is node i's error variance; non-positive or non-finite values are
/// replaced by the smallest positive one given (or 1).
///
/// # Errors
/// If the weighted system is singular (cannot happen for positive weights) or the shapes
/// disagree.
pub fn reconcile(
    parents: &[Option<usize>],
    forecasts: &[Vec<f64>],
    variances: &[f64],
) -> Result<Vec<Vec<f64>>, LinalgError> {
    let n = parents.len();
    if forecasts.len() != n || variances.len() != n {
        return Err(LinalgError::ShapeMismatch);
    }
    let steps = forecasts.first().map_or(0, Vec::len);
    if forecasts.iter().any(|f| f.len() != steps) || parents.iter().flatten().any(|&p| p >= n) {
        return Err(LinalgError::ShapeMismatch);
    }
    let mut has_child = vec![false; n];
    for &p in parents.iter().flatten() {
        has_child[p] = true;
    }
    let bottom: Vec<usize> = (0..n).filter(|&i| !has_child[i]).collect();
    let floor = variances
        .iter()
        .copied()
        .filter(|v| *v > 0.0 && v.is_finite())
        .fold(f64::INFINITY, f64::min);
    let floor = if floor.is_finite() { floor } else { 1.0 };
    let inv_w: Vec<f64> = variances
        .iter()
        .map(|&v| 1.0 / if v > 0.0 && v.is_finite() { v } else { floor })
        .collect();
    // Ancestors of each bottom node, itself included (guarding against cycles).
    let ancestors: Vec<Vec<usize>> = bottom
        .iter()
        .map(|&b| {
            let mut chain = vec![b];
            let mut at = b;
            while let Some(p) = parents[at] {
                if chain.len() > n {
                    break;
                }
                chain.push(p);
                at = p;
            }
            chain
        })
        .collect();
    let nb = bottom.len();
    // Bottom descendants of each node.
    let mut below: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (j, chain) in ancestors.iter().enumerate() {
        for &a in chain {
            below[a].push(j);
        }
    }
    let mut a = Matrix::zeros(nb, nb);
    for (node, desc) in below.iter().enumerate() {
        for &j in desc {
            for &k in desc {
                a.set(j, k, a.get(j, k) + inv_w[node]);
            }
        }
    }
    let mut rhs = Matrix::zeros(nb, steps.max(1));
    for (j, chain) in ancestors.iter().enumerate() {
        for &node in chain {
            for (h, f) in forecasts[node].iter().enumerate() {
                rhs.set(j, h, rhs.get(j, h) + inv_w[node] * f);
            }
        }
    }
    let x = solve_spd(&a, &rhs)?;
    Ok(below
        .iter()
        .map(|desc| {
            (0..steps)
                .map(|h| desc.iter().map(|&j| x.get(j, h)).sum())
                .collect()
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coherent_forecasts_are_left_alone() {
        // total(0) = a(1) + b(2)
        let parents = [None, Some(0), Some(0)];
        let f = vec![vec![10.0, 12.0], vec![4.0, 5.0], vec![6.0, 7.0]];
        let r = reconcile(&parents, &f, &[1.0, 1.0, 1.0]).unwrap();
        for (a, b) in r.iter().flatten().zip(f.iter().flatten()) {
            assert!((a - b).abs() < 1e-9);
        }
    }

    #[test]
    fn ols_splits_the_incoherence_by_hand() {
        // Total says 12, children say 4 + 6 = 10. OLS: x = (SᵀS)⁻¹Sᵀŷ with SᵀS = [[2,1],[1,2]],
        // Sᵀŷ = [16, 18] → x = [14/3, 20/3], total 34/3.
        let parents = [None, Some(0), Some(0)];
        let f = vec![vec![12.0], vec![4.0], vec![6.0]];
        let r = reconcile(&parents, &f, &[1.0, 1.0, 1.0]).unwrap();
        assert!((r[1][0] - 14.0 / 3.0).abs() < 1e-9);
        assert!((r[2][0] - 20.0 / 3.0).abs() < 1e-9);
        assert!((r[0][0] - 34.0 / 3.0).abs() < 1e-9);
    }

    #[test]
    fn a_precise_total_pulls_the_children_and_three_levels_add_up() {
        // total(0) → r1(1), r2(2); r1 → a(3), b(4); r2 → c(5)
        let parents = [None, Some(0), Some(0), Some(1), Some(1), Some(2)];
        let f = vec![
            vec![100.0],
            vec![50.0],
            vec![40.0],
            vec![20.0],
            vec![25.0],
            vec![45.0],
        ];
        let r = reconcile(&parents, &f, &[1e-6, 1.0, 1.0, 1.0, 1.0, 1.0]).unwrap();
        assert!((r[0][0] - 100.0).abs() < 1e-3, "{}", r[0][0]);
        assert!((r[1][0] - r[3][0] - r[4][0]).abs() < 1e-9);
        assert!((r[2][0] - r[5][0]).abs() < 1e-9);
        assert!((r[0][0] - r[1][0] - r[2][0]).abs() < 1e-9);
    }

    #[test]
    fn bad_shapes_are_errors() {
        assert!(reconcile(&[None, Some(5)], &[vec![1.0], vec![1.0]], &[1.0, 1.0]).is_err());
        assert!(reconcile(&[None], &[vec![1.0], vec![1.0]], &[1.0]).is_err());
    }
}
