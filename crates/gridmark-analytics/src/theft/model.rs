//! The detectors: a supervised [`TheftModel`] (gradient-boosted trees over the
//! [`features`](super::features)) and an [`UnsupervisedModel`] that needs no labels.

use std::fmt;

use super::attack::{Attack, inject};
use super::features::{Extractor, Reference, ReferenceError, fixed_index};
use crate::gbdt::{self, GbdtError};
use crate::rng::Rng;

/// Why a theft model could not be fitted.
#[derive(Debug, Clone, PartialEq)]
pub enum TheftError {
    /// No rows, or no rows left to fit on.
    NoRows,
    /// Series lengths differ (all series must cover the same days).
    Reference(ReferenceError),
    /// `labels` (or `ids`, `attacks`) do not have one entry per series.
    LengthMismatch,
    /// Fewer than two folds, or a fold without positives and negatives to train on.
    BadFolds,
    /// The tree learner rejected its input.
    Gbdt(GbdtError),
}

impl fmt::Display for TheftError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoRows => f.write_str("no series to fit on"),
            Self::Reference(e) => write!(f, "reference profile: {e}"),
            Self::LengthMismatch => {
                f.write_str("labels/ids/attacks must have one entry per series")
            }
            Self::BadFolds => f.write_str("need at least 2 folds with both classes in training"),
            Self::Gbdt(e) => write!(f, "gradient boosting: {e}"),
        }
    }
}

impl std::error::Error for TheftError {}

impl From<ReferenceError> for TheftError {
    fn from(e: ReferenceError) -> Self {
        match e {
            ReferenceError::NoRows => Self::NoRows,
            e => Self::Reference(e),
        }
    }
}

impl From<GbdtError> for TheftError {
    fn from(e: GbdtError) -> Self {
        Self::Gbdt(e)
    }
}

/// Settings of the supervised detector.
#[derive(Debug, Clone, PartialEq)]
pub struct TheftParams {
    /// Tree learner settings (its `threads` is also used for feature extraction).
    pub gbdt: gbdt::Params,
    /// Fit the reference profile on the honest (label `false`) training rows only, so that
    /// features measure distance from honest behaviour. Labels of training rows are known,
    /// so this leaks nothing from test rows.
    pub honest_reference: bool,
    /// Synthetic positives added to the training rows: `round(augment × honest rows)` copies
    /// of honest training rows, each rewritten by one of the Jokar attacks (cycling h1..h6),
    /// as Jokar et al. themselves train on synthetic attack samples. Only training rows are
    /// copied. 0 disables it; the default is 1.0 (as many synthetic positives as honest
    /// training rows). This teaches the trees the attack model (notably h1, where
    /// only the joint distribution of level and shape separates thieves) from far more
    /// examples than the labelled positives provide; it assumes theft looks like these
    /// attacks, so keep it off when real labels describe other behaviour.
    pub augment: f64,
    /// Seed of the augmentation draws.
    pub augment_seed: u64,
}

impl Default for TheftParams {
    /// Smaller trees and stronger feature sampling than LightGBM's defaults: the labelled
    /// sets are small (thousands of rows, a few hundred positives). On the LCL 2013
    /// evaluation, 7–31 leaves, 5–20 rows per leaf, feature fractions 0.3–1.0 and 300–600
    /// trees all land within ±0.003 ROC-AUC of each other; the features matter, not these.
    fn default() -> Self {
        Self {
            gbdt: gbdt::Params {
                n_trees: 300,
                learning_rate: 0.05,
                max_leaves: 15,
                min_samples_leaf: 10,
                feature_fraction: 0.5,
                bagging_fraction: 0.8,
                ..gbdt::Params::default()
            },
            honest_reference: true,
            augment: 1.0,
            augment_seed: 0,
        }
    }
}

/// Runs `f(extractor, row, out)` over `series` in `threads` contiguous chunks, each thread
/// with its own extractor, writing one result per series.
fn par_map<S, T, F>(reference: &Reference, series: &[S], threads: usize, init: T, f: F) -> Vec<T>
where
    S: AsRef<[f64]> + Sync,
    T: Clone + Send,
    F: Fn(&mut Extractor<'_>, &[f64], &mut Vec<f64>) -> T + Sync,
{
    let mut out = vec![init; series.len()];
    let threads = threads.clamp(1, 64);
    let per = series.len().div_ceil(threads).max(1);
    let work = |o: &mut [T], rows: &[S]| {
        let mut ex = Extractor::new(reference);
        let mut buf = Vec::with_capacity(reference.n_features());
        for (o, row) in o.iter_mut().zip(rows) {
            buf.clear();
            *o = f(&mut ex, row.as_ref(), &mut buf);
        }
    };
    if threads == 1 || series.len() < 256 {
        work(&mut out, series);
        return out;
    }
    std::thread::scope(|s| {
        for (o, rows) in out.chunks_mut(per).zip(series.chunks(per)) {
            let work = &work;
            s.spawn(move || work(o, rows));
        }
    });
    out
}

/// Row-major feature matrix of `series` against `reference`.
pub fn feature_matrix<S: AsRef<[f64]> + Sync>(
    reference: &Reference,
    series: &[S],
    threads: usize,
) -> Vec<f64> {
    let rows = par_map(reference, series, threads, Vec::new(), |ex, x, buf| {
        ex.extend(x, buf);
        buf.clone()
    });
    rows.concat()
}

/// `round(ratio × honest.len())` attacked copies of honest rows (rows drawn in a shuffled
/// cycle, attacks cycling h1..h6).
fn augmented(honest: &[&[f64]], ratio: f64, seed: u64) -> Vec<Vec<f64>> {
    if honest.is_empty() || ratio.is_nan() || ratio <= 0.0 {
        return Vec::new();
    }
    let k = (ratio * honest.len() as f64).round() as usize;
    let mut rng = Rng::new(seed);
    let mut order: Vec<usize> = (0..honest.len()).collect();
    rng.shuffle(&mut order);
    (0..k)
        .map(|i| {
            let mut copy = honest[order[i % order.len()]].to_vec();
            inject(&mut copy, Attack::ALL[i % Attack::ALL.len()], &mut rng);
            copy
        })
        .collect()
}

/// One reason behind a score: a feature and how much it pushed the log-odds up.
#[derive(Debug, Clone, PartialEq)]
pub struct Reason {
    /// Feature name (see [`Reference::feature_names`]).
    pub feature: String,
    /// The feature's value for this series.
    pub value: f64,
    /// Contribution to the raw score (log-odds); positive = more suspicious.
    pub contribution: f64,
}

/// A supervised theft detector: reference profile plus boosted trees.
#[derive(Debug, Clone, PartialEq)]
pub struct TheftModel {
    reference: Reference,
    model: gbdt::Model,
    threads: usize,
}

impl TheftModel {
    /// Fits on labelled series (`true` = theft). All series must have the same length.
    pub fn fit<S: AsRef<[f64]> + Sync>(
        series: &[S],
        labels: &[bool],
        params: &TheftParams,
    ) -> Result<Self, TheftError> {
        if series.len() != labels.len() {
            return Err(TheftError::LengthMismatch);
        }
        let honest: Vec<&[f64]> = series
            .iter()
            .zip(labels)
            .filter(|(_, l)| !**l)
            .map(|(s, _)| s.as_ref())
            .collect();
        let reference = if params.honest_reference && !honest.is_empty() {
            // Same-length check over all rows first, so a ragged positive row is reported.
            Reference::fit(series)?;
            Reference::fit(&honest)?
        } else {
            Reference::fit(series)?
        };
        let threads = params.gbdt.threads.max(1);
        let mut x = feature_matrix(&reference, series, threads);
        let mut labels = labels.to_vec();
        let synthetic = augmented(&honest, params.augment, params.augment_seed);
        if !synthetic.is_empty() {
            x.extend(feature_matrix(&reference, &synthetic, threads));
            labels.extend(std::iter::repeat_n(true, synthetic.len()));
        }
        let model = gbdt::fit(&x, reference.n_features(), &labels, &params.gbdt)?;
        Ok(Self {
            reference,
            model,
            threads,
        })
    }

    /// The fitted reference profile.
    pub fn reference(&self) -> &Reference {
        &self.reference
    }

    /// The fitted trees.
    pub fn gbdt(&self) -> &gbdt::Model {
        &self.model
    }

    /// Theft probability of one series.
    pub fn score(&self, series: &[f64]) -> f64 {
        self.model.predict_proba(&self.reference.features(series))
    }

    /// Theft probabilities of many series, streamed (no feature matrix is materialised) over
    /// the model's threads.
    pub fn score_many<S: AsRef<[f64]> + Sync>(&self, series: &[S]) -> Vec<f64> {
        par_map(&self.reference, series, self.threads, 0.0, |ex, x, buf| {
            ex.extend(x, buf);
            self.model.predict_proba(buf)
        })
    }

    /// The `top` features that raised this series' score most (largest positive
    /// contributions first; Saabas attribution, see [`gbdt::Model::contributions`]).
    pub fn explain(&self, series: &[f64], top: usize) -> Vec<Reason> {
        let features = self.reference.features(series);
        let contributions = self.model.contributions(&features);
        let names = self.reference.feature_names();
        let mut reasons: Vec<Reason> = names
            .into_iter()
            .zip(features.iter().zip(&contributions))
            .filter(|(_, (_, c))| **c > 0.0)
            .map(|(feature, (&value, &contribution))| Reason {
                feature,
                value,
                contribution,
            })
            .collect();
        reasons.sort_by(|a, b| b.contribution.total_cmp(&a.contribution));
        reasons.truncate(top);
        reasons
    }
}

/// The anomaly indicators of the unsupervised score: a feature, whether high (`true`) or low
/// values are suspicious, and the value assumed when the feature is undefined.
///
/// * `highpass_corr_ref` low: the days do not follow the population's weather, holidays and
///   weekly rhythm (h3, h4, h6; a flat h5 has no correlation → 0).
/// * `daily_corr_ref` low: the seasonal shape differs from the population (h4, h5).
/// * `roughness` high: day-to-day jumps (h3, h4).
/// * `repeat_share` high: identical consecutive days (h5).
/// * `longest_zero_run` high: a zero window (h2).
/// * `highpass_corr_diff` high: the year fits the population better backwards (h6).
/// * `level_percentile` low: a small consumer (h1 scales consumption down).
pub const INDICATORS: [(&str, bool, f64); 7] = [
    ("highpass_corr_ref", false, 0.0),
    ("daily_corr_ref", false, 0.0),
    ("roughness", true, 0.0),
    ("repeat_share", true, 0.0),
    ("longest_zero_run", true, 0.0),
    ("highpass_corr_diff", true, 0.0),
    ("level_percentile", false, 0.5),
];

/// A label-free detector. Each [indicator](INDICATORS) of a series is turned into its
/// percentile among the fitting rows; the score is the sum of −ln(1 − percentile) (Fisher's
/// combination), so one extreme indicator outweighs several middling ones and no indicator
/// needs a scale.
#[derive(Debug, Clone, PartialEq)]
pub struct UnsupervisedModel {
    reference: Reference,
    /// Sorted indicator values (suspicious = high) of the fitting rows, per indicator.
    sorted: Vec<Vec<f64>>,
    columns: Vec<usize>,
    threads: usize,
}

impl UnsupervisedModel {
    /// Fits the reference and the indicator distributions on `series` (no labels).
    pub fn fit<S: AsRef<[f64]> + Sync>(series: &[S], threads: usize) -> Result<Self, TheftError> {
        let reference = Reference::fit(series)?;
        let columns: Vec<usize> = INDICATORS
            .iter()
            .filter_map(|(name, _, _)| fixed_index(name))
            .collect();
        let mut model = Self {
            reference,
            sorted: Vec::new(),
            columns,
            threads: threads.max(1),
        };
        let values = par_map(
            &model.reference,
            series,
            threads,
            Vec::new(),
            |ex, x, buf| {
                ex.extend(x, buf);
                model.indicators(buf)
            },
        );
        model.sorted = (0..INDICATORS.len())
            .map(|i| {
                let mut col: Vec<f64> = values.iter().map(|v| v[i]).collect();
                col.sort_by(f64::total_cmp);
                col
            })
            .collect();
        Ok(model)
    }

    /// Indicator values (suspicious = high) from a feature vector.
    fn indicators(&self, features: &[f64]) -> Vec<f64> {
        INDICATORS
            .iter()
            .zip(&self.columns)
            .map(|(&(_, high, default), &c)| {
                let v = features.get(c).copied().unwrap_or(f64::NAN);
                let v = if v.is_nan() { default } else { v };
                if high { v } else { -v }
            })
            .collect()
    }

    /// Percentile (mid-rank, in (0, 1)) of each indicator among the fitting rows.
    pub fn indicator_percentiles(&self, series: &[f64]) -> Vec<f64> {
        self.percentiles(&self.reference.features(series))
    }

    fn percentiles(&self, features: &[f64]) -> Vec<f64> {
        self.indicators(features)
            .iter()
            .zip(&self.sorted)
            .map(|(&v, col)| {
                let below = col.partition_point(|&c| c < v);
                let not_above = col.partition_point(|&c| c <= v);
                (0.5 + (below + not_above) as f64 / 2.0) / (col.len() + 1) as f64
            })
            .collect()
    }

    fn combine(&self, features: &[f64]) -> f64 {
        self.percentiles(features)
            .iter()
            .map(|&u| -(1.0 - u).ln())
            .sum()
    }

    /// Anomaly score of one series (higher = more suspicious; unbounded).
    pub fn score(&self, series: &[f64]) -> f64 {
        self.combine(&self.reference.features(series))
    }

    /// Anomaly scores of many series over the model's threads.
    pub fn score_many<S: AsRef<[f64]> + Sync>(&self, series: &[S]) -> Vec<f64> {
        par_map(&self.reference, series, self.threads, 0.0, |ex, x, buf| {
            ex.extend(x, buf);
            self.combine(buf)
        })
    }
}
