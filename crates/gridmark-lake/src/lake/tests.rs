use super::*;
use crate::rows_to_batch;
use gridmark_core::{FixedClock, Rows, Value, catalog};

fn clock() -> Arc<dyn Clock> {
    Arc::new(FixedClock::new(1_700_000_000_000))
}

fn staff_rows(ids: &[&str]) -> Rows {
    let mut rows = Rows::for_table("staff").unwrap();
    for id in ids {
        let mut v = vec![Value::Null; rows.table.columns.len()];
        v[0] = (*id).into();
        rows.push(v).unwrap();
    }
    rows
}

fn commit_staff(lake: &Lake, ids: &[&str]) -> Snapshot {
    let table = catalog::table("staff").unwrap();
    let mut w = lake.writer(clock()).unwrap();
    let mut sink = w.sink(table, None).unwrap();
    sink.write(&rows_to_batch(&staff_rows(ids)).unwrap())
        .unwrap();
    let entry = sink.finish().unwrap();
    w.add_file("staff", entry);
    w.commit("test").unwrap()
}

#[test]
fn commit_makes_files_visible_with_statistics() {
    let dir = tempfile::tempdir().unwrap();
    let lake = Lake::create_or_open(dir.path(), "Asia/Shanghai").unwrap();
    assert_eq!(lake.snapshot().unwrap().version, 0);
    let snap = commit_staff(&lake, &["S2", "S1"]);
    assert_eq!(snap.version, 1);
    assert_eq!(snap.rows("staff"), 2);
    let f = &snap.table("staff").unwrap().files[0];
    assert_eq!(
        (f.min_key.as_deref(), f.max_key.as_deref()),
        (Some("S1"), Some("S2"))
    );
    assert!(lake.abs(&f.path).exists());
    let again = Lake::open(dir.path()).unwrap().snapshot().unwrap();
    assert_eq!(again, snap);
}

#[test]
fn uncommitted_writer_leaves_the_lake_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let lake = Lake::create_or_open(dir.path(), "Asia/Shanghai").unwrap();
    let before = commit_staff(&lake, &["S1"]);
    let table = catalog::table("staff").unwrap();
    let stray;
    {
        let mut w = lake.writer(clock()).unwrap();
        let mut sink = w.sink(table, None).unwrap();
        sink.write(&rows_to_batch(&staff_rows(&["S9"])).unwrap())
            .unwrap();
        stray = sink.path().to_path_buf();
        let entry = sink.finish().unwrap();
        w.add_file("staff", entry);
        assert!(stray.exists());
        // dropped without commit
    }
    assert!(!stray.exists());
    assert_eq!(lake.snapshot().unwrap(), before);
}

#[test]
fn files_left_by_a_killed_writer_are_collected_by_the_next_one() {
    let dir = tempfile::tempdir().unwrap();
    let lake = Lake::create_or_open(dir.path(), "Asia/Shanghai").unwrap();
    let snap = commit_staff(&lake, &["S1"]);
    let orphan = dir.path().join("tables/staff/c00000002-00001.parquet");
    std::fs::write(&orphan, b"PAR1 half a file").unwrap();
    std::fs::write(
        dir.path().join("_commits/00000000000000000002.json.tmp"),
        b"{",
    )
    .unwrap();
    assert_eq!(
        lake.snapshot().unwrap(),
        snap,
        "a temp snapshot is not a commit"
    );
    let w = lake.writer(clock()).unwrap();
    assert!(!orphan.exists());
    drop(w);
    assert!(
        lake.abs(&snap.table("staff").unwrap().files[0].path)
            .exists()
    );
}

#[test]
fn second_writer_gets_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let lake = Lake::create_or_open(dir.path(), "Asia/Shanghai").unwrap();
    let _w = lake.writer(clock()).unwrap();
    let other = Lake::open(dir.path()).unwrap();
    let err = other
        .writer(clock())
        .err()
        .expect("lock is held")
        .to_string();
    assert!(err.contains("another gridmark process"), "{err}");
}

#[test]
fn opening_a_folder_that_is_not_a_lake_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let err = Lake::open(dir.path()).unwrap_err().to_string();
    assert!(err.contains("not a gridmark lake"), "{err}");
    std::fs::write(dir.path().join("gridmark.json"), b"{\"format\": 1").unwrap();
    let err = Lake::open(dir.path()).unwrap_err().to_string();
    assert!(err.contains("corrupt"), "{err}");
}
