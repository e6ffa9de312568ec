//! Analytics over gridmark data: pure algorithms that take data and return results, with no
//! I/O and no dependencies beyond `std`.
//!
//! * [`linalg`]: a row-major matrix, accumulation of least-squares normal equations and a
//!   Cholesky solve for ridge regression with many right-hand sides.
//! * [`forecast::linear`]: a channel-independent linear long-horizon forecaster ("NLinear"
//!   style: each window is taken relative to its last value) fitted by ridge regression in
//!   closed form, with λ chosen on held-out windows.
//! * [`forecast::ett`]: the Informer/Autoformer/DLinear/PatchTST protocol on hourly ETT data,
//!   returning test MSE/MAE per horizon on the standardised scale.
//! * [`cluster`]: k-means (greedy k-means++, restarts, Hamerly's bounds), silhouette and the
//!   adjusted Rand index.
//! * [`diffusion`]: the Bass diffusion model fitted to adoption data, lifecycle stages.
//! * [`graph`]: PageRank, weighted degree and label-propagation communities on a CSR graph.
//! * [`gbdt`]: histogram-based gradient-boosted trees for binary classification (LightGBM
//!   style), with missing-value directions and per-prediction feature contributions.
//! * [`metrics`]: ranking metrics for detectors (ROC-AUC, average precision, precision and
//!   lift at an inspection budget, MAP@k) and stratified k-fold assignment.
//! * [`rng`]: a small seeded xoshiro256** generator, so results reproduce from a seed.
//! * [`theft`]: electricity-theft detection on daily consumption: the Jokar et al. attack
//!   models, features, a supervised model, an unsupervised score and their cross-validation.
//! * [`siting`]: maximum-coverage site selection (lazy greedy with a data-dependent bound)
//!   and p-median (greedy add with vertex interchange).
//! * [`stats`]: confidence intervals for means, proportions and NPS, Welch and NPS tests,
//!   Benjamini–Hochberg, empirical-Bayes shrinkage of group means and rates, Spearman.
//! * [`text`]: text analytics for reviews and complaints: character n-gram TF-IDF, linear
//!   classifiers by dual coordinate descent, accuracy/macro-F1 and stratified splits, and
//!   lexicon sentiment with negation, degree words and a user dictionary.
//!
//! ```
//! use gridmark_analytics::forecast::LinearSpec;
//!
//! // A daily cycle in hourly data; the look-back spans two full periods.
//! let series: Vec<f64> = (0..2_000)
//!     .map(|t| 10.0 + (t as f64 * std::f64::consts::TAU / 24.0).sin())
//!     .collect();
//! let spec = LinearSpec { lookback: 48, horizon: 12, lambda: 1e-6 };
//! let model = spec.fit(&[&series]).unwrap();
//!
//! let forecast = model.predict(&series[..1_000]);
//! for (h, y) in forecast.iter().enumerate() {
//!     assert!((y - series[1_000 + h]).abs() < 1e-6);
//! }
//! ```

pub mod classify;
pub mod cluster;
pub mod diffusion;
pub mod forecast;
pub mod gbdt;
pub mod graph;
pub mod linalg;
pub mod metrics;
pub mod rng;
pub mod siting;
pub mod stats;
pub mod text;
pub mod theft;
