//! A customer table (one row per customer, any mix of numbers, dates, flags and categories) as
//! a numeric feature matrix for the tree models, with its labels, for `gridmark churn eval`.
//!
//! Column kinds are inferred from the non-empty cells: all numbers → numeric; all dates
//! (`YYYY-MM-DD` or `D/M/YYYY`) → days since 1970-01-01; all `t`/`f`/`true`/`false` → 0/1;
//! anything else → a category coded by frequency rank (most frequent 0), which the trees split
//! on like a number. Empty cells are missing (NaN), never zero.

use crate::JobError;
use crate::theft::{line_err, read_header};
use gridmark_core::civil::{days_from_civil, parse_date};
use std::collections::HashMap;
use std::path::Path;

/// How a column became numbers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ColumnKind {
    Numeric,
    Date,
    Flag,
    /// With this many distinct values.
    Category(usize),
}

/// Rows × features, row-major, with ids and labels.
#[derive(Debug, Clone)]
pub struct FeatureTable {
    pub ids: Vec<String>,
    pub names: Vec<String>,
    pub kinds: Vec<ColumnKind>,
    pub x: Vec<f64>,
    pub labels: Vec<bool>,
    /// Rows left out because their label was missing.
    pub unlabelled: usize,
}

fn parse_any_date(s: &str) -> Option<i64> {
    if let Some(d) = parse_date(s.as_bytes()) {
        return Some(d);
    }
    let mut it = s.split('/');
    let (d, m, y) = (
        it.next()?.parse::<u32>().ok()?,
        it.next()?.parse::<u32>().ok()?,
        it.next()?.parse::<i64>().ok()?,
    );
    if it.next().is_some()
        || !(1..=31).contains(&d)
        || !(1..=12).contains(&m)
        || !(1000..=9999).contains(&y)
    {
        return None;
    }
    Some(days_from_civil(y, m, d))
}

fn flag(s: &str) -> Option<f64> {
    match s {
        "t" | "true" | "True" | "TRUE" => Some(1.0),
        "f" | "false" | "False" | "FALSE" => Some(0.0),
        _ => None,
    }
}

fn label(s: &str) -> Option<bool> {
    match s.trim() {
        "1" | "1.0" | "t" | "true" | "True" | "yes" => Some(true),
        "0" | "0.0" | "f" | "false" | "False" | "no" => Some(false),
        _ => None,
    }
}

/// A CSV's data rows: (line number, cells).
type NumberedRows = Vec<(usize, Vec<String>)>;

/// Reads the header and every row of a CSV (no quoted fields).
fn read_rows(path: &Path, id: &str) -> Result<(Vec<String>, NumberedRows), JobError> {
    let (header, it) = read_header(path)?;
    if !header.iter().any(|h| h == id) {
        return Err(line_err(
            path,
            1,
            format!("no `{id}` column (the --id column)"),
        ));
    }
    let mut rows = Vec::new();
    for (n, line) in it {
        let line = line.map_err(|e| line_err(path, n, e.to_string()))?;
        if line.trim().is_empty() {
            continue;
        }
        if line.contains('"') {
            return Err(line_err(
                path,
                n,
                "quoted fields are not supported; export without quotes",
            ));
        }
        let cells: Vec<String> = line.split(',').map(|s| s.trim().to_string()).collect();
        if cells.len() != header.len() {
            return Err(line_err(
                path,
                n,
                format!("{} fields, the header has {}", cells.len(), header.len()),
            ));
        }
        rows.push((n, cells));
    }
    Ok((header, rows))
}

/// Reads `input` (ids in column `id`) and the labels in column `target`, either from `input`
/// itself or from `labels` (a CSV with the same id column). Every other column is a feature.
pub fn read_features(
    input: &Path,
    labels: Option<&Path>,
    id: &str,
    target: &str,
) -> Result<FeatureTable, JobError> {
    let (header, rows) = read_rows(input, id)?;
    let id_c = header.iter().position(|h| h == id).unwrap_or(0);
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (n, cells) in &rows {
        if cells[id_c].is_empty() {
            return Err(line_err(input, *n, format!("empty `{id}`")));
        }
        if let Some(first) = seen.insert(cells[id_c].clone(), *n) {
            return Err(line_err(
                input,
                *n,
                format!("`{id}` {} already on line {first}", cells[id_c]),
            ));
        }
    }
    // Labels by id.
    let mut by_id: HashMap<String, bool> = HashMap::new();
    let label_path = labels.unwrap_or(input);
    let (lh, lrows) = if labels.is_some() {
        read_rows(label_path, id)?
    } else {
        (header.clone(), rows.clone())
    };
    let lid = lh.iter().position(|h| h == id).unwrap_or(0);
    let lt = lh.iter().position(|h| h == target).ok_or_else(|| {
        line_err(
            label_path,
            1,
            format!("no `{target}` column (the --target)"),
        )
    })?;
    for (n, cells) in &lrows {
        if cells[lt].is_empty() {
            continue;
        }
        let v = label(&cells[lt]).ok_or_else(|| {
            line_err(
                label_path,
                *n,
                format!("`{target}` is `{}`, expected 0/1 or true/false", cells[lt]),
            )
        })?;
        by_id.insert(cells[lid].clone(), v);
    }
    let features: Vec<usize> = (0..header.len())
        .filter(|&c| c != id_c && header[c] != target)
        .collect();
    if features.is_empty() {
        return Err(JobError::invalid(
            input.display().to_string(),
            "no feature columns besides the id and the target",
        ));
    }
    let kept: Vec<&(usize, Vec<String>)> = rows
        .iter()
        .filter(|(_, c)| by_id.contains_key(&c[id_c]))
        .collect();
    let unlabelled = rows.len() - kept.len();
    let mut kinds = Vec::new();
    let mut columns: Vec<Vec<f64>> = Vec::new();
    for &c in &features {
        let cells: Vec<&str> = kept.iter().map(|(_, r)| r[c].as_str()).collect();
        let present: Vec<&str> = cells.iter().copied().filter(|s| !s.is_empty()).collect();
        let (kind, values): (ColumnKind, Vec<f64>) =
            if present.iter().all(|s| s.parse::<f64>().is_ok()) {
                (
                    ColumnKind::Numeric,
                    cells
                        .iter()
                        .map(|s| s.parse::<f64>().unwrap_or(f64::NAN))
                        .collect(),
                )
            } else if present.iter().all(|s| parse_any_date(s).is_some()) {
                (
                    ColumnKind::Date,
                    cells
                        .iter()
                        .map(|s| parse_any_date(s).map_or(f64::NAN, |d| d as f64))
                        .collect(),
                )
            } else if present.iter().all(|s| flag(s).is_some()) {
                (
                    ColumnKind::Flag,
                    cells.iter().map(|s| flag(s).unwrap_or(f64::NAN)).collect(),
                )
            } else {
                let mut counts: HashMap<&str, usize> = HashMap::new();
                for s in &present {
                    *counts.entry(s).or_default() += 1;
                }
                let mut order: Vec<(&str, usize)> = counts.into_iter().collect();
                order.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
                let code: HashMap<&str, f64> = order
                    .iter()
                    .enumerate()
                    .map(|(k, (s, _))| (*s, k as f64))
                    .collect();
                (
                    ColumnKind::Category(order.len()),
                    cells
                        .iter()
                        .map(|s| code.get(s).copied().unwrap_or(f64::NAN))
                        .collect(),
                )
            };
        kinds.push(kind);
        columns.push(values);
    }
    let n = kept.len();
    let d = features.len();
    let mut x = vec![0.0; n * d];
    for (j, col) in columns.iter().enumerate() {
        for (i, v) in col.iter().enumerate() {
            x[i * d + j] = *v;
        }
    }
    Ok(FeatureTable {
        ids: kept.iter().map(|(_, r)| r[id_c].clone()).collect(),
        labels: kept.iter().map(|(_, r)| by_id[&r[id_c]]).collect(),
        names: features.iter().map(|&c| header[c].clone()).collect(),
        kinds,
        x,
        unlabelled,
    })
}

impl FeatureTable {
    /// Adds, for every pair of date columns, the gap between them in days (`a-b`): how long a
    /// contract has run, how far its renewal is from its last change. Trees split on each date
    /// alone but cannot subtract two of them.
    pub fn with_date_gaps(mut self) -> Self {
        let dates: Vec<usize> = (0..self.names.len())
            .filter(|&j| self.kinds[j] == ColumnKind::Date)
            .collect();
        let pairs: Vec<(usize, usize)> = dates
            .iter()
            .enumerate()
            .flat_map(|(k, &a)| dates[k + 1..].iter().map(move |&b| (a, b)))
            .collect();
        if pairs.is_empty() {
            return self;
        }
        let (d, n) = (self.names.len(), self.ids.len());
        let wide = d + pairs.len();
        let mut x = Vec::with_capacity(n * wide);
        for row in self.x.chunks_exact(d) {
            x.extend_from_slice(row);
            x.extend(pairs.iter().map(|&(a, b)| row[a] - row[b]));
        }
        for &(a, b) in &pairs {
            self.names
                .push(format!("{}-{}", self.names[a], self.names[b]));
            self.kinds.push(ColumnKind::Numeric);
        }
        self.x = x;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_inferred_and_bad_rows_named() {
        let dir = std::env::temp_dir().join(format!("gm-tab-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("c.csv");
        std::fs::write(&p, "id,amount,since,gas,channel,churn\na,1.5,7/11/2012,t,web,1\nb,,2013-01-02,f,hall,0\nc,3,,t,web,\nd,4,1/1/2014,,web,0\n").unwrap();
        let t = read_features(&p, None, "id", "churn").unwrap();
        assert_eq!(t.ids, vec!["a", "b", "d"]);
        assert_eq!(t.unlabelled, 1);
        assert_eq!(
            t.kinds,
            vec![
                ColumnKind::Numeric,
                ColumnKind::Date,
                ColumnKind::Flag,
                ColumnKind::Category(2)
            ]
        );
        assert!(t.x[4].is_nan(), "empty amount is missing");
        assert_eq!(t.x[1], days_from_civil(2012, 11, 7) as f64);
        assert_eq!(t.x[3], 0.0, "web is the most frequent channel");
        assert_eq!(t.labels, vec![true, false, false]);
        std::fs::write(&p, "id,x,churn\na,1,1\na,2,0\n").unwrap();
        let e = read_features(&p, None, "id", "churn")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("line 3") && e.contains("already on line 2"),
            "{e}"
        );
        std::fs::write(&p, "id,x,churn\na,1,maybe\n").unwrap();
        let e = read_features(&p, None, "id", "churn")
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 2") && e.contains("maybe"), "{e}");
        std::fs::write(&p, "id,x\na,1\n").unwrap();
        assert!(
            read_features(&p, None, "id", "churn")
                .unwrap_err()
                .to_string()
                .contains("no `churn` column")
        );
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn date_gaps_are_added_for_every_pair() {
        let dir = std::env::temp_dir().join(format!("gm-gap-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("g.csv");
        std::fs::write(
            &p,
            "id,start,end,kw,change,churn\na,2015-01-01,2015-01-31,5,,1\nb,2014-12-31,2015-01-02,6,2015-01-01,0\n",
        )
        .unwrap();
        let t = read_features(&p, None, "id", "churn")
            .unwrap()
            .with_date_gaps();
        assert_eq!(
            t.names,
            vec![
                "start",
                "end",
                "kw",
                "change",
                "start-end",
                "start-change",
                "end-change"
            ]
        );
        assert_eq!(t.x[4], -30.0);
        assert!(t.x[5].is_nan() && t.x[6].is_nan());
        assert_eq!(&t.x[7 + 4..7 + 7], &[-2.0, -1.0, 1.0]);
        std::fs::remove_dir_all(&dir).ok();
    }
}
