//! The HTTP API: login and tokens, every catalog table (paginated, filtered, scoped to the
//! user's regions and areas, personal fields masked unless the role may see them, JSON or
//! CSV), risk alerts and the register, and the ledger's verification — each endpoint checked
//! against the caller's role. The OpenAPI document is generated from the same route table the
//! router is built from, so the two cannot drift.

mod analyses;
mod dashboard;
mod ingest;
mod tls;

pub use tls::Peer;

pub use analyses::ANALYSES;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Path as UrlPath, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use datafusion::arrow::record_batch::RecordBatch;
use gridmark_core::Clock;
use gridmark_lake::keyring::{Keyring, MasterKey};
use gridmark_security::guard::{AlertFile, Guard, GuardConfig, SecurityAlert};
use gridmark_security::{Permission, Store, User};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};

/// Largest request body accepted.
pub const MAX_BODY: usize = 1 << 20;
/// Most rows one page returns.
pub const MAX_LIMIT: usize = 10_000;

pub struct AppState {
    pub data: PathBuf,
    pub clock: Arc<dyn Clock>,
    guard: Mutex<Guard>,
    cache: Mutex<analyses::Cache>,
    /// users.json as last read, with the modification time and length it had.
    users: RwLock<Option<(std::time::SystemTime, u64, Arc<Store>)>>,
    master: Option<MasterKey>,
    /// A DataFusion session over the lake version it was opened on: registering the tables
    /// costs more than most queries the API runs, and a session serves many requests at once.
    session: tokio::sync::Mutex<Option<(u64, datafusion::prelude::SessionContext)>>,
    /// The keyring as last opened, with the keyring file's modification time.
    keyring: RwLock<Option<(std::time::SystemTime, Arc<Keyring>)>>,
}

impl AppState {
    pub fn new(data: PathBuf, clock: Arc<dyn Clock>, guard: GuardConfig) -> AppState {
        AppState {
            data,
            clock,
            guard: Mutex::new(Guard::new(guard)),
            cache: Mutex::default(),
            users: RwLock::new(None),
            master: None,
            session: tokio::sync::Mutex::new(None),
            keyring: RwLock::new(None),
        }
    }

    /// A session over the lake's latest version, opened again only when a commit made a new
    /// one.
    async fn session(&self) -> Result<datafusion::prelude::SessionContext, ApiError> {
        let lake = gridmark_lake::Lake::open(&self.data).map_err(ApiError::internal)?;
        let snap = lake.snapshot().map_err(ApiError::internal)?;
        let mut held = self.session.lock().await;
        if let Some((v, ctx)) = held.as_ref()
            && *v == snap.version
        {
            return Ok(ctx.clone());
        }
        let ctx = gridmark_sql::session_at(&lake, &snap)
            .await
            .map_err(ApiError::internal)?;
        *held = Some((snap.version, ctx.clone()));
        Ok(ctx)
    }

    /// The master key that opens the lake's keyring, when the lake encrypts personal fields.
    pub fn with_master_key(mut self, master: Option<MasterKey>) -> AppState {
        self.master = master;
        self
    }

    /// The keyring, re-opened when `gridmark keys rotate` replaced it; None when the lake does
    /// not encrypt or no master key was given. A keyring the key no longer opens (the master
    /// was rotated) keeps the keys already open, so the server serves on until restarted.
    fn keyring(&self) -> Option<Arc<Keyring>> {
        let master = self.master.as_ref()?;
        let stamp = std::fs::metadata(Keyring::path(&self.data))
            .and_then(|m| m.modified())
            .ok()?;
        if let Some((t, ring)) = self.keyring.read().expect("not poisoned").as_ref()
            && *t == stamp
        {
            return Some(ring.clone());
        }
        match Keyring::open(&self.data, master) {
            Ok(ring) => {
                let ring = Arc::new(ring);
                *self.keyring.write().expect("not poisoned") = Some((stamp, ring.clone()));
                Some(ring)
            }
            Err(_) => self
                .keyring
                .read()
                .expect("not poisoned")
                .as_ref()
                .map(|(_, r)| r.clone()),
        }
    }

    /// The users store, re-read only when the file changed: `gridmark users …` rewrites it
    /// atomically, so a changed modification time or length is a new store.
    fn store(&self) -> Result<Arc<Store>, ApiError> {
        let path = self.data.join("_security/users.json");
        let stamp = std::fs::metadata(&path)
            .ok()
            .map(|m| (m.modified().unwrap_or(std::time::UNIX_EPOCH), m.len()));
        if let Some((t, n)) = stamp
            && let Some((ct, cn, store)) = self.users.read().expect("not poisoned").as_ref()
            && (*ct, *cn) == (t, n)
        {
            return Ok(store.clone());
        }
        let store = Arc::new(Store::read(&self.data).map_err(ApiError::internal)?);
        if let Some((t, n)) = stamp {
            *self.users.write().expect("not poisoned") = Some((t, n, store.clone()));
        }
        Ok(store)
    }

    fn guard(&self) -> std::sync::MutexGuard<'_, Guard> {
        self.guard.lock().expect("not poisoned")
    }

    /// Writes security alerts to their file and the ledger, off the async workers.
    fn raise(&self, alerts: Vec<SecurityAlert>) {
        if alerts.is_empty() {
            return;
        }
        let data = self.data.clone();
        let clock = self.clock.clone();
        tokio::task::spawn_blocking(move || {
            for a in alerts {
                // Not eprintln!: a closed standard error must not take the server down.
                let mut err = std::io::stderr();
                let _ = writeln!(
                    err,
                    "security alert: {} {}: {}",
                    a.kind, a.subject, a.message
                );
                if let Err(e) = AlertFile::append(&data, &a) {
                    let _ = writeln!(err, "security alert not written: {e}");
                }
                let _ = gridmark_ledger::Ledger::open(&data).and_then(|l| {
                    l.append(
                        clock.as_ref(),
                        "gridmark-server",
                        "security_alert",
                        &a.subject,
                        json!({"kind": a.kind, "message": a.message, "evidence": a.evidence}),
                    )
                });
            }
        });
    }
}

type Shared = Arc<AppState>;

/// A failed request: its status and a message that says what was wrong.
#[derive(Debug)]
pub struct ApiError(StatusCode, String);

impl ApiError {
    fn bad(msg: impl Into<String>) -> Self {
        ApiError(StatusCode::BAD_REQUEST, msg.into())
    }
    fn forbidden(msg: impl Into<String>) -> Self {
        ApiError(StatusCode::FORBIDDEN, msg.into())
    }
    fn internal(msg: impl std::fmt::Display) -> Self {
        ApiError(StatusCode::INTERNAL_SERVER_ERROR, msg.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, axum::Json(json!({"error": self.1}))).into_response()
    }
}

/// One endpoint: what the OpenAPI document says about it and what it needs.
pub struct Route {
    pub method: &'static str,
    pub path: &'static str,
    pub summary: &'static str,
    /// None: no token needed.
    pub permission: Option<&'static str>,
}

pub const ROUTES: &[Route] = &[
    Route {
        method: "get",
        path: "/api/health",
        summary: "liveness",
        permission: None,
    },
    Route {
        method: "post",
        path: "/api/login",
        summary: "exchange a user name and password for a token valid one day",
        permission: None,
    },
    Route {
        method: "get",
        path: "/api/me",
        summary: "the caller: user, role, permissions, scope",
        permission: Some("any"),
    },
    Route {
        method: "get",
        path: "/api/openapi.json",
        summary: "this document",
        permission: None,
    },
    Route {
        method: "get",
        path: "/api/tables",
        summary: "the tables the caller may read, with row counts",
        permission: Some("any"),
    },
    Route {
        method: "get",
        path: "/api/tables/{name}",
        summary: "rows of a table: limit, offset, column=value filters, format=json|csv|parquet (csv and parquet need export); scoped and masked",
        permission: Some("by table"),
    },
    Route {
        method: "get",
        path: "/api/alerts",
        summary: "risk alerts, filter by status and rule",
        permission: Some("read_risk"),
    },
    Route {
        method: "post",
        path: "/api/alerts/{id}/ack",
        summary: "acknowledge an alert (body: {\"note\": …})",
        permission: Some("manage_risk"),
    },
    Route {
        method: "get",
        path: "/api/risks",
        summary: "the risk register",
        permission: Some("read_risk"),
    },
    Route {
        method: "post",
        path: "/api/ingest/{table}",
        summary: "import a batch into a table: CSV, JSON (array or lines) or Arrow IPC by Content-Type or format=; dry_run=true validates only; answers the import report",
        permission: Some("write"),
    },
    Route {
        method: "get",
        path: "/api/overview",
        summary: "overview KPIs the role may see: customers, sales by month, load by day, line loss, forecast, alerts",
        permission: Some("any"),
    },
    Route {
        method: "get",
        path: "/api/analyses/{name}",
        summary: "an analysis (lineloss, suspects, quality, lifecycle, influence, channels, satisfaction), scoped to the caller",
        permission: Some("by analysis"),
    },
    Route {
        method: "get",
        path: "/api/security/alerts",
        summary: "security alerts: brute-force lockouts, floods, scans, bulk exports of personal data",
        permission: Some("read_audit"),
    },
    Route {
        method: "get",
        path: "/api/audit/verify",
        summary: "verify the ledger",
        permission: Some("read_audit"),
    },
];

pub fn router(state: AppState) -> Router {
    let shared = Arc::new(state);
    Router::new()
        .route(
            "/api/health",
            get(|| async { axum::Json(json!({"status": "ok"})) }),
        )
        .route("/api/login", post(login))
        .route("/api/me", get(me))
        .route("/api/openapi.json", get(openapi))
        .route("/api/tables", get(tables))
        .route("/api/tables/{name}", get(table_rows))
        .route("/api/alerts", get(alerts))
        .route("/api/alerts/{id}/ack", post(ack))
        .route("/api/risks", get(risks))
        .route("/api/audit/verify", get(audit_verify))
        .fallback(|| async {
            ApiError(
                StatusCode::NOT_FOUND,
                "no such endpoint; see /api/openapi.json".into(),
            )
        })
        .route("/api/security/alerts", get(security_alerts))
        .route(
            "/api/ingest/{table}",
            post(ingest::ingest).layer(DefaultBodyLimit::max(ingest::MAX_INGEST_BODY)),
        )
        .route("/api/overview", get(analyses::overview))
        .route("/api/analyses/{name}", get(analyses::analysis))
        .route("/", get(dashboard::index))
        .route("/assets/{file}", get(dashboard::asset))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(axum::middleware::from_fn_with_state(shared.clone(), watch))
        .with_state(shared)
}

/// The client's address as the socket saw it (a proxy's forwarding headers are not trusted).
#[derive(Clone)]
struct ClientAddr(String);

/// Rate limits every request by address and by token, and shows every answer to the
/// detectors.
async fn watch(
    State(s): State<Shared>,
    mut req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let addr = req
        .extensions()
        .get::<axum::extract::ConnectInfo<Peer>>()
        .map_or_else(|| "unknown".to_string(), |c| c.0.0.ip().to_string());
    let mut path: String = req.uri().path().chars().take(200).collect();
    if path.len() < req.uri().path().len() {
        path.push('…');
    }
    let token = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer gmk_"))
        .and_then(|v| v.split('_').next())
        .map(|id| format!("token:{}", id.chars().take(40).collect::<String>()));
    let now = s.clock.now_ms();
    let refused = {
        let mut g = s.guard();
        let r = g
            .admit(&format!("addr:{addr}"), now)
            .and_then(|()| token.as_ref().map_or(Ok(()), |t| g.admit(t, now)));
        r.err()
            .map(|wait| (wait, g.observe(&addr, &path, 429, now)))
    };
    if let Some((wait, alerts)) = refused {
        s.raise(alerts);
        let secs = (wait.ms + 999) / 1000;
        return (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, secs.to_string())],
            axum::Json(json!({"error": format!("too many requests: retry in {secs} s")})),
        )
            .into_response();
    }
    req.extensions_mut().insert(ClientAddr(addr.clone()));
    let resp = next.run(req).await;
    let alerts = s
        .guard()
        .observe(&addr, &path, resp.status().as_u16(), s.clock.now_ms());
    s.raise(alerts);
    resp
}

/// The OpenAPI 3.1 document of [`ROUTES`].
pub fn openapi_doc() -> Value {
    let mut paths = serde_json::Map::new();
    for r in ROUTES {
        let mut op = json!({
            "summary": r.summary,
            "responses": {"200": {"description": "success"}, "400": {"description": "bad request, with {error}"},
                          "401": {"description": "no valid token"}, "403": {"description": "the role may not"}},
        });
        if r.permission.is_some() {
            op["security"] = json!([{"bearer": []}]);
            op["x-permission"] = json!(r.permission);
        }
        let params: Vec<Value> = r
            .path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{')?.strip_suffix('}'))
            .map(|p| json!({"name": p, "in": "path", "required": true, "schema": {"type": "string"}}))
            .collect();
        if !params.is_empty() {
            op["parameters"] = json!(params);
        }
        paths
            .entry(r.path.to_string())
            .or_insert_with(|| json!({}))
            .as_object_mut()
            .expect("an object")
            .insert(r.method.to_string(), op);
    }
    json!({
        "openapi": "3.1.0",
        "info": {"title": "gridmark", "version": env!("CARGO_PKG_VERSION")},
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "paths": paths,
    })
}

async fn openapi() -> axum::Json<Value> {
    axum::Json(openapi_doc())
}

fn caller(state: &AppState, headers: &HeaderMap) -> Result<User, ApiError> {
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(|| {
            ApiError(
                StatusCode::UNAUTHORIZED,
                "send Authorization: Bearer <token>".into(),
            )
        })?;
    state
        .store()?
        .authenticate(presented.trim(), state.clock.now_ms())
        .cloned()
        .map_err(|e| ApiError(StatusCode::UNAUTHORIZED, e.to_string()))
}

fn require(user: &User, p: Permission) -> Result<(), ApiError> {
    if user.may(p) {
        Ok(())
    } else {
        Err(ApiError::forbidden(format!(
            "{} ({}) may not {}",
            user.name,
            user.role.name(),
            p.name()
        )))
    }
}

async fn login(
    State(s): State<Shared>,
    axum::Extension(ClientAddr(addr)): axum::Extension<ClientAddr>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let v: Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad(format!("the body is not JSON: {e}")))?;
    let (Some(name), Some(password)) = (v["user"].as_str(), v["password"].as_str()) else {
        return Err(ApiError::bad("give {\"user\": …, \"password\": …}"));
    };
    let now = s.clock.now_ms();
    let locked = {
        let g = s.guard();
        g.locked(&format!("user:{name}"), now)
            .or(g.locked(&format!("addr:{addr}"), now))
    };
    if let Some(wait) = locked {
        let secs = (wait.ms + 999) / 1000;
        return Ok((
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, secs.to_string())],
            axum::Json(json!({"error": format!("too many failed logins: try again in {secs} s")})),
        )
            .into_response());
    }
    let data = s.data.clone();
    let (name, password) = (name.to_string(), password.to_string());
    let who = name.clone();
    // Argon2 takes tens of milliseconds: off the async workers.
    let issued = tokio::task::spawn_blocking(move || {
        let mut users = gridmark_security::Users::open(&data).map_err(ApiError::internal)?;
        users
            .login(&name, &password)
            .map_err(|e| ApiError(StatusCode::UNAUTHORIZED, e.to_string()))?;
        let (t, secret) = users
            .issue_token(&name, now, 1, &gridmark_core::civil::format_utc(now))
            .map_err(ApiError::internal)?;
        gridmark_ledger::Ledger::open(&data)
            .and_then(|l| {
                l.append(&gridmark_core::SystemClock, &name, "login", &name, json!({"token": t.id}))
            })
            .map_err(ApiError::internal)?;
        Ok::<_, ApiError>(json!({"token": secret, "expires_at": gridmark_core::civil::format_utc(t.expires_at_ms)}))
    })
    .await
    .map_err(ApiError::internal)?;
    match issued {
        Ok(v) => {
            s.guard().login_succeeded(&who);
            Ok(axum::Json(v).into_response())
        }
        Err(e) => {
            if e.0 == StatusCode::UNAUTHORIZED {
                let alert = s.guard().login_failed(&who, &addr, s.clock.now_ms());
                s.raise(alert.into_iter().collect());
            }
            Err(e)
        }
    }
}

async fn security_alerts(
    State(s): State<Shared>,
    headers: HeaderMap,
) -> Result<axum::Json<Value>, ApiError> {
    let u = caller(&s, &headers)?;
    require(&u, Permission::ReadAudit)?;
    let data = s.data.clone();
    let list = tokio::task::spawn_blocking(move || AlertFile::read(&data))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)?;
    Ok(axum::Json(json!(list)))
}

async fn me(State(s): State<Shared>, headers: HeaderMap) -> Result<axum::Json<Value>, ApiError> {
    let u = caller(&s, &headers)?;
    let perms: Vec<&str> = u.role.permissions().iter().map(|p| p.name()).collect();
    Ok(axum::Json(
        json!({"user": u.name, "role": u.role.name(), "permissions": perms, "scope": u.scope}),
    ))
}

/// The permissions any one of which reads a table: the customer and meter archives serve
/// every role that works with customers.
pub fn table_permissions(table: &str) -> &'static [Permission] {
    match table {
        "customers" | "meters" | "areas" => &[
            Permission::ReadMetering,
            Permission::ReadMarketing,
            Permission::ReadService,
        ],
        t => match table_permission(t) {
            Permission::ReadMetering => &[Permission::ReadMetering],
            Permission::ReadService => &[Permission::ReadService],
            _ => &[Permission::ReadMarketing],
        },
    }
}

fn may_read(user: &User, table: &str) -> bool {
    table_permissions(table).iter().any(|p| user.may(*p))
}

/// Which permission reads a table's domain.
pub fn table_permission(table: &str) -> Permission {
    const METERING: &[&str] = &[
        "readings",
        "area_supply",
        "meters",
        "areas",
        "series",
        "readings_validated",
        "vee_runs",
        "vee_events",
        "quality_daily",
        "theft_scores",
        "suspects",
    ];
    const SERVICE: &[&str] = &[
        "work_orders",
        "surveys",
        "channel_events",
        "staff",
        "halls",
        "text_documents",
        "text_topics",
        "complaint_links",
    ];
    if METERING.contains(&table) || table.starts_with("vee_") {
        Permission::ReadMetering
    } else if SERVICE.contains(&table) {
        Permission::ReadService
    } else {
        Permission::ReadMarketing
    }
}

async fn tables(
    State(s): State<Shared>,
    headers: HeaderMap,
) -> Result<axum::Json<Value>, ApiError> {
    let u = caller(&s, &headers)?;
    let lake = gridmark_lake::Lake::open(&s.data).map_err(ApiError::internal)?;
    let snap = lake.snapshot().map_err(ApiError::internal)?;
    let rows: Vec<Value> = gridmark_core::catalog::TABLES
        .iter()
        .filter(|t| may_read(&u, t.name) && snap.rows(t.name) > 0)
        .map(|t| json!({"table": t.name, "rows": snap.rows(t.name), "doc": t.doc}))
        .collect();
    Ok(axum::Json(json!(rows)))
}

use gridmark_jobs::query::literal;

/// The WHERE clause that keeps a scoped user to their regions and areas.
fn scope_clause(
    table: &gridmark_core::catalog::TableDef,
    user: &User,
) -> Result<Option<String>, ApiError> {
    if user.scope.is_empty() {
        return Ok(None);
    }
    let list = user
        .scope
        .iter()
        .map(|s| literal(s))
        .collect::<Vec<_>>()
        .join(", ");
    let has = |c: &str| table.column(c).is_some();
    let clause = if has("region") && has("area_id") {
        format!("(region IN ({list}) OR area_id IN ({list}))")
    } else if has("area_id") {
        format!(
            "(area_id IN ({list}) OR area_id IN (SELECT area_id FROM areas WHERE region IN ({list})))"
        )
    } else if has("meter_id") {
        format!(
            "meter_id IN (SELECT meter_id FROM meter_dims WHERE region IN ({list}) OR area_id IN ({list}))"
        )
    } else if has("customer_id") {
        format!(
            "customer_id IN (SELECT customer_id FROM customers WHERE region IN ({list}) OR area_id IN ({list}))"
        )
    } else {
        return Err(ApiError::forbidden(format!(
            "{} has no region, area, meter or customer to scope by, and {} is limited to {}",
            table.name,
            user.name,
            user.scope.join(", ")
        )));
    };
    Ok(Some(clause))
}

async fn table_rows(
    State(s): State<Shared>,
    headers: HeaderMap,
    UrlPath(name): UrlPath<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let u = caller(&s, &headers)?;
    let table = gridmark_core::catalog::table(&name).map_err(|_| {
        ApiError(
            StatusCode::NOT_FOUND,
            format!("no table {name:?}; GET /api/tables lists them"),
        )
    })?;
    if !may_read(&u, table.name) {
        return Err(ApiError::forbidden(format!(
            "{} ({}) may not read {}",
            u.name,
            u.role.name(),
            table.name
        )));
    }
    let num = |k: &str, d: usize| -> Result<usize, ApiError> {
        q.get(k).map_or(Ok(d), |v| {
            v.parse()
                .map_err(|_| ApiError::bad(format!("{k}={v}: expected a whole number")))
        })
    };
    let limit = num("limit", 100)?;
    let offset = num("offset", 0)?;
    if limit == 0 || limit > MAX_LIMIT {
        return Err(ApiError::bad(format!("limit={limit}: 1…{MAX_LIMIT}")));
    }
    let format = q.get("format").map(String::as_str).unwrap_or("json");
    if !matches!(format, "json" | "csv" | "parquet") {
        return Err(ApiError::bad(format!(
            "format={format}: json, csv or parquet"
        )));
    }
    if format != "json" {
        require(&u, Permission::Export)?;
    }
    let mut conds = Vec::new();
    let mut keys: Vec<&String> = q.keys().collect();
    keys.sort();
    for k in keys {
        if matches!(k.as_str(), "limit" | "offset" | "format") {
            continue;
        }
        if table.column(k).is_none() {
            return Err(ApiError::bad(format!(
                "{k}: {} has no such column (filters are column=value)",
                table.name
            )));
        }
        if table.personal.contains(&k.as_str()) && Keyring::exists(&s.data) {
            return Err(ApiError::bad(format!(
                "{k}: personal fields are encrypted at rest in this lake and cannot be filtered on"
            )));
        }
        // Quoted as a literal: a value can never become SQL.
        conds.push(format!("CAST(\"{k}\" AS VARCHAR) = {}", literal(&q[k])));
    }
    if let Some(c) = scope_clause(table, &u)? {
        conds.push(c);
    }
    let where_ = if conds.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", conds.join(" AND "))
    };
    let order = table
        .key
        .iter()
        .map(|k| format!("\"{k}\""))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "SELECT * FROM \"{}\"{where_}{} LIMIT {limit} OFFSET {offset}",
        table.name,
        if order.is_empty() {
            String::new()
        } else {
            format!(" ORDER BY {order}")
        }
    );
    let ctx = s.session().await?;
    let batches = ctx
        .sql(&sql)
        .await
        .map_err(ApiError::internal)?
        .collect()
        .await
        .map_err(ApiError::internal)?;
    let batches: Vec<RecordBatch> = if !table.personal.is_empty() && Keyring::exists(&s.data) {
        let ring = s.keyring();
        batches
            .iter()
            .map(|b| match &ring {
                Some(r) => r.open_batch(table.personal, b),
                // Without the master key the server shows that a value exists, not what it is.
                None => gridmark_lake::keyring::map_columns(b, table.personal, |_| {
                    Ok("[encrypted]".to_string())
                }),
            })
            .collect::<Result<_, _>>()
            .map_err(ApiError::internal)?
    } else {
        batches
    };
    let masked = !u.may(Permission::ReadPersonal);
    let batches: Vec<RecordBatch> = if masked {
        batches
            .iter()
            .map(|b| mask_batch(b, table.personal))
            .collect::<Result<_, _>>()?
    } else {
        batches
    };
    let n: usize = batches.iter().map(|b| b.num_rows()).sum();
    if !masked && !table.personal.is_empty() && n > 0 {
        let alert = s
            .guard()
            .personal_rows(&u.name, table.name, n as u64, s.clock.now_ms());
        s.raise(alert.into_iter().collect());
    }
    let export = |bytes: usize| {
        let _ = gridmark_ledger::Ledger::open(&s.data).and_then(|l| {
            l.append(
                &gridmark_core::SystemClock,
                &u.name,
                "export",
                table.name,
                json!({"rows": n, "offset": offset, "masked": masked, "via": "api", "format": format, "bytes": bytes}),
            )
        });
    };
    if format == "parquet" {
        let mut buf = Vec::new();
        let schema = match batches.first() {
            Some(b) => b.schema(),
            None => gridmark_lake::arrow_schema(table),
        };
        let mut w = datafusion::parquet::arrow::ArrowWriter::try_new(&mut buf, schema, None)
            .map_err(ApiError::internal)?;
        for b in &batches {
            w.write(b).map_err(ApiError::internal)?;
        }
        w.close().map_err(ApiError::internal)?;
        export(buf.len());
        return Ok((
            [
                (
                    header::CONTENT_TYPE,
                    "application/vnd.apache.parquet".to_string(),
                ),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{}.parquet\"", table.name),
                ),
            ],
            buf,
        )
            .into_response());
    }
    let mut rows = Vec::new();
    for b in &batches {
        rows.extend(gridmark_sql::batch_to_json_rows(b).map_err(ApiError::internal)?);
    }
    if format == "csv" {
        let cols: Vec<&str> = table.columns.iter().map(|c| c.name).collect();
        let mut out = cols.join(",");
        out.push('\n');
        for r in &rows {
            let line: Vec<String> = cols
                .iter()
                .map(|c| match r.get(*c) {
                    Some(Value::String(v)) => format!("\"{}\"", v.replace('"', "\"\"")),
                    Some(Value::Null) | None => String::new(),
                    Some(v) => v.to_string(),
                })
                .collect();
            out.push_str(&line.join(","));
            out.push('\n');
        }
        export(out.len());
        return Ok(([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], out).into_response());
    }
    Ok(axum::Json(json!({
        "table": table.name, "offset": offset, "limit": limit, "rows": rows,
        "masked": masked, "scoped": !u.scope.is_empty(),
    }))
    .into_response())
}

async fn alerts(
    State(s): State<Shared>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Result<axum::Json<Value>, ApiError> {
    let u = caller(&s, &headers)?;
    require(&u, Permission::ReadRisk)?;
    let data = s.data.clone();
    let list = tokio::task::spawn_blocking(move || {
        let visible = gridmark_lake::Lake::open(&data)
            .map_err(ApiError::internal)
            .and_then(|lake| analyses::visible_subjects(&lake, &u))?;
        let log = gridmark_risk::alerts::AlertLog::open(&data).map_err(ApiError::internal)?;
        let rows: Vec<Value> = log
            .alerts()
            .filter(|a| visible.as_ref().is_none_or(|v| v.contains(&a.subject)))
            .filter(|a| q.get("status").is_none_or(|st| a.status.name() == st))
            .filter(|a| q.get("rule").is_none_or(|r| &a.rule == r))
            .map(|a| json!({"id": a.id, "status": a.status.name(), "severity": a.severity, "rule": a.rule,
                            "subject_kind": a.subject_kind, "subject": a.subject, "as_of": a.last_as_of,
                            "message": a.message, "evidence": a.evidence}))
            .collect();
        log.close();
        Ok::<_, ApiError>(rows)
    })
    .await
    .map_err(ApiError::internal)??;
    Ok(axum::Json(json!(list)))
}

async fn ack(
    State(s): State<Shared>,
    headers: HeaderMap,
    UrlPath(id): UrlPath<String>,
    body: axum::body::Bytes,
) -> Result<axum::Json<Value>, ApiError> {
    let u = caller(&s, &headers)?;
    require(&u, Permission::ManageRisk)?;
    let note = if body.is_empty() {
        String::new()
    } else {
        let v: Value = serde_json::from_slice(&body)
            .map_err(|e| ApiError::bad(format!("the body is not JSON: {e}")))?;
        v["note"].as_str().unwrap_or_default().to_string()
    };
    let data = s.data.clone();
    let clock = s.clock.clone();
    let result = tokio::task::spawn_blocking(move || {
        let visible = gridmark_lake::Lake::open(&data)
            .map_err(ApiError::internal)
            .and_then(|lake| analyses::visible_subjects(&lake, &u))?;
        let mut log = gridmark_risk::alerts::AlertLog::open(&data).map_err(ApiError::internal)?;
        if let Some(v) = &visible {
            let a = log
                .get(&id)
                .map_err(|_| ApiError(StatusCode::NOT_FOUND, format!("no alert {id}")))?;
            if !v.contains(&a.subject) {
                // As if it did not exist: a scoped user learns nothing outside the scope.
                return Err(ApiError(StatusCode::NOT_FOUND, format!("no alert {id}")));
            }
        }
        log.acknowledge(&id, &u.name, &note, clock.as_ref())
            .map_err(|e| match e {
                gridmark_risk::RiskError::NotFound(_) => {
                    ApiError(StatusCode::NOT_FOUND, format!("no alert {id}"))
                }
                gridmark_risk::RiskError::Invalid(m) => ApiError(StatusCode::CONFLICT, m),
                e => ApiError::internal(e),
            })?;
        let a = log.get(&id).map_err(ApiError::internal)?.clone();
        log.close();
        gridmark_ledger::Ledger::open(&data)
            .and_then(|l| {
                l.append(
                    clock.as_ref(),
                    &u.name,
                    "alert_acknowledged",
                    &id,
                    json!({"rule": a.rule, "subject": a.subject, "note": note, "via": "api"}),
                )
            })
            .map_err(ApiError::internal)?;
        Ok::<_, ApiError>(
            json!({"id": a.id, "status": a.status.name(), "acknowledged_by": a.acknowledged_by}),
        )
    })
    .await
    .map_err(ApiError::internal)??;
    Ok(axum::Json(result))
}

async fn risks(State(s): State<Shared>, headers: HeaderMap) -> Result<axum::Json<Value>, ApiError> {
    let u = caller(&s, &headers)?;
    require(&u, Permission::ReadRisk)?;
    let data = s.data.clone();
    let rows = tokio::task::spawn_blocking(move || {
        let reg = gridmark_risk::register::Register::open(&data).map_err(ApiError::internal)?;
        serde_json::to_value(reg.risks().collect::<Vec<_>>()).map_err(ApiError::internal)
    })
    .await
    .map_err(ApiError::internal)??;
    Ok(axum::Json(rows))
}

async fn audit_verify(
    State(s): State<Shared>,
    headers: HeaderMap,
) -> Result<axum::Json<Value>, ApiError> {
    let u = caller(&s, &headers)?;
    require(&u, Permission::ReadAudit)?;
    let data = s.data.clone();
    let v = tokio::task::spawn_blocking(move || {
        gridmark_ledger::Ledger::open(&data)
            .and_then(|l| l.verify())
            .map_err(ApiError::internal)
    })
    .await
    .map_err(ApiError::internal)??;
    Ok(axum::Json(
        serde_json::to_value(v).map_err(ApiError::internal)?,
    ))
}

/// The batch with its personal columns masked, for roles that may not see them.
fn mask_batch(b: &RecordBatch, personal: &[&str]) -> Result<RecordBatch, ApiError> {
    use datafusion::arrow::array::{Array, ArrayRef, AsArray, StringArray};
    use datafusion::arrow::datatypes::DataType;
    let schema = b.schema();
    let mut cols: Vec<ArrayRef> = b.columns().to_vec();
    for (i, f) in schema.fields().iter().enumerate() {
        if !personal.contains(&f.name().as_str()) || f.data_type() != &DataType::Utf8 {
            continue;
        }
        let a = b.column(i).as_string::<i32>();
        let masked: StringArray = (0..a.len())
            .map(|r| {
                (!a.is_null(r)).then(|| {
                    let v = a.value(r);
                    if v.is_empty() {
                        String::new()
                    } else {
                        gridmark_security::mask(f.name(), v)
                    }
                })
            })
            .collect();
        cols[i] = std::sync::Arc::new(masked);
    }
    RecordBatch::try_new(schema, cols).map_err(ApiError::internal)
}

/// Where to find the certificate chain and key for HTTPS.
pub struct Tls<'a> {
    pub cert: &'a std::path::Path,
    pub key: &'a std::path::Path,
}

/// Serves until the process is stopped; `on_listen` gets the bound address (port 0 picks one)
/// and whether it is HTTPS.
pub async fn serve(
    state: AppState,
    addr: &str,
    tls: Option<Tls<'_>>,
    on_listen: impl FnOnce(SocketAddr, bool),
) -> std::io::Result<()> {
    // Read before binding: a bad certificate is reported before anything listens.
    let config = tls
        .map(|t| tls::config(t.cert, t.key))
        .transpose()
        .map_err(std::io::Error::other)?;
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let app = router(state).into_make_service_with_connect_info::<Peer>();
    match config {
        None => {
            on_listen(listener.local_addr()?, false);
            axum::serve(listener, app).await
        }
        Some(c) => {
            let listener = tls::TlsListener::new(listener, c)?;
            on_listen(axum::serve::Listener::local_addr(&listener)?, true);
            axum::serve(listener, app).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_lists_every_route_with_its_parameters() {
        let doc = openapi_doc();
        for r in ROUTES {
            assert!(
                doc["paths"][r.path][r.method].is_object(),
                "{} {}",
                r.method,
                r.path
            );
        }
        assert_eq!(
            doc["paths"]["/api/tables/{name}"]["get"]["parameters"][0]["name"],
            "name"
        );
        assert_eq!(table_permission("readings"), Permission::ReadMetering);
        assert_eq!(table_permission("work_orders"), Permission::ReadService);
        assert_eq!(table_permission("bills"), Permission::ReadMarketing);
    }
}
