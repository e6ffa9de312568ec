//! Hand-checkable behaviour of the linear forecaster and the ETT split arithmetic.

use std::f64::consts::TAU;

use gridmark_analytics::forecast::ett::{self, TRAIN_ROWS};
use gridmark_analytics::forecast::{FitError, LinearSpec};

fn mse(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y).powi(2)).sum::<f64>() / a.len() as f64
}

#[test]
fn sine_with_period_dividing_lookback_is_forecast_exactly() {
    // Period 24 divides L = 96: the next values are exact linear combinations of the past.
    let z: Vec<f64> = (0..3_000)
        .map(|t| 3.0 * (t as f64 * TAU / 24.0 + 0.4).sin())
        .collect();
    let spec = LinearSpec {
        lookback: 96,
        horizon: 48,
        lambda: 1e-6,
    };
    let model = spec.fit(&[&z[..2_000]]).unwrap();
    let score = model.score(&[&z[2_000..]]);
    assert!(score.mse < 1e-10, "mse {}", score.mse);
    let p = model.predict(&z[..2_500]);
    assert!(mse(&p, &z[2_500..2_548]) < 1e-10);
}

#[test]
fn linear_trend_is_extrapolated() {
    // Trains on one slope and level, tests far beyond it: relative-to-last inputs make the
    // level irrelevant, and the intercept carries the slope.
    let train: Vec<f64> = (0..500).map(|t| 0.5 * t as f64 - 7.0).collect();
    let spec = LinearSpec {
        lookback: 24,
        horizon: 10,
        lambda: 1e-3,
    };
    let model = spec.fit(&[&train]).unwrap();
    let window: Vec<f64> = (10_000..10_024).map(|t| 0.5 * t as f64 - 7.0).collect();
    let want: Vec<f64> = (10_024..10_034).map(|t| 0.5 * t as f64 - 7.0).collect();
    let got = model.predict(&window);
    for (g, w) in got.iter().zip(&want) {
        assert!((g - w).abs() < 1e-6, "{g} vs {w}");
    }
}

#[test]
fn constant_series_has_zero_error() {
    let z = vec![42.0; 300];
    let spec = LinearSpec {
        lookback: 30,
        horizon: 7,
        lambda: 1.0,
    };
    let model = spec.fit(&[&z, &vec![-3.0; 100]]).unwrap();
    let score = model.score(&[&z]);
    assert_eq!(score.mse, 0.0);
    assert_eq!(score.mae, 0.0);
    assert_eq!(model.predict(&[5.0; 30]), vec![5.0; 7]);
}

#[test]
fn channels_share_weights_and_windows_stay_inside_series() {
    let a: Vec<f64> = (0..50).map(|t| (t as f64).sin()).collect();
    let b: Vec<f64> = (0..20).map(|t| (t as f64).cos()).collect();
    let spec = LinearSpec {
        lookback: 8,
        horizon: 4,
        lambda: 0.1,
    };
    let model = spec.fit(&[&a, &b]).unwrap();
    // (50 − 12 + 1) + (20 − 12 + 1): no window straddles the two series.
    assert_eq!(model.train_windows(), 39 + 9);
}

#[test]
fn fit_rejects_bad_input() {
    let spec = LinearSpec {
        lookback: 10,
        horizon: 5,
        lambda: 1.0,
    };
    assert_eq!(spec.fit(&[&[1.0; 14]]), Err(FitError::NoWindows));
    let bad = LinearSpec {
        lookback: 0,
        ..spec
    };
    assert_eq!(bad.fit(&[&[1.0; 100]]), Err(FitError::InvalidSpec));
}

#[test]
fn lambda_is_chosen_on_validation() {
    // Noise-free AR structure: validation should prefer the smallest penalty.
    let z: Vec<f64> = (0..1_500)
        .map(|t| (t as f64 * TAU / 12.0).sin() + 0.5 * (t as f64 * TAU / 8.0).cos())
        .collect();
    let spec = LinearSpec {
        lookback: 24,
        horizon: 6,
        lambda: 0.0,
    };
    let sel = spec
        .fit_select(&[&z[..1_000]], &[&z[1_000 - 24..]], &[1e3, 1e-4, 10.0])
        .unwrap();
    assert_eq!(sel.model.lambda(), 1e-4);
    assert_eq!(sel.validation_mse.len(), 3);
    assert!(sel.validation_mse[1].1 < sel.validation_mse[0].1);
}

#[test]
fn ett_split_borders_on_synthetic_series() {
    const ROWS: usize = 17_420;
    let (l, h) = (336, 96);
    let sp = ett::splits(l);
    assert_eq!(sp.train, 0..8_640);
    assert_eq!(sp.validation, 8_640 - 336..11_520);
    assert_eq!(sp.test, 11_520 - 336..14_400);
    let count = |r: &std::ops::Range<usize>| r.len() + 1 - l - h;
    assert_eq!(count(&sp.train), 8_209);
    assert_eq!(count(&sp.validation), 2_785);
    assert_eq!(count(&sp.test), 2_785);
    // First test forecast starts at the first test row, the last one ends on the last test row.
    assert_eq!(sp.test.start + l, TRAIN_ROWS + ett::VALIDATION_ROWS);
    assert_eq!(sp.test.start + (count(&sp.test) - 1) + l + h, 14_400);

    // evaluate() on 7 synthetic channels (small L so the debug build stays quick): its window
    // counts follow the same borders, and a noiseless daily cycle is forecast near-exactly.
    let channels: Vec<Vec<f64>> = (0..7)
        .map(|c| {
            (0..ROWS)
                .map(|t| c as f64 + (1.0 + c as f64) * (t as f64 * TAU / 24.0 + c as f64).sin())
                .collect()
        })
        .collect();
    let (l, h) = (48, 24);
    let scores = ett::evaluate(&channels, &[h], l);
    assert_eq!(scores.len(), 1);
    let s = &scores[0];
    assert_eq!(s.horizon, h);
    assert_eq!(s.train_windows, 7 * (8_640 - l - h + 1));
    assert_eq!(s.test_windows, 7 * (2_880 - h + 1));
    assert!(s.mse < 1e-6, "mse {}", s.mse);
}

#[test]
fn standardize_uses_train_statistics_only() {
    let mut ch: Vec<f64> = (0..14_400).map(|t| (t % 2) as f64).collect();
    ch[TRAIN_ROWS..].iter_mut().for_each(|v| *v = 100.0);
    let z = &ett::standardize(&[ch])[0];
    // Train mean 0.5 and population sd 0.5 → train values ±1.
    assert_eq!(z[0], -1.0);
    assert_eq!(z[1], 1.0);
    assert_eq!(z[TRAIN_ROWS], 199.0);
}
