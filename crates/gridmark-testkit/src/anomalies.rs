//! Injected theft and meter faults. They act on the *recorded* series only (NaN = missing
//! interval); the true series, and so the area supply, is untouched. Every injection is written
//! to the truth with its interval and parameter.

use crate::TruthEvent;
use crate::geography::{Class, Customer};
use crate::rng::Rng;

/// Where the recorded series lives on the time axis.
pub struct Axis {
    pub t0_ms: i64,
    pub slot_ms: i64,
    pub spd: usize,
}

impl Axis {
    pub fn ts(&self, slot: usize) -> i64 {
        self.t0_ms + slot as i64 * self.slot_ms
    }
}

pub const FAULT_KINDS: [&str; 5] = ["stuck", "gap", "spike", "register_reset", "zero_run"];

/// Applies this meter's anomalies (if any) to `rec` within the active slots `[a, b)`.
pub fn inject(
    seed: u64,
    c: &Customer,
    axis: &Axis,
    rec: &mut [f64],
    a: usize,
    b: usize,
    truth: &mut Vec<TruthEvent>,
) {
    let mut r = Rng::derive(seed, "anomaly", c.idx as u64);
    let spd = axis.spd;
    if b < a + 4 * spd {
        return;
    }
    let len = (b - a) as f64;
    let ev = |kind: &str, s: usize, e: usize, param: f64, note: String| TruthEvent {
        meter_id: c.meter_id.clone(),
        customer_id: c.id.clone(),
        kind: kind.to_string(),
        start_ms: axis.ts(s),
        end_ms: axis.ts(e),
        param,
        note,
    };
    let theft_p = if c.class == Class::Industrial {
        0.01
    } else {
        0.026
    };
    if r.chance(theft_p) {
        if r.chance(0.6) {
            let s = a + (len * r.range(0.1, 0.7)) as usize;
            let f = (r.range(0.05, 0.4) * 1000.0).round() / 1000.0;
            rec[s..b].iter_mut().for_each(|x| *x *= f);
            truth.push(ev(
                "theft_bypass",
                s,
                b,
                f,
                format!(
                    "meter bypassed: records {:.0}% of the consumption from then on",
                    f * 100.0
                ),
            ));
        } else {
            let s = a + (len * r.range(0.05, 0.5)) as usize;
            let e = if r.chance(0.3) {
                (s + (len * 0.3) as usize).min(b)
            } else {
                b
            };
            let (h0, h1) = r.pick(&[(18usize, 23usize), (0, 6), (9, 17), (19, 24)]);
            let p_day = r.range(0.3, 0.7);
            let f = (r.range(0.1, 0.5) * 1000.0).round() / 1000.0;
            let (s0, s1) = (h0 * spd / 24, h1 * spd / 24);
            let mut days = 0;
            let mut d = s / spd;
            while d * spd < e {
                if r.chance(p_day) {
                    days += 1;
                    let (lo, hi) = ((d * spd + s0).max(s), (d * spd + s1).min(e));
                    if lo < hi {
                        rec[lo..hi].iter_mut().for_each(|x| *x *= f);
                    }
                }
                d += 1;
            }
            truth.push(ev(
                "theft_partial",
                s,
                e,
                f,
                format!(
                    "local hours {h0:02}-{h1:02} on {days} days (~{:.0}% of days): records {:.0}%",
                    p_day * 100.0,
                    f * 100.0
                ),
            ));
        }
    }
    if !r.chance(0.03) {
        return;
    }
    let n_faults = if r.chance(0.2) { 2 } else { 1 };
    for _ in 0..n_faults {
        let kind = r.pick(&FAULT_KINDS);
        let pick_run = |r: &mut Rng, min: usize, max: usize| {
            let n = (r.int(min as i64, max as i64) as usize).min(b - a - 1);
            let s = a + r.below((b - a - n) as u64) as usize;
            (s, s + n)
        };
        match kind {
            "stuck" => {
                let (s, e) = pick_run(&mut r, spd / 4, 3 * spd);
                let v = if rec[s].is_nan() {
                    0.0
                } else {
                    (rec[s] * 1000.0).round() / 1000.0
                };
                rec[s..e].iter_mut().for_each(|x| *x = v);
                truth.push(ev(
                    "stuck",
                    s,
                    e,
                    v,
                    format!("same value repeated for {} intervals", e - s),
                ));
            }
            "gap" => {
                let (s, e) = pick_run(&mut r, spd / 12, 5 * spd);
                rec[s..e].iter_mut().for_each(|x| *x = f64::NAN);
                truth.push(ev(
                    "gap",
                    s,
                    e,
                    (e - s) as f64,
                    format!("{} intervals missing", e - s),
                ));
            }
            "zero_run" => {
                let (s, e) = pick_run(&mut r, spd / 4, 7 * spd);
                rec[s..e].iter_mut().for_each(|x| *x = 0.0);
                truth.push(ev(
                    "zero_run",
                    s,
                    e,
                    (e - s) as f64,
                    format!("{} intervals read zero", e - s),
                ));
            }
            "spike" => {
                for _ in 0..r.int(1, 3) {
                    let s = a + r.below((b - a) as u64) as usize;
                    let base = if rec[s].is_nan() { 0.0 } else { rec[s].abs() };
                    let v = ((base * r.range(30.0, 120.0) + r.range(50.0, 300.0)) * 1000.0).round()
                        / 1000.0;
                    rec[s] = v;
                    truth.push(ev(
                        "spike",
                        s,
                        s + 1,
                        v,
                        "single huge interval value".to_string(),
                    ));
                }
            }
            _ => {
                let s = a + r.below((b - a) as u64) as usize;
                let v = -(r.range(3000.0, 90000.0) * 100.0).round() / 100.0;
                rec[s] = v;
                truth.push(ev(
                    "register_reset",
                    s,
                    s + 1,
                    v,
                    "cumulative register reset: one large negative interval".to_string(),
                ));
            }
        }
    }
}
