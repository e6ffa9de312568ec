//! Partial theft: a bypass used only some hours on some days (evenings, working hours) hardly
//! moves daily totals, but on those days the stolen hours read far less than the rest of the
//! day.
//!
//! Each day is cut into eight 3-hour local blocks. For a block, a day's log ratio
//! ln(block ÷ rest of the day) is taken relative to the median over all meters that day (the
//! seasons move everyone's evening share), and the day is *low* when it falls more than ln 2
//! below the meter's own median for that block: the block read under half its usual share.
//! The evidence is the largest sustained rise in the share of low days, over all blocks, with
//! at least two weeks each side ([`crate::daily::split`]), discounted when the low days
//! coincide with other meters' (weather, holidays) and when they do not lack energy overall
//! (a new electric car charging some days makes the other blocks' shares low too, but adds to
//! the day instead of taking from it).

use crate::JobError;
use crate::daily::{median, split};
use crate::query::{Query, dates, floats, ints, strings};
use std::collections::HashMap;

const BLOCKS: usize = 8;
/// kWh added to both sides of the ratio, so an idle block does not make an infinite log.
const EPS_KWH: f64 = 0.01;

/// Evidence of partial theft for one meter.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PartialEvidence {
    /// Local block (0 = 00–03 h, … 7 = 21–24 h).
    pub block: usize,
    /// First day index after the change.
    pub at: usize,
    /// Share of low days after − before, in [0, 1].
    pub rise: f64,
    /// Share of low days after the change.
    pub after: f64,
}

/// Per meter (in the order of `ids`), the strongest partial-theft evidence.
pub fn partial_theft(
    q: &Query,
    validated: bool,
    first_day: i64,
    n_days: usize,
    ids: &[String],
) -> Result<Vec<Option<PartialEvidence>>, JobError> {
    let view = if validated {
        "validated_local"
    } else {
        "readings_local"
    };
    let index: HashMap<&str, usize> = ids
        .iter()
        .enumerate()
        .map(|(i, s)| (s.as_str(), i))
        .collect();
    let mut blocks = vec![vec![[f64::NAN; BLOCKS]; n_days]; ids.len()];
    for_each_block(q, view, |m, d, k, v| {
        if let Some(&i) = index.get(m) {
            let day = d - first_day;
            if (0..n_days as i64).contains(&day) {
                blocks[i][day as usize][k] = v;
            }
        }
    })?;
    // ratios[k][i][d]
    let ratios: Vec<Vec<Vec<f64>>> = (0..BLOCKS)
        .map(|k| blocks.iter().map(|days| log_ratios(days, k)).collect())
        .collect();
    let mut best: Vec<Option<PartialEvidence>> = vec![None; ids.len()];
    for (k, per_meter) in ratios.iter().enumerate() {
        let typical: Vec<f64> = (0..n_days)
            .map(|d| {
                median(
                    per_meter
                        .iter()
                        .map(|x| x[d])
                        .filter(|v| v.is_finite())
                        .collect(),
                )
            })
            .collect();
        let lows: Vec<Vec<f64>> = per_meter
            .iter()
            .map(|x| {
                let z: Vec<f64> = x.iter().zip(&typical).map(|(v, t)| v - t).collect();
                let m = median(z.iter().copied().filter(|v| v.is_finite()).collect());
                z.iter()
                    .map(|v| {
                        if v.is_finite() {
                            f64::from(u8::from(*v < m - std::f64::consts::LN_2))
                        } else {
                            f64::NAN
                        }
                    })
                    .collect()
            })
            .collect();
        // The share of meters with a low day, per day: weather and holidays make many
        // households' evenings low on the same days, a bypass picks its days alone.
        let common: Vec<f64> = (0..n_days)
            .map(|d| crate::daily::mean(&lows.iter().map(|l| l[d]).collect::<Vec<_>>()))
            .collect();
        for (i, low) in lows.iter().enumerate() {
            let Some(mut cp) = split(low, |before, after| Some((after - before).max(0.0))) else {
                continue;
            };
            let shared = correlation(&low[cp.at..], &common[cp.at..]).max(0.0);
            cp.drop *= (1.0 - shared) * missing_energy(&blocks[i][cp.at..], &low[cp.at..]);
            if best[i].is_none_or(|b| cp.drop > b.rise) {
                best[i] = Some(PartialEvidence {
                    block: k,
                    at: cp.at,
                    rise: cp.drop,
                    after: cp.before + cp.drop,
                });
            }
        }
    }
    Ok(best)
}

/// Calls `each(meter, day, block, kWh)` for every meter, local day and 3-hour block
/// (0 = 00–03 h … 7 = 21–24 h) of `view` (`validated_local` or `readings_local`).
pub(crate) fn for_each_block(
    q: &Query,
    view: &str,
    mut each: impl FnMut(&str, i64, usize, f64),
) -> Result<(), JobError> {
    let sql = format!(
        "SELECT meter_id, day, CAST(date_part('hour', local_ts) AS BIGINT) / 3 AS block, sum(kwh) AS kwh \
         FROM {view} GROUP BY 1, 2, 3"
    );
    q.for_each(&sql, |b| {
        let (m, d, k, v) = (
            strings(b, "meter_id")?,
            dates(b, "day")?,
            ints(b, "block")?,
            floats(b, "kwh")?,
        );
        for r in 0..b.num_rows() {
            if let (Some(m), Some(d), Some(k), Some(v)) = (&m[r], d[r], k[r], v[r])
                && (0..BLOCKS as i64).contains(&k)
            {
                each(m, d, k as usize, v);
            }
        }
        Ok(())
    })
}

/// ln((block + ε) ÷ (rest of the day + ε)) per day (NaN for a day with a missing block or a
/// negative one).
fn log_ratios(days: &[[f64; BLOCKS]], k: usize) -> Vec<f64> {
    days.iter()
        .map(|b| {
            if b.iter().any(|v| !v.is_finite() || *v < 0.0) {
                return f64::NAN;
            }
            let rest: f64 = b.iter().sum::<f64>() - b[k];
            ((b[k] + EPS_KWH) / (rest + EPS_KWH)).ln()
        })
        .collect()
}

/// Whether the low days lack energy: 1 when the days with a low block consumed at least 10 %
/// less in all than the other days (the block's energy went unrecorded), falling to 0 when
/// they consumed as much or more (something else grew, as an electric car charging on some
/// days does).
fn missing_energy(days: &[[f64; BLOCKS]], low: &[f64]) -> f64 {
    let (mut low_sum, mut low_n, mut rest_sum, mut rest_n) = (0.0, 0usize, 0.0, 0usize);
    for (b, l) in days.iter().zip(low) {
        let total: f64 = b.iter().sum();
        if !total.is_finite() || !l.is_finite() {
            continue;
        }
        if *l > 0.5 {
            low_sum += total;
            low_n += 1;
        } else {
            rest_sum += total;
            rest_n += 1;
        }
    }
    if low_n == 0 || rest_n == 0 || rest_sum <= 0.0 {
        return 0.0;
    }
    let ratio = (low_sum / low_n as f64) / (rest_sum / rest_n as f64);
    ((1.0 - ratio) / 0.1).clamp(0.0, 1.0)
}

/// Pearson correlation over the days where both are finite (0 when undefined).
fn correlation(a: &[f64], b: &[f64]) -> f64 {
    let pairs: Vec<(f64, f64)> = a
        .iter()
        .zip(b)
        .filter(|(x, y)| x.is_finite() && y.is_finite())
        .map(|(x, y)| (*x, *y))
        .collect();
    let n = pairs.len() as f64;
    if n < 3.0 {
        return 0.0;
    }
    let (mx, my) = pairs
        .iter()
        .fold((0.0, 0.0), |acc, p| (acc.0 + p.0 / n, acc.1 + p.1 / n));
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (x, y) in &pairs {
        sxy += (x - mx) * (y - my);
        sxx += (x - mx) * (x - mx);
        syy += (y - my) * (y - my);
    }
    if sxx > 0.0 && syy > 0.0 {
        sxy / (sxx * syy).sqrt()
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn low_days_that_lack_energy_count_and_those_with_more_do_not() {
        let normal = [1.0, 1.0, 2.0, 3.0, 3.0, 4.0, 6.0, 2.0]; // 22 kWh
        let mut stolen = normal;
        stolen[6] = 1.0; // 17 kWh: 23 % less
        let mut charged = normal;
        charged[7] += 8.0; // an electric car: 30 kWh
        let low = [1.0, 0.0, 1.0, 0.0];
        assert_eq!(missing_energy(&[stolen, normal, stolen, normal], &low), 1.0);
        assert_eq!(
            missing_energy(&[charged, normal, charged, normal], &low),
            0.0
        );
        assert_eq!(missing_energy(&[normal; 4], &[0.0; 4]), 0.0);
    }

    #[test]
    fn stolen_evenings_on_some_days_make_low_days() {
        let day = [1.0, 1.0, 2.0, 3.0, 3.0, 4.0, 6.0, 2.0];
        let mut days = vec![day; 100];
        for (d, b) in days.iter_mut().enumerate().skip(60) {
            if d % 2 == 0 {
                b[6] *= 0.2;
            }
        }
        let r = log_ratios(&days, 6);
        assert!((r[0] - r[59]).abs() < 1e-12);
        assert!(r[60] < r[0] - std::f64::consts::LN_2 && (r[61] - r[0]).abs() < 1e-12);
        let mut missing = days.clone();
        missing[3][2] = f64::NAN;
        assert!(log_ratios(&missing, 6)[3].is_nan());
    }
}
