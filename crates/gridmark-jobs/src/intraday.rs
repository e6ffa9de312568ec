//! Partial theft: a bypass used only some hours on some days (evenings, working hours) hardly
//! moves daily totals, but on those days the stolen hours read far less than the rest of the
//! day.
//!
//! Each day is cut into eight 3-hour local blocks. For a block, a day's log ratio
//! ln(block ÷ rest of the day) is taken relative to the median over all meters that day (the
//! seasons move everyone's evening share), and the day is *low* when it falls more than ln 2
//! below the meter's own median for that block: the block read under half its usual share.
//! The evidence is the largest sustained rise in the share of low days, over all blocks, with
//! at least two weeks each side ([`crate::daily::split`]).

use crate::JobError;
use crate::daily::split;
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
            if let (Some(m), Some(d), Some(k), Some(v)) = (&m[r], d[r], k[r], v[r]) {
                let Some(&i) = index.get(m.as_str()) else {
                    continue;
                };
                let day = d - first_day;
                if (0..n_days as i64).contains(&day) && (0..BLOCKS as i64).contains(&k) {
                    blocks[i][day as usize][k as usize] = v;
                }
            }
        }
        Ok(())
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
        for (i, x) in per_meter.iter().enumerate() {
            let z: Vec<f64> = x.iter().zip(&typical).map(|(v, t)| v - t).collect();
            let m = median(z.iter().copied().filter(|v| v.is_finite()).collect());
            let low: Vec<f64> = z
                .iter()
                .map(|v| {
                    if v.is_finite() {
                        f64::from(u8::from(*v < m - std::f64::consts::LN_2))
                    } else {
                        f64::NAN
                    }
                })
                .collect();
            let Some(cp) = split(&low, |before, after| Some((after - before).max(0.0))) else {
                continue;
            };
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

fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let k = v.len() / 2;
    *v.select_nth_unstable_by(k, f64::total_cmp).1
}

#[cfg(test)]
mod tests {
    use super::*;

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
