//! The analyses behind the dashboard: overview KPIs, line loss by area, theft suspects with
//! their evidence, data quality, channels and satisfaction. Each runs the same job the CLI
//! runs, keeps its result for the lake version it read (a new import makes a new version), and
//! hands a scoped caller only the areas and meters inside their scope.

use crate::{ApiError, Shared, caller, require, scope_clause};
use axum::extract::{Path as UrlPath, Query as UrlQuery, State};
use axum::http::{HeaderMap, StatusCode};
use gridmark_jobs::query::Query;
use gridmark_lake::Lake;
use gridmark_security::{Permission, User};
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// Results by (analysis and parameters), for the lake version they were computed on.
#[derive(Default)]
pub(crate) struct Cache {
    entries: HashMap<String, (u64, Arc<Value>)>,
}

/// The analyses `GET /api/analyses/{name}` runs, and the permission each needs.
pub const ANALYSES: &[(&str, Permission, &str)] = &[
    (
        "lineloss",
        Permission::ReadMetering,
        "line loss per area and period with abnormal areas and the meters that explain them (period=day|month)",
    ),
    (
        "suspects",
        Permission::ReadMetering,
        "theft suspects ranked with their evidence (top=N)",
    ),
    (
        "quality",
        Permission::ReadMetering,
        "daily data quality: expected, read, estimated, edited and missing intervals",
    ),
    (
        "lifecycle",
        Permission::ReadMarketing,
        "product life cycles: adoption curves fitted per product, stage and forecast",
    ),
    (
        "influence",
        Permission::ReadMarketing,
        "customer influence in the relation graph, leaders per region and segment (top=N)",
    ),
    (
        "channels",
        Permission::ReadService,
        "service channels: volumes, trends, CSAT, NPS, mix",
    ),
    (
        "satisfaction",
        Permission::ReadService,
        "CSAT and NPS with intervals by channel, region, class and staff",
    ),
];

fn io(e: impl std::fmt::Display) -> ApiError {
    ApiError::internal(e)
}

/// Runs `compute` unless the cache holds `key` for the lake's current version.
async fn cached(
    s: &Shared,
    key: String,
    compute: impl FnOnce(&Lake) -> Result<Value, ApiError> + Send + 'static,
) -> Result<Arc<Value>, ApiError> {
    let data = s.data.clone();
    let version = Lake::open(&data)
        .and_then(|l| l.snapshot())
        .map_err(io)?
        .version;
    if let Some((v, hit)) = s.cache.lock().expect("not poisoned").entries.get(&key)
        && *v == version
    {
        return Ok(hit.clone());
    }
    let value = tokio::task::spawn_blocking(move || {
        let lake = Lake::open(&data).map_err(io)?;
        compute(&lake)
    })
    .await
    .map_err(io)??;
    let value = Arc::new(value);
    let mut c = s.cache.lock().expect("not poisoned");
    if c.entries.len() > 256 {
        c.entries.clear();
    }
    c.entries.insert(key, (version, value.clone()));
    Ok(value)
}

/// The areas a scoped user sees (their areas, and the areas of their regions); None: all.
fn visible_areas(lake: &Lake, user: &User) -> Result<Option<HashSet<String>>, ApiError> {
    if user.scope.is_empty() {
        return Ok(None);
    }
    let mut areas: HashSet<String> = user.scope.iter().cloned().collect();
    if lake.snapshot().map_err(io)?.rows("areas") > 0 {
        let q = Query::open(lake).map_err(io)?;
        for b in q.collect("SELECT area_id, region FROM areas").map_err(io)? {
            let ids = gridmark_jobs::query::strings(&b, "area_id").map_err(io)?;
            let regions = gridmark_jobs::query::strings(&b, "region").map_err(io)?;
            for (id, region) in ids.into_iter().zip(regions) {
                if let (Some(id), Some(r)) = (id, region)
                    && user.scope.contains(&r)
                {
                    areas.insert(id);
                }
            }
        }
    }
    Ok(Some(areas))
}

/// Keeps the elements of `list` whose `field` is a visible area.
fn keep_areas(v: &mut Value, list: &str, field: &str, areas: &HashSet<String>) {
    if let Some(items) = v.get_mut(list).and_then(Value::as_array_mut) {
        items.retain(|x| x[field].as_str().is_some_and(|a| areas.contains(a)));
    }
}

/// The `top=N` parameter (1…1000), or `default`.
fn top(q: &HashMap<String, String>, default: usize) -> Result<usize, ApiError> {
    match q.get("top") {
        None => Ok(default),
        Some(t) => t
            .parse()
            .ok()
            .filter(|n| (1..=1000).contains(n))
            .ok_or_else(|| ApiError::bad(format!("top={t}: 1…1000"))),
    }
}

fn unscoped_only(user: &User, what: &str) -> Result<(), ApiError> {
    if user.scope.is_empty() {
        Ok(())
    } else {
        Err(ApiError::forbidden(format!(
            "{what} is computed over every region; {} is limited to {}",
            user.name,
            user.scope.join(", ")
        )))
    }
}

pub(crate) async fn analysis(
    State(s): State<Shared>,
    headers: HeaderMap,
    UrlPath(name): UrlPath<String>,
    UrlQuery(q): UrlQuery<HashMap<String, String>>,
) -> Result<axum::Json<Value>, ApiError> {
    let u = caller(&s, &headers)?;
    let Some((_, permission, _)) = ANALYSES.iter().find(|(n, _, _)| *n == name) else {
        return Err(ApiError(
            StatusCode::NOT_FOUND,
            format!(
                "no analysis {name:?}; there are {}",
                ANALYSES.iter().map(|a| a.0).collect::<Vec<_>>().join(", ")
            ),
        ));
    };
    require(&u, *permission)?;
    for k in q.keys() {
        if !matches!(
            (name.as_str(), k.as_str()),
            ("lineloss", "period") | ("suspects", "top")
        ) {
            return Err(ApiError::bad(format!(
                "{k}: {name} takes no such parameter"
            )));
        }
    }
    let value: Value = match name.as_str() {
        "lineloss" => {
            let period = match q.get("period").map(String::as_str).unwrap_or("month") {
                "day" => gridmark_jobs::lineloss::Period::Day,
                "month" => gridmark_jobs::lineloss::Period::Month,
                p => return Err(ApiError::bad(format!("period={p}: day or month"))),
            };
            let key = format!("lineloss:{period:?}");
            let all = cached(&s, key, move |lake| {
                let opts = gridmark_jobs::lineloss::LossOptions {
                    period,
                    ..Default::default()
                };
                let r = gridmark_jobs::lineloss::run(lake, &opts).map_err(io)?;
                serde_json::to_value(r).map_err(io)
            })
            .await?;
            let mut v = (*all).clone();
            if let Some(areas) = scoped_areas(&s, &u).await? {
                keep_areas(&mut v, "rows", "area_id", &areas);
                keep_areas(&mut v, "abnormal", "area_id", &areas);
            }
            v
        }
        "suspects" => {
            let top = top(&q, 50)?;
            let all = cached(&s, format!("suspects:{top}"), move |lake| {
                let r = gridmark_jobs::suspects::score(lake, top).map_err(io)?;
                let mut v = serde_json::to_value(&r).map_err(io)?;
                // The charts pair each suspect with its daily series: keep them beside it.
                if let Some(list) = v["suspects"].as_array_mut() {
                    for (i, sus) in list.iter_mut().enumerate() {
                        if let Some((x, season)) = r.charts.get(i) {
                            sus["daily_kwh"] = json!(x);
                            sus["usual_kwh"] = json!(season);
                        }
                    }
                }
                v.as_object_mut().map(|o| o.remove("charts"));
                Ok(v)
            })
            .await?;
            let mut v = (*all).clone();
            if let Some(areas) = scoped_areas(&s, &u).await? {
                keep_areas(&mut v, "suspects", "area_id", &areas);
            }
            v
        }
        "quality" => {
            let clause = gridmark_core::catalog::table("quality_daily")
                .map_err(io)
                .and_then(|t| scope_clause(t, &u))?;
            let key = format!("quality:{}", u.scope.join(","));
            (*cached(&s, key, move |lake| quality(lake, clause)).await?).clone()
        }
        "lifecycle" => {
            unscoped_only(&u, "the product life cycle")?;
            (*cached(&s, "lifecycle".into(), |lake| {
                let q = Query::open(lake).map_err(io)?;
                let r = gridmark_jobs::lifecycle::analyze(&q, 12).map_err(io)?;
                serde_json::to_value(r).map_err(io)
            })
            .await?)
                .clone()
        }
        "influence" => {
            unscoped_only(&u, "the influence ranking")?;
            let top = top(&q, 10)?;
            (*cached(&s, format!("influence:{top}"), move |lake| {
                let q = Query::open(lake).map_err(io)?;
                let r = gridmark_jobs::influence::analyze(&q, top, &mut |_| {}).map_err(io)?;
                serde_json::to_value(r).map_err(io)
            })
            .await?)
                .clone()
        }
        "channels" => {
            unscoped_only(&u, "the channel analysis")?;
            (*cached(&s, "channels".into(), |lake| {
                let q = Query::open(lake).map_err(io)?;
                let r = gridmark_jobs::channels::analyze(lake, &q).map_err(io)?;
                serde_json::to_value(r).map_err(io)
            })
            .await?)
                .clone()
        }
        _ => {
            unscoped_only(&u, "the satisfaction analysis")?;
            (*cached(&s, "satisfaction".into(), |lake| {
                let q = Query::open(lake).map_err(io)?;
                let opts = gridmark_jobs::satisfaction::SatisfactionOptions::default();
                let r = gridmark_jobs::satisfaction::analyze(lake, &q, &opts).map_err(io)?;
                serde_json::to_value(r).map_err(io)
            })
            .await?)
                .clone()
        }
    };
    Ok(axum::Json(value))
}

async fn scoped_areas(s: &Shared, u: &User) -> Result<Option<HashSet<String>>, ApiError> {
    if u.scope.is_empty() {
        return Ok(None);
    }
    let data = s.data.clone();
    let u = u.clone();
    tokio::task::spawn_blocking(move || visible_areas(&Lake::open(&data).map_err(io)?, &u))
        .await
        .map_err(io)?
}

fn quality(lake: &Lake, clause: Option<String>) -> Result<Value, ApiError> {
    if lake.snapshot().map_err(io)?.rows("quality_daily") == 0 {
        return Ok(
            json!({"days": [], "note": "no quality_daily rows yet: run `gridmark vee run`"}),
        );
    }
    let where_ = clause.map(|c| format!(" WHERE {c}")).unwrap_or_default();
    let q = Query::open(lake).map_err(io)?;
    let sql = format!(
        "SELECT CAST(day AS VARCHAR) AS day, SUM(expected) AS expected, SUM(read) AS read, \
         SUM(validated) AS validated, SUM(estimated) AS estimated, SUM(edited) AS edited, \
         SUM(missing) AS missing, COUNT(*) AS meters, \
         SUM(CASE WHEN sufficient THEN 1 ELSE 0 END) AS sufficient_meters \
         FROM quality_daily{where_} GROUP BY day ORDER BY day"
    );
    let mut days = Vec::new();
    for b in q.collect(&sql).map_err(io)? {
        days.extend(
            gridmark_sql::batch_to_json_rows(&b)
                .map_err(io)?
                .into_iter()
                .map(Value::Object),
        );
    }
    Ok(json!({ "days": days }))
}

/// Runs one scoped aggregate and returns its rows.
fn rows(q: &Query, sql: &str) -> Result<Vec<Value>, ApiError> {
    let mut out = Vec::new();
    for b in q.collect(sql).map_err(io)? {
        out.extend(
            gridmark_sql::batch_to_json_rows(&b)
                .map_err(io)?
                .into_iter()
                .map(Value::Object),
        );
    }
    Ok(out)
}

fn where_scope(table: &str, user: &User) -> Result<String, ApiError> {
    let t = gridmark_core::catalog::table(table).map_err(io)?;
    Ok(scope_clause(t, user)?
        .map(|c| format!(" WHERE {c}"))
        .unwrap_or_default())
}

/// The overview KPIs the caller's role may see: sales by month, load by day, line loss,
/// customers, open alerts, the latest forecast.
pub(crate) async fn overview(
    State(s): State<Shared>,
    headers: HeaderMap,
) -> Result<axum::Json<Value>, ApiError> {
    let u = caller(&s, &headers)?;
    let key = format!("overview:{}:{}", u.role.name(), u.scope.join(","));
    let user = u.clone();
    let mut v = (*cached(&s, key, move |lake| overview_of(lake, &user)).await?).clone();
    if u.may(Permission::ReadRisk) {
        let data = s.data.clone();
        let counts = tokio::task::spawn_blocking(move || {
            let log = gridmark_risk::alerts::AlertLog::open(&data).map_err(io)?;
            let mut by: HashMap<String, usize> = HashMap::new();
            for a in log.alerts() {
                *by.entry(a.status.name().to_string()).or_default() += 1;
            }
            log.close();
            Ok::<_, ApiError>(by)
        })
        .await
        .map_err(io)??;
        v["alerts"] = json!(counts);
    }
    Ok(axum::Json(v))
}

fn overview_of(lake: &Lake, u: &User) -> Result<Value, ApiError> {
    let snap = lake.snapshot().map_err(io)?;
    let has = |t: &str| snap.rows(t) > 0;
    let mut v = json!({"version": snap.version});
    if !(has("customers") || has("readings") || has("bills")) {
        return Ok(v);
    }
    let q = Query::open(lake).map_err(io)?;
    let metering = u.may(Permission::ReadMetering);
    let marketing = u.may(Permission::ReadMarketing);
    if has("customers") && (metering || marketing || u.may(Permission::ReadService)) {
        let r = rows(
            &q,
            &format!(
                "SELECT COUNT(*) AS customers FROM customers{}",
                where_scope("customers", u)?
            ),
        )?;
        v["customers"] = r.first().map_or(json!(0), |r| r["customers"].clone());
    }
    if marketing && has("bills") {
        v["sales_by_month"] = json!(rows(
            &q,
            &format!(
                "SELECT period, SUM(kwh) AS kwh, SUM(amount_fen) / 100.0 AS amount_yuan, \
                 COUNT(*) AS bills FROM bills{} GROUP BY period ORDER BY period",
                where_scope("bills", u)?
            )
        )?);
    }
    if metering && has("readings") {
        v["load_by_day"] = json!(rows(
            &q,
            &format!(
                "SELECT CAST(day AS VARCHAR) AS day, SUM(kwh) AS kwh, \
                 COUNT(DISTINCT meter_id) AS meters FROM readings_local{} GROUP BY 1 ORDER BY 1",
                where_scope("readings", u)?
            )
        )?);
    }
    if metering && has("area_supply") && has("readings") {
        let r = gridmark_jobs::lineloss::run(
            lake,
            &gridmark_jobs::lineloss::LossOptions {
                period: gridmark_jobs::lineloss::Period::Month,
                ..Default::default()
            },
        );
        if let Ok(r) = r {
            let areas = visible_areas(lake, u)?;
            let mut by: std::collections::BTreeMap<String, (f64, f64)> = Default::default();
            for row in r
                .rows
                .iter()
                .filter(|x| areas.as_ref().is_none_or(|a| a.contains(&x.area_id)))
            {
                let e = by.entry(row.period.clone()).or_default();
                e.0 += row.supply_kwh;
                e.1 += row.loss_kwh;
            }
            v["line_loss_by_period"] =
                json!(
                by.iter()
                    .map(|(p, (sup, loss))| json!({"period": p, "supply_kwh": sup, "loss_kwh": loss,
                        "loss_rate": if *sup > 0.0 { loss / sup } else { 0.0 }}))
                    .collect::<Vec<_>>()
            );
            v["abnormal_areas"] = json!(
                r.abnormal
                    .iter()
                    .filter(|x| areas.as_ref().is_none_or(|a| a.contains(&x.area_id)))
                    .count()
            );
        }
    }
    if (metering || marketing) && has("forecasts") && u.scope.is_empty() {
        v["forecast"] = json!(rows(
            &q,
            "SELECT CAST(day AS VARCHAR) AS day, kwh, lo80, hi80, lo95, hi95, actual FROM forecasts \
             WHERE level = 'total' AND run_id = (SELECT MAX(run_id) FROM forecasts WHERE level = 'total') \
             ORDER BY day"
        )?);
    }
    Ok(v)
}

/// The subjects a scoped user may see alerts about: their regions and areas, and the meters
/// and customers in them. None: everything.
pub(crate) fn visible_subjects(
    lake: &Lake,
    user: &User,
) -> Result<Option<HashSet<String>>, ApiError> {
    let Some(mut seen) = visible_areas(lake, user)? else {
        return Ok(None);
    };
    let snap = lake.snapshot().map_err(io)?;
    let q = Query::open(lake).map_err(io)?;
    for (table, key) in [("customers", "customer_id"), ("meters", "meter_id")] {
        if snap.rows(table) == 0 {
            continue;
        }
        let sql = format!("SELECT {key} FROM {table}{}", where_scope(table, user)?);
        for b in q.collect(&sql).map_err(io)? {
            seen.extend(
                gridmark_jobs::query::strings(&b, key)
                    .map_err(io)?
                    .into_iter()
                    .flatten(),
            );
        }
    }
    Ok(Some(seen))
}
