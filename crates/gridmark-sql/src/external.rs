//! The lake as other engines see it. A table's folder can still hold files that a compaction
//! or dedupe replaced (kept while recent snapshots list them), so a glob over the folder may
//! count rows twice; these scripts name exactly the files of one snapshot instead.

use gridmark_core::catalog::TABLES;
use gridmark_lake::{Lake, Snapshot};

/// Which engine the script is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExternalEngine {
    /// SQL: `CREATE OR REPLACE VIEW t AS SELECT * FROM read_parquet([...])` per table.
    DuckDb,
    /// PySpark: `spark.read.parquet(*files).createOrReplaceTempView(t)` per table.
    Spark,
    /// JSON: every table's files and row count, for any other engine.
    Files,
}

/// A script that registers every non-empty table of `snapshot` under its own name.
pub fn external_script(engine: ExternalEngine, lake: &Lake, snapshot: &Snapshot) -> String {
    let tables: Vec<(&str, Vec<String>, u64)> = TABLES
        .iter()
        .filter_map(|def| {
            let state = snapshot.table(def.name)?;
            let files: Vec<String> = state.files.iter().map(|f| lake.file_url(&f.path)).collect();
            (!files.is_empty()).then(|| (def.name, files, state.rows()))
        })
        .collect();
    let header = format!(
        "gridmark lake {}, version {}: the files of this snapshot only; rerun after each commit",
        lake.root().display(),
        snapshot.version
    );
    match engine {
        ExternalEngine::DuckDb => lines(&format!("-- {header}\n"), "--", &tables, |name, files| {
            let list: Vec<String> = files.iter().map(|f| sql_string(f)).collect();
            format!(
                "CREATE OR REPLACE VIEW {name} AS SELECT * FROM read_parquet([{}]);",
                list.join(", ")
            )
        }),
        ExternalEngine::Spark => lines(
            &format!("# {header}\n# Run in pyspark, where `spark` is the session.\n"),
            "#",
            &tables,
            |name, files| {
                let list: Vec<String> = files.iter().map(|f| python_string(f)).collect();
                format!(
                    "spark.read.parquet({}).createOrReplaceTempView(\"{name}\")",
                    list.join(", ")
                )
            },
        ),
        ExternalEngine::Files => {
            let tables: serde_json::Map<String, serde_json::Value> = tables
                .into_iter()
                .map(|(name, files, rows)| {
                    (
                        name.to_string(),
                        serde_json::json!({ "rows": rows, "files": files }),
                    )
                })
                .collect();
            let doc = serde_json::json!({
                "lake": lake.root().to_string_lossy(),
                "version": snapshot.version,
                "tables": tables,
            });
            serde_json::to_string_pretty(&doc).expect("JSON of strings and numbers") + "\n"
        }
    }
}

/// The header, then per table a comment with its rows and the line `register` makes.
fn lines(
    header: &str,
    comment: &str,
    tables: &[(&str, Vec<String>, u64)],
    register: impl Fn(&str, &[String]) -> String,
) -> String {
    let mut out = header.to_string();
    for (name, files, rows) in tables {
        out += &format!("{comment} {rows} rows\n{}\n", register(name, files));
    }
    out
}

fn sql_string(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

fn python_string(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_survive_paths_that_contain_them() {
        assert_eq!(sql_string("/d/o'neil/x.parquet"), "'/d/o''neil/x.parquet'");
        assert_eq!(python_string("/d/a\"b.parquet"), "\"/d/a\\\"b.parquet\"");
    }
}
