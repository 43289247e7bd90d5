//! The optimizer (`search: {strategy: tpe}`) for spaces a grid cannot cover: 10 to 40 axes
//! and more configurations than could ever be run.
//!
//! It works in rounds of `batch` configurations the engine decides with every seed (one
//! seed's verdict near a constraint's edge is often reversed by the others, and the search
//! would chase it), each round picked from `batch x screen` proposals not yet decided:
//!
//! - the first round proposes the model's current settings, the moves the structural
//!   findings of a run of them point at (`lint --with-run`: a trigger on a queue its
//!   deployment does not consume switched off, a capacity-bound maximum raised to its
//!   highest value), each alone and all together (the "advised" point); the current settings
//!   and the advised point are always decided;
//! - until `2 x batch` are decided, perturbations of the advised point fill up (each axis
//!   redrawn with probability 2/axes);
//! - later rounds draw half from Tree-structured Parzen Estimators (one per axis, from the
//!   `tpe` crate: values that ranked among the best so far are drawn more often than values
//!   that ranked among the rest) and half around the three best distinct outcomes so far
//!   (mostly one axis moved one step, or to another value for an unordered axis);
//! - once a decided configuration meets every constraint, a quarter of each round descends
//!   from the best: every configuration one step from it is screened, and the best by the
//!   fluid ranking are decided (a pattern search that keeps improving the best).
//!
//! The fluid approximation screens the proposals: half of a round are the best by its
//! ranking, half are drawn from the rest, because it ranks cost well but misses some
//! constraints (consumers' window misses) and would otherwise keep the search among
//! configurations it wrongly thinks feasible. The ranking the estimators learn from is the
//! sweep's own ([`super::analysis::ranked`]): feasible before infeasible (by how far they
//! miss), then cost, so the constraints steer the search. When `budget` configurations are
//! decided (or `budget_s` has passed), the sweep ends as any other over the decided
//! configurations: the extra-load check, the baseline, the analysis, with the convergence
//! (the best feasible cost after each decided configuration) for the report's chart.
//!
//! Deterministic: a round's proposals depend only on the seed, the round and the figures of
//! the rounds before, never on timing or thread count; a resumed run, or a deeper one
//! (`tune --budget`), proposes the same configurations and finds their evaluations in the
//! checkpoint.

use super::analysis::{self, Convergence, Row};
use super::evaluate::Fidelity;
use super::run::Sweep;
use super::{Search, TuneError};
use crate::engine::rng::{KeyedRng, Stream};
use std::collections::BTreeSet;

/// What the optimizer hands back to the sweep.
pub(super) struct Optimized {
    /// Every configuration the fluid approximation screened.
    pub screened: Vec<usize>,
    /// Every configuration the engine decided (with every seed), in decision order: the
    /// configurations the analysis and the extra-load check rank.
    pub decided: Vec<usize>,
    pub convergence: Vec<Convergence>,
}

/// Check the optimizer's settings: (field, message) when one is out of range.
pub fn check(s: &Search) -> Result<(), (&'static str, String)> {
    for (k, v) in [
        ("budget", s.budget),
        ("batch", s.batch),
        ("screen", s.screen),
    ] {
        if v == 0 {
            return Err((k, "must be >= 1".into()));
        }
    }
    if let Some(t) = s.budget_s
        && !(t.is_finite() && t > 0.0)
    {
        return Err(("budget_s", format!("must be > 0 seconds (found {t})")));
    }
    Ok(())
}

/// Proposal streams, each keyed by round and draw.
const UNIFORM: u64 = 1;
const TPE: u64 = 2;
const LOCAL: u64 = 3;
const SHUFFLE: u64 = 4;

fn rng(seed: u64, what: u64, round: usize, draw: usize) -> KeyedRng {
    KeyedRng::new(
        seed,
        Stream::Search,
        (what << 56) ^ ((round as u64) << 24) ^ draw as u64,
    )
}

/// A configuration as one value index per axis.
type Coords = Vec<usize>;

/// The space: each axis's number of values and whether its values are ordered numbers.
struct Space {
    sizes: Vec<usize>,
    ordered: Vec<bool>,
}

impl Space {
    fn index(&self, coords: &[usize]) -> usize {
        coords
            .iter()
            .zip(&self.sizes)
            .fold(0usize, |acc, (c, n)| acc * n + c)
    }

    fn coords(&self, mut index: usize) -> Vec<usize> {
        let mut out = vec![0; self.sizes.len()];
        for k in (0..self.sizes.len()).rev() {
            out[k] = index % self.sizes[k];
            index /= self.sizes[k];
        }
        out
    }

    /// The axes with more than one value.
    fn free_axes(&self) -> Vec<usize> {
        (0..self.sizes.len())
            .filter(|k| self.sizes[*k] > 1)
            .collect()
    }

    /// `from` with each axis redrawn with probability `2 / axes` (at least one axis): the
    /// first rounds explore around the model's current settings, not the whole space at once
    /// (where most draws switch several triggers off or combine every extreme).
    fn perturbed(&self, from: &[usize], r: &mut KeyedRng) -> Vec<usize> {
        let free = self.free_axes();
        let mut c = from.to_vec();
        if free.is_empty() {
            return c;
        }
        let p = (2.0 / free.len() as f64).min(0.5);
        let mut moved = false;
        for k in &free {
            if r.unit() < p {
                c[*k] = r.below(self.sizes[*k] as u64) as usize;
                moved |= c[*k] != from[*k];
            }
        }
        if !moved {
            let k = free[r.below(free.len() as u64) as usize];
            let n = self.sizes[k];
            c[k] = (from[k] + 1 + r.below(n as u64 - 1) as usize) % n;
        }
        c
    }

    /// `from` moved one to three times: each move one step on a drawn axis (ordered), or to
    /// another value (unordered).
    fn neighbour(&self, from: &[usize], r: &mut KeyedRng) -> Vec<usize> {
        let free = self.free_axes();
        let mut c = from.to_vec();
        if free.is_empty() {
            return c;
        }
        // Mostly one axis: a single change is the easiest to attribute and to keep.
        let moves = match r.below(10) {
            0..=5 => 1,
            6..=8 => 2,
            _ => 3,
        };
        // Each move one step on an axis drawn anew (an axis drawn twice moves twice).
        for _ in 0..moves {
            let k = free[r.below(free.len() as u64) as usize];
            let n = self.sizes[k];
            c[k] = if self.ordered[k] {
                match (c[k], r.below(2)) {
                    (0, _) => 1,
                    (v, _) if v + 1 == n => v - 1,
                    (v, 0) => v - 1,
                    (v, _) => v + 1,
                }
            } else {
                (c[k] + 1 + r.below(n as u64 - 1) as usize) % n
            };
        }
        c
    }

    /// Every configuration one step from `from`: each free axis moved to a neighbouring value
    /// (ordered) or to each other value (unordered). The descent's candidates.
    fn steps(&self, from: &[usize]) -> Vec<Vec<usize>> {
        let mut out = Vec::new();
        for k in self.free_axes() {
            let n = self.sizes[k];
            let to: Vec<usize> = if self.ordered[k] {
                [from[k].checked_sub(1), Some(from[k] + 1).filter(|v| *v < n)]
                    .into_iter()
                    .flatten()
                    .collect()
            } else {
                (0..n).filter(|v| *v != from[k]).collect()
            };
            for v in to {
                let mut c = from.to_vec();
                c[k] = v;
                out.push(c);
            }
        }
        out
    }

    /// Draw from per-axis Parzen estimators fitted to `ranked` (coordinates, best first).
    fn tpe(&self, ranked: &[Vec<usize>], round: usize, seed: u64, count: usize) -> Vec<Vec<usize>> {
        let mut axes = Vec::with_capacity(self.sizes.len());
        for (k, n) in self.sizes.iter().enumerate() {
            if *n < 2 {
                axes.push(None);
                continue;
            }
            let built = if self.ordered[k] {
                tpe::range(0.0, *n as f64).map(|r| (tpe::parzen_estimator(), r))
            } else {
                tpe::categorical_range(*n).map(|r| (tpe::histogram_estimator(), r))
            };
            let Ok((est, range)) = built else {
                axes.push(None);
                continue;
            };
            let mut o = tpe::TpeOptimizerBuilder::new()
                .gamma(0.15)
                .build(est, range)
                .ok();
            if let Some(o) = o.as_mut() {
                for (rank, c) in ranked.iter().enumerate() {
                    let p = if self.ordered[k] {
                        c[k] as f64 + 0.5
                    } else {
                        c[k] as f64
                    };
                    let _ = o.tell(p, rank as f64);
                }
            }
            axes.push(o);
        }
        (0..count)
            .map(|draw| {
                let mut r = rng(seed, TPE, round, draw);
                axes.iter_mut()
                    .zip(&self.sizes)
                    .map(|(o, n)| match o {
                        Some(o) => match o.ask(&mut r) {
                            Ok(v) if v.is_finite() => (v.floor().max(0.0) as usize).min(n - 1),
                            _ => r.below(*n as u64) as usize,
                        },
                        None => 0,
                    })
                    .collect()
            })
            .collect()
    }
}

impl Sweep<'_> {
    /// Run the optimizer's rounds and decide the best with every seed; `ran` counts the
    /// evaluations run now.
    pub(super) fn optimize(&mut self, ran: &mut usize) -> Result<Optimized, TuneError> {
        let x = self.x.clone();
        let s = &x.search;
        let values = x.values();
        let space = Space {
            sizes: values.iter().map(|v| v.len()).collect(),
            ordered: values
                .iter()
                .map(|v| v.iter().all(|s| s.trim().parse::<f64>().is_ok()))
                .collect(),
        };
        // The engine decides with every seed: a verdict from one seed is often reversed by
        // the others near a constraint's edge, and the search would chase it.
        let seeds = x.seeds.clone();
        let grid = x.grid_size();
        let budget = s.budget.min(grid);
        let started = std::time::Instant::now();
        let mut decided: Vec<usize> = Vec::new();
        let mut screened: BTreeSet<usize> = BTreeSet::new();
        let mut round = 0usize;
        // The model's current settings: per axis the value that is the current setting, or
        // stands for it, else the first.
        let current: Vec<usize> = self
            .current_settings()
            .iter()
            .zip(&x.axes)
            .zip(&values)
            .map(|((cur, axis), vals)| {
                cur.iter()
                    .position(|c| *c)
                    .or_else(|| {
                        let v = axis.stands_for_current.as_ref()?;
                        vals.iter().position(|x| x == v)
                    })
                    .unwrap_or(0)
            })
            .collect();
        // The structural findings of a run of the current settings, as moves: each on its
        // own, and all together (the point the first rounds explore around).
        let moves = self.advised_moves(&current);
        let mut advised = current.clone();
        for (k, v) in &moves {
            advised[*k] = *v;
        }
        while decided.len() < budget {
            if s.budget_s
                .is_some_and(|t| started.elapsed().as_secs_f64() > t && !decided.is_empty())
            {
                break;
            }
            let want = s.batch.min(budget - decided.len());
            let pool_size = (want * s.screen).min(grid - decided.len());
            let taken: BTreeSet<usize> = decided.iter().copied().collect();
            // Every decided configuration best first, the best of each distinct outcome, and
            // whether the best meets every constraint.
            let (ranked_now, best_feasible): ((Vec<Coords>, Vec<Coords>), bool) = {
                let rows = self.aggregate(&decided, Fidelity::Engine, &seeds, 1.0);
                let ranked = analysis::ranked(&rows, &x);
                (
                    (
                        ranked.iter().map(|r| space.coords(r.config)).collect(),
                        distinct(&ranked)
                            .iter()
                            .map(|r| space.coords(r.config))
                            .collect(),
                    ),
                    ranked.first().is_some_and(|r| r.feasible),
                )
            };
            let mut pool: Vec<usize> = Vec::new();
            let push = |c: Vec<usize>, pool: &mut Vec<usize>| {
                let i = space.index(&c);
                if !taken.contains(&i) && !pool.contains(&i) {
                    pool.push(i);
                }
            };
            if round == 0 {
                push(current.clone(), &mut pool);
                push(advised.clone(), &mut pool);
                for (k, v) in &moves {
                    let mut c = current.clone();
                    c[*k] = *v;
                    push(c, &mut pool);
                }
            }
            let warm = decided.len() >= 2 * s.batch && !ranked_now.1.is_empty();
            if warm {
                let half = pool_size.div_ceil(2);
                for c in space.tpe(&ranked_now.0, round, s.seed, half * 2) {
                    if pool.len() >= half {
                        break;
                    }
                    push(c, &mut pool);
                }
                // Around the best distinct outcomes so far (configurations whose figures are
                // all equal behave alike: moving one of them again explores nothing new).
                let parents = &ranked_now.1;
                let mut draw = 0;
                while pool.len() < pool_size && draw < pool_size * 20 {
                    let mut r = rng(s.seed, LOCAL, round, draw);
                    let parent = &parents[draw % parents.len().min(3)];
                    push(space.neighbour(parent, &mut r), &mut pool);
                    draw += 1;
                }
            }
            let mut draw = 0;
            while pool.len() < pool_size && draw < pool_size * 20 + 100 {
                let mut r = rng(s.seed, UNIFORM, round, draw);
                push(space.perturbed(&advised, &mut r), &mut pool);
                draw += 1;
            }
            // The descent, once a configuration meets every constraint: every configuration
            // one step from the best so far, screened by the fluid approximation on top of the
            // pool; the best of them by its ranking are decided each round (a pattern search,
            // the part that keeps improving the best once the rest has found its region).
            // Not before: the fluid approximation cannot see every miss (a consumer's
            // windows), and would lead the descent from a missing configuration to its
            // cheaper, further-missing side.
            let mut descent: Vec<usize> = Vec::new();
            if warm && best_feasible {
                for c in space.steps(&ranked_now.0[0]) {
                    let i = space.index(&c);
                    if !taken.contains(&i) {
                        if !pool.contains(&i) {
                            pool.push(i);
                        }
                        descent.push(i);
                    }
                }
            }
            if pool.is_empty() {
                break;
            }
            pool.sort_unstable();
            screened.extend(pool.iter().copied());
            let phase = format!("round {} (fluid, {} candidates)", round + 1, pool.len());
            *ran += self.batch(&phase, self.keys(&pool, Fidelity::Fluid, &[0], 1.0))?;
            let rows = self.aggregate(&pool, Fidelity::Fluid, &[0], 1.0);
            // The current settings and the advised point are decided whatever the screen says.
            let forced: Vec<usize> = if round == 0 {
                let mut f = vec![space.index(&current), space.index(&advised)];
                f.dedup();
                f.retain(|i| !taken.contains(i));
                f.truncate(want);
                f
            } else {
                vec![]
            };
            // Half of the rest by the fluid screen's ranking, half in the order proposed
            // (shuffled): the fluid approximation ranks cost well but misses some
            // constraints (consumers' window misses), and a screen that alone chose would
            // keep the search among configurations it wrongly thinks feasible.
            let ranked_fluid: Vec<usize> = analysis::ranked(&rows, &x)
                .into_iter()
                .map(|r| r.config)
                .collect();
            let mut chosen: Vec<usize> = forced.clone();
            // A quarter of the round descends from the best so far.
            chosen.extend(
                ranked_fluid
                    .iter()
                    .filter(|c| descent.contains(*c))
                    .take(want.div_ceil(4).min(want - chosen.len())),
            );
            let by_fluid = (want - chosen.len()).div_ceil(2);
            chosen.extend(
                ranked_fluid
                    .iter()
                    .filter(|c| !chosen.contains(c))
                    .take(by_fluid)
                    .collect::<Vec<_>>(),
            );
            let mut rest: Vec<usize> = pool
                .iter()
                .copied()
                .filter(|c| !chosen.contains(c))
                .collect();
            let mut r = rng(s.seed, SHUFFLE, round, 0);
            for i in (1..rest.len()).rev() {
                rest.swap(i, r.below(i as u64 + 1) as usize);
            }
            rest.truncate(want - chosen.len());
            chosen.extend(rest);
            chosen.sort_unstable();
            let phase = format!(
                "round {} (engine, {} configurations)",
                round + 1,
                chosen.len()
            );
            *ran += self.batch(&phase, self.keys(&chosen, Fidelity::Engine, &seeds, 1.0))?;
            decided.extend(chosen);
            round += 1;
        }
        let rows = self.aggregate(&decided, Fidelity::Engine, &seeds, 1.0);
        let convergence = convergence(&decided, &rows, &x);
        Ok(Optimized {
            screened: screened.into_iter().collect(),
            decided,
            convergence,
        })
    }
}

impl Sweep<'_> {
    /// The axis moves the structural findings of a run of the current settings point at
    /// ([`crate::lint::run::Advice`]): a trigger on a queue its deployment does not consume
    /// switched off, a capacity-bound maximum raised to its highest value. Only moves some axis can
    /// make; none when the run cannot be made.
    fn advised_moves(&self, current: &[usize]) -> Vec<(usize, usize)> {
        let x = &self.x;
        let Some(w) = self.workloads.first() else {
            return vec![];
        };
        let Ok(loaded) = self.model.compile(&[]) else {
            return vec![];
        };
        let Ok((m, workload, cfg)) =
            super::evaluate::prepare(&self.model, x, w, &[], 1.0, x.seeds[0], true)
        else {
            return vec![];
        };
        let o = crate::engine::run(&m, &workload, cfg);
        let found = crate::lint::run::lint_run(
            &m,
            &loaded.manifests,
            &o,
            &o.decisions,
            &crate::lint::run::RunLimits::default(),
        );
        let values = x.values();
        let mut out: Vec<(usize, usize)> = Vec::new();
        for a in &found.advice {
            let tail = format!(".{}", a.field);
            let Some(k) = x.axes.iter().position(|ax| {
                ax.path.ends_with(&tail)
                    && ax
                        .path
                        .strip_prefix("manifest.")
                        .and_then(|r| r.split('.').next())
                        .is_some_and(|o| o.rsplit('/').next() == Some(a.autoscaler.as_str()))
            }) else {
                continue;
            };
            // A maximum only caps: raised to the axis's highest value, it costs pods only
            // when the autoscaler asks for them.
            let to = if a.raise {
                let now: f64 = values[k][current[k]].parse().unwrap_or(f64::NAN);
                values[k]
                    .iter()
                    .enumerate()
                    .filter_map(|(i, v)| v.parse::<f64>().ok().map(|f| (i, f)))
                    .filter(|(_, f)| *f > now)
                    .max_by(|p, q| p.1.total_cmp(&q.1))
                    .map(|(i, _)| i)
            } else {
                values[k]
                    .iter()
                    .position(|v| v == crate::scenario::ITEM_OFF)
            };
            if let Some(v) = to
                && v != current[k]
                && !out.iter().any(|(j, _)| *j == k)
            {
                out.push((k, v));
            }
        }
        out
    }
}

/// Of rows whose figures are all equal (they behave alike: their differences lie in settings
/// the runs never reached), the first; order kept.
fn distinct<'r>(ranked: &[&'r Row]) -> Vec<&'r Row> {
    let mut seen: Vec<[u64; 4]> = Vec::new();
    let mut out = Vec::new();
    for r in ranked {
        let key = [
            r.pod_hours.mean.to_bits(),
            r.p95_ms.mean.to_bits(),
            r.window_attainment.mean.to_bits(),
            r.scaling_events.to_bits(),
        ];
        if !seen.contains(&key) {
            seen.push(key);
            out.push(*r);
        }
    }
    out
}

/// The best feasible objective after each decided configuration, in decision order.
fn convergence(decided: &[usize], rows: &[Row], x: &super::Experiment) -> Vec<Convergence> {
    let mut best: Option<f64> = None;
    decided
        .iter()
        .enumerate()
        .filter_map(|(i, c)| {
            let r = rows.iter().find(|r| r.config == *c)?;
            let cost = r.objective(x);
            if r.feasible && best.is_none_or(|b| cost < b) {
                best = Some(cost);
            }
            Some(Convergence {
                evaluation: i + 1,
                config: *c,
                cost: cost.is_finite().then_some(cost),
                feasible: r.feasible,
                best_feasible: best,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn space() -> Space {
        Space {
            sizes: vec![4, 1, 3, 2],
            ordered: vec![true, true, true, false],
        }
    }

    #[test]
    fn indices_and_coordinates_agree() {
        let s = space();
        for i in 0..24 {
            assert_eq!(s.index(&s.coords(i)), i);
        }
    }

    #[test]
    fn a_neighbour_moves_ordered_axes_by_steps_and_stays_in_range() {
        let s = space();
        let from = vec![3, 0, 1, 0];
        for d in 0..200 {
            let mut r = rng(7, LOCAL, 0, d);
            let c = s.neighbour(&from, &mut r);
            assert!(c.iter().zip(&s.sizes).all(|(v, n)| v < n), "{c:?}");
            assert_eq!(c[1], 0, "a one-value axis never moves");
            assert!(c[0].abs_diff(from[0]) <= 3 && c[2].abs_diff(from[2]) <= 3);
        }
    }

    #[test]
    fn the_descent_steps_once_on_every_free_axis() {
        let s = space();
        let steps = s.steps(&[3, 0, 1, 0]);
        assert_eq!(
            steps,
            vec![
                vec![2, 0, 1, 0],
                vec![3, 0, 0, 0],
                vec![3, 0, 2, 0],
                vec![3, 0, 1, 1]
            ]
        );
        // At the bottom of an ordered axis, only up.
        assert!(s.steps(&[0, 0, 1, 1]).contains(&vec![1, 0, 1, 1]));
        assert!(!s.steps(&[0, 0, 1, 1]).iter().any(|c| c[1] != 0));
    }

    #[test]
    fn tpe_draws_lean_towards_the_best_values_and_repeat() {
        let s = Space {
            sizes: vec![10],
            ordered: vec![true],
        };
        // The best configurations have value 7; the rest are spread.
        let mut ranked: Vec<Vec<usize>> = vec![vec![7]; 6];
        ranked.extend((0..10).map(|v| vec![v]).chain((0..10).map(|v| vec![v])));
        let a = s.tpe(&ranked, 3, 11, 40);
        assert_eq!(a, s.tpe(&ranked, 3, 11, 40));
        let near = a.iter().filter(|c| c[0].abs_diff(7) <= 1).count();
        assert!(near > 20, "{near} of 40 draws within one step of 7: {a:?}");
    }
}
