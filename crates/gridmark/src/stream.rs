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
    let r = mqtt::run(&lake, &opts, &mut |m| eprintln!("{m}"))?;
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
