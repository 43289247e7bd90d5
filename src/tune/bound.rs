//! The lower bound: the fewest pod-hours any autoscaler could have used for a workload while
//! meeting every SLO, given the start-up delay.
//!
//! A clairvoyant policy: for each window of the run and each deployment, the offered load is
//! the workload's mean rate over the window (for a consumer, its producers' rates times their
//! mean fan-out into the queues it consumes); the replica count is the smallest one whose
//! steady state meets the deployment's p95 bound and success rate at that load, found with the
//! engine (one deployment, that many fixed replicas, Poisson arrivals at that rate, a tenth of
//! the run as warm-up); every pod added is started its mean start-up time ahead and paid for
//! from its creation; pods leave the moment they are no longer needed. Rates are rounded down to
//! a 1 % geometric grid, so the bound stays below what the policy would need.

use crate::engine::{
    self, DeploymentModel, Model, Pattern, RateSchedule, RunConfig, Slo, Workload,
};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// The bound of one deployment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeploymentBound {
    pub name: String,
    pub pod_hours: f64,
    /// The largest count any window needed.
    pub peak_replicas: u32,
    /// The p95 bound it was sized for (ms; none: only stability).
    pub p95_ms: Option<f64>,
}

/// The bound of a workload.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LowerBound {
    pub pod_hours: f64,
    pub window_s: f64,
    pub deployments: Vec<DeploymentBound>,
}

/// Per deployment of `m`, the p95 bound (ms) and success rate it must meet.
pub type Bounds = Vec<(Option<f64>, f64)>;

/// Mean offered rate of the entry in each window of `wl` (`None` for a closed loop, whose
/// rate depends on the service).
fn entry_rates(wl: &Workload, duration_s: f64, window_s: f64) -> Option<Vec<f64>> {
    let n = (duration_s / window_s).ceil().max(1.0) as usize;
    match wl {
        Workload::Open { schedule } => Some(
            (0..n)
                .map(|w| {
                    let t0 = w as f64 * window_s;
                    let t1 = (t0 + window_s).min(duration_s);
                    let steps = ((t1 - t0).ceil() as usize).max(1);
                    let dt = (t1 - t0) / steps as f64;
                    (0..steps)
                        .map(|k| schedule.rate(t0 + (k as f64 + 0.5) * dt))
                        .sum::<f64>()
                        / steps as f64
                })
                .collect(),
        ),
        Workload::Replay { times_s, .. } => {
            let mut counts = vec![0.0; n];
            for t in times_s.iter().filter(|t| **t < duration_s) {
                counts[((t / window_s) as usize).min(n - 1)] += 1.0;
            }
            Some(counts.iter().map(|c| c / window_s).collect())
        }
        Workload::Closed { .. } => None,
    }
}

/// The offered rate of every deployment in every window: the entry's, then each consumer's
/// from its producers (in order, a chain of any depth).
fn rates(m: &Model, entry: Vec<f64>) -> Vec<Vec<f64>> {
    let n = entry.len();
    let mut out = vec![vec![0.0; n]; m.deployments.len()];
    out[m.entry] = entry;
    // Relax along the fan-out edges; a chain of k deployments settles in k passes.
    for _ in 0..m.deployments.len() {
        let mut next = vec![vec![0.0; n]; m.deployments.len()];
        next[m.entry] = out[m.entry].clone();
        for (p, d) in m.deployments.iter().enumerate() {
            for (q, count) in &d.fan_out {
                if let Some(c) = m.deployments.iter().position(|c| c.consumes.contains(q)) {
                    for w in 0..n {
                        next[c][w] += out[p][w] * count.mean();
                    }
                }
            }
        }
        out = next;
    }
    out
}

/// Round `rate` down to the 1 % geometric grid (as an index; `None` for no load).
fn grid(rate: f64) -> Option<i64> {
    (rate > 1e-9).then(|| (rate.ln() / 1.01f64.ln()).floor() as i64)
}

/// Whether `c` replicas of `d` meet `p95_ms` and `success` under Poisson arrivals at `rate`.
fn meets(
    d: &DeploymentModel,
    consumer: bool,
    c: u32,
    rate: f64,
    p95_ms: Option<f64>,
    success: f64,
) -> bool {
    let mut one = d.clone();
    one.consumes.clear();
    one.fan_out.clear();
    one.initial_replicas = c;
    if consumer {
        // A broker queue: one FIFO for every pod, no client timeout, no limit that matters.
        one.shared_queue = true;
        one.queue_limit = u32::MAX / 2;
        one.timeout_us = i64::MAX;
    }
    let mut m = Model::single(one);
    m.deployments[0].slo_p95_ms = p95_ms;
    // About 20,000 arrivals, at least 600 s.
    let duration_s = (20_000.0 / rate).clamp(600.0, 86_400.0 * 30.0);
    let wl = Workload::Open {
        schedule: RateSchedule::new(Pattern::Constant { rate }),
    };
    let cfg = RunConfig {
        duration_s,
        seed: 1,
        window_s: 60.0,
        slo: Slo {
            p95_ms: p95_ms.unwrap_or(f64::MAX),
            success_rate: success,
            window_attainment: 0.0,
        },
        record_decisions: false,
        warmup_s: duration_s / 10.0,
    };
    let o = engine::run(&m, &wl, cfg);
    let r = &o.deployments[0];
    r.success_rate >= success && p95_ms.is_none_or(|b| r.latency_ms.p95 <= b)
}

/// The lower bound of `m` under `wl` for `duration_s`, windows of `window_s`, each deployment
/// held to `bounds` (its p95 bound and success rate); `None` for a closed loop, or when some
/// window's load cannot meet a deployment's bounds with any replica count.
pub fn lower_bound(
    m: &Model,
    wl: &Workload,
    duration_s: f64,
    window_s: f64,
    bounds: &Bounds,
) -> Option<LowerBound> {
    let window_s = window_s.max(1.0);
    let per = rates(m, entry_rates(wl, duration_s, window_s)?);
    let mut deployments = Vec::new();
    for (i, d) in m.deployments.iter().enumerate() {
        let consumer = !d.consumes.is_empty();
        let (p95, success) = bounds.get(i).copied().unwrap_or((None, 0.0));
        let k = f64::from(d.concurrency.max(1));
        let s = d.service_dist.mean();
        // A p95 bound below the service time's own p95 is met by no count.
        if p95.is_some_and(|b| b < crate::engine::fluid::p95_of(&d.service_dist) * 1e3) {
            return None;
        }
        let mut cache: HashMap<i64, Option<u32>> = HashMap::new();
        let mut need = |rate: f64| -> Option<u32> {
            let Some(g) = grid(rate) else {
                return Some(0);
            };
            *cache.entry(g).or_insert_with(|| {
                let r = 1.01f64.powi(g as i32);
                // Below the offered work no count is stable; search upward from there. At
                // twice that, plus ten, waiting has all but gone: a bound not met there is
                // met by no count (a success rate the service's own failures miss).
                let stable = ((r * s / k).floor() as u32 + 1).max(1);
                (stable..=stable.saturating_mul(2).saturating_add(10))
                    .find(|c| meets(d, consumer, *c, r, p95, success))
            })
        };
        let startup = d.startup.mean();
        let (mut pod_s, mut prev, mut peak) = (0.0, 0u32, 0u32);
        for (w, rate) in per[i].iter().enumerate() {
            let c = need(*rate)?;
            let len = (duration_s - w as f64 * window_s).min(window_s);
            pod_s += c as f64 * len;
            if w > 0 && c > prev {
                pod_s += (c - prev) as f64 * startup;
            }
            prev = c;
            peak = peak.max(c);
        }
        deployments.push(DeploymentBound {
            name: d.name.clone(),
            pod_hours: pod_s / 3600.0,
            peak_replicas: peak,
            p95_ms: p95,
        });
    }
    Some(LowerBound {
        pod_hours: deployments.iter().map(|d| d.pod_hours).sum(),
        window_s,
        deployments,
    })
}

/// The bound of an experiment's current settings, weighted over its workloads as the rows
/// are (must-hold checks of weight 0 left out); `None` when a workload is a closed loop or
/// cannot be prepared.
pub fn of_experiment(
    x: &super::Experiment,
    model: &super::SweepModel,
    workloads: &[super::ResolvedWorkload],
) -> Option<LowerBound> {
    let seed = x.seeds.first().copied().unwrap_or(1);
    let wsum: f64 = workloads.iter().map(|w| w.weight).sum();
    let mut total: Option<LowerBound> = None;
    for w in workloads.iter().filter(|w| w.weight > 0.0) {
        let (m, wl, cfg) = super::evaluate::prepare(model, x, w, &[], 1.0, seed, false).ok()?;
        let bounds: Bounds = m
            .deployments
            .iter()
            .enumerate()
            .map(|(i, d)| {
                if i == m.entry {
                    (Some(cfg.slo.p95_ms), cfg.slo.success_rate)
                } else {
                    x.judged_deployments()
                        .find(|(n, _)| **n == d.name)
                        .map_or((None, 0.0), |(_, b)| {
                            (b.p95_ms, b.success_rate.unwrap_or(0.0))
                        })
                }
            })
            .collect();
        let b = lower_bound(&m, &wl, cfg.duration_s, cfg.window_s, &bounds)?;
        let k = w.weight / wsum;
        match total.as_mut() {
            None => {
                let mut b = b;
                b.pod_hours *= k;
                for d in &mut b.deployments {
                    d.pod_hours *= k;
                }
                total = Some(b);
            }
            Some(t) => {
                t.pod_hours += k * b.pod_hours;
                for (d, e) in t.deployments.iter_mut().zip(&b.deployments) {
                    d.pod_hours += k * e.pod_hours;
                    d.peak_replicas = d.peak_replicas.max(e.peak_replicas);
                }
            }
        }
    }
    total
}
