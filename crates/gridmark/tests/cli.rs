//! Black-box tests of the `gridmark` command: real files in a temporary folder, the real binary.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

struct Sandbox {
    dir: tempfile::TempDir,
}

impl Sandbox {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
        }
    }
    fn lake(&self) -> PathBuf {
        self.dir.path().join("lake")
    }
    fn write(&self, name: &str, content: &[u8]) -> PathBuf {
        let p = self.dir.path().join(name);
        std::fs::write(&p, content).unwrap();
        p
    }
    fn gzip(&self, name: &str, content: &[u8]) -> PathBuf {
        let p = self.dir.path().join(name);
        let mut enc = flate2_free_gzip(content);
        std::fs::write(&p, &mut enc).unwrap();
        p
    }
    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_gridmark"))
            .arg("--data")
            .arg(self.lake())
            .args(args)
            .env_remove("GRIDMARK_DATA")
            .output()
            .unwrap()
    }
    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "gridmark {args:?} failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }
    fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            !out.status.success(),
            "gridmark {args:?} should fail:\n{}",
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8(out.stderr).unwrap()
    }
    fn json(&self, args: &[&str]) -> serde_json::Value {
        serde_json::from_str(&self.ok(args)).unwrap()
    }
    /// One SQL value as text.
    fn scalar(&self, sql: &str) -> String {
        let out = self.ok(&["sql", sql, "--format", "csv"]);
        out.lines().nth(1).unwrap_or_default().to_string()
    }
    fn version(&self) -> u64 {
        self.json(&["tables", "--json"])["version"]
            .as_u64()
            .unwrap()
    }
    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }
}

/// gzip without a gzip crate in the test: stored (uncompressed) deflate blocks are valid gzip.
fn flate2_free_gzip(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255];
    let chunks: Vec<&[u8]> = if data.is_empty() {
        vec![&[]]
    } else {
        data.chunks(65_535).collect()
    };
    for (i, c) in chunks.iter().enumerate() {
        out.push(u8::from(i + 1 == chunks.len()));
        let len = c.len() as u16;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(c);
    }
    out.extend_from_slice(&crc32(data).to_le_bytes());
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn long_csv(meters: usize, intervals: usize) -> String {
    let mut s = String::from("meter_id,ts,kwh\n");
    for m in 0..meters {
        for t in 0..intervals {
            let (h, mi) = (t * 15 / 60, t * 15 % 60);
            let day = 1 + h / 24;
            s.push_str(&format!(
                "M{m:03},2025-01-{day:02}T{:02}:{mi:02}:00+08:00,{}.{:03}\n",
                h % 24,
                m,
                t % 1000
            ));
        }
    }
    s
}

#[test]
fn import_long_csv_then_reimport_changes_nothing() {
    let sb = Sandbox::new();
    let f = sb.write("r.csv", long_csv(3, 96).as_bytes());
    let r = sb.json(&["import", "readings", f.to_str().unwrap(), "--json"]);
    assert_eq!(r["files"][0]["accepted"], 288);
    assert_eq!(r["files"][0]["format"], "long");
    assert_eq!(r["committed"], true);
    let v = sb.version();
    let again = sb.ok(&["import", "readings", f.to_str().unwrap()]);
    assert!(again.contains("already imported"), "{again}");
    assert_eq!(sb.version(), v);
    assert_eq!(sb.scalar("SELECT count(*) FROM readings"), "288");
    assert_eq!(sb.scalar("SELECT DISTINCT interval_s FROM readings"), "900");
    // Local midnight in Shanghai is 16:00 UTC the day before.
    assert_eq!(
        sb.scalar("SELECT min(ts) FROM readings"),
        "2024-12-31T16:00:00Z"
    );
    assert_eq!(
        sb.scalar("SELECT count(DISTINCT day) FROM daily_energy"),
        "1"
    );
}

#[test]
fn same_rows_in_another_file_are_duplicates_and_changed_values_are_conflicts() {
    let sb = Sandbox::new();
    let a = sb.write("a.csv", long_csv(2, 8).as_bytes());
    sb.ok(&["import", "readings", a.to_str().unwrap()]);
    let mut changed = long_csv(2, 8).replace(
        "M001,2025-01-01T00:00:00+08:00,1.000",
        "M001,2025-01-01T00:00:00+08:00,9.000",
    );
    changed.push_str("M009,2025-01-01T00:00:00+08:00,1.5\n");
    let b = sb.write("b.csv", changed.as_bytes());
    let r = sb.json(&["import", "readings", b.to_str().unwrap(), "--json"]);
    let f = &r["files"][0];
    assert_eq!(
        (
            f["accepted"].as_u64(),
            f["duplicates"].as_u64(),
            f["conflicts"].as_u64()
        ),
        (Some(1), Some(15), Some(1))
    );
    assert_eq!(f["conflict_examples"][0]["kept"], "1");
    assert_eq!(
        sb.scalar("SELECT kwh FROM readings WHERE meter_id = 'M001' ORDER BY ts LIMIT 1"),
        "1.0"
    );
    assert_eq!(sb.scalar("SELECT count(*) FROM readings"), "17");
}

#[test]
fn duplicated_and_out_of_order_rows_inside_one_file_are_stored_once_in_order() {
    let sb = Sandbox::new();
    let text = "meter_id,ts,kwh\nM1,2025-01-01 00:30,3\nM1,2025-01-01 00:00,1\nM1,2025-01-01 00:15,2\nM1,2025-01-01 00:15,2\nM1,2025-01-01 00:00,7\n";
    let f = sb.write("o.csv", text.as_bytes());
    let r = sb.json(&["import", "readings", f.to_str().unwrap(), "--json"]);
    let f = &r["files"][0];
    assert_eq!(
        (
            f["accepted"].as_u64(),
            f["duplicates"].as_u64(),
            f["conflicts"].as_u64()
        ),
        (Some(3), Some(1), Some(1))
    );
    assert_eq!(
        sb.ok(&[
            "sql",
            "SELECT kwh FROM readings ORDER BY ts",
            "--format",
            "csv"
        ]),
        "kwh\n1.0\n2.0\n3.0\n"
    );
}

#[test]
fn gzip_and_plain_import_the_same_rows() {
    let sb = Sandbox::new();
    let text = long_csv(2, 10);
    let gz = sb.gzip("r.csv.gz", text.as_bytes());
    let r = sb.json(&["import", "readings", gz.to_str().unwrap(), "--json"]);
    assert_eq!(r["files"][0]["accepted"], 20);
    let plain = sb.write("r.csv", text.as_bytes());
    let r = sb.json(&["import", "readings", plain.to_str().unwrap(), "--json"]);
    assert_eq!(r["files"][0]["duplicates"], 20);
}

#[test]
fn sgcc_wide_daily_with_dates_in_any_order_and_flags() {
    let sb = Sandbox::new();
    let text = "CONS_NO,FLAG,2014/1/3,2014/1/1,2014/1/2\nABC1,1,3.5,1.5,\nABC2,0,,2,2.5\n";
    let f = sb.write("sgcc.csv", text.as_bytes());
    let r = sb.json(&["import", "readings", f.to_str().unwrap(), "--json"]);
    let f = &r["files"][0];
    assert_eq!(f["format"], "sgcc");
    assert_eq!(
        (f["accepted"].as_u64(), f["empty_cells"].as_u64()),
        (Some(4), Some(2))
    );
    assert_eq!(f["side_tables"]["meter_labels"], 2);
    assert_eq!(
        sb.ok(&[
            "sql",
            "SELECT meter_id, day, kwh FROM daily_energy ORDER BY 1, 2",
            "--format",
            "csv"
        ]),
        "meter_id,day,kwh\nABC1,2014-01-01,1.5\nABC1,2014-01-03,3.5\nABC2,2014-01-01,2.0\nABC2,2014-01-02,2.5\n"
    );
    assert_eq!(
        sb.scalar("SELECT DISTINCT interval_s FROM readings"),
        "86400"
    );
    assert_eq!(
        sb.scalar("SELECT value FROM meter_labels WHERE meter_id = 'ABC1'"),
        "1"
    );
}

#[test]
fn ecl_style_wide_semicolons_decimal_commas_kw_and_end_stamps() {
    let sb = Sandbox::new();
    let text = "\"\";\"MT_001\";\"MT_002\"\n\"2011-01-01 00:15:00\";4,0;0\n\"2011-01-01 00:30:00\";8;2,5\n";
    let f = sb.write("LD.txt", text.as_bytes());
    let r = sb.json(&[
        "import",
        "readings",
        f.to_str().unwrap(),
        "--tz",
        "Europe/Lisbon",
        "--ts-at",
        "end",
        "--unit",
        "kw",
        "--json",
    ]);
    assert_eq!(r["files"][0]["format"], "wide");
    assert_eq!(r["files"][0]["accepted"], 4);
    assert_eq!(
        sb.ok(&[
            "sql",
            "SELECT meter_id, ts, kwh FROM readings ORDER BY 1, 2",
            "--format",
            "csv"
        ]),
        "meter_id,ts,kwh\nMT_001,2011-01-01T00:00:00Z,1.0\nMT_001,2011-01-01T00:15:00Z,2.0\nMT_002,2011-01-01T00:00:00Z,0.0\nMT_002,2011-01-01T00:15:00Z,0.625\n"
    );
}

#[test]
fn ett_like_hourly_file_goes_into_series_with_a_prefix() {
    let sb = Sandbox::new();
    let text = "date,HUFL,OT\n2016-07-01 00:00:00,5.827,30.531\n2016-07-01 01:00:00,5.693,27.787\n";
    let f = sb.write("ETTh1.csv", text.as_bytes());
    let r = sb.json(&[
        "import",
        "series",
        f.to_str().unwrap(),
        "--id-prefix",
        "ett.",
        "--tz",
        "UTC",
        "--json",
    ]);
    assert_eq!(r["files"][0]["accepted"], 4);
    assert_eq!(
        sb.scalar("SELECT value FROM series WHERE series_id = 'ett.OT' ORDER BY ts LIMIT 1"),
        "30.531"
    );
}

#[test]
fn lcl_daily_is_read_in_london_time_across_daylight_saving() {
    let sb = Sandbox::new();
    let text = "LCLid,day,energy_median,energy_mean,energy_max,energy_count,energy_std,energy_sum,energy_min\n\
                MAC000002,2013-03-30,0.1,0.2,0.5,48,0.1,9.5,0.05\n\
                MAC000002,2013-03-31,0.1,0.2,0.5,46,0.1,9.0,0.05\n\
                MAC000002,2013-04-01,0.1,0.2,0.5,48,0.1,10.25,0.05\n";
    let f = sb.write("block_0.csv", text.as_bytes());
    let r = sb.json(&["import", "readings", f.to_str().unwrap(), "--json"]);
    assert_eq!(r["files"][0]["format"], "lcl-daily");
    assert_eq!(
        sb.ok(&[
            "sql",
            "SELECT ts, kwh FROM readings ORDER BY ts",
            "--format",
            "csv"
        ]),
        "ts,kwh\n2013-03-30T00:00:00Z,9.5\n2013-03-31T00:00:00Z,9.0\n2013-03-31T23:00:00Z,10.25\n"
    );
}

#[test]
fn naive_times_in_a_dst_zone_reject_the_gap_and_keep_both_folded_hours() {
    let sb = Sandbox::new();
    let text = "meter_id,ts,kwh\n\
                M1,2025-03-30 00:30,1\nM1,2025-03-30 01:30,2\nM1,2025-03-30 02:30,3\n\
                M1,2025-10-26 00:30,4\nM1,2025-10-26 01:30,5\nM1,2025-10-26 01:30,6\nM1,2025-10-26 02:30,7\n";
    let f = sb.write("dst.csv", text.as_bytes());
    let r = sb.json(&[
        "import",
        "readings",
        f.to_str().unwrap(),
        "--tz",
        "Europe/London",
        "--interval",
        "1h",
        "--json",
        "--max-reject-ratio",
        "0.2",
    ]);
    let f = &r["files"][0];
    assert_eq!(f["rejected"], 1);
    assert_eq!(f["rejects"][0]["line"], 3);
    assert!(
        f["rejects"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("does not exist in Europe/London")
    );
    assert_eq!(f["accepted"], 6);
    assert_eq!(
        sb.ok(&[
            "sql",
            "SELECT ts, kwh FROM readings WHERE ts > '2025-10-01' ORDER BY ts",
            "--format",
            "csv"
        ]),
        "ts,kwh\n2025-10-25T23:30:00Z,4.0\n2025-10-26T00:30:00Z,5.0\n2025-10-26T01:30:00Z,6.0\n2025-10-26T02:30:00Z,7.0\n"
    );
}

#[test]
fn bad_rows_are_rejected_with_file_line_and_field() {
    let sb = Sandbox::new();
    let mut text = long_csv(1, 40);
    text.push_str("M000,2025-01-02T00:00:00+08:00,abc\n");
    text.push_str("M000,yesterday,1\n");
    text.push_str("M000\n");
    text.push_str(",2025-01-02T01:00:00+08:00,1\n");
    text.push_str("M000,2025-01-02T02:00:00+08:00,NaN\n");
    let f = sb.write("bad.csv", text.as_bytes());
    let r = sb.json(&[
        "import",
        "readings",
        f.to_str().unwrap(),
        "--json",
        "--max-reject-ratio",
        "0.5",
    ]);
    let f = &r["files"][0];
    assert_eq!(
        (f["accepted"].as_u64(), f["rejected"].as_u64()),
        (Some(40), Some(5))
    );
    let rejects: Vec<String> = f["rejects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            format!(
                "{}:{}:{}",
                r["line"],
                r["field"].as_str().unwrap_or("-"),
                r["reason"].as_str().unwrap()
            )
        })
        .collect();
    assert!(
        rejects[0].starts_with("42:value:`abc` is not a number"),
        "{rejects:?}"
    );
    assert!(
        rejects[1].starts_with("43:ts:`yesterday` is not a timestamp"),
        "{rejects:?}"
    );
    assert!(rejects[2].starts_with("44:-:has 1 fields"), "{rejects:?}");
    assert!(rejects[3].starts_with("45:id:id is empty"), "{rejects:?}");
    assert!(rejects[4].contains("not a finite number"), "{rejects:?}");
    let human = sb.ok(&[
        "import",
        "readings",
        sb.write("bad2.csv", text.replace("M000", "M001").as_bytes())
            .to_str()
            .unwrap(),
        "--max-reject-ratio",
        "0.5",
    ]);
    assert!(
        human.contains("bad2.csv:42: field `value`: `abc` is not a number"),
        "{human}"
    );
}

#[test]
fn a_file_of_mostly_garbage_is_refused_whole() {
    let sb = Sandbox::new();
    sb.ok(&[
        "import",
        "readings",
        sb.write("ok.csv", long_csv(1, 4).as_bytes())
            .to_str()
            .unwrap(),
    ]);
    let v = sb.version();
    let mut text = String::from("meter_id,ts,kwh\n");
    for i in 0..50 {
        text.push_str(&format!(
            "M9,2025-01-01T00:{i:02}:00Z,{}\n",
            if i % 2 == 0 { "x" } else { "1" }
        ));
    }
    let err = sb.fails(&[
        "import",
        "readings",
        sb.write("junk.csv", text.as_bytes()).to_str().unwrap(),
    ]);
    assert!(
        err.contains("junk.csv")
            && err.contains("25 of 50 rows rejected")
            && err.contains("nothing was imported"),
        "{err}"
    );
    assert_eq!(sb.version(), v);
    assert_eq!(sb.scalar("SELECT count(*) FROM readings"), "4");
}

#[test]
fn truncated_gzip_binary_and_empty_files_fail_cleanly_and_leave_the_lake_as_it_was() {
    let sb = Sandbox::new();
    sb.ok(&[
        "import",
        "readings",
        sb.write("ok.csv", long_csv(1, 4).as_bytes())
            .to_str()
            .unwrap(),
    ]);
    let v = sb.version();
    let gz = flate2_free_gzip(long_csv(50, 400).as_bytes());
    let cut = sb.write("cut.csv.gz", &gz[..gz.len() / 2]);
    let err = sb.fails(&["import", "readings", cut.to_str().unwrap()]);
    assert!(
        err.contains("cut.csv.gz") && err.contains("truncated"),
        "{err}"
    );
    let bin: Vec<u8> = (0..200_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    let err = sb.fails(&[
        "import",
        "readings",
        sb.write("blob.bin", &bin).to_str().unwrap(),
    ]);
    assert!(err.contains("blob.bin"), "{err}");
    let err = sb.fails(&[
        "import",
        "readings",
        sb.write("empty.csv", b"").to_str().unwrap(),
    ]);
    assert!(err.contains("empty.csv") && err.contains("empty"), "{err}");
    let err = sb.fails(&["import", "readings", &sb.path("missing.csv")]);
    assert!(err.contains("missing.csv"), "{err}");
    let err = sb.fails(&[
        "import",
        "readingz",
        sb.write("x.csv", b"a\n").to_str().unwrap(),
    ]);
    assert!(err.contains("unknown table `readingz`"), "{err}");
    assert_eq!(sb.version(), v);
    assert_eq!(sb.scalar("SELECT count(*) FROM readings"), "4");
    let files: Vec<_> = walk(&sb.lake().join("tables"));
    assert_eq!(files.len(), 1, "no stray files: {files:?}");
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        if e.path().is_dir() {
            out.extend(walk(&e.path()));
        } else {
            out.push(e.path());
        }
    }
    out
}

#[test]
fn records_tables_check_types_and_required_columns() {
    let sb = Sandbox::new();
    let text = "customer_id,name,region,open_date,contract_kw,extra\nC1,\"Wang, Li\",north,2024-05-01,8.5,x\nC2,张三,south,not-a-date,3,y\n,Nobody,east,2024-01-01,1,z\nC1,\"Wang, Li\",north,2024-05-01,8.5,x\n";
    let f = sb.write("cust.csv", text.as_bytes());
    let r = sb.json(&[
        "import",
        "customers",
        f.to_str().unwrap(),
        "--json",
        "--max-reject-ratio",
        "0.5",
    ]);
    let f = &r["files"][0];
    assert_eq!(
        (
            f["accepted"].as_u64(),
            f["rejected"].as_u64(),
            f["duplicates"].as_u64()
        ),
        (Some(1), Some(2), Some(1))
    );
    assert_eq!(f["rejects"][0]["field"], "open_date");
    assert_eq!(f["rejects"][1]["field"], "customer_id");
    assert_eq!(f["ignored_columns"][0], "extra");
    assert_eq!(sb.scalar("SELECT name FROM customers"), "\"Wang, Li\"");
    let err = sb.fails(&[
        "import",
        "bills",
        sb.write("b.csv", b"bill_id,kwh\nB1,3\n").to_str().unwrap(),
    ]);
    assert!(
        err.contains("needs column(s) customer_id, period, amount_fen, issue_date, due_date"),
        "{err}"
    );
}

#[test]
fn json_lines_for_readings_and_records() {
    let sb = Sandbox::new();
    let rj = "{\"meter_id\":\"M1\",\"ts\":\"2025-01-01T00:00:00Z\",\"kwh\":1.5}\n{\"meter_id\":\"M1\",\"ts\":\"2025-01-01T00:15:00Z\",\"kwh\":2}\nnot json\n";
    let r = sb.json(&[
        "import",
        "readings",
        sb.write("r.jsonl", rj.as_bytes()).to_str().unwrap(),
        "--json",
        "--max-reject-ratio",
        "0.5",
    ]);
    assert_eq!(
        (
            r["files"][0]["accepted"].as_u64(),
            r["files"][0]["rejected"].as_u64()
        ),
        (Some(2), Some(1))
    );
    assert_eq!(r["files"][0]["rejects"][0]["line"], 3);
    let sj = "{\"staff_id\":\"S1\",\"name\":\"李四\",\"hire_date\":\"2020-02-03\"}\n";
    let r = sb.json(&[
        "import",
        "staff",
        sb.write("s.jsonl", sj.as_bytes()).to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(r["files"][0]["accepted"], 1);
    assert_eq!(sb.scalar("SELECT hire_date FROM staff"), "2020-02-03");
}

#[test]
fn sql_formats_rollups_and_atomic_output_files() {
    let sb = Sandbox::new();
    sb.ok(&[
        "import",
        "readings",
        sb.write("r.csv", long_csv(3, 8).as_bytes())
            .to_str()
            .unwrap(),
    ]);
    sb.ok(&[
        "import",
        "meters",
        sb.write(
            "m.csv",
            b"meter_id,customer_id,area_id\nM000,C0,A1\nM001,C1,A1\nM002,C2,A2\n",
        )
        .to_str()
        .unwrap(),
    ]);
    sb.ok(&[
        "import",
        "customers",
        sb.write(
            "c.csv",
            b"customer_id,region,tariff\nC0,north,t1\nC1,north,t2\nC2,south,t1\n",
        )
        .to_str()
        .unwrap(),
    ]);
    let cube = sb.ok(&[
        "sql",
        "SELECT region, tariff, sum(kwh) AS kwh FROM region_monthly_energy GROUP BY CUBE(region, tariff) ORDER BY region NULLS LAST, tariff NULLS LAST",
        "--format",
        "csv",
    ]);
    let lines: Vec<&str> = cube.lines().collect();
    assert_eq!(lines.len(), 1 + 3 + 2 + 2 + 1, "{cube}");
    assert!(lines.last().unwrap().starts_with(",,"), "{cube}");
    let gs = sb.scalar("SELECT count(*) FROM (SELECT region, month, sum(kwh) FROM region_monthly_energy GROUP BY GROUPING SETS ((region), (month), ()))");
    assert_eq!(gs, "4");
    let json = sb.ok(&[
        "sql",
        "SELECT meter_id, sum(kwh) AS kwh FROM readings GROUP BY meter_id ORDER BY 1",
        "--format",
        "json",
    ]);
    let first: serde_json::Value = serde_json::from_str(json.lines().next().unwrap()).unwrap();
    assert_eq!(first["meter_id"], "M000");
    assert!(first["kwh"].is_number());
    let out = sb.path("out.parquet");
    sb.ok(&[
        "sql",
        "SELECT * FROM readings",
        "--format",
        "parquet",
        "--out",
        &out,
    ]);
    assert!(std::fs::read(&out).unwrap().starts_with(b"PAR1"));
    let bad_out = sb.path("bad.csv");
    let err = sb.fails(&[
        "sql",
        "SELECT * FROM no_such_table",
        "--format",
        "csv",
        "--out",
        &bad_out,
    ]);
    assert!(err.contains("no_such_table"), "{err}");
    assert!(!Path::new(&bad_out).exists() && !Path::new(&format!("{bad_out}.partial")).exists());
    let err = sb.fails(&["sql", "SELEC 1"]);
    assert!(err.to_lowercase().contains("sql"), "{err}");
}

#[test]
fn commands_without_a_lake_say_what_to_do() {
    let sb = Sandbox::new();
    let err = sb.fails(&["tables"]);
    assert!(err.contains("not a gridmark lake"), "{err}");
    let out = Command::new(env!("CARGO_BIN_EXE_gridmark"))
        .args(["sql", "SELECT 1"])
        .env_remove("GRIDMARK_DATA")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("--data DIR or set GRIDMARK_DATA"));
}

/// Kill an import in the middle, reopen, check the lake is as before and still usable.
#[test]
fn an_import_killed_midway_leaves_the_lake_as_before() {
    let sb = Sandbox::new();
    sb.ok(&[
        "import",
        "readings",
        sb.write("small.csv", long_csv(2, 4).as_bytes())
            .to_str()
            .unwrap(),
    ]);
    let v = sb.version();
    // ~120 MB of readings: long enough to be killed while writing.
    let big = sb.dir.path().join("big.csv");
    {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&big).unwrap());
        writeln!(f, "meter_id,ts,kwh").unwrap();
        for m in 0..1000 {
            for t in 0..3000 {
                let ms = 1_735_689_600_000i64 + t as i64 * 900_000;
                writeln!(f, "B{m:04},{},{}", fmt_utc(ms), (m + t) % 97).unwrap();
            }
        }
    }
    let mut killed_mid_way = false;
    for delay_ms in [400u64, 150, 800] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_gridmark"))
            .arg("--data")
            .arg(sb.lake())
            .args(["import", "readings", big.to_str().unwrap()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        let still_running = child.try_wait().unwrap().is_none();
        child.kill().unwrap();
        child.wait().unwrap();
        if still_running {
            killed_mid_way = true;
            assert_eq!(sb.version(), v, "a killed import must not commit");
            assert_eq!(sb.scalar("SELECT count(*) FROM readings"), "8");
            break;
        }
    }
    assert!(
        killed_mid_way,
        "the import finished before it could be killed; make the file bigger"
    );
    // The next writer removes what the killed one left and imports normally.
    let r = sb.json(&["import", "readings", big.to_str().unwrap(), "--json"]);
    assert_eq!(r["files"][0]["accepted"], 3_000_000);
    assert_eq!(sb.scalar("SELECT count(*) FROM readings"), "3000008");
    let listed: usize = sb.json(&["tables", "--json"])["tables"][0]["files"]
        .as_u64()
        .unwrap() as usize;
    let on_disk = walk(&sb.lake().join("tables/readings")).len();
    assert_eq!(
        listed, on_disk,
        "orphans of the killed import were collected"
    );
}

fn fmt_utc(ms: i64) -> String {
    let secs = ms / 1000;
    let days = secs / 86_400;
    let rem = secs % 86_400;
    // 2025-01-01 is day 20089; the test stays within January–February 2025.
    let d = days - 20_089;
    let (m, day) = if d < 31 { (1, d + 1) } else { (2, d - 30) };
    format!(
        "2025-{m:02}-{day:02}T{:02}:{:02}:00Z",
        rem / 3600,
        rem / 60 % 60
    )
}

/// `gridmark sql … | head -1` and `gridmark tables | head -1` end quietly.
#[test]
fn a_closed_output_pipe_is_not_an_error() {
    use std::io::{BufRead, BufReader};
    let sb = Sandbox::new();
    sb.ok(&[
        "import",
        "readings",
        sb.write("r.csv", long_csv(20, 400).as_bytes())
            .to_str()
            .unwrap(),
    ]);
    for args in [
        vec!["sql", "SELECT * FROM readings", "--format", "csv"],
        vec!["sql", "SELECT * FROM readings", "--format", "json"],
        vec!["sql", "SELECT * FROM readings", "--max-rows", "100000"],
        vec!["tables", "--schema"],
    ] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_gridmark"))
            .arg("--data")
            .arg(sb.lake())
            .args(&args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && !err.contains("panicked"),
            "{args:?}: {err}"
        );
    }
}

/// Text in another encoding (GBK, Latin-1) is named, never mis-read.
#[test]
fn wrongly_encoded_text_is_rejected_with_its_field() {
    let sb = Sandbox::new();
    let mut text = long_csv(1, 30).into_bytes();
    // "电表" in GBK as a meter id.
    text.extend_from_slice(b"\xb5\xe7\xb1\xed,2025-01-02T00:00:00+08:00,1.0\n");
    let f = sb.write("gbk.csv", &text);
    let r = sb.json(&["import", "readings", f.to_str().unwrap(), "--json"]);
    let f = &r["files"][0];
    assert_eq!(
        (f["accepted"].as_u64(), f["rejected"].as_u64()),
        (Some(30), Some(1))
    );
    assert_eq!(f["rejects"][0]["line"], 32);
    assert!(
        f["rejects"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("UTF-8"),
        "{f}"
    );
    let header = sb.write(
        "gbk_header.csv",
        b"\xb5\xe7\xb1\xed,ts,kwh\nM1,2025-01-01,1\n",
    );
    let err = sb.fails(&["import", "readings", header.to_str().unwrap()]);
    assert!(
        err.contains("gbk_header.csv") && err.contains("UTF-8"),
        "{err}"
    );
    let customers = sb.write("c.csv", b"customer_id,name\nC1,\xd5\xc5\xc8\xfd\nC2,ok\n");
    let r = sb.json(&[
        "import",
        "customers",
        customers.to_str().unwrap(),
        "--json",
        "--max-reject-ratio",
        "0.5",
    ]);
    assert_eq!(r["files"][0]["rejects"][0]["field"], "name");
}

/// Naive local times are read in each meter's own zone from the archive.
#[test]
fn each_meter_reads_its_local_times_in_its_own_zone() {
    let sb = Sandbox::new();
    let meters = sb.write(
        "m.csv",
        b"meter_id,tz\nL1,Europe/London\nS1,Asia/Shanghai\n",
    );
    sb.ok(&["import", "meters", meters.to_str().unwrap()]);
    let readings = sb.write(
        "r.csv",
        b"meter_id,ts,kwh\nL1,2025-07-01 00:00,1\nL1,2025-07-01 01:00,1\nS1,2025-07-01 00:00,2\nS1,2025-07-01 01:00,2\n",
    );
    sb.ok(&["import", "readings", readings.to_str().unwrap()]);
    assert_eq!(
        sb.ok(&[
            "sql",
            "SELECT meter_id, min(ts) AS first FROM readings GROUP BY 1 ORDER BY 1",
            "--format",
            "csv"
        ]),
        "meter_id,first\nL1,2025-06-30T23:00:00Z\nS1,2025-06-30T16:00:00Z\n"
    );
    let bad = sb.write("bad_tz.csv", b"meter_id,tz\nX1,Mars/Base\n");
    let err = sb.fails(&["import", "meters", bad.to_str().unwrap()]);
    assert!(
        err.contains("bad_tz.csv:2: field `tz`: unknown time zone `Mars/Base`"),
        "{err}"
    );
}

#[test]
fn a_dry_run_reports_and_writes_nothing() {
    let sb = Sandbox::new();
    sb.ok(&[
        "import",
        "readings",
        sb.write("a.csv", long_csv(2, 8).as_bytes())
            .to_str()
            .unwrap(),
    ]);
    let v = sb.version();
    let mut text = long_csv(3, 8);
    text.push_str("M000,2025-01-01T09:00:00+08:00,oops\n");
    let f = sb.write("b.csv", text.as_bytes());
    let r = sb.json(&[
        "import",
        "readings",
        f.to_str().unwrap(),
        "--dry-run",
        "--json",
    ]);
    let file = &r["files"][0];
    assert_eq!(
        (
            file["accepted"].as_u64(),
            file["duplicates"].as_u64(),
            file["rejected"].as_u64()
        ),
        (Some(8), Some(16), Some(1))
    );
    assert_eq!(
        (r["committed"].as_bool(), r["dry_run"].as_bool()),
        (Some(false), Some(true))
    );
    assert_eq!(sb.version(), v);
    assert_eq!(
        walk(&sb.lake().join("tables")).len(),
        1,
        "no files left behind"
    );
    let human = sb.ok(&["import", "readings", f.to_str().unwrap(), "--dry-run"]);
    assert!(human.contains("dry run: nothing was written"), "{human}");
}

#[test]
fn compaction_merges_small_files_and_changes_no_answer() {
    let sb = Sandbox::new();
    for (i, m) in ["M1", "M0", "M2"].iter().enumerate() {
        let text = format!(
            "meter_id,ts,kwh\n{m},2025-01-05T00:00:00Z,{i}\n{m},2025-01-05T00:15:00Z,{i}.5\n"
        );
        sb.ok(&[
            "import",
            "readings",
            sb.write(&format!("r{i}.csv"), text.as_bytes())
                .to_str()
                .unwrap(),
        ]);
        let staff = format!("staff_id,name\nS{i},n{i}\n");
        sb.ok(&[
            "import",
            "staff",
            sb.write(&format!("s{i}.csv"), staff.as_bytes())
                .to_str()
                .unwrap(),
        ]);
    }
    let q = "SELECT meter_id, ts, kwh FROM readings ORDER BY 1, 2";
    let before = sb.ok(&["sql", q, "--format", "csv"]);
    let files = |sb: &Sandbox, t: usize| {
        sb.json(&["tables", "--json"])["tables"][t]["files"]
            .as_u64()
            .unwrap()
    };
    assert_eq!(files(&sb, 0), 3);
    let r = sb.json(&["compact", "--json"]);
    assert_eq!(r["committed"], true);
    assert_eq!(files(&sb, 0), 1);
    let staff_idx = 12; // position of `staff` in the catalog
    assert_eq!(
        sb.json(&["tables", "--json"])["tables"][staff_idx]["table"],
        "staff"
    );
    assert_eq!(files(&sb, staff_idx), 1);
    assert_eq!(sb.ok(&["sql", q, "--format", "csv"]), before);
    assert_eq!(sb.scalar("SELECT count(*) FROM staff"), "3");
    let again = sb.ok(&["compact"]);
    assert!(again.contains("nothing to compact"), "{again}");
    // Re-importing after compaction still finds the duplicates.
    let r = sb.json(&[
        "import",
        "readings",
        sb.write("again.csv", b"meter_id,ts,kwh\nM1,2025-01-05T00:00:00Z,0\n")
            .to_str()
            .unwrap(),
        "--interval",
        "15m",
        "--json",
    ]);
    assert_eq!(r["files"][0]["duplicates"], 1);
}
