//! `gridmark users …`: passwords and tokens never stored in clear, clear errors, and every
//! permission change on the ledger.

mod common;
use common::{demo, fails, json, ok};
use std::io::Write;
use std::process::{Command, Stdio};

fn with_stdin(args: &[&str], input: &str) -> std::process::Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_gridmark"))
        .args(args)
        .env_remove("GRIDMARK_DATA")
        .env_remove("GRIDMARK_PASSWORD")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn users_roles_and_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let l = lake.to_str().unwrap();
    demo(l, 20, 30, 2);
    let pw = "Xihu-meters-2025\n";
    let out = with_stdin(
        &[
            "--data",
            l,
            "users",
            "add",
            "wang.fang",
            "--role",
            "marketing_analyst",
            "--password-stdin",
        ],
        pw,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = with_stdin(
        &[
            "--data",
            l,
            "users",
            "add",
            "li.wei",
            "--role",
            "metering_inspector",
            "--scope",
            "xihu,A0007",
            "--password-stdin",
        ],
        pw,
    );
    assert!(out.status.success());
    let err = |o: std::process::Output| {
        assert!(!o.status.success());
        let e = String::from_utf8_lossy(&o.stderr).to_string();
        assert!(!e.contains("panicked"), "{e}");
        e
    };
    assert!(
        err(with_stdin(
            &[
                "--data",
                l,
                "users",
                "add",
                "wang.fang",
                "--role",
                "auditor",
                "--password-stdin"
            ],
            pw
        ))
        .contains("exists")
    );
    assert!(
        err(with_stdin(
            &[
                "--data",
                l,
                "users",
                "add",
                "zhao",
                "--role",
                "root",
                "--password-stdin"
            ],
            pw
        ))
        .contains("metering_inspector")
    );
    assert!(
        err(with_stdin(
            &[
                "--data",
                l,
                "users",
                "add",
                "zhao",
                "--role",
                "auditor",
                "--password-stdin"
            ],
            "short\n"
        ))
        .contains("at least 10")
    );
    assert!(
        fails(&["--data", l, "users", "add", "zhao", "--role", "auditor"])
            .contains("GRIDMARK_PASSWORD")
    );

    let listed = json(&["--data", l, "users", "list", "--json"]);
    assert_eq!(listed.as_array().unwrap().len(), 2);
    assert_eq!(listed[1]["scope"], serde_json::json!(["xihu", "A0007"]));
    let roles = ok(&["users", "roles"]);
    assert!(
        roles.contains("metering_inspector") && roles.contains("read_personal"),
        "{roles}"
    );

    let token = ok(&[
        "--data",
        l,
        "users",
        "tokens",
        "issue",
        "wang.fang",
        "--days",
        "30",
    ]);
    let token = token.trim();
    assert!(token.starts_with("gmk_") && token.len() > 70, "{token}");
    let id = token.split('_').nth(1).unwrap();
    let stored = std::fs::read_to_string(lake.join("_security/users.json")).unwrap();
    assert!(!stored.contains("Xihu-meters") && !stored.contains(token.rsplit('_').next().unwrap()));
    assert!(stored.contains("$argon2id$"));
    assert!(ok(&["--data", l, "users", "tokens", "list"]).contains("active"));
    ok(&["--data", l, "users", "tokens", "revoke", id]);
    assert!(ok(&["--data", l, "users", "tokens", "list"]).contains("revoked"));
    assert!(fails(&["--data", l, "users", "tokens", "revoke", "nope"]).contains("no token nope"));
    ok(&["--data", l, "users", "role", "wang.fang", "auditor"]);
    ok(&["--data", l, "users", "disable", "li.wei"]);
    assert!(fails(&["--data", l, "users", "tokens", "issue", "li.wei"]).contains("disabled"));

    let log = json(&["--data", l, "audit", "log", "--json"]);
    let actions: Vec<&str> = log
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "user_added",
            "user_added",
            "token_issued",
            "token_revoked",
            "user_role_changed",
            "user_disabled"
        ]
    );
    assert!(!log.to_string().contains(token));
    ok(&["--data", l, "audit", "verify"]);
}
