//! The analysis jobs of gridmark over the lake. Each job reads what it needs with SQL
//! ([`query::Query`]), hands plain data to the pure libraries (`gridmark-metering`,
//! `gridmark-analytics`) and commits its results as tables in one atomic lake commit, so a
//! killed job leaves the lake as it was.
//!
//! * [`vee`]: validation, estimation and editing of every meter's readings into
//!   `readings_validated`, with the edit log, the findings and the daily quality table.
//! * [`quality`]: the completeness and data-sufficiency report (CSV, JSON, HTML).
//! * [`billing`]: billing determinants from validated readings with the tariff engine, compared
//!   with the `bills` table.
//! * [`lineloss`]: transformer-area line loss per day or month, flags and explaining meters.
//! * [`daily`]: every meter's daily energy on one day axis and each area's balance.
//! * [`theft`]: SGCC-layout files, LCL daily years, attack injection and k-fold evaluation.
//! * [`profile`]: every customer's profile of figures and tags, `customer_profiles`.
//! * [`segment`]: load-shape features, k-means segments described in words, `segments`.
//! * [`risk`]: churn and arrears models as of a day, calibrated, with reasons; `risk_scores`.
//! * [`text`]: labelled text files and the text classifier's evaluation protocols.
//! * [`text_analyze`]: language, sentiment, category, keywords and weekly hot and emerging
//!   terms of the lake's work orders and survey comments.
//! * [`complaints`]: each complaint linked to its account's reads, bills, meter events,
//!   outages and tariff changes, with the likely cause.
//! * [`influence`]: opinion leaders on the customer graph (PageRank, degree, communities).
//! * [`lifecycle`]: product adoption curves, Bass diffusion fits, stages and forecasts.
//! * [`siting`]: new service-hall sites by maximum coverage, with the optimality bound.
//! * [`service_data`]: work orders, surveys, staff and customers read once for the service
//!   analyses, and reporting periods (`2025-Q1`).
//! * [`channels`]: channel use per channel, month, customer group and customer, the shift to
//!   digital and the customers who could move.
//! * [`satisfaction`]: CSAT and NPS with intervals by group, significant changes, low-score
//!   drivers and comment sentiment.
//! * [`staff`]: staff KPIs, empirical-Bayes shrinkage, composite score and grades.
//! * [`suspects`]: the ranked theft-suspect list of the lake's meters, with evidence.

pub mod billing;
pub mod channels;
pub mod complaints;
pub mod daily;
pub mod error;
pub mod forecast;
pub mod forecast_data;
pub mod html;
pub mod influence;
pub mod intraday;
pub mod lifecycle;
pub mod lineloss;
pub mod localtime;
pub mod profile;
pub mod quality;
pub mod query;
pub mod risk;
pub mod satisfaction;
pub mod segment;
pub mod service_data;
pub mod siting;
pub mod staff;
pub mod suspects;
pub mod tabular;
pub mod text;
pub mod text_analyze;
pub mod theft;
pub mod vee;

pub use error::JobError;

/// Writes a file whole or not at all: a temporary file beside it, renamed into place, so a
/// reader never sees half a report and a failed write leaves the old one.
pub fn write_atomic(path: &std::path::Path, bytes: &[u8]) -> Result<(), JobError> {
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    let tmp = path.with_extension(format!("{ext}.tmp"));
    std::fs::write(&tmp, bytes)
        .and_then(|_| std::fs::rename(&tmp, path))
        .map_err(|source| JobError::Io {
            path: path.into(),
            source,
        })
}
