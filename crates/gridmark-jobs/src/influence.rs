//! `gridmark influence`: opinion leaders on the customer graph (`relations`: referral,
//! neighbour, family and social ties). Every customer gets a PageRank, a weighted degree and a
//! community (label propagation); the leaders are the customers with the highest PageRank in
//! each region and in each segment (when `segment run` has stored segments), each with the
//! reasons in words.

use crate::JobError;
use crate::query::{Query, floats, strings};
use gridmark_analytics::graph::{self, Graph};
use std::collections::HashMap;

/// One customer's influence.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Influence {
    pub customer_id: String,
    pub region: Option<String>,
    pub segment: Option<String>,
    pub pagerank: f64,
    /// PageRank divided by the median PageRank.
    pub pagerank_ratio: f64,
    pub weighted_degree: f64,
    pub ties: usize,
    pub referrals_made: usize,
    pub community: usize,
    pub community_size: usize,
    /// Rank by PageRank over everyone (1 = most influential).
    pub rank: usize,
    pub why: String,
}

/// The whole analysis.
#[derive(Debug, Clone, serde::Serialize)]
pub struct InfluenceReport {
    pub customers: usize,
    pub ties: usize,
    pub communities: usize,
    pub pagerank_passes: usize,
    /// Everyone, by rank.
    pub ranked: Vec<Influence>,
    /// Top leaders per region: (region, customer ranks into `ranked`).
    pub by_region: Vec<(String, Vec<usize>)>,
    /// Top leaders per segment.
    pub by_segment: Vec<(String, Vec<usize>)>,
    pub seconds: f64,
}

/// Reads the graph and ranks everyone; `top` leaders per region and segment.
pub fn analyze(
    q: &Query,
    top: usize,
    progress: &mut dyn FnMut(&str),
) -> Result<InfluenceReport, JobError> {
    let started = std::time::Instant::now();
    let mut index: HashMap<String, u32> = HashMap::new();
    let mut ids: Vec<String> = Vec::new();
    let mut region: Vec<Option<String>> = Vec::new();
    let mut intern = |id: &str, ids: &mut Vec<String>, region: &mut Vec<Option<String>>| -> u32 {
        if let Some(&i) = index.get(id) {
            return i;
        }
        let i = ids.len() as u32;
        index.insert(id.to_string(), i);
        ids.push(id.to_string());
        region.push(None);
        i
    };
    progress("reading customers and ties…");
    q.for_each("SELECT customer_id, region FROM customers", |b| {
        let (c, r) = (strings(b, "customer_id")?, strings(b, "region")?);
        for i in 0..b.num_rows() {
            if let Some(c) = &c[i] {
                let v = intern(c, &mut ids, &mut region);
                region[v as usize] = r[i].clone();
            }
        }
        Ok(())
    })?;
    let mut edges: Vec<(u32, u32, f64)> = Vec::new();
    let mut referrals: HashMap<u32, usize> = HashMap::new();
    q.for_each(
        "SELECT src_customer_id, dst_customer_id, kind, weight FROM relations",
        |b| {
            let (s, d, k, w) = (
                strings(b, "src_customer_id")?,
                strings(b, "dst_customer_id")?,
                strings(b, "kind")?,
                floats(b, "weight")?,
            );
            for i in 0..b.num_rows() {
                let (Some(s), Some(d)) = (&s[i], &d[i]) else {
                    continue;
                };
                let a = intern(s, &mut ids, &mut region);
                let z = intern(d, &mut ids, &mut region);
                edges.push((a, z, w[i].unwrap_or(1.0)));
                if k[i].as_deref() == Some("referral") {
                    *referrals.entry(a).or_default() += 1;
                }
            }
            Ok(())
        },
    )?;
    if edges.is_empty() {
        return Err(JobError::invalid(
            "relations",
            "no ties between customers: import the `relations` table (src_customer_id, dst_customer_id, kind, weight) first",
        ));
    }
    let mut segment: HashMap<String, String> = HashMap::new();
    q.for_each("SELECT customer_id, segment_name FROM segments", |b| {
        let (c, s) = (strings(b, "customer_id")?, strings(b, "segment_name")?);
        for i in 0..b.num_rows() {
            if let (Some(c), Some(s)) = (&c[i], &s[i]) {
                segment.insert(c.clone(), s.clone());
            }
        }
        Ok(())
    })?;
    progress(&format!(
        "PageRank and communities over {} customers and {} ties…",
        ids.len(),
        edges.len()
    ));
    let g = Graph::from_edges(ids.len(), &edges);
    let ties = edges.len();
    drop(edges);
    let (pr, passes) = graph::pagerank(&g, 0.85, 1e-10, 200);
    let degree = g.weighted_degree();
    let community = graph::communities(&g, 7, 30);
    let mut size = vec![0usize; community.iter().max().map_or(0, |m| m + 1)];
    for &c in &community {
        size[c] += 1;
    }
    let mut sorted = pr.clone();
    sorted.sort_by(f64::total_cmp);
    let median = sorted[sorted.len() / 2].max(f64::MIN_POSITIVE);
    let mut order: Vec<usize> = (0..ids.len()).collect();
    order.sort_by(|&a, &b| pr[b].total_cmp(&pr[a]).then(a.cmp(&b)));
    // The strongest member of each community, to say "hub of community".
    let mut hub = vec![usize::MAX; size.len()];
    for &v in &order {
        if hub[community[v]] == usize::MAX {
            hub[community[v]] = v;
        }
    }
    let ranked: Vec<Influence> = order
        .iter()
        .enumerate()
        .map(|(r, &v)| {
            let ties_v = g.neighbours(v).count();
            let refs = referrals.get(&(v as u32)).copied().unwrap_or(0);
            let c = community[v];
            let mut why = vec![format!(
                "PageRank {:.1}× the median customer's",
                pr[v] / median
            )];
            why.push(format!("{ties_v} ties (weight {:.1})", degree[v]));
            if refs > 0 {
                let s = if refs == 1 { "" } else { "s" };
                why.push(format!("referred {refs} customer{s}"));
            }
            if hub[c] == v && size[c] > 1 {
                why.push(format!(
                    "the most central of community {c} ({} customers)",
                    size[c]
                ));
            }
            Influence {
                customer_id: ids[v].clone(),
                region: region[v].clone(),
                segment: segment.get(&ids[v]).cloned(),
                pagerank: pr[v],
                pagerank_ratio: pr[v] / median,
                weighted_degree: degree[v],
                ties: ties_v,
                referrals_made: refs,
                community: c,
                community_size: size[c],
                rank: r + 1,
                why: why.join("; "),
            }
        })
        .collect();
    let group = |key: &dyn Fn(&Influence) -> Option<String>| {
        let mut m: std::collections::BTreeMap<String, Vec<usize>> = Default::default();
        for (i, x) in ranked.iter().enumerate() {
            if let Some(k) = key(x) {
                let e = m.entry(k).or_default();
                if e.len() < top {
                    e.push(i);
                }
            }
        }
        m.into_iter().collect::<Vec<_>>()
    };
    let by_region = group(&|x| x.region.clone());
    let by_segment = group(&|x| x.segment.clone());
    Ok(InfluenceReport {
        customers: ids.len(),
        ties,
        communities: size.len(),
        pagerank_passes: passes,
        by_region,
        by_segment,
        ranked,
        seconds: started.elapsed().as_secs_f64(),
    })
}
