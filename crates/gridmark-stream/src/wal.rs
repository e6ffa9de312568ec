//! The write-ahead log: readings are appended to the open segment and made durable (fsync)
//! before their messages are acknowledged to the broker; full or old segments are sealed and
//! committed to the lake by an ordinary import, then deleted.
//!
//! Segments are CSV files `wal-<seq>.csv` (open) and `ready-<seq>.csv` (sealed) in the
//! stream's directory, with the header `meter_id,ts,kwh,interval_s`. After a crash, an open
//! segment is cut back to its last whole line (a torn line belongs to a message that was never
//! acknowledged, which the broker delivers again) and sealed. Committing a segment twice is
//! harmless: the import skips a file it has seen and drops readings already stored.

use crate::StreamError;
use crate::payload::Reading;
use std::fs::{self, File, OpenOptions};
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

const HEADER: &str = "meter_id,ts,kwh,interval_s\n";

/// The open segment and its bookkeeping.
pub struct Wal {
    dir: PathBuf,
    seq: u64,
    path: PathBuf,
    out: BufWriter<File>,
    /// Readings in the open segment.
    pub readings: u64,
    /// When the open segment got its first reading.
    pub since: Option<Instant>,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> StreamError + '_ {
    move |source| StreamError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn seq_of(name: &str, prefix: &str) -> Option<u64> {
    name.strip_prefix(prefix)?
        .strip_suffix(".csv")?
        .parse()
        .ok()
}

fn sync_dir(dir: &Path) -> Result<(), StreamError> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(io(dir))
}

/// Cuts a segment back to its last whole line; true when anything but the header remains.
fn repair(path: &Path) -> Result<bool, StreamError> {
    let mut f = OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(io(path))?;
    let mut bytes = Vec::new();
    f.read_to_end(&mut bytes).map_err(io(path))?;
    let keep = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    if keep < bytes.len() {
        f.set_len(keep as u64).map_err(io(path))?;
        f.seek(SeekFrom::End(0)).map_err(io(path))?;
        f.sync_all().map_err(io(path))?;
    }
    Ok(keep > HEADER.len())
}

impl Wal {
    /// Opens the log in `dir`, sealing what a previous run left open. Returns the log and the
    /// sealed segments still to commit, oldest first.
    pub fn open(dir: &Path) -> Result<(Wal, Vec<PathBuf>), StreamError> {
        fs::create_dir_all(dir).map_err(io(dir))?;
        let mut open = Vec::new();
        let mut ready = Vec::new();
        for e in fs::read_dir(dir).map_err(io(dir))? {
            let e = e.map_err(io(dir))?;
            let name = e.file_name().to_string_lossy().to_string();
            if let Some(s) = seq_of(&name, "wal-") {
                open.push((s, e.path()));
            } else if let Some(s) = seq_of(&name, "ready-") {
                ready.push((s, e.path()));
            }
        }
        for (s, path) in open {
            if repair(&path)? {
                let sealed = dir.join(format!("ready-{s:09}.csv"));
                fs::rename(&path, &sealed).map_err(io(&path))?;
                ready.push((s, sealed));
            } else {
                fs::remove_file(&path).map_err(io(&path))?;
            }
        }
        sync_dir(dir)?;
        ready.sort();
        let seq = ready.last().map_or(0, |r| r.0) + 1;
        let wal = Wal::create(dir, seq)?;
        Ok((wal, ready.into_iter().map(|r| r.1).collect()))
    }

    fn create(dir: &Path, seq: u64) -> Result<Wal, StreamError> {
        let path = dir.join(format!("wal-{seq:09}.csv"));
        let f = OpenOptions::new()
            .create(true)
            .truncate(true)
            .write(true)
            .open(&path)
            .map_err(io(&path))?;
        let mut out = BufWriter::with_capacity(1 << 20, f);
        out.write_all(HEADER.as_bytes()).map_err(io(&path))?;
        Ok(Wal {
            dir: dir.to_path_buf(),
            seq,
            path,
            out,
            readings: 0,
            since: None,
        })
    }

    /// Buffers readings for the open segment (durable only after [`Wal::sync`]).
    pub fn append(&mut self, readings: &[Reading]) -> Result<(), StreamError> {
        for r in readings {
            // Meter ids come from the wire: quote them when CSV needs it.
            let id = if r.meter_id.contains([',', '"', '\n', '\r']) {
                format!("\"{}\"", r.meter_id.replace('"', "\"\""))
            } else {
                r.meter_id.clone()
            };
            writeln!(
                self.out,
                "{id},{},{},{}",
                gridmark_core::civil::format_utc(r.ts_ms),
                r.kwh,
                r.interval_s
            )
            .map_err(io(&self.path))?;
        }
        if self.since.is_none() && !readings.is_empty() {
            self.since = Some(Instant::now());
        }
        self.readings += readings.len() as u64;
        Ok(())
    }

    /// Makes everything appended durable.
    pub fn sync(&mut self) -> Result<(), StreamError> {
        self.out.flush().map_err(io(&self.path))?;
        self.out.get_ref().sync_data().map_err(io(&self.path))
    }

    /// Seals the open segment (when it holds readings) and opens the next one.
    pub fn seal(&mut self) -> Result<Option<PathBuf>, StreamError> {
        if self.readings == 0 {
            return Ok(None);
        }
        self.sync()?;
        let sealed = self.dir.join(format!("ready-{:09}.csv", self.seq));
        fs::rename(&self.path, &sealed).map_err(io(&self.path))?;
        sync_dir(&self.dir)?;
        *self = Wal::create(&self.dir, self.seq + 1)?;
        Ok(Some(sealed))
    }

    /// Deletes the open segment when it holds nothing (on a clean stop).
    pub fn close(self) -> Result<(), StreamError> {
        if self.readings == 0 {
            drop(self.out);
            fs::remove_file(&self.path).map_err(io(&self.path))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reading(m: &str, ts: i64) -> Reading {
        Reading {
            meter_id: m.into(),
            ts_ms: ts,
            kwh: 0.5,
            interval_s: 900,
        }
    }

    #[test]
    fn segments_seal_and_survive_a_torn_tail() {
        let dir = tempfile::tempdir().unwrap();
        let (mut wal, pending) = Wal::open(dir.path()).unwrap();
        assert!(pending.is_empty());
        wal.append(&[
            reading("M1", 1_735_689_600_000),
            reading("a,b", 1_735_690_500_000),
        ])
        .unwrap();
        let sealed = wal.seal().unwrap().unwrap();
        let text = fs::read_to_string(&sealed).unwrap();
        assert_eq!(
            text,
            "meter_id,ts,kwh,interval_s\nM1,2025-01-01T00:00:00Z,0.5,900\n\"a,b\",2025-01-01T00:15:00Z,0.5,900\n"
        );
        // A crash mid-line in the next segment: the torn line goes, the whole one stays.
        wal.append(&[reading("M2", 1_735_689_600_000)]).unwrap();
        wal.sync().unwrap();
        let open = dir.path().join("wal-000000002.csv");
        let mut f = OpenOptions::new().append(true).open(&open).unwrap();
        f.write_all(b"M3,2025-01-01T00:").unwrap();
        drop(wal);
        let (wal, pending) = Wal::open(dir.path()).unwrap();
        assert_eq!(pending.len(), 2);
        assert!(pending[0].ends_with("ready-000000001.csv"));
        let text = fs::read_to_string(&pending[1]).unwrap();
        assert!(
            text.ends_with("M2,2025-01-01T00:00:00Z,0.5,900\n"),
            "{text}"
        );
        // The next segment continues the numbering; an empty one is removed on close.
        assert_eq!(wal.seq, 3);
        wal.close().unwrap();
        assert!(!dir.path().join("wal-000000003.csv").exists());
        // A segment with only its header is dropped at recovery.
        fs::write(dir.path().join("wal-000000009.csv"), HEADER).unwrap();
        let (_, pending) = Wal::open(dir.path()).unwrap();
        assert_eq!(pending.len(), 2);
    }
}
