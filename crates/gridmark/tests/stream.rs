//! `gridmark ingest mqtt` against the real Mosquitto broker on 127.0.0.1:1883 (which `.ci/run`
//! starts when absent): readings published with QoS 1 land in the lake exactly once while the
//! subscriber is killed and restarted mid-stream, and a flood of malformed messages is
//! counted and rejected without losing valid ones.

mod common;
use common::{fails, ok};
use rumqttc::{Client, Event, Incoming, MqttOptions, QoS};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const BROKER: &str = "127.0.0.1:1883";

fn broker_up() {
    assert!(
        std::net::TcpStream::connect_timeout(&BROKER.parse().unwrap(), Duration::from_secs(2))
            .is_ok(),
        "no MQTT broker on {BROKER}: start Mosquitto (`mosquitto -d`; `.ci/run` does it)"
    );
}

/// Starts the subscriber on the shared broker and waits until its session is subscribed.
fn subscriber(lake: &str, topic: &str, client: &str, extra: &[&str]) -> Child {
    subscriber_on(BROKER, lake, topic, client, extra)
}

fn subscriber_on(broker: &str, lake: &str, topic: &str, client: &str, extra: &[&str]) -> Child {
    let mut child = Command::new(env!("CARGO_BIN_EXE_gridmark"))
        .args([
            "--data",
            lake,
            "ingest",
            "mqtt",
            "--broker",
            broker,
            "--topic",
            topic,
            "--client-id",
            client,
            "--commit-seconds",
            "0.3",
        ])
        .args(extra)
        .env_remove("GRIDMARK_DATA")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.contains("subscribed, receiving") {
                let _ = tx.send(());
            }
        }
    });
    rx.recv_timeout(Duration::from_secs(20))
        .expect("the subscriber did not connect within 20 s");
    child
}

fn count(lake: &str, sql: &str) -> u64 {
    let out = ok(&["--data", lake, "sql", sql, "--format", "csv"]);
    out.lines().nth(1).unwrap().trim().parse().unwrap()
}

/// Publishes `messages` with QoS 1 and waits for every PUBACK; `pace` between messages.
fn publish(topic_of: impl Fn(usize) -> String, messages: Vec<Vec<u8>>, pace: Duration) {
    let id = format!("gm-pub-{}-{}", std::process::id(), rand_suffix());
    let mut o = MqttOptions::new(id, "127.0.0.1", 1883);
    o.set_keep_alive(Duration::from_secs(10))
        .set_max_packet_size(1 << 20, 1 << 20);
    let (client, mut conn) = Client::new(o, 1000);
    let total = messages.len();
    let acks = std::thread::spawn(move || {
        let mut n = 0;
        for ev in conn.iter() {
            match ev {
                Ok(Event::Incoming(Incoming::PubAck(_))) => {
                    n += 1;
                    if n == total {
                        break;
                    }
                }
                Ok(_) => {}
                Err(e) => panic!("publisher lost the broker: {e}"),
            }
        }
    });
    for (k, m) in messages.into_iter().enumerate() {
        client
            .publish(topic_of(k), QoS::AtLeastOnce, false, m)
            .unwrap();
        std::thread::sleep(pace);
    }
    acks.join().unwrap();
    let _ = client.disconnect();
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

#[test]
fn readings_land_exactly_once_through_kills_and_garbage() {
    broker_up();
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let l = lake.to_str().unwrap();
    let run = format!("{}-{}", std::process::id(), rand_suffix());
    let topic = format!("gm-test-{run}/+/readings");
    let client = format!("gm-sub-{run}");
    // 300 messages of 20 readings from 30 meters (6,000 distinct readings), and after every
    // third one a malformed message.
    let mut messages = Vec::new();
    let mut topics = Vec::new();
    for k in 0..300usize {
        let meter = format!("M{:03}", k % 30);
        let first = 1_735_689_600_000i64 + (k / 30) as i64 * 20 * 900_000;
        let readings: Vec<String> = (0..20)
            .map(|j| {
                format!(
                    "[{}, {}]",
                    first + j * 900_000,
                    0.1 + (k * 20 + j as usize) as f64 * 1e-4
                )
            })
            .collect();
        messages.push(
            format!(
                "{{\"meter_id\":\"{meter}\",\"readings\":[{}]}}",
                readings.join(",")
            )
            .into_bytes(),
        );
        topics.push(format!("gm-test-{run}/{meter}/readings"));
        if k % 3 == 2 {
            let junk: &[u8] = match k % 4 {
                0 => b"{not json",
                1 => br#"{"meter_id":"M1","ts":"yesterday","kwh":1}"#,
                2 => br#"{"meter_id":"M1","ts":1735689600000}"#,
                _ => &[0xff, 0xfe, 0x00],
            };
            messages.push(junk.to_vec());
            topics.push(format!("gm-test-{run}/junk/readings"));
        }
    }
    let total = messages.len();
    // The first start creates the persistent session; the broker keeps messages for it from
    // then on, even while the subscriber is dead.
    let mut sub = subscriber(l, &topic, &client, &[]);
    let publisher = std::thread::spawn(move || {
        publish(|k| topics[k].clone(), messages, Duration::from_millis(6))
    });
    // Kill it twice mid-stream (SIGKILL: no chance to flush) and start it again.
    for pause in [500, 700] {
        std::thread::sleep(Duration::from_millis(pause));
        sub.kill().unwrap();
        sub.wait().unwrap();
        sub = subscriber(l, &topic, &client, &[]);
    }
    publisher.join().unwrap();
    sub.kill().unwrap();
    sub.wait().unwrap();
    // The last run drains what the broker kept and stops when idle.
    let last = subscriber(l, &topic, &client, &["--idle-exit", "2", "--json"]);
    let out = last.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        report["commit_errors"].as_array().unwrap().is_empty(),
        "{report}"
    );
    assert_eq!(
        count(l, "SELECT count(*) FROM readings"),
        6000,
        "every reading exactly once; last run: {report}"
    );
    assert_eq!(
        count(
            l,
            "SELECT count(DISTINCT meter_id || CAST(ts AS VARCHAR)) FROM readings"
        ),
        6000
    );
    assert_eq!(
        count(l, "SELECT count(DISTINCT meter_id) FROM readings"),
        30
    );
    // Every malformed message was logged with its reason (some twice: a kill can come
    // between logging and acknowledging).
    let rejects = std::fs::read_to_string(
        lake.join("_stream")
            .join(format!("mqtt-{client}"))
            .join("rejects.log"),
    )
    .unwrap();
    assert!(rejects.lines().count() >= total - 300, "{rejects}");
    assert!(rejects.contains("not JSON") && rejects.contains("`yesterday` is not a timestamp"));
    assert!(rejects.contains("kwh is missing"), "{rejects}");
    forget_session(&client);
}

/// Connects once with a clean session so the broker drops the test's persistent one.
fn forget_session(client: &str) {
    let mut o = MqttOptions::new(client, "127.0.0.1", 1883);
    o.set_clean_session(true);
    let (c, mut conn) = Client::new(o, 10);
    for ev in conn.iter() {
        if matches!(ev, Ok(Event::Incoming(Incoming::ConnAck(_))) | Err(_)) {
            break;
        }
    }
    let _ = c.disconnect();
}

#[test]
fn bad_options_and_an_absent_broker_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let l = dir.path().join("lake");
    let l = l.to_str().unwrap();
    let err = fails(&["--data", l, "ingest", "mqtt", "--broker", "host:port"]);
    assert!(
        err.contains("--broker") && err.contains("host:port"),
        "{err}"
    );
    let err = fails(&["--data", l, "ingest", "mqtt", "--interval", "7s"]);
    assert!(
        err.contains("--interval-s") && err.contains("does not divide a day"),
        "{err}"
    );
    let started = Instant::now();
    let err = fails(&["--data", l, "ingest", "mqtt", "--broker", "127.0.0.1:1"]);
    assert!(
        err.contains("127.0.0.1:1") && err.contains("broker"),
        "{err}"
    );
    assert!(started.elapsed() < Duration::from_secs(30));
}

/// A broker of the test's own on a free port, with persistence in `dir`.
fn start_broker(dir: &std::path::Path, port: u16) -> Child {
    // Started as root, Mosquitto drops to its own user, which must be able to save there.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    let conf = dir.join("mosquitto.conf");
    std::fs::write(
        &conf,
        format!(
            "listener {port} 127.0.0.1\nallow_anonymous true\npersistence true\npersistence_location {}/\nmax_queued_messages 0\n",
            dir.display()
        ),
    )
    .unwrap();
    let child = Command::new("mosquitto")
        .arg("-c")
        .arg(&conf)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("mosquitto is not installed (`apt-get install mosquitto`; `.ci/run` does it)");
    let addr = format!("127.0.0.1:{port}").parse().unwrap();
    let until = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
        assert!(Instant::now() < until, "mosquitto did not start on {port}");
        std::thread::sleep(Duration::from_millis(50));
    }
    child
}

/// Stops a broker the way a service manager does (SIGTERM), so it saves its sessions.
fn stop_broker(mut b: Child) {
    Command::new("kill")
        .args(["-TERM", &b.id().to_string()])
        .status()
        .unwrap();
    b.wait().unwrap();
}

#[test]
fn a_broker_restart_mid_stream_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut broker = start_broker(dir.path(), port);
    let lake = dir.path().join("lake");
    let l = lake.to_str().unwrap().to_string();
    let addr = format!("127.0.0.1:{port}");
    let sub = subscriber_on(
        &addr,
        &l,
        "meters/+/readings",
        "restart-test",
        &["--idle-exit", "4", "--json"],
    );
    // 200 messages of 10 readings; the publisher keeps its own session and resends what the
    // broker had not acknowledged when it went away.
    let publisher = std::thread::spawn(move || {
        let mut o = MqttOptions::new("restart-test-pub", "127.0.0.1", port);
        o.set_keep_alive(Duration::from_secs(5))
            .set_clean_session(false);
        let (client, mut conn) = Client::new(o, 1000);
        let acks = std::thread::spawn(move || {
            let mut n = 0;
            for ev in conn.iter() {
                match ev {
                    Ok(Event::Incoming(Incoming::PubAck(_))) => {
                        n += 1;
                        if n == 200 {
                            break;
                        }
                    }
                    Ok(_) => {}
                    Err(_) => std::thread::sleep(Duration::from_millis(100)),
                }
            }
        });
        for k in 0..200i64 {
            let readings: Vec<String> = (0..10)
                .map(|j| format!("[{}, 0.5]", 1_735_689_600_000 + (k * 10 + j) * 900_000))
                .collect();
            let body = format!("{{\"readings\":[{}]}}", readings.join(","));
            client
                .publish(
                    format!("meters/M{:02}/readings", k % 7),
                    QoS::AtLeastOnce,
                    false,
                    body,
                )
                .unwrap();
            std::thread::sleep(Duration::from_millis(10));
        }
        acks.join().unwrap();
        let _ = client.disconnect();
    });
    std::thread::sleep(Duration::from_millis(700));
    stop_broker(broker);
    std::thread::sleep(Duration::from_millis(300));
    broker = start_broker(dir.path(), port);
    publisher.join().unwrap();
    let out = sub.wait_with_output().unwrap();
    stop_broker(broker);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(count(&l, "SELECT count(*) FROM readings"), 2000, "{report}");
    assert_eq!(
        count(
            &l,
            "SELECT count(DISTINCT meter_id || CAST(ts AS VARCHAR)) FROM readings"
        ),
        2000
    );
}

#[test]
fn risk_rules_run_on_each_streamed_batch() {
    broker_up();
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let l = lake.to_str().unwrap();
    // 2025-01-01 … 2025-03-01, Asia/Shanghai.
    common::demo(l, 20, 60, 5);
    let rules = dir.path().join("rules.toml");
    let r = rules.to_str().unwrap();
    ok(&["risk", "rules", "init", r]);
    let run = format!("{}-{}", std::process::id(), rand_suffix());
    let topic = format!("gm-risk-{run}/+/readings");
    let client = format!("gm-risk-sub-{run}");
    let sub = subscriber(
        l,
        &topic,
        &client,
        &["--rules", r, "--idle-exit", "3", "--json"],
    );
    // The meter reads zero for four whole local days after the demo ends: one message a day.
    let first = 1_740_844_800_000i64; // 2025-03-02 00:00 +08:00
    let messages: Vec<Vec<u8>> = (0..4)
        .map(|d| {
            let readings: Vec<String> = (0..96)
                .map(|j| format!("[{}, 0.0]", first + (d * 96 + j) * 900_000))
                .collect();
            format!(
                "{{\"meter_id\":\"M0000003\",\"readings\":[{}]}}",
                readings.join(",")
            )
            .into_bytes()
        })
        .collect();
    let t = format!("gm-risk-{run}/M0000003/readings");
    publish(move |_| t.clone(), messages, Duration::from_millis(200));
    let out = sub.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["readings_stored"], 384);
    let alerts = common::json(&["--data", l, "risk", "alerts", "list", "--json"]);
    let alerts = alerts.as_array().unwrap();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0]["rule"], "zero-consumption");
    assert_eq!(alerts[0]["subject"], "M0000003");
    assert_eq!(alerts[0]["last_as_of"], "2025-03-05");
    assert_eq!(alerts[0]["evidence"]["current"], 4.0);
}
