//! Reading the real-data forecasting benchmarks into the shapes of
//! `gridmark_analytics::forecast::protocols`: half-hourly system load with temperature and
//! holidays (the Victoria `vic_elec` layout) and one daily series per household (LCL daily
//! files), and writing what a peer tool needs to run the identical protocol.

use crate::JobError;
use crate::theft::{each_lcl_row, line_err, open_with_columns};
use gridmark_analytics::forecast::protocols::{DayAheadData, DayAheadTable};
use gridmark_core::civil::{
    civil_from_days, days_from_civil, format_date, parse_date, parse_timestamp,
};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;

/// Names of the day-ahead covariates, in column order.
pub const DAY_AHEAD_COVARIATES: [&str; 7] = [
    "halfhour",
    "weekday",
    "holiday",
    "day_of_year",
    "temperature",
    "day_max_temperature",
    "day_min_temperature",
];

fn is_true(cell: &str) -> Option<bool> {
    match cell.trim() {
        "True" | "TRUE" | "true" | "1" => Some(true),
        "False" | "FALSE" | "false" | "0" => Some(false),
        _ => None,
    }
}

/// Reads a half-hourly load file with columns `time_utc`, `Demand`, `Temperature`, `Date`
/// (local day) and `Holiday` (True/False), in time order with no gaps.
pub fn read_day_ahead(path: &Path) -> Result<DayAheadData, JobError> {
    let ([time_c, load_c, temp_c, date_c, hol_c], it) = open_with_columns(
        path,
        ["time_utc", "Demand", "Temperature", "Date", "Holiday"],
        "expected time_utc, Demand, Temperature, Date, Holiday as in vic_elec.csv",
    )?;
    let width = [time_c, load_c, temp_c, date_c, hol_c]
        .into_iter()
        .max()
        .unwrap_or(0);
    let mut load = Vec::new();
    let mut rows: Vec<(i64, bool, f64)> = Vec::new();
    let mut last_ms: Option<(i64, usize)> = None;
    for (n, line) in it {
        let line = line.map_err(|e| line_err(path, n, e.to_string()))?;
        if line.trim().is_empty() {
            continue;
        }
        let cells: Vec<&str> = line.split(',').collect();
        if cells.len() <= width {
            return Err(line_err(
                path,
                n,
                format!("{} fields, expected at least {}", cells.len(), width + 1),
            ));
        }
        let ms = parse_timestamp(cells[time_c].trim().as_bytes())
            .and_then(|t| t.utc_ms())
            .ok_or_else(|| {
                line_err(
                    path,
                    n,
                    format!("time_utc `{}` is not a UTC timestamp", cells[time_c]),
                )
            })?;
        if let Some((prev, prev_line)) = last_ms
            && ms - prev != 30 * 60 * 1000
        {
            return Err(line_err(
                path,
                n,
                format!(
                    "time_utc {} is not 30 minutes after line {prev_line}; the file must be half-hourly, in order, without gaps or duplicates",
                    cells[time_c].trim()
                ),
            ));
        }
        last_ms = Some((ms, n));
        let num = |c: usize, what: &str| {
            cells[c]
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| line_err(path, n, format!("{what} `{}` is not a number", cells[c])))
        };
        load.push(num(load_c, "Demand")?);
        let temp = num(temp_c, "Temperature")?;
        let day = parse_date(cells[date_c].trim().as_bytes())
            .ok_or_else(|| line_err(path, n, format!("Date `{}` is not a date", cells[date_c])))?;
        let hol = is_true(cells[hol_c]).ok_or_else(|| {
            line_err(
                path,
                n,
                format!("Holiday `{}` is not True or False", cells[hol_c]),
            )
        })?;
        rows.push((day, hol, temp));
    }
    if rows.len() < 48 * 30 {
        return Err(JobError::invalid(
            path.display().to_string(),
            format!(
                "{} half-hours; the protocol needs at least 30 days",
                rows.len()
            ),
        ));
    }
    let mut day_stats: HashMap<i64, (f64, f64)> = HashMap::new();
    for &(day, _, t) in &rows {
        let e = day_stats
            .entry(day)
            .or_insert((f64::NEG_INFINITY, f64::INFINITY));
        e.0 = e.0.max(t);
        e.1 = e.1.min(t);
    }
    let mut day_starts = Vec::new();
    let mut covariates = Vec::with_capacity(rows.len());
    let mut slot = 0usize;
    for (i, &(day, hol, temp)) in rows.iter().enumerate() {
        if i == 0 || rows[i - 1].0 != day {
            day_starts.push(i);
            slot = 0;
        }
        let (y, _, _) = civil_from_days(day);
        let doy = day - days_from_civil(y, 1, 1);
        let (mx, mn) = day_stats[&day];
        // 1970-01-01 was a Thursday; Monday = 0.
        let weekday = (day + 3).rem_euclid(7);
        covariates.push(vec![
            slot as f64,
            weekday as f64,
            f64::from(u8::from(hol)),
            doy as f64,
            temp,
            mx,
            mn,
        ]);
        slot += 1;
    }
    // The first day may start mid-day; keep only whole local days as origins.
    if rows
        .first()
        .is_some_and(|_| covariates.first().is_some_and(|c| c[0] != 0.0))
    {
        day_starts.remove(0);
    }
    Ok(DayAheadData {
        load,
        covariates,
        covariate_names: DAY_AHEAD_COVARIATES.iter().map(|s| s.to_string()).collect(),
        day_starts,
    })
}

/// Writes the day-ahead GBDT table as CSV (`origin,t,<features>,target_rel,level,actual`) with
/// the test origins as a second file's lines, for a peer to train and predict on the same rows.
pub fn write_day_ahead_table(
    table: &DayAheadTable,
    test_origins: &[usize],
    path: &Path,
) -> Result<(), JobError> {
    let mut s = String::with_capacity(table.rows.len() * 120);
    let _ = writeln!(
        s,
        "origin,t,{},target_rel,level,actual,test",
        table.names.join(",")
    );
    let first_test = test_origins.first().copied().unwrap_or(usize::MAX);
    for (o, t, f, target, level, actual) in &table.rows {
        let _ = write!(s, "{o},{t}");
        for v in f {
            let _ = write!(s, ",{v}");
        }
        let _ = writeln!(
            s,
            ",{target},{level},{actual},{}",
            u8::from(*o >= first_test)
        );
    }
    crate::write_atomic(path, s.as_bytes())
}

/// One daily series per household, right-aligned on a common length.
#[derive(Debug, Clone, Default)]
pub struct Households {
    /// Household ids, sorted.
    pub ids: Vec<String>,
    /// First and last day (days since 1970-01-01) of each series.
    pub spans: Vec<(i64, i64)>,
    /// Series, all as long as the longest; shorter ones start with NaN.
    pub series: Vec<Vec<f64>>,
    /// Days filled because they were missing or incomplete, over all series.
    pub filled_days: usize,
    /// Households dropped for having fewer than the minimum number of days.
    pub dropped: usize,
}

/// Reads LCL daily files into one series of `energy_sum` per household, from its first to its
/// last complete day (`energy_count` 48). Missing or incomplete days in between are filled with
/// the value a week earlier (else the day before), so every tool sees the same gap-free series.
/// Households with fewer than `min_days` days are dropped.
pub fn read_households(paths: &[&Path], min_days: usize) -> Result<Households, JobError> {
    let mut by_id: HashMap<String, Vec<(i64, f64)>> = HashMap::new();
    for path in paths {
        each_lcl_row(
            path,
            ["LCLid", "day", "energy_sum", "energy_count"],
            |_, day, cells, &[id_c, _, sum_c, count_c]| {
                let complete = cells[count_c]
                    .trim()
                    .parse::<f64>()
                    .is_ok_and(|c| c == 48.0);
                let v = cells[sum_c]
                    .trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|v| v.is_finite() && *v >= 0.0);
                if let (true, Some(v)) = (complete, v) {
                    by_id
                        .entry(cells[id_c].trim().to_string())
                        .or_default()
                        .push((day, v));
                }
                Ok(())
            },
        )?;
    }
    let mut ids: Vec<String> = by_id.keys().cloned().collect();
    ids.sort();
    let mut out = Households::default();
    let mut dense: Vec<Vec<f64>> = Vec::new();
    for id in ids {
        let mut days = by_id.remove(&id).unwrap_or_default();
        days.sort_by_key(|d| d.0);
        days.dedup_by_key(|d| d.0);
        let (Some(&(first, _)), Some(&(last, _))) = (days.first(), days.last()) else {
            continue;
        };
        let len = (last - first + 1) as usize;
        if len < min_days {
            out.dropped += 1;
            continue;
        }
        let mut y = vec![f64::NAN; len];
        for (d, v) in days {
            y[(d - first) as usize] = v;
        }
        for t in 0..len {
            if y[t].is_nan() {
                out.filled_days += 1;
                y[t] = if t >= 7 && !y[t - 7].is_nan() {
                    y[t - 7]
                } else {
                    y[t - 1]
                };
            }
        }
        out.ids.push(id);
        out.spans.push((first, last));
        dense.push(y);
    }
    let longest = dense.iter().map(Vec::len).max().unwrap_or(0);
    out.series = dense
        .into_iter()
        .map(|y| {
            let mut padded = vec![f64::NAN; longest - y.len()];
            padded.extend(y);
            padded
        })
        .collect();
    Ok(out)
}

/// Writes the households as long CSV `unique_id,ds,y` (statsforecast's layout).
pub fn write_households(h: &Households, path: &Path) -> Result<(), JobError> {
    let mut s = String::from("unique_id,ds,y\n");
    for ((id, &(first, _)), y) in h.ids.iter().zip(&h.spans).zip(&h.series) {
        for (k, v) in y.iter().filter(|v| !v.is_nan()).enumerate() {
            let _ = writeln!(s, "{id},{},{v}", format_date(first + k as i64));
        }
    }
    crate::write_atomic(path, s.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn households_are_filled_right_aligned_and_short_ones_dropped() {
        let dir = std::env::temp_dir().join(format!("gm-fd-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut text = String::from(
            "LCLid,day,energy_median,energy_mean,energy_max,energy_count,energy_std,energy_sum,energy_min\n",
        );
        for d in 1..=20 {
            if d == 12 {
                // Incomplete day: filled from a week earlier.
                text.push_str(&format!("A,2013-01-{d:02},0,0,0,40,0,99,0\n"));
                continue;
            }
            text.push_str(&format!("A,2013-01-{d:02},0,0,0,48,0,{d},0\n"));
        }
        for d in 5..=20 {
            text.push_str(&format!("B,2013-01-{d:02},0,0,0,48,0,1.5,0\n"));
        }
        text.push_str("C,2013-01-01,0,0,0,48,0,1,0\n");
        let p = write(&dir, "block.csv", &text);
        let h = read_households(&[p.as_path()], 10).unwrap();
        assert_eq!(h.ids, vec!["A", "B"]);
        assert_eq!(h.dropped, 1);
        assert_eq!(h.filled_days, 1);
        assert_eq!(h.series[0][11], 5.0);
        assert_eq!(h.series[1].len(), 20);
        assert!(h.series[1][3].is_nan() && h.series[1][4] == 1.5);
        let bad = write(
            &dir,
            "bad.csv",
            "LCLid,day,energy_count,energy_sum\nA,notaday,48,1\n",
        );
        let e = read_households(&[bad.as_path()], 1)
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 2") && e.contains("notaday"), "{e}");
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn day_ahead_rejects_gaps_and_bad_cells_by_line() {
        let dir = std::env::temp_dir().join(format!("gm-da-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let head = "time_utc,time_local,Demand,Temperature,Date,Holiday\n";
        let p = write(
            &dir,
            "gap.csv",
            &format!(
                "{head}2012-01-01T00:00:00Z,x,1,2,2012-01-01,False\n2012-01-01T01:00:00Z,x,1,2,2012-01-01,False\n"
            ),
        );
        let e = read_day_ahead(&p).unwrap_err().to_string();
        assert!(e.contains("line 3") && e.contains("30 minutes"), "{e}");
        let p = write(
            &dir,
            "hol.csv",
            &format!("{head}2012-01-01T00:00:00Z,x,1,2,2012-01-01,maybe\n"),
        );
        let e = read_day_ahead(&p).unwrap_err().to_string();
        assert!(e.contains("line 2") && e.contains("Holiday"), "{e}");
        let p = write(&dir, "nocol.csv", "a,b\n1,2\n");
        assert!(
            read_day_ahead(&p)
                .unwrap_err()
                .to_string()
                .contains("time_utc")
        );
        std::fs::remove_dir_all(&dir).ok();
    }
}
