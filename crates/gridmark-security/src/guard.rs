//! Intrusion detection for the API: a token bucket per caller (token or address), lockout
//! after repeated failed logins, and detectors for request floods, endpoint scanning and bulk
//! export of personal data. Every detector raises a [`SecurityAlert`] carrying its evidence.
//!
//! The guard only decides; the server times requests with its injected clock, answers 429s and
//! writes the alerts. State lives in memory and is bounded: windows are pruned as they pass.

use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet, VecDeque};

/// Thresholds. `Default` suits a utility's API: a person clicking never meets them, a script
/// hammering does.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct GuardConfig {
    /// Sustained requests per second per token; 0 turns rate limiting off.
    pub rate_per_sec: f64,
    /// Requests a token may send at once above the sustained rate.
    pub burst: f64,
    /// The same for each client address, whatever token it sends: higher, since many
    /// people can share one address behind a proxy.
    pub addr_rate_per_sec: f64,
    pub addr_burst: f64,
    /// Failed logins (per user name, and per address) before a lockout.
    pub lockout_after: u32,
    pub lockout_ms: i64,
    /// Requests from one address within `flood_window_ms` that count as a flood.
    pub flood_requests: usize,
    pub flood_window_ms: i64,
    /// Distinct unknown or forbidden paths from one address within `scan_window_ms`.
    pub scan_paths: usize,
    pub scan_window_ms: i64,
    /// Unmasked personal rows one user may export within `export_window_ms`.
    pub personal_rows: u64,
    pub export_window_ms: i64,
    /// A detector raises at most one alert per subject per this long.
    pub realert_ms: i64,
}

impl Default for GuardConfig {
    fn default() -> Self {
        GuardConfig {
            rate_per_sec: 50.0,
            burst: 200.0,
            addr_rate_per_sec: 200.0,
            addr_burst: 800.0,
            lockout_after: 5,
            lockout_ms: 15 * 60_000,
            flood_requests: 3_000,
            flood_window_ms: 10_000,
            scan_paths: 20,
            scan_window_ms: 60_000,
            personal_rows: 5_000,
            export_window_ms: 3_600_000,
            realert_ms: 10 * 60_000,
        }
    }
}

/// What a detector saw.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SecurityAlert {
    /// `brute_force`, `flood`, `scan` or `bulk_personal_export`.
    pub kind: String,
    /// The address or user it is about.
    pub subject: String,
    pub at_ms: i64,
    pub message: String,
    pub evidence: serde_json::Value,
}

/// How long a refused caller should wait.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryAfter {
    pub ms: i64,
}

#[derive(Default)]
struct Bucket {
    tokens: f64,
    at_ms: i64,
}

#[derive(Default)]
struct Failures {
    times: VecDeque<i64>,
    locked_until_ms: i64,
}

#[derive(Default)]
pub struct Guard {
    pub config: GuardConfig,
    buckets: HashMap<String, Bucket>,
    failures: HashMap<String, Failures>,
    requests: HashMap<String, VecDeque<i64>>,
    probes: HashMap<String, VecDeque<(i64, String)>>,
    exports: HashMap<String, VecDeque<(i64, u64)>>,
    raised: HashMap<(String, String), i64>,
    calls: u64,
}

fn prune<T>(q: &mut VecDeque<T>, at: impl Fn(&T) -> i64, since: i64) {
    while q.front().is_some_and(|x| at(x) < since) {
        q.pop_front();
    }
}

impl Guard {
    pub fn new(config: GuardConfig) -> Guard {
        Guard {
            config,
            ..Guard::default()
        }
    }

    /// Takes one request from `caller`'s bucket (`addr:…` keys use the address rate), or
    /// says how long to wait.
    pub fn admit(&mut self, caller: &str, now_ms: i64) -> Result<(), RetryAfter> {
        let c = &self.config;
        if c.rate_per_sec <= 0.0 {
            return Ok(());
        }
        let (rate, burst) = if caller.starts_with("addr:") {
            (
                c.addr_rate_per_sec.max(c.rate_per_sec),
                c.addr_burst.max(1.0),
            )
        } else {
            (c.rate_per_sec, c.burst.max(1.0))
        };
        let b = self.buckets.entry(caller.to_string()).or_insert(Bucket {
            tokens: burst,
            at_ms: now_ms,
        });
        let elapsed = (now_ms - b.at_ms).max(0) as f64 / 1000.0;
        b.tokens = (b.tokens + elapsed * rate).min(burst);
        b.at_ms = now_ms;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            Err(RetryAfter {
                ms: ((1.0 - b.tokens) / rate * 1000.0).ceil() as i64,
            })
        }
    }

    /// Whether logins for `key` (a user name or an address) are refused, and for how long.
    pub fn locked(&self, key: &str, now_ms: i64) -> Option<RetryAfter> {
        self.failures
            .get(key)
            .filter(|f| f.locked_until_ms > now_ms)
            .map(|f| RetryAfter {
                ms: f.locked_until_ms - now_ms,
            })
    }

    /// Records a failed login by `user` from `addr`; an alert when either is now locked out.
    pub fn login_failed(&mut self, user: &str, addr: &str, now_ms: i64) -> Option<SecurityAlert> {
        let (after, lock_ms) = (
            self.config.lockout_after.max(1) as usize,
            self.config.lockout_ms,
        );
        let mut alert = None;
        for key in [format!("user:{user}"), format!("addr:{addr}")] {
            let f = self.failures.entry(key.clone()).or_default();
            f.times.push_back(now_ms);
            prune(&mut f.times, |t| *t, now_ms - lock_ms);
            if f.times.len() >= after && f.locked_until_ms <= now_ms {
                f.locked_until_ms = now_ms + lock_ms;
                let n = f.times.len();
                alert = alert.or(Some(SecurityAlert {
                    kind: "brute_force".into(),
                    subject: key.clone(),
                    at_ms: now_ms,
                    message: format!(
                        "{n} failed logins within {} min: {key} locked for {} min",
                        lock_ms / 60_000,
                        lock_ms / 60_000
                    ),
                    evidence: serde_json::json!({"failures": n, "user": user, "address": addr,
                                                  "locked_until_ms": now_ms + lock_ms}),
                }));
            }
        }
        alert
    }

    /// A successful login forgets the user's failures (not the address's).
    pub fn login_succeeded(&mut self, user: &str) {
        self.failures.remove(&format!("user:{user}"));
    }

    /// Watches one answered request: floods of requests from an address, and an address
    /// probing many paths that do not exist or that it may not see.
    pub fn observe(
        &mut self,
        addr: &str,
        path: &str,
        status: u16,
        now_ms: i64,
    ) -> Vec<SecurityAlert> {
        let c = self.config.clone();
        let mut out = Vec::new();
        let q = self.requests.entry(addr.to_string()).or_default();
        q.push_back(now_ms);
        prune(q, |t| *t, now_ms - c.flood_window_ms);
        let n = q.len();
        if n >= c.flood_requests
            && let Some(a) = self.raise(
                "flood",
                addr,
                now_ms,
                format!(
                    "{n} requests from {addr} within {} s",
                    c.flood_window_ms / 1000
                ),
                serde_json::json!({"requests": n, "window_ms": c.flood_window_ms}),
            )
        {
            out.push(a);
        }
        if matches!(status, 401 | 403 | 404 | 405) {
            let q = self.probes.entry(addr.to_string()).or_default();
            q.push_back((now_ms, path.to_string()));
            prune(q, |(t, _)| *t, now_ms - c.scan_window_ms);
            let distinct: HashSet<&str> = q.iter().map(|(_, p)| p.as_str()).collect();
            if distinct.len() >= c.scan_paths {
                let mut sample: Vec<&str> = distinct.into_iter().collect();
                sample.sort_unstable();
                sample.truncate(20);
                let sample: Vec<String> = sample.into_iter().map(String::from).collect();
                let k = q.len();
                if let Some(a) = self.raise(
                    "scan",
                    addr,
                    now_ms,
                    format!(
                        "{addr} was refused on {k} requests to many paths within {} s",
                        c.scan_window_ms / 1000
                    ),
                    serde_json::json!({"refused": k, "paths": sample}),
                ) {
                    out.push(a);
                }
            }
        }
        self.calls += 1;
        if self.calls.is_multiple_of(4096) {
            self.forget(now_ms);
        }
        out
    }

    /// Records `rows` unmasked personal rows sent to `user`.
    pub fn personal_rows(
        &mut self,
        user: &str,
        table: &str,
        rows: u64,
        now_ms: i64,
    ) -> Option<SecurityAlert> {
        let c = self.config.clone();
        let q = self.exports.entry(user.to_string()).or_default();
        q.push_back((now_ms, rows));
        prune(q, |(t, _)| *t, now_ms - c.export_window_ms);
        let total: u64 = q.iter().map(|(_, r)| r).sum();
        let requests = q.len();
        if total < c.personal_rows {
            return None;
        }
        self.raise(
            "bulk_personal_export",
            &format!("user:{user}"),
            now_ms,
            format!(
                "{user} received {total} rows with personal fields in clear within {} min (last: {table})",
                c.export_window_ms / 60_000
            ),
            serde_json::json!({"rows": total, "requests": requests, "last_table": table,
                               "threshold": c.personal_rows}),
        )
    }

    fn raise(
        &mut self,
        kind: &str,
        subject: &str,
        now_ms: i64,
        message: String,
        evidence: serde_json::Value,
    ) -> Option<SecurityAlert> {
        let key = (kind.to_string(), subject.to_string());
        if self
            .raised
            .get(&key)
            .is_some_and(|t| now_ms - t < self.config.realert_ms)
        {
            return None;
        }
        self.raised.insert(key, now_ms);
        Some(SecurityAlert {
            kind: kind.into(),
            subject: subject.into(),
            at_ms: now_ms,
            message,
            evidence,
        })
    }

    /// Drops callers idle past every window, so memory follows the active callers only.
    fn forget(&mut self, now_ms: i64) {
        let c = &self.config;
        let longest = c
            .flood_window_ms
            .max(c.scan_window_ms)
            .max(c.export_window_ms)
            .max(c.lockout_ms)
            .max(c.realert_ms);
        let since = now_ms - longest;
        self.buckets.retain(|_, b| b.at_ms >= since);
        self.requests
            .retain(|_, q| q.back().is_some_and(|t| *t >= since));
        self.probes
            .retain(|_, q| q.back().is_some_and(|(t, _)| *t >= since));
        self.exports
            .retain(|_, q| q.back().is_some_and(|(t, _)| *t >= since));
        self.failures.retain(|_, f| {
            f.locked_until_ms > now_ms || f.times.back().is_some_and(|t| *t >= since)
        });
        self.raised.retain(|_, t| *t >= since);
    }
}

/// The security alerts of one lake: `<lake>/_security/alerts.jsonl`, appended under a lock.
pub struct AlertFile;

impl AlertFile {
    pub fn path(lake_root: &std::path::Path) -> std::path::PathBuf {
        lake_root.join("_security/alerts.jsonl")
    }

    pub fn append(
        lake_root: &std::path::Path,
        alert: &SecurityAlert,
    ) -> Result<(), crate::SecurityError> {
        use std::io::Write;
        let dir = lake_root.join("_security");
        let io = |path: &std::path::Path| {
            let path = path.to_path_buf();
            move |source| crate::SecurityError::Io { path, source }
        };
        std::fs::create_dir_all(&dir).map_err(io(&dir))?;
        let lock = dir.join("alerts.lock");
        let _held = gridmark_core::lockfile::lock_exclusive(&lock).map_err(io(&lock))?;
        let path = Self::path(lake_root);
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(io(&path))?;
        let mut line = serde_json::to_string(alert)
            .map_err(|e| crate::SecurityError::Invalid(e.to_string()))?;
        line.push('\n');
        f.write_all(line.as_bytes()).map_err(io(&path))
    }

    /// Every alert, oldest first; a torn last line (a crash mid-append) is skipped.
    pub fn read(lake_root: &std::path::Path) -> Result<Vec<SecurityAlert>, crate::SecurityError> {
        let path = Self::path(lake_root);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => return Err(crate::SecurityError::Io { path, source }),
        };
        let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
        let mut out = Vec::new();
        for (i, l) in lines.iter().enumerate() {
            match serde_json::from_str(l) {
                Ok(a) => out.push(a),
                Err(_) if i + 1 == lines.len() && !text.ends_with('\n') => {}
                Err(e) => {
                    return Err(crate::SecurityError::Invalid(format!(
                        "{}: line {}: {e}",
                        path.display(),
                        i + 1
                    )));
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bucket_refuses_past_the_burst_and_refills_at_the_rate() {
        let mut g = Guard::new(GuardConfig {
            rate_per_sec: 10.0,
            burst: 5.0,
            ..GuardConfig::default()
        });
        for _ in 0..5 {
            assert!(g.admit("t1", 0).is_ok());
        }
        let wait = g.admit("t1", 0).unwrap_err();
        assert_eq!(wait.ms, 100);
        assert!(g.admit("t2", 0).is_ok(), "callers have their own buckets");
        assert!(g.admit("t1", 100).is_ok());
        assert!(g.admit("t1", 100).is_err());
        let off = &mut Guard::new(GuardConfig {
            rate_per_sec: 0.0,
            ..GuardConfig::default()
        });
        assert!((0..10_000).all(|_| off.admit("x", 0).is_ok()));
    }

    #[test]
    fn repeated_failures_lock_the_user_and_the_address_out_once() {
        let mut g = Guard::new(GuardConfig {
            lockout_after: 3,
            lockout_ms: 60_000,
            ..GuardConfig::default()
        });
        assert!(g.login_failed("ann", "10.0.0.9", 0).is_none());
        assert!(g.login_failed("ann", "10.0.0.9", 1_000).is_none());
        let a = g.login_failed("ann", "10.0.0.9", 2_000).expect("locked");
        assert_eq!(a.kind, "brute_force");
        assert_eq!(a.evidence["failures"], 3);
        assert_eq!(g.locked("user:ann", 3_000).unwrap().ms, 59_000);
        assert!(g.locked("addr:10.0.0.9", 3_000).is_some());
        assert!(g.locked("user:ann", 62_000).is_none(), "the lock expires");
        assert!(g.locked("user:bob", 3_000).is_none());
        // Failures older than the window are forgotten; a success clears the user's count.
        g.login_succeeded("ann");
        assert!(g.login_failed("ann", "10.0.0.7", 200_000).is_none());
    }

    #[test]
    fn floods_and_scans_raise_one_alert_each_per_realert_period() {
        let mut g = Guard::new(GuardConfig {
            flood_requests: 100,
            flood_window_ms: 1_000,
            scan_paths: 5,
            realert_ms: 60_000,
            ..GuardConfig::default()
        });
        let mut alerts = Vec::new();
        for i in 0..300 {
            alerts.extend(g.observe("10.0.0.1", "/api/health", 200, i));
        }
        assert_eq!(alerts.len(), 1);
        assert_eq!(alerts[0].kind, "flood");
        assert_eq!(alerts[0].evidence["requests"], 100);
        // A steady client under the threshold never alerts.
        let quiet: usize = (0..1_000)
            .map(|i| g.observe("10.0.0.2", "/api/me", 200, i * 20).len())
            .sum();
        assert_eq!(quiet, 0);
        let mut scan = Vec::new();
        for (i, p) in [
            "/admin",
            "/.env",
            "/wp-login.php",
            "/api/x",
            "/api/tables/users",
        ]
        .iter()
        .enumerate()
        {
            scan.extend(g.observe("10.0.0.3", p, 404, i as i64));
        }
        assert_eq!(scan.len(), 1);
        assert_eq!(scan[0].kind, "scan");
        assert_eq!(scan[0].evidence["paths"].as_array().unwrap().len(), 5);
        // The same path refused many times is a broken client, not a scan.
        let same: usize = (0..50)
            .map(|i| g.observe("10.0.0.4", "/api/me", 401, i).len())
            .sum();
        assert_eq!(same, 0);
    }

    #[test]
    fn bulk_personal_export_is_raised_over_the_window_total() {
        let mut g = Guard::new(GuardConfig {
            personal_rows: 1_000,
            ..GuardConfig::default()
        });
        assert!(g.personal_rows("ann", "customers", 600, 0).is_none());
        let a = g
            .personal_rows("ann", "customers", 600, 1_000)
            .expect("raised");
        assert_eq!(a.kind, "bulk_personal_export");
        assert_eq!(a.evidence["rows"], 1_200);
        assert!(
            g.personal_rows("ann", "customers", 600, 2_000).is_none(),
            "once"
        );
        assert!(g.personal_rows("bob", "customers", 999, 2_000).is_none());
    }

    #[test]
    fn the_alert_file_survives_a_torn_last_line() {
        let dir = tempfile::tempdir().unwrap();
        let a = SecurityAlert {
            kind: "scan".into(),
            subject: "10.0.0.3".into(),
            at_ms: 5,
            message: "m".into(),
            evidence: serde_json::json!({}),
        };
        AlertFile::append(dir.path(), &a).unwrap();
        AlertFile::append(dir.path(), &a).unwrap();
        let p = AlertFile::path(dir.path());
        let mut f = std::fs::OpenOptions::new().append(true).open(&p).unwrap();
        std::io::Write::write_all(&mut f, b"{\"kind\":\"sc").unwrap();
        assert_eq!(AlertFile::read(dir.path()).unwrap(), vec![a.clone(), a]);
    }
}
