//! The long-horizon forecasting protocol of Informer, Autoformer, DLinear and PatchTST on the
//! hourly ETT data (ETTh1/ETTh2), applied to the closed-form [`LinearSpec`] model.
//!
//! Splits (rows of the hourly table, `L` = look-back), exactly as the published data loaders
//! slice them, with every window's look-back starting at or after the slice's first row:
//!
//! | split | rows | forecast starts t |
//! |---|---|---|
//! | train | `[0, 8640)` | `L ..= 8640 − H` |
//! | validation | `[8640 − L, 11520)` | `8640 ..= 11520 − H` |
//! | test | `[11520 − L, 14400)` | `11520 ..= 14400 − H` |
//!
//! Rows from 14 400 on are never used (the papers' convention, although ETTh1 has 17 420).
//! Every channel is z-scored with the mean and population standard deviation of the train rows
//! (scikit-learn's `StandardScaler`, which the published code uses). Errors are reported on that
//! standardised scale, averaged over channels, windows and horizon steps.

use std::ops::Range;
use std::time::Instant;

use super::linear::{LinearSpec, window_count};

/// Rows in the train split (12 months of 30 days).
pub const TRAIN_ROWS: usize = 12 * 30 * 24;
/// Rows in the validation split (4 months of 30 days).
pub const VALIDATION_ROWS: usize = 4 * 30 * 24;
/// Rows in the test split (4 months of 30 days).
pub const TEST_ROWS: usize = 4 * 30 * 24;

/// λ candidates tried on the validation split: quarter decades from 1 to 10⁶. λ is on the scale
/// of XᵀX, a sum over roughly 50 000 standardised training windows, so useful values sit well
/// above 1. On ETTh1 the validation curve is flat over decades; a whole-decade grid costs up to
/// 0.002 test MSE at H = 720 against the best grid point, quarter decades about 0.0003.
pub fn lambda_grid() -> Vec<f64> {
    (0..=24).map(|k| 10f64.powf(f64::from(k) / 4.0)).collect()
}

/// Row ranges of the three splits for a look-back, including the look-back context that the
/// validation and test windows borrow from the split before.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Splits {
    /// `[0, 8640)`.
    pub train: Range<usize>,
    /// `[8640 − L, 11520)`.
    pub validation: Range<usize>,
    /// `[11520 − L, 14400)`.
    pub test: Range<usize>,
}

/// The split row ranges for look-back `lookback`.
///
/// # Panics
/// If `lookback > 8640` (the validation context would start before row 0).
pub fn splits(lookback: usize) -> Splits {
    assert!(
        lookback <= TRAIN_ROWS,
        "look-back longer than the train split"
    );
    let val_end = TRAIN_ROWS + VALIDATION_ROWS;
    Splits {
        train: 0..TRAIN_ROWS,
        validation: TRAIN_ROWS - lookback..val_end,
        test: val_end - lookback..val_end + TEST_ROWS,
    }
}

/// Each channel z-scored with the mean and population standard deviation of its train rows.
/// A constant train segment keeps a scale of 1 so that the channel stays finite.
///
/// # Panics
/// If a channel is shorter than the train split.
pub fn standardize(channels: &[Vec<f64>]) -> Vec<Vec<f64>> {
    channels
        .iter()
        .map(|ch| {
            assert!(
                ch.len() >= TRAIN_ROWS,
                "channel shorter than the train split"
            );
            let train = &ch[..TRAIN_ROWS];
            let mean = train.iter().sum::<f64>() / TRAIN_ROWS as f64;
            let var = train.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / TRAIN_ROWS as f64;
            let sd = if var > 0.0 { var.sqrt() } else { 1.0 };
            ch.iter().map(|v| (v - mean) / sd).collect()
        })
        .collect()
}

/// Test-split result for one horizon.
#[derive(Debug, Clone, PartialEq)]
pub struct HorizonScore {
    /// Forecast horizon H.
    pub horizon: usize,
    /// Test MSE on the standardised scale (mean over channels, windows and steps).
    pub mse: f64,
    /// Test MAE on the standardised scale.
    pub mae: f64,
    /// λ chosen by validation MSE from [`lambda_grid`].
    pub lambda: f64,
    /// Look-back used (chosen by validation MSE when several were offered).
    pub lookback: usize,
    /// Validation MSE of the chosen look-back and λ.
    pub validation_mse: f64,
    /// Training windows summed over channels: channels × (8640 − L − H + 1).
    pub train_windows: usize,
    /// Test windows summed over channels: channels × (2880 − H + 1).
    pub test_windows: usize,
    /// Wall time of fitting, including computing both splits' normal equations and the whole
    /// λ and look-back search; scoring the test windows is not included.
    pub fit_seconds: f64,
}

/// Runs the protocol for each horizon: standardise with train statistics, fit one shared
/// channel-independent model per horizon on all train windows of all channels, choose λ on the
/// validation windows, score every test window.
///
/// `channels` are the raw (unscaled) columns, e.g. the 7 of ETTh1 in file order.
///
/// # Panics
/// If there are no channels, a channel has fewer than 14 400 rows, `lookback` is 0 or longer
/// than the train split, or a horizon leaves no window in some split (H = 0 or H > 2880).
pub fn evaluate(channels: &[Vec<f64>], horizons: &[usize], lookback: usize) -> Vec<HorizonScore> {
    evaluate_lookbacks(channels, horizons, &[lookback])
}

/// [`evaluate`] with the look-back chosen per horizon, together with λ, by validation MSE
/// among `lookbacks`. Every look-back sees the same validation and test forecast origins, so
/// the comparison is fair; the test split is only scored for the chosen one.
///
/// # Panics
/// As [`evaluate`], for any of the look-backs; also if `lookbacks` is empty.
pub fn evaluate_lookbacks(
    channels: &[Vec<f64>],
    horizons: &[usize],
    lookbacks: &[usize],
) -> Vec<HorizonScore> {
    let used = TRAIN_ROWS + VALIDATION_ROWS + TEST_ROWS;
    assert!(!channels.is_empty(), "no channels");
    assert!(!lookbacks.is_empty(), "no look-back");
    assert!(
        channels.iter().all(|c| c.len() >= used),
        "every channel needs at least {used} rows"
    );
    let scaled = standardize(channels);
    let grid = lambda_grid();
    horizons
        .iter()
        .map(|&horizon| {
            assert!(
                horizon >= 1 && horizon <= VALIDATION_ROWS.min(TEST_ROWS),
                "horizon {horizon} leaves no validation or test window"
            );
            let started = Instant::now();
            let mut best: Option<(f64, usize, super::linear::FittedLinear)> = None;
            for &lookback in lookbacks {
                let sp = splits(lookback);
                let slices = |r: &Range<usize>| -> Vec<&[f64]> {
                    scaled.iter().map(|c| &c[r.clone()]).collect()
                };
                let spec = LinearSpec {
                    lookback,
                    horizon,
                    lambda: 0.0,
                };
                let selection = spec
                    .fit_select(&slices(&sp.train), &slices(&sp.validation), &grid)
                    .unwrap_or_else(|e| panic!("fit failed for horizon {horizon}: {e}"));
                let val = selection
                    .validation_mse
                    .iter()
                    .map(|p| p.1)
                    .fold(f64::INFINITY, f64::min);
                if best.as_ref().is_none_or(|b| val < b.0) {
                    best = Some((val, lookback, selection.model));
                }
            }
            let fit_seconds = started.elapsed().as_secs_f64();
            let (validation_mse, lookback, model) = best.expect("at least one look-back");
            let sp = splits(lookback);
            let test: Vec<&[f64]> = scaled.iter().map(|c| &c[sp.test.clone()]).collect();
            let score = model.score(&test);
            debug_assert_eq!(
                score.windows,
                channels.len() * window_count(sp.test.len(), lookback, horizon)
            );
            HorizonScore {
                horizon,
                mse: score.mse,
                mae: score.mae,
                lambda: model.lambda(),
                lookback,
                validation_mse,
                train_windows: model.train_windows(),
                test_windows: score.windows,
                fit_seconds,
            }
        })
        .collect()
}
