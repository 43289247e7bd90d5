//! A fluid approximation of the engine: the cheap fidelity of a sweep.
//!
//! Time advances in ticks of one second. Requests are a flow, not individuals: each tick a
//! deployment receives `rate × 1 s` requests (the workload's scheduled rate, the replayed
//! trace's count in that second, or for a closed loop `users / (think + latency)`; queue
//! consumers receive what waits in their queues), serves up to its capacity
//! `ready pods × concurrency / mean service time`, and carries the rest as a backlog.
//! Backlog beyond the queue limit, or older than the client timeout, fails; so does every
//! request that arrives while no pod is ready.
//!
//! Latency of a tick: the backlog's wait `backlog / capacity`, plus the stationary M/M/c tail
//! of the tick's load (Erlang C with `c = ready pods × concurrency`: the 95th percentile of
//! the wait is `ln(P_wait / 0.05) / (cμ − λ)` when positive), combined with the service
//! time's own tail as `mean + √((s95 − mean)² + w95²)`. A window's p95 (and the run's) is the
//! request-weighted 95th percentile of its ticks' values.
//!
//! The autoscalers are the real policy code ([`keda::poll`], [`hpa::reconcile`]) on their own
//! periods, reading signals computed from the flow: request and token rates averaged over
//! their window as of the last scrape, in-flight work, queue lengths, the latency estimate,
//! CPU from `cpu_seconds_per_request` per served request plus idle. Pods become ready after
//! the mean start-up time plus the readiness delay; deleted pods stop serving at once and
//! are paid for until their endpoint is removed. Replica-set victims are the newest pods.
//!
//! It is orders of magnitude faster than the engine and ranks configurations similarly; a
//! sweep measures how similarly (rank correlation, whether the winner changes) whenever it
//! uses it. It has no randomness: every seed gives the same figures.

use super::model::{Counted, Model, SignalRef};
use super::workload::Workload;
use super::{RunConfig, dist::DurationDist};
use crate::cluster::controllers::{self, PodStatus, SyncInputs};
use crate::cluster::{self, Replicas};
use crate::policy::hpa::{HpaSpec, HpaState};
use crate::policy::keda::{KedaState, ScaledObjectSpec};

/// What a fluid run gives, for the entry deployment (latency, success, windows) and for the
/// whole model (pod-hours, cost).
#[derive(Clone, Debug, PartialEq)]
pub struct FluidOutcome {
    pub p95_ms: f64,
    pub success_rate: f64,
    pub window_attainment: f64,
    pub windows: u32,
    pub windows_attained: u32,
    pub pod_hours: f64,
    pub cost: f64,
    pub scaling_events: u32,
    pub oscillations: u32,
    /// The same figures for every deployment, in the model's order (the entry's are the
    /// ones above).
    pub deployments: Vec<FluidFigures>,
}

/// One deployment's figures under the fluid approximation.
#[derive(Clone, Debug, PartialEq)]
pub struct FluidFigures {
    pub name: String,
    pub p95_ms: f64,
    pub success_rate: f64,
    pub window_attainment: f64,
    pub windows: u32,
    pub windows_attained: u32,
}

#[derive(Clone, Debug)]
struct FPod {
    serial: u64,
    /// `<deployment>-<serial>`, as the HPA lists it (formatted once).
    name: crate::policy::hpa::Name,
    created: f64,
    ready_at: f64,
}

#[derive(Clone, Debug, Default)]
struct FDep {
    pods: Vec<FPod>,
    /// spec.replicas and the record of its changes.
    replicas: Replicas,
    backlog: f64,
    busy: f64,
    pod_seconds: f64,
    /// Per tick: arrivals/s, latency estimate (s).
    rate: Vec<f32>,
    latency: Vec<f32>,
    served: Vec<f32>,
    ok: f64,
    failed: f64,
    cpu_milli: f64,
    sampled_at: f64,
}

struct FAs {
    hpa: HpaSpec,
    state: HpaState,
    keda: Option<(ScaledObjectSpec, KedaState, Vec<Option<SignalRef>>)>,
    hpa_signals: Vec<(String, SignalRef)>,
    dep: usize,
    next_poll: f64,
}

/// The 95th percentile of a service-time distribution, in seconds.
pub fn p95_of(d: &DurationDist) -> f64 {
    match d {
        DurationDist::Deterministic { value } => *value,
        DurationDist::Exponential { mean } => mean * 20f64.ln(),
        DurationDist::Lognormal { p95, .. } => *p95,
        DurationDist::Gamma { mean, cv } => {
            // Wilson–Hilferty: shape k = 1/cv².
            let k = 1.0 / (cv * cv);
            let z = 1.644_853_626_951_472_2;
            let a = 1.0 - 1.0 / (9.0 * k) + z * (1.0 / (9.0 * k)).sqrt();
            mean * a.powi(3)
        }
        DurationDist::Uniform { min, max } => min + 0.95 * (max - min),
        DurationDist::Empirical { samples, .. } => {
            let mut s = samples.clone();
            s.sort_by(f64::total_cmp);
            s.get(((s.len() as f64 * 0.95) as usize).min(s.len().saturating_sub(1)))
                .copied()
                .unwrap_or(0.0)
        }
    }
}

/// Erlang C: the probability that an arrival waits in M/M/c with offered load `a = λ/μ`.
fn erlang_c(c: u32, a: f64) -> f64 {
    if c == 0 || a >= c as f64 {
        return 1.0;
    }
    let mut b = 1.0;
    for k in 1..=c {
        b = a * b / (k as f64 + a * b);
    }
    let rho = a / c as f64;
    b / (1.0 - rho * (1.0 - b))
}

/// Request-weighted quantile of per-tick values.
fn weighted_quantile(v: &mut [(f32, f32)], q: f64) -> f64 {
    let total: f64 = v.iter().map(|x| x.1 as f64).sum();
    if total <= 0.0 {
        return 0.0;
    }
    v.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut acc = 0.0;
    for (val, w) in v.iter() {
        acc += *w as f64;
        if acc >= q * total {
            return *val as f64;
        }
    }
    v.last().map(|x| x.0 as f64).unwrap_or(0.0)
}

struct Fluid<'m> {
    m: &'m Model,
    wl: &'m Workload,
    cfg: &'m RunConfig,
    now: f64,
    deps: Vec<FDep>,
    queues: Vec<f64>,
    serial: u64,
    replay_idx: usize,
    s_mean: Vec<f64>,
    s95: Vec<f64>,
    startup: Vec<f64>,
    /// Mean tokens per completed request or job.
    tokens: Vec<f64>,
    erlang: std::collections::HashMap<(u32, u32), f64>,
}

impl Fluid<'_> {
    fn ready(&self, dep: usize) -> usize {
        self.deps[dep]
            .pods
            .iter()
            .filter(|p| p.ready_at <= self.now)
            .count()
    }

    /// Mean of the per-tick series over the trailing window, as of the last scrape.
    fn trailing(&self, series: &[f32], window_s: f64) -> Option<f64> {
        let scrape = self.m.metrics.scrape_interval_s.max(1.0);
        let end = ((self.now / scrape).floor() * scrape) as usize;
        let end = end.min(series.len());
        let start = end.saturating_sub(window_s.max(1.0) as usize);
        if end <= start {
            return None;
        }
        Some(series[start..end].iter().map(|x| *x as f64).sum::<f64>() / (end - start) as f64)
    }

    fn signal(&self, s: &SignalRef) -> Result<Option<f64>, String> {
        Ok(match s {
            // `all` counts every arrival (the fluid view does not set apart those refused
            // while no pod was ready); `ok` counts the served.
            SignalRef::RequestRate {
                dep,
                window_us,
                count,
            } => {
                let d = &self.deps[*dep];
                let series = match count {
                    Counted::All => &d.rate,
                    Counted::Ok => &d.served,
                };
                self.trailing(series, *window_us as f64 * 1e-6)
            }
            SignalRef::TokenRate { dep, window_us } => {
                let per = self.tokens[*dep];
                self.trailing(&self.deps[*dep].served, *window_us as f64 * 1e-6)
                    .map(|r| r * per)
            }
            SignalRef::InFlight { dep } => Some(self.deps[*dep].backlog + self.deps[*dep].busy),
            SignalRef::LatencyQuantile { dep, window_us, .. } => {
                self.trailing(&self.deps[*dep].latency, *window_us as f64 * 1e-6)
            }
            SignalRef::QueueLength { queue } | SignalRef::StreamLag { queue } => {
                Some(self.queues[*queue])
            }
            SignalRef::StreamPending { queue } => Some(self.consumer_busy(*queue)),
            SignalRef::StreamLength { queue } => {
                Some(self.queues[*queue] + self.consumer_busy(*queue))
            }
            SignalRef::Constant(v) => Some(*v),
            SignalRef::Schedule(points) => {
                Some(SignalRef::scheduled(points, (self.now * 1e6) as i64))
            }
            SignalRef::OfferedRate => Some(self.offered(self.now)),
        })
    }

    fn consumer_busy(&self, q: usize) -> f64 {
        self.m
            .deployments
            .iter()
            .position(|d| d.consumes.contains(&q))
            .map(|d| self.deps[d].busy)
            .unwrap_or(0.0)
    }

    fn offered(&self, t: f64) -> f64 {
        match self.wl {
            Workload::Open { schedule } => schedule.rate(t),
            Workload::Replay { times_s, .. } => {
                let n = times_s.partition_point(|x| *x <= t)
                    - times_s.partition_point(|x| *x <= t - 60.0);
                n as f64 / 60.0
            }
            Workload::Closed { .. } => 0.0,
        }
    }

    /// Arrivals at the entry during `[now, now + 1)`.
    fn arrivals(&mut self) -> f64 {
        let t = self.now;
        match self.wl {
            Workload::Open { schedule } => (schedule.rate(t) + schedule.rate(t + 0.5)) / 2.0,
            Workload::Replay { times_s, .. } => {
                let from = self.replay_idx;
                let mut i = from;
                while i < times_s.len() && times_s[i] < t + 1.0 {
                    i += 1;
                }
                self.replay_idx = i;
                (i - from) as f64
            }
            Workload::Closed { users } => {
                let active = if users.ramp_up_s > 0.0 {
                    (users.users as f64 * (t / users.ramp_up_s).min(1.0)).max(1.0)
                } else {
                    users.users as f64
                };
                let e = self.m.entry;
                let lat = self.deps[e]
                    .latency
                    .last()
                    .map(|x| *x as f64)
                    .unwrap_or(self.s_mean[e]);
                active / (users.think_s + lat.max(self.s_mean[e])).max(1e-3)
            }
        }
    }

    fn set_replicas(&mut self, dep: usize, n: u32) {
        let d = &mut self.deps[dep];
        if !d.replicas.set(n) {
            return;
        }
        let dm = &self.m.deployments[dep];
        while (d.pods.len() as u32) < n {
            self.serial += 1;
            d.pods.push(FPod {
                serial: self.serial,
                name: cluster::pod_name(&dm.name, self.serial),
                created: self.now,
                ready_at: self.now
                    + self.startup[dep]
                    + dm.readiness_initial_delay_us as f64 * 1e-6,
            });
        }
        // The ReplicaSet's victims (a pod here is started once it is ready).
        let now = self.now;
        let all: Vec<usize> = (0..d.pods.len()).collect();
        let k = d.pods.len().saturating_sub(n as usize);
        let rank = |i: usize| {
            let p = &d.pods[i];
            cluster::Candidate {
                ready: p.ready_at <= now,
                started: p.ready_at <= now,
                created_us: (p.created * 1e6).round() as i64,
                serial: p.serial,
            }
        };
        let victims: Vec<u64> = cluster::victims(&all, k, rank)
            .into_iter()
            .map(|i| d.pods[i].serial)
            .collect();
        for serial in victims {
            let idx = d.pods.iter().position(|p| p.serial == serial).unwrap_or(0);
            let p = d.pods.swap_remove(idx);
            d.pod_seconds +=
                (now - p.created.max(0.0)).max(0.0) + dm.endpoint_removal_delay_us as f64 * 1e-6;
        }
    }

    /// One second of flow for every deployment.
    fn flow(&mut self) {
        let entry_in = self.arrivals();
        let mut produced = vec![0.0; self.queues.len()];
        for dep in 0..self.deps.len() {
            let dm = &self.m.deployments[dep];
            let ready = self.ready(dep);
            let conc = dm.concurrency.max(1);
            let servers = ready as u32 * conc;
            let cap = servers as f64 / self.s_mean[dep].max(1e-9);
            let consumer = !dm.consumes.is_empty();
            let incoming = if consumer {
                0.0
            } else if dep == self.m.entry {
                entry_in
            } else {
                0.0
            };
            let d = &mut self.deps[dep];
            let (served, failed, lat);
            if consumer {
                // Pull from the queues in priority order, up to capacity.
                let mut room = cap;
                let mut got = 0.0;
                for q in &dm.consumes {
                    let take = self.queues[*q].min(room);
                    self.queues[*q] -= take;
                    room -= take;
                    got += take;
                }
                served = got;
                failed = 0.0;
                let waiting: f64 = dm.consumes.iter().map(|q| self.queues[*q]).sum();
                lat = self.s_mean[dep] + if cap > 0.0 { waiting / cap } else { 0.0 };
                d.rate.push(got as f32);
            } else if ready == 0 {
                served = 0.0;
                failed = incoming + d.backlog;
                d.backlog = 0.0;
                lat = 0.0;
                d.rate.push(incoming as f32);
            } else {
                let total = d.backlog + incoming;
                let s = total.min(cap);
                let mut left = total - s;
                let limit = if dm.shared_queue {
                    dm.queue_limit as f64
                } else {
                    dm.queue_limit as f64 * ready as f64
                };
                let timeout_s = dm.timeout_us as f64 * 1e-6;
                let by_timeout = cap * timeout_s;
                let keep = left.min(limit).min(by_timeout);
                let f = left - keep;
                left = keep;
                d.backlog = left;
                served = s;
                failed = f;
                // Stationary M/M/c wait for this tick's load, plus the backlog's wait.
                let lambda = incoming.min(cap * 0.999);
                let mu = 1.0 / self.s_mean[dep].max(1e-9);
                // Erlang C is O(servers): memoised on (servers, utilization to 0.1 %).
                let key = (servers, (lambda / (servers as f64 * mu) * 1000.0) as u32);
                let pw = *self
                    .erlang
                    .entry(key)
                    .or_insert_with(|| erlang_c(servers, key.1 as f64 / 1000.0 * servers as f64));
                let w95 = if pw > 0.05 {
                    (pw / 0.05).ln() / (servers as f64 * mu - lambda).max(1e-9)
                } else {
                    0.0
                };
                let tail = (self.s95[dep] - self.s_mean[dep]).max(0.0);
                lat = left / cap + self.s_mean[dep] + (tail * tail + w95 * w95).sqrt();
                d.rate.push(incoming as f32);
            }
            let d = &mut self.deps[dep];
            d.busy = (served * self.s_mean[dep]).min(servers as f64);
            d.ok += served;
            d.failed += failed;
            d.served.push(served as f32);
            d.latency.push(lat as f32);
            let per_pod = if ready > 0 {
                served / ready as f64
            } else {
                0.0
            };
            d.cpu_milli = dm.idle_cpu_millicores + dm.cpu_seconds_per_request * per_pod * 1e3;
            for (q, count) in &dm.fan_out {
                produced[*q] += served * count.mean();
            }
        }
        for (q, n) in produced.into_iter().enumerate() {
            self.queues[q] = (self.queues[q] + n).min(self.m.queues[q].max_length as f64);
        }
    }

    /// What the HPA sees of a deployment's pods: each started at its creation (or at the
    /// start of the run), ready from `ready_at`, and, once ready, carrying the deployment's
    /// mean CPU and memory as its metrics-server sample.
    fn pod_statuses(&self, dep: usize) -> Vec<PodStatus> {
        let dm = &self.m.deployments[dep];
        let d = &self.deps[dep];
        let ready = self.ready(dep).max(1) as f64;
        let mem =
            dm.memory_base_bytes + dm.memory_per_inflight_bytes * (d.busy + d.backlog) / ready;
        let sampled_at = (d.sampled_at * 1e6) as i64;
        d.pods
            .iter()
            .map(|p| {
                let ready = p.ready_at <= self.now;
                PodStatus {
                    name: p.name.clone(),
                    started: Some((p.created.max(-600.0) * 1e6) as i64),
                    ready,
                    ready_at: (p.ready_at * 1e6) as i64,
                    deleting: false,
                    // Memory in milli-bytes, truncated as the approximation always has.
                    sample: ready.then(|| (sampled_at, d.cpu_milli, (mem * 1e3).trunc())),
                }
            })
            .collect()
    }
}

/// Run the fluid approximation of `model` under `workload` for `cfg.duration_s`.
pub fn run(m: &Model, wl: &Workload, cfg: &RunConfig) -> FluidOutcome {
    let ticks = cfg.duration_s.max(1.0).ceil() as usize;
    let mut f = Fluid {
        m,
        wl,
        cfg,
        now: 0.0,
        deps: vec![FDep::default(); m.deployments.len()],
        queues: vec![0.0; m.queues.len()],
        serial: 0,
        replay_idx: 0,
        s_mean: m
            .deployments
            .iter()
            .map(|d| d.service_dist.mean())
            .collect(),
        s95: m
            .deployments
            .iter()
            .map(|d| p95_of(&d.service_dist))
            .collect(),
        startup: m.deployments.iter().map(|d| d.startup.mean()).collect(),
        tokens: m
            .deployments
            .iter()
            .map(|d| d.tokens.as_ref().map_or(0.0, |t| t.mean()))
            .collect(),
        erlang: Default::default(),
    };
    for (i, d) in m.deployments.iter().enumerate() {
        let fd = &mut f.deps[i];
        fd.replicas = Replicas::starting_at(d.initial_replicas);
        fd.rate.reserve(ticks);
        fd.latency.reserve(ticks);
        fd.served.reserve(ticks);
        for _ in 0..d.initial_replicas {
            f.serial += 1;
            fd.pods.push(FPod {
                serial: f.serial,
                name: cluster::pod_name(&d.name, f.serial),
                created: -600.0,
                ready_at: -600.0,
            });
        }
    }
    let mut scalers: Vec<FAs> = m
        .autoscalers
        .iter()
        .map(|a| {
            let (hpa, keda, hpa_signals) = a.runtime();
            FAs {
                hpa,
                state: HpaState::default(),
                keda,
                hpa_signals,
                dep: a.deployment,
                next_poll: 0.0,
            }
        })
        .collect();
    let sync = (m.controller.sync_period.as_micros() as f64 * 1e-6).max(1.0);
    let res = m.metrics.metrics_server_resolution_s.max(1.0);
    let mut next_sync = sync;
    let mut next_sample = res;
    for tick in 0..ticks {
        f.now = tick as f64;
        if f.now >= next_sample {
            for d in &mut f.deps {
                d.sampled_at = f.now;
            }
            next_sample += res;
        }
        for a in scalers.iter_mut() {
            let dep = a.dep;
            if let Some(k) = a.keda.as_mut()
                && f.now >= a.next_poll
            {
                let current = f.deps[dep].replicas.spec as i32;
                let ready = f.ready(dep) as i32;
                let fr = &f;
                let now_us = (f.now * 1e6) as i64;
                let (d, _) = controllers::poll_keda(k, current, ready, now_us, &|idx, sigs| {
                    controllers::trigger_signal(sigs, idx, &|s| fr.signal(s))
                });
                // Polls fall on whole seconds of the approximation's clock.
                a.next_poll = f.now + (k.0.polling_interval.as_micros() as f64 * 1e-6).max(1.0);
                if let Some(n) = d.set_replicas {
                    f.set_replicas(dep, n.max(0) as u32);
                }
            }
        }
        if f.now >= next_sync {
            next_sync += sync;
            for a in scalers.iter_mut() {
                if a.keda.as_ref().is_some_and(|k| !k.0.hpa_exists()) {
                    continue;
                }
                let dep = a.dep;
                let current = f.deps[dep].replicas.spec as i32;
                let status = f.deps[dep].pods.len() as i32;
                let fr = &f;
                let inputs = SyncInputs {
                    dm: &m.deployments[dep],
                    pods: fr.pod_statuses(dep),
                    resolution_s: m.metrics.metrics_server_resolution_s,
                    now_us: (fr.now * 1e6) as i64,
                    current,
                    status,
                    ready: fr.ready(dep) as i32,
                };
                let (_, desired) = controllers::sync_hpa(
                    &a.hpa,
                    &mut a.state,
                    a.keda.as_mut(),
                    &a.hpa_signals,
                    inputs,
                    &m.controller,
                    &|s| fr.signal(s),
                    &|idx, sigs| controllers::trigger_signal(sigs, idx, &|s| fr.signal(s)),
                );
                if let Some(n) = desired {
                    f.set_replicas(dep, n.max(0) as u32);
                }
            }
        }
        f.flow();
    }
    f.now = ticks as f64;
    finish(f)
}

fn finish(mut f: Fluid<'_>) -> FluidOutcome {
    let m = f.m;
    let (mut hours_all, mut cost_all) = (0.0, 0.0);
    for (i, d) in f.deps.iter_mut().enumerate() {
        for p in &d.pods {
            d.pod_seconds += (f.now - p.created.max(0.0)).max(0.0);
        }
        let dm = &m.deployments[i];
        let hours = d.pod_seconds / 3600.0;
        let c = &m.cost;
        cost_all += hours
            * (c.pod_hour
                + c.cpu_hour * dm.cpu_request_milli as f64 / 1000.0
                + c.gib_hour * dm.memory_request_bytes / (1u64 << 30) as f64);
        hours_all += hours;
    }
    let slo = f.cfg.slo;
    let w = f.cfg.window_s.max(1.0) as usize;
    let figures: Vec<FluidFigures> = f
        .deps
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let dm = &m.deployments[i];
            // As the engine: the entry falls back to the run's SLO, another deployment
            // without its own SLO meets every window.
            let slo_p95_s = dm
                .slo_p95_ms
                .or((i == m.entry).then_some(slo.p95_ms))
                .map(|p| p / 1e3);
            let mut all: Vec<(f32, f32)> = d
                .latency
                .iter()
                .copied()
                .zip(d.served.iter().copied())
                .collect();
            let (mut windows, mut attained) = (0u32, 0u32);
            for chunk in all.chunks(w) {
                let n: f64 = chunk.iter().map(|x| x.1 as f64).sum();
                if n <= 0.0 {
                    continue;
                }
                windows += 1;
                let mut c = chunk.to_vec();
                if slo_p95_s.is_none_or(|s| weighted_quantile(&mut c, 0.95) <= s) {
                    attained += 1;
                }
            }
            let total = d.ok + d.failed;
            FluidFigures {
                name: dm.name.clone(),
                p95_ms: weighted_quantile(&mut all, 0.95) * 1e3,
                success_rate: if total > 0.0 { d.ok / total } else { 1.0 },
                window_attainment: if windows == 0 {
                    1.0
                } else {
                    attained as f64 / windows as f64
                },
                windows,
                windows_attained: attained,
            }
        })
        .collect();
    let e = &f.deps[m.entry];
    let entry = &figures[m.entry];
    FluidOutcome {
        p95_ms: entry.p95_ms,
        success_rate: entry.success_rate,
        window_attainment: entry.window_attainment,
        windows: entry.windows,
        windows_attained: entry.windows_attained,
        pod_hours: hours_all,
        cost: cost_all,
        scaling_events: e.replicas.scale_events,
        oscillations: e.replicas.reversals,
        deployments: figures,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn erlang_c_matches_known_values() {
        // M/M/1: P(wait) = ρ.
        assert!((erlang_c(1, 0.8) - 0.8).abs() < 1e-12);
        // M/M/4 at ρ = 0.8 (a = 3.2): 0.5964 (tabulated).
        assert!(
            (erlang_c(4, 3.2) - 0.5964).abs() < 1e-3,
            "{}",
            erlang_c(4, 3.2)
        );
        assert_eq!(erlang_c(2, 2.5), 1.0);
    }

    #[test]
    fn weighted_quantiles_follow_the_weights() {
        let mut v = vec![(1.0, 90.0), (10.0, 10.0)];
        assert_eq!(weighted_quantile(&mut v, 0.5), 1.0);
        assert_eq!(weighted_quantile(&mut v, 0.95), 10.0);
    }
}
