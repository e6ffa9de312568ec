//! Recognising the layout of interval data from its header line.

use super::parse::Layout;
use gridmark_core::civil;

/// The layout asked for on the command line (`--format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requested {
    Auto,
    Long,
    Sgcc,
    Wide,
    LclDaily,
}

const TS_NAMES: &[&str] = &[
    "ts",
    "timestamp",
    "time_utc",
    "utc_time",
    "time",
    "datetime",
    "date_time",
    "read_time",
    "reading_time",
    "tstp",
    "data_time",
    "date",
    "utc_timestamp",
    "local_time",
];
const VALUE_NAMES: &[&str] = &[
    "kwh",
    "value",
    "energy",
    "consumption",
    "energy(kwh/hh)",
    "kwh_hh",
    "reading",
    "load",
    "demand",
    "val",
];
const INTERVAL_NAMES: &[&str] = &["interval_s", "interval", "interval_sec", "interval_seconds"];

fn id_names(table: &str) -> &'static [&'static str] {
    match table {
        "area_supply" => &["area_id", "area", "id", "transformer_id"],
        "series" => &["series_id", "series", "id", "name"],
        _ => &[
            "meter_id",
            "meter",
            "meterid",
            "meter_no",
            "cons_no",
            "lclid",
            "device_id",
            "id",
        ],
    }
}

fn normalise(h: &str) -> String {
    h.trim().trim_matches('"').trim().to_ascii_lowercase()
}

fn find(headers: &[String], names: &[&str]) -> Option<usize> {
    names
        .iter()
        .find_map(|n| headers.iter().position(|h| h == n))
}

/// Works out the layout, or says why it cannot. Returns the layout and the ignored columns.
/// `sample` is the first data row, when there is one: wide columns that do not hold numbers
/// there (labels, flags) are ignored rather than rejecting every row.
pub fn detect(
    table: &str,
    raw_headers: &[String],
    requested: Requested,
    sample: Option<&[String]>,
) -> Result<(Layout, Vec<String>), String> {
    let headers: Vec<String> = raw_headers.iter().map(|h| normalise(h)).collect();
    let shown = || {
        raw_headers
            .iter()
            .take(6)
            .cloned()
            .collect::<Vec<_>>()
            .join(",")
    };
    let dates: Vec<(usize, i64)> = headers
        .iter()
        .enumerate()
        .filter_map(|(i, h)| civil::parse_date(h.as_bytes()).map(|d| (i, d)))
        .collect();
    let ignored = |used: &[usize]| -> Vec<String> {
        raw_headers
            .iter()
            .enumerate()
            .filter(|(i, h)| !used.contains(i) && !h.trim().trim_matches('"').is_empty())
            .map(|(_, h)| h.trim().trim_matches('"').to_string())
            .collect()
    };
    let sgcc = |id: usize| {
        let flag = headers.iter().position(|h| h == "flag");
        let mut days = dates.clone();
        days.sort_by_key(|d| d.1);
        let mut used: Vec<usize> = days.iter().map(|d| d.0).collect();
        used.push(id);
        used.extend(flag);
        (Layout::Sgcc { id, flag, days }, ignored(&used))
    };
    let lcl = || -> Option<(Layout, Vec<String>)> {
        let id = headers.iter().position(|h| h == "lclid")?;
        let day = headers.iter().position(|h| h == "day")?;
        let value = headers.iter().position(|h| h == "energy_sum")?;
        Some((
            Layout::LclDaily { id, day, value },
            ignored(&[id, day, value]),
        ))
    };
    let long = || -> Option<(Layout, Vec<String>)> {
        let id = find(&headers, id_names(table))?;
        let ts = find(&headers, TS_NAMES)?;
        let value = find(&headers, VALUE_NAMES)?;
        let interval = find(&headers, INTERVAL_NAMES);
        let mut used = vec![id, ts, value];
        used.extend(interval);
        Some((
            Layout::Long {
                id,
                ts,
                value,
                interval,
            },
            ignored(&used),
        ))
    };
    let wide = || -> Option<(Layout, Vec<String>)> {
        let ts = TS_NAMES
            .iter()
            .find_map(|n| headers.iter().position(|h| h == n))
            .or_else(|| headers.iter().position(String::is_empty))?;
        let numeric = |i: usize| {
            sample.is_none_or(|row| {
                row.get(i).is_some_and(|cell| {
                    let c = cell.trim().trim_matches('"');
                    c.is_empty()
                        || super::parse::parse_number(
                            c.as_bytes(),
                            c.contains(',') && !c.contains('.'),
                        )
                        .is_ok()
                })
            })
        };
        type Columns = Vec<(usize, String)>;
        let (ids, skipped): (Columns, Columns) = raw_headers
            .iter()
            .enumerate()
            .filter(|(i, h)| *i != ts && !h.trim().trim_matches('"').is_empty())
            .map(|(i, h)| (i, h.trim().trim_matches('"').to_string()))
            .partition(|(i, _)| numeric(*i));
        (!ids.is_empty()).then(|| {
            (
                Layout::Wide { ts, ids },
                skipped.into_iter().map(|s| s.1).collect(),
            )
        })
    };
    match requested {
        Requested::Sgcc => {
            if dates.is_empty() {
                return Err(format!("SGCC layout needs date columns (CONS_NO,FLAG,2014/1/1,…); header is `{}`", shown()));
            }
            let id = headers.iter().position(|h| h == "cons_no").unwrap_or(0);
            Ok(sgcc(id))
        }
        Requested::LclDaily => lcl().ok_or_else(|| {
            format!("LCL daily layout needs LCLid, day and energy_sum columns; header is `{}`", shown())
        }),
        Requested::Long => long().ok_or_else(|| {
            format!(
                "long layout needs an id column ({}), a time column (ts, timestamp…) and a value column (kwh, value…); header is `{}`",
                id_names(table).join("/"),
                shown()
            )
        }),
        Requested::Wide => wide().ok_or_else(|| {
            format!("wide layout needs a time column first (or named ts/date/timestamp) and one column per series; header is `{}`", shown())
        }),
        Requested::Auto => {
            if let Some(id) = headers.iter().position(|h| h == "cons_no")
                && !dates.is_empty()
            {
                return Ok(sgcc(id));
            }
            if dates.len() >= 2 && dates.len() + 2 >= headers.len() {
                return Ok(sgcc(0));
            }
            if let Some(l) = lcl() {
                return Ok(l);
            }
            if let Some(l) = long() {
                return Ok(l);
            }
            if let Some(w) = wide() {
                return Ok(w);
            }
            Err(format!(
                "cannot recognise the layout from the header `{}`; pass --format long|sgcc|wide|lcl-daily",
                shown()
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(s: &str, sep: char) -> Vec<String> {
        s.split(sep).map(str::to_string).collect()
    }

    #[test]
    fn recognises_every_real_layout() {
        let (l, _) = detect(
            "readings",
            &h("meter_id,ts,kwh", ','),
            Requested::Auto,
            None,
        )
        .unwrap();
        assert_eq!(
            l,
            Layout::Long {
                id: 0,
                ts: 1,
                value: 2,
                interval: None
            }
        );
        let (l, _) = detect(
            "area_supply",
            &h("area_id,ts,kwh", ','),
            Requested::Auto,
            None,
        )
        .unwrap();
        assert!(matches!(l, Layout::Long { id: 0, .. }));
        let (l, _) = detect(
            "readings",
            &h("CONS_NO,FLAG,2014/1/10,2014/1/1", ','),
            Requested::Auto,
            None,
        )
        .unwrap();
        let Layout::Sgcc { id, flag, days } = l else {
            panic!()
        };
        assert_eq!((id, flag), (0, Some(1)));
        assert_eq!(
            days.iter().map(|d| d.0).collect::<Vec<_>>(),
            vec![3, 2],
            "sorted by date"
        );
        let (l, ign) = detect(
            "readings",
            &h("LCLid,day,energy_median,energy_mean,energy_max,energy_count,energy_std,energy_sum,energy_min", ','),
            Requested::Auto,
            None,
        )
        .unwrap();
        assert_eq!(
            l,
            Layout::LclDaily {
                id: 0,
                day: 1,
                value: 7
            }
        );
        assert_eq!(ign.len(), 6);
        let (l, _) = detect(
            "readings",
            &h("\"\";\"MT_001\";\"MT_002\"", ';'),
            Requested::Auto,
            None,
        )
        .unwrap();
        assert_eq!(
            l,
            Layout::Wide {
                ts: 0,
                ids: vec![(1, "MT_001".into()), (2, "MT_002".into())]
            }
        );
        let (l, _) = detect(
            "series",
            &h("date,HUFL,HULL,OT", ','),
            Requested::Auto,
            None,
        )
        .unwrap();
        assert!(matches!(l, Layout::Wide { ts: 0, .. }));
        let vic = h(
            "time_utc,time_local_melbourne,Demand,Temperature,Date,Holiday",
            ',',
        );
        let row = h(
            "2011-12-31T13:00:00Z,2012-01-01 00:00:00+1100,4382.8,21.4,2012-01-01,True",
            ',',
        );
        let (l, ignored) = detect("series", &vic, Requested::Auto, Some(&row)).unwrap();
        assert_eq!(
            l,
            Layout::Wide {
                ts: 0,
                ids: vec![(2, "Demand".into()), (3, "Temperature".into())]
            }
        );
        assert_eq!(ignored, ["time_local_melbourne", "Date", "Holiday"]);
    }

    #[test]
    fn unknown_header_names_itself() {
        let e = detect("readings", &h("foo,bar", ','), Requested::Auto, None).unwrap_err();
        assert!(e.contains("foo,bar"), "{e}");
        let e = detect("readings", &h("foo,bar", ','), Requested::Sgcc, None).unwrap_err();
        assert!(e.contains("SGCC"), "{e}");
    }
}
