//! A `gridmark serve` process and a plain HTTP/1.1 client over a real socket.

use super::ok;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

/// A `gridmark serve` process, the address it listens on, and what it has printed on
/// standard error since; killed when dropped.
pub struct Server(pub Child, pub String, pub Arc<Mutex<String>>);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn start(lake: &str) -> Server {
    start_with(lake, &[])
}

/// Starts `gridmark serve` with extra options.
pub fn start_with(lake: &str, options: &[&str]) -> Server {
    start_env(lake, options, &[])
}

/// Starts `gridmark serve` with extra options and environment variables.
pub fn start_env(lake: &str, options: &[&str], env: &[(&str, &str)]) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_gridmark"))
        .args(["--data", lake, "serve", "--addr", "127.0.0.1:0"])
        .args(options)
        .envs(env.iter().copied())
        .env_remove("GRIDMARK_DATA")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut before = String::new();
    while !line.contains("listening on") {
        before.push_str(&line);
        line.clear();
        assert!(
            err.read_line(&mut line).unwrap() > 0,
            "the server ended: {before}"
        );
    }
    // Kept reading, so the server never writes to a closed pipe.
    let log = Arc::new(Mutex::new(before));
    let sink = log.clone();
    std::thread::spawn(move || {
        let mut l = String::new();
        while err.read_line(&mut l).is_ok_and(|n| n > 0) {
            sink.lock().unwrap().push_str(&l);
            l.clear();
        }
    });
    let addr = line
        .split("://")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    Server(child, addr, log)
}

/// One answer: status, the header block, and the body as bytes.
pub struct Answer {
    pub status: u16,
    pub head: String,
    pub body: Vec<u8>,
}

impl Answer {
    /// A header's value, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<String> {
        let want = format!("{}:", name.to_ascii_lowercase());
        self.head.lines().find_map(|l| {
            l.to_ascii_lowercase()
                .starts_with(&want)
                .then(|| l[want.len()..].trim().to_string())
        })
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).to_string()
    }
}

/// One HTTP/1.1 request with extra headers (JSON is the default Content-Type).
pub fn request(
    addr: &str,
    method: &str,
    path: &str,
    token: Option<&str>,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Answer {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    let mut extra = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    if !headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
    {
        extra.push_str("Content-Type: application/json\r\n");
    }
    for (k, v) in headers {
        extra.push_str(&format!("{k}: {v}\r\n"));
    }
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).unwrap();
    let _ = s.write_all(body);
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(raw.len());
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let body = raw.get(split + 4..).unwrap_or_default().to_vec();
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    Answer { status, head, body }
}

/// (status, content type, body) of one HTTP/1.1 request.
pub fn call(
    addr: &str,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: &[u8],
) -> (u16, String, String) {
    let a = request(addr, method, path, token, &[], body);
    (
        a.status,
        a.header("content-type").unwrap_or_default(),
        a.text(),
    )
}

pub fn get_json(addr: &str, path: &str, token: &str) -> serde_json::Value {
    let (status, _, body) = call(addr, "GET", path, Some(token), b"");
    assert_eq!(status, 200, "{path}: {body}");
    serde_json::from_str(&body).unwrap()
}

pub fn add_user(lake: &str, name: &str, role: &str, scope: &str) -> String {
    let mut args = vec!["--data", lake, "users", "add", name, "--role", role];
    if !scope.is_empty() {
        args.extend(["--scope", scope]);
    }
    let out = Command::new(env!("CARGO_BIN_EXE_gridmark"))
        .args(&args)
        .env_remove("GRIDMARK_DATA")
        .env("GRIDMARK_PASSWORD", "Xihu-meters-2025")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    ok(&["--data", lake, "users", "tokens", "issue", name])
        .trim()
        .to_string()
}
