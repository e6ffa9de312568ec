//! `gridmark forecast eval`: the standard long-horizon protocol on any wide hourly file.

use crate::CliError;
use crate::cli::{ForecastCommand, Protocol};
use std::io::Write;

pub fn run(cmd: ForecastCommand) -> Result<(), CliError> {
    match cmd {
        ForecastCommand::Eval(args) => {
            let Protocol::Ett = args.protocol;
            let horizons: Vec<usize> = args
                .horizons
                .split(',')
                .map(|h| h.trim().parse::<usize>().ok().filter(|&h| h > 0))
                .collect::<Option<_>>()
                .ok_or_else(|| crate::usage(format!("--horizons {}: expected positive numbers separated by commas, e.g. 96,192,336,720", args.horizons)))?;
            let data = gridmark_ingest::read_wide_numeric(&args.input)?;
            let needed = 12 * 30 * 24 + 8 * 30 * 24;
            if data.index.len() < needed {
                return Err(crate::usage(format!(
                    "{}: the ETT protocol needs at least {needed} rows (12 months train, 4 validation, 4 test); the file has {}",
                    args.input.display(),
                    data.index.len()
                )));
            }
            let channels: Vec<Vec<f64>> = data.columns.iter().map(|(_, v)| v.clone()).collect();
            let scores =
                gridmark_analytics::forecast::ett::evaluate(&channels, &horizons, args.lookback);
            let mut out = std::io::stdout().lock();
            if args.json {
                let mut doc = serde_json::Map::new();
                for s in &scores {
                    doc.insert(
                        s.horizon.to_string(),
                        serde_json::json!({"mse": s.mse, "mae": s.mae, "lambda": s.lambda,
                            "train_windows": s.train_windows, "test_windows": s.test_windows,
                            "fit_seconds": s.fit_seconds}),
                    );
                }
                writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
                return Ok(());
            }
            writeln!(
                out,
                "{}: {} rows × {} channels ({}), look-back {}; linear model, last-value normalised, ridge λ chosen on validation",
                args.input.display(),
                data.index.len(),
                channels.len(),
                data.columns
                    .iter()
                    .map(|c| c.0.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                args.lookback
            )?;
            writeln!(
                out,
                "{:>8} {:>8} {:>8} {:>10} {:>13} {:>8}",
                "horizon", "MSE", "MAE", "lambda", "test windows", "fit s"
            )?;
            for s in &scores {
                writeln!(
                    out,
                    "{:>8} {:>8.4} {:>8.4} {:>10.3e} {:>13} {:>8.2}",
                    s.horizon, s.mse, s.mae, s.lambda, s.test_windows, s.fit_seconds
                )?;
            }
            Ok(())
        }
    }
}
