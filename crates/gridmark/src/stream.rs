//! `gridmark ingest mqtt`.

use crate::CliError;
use crate::cli::IngestMqttArgs;
use gridmark_lake::Lake;
use gridmark_stream::mqtt::{self, StreamOptions};
use std::io::Write;
use std::path::Path;
use std::time::Duration;

fn seconds(option: &str, v: f64) -> Result<Duration, CliError> {
    if v.is_finite() && v > 0.0 && v <= 86_400.0 {
        Ok(Duration::from_secs_f64(v))
    } else {
        Err(crate::usage(format!(
            "{option} {v}: seconds above 0 and at most a day"
        )))
    }
}

pub fn mqtt(data: &Path, args: IngestMqttArgs) -> Result<(), CliError> {
    let (host, port) = mqtt::parse_broker(&args.broker)?;
    let opts = StreamOptions {
        host,
        port,
        topic: args.topic.clone(),
        client_id: args.client_id.clone(),
        interval_s: crate::cli::parse_interval(&args.interval)?,
        commit_every: seconds("--commit-seconds", args.commit_seconds)?,
        commit_readings: args.commit_readings.max(1),
        idle_exit: args
            .idle_exit
            .map(|s| seconds("--idle-exit", s))
            .transpose()?,
        max_messages: args.max_messages,
        ..StreamOptions::default()
    };
    let lake = Lake::create_or_open(
        data,
        args.tz.as_deref().unwrap_or(gridmark_core::DEFAULT_TZ),
    )?;
    // Progress goes to standard error even with --json: a stream runs for long.
    {
        eprintln!(
            "subscribed to {} on {}:{} as {}; log in {}",
            opts.topic,
            opts.host,
            opts.port,
            opts.client_id,
            mqtt::stream_dir(&lake, &opts.client_id).display()
        );
    }
    let mut opts = opts;
    let watcher = match &args.rules {
        Some(path) => {
            let w = RuleWatcher::start(data, path)?;
            opts.after_commit = Some(w.hook());
            Some(w)
        }
        None => None,
    };
    let r = mqtt::run(&lake, &opts, &mut |m| eprintln!("{m}"));
    drop(opts);
    if let Some(w) = watcher {
        let (runs, opened) = w.finish();
        eprintln!("risk rules ran after {runs} commits; {opened} alerts opened");
    }
    let r = r?;
    let mut out = std::io::stdout().lock();
    if args.json {
        writeln!(out, "{}", serde_json::to_string_pretty(&r)?)?;
        return Ok(());
    }
    writeln!(
        out,
        "{} messages, {} readings in {:.1} s ({:.0} readings/s); {} rejected messages; {} stored, {} already there, in {} commits{}",
        r.messages,
        r.readings,
        r.seconds,
        r.readings_per_second,
        r.rejected_messages,
        r.readings_stored,
        r.duplicates,
        r.segments_committed,
        if r.recovered_segments > 0 {
            format!(" ({} left by an earlier run)", r.recovered_segments)
        } else {
            String::new()
        }
    )?;
    for e in &r.reject_examples {
        writeln!(out, "  rejected: {e}")?;
    }
    for e in &r.commit_errors {
        writeln!(out, "  commit retried: {e}")?;
    }
    Ok(())
}

/// Runs the readings rules on the meters of each committed batch, on its own thread so that
/// commits never wait for it; batches that arrive while it runs are merged into the next run.
struct RuleWatcher {
    tx: std::sync::mpsc::Sender<Vec<String>>,
    handle: std::thread::JoinHandle<(u64, usize)>,
}

impl RuleWatcher {
    fn start(data: &Path, rules: &Path) -> Result<RuleWatcher, CliError> {
        let mut set = gridmark_risk::rules::RuleSet::load(rules)?;
        set.rules
            .retain(|r| r.indicator.subject() == gridmark_risk::rules::SubjectKind::Meter);
        if set.rules.is_empty() {
            return Err(crate::usage(format!(
                "{}: no rule on readings (daily_kwh, zero_days, reverse_kwh) to run on the stream",
                rules.display()
            )));
        }
        let (tx, rx) = std::sync::mpsc::channel::<Vec<String>>();
        let data = data.to_path_buf();
        let handle = std::thread::spawn(move || {
            let (mut runs, mut opened) = (0u64, 0usize);
            while let Ok(first) = rx.recv() {
                let mut meters: std::collections::HashSet<String> = first.into_iter().collect();
                while let Ok(more) = rx.try_recv() {
                    meters.extend(more);
                }
                runs += 1;
                match crate::warning::evaluate_and_record(
                    &data,
                    &set,
                    None,
                    Some(&meters),
                    true,
                    true,
                    &gridmark_core::SystemClock,
                ) {
                    Ok((_, Some(r))) => {
                        opened += r.opened.len();
                        if !r.opened.is_empty() {
                            eprintln!(
                                "risk: {} alerts opened ({})",
                                r.opened.len(),
                                r.opened.join(", ")
                            );
                        }
                    }
                    Ok(_) => {}
                    Err(e) => eprintln!("risk rules failed on a batch: {e}"),
                }
            }
            (runs, opened)
        });
        Ok(RuleWatcher { tx, handle })
    }

    fn hook(&self) -> mqtt::AfterCommit {
        let tx = self.tx.clone();
        mqtt::AfterCommit(std::sync::Arc::new(move |meters| {
            let _ = tx.send(meters);
        }))
    }

    fn finish(self) -> (u64, usize) {
        drop(self.tx);
        self.handle.join().unwrap_or((0, 0))
    }
}
