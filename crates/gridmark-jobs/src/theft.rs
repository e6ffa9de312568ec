//! Theft detection around the pure models of `gridmark_analytics::theft`: reading and writing
//! SGCC-layout files (`CONS_NO,FLAG[,ATTACK],<date>…`), building a year of daily series from
//! LCL daily files, injecting the Jokar attacks, and the k-fold evaluation.

use crate::JobError;
use gridmark_analytics::theft::{self, Attack, TheftEvaluation, TheftParams};
use gridmark_core::civil::{format_date, parse_date};
use gridmark_ingest::source::{open_text, sniff};
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;

/// Customers × days of consumption, with labels where known.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DailyMatrix {
    pub ids: Vec<String>,
    /// `FLAG`: 1 = thief; `None` where the file gives no label.
    pub labels: Vec<Option<bool>>,
    /// The injected attack, where the file says (the `ATTACK` column).
    pub attacks: Vec<Option<Attack>>,
    /// Day numbers (days since 1970-01-01), ascending; one column each.
    pub days: Vec<i64>,
    /// kWh per customer per day, NaN = missing.
    pub rows: Vec<Vec<f64>>,
}

pub(crate) fn line_err(path: &Path, line: usize, reason: impl Into<String>) -> JobError {
    JobError::invalid(format!("{}: line {line}", path.display()), reason)
}

pub(crate) fn lines(
    path: &Path,
) -> Result<impl Iterator<Item = (usize, std::io::Result<String>)>, JobError> {
    let reader = open_text(path, sniff(path)?)?;
    Ok(BufReader::with_capacity(1 << 20, reader)
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l)))
}

/// Opens a CSV, reads its header and finds the `wanted` columns; a missing one is reported with
/// `hint` (the kind of file expected). Returns their indices and the lines after the header.
pub(crate) fn open_with_columns<'a, const N: usize>(
    path: &'a Path,
    wanted: [&str; N],
    hint: &str,
) -> Result<([usize; N], NumberedLines<'a>), JobError> {
    let (names, it) = read_header(path)?;
    let mut cols = [0usize; N];
    for (c, w) in cols.iter_mut().zip(wanted) {
        *c = names
            .iter()
            .position(|h| *h == w)
            .ok_or_else(|| line_err(path, 1, format!("no `{w}` column ({hint})")))?;
    }
    Ok((cols, it))
}

/// Calls `row(line, day, cells, columns)` for every data row of an LCL daily file, where
/// `columns` are the positions of `wanted` (which must include `day`, parsed here). Blank lines
/// are skipped; a short row or a bad day is an error naming the line.
pub(crate) fn each_lcl_row<const N: usize>(
    path: &Path,
    wanted: [&str; N],
    mut row: impl FnMut(usize, i64, &[&str], &[usize; N]) -> Result<(), JobError>,
) -> Result<(), JobError> {
    let (cols, it) = open_with_columns(path, wanted, "is this an LCL daily file?")?;
    let day_c = cols[wanted
        .iter()
        .position(|w| *w == "day")
        .expect("`day` is among the wanted columns")];
    let width = cols.iter().copied().max().unwrap_or(0);
    for (n, line) in it {
        let line = line.map_err(|e| line_err(path, n, e.to_string()))?;
        let cells: Vec<&str> = line.split(',').collect();
        if cells.len() <= width {
            if line.trim().is_empty() {
                continue;
            }
            return Err(line_err(path, n, "too few fields"));
        }
        let day = parse_date(cells[day_c].trim().as_bytes())
            .ok_or_else(|| line_err(path, n, format!("day `{}` is not a date", cells[day_c])))?;
        row(n, day, &cells, &cols)?;
    }
    Ok(())
}

/// Opens a CSV and reads its header: the trimmed column names and the lines after it.
pub(crate) fn read_header(path: &Path) -> Result<(Vec<String>, NumberedLines<'_>), JobError> {
    let mut it = lines(path)?;
    let (_, header) = it
        .next()
        .ok_or_else(|| line_err(path, 1, "the file is empty"))?;
    let header = header.map_err(|e| line_err(path, 1, e.to_string()))?;
    let names = header.split(',').map(|s| s.trim().to_string()).collect();
    Ok((names, Box::new(it)))
}

/// Lines of a text file with their 1-based numbers.
pub(crate) type NumberedLines<'a> = Box<dyn Iterator<Item = (usize, std::io::Result<String>)> + 'a>;

/// Reads an SGCC-layout CSV: `CONS_NO,FLAG,<date>…`, optionally with an `ATTACK` column after
/// `FLAG`. Date columns may come in any order (the published SGCC file is not sorted); they
/// are sorted here. Empty cells are missing days.
pub fn read_sgcc(path: &Path) -> Result<DailyMatrix, JobError> {
    let mut it = lines(path)?;
    let (_, header) = it
        .next()
        .ok_or_else(|| line_err(path, 1, "the file is empty"))?;
    let header = header.map_err(|e| line_err(path, 1, e.to_string()))?;
    let names: Vec<&str> = header
        .trim_start_matches('\u{feff}')
        .split(',')
        .map(str::trim)
        .collect();
    let find = |n: &str| names.iter().position(|h| h.eq_ignore_ascii_case(n));
    let id_col = find("CONS_NO").ok_or_else(|| line_err(path, 1, "no CONS_NO column"))?;
    let flag_col = find("FLAG");
    let attack_col = find("ATTACK");
    let mut date_cols: Vec<(i64, usize)> = Vec::new();
    for (i, n) in names.iter().enumerate() {
        if Some(i) == flag_col || Some(i) == attack_col || i == id_col {
            continue;
        }
        let day = parse_date(n.as_bytes())
            .ok_or_else(|| line_err(path, 1, format!("column {} `{n}` is not a date", i + 1)))?;
        date_cols.push((day, i));
    }
    if date_cols.is_empty() {
        return Err(line_err(path, 1, "no date columns"));
    }
    date_cols.sort_unstable();
    if let Some(w) = date_cols.windows(2).find(|w| w[0].0 == w[1].0) {
        return Err(line_err(
            path,
            1,
            format!("date {} appears twice", format_date(w[0].0)),
        ));
    }
    let mut m = DailyMatrix {
        days: date_cols.iter().map(|d| d.0).collect(),
        ..Default::default()
    };
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (n, line) in it {
        let line = line.map_err(|e| line_err(path, n, e.to_string()))?;
        if line.trim().is_empty() {
            continue;
        }
        let cells: Vec<&str> = line.split(',').collect();
        if cells.len() != names.len() {
            return Err(line_err(
                path,
                n,
                format!("{} fields, the header has {}", cells.len(), names.len()),
            ));
        }
        let id = cells[id_col].trim().to_string();
        if id.is_empty() {
            return Err(line_err(path, n, "empty CONS_NO"));
        }
        if let Some(first) = seen.insert(id.clone(), n) {
            return Err(line_err(
                path,
                n,
                format!("CONS_NO {id} already on line {first}"),
            ));
        }
        let label = match flag_col.map(|c| cells[c].trim()) {
            None | Some("") => None,
            Some("0") => Some(false),
            Some("1") => Some(true),
            Some(other) => {
                return Err(line_err(path, n, format!("FLAG `{other}` is not 0 or 1")));
            }
        };
        let attack = match attack_col.map(|c| cells[c].trim()) {
            None | Some("") => None,
            Some(a) => Some(
                Attack::parse(a)
                    .ok_or_else(|| line_err(path, n, format!("ATTACK `{a}` is not h1…h6")))?,
            ),
        };
        let mut row = Vec::with_capacity(date_cols.len());
        for &(day, c) in &date_cols {
            let cell = cells[c].trim();
            let v = if cell.is_empty() || cell.eq_ignore_ascii_case("nan") {
                f64::NAN
            } else {
                match cell.parse::<f64>() {
                    Ok(v) if v.is_finite() => v,
                    _ => {
                        return Err(line_err(
                            path,
                            n,
                            format!("{}: `{cell}` is not a number", format_date(day)),
                        ));
                    }
                }
            };
            row.push(v);
        }
        m.ids.push(id);
        m.labels.push(label);
        m.attacks.push(attack);
        m.rows.push(row);
    }
    if m.ids.is_empty() {
        return Err(line_err(path, 2, "no customer rows"));
    }
    Ok(m)
}

/// Writes `CONS_NO,FLAG,ATTACK,<date>…` (whole or not at all).
pub fn write_sgcc(m: &DailyMatrix, path: &Path) -> Result<(), JobError> {
    let io = |source| JobError::Io {
        path: path.into(),
        source,
    };
    let tmp = path.with_extension("csv.tmp");
    let mut w = std::io::BufWriter::new(std::fs::File::create(&tmp).map_err(io)?);
    let mut header = String::from("CONS_NO,FLAG,ATTACK");
    for d in &m.days {
        header.push(',');
        header.push_str(&format_date(*d));
    }
    writeln!(w, "{header}").map_err(io)?;
    for i in 0..m.ids.len() {
        let flag = match m.labels[i] {
            Some(true) => "1",
            Some(false) => "0",
            None => "",
        };
        let attack = m.attacks[i].map_or("", Attack::name);
        write!(w, "{},{flag},{attack}", m.ids[i]).map_err(io)?;
        for v in &m.rows[i] {
            if v.is_finite() {
                // Three decimals: the kWh resolution of the source data.
                write!(w, ",{}", (v * 1000.0).round() / 1000.0).map_err(io)?;
            } else {
                write!(w, ",").map_err(io)?;
            }
        }
        writeln!(w).map_err(io)?;
    }
    w.flush().map_err(io)?;
    drop(w);
    std::fs::rename(&tmp, path).map_err(io)
}

/// Reads LCL daily files (`LCLid,day,…,energy_sum,…`) and keeps the households with a value on
/// every day of `[from, to]` (inclusive), as the evaluation protocol asks.
pub fn read_lcl_daily(paths: &[&Path], from: i64, to: i64) -> Result<DailyMatrix, JobError> {
    if to < from {
        return Err(JobError::invalid("--from/--to", "the period is empty"));
    }
    let n_days = (to - from + 1) as usize;
    let mut by_id: HashMap<String, Vec<f64>> = HashMap::new();
    for path in paths {
        each_lcl_row(
            path,
            ["LCLid", "day", "energy_sum"],
            |_, day, cells, &[id_c, _, sum_c]| {
                if day < from || day > to {
                    return Ok(());
                }
                // LCL marks unreadable sums as empty or "Null": a missing day, so the household
                // is not complete.
                let v = cells[sum_c]
                    .trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|v| v.is_finite());
                let row = by_id
                    .entry(cells[id_c].trim().to_string())
                    .or_insert_with(|| vec![f64::NAN; n_days]);
                row[(day - from) as usize] = v.unwrap_or(f64::NAN);
                Ok(())
            },
        )?;
    }
    let mut ids: Vec<String> = by_id
        .iter()
        .filter(|(_, r)| r.iter().all(|v| v.is_finite()))
        .map(|(id, _)| id.clone())
        .collect();
    ids.sort();
    let rows: Vec<Vec<f64>> = ids.iter().map(|id| by_id[id].clone()).collect();
    Ok(DailyMatrix {
        labels: vec![Some(false); ids.len()],
        attacks: vec![None; ids.len()],
        days: (from..=to).collect(),
        ids,
        rows,
    })
}

/// Injects the six attacks into `share` of the honest customers (cycling h1…h6); those become
/// `FLAG` 1 with their `ATTACK`. Customers already labelled thieves are left as they are.
pub fn inject(m: &mut DailyMatrix, share: f64, seed: u64) -> Result<usize, JobError> {
    if !(share > 0.0 && share < 1.0) {
        return Err(JobError::invalid(
            "--share",
            format!("{share} is not between 0 and 1"),
        ));
    }
    let honest: Vec<usize> = (0..m.ids.len())
        .filter(|&i| m.labels[i] != Some(true))
        .collect();
    let mut rows: Vec<Vec<f64>> = honest.iter().map(|&i| m.rows[i].clone()).collect();
    let attacks = theft::inject_share(&mut rows, share, seed);
    let mut injected = 0;
    for ((&i, row), attack) in honest.iter().zip(rows).zip(attacks) {
        m.labels[i] = Some(attack.is_some());
        if attack.is_some() {
            m.rows[i] = row;
            m.attacks[i] = attack;
            injected += 1;
        }
    }
    Ok(injected)
}

/// Stratified k-fold evaluation of the supervised and unsupervised detectors.
pub fn evaluate(
    m: &DailyMatrix,
    folds: usize,
    seed: u64,
    augment: bool,
) -> Result<TheftEvaluation, JobError> {
    let labels: Vec<bool> = m
        .labels
        .iter()
        .enumerate()
        .map(|(i, l)| {
            l.ok_or_else(|| {
                JobError::invalid(
                    format!("customer {}", m.ids[i]),
                    "has no FLAG; every row needs a 0/1 label for evaluation",
                )
            })
        })
        .collect::<Result<_, _>>()?;
    let positives = labels.iter().filter(|l| **l).count();
    if positives < folds || labels.len() - positives < folds {
        return Err(JobError::invalid(
            "evaluation",
            format!(
                "{positives} thieves and {} honest customers: each of the {folds} folds needs both",
                labels.len() - positives
            ),
        ));
    }
    let mut params = TheftParams::default();
    params.gbdt.seed = seed;
    params.augment_seed = seed;
    if !augment {
        params.augment = 0.0;
    }
    let attacks = m
        .attacks
        .iter()
        .any(Option::is_some)
        .then_some(&m.attacks[..]);
    theft::evaluate_with(&m.ids, &m.rows, &labels, attacks, folds, seed, &params)
        .map_err(|e| JobError::invalid("theft evaluation", e.to_string()))
}

/// Writes every row's out-of-fold scores: `id,label,score,unsupervised,fold,attack`.
pub fn write_scores(ev: &TheftEvaluation, path: &Path) -> Result<(), JobError> {
    let mut s = String::from("id,label,score,unsupervised,fold,attack\n");
    for r in &ev.rows {
        s.push_str(&format!(
            "{},{},{},{},{},{}\n",
            r.id,
            u8::from(r.label),
            r.score,
            r.unsupervised,
            r.fold,
            r.attack.map_or("", Attack::name)
        ));
    }
    crate::write_atomic(path, s.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sgcc_round_trip_sorts_dates_and_keeps_gaps() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.csv");
        std::fs::write(&p, "CONS_NO,FLAG,2014/1/2,2014/1/1\nA,1,2.5,\nB,0,,1\n").unwrap();
        let m = read_sgcc(&p).unwrap();
        assert_eq!(m.days, vec![days(2014, 1, 1), days(2014, 1, 2)]);
        assert_eq!(m.labels, vec![Some(true), Some(false)]);
        assert!(m.rows[0][0].is_nan() && m.rows[0][1] == 2.5);
        let out = dir.path().join("o.csv");
        write_sgcc(&m, &out).unwrap();
        let back = read_sgcc(&out).unwrap();
        assert_eq!(back.ids, m.ids);
        assert_eq!(back.rows[1][0], 1.0);
        assert!(back.rows[1][1].is_nan());
    }

    fn days(y: i64, m: u32, d: u32) -> i64 {
        gridmark_core::civil::days_from_civil(y, m, d)
    }

    #[test]
    fn bad_sgcc_files_name_the_line_and_field() {
        let dir = tempfile::tempdir().unwrap();
        let cases = [
            ("CONS_NO,FLAG,2014-01-01\nA,2,1\n", "line 2", "FLAG `2`"),
            (
                "CONS_NO,FLAG,2014-01-01\nA,0,x\n",
                "line 2",
                "`x` is not a number",
            ),
            ("CONS_NO,FLAG,2014-01-01\nA,0\n", "line 2", "2 fields"),
            ("CONS_NO,FLAG,Jan\nA,0,1\n", "line 1", "`Jan` is not a date"),
            (
                "CONS_NO,FLAG,2014-01-01\nA,0,1\nA,0,1\n",
                "line 3",
                "already on line 2",
            ),
            ("", "line 1", "empty"),
        ];
        for (i, (text, at, what)) in cases.iter().enumerate() {
            let p = dir.path().join(format!("{i}.csv"));
            std::fs::write(&p, text).unwrap();
            let e = read_sgcc(&p).unwrap_err().to_string();
            assert!(e.contains(at) && e.contains(what), "{e}");
        }
    }

    #[test]
    fn lcl_keeps_only_complete_households_and_inject_labels_them() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("block.csv");
        let mut s = String::from("LCLid,day,energy_median,energy_sum\n");
        for h in 0..20 {
            for d in 1..=10 {
                if h == 3 && d == 5 {
                    continue; // incomplete
                }
                let sum = if h == 4 && d == 2 {
                    "Null".to_string()
                } else {
                    format!("{}", 5 + h)
                };
                s.push_str(&format!("H{h:02},2013-01-{d:02},0.1,{sum}\n"));
            }
            s.push_str(&format!("H{h:02},2012-12-31,0.1,9\n")); // outside the period
        }
        std::fs::write(&p, s).unwrap();
        let mut m = read_lcl_daily(&[&p], days(2013, 1, 1), days(2013, 1, 10)).unwrap();
        assert_eq!(m.ids.len(), 18);
        assert!(!m.ids.contains(&"H03".to_string()) && !m.ids.contains(&"H04".to_string()));
        assert_eq!(m.rows[0].len(), 10);
        let n = inject(&mut m, 0.5, 1).unwrap();
        assert_eq!(n, 9);
        assert_eq!(m.labels.iter().filter(|l| **l == Some(true)).count(), 9);
        assert_eq!(m.attacks.iter().filter(|a| a.is_some()).count(), 9);
        assert!(inject(&mut m, 1.5, 1).is_err());
    }
}
