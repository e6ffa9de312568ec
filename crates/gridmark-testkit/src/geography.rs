//! Regions, transformer areas (台区), service halls and the customer archive.

use crate::calendar::Calendar;
use crate::rng::Rng;
use crate::text;
use gridmark_core::civil::{civil_from_days, days_from_civil};

pub struct Region {
    pub id: &'static str,
    pub zh: &'static str,
    pub lat: f64,
    pub lon: f64,
    /// Share of customers.
    pub share: f64,
    /// Service halls (Xiaoshan is deliberately under-served).
    pub halls: usize,
    /// Temperature offset against the city, °C.
    pub temp_offset: f64,
    /// Administrative division code (first 6 digits of ID numbers).
    pub code: &'static str,
    pub roads: &'static [&'static str],
}

pub static REGIONS: [Region; 5] = [
    Region {
        id: "xihu",
        zh: "西湖区",
        lat: 30.26,
        lon: 120.13,
        share: 0.18,
        halls: 3,
        temp_offset: -0.3,
        code: "330106",
        roads: &["文三路", "天目山路", "古墩路", "学院路", "文一西路"],
    },
    Region {
        id: "gongshu",
        zh: "拱墅区",
        lat: 30.32,
        lon: 120.14,
        share: 0.17,
        halls: 2,
        temp_offset: 0.2,
        code: "330105",
        roads: &["莫干山路", "湖墅南路", "丽水路", "大关路"],
    },
    Region {
        id: "binjiang",
        zh: "滨江区",
        lat: 30.20,
        lon: 120.21,
        share: 0.15,
        halls: 2,
        temp_offset: 0.1,
        code: "330108",
        roads: &["江南大道", "滨盛路", "长河路", "网商路"],
    },
    Region {
        id: "xiaoshan",
        zh: "萧山区",
        lat: 30.16,
        lon: 120.26,
        share: 0.30,
        halls: 1,
        temp_offset: 0.4,
        code: "330109",
        roads: &[
            "市心中路",
            "金城路",
            "建设一路",
            "北干路",
            "萧绍路",
            "通惠路",
        ],
    },
    Region {
        id: "yuhang",
        zh: "余杭区",
        lat: 30.42,
        lon: 120.30,
        share: 0.20,
        halls: 2,
        temp_offset: -0.5,
        code: "330110",
        roads: &["文一西路", "临平大道", "星桥路", "良渚路"],
    },
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    Residential,
    Commercial,
    Industrial,
}

impl Class {
    pub fn as_str(self) -> &'static str {
        match self {
            Class::Residential => "residential",
            Class::Commercial => "commercial",
            Class::Industrial => "industrial",
        }
    }
}

/// Which load shape family a customer follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    Residential,
    Office,
    Retail,
    /// Industrial with 1, 2 or 3 shifts.
    Shift(u8),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayHabit {
    Prompt,
    Late,
    NonPayer,
}

pub struct Area {
    pub id: String,
    pub name: String,
    pub region: usize,
    pub lat: f64,
    pub lon: f64,
    pub capacity_kva: f64,
    /// Technical loss rate of the area (fixed, 2.5–5 %); slightly load dependent in use.
    pub loss: f64,
    /// Customer index range.
    pub first: usize,
    pub end: usize,
}

pub struct Hall {
    pub id: String,
    pub name: String,
    pub region: usize,
    pub lat: f64,
    pub lon: f64,
    pub opened: i64,
}

pub struct Customer {
    pub idx: usize,
    pub id: String,
    pub meter_id: String,
    pub region: usize,
    pub area: usize,
    pub class: Class,
    pub shape: Shape,
    pub name: String,
    pub english: bool,
    pub phone: String,
    pub id_number: String,
    pub address: String,
    pub industry: &'static str,
    pub contract_kw: f64,
    pub lat: f64,
    pub lon: f64,
    pub open_day: i64,
    pub close_day: Option<i64>,
    pub churner: bool,
    pub suspended: bool,
    /// Mean daily kWh at mild weather on a working day.
    pub scale: f64,
    /// Share of daily energy added per °C above `t_cool` / below `t_heat`.
    pub cool: f64,
    pub heat: f64,
    pub t_cool: f64,
    pub t_heat: f64,
    /// Tariff before any product changes it (RES_TIER, COM_TOU, COM_FLAT, IND_TOU).
    pub base_tariff: &'static str,
    pub pay: PayHabit,
    /// Preference for digital channels, 0..1.
    pub digital: f64,
    pub install_day: i64,
}

impl Customer {
    /// Active on local day `day`.
    pub fn active(&self, day: i64) -> bool {
        day >= self.open_day && self.close_day.is_none_or(|c| day < c)
    }
}

pub struct Geography {
    pub areas: Vec<Area>,
    pub halls: Vec<Hall>,
    pub customers: Vec<Customer>,
}

const STD_KVA: [f64; 11] = [
    200.0, 315.0, 400.0, 500.0, 630.0, 800.0, 1000.0, 1250.0, 1600.0, 2000.0, 2500.0,
];

pub fn generate(seed: u64, n: usize, cal: &Calendar) -> Geography {
    let mut rng = Rng::derive(seed, "geography", 0);
    let start = cal.start_day;
    let end = cal.end_day();
    let period = (end - start).max(1);
    // areas of 30–80 customers, regions drawn by share
    let shares: Vec<f64> = REGIONS.iter().map(|r| r.share).collect();
    let mut areas = Vec::new();
    let mut first = 0;
    let mut per_region = [0usize; 5];
    while first < n {
        let size = (rng.int(30, 80) as usize).min(n - first);
        let size = if n - first - size < 15 {
            n - first
        } else {
            size
        };
        // the region furthest below its share gets the next area: proportional and stable
        let k = areas.len() + 1;
        let region = (0..REGIONS.len())
            .max_by(|&a, &b| {
                let da = shares[a] * k as f64 - per_region[a] as f64;
                let db = shares[b] * k as f64 - per_region[b] as f64;
                da.total_cmp(&db).then(b.cmp(&a))
            })
            .unwrap_or(0);
        per_region[region] += 1;
        let r = &REGIONS[region];
        areas.push(Area {
            id: format!("A{k:04}"),
            name: format!("{}{}{}号台区", r.zh, rng.pick(r.roads), per_region[region]),
            region,
            lat: r.lat + 0.035 * rng.normal(),
            lon: r.lon + 0.035 * rng.normal(),
            capacity_kva: 0.0,
            loss: rng.range(0.025, 0.05),
            first,
            end: first + size,
        });
        first += size;
    }
    let mut customers = Vec::with_capacity(n);
    for (ai, a) in areas.iter().enumerate() {
        for idx in a.first..a.end {
            let mut r = Rng::derive(seed, "customer", idx as u64);
            customers.push(customer(&mut r, idx, ai, a, start, end, period));
        }
    }
    for a in &mut areas {
        let kw: f64 = customers[a.first..a.end]
            .iter()
            .map(|c| c.contract_kw)
            .sum();
        let need = kw * 0.45;
        a.capacity_kva = *STD_KVA.iter().find(|&&k| k >= need).unwrap_or(&2500.0);
    }
    let mut halls = Vec::new();
    for (ri, r) in REGIONS.iter().enumerate() {
        for h in 0..r.halls {
            let mut hr = Rng::derive(seed, "hall", (ri * 10 + h) as u64);
            let k = halls.len() + 1;
            halls.push(Hall {
                id: format!("H{k:02}"),
                name: format!("{}{}营业厅", r.zh, hr.pick(r.roads)),
                region: ri,
                lat: r.lat + 0.02 * hr.normal(),
                lon: r.lon + 0.02 * hr.normal(),
                opened: days_from_civil(hr.int(2003, 2020), hr.int(1, 12) as u32, 1),
            });
        }
    }
    Geography {
        areas,
        halls,
        customers,
    }
}

fn customer(
    r: &mut Rng,
    idx: usize,
    ai: usize,
    a: &Area,
    start: i64,
    end: i64,
    period: i64,
) -> Customer {
    let reg = &REGIONS[a.region];
    let class = match r.weighted(&[0.85, 0.12, 0.03]) {
        0 => Class::Residential,
        1 => Class::Commercial,
        _ => Class::Industrial,
    };
    let (industry, shape) = match class {
        Class::Residential => ("household", Shape::Residential),
        Class::Commercial => {
            let i = r.pick(&[
                "retail",
                "restaurant",
                "office",
                "hotel",
                "school",
                "office",
            ]);
            let s = if matches!(i, "retail" | "restaurant" | "hotel") {
                Shape::Retail
            } else {
                Shape::Office
            };
            (i, s)
        }
        Class::Industrial => {
            let i = r.pick(&[
                "textile",
                "chemical",
                "machinery",
                "electronics",
                "food_processing",
                "printing",
            ]);
            let s = match i {
                "textile" | "chemical" => 3,
                "machinery" | "electronics" => 2,
                _ => 1,
            };
            (i, Shape::Shift(s))
        }
    };
    let english = class == Class::Residential && r.chance(0.08);
    let birth_year = match class {
        Class::Residential => r.int(1940, 2002),
        _ => r.int(1990, 2022),
    };
    let name = match class {
        Class::Residential if english => text::english_name(r),
        Class::Residential => text::chinese_name(r),
        _ => text::company_name(r, reg.zh, industry),
    };
    let phone = match class {
        Class::Residential => format!(
            "1{}{:09}",
            r.pick(&["38", "39", "58", "59", "36", "77", "86", "88", "89", "99"]),
            r.below(1_000_000_000)
        )[..11]
            .to_string(),
        _ => format!("0571-8{:07}", r.below(10_000_000)),
    };
    let id_number = match class {
        Class::Residential => {
            let bd = days_from_civil(birth_year, 1, 1) + r.int(0, 364);
            resident_id(reg.code, bd, r.below(1000) as u32)
        }
        _ => credit_code(r, reg.code),
    };
    let road = r.pick(reg.roads);
    let address = match class {
        Class::Residential => format!(
            "浙江省杭州市{}{}{}号{}幢{}单元{}室",
            reg.zh,
            road,
            r.int(1, 999),
            r.int(1, 30),
            r.int(1, 4),
            r.int(1, 33) * 100 + r.int(1, 4)
        ),
        _ => format!("浙江省杭州市{}{}{}号", reg.zh, road, r.int(1, 1999)),
    };
    let (scale, cool, heat, contract_kw) = match class {
        Class::Residential => {
            let s = r.lognormal(7.5f64.ln(), 0.45);
            (
                s,
                r.range(0.04, 0.11),
                r.range(0.02, 0.06),
                (s * 0.9).clamp(4.0, 20.0).round(),
            )
        }
        Class::Commercial => {
            let s = r.lognormal(120f64.ln(), 0.7);
            (
                s,
                r.range(0.025, 0.06),
                r.range(0.01, 0.03),
                (s / 6.0).clamp(10.0, 400.0).round(),
            )
        }
        Class::Industrial => {
            let s = r.lognormal(2500f64.ln(), 0.8);
            (
                s,
                r.range(0.003, 0.012),
                r.range(0.0, 0.006),
                (s / 14.0).clamp(100.0, 5000.0).round(),
            )
        }
    };
    // New connections open during the period; ~5 % of the others churn before its end.
    let new_conn = period > 40 && r.chance(0.05);
    let open_day = if new_conn {
        start + r.int(1, period - 30)
    } else {
        start - r.int(40, 365 * 25)
    };
    let churner = !new_conn && period > 60 && r.chance(0.055);
    let close_day = churner.then(|| start + r.int(period / 3, period - 1));
    let pay = match r.weighted(&[0.80, 0.17, 0.03]) {
        0 => PayHabit::Prompt,
        1 => PayHabit::Late,
        _ => PayHabit::NonPayer,
    };
    let suspended = close_day.is_none() && pay == PayHabit::NonPayer && r.chance(0.3);
    let age = civil_from_days(start).0 - birth_year;
    let digital = match class {
        Class::Residential => (1.05 - age as f64 / 85.0 + 0.15 * r.normal()).clamp(0.03, 0.95),
        _ => (0.6 + 0.15 * r.normal()).clamp(0.1, 0.95),
    };
    let base_tariff = match class {
        Class::Residential => "RES_TIER",
        Class::Commercial if r.chance(0.35) => "COM_FLAT",
        Class::Commercial => "COM_TOU",
        Class::Industrial => "IND_TOU",
    };
    let _ = end;
    Customer {
        idx,
        id: format!("C{:07}", idx + 1),
        meter_id: format!("M{:07}", idx + 1),
        region: a.region,
        area: ai,
        class,
        shape,
        name,
        english,
        phone,
        id_number,
        address,
        industry,
        contract_kw,
        lat: ((a.lat + 0.004 * r.normal()) * 1e6).round() / 1e6,
        lon: ((a.lon + 0.004 * r.normal()) * 1e6).round() / 1e6,
        open_day,
        close_day,
        churner,
        suspended,
        scale,
        cool,
        heat,
        t_cool: r.range(23.5, 26.0),
        t_heat: r.range(12.0, 15.0),
        base_tariff,
        pay,
        digital,
        install_day: open_day.max(start - r.int(30, 3650)),
    }
}

/// An 18-digit resident identity number with a valid ISO 7064 MOD 11-2 check character.
pub fn resident_id(code: &str, birth_day: i64, seq: u32) -> String {
    let (y, m, d) = civil_from_days(birth_day);
    let body = format!("{code}{y:04}{m:02}{d:02}{seq:03}");
    const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = body
        .bytes()
        .zip(W)
        .map(|(b, w)| (b - b'0') as u32 * w)
        .sum();
    let check = b"10X98765432"[(sum % 11) as usize] as char;
    format!("{body}{check}")
}

/// An 18-character unified social credit code (GB 32100) with a valid check character.
pub fn credit_code(r: &mut Rng, region_code: &str) -> String {
    const CH: &[u8] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
    const W: [usize; 17] = [
        1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
    ];
    let mut body = format!("91{region_code}");
    for _ in 0..9 {
        body.push(CH[r.below(31) as usize] as char);
    }
    let sum: usize = body
        .bytes()
        .zip(W)
        .map(|(b, w)| CH.iter().position(|&c| c == b).unwrap() * w)
        .sum();
    let check = (31 - sum % 31) % 31;
    body.push(CH[check] as char);
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_numbers_are_well_formed() {
        // GB 11643 example: 11010519491231002X
        assert_eq!(
            resident_id("110105", days_from_civil(1949, 12, 31), 2),
            "11010519491231002X"
        );
        let mut r = Rng::new(1);
        let c = credit_code(&mut r, "330106");
        assert_eq!(c.len(), 18);
        assert!(c.starts_with("91330106"));
    }
}
