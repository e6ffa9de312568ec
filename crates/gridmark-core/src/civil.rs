//! Fast proleptic-Gregorian arithmetic and timestamp parsing for the ingest hot path.
//!
//! Parsing through chrono costs several hundred nanoseconds a row; these functions handle the
//! layouts utilities actually export (`2025-01-01T00:15:00+08:00`, `2025-01-01 00:15:00`,
//! `2025/1/1 0:15`, `2014/1/1`) in tens of nanoseconds and leave everything else to the caller.

pub const MS_PER_DAY: i64 = 86_400_000;

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Civil date (year, month, day) of a day number since 1970-01-01.
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

/// A timestamp as written in a file: wall-clock milliseconds and, if the text carried one, its
/// UTC offset in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParsedTimestamp {
    /// Milliseconds since the epoch of the wall-clock reading, as if it were UTC.
    pub wall_ms: i64,
    /// `Some(offset)` when the text ended in `Z` or `±HH:MM`; `None` for naive local times.
    pub offset_s: Option<i32>,
}

impl ParsedTimestamp {
    /// The UTC instant, when the offset is known.
    pub fn utc_ms(&self) -> Option<i64> {
        self.offset_s.map(|o| self.wall_ms - o as i64 * 1000)
    }
}

struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    fn number(&mut self, max_digits: usize) -> Option<i64> {
        let start = self.i;
        let mut v: i64 = 0;
        while self.i < self.b.len()
            && self.i - start < max_digits
            && self.b[self.i].is_ascii_digit()
        {
            v = v * 10 + (self.b[self.i] - b'0') as i64;
            self.i += 1;
        }
        (self.i > start).then_some(v)
    }
    fn eat(&mut self, c: u8) -> bool {
        if self.b.get(self.i) == Some(&c) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }
    fn done(&self) -> bool {
        self.i == self.b.len()
    }
}

/// Parses a date (`2025-03-01`, `2025/3/1`, `20250301`) into days since the epoch.
pub fn parse_date(text: &[u8]) -> Option<i64> {
    let text = trim(text);
    if text.len() == 8 && text.iter().all(u8::is_ascii_digit) {
        let n = std::str::from_utf8(text).ok()?.parse::<i64>().ok()?;
        return checked_days(n / 10_000, (n / 100 % 100) as u32, (n % 100) as u32);
    }
    let mut c = Cursor { b: text, i: 0 };
    let days = date_part(&mut c)?;
    c.done().then_some(days)
}

fn checked_days(y: i64, m: u32, d: u32) -> Option<i64> {
    if !(1..=12).contains(&m) || d == 0 || d > days_in_month(y, m) || !(1000..=9999).contains(&y) {
        return None;
    }
    Some(days_from_civil(y, m, d))
}

fn date_part(c: &mut Cursor) -> Option<i64> {
    let y = c.number(4)?;
    let sep = c.peek()?;
    if sep != b'-' && sep != b'/' {
        return None;
    }
    c.i += 1;
    let m = c.number(2)? as u32;
    if !c.eat(sep) {
        return None;
    }
    let d = c.number(2)? as u32;
    checked_days(y, m, d)
}

fn trim(b: &[u8]) -> &[u8] {
    let b = b.trim_ascii();
    if b.len() >= 2 && b[0] == b'"' && b[b.len() - 1] == b'"' {
        &b[1..b.len() - 1]
    } else {
        b
    }
}

fn two(b: &[u8], i: usize) -> Option<i64> {
    let (a, c) = (b[i].wrapping_sub(b'0'), b[i + 1].wrapping_sub(b'0'));
    (a < 10 && c < 10).then_some((a * 10 + c) as i64)
}

/// The fixed layouts machines write (`2025-01-01T00:15:00+08:00`, `…Z`, `2025-01-01 00:15:00`)
/// without the general parser's branching; `None` means "not this layout, use the general one".
fn parse_fixed(b: &[u8]) -> Option<ParsedTimestamp> {
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let y = two(b, 0)? * 100 + two(b, 2)?;
    let days = checked_days(y, two(b, 5)? as u32, two(b, 8)? as u32)?;
    parse_fixed_time(b, days)
}

/// The time and offset of a fixed-layout timestamp whose date is already known.
fn parse_fixed_time(b: &[u8], days: i64) -> Option<ParsedTimestamp> {
    if (b[10] != b'T' && b[10] != b' ') || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let offset_s = match b.len() {
        19 => None,
        20 if b[19] == b'Z' => Some(0),
        25 if (b[19] == b'+' || b[19] == b'-') && b[22] == b':' => {
            let (hh, mm) = (two(b, 20)?, two(b, 23)?);
            if hh > 18 || mm > 59 {
                return None;
            }
            let o = (hh * 3600 + mm * 60) as i32;
            Some(if b[19] == b'-' { -o } else { o })
        }
        _ => return None,
    };
    let (h, mi, s) = (two(b, 11)?, two(b, 14)?, two(b, 17)?);
    if h > 23 || mi > 59 || s > 59 {
        return None;
    }
    Some(ParsedTimestamp {
        wall_ms: days * MS_PER_DAY + ((h * 60 + mi) * 60 + s) * 1000,
        offset_s,
    })
}

/// Parses timestamps of a column, remembering the last date: interval data repeats the same
/// date 24 to 96 times in a row.
#[derive(Debug, Default)]
pub struct TimestampParser {
    date: [u8; 10],
    days: Option<i64>,
}

impl TimestampParser {
    pub fn parse(&mut self, text: &[u8]) -> Option<ParsedTimestamp> {
        if let Some(days) = self.days
            && text.len() >= 19
            && text[..10] == self.date
        {
            return parse_fixed_time(text, days).or_else(|| parse_general(text));
        }
        let parsed = parse_fixed(text);
        match parsed {
            Some(p) => {
                self.date.copy_from_slice(&text[..10]);
                self.days = Some(p.wall_ms.div_euclid(MS_PER_DAY));
                Some(p)
            }
            None => parse_general(text),
        }
    }
}

/// Parses an ISO-8601-like timestamp: a date, then optionally `T` or a space and
/// `H:MM[:SS[.fff]]`, then optionally `Z` or `±HH[:MM]`. A bare date is midnight.
pub fn parse_timestamp(text: &[u8]) -> Option<ParsedTimestamp> {
    parse_fixed(text).or_else(|| parse_general(text))
}

fn parse_general(text: &[u8]) -> Option<ParsedTimestamp> {
    let text = trim(text);
    let mut c = Cursor { b: text, i: 0 };
    let days = date_part(&mut c)?;
    let mut ms = days * MS_PER_DAY;
    if c.done() {
        return Some(ParsedTimestamp {
            wall_ms: ms,
            offset_s: None,
        });
    }
    if !(c.eat(b'T') || c.eat(b' ')) {
        return None;
    }
    let h = c.number(2)?;
    if !c.eat(b':') {
        return None;
    }
    let mi = c.number(2)?;
    let mut s = 0;
    let mut frac_ms = 0;
    if c.eat(b':') {
        s = c.number(2)?;
        if c.eat(b'.') || c.eat(b',') {
            let start = c.i;
            let f = c.number(9)?;
            let digits = (c.i - start) as u32;
            frac_ms = if digits >= 3 {
                f / 10_i64.pow(digits - 3)
            } else {
                f * 10_i64.pow(3 - digits)
            };
        }
    }
    // 24:00:00 is accepted as the end of the day, as some exports write it.
    if h > 24 || mi > 59 || s > 60 || (h == 24 && (mi != 0 || s != 0)) {
        return None;
    }
    ms += ((h * 60 + mi) * 60 + s.min(59)) * 1000 + frac_ms;
    let offset_s = match c.peek() {
        None => None,
        Some(b'Z') | Some(b'z') => {
            c.i += 1;
            Some(0)
        }
        Some(sign @ (b'+' | b'-')) => {
            c.i += 1;
            let start = c.i;
            let hh = c.number(2)?;
            let two_digit_hours = c.i - start == 2;
            c.eat(b':');
            let mm = if two_digit_hours && c.peek().is_some_and(|b| b.is_ascii_digit()) {
                c.number(2)?
            } else {
                0
            };
            if hh > 18 || mm > 59 {
                return None;
            }
            let o = (hh * 3600 + mm * 60) as i32;
            Some(if sign == b'-' { -o } else { o })
        }
        Some(_) => return None,
    };
    c.done().then_some(ParsedTimestamp {
        wall_ms: ms,
        offset_s,
    })
}

/// `YYYY-MM-DDTHH:MM:SSZ` of a UTC instant in milliseconds.
pub fn format_utc(ms: i64) -> String {
    let days = ms.div_euclid(MS_PER_DAY);
    let rem = ms.rem_euclid(MS_PER_DAY) / 1000;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// `YYYY-MM-DD` of a day number.
pub fn format_date(days: i64) -> String {
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}")
}

/// `YYYY-MM` month key of a UTC instant shifted by `offset_s` (used to partition by month).
pub fn month_key(ms: i64) -> (i64, u32) {
    let (y, m, _) = civil_from_days(ms.div_euclid(MS_PER_DAY));
    (y, m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trip_over_four_centuries() {
        for z in (-200_000..200_000).step_by(7) {
            let (y, m, d) = civil_from_days(z);
            assert_eq!(days_from_civil(y, m, d), z);
        }
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2025, 1, 1), 20_089);
    }

    #[test]
    fn parses_the_layouts_utilities_export() {
        let p = parse_timestamp(b"2025-01-01T00:15:00+08:00").unwrap();
        assert_eq!(p.offset_s, Some(8 * 3600));
        assert_eq!(
            p.utc_ms().unwrap(),
            (20_089 * 86_400 + 15 * 60 - 8 * 3600) * 1000
        );
        let n = parse_timestamp(b"2025/1/1 0:15").unwrap();
        assert_eq!(n.offset_s, None);
        assert_eq!(n.wall_ms, (20_089 * 86_400 + 15 * 60) * 1000);
        assert_eq!(
            parse_timestamp(b"2025-01-01 00:15:00Z").unwrap().offset_s,
            Some(0)
        );
        assert_eq!(
            parse_timestamp(b"2025-01-01T00:00:00.5-0530")
                .unwrap()
                .offset_s,
            Some(-19800)
        );
        assert_eq!(
            parse_timestamp(b"\"2011-01-01 00:15:00\"").unwrap().wall_ms,
            (days_from_civil(2011, 1, 1) * 86_400 + 900) * 1000
        );
        assert_eq!(parse_date(b"2014/1/1"), Some(days_from_civil(2014, 1, 1)));
        assert_eq!(parse_date(b"20140228"), Some(days_from_civil(2014, 2, 28)));
    }

    #[test]
    fn rejects_impossible_dates_and_garbage() {
        for bad in [
            &b"2025-02-29"[..],
            b"2025-13-01",
            b"2025-01-01T25:00",
            b"2025-01-01T00:00+08:00x",
            b"",
            b"yesterday",
            b"2025-01-01T",
            b"\xff\xfe",
        ] {
            assert!(
                parse_timestamp(bad).is_none(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        assert!(parse_date(b"2024-02-29").is_some());
    }

    #[test]
    fn the_caching_parser_agrees_with_the_plain_one() {
        let mut p = TimestampParser::default();
        for text in [
            &b"2025-01-01T00:15:00+08:00"[..],
            b"2025-01-01T23:45:00+08:00",
            b"2025-01-01T24:00:00+08:00",
            b"2025-01-01T12:00:00Z",
            b"2025-01-01 07:00:00",
            b"2025-01-01 7:00",
            b"2025-01-02T00:00:00-05:30",
            b"2025-02-29T00:00:00Z",
            b"2025-01-02T00:00:00+0800",
        ] {
            assert_eq!(
                p.parse(text),
                parse_timestamp(text),
                "{}",
                String::from_utf8_lossy(text)
            );
        }
    }

    #[test]
    fn formats_utc() {
        assert_eq!(format_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_date(20_089), "2025-01-01");
    }
}
