//! Forecasting: a closed-form linear long-horizon model ([`linear`]) and the standard ETT
//! evaluation protocol it is measured with ([`ett`]).

pub mod ett;
pub mod linear;

pub use linear::{FitError, FittedLinear, LinearSpec, Score, Selection};
