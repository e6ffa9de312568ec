//! The tamper-evident ledger (what the founding document calls a blockchain): every import,
//! VEE run, bill computation, permission change, export and risk decision is appended to
//! `<lake>/_ledger/ledger.jsonl` as one entry whose hash covers its content and the hash of the
//! entry before it.
//!
//! The entries are also the leaves of a Merkle tree built as in Certificate Transparency
//! (RFC 9162 §2.1): leaf hash `H(0x00 ‖ entry)`, node hash `H(0x01 ‖ left ‖ right)`. A
//! checkpoint records the tree's size and root (every [`CHECKPOINT_EVERY`] entries, or on
//! demand); a root copied elsewhere (a report, an e-mail, a notary) later proves that no entry
//! up to that size was changed, removed or reordered, and an inclusion proof shows that one
//! entry is in the tree with a root without handing over the others.
//!
//! Hashes are SHA-256 or, for Chinese deployments, SM3 (GM/T 0004-2012), chosen when the ledger
//! is created. What this does not stop: someone who can write the lake's folder can delete the
//! whole ledger or rewrite it entirely — only a root kept outside the machine shows that.

use gridmark_core::Clock;
use gridmark_core::civil::format_utc;
use serde::{Deserialize, Serialize};
use sha2::Digest;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use thiserror::Error;

pub const CHECKPOINT_EVERY: u64 = 256;

#[derive(Debug, Error)]
pub enum LedgerError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Invalid(String),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> LedgerError + '_ {
    move |source| LedgerError::Io {
        path: path.to_path_buf(),
        source,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HashAlg {
    Sha256,
    Sm3,
}

impl HashAlg {
    pub fn parse(s: &str) -> Option<HashAlg> {
        match s.to_ascii_lowercase().as_str() {
            "sha256" | "sha-256" => Some(HashAlg::Sha256),
            "sm3" => Some(HashAlg::Sm3),
            _ => None,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            HashAlg::Sha256 => "sha256",
            HashAlg::Sm3 => "sm3",
        }
    }
    /// The hash of the concatenated parts.
    pub fn hash(self, parts: &[&[u8]]) -> [u8; 32] {
        match self {
            HashAlg::Sha256 => {
                let mut h = sha2::Sha256::new();
                for p in parts {
                    h.update(p);
                }
                h.finalize().into()
            }
            HashAlg::Sm3 => {
                let mut h = sm3::Sm3::new();
                for p in parts {
                    h.update(p);
                }
                h.finalize().into()
            }
        }
    }
    pub fn leaf(self, entry: &[u8]) -> [u8; 32] {
        self.hash(&[&[0], entry])
    }
    pub fn node(self, left: &[u8; 32], right: &[u8; 32]) -> [u8; 32] {
        self.hash(&[&[1], left, right])
    }
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn unhex(s: &str) -> Option<[u8; 32]> {
    if s.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// What an entry says; its canonical JSON (this field order) is what is hashed.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Body {
    pub seq: u64,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub object: String,
    pub details: serde_json::Value,
    /// The previous entry's hash (64 zeros for the first).
    pub prev: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Entry {
    #[serde(flatten)]
    pub body: Body,
    /// Leaf hash of the body: H(0x00 ‖ canonical JSON of the body).
    pub hash: String,
}

impl Body {
    pub fn canonical(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a body serialises")
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Checkpoint {
    pub size: u64,
    pub root: String,
    pub at: String,
    pub hash: HashAlg,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Settings {
    hash: HashAlg,
}

/// The ledger of one lake.
pub struct Ledger {
    dir: PathBuf,
    alg: HashAlg,
}

/// The result of checking the whole ledger.
#[derive(Debug, Clone, Serialize)]
pub struct Verification {
    pub hash: HashAlg,
    pub entries: u64,
    pub intact: bool,
    /// The first entry (1-based sequence number) that does not check, and why.
    pub first_broken: Option<(u64, String)>,
    pub root: String,
    pub checkpoints: usize,
    pub checkpoints_matching: usize,
}

/// RFC 9162 inclusion proof of one entry in the tree of the first `tree_size` entries.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Proof {
    pub hash: HashAlg,
    pub seq: u64,
    pub leaf_index: u64,
    pub tree_size: u64,
    pub leaf_hash: String,
    pub root: String,
    pub path: Vec<String>,
    pub entry: Entry,
}

/// MTH over leaf hashes (RFC 9162 §2.1.1); the empty tree's root is H().
pub fn merkle_root(alg: HashAlg, leaves: &[[u8; 32]]) -> [u8; 32] {
    match leaves.len() {
        0 => alg.hash(&[]),
        1 => leaves[0],
        n => {
            let k = split(n);
            alg.node(
                &merkle_root(alg, &leaves[..k]),
                &merkle_root(alg, &leaves[k..]),
            )
        }
    }
}

/// The largest power of two below n (n ≥ 2).
fn split(n: usize) -> usize {
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

/// PATH(m, D[n]) of RFC 9162 §2.1.3.1.
pub fn audit_path(alg: HashAlg, m: usize, leaves: &[[u8; 32]]) -> Vec<[u8; 32]> {
    let n = leaves.len();
    if n <= 1 {
        return Vec::new();
    }
    let k = split(n);
    if m < k {
        let mut p = audit_path(alg, m, &leaves[..k]);
        p.push(merkle_root(alg, &leaves[k..]));
        p
    } else {
        let mut p = audit_path(alg, m - k, &leaves[k..]);
        p.push(merkle_root(alg, &leaves[..k]));
        p
    }
}

/// The verification algorithm of RFC 9162 §2.1.3.2.
pub fn check_inclusion(
    alg: HashAlg,
    leaf_index: u64,
    tree_size: u64,
    leaf_hash: &[u8; 32],
    path: &[[u8; 32]],
    root: &[u8; 32],
) -> bool {
    if leaf_index >= tree_size {
        return false;
    }
    let (mut f, mut s) = (leaf_index, tree_size - 1);
    let mut r = *leaf_hash;
    for p in path {
        if s == 0 {
            return false;
        }
        if f & 1 == 1 || f == s {
            r = alg.node(p, &r);
            if f & 1 == 0 {
                while f & 1 == 0 && f != 0 {
                    f >>= 1;
                    s >>= 1;
                }
            }
        } else {
            r = alg.node(&r, p);
        }
        f >>= 1;
        s >>= 1;
    }
    s == 0 && r == *root
}

impl Ledger {
    /// Opens the lake's ledger, creating it (SHA-256) when absent.
    pub fn open(lake_root: &Path) -> Result<Ledger, LedgerError> {
        Self::open_with(lake_root, None)
    }

    /// Creates the ledger with `alg`, or opens it if it exists with that hash. Choosing the
    /// hash is only possible before the first entry.
    pub fn open_with(lake_root: &Path, alg: Option<HashAlg>) -> Result<Ledger, LedgerError> {
        let dir = lake_root.join("_ledger");
        std::fs::create_dir_all(&dir).map_err(io(&dir))?;
        let settings = dir.join("ledger.json");
        let current = match std::fs::read_to_string(&settings) {
            Ok(t) => Some(
                serde_json::from_str::<Settings>(&t)
                    .map_err(|e| LedgerError::Invalid(format!("{}: {e}", settings.display())))?
                    .hash,
            ),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(source) => {
                return Err(LedgerError::Io {
                    path: settings,
                    source,
                });
            }
        };
        let ledger_file = dir.join("ledger.jsonl");
        let has_entries = std::fs::metadata(&ledger_file).is_ok_and(|m| m.len() > 0);
        let alg = match (current, alg) {
            (Some(c), Some(a)) if c != a && has_entries => {
                return Err(LedgerError::Invalid(format!(
                    "the ledger already hashes with {} and has entries; the hash is chosen before the first entry",
                    c.name()
                )));
            }
            (_, Some(a)) => a,
            (Some(c), None) => c,
            (None, None) => HashAlg::Sha256,
        };
        if current != Some(alg) {
            let text = serde_json::to_string_pretty(&Settings { hash: alg }).expect("settings");
            std::fs::write(&settings, text).map_err(io(&settings))?;
        }
        Ok(Ledger { dir, alg })
    }

    pub fn hash_alg(&self) -> HashAlg {
        self.alg
    }

    fn path(&self) -> PathBuf {
        self.dir.join("ledger.jsonl")
    }

    fn lock(&self) -> Result<std::fs::File, LedgerError> {
        let p = self.dir.join("ledger.lock");
        gridmark_core::lockfile::lock_exclusive(&p).map_err(io(&p))
    }

    /// Appends one entry and returns it. Safe across processes (a lock file); a torn last
    /// line left by a crash is cut off first (it was never acknowledged).
    pub fn append(
        &self,
        clock: &dyn Clock,
        actor: &str,
        action: &str,
        object: &str,
        details: serde_json::Value,
    ) -> Result<Entry, LedgerError> {
        let _lock = self.lock()?;
        let path = self.path();
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(&path)
            .map_err(io(&path))?;
        let last = last_line(&mut f, &path)?;
        let (seq, prev) = match last {
            None => (1, hex(&[0; 32])),
            Some(line) => {
                let e: Entry = serde_json::from_str(&line).map_err(|e| {
                    LedgerError::Invalid(format!(
                        "{}: the last entry does not parse ({e}); run `gridmark audit verify`",
                        path.display()
                    ))
                })?;
                (e.body.seq + 1, e.hash)
            }
        };
        let body = Body {
            seq,
            at: format_utc(clock.now_ms()),
            actor: actor.to_string(),
            action: action.to_string(),
            object: object.to_string(),
            details,
            prev,
        };
        let hash = hex(&self.alg.leaf(&body.canonical()));
        let entry = Entry { body, hash };
        let mut line = serde_json::to_string(&entry).expect("an entry serialises");
        line.push('\n');
        f.write_all(line.as_bytes()).map_err(io(&path))?;
        f.sync_data().map_err(io(&path))?;
        if seq % CHECKPOINT_EVERY == 0 {
            self.checkpoint_locked(clock)?;
        }
        Ok(entry)
    }

    /// Every entry as stored (lines that do not parse are reported by `verify`, skipped here).
    pub fn entries(&self) -> Result<Vec<Entry>, LedgerError> {
        Ok(self
            .lines()?
            .iter()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect())
    }

    fn lines(&self) -> Result<Vec<String>, LedgerError> {
        let path = self.path();
        match std::fs::read_to_string(&path) {
            Ok(t) => Ok(t.lines().map(str::to_string).collect()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(source) => Err(LedgerError::Io { path, source }),
        }
    }

    pub fn checkpoints(&self) -> Result<Vec<Checkpoint>, LedgerError> {
        let path = self.dir.join("checkpoints.jsonl");
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => return Err(LedgerError::Io { path, source }),
        };
        text.lines()
            .enumerate()
            .map(|(i, l)| {
                serde_json::from_str(l).map_err(|e| {
                    LedgerError::Invalid(format!("{}, line {}: {e}", path.display(), i + 1))
                })
            })
            .collect()
    }

    /// Records the current size and root.
    pub fn checkpoint(&self, clock: &dyn Clock) -> Result<Checkpoint, LedgerError> {
        let _lock = self.lock()?;
        self.checkpoint_locked(clock)
    }

    fn checkpoint_locked(&self, clock: &dyn Clock) -> Result<Checkpoint, LedgerError> {
        let leaves: Vec<[u8; 32]> = self
            .entries()?
            .iter()
            .map(|e| self.alg.leaf(&e.body.canonical()))
            .collect();
        let cp = Checkpoint {
            size: leaves.len() as u64,
            root: hex(&merkle_root(self.alg, &leaves)),
            at: format_utc(clock.now_ms()),
            hash: self.alg,
        };
        let path = self.dir.join("checkpoints.jsonl");
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(io(&path))?;
        let mut line = serde_json::to_string(&cp).expect("a checkpoint serialises");
        line.push('\n');
        f.write_all(line.as_bytes()).map_err(io(&path))?;
        f.sync_data().map_err(io(&path))?;
        Ok(cp)
    }

    /// Checks every entry's hash, the chain of `prev` hashes and sequence numbers, and every
    /// checkpoint's root; names the first entry that does not check.
    pub fn verify(&self) -> Result<Verification, LedgerError> {
        let lines = self.lines()?;
        let mut leaves = Vec::with_capacity(lines.len());
        let mut broken: Option<(u64, String)> = None;
        let mut prev = hex(&[0; 32]);
        for (i, line) in lines.iter().enumerate() {
            let n = i as u64 + 1;
            let e: Entry = match serde_json::from_str(line) {
                Ok(e) => e,
                Err(err) => {
                    broken = Some((n, format!("line {n} is not a ledger entry: {err}")));
                    break;
                }
            };
            let leaf = self.alg.leaf(&e.body.canonical());
            let why = if e.body.seq != n {
                Some(format!(
                    "entry {n} carries sequence number {} (an entry was removed, inserted or reordered)",
                    e.body.seq
                ))
            } else if e.body.prev != prev {
                Some(format!(
                    "entry {n} does not point at the hash of entry {} (an entry before it was changed or removed)",
                    n - 1
                ))
            } else if hex(&leaf) != e.hash {
                Some(format!(
                    "entry {n} ({} {} by {} at {}) does not match its hash: its content was changed after it was written",
                    e.body.action, e.body.object, e.body.actor, e.body.at
                ))
            } else {
                None
            };
            if let Some(w) = why {
                broken = Some((n, w));
                break;
            }
            prev = e.hash.clone();
            leaves.push(leaf);
        }
        let checkpoints = self.checkpoints()?;
        let mut matching = 0;
        if broken.is_none() {
            for cp in &checkpoints {
                let size = cp.size as usize;
                if size > leaves.len() {
                    broken = Some((
                        leaves.len() as u64 + 1,
                        format!(
                            "checkpoint of {} at {} covers {size} entries but the ledger has {}: entries were removed",
                            cp.at,
                            cp.size,
                            leaves.len()
                        ),
                    ));
                    break;
                }
                if hex(&merkle_root(self.alg, &leaves[..size])) != cp.root {
                    // Find the first entry whose change explains it: the first size whose
                    // root differs is not recoverable from a root alone, so name the range.
                    broken = Some((
                        size as u64,
                        format!(
                            "the first {size} entries do not give the root checkpointed at {}: the ledger was rewritten",
                            cp.at
                        ),
                    ));
                    break;
                }
                matching += 1;
            }
        }
        Ok(Verification {
            hash: self.alg,
            entries: lines.len() as u64,
            intact: broken.is_none(),
            first_broken: broken,
            root: hex(&merkle_root(self.alg, &leaves)),
            checkpoints: checkpoints.len(),
            checkpoints_matching: matching,
        })
    }

    /// The inclusion proof of entry `seq` in the tree of the first `size` entries (default:
    /// all of them).
    pub fn prove(&self, seq: u64, size: Option<u64>) -> Result<Proof, LedgerError> {
        let entries = self.entries()?;
        let size = size.unwrap_or(entries.len() as u64);
        if size == 0 || size > entries.len() as u64 {
            return Err(LedgerError::Invalid(format!(
                "tree size {size}: the ledger has {} entries",
                entries.len()
            )));
        }
        if seq == 0 || seq > size {
            return Err(LedgerError::Invalid(format!(
                "entry {seq} is not among the first {size} entries (numbered from 1)"
            )));
        }
        let leaves: Vec<[u8; 32]> = entries[..size as usize]
            .iter()
            .map(|e| self.alg.leaf(&e.body.canonical()))
            .collect();
        let m = (seq - 1) as usize;
        Ok(Proof {
            hash: self.alg,
            seq,
            leaf_index: m as u64,
            tree_size: size,
            leaf_hash: hex(&leaves[m]),
            root: hex(&merkle_root(self.alg, &leaves)),
            path: audit_path(self.alg, m, &leaves)
                .iter()
                .map(|h| hex(h))
                .collect(),
            entry: entries[m].clone(),
        })
    }
}

impl Proof {
    /// Checks the proof on its own: the entry hashes to the leaf, and the path leads from the
    /// leaf to `root` (the proof's own root unless one kept elsewhere is given).
    pub fn check(&self, root: Option<&str>) -> Result<(), String> {
        let leaf = self.hash.leaf(&self.entry.body.canonical());
        if hex(&leaf) != self.leaf_hash {
            return Err("the entry in the proof does not hash to its leaf hash".into());
        }
        let root_hex = root.unwrap_or(&self.root);
        let root = unhex(root_hex).ok_or_else(|| format!("{root_hex}: not a 64-digit hex hash"))?;
        let path: Option<Vec<[u8; 32]>> = self.path.iter().map(|p| unhex(p)).collect();
        let path = path.ok_or("a path element is not a 64-digit hex hash")?;
        if check_inclusion(
            self.hash,
            self.leaf_index,
            self.tree_size,
            &leaf,
            &path,
            &root,
        ) {
            Ok(())
        } else {
            Err(format!(
                "the path does not lead from entry {} to root {root_hex} of a tree of {}",
                self.seq, self.tree_size
            ))
        }
    }
}

/// The last complete line of the file; a torn tail (no final newline) is cut off.
fn last_line(f: &mut std::fs::File, path: &Path) -> Result<Option<String>, LedgerError> {
    let len = f.metadata().map_err(io(path))?.len();
    if len == 0 {
        return Ok(None);
    }
    let take = len.min(1 << 20);
    f.seek(SeekFrom::Start(len - take)).map_err(io(path))?;
    let mut buf = Vec::with_capacity(take as usize);
    f.take(take).read_to_end(&mut buf).map_err(io(path))?;
    let mut text = String::from_utf8_lossy(&buf).into_owned();
    if !text.ends_with('\n') {
        let cut = text.rfind('\n').map_or(0, |i| i + 1);
        f.set_len(len - (text.len() - cut) as u64)
            .map_err(io(path))?;
        text.truncate(cut);
    }
    Ok(text.lines().last().map(str::to_string))
}

#[cfg(test)]
mod tests {
    use super::*;
    use gridmark_core::FixedClock;

    #[test]
    fn known_answers() {
        assert_eq!(
            hex(&HashAlg::Sm3.hash(&[b"abc"])),
            "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
        );
        assert_eq!(
            hex(&HashAlg::Sha256.hash(&[b"abc"])),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        // The empty tree's root is the hash of nothing (RFC 9162 §2.1.1).
        assert_eq!(
            hex(&merkle_root(HashAlg::Sha256, &[])),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn every_inclusion_proof_checks_and_a_changed_one_does_not() {
        for alg in [HashAlg::Sha256, HashAlg::Sm3] {
            for n in 1..=33usize {
                let leaves: Vec<[u8; 32]> = (0..n)
                    .map(|i| alg.leaf(format!("entry {i}").as_bytes()))
                    .collect();
                let root = merkle_root(alg, &leaves);
                for m in 0..n {
                    let path = audit_path(alg, m, &leaves);
                    assert!(check_inclusion(
                        alg, m as u64, n as u64, &leaves[m], &path, &root
                    ));
                    let other = (m + 1) % n;
                    if other != m {
                        assert!(!check_inclusion(
                            alg,
                            m as u64,
                            n as u64,
                            &leaves[other],
                            &path,
                            &root
                        ));
                    }
                    if let Some(first) = path.first() {
                        let mut bad = path.clone();
                        bad[0] = alg.leaf(first);
                        assert!(!check_inclusion(
                            alg, m as u64, n as u64, &leaves[m], &bad, &root
                        ));
                    }
                }
            }
        }
    }

    fn ledger(dir: &Path, n: usize) -> Ledger {
        let l = Ledger::open(dir).unwrap();
        let clock = FixedClock::new(1_764_000_000_000);
        for i in 0..n {
            l.append(
                &clock,
                "zhao",
                "import",
                "readings",
                serde_json::json!({"rows": i, "kwh": 0.1 * i as f64}),
            )
            .unwrap();
        }
        l
    }

    #[test]
    fn verify_names_the_first_changed_or_removed_entry() {
        let dir = tempfile::tempdir().unwrap();
        let l = ledger(dir.path(), 10);
        let v = l.verify().unwrap();
        assert!(v.intact && v.entries == 10, "{v:?}");
        let path = dir.path().join("_ledger/ledger.jsonl");
        let good = std::fs::read_to_string(&path).unwrap();

        std::fs::write(&path, good.replacen("\"rows\":4", "\"rows\":40", 1)).unwrap();
        let v = l.verify().unwrap();
        assert_eq!(v.first_broken.as_ref().unwrap().0, 5, "{v:?}");
        assert!(v.first_broken.unwrap().1.contains("content was changed"));

        let mut lines: Vec<&str> = good.lines().collect();
        lines.remove(6);
        std::fs::write(&path, lines.join("\n") + "\n").unwrap();
        let v = l.verify().unwrap();
        assert_eq!(v.first_broken.unwrap().0, 7);

        // Rewriting everything consistently is caught by a checkpoint taken before.
        std::fs::write(&path, &good).unwrap();
        let clock = FixedClock::new(1_764_000_000_000);
        let cp = l.checkpoint(&clock).unwrap();
        assert_eq!(cp.size, 10);
        std::fs::remove_file(&path).unwrap();
        for i in 0..10 {
            l.append(
                &clock,
                "wang",
                "import",
                "readings",
                serde_json::json!({"rows": i}),
            )
            .unwrap();
        }
        let v = l.verify().unwrap();
        assert!(!v.intact, "{v:?}");
        assert!(v.first_broken.unwrap().1.contains("rewritten"));
    }

    #[test]
    fn proofs_from_the_ledger_and_a_torn_tail() {
        let dir = tempfile::tempdir().unwrap();
        let l = ledger(dir.path(), 7);
        let p = l.prove(3, None).unwrap();
        assert!(p.check(None).is_ok());
        assert!(p.check(Some(&hex(&[7; 32]))).is_err());
        let mut forged = p.clone();
        forged.entry.body.actor = "mallory".into();
        assert!(forged.check(None).is_err());
        assert!(l.prove(8, None).is_err());
        assert!(l.prove(3, Some(2)).is_err());
        // A proof in an older tree checks against that tree's root.
        let old = l.prove(2, Some(5)).unwrap();
        assert!(old.check(None).is_ok());

        let path = dir.path().join("_ledger/ledger.jsonl");
        let mut text = std::fs::read_to_string(&path).unwrap();
        text.push_str("{\"seq\":8,\"at\":");
        std::fs::write(&path, text).unwrap();
        let clock = FixedClock::new(0);
        let e = l
            .append(&clock, "li", "export", "bills", serde_json::json!({}))
            .unwrap();
        assert_eq!(e.body.seq, 8);
        assert!(l.verify().unwrap().intact);
    }

    #[test]
    fn the_hash_is_chosen_before_the_first_entry() {
        let dir = tempfile::tempdir().unwrap();
        let l = Ledger::open_with(dir.path(), Some(HashAlg::Sm3)).unwrap();
        l.append(&FixedClock::new(0), "a", "b", "c", serde_json::json!(null))
            .unwrap();
        assert_eq!(Ledger::open(dir.path()).unwrap().hash_alg(), HashAlg::Sm3);
        assert!(Ledger::open_with(dir.path(), Some(HashAlg::Sha256)).is_err());
        assert!(Ledger::open(dir.path()).unwrap().verify().unwrap().intact);
    }
}
