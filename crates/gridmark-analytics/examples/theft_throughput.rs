//! Scoring throughput of the theft detectors: fits both on 2,500 synthetic households (10 %
//! attacked), then scores `--meters N` (default 1,000,000) series of 365 daily values in chunks
//! of 100,000, so memory stays bounded, and prints the seconds.
//!
//! `cargo run --release -p gridmark-analytics --example theft_throughput [-- --meters N]`

use gridmark_analytics::rng::Rng;
use gridmark_analytics::theft::{self, TheftModel, TheftParams, UnsupervisedModel};
use std::time::Instant;

const DAYS: usize = 365;
const CHUNK: usize = 100_000;

/// Households with a level, a season, a weekly rhythm, shared daily weather and own noise.
fn households(n: usize, seed: u64, weather: &[f64]) -> Vec<Vec<f64>> {
    let mut rng = Rng::new(seed);
    (0..n)
        .map(|_| {
            let level = rng.range(2.0, 25.0);
            let amp = rng.range(0.1, 0.5);
            let weekend = rng.range(1.0, 1.4);
            (0..DAYS)
                .map(|t| {
                    let season = 1.0 + amp * (t as f64 * std::f64::consts::TAU / 365.0).cos();
                    let wk = if t % 7 >= 5 { weekend } else { 1.0 };
                    level * season * wk * (1.0 + weather[t] + rng.range(-0.15, 0.15))
                })
                .collect()
        })
        .collect()
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mut meters = 1_000_000usize;
    while let Some(a) = args.next() {
        match (a.as_str(), args.next()) {
            ("--meters", Some(n)) => meters = n.parse().expect("--meters N"),
            _ => {
                eprintln!("usage: theft_throughput [--meters N]");
                std::process::exit(2);
            }
        }
    }
    let mut rng = Rng::new(1);
    let weather: Vec<f64> = (0..DAYS).map(|_| rng.range(-0.1, 0.1)).collect();
    let mut train = households(2_500, 2, &weather);
    let labels: Vec<bool> = theft::inject_share(&mut train, 0.1, 3)
        .iter()
        .map(Option::is_some)
        .collect();
    let start = Instant::now();
    let supervised = TheftModel::fit(&train, &labels, &TheftParams::default()).expect("fit");
    let unsupervised = UnsupervisedModel::fit(&train, 2).expect("fit");
    let fit_s = start.elapsed().as_secs_f64();
    let (mut gen_s, mut sup_s, mut unsup_s, mut checksum) = (0.0, 0.0, 0.0, 0.0);
    let mut done = 0;
    while done < meters {
        let n = CHUNK.min(meters - done);
        let t = Instant::now();
        let chunk = households(n, 100 + done as u64, &weather);
        gen_s += t.elapsed().as_secs_f64();
        let t = Instant::now();
        checksum += supervised.score_many(&chunk).iter().sum::<f64>();
        sup_s += t.elapsed().as_secs_f64();
        let t = Instant::now();
        checksum += unsupervised.score_many(&chunk).iter().sum::<f64>();
        unsup_s += t.elapsed().as_secs_f64();
        done += n;
    }
    println!(
        "{{\"meters\": {meters}, \"days\": {DAYS}, \"fit_s\": {fit_s:.2}, \"supervised_score_s\": {sup_s:.2}, \"unsupervised_score_s\": {unsup_s:.2}, \"generate_s\": {gen_s:.2}, \"checksum\": {checksum:.3}}}"
    );
}
