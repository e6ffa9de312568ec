//! Synthetic theft: the six false-data-injection attacks of Jokar, Arianpoo & Leung,
//! "Electricity Theft Detection in AMI Using Customers' Consumption Patterns" (IEEE Trans.
//! Smart Grid, 2016), applied to a series of daily consumption.
//!
//! Public theft data sets have no (or unreliable) labels, so detectors are commonly evaluated
//! by rewriting a share of honest customers' readings with these attacks. The paper defines
//! them on hourly readings of one day; here they act on a year of daily values:
//!
//! | attack | rewritten reading |
//! |---|---|
//! | h1 | `x_t · α`, one α ~ U(0.1, 0.8) per customer |
//! | h2 | `0` inside one window, `x_t` elsewhere; window length uniform in 30..=180 days (at most the series), start uniform over the positions where it fits |
//! | h3 | `x_t · α_t`, a fresh α_t ~ U(0.1, 0.8) every day |
//! | h4 | `mean(x) · α_t`, a fresh α_t ~ U(0.1, 0.8) every day |
//! | h5 | `mean(x)` every day |
//! | h6 | `x_{n−1−t}`: the year reversed |
//!
//! The h2 window is our choice: the paper's window is a random part of one day of at least
//! four hours; a month to half a year is the daily analogue (a bypass that stays in place
//! for a season) and short enough that most of the year stays honest.
//!
//! Missing readings (NaN) stay missing at their positions for h1–h5 (missingness is a
//! property of the meter's communication, not of the tampering); h6 reverses them with the
//! data. `mean(x)` is over the non-missing values.

use std::fmt;
use std::str::FromStr;

use crate::rng::Rng;

/// Shortest zero window of attack h2, in days.
pub const H2_MIN_DAYS: usize = 30;
/// Longest zero window of attack h2, in days.
pub const H2_MAX_DAYS: usize = 180;
/// Range of the scaling factors α of h1, h3 and h4.
pub const ALPHA_RANGE: (f64, f64) = (0.1, 0.8);

/// One of the six Jokar et al. attack types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Attack {
    /// Constant scaling by one α.
    H1,
    /// Zero readings within one window.
    H2,
    /// Daily random scaling.
    H3,
    /// Random fractions of the mean.
    H4,
    /// The mean every day.
    H5,
    /// The series reversed.
    H6,
}

impl Attack {
    /// All attacks in order h1..h6.
    pub const ALL: [Attack; 6] = [
        Attack::H1,
        Attack::H2,
        Attack::H3,
        Attack::H4,
        Attack::H5,
        Attack::H6,
    ];

    /// `"h1"` … `"h6"`.
    pub fn name(self) -> &'static str {
        match self {
            Attack::H1 => "h1",
            Attack::H2 => "h2",
            Attack::H3 => "h3",
            Attack::H4 => "h4",
            Attack::H5 => "h5",
            Attack::H6 => "h6",
        }
    }

    /// Parses `"h1"` … `"h6"` (case-insensitive, surrounding spaces ignored).
    pub fn parse(s: &str) -> Option<Attack> {
        let s = s.trim();
        Attack::ALL
            .into_iter()
            .find(|a| a.name().eq_ignore_ascii_case(s))
    }
}

impl fmt::Display for Attack {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The text was not `h1` … `h6`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownAttack(pub String);

impl fmt::Display for UnknownAttack {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown attack {:?} (expected h1..h6)", self.0)
    }
}

impl std::error::Error for UnknownAttack {}

impl FromStr for Attack {
    type Err = UnknownAttack;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Attack::parse(s).ok_or_else(|| UnknownAttack(s.to_string()))
    }
}

fn mean_of_present(series: &[f64]) -> f64 {
    let (sum, n) = series
        .iter()
        .filter(|v| !v.is_nan())
        .fold((0.0, 0usize), |(s, n), &v| (s + v, n + 1));
    if n == 0 { f64::NAN } else { sum / n as f64 }
}

/// Rewrites `series` in place with `attack`, drawing its randomness from `rng`.
pub fn inject(series: &mut [f64], attack: Attack, rng: &mut Rng) {
    let (lo, hi) = ALPHA_RANGE;
    match attack {
        Attack::H1 => {
            let alpha = rng.range(lo, hi);
            series.iter_mut().for_each(|v| *v *= alpha);
        }
        Attack::H2 => {
            let n = series.len();
            if n == 0 {
                return;
            }
            let len = rng.range_inclusive(H2_MIN_DAYS.min(n), H2_MAX_DAYS.min(n));
            let start = rng.below(n - len + 1);
            for v in &mut series[start..start + len] {
                if !v.is_nan() {
                    *v = 0.0;
                }
            }
        }
        Attack::H3 => {
            for v in series.iter_mut() {
                let alpha = rng.range(lo, hi);
                *v *= alpha;
            }
        }
        Attack::H4 => {
            let mean = mean_of_present(series);
            for v in series.iter_mut() {
                let alpha = rng.range(lo, hi);
                if !v.is_nan() {
                    *v = mean * alpha;
                }
            }
        }
        Attack::H5 => {
            let mean = mean_of_present(series);
            for v in series.iter_mut().filter(|v| !v.is_nan()) {
                *v = mean;
            }
        }
        Attack::H6 => series.reverse(),
    }
}

/// Attacks `round(share × n)` customers chosen uniformly at random with `seed`, cycling
/// through h1..h6 in the order the customers were drawn so each attack gets an equal share
/// (±1). Returns the attack applied to each row (`None` = honest).
pub fn inject_share(rows: &mut [Vec<f64>], share: f64, seed: u64) -> Vec<Option<Attack>> {
    let n = rows.len();
    let k = (share.clamp(0.0, 1.0) * n as f64).round() as usize;
    let mut rng = Rng::new(seed);
    let mut order: Vec<usize> = (0..n).collect();
    rng.shuffle(&mut order);
    let mut applied = vec![None; n];
    for (i, &row) in order[..k.min(n)].iter().enumerate() {
        let attack = Attack::ALL[i % Attack::ALL.len()];
        inject(&mut rows[row], attack, &mut rng);
        applied[row] = Some(attack);
    }
    applied
}

#[cfg(test)]
mod tests {
    use super::*;

    fn year() -> Vec<f64> {
        (0..365).map(|t| 10.0 + (t % 7) as f64).collect()
    }

    #[test]
    fn names_round_trip() {
        for a in Attack::ALL {
            assert_eq!(Attack::parse(a.name()), Some(a));
            assert_eq!(a.to_string().parse::<Attack>(), Ok(a));
        }
        assert_eq!(Attack::parse(" H3 "), Some(Attack::H3));
        assert!("h7".parse::<Attack>().is_err());
    }

    #[test]
    fn each_attack_does_what_it_says() {
        let x = year();
        let mean = x.iter().sum::<f64>() / 365.0;
        let mut rng = Rng::new(1);

        let mut h1 = x.clone();
        inject(&mut h1, Attack::H1, &mut rng);
        let alpha = h1[0] / x[0];
        assert!((0.1..0.8).contains(&alpha));
        assert!(
            h1.iter()
                .zip(&x)
                .all(|(a, b)| (a / b - alpha).abs() < 1e-12)
        );

        let mut h2 = x.clone();
        inject(&mut h2, Attack::H2, &mut rng);
        let zeros: Vec<usize> = (0..365).filter(|&t| h2[t] == 0.0).collect();
        assert!((30..=180).contains(&zeros.len()), "{}", zeros.len());
        assert_eq!(zeros.last().unwrap() - zeros[0] + 1, zeros.len()); // one window

        let mut h3 = x.clone();
        inject(&mut h3, Attack::H3, &mut rng);
        assert!(
            h3.iter()
                .zip(&x)
                .all(|(a, b)| (0.1..0.8).contains(&(a / b)))
        );

        let mut h4 = x.clone();
        inject(&mut h4, Attack::H4, &mut rng);
        assert!(h4.iter().all(|v| (0.1 * mean..0.8 * mean).contains(v)));

        let mut h5 = x.clone();
        inject(&mut h5, Attack::H5, &mut rng);
        assert!(h5.iter().all(|v| (v - mean).abs() < 1e-12));

        let mut h6 = x.clone();
        inject(&mut h6, Attack::H6, &mut rng);
        assert_eq!(h6[0], x[364]);
        assert_eq!(h6[364], x[0]);
    }

    #[test]
    fn missing_values_stay_missing() {
        let mut x = year();
        x[3] = f64::NAN;
        for a in [Attack::H1, Attack::H3, Attack::H4, Attack::H5] {
            let mut y = x.clone();
            inject(&mut y, a, &mut Rng::new(2));
            assert!(y[3].is_nan(), "{a}");
            assert!(y.iter().enumerate().all(|(t, v)| t == 3 || v.is_finite()));
        }
        // Short series: the h2 window shrinks to fit.
        let mut short = vec![1.0; 10];
        inject(&mut short, Attack::H2, &mut Rng::new(3));
        assert!(short.iter().all(|&v| v == 0.0));
        inject(&mut [], Attack::H2, &mut Rng::new(3));
    }

    #[test]
    fn share_cycles_attacks_evenly() {
        let mut rows: Vec<Vec<f64>> = (0..120).map(|_| year()).collect();
        let applied = inject_share(&mut rows, 0.1, 42);
        assert_eq!(applied.iter().flatten().count(), 12);
        for a in Attack::ALL {
            assert_eq!(applied.iter().filter(|&&x| x == Some(a)).count(), 2);
        }
        for (row, a) in rows.iter().zip(&applied) {
            assert_eq!(a.is_none(), *row == year());
        }
        let mut again: Vec<Vec<f64>> = (0..120).map(|_| year()).collect();
        assert_eq!(inject_share(&mut again, 0.1, 42), applied);
        assert_eq!(again, rows);
    }
}
