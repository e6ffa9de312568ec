//! Readers see whole commits only, while a writer keeps committing.

use gridmark_core::{FixedClock, Rows, Value, catalog};
use gridmark_lake::{Lake, rows_to_batch};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

const ROWS_PER_COMMIT: usize = 500;
const FILES_PER_COMMIT: usize = 3;

fn commit_batch(lake: &Lake, n: usize) {
    let table = catalog::table("payments").unwrap();
    let mut w = lake.writer(Arc::new(FixedClock::new(0))).unwrap();
    for f in 0..FILES_PER_COMMIT {
        let mut rows = Rows::new(table);
        for i in 0..ROWS_PER_COMMIT {
            rows.push(vec![
                Value::Str(format!("P{n}-{f}-{i}")),
                Value::Null,
                "C1".into(),
                Value::Ts(1_700_000_000_000 + i as i64),
                Value::Int(100),
                Value::Null,
            ])
            .unwrap();
        }
        let mut sink = w.sink(table, None).unwrap();
        sink.write(&rows_to_batch(&rows).unwrap()).unwrap();
        let entry = sink.finish().unwrap();
        w.add_file("payments", entry);
    }
    w.commit("test").unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_readers_never_see_half_a_commit() {
    let dir = tempfile::tempdir().unwrap();
    let lake = Lake::create_or_open(dir.path(), "Asia/Shanghai").unwrap();
    commit_batch(&lake, 0);
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (root, stop) = (dir.path().to_path_buf(), stop.clone());
        std::thread::spawn(move || {
            let lake = Lake::open(&root).unwrap();
            for n in 1..=15 {
                commit_batch(&lake, n);
            }
            stop.store(true, Ordering::SeqCst);
        })
    };
    let mut seen = Vec::new();
    while !stop.load(Ordering::SeqCst) || seen.is_empty() {
        let ctx = gridmark_sql::session(&lake).await.unwrap();
        let batches = ctx
            .sql("SELECT count(*) AS n, sum(amount_fen) AS s FROM payments")
            .await
            .unwrap()
            .collect()
            .await
            .unwrap();
        let text = datafusion::arrow::util::pretty::pretty_format_batches(&batches)
            .unwrap()
            .to_string();
        let n: usize = text
            .lines()
            .nth(3)
            .unwrap()
            .split('|')
            .nth(1)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        assert_eq!(
            n % (ROWS_PER_COMMIT * FILES_PER_COMMIT),
            0,
            "saw a partial commit: {n} rows"
        );
        seen.push(n);
    }
    writer.join().unwrap();
    assert!(
        seen.windows(2).all(|w| w[0] <= w[1]),
        "versions only move forward: {seen:?}"
    );
    let last = gridmark_sql::session(&lake).await.unwrap();
    let n = last
        .sql("SELECT count(*) FROM payments")
        .await
        .unwrap()
        .count()
        .await
        .unwrap();
    assert_eq!(n, 1, "one row of count");
}
