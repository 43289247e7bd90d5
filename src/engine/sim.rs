//! The discrete-event simulator.
//!
//! Events are ordered by (time, sequence number), so ties resolve in the order they were
//! scheduled and a run is a pure function of (model, workload, seed). Requests live in a slab
//! that is reused, latencies go into fixed-size histograms and time series are kept at a fixed
//! resolution: memory does not grow with the number of requests.

use super::histogram::Histogram;
use super::model::*;
use super::outcome::*;
use super::queue::{Ev, EventQueue};
use super::rng::{KeyedRng, Stream, mix};
use super::workload::{Workload, segment_arrivals};
use crate::policy::hpa::{HpaSpec, HpaState};
use crate::policy::keda::{self, KedaState, Trigger};
use crate::time::SimTime;
use std::collections::VecDeque;

/// Receives the time series rows and decisions as they are produced, so a long run does not
/// hold them in memory (the command line streams them to files).
pub trait RecordSink {
    fn series(&mut self, row: &SeriesRow);
    fn decision(&mut self, d: &DecisionRecord);
}

/// Settings of one run.
#[derive(Clone, Debug)]
pub struct RunConfig {
    pub duration_s: f64,
    pub seed: u64,
    /// SLO and time-series window.
    pub window_s: f64,
    pub slo: Slo,
    /// Keep the decision log (HPA syncs and KEDA polls).
    pub record_decisions: bool,
    /// Requests that arrive before this time are served but left out of the latency
    /// statistics (a warm-up, for steady-state measurements).
    pub warmup_s: f64,
}

impl Default for RunConfig {
    fn default() -> Self {
        RunConfig {
            duration_s: 3600.0,
            seed: 1,
            window_s: 60.0,
            slo: Slo::default(),
            record_decisions: true,
            warmup_s: 0.0,
        }
    }
}

const DONE: u8 = 1;
const POD_STARTED: u8 = 2;
const POD_READY: u8 = 3;
const ENDPOINT_GONE: u8 = 4;
const POD_KILL: u8 = 5;
const SCRAPE: u8 = 6;
const METRICS_SERVER: u8 = 7;
const KEDA_POLL: u8 = 8;
const HPA_SYNC: u8 = 9;
const WINDOW: u8 = 10;
const USER: u8 = 11;

const NO_QUEUE: u16 = u16::MAX;
const NO_USER: u32 = u32::MAX;

#[derive(Clone, Copy, Debug)]
struct Req {
    arrival: i64,
    key: u64,
    service_us: i64,
    dep: u16,
    /// Broker queue a job came from (`NO_QUEUE` for HTTP requests).
    queue: u16,
    user: u32,
    /// The replayed request's attribute (0 when there is none).
    attr: f32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PodState {
    Pending,
    Running,
    Ready,
    Gone,
}

#[derive(Clone, Debug)]
struct Pod {
    dep: u16,
    serial: u64,
    state: PodState,
    created: i64,
    started: i64,
    ready_at: i64,
    deleting: bool,
    in_endpoints: bool,
    in_flight: u32,
    queue: VecDeque<u32>,
    cpu_s: f64,
    cpu_updated: i64,
    cpu_at_sample: f64,
    sample: Option<(i64, f64, f64)>,
}

/// A Prometheus scrape of one deployment's counters.
#[derive(Clone, Debug)]
pub(crate) struct Scrape {
    pub(crate) t: i64,
    pub(crate) requests: f64,
    pub(crate) tokens: f64,
    pub(crate) buckets: Vec<f64>,
    pub(crate) in_flight: f64,
}

#[derive(Debug, Default)]
struct DepRt {
    pods: Vec<u32>,
    endpoints: Vec<u32>,
    rr: usize,
    shared: VecDeque<u32>,
    spec_replicas: u32,
    max_replicas: u32,
    // counters
    arrived: u64,
    succeeded: u64,
    failures: Failures,
    tokens: f64,
    completed_total: f64,
    buckets: Vec<f64>,
    scrapes: VecDeque<Scrape>,
    hist: Histogram,
    win_hist: Histogram,
    win_arrived: u64,
    win_ok: u64,
    win_fail: u64,
    // integrals
    last_t: i64,
    in_service: u64,
    in_system: u64,
    busy_area: f64,
    cap_area: f64,
    system_area: f64,
    sojourn_sum_s: f64,
    sojourn_n: u64,
    win_busy: f64,
    win_cap: f64,
    pod_seconds: f64,
    max_seen: u32,
    at_max_s: f64,
    scale_events: u32,
    ups: u32,
    downs: u32,
    reversals: u32,
    last_dir: i8,
    windows: u32,
    attained: u32,
    window_p95: Vec<(f64, bool, f64)>,
}

#[derive(Clone, Debug)]
struct AsRt {
    hpa: HpaSpec,
    hpa_state: HpaState,
    keda: Option<(keda::ScaledObjectSpec, KedaState, Vec<Option<SignalRef>>)>,
    hpa_signals: Vec<(String, SignalRef)>,
    name: String,
    dep: usize,
}

/// The simulator.
pub struct Sim<'m> {
    m: &'m Model,
    wl: &'m Workload,
    cfg: RunConfig,
    now: i64,
    end: i64,
    seq: u64,
    heap: EventQueue,
    reqs: Vec<Req>,
    free: Vec<u32>,
    pods: Vec<Pod>,
    deps: Vec<DepRt>,
    queues: Vec<VecDeque<u32>>,
    pending: Vec<u64>,
    autoscalers: Vec<AsRt>,
    arrivals: Vec<i64>,
    arrival_idx: usize,
    segment: u64,
    arrival_count: u64,
    user_iter: Vec<u64>,
    pod_serial: u64,
    events: u64,
    series: Vec<SeriesRow>,
    decisions: Vec<DecisionRecord>,
    window_us: i64,
    bucket_bounds_us: Vec<i64>,
    stress_break: Vec<Option<f64>>,
    scrape_keep_us: i64,
    /// Outstanding work per pod (in service + queued), kept compact for least-outstanding routing.
    load: Vec<u32>,
    /// In-flight count per pod for taking new work (`u32::MAX` once the pod is deleting).
    busy: Vec<u32>,
    /// Whether some trigger reads this deployment's latency histogram buckets.
    track_buckets: Vec<bool>,
    work_base: u64,
    routing_base: u64,
    /// Per deployment: label code of a replayed categorical attribute -> index into
    /// `service_by_label` (empty when the workload has no labels).
    label_samplers: Vec<Vec<Option<usize>>>,
    /// The deployment that consumes each queue (computed once, not per job).
    consumer_of: Vec<Option<usize>>,
    sink: Option<&'m mut dyn RecordSink>,
    warmup_us: i64,
    segment_s: f64,
}

#[inline]
fn us(s: f64) -> i64 {
    (s * 1e6).round() as i64
}

impl<'m> Sim<'m> {
    /// Prepare a run.
    pub fn new(m: &'m Model, wl: &'m Workload, cfg: RunConfig) -> Self {
        let window_us = us(cfg.window_s.max(1.0));
        let end = us(cfg.duration_s);
        let mut s = Sim {
            m,
            wl,
            now: 0,
            end,
            seq: 0,
            heap: EventQueue::with_capacity(1024),
            reqs: Vec::with_capacity(1024),
            free: Vec::new(),
            pods: Vec::new(),
            deps: (0..m.deployments.len()).map(|_| DepRt::default()).collect(),
            queues: vec![VecDeque::new(); m.queues.len()],
            pending: vec![0; m.queues.len()],
            autoscalers: Vec::new(),
            arrivals: Vec::new(),
            arrival_idx: 0,
            segment: 0,
            arrival_count: 0,
            user_iter: Vec::new(),
            pod_serial: 0,
            events: 0,
            series: Vec::new(),
            decisions: Vec::new(),
            window_us,
            bucket_bounds_us: m.metrics.latency_buckets_s.iter().map(|b| us(*b)).collect(),
            stress_break: vec![None; m.deployments.len()],
            scrape_keep_us: 0,
            load: Vec::new(),
            busy: Vec::new(),
            track_buckets: vec![false; m.deployments.len()],
            work_base: KeyedRng::base(cfg.seed, Stream::Work),
            consumer_of: (0..m.queues.len())
                .map(|q| m.deployments.iter().position(|d| d.consumes.contains(&q)))
                .collect(),
            label_samplers: match wl {
                Workload::Replay {
                    labels: Some(labels),
                    ..
                } => m
                    .deployments
                    .iter()
                    .map(|d| {
                        labels
                            .iter()
                            .map(|l| d.service_by_label.iter().position(|(x, _)| x == l))
                            .collect()
                    })
                    .collect(),
                _ => Vec::new(),
            },
            routing_base: KeyedRng::base(cfg.seed, Stream::Routing),
            sink: None,
            warmup_us: us(cfg.warmup_s),
            segment_s: match wl {
                Workload::Open { schedule } => schedule.segment_s(),
                Workload::Closed { .. } | Workload::Replay { .. } => 60.0,
            },
            cfg,
        };
        for d in &mut s.deps {
            d.buckets = vec![0.0; s.bucket_bounds_us.len() + 1];
            d.max_replicas = u32::MAX;
        }
        for a in &m.autoscalers {
            let (hpa, keda, hpa_signals) = a.runtime();
            s.deps[a.deployment].max_replicas = match &keda {
                Some((so, _, _)) => so.max_replica_count as u32,
                None => hpa.max_replicas as u32,
            };
            s.autoscalers.push(AsRt {
                hpa,
                hpa_state: HpaState::default(),
                keda,
                hpa_signals,
                name: a.name.clone(),
                dep: a.deployment,
            });
        }
        s.scrape_keep_us = s.max_window_us() + us(2.0 * m.metrics.scrape_interval_s);
        for a in &s.autoscalers {
            let keda = a.keda.iter().flat_map(|k| k.2.iter().flatten());
            for sig in keda.chain(a.hpa_signals.iter().map(|x| &x.1)) {
                if let SignalRef::LatencyQuantile { dep, .. } = sig {
                    s.track_buckets[*dep] = true;
                }
            }
        }
        s
    }

    #[inline]
    fn push(&mut self, t: i64, kind: u8, a: u32, b: u32) {
        self.seq += 1;
        self.heap.push(Ev::new(t, self.seq, kind, a, b));
    }

    /// Run to the end and return the outcome.
    pub fn run(mut self) -> Outcome {
        self.start();
        loop {
            // Open-loop arrivals are a sorted stream of their own, merged with the event heap
            // (an arrival goes first on a tie): one heap operation fewer per request.
            let arrival = self.next_arrival();
            let heap_t = self.heap.peek().map(|e| e.t);
            if let Some(ta) = arrival
                && heap_t.is_none_or(|th| ta <= th)
            {
                if ta > self.end {
                    break;
                }
                self.now = ta;
                self.events += 1;
                self.on_arrival();
                continue;
            }
            let Some(ev) = self.heap.pop() else { break };
            if ev.t > self.end {
                break;
            }
            self.now = ev.t;
            self.events += 1;
            match ev.kind() {
                DONE => self.on_done(ev.a, ev.b),
                POD_STARTED => self.on_started(ev.a),
                POD_READY => self.on_ready(ev.a),
                ENDPOINT_GONE => self.on_endpoint_gone(ev.a),
                POD_KILL => self.on_kill(ev.a),
                SCRAPE => self.on_scrape(),
                METRICS_SERVER => self.on_metrics_server(),
                KEDA_POLL => self.on_keda_poll(ev.a as usize),
                HPA_SYNC => self.on_hpa_sync(ev.a as usize),
                WINDOW => self.on_window(),
                USER => self.on_user(ev.a),
                _ => {}
            }
        }
        self.now = self.end;
        self.finish()
    }

    fn start(&mut self) {
        for (i, d) in self.m.deployments.iter().enumerate() {
            let n = d.initial_replicas;
            self.deps[i].spec_replicas = n;
            for _ in 0..n {
                let p = self.new_pod(i, -600_000_000);
                let pod = &mut self.pods[p as usize];
                pod.started = -600_000_000;
                pod.state = PodState::Running;
                self.make_ready(p);
            }
        }
        match self.wl {
            Workload::Open { .. } | Workload::Replay { .. } => {
                self.load_segment(0);
            }
            Workload::Closed { users } => {
                self.user_iter = vec![0; users.users as usize];
                for u in 0..users.users {
                    let t = if users.users > 1 {
                        us(users.ramp_up_s * u as f64 / users.users as f64)
                    } else {
                        0
                    };
                    self.push(t, USER, u, 0);
                }
            }
        }
        self.push(us(self.m.metrics.scrape_interval_s), SCRAPE, 0, 0);
        self.push(
            us(self.m.metrics.metrics_server_resolution_s),
            METRICS_SERVER,
            0,
            0,
        );
        let sync = self.m.controller.sync_period.as_micros();
        for i in 0..self.autoscalers.len() {
            if self.autoscalers[i].keda.is_some() {
                self.push(0, KEDA_POLL, i as u32, 0);
            }
            self.push(sync, HPA_SYNC, i as u32, 0);
        }
        self.push(self.window_us, WINDOW, 0, 0);
    }

    // ---- arrivals -------------------------------------------------------------------------

    fn load_segment(&mut self, seg: u64) {
        match self.wl {
            Workload::Open { schedule } => {
                let mut v = std::mem::take(&mut self.arrivals);
                segment_arrivals(schedule, self.cfg.seed, seg, self.segment_s, &mut v);
                self.arrivals = v;
                self.arrival_idx = 0;
                self.segment = seg;
            }
            Workload::Replay { times_s, .. } if seg == 0 => {
                // The recorded times are the arrivals (the segment counter stops further loads).
                self.arrivals = times_s.iter().map(|t| us(*t)).collect();
                self.arrival_idx = 0;
                self.segment = u64::MAX;
            }
            _ => {}
        }
    }

    /// The time of the next open-loop arrival, loading segments as needed.
    #[inline]
    fn next_arrival(&mut self) -> Option<i64> {
        if self.arrival_idx < self.arrivals.len() {
            return Some(self.arrivals[self.arrival_idx]);
        }
        if !matches!(self.wl, Workload::Open { .. }) || self.segment == u64::MAX {
            return None;
        }
        let max_seg = (self.cfg.duration_s / self.segment_s).ceil() as u64 + 1;
        while self.arrival_idx >= self.arrivals.len() {
            if self.segment >= max_seg {
                return None;
            }
            let next = self.segment + 1;
            self.load_segment(next);
        }
        Some(self.arrivals[self.arrival_idx])
    }

    fn on_arrival(&mut self) {
        self.arrival_idx += 1;
        let key = self.arrival_count;
        self.arrival_count += 1;
        let entry = self.m.entry;
        let attr = match self.wl {
            Workload::Replay { attrs: Some(a), .. } => {
                a.get(key as usize).copied().unwrap_or(0.0) as f32
            }
            _ => 0.0,
        };
        self.submit_http(entry, key, NO_USER, attr);
    }

    fn on_user(&mut self, u: u32) {
        let it = self.user_iter[u as usize];
        self.user_iter[u as usize] += 1;
        let key = mix((u as u64) << 32 | (it & 0xFFFF_FFFF)) ^ 0x5555;
        let entry = self.m.entry;
        self.submit_http(entry, key, u, 0.0);
    }

    fn user_done(&mut self, user: u32, key: u64) {
        if user == NO_USER {
            return;
        }
        if let Workload::Closed { users } = self.wl {
            let think =
                KeyedRng::new(self.cfg.seed, Stream::Think, key).exp(users.think_s.max(0.0));
            let t = self.now + us(think);
            self.push(t, USER, user, 0);
        }
    }

    fn alloc(&mut self, r: Req) -> u32 {
        match self.free.pop() {
            Some(i) => {
                self.reqs[i as usize] = r;
                i
            }
            None => {
                self.reqs.push(r);
                (self.reqs.len() - 1) as u32
            }
        }
    }

    #[inline]
    fn advance(&mut self, dep: usize) {
        let d = &mut self.deps[dep];
        let dt = (self.now - d.last_t) as f64 * 1e-6;
        if dt > 0.0 {
            let ready = d.endpoints.len() as f64;
            let conc = self.m.deployments[dep].concurrency as f64;
            d.busy_area += d.in_service as f64 * dt;
            d.win_busy += d.in_service as f64 * dt;
            let cap = ready * conc * dt;
            d.cap_area += cap;
            d.win_cap += cap;
            d.system_area += d.in_system as f64 * dt;
            d.last_t = self.now;
        }
    }

    /// A request's (or job's) service time: its keyed draw, by label for a categorical
    /// replayed attribute, plus the per-unit time of a numeric one.
    #[inline]
    fn service_time(&self, dep: usize, key: u64, attr: f32) -> i64 {
        let dm = &self.m.deployments[dep];
        let mut rng = KeyedRng::keyed(self.work_base, key);
        if let Some(table) = self.label_samplers.get(dep).filter(|t| !t.is_empty()) {
            let sampler = table
                .get(attr as usize)
                .copied()
                .flatten()
                .map(|i| &dm.service_by_label[i].1)
                .unwrap_or(&dm.service);
            return sampler.sample_micros(&mut rng);
        }
        let mut us = dm.service.sample_micros(&mut rng);
        if attr > 0.0 && dm.per_unit_s > 0.0 {
            us += (attr as f64 * dm.per_unit_s * 1e6) as i64;
        }
        us
    }

    fn submit_http(&mut self, dep: usize, key: u64, user: u32, attr: f32) {
        let dm = &self.m.deployments[dep];
        let service_us = self.service_time(dep, key, attr);
        let r = Req {
            arrival: self.now,
            key,
            service_us,
            dep: dep as u16,
            queue: NO_QUEUE,
            user,
            attr,
        };
        self.deps[dep].arrived += 1;
        self.deps[dep].win_arrived += 1;
        if self.deps[dep].endpoints.is_empty() {
            self.deps[dep].failures.no_endpoint += 1;
            self.deps[dep].win_fail += 1;
            self.user_done(user, key);
            return;
        }
        let id = self.alloc(r);
        self.advance(dep);
        self.deps[dep].in_system += 1;
        if dm.shared_queue {
            if let Some(p) = self.free_pod(dep) {
                self.start_service(p, id);
            } else if self.deps[dep].shared.len() < dm.queue_limit as usize {
                self.deps[dep].shared.push_back(id);
            } else {
                self.reject(dep, id, true);
            }
            return;
        }
        let p = self.route(dep, key);
        let pod = &mut self.pods[p as usize];
        if pod.in_flight < dm.concurrency {
            self.start_service(p, id);
        } else if pod.queue.len() < dm.queue_limit as usize {
            pod.queue.push_back(id);
            self.touch(p);
        } else {
            self.reject(dep, id, true);
        }
    }

    fn reject(&mut self, dep: usize, id: u32, queue_full: bool) {
        let r = self.reqs[id as usize];
        let d = &mut self.deps[dep];
        if queue_full {
            d.failures.queue_full += 1;
        } else {
            d.failures.timeout += 1;
        }
        d.win_fail += 1;
        d.in_system -= 1;
        self.free.push(id);
        self.user_done(r.user, r.key);
    }

    fn route(&mut self, dep: usize, key: u64) -> u32 {
        let d = &mut self.deps[dep];
        let n = d.endpoints.len();
        match self.m.deployments[dep].routing {
            Routing::Random => {
                d.endpoints[KeyedRng::keyed(self.routing_base, key).below(n as u64) as usize]
            }
            Routing::RoundRobin => {
                d.rr = (d.rr + 1) % n;
                d.endpoints[d.rr]
            }
            Routing::LeastOutstanding => {
                let load = &self.load;
                *d.endpoints
                    .iter()
                    .min_by_key(|p| load[**p as usize])
                    .unwrap()
            }
        }
    }

    /// Refresh the pod's outstanding-work count after its queue or in-flight count changed.
    #[inline]
    fn touch(&mut self, p: u32) {
        let pod = &self.pods[p as usize];
        self.load[p as usize] = pod.in_flight + pod.queue.len() as u32;
        self.busy[p as usize] = if pod.deleting {
            u32::MAX
        } else {
            pod.in_flight
        };
    }

    fn free_pod(&self, dep: usize) -> Option<u32> {
        let conc = self.m.deployments[dep].concurrency;
        let d = &self.deps[dep];
        let busy = &self.busy;
        d.endpoints
            .iter()
            .copied()
            .min_by_key(|p| busy[*p as usize])
            .filter(|p| busy[*p as usize] < conc)
    }

    fn start_service(&mut self, p: u32, id: u32) {
        let r = self.reqs[id as usize];
        let dep = r.dep as usize;
        let dm = &self.m.deployments[dep];
        if r.queue == NO_QUEUE && self.now - r.arrival > dm.timeout_us {
            self.reject(dep, id, false);
            return;
        }
        self.advance(dep);
        self.deps[dep].in_service += 1;
        let pod = &mut self.pods[p as usize];
        pod.in_flight += 1;
        self.touch(p);
        let t = self.now + r.service_us;
        self.push(t, DONE, p, id);
    }

    fn on_done(&mut self, p: u32, id: u32) {
        let r = self.reqs[id as usize];
        let dep = r.dep as usize;
        if self.pods[p as usize].state == PodState::Gone {
            // Killed at the end of its grace period: already counted.
            self.free.push(id);
            return;
        }
        self.advance(dep);
        let dm = &self.m.deployments[dep];
        {
            let pod = &mut self.pods[p as usize];
            pod.in_flight -= 1;
            let idle = dm.idle_cpu_millicores * 1e-3 * (self.now - pod.cpu_updated) as f64 * 1e-6;
            pod.cpu_s += idle + dm.cpu_seconds_per_request;
            pod.cpu_updated = self.now;
        }
        self.touch(p);
        let d = &mut self.deps[dep];
        d.in_service -= 1;
        d.in_system -= 1;
        let latency = self.now - r.arrival;
        d.sojourn_sum_s += latency as f64 * 1e-6;
        d.sojourn_n += 1;
        if r.queue != NO_QUEUE {
            self.pending[r.queue as usize] -= 1;
        }
        if r.queue == NO_QUEUE && latency > dm.timeout_us {
            d.failures.timeout += 1;
            d.win_fail += 1;
        } else {
            d.succeeded += 1;
            d.win_ok += 1;
            d.completed_total += 1.0;
            if r.arrival >= self.warmup_us {
                d.hist.record(latency as u64);
            }
            d.win_hist.record(latency as u64);
            if self.track_buckets[dep] {
                let b = self
                    .bucket_bounds_us
                    .partition_point(|bound| *bound < latency);
                d.buckets[b] += 1.0;
            }
            if let Some(tok) = &dm.tokens {
                d.tokens += tok.sample(&mut KeyedRng::new(
                    self.cfg.seed,
                    Stream::Work,
                    r.key ^ 0x70_6b,
                ));
            }
            d.tokens += r.attr as f64 * dm.tokens_per_unit;
            for (j, (q, count)) in dm.fan_out.iter().enumerate() {
                let n = count.sample(&mut KeyedRng::new(
                    self.cfg.seed,
                    Stream::FanOut,
                    r.key ^ (j as u64) << 56,
                ));
                for k in 0..n {
                    let key = mix(r.key ^ ((j as u64 + 1) << 48) ^ k as u64);
                    self.enqueue_job(*q, key, r.attr);
                }
            }
        }
        self.free.push(id);
        self.user_done(r.user, r.key);
        self.pull_next(p);
        self.maybe_gone(p);
    }

    fn enqueue_job(&mut self, q: usize, key: u64, attr: f32) {
        let Some(dep) = self.consumer_of[q] else {
            return;
        };
        let service_us = self.service_time(dep, key, attr);
        let id = self.alloc(Req {
            arrival: self.now,
            key,
            service_us,
            dep: dep as u16,
            queue: q as u16,
            user: NO_USER,
            attr,
        });
        self.deps[dep].arrived += 1;
        self.deps[dep].win_arrived += 1;
        self.advance(dep);
        self.deps[dep].in_system += 1;
        if let Some(p) = self.free_pod(dep) {
            self.pending[q] += 1;
            self.start_service(p, id);
        } else if self.queues[q].len() < self.m.queues[q].max_length {
            self.queues[q].push_back(id);
        } else {
            self.reject(dep, id, true);
        }
    }

    /// After a pod frees a slot: take the next waiting request or job.
    fn pull_next(&mut self, p: u32) {
        let dep = self.pods[p as usize].dep as usize;
        let dm = &self.m.deployments[dep];
        loop {
            let pod = &self.pods[p as usize];
            if pod.in_flight >= dm.concurrency || pod.state != PodState::Ready {
                return;
            }
            let deleting = pod.deleting;
            let next = if let Some(id) = self.pods[p as usize].queue.pop_front() {
                self.touch(p);
                Some(id)
            } else if deleting {
                None
            } else if dm.shared_queue {
                self.deps[dep].shared.pop_front()
            } else if !dm.consumes.is_empty() {
                let mut id = None;
                for q in &dm.consumes {
                    id = self.queues[*q].pop_front();
                    if id.is_some() {
                        self.pending[*q] += 1;
                        break;
                    }
                }
                id
            } else {
                None
            };
            match next {
                Some(id) => self.start_service(p, id),
                None => return,
            }
        }
    }

    // ---- pods -----------------------------------------------------------------------------

    fn new_pod(&mut self, dep: usize, now: i64) -> u32 {
        self.pod_serial += 1;
        self.pods.push(Pod {
            dep: dep as u16,
            serial: self.pod_serial,
            state: PodState::Pending,
            created: now,
            started: i64::MIN,
            ready_at: i64::MIN,
            deleting: false,
            in_endpoints: false,
            in_flight: 0,
            queue: VecDeque::new(),
            cpu_s: 0.0,
            cpu_updated: now.max(0),
            cpu_at_sample: 0.0,
            sample: None,
        });
        let id = (self.pods.len() - 1) as u32;
        self.load.push(0);
        self.busy.push(0);
        self.deps[dep].pods.push(id);
        id
    }

    fn make_ready(&mut self, p: u32) {
        let dep = self.pods[p as usize].dep as usize;
        self.advance(dep);
        let pod = &mut self.pods[p as usize];
        pod.state = PodState::Ready;
        pod.ready_at = self.now;
        pod.in_endpoints = true;
        self.deps[dep].endpoints.push(p);
        self.pull_next(p);
    }

    fn on_started(&mut self, p: u32) {
        let pod = &mut self.pods[p as usize];
        if pod.state != PodState::Pending {
            return;
        }
        pod.state = PodState::Running;
        pod.started = self.now;
        pod.cpu_updated = self.now;
        let dm = &self.m.deployments[pod.dep as usize];
        let t = self.now + dm.readiness_initial_delay_us;
        self.push(t, POD_READY, p, 0);
    }

    fn on_ready(&mut self, p: u32) {
        if self.pods[p as usize].state == PodState::Running && !self.pods[p as usize].deleting {
            self.make_ready(p);
        }
    }

    fn remove_endpoint(&mut self, p: u32) {
        let dep = self.pods[p as usize].dep as usize;
        if self.pods[p as usize].in_endpoints {
            self.advance(dep);
            self.pods[p as usize].in_endpoints = false;
            self.deps[dep].endpoints.retain(|x| *x != p);
        }
    }

    fn on_endpoint_gone(&mut self, p: u32) {
        self.remove_endpoint(p);
        self.maybe_gone(p);
    }

    fn maybe_gone(&mut self, p: u32) {
        let pod = &self.pods[p as usize];
        if pod.deleting
            && !pod.in_endpoints
            && pod.in_flight == 0
            && pod.queue.is_empty()
            && pod.state != PodState::Gone
        {
            self.gone(p);
        }
    }

    fn gone(&mut self, p: u32) {
        let dep = self.pods[p as usize].dep as usize;
        self.advance(dep);
        let pod = &mut self.pods[p as usize];
        pod.state = PodState::Gone;
        let life = (self.now - pod.created.max(0)).max(0) as f64 * 1e-6;
        self.deps[dep].pod_seconds += life;
        self.deps[dep].pods.retain(|x| *x != p);
        self.deps[dep].endpoints.retain(|x| *x != p);
    }

    fn on_kill(&mut self, p: u32) {
        if self.pods[p as usize].state == PodState::Gone {
            return;
        }
        let dep = self.pods[p as usize].dep as usize;
        self.remove_endpoint(p);
        self.advance(dep);
        let queued: Vec<u32> = self.pods[p as usize].queue.drain(..).collect();
        let in_flight = self.pods[p as usize].in_flight;
        let stream_requeue = |s: &Self, id: u32| {
            let r = s.reqs[id as usize];
            r.queue != NO_QUEUE && s.m.queues[r.queue as usize].kind == QueueKind::Stream
        };
        for id in queued {
            let r = self.reqs[id as usize];
            if stream_requeue(self, id) {
                self.queues[r.queue as usize].push_front(id);
                continue;
            }
            let d = &mut self.deps[dep];
            d.failures.killed += 1;
            d.win_fail += 1;
            d.in_system -= 1;
            self.free.push(id);
            self.user_done(r.user, r.key);
        }
        // In-service work: counted now, freed when its completion event fires.
        let d = &mut self.deps[dep];
        d.failures.killed += in_flight as u64;
        d.win_fail += in_flight as u64;
        d.in_service -= in_flight as u64;
        d.in_system -= in_flight as u64;
        self.pods[p as usize].in_flight = 0;
        self.touch(p);
        self.gone(p);
    }

    /// Make the deployment's pod count follow `n` (the Deployment/ReplicaSet controller).
    fn set_replicas(&mut self, dep: usize, n: u32) {
        let old = self.deps[dep].spec_replicas;
        if n == old {
            return;
        }
        let d = &mut self.deps[dep];
        d.scale_events += 1;
        let dir: i8 = if n > old { 1 } else { -1 };
        if dir > 0 {
            d.ups += 1;
        } else {
            d.downs += 1;
        }
        if d.last_dir != 0 && d.last_dir != dir {
            d.reversals += 1;
        }
        d.last_dir = dir;
        d.spec_replicas = n;
        d.max_seen = d.max_seen.max(n);
        let alive: Vec<u32> = d
            .pods
            .iter()
            .copied()
            .filter(|p| !self.pods[*p as usize].deleting)
            .collect();
        let dm = &self.m.deployments[dep];
        if (n as usize) > alive.len() {
            for _ in alive.len()..n as usize {
                let p = self.new_pod(dep, self.now);
                let serial = self.pods[p as usize].serial;
                let delay = dm.startup.sample_micros(&mut KeyedRng::new(
                    self.cfg.seed,
                    Stream::Startup,
                    serial ^ (dep as u64) << 40,
                ));
                self.push(self.now + delay, POD_STARTED, p, 0);
            }
        } else {
            // ReplicaSet victim order: not ready before ready, not started before started,
            // newest first.
            let mut victims = alive;
            victims.sort_by_key(|p| {
                let pod = &self.pods[*p as usize];
                (
                    pod.state == PodState::Ready,
                    pod.state != PodState::Pending,
                    std::cmp::Reverse(pod.created),
                    std::cmp::Reverse(pod.serial),
                )
            });
            let k = victims.len() - n as usize;
            for p in victims.into_iter().take(k) {
                self.delete_pod(p);
            }
        }
    }

    fn delete_pod(&mut self, p: u32) {
        let dep = self.pods[p as usize].dep as usize;
        let dm = &self.m.deployments[dep];
        self.pods[p as usize].deleting = true;
        self.touch(p);
        if self.pods[p as usize].state != PodState::Ready {
            self.gone(p);
            return;
        }
        self.push(self.now + dm.endpoint_removal_delay_us, ENDPOINT_GONE, p, 0);
        self.push(self.now + dm.grace_period_us, POD_KILL, p, 0);
    }

    // ---- metrics --------------------------------------------------------------------------

    fn on_scrape(&mut self) {
        let keep = self.scrape_keep_us;
        for d in self.deps.iter_mut() {
            let in_flight: u64 = d.in_system;
            d.scrapes.push_back(Scrape {
                t: self.now,
                requests: d.completed_total,
                tokens: d.tokens,
                buckets: d.buckets.clone(),
                in_flight: in_flight as f64,
            });
            while d.scrapes.front().is_some_and(|s| s.t < self.now - keep) {
                d.scrapes.pop_front();
            }
        }
        self.push(
            self.now + us(self.m.metrics.scrape_interval_s),
            SCRAPE,
            0,
            0,
        );
    }

    fn max_window_us(&self) -> i64 {
        let mut w = us(60.0);
        for a in &self.autoscalers {
            let sigs = a
                .keda
                .as_ref()
                .map(|k| k.2.iter().flatten().cloned().collect::<Vec<_>>())
                .unwrap_or_default();
            for s in sigs.iter().chain(a.hpa_signals.iter().map(|x| &x.1)) {
                if let SignalRef::RequestRate { window_us, .. }
                | SignalRef::LatencyQuantile { window_us, .. }
                | SignalRef::TokenRate { window_us, .. } = s
                {
                    w = w.max(*window_us);
                }
            }
        }
        w
    }

    fn on_metrics_server(&mut self) {
        let res = us(self.m.metrics.metrics_server_resolution_s);
        for p in 0..self.pods.len() {
            let pod = &mut self.pods[p];
            if !matches!(pod.state, PodState::Running | PodState::Ready) {
                continue;
            }
            let dm = &self.m.deployments[pod.dep as usize];
            let idle = dm.idle_cpu_millicores * 1e-3 * (self.now - pod.cpu_updated) as f64 * 1e-6;
            pod.cpu_s += idle;
            pod.cpu_updated = self.now;
            let window = (self.now - pod.started).clamp(1, res);
            let cpu_milli = (pod.cpu_s - pod.cpu_at_sample) * 1e3 / (window as f64 * 1e-6);
            pod.cpu_at_sample = pod.cpu_s;
            let mem = dm.memory_base_bytes + dm.memory_per_inflight_bytes * pod.in_flight as f64;
            if self.now - pod.started >= res {
                pod.sample = Some((self.now, cpu_milli, mem * 1e3));
            }
        }
        self.push(self.now + res, METRICS_SERVER, 0, 0);
    }

    fn rate(&self, dep: usize, window_us: i64, pick: impl Fn(&Scrape) -> f64) -> Option<f64> {
        scrape_rate(&self.deps[dep].scrapes, self.now, window_us, pick)
    }

    fn latency_quantile(&self, dep: usize, q: f64, window_us: i64) -> Option<f64> {
        scrape_quantile(
            &self.deps[dep].scrapes,
            self.now,
            q,
            window_us,
            &self.m.metrics.latency_buckets_s,
        )
    }

    fn signal(&self, s: &SignalRef) -> Result<Option<f64>, String> {
        Ok(match s {
            SignalRef::RequestRate { dep, window_us } => {
                self.rate(*dep, *window_us, |x| x.requests)
            }
            SignalRef::TokenRate { dep, window_us } => self.rate(*dep, *window_us, |x| x.tokens),
            SignalRef::InFlight { dep } => self.deps[*dep].scrapes.back().map(|x| x.in_flight),
            SignalRef::LatencyQuantile { dep, q, window_us } => {
                self.latency_quantile(*dep, *q, *window_us)
            }
            SignalRef::QueueLength { queue } | SignalRef::StreamLag { queue } => {
                Some(self.queues[*queue].len() as f64)
            }
            SignalRef::StreamPending { queue } => Some(self.pending[*queue] as f64),
            SignalRef::StreamLength { queue } => {
                Some((self.queues[*queue].len() as u64 + self.pending[*queue]) as f64)
            }
            SignalRef::Constant(v) => Some(*v),
            SignalRef::OfferedRate => Some(match self.wl {
                Workload::Open { schedule } => schedule.rate(self.now as f64 * 1e-6),
                Workload::Replay { times_s, .. } => {
                    // The recorded rate over the last minute.
                    let t = self.now as f64 * 1e-6;
                    let n = times_s.partition_point(|x| *x <= t)
                        - times_s.partition_point(|x| *x <= t - 60.0);
                    n as f64 / 60.0
                }
                Workload::Closed { .. } => 0.0,
            }),
        })
    }

    /// What the HPA sees of pod `p`.
    fn pod_status(&self, p: u32) -> PodStatus {
        let pod = &self.pods[p as usize];
        PodStatus {
            name: format!(
                "{}-{}",
                self.m.deployments[pod.dep as usize].name, pod.serial
            ),
            started: (pod.state != PodState::Pending).then_some(pod.started),
            ready: pod.state == PodState::Ready,
            ready_at: pod.ready_at,
            deleting: pod.deleting,
            sample: pod.sample,
        }
    }

    fn ready_pods(&self, dep: usize) -> i32 {
        self.deps[dep]
            .pods
            .iter()
            .filter(|p| {
                let pod = &self.pods[**p as usize];
                pod.state == PodState::Ready
            })
            .count() as i32
    }

    fn on_keda_poll(&mut self, i: usize) {
        let mut a = self.autoscalers[i].clone();
        let dep = a.dep;
        let current = self.deps[dep].spec_replicas as i32;
        let ready = self.ready_pods(dep);
        let now = SimTime::from_micros(self.now);
        let Some((spec, st, sigs)) = a.keda.as_mut() else {
            return;
        };
        let mut read =
            |idx: usize, _t: &Trigger| super::model::trigger_signal(sigs, idx, &|s| self.signal(s));
        let d = keda::poll(spec, st, current, ready, now, &mut read);
        let interval = spec.polling_interval.as_micros();
        self.log_decision(
            &spec.name,
            "keda",
            current,
            d.set_replicas.unwrap_or(current),
            d.set_replicas.is_some(),
            d.explain(),
        );
        self.autoscalers[i] = a;
        if let Some(n) = d.set_replicas {
            self.set_replicas(dep, n.max(0) as u32);
        }
        self.push(self.now + interval.max(1), KEDA_POLL, i as u32, 0);
    }

    fn on_hpa_sync(&mut self, i: usize) {
        let sync = self.m.controller.sync_period.as_micros();
        self.push(self.now + sync, HPA_SYNC, i as u32, 0);
        if self.autoscalers[i]
            .keda
            .as_ref()
            .is_some_and(|k| !k.0.hpa_exists())
        {
            return;
        }
        let mut a = self.autoscalers[i].clone();
        let dep = a.dep;
        let current = self.deps[dep].spec_replicas as i32;
        let status = self.deps[dep]
            .pods
            .iter()
            .filter(|p| !self.pods[**p as usize].deleting)
            .count() as i32;
        let now = SimTime::from_micros(self.now);
        let (decision, desired) = {
            let sim = &*self;
            let dm = &sim.m.deployments[dep];
            let ready = sim.ready_pods(dep);
            let hs = &a.hpa_signals;
            let bound = |metric: &str| metric_signal(hs, metric, &|s| sim.signal(s));
            let mut keda = a.keda.as_mut();
            let mut external = |metric: &str| {
                external_metric(
                    keda.as_deref_mut(),
                    metric,
                    current,
                    ready,
                    &|s| sim.signal(s),
                    &|| bound(metric),
                )
            };
            let mut view = PodsView {
                dm,
                pods: sim.deps[dep]
                    .pods
                    .iter()
                    .map(|p| sim.pod_status(*p))
                    .collect(),
                resolution_s: sim.m.metrics.metrics_server_resolution_s,
                now_us: sim.now,
                bound: &bound,
                external: &mut external,
            };
            hpa_sync(
                &a.hpa,
                &mut a.hpa_state,
                &mut view,
                &sim.m.controller,
                now,
                current,
                status,
            )
        };
        self.log_decision(
            &a.name,
            "hpa",
            current,
            decision.desired,
            decision.scale_updated,
            decision.explain(),
        );
        self.autoscalers[i] = a;
        if let Some(n) = desired {
            self.set_replicas(dep, n.max(0) as u32);
        }
    }

    fn on_window(&mut self) {
        let w = self.window_us as f64 * 1e-6;
        let slo = self.cfg.slo;
        let t = self.now as f64 * 1e-6;
        for dep in 0..self.deps.len() {
            self.advance(dep);
            let ready = self.ready_pods(dep) as u32;
            let consumes = &self.m.deployments[dep].consumes;
            let q = if consumes.is_empty() {
                self.deps[dep].shared.len() as u64
                    + self.deps[dep]
                        .pods
                        .iter()
                        .map(|p| self.pods[*p as usize].queue.len() as u64)
                        .sum::<u64>()
            } else {
                consumes.iter().map(|q| self.queues[*q].len() as u64).sum()
            };
            let current = self.deps[dep]
                .pods
                .iter()
                .filter(|p| !self.pods[**p as usize].deleting)
                .count() as u32;
            let d = &mut self.deps[dep];
            if d.spec_replicas >= d.max_replicas {
                d.at_max_s += w;
            }
            d.max_seen = d.max_seen.max(current);
            let n = d.win_ok + d.win_fail;
            let p95 = d.win_hist.quantile(0.95) as f64 / 1000.0;
            let ok_rate = if n == 0 {
                1.0
            } else {
                d.win_ok as f64 / n as f64
            };
            let slo_p95 = self.m.deployments[dep]
                .slo_p95_ms
                .or((dep == self.m.entry).then_some(slo.p95_ms));
            let met = slo_p95.is_none_or(|s| p95 <= s) && ok_rate >= slo.success_rate;
            if n > 0 {
                d.windows += 1;
                if met {
                    d.attained += 1;
                }
            }
            let offered = d.win_arrived as f64 / w;
            if !met
                && n > 0
                && self.stress_break[dep].is_none()
                && matches!(self.wl, Workload::Open { schedule } if matches!(schedule.pattern, super::workload::Pattern::Stress { .. }))
            {
                self.stress_break[dep] = Some(offered);
            }
            d.window_p95.push((t, met || n == 0, p95));
            let row = SeriesRow {
                t_s: t,
                deployment: self.m.deployments[dep].name.clone(),
                offered_rps: offered,
                desired_replicas: d.spec_replicas,
                current_replicas: current,
                ready_replicas: ready,
                queue_length: q,
                utilization: if d.win_cap > 0.0 {
                    d.win_busy / d.win_cap
                } else {
                    0.0
                },
                p95_ms: p95,
                success_rate: ok_rate,
            };
            d.win_hist.clear();
            d.win_arrived = 0;
            d.win_ok = 0;
            d.win_fail = 0;
            d.win_busy = 0.0;
            d.win_cap = 0.0;
            match self.sink.as_mut() {
                Some(sink) => sink.series(&row),
                None => self.series.push(row),
            }
        }
        self.push(self.now + self.window_us, WINDOW, 0, 0);
    }

    /// Log one controller decision (when decisions are recorded).
    fn log_decision(
        &mut self,
        object: &str,
        controller: &str,
        current: i32,
        desired: i32,
        changed: bool,
        reason: String,
    ) {
        if self.cfg.record_decisions {
            let d = DecisionRecord {
                t_s: self.now as f64 * 1e-6,
                object: object.to_string(),
                controller: controller.into(),
                current,
                desired,
                changed,
                reason,
            };
            self.record(d);
        }
    }

    fn record(&mut self, d: DecisionRecord) {
        match self.sink.as_mut() {
            Some(sink) => sink.decision(&d),
            None => self.decisions.push(d),
        }
    }

    fn finish(mut self) -> Outcome {
        let spikes = self.wl.spike_starts(self.cfg.duration_s);
        let mut outs = Vec::new();
        let mut total_cost = 0.0;
        let mut total_hours = 0.0;
        for dep in 0..self.deps.len() {
            self.advance(dep);
            let alive: Vec<u32> = self.deps[dep].pods.clone();
            let dm = &self.m.deployments[dep];
            let d = &mut self.deps[dep];
            for p in alive {
                d.pod_seconds +=
                    (self.now - self.pods[p as usize].created.max(0)).max(0) as f64 * 1e-6;
            }
            let hours = d.pod_seconds / 3600.0;
            let c = &self.m.cost;
            let cost = hours
                * (c.pod_hour
                    + c.cpu_hour * dm.cpu_request_milli as f64 / 1000.0
                    + c.gib_hour * dm.memory_request_bytes / (1u64 << 30) as f64);
            total_cost += cost;
            total_hours += hours;
            let finished = d.succeeded + d.failures.total();
            let dur = self.now as f64 * 1e-6;
            let lambda = d.sojourn_n as f64 / dur.max(1e-9);
            let w = if d.sojourn_n > 0 {
                d.sojourn_sum_s / d.sojourn_n as f64
            } else {
                0.0
            };
            let l = d.system_area / dur.max(1e-9);
            let capacity_failures =
                d.failures.queue_full + d.failures.no_endpoint + d.failures.timeout;
            let recovery = spikes
                .iter()
                .map(|s| {
                    let bad: Vec<&(f64, bool, f64)> = d
                        .window_p95
                        .iter()
                        .filter(|(t, met, _)| *t > *s && !met)
                        .collect();
                    let next_spike = spikes
                        .iter()
                        .copied()
                        .find(|x| x > s)
                        .unwrap_or(f64::INFINITY);
                    let last_bad = bad
                        .iter()
                        .filter(|(t, _, _)| *t <= next_spike)
                        .map(|(t, _, _)| *t)
                        .fold(f64::NAN, f64::max);
                    if last_bad.is_nan() { 0.0 } else { last_bad - s }
                })
                .collect();
            outs.push(DeploymentOutcome {
                name: dm.name.clone(),
                arrived: d.arrived,
                succeeded: d.succeeded,
                failures: d.failures,
                in_system_at_end: d.arrived.saturating_sub(finished),
                success_rate: if finished == 0 {
                    1.0
                } else {
                    d.succeeded as f64 / finished as f64
                },
                latency_ms: LatencyMs {
                    mean: d.hist.mean() / 1000.0,
                    p50: d.hist.quantile(0.5) as f64 / 1000.0,
                    p95: d.hist.quantile(0.95) as f64 / 1000.0,
                    p99: d.hist.quantile(0.99) as f64 / 1000.0,
                    max: d.hist.max() as f64 / 1000.0,
                },
                latency_cdf_ms: if d.hist.count() == 0 {
                    Vec::new()
                } else {
                    super::outcome::CDF_QUANTILES
                        .iter()
                        .map(|&q| (d.hist.quantile(q) as f64 / 1000.0, q))
                        .collect()
                },
                pod_hours: hours,
                cost,
                scaling_events: d.scale_events,
                scale_ups: d.ups,
                scale_downs: d.downs,
                oscillations: d.reversals,
                max_replicas: d.max_seen.max(dm.initial_replicas),
                time_at_max_s: d.at_max_s,
                windows: d.windows,
                windows_attained: d.attained,
                window_attainment: if d.windows == 0 {
                    1.0
                } else {
                    d.attained as f64 / d.windows as f64
                },
                recovery_s: recovery,
                breaking_point_rps: self.stress_break[dep],
                littles_law: LittlesLaw {
                    throughput_per_s: lambda,
                    mean_time_in_system_s: w,
                    mean_number_in_system: l,
                    relative_error: if l > 0.0 {
                        ((lambda * w) - l).abs() / l
                    } else {
                        0.0
                    },
                },
                saturated: d.arrived > 0 && capacity_failures as f64 > 0.01 * d.arrived as f64,
            });
        }
        let entry = &outs[self.m.entry];
        let slo = self.cfg.slo;
        let verdicts = Verdicts {
            p95: entry.latency_ms.p95 <= slo.p95_ms,
            success_rate: entry.success_rate >= slo.success_rate,
            window_attainment: entry.window_attainment >= slo.window_attainment,
        };
        Outcome {
            format_version: OUTCOME_FORMAT_VERSION,
            model: self.m.name.clone(),
            seed: self.cfg.seed,
            duration_s: self.cfg.duration_s,
            window_s: self.cfg.window_s,
            slo,
            entry: self.m.deployments[self.m.entry].name.clone(),
            verdicts,
            deployments: outs,
            total_cost,
            total_pod_hours: total_hours,
            events_processed: self.events,
            series: std::mem::take(&mut self.series),
            decisions: std::mem::take(&mut self.decisions),
        }
    }
}

/// The metric APIs the HPA reads, served from the engine's state.
/// `rate(counter[window])` from the scrapes in `(now - window, now]`, per second.
pub(crate) fn scrape_rate(
    s: &VecDeque<Scrape>,
    now: i64,
    window_us: i64,
    pick: impl Fn(&Scrape) -> f64,
) -> Option<f64> {
    let from = now - window_us;
    let first = s.iter().find(|x| x.t > from)?;
    let last = s.back()?;
    if last.t <= first.t {
        return None;
    }
    Some((pick(last) - pick(first)) / ((last.t - first.t) as f64 * 1e-6))
}

/// `histogram_quantile(q, rate(buckets[window]))` from the scrapes in `(now - window, now]`:
/// linear interpolation inside the bucket holding the rank, in the buckets' unit.
pub(crate) fn scrape_quantile(
    s: &VecDeque<Scrape>,
    now: i64,
    q: f64,
    window_us: i64,
    bounds: &[f64],
) -> Option<f64> {
    let from = now - window_us;
    let first = s.iter().find(|x| x.t > from)?;
    let last = s.back()?;
    let inc: Vec<f64> = last
        .buckets
        .iter()
        .zip(&first.buckets)
        .map(|(a, b)| a - b)
        .collect();
    let total: f64 = inc.iter().sum();
    if total <= 0.0 {
        return None;
    }
    let rank = q * total;
    let mut cum = 0.0;
    for (i, c) in inc.iter().enumerate() {
        if cum + c >= rank && *c > 0.0 {
            if i == bounds.len() {
                return bounds.last().copied();
            }
            let lo = if i == 0 { 0.0 } else { bounds[i - 1] };
            let hi = bounds[i];
            return Some(lo + (hi - lo) * (rank - cum) / c);
        }
        cum += c;
    }
    bounds.last().copied()
}

/// Run a model under a workload.
pub fn run(model: &Model, workload: &Workload, cfg: RunConfig) -> Outcome {
    Sim::new(model, workload, cfg).run()
}

/// Run a model under a workload, handing the time series and decisions to `sink` as they
/// are produced (the outcome then holds neither).
pub fn run_with_sink(
    model: &Model,
    workload: &Workload,
    cfg: RunConfig,
    sink: &mut dyn RecordSink,
) -> Outcome {
    let mut sim = Sim::new(model, workload, cfg);
    sim.sink = Some(sink);
    sim.run()
}
