//! Nelder–Mead minimisation without derivatives (Nelder & Mead, 1965, with the standard
//! coefficients 1, 2, ½, ½), used to fit exponential-smoothing parameters. Parameters are
//! unconstrained; callers map them into their valid ranges.

/// Minimises `f` from `start`, with initial simplex steps `step` along each axis, for at most
/// `max_evals` evaluations or until the simplex's values agree within `tol` (absolute plus
/// relative). Returns the best point and its value. NaN values count as +∞.
pub fn nelder_mead(
    f: &mut dyn FnMut(&[f64]) -> f64,
    start: &[f64],
    step: f64,
    max_evals: usize,
    tol: f64,
) -> (Vec<f64>, f64) {
    let d = start.len();
    let mut eval = |x: &[f64]| {
        let v = f(x);
        if v.is_nan() { f64::INFINITY } else { v }
    };
    let mut simplex: Vec<(Vec<f64>, f64)> = Vec::with_capacity(d + 1);
    simplex.push((start.to_vec(), eval(start)));
    for i in 0..d {
        let mut x = start.to_vec();
        x[i] += step;
        let v = eval(&x);
        simplex.push((x, v));
    }
    let mut evals = d + 1;
    let mut centroid = vec![0.0; d];
    let point = |c: &[f64], w: &[f64], t: f64| -> Vec<f64> {
        c.iter().zip(w).map(|(c, w)| c + t * (w - c)).collect()
    };
    while evals < max_evals {
        simplex.sort_by(|a, b| a.1.total_cmp(&b.1));
        let (best, worst) = (simplex[0].1, simplex[d].1);
        if (worst - best).abs() <= tol * (1.0 + best.abs()) {
            break;
        }
        centroid.iter_mut().for_each(|c| *c = 0.0);
        for (x, _) in &simplex[..d] {
            for (c, v) in centroid.iter_mut().zip(x) {
                *c += v / d as f64;
            }
        }
        let reflected = point(&centroid, &simplex[d].0, -1.0);
        let fr = eval(&reflected);
        evals += 1;
        if fr < simplex[0].1 {
            let expanded = point(&centroid, &simplex[d].0, -2.0);
            let fe = eval(&expanded);
            evals += 1;
            simplex[d] = if fe < fr {
                (expanded, fe)
            } else {
                (reflected, fr)
            };
        } else if fr < simplex[d - 1].1 {
            simplex[d] = (reflected, fr);
        } else {
            // Contract toward the better of the worst point and its reflection.
            let (toward, fw) = if fr < simplex[d].1 {
                (reflected.clone(), fr)
            } else {
                (simplex[d].0.clone(), simplex[d].1)
            };
            let contracted = point(&centroid, &toward, 0.5);
            let fc = eval(&contracted);
            evals += 1;
            if fc < fw {
                simplex[d] = (contracted, fc);
            } else {
                let best = simplex[0].0.clone();
                for (x, v) in simplex.iter_mut().skip(1) {
                    *x = point(&best, x, 0.5);
                    *v = eval(x);
                }
                evals += d;
            }
        }
    }
    simplex.sort_by(|a, b| a.1.total_cmp(&b.1));
    simplex.swap_remove(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_rosenbrock_minimum() {
        let mut f = |x: &[f64]| (1.0 - x[0]).powi(2) + 100.0 * (x[1] - x[0] * x[0]).powi(2);
        let (x, v) = nelder_mead(&mut f, &[-1.2, 1.0], 0.5, 5_000, 1e-14);
        assert!(v < 1e-8, "{v}");
        assert!(
            (x[0] - 1.0).abs() < 1e-3 && (x[1] - 1.0).abs() < 1e-3,
            "{x:?}"
        );
    }

    #[test]
    fn nan_is_treated_as_infinite() {
        let mut f = |x: &[f64]| {
            if x[0] < 0.0 {
                f64::NAN
            } else {
                (x[0] - 2.0).powi(2)
            }
        };
        let (x, _) = nelder_mead(&mut f, &[0.5], 0.25, 500, 1e-12);
        assert!((x[0] - 2.0).abs() < 1e-4);
    }
}
