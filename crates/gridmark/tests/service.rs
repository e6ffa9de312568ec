//! Service analyses through the command line: channels, satisfaction and staff assessment on
//! hand-built records whose answer is known, and on the demo.

mod common;
use common::{date, demo, fails, json, ok};
use std::fmt::Write as _;
use std::path::Path;

fn import(lake: &str, dir: &Path, table: &str, csv: &str) {
    let f = dir.join(format!("{table}.csv"));
    std::fs::write(&f, csv).unwrap();
    ok(&["--data", lake, "import", table, f.to_str().unwrap()]);
}

/// 2025-01-01 as days since 1970.
const JAN1: i64 = 20089;

fn ts(day: i64, hour: f64) -> String {
    let secs = (hour * 3600.0).round() as i64;
    format!(
        "{}T{:02}:{:02}:{:02}Z",
        date(day + secs.div_euclid(86_400)),
        secs.rem_euclid(86_400) / 3600,
        secs.rem_euclid(3600) / 60,
        secs.rem_euclid(60)
    )
}

#[test]
fn satisfaction_finds_the_change_the_driver_and_the_sentiment() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let l = lake.to_str().unwrap();
    // The app's answers fall from all 5s in January to all 2s in February, after slow billing
    // complaints; the hall stays at a mean of 4 (3s and 5s) throughout.
    let mut orders =
        String::from("order_id,customer_id,created_at,closed_at,channel,kind,category\n");
    let mut surveys = String::from("survey_id,customer_id,order_id,channel,ts,csat,nps,comment\n");
    for i in 0..160 {
        let app = i < 80;
        let feb = (i % 80) >= 40;
        let day = JAN1 + if feb { 40 } else { 9 } + (i % 20) as i64;
        let (kind, category, hours, csat) = if app && feb {
            ("complaint", "billing", 100.0, 2)
        } else if app {
            ("consultation", "consultation", 1.0, 5)
        } else {
            (
                "consultation",
                "consultation",
                2.0,
                if i % 2 == 0 { 3 } else { 5 },
            )
        };
        let channel = if app { "app" } else { "hall" };
        writeln!(
            orders,
            "W{i},C{i},{},{},{channel},{kind},{category}",
            ts(day, 1.0),
            ts(day, 1.0 + hours)
        )
        .unwrap();
        let comment = match csat {
            5 => "very satisfied, great service",
            2 => "terrible, very slow",
            _ => "",
        };
        writeln!(
            surveys,
            "S{i},C{i},W{i},{channel},{},{csat},{},\"{comment}\"",
            ts(day, 1.0 + hours + 5.0),
            2 * csat
        )
        .unwrap();
    }
    // One answer outside the scale is skipped and counted.
    writeln!(surveys, "S999,C1,,app,{},7,9,", ts(JAN1 + 10, 3.0)).unwrap();
    import(l, dir.path(), "work_orders", &orders);
    import(l, dir.path(), "surveys", &surveys);
    let r = json(&["--data", l, "satisfaction", "--json"]);
    assert_eq!(r["answers"], 160, "{r}");
    assert_eq!(r["skipped_out_of_scale"], 1);
    assert_eq!(r["skipped_examples"][0], "S999");
    // 40 fives, 40 twos, 40 threes, 40 fives: mean 3.75; satisfied 120/160.
    assert!((r["overall"]["csat"].as_f64().unwrap() - 3.75).abs() < 1e-9);
    assert!((r["overall"]["satisfied_share"].as_f64().unwrap() - 0.5).abs() < 1e-9);
    let group = |dim: &str, g: &str| {
        r["groups"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["dimension"] == dim && x["group"] == g)
            .unwrap_or_else(|| panic!("no {dim} {g} in {r}"))
            .clone()
    };
    let hall = group("channel", "hall");
    assert!((hall["csat"].as_f64().unwrap() - 4.0).abs() < 1e-9);
    let (lo, hi) = (
        hall["csat_low"].as_f64().unwrap(),
        hall["csat_high"].as_f64().unwrap(),
    );
    assert!(lo < 4.0 && hi > 4.0 && hi - lo < 0.6, "{hall}");
    // NPS of the app: 40 promoters (10), 40 detractors (4): 0.
    assert!(group("channel", "app")["nps"].as_f64().unwrap().abs() < 1e-9);
    // The app's fall is found; the hall, unchanged, is not.
    let changes = r["changes"].as_array().unwrap();
    let app_change = changes
        .iter()
        .find(|c| c["dimension"] == "channel" && c["group"] == "app" && c["metric"] == "csat")
        .unwrap_or_else(|| panic!("{r}"));
    assert_eq!(app_change["from"], "2025-01");
    assert_eq!(app_change["to"], "2025-02");
    assert!((app_change["difference"].as_f64().unwrap() + 3.0).abs() < 1e-9);
    assert!(!changes.iter().any(|c| c["group"] == "hall"), "{r}");
    // Billing complaints carry all the low scores: 4× the overall share.
    let billing = r["drivers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["factor"] == "business" && d["level"] == "billing")
        .unwrap()
        .clone();
    assert!(
        (billing["lift"].as_f64().unwrap() - 4.0).abs() < 1e-9,
        "{billing}"
    );
    assert_eq!(r["model_answers"], 160);
    // The comments agree with the scores.
    assert!(
        r["sentiment_csat_correlation"].as_f64().unwrap() > 0.8,
        "{r}"
    );
    assert!(
        group("channel", "app")["negative_comments"]
            .as_f64()
            .unwrap()
            > 0.4
    );
    // Readable output, a CSV of the groups, and a period filter.
    let text = ok(&["--data", l, "satisfaction", "--by", "quarter"]);
    assert!(
        text.contains("by channel") && text.contains("what goes with low scores"),
        "{text}"
    );
    let out = dir.path().join("groups.csv");
    ok(&["--data", l, "satisfaction", "--out", out.to_str().unwrap()]);
    let csv = std::fs::read_to_string(&out).unwrap();
    assert!(csv.lines().next().unwrap().contains("csat_low"));
    let jan = json(&["--data", l, "satisfaction", "--period", "2025-01", "--json"]);
    assert_eq!(jan["answers"], 80);
    // Errors name what is wrong.
    let err = fails(&["--data", l, "satisfaction", "--period", "2025-07"]);
    assert!(err.contains("2025-07"), "{err}");
    let err = fails(&["--data", l, "satisfaction", "--by", "week"]);
    assert!(err.contains("--by week"), "{err}");
    let err = fails(&["--data", l, "satisfaction", "--alpha", "2"]);
    assert!(err.contains("--alpha 2"), "{err}");
}

#[test]
fn staff_assessment_ranks_shrinks_and_grades() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let l = lake.to_str().unwrap();
    // Five agents with 32 orders each in 2025-Q1: A1 fastest and best rated … A5 slowest and
    // worst, whose customers also come back 2 days later about the same thing. NEW has two
    // perfect scores at an average speed. A5's excellent April is outside the period.
    let patterns: [(&str, f64, [i64; 4]); 5] = [
        ("A1", 1.0, [5, 5, 4, 3]),
        ("A2", 2.0, [5, 4, 4, 3]),
        ("A3", 3.0, [5, 4, 3, 3]),
        ("A4", 4.0, [5, 3, 3, 3]),
        ("A5", 6.0, [4, 3, 3, 3]),
    ];
    let mut staff = String::from("staff_id,region,role\n");
    let mut orders =
        String::from("order_id,customer_id,created_at,closed_at,channel,kind,category,staff_id\n");
    let mut surveys = String::from("survey_id,order_id,staff_id,ts,csat,nps\n");
    let mut k = 0;
    let mut add = |who: &str, customer: String, day: i64, hours: f64, csat: i64| {
        k += 1;
        writeln!(
            orders,
            "W{k},{customer},{},{},phone_95598,consultation,billing,{who}",
            ts(day, 1.0),
            ts(day, 1.0 + hours)
        )
        .unwrap();
        writeln!(
            surveys,
            "S{k},W{k},{who},{},{csat},{}",
            ts(day, 8.0 + hours),
            2 * csat
        )
        .unwrap();
    };
    for (a, (who, hours, pattern)) in patterns.iter().enumerate() {
        writeln!(staff, "{who},north,agent_95598").unwrap();
        for i in 0..32 {
            let (customer, day) = if *who == "A5" {
                // Pairs: the same customer again two days later.
                (
                    format!("{who}-{}", i / 2),
                    JAN1 + 3 * (i / 2) as i64 + 2 * (i % 2) as i64,
                )
            } else {
                (format!("{who}-{i}"), JAN1 + 2 * i as i64 + a as i64)
            };
            let jitter = [0.8, 1.25, 1.0, 1.0][(i / 4) % 4];
            add(who, customer, day, hours * jitter, pattern[i % 4]);
        }
    }
    for i in 0..10 {
        add("A5", format!("A5-april-{i}"), JAN1 + 95 + i, 0.5, 5);
    }
    writeln!(staff, "NEW,north,agent_95598").unwrap();
    add("NEW", "N-1".into(), JAN1 + 50, 3.0, 5);
    add("NEW", "N-2".into(), JAN1 + 60, 3.0, 5);
    import(l, dir.path(), "staff", &staff);
    import(l, dir.path(), "work_orders", &orders);
    import(l, dir.path(), "surveys", &surveys);
    let r = json(&[
        "--data", l, "staff", "assess", "--period", "2025-Q1", "--json",
    ]);
    assert_eq!(r["period"]["name"], "2025-Q1");
    assert_eq!(r["orders"], 162, "{r}");
    let staff = r["staff"].as_array().unwrap();
    let get = |id: &str| staff.iter().find(|s| s["staff_id"] == id).unwrap().clone();
    // A1 … A5 keep their order; A1 gets an A, A5 a D.
    let ranks: Vec<u64> = ["A1", "A2", "A3", "A4", "A5"]
        .iter()
        .map(|id| get(id)["rank"].as_u64().unwrap())
        .collect();
    assert!(ranks.windows(2).all(|w| w[0] < w[1]), "{ranks:?} {r}");
    assert_eq!(get("A1")["grade"], "A");
    assert_eq!(get("A5")["grade"], "D");
    // A5: April not counted; every first order of a pair is repeated within 7 days and
    // reopened within 30 days of closing.
    let a5 = get("A5");
    assert_eq!(a5["orders"], 32);
    assert!(
        (a5["first_contact_rate"].as_f64().unwrap() - 0.5).abs() < 1e-9,
        "{a5}"
    );
    assert!((a5["reopen_rate"].as_f64().unwrap() - 0.5).abs() < 1e-9);
    assert_eq!(get("A1")["first_contact_rate"], 1.0);
    // Two perfect orders are not proof: NEW is provisional and pulled well toward the mean.
    let new = get("NEW");
    assert_eq!(new["provisional"], true);
    let (raw, shrunk) = (
        new["satisfaction_raw"].as_f64().unwrap(),
        new["satisfaction_index"].as_f64().unwrap(),
    );
    assert!(
        raw > 0.0 && shrunk < 0.8 * raw,
        "raw {raw}, shrunk {shrunk}"
    );
    let a1 = get("A1");
    let (raw1, shrunk1) = (
        a1["satisfaction_raw"].as_f64().unwrap(),
        a1["satisfaction_index"].as_f64().unwrap(),
    );
    assert!(shrunk1 > 0.8 * raw1, "32 answers keep most of their weight");
    // Readable table and CSV.
    let text = ok(&["--data", l, "staff", "assess", "--period", "2025-Q1"]);
    assert!(
        text.contains("grade") && text.contains("A1") && text.contains("prov."),
        "{text}"
    );
    let out = dir.path().join("staff.csv");
    ok(&[
        "--data",
        l,
        "staff",
        "assess",
        "--period",
        "2025-01-01..2025-03-31",
        "--out",
        out.to_str().unwrap(),
    ]);
    let csv = std::fs::read_to_string(&out).unwrap();
    assert_eq!(csv.lines().count(), 7);
    // Bad periods and empty periods are named.
    let err = fails(&["--data", l, "staff", "assess", "--period", "2025-Q5"]);
    assert!(err.contains("2025-Q5") && err.contains("Q1 to Q4"), "{err}");
    let err = fails(&["--data", l, "staff", "assess", "--period", "2024-Q1"]);
    assert!(err.contains("no work order created in 2024-Q1"), "{err}");
    let truth = dir.path().join("truth.csv");
    std::fs::write(&truth, "staff_id,skill,attitude\nA1,abc,0\n").unwrap();
    let err = fails(&[
        "--data",
        l,
        "staff",
        "assess",
        "--period",
        "2025-Q1",
        "--truth",
        truth.to_str().unwrap(),
    ]);
    assert!(err.contains("line 2") && err.contains("abc"), "{err}");
}

#[test]
fn channels_find_the_shift_and_the_customers_to_move() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let l = lake.to_str().unwrap();
    // Six months: A pays at the hall every month but logged into the app once; B only ever
    // comes to the hall; C uses the app more and more.
    let mut ev = String::from("event_id,customer_id,ts,channel,action,duration_s\n");
    let mut k = 0;
    let month_day = [0, 31, 59, 90, 120, 151];
    for (m, d) in month_day.iter().enumerate() {
        for (c, ch, action, secs, n) in [
            ("A", "hall", "pay", 900, 1),
            ("B", "hall", "pay", 600, 1),
            ("C", "app", "pay", 60, 1 + m),
        ] {
            for j in 0..n {
                k += 1;
                writeln!(
                    ev,
                    "E{k},{c},{},{ch},{action},{secs}",
                    ts(JAN1 + d + 3 + j as i64, 2.0)
                )
                .unwrap();
            }
        }
    }
    k += 1;
    writeln!(ev, "E{k},A,{},app,login,30", ts(JAN1 + 160, 2.0)).unwrap();
    import(l, dir.path(), "channel_events", &ev);
    import(
        l,
        dir.path(),
        "customers",
        "customer_id,region,customer_class\nA,north,residential\nB,north,residential\nC,south,commercial\n",
    );
    let r = json(&["--data", l, "channels", "--json"]);
    assert_eq!(r["first_month"], "2025-01", "{r}");
    assert_eq!(r["last_month"], "2025-06");
    assert!(r["digital_trend_points_per_year"].as_f64().unwrap() > 0.0);
    assert_eq!(r["movable_customers"], 1);
    assert_eq!(r["onboarding_customers"], 1);
    assert_eq!(r["customers_detail"][0]["customer_id"], "A");
    assert_eq!(r["customers_detail"][0]["offline_digitizable"], 6);
    let hall = r["channels"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["channel"] == "hall")
        .unwrap()
        .clone();
    assert_eq!(hall["mean_duration_s"], 750.0);
    assert!(hall["trend_points_per_year"].as_f64().unwrap() < 0.0);
    let south = r["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["dimension"] == "region" && g["group"] == "south")
        .unwrap()
        .clone();
    assert_eq!(south["digital_share"], 1.0);
    let text = ok(&["--data", l, "channels"]);
    assert!(text.contains("could move to digital"), "{text}");
    let out = dir.path().join("c.csv");
    ok(&["--data", l, "channels", "--out", out.to_str().unwrap()]);
    assert_eq!(std::fs::read_to_string(&out).unwrap().lines().count(), 4);
    let err = fails(&["--data", l, "channels", "--out", "x.txt"]);
    assert!(err.contains("x.txt"), "{err}");
    // No contacts: say which table to import.
    let empty = dir.path().join("empty");
    let e = empty.to_str().unwrap();
    import(e, dir.path(), "customers", "customer_id\nC1\n");
    let err = fails(&["--data", e, "channels"]);
    assert!(err.contains("channel_events"), "{err}");
    let err = fails(&["--data", e, "satisfaction"]);
    assert!(err.contains("surveys"), "{err}");
}

#[test]
fn service_analyses_on_the_demo() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let l = lake.to_str().unwrap();
    demo(l, 600, 180, 5);
    // The generator drifts customers toward digital channels by 25 points a year.
    let c = json(&["--data", l, "channels", "--json"]);
    assert!(
        c["digital_trend_points_per_year"].as_f64().unwrap() > 5.0,
        "{c}"
    );
    assert!(
        c["digital_share_last_3m"].as_f64().unwrap()
            > c["digital_share_first_3m"].as_f64().unwrap()
    );
    // Complaints score below consultations, and waiting costs satisfaction.
    let s = json(&["--data", l, "satisfaction", "--json"]);
    let kind = |k: &str| {
        s["groups"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["dimension"] == "kind" && g["group"] == k)
            .unwrap()["csat"]
            .as_f64()
            .unwrap()
    };
    assert!(kind("complaint") + 0.5 < kind("consultation"), "{s}");
    let wait = s["effects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["term"] == "ln(1 + resolution days)")
        .unwrap()
        .clone();
    assert!(wait["coefficient"].as_f64().unwrap() < 0.0, "{wait}");
    // Staff assessment against the generator's hidden staff quality.
    let truth = lake.join("truth").join("staff.csv");
    let a = json(&[
        "--data",
        l,
        "staff",
        "assess",
        "--period",
        "2025-Q1",
        "--truth",
        truth.to_str().unwrap(),
        "--json",
    ]);
    assert!(a["staff"].as_array().unwrap().len() >= 30, "{a}");
    assert!(
        a["truth"]["speed_shrunk_spearman"].as_f64().unwrap() > 0.3,
        "{a}"
    );
}
