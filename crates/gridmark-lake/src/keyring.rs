//! Envelope encryption of personal fields at rest.
//!
//! Each dataset (table) has its own data keys; a data key is stored only wrapped (encrypted) by
//! the master key, which never enters the lake: it comes from `GRIDMARK_MASTER_KEY` (64 hex
//! digits) or the file named by `GRIDMARK_MASTER_KEY_FILE`. Values are sealed with AES-256-GCM
//! or SM4-GCM (GM/T 0002 block cipher in GCM mode) and stored as `enc1:<key id>:<base64>`.
//!
//! The nonce is derived from the value (HMAC-SHA-256 under a key derived from the data key),
//! so the same value seals to the same text: re-imports deduplicate and equality filters work,
//! at the price of showing which rows share a value — never the value. Rotating the master key
//! rewraps the data keys (no data is rewritten); rotating the data keys starts new keys for new
//! writes while the old ones stay to read older files.

use crate::LakeError;
use aes_gcm::aead::{Aead, KeyInit, OsRng, rand_core::RngCore};
use aes_gcm::{Aes256Gcm, AesGcm, Nonce};
use datafusion::arrow::array::{Array, ArrayRef, AsArray, RecordBatch, StringArray};
use datafusion::arrow::datatypes::DataType;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

type Sm4Gcm = AesGcm<sm4::Sm4, aes_gcm::aead::consts::U12>;

/// The cipher of a data key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Cipher {
    #[serde(rename = "aes-256-gcm")]
    Aes256Gcm,
    /// SM4 (GM/T 0002-2012) in GCM mode, for deployments held to the Chinese standards.
    #[serde(rename = "sm4-gcm")]
    Sm4Gcm,
}

impl Cipher {
    pub fn parse(s: &str) -> Option<Cipher> {
        match s {
            "aes-256-gcm" | "aes" => Some(Cipher::Aes256Gcm),
            "sm4-gcm" | "sm4" => Some(Cipher::Sm4Gcm),
            _ => None,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Cipher::Aes256Gcm => "aes-256-gcm",
            Cipher::Sm4Gcm => "sm4-gcm",
        }
    }
    fn key_len(self) -> usize {
        match self {
            Cipher::Aes256Gcm => 32,
            Cipher::Sm4Gcm => 16,
        }
    }
}

/// The 256-bit master key.
#[derive(Clone)]
pub struct MasterKey([u8; 32]);

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MasterKey({})", self.fingerprint())
    }
}

fn invalid(msg: impl Into<String>) -> LakeError {
    LakeError::Crypto(msg.into())
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn b64(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (*b as u32) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(B64[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn unb64(s: &str) -> Option<Vec<u8>> {
    let s = s.trim_end_matches('=');
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut n, mut bits) = (0u32, 0);
    for c in s.bytes() {
        let v = B64.iter().position(|x| *x == c)? as u32;
        n = n << 6 | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((n >> bits) as u8);
        }
    }
    Some(out)
}

impl MasterKey {
    /// A new random key, for `gridmark keys new-master`.
    pub fn generate() -> MasterKey {
        let mut k = [0u8; 32];
        OsRng.fill_bytes(&mut k);
        MasterKey(k)
    }

    /// 64 hex digits (surrounding whitespace ignored).
    pub fn parse(text: &str, origin: &str) -> Result<MasterKey, LakeError> {
        let bytes = unhex(text.trim())
            .filter(|b| b.len() == 32)
            .ok_or_else(|| {
                invalid(format!(
                    "{origin}: a master key is 64 hex digits (256 bits)"
                ))
            })?;
        let mut k = [0u8; 32];
        k.copy_from_slice(&bytes);
        Ok(MasterKey(k))
    }

    /// From `GRIDMARK_MASTER_KEY`, or the file `GRIDMARK_MASTER_KEY_FILE` names; None if neither
    /// is set.
    pub fn from_env() -> Result<Option<MasterKey>, LakeError> {
        if let Ok(k) = std::env::var("GRIDMARK_MASTER_KEY") {
            return MasterKey::parse(&k, "GRIDMARK_MASTER_KEY").map(Some);
        }
        match std::env::var("GRIDMARK_MASTER_KEY_FILE") {
            Ok(f) => MasterKey::from_file(Path::new(&f)).map(Some),
            Err(_) => Ok(None),
        }
    }

    pub fn from_file(path: &Path) -> Result<MasterKey, LakeError> {
        let text = std::fs::read_to_string(path).map_err(|source| LakeError::Io {
            path: path.into(),
            source,
        })?;
        MasterKey::parse(&text, &path.display().to_string())
    }

    pub fn to_hex(&self) -> String {
        hex(&self.0)
    }

    /// Names the key without revealing it: the keyring records which master wrapped it.
    pub fn fingerprint(&self) -> String {
        hex(&Sha256::digest([b"gridmark-master".as_slice(), &self.0].concat())[..8])
    }

    fn wrap(&self, key: &[u8]) -> String {
        let mut nonce = [0u8; 12];
        OsRng.fill_bytes(&mut nonce);
        let c = Aes256Gcm::new_from_slice(&self.0).expect("32-byte key");
        let ct = c
            .encrypt(Nonce::from_slice(&nonce), key)
            .expect("in-memory encryption");
        b64(&[nonce.as_slice(), &ct].concat())
    }

    fn unwrap(&self, wrapped: &str, id: &str) -> Result<Vec<u8>, LakeError> {
        let raw = unb64(wrapped)
            .filter(|r| r.len() > 12)
            .ok_or_else(|| invalid(format!("data key {id}: the wrapped key is damaged")))?;
        let c = Aes256Gcm::new_from_slice(&self.0).expect("32-byte key");
        c.decrypt(Nonce::from_slice(&raw[..12]), &raw[12..])
            .map_err(|_| {
                invalid(format!(
                    "data key {id}: this master key ({}) does not open it",
                    self.fingerprint()
                ))
            })
    }
}

/// One data key as the keyring file holds it: wrapped.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DataKeyEntry {
    pub id: String,
    pub table: String,
    pub cipher: Cipher,
    pub wrapped: String,
    pub created_at: String,
    /// Retired keys open older values; new values use the table's newest key.
    pub retired: bool,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct KeyringFile {
    pub master_fingerprint: String,
    pub cipher: Option<Cipher>,
    pub keys: Vec<DataKeyEntry>,
}

struct Open {
    cipher: Cipher,
    key: Vec<u8>,
    nonce_key: [u8; 32],
}

/// The lake's data keys, opened with the master key.
pub struct Keyring {
    pub file: KeyringFile,
    open: HashMap<String, Open>,
}

pub const PREFIX: &str = "enc1:";

impl Keyring {
    pub fn path(lake_root: &Path) -> PathBuf {
        lake_root.join("_keys/keyring.json")
    }

    /// Whether this lake encrypts personal fields.
    pub fn exists(lake_root: &Path) -> bool {
        Self::path(lake_root).exists()
    }

    fn read_file(lake_root: &Path) -> Result<KeyringFile, LakeError> {
        let path = Self::path(lake_root);
        let text = std::fs::read_to_string(&path).map_err(|source| LakeError::Io {
            path: path.clone(),
            source,
        })?;
        serde_json::from_str(&text).map_err(|e| LakeError::Corrupt {
            path,
            reason: e.to_string(),
        })
    }

    fn write_file(lake_root: &Path, file: &KeyringFile) -> Result<(), LakeError> {
        let path = Self::path(lake_root);
        let text = serde_json::to_string_pretty(file).expect("serializable");
        crate::lake::write_atomically(&path, text.as_bytes())
    }

    /// Starts encrypting this lake's personal fields: one data key per table that has them.
    pub fn init(
        lake_root: &Path,
        master: &MasterKey,
        cipher: Cipher,
        tables: &[&str],
        now: &str,
    ) -> Result<Keyring, LakeError> {
        if Self::exists(lake_root) {
            return Err(invalid(format!(
                "{} exists: this lake already encrypts personal fields (see `gridmark keys status`)",
                Self::path(lake_root).display()
            )));
        }
        let mut file = KeyringFile {
            master_fingerprint: master.fingerprint(),
            cipher: Some(cipher),
            keys: Vec::new(),
        };
        for t in tables {
            file.keys.push(new_key(master, t, cipher, 1, now));
        }
        Self::write_file(lake_root, &file)?;
        Self::open(lake_root, master)
    }

    /// Opens the keyring; None when the lake does not encrypt.
    pub fn open_if_any(
        lake_root: &Path,
        master: Option<&MasterKey>,
    ) -> Result<Option<Keyring>, LakeError> {
        if !Self::exists(lake_root) {
            return Ok(None);
        }
        let master = master.ok_or_else(|| {
            invalid(format!(
                "{} encrypts personal fields: give its master key in GRIDMARK_MASTER_KEY or GRIDMARK_MASTER_KEY_FILE",
                lake_root.display()
            ))
        })?;
        Self::open(lake_root, master).map(Some)
    }

    pub fn open(lake_root: &Path, master: &MasterKey) -> Result<Keyring, LakeError> {
        let file = Self::read_file(lake_root)?;
        if file.master_fingerprint != master.fingerprint() {
            return Err(invalid(format!(
                "the keyring was wrapped by master key {}, not by the one given ({})",
                file.master_fingerprint,
                master.fingerprint()
            )));
        }
        let mut open = HashMap::new();
        for k in &file.keys {
            let key = master.unwrap(&k.wrapped, &k.id)?;
            if key.len() != k.cipher.key_len() {
                return Err(invalid(format!("data key {}: wrong length", k.id)));
            }
            let nonce_key: [u8; 32] =
                Sha256::digest([b"gridmark-nonce".as_slice(), &key].concat()).into();
            open.insert(
                k.id.clone(),
                Open {
                    cipher: k.cipher,
                    key,
                    nonce_key,
                },
            );
        }
        Ok(Keyring { file, open })
    }

    /// The key new values of `table` are sealed with.
    fn active(&self, table: &str) -> Option<&DataKeyEntry> {
        self.file
            .keys
            .iter()
            .rev()
            .find(|k| k.table == table && !k.retired)
    }

    /// Whether `table`'s new values are sealed.
    pub fn covers(&self, table: &str) -> bool {
        self.active(table).is_some()
    }

    /// Seals one value with the table's active key; sealed values are left as they are.
    pub fn seal(&self, table: &str, value: &str) -> Result<String, LakeError> {
        if value.starts_with(PREFIX) {
            return Ok(value.to_string());
        }
        let entry = self
            .active(table)
            .ok_or_else(|| invalid(format!("no data key for {table}")))?;
        let k = &self.open[&entry.id];
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&k.nonce_key).expect("any length");
        mac.update(value.as_bytes());
        let tag = mac.finalize().into_bytes();
        let nonce = Nonce::from_slice(&tag[..12]);
        let ct = match k.cipher {
            Cipher::Aes256Gcm => Aes256Gcm::new_from_slice(&k.key)
                .expect("32-byte key")
                .encrypt(nonce, value.as_bytes()),
            Cipher::Sm4Gcm => Sm4Gcm::new_from_slice(&k.key)
                .expect("16-byte key")
                .encrypt(nonce, value.as_bytes()),
        }
        .map_err(|_| invalid("encryption failed"))?;
        Ok(format!(
            "{PREFIX}{}:{}",
            entry.id,
            b64(&[&tag[..12], ct.as_slice()].concat())
        ))
    }

    /// Opens a sealed value; other values are returned as they are.
    pub fn open_value(&self, value: &str) -> Result<String, LakeError> {
        let Some(rest) = value.strip_prefix(PREFIX) else {
            return Ok(value.to_string());
        };
        let (id, body) = rest
            .split_once(':')
            .ok_or_else(|| invalid("a sealed value without its key id"))?;
        let k = self
            .open
            .get(id)
            .ok_or_else(|| invalid(format!("no data key {id} in the keyring")))?;
        let raw = unb64(body)
            .filter(|r| r.len() >= 12 + 16)
            .ok_or_else(|| invalid(format!("a value sealed with {id} is damaged")))?;
        let nonce = Nonce::from_slice(&raw[..12]);
        let plain = match k.cipher {
            Cipher::Aes256Gcm => Aes256Gcm::new_from_slice(&k.key)
                .expect("32-byte key")
                .decrypt(nonce, &raw[12..]),
            Cipher::Sm4Gcm => Sm4Gcm::new_from_slice(&k.key)
                .expect("16-byte key")
                .decrypt(nonce, &raw[12..]),
        }
        .map_err(|_| {
            invalid(format!(
                "a value sealed with {id} fails its check (altered?)"
            ))
        })?;
        String::from_utf8(plain).map_err(|_| invalid("a sealed value is not UTF-8"))
    }

    /// `batch` with its `personal` text columns sealed with `table`'s key.
    pub fn seal_batch(
        &self,
        table: &str,
        personal: &[&str],
        batch: &RecordBatch,
    ) -> Result<RecordBatch, LakeError> {
        map_columns(batch, personal, |v| self.seal(table, v))
    }

    /// `batch` with every sealed value of its `personal` columns opened.
    pub fn open_batch(
        &self,
        personal: &[&str],
        batch: &RecordBatch,
    ) -> Result<RecordBatch, LakeError> {
        map_columns(batch, personal, |v| self.open_value(v))
    }

    /// Rewraps every data key under `new_master` (no data is rewritten), and with `new_data_keys`
    /// retires each table's key for a new one; returns the new keyring file.
    pub fn rotate(
        lake_root: &Path,
        old_master: &MasterKey,
        new_master: &MasterKey,
        new_data_keys: bool,
        now: &str,
    ) -> Result<KeyringFile, LakeError> {
        let _held = gridmark_core::lockfile::lock_exclusive(&lake_root.join("_keys/keys.lock"))
            .map_err(|source| LakeError::Io {
                path: lake_root.join("_keys/keys.lock"),
                source,
            })?;
        let ring = Self::open(lake_root, old_master)?;
        let mut file = ring.file.clone();
        for k in &mut file.keys {
            k.wrapped = new_master.wrap(&ring.open[&k.id].key);
        }
        if new_data_keys {
            let tables: Vec<(String, Cipher, usize)> = {
                let mut seen: Vec<(String, Cipher, usize)> = Vec::new();
                for k in file.keys.iter().filter(|k| !k.retired) {
                    let n = file.keys.iter().filter(|x| x.table == k.table).count();
                    seen.push((k.table.clone(), file.cipher.unwrap_or(k.cipher), n + 1));
                }
                seen
            };
            for k in &mut file.keys {
                k.retired = true;
            }
            for (t, c, n) in tables {
                file.keys.push(new_key(new_master, &t, c, n, now));
            }
        }
        file.master_fingerprint = new_master.fingerprint();
        Self::write_file(lake_root, &file)?;
        Ok(file)
    }
}

/// `batch` with `f` applied to every non-null value of the named text columns.
pub fn map_columns(
    batch: &RecordBatch,
    names: &[&str],
    mut f: impl FnMut(&str) -> Result<String, LakeError>,
) -> Result<RecordBatch, LakeError> {
    let schema = batch.schema();
    let mut cols: Vec<ArrayRef> = batch.columns().to_vec();
    for (i, field) in schema.fields().iter().enumerate() {
        if !names.contains(&field.name().as_str()) || field.data_type() != &DataType::Utf8 {
            continue;
        }
        let a = batch.column(i).as_string::<i32>();
        let mut out = Vec::with_capacity(a.len());
        for r in 0..a.len() {
            out.push(if a.is_null(r) {
                None
            } else {
                Some(f(a.value(r))?)
            });
        }
        cols[i] = std::sync::Arc::new(StringArray::from(out));
    }
    Ok(RecordBatch::try_new(schema, cols)?)
}

fn new_key(master: &MasterKey, table: &str, cipher: Cipher, n: usize, now: &str) -> DataKeyEntry {
    let mut key = vec![0u8; cipher.key_len()];
    OsRng.fill_bytes(&mut key);
    DataKeyEntry {
        id: format!("{table}-{n}"),
        table: table.to_string(),
        cipher,
        wrapped: master.wrap(&key),
        created_at: now.to_string(),
        retired: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trips_every_length() {
        for n in 0..40 {
            let data: Vec<u8> = (0..n).map(|i| (i * 37 + 11) as u8).collect();
            assert_eq!(unb64(&b64(&data)).unwrap(), data);
        }
        assert_eq!(b64(b"Man"), "TWFu");
        assert_eq!(b64(b"Ma"), "TWE=");
    }

    #[test]
    fn values_seal_deterministically_open_with_either_cipher_and_detect_tampering() {
        for cipher in [Cipher::Aes256Gcm, Cipher::Sm4Gcm] {
            let dir = tempfile::tempdir().unwrap();
            let m = MasterKey::generate();
            let ring = Keyring::init(dir.path(), &m, cipher, &["customers"], "now").unwrap();
            let a = ring.seal("customers", "张伟").unwrap();
            assert!(a.starts_with("enc1:customers-1:"), "{a}");
            assert!(!a.contains("张伟"));
            assert_eq!(ring.seal("customers", "张伟").unwrap(), a, "deterministic");
            assert_ne!(ring.seal("customers", "张薇").unwrap(), a);
            assert_eq!(ring.seal("customers", &a).unwrap(), a, "sealed once");
            assert_eq!(ring.open_value(&a).unwrap(), "张伟");
            assert_eq!(ring.open_value("plain").unwrap(), "plain");
            // One flipped character of the sealed text fails the tag, with a message.
            let mut bad: Vec<char> = a.chars().collect();
            // A character inside the ciphertext (the last ones may be padding bits).
            let i = "enc1:customers-1:".len() + 20;
            bad[i] = if bad[i] == 'A' { 'B' } else { 'A' };
            let e = ring
                .open_value(&bad.into_iter().collect::<String>())
                .unwrap_err();
            assert!(e.to_string().contains("fails its check"), "{e}");
            // The keyring file holds no key in clear; another master opens nothing.
            let text = std::fs::read_to_string(Keyring::path(dir.path())).unwrap();
            assert!(text.contains(cipher.name()));
            let other = MasterKey::generate();
            let refused = Keyring::open(dir.path(), &other).err().expect("refused");
            assert!(refused.to_string().contains("wrapped by master key"));
        }
    }

    #[test]
    fn rotation_rewraps_and_new_data_keys_still_open_old_values() {
        let dir = tempfile::tempdir().unwrap();
        let m1 = MasterKey::generate();
        let ring = Keyring::init(dir.path(), &m1, Cipher::Sm4Gcm, &["customers"], "t0").unwrap();
        let old = ring.seal("customers", "13800001234").unwrap();
        let m2 = MasterKey::generate();
        Keyring::rotate(dir.path(), &m1, &m2, false, "t1").unwrap();
        assert!(Keyring::open(dir.path(), &m1).is_err());
        let ring = Keyring::open(dir.path(), &m2).unwrap();
        assert_eq!(ring.open_value(&old).unwrap(), "13800001234");
        assert_eq!(ring.seal("customers", "13800001234").unwrap(), old);
        Keyring::rotate(dir.path(), &m2, &m2, true, "t2").unwrap();
        let ring = Keyring::open(dir.path(), &m2).unwrap();
        let new = ring.seal("customers", "13800001234").unwrap();
        assert!(new.starts_with("enc1:customers-2:"), "{new}");
        assert_eq!(ring.open_value(&old).unwrap(), "13800001234");
        assert_eq!(ring.open_value(&new).unwrap(), "13800001234");
    }

    #[test]
    fn master_keys_parse_from_hex_only() {
        let m = MasterKey::generate();
        assert_eq!(
            MasterKey::parse(&format!(" {}\n", m.to_hex()), "x")
                .unwrap()
                .fingerprint(),
            m.fingerprint()
        );
        for bad in ["", "abc", &"zz".repeat(32), &"ab".repeat(31)] {
            assert!(
                MasterKey::parse(bad, "GRIDMARK_MASTER_KEY").is_err(),
                "{bad}"
            );
        }
    }
}
