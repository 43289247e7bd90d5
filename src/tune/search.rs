//! Which configurations a sweep evaluates: the whole grid, random grid points, or a Latin
//! hypercube snapped to the grid. Candidates are grid indices, so every strategy, shard and
//! resumed run names a configuration the same way.

use super::{Experiment, Strategy};
use crate::engine::rng::{KeyedRng, Stream};

/// The grid indices a sweep starts from, in evaluation order (ascending).
pub fn candidates(x: &Experiment) -> Vec<usize> {
    let n = x.grid_size();
    let want = x.search.samples.map_or(n, |k| k.min(n));
    let mut out = match x.search.strategy {
        Strategy::Grid => (0..n).collect(),
        Strategy::Halving if want == n => (0..n).collect(),
        Strategy::Random | Strategy::Halving => random(n, want, x.search.seed),
        Strategy::LatinHypercube => latin_hypercube(x, want),
        // The optimizer proposes its own, round by round.
        Strategy::Tpe => vec![],
    };
    out.sort_unstable();
    out.dedup();
    out
}

/// `k` distinct indices below `n`, drawn with a keyed generator (Floyd's algorithm).
fn random(n: usize, k: usize, seed: u64) -> Vec<usize> {
    let mut chosen = std::collections::BTreeSet::new();
    for (draw, j) in ((n - k)..n).enumerate() {
        let mut rng = KeyedRng::new(seed, Stream::Users, draw as u64);
        let t = rng.below(j as u64 + 1) as usize;
        if !chosen.insert(t) {
            chosen.insert(j);
        }
    }
    chosen.into_iter().collect()
}

/// `k` points of a Latin hypercube: on each axis the unit interval is cut into `k` strata,
/// each stratum used by exactly one point (a keyed permutation per axis), and the point's
/// position in its stratum picks the axis value. Points that land on the same grid
/// configuration are evaluated once, so fewer than `k` may remain on a coarse grid.
fn latin_hypercube(x: &Experiment, k: usize) -> Vec<usize> {
    let sizes: Vec<usize> = x.values().iter().map(|v| v.len()).collect();
    let seed = x.search.seed;
    let perms: Vec<Vec<usize>> = (0..sizes.len())
        .map(|axis| {
            let mut p: Vec<usize> = (0..k).collect();
            for i in (1..k).rev() {
                let mut rng = KeyedRng::new(seed, Stream::Think, ((axis as u64) << 32) | i as u64);
                let j = rng.below(i as u64 + 1) as usize;
                p.swap(i, j);
            }
            p
        })
        .collect();
    (0..k)
        .map(|point| {
            let mut index = 0usize;
            for (axis, m) in sizes.iter().enumerate() {
                let mut rng =
                    KeyedRng::new(seed, Stream::FanOut, ((axis as u64) << 32) | point as u64);
                let u = (perms[axis][point] as f64 + rng.unit()) / k as f64;
                let v = ((u * *m as f64) as usize).min(m - 1);
                index = index * m + v;
            }
            index
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exp(strategy: &str, samples: usize) -> Experiment {
        Experiment::parse(
            "e.yaml",
            &format!(
                "format_version: 1\nname: t\nsearch: {{strategy: {strategy}, samples: {samples}}}\naxes:\n  - path: a\n    range: {{from: '1', to: '20', step: '1'}}\n  - path: b\n    range: {{from: '1', to: '20', step: '1'}}\n"
            ),
        )
        .unwrap()
    }

    #[test]
    fn random_draws_are_distinct_and_repeatable() {
        let x = exp("random", 50);
        let a = candidates(&x);
        assert_eq!(a.len(), 50);
        assert_eq!(a, candidates(&x));
        assert!(a.iter().all(|i| *i < 400));
    }

    #[test]
    fn a_latin_hypercube_covers_every_value_of_each_axis_once() {
        let x = exp("latin-hypercube", 20);
        let pts = candidates(&x);
        assert_eq!(
            pts.len(),
            20,
            "20 strata over 20 values cannot collide on both axes"
        );
        for axis in 0..2 {
            let mut seen: Vec<usize> = pts.iter().map(|i| x.coordinates(*i)[axis]).collect();
            seen.sort_unstable();
            assert_eq!(seen, (0..20).collect::<Vec<_>>(), "axis {axis}");
        }
    }
}
