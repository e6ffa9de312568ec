//! Encryption of personal fields at rest, as a user runs it: a master key outside the lake,
//! `keys init` sealing what is stored, imports sealed on the way in (and refused without the
//! key), the API opening values for the roles that may see them, master and data key rotation.

mod common;
use common::http::{add_user, get_json, start_env};
use common::{demo, ok};
use std::process::Command;

fn run(args: &[&str], key: Option<&str>) -> std::process::Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_gridmark"));
    c.args(args)
        .env_remove("GRIDMARK_DATA")
        .env_remove("GRIDMARK_MASTER_KEY")
        .env_remove("GRIDMARK_MASTER_KEY_FILE");
    if let Some(k) = key {
        c.env("GRIDMARK_MASTER_KEY", k);
    }
    c.output().unwrap()
}

fn ok_with(args: &[&str], key: &str) -> String {
    let out = run(args, Some(key));
    assert!(
        out.status.success(),
        "gridmark {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn column(l: &str, sql: &str) -> Vec<String> {
    ok(&["--data", l, "sql", sql, "--format", "csv"])
        .lines()
        .skip(1)
        .map(|s| s.trim_matches('"').to_string())
        .collect()
}

#[test]
fn personal_fields_are_sealed_at_rest_opened_for_the_right_roles_and_rotated() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let l = lake.to_str().unwrap();
    demo(l, 30, 10, 6);
    let phones = column(l, "SELECT phone FROM customers ORDER BY customer_id");
    assert_eq!(phones.len(), 30);
    assert!(ok(&["--data", l, "keys", "status"]).contains("does not encrypt"));

    // Without a master key, nothing starts.
    let out = run(&["--data", l, "keys", "init"], None);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("GRIDMARK_MASTER_KEY"));
    let bad = run(&["--data", l, "keys", "init"], Some("not-hex"));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("64 hex digits"));

    let k1 = ok(&["keys", "new-master"]).trim().to_string();
    assert_eq!(k1.len(), 64);
    let init = ok_with(&["--data", l, "keys", "init", "--cipher", "sm4-gcm"], &k1);
    assert!(
        init.contains("sm4-gcm") && init.contains("30 rows sealed"),
        "{init}"
    );

    // What SQL, DuckDB or a stolen disk sees: sealed values, no phone number anywhere.
    let sealed = column(l, "SELECT phone FROM customers ORDER BY customer_id");
    assert!(
        sealed.iter().all(|p| p.starts_with("enc1:customers-1:")),
        "{sealed:?}"
    );
    let mut raw = Vec::new();
    for e in walk(&lake.join("tables/customers")) {
        raw.extend(std::fs::read(e).unwrap());
    }
    for p in &phones {
        assert!(
            !raw.windows(p.len()).any(|w| w == p.as_bytes()),
            "{p} in clear on disk"
        );
    }

    // Importing customers needs the key; without it nothing is written.
    let csv = dir.path().join("more.csv");
    let header = ok(&[
        "--data",
        l,
        "sql",
        "SELECT * FROM customers LIMIT 0",
        "--format",
        "csv",
    ]);
    let header = header.lines().next().unwrap().to_string();
    let cols: Vec<&str> = header.split(',').collect();
    let row: Vec<String> = cols
        .iter()
        .map(|c| match *c {
            "customer_id" => "C9000001".into(),
            "name" => "王小明".into(),
            "phone" => "13912345678".into(),
            other => column(l, &format!("SELECT CAST(\"{other}\" AS VARCHAR) FROM customers ORDER BY customer_id LIMIT 1"))
                .pop()
                .unwrap_or_default(),
        })
        .map(|v| if v.starts_with("enc1:") { "x".to_string() } else { v })
        .map(|v| format!("\"{}\"", v.replace('"', "\"\"")))
        .collect();
    std::fs::write(&csv, format!("{header}\n{}\n", row.join(","))).unwrap();
    let refused = run(
        &["--data", l, "import", "customers", csv.to_str().unwrap()],
        None,
    );
    assert!(!refused.status.success());
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(
        err.contains("encrypts personal fields") && err.contains("GRIDMARK_MASTER_KEY"),
        "{err}"
    );
    assert_eq!(column(l, "SELECT count(*) FROM customers"), ["30"]);
    let imported = ok_with(
        &[
            "--data",
            l,
            "import",
            "customers",
            csv.to_str().unwrap(),
            "--json",
        ],
        &k1,
    );
    assert!(imported.contains("\"committed\": true"), "{imported}");
    // Sealing is deterministic: the same row again (in another file) is a duplicate, not a
    // conflict.
    let csv2 = dir.path().join("same-again.csv");
    std::fs::write(&csv2, format!("{header}\n{}\n\n", row.join(","))).unwrap();
    let again = ok_with(
        &[
            "--data",
            l,
            "import",
            "customers",
            csv2.to_str().unwrap(),
            "--json",
        ],
        &k1,
    );
    let again: serde_json::Value = serde_json::from_str(&again).unwrap();
    assert_eq!(again["files"][0]["duplicates"], 1, "{again}");
    assert_eq!(column(l, "SELECT count(*) FROM customers"), ["31"]);

    // The API opens values for roles that may see them, and masks the opened value for others.
    let admin = add_user(l, "admin.zhao", "admin", "");
    let analyst = add_user(l, "wang.fang", "marketing_analyst", "");
    let srv = start_env(l, &[], &[("GRIDMARK_MASTER_KEY", &k1)]);
    let clear = get_json(&srv.1, "/api/tables/customers?limit=100", &admin);
    let shown: Vec<&str> = clear["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["phone"].as_str().unwrap())
        .collect();
    assert_eq!(
        &shown[..30],
        &phones.iter().map(String::as_str).collect::<Vec<_>>()[..]
    );
    assert_eq!(shown[30], "13912345678");
    let masked = get_json(&srv.1, "/api/tables/customers?limit=100", &analyst);
    assert_eq!(masked["rows"][30]["phone"], "139****5678");
    assert_eq!(masked["rows"][30]["name"], "王**");
    drop(srv);
    // A server without the key says so and shows that values exist, not what they are.
    let srv = start_env(l, &[], &[]);
    assert!(srv.2.lock().unwrap().contains("no master key was given"));
    let hidden = get_json(&srv.1, "/api/tables/customers?limit=1", &admin);
    assert_eq!(hidden["rows"][0]["phone"], "[encrypted]");
    drop(srv);

    // Master key rotation: a rewrap, no data rewritten; the old key no longer opens the ring.
    let k2 = ok(&["keys", "new-master"]).trim().to_string();
    let k2_file = dir.path().join("master2.key");
    std::fs::write(&k2_file, &k2).unwrap();
    let files_before: Vec<_> = walk(&lake.join("tables/customers"));
    ok_with(
        &[
            "--data",
            l,
            "keys",
            "rotate",
            "--new-master-file",
            k2_file.to_str().unwrap(),
        ],
        &k1,
    );
    assert_eq!(walk(&lake.join("tables/customers")), files_before);
    assert!(ok_with(&["--data", l, "keys", "status"], &k1).contains("not by the one given"));
    assert!(ok_with(&["--data", l, "keys", "status"], &k2).contains("opens every data key"));
    // Data key rotation: new keys, rows resealed, still the same values.
    let rotated = ok_with(&["--data", l, "keys", "rotate", "--data-keys"], &k2);
    assert!(rotated.contains("active: customers-2"), "{rotated}");
    let resealed = column(l, "SELECT phone FROM customers ORDER BY customer_id");
    assert!(resealed.iter().all(|p| p.starts_with("enc1:customers-2:")));
    let srv = start_env(
        l,
        &[],
        &[("GRIDMARK_MASTER_KEY_FILE", k2_file.to_str().unwrap())],
    );
    let after = get_json(&srv.1, "/api/tables/customers?limit=100", &admin);
    assert_eq!(after["rows"][0]["phone"], phones[0].as_str());
    drop(srv);

    let log = ok(&["--data", l, "audit", "log", "--last", "50"]);
    for action in ["keys_init", "keys_resealed", "keys_rotated"] {
        assert!(log.contains(action), "{action}: {log}");
    }
    assert!(
        !log.contains(&k1) && !log.contains(&k2),
        "no key on the ledger"
    );
    ok(&["--data", l, "audit", "verify"]);
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out.sort();
    out
}
