//! Named views: the figures everyone should compute the same way.
//!
//! Local days and months are in the lake's zone. For a zone whose offset has not changed since
//! 2000 (Asia/Shanghai, …) local time is `ts` plus a constant, which DataFusion computes as fast
//! as any column arithmetic; zones with daylight saving go through `to_local_time`.

use datafusion::prelude::SessionContext;

/// (name, description, SQL with `{local}` and `{day}` standing for the local wall time and the
/// local calendar day of `ts`).
pub static VIEWS: &[(&str, &str, &str)] = &[
    (
        "readings_local",
        "readings with local time, day and month (YYYY-MM) in the lake's zone",
        "SELECT r.*, {local} AS local_ts, {day} AS day, to_char({local}, '%Y-%m') AS month FROM readings r",
    ),
    (
        "daily_energy",
        "kWh per meter per local day",
        "SELECT meter_id, day, sum(kwh) AS kwh, count(*) AS readings FROM readings_local GROUP BY meter_id, day",
    ),
    (
        "validated_local",
        "readings_validated with local time and day in the lake's zone",
        "SELECT r.*, {local} AS local_ts, {day} AS day FROM readings_validated r",
    ),
    (
        "daily_energy_validated",
        "kWh per meter per local day from readings_validated, with the estimated intervals counted",
        "SELECT meter_id, {day} AS day, sum(kwh) AS kwh, count(*) AS readings, \
         sum(CASE WHEN quality = 'estimated' THEN 1 ELSE 0 END) AS estimated FROM readings_validated GROUP BY 1, 2",
    ),
    (
        "monthly_energy",
        "kWh per meter per local month (YYYY-MM)",
        "SELECT meter_id, to_char(m, '%Y-%m') AS month, kwh, readings FROM \
         (SELECT meter_id, date_trunc('month', local_ts) AS m, sum(kwh) AS kwh, count(*) AS readings FROM readings_local GROUP BY 1, 2)",
    ),
    (
        "meter_dims",
        "each meter with its customer, area, region, class, industry and tariff",
        "SELECT m.meter_id, m.customer_id, coalesce(m.area_id, c.area_id) AS area_id, \
         coalesce(c.region, a.region) AS region, c.customer_class, c.industry, c.tariff \
         FROM meters m LEFT JOIN customers c ON m.customer_id = c.customer_id \
         LEFT JOIN areas a ON coalesce(m.area_id, c.area_id) = a.area_id",
    ),
    (
        "area_daily_energy",
        "kWh of the customers' meters per transformer area per local day",
        "SELECT d.area_id, r.day, sum(r.kwh) AS kwh FROM readings_local r JOIN meter_dims d ON r.meter_id = d.meter_id GROUP BY d.area_id, r.day",
    ),
    (
        "area_daily_supply",
        "kWh through each area's supply meter per local day",
        "SELECT area_id, {day} AS day, sum(kwh) AS supply_kwh FROM area_supply GROUP BY 1, 2",
    ),
    (
        "area_daily_loss",
        "transformer-area line loss per day: supply − customers, and the loss ratio",
        "SELECT s.area_id, s.day, s.supply_kwh, e.kwh AS billed_kwh, s.supply_kwh - e.kwh AS loss_kwh, \
         (s.supply_kwh - e.kwh) / nullif(s.supply_kwh, 0) AS loss_ratio \
         FROM area_daily_supply s JOIN area_daily_energy e ON s.area_id = e.area_id AND s.day = e.day",
    ),
    (
        "region_monthly_energy",
        "kWh per region × customer class × industry × tariff × month, for cubes and rollups",
        "SELECT region, customer_class, industry, tariff, to_char(m, '%Y-%m') AS month, kwh FROM \
         (SELECT d.region, d.customer_class, d.industry, d.tariff, date_trunc('month', r.local_ts) AS m, sum(r.kwh) AS kwh \
          FROM readings_local r JOIN meter_dims d ON r.meter_id = d.meter_id GROUP BY 1, 2, 3, 4, 5)",
    ),
];

/// SQL for the local wall time and the local day of `ts` in `tz`.
///
/// With a fixed offset both are integer arithmetic on the stored milliseconds (several times
/// faster than timestamp arithmetic in DataFusion); the day count is shifted by 100 000 days
/// before dividing so that truncating division floors for instants back to the year 1696.
pub fn local_time_sql(tz: &str) -> (String, String) {
    match fixed_offset_s(tz) {
        Some(off) => {
            let ms = off as i64 * 1000;
            (
                format!(
                    "arrow_cast(arrow_cast(ts, 'Int64') + {ms}, 'Timestamp(Millisecond, None)')"
                ),
                format!(
                    "arrow_cast(CAST((arrow_cast(ts, 'Int64') + {}) / 86400000 - 100000 AS INT), 'Date32')",
                    ms + 100_000 * 86_400_000
                ),
            )
        }
        None => {
            let local =
                format!("to_local_time(arrow_cast(ts, 'Timestamp(Millisecond, Some(\"{tz}\"))'))");
            let day = format!("CAST({local} AS DATE)");
            (local, day)
        }
    }
}

/// The zone's UTC offset if it has been the same since 2000 and stays so in its rules.
fn fixed_offset_s(tz: &str) -> Option<i32> {
    let zone = gridmark_core::tz::parse_tz(tz).ok()?;
    let year_ms = 365 * 86_400_000_i64;
    let start = 946_684_800_000_i64; // 2000-01-01
    let first = gridmark_core::tz::offset_at(zone, start);
    // Twice a month for a century catches every daylight-saving rule.
    (0..100 * 24)
        .map(|i| start + i * year_ms / 24)
        .all(|t| gridmark_core::tz::offset_at(zone, t) == first)
        .then_some(first)
}

pub(crate) async fn register(ctx: &SessionContext, tz: &str) -> Result<(), crate::SqlError> {
    let (local, day) = local_time_sql(tz);
    for (name, _, sql) in VIEWS {
        let df = ctx
            .sql(&sql.replace("{local}", &local).replace("{day}", &day))
            .await?;
        ctx.register_table(*name, df.into_view())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_offset_zones_use_arithmetic_and_dst_zones_the_zone_rules() {
        assert_eq!(fixed_offset_s("Asia/Shanghai"), Some(8 * 3600));
        assert_eq!(fixed_offset_s("UTC"), Some(0));
        assert_eq!(fixed_offset_s("Europe/London"), None);
        assert!(local_time_sql("Europe/London").0.contains("to_local_time"));
        assert!(local_time_sql("Asia/Shanghai").0.contains("28800000"));
    }
}
