//! Maximum flow and the minimum cut it proves, for the register placement
//! of `retime.rs`: Dinic's algorithm (breadth-first levels, then blocking
//! flows along them) on a graph of a few nodes per datapath node.

use std::collections::VecDeque;

/// A capacity no cut can pay: an edge the cut must not cross.
pub const INF: u64 = u64::MAX / 4;

/// A directed graph with capacities. Edges are collected, then laid out
/// by source (compressed rows) before the flow runs: the searches walk
/// millions of edges, and scattered lists made them mostly cache misses.
#[derive(Debug, Default)]
pub struct Flow {
    nodes: usize,
    added: Vec<(u32, u32, u64)>,
    /// Edges of node `x` are `first[x]..first[x + 1]`.
    first: Vec<u32>,
    to: Vec<u32>,
    /// Each edge's residual twin.
    twin: Vec<u32>,
    cap: Vec<u64>,
}

const NONE: u32 = u32::MAX;

impl Flow {
    pub fn new(nodes: usize) -> Flow {
        Flow {
            nodes,
            ..Flow::default()
        }
    }

    pub fn edge(&mut self, a: usize, b: usize, cap: u64) {
        self.added.push((a as u32, b as u32, cap));
    }

    /// Lay the edges and their zero-capacity twins out by source.
    fn build(&mut self) {
        let mut first = vec![0u32; self.nodes + 1];
        for &(a, b, _) in &self.added {
            first[a as usize + 1] += 1;
            first[b as usize + 1] += 1;
        }
        for x in 0..self.nodes {
            first[x + 1] += first[x];
        }
        let m = 2 * self.added.len();
        let (mut to, mut twin, mut cap) = (vec![0u32; m], vec![0u32; m], vec![0u64; m]);
        let mut at = first.clone();
        for &(a, b, c) in &self.added {
            let (i, j) = (at[a as usize], at[b as usize] + (a == b) as u32);
            at[a as usize] += 1;
            at[b as usize] += 1;
            (to[i as usize], twin[i as usize], cap[i as usize]) = (b, j, c);
            (to[j as usize], twin[j as usize], cap[j as usize]) = (a, i, 0);
        }
        self.added = vec![];
        (self.first, self.to, self.twin, self.cap) = (first, to, twin, cap);
    }

    fn edges(&self, x: usize) -> std::ops::Range<usize> {
        self.first[x] as usize..self.first[x + 1] as usize
    }

    /// Push the maximum flow from `s` to `t`; its value is the capacity
    /// of a minimum cut.
    pub fn max_flow(&mut self, s: usize, t: usize) -> u64 {
        self.build();
        let mut total = 0u64;
        while let Some(level) = self.levels(s, t) {
            total = total.saturating_add(self.blocking(s, t, &level));
        }
        total
    }

    /// Breadth-first distances from `s` over edges with capacity left, as
    /// far as `t`'s; `None` when `t` is out of reach.
    fn levels(&self, s: usize, t: usize) -> Option<Vec<u32>> {
        let mut level = vec![NONE; self.nodes];
        level[s] = 0;
        let mut queue = VecDeque::from([s]);
        while let Some(x) = queue.pop_front() {
            // a node as far as `t` or farther lies on no shortest path
            if level[t] != NONE && level[x] >= level[t] {
                break;
            }
            for e in self.edges(x) {
                let y = self.to[e] as usize;
                if self.cap[e] > 0 && level[y] == NONE {
                    level[y] = level[x] + 1;
                    queue.push_back(y);
                }
            }
        }
        (level[t] != NONE).then_some(level)
    }

    /// A blocking flow along the levels: paths found without recursion
    /// (a path can be as long as a stage's logic is deep), each next one
    /// searched from the tail of the edge the last one saturated first,
    /// not from `s` again; the flow pushed.
    fn blocking(&mut self, s: usize, t: usize, level: &[u32]) -> u64 {
        let mut at: Vec<u32> = self.first[..self.nodes].to_vec();
        let (mut path, mut total): (Vec<u32>, u64) = (vec![], 0);
        let mut x = s;
        loop {
            if x == t {
                let f = path
                    .iter()
                    .map(|&e| self.cap[e as usize])
                    .min()
                    .unwrap_or(0);
                for &e in &path {
                    self.cap[e as usize] -= f;
                    self.cap[self.twin[e as usize] as usize] += f;
                }
                total = total.saturating_add(f);
                let k = path
                    .iter()
                    .position(|&e| self.cap[e as usize] == 0)
                    .unwrap_or(0);
                path.truncate(k);
                x = path.last().map_or(s, |&e| self.to[e as usize] as usize);
                continue;
            }
            let end = self.first[x + 1];
            let mut e = at[x];
            while e < end {
                let y = self.to[e as usize] as usize;
                if self.cap[e as usize] > 0 && level[y] == level[x] + 1 {
                    break;
                }
                e += 1;
            }
            at[x] = e;
            if e < end {
                path.push(e);
                x = self.to[e as usize] as usize;
                continue;
            }
            // a dead end: retreat, and never try the edge into it again
            let Some(back) = path.pop() else {
                return total;
            };
            x = self.to[self.twin[back as usize] as usize] as usize;
            at[x] = back + 1;
        }
    }

    /// After [`Flow::max_flow`]: the nodes that can still reach `t`, the
    /// sink side of the minimum cut that leaves the source side largest.
    pub fn reaches_sink(&self, t: usize) -> Vec<bool> {
        let mut reach = vec![false; self.nodes];
        reach[t] = true;
        let mut queue = VecDeque::from([t]);
        while let Some(y) = queue.pop_front() {
            // edges x -> y with capacity left are the twins of y's edges
            for e in self.edges(y) {
                let x = self.to[e] as usize;
                if !reach[x] && self.cap[self.twin[e] as usize] > 0 {
                    reach[x] = true;
                    queue.push_back(x);
                }
            }
        }
        reach
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every s–t cut of a small graph, by enumeration: the minimum one
    /// must equal the flow.
    fn brute_min_cut(n: usize, edges: &[(usize, usize, u64)]) -> u64 {
        (0..1u32 << (n - 2))
            .map(|mask| {
                // node 0 is s, node n-1 is t, the rest by mask
                let side = |v: usize| v == 0 || (v != n - 1 && mask >> (v - 1) & 1 == 1);
                edges
                    .iter()
                    .filter(|&&(a, b, _)| side(a) && !side(b))
                    .map(|e| e.2)
                    .sum()
            })
            .min()
            .unwrap()
    }

    #[test]
    fn flow_equals_the_minimum_cut_on_random_graphs() {
        let mut seed = 11u64;
        let mut next = |m: u64| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) % m
        };
        for _ in 0..300 {
            let n = 2 + next(7) as usize;
            let edges: Vec<_> = (0..next(20))
                .map(|_| (next(n as u64) as usize, next(n as u64) as usize, next(9)))
                .filter(|(a, b, _)| a != b)
                .collect();
            let mut f = Flow::new(n);
            for &(a, b, c) in &edges {
                f.edge(a, b, c);
            }
            let flow = f.max_flow(0, n - 1);
            assert_eq!(flow, brute_min_cut(n, &edges), "{edges:?}");
            // the cut read back from the residual graph has that capacity
            let sink = f.reaches_sink(n - 1);
            assert!(!sink[0]);
            let cut: u64 = edges
                .iter()
                .filter(|&&(a, b, _)| !sink[a] && sink[b])
                .map(|e| e.2)
                .sum();
            assert_eq!(cut, flow);
        }
    }
}
