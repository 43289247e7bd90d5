//! The discrete-event simulator.
//!
//! Events are ordered by (time, sequence number), so ties resolve in the order they were
//! scheduled and a run is a pure function of (model, workload, seed). Requests live in a slab
//! that is reused, latencies go into fixed-size histograms and time series are kept at a fixed
//! resolution: memory does not grow with the number of requests.

mod bounds;
mod control;
mod pods;
mod serving;
mod stats;

use super::histogram::Histogram;
use super::model::*;
use super::outcome::*;
use super::queue::{Ev, EventKind, EventQueue};
use super::rng::{KeyedRng, Stream, mix};
use super::workload::{Workload, segment_arrivals};
use crate::cluster::controllers::{self, PodStatus, SyncInputs};
use crate::cluster::metrics::{Scrape, keep_scrape, scrape_quantile, scrape_rate};
use crate::cluster::pods::{Deletion, Pods, Usage};
use crate::cluster::{PodState, Replicas};
use crate::policy::hpa::{HpaSpec, HpaState};
use crate::policy::keda::{self, KedaState};
use std::collections::VecDeque;

pub use bounds::check_run;

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

const NO_QUEUE: u16 = u16::MAX;
const NO_USER: u32 = u32::MAX;
const NO_FAMILY: u32 = u32::MAX;

/// A request of the entry and every job it fanned out, directly or through other jobs: the
/// end-to-end figure is recorded when the last of them is done.
#[derive(Clone, Copy, Debug)]
struct Family {
    origin: i64,
    outstanding: u32,
    ok: bool,
}

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
    /// The entry request whose fan-out this job belongs to (`NO_FAMILY`: none).
    family: u32,
}

#[derive(Clone, Debug)]
struct Pod {
    in_flight: u32,
    queue: VecDeque<u32>,
    usage: Usage,
}

#[derive(Debug, Default)]
struct DepRt {
    rr: usize,
    shared: VecDeque<u32>,
    max_replicas: u32,
    // counters
    arrived: u64,
    succeeded: u64,
    failures: Failures,
    tokens: f64,
    completed_total: f64,
    /// Every answer its pods gave (successes and answered failures): `Counted::All`.
    answered_total: f64,
    buckets: Vec<f64>,
    scrapes: VecDeque<Scrape>,
    hist: Histogram,
    /// A consumer's jobs: from enqueueing to the start of their service.
    wait_hist: Histogram,
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
    at_max_s: f64,
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
    /// Every pod's life and each deployment's pods, endpoints and replicas.
    cluster: Pods,
    /// Each pod's work, by the same id.
    pods: Vec<Pod>,
    deps: Vec<DepRt>,
    queues: Vec<VecDeque<u32>>,
    pending: Vec<u64>,
    autoscalers: Vec<AsRt>,
    /// Open-loop arrival times (µs) of the current segment (drawn, or copied from `shared`).
    arrivals: Vec<i64>,
    shared: Option<&'m Arrivals>,
    arrival_idx: usize,
    segment: u64,
    arrival_count: u64,
    user_iter: Vec<u64>,
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
    /// Whether the entry fans out: end-to-end figures are kept.
    e2e_on: bool,
    families: Vec<Family>,
    free_families: Vec<u32>,
    e2e_hist: Histogram,
    e2e_failed: u64,
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
            cluster: Pods::new(m.deployments.len()),
            pods: Vec::new(),
            deps: (0..m.deployments.len()).map(|_| DepRt::default()).collect(),
            queues: vec![VecDeque::new(); m.queues.len()],
            pending: vec![0; m.queues.len()],
            autoscalers: Vec::new(),
            arrivals: Vec::new(),
            shared: None,
            arrival_idx: 0,
            segment: 0,
            arrival_count: 0,
            user_iter: Vec::new(),
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
            e2e_on: !m.deployments[m.entry].fan_out.is_empty(),
            families: Vec::new(),
            free_families: Vec::new(),
            e2e_hist: Histogram::default(),
            e2e_failed: 0,
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
    fn push(&mut self, t: i64, kind: EventKind, a: u32, b: u32) {
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
                EventKind::Done => self.on_done(ev.a, ev.b),
                EventKind::PodStarted => self.on_started(ev.a),
                EventKind::PodReady => self.on_ready(ev.a),
                EventKind::EndpointGone => self.on_endpoint_gone(ev.a),
                EventKind::PodKill => self.on_kill(ev.a),
                EventKind::Scrape => self.on_scrape(),
                EventKind::MetricsServer => self.on_metrics_server(),
                EventKind::KedaPoll => self.on_keda_poll(ev.a as usize),
                EventKind::HpaSync => self.on_hpa_sync(ev.a as usize),
                EventKind::Window => self.on_window(),
                EventKind::User => self.on_user(ev.a),
            }
        }
        self.now = self.end;
        self.finish()
    }

    fn start(&mut self) {
        for (i, d) in self.m.deployments.iter().enumerate() {
            let n = d.initial_replicas;
            self.cluster.deps[i].replicas = Replicas::starting_at(n);
            for _ in 0..n {
                let p = self.new_pod(i, -600_000_000);
                self.cluster.start(p, -600_000_000);
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
                    self.push(t, EventKind::User, u, 0);
                }
            }
        }
        self.push(
            us(self.m.metrics.scrape_interval_s),
            EventKind::Scrape,
            0,
            0,
        );
        self.push(
            us(self.m.metrics.metrics_server_resolution_s),
            EventKind::MetricsServer,
            0,
            0,
        );
        let sync = self.m.controller.sync_period.as_micros();
        for i in 0..self.autoscalers.len() {
            if self.autoscalers[i].keda.is_some() {
                self.push(0, EventKind::KedaPoll, i as u32, 0);
            }
            self.push(sync, EventKind::HpaSync, i as u32, 0);
        }
        self.push(self.window_us, EventKind::Window, 0, 0);
    }
}

/// Run a model under a workload.
pub fn run(model: &Model, workload: &Workload, cfg: RunConfig) -> Outcome {
    Sim::new(model, workload, cfg).run()
}

/// The open-loop arrival times of a workload under a seed, drawn once for many runs (a
/// sweep's configurations share them): exactly the times each run would draw by itself, a
/// segment at a time. Holds them all, so it costs memory in proportion to the requests.
#[derive(Debug)]
pub struct Arrivals {
    times: Vec<i64>,
    /// Where each segment's times begin in `times` (one more entry than segments).
    starts: Vec<usize>,
    workload: Workload,
    seed: u64,
    duration_s: f64,
}

impl Arrivals {
    /// The arrivals of `workload` under `seed` over `duration_s`; `None` for a closed loop
    /// (its arrivals depend on the responses) and when there are more than `max` of them.
    pub fn draw(workload: &Workload, seed: u64, duration_s: f64, max: usize) -> Option<Arrivals> {
        let (times, starts) = match workload {
            Workload::Closed { .. } => return None,
            Workload::Replay { times_s, .. } if times_s.len() > max => return None,
            Workload::Replay { times_s, .. } => {
                let times: Vec<i64> = times_s.iter().map(|t| us(*t)).collect();
                let n = times.len();
                (times, vec![0, n])
            }
            Workload::Open { schedule } => {
                let segment_s = schedule.segment_s();
                let mut times = Vec::new();
                let mut starts = vec![0];
                let mut seg = Vec::new();
                for k in 0..=last_segment(duration_s, segment_s) {
                    segment_arrivals(schedule, seed, k, segment_s, &mut seg);
                    if times.len() + seg.len() > max {
                        return None;
                    }
                    times.extend_from_slice(&seg);
                    starts.push(times.len());
                }
                (times, starts)
            }
        };
        Some(Arrivals {
            times,
            starts,
            workload: workload.clone(),
            seed,
            duration_s,
        })
    }

    /// The times of segment `k` (empty past the last).
    fn segment(&self, k: u64) -> &[i64] {
        let k = k as usize;
        match (self.starts.get(k), self.starts.get(k + 1)) {
            (Some(a), Some(b)) => &self.times[*a..*b],
            _ => &[],
        }
    }

    /// Whether these are the arrivals of `workload` under `seed` over `duration_s`.
    pub fn fit(&self, workload: &Workload, seed: u64, duration_s: f64) -> bool {
        let same = match (&self.workload, workload) {
            (Workload::Replay { times_s: a, .. }, Workload::Replay { times_s: b, .. }) => {
                std::sync::Arc::ptr_eq(a, b) || a == b
            }
            (a, b) => a == b,
        };
        same && self.seed == seed && self.duration_s == duration_s
    }
}

/// Run a model under a workload whose arrivals were drawn beforehand; the same outcome as
/// [`run`] when `arrivals` [fit](Arrivals::fit) the workload and configuration, else [`run`]
/// itself.
pub fn run_with_arrivals(
    model: &Model,
    workload: &Workload,
    cfg: RunConfig,
    arrivals: &Arrivals,
) -> Outcome {
    let fits = arrivals.fit(workload, cfg.seed, cfg.duration_s);
    let mut sim = Sim::new(model, workload, cfg);
    if fits {
        sim.shared = Some(arrivals);
    }
    sim.run()
}

/// The last segment a run of `duration_s` loads (one past its end, so an arrival at the
/// very end is seen).
fn last_segment(duration_s: f64, segment_s: f64) -> u64 {
    (duration_s / segment_s).ceil() as u64 + 1
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
