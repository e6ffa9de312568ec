//! Tariff engine: effective-dated flat, tiered and time-of-use (ToU) tariffs, priced exactly to
//! the fen.
//!
//! Data path: rows of the `tariffs` table ([`TariffComponent`]) → a validated [`TariffBook`] →
//! the [`TariffVersion`] in force on a billing period's first day → a [`PeriodUsage`] that
//! streams one customer's interval readings into per-slot sums → a [`PricedPeriod`].
//! [`TariffVersion::price_slots`] prices per-slot sums a caller has already aggregated.
//!
//! # Rounding rule
//!
//! This is what `bills.amount_fen` means, and the engine follows it exactly:
//!
//! 1. per billing period, interval kWh are summed per component in `f64` (ToU: by the window
//!    containing the interval's local start minute, with the windows of the period's month and
//!    day type; tiered and flat: one total), and each sum is rounded half away from zero to
//!    0.01 kWh (centi-kWh); a negative sum (net export) is billed as 0;
//! 2. tiered, monthly basis: the rounded total is split at the tier upper bounds (the monthly
//!    bounds also for part months); annual basis: the bounds apply to the year's cumulative
//!    consumption, of which the caller passes the part billed before this period;
//! 3. amount = Σ centi-kWh × `price_e4`, an exact integer in 1e-6 yuan, rounded half up once to
//!    whole fen; the billed kWh is the sum of the rounded component kWh;
//! 4. a period is priced with the tariff version in force on its first billed day, even if a
//!    new version starts later in the month.
//!
//! Money is integers only. The kWh sums are `f64` because the reference bills are: fed the same
//! readings in the same order, the engine reproduces them bit for bit (see [`PeriodUsage`]).
//!
//! # Day types
//!
//! A ToU row's `day_type` is `all`, `weekday` (a working day) or `holiday` (a rest day). A day
//! listed as a holiday in the [`HolidayCalendar`] is a holiday; a `workday_swap` day (an official
//! working weekend day) is a weekday; any other Saturday or Sunday is a holiday; the rest are
//! weekdays.
//!
//! ```
//! use gridmark_core::civil::days_from_civil;
//! use gridmark_metering::tariff::{BillingPeriod, HolidayCalendar, TariffBook, TariffComponent};
//!
//! let tier = |component: &str, upper: Option<f64>, price_e4| TariffComponent {
//!     tier_basis: Some("monthly".into()),
//!     tier_upper_kwh: upper,
//!     ..TariffComponent::new("RES_TIER", "tiered", days_from_civil(2020, 1, 1), component, price_e4)
//! };
//! let book = TariffBook::new([
//!     tier("tier1", Some(230.0), 5283),
//!     tier("tier2", Some(400.0), 5783),
//!     tier("tier3", None, 8283),
//! ])
//! .unwrap();
//! let period = BillingPeriod::month(2025, 1).unwrap();
//! let mut usage = book.usage("RES_TIER", period, 720, &HolidayCalendar::default()).unwrap();
//! usage.add(period.first_day(), 0, 200.0).unwrap();
//! usage.add(period.first_day(), 720, 250.004).unwrap();
//! let priced = usage.price(0).unwrap();
//! assert_eq!((priced.centi_kwh, priced.amount_fen), (45_000, 26_124));
//! ```

use std::collections::{BTreeMap, HashSet};
use std::fmt;

use gridmark_core::civil::{civil_from_days, days_from_civil, format_date};
use gridmark_core::{Column, Rows};
use thiserror::Error;

/// Minutes in a local day; ToU windows live in `[0, MINUTES_PER_DAY)`.
pub const MINUTES_PER_DAY: u32 = 1440;

/// Largest rounded kWh sum accepted, in centi-kWh: beyond 2^53 an `f64` no longer holds whole
/// centi-kWh, so such a sum is corrupt data rather than consumption.
const MAX_CENTI_KWH: f64 = 9_007_199_254_740_992.0;

/// What is wrong with a tariff, a calendar or a pricing request. Every variant names the tariff,
/// day or field concerned, so a message can be acted on without a debugger.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum TariffError {
    #[error(
        "tariff `{tariff}` version {version}, component `{component}`, field `{field}`: {reason}"
    )]
    Row {
        tariff: String,
        /// First day of the version (`YYYY-MM-DD`).
        version: String,
        component: String,
        field: &'static str,
        reason: String,
    },
    #[error(
        "tariff `{tariff}` version {version}, month {month}, {day_type} days: minute {minute} ({clock}) {problem}",
        clock = clock(*minute)
    )]
    Coverage {
        tariff: String,
        version: String,
        month: u32,
        day_type: DayType,
        minute: u32,
        /// "is covered by no window" or "is covered by both `a` and `b`".
        problem: String,
    },
    #[error(
        "tariff `{tariff}`: version {first} (in force until {first_end}) overlaps version {second}"
    )]
    OverlappingVersions {
        tariff: String,
        first: String,
        first_end: String,
        second: String,
    },
    #[error("unknown tariff `{0}`")]
    UnknownTariff(String),
    #[error("tariff `{tariff}` has no version in force on {day} (its versions: {known})")]
    NoVersionInForce {
        tariff: String,
        day: String,
        known: String,
    },
    #[error("billing period {first} to {end} (exclusive): {reason}")]
    Period {
        first: String,
        end: String,
        reason: String,
    },
    #[error("reading on {day} at minute {minute}: {reason}")]
    Reading {
        day: String,
        minute: u32,
        reason: String,
    },
    #[error("pricing tariff `{tariff}`: {reason}")]
    Usage { tariff: String, reason: String },
    #[error("holiday calendar, {day}: {reason}")]
    Calendar { day: String, reason: String },
    #[error("table `{table}`, column `{column}`, row {row}: {reason}")]
    Table {
        table: &'static str,
        column: &'static str,
        row: usize,
        reason: String,
    },
}

fn clock(minute: u32) -> String {
    format!("{:02}:{:02}", minute / 60, minute % 60)
}

/// One row of the `tariffs` table, as stored (see `catalog.rs`). Dates are days since
/// 1970-01-01; nothing here is checked until the row goes into a [`TariffBook`].
#[derive(Debug, Clone, PartialEq)]
pub struct TariffComponent {
    pub tariff: String,
    pub name: Option<String>,
    /// `flat`, `tiered` or `tou`.
    pub kind: String,
    pub customer_class: Option<String>,
    /// First day in force.
    pub effective_from: i64,
    /// First day no longer in force; `None` = open-ended.
    pub effective_to: Option<i64>,
    /// `flat`, `tier1`…, or a ToU period such as `peak`, `flat`, `valley`, `sharp`.
    pub component: String,
    /// Tiered only: `monthly` or `annual`.
    pub tier_basis: Option<String>,
    /// Tiered only: the tier's upper bound in kWh; `None` for the unbounded top tier.
    pub tier_upper_kwh: Option<f64>,
    /// ToU only: the months the window applies in, e.g. `1-12`, `1-6,9-12`, `7-8`; `None` = all.
    pub months: Option<String>,
    /// ToU only: `all`, `weekday` or `holiday`; `None` = `all`.
    pub day_type: Option<String>,
    /// ToU only: window start, minutes after local midnight (inclusive).
    pub start_min: Option<i64>,
    /// ToU only: window end, minutes after local midnight (exclusive, at most 1440).
    pub end_min: Option<i64>,
    /// Price in 1/10000 yuan per kWh.
    pub price_e4: i64,
}

impl TariffComponent {
    /// A row with the required fields set and every optional one empty; fill the rest with
    /// struct update syntax.
    pub fn new(
        tariff: &str,
        kind: &str,
        effective_from: i64,
        component: &str,
        price_e4: i64,
    ) -> Self {
        TariffComponent {
            tariff: tariff.to_string(),
            name: None,
            kind: kind.to_string(),
            customer_class: None,
            effective_from,
            effective_to: None,
            component: component.to_string(),
            tier_basis: None,
            tier_upper_kwh: None,
            months: None,
            day_type: None,
            start_min: None,
            end_min: None,
            price_e4,
        }
    }

    /// Reads the rows of the `tariffs` table; a null in a required column or a column of the
    /// wrong type is an error naming the column and row.
    pub fn from_rows(rows: &Rows) -> Result<Vec<TariffComponent>, TariffError> {
        let t = TableReader::new(rows, "tariffs")?;
        (0..rows.len())
            .map(|i| {
                Ok(TariffComponent {
                    tariff: t.required(i, "tariff", t.str(i, "tariff")?)?,
                    name: t.str(i, "name")?,
                    kind: t.required(i, "kind", t.str(i, "kind")?)?,
                    customer_class: t.str(i, "customer_class")?,
                    effective_from: t.required(
                        i,
                        "effective_from",
                        t.date(i, "effective_from")?,
                    )?,
                    effective_to: t.date(i, "effective_to")?,
                    component: t.required(i, "component", t.str(i, "component")?)?,
                    tier_basis: t.str(i, "tier_basis")?,
                    tier_upper_kwh: t.float(i, "tier_upper_kwh")?,
                    months: t.str(i, "months")?,
                    day_type: t.str(i, "day_type")?,
                    start_min: t.int(i, "start_min")?,
                    end_min: t.int(i, "end_min")?,
                    price_e4: t.required(i, "price_e4", t.int(i, "price_e4")?)?,
                })
            })
            .collect()
    }
}

/// Typed access to the columns of one catalog table, by name.
struct TableReader<'a> {
    rows: &'a Rows,
    table: &'static str,
}

impl<'a> TableReader<'a> {
    fn new(rows: &'a Rows, table: &'static str) -> Result<Self, TariffError> {
        if rows.table.name != table {
            return Err(TariffError::Table {
                table,
                column: "",
                row: 0,
                reason: format!("got rows of table `{}`", rows.table.name),
            });
        }
        Ok(TableReader { rows, table })
    }

    fn error(&self, row: usize, column: &'static str, reason: &str) -> TariffError {
        TariffError::Table {
            table: self.table,
            column,
            row,
            reason: reason.to_string(),
        }
    }

    fn column(&self, row: usize, name: &'static str) -> Result<&'a Column, TariffError> {
        let i = self.rows.table.columns.iter().position(|c| c.name == name);
        i.and_then(|i| self.rows.columns.get(i))
            .ok_or_else(|| self.error(row, name, "no such column"))
    }

    fn required<T>(&self, row: usize, name: &'static str, v: Option<T>) -> Result<T, TariffError> {
        v.ok_or_else(|| self.error(row, name, "is null but required"))
    }

    fn str(&self, row: usize, name: &'static str) -> Result<Option<String>, TariffError> {
        match self.column(row, name)? {
            Column::Utf8(v) => Ok(v.get(row).cloned().flatten()),
            _ => Err(self.error(row, name, "is not a text column")),
        }
    }

    fn int(&self, row: usize, name: &'static str) -> Result<Option<i64>, TariffError> {
        match self.column(row, name)? {
            Column::Int64(v) => Ok(v.get(row).copied().flatten()),
            _ => Err(self.error(row, name, "is not an integer column")),
        }
    }

    fn float(&self, row: usize, name: &'static str) -> Result<Option<f64>, TariffError> {
        match self.column(row, name)? {
            Column::Float64(v) => Ok(v.get(row).copied().flatten()),
            _ => Err(self.error(row, name, "is not a float column")),
        }
    }

    fn date(&self, row: usize, name: &'static str) -> Result<Option<i64>, TariffError> {
        match self.column(row, name)? {
            Column::Date(v) => Ok(v.get(row).copied().flatten().map(i64::from)),
            _ => Err(self.error(row, name, "is not a date column")),
        }
    }
}

/// How a tariff turns consumption into components.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TariffKind {
    /// One price for all energy.
    Flat,
    /// Block prices by consumption: tier bounds on the month's or the year's kWh.
    Tiered,
    /// Prices by time of day, month (season) and day type.
    Tou,
}

impl TariffKind {
    fn parse(s: &str) -> Option<Self> {
        match s {
            "flat" => Some(TariffKind::Flat),
            "tiered" => Some(TariffKind::Tiered),
            "tou" => Some(TariffKind::Tou),
            _ => None,
        }
    }
}

/// What the tier bounds of a tiered tariff count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TierBasis {
    /// The billing period's own consumption.
    Monthly,
    /// The consumption of the calendar year so far, this period included.
    Annual,
}

/// The kind of day for ToU windows: see the module doc for how a day gets its type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DayType {
    /// A working day, including a swapped working weekend day.
    Weekday,
    /// A rest day: an official holiday, or a weekend day that is not swapped.
    Holiday,
}

impl DayType {
    const ALL: [DayType; 2] = [DayType::Weekday, DayType::Holiday];

    fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for DayType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DayType::Weekday => "weekday",
            DayType::Holiday => "holiday",
        })
    }
}

/// Official holidays and swapped working days (the `holidays` table), to type days for ToU.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HolidayCalendar {
    holidays: HashSet<i64>,
    workday_swaps: HashSet<i64>,
}

impl HolidayCalendar {
    /// A calendar of the given holidays and swapped working days; a day in both lists is an
    /// error, as the calendar would contradict itself.
    pub fn new(
        holidays: impl IntoIterator<Item = i64>,
        workday_swaps: impl IntoIterator<Item = i64>,
    ) -> Result<Self, TariffError> {
        let holidays: HashSet<i64> = holidays.into_iter().collect();
        let workday_swaps: HashSet<i64> = workday_swaps.into_iter().collect();
        if let Some(day) = holidays.intersection(&workday_swaps).min() {
            return Err(TariffError::Calendar {
                day: format_date(*day),
                reason: "listed both as a holiday and as a swapped working day".into(),
            });
        }
        Ok(HolidayCalendar {
            holidays,
            workday_swaps,
        })
    }

    /// Reads the rows of the `holidays` table (`kind` = `holiday` or `workday_swap`).
    pub fn from_rows(rows: &Rows) -> Result<Self, TariffError> {
        let t = TableReader::new(rows, "holidays")?;
        let (mut holidays, mut swaps) = (Vec::new(), Vec::new());
        for i in 0..rows.len() {
            let day = t.required(i, "day", t.date(i, "day")?)?;
            match t.required(i, "kind", t.str(i, "kind")?)?.as_str() {
                "holiday" => holidays.push(day),
                "workday_swap" => swaps.push(day),
                other => {
                    return Err(t.error(
                        i,
                        "kind",
                        &format!("`{other}` is neither `holiday` nor `workday_swap`"),
                    ));
                }
            }
        }
        HolidayCalendar::new(holidays, swaps)
    }

    /// The type of a local day: holiday list first, then swaps, then Saturday/Sunday.
    pub fn day_type(&self, day: i64) -> DayType {
        if self.holidays.contains(&day) {
            DayType::Holiday
        } else if self.workday_swaps.contains(&day) || weekday(day) < 5 {
            DayType::Weekday
        } else {
            DayType::Holiday
        }
    }
}

/// 0 = Monday … 6 = Sunday (1970-01-01 was a Thursday).
fn weekday(day: i64) -> u32 {
    (day + 3).rem_euclid(7) as u32
}

fn days_in_month(year: i64, month: u32) -> i64 {
    let (ny, nm) = if month == 12 {
        (year + 1, 1)
    } else {
        (year, month + 1)
    };
    days_from_civil(ny, nm, 1) - days_from_civil(year, month, 1)
}

/// The local days one bill covers: a calendar month, or part of one (a customer joining or
/// leaving mid-month). Never more than one month, since seasons and tiers are monthly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BillingPeriod {
    first_day: i64,
    end_day: i64,
}

impl BillingPeriod {
    /// Days `first_day..end_day`; empty periods and periods crossing a month end are errors.
    pub fn new(first_day: i64, end_day: i64) -> Result<Self, TariffError> {
        let err = |reason: &str| TariffError::Period {
            first: format_date(first_day),
            end: format_date(end_day),
            reason: reason.into(),
        };
        if end_day <= first_day {
            return Err(err("is empty"));
        }
        let (y, m, _) = civil_from_days(first_day);
        if end_day > days_from_civil(y, m, 1) + days_in_month(y, m) {
            return Err(err("crosses a month end; bill each month separately"));
        }
        Ok(BillingPeriod { first_day, end_day })
    }

    /// The whole calendar month.
    pub fn month(year: i64, month: u32) -> Result<Self, TariffError> {
        if !(1..=12).contains(&month) {
            return Err(TariffError::Period {
                first: format!("{year:04}-{month:02}"),
                end: String::new(),
                reason: "month must be 1 to 12".into(),
            });
        }
        let first = days_from_civil(year, month, 1);
        BillingPeriod::new(first, first + days_in_month(year, month))
    }

    /// The first billed day, which chooses the tariff version.
    pub fn first_day(&self) -> i64 {
        self.first_day
    }

    /// The day after the last billed day.
    pub fn end_day(&self) -> i64 {
        self.end_day
    }

    pub fn year(&self) -> i64 {
        civil_from_days(self.first_day).0
    }

    /// The calendar month (1–12), which chooses the ToU season.
    pub fn month_number(&self) -> u32 {
        civil_from_days(self.first_day).1
    }

    pub fn days(&self) -> i64 {
        self.end_day - self.first_day
    }

    pub fn contains(&self, day: i64) -> bool {
        (self.first_day..self.end_day).contains(&day)
    }
}

/// A ToU window `[start, end)` priced as component `component` (index into the version's list).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Window {
    start: u32,
    end: u32,
    component: usize,
}

#[derive(Debug, Clone, PartialEq)]
enum Rates {
    Flat,
    /// `uppers[i]` bounds component `i` in centi-kWh; components are in ascending order and the
    /// last is unbounded.
    Tiered {
        basis: TierBasis,
        uppers: Vec<Option<i64>>,
    },
    /// `windows[(month - 1) * 2 + day_type]`: sorted windows covering the whole day exactly once.
    Tou {
        windows: Vec<Vec<Window>>,
    },
}

/// All components of one tariff in force over one date range, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct TariffVersion {
    tariff: String,
    name: Option<String>,
    customer_class: Option<String>,
    effective_from: i64,
    effective_to: Option<i64>,
    /// Distinct components and their prices: tiers ascending, ToU in order of first row.
    components: Vec<(String, i64)>,
    rates: Rates,
}

impl TariffVersion {
    pub fn tariff(&self) -> &str {
        &self.tariff
    }

    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    pub fn customer_class(&self) -> Option<&str> {
        self.customer_class.as_deref()
    }

    pub fn effective_from(&self) -> i64 {
        self.effective_from
    }

    pub fn effective_to(&self) -> Option<i64> {
        self.effective_to
    }

    pub fn kind(&self) -> TariffKind {
        match self.rates {
            Rates::Flat => TariffKind::Flat,
            Rates::Tiered { .. } => TariffKind::Tiered,
            Rates::Tou { .. } => TariffKind::Tou,
        }
    }

    pub fn tier_basis(&self) -> Option<TierBasis> {
        match self.rates {
            Rates::Tiered { basis, .. } => Some(basis),
            _ => None,
        }
    }

    /// Component names and prices (1/10000 yuan per kWh); tiers in ascending order.
    pub fn components(&self) -> impl Iterator<Item = (&str, i64)> {
        self.components.iter().map(|(c, p)| (c.as_str(), *p))
    }

    pub fn is_in_force(&self, day: i64) -> bool {
        self.effective_from <= day && self.effective_to.is_none_or(|to| day < to)
    }

    /// The ToU component priced at `minute` of a day of type `day_type` in `month`; `None` for
    /// flat and tiered versions and for a month or minute out of range.
    pub fn component_at(&self, month: u32, day_type: DayType, minute: u32) -> Option<&str> {
        if !(1..=12).contains(&month) || minute >= MINUTES_PER_DAY {
            return None;
        }
        let w = self.windows(month, day_type)?;
        let i = w.partition_point(|w| w.end <= minute);
        Some(&self.components[w[i].component].0)
    }

    /// Whether weekdays and holidays are priced differently in `month`; when they are not, a
    /// [`PeriodUsage`] keeps one slot array, so its sums match a reference that never split.
    pub fn distinguishes_day_types(&self, month: u32) -> bool {
        (1..=12).contains(&month)
            && self.windows(month, DayType::Weekday) != self.windows(month, DayType::Holiday)
    }

    fn windows(&self, month: u32, day_type: DayType) -> Option<&[Window]> {
        match &self.rates {
            Rates::Tou { windows } => Some(&windows[(month as usize - 1) * 2 + day_type.index()]),
            _ => None,
        }
    }

    /// Starts accumulating one customer's readings for `period`, at `interval_min`-minute slots.
    ///
    /// The version is not checked against the period: [`TariffBook::usage`] picks the version
    /// in force on the first day, as rule 4 requires.
    pub fn usage(
        &self,
        period: BillingPeriod,
        interval_min: u32,
        calendar: &HolidayCalendar,
    ) -> Result<PeriodUsage<'_>, TariffError> {
        let slots = self.slots_per_day(interval_min)?;
        let split = self.distinguishes_day_types(period.month_number());
        let day_types = if split {
            (period.first_day..period.end_day)
                .map(|d| calendar.day_type(d))
                .collect()
        } else {
            Vec::new()
        };
        Ok(PeriodUsage {
            version: self,
            period,
            interval_min,
            day_types,
            weekday: vec![0.0; slots],
            holiday: if split { vec![0.0; slots] } else { Vec::new() },
        })
    }

    fn usage_error(&self, reason: impl Into<String>) -> TariffError {
        TariffError::Usage {
            tariff: self.tariff.clone(),
            reason: reason.into(),
        }
    }

    fn slots_per_day(&self, interval_min: u32) -> Result<usize, TariffError> {
        if interval_min == 0 || !MINUTES_PER_DAY.is_multiple_of(interval_min) {
            return Err(self.usage_error(format!(
                "interval of {interval_min} minutes does not divide the day"
            )));
        }
        Ok((MINUTES_PER_DAY / interval_min) as usize)
    }

    /// Prices one period from per-slot kWh sums: `weekday[s]` is the period's kWh of the
    /// intervals starting at minute `s × interval_min` of weekdays, `holiday[s]` of holidays.
    ///
    /// `holiday` may be empty (no holiday consumption, or a caller that does not split by day
    /// type because the tariff does not: then the sums run in the same order as a single-array
    /// reference). `month` (1–12) chooses the ToU season. `annual_centi_before` is the
    /// centi-kWh billed earlier in the same calendar year; only annual tiers use it.
    pub fn price_slots(
        &self,
        month: u32,
        weekday: &[f64],
        holiday: &[f64],
        interval_min: u32,
        annual_centi_before: i64,
    ) -> Result<PricedPeriod, TariffError> {
        let slots = self.slots_per_day(interval_min)?;
        if !(1..=12).contains(&month) {
            return Err(self.usage_error(format!("month {month} is not 1 to 12")));
        }
        if weekday.len() != slots || !(holiday.is_empty() || holiday.len() == slots) {
            return Err(self.usage_error(format!(
                "slot arrays have {} and {} values; {interval_min}-minute slots need {slots} \
                 (holidays may be empty)",
                weekday.len(),
                holiday.len()
            )));
        }
        if annual_centi_before < 0 {
            return Err(self.usage_error(format!(
                "consumption earlier in the year is negative ({annual_centi_before} centi-kWh)"
            )));
        }
        let parts = match &self.rates {
            Rates::Flat => {
                let (component, price_e4) = &self.components[0];
                let total = self.centi(total(weekday, holiday))?;
                vec![self.part(component, total, *price_e4)?]
            }
            Rates::Tiered { basis, uppers } => {
                let month_total = self.centi(total(weekday, holiday))?;
                let start = match basis {
                    TierBasis::Monthly => 0,
                    TierBasis::Annual => annual_centi_before,
                };
                let end = start
                    .checked_add(month_total)
                    .ok_or_else(|| self.usage_error("annual consumption overflows"))?;
                let mut lower = 0;
                let mut parts = Vec::with_capacity(uppers.len());
                for ((component, price_e4), upper) in self.components.iter().zip(uppers) {
                    let upper = upper.unwrap_or(i64::MAX);
                    let take = (end.min(upper) - start.max(lower)).max(0);
                    parts.push(self.part(component, take, *price_e4)?);
                    lower = upper;
                }
                parts
            }
            Rates::Tou { .. } => self.price_tou(month, weekday, holiday, interval_min)?,
        };
        self.priced(parts)
    }

    fn price_tou(
        &self,
        month: u32,
        weekday: &[f64],
        holiday: &[f64],
        interval_min: u32,
    ) -> Result<Vec<PricedPart>, TariffError> {
        let mut sums = vec![0.0_f64; self.components.len()];
        let mut in_month = vec![false; self.components.len()];
        for (day_type, values) in DayType::ALL.into_iter().zip([weekday, holiday]) {
            let windows = self.windows(month, day_type).unwrap_or_default();
            for w in windows {
                in_month[w.component] = true;
            }
            // Windows are sorted and cover the day, so one forward pass assigns every slot.
            let mut w = 0;
            for (s, v) in values.iter().enumerate() {
                let minute = s as u32 * interval_min;
                while windows[w].end <= minute {
                    w += 1;
                }
                sums[windows[w].component] += v;
            }
        }
        let mut parts = Vec::new();
        for (i, (component, price_e4)) in self.components.iter().enumerate() {
            if in_month[i] {
                parts.push(self.part(component, self.centi(sums[i])?, *price_e4)?);
            }
        }
        Ok(parts)
    }

    /// Rule 1: half away from zero to centi-kWh, net export billed as 0.
    fn centi(&self, kwh: f64) -> Result<i64, TariffError> {
        let c = (kwh * 100.0).round();
        if !c.is_finite() || c.abs() > MAX_CENTI_KWH {
            return Err(self.usage_error(format!("implausible kWh sum {kwh}")));
        }
        Ok((c as i64).max(0))
    }

    fn part(
        &self,
        component: &str,
        centi_kwh: i64,
        price_e4: i64,
    ) -> Result<PricedPart, TariffError> {
        let amount_e6 = centi_kwh
            .checked_mul(price_e4)
            .ok_or_else(|| self.usage_error("amount overflows"))?;
        Ok(PricedPart {
            component: component.to_string(),
            centi_kwh,
            price_e4,
            amount_e6,
        })
    }

    /// Rule 3: one rounding, half up, of the exact sum.
    fn priced(&self, parts: Vec<PricedPart>) -> Result<PricedPeriod, TariffError> {
        let overflow = || self.usage_error("amount overflows");
        let mut centi_kwh: i64 = 0;
        let mut e6: i64 = 0;
        for p in &parts {
            centi_kwh = centi_kwh.checked_add(p.centi_kwh).ok_or_else(overflow)?;
            e6 = e6.checked_add(p.amount_e6).ok_or_else(overflow)?;
        }
        let amount_fen = e6
            .checked_add(5_000)
            .ok_or_else(overflow)?
            .div_euclid(10_000);
        Ok(PricedPeriod {
            parts,
            centi_kwh,
            amount_fen,
        })
    }
}

/// Σ weekday then Σ holiday: with an empty holiday array this is bit for bit the single-array
/// sum the reference bills use.
fn total(weekday: &[f64], holiday: &[f64]) -> f64 {
    let w: f64 = weekday.iter().sum();
    if holiday.is_empty() {
        w
    } else {
        w + holiday.iter().sum::<f64>()
    }
}

/// One priced component of a bill.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PricedPart {
    pub component: String,
    /// Billed energy in 0.01 kWh.
    pub centi_kwh: i64,
    /// Price in 1/10000 yuan per kWh.
    pub price_e4: i64,
    /// `centi_kwh × price_e4`: exact, in 1e-6 yuan.
    pub amount_e6: i64,
}

/// One priced billing period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PricedPeriod {
    /// Tiered: every tier in ascending order, zeros included. ToU: every component with a
    /// window in the period's month, in the order of the tariff's rows. Flat: one part.
    pub parts: Vec<PricedPart>,
    /// Σ parts' centi-kWh: the billed kWh × 100.
    pub centi_kwh: i64,
    /// (Σ parts' `amount_e6` + 5000) / 10000, rounded down: half up to whole fen.
    pub amount_fen: i64,
}

/// One customer's readings for one billing period, summed per slot of the day as they stream
/// in: O(1) per reading, and a few hundred bytes of state.
///
/// Readings are summed per (day type, slot) in the order they are added, then per component in
/// slot order. When the version prices weekdays and holidays alike in the period's month, there
/// is one slot array, so readings added in time order give exactly the reference sums. Order
/// only changes the last bits of an `f64` sum, which matters only for a sum within about 1e-12
/// kWh of a half centi-kWh.
#[derive(Debug, Clone)]
pub struct PeriodUsage<'v> {
    version: &'v TariffVersion,
    period: BillingPeriod,
    interval_min: u32,
    /// Day type of each day of the period; empty when the month does not distinguish them.
    day_types: Vec<DayType>,
    weekday: Vec<f64>,
    /// Empty when the month does not distinguish day types.
    holiday: Vec<f64>,
}

impl PeriodUsage<'_> {
    /// Adds the reading of the interval starting at `minute` after local midnight of `day`.
    /// A day outside the period, a minute off the slot grid or a non-finite kWh is an error and
    /// changes nothing.
    pub fn add(&mut self, day: i64, minute: u32, kwh: f64) -> Result<(), TariffError> {
        let err = |reason: String| TariffError::Reading {
            day: format_date(day),
            minute,
            reason,
        };
        if !self.period.contains(day) {
            return Err(err(format!(
                "outside the billing period {} to {}",
                format_date(self.period.first_day),
                format_date(self.period.end_day)
            )));
        }
        if minute >= MINUTES_PER_DAY || !minute.is_multiple_of(self.interval_min) {
            return Err(err(format!(
                "not the start of a {}-minute interval",
                self.interval_min
            )));
        }
        if !kwh.is_finite() {
            return Err(err(format!("kWh is {kwh}")));
        }
        let slot = (minute / self.interval_min) as usize;
        let holiday = self
            .day_types
            .get((day - self.period.first_day) as usize)
            .is_some_and(|t| *t == DayType::Holiday);
        if holiday {
            self.holiday[slot] += kwh;
        } else {
            self.weekday[slot] += kwh;
        }
        Ok(())
    }

    /// Adds a whole day of readings, one per slot from midnight (`kwh.len()` = slots per day).
    pub fn add_day(&mut self, day: i64, kwh: &[f64]) -> Result<(), TariffError> {
        if kwh.len() != self.weekday.len() {
            return Err(TariffError::Reading {
                day: format_date(day),
                minute: 0,
                reason: format!(
                    "a day has {} {}-minute slots, got {} readings",
                    self.weekday.len(),
                    self.interval_min,
                    kwh.len()
                ),
            });
        }
        if let Some(s) = kwh.iter().position(|v| !v.is_finite()) {
            let minute = s as u32 * self.interval_min;
            return self.add(day, minute, kwh[s]);
        }
        for (s, v) in kwh.iter().enumerate() {
            self.add(day, s as u32 * self.interval_min, *v)?;
        }
        Ok(())
    }

    /// Forgets the readings, to reuse the buffers for the next customer on the same period.
    pub fn clear(&mut self) {
        self.weekday.fill(0.0);
        self.holiday.fill(0.0);
    }

    pub fn period(&self) -> BillingPeriod {
        self.period
    }

    pub fn version(&self) -> &TariffVersion {
        self.version
    }

    /// Prices the period; `annual_centi_before` is the centi-kWh billed earlier in the same
    /// calendar year (only annual tiers use it; pass 0 otherwise).
    pub fn price(&self, annual_centi_before: i64) -> Result<PricedPeriod, TariffError> {
        self.version.price_slots(
            self.period.month_number(),
            &self.weekday,
            &self.holiday,
            self.interval_min,
            annual_centi_before,
        )
    }
}

/// Every tariff and its versions, validated: a book that exists prices every month it covers.
#[derive(Debug, Clone, PartialEq)]
pub struct TariffBook {
    /// Versions of each tariff, by `effective_from`, not overlapping.
    tariffs: BTreeMap<String, Vec<TariffVersion>>,
}

impl TariffBook {
    /// Validates the rows and groups them into versions (rows sharing `tariff` and
    /// `effective_from`). See [`TariffError`] for what is rejected; in short: unknown kinds or
    /// day types, negative prices, empty or inverted date ranges, rows of one version that
    /// disagree on kind or end date, fields of another kind (a `months` on a tiered row, unless
    /// it is all year), flat versions with other than one row, tiers without a basis or without
    /// exactly one unbounded top tier or with bounds not strictly ascending, ToU windows outside
    /// the day or that leave a gap or overlap in any (month, day type), one component at two
    /// prices, and versions of one tariff overlapping in time.
    pub fn new(rows: impl IntoIterator<Item = TariffComponent>) -> Result<Self, TariffError> {
        let mut grouped: BTreeMap<String, BTreeMap<i64, Vec<TariffComponent>>> = BTreeMap::new();
        for row in rows {
            grouped
                .entry(row.tariff.clone())
                .or_default()
                .entry(row.effective_from)
                .or_default()
                .push(row);
        }
        let mut tariffs = BTreeMap::new();
        for (tariff, versions) in grouped {
            let versions = versions
                .into_values()
                .map(|rows| build_version(&rows))
                .collect::<Result<Vec<_>, _>>()?;
            for pair in versions.windows(2) {
                if pair[0]
                    .effective_to
                    .is_none_or(|to| to > pair[1].effective_from)
                {
                    return Err(TariffError::OverlappingVersions {
                        tariff,
                        first: format_date(pair[0].effective_from),
                        first_end: pair[0]
                            .effective_to
                            .map_or_else(|| "further notice".into(), format_date),
                        second: format_date(pair[1].effective_from),
                    });
                }
            }
            tariffs.insert(tariff, versions);
        }
        Ok(TariffBook { tariffs })
    }

    /// Tariff ids, sorted.
    pub fn tariffs(&self) -> impl Iterator<Item = &str> {
        self.tariffs.keys().map(String::as_str)
    }

    /// Every version of a tariff, oldest first.
    pub fn versions(&self, tariff: &str) -> Result<&[TariffVersion], TariffError> {
        self.tariffs
            .get(tariff)
            .map(Vec::as_slice)
            .ok_or_else(|| TariffError::UnknownTariff(tariff.to_string()))
    }

    /// The version of `tariff` in force on local day `day`.
    pub fn version(&self, tariff: &str, day: i64) -> Result<&TariffVersion, TariffError> {
        let versions = self.versions(tariff)?;
        let i = versions.partition_point(|v| v.effective_from <= day);
        match i.checked_sub(1).map(|i| &versions[i]) {
            Some(v) if v.is_in_force(day) => Ok(v),
            _ => Err(TariffError::NoVersionInForce {
                tariff: tariff.to_string(),
                day: format_date(day),
                known: versions
                    .iter()
                    .map(|v| match v.effective_to {
                        Some(to) => format!(
                            "{} until {}",
                            format_date(v.effective_from),
                            format_date(to)
                        ),
                        None => format!("{} open-ended", format_date(v.effective_from)),
                    })
                    .collect::<Vec<_>>()
                    .join(", "),
            }),
        }
    }

    /// Starts a [`PeriodUsage`] with the version in force on the period's first day (rule 4).
    pub fn usage(
        &self,
        tariff: &str,
        period: BillingPeriod,
        interval_min: u32,
        calendar: &HolidayCalendar,
    ) -> Result<PeriodUsage<'_>, TariffError> {
        self.version(tariff, period.first_day)?
            .usage(period, interval_min, calendar)
    }

    /// Prices one customer's period from `(local day, start minute, kWh)` readings in one call.
    pub fn price_readings(
        &self,
        tariff: &str,
        period: BillingPeriod,
        interval_min: u32,
        calendar: &HolidayCalendar,
        readings: impl IntoIterator<Item = (i64, u32, f64)>,
        annual_centi_before: i64,
    ) -> Result<PricedPeriod, TariffError> {
        let mut usage = self.usage(tariff, period, interval_min, calendar)?;
        for (day, minute, kwh) in readings {
            usage.add(day, minute, kwh)?;
        }
        usage.price(annual_centi_before)
    }
}

/// The error for one field of one row.
fn row_error(row: &TariffComponent, field: &'static str, reason: impl Into<String>) -> TariffError {
    TariffError::Row {
        tariff: row.tariff.clone(),
        version: format_date(row.effective_from),
        component: row.component.clone(),
        field,
        reason: reason.into(),
    }
}

/// Builds one version from its rows (all sharing tariff and `effective_from`).
fn build_version(rows: &[TariffComponent]) -> Result<TariffVersion, TariffError> {
    let first = &rows[0];
    let kind = TariffKind::parse(&first.kind).ok_or_else(|| {
        row_error(
            first,
            "kind",
            format!("`{}` is not flat, tiered or tou", first.kind),
        )
    })?;
    for row in rows {
        if row.tariff.trim().is_empty() {
            return Err(row_error(row, "tariff", "is empty"));
        }
        if row.component.trim().is_empty() {
            return Err(row_error(row, "component", "is empty"));
        }
        if row.kind != first.kind {
            return Err(row_error(
                row,
                "kind",
                format!(
                    "`{}`, but other rows of the version say `{}`",
                    row.kind, first.kind
                ),
            ));
        }
        if row.effective_to != first.effective_to {
            return Err(row_error(
                row,
                "effective_to",
                "differs between rows of the same version",
            ));
        }
        if let Some(to) = row.effective_to
            && to <= row.effective_from
        {
            return Err(row_error(
                row,
                "effective_to",
                format!("{} is not after effective_from", format_date(to)),
            ));
        }
        if row.price_e4 < 0 {
            return Err(row_error(
                row,
                "price_e4",
                format!("{} is negative", row.price_e4),
            ));
        }
        if kind != TariffKind::Tiered {
            if row.tier_basis.is_some() {
                return Err(row_error(row, "tier_basis", "is set on a non-tiered row"));
            }
            if row.tier_upper_kwh.is_some() {
                return Err(row_error(
                    row,
                    "tier_upper_kwh",
                    "is set on a non-tiered row",
                ));
            }
        }
        if kind != TariffKind::Tou {
            check_whole_day(row).map_err(|(field, reason)| row_error(row, field, reason))?;
        }
    }
    let mut components: Vec<(String, i64)> = Vec::new();
    let rates = match kind {
        TariffKind::Flat => {
            if rows.len() != 1 {
                return Err(row_error(
                    &rows[1],
                    "component",
                    format!(
                        "a flat version has exactly one row, this one has {}",
                        rows.len()
                    ),
                ));
            }
            components.push((first.component.clone(), first.price_e4));
            Rates::Flat
        }
        TariffKind::Tiered => build_tiers(rows, &mut components)?,
        TariffKind::Tou => build_tou(rows, &mut components)?,
    };
    Ok(TariffVersion {
        tariff: first.tariff.clone(),
        name: rows.iter().find_map(|r| r.name.clone()),
        customer_class: rows.iter().find_map(|r| r.customer_class.clone()),
        effective_from: first.effective_from,
        effective_to: first.effective_to,
        components,
        rates,
    })
}

/// ToU fields on a flat or tiered row are accepted only when they restrict nothing (all year,
/// all days, the whole day), since honouring them would need a kind the engine does not have.
fn check_whole_day(row: &TariffComponent) -> Result<(), (&'static str, String)> {
    if let Some(spec) = &row.months
        && parse_months(spec)? != ALL_MONTHS
    {
        return Err((
            "months",
            format!(
                "`{spec}` restricts a {} row; only tou rows have seasons",
                row.kind
            ),
        ));
    }
    if let Some(d) = &row.day_type
        && d != "all"
    {
        return Err((
            "day_type",
            format!("`{d}` on a {} row; only tou rows have day types", row.kind),
        ));
    }
    if !matches!(
        (row.start_min, row.end_min),
        (None | Some(0), None | Some(1440))
    ) {
        return Err((
            "start_min",
            format!("a window on a {} row; only tou rows have windows", row.kind),
        ));
    }
    Ok(())
}

/// Bit `m` set for each month `m` in 1..=12.
const ALL_MONTHS: u16 = 0b1_1111_1111_1110;

/// Parses `1-12`, `1-6,9-12`, `7`, `7-8`: comma-separated months or inclusive ranges.
fn parse_months(spec: &str) -> Result<u16, (&'static str, String)> {
    let bad = |why: &str| ("months", format!("`{spec}`: {why}"));
    let month = |s: &str| -> Result<u32, (&'static str, String)> {
        match s.trim().parse::<u32>() {
            Ok(m) if (1..=12).contains(&m) => Ok(m),
            _ => Err(bad(&format!("`{}` is not a month 1 to 12", s.trim()))),
        }
    };
    let mut mask = 0_u16;
    for part in spec.split(',') {
        let (a, b) = match part.split_once('-') {
            Some((a, b)) => (month(a)?, month(b)?),
            None => {
                let m = month(part)?;
                (m, m)
            }
        };
        if a > b {
            return Err(bad(&format!("range {a}-{b} runs backwards")));
        }
        for m in a..=b {
            mask |= 1 << m;
        }
    }
    Ok(mask)
}

/// Tiers sorted by bound, the unbounded one last; `components` gets them in that order.
fn build_tiers(
    rows: &[TariffComponent],
    components: &mut Vec<(String, i64)>,
) -> Result<Rates, TariffError> {
    let basis_of = |row: &TariffComponent| match row.tier_basis.as_deref() {
        Some("monthly") => Ok(TierBasis::Monthly),
        Some("annual") => Ok(TierBasis::Annual),
        Some(other) => Err(row_error(
            row,
            "tier_basis",
            format!("`{other}` is not monthly or annual"),
        )),
        None => Err(row_error(row, "tier_basis", "is missing on a tiered row")),
    };
    let basis = basis_of(&rows[0])?;
    let mut tiers: Vec<(&TariffComponent, Option<i64>)> = Vec::with_capacity(rows.len());
    for row in rows {
        if basis_of(row)? != basis {
            return Err(row_error(
                row,
                "tier_basis",
                "differs between tiers of one version",
            ));
        }
        let upper = match row.tier_upper_kwh {
            None => None,
            Some(u) if (0.005..MAX_CENTI_KWH / 100.0).contains(&u) => {
                Some((u * 100.0).round() as i64)
            }
            Some(u) => {
                return Err(row_error(
                    row,
                    "tier_upper_kwh",
                    format!("{u} is not a positive kWh (at least 0.01)"),
                ));
            }
        };
        if tiers.iter().any(|(t, _)| t.component == row.component) {
            return Err(row_error(
                row,
                "component",
                "appears twice in one tiered version",
            ));
        }
        tiers.push((row, upper));
    }
    let unbounded = tiers.iter().filter(|t| t.1.is_none()).count();
    if unbounded != 1 {
        let row = tiers
            .iter()
            .rev()
            .find(|t| t.1.is_none())
            .map_or(&rows[0], |t| t.0);
        return Err(row_error(
            row,
            "tier_upper_kwh",
            format!("{unbounded} tiers are unbounded; exactly one (the top tier) must be"),
        ));
    }
    tiers.sort_by_key(|t| t.1.unwrap_or(i64::MAX));
    for pair in tiers.windows(2) {
        if pair[0].1 == pair[1].1 {
            return Err(row_error(
                pair[1].0,
                "tier_upper_kwh",
                format!(
                    "same bound as tier `{}`; bounds must strictly ascend",
                    pair[0].0.component
                ),
            ));
        }
    }
    components.extend(tiers.iter().map(|(r, _)| (r.component.clone(), r.price_e4)));
    Ok(Rates::Tiered {
        basis,
        uppers: tiers.iter().map(|t| t.1).collect(),
    })
}

fn build_tou(
    rows: &[TariffComponent],
    components: &mut Vec<(String, i64)>,
) -> Result<Rates, TariffError> {
    // (months mask, applies to weekdays, applies to holidays, window)
    let mut parsed = Vec::with_capacity(rows.len());
    for row in rows {
        let months = match &row.months {
            Some(spec) => parse_months(spec).map_err(|(f, r)| row_error(row, f, r))?,
            None => ALL_MONTHS,
        };
        let (on_weekdays, on_holidays) = match row.day_type.as_deref() {
            None | Some("all") => (true, true),
            Some("weekday") => (true, false),
            Some("holiday") => (false, true),
            Some(other) => {
                return Err(row_error(
                    row,
                    "day_type",
                    format!("`{other}` is not all, weekday or holiday"),
                ));
            }
        };
        let start = row
            .start_min
            .ok_or_else(|| row_error(row, "start_min", "is missing on a tou row"))?;
        let end = row
            .end_min
            .ok_or_else(|| row_error(row, "end_min", "is missing on a tou row"))?;
        if !(0..1440).contains(&start) {
            return Err(row_error(
                row,
                "start_min",
                format!("{start} is outside 0..1440"),
            ));
        }
        if !(1..=1440).contains(&end) || end <= start {
            return Err(row_error(
                row,
                "end_min",
                format!("{end} is not after start_min {start} within the day (at most 1440)"),
            ));
        }
        let component = match components.iter().position(|(c, _)| *c == row.component) {
            Some(i) if components[i].1 != row.price_e4 => {
                return Err(row_error(
                    row,
                    "price_e4",
                    format!(
                        "{}, but another window of `{}` costs {}; one component has one price",
                        row.price_e4, row.component, components[i].1
                    ),
                ));
            }
            Some(i) => i,
            None => {
                components.push((row.component.clone(), row.price_e4));
                components.len() - 1
            }
        };
        let window = Window {
            start: start as u32,
            end: end as u32,
            component,
        };
        parsed.push((months, on_weekdays, on_holidays, window));
    }
    let first = &rows[0];
    let mut windows = Vec::with_capacity(24);
    for month in 1..=12_u32 {
        for day_type in DayType::ALL {
            let mut w: Vec<Window> = parsed
                .iter()
                .filter(|(months, wd, hol, _)| {
                    months & (1 << month) != 0
                        && match day_type {
                            DayType::Weekday => *wd,
                            DayType::Holiday => *hol,
                        }
                })
                .map(|p| p.3)
                .collect();
            w.sort_by_key(|w| (w.start, w.end));
            let coverage = |minute: u32, problem: String| TariffError::Coverage {
                tariff: first.tariff.clone(),
                version: format_date(first.effective_from),
                month,
                day_type,
                minute,
                problem,
            };
            let mut covered_to = 0;
            let mut last: Option<&Window> = None;
            for window in &w {
                if window.start > covered_to {
                    return Err(coverage(covered_to, "is covered by no window".into()));
                }
                if let Some(prev) = last
                    && window.start < covered_to
                {
                    return Err(coverage(
                        window.start,
                        format!(
                            "is covered by both `{}` and `{}`",
                            components[prev.component].0, components[window.component].0
                        ),
                    ));
                }
                covered_to = window.end;
                last = Some(window);
            }
            if covered_to < MINUTES_PER_DAY {
                return Err(coverage(covered_to, "is covered by no window".into()));
            }
            windows.push(w);
        }
    }
    Ok(Rates::Tou { windows })
}

#[cfg(test)]
mod tests {
    use super::*;
    use gridmark_core::Value;

    fn d(y: i64, m: u32, day: u32) -> i64 {
        days_from_civil(y, m, day)
    }

    fn base() -> i64 {
        d(2020, 1, 1)
    }

    fn tier(
        tariff: &str,
        basis: &str,
        component: &str,
        upper: Option<f64>,
        price: i64,
    ) -> TariffComponent {
        TariffComponent {
            tier_basis: Some(basis.into()),
            tier_upper_kwh: upper,
            ..TariffComponent::new(tariff, "tiered", base(), component, price)
        }
    }

    /// The residential tiers of the synthetic utility: 230 / 400 kWh a month.
    fn res_tiers() -> Vec<TariffComponent> {
        vec![
            tier("RES_TIER", "monthly", "tier1", Some(230.0), 5283),
            tier("RES_TIER", "monthly", "tier2", Some(400.0), 5783),
            tier("RES_TIER", "monthly", "tier3", None, 8283),
        ]
    }

    fn window(
        tariff: &str,
        component: &str,
        months: &str,
        day_type: &str,
        (start, end): (i64, i64),
        price: i64,
    ) -> TariffComponent {
        TariffComponent {
            months: Some(months.into()),
            day_type: Some(day_type.into()),
            start_min: Some(start),
            end_min: Some(end),
            ..TariffComponent::new(tariff, "tou", base(), component, price)
        }
    }

    /// Commercial ToU with a July–August sharp peak; prices [sharp, peak, flat, valley].
    fn business_tou(tariff: &str, prices: [i64; 4]) -> Vec<TariffComponent> {
        let (ns, s) = ("1-6,9-12", "7-8");
        let [sharp, peak, flat, valley] = prices;
        [
            ("valley", ns, (0, 480), valley),
            ("valley", ns, (1320, 1440), valley),
            ("flat", ns, (660, 780), flat),
            ("flat", ns, (1140, 1320), flat),
            ("peak", ns, (480, 660), peak),
            ("peak", ns, (780, 1140), peak),
            ("valley", s, (0, 480), valley),
            ("valley", s, (1320, 1440), valley),
            ("flat", s, (660, 780), flat),
            ("flat", s, (1140, 1320), flat),
            ("peak", s, (480, 600), peak),
            ("sharp", s, (600, 660), sharp),
            ("peak", s, (780, 840), peak),
            ("sharp", s, (840, 960), sharp),
            ("peak", s, (960, 1140), peak),
        ]
        .into_iter()
        .map(|(c, m, w, p)| window(tariff, c, m, "all", w, p))
        .collect()
    }

    /// Weekdays: peak 08:00–22:00, valley otherwise; holidays: valley all day.
    fn weekday_holiday_tou() -> Vec<TariffComponent> {
        vec![
            window("DAYS", "valley", "1-12", "weekday", (0, 480), 3000),
            window("DAYS", "peak", "1-12", "weekday", (480, 1320), 6000),
            window("DAYS", "valley", "1-12", "weekday", (1320, 1440), 3000),
            window("DAYS", "valley", "1-12", "holiday", (0, 1440), 3000),
        ]
    }

    fn parts(p: &PricedPeriod) -> Vec<(&str, i64)> {
        p.parts
            .iter()
            .map(|p| (p.component.as_str(), p.centi_kwh))
            .collect()
    }

    /// Prices a single total through one slot of a day-long interval.
    fn price_total(v: &TariffVersion, kwh: f64, before: i64) -> PricedPeriod {
        v.price_slots(1, &[kwh], &[], 1440, before).unwrap()
    }

    #[test]
    fn tiers_split_at_the_bounds_and_the_fen_rounds_once() {
        let book = TariffBook::new(res_tiers()).unwrap();
        let v = book.version("RES_TIER", d(2025, 1, 1)).unwrap();
        // 200 + 250.004 = 450.004 kWh → 45000 centi-kWh = 23000 + 17000 + 5000;
        // 23000 × 5283 + 17000 × 5783 + 5000 × 8283 = 121_509_000 + 98_311_000 + 41_415_000
        // = 261_235_000 e-6 yuan = 26123.5 fen → 26124 (half up, once).
        let p = v.price_slots(1, &[200.0, 250.004], &[], 720, 0).unwrap();
        assert_eq!(
            parts(&p),
            [("tier1", 23_000), ("tier2", 17_000), ("tier3", 5_000)]
        );
        assert_eq!(p.parts[1].amount_e6, 98_311_000);
        assert_eq!((p.centi_kwh, p.amount_fen), (45_000, 26_124));
        // Exactly on the bound stays in tier 1; 0.01 kWh more starts tier 2.
        assert_eq!(
            parts(&price_total(v, 230.0, 0)),
            [("tier1", 23_000), ("tier2", 0), ("tier3", 0)]
        );
        assert_eq!(
            parts(&price_total(v, 230.01, 0)),
            [("tier1", 23_000), ("tier2", 1), ("tier3", 0)]
        );
        // 400.004 rounds to 400.00: tier 3 stays empty.
        assert_eq!(price_total(v, 400.004, 0).parts[2].centi_kwh, 0);
    }

    #[test]
    fn the_fen_rounds_half_up_exactly_at_half() {
        let book =
            TariffBook::new([TariffComponent::new("F", "flat", base(), "flat", 5000)]).unwrap();
        let v = book.version("F", base()).unwrap();
        // 1 centi-kWh × 5000 = 5000 e-6 yuan = 0.5 fen → 1; 3 × 5000 = 1.5 fen → 2.
        assert_eq!(price_total(v, 0.01, 0).amount_fen, 1);
        assert_eq!(price_total(v, 0.03, 0).amount_fen, 2);
        let book =
            TariffBook::new([TariffComponent::new("F", "flat", base(), "flat", 4999)]).unwrap();
        // 1 × 4999 = 0.4999 fen → 0.
        assert_eq!(
            price_total(book.version("F", base()).unwrap(), 0.01, 0).amount_fen,
            0
        );
    }

    #[test]
    fn kwh_rounds_half_away_from_zero_and_net_export_bills_zero() {
        let book =
            TariffBook::new([TariffComponent::new("F", "flat", base(), "flat", 7300)]).unwrap();
        let v = book.version("F", base()).unwrap();
        // 0.125 is exact in binary: 12.5 centi-kWh → 13.
        assert_eq!(price_total(v, 0.125, 0).centi_kwh, 13);
        // −12.3 kWh of net export → 0 kWh, 0 fen; −0.125 → −13 → 0.
        let export = v.price_slots(1, &[-10.0, -2.3], &[], 720, 0).unwrap();
        assert_eq!((export.centi_kwh, export.amount_fen), (0, 0));
        assert_eq!(price_total(v, -0.125, 0).centi_kwh, 0);
        // ToU clamps each component on its own: valley −5 → 0, peak +2 → 2.
        let book = TariffBook::new(weekday_holiday_tou()).unwrap();
        let v = book.version("DAYS", base()).unwrap();
        let mut slots = vec![0.0; 24];
        slots[2] = -5.0;
        slots[12] = 2.0;
        let p = v.price_slots(3, &slots, &[], 60, 0).unwrap();
        assert_eq!(parts(&p), [("valley", 0), ("peak", 200)]);
        assert_eq!(p.amount_fen, 120); // 200 × 6000 = 1_200_000 e-6 yuan
    }

    #[test]
    fn tou_prices_the_summer_sharp_peak_by_the_month_of_the_period() {
        let book = TariffBook::new(business_tou("COM_TOU", [13650, 11380, 7160, 3120])).unwrap();
        let cal = HolidayCalendar::default();
        let readings = |day: i64| {
            [
                (day, 600, 1.0),
                (day, 540, 2.0),
                (day, 180, 3.0),
                (day, 720, 4.0),
            ]
        };
        // July (2025-07-01 is a Tuesday): 10:00 is sharp, 09:00 peak, 03:00 valley, 12:00 flat.
        // 100 × 13650 + 200 × 11380 + 400 × 7160 + 300 × 3120
        // = 1_365_000 + 2_276_000 + 2_864_000 + 936_000 = 7_441_000 e-6 yuan = 744.1 fen → 744.
        let july = BillingPeriod::month(2025, 7).unwrap();
        let p = book
            .price_readings("COM_TOU", july, 15, &cal, readings(july.first_day()), 0)
            .unwrap();
        let mut got = parts(&p);
        got.sort();
        assert_eq!(
            got,
            [
                ("flat", 400),
                ("peak", 200),
                ("sharp", 100),
                ("valley", 300)
            ]
        );
        assert_eq!((p.centi_kwh, p.amount_fen), (1_000, 744));
        // January has no sharp window: 10:00 is peak. 300 × 11380 + 400 × 7160 + 300 × 3120
        // = 3_414_000 + 2_864_000 + 936_000 = 7_214_000 → 721.4 fen → 721.
        let jan = BillingPeriod::month(2025, 1).unwrap();
        let p = book
            .price_readings("COM_TOU", jan, 15, &cal, readings(jan.first_day()), 0)
            .unwrap();
        assert!(p.parts.iter().all(|p| p.component != "sharp"));
        assert_eq!((p.centi_kwh, p.amount_fen), (1_000, 721));
        let v = book.version("COM_TOU", jan.first_day()).unwrap();
        assert_eq!(v.component_at(8, DayType::Holiday, 959), Some("sharp"));
        assert_eq!(v.component_at(8, DayType::Holiday, 960), Some("peak"));
        assert_eq!(v.component_at(13, DayType::Holiday, 960), None);
        assert!(!v.distinguishes_day_types(8));
    }

    #[test]
    fn holidays_swaps_and_weekends_choose_the_windows() {
        // 2025-05-07 is a Wednesday made a holiday, 2025-05-10 a Saturday made a working day.
        let cal = HolidayCalendar::new([d(2025, 5, 7)], [d(2025, 5, 10)]).unwrap();
        assert_eq!(weekday(d(2025, 5, 7)), 2);
        assert_eq!(cal.day_type(d(2025, 5, 6)), DayType::Weekday);
        assert_eq!(cal.day_type(d(2025, 5, 7)), DayType::Holiday);
        assert_eq!(cal.day_type(d(2025, 5, 10)), DayType::Weekday);
        assert_eq!(cal.day_type(d(2025, 5, 11)), DayType::Holiday);
        let book = TariffBook::new(weekday_holiday_tou()).unwrap();
        let may = BillingPeriod::month(2025, 5).unwrap();
        let readings = [6, 7, 10, 11].map(|day| (d(2025, 5, day), 600, 1.0));
        // 10:00 on Tue 6th and swapped Sat 10th is peak, on the 7th and Sun 11th valley:
        // 200 × 6000 + 200 × 3000 = 1_800_000 e-6 yuan = 180 fen.
        let p = book
            .price_readings("DAYS", may, 30, &cal, readings, 0)
            .unwrap();
        assert_eq!(parts(&p), [("valley", 200), ("peak", 200)]);
        assert_eq!(p.amount_fen, 180);
        // Without the calendar the 7th is a weekday and the 10th a weekend day: same split.
        let p = book
            .price_readings(
                "DAYS",
                may,
                30,
                &HolidayCalendar::default(),
                [readings[1]],
                0,
            )
            .unwrap();
        assert_eq!(parts(&p), [("valley", 0), ("peak", 100)]);
        assert!(HolidayCalendar::new([d(2025, 5, 7)], [d(2025, 5, 7)]).is_err());
    }

    #[test]
    fn a_part_month_is_priced_with_the_version_of_its_first_day() {
        let (change, april) = (d(2025, 3, 20), d(2025, 4, 1));
        let old = TariffComponent {
            effective_to: Some(change),
            ..TariffComponent::new("COM", "flat", base(), "flat", 7000)
        };
        let new = TariffComponent::new("COM", "flat", change, "flat", 8000);
        let book = TariffBook::new([new, old]).unwrap();
        let cal = HolidayCalendar::default();
        // A customer joining on the 10th: 10 kWh on the 25th, after the change, still at 0.70:
        // 1000 × 7000 = 7_000_000 e-6 yuan = 700 fen.
        let joined = BillingPeriod::new(d(2025, 3, 10), april).unwrap();
        let p = book
            .price_readings("COM", joined, 60, &cal, [(d(2025, 3, 25), 0, 10.0)], 0)
            .unwrap();
        assert_eq!((p.centi_kwh, p.amount_fen), (1_000, 700));
        let later = BillingPeriod::new(change, april).unwrap();
        let p = book
            .price_readings("COM", later, 60, &cal, [(d(2025, 3, 25), 0, 10.0)], 0)
            .unwrap();
        assert_eq!(p.amount_fen, 800);
        let err = book
            .price_readings("COM", joined, 60, &cal, [(d(2025, 3, 5), 0, 1.0)], 0)
            .unwrap_err();
        assert!(
            err.to_string().contains("outside the billing period"),
            "{err}"
        );
        // Monthly tier bounds also for a part month: 300 kWh in half of March = 230 + 70.
        let book = TariffBook::new(res_tiers()).unwrap();
        let half = BillingPeriod::new(d(2025, 3, 16), april).unwrap();
        let p = book
            .price_readings("RES_TIER", half, 15, &cal, [(d(2025, 3, 20), 45, 300.0)], 0)
            .unwrap();
        assert_eq!(
            parts(&p),
            [("tier1", 23_000), ("tier2", 7_000), ("tier3", 0)]
        );
    }

    #[test]
    fn annual_tiers_carry_the_consumption_of_the_year_so_far() {
        let book = TariffBook::new([
            tier("ANNUAL", "annual", "tier1", Some(2760.0), 4883),
            tier("ANNUAL", "annual", "tier2", Some(4800.0), 5383),
            tier("ANNUAL", "annual", "tier3", None, 7883),
        ])
        .unwrap();
        let v = book.version("ANNUAL", d(2025, 6, 1)).unwrap();
        assert_eq!(v.tier_basis(), Some(TierBasis::Annual));
        // 2700 kWh before, 100 now: 60 in tier 1, 40 in tier 2.
        // 6000 × 4883 + 4000 × 5383 = 29_298_000 + 21_532_000 = 50_830_000 → 5083 fen.
        let p = price_total(v, 100.0, 270_000);
        assert_eq!(
            parts(&p),
            [("tier1", 6_000), ("tier2", 4_000), ("tier3", 0)]
        );
        assert_eq!(p.amount_fen, 5_083);
        // 5000 kWh before: all in tier 3, 10000 × 7883 = 78_830_000 → 7883 fen.
        assert_eq!(price_total(v, 100.0, 500_000).amount_fen, 7_883);
        // From the start of the year it is tier 1 only.
        assert_eq!(price_total(v, 100.0, 0).amount_fen, 4_883);
        // Monthly tiers ignore the year so far.
        let monthly = TariffBook::new(res_tiers()).unwrap();
        let v = monthly.version("RES_TIER", base()).unwrap();
        assert_eq!(price_total(v, 100.0, 900_000).amount_fen, 5_283);
        assert!(v.price_slots(1, &[1.0], &[], 1440, -1).is_err());
    }

    fn rejected(rows: Vec<TariffComponent>) -> String {
        TariffBook::new(rows).unwrap_err().to_string()
    }

    #[test]
    fn validation_names_the_gap_and_the_overlap() {
        let mut gap = business_tou("T", [4, 3, 2, 1]);
        gap.retain(|r| !(r.component == "sharp" && r.start_min == Some(840)));
        let msg = rejected(gap);
        assert_eq!(
            msg,
            "tariff `T` version 2020-01-01, month 7, weekday days: minute 840 (14:00) is covered \
             by no window"
        );
        let mut overlap = business_tou("T", [4, 3, 2, 1]);
        overlap[4].end_min = Some(700); // non-summer peak 08:00–11:40 runs into flat 11:00
        let msg = rejected(overlap);
        assert!(
            msg.contains(
                "month 1, weekday days: minute 660 (11:00) is covered by both `peak` and `flat`"
            ),
            "{msg}"
        );
        let mut short = weekday_holiday_tou();
        short[3].months = Some("1-11".into());
        assert!(rejected(short).contains("month 12, holiday days: minute 0 (00:00)"));
    }

    #[test]
    fn validation_rejects_bad_tiers_and_fields() {
        let mut two_top = res_tiers();
        two_top[1].tier_upper_kwh = None;
        let msg = rejected(two_top);
        assert!(
            msg.contains("field `tier_upper_kwh`: 2 tiers are unbounded"),
            "{msg}"
        );
        let mut no_top = res_tiers();
        no_top[2].tier_upper_kwh = Some(500.0);
        assert!(rejected(no_top).contains("0 tiers are unbounded"));
        let mut same = res_tiers();
        same[1].tier_upper_kwh = Some(230.0);
        assert!(rejected(same).contains("strictly ascend"));
        let mut no_basis = res_tiers();
        no_basis[0].tier_basis = None;
        assert!(rejected(no_basis).contains("component `tier1`, field `tier_basis`: is missing"));
        let mut negative = res_tiers();
        negative[2].price_e4 = -1;
        assert!(rejected(negative).contains("component `tier3`, field `price_e4`: -1 is negative"));
        let mut kind = res_tiers();
        for r in &mut kind {
            r.kind = "block".into();
        }
        assert!(rejected(kind).contains("field `kind`: `block` is not flat, tiered or tou"));
        let mut seasonal = res_tiers();
        seasonal[0].months = Some("7-8".into());
        assert!(rejected(seasonal).contains("field `months`"));
        let mut all_year = res_tiers();
        all_year[0].months = Some("1-12".into());
        all_year[0].day_type = Some("all".into());
        assert!(TariffBook::new(all_year).is_ok());
        // Tier rows may come in any order.
        let mut shuffled = res_tiers();
        shuffled.reverse();
        assert_eq!(
            TariffBook::new(shuffled).unwrap(),
            TariffBook::new(res_tiers()).unwrap()
        );
        for (months, why) in [
            ("0-3", "`0` is not a month"),
            ("7-", "`` is not a month"),
            ("9-2", "runs backwards"),
        ] {
            let mut bad = weekday_holiday_tou();
            bad[3].months = Some(months.into());
            let msg = rejected(bad);
            assert!(msg.contains(why), "{msg}");
        }
        let mut window = weekday_holiday_tou();
        window[2].end_min = Some(1441);
        assert!(rejected(window).contains("field `end_min`"));
        let mut inverted = weekday_holiday_tou();
        inverted[0].start_min = Some(480);
        inverted[0].end_min = Some(0);
        assert!(rejected(inverted).contains("field `end_min`: 0 is not after start_min 480"));
        let mut two_prices = weekday_holiday_tou();
        two_prices[3].price_e4 = 2500;
        assert!(rejected(two_prices).contains("one component has one price"));
        let two_flats = vec![
            TariffComponent::new("F", "flat", base(), "flat", 1),
            TariffComponent::new("F", "flat", base(), "surcharge", 1),
        ];
        assert!(rejected(two_flats).contains("exactly one row"));
    }

    #[test]
    fn validation_rejects_overlapping_versions() {
        let v = |from, to| TariffComponent {
            effective_to: to,
            ..TariffComponent::new("F", "flat", from, "flat", 7000)
        };
        let msg = rejected(vec![v(d(2024, 1, 1), None), v(d(2025, 1, 1), None)]);
        assert_eq!(
            msg,
            "tariff `F`: version 2024-01-01 (in force until further notice) overlaps version 2025-01-01"
        );
        assert!(
            TariffBook::new(vec![
                v(d(2024, 1, 1), Some(d(2025, 2, 1))),
                v(d(2025, 1, 1), None)
            ])
            .is_err()
        );
        assert!(
            rejected(vec![v(d(2024, 1, 1), Some(d(2024, 1, 1)))])
                .contains("is not after effective_from")
        );
        let mut mixed = vec![v(d(2024, 1, 1), Some(d(2025, 1, 1)))];
        mixed.push(TariffComponent {
            effective_to: None,
            ..mixed[0].clone()
        });
        assert!(rejected(mixed).contains("effective_to"));
    }

    #[test]
    fn version_lookup_finds_the_version_in_force() {
        let v = |from, to, price| TariffComponent {
            effective_to: to,
            ..TariffComponent::new("F", "flat", from, "flat", price)
        };
        // A gap from 2024-07-01 to 2025-01-01.
        let book = TariffBook::new([
            v(d(2024, 1, 1), Some(d(2024, 7, 1)), 1),
            v(d(2025, 1, 1), None, 2),
        ])
        .unwrap();
        assert_eq!(
            book.version("F", d(2024, 6, 30)).unwrap().effective_from(),
            d(2024, 1, 1)
        );
        assert_eq!(
            book.version("F", d(2030, 1, 1)).unwrap().effective_from(),
            d(2025, 1, 1)
        );
        let err = book.version("F", d(2024, 7, 1)).unwrap_err().to_string();
        assert_eq!(
            err,
            "tariff `F` has no version in force on 2024-07-01 (its versions: 2024-01-01 until \
             2024-07-01, 2025-01-01 open-ended)"
        );
        assert!(book.version("F", d(2023, 12, 31)).is_err());
        assert_eq!(
            book.version("G", 0).unwrap_err(),
            TariffError::UnknownTariff("G".into())
        );
        assert_eq!(book.tariffs().collect::<Vec<_>>(), ["F"]);
    }

    #[test]
    fn bad_periods_and_readings_are_errors_not_panics() {
        assert!(BillingPeriod::new(d(2025, 1, 10), d(2025, 2, 2)).is_err());
        assert!(BillingPeriod::new(d(2025, 1, 10), d(2025, 1, 10)).is_err());
        assert!(BillingPeriod::month(2025, 0).is_err());
        let feb = BillingPeriod::month(2024, 2).unwrap();
        assert_eq!((feb.days(), feb.year(), feb.month_number()), (29, 2024, 2));
        let book = TariffBook::new(weekday_holiday_tou()).unwrap();
        let cal = HolidayCalendar::default();
        assert!(book.usage("DAYS", feb, 7, &cal).is_err());
        assert!(book.usage("DAYS", feb, 0, &cal).is_err());
        let mut u = book.usage("DAYS", feb, 15, &cal).unwrap();
        let day = feb.first_day();
        assert!(
            u.add(day, 10, 1.0)
                .unwrap_err()
                .to_string()
                .contains("15-minute")
        );
        assert!(u.add(day, 1440, 1.0).is_err());
        assert!(u.add(day, 0, f64::NAN).is_err());
        assert!(u.add(day, 0, f64::INFINITY).is_err());
        assert!(u.add_day(day, &[1.0; 95]).is_err());
        let mut nan_day = [1.0; 96];
        nan_day[50] = f64::NAN;
        assert!(
            u.add_day(day, &nan_day)
                .unwrap_err()
                .to_string()
                .contains("minute 750")
        );
        assert_eq!(
            u.price(0).unwrap().centi_kwh,
            0,
            "failed adds change nothing"
        );
        u.add_day(day, &[0.5; 96]).unwrap();
        assert_eq!(u.price(0).unwrap().centi_kwh, 4_800);
        u.clear();
        assert_eq!(u.price(0).unwrap().centi_kwh, 0);
        let v = u.version();
        assert!(v.price_slots(1, &[1e300; 96], &[], 15, 0).is_err());
        assert!(v.price_slots(1, &[1.0; 96], &[1.0; 3], 15, 0).is_err());
        assert!(v.price_slots(0, &[1.0; 96], &[], 15, 0).is_err());
        let huge =
            TariffBook::new([TariffComponent::new("H", "flat", base(), "flat", i64::MAX)]).unwrap();
        let err = price_total_result(huge.version("H", base()).unwrap(), 1e6);
        assert!(err.unwrap_err().to_string().contains("overflows"));
    }

    fn price_total_result(v: &TariffVersion, kwh: f64) -> Result<PricedPeriod, TariffError> {
        v.price_slots(1, &[kwh], &[], 1440, 0)
    }

    #[test]
    fn reads_the_tariffs_and_holidays_tables() {
        let mut rows = Rows::for_table("tariffs").unwrap();
        let push = |rows: &mut Rows, r: &TariffComponent| {
            rows.push(vec![
                r.tariff.as_str().into(),
                Value::Null,
                r.kind.as_str().into(),
                "residential".into(),
                Value::Date(r.effective_from as i32),
                Value::Null,
                r.component.as_str().into(),
                r.tier_basis.clone().into(),
                r.tier_upper_kwh.into(),
                Value::Null,
                Value::Null,
                Value::Null,
                Value::Null,
                r.price_e4.into(),
            ])
            .unwrap();
        };
        for r in res_tiers() {
            push(&mut rows, &r);
        }
        let read = TariffComponent::from_rows(&rows).unwrap();
        assert_eq!(read[2].tier_upper_kwh, None);
        assert_eq!(read[0].customer_class.as_deref(), Some("residential"));
        let book = TariffBook::new(read).unwrap();
        assert_eq!(
            book.version("RES_TIER", base()).unwrap().customer_class(),
            Some("residential")
        );
        let mut hol = Rows::for_table("holidays").unwrap();
        hol.push(vec![
            Value::Date(d(2025, 5, 7) as i32),
            "劳动节".into(),
            "holiday".into(),
        ])
        .unwrap();
        hol.push(vec![
            Value::Date(d(2025, 5, 10) as i32),
            Value::Null,
            "workday_swap".into(),
        ])
        .unwrap();
        let cal = HolidayCalendar::from_rows(&hol).unwrap();
        assert_eq!(cal.day_type(d(2025, 5, 10)), DayType::Weekday);
        assert!(HolidayCalendar::from_rows(&rows).is_err());
        hol.push(vec![Value::Date(0), Value::Null, "bridge".into()])
            .unwrap();
        let err = HolidayCalendar::from_rows(&hol).unwrap_err().to_string();
        assert!(err.contains("column `kind`, row 2"), "{err}");
    }

    /// A tiny deterministic generator (Knuth's MMIX LCG), for property loops without a crate.
    struct Lcg(u64);

    impl Lcg {
        fn next(&mut self) -> u64 {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            self.0 >> 33
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
        /// Uniform in [lo, hi).
        fn range(&mut self, lo: f64, hi: f64) -> f64 {
            lo + (hi - lo) * (self.next() as f64 / (1u64 << 31) as f64)
        }
        fn shuffle<T>(&mut self, v: &mut [T]) {
            for i in (1..v.len()).rev() {
                v.swap(i, self.below(i as u64 + 1) as usize);
            }
        }
    }

    fn random_tiers(r: &mut Lcg) -> TariffBook {
        let basis = if r.below(2) == 0 { "monthly" } else { "annual" };
        let n = 1 + r.below(4);
        let mut upper = 0.0;
        let rows = (0..n).map(|i| {
            upper += (1 + r.below(50_000)) as f64 / 100.0;
            let bound = (i + 1 < n).then_some(upper);
            tier(
                "R",
                basis,
                &format!("tier{}", i + 1),
                bound,
                r.below(20_000) as i64,
            )
        });
        TariffBook::new(rows.collect::<Vec<_>>()).unwrap()
    }

    fn amount_of_parts(p: &PricedPeriod) -> i64 {
        (p.parts
            .iter()
            .map(|p| p.centi_kwh * p.price_e4)
            .sum::<i64>()
            + 5_000)
            / 10_000
    }

    #[test]
    fn property_tiered_amount_is_monotone_and_parts_add_up() {
        let mut r = Lcg(42);
        for _ in 0..300 {
            let book = random_tiers(&mut r);
            let v = book.version("R", base()).unwrap();
            let before = r.below(2_000_000) as i64;
            let mut last = 0;
            let mut kwh = 0.0;
            for _ in 0..40 {
                kwh += r.range(0.0, 300.0);
                let p = price_total(v, kwh, before);
                assert!(
                    p.amount_fen >= last,
                    "{kwh} kWh after {before}: {} < {last}",
                    p.amount_fen
                );
                last = p.amount_fen;
                assert_eq!(p.centi_kwh, (kwh * 100.0).round() as i64);
                assert_eq!(
                    p.centi_kwh,
                    p.parts.iter().map(|p| p.centi_kwh).sum::<i64>()
                );
                assert_eq!(p.amount_fen, amount_of_parts(&p));
            }
        }
    }

    #[test]
    fn property_flat_and_tiered_bill_the_rounded_total_of_any_slots() {
        let mut r = Lcg(7);
        let flat =
            TariffBook::new([TariffComponent::new("F", "flat", base(), "flat", 7300)]).unwrap();
        for _ in 0..500 {
            let tiers = random_tiers(&mut r);
            let slots: Vec<f64> = (0..96).map(|_| r.range(-1.0, 3.0)).collect();
            let total: f64 = slots.iter().sum();
            let expected = ((total * 100.0).round() as i64).max(0);
            for v in [
                flat.version("F", base()).unwrap(),
                tiers.version("R", base()).unwrap(),
            ] {
                let p = v.price_slots(6, &slots, &[], 15, 0).unwrap();
                assert_eq!(p.centi_kwh, expected);
                assert_eq!(
                    p.centi_kwh,
                    p.parts.iter().map(|p| p.centi_kwh).sum::<i64>()
                );
                assert_eq!(p.amount_fen, amount_of_parts(&p));
            }
        }
    }

    /// Readings of a random customer-month: `(day, minute, kWh)` in time order.
    fn random_month(
        r: &mut Lcg,
        period: BillingPeriod,
        interval: u32,
        dyadic: bool,
    ) -> Vec<(i64, u32, f64)> {
        let mut out = Vec::new();
        for day in period.first_day()..period.end_day() {
            for minute in (0..MINUTES_PER_DAY).step_by(interval as usize) {
                let kwh = if dyadic {
                    (r.below(2048) as f64 - 256.0) / 256.0
                } else {
                    (r.range(-0.2, 2.0) * 1000.0).round() / 1000.0
                };
                out.push((day, minute, kwh));
            }
        }
        out
    }

    #[test]
    fn property_tou_is_independent_of_reading_order_and_matches_a_naive_sum() {
        let mut r = Lcg(2025);
        let mut rows = weekday_holiday_tou();
        rows.extend(business_tou("COM_TOU", [13650, 11380, 7160, 3120]));
        let book = TariffBook::new(rows).unwrap();
        let cal = HolidayCalendar::new([d(2025, 7, 9)], [d(2025, 7, 12)]).unwrap();
        for round in 0..24 {
            let tariff = if round % 2 == 0 { "DAYS" } else { "COM_TOU" };
            let period = BillingPeriod::month(2025, 1 + round / 2).unwrap();
            let v = book.version(tariff, period.first_day()).unwrap();
            // Values on a 1/256 kWh grid add exactly in f64, so order cannot matter at all.
            let mut readings = random_month(&mut r, period, 15, true);
            let in_order = book
                .price_readings(tariff, period, 15, &cal, readings.clone(), 0)
                .unwrap();
            let mut naive: BTreeMap<&str, f64> = BTreeMap::new();
            for &(day, minute, kwh) in &readings {
                let c = v
                    .component_at(period.month_number(), cal.day_type(day), minute)
                    .unwrap();
                *naive.entry(c).or_default() += kwh;
            }
            for p in &in_order.parts {
                let kwh = naive.get(p.component.as_str()).copied().unwrap_or(0.0);
                assert_eq!(
                    p.centi_kwh,
                    ((kwh * 100.0).round() as i64).max(0),
                    "{}",
                    p.component
                );
            }
            assert_eq!(in_order.amount_fen, amount_of_parts(&in_order));
            readings.reverse();
            let reversed = book
                .price_readings(tariff, period, 15, &cal, readings.clone(), 0)
                .unwrap();
            r.shuffle(&mut readings);
            let shuffled = book
                .price_readings(tariff, period, 15, &cal, readings.clone(), 0)
                .unwrap();
            // Split into two halves, summed apart, then added slot by slot.
            let (a, b) = readings.split_at(readings.len() / 3);
            let mut ua = book.usage(tariff, period, 15, &cal).unwrap();
            let mut ub = book.usage(tariff, period, 15, &cal).unwrap();
            a.iter().for_each(|&(d, m, k)| ua.add(d, m, k).unwrap());
            b.iter().for_each(|&(d, m, k)| ub.add(d, m, k).unwrap());
            let add =
                |x: &[f64], y: &[f64]| x.iter().zip(y).map(|(x, y)| x + y).collect::<Vec<_>>();
            let split = v
                .price_slots(
                    period.month_number(),
                    &add(&ua.weekday, &ub.weekday),
                    &add(&ua.holiday, &ub.holiday),
                    15,
                    0,
                )
                .unwrap();
            assert_eq!(in_order, reversed);
            assert_eq!(in_order, shuffled);
            assert_eq!(in_order, split);
        }
    }

    #[test]
    fn property_decimal_readings_move_at_most_one_centi_kwh_with_order() {
        let mut r = Lcg(99);
        let book = TariffBook::new(weekday_holiday_tou()).unwrap();
        let cal = HolidayCalendar::default();
        for month in 1..=12 {
            let period = BillingPeriod::month(2024, month).unwrap();
            let mut readings = random_month(&mut r, period, 15, false);
            let a = book
                .price_readings("DAYS", period, 15, &cal, readings.clone(), 0)
                .unwrap();
            r.shuffle(&mut readings);
            let b = book
                .price_readings("DAYS", period, 15, &cal, readings, 0)
                .unwrap();
            for (x, y) in a.parts.iter().zip(&b.parts) {
                assert!((x.centi_kwh - y.centi_kwh).abs() <= 1, "{x:?} {y:?}");
            }
        }
    }

    /// The reference bills sum one slot array per month in day order and price it with no day
    /// split; streaming the same readings in time order must give the same bill, bit for bit.
    #[test]
    fn streaming_in_time_order_reproduces_a_single_array_reference() {
        let mut r = Lcg(5);
        let mut rows = res_tiers();
        rows.extend(business_tou("COM_TOU", [13650, 11380, 7160, 3120]));
        let book = TariffBook::new(rows).unwrap();
        let cal = HolidayCalendar::new([d(2025, 8, 1)], []).unwrap();
        for tariff in ["RES_TIER", "COM_TOU"] {
            for month in [2, 8] {
                let period = BillingPeriod::month(2025, month).unwrap();
                let readings = random_month(&mut r, period, 15, false);
                let mut slots = vec![0.0; 96];
                for &(_, minute, kwh) in &readings {
                    slots[minute as usize / 15] += kwh;
                }
                let v = book.version(tariff, period.first_day()).unwrap();
                let reference = v.price_slots(month, &slots, &[], 15, 0).unwrap();
                let streamed = book
                    .price_readings(tariff, period, 15, &cal, readings, 0)
                    .unwrap();
                assert_eq!(streamed, reference);
            }
        }
    }

    /// 200 customers × 12 months of quarter hours (7 million readings) through the streaming
    /// API: in a debug build this is a smoke test that nothing is quadratic.
    #[test]
    fn prices_a_year_of_quarter_hours_for_many_customers() {
        let book = TariffBook::new(business_tou("COM_TOU", [13650, 11380, 7160, 3120])).unwrap();
        let cal = HolidayCalendar::default();
        let mut total = 0;
        for month in 1..=12 {
            let period = BillingPeriod::month(2025, month).unwrap();
            let mut usage = book.usage("COM_TOU", period, 15, &cal).unwrap();
            let day_kwh: Vec<f64> = (0..96).map(|s| 0.1 + s as f64 / 960.0).collect();
            for _customer in 0..200 {
                usage.clear();
                for day in period.first_day()..period.end_day() {
                    usage.add_day(day, &day_kwh).unwrap();
                }
                total += usage.price(0).unwrap().amount_fen;
            }
        }
        assert!(total > 0);
    }
}
