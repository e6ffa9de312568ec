//! Just enough dense linear algebra for closed-form ridge regression: a row-major [`Matrix`],
//! accumulation of the normal equations XᵀX, XᵀY ([`NormalEquations`]) and a Cholesky solve of
//! the symmetric positive-definite system (XᵀX + λI) W = XᵀY for many right-hand sides at once.
//!
//! Everything is row-major `f64` so that the hot loops run over contiguous rows and the
//! compiler can vectorise them without `unsafe` or intrinsics.

use std::fmt;

/// Dense row-major matrix of `f64`.
#[derive(Debug, Clone, PartialEq)]
pub struct Matrix {
    rows: usize,
    cols: usize,
    data: Vec<f64>,
}

impl Matrix {
    /// A `rows × cols` matrix of zeros.
    pub fn zeros(rows: usize, cols: usize) -> Self {
        Self {
            rows,
            cols,
            data: vec![0.0; rows * cols],
        }
    }

    /// Wraps row-major `data`.
    ///
    /// # Panics
    /// If `data.len() != rows * cols`.
    pub fn from_row_major(rows: usize, cols: usize, data: Vec<f64>) -> Self {
        assert_eq!(data.len(), rows * cols, "matrix data has the wrong length");
        Self { rows, cols, data }
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Number of columns.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// Element `(i, j)`.
    pub fn get(&self, i: usize, j: usize) -> f64 {
        self.data[i * self.cols + j]
    }

    /// Sets element `(i, j)`.
    pub fn set(&mut self, i: usize, j: usize, value: f64) {
        self.data[i * self.cols + j] = value;
    }

    /// Row `i` as a slice.
    pub fn row(&self, i: usize) -> &[f64] {
        &self.data[i * self.cols..(i + 1) * self.cols]
    }

    /// The row-major storage.
    pub fn as_slice(&self) -> &[f64] {
        &self.data
    }
}

/// Why a solve failed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LinalgError {
    /// Cholesky met a non-positive (or non-finite) pivot at this index: the matrix is not
    /// numerically positive definite, typically λ = 0 with collinear features.
    NotPositiveDefinite { pivot: usize },
    /// Operand shapes do not agree.
    ShapeMismatch,
}

impl fmt::Display for LinalgError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotPositiveDefinite { pivot } => {
                write!(f, "matrix is not positive definite (pivot {pivot})")
            }
            Self::ShapeMismatch => f.write_str("matrix shapes do not agree"),
        }
    }
}

impl std::error::Error for LinalgError {}

/// Cholesky factor `L` (lower triangular, `A = L Lᵀ`) of a symmetric positive-definite matrix.
/// Only the lower triangle of `a` is read.
pub fn cholesky(a: &Matrix) -> Result<Matrix, LinalgError> {
    if a.rows != a.cols {
        return Err(LinalgError::ShapeMismatch);
    }
    let n = a.rows;
    let mut l = Matrix::zeros(n, n);
    for j in 0..n {
        // Row-oriented (Cholesky–Banachiewicz) so both dot-product operands are contiguous
        // prefixes of already-finished rows.
        let (done, rest) = l.data.split_at_mut(j * n);
        let row_j = &mut rest[..n];
        for i in 0..j {
            let row_i = &done[i * n..i * n + i];
            let dot: f64 = row_i.iter().zip(&row_j[..i]).map(|(x, y)| x * y).sum();
            row_j[i] = (a.get(j, i) - dot) / done[i * n + i];
        }
        let sq: f64 = row_j[..j].iter().map(|x| x * x).sum();
        let pivot = a.get(j, j) - sq;
        if !(pivot > 0.0 && pivot.is_finite()) {
            return Err(LinalgError::NotPositiveDefinite { pivot: j });
        }
        row_j[j] = pivot.sqrt();
    }
    Ok(l)
}

/// Solves `L Lᵀ X = B` in place (`b` becomes `X`) for all columns of `b` at once.
///
/// # Panics
/// If `l` is not square or its size differs from `b.rows()`.
pub fn cholesky_solve_in_place(l: &Matrix, b: &mut Matrix) {
    let n = l.rows;
    assert!(l.cols == n && b.rows == n, "cholesky_solve: shape mismatch");
    let m = b.cols;
    // Both substitutions are phrased as axpy over whole right-hand-side rows so that many
    // right-hand sides cost one contiguous pass each instead of strided column walks.
    for i in 0..n {
        let (solved, rest) = b.data.split_at_mut(i * m);
        let row_i = &mut rest[..m];
        for k in 0..i {
            let f = l.get(i, k);
            if f != 0.0 {
                axpy(row_i, -f, &solved[k * m..(k + 1) * m]);
            }
        }
        let inv = 1.0 / l.get(i, i);
        row_i.iter_mut().for_each(|v| *v *= inv);
    }
    for i in (0..n).rev() {
        let (head, solved) = b.data.split_at_mut((i + 1) * m);
        let row_i = &mut head[i * m..];
        for k in i + 1..n {
            let f = l.get(k, i);
            if f != 0.0 {
                let off = (k - i - 1) * m;
                axpy(row_i, -f, &solved[off..off + m]);
            }
        }
        let inv = 1.0 / l.get(i, i);
        row_i.iter_mut().for_each(|v| *v *= inv);
    }
}

/// Solves `A X = B` for symmetric positive-definite `A` (lower triangle read).
pub fn solve_spd(a: &Matrix, b: &Matrix) -> Result<Matrix, LinalgError> {
    if a.rows != b.rows {
        return Err(LinalgError::ShapeMismatch);
    }
    let l = cholesky(a)?;
    let mut x = b.clone();
    cholesky_solve_in_place(&l, &mut x);
    Ok(x)
}

/// `y += a * x`, written as a zip so it vectorises.
#[inline]
pub(crate) fn axpy(y: &mut [f64], a: f64, x: &[f64]) {
    for (yi, xi) in y.iter_mut().zip(x) {
        *yi += a * xi;
    }
}

/// Sufficient statistics of a multi-output least-squares problem: XᵀX (d × d), XᵀY (d × m),
/// trace(YᵀY) and the row count. Adding rows, merging and solving never revisit the data, so
/// one pass over the data serves every ridge penalty.
#[derive(Debug, Clone, PartialEq)]
pub struct NormalEquations {
    /// Only the upper triangle (j ≥ i) is meaningful; solves mirror it.
    xtx: Matrix,
    xty: Matrix,
    yty: f64,
    rows: usize,
}

impl NormalEquations {
    /// Empty statistics for `features` inputs and `targets` outputs.
    pub fn new(features: usize, targets: usize) -> Self {
        Self {
            xtx: Matrix::zeros(features, features),
            xty: Matrix::zeros(features, targets),
            yty: 0.0,
            rows: 0,
        }
    }

    /// Statistics computed elsewhere (e.g. in closed form). `xtx` must be symmetric or at least
    /// hold the upper triangle.
    ///
    /// # Panics
    /// If the shapes do not agree.
    pub fn from_parts(xtx: Matrix, xty: Matrix, yty_trace: f64, rows: usize) -> Self {
        assert!(
            xtx.rows == xtx.cols && xty.rows == xtx.rows,
            "normal equations: shape mismatch"
        );
        Self {
            xtx,
            xty,
            yty: yty_trace,
            rows,
        }
    }

    /// Number of input features d.
    pub fn features(&self) -> usize {
        self.xtx.rows
    }

    /// Number of outputs m.
    pub fn targets(&self) -> usize {
        self.xty.cols
    }

    /// Rows accumulated so far.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// XᵀX; only the upper triangle is meaningful.
    pub fn xtx_upper(&self) -> &Matrix {
        &self.xtx
    }

    /// XᵀY.
    pub fn xty(&self) -> &Matrix {
        &self.xty
    }

    /// trace(YᵀY), the total sum of squares of the targets.
    pub fn yty_trace(&self) -> f64 {
        self.yty
    }

    /// Adds a block of rows: `x` is `k × d` and `y` is `k × m`, both row-major.
    ///
    /// # Panics
    /// If the lengths are not multiples of d and m describing the same k.
    pub fn add_rows(&mut self, x: &[f64], y: &[f64]) {
        let d = self.features();
        let m = self.targets();
        assert!(
            d > 0 && x.len().is_multiple_of(d),
            "add_rows: x is not k × d"
        );
        let k = x.len() / d;
        assert_eq!(y.len(), k * m, "add_rows: y is not k × m");
        // Rank-4 updates: each pass over a row of XᵀX / XᵀY consumes four data rows, so the
        // d × (d + m) accumulators are streamed a quarter as often as with rank-1 updates.
        let mut r = 0;
        while r + 4 <= k {
            let xs = [
                &x[r * d..(r + 1) * d],
                &x[(r + 1) * d..(r + 2) * d],
                &x[(r + 2) * d..(r + 3) * d],
                &x[(r + 3) * d..(r + 4) * d],
            ];
            let ys = [
                &y[r * m..(r + 1) * m],
                &y[(r + 1) * m..(r + 2) * m],
                &y[(r + 2) * m..(r + 3) * m],
                &y[(r + 3) * m..(r + 4) * m],
            ];
            self.rank4(xs, ys);
            r += 4;
        }
        for r in r..k {
            self.rank1(&x[r * d..(r + 1) * d], &y[r * m..(r + 1) * m]);
        }
        self.rows += k;
    }

    fn rank4(&mut self, xs: [&[f64]; 4], ys: [&[f64]; 4]) {
        let d = self.features();
        let m = self.targets();
        for i in 0..d {
            let a = [xs[0][i], xs[1][i], xs[2][i], xs[3][i]];
            let crow = &mut self.xtx.data[i * d + i..(i + 1) * d];
            let (x0, x1, x2, x3) = (&xs[0][i..], &xs[1][i..], &xs[2][i..], &xs[3][i..]);
            for (j, c) in crow.iter_mut().enumerate() {
                *c += a[0] * x0[j] + a[1] * x1[j] + a[2] * x2[j] + a[3] * x3[j];
            }
            let crow = &mut self.xty.data[i * m..(i + 1) * m];
            let (y0, y1, y2, y3) = (ys[0], ys[1], ys[2], ys[3]);
            for (j, c) in crow.iter_mut().enumerate() {
                *c += a[0] * y0[j] + a[1] * y1[j] + a[2] * y2[j] + a[3] * y3[j];
            }
        }
        self.yty += ys.iter().flat_map(|y| y.iter()).map(|v| v * v).sum::<f64>();
    }

    fn rank1(&mut self, x: &[f64], y: &[f64]) {
        let d = self.features();
        let m = self.targets();
        for i in 0..d {
            let a = x[i];
            axpy(&mut self.xtx.data[i * d + i..(i + 1) * d], a, &x[i..]);
            axpy(&mut self.xty.data[i * m..(i + 1) * m], a, y);
        }
        self.yty += y.iter().map(|v| v * v).sum::<f64>();
    }

    /// Adds another accumulator of the same shape (e.g. from another series or thread).
    ///
    /// # Panics
    /// If the shapes differ.
    pub fn merge(&mut self, other: &Self) {
        assert!(
            self.features() == other.features() && self.targets() == other.targets(),
            "merge: shape mismatch"
        );
        self.xtx
            .data
            .iter_mut()
            .zip(&other.xtx.data)
            .for_each(|(a, b)| *a += b);
        self.xty
            .data
            .iter_mut()
            .zip(&other.xty.data)
            .for_each(|(a, b)| *a += b);
        self.yty += other.yty;
        self.rows += other.rows;
    }

    /// Ridge solution of (XᵀX + λI) W = XᵀY; W is d × m.
    pub fn solve_ridge(&self, lambda: f64) -> Result<Matrix, LinalgError> {
        self.solve_ridge_diag(&vec![lambda; self.features()])
    }

    /// Ridge solution with a per-feature penalty: (XᵀX + diag(penalty)) W = XᵀY. A zero entry
    /// leaves that feature (e.g. an intercept) unpenalised.
    pub fn solve_ridge_diag(&self, penalty: &[f64]) -> Result<Matrix, LinalgError> {
        let d = self.features();
        if penalty.len() != d {
            return Err(LinalgError::ShapeMismatch);
        }
        let mut a = Matrix::zeros(d, d);
        for (i, p) in penalty.iter().enumerate() {
            for j in i..d {
                let v = self.xtx.get(i, j);
                a.set(i, j, v);
                a.set(j, i, v);
            }
            a.data[i * d + i] += p;
        }
        solve_spd(&a, &self.xty)
    }

    /// Σ‖y − Wᵀx‖² over the accumulated rows, from the statistics alone:
    /// trace(YᵀY) − 2⟨W, XᵀY⟩ + ⟨W, XᵀX W⟩. This lets a held-out set score every candidate
    /// penalty without another pass over its rows.
    ///
    /// # Panics
    /// If `w` is not d × m.
    pub fn residual_sum_of_squares(&self, w: &Matrix) -> f64 {
        let d = self.features();
        let m = self.targets();
        assert!(w.rows == d && w.cols == m, "residual_sum_of_squares: shape");
        let mut gw = vec![0.0; m];
        let mut quad = 0.0;
        let mut cross = 0.0;
        for i in 0..d {
            gw.iter_mut().for_each(|v| *v = 0.0);
            for k in 0..d {
                let g = if k >= i {
                    self.xtx.get(i, k)
                } else {
                    self.xtx.get(k, i)
                };
                axpy(&mut gw, g, w.row(k));
            }
            quad += w.row(i).iter().zip(&gw).map(|(a, b)| a * b).sum::<f64>();
            cross += w
                .row(i)
                .iter()
                .zip(self.xty.row(i))
                .map(|(a, b)| a * b)
                .sum::<f64>();
        }
        (self.yty - 2.0 * cross + quad).max(0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cholesky_known_system() {
        // A = L Lᵀ with L = [[2,0,0],[6,1,0],[-8,5,3]] (the textbook example).
        let a = Matrix::from_row_major(
            3,
            3,
            vec![4.0, 12.0, -16.0, 12.0, 37.0, -43.0, -16.0, -43.0, 98.0],
        );
        let l = cholesky(&a).unwrap();
        let expect = [2.0, 0.0, 0.0, 6.0, 1.0, 0.0, -8.0, 5.0, 3.0];
        for (got, want) in l.as_slice().iter().zip(expect) {
            assert!((got - want).abs() < 1e-12);
        }
        // Two right-hand sides: x1 = (1, 2, 3), x2 = (-1, 0, 0.5).
        let b = Matrix::from_row_major(3, 2, vec![-20.0, -12.0, -43.0, -33.5, 192.0, 65.0]);
        let x = solve_spd(&a, &b).unwrap();
        let expect = [1.0, -1.0, 2.0, 0.0, 3.0, 0.5];
        for (got, want) in x.as_slice().iter().zip(expect) {
            assert!((got - want).abs() < 1e-10, "{got} vs {want}");
        }
    }

    #[test]
    fn cholesky_rejects_indefinite() {
        let a = Matrix::from_row_major(2, 2, vec![1.0, 2.0, 2.0, 1.0]);
        assert_eq!(
            cholesky(&a),
            Err(LinalgError::NotPositiveDefinite { pivot: 1 })
        );
    }

    #[test]
    fn normal_equations_match_naive_and_rss() {
        let (k, d, m) = (23, 5, 3);
        let x: Vec<f64> = (0..k * d)
            .map(|i| ((i * 37 % 101) as f64 / 50.0) - 1.0)
            .collect();
        let y: Vec<f64> = (0..k * m)
            .map(|i| ((i * 53 % 89) as f64 / 44.0) - 1.0)
            .collect();
        let mut ne = NormalEquations::new(d, m);
        ne.add_rows(&x[..7 * d], &y[..7 * m]);
        let mut rest = NormalEquations::new(d, m);
        rest.add_rows(&x[7 * d..], &y[7 * m..]);
        ne.merge(&rest);
        assert_eq!(ne.rows(), k);
        for i in 0..d {
            for j in i..d {
                let naive: f64 = (0..k).map(|r| x[r * d + i] * x[r * d + j]).sum();
                assert!((ne.xtx_upper().get(i, j) - naive).abs() < 1e-12);
            }
            for j in 0..m {
                let naive: f64 = (0..k).map(|r| x[r * d + i] * y[r * m + j]).sum();
                assert!((ne.xty().get(i, j) - naive).abs() < 1e-12);
            }
        }
        let w = ne.solve_ridge(0.5).unwrap();
        let rss: f64 = (0..k)
            .flat_map(|r| (0..m).map(move |j| (r, j)))
            .map(|(r, j)| {
                let pred: f64 = (0..d).map(|i| x[r * d + i] * w.get(i, j)).sum();
                (y[r * m + j] - pred).powi(2)
            })
            .sum();
        assert!((ne.residual_sum_of_squares(&w) - rss).abs() < 1e-9);
    }
}
