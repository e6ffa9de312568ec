//! Sending alerts: an HTTP POST of JSON to a webhook, and plain SMTP to a relay.
//!
//! Both speak their protocol directly over a TCP socket with short timeouts: an alert must not
//! wait on a slow receiver, and a failed delivery is recorded and retried on the next run
//! rather than lost. HTTPS and SMTP authentication are not spoken; a local relay (nginx,
//! Postfix) is the usual bridge and docs/risk.md says so.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(5);

/// (host:port, path) of an `http://` URL.
pub fn parse_http_url(url: &str) -> Result<(String, String), String> {
    let rest = url.strip_prefix("http://").ok_or_else(|| {
        if url.starts_with("https://") {
            format!("{url}: https is not spoken; point at a local relay over http")
        } else {
            format!("{url}: expected http://host:port/path")
        }
    })?;
    let (host, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    if host.is_empty() || host.contains(['@', ' ']) || path.contains([' ', '\r', '\n']) {
        return Err(format!("{url}: expected http://host:port/path"));
    }
    let host = if host.contains(':') {
        host.to_string()
    } else {
        format!("{host}:80")
    };
    Ok((host, path.to_string()))
}

fn connect(addr: &str) -> Result<TcpStream, String> {
    let sock = addr
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {addr}: {e}"))?
        .next()
        .ok_or_else(|| format!("{addr} resolves to no address"))?;
    let s = TcpStream::connect_timeout(&sock, TIMEOUT).map_err(|e| format!("connect: {e}"))?;
    s.set_read_timeout(Some(TIMEOUT)).ok();
    s.set_write_timeout(Some(TIMEOUT)).ok();
    Ok(s)
}

/// POSTs `body` (JSON) to `url`; any 2xx status is success.
pub fn post_json(url: &str, body: &str) -> Result<u16, String> {
    let (host, path) = parse_http_url(url)?;
    let mut s = connect(&host)?;
    let req = format!(
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: gridmark\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes())
        .map_err(|e| format!("send: {e}"))?;
    let mut head = String::new();
    BufReader::new(s.take(64 * 1024))
        .read_line(&mut head)
        .map_err(|e| format!("read the answer: {e}"))?;
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| format!("not an HTTP answer: {:?}", head.trim_end()))?;
    if (200..300).contains(&status) {
        Ok(status)
    } else {
        Err(format!("HTTP {}", head.trim_end()))
    }
}

/// Reads one (possibly multi-line) SMTP reply and checks its code class.
fn reply(r: &mut impl BufRead, want: char, step: &str) -> Result<(), String> {
    loop {
        let mut line = String::new();
        let n = r.read_line(&mut line).map_err(|e| format!("{step}: {e}"))?;
        if n == 0 {
            return Err(format!("{step}: the server closed the connection"));
        }
        if !line.starts_with(want) {
            return Err(format!("{step}: {}", line.trim_end()));
        }
        // "250-…" continues, "250 …" ends.
        if line.as_bytes().get(3) != Some(&b'-') {
            return Ok(());
        }
    }
}

/// An RFC 2047 encoded word, so Chinese subjects survive 7-bit headers.
fn encode_header(text: &str) -> String {
    if text.is_ascii() {
        return text.to_string();
    }
    format!("=?UTF-8?B?{}?=", base64(text.as_bytes()))
}

fn base64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for c in bytes.chunks(3) {
        let n = (c[0] as u32) << 16
            | (*c.get(1).unwrap_or(&0) as u32) << 8
            | *c.get(2).unwrap_or(&0) as u32;
        for i in 0..4 {
            if i <= c.len() {
                out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Sends one plain-text message through the SMTP relay at `addr` (host:port).
pub fn send_mail(
    addr: &str,
    from: &str,
    to: &[String],
    subject: &str,
    body: &str,
    date_rfc2822: &str,
) -> Result<(), String> {
    let s = connect(addr)?;
    let mut w = s.try_clone().map_err(|e| e.to_string())?;
    let mut r = BufReader::new(s);
    let say = |w: &mut TcpStream, line: &str| {
        w.write_all(line.as_bytes())
            .and_then(|_| w.write_all(b"\r\n"))
            .map_err(|e| format!("send: {e}"))
    };
    reply(&mut r, '2', "greeting")?;
    say(&mut w, "EHLO gridmark")?;
    reply(&mut r, '2', "EHLO")?;
    say(&mut w, &format!("MAIL FROM:<{from}>"))?;
    reply(&mut r, '2', "MAIL FROM")?;
    for t in to {
        say(&mut w, &format!("RCPT TO:<{t}>"))?;
        reply(&mut r, '2', &format!("RCPT TO {t}"))?;
    }
    say(&mut w, "DATA")?;
    reply(&mut r, '3', "DATA")?;
    let mut msg = format!(
        "From: {from}\r\nTo: {}\r\nSubject: {}\r\nDate: {date_rfc2822}\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n",
        to.join(", "),
        encode_header(subject)
    );
    for line in body.lines() {
        // Dot-stuffing: a line starting with '.' would otherwise end the message early.
        if line.starts_with('.') {
            msg.push('.');
        }
        msg.push_str(line);
        msg.push_str("\r\n");
    }
    msg.push_str(".\r\n");
    w.write_all(msg.as_bytes())
        .map_err(|e| format!("send: {e}"))?;
    reply(&mut r, '2', "end of data")?;
    let _ = say(&mut w, "QUIT");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(
            parse_http_url("http://127.0.0.1:9000/a/b").unwrap(),
            ("127.0.0.1:9000".into(), "/a/b".into())
        );
        assert_eq!(parse_http_url("http://hooks").unwrap().0, "hooks:80");
        assert!(parse_http_url("https://x").unwrap_err().contains("https"));
        assert!(parse_http_url("ftp://x").is_err());
    }

    #[test]
    fn base64_matches_rfc4648() {
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
        assert_eq!(encode_header("台区"), "=?UTF-8?B?5Y+w5Yy6?=");
    }

    #[test]
    fn a_refused_connection_is_an_error_not_a_hang() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        drop(l);
        let e = post_json(&format!("http://{addr}/x"), "{}").unwrap_err();
        assert!(e.contains("connect"), "{e}");
    }
}
