//! Forecasting.
//!
//! * [`linear`]: a closed-form ridge linear long-horizon model shared across series, and
//!   [`ett`], the standard ETT evaluation protocol it is measured with.
//! * [`ets`]: exponential smoothing with automatic model choice; [`stl`]: STL and MSTL.
//! * [`panel`]: many aligned series at once — seasonal naive, ETS, MSTL, the linear model and a
//!   calendar/weather GBDT — with rolling-origin backtests, per-series selection and conformal
//!   intervals; [`errors`]: MAE, RMSE, MAPE, sMAPE and MASE.
//! * [`reconcile`]: making a hierarchy's forecasts add up.

pub mod errors;
pub mod ets;
pub mod ett;
pub mod linear;
pub(crate) mod optim;
pub mod panel;
pub mod protocols;
pub mod reconcile;
pub mod stl;

pub use linear::{FitError, FittedLinear, LinearSpec, Score, Selection};

/// Mean of the non-missing (non-NaN) values; `None` when there are none.
pub(crate) fn mean_observed(values: &[f64]) -> Option<f64> {
    let (s, n) = values
        .iter()
        .filter(|v| !v.is_nan())
        .fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
    (n > 0).then(|| s / n as f64)
}
