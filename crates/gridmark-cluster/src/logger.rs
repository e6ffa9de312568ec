//! Ballista reports through the `log` facade; without a logger its errors would vanish.

use log::{Level, LevelFilter, Log, Metadata, Record};
use std::io::Write;

struct Stderr {
    level: LevelFilter,
}

impl Log for Stderr {
    fn enabled(&self, metadata: &Metadata) -> bool {
        metadata.level() <= self.level
    }

    fn log(&self, record: &Record) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let tag = match record.level() {
            Level::Error => "error",
            Level::Warn => "warning",
            Level::Info => "info",
            Level::Debug => "debug",
            Level::Trace => "trace",
        };
        let _ = writeln!(
            std::io::stderr().lock(),
            "{tag} [{}] {}",
            record.target(),
            record.args()
        );
    }

    fn flush(&self) {}
}

/// Sends log records at `level` and above to standard error; `GRIDMARK_LOG`
/// (error, warn, info, debug, trace) overrides it. A second call changes nothing.
pub fn init_logging(level: LevelFilter) {
    let level = std::env::var("GRIDMARK_LOG")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(level);
    // Leaked once per process: `set_logger` wants a logger that lives as long as the process.
    let logger: &'static Stderr = Box::leak(Box::new(Stderr { level }));
    if log::set_logger(logger).is_ok() {
        log::set_max_level(level);
    }
}
