//! Shared subexpressions of a constant matrix–vector product (greedy two-term CSE on canonical signed digits,
//! after Hartley): the pair of terms that recurs in the most outputs is computed once, again and again, as long
//! as no output's adder tree grows past the depth it was given. Pure arithmetic; `adder_graph` writes the result.

use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap, HashMap, HashSet};

/// `±(source << shift)`: one signed-digit term of an output's sum.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Term {
    /// An input (`0..inputs`) or a shared sum (`inputs + k`).
    pub source: usize,
    /// Left shift.
    pub shift: u32,
    /// Subtracted rather than added.
    pub negative: bool,
}

/// A shared sum `a ± (b << shift)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sum {
    /// First operand (a source).
    pub a: usize,
    /// Second operand (a source), shifted.
    pub b: usize,
    /// The shift of `b`.
    pub shift: u32,
    /// `a - (b << shift)`.
    pub subtract: bool,
}

/// Every output as a sum of terms over the inputs and the shared sums.
#[derive(Clone, Debug)]
pub struct Sharing {
    /// The shared sums, each only over inputs and earlier sums.
    pub sums: Vec<Sum>,
    /// Adder levels from the inputs to each source (inputs first).
    pub depth: Vec<u32>,
    /// The terms of each output.
    pub outputs: Vec<Vec<Term>>,
}

/// A pair of terms as a pattern: first source, second source, the second's shift above the first's, opposite
/// signs. The first is the one with the lower shift (or, at equal shifts, the lower source).
type Key = (usize, usize, u32, bool);

fn key(p: Term, q: Term) -> Option<Key> {
    let (p, q) = match (q.shift, q.source) < (p.shift, p.source) {
        true => (q, p),
        false => (p, q),
    };
    let distinct = p.source != q.source || p.shift != q.shift;
    distinct.then_some((
        p.source,
        q.source,
        q.shift - p.shift,
        p.negative != q.negative,
    ))
}

/// Pair counts of every pattern, with a max-heap over them that tolerates stale entries.
struct Counts {
    count: HashMap<Key, u32>,
    heap: BinaryHeap<(u32, Reverse<(u32, Key)>)>,
}

impl Counts {
    fn change(&mut self, k: Key, up: bool) {
        let c = self.count.entry(k).or_default();
        *c = if up { *c + 1 } else { c.saturating_sub(1) };
        if *c >= 2 {
            self.heap.push((*c, Reverse((k.2, k))));
        }
        // stale entries outnumbering live ones: rebuild
        if self.heap.len() > 4 * self.count.len() + 1024 {
            self.count.retain(|_, c| *c > 0);
            self.heap = self
                .count
                .iter()
                .filter(|(_, c)| **c >= 2)
                .map(|(k, c)| (*c, Reverse((k.2, *k))))
                .collect();
        }
    }

    /// The pattern in the most pairs, with its count.
    fn best(&mut self, banned: &HashSet<Key>) -> Option<(Key, u32)> {
        while let Some((c, Reverse((_, k)))) = self.heap.pop() {
            if self.count.get(&k) == Some(&c) && !banned.contains(&k) {
                return Some((k, c));
            }
        }
        None
    }
}

/// Shares subexpressions among `outputs`, sums of terms over `inputs` inputs in which no (source, shift) appears
/// twice. Output `o`'s terms keep `Σ 2^depth ≤ capacity[o]`: by Kraft's inequality its adder tree then fits
/// `log2(capacity[o])` levels.
pub fn share(inputs: usize, outputs: Vec<Vec<Term>>, capacity: &[u128]) -> Sharing {
    let mut s = Sharing {
        sums: Vec::new(),
        depth: vec![0; inputs],
        outputs,
    };
    let mut kraft: Vec<u128> = s.outputs.iter().map(|ts| ts.len() as u128).collect();
    let mut users: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); inputs];
    let mut counts = Counts {
        count: HashMap::new(),
        heap: BinaryHeap::new(),
    };
    for (o, ts) in s.outputs.iter().enumerate() {
        for (i, &p) in ts.iter().enumerate() {
            users[p.source].insert(o);
            for &q in &ts[i + 1..] {
                if let Some(k) = key(p, q) {
                    *counts.count.entry(k).or_default() += 1;
                }
            }
        }
    }
    counts.heap = counts
        .count
        .iter()
        .filter(|(_, c)| **c >= 2)
        .map(|(k, c)| (*c, Reverse((k.2, *k))))
        .collect();
    let mut banned = HashSet::new();
    while let Some((k, _)) = counts.best(&banned) {
        let (a, b, shift, subtract) = k;
        let depth = s.depth[a].max(s.depth[b]) + 1;
        if depth >= 127 {
            // no budget is that deep
            banned.insert(k);
            continue;
        }
        // what one replacement adds to an output's Kraft sum
        let growth = (1u128 << depth) - (1u128 << s.depth[a]) - (1u128 << s.depth[b]);
        let mut found: Vec<(usize, Term, Term)> = Vec::new();
        for &o in users[a].intersection(&users[b]) {
            let ts = &s.outputs[o];
            let mut room = capacity[o].saturating_sub(kraft[o]);
            let mut taken: Vec<Term> = Vec::new();
            for &p in ts.iter().filter(|p| p.source == a) {
                let partner = ts.iter().find(|q| {
                    q.source == b
                        && q.shift == p.shift + shift
                        && (q.negative != p.negative) == subtract
                });
                if let Some(&q) = partner
                    && !taken.contains(&p)
                    && !taken.contains(&q)
                    && growth <= room
                {
                    room -= growth;
                    taken.extend([p, q]);
                    found.push((o, p, q));
                }
            }
        }
        if found.len() < 2 {
            banned.insert(k);
            continue;
        }
        let source = inputs + s.sums.len();
        s.sums.push(Sum {
            a,
            b,
            shift,
            subtract,
        });
        s.depth.push(depth);
        users.push(BTreeSet::new());
        for (o, p, q) in found {
            let ts = &mut s.outputs[o];
            for gone in [p, q] {
                ts.retain(|t| *t != gone);
                for &r in ts.iter() {
                    if let Some(k) = key(gone, r) {
                        counts.change(k, false);
                    }
                }
            }
            let t = Term {
                source,
                shift: p.shift,
                negative: p.negative,
            };
            for &r in ts.iter() {
                if let Some(k) = key(t, r) {
                    counts.change(k, true);
                }
            }
            ts.push(t);
            users[source].insert(o);
            kraft[o] += growth;
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtl::verilog::csd_digits;

    /// Terms of `Σ_i w[o][i] x_i` from the signed digits of each weight.
    fn terms(w: &[Vec<i128>]) -> Vec<Vec<Term>> {
        w.iter()
            .map(|row| {
                row.iter()
                    .enumerate()
                    .flat_map(|(i, &c)| {
                        csd_digits(c)
                            .into_iter()
                            .map(move |(shift, negative)| Term {
                                source: i,
                                shift,
                                negative,
                            })
                    })
                    .collect()
            })
            .collect()
    }

    impl Sharing {
        /// Source `k`'s value for the input values `x` (wrapping, as the hardware does modulo its width).
        fn value(&self, k: usize, x: &[i128]) -> i128 {
            let mut v: Vec<i128> = x.to_vec();
            for sum in &self.sums[..(k + 1).saturating_sub(x.len())] {
                let b = v[sum.b].wrapping_shl(sum.shift);
                v.push(match sum.subtract {
                    true => v[sum.a].wrapping_sub(b),
                    false => v[sum.a].wrapping_add(b),
                });
            }
            v[k]
        }

        /// Output `o`'s value for the input values `x`.
        fn output(&self, o: usize, x: &[i128]) -> i128 {
            self.outputs[o]
                .iter()
                .map(|t| {
                    let v = self.value(t.source, x).wrapping_shl(t.shift);
                    if t.negative { v.wrapping_neg() } else { v }
                })
                .fold(0i128, i128::wrapping_add)
        }

        /// Adders: one per shared sum and one per further term of each output.
        fn adders(&self) -> usize {
            self.sums.len()
                + self
                    .outputs
                    .iter()
                    .map(|ts| ts.len().saturating_sub(1))
                    .sum::<usize>()
        }
    }

    fn kraft(s: &Sharing, o: usize) -> u128 {
        s.outputs[o]
            .iter()
            .map(|t| 1u128 << s.depth[t.source])
            .sum()
    }

    #[test]
    fn shared_sums_keep_every_output_and_its_depth_budget() {
        let mut seed = 12345u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let (n, m) = (12, 10);
        let w: Vec<Vec<i128>> = (0..m)
            .map(|_| (0..n).map(|_| (next() % 255) as i128 - 127).collect())
            .collect();
        let plain = terms(&w);
        let unshared: usize = plain.iter().map(|t| t.len() - 1).sum();
        for extra_levels in [0u32, 2] {
            let capacity: Vec<u128> = plain
                .iter()
                .map(|t| (t.len() as u128).next_power_of_two() << extra_levels)
                .collect();
            let s = share(n, plain.clone(), &capacity);
            assert!(!s.sums.is_empty());
            assert!(s.adders() < unshared, "{} of {unshared}", s.adders());
            for (o, c) in capacity.iter().enumerate() {
                assert!(kraft(&s, o) <= *c);
            }
            for _ in 0..20 {
                let x: Vec<i128> = (0..n).map(|_| (next() % 512) as i128 - 256).collect();
                for (o, row) in w.iter().enumerate() {
                    let want: i128 = row.iter().zip(&x).map(|(c, x)| c * x).sum();
                    assert_eq!(s.output(o, &x), want);
                }
            }
        }
    }

    #[test]
    fn a_pair_in_two_outputs_becomes_one_sum_within_the_depth_budget() {
        // y0 = x0 + 4 x1 + 16 x2, y1 = 2 y0: x0 + (x1 << 2) is shared, then that sum + (x2 << 4), one level
        // deeper, where the budget has room for it
        let w = [vec![1, 4, 16], vec![2, 8, 32]];
        let first = Sum {
            a: 0,
            b: 1,
            shift: 2,
            subtract: false,
        };
        let s = share(3, terms(&w), &[4, 4]);
        let second = Sum {
            a: 3,
            b: 2,
            shift: 4,
            subtract: false,
        };
        assert_eq!(s.sums, vec![first, second]);
        assert_eq!(s.depth, vec![0, 0, 0, 1, 2]);
        assert_eq!(s.adders(), 2);
        let s = share(3, terms(&w), &[3, 3]);
        assert_eq!(s.sums, vec![first]);
        assert_eq!(s.adders(), 3);
    }
}
