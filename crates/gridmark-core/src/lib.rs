//! Shared ground for every gridmark crate: the table catalog (the data model, one place),
//! owned columnar rows for small tables, time-zone resolution of local meter times, fast civil
//! time arithmetic, and the injected [`Clock`].
//!
//! Nothing here does I/O; the crate has no Arrow dependency so that pure generators (the
//! synthetic utility in `gridmark-testkit`) build in seconds.
//!
//! ```
//! use gridmark_core::catalog;
//! let readings = catalog::table("readings").unwrap();
//! assert_eq!(readings.key, &["meter_id", "interval_s", "ts"]);
//! ```

pub mod catalog;
pub mod civil;
pub mod clock;
pub mod columns;
pub mod error;
pub mod lockfile;
pub mod tz;

pub use clock::{Clock, FixedClock, SystemClock};
pub use columns::{Column, Rows, Value};
pub use error::CoreError;

/// Default time zone of a lake whose meters do not say otherwise (China Standard Time, no DST).
pub const DEFAULT_TZ: &str = "Asia/Shanghai";
