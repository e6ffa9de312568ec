//! Named views: the figures everyone should compute the same way.

use datafusion::prelude::SessionContext;

/// (name, description, SQL with `{tz}` for the lake's zone).
pub static VIEWS: &[(&str, &str, &str)] = &[
    (
        "readings_local",
        "readings with the local day and month of the lake's zone",
        "SELECT r.*, CAST(to_local_time(arrow_cast(r.ts, 'Timestamp(Millisecond, Some(\"{tz}\"))')) AS DATE) AS day, \
         to_char(to_local_time(arrow_cast(r.ts, 'Timestamp(Millisecond, Some(\"{tz}\"))')), '%Y-%m') AS month FROM readings r",
    ),
    (
        "daily_energy",
        "kWh per meter per local day",
        "SELECT meter_id, day, sum(kwh) AS kwh, count(*) AS readings FROM readings_local GROUP BY meter_id, day",
    ),
    (
        "monthly_energy",
        "kWh per meter per local month (YYYY-MM)",
        "SELECT meter_id, month, sum(kwh) AS kwh, count(*) AS readings FROM readings_local GROUP BY meter_id, month",
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
        "SELECT d.area_id, r.day, sum(r.kwh) AS kwh FROM readings_local r JOIN meter_dims d USING (meter_id) GROUP BY d.area_id, r.day",
    ),
    (
        "area_daily_supply",
        "kWh through each area's supply meter per local day",
        "SELECT area_id, CAST(to_local_time(arrow_cast(ts, 'Timestamp(Millisecond, Some(\"{tz}\"))')) AS DATE) AS day, sum(kwh) AS supply_kwh \
         FROM area_supply GROUP BY 1, 2",
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
        "SELECT d.region, d.customer_class, d.industry, d.tariff, r.month, sum(r.kwh) AS kwh \
         FROM readings_local r JOIN meter_dims d USING (meter_id) GROUP BY 1, 2, 3, 4, 5",
    ),
];

pub(crate) async fn register(ctx: &SessionContext, tz: &str) -> Result<(), crate::SqlError> {
    for (name, _, sql) in VIEWS {
        let df = ctx.sql(&sql.replace("{tz}", tz)).await?;
        ctx.register_table(*name, df.into_view())?;
    }
    Ok(())
}
