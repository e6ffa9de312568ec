//! `gridmark vee run`: every meter's raw readings through the VEE rules into
//! `readings_validated`, with `vee_edits`, `vee_findings`, `quality_daily` and a `vee_runs` row,
//! all in one commit.
//!
//! Meters are read in batches of whole meters (about [`BATCH_ROWS`] readings each), so memory
//! is bounded by the batch, not by the lake. The validated table and the daily quality table are
//! replaced by each run; edits and findings are kept for every run under its `run_id`, so the
//! history of every changed value survives re-runs.

use crate::JobError;
use crate::localtime::OffsetCache;
use crate::query::{Query, floats, ints, literal, strings};
use datafusion::arrow::array::AsArray;
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{
    DataType, Float64Type, Int64Type, TimeUnit, TimestampMillisecondType,
};
use gridmark_core::catalog;
use gridmark_core::{Clock, Rows, Value};
use gridmark_ingest::SeriesLoader;
use gridmark_lake::Lake;
use gridmark_metering::vee::{self, MeterInfo, Quality, VeeConfig, VeeOutput};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// Readings per batch of meters.
pub const BATCH_ROWS: u64 = 8_000_000;

/// What a VEE run did, for the terminal and `--json`.
#[derive(Debug, Clone, Serialize, Default)]
pub struct VeeReport {
    pub run_id: String,
    pub version: u64,
    pub meters: u64,
    pub readings_in: u64,
    pub readings_out: u64,
    pub estimated: u64,
    pub edited: u64,
    pub left_missing: u64,
    pub days: u64,
    pub sufficient_days: u64,
    /// Per rule: (findings, intervals).
    pub findings: BTreeMap<String, (u64, u64)>,
    pub seconds: f64,
}

/// Progress of a long run: meters done of all.
pub trait VeeProgress {
    fn meters_done(&self, done: u64, total: u64);
}

impl VeeProgress for () {
    fn meters_done(&self, _: u64, _: u64) {}
}

/// Runs VEE over every meter of the lake and commits the results.
pub fn run(
    lake: &Lake,
    clock: Arc<dyn Clock>,
    cfg: &VeeConfig,
    progress: &dyn VeeProgress,
) -> Result<VeeReport, JobError> {
    cfg.validate()
        .map_err(|reason| JobError::invalid("VEE configuration", reason))?;
    let started = clock.now_ms();
    let run_id = run_id(started);
    let tz = gridmark_core::tz::parse_tz(&lake.settings().default_tz)?;
    let q = Query::open(lake)?;
    let info = meter_info(&q)?;
    let counts = q.collect(
        "SELECT meter_id, count(*) AS n FROM readings GROUP BY meter_id ORDER BY meter_id",
    )?;
    let mut meters: Vec<(String, u64)> = Vec::new();
    for b in &counts {
        for (id, n) in strings(b, "meter_id")?.into_iter().zip(ints(b, "n")?) {
            if let (Some(id), Some(n)) = (id, n) {
                meters.push((id, n as u64));
            }
        }
    }
    let total_meters = meters.len() as u64;
    let mut writer = lake.writer(clock.clone())?;
    for table in ["readings_validated", "quality_daily"] {
        let files: Vec<String> = writer
            .pending()
            .table(table)
            .map(|t| t.files.iter().map(|f| f.path.clone()).collect())
            .unwrap_or_default();
        for f in files {
            writer.remove_file(table, &f);
        }
    }
    let source = format!("vee:{run_id}");
    let mut loader = SeriesLoader::new("readings_validated", &source)?;
    let mut edits = Rows::new(catalog::table("vee_edits")?);
    let mut findings = Rows::new(catalog::table("vee_findings")?);
    let mut daily = Rows::new(catalog::table("quality_daily")?);
    let mut report = VeeReport {
        run_id: run_id.clone(),
        meters: total_meters,
        ..Default::default()
    };
    let mut offsets = OffsetCache::new(tz);
    let mut done = 0u64;
    for group in batches(&meters) {
        let (lo, hi) = (&group[0].0, &group[group.len() - 1].0);
        let series = read_group(&q, lo, hi)?;
        report.readings_in += series.iter().map(|s| s.ts.len() as u64).sum::<u64>();
        // Day boundaries need the zone's offset; compute them up front for every instant the
        // batch can hold so the worker threads need no shared cache.
        let outputs = validate_all(cfg, &series, &info, &mut offsets);
        for (s, out) in series.iter().zip(outputs) {
            record(
                &mut report,
                &run_id,
                s,
                &out,
                &mut edits,
                &mut findings,
                &mut daily,
            )?;
            let ts: Vec<i64> = out.series.iter().map(|r| r.0).collect();
            let kwh: Vec<f64> = out.series.iter().map(|r| r.1).collect();
            let quality: Vec<u8> = out.series.iter().map(|r| quality_code(r.2)).collect();
            loader.push_with_quality(
                &mut writer,
                &s.meter_id,
                s.interval_s,
                &ts,
                &kwh,
                &quality,
            )?;
        }
        done += group.len() as u64;
        progress.meters_done(done, total_meters);
    }
    let file = loader.finish(&mut writer)?;
    report.readings_out = file.accepted;
    let mut runs = Rows::new(catalog::table("vee_runs")?);
    runs.push(vec![
        run_id.clone().into(),
        Value::Ts(started),
        Value::Ts(clock.now_ms()),
        serde_json::to_string(cfg)
            .map_err(|e| JobError::invalid("VEE configuration", e.to_string()))?
            .into(),
        (report.meters as i64).into(),
        (report.readings_in as i64).into(),
        (report.readings_out as i64).into(),
        (report.estimated as i64).into(),
        (report.edited as i64).into(),
        (report.left_missing as i64).into(),
    ])?;
    for rows in [&runs, &edits, &findings, &daily] {
        if !rows.is_empty() {
            gridmark_ingest::store_rows(&mut writer, rows, &source)?;
        }
    }
    let snapshot = writer.commit("vee run")?;
    report.version = snapshot.version;
    report.seconds = (clock.now_ms() - started) as f64 / 1000.0;
    Ok(report)
}

pub(crate) fn run_id(ms: i64) -> String {
    let s = gridmark_core::civil::format_utc(ms);
    // 2025-12-01T02:00:00.000Z → 20251201T020000Z
    let digits: String = s
        .chars()
        .take(19)
        .filter(|c| c.is_ascii_digit() || *c == 'T')
        .collect();
    format!("{digits}Z")
}

/// The code of a quality in `gridmark_ingest::series::QUALITY` (raw, validated, estimated,
/// edited); checked by a test.
fn quality_code(q: Quality) -> u8 {
    match q {
        Quality::Validated => 1,
        Quality::Estimated => 2,
        Quality::Edited => 3,
        // Missing intervals have no value and are never written.
        Quality::Missing => 0,
    }
}

/// One meter's raw readings at one interval length.
struct MeterSeries {
    meter_id: String,
    interval_s: i64,
    ts: Vec<i64>,
    kwh: Vec<f64>,
}

/// Contract capacity per meter, from its customer.
fn meter_info(q: &Query) -> Result<HashMap<String, Option<f64>>, JobError> {
    let mut out = HashMap::new();
    for b in q.collect(
        "SELECT m.meter_id, c.contract_kw FROM meters m LEFT JOIN customers c ON m.customer_id = c.customer_id",
    )? {
        for (id, kw) in strings(&b, "meter_id")?.into_iter().zip(floats(&b, "contract_kw")?) {
            if let Some(id) = id {
                out.insert(id, kw);
            }
        }
    }
    Ok(out)
}

/// Consecutive meters (in id order) grouped so each group holds about `BATCH_ROWS` readings.
fn batches(meters: &[(String, u64)]) -> Vec<&[(String, u64)]> {
    let mut out = Vec::new();
    let (mut start, mut rows) = (0, 0);
    for (i, m) in meters.iter().enumerate() {
        rows += m.1;
        if rows >= BATCH_ROWS || i + 1 == meters.len() {
            out.push(&meters[start..=i]);
            start = i + 1;
            rows = 0;
        }
    }
    out
}

fn read_group(q: &Query, lo: &str, hi: &str) -> Result<Vec<MeterSeries>, JobError> {
    let mut by_key: HashMap<(String, i64), MeterSeries> = HashMap::new();
    let sql = format!(
        "SELECT meter_id, interval_s, ts, kwh FROM readings WHERE meter_id >= {} AND meter_id <= {}",
        literal(lo),
        literal(hi)
    );
    q.for_each(&sql, |b| {
        let ids = cast(b.column(0), &DataType::Utf8)
            .map_err(|e| JobError::invalid("readings.meter_id", e.to_string()))?;
        let ids = ids.as_string::<i32>();
        let iv = b.column(1).as_primitive::<Int64Type>();
        let ts = cast(
            b.column(2),
            &DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())),
        )
        .map_err(|e| JobError::invalid("readings.ts", e.to_string()))?;
        let ts = ts.as_primitive::<TimestampMillisecondType>();
        let kwh = b.column(3).as_primitive::<Float64Type>();
        let mut current: Option<&mut MeterSeries> = None;
        for i in 0..b.num_rows() {
            let (id, interval) = (ids.value(i), iv.value(i));
            let same = current
                .as_ref()
                .is_some_and(|s| s.meter_id == id && s.interval_s == interval);
            if !same {
                current =
                    Some(
                        by_key
                            .entry((id.to_string(), interval))
                            .or_insert_with(|| MeterSeries {
                                meter_id: id.to_string(),
                                interval_s: interval,
                                ts: Vec::new(),
                                kwh: Vec::new(),
                            }),
                    );
            }
            if let Some(s) = current.as_mut() {
                s.ts.push(ts.value(i));
                s.kwh.push(kwh.value(i));
            }
        }
        Ok(())
    })?;
    let mut out: Vec<MeterSeries> = by_key.into_values().collect();
    out.sort_by(|a, b| (&a.meter_id, a.interval_s).cmp(&(&b.meter_id, b.interval_s)));
    Ok(out)
}

fn validate_all(
    cfg: &VeeConfig,
    series: &[MeterSeries],
    info: &HashMap<String, Option<f64>>,
    offsets: &mut OffsetCache,
) -> Vec<VeeOutput> {
    // Warm the offset cache for the whole span of the batch, then share it read-only.
    if let (Some(lo), Some(hi)) = (
        series.iter().filter_map(|s| s.ts.iter().min()).min(),
        series.iter().filter_map(|s| s.ts.iter().max()).max(),
    ) {
        let mut t = lo.div_euclid(1_800_000) * 1_800_000;
        while t <= *hi {
            offsets.local_day(t);
            t += 1_800_000;
        }
    }
    let offsets = &*offsets;
    let offset_ms = |t: i64| -> i64 {
        offsets
            .hours
            .get(&t.div_euclid(1_800_000))
            .copied()
            .unwrap_or_else(|| gridmark_core::tz::offset_at(offsets.tz, t) as i64 * 1000)
    };
    let local_day = |t: i64| -> i64 { (t + offset_ms(t)).div_euclid(86_400_000) };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = series.len().div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = series
            .chunks(chunk)
            .map(|part| {
                let (local_day, offset_ms) = (&local_day, &offset_ms);
                scope.spawn(move || {
                    part.iter()
                        .map(|s| {
                            let meter = MeterInfo {
                                interval_s: s.interval_s,
                                contract_kw: info.get(&s.meter_id).copied().flatten(),
                                net_metered: None,
                            };
                            if s.interval_s % 86_400 == 0 {
                                on_local_days(cfg, meter, s, offset_ms)
                            } else {
                                vee::run(cfg, meter, &s.ts, &s.kwh, local_day)
                            }
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    })
}

/// Daily (and longer) readings start at local midnight, which is not on the UTC day grid
/// (16:00 UTC in Shanghai) and moves by an hour with daylight saving (23:00 UTC in a London
/// summer). They are validated on local wall-clock time, where local midnights are evenly
/// spaced, and every instant is turned back to UTC afterwards.
fn on_local_days(
    cfg: &VeeConfig,
    meter: MeterInfo,
    s: &MeterSeries,
    offset_ms: &dyn Fn(i64) -> i64,
) -> VeeOutput {
    let wall: Vec<i64> = s.ts.iter().map(|&t| t + offset_ms(t)).collect();
    let mut out = vee::run(cfg, meter, &wall, &s.kwh, &|w| w.div_euclid(86_400_000));
    // The offset in force at a wall time: the offset at the UTC instant it names.
    let utc = |w: i64| w - offset_ms(w - offset_ms(w));
    for r in &mut out.series {
        r.0 = utc(r.0);
    }
    for e in &mut out.edits {
        e.ts = utc(e.ts);
    }
    for f in &mut out.findings {
        f.start = utc(f.start);
        f.end = utc(f.end);
    }
    out
}

fn record(
    report: &mut VeeReport,
    run_id: &str,
    s: &MeterSeries,
    out: &VeeOutput,
    edits: &mut Rows,
    findings: &mut Rows,
    daily: &mut Rows,
) -> Result<(), JobError> {
    for e in &out.edits {
        match e.quality {
            Quality::Estimated => report.estimated += 1,
            Quality::Edited => report.edited += 1,
            Quality::Missing => report.left_missing += 1,
            Quality::Validated => {}
        }
        edits.push(vec![
            run_id.into(),
            s.meter_id.as_str().into(),
            s.interval_s.into(),
            Value::Ts(e.ts),
            e.rule.into(),
            e.before.into(),
            e.after.into(),
            e.quality.as_str().into(),
            e.method.as_str().into(),
        ])?;
    }
    for f in &out.findings {
        let entry = report.findings.entry(f.rule.to_string()).or_default();
        entry.0 += 1;
        entry.1 += f.intervals as u64;
        findings.push(vec![
            run_id.into(),
            s.meter_id.as_str().into(),
            f.rule.into(),
            Value::Ts(f.start),
            Value::Ts(f.end),
            (f.intervals as i64).into(),
            f.action.into(),
            f.detail.clone().into(),
        ])?;
    }
    for d in &out.days {
        report.days += 1;
        report.sufficient_days += u64::from(d.sufficient);
        daily.push(vec![
            s.meter_id.as_str().into(),
            Value::Date(d.day as i32),
            (d.expected as i64).into(),
            (d.read as i64).into(),
            (d.validated as i64).into(),
            (d.estimated as i64).into(),
            (d.edited as i64).into(),
            (d.missing as i64).into(),
            d.sufficient.into(),
        ])?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_keep_meters_whole_and_cover_all() {
        let meters: Vec<(String, u64)> =
            (0..10).map(|i| (format!("M{i}"), BATCH_ROWS / 2)).collect();
        let groups = batches(&meters);
        assert_eq!(groups.iter().map(|g| g.len()).sum::<usize>(), 10);
        assert!(groups.iter().all(|g| g.len() == 2));
        assert!(batches(&[]).is_empty());
    }

    #[test]
    fn daily_readings_are_validated_on_local_midnights() {
        // London-like: UTC+1 from day 10 on, so local midnight moves from 00:00 to 23:00 UTC.
        const DAY: i64 = 86_400_000;
        let offset = |t: i64| {
            if t >= 10 * DAY - 3_600_000 {
                3_600_000
            } else {
                0
            }
        };
        let midnight = |d: i64| d * DAY - offset(d * DAY - 3_600_000);
        let days: Vec<i64> = (0..30).filter(|d| *d != 20).collect();
        let s = MeterSeries {
            meter_id: "M".into(),
            interval_s: 86_400,
            ts: days.iter().map(|&d| midnight(d)).collect(),
            kwh: days.iter().map(|&d| 10.0 + (d % 7) as f64).collect(),
        };
        let meter = MeterInfo {
            interval_s: 86_400,
            contract_kw: None,
            net_metered: None,
        };
        let out = on_local_days(&VeeConfig::default(), meter, &s, &offset);
        assert!(
            out.findings.iter().all(|f| f.rule != "misaligned"),
            "{:?}",
            out.findings
        );
        assert_eq!(out.series.len(), 30);
        for (d, r) in out.series.iter().enumerate() {
            assert_eq!(r.0, midnight(d as i64), "day {d}");
        }
        assert_eq!(out.edits.len(), 1);
        assert_eq!(
            (out.edits[0].ts, out.edits[0].quality),
            (midnight(20), Quality::Estimated)
        );
        assert_eq!(out.days.len(), 30);
    }

    #[test]
    fn quality_codes_index_the_ingest_names() {
        for q in [Quality::Validated, Quality::Estimated, Quality::Edited] {
            assert_eq!(
                gridmark_ingest::series::QUALITY[quality_code(q) as usize],
                q.as_str()
            );
        }
    }

    #[test]
    fn run_ids_are_compact_utc() {
        assert_eq!(run_id(1_764_554_400_000), "20251201T020000Z");
    }
}
