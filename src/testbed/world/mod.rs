//! The testbed's state: pods, queues, scrapes and autoscalers, changed under one lock by the
//! request handlers and the control loop. Model time is wall time since the clock started,
//! times the time scale, in µs.

mod control;

use crate::cluster::controllers::{self, PodStatus, SyncInputs};
use crate::cluster::metrics::{Scrape, keep_scrape, scrape_quantile, scrape_rate};
use crate::cluster::pods::{Deletion, Life, Pods, Usage};
use crate::cluster::{PodState, Replicas};
use crate::engine::model::{Model, QueueKind, Routing, SignalRef};
use crate::engine::outcome::DecisionRecord;

/// Decisions a testbed keeps (the latest): about 17 days of 15-s syncs of one autoscaler.
const DECISIONS_KEPT: usize = 100_000;
use crate::engine::rng::{KeyedRng, Stream};
use crate::policy::hpa::{HpaSpec, HpaState};
use crate::policy::keda::{self, KedaState};
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap, VecDeque};
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::time::Instant;

/// A pod's work, by its id in the cluster's pods.
struct Pod {
    in_flight: u32,
    /// Requests waiting for a slot of this pod (they receive the pod when it is theirs).
    waiting: VecDeque<oneshot::Sender<usize>>,
    usage: Usage,
}

#[derive(Default)]
struct Dep {
    shared_waiting: VecDeque<oneshot::Sender<usize>>,
    completed_total: f64,
    /// Every answer its pods gave (successes and answered failures): `Counted::All`.
    answered_total: f64,
    tokens: f64,
    buckets: Vec<f64>,
    scrapes: VecDeque<Scrape>,
    in_system: u64,
    rr: usize,
    failures: u64,
}

#[derive(Clone, Copy, Debug)]
pub(super) struct Job {
    queue: usize,
    enqueued: i64,
    key: u64,
}

/// A job a consumer pod has taken: sleep `service`, then [`World::complete_job`].
pub(super) struct JobStart {
    pub service: Duration,
    pod: usize,
    job: Job,
}

/// A pod as the exported pod series show it.
pub(super) struct PodRow {
    pub deployment: String,
    pub serial: u64,
    pub container: String,
    pub created_unix: f64,
    pub ready_unix: Option<f64>,
    pub cpu_seconds: f64,
    pub memory_bytes: f64,
    pub cpu_request_cores: f64,
    pub memory_request_bytes: f64,
}

/// What happens to an arriving request.
pub(super) enum Admit {
    Start(usize),
    Wait(usize, oneshot::Receiver<usize>),
    /// Refused: the status, why, and whether a pod answered it (a full queue) rather than
    /// the service having no ready pod.
    Rejected(u16, &'static str, bool),
}

struct AsRt {
    hpa: HpaSpec,
    hpa_state: HpaState,
    keda: Option<(keda::ScaledObjectSpec, KedaState, Vec<Option<SignalRef>>)>,
    hpa_signals: Vec<(String, SignalRef)>,
    name: String,
    dep: usize,
    desired: i32,
}

/// A prometheus trigger's value from a real server: `((autoscaler, trigger), value)`.
pub(super) type Fetched = ((usize, usize), Result<Option<f64>, String>);

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Timer {
    Scrape,
    MetricsServer,
    KedaPoll(usize),
    HpaSync(usize),
    PodStarted(usize),
    PodReady(usize),
    EndpointGone(usize),
    Kill(usize),
}

pub(super) struct World {
    pub(super) m: Model,
    seed: u64,
    scale: f64,
    clock: Option<Instant>,
    /// The clock's start as UNIX seconds (pod timestamps in the exported series).
    clock_unix: f64,
    now: i64,
    /// Every pod's life and each deployment's pods, endpoints and replicas.
    cluster: Pods,
    /// Each pod's work, by the same id.
    pods: Vec<Pod>,
    deps: Vec<Dep>,
    queues: Vec<VecDeque<Job>>,
    pending: Vec<u64>,
    autoscalers: Vec<AsRt>,
    timers: BinaryHeap<Reverse<(i64, u64, Timer)>>,
    seq: u64,
    keys: u64,
    keep_us: i64,
    requests: u64,
    ok: u64,
    rejected: u64,
    /// Values of prometheus triggers fetched from a real server for this control step.
    fetched: HashMap<(usize, usize), Result<Option<f64>, String>>,
    log: Vec<String>,
    /// Every KEDA poll and HPA sync, as the simulator records them (the latest
    /// `DECISIONS_KEPT`).
    decisions: VecDeque<DecisionRecord>,
    /// The deployment that consumes each broker queue (computed once).
    consumers: Vec<Option<usize>>,
}

fn us(s: f64) -> i64 {
    (s * 1e6).round() as i64
}

impl World {
    pub(super) fn new(m: Model, seed: u64, scale: f64) -> World {
        let nb = m.metrics.latency_buckets_s.len() + 1;
        let mut w = World {
            deps: (0..m.deployments.len())
                .map(|_| Dep {
                    buckets: vec![0.0; nb],
                    ..Dep::default()
                })
                .collect(),
            queues: vec![VecDeque::new(); m.queues.len()],
            pending: vec![0; m.queues.len()],
            autoscalers: Vec::new(),
            seed,
            scale,
            clock: None,
            clock_unix: 0.0,
            now: 0,
            cluster: Pods::new(m.deployments.len()),
            pods: Vec::new(),
            timers: BinaryHeap::new(),
            seq: 0,
            keys: 0,
            keep_us: 0,
            requests: 0,
            ok: 0,
            rejected: 0,
            fetched: HashMap::new(),
            log: Vec::new(),
            decisions: VecDeque::new(),
            consumers: (0..m.queues.len())
                .map(|q| m.deployments.iter().position(|d| d.consumes.contains(&q)))
                .collect(),
            m,
        };
        let mut window = us(60.0);
        for a in &w.m.autoscalers {
            let (hpa, k, hpa_signals) = a.runtime();
            let sigs = k
                .iter()
                .flat_map(|k| k.2.iter().flatten())
                .chain(hpa_signals.iter().map(|x| &x.1));
            for s in sigs {
                if let SignalRef::RequestRate { window_us, .. }
                | SignalRef::LatencyQuantile { window_us, .. }
                | SignalRef::TokenRate { window_us, .. } = s
                {
                    window = window.max(*window_us);
                }
            }
            w.autoscalers.push(AsRt {
                desired: w.m.deployments[a.deployment].initial_replicas as i32,
                hpa,
                hpa_state: HpaState::default(),
                keda: k,
                hpa_signals,
                name: a.name.clone(),
                dep: a.deployment,
            });
        }
        w.keep_us = window + us(2.0 * w.m.metrics.scrape_interval_s);
        for d in 0..w.m.deployments.len() {
            let n = w.m.deployments[d].initial_replicas;
            w.cluster.deps[d].replicas = Replicas::starting_at(n);
            for _ in 0..n {
                let p = w.new_pod(d, -600_000_000);
                w.cluster.start(p as u32, -600_000_000);
                w.make_ready(p);
            }
        }
        w
    }

    /// Start the model clock now (false when it was already running).
    pub(super) fn start_clock(&mut self) -> bool {
        if self.clock.is_some() {
            return false;
        }
        self.clock = Some(Instant::now());
        self.clock_unix = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0);
        self.schedule(us(self.m.metrics.scrape_interval_s), Timer::Scrape);
        self.schedule(
            us(self.m.metrics.metrics_server_resolution_s),
            Timer::MetricsServer,
        );
        let sync = self.m.controller.sync_period.as_micros();
        for i in 0..self.autoscalers.len() {
            if self.autoscalers[i].keda.is_some() {
                self.schedule(0, Timer::KedaPoll(i));
            }
            self.schedule(sync, Timer::HpaSync(i));
        }
        true
    }

    pub(super) fn clock_started(&self) -> bool {
        self.clock.is_some()
    }

    /// Model time now, µs (0 before the clock starts).
    fn model_now(&self) -> i64 {
        match self.clock {
            Some(c) => (c.elapsed().as_secs_f64() * self.scale * 1e6) as i64,
            None => 0,
        }
    }

    fn wall(&self, model_us: i64) -> Instant {
        let c = self.clock.unwrap_or_else(Instant::now);
        c + Duration::from_secs_f64((model_us.max(0) as f64 * 1e-6) / self.scale)
    }

    fn to_wall(&self, model_us: i64) -> Duration {
        Duration::from_secs_f64((model_us.max(0) as f64 * 1e-6) / self.scale)
    }

    fn schedule(&mut self, t: i64, timer: Timer) {
        self.seq += 1;
        self.timers.push(Reverse((t, self.seq, timer)));
    }

    /// The next control step: its model time and when it is due on the wall clock.
    pub(super) fn next_control(&self) -> (i64, Instant) {
        match self.timers.peek() {
            Some(Reverse((t, _, _))) => (*t, self.wall(*t)),
            None => {
                let t = self.model_now() + us(1.0);
                (t, self.wall(t))
            }
        }
    }

    /// The prometheus triggers of the autoscalers due by `t`: `((autoscaler, trigger), query,
    /// ignoreNullValues)`.
    pub(super) fn prometheus_queries_due(&self, t: i64) -> Vec<((usize, usize), String, bool)> {
        let mut due: Vec<usize> = self
            .timers
            .iter()
            .filter(|Reverse((at, _, _))| *at <= t)
            .filter_map(|Reverse((_, _, tm))| match tm {
                Timer::KedaPoll(i) | Timer::HpaSync(i) => Some(*i),
                _ => None,
            })
            .collect();
        due.sort_unstable();
        due.dedup();
        let mut out = Vec::new();
        for i in due {
            if let Some(k) = &self.autoscalers[i].keda {
                for (j, tr) in k.0.triggers.iter().enumerate() {
                    if let keda::Scaler::Prometheus {
                        query,
                        ignore_null_values,
                        ..
                    } = &tr.scaler
                    {
                        out.push(((i, j), query.clone(), *ignore_null_values));
                    }
                }
            }
        }
        out
    }

    /// Run every timer due by `t`. Returns the jobs consumer pods took (to serve) and the
    /// scaling decisions that changed something (to print).
    pub(super) fn run_control(
        &mut self,
        t: i64,
        fetched: Vec<Fetched>,
    ) -> (Vec<JobStart>, Vec<String>) {
        self.fetched = fetched.into_iter().collect();
        let mut jobs = Vec::new();
        while let Some(Reverse((at, _, tm))) = self.timers.peek().copied() {
            if at > t {
                break;
            }
            self.timers.pop();
            self.now = at;
            match tm {
                Timer::Scrape => {
                    self.scrape();
                    self.schedule(at + us(self.m.metrics.scrape_interval_s), Timer::Scrape);
                }
                Timer::MetricsServer => {
                    self.metrics_server();
                    let r = us(self.m.metrics.metrics_server_resolution_s);
                    self.schedule(at + r, Timer::MetricsServer);
                }
                Timer::KedaPoll(i) => self.keda_poll(i, &mut jobs),
                Timer::HpaSync(i) => self.hpa_sync(i, &mut jobs),
                Timer::PodStarted(p) => {
                    if self.cluster.start(p as u32, at) {
                        self.pods[p].usage.cpu_updated = at;
                        let dep = self.life(p).dep as usize;
                        let d = self.m.deployments[dep].readiness_initial_delay_us;
                        self.schedule(at + d, Timer::PodReady(p));
                    }
                }
                Timer::PodReady(p) => {
                    if self.cluster.passes_readiness(p as u32) {
                        self.make_ready(p);
                        jobs.extend(self.pull(p));
                    }
                }
                Timer::EndpointGone(p) => {
                    self.cluster.leave_endpoints(p as u32);
                    self.maybe_gone(p);
                }
                Timer::Kill(p) => self.kill(p),
            }
        }
        self.fetched.clear();
        (jobs, std::mem::take(&mut self.log))
    }

    // ---- pods ---------------------------------------------------------------------------

    fn life(&self, p: usize) -> &Life {
        &self.cluster.lives[p]
    }

    /// The ready pods of deployment `dep`, as the Service lists them.
    fn endpoints(&self, dep: usize) -> Vec<usize> {
        self.cluster.deps[dep]
            .endpoints
            .iter()
            .map(|p| *p as usize)
            .collect()
    }

    fn new_pod(&mut self, dep: usize, now: i64) -> usize {
        let p = self.cluster.create(&self.m, dep, now) as usize;
        self.pods.push(Pod {
            in_flight: 0,
            waiting: VecDeque::new(),
            usage: Usage::new(now),
        });
        p
    }

    fn make_ready(&mut self, p: usize) {
        self.cluster.make_ready(p as u32, self.now);
    }

    fn maybe_gone(&mut self, p: usize) {
        let pod = &self.pods[p];
        if self
            .cluster
            .may_go(p as u32, pod.in_flight == 0 && pod.waiting.is_empty())
        {
            self.gone(p);
        }
    }

    fn gone(&mut self, p: usize) {
        self.cluster.remove(p as u32);
        self.pods[p].waiting.clear();
    }

    fn kill(&mut self, p: usize) {
        if self.life(p).state == PodState::Gone {
            return;
        }
        self.cluster.leave_endpoints(p as u32);
        let dep = self.life(p).dep as usize;
        // Waiting requests lose their pod (their handlers answer 502); work in service is
        // counted as failed when it ends.
        let dropped = self.pods[p].waiting.len() as u64;
        self.deps[dep].failures += dropped + self.pods[p].in_flight as u64;
        self.deps[dep].in_system -= dropped.min(self.deps[dep].in_system);
        self.gone(p);
    }

    /// Make the deployment's pod count follow `n` (the Deployment/ReplicaSet controller).
    fn set_replicas(&mut self, dep: usize, n: u32) {
        match self.cluster.scale(dep, n) {
            None => {}
            Some(Ok(create)) => {
                for _ in 0..create {
                    let p = self.new_pod(dep, self.now);
                    let delay = self.cluster.startup_delay(&self.m, self.seed, p as u32);
                    self.schedule(self.now + delay, Timer::PodStarted(p));
                }
            }
            Some(Err(victims)) => {
                for p in victims {
                    match self.cluster.delete(&self.m, p, self.now) {
                        Deletion::Now => self.gone(p as usize),
                        Deletion::Drain {
                            endpoint_gone_at,
                            kill_at,
                        } => {
                            self.schedule(endpoint_gone_at, Timer::EndpointGone(p as usize));
                            self.schedule(kill_at, Timer::Kill(p as usize));
                        }
                    }
                }
            }
        }
    }

    pub(super) fn pod_name(&self, p: usize) -> crate::policy::hpa::Name {
        self.life(p).name.clone()
    }

    fn next_key(&mut self) -> u64 {
        self.keys += 1;
        self.keys
    }

    /// Route an arriving request of the entry deployment to a pod.
    pub(super) fn admit(&mut self) -> Admit {
        let dep = self.m.entry;
        self.requests += 1;
        let key = self.next_key();
        let dm = &self.m.deployments[dep];
        let (conc, qlimit, shared) = (dm.concurrency, dm.queue_limit as usize, dm.shared_queue);
        let eps = self.endpoints(dep);
        if eps.is_empty() {
            return Admit::Rejected(503, "no ready pods", false);
        }
        if shared {
            if let Some(&p) = eps.iter().find(|p| self.pods[**p].in_flight < conc) {
                self.pods[p].in_flight += 1;
                self.deps[dep].in_system += 1;
                return Admit::Start(p);
            }
            if self.deps[dep].shared_waiting.len() >= qlimit {
                return Admit::Rejected(503, "queue full", true);
            }
            let (tx, rx) = oneshot::channel();
            self.deps[dep].shared_waiting.push_back(tx);
            self.deps[dep].in_system += 1;
            return Admit::Wait(eps[0], rx);
        }
        let p = match dm.routing {
            Routing::Random => {
                let r = KeyedRng::new(self.seed, Stream::Routing, key).next_u64();
                eps[(r % eps.len() as u64) as usize]
            }
            Routing::RoundRobin => {
                let d = &mut self.deps[dep];
                d.rr = d.rr.wrapping_add(1);
                eps[d.rr % eps.len()]
            }
            Routing::LeastOutstanding => *eps
                .iter()
                .min_by_key(|p| self.pods[**p].in_flight as usize + self.pods[**p].waiting.len())
                .unwrap_or(&eps[0]),
        };
        if self.pods[p].in_flight < conc {
            self.pods[p].in_flight += 1;
            self.deps[dep].in_system += 1;
            return Admit::Start(p);
        }
        if self.pods[p].waiting.len() >= qlimit {
            return Admit::Rejected(503, "queue full", true);
        }
        let (tx, rx) = oneshot::channel();
        self.pods[p].waiting.push_back(tx);
        self.deps[dep].in_system += 1;
        Admit::Wait(p, rx)
    }

    /// Count a request of the entry deployment refused or given up on; `answered` when a pod
    /// had taken it (a full queue's 503, a timeout's 504), so its request counter counts it.
    pub(super) fn count_rejected(&mut self, answered: bool) {
        self.rejected += 1;
        if answered {
            self.deps[self.m.entry].answered_total += 1.0;
        }
    }

    /// The entry deployment's client timeout on the wall clock.
    pub(super) fn entry_timeout(&self) -> Option<Duration> {
        let t = self.m.deployments[self.m.entry].timeout_us;
        (t < i64::MAX / 2).then(|| self.to_wall(t))
    }

    /// A service time for a request on pod `p`, on the wall clock.
    pub(super) fn service_time(&mut self, p: usize) -> Duration {
        let key = self.next_key();
        let dm = &self.m.deployments[self.life(p).dep as usize];
        let s = dm
            .service
            .sample(&mut KeyedRng::new(self.seed, Stream::Work, key));
        Duration::from_secs_f64(s.max(0.0) / self.scale)
    }

    /// Count a finished unit of work of deployment `dep` that took `latency_model_s`.
    fn account(&mut self, p: usize, latency_model_s: f64) {
        let dep = self.life(p).dep as usize;
        let dm = &self.m.deployments[dep];
        let tokens = dm.tokens.as_ref().map(|t| {
            t.sample(&mut KeyedRng::new(
                self.seed,
                Stream::Work,
                self.keys ^ 0x5a5a << 48,
            ))
        });
        let now = self.model_now();
        let bounds = &self.m.metrics.latency_buckets_s;
        let i = bounds.partition_point(|b| *b < latency_model_s);
        let d = &mut self.deps[dep];
        d.completed_total += 1.0;
        d.answered_total += 1.0;
        d.buckets[i] += 1.0;
        d.tokens += tokens.unwrap_or(0.0);
        self.pods[p].usage.work_done(&self.m.deployments[dep], now);
    }

    /// Hand pod `p`'s freed slot to the next waiting request, if any is still waiting.
    fn hand_slot(&mut self, p: usize) {
        let dep = self.life(p).dep as usize;
        if self.life(p).state == PodState::Gone {
            return;
        }
        loop {
            let next = if self.m.deployments[dep].shared_queue {
                self.deps[dep].shared_waiting.pop_front()
            } else {
                self.pods[p].waiting.pop_front()
            };
            let Some(tx) = next else { break };
            self.pods[p].in_flight += 1;
            if tx.send(p).is_ok() {
                return;
            }
            // That request gave up waiting.
            self.pods[p].in_flight -= 1;
            self.deps[dep].in_system = self.deps[dep].in_system.saturating_sub(1);
        }
    }

    /// A request on pod `p` finished after `wall_s` seconds; returns the jobs it fanned out
    /// that consumer pods took.
    pub(super) fn complete(&mut self, p: usize, wall_s: f64) -> Vec<JobStart> {
        let dep = self.life(p).dep as usize;
        self.pods[p].in_flight = self.pods[p].in_flight.saturating_sub(1);
        self.deps[dep].in_system = self.deps[dep].in_system.saturating_sub(1);
        self.ok += 1;
        self.account(p, wall_s * self.scale);
        let jobs = self.fan_out(dep);
        self.hand_slot(p);
        self.maybe_gone(p);
        jobs
    }

    fn fan_out(&mut self, dep: usize) -> Vec<JobStart> {
        let now = self.model_now();
        let mut started = Vec::new();
        let fan = self.m.deployments[dep].fan_out.clone();
        for (q, count) in fan {
            let key = self.next_key();
            let n = count.sample(&mut KeyedRng::new(self.seed, Stream::FanOut, key));
            for _ in 0..n {
                let key = self.next_key();
                if self.queues[q].len() >= self.m.queues[q].max_length {
                    if let Some(c) = self.consumer_of(q) {
                        self.deps[c].failures += 1;
                    }
                    continue;
                }
                self.queues[q].push_back(Job {
                    queue: q,
                    enqueued: now,
                    key,
                });
            }
            if let Some(c) = self.consumer_of(q) {
                let eps = self.endpoints(c);
                for p in eps {
                    started.extend(self.pull(p));
                }
            }
        }
        started
    }

    fn consumer_of(&self, q: usize) -> Option<usize> {
        self.consumers[q]
    }

    /// A ready consumer pod takes jobs while it has free slots (queues in priority order).
    fn pull(&mut self, p: usize) -> Vec<JobStart> {
        let mut out = Vec::new();
        let dep = self.life(p).dep as usize;
        if self.life(p).state != PodState::Ready || self.life(p).deleting {
            return out;
        }
        let dm = &self.m.deployments[dep];
        let (conc, consumes) = (dm.concurrency, dm.consumes.clone());
        while self.pods[p].in_flight < conc {
            let Some(q) = consumes
                .iter()
                .copied()
                .find(|q| !self.queues[*q].is_empty())
            else {
                break;
            };
            let Some(job) = self.queues[q].pop_front() else {
                break;
            };
            if self.m.queues[q].kind == QueueKind::Stream {
                self.pending[q] += 1;
            }
            self.pods[p].in_flight += 1;
            self.deps[dep].in_system += 1;
            let s = self.m.deployments[dep].service.sample(&mut KeyedRng::new(
                self.seed,
                Stream::Work,
                job.key,
            ));
            out.push(JobStart {
                service: Duration::from_secs_f64(s.max(0.0) / self.scale),
                pod: p,
                job,
            });
        }
        out
    }

    /// A job finished on its consumer pod.
    /// The deployment whose pod is processing `j`, unless the pod is gone (its job is lost
    /// or redelivered, not done).
    pub(super) fn job_deployment(&self, j: &JobStart) -> Option<String> {
        let life = self.life(j.pod);
        (life.state != PodState::Gone).then(|| self.m.deployments[life.dep as usize].name.clone())
    }

    pub(super) fn complete_job(&mut self, j: JobStart) -> Vec<JobStart> {
        let p = j.pod;
        let dep = self.life(p).dep as usize;
        let q = j.job.queue;
        let stream = self.m.queues[q].kind == QueueKind::Stream;
        if stream {
            self.pending[q] = self.pending[q].saturating_sub(1);
        }
        if self.life(p).state == PodState::Gone {
            // Killed mid-job: a stream re-delivers the entry, a list loses it.
            if stream {
                self.queues[q].push_front(j.job);
            }
            return Vec::new();
        }
        self.pods[p].in_flight = self.pods[p].in_flight.saturating_sub(1);
        self.deps[dep].in_system = self.deps[dep].in_system.saturating_sub(1);
        let latency = (self.model_now() - j.job.enqueued).max(0) as f64 * 1e-6;
        self.account(p, latency);
        let mut out = self.fan_out(dep);
        out.extend(self.pull(p));
        self.maybe_gone(p);
        out
    }

    // ---- metrics ------------------------------------------------------------------------

    // ---- reading ------------------------------------------------------------------------

    /// Per deployment: `(name, spec replicas, pods not deleting, ready pods, in system)`.
    pub(super) fn deployments(&self) -> Vec<(String, u32, u32, u32, u64)> {
        (0..self.deps.len())
            .map(|d| {
                let alive = self.cluster.alive(d) as u32;
                (
                    self.m.deployments[d].name.clone(),
                    self.cluster.deps[d].replicas.spec,
                    alive,
                    self.ready_pods(d) as u32,
                    self.deps[d].in_system,
                )
            })
            .collect()
    }

    /// Per autoscaler (the HPA, KEDA's for a ScaledObject): `(hpa name, deployment, desired,
    /// min, max)`.
    pub(super) fn hpas(&self) -> Vec<(String, String, i32, i32, i32)> {
        self.autoscalers
            .iter()
            .map(|a| {
                let name = match &a.keda {
                    Some(k) => k.0.hpa_name(),
                    None => a.name.clone(),
                };
                (
                    name,
                    self.m.deployments[a.dep].name.clone(),
                    a.desired,
                    a.hpa.min_replicas,
                    a.hpa.max_replicas,
                )
            })
            .collect()
    }

    /// Every pod not gone, as kube-state-metrics and cAdvisor would report it (times as
    /// UNIX seconds on the wall clock; CPU in model seconds).
    pub(super) fn pod_rows(&self) -> Vec<PodRow> {
        if self.clock.is_none() {
            return Vec::new();
        }
        let now = self.model_now();
        let unix = |t: i64| self.clock_unix + t.max(0) as f64 * 1e-6 / self.scale;
        self.cluster
            .lives
            .iter()
            .zip(&self.pods)
            .filter(|(l, _)| l.state != PodState::Gone)
            .map(|(l, p)| {
                let dm = &self.m.deployments[l.dep as usize];
                let running = matches!(l.state, PodState::Running | PodState::Ready);
                let idle = if running {
                    dm.idle_cpu_millicores * 1e-3 * (now - p.usage.cpu_updated).max(0) as f64 * 1e-6
                } else {
                    0.0
                };
                PodRow {
                    deployment: dm.name.clone(),
                    serial: l.serial,
                    container: dm.container.clone(),
                    created_unix: unix(l.created),
                    ready_unix: (l.state == PodState::Ready && l.ready_at != i64::MIN)
                        .then(|| unix(l.ready_at)),
                    cpu_seconds: p.usage.cpu_s + idle,
                    memory_bytes: if running {
                        dm.memory_base_bytes + dm.memory_per_inflight_bytes * p.in_flight as f64
                    } else {
                        0.0
                    },
                    cpu_request_cores: dm.cpu_request_milli as f64 / 1000.0,
                    memory_request_bytes: dm.memory_request_bytes,
                }
            })
            .collect()
    }

    /// Per ScaledObject trigger, the value KEDA's exporter reports as
    /// `keda_scaler_metrics_value`: `(scaledObject, trigger index, scaler, metric, value)`,
    /// read now as the trigger reads it (triggers without a value are left out).
    pub(super) fn scaler_values(&self) -> Vec<(String, usize, String, String, f64)> {
        let mut out = Vec::new();
        for (i, a) in self.autoscalers.iter().enumerate() {
            let Some(k) = &a.keda else { continue };
            for (idx, t) in k.0.triggers.iter().enumerate() {
                if let Ok(Some(v)) = self.trigger_value(i, idx, &k.2) {
                    out.push((
                        k.0.name.clone(),
                        idx,
                        t.exporter_scaler_name(),
                        t.metric_name(idx),
                        v,
                    ));
                }
            }
        }
        out
    }

    /// Waiting items per broker queue.
    pub(super) fn queue_lengths(&self) -> Vec<(String, u64)> {
        self.m
            .queues
            .iter()
            .enumerate()
            .map(|(q, m)| (m.name.clone(), self.queues[q].len() as u64))
            .collect()
    }

    pub(super) fn model_seconds(&self) -> f64 {
        self.model_now() as f64 * 1e-6
    }

    pub(super) fn time_scale(&self) -> f64 {
        self.scale
    }

    pub(super) fn status_json(&self) -> String {
        let deps: Vec<serde_json::Value> = self
            .deployments()
            .into_iter()
            .map(|(name, spec, alive, ready, in_system)| {
                serde_json::json!({"name": name, "replicas": spec, "pods": alive,
                    "ready": ready, "in_system": in_system})
            })
            .collect();
        let queues: BTreeMap<String, u64> = self.queue_lengths().into_iter().collect();
        serde_json::json!({
            "model_seconds": self.model_seconds(),
            "time_scale": self.scale,
            "requests": self.requests,
            "ok": self.ok,
            "rejected": self.rejected,
            "deployments": deps,
            "queues": queues,
        })
        .to_string()
            + "\n"
    }

    /// Record a poll's or a sync's decision.
    fn decided(
        &mut self,
        object: &str,
        controller: &str,
        current: i32,
        desired: i32,
        changed: bool,
        reason: String,
    ) {
        self.keep_decision(DecisionRecord::at(
            self.now, object, controller, current, desired, changed, reason,
        ));
    }

    /// Keep `d`, dropping the oldest beyond [`DECISIONS_KEPT`].
    pub(super) fn keep_decision(&mut self, d: DecisionRecord) {
        if self.decisions.len() == DECISIONS_KEPT {
            self.decisions.pop_front();
        }
        self.decisions.push_back(d);
    }

    pub(super) fn summary(&self) -> super::Summary {
        super::Summary {
            model_seconds: self.model_seconds(),
            requests: self.requests,
            ok: self.ok,
            rejected: self.rejected,
            scaling_events: self
                .cluster
                .deps
                .iter()
                .map(|d| u64::from(d.replicas.scale_events))
                .sum(),
            deployments: (0..self.deps.len())
                .map(|d| {
                    (
                        self.m.deployments[d].name.clone(),
                        self.cluster.deps[d].replicas,
                    )
                })
                .collect(),
            decisions: self.decisions.iter().cloned().collect(),
        }
    }
}
