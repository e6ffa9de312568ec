//! The customer graph (neighbour, family, social and referral ties with a preferential-attachment
//! heavy tail) and product adoption by Bass-like diffusion over it: a customer's weekly adoption
//! hazard is `p + q × (weighted share of its contacts who already adopted)`.

use crate::calendar::Calendar;
use crate::geography::{Class, Customer, Geography};
use crate::rng::Rng;
use std::collections::BTreeSet;

pub struct Edge {
    pub src: usize,
    pub dst: usize,
    pub kind: &'static str,
    pub weight: f64,
    pub since: i64,
}

pub const PRODUCTS: [&str; 5] = [
    "e_billing",
    "tou_plan",
    "ev_charging",
    "rooftop_solar",
    "smart_home",
];
pub const E_BILLING: usize = 0;
pub const TOU_PLAN: usize = 1;
pub const EV: usize = 2;
pub const SOLAR: usize = 3;

/// One adoption spell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spell {
    pub start: i64,
    pub end: Option<i64>,
}

impl Spell {
    pub fn on(&self, day: i64) -> bool {
        day >= self.start && self.end.is_none_or(|e| day < e)
    }
}

pub struct Social {
    pub edges: Vec<Edge>,
    /// `products[customer][product]`.
    pub products: Vec<[Option<Spell>; 5]>,
}

struct ProductDef {
    pre_weeks: i64,
    p_pre: f64,
    q_pre: f64,
    p_in: f64,
    q_in: f64,
    potential: f64,
    drop_in: f64,
    eligible: fn(&Customer) -> bool,
}

const DEFS: [ProductDef; 5] = [
    // e_billing: mature, most customers already on it
    ProductDef {
        pre_weeks: 260,
        p_pre: 0.004,
        q_pre: 0.03,
        p_in: 0.002,
        q_in: 0.02,
        potential: 0.85,
        drop_in: 0.0,
        eligible: |_| true,
    },
    // tou_plan: growing
    ProductDef {
        pre_weeks: 100,
        p_pre: 0.0008,
        q_pre: 0.02,
        p_in: 0.0015,
        q_in: 0.05,
        potential: 0.45,
        drop_in: 0.0,
        eligible: |c| c.class == Class::Residential,
    },
    // ev_charging: just introduced
    ProductDef {
        pre_weeks: 6,
        p_pre: 0.002,
        q_pre: 0.05,
        p_in: 0.002,
        q_in: 0.1,
        potential: 0.3,
        drop_in: 0.0,
        eligible: |c| c.class != Class::Industrial,
    },
    // rooftop_solar: growing slowly
    ProductDef {
        pre_weeks: 150,
        p_pre: 0.0004,
        q_pre: 0.015,
        p_in: 0.0006,
        q_in: 0.03,
        potential: 0.22,
        drop_in: 0.0,
        eligible: |c| c.class != Class::Industrial,
    },
    // smart_home: declining, adopters drop out
    ProductDef {
        pre_weeks: 200,
        p_pre: 0.003,
        q_pre: 0.03,
        p_in: 0.0002,
        q_in: 0.002,
        potential: 0.5,
        drop_in: 0.008,
        eligible: |c| c.class == Class::Residential,
    },
];

pub fn generate(seed: u64, geo: &Geography, cal: &Calendar) -> Social {
    let cs = &geo.customers;
    let n = cs.len();
    let start = cal.start_day;
    let end = cal.end_day();
    let mut rng = Rng::derive(seed, "graph", 0);
    let mut seen = BTreeSet::new();
    let mut edges = Vec::new();
    let since = |rng: &mut Rng, a: &Customer, b: &Customer| {
        let lo = a.open_day.max(b.open_day);
        let hi = if lo >= start {
            (lo + 120).min(end - 1)
        } else {
            start
        };
        rng.int(lo, hi.max(lo))
    };
    let mut add = |edges: &mut Vec<Edge>, src: usize, dst: usize, kind, weight: f64, since: i64| {
        if src != dst && seen.insert((src.min(dst), src.max(dst), kind)) {
            edges.push(Edge {
                src,
                dst,
                kind,
                weight: (weight * 100.0).round() / 100.0,
                since,
            });
        }
    };
    // neighbours within an area
    for a in &geo.areas {
        let size = a.end - a.first;
        if size < 2 {
            continue;
        }
        for i in a.first..a.end {
            for _ in 0..rng.int(1, 2) {
                let j = a.first + rng.below(size as u64) as usize;
                let s = since(&mut rng, &cs[i], &cs[j]);
                add(&mut edges, i, j, "neighbour", rng.range(0.2, 0.6), s);
            }
        }
    }
    // family ties within a region
    let mut by_region: Vec<Vec<usize>> = vec![Vec::new(); 5];
    for c in cs.iter().filter(|c| c.class == Class::Residential) {
        by_region[c.region].push(c.idx);
    }
    for c in cs.iter().filter(|c| c.class == Class::Residential) {
        if rng.chance(0.12) {
            let j = rng.pick(&by_region[c.region]);
            let s = since(&mut rng, c, &cs[j]);
            add(&mut edges, c.idx, j, "family", rng.range(0.7, 1.0), s);
        }
    }
    // preferential attachment: social ties and referrals, heavy-tailed degrees
    let mut order: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        order.swap(i, j);
    }
    order.sort_by_key(|&i| cs[i].open_day.max(start - 3650)); // older accounts join first
    let mut targets: Vec<usize> = Vec::new();
    for (k, &i) in order.iter().enumerate() {
        if k > 0 {
            let m = if rng.chance(0.45) { 2 } else { 1 };
            for _ in 0..m {
                let t = if rng.chance(0.1) {
                    order[rng.below(k as u64) as usize]
                } else {
                    targets[rng.below(targets.len() as u64) as usize]
                };
                let s = since(&mut rng, &cs[t], &cs[i]);
                if rng.chance(0.3) {
                    add(&mut edges, t, i, "referral", rng.range(0.5, 1.0), s);
                } else {
                    add(&mut edges, t, i, "social", rng.range(0.3, 0.9), s);
                }
                targets.push(t);
                targets.push(i);
            }
        }
        targets.push(i);
    }
    let mut adj = vec![Vec::new(); n];
    for e in &edges {
        adj[e.src].push((e.dst, e.weight));
        adj[e.dst].push((e.src, e.weight));
    }
    let products = diffuse(seed, cs, &adj, start, end);
    Social { edges, products }
}

fn diffuse(
    seed: u64,
    cs: &[Customer],
    adj: &[Vec<(usize, f64)>],
    start: i64,
    end: i64,
) -> Vec<[Option<Spell>; 5]> {
    let n = cs.len();
    let mut out = vec![[None; 5]; n];
    for (p, def) in DEFS.iter().enumerate() {
        let mut rng = Rng::derive(seed, "diffusion", p as u64);
        let potential: Vec<bool> = cs
            .iter()
            .map(|c| (def.eligible)(c) && rng.chance(def.potential))
            .collect();
        let mut adopted = vec![false; n];
        let mut week0 = start - def.pre_weeks * 7;
        while week0 < end {
            let in_period = week0 >= start;
            let (pp, qq) = if in_period {
                (def.p_in, def.q_in)
            } else {
                (def.p_pre, def.q_pre)
            };
            let snapshot = adopted.clone();
            for i in 0..n {
                let c = &cs[i];
                if !c.active(week0) {
                    continue;
                }
                if snapshot[i] {
                    let spell: &mut Spell = out[i][p].as_mut().expect("adopted");
                    if in_period && spell.end.is_none() && rng.chance(def.drop_in) {
                        spell.end = Some((week0 + rng.int(0, 6)).min(end - 1).max(spell.start + 1));
                    }
                    continue;
                }
                if !potential[i] {
                    continue;
                }
                let (mut w, mut wa) = (0.0, 0.0);
                for &(j, wt) in &adj[i] {
                    w += wt;
                    if snapshot[j] {
                        wa += wt;
                    }
                }
                let share = if w > 0.0 { wa / w } else { 0.0 };
                if rng.chance(pp + qq * share) {
                    adopted[i] = true;
                    let day = (week0 + rng.int(0, 6)).min(end - 1);
                    out[i][p] = Some(Spell {
                        start: day.max(c.open_day),
                        end: None,
                    });
                }
            }
            week0 += 7;
        }
        for (i, c) in cs.iter().enumerate() {
            if let (Some(s), Some(close)) = (out[i][p].as_mut(), c.close_day)
                && s.end.is_none_or(|e| e > close)
            {
                s.end = Some(close.max(s.start + 1));
            }
        }
    }
    out
}
