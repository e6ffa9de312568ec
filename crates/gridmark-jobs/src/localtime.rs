//! Local days and minutes of UTC instants in the lake's zone, fast enough for every reading.

use std::collections::HashMap;

/// UTC offsets of the lake's zone by UTC hour: zones change offset on the hour or half hour at
/// most twice a year, and asking chrono-tz for every interval would dominate the run.
pub struct OffsetCache {
    pub(crate) tz: gridmark_core::tz::Tz,
    pub(crate) hours: HashMap<i64, i64>,
}

impl OffsetCache {
    pub fn new(tz: gridmark_core::tz::Tz) -> Self {
        Self {
            tz,
            hours: HashMap::new(),
        }
    }

    /// The local day (days since 1970-01-01) of a UTC instant.
    pub fn local_day(&mut self, utc_ms: i64) -> i64 {
        // Half-hour buckets: some zones change offset on the half hour.
        let bucket = utc_ms.div_euclid(1_800_000);
        let tz = self.tz;
        let off = *self
            .hours
            .entry(bucket)
            .or_insert_with(|| gridmark_core::tz::offset_at(tz, bucket * 1_800_000) as i64 * 1000);
        (utc_ms + off).div_euclid(86_400_000)
    }

    /// The local day and the minute after local midnight of a UTC instant.
    pub fn local_day_minute(&mut self, utc_ms: i64) -> (i64, u32) {
        let day = self.local_day(utc_ms);
        let off = self.hours[&utc_ms.div_euclid(1_800_000)];
        let minute = ((utc_ms + off) - day * 86_400_000) / 60_000;
        (day, minute as u32)
    }
}
