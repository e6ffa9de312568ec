//! The dashboard in a real headless browser (Debian's chromium, driven over WebDriver by
//! chromedriver): each role signs in through the form and sees its own menu, its own scope and
//! masking; the language switches; data from the lake is shown as text, never run as markup.
//!
//! `.ci/run` installs chromium and chromium-driver. Elsewhere, set CHROMEDRIVER to a
//! chromedriver binary (and CHROMIUM to the browser) or the test fails saying what is missing.

mod common;
use common::http::{add_user, get_json, request, start};
use common::{demo, first_region, ok};
use serde_json::{Value, json};
use std::io::{Read, Write};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A chromedriver process with one browser session; both end when dropped.
struct Browser {
    driver: Child,
    addr: String,
    session: String,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = wd(
            &self.addr,
            "DELETE",
            &format!("/session/{}", self.session),
            None,
        );
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// One WebDriver command: the `value` of its answer, or the error it names.
fn wd(addr: &str, method: &str, path: &str, body: Option<Value>) -> Result<Value, String> {
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let mut s = std::net::TcpStream::connect(addr).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_secs(60))).ok();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).map_err(|e| e.to_string())?;
    s.write_all(body.as_bytes()).map_err(|e| e.to_string())?;
    // chromedriver keeps the connection open whatever we ask: read by Content-Length.
    let mut raw = Vec::new();
    let mut buf = [0u8; 65536];
    let (head, body) = loop {
        let n = s.read(&mut buf).map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("the driver closed the connection".into());
        }
        raw.extend_from_slice(&buf[..n]);
        let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&raw[..end]).to_string();
        let len: usize = head
            .lines()
            .find_map(|l| {
                l.to_ascii_lowercase()
                    .strip_prefix("content-length:")
                    .map(|v| v.trim().parse().unwrap_or(0))
            })
            .unwrap_or(0);
        if raw.len() >= end + 4 + len {
            break (
                head,
                String::from_utf8_lossy(&raw[end + 4..end + 4 + len]).to_string(),
            );
        }
    };
    let json = body.as_str();
    let v: Value = serde_json::from_str(json).map_err(|e| format!("{e}: {body}"))?;
    if head.split_whitespace().nth(1) != Some("200") {
        return Err(v["value"]["message"].as_str().unwrap_or(json).to_string());
    }
    Ok(v["value"].clone())
}

impl Browser {
    fn open() -> Browser {
        let driver_bin = std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into());
        let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let driver = Command::new(&driver_bin)
            .arg(format!("--port={port}"))
            // Not piped: a pipe nobody reads would stop the driver when it logs.
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "{driver_bin}: {e}. The dashboard test needs Debian's chromium and chromium-driver \
                     (apt-get install chromium chromium-driver; .ci/run does) or CHROMEDRIVER=<path>"
                )
            });
        let addr = format!("127.0.0.1:{port}");
        let caps = json!({"capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": {
            "binary": chromium,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1280,1000", "--lang=zh-CN"]}}}});
        let started = Instant::now();
        let session = loop {
            match wd(&addr, "POST", "/session", Some(caps.clone())) {
                Ok(v) => break v["sessionId"].as_str().unwrap().to_string(),
                Err(e) if started.elapsed() > Duration::from_secs(30) => {
                    panic!("no browser session from {driver_bin} with {chromium}: {e}")
                }
                Err(_) => std::thread::sleep(Duration::from_millis(200)),
            }
        };
        Browser {
            driver,
            addr,
            session,
        }
    }

    fn cmd(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        wd(
            &self.addr,
            method,
            &format!("/session/{}{path}", self.session),
            body,
        )
        .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
    }

    fn go(&self, url: &str) {
        self.cmd("POST", "/url", Some(json!({ "url": url })));
    }

    fn script(&self, js: &str) -> Value {
        self.cmd(
            "POST",
            "/execute/sync",
            Some(json!({"script": js, "args": []})),
        )
    }

    /// Waits until `js` returns something truthy, and returns it.
    fn until(&self, js: &str, what: &str) -> Value {
        let started = Instant::now();
        loop {
            let v = self.script(js);
            if !(v.is_null()
                || v == json!(false)
                || v == json!(0)
                || v == json!("")
                || v == json!([]))
            {
                return v;
            }
            if started.elapsed() > Duration::from_secs(30) {
                let page = self.script("return document.body.innerText");
                panic!("waited 30 s for {what}; the page shows:\n{page}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn element(&self, css: &str) -> String {
        let v = self.cmd(
            "POST",
            "/element",
            Some(json!({"using": "css selector", "value": css})),
        );
        v.as_object()
            .and_then(|o| o.values().next())
            .and_then(Value::as_str)
            .unwrap()
            .to_string()
    }

    fn click(&self, css: &str) {
        let id = self.element(css);
        self.cmd("POST", &format!("/element/{id}/click"), Some(json!({})));
    }

    fn type_into(&self, css: &str, text: &str) {
        let id = self.element(css);
        self.cmd("POST", &format!("/element/{id}/clear"), Some(json!({})));
        self.cmd(
            "POST",
            &format!("/element/{id}/value"),
            Some(json!({ "text": text })),
        );
    }

    fn sign_in(&self, base: &str, user: &str) {
        self.go(base);
        self.script(
            "sessionStorage.clear(); localStorage.setItem('gridmark.lang', 'zh'); return 1",
        );
        self.go(base);
        self.type_into("#user", user);
        self.type_into("#password", "Xihu-meters-2025");
        self.click("#login");
        self.until(
            "return document.querySelectorAll('nav [data-page]').length",
            "the menu after signing in",
        );
        assert_eq!(
            self.script("return getComputedStyle(document.querySelector('#login-form')).display"),
            json!("none"),
            "the sign-in form is gone once signed in"
        );
    }

    fn menu(&self) -> Vec<String> {
        let v = self.script(
            "return [...document.querySelectorAll('nav [data-page]')].map(b => b.dataset.page)",
        );
        serde_json::from_value(v.clone()).unwrap_or_else(|e| panic!("{e}: {v}"))
    }

    /// Opens a page from the menu and waits until it is drawn.
    fn open_page(&self, page: &str) {
        self.click(&format!("nav [data-page=\"{page}\"]"));
        self.until(
            &format!("return document.querySelector('#page').dataset.shown === '{page}'"),
            page,
        );
    }

    fn text(&self, css: &str) -> String {
        self.script(&format!(
            "const e = document.querySelector({css:?}); return e ? e.innerText : ''"
        ))
        .as_str()
        .unwrap_or_default()
        .to_string()
    }

    fn screenshot(&self, name: &str) {
        if let Ok(dir) = std::env::var("GRIDMARK_SCREENSHOTS") {
            let png = self.cmd("GET", "/screenshot", None);
            let bytes = decode_base64(png.as_str().unwrap());
            std::fs::write(
                std::path::Path::new(&dir).join(format!("{name}.png")),
                bytes,
            )
            .unwrap();
        }
    }
}

fn decode_base64(s: &str) -> Vec<u8> {
    let val = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        _ => 63,
    };
    let clean: Vec<u8> = s
        .bytes()
        .filter(|c| *c != b'=' && !c.is_ascii_whitespace())
        .collect();
    let mut out = Vec::with_capacity(clean.len() * 3 / 4);
    for chunk in clean.chunks(4) {
        let mut n = 0u32;
        for (i, c) in chunk.iter().enumerate() {
            n |= (val(*c) as u32) << (18 - 6 * i);
        }
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&bytes[..chunk.len() - 1]);
    }
    out
}

const ALL_PAGES: &[&str] = &[
    "overview", "quality", "suspects", "lineloss", "segments", "topics", "service", "alerts",
    "risks", "audit", "tables",
];

#[test]
fn each_role_sees_its_own_dashboard_in_a_real_browser() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let l = lake.to_str().unwrap();
    demo(l, 80, 60, 11);
    let region = first_region(l);
    let in_region: usize = ok(&[
        "--data",
        l,
        "sql",
        &format!("SELECT count(*) AS n FROM customers WHERE region = '{region}'"),
        "--format",
        "csv",
    ])
    .lines()
    .nth(1)
    .unwrap()
    .parse()
    .unwrap();
    // Alerts for the alerts page, from the shipped rules.
    let rules = dir.path().join("rules.toml");
    ok(&["risk", "rules", "init", rules.to_str().unwrap()]);
    ok(&[
        "--data",
        l,
        "risk",
        "run",
        "--rules",
        rules.to_str().unwrap(),
    ]);
    let admin = add_user(l, "admin.zhao", "admin", "");
    add_user(l, "wang.fang", "marketing_analyst", "");
    let inspector = add_user(l, "li.wei", "metering_inspector", &region);
    add_user(l, "chen.jing", "service_agent", "");
    add_user(l, "audit.qian", "auditor", "");
    let srv = start(l);
    let base = format!("http://{}/", srv.1);
    // A holiday whose name is markup: the page must show it as text.
    let hostile =
        "day,name,kind\n2030-02-02,<img id=xss src=x onerror=\"document.title='owned'\">,holiday\n";
    let r = request(
        &srv.1,
        "POST",
        "/api/ingest/holidays",
        Some(&admin),
        &[("Content-Type", "text/csv")],
        hostile.as_bytes(),
    );
    assert_eq!(r.status, 200, "{}", r.text());

    // The inspector's alerts are those of their region only.
    let all_open = get_json(&srv.1, "/api/alerts?status=open", &admin);
    let all_open = all_open.as_array().unwrap().len();
    assert!(all_open > 0, "the shipped rules raise alerts on this demo");
    let theirs = get_json(&srv.1, "/api/alerts?status=open", &inspector);
    assert!(theirs.as_array().unwrap().len() <= all_open);

    let b = Browser::open();
    let shots = |role: &str, page: &str| b.screenshot(&format!("{role}-{page}"));

    // The admin and the auditor see every page; the admin acknowledges an alert.
    b.sign_in(&base, "admin.zhao");
    assert_eq!(b.menu(), ALL_PAGES);
    b.open_page("alerts");
    b.until(
        "return document.querySelectorAll('[data-ack]').length",
        "acknowledge buttons",
    );
    let before = b
        .script("return document.querySelectorAll('[data-ack]').length")
        .as_u64()
        .unwrap();
    assert_eq!(before as usize, all_open);
    b.click("[data-ack]");
    b.until(
        &format!(
            "return document.querySelectorAll('[data-ack]').length === {}",
            before - 1
        ),
        "one alert fewer to acknowledge",
    );
    shots("admin", "alerts");
    b.sign_in(&base, "audit.qian");
    assert_eq!(b.menu(), ALL_PAGES);
    // The auditor: the ledger is intact, and security alerts are on the same page.
    b.open_page("audit");
    assert_eq!(b.text("#ledger-status"), "完整");
    shots("auditor", "audit");

    // The analyst: no audit; customers masked; the overview has sales and load.
    b.sign_in(&base, "wang.fang");
    assert_eq!(
        b.menu(),
        [
            "overview", "quality", "suspects", "lineloss", "segments", "topics", "service",
            "alerts", "risks", "tables"
        ]
    );
    b.until(
        "return document.querySelector('[data-kpi=sales]')",
        "the sales KPI",
    );
    assert!(b.text("[data-kpi=customers] .v").replace(',', "") == "80");
    assert!(
        b.script("return document.querySelectorAll('svg.chart').length")
            .as_u64()
            .unwrap()
            >= 2
    );
    shots("analyst", "overview");
    b.open_page("alerts");
    assert_eq!(
        b.script("return document.querySelectorAll('[data-ack]').length"),
        json!(0),
        "analysts may not acknowledge"
    );
    b.open_page("tables");
    b.script("[...document.querySelectorAll('tr.pick')].find(r => r.cells[0].innerText === 'customers').click(); return 1");
    b.until(
        "return document.body.innerText.includes('个人信息已脱敏')",
        "the masked customer table",
    );
    let phones = b.script(
        "const t = [...document.querySelectorAll('table')].pop(); const i = [...t.querySelectorAll('th')].findIndex(h => h.innerText === 'phone'); \
         return [...t.querySelectorAll('tbody tr')].map(r => r.cells[i].innerText)",
    );
    let phones: Vec<String> = serde_json::from_value(phones).unwrap();
    assert_eq!(phones.len(), 80);
    assert!(phones.iter().all(|p| p.contains("****")), "{phones:?}");
    // The hostile holiday is shown as its text; nothing ran.
    b.open_page("tables");
    b.script("[...document.querySelectorAll('tr.pick')].find(r => r.cells[0].innerText === 'holidays').click(); return 1");
    b.until(
        "return document.body.innerText.includes('<img id=xss')",
        "the holiday name as text",
    );
    assert_eq!(
        b.script("return document.querySelector('#xss') === null && document.title !== 'owned'"),
        json!(true)
    );
    shots("analyst", "tables");

    // The inspector: metering pages only, one region, acknowledges alerts, sees names.
    b.sign_in(&base, "li.wei");
    assert_eq!(
        b.menu(),
        [
            "overview", "quality", "suspects", "lineloss", "alerts", "risks", "tables"
        ]
    );
    b.until(
        "return document.querySelector('[data-kpi=customers]')",
        "the customers KPI",
    );
    assert_eq!(
        b.text("[data-kpi=customers] .v").replace(',', ""),
        in_region.to_string(),
        "the overview counts the inspector's region only"
    );
    b.open_page("suspects");
    let areas = b.script(
        "const t = document.querySelector('table'); if (!t) return []; const i = [...t.querySelectorAll('th')].findIndex(h => h.innerText === 'area_id'); \
         return [...t.querySelectorAll('tbody tr')].map(r => r.cells[i].innerText)",
    );
    let theirs = get_json(&srv.1, "/api/tables/areas?limit=1000", &admin);
    let region_areas: std::collections::BTreeSet<&str> = theirs["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["region"] == region.as_str())
        .map(|a| a["area_id"].as_str().unwrap())
        .collect();
    for a in serde_json::from_value::<Vec<String>>(areas).unwrap() {
        assert!(
            region_areas.contains(a.as_str()),
            "suspect in area {a} outside {region}"
        );
    }
    shots("inspector", "suspects");
    b.open_page("alerts");
    let shown = b.script("return document.querySelectorAll('#page tbody tr').length");
    assert_eq!(
        shown.as_u64().unwrap() as usize,
        get_json(&srv.1, "/api/alerts", &inspector)
            .as_array()
            .unwrap()
            .len()
    );

    // The service agent: service and marketing, customers in clear; typing #audit does nothing.
    b.sign_in(&base, "chen.jing");
    assert_eq!(
        b.menu(),
        ["overview", "segments", "topics", "service", "tables"]
    );
    b.go(&format!("{base}#audit"));
    b.until(
        "return document.querySelector('#page').dataset.shown",
        "a page",
    );
    assert_eq!(
        b.script("return document.querySelector('#page').dataset.shown"),
        json!("overview")
    );
    b.open_page("service");
    b.until(
        "return document.querySelectorAll('section.card table').length >= 2",
        "channel and satisfaction tables",
    );
    shots("agent", "service");

    // The language switch.
    assert_eq!(b.text("nav [data-page=overview]"), "总览");
    b.click("#lang");
    b.until(
        "return document.querySelector('nav [data-page=overview]').innerText === 'Overview'",
        "English",
    );
    shots("agent", "english");
    // Signing out forgets the token.
    b.click("#logout");
    assert_eq!(
        b.script("return sessionStorage.getItem('gridmark.token')"),
        Value::Null
    );
    drop(b);
    drop(srv);
}
