//! `gridmark ingest mqtt`: subscribe, log, acknowledge, commit.

use crate::StreamError;
use crate::payload::{self, Reading};
use crate::wal::Wal;
use gridmark_ingest::{ImportOptions, NoProgress};
use gridmark_lake::Lake;
use rumqttc::{AsyncClient, Event, Incoming, MqttOptions, Publish, QoS};
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

/// How to subscribe and when to commit.
#[derive(Debug, Clone)]
pub struct StreamOptions {
    pub host: String,
    pub port: u16,
    /// Topic filter, e.g. `meters/+/readings`.
    pub topic: String,
    /// The persistent session's name: the broker keeps unacknowledged messages for it while
    /// the process is down. Two subscribers must not share it.
    pub client_id: String,
    /// Interval of readings whose message does not say.
    pub interval_s: i64,
    /// Seal and commit the open segment this often…
    pub commit_every: Duration,
    /// …or when it holds this many readings.
    pub commit_readings: u64,
    /// Stop after this long without a message (tests, batch catch-up); None runs until
    /// interrupted.
    pub idle_exit: Option<Duration>,
    /// Stop after this many messages.
    pub max_messages: Option<u64>,
    /// Largest message accepted, bytes.
    pub max_message_bytes: usize,
    /// Called after each segment reaches the lake (risk rules run on every batch).
    pub after_commit: Option<AfterCommit>,
}

/// A callback on the committer thread with the meters of the segment just committed. It
/// should hand the work off quickly: the next segment waits for it.
#[derive(Clone)]
pub struct AfterCommit(pub Arc<dyn Fn(Vec<String>) + Send + Sync>);

impl std::fmt::Debug for AfterCommit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AfterCommit")
    }
}

/// The distinct meter ids of a log segment (first CSV field, quotes undone).
fn segment_meters(path: &std::path::Path) -> Vec<String> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Vec::new();
    };
    let mut out: Vec<String> = text
        .lines()
        .skip(1)
        .filter_map(|line| {
            if let Some(rest) = line.strip_prefix('"') {
                let mut id = String::new();
                let mut chars = rest.chars().peekable();
                while let Some(c) = chars.next() {
                    if c == '"' {
                        if chars.peek() == Some(&'"') {
                            chars.next();
                            id.push('"');
                        } else {
                            break;
                        }
                    } else {
                        id.push(c);
                    }
                }
                Some(id)
            } else {
                line.split(',').next().map(str::to_string)
            }
        })
        .filter(|id| !id.is_empty())
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

impl Default for StreamOptions {
    fn default() -> Self {
        Self {
            host: "127.0.0.1".into(),
            port: 1883,
            topic: "meters/+/readings".into(),
            client_id: "gridmark-ingest".into(),
            interval_s: 900,
            commit_every: Duration::from_secs(2),
            commit_readings: 500_000,
            idle_exit: None,
            max_messages: None,
            max_message_bytes: 4 << 20,
            after_commit: None,
        }
    }
}

/// What a run did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct StreamReport {
    pub broker: String,
    pub topic: String,
    pub messages: u64,
    pub readings: u64,
    pub rejected_messages: u64,
    /// The first rejections: topic and reason.
    pub reject_examples: Vec<String>,
    /// Log segments left by an earlier run and committed at start.
    pub recovered_segments: usize,
    pub segments_committed: u64,
    pub readings_stored: u64,
    /// Readings the lake already held (redeliveries, replays).
    pub duplicates: u64,
    pub commit_errors: Vec<String>,
    pub disconnects: u64,
    pub seconds: f64,
    pub readings_per_second: f64,
    /// From a message's arrival to its commit, over committed segments (the oldest
    /// message of each segment): median and 99th percentile, ms.
    pub arrival_to_commit_ms_p50: Option<f64>,
    pub arrival_to_commit_ms_p99: Option<f64>,
}

/// Where a stream keeps its log: beside the lake's tables, one folder per session.
pub fn stream_dir(lake: &Lake, client_id: &str) -> PathBuf {
    let safe: String = client_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    lake.root().join("_stream").join(format!("mqtt-{safe}"))
}

struct Committed {
    segments: u64,
    stored: u64,
    duplicates: u64,
    errors: Vec<String>,
    latencies_ms: Vec<f64>,
}

/// Imports sealed segments in order on its own thread, so acknowledging goes on meanwhile.
struct Committer {
    tx: Option<mpsc::Sender<(PathBuf, Option<Instant>)>>,
    handle: Option<std::thread::JoinHandle<()>>,
    done: Arc<Mutex<Committed>>,
}

impl Committer {
    fn start(lake: Lake, stop: Arc<AtomicBool>, hook: Option<AfterCommit>) -> Committer {
        let (tx, rx) = mpsc::channel::<(PathBuf, Option<Instant>)>();
        let done = Arc::new(Mutex::new(Committed {
            segments: 0,
            stored: 0,
            duplicates: 0,
            errors: Vec::new(),
            latencies_ms: Vec::new(),
        }));
        let d = done.clone();
        let handle = std::thread::spawn(move || {
            let opts = ImportOptions {
                // The log holds only checked readings; one odd row must not hold the stream.
                max_reject_ratio: 1.0,
                threads: 1,
                ..ImportOptions::default()
            };
            for (path, first_arrival) in rx {
                let mut meters = hook.as_ref().map(|_| segment_meters(&path));
                let mut attempt = 0u32;
                loop {
                    let r = gridmark_ingest::import(
                        &lake,
                        "readings",
                        std::slice::from_ref(&path),
                        &opts,
                        Arc::new(gridmark_core::SystemClock),
                        &NoProgress,
                    );
                    match r {
                        Ok(rep) => {
                            let _ = std::fs::remove_file(&path);
                            if let (Some(h), Some(m)) = (&hook, meters.take()) {
                                (h.0)(m);
                            }
                            let mut d = d.lock().unwrap_or_else(|e| e.into_inner());
                            d.segments += 1;
                            d.stored += rep.accepted();
                            d.duplicates += rep.files.iter().map(|f| f.duplicates).sum::<u64>();
                            if let Some(t) = first_arrival {
                                d.latencies_ms.push(t.elapsed().as_secs_f64() * 1000.0);
                            }
                            break;
                        }
                        Err(e) => {
                            // The segment stays on disk: nothing is lost, the next start
                            // retries it if this run cannot.
                            let mut d = d.lock().unwrap_or_else(|e| e.into_inner());
                            if d.errors.len() < 20 {
                                d.errors.push(format!("{}: {e}", path.display()));
                            }
                            drop(d);
                            attempt += 1;
                            if attempt >= 5 && stop.load(Ordering::Relaxed) {
                                break;
                            }
                            std::thread::sleep(Duration::from_millis(200 * attempt.min(10) as u64));
                        }
                    }
                }
            }
        });
        Committer {
            tx: Some(tx),
            handle: Some(handle),
            done,
        }
    }

    fn send(&self, path: PathBuf, first_arrival: Option<Instant>) {
        if let Some(tx) = &self.tx {
            // The thread only ends when the sender is dropped.
            let _ = tx.send((path, first_arrival));
        }
    }

    fn finish(mut self) -> Committed {
        drop(self.tx.take());
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
        let d = self.done.lock().unwrap_or_else(|e| e.into_inner());
        Committed {
            segments: d.segments,
            stored: d.stored,
            duplicates: d.duplicates,
            errors: d.errors.clone(),
            latencies_ms: d.latencies_ms.clone(),
        }
    }
}

enum Wire {
    Message(Publish),
    Connected,
    Subscribed,
    Lost(String),
}

fn percentile(v: &mut [f64], q: f64) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let k = ((v.len() - 1) as f64 * q).round() as usize;
    Some(v[k])
}

/// Runs the subscriber until a stop condition, Ctrl-C, or a broker that cannot be reached at
/// start. `progress` gets a line every few seconds.
pub fn run(
    lake: &Lake,
    opts: &StreamOptions,
    progress: &mut dyn FnMut(&str),
) -> Result<StreamReport, StreamError> {
    if opts.topic.trim().is_empty() {
        return Err(StreamError::Option {
            option: "--topic",
            reason: "give a topic filter such as meters/+/readings".into(),
        });
    }
    if !(1..=86_400).contains(&opts.interval_s) || 86_400 % opts.interval_s != 0 {
        return Err(StreamError::Option {
            option: "--interval-s",
            reason: format!("{} does not divide a day", opts.interval_s),
        });
    }
    let started = Instant::now();
    let broker = format!("{}:{}", opts.host, opts.port);
    let dir = stream_dir(lake, &opts.client_id);
    let (mut wal, leftover) = Wal::open(&dir)?;
    let stop = Arc::new(AtomicBool::new(false));
    let committer = Committer::start(lake.clone(), stop.clone(), opts.after_commit.clone());
    let recovered = leftover.len();
    if recovered > 0 {
        progress(&format!(
            "committing {recovered} log segments left by an earlier run…"
        ));
    }
    for seg in leftover {
        committer.send(seg, None);
    }
    let rejects_path = dir.join("rejects.log");
    let mut rejects_log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&rejects_path)
        .map_err(|source| StreamError::Io {
            path: rejects_path.clone(),
            source,
        })?;

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|source| StreamError::Io {
            path: dir.clone(),
            source,
        })?;
    let mut report = StreamReport {
        broker: broker.clone(),
        topic: opts.topic.clone(),
        recovered_segments: recovered,
        ..Default::default()
    };
    let result: Result<(), StreamError> = rt.block_on(async {
        let mut mo = MqttOptions::new(&opts.client_id, &opts.host, opts.port);
        mo.set_keep_alive(Duration::from_secs(15))
            .set_clean_session(false)
            .set_manual_acks(true)
            .set_max_packet_size(opts.max_message_bytes, 64 * 1024);
        let (client, mut eventloop) = AsyncClient::new(mo, 10_000);
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Wire>(4096);
        // The event loop runs on its own task: it must keep being polled while the main
        // loop writes the log.
        let forward = tokio::spawn(async move {
            loop {
                let wire = match eventloop.poll().await {
                    Ok(Event::Incoming(Incoming::Publish(p))) => Wire::Message(p),
                    Ok(Event::Incoming(Incoming::ConnAck(_))) => Wire::Connected,
                    Ok(Event::Incoming(Incoming::SubAck(_))) => Wire::Subscribed,
                    Ok(_) => continue,
                    Err(e) => Wire::Lost(e.to_string()),
                };
                let lost = matches!(wire, Wire::Lost(_));
                if tx.send(wire).await.is_err() {
                    break;
                }
                if lost {
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
            }
        });
        let ctrl_c = stop.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                ctrl_c.store(true, Ordering::Relaxed);
            }
        });
        let mut connected_once = false;
        let mut pending: Vec<Publish> = Vec::new();
        let mut batch: Vec<Reading> = Vec::new();
        let mut last_message = Instant::now();
        let mut last_progress = Instant::now();
        let mut first_arrival: Option<Instant> = None;
        loop {
            let first = tokio::time::timeout(Duration::from_millis(100), rx.recv()).await;
            let mut events = Vec::new();
            match first {
                Ok(Some(w)) => events.push(w),
                Ok(None) => break,
                Err(_) => {}
            }
            while events.len() < 2000 {
                match rx.try_recv() {
                    Ok(w) => events.push(w),
                    Err(_) => break,
                }
            }
            for w in events {
                match w {
                    Wire::Connected => {
                        connected_once = true;
                        // Idempotent: the persistent session may already hold it.
                        client
                            .subscribe(opts.topic.clone(), QoS::AtLeastOnce)
                            .await
                            .map_err(|e| StreamError::Broker {
                                broker: broker.clone(),
                                reason: e.to_string(),
                            })?;
                    }
                    Wire::Subscribed => progress(&format!(
                        "subscribed, receiving {} (QoS 1)",
                        opts.topic
                    )),
                    Wire::Lost(reason) => {
                        if !connected_once && started.elapsed() > Duration::from_secs(5) {
                            return Err(StreamError::Broker {
                                broker: broker.clone(),
                                reason: format!(
                                    "{reason}; is an MQTT broker running there? (e.g. `mosquitto -d`, or point --broker at yours)"
                                ),
                            });
                        }
                        if connected_once {
                            report.disconnects += 1;
                            progress(&format!("connection lost ({reason}); reconnecting…"));
                        }
                        // Unacknowledged messages come again on the new connection.
                        pending.clear();
                    }
                    Wire::Message(p) => {
                        report.messages += 1;
                        last_message = Instant::now();
                        first_arrival.get_or_insert(last_message);
                        batch.clear();
                        match payload::parse(&p.payload, &p.topic, opts.interval_s, &mut batch) {
                            Ok(n) => {
                                report.readings += n as u64;
                                wal.append(&batch)?;
                            }
                            Err(reason) => {
                                report.rejected_messages += 1;
                                let line = format!("{}: {reason}", p.topic);
                                if report.reject_examples.len() < 20 {
                                    report.reject_examples.push(line.clone());
                                }
                                let _ = writeln!(rejects_log, "{line}");
                            }
                        }
                        pending.push(p);
                    }
                }
            }
            if !pending.is_empty() {
                // Durable first, acknowledged after: the broker forgets only what is on disk.
                wal.sync()?;
                for p in pending.drain(..) {
                    let _ = client.try_ack(&p);
                }
            }
            let age = wal.since.map_or(Duration::ZERO, |t| t.elapsed());
            if (wal.readings >= opts.commit_readings || age >= opts.commit_every)
                && let Some(seg) = wal.seal()?
            {
                committer.send(seg, first_arrival.take());
            }
            if last_progress.elapsed() >= Duration::from_secs(5) {
                last_progress = Instant::now();
                progress(&format!(
                    "{} messages, {} readings ({:.0}/s), {} rejected",
                    report.messages,
                    report.readings,
                    report.readings as f64 / started.elapsed().as_secs_f64(),
                    report.rejected_messages
                ));
            }
            let idle = opts
                .idle_exit
                .is_some_and(|d| connected_once && last_message.elapsed() >= d);
            let enough = opts.max_messages.is_some_and(|m| report.messages >= m);
            if stop.load(Ordering::Relaxed) || idle || enough {
                break;
            }
        }
        let _ = client.disconnect().await;
        forward.abort();
        Ok(())
    });
    // Whatever happened above, what is in the log is committed before returning.
    stop.store(true, Ordering::Relaxed);
    let sealed = wal.seal();
    if let Ok(Some(seg)) = &sealed {
        committer.send(seg.clone(), None);
    }
    let done = committer.finish();
    wal.close()?;
    sealed?;
    result?;
    report.segments_committed = done.segments;
    report.readings_stored = done.stored;
    report.duplicates = done.duplicates;
    report.commit_errors = done.errors;
    let mut lat = done.latencies_ms;
    report.arrival_to_commit_ms_p50 = percentile(&mut lat, 0.5);
    report.arrival_to_commit_ms_p99 = percentile(&mut lat, 0.99);
    report.seconds = started.elapsed().as_secs_f64();
    report.readings_per_second = report.readings as f64 / report.seconds.max(1e-9);
    Ok(report)
}

/// Parses `HOST:PORT` (port 1883 when omitted).
pub fn parse_broker(text: &str) -> Result<(String, u16), StreamError> {
    let bad = |why: &str| StreamError::Option {
        option: "--broker",
        reason: format!("`{text}`: {why}; write HOST:PORT, e.g. 127.0.0.1:1883"),
    };
    let t = text
        .trim()
        .trim_start_matches("mqtt://")
        .trim_start_matches("tcp://");
    let (host, port) = match t.rsplit_once(':') {
        Some((h, p)) => (
            h,
            p.parse::<u16>()
                .map_err(|_| bad("the port is not a number"))?,
        ),
        None => (t, 1883),
    };
    if host.is_empty() {
        return Err(bad("no host"));
    }
    Ok((host.to_string(), port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brokers_parse() {
        assert_eq!(
            parse_broker("127.0.0.1:1883").unwrap(),
            ("127.0.0.1".into(), 1883)
        );
        assert_eq!(
            parse_broker("mqtt://broker").unwrap(),
            ("broker".into(), 1883)
        );
        assert!(
            parse_broker("host:port")
                .unwrap_err()
                .to_string()
                .contains("--broker")
        );
        assert!(parse_broker(":1883").is_err());
    }

    #[test]
    fn percentiles() {
        let mut v = vec![5.0, 1.0, 3.0];
        assert_eq!(percentile(&mut v, 0.5), Some(3.0));
        assert_eq!(percentile(&mut [], 0.5), None);
    }
}
