//! Local (Asia/Shanghai, UTC+8, no DST) calendar: days, weekdays, months, official holidays and
//! the swapped working weekend days.

use gridmark_core::civil::{MS_PER_DAY, civil_from_days, days_from_civil};

/// Asia/Shanghai is UTC+8 all year.
pub const TZ_OFFSET_MS: i64 = 8 * 3_600_000;

/// UTC milliseconds of local midnight starting local day `day` (days since 1970-01-01).
pub fn local_midnight_utc(day: i64) -> i64 {
    day * MS_PER_DAY - TZ_OFFSET_MS
}

/// Local day of a UTC instant.
pub fn local_day_of(utc_ms: i64) -> i64 {
    (utc_ms + TZ_OFFSET_MS).div_euclid(MS_PER_DAY)
}

/// 0 = Monday … 6 = Sunday (1970-01-01 was a Thursday).
pub fn weekday(day: i64) -> u32 {
    (day + 3).rem_euclid(7) as u32
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DayType {
    Workday,
    Weekend,
    Holiday,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HolidayDef {
    pub day: i64,
    pub name: &'static str,
    /// `holiday` or `workday_swap`.
    pub kind: &'static str,
}

/// Chinese New Year's day (Gregorian) 2015–2035.
fn lunar_new_year(y: i64) -> Option<(u32, u32)> {
    const T: [(i64, u32, u32); 21] = [
        (2015, 2, 19),
        (2016, 2, 8),
        (2017, 1, 28),
        (2018, 2, 16),
        (2019, 2, 5),
        (2020, 1, 25),
        (2021, 2, 12),
        (2022, 2, 1),
        (2023, 1, 22),
        (2024, 2, 10),
        (2025, 1, 29),
        (2026, 2, 17),
        (2027, 2, 6),
        (2028, 1, 26),
        (2029, 2, 13),
        (2030, 2, 3),
        (2031, 1, 23),
        (2032, 2, 11),
        (2033, 1, 31),
        (2034, 2, 19),
        (2035, 2, 8),
    ];
    T.iter().find(|t| t.0 == y).map(|t| (t.1, t.2))
}

/// Day number of the Spring Festival (Chinese New Year) of year `y` (approximate outside the table).
pub fn spring_festival_day(y: i64) -> i64 {
    let (m, d) = lunar_new_year(y).unwrap_or((2, 5));
    days_from_civil(y, m, d)
}

/// Official public holidays of year `y`. 2024–2026 follow the State Council notices exactly
/// (including the swapped working weekend days); other years are an approximation (fixed-date
/// festivals, Spring Festival from the lunar table, no swaps).
pub fn holidays_of_year(y: i64) -> Vec<HolidayDef> {
    let mut out = Vec::new();
    let mut span = |name: &'static str, from: (u32, u32), n: i64| {
        let d0 = days_from_civil(y, from.0, from.1);
        for i in 0..n {
            out.push(HolidayDef {
                day: d0 + i,
                name,
                kind: "holiday",
            });
        }
    };
    let swaps: &[(u32, u32, &'static str)] = match y {
        2024 => {
            span("New Year's Day", (1, 1), 1);
            span("Spring Festival", (2, 10), 8);
            span("Qingming Festival", (4, 4), 3);
            span("Labour Day", (5, 1), 5);
            span("Dragon Boat Festival", (6, 10), 1);
            span("Mid-Autumn Festival", (9, 15), 3);
            span("National Day", (10, 1), 7);
            &[
                (2, 4, "Spring Festival"),
                (2, 18, "Spring Festival"),
                (4, 7, "Qingming Festival"),
                (4, 28, "Labour Day"),
                (5, 11, "Labour Day"),
                (9, 14, "Mid-Autumn Festival"),
                (9, 29, "National Day"),
                (10, 12, "National Day"),
            ]
        }
        2025 => {
            span("New Year's Day", (1, 1), 1);
            span("Spring Festival", (1, 28), 8);
            span("Qingming Festival", (4, 4), 3);
            span("Labour Day", (5, 1), 5);
            span("Dragon Boat Festival", (5, 31), 3);
            span("National Day and Mid-Autumn Festival", (10, 1), 8);
            &[
                (1, 26, "Spring Festival"),
                (2, 8, "Spring Festival"),
                (4, 27, "Labour Day"),
                (9, 28, "National Day and Mid-Autumn Festival"),
                (10, 11, "National Day and Mid-Autumn Festival"),
            ]
        }
        2026 => {
            span("New Year's Day", (1, 1), 3);
            span("Spring Festival", (2, 15), 9);
            span("Qingming Festival", (4, 4), 3);
            span("Labour Day", (5, 1), 5);
            span("Dragon Boat Festival", (6, 19), 3);
            span("Mid-Autumn Festival", (9, 25), 3);
            span("National Day", (10, 1), 7);
            &[
                (1, 4, "New Year's Day"),
                (2, 14, "Spring Festival"),
                (2, 28, "Spring Festival"),
                (5, 9, "Labour Day"),
                (9, 20, "National Day"),
                (10, 10, "National Day"),
            ]
        }
        _ => {
            span("New Year's Day", (1, 1), 1);
            let sf = spring_festival_day(y);
            let (_, m, d) = civil_from_days(sf - 1);
            span("Spring Festival", (m, d), 7);
            span("Qingming Festival", (4, 4), 3);
            span("Labour Day", (5, 1), 5);
            span("National Day", (10, 1), 7);
            &[]
        }
    };
    for &(m, d, name) in swaps {
        out.push(HolidayDef {
            day: days_from_civil(y, m, d),
            name,
            kind: "workday_swap",
        });
    }
    out.sort_by_key(|h| h.day);
    out
}

#[derive(Debug, Clone)]
pub struct Day {
    /// Days since 1970-01-01 of the local date.
    pub day: i64,
    pub month: u32,
    pub dom: u32,
    /// 0 = Monday … 6 = Sunday.
    #[allow(dead_code)]
    pub weekday: u32,
    pub day_type: DayType,
    /// Within the industrial Spring Festival shutdown (a week before to ~12 days after).
    pub spring_festival: bool,
    /// Day of year 0..365.
    pub doy: u32,
    /// Index into `Calendar::months`.
    pub month_idx: usize,
}

#[derive(Debug, Clone)]
pub struct Month {
    pub year: i64,
    pub month: u32,
    /// First simulated day of the month (index into `Calendar::days`).
    pub first: usize,
    /// One past the last simulated day.
    pub end: usize,
}

impl Month {
    pub fn key(&self) -> String {
        format!("{:04}-{:02}", self.year, self.month)
    }
}

#[derive(Debug, Clone)]
pub struct Calendar {
    pub start_day: i64,
    pub days: Vec<Day>,
    pub months: Vec<Month>,
    /// Every holiday / swap of the years the period touches.
    pub holidays: Vec<HolidayDef>,
}

impl Calendar {
    pub fn new(start: (i64, u32, u32), n_days: u32) -> Calendar {
        let start_day = days_from_civil(start.0, start.1, start.2);
        let (y0, ..) = civil_from_days(start_day);
        let (y1, ..) = civil_from_days(start_day + n_days as i64);
        let holidays: Vec<HolidayDef> = (y0..=y1).flat_map(holidays_of_year).collect();
        let mut days = Vec::with_capacity(n_days as usize);
        let mut months: Vec<Month> = Vec::new();
        for i in 0..n_days as usize {
            let day = start_day + i as i64;
            let (year, month, dom) = civil_from_days(day);
            let wd = weekday(day);
            let hol = holidays.iter().find(|h| h.day == day);
            let day_type = match hol {
                Some(h) if h.kind == "holiday" => DayType::Holiday,
                Some(_) => DayType::Workday,
                None if wd >= 5 => DayType::Weekend,
                None => DayType::Workday,
            };
            let sf = (day - spring_festival_day(year)).clamp(-400, 400);
            if months
                .last()
                .is_none_or(|m| m.month != month || m.year != year)
            {
                if let Some(m) = months.last_mut() {
                    m.end = i;
                }
                months.push(Month {
                    year,
                    month,
                    first: i,
                    end: i + 1,
                });
            }
            days.push(Day {
                day,
                month,
                dom,
                weekday: wd,
                day_type,
                spring_festival: (-7..=12).contains(&sf),
                doy: (day - days_from_civil(year, 1, 1)) as u32,
                month_idx: months.len() - 1,
            });
        }
        if let Some(m) = months.last_mut() {
            m.end = days.len();
        }
        Calendar {
            start_day,
            days,
            months,
            holidays,
        }
    }

    pub fn end_day(&self) -> i64 {
        self.start_day + self.days.len() as i64
    }

    /// Index of a day number in `days`, clamped into the period.
    pub fn idx(&self, day: i64) -> usize {
        (day - self.start_day).clamp(0, self.days.len() as i64) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spring_festival_2025_and_swaps() {
        let c = Calendar::new((2025, 1, 1), 365);
        let d = |m, dd| &c.days[c.idx(days_from_civil(2025, m, dd))];
        assert_eq!(d(1, 1).day_type, DayType::Holiday);
        assert_eq!(d(1, 29).day_type, DayType::Holiday);
        assert_eq!(d(1, 26).day_type, DayType::Workday); // Sunday, swapped
        assert_eq!(d(1, 26).weekday, 6);
        assert_eq!(d(1, 4).day_type, DayType::Weekend);
        assert_eq!(d(10, 8).day_type, DayType::Holiday);
        assert!(d(2, 3).spring_festival);
        assert_eq!(c.months.len(), 12);
        assert_eq!(c.months[1].end - c.months[1].first, 28);
        assert_eq!(local_midnight_utc(20_089), 1_735_660_800_000);
        assert_eq!(local_day_of(1_735_660_800_000), 20_089);
    }
}
