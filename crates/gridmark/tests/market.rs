//! Marketing analyses through the command line on hand-built data whose answer is known (a
//! graph with an obvious hub, adoptions drawn from a known Bass curve) and on the demo.

mod common;
use common::{civil, demo, fails, json, ok};
use std::fmt::Write as _;

#[test]
fn influence_finds_the_obvious_hub() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let l = lake.to_str().unwrap();
    // C000 refers twelve customers; a separate triangle C100-C102 hangs together weakly.
    let mut csv = String::from("src_customer_id,dst_customer_id,kind,weight\n");
    for i in 1..=12 {
        writeln!(csv, "C000,C{i:03},referral,1").unwrap();
    }
    writeln!(csv, "C001,C002,neighbour,0.5").unwrap();
    for (a, b) in [(100, 101), (101, 102), (100, 102)] {
        writeln!(csv, "C{a},C{b},family,1").unwrap();
    }
    let f = dir.path().join("relations.csv");
    std::fs::write(&f, csv).unwrap();
    ok(&["--data", l, "import", "relations", f.to_str().unwrap()]);
    let r = json(&["--data", l, "influence", "--top", "3", "--json"]);
    assert_eq!(r["customers"], 16, "{r}");
    assert_eq!(r["communities"], 2, "{r}");
    let top = &r["top"][0];
    assert_eq!(top["customer_id"], "C000", "{r}");
    assert_eq!(top["referrals_made"], 12);
    assert!(
        top["why"]
            .as_str()
            .unwrap()
            .contains("referred 12 customers")
    );
    assert!(top["pagerank_ratio"].as_f64().unwrap() > 3.0);
    let out = dir.path().join("influence.csv");
    ok(&["--data", l, "influence", "--out", out.to_str().unwrap()]);
    let text = std::fs::read_to_string(&out).unwrap();
    assert_eq!(text.lines().count(), 17);
    assert!(text.lines().nth(1).unwrap().starts_with("C000,"));
    let err = fails(&["--data", l, "influence", "--top", "0"]);
    assert!(err.contains("--top 0"), "{err}");
}

#[test]
fn lifecycle_recovers_a_known_bass_curve() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let l = lake.to_str().unwrap();
    // 2,000 adopters-to-be, p = 0.02 and q = 0.35 per month, launched 2023-01; 30 months seen.
    let (p, q, m) = (0.02f64, 0.35f64, 2000.0f64);
    let share = |t: f64| {
        let e = (-(p + q) * t).exp();
        (1.0 - e) / (1.0 + q / p * e)
    };
    let mut csv = String::from("customer_id,product,start_date\n");
    let mut n = 0;
    for month in 0..30 {
        let new = (m * share(month as f64 + 1.0)).round() as i64
            - (m * share(month as f64)).round() as i64;
        let first_day = 19_358 + (month as f64 * 30.44) as i64; // 2023-01-01
        for k in 0..new {
            n += 1;
            let (y, mo, _) = civil(first_day + 10);
            writeln!(csv, "C{n:05},solar,{y}-{mo:02}-{:02}", 1 + k % 28).unwrap();
        }
    }
    let f = dir.path().join("products.csv");
    std::fs::write(&f, csv).unwrap();
    ok(&["--data", l, "import", "products", f.to_str().unwrap()]);
    let r = json(&["--data", l, "lifecycle", "--json"]);
    let solar = &r[0];
    assert_eq!(solar["product"], "solar");
    let (fp, fq, fm) = (
        solar["p"].as_f64().unwrap(),
        solar["q"].as_f64().unwrap(),
        solar["m"].as_f64().unwrap(),
    );
    assert!((fp - p).abs() / p < 0.15, "p {fp}");
    assert!((fq - q).abs() / q < 0.1, "q {fq}");
    assert!((fm - m).abs() / m < 0.05, "m {fm}");
    // 30 months in, well past the peak (about month 8): maturity.
    assert_eq!(solar["stage"], "maturity", "{solar}");
    assert_eq!(solar["forecast"].as_array().unwrap().len(), 12);
    let text = ok(&["--data", l, "lifecycle"]);
    assert!(
        text.contains("solar") && text.contains("maturity"),
        "{text}"
    );
}

#[test]
fn influence_and_lifecycle_on_the_demo() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let l = lake.to_str().unwrap();
    demo(l, 300, 240, 3);
    let r = json(&["--data", l, "influence", "--top", "2", "--json"]);
    assert!(r["ties"].as_u64().unwrap() > 300, "{r}");
    let regions = r["by_region"].as_object().unwrap();
    assert!(!regions.is_empty());
    for leaders in regions.values() {
        let v = leaders.as_array().unwrap();
        assert!(!v.is_empty() && v.len() <= 2);
    }
    let products = json(&["--data", l, "lifecycle", "--json"]);
    let products = products.as_array().unwrap();
    assert!(products.len() >= 3, "{products:?}");
    assert!(products.iter().all(|p| p["adopters"].as_u64().unwrap() > 0));
    // An empty lake names what is missing.
    let empty = dir.path().join("empty");
    let customers = dir.path().join("c.csv");
    std::fs::write(&customers, "customer_id\nC1\n").unwrap();
    ok(&[
        "--data",
        empty.to_str().unwrap(),
        "import",
        "customers",
        customers.to_str().unwrap(),
    ]);
    let err = fails(&["--data", empty.to_str().unwrap(), "lifecycle"]);
    assert!(err.contains("products"), "{err}");
    let err = fails(&["--data", empty.to_str().unwrap(), "influence"]);
    assert!(err.contains("relations"), "{err}");
}

#[test]
fn siting_picks_the_uncovered_town() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let l = lake.to_str().unwrap();
    // 40 customers in a town at (30.0, 120.0), 10 next to the existing hall, 5 in a village.
    let mut csv = String::from("customer_id,lat,lon\n");
    for i in 0..40 {
        writeln!(
            csv,
            "T{i:02},{},{}",
            30.0 + (i % 6) as f64 * 0.002,
            120.0 + (i / 6) as f64 * 0.002
        )
        .unwrap();
    }
    for i in 0..10 {
        writeln!(csv, "H{i:02},{},120.0", 30.3 + i as f64 * 0.001).unwrap();
    }
    for i in 0..5 {
        writeln!(csv, "V{i:02},31.0,{}", 121.0 + i as f64 * 0.001).unwrap();
    }
    let customers = dir.path().join("customers.csv");
    std::fs::write(&customers, csv).unwrap();
    ok(&[
        "--data",
        l,
        "import",
        "customers",
        customers.to_str().unwrap(),
    ]);
    let halls = dir.path().join("halls.csv");
    std::fs::write(&halls, "hall_id,lat,lon\nH1,30.301,120.0\n").unwrap();
    ok(&[
        "--data",
        l,
        "import",
        "service_halls",
        halls.to_str().unwrap(),
    ]);
    let cand = dir.path().join("candidates.csv");
    std::fs::write(
        &cand,
        "id,lat,lon\nnear_hall,30.3,120.0\ntown,30.005,120.006\nvillage,31.0,121.002\nnowhere,30.6,120.6\n",
    )
    .unwrap();
    let geo = dir.path().join("sites.geojson");
    let r = json(&[
        "--data",
        l,
        "siting",
        "--new",
        "1",
        "--candidates",
        cand.to_str().unwrap(),
        "--geojson",
        geo.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(r["sites"][0]["candidate"], "town", "{r}");
    assert_eq!(r["sites"][0]["new_customers"], 40);
    assert_eq!(r["covered_before"], 10.0);
    assert_eq!(r["covered_after"], 50.0);
    assert_eq!(r["exact_optimum"], 50.0);
    let g: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&geo).unwrap()).unwrap();
    assert_eq!(g["features"].as_array().unwrap().len(), 2);
    // p-median: the town is also where one hall cuts the mean distance most, and with four
    // candidates every choice is tried.
    let r = json(&[
        "--data",
        l,
        "siting",
        "--new",
        "1",
        "--objective",
        "median",
        "--candidates",
        cand.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(r["objective"], "median", "{r}");
    assert_eq!(r["sites"][0]["candidate"], "town", "{r}");
    assert_eq!(r["median_exact"], true);
    let (before, after) = (
        r["mean_km_before"].as_f64().unwrap(),
        r["mean_km_after"].as_f64().unwrap(),
    );
    assert!(before > 25.0 && after < 0.5 * before, "{before} → {after}");
    assert_eq!(r["covered_after"], 50.0);
    let err = fails(&["--data", l, "siting", "--new", "1", "--objective", "mean"]);
    assert!(err.contains("--objective mean"), "{err}");
    // The default grid of candidates finds the town and the village too.
    let r = json(&["--data", l, "siting", "--new", "2", "--json"]);
    assert_eq!(r["covered_after"], 55.0, "{r}");
    // Bad input is named.
    let err = fails(&["--data", l, "siting", "--new", "0"]);
    assert!(err.contains("--new 0"), "{err}");
    let err = fails(&["--data", l, "siting", "--new", "1", "--radius", "0"]);
    assert!(err.contains("--radius 0"), "{err}");
    std::fs::write(&cand, "id,lat,lon\na,30.1,120.0\nb,95,120\n").unwrap();
    let err = fails(&[
        "--data",
        l,
        "siting",
        "--new",
        "1",
        "--candidates",
        cand.to_str().unwrap(),
    ]);
    assert!(err.contains("line 3") && err.contains("lat `95`"), "{err}");
}
