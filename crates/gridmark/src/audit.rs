//! `gridmark audit …`: the tamper-evident ledger, and the one helper every command that
//! changes or exports data calls to append its entry.

use crate::CliError;
use crate::cli::AuditCommand;
use crate::metering::{print_json, write_atomic};
use gridmark_core::SystemClock;
use gridmark_ledger::{HashAlg, Ledger, Proof};
use std::io::Write;
use std::path::Path;

/// Who is acting: `$USER`, as the commands that take `--by` default to.
pub fn actor() -> String {
    std::env::var("USER")
        .ok()
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| "unknown".into())
}

/// Appends one entry to the lake's ledger. The data change it records has already been
/// committed, so a failure here says so instead of hiding it.
pub fn record(
    lake_root: &Path,
    action: &str,
    object: &str,
    details: serde_json::Value,
) -> Result<(), CliError> {
    record_by(lake_root, &actor(), action, object, details)
}

pub fn record_by(
    lake_root: &Path,
    actor: &str,
    action: &str,
    object: &str,
    details: serde_json::Value,
) -> Result<(), CliError> {
    if gridmark_lake::store::is_remote(&lake_root.to_string_lossy()) {
        // A lake on object storage is a read-only copy; its ledger is the one beside the
        // folder that published it.
        eprintln!(
            "warning: {action} {object} is not on a ledger: {} is read-only here",
            lake_root.display()
        );
        return Ok(());
    }
    Ledger::open(lake_root)
        .and_then(|l| l.append(&SystemClock, actor, action, object, details))
        .map(|_| ())
        .map_err(|e| {
            crate::usage(format!(
                "{action} {object} is done, but its ledger entry could not be written: {e}"
            ))
        })
}

pub fn run(data: Option<&Path>, cmd: AuditCommand) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    if let AuditCommand::CheckProof { file, root } = &cmd {
        let text = std::fs::read_to_string(file)
            .map_err(|e| crate::usage(format!("{}: {e}", file.display())))?;
        let proof: Proof = serde_json::from_str(&text).map_err(|e| {
            crate::usage(format!("{}: not an inclusion proof: {e}", file.display()))
        })?;
        return match proof.check(root.as_deref()) {
            Ok(()) => {
                writeln!(
                    out,
                    "entry {} ({} {} by {} at {}) is in the ledger of {} entries with root {} ({})",
                    proof.seq,
                    proof.entry.body.action,
                    proof.entry.body.object,
                    proof.entry.body.actor,
                    proof.entry.body.at,
                    proof.tree_size,
                    root.as_deref().unwrap_or(&proof.root),
                    proof.hash.name()
                )?;
                Ok(())
            }
            Err(why) => Err(crate::usage(format!("{}: {why}", file.display()))),
        };
    }
    let data = crate::cli::data_dir(data)?;
    gridmark_lake::Lake::open(&data)?;
    match cmd {
        AuditCommand::Init { hash } => {
            let alg = HashAlg::parse(&hash)
                .ok_or_else(|| crate::usage(format!("--hash {hash}: expected sha256 or sm3")))?;
            let l = Ledger::open_with(&data, Some(alg))?;
            writeln!(out, "the ledger hashes with {}", l.hash_alg().name())?;
        }
        AuditCommand::Log { last, json } => {
            let l = Ledger::open(&data)?;
            let entries = l.entries()?;
            let shown = &entries[entries.len().saturating_sub(last)..];
            if json {
                return print_json(shown);
            }
            writeln!(
                out,
                "{} entries ({}); last {}:",
                entries.len(),
                l.hash_alg().name(),
                shown.len()
            )?;
            for e in shown {
                writeln!(
                    out,
                    "{:>6} {} {:<12} {:<14} {:<24} {}",
                    e.body.seq,
                    e.body.at,
                    e.body.actor,
                    e.body.action,
                    e.body.object,
                    e.body.details
                )?;
            }
        }
        AuditCommand::Verify { json } => {
            let v = Ledger::open(&data)?.verify()?;
            if json {
                print_json(&v)?;
            } else if v.intact {
                writeln!(
                    out,
                    "ledger intact: {} entries, {} hash chain and Merkle tree check; root {}; {} of {} checkpoints match",
                    v.entries,
                    v.hash.name(),
                    v.root,
                    v.checkpoints_matching,
                    v.checkpoints
                )?;
            }
            if let Some((n, why)) = v.first_broken {
                return Err(crate::usage(format!("ledger broken at entry {n}: {why}")));
            }
        }
        AuditCommand::Checkpoint => {
            let cp = Ledger::open(&data)?.checkpoint(&SystemClock)?;
            writeln!(
                out,
                "checkpoint: {} entries, root {} ({}); keep this root outside the machine",
                cp.size,
                cp.root,
                cp.hash.name()
            )?;
        }
        AuditCommand::Proof {
            seq,
            size,
            out: file,
        } => {
            let p = Ledger::open(&data)?.prove(seq, size)?;
            let text = serde_json::to_string_pretty(&p)?;
            match file {
                Some(f) => {
                    write_atomic(&f, text.as_bytes())?;
                    writeln!(
                        out,
                        "inclusion proof of entry {seq} in the tree of {} entries (root {}) written to {}; check it with `gridmark audit check-proof {}`",
                        p.tree_size,
                        p.root,
                        f.display(),
                        f.display()
                    )?;
                }
                None => writeln!(out, "{text}")?,
            }
        }
        AuditCommand::CheckProof { .. } => unreachable!("handled above"),
    }
    Ok(())
}
