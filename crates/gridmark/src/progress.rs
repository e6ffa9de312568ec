//! Progress of long jobs on the terminal (only when standard error is one).

use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::Instant;

pub struct TerminalProgress {
    enabled: bool,
    started: Instant,
    last: Mutex<Instant>,
}

impl TerminalProgress {
    pub fn new() -> Self {
        Self {
            enabled: std::io::stderr().is_terminal(),
            started: Instant::now(),
            last: Mutex::new(Instant::now()),
        }
    }

    pub fn line(&self, text: &str) {
        if self.enabled {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[2K{text}");
            let _ = err.flush();
        }
    }

    pub fn clear(&self) {
        if self.enabled {
            let _ = write!(std::io::stderr().lock(), "\r\x1b[2K");
        }
    }
}

impl gridmark_ingest::Progress for TerminalProgress {
    fn update(&self, file: &str, bytes_read: u64, rows_read: u64) {
        let Ok(mut last) = self.last.lock() else {
            return;
        };
        if last.elapsed().as_millis() < 250 {
            return;
        }
        *last = Instant::now();
        let secs = self.started.elapsed().as_secs_f64();
        self.line(&format!(
            "{file}: {rows_read} rows, {:.0} MB read, {:.1} s ({:.1} M rows/s)",
            bytes_read as f64 / 1e6,
            secs,
            rows_read as f64 / secs.max(1e-3) / 1e6
        ));
    }
}
