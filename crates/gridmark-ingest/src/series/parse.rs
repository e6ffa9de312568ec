//! Parsers that turn a chunk of text lines of one layout into [`SeriesChunk`] rows.

use super::chunk::SeriesChunk;
use crate::csv::split_line;
use crate::source::{Chunk, lines};
use chrono_tz::Tz;
use gridmark_core::civil::{self, MS_PER_DAY, ParsedTimestamp};
use gridmark_core::tz::{LocalInstant, LocalResolver};
use std::borrow::Cow;
use std::collections::HashMap;

/// Which zone a series' naive local times are in.
#[derive(Debug, Clone)]
pub struct TimeContext {
    pub default_tz: Tz,
    /// Per meter, from the `meters` archive.
    pub meter_tz: HashMap<String, Tz>,
}

/// Resolves naive local times per id, caching the last id's zone.
pub struct TimeResolver<'a> {
    ctx: &'a TimeContext,
    resolvers: HashMap<Tz, LocalResolver>,
    last: Option<(String, Tz)>,
}

impl<'a> TimeResolver<'a> {
    pub fn new(ctx: &'a TimeContext) -> Self {
        Self {
            ctx,
            resolvers: HashMap::new(),
            last: None,
        }
    }

    fn tz_of(&mut self, id: &str) -> Tz {
        if let Some((last_id, tz)) = &self.last
            && last_id == id
        {
            return *tz;
        }
        let tz = *self.ctx.meter_tz.get(id).unwrap_or(&self.ctx.default_tz);
        self.last = Some((id.to_string(), tz));
        tz
    }

    /// The UTC instant (and, for a wall time that happened twice, the later one as well).
    pub fn resolve(&mut self, id: &str, p: ParsedTimestamp) -> Result<(i64, Option<i64>), String> {
        if let Some(utc) = p.utc_ms() {
            return Ok((utc, None));
        }
        let tz = self.tz_of(id);
        let r = self
            .resolvers
            .entry(tz)
            .or_insert_with(|| LocalResolver::new(tz));
        match r.resolve(p.wall_ms) {
            LocalInstant::Single(t) => Ok((t, None)),
            LocalInstant::Ambiguous(a, b) => Ok((a, Some(b))),
            LocalInstant::Missing => Err(format!(
                "local time {} does not exist in {tz} (skipped by the daylight-saving change)",
                civil::format_utc(p.wall_ms).trim_end_matches('Z')
            )),
        }
    }
}

/// Everything a parser needs besides the chunk.
pub struct ParseEnv<'a> {
    pub file: &'a str,
    pub sep: u8,
    /// Numbers use a decimal comma (`2,538`), as European exports do.
    pub decimal_comma: bool,
    pub time: &'a TimeContext,
    /// Interval from the command line (seconds), if given.
    pub interval_s: Option<i64>,
    /// Prefix put before every series id (e.g. `ett.`).
    pub id_prefix: &'a str,
}

/// The layouts of interval data that gridmark reads.
#[derive(Debug, Clone, PartialEq)]
pub enum Layout {
    /// `id, ts, value[, interval_s]` one reading a line.
    Long {
        id: usize,
        ts: usize,
        value: usize,
        interval: Option<usize>,
    },
    /// `ts, <id>, <id>, …` one timestamp a line (ECL/UCI, ETT).
    Wide {
        ts: usize,
        ids: Vec<(usize, String)>,
    },
    /// `CONS_NO, FLAG, <date>, <date>, …` one customer a line, daily kWh (SGCC).
    Sgcc {
        id: usize,
        flag: Option<usize>,
        days: Vec<(usize, i64)>,
    },
    /// London LCL daily: `LCLid, day, …, energy_sum, …`.
    LclDaily { id: usize, day: usize, value: usize },
}

/// Exact powers of ten: an integer mantissa below 2^53 divided by one of these is correctly
/// rounded (Clinger's fast path), so short decimals need no general parser.
const POW10: [f64; 16] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
];

/// `-?\d+(\.\d+)?` with at most 15 digits, or `None` for anything else.
fn parse_short_decimal(b: &[u8]) -> Option<f64> {
    let (neg, digits) = match b.first()? {
        b'-' => (true, &b[1..]),
        _ => (false, b),
    };
    if digits.is_empty() || digits.len() > 16 {
        return None;
    }
    let mut mantissa: u64 = 0;
    let mut frac_digits: Option<usize> = None;
    let mut count = 0;
    for &c in digits {
        match c {
            b'0'..=b'9' => {
                mantissa = mantissa * 10 + (c - b'0') as u64;
                count += 1;
                if let Some(f) = frac_digits.as_mut() {
                    *f += 1;
                }
            }
            b'.' if frac_digits.is_none() => frac_digits = Some(0),
            _ => return None,
        }
    }
    if count == 0 || count > 15 || frac_digits == Some(0) {
        return None;
    }
    let v = mantissa as f64 / POW10[frac_digits.unwrap_or(0)];
    Some(if neg { -v } else { v })
}

pub(crate) fn parse_number(field: &[u8], decimal_comma: bool) -> Result<f64, String> {
    if let Some(v) = parse_short_decimal(field) {
        return Ok(v);
    }
    let field = field.trim_ascii();
    let field = field
        .strip_prefix(b"\"")
        .and_then(|f| f.strip_suffix(b"\""))
        .unwrap_or(field);
    let text: Cow<[u8]> = if decimal_comma && field.contains(&b',') {
        Cow::Owned(
            field
                .iter()
                .map(|&b| if b == b',' { b'.' } else { b })
                .collect(),
        )
    } else {
        Cow::Borrowed(field)
    };
    let s = std::str::from_utf8(&text).map_err(|_| "not valid UTF-8".to_string())?;
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        Ok(_) => Err(format!("`{s}` is not a finite number")),
        Err(_) => Err(format!(
            "`{}` is not a number",
            s.chars().take(40).collect::<String>()
        )),
    }
}

fn is_empty_cell(field: &[u8]) -> bool {
    let f = field.trim_ascii();
    f.is_empty()
        || f == b"\"\""
        || f.eq_ignore_ascii_case(b"nan")
        || f.eq_ignore_ascii_case(b"null")
        || f.eq_ignore_ascii_case(b"na")
}

fn id_text(field: &[u8]) -> Result<&str, String> {
    // The common case, printable ASCII with nothing to trim, needs no further checks.
    if !field.is_empty()
        && field.len() <= 128
        && field
            .iter()
            .all(|&b| (0x21..0x7f).contains(&b) && b != b'"')
    {
        return std::str::from_utf8(field).map_err(|_| "is not valid UTF-8".to_string());
    }
    let s =
        std::str::from_utf8(field.trim_ascii()).map_err(|_| "is not valid UTF-8".to_string())?;
    let s = s.trim_matches('"');
    if s.is_empty() {
        return Err("is empty".into());
    }
    if s.len() > 128 || s.chars().any(char::is_control) {
        return Err("is not an identifier (control characters or longer than 128 bytes)".into());
    }
    Ok(s)
}

/// Splits a data line into `fields`; a line with bad quoting or too few fields is rejected.
fn split_row<'l>(
    out: &mut SeriesChunk,
    env: &ParseEnv,
    line_no: u64,
    line: &'l [u8],
    need: usize,
    fields: &mut Vec<Cow<'l, [u8]>>,
) -> bool {
    out.rows_read += 1;
    if let Err(e) = split_line(line, env.sep, fields) {
        out.reject(env.file, line_no, None, e);
        return false;
    }
    if fields.len() < need {
        let reason = format!("has {} fields, expected at least {need}", fields.len());
        out.reject(env.file, line_no, None, reason);
        return false;
    }
    true
}

/// Puts the prefixed id of a row into `buf`; an empty or non-text id rejects the row.
fn prefixed_id(
    out: &mut SeriesChunk,
    env: &ParseEnv,
    line_no: u64,
    field: &[u8],
    name: &str,
    buf: &mut String,
) -> bool {
    match id_text(field) {
        Ok(id) => {
            buf.clear();
            buf.push_str(env.id_prefix);
            buf.push_str(id);
            true
        }
        Err(e) => {
            out.reject(env.file, line_no, Some(name), format!("id {e}"));
            false
        }
    }
}

impl Layout {
    /// Parses one chunk (skipping the header line 1) into series rows.
    pub fn parse(&self, chunk: &Chunk, env: &ParseEnv) -> SeriesChunk {
        let mut out = SeriesChunk::new(chunk.seq);
        let mut time = TimeResolver::new(env.time);
        let mut fields: Vec<Cow<[u8]>> = Vec::with_capacity(8);
        let mut id_buf = String::new();
        let mut ts_parser = civil::TimestampParser::default();
        match self {
            Layout::Long {
                id,
                ts,
                value,
                interval,
            } => {
                let need = *id.max(ts).max(value).max(&interval.unwrap_or(0)) + 1;
                for (n, line) in lines(chunk) {
                    if n == 1 || line.is_empty() {
                        continue;
                    }
                    if !split_row(&mut out, env, n, line, need, &mut fields) {
                        continue;
                    }
                    if !prefixed_id(&mut out, env, n, &fields[*id], "id", &mut id_buf) {
                        continue;
                    }
                    let Some(parsed) = ts_parser.parse(&fields[*ts]) else {
                        let shown = String::from_utf8_lossy(&fields[*ts])
                            .chars()
                            .take(40)
                            .collect::<String>();
                        out.reject(
                            env.file,
                            n,
                            Some("ts"),
                            format!("`{shown}` is not a timestamp"),
                        );
                        continue;
                    };
                    let v = match parse_number(&fields[*value], env.decimal_comma) {
                        Ok(v) => v,
                        Err(e) => {
                            out.reject(env.file, n, Some("value"), e);
                            continue;
                        }
                    };
                    let iv = match interval {
                        Some(i) => match parse_number(&fields[*i], false) {
                            Ok(x) if x >= 1.0 && x.fract() == 0.0 => x as i64,
                            _ => {
                                out.reject(
                                    env.file,
                                    n,
                                    Some("interval_s"),
                                    "interval must be a positive whole number of seconds",
                                );
                                continue;
                            }
                        },
                        None => env.interval_s.unwrap_or(0),
                    };
                    push_resolved(&mut out, &mut time, env, n, &id_buf, parsed, iv, v);
                }
            }
            Layout::LclDaily { id, day, value } => {
                let need = *id.max(day).max(value) + 1;
                for (n, line) in lines(chunk) {
                    if n == 1 || line.is_empty() {
                        continue;
                    }
                    if !split_row(&mut out, env, n, line, need, &mut fields) {
                        continue;
                    }
                    if !prefixed_id(&mut out, env, n, &fields[*id], "LCLid", &mut id_buf) {
                        continue;
                    }
                    let Some(d) = civil::parse_date(&fields[*day]) else {
                        out.reject(env.file, n, Some("day"), "is not a date");
                        continue;
                    };
                    if is_empty_cell(&fields[*value]) {
                        out.empty_cells += 1;
                        continue;
                    }
                    let v = match parse_number(&fields[*value], false) {
                        Ok(v) => v,
                        Err(e) => {
                            out.reject(env.file, n, Some("energy_sum"), e);
                            continue;
                        }
                    };
                    let parsed = ParsedTimestamp {
                        wall_ms: d * MS_PER_DAY,
                        offset_s: None,
                    };
                    push_resolved(&mut out, &mut time, env, n, &id_buf, parsed, 86_400, v);
                }
            }
            Layout::Sgcc { id, flag, days } => {
                let need = days.iter().map(|d| d.0).chain([*id]).max().unwrap_or(0) + 1;
                for (n, line) in lines(chunk) {
                    if n == 1 || line.is_empty() {
                        continue;
                    }
                    if !split_row(&mut out, env, n, line, need, &mut fields) {
                        continue;
                    }
                    if !prefixed_id(&mut out, env, n, &fields[*id], "CONS_NO", &mut id_buf) {
                        continue;
                    }
                    if let Some(f) = flag {
                        match parse_number(&fields[*f], false) {
                            Ok(v) if v == 0.0 || v == 1.0 => {
                                out.labels.push((id_buf.clone(), v as i64))
                            }
                            _ => {
                                out.reject(env.file, n, Some("FLAG"), "FLAG must be 0 or 1");
                                continue;
                            }
                        }
                    }
                    for &(col, d) in days {
                        let cell = &fields[col];
                        if is_empty_cell(cell) {
                            out.empty_cells += 1;
                            continue;
                        }
                        match parse_number(cell, false) {
                            Ok(v) => {
                                let parsed = ParsedTimestamp {
                                    wall_ms: d * MS_PER_DAY,
                                    offset_s: None,
                                };
                                push_resolved(
                                    &mut out, &mut time, env, n, &id_buf, parsed, 86_400, v,
                                );
                            }
                            Err(e) => {
                                let day = civil::format_date(d);
                                out.reject(env.file, n, Some(&day), e);
                            }
                        }
                    }
                }
            }
            Layout::Wide { ts, ids } => {
                let need = ids.iter().map(|d| d.0).chain([*ts]).max().unwrap_or(0) + 1;
                // Parse the rows first, then emit column by column so each id forms one run.
                let mut stamps: Vec<(u64, ParsedTimestamp)> = Vec::new();
                let mut cells: Vec<Option<f64>> = Vec::new();
                for (n, line) in lines(chunk) {
                    if n == 1 || line.is_empty() {
                        continue;
                    }
                    if !split_row(&mut out, env, n, line, need, &mut fields) {
                        continue;
                    }
                    let Some(parsed) = ts_parser.parse(&fields[*ts]) else {
                        let shown = String::from_utf8_lossy(&fields[*ts])
                            .chars()
                            .take(40)
                            .collect::<String>();
                        out.reject(
                            env.file,
                            n,
                            Some("timestamp"),
                            format!("`{shown}` is not a timestamp"),
                        );
                        continue;
                    };
                    let start = cells.len();
                    let mut bad = None;
                    for (col, name) in ids {
                        let cell = &fields[*col];
                        if is_empty_cell(cell) {
                            cells.push(None);
                            continue;
                        }
                        match parse_number(cell, env.decimal_comma) {
                            Ok(v) => cells.push(Some(v)),
                            Err(e) => {
                                bad = Some((name.clone(), e));
                                break;
                            }
                        }
                    }
                    if let Some((name, e)) = bad {
                        cells.truncate(start);
                        out.reject(env.file, n, Some(&name), e);
                        continue;
                    }
                    stamps.push((n, parsed));
                }
                let width = ids.len();
                for (j, (_, name)) in ids.iter().enumerate() {
                    id_buf.clear();
                    id_buf.push_str(env.id_prefix);
                    id_buf.push_str(name);
                    for (i, &(n, parsed)) in stamps.iter().enumerate() {
                        match cells[i * width + j] {
                            Some(v) => {
                                let iv = env.interval_s.unwrap_or(0);
                                push_resolved(&mut out, &mut time, env, n, &id_buf, parsed, iv, v);
                            }
                            None => out.empty_cells += 1,
                        }
                    }
                }
                // Every line was counted once per id above; count lines, not cells.
            }
        }
        out
    }
}

#[allow(clippy::too_many_arguments)]
fn push_resolved(
    out: &mut SeriesChunk,
    time: &mut TimeResolver,
    env: &ParseEnv,
    line: u64,
    id: &str,
    parsed: ParsedTimestamp,
    interval: i64,
    value: f64,
) {
    match time.resolve(id, parsed) {
        Ok(at) => out.push_resolved(id, at, interval, value),
        Err(e) => out.reject(env.file, line, Some("ts"), e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_decimals_parse_exactly_as_the_standard_parser() {
        for text in [
            "0.085",
            "-12.5",
            "7",
            "123456789.123456",
            "0.1",
            "99.999",
            "1e3",
            "+1",
            "1.",
            ".5",
            "--1",
        ] {
            let std = text.trim().parse::<f64>().ok().filter(|v| v.is_finite());
            assert_eq!(parse_number(text.as_bytes(), false).ok(), std, "{text}");
        }
        let mut x = 1u64;
        for _ in 0..10_000 {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            let text = format!("{}.{:03}", x % 100_000, (x >> 20) % 1000);
            assert_eq!(
                parse_number(text.as_bytes(), false).unwrap(),
                text.parse::<f64>().unwrap(),
                "{text}"
            );
        }
    }
}
