//! `gridmark users …`: users, roles and tokens. Every change is a permission change on the
//! ledger.

use crate::CliError;
use crate::cli::{TokensCommand, UsersCommand};
use crate::metering::print_json;
use gridmark_core::Clock;
use gridmark_core::civil::format_utc;
use gridmark_security::{PERMISSIONS, ROLES, Role, Users};
use serde_json::json;
use std::io::{BufRead, Write};
use std::path::Path;

fn role(s: &str) -> Result<Role, CliError> {
    Role::parse(s).ok_or_else(|| {
        crate::usage(format!(
            "role {s:?}: expected {}",
            ROLES
                .iter()
                .map(|r| r.name())
                .collect::<Vec<_>>()
                .join(", ")
        ))
    })
}

fn password(from_stdin: bool) -> Result<String, CliError> {
    if from_stdin {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        return Ok(line.trim_end_matches(['\r', '\n']).to_string());
    }
    std::env::var("GRIDMARK_PASSWORD").map_err(|_| {
        crate::usage(
            "give the password on standard input with --password-stdin, or in GRIDMARK_PASSWORD",
        )
    })
}

pub fn run(data: Option<&Path>, cmd: UsersCommand) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    if let UsersCommand::Roles = cmd {
        write!(out, "{:<20}", "role")?;
        for p in PERMISSIONS {
            write!(out, " {:>14}", p.name())?;
        }
        writeln!(out)?;
        for r in ROLES {
            write!(out, "{:<20}", r.name())?;
            for p in PERMISSIONS {
                write!(out, " {:>14}", if r.may(*p) { "yes" } else { "·" })?;
            }
            writeln!(out)?;
        }
        return Ok(());
    }
    let data = crate::cli::data_dir(data)?;
    gridmark_lake::Lake::open(&data)?;
    let clock = gridmark_core::SystemClock;
    let now_ms = clock.now_ms();
    let now = format_utc(now_ms);
    let mut users = Users::open(&data)?;
    let ledger = |action: &str, object: &str, details: serde_json::Value| {
        crate::audit::record(&data, action, object, details)
    };
    match cmd {
        UsersCommand::Roles => unreachable!("handled above"),
        UsersCommand::Add {
            name,
            role: r,
            scope,
            password_stdin,
        } => {
            let role = role(&r)?;
            let pw = password(password_stdin)?;
            let u = users.add(&name, role, scope, &pw, &now)?.clone();
            ledger(
                "user_added",
                &name,
                json!({"role": role.name(), "scope": u.scope}),
            )?;
            writeln!(
                out,
                "added {name} as {}{}",
                role.name(),
                if u.scope.is_empty() {
                    String::new()
                } else {
                    format!(", scope {}", u.scope.join(", "))
                }
            )?;
        }
        UsersCommand::List { json } => {
            if json {
                let rows: Vec<_> = users
                    .store
                    .users
                    .iter()
                    .map(|u| json!({"name": u.name, "role": u.role.name(), "scope": u.scope, "disabled": u.disabled, "created_at": u.created_at}))
                    .collect();
                return print_json(&rows);
            }
            writeln!(out, "{:<20} {:<20} {:<9} scope", "user", "role", "state")?;
            for u in &users.store.users {
                writeln!(
                    out,
                    "{:<20} {:<20} {:<9} {}",
                    u.name,
                    u.role.name(),
                    if u.disabled { "disabled" } else { "active" },
                    if u.scope.is_empty() {
                        "all".to_string()
                    } else {
                        u.scope.join(", ")
                    }
                )?;
            }
        }
        UsersCommand::Role {
            name,
            role: r,
            scope,
        } => {
            let role = role(&r)?;
            users.set_role(&name, role, scope)?;
            let u = users.get(&name)?;
            ledger(
                "user_role_changed",
                &name,
                json!({"role": role.name(), "scope": u.scope}),
            )?;
            writeln!(out, "{name} is now {}", role.name())?;
        }
        UsersCommand::Password {
            name,
            password_stdin,
        } => {
            let pw = password(password_stdin)?;
            users.set_password(&name, &pw)?;
            ledger("password_changed", &name, json!({}))?;
            writeln!(out, "password of {name} changed")?;
        }
        UsersCommand::Disable { name } => {
            users.set_disabled(&name, true)?;
            ledger("user_disabled", &name, json!({}))?;
            writeln!(out, "{name} is disabled; their tokens are revoked")?;
        }
        UsersCommand::Enable { name } => {
            users.set_disabled(&name, false)?;
            ledger("user_enabled", &name, json!({}))?;
            writeln!(out, "{name} is enabled")?;
        }
        UsersCommand::Tokens(TokensCommand::Issue { name, days }) => {
            let (t, secret) = users.issue_token(&name, now_ms, days, &now)?;
            ledger(
                "token_issued",
                &name,
                json!({"token": t.id, "expires": format_utc(t.expires_at_ms)}),
            )?;
            eprintln!(
                "token {} for {name}, valid until {}; it is shown once and stored only as a hash:",
                t.id,
                format_utc(t.expires_at_ms)
            );
            writeln!(out, "{secret}")?;
        }
        UsersCommand::Tokens(TokensCommand::List) => {
            writeln!(
                out,
                "{:<14} {:<20} {:<22} state",
                "token", "user", "expires"
            )?;
            for t in &users.store.tokens {
                let state = if t.revoked {
                    "revoked"
                } else if t.expires_at_ms <= now_ms {
                    "expired"
                } else {
                    "active"
                };
                writeln!(
                    out,
                    "{:<14} {:<20} {:<22} {state}",
                    t.id,
                    t.user,
                    format_utc(t.expires_at_ms)
                )?;
            }
        }
        UsersCommand::Tokens(TokensCommand::Revoke { id }) => {
            let t = users.revoke_token(&id)?.clone();
            ledger("token_revoked", &t.user, json!({"token": id}))?;
            writeln!(out, "token {id} of {} revoked", t.user)?;
        }
    }
    Ok(())
}
