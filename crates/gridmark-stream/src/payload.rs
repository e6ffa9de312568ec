//! The JSON payload of a meter message.
//!
//! One message carries one reading, a list of readings, or one meter's batch:
//!
//! ```json
//! {"meter_id": "M0001", "ts": "2025-01-01T00:15:00Z", "kwh": 0.25, "interval_s": 900}
//! [{"meter_id": "M0001", "ts": 1735690500000, "kwh": 0.25}, …]
//! {"meter_id": "M0001", "interval_s": 900, "readings": [["2025-01-01T00:15:00Z", 0.25], …]}
//! ```
//!
//! `ts` is the start of the interval: an ISO-8601 time with `Z` or an offset, or UTC
//! milliseconds since 1970. `interval_s` defaults to the subscriber's `--interval-s`. When
//! `meter_id` is missing it is taken from the topic's second level (`meters/<id>/readings`).
//! A message is taken whole or rejected whole, with the reason naming the reading and field.

use serde_json::Value;

/// One interval reading.
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    pub meter_id: String,
    pub ts_ms: i64,
    pub kwh: f64,
    pub interval_s: i64,
}

/// Largest absolute energy accepted for one interval, kWh (a typo guard, not physics).
const MAX_KWH: f64 = 1e7;
/// 2000-01-01 and 2100-01-01 in UTC milliseconds.
const EARLIEST_MS: i64 = 946_684_800_000;
const LATEST_MS: i64 = 4_102_444_800_000;

fn ts_of(v: &Value, at: &str) -> Result<i64, String> {
    let ms = match v {
        Value::String(s) => gridmark_core::civil::parse_timestamp(s.as_bytes())
            .ok_or_else(|| format!("{at}ts `{s}` is not a timestamp"))?
            .utc_ms()
            .ok_or_else(|| {
                format!("{at}ts `{s}` has no zone: end it with Z or an offset like +08:00")
            })?,
        Value::Number(n) => n
            .as_i64()
            .ok_or_else(|| format!("{at}ts {n} is not whole milliseconds"))?,
        Value::Null => return Err(format!("{at}ts is missing")),
        other => return Err(format!("{at}ts {other} is neither a time nor milliseconds")),
    };
    if !(EARLIEST_MS..LATEST_MS).contains(&ms) {
        return Err(format!(
            "{at}ts {} is outside 2000–2099 (milliseconds expected, not seconds)",
            gridmark_core::civil::format_utc(ms)
        ));
    }
    Ok(ms)
}

fn kwh_of(v: &Value, at: &str) -> Result<f64, String> {
    let x = match v {
        Value::Number(n) => n.as_f64(),
        Value::Null => return Err(format!("{at}kwh is missing")),
        _ => None,
    }
    .ok_or_else(|| format!("{at}kwh {v} is not a number"))?;
    if !x.is_finite() || x.abs() > MAX_KWH {
        return Err(format!("{at}kwh {x} is out of range"));
    }
    Ok(x)
}

fn interval_of(v: Option<&Value>, default: i64, at: &str) -> Result<i64, String> {
    match v {
        None | Some(Value::Null) => Ok(default),
        Some(x) => x
            .as_i64()
            .filter(|s| (1..=86_400).contains(s) && 86_400 % s == 0)
            .ok_or_else(|| format!("{at}interval_s {x} must divide a day (e.g. 900)")),
    }
}

fn meter_of(v: Option<&Value>, topic_meter: Option<&str>, at: &str) -> Result<String, String> {
    match v {
        Some(Value::String(s)) if !s.trim().is_empty() && s.len() <= 128 => Ok(s.trim().into()),
        Some(Value::Number(n)) => Ok(n.to_string()),
        None | Some(Value::Null) => topic_meter
            .map(str::to_string)
            .ok_or_else(|| format!("{at}meter_id is missing and the topic names none")),
        Some(other) => Err(format!("{at}meter_id {other} is not a meter number")),
    }
}

/// The meter named by a topic `<anything>/<meter>/…`: its second level.
pub fn topic_meter(topic: &str) -> Option<&str> {
    topic.split('/').nth(1).filter(|s| !s.is_empty())
}

fn one(
    v: &Value,
    topic_meter: Option<&str>,
    default_interval: i64,
    at: &str,
    out: &mut Vec<Reading>,
) -> Result<(), String> {
    let Value::Object(o) = v else {
        return Err(format!("{at}expected an object, found {}", kind(v)));
    };
    let meter_id = meter_of(o.get("meter_id"), topic_meter, at)?;
    let interval_s = interval_of(o.get("interval_s"), default_interval, at)?;
    if let Some(list) = o.get("readings") {
        let Value::Array(items) = list else {
            return Err(format!("{at}readings must be a list"));
        };
        for (k, item) in items.iter().enumerate() {
            let here = format!("{at}readings[{k}]: ");
            let (ts, kwh) = match item {
                Value::Array(pair) if pair.len() == 2 => (&pair[0], &pair[1]),
                Value::Object(r) => (
                    r.get("ts").unwrap_or(&Value::Null),
                    r.get("kwh").unwrap_or(&Value::Null),
                ),
                other => {
                    return Err(format!(
                        "{here}expected [ts, kwh] or {{\"ts\", \"kwh\"}}, found {}",
                        kind(other)
                    ));
                }
            };
            out.push(Reading {
                meter_id: meter_id.clone(),
                ts_ms: ts_of(ts, &here)?,
                kwh: kwh_of(kwh, &here)?,
                interval_s,
            });
        }
        return Ok(());
    }
    out.push(Reading {
        meter_id,
        ts_ms: ts_of(o.get("ts").unwrap_or(&Value::Null), at)?,
        kwh: kwh_of(o.get("kwh").unwrap_or(&Value::Null), at)?,
        interval_s,
    });
    Ok(())
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// Parses one message into `out`; on error nothing is added and the reason names the
/// reading and field.
pub fn parse(
    payload: &[u8],
    topic: &str,
    default_interval_s: i64,
    out: &mut Vec<Reading>,
) -> Result<usize, String> {
    let v: Value = serde_json::from_slice(payload).map_err(|e| format!("not JSON: {e}"))?;
    let meter = topic_meter(topic);
    let start = out.len();
    let result = match &v {
        Value::Array(items) => items.iter().enumerate().try_for_each(|(k, item)| {
            one(item, meter, default_interval_s, &format!("[{k}]: "), out)
        }),
        other => one(other, meter, default_interval_s, "", out),
    };
    if let Err(e) = result {
        out.truncate(start);
        return Err(e);
    }
    if out.len() == start {
        return Err("no readings in the message".into());
    }
    Ok(out.len() - start)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(text: &str, topic: &str) -> Vec<Reading> {
        let mut out = Vec::new();
        parse(text.as_bytes(), topic, 900, &mut out).unwrap();
        out
    }

    fn err(text: &str) -> String {
        let mut out = vec![];
        let e = parse(text.as_bytes(), "meters/M9/readings", 900, &mut out).unwrap_err();
        assert!(out.is_empty());
        e
    }

    #[test]
    fn the_three_forms() {
        let r = ok(
            r#"{"meter_id":"M1","ts":"2025-01-01T08:15:00+08:00","kwh":0.25}"#,
            "meters/M1/readings",
        );
        assert_eq!(r[0].ts_ms, 1_735_690_500_000);
        assert_eq!((r[0].kwh, r[0].interval_s), (0.25, 900));
        let r = ok(
            r#"[{"meter_id":"M1","ts":1735690500000,"kwh":1},{"ts":1735691400000,"kwh":2,"interval_s":1800}]"#,
            "meters/M7/readings",
        );
        assert_eq!(r.len(), 2);
        assert_eq!(r[1].meter_id, "M7", "from the topic");
        assert_eq!(r[1].interval_s, 1800);
        let r = ok(
            r#"{"interval_s":3600,"readings":[["2025-01-01T00:00:00Z",1.5],{"ts":"2025-01-01T01:00:00Z","kwh":-0.5}]}"#,
            "meters/M3/readings",
        );
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].meter_id, "M3");
        assert_eq!(r[1].kwh, -0.5);
    }

    #[test]
    fn bad_messages_say_what_and_where() {
        assert!(err("{not json").starts_with("not JSON"));
        assert!(err(r#"{"ts":"2025-01-01T00:00:00Z"}"#).contains("kwh is missing"));
        assert!(err(r#"{"ts":"2025-01-01 00:00","kwh":1}"#).contains("has no zone"));
        assert!(err(r#"{"ts":1735690500,"kwh":1}"#).contains("not seconds"));
        assert!(err(r#"{"ts":"soon","kwh":1}"#).contains("`soon` is not a timestamp"));
        let e = err(r#"{"readings":[["2025-01-01T00:00:00Z",1],["2025-01-01T00:15:00Z","x"]]}"#);
        assert!(e.starts_with("readings[1]: kwh"), "{e}");
        let e =
            err(r#"[{"ts":1735690500000,"kwh":1},{"ts":1735690500000,"kwh":1,"interval_s":7}]"#);
        assert!(e.starts_with("[1]: interval_s 7"), "{e}");
        assert!(err("[]").contains("no readings"));
        assert!(err("42").contains("expected an object"));
        let mut out = Vec::new();
        let e = parse(br#"{"ts":1735690500000,"kwh":1}"#, "flat", 900, &mut out).unwrap_err();
        assert!(e.contains("meter_id is missing"), "{e}");
        assert!(err(r#"{"ts":1735690500000,"kwh":1e300}"#).contains("out of range"));
    }
}
