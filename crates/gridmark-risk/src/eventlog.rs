//! Append-only JSON-lines event files under `<lake>/_risk/`, for the alert log and the risk
//! register: one event per line, written under a lock file and flushed to disk before the call
//! returns. A torn last line (a crash mid-write) is ignored on reading; a corrupt line anywhere
//! else is an error naming its line, because silently skipping it would rewrite history.

use crate::RiskError;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::io::Write;
use std::path::{Path, PathBuf};

pub struct EventFile {
    path: PathBuf,
    lock: std::fs::File,
}

impl EventFile {
    /// Takes `<root>/_risk/<name>.lock` and reads every event of `<root>/_risk/<name>.jsonl`.
    pub fn open<T: DeserializeOwned>(
        root: &Path,
        name: &str,
    ) -> Result<(EventFile, Vec<T>), RiskError> {
        let dir = root.join("_risk");
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| RiskError::Io { path, source }
        };
        std::fs::create_dir_all(&dir).map_err(io(&dir))?;
        let lock_path = dir.join(format!("{name}.lock"));
        let lock = gridmark_core::lockfile::lock_exclusive(&lock_path).map_err(io(&lock_path))?;
        let path = dir.join(format!("{name}.jsonl"));
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(source) => return Err(RiskError::Io { path, source }),
        };
        let complete = text.ends_with('\n');
        let lines: Vec<&str> = text.lines().collect();
        let mut events = Vec::with_capacity(lines.len());
        for (i, line) in lines.iter().enumerate() {
            match serde_json::from_str::<T>(line) {
                Ok(e) => events.push(e),
                Err(_) if i + 1 == lines.len() && !complete => break,
                Err(e) => {
                    return Err(RiskError::Log {
                        path,
                        line: i + 1,
                        reason: e.to_string(),
                    });
                }
            }
        }
        Ok((EventFile { path, lock }, events))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one event and flushes it to disk.
    pub fn append<T: Serialize>(&self, event: &T) -> Result<(), RiskError> {
        let mut line = serde_json::to_string(event).expect("events serialise");
        line.push('\n');
        let io = |source| RiskError::Io {
            path: self.path.clone(),
            source,
        };
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .map_err(io)?;
        f.write_all(line.as_bytes()).map_err(io)?;
        f.sync_data().map_err(io)
    }

    /// Releases the lock (also released on drop).
    pub fn close(self) {
        let _ = self.lock.unlock();
    }
}
