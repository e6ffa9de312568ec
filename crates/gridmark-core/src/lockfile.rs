//! Cross-process exclusive locks on a lock file, for the append-only logs and stores beside
//! the lake (alerts, register, ledger, users).

use std::fs::{File, OpenOptions};
use std::path::Path;

/// Opens (creating) `path` and blocks until this process holds its exclusive lock; the lock
/// is released when the file is dropped or unlocked.
pub fn lock_exclusive(path: &Path) -> std::io::Result<File> {
    let f = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)?;
    f.lock()?;
    Ok(f)
}
