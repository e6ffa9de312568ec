//! `gridmark channels`: which service channels customers use, how that changes, and who could
//! be served digitally. Contacts are the `channel_events` (payments, bill queries, logins,
//! applications, reports); resolution times come from `work_orders` and satisfaction from
//! `surveys` by channel.
//!
//! Channels named in [`OFFLINE`] are offline; every other channel is digital. A customer is a
//! candidate to move to digital channels when they made at least [`MOVABLE_CONTACTS`]
//! offline contacts that digital channels serve (paying, querying a bill, applying), these
//! are at least half of such contacts of theirs (routine business still goes offline), and
//! they have used a digital channel at least once (they have an account and can use it);
//! candidates are ranked by the time those offline contacts took. Heavy offline users who
//! never used a digital channel are counted apart: they need onboarding, not a nudge.

use crate::JobError;
use crate::lifecycle::{month_index, month_name};
use crate::query::{Query, ints, strings, timestamps};
use crate::service_data::ServiceData;
use gridmark_analytics::stats::{self, Moments, Nps};
use gridmark_lake::Lake;
use std::collections::{BTreeMap, HashMap};

/// Channels served in person or by voice; all others count as digital.
pub const OFFLINE: [&str; 6] = ["hall", "phone_95598", "phone", "counter", "field", "visit"];
/// Actions a digital channel can serve.
pub const DIGITIZABLE: [&str; 3] = ["pay", "query_bill", "apply"];
/// Offline digitizable contacts that make a customer a candidate.
pub const MOVABLE_CONTACTS: u64 = 3;

pub fn is_digital(channel: &str) -> bool {
    !OFFLINE.contains(&channel)
}

/// One channel over the whole history.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ChannelStat {
    pub channel: String,
    pub digital: bool,
    pub contacts: u64,
    pub share: f64,
    pub customers: u64,
    /// Share of contacts in the first and last three months, and the fitted change per year
    /// (share points).
    pub share_first_3m: f64,
    pub share_last_3m: f64,
    pub trend_points_per_year: f64,
    pub mean_duration_s: Option<f64>,
    pub work_orders: u64,
    pub median_resolution_hours: Option<f64>,
    pub surveys: u64,
    pub csat: Option<f64>,
    pub csat_low: Option<f64>,
    pub csat_high: Option<f64>,
    pub nps: Option<f64>,
}

/// Contacts of one channel in one month.
#[derive(Debug, Clone, serde::Serialize)]
pub struct MonthMix {
    pub month: String,
    pub channel: String,
    pub contacts: u64,
    pub share: f64,
}

/// The channel mix of a customer group.
#[derive(Debug, Clone, serde::Serialize)]
pub struct GroupMix {
    pub dimension: &'static str,
    pub group: String,
    pub customers: u64,
    pub contacts: u64,
    pub digital_share: f64,
    /// Digital share in the first and second half of the months.
    pub digital_share_first_half: Option<f64>,
    pub digital_share_second_half: Option<f64>,
    /// Share of contacts per channel, in the order of [`ChannelReport::channels`].
    pub shares: Vec<f64>,
}

/// One customer's channel use.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CustomerChannels {
    pub customer_id: String,
    pub region: String,
    pub class: String,
    pub segment: String,
    pub contacts: u64,
    pub primary_channel: String,
    pub digital_share: f64,
    pub digital_share_first_half: Option<f64>,
    pub digital_share_second_half: Option<f64>,
    pub offline_digitizable: u64,
    /// Share of the customer's paying, bill queries and applications made offline.
    pub offline_routine_share: f64,
    pub offline_minutes: f64,
    pub uses_digital: bool,
    /// `move` (candidate), `onboard` (heavy offline, never digital) or empty.
    pub recommendation: &'static str,
}

/// The whole analysis.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ChannelReport {
    pub first_month: String,
    pub last_month: String,
    pub contacts: u64,
    pub customers: u64,
    pub digital_share: f64,
    pub digital_share_first_3m: f64,
    pub digital_share_last_3m: f64,
    pub digital_trend_points_per_year: f64,
    pub channels: Vec<ChannelStat>,
    pub monthly: Vec<MonthMix>,
    pub groups: Vec<GroupMix>,
    pub movable_customers: u64,
    pub movable_offline_hours: f64,
    pub onboarding_customers: u64,
    /// Every customer with contacts, candidates first (by offline minutes).
    pub customers_detail: Vec<CustomerChannels>,
}

#[derive(Default, Clone)]
struct Cell {
    contacts: u64,
    duration: f64,
    timed: u64,
}

/// Least-squares slope of `y` against 0, 1, 2…
fn slope(y: &[f64]) -> f64 {
    let n = y.len() as f64;
    if y.len() < 2 {
        return 0.0;
    }
    let mx = (n - 1.0) / 2.0;
    let my = y.iter().sum::<f64>() / n;
    let (mut sxy, mut sxx) = (0.0, 0.0);
    for (i, v) in y.iter().enumerate() {
        let dx = i as f64 - mx;
        sxy += dx * (v - my);
        sxx += dx * dx;
    }
    sxy / sxx
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

/// Reads the lake and runs the analysis.
pub fn analyze(lake: &Lake, q: &Query) -> Result<ChannelReport, JobError> {
    let data = ServiceData::read(lake, q)?;
    let tz = gridmark_core::tz::parse_tz(&lake.settings().default_tz)?;
    // Contacts aggregate in SQL per customer, channel, action and local month; the month is
    // cut at the zone's offset of the latest contact (exact for zones without daylight
    // saving, within an hour of the month's edge otherwise).
    let mut latest = None;
    q.for_each("SELECT max(ts) AS t FROM channel_events", |b| {
        latest = timestamps(b, "t")?.first().copied().flatten();
        Ok(())
    })?;
    let Some(latest) = latest else {
        return Err(JobError::invalid(
            "channel_events",
            "no contacts: import the `channel_events` table (event_id, customer_id, ts, channel, action, duration_s) first",
        ));
    };
    let offset_s = gridmark_core::tz::offset_at(tz, latest);
    let mut rows: Vec<(String, String, String, i64, Cell)> = Vec::new();
    q.for_each(
        &format!(
            "SELECT customer_id, channel, coalesce(action, '') AS action, \
             CAST(date_trunc('month', ts + INTERVAL '{offset_s} seconds') AS DATE) AS m, \
             count(*) AS n, sum(duration_s) AS d, count(duration_s) AS dn \
             FROM channel_events GROUP BY 1, 2, 3, 4"
        ),
        |b| {
            let (c, ch, a, m, n, d, dn) = (
                strings(b, "customer_id")?,
                strings(b, "channel")?,
                strings(b, "action")?,
                crate::query::dates(b, "m")?,
                ints(b, "n")?,
                ints(b, "d")?,
                ints(b, "dn")?,
            );
            for i in 0..b.num_rows() {
                let (Some(c), Some(ch), Some(m)) = (&c[i], &ch[i], m[i]) else {
                    continue;
                };
                rows.push((
                    c.clone(),
                    ch.trim().to_string(),
                    a[i].clone().unwrap_or_default(),
                    month_index(m),
                    Cell {
                        contacts: n[i].unwrap_or(0) as u64,
                        duration: d[i].unwrap_or(0) as f64,
                        timed: dn[i].unwrap_or(0) as u64,
                    },
                ));
            }
            Ok(())
        },
    )?;
    Ok(summarize(&data, &rows))
}

/// The analysis on contacts already aggregated per (customer, channel, action, month index).
fn summarize(data: &ServiceData, rows: &[(String, String, String, i64, Cell)]) -> ChannelReport {
    let first = rows.iter().map(|r| r.3).min().unwrap_or(0);
    let last = rows.iter().map(|r| r.3).max().unwrap_or(0);
    let months = (last - first + 1) as usize;
    let half = first + months as i64 / 2;
    // Channels by volume.
    let mut volume: BTreeMap<&str, u64> = BTreeMap::new();
    for r in rows {
        *volume.entry(&r.1).or_default() += r.4.contacts;
    }
    let mut channels: Vec<&str> = volume.keys().copied().collect();
    channels.sort_by(|a, b| volume[b].cmp(&volume[a]).then(a.cmp(b)));
    let ch_index: HashMap<&str, usize> =
        channels.iter().enumerate().map(|(i, c)| (*c, i)).collect();
    let nch = channels.len();
    let mut month_counts = vec![vec![0u64; nch]; months];
    let mut duration = vec![Cell::default(); nch];
    let mut users: Vec<std::collections::HashSet<&str>> = vec![Default::default(); nch];
    #[derive(Default)]
    struct Cust {
        by_channel: Vec<u64>,
        digital: [u64; 2],
        total: [u64; 2],
        offline_digitizable: u64,
        digitizable: u64,
        offline_seconds: f64,
    }
    let mut cust: BTreeMap<&str, Cust> = BTreeMap::new();
    for (c, ch, action, m, cell) in rows {
        let k = ch_index[ch.as_str()];
        let mi = (m - first) as usize;
        month_counts[mi][k] += cell.contacts;
        duration[k].contacts += cell.contacts;
        duration[k].duration += cell.duration;
        duration[k].timed += cell.timed;
        users[k].insert(c);
        let e = cust.entry(c).or_insert_with(|| Cust {
            by_channel: vec![0; nch],
            ..Default::default()
        });
        e.by_channel[k] += cell.contacts;
        let h = usize::from(*m >= half);
        if DIGITIZABLE.contains(&action.as_str()) {
            e.digitizable += cell.contacts;
        }
        e.total[h] += cell.contacts;
        if is_digital(ch) {
            e.digital[h] += cell.contacts;
        } else {
            if DIGITIZABLE.contains(&action.as_str()) {
                e.offline_digitizable += cell.contacts;
            }
            // Contacts without a duration count at the channel's mean below.
            e.offline_seconds += cell.duration;
        }
    }
    let total: u64 = volume.values().sum();
    let share_of = |counts: &[u64], k: usize| ratio(counts[k], counts.iter().sum());
    let month_share =
        |k: usize| -> Vec<f64> { month_counts.iter().map(|mc| share_of(mc, k)).collect() };
    let window = |from: usize, to: usize, pick: &dyn Fn(usize) -> bool| {
        let (mut a, mut b) = (0u64, 0u64);
        for mc in &month_counts[from..to] {
            for (k, v) in mc.iter().enumerate() {
                b += v;
                if pick(k) {
                    a += v;
                }
            }
        }
        ratio(a, b)
    };
    let w3 = months.min(3);
    // Work orders and surveys per channel.
    let mut hours: Vec<Vec<f64>> = vec![Vec::new(); nch];
    let mut orders = vec![0u64; nch];
    for o in &data.orders {
        if let Some(&k) = ch_index.get(o.channel.as_str()) {
            orders[k] += 1;
            if let Some(h) = o.resolution_hours() {
                hours[k].push(h);
            }
        }
    }
    let mut csat = vec![Moments::default(); nch];
    let mut nps = vec![Nps::default(); nch];
    for a in &data.answers {
        if let Some(&k) = ch_index.get(a.channel.as_str()) {
            if let Some(c) = a.csat {
                csat[k].push(c as f64);
            }
            if let Some(n) = a.nps {
                nps[k].push(n);
            }
        }
    }
    let stats_out: Vec<ChannelStat> = channels
        .iter()
        .enumerate()
        .map(|(k, ch)| {
            let mut h = hours[k].clone();
            h.sort_by(f64::total_cmp);
            let ci = csat[k].ci95();
            ChannelStat {
                channel: ch.to_string(),
                digital: is_digital(ch),
                contacts: volume[ch],
                share: ratio(volume[ch], total),
                customers: users[k].len() as u64,
                share_first_3m: window(0, w3, &|j| j == k),
                share_last_3m: window(months - w3, months, &|j| j == k),
                trend_points_per_year: 100.0 * 12.0 * slope(&month_share(k)),
                mean_duration_s: (duration[k].timed > 0)
                    .then(|| duration[k].duration / duration[k].timed as f64),
                work_orders: orders[k],
                median_resolution_hours: stats::quantile_sorted(&h, 0.5),
                surveys: csat[k].n,
                csat: (csat[k].n > 0).then_some(csat[k].mean),
                csat_low: ci.map(|c| c.0),
                csat_high: ci.map(|c| c.1),
                nps: nps[k].score(),
            }
        })
        .collect();
    let digital = |k: usize| is_digital(channels[k]);
    let digital_monthly: Vec<f64> = month_counts
        .iter()
        .map(|mc| {
            ratio(
                mc.iter()
                    .enumerate()
                    .filter(|(k, _)| digital(*k))
                    .map(|x| x.1)
                    .sum(),
                mc.iter().sum(),
            )
        })
        .collect();
    let mut monthly = Vec::new();
    for (mi, mc) in month_counts.iter().enumerate() {
        for (k, ch) in channels.iter().enumerate() {
            monthly.push(MonthMix {
                month: month_name(first + mi as i64),
                channel: ch.to_string(),
                contacts: mc[k],
                share: share_of(mc, k),
            });
        }
    }
    // Customers and groups.
    let mean_seconds: Vec<f64> = duration
        .iter()
        .map(|d| {
            if d.timed > 0 {
                d.duration / d.timed as f64
            } else {
                0.0
            }
        })
        .collect();
    let mut detail = Vec::with_capacity(cust.len());
    // (customers, contacts per channel, digital contacts per half, all contacts per half)
    type GroupAcc = (u64, Vec<u64>, [u64; 2], [u64; 2]);
    let mut groups: BTreeMap<(&'static str, String), GroupAcc> = BTreeMap::new();
    for (id, c) in &cust {
        let index = data.customer_index.get(*id).copied();
        let label = |d: &str| data.customer_label(index, d);
        let contacts: u64 = c.by_channel.iter().sum();
        let digital_contacts: u64 = c.digital.iter().sum();
        let primary = (0..nch)
            .max_by(|&a, &b| c.by_channel[a].cmp(&c.by_channel[b]).then(b.cmp(&a)))
            .map_or(String::new(), |k| channels[k].to_string());
        let uses_digital = digital_contacts > 0;
        let recommendation = if c.offline_digitizable >= MOVABLE_CONTACTS
            && 2 * c.offline_digitizable >= c.digitizable
        {
            if uses_digital { "move" } else { "onboard" }
        } else {
            ""
        };
        // Offline time: recorded durations, or the channel mean when none was recorded.
        let offline_seconds = if c.offline_seconds > 0.0 {
            c.offline_seconds
        } else {
            (0..nch)
                .filter(|&k| !digital(k))
                .map(|k| c.by_channel[k] as f64 * mean_seconds[k])
                .sum()
        };
        let half_share = |h: usize| (c.total[h] > 0).then(|| ratio(c.digital[h], c.total[h]));
        let row = CustomerChannels {
            customer_id: id.to_string(),
            region: label("region"),
            class: label("class"),
            segment: label("segment"),
            contacts,
            primary_channel: primary,
            digital_share: ratio(digital_contacts, contacts),
            digital_share_first_half: half_share(0),
            digital_share_second_half: half_share(1),
            offline_digitizable: c.offline_digitizable,
            offline_routine_share: ratio(c.offline_digitizable, c.digitizable),
            offline_minutes: offline_seconds / 60.0,
            uses_digital,
            recommendation,
        };
        for (dim, g) in [
            ("class", row.class.clone()),
            ("region", row.region.clone()),
            ("segment", row.segment.clone()),
        ] {
            let e = groups
                .entry((dim, g))
                .or_insert_with(|| (0, vec![0; nch], [0; 2], [0; 2]));
            e.0 += 1;
            for k in 0..nch {
                e.1[k] += c.by_channel[k];
            }
            for h in 0..2 {
                e.2[h] += c.digital[h];
                e.3[h] += c.total[h];
            }
        }
        detail.push(row);
    }
    let group_mix: Vec<GroupMix> = groups
        .into_iter()
        .filter(|((dim, g), _)| !(*dim == "segment" && g == "(unknown)"))
        .map(|((dimension, group), (customers, counts, dig, tot))| {
            let contacts: u64 = counts.iter().sum();
            GroupMix {
                dimension,
                group,
                customers,
                contacts,
                digital_share: ratio(dig.iter().sum(), contacts),
                digital_share_first_half: (tot[0] > 0).then(|| ratio(dig[0], tot[0])),
                digital_share_second_half: (tot[1] > 0).then(|| ratio(dig[1], tot[1])),
                shares: counts.iter().map(|v| ratio(*v, contacts)).collect(),
            }
        })
        .collect();
    let rank = |r: &CustomerChannels| match r.recommendation {
        "move" => 0,
        "onboard" => 1,
        _ => 2,
    };
    detail.sort_by(|a, b| {
        rank(a)
            .cmp(&rank(b))
            .then(b.offline_minutes.total_cmp(&a.offline_minutes))
            .then(a.customer_id.cmp(&b.customer_id))
    });
    let movable: Vec<&CustomerChannels> = detail
        .iter()
        .filter(|r| r.recommendation == "move")
        .collect();
    ChannelReport {
        first_month: month_name(first),
        last_month: month_name(last),
        contacts: total,
        customers: cust.len() as u64,
        digital_share: window(0, months, &digital),
        digital_share_first_3m: window(0, w3, &digital),
        digital_share_last_3m: window(months - w3, months, &digital),
        digital_trend_points_per_year: 100.0 * 12.0 * slope(&digital_monthly),
        channels: stats_out,
        monthly,
        groups: group_mix,
        movable_customers: movable.len() as u64,
        movable_offline_hours: movable.iter().map(|r| r.offline_minutes).sum::<f64>() / 60.0,
        onboarding_customers: detail
            .iter()
            .filter(|r| r.recommendation == "onboard")
            .count() as u64,
        customers_detail: detail,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data() -> ServiceData {
        ServiceData {
            customers: Vec::new(),
            customer_index: HashMap::new(),
            orders: Vec::new(),
            answers: Vec::new(),
            staff: Vec::new(),
            out_of_scale: Vec::new(),
            out_of_scale_count: 0,
        }
    }

    fn cell(n: u64, secs: f64) -> Cell {
        Cell {
            contacts: n,
            duration: secs * n as f64,
            timed: n,
        }
    }

    #[test]
    fn shift_to_digital_and_candidates() {
        // Month 0..5: the hall's share falls as the app's rises; customer A pays at the hall
        // but has logged into the app once; B only ever comes to the hall; C is all digital.
        let mut rows = Vec::new();
        for m in 0..6i64 {
            rows.push(("A".into(), "hall".into(), "pay".into(), m, cell(1, 900.0)));
            rows.push(("B".into(), "hall".into(), "pay".into(), m, cell(1, 600.0)));
            rows.push((
                "C".into(),
                "app".into(),
                "pay".into(),
                m,
                cell(1 + m as u64, 60.0),
            ));
        }
        rows.push(("A".into(), "app".into(), "login".into(), 5, cell(1, 30.0)));
        let r = summarize(&data(), &rows);
        assert_eq!(r.channels[0].channel, "app");
        assert!(r.digital_trend_points_per_year > 0.0);
        assert!(r.digital_share_last_3m > r.digital_share_first_3m);
        let hall = r.channels.iter().find(|c| c.channel == "hall").unwrap();
        assert!(hall.trend_points_per_year < 0.0);
        assert_eq!(hall.mean_duration_s, Some(750.0));
        assert_eq!(r.movable_customers, 1);
        assert_eq!(r.onboarding_customers, 1);
        let a = &r.customers_detail[0];
        assert_eq!((a.customer_id.as_str(), a.recommendation), ("A", "move"));
        assert_eq!(a.offline_digitizable, 6);
        assert!((a.offline_minutes - 90.0).abs() < 1e-9);
        assert_eq!(r.customers_detail[1].recommendation, "onboard");
        assert!((r.movable_offline_hours - 1.5).abs() < 1e-9);
        let c = r
            .customers_detail
            .iter()
            .find(|c| c.customer_id == "C")
            .unwrap();
        assert_eq!(c.digital_share, 1.0);
        assert_eq!(c.primary_channel, "app");
    }

    #[test]
    fn slope_is_least_squares() {
        assert!((slope(&[1.0, 2.0, 3.0, 4.0]) - 1.0).abs() < 1e-12);
        assert_eq!(slope(&[5.0]), 0.0);
    }
}
