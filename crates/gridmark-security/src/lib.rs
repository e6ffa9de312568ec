//! Who may do what: users with argon2id password hashes, API tokens stored only as hashes,
//! roles with their permissions, a region/area scope per user, and the masking of personal
//! fields for roles that may not see them.
//!
//! The store is `<lake>/_security/users.json`, rewritten atomically (temporary file, fsync,
//! rename) under `_security/users.lock`; it never holds a password or a token in clear.

pub mod guard;

use argon2::Argon2;
use argon2::password_hash::rand_core::{OsRng, RngCore};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use serde::{Deserialize, Serialize};
use sha2::Digest;
use std::io::Write;
use std::path::{Path, PathBuf};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum SecurityError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    NotFound(String),
    /// Deliberately vague: which of name or password was wrong is not said.
    #[error("unknown user or wrong password")]
    BadCredentials,
    #[error("the token is unknown, revoked or expired")]
    BadToken,
}

/// What a role may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    /// Readings, meters, areas, line loss, VEE, theft suspects.
    ReadMetering,
    /// Customers (without personal fields), bills, payments, segments, profiles, forecasts.
    ReadMarketing,
    /// Work orders, surveys, complaints, satisfaction, staff.
    ReadService,
    /// Name, phone, ID number and address in clear.
    ReadPersonal,
    /// Risk alerts and the risk register.
    ReadRisk,
    /// Acknowledge and resolve alerts; change the register.
    ManageRisk,
    /// Import and ingest data.
    Write,
    /// Download whole tables (CSV, Parquet).
    Export,
    /// The ledger and security alerts.
    ReadAudit,
    /// Users, roles, tokens.
    ManageUsers,
}

pub const PERMISSIONS: &[Permission] = &[
    Permission::ReadMetering,
    Permission::ReadMarketing,
    Permission::ReadService,
    Permission::ReadPersonal,
    Permission::ReadRisk,
    Permission::ManageRisk,
    Permission::Write,
    Permission::Export,
    Permission::ReadAudit,
    Permission::ManageUsers,
];

impl Permission {
    pub fn name(self) -> &'static str {
        match self {
            Permission::ReadMetering => "read_metering",
            Permission::ReadMarketing => "read_marketing",
            Permission::ReadService => "read_service",
            Permission::ReadPersonal => "read_personal",
            Permission::ReadRisk => "read_risk",
            Permission::ManageRisk => "manage_risk",
            Permission::Write => "write",
            Permission::Export => "export",
            Permission::ReadAudit => "read_audit",
            Permission::ManageUsers => "manage_users",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    MarketingAnalyst,
    MeteringInspector,
    ServiceAgent,
    Auditor,
}

pub const ROLES: &[Role] = &[
    Role::Admin,
    Role::MarketingAnalyst,
    Role::MeteringInspector,
    Role::ServiceAgent,
    Role::Auditor,
];

impl Role {
    pub fn name(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::MarketingAnalyst => "marketing_analyst",
            Role::MeteringInspector => "metering_inspector",
            Role::ServiceAgent => "service_agent",
            Role::Auditor => "auditor",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        ROLES.iter().copied().find(|r| r.name() == s)
    }

    pub fn permissions(self) -> &'static [Permission] {
        use Permission::*;
        match self {
            Role::Admin => PERMISSIONS,
            Role::MarketingAnalyst => &[ReadMarketing, ReadMetering, ReadService, ReadRisk, Export],
            // Inspectors go to the premises: they see who and where.
            Role::MeteringInspector => &[ReadMetering, ReadPersonal, ReadRisk, ManageRisk],
            // Agents talk to the customer: they see who, not the meter data behind theft.
            Role::ServiceAgent => &[ReadService, ReadMarketing, ReadPersonal],
            // Auditors see what was done, not whom it was done to.
            Role::Auditor => &[
                ReadAudit,
                ReadRisk,
                ReadMetering,
                ReadMarketing,
                ReadService,
            ],
        }
    }

    pub fn may(self, p: Permission) -> bool {
        self.permissions().contains(&p)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct User {
    pub name: String,
    pub role: Role,
    /// Regions or areas the user may see rows of; empty = everywhere.
    pub scope: Vec<String>,
    /// Argon2id PHC string.
    pub password_hash: String,
    pub disabled: bool,
    pub created_at: String,
}

impl User {
    pub fn may(&self, p: Permission) -> bool {
        !self.disabled && self.role.may(p)
    }
    /// Whether a row of `region` / `area` is inside the user's scope.
    pub fn sees(&self, region: Option<&str>, area: Option<&str>) -> bool {
        self.scope.is_empty()
            || self
                .scope
                .iter()
                .any(|s| Some(s.as_str()) == region || Some(s.as_str()) == area)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Token {
    pub id: String,
    pub user: String,
    /// SHA-256 of the secret part (tokens are 256 random bits: a fast hash is enough).
    pub hash: String,
    pub created_at: String,
    pub expires_at_ms: i64,
    pub revoked: bool,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Store {
    pub users: Vec<User>,
    pub tokens: Vec<Token>,
}

pub const MIN_PASSWORD: usize = 10;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn sha256_hex(s: &str) -> String {
    hex(&sha2::Sha256::digest(s.as_bytes()))
}

/// Compares without stopping at the first difference.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

pub fn hash_password(password: &str) -> Result<String, SecurityError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| SecurityError::Invalid(format!("hashing the password: {e}")))
}

fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

/// The users and tokens of one lake.
pub struct Users {
    dir: PathBuf,
    _lock: std::fs::File,
    pub store: Store,
}

impl Users {
    /// Opens the store and takes its lock until dropped.
    pub fn open(lake_root: &Path) -> Result<Users, SecurityError> {
        let dir = lake_root.join("_security");
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| SecurityError::Io { path, source }
        };
        std::fs::create_dir_all(&dir).map_err(io(&dir))?;
        let lock_path = dir.join("users.lock");
        let lock = gridmark_core::lockfile::lock_exclusive(&lock_path).map_err(io(&lock_path))?;
        let path = dir.join("users.json");
        let store = match std::fs::read_to_string(&path) {
            Ok(t) => serde_json::from_str(&t)
                .map_err(|e| SecurityError::Invalid(format!("{}: {e}", path.display())))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Store::default(),
            Err(source) => return Err(SecurityError::Io { path, source }),
        };
        Ok(Users {
            dir,
            _lock: lock,
            store,
        })
    }

    fn save(&self) -> Result<(), SecurityError> {
        let path = self.dir.join("users.json");
        let tmp = self.dir.join("users.json.tmp");
        let io = |p: &Path| {
            let p = p.to_path_buf();
            move |source| SecurityError::Io { path: p, source }
        };
        let text = serde_json::to_string_pretty(&self.store).expect("the store serialises");
        let mut f = std::fs::File::create(&tmp).map_err(io(&tmp))?;
        f.write_all(text.as_bytes()).map_err(io(&tmp))?;
        f.sync_all().map_err(io(&tmp))?;
        std::fs::rename(&tmp, &path).map_err(io(&path))
    }

    pub fn get(&self, name: &str) -> Result<&User, SecurityError> {
        self.store
            .users
            .iter()
            .find(|u| u.name == name)
            .ok_or_else(|| SecurityError::NotFound(format!("no user {name:?}")))
    }

    pub fn add(
        &mut self,
        name: &str,
        role: Role,
        scope: Vec<String>,
        password: &str,
        now: &str,
    ) -> Result<&User, SecurityError> {
        if name.is_empty()
            || name.len() > 64
            || !name
                .chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'))
        {
            return Err(SecurityError::Invalid(format!(
                "user name {name:?}: 1–64 letters, digits, . _ - @"
            )));
        }
        if self.store.users.iter().any(|u| u.name == name) {
            return Err(SecurityError::Invalid(format!("user {name:?} exists")));
        }
        check_password(password)?;
        self.store.users.push(User {
            name: name.into(),
            role,
            scope,
            password_hash: hash_password(password)?,
            disabled: false,
            created_at: now.into(),
        });
        self.save()?;
        Ok(self.store.users.last().expect("just pushed"))
    }

    pub fn set_password(&mut self, name: &str, password: &str) -> Result<(), SecurityError> {
        check_password(password)?;
        let hash = hash_password(password)?;
        self.user_mut(name)?.password_hash = hash;
        self.save()
    }

    pub fn set_role(
        &mut self,
        name: &str,
        role: Role,
        scope: Option<Vec<String>>,
    ) -> Result<(), SecurityError> {
        let u = self.user_mut(name)?;
        u.role = role;
        if let Some(s) = scope {
            u.scope = s;
        }
        self.save()
    }

    pub fn set_disabled(&mut self, name: &str, disabled: bool) -> Result<(), SecurityError> {
        self.user_mut(name)?.disabled = disabled;
        if disabled {
            for t in self.store.tokens.iter_mut().filter(|t| t.user == name) {
                t.revoked = true;
            }
        }
        self.save()
    }

    fn user_mut(&mut self, name: &str) -> Result<&mut User, SecurityError> {
        self.store
            .users
            .iter_mut()
            .find(|u| u.name == name)
            .ok_or_else(|| SecurityError::NotFound(format!("no user {name:?}")))
    }

    /// The user, when the password is theirs and they are not disabled.
    pub fn login(&self, name: &str, password: &str) -> Result<&User, SecurityError> {
        match self.store.users.iter().find(|u| u.name == name) {
            Some(u) if !u.disabled && verify_password(password, &u.password_hash) => Ok(u),
            Some(_) => Err(SecurityError::BadCredentials),
            None => {
                // Spend the same time as a real check, so timing does not tell who exists.
                let _ = verify_password(password, dummy_hash());
                Err(SecurityError::BadCredentials)
            }
        }
    }

    /// Issues a token; the returned string is the only time the secret exists in clear.
    pub fn issue_token(
        &mut self,
        user: &str,
        now_ms: i64,
        days: i64,
        now: &str,
    ) -> Result<(Token, String), SecurityError> {
        if self.get(user)?.disabled {
            return Err(SecurityError::Invalid(format!("user {user:?} is disabled")));
        }
        if !(1..=3660).contains(&days) {
            return Err(SecurityError::Invalid(format!(
                "{days} days: a token lives 1…3660 days"
            )));
        }
        let mut bytes = [0u8; 32];
        OsRng.fill_bytes(&mut bytes);
        let mut id = [0u8; 6];
        OsRng.fill_bytes(&mut id);
        let id = hex(&id);
        let secret = hex(&bytes);
        let token = Token {
            id: id.clone(),
            user: user.into(),
            hash: sha256_hex(&secret),
            created_at: now.into(),
            expires_at_ms: now_ms + days * 86_400_000,
            revoked: false,
        };
        self.store.tokens.push(token.clone());
        self.save()?;
        Ok((token, format!("gmk_{id}_{secret}")))
    }

    pub fn revoke_token(&mut self, id: &str) -> Result<&Token, SecurityError> {
        let i = self
            .store
            .tokens
            .iter()
            .position(|t| t.id == id)
            .ok_or_else(|| SecurityError::NotFound(format!("no token {id}")))?;
        self.store.tokens[i].revoked = true;
        self.save()?;
        Ok(&self.store.tokens[i])
    }

    /// The user a presented token belongs to.
    pub fn authenticate(&self, presented: &str, now_ms: i64) -> Result<&User, SecurityError> {
        self.store.authenticate(presented, now_ms)
    }
}

impl Store {
    /// Reads the store without taking the lock (it is replaced atomically), for servers that
    /// check every request.
    pub fn read(lake_root: &Path) -> Result<Store, SecurityError> {
        let path = lake_root.join("_security/users.json");
        match std::fs::read_to_string(&path) {
            Ok(t) => serde_json::from_str(&t)
                .map_err(|e| SecurityError::Invalid(format!("{}: {e}", path.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Store::default()),
            Err(source) => Err(SecurityError::Io { path, source }),
        }
    }

    /// The user a presented token belongs to.
    pub fn authenticate(&self, presented: &str, now_ms: i64) -> Result<&User, SecurityError> {
        let rest = presented
            .strip_prefix("gmk_")
            .ok_or(SecurityError::BadToken)?;
        let (id, secret) = rest.split_once('_').ok_or(SecurityError::BadToken)?;
        let t = self
            .tokens
            .iter()
            .find(|t| t.id == id)
            .ok_or(SecurityError::BadToken)?;
        if t.revoked || now_ms >= t.expires_at_ms || !same(&sha256_hex(secret), &t.hash) {
            return Err(SecurityError::BadToken);
        }
        match self.users.iter().find(|u| u.name == t.user) {
            Some(u) if !u.disabled => Ok(u),
            _ => Err(SecurityError::BadToken),
        }
    }
}

/// An argon2id hash of a random string, for equal-time failures on unknown users.
fn dummy_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| {
        let mut b = [0u8; 16];
        OsRng.fill_bytes(&mut b);
        hash_password(&hex(&b)).unwrap_or_default()
    })
}

fn check_password(p: &str) -> Result<(), SecurityError> {
    if p.chars().count() < MIN_PASSWORD {
        return Err(SecurityError::Invalid(format!(
            "a password has at least {MIN_PASSWORD} characters"
        )));
    }
    Ok(())
}

/// The personal columns of the catalog's tables.
pub const PERSONAL_FIELDS: &[&str] = &["name", "phone", "id_number", "address"];

/// A personal value as a role without `ReadPersonal` sees it: enough to recognise, not to use.
pub fn mask(field: &str, value: &str) -> String {
    let chars: Vec<char> = value.chars().collect();
    let n = chars.len();
    let keep = |head: usize, tail: usize| -> String {
        if n <= head + tail {
            return "*".repeat(n.max(1));
        }
        let mut s: String = chars[..head].iter().collect();
        s.push_str(&"*".repeat(n - head - tail));
        s.extend(&chars[n - tail..]);
        s
    };
    match field {
        // 张** / J*** S***
        "name" => keep(1, 0),
        // 138****5678
        "phone" => keep(3, 4),
        // 330102**********12
        "id_number" => keep(6, 2),
        // the first six characters (city and district), then nothing
        "address" => {
            let head: String = chars.iter().take(6).collect();
            format!("{head}***")
        }
        _ => value.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_permissions_and_scope() {
        assert!(Role::Admin.may(Permission::ManageUsers));
        assert!(!Role::MarketingAnalyst.may(Permission::ReadPersonal));
        assert!(Role::MeteringInspector.may(Permission::ReadPersonal));
        assert!(!Role::Auditor.may(Permission::ReadPersonal));
        assert!(!Role::ServiceAgent.may(Permission::ReadMetering));
        let u = User {
            name: "li".into(),
            role: Role::MeteringInspector,
            scope: vec!["xihu".into(), "A0007".into()],
            password_hash: String::new(),
            disabled: false,
            created_at: String::new(),
        };
        assert!(u.sees(Some("xihu"), None) && u.sees(Some("binjiang"), Some("A0007")));
        assert!(!u.sees(Some("binjiang"), Some("A0003")) && !u.sees(None, None));
        assert_eq!(Role::parse("auditor"), Some(Role::Auditor));
        assert_eq!(Role::parse("root"), None);
    }

    #[test]
    fn masking() {
        assert_eq!(mask("name", "张三丰"), "张**");
        assert_eq!(mask("phone", "13812345678"), "138****5678");
        assert_eq!(
            mask("id_number", "330102199001011234"),
            "330102**********34"
        );
        assert_eq!(
            mask("address", "浙江省杭州市西湖区文三路 90 号"),
            "浙江省杭州市***"
        );
        assert_eq!(mask("phone", "12"), "**");
        assert_eq!(mask("region", "xihu"), "xihu");
    }

    #[test]
    fn passwords_and_tokens_are_stored_only_as_hashes() {
        let dir = tempfile::tempdir().unwrap();
        let mut users = Users::open(dir.path()).unwrap();
        users
            .add(
                "wang.fang",
                Role::MarketingAnalyst,
                vec![],
                "correct horse battery",
                "t0",
            )
            .unwrap();
        assert!(
            users
                .add("wang.fang", Role::Auditor, vec![], "another long one", "t0")
                .is_err()
        );
        assert!(
            users
                .add("x", Role::Auditor, vec![], "short", "t0")
                .is_err()
        );
        assert!(
            users
                .add("bad name", Role::Auditor, vec![], "long enough pw", "t0")
                .is_err()
        );
        assert!(users.login("wang.fang", "correct horse battery").is_ok());
        assert!(matches!(
            users.login("wang.fang", "wrong horse battery"),
            Err(SecurityError::BadCredentials)
        ));
        assert!(matches!(
            users.login("nobody", "correct horse battery"),
            Err(SecurityError::BadCredentials)
        ));
        let (t, secret) = users.issue_token("wang.fang", 1_000, 30, "t0").unwrap();
        assert_eq!(
            users.authenticate(&secret, 2_000).unwrap().name,
            "wang.fang"
        );
        assert!(
            users
                .authenticate(&secret, 1_000 + 31 * 86_400_000)
                .is_err()
        );
        let mut forged = secret.clone();
        forged.pop();
        forged.push(if secret.ends_with('0') { '1' } else { '0' });
        assert!(users.authenticate(&forged, 2_000).is_err());
        drop(users);
        let text = std::fs::read_to_string(dir.path().join("_security/users.json")).unwrap();
        assert!(!text.contains("correct horse") && !text.contains(&secret[secret.len() - 64..]));
        assert!(text.contains("$argon2id$"));
        let mut users = Users::open(dir.path()).unwrap();
        users.revoke_token(&t.id).unwrap();
        assert!(users.authenticate(&secret, 2_000).is_err());
        users.set_disabled("wang.fang", true).unwrap();
        assert!(users.login("wang.fang", "correct horse battery").is_err());
    }
}
