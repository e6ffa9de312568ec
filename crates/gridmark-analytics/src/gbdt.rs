//! Gradient-boosted decision trees for binary classification (log-loss, [`fit`]) and regression
//! (squared error, [`fit_regression`]), histogram-based in the manner of LightGBM (Ke et al.,
//! 2017).
//!
//! * **Binning.** Every feature is cut into at most 255 quantile bins whose edges come from the
//!   training rows only; a split "bin ≤ b" is stored as the raw threshold "value ≤ edge[b]", so
//!   prediction never needs the bin edges and unseen values fall on the right side naturally.
//! * **Missing values.** `f64::NAN` is missing. Missing values get a bin of their own; each
//!   split tries sending them left and right and keeps the better, which becomes the node's
//!   default direction. If a node saw no missing values, they follow the larger child.
//! * **Growth.** Leaf-wise (best-first): the leaf whose best split gains most is split next,
//!   until `max_leaves` leaves or no split gains. `max_depth` optionally caps depth. The
//!   smaller child's histogram is built from its rows and the larger one's is the parent's
//!   minus it, which halves histogram work.
//! * **Regularisation.** Newton leaf values −G/(H+λ) scaled by the learning rate, a minimum
//!   number of rows and of hessian per leaf, per-tree feature and row sampling from a seed.
//! * **Early stopping** (optional) on a stratified validation share carved from the training
//!   rows; the model is truncated to the best iteration.
//! * **Explanations.** [`Model::contributions`] credits each split on a row's decision path
//!   with the change in node value it causes (Saabas, "Interpreting random forests", 2014), so
//!   a score decomposes exactly into [`Model::bias`] plus one term per feature.
//!
//! Everything is deterministic given [`Params::seed`]: histograms are summed per feature by one
//! thread each, so the thread count does not change results.
//!
//! ```
//! use gridmark_analytics::gbdt::{self, Params};
//!
//! // One feature; the label is "x > 0.5".
//! let x: Vec<f64> = (0..400).map(|i| f64::from(i) / 400.0).collect();
//! let y: Vec<bool> = x.iter().map(|&v| v > 0.5).collect();
//! let model = gbdt::fit(&x, 1, &y, &Params { n_trees: 50, ..Params::default() }).unwrap();
//! assert!(model.predict_proba(&[0.9]) > 0.9);
//! assert!(model.predict_proba(&[0.1]) < 0.1);
//! ```

use std::fmt;

use crate::rng::Rng;

/// Bin index reserved for missing values; value bins are `0..=254`.
const MISSING_BIN: u8 = 255;
/// Histogram slots per feature (254 value bins at most + the missing bin, rounded to 256).
const SLOTS: usize = 256;

/// Training parameters. The defaults are LightGBM's where they exist (except the tree count
/// and learning rate, chosen for small tabular problems).
#[derive(Debug, Clone, PartialEq)]
pub struct Params {
    /// Number of boosting rounds (upper bound when early stopping is on).
    pub n_trees: usize,
    /// Shrinkage applied to every leaf value.
    pub learning_rate: f64,
    /// Leaves per tree (leaf-wise growth stops here).
    pub max_leaves: usize,
    /// Optional depth cap (root = depth 0).
    pub max_depth: Option<usize>,
    /// Minimum training rows in a leaf.
    pub min_samples_leaf: usize,
    /// Minimum sum of hessians p(1−p) in a leaf; keeps leaves off rows that are already
    /// classified with near certainty.
    pub min_hessian_leaf: f64,
    /// L2 penalty λ on leaf values.
    pub lambda_l2: f64,
    /// A split must gain more than this (in log-loss Newton units).
    pub min_split_gain: f64,
    /// Share of features offered to each tree, in (0, 1].
    pub feature_fraction: f64,
    /// Share of rows used to grow each tree, in (0, 1].
    pub bagging_fraction: f64,
    /// Most value bins per feature (2..=255).
    pub max_bins: usize,
    /// Seed for feature/row sampling and the early-stopping split.
    pub seed: u64,
    /// Stop when a held-out share of the training rows stops improving.
    pub early_stopping: Option<EarlyStopping>,
    /// Threads for histogram building and batch prediction (1 = none spawned).
    pub threads: usize,
}

impl Default for Params {
    fn default() -> Self {
        Self {
            n_trees: 300,
            learning_rate: 0.05,
            max_leaves: 31,
            max_depth: None,
            min_samples_leaf: 20,
            min_hessian_leaf: 1e-3,
            lambda_l2: 1.0,
            min_split_gain: 0.0,
            feature_fraction: 1.0,
            bagging_fraction: 1.0,
            max_bins: 255,
            seed: 0,
            early_stopping: None,
            threads: 2,
        }
    }
}

/// Early stopping on a validation share of the training rows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EarlyStopping {
    /// Share of training rows held out (stratified by label), in (0, 1).
    pub validation_fraction: f64,
    /// Stop after this many rounds without a better validation log-loss.
    pub patience: usize,
}

/// Why fitting failed.
#[derive(Debug, Clone, PartialEq)]
pub enum GbdtError {
    /// `n_features` is zero.
    NoFeatures,
    /// No training rows.
    NoRows,
    /// `x.len()` is not `y.len() × n_features`.
    ShapeMismatch,
    /// A parameter is out of its documented range.
    InvalidParams(&'static str),
    /// A saved model could not be read.
    Format(String),
}

impl fmt::Display for GbdtError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoFeatures => f.write_str("no features"),
            Self::NoRows => f.write_str("no training rows"),
            Self::ShapeMismatch => f.write_str("x does not hold y.len() rows of n_features"),
            Self::InvalidParams(what) => write!(f, "invalid parameter: {what}"),
            Self::Format(what) => write!(f, "not a valid model: {what}"),
        }
    }
}

impl std::error::Error for GbdtError {}

impl Params {
    fn check(&self) -> Result<(), GbdtError> {
        let unit = |v: f64| v > 0.0 && v <= 1.0;
        if self.n_trees == 0 {
            return Err(GbdtError::InvalidParams("n_trees must be ≥ 1"));
        }
        if !(self.learning_rate > 0.0 && self.learning_rate.is_finite()) {
            return Err(GbdtError::InvalidParams("learning_rate must be > 0"));
        }
        if self.max_leaves < 2 {
            return Err(GbdtError::InvalidParams("max_leaves must be ≥ 2"));
        }
        if !(self.lambda_l2 >= 0.0 && self.lambda_l2.is_finite()) {
            return Err(GbdtError::InvalidParams("lambda_l2 must be ≥ 0"));
        }
        if !unit(self.feature_fraction) || !unit(self.bagging_fraction) {
            return Err(GbdtError::InvalidParams("fractions must be in (0, 1]"));
        }
        if !(2..=255).contains(&self.max_bins) {
            return Err(GbdtError::InvalidParams("max_bins must be in 2..=255"));
        }
        if let Some(es) = self.early_stopping
            && !(es.validation_fraction > 0.0 && es.validation_fraction < 1.0 && es.patience > 0)
        {
            return Err(GbdtError::InvalidParams(
                "early stopping needs a fraction in (0, 1) and patience ≥ 1",
            ));
        }
        Ok(())
    }
}

/// One tree node. Internal nodes keep their own (Newton, shrunk) value too, which the Saabas
/// attribution needs.
#[derive(Debug, Clone, PartialEq)]
struct Node {
    /// Split feature (unused for leaves).
    feature: u32,
    /// Rows with `value <= threshold` go left.
    threshold: f64,
    /// Same split on the binned scale: `bin <= bin` goes left (training only).
    bin: u8,
    /// Where missing values go.
    default_left: bool,
    left: u32,
    right: u32,
    /// −G/(H+λ) · learning rate of the rows that reached this node during training.
    value: f64,
    /// Gain of the split (0 for leaves); summed per feature for importances.
    gain: f64,
    is_leaf: bool,
}

impl Node {
    fn leaf(value: f64) -> Self {
        Self {
            feature: 0,
            threshold: 0.0,
            bin: 0,
            default_left: true,
            left: 0,
            right: 0,
            value,
            gain: 0.0,
            is_leaf: true,
        }
    }
}

/// A regression tree over raw feature values.
#[derive(Debug, Clone, PartialEq)]
pub struct Tree {
    nodes: Vec<Node>,
}

impl Tree {
    /// Index of the leaf `row` falls in.
    fn leaf_index(&self, row: &[f64]) -> usize {
        let mut i = 0;
        loop {
            let node = &self.nodes[i];
            if node.is_leaf {
                return i;
            }
            let v = row.get(node.feature as usize).copied().unwrap_or(f64::NAN);
            let left = if v.is_nan() {
                node.default_left
            } else {
                v <= node.threshold
            };
            i = if left { node.left } else { node.right } as usize;
        }
    }

    /// The tree's output for `row`.
    pub fn predict(&self, row: &[f64]) -> f64 {
        self.nodes[self.leaf_index(row)].value
    }

    /// Number of leaves.
    pub fn leaves(&self) -> usize {
        self.nodes.iter().filter(|n| n.is_leaf).count()
    }

    /// Leaf value for a training row given by its bins (column-major storage).
    fn predict_binned(&self, bins: &[u8], n_rows: usize, row: usize) -> f64 {
        let mut i = 0;
        loop {
            let node = &self.nodes[i];
            if node.is_leaf {
                return node.value;
            }
            let b = bins[node.feature as usize * n_rows + row];
            let left = if b == MISSING_BIN {
                node.default_left
            } else {
                b <= node.bin
            };
            i = if left { node.left } else { node.right } as usize;
        }
    }
}

/// A fitted binary classifier.
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    n_features: usize,
    base_score: f64,
    trees: Vec<Tree>,
    threads: usize,
    /// Validation log-loss after each round, when early stopping was on.
    validation_logloss: Vec<f64>,
}

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

impl Model {
    /// Number of features the model was trained on.
    pub fn n_features(&self) -> usize {
        self.n_features
    }

    /// The trees, in boosting order.
    pub fn trees(&self) -> &[Tree] {
        &self.trees
    }

    /// The initial raw score (log-odds of the training positive rate).
    pub fn base_score(&self) -> f64 {
        self.base_score
    }

    /// Validation loss per round — log-loss, or mean squared error for a regressor (empty
    /// without early stopping).
    pub fn validation_logloss(&self) -> &[f64] {
        &self.validation_logloss
    }

    /// Raw score (log-odds). Missing trailing features are treated as NaN.
    pub fn predict_raw(&self, row: &[f64]) -> f64 {
        self.base_score + self.trees.iter().map(|t| t.predict(row)).sum::<f64>()
    }

    /// Probability of the positive class.
    pub fn predict_proba(&self, row: &[f64]) -> f64 {
        sigmoid(self.predict_raw(row))
    }

    /// Probabilities for row-major `x` (`n_features` values per row; a trailing partial row is
    /// ignored). Splits the rows over the configured threads.
    pub fn predict_many(&self, x: &[f64]) -> Vec<f64> {
        self.map_rows(x, Self::predict_proba)
    }

    /// Raw scores (log-odds for a classifier, values for a regressor) for row-major `x`.
    pub fn predict_many_raw(&self, x: &[f64]) -> Vec<f64> {
        self.map_rows(x, Self::predict_raw)
    }

    fn map_rows(&self, x: &[f64], score: fn(&Self, &[f64]) -> f64) -> Vec<f64> {
        let d = self.n_features.max(1);
        let n = x.len() / d;
        let mut out = vec![0.0; n];
        let threads = self.threads.clamp(1, 64);
        if threads == 1 || n < 1024 {
            for (o, row) in out.iter_mut().zip(x.chunks_exact(d)) {
                *o = score(self, row);
            }
            return out;
        }
        let per = n.div_ceil(threads);
        std::thread::scope(|s| {
            for (o, rows) in out.chunks_mut(per).zip(x[..n * d].chunks(per * d)) {
                s.spawn(move || {
                    for (o, row) in o.iter_mut().zip(rows.chunks_exact(d)) {
                        *o = score(self, row);
                    }
                });
            }
        });
        out
    }

    /// The raw score every row starts from before any split credits it: the base score plus
    /// every tree's root value. `bias() + contributions(row).sum() == predict_raw(row)`.
    pub fn bias(&self) -> f64 {
        self.base_score + self.trees.iter().map(|t| t.nodes[0].value).sum::<f64>()
    }

    /// Per-feature contributions to the raw score of `row` (Saabas path attribution): for each
    /// tree, the change in node value from a node to the child the row goes to is credited to
    /// the node's split feature. They sum to `predict_raw(row) − bias()`.
    pub fn contributions(&self, row: &[f64]) -> Vec<f64> {
        let mut out = vec![0.0; self.n_features];
        for tree in &self.trees {
            let mut i = 0;
            loop {
                let node = &tree.nodes[i];
                if node.is_leaf {
                    break;
                }
                let v = row.get(node.feature as usize).copied().unwrap_or(f64::NAN);
                let left = if v.is_nan() {
                    node.default_left
                } else {
                    v <= node.threshold
                };
                let next = if left { node.left } else { node.right } as usize;
                out[node.feature as usize] += tree.nodes[next].value - node.value;
                i = next;
            }
        }
        out
    }

    /// The model as text: a header line, then one line per tree node. Floats are written in
    /// Rust's shortest round-trip form, so [`Model::from_text`] restores identical predictions.
    pub fn to_text(&self) -> String {
        use std::fmt::Write as _;
        let mut s = format!(
            "gridmark-gbdt 1 features {} base {} trees {}\n",
            self.n_features,
            self.base_score,
            self.trees.len()
        );
        for t in &self.trees {
            let _ = writeln!(s, "tree {}", t.nodes.len());
            for n in &t.nodes {
                let _ = writeln!(
                    s,
                    "{} {} {} {} {} {} {} {}",
                    u8::from(n.is_leaf),
                    n.feature,
                    n.threshold,
                    u8::from(n.default_left),
                    n.left,
                    n.right,
                    n.value,
                    n.gain
                );
            }
        }
        s
    }

    /// Reads a model written by [`Model::to_text`]; says which line is wrong.
    pub fn from_text(text: &str) -> Result<Model, GbdtError> {
        let bad = |line: usize, what: &str| GbdtError::Format(format!("line {line}: {what}"));
        let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l));
        let (_, header) = lines.next().ok_or_else(|| bad(1, "empty model"))?;
        let h: Vec<&str> = header.split_whitespace().collect();
        if h.len() != 8 || h[0] != "gridmark-gbdt" || h[1] != "1" || h[2] != "features" {
            return Err(bad(1, "not a gridmark-gbdt version 1 model"));
        }
        let n_features: usize = h[3].parse().map_err(|_| bad(1, "feature count"))?;
        let base_score: f64 = h[5].parse().map_err(|_| bad(1, "base score"))?;
        let n_trees: usize = h[7].parse().map_err(|_| bad(1, "tree count"))?;
        let mut trees = Vec::with_capacity(n_trees.min(100_000));
        for _ in 0..n_trees {
            let (ln, line) = lines.next().ok_or_else(|| bad(0, "the file ends early"))?;
            let count: usize = line
                .strip_prefix("tree ")
                .and_then(|c| c.trim().parse().ok())
                .filter(|&c| c > 0)
                .ok_or_else(|| bad(ln, "expected `tree <nodes>`"))?;
            let mut nodes = Vec::with_capacity(count.min(1 << 20));
            for at in 0..count {
                let (ln, line) = lines.next().ok_or_else(|| bad(0, "the file ends early"))?;
                let f: Vec<&str> = line.split_whitespace().collect();
                if f.len() != 8 {
                    return Err(bad(ln, "a node needs 8 fields"));
                }
                let num = |i: usize| f[i].parse::<f64>().map_err(|_| bad(ln, "not a number"));
                let idx = |i: usize| f[i].parse::<u32>().map_err(|_| bad(ln, "not an index"));
                let node = Node {
                    is_leaf: f[0] == "1",
                    feature: idx(1)?,
                    threshold: num(2)?,
                    bin: 0,
                    default_left: f[3] == "1",
                    left: idx(4)?,
                    right: idx(5)?,
                    value: num(6)?,
                    gain: num(7)?,
                };
                // Children come after their parent, so a file cannot make a loop.
                let inside = |c: u32| (c as usize) < count && c as usize > at;
                if !node.is_leaf
                    && ((node.feature as usize) >= n_features
                        || !inside(node.left)
                        || !inside(node.right))
                {
                    return Err(bad(ln, "a split points outside the tree or the features"));
                }
                nodes.push(node);
            }
            trees.push(Tree { nodes });
        }
        Ok(Model {
            n_features,
            base_score,
            trees,
            threads: 2,
            validation_logloss: Vec::new(),
        })
    }

    /// Total split gain per feature: a global importance measure.
    pub fn feature_importance_gain(&self) -> Vec<f64> {
        let mut out = vec![0.0; self.n_features];
        for node in self.trees.iter().flat_map(|t| &t.nodes) {
            if !node.is_leaf {
                out[node.feature as usize] += node.gain;
            }
        }
        out
    }
}

/// Quantile bin edges of one feature: value bin `b` holds `edges[b−1] < v ≤ edges[b]`.
fn bin_edges(values: &mut Vec<f64>, max_bins: usize) -> Vec<f64> {
    values.retain(|v| !v.is_nan());
    values.sort_by(f64::total_cmp);
    if values.is_empty() {
        return Vec::new();
    }
    // Distinct values with multiplicities.
    let mut distinct: Vec<(f64, usize)> = Vec::new();
    for &v in values.iter() {
        match distinct.last_mut() {
            Some((last, c)) if *last == v => *c += 1,
            _ => distinct.push((v, 1)),
        }
    }
    let between = |a: f64, b: f64| {
        let m = a / 2.0 + b / 2.0;
        if m.is_finite() && m >= a && m < b {
            m
        } else {
            a
        }
    };
    let mut edges = Vec::new();
    if distinct.len() <= max_bins {
        for w in distinct.windows(2) {
            edges.push(between(w[0].0, w[1].0));
        }
        return edges;
    }
    // Greedy equal-frequency cut over distinct values: close a bin once it has reached its
    // share of the rows; heavy single values get a bin to themselves.
    let target = values.len() as f64 / max_bins as f64;
    let mut acc = 0usize;
    for i in 0..distinct.len() - 1 {
        acc += distinct[i].1;
        if acc as f64 >= target * (edges.len() + 1) as f64 {
            edges.push(between(distinct[i].0, distinct[i + 1].0));
            if edges.len() == max_bins - 1 {
                break;
            }
        }
    }
    edges
}

fn bin_value(edges: &[f64], v: f64) -> u8 {
    if v.is_nan() {
        MISSING_BIN
    } else {
        edges.partition_point(|&e| e < v) as u8
    }
}

/// Gradient/hessian/count sums of one histogram slot.
#[derive(Debug, Clone, Copy, Default)]
struct Slot {
    g: f64,
    h: f64,
    n: u32,
}

impl Slot {
    fn sub(self, o: Slot) -> Slot {
        Slot {
            g: self.g - o.g,
            h: self.h - o.h,
            n: self.n - o.n,
        }
    }
    fn add(self, o: Slot) -> Slot {
        Slot {
            g: self.g + o.g,
            h: self.h + o.h,
            n: self.n + o.n,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Split {
    feature: usize,
    bin: u8,
    default_left: bool,
    gain: f64,
    left: Slot,
    right: Slot,
}

/// Training data after binning, column-major.
struct Binned {
    n_rows: usize,
    bins: Vec<u8>,
    /// Number of value bins per feature (edges + 1, or 0 if the feature is all missing).
    value_bins: Vec<usize>,
    edges: Vec<Vec<f64>>,
}

impl Binned {
    fn column(&self, f: usize) -> &[u8] {
        &self.bins[f * self.n_rows..(f + 1) * self.n_rows]
    }
}

/// Everything the tree grower needs that stays fixed within one tree.
struct GrowCtx<'a> {
    data: &'a Binned,
    grad: &'a [f64],
    hess: &'a [f64],
    features: &'a [usize],
    params: &'a Params,
}

fn leaf_weight(s: Slot, lambda: f64) -> f64 {
    -s.g / (s.h + lambda)
}

fn score(s: Slot, lambda: f64) -> f64 {
    s.g * s.g / (s.h + lambda)
}

impl GrowCtx<'_> {
    /// Histogram of `rows` over the sampled features: slot block `k` belongs to
    /// `features[k]`. The buffer comes from `pool` (histograms are large and a tree needs
    /// many, so they are recycled rather than reallocated).
    fn histogram(&self, rows: &[u32], pool: &mut Vec<Vec<Slot>>) -> Vec<Slot> {
        let len = self.features.len() * SLOTS;
        let mut hist = pool.pop().unwrap_or_default();
        hist.clear();
        hist.resize(len, Slot::default());
        let og: Vec<(f64, f64)> = rows
            .iter()
            .map(|&r| (self.grad[r as usize], self.hess[r as usize]))
            .collect();
        let fill = |hist: &mut [Slot], features: &[usize]| {
            for (h, &f) in hist.chunks_exact_mut(SLOTS).zip(features) {
                let col = self.data.column(f);
                for (&r, &(g, hh)) in rows.iter().zip(&og) {
                    let slot = &mut h[col[r as usize] as usize];
                    slot.g += g;
                    slot.h += hh;
                    slot.n += 1;
                }
            }
        };
        let threads = self.params.threads.clamp(1, 64);
        if threads == 1 || rows.len() * self.features.len() < 200_000 {
            fill(&mut hist, self.features);
            return hist;
        }
        // Contiguous feature ranges, one per thread; every feature is summed by exactly one
        // thread, so results do not depend on the thread count.
        let per = self.features.len().div_ceil(threads);
        std::thread::scope(|s| {
            for (chunk, feats) in hist.chunks_mut(per * SLOTS).zip(self.features.chunks(per)) {
                let fill = &fill;
                s.spawn(move || fill(chunk, feats));
            }
        });
        hist
    }

    /// Best split of a node with histogram `hist` and totals `total`.
    fn best_split(&self, hist: &[Slot], total: Slot) -> Option<Split> {
        let p = self.params;
        let lambda = p.lambda_l2;
        let min_n = p.min_samples_leaf.max(1) as u32;
        let parent = score(total, lambda);
        let ok = |s: Slot| s.n >= min_n && s.h >= p.min_hessian_leaf;
        let mut best: Option<Split> = None;
        for (h, &f) in hist.chunks_exact(SLOTS).zip(self.features) {
            let nvb = self.data.value_bins[f];
            if nvb == 0 {
                continue;
            }
            let miss = h[MISSING_BIN as usize];
            let mut left = Slot::default();
            for (b, &slot) in h[..nvb].iter().enumerate() {
                left = left.add(slot);
                let values_right = total.sub(miss).sub(left);
                // (missing goes left?, left, right)
                let mut options = [(false, left, values_right.add(miss)), (true, left, left)];
                let n_options = if miss.n > 0 {
                    options[1] = (true, left.add(miss), values_right);
                    2
                } else {
                    // No missing values here: they will follow the larger child.
                    options[0].0 = left.n >= values_right.n;
                    1
                };
                for &(default_left, l, r) in &options[..n_options] {
                    if !ok(l) || !ok(r) {
                        continue;
                    }
                    let gain = score(l, lambda) + score(r, lambda) - parent;
                    if gain > p.min_split_gain
                        && gain > 1e-12
                        && best.is_none_or(|bs| gain > bs.gain)
                    {
                        best = Some(Split {
                            feature: f,
                            bin: b as u8,
                            default_left,
                            gain,
                            left: l,
                            right: r,
                        });
                    }
                }
            }
        }
        best
    }

    /// Grows one tree over `rows` (reordered in place).
    fn grow(&self, rows: &mut [u32], pool: &mut Vec<Vec<Slot>>) -> Tree {
        struct Leaf {
            node: usize,
            start: usize,
            end: usize,
            depth: usize,
            hist: Vec<Slot>,
            best: Option<Split>,
        }
        let p = self.params;
        let lambda = p.lambda_l2;
        let lr = p.learning_rate;
        let depth_ok = |d: usize| p.max_depth.is_none_or(|m| d < m);
        let total = rows.iter().fold(Slot::default(), |acc, &r| Slot {
            g: acc.g + self.grad[r as usize],
            h: acc.h + self.hess[r as usize],
            n: acc.n + 1,
        });
        let mut nodes = vec![Node::leaf(leaf_weight(total, lambda) * lr)];
        let hist = self.histogram(rows, pool);
        let best = if depth_ok(0) {
            self.best_split(&hist, total)
        } else {
            None
        };
        let mut leaves = vec![Leaf {
            node: 0,
            start: 0,
            end: rows.len(),
            depth: 0,
            hist,
            best,
        }];
        let mut scratch: Vec<u32> = Vec::with_capacity(rows.len());
        while leaves.len() < p.max_leaves {
            // Leaf with the largest gain; ties → the earliest leaf, for determinism.
            let mut pick: Option<(usize, f64)> = None;
            for (i, leaf) in leaves.iter().enumerate() {
                if let Some(s) = leaf.best
                    && pick.is_none_or(|(_, g)| s.gain > g)
                {
                    pick = Some((i, s.gain));
                }
            }
            let Some((li, _)) = pick else { break };
            let leaf = leaves.swap_remove(li);
            let Some(split) = leaf.best else { break };
            // Stable partition of the leaf's rows.
            let col = self.data.column(split.feature);
            let goes_left = |r: u32| {
                let b = col[r as usize];
                if b == MISSING_BIN {
                    split.default_left
                } else {
                    b <= split.bin
                }
            };
            let seg = &mut rows[leaf.start..leaf.end];
            scratch.clear();
            let mut w = 0;
            for i in 0..seg.len() {
                let r = seg[i];
                if goes_left(r) {
                    seg[w] = r;
                    w += 1;
                } else {
                    scratch.push(r);
                }
            }
            seg[w..].copy_from_slice(&scratch);
            let mid = leaf.start + w;

            let left_id = nodes.len();
            let right_id = left_id + 1;
            let threshold = self.data.edges[split.feature]
                .get(split.bin as usize)
                .copied()
                .unwrap_or(f64::INFINITY);
            let parent = &mut nodes[leaf.node];
            parent.is_leaf = false;
            parent.feature = split.feature as u32;
            parent.threshold = threshold;
            parent.bin = split.bin;
            parent.default_left = split.default_left;
            parent.left = left_id as u32;
            parent.right = right_id as u32;
            parent.gain = split.gain;
            nodes.push(Node::leaf(leaf_weight(split.left, lambda) * lr));
            nodes.push(Node::leaf(leaf_weight(split.right, lambda) * lr));

            // Histogram of the smaller child from its rows, the larger by subtraction.
            let small = if w <= leaf.end - mid {
                (leaf.start, mid)
            } else {
                (mid, leaf.end)
            };
            let small_hist = self.histogram(&rows[small.0..small.1], pool);
            let mut large_hist = leaf.hist;
            for (l, s) in large_hist.iter_mut().zip(&small_hist) {
                *l = l.sub(*s);
            }
            let (left_hist, right_hist) = if small.0 == leaf.start {
                (small_hist, large_hist)
            } else {
                (large_hist, small_hist)
            };
            let depth = leaf.depth + 1;
            for (node, start, end, hist, sums) in [
                (left_id, leaf.start, mid, left_hist, split.left),
                (right_id, mid, leaf.end, right_hist, split.right),
            ] {
                let best = if depth_ok(depth) {
                    self.best_split(&hist, sums)
                } else {
                    None
                };
                leaves.push(Leaf {
                    node,
                    start,
                    end,
                    depth,
                    hist,
                    best,
                });
            }
        }
        pool.extend(leaves.into_iter().map(|l| l.hist));
        Tree { nodes }
    }
}

fn logloss(raw: &[f64], y: &[bool]) -> f64 {
    let sum: f64 = raw
        .iter()
        .zip(y)
        .map(|(&z, &l)| {
            // log(1 + e^{−z}) for positives, log(1 + e^{z}) for negatives, computed stably.
            let m = if l { -z } else { z };
            m.max(0.0) + (-m.abs()).exp().ln_1p()
        })
        .sum();
    sum / raw.len().max(1) as f64
}

/// Fits a classifier to row-major `x` (`y.len()` rows of `n_features`), NaN = missing.
pub fn fit(x: &[f64], n_features: usize, y: &[bool], params: &Params) -> Result<Model, GbdtError> {
    fit_target(x, n_features, Target::Binary(y), params)
}

/// Fits a regressor (squared error) to row-major `x` (`y.len()` rows of `n_features`), NaN =
/// missing. Predict with [`Model::predict_raw`] or [`Model::predict_many_raw`]; the
/// early-stopping loss is the validation mean squared error.
pub fn fit_regression(
    x: &[f64],
    n_features: usize,
    y: &[f64],
    params: &Params,
) -> Result<Model, GbdtError> {
    if y.iter().any(|v| !v.is_finite()) {
        return Err(GbdtError::InvalidParams(
            "regression targets must be finite",
        ));
    }
    fit_target(x, n_features, Target::Squared(y), params)
}

/// What is being fitted: the loss decides gradients, the starting score and the validation loss.
#[derive(Clone, Copy)]
enum Target<'a> {
    Binary(&'a [bool]),
    Squared(&'a [f64]),
}

impl Target<'_> {
    fn len(&self) -> usize {
        match self {
            Self::Binary(y) => y.len(),
            Self::Squared(y) => y.len(),
        }
    }

    /// Class used to stratify the early-stopping split (one class for regression).
    fn class(&self, row: usize) -> bool {
        match self {
            Self::Binary(y) => y[row],
            Self::Squared(_) => false,
        }
    }

    fn base_score(&self, rows: &[usize]) -> f64 {
        let n = rows.len() as f64;
        match self {
            Self::Binary(y) => {
                let positives = rows.iter().filter(|&&r| y[r]).count() as f64;
                let rate = (positives / n).clamp(1e-6, 1.0 - 1e-6);
                (rate / (1.0 - rate)).ln()
            }
            Self::Squared(y) => rows.iter().map(|&r| y[r]).sum::<f64>() / n,
        }
    }

    /// Gradient and hessian of the loss at raw score `raw` for `row`.
    fn grad_hess(&self, row: usize, raw: f64) -> (f64, f64) {
        match self {
            Self::Binary(y) => {
                let p = sigmoid(raw);
                (
                    p - if y[row] { 1.0 } else { 0.0 },
                    (p * (1.0 - p)).max(1e-16),
                )
            }
            Self::Squared(y) => (raw - y[row], 1.0),
        }
    }

    /// Mean loss over `rows` at raw scores `raw`.
    fn loss(&self, rows: &[usize], raw: &[f64]) -> f64 {
        match self {
            Self::Binary(y) => {
                let labels: Vec<bool> = rows.iter().map(|&r| y[r]).collect();
                logloss(raw, &labels)
            }
            Self::Squared(y) => {
                let sum: f64 = rows
                    .iter()
                    .zip(raw)
                    .map(|(&r, &z)| (z - y[r]).powi(2))
                    .sum();
                sum / rows.len().max(1) as f64
            }
        }
    }
}

fn fit_target(
    x: &[f64],
    n_features: usize,
    target: Target<'_>,
    params: &Params,
) -> Result<Model, GbdtError> {
    params.check()?;
    if n_features == 0 {
        return Err(GbdtError::NoFeatures);
    }
    let n_all = target.len();
    if n_all == 0 {
        return Err(GbdtError::NoRows);
    }
    if x.len() != n_all * n_features {
        return Err(GbdtError::ShapeMismatch);
    }
    let mut rng = Rng::new(params.seed);

    // Training and (optional) early-stopping rows.
    let (train_rows, valid_rows): (Vec<usize>, Vec<usize>) = match params.early_stopping {
        Some(es) if n_all >= 10 => {
            // Stratified: the same share of positives and of negatives is held out.
            let mut held = vec![false; n_all];
            for class in [true, false] {
                let mut rows: Vec<usize> =
                    (0..n_all).filter(|&i| target.class(i) == class).collect();
                rng.shuffle(&mut rows);
                let k = (es.validation_fraction * rows.len() as f64).round() as usize;
                rows[..k].iter().for_each(|&r| held[r] = true);
            }
            (0..n_all).partition(|&i| !held[i])
        }
        _ => ((0..n_all).collect(), Vec::new()),
    };
    if train_rows.is_empty() {
        return Err(GbdtError::NoRows);
    }
    let n = train_rows.len();

    // Bin edges from the training rows only, then bin training and validation rows.
    let mut edges = Vec::with_capacity(n_features);
    let mut scratch = Vec::with_capacity(n);
    for f in 0..n_features {
        scratch.clear();
        scratch.extend(train_rows.iter().map(|&r| x[r * n_features + f]));
        edges.push(bin_edges(&mut scratch, params.max_bins));
    }
    let bin_rows = |rows: &[usize]| {
        let mut bins = vec![0u8; rows.len() * n_features];
        for (f, e) in edges.iter().enumerate() {
            for (i, &r) in rows.iter().enumerate() {
                bins[f * rows.len() + i] = bin_value(e, x[r * n_features + f]);
            }
        }
        bins
    };
    let value_bins: Vec<usize> = (0..n_features)
        .map(|f| {
            let has_values = train_rows.iter().any(|&r| !x[r * n_features + f].is_nan());
            if has_values { edges[f].len() + 1 } else { 0 }
        })
        .collect();
    let train = Binned {
        n_rows: n,
        bins: bin_rows(&train_rows),
        value_bins,
        edges: edges.clone(),
    };
    let valid_bins = bin_rows(&valid_rows);
    let base_score = target.base_score(&train_rows);

    let mut raw = vec![base_score; n];
    let mut raw_valid = vec![base_score; valid_rows.len()];
    let mut grad = vec![0.0; n];
    let mut hess = vec![0.0; n];
    let mut trees: Vec<Tree> = Vec::new();
    let mut validation_logloss = Vec::new();
    let mut best = (f64::INFINITY, 0usize);

    let n_feat_sample = ((params.feature_fraction * n_features as f64).round() as usize).max(1);
    let n_row_sample = ((params.bagging_fraction * n as f64).round() as usize).max(1);
    let mut all_features: Vec<usize> = (0..n_features).collect();
    let mut all_rows: Vec<u32> = (0..n as u32).collect();
    let mut pool: Vec<Vec<Slot>> = Vec::new();

    for _ in 0..params.n_trees {
        for (i, &r) in train_rows.iter().enumerate() {
            (grad[i], hess[i]) = target.grad_hess(r, raw[i]);
        }
        let features: Vec<usize> = if n_feat_sample < n_features {
            rng.shuffle(&mut all_features);
            let mut f = all_features[..n_feat_sample].to_vec();
            f.sort_unstable();
            f
        } else {
            (0..n_features).collect()
        };
        let mut rows: Vec<u32> = if n_row_sample < n {
            rng.shuffle(&mut all_rows);
            let mut r = all_rows[..n_row_sample].to_vec();
            r.sort_unstable();
            r
        } else {
            (0..n as u32).collect()
        };
        let ctx = GrowCtx {
            data: &train,
            grad: &grad,
            hess: &hess,
            features: &features,
            params,
        };
        let tree = ctx.grow(&mut rows, &mut pool);
        for (i, r) in raw.iter_mut().enumerate() {
            *r += tree.predict_binned(&train.bins, n, i);
        }
        for (i, r) in raw_valid.iter_mut().enumerate() {
            *r += tree.predict_binned(&valid_bins, valid_rows.len(), i);
        }
        trees.push(tree);
        if let Some(es) = params.early_stopping
            && !valid_rows.is_empty()
        {
            let loss = target.loss(&valid_rows, &raw_valid);
            validation_logloss.push(loss);
            if loss < best.0 {
                best = (loss, trees.len());
            } else if trees.len() - best.1 >= es.patience {
                break;
            }
        }
    }
    if !validation_logloss.is_empty() {
        trees.truncate(best.1.max(1));
    }
    Ok(Model {
        n_features,
        base_score,
        trees,
        threads: params.threads.max(1),
        validation_logloss,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn xor_data(n: usize, seed: u64) -> (Vec<f64>, Vec<bool>) {
        let mut rng = Rng::new(seed);
        let mut x = Vec::with_capacity(n * 3);
        let mut y = Vec::with_capacity(n);
        for _ in 0..n {
            let (a, b, noise) = (rng.uniform(), rng.uniform(), rng.uniform());
            x.extend([a, b, noise]);
            y.push((a > 0.5) != (b > 0.5));
        }
        (x, y)
    }

    fn accuracy(model: &Model, x: &[f64], y: &[bool]) -> f64 {
        let p = model.predict_many(x);
        p.iter().zip(y).filter(|&(&p, &l)| (p > 0.5) == l).count() as f64 / y.len() as f64
    }

    #[test]
    fn learns_xor() {
        let (x, y) = xor_data(2_000, 1);
        let (xt, yt) = xor_data(1_000, 2);
        let model = fit(&x, 3, &y, &Params::default()).unwrap();
        let acc = accuracy(&model, &xt, &yt);
        assert!(acc > 0.95, "xor accuracy {acc}");
        // The noise feature should carry little of the gain.
        let imp = model.feature_importance_gain();
        assert!(imp[2] < 0.1 * (imp[0] + imp[1]), "{imp:?}");
    }

    #[test]
    fn text_round_trip_keeps_every_prediction() {
        let (x, y) = xor_data(1_000, 3);
        let model = fit(&x, 3, &y, &Params::default()).unwrap();
        let back = Model::from_text(&model.to_text()).unwrap();
        assert_eq!(back.predict_many_raw(&x), model.predict_many_raw(&x));
        assert_eq!(back.contributions(&x[..3]), model.contributions(&x[..3]));
        // A damaged file names its line instead of looping or panicking.
        let mut text = model.to_text();
        text = text.replacen("tree ", "tree x", 1);
        let err = Model::from_text(&text).unwrap_err().to_string();
        assert!(err.contains("line 2"), "{err}");
        let looped = "gridmark-gbdt 1 features 1 base 0 trees 1\ntree 3\n0 0 0.5 1 0 2 0 0\n1 0 0 1 0 0 1 0\n1 0 0 1 0 0 2 0\n";
        assert!(Model::from_text(looped).is_err());
        let truncated: String = model
            .to_text()
            .lines()
            .take(5)
            .collect::<Vec<_>>()
            .join("\n");
        assert!(Model::from_text(&truncated).is_err());
    }

    #[test]
    fn learns_threshold_with_sampling_and_threads() {
        let mut rng = Rng::new(5);
        let n = 6_000;
        let x: Vec<f64> = (0..n * 4).map(|_| rng.range(-1.0, 1.0)).collect();
        let y: Vec<bool> = (0..n).map(|i| x[i * 4 + 1] > 0.25).collect();
        let params = Params {
            n_trees: 60,
            feature_fraction: 0.75,
            bagging_fraction: 0.8,
            seed: 9,
            ..Params::default()
        };
        let one = fit(
            &x,
            4,
            &y,
            &Params {
                threads: 1,
                ..params.clone()
            },
        )
        .unwrap();
        let two = fit(&x, 4, &y, &params).unwrap();
        // Thread count must not change the model.
        assert_eq!(one.trees, two.trees);
        assert!(accuracy(&two, &x, &y) > 0.99);
        assert!(two.predict_proba(&[0.0, 0.9, 0.0, 0.0]) > 0.9);
        assert!(two.predict_proba(&[0.0, -0.5, 0.0, 0.0]) < 0.1);
        // Same seed → same model; different seed → different sampling.
        let again = fit(&x, 4, &y, &params).unwrap();
        assert_eq!(two, again);
        let other = fit(&x, 4, &y, &Params { seed: 10, ..params }).unwrap();
        assert_ne!(two.trees, other.trees);
    }

    #[test]
    fn missing_values_learn_a_direction() {
        // Missing x means positive; otherwise the label is x > 0.7.
        let mut rng = Rng::new(3);
        let n = 3_000;
        let mut x = Vec::with_capacity(n);
        let mut y = Vec::with_capacity(n);
        for _ in 0..n {
            if rng.uniform() < 0.3 {
                x.push(f64::NAN);
                y.push(true);
            } else {
                let v = rng.uniform();
                x.push(v);
                y.push(v > 0.7);
            }
        }
        let model = fit(&x, 1, &y, &Params::default()).unwrap();
        assert!(model.predict_proba(&[f64::NAN]) > 0.9);
        assert!(model.predict_proba(&[0.2]) < 0.1);
        assert!(model.predict_proba(&[0.9]) > 0.9);
        // A row shorter than the model treats the absent feature as missing.
        assert!(model.predict_proba(&[]) > 0.9);
    }

    #[test]
    fn contributions_sum_to_raw_minus_bias() {
        let (x, y) = xor_data(1_000, 4);
        let model = fit(
            &x,
            3,
            &y,
            &Params {
                n_trees: 40,
                ..Params::default()
            },
        )
        .unwrap();
        for row in x.chunks_exact(3).take(50) {
            let c = model.contributions(row);
            let total = model.bias() + c.iter().sum::<f64>();
            assert!((total - model.predict_raw(row)).abs() < 1e-9);
        }
        // With NaN too.
        let row = [f64::NAN, 0.7, 0.1];
        let c = model.contributions(&row);
        assert!((model.bias() + c.iter().sum::<f64>() - model.predict_raw(&row)).abs() < 1e-9);
    }

    #[test]
    fn early_stopping_truncates_and_depth_caps() {
        // Pure noise labels: validation loss stops improving quickly.
        let mut rng = Rng::new(11);
        let x: Vec<f64> = (0..2_000).map(|_| rng.uniform()).collect();
        let y: Vec<bool> = (0..1_000).map(|_| rng.uniform() < 0.5).collect();
        let params = Params {
            early_stopping: Some(EarlyStopping {
                validation_fraction: 0.2,
                patience: 10,
            }),
            max_depth: Some(2),
            ..Params::default()
        };
        let model = fit(&x, 2, &y, &params).unwrap();
        assert!(model.trees().len() < 100, "{} trees", model.trees().len());
        assert!(!model.validation_logloss().is_empty());
        assert!(model.trees().iter().all(|t| t.leaves() <= 4));
    }

    #[test]
    fn rejects_bad_input() {
        let p = Params::default();
        assert_eq!(fit(&[1.0], 0, &[true], &p), Err(GbdtError::NoFeatures));
        assert_eq!(fit(&[], 1, &[], &p), Err(GbdtError::NoRows));
        assert_eq!(fit(&[1.0], 2, &[true], &p), Err(GbdtError::ShapeMismatch));
        let bad = Params {
            max_bins: 300,
            ..Params::default()
        };
        assert!(matches!(
            fit(&[1.0], 1, &[true], &bad),
            Err(GbdtError::InvalidParams(_))
        ));
    }

    #[test]
    fn bin_edges_are_quantiles_of_training_values() {
        // Few distinct values: one bin each, edges at midpoints.
        let mut v = vec![1.0, 2.0, 2.0, f64::NAN, 4.0];
        assert_eq!(bin_edges(&mut v, 255), vec![1.5, 3.0]);
        assert_eq!(bin_value(&[1.5, 3.0], 1.0), 0);
        assert_eq!(bin_value(&[1.5, 3.0], 1.5), 0);
        assert_eq!(bin_value(&[1.5, 3.0], 2.0), 1);
        assert_eq!(bin_value(&[1.5, 3.0], 9.0), 2);
        assert_eq!(bin_value(&[1.5, 3.0], f64::NAN), MISSING_BIN);
        // Many distinct values: at most max_bins bins of roughly equal size.
        let mut v: Vec<f64> = (0..10_000).map(f64::from).collect();
        let e = bin_edges(&mut v, 10);
        assert_eq!(e.len(), 9);
        assert!((e[0] - 999.5).abs() < 1e-9, "{e:?}");
    }

    #[test]
    fn regression_learns_a_nonlinear_function_and_checks_targets() {
        let mut rng = Rng::new(11);
        let mut x = Vec::new();
        let mut y = Vec::new();
        for _ in 0..3000 {
            let (a, b) = (rng.uniform(), rng.uniform());
            x.extend([a, b]);
            y.push(if a > 0.5 { 10.0 } else { 0.0 } + 4.0 * b * b);
        }
        let params = Params {
            n_trees: 200,
            learning_rate: 0.1,
            ..Params::default()
        };
        let model = fit_regression(&x, 2, &y, &params).unwrap();
        let pred = model.predict_many_raw(&x);
        let mse: f64 = pred
            .iter()
            .zip(&y)
            .map(|(p, t)| (p - t).powi(2))
            .sum::<f64>()
            / y.len() as f64;
        assert!(mse < 0.05, "training MSE {mse}");
        // Held-out points follow the function too.
        for (a, b) in [(0.2, 0.5), (0.8, 0.9)] {
            let truth = if a > 0.5 { 10.0 } else { 0.0 } + 4.0 * b * b;
            assert!((model.predict_raw(&[a, b]) - truth).abs() < 0.3);
        }
        assert!(fit_regression(&[1.0], 1, &[f64::NAN], &params).is_err());
        let es = Params {
            early_stopping: Some(EarlyStopping {
                validation_fraction: 0.2,
                patience: 5,
            }),
            ..params
        };
        let stopped = fit_regression(&x, 2, &y, &es).unwrap();
        assert!(!stopped.validation_logloss().is_empty());
    }
}
