//! True consumption: per-slot load shapes per customer class and day type, daily factors for
//! weekday, holidays (esp. the Spring Festival shutdown), temperature (heating and AC), trend,
//! churn decline, vacations, ToU load shifting, EV charging and rooftop PV export; plus
//! multiplicative AR(1) noise from a precomputed normal table (one table lookup per reading).

use crate::calendar::{Calendar, DayType};
use crate::geography::{Class, Customer, Shape};
use crate::graph::{EV, SOLAR, Spell, TOU_PLAN};
use crate::rng::{Rng, powf, sin};
use crate::weather::Weather;

/// Per-slot shapes (each sums to 1 over a day, except `pv`, which is kWh per kW of panel).
pub struct Shapes {
    pub spd: usize,
    pub slot_h: f64,
    res: [Vec<f64>; 2],
    res_tou: [Vec<f64>; 2],
    res_cool: Vec<f64>,
    res_heat: Vec<f64>,
    office: [Vec<f64>; 2],
    retail: [Vec<f64>; 2],
    com_cool: Vec<f64>,
    com_heat: Vec<f64>,
    shift: [Vec<f64>; 3],
    pv: Vec<f64>,
}

fn to_slots(h: &[f64; 24], spd: usize) -> Vec<f64> {
    let mut v: Vec<f64> = (0..spd)
        .map(|s| {
            let x = (s as f64 + 0.5) * 24.0 / spd as f64 - 0.5;
            let x = if x < 0.0 { x + 24.0 } else { x };
            let i = x.floor() as usize % 24;
            let f = x - x.floor();
            h[i] * (1.0 - f) + h[(i + 1) % 24] * f
        })
        .collect();
    let s: f64 = v.iter().sum();
    v.iter_mut().for_each(|x| *x /= s);
    v
}

fn hours(spec: &[(usize, usize, f64)]) -> [f64; 24] {
    let mut h = [0.0; 24];
    for &(a, b, v) in spec {
        h[a..b].iter_mut().for_each(|x| *x = v);
    }
    h
}

/// Residential ToU: 15 % of the energy in 08–22 moves to the night valley, mostly 22–02.
fn tou_shift(b: &[f64], spd: usize) -> Vec<f64> {
    let hour = |s: usize| s * 24 / spd;
    let mut v = b.to_vec();
    let mut moved = 0.0;
    for (s, x) in v.iter_mut().enumerate() {
        if (8..22).contains(&hour(s)) {
            moved += *x * 0.15;
            *x *= 0.85;
        }
    }
    let w: Vec<f64> = (0..spd)
        .map(|s| match hour(s) {
            22 | 23 | 0 | 1 => 3.0,
            2..=7 => 1.0,
            _ => 0.0,
        })
        .collect();
    let ws: f64 = w.iter().sum();
    for (x, wi) in v.iter_mut().zip(&w) {
        *x += moved * wi / ws;
    }
    v
}

impl Shapes {
    pub fn new(interval_min: u32) -> Shapes {
        let spd = (1440 / interval_min) as usize;
        let res_work = [
            0.5, 0.4, 0.35, 0.33, 0.33, 0.4, 0.7, 1.1, 1.0, 0.7, 0.6, 0.65, 0.8, 0.7, 0.6, 0.6,
            0.7, 0.95, 1.4, 1.7, 1.75, 1.55, 1.2, 0.8,
        ];
        let res_off = [
            0.55, 0.45, 0.38, 0.35, 0.34, 0.36, 0.5, 0.8, 1.05, 1.1, 1.05, 1.05, 1.1, 0.95, 0.9,
            0.9, 0.95, 1.1, 1.45, 1.7, 1.75, 1.6, 1.3, 0.9,
        ];
        let res_cool = [
            1.0, 0.9, 0.8, 0.7, 0.6, 0.5, 0.3, 0.2, 0.2, 0.2, 0.25, 0.3, 0.4, 0.45, 0.5, 0.5, 0.5,
            0.6, 0.9, 1.2, 1.3, 1.3, 1.2, 1.1,
        ];
        let res_heat = [
            0.5, 0.4, 0.4, 0.4, 0.4, 0.5, 0.9, 1.2, 1.0, 0.6, 0.5, 0.5, 0.5, 0.4, 0.4, 0.4, 0.5,
            0.8, 1.2, 1.4, 1.4, 1.3, 1.0, 0.7,
        ];
        let office_work = [
            0.25, 0.25, 0.25, 0.25, 0.25, 0.27, 0.35, 0.7, 1.4, 1.7, 1.75, 1.65, 1.5, 1.65, 1.75,
            1.7, 1.6, 1.35, 0.9, 0.6, 0.45, 0.35, 0.3, 0.27,
        ];
        let office_off = hours(&[(0, 9, 0.3), (9, 18, 0.45), (18, 24, 0.3)]);
        let retail = [
            0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.5, 0.9, 1.3, 1.5, 1.6, 1.5, 1.4, 1.4, 1.5,
            1.7, 1.9, 1.9, 1.7, 1.3, 0.8, 0.45,
        ];
        let com_cool = [
            0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.5, 1.0, 1.3, 1.5, 1.6, 1.6, 1.7, 1.8, 1.8, 1.6,
            1.3, 0.8, 0.5, 0.3, 0.2, 0.1, 0.1,
        ];
        let com_heat = [
            0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.8, 1.6, 1.6, 1.4, 1.2, 1.1, 1.1, 1.0, 1.0, 1.0,
            0.9, 0.6, 0.4, 0.3, 0.2, 0.1, 0.1,
        ];
        let mut s3 = [1.0; 24];
        s3[7] = 0.85;
        s3[15] = 0.85;
        s3[23] = 0.85;
        let s2 = hours(&[
            (0, 6, 0.35),
            (6, 11, 1.3),
            (11, 13, 1.1),
            (13, 22, 1.3),
            (22, 24, 0.6),
        ]);
        let s1 = hours(&[
            (0, 7, 0.25),
            (7, 8, 0.6),
            (8, 12, 1.6),
            (12, 13, 1.1),
            (13, 17, 1.6),
            (17, 18, 0.9),
            (18, 24, 0.3),
        ]);
        let res = [to_slots(&res_work, spd), to_slots(&res_off, spd)];
        let res_tou = [tou_shift(&res[0], spd), tou_shift(&res[1], spd)];
        let slot_h = interval_min as f64 / 60.0;
        let pv = (0..spd)
            .map(|s| {
                let h = (s as f64 + 0.5) * slot_h;
                if (6.0..18.0).contains(&h) {
                    0.85 * slot_h * powf(sin(std::f64::consts::PI * (h - 6.0) / 12.0), 1.3)
                } else {
                    0.0
                }
            })
            .collect();
        Shapes {
            spd,
            slot_h,
            res,
            res_tou,
            res_cool: to_slots(&res_cool, spd),
            res_heat: to_slots(&res_heat, spd),
            office: [to_slots(&office_work, spd), to_slots(&office_off, spd)],
            retail: [to_slots(&retail, spd), to_slots(&retail, spd)],
            com_cool: to_slots(&com_cool, spd),
            com_heat: to_slots(&com_heat, spd),
            shift: [to_slots(&s1, spd), to_slots(&s2, spd), to_slots(&s3, spd)],
            pv,
        }
    }
}

/// A planned power cut: all customers of `area` draw nothing in `[from_slot, to_slot)` of day `day`.
#[derive(Debug, Clone)]
pub struct Outage {
    pub area: usize,
    pub day: usize,
    pub from_slot: usize,
    pub to_slot: usize,
}

pub struct LoadCtx<'a> {
    pub seed: u64,
    pub cal: &'a Calendar,
    pub weather: &'a Weather,
    pub shapes: &'a Shapes,
    pub norm: &'a [f64],
}

/// Daily energy multiplier of a shape family on a day type.
fn day_mult(shape: Shape, dt: DayType, spring: bool) -> f64 {
    let (work, weekend, holiday, sf) = match shape {
        Shape::Residential => (1.0, 1.08, 1.12, 0.85),
        Shape::Office => (1.0, 0.4, 0.3, 0.35),
        Shape::Retail => (1.0, 1.1, 1.15, 0.6),
        Shape::Shift(3) => (1.0, 0.95, 0.7, 0.3),
        Shape::Shift(2) => (1.0, 0.65, 0.4, 0.25),
        Shape::Shift(_) => (1.0, 0.3, 0.2, 0.15),
    };
    let m = match dt {
        DayType::Workday => work,
        DayType::Weekend => weekend,
        DayType::Holiday => holiday,
    };
    if spring { m * sf } else { m }
}

/// Fills `out` (days × slots, kWh per slot) with the customer's true net consumption; zero
/// where the account is not open.
pub fn true_series(
    ctx: &LoadCtx,
    c: &Customer,
    products: &[Option<Spell>; 5],
    outages: &[Outage],
    out: &mut Vec<f64>,
) {
    let sh = ctx.shapes;
    let spd = sh.spd;
    let n_days = ctx.cal.days.len();
    out.clear();
    out.resize(n_days * spd, 0.0);
    let mut r = Rng::derive(ctx.seed, "load", c.idx as u64);
    let (noise_sd, day_sd) = match c.class {
        Class::Residential => (0.28, 0.1),
        Class::Commercial => (0.12, 0.07),
        Class::Industrial => (0.07, 0.05),
    };
    let decline_days = r.int(60, 120) as f64;
    let solar_kw = match c.class {
        Class::Residential => r.range(3.0, 8.0),
        _ => r.range(20.0, 60.0),
    };
    let ev_kw = if c.class == Class::Residential {
        7.0
    } else {
        30.0
    };
    let norm = ctx.norm;
    let mut e = 0.0f64;
    let mut away = 0u32;
    for (di, day) in ctx.cal.days.iter().enumerate() {
        if !c.active(day.day) {
            continue;
        }
        let off = day.day_type != DayType::Workday;
        let t = ctx.weather.temp_c[c.region][di];
        let cd = (t - c.t_cool).max(0.0);
        let hd = (c.t_heat - t).max(0.0);
        let mut base = c.scale * day_mult(c.shape, day.day_type, day.spring_festival);
        base *= 1.0 + 0.03 * di as f64 / 365.0;
        base *= (1.0 + day_sd * norm[(r.next_u64() >> 52) as usize]).max(0.3);
        if let Some(close) = c.close_day {
            let left = (close - day.day) as f64;
            if c.churner && left < decline_days {
                base *= 1.0 - 0.55 * (1.0 - left / decline_days);
            }
        }
        if c.class == Class::Residential {
            if away == 0 && r.chance(0.004) {
                away = r.int(3, 10) as u32;
            }
            if away > 0 {
                away -= 1;
                base *= 0.2;
            }
        }
        let busy = if c.class == Class::Residential || !off {
            1.0
        } else {
            0.4
        };
        let cool_e = c.scale * c.cool * cd * busy;
        let heat_e = c.scale * c.heat * hd * busy;
        let (b, cs, hs): (&[f64], &[f64], &[f64]) = match c.shape {
            Shape::Residential => {
                let tou = products[TOU_PLAN].is_some_and(|s| s.on(day.day));
                let b = if tou {
                    &sh.res_tou[off as usize]
                } else {
                    &sh.res[off as usize]
                };
                (b, &sh.res_cool, &sh.res_heat)
            }
            Shape::Office => (&sh.office[off as usize], &sh.com_cool, &sh.com_heat),
            Shape::Retail => (&sh.retail[off as usize], &sh.com_cool, &sh.com_heat),
            Shape::Shift(k) => {
                let s = &sh.shift[(k as usize - 1).min(2)];
                (s, s, s)
            }
        };
        let row = &mut out[di * spd..(di + 1) * spd];
        for s in 0..spd {
            let z = norm[(r.next_u64() >> 52) as usize];
            e = 0.5 * e + 0.866 * z;
            let v = base * b[s] + cool_e * cs[s] + heat_e * hs[s];
            row[s] = v * (1.0 + noise_sd * e).max(0.05);
        }
        if products[EV].is_some_and(|s| s.on(day.day)) {
            if c.class == Class::Residential {
                if r.chance(0.45) {
                    let tou = products[TOU_PLAN].is_some_and(|s| s.on(day.day));
                    let start_h = if tou { 23 } else { 21 } as f64 + r.range(0.0, 2.0);
                    let len_h = r.range(1.5, 4.0);
                    for (s, x) in row.iter_mut().enumerate() {
                        let h = s as f64 * sh.slot_h;
                        let h = if h < 12.0 { h + 24.0 } else { h };
                        if h >= start_h && h < start_h + len_h {
                            *x += ev_kw * sh.slot_h;
                        }
                    }
                }
            } else if !off {
                let share = r.range(0.1, 0.5);
                for (s, x) in row.iter_mut().enumerate() {
                    let h = s as f64 * sh.slot_h;
                    if (9.0..18.0).contains(&h) {
                        *x += ev_kw * sh.slot_h * share;
                    }
                }
            }
        }
        if products[SOLAR].is_some_and(|s| s.on(day.day)) {
            let season = 0.8 + 0.2 * sin(std::f64::consts::TAU * (day.doy as f64 - 80.0) / 365.0);
            let k = solar_kw * season * ctx.weather.clear[c.region][di];
            for (x, p) in row.iter_mut().zip(&sh.pv) {
                *x -= k * p;
            }
        }
        for o in outages.iter().filter(|o| o.area == c.area && o.day == di) {
            row[o.from_slot..o.to_slot]
                .iter_mut()
                .for_each(|x| *x = 0.0);
        }
    }
}
