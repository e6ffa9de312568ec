//! Opening a lake, reading its latest snapshot, and the single writer that commits.

use crate::error::IoContext;
use crate::files::ParquetSink;
use crate::keyring::{Keyring, MasterKey};
use crate::schema::arrow_schema;
use crate::store::{self, RemoteLocation};
use crate::{FileEntry, LakeError, Snapshot};
use datafusion::arrow::record_batch::RecordBatch;
use gridmark_core::Clock;
use gridmark_core::catalog::{Partitioning, TableDef};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

const FORMAT: u32 = 1;
pub(crate) const SETTINGS_FILE: &str = "gridmark.json";
pub(crate) const COMMITS_DIR: &str = "_commits";
const TABLES_DIR: &str = "tables";
/// Snapshots whose files a writer must not delete, in case a reader is still on one of them.
const KEEP_SNAPSHOTS: usize = 10;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    pub format: u32,
    /// IANA zone used for naive local times of meters that have none.
    pub default_tz: String,
}

#[derive(Debug, Clone)]
pub struct Lake {
    /// The folder, or the `s3://bucket/prefix` of a lake on object storage.
    root: PathBuf,
    settings: Settings,
    remote: Option<Arc<Remote>>,
}

/// A lake on object storage, read once when opened: its latest snapshot then.
#[derive(Debug)]
struct Remote {
    location: RemoteLocation,
    snapshot: Snapshot,
}

/// `00000000000000000042.json`: zero-padded so names sort as versions do.
pub(crate) fn commit_file_name(version: u64) -> String {
    format!("{version:020}.json")
}

pub(crate) fn parse_settings(bytes: &[u8], path: &str) -> Result<Settings, LakeError> {
    let settings: Settings = serde_json::from_slice(bytes).map_err(|e| LakeError::Corrupt {
        path: path.into(),
        reason: e.to_string(),
    })?;
    if settings.format > FORMAT {
        return Err(LakeError::TooNew {
            path: path.into(),
            found: settings.format,
            supported: FORMAT,
        });
    }
    gridmark_core::tz::parse_tz(&settings.default_tz)?;
    Ok(settings)
}

/// Deletes every file under `dir`, at any depth, that `live` does not list.
pub(crate) fn remove_unlisted(dir: &Path, live: &HashSet<PathBuf>) -> Result<(), LakeError> {
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if !live.contains(&path) {
                fs::remove_file(&path).at(&path)?;
            }
        }
    }
    Ok(())
}

pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), LakeError> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).at(dir)?;
    }
    let tmp = path.with_extension("json.tmp");
    let mut f = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&tmp)
        .at(&tmp)?;
    f.write_all(bytes).at(&tmp)?;
    f.sync_all().at(&tmp)?;
    fs::rename(&tmp, path).at(path)?;
    if let Some(dir) = path.parent() {
        // Make the rename itself durable.
        File::open(dir).and_then(|d| d.sync_all()).at(dir)?;
    }
    Ok(())
}

impl Lake {
    /// Opens an existing lake: a folder, or `s3://bucket/prefix` (read-only; see [`crate::store`]).
    pub fn open(root: &Path) -> Result<Self, LakeError> {
        let given = root.to_string_lossy();
        if store::is_remote(&given) {
            let location = RemoteLocation::parse(&given)?;
            let (settings, snapshot) = store::block_on(store::read_remote(&location))?;
            return Ok(Self {
                root: PathBuf::from(location.url()),
                settings,
                remote: Some(Arc::new(Remote { location, snapshot })),
            });
        }
        let path = root.join(SETTINGS_FILE);
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(LakeError::NotALake {
                    path: root.to_path_buf(),
                });
            }
            Err(e) => return Err(e).at(&path),
        };
        let settings = parse_settings(&bytes, &path.to_string_lossy())?;
        Ok(Self {
            root: root.to_path_buf(),
            settings,
            remote: None,
        })
    }

    /// Opens the lake at `root`, creating an empty one if the folder has none.
    pub fn create_or_open(root: &Path, default_tz: &str) -> Result<Self, LakeError> {
        if root.join(SETTINGS_FILE).exists() {
            return Self::open(root);
        }
        gridmark_core::tz::parse_tz(default_tz)?;
        fs::create_dir_all(root.join(COMMITS_DIR)).at(root)?;
        fs::create_dir_all(root.join(TABLES_DIR)).at(root)?;
        let settings = Settings {
            format: FORMAT,
            default_tz: default_tz.to_string(),
        };
        let bytes = serde_json::to_vec_pretty(&settings).expect("settings serialize");
        write_atomically(&root.join(SETTINGS_FILE), &bytes)?;
        Ok(Self {
            root: root.to_path_buf(),
            settings,
            remote: None,
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Absolute path of a file a snapshot lists.
    pub fn abs(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    /// Where a query engine finds a file a snapshot lists: its absolute path, or its
    /// `s3://` URL for a lake on object storage.
    pub fn file_url(&self, rel: &str) -> String {
        match &self.remote {
            Some(remote) => format!("{}/{rel}", remote.location.url()),
            None => self.abs(rel).to_string_lossy().into_owned(),
        }
    }

    /// Is this a lake on object storage (read-only here)?
    pub fn is_remote(&self) -> bool {
        self.remote.is_some()
    }

    fn commit_versions(&self) -> Result<Vec<u64>, LakeError> {
        if let Some(remote) = &self.remote {
            return Ok(vec![remote.snapshot.version]);
        }
        let dir = self.root.join(COMMITS_DIR);
        let mut versions = Vec::new();
        let entries = match fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(versions),
            Err(e) => return Err(e).at(&dir),
        };
        for entry in entries {
            let name = entry.at(&dir)?.file_name();
            let name = name.to_string_lossy();
            if let Some(v) = name
                .strip_suffix(".json")
                .and_then(|s| s.parse::<u64>().ok())
            {
                versions.push(v);
            }
        }
        versions.sort_unstable();
        Ok(versions)
    }

    fn read_snapshot(&self, version: u64) -> Result<Snapshot, LakeError> {
        if let Some(remote) = &self.remote {
            return Ok(remote.snapshot.clone());
        }
        let path = self.root.join(COMMITS_DIR).join(commit_file_name(version));
        let bytes = fs::read(&path).at(&path)?;
        serde_json::from_slice(&bytes).map_err(|e| LakeError::Corrupt {
            path,
            reason: e.to_string(),
        })
    }

    /// The latest committed state; version 0 (empty) for a new lake.
    pub fn snapshot(&self) -> Result<Snapshot, LakeError> {
        match self.commit_versions()?.last() {
            Some(&v) => self.read_snapshot(v),
            None => Ok(Snapshot::default()),
        }
    }

    /// Takes the writer lock. Only one writer works on a lake at a time; a second one gets a
    /// clear error instead of waiting silently.
    pub fn writer(&self, clock: Arc<dyn Clock>) -> Result<Writer<'_>, LakeError> {
        self.writer_with_keys(clock, None)
    }

    /// A writer that seals personal fields with `keyring` rather than the one the master key
    /// in the environment opens.
    pub fn writer_with_keys(
        &self,
        clock: Arc<dyn Clock>,
        keyring: Option<Arc<Keyring>>,
    ) -> Result<Writer<'_>, LakeError> {
        if self.is_remote() {
            return Err(LakeError::ReadOnly {
                location: self.root.display().to_string(),
            });
        }
        let lock_path = self.root.join("_lock");
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .at(&lock_path)?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => {
                return Err(LakeError::Io {
                    path: lock_path,
                    source: std::io::Error::new(
                        std::io::ErrorKind::WouldBlock,
                        "another gridmark process is writing to this lake; try again when it has finished",
                    ),
                });
            }
            Err(fs::TryLockError::Error(e)) => return Err(e).at(&lock_path),
        }
        let base = self.snapshot()?;
        let keyring = if keyring.is_some() {
            keyring
        } else if Keyring::exists(&self.root) {
            match MasterKey::from_env()? {
                Some(m) => Some(Arc::new(Keyring::open(&self.root, &m)?)),
                None => None,
            }
        } else {
            None
        };
        let writer = Writer {
            lake: self,
            keyring,
            _lock: lock,
            next: base.clone(),
            base,
            seq: 0,
            written: Vec::new(),
            committed: false,
            clock,
        };
        writer.collect_garbage()?;
        Ok(writer)
    }
}

/// The one writer of a lake: stages new files and commits them atomically. Dropped without
/// `commit`, it deletes what it wrote.
pub struct Writer<'a> {
    lake: &'a Lake,
    /// Opened when the lake encrypts personal fields and the master key was given.
    keyring: Option<Arc<Keyring>>,
    _lock: File,
    base: Snapshot,
    next: Snapshot,
    seq: u32,
    written: Vec<PathBuf>,
    committed: bool,
    clock: Arc<dyn Clock>,
}

impl Writer<'_> {
    /// The state this writer started from.
    pub fn base(&self) -> &Snapshot {
        &self.base
    }

    /// The state the commit will make visible: the base plus what is staged so far.
    pub fn pending(&self) -> &Snapshot {
        &self.next
    }

    pub fn lake(&self) -> &Lake {
        self.lake
    }

    /// The version the commit will get.
    pub fn version(&self) -> u64 {
        self.base.version + 1
    }

    /// The keyring, when the lake encrypts personal fields and the master key was given.
    pub fn keyring(&self) -> Option<Arc<Keyring>> {
        self.keyring.clone()
    }

    /// `batch` as `table` stores it: personal fields sealed when the lake encrypts them. Sealing
    /// is deterministic and idempotent, so compare new rows with stored ones after this.
    pub fn seal(&self, table: &TableDef, batch: RecordBatch) -> Result<RecordBatch, LakeError> {
        if table.personal.is_empty() || !Keyring::exists(&self.lake.root) {
            return Ok(batch);
        }
        let ring = self.keyring.as_ref().ok_or_else(|| {
            LakeError::Crypto(format!(
                "{} encrypts personal fields and {} has them: give the master key in GRIDMARK_MASTER_KEY or GRIDMARK_MASTER_KEY_FILE",
                self.lake.root.display(),
                table.name
            ))
        })?;
        if !ring.covers(table.name) {
            return Ok(batch);
        }
        ring.seal_batch(table.name, table.personal, &batch)
    }

    /// Opens a new Parquet file for `table` in `partition` (e.g. `month=2025-03`).
    pub fn sink(
        &mut self,
        table: &TableDef,
        partition: Option<&str>,
    ) -> Result<ParquetSink, LakeError> {
        self.seq += 1;
        let dir = match partition {
            Some(p) => format!("{TABLES_DIR}/{}/{p}", table.name),
            None => format!("{TABLES_DIR}/{}", table.name),
        };
        let rel = format!("{dir}/c{:08}-{:05}.parquet", self.version(), self.seq);
        let abs = self.lake.abs(&rel);
        self.written.push(abs.clone());
        let ts_col = match table.partitioning {
            Partitioning::MonthOf(c) => Some(c),
            Partitioning::None => table
                .columns
                .iter()
                .find(|c| c.name == "ts")
                .map(|c| c.name),
        };
        let mut sink = ParquetSink::create(
            abs,
            rel,
            partition.map(str::to_string),
            arrow_schema(table),
            ts_col,
            table.key.first().copied(),
        )?;
        if !table.personal.is_empty() && Keyring::exists(&self.lake.root) {
            // Fails here, before any row is written, when the master key is missing.
            self.seal(table, RecordBatch::new_empty(arrow_schema(table)))?;
            sink.seal_with = self
                .keyring
                .clone()
                .filter(|r| r.covers(table.name))
                .map(|r| (r, table.name, table.personal));
        }
        Ok(sink)
    }

    /// Makes a finished file part of the next commit.
    pub fn add_file(&mut self, table: &str, entry: FileEntry) {
        self.next
            .tables
            .entry(table.to_string())
            .or_default()
            .files
            .push(entry);
    }

    /// Drops a file from the table in the next commit (it stays on disk for older readers).
    pub fn remove_file(&mut self, table: &str, path: &str) {
        if let Some(t) = self.next.tables.get_mut(table) {
            t.files.retain(|f| f.path != path);
        }
    }

    /// Deletes a file this writer wrote but will not commit (e.g. replaced by a deduplicated
    /// copy).
    pub fn discard(&mut self, rel: &str) {
        let abs = self.lake.abs(rel);
        let _ = fs::remove_file(&abs);
        self.written.retain(|p| p != &abs);
        for t in self.next.tables.values_mut() {
            t.files.retain(|f| f.path != rel);
        }
    }

    /// Records that a source file (by content hash) is now imported into `table`.
    pub fn add_source(&mut self, table: &str, hash: String) {
        let t = self.next.tables.entry(table.to_string()).or_default();
        if !t.sources.contains(&hash) {
            t.sources.push(hash);
        }
    }

    /// Is anything staged?
    pub fn is_dirty(&self) -> bool {
        self.next.tables != self.base.tables
    }

    /// Writes the next snapshot; when this returns, the change is durable and visible.
    pub fn commit(mut self, operation: &str) -> Result<Snapshot, LakeError> {
        let mut snap = std::mem::take(&mut self.next);
        snap.version = self.version();
        snap.committed_at_ms = self.clock.now_ms();
        snap.operation = operation.to_string();
        for t in snap.tables.values_mut() {
            t.files.sort_by(|a, b| a.path.cmp(&b.path));
        }
        for dir in self.written.iter().filter_map(|p| p.parent()) {
            File::open(dir).and_then(|d| d.sync_all()).at(dir)?;
        }
        let path = self
            .lake
            .root
            .join(COMMITS_DIR)
            .join(commit_file_name(snap.version));
        let bytes = serde_json::to_vec_pretty(&snap).expect("snapshot serializes");
        write_atomically(&path, &bytes)?;
        self.committed = true;
        Ok(snap)
    }

    /// Removes files that no recent snapshot lists (left by a killed import) and stray
    /// temporary snapshots.
    fn collect_garbage(&self) -> Result<(), LakeError> {
        let versions = self.lake.commit_versions()?;
        let mut live: HashSet<PathBuf> = HashSet::new();
        for &v in versions.iter().rev().take(KEEP_SNAPSHOTS) {
            for p in self.lake.read_snapshot(v)?.live_paths() {
                live.insert(self.lake.abs(p));
            }
        }
        remove_unlisted(&self.lake.root.join(TABLES_DIR), &live)?;
        let commits = self.lake.root.join(COMMITS_DIR);
        if let Ok(entries) = fs::read_dir(&commits) {
            for entry in entries.flatten() {
                if entry.file_name().to_string_lossy().ends_with(".tmp") {
                    let p = entry.path();
                    fs::remove_file(&p).at(&p)?;
                }
            }
        }
        Ok(())
    }
}

impl Drop for Writer<'_> {
    fn drop(&mut self) {
        if !self.committed {
            for p in &self.written {
                let _ = fs::remove_file(p);
            }
        }
    }
}

#[cfg(test)]
mod tests;
