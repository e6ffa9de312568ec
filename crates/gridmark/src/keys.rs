//! `gridmark keys …`: envelope encryption of personal fields. Every key event is on the ledger
//! (fingerprints and key ids only, never a key).

use crate::CliError;
use crate::cli::KeysCommand;
use crate::metering::print_json;
use gridmark_core::Clock;
use gridmark_core::civil::format_utc;
use gridmark_lake::Lake;
use gridmark_lake::keyring::{Cipher, Keyring, MasterKey};
use serde_json::json;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

fn master() -> Result<MasterKey, CliError> {
    MasterKey::from_env()?.ok_or_else(|| {
        crate::usage(
            "give the master key in GRIDMARK_MASTER_KEY (64 hex digits) or GRIDMARK_MASTER_KEY_FILE; \
             `gridmark keys new-master` makes one",
        )
    })
}

/// The catalog tables that hold personal fields.
fn personal_tables() -> Vec<&'static str> {
    gridmark_core::catalog::TABLES
        .iter()
        .filter(|t| !t.personal.is_empty())
        .map(|t| t.name)
        .collect()
}

fn reseal(
    data: &Path,
    lake: &Lake,
    ring: Arc<Keyring>,
) -> Result<Vec<serde_json::Value>, CliError> {
    let mut done = Vec::new();
    for t in personal_tables() {
        let (files, rows, version) =
            lake.reseal(Arc::new(gridmark_core::SystemClock), t, ring.clone())?;
        if files > 0 {
            crate::audit::record(
                data,
                "keys_resealed",
                t,
                json!({"files": files, "rows": rows, "version": version}),
            )?;
        }
        done.push(json!({"table": t, "files": files, "rows": rows, "version": version}));
    }
    Ok(done)
}

pub fn run(data: Option<&Path>, cmd: KeysCommand) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    if let KeysCommand::NewMaster = cmd {
        writeln!(out, "{}", MasterKey::generate().to_hex())?;
        return Ok(());
    }
    let data = crate::cli::data_dir(data)?;
    let lake = Lake::open(&data)?;
    let now = format_utc(gridmark_core::SystemClock.now_ms());
    match cmd {
        KeysCommand::NewMaster => unreachable!("handled above"),
        KeysCommand::Init { cipher, json } => {
            let cipher = Cipher::parse(&cipher).ok_or_else(|| {
                crate::usage(format!("--cipher {cipher}: aes-256-gcm or sm4-gcm"))
            })?;
            let m = master()?;
            let ring = Keyring::init(&data, &m, cipher, &personal_tables(), &now)?;
            crate::audit::record(
                &data,
                "keys_init",
                "keyring",
                json!({"cipher": cipher.name(), "master": m.fingerprint(),
                       "keys": ring.file.keys.iter().map(|k| &k.id).collect::<Vec<_>>()}),
            )?;
            let resealed = reseal(&data, &lake, Arc::new(ring))?;
            if json {
                return print_json(
                    &json!({"cipher": cipher.name(), "master": m.fingerprint(), "resealed": resealed}),
                );
            }
            writeln!(
                out,
                "personal fields are now encrypted with {} (master key {})",
                cipher.name(),
                m.fingerprint()
            )?;
            for r in resealed {
                writeln!(
                    out,
                    "  {:<12} {} files, {} rows sealed",
                    r["table"].as_str().unwrap_or(""),
                    r["files"],
                    r["rows"]
                )?;
            }
        }
        KeysCommand::Status { json } => {
            if !Keyring::exists(&data) {
                if json {
                    return print_json(&json!({"encrypted": false}));
                }
                writeln!(
                    out,
                    "{} does not encrypt personal fields (gridmark keys init starts)",
                    data.display()
                )?;
                return Ok(());
            }
            let given = MasterKey::from_env()?;
            let opened = given.as_ref().map(|m| Keyring::open(&data, m));
            let file = match &opened {
                Some(Ok(r)) => r.file.clone(),
                _ => serde_json::from_str(&std::fs::read_to_string(Keyring::path(&data))?)?,
            };
            let state = match &opened {
                None => "no master key given".to_string(),
                Some(Ok(_)) => "the given master key opens every data key".to_string(),
                Some(Err(e)) => e.to_string(),
            };
            if json {
                return print_json(
                    &json!({"encrypted": true, "keyring": file, "given_key": state}),
                );
            }
            writeln!(out, "master key {} · {}", file.master_fingerprint, state)?;
            for k in &file.keys {
                writeln!(
                    out,
                    "  {:<16} {:<10} {:<12} created {}{}",
                    k.id,
                    k.table,
                    k.cipher.name(),
                    k.created_at,
                    if k.retired {
                        "  (retired: opens older values)"
                    } else {
                        ""
                    }
                )?;
            }
        }
        KeysCommand::Rotate {
            new_master_file,
            data_keys,
            json,
        } => {
            let old = master()?;
            let new = match &new_master_file {
                Some(f) => MasterKey::from_file(f)?,
                None => old.clone(),
            };
            if new_master_file.is_none() && !data_keys {
                return Err(crate::usage(
                    "say what to rotate: --new-master-file FILE and/or --data-keys",
                ));
            }
            let file = Keyring::rotate(&data, &old, &new, data_keys, &now)?;
            crate::audit::record(
                &data,
                "keys_rotated",
                "keyring",
                json!({"from_master": old.fingerprint(), "to_master": new.fingerprint(), "data_keys": data_keys,
                       "active": file.keys.iter().filter(|k| !k.retired).map(|k| &k.id).collect::<Vec<_>>()}),
            )?;
            let resealed = if data_keys {
                reseal(&data, &lake, Arc::new(Keyring::open(&data, &new)?))?
            } else {
                Vec::new()
            };
            if json {
                return print_json(
                    &json!({"master": new.fingerprint(), "keyring": file, "resealed": resealed}),
                );
            }
            writeln!(out, "data keys wrapped by master key {}", new.fingerprint())?;
            for k in file.keys.iter().filter(|k| !k.retired) {
                writeln!(out, "  active: {} ({})", k.id, k.cipher.name())?;
            }
            for r in resealed {
                writeln!(
                    out,
                    "  {:<12} {} files, {} rows resealed",
                    r["table"].as_str().unwrap_or(""),
                    r["files"],
                    r["rows"]
                )?;
            }
            if new_master_file.is_some() {
                writeln!(
                    out,
                    "give servers and jobs the new key (GRIDMARK_MASTER_KEY_FILE) before their next start"
                )?;
            }
        }
    }
    Ok(())
}
