//! Daily weather per region: a seasonal temperature curve plus autocorrelated (AR(1)) anomalies
//! shared by the city and a little regional noise, one summer heat wave, and a daily solar
//! "clearness" used by rooftop PV.

use crate::calendar::Calendar;
use crate::rng::{Rng, cos};

pub struct Weather {
    /// `temp_c[region][day]`: daily mean temperature, °C.
    pub temp_c: Vec<Vec<f64>>,
    /// `clear[region][day]`: share of clear-sky irradiance, 0.15–1.
    pub clear: Vec<Vec<f64>>,
    /// First day index of the summer heat wave (7 days), if the period has a summer.
    pub heat_wave: Option<usize>,
}

pub fn generate(seed: u64, cal: &Calendar, region_offsets: &[f64]) -> Weather {
    let n = cal.days.len();
    let mut rng = Rng::derive(seed, "weather", 0);
    // heat wave: the week from 10 July (first one in the period)
    let heat_wave = cal
        .days
        .iter()
        .position(|d| d.month == 7 && d.dom == 10)
        .filter(|&i| i + 7 <= n);
    let mut city = Vec::with_capacity(n);
    let mut a = 0.0;
    for d in &cal.days {
        a = 0.75 * a + 2.0 * rng.normal();
        let seasonal = 17.0 - 11.5 * cos(std::f64::consts::TAU * (d.doy as f64 - 20.0) / 365.25);
        city.push(seasonal + a);
    }
    if let Some(h) = heat_wave {
        for (k, t) in city[h..h + 7].iter_mut().enumerate() {
            *t += [2.5, 3.5, 4.5, 5.0, 5.0, 4.0, 3.0][k];
        }
    }
    let mut temp_c = Vec::new();
    let mut clear = Vec::new();
    for (r, off) in region_offsets.iter().enumerate() {
        let mut rr = Rng::derive(seed, "weather.region", r as u64);
        let mut e = 0.0;
        temp_c.push(
            city.iter()
                .map(|t| {
                    e = 0.5 * e + 0.5 * rr.normal();
                    ((t + off + e) * 10.0).round() / 10.0
                })
                .collect(),
        );
        let mut c = 0.6;
        clear.push(
            (0..n)
                .map(|_| {
                    c = (0.5 * c + 0.5 * rr.range(0.1, 1.1)).clamp(0.15, 1.0);
                    (c * 100.0).round() / 100.0
                })
                .collect(),
        );
    }
    Weather {
        temp_c,
        clear,
        heat_wave,
    }
}
