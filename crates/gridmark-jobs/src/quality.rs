//! `gridmark quality report`: completeness and data sufficiency per meter, area and day from
//! the latest VEE run, as CSV, JSON lines or a self-contained HTML page with charts.

use crate::JobError;
use crate::html::{Page, short};
use crate::query::{Query, floats, ints, strings};
use datafusion::arrow::array::RecordBatch;
use gridmark_lake::Lake;

/// One level of the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Day,
    Meter,
    Area,
}

impl Level {
    /// The SQL that produces this level's table.
    pub fn sql(self) -> &'static str {
        match self {
            Level::Day => DAY_SQL,
            Level::Meter => METER_SQL,
            Level::Area => AREA_SQL,
        }
    }
}

const DAY_SQL: &str = "SELECT CAST(day AS VARCHAR) AS day, count(*) AS meters, sum(expected) AS expected, sum(read) AS read, \
 sum(estimated) AS estimated, sum(edited) AS edited, sum(missing) AS missing, \
 round(sum(read) * 1.0 / sum(expected), 5) AS completeness, \
 sum(CASE WHEN sufficient THEN 1 ELSE 0 END) AS sufficient_meters \
 FROM quality_daily GROUP BY day ORDER BY day";

const METER_SQL: &str = "SELECT q.meter_id, d.area_id, count(*) AS days, sum(q.expected) AS expected, sum(q.read) AS read, \
 sum(q.estimated) AS estimated, sum(q.edited) AS edited, sum(q.missing) AS missing, \
 round(sum(q.read) * 1.0 / sum(q.expected), 5) AS completeness, \
 sum(CASE WHEN q.sufficient THEN 0 ELSE 1 END) AS insufficient_days, \
 coalesce(max(f.findings), 0) AS findings, max(f.rules) AS rules \
 FROM quality_daily q LEFT JOIN meter_dims d ON q.meter_id = d.meter_id \
 LEFT JOIN (SELECT meter_id, count(*) AS findings, string_agg(DISTINCT rule, ' ') AS rules FROM vee_findings \
            WHERE run_id = (SELECT max(run_id) FROM vee_runs) GROUP BY meter_id) f ON q.meter_id = f.meter_id \
 GROUP BY q.meter_id, d.area_id ORDER BY completeness, insufficient_days DESC, q.meter_id";

const AREA_SQL: &str = "SELECT coalesce(d.area_id, '(no area)') AS area_id, count(DISTINCT q.meter_id) AS meters, \
 sum(q.expected) AS expected, sum(q.read) AS read, sum(q.estimated) AS estimated, sum(q.missing) AS missing, \
 round(sum(q.read) * 1.0 / sum(q.expected), 5) AS completeness, \
 round(avg(CASE WHEN q.sufficient THEN 1.0 ELSE 0.0 END), 5) AS sufficient_share \
 FROM quality_daily q LEFT JOIN meter_dims d ON q.meter_id = d.meter_id GROUP BY 1 ORDER BY completeness, area_id";

const RULE_SQL: &str = "SELECT rule, action, count(*) AS findings, sum(intervals) AS intervals, count(DISTINCT meter_id) AS meters \
 FROM vee_findings WHERE run_id = (SELECT max(run_id) FROM vee_runs) GROUP BY rule, action ORDER BY findings DESC";

/// Fails with a clear message when no VEE run has written the quality tables yet.
pub fn require_vee(q: &Query) -> Result<String, JobError> {
    let b = q.collect("SELECT max(run_id) AS run_id, count(*) AS n FROM vee_runs")?;
    let run = b
        .first()
        .map(|b| strings(b, "run_id"))
        .transpose()?
        .and_then(|v| v.into_iter().next().flatten());
    run.ok_or_else(|| {
        JobError::invalid(
            "quality report",
            "no VEE run in this lake yet; run `gridmark vee run` first",
        )
    })
}

/// The whole report as one HTML page.
pub fn html(lake: &Lake) -> Result<String, JobError> {
    let q = Query::open(lake)?;
    let run = require_vee(&q)?;
    let days = q.collect(DAY_SQL)?;
    let meters = q.collect(METER_SQL)?;
    let areas = q.collect(AREA_SQL)?;
    let rules = q.collect(RULE_SQL)?;
    let mut page = Page::new("gridmark — data quality (数据质量)");
    page.p(&format!(
        "Latest VEE run {run}. Completeness = intervals read ÷ intervals expected between each meter's first and last reading; a day is sufficient when at least the configured share of its intervals were read."
    ));
    let day_x = col_strings(&days, "day")?;
    let expected: f64 = col_f64(&days, "expected")?.iter().sum();
    let read: f64 = col_f64(&days, "read")?.iter().sum();
    let estimated: f64 = col_f64(&days, "estimated")?.iter().sum();
    let missing: f64 = col_f64(&days, "missing")?.iter().sum();
    page.tiles(&[
        ("meters", format!("{}", rows(&meters))),
        ("days", format!("{}", day_x.len())),
        (
            "completeness",
            format!("{:.3} %", 100.0 * read / expected.max(1.0)),
        ),
        ("estimated intervals", short(estimated)),
        ("left missing", short(missing)),
    ]);
    page.h2("Completeness per day");
    page.line_chart(
        "share of expected intervals read",
        &day_x,
        &[("completeness", col_f64(&days, "completeness")?)],
    );
    let sufficient: Vec<f64> = col_f64(&days, "sufficient_meters")?
        .iter()
        .zip(col_f64(&days, "meters")?)
        .map(|(s, m)| s / m.max(1.0))
        .collect();
    page.line_chart(
        "share of meters with a sufficient day",
        &day_x,
        &[("sufficient", sufficient)],
    );
    page.h2("Findings by rule");
    let rule_names = col_strings(&rules, "rule")?;
    let actions = col_strings(&rules, "action")?;
    let counts = col_f64(&rules, "findings")?;
    let bars: Vec<(String, f64)> = rule_names
        .iter()
        .zip(&actions)
        .zip(&counts)
        .map(|((r, a), c)| (format!("{r} ({a})"), *c))
        .collect();
    page.bar_chart("findings", &bars);
    page.table(
        &["rule", "action", "findings", "intervals", "meters"],
        &table_rows(
            &rules,
            &["rule", "action", "findings", "intervals", "meters"],
        )?,
    );
    page.h2("Areas, least complete first");
    let area_cols = [
        "area_id",
        "meters",
        "expected",
        "read",
        "estimated",
        "missing",
        "completeness",
        "sufficient_share",
    ];
    page.table(&area_cols, &table_rows(&areas, &area_cols)?);
    page.h2("Meters, least complete first (top 50)");
    let meter_cols = [
        "meter_id",
        "area_id",
        "days",
        "completeness",
        "estimated",
        "missing",
        "insufficient_days",
        "findings",
        "rules",
    ];
    let mut mrows = table_rows(&meters, &meter_cols)?;
    mrows.truncate(50);
    page.table(&meter_cols, &mrows);
    Ok(page.finish())
}

fn rows(batches: &[RecordBatch]) -> usize {
    batches.iter().map(|b| b.num_rows()).sum()
}

fn col_strings(batches: &[RecordBatch], name: &str) -> Result<Vec<String>, JobError> {
    let mut out = Vec::new();
    for b in batches {
        out.extend(strings(b, name)?.into_iter().map(Option::unwrap_or_default));
    }
    Ok(out)
}

fn col_f64(batches: &[RecordBatch], name: &str) -> Result<Vec<f64>, JobError> {
    let mut out = Vec::new();
    for b in batches {
        out.extend(floats(b, name)?.into_iter().map(|v| v.unwrap_or(f64::NAN)));
    }
    Ok(out)
}

/// Cells as text: integers without decimals, ratios with four.
fn table_rows(batches: &[RecordBatch], cols: &[&str]) -> Result<Vec<Vec<String>>, JobError> {
    let mut out = Vec::new();
    for b in batches {
        let mut columns = Vec::new();
        for c in cols {
            let field = b.schema().field_with_name(c).map(|f| f.data_type().clone());
            let text: Vec<String> = match field {
                Ok(t) if t.is_integer() => ints(b, c)?
                    .into_iter()
                    .map(|v| v.map_or(String::new(), |v| v.to_string()))
                    .collect(),
                Ok(t) if t.is_floating() => floats(b, c)?
                    .into_iter()
                    .map(|v| v.map_or(String::new(), |v| format!("{v:.4}")))
                    .collect(),
                _ => strings(b, c)?
                    .into_iter()
                    .map(Option::unwrap_or_default)
                    .collect(),
            };
            columns.push(text);
        }
        for i in 0..b.num_rows() {
            out.push(columns.iter().map(|c| c[i].clone()).collect());
        }
    }
    Ok(out)
}
