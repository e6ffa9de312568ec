//! Influence on a customer graph: PageRank, weighted degree and communities.
//!
//! The graph is held as compressed sparse rows ([`Graph`]), built once from an edge list.
//! Ties are treated as undirected (a referral or a neighbourhood tie carries word of mouth both
//! ways), each edge with its weight.
//!
//! * [`pagerank`]: power iteration with damping 0.85; nodes without ties spread their rank
//!   evenly (the usual dangling-node rule), so the ranks sum to 1.
//! * [`Graph::weighted_degree`]: the sum of a node's tie weights (degree centrality).
//! * [`communities`]: label propagation (Raghavan et al., 2007) by weight, in a seeded random
//!   order, ties between labels broken towards the smaller label so runs repeat.

use crate::rng::Rng;

/// An undirected weighted graph in compressed sparse rows.
#[derive(Debug, Clone)]
pub struct Graph {
    offsets: Vec<usize>,
    targets: Vec<u32>,
    weights: Vec<f64>,
}

impl Graph {
    /// A graph of `n` nodes from `(a, b, weight)` edges; each edge is stored both ways. Self
    /// loops and non-positive or non-finite weights are left out.
    ///
    /// # Panics
    /// When an edge names a node at or above `n`.
    pub fn from_edges(n: usize, edges: &[(u32, u32, f64)]) -> Self {
        let mut degree = vec![0usize; n + 1];
        let keep = |e: &&(u32, u32, f64)| e.0 != e.1 && e.2.is_finite() && e.2 > 0.0;
        for e in edges.iter().filter(keep) {
            degree[e.0 as usize] += 1;
            degree[e.1 as usize] += 1;
        }
        let mut offsets = vec![0usize; n + 1];
        for i in 0..n {
            offsets[i + 1] = offsets[i] + degree[i];
        }
        let mut fill = offsets.clone();
        let m = offsets[n];
        let mut targets = vec![0u32; m];
        let mut weights = vec![0f64; m];
        for e in edges.iter().filter(keep) {
            for (a, b) in [(e.0, e.1), (e.1, e.0)] {
                let at = fill[a as usize];
                targets[at] = b;
                weights[at] = e.2;
                fill[a as usize] += 1;
            }
        }
        Self {
            offsets,
            targets,
            weights,
        }
    }

    pub fn n_nodes(&self) -> usize {
        self.offsets.len() - 1
    }

    /// Ties stored (each undirected edge counts twice).
    pub fn n_arcs(&self) -> usize {
        self.targets.len()
    }

    /// The neighbours of `v` with the weights of the ties.
    pub fn neighbours(&self, v: usize) -> impl Iterator<Item = (usize, f64)> + '_ {
        let r = self.offsets[v]..self.offsets[v + 1];
        self.targets[r.clone()]
            .iter()
            .zip(&self.weights[r])
            .map(|(&t, &w)| (t as usize, w))
    }

    /// Sum of the weights of each node's ties.
    pub fn weighted_degree(&self) -> Vec<f64> {
        (0..self.n_nodes())
            .map(|v| self.neighbours(v).map(|(_, w)| w).sum())
            .collect()
    }
}

/// PageRank with `damping` (0.85 is usual), iterated until the L1 change is below `tol` or
/// `max_iter` passes. Returns the ranks (summing to 1) and the passes made.
pub fn pagerank(g: &Graph, damping: f64, tol: f64, max_iter: usize) -> (Vec<f64>, usize) {
    let n = g.n_nodes();
    if n == 0 {
        return (Vec::new(), 0);
    }
    let strength = g.weighted_degree();
    let mut rank = vec![1.0 / n as f64; n];
    let mut next = vec![0.0; n];
    // Each node's rank divided by its strength, pushed along its ties.
    let mut share = vec![0.0; n];
    for pass in 1..=max_iter {
        let mut dangling = 0.0;
        for v in 0..n {
            if strength[v] > 0.0 {
                share[v] = rank[v] / strength[v];
            } else {
                share[v] = 0.0;
                dangling += rank[v];
            }
        }
        let base = (1.0 - damping) / n as f64 + damping * dangling / n as f64;
        // Pull form: undirected, so a node gathers from its own neighbours; no write conflicts.
        for (v, x) in next.iter_mut().enumerate() {
            let gathered: f64 = g.neighbours(v).map(|(u, w)| share[u] * w).sum();
            *x = base + damping * gathered;
        }
        let change: f64 = rank.iter().zip(&next).map(|(a, b)| (a - b).abs()).sum();
        std::mem::swap(&mut rank, &mut next);
        if change < tol {
            return (rank, pass);
        }
    }
    (rank, max_iter)
}

/// Community labels by weighted label propagation: every node starts in its own community and
/// repeatedly takes the label with the most tie weight among its neighbours, until no label
/// changes or `max_passes`. Labels are renumbered 0.. by community size (0 = largest).
pub fn communities(g: &Graph, seed: u64, max_passes: usize) -> Vec<usize> {
    let n = g.n_nodes();
    let mut label: Vec<u32> = (0..n as u32).collect();
    let mut order: Vec<usize> = (0..n).collect();
    let mut rng = Rng::new(seed);
    let mut weight_of: std::collections::HashMap<u32, f64> = std::collections::HashMap::new();
    for _ in 0..max_passes {
        rng.shuffle(&mut order);
        let mut changed = 0usize;
        for &v in &order {
            weight_of.clear();
            for (u, w) in g.neighbours(v) {
                *weight_of.entry(label[u]).or_default() += w;
            }
            let Some(best) = weight_of
                .iter()
                .max_by(|a, b| a.1.total_cmp(b.1).then(b.0.cmp(a.0)))
                .map(|(&l, _)| l)
            else {
                continue;
            };
            // Keep the current label when it ties with the best: stops endless flipping.
            let current = weight_of.get(&label[v]).copied().unwrap_or(0.0);
            if best != label[v] && weight_of[&best] > current {
                label[v] = best;
                changed += 1;
            }
        }
        if changed == 0 {
            break;
        }
    }
    let mut size: std::collections::HashMap<u32, usize> = std::collections::HashMap::new();
    for &l in &label {
        *size.entry(l).or_default() += 1;
    }
    let mut by_size: Vec<(u32, usize)> = size.into_iter().collect();
    by_size.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let rename: std::collections::HashMap<u32, usize> = by_size
        .iter()
        .enumerate()
        .map(|(i, &(l, _))| (l, i))
        .collect();
    label.iter().map(|l| rename[l]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two stars joined by one tie between their hubs (nodes 0 and 10).
    fn two_stars() -> Graph {
        let mut e = Vec::new();
        for leaf in 1..10 {
            e.push((0, leaf, 1.0));
        }
        for leaf in 11..16 {
            e.push((10, leaf, 1.0));
        }
        e.push((0, 10, 1.0));
        Graph::from_edges(16, &e)
    }

    #[test]
    fn the_hub_ranks_first_and_ranks_sum_to_one() {
        let g = two_stars();
        let (rank, passes) = pagerank(&g, 0.85, 1e-12, 200);
        assert!(passes < 200);
        assert!((rank.iter().sum::<f64>() - 1.0).abs() < 1e-9);
        let best = (0..16)
            .max_by(|&a, &b| rank[a].total_cmp(&rank[b]))
            .unwrap();
        assert_eq!(best, 0);
        assert!(rank[10] > rank[11] && rank[10] < rank[0]);
        assert_eq!(g.weighted_degree()[0], 10.0);
    }

    #[test]
    fn pagerank_matches_a_hand_computed_path() {
        // Path 0 - 1 - 2: by symmetry r0 = r2, and r1 = 0.05 + 0.85 (r0 + r2), r0 = 0.05 + 0.85 r1 / 2.
        let g = Graph::from_edges(3, &[(0, 1, 1.0), (1, 2, 1.0)]);
        let (r, _) = pagerank(&g, 0.85, 1e-14, 500);
        let r1 = (0.05 + 0.85 * 2.0 * 0.05) / (1.0 - 0.85 * 0.85);
        assert!((r[1] - r1).abs() < 1e-9, "{r:?}");
        assert!((r[0] - r[2]).abs() < 1e-12);
    }

    #[test]
    fn dangling_nodes_keep_the_total() {
        let g = Graph::from_edges(4, &[(0, 1, 2.0)]);
        let (r, _) = pagerank(&g, 0.85, 1e-12, 200);
        assert!((r.iter().sum::<f64>() - 1.0).abs() < 1e-9);
        assert!((r[2] - r[3]).abs() < 1e-12);
    }

    #[test]
    fn two_cliques_are_two_communities() {
        let mut e = Vec::new();
        for a in 0..6u32 {
            for b in a + 1..6 {
                e.push((a, b, 1.0));
                e.push((a + 6, b + 6, 1.0));
            }
        }
        e.push((0, 6, 0.2));
        let g = Graph::from_edges(12, &e);
        let c = communities(&g, 7, 50);
        assert!(c[..6].iter().all(|&x| x == c[0]));
        assert!(c[6..].iter().all(|&x| x == c[6]));
        assert_ne!(c[0], c[6]);
    }
}
