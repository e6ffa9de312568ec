//! Metering intelligence: pure logic over in-memory meter data, no I/O.
//!
//! * [`tariff`]: effective-dated flat, tiered and time-of-use tariffs priced exactly to the fen.
//! * [`vee`]: validation, estimation and editing of one meter's interval series, with a quality
//!   flag per interval and a record of every edit.

pub mod tariff;
pub mod vee;
