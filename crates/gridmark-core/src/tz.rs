//! Turning a meter's naive local wall-clock time into a UTC instant.
//!
//! A local day can be 23 or 25 hours long. In the autumn hour that happens twice a wall time is
//! ambiguous: gridmark gives the first occurrence of a time (per meter, in file order) the
//! earlier instant and a repeat the later one, which is how an interval meter that records both
//! hours writes them. A wall time that the spring jump skips does not exist; it is rejected,
//! never shifted.

use crate::CoreError;
use chrono::{LocalResult, NaiveDateTime, Offset, TimeZone};
pub use chrono_tz::Tz;
use std::collections::HashMap;

/// The UTC instant(s) a wall-clock time can mean in one zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LocalInstant {
    Single(i64),
    /// The clocks fall back: (earlier instant, later instant).
    Ambiguous(i64, i64),
    /// The clocks jump over this wall time.
    Missing,
}

/// Parses an IANA zone name.
pub fn parse_tz(name: &str) -> Result<Tz, CoreError> {
    name.trim()
        .parse::<Tz>()
        .map_err(|_| CoreError::UnknownTimeZone(name.to_string()))
}

/// Resolves wall-clock times of one zone, caching whole hours with a single offset.
pub struct LocalResolver {
    tz: Tz,
    hour_offset_ms: HashMap<i64, i64>,
}

const MS_PER_HOUR: i64 = 3_600_000;

impl LocalResolver {
    pub fn new(tz: Tz) -> Self {
        Self {
            tz,
            hour_offset_ms: HashMap::new(),
        }
    }

    pub fn tz(&self) -> Tz {
        self.tz
    }

    fn offset_of(&self, wall_ms: i64) -> LocalInstant {
        let Some(naive) = chrono::DateTime::from_timestamp_millis(wall_ms).map(|d| d.naive_utc())
        else {
            return LocalInstant::Missing;
        };
        resolve_naive(self.tz, naive)
    }

    /// The instant(s) of `wall_ms` (milliseconds of the wall-clock reading as if it were UTC).
    pub fn resolve(&mut self, wall_ms: i64) -> LocalInstant {
        let hour = wall_ms.div_euclid(MS_PER_HOUR);
        if let Some(off) = self.hour_offset_ms.get(&hour) {
            return LocalInstant::Single(wall_ms - off);
        }
        let start = hour * MS_PER_HOUR;
        let (a, b) = (
            self.offset_of(start),
            self.offset_of(start + MS_PER_HOUR - 1),
        );
        if let (LocalInstant::Single(ua), LocalInstant::Single(ub)) = (a, b)
            && start - ua == start + MS_PER_HOUR - 1 - ub
        {
            let off = start - ua;
            self.hour_offset_ms.insert(hour, off);
            return LocalInstant::Single(wall_ms - off);
        }
        self.offset_of(wall_ms)
    }
}

fn resolve_naive(tz: Tz, naive: NaiveDateTime) -> LocalInstant {
    match tz.from_local_datetime(&naive) {
        LocalResult::Single(t) => LocalInstant::Single(t.timestamp_millis()),
        LocalResult::Ambiguous(a, b) => {
            let (a, b) = (a.timestamp_millis(), b.timestamp_millis());
            LocalInstant::Ambiguous(a.min(b), a.max(b))
        }
        LocalResult::None => LocalInstant::Missing,
    }
}

/// UTC offset in seconds of `tz` at the UTC instant `utc_ms`.
pub fn offset_at(tz: Tz, utc_ms: i64) -> i32 {
    chrono::DateTime::from_timestamp_millis(utc_ms)
        .map(|d| d.with_timezone(&tz).offset().fix().local_minus_utc())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::civil::days_from_civil;

    fn wall(y: i64, m: u32, d: u32, h: i64, mi: i64) -> i64 {
        (days_from_civil(y, m, d) * 86_400 + h * 3600 + mi * 60) * 1000
    }

    #[test]
    fn shanghai_is_always_plus_eight() {
        let mut r = LocalResolver::new(parse_tz("Asia/Shanghai").unwrap());
        let w = wall(2025, 7, 1, 12, 0);
        assert_eq!(r.resolve(w), LocalInstant::Single(w - 8 * 3_600_000));
        assert_eq!(
            r.resolve(w + 60_000),
            LocalInstant::Single(w + 60_000 - 8 * 3_600_000)
        );
    }

    #[test]
    fn london_spring_gap_and_autumn_fold() {
        let mut r = LocalResolver::new(parse_tz("Europe/London").unwrap());
        // 2025-03-30 01:30 does not exist; 2025-10-26 01:30 happens twice.
        assert_eq!(r.resolve(wall(2025, 3, 30, 1, 30)), LocalInstant::Missing);
        let w = wall(2025, 10, 26, 1, 30);
        assert_eq!(r.resolve(w), LocalInstant::Ambiguous(w - 3_600_000, w));
        // Outside the transitions the cache answers.
        let s = wall(2025, 6, 1, 10, 0);
        assert_eq!(r.resolve(s), LocalInstant::Single(s - 3_600_000));
        assert_eq!(r.resolve(s + 1), LocalInstant::Single(s + 1 - 3_600_000));
    }

    #[test]
    fn unknown_zone_is_named() {
        let e = parse_tz("Mars/Olympus").unwrap_err();
        assert!(e.to_string().contains("Mars/Olympus"));
    }
}
