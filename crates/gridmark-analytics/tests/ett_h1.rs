//! The published long-horizon protocol on the real ETTh1 file (read from the shared data
//! folder beside the checkout; skipped when it is absent). Run in release:
//! `CARGO_TARGET_DIR=/tmp/analytics-target cargo test -p gridmark-analytics --release -- --ignored --nocapture`

use std::path::Path;

use gridmark_analytics::forecast::ett;

const CHANNELS: [&str; 7] = ["HUFL", "HULL", "MUFL", "MULL", "LUFL", "LULL", "OT"];

fn read_ett(path: &Path) -> Vec<Vec<f64>> {
    let text = std::fs::read_to_string(path).expect("read ETTh1.csv");
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("header").split(',').collect();
    assert_eq!(header[0], "date");
    assert_eq!(&header[1..], &CHANNELS);
    let mut channels = vec![Vec::new(); CHANNELS.len()];
    for (n, line) in lines.enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let mut fields = line.split(',');
        fields.next();
        for ch in &mut channels {
            let f = fields
                .next()
                .unwrap_or_else(|| panic!("line {}: short row", n + 2));
            ch.push(
                f.trim()
                    .parse()
                    .unwrap_or_else(|e| panic!("line {}: {e}", n + 2)),
            );
        }
    }
    channels
}

#[test]
#[ignore = "needs ../shared/data/ett/ETTh1.csv; run in release"]
fn ett_h1_published_protocol() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/ett/ETTh1.csv");
    if !path.exists() {
        println!("skipped: {} is absent", path.display());
        return;
    }
    let channels = read_ett(&path);
    assert_eq!(channels[0].len(), 17_420);

    let horizons = [96, 192, 336, 720];
    let scores = ett::evaluate(&channels, &horizons, 336);
    // Published PatchTST/64 and NLinear (look-back 336), and a reference numpy run of this same
    // closed-form method under this protocol.
    let patchtst = [0.370, 0.413, 0.422, 0.447];
    let nlinear = [0.374, 0.408, 0.429, 0.440];
    let reference = [0.370, 0.403, 0.426, 0.432];
    println!("ETTh1, look-back 336, closed-form ridge NLinear (test split, standardised scale)");
    println!(
        "{:>4} {:>7} {:>7} {:>8} {:>6} {:>6} {:>6} {:>8} {:>7} {:>5}",
        "H", "MSE", "MAE", "λ", "train", "test", "fit s", "PatchTST", "NLinear", "ref"
    );
    for (i, s) in scores.iter().enumerate() {
        println!(
            "{:>4} {:>7.4} {:>7.4} {:>8.1e} {:>6} {:>6} {:>6.3} {:>8.3} {:>7.3} {:>5.3}",
            s.horizon,
            s.mse,
            s.mae,
            s.lambda,
            s.train_windows,
            s.test_windows,
            s.fit_seconds,
            patchtst[i],
            nlinear[i],
            reference[i]
        );
    }
    for (i, s) in scores.iter().enumerate() {
        assert_eq!(s.train_windows, 7 * (8_640 - 336 - s.horizon + 1));
        assert_eq!(s.test_windows, 7 * (2_880 - s.horizon + 1));
        // With look-back 336 alone this closed form ties the reference run and beats NLinear
        // everywhere, but PatchTST/64 (look-back 512) stays out of reach at H = 336 (0.426
        // even with λ picked on test).
        assert!(
            s.mse <= nlinear[i],
            "H={}: MSE {:.4} > published NLinear {}",
            s.horizon,
            s.mse,
            nlinear[i]
        );
        assert!(
            s.mse <= reference[i] + 0.0015,
            "H={}: MSE {:.4} is worse than the reference run {}",
            s.horizon,
            s.mse,
            reference[i]
        );
    }
    // Offering PatchTST/64's own look-back (512) too, chosen per horizon on validation: at or
    // below PatchTST/64 at every horizon.
    let chosen = ett::evaluate_lookbacks(&channels, &horizons, &[336, 512]);
    for (i, s) in chosen.iter().enumerate() {
        println!(
            "H={} look-back {} (validation MSE {:.4}): test MSE {:.4}, MAE {:.4}",
            s.horizon, s.lookback, s.validation_mse, s.mse, s.mae
        );
        assert!(
            s.mse <= patchtst[i],
            "H={}: MSE {:.4} > PatchTST/64 {}",
            s.horizon,
            s.mse,
            patchtst[i]
        );
    }
}
