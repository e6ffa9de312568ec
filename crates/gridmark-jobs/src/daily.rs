//! Every meter's daily energy as dense rows on one day axis, with each meter's customer and
//! transformer area, and each area's supply: the shared input of theft scoring and line loss.
//!
//! Validated readings are used when a VEE run has written them, raw readings otherwise; the
//! source is named in every report.

use crate::JobError;
use crate::query::{Query, dates, floats, ints, strings};
use gridmark_core::civil::format_date;
use std::collections::HashMap;

/// Whether a VEE run has written `readings_validated`.
pub fn has_validated(q: &Query) -> Result<bool, JobError> {
    Ok(q.collect("SELECT count(*) AS n FROM readings_validated")?
        .first()
        .map(|b| ints(b, "n"))
        .transpose()?
        .and_then(|v| v.into_iter().next().flatten())
        .unwrap_or(0)
        > 0)
}

/// Customer and area of a meter.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MeterDim {
    pub customer_id: Option<String>,
    pub area_id: Option<String>,
}

/// Meters × days of kWh (NaN = no usable reading that day).
#[derive(Debug, Clone)]
pub struct DailyEnergy {
    /// `daily_energy_validated` or `daily_energy`.
    pub source: &'static str,
    /// First day (days since 1970-01-01).
    pub first_day: i64,
    pub n_days: usize,
    /// Meter ids, sorted.
    pub ids: Vec<String>,
    pub rows: Vec<Vec<f64>>,
    pub dims: HashMap<String, MeterDim>,
}

impl DailyEnergy {
    /// Loads every meter's daily energy. A day with under half the meter's usual count of
    /// readings is missing, not low.
    pub fn load(q: &Query, job: &str) -> Result<Self, JobError> {
        let source = if has_validated(q)? {
            "daily_energy_validated"
        } else {
            "daily_energy"
        };
        let mut per_meter: HashMap<String, Vec<(i64, f64, i64)>> = HashMap::new();
        let (mut lo, mut hi) = (i64::MAX, i64::MIN);
        q.for_each(
            &format!("SELECT meter_id, day, kwh, readings FROM {source}"),
            |b| {
                let (ids, days, kwh, n) = (
                    strings(b, "meter_id")?,
                    dates(b, "day")?,
                    floats(b, "kwh")?,
                    ints(b, "readings")?,
                );
                for i in 0..b.num_rows() {
                    if let (Some(id), Some(d), Some(v)) = (&ids[i], days[i], kwh[i]) {
                        lo = lo.min(d);
                        hi = hi.max(d);
                        per_meter
                            .entry(id.clone())
                            .or_default()
                            .push((d, v, n[i].unwrap_or(0)));
                    }
                }
                Ok(())
            },
        )?;
        if per_meter.is_empty() {
            return Err(JobError::invalid(
                job,
                "the lake has no readings (import readings first)",
            ));
        }
        let n_days = (hi - lo + 1) as usize;
        let mut ids: Vec<String> = per_meter.keys().cloned().collect();
        ids.sort();
        let rows = ids
            .iter()
            .map(|id| {
                let days = &per_meter[id];
                let full = days.iter().map(|d| d.2).max().unwrap_or(0);
                let mut row = vec![f64::NAN; n_days];
                for &(d, v, n) in days {
                    if n * 2 >= full {
                        row[(d - lo) as usize] = v;
                    }
                }
                row
            })
            .collect();
        let mut dims = HashMap::new();
        for b in q.collect("SELECT meter_id, customer_id, area_id FROM meter_dims")? {
            let (m, c, a) = (
                strings(&b, "meter_id")?,
                strings(&b, "customer_id")?,
                strings(&b, "area_id")?,
            );
            for ((m, customer_id), area_id) in m.into_iter().zip(c).zip(a) {
                if let Some(m) = m {
                    dims.insert(
                        m,
                        MeterDim {
                            customer_id,
                            area_id,
                        },
                    );
                }
            }
        }
        Ok(DailyEnergy {
            source,
            first_day: lo,
            n_days,
            ids,
            rows,
            dims,
        })
    }

    pub fn dim(&self, meter: &str) -> MeterDim {
        self.dims.get(meter).cloned().unwrap_or_default()
    }

    pub fn day_labels(&self) -> Vec<String> {
        (0..self.n_days as i64)
            .map(|d| format_date(self.first_day + d))
            .collect()
    }

    /// Indices of the meters of each area.
    pub fn area_members(&self) -> HashMap<String, Vec<usize>> {
        let mut out: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, id) in self.ids.iter().enumerate() {
            if let Some(a) = self.dims.get(id).and_then(|d| d.area_id.clone()) {
                out.entry(a).or_default().push(i);
            }
        }
        out
    }

    /// Per area: (supply, metered) kWh per day on this axis. Metered is the sum of the area's
    /// meters, a meter with no reading that day (not yet connected, closed) counting zero;
    /// supply is NaN on days the supply meter has nothing.
    pub fn area_balance(&self, q: &Query) -> Result<HashMap<String, AreaBalance>, JobError> {
        let mut out: HashMap<String, AreaBalance> = HashMap::new();
        for (area, members) in self.area_members() {
            let mut metered = vec![0.0; self.n_days];
            for &i in &members {
                for (s, x) in metered.iter_mut().zip(&self.rows[i]) {
                    if x.is_finite() {
                        *s += x;
                    }
                }
            }
            out.insert(
                area,
                AreaBalance {
                    supply: vec![f64::NAN; self.n_days],
                    metered,
                    members,
                },
            );
        }
        for b in q.collect("SELECT area_id, day, supply_kwh FROM area_daily_supply")? {
            let (a, d, supply) = (
                strings(&b, "area_id")?,
                dates(&b, "day")?,
                floats(&b, "supply_kwh")?,
            );
            for i in 0..b.num_rows() {
                if let (Some(a), Some(d), Some(s)) = (&a[i], d[i], supply[i]) {
                    let k = d - self.first_day;
                    if let (Some(bal), true) = (
                        out.get_mut(a.as_str()),
                        (0..self.n_days as i64).contains(&k),
                    ) {
                        bal.supply[k as usize] = s;
                    }
                }
            }
        }
        Ok(out)
    }
}

/// One area's daily energy balance.
#[derive(Debug, Clone, PartialEq)]
pub struct AreaBalance {
    pub supply: Vec<f64>,
    pub metered: Vec<f64>,
    /// Indices (into [`DailyEnergy::ids`]) of the area's meters.
    pub members: Vec<usize>,
}

impl AreaBalance {
    /// supply − metered per day (NaN without supply).
    pub fn loss(&self) -> Vec<f64> {
        self.supply
            .iter()
            .zip(&self.metered)
            .map(|(s, m)| s - m)
            .collect()
    }

    /// Loss above the area's usual rate: loss − median(rate) × supply. Technical loss follows
    /// the load through the seasons; what is left is loss nobody accounts for.
    pub fn excess_loss(&self) -> Vec<f64> {
        let loss = self.loss();
        let rates: Vec<f64> = loss
            .iter()
            .zip(&self.supply)
            .filter(|(l, s)| l.is_finite() && **s > 0.0)
            .map(|(l, s)| l / s)
            .collect();
        if rates.is_empty() {
            return loss;
        }
        let median = median(rates);
        loss.iter()
            .zip(&self.supply)
            .map(|(l, s)| l - median * s)
            .collect()
    }
}

/// Days each side of a change point.
const MIN_SIDE_DAYS: usize = 14;

/// A meter's largest sustained fall and what its area's loss did at the same time.
#[derive(Debug, Clone, PartialEq)]
pub struct DropEvidence {
    /// Index of the first day after the change.
    pub at: usize,
    /// (mean before − mean after) ÷ mean before, of consumption relative to the common shape.
    pub drop: f64,
    pub kwh_before: f64,
    pub kwh_after: f64,
    /// kWh/day the meter no longer records: its earlier relative level times the common shape,
    /// minus what it read.
    pub fell_kwh: f64,
    /// Rise of the area's daily loss at the same change, kWh/day.
    pub loss_rise: f64,
    /// min(fell, rise) ÷ max(fell, rise) when both are positive: 1 when the area lost exactly
    /// what the meter stopped recording.
    pub explained: f64,
}

/// The change point of `x` relative to `season` (so spring's end of heating is not a drop),
/// with the area's loss around it when given.
pub fn drop_evidence(x: &[f64], season: &[f64], area_loss: Option<&[f64]>) -> Option<DropEvidence> {
    let relative: Vec<f64> = x
        .iter()
        .zip(season)
        .map(|(x, r)| if *r > 0.0 { x / r } else { f64::NAN })
        .collect();
    let cp = change_point(&relative)?;
    let fell = mean(
        &season[cp.at..]
            .iter()
            .zip(&x[cp.at..])
            .map(|(r, x)| cp.before * r - x)
            .collect::<Vec<_>>(),
    );
    let (mut rise, mut explained) = (0.0, 0.0);
    if let Some(loss) = area_loss {
        let (before, after) = (mean(&loss[..cp.at]), mean(&loss[cp.at..]));
        if before.is_finite() && after.is_finite() {
            rise = after - before;
            // Alike in size: a loss rise far larger than the fall is someone else's.
            if fell > 0.0 && rise > 0.0 {
                explained = rise.min(fell) / rise.max(fell);
            }
        }
    }
    Some(DropEvidence {
        at: cp.at,
        drop: cp.drop,
        kwh_before: mean(&x[..cp.at]),
        kwh_after: mean(&x[cp.at..]),
        fell_kwh: fell,
        loss_rise: rise,
        explained,
    })
}

/// Per day, the median over meters of consumption relative to each meter's own mean: the
/// season, weekdays and holidays everyone shares.
pub fn common_shape(rows: &[Vec<f64>]) -> Vec<f64> {
    let n_days = rows.first().map_or(0, Vec::len);
    let means: Vec<f64> = rows.iter().map(|r| mean(r)).collect();
    (0..n_days)
        .map(|t| {
            median(
                rows.iter()
                    .zip(&means)
                    .filter(|(r, m)| **m > 0.0 && r[t].is_finite())
                    .map(|(r, m)| r[t] / m)
                    .collect(),
            )
        })
        .collect()
}

pub(crate) struct ChangePoint {
    pub(crate) at: usize,
    pub(crate) before: f64,
    /// The gain of the split (for a drop: the relative fall).
    pub(crate) drop: f64,
}

/// The split that maximises the sustained fall (mean before − mean after) ÷ mean before.
fn change_point(x: &[f64]) -> Option<ChangePoint> {
    split(x, |before, after| {
        (before > 0.0).then(|| ((before - after) / before).clamp(0.0, 1.0))
    })
}

/// The split of `x` (at least [`MIN_SIDE_DAYS`] each side) that maximises
/// `gain(mean before, mean after)`; `None` from `gain` skips a split.
pub(crate) fn split(x: &[f64], gain: impl Fn(f64, f64) -> Option<f64>) -> Option<ChangePoint> {
    let n = x.len();
    if n < 2 * MIN_SIDE_DAYS {
        return None;
    }
    let mut sum = vec![0.0; n + 1];
    let mut cnt = vec![0usize; n + 1];
    for (i, v) in x.iter().enumerate() {
        let ok = v.is_finite();
        sum[i + 1] = sum[i] + if ok { *v } else { 0.0 };
        cnt[i + 1] = cnt[i] + usize::from(ok);
    }
    let mut best: Option<ChangePoint> = None;
    for at in MIN_SIDE_DAYS..=n - MIN_SIDE_DAYS {
        let (cb, ca) = (cnt[at], cnt[n] - cnt[at]);
        if cb < MIN_SIDE_DAYS / 2 || ca < MIN_SIDE_DAYS / 2 {
            continue;
        }
        let before = sum[at] / cb as f64;
        let after = (sum[n] - sum[at]) / ca as f64;
        let Some(drop) = gain(before, after) else {
            continue;
        };
        if best.as_ref().is_none_or(|b| drop > b.drop) {
            best = Some(ChangePoint { at, before, drop });
        }
    }
    best
}

/// The upper median (NaN for none): the value at rank n/2.
pub fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let k = v.len() / 2;
    *v.select_nth_unstable_by(k, f64::total_cmp).1
}

/// Mean of the finite values (NaN when there are none).
pub fn mean(x: &[f64]) -> f64 {
    let (s, n) = x
        .iter()
        .filter(|v| v.is_finite())
        .fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
    if n == 0 { f64::NAN } else { s / n as f64 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn change_point_finds_a_sustained_drop_and_ignores_noise() {
        let mut x: Vec<f64> = (0..100).map(|i| 10.0 + (i % 7) as f64 * 0.1).collect();
        for v in &mut x[60..] {
            *v *= 0.3;
        }
        let cp = change_point(&x).unwrap();
        assert_eq!(cp.at, 60);
        assert!((cp.drop - 0.7).abs() < 0.01);
        let flat: Vec<f64> = (0..100).map(|i| 10.0 + (i % 7) as f64 * 0.1).collect();
        assert!(change_point(&flat).unwrap().drop < 0.05);
        assert!(change_point(&x[..20]).is_none());
    }

    #[test]
    fn a_fall_that_reappears_as_area_loss_is_explained() {
        let season: Vec<f64> = (0..120)
            .map(|i| 1.0 + 0.3 * (i as f64 / 20.0).sin())
            .collect();
        let mut x: Vec<f64> = season.iter().map(|r| 10.0 * r).collect();
        let mut loss: Vec<f64> = vec![2.0; 120];
        for t in 70..120 {
            loss[t] += x[t] * 0.6;
            x[t] *= 0.4;
        }
        let e = drop_evidence(&x, &season, Some(&loss)).unwrap();
        assert_eq!(e.at, 70);
        assert!((e.drop - 0.6).abs() < 1e-9, "{e:?}");
        assert!(e.explained > 0.99, "{e:?}");
        let e = drop_evidence(&x, &season, Some(&[2.0; 120])).unwrap();
        assert_eq!(e.explained, 0.0);
    }
}
